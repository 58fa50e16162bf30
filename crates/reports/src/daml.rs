//! The UK DAML clock (POCA 2002 s.335; DECISIONS.md, "Regulatory reporting"). A SAR asking
//! for a defence against money laundering (glossary code XXS99XX) gives the NCA a notice
//! period of 7 working days from its submission. The NCA grants consent, or refuses it, and a
//! refusal starts a moratorium of 31 calendar days starting with the day of the refusal; no
//! refusal within the notice period, or the end of the moratorium, is deemed consent. Until
//! consent (granted or deemed), the act the defence is asked for (paying the held transfer
//! out, or sending the money anywhere else) waits.
//!
//! benteng records the NCA's answers as an officer enters them; it never presumes one. A
//! period that ended without a recorded answer stays a running concern (`ended`) until an
//! officer records the deemed consent.

use time::{Duration, OffsetDateTime};

use crate::deadlines::{end_of_day, offset_at};

/// The NCA's answer to a DAML request, as an officer records it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DamlAnswer {
    /// Consent given (the defence holds).
    Granted,
    /// Consent refused within the notice period: the moratorium runs.
    Refused,
    /// No refusal by the end of the notice period, or the moratorium ended: consent deemed.
    Deemed,
}

impl DamlAnswer {
    pub const ALL: [DamlAnswer; 3] = [DamlAnswer::Granted, DamlAnswer::Refused, DamlAnswer::Deemed];

    pub fn as_str(self) -> &'static str {
        match self {
            DamlAnswer::Granted => "granted",
            DamlAnswer::Refused => "refused",
            DamlAnswer::Deemed => "deemed",
        }
    }
}

impl std::str::FromStr for DamlAnswer {
    type Err = &'static str;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        DamlAnswer::ALL
            .into_iter()
            .find(|a| a.as_str() == s)
            .ok_or("must be one of: granted, refused, deemed")
    }
}

/// Which period a DAML clock counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DamlPeriod {
    /// The NCA's 7 working days from submission.
    Notice,
    /// 31 calendar days from a refusal.
    Moratorium,
}

impl DamlPeriod {
    pub fn as_str(self) -> &'static str {
        match self {
            DamlPeriod::Notice => "notice",
            DamlPeriod::Moratorium => "moratorium",
        }
    }
}

/// Where a DAML clock stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DamlState {
    Running,
    /// Inside the warning window before the period ends.
    EndingSoon,
    /// The period ended and no answer is recorded yet: deemed consent is due to be recorded.
    Ended,
}

impl DamlState {
    pub const ALL: [DamlState; 3] = [DamlState::Running, DamlState::EndingSoon, DamlState::Ended];

    pub fn as_str(self) -> &'static str {
        match self {
            DamlState::Running => "running",
            DamlState::EndingSoon => "ending_soon",
            DamlState::Ended => "ended",
        }
    }
}

/// A running DAML clock: its period, when it ends and where it stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DamlClock {
    pub period: DamlPeriod,
    pub ends_at: OffsetDateTime,
    pub state: DamlState,
}

/// Why an answer cannot be recorded now.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum DamlRefusal {
    #[error("consent was already given (granted or deemed); nothing more to record")]
    Settled,
    #[error("a refusal comes within the notice period; after it, consent is deemed")]
    RefusalTooLate,
    #[error("consent is deemed only once the notice period (or the moratorium) has ended")]
    NotYetDeemed,
    #[error("the NCA refused once already; the moratorium runs")]
    AlreadyRefused,
}

/// The DAML request of a submitted SAR, as recorded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DamlRecord {
    /// When the notice period ends.
    pub due_at: OffsetDateTime,
    /// The latest answer recorded.
    pub answer: Option<DamlAnswer>,
    /// Set by a refusal.
    pub moratorium_ends_at: Option<OffsetDateTime>,
}

/// The end of the moratorium of a refusal received at `refused_at`: 31 days starting with
/// the day of the refusal (London), so the end of the 30th day after it.
pub fn moratorium_end(refused_at: OffsetDateTime) -> OffsetDateTime {
    let zone = "Europe/London";
    let day = refused_at.to_offset(offset_at(zone, refused_at)).date();
    end_of_day(zone, day.saturating_add(Duration::days(30)))
}

impl DamlRecord {
    /// Whether the act waits: no consent yet (no answer, or a refusal).
    pub fn holds(&self) -> bool {
        matches!(self.answer, None | Some(DamlAnswer::Refused))
    }

    /// The clock that runs at `now` (warning `warn` before its end); `None` once consent is
    /// given or deemed.
    pub fn clock(&self, now: OffsetDateTime, warn: Duration) -> Option<DamlClock> {
        let (period, ends_at) = match (self.answer, self.moratorium_ends_at) {
            (None, _) => (DamlPeriod::Notice, self.due_at),
            (Some(DamlAnswer::Refused), Some(end)) => (DamlPeriod::Moratorium, end),
            // A refusal without its end cannot be stored (a CHECK says so): counted as
            // running until the notice period's end rather than dropped.
            (Some(DamlAnswer::Refused), None) => (DamlPeriod::Moratorium, self.due_at),
            (Some(DamlAnswer::Granted | DamlAnswer::Deemed), _) => return None,
        };
        let state = if now >= ends_at {
            DamlState::Ended
        } else if now >= ends_at - warn {
            DamlState::EndingSoon
        } else {
            DamlState::Running
        };
        Some(DamlClock {
            period,
            ends_at,
            state,
        })
    }

    /// The record after `answer` is recorded at `now`, or why it cannot be.
    pub fn answer(&self, answer: DamlAnswer, now: OffsetDateTime) -> Result<Self, DamlRefusal> {
        let after = |moratorium_ends_at| Self {
            due_at: self.due_at,
            answer: Some(answer),
            moratorium_ends_at,
        };
        match (self.answer, answer) {
            (Some(DamlAnswer::Granted | DamlAnswer::Deemed), _) => Err(DamlRefusal::Settled),
            // The NCA may give consent at any time, the moratorium included.
            (None | Some(DamlAnswer::Refused), DamlAnswer::Granted) => {
                Ok(after(self.moratorium_ends_at))
            }
            (None, DamlAnswer::Refused) if now < self.due_at => {
                Ok(after(Some(moratorium_end(now))))
            }
            (None, DamlAnswer::Refused) => Err(DamlRefusal::RefusalTooLate),
            (Some(DamlAnswer::Refused), DamlAnswer::Refused) => Err(DamlRefusal::AlreadyRefused),
            (None, DamlAnswer::Deemed) if now >= self.due_at => Ok(after(None)),
            (Some(DamlAnswer::Refused), DamlAnswer::Deemed)
                if self.moratorium_ends_at.is_some_and(|end| now >= end) =>
            {
                Ok(after(self.moratorium_ends_at))
            }
            (_, DamlAnswer::Deemed) => Err(DamlRefusal::NotYetDeemed),
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use time::macros::datetime;

    use super::*;

    fn request() -> DamlRecord {
        DamlRecord {
            due_at: datetime!(2026-12-10 00:00 UTC),
            answer: None,
            moratorium_ends_at: None,
        }
    }

    #[test]
    fn the_moratorium_is_31_days_starting_with_the_day_of_refusal_in_london() {
        // Refused on 1 Dec (day 1) → the 31st day is 31 Dec; it ends at midnight, GMT.
        assert_eq!(
            moratorium_end(datetime!(2026-12-01 15:00 UTC)),
            datetime!(2027-01-01 00:00 UTC)
        );
        // Across the clocks going back (25 Oct 2026): 1 Oct + 30 = 31 Oct, GMT again.
        assert_eq!(
            moratorium_end(datetime!(2026-10-01 09:00 UTC)),
            datetime!(2026-11-01 00:00 UTC)
        );
        // 23:30 UTC in summer is already the next day in London.
        assert_eq!(
            moratorium_end(datetime!(2026-06-01 23:30 UTC)),
            datetime!(2026-07-02 23:00 UTC)
        );
    }

    #[test]
    fn the_notice_period_runs_warns_and_ends_and_only_consent_stops_it() {
        let r = request();
        let warn = Duration::hours(24);
        let state = |now| r.clock(now, warn).unwrap().state;
        assert_eq!(state(datetime!(2026-12-08 12:00 UTC)), DamlState::Running);
        assert_eq!(
            state(datetime!(2026-12-09 00:00 UTC)),
            DamlState::EndingSoon
        );
        assert_eq!(state(datetime!(2026-12-10 00:00 UTC)), DamlState::Ended);
        assert!(r.holds());
        let granted = r
            .answer(DamlAnswer::Granted, datetime!(2026-12-05 10:00 UTC))
            .unwrap();
        assert!(!granted.holds() && granted.clock(r.due_at, warn).is_none());
        assert_eq!(
            granted.answer(DamlAnswer::Refused, datetime!(2026-12-05 11:00 UTC)),
            Err(DamlRefusal::Settled)
        );
    }

    #[test]
    fn a_refusal_starts_the_moratorium_and_consent_is_deemed_only_after_a_period_ends() {
        let r = request();
        let early = datetime!(2026-12-05 10:00 UTC);
        assert_eq!(
            r.answer(DamlAnswer::Deemed, early),
            Err(DamlRefusal::NotYetDeemed)
        );
        assert_eq!(
            r.answer(DamlAnswer::Refused, r.due_at),
            Err(DamlRefusal::RefusalTooLate)
        );
        let refused = r.answer(DamlAnswer::Refused, early).unwrap();
        let end = refused.moratorium_ends_at.unwrap();
        assert_eq!(end, datetime!(2027-01-05 00:00 UTC));
        assert!(refused.holds());
        let clock = refused.clock(r.due_at, Duration::hours(24)).unwrap();
        assert_eq!(
            (clock.period, clock.state),
            (DamlPeriod::Moratorium, DamlState::Running)
        );
        assert_eq!(
            refused.answer(DamlAnswer::Deemed, end - Duration::SECOND),
            Err(DamlRefusal::NotYetDeemed)
        );
        assert!(!refused.answer(DamlAnswer::Deemed, end).unwrap().holds());
        // The NCA may still consent during the moratorium.
        assert!(!refused.answer(DamlAnswer::Granted, early).unwrap().holds());
        // Silence through the notice period: deemed once it ended.
        assert!(!r.answer(DamlAnswer::Deemed, r.due_at).unwrap().holds());
    }
}
