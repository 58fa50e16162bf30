//! The route table. Every route is mounted through `Routes`, which demands an access class for
//! each: a route without an authentication requirement cannot be mounted by accident, because
//! there is no other way to mount one.

mod balances;
mod docs;
mod health;
mod paging;
mod quotes;
mod recipients;
mod tenant;
mod transfers;

use axum::Router;
use axum::middleware::from_fn_with_state;
use axum::routing::MethodRouter;

use crate::middleware::authenticate;
use crate::protection::{guard_unauthenticated, policy, protect};
use crate::state::AppState;

/// Who may call a route.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// Anyone: health, readiness, metrics, the API description.
    Public,
    /// An authenticated caller acting for a tenant.
    Tenant,
}

pub struct Routes {
    entries: Vec<(&'static str, Access, MethodRouter<AppState>)>,
}

impl Routes {
    pub fn public(mut self, path: &'static str, route: MethodRouter<AppState>) -> Self {
        self.entries.push((path, Access::Public, route));
        self
    }

    pub fn tenant(mut self, path: &'static str, route: MethodRouter<AppState>) -> Self {
        self.entries.push((path, Access::Tenant, route));
        self
    }
}

fn all() -> Routes {
    let routes = Routes {
        entries: Vec::new(),
    };
    let routes = health::routes(routes);
    let routes = docs::routes(routes);
    let routes = tenant::routes(routes);
    let routes = balances::routes(routes);
    let routes = recipients::routes(routes);
    let routes = quotes::routes(routes);
    transfers::routes(routes)
}

/// Every route of the API with its access class.
pub fn table() -> Vec<(&'static str, Access)> {
    all()
        .entries
        .into_iter()
        .map(|(path, access, _)| (path, access))
        .collect()
}

/// The router: each route behind the checks its access class demands.
pub fn router(state: &AppState) -> Router<AppState> {
    all()
        .entries
        .into_iter()
        .fold(Router::new(), |router, (path, access, route)| {
            let route = match access {
                Access::Public if policy::TOKEN_ENDPOINTS.iter().any(|(_, p)| *p == path) => {
                    route.route_layer(from_fn_with_state(state.clone(), guard_unauthenticated))
                }
                Access::Public => route,
                // Innermost first: protection needs the principal authentication provides,
                // and the per-IP guard turns away addresses that keep failing to authenticate.
                Access::Tenant => route
                    .route_layer(from_fn_with_state(state.clone(), protect))
                    .route_layer(from_fn_with_state(state.clone(), authenticate))
                    .route_layer(from_fn_with_state(state.clone(), guard_unauthenticated)),
            };
            router.route(path, route)
        })
}

pub use docs::ApiDoc;
