//! Staff API tokens: the credential automation uses on the operator API in place of a browser
//! session. What a token looks like and what its issue request may say; no I/O.
//!
//! A token is `bt_staff_` and 43 base62 characters (over 256 bits). The shape is checked before
//! anything else, so a malformed token costs no hashing and no lookup.

use std::fmt;
use std::str::FromStr;

/// Every staff token starts with this (a secret scanner can find leaked ones by it).
pub const PREFIX: &str = "bt_staff_";
/// The random part: 43 base62 characters, log2(62) × 43 ≈ 256.0 bits.
pub const SECRET_LEN: usize = 43;
/// The longest lifetime a token may be issued with, in days.
pub const MAX_DAYS: u16 = 90;

/// Whether `token` has a staff token's shape: the prefix and 43 ASCII alphanumerics. Checks
/// bytes only (no allocation), so it is safe to run on anything a client sends.
pub fn is_well_formed(token: &str) -> bool {
    token.len() == PREFIX.len() + SECRET_LEN
        && token.starts_with(PREFIX)
        && token.as_bytes()[PREFIX.len()..]
            .iter()
            .all(u8::is_ascii_alphanumeric)
}

/// Why a token name or lifetime was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum TokenFieldError {
    #[error("1 to 100 characters")]
    NameLength,
    #[error("no control characters")]
    NameControl,
    #[error("1 to 90 days")]
    Lifetime,
}

/// A token's name: what the person calls it ("nightly export"), 1 to 100 characters, no
/// control characters (it is shown in lists and written to the audit trail).
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct TokenName(String);

impl TokenName {
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl FromStr for TokenName {
    type Err = TokenFieldError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let length = text.chars().count();
        if !(1..=100).contains(&length) || text.trim().is_empty() {
            return Err(TokenFieldError::NameLength);
        }
        if text.chars().any(char::is_control) {
            return Err(TokenFieldError::NameControl);
        }
        Ok(Self(text.to_owned()))
    }
}

impl fmt::Display for TokenName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.pad(&self.0)
    }
}

impl fmt::Debug for TokenName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "TokenName({:?})", self.0)
    }
}

/// How long a token lives, in whole days: 1 to [`MAX_DAYS`]. Tokens always expire, so a
/// forgotten one stops on its own.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TokenLifetime(u16);

impl TokenLifetime {
    pub fn days(days: i64) -> Result<Self, TokenFieldError> {
        u16::try_from(days)
            .ok()
            .filter(|d| (1..=MAX_DAYS).contains(d))
            .map(Self)
            .ok_or(TokenFieldError::Lifetime)
    }

    pub fn duration(self) -> time::Duration {
        time::Duration::days(i64::from(self.0))
    }

    pub fn as_days(self) -> u16 {
        self.0
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn only_the_exact_shape_is_well_formed() {
        let good = format!("{PREFIX}{}", "a1B2".repeat(11).get(..43).unwrap());
        assert!(is_well_formed(&good));
        assert!(!is_well_formed(&good[..good.len() - 1]));
        assert!(!is_well_formed(&format!("{good}x")));
        assert!(!is_well_formed(&good.replacen("bt_staff_", "bt_stafF_", 1)));
        assert!(!is_well_formed(&good.replacen('a', "-", 1)));
        assert!(!is_well_formed(&good.replacen('a', "é", 1)));
        assert!(!is_well_formed(""));
    }

    #[test]
    fn names_and_lifetimes_are_bounded() {
        assert!("nightly export".parse::<TokenName>().is_ok());
        assert_eq!("".parse::<TokenName>(), Err(TokenFieldError::NameLength));
        assert_eq!("   ".parse::<TokenName>(), Err(TokenFieldError::NameLength));
        assert!("x".repeat(100).parse::<TokenName>().is_ok());
        assert!("x".repeat(101).parse::<TokenName>().is_err());
        assert_eq!(
            "a\nb".parse::<TokenName>(),
            Err(TokenFieldError::NameControl)
        );
        assert_eq!(
            "a\u{7f}b".parse::<TokenName>(),
            Err(TokenFieldError::NameControl)
        );
        assert!(TokenLifetime::days(0).is_err());
        assert!(TokenLifetime::days(91).is_err());
        assert!(TokenLifetime::days(-1).is_err());
        assert_eq!(TokenLifetime::days(90).unwrap().as_days(), 90);
    }
}
