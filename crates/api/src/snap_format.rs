//! SNAP's answer format, the counterpart of `error.rs` for the SNAP route family (`/v1.0/…`):
//! `{"responseCode","responseMessage"}` with HTTP status + service code + case. The one place
//! that maps a payments refusal to SNAP's code table, and the one conversion of errors produced
//! below the handlers on SNAP paths.

use std::borrow::Cow;

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use benteng_core::audit::AuditContext;
use benteng_payments::Refusal;
use benteng_snap::{ServiceCode, SnapError};

use crate::state::AppState;

pub const TOKEN_PATH: &str = "/v1.0/access-token/b2b";
pub const TRANSFER_PATH: &str = "/v1.0/transfer-interbank";
pub const STATUS_PATH: &str = "/v1.0/transfer/status";
pub const BALANCE_PATH: &str = "/v1.0/balance-inquiry";

/// Every path under this prefix is SNAP's: its answers are in SNAP's format.
pub const SNAP_PREFIX: &str = "/v1.0/";

/// The SNAP service code of a path, or `None` when the path is not SNAP's. Unknown paths under
/// `/v1.0/` are SNAP's too (service code 00), so even their 404 is in SNAP's format.
pub fn service_for_path(path: &str) -> Option<ServiceCode> {
    match path {
        TOKEN_PATH => Some(ServiceCode::B2B_TOKEN),
        TRANSFER_PATH => Some(ServiceCode::TRANSFER_INTERBANK),
        STATUS_PATH => Some(ServiceCode::TRANSFER_STATUS_INQUIRY),
        BALANCE_PATH => Some(ServiceCode::BALANCE_INQUIRY),
        _ if path.starts_with(SNAP_PREFIX) => ServiceCode::new(0),
        _ => None,
    }
}

/// Marks a response as already in SNAP's format, so the error fallback leaves it alone.
#[derive(Debug, Clone, Copy)]
pub struct SnapRendered;

pub fn json_response(status: StatusCode, body: String) -> Response {
    let mut response = (
        status,
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        )],
        body,
    )
        .into_response();
    response.extensions_mut().insert(SnapRendered);
    response
}

/// A SNAP error answer: HTTP status and `{"responseCode","responseMessage"}`.
pub fn error_response(error: &SnapError, service: ServiceCode) -> Response {
    if error.http_status >= 500 {
        tracing::error!(code = %error.code(service), detail = error.detail, "SNAP request failed");
    } else {
        tracing::info!(code = %error.code(service), detail = error.detail, "SNAP request refused");
    }
    let status =
        StatusCode::from_u16(error.http_status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let mut response = json_response(status, error.body(service));
    if status == StatusCode::UNAUTHORIZED {
        response.headers_mut().insert(
            header::WWW_AUTHENTICATE,
            HeaderValue::from_static("Bearer realm=\"snap\""),
        );
    }
    if status == StatusCode::SERVICE_UNAVAILABLE {
        // The shared state is down: the same answer as the protection layer's.
        response
            .headers_mut()
            .insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
    }
    response
}

/// The one conversion of errors produced below the handlers (404, 405, 413, timeout, panic) on
/// SNAP paths: same status, SNAP's body. Answers already in SNAP's format pass unchanged.
pub fn ensure_snap_format(response: Response, service: ServiceCode) -> Response {
    let status = response.status();
    if !(status.is_client_error() || status.is_server_error())
        || response.extensions().get::<SnapRendered>().is_some()
    {
        return response;
    }
    let error = match status {
        StatusCode::REQUEST_TIMEOUT | StatusCode::GATEWAY_TIMEOUT => SnapError::timeout(),
        StatusCode::UNAUTHORIZED => SnapError::token_not_found(),
        StatusCode::INTERNAL_SERVER_ERROR => SnapError::internal_server_error(),
        other => custom(
            other.as_u16(),
            0,
            other.canonical_reason().unwrap_or("Error"),
        ),
    };
    let mut replaced = error_response(&error, service);
    // The original's `Allow` (405) and `Retry-After` (503) stay.
    for name in [header::ALLOW, header::RETRY_AFTER] {
        if let Some(value) = response.headers().get(&name) {
            replaced.headers_mut().insert(name, value.clone());
        }
    }
    replaced
}

pub fn custom(http_status: u16, case: u8, message: impl Into<Cow<'static, str>>) -> SnapError {
    SnapError {
        http_status,
        case,
        message: message.into(),
        detail: "",
    }
}

/// The audit record of a refused SNAP authentication.
pub async fn audit_refusal(state: &AppState, context: &AuditContext, error: &SnapError) {
    metrics::counter!("auth_failures_total", "reason" => "snap").increment(1);
    tracing::warn!(target: "security", status = error.http_status, case = error.case, detail = error.detail, "SNAP authentication refused");
    let event = benteng_core::audit::AuditEvent::new(
        context,
        "auth.failed",
        benteng_core::audit::Retention::Access,
        ("credential", "snap".to_owned()),
    )
    .change(
        "reason",
        serde_json::Value::Null,
        format!("{}xx{:02} {}", error.http_status, error.case, error.detail).into(),
    );
    if let Err(store_error) = state.store.audit(&event).await {
        tracing::error!(error = %store_error, "could not record a refused SNAP authentication");
    }
}

/// SNAP's answer to a payments refusal. Compliance never shows here: a held transfer is
/// accepted (in progress), like any other.
pub fn refusal(refusal: &Refusal) -> SnapError {
    match refusal {
        Refusal::Invalid(_) | Refusal::AmountMismatch { .. } => {
            SnapError::invalid_field_format("amount")
        }
        Refusal::QuoteNotFound | Refusal::TransferNotFound => transaction_not_found(),
        Refusal::RecipientNotFound => custom(404, 11, "Invalid Account"),
        Refusal::QuoteExpired => custom(403, 0, "Transaction Expired"),
        Refusal::QuoteUsed => custom(403, 15, "Transaction Not Permitted. [Quote used]"),
        Refusal::RecipientExists(_) | Refusal::IdempotencyKeyTaken => SnapError::conflict(),
        Refusal::InsufficientFunds => custom(403, 14, "Insufficient Funds"),
        Refusal::PartnerReferenceUsed => SnapError::duplicate_partner_reference_no(),
        Refusal::DailyVolumeCap { .. } => custom(403, 2, "Exceeds Transaction Amount Limit"),
        // The partner's KYC level does not allow this much: not permitted until it is raised.
        Refusal::KycCeiling { .. } => custom(403, 15, "Transaction Not Permitted"),
        Refusal::NoUsdRate(_) => custom(403, 15, "Transaction Not Permitted"),
        // Not a partner's action; answered as SNAP's conflict should it ever reach SNAP.
        Refusal::NotHeld
        | Refusal::DamlPending { .. }
        | Refusal::ProposalDecided
        | Refusal::CaseNotClosable
        | Refusal::CaseClosed
        | Refusal::CaseNotReopenable
        | Refusal::Document(_) => custom(409, 0, "Conflict"),
        Refusal::CaseNotFound => transaction_not_found(),
        Refusal::OwnProposal | Refusal::FourEyesRequired => {
            custom(403, 15, "Transaction Not Permitted")
        }
        Refusal::Unavailable => SnapError::general_error().with_detail("unavailable"),
    }
}

/// `404xx01 Transaction Not Found`.
pub fn transaction_not_found() -> SnapError {
    custom(404, 1, "Transaction Not Found")
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every refusal has its own answer on both channels; the quote's two refusals have SNAP
    /// codes of their own, not "general error".
    #[test]
    fn every_refusal_maps_to_a_problem_and_a_snap_code() {
        let service = ServiceCode::TRANSFER_INTERBANK;
        let general = SnapError::general_error().code(service).to_string();
        for example in Refusal::examples() {
            let snap = refusal(&example).code(service).to_string();
            let problem = crate::error::ApiError::from(example.clone()).into_response();
            match example {
                Refusal::Unavailable => {
                    assert_eq!(snap, general);
                    assert_eq!(problem.status(), StatusCode::SERVICE_UNAVAILABLE);
                }
                _ => {
                    assert_ne!(snap, general, "{example:?} is a general error on SNAP");
                    assert!(
                        problem.status().is_client_error(),
                        "{example:?} answers {} on /v1",
                        problem.status()
                    );
                }
            }
        }
        let expired = refusal(&Refusal::QuoteExpired).code(service).to_string();
        let used = refusal(&Refusal::QuoteUsed).code(service).to_string();
        assert_eq!(expired, "4031800");
        assert_eq!(used, "4031815");
    }
}
