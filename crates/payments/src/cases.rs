//! Cases of held transfers, decided with four eyes: an analyst proposes releasing or blocking
//! a held transfer on its case; a compliance officer (someone else) approves, and the decision
//! runs through [`Payments::review`]'s path with the proposal spent, the case's log written
//! and the case closed in the move's one transaction; or rejects, and the transfer stays held.
//! Who may propose and who may approve is the route's permission (`reviews:decide`,
//! `reviews:approve`); that the two are different people is checked here and by the store's
//! conditional update.

use std::time::Duration;

use benteng_core::approvals::{Action, ActionStatus};
use benteng_core::audit::AuditContext;
use benteng_core::cases::{CaseOutcome, CaseStatus, CaseSubject, ReviewDecision};
use benteng_core::ids::{CaseId, PendingActionId, PersonId, TransferId};
use benteng_core::payments::transfer::TransferStatus;
use benteng_store::{
    AlertCases, CaseEvent, CaseOpening, CaseRow, DecisionRefused, PendingAction, StoreError,
    TransferRecord,
};

use crate::reviews::{FourEyes, ReviewReason};
use crate::{Payments, Refusal};

/// Where held transfers' cases go and how long things may take.
#[derive(Debug, Clone)]
pub struct CasePolicy {
    /// The inbox held transfers' cases open in.
    pub inbox: String,
    /// How soon a new case is due.
    pub sla: Duration,
    /// How long a proposed decision waits for its second person.
    pub proposal_ttl: Duration,
    /// Where alerts' cases go.
    pub alerts: AlertCases,
    /// The most bytes one case attachment may have.
    pub attachment_max_bytes: usize,
}

impl Default for CasePolicy {
    fn default() -> Self {
        Self {
            inbox: "payments".to_owned(),
            sla: Duration::from_secs(24 * 3600),
            proposal_ttl: Duration::from_secs(24 * 3600),
            alerts: AlertCases::default(),
            attachment_max_bytes: crate::case_attachments::DEFAULT_ATTACHMENT_MAX_BYTES,
        }
    }
}

impl CasePolicy {
    /// The case a held transfer opens or joins: its recipient's open payments case.
    pub(crate) fn held_transfer(&self, transfer: &TransferRecord) -> CaseOpening {
        CaseOpening {
            subject: CaseSubject::Payments,
            party_kind: "recipient",
            party_id: transfer.recipient_id.to_string(),
            tenant_id: transfer.tenant_id,
            environment: transfer.environment,
            inbox: self.inbox.clone(),
            priority: transfer.risk_score.min(100),
            sla_due_at: transfer.created_at + self.sla,
            item_kind: "transfer",
            item_id: transfer.id.to_string(),
            at: transfer.created_at,
        }
    }
}

/// A decision proposed on a case, waiting for its second person.
#[derive(Debug, Clone)]
pub struct Proposal {
    pub pending: PendingAction,
    pub transfer: TransferId,
    pub decision: ReviewDecision,
}

/// Why the comment is needed: 10 to 2,000 characters, like a review's reason.
pub type CaseComment = ReviewReason;

fn not_found(error: StoreError) -> Refusal {
    match error {
        StoreError::NotFound => Refusal::CaseNotFound,
        other => other.into(),
    }
}

impl Payments {
    /// Proposes releasing or blocking a held transfer of `case`; `proposer` is the signed-in
    /// person (their permission checked by the route). The transfer must be the case's and
    /// still held; the proposal, its audit event and the case's log entry commit together.
    pub async fn propose_case_decision(
        &self,
        case: CaseId,
        transfer: TransferId,
        decision: ReviewDecision,
        reason: &ReviewReason,
        proposer: PersonId,
        audit: &AuditContext,
    ) -> Result<Proposal, Refusal> {
        crate::reviews::check_reason(reason)?;
        let row = self.store.case(case).await.map_err(not_found)?;
        if row.status == CaseStatus::Closed {
            return Err(Refusal::NotHeld);
        }
        if self.store.case_of_transfer(transfer).await? != Some(case) {
            return Err(Refusal::CaseNotFound);
        }
        let held = self
            .store
            .transfer_by_id(transfer)
            .await
            .map_err(not_found)?;
        if held.status != TransferStatus::PendingReview {
            return Err(Refusal::NotHeld);
        }
        let now = self.clock.now();
        let pending = PendingAction {
            id: PendingActionId::new(),
            action: Action::DecideHeldTransfer {
                case,
                transfer,
                decision,
            },
            status: ActionStatus::Pending,
            proposed_by: proposer,
            proposed_at: now,
            expires_at: now + self.cases.proposal_ttl,
            decided_by: None,
            decided_at: None,
        };
        let staff_only = audit.staff_only();
        let data = serde_json::json!({
            "transfer": transfer.to_string(),
            "decision": decision.as_str(),
            "proposal": pending.id.to_string(),
        });
        let event = CaseEvent {
            at: now,
            actor: audit.actor.clone(),
            kind: "decision_proposed".to_owned(),
            comment: Some(reason.as_str().to_owned()),
            data: Some(data.to_string()),
        };
        self.store
            .propose_case_decision(case, &pending, &event, &staff_only)
            .await?;
        Ok(Proposal {
            pending,
            transfer,
            decision,
        })
    }

    /// Closes a case that holds no transfer still held for review (an alert's case, once the
    /// analyst has looked into it) with its outcome and why; its alerts close with it. A held
    /// transfer's case closes with that transfer's four-eyes decision instead.
    pub async fn close_case(
        &self,
        case: CaseId,
        outcome: CaseOutcome,
        comment: &CaseComment,
        audit: &AuditContext,
    ) -> Result<(), Refusal> {
        crate::reviews::check_reason(comment)?;
        self.store.case(case).await.map_err(not_found)?;
        let event = CaseEvent {
            at: self.clock.now(),
            actor: audit.actor.clone(),
            kind: "closed".to_owned(),
            comment: Some(comment.as_str().to_owned()),
            data: Some(serde_json::json!({"outcome": outcome.as_str()}).to_string()),
        };
        if self.store.close_case(case, outcome, &event, audit).await? {
            Ok(())
        } else {
            Err(Refusal::CaseNotClosable)
        }
    }

    /// The proposals on `case`, newest first, with the proposer's reason.
    pub async fn case_proposals(&self, case: CaseId) -> Result<Vec<(Proposal, String)>, Refusal> {
        let events = self.store.case_events(case).await?;
        let mut proposals = Vec::new();
        for event in events.iter().rev() {
            if event.kind != "decision_proposed" {
                continue;
            }
            let Some(id) = proposal_id(event) else {
                continue;
            };
            let pending = self.store.pending_action(id).await?;
            if let Action::DecideHeldTransfer {
                transfer, decision, ..
            } = pending.action
            {
                let reason = event.comment.clone().unwrap_or_default();
                proposals.push((
                    Proposal {
                        pending,
                        transfer,
                        decision,
                    },
                    reason,
                ));
            }
        }
        Ok(proposals)
    }

    /// Approves (the transfer is released or blocked, once) or rejects (it stays held) a
    /// proposal on `case`. `decider` must not be the proposer; of two deciders at once exactly
    /// one wins and the other gets `ProposalDecided` or `NotHeld`.
    pub async fn decide_case_proposal(
        &self,
        case: CaseId,
        proposal: PendingActionId,
        decider: PersonId,
        approve: bool,
        comment: &CaseComment,
        audit: &AuditContext,
    ) -> Result<CaseRow, Refusal> {
        crate::reviews::check_reason(comment)?;
        let pending = self
            .store
            .pending_action(proposal)
            .await
            .map_err(not_found)?;
        let Action::DecideHeldTransfer {
            case: of,
            transfer,
            decision,
        } = pending.action
        else {
            return Err(Refusal::CaseNotFound);
        };
        if of != case {
            return Err(Refusal::CaseNotFound);
        }
        if pending.proposed_by == decider {
            return Err(Refusal::OwnProposal);
        }
        if pending.status != ActionStatus::Pending || pending.expires_at <= self.clock.now() {
            return Err(Refusal::ProposalDecided);
        }
        let reason = self
            .case_proposals(case)
            .await?
            .into_iter()
            .find(|(p, _)| p.pending.id == proposal)
            .map(|(_, reason)| reason)
            .ok_or(Refusal::CaseNotFound)?;
        let reason = ReviewReason::parse(&reason)
            .map_err(|_| StoreError::Corrupt("a proposal's reason".to_owned()))?;
        if approve {
            let four_eyes = FourEyes {
                case,
                pending: proposal,
                proposed_by: pending.proposed_by,
                decided_by: decider,
                comment: comment.as_str().to_owned(),
            };
            self.decide_held(transfer, decision, &reason, audit, Some(four_eyes))
                .await?;
        } else {
            let staff_only = audit.staff_only();
            let data = serde_json::json!({
                "transfer": transfer.to_string(),
                "decision": decision.as_str(),
                "proposal": proposal.to_string(),
            });
            let event = CaseEvent {
                at: self.clock.now(),
                actor: audit.actor.clone(),
                kind: "decision_rejected".to_owned(),
                comment: Some(comment.as_str().to_owned()),
                data: Some(data.to_string()),
            };
            match self
                .store
                .reject_case_proposal(case, proposal, decider, &event, &staff_only)
                .await?
            {
                Ok(_) => {}
                Err(DecisionRefused::OwnProposal) => return Err(Refusal::OwnProposal),
                Err(DecisionRefused::NotFound) => return Err(Refusal::CaseNotFound),
                Err(DecisionRefused::NotPending(_) | DecisionRefused::Expired) => {
                    return Err(Refusal::ProposalDecided);
                }
            }
        }
        Ok(self.store.case(case).await?)
    }
}

/// The proposal a `decision_proposed` event names.
pub fn proposal_id(event: &CaseEvent) -> Option<PendingActionId> {
    let data: serde_json::Value = serde_json::from_str(event.data.as_deref()?).ok()?;
    data["proposal"].as_str()?.parse().ok()
}
