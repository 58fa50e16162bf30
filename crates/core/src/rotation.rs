//! The timeline of a rotated signing key, shared by every key that others must learn before it
//! signs (webhook JWS keys, ISO 20022 XMLDSig certificates): a new key is made and handed out
//! (published, registered by counterparties), signs from its `signs_from`, stops signing when
//! its successor starts, and is still accepted for `overlap` after that; then it is retired.

use time::{Duration, OffsetDateTime};

/// Where one key is at a given moment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Phase {
    /// Handed out, not signing yet.
    Published,
    /// The key that signs.
    Signing,
    /// No longer signs; what it signed is still accepted (until `superseded_at + overlap`).
    Retiring,
    /// No longer signs nor accepted.
    Retired,
}

impl Phase {
    pub fn as_str(&self) -> &'static str {
        match self {
            Phase::Published => "published",
            Phase::Signing => "signing",
            Phase::Retiring => "retiring",
            Phase::Retired => "retired",
        }
    }

    /// Whether the key is still published / accepted (every phase but retired).
    pub fn is_live(&self) -> bool {
        *self != Phase::Retired
    }
}

/// One key's place: its phase and when its successor started (or starts) signing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Place {
    pub phase: Phase,
    pub superseded_at: Option<OffsetDateTime>,
}

/// The places of keys given oldest first by their `signs_from`, at `now`. A key is superseded
/// by the earliest `signs_from` among the keys after it.
pub fn timeline(
    signs_from: &[OffsetDateTime],
    now: OffsetDateTime,
    overlap: Duration,
) -> Vec<Place> {
    signs_from
        .iter()
        .enumerate()
        .map(|(i, from)| {
            let superseded_at = signs_from[i + 1..].iter().min().copied();
            let phase = match superseded_at {
                Some(at) if at + overlap <= now => Phase::Retired,
                Some(at) if at <= now => Phase::Retiring,
                _ if *from <= now => Phase::Signing,
                _ => Phase::Published,
            };
            Place {
                phase,
                superseded_at,
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_rotated_key_is_published_then_signs_then_retires_after_the_overlap() {
        let t0 = OffsetDateTime::UNIX_EPOCH;
        let day = Duration::days(1);
        let keys = [t0, t0 + day * 10];
        let at = |d: i32| timeline(&keys, t0 + day * d, day * 14);
        let phases = |d: i32| at(d).iter().map(|p| p.phase).collect::<Vec<_>>();
        assert_eq!(phases(1), [Phase::Signing, Phase::Published]);
        assert_eq!(phases(10), [Phase::Retiring, Phase::Signing]);
        assert_eq!(phases(23), [Phase::Retiring, Phase::Signing]);
        assert_eq!(phases(24), [Phase::Retired, Phase::Signing]);
        assert_eq!(at(1)[0].superseded_at, Some(t0 + day * 10));
        assert_eq!(at(1)[1].superseded_at, None);
    }
}
