//! Liveness, readiness and metrics: public, cheap, and free of tenant data.

use std::time::Duration;

use axum::Json;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::IntoResponse;
use axum::routing::get;
use serde::Serialize;

use super::Routes;
use crate::state::AppState;

const CHECK_DEADLINE: Duration = Duration::from_secs(2);

pub(super) fn routes(routes: Routes) -> Routes {
    routes
        .public("/healthz", get(healthz))
        .public("/readyz", get(readyz))
        .public("/metrics", get(metrics))
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct Health {
    status: &'static str,
}

/// The process is up.
#[utoipa::path(get, path = "/healthz", tag = "operations", responses((status = 200, body = Health)))]
pub async fn healthz() -> Json<Health> {
    Json(Health { status: "ok" })
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct Readiness {
    status: &'static str,
    database: &'static str,
    cache: &'static str,
}

/// The database and the shared cache both answer.
#[utoipa::path(get, path = "/readyz", tag = "operations", responses(
    (status = 200, body = Readiness), (status = 503, body = Readiness)))]
pub async fn readyz(State(state): State<AppState>) -> impl IntoResponse {
    let database = tokio::time::timeout(CHECK_DEADLINE, state.store.ping()).await;
    let cache = tokio::time::timeout(CHECK_DEADLINE, state.shared.ping()).await;
    let database_ok = matches!(database, Ok(Ok(())));
    let cache_ok = matches!(cache, Ok(Ok(())));
    let verdict = |ok: bool| if ok { "ok" } else { "unavailable" };
    let ready = database_ok && cache_ok;
    let status = if ready {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    (
        status,
        Json(Readiness {
            status: if ready { "ready" } else { "not_ready" },
            database: verdict(database_ok),
            cache: verdict(cache_ok),
        }),
    )
}

/// Prometheus text exposition.
#[utoipa::path(get, path = "/metrics", tag = "operations", responses((status = 200, content_type = "text/plain")))]
pub async fn metrics(State(state): State<AppState>) -> impl IntoResponse {
    crate::process_metrics::record();
    (
        [(header::CONTENT_TYPE, "text/plain; version=0.0.4")],
        state.metrics.render(),
    )
}
