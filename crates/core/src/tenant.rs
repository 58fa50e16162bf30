//! Tenants: the businesses that hold balances and call the API.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use crate::ids::TenantId;

/// Commercial tier: sets rate limits and daily volume caps.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Tier {
    Starter,
    Growth,
    Enterprise,
}

/// Only an active tenant's credentials are honoured.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TenantStatus {
    Active,
    Suspended,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TenantError {
    #[error("tier must be one of starter, growth, enterprise")]
    InvalidTier,
    #[error("status must be active or suspended")]
    InvalidStatus,
    #[error("tenant name must be 1 to 200 characters with no control characters")]
    InvalidName,
}

/// A tenant's display name: 1–200 characters, trimmed, no control or bidi-override characters.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct TenantName(String);

impl TryFrom<String> for TenantName {
    type Error = TenantError;

    fn try_from(value: String) -> Result<Self, Self::Error> {
        value.parse()
    }
}

impl From<TenantName> for String {
    fn from(name: TenantName) -> Self {
        name.0
    }
}

impl TenantName {
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl FromStr for TenantName {
    type Err = TenantError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let trimmed = s.trim();
        let length = trimmed.chars().count();
        let clean = !trimmed
            .chars()
            .any(|c| c.is_control() || is_bidi_control(c));
        if (1..=200).contains(&length) && clean {
            Ok(Self(trimmed.to_owned()))
        } else {
            Err(TenantError::InvalidName)
        }
    }
}

impl fmt::Display for TenantName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.pad(&self.0)
    }
}

/// Characters that reorder text on screen and can disguise what a name says.
fn is_bidi_control(c: char) -> bool {
    matches!(c, '\u{200E}' | '\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}')
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Tenant {
    pub id: TenantId,
    pub name: TenantName,
    pub tier: Tier,
    pub status: TenantStatus,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
}

impl Tenant {
    pub fn new(name: TenantName, tier: Tier, now: OffsetDateTime) -> Self {
        Self {
            id: TenantId::new(),
            name,
            tier,
            status: TenantStatus::Active,
            created_at: now,
        }
    }

    pub fn is_active(&self) -> bool {
        self.status == TenantStatus::Active
    }
}

macro_rules! text_enum {
    ($ty:ident, $err:expr, { $($variant:ident => $text:literal),+ $(,)? }) => {
        impl $ty {
            pub fn as_str(&self) -> &'static str {
                match self {
                    $(Self::$variant => $text,)+
                }
            }
        }

        impl FromStr for $ty {
            type Err = TenantError;

            fn from_str(s: &str) -> Result<Self, Self::Err> {
                match s {
                    $($text => Ok(Self::$variant),)+
                    _ => Err($err),
                }
            }
        }

        impl fmt::Display for $ty {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.pad(self.as_str())
            }
        }
    };
}

text_enum!(Tier, TenantError::InvalidTier, {
    Starter => "starter",
    Growth => "growth",
    Enterprise => "enterprise",
});

text_enum!(TenantStatus, TenantError::InvalidStatus, {
    Active => "active",
    Suspended => "suspended",
});

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn tier_parses_exactly() {
        assert_eq!("growth".parse::<Tier>().unwrap(), Tier::Growth);
        assert!("Growth".parse::<Tier>().is_err());
        assert!("".parse::<Tier>().is_err());
    }

    #[test]
    fn names_refuse_control_and_bidi_characters() {
        assert!("PT Maju Jaya".parse::<TenantName>().is_ok());
        assert!("".parse::<TenantName>().is_err());
        assert!("   ".parse::<TenantName>().is_err());
        assert!("a\0b".parse::<TenantName>().is_err());
        assert!("abc\u{202E}fdp.exe".parse::<TenantName>().is_err());
        assert!("x".repeat(201).parse::<TenantName>().is_err());
        assert_eq!("  Acme  ".parse::<TenantName>().unwrap().as_str(), "Acme");
    }
}
