//! Four-eyes requests: the list, and the second person's decision.

use axum::Json;
use axum::extract::{Path, RawQuery, State};
use axum::routing::{get, post};
use benteng_core::approvals::ActionStatus;
use benteng_core::ids::PendingActionId;
use benteng_core::roles::Permission;

use super::PendingActionView;
use crate::error::{ApiError, ApiResult};
use crate::middleware::Staff;
use crate::routes::paging::QueryParams;
use crate::routes::{Needs, Routes, StaffNeed};
use crate::state::AppState;

pub(super) fn routes(routes: Routes) -> Routes {
    // Deciding needs the request's own permission (checked by the operations layer against
    // the action), and never the proposer.
    routes
        .staff(
            "/admin/v1/approvals",
            Needs::on_get(Permission::TenantsRead.into()),
            get(list),
        )
        .staff(
            "/admin/v1/approvals/{id}/approve",
            Needs::on_post(StaffNeed::SignedIn),
            post(approve),
        )
        .staff(
            "/admin/v1/approvals/{id}/reject",
            Needs::on_post(StaffNeed::SignedIn),
            post(reject),
        )
}

/// Four-eyes requests with `status` (default `pending`), newest first.
#[utoipa::path(get, path = "/admin/v1/approvals", tag = "operator",
    security(("staff_session" = ["tenants:read"])),
    params(("status" = Option<String>, Query)),
    responses((status = 200, body = Vec<PendingActionView>)))]
pub async fn list(
    State(state): State<AppState>,
    _staff: Staff,
    RawQuery(query): RawQuery,
) -> ApiResult<Json<Vec<PendingActionView>>> {
    let params = QueryParams::parse(query.as_deref(), &["status"])?;
    let status = match params.get("status") {
        None => ActionStatus::Pending,
        Some(text) => ActionStatus::parse(text).ok_or_else(|| {
            ApiError::invalid(
                "status",
                "invalid_value",
                "must be pending, approved, rejected or expired",
            )
        })?,
    };
    let pending = state.operations.pending_actions(status).await?;
    Ok(Json(pending.iter().map(PendingActionView::from).collect()))
}

async fn decide(
    state: &AppState,
    staff: Staff,
    id: &str,
    approve: bool,
) -> ApiResult<Json<PendingActionView>> {
    let Staff(actor, context) = staff;
    let id: PendingActionId = id.parse().map_err(|_| ApiError::NotFound)?;
    let decided = state
        .operations
        .decide(&actor, id, approve, &context)
        .await?;
    Ok(Json(PendingActionView::from(&decided)))
}

/// Approves a request someone else proposed: its change is applied, once.
#[utoipa::path(post, path = "/admin/v1/approvals/{id}/approve", tag = "operator",
    security(("staff_session" = [])),
    responses((status = 200, body = PendingActionView), (status = 403, body = crate::error::Problem),
        (status = 409, body = crate::error::Problem)))]
pub async fn approve(
    State(state): State<AppState>,
    staff: Staff,
    Path(id): Path<String>,
) -> ApiResult<Json<PendingActionView>> {
    decide(&state, staff, &id, true).await
}

/// Rejects a request someone else proposed.
#[utoipa::path(post, path = "/admin/v1/approvals/{id}/reject", tag = "operator",
    security(("staff_session" = [])),
    responses((status = 200, body = PendingActionView), (status = 403, body = crate::error::Problem),
        (status = 409, body = crate::error::Problem)))]
pub async fn reject(
    State(state): State<AppState>,
    staff: Staff,
    Path(id): Path<String>,
) -> ApiResult<Json<PendingActionView>> {
    decide(&state, staff, &id, false).await
}
