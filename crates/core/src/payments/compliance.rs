//! The compliance decision every transfer gets before it leaves INITIATED. Screening and
//! monitoring produce it; the payments core only obeys it.

use serde::{Deserialize, Serialize};

use super::transfer::TransferStatus;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Verdict {
    Approve,
    Review,
    Block,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ComplianceDecision {
    pub verdict: Verdict,
    /// 0–100; the spec's thresholds: > 80 block, 50–80 review, < 50 approve.
    pub risk_score: u8,
    /// What led to the verdict, for the audit trail and the analyst (never shown to tenants).
    pub reasons: Vec<String>,
}

impl ComplianceDecision {
    pub fn approve() -> Self {
        Self {
            verdict: Verdict::Approve,
            risk_score: 0,
            reasons: Vec::new(),
        }
    }

    /// The status a transfer in SCREENING moves to.
    pub fn next_status(&self) -> TransferStatus {
        match self.verdict {
            Verdict::Approve => TransferStatus::Approved,
            Verdict::Review => TransferStatus::PendingReview,
            Verdict::Block => TransferStatus::Blocked,
        }
    }
}
