//! Initiating a transfer: the one path every channel uses (`/v1/transfers`, each batch item,
//! and SNAP later), so validation, the compliance step, the ledger reservation and the
//! protection (idempotency record, volume cap) cannot differ between them. Batches call
//! `prepare` per item and create all items in one transaction.

use axum::http::StatusCode;
use benteng_core::currency::Currency;
use benteng_core::ids::{BatchId, TransferId};
use benteng_core::money::PositiveAmount;
use benteng_core::payments::compliance::TransferSubject;
use benteng_core::payments::recipient::RecipientKind;
use benteng_core::strict_json::{FieldError, Fields, JsonObject};
use benteng_core::tenant::Tenant;
use benteng_core::text::{Reference, Uuid4};
use benteng_store::{
    NewIdempotency, NewTransfer, PartnerReference, ProtectedRefusal, StoreError, StoredResponse,
    TransferRecord, TransferRefusal, VolumeCharge,
};

use crate::error::{ApiError, FieldProblem};
use crate::state::AppState;

/// The spec's `TransferRequest`, validated.
#[derive(Debug, Clone)]
pub struct TransferRequest {
    pub quote_id: Uuid4,
    pub recipient_id: Uuid4,
    pub amount: PositiveAmount,
    pub currency: Currency,
    pub reference: Reference,
}

pub const TRANSFER_FIELDS: [&str; 5] = [
    "quote_id",
    "recipient_id",
    "amount",
    "currency",
    "reference",
];

impl TransferRequest {
    /// Reads one request object; every invalid field is reported.
    pub fn parse(object: &JsonObject) -> Result<Self, Vec<FieldError>> {
        let mut f = Fields::new(object, &TRANSFER_FIELDS);
        let quote_id: Option<Uuid4> = f.required("quote_id");
        let recipient_id: Option<Uuid4> = f.required("recipient_id");
        let amount: Option<PositiveAmount> = f.required("amount");
        let currency: Option<Currency> = f.required("currency");
        let reference: Option<Reference> = f.optional("reference");
        if let (Some(amount), Some(currency)) = (amount, currency)
            && amount.to_money(currency).is_err()
        {
            f.reject(
                "amount",
                "invalid_precision",
                "has more decimals than the currency allows",
            );
        }
        let reference = match reference {
            Some(reference) => Some(reference),
            None => Reference::parse("").ok(),
        };
        f.build(|| {
            Some(TransferRequest {
                quote_id: quote_id?,
                recipient_id: recipient_id?,
                amount: amount?,
                currency: currency?,
                reference: reference?,
            })
        })
    }
}

fn refused(status: StatusCode, slug: &'static str, title: &'static str, detail: &str) -> ApiError {
    ApiError::Refused {
        status,
        slug,
        title,
        detail: detail.to_owned(),
    }
}

/// Everything before the write: the quote and recipient, the stated amount, the compliance
/// decision, the volume-cap charge. Nothing is written.
pub async fn prepare(
    state: &AppState,
    tenant: &Tenant,
    request: &TransferRequest,
    batch: Option<BatchId>,
    audit: &benteng_core::audit::AuditContext,
) -> Result<(NewTransfer, Option<VolumeCharge>), ApiError> {
    let quote_id = request.quote_id.as_uuid().into();
    let recipient_id = request.recipient_id.as_uuid().into();
    let not_found = |what: &str| refused(StatusCode::NOT_FOUND, "not-found", "Not found", what);
    let quote = match state.store.quote(tenant.id, quote_id).await {
        Err(StoreError::NotFound) => return Err(not_found("quote not found")),
        other => other?,
    };
    let recipient = match state.store.recipient(tenant.id, recipient_id).await {
        Err(StoreError::NotFound) => return Err(not_found("recipient not found")),
        other => other?,
    };
    let stated = request.amount.to_money(request.currency).map_err(|_| {
        ApiError::invalid(
            "amount",
            "invalid_precision",
            "has more decimals than the currency allows",
        )
    })?;
    let decision = state.payments.compliance.assess(&TransferSubject {
        tenant,
        recipient_id: recipient.id,
        recipient_name: recipient.name.as_str(),
        recipient_country: recipient.country,
        recipient_is_individual: recipient.kind == RecipientKind::Individual,
        source: quote.pricing.source,
        target: quote.pricing.target,
    });
    let volume = crate::protection::volume::charge(state, tenant, &quote)?;
    let new = NewTransfer {
        id: TransferId::new(),
        tenant_id: tenant.id,
        quote_id,
        recipient_id,
        batch_id: batch,
        stated,
        reference: request.reference.as_str().to_owned(),
        decision,
        rail: state.payments.rail.clone(),
        now: benteng_core::now(),
        context: audit.clone(),
        partner_reference: None,
    };
    Ok((new, volume))
}

/// How a channel makes a retried request harmless: an idempotency key (the REST API) or a
/// partner's own unique reference (SNAP's `partnerReferenceNo`). Either is recorded in the
/// transfer's transaction.
#[derive(Debug, Clone, Copy, Default)]
pub struct Dedup<'a> {
    pub idempotency: Option<&'a NewIdempotency>,
    pub partner_reference: Option<&'a PartnerReference>,
}

/// Creates the transfer: checks, compliance decision, reservation, history, the volume-cap
/// charge and the idempotency record with the response `render` builds (or the partner's
/// reference), in one transaction.
pub async fn initiate(
    state: &AppState,
    tenant: &Tenant,
    request: &TransferRequest,
    dedup: Dedup<'_>,
    audit: &benteng_core::audit::AuditContext,
    render: impl FnOnce(&TransferRecord) -> StoredResponse,
) -> Result<(TransferRecord, StoredResponse), ApiError> {
    let (mut new, volume) = prepare(state, tenant, request, None, audit).await?;
    new.partner_reference = dedup.partner_reference.cloned();
    let idempotency = dedup.idempotency;
    state
        .store
        .create_transfer_protected(&new, idempotency, volume, render)
        .await
        .map_err(|refusal| protected_refusal_error(tenant, refusal))
}

/// The answer to a protected write the store refused.
pub fn protected_refusal_error(tenant: &Tenant, refusal: ProtectedRefusal) -> ApiError {
    match refusal {
        ProtectedRefusal::Transfer(refusal) => refusal_error(refusal),
        ProtectedRefusal::KeyTaken => ApiError::IdempotencyInFlight,
        ProtectedRefusal::VolumeCap {
            used_cents,
            cap_cents,
        } => crate::protection::volume::cap_exceeded(tenant, used_cents, cap_cents),
    }
}

/// The answer to a transfer the store refused.
pub fn refusal_error(refusal: TransferRefusal) -> ApiError {
    let not_found = |what: &str| refused(StatusCode::NOT_FOUND, "not-found", "Not found", what);
    match refusal {
        TransferRefusal::QuoteNotFound => not_found("quote not found"),
        TransferRefusal::RecipientNotFound => not_found("recipient not found"),
        TransferRefusal::QuoteExpired => refused(
            StatusCode::UNPROCESSABLE_ENTITY,
            "quote-expired",
            "Quote expired",
            "the quote has expired; request a new one",
        ),
        TransferRefusal::QuoteUsed => refused(
            StatusCode::CONFLICT,
            "quote-used",
            "Quote already used",
            "each quote pays for one transfer; request a new one",
        ),
        TransferRefusal::AmountMismatch(side) => {
            let message = format!("must equal the quote's {side} amount and currency");
            ApiError::Validation(vec![
                FieldProblem {
                    field: "amount".to_owned(),
                    code: "quote_mismatch".to_owned(),
                    message: message.clone(),
                },
                FieldProblem {
                    field: "currency".to_owned(),
                    code: "quote_mismatch".to_owned(),
                    message,
                },
            ])
        }
        TransferRefusal::PartnerReferenceUsed => refused(
            StatusCode::CONFLICT,
            "partner-reference-used",
            "Reference already used",
            "this partner reference was used for an earlier transfer",
        ),
        TransferRefusal::InsufficientFunds => refused(
            StatusCode::UNPROCESSABLE_ENTITY,
            "insufficient-funds",
            "Insufficient funds",
            "the available balance does not cover the amount and fee",
        ),
        TransferRefusal::Store(error) => ApiError::from(error),
    }
}
