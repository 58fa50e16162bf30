//! What an API key may do: a closed set of scopes, each naming a resource and an access
//! (`transfers:write`). Every tenant route needs one; the `Authenticator` checks it.
//!
//! Scope names are parsed strictly, byte for byte: no case folding, no trimming, nothing outside
//! the list. A set is a bitset, so checking a scope costs one AND.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// One permission of an API key.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[repr(u8)]
pub enum Scope {
    TransfersRead,
    TransfersWrite,
    RecipientsRead,
    RecipientsWrite,
    QuotesWrite,
    BalancesRead,
    AuditRead,
    TenantRead,
    /// Create, change and delete webhook endpoints, send test deliveries, read deliveries.
    WebhooksManage,
    KycRead,
    KycWrite,
}

impl Scope {
    /// Every scope, in the order sets are written.
    pub const ALL: [Scope; 11] = [
        Scope::TransfersRead,
        Scope::TransfersWrite,
        Scope::RecipientsRead,
        Scope::RecipientsWrite,
        Scope::QuotesWrite,
        Scope::BalancesRead,
        Scope::AuditRead,
        Scope::TenantRead,
        Scope::WebhooksManage,
        Scope::KycRead,
        Scope::KycWrite,
    ];

    pub const fn as_str(self) -> &'static str {
        match self {
            Scope::TransfersRead => "transfers:read",
            Scope::TransfersWrite => "transfers:write",
            Scope::RecipientsRead => "recipients:read",
            Scope::RecipientsWrite => "recipients:write",
            Scope::QuotesWrite => "quotes:write",
            Scope::BalancesRead => "balances:read",
            Scope::AuditRead => "audit:read",
            Scope::TenantRead => "tenant:read",
            Scope::WebhooksManage => "webhooks:manage",
            Scope::KycRead => "kyc:read",
            Scope::KycWrite => "kyc:write",
        }
    }

    /// Grants only reading.
    pub fn is_read(self) -> bool {
        self.as_str().ends_with(":read")
    }

    const fn bit(self) -> u16 {
        1 << self as u8
    }
}

impl fmt::Display for Scope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.pad(self.as_str())
    }
}

/// A scope name that is not one of [`Scope::ALL`]. Carries a bounded, escaped excerpt of the
/// text so a hostile value cannot flood an error message or a terminal.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown scope {excerpt} (known: {known})", known = known_list())]
pub struct UnknownScope {
    excerpt: String,
}

fn known_list() -> String {
    Scopes::all().to_string()
}

impl UnknownScope {
    fn of(text: &str) -> Self {
        let mut excerpt: String = text.chars().take(40).collect();
        if excerpt.len() < text.len() {
            excerpt.push('…');
        }
        Self {
            excerpt: format!("{excerpt:?}"),
        }
    }
}

impl FromStr for Scope {
    type Err = UnknownScope;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        Scope::ALL
            .into_iter()
            .find(|scope| scope.as_str() == text)
            .ok_or_else(|| UnknownScope::of(text))
    }
}

/// A set of scopes. Written as the scope names separated by single spaces, in [`Scope::ALL`]'s
/// order; parsing refuses unknown names, duplicates and any other spacing.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Scopes(u16);

impl Scopes {
    pub const fn empty() -> Self {
        Self(0)
    }

    /// Every scope: what keys get unless issued with fewer, and what keys issued before scopes
    /// existed were given.
    pub fn all() -> Self {
        Scope::ALL.into_iter().collect()
    }

    /// Every `:read` scope: a key that can look but not change anything.
    pub fn read_only() -> Self {
        Scope::ALL.into_iter().filter(|s| s.is_read()).collect()
    }

    pub const fn contains(self, scope: Scope) -> bool {
        self.0 & scope.bit() != 0
    }

    #[must_use]
    pub const fn with(self, scope: Scope) -> Self {
        Self(self.0 | scope.bit())
    }

    pub fn is_empty(self) -> bool {
        self.0 == 0
    }

    pub fn iter(self) -> impl Iterator<Item = Scope> {
        Scope::ALL.into_iter().filter(move |s| self.contains(*s))
    }
}

impl FromIterator<Scope> for Scopes {
    fn from_iter<I: IntoIterator<Item = Scope>>(iter: I) -> Self {
        iter.into_iter().fold(Scopes::empty(), Scopes::with)
    }
}

/// Why a list of scopes was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ScopesError {
    #[error(transparent)]
    Unknown(#[from] UnknownScope),
    #[error("scope {0} is listed twice")]
    Duplicate(Scope),
    #[error("a scope list is names separated by single spaces")]
    Spacing,
}

impl Scopes {
    /// Parses names from any source (CLI flags, a stored column): each must be a known scope,
    /// and none may repeat.
    pub fn from_names<'a>(names: impl IntoIterator<Item = &'a str>) -> Result<Self, ScopesError> {
        names.into_iter().try_fold(Scopes::empty(), |set, name| {
            let scope: Scope = name.parse()?;
            if set.contains(scope) {
                return Err(ScopesError::Duplicate(scope));
            }
            Ok(set.with(scope))
        })
    }
}

impl FromStr for Scopes {
    type Err = ScopesError;

    /// The stored form: names separated by single spaces (the empty string is the empty set).
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        if text.is_empty() {
            return Ok(Scopes::empty());
        }
        if text.split(' ').any(str::is_empty) {
            return Err(ScopesError::Spacing);
        }
        Scopes::from_names(text.split(' '))
    }
}

impl fmt::Display for Scopes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, scope) in self.iter().enumerate() {
            if i > 0 {
                f.write_str(" ")?;
            }
            f.write_str(scope.as_str())?;
        }
        Ok(())
    }
}

impl fmt::Debug for Scopes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Scopes({self})")
    }
}

impl Serialize for Scopes {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Scopes {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn every_scope_round_trips_through_its_name() {
        for scope in Scope::ALL {
            assert_eq!(scope.as_str().parse::<Scope>().unwrap(), scope);
        }
        assert_eq!(Scope::ALL.len() as u32, Scopes::all().0.count_ones());
    }

    #[test]
    fn sets_round_trip_through_text() {
        for set in [Scopes::all(), Scopes::read_only(), Scopes::empty()] {
            assert_eq!(set.to_string().parse::<Scopes>().unwrap(), set);
        }
        let set: Scopes = "transfers:read quotes:write".parse().unwrap();
        assert!(set.contains(Scope::TransfersRead) && set.contains(Scope::QuotesWrite));
        assert!(!set.contains(Scope::TransfersWrite));
        // Written in the canonical order whatever the order given.
        let reordered: Scopes = "quotes:write transfers:read".parse().unwrap();
        assert_eq!(reordered.to_string(), "transfers:read quotes:write");
    }

    #[test]
    fn read_only_is_exactly_the_read_scopes() {
        let read_only = Scopes::read_only();
        for scope in Scope::ALL {
            assert_eq!(read_only.contains(scope), scope.as_str().ends_with(":read"));
        }
        assert!(!read_only.contains(Scope::TransfersWrite));
        assert!(!read_only.contains(Scope::QuotesWrite));
    }

    #[test]
    fn hostile_names_are_refused() {
        for text in [
            "transfers:admin",
            "Transfers:read",
            "TRANSFERS:READ",
            " transfers:read",
            "transfers:read ",
            "transfers: read",
            "transfers:read\n",
            "transfers:read\0",
            "transfers",
            ":read",
            "*",
            // Cyrillic а (U+0430) and a fullwidth colon: look alike, are not.
            "tr\u{430}nsfers:read",
            "transfers\u{ff1a}read",
            // A zero-width space inside.
            "transfers:\u{200b}read",
        ] {
            assert!(text.parse::<Scope>().is_err(), "{text:?}");
        }
    }

    #[test]
    fn hostile_lists_are_refused() {
        assert_eq!(
            "transfers:read transfers:read".parse::<Scopes>(),
            Err(ScopesError::Duplicate(Scope::TransfersRead))
        );
        for text in [
            "transfers:read  quotes:write",
            " transfers:read",
            "transfers:read ",
            " ",
        ] {
            assert_eq!(
                text.parse::<Scopes>(),
                Err(ScopesError::Spacing),
                "{text:?}"
            );
        }
        assert!(matches!(
            "transfers:read\tquotes:write".parse::<Scopes>(),
            Err(ScopesError::Unknown(_))
        ));
        assert!(matches!(
            "transfers:read,quotes:write".parse::<Scopes>(),
            Err(ScopesError::Unknown(_))
        ));
    }

    #[test]
    fn a_very_long_name_is_refused_with_a_bounded_message() {
        let long = "x".repeat(1_000_000);
        let error = long.parse::<Scope>().unwrap_err().to_string();
        assert!(error.len() < 400, "{}", error.len());
        assert!(error.contains("transfers:write"), "names the known scopes");
        let long_list = "transfers:read ".repeat(100_000);
        assert!(long_list.parse::<Scopes>().is_err());
    }

    #[test]
    fn control_characters_do_not_reach_the_message_raw() {
        let error = "\u{1b}[31mred".parse::<Scope>().unwrap_err().to_string();
        assert!(!error.contains('\u{1b}'));
    }

    #[test]
    fn serde_uses_the_text_form_and_refuses_unknown_names() {
        let json = serde_json::to_string(&Scopes::read_only()).unwrap();
        assert_eq!(
            serde_json::from_str::<Scopes>(&json).unwrap(),
            Scopes::read_only()
        );
        assert!(serde_json::from_str::<Scopes>("\"transfers:all\"").is_err());
    }
}
