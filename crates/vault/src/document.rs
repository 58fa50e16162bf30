//! Documents larger than one field (KYC evidence, case attachments): sealed as a sequence of
//! field values, one per chunk, each bound by its AAD to its place and its position
//! (`ROW_ID/N`), joined by newlines. The caller keeps the SHA-256 of the clear bytes and checks
//! it after opening, so a dropped, repeated or reordered chunk cannot pass.

use secrecy::ExposeSecret;

use crate::{Aad, KeyPurpose, Keyring, VaultError};

/// The size of one sealed chunk (under [`crate::MAX_FIELD_PLAINTEXT`]).
pub const DOCUMENT_CHUNK_BYTES: usize = 48 * 1024;

/// Where a document is stored: tenant, table, column and row, as for a field.
#[derive(Debug, Clone, Copy)]
pub struct DocumentPlace<'a> {
    pub tenant_id: &'a str,
    pub table: &'a str,
    pub column: &'a str,
    pub row_id: &'a str,
}

impl DocumentPlace<'_> {
    fn chunk_row(&self, n: usize) -> String {
        format!("{}/{n}", self.row_id)
    }
}

impl Keyring {
    /// Seals `bytes` under the active key of `purpose`; returns the text to store.
    pub fn seal_document(
        &self,
        purpose: &KeyPurpose,
        bytes: &[u8],
        place: &DocumentPlace<'_>,
    ) -> Result<String, VaultError> {
        let mut sealed = Vec::with_capacity(bytes.len().div_ceil(DOCUMENT_CHUNK_BYTES));
        for (n, chunk) in bytes.chunks(DOCUMENT_CHUNK_BYTES).enumerate() {
            let row = place.chunk_row(n);
            let aad = Aad::new(place.tenant_id, place.table, place.column, &row);
            sealed.push(self.encrypt(purpose, chunk, &aad)?);
        }
        Ok(sealed.join("\n"))
    }

    /// Opens what [`Keyring::seal_document`] stored at `place`.
    pub fn open_document(
        &self,
        sealed: &str,
        place: &DocumentPlace<'_>,
    ) -> Result<Vec<u8>, VaultError> {
        let mut clear = Vec::with_capacity(sealed.len() / 4 * 3);
        for (n, value) in sealed.split('\n').enumerate() {
            let row = place.chunk_row(n);
            let aad = Aad::new(place.tenant_id, place.table, place.column, &row);
            let part = self.decrypt(value, &aad)?;
            clear.extend_from_slice(part.expose_secret());
        }
        Ok(clear)
    }
}
