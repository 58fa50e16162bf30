//! A tenant's users: people who sign in to the tenant API with a tenant role (owner, payer,
//! viewer) instead of using an API key.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::routing::get;
use benteng_core::ids::TenantId;
use benteng_core::roles::{Permission, TenantRole};
use benteng_core::strict_json::{FieldIssue, Fields, FromJsonField, JsonValue, enum_field};
use benteng_crypto::ExposeSecret;
use benteng_store::{PersonRow, PersonStatus};
use serde::Serialize;
use time::OffsetDateTime;

use super::people::Login;
use crate::error::{ApiError, ApiResult};
use crate::json::{Body, RequestBody};
use crate::middleware::Staff;
use crate::routes::{Needs, Routes};
use crate::state::AppState;

pub(super) fn routes(routes: Routes) -> Routes {
    routes.staff(
        "/admin/v1/tenants/{id}/users",
        Needs::on_get(Permission::TenantsRead.into()).and_post(Permission::TenantsWrite.into()),
        get(list).post(create),
    )
}

/// A tenant role as requests name it.
#[derive(Clone, Copy)]
pub struct Role(TenantRole);

const ROLES: [(&str, Role); 3] = [
    ("owner", Role(TenantRole::Owner)),
    ("payer", Role(TenantRole::Payer)),
    ("viewer", Role(TenantRole::Viewer)),
];

impl FromJsonField for Role {
    fn from_json_field(value: &JsonValue) -> Result<Self, FieldIssue> {
        enum_field(value, &ROLES)
    }
}

impl utoipa::PartialSchema for Role {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        crate::json::string_enum_schema(ROLES.iter().map(|(name, _)| *name))
    }
}

impl utoipa::ToSchema for Role {
    fn name() -> std::borrow::Cow<'static, str> {
        "TenantRole".into()
    }
}

/// The body of `POST /admin/v1/tenants/{id}/users`.
#[derive(utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"login": "budi@contoh.example", "role": "payer"}))]
pub struct NewTenantUserRequest {
    login: Login,
    role: Role,
}

impl RequestBody for NewTenantUserRequest {
    const FIELDS: &'static [&'static str] = &["login", "role"];

    fn read(f: &mut Fields<'_>) -> Option<Self> {
        let login = f.required("login");
        let role = f.required("role");
        Some(Self {
            login: login?,
            role: role?,
        })
    }
}

fn tenant_id(id: &str) -> ApiResult<TenantId> {
    id.parse().map_err(|_| ApiError::NotFound)
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct TenantUserView {
    id: String,
    login: String,
    /// `owner`, `payer` or `viewer`.
    #[schema(value_type = String)]
    role: Option<TenantRole>,
    /// `enrolling`, `active` or `disabled`.
    #[schema(value_type = String)]
    status: PersonStatus,
    #[serde(with = "time::serde::rfc3339")]
    created_at: OffsetDateTime,
}

impl From<&PersonRow> for TenantUserView {
    fn from(person: &PersonRow) -> Self {
        Self {
            id: person.id.to_string(),
            login: person.login.to_string(),
            role: person.tenant.map(|(_, role)| role),
            status: person.status,
            created_at: person.created_at,
        }
    }
}

/// The tenant's users.
#[utoipa::path(get, path = "/admin/v1/tenants/{id}/users", tag = "operator",
    security(("staff_session" = ["tenants:read"])),
    responses((status = 200, body = Vec<TenantUserView>), (status = 404, body = crate::error::Problem)))]
pub async fn list(
    State(state): State<AppState>,
    _staff: Staff,
    Path(id): Path<String>,
) -> ApiResult<Json<Vec<TenantUserView>>> {
    let tenant = tenant_id(&id)?;
    state.store.tenant(tenant).await?;
    let users = state.store.tenant_users(tenant).await?;
    Ok(Json(users.iter().map(TenantUserView::from).collect()))
}

/// A new tenant user and their one-time enrolment code (for `POST /v1/enrolment/start`).
#[derive(Serialize, utoipa::ToSchema)]
pub struct TenantUserCreatedView {
    id: String,
    enrolment_code: String,
    #[serde(with = "time::serde::rfc3339")]
    enrolment_expires_at: OffsetDateTime,
}

/// Creates a user of the tenant.
#[utoipa::path(post, path = "/admin/v1/tenants/{id}/users", tag = "operator",
    security(("staff_session" = ["tenants:write"])),
    request_body(content = NewTenantUserRequest),
    responses((status = 201, body = TenantUserCreatedView), (status = 409, body = crate::error::Problem),
        (status = 422, body = crate::error::Problem)))]
pub async fn create(
    State(state): State<AppState>,
    Staff(_, context): Staff,
    Path(id): Path<String>,
    Body(body): Body<NewTenantUserRequest>,
) -> ApiResult<impl IntoResponse> {
    let tenant = tenant_id(&id)?;
    let created = state
        .operations
        .create_tenant_user(tenant, &body.login.0, body.role.0, &context)
        .await?;
    Ok((
        StatusCode::CREATED,
        Json(TenantUserCreatedView {
            id: created.person.to_string(),
            enrolment_code: created.enrolment_code.expose_secret().to_owned(),
            enrolment_expires_at: created.expires_at,
        }),
    ))
}
