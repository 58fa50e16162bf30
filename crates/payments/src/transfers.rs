//! Initiating transfers: the one command every channel uses (`/v1/transfers`, each batch item,
//! SNAP's partner transfers), so validation, the compliance step, the ledger reservation and
//! the protection (idempotency record, volume cap) cannot differ between them.

use benteng_core::api_key::KeyEnvironment;
use benteng_core::audit::{AuditContext, AuditEvent, Retention};
use benteng_core::country::CountryCode;
use benteng_core::currency::Currency;
use benteng_core::ids::{BatchId, QuoteId, RecipientId, TransferId};
use benteng_core::money::Money;
use benteng_core::payments::compliance::{ComplianceDecision, TransferSubject, Verdict};
use benteng_core::payments::ledger::transfer_postings;
use benteng_core::payments::quote::{FixedSide, Quote};
use benteng_core::payments::recipient::{BankAccount, RecipientKind};
use benteng_core::payments::transfer::TransferStatus;
use benteng_core::tenant::Tenant;
use benteng_core::text::{Name, Reference};
use benteng_store::{
    HistoryStep, IdempotencyClaim, PartnerReference, StoreError, TransferRecord, TransferWrite,
    VolumeCharge, WriteRefusal,
};
use time::OffsetDateTime;

use crate::outcome::Outcome;
use crate::quotes::QuoteRequest;
use crate::recipients::NewRecipient;
use crate::{Payments, Refusal, Scope, TEST_RAIL};

/// A transfer to initiate: pay a recipient at a quote.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TransferOrder {
    pub quote: QuoteId,
    pub recipient: RecipientId,
    /// The amount and currency the caller stated: must be the quote's fixed side.
    pub amount: Money,
    pub reference: Reference,
}

/// How a channel makes a retried request harmless: an idempotency key (the REST API) or a
/// partner's own unique reference (SNAP's `partnerReferenceNo`). Either is recorded in the
/// transfer's transaction.
#[derive(Debug, Clone, Copy, Default)]
pub struct Dedup<'a> {
    pub key: Option<&'a IdempotencyClaim>,
    pub partner_reference: Option<&'a PartnerReference>,
}

/// A payment to an Indonesian account, as a SNAP partner asks for it: the recipient is found
/// (or added) by its account, the quote is priced now (IDR to IDR).
#[derive(Debug, Clone)]
pub struct AccountPayment {
    pub account: BankAccount,
    pub name: Name,
    pub amount: Money,
    pub reference: PartnerReference,
}

/// A transfer decided and composed, not yet written.
pub(crate) struct Prepared {
    pub(crate) write: TransferWrite,
    pub(crate) volume: Option<VolumeCharge>,
}

impl Payments {
    /// Initiates a transfer: one write holds the quote's use, the transfer in its decided
    /// status, its history, screenings and audit events, the key or reference, the volume
    /// charge and last the reservation. Any refusal leaves nothing behind.
    pub async fn initiate(
        &self,
        scope: Scope<'_>,
        order: &TransferOrder,
        dedup: Dedup<'_>,
        audit: &AuditContext,
    ) -> Result<TransferRecord, Refusal> {
        let tenant = scope.tenant;
        let written = async {
            let now = self.clock.now();
            let prepared = self
                .prepare(scope, order, None, dedup.partner_reference, audit, now)
                .await?;
            let record = prepared.write.record.clone();
            let mut write = self.store.begin_payment().await?;
            let unreserved = write
                .transfer(&prepared.write)
                .await
                .map_err(refused(tenant))?;
            if let Some(claim) = dedup.key {
                let outcome = Outcome::Transfer(Box::new(record.clone())).encode();
                write
                    .record_key(claim, &outcome)
                    .await
                    .map_err(refused(tenant))?;
            }
            // The tenant's hot rows last: its daily count, then its balance, until the commit.
            if let Some(volume) = prepared.volume {
                write
                    .charge_volume(tenant.id, now, volume)
                    .await
                    .map_err(refused(tenant))?;
            }
            write.reserve(unreserved).await.map_err(refused(tenant))?;
            write.commit().await?;
            Ok(record)
        }
        .await;
        match written {
            Err(refusal) => Err(self.explained_by_key(refusal, dedup.key).await),
            ok => ok,
        }
    }

    /// A duplicate of a committed request is refused by the quote it already used: it is the
    /// key that explains the refusal.
    pub(crate) async fn explained_by_key(
        &self,
        refusal: Refusal,
        key: Option<&IdempotencyClaim>,
    ) -> Refusal {
        let Some(claim) = key else {
            return refusal;
        };
        if matches!(refusal, Refusal::Unavailable | Refusal::IdempotencyKeyTaken) {
            return refusal;
        }
        match self.store.key_is_live(claim).await {
            Ok(true) => Refusal::IdempotencyKeyTaken,
            Ok(false) => refusal,
            Err(error) => error.into(),
        }
    }

    /// Pays an Indonesian account for a partner: the partner's reference is checked first (a
    /// quick answer for a reference used before), then the recipient, the quote and the one
    /// transfer command, which records the reference in the transfer's transaction (two
    /// concurrent requests with one reference make one transfer).
    pub async fn pay_account(
        &self,
        scope: Scope<'_>,
        payment: &AccountPayment,
        audit: &AuditContext,
    ) -> Result<TransferRecord, Refusal> {
        let reference = &payment.reference;
        match self
            .store
            .snap_reference(reference.partner_id, &reference.reference)
            .await
        {
            Ok(_) => return Err(Refusal::PartnerReferenceUsed),
            Err(StoreError::NotFound) => {}
            Err(error) => return Err(error.into()),
        }
        let recipient = self
            .recipient_for_account(
                scope,
                NewRecipient {
                    kind: RecipientKind::Business,
                    name: payment.name.clone(),
                    country: CountryCode::ID,
                    address: None,
                    bank_account: payment.account.clone(),
                    national_id: None,
                },
                audit,
            )
            .await?;
        let quote = self
            .price_quote(
                scope,
                QuoteRequest {
                    source: Currency::IDR,
                    target: Currency::IDR,
                    fixed: FixedSide::Source,
                    amount: payment.amount.to_decimal(),
                },
                audit,
            )
            .await?;
        let order = TransferOrder {
            quote: quote.id,
            recipient: recipient.id,
            amount: payment.amount,
            reference: Reference::parse(&reference.reference).map_err(|_| {
                Refusal::invalid("partnerReferenceNo", "invalid_format", "is not a reference")
            })?,
        };
        let dedup = Dedup {
            key: None,
            partner_reference: Some(reference),
        };
        self.initiate(scope, &order, dedup, audit).await
    }

    /// Everything before the write: the quote and recipient, the stated amount, the compliance
    /// decision, the volume charge, and the transfer with its history and audit events.
    /// Nothing is written.
    pub(crate) async fn prepare(
        &self,
        scope: Scope<'_>,
        order: &TransferOrder,
        batch: Option<BatchId>,
        partner_reference: Option<&PartnerReference>,
        audit: &AuditContext,
        now: OffsetDateTime,
    ) -> Result<Prepared, Refusal> {
        let (tenant, environment) = (scope.tenant, scope.environment);
        let quote = match self.store.quote(tenant.id, environment, order.quote).await {
            Err(StoreError::NotFound) => return Err(Refusal::QuoteNotFound),
            other => other?,
        };
        let recipient = match self
            .store
            .recipient(tenant.id, environment, order.recipient)
            .await
        {
            Err(StoreError::NotFound) => return Err(Refusal::RecipientNotFound),
            other => other?,
        };
        if quote.used_by.is_some() {
            return Err(Refusal::QuoteUsed);
        }
        if quote.is_expired(now) {
            return Err(Refusal::QuoteExpired);
        }
        if quote.fixed_amount() != order.amount {
            return Err(Refusal::AmountMismatch(quote.pricing.fixed));
        }
        let decision = self.compliance.assess(&TransferSubject {
            tenant,
            recipient_id: recipient.id,
            recipient_name: recipient.name.as_str(),
            recipient_country: recipient.country,
            recipient_is_individual: recipient.kind == RecipientKind::Individual,
            source: quote.pricing.source,
            target: quote.pricing.target,
        });
        // Test money is not money: it counts against no cap.
        let volume = match environment {
            KeyEnvironment::Live => {
                crate::volume::charge(self.caps.as_ref(), &self.rates(), tenant, &quote)?
            }
            KeyEnvironment::Test => None,
        };
        let p = &quote.pricing;
        let record = TransferRecord {
            id: TransferId::new(),
            tenant_id: tenant.id,
            environment,
            quote_id: quote.id,
            recipient_id: recipient.id,
            batch_id: batch,
            source: p.source,
            target: p.target,
            fee: p.fee,
            reference: order.reference.as_str().to_owned(),
            status: decision.next_status(),
            risk_score: decision.risk_score,
            rail: match environment {
                KeyEnvironment::Live => self.rail.clone(),
                KeyEnvironment::Test => TEST_RAIL.to_owned(),
            },
            created_at: now,
            updated_at: now,
        };
        let postings = match decision.verdict {
            Verdict::Block => Vec::new(),
            Verdict::Approve | Verdict::Review => transfer_postings(&quote)
                .map_err(|e| Refusal::unavailable("transfer postings", e))?,
        };
        let decided = decision_cause(&decision);
        let history = vec![
            step(None, TransferStatus::Initiated, "created"),
            step(
                Some(TransferStatus::Initiated),
                TransferStatus::Screening,
                "compliance check started",
            ),
            step(Some(TransferStatus::Screening), record.status, &decided),
        ];
        let context = audit.for_tenant(tenant.id);
        let events = transfer_audit(
            &record,
            &quote,
            &decision,
            &context,
            &decided,
            partner_reference,
            !postings.is_empty(),
        );
        let notices = crate::notices::new_transfer_notices(&record);
        Ok(Prepared {
            write: TransferWrite {
                notices,
                record,
                history,
                events,
                screenings: decision.screenings,
                postings,
                partner_reference: partner_reference.cloned(),
            },
            volume,
        })
    }
}

/// The refusal of a tenant's write step.
pub(crate) fn refused(tenant: &Tenant) -> impl Fn(WriteRefusal) -> Refusal + '_ {
    move |refusal| match refusal {
        // The quote was free and unexpired when read: a concurrent transfer took it.
        WriteRefusal::QuoteTaken => Refusal::QuoteUsed,
        WriteRefusal::RecipientNotFound => Refusal::RecipientNotFound,
        WriteRefusal::PartnerReferenceUsed => Refusal::PartnerReferenceUsed,
        WriteRefusal::InsufficientFunds => Refusal::InsufficientFunds,
        WriteRefusal::VolumeCap {
            used_cents,
            cap_cents,
        } => Refusal::DailyVolumeCap {
            used_cents,
            cap_cents,
            tier: tenant.tier,
        },
        WriteRefusal::KeyTaken => Refusal::IdempotencyKeyTaken,
        WriteRefusal::Store(error) => error.into(),
    }
}

fn step(from: Option<TransferStatus>, to: TransferStatus, cause: &str) -> HistoryStep {
    HistoryStep {
        from,
        to,
        cause: cause.to_owned(),
    }
}

/// The history's cause of the compliance step. The tenant reads this history: the verdict and
/// score only. Which list entry matched is for compliance staff (audit trail, screening
/// decisions), not a tip-off to the customer.
fn decision_cause(decision: &ComplianceDecision) -> String {
    let verdict = match decision.verdict {
        Verdict::Approve => "approved",
        Verdict::Review => "held for review",
        Verdict::Block => "blocked",
    };
    format!("compliance: {verdict} (risk score {})", decision.risk_score)
}

/// The audit event of a status change.
pub(crate) fn status_changed(
    context: &AuditContext,
    transfer: TransferId,
    from: TransferStatus,
    to: TransferStatus,
    cause: &str,
    at: OffsetDateTime,
) -> AuditEvent {
    AuditEvent::new(
        context,
        "transfer.status_changed",
        Retention::Security,
        ("transfer", transfer.to_string()),
    )
    .at(at)
    .change("status", from.as_str().into(), to.as_str().into())
    .change("cause", serde_json::Value::Null, cause.into())
}

/// The audit events of a new transfer: initiated, its two status changes (the second with the
/// compliance verdict and its reasons), the partner's reference, the reservation.
fn transfer_audit(
    record: &TransferRecord,
    quote: &Quote,
    decision: &ComplianceDecision,
    context: &AuditContext,
    decided: &str,
    partner_reference: Option<&PartnerReference>,
    reserves: bool,
) -> Vec<AuditEvent> {
    let subject = || ("transfer", record.id.to_string());
    let at = record.created_at;
    let initiated = AuditEvent::new(
        context,
        "transfer.initiated",
        Retention::Security,
        subject(),
    )
    .at(at)
    .change(
        "status",
        serde_json::Value::Null,
        TransferStatus::Initiated.as_str().into(),
    )
    .change(
        "quote_id",
        serde_json::Value::Null,
        quote.id.to_string().into(),
    )
    .change(
        "recipient_id",
        serde_json::Value::Null,
        record.recipient_id.to_string().into(),
    );
    let compliance = serde_json::json!({
        "aml_check": match decision.verdict {
            Verdict::Approve => "PASSED",
            Verdict::Review => "REVIEW",
            Verdict::Block => "BLOCKED",
        },
        "risk_score": decision.risk_score,
        "reasons": decision.reasons,
    });
    let mut events = vec![
        initiated,
        status_changed(
            context,
            record.id,
            TransferStatus::Initiated,
            TransferStatus::Screening,
            "compliance check started",
            at,
        ),
        status_changed(
            context,
            record.id,
            TransferStatus::Screening,
            record.status,
            decided,
            at,
        )
        .with_compliance(compliance),
    ];
    if let Some(reference) = partner_reference {
        events.push(
            AuditEvent::new(
                context,
                "snap.transfer_linked",
                Retention::Security,
                subject(),
            )
            .at(at)
            .change(
                "partner_reference_no",
                serde_json::Value::Null,
                reference.reference.clone().into(),
            )
            .change(
                "client_id",
                serde_json::Value::Null,
                reference.client_id.clone().into(),
            ),
        );
    }
    if reserves {
        let p = &quote.pricing;
        events.push(
            AuditEvent::new(context, "ledger.reserved", Retention::Security, subject())
                .at(at)
                .change(
                    "source",
                    serde_json::Value::Null,
                    p.source.to_string().into(),
                )
                .change("fee", serde_json::Value::Null, p.fee.to_string().into())
                .change(
                    "currency",
                    serde_json::Value::Null,
                    p.source.currency().code().into(),
                ),
        );
    }
    events
}
