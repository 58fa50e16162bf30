//! A tenant's own audit events.

use axum::Json;
use axum::extract::{RawQuery, State};
use axum::routing::get;
use serde::Serialize;

use benteng_core::scopes::Scope;

use super::paging::QueryParams;
use super::{Needs, Routes};
use crate::error::{ApiError, ApiResult};
use crate::middleware::Caller;
use crate::state::AppState;

pub(super) fn routes(routes: Routes) -> Routes {
    routes.tenant(
        "/v1/audit-events",
        Needs::on_get(Scope::AuditRead),
        get(list),
    )
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct AuditPage {
    /// Events in the spec's shape, oldest first.
    #[schema(value_type = Vec<Object>)]
    data: Vec<serde_json::Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    next_cursor: Option<String>,
}

/// An RFC 3339 time parameter as Unix microseconds (the operator API's audit reads share it).
pub(super) fn micros(params: &QueryParams, name: &str, default: i64) -> ApiResult<i64> {
    match params.get(name) {
        None => Ok(default),
        Some(text) => {
            time::OffsetDateTime::parse(text, &time::format_description::well_known::Rfc3339)
                .map(|t| i64::try_from(t.unix_timestamp_nanos() / 1_000).unwrap_or(i64::MAX))
                .map_err(|_| ApiError::invalid(name, "invalid_format", "must be an RFC 3339 time"))
        }
    }
}

/// The page size: 1 to 500, 50 by default.
pub(super) fn limit(params: &QueryParams) -> ApiResult<u32> {
    match params.get("limit") {
        None => Ok(50),
        Some(text) => text
            .parse::<u32>()
            .ok()
            .filter(|n| (1..=500).contains(n))
            .ok_or_else(|| ApiError::invalid("limit", "out_of_range", "must be 1 to 500")),
    }
}

/// The caller's audit events between `since` and `until` (RFC 3339), oldest first.
#[utoipa::path(get, path = "/v1/audit-events", tag = "tenant", security(("api_key" = ["audit:read"])),
    params(("since" = Option<String>, Query), ("until" = Option<String>, Query),
        ("limit" = Option<u32>, Query), ("cursor" = Option<String>, Query)),
    responses((status = 200, body = AuditPage)))]
pub async fn list(
    State(state): State<AppState>,
    Caller(caller): Caller,
    RawQuery(query): RawQuery,
) -> ApiResult<Json<AuditPage>> {
    let params = QueryParams::parse(query.as_deref(), &["since", "until", "limit", "cursor"])?;
    let since = micros(&params, "since", 0)?;
    let until = micros(&params, "until", i64::MAX)?;
    let limit = limit(&params)?;
    let page = state
        .store
        .audit_documents(
            Some(caller.tenant.id),
            None,
            since,
            until,
            params.cursor()?,
            limit,
        )
        .await?;
    Ok(Json(AuditPage::of(page, tenant_view)))
}

impl AuditPage {
    /// A page of stored documents, each shown through `view`.
    pub(super) fn of(
        page: benteng_store::Page<String>,
        view: impl Fn(serde_json::Value) -> serde_json::Value,
    ) -> Self {
        AuditPage {
            data: page
                .items
                .iter()
                .filter_map(|document| serde_json::from_str(document).ok())
                .map(view)
                .collect(),
            next_cursor: page.next.map(|cursor| cursor.encode()),
        }
    }
}

/// What a tenant may read of its own event: of the compliance part only the verdict and the
/// score (which list entry a party matched, which monitoring rule hit and on what inputs are
/// for compliance staff; telling the customer would tip them off). An allow-list, so a field
/// added to the compliance part later stays hidden until someone decides otherwise.
fn tenant_view(mut event: serde_json::Value) -> serde_json::Value {
    const SHOWN: [&str; 2] = ["aml_check", "risk_score"];
    if let Some(compliance) = event.get_mut("compliance").and_then(|c| c.as_object_mut()) {
        compliance.retain(|key, _| SHOWN.contains(&key.as_str()));
    }
    event
}
