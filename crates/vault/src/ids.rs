//! Names of keys: the purpose a DEK serves and the id every ciphertext records.

use std::borrow::Cow;
use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::VaultError;

/// What a DEK protects. Each purpose has its own DEKs so that one leaked or rotated key touches
/// one kind of data only. A validated name (`[a-z][a-z0-9_]{0,63}`), so new purposes need no new
/// release of this crate; the Tier 1 ones are constants.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct KeyPurpose(Cow<'static, str>);

impl KeyPurpose {
    /// Bank account numbers and IBANs.
    pub const BANK_ACCOUNT: Self = Self(Cow::Borrowed("bank_account"));
    /// National identity numbers (NIK, passport numbers...).
    pub const NATIONAL_ID: Self = Self(Cow::Borrowed("national_id"));
    /// API secrets that must be recoverable (not API keys, which are only hashed).
    pub const API_SECRET: Self = Self(Cow::Borrowed("api_secret"));
    /// Private keys held on behalf of tenants or the service.
    pub const PRIVATE_KEY: Self = Self(Cow::Borrowed("private_key"));

    /// Validates a purpose name.
    pub fn new(name: impl Into<String>) -> Result<Self, VaultError> {
        let name = name.into();
        validate_name(&name, "key purpose")?;
        Ok(Self(Cow::Owned(name)))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// `[a-z][a-z0-9_]{0,63}`: safe in ids, file names, SQL values and log lines.
pub(crate) fn validate_name(name: &str, what: &'static str) -> Result<(), VaultError> {
    let bytes = name.as_bytes();
    let ok = !bytes.is_empty()
        && bytes.len() <= 64
        && bytes[0].is_ascii_lowercase()
        && bytes
            .iter()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || *b == b'_');
    if ok {
        Ok(())
    } else {
        Err(VaultError::InvalidInput {
            what,
            reason: "must match [a-z][a-z0-9_]{0,63}".into(),
        })
    }
}

impl fmt::Display for KeyPurpose {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for KeyPurpose {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "KeyPurpose({})", self.0)
    }
}

impl FromStr for KeyPurpose {
    type Err = VaultError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::new(s)
    }
}

impl TryFrom<String> for KeyPurpose {
    type Error = VaultError;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        Self::new(s)
    }
}

impl From<KeyPurpose> for String {
    fn from(p: KeyPurpose) -> Self {
        p.0.into_owned()
    }
}

/// Id of a data-encryption key: `dek_` followed by a UUIDv7 in 32 lowercase hex digits. Time
/// ordered, so ids sort by creation; contains no `.` so it can sit inside a stored value.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct DekId(uuid::Uuid);

impl DekId {
    const PREFIX: &'static str = "dek_";

    /// A fresh, time-ordered id.
    pub fn generate() -> Self {
        Self(uuid::Uuid::now_v7())
    }

    pub fn as_uuid(&self) -> uuid::Uuid {
        self.0
    }

    /// Parses the canonical text form only (`dek_` + 32 lowercase hex), so one key has one name.
    pub fn parse(s: &str) -> Result<Self, VaultError> {
        let bad = || {
            VaultError::malformed(
                "key id",
                "expected dek_ followed by 32 lowercase hex digits",
            )
        };
        let hex = s.strip_prefix(Self::PREFIX).ok_or_else(bad)?;
        if hex.len() != 32
            || !hex
                .bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
        {
            return Err(bad());
        }
        uuid::Uuid::try_parse(hex).map(Self).map_err(|_| bad())
    }
}

impl fmt::Display for DekId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}{}", Self::PREFIX, self.0.simple())
    }
}

impl fmt::Debug for DekId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "DekId({self})")
    }
}

impl FromStr for DekId {
    type Err = VaultError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

impl TryFrom<String> for DekId {
    type Error = VaultError;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        Self::parse(&s)
    }
}

impl From<DekId> for String {
    fn from(id: DekId) -> Self {
        id.to_string()
    }
}
