//! Tier 1 field encryption: AES-256-GCM under a per-purpose DEK, a fresh random 96-bit nonce
//! per value, AAD binding the value to its tenant/table/column/row.
//!
//! Stored form (text, ASCII, no padding): `v1.<dek_id>.<base64url(nonce || ciphertext || tag)>`.
//! The version comes first so a later format can be told apart before anything else is parsed;
//! the DEK id says which key opens it, so rotation never needs a side table.
//!
//! Random nonces: collisions become a concern after about 2^32 values under one DEK. DEKs rotate
//! yearly (spec) and a payment rail writes far fewer Tier 1 values than that per key per year.

use std::fmt;
use std::str::FromStr;

use aws_lc_rs::aead::{self, AES_256_GCM, LessSafeKey, NONCE_LEN, Nonce, UnboundKey};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use secrecy::{SecretBox, SecretString};
use time::OffsetDateTime;
use zeroize::{Zeroize, Zeroizing};

use crate::VaultError;
use crate::aad::{Aad, put_lp};
use crate::ids::{DekId, KeyPurpose};
use crate::keyring::Keyring;

/// Length of a DEK (AES-256).
pub const DEK_LEN: usize = 32;
/// Largest plaintext a field may hold. Tier 1 values are short (account numbers, ids, PEM keys);
/// the cap bounds memory spent on a hostile stored value.
pub const MAX_FIELD_PLAINTEXT: usize = 64 * 1024;
const TAG_LEN: usize = 16;
const VERSION: &str = "v1";
/// `v1.` + `dek_` + 32 hex + `.` + base64 of nonce, maximal ciphertext and tag.
const MAX_STORED_LEN: usize =
    3 + 36 + 1 + (NONCE_LEN + MAX_FIELD_PLAINTEXT + TAG_LEN).div_ceil(3) * 4;

/// A data-encryption key: 256 random bits for one purpose. The raw bytes are zeroized on drop
/// and never printed. Obtain DEKs from a [`Keyring`]; they exist unwrapped only in memory.
pub struct Dek {
    id: DekId,
    purpose: KeyPurpose,
    created_at: OffsetDateTime,
    key: LessSafeKey,
    material: Zeroizing<[u8; DEK_LEN]>,
}

impl Dek {
    pub(crate) fn from_material(
        id: DekId,
        purpose: KeyPurpose,
        created_at: OffsetDateTime,
        material: &[u8],
    ) -> Result<Self, VaultError> {
        let mut raw = Zeroizing::new([0u8; DEK_LEN]);
        if material.len() != DEK_LEN {
            return Err(VaultError::malformed(
                "data-encryption key",
                "must be 32 bytes",
            ));
        }
        raw.copy_from_slice(material);
        let unbound = UnboundKey::new(&AES_256_GCM, raw.as_slice())
            .map_err(|_| VaultError::Crypto("AES-256-GCM key set-up"))?;
        Ok(Self {
            id,
            purpose,
            created_at,
            key: LessSafeKey::new(unbound),
            material: raw,
        })
    }

    /// A fresh DEK that is not wrapped anywhere. Normally DEKs come from [`Keyring::rotate`];
    /// this exists for tools and tests that need a key without a KEK.
    pub fn generate(purpose: KeyPurpose) -> Result<Self, VaultError> {
        let material = Zeroizing::new(benteng_crypto::random_bytes::<DEK_LEN>()?);
        Self::from_material(
            DekId::generate(),
            purpose,
            now_seconds(),
            material.as_slice(),
        )
    }

    pub fn id(&self) -> DekId {
        self.id
    }

    pub fn purpose(&self) -> &KeyPurpose {
        &self.purpose
    }

    pub fn created_at(&self) -> OffsetDateTime {
        self.created_at
    }

    pub(crate) fn material(&self) -> &[u8; DEK_LEN] {
        &self.material
    }
}

impl fmt::Debug for Dek {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Dek")
            .field("id", &self.id)
            .field("purpose", &self.purpose)
            .field("key", &"<redacted>")
            .finish()
    }
}

/// Creation times are kept to whole seconds: they are bound into the wrapping AAD and must
/// survive a round trip through any database timestamp type unchanged.
pub(crate) fn now_seconds() -> OffsetDateTime {
    let now = OffsetDateTime::now_utc();
    now.replace_nanosecond(0).unwrap_or(now)
}

/// One encrypted field value, parsed. Its text form ([`EncryptedValue::to_stored`], `Display`)
/// is what goes in the column; it is not secret.
#[derive(Clone, PartialEq, Eq)]
pub struct EncryptedValue {
    dek_id: DekId,
    nonce: [u8; NONCE_LEN],
    sealed: Vec<u8>,
}

impl EncryptedValue {
    /// The DEK that opens this value; compare with the keyring's active DEK to find values
    /// still awaiting re-encryption.
    pub fn dek_id(&self) -> DekId {
        self.dek_id
    }

    /// Parses the stored text form. Never panics; any deviation is an error.
    pub fn parse(stored: &str) -> Result<Self, VaultError> {
        const WHAT: &str = "stored value";
        if stored.len() > MAX_STORED_LEN {
            return Err(VaultError::malformed(WHAT, "too long"));
        }
        let (version, rest) = stored
            .split_once('.')
            .ok_or_else(|| VaultError::malformed(WHAT, "missing version"))?;
        if version != VERSION {
            let looks_versioned = version.len() > 1
                && version.len() <= 8
                && version.starts_with('v')
                && version.bytes().skip(1).all(|b| b.is_ascii_digit());
            return Err(if looks_versioned {
                VaultError::UnsupportedVersion {
                    what: "stored value",
                    found: version.to_owned(),
                }
            } else {
                VaultError::malformed(WHAT, "missing version")
            });
        }
        let (id, body) = rest
            .split_once('.')
            .ok_or_else(|| VaultError::malformed(WHAT, "missing key id"))?;
        let dek_id = DekId::parse(id)?;
        let raw = URL_SAFE_NO_PAD
            .decode(body)
            .map_err(|_| VaultError::malformed(WHAT, "body is not base64url"))?;
        if raw.len() < NONCE_LEN + TAG_LEN {
            return Err(VaultError::malformed(WHAT, "body too short"));
        }
        let mut nonce = [0u8; NONCE_LEN];
        nonce.copy_from_slice(&raw[..NONCE_LEN]);
        Ok(Self {
            dek_id,
            nonce,
            sealed: raw[NONCE_LEN..].to_vec(),
        })
    }

    /// Parses the stored form given as bytes (e.g. a BYTEA column).
    pub fn from_bytes(stored: &[u8]) -> Result<Self, VaultError> {
        let text = std::str::from_utf8(stored)
            .map_err(|_| VaultError::malformed("stored value", "not ASCII"))?;
        Self::parse(text)
    }

    /// The text to store.
    pub fn to_stored(&self) -> String {
        let mut raw = Vec::with_capacity(NONCE_LEN + self.sealed.len());
        raw.extend_from_slice(&self.nonce);
        raw.extend_from_slice(&self.sealed);
        let mut out = String::with_capacity(41 + (raw.len() * 4).div_ceil(3));
        out.push_str(VERSION);
        out.push('.');
        out.push_str(&self.dek_id.to_string());
        out.push('.');
        URL_SAFE_NO_PAD.encode_string(&raw, &mut out);
        out
    }
}

impl fmt::Display for EncryptedValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_stored())
    }
}

impl fmt::Debug for EncryptedValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("EncryptedValue")
            .field("dek_id", &self.dek_id)
            .field("len", &self.sealed.len())
            .finish()
    }
}

impl FromStr for EncryptedValue {
    type Err = VaultError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

/// The AAD actually fed to GCM: the caller's location plus the DEK id, length-prefixed under a
/// versioned domain tag.
fn field_aad(aad: &Aad<'_>, dek_id: &DekId) -> Vec<u8> {
    let mut out = aad.encode(VERSION);
    put_lp(&mut out, dek_id.to_string().as_bytes());
    out
}

/// Encrypts and decrypts Tier 1 field values. Stateless: keys come from the caller or a
/// [`Keyring`].
#[derive(Debug, Clone, Copy, Default)]
pub struct FieldCipher;

impl FieldCipher {
    /// Encrypts `plaintext` under `dek` for the location `aad`, with a fresh random nonce.
    pub fn encrypt(
        dek: &Dek,
        plaintext: &[u8],
        aad: &Aad<'_>,
    ) -> Result<EncryptedValue, VaultError> {
        if plaintext.len() > MAX_FIELD_PLAINTEXT {
            return Err(VaultError::InvalidInput {
                what: "field plaintext",
                reason: format!("longer than {MAX_FIELD_PLAINTEXT} bytes"),
            });
        }
        let nonce = benteng_crypto::random_bytes::<NONCE_LEN>()?;
        let mut sealed = Vec::with_capacity(plaintext.len() + TAG_LEN);
        sealed.extend_from_slice(plaintext);
        let aad_bytes = field_aad(aad, &dek.id);
        dek.key
            .seal_in_place_append_tag(
                Nonce::assume_unique_for_key(nonce),
                aead::Aad::from(aad_bytes.as_slice()),
                &mut sealed,
            )
            .map_err(|_| {
                sealed.zeroize();
                VaultError::Crypto("AES-256-GCM seal")
            })?;
        Ok(EncryptedValue {
            dek_id: dek.id,
            nonce,
            sealed,
        })
    }

    /// Decrypts with the DEK the value names, taken from `keyring`.
    pub fn decrypt(
        keyring: &Keyring,
        value: &EncryptedValue,
        aad: &Aad<'_>,
    ) -> Result<SecretBox<[u8]>, VaultError> {
        let dek = keyring.dek(&value.dek_id)?;
        Self::decrypt_with(&dek, value, aad)
    }

    /// Decrypts a stored text value with the DEK it names, taken from `keyring`.
    pub fn decrypt_stored(
        keyring: &Keyring,
        stored: &str,
        aad: &Aad<'_>,
    ) -> Result<SecretBox<[u8]>, VaultError> {
        let value = EncryptedValue::parse(stored)?;
        let dek = keyring.dek(&value.dek_id)?;
        open(&dek, value.nonce, value.sealed, aad)
    }

    /// Decrypts with a given DEK; refuses a value that names another DEK.
    pub fn decrypt_with(
        dek: &Dek,
        value: &EncryptedValue,
        aad: &Aad<'_>,
    ) -> Result<SecretBox<[u8]>, VaultError> {
        if value.dek_id != dek.id {
            return Err(VaultError::UnknownKeyId {
                id: value.dek_id.to_string(),
            });
        }
        open(dek, value.nonce, value.sealed.clone(), aad)
    }
}

/// Opens `sealed` in place and returns the plaintext in an exactly sized secret box (no
/// reallocation that could leave a copy behind); the working buffer is zeroized either way.
fn open(
    dek: &Dek,
    nonce: [u8; NONCE_LEN],
    sealed: Vec<u8>,
    aad: &Aad<'_>,
) -> Result<SecretBox<[u8]>, VaultError> {
    let mut buf = Zeroizing::new(sealed);
    let aad_bytes = field_aad(aad, &dek.id);
    let plain = dek
        .key
        .open_in_place(
            Nonce::assume_unique_for_key(nonce),
            aead::Aad::from(aad_bytes.as_slice()),
            buf.as_mut_slice(),
        )
        .map_err(|_| VaultError::AuthenticationFailed {
            what: "field value",
        })?;
    let mut out = vec![0u8; plain.len()].into_boxed_slice();
    out.copy_from_slice(plain);
    Ok(SecretBox::new(out))
}

/// Turns decrypted bytes into a `SecretString`, refusing (and wiping) non-UTF-8 plaintext.
pub fn into_secret_string(plain: SecretBox<[u8]>) -> Result<SecretString, VaultError> {
    use secrecy::ExposeSecret;
    let bytes = plain.expose_secret();
    if std::str::from_utf8(bytes).is_err() {
        return Err(VaultError::InvalidInput {
            what: "decrypted value",
            reason: "not UTF-8".into(),
        });
    }
    let mut copy = vec![0u8; bytes.len()];
    copy.copy_from_slice(bytes);
    match String::from_utf8(copy) {
        Ok(s) => Ok(SecretString::from(s)),
        Err(e) => {
            e.into_bytes().zeroize();
            Err(VaultError::Crypto("UTF-8 re-check"))
        }
    }
}
