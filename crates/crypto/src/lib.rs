//! Cryptographic primitives, all on aws-lc-rs (the one crypto stack of the workspace: rustls uses
//! it too). Other crates never touch aws-lc-rs directly; they ask for a keyed hash, a random token
//! or a constant-time comparison here.
//!
//! The one exception is password hashing: aws-lc-rs has no Argon2, so `password` uses RustCrypto's
//! pure-Rust `argon2` crate (with salts from aws-lc-rs's generator).

use aws_lc_rs::{hmac, rand as lc_rand};
use zeroize::Zeroizing;

pub use secrecy::{ExposeSecret, SecretBox, SecretString};

mod base32;
pub mod jose;
pub mod jws;
pub mod password;
pub mod recovery;
pub mod totp;

#[derive(Debug, thiserror::Error)]
pub enum CryptoError {
    #[error("the operating system's random number generator failed")]
    Random,
    #[error("the key or signature is invalid")]
    InvalidKey,
    #[error("secret key must be at least {min} bytes, got {got}")]
    KeyTooShort { min: usize, got: usize },
    #[error("secret key is not valid hex")]
    KeyNotHex,
    #[error(
        "Argon2id memory {memory_kib} KiB with {iterations} passes is below OWASP's minimum of {minimum_kib} KiB for that many passes"
    )]
    PasswordSettingsTooWeak {
        memory_kib: u32,
        iterations: u32,
        minimum_kib: u32,
    },
    #[error("Argon2id settings out of range: {0}")]
    PasswordSettingsOutOfRange(&'static str),
    #[error("not a password hash this server accepts: {0}")]
    PasswordHashInvalid(&'static str),
    #[error("password hashing failed")]
    PasswordHashing,
    #[error("TOTP secret must be {min} to {max} bytes, got {got}")]
    TotpSecretLength { min: usize, max: usize, got: usize },
    #[error("TOTP secret is not valid unpadded base32")]
    TotpSecretNotBase32,
    #[error("TOTP settings out of range: {0}")]
    TotpSettings(&'static str),
}

/// Minimum length of a server secret used for keyed hashing (256 bits).
pub const MIN_SECRET_LEN: usize = 32;

/// HMAC-SHA-256 under a server secret. Used wherever the decisions ask for a keyed hash (API keys,
/// blind indexes) so that a database dump alone cannot confirm a guessed value.
#[derive(Clone)]
pub struct KeyedHasher {
    key: hmac::Key,
}

impl std::fmt::Debug for KeyedHasher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("KeyedHasher(<redacted>)")
    }
}

impl KeyedHasher {
    pub fn new(secret: &[u8]) -> Result<Self, CryptoError> {
        if secret.len() < MIN_SECRET_LEN {
            return Err(CryptoError::KeyTooShort {
                min: MIN_SECRET_LEN,
                got: secret.len(),
            });
        }
        Ok(Self {
            key: hmac::Key::new(hmac::HMAC_SHA256, secret),
        })
    }

    /// Builds a hasher from a hex-encoded secret, as it is kept in config and secret files.
    pub fn from_hex(secret_hex: &SecretString) -> Result<Self, CryptoError> {
        let bytes = Zeroizing::new(
            hex::decode(secret_hex.expose_secret().trim()).map_err(|_| CryptoError::KeyNotHex)?,
        );
        Self::new(&bytes)
    }

    pub fn hash(&self, data: &[u8]) -> [u8; 32] {
        let tag = hmac::sign(&self.key, data);
        let mut out = [0u8; 32];
        out.copy_from_slice(tag.as_ref());
        out
    }

    /// `value` as kept where others can write (the shared cache): prefixed with a MAC over
    /// `purpose`, `key` and `value`, so whoever can write there can neither forge an entry nor
    /// move one to another key or use.
    pub fn seal(&self, purpose: &str, key: &str, value: &[u8]) -> Vec<u8> {
        let mut sealed = self.entry_mac(purpose, key, value).to_vec();
        sealed.extend_from_slice(value);
        sealed
    }

    /// The value of a [`Self::seal`]ed entry, if it is authentic for `purpose` and `key`.
    pub fn open<'a>(&self, purpose: &str, key: &str, sealed: &'a [u8]) -> Option<&'a [u8]> {
        let (mac, value) = sealed.split_at_checked(ENTRY_MAC_LEN)?;
        constant_time_eq(mac, &self.entry_mac(purpose, key, value)).then_some(value)
    }

    fn entry_mac(&self, purpose: &str, key: &str, value: &[u8]) -> [u8; ENTRY_MAC_LEN] {
        let mut input = Vec::with_capacity(purpose.len() + key.len() + value.len() + 2);
        input.extend_from_slice(purpose.as_bytes());
        input.push(0);
        input.extend_from_slice(key.as_bytes());
        input.push(0);
        input.extend_from_slice(value);
        self.hash(&input)
    }
}

const ENTRY_MAC_LEN: usize = 32;

/// Fills an array from the OS CSPRNG.
pub fn random_bytes<const N: usize>() -> Result<[u8; N], CryptoError> {
    let mut out = [0u8; N];
    lc_rand::fill(&mut out).map_err(|_| CryptoError::Random)?;
    Ok(out)
}

/// A fresh server secret of `MIN_SECRET_LEN` bytes, hex-encoded, for first-start set-up.
pub fn generate_secret_hex() -> Result<SecretString, CryptoError> {
    let bytes = Zeroizing::new(random_bytes::<MIN_SECRET_LEN>()?);
    Ok(SecretString::from(hex::encode(bytes.as_slice())))
}

/// `len` characters drawn uniformly from `alphabet` (at most 256 symbols), by rejection sampling
/// so no symbol is more likely than another.
pub fn random_string(alphabet: &[u8], len: usize) -> Result<SecretString, CryptoError> {
    let symbols = alphabet.len().clamp(1, 256);
    // Largest multiple of `symbols` not above 256: bytes at or past it would bias the result.
    let limit = 256 - 256 % symbols;
    let mut out = Zeroizing::new(String::with_capacity(len));
    let mut pool = Zeroizing::new([0u8; 64]);
    while out.len() < len {
        lc_rand::fill(pool.as_mut_slice()).map_err(|_| CryptoError::Random)?;
        for &byte in pool.iter() {
            if usize::from(byte) < limit && out.len() < len {
                out.push(char::from(alphabet[usize::from(byte) % symbols]));
            }
        }
    }
    Ok(SecretString::from(out.as_str()))
}

/// Compares two byte strings in time that depends only on their lengths.
pub fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    use subtle::ConstantTimeEq;
    a.ct_eq(b).into()
}

/// SHA-256, for fingerprints and content hashes (not for secrets: use `KeyedHasher`).
pub fn sha256(data: &[u8]) -> [u8; 32] {
    let digest = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, data);
    let mut out = [0u8; 32];
    out.copy_from_slice(digest.as_ref());
    out
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn keyed_hash_depends_on_key_and_data() {
        let a = KeyedHasher::new(&[1; 32]).unwrap();
        let b = KeyedHasher::new(&[2; 32]).unwrap();
        assert_eq!(a.hash(b"x"), a.hash(b"x"));
        assert_ne!(a.hash(b"x"), a.hash(b"y"));
        assert_ne!(a.hash(b"x"), b.hash(b"x"));
    }

    #[test]
    fn short_keys_are_refused() {
        assert!(KeyedHasher::new(&[0; 31]).is_err());
        assert!(KeyedHasher::from_hex(&SecretString::from("zz")).is_err());
        let hex = generate_secret_hex().unwrap();
        assert!(KeyedHasher::from_hex(&hex).is_ok());
    }

    #[test]
    fn random_strings_use_only_the_alphabet_and_differ() {
        let a = random_string(b"ab", 200).unwrap();
        let b = random_string(b"ab", 200).unwrap();
        assert_eq!(a.expose_secret().len(), 200);
        assert!(a.expose_secret().bytes().all(|c| c == b'a' || c == b'b'));
        assert_ne!(a.expose_secret(), b.expose_secret());
    }

    #[test]
    fn constant_time_eq_compares() {
        assert!(constant_time_eq(b"abc", b"abc"));
        assert!(!constant_time_eq(b"abc", b"abd"));
        assert!(!constant_time_eq(b"abc", b"ab"));
    }

    #[test]
    fn a_sealed_entry_opens_only_unchanged_under_its_purpose_and_key() {
        let h = KeyedHasher::new(&[7; 32]).unwrap();
        let sealed = h.seal("cache", "k1", b"value");
        assert_eq!(h.open("cache", "k1", &sealed), Some(&b"value"[..]));
        assert_eq!(h.open("cache", "k2", &sealed), None, "moved to another key");
        assert_eq!(
            h.open("replay", "k1", &sealed),
            None,
            "used for another purpose"
        );
        let mut altered = sealed.clone();
        *altered.last_mut().unwrap() ^= 1;
        assert_eq!(h.open("cache", "k1", &altered), None);
        assert_eq!(
            h.open("cache", "k1", &sealed[..31]),
            None,
            "shorter than a MAC"
        );
        let other = KeyedHasher::new(&[8; 32]).unwrap();
        assert_eq!(
            other.open("cache", "k1", &sealed),
            None,
            "another server's secret"
        );
    }

    #[test]
    fn debug_never_prints_the_key() {
        let h = KeyedHasher::new(&[7; 32]).unwrap();
        assert_eq!(format!("{h:?}"), "KeyedHasher(<redacted>)");
    }
}
