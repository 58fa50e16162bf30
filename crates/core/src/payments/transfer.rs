//! A transfer's life: INITIATED → SCREENING → APPROVED | PENDING_REVIEW | BLOCKED → SUBMITTED →
//! COMPLETED | FAILED, and RETURNED after completion. Only the moves below are possible; every
//! move is recorded with its time and cause.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum TransferStatus {
    Initiated,
    Screening,
    Approved,
    PendingReview,
    Blocked,
    Submitted,
    Completed,
    Failed,
    Returned,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("a transfer cannot move from {from} to {to}")]
pub struct IllegalTransition {
    pub from: TransferStatus,
    pub to: TransferStatus,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("unknown transfer status")]
pub struct UnknownStatus;

impl TransferStatus {
    pub const ALL: [TransferStatus; 9] = [
        Self::Initiated,
        Self::Screening,
        Self::Approved,
        Self::PendingReview,
        Self::Blocked,
        Self::Submitted,
        Self::Completed,
        Self::Failed,
        Self::Returned,
    ];

    pub fn as_str(&self) -> &'static str {
        match self {
            Self::Initiated => "INITIATED",
            Self::Screening => "SCREENING",
            Self::Approved => "APPROVED",
            Self::PendingReview => "PENDING_REVIEW",
            Self::Blocked => "BLOCKED",
            Self::Submitted => "SUBMITTED",
            Self::Completed => "COMPLETED",
            Self::Failed => "FAILED",
            Self::Returned => "RETURNED",
        }
    }

    /// The state machine, in one place.
    pub fn can_move_to(self, next: TransferStatus) -> bool {
        use TransferStatus::*;
        matches!(
            (self, next),
            (Initiated, Screening)
                | (Screening, Approved | PendingReview | Blocked)
                | (PendingReview, Approved | Blocked)
                | (Approved, Submitted)
                | (Submitted, Completed | Failed)
                | (Completed, Returned)
        )
    }

    pub fn check_move(self, next: TransferStatus) -> Result<(), IllegalTransition> {
        if self.can_move_to(next) {
            Ok(())
        } else {
            Err(IllegalTransition {
                from: self,
                to: next,
            })
        }
    }

    /// The transfer has reached an end: nothing more happens to it but a return.
    pub fn has_ended(self) -> bool {
        use TransferStatus::*;
        matches!(self, Blocked | Completed | Failed | Returned)
    }

    /// Funds stay reserved in these states; they are released (voided) on BLOCKED and FAILED.
    pub fn holds_funds(self) -> bool {
        use TransferStatus::*;
        matches!(
            self,
            Initiated | Screening | Approved | PendingReview | Submitted
        )
    }
}

impl fmt::Display for TransferStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.pad(self.as_str())
    }
}

impl FromStr for TransferStatus {
    type Err = UnknownStatus;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::ALL
            .into_iter()
            .find(|status| status.as_str() == s)
            .ok_or(UnknownStatus)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::TransferStatus::*;
    use super::*;

    #[test]
    fn the_happy_path_is_allowed() {
        let path = [
            Initiated, Screening, Approved, Submitted, Completed, Returned,
        ];
        for pair in path.windows(2) {
            assert!(pair[0].can_move_to(pair[1]), "{} → {}", pair[0], pair[1]);
        }
    }

    #[test]
    fn terminal_states_stay_terminal() {
        for terminal in [Blocked, Failed, Returned] {
            for next in TransferStatus::ALL {
                assert!(!terminal.can_move_to(next), "{terminal} → {next}");
            }
        }
    }

    #[test]
    fn skipping_screening_is_refused() {
        assert!(Initiated.check_move(Approved).is_err());
        assert!(Initiated.check_move(Submitted).is_err());
        assert!(PendingReview.check_move(Submitted).is_err());
    }

    #[test]
    fn statuses_parse_back() {
        for status in TransferStatus::ALL {
            assert_eq!(status.as_str().parse::<TransferStatus>().unwrap(), status);
        }
        assert!("approved".parse::<TransferStatus>().is_err());
    }
}
