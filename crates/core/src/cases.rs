//! Compliance cases: what staff work on when screening or monitoring holds something. A case
//! gathers one party's matters of one subject (a held transfer joins the open case of its
//! recipient); its event log is append-only; a decision on a held transfer is a
//! [`ReviewDecision`], proposed by one person and approved by a compliance officer.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// What a reviewer decides about a held transfer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ReviewDecision {
    /// Release the transfer: it goes on as if approved.
    Release,
    /// Block it: the reservation is voided.
    Block,
}

impl ReviewDecision {
    /// Every decision, in the order requests list them.
    pub const ALL: [ReviewDecision; 2] = [ReviewDecision::Release, ReviewDecision::Block];

    pub fn as_str(self) -> &'static str {
        match self {
            ReviewDecision::Release => "release",
            ReviewDecision::Block => "block",
        }
    }

    /// The case's outcome when this decision closes it.
    pub fn outcome(self) -> CaseOutcome {
        match self {
            ReviewDecision::Release => CaseOutcome::FalsePositive,
            ReviewDecision::Block => CaseOutcome::TruePositive,
        }
    }
}

/// A value that is not one of a closed set's names.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("must be one of: {0}")]
pub struct UnknownName(pub &'static str);

impl FromStr for ReviewDecision {
    type Err = UnknownName;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "release" => Ok(ReviewDecision::Release),
            "block" => Ok(ReviewDecision::Block),
            _ => Err(UnknownName("release, block")),
        }
    }
}

macro_rules! named_enum {
    ($(#[$doc:meta])* $name:ident, $all:literal {
        $($(#[$vdoc:meta])* $variant:ident => $text:literal),+ $(,)?
    }) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum $name {
            $($(#[$vdoc])* $variant),+
        }

        impl $name {
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            pub fn as_str(self) -> &'static str {
                match self {
                    $($name::$variant => $text),+
                }
            }
        }

        impl FromStr for $name {
            type Err = UnknownName;

            fn from_str(s: &str) -> Result<Self, Self::Err> {
                Self::ALL
                    .iter()
                    .copied()
                    .find(|v| v.as_str() == s)
                    .ok_or(UnknownName($all))
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}

named_enum!(
    /// Where a case stands.
    CaseStatus, "open, investigating, waiting, closed" {
        Open => "open",
        Investigating => "investigating",
        Waiting => "waiting",
        Closed => "closed",
    }
);

named_enum!(
    /// What a closed case came to.
    CaseOutcome, "false_positive, true_positive, inconclusive" {
        FalsePositive => "false_positive",
        TruePositive => "true_positive",
        Inconclusive => "inconclusive",
    }
);

named_enum!(
    /// What a case is about; a party has at most one open case per subject.
    CaseSubject, "payments, screening, monitoring, kyc" {
        /// Transfers held for review.
        Payments => "payments",
        /// Screening hits from a rescreen or a list update.
        Screening => "screening",
        /// Monitoring alerts.
        Monitoring => "monitoring",
        /// KYC upgrade requests.
        Kyc => "kyc",
    }
);

named_enum!(
    /// How the inbox is ordered.
    InboxSort, "sla, score" {
        /// Soonest SLA due first.
        Sla => "sla",
        /// Highest priority (risk score) first.
        Score => "score",
    }
);

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn names_round_trip_and_unknown_ones_are_refused() {
        for status in CaseStatus::ALL {
            assert_eq!(status.as_str().parse::<CaseStatus>().unwrap(), *status);
        }
        assert!("OPEN".parse::<CaseStatus>().is_err());
        assert!("<script>".parse::<CaseOutcome>().is_err());
        assert_eq!(
            "block".parse::<ReviewDecision>().unwrap(),
            ReviewDecision::Block
        );
        assert!("approve".parse::<ReviewDecision>().is_err());
        assert_eq!(ReviewDecision::Block.outcome(), CaseOutcome::TruePositive);
    }
}
