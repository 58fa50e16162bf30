//! Local key files (file KEK, backup key): 32 random bytes, created 0600, refused when group or
//! others may access them.

use std::fs::{File, OpenOptions};
use std::io::{ErrorKind, Read, Write};
use std::os::unix::fs::{MetadataExt, OpenOptionsExt, PermissionsExt};
use std::path::Path;

use zeroize::Zeroizing;

use crate::VaultError;

pub(crate) const KEY_LEN: usize = 32;

fn file_err(path: &Path, reason: impl Into<String>) -> VaultError {
    VaultError::KeyFile {
        path: path.to_path_buf(),
        reason: reason.into(),
    }
}

/// Reads the key at `path`, creating it (mode 0600, fsync) when missing. A new key is written
/// whole under a temporary name and then linked into place, which fails if the key exists: so
/// processes starting together on a fresh directory agree on the first one linked, and none
/// reads a half-written file. Returns the key and whether it was created.
pub(crate) fn load_or_create(path: &Path) -> Result<(Zeroizing<[u8; KEY_LEN]>, bool), VaultError> {
    if path.exists() {
        return Ok((load(path)?, false));
    }
    let key = Zeroizing::new(benteng_crypto::random_bytes::<KEY_LEN>()?);
    let suffix = hex::encode(benteng_crypto::random_bytes::<8>()?);
    let name = path.file_name().unwrap_or_default().to_string_lossy();
    let temporary = path.with_file_name(format!(".{name}.{suffix}.new"));
    let written = write_new(&temporary, &key);
    let linked = written.and_then(|()| std::fs::hard_link(&temporary, path));
    let _ = std::fs::remove_file(&temporary);
    match linked {
        Ok(()) => {
            if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
                // Best effort: makes the new directory entry durable too.
                if let Ok(d) = File::open(dir) {
                    let _ = d.sync_all();
                }
            }
            tracing::info!(path = %path.display(), "created new key file (mode 0600)");
            Ok((key, true))
        }
        // Another process linked its key first: use that one.
        Err(e) if e.kind() == ErrorKind::AlreadyExists => Ok((load(path)?, false)),
        Err(e) => Err(file_err(path, format!("cannot create: {e}"))),
    }
}

/// Writes `key` as hex to a new file at `path` (mode 0600) and syncs it.
fn write_new(path: &Path, key: &[u8; KEY_LEN]) -> std::io::Result<()> {
    let mut file = OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)?;
    let mut text = Zeroizing::new(hex::encode(key));
    text.push('\n');
    file.write_all(text.as_bytes())?;
    file.sync_all()
}

/// Reads an existing key file: 64 hex digits (surrounding whitespace allowed) or 32 raw bytes.
/// The mode is checked on the opened handle, so the file checked is the file read.
pub(crate) fn load(path: &Path) -> Result<Zeroizing<[u8; KEY_LEN]>, VaultError> {
    let mut file = File::open(path).map_err(|e| file_err(path, format!("cannot open: {e}")))?;
    let meta = file
        .metadata()
        .map_err(|e| file_err(path, format!("cannot stat: {e}")))?;
    if !meta.is_file() {
        return Err(file_err(path, "not a regular file"));
    }
    let mode = meta.permissions().mode() & 0o7777;
    if mode & 0o077 != 0 {
        return Err(VaultError::InsecureKeyFile {
            path: path.to_path_buf(),
            mode,
        });
    }
    if meta.size() > 1024 {
        return Err(file_err(path, "too large to be a key file"));
    }
    let mut content = Zeroizing::new(Vec::with_capacity(128));
    file.read_to_end(&mut content)
        .map_err(|e| file_err(path, format!("cannot read: {e}")))?;
    parse_key(&content).ok_or_else(|| {
        file_err(
            path,
            "expected 64 hex digits or 32 raw bytes (the content is not shown)",
        )
    })
}

fn parse_key(content: &[u8]) -> Option<Zeroizing<[u8; KEY_LEN]>> {
    let mut key = Zeroizing::new([0u8; KEY_LEN]);
    let trimmed = content.trim_ascii();
    if trimmed.len() == 2 * KEY_LEN && trimmed.iter().all(u8::is_ascii_hexdigit) {
        hex::decode_to_slice(trimmed, key.as_mut_slice()).ok()?;
        return Some(key);
    }
    if content.len() == KEY_LEN {
        key.copy_from_slice(content);
        return Some(key);
    }
    None
}

/// A short public fingerprint of a key, used as its id: the first 8 bytes of
/// SHA-256(domain || key), hex. Reveals nothing usable about a 256-bit random key, and lets a
/// wrong key file be reported as "wrong key" instead of "tampered".
pub(crate) fn fingerprint(domain: &str, key: &[u8]) -> String {
    let mut input = Zeroizing::new(Vec::with_capacity(domain.len() + key.len()));
    input.extend_from_slice(domain.as_bytes());
    input.extend_from_slice(key);
    let digest = benteng_crypto::sha256(&input);
    hex::encode(&digest[..8])
}
