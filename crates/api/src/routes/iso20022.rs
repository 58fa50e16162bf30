//! ISO 20022 status reports POSTed by a counterparty over mTLS (`docs/iso20022.md`): the route
//! is mounted with `Routes::counterparty`, so only a client presenting the TLS client
//! certificate a counterparty registered reaches the handler, and the report must also be
//! signed (XMLDSig) by that same counterparty. The handler only translates: verification and
//! the transfer moves are `Iso20022::ingest`'s, the one path every status report takes.

use axum::Json;
use axum::extract::{Request, State};
use axum::http::{StatusCode, header};
use axum::response::IntoResponse;
use axum::routing::post;
use benteng_rails::iso20022::Iso20022Error;

use super::Routes;
use crate::error::{ApiError, ApiResult};
use crate::middleware::{Counterparty, audit_context};
use crate::state::AppState;

pub const STATUS_REPORTS_PATH: &str = "/iso20022/status-reports";

pub(super) fn routes(routes: Routes) -> Routes {
    routes.counterparty(STATUS_REPORTS_PATH, post(status_report))
}

fn is_xml(request: &Request) -> bool {
    request
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .is_some_and(|essence| {
            let essence = essence.trim();
            essence.eq_ignore_ascii_case("application/xml")
                || essence.eq_ignore_ascii_case("text/xml")
        })
}

/// `POST /iso20022/status-reports`: one signed pacs.002 or pacs.004 (`application/xml`). 200 with what
/// happened to each transaction (a report already ingested answers 200 and does nothing);
/// 422 `status-report-refused` naming the failed check (nothing moved, a security event
/// recorded).
#[utoipa::path(post, path = "/iso20022/status-reports", tag = "payments",
    description = "A counterparty's signed ISO 20022 pacs.002 or pacs.004 (application/xml), \
        over mTLS with the TLS client certificate it registered.",
    request_body(content = String, content_type = "application/xml"),
    responses((status = 200, body = Object), (status = 401, body = crate::error::Problem),
        (status = 403, body = crate::error::Problem), (status = 422, body = crate::error::Problem)))]
pub async fn status_report(
    State(state): State<AppState>,
    request: Request,
) -> ApiResult<impl IntoResponse> {
    let Some(iso) = state.iso20022.clone() else {
        return Err(ApiError::NotFound);
    };
    if !is_xml(&request) {
        return Err(ApiError::UnsupportedMediaType);
    }
    let (parts, body) = request.into_parts();
    let sender = parts
        .extensions
        .get::<Counterparty>()
        .map(|c| c.0.clone())
        .ok_or(ApiError::Forbidden("no counterparty"))?;
    let mut context = audit_context(&parts);
    context.actor = format!("counterparty:{sender}");
    let bytes = axum::body::to_bytes(body, iso.max_message_bytes)
        .await
        .map_err(|_| ApiError::PayloadTooLarge)?;
    match iso
        .ingest(&state.payments, &bytes, &context, Some(&sender))
        .await
    {
        Ok(lines) => Ok((
            StatusCode::OK,
            Json(serde_json::json!({ "counterparty": sender, "results": lines })),
        )),
        Err(Iso20022Error::Refused(reason)) => Err(ApiError::Refused {
            status: StatusCode::UNPROCESSABLE_ENTITY,
            slug: "status-report-refused",
            title: "Status report refused",
            detail: reason,
        }),
        Err(Iso20022Error::Unavailable(reason)) => {
            tracing::warn!(%reason, "ingesting a status report");
            Err(ApiError::Unavailable {
                retry_after_secs: 5,
            })
        }
        Err(Iso20022Error::Store(error)) => {
            tracing::error!(%error, "ingesting a status report");
            Err(ApiError::Internal)
        }
    }
}
