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
use crate::json::JsonBody;
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

#[derive(Clone, Copy)]
struct Role(TenantRole);

impl FromJsonField for Role {
    fn from_json_field(value: &JsonValue) -> Result<Self, FieldIssue> {
        enum_field(
            value,
            &[
                ("owner", Role(TenantRole::Owner)),
                ("payer", Role(TenantRole::Payer)),
                ("viewer", Role(TenantRole::Viewer)),
            ],
        )
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

/// Creates a user of the tenant: `{"login", "role"}`.
#[utoipa::path(post, path = "/admin/v1/tenants/{id}/users", tag = "operator",
    security(("staff_session" = ["tenants:write"])),
    request_body(content = Object, description = "A JSON object; its fields are named in the operation's description."),
    responses((status = 201, body = TenantUserCreatedView), (status = 409, body = crate::error::Problem),
        (status = 422, body = crate::error::Problem)))]
pub async fn create(
    State(state): State<AppState>,
    Staff(_, context): Staff,
    Path(id): Path<String>,
    JsonBody(body): JsonBody,
) -> ApiResult<impl IntoResponse> {
    let tenant = tenant_id(&id)?;
    let mut f = Fields::new(&body, &["login", "role"]);
    let login: Option<Login> = f.required("login");
    let role: Option<Role> = f.required("role");
    let (login, role) = f.build(|| Some((login?, role?)))?;
    let created = state
        .operations
        .create_tenant_user(tenant, &login.0, role.0, &context)
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
