//! The one error type of the crate. Messages name keys by id and say what failed, never carry
//! plaintext, key bytes or ciphertext.

use std::path::PathBuf;

/// Everything that can go wrong in the vault. No variant holds secret material, so errors can be
/// logged as they are.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum VaultError {
    /// AES-GCM refused the value. GCM cannot tell a modified ciphertext from one presented with
    /// another AAD (tenant/table/column/row) or decrypted under another key with the same id, so
    /// the cases share one variant on purpose.
    #[error(
        "{what} failed authentication: it was tampered with, truncated, or is bound to another tenant/table/column/row or key"
    )]
    AuthenticationFailed { what: &'static str },

    /// The value names a DEK the keyring has not loaded (reload wrapped DEKs from storage).
    #[error("unknown key id {id}")]
    UnknownKeyId { id: String },

    /// No DEK is active for this purpose yet: create one with `Keyring::rotate`, persist and load it.
    #[error("no active data-encryption key for purpose {purpose}")]
    NoActiveKey { purpose: String },

    /// A wrapped DEK names a KEK that is not configured in this keyring.
    #[error("wrapped key {dek_id} needs KEK {kek_id}, which is not configured")]
    UnknownKek { dek_id: String, kek_id: String },

    /// The KEK (key file, HSM) could not be used at all.
    #[error("KEK {kek_id} unavailable: {reason}")]
    KekUnavailable { kek_id: String, reason: String },

    /// The input does not have the shape of the stored format.
    #[error("malformed {what}: {reason}")]
    Malformed {
        what: &'static str,
        reason: &'static str,
    },

    /// The input is of a format version this build does not read.
    #[error("unsupported {what} version {found}")]
    UnsupportedVersion { what: &'static str, found: String },

    /// A caller-supplied argument was refused (bad purpose name, short key, oversize value...).
    #[error("invalid {what}: {reason}")]
    InvalidInput { what: &'static str, reason: String },

    /// A key file is readable or writable by group or others: it is refused, not merely warned
    /// about, because a KEK that leaked cannot be unleaked.
    #[error(
        "key file {path} has mode {mode:o}; it must not be accessible by group or others (chmod 600)"
    )]
    InsecureKeyFile { path: PathBuf, mode: u32 },

    /// A key file could not be read, created or parsed.
    #[error("key file {path}: {reason}")]
    KeyFile { path: PathBuf, reason: String },

    /// A backup file was written under another backup key.
    #[error("backup was encrypted with key {found}, not with the given key {expected}")]
    WrongBackupKey { expected: String, found: String },

    /// Reading or writing a stream or file failed.
    #[error("I/O error during {op}: {source}")]
    Io {
        op: &'static str,
        #[source]
        source: std::io::Error,
    },

    /// The operating system's random number generator failed.
    #[error("the random number generator failed")]
    Random,

    /// A cryptographic primitive failed for a reason other than authentication.
    #[error("cryptographic operation failed: {0}")]
    Crypto(&'static str),
}

impl VaultError {
    pub(crate) fn malformed(what: &'static str, reason: &'static str) -> Self {
        Self::Malformed { what, reason }
    }

    pub(crate) fn io(op: &'static str) -> impl FnOnce(std::io::Error) -> Self {
        move |source| Self::Io { op, source }
    }
}

impl From<benteng_crypto::CryptoError> for VaultError {
    fn from(err: benteng_crypto::CryptoError) -> Self {
        match err {
            benteng_crypto::CryptoError::Random => Self::Random,
            other => Self::InvalidInput {
                what: "key",
                reason: other.to_string(),
            },
        }
    }
}
