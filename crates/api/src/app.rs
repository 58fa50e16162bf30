//! The application: the route table wrapped in the middleware stack. Read top to bottom, the
//! stack is the order a request meets it, which follows the spec's layer diagram (transport is
//! below this, in the listener; authentication sits on the tenant routes themselves).

use axum::Router;
use axum::middleware::{from_fn, from_fn_with_state};
use tower::ServiceBuilder;
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::timeout::TimeoutLayer;

use crate::error::ApiError;
use crate::middleware::{
    finish_unread_bodies, limit_body, observe, problem_fallback, refuse_oversized,
    refuse_repeated_credentials, security_headers,
};
use crate::routes::{self, RouteGroup};
use crate::state::AppState;

/// The application with every route.
pub fn router(state: AppState) -> Router {
    router_for(state, &[RouteGroup::Operations, RouteGroup::Api])
}

/// The application with the routes of `groups` only (a listener's `routes` setting); the
/// middleware stack is the same for every selection.
pub fn router_for(state: AppState, groups: &[RouteGroup]) -> Router {
    let limits = state.limits.clone();
    routes::router(&state, groups)
        .fallback(|| async { ApiError::NotFound })
        .layer(
            ServiceBuilder::new()
                // Outermost: every request gets an id, a span and an access-log line.
                .layer(from_fn(observe))
                // Headers and problem documents apply to everything below, errors included.
                .layer(from_fn(security_headers))
                .layer(from_fn(problem_fallback))
                .layer(CatchPanicLayer::new())
                // A blocked address or network is refused before anything else runs.
                .layer(from_fn_with_state(
                    state.clone(),
                    crate::incidents::refuse_blocked,
                ))
                // HTTP/2 answers wait for a body nothing read, or the stream's reset can
                // overtake them.
                .layer(from_fn(finish_unread_bodies))
                .layer(TimeoutLayer::with_status_code(
                    axum::http::StatusCode::REQUEST_TIMEOUT,
                    limits.request_timeout,
                ))
                .layer(from_fn(refuse_repeated_credentials))
                .layer(from_fn_with_state(state.clone(), refuse_oversized))
                .layer(from_fn_with_state(state.clone(), limit_body)),
        )
        .with_state(state)
}
