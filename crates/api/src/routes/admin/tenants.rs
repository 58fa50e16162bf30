//! Tenants as operators see them, and the changes to them: the mTLS requirement and the tier
//! (each loosening waits for a second person).

use axum::Json;
use axum::extract::{Path, State};
use axum::response::IntoResponse;
use axum::routing::{get, post};
use benteng_core::ids::TenantId;
use benteng_core::roles::Permission;
use benteng_core::strict_json::{FieldIssue, Fields, FromJsonField, JsonValue, enum_field};
use benteng_core::tenant::Tier;

use super::RequestedView;
use crate::error::{ApiError, ApiResult};
use crate::json::JsonBody;
use crate::middleware::Staff;
use crate::routes::tenant::TenantView;
use crate::routes::{Needs, Routes};
use crate::state::AppState;

pub(super) fn routes(routes: Routes) -> Routes {
    let write = Permission::TenantsWrite.into();
    routes
        .staff(
            "/admin/v1/tenants",
            Needs::on_get(Permission::TenantsRead.into()),
            get(list),
        )
        .staff(
            "/admin/v1/tenants/{id}",
            Needs::on_get(Permission::TenantsRead.into()),
            get(show),
        )
        .staff(
            "/admin/v1/tenants/{id}/require-mtls",
            Needs::on_post(write),
            post(require_mtls),
        )
        .staff(
            "/admin/v1/tenants/{id}/tier",
            Needs::on_post(write),
            post(tier),
        )
}

fn tenant_id(id: &str) -> ApiResult<TenantId> {
    id.parse().map_err(|_| ApiError::NotFound)
}

/// Every tenant.
#[utoipa::path(get, path = "/admin/v1/tenants", tag = "operator",
    security(("staff_session" = ["tenants:read"])),
    responses((status = 200, body = Vec<TenantView>)))]
pub async fn list(
    State(state): State<AppState>,
    _staff: Staff,
) -> ApiResult<Json<Vec<TenantView>>> {
    let tenants = state.store.tenants().await?;
    Ok(Json(tenants.iter().map(TenantView::from).collect()))
}

/// One tenant.
#[utoipa::path(get, path = "/admin/v1/tenants/{id}", tag = "operator",
    security(("staff_session" = ["tenants:read"])),
    responses((status = 200, body = TenantView), (status = 404, body = crate::error::Problem)))]
pub async fn show(
    State(state): State<AppState>,
    _staff: Staff,
    Path(id): Path<String>,
) -> ApiResult<Json<TenantView>> {
    let tenant = state.store.tenant(tenant_id(&id)?).await?;
    Ok(Json(TenantView::from(&tenant)))
}

/// Requires (`{"required": true}`, at once) or stops requiring (`false`, a four-eyes request)
/// one of the tenant's registered TLS client certificates.
#[utoipa::path(post, path = "/admin/v1/tenants/{id}/require-mtls", tag = "operator",
    security(("staff_session" = ["tenants:write"])),
    responses((status = 200, body = RequestedView), (status = 202, body = RequestedView)))]
pub async fn require_mtls(
    State(state): State<AppState>,
    Staff(actor, context): Staff,
    Path(id): Path<String>,
    JsonBody(body): JsonBody,
) -> ApiResult<impl IntoResponse> {
    let tenant = tenant_id(&id)?;
    let mut f = Fields::new(&body, &["required"]);
    let required: Option<bool> = f.required("required");
    let required = f.build(|| required)?;
    let requested = state
        .operations
        .set_require_mtls(&actor, tenant, required, &context)
        .await?;
    let (status, view) = RequestedView::of(&requested);
    Ok((status, Json(view)))
}

#[derive(Clone, Copy)]
struct TierField(Tier);

impl FromJsonField for TierField {
    fn from_json_field(value: &JsonValue) -> Result<Self, FieldIssue> {
        enum_field(
            value,
            &[
                ("starter", TierField(Tier::Starter)),
                ("growth", TierField(Tier::Growth)),
                ("enterprise", TierField(Tier::Enterprise)),
            ],
        )
    }
}

/// Moves the tenant to another tier (`{"tier"}`): always a four-eyes request (202).
#[utoipa::path(post, path = "/admin/v1/tenants/{id}/tier", tag = "operator",
    security(("staff_session" = ["tenants:write"])),
    responses((status = 200, body = RequestedView), (status = 202, body = RequestedView)))]
pub async fn tier(
    State(state): State<AppState>,
    Staff(actor, context): Staff,
    Path(id): Path<String>,
    JsonBody(body): JsonBody,
) -> ApiResult<impl IntoResponse> {
    let tenant = tenant_id(&id)?;
    let mut f = Fields::new(&body, &["tier"]);
    let tier: Option<TierField> = f.required("tier");
    let tier = f.build(|| tier)?;
    let requested = state
        .operations
        .change_tier(&actor, tenant, tier.0, &context)
        .await?;
    let (status, view) = RequestedView::of(&requested);
    Ok((status, Json(view)))
}
