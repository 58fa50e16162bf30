//! The one clock. Everything that decides with the time (quote expiry, a transfer's timestamps,
//! the rails' schedule) asks a `Clock` it was handed, so tests can move time instead of waiting.

use std::sync::Mutex;

use time::OffsetDateTime;

/// A source of the current time, at the precision the store keeps (microseconds), so a value
/// read back equals the value written.
pub trait Clock: Send + Sync + std::fmt::Debug {
    fn now(&self) -> OffsetDateTime;
}

/// Truncates to whole microseconds.
fn to_micros(t: OffsetDateTime) -> OffsetDateTime {
    t.replace_nanosecond(t.nanosecond() / 1_000 * 1_000)
        .unwrap_or(t)
}

/// The system's wall clock (UTC).
#[derive(Debug, Default, Clone, Copy)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> OffsetDateTime {
        to_micros(OffsetDateTime::now_utc())
    }
}

/// A clock that stands still until it is moved: for tests.
#[derive(Debug)]
pub struct ManualClock(Mutex<OffsetDateTime>);

impl ManualClock {
    pub fn new(start: OffsetDateTime) -> Self {
        Self(Mutex::new(to_micros(start)))
    }

    pub fn advance(&self, by: time::Duration) {
        let mut now = self
            .0
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        *now = to_micros(*now + by);
    }
}

impl Clock for ManualClock {
    fn now(&self) -> OffsetDateTime {
        *self
            .0
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn readings_are_whole_microseconds_and_a_manual_clock_moves_only_when_told() {
        assert_eq!(SystemClock.now().nanosecond() % 1_000, 0);
        let start = time::macros::datetime!(2026-12-06 10:00:00.123_456_789 UTC);
        let clock = ManualClock::new(start);
        assert_eq!(
            clock.now(),
            time::macros::datetime!(2026-12-06 10:00:00.123_456 UTC)
        );
        assert_eq!(clock.now(), clock.now());
        clock.advance(time::Duration::seconds(61));
        assert_eq!(
            clock.now(),
            time::macros::datetime!(2026-12-06 10:01:01.123_456 UTC)
        );
    }
}
