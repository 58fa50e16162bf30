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
use crate::json::JsonBody;
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

pub(super) struct Login(pub(super) LoginName);

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

/// Creates a staff member: `{"login", "roles": [...]}`. Admin is never granted at once: it
/// becomes a four-eyes request.
#[utoipa::path(post, path = "/admin/v1/staff", tag = "operator",
    security(("staff_session" = ["staff:write"])),
    request_body(content = Object, description = "`{\"login\", \"roles\": [\"compliance_analyst\"]}`"),
    responses((status = 201, body = CreatedView), (status = 409, body = crate::error::Problem),
        (status = 422, body = crate::error::Problem)))]
pub async fn create(
    State(state): State<AppState>,
    Staff(actor, context): Staff,
    JsonBody(body): JsonBody,
) -> ApiResult<impl IntoResponse> {
    let mut f = Fields::new(&body, &["login", "roles"]);
    let login: Option<Login> = f.required("login");
    let roles: Option<Vec<Role>> = f.required_list("roles", 0..=5);
    let (login, roles) = f.build(|| Some((login?, roles?)))?;
    let roles: Roles = roles.into_iter().map(|r| r.0).collect();
    let (created, pending) = state
        .operations
        .create_staff(Some(&actor), &login.0, roles, &context)
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

fn role_of(body: &benteng_core::strict_json::JsonObject) -> ApiResult<Role> {
    let mut f = Fields::new(body, &["role"]);
    let role: Option<Role> = f.required("role");
    Ok(f.build(|| role)?)
}

/// Grants a role (`{"role"}`); admin becomes a four-eyes request (202).
#[utoipa::path(post, path = "/admin/v1/staff/{id}/roles/grant", tag = "operator",
    security(("staff_session" = ["staff:write"])),
    request_body(content = Object, description = "A JSON object; its fields are named in the operation's description."),
    responses((status = 200, body = RequestedView), (status = 202, body = RequestedView),
        (status = 403, body = crate::error::Problem)))]
pub async fn grant(
    State(state): State<AppState>,
    Staff(actor, context): Staff,
    Path(id): Path<String>,
    JsonBody(body): JsonBody,
) -> ApiResult<impl IntoResponse> {
    let person = person_id(&id)?;
    let role = role_of(&body)?;
    let requested = state
        .operations
        .grant_role(&actor, person, role.0, &context)
        .await?;
    let (status, view) = RequestedView::of(&requested);
    Ok((status, Json(view)))
}

/// Removes a role (`{"role"}`).
#[utoipa::path(post, path = "/admin/v1/staff/{id}/roles/revoke", tag = "operator",
    security(("staff_session" = ["staff:write"])),
    request_body(content = Object, description = "A JSON object; its fields are named in the operation's description."),
    responses((status = 204), (status = 403, body = crate::error::Problem)))]
pub async fn revoke(
    State(state): State<AppState>,
    Staff(actor, context): Staff,
    Path(id): Path<String>,
    JsonBody(body): JsonBody,
) -> ApiResult<StatusCode> {
    let person = person_id(&id)?;
    let role = role_of(&body)?;
    state
        .operations
        .revoke_role(&actor, person, role.0, &context)
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
