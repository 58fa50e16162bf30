//! Transfers and batches of transfers: parsed here into the payments layer's commands, whose
//! outcomes are rendered here.

use axum::Json;
use axum::extract::{Path, RawQuery, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::{get, post};
use benteng_core::api_key::KeyEnvironment;
use benteng_core::currency::Currency;
use benteng_core::ids::{BatchId, TransferId};
use benteng_core::money::PositiveAmount;
use benteng_core::payments::transfer::TransferStatus;
use benteng_core::strict_json::{FieldError, Fields, JsonObject, JsonValue};
use benteng_core::text::{Reference, Uuid4};
use benteng_payments::Outcome;
use benteng_payments::Refusal;
use benteng_payments::outcome::BatchOutcome;
use benteng_payments::transfers::{Dedup, TransferOrder};
use benteng_store::{BatchItemRow, TransferEvent, TransferRecord};
use serde::Serialize;
use time::OffsetDateTime;

use benteng_core::scopes::Scope;

use super::paging::{PageQuery, PageView};
use super::quotes::MoneyView;
use super::{Needs, Routes};
use crate::error::{ApiError, ApiResult, FieldProblem};
use crate::json::JsonBody;
use crate::middleware::{Audit, Caller, scope_of};
use crate::protection::idempotency::{Idempotency, StoredResponse, recorded, stored_json};
use crate::state::AppState;

pub(super) fn routes(routes: Routes) -> Routes {
    routes
        .tenant(
            "/v1/transfers",
            Needs::on_get(Scope::TransfersRead).and_post(Scope::TransfersWrite),
            get(list).post(create),
        )
        .tenant(
            "/v1/transfers/{id}",
            Needs::on_get(Scope::TransfersRead),
            get(show),
        )
        .tenant(
            "/v1/batches",
            Needs::on_post(Scope::TransfersWrite),
            post(create_batch),
        )
        .tenant(
            "/v1/batches/{id}",
            Needs::on_get(Scope::TransfersRead),
            get(show_batch),
        )
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
    /// False for a transfer of the test environment (made with an `sk_test_` key).
    livemode: bool,
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
            livemode: record.environment == KeyEnvironment::Live,
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
#[utoipa::path(post, path = "/v1/transfers", tag = "payments", security(("api_key" = ["transfers:write"])),
    request_body(content = TransferRequest),
    responses((status = 201, body = TransferView), (status = 404, body = crate::error::Problem),
        (status = 409, body = crate::error::Problem), (status = 422, body = crate::error::Problem)))]
pub async fn create(
    State(state): State<AppState>,
    Caller(caller): Caller,
    Idempotency(idempotency): Idempotency,
    Audit(audit): Audit,
    JsonBody(body): JsonBody,
) -> ApiResult<Response> {
    let order = parse_order(&body).map_err(ApiError::from)?;
    let dedup = Dedup {
        key: idempotency.as_ref(),
        partner_reference: None,
    };
    let record = state
        .payments
        .initiate(scope_of(&caller), &order, dedup, &audit)
        .await?;
    Ok(recorded(first_response(&Outcome::Transfer(Box::new(
        record,
    )))))
}

/// The answer to a command's outcome as its caller first gets it; a retry with the same
/// idempotency key gets the same (the outcome is kept with the key).
pub fn first_response(outcome: &Outcome) -> StoredResponse {
    match outcome {
        Outcome::Transfer(record) => stored_json(
            StatusCode::CREATED,
            Some(format!("/v1/transfers/{}", record.id)),
            &TransferView::new(record, None),
        ),
        Outcome::Batch(batch) => stored_json(
            StatusCode::CREATED,
            Some(format!("/v1/batches/{}", batch.id)),
            &batch_view(batch.id, batch.created_at, &batch.items),
        ),
    }
}

/// The body of `POST /v1/transfers` (and each item of a batch) as `parse_order` reads it:
/// the description of the request, never deserialized (a unit test in `docs.rs` checks its
/// fields against [`TRANSFER_FIELDS`]).
#[derive(serde::Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
#[allow(dead_code)]
#[schema(example = json!({"quote_id": "0b0e4c4e-6f0a-4c39-9d8e-2f4b7a1c9e55",
    "recipient_id": "5f1d7a52-3c8e-4b1a-9f0e-2d6c8b4a7e13", "amount": "1500000.00",
    "currency": "IDR", "reference": "INV-2026-0042"}))]
pub struct TransferRequest {
    /// A quote of the caller's that has not expired and was not used.
    #[schema(format = Uuid)]
    quote_id: String,
    /// A recipient of the caller's.
    #[schema(format = Uuid)]
    recipient_id: String,
    /// The quote's fixed amount, a positive decimal string with at most the currency's decimals.
    #[schema(pattern = "^[0-9]+(\\.[0-9]+)?$", example = "1500000.00")]
    amount: String,
    /// ISO 4217: the currency of the quote's fixed side.
    #[schema(pattern = "^[A-Z]{3}$", example = "IDR")]
    currency: String,
    /// At most 140 printable ASCII characters.
    #[schema(max_length = 140, pattern = "^[ -~]*$")]
    reference: Option<String>,
}

/// The body of `POST /v1/batches`.
#[derive(serde::Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
#[allow(dead_code)]
pub struct BatchRequest {
    /// 1 to 1,000 transfers; each is validated on its own and reported in the answer.
    #[schema(min_items = 1, max_items = 1000)]
    transfers: Vec<TransferRequest>,
}

pub(super) const TRANSFER_FIELDS: [&str; 5] = [
    "quote_id",
    "recipient_id",
    "amount",
    "currency",
    "reference",
];

/// The spec's `TransferRequest` as a command; every invalid field is reported.
fn parse_order(object: &JsonObject) -> Result<TransferOrder, Vec<FieldError>> {
    let mut f = Fields::new(object, &TRANSFER_FIELDS);
    let quote_id: Option<Uuid4> = f.required("quote_id");
    let recipient_id: Option<Uuid4> = f.required("recipient_id");
    let amount: Option<PositiveAmount> = f.required("amount");
    let currency: Option<Currency> = f.required("currency");
    let reference: Option<Reference> = f.optional("reference");
    let money = match (amount, currency) {
        (Some(amount), Some(currency)) => match amount.to_money(currency) {
            Ok(money) => Some(money),
            Err(_) => {
                f.reject(
                    "amount",
                    "invalid_precision",
                    "has more decimals than the currency allows",
                );
                None
            }
        },
        _ => None,
    };
    let reference = match reference {
        Some(reference) => Some(reference),
        None => Reference::parse("").ok(),
    };
    f.build(|| {
        Some(TransferOrder {
            quote: quote_id?.as_uuid().into(),
            recipient: recipient_id?.as_uuid().into(),
            amount: money?,
            reference: reference?,
        })
    })
}

/// One transfer of the caller's, with its status history.
#[utoipa::path(get, path = "/v1/transfers/{id}", tag = "payments", security(("api_key" = ["transfers:read"])),
    params(("id" = String, Path)),
    responses((status = 200, body = TransferView), (status = 404, body = crate::error::Problem)))]
pub async fn show(
    State(state): State<AppState>,
    Caller(caller): Caller,
    Path(id): Path<String>,
) -> ApiResult<Json<TransferView>> {
    let id: TransferId = id.parse().map_err(|_| ApiError::NotFound)?;
    let record = state
        .store
        .transfer(caller.tenant.id, caller.environment(), id)
        .await?;
    let history = state.store.transfer_events(id).await?;
    Ok(Json(TransferView::new(&record, Some(&history))))
}

/// The caller's transfers, newest first, optionally of one `status`.
#[utoipa::path(get, path = "/v1/transfers", tag = "payments", security(("api_key" = ["transfers:read"])),
    params(("status" = Option<String>, Query), ("limit" = Option<u32>, Query), ("cursor" = Option<String>, Query)),
    responses((status = 200, body = PageView<TransferView>)))]
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
        .transfers(
            caller.tenant.id,
            caller.environment(),
            status,
            page.cursor,
            page.limit,
        )
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

fn batch_view(id: BatchId, created_at: OffsetDateTime, items: &[BatchItemRow]) -> BatchView {
    let items: Vec<BatchItemView> = items
        .iter()
        .enumerate()
        .map(|(index, item)| BatchItemView {
            index,
            status: if item.transfer.is_some() {
                "accepted"
            } else {
                "rejected"
            },
            transfer_id: item.transfer.map(|t| t.to_string()),
            errors: item
                .errors
                .as_deref()
                .and_then(|e| serde_json::from_str(e).ok()),
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

/// Up to 1,000 transfers in one request. Each item is validated on its own and runs through
/// the same command as a single transfer; every accepted item is created in one database
/// transaction with the batch and its idempotency record, so a retried batch can never create
/// a second set of transfers. The answer lists every item's outcome.
#[utoipa::path(post, path = "/v1/batches", tag = "payments", security(("api_key" = ["transfers:write"])),
    request_body(content = BatchRequest),
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
    let orders = items
        .iter()
        .map(|item| match item {
            JsonValue::Object(object) => parse_order(object).map_err(Refusal::Invalid),
            _ => Err(Refusal::invalid("", "invalid_type", "must be an object")),
        })
        .collect();
    let batch: BatchOutcome = state
        .payments
        .initiate_batch(scope_of(&caller), orders, idempotency.as_ref(), &audit)
        .await?;
    Ok(recorded(first_response(&Outcome::Batch(batch))))
}

/// A batch of the caller's and its items' outcomes.
#[utoipa::path(get, path = "/v1/batches/{id}", tag = "payments", security(("api_key" = ["transfers:read"])),
    params(("id" = String, Path)),
    responses((status = 200, body = BatchView), (status = 404, body = crate::error::Problem)))]
pub async fn show_batch(
    State(state): State<AppState>,
    Caller(caller): Caller,
    Path(id): Path<String>,
) -> ApiResult<Json<BatchView>> {
    let id: BatchId = id.parse().map_err(|_| ApiError::NotFound)?;
    let (created_at, items) = state
        .store
        .batch(caller.tenant.id, caller.environment(), id)
        .await?;
    Ok(Json(batch_view(id, created_at, &items)))
}
