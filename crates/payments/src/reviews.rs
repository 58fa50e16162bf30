//! Review decisions: a compliance analyst releases a transfer held for review (to APPROVED, and
//! on to the rail) or blocks it (its reservation voided, the funds back on the tenant's
//! balance). One move, in one transaction, only if the transfer is still held: of two
//! concurrent decisions exactly one wins.
//!
//! The tenant's history says only "compliance review: released" or "blocked"; the reviewer's
//! reason is in an audit event for compliance staff, never filed under the tenant (no tip-off).

use benteng_core::audit::{AuditContext, AuditEvent, Retention};
use benteng_core::ids::TransferId;
use benteng_core::payments::transfer::TransferStatus;
use benteng_core::text::BoundedText;
use benteng_store::{CaseDecisionWrite, CaseEvent, StoreError, TransferRecord};

use crate::moves::Moved;
use crate::{Payments, Refusal};

pub use benteng_core::cases::ReviewDecision;

/// Why the reviewer decided so: required, 10 to 2,000 characters, kept for compliance staff.
pub type ReviewReason = BoundedText<2000>;

/// The shortest reason accepted: a decision needs words, not a tick.
const MIN_REASON_CHARS: usize = 10;

/// A reason (or a case comment) says why: at least 10 characters besides spaces at its ends.
pub(crate) fn check_reason(reason: &ReviewReason) -> Result<(), Refusal> {
    if reason.as_str().trim().chars().count() < MIN_REASON_CHARS {
        return Err(Refusal::invalid(
            "reason",
            "too_short",
            "must say why, in at least 10 characters",
        ));
    }
    Ok(())
}

/// Who decided, when four eyes did: the proposal spent and the case it closes.
pub(crate) struct FourEyes {
    pub(crate) case: benteng_core::ids::CaseId,
    pub(crate) pending: benteng_core::ids::PendingActionId,
    pub(crate) proposed_by: benteng_core::ids::PersonId,
    pub(crate) decided_by: benteng_core::ids::PersonId,
    pub(crate) comment: String,
}

impl Payments {
    /// Decides a transfer held for review, as one person. `NotHeld` when it is not (or no
    /// longer) held; `FourEyesRequired` for a release worth more than
    /// `single_release_max_usd_cents` (or whose dollar value is unknown): that one is proposed
    /// on its case and approved by someone else. Blocking, the safe direction, takes one.
    pub async fn review(
        &self,
        transfer: TransferId,
        decision: ReviewDecision,
        reason: &ReviewReason,
        audit: &AuditContext,
    ) -> Result<TransferRecord, Refusal> {
        if decision == ReviewDecision::Release {
            check_reason(reason)?;
            let held = match self.store.transfer_by_id(transfer).await {
                Err(StoreError::NotFound) => return Err(Refusal::TransferNotFound),
                other => other?,
            };
            let usd = crate::volume::usd_cents_of(&self.rates(), held.source, held.target);
            if usd.is_none_or(|cents| cents > self.cases.single_release_max_usd_cents) {
                return Err(Refusal::FourEyesRequired);
            }
        }
        self.decide_held(transfer, decision, reason, audit, None)
            .await
    }

    /// The one decision path: [`Payments::review`], and an approved case proposal (whose
    /// approval is spent, and whose case is written, in the move's transaction).
    pub(crate) async fn decide_held(
        &self,
        transfer: TransferId,
        decision: ReviewDecision,
        reason: &ReviewReason,
        audit: &AuditContext,
        four_eyes: Option<FourEyes>,
    ) -> Result<TransferRecord, Refusal> {
        check_reason(reason)?;
        let held = match self.store.transfer_by_id(transfer).await {
            Err(StoreError::NotFound) => return Err(Refusal::TransferNotFound),
            other => other?,
        };
        if held.status != TransferStatus::PendingReview {
            return Err(Refusal::NotHeld);
        }
        // A defence asked of the NCA and not yet given: neither paying the money out nor
        // handing it back is allowed (POCA s.335), so neither decision is taken. Consent
        // recorded (granted or deemed) lifts this; the release stays a person's decision.
        if let Some(report) = self.store.daml_request_holding(held.id).await? {
            return Err(Refusal::DamlPending { report: report.id });
        }
        let (to, cause) = match decision {
            ReviewDecision::Release => (TransferStatus::Approved, "compliance review: released"),
            ReviewDecision::Block => (TransferStatus::Blocked, "compliance review: blocked"),
        };
        // The reason is for compliance staff: not filed under the tenant.
        let staff_only = audit.staff_only();
        let reviewed = AuditEvent::new(
            &staff_only,
            "transfer.reviewed",
            Retention::Security,
            ("transfer", held.id.to_string()),
        )
        .at(self.clock.now())
        .change(
            "decision",
            serde_json::Value::Null,
            decision.as_str().into(),
        )
        .change("reason", serde_json::Value::Null, reason.as_str().into())
        .change(
            "tenant_id",
            serde_json::Value::Null,
            held.tenant_id.to_string().into(),
        );
        let now = self.clock.now();
        let (reviewed, case) = match four_eyes {
            Some(four) => {
                let reviewed = reviewed
                    .change(
                        "proposed_by",
                        serde_json::Value::Null,
                        four.proposed_by.to_string().into(),
                    )
                    .change(
                        "approved_by",
                        serde_json::Value::Null,
                        four.decided_by.to_string().into(),
                    );
                let data = serde_json::json!({
                    "transfer": held.id.to_string(),
                    "decision": decision.as_str(),
                    "proposal": four.pending.to_string(),
                });
                let case = CaseDecisionWrite {
                    case: four.case,
                    approval: Some((four.pending, four.decided_by)),
                    outcome: decision.outcome(),
                    events: vec![CaseEvent {
                        at: now,
                        actor: staff_only.actor.clone(),
                        kind: "decision_approved".to_owned(),
                        comment: Some(four.comment),
                        data: Some(data.to_string()),
                    }],
                    context: staff_only.clone(),
                };
                (reviewed, Some(case))
            }
            None => {
                // A decision outside a proposal still lands on the transfer's case.
                let case = self.store.case_of_transfer(held.id).await?.map(|case| {
                    let data = serde_json::json!({
                        "transfer": held.id.to_string(),
                        "decision": decision.as_str(),
                    });
                    CaseDecisionWrite {
                        case,
                        approval: None,
                        outcome: decision.outcome(),
                        events: vec![CaseEvent {
                            at: now,
                            actor: staff_only.actor.clone(),
                            kind: "decided".to_owned(),
                            comment: Some(reason.as_str().to_owned()),
                            data: Some(data.to_string()),
                        }],
                        context: staff_only.clone(),
                    }
                });
                (reviewed, case)
            }
        };
        match self
            .move_transfer_noting(&held, to, cause, audit, vec![reviewed], case)
            .await?
        {
            Moved::Moved => Ok(self.store.transfer_by_id(transfer).await?),
            Moved::Overtaken => Err(Refusal::NotHeld),
        }
    }
}
