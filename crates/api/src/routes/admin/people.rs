//! Staff: who they are, what roles they hold, whether they may sign in.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::routing::{get, post};
use benteng_core::ids::PersonId;
use benteng_core::people::LoginName;
use benteng_core::roles::{Permission, Roles};
use benteng_core::strict_json::{FieldIssue, Fields, FromJsonField, JsonValue};
use benteng_crypto::ExposeSecret;
use benteng_store::{PersonRow, PersonStatus};
use serde::Serialize;
use time::OffsetDateTime;

use super::{PendingActionView, RequestedView, Role};
use crate::error::{ApiError, ApiResult};
use crate::json::{Body, RequestBody};
use crate::middleware::Staff;
use crate::routes::{Needs, Routes, StaffNeed};
use crate::state::AppState;

pub(super) fn routes(routes: Routes) -> Routes {
    let write = StaffNeed::Permission(Permission::StaffWrite);
    routes
        .staff(
            "/admin/v1/staff",
            Needs::on_get(Permission::StaffRead.into()).and_post(write),
            get(list).post(create),
        )
        .staff(
            "/admin/v1/staff/{id}/roles/grant",
            Needs::on_post(write),
            post(grant),
        )
        .staff(
            "/admin/v1/staff/{id}/roles/revoke",
            Needs::on_post(write),
            post(revoke),
        )
        .staff(
            "/admin/v1/staff/{id}/disable",
            Needs::on_post(write),
            post(disable),
        )
        .staff(
            "/admin/v1/staff/{id}/enable",
            Needs::on_post(write),
            post(enable),
        )
        .staff(
            "/admin/v1/staff/{id}/sessions/revoke",
            Needs::on_post(Permission::CredentialsRevoke.into()),
            post(end_sessions),
        )
}

/// A login name as requests give it ([`LoginName`]'s rules).
pub(super) struct Login(pub(super) LoginName);

impl utoipa::PartialSchema for Login {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        use utoipa::openapi::{ObjectBuilder, Type};
        ObjectBuilder::new()
            .schema_type(Type::String)
            .min_length(Some(LoginName::MIN_CHARS))
            .max_length(Some(LoginName::MAX_CHARS))
            .pattern(Some("^[A-Za-z0-9][A-Za-z0-9._@+-]*$"))
            .description(Some(
                "3–64 characters of a-z 0-9 . _ @ + -, starting with a letter or digit; \
                 upper case is folded",
            ))
            .examples(["ana@bank.example"])
            .into()
    }
}

impl utoipa::ToSchema for Login {
    fn name() -> std::borrow::Cow<'static, str> {
        "LoginName".into()
    }
}

impl FromJsonField for Login {
    fn from_json_field(value: &JsonValue) -> Result<Self, FieldIssue> {
        match value {
            JsonValue::String(text) => text
                .parse()
                .map(Login)
                .map_err(|error| FieldIssue::new("invalid_format", format!("{error}"))),
            _ => Err(FieldIssue::invalid_type("a string")),
        }
    }
}

fn person_id(id: &str) -> ApiResult<PersonId> {
    id.parse().map_err(|_| ApiError::NotFound)
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct StaffView {
    id: String,
    login: String,
    roles: Vec<&'static str>,
    /// `enrolling`, `active` or `disabled`.
    #[schema(value_type = String)]
    status: PersonStatus,
    #[serde(with = "time::serde::rfc3339")]
    created_at: OffsetDateTime,
}

impl From<&PersonRow> for StaffView {
    fn from(person: &PersonRow) -> Self {
        Self {
            id: person.id.to_string(),
            login: person.login.to_string(),
            roles: person.roles.iter().map(|r| r.as_str()).collect(),
            status: person.status,
            created_at: person.created_at,
        }
    }
}

/// Platform staff.
#[utoipa::path(get, path = "/admin/v1/staff", tag = "operator",
    security(("staff_session" = ["staff:read"])),
    responses((status = 200, body = Vec<StaffView>), (status = 403, body = crate::error::Problem)))]
pub async fn list(State(state): State<AppState>, _staff: Staff) -> ApiResult<Json<Vec<StaffView>>> {
    let staff = state.store.staff().await?;
    Ok(Json(staff.iter().map(StaffView::from).collect()))
}

/// A new staff member and their one-time enrolment code.
#[derive(Serialize, utoipa::ToSchema)]
pub struct CreatedView {
    id: String,
    /// Give it to the person over a separate channel; it is shown only here.
    enrolment_code: String,
    #[serde(with = "time::serde::rfc3339")]
    enrolment_expires_at: OffsetDateTime,
    /// Roles that need a second person (admin) wait here for approval.
    pending_actions: Vec<PendingActionView>,
}

/// The body of `POST /admin/v1/staff`.
#[derive(utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"login": "ana@bank.example", "roles": ["compliance_analyst"]}))]
pub struct NewStaffRequest {
    login: Login,
    /// Up to five roles; admin among them becomes a four-eyes request.
    #[schema(max_items = 5)]
    roles: Vec<Role>,
}

impl RequestBody for NewStaffRequest {
    const FIELDS: &'static [&'static str] = &["login", "roles"];

    fn read(f: &mut Fields<'_>) -> Option<Self> {
        let login = f.required("login");
        let roles = f.required_list("roles", 0..=5);
        Some(Self {
            login: login?,
            roles: roles?,
        })
    }
}

/// The body of the role grant and revoke routes.
#[derive(utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"role": "compliance_officer"}))]
pub struct RoleRequest {
    role: Role,
}

impl RequestBody for RoleRequest {
    const FIELDS: &'static [&'static str] = &["role"];

    fn read(f: &mut Fields<'_>) -> Option<Self> {
        let role = f.required("role");
        Some(Self { role: role? })
    }
}

/// Creates a staff member. Admin is never granted at once: it becomes a four-eyes request.
#[utoipa::path(post, path = "/admin/v1/staff", tag = "operator",
    security(("staff_session" = ["staff:write"])),
    request_body(content = NewStaffRequest),
    responses((status = 201, body = CreatedView), (status = 409, body = crate::error::Problem),
        (status = 422, body = crate::error::Problem)))]
pub async fn create(
    State(state): State<AppState>,
    Staff(actor, context): Staff,
    Body(body): Body<NewStaffRequest>,
) -> ApiResult<impl IntoResponse> {
    let roles: Roles = body.roles.into_iter().map(|r| r.0).collect();
    let (created, pending) = state
        .operations
        .create_staff(Some(&actor), &body.login.0, roles, &context)
        .await?;
    Ok((
        StatusCode::CREATED,
        Json(CreatedView {
            id: created.person.to_string(),
            enrolment_code: created.enrolment_code.expose_secret().to_owned(),
            enrolment_expires_at: created.expires_at,
            pending_actions: pending.iter().map(PendingActionView::from).collect(),
        }),
    ))
}

/// Grants a role (`{"role"}`); admin becomes a four-eyes request (202).
#[utoipa::path(post, path = "/admin/v1/staff/{id}/roles/grant", tag = "operator",
    security(("staff_session" = ["staff:write"])),
    request_body(content = RoleRequest),
    responses((status = 200, body = RequestedView), (status = 202, body = RequestedView),
        (status = 403, body = crate::error::Problem)))]
pub async fn grant(
    State(state): State<AppState>,
    Staff(actor, context): Staff,
    Path(id): Path<String>,
    Body(body): Body<RoleRequest>,
) -> ApiResult<impl IntoResponse> {
    let person = person_id(&id)?;
    let requested = state
        .operations
        .grant_role(&actor, person, body.role.0, &context)
        .await?;
    let (status, view) = RequestedView::of(&requested);
    Ok((status, Json(view)))
}

/// Removes a role (`{"role"}`).
#[utoipa::path(post, path = "/admin/v1/staff/{id}/roles/revoke", tag = "operator",
    security(("staff_session" = ["staff:write"])),
    request_body(content = RoleRequest),
    responses((status = 204), (status = 403, body = crate::error::Problem)))]
pub async fn revoke(
    State(state): State<AppState>,
    Staff(actor, context): Staff,
    Path(id): Path<String>,
    Body(body): Body<RoleRequest>,
) -> ApiResult<StatusCode> {
    let person = person_id(&id)?;
    state
        .operations
        .revoke_role(&actor, person, body.role.0, &context)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

async fn set_status(
    state: &AppState,
    staff: Staff,
    id: &str,
    status: PersonStatus,
) -> ApiResult<StatusCode> {
    let Staff(actor, context) = staff;
    state
        .operations
        .set_person_status(&actor, person_id(id)?, status, &context)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Disables a person: they cannot sign in, and their sessions end everywhere.
#[utoipa::path(post, path = "/admin/v1/staff/{id}/disable", tag = "operator",
    security(("staff_session" = ["staff:write"])), responses((status = 204)))]
pub async fn disable(
    State(state): State<AppState>,
    staff: Staff,
    Path(id): Path<String>,
) -> ApiResult<StatusCode> {
    set_status(&state, staff, &id, PersonStatus::Disabled).await
}

/// Enables a disabled person again.
#[utoipa::path(post, path = "/admin/v1/staff/{id}/enable", tag = "operator",
    security(("staff_session" = ["staff:write"])), responses((status = 204)))]
pub async fn enable(
    State(state): State<AppState>,
    staff: Staff,
    Path(id): Path<String>,
) -> ApiResult<StatusCode> {
    set_status(&state, staff, &id, PersonStatus::Active).await
}

/// Ends every session of a person, on every instance (containment).
#[utoipa::path(post, path = "/admin/v1/staff/{id}/sessions/revoke", tag = "operator",
    security(("staff_session" = ["credentials:revoke"])), responses((status = 204)))]
pub async fn end_sessions(
    State(state): State<AppState>,
    Staff(_, context): Staff,
    Path(id): Path<String>,
) -> ApiResult<StatusCode> {
    state
        .operations
        .end_sessions(person_id(&id)?, &context)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}
