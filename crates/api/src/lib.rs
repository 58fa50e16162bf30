//! The HTTP layer: the only crate that knows axum. Routers per resource under `routes`, the
//! middleware stack in `app`, one error type rendered as problem+json in `error`.

pub mod app;
pub mod error;
pub mod incidents;
pub mod json;
pub mod middleware;
pub mod process_metrics;
pub mod protection;
pub mod routes;
pub mod snap_format;
pub mod state;

pub use app::{router, router_for};
pub use routes::{Access, ApiDoc, Needs, RouteGroup, StaffNeed};
pub use state::{AppState, HttpLimits};

/// Every route with its access class, for tests and audits of the route table.
pub fn route_table_paths() -> Vec<(&'static str, Access)> {
    routes::table()
}

/// Every tenant route with the scope each of its methods needs.
pub fn route_scopes() -> Vec<(&'static str, Needs)> {
    routes::scope_table()
}

/// Every operator route with what each of its methods needs of a staff member.
pub fn route_permissions() -> Vec<(&'static str, Needs<StaffNeed>)> {
    routes::staff_table()
}
