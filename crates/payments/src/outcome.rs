//! What a money write produced, as its idempotency record keeps it: a retry with the same key
//! gets the first answer, rendered from this, however the transfer moved on since.

use benteng_core::api_key::KeyEnvironment;
use benteng_core::currency::Currency;
use benteng_core::ids::{BatchId, QuoteId, RecipientId, TenantId, TransferId};
use benteng_core::money::Money;
use benteng_core::payments::transfer::TransferStatus;
use benteng_store::{BatchItemRow, TransferRecord};
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

/// A batch as it was created: its items' transfers or refusals, in order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BatchOutcome {
    pub id: BatchId,
    pub created_at: OffsetDateTime,
    pub items: Vec<BatchItemRow>,
}

/// The outcome of a command that moves money.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    Transfer(Box<TransferRecord>),
    Batch(BatchOutcome),
}

#[derive(Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
enum Document {
    Transfer(Box<TransferDocument>),
    Batch(BatchDocument),
}

#[derive(Serialize, Deserialize)]
struct MoneyDocument {
    minor: i64,
    currency: String,
}

#[derive(Serialize, Deserialize)]
struct TransferDocument {
    id: TransferId,
    tenant_id: TenantId,
    environment: KeyEnvironment,
    quote_id: QuoteId,
    recipient_id: RecipientId,
    batch_id: Option<BatchId>,
    source: MoneyDocument,
    target: MoneyDocument,
    fee: MoneyDocument,
    reference: String,
    status: TransferStatus,
    risk_score: u8,
    rail: String,
    created_at: i64,
    updated_at: i64,
}

#[derive(Serialize, Deserialize)]
struct BatchDocument {
    id: BatchId,
    created_at: i64,
    items: Vec<(Option<TransferId>, Option<String>)>,
}

fn money(money: Money) -> MoneyDocument {
    MoneyDocument {
        minor: money.amount_minor(),
        currency: money.currency().code().to_owned(),
    }
}

fn money_from(document: &MoneyDocument) -> Option<Money> {
    Currency::parse(&document.currency)
        .ok()
        .map(|currency| Money::from_minor(document.minor, currency))
}

/// Unix microseconds: the precision the store keeps.
fn micros(at: OffsetDateTime) -> i64 {
    i64::try_from(at.unix_timestamp_nanos() / 1_000).unwrap_or(i64::MAX)
}

fn time_from(micros: i64) -> Option<OffsetDateTime> {
    OffsetDateTime::from_unix_timestamp_nanos(i128::from(micros) * 1_000).ok()
}

impl Outcome {
    /// Text for the idempotency record.
    pub fn encode(&self) -> String {
        let document = match self {
            Outcome::Transfer(t) => Document::Transfer(Box::new(TransferDocument {
                id: t.id,
                tenant_id: t.tenant_id,
                environment: t.environment,
                quote_id: t.quote_id,
                recipient_id: t.recipient_id,
                batch_id: t.batch_id,
                source: money(t.source),
                target: money(t.target),
                fee: money(t.fee),
                reference: t.reference.clone(),
                status: t.status,
                risk_score: t.risk_score,
                rail: t.rail.clone(),
                created_at: micros(t.created_at),
                updated_at: micros(t.updated_at),
            })),
            Outcome::Batch(b) => Document::Batch(BatchDocument {
                id: b.id,
                created_at: micros(b.created_at),
                items: b
                    .items
                    .iter()
                    .map(|item| (item.transfer, item.errors.clone()))
                    .collect(),
            }),
        };
        // Plain structs of strings and numbers: serialising them cannot fail.
        serde_json::to_string(&document).unwrap_or_default()
    }

    /// The outcome a record keeps; `None` for text this version cannot read.
    pub fn decode(text: &str) -> Option<Outcome> {
        Some(match serde_json::from_str::<Document>(text).ok()? {
            Document::Transfer(t) => Outcome::Transfer(Box::new(TransferRecord {
                id: t.id,
                tenant_id: t.tenant_id,
                environment: t.environment,
                quote_id: t.quote_id,
                recipient_id: t.recipient_id,
                batch_id: t.batch_id,
                source: money_from(&t.source)?,
                target: money_from(&t.target)?,
                fee: money_from(&t.fee)?,
                reference: t.reference.clone(),
                status: t.status,
                risk_score: t.risk_score,
                rail: t.rail.clone(),
                created_at: time_from(t.created_at)?,
                updated_at: time_from(t.updated_at)?,
            })),
            Document::Batch(b) => Outcome::Batch(BatchOutcome {
                id: b.id,
                created_at: time_from(b.created_at)?,
                items: b
                    .items
                    .into_iter()
                    .map(|(transfer, errors)| BatchItemRow { transfer, errors })
                    .collect(),
            }),
        })
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn outcomes_survive_the_record() {
        let now = benteng_core::now();
        let transfer = TransferRecord {
            id: TransferId::new(),
            tenant_id: TenantId::new(),
            environment: KeyEnvironment::Test,
            quote_id: QuoteId::new(),
            recipient_id: RecipientId::new(),
            batch_id: None,
            source: Money::from_minor(50_000_000, Currency::IDR),
            target: Money::from_minor(2_871, Currency::EUR),
            fee: Money::from_minor(25_000, Currency::IDR),
            reference: "INV-1".to_owned(),
            status: TransferStatus::Approved,
            risk_score: 7,
            rail: "sandbox".to_owned(),
            created_at: now,
            updated_at: now,
        };
        let batch = BatchOutcome {
            id: BatchId::new(),
            created_at: now,
            items: vec![
                BatchItemRow {
                    transfer: Some(transfer.id),
                    errors: None,
                },
                BatchItemRow {
                    transfer: None,
                    errors: Some(r#"{"type":"quote-used"}"#.to_owned()),
                },
            ],
        };
        for outcome in [Outcome::Transfer(Box::new(transfer)), Outcome::Batch(batch)] {
            assert_eq!(Outcome::decode(&outcome.encode()), Some(outcome));
        }
        assert_eq!(Outcome::decode("{\"kind\":\"refund\"}"), None);
    }
}
