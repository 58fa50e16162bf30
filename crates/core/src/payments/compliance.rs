//! The compliance decision every transfer gets before it leaves INITIATED. Screening and
//! monitoring produce it; the payments core only obeys it.

use serde::{Deserialize, Serialize};

use super::transfer::TransferStatus;

/// Ordered from mildest to strictest, so combining two verdicts is `max`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
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
    /// The screening of each party behind the verdict, recorded with the transfer (in the same
    /// transaction) in `screening_decisions`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub screenings: Vec<PartyScreening>,
    /// The monitoring rules evaluated for the transfer (every rule, hit or not, with its
    /// inputs); `None` only before monitoring has run.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub monitoring: Option<super::monitoring::MonitoringRecord>,
}

/// Which party of a transfer was screened.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Party {
    /// The sending tenant.
    Tenant,
    /// The recipient.
    Recipient,
}

impl Party {
    pub fn as_str(self) -> &'static str {
        match self {
            Party::Tenant => "tenant",
            Party::Recipient => "recipient",
        }
    }
}

impl Verdict {
    pub fn as_str(self) -> &'static str {
        match self {
            Verdict::Approve => "approve",
            Verdict::Review => "review",
            Verdict::Block => "block",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("a verdict is approve, review or block")]
pub struct UnknownVerdict;

impl std::str::FromStr for Verdict {
    type Err = UnknownVerdict;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        [Verdict::Approve, Verdict::Review, Verdict::Block]
            .into_iter()
            .find(|verdict| verdict.as_str() == s)
            .ok_or(UnknownVerdict)
    }
}

/// One party's screening result: its score, its verdict and the explanation (JSON text: the
/// matches with list, entry id, matched name, method and score).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PartyScreening {
    pub party: Party,
    pub score: u8,
    pub verdict: Verdict,
    pub explanation: String,
}

impl ComplianceDecision {
    pub fn approve() -> Self {
        Self {
            verdict: Verdict::Approve,
            risk_score: 0,
            reasons: Vec::new(),
            screenings: Vec::new(),
            monitoring: None,
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

/// What the compliance step looks at for one transfer.
#[derive(Debug, Clone)]
pub struct TransferSubject<'a> {
    pub tenant: &'a crate::tenant::Tenant,
    pub recipient_id: crate::ids::RecipientId,
    pub recipient_name: &'a str,
    pub recipient_country: crate::country::CountryCode,
    pub recipient_is_individual: bool,
    pub source: crate::money::Money,
    pub target: crate::money::Money,
}

/// The seam where screening and monitoring plug in. Every transfer passes it before it leaves
/// INITIATED; an implementation must answer (it cannot fail open: errors become `Review`).
pub trait ComplianceCheck: Send + Sync {
    fn assess(&self, subject: &TransferSubject<'_>) -> ComplianceDecision;
}

/// Approves everything: the step until screening and monitoring are configured.
#[derive(Debug, Default, Clone, Copy)]
pub struct ApproveAll;

impl ComplianceCheck for ApproveAll {
    fn assess(&self, _subject: &TransferSubject<'_>) -> ComplianceDecision {
        ComplianceDecision::approve()
    }
}
