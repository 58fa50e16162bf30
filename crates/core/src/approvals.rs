//! Four-eyes actions: changes one person proposes and a different person approves. The action
//! is data (stored as JSON while it waits); what each needs to be proposed and approved is
//! decided by `crates/operations`, and the store applies an approved one exactly once.

use serde::{Deserialize, Serialize};

use crate::cases::ReviewDecision;
use crate::ids::{CaseId, PersonId, ReportId, TenantId, TransferId};
use crate::kyc::KycLevel;
use crate::roles::{Permission, StaffRole};
use crate::tenant::Tier;

/// A change that needs a second person.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum Action {
    /// Stop requiring a registered TLS client certificate from the tenant.
    DisableRequireMtls { tenant: TenantId },
    /// Move the tenant to another tier (its rate limits and daily volume caps).
    ChangeTier { tenant: TenantId, tier: Tier },
    /// Give a staff member a role that needs a second person (`admin`).
    GrantRole { person: PersonId, role: StaffRole },
    /// Move the tenant to another KYC level (its 30-day volume ceiling); applied only while
    /// every item the level requires is verified.
    ChangeKycLevel { tenant: TenantId, level: KycLevel },
    /// Release or block a transfer held for review, proposed on its case; approved on the
    /// case by a compliance officer (`reviews:approve`), and applied by the payments layer in
    /// the approval's transaction.
    DecideHeldTransfer {
        case: CaseId,
        transfer: TransferId,
        decision: ReviewDecision,
    },
    /// Confirm the screening hits of a screening case as a true match: the case's party is
    /// blocked for every future transfer until a compliance officer clears it. Proposed on
    /// the case (`reviews:decide`), approved by a compliance officer (`reviews:approve`).
    ConfirmScreeningHit { case: CaseId },
    /// Approve a regulatory report's draft at `version` (an edit after the proposal makes
    /// the approval fail); the approver must be a compliance officer who did not write the
    /// content last.
    ApproveReport { report: ReportId, version: u32 },
}

impl Action {
    pub fn kind(&self) -> &'static str {
        match self {
            Action::DisableRequireMtls { .. } => "disable_require_mtls",
            Action::ChangeTier { .. } => "change_tier",
            Action::GrantRole { .. } => "grant_role",
            Action::ChangeKycLevel { .. } => "change_kyc_level",
            Action::DecideHeldTransfer { .. } => "decide_held_transfer",
            Action::ApproveReport { .. } => "approve_report",
            Action::ConfirmScreeningHit { .. } => "confirm_screening_hit",
        }
    }

    /// What the approver must hold: the proposer's permission, except for a held transfer's
    /// decision and a screening hit's confirmation, which a compliance officer approves.
    pub fn approver_permission(&self) -> Permission {
        match self {
            Action::DecideHeldTransfer { .. } | Action::ConfirmScreeningHit { .. } => {
                Permission::ReviewsApprove
            }
            other => other.permission(),
        }
    }

    /// What the proposer must hold (and the approver, but see [`Action::approver_permission`]).
    pub fn permission(&self) -> Permission {
        match self {
            Action::DisableRequireMtls { .. } | Action::ChangeTier { .. } => {
                Permission::TenantsWrite
            }
            Action::GrantRole { .. } => Permission::StaffWrite,
            Action::ChangeKycLevel { .. } => Permission::KycReview,
            Action::DecideHeldTransfer { .. } | Action::ConfirmScreeningHit { .. } => {
                Permission::ReviewsDecide
            }
            Action::ApproveReport { .. } => Permission::ReportsFile,
        }
    }
}

/// Where a pending action stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ActionStatus {
    Pending,
    Approved,
    Rejected,
    Expired,
}

impl ActionStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            ActionStatus::Pending => "pending",
            ActionStatus::Approved => "approved",
            ActionStatus::Rejected => "rejected",
            ActionStatus::Expired => "expired",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        [
            ActionStatus::Pending,
            ActionStatus::Approved,
            ActionStatus::Rejected,
            ActionStatus::Expired,
        ]
        .into_iter()
        .find(|s| s.as_str() == text)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn actions_round_trip_as_tagged_json_and_refuse_extras() {
        let action = Action::ChangeTier {
            tenant: TenantId::new(),
            tier: Tier::Enterprise,
        };
        let json = serde_json::to_string(&action).unwrap();
        assert!(json.contains(r#""kind":"change_tier""#), "{json}");
        assert_eq!(serde_json::from_str::<Action>(&json).unwrap(), action);
        let extra = json.replace('}', r#","note":"x"}"#);
        assert!(serde_json::from_str::<Action>(&extra).is_err());
        assert!(serde_json::from_str::<Action>(r#"{"kind":"drop_tables"}"#).is_err());
    }
}
