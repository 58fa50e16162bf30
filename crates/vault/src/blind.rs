//! Blind indexes: equality lookups on encrypted columns without decrypting them.

use std::fmt;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use benteng_crypto::{KeyedHasher, SecretString};

use crate::VaultError;
use crate::aad::put_lp;
use crate::ids::validate_name;

/// HMAC-SHA-256 under its own index key (never a DEK or KEK), over a caller-normalised value,
/// domain-separated by an index name (`iban`, `account_number`, `nik`...), so two indexes over
/// equal strings never share a value. Deterministic by design: it supports equality lookups
/// only, and reveals which rows share a value to whoever can read the index column.
#[derive(Clone)]
pub struct BlindIndex {
    hasher: KeyedHasher,
}

impl fmt::Debug for BlindIndex {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("BlindIndex(<redacted>)")
    }
}

/// A blind index value; store [`BlindIndexValue::to_hex`] (64 chars) or
/// [`BlindIndexValue::to_base64url`] (43 chars) in an indexed column.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct BlindIndexValue([u8; 32]);

impl BlindIndexValue {
    pub fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }

    pub fn to_hex(&self) -> String {
        hex::encode(self.0)
    }

    pub fn to_base64url(&self) -> String {
        URL_SAFE_NO_PAD.encode(self.0)
    }
}

impl fmt::Debug for BlindIndexValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "BlindIndexValue({})", self.to_hex())
    }
}

impl fmt::Display for BlindIndexValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_hex())
    }
}

impl BlindIndex {
    /// From raw key bytes (at least 32).
    pub fn new(key: &[u8]) -> Result<Self, VaultError> {
        Ok(Self {
            hasher: KeyedHasher::new(key)?,
        })
    }

    /// From a hex key as kept in config or a secret file.
    pub fn from_hex(key: &SecretString) -> Result<Self, VaultError> {
        Ok(Self {
            hasher: KeyedHasher::from_hex(key)?,
        })
    }

    /// Index of an already normalised value. `index` is `[a-z][a-z0-9_]{0,63}`.
    pub fn compute(&self, index: &str, normalized: &[u8]) -> Result<BlindIndexValue, VaultError> {
        validate_name(index, "blind index name")?;
        let mut input = zeroize::Zeroizing::new(Vec::with_capacity(64 + normalized.len()));
        put_lp(&mut input, b"benteng-vault/blind-index/v1");
        put_lp(&mut input, index.as_bytes());
        put_lp(&mut input, normalized);
        Ok(BlindIndexValue(self.hasher.hash(&input)))
    }

    /// Normalises with `normalize` (e.g. [`normalize::iban`]) and indexes, so writers and
    /// readers cannot disagree on the normalisation by accident.
    pub fn compute_with(
        &self,
        index: &str,
        raw: &str,
        normalize: impl FnOnce(&str) -> String,
    ) -> Result<BlindIndexValue, VaultError> {
        let normalized = zeroize::Zeroizing::new(normalize(raw));
        self.compute(index, normalized.as_bytes())
    }
}

/// Common normalisations for [`BlindIndex::compute_with`].
pub mod normalize {
    /// IBAN: drop spaces and hyphens, upper-case (`id12 3456` → `ID123456`).
    pub fn iban(raw: &str) -> String {
        raw.chars()
            .filter(|c| !c.is_whitespace() && *c != '-')
            .map(|c| c.to_ascii_uppercase())
            .collect()
    }

    /// Account or id numbers: keep ASCII digits only (`123-456 78` → `12345678`).
    pub fn digits(raw: &str) -> String {
        raw.chars().filter(char::is_ascii_digit).collect()
    }

    /// Free text identifiers: trim and lower-case.
    pub fn trimmed_lowercase(raw: &str) -> String {
        raw.trim().to_lowercase()
    }
}
