//! Compliance cases: what staff work on when screening or monitoring holds something. A case
//! gathers one party's matters of one subject (a held transfer joins the open case of its
//! recipient); its event log is append-only; a decision on a held transfer is a
//! [`ReviewDecision`], proposed by one person and approved by a compliance officer.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};
use time::{Duration, OffsetDateTime};

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

named_enum!(
    /// Where a case not closed stands against its SLA due time (a closed case has none).
    SlaState, "overdue, due_soon, on_time" {
        /// Due at or before now.
        Overdue => "overdue",
        /// Due within [`DUE_SOON_HOURS`] from now.
        DueSoon => "due_soon",
        /// Due later than that.
        OnTime => "on_time",
    }
);

/// How close to its SLA due time a case counts as due soon: a shift's remaining hours, so the
/// inbox can show what must be picked up before handing over.
pub const DUE_SOON_HOURS: i64 = 4;

impl SlaState {
    /// The state of a case not closed that is due at `due`, seen at `now`.
    pub fn at(due: OffsetDateTime, now: OffsetDateTime) -> SlaState {
        if due <= now {
            SlaState::Overdue
        } else if due <= now + Duration::hours(DUE_SOON_HOURS) {
            SlaState::DueSoon
        } else {
            SlaState::OnTime
        }
    }
}

/// An inbox's name: 1 to 40 letters, digits, `_` or `-` (what `[cases]` configures and what
/// the inbox filter accepts).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct InboxName(String);

/// Text that is not an inbox name. The message never repeats the input.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("must be 1 to 40 letters, digits, '_' or '-'")]
pub struct BadInboxName;

impl InboxName {
    pub fn parse(text: &str) -> Result<Self, BadInboxName> {
        if text.is_empty()
            || text.len() > 40
            || !text
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
        {
            return Err(BadInboxName);
        }
        Ok(Self(text.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl FromStr for InboxName {
    type Err = BadInboxName;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

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
        assert_eq!("due_soon".parse::<SlaState>().unwrap(), SlaState::DueSoon);
        assert!("late".parse::<SlaState>().is_err());
    }

    #[test]
    fn sla_states_split_at_now_and_the_due_soon_window() {
        let now = OffsetDateTime::UNIX_EPOCH + Duration::days(20_000);
        let soon = Duration::hours(DUE_SOON_HOURS);
        assert_eq!(SlaState::at(now, now), SlaState::Overdue);
        assert_eq!(SlaState::at(now - soon, now), SlaState::Overdue);
        assert_eq!(
            SlaState::at(now + Duration::microseconds(1), now),
            SlaState::DueSoon
        );
        assert_eq!(SlaState::at(now + soon, now), SlaState::DueSoon);
        assert_eq!(
            SlaState::at(now + soon + Duration::microseconds(1), now),
            SlaState::OnTime
        );
    }

    #[test]
    fn inbox_names_are_short_plain_words() {
        for good in ["payments", "monitoring", "kyc_2", "a-b", &"x".repeat(40)] {
            assert_eq!(InboxName::parse(good).unwrap().as_str(), good);
        }
        for bad in ["", "pay ments", "<b>", "pay\nments", "ü", &"x".repeat(41)] {
            assert!(InboxName::parse(bad).is_err(), "{bad:?}");
        }
    }
}
