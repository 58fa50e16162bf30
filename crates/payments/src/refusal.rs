//! Why a payments command did nothing: the one refusal type every channel maps (to
//! problem+json for `/v1`, to SNAP's code table for `/v1.0`).

use benteng_core::currency::Currency;
use benteng_core::ids::RecipientId;
use benteng_core::kyc::{KycItem, KycLevel};
use benteng_core::money::Money;
use benteng_core::payments::quote::FixedSide;
use benteng_core::strict_json::FieldError;
use benteng_core::tenant::Tier;
use rust_decimal::Decimal;

/// A command's refusal. Nothing was written in any of these cases.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    /// Input the domain refuses (every field named).
    #[error("invalid input")]
    Invalid(Vec<FieldError>),
    #[error("quote not found")]
    QuoteNotFound,
    #[error("recipient not found")]
    RecipientNotFound,
    #[error("transfer not found")]
    TransferNotFound,
    #[error("the quote has expired")]
    QuoteExpired,
    #[error("the quote has already been used")]
    QuoteUsed,
    /// The stated amount or currency is not the quote's fixed side (`expected`).
    #[error("amount and currency must equal the quote's {} amount", .side.as_str())]
    AmountMismatch {
        side: FixedSide,
        expected: Money,
        stated: Money,
    },
    #[error("a recipient with this bank account exists")]
    RecipientExists(RecipientId),
    #[error("insufficient funds")]
    InsufficientFunds,
    #[error("the partner used this reference before")]
    PartnerReferenceUsed,
    #[error("the daily volume cap would be exceeded")]
    DailyVolumeCap {
        used_cents: i64,
        cap_cents: i64,
        tier: Tier,
    },
    /// The transfer would take the tenant's rolling 30-day volume over its KYC level's
    /// ceiling; `missing` is the evidence the next level needs.
    #[error("the KYC level's 30-day volume limit would be exceeded")]
    KycCeiling {
        level: KycLevel,
        ceiling_cents: i64,
        used_cents: i64,
        missing: Vec<KycItem>,
    },
    /// A review decision on a transfer that is not held for review (any more).
    #[error("the transfer is not held for review")]
    NotHeld,
    /// A SAR on the transfer's case asked the NCA for a defence (DAML) and no consent is
    /// recorded yet (notice period or moratorium): the transfer stays held (POCA s.335).
    #[error("a DAML request holds the transfer")]
    DamlPending { report: benteng_core::ids::ReportId },
    /// No such case, or no such proposal on it.
    #[error("case or proposal not found")]
    CaseNotFound,
    /// The case is closed already, or holds a transfer still held for review (which closes
    /// it with its decision).
    #[error("the case cannot be closed")]
    CaseNotClosable,
    /// A change to a closed case: it is reopened first, never edited.
    #[error("the case is closed")]
    CaseClosed,
    /// Reopening a case that is not closed, or whose party has another open case of its
    /// subject.
    #[error("the case cannot be reopened")]
    CaseNotReopenable,
    /// An uploaded file refused by the document check (type, content, size).
    #[error("{0}")]
    Document(benteng_core::documents::DocumentRefusal),
    /// A release worth more than one person may decide alone: propose it on the case, for a
    /// second person to approve.
    #[error("this decision takes four eyes")]
    FourEyesRequired,
    /// The decider proposed the decision: a second person approves it.
    #[error("a proposal is decided by someone other than its proposer")]
    OwnProposal,
    /// The proposal was approved, rejected or expired already.
    #[error("the proposal was decided already")]
    ProposalDecided,
    /// The amount's currency has no US-dollar rate, so it cannot be monitored or capped.
    #[error("no US-dollar rate for {0}")]
    NoUsdRate(Currency),
    /// Another request with this idempotency key committed (or is committing) first.
    #[error("the idempotency key is already used")]
    IdempotencyKeyTaken,
    /// Storage, sealing or a rate is failing; the cause is logged, never shown.
    #[error("temporarily unavailable")]
    Unavailable,
}

impl Refusal {
    /// Every variant once, for tests that check each channel maps each refusal.
    pub fn examples() -> Vec<Refusal> {
        let all = vec![
            Refusal::Invalid(vec![FieldError {
                field: "amount".to_owned(),
                code: "invalid_format",
                message: "must be a decimal string".to_owned(),
            }]),
            Refusal::QuoteNotFound,
            Refusal::RecipientNotFound,
            Refusal::TransferNotFound,
            Refusal::QuoteExpired,
            Refusal::QuoteUsed,
            Refusal::AmountMismatch {
                side: FixedSide::Source,
                expected: Money::from_minor(100, Currency::USD),
                stated: Money::from_minor(101, Currency::USD),
            },
            Refusal::RecipientExists(RecipientId::new()),
            Refusal::InsufficientFunds,
            Refusal::PartnerReferenceUsed,
            Refusal::DailyVolumeCap {
                used_cents: 1,
                cap_cents: 2,
                tier: Tier::Starter,
            },
            Refusal::KycCeiling {
                level: KycLevel::Basic,
                ceiling_cents: 100_000,
                used_cents: 90_000,
                missing: vec![KycItem::GovernmentId],
            },
            Refusal::NoUsdRate(Currency::IDR),
            Refusal::NotHeld,
            Refusal::DamlPending {
                report: benteng_core::ids::ReportId::new(),
            },
            Refusal::CaseNotFound,
            Refusal::CaseNotClosable,
            Refusal::CaseClosed,
            Refusal::CaseNotReopenable,
            Refusal::Document(benteng_core::documents::DocumentRefusal::Empty),
            Refusal::FourEyesRequired,
            Refusal::OwnProposal,
            Refusal::ProposalDecided,
            Refusal::IdempotencyKeyTaken,
            Refusal::Unavailable,
        ];
        // A new variant must be added above: this match stops compiling until it is.
        for refusal in &all {
            match refusal {
                Refusal::Invalid(_)
                | Refusal::QuoteNotFound
                | Refusal::RecipientNotFound
                | Refusal::TransferNotFound
                | Refusal::QuoteExpired
                | Refusal::QuoteUsed
                | Refusal::AmountMismatch { .. }
                | Refusal::RecipientExists(_)
                | Refusal::InsufficientFunds
                | Refusal::PartnerReferenceUsed
                | Refusal::DailyVolumeCap { .. }
                | Refusal::KycCeiling { .. }
                | Refusal::NoUsdRate(_)
                | Refusal::NotHeld
                | Refusal::DamlPending { .. }
                | Refusal::CaseNotFound
                | Refusal::CaseNotClosable
                | Refusal::CaseClosed
                | Refusal::CaseNotReopenable
                | Refusal::Document(_)
                | Refusal::FourEyesRequired
                | Refusal::OwnProposal
                | Refusal::ProposalDecided
                | Refusal::IdempotencyKeyTaken
                | Refusal::Unavailable => {}
            }
        }
        all
    }

    /// The stable code of the refusal (the problem type's slug on `/v1`).
    pub fn code(&self) -> &'static str {
        match self {
            Refusal::Invalid(_) | Refusal::AmountMismatch { .. } => "validation-failed",
            Refusal::QuoteNotFound | Refusal::RecipientNotFound | Refusal::TransferNotFound => {
                "not-found"
            }
            Refusal::QuoteExpired => "quote-expired",
            Refusal::QuoteUsed => "quote-used",
            Refusal::RecipientExists(_) => "recipient-exists",
            Refusal::InsufficientFunds => "insufficient-funds",
            Refusal::PartnerReferenceUsed => "partner-reference-used",
            Refusal::DailyVolumeCap { .. } => "daily-volume-cap-exceeded",
            Refusal::KycCeiling { .. } => "kyc-limit-exceeded",
            Refusal::NoUsdRate(_) => "currency-not-supported",
            Refusal::NotHeld => "transfer-not-held",
            Refusal::DamlPending { .. } => "daml-pending",
            Refusal::CaseNotFound => "not-found",
            Refusal::CaseNotClosable => "case-not-closable",
            Refusal::CaseClosed => "case-closed",
            Refusal::CaseNotReopenable => "case-not-reopenable",
            Refusal::Document(refusal) => {
                use benteng_core::documents::DocumentRefusal as D;
                match refusal {
                    D::UnsupportedType { .. } => "unsupported-document-type",
                    D::TooLarge { .. } => "document-too-large",
                    D::Empty => "document-empty",
                    D::ContentMismatch { .. } => "document-content-mismatch",
                }
            }
            Refusal::FourEyesRequired => "four-eyes-required",
            Refusal::OwnProposal => "own-proposal",
            Refusal::ProposalDecided => "proposal-decided",
            Refusal::IdempotencyKeyTaken => "idempotency-key-in-use",
            Refusal::Unavailable => "unavailable",
        }
    }

    /// What the caller may read about it: no internal causes, no compliance reasons.
    pub fn detail(&self) -> String {
        match self {
            Refusal::Invalid(_) => "the request has invalid fields".to_owned(),
            Refusal::QuoteNotFound => "quote not found".to_owned(),
            Refusal::RecipientNotFound => "recipient not found".to_owned(),
            Refusal::TransferNotFound => "transfer not found".to_owned(),
            Refusal::QuoteExpired => "the quote has expired; request a new one".to_owned(),
            Refusal::QuoteUsed => "each quote pays for one transfer; request a new one".to_owned(),
            Refusal::AmountMismatch { side, expected, .. } => format!(
                "amount and currency must equal the quote's {} amount, {expected} {}",
                side.as_str(),
                expected.currency().code()
            ),
            Refusal::RecipientExists(existing) => {
                format!("recipient {existing} already holds this bank account")
            }
            Refusal::InsufficientFunds => {
                "the available balance does not cover the amount and fee".to_owned()
            }
            Refusal::PartnerReferenceUsed => {
                "this partner reference was used for an earlier transfer".to_owned()
            }
            Refusal::DailyVolumeCap {
                used_cents,
                cap_cents,
                tier,
            } => format!(
                "this transfer would exceed the daily volume cap of {} (tier {}); {} already \
                 sent today (UTC)",
                dollars(*cap_cents),
                tier.as_str(),
                dollars(*used_cents)
            ),
            Refusal::KycCeiling {
                level,
                ceiling_cents,
                used_cents,
                missing,
            } => {
                let next = level.next().map_or_else(String::new, |next| {
                    let items: Vec<&str> = missing.iter().map(|item| item.as_str()).collect();
                    format!(
                        "; KYC level {next} lifts the limit and still needs: {}",
                        items.join(", ")
                    )
                });
                format!(
                    "this transfer would take the 30-day volume over {}, the limit of KYC \
                     level {level} ({} sent in the last 30 days){next}",
                    dollars(*ceiling_cents),
                    dollars(*used_cents),
                )
            }
            Refusal::NoUsdRate(currency) => format!(
                "{} amounts cannot be valued in US dollars at the moment; no transfer in it \
                 is accepted",
                currency.code()
            ),
            Refusal::NotHeld => {
                "the transfer is not held for review: it was decided already, or never held"
                    .to_owned()
            }
            Refusal::DamlPending { report } => format!(
                "report {report} asked the NCA for a defence (DAML) and no consent is recorded: \
                 the transfer stays held until consent is granted or deemed \
                 (POST /admin/v1/reports/{report}/daml)"
            ),
            Refusal::CaseNotFound => "case or proposal not found".to_owned(),
            Refusal::CaseNotClosable => {
                "the case is closed already, or holds a transfer still held for review: decide \
                 that transfer first (its decision closes the case)"
                    .to_owned()
            }
            Refusal::CaseClosed => {
                "the case is closed: reopen it (with a comment) before changing it (attachments included)".to_owned()
            }
            Refusal::CaseNotReopenable => {
                "only a closed case is reopened, and only while its party has no other open \
                 case of the same subject (add to that one instead)"
                    .to_owned()
            }
            Refusal::Document(refusal) => refusal.to_string(),
            Refusal::FourEyesRequired => {
                "releasing a held transfer of this amount takes four eyes: propose it on its case \
                 (POST /admin/v1/cases/{id}/proposals) for a compliance officer to approve"
                    .to_owned()
            }
            Refusal::OwnProposal => {
                "a proposal is approved or rejected by someone other than its proposer".to_owned()
            }
            Refusal::ProposalDecided => {
                "the proposal was approved, rejected or expired already".to_owned()
            }
            Refusal::IdempotencyKeyTaken => {
                "the first request with this key has not finished; retry shortly".to_owned()
            }
            Refusal::Unavailable => "temporarily unavailable; retry shortly".to_owned(),
        }
    }

    /// The invalid fields, for refusals about the input.
    pub fn field_errors(&self) -> Option<Vec<FieldError>> {
        match self {
            Refusal::Invalid(errors) => Some(errors.clone()),
            Refusal::AmountMismatch {
                side,
                expected,
                stated,
            } => {
                // Only the field that differs, with what the quote expects.
                let side = side.as_str();
                let currency = expected.currency().code();
                let mut errors = Vec::new();
                if stated.currency() != expected.currency() {
                    errors.push(FieldError {
                        field: "currency".to_owned(),
                        code: "quote_mismatch",
                        message: format!("the quote's {side} currency is {currency}"),
                    });
                } else if stated.amount_minor() != expected.amount_minor() {
                    errors.push(FieldError {
                        field: "amount".to_owned(),
                        code: "quote_mismatch",
                        message: format!("the quote's {side} amount is {expected} {currency}"),
                    });
                }
                Some(errors)
            }
            _ => None,
        }
    }

    /// A refused batch item as it is stored and shown: `{"type", "errors"}` for invalid input,
    /// `{"type", "detail"}` otherwise.
    pub fn item_errors(&self) -> String {
        let value = match self.field_errors() {
            Some(errors) => serde_json::json!({ "type": self.code(), "errors": errors }),
            None => serde_json::json!({ "type": self.code(), "detail": self.detail() }),
        };
        value.to_string()
    }

    /// One invalid field.
    pub fn invalid(field: &str, code: &'static str, message: &str) -> Refusal {
        Refusal::Invalid(vec![FieldError {
            field: field.to_owned(),
            code,
            message: message.to_owned(),
        }])
    }

    /// A failing dependency: logged here, shown as `Unavailable`.
    pub(crate) fn unavailable(what: &str, error: impl std::fmt::Display) -> Refusal {
        tracing::error!(%error, "{what}");
        Refusal::Unavailable
    }
}

fn dollars(cents: i64) -> String {
    format!("USD {}", Decimal::new(cents, 2))
}

impl From<benteng_store::StoreError> for Refusal {
    fn from(error: benteng_store::StoreError) -> Self {
        Refusal::unavailable("store error", error)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_refusal_has_a_code_a_detail_and_an_item_form() {
        for refusal in Refusal::examples() {
            assert!(!refusal.code().is_empty());
            assert!(!refusal.detail().is_empty());
            let item: serde_json::Value =
                serde_json::from_str(&refusal.item_errors()).unwrap_or_default();
            assert_eq!(item["type"], refusal.code(), "{refusal:?}");
        }
    }
}
