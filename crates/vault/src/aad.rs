//! Additional authenticated data binding a field ciphertext to where it lives.

/// Where a Tier 1 value is stored: decrypting it anywhere else fails. Borrowed so the hot path
/// allocates nothing extra; build one per value from the row being read or written.
///
/// `row_id` must be stable for the row's life (its primary key), known before the INSERT, and
/// the same on read: generate UUIDv7 primary keys in the application, not in the database.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Aad<'a> {
    pub tenant_id: &'a str,
    pub table: &'a str,
    pub column: &'a str,
    pub row_id: &'a str,
}

impl<'a> Aad<'a> {
    pub fn new(tenant_id: &'a str, table: &'a str, column: &'a str, row_id: &'a str) -> Self {
        Self {
            tenant_id,
            table,
            column,
            row_id,
        }
    }

    /// Canonical encoding: a domain tag and the format version, then each field prefixed by its
    /// length (u64, big-endian). Length prefixes mean bytes cannot be moved from one field to its
    /// neighbour (`("ab","c")` and `("a","bc")` encode differently).
    pub(crate) fn encode(&self, version: &str) -> Vec<u8> {
        let fields = [
            "benteng-vault/field",
            version,
            self.tenant_id,
            self.table,
            self.column,
            self.row_id,
        ];
        let len: usize = fields.iter().map(|f| f.len() + 8).sum();
        let mut out = Vec::with_capacity(len);
        for field in fields {
            put_lp(&mut out, field.as_bytes());
        }
        out
    }
}

/// Appends `data` with a u64 big-endian length prefix (every `usize` fits).
pub(crate) fn put_lp(out: &mut Vec<u8>, data: &[u8]) {
    let len = u64::try_from(data.len()).unwrap_or(u64::MAX);
    out.extend_from_slice(&len.to_be_bytes());
    out.extend_from_slice(data);
}
