//! Initiating transfers: the one command every channel uses (`/v1/transfers`, each batch item,
//! SNAP's partner transfers), so validation, the compliance step, the ledger reservation and
//! the protection (idempotency record, volume cap) cannot differ between them.

use benteng_core::api_key::KeyEnvironment;
use benteng_core::audit::{AuditContext, AuditEvent, Retention};
use benteng_core::country::CountryCode;
use benteng_core::currency::Currency;
use benteng_core::ids::{BatchId, QuoteId, RecipientId, TransferId};
use benteng_core::kyc::{CeilingCheck, KycLevel, check_ceiling};
use benteng_core::money::Money;
use benteng_core::payments::compliance::{ComplianceDecision, TransferSubject, Verdict};
use benteng_core::payments::ledger::transfer_postings;
use benteng_core::payments::monitoring::{Corridor, Facts, UsdCents};
use benteng_core::payments::quote::{FixedSide, Quote};
use benteng_core::payments::recipient::{BankAccount, RecipientKind};
use benteng_core::payments::transfer::TransferStatus;
use benteng_core::tenant::Tenant;
use benteng_core::text::{Name, Reference};
use benteng_store::{
    AlertCases, AlertKind, AlertParty, HistoryStep, IdempotencyClaim, MonitoringWrite, NewAlert,
    PartnerReference, PaymentWrite, RecipientRow, StoreError, TransferRecord, TransferWrite,
    UNSCORED_PRIORITY, VolumeCharge, WriteRefusal,
};
use benteng_vault::Aad;
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

/// A transfer checked and screened, not yet monitored or written: monitoring needs the
/// tenant's history, which only the transfer's own transaction may read.
pub(crate) struct Prepared {
    quote: Quote,
    recipient: RecipientRow,
    reference: Reference,
    batch: Option<BatchId>,
    partner_reference: Option<PartnerReference>,
    screening: ComplianceDecision,
    /// The transfer as the monitoring rules see it (its history filled in the write).
    facts: Facts,
    volume: Option<VolumeCharge>,
    now: OffsetDateTime,
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
        let written = async {
            let now = self.clock.now();
            let prepared = self
                .prepare(scope, order, None, dedup.partner_reference, now)
                .await?;
            let mut write = self.store.begin_payment().await?;
            let record = self
                .write_transfer(&mut write, scope, &prepared, dedup.key, audit)
                .await?;
            write.commit().await?;
            crate::counted::entered(record.status);
            Ok(record)
        }
        .await;
        match written {
            Err(refusal) => {
                self.alert_on_refusal(scope, &refusal, audit).await;
                Err(self.explained_by_key(refusal, dedup.key).await)
            }
            ok => ok,
        }
    }

    /// Writes a prepared transfer in `write`: the tenant's monitoring history (locked first),
    /// the KYC ceiling, the rules and the one decision, then the transfer with its history,
    /// screenings, monitoring record and audit events, an alert when it is blocked, the key,
    /// the volume charge and last the reservation.
    pub(crate) async fn write_transfer(
        &self,
        write: &mut PaymentWrite,
        scope: Scope<'_>,
        prepared: &Prepared,
        key: Option<&IdempotencyClaim>,
        audit: &AuditContext,
    ) -> Result<TransferRecord, Refusal> {
        let tenant = scope.tenant;
        let rules = self.rules();
        let mut facts = prepared.facts.clone();
        facts.aggregates = write
            .monitoring_history(
                tenant.id,
                scope.environment,
                facts.corridor,
                rules.lookback(),
                prepared.now,
            )
            .await?;
        let history = &facts.aggregates;
        // Test money is not money: the KYC ceiling is on live volume.
        let approaching = match (
            scope.environment,
            check_ceiling(&history.kyc, history.volume_30d, facts.amount),
        ) {
            (KeyEnvironment::Test, _) | (_, CeilingCheck::Within { approaching: false }) => None,
            (KeyEnvironment::Live, CeilingCheck::Within { approaching: true }) => {
                Some(Approaching {
                    level: history.kyc.level,
                    volume_usd_cents: history.volume_30d.saturating_add(facts.amount),
                })
            }
            (
                KeyEnvironment::Live,
                CeilingCheck::Over {
                    level,
                    ceiling_usd_cents,
                    used_usd_cents,
                    ..
                },
            ) => {
                let mut standing = history.kyc.clone();
                standing.verified = write.kyc_verified(tenant.id).await?;
                return Err(Refusal::KycCeiling {
                    level,
                    ceiling_cents: ceiling_usd_cents,
                    used_cents: used_usd_cents,
                    missing: standing.missing_for_next(),
                });
            }
        };
        let monitoring = rules.evaluate(&facts);
        let decision = rules.decide(prepared.screening.clone(), monitoring);
        crate::counted::decided(&decision);
        // IBAN payouts in EUR or GBP go to the ISO 20022 rail when one runs.
        let rail = match (scope.environment, &self.iban_rail) {
            (KeyEnvironment::Test, _) => TEST_RAIL,
            (KeyEnvironment::Live, Some(rail))
                if prepared.recipient.bank_scheme == "iban"
                    && matches!(
                        prepared.quote.pricing.target.currency().code(),
                        "EUR" | "GBP"
                    ) =>
            {
                rail.as_str()
            }
            (KeyEnvironment::Live, _) => self.rail.as_str(),
        };
        let composed = compose(
            scope,
            prepared,
            &decision,
            audit,
            approaching,
            rail,
            &self.cases,
        )?;
        let record = composed.record.clone();
        let unreserved = write.transfer(&composed).await.map_err(refused(tenant))?;
        write
            .record_monitoring(&MonitoringWrite {
                transfer: record.id,
                tenant: tenant.id,
                environment: scope.environment,
                at: prepared.now,
                amount_usd_cents: facts.amount,
                counted: decision.verdict != Verdict::Block,
                near_threshold: rules.near_threshold(facts.amount),
                corridor: facts.corridor,
                bank_country: facts.bank_country.map(|c| c.as_str().to_owned()),
                rule_set: rules.version().to_owned(),
                risk_score: decision.risk_score,
                verdict: decision.verdict,
                screening_score: prepared.screening.risk_score,
                screening_verdict: prepared.screening.verdict,
                rules: serde_json::to_string(&decision.monitoring)
                    .map_err(|e| Refusal::unavailable("monitoring record", e))?,
            })
            .await?;
        if decision.verdict == Verdict::Block {
            let (alert, event) =
                blocked_alert(scope, &record, &decision, &self.cases.alerts, audit);
            write.raise_alert(&alert, &event, audit).await?;
        }
        if let Some(claim) = key {
            let outcome = Outcome::Transfer(Box::new(record.clone())).encode();
            write
                .record_key(claim, &outcome)
                .await
                .map_err(refused(tenant))?;
        }
        // The tenant's hot rows last: its daily count, then its balance, until the commit.
        if let Some(volume) = prepared.volume {
            write
                .charge_volume(tenant.id, prepared.now, volume)
                .await
                .map_err(refused(tenant))?;
        }
        write.reserve(unreserved).await.map_err(refused(tenant))?;
        Ok(record)
    }

    /// A KYC refusal at the enhanced boundary (a standard-level tenant going over USD 50,000 in
    /// 30 days) is an alert for compliance: raised after the refused write rolled back.
    pub(crate) async fn alert_on_refusal(
        &self,
        scope: Scope<'_>,
        refusal: &Refusal,
        audit: &AuditContext,
    ) {
        let Refusal::KycCeiling {
            level: KycLevel::Standard,
            ceiling_cents,
            used_cents,
            ..
        } = refusal
        else {
            return;
        };
        let now = self.clock.now();
        let id = uuid::Uuid::new_v4();
        let detail = serde_json::json!({
            "level": KycLevel::Standard.as_str(),
            "ceiling_usd_cents": ceiling_cents,
            "used_usd_cents": used_cents,
        });
        let alert = NewAlert {
            id,
            kind: AlertKind::KycCeiling,
            rule: None,
            tenant: Some(scope.tenant.id),
            environment: scope.environment,
            transfer: None,
            detail: detail.to_string(),
            dedup_key: None,
            at: now,
            cases: vec![self.cases.alerts.opening(
                id,
                AlertParty::Tenant(scope.tenant.id),
                scope.environment,
                UNSCORED_PRIORITY,
                now,
            )],
        };
        let event = alert_event(audit, &alert, now);
        if let Err(error) = self.store.raise_alert(&alert, &event, audit).await {
            tracing::error!(%error, "raising a KYC ceiling alert failed");
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
                    bic: None,
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

    /// Everything before the write: the quote and recipient, the stated amount, screening,
    /// the amount in US dollars, the volume charge. Nothing is written.
    pub(crate) async fn prepare(
        &self,
        scope: Scope<'_>,
        order: &TransferOrder,
        batch: Option<BatchId>,
        partner_reference: Option<&PartnerReference>,
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
            return Err(Refusal::AmountMismatch {
                side: quote.pricing.fixed,
                expected: quote.fixed_amount(),
                stated: order.amount,
            });
        }
        // Monitoring compares dollars: an amount the rate table cannot value is refused, never
        // scored as zero.
        let rates = self.rates();
        let amount: UsdCents = crate::volume::usd_cents(&rates, &quote)
            .ok_or(Refusal::NoUsdRate(quote.pricing.source.currency()))?;
        let screening_started = std::time::Instant::now();
        let mut screening = self.compliance.assess(&TransferSubject {
            tenant,
            recipient_id: recipient.id,
            recipient_name: recipient.name.as_str(),
            recipient_country: recipient.country,
            recipient_is_individual: recipient.kind == RecipientKind::Individual,
            source: quote.pricing.source,
            target: quote.pricing.target,
        });
        // A party whose hit compliance confirmed as a true match is blocked, whatever today's
        // score; the reason is for staff, the tenant sees a block like any other.
        if self
            .store
            .transfer_party_blocked(tenant.id, recipient.id)
            .await?
        {
            screening.verdict = Verdict::Block;
            screening.risk_score = 100;
            screening
                .reasons
                .push("a party is blocked: a confirmed screening match".to_owned());
        }
        crate::counted::screened(screening.verdict, screening_started.elapsed());
        // Test money is not money: it counts against no cap.
        let volume = match environment {
            KeyEnvironment::Live => crate::volume::charge(self.caps.as_ref(), amount, tenant),
            KeyEnvironment::Test => None,
        };
        let facts = Facts {
            amount,
            recipient_country: recipient.country,
            bank_country: self.bank_country(&recipient)?,
            corridor: Corridor {
                country: recipient.country,
                currency: quote.pricing.target.currency(),
            },
            aggregates: Default::default(),
        };
        Ok(Prepared {
            quote,
            recipient,
            reference: order.reference.clone(),
            batch,
            partner_reference: partner_reference.cloned(),
            screening,
            facts,
            volume,
            now,
        })
    }

    /// The country of the recipient's bank: an IBAN's prefix, Indonesia for a local account.
    fn bank_country(&self, recipient: &RecipientRow) -> Result<Option<CountryCode>, Refusal> {
        if recipient.bank_scheme != "iban" {
            return Ok(Some(CountryCode::ID));
        }
        let (tenant, id) = (recipient.tenant_id.to_string(), recipient.id.to_string());
        let aad = Aad::new(&tenant, "recipients", "bank_account", &id);
        let clear = self
            .keyring
            .decrypt_string(&recipient.bank_account_sealed, &aad)
            .map_err(|e| Refusal::unavailable("unsealing a bank account", e))?;
        Ok(
            BankAccount::from_canonical(benteng_vault::ExposeSecret::expose_secret(&clear))
                .and_then(|account| match account {
                    BankAccount::Iban(iban) => CountryCode::parse(iban.country_prefix()).ok(),
                    BankAccount::Indonesian { .. } => Some(CountryCode::ID),
                }),
        )
    }
}

/// The transfer as it is written, in the status its decision gives it: the row, its history,
/// its audit events (the verdict with every rule's result for compliance staff; the tenant's
/// history says only approved, held or blocked), screenings and the reservation.
fn compose(
    scope: Scope<'_>,
    prepared: &Prepared,
    decision: &ComplianceDecision,
    audit: &AuditContext,
    approaching: Option<Approaching>,
    rail: &str,
    cases: &crate::cases::CasePolicy,
) -> Result<TransferWrite, Refusal> {
    let (tenant, environment) = (scope.tenant, scope.environment);
    let (quote, now) = (&prepared.quote, prepared.now);
    let p = &quote.pricing;
    let record = TransferRecord {
        id: TransferId::new(),
        tenant_id: tenant.id,
        environment,
        quote_id: quote.id,
        recipient_id: prepared.recipient.id,
        batch_id: prepared.batch,
        source: p.source,
        target: p.target,
        fee: p.fee,
        reference: prepared.reference.as_str().to_owned(),
        status: decision.next_status(),
        risk_score: decision.risk_score,
        rail: rail.to_owned(),
        created_at: now,
        updated_at: now,
    };
    let postings = match decision.verdict {
        Verdict::Block => Vec::new(),
        Verdict::Approve | Verdict::Review => {
            transfer_postings(quote).map_err(|e| Refusal::unavailable("transfer postings", e))?
        }
    };
    let decided = decision_cause(decision);
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
    let mut events = transfer_audit(
        &record,
        quote,
        decision,
        &context,
        &decided,
        prepared.partner_reference.as_ref(),
        !postings.is_empty(),
    );
    let mut notices = crate::notices::new_transfer_notices(&record);
    if let Some(approaching) = approaching {
        events.push(approaching_event(&context, tenant, approaching, now));
        notices.push(crate::notices::kyc_limit_notice(
            tenant,
            environment,
            approaching.level,
            approaching.volume_usd_cents,
            now,
        ));
    }
    let case = (record.status == TransferStatus::PendingReview)
        .then(|| (cases.held_transfer(&record), audit.clone()));
    Ok(TransferWrite {
        case,
        notices,
        record,
        history,
        events,
        screenings: decision.screenings.clone(),
        postings,
        partner_reference: prepared.partner_reference.clone(),
    })
}

/// A transfer that takes the tenant's 30-day volume past 80 % of its KYC level's ceiling.
#[derive(Debug, Clone, Copy)]
struct Approaching {
    level: KycLevel,
    /// The 30-day volume with this transfer.
    volume_usd_cents: UsdCents,
}

/// Told to the tenant (its audit trail, and a webhook event): this transfer took its 30-day
/// volume past 80 % of its KYC level's ceiling.
fn approaching_event(
    context: &AuditContext,
    tenant: &Tenant,
    approaching: Approaching,
    at: OffsetDateTime,
) -> AuditEvent {
    AuditEvent::new(
        context,
        "kyc.ceiling_approaching",
        Retention::Security,
        ("tenant", tenant.id.to_string()),
    )
    .at(at)
    .change(
        "level",
        serde_json::Value::Null,
        approaching.level.as_str().into(),
    )
    .change(
        "ceiling_usd_cents",
        serde_json::Value::Null,
        approaching.level.ceiling_usd_cents().into(),
    )
    .change(
        "volume_30d_usd_cents",
        serde_json::Value::Null,
        approaching.volume_usd_cents.into(),
    )
}

/// The alert a blocked transfer raises (it opens or joins its recipient's monitoring case),
/// and its audit event.
fn blocked_alert(
    scope: Scope<'_>,
    record: &TransferRecord,
    decision: &ComplianceDecision,
    cases: &AlertCases,
    audit: &AuditContext,
) -> (NewAlert, AuditEvent) {
    let hits: Vec<&str> = decision
        .monitoring
        .iter()
        .flat_map(|m| m.rules.iter().filter(|r| r.hit).map(|r| r.id.as_str()))
        .collect();
    let id = uuid::Uuid::new_v4();
    let recipient = AlertParty::Recipient {
        id: record.recipient_id.to_string(),
        tenant: record.tenant_id,
    };
    let alert = NewAlert {
        id,
        kind: AlertKind::TransferBlocked,
        rule: hits.first().map(|id| (*id).to_owned()),
        tenant: Some(scope.tenant.id),
        environment: scope.environment,
        transfer: Some(record.id),
        detail: serde_json::json!({
            "risk_score": decision.risk_score,
            "reasons": decision.reasons,
            "rules_hit": hits,
        })
        .to_string(),
        dedup_key: Some(format!("transfer_blocked:{}", record.id)),
        at: record.created_at,
        cases: vec![cases.opening(
            id,
            recipient,
            scope.environment,
            decision.risk_score,
            record.created_at,
        )],
    };
    let event = alert_event(audit, &alert, record.created_at);
    (alert, event)
}

/// The audit event of a raised alert: for compliance staff only, so it is not filed under the
/// tenant (whose trail would tip it off); the request that caused it is still named.
pub(crate) fn alert_event(
    audit: &AuditContext,
    alert: &NewAlert,
    at: OffsetDateTime,
) -> AuditEvent {
    let context = audit.staff_only();
    AuditEvent::new(
        &context,
        "alert.raised",
        Retention::Security,
        ("alert", alert.id.to_string()),
    )
    .at(at)
    .change("kind", serde_json::Value::Null, alert.kind.as_str().into())
    .change(
        "transfer_id",
        serde_json::Value::Null,
        alert.transfer.map(|t| t.to_string()).into(),
    )
    .change("rule", serde_json::Value::Null, alert.rule.clone().into())
    .change(
        "tenant_id",
        serde_json::Value::Null,
        alert.tenant.map(|t| t.to_string()).into(),
    )
    .change(
        "tenant_id",
        serde_json::Value::Null,
        alert.tenant.map(|t| t.to_string()).into(),
    )
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
        "monitoring": decision.monitoring,
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
