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
use benteng_store::{StoreError, TransferRecord};

use crate::moves::Moved;
use crate::{Payments, Refusal};

/// What a reviewer decided.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReviewDecision {
    /// Release the transfer: it goes on as if approved.
    Release,
    /// Block it: the reservation is voided.
    Block,
}

impl ReviewDecision {
    pub fn as_str(self) -> &'static str {
        match self {
            ReviewDecision::Release => "release",
            ReviewDecision::Block => "block",
        }
    }
}

impl std::str::FromStr for ReviewDecision {
    type Err = Refusal;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "release" => Ok(ReviewDecision::Release),
            "block" => Ok(ReviewDecision::Block),
            _ => Err(Refusal::invalid(
                "decision",
                "unknown_value",
                "must be release or block",
            )),
        }
    }
}

/// Why the reviewer decided so: required, 10 to 2,000 characters, kept for compliance staff.
pub type ReviewReason = BoundedText<2000>;

/// The shortest reason accepted: a decision needs words, not a tick.
const MIN_REASON_CHARS: usize = 10;

impl Payments {
    /// Decides a transfer held for review. `NotHeld` when it is not (or no longer) held.
    pub async fn review(
        &self,
        transfer: TransferId,
        decision: ReviewDecision,
        reason: &ReviewReason,
        audit: &AuditContext,
    ) -> Result<TransferRecord, Refusal> {
        if reason.as_str().trim().chars().count() < MIN_REASON_CHARS {
            return Err(Refusal::invalid(
                "reason",
                "too_short",
                "must say why, in at least 10 characters",
            ));
        }
        let held = match self.store.transfer_by_id(transfer).await {
            Err(StoreError::NotFound) => return Err(Refusal::TransferNotFound),
            other => other?,
        };
        if held.status != TransferStatus::PendingReview {
            return Err(Refusal::NotHeld);
        }
        let (to, cause) = match decision {
            ReviewDecision::Release => (TransferStatus::Approved, "compliance review: released"),
            ReviewDecision::Block => (TransferStatus::Blocked, "compliance review: blocked"),
        };
        // The reason is for compliance staff: not filed under the tenant.
        let staff_only = AuditContext {
            tenant_id: None,
            ..audit.clone()
        };
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
        match self
            .move_transfer_noting(&held, to, cause, audit, vec![reviewed])
            .await?
        {
            Moved::Moved => Ok(self.store.transfer_by_id(transfer).await?),
            Moved::Overtaken => Err(Refusal::NotHeld),
        }
    }
}
