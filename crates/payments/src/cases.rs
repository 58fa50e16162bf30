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
    /// The largest held transfer, in US cents, one person may release alone
    /// ([`Payments::review`]); above it the release takes the case's four eyes.
    pub single_release_max_usd_cents: i64,
    /// Where alerts' cases go.
    pub alerts: AlertCases,
    /// Where a case still open too long past its SLA moves, per inbox.
    pub escalations: Vec<Escalation>,
    /// Where cases of screening hits from rescreens and list updates go.
    pub screening: AlertCases,
    /// Where cases of KYC upgrade requests go.
    pub kyc: AlertCases,
    /// The most bytes one case attachment may have.
    pub attachment_max_bytes: usize,
}

/// An escalation: a case not closed `after` past its SLA due time in inbox `from` moves to
/// inbox `to`, due `sla` after it arrives. Measured from the due time (not the opening), so
/// each inbox a case passes through gets its own SLA and its own grace before the next hop.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Escalation {
    pub from: String,
    pub to: String,
    pub after: Duration,
    pub sla: Duration,
}

/// What one pass of the cases' SLA clock recorded (this instance's writes only).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SlaPass {
    /// The cases that went past their SLA, with the inbox they missed it in.
    pub missed: Vec<(CaseId, String)>,
    /// The cases escalated, with the inboxes they left and joined.
    pub escalated: Vec<(CaseId, String, String)>,
}

/// How many cases one pass handles per step; the rest wait for the next pass.
const SLA_PASS_BATCH: u32 = 500;

impl Default for CasePolicy {
    fn default() -> Self {
        Self {
            inbox: "payments".to_owned(),
            sla: Duration::from_secs(24 * 3600),
            proposal_ttl: Duration::from_secs(24 * 3600),
            single_release_max_usd_cents: 100_000,
            alerts: AlertCases::default(),
            escalations: Vec::new(),
            screening: AlertCases::screening_default(),
            kyc: AlertCases::kyc_default(),
            attachment_max_bytes: crate::case_attachments::DEFAULT_ATTACHMENT_MAX_BYTES,
        }
    }
}

impl CasePolicy {
    /// How soon a case of `inbox` is due once (re)opened.
    pub fn sla_of(&self, inbox: &str) -> Duration {
        [&self.alerts, &self.screening, &self.kyc]
            .into_iter()
            .find(|cases| cases.inbox == inbox)
            .map_or(self.sla, |cases| cases.sla)
    }

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
    /// The held transfer it decides; `None` for a screening hit's confirmation.
    pub transfer: Option<TransferId>,
    /// `release`, `block` or `confirm_hit`.
    pub decision: &'static str,
}

/// What a screening hit's confirmation decides (the name proposals and logs use).
pub const CONFIRM_HIT: &str = "confirm_hit";

/// Why the comment is needed: 10 to 2,000 characters, like a review's reason.
pub type CaseComment = ReviewReason;

pub(crate) fn not_found(error: StoreError) -> Refusal {
    match error {
        StoreError::NotFound => Refusal::CaseNotFound,
        other => other.into(),
    }
}

impl Payments {
    /// One pass of the cases' SLA clock at the clock's now: records every case that went past
    /// its SLA (the `sla_missed` log entry and `case.sla_missed` audit event, once per due
    /// time), then escalates each case past its inbox's escalation time (the `escalated` entry
    /// and `case.escalated`; one hop per pass: the new due time is in the future). The store's
    /// updates are conditional, so with several instances running the clock each case's miss
    /// and hop is recorded by exactly one of them; each counts what it recorded.
    pub async fn run_sla_clock(&self, audit: &AuditContext) -> Result<SlaPass, Refusal> {
        let now = self.clock.now();
        let mut pass = SlaPass::default();
        for due in self.store.cases_missing_sla(now, SLA_PASS_BATCH).await? {
            if self.store.record_sla_miss(&due, now, audit).await? {
                crate::counted::sla_missed(&due.inbox);
                pass.missed.push((due.id, due.inbox));
            }
        }
        for escalation in &self.cases.escalations {
            let cutoff = now - escalation.after;
            let due = self
                .store
                .cases_due_before(&escalation.from, cutoff, SLA_PASS_BATCH)
                .await?;
            for case in due {
                let new_due = now + escalation.sla;
                if self
                    .store
                    .escalate_case(&case, &escalation.to, new_due, now, audit)
                    .await?
                {
                    crate::counted::escalated(&escalation.from, &escalation.to);
                    pass.escalated
                        .push((case.id, escalation.from.clone(), escalation.to.clone()));
                }
            }
        }
        Ok(pass)
    }

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
            transfer: Some(transfer),
            decision: decision.as_str(),
        })
    }

    /// Proposes confirming a screening case's hits as a true match: once a compliance officer
    /// other than `proposer` approves it, the case's party is blocked for every future
    /// transfer. The proposal, its audit event and the case's log entry commit together.
    pub async fn propose_hit_confirmation(
        &self,
        case: CaseId,
        reason: &ReviewReason,
        proposer: PersonId,
        audit: &AuditContext,
    ) -> Result<Proposal, Refusal> {
        crate::reviews::check_reason(reason)?;
        let row = self.store.case(case).await.map_err(not_found)?;
        if row.subject != CaseSubject::Screening {
            return Err(Refusal::CaseNotFound);
        }
        if row.status == CaseStatus::Closed {
            return Err(Refusal::CaseNotClosable);
        }
        let now = self.clock.now();
        let pending = PendingAction {
            id: PendingActionId::new(),
            action: Action::ConfirmScreeningHit { case },
            status: ActionStatus::Pending,
            proposed_by: proposer,
            proposed_at: now,
            expires_at: now + self.cases.proposal_ttl,
            decided_by: None,
            decided_at: None,
        };
        let data = serde_json::json!({
            "decision": CONFIRM_HIT,
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
            .propose_case_decision(case, &pending, &event, &audit.staff_only())
            .await?;
        Ok(Proposal {
            pending,
            transfer: None,
            decision: CONFIRM_HIT,
        })
    }

    /// Clears a block in force (a compliance officer's, checked by the route), with why; the
    /// party's transfers are screened as before. `CaseNotFound` when no such block is in force.
    pub async fn clear_screening_block(
        &self,
        block: &str,
        by: PersonId,
        comment: &CaseComment,
        audit: &AuditContext,
    ) -> Result<benteng_store::ScreeningBlock, Refusal> {
        crate::reviews::check_reason(comment)?;
        self.store
            .clear_screening_block(block, by, comment.as_str(), self.clock.now(), audit)
            .await?
            .ok_or(Refusal::CaseNotFound)
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
            let (transfer, decision) = match pending.action {
                Action::DecideHeldTransfer {
                    transfer, decision, ..
                } => (Some(transfer), decision.as_str()),
                Action::ConfirmScreeningHit { .. } => (None, CONFIRM_HIT),
                _ => continue,
            };
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
        let (of, held) = match pending.action {
            Action::DecideHeldTransfer {
                case,
                transfer,
                decision,
            } => (case, Some((transfer, decision))),
            Action::ConfirmScreeningHit { case } => (case, None),
            _ => return Err(Refusal::CaseNotFound),
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
        let Some((transfer, decision)) = held else {
            return self
                .decide_hit_confirmation(case, proposal, decider, approve, comment, audit)
                .await;
        };
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

impl Payments {
    /// Approves (the party is blocked and the case closed, in the approval's transaction,
    /// with the approver's comment on the case's log) or rejects a screening hit's
    /// confirmation.
    async fn decide_hit_confirmation(
        &self,
        case: CaseId,
        proposal: PendingActionId,
        decider: PersonId,
        approve: bool,
        comment: &CaseComment,
        audit: &AuditContext,
    ) -> Result<CaseRow, Refusal> {
        let staff_only = audit.staff_only();
        let decided = if approve {
            match self
                .store
                .approve_hit_confirmation(proposal, decider, comment.as_str(), &staff_only)
                .await
            {
                // The case was closed meanwhile, or the party is blocked already.
                Err(StoreError::Conflict) => return Err(Refusal::CaseNotClosable),
                other => other?,
            }
        } else {
            let event = CaseEvent {
                at: self.clock.now(),
                actor: audit.actor.clone(),
                kind: "decision_rejected".to_owned(),
                comment: Some(comment.as_str().to_owned()),
                data: Some(
                    serde_json::json!({"decision": CONFIRM_HIT, "proposal": proposal.to_string()})
                        .to_string(),
                ),
            };
            self.store
                .reject_case_proposal(case, proposal, decider, &event, &staff_only)
                .await?
        };
        match decided {
            Ok(_) => Ok(self.store.case(case).await?),
            Err(DecisionRefused::OwnProposal) => Err(Refusal::OwnProposal),
            Err(DecisionRefused::NotFound) => Err(Refusal::CaseNotFound),
            Err(DecisionRefused::NotPending(_) | DecisionRefused::Expired) => {
                Err(Refusal::ProposalDecided)
            }
        }
    }
}

/// The proposal a `decision_proposed` event names.
pub fn proposal_id(event: &CaseEvent) -> Option<PendingActionId> {
    let data: serde_json::Value = serde_json::from_str(event.data.as_deref()?).ok()?;
    data["proposal"].as_str()?.parse().ok()
}
