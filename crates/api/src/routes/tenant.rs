//! The calling tenant.

use axum::Json;
use axum::routing::get;
use benteng_core::tenant::Tenant;
use serde::Serialize;
use time::OffsetDateTime;
use uuid::Uuid;

use benteng_core::scopes::Scope;

use super::{Needs, Routes};
use crate::middleware::Caller;

pub(super) fn routes(routes: Routes) -> Routes {
    routes.tenant(
        "/v1/tenant",
        Needs::on_get(Scope::TenantRead),
        get(current_tenant),
    )
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct TenantView {
    id: Uuid,
    name: String,
    /// `starter`, `growth` or `enterprise`.
    tier: String,
    status: String,
    #[serde(with = "time::serde::rfc3339")]
    created_at: OffsetDateTime,
}

impl From<&Tenant> for TenantView {
    fn from(tenant: &Tenant) -> Self {
        Self {
            id: *tenant.id.as_uuid(),
            name: tenant.name.to_string(),
            tier: tenant.tier.to_string(),
            status: tenant.status.to_string(),
            created_at: tenant.created_at,
        }
    }
}

/// The tenant the caller's credentials act for.
#[utoipa::path(get, path = "/v1/tenant", tag = "tenant",
    security(("api_key" = ["tenant:read"])),
    responses((status = 200, body = TenantView), (status = 401, body = crate::error::Problem)))]
pub async fn current_tenant(Caller(principal): Caller) -> Json<TenantView> {
    Json(TenantView::from(&principal.tenant))
}
