//! The whole audit trail, for those whose role reads it: every tenant's events and the
//! platform's own (staff actions, list loads, clearances), unredacted.

use axum::Json;
use axum::extract::{RawQuery, State};
use axum::routing::get;
use benteng_core::ids::TenantId;
use benteng_core::roles::Permission;

use crate::error::{ApiError, ApiResult};
use crate::middleware::Staff;
use crate::routes::audit::{AuditPage, limit, micros};
use crate::routes::paging::QueryParams;
use crate::routes::{Needs, Routes};
use crate::state::AppState;

pub(super) fn routes(routes: Routes) -> Routes {
    routes.staff(
        "/admin/v1/audit-events",
        Needs::on_get(Permission::AuditRead.into()),
        get(list),
    )
}

/// An event type as stored: lowercase words joined by `.` and `_` (e.g. `api_key.revoked`).
fn event_type(text: &str) -> ApiResult<&str> {
    let plain = (1..=64).contains(&text.len())
        && text
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'.' || b == b'_');
    if plain {
        Ok(text)
    } else {
        Err(ApiError::invalid(
            "event_type",
            "invalid_format",
            "must be an event type such as api_key.revoked",
        ))
    }
}

/// Audit events of every tenant and of the platform, oldest first, between `since` and
/// `until` (RFC 3339); `event_type` and `tenant` narrow the list; pages follow `cursor`.
#[utoipa::path(get, path = "/admin/v1/audit-events", tag = "operator",
    security(("staff_session" = ["audit:read"])),
    params(("since" = Option<String>, Query), ("until" = Option<String>, Query),
        ("event_type" = Option<String>, Query), ("tenant" = Option<String>, Query),
        ("limit" = Option<u32>, Query), ("cursor" = Option<String>, Query)),
    responses((status = 200, body = AuditPage), (status = 422, body = crate::error::Problem)))]
pub async fn list(
    State(state): State<AppState>,
    _staff: Staff,
    RawQuery(query): RawQuery,
) -> ApiResult<Json<AuditPage>> {
    let params = QueryParams::parse(
        query.as_deref(),
        &["since", "until", "event_type", "tenant", "limit", "cursor"],
    )?;
    let since = micros(&params, "since", 0)?;
    let until = micros(&params, "until", i64::MAX)?;
    let event_type = params.get("event_type").map(event_type).transpose()?;
    let tenant = params
        .get("tenant")
        .map(|text| {
            text.parse::<TenantId>()
                .map_err(|_| ApiError::invalid("tenant", "invalid_format", "must be a tenant id"))
        })
        .transpose()?;
    let page = state
        .store
        .audit_documents(
            tenant,
            event_type,
            since,
            until,
            params.cursor()?,
            limit(&params)?,
        )
        .await?;
    Ok(Json(AuditPage::of(page, |event| event)))
}
