//! The route table. Every route is mounted through `Routes`, which demands an access class for
//! each: a route without an authentication requirement cannot be mounted by accident, because
//! there is no other way to mount one.

mod docs;
mod health;
mod tenant;

use axum::Router;
use axum::middleware::from_fn_with_state;
use axum::routing::MethodRouter;

use crate::middleware::authenticate;
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
    state: AppState,
    router: Router<AppState>,
    table: Vec<(&'static str, Access)>,
}

impl Routes {
    fn new(state: AppState) -> Self {
        Self {
            state,
            router: Router::new(),
            table: Vec::new(),
        }
    }

    fn mount(mut self, path: &'static str, access: Access, route: MethodRouter<AppState>) -> Self {
        let route = match access {
            Access::Public => route,
            Access::Tenant => {
                route.route_layer(from_fn_with_state(self.state.clone(), authenticate))
            }
        };
        self.router = self.router.route(path, route);
        self.table.push((path, access));
        self
    }

    pub fn public(self, path: &'static str, route: MethodRouter<AppState>) -> Self {
        self.mount(path, Access::Public, route)
    }

    pub fn tenant(self, path: &'static str, route: MethodRouter<AppState>) -> Self {
        self.mount(path, Access::Tenant, route)
    }
}

/// Every route of the API with its access class.
pub fn all(state: AppState) -> (Router<AppState>, Vec<(&'static str, Access)>) {
    let routes = Routes::new(state);
    let routes = health::routes(routes);
    let routes = docs::routes(routes);
    let routes = tenant::routes(routes);
    (routes.router, routes.table)
}

pub use docs::ApiDoc;
