//! The route table. Every route is mounted through `Routes`, which demands an access class for
//! each: a route without an authentication requirement cannot be mounted by accident, because
//! there is no other way to mount one.

mod audit;
mod balances;
mod docs;
mod health;
mod paging;
mod quotes;
mod recipients;
pub mod snap;
mod tenant;
mod transfers;

use axum::Router;
use axum::middleware::from_fn_with_state;
use axum::routing::MethodRouter;

use crate::middleware::{authenticate, authenticate_snap};
use crate::protection::{guard_unauthenticated, policy, protect};
use crate::state::AppState;

/// Who may call a route.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// Anyone: health, readiness, metrics, the API description.
    Public,
    /// An authenticated caller acting for a tenant.
    Tenant,
    /// A SNAP partner (B2B token and a signed request) acting for its tenant; answers in
    /// SNAP's format.
    Snap,
}

/// Which listeners serve a route: a listener's `routes` setting names groups.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum RouteGroup {
    /// Health, readiness and metrics: what operators and load balancers call.
    Operations,
    /// Everything else: the API and its description (the default group).
    Api,
}

pub struct Routes {
    /// The group routes mounted now fall into (`Api` unless inside [`Routes::within`]).
    group: RouteGroup,
    entries: Vec<(&'static str, Access, RouteGroup, MethodRouter<AppState>)>,
}

impl Routes {
    pub fn public(mut self, path: &'static str, route: MethodRouter<AppState>) -> Self {
        self.entries.push((path, Access::Public, self.group, route));
        self
    }

    pub fn tenant(mut self, path: &'static str, route: MethodRouter<AppState>) -> Self {
        self.entries.push((path, Access::Tenant, self.group, route));
        self
    }

    /// A SNAP route: authenticated by the SNAP scheme of the same `Authenticator`, which needs
    /// the raw body (buffered once, within the body limit, by `authenticate_snap`).
    pub fn snap(mut self, path: &'static str, route: MethodRouter<AppState>) -> Self {
        self.entries.push((path, Access::Snap, self.group, route));
        self
    }

    /// Mounts the routes `mount` adds in `group`, then returns to the previous group.
    fn within(mut self, group: RouteGroup, mount: impl FnOnce(Routes) -> Routes) -> Self {
        let previous = std::mem::replace(&mut self.group, group);
        let mut routes = mount(self);
        routes.group = previous;
        routes
    }
}

fn all() -> Routes {
    let routes = Routes {
        group: RouteGroup::Api,
        entries: Vec::new(),
    };
    let routes = routes.within(RouteGroup::Operations, health::routes);
    let routes = docs::routes(routes);
    let routes = tenant::routes(routes);
    let routes = balances::routes(routes);
    let routes = audit::routes(routes);
    let routes = recipients::routes(routes);
    let routes = quotes::routes(routes);
    let routes = transfers::routes(routes);
    snap::routes(routes)
}

/// Every route of the API with its access class.
pub fn table() -> Vec<(&'static str, Access)> {
    all()
        .entries
        .into_iter()
        .map(|(path, access, _, _)| (path, access))
        .collect()
}

/// The router of the routes in `groups`: each route behind the checks its access class demands.
pub fn router(state: &AppState, groups: &[RouteGroup]) -> Router<AppState> {
    all()
        .entries
        .into_iter()
        .filter(|(_, _, group, _)| groups.contains(group))
        .fold(Router::new(), |router, (path, access, _, route)| {
            let route = match access {
                Access::Public if policy::TOKEN_ENDPOINTS.iter().any(|(_, p)| *p == path) => {
                    route.route_layer(from_fn_with_state(state.clone(), guard_unauthenticated))
                }
                Access::Public => route,
                // Innermost first: protection needs the principal authentication provides.
                // Authentication applies the per-IP guard itself (before any lookup that leaves
                // this instance) and protection checks the address again in its one step.
                Access::Tenant => route
                    .route_layer(from_fn_with_state(state.clone(), protect))
                    .route_layer(from_fn_with_state(state.clone(), authenticate)),
                // SNAP routes: the same per-IP guard and rate limits; SNAP's own replay rules
                // (X-EXTERNAL-ID, partnerReferenceNo) stand in for idempotency keys.
                Access::Snap => route
                    .route_layer(from_fn_with_state(state.clone(), protect))
                    .route_layer(from_fn_with_state(state.clone(), authenticate_snap))
                    .route_layer(from_fn_with_state(state.clone(), guard_unauthenticated)),
            };
            router.route(path, route)
        })
}

pub use docs::ApiDoc;
pub use transfers::first_response;
