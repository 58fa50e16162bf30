//! Staff API tokens: a signed-in person issues tokens for their own automation, lists and
//! revokes them; containment revokes all of a person's. The secret is in the issue answer only.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::{get, post};
use benteng_auth::{IssueTokenError, PeopleAuthenticator};
use benteng_core::ids::PersonId;
use benteng_core::roles::{Permission, Permissions};
use benteng_core::staff_token::{TokenLifetime, TokenName};
use benteng_core::strict_json::{FieldIssue, Fields, FromJsonField, JsonValue, enum_field};
use benteng_crypto::ExposeSecret;
use benteng_store::StaffTokenRow;
use serde::Serialize;
use time::OffsetDateTime;

use crate::error::{ApiError, ApiResult};
use crate::json::{Body, RequestBody};
use crate::middleware::Staff;
use crate::routes::{Needs, Routes, StaffNeed};
use crate::state::AppState;

pub(super) fn routes(routes: Routes) -> Routes {
    routes
        // Issuing takes a browser session: a token limited to some permissions must not be
        // able to mint a wider one. Listing and revoking one's own only narrow.
        .staff(
            "/admin/v1/session/tokens",
            Needs::on_get(StaffNeed::SignedIn).and_post(StaffNeed::Session),
            get(list).post(issue),
        )
        .staff(
            "/admin/v1/session/tokens/{id}/revoke",
            Needs::on_post(StaffNeed::SignedIn),
            post(revoke),
        )
        .staff(
            "/admin/v1/staff/{id}/tokens/revoke",
            Needs::on_post(Permission::CredentialsRevoke.into()),
            post(revoke_all),
        )
}

fn people(state: &AppState) -> ApiResult<&PeopleAuthenticator> {
    state
        .auth
        .people()
        .map(|people| people.as_ref())
        .ok_or(ApiError::Unavailable {
            retry_after_secs: 1,
        })
}

/// A permission named in a request.
#[derive(Clone, Copy)]
pub struct PermissionField(Permission);

impl utoipa::PartialSchema for PermissionField {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        crate::json::string_enum_schema(Permission::ALL.iter().map(|p| p.as_str()))
    }
}

impl utoipa::ToSchema for PermissionField {
    fn name() -> std::borrow::Cow<'static, str> {
        "Permission".into()
    }
}

impl FromJsonField for PermissionField {
    fn from_json_field(value: &JsonValue) -> Result<Self, FieldIssue> {
        let variants: Vec<(&str, PermissionField)> = Permission::ALL
            .into_iter()
            .map(|p| (p.as_str(), PermissionField(p)))
            .collect();
        enum_field(value, &variants)
    }
}

pub struct NameField(TokenName);

impl FromJsonField for NameField {
    fn from_json_field(value: &JsonValue) -> Result<Self, FieldIssue> {
        match value {
            JsonValue::String(text) => text
                .parse()
                .map(NameField)
                .map_err(|error| FieldIssue::new("invalid_format", format!("{error}"))),
            _ => Err(FieldIssue::invalid_type("a string")),
        }
    }
}

/// A staff token as listed: never its secret.
#[derive(Serialize, utoipa::ToSchema)]
pub struct StaffTokenView {
    id: String,
    name: String,
    permissions: Vec<&'static str>,
    #[serde(with = "time::serde::rfc3339")]
    created_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    expires_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339::option")]
    revoked_at: Option<OffsetDateTime>,
    #[serde(with = "time::serde::rfc3339::option")]
    last_used_at: Option<OffsetDateTime>,
}

impl From<&StaffTokenRow> for StaffTokenView {
    fn from(row: &StaffTokenRow) -> Self {
        Self {
            id: row.id.to_string(),
            name: row.name.to_string(),
            permissions: row.permissions.iter().map(Permission::as_str).collect(),
            created_at: row.created_at,
            expires_at: row.expires_at,
            revoked_at: row.revoked_at,
            last_used_at: row.last_used_at,
        }
    }
}

/// A token just issued, with its secret: shown this once.
#[derive(Serialize, utoipa::ToSchema)]
pub struct IssuedTokenView {
    /// `bt_staff_…`: send it as `Authorization: Bearer …`. It is not shown again.
    token: String,
    #[serde(flatten)]
    view: StaffTokenView,
}

/// The body of `POST /admin/v1/session/tokens`.
#[derive(utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"name": "nightly export", "permissions": ["tenants:read"], "expires_in_days": 30}))]
pub struct IssueTokenRequest {
    /// What the token is for, shown in listings.
    #[schema(value_type = String, min_length = 1, max_length = 100)]
    name: NameField,
    /// Permissions the person's roles grant now (422 naming the first that is not).
    #[schema(min_items = 1)]
    permissions: Vec<PermissionField>,
    #[schema(value_type = u32, minimum = 1, maximum = 90)]
    expires_in_days: TokenLifetime,
}

impl RequestBody for IssueTokenRequest {
    const FIELDS: &'static [&'static str] = &["name", "permissions", "expires_in_days"];

    fn read(f: &mut Fields<'_>) -> Option<Self> {
        let name = f.required("name");
        let permissions = f.required_list("permissions", 1..=Permission::ALL.len());
        let days: Option<u32> = f.required("expires_in_days");
        let lifetime = days.and_then(|days| match TokenLifetime::days(i64::from(days)) {
            Ok(lifetime) => Some(lifetime),
            Err(error) => {
                f.reject("expires_in_days", "out_of_range", error.to_string());
                None
            }
        });
        Some(Self {
            name: name?,
            permissions: permissions?,
            expires_in_days: lifetime?,
        })
    }
}

/// Issues a token for the signed-in person's automation. Needs a browser session, not a
/// token.
#[utoipa::path(post, path = "/admin/v1/session/tokens", tag = "operator",
    security(("staff_session" = [])),
    request_body(content = IssueTokenRequest),
    responses((status = 201, body = IssuedTokenView), (status = 403, body = crate::error::Problem),
        (status = 422, body = crate::error::Problem)))]
pub async fn issue(
    State(state): State<AppState>,
    Staff(principal, context): Staff,
    Body(body): Body<IssueTokenRequest>,
) -> ApiResult<(StatusCode, Json<IssuedTokenView>)> {
    let IssueTokenRequest {
        name,
        permissions,
        expires_in_days: lifetime,
    } = body;
    let permissions: Permissions = permissions.into_iter().map(|p| p.0).collect();
    let issued = people(&state)?
        .issue_token(principal.person, name.0, permissions, lifetime, &context)
        .await
        .map_err(|error| match error {
            IssueTokenError::NotGranted(_) | IssueTokenError::NoPermissions => {
                ApiError::invalid("permissions", "not_granted", &error.to_string())
            }
            IssueTokenError::NotStaff => ApiError::Forbidden("only platform staff hold tokens"),
            IssueTokenError::Unavailable => ApiError::Unavailable {
                retry_after_secs: 1,
            },
        })?;
    Ok((
        StatusCode::CREATED,
        Json(IssuedTokenView {
            token: issued.token.expose_secret().to_owned(),
            view: StaffTokenView::from(&issued.row),
        }),
    ))
}

/// The signed-in person's tokens, newest first (never their secrets).
#[utoipa::path(get, path = "/admin/v1/session/tokens", tag = "operator",
    security(("staff_session" = [])),
    responses((status = 200, body = Vec<StaffTokenView>), (status = 401, body = crate::error::Problem)))]
pub async fn list(
    State(state): State<AppState>,
    Staff(principal, _): Staff,
) -> ApiResult<Json<Vec<StaffTokenView>>> {
    let tokens = state.store.staff_tokens_of(principal.person).await?;
    Ok(Json(tokens.iter().map(StaffTokenView::from).collect()))
}

/// Revokes one of the signed-in person's tokens, on every instance. 404 for a token that is
/// not theirs.
#[utoipa::path(post, path = "/admin/v1/session/tokens/{id}/revoke", tag = "operator",
    security(("staff_session" = [])),
    responses((status = 204), (status = 404, body = crate::error::Problem)))]
pub async fn revoke(
    State(state): State<AppState>,
    Staff(principal, context): Staff,
    Path(id): Path<String>,
) -> ApiResult<StatusCode> {
    let id: uuid::Uuid = id.parse().map_err(|_| ApiError::NotFound)?;
    people(&state)?
        .revoke_token(principal.person, id, &context)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Revokes every token of a person, on every instance (containment).
#[utoipa::path(post, path = "/admin/v1/staff/{id}/tokens/revoke", tag = "operator",
    security(("staff_session" = ["credentials:revoke"])),
    responses((status = 204), (status = 404, body = crate::error::Problem)))]
pub async fn revoke_all(
    State(state): State<AppState>,
    Staff(_, context): Staff,
    Path(id): Path<String>,
) -> ApiResult<StatusCode> {
    let person: PersonId = id.parse().map_err(|_| ApiError::NotFound)?;
    state.store.person(person).await?;
    people(&state)?.revoke_tokens_of(person, &context).await?;
    Ok(StatusCode::NO_CONTENT)
}
