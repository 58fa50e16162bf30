//! Tier 1 data protection for benteng (DECISIONS.md, "Data"): envelope encryption of fields,
//! KEKs in a key file or an HSM, blind indexes for equality lookups, and encrypted backups.
//!
//! * [`Keyring`] holds unwrapped [`Dek`]s (one active per [`KeyPurpose`]) and encrypts /
//!   decrypts fields; [`WrappedDek`] is what storage persists; [`reencrypt`] migrates values
//!   after a rotation.
//! * [`FieldCipher`] is the AES-256-GCM primitive underneath, with [`Aad`] binding each value to
//!   tenant, table, column and row, and [`EncryptedValue`] its self-describing stored form
//!   `v1.<dek_id>.<base64url(nonce‖ciphertext‖tag)>`.
//! * [`KekProvider`] with [`FileKek`] and [`Pkcs11Kek`].
//! * [`Keyring::seal_document`]: a document too large for one field, sealed in chunks.
//! * [`BlindIndex`]: HMAC-SHA-256 over a normalised value, separated per index name.
//! * [`backup`]: chunked streaming AES-256-GCM for backup files, under a separate [`BackupKey`].
//!
//! All crypto is aws-lc-rs (through `benteng-crypto` where it already offers the primitive).
//! Keys never print and their bytes are zeroized on drop; errors never carry plaintext or keys.
//! Decryption either returns the authentic plaintext or an error: never partial or garbage.

mod aad;
pub mod backup;
mod blind;
mod document;
mod error;
mod field;
mod ids;
mod kek;
mod keyfile;
mod keyring;

pub use aad::Aad;
pub use backup::{BackupKey, decrypt_file, decrypt_stream, encrypt_file, encrypt_stream};
pub use blind::{BlindIndex, BlindIndexValue, normalize};
pub use document::{DOCUMENT_CHUNK_BYTES, DocumentPlace};
pub use error::VaultError;
pub use field::{
    DEK_LEN, Dek, EncryptedValue, FieldCipher, MAX_FIELD_PLAINTEXT, into_secret_string,
};
pub use ids::{DekId, KeyPurpose};
pub use kek::{FileKek, KekProvider, Pkcs11Config, Pkcs11Kek};
pub use keyring::{Keyring, WrappedDek, reencrypt};

pub use secrecy::{ExposeSecret, SecretBox, SecretString};
