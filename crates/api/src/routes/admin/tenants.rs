//! Tenants as operators see them, and the changes to them: creation, suspension (containment,
//! the security officer's), the mTLS requirement and the tier (each loosening waits for a
//! second person).

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::routing::{get, post};
use benteng_core::ids::TenantId;
use benteng_core::roles::Permission;
use benteng_core::strict_json::{FieldIssue, Fields, FromJsonField, JsonValue, enum_field};
use benteng_core::tenant::{TenantName, TenantStatus, Tier};

use super::{Parsed, RequestedView};
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
            Needs::on_get(Permission::TenantsRead.into()).and_post(write),
            get(list).post(create),
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
        .staff(
            "/admin/v1/tenants/{id}/suspend",
            Needs::on_post(Permission::CredentialsRevoke.into()),
            post(suspend),
        )
        .staff(
            "/admin/v1/tenants/{id}/reactivate",
            Needs::on_post(write),
            post(reactivate),
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
    request_body(content = Object, description = "A JSON object; its fields are named in the operation's description."),
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
    request_body(content = Object, description = "A JSON object; its fields are named in the operation's description."),
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

/// Creates a tenant (`{"name", "tier"}`), active at once.
#[utoipa::path(post, path = "/admin/v1/tenants", tag = "operator",
    security(("staff_session" = ["tenants:write"])),
    request_body(content = Object, description = "A JSON object; its fields are named in the operation's description."),
    responses((status = 201, body = TenantView), (status = 422, body = crate::error::Problem)))]
pub async fn create(
    State(state): State<AppState>,
    Staff(_, context): Staff,
    JsonBody(body): JsonBody,
) -> ApiResult<(StatusCode, Json<TenantView>)> {
    let mut f = Fields::new(&body, &["name", "tier"]);
    let name: Option<Parsed<TenantName, 1024>> = f.required("name");
    let tier: Option<TierField> = f.required("tier");
    let (name, tier) = f.build(|| Some((name?, tier?)))?;
    let tenant = state
        .operations
        .create_tenant(name.0, tier.0, &context)
        .await?;
    Ok((StatusCode::CREATED, Json(TenantView::from(&tenant))))
}

/// Suspends a tenant: its API keys and SNAP tokens are refused on every instance within a
/// second. Containment, so it needs `credentials:revoke`, not `tenants:write`.
#[utoipa::path(post, path = "/admin/v1/tenants/{id}/suspend", tag = "operator",
    security(("staff_session" = ["credentials:revoke"])),
    responses((status = 200, body = TenantView), (status = 404, body = crate::error::Problem)))]
pub async fn suspend(
    State(state): State<AppState>,
    Staff(_, context): Staff,
    Path(id): Path<String>,
) -> ApiResult<Json<TenantView>> {
    let tenant = state
        .operations
        .set_tenant_status(tenant_id(&id)?, TenantStatus::Suspended, &context)
        .await?;
    Ok(Json(TenantView::from(&tenant)))
}

/// Re-activates a suspended tenant.
#[utoipa::path(post, path = "/admin/v1/tenants/{id}/reactivate", tag = "operator",
    security(("staff_session" = ["tenants:write"])),
    responses((status = 200, body = TenantView), (status = 404, body = crate::error::Problem)))]
pub async fn reactivate(
    State(state): State<AppState>,
    Staff(_, context): Staff,
    Path(id): Path<String>,
) -> ApiResult<Json<TenantView>> {
    let tenant = state
        .operations
        .set_tenant_status(tenant_id(&id)?, TenantStatus::Active, &context)
        .await?;
    Ok(Json(TenantView::from(&tenant)))
}
