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
use crate::json::{Body, RequestBody};
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
    request_body(content = RequireMtlsRequest),
    responses((status = 200, body = RequestedView), (status = 202, body = RequestedView)))]
pub async fn require_mtls(
    State(state): State<AppState>,
    Staff(actor, context): Staff,
    Path(id): Path<String>,
    Body(body): Body<RequireMtlsRequest>,
) -> ApiResult<impl IntoResponse> {
    let tenant = tenant_id(&id)?;
    let requested = state
        .operations
        .set_require_mtls(&actor, tenant, body.required, &context)
        .await?;
    let (status, view) = RequestedView::of(&requested);
    Ok((status, Json(view)))
}

/// The body of `POST /admin/v1/tenants/{id}/require-mtls`.
#[derive(utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"required": true}))]
pub struct RequireMtlsRequest {
    /// `true` requires a registered client certificate at once; `false` asks a second person.
    required: bool,
}

impl RequestBody for RequireMtlsRequest {
    const FIELDS: &'static [&'static str] = &["required"];

    fn read(f: &mut Fields<'_>) -> Option<Self> {
        let required = f.required("required");
        Some(Self {
            required: required?,
        })
    }
}

/// A tier as requests name it.
#[derive(Clone, Copy)]
pub struct TierField(Tier);

const TIERS: [(&str, TierField); 3] = [
    ("starter", TierField(Tier::Starter)),
    ("growth", TierField(Tier::Growth)),
    ("enterprise", TierField(Tier::Enterprise)),
];

impl FromJsonField for TierField {
    fn from_json_field(value: &JsonValue) -> Result<Self, FieldIssue> {
        enum_field(value, &TIERS)
    }
}

impl utoipa::PartialSchema for TierField {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        crate::json::string_enum_schema(TIERS.iter().map(|(name, _)| *name))
    }
}

impl utoipa::ToSchema for TierField {
    fn name() -> std::borrow::Cow<'static, str> {
        "Tier".into()
    }
}

/// The body of `POST /admin/v1/tenants/{id}/tier`.
#[derive(utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"tier": "growth"}))]
pub struct TierRequest {
    tier: TierField,
}

impl RequestBody for TierRequest {
    const FIELDS: &'static [&'static str] = &["tier"];

    fn read(f: &mut Fields<'_>) -> Option<Self> {
        let tier = f.required("tier");
        Some(Self { tier: tier? })
    }
}

/// The body of `POST /admin/v1/tenants`.
#[derive(utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"name": "PT Contoh Niaga", "tier": "starter"}))]
pub struct NewTenantRequest {
    /// The tenant's display name.
    #[schema(value_type = String, min_length = 1, max_length = 200)]
    name: Parsed<TenantName, 1024>,
    tier: TierField,
}

impl RequestBody for NewTenantRequest {
    const FIELDS: &'static [&'static str] = &["name", "tier"];

    fn read(f: &mut Fields<'_>) -> Option<Self> {
        let name = f.required("name");
        let tier = f.required("tier");
        Some(Self {
            name: name?,
            tier: tier?,
        })
    }
}

/// Moves the tenant to another tier (`{"tier"}`): always a four-eyes request (202).
#[utoipa::path(post, path = "/admin/v1/tenants/{id}/tier", tag = "operator",
    security(("staff_session" = ["tenants:write"])),
    request_body(content = TierRequest),
    responses((status = 200, body = RequestedView), (status = 202, body = RequestedView)))]
pub async fn tier(
    State(state): State<AppState>,
    Staff(actor, context): Staff,
    Path(id): Path<String>,
    Body(body): Body<TierRequest>,
) -> ApiResult<impl IntoResponse> {
    let tenant = tenant_id(&id)?;
    let requested = state
        .operations
        .change_tier(&actor, tenant, body.tier.0, &context)
        .await?;
    let (status, view) = RequestedView::of(&requested);
    Ok((status, Json(view)))
}

/// Creates a tenant (`{"name", "tier"}`), active at once.
#[utoipa::path(post, path = "/admin/v1/tenants", tag = "operator",
    security(("staff_session" = ["tenants:write"])),
    request_body(content = NewTenantRequest),
    responses((status = 201, body = TenantView), (status = 422, body = crate::error::Problem)))]
pub async fn create(
    State(state): State<AppState>,
    Staff(_, context): Staff,
    Body(body): Body<NewTenantRequest>,
) -> ApiResult<(StatusCode, Json<TenantView>)> {
    let tenant = state
        .operations
        .create_tenant(body.name.0, body.tier.0, &context)
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
