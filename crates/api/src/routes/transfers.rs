//! Transfers and batches of transfers.

use axum::Json;
use axum::extract::{Path, RawQuery, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::{get, post};
use benteng_core::ids::{BatchId, TransferId};
use benteng_core::payments::transfer::TransferStatus;
use benteng_core::strict_json::JsonValue;
use benteng_store::{BatchItem, NewBatch, ProtectedRefusal, TransferEvent, TransferRecord};
use serde::Serialize;
use time::OffsetDateTime;

use super::Routes;
use super::paging::{PageQuery, PageView};
use super::quotes::MoneyView;
use crate::error::{ApiError, ApiResult, FieldProblem};
use crate::json::JsonBody;
use crate::middleware::{Audit, Caller};
use crate::payments::{Dedup, TransferRequest, initiate, prepare, protected_refusal_error};
use crate::protection::idempotency::{Idempotency, recorded, stored_json};
use crate::state::AppState;

/// Most transfers one batch may carry.
pub const MAX_BATCH_ITEMS: usize = 1000;

pub(super) fn routes(routes: Routes) -> Routes {
    routes
        .tenant("/v1/transfers", get(list).post(create))
        .tenant("/v1/transfers/{id}", get(show))
        .tenant("/v1/batches", post(create_batch))
        .tenant("/v1/batches/{id}", get(show_batch))
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct TransferEventView {
    #[serde(skip_serializing_if = "Option::is_none")]
    from: Option<&'static str>,
    to: &'static str,
    cause: String,
    #[serde(with = "time::serde::rfc3339")]
    at: OffsetDateTime,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct TransferView {
    id: String,
    /// INITIATED, SCREENING, APPROVED, PENDING_REVIEW, BLOCKED, SUBMITTED, COMPLETED, FAILED or RETURNED.
    status: &'static str,
    quote_id: String,
    recipient_id: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    batch_id: Option<String>,
    source: MoneyView,
    target: MoneyView,
    fee: MoneyView,
    reference: String,
    #[serde(with = "time::serde::rfc3339")]
    created_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    updated_at: OffsetDateTime,
    #[serde(skip_serializing_if = "Option::is_none")]
    history: Option<Vec<TransferEventView>>,
}

impl TransferView {
    pub fn new(record: &TransferRecord, history: Option<&[TransferEvent]>) -> Self {
        Self {
            id: record.id.to_string(),
            status: record.status.as_str(),
            quote_id: record.quote_id.to_string(),
            recipient_id: record.recipient_id.to_string(),
            batch_id: record.batch_id.map(|b| b.to_string()),
            source: record.source.into(),
            target: record.target.into(),
            fee: record.fee.into(),
            reference: record.reference.clone(),
            created_at: record.created_at,
            updated_at: record.updated_at,
            history: history.map(|events| {
                events
                    .iter()
                    .map(|e| TransferEventView {
                        from: e.from.map(|s| s.as_str()),
                        to: e.to.as_str(),
                        cause: e.cause.clone(),
                        at: e.at,
                    })
                    .collect()
            }),
        }
    }
}

/// Pay a recipient at a quote.
#[utoipa::path(post, path = "/v1/transfers", tag = "payments", security(("api_key" = [])),
    request_body(content = Object, description = "quote_id, recipient_id (UUID v4), amount (decimal string), currency (ISO 4217), reference (≤ 140 printable ASCII)"),
    responses((status = 201, body = TransferView), (status = 404, body = crate::error::Problem),
        (status = 409, body = crate::error::Problem), (status = 422, body = crate::error::Problem)))]
pub async fn create(
    State(state): State<AppState>,
    Caller(caller): Caller,
    Idempotency(idempotency): Idempotency,
    Audit(audit): Audit,
    JsonBody(body): JsonBody,
) -> ApiResult<Response> {
    let request = TransferRequest::parse(&body)?;
    // The response is rendered inside the transaction and stored with the idempotency
    // record, so a replay is byte for byte what this caller gets.
    let (_, stored) = initiate(
        &state,
        &caller.tenant,
        &request,
        Dedup {
            idempotency: idempotency.as_ref(),
            partner_reference: None,
        },
        &audit,
        |record| {
            stored_json(
                StatusCode::CREATED,
                Some(format!("/v1/transfers/{}", record.id)),
                &TransferView::new(record, None),
            )
        },
    )
    .await?;
    Ok(recorded(stored))
}

/// One transfer of the caller's, with its status history.
#[utoipa::path(get, path = "/v1/transfers/{id}", tag = "payments", security(("api_key" = [])),
    params(("id" = String, Path)),
    responses((status = 200, body = TransferView), (status = 404, body = crate::error::Problem)))]
pub async fn show(
    State(state): State<AppState>,
    Caller(caller): Caller,
    Path(id): Path<String>,
) -> ApiResult<Json<TransferView>> {
    let id: TransferId = id.parse().map_err(|_| ApiError::NotFound)?;
    let record = state.store.transfer(caller.tenant.id, id).await?;
    let history = state.store.transfer_events(id).await?;
    Ok(Json(TransferView::new(&record, Some(&history))))
}

/// The caller's transfers, newest first, optionally of one `status`.
#[utoipa::path(get, path = "/v1/transfers", tag = "payments", security(("api_key" = [])),
    params(("status" = Option<String>, Query), ("limit" = Option<u32>, Query), ("cursor" = Option<String>, Query)),
    responses((status = 200, body = Object)))]
pub async fn list(
    State(state): State<AppState>,
    Caller(caller): Caller,
    RawQuery(query): RawQuery,
) -> ApiResult<Json<PageView<TransferView>>> {
    let page = PageQuery::parse(query.as_deref(), &["status"])?;
    let status = page
        .params
        .get("status")
        .map(|s| {
            s.parse::<TransferStatus>().map_err(|_| {
                ApiError::invalid("status", "unknown_value", "is not a transfer status")
            })
        })
        .transpose()?;
    let result = state
        .store
        .transfers(caller.tenant.id, status, page.cursor, page.limit)
        .await?;
    Ok(Json(PageView::new(
        result
            .items
            .iter()
            .map(|t| TransferView::new(t, None))
            .collect(),
        result.next,
    )))
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct BatchItemView {
    index: usize,
    /// `accepted` (a transfer was created) or `rejected` (see `errors`).
    status: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    transfer_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Object>)]
    errors: Option<serde_json::Value>,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct BatchView {
    id: String,
    accepted: usize,
    rejected: usize,
    #[serde(with = "time::serde::rfc3339")]
    created_at: OffsetDateTime,
    items: Vec<BatchItemView>,
}

fn batch_view(
    id: BatchId,
    created_at: OffsetDateTime,
    items: &[(Option<TransferId>, Option<String>)],
) -> BatchView {
    let items: Vec<BatchItemView> = items
        .iter()
        .enumerate()
        .map(|(index, (transfer, errors))| BatchItemView {
            index,
            status: if transfer.is_some() {
                "accepted"
            } else {
                "rejected"
            },
            transfer_id: transfer.map(|t| t.to_string()),
            errors: errors.as_deref().and_then(|e| serde_json::from_str(e).ok()),
        })
        .collect();
    let accepted = items.iter().filter(|i| i.transfer_id.is_some()).count();
    BatchView {
        id: id.to_string(),
        accepted,
        rejected: items.len() - accepted,
        created_at,
        items,
    }
}

/// The problem of one rejected batch item, as stored and shown.
fn item_errors(error: &ApiError) -> String {
    let value = match error {
        ApiError::Validation(problems) => {
            serde_json::json!({ "type": "validation-failed", "errors": problems })
        }
        ApiError::Refused { slug, detail, .. } => {
            serde_json::json!({ "type": slug, "detail": detail })
        }
        other => serde_json::json!({ "type": "refused", "detail": other.to_string() }),
    };
    value.to_string()
}

/// Up to 1,000 transfers in one request. Each item is validated on its own; every accepted item
/// is created in one database transaction with the batch and its idempotency record, so a
/// retried batch can never create a second set of transfers. The answer lists every item's
/// outcome.
#[utoipa::path(post, path = "/v1/batches", tag = "payments", security(("api_key" = [])),
    request_body(content = Object, description = "{\"transfers\": [TransferRequest, …]} with 1 to 1000 items"),
    responses((status = 201, body = BatchView), (status = 422, body = crate::error::Problem)))]
pub async fn create_batch(
    State(state): State<AppState>,
    Caller(caller): Caller,
    Idempotency(idempotency): Idempotency,
    Audit(audit): Audit,
    JsonBody(body): JsonBody,
) -> ApiResult<Response> {
    let unknown: Vec<FieldProblem> = body
        .keys()
        .filter(|k| *k != "transfers")
        .map(|_| FieldProblem {
            field: "?".to_owned(),
            code: "unknown_field".to_owned(),
            message: "only `transfers` is allowed".to_owned(),
        })
        .collect();
    if !unknown.is_empty() {
        return Err(ApiError::Validation(unknown));
    }
    let Some(JsonValue::Array(items)) = body.get("transfers") else {
        return Err(ApiError::invalid(
            "transfers",
            "required",
            "must be an array of transfers",
        ));
    };
    if items.is_empty() || items.len() > MAX_BATCH_ITEMS {
        return Err(ApiError::invalid(
            "transfers",
            "invalid_length",
            "must hold 1 to 1000 transfers",
        ));
    }
    let id = BatchId::new();
    let mut prepared = Vec::with_capacity(items.len());
    for item in items {
        let outcome = match item {
            JsonValue::Object(object) => match TransferRequest::parse(object) {
                Ok(request) => prepare(&state, &caller.tenant, &request, Some(id), &audit).await,
                Err(errors) => Err(ApiError::from(errors)),
            },
            _ => Err(ApiError::invalid("", "invalid_type", "must be an object")),
        };
        match outcome {
            Ok((new, volume)) => prepared.push(BatchItem::Ready(Box::new(new), volume)),
            Err(ApiError::Unavailable { retry_after_secs }) => {
                // The store is failing: stop rather than reject the rest for no fault of theirs.
                return Err(ApiError::Unavailable { retry_after_secs });
            }
            Err(error) => prepared.push(BatchItem::Rejected(item_errors(&error))),
        }
    }
    let now = benteng_core::now();
    let tenant = caller.tenant.clone();
    let (_, stored) = state
        .store
        .create_batch_protected(
            &NewBatch {
                id,
                tenant: caller.tenant.id,
                items: &prepared,
                now,
                context: &audit,
            },
            idempotency.as_ref(),
            |refusal| item_errors(&protected_refusal_error(&tenant, clone_refusal(refusal))),
            |outcomes| {
                stored_json(
                    StatusCode::CREATED,
                    Some(format!("/v1/batches/{id}")),
                    &batch_view(id, now, outcomes),
                )
            },
        )
        .await
        .map_err(|refusal| protected_refusal_error(&caller.tenant, refusal))?;
    Ok(recorded(stored))
}

/// A copy of an item's refusal for describing it (store failures never reach here: they abort
/// the whole batch).
fn clone_refusal(refusal: &ProtectedRefusal) -> ProtectedRefusal {
    use benteng_store::TransferRefusal as R;
    match refusal {
        ProtectedRefusal::Transfer(R::QuoteNotFound) => R::QuoteNotFound.into(),
        ProtectedRefusal::Transfer(R::RecipientNotFound) => R::RecipientNotFound.into(),
        ProtectedRefusal::Transfer(R::QuoteExpired) => R::QuoteExpired.into(),
        ProtectedRefusal::Transfer(R::QuoteUsed) => R::QuoteUsed.into(),
        ProtectedRefusal::Transfer(R::AmountMismatch(side)) => R::AmountMismatch(side).into(),
        ProtectedRefusal::Transfer(R::InsufficientFunds) => R::InsufficientFunds.into(),
        ProtectedRefusal::Transfer(R::PartnerReferenceUsed) => R::PartnerReferenceUsed.into(),
        ProtectedRefusal::Transfer(R::Store(_)) | ProtectedRefusal::KeyTaken => {
            R::Store(benteng_store::StoreError::Conflict).into()
        }
        ProtectedRefusal::VolumeCap {
            used_cents,
            cap_cents,
        } => ProtectedRefusal::VolumeCap {
            used_cents: *used_cents,
            cap_cents: *cap_cents,
        },
    }
}

/// A batch of the caller's and its items' outcomes.
#[utoipa::path(get, path = "/v1/batches/{id}", tag = "payments", security(("api_key" = [])),
    params(("id" = String, Path)),
    responses((status = 200, body = BatchView), (status = 404, body = crate::error::Problem)))]
pub async fn show_batch(
    State(state): State<AppState>,
    Caller(caller): Caller,
    Path(id): Path<String>,
) -> ApiResult<Json<BatchView>> {
    let id: BatchId = id.parse().map_err(|_| ApiError::NotFound)?;
    let (created_at, items) = state.store.batch(caller.tenant.id, id).await?;
    Ok(Json(batch_view(id, created_at, &items)))
}
