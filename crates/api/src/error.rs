//! The one error type of the HTTP layer, rendered as RFC 9457 `application/problem+json`.
//!
//! Every refusal a client can see has a stable `type` (a slug under `PROBLEM_BASE`) and a fixed
//! title; the `detail` never carries internal causes, which are logged instead.

use axum::Json;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use benteng_auth::AuthError;
use serde::Serialize;

pub const PROBLEM_BASE: &str = "https://benteng.dev/problems/";
pub const PROBLEM_CONTENT_TYPE: &str = "application/problem+json";

/// One invalid field of a request, named by its dotted path.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct FieldProblem {
    pub field: String,
    pub code: String,
    pub message: String,
}

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error("authentication required")]
    Unauthenticated(AuthError),
    #[error("forbidden")]
    Forbidden(&'static str),
    /// 403: the credentials are good but lack the scope the route needs.
    #[error("insufficient scope")]
    InsufficientScope(benteng_core::scopes::Scope),
    /// 403: the staff member's roles do not grant the permission the route needs.
    #[error("insufficient permission")]
    InsufficientPermission(benteng_core::roles::Permission),
    /// 403: the API key is restricted to networks the client's address is not in.
    #[error("network not allowed")]
    NetworkNotAllowed,
    /// The mTLS tenant binding refused the request's client certificate (or its absence).
    #[error("client certificate refused")]
    ClientCertificate(&'static str),
    #[error("not found")]
    NotFound,
    #[error("method not allowed")]
    MethodNotAllowed,
    #[error("request body too large")]
    PayloadTooLarge,
    #[error("malformed request: {0}")]
    BadRequest(&'static str),
    #[error("unsupported media type")]
    UnsupportedMediaType,
    #[error("validation failed")]
    Validation(Vec<FieldProblem>),
    #[error("service unavailable")]
    Unavailable { retry_after_secs: u32 },
    #[error("request timed out")]
    Timeout,
    #[error("internal error")]
    Internal,
    /// 429: a rate limit refused the request (the limit headers are added by the limiter).
    #[error("rate limited")]
    RateLimited {
        retry_after_secs: u64,
        detail: String,
    },
    /// 409: the first request with this idempotency key is still running.
    #[error("idempotency key in use")]
    IdempotencyInFlight,
    /// A refusal with its own stable type, e.g. `insufficient-funds` or `quote-expired`.
    #[error("{title}")]
    Refused {
        status: StatusCode,
        slug: &'static str,
        title: &'static str,
        detail: String,
    },
}

/// The problem document. `errors` lists invalid fields on validation failures.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Problem {
    #[serde(rename = "type")]
    pub type_uri: String,
    pub title: &'static str,
    pub status: u16,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub errors: Vec<FieldProblem>,
}

impl ApiError {
    /// The status and one sentence for a person reading a page (the console's refusals):
    /// the title, the detail and each invalid field.
    pub(crate) fn summary(&self) -> (StatusCode, String) {
        let (status, _, title) = self.parts();
        let mut text = title.to_owned();
        if let Some(detail) = self.detail() {
            text.push_str(": ");
            text.push_str(&detail);
        }
        if let ApiError::Validation(errors) = self {
            for error in errors {
                text.push_str(&format!("; {} {}", error.field, error.message));
            }
        }
        (status, text)
    }

    /// Status, stable slug and title of each error.
    fn parts(&self) -> (StatusCode, &'static str, &'static str) {
        use ApiError::*;
        match self {
            Unauthenticated(_) => (
                StatusCode::UNAUTHORIZED,
                "unauthenticated",
                "Authentication required",
            ),
            Forbidden(_) => (StatusCode::FORBIDDEN, "forbidden", "Forbidden"),
            InsufficientScope(_) => (
                StatusCode::FORBIDDEN,
                "insufficient-scope",
                "Insufficient scope",
            ),
            InsufficientPermission(_) => (
                StatusCode::FORBIDDEN,
                "insufficient-permission",
                "Insufficient permission",
            ),
            NetworkNotAllowed => (
                StatusCode::FORBIDDEN,
                "network-not-allowed",
                "Network not allowed",
            ),
            ClientCertificate(_) => (
                StatusCode::FORBIDDEN,
                "client-certificate-refused",
                "Client certificate refused",
            ),
            NotFound => (StatusCode::NOT_FOUND, "not-found", "Not found"),
            MethodNotAllowed => (
                StatusCode::METHOD_NOT_ALLOWED,
                "method-not-allowed",
                "Method not allowed",
            ),
            PayloadTooLarge => (
                StatusCode::PAYLOAD_TOO_LARGE,
                "payload-too-large",
                "Request body too large",
            ),
            BadRequest(_) => (
                StatusCode::BAD_REQUEST,
                "malformed-request",
                "Malformed request",
            ),
            UnsupportedMediaType => (
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "unsupported-media-type",
                "Unsupported media type",
            ),
            Validation(_) => (
                StatusCode::UNPROCESSABLE_ENTITY,
                "validation-failed",
                "Validation failed",
            ),
            Unavailable { .. } => (
                StatusCode::SERVICE_UNAVAILABLE,
                "unavailable",
                "Service unavailable",
            ),
            Timeout => (
                StatusCode::SERVICE_UNAVAILABLE,
                "timeout",
                "Request timed out",
            ),
            Internal => (
                StatusCode::INTERNAL_SERVER_ERROR,
                "internal",
                "Internal error",
            ),
            RateLimited { .. } => (
                StatusCode::TOO_MANY_REQUESTS,
                "rate-limited",
                "Too many requests",
            ),
            IdempotencyInFlight => (
                StatusCode::CONFLICT,
                "idempotency-key-in-use",
                "Request with this idempotency key in progress",
            ),
            Refused {
                status,
                slug,
                title,
                ..
            } => (*status, slug, title),
        }
    }

    fn detail(&self) -> Option<String> {
        match self {
            ApiError::Unauthenticated(reason) => Some(reason.to_string()),
            ApiError::InsufficientScope(scope) => {
                Some(format!("this API key lacks the scope {scope}"))
            }
            ApiError::InsufficientPermission(permission) => Some(format!(
                "your roles do not grant the permission {permission}"
            )),
            // Not the key's networks, nor the address seen: neither helps someone holding a
            // stolen key, and behind a proxy the address would name the proxy.
            ApiError::NetworkNotAllowed => {
                Some("this API key may not be used from this network".to_owned())
            }
            ApiError::Forbidden(why)
            | ApiError::BadRequest(why)
            | ApiError::ClientCertificate(why) => Some((*why).to_owned()),
            ApiError::Refused { detail, .. } | ApiError::RateLimited { detail, .. } => {
                Some(detail.clone())
            }
            ApiError::IdempotencyInFlight => {
                Some("the first request with this key has not finished; retry shortly".to_owned())
            }
            ApiError::UnsupportedMediaType => Some(
                "this route takes a JSON body: send it with Content-Type: application/json"
                    .to_owned(),
            ),
            ApiError::MethodNotAllowed => {
                Some("this route does not take this method; see /openapi.json".to_owned())
            }
            _ => None,
        }
    }

    /// The error a bare status stands for, for responses produced below our handlers (the
    /// router's 404/405, the body limit's 413, the timeout, a caught panic).
    pub fn from_status(status: StatusCode) -> Self {
        match status {
            StatusCode::NOT_FOUND => ApiError::NotFound,
            StatusCode::METHOD_NOT_ALLOWED => ApiError::MethodNotAllowed,
            StatusCode::PAYLOAD_TOO_LARGE => ApiError::PayloadTooLarge,
            StatusCode::UNSUPPORTED_MEDIA_TYPE => ApiError::UnsupportedMediaType,
            StatusCode::REQUEST_TIMEOUT => ApiError::Timeout,
            StatusCode::UNAUTHORIZED => ApiError::Unauthenticated(AuthError::Missing),
            StatusCode::FORBIDDEN => ApiError::Forbidden("forbidden"),
            s if s == StatusCode::SERVICE_UNAVAILABLE => ApiError::Unavailable {
                retry_after_secs: 1,
            },
            s if s.is_client_error() => ApiError::BadRequest("the request could not be understood"),
            _ => ApiError::Internal,
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let (status, slug, title) = self.parts();
        let problem = Problem {
            type_uri: format!("{PROBLEM_BASE}{slug}"),
            title,
            status: status.as_u16(),
            detail: self.detail(),
            errors: match &self {
                ApiError::Validation(errors) => errors.clone(),
                _ => Vec::new(),
            },
        };
        let mut response = (status, Json(problem)).into_response();
        let headers = response.headers_mut();
        headers.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static(PROBLEM_CONTENT_TYPE),
        );
        match self {
            ApiError::Unauthenticated(reason) => {
                let error = match reason {
                    AuthError::Missing => r#"Bearer realm="benteng""#,
                    AuthError::Unavailable => {
                        r#"Bearer realm="benteng", error="temporarily_unavailable""#
                    }
                    _ => r#"Bearer realm="benteng", error="invalid_token""#,
                };
                headers.insert(header::WWW_AUTHENTICATE, HeaderValue::from_static(error));
            }
            // RFC 6750 §3.1: the scope that would have been enough.
            ApiError::InsufficientScope(scope) => {
                let challenge = format!(
                    r#"Bearer realm="benteng", error="insufficient_scope", scope="{scope}""#
                );
                if let Ok(value) = HeaderValue::from_str(&challenge) {
                    headers.insert(header::WWW_AUTHENTICATE, value);
                }
            }
            ApiError::Unavailable { retry_after_secs } => {
                headers.insert(header::RETRY_AFTER, HeaderValue::from(retry_after_secs));
            }
            ApiError::RateLimited {
                retry_after_secs, ..
            } => {
                headers.insert(header::RETRY_AFTER, HeaderValue::from(retry_after_secs));
            }
            ApiError::IdempotencyInFlight => {
                headers.insert(header::RETRY_AFTER, HeaderValue::from(1u32));
                // If a handler produced this, the store found the key taken: the protection
                // layer then answers from the database record instead.
                response
                    .extensions_mut()
                    .insert(crate::protection::idempotency::KeyTaken);
            }
            _ => {}
        }
        response
    }
}

impl From<Vec<benteng_core::strict_json::FieldError>> for ApiError {
    fn from(errors: Vec<benteng_core::strict_json::FieldError>) -> Self {
        ApiError::Validation(
            errors
                .into_iter()
                .map(|e| FieldProblem {
                    field: e.field,
                    code: e.code.to_owned(),
                    message: e.message,
                })
                .collect(),
        )
    }
}

impl ApiError {
    /// One invalid field.
    pub fn invalid(field: &str, code: &str, message: &str) -> Self {
        ApiError::Validation(vec![FieldProblem {
            field: field.to_owned(),
            code: code.to_owned(),
            message: message.to_owned(),
        }])
    }

    pub fn malformed_body(error: &benteng_core::strict_json::BodyError) -> Self {
        match error {
            benteng_core::strict_json::BodyError::TooLarge { .. } => ApiError::PayloadTooLarge,
            other => ApiError::Refused {
                status: StatusCode::BAD_REQUEST,
                slug: "malformed-body",
                title: "Malformed request body",
                detail: format!("{} ({other})", other.code()),
            },
        }
    }
}

impl From<AuthError> for ApiError {
    fn from(error: AuthError) -> Self {
        match error {
            AuthError::TenantSuspended => ApiError::Forbidden("the tenant is suspended"),
            AuthError::ClientCertificateRequired => ApiError::ClientCertificate(
                "this tenant requires one of its registered TLS client certificates",
            ),
            AuthError::ClientCertificateForeign => ApiError::ClientCertificate(
                "the TLS client certificate is registered to another tenant",
            ),
            AuthError::Unavailable => ApiError::Unavailable {
                retry_after_secs: 1,
            },
            AuthError::MissingScope(scope) => ApiError::InsufficientScope(scope),
            AuthError::NetworkNotAllowed => ApiError::NetworkNotAllowed,
            other => ApiError::Unauthenticated(other),
        }
    }
}

/// The one mapping of a payments refusal to HTTP: status and title here, the stable type and
/// the detail from the refusal itself.
impl From<benteng_payments::Refusal> for ApiError {
    fn from(refusal: benteng_payments::Refusal) -> Self {
        use benteng_payments::Refusal as R;
        if let Some(errors) = refusal.field_errors() {
            return ApiError::from(errors);
        }
        let (status, title) = match &refusal {
            R::Invalid(_) | R::AmountMismatch { .. } => {
                (StatusCode::UNPROCESSABLE_ENTITY, "Validation failed")
            }
            R::QuoteNotFound | R::RecipientNotFound | R::TransferNotFound => {
                (StatusCode::NOT_FOUND, "Not found")
            }
            R::QuoteExpired => (StatusCode::UNPROCESSABLE_ENTITY, "Quote expired"),
            R::QuoteUsed => (StatusCode::CONFLICT, "Quote already used"),
            R::RecipientExists(_) => (StatusCode::CONFLICT, "Recipient already exists"),
            R::InsufficientFunds => (StatusCode::UNPROCESSABLE_ENTITY, "Insufficient funds"),
            R::PartnerReferenceUsed => (StatusCode::CONFLICT, "Reference already used"),
            R::DailyVolumeCap { .. } => (
                StatusCode::UNPROCESSABLE_ENTITY,
                "Daily volume cap exceeded",
            ),
            R::KycCeiling { .. } => (
                StatusCode::UNPROCESSABLE_ENTITY,
                "KYC volume limit exceeded",
            ),
            R::NoUsdRate(_) => (StatusCode::UNPROCESSABLE_ENTITY, "Currency not supported"),
            R::NotHeld => (StatusCode::CONFLICT, "Transfer not held for review"),
            R::DamlPending { .. } => (StatusCode::CONFLICT, "Held under a DAML request"),
            R::CaseNotFound => (StatusCode::NOT_FOUND, "Not found"),
            R::CaseNotClosable => (StatusCode::CONFLICT, "Case not closable"),
            R::CaseClosed => (StatusCode::CONFLICT, "Case closed"),
            R::CaseNotReopenable => (StatusCode::CONFLICT, "Case not reopenable"),
            R::Document(refusal) => document_status(refusal),
            R::FourEyesRequired => (StatusCode::FORBIDDEN, "Four eyes required"),
            R::OwnProposal => (StatusCode::FORBIDDEN, "Own proposal"),
            R::ProposalDecided => (StatusCode::CONFLICT, "Proposal already decided"),
            // The protection layer answers from the database record instead.
            R::IdempotencyKeyTaken => return ApiError::IdempotencyInFlight,
            R::Unavailable => {
                return ApiError::Unavailable {
                    retry_after_secs: 1,
                };
            }
        };
        ApiError::Refused {
            status,
            slug: refusal.code(),
            title,
            detail: refusal.detail(),
        }
    }
}

/// The status and title of a refused upload: the same for KYC documents and case attachments.
pub(crate) fn document_status(
    refusal: &benteng_core::documents::DocumentRefusal,
) -> (StatusCode, &'static str) {
    use benteng_core::documents::DocumentRefusal as D;
    match refusal {
        D::UnsupportedType { .. } => (
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "Unsupported document type",
        ),
        D::TooLarge { .. } => (StatusCode::PAYLOAD_TOO_LARGE, "Document too large"),
        D::Empty => (StatusCode::UNPROCESSABLE_ENTITY, "Empty document"),
        D::ContentMismatch { .. } => (
            StatusCode::UNPROCESSABLE_ENTITY,
            "Document content does not match its type",
        ),
    }
}

impl From<benteng_store::StoreError> for ApiError {
    fn from(error: benteng_store::StoreError) -> Self {
        match error {
            benteng_store::StoreError::NotFound => ApiError::NotFound,
            other => {
                tracing::error!(error = %other, "store error");
                ApiError::Unavailable {
                    retry_after_secs: 1,
                }
            }
        }
    }
}

pub type ApiResult<T> = Result<T, ApiError>;
