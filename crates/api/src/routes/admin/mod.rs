//! The operator API (`/admin/v1/…`, the operations route group): staff sign in with a
//! password and a second factor, then act through a browser session within their roles. Every
//! route names the permission each method needs ([`super::StaffNeed`]); the middleware checks
//! it, and every change is audited as the person who made it.

pub(super) mod approvals;
pub(super) mod audit;
pub(crate) mod cases;
pub(super) mod credentials;
pub(super) mod fapi_clients;
pub(crate) mod incidents;
pub(super) mod kyc;
pub(super) mod people;
pub(crate) mod reports;
pub(super) mod reviews;
pub(super) mod screening;
pub(crate) mod session;
pub(super) mod tenant_users;
pub(super) mod tenants;
pub(super) mod tokens;
pub(super) mod webhooks;

use axum::http::StatusCode;
use benteng_core::strict_json::{FieldIssue, FromJsonField, JsonValue, enum_field};
use benteng_crypto::SecretString;
use benteng_operations::OpsRefusal;
use benteng_store::PendingAction;
use serde::Serialize;
use time::OffsetDateTime;

use super::Routes;
use crate::error::ApiError;

pub(crate) use session::{ENROLMENT_FINISH_PATH, ENROLMENT_START_PATH, SIGN_IN_PATH};

pub(super) fn routes(routes: Routes) -> Routes {
    let routes = session::routes(routes);
    let routes = people::routes(routes);
    let routes = approvals::routes(routes);
    let routes = tokens::routes(routes);
    let routes = tenant_users::routes(routes);
    let routes = tenants::routes(routes);
    let routes = credentials::routes(routes);
    let routes = fapi_clients::routes(routes);
    let routes = screening::routes(routes);
    let routes = reviews::routes(routes);
    let routes = cases::routes(routes);
    let routes = incidents::routes(routes);
    let routes = reports::routes(routes);
    let routes = webhooks::routes(routes);
    let routes = kyc::routes(routes);
    audit::routes(routes)
}

/// A path's id: anything that is not one names nothing here (404, as an unknown id does).
pub(super) fn path_id<T: std::str::FromStr>(id: &str) -> Result<T, ApiError> {
    id.parse().map_err(|_| ApiError::NotFound)
}

/// A JSON string of at most `MAX` bytes, parsed by `T`'s own rules (the newtype validates,
/// the handler only carries it). Longer strings are refused before `T` sees them, so no
/// parser copies or quotes an oversized value back.
pub(super) struct Parsed<T, const MAX: usize>(pub T);

impl<T, const MAX: usize> FromJsonField for Parsed<T, MAX>
where
    T: std::str::FromStr,
    T::Err: std::fmt::Display,
{
    fn from_json_field(value: &JsonValue) -> Result<Self, FieldIssue> {
        match value {
            JsonValue::String(text) if text.len() > MAX => {
                Err(FieldIssue::new("too_long", format!("at most {MAX} bytes")))
            }
            JsonValue::String(text) => text
                .parse()
                .map(Parsed)
                .map_err(|error: T::Err| FieldIssue::new("invalid_value", error.to_string())),
            _ => Err(FieldIssue::invalid_type("a string")),
        }
    }
}

/// A secret read from a JSON string field (passwords, codes): never logged or echoed.
pub(super) struct SecretField(SecretString);

impl FromJsonField for SecretField {
    fn from_json_field(value: &JsonValue) -> Result<Self, FieldIssue> {
        match value {
            JsonValue::String(text) if text.chars().count() <= 1024 => {
                Ok(SecretField(SecretString::from(text.clone())))
            }
            JsonValue::String(_) => Err(FieldIssue::new("too_long", "at most 1024 characters")),
            _ => Err(FieldIssue::invalid_type("a string")),
        }
    }
}

impl utoipa::PartialSchema for SecretField {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        use utoipa::openapi::{KnownFormat, ObjectBuilder, SchemaFormat, Type};
        ObjectBuilder::new()
            .schema_type(Type::String)
            .format(Some(SchemaFormat::KnownFormat(KnownFormat::Password)))
            .max_length(Some(1024))
            .write_only(true)
            .into()
    }
}

impl utoipa::ToSchema for SecretField {
    fn name() -> std::borrow::Cow<'static, str> {
        "Secret".into()
    }
}

/// The schema of a review decision in a request: the spellings `ReviewDecision` parses.
pub(super) fn decision_schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
    use benteng_core::cases::ReviewDecision;
    crate::json::string_enum_schema(ReviewDecision::ALL.iter().map(|d| d.as_str()))
}

/// A staff role named in a request.
#[derive(Clone, Copy)]
pub(super) struct Role(benteng_core::roles::StaffRole);

impl FromJsonField for Role {
    fn from_json_field(value: &JsonValue) -> Result<Self, FieldIssue> {
        use benteng_core::roles::StaffRole;
        let variants: Vec<(&str, Role)> = StaffRole::ALL
            .into_iter()
            .map(|role| (role.as_str(), Role(role)))
            .collect();
        enum_field(value, &variants)
    }
}

impl utoipa::PartialSchema for Role {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        use benteng_core::roles::StaffRole;
        crate::json::string_enum_schema(StaffRole::ALL.into_iter().map(|role| role.as_str()))
    }
}

impl utoipa::ToSchema for Role {
    fn name() -> std::borrow::Cow<'static, str> {
        "StaffRole".into()
    }
}

impl From<OpsRefusal> for ApiError {
    fn from(refusal: OpsRefusal) -> Self {
        match refusal {
            OpsRefusal::NotFound => ApiError::NotFound,
            OpsRefusal::Forbidden(permission) => ApiError::InsufficientPermission(permission),
            OpsRefusal::OwnChange(why) => ApiError::Refused {
                status: StatusCode::FORBIDDEN,
                slug: "second-person-required",
                title: "Someone else must do this",
                detail: why.to_owned(),
            },
            OpsRefusal::Conflict(why) => ApiError::Refused {
                status: StatusCode::CONFLICT,
                slug: "conflict",
                title: "Conflict",
                detail: why.to_owned(),
            },
            OpsRefusal::Invalid { field, message } => {
                ApiError::invalid(field, "invalid_value", &message)
            }
            OpsRefusal::Unavailable => ApiError::Unavailable {
                retry_after_secs: 1,
            },
            OpsRefusal::Incomplete(missing) => ApiError::Validation(
                missing
                    .into_iter()
                    .map(|(field, message)| crate::error::FieldProblem {
                        field,
                        code: "report_incomplete".to_owned(),
                        message,
                    })
                    .collect(),
            ),
        }
    }
}

/// A four-eyes request as the operator API shows it.
#[derive(Serialize, utoipa::ToSchema)]
pub struct PendingActionView {
    id: String,
    /// The change, e.g. `{"kind": "change_tier", "tenant": "…", "tier": "enterprise"}`.
    #[schema(value_type = Object)]
    action: benteng_core::approvals::Action,
    /// `pending`, `approved`, `rejected` or `expired`.
    status: &'static str,
    proposed_by: String,
    #[serde(with = "time::serde::rfc3339")]
    proposed_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    expires_at: OffsetDateTime,
    decided_by: Option<String>,
}

impl From<&PendingAction> for PendingActionView {
    fn from(pending: &PendingAction) -> Self {
        Self {
            id: pending.id.to_string(),
            action: pending.action,
            status: pending.status.as_str(),
            proposed_by: pending.proposed_by.to_string(),
            proposed_at: pending.proposed_at,
            expires_at: pending.expires_at,
            decided_by: pending.decided_by.map(|p| p.to_string()),
        }
    }
}

/// What a request for a change came to: `done`, or `pending` with the four-eyes request a
/// second person must approve (answered 202).
#[derive(Serialize, utoipa::ToSchema)]
pub struct RequestedView {
    /// `done` or `pending_approval`.
    outcome: &'static str,
    pending_action: Option<PendingActionView>,
}

impl RequestedView {
    pub(super) fn of(requested: &benteng_operations::Requested) -> (StatusCode, Self) {
        match requested {
            benteng_operations::Requested::Done => (
                StatusCode::OK,
                Self {
                    outcome: "done",
                    pending_action: None,
                },
            ),
            benteng_operations::Requested::Pending(pending) => (
                StatusCode::ACCEPTED,
                Self {
                    outcome: "pending_approval",
                    pending_action: Some(pending.into()),
                },
            ),
        }
    }
}
