//! The one table of which routes move money. Everything else about protection follows from it
//! and from the configured limits: money-moving routes require an idempotency key and fail
//! closed when the shared store is down; every tenant route counts against the tenant's
//! per-minute limit and, where the config names it, an endpoint limit.

use axum::http::Method;

/// Routes that create transfers. Add SNAP's transfer endpoints here when they are mounted.
pub const MONEY_MOVING: &[(&str, &str)] = &[("POST", "/v1/transfers"), ("POST", "/v1/batches")];

/// Public routes that hand out credentials (token endpoints): every call counts against the
/// client IP's limit, like a failed authentication, so guessing partner secrets is slow.
pub const TOKEN_ENDPOINTS: &[(&str, &str)] = &[("POST", crate::routes::snap::TOKEN_PATH)];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Policy {
    /// Requires `X-Idempotency-Key`; fails closed (503) without the shared store.
    pub money_moving: bool,
}

/// The policy of a route, by method and route template.
pub fn of(method: &Method, route: &str) -> Policy {
    Policy {
        money_moving: MONEY_MOVING
            .iter()
            .any(|(m, r)| method.as_str() == *m && route == *r),
    }
}

pub fn is_token_endpoint(method: &Method, route: &str) -> bool {
    TOKEN_ENDPOINTS
        .iter()
        .any(|(m, r)| method.as_str() == *m && route == *r)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn money_moving_routes_are_mounted_tenant_routes() {
        let table = crate::routes::table();
        for (_, route) in MONEY_MOVING {
            assert!(
                table
                    .iter()
                    .any(|(path, access)| path == route && *access == crate::Access::Tenant),
                "{route} is not a mounted tenant route"
            );
        }
        for (_, route) in TOKEN_ENDPOINTS {
            assert!(
                table
                    .iter()
                    .any(|(path, access)| path == route && *access == crate::Access::Public),
                "{route} is not a mounted public route"
            );
        }
        assert!(of(&Method::POST, "/v1/transfers").money_moving);
        assert!(!of(&Method::GET, "/v1/transfers").money_moving);
    }
}
