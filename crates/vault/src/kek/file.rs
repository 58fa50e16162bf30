//! KEK in a local key file: for development, single-node installs and tests. Production
//! deployments should prefer the HSM ([`super::Pkcs11Kek`]).

use std::fmt;
use std::path::{Path, PathBuf};

use aws_lc_rs::aead::{AES_256_GCM, Aad, LessSafeKey, Nonce, UnboundKey};
use zeroize::Zeroizing;

use super::{KekProvider, WRAP_NONCE_LEN, WRAP_TAG_LEN, WRAP_V1, split_wrapped};
use crate::{VaultError, keyfile};

/// AES-256-GCM KEK read from a key file (64 hex digits, or 32 raw bytes).
///
/// Permissions: the file is created with mode 0600 when missing; an existing file that group or
/// others can read or write is **refused** ([`VaultError::InsecureKeyFile`]), not just warned
/// about. Its id is `file-` plus a fingerprint of the key, so pointing the config at another
/// key file yields "unknown KEK", not a confusing authentication failure.
pub struct FileKek {
    id: String,
    path: PathBuf,
    key: LessSafeKey,
}

impl FileKek {
    /// Opens the key file, creating it with a fresh random key when it does not exist. The parent
    /// directory must exist.
    pub fn open_or_create(path: impl AsRef<Path>) -> Result<Self, VaultError> {
        let path = path.as_ref();
        let (key, _created) = keyfile::load_or_create(path)?;
        Self::from_key(path, &key)
    }

    /// Opens an existing key file; a missing file is an error (use when the key must already
    /// exist, e.g. on a replica).
    pub fn open(path: impl AsRef<Path>) -> Result<Self, VaultError> {
        let path = path.as_ref();
        let key = keyfile::load(path)?;
        Self::from_key(path, &key)
    }

    fn from_key(path: &Path, key: &Zeroizing<[u8; keyfile::KEY_LEN]>) -> Result<Self, VaultError> {
        let unbound = UnboundKey::new(&AES_256_GCM, key.as_slice())
            .map_err(|_| VaultError::Crypto("AES-256-GCM key set-up"))?;
        Ok(Self {
            id: format!(
                "file-{}",
                keyfile::fingerprint("benteng-vault/kek-id/v1", key.as_slice())
            ),
            path: path.to_path_buf(),
            key: LessSafeKey::new(unbound),
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }
}

impl fmt::Debug for FileKek {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FileKek")
            .field("id", &self.id)
            .field("path", &self.path)
            .field("key", &"<redacted>")
            .finish()
    }
}

impl KekProvider for FileKek {
    fn id(&self) -> &str {
        &self.id
    }

    fn describe(&self) -> String {
        format!(
            "key file {} (AES-256-GCM, id {})",
            self.path.display(),
            self.id
        )
    }

    fn wrap(&self, key_material: &[u8], aad: &[u8]) -> Result<Vec<u8>, VaultError> {
        let nonce = benteng_crypto::random_bytes::<WRAP_NONCE_LEN>()?;
        let mut out = Vec::with_capacity(1 + WRAP_NONCE_LEN + key_material.len() + WRAP_TAG_LEN);
        out.push(WRAP_V1);
        out.extend_from_slice(&nonce);
        let mut sealed = Zeroizing::new(key_material.to_vec());
        let tag = self
            .key
            .seal_in_place_separate_tag(
                Nonce::assume_unique_for_key(nonce),
                Aad::from(aad),
                sealed.as_mut_slice(),
            )
            .map_err(|_| VaultError::Crypto("AES-256-GCM seal"))?;
        out.extend_from_slice(&sealed);
        out.extend_from_slice(tag.as_ref());
        Ok(out)
    }

    fn unwrap(&self, wrapped: &[u8], aad: &[u8]) -> Result<Zeroizing<Vec<u8>>, VaultError> {
        let (nonce, sealed) = split_wrapped(wrapped)?;
        let mut buf = Zeroizing::new(sealed.to_vec());
        let len = self
            .key
            .open_in_place(
                Nonce::assume_unique_for_key(nonce),
                Aad::from(aad),
                buf.as_mut_slice(),
            )
            .map_err(|_| VaultError::AuthenticationFailed {
                what: "wrapped key",
            })?
            .len();
        buf.truncate(len);
        Ok(buf)
    }
}
