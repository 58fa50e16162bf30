//! Key-encryption keys: they wrap DEKs so that only wrapped DEKs are ever persisted.

mod file;
mod pkcs11;

pub use file::FileKek;
pub use pkcs11::{Pkcs11Config, Pkcs11Kek};

use std::fmt;

use zeroize::Zeroizing;

use crate::VaultError;

/// A KEK, wherever it lives. Implementations encrypt and authenticate short key material under
/// an AAD the keyring builds (binding KEK id, DEK id, purpose and creation time), so a wrapped
/// DEK cannot be relabelled as another DEK or purpose.
///
/// Implementations must be usable from many threads at once and must never log or print the
/// material they wrap.
pub trait KekProvider: Send + Sync + fmt::Debug {
    /// Stable identifier recorded in every [`crate::WrappedDek`]; it selects the provider when
    /// the DEK is loaded again, so it must not change for the life of the KEK.
    fn id(&self) -> &str;

    /// One line for operators (`benteng kek status`): where the KEK lives. No secrets.
    fn describe(&self) -> String;

    /// Encrypts `key_material` (a DEK) bound to `aad`.
    fn wrap(&self, key_material: &[u8], aad: &[u8]) -> Result<Vec<u8>, VaultError>;

    /// Reverses [`KekProvider::wrap`]; fails with [`VaultError::AuthenticationFailed`] when the
    /// wrapped bytes or the AAD differ.
    fn unwrap(&self, wrapped: &[u8], aad: &[u8]) -> Result<Zeroizing<Vec<u8>>, VaultError>;
}

/// Version byte that starts every wrapped DEK produced by the providers here (AES-256-GCM,
/// 96-bit random nonce, 128-bit tag: `01 || nonce || ciphertext || tag`).
pub(crate) const WRAP_V1: u8 = 1;
pub(crate) const WRAP_NONCE_LEN: usize = 12;
pub(crate) const WRAP_TAG_LEN: usize = 16;

/// Splits `01 || nonce || sealed`, checking version and minimum length.
pub(crate) fn split_wrapped(wrapped: &[u8]) -> Result<([u8; WRAP_NONCE_LEN], &[u8]), VaultError> {
    let (&version, rest) = wrapped
        .split_first()
        .ok_or_else(|| VaultError::malformed("wrapped key", "empty"))?;
    if version != WRAP_V1 {
        return Err(VaultError::UnsupportedVersion {
            what: "wrapped key",
            found: version.to_string(),
        });
    }
    if rest.len() < WRAP_NONCE_LEN + WRAP_TAG_LEN {
        return Err(VaultError::malformed("wrapped key", "too short"));
    }
    let (nonce, sealed) = rest.split_at(WRAP_NONCE_LEN);
    let mut n = [0u8; WRAP_NONCE_LEN];
    n.copy_from_slice(nonce);
    Ok((n, sealed))
}
