//! API keys: `sk_{live|test}_{tenant id, 32 hex}_{43 base62 characters}`.
//!
//! The key embeds its tenant so a key presented for the wrong tenant can be refused before any
//! lookup, and so support staff can tell whose key leaked from its prefix alone. The random part
//! carries 256 bits from the OS CSPRNG (43 × log2 62 ≥ 256).

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use crate::ids::{ApiKeyId, TenantId};
use crate::network::NetworkAllowList;
use crate::scopes::Scopes;

/// Characters of the random part.
pub const SECRET_LEN: usize = 43;
/// How much of a key is kept in clear to recognise it in listings: `sk_live_` + tenant + `_` + 4.
pub const DISPLAY_PREFIX_LEN: usize = 8 + 32 + 1 + 4;
pub const BASE62: &[u8; 62] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

/// Live keys move real money; test keys only touch the sandbox rail.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum KeyEnvironment {
    Live,
    Test,
}

impl KeyEnvironment {
    pub fn as_str(&self) -> &'static str {
        match self {
            Self::Live => "live",
            Self::Test => "test",
        }
    }
}

impl fmt::Display for KeyEnvironment {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.pad(self.as_str())
    }
}

impl FromStr for KeyEnvironment {
    type Err = MalformedApiKey;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "live" => Ok(Self::Live),
            "test" => Ok(Self::Test),
            _ => Err(MalformedApiKey),
        }
    }
}

/// Deliberately says nothing about which part was wrong: that would help a guesser.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("malformed API key")]
pub struct MalformedApiKey;

/// What the format of a presented key tells before any lookup.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ApiKeyShape {
    pub environment: KeyEnvironment,
    pub tenant_id: TenantId,
}

impl ApiKeyShape {
    /// Checks the format of a presented key. Does not allocate, so it is cheap to run on every
    /// request before hashing.
    pub fn parse(key: &str) -> Result<Self, MalformedApiKey> {
        let rest = key.strip_prefix("sk_").ok_or(MalformedApiKey)?;
        let (environment, rest) = rest.split_once('_').ok_or(MalformedApiKey)?;
        let (tenant, secret) = rest.split_once('_').ok_or(MalformedApiKey)?;
        let environment = environment.parse()?;
        let tenant_is_hex = tenant.len() == 32
            && tenant
                .bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b));
        let secret_is_base62 =
            secret.len() == SECRET_LEN && secret.bytes().all(|b| b.is_ascii_alphanumeric());
        if !tenant_is_hex || !secret_is_base62 {
            return Err(MalformedApiKey);
        }
        let tenant_id = uuid::Uuid::try_parse(tenant).map_err(|_| MalformedApiKey)?;
        Ok(Self {
            environment,
            tenant_id: tenant_id.into(),
        })
    }

    /// Assembles a key from its parts; the secret must be `SECRET_LEN` base62 characters.
    pub fn assemble(&self, secret: &str) -> Result<String, MalformedApiKey> {
        let key = format!(
            "sk_{}_{}_{}",
            self.environment,
            self.tenant_id.simple(),
            secret
        );
        Self::parse(&key).map(|_| key)
    }
}

/// The stored record of a key. The key itself is never stored: only its keyed hash.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ApiKeyRecord {
    pub id: ApiKeyId,
    pub tenant_id: TenantId,
    pub environment: KeyEnvironment,
    /// The first `DISPLAY_PREFIX_LEN` characters, enough to recognise a key, useless to use it.
    pub display_prefix: String,
    pub hash: [u8; 32],
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339::option")]
    pub expires_at: Option<OffsetDateTime>,
    #[serde(with = "time::serde::rfc3339::option")]
    pub revoked_at: Option<OffsetDateTime>,
    /// What the key may do. No serde default on purpose: a cached record from before scopes
    /// fails to read and the key is looked up in the database instead.
    pub scopes: Scopes,
    /// Where the key may be used from; empty for any network. No serde default either, for the
    /// same reason: an entry an older instance cached (it never knew a key's networks) must not
    /// read as "any network" for a key that is restricted now.
    pub networks: NetworkAllowList,
}

/// Why a known key is not honoured.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyRefusal {
    Expired,
    Revoked,
}

impl ApiKeyRecord {
    pub fn check_usable(&self, now: OffsetDateTime) -> Result<(), KeyRefusal> {
        if self.revoked_at.is_some() {
            return Err(KeyRefusal::Revoked);
        }
        match self.expires_at {
            Some(expires) if expires <= now => Err(KeyRefusal::Expired),
            _ => Ok(()),
        }
    }
}

/// The part of a key that may be shown after issue.
pub fn display_prefix(key: &str) -> String {
    key.chars().take(DISPLAY_PREFIX_LEN).collect()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn secret() -> String {
        "A".repeat(SECRET_LEN)
    }

    #[test]
    fn assembled_keys_parse_back() {
        let shape = ApiKeyShape {
            environment: KeyEnvironment::Test,
            tenant_id: TenantId::new(),
        };
        let key = shape.assemble(&secret()).unwrap();
        assert!(key.starts_with("sk_test_"));
        assert_eq!(ApiKeyShape::parse(&key).unwrap(), shape);
        assert_eq!(display_prefix(&key).len(), DISPLAY_PREFIX_LEN);
    }

    #[test]
    fn malformed_keys_are_refused() {
        let tenant = TenantId::new().simple();
        let good = format!("sk_live_{tenant}_{}", secret());
        assert!(ApiKeyShape::parse(&good).is_ok());
        for bad in [
            String::new(),
            "sk_live_".to_owned(),
            format!("pk_live_{tenant}_{}", secret()),
            format!("sk_prod_{tenant}_{}", secret()),
            format!("sk_live_{}_{}", tenant.to_uppercase(), secret()),
            format!("sk_live_{tenant}_{}", "A".repeat(SECRET_LEN - 1)),
            format!("sk_live_{tenant}_{}!", "A".repeat(SECRET_LEN - 1)),
            format!("sk_live_{tenant}_{}\u{0}", secret()),
            format!("sk_live_{tenant}_{}é", "A".repeat(SECRET_LEN - 2)),
            "x".repeat(10_000),
        ] {
            assert!(ApiKeyShape::parse(&bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn usability_follows_expiry_and_revocation() {
        let now = crate::now();
        let mut record = ApiKeyRecord {
            id: ApiKeyId::new(),
            tenant_id: TenantId::new(),
            environment: KeyEnvironment::Live,
            display_prefix: String::new(),
            hash: [0; 32],
            created_at: now,
            expires_at: None,
            revoked_at: None,
            scopes: crate::scopes::Scopes::all(),
            networks: crate::network::NetworkAllowList::any(),
        };
        assert_eq!(record.check_usable(now), Ok(()));
        record.expires_at = Some(now);
        assert_eq!(record.check_usable(now), Err(KeyRefusal::Expired));
        record.expires_at = Some(now + time::Duration::days(1));
        record.revoked_at = Some(now);
        assert_eq!(record.check_usable(now), Err(KeyRefusal::Revoked));
    }
}
