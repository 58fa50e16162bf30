//! Backup files: streaming AES-256-GCM under a backup key kept apart from field KEKs/DEKs
//! (spec: "Backups | AES-256-GCM | Separate keys").
//!
//! Format v1:
//!
//! ```text
//! header  = "BENTENGB" | version u8 (=1) | chunk_size u32be | key_id_len u8 | key_id
//!         | salt [32] | base_nonce [12]
//! chunk_i = AES-256-GCM(file_key, nonce_i, aad_i, plaintext_i) = ciphertext_i | tag [16]
//! file_key = HKDF-SHA-256(salt, backup key, info "benteng-vault/backup/v1")
//! nonce_i  = base_nonce with its last 8 bytes XOR i (big-endian)
//! aad_i    = header | i u64be | last u8 (1 on the final chunk, else 0)
//! ```
//!
//! Every chunk holds `chunk_size` plaintext bytes except the last (which may be empty). The
//! counter in the nonce catches reordered, dropped or duplicated chunks; the last flag catches
//! truncation at a chunk boundary and appended data; the header in every AAD authenticates it.
//! A fresh salt per file gives every file its own key, so nonces never repeat across files.
//!
//! **Streaming caveat**: [`decrypt_stream`] writes each chunk once it has authenticated, so on
//! error the writer has received a prefix of the plaintext that must be discarded. Use
//! [`decrypt_file`], which writes to a temporary file and renames it only on success.

use std::fmt;
use std::fs::{File, OpenOptions};
use std::io::{BufReader, BufWriter, ErrorKind, Read, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

use aws_lc_rs::aead::{AES_256_GCM, Aad, LessSafeKey, NONCE_LEN, Nonce, UnboundKey};
use aws_lc_rs::hkdf;
use benteng_crypto::SecretString;
use secrecy::ExposeSecret;
use zeroize::Zeroizing;

use crate::{VaultError, keyfile};

const MAGIC: &[u8; 8] = b"BENTENGB";
const VERSION: u8 = 1;
const TAG_LEN: usize = 16;
const SALT_LEN: usize = 32;
/// Default plaintext bytes per chunk.
pub const DEFAULT_CHUNK_SIZE: usize = 64 * 1024;
/// Chunk sizes accepted when writing and reading (bounds memory on hostile headers).
pub const MIN_CHUNK_SIZE: usize = 16;
pub const MAX_CHUNK_SIZE: usize = 16 * 1024 * 1024;

/// The key backups are encrypted with: 256 bits, separate from every KEK and DEK. Zeroized on
/// drop, never printed. Its id (`bk-` + fingerprint) is written in each backup header so a
/// restore with the wrong key says so instead of failing authentication.
pub struct BackupKey {
    id: String,
    material: Zeroizing<[u8; 32]>,
}

impl fmt::Debug for BackupKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BackupKey")
            .field("id", &self.id)
            .field("key", &"<redacted>")
            .finish()
    }
}

impl BackupKey {
    /// From 32 raw bytes.
    pub fn from_bytes(key: &[u8]) -> Result<Self, VaultError> {
        let mut material = Zeroizing::new([0u8; 32]);
        if key.len() != 32 {
            return Err(VaultError::InvalidInput {
                what: "backup key",
                reason: "must be 32 bytes".into(),
            });
        }
        material.copy_from_slice(key);
        Ok(Self {
            id: format!(
                "bk-{}",
                keyfile::fingerprint("benteng-vault/backup-key-id/v1", key)
            ),
            material,
        })
    }

    /// From 64 hex digits, as kept in a secret store.
    pub fn from_hex(key: &SecretString) -> Result<Self, VaultError> {
        let mut raw = Zeroizing::new([0u8; 32]);
        hex::decode_to_slice(key.expose_secret().trim(), raw.as_mut_slice()).map_err(|_| {
            VaultError::InvalidInput {
                what: "backup key",
                reason: "expected 64 hex digits".into(),
            }
        })?;
        Self::from_bytes(raw.as_slice())
    }

    /// A fresh random key (export it with [`BackupKey::to_hex`] for escrow).
    pub fn generate() -> Result<Self, VaultError> {
        let raw = Zeroizing::new(benteng_crypto::random_bytes::<32>()?);
        Self::from_bytes(raw.as_slice())
    }

    /// Reads the key file, creating it (mode 0600) when missing; group/other-accessible files
    /// are refused, as for [`crate::FileKek`].
    pub fn load_or_create_file(path: impl AsRef<Path>) -> Result<Self, VaultError> {
        let (raw, _created) = keyfile::load_or_create(path.as_ref())?;
        Self::from_bytes(raw.as_slice())
    }

    /// Reads an existing key file.
    pub fn open_file(path: impl AsRef<Path>) -> Result<Self, VaultError> {
        let raw = keyfile::load(path.as_ref())?;
        Self::from_bytes(raw.as_slice())
    }

    pub fn id(&self) -> &str {
        &self.id
    }

    /// The key in hex, for escrow (printing it is the caller's deliberate act).
    pub fn to_hex(&self) -> SecretString {
        SecretString::from(hex::encode(self.material.as_slice()))
    }

    fn file_key(&self, salt: &[u8]) -> Result<LessSafeKey, VaultError> {
        let prk = hkdf::Salt::new(hkdf::HKDF_SHA256, salt).extract(self.material.as_slice());
        let info: &[&[u8]] = &[b"benteng-vault/backup/v1"];
        let okm = prk
            .expand(info, &AES_256_GCM)
            .map_err(|_| VaultError::Crypto("HKDF expand"))?;
        Ok(LessSafeKey::new(UnboundKey::from(okm)))
    }
}

struct Header {
    bytes: Vec<u8>,
    chunk_size: usize,
    base_nonce: [u8; NONCE_LEN],
}

fn chunk_nonce(base: &[u8; NONCE_LEN], index: u64) -> Nonce {
    let mut nonce = *base;
    for (b, c) in nonce[NONCE_LEN - 8..].iter_mut().zip(index.to_be_bytes()) {
        *b ^= c;
    }
    Nonce::assume_unique_for_key(nonce)
}

fn chunk_aad(header: &[u8], index: u64, last: bool) -> Vec<u8> {
    let mut aad = Vec::with_capacity(header.len() + 9);
    aad.extend_from_slice(header);
    aad.extend_from_slice(&index.to_be_bytes());
    aad.push(u8::from(last));
    aad
}

/// Reads until `buf` is full or the input ends; returns the bytes read.
fn fill(reader: &mut impl Read, buf: &mut [u8]) -> Result<usize, VaultError> {
    let mut filled = 0;
    while filled < buf.len() {
        match reader.read(&mut buf[filled..]) {
            Ok(0) => break,
            Ok(n) => filled += n,
            Err(e) if e.kind() == ErrorKind::Interrupted => {}
            Err(e) => return Err(VaultError::io("reading backup input")(e)),
        }
    }
    Ok(filled)
}

fn check_chunk_size(chunk_size: usize) -> Result<(), VaultError> {
    if (MIN_CHUNK_SIZE..=MAX_CHUNK_SIZE).contains(&chunk_size) {
        Ok(())
    } else {
        Err(VaultError::InvalidInput {
            what: "backup chunk size",
            reason: format!("must be between {MIN_CHUNK_SIZE} and {MAX_CHUNK_SIZE} bytes"),
        })
    }
}

/// Encrypts everything `reader` yields into `writer` with 64 KiB chunks. Returns the number of
/// plaintext bytes. Memory use is one chunk regardless of input size.
pub fn encrypt_stream(
    reader: impl Read,
    writer: impl Write,
    key: &BackupKey,
) -> Result<u64, VaultError> {
    encrypt_stream_with_chunk_size(reader, writer, key, DEFAULT_CHUNK_SIZE)
}

/// [`encrypt_stream`] with another chunk size (between [`MIN_CHUNK_SIZE`] and
/// [`MAX_CHUNK_SIZE`]); the size is recorded in the header, so readers need not know it.
pub fn encrypt_stream_with_chunk_size(
    mut reader: impl Read,
    mut writer: impl Write,
    key: &BackupKey,
    chunk_size: usize,
) -> Result<u64, VaultError> {
    check_chunk_size(chunk_size)?;
    let salt = benteng_crypto::random_bytes::<SALT_LEN>()?;
    let base_nonce = benteng_crypto::random_bytes::<NONCE_LEN>()?;
    let mut header = Vec::with_capacity(64 + key.id.len());
    header.extend_from_slice(MAGIC);
    header.push(VERSION);
    let size32 = u32::try_from(chunk_size).map_err(|_| VaultError::Crypto("chunk size"))?;
    header.extend_from_slice(&size32.to_be_bytes());
    let id_len = u8::try_from(key.id.len()).map_err(|_| VaultError::Crypto("key id length"))?;
    header.push(id_len);
    header.extend_from_slice(key.id.as_bytes());
    header.extend_from_slice(&salt);
    header.extend_from_slice(&base_nonce);
    let file_key = key.file_key(&salt)?;
    let write_err = VaultError::io;
    writer
        .write_all(&header)
        .map_err(write_err("writing backup"))?;

    // One byte more than a chunk: if it fills, the chunk is not the last.
    let mut buf = Zeroizing::new(vec![0u8; chunk_size + 1]);
    let mut have = fill(&mut reader, &mut buf)?;
    let mut index: u64 = 0;
    let mut total: u64 = 0;
    loop {
        let last = have <= chunk_size;
        let take = have.min(chunk_size);
        let chunk = &mut buf[..take];
        let tag = file_key
            .seal_in_place_separate_tag(
                chunk_nonce(&base_nonce, index),
                Aad::from(chunk_aad(&header, index, last)),
                chunk,
            )
            .map_err(|_| VaultError::Crypto("AES-256-GCM seal"))?;
        writer
            .write_all(chunk)
            .map_err(write_err("writing backup"))?;
        writer
            .write_all(tag.as_ref())
            .map_err(write_err("writing backup"))?;
        total = total.saturating_add(take as u64);
        if last {
            break;
        }
        index = index
            .checked_add(1)
            .ok_or(VaultError::Crypto("too many chunks"))?;
        buf[0] = buf[chunk_size];
        have = 1 + fill(&mut reader, &mut buf[1..])?;
    }
    writer.flush().map_err(write_err("writing backup"))?;
    Ok(total)
}

fn read_header(reader: &mut impl Read, key: &BackupKey) -> Result<Header, VaultError> {
    const WHAT: &str = "backup header";
    let mut fixed = [0u8; 14];
    if fill(reader, &mut fixed)? != fixed.len() {
        return Err(VaultError::malformed(WHAT, "too short"));
    }
    if &fixed[..8] != MAGIC {
        return Err(VaultError::malformed(
            WHAT,
            "not a benteng backup (bad magic)",
        ));
    }
    if fixed[8] != VERSION {
        return Err(VaultError::UnsupportedVersion {
            what: "backup",
            found: fixed[8].to_string(),
        });
    }
    let chunk_size = u32::from_be_bytes([fixed[9], fixed[10], fixed[11], fixed[12]]) as usize;
    if check_chunk_size(chunk_size).is_err() {
        return Err(VaultError::malformed(WHAT, "chunk size out of range"));
    }
    let id_len = usize::from(fixed[13]);
    let mut rest = vec![0u8; id_len + SALT_LEN + NONCE_LEN];
    if fill(reader, &mut rest)? != rest.len() {
        return Err(VaultError::malformed(WHAT, "too short"));
    }
    let found_id = String::from_utf8_lossy(&rest[..id_len]).into_owned();
    if found_id != key.id {
        return Err(VaultError::WrongBackupKey {
            expected: key.id.clone(),
            found: found_id,
        });
    }
    let mut base_nonce = [0u8; NONCE_LEN];
    base_nonce.copy_from_slice(&rest[id_len + SALT_LEN..]);
    let mut bytes = fixed.to_vec();
    bytes.extend_from_slice(&rest);
    Ok(Header {
        bytes,
        chunk_size,
        base_nonce,
    })
}

/// Decrypts a backup written by [`encrypt_stream`]. Returns the number of plaintext bytes.
///
/// Each chunk reaches `writer` only after it authenticated, but an error later in the stream
/// (tampering, truncation, appended bytes, wrong key) leaves the writer holding a prefix:
/// **discard the output on error**, or use [`decrypt_file`].
pub fn decrypt_stream(
    mut reader: impl Read,
    mut writer: impl Write,
    key: &BackupKey,
) -> Result<u64, VaultError> {
    let header = read_header(&mut reader, key)?;
    let salt = &header.bytes[header.bytes.len() - NONCE_LEN - SALT_LEN..][..SALT_LEN];
    let file_key = key.file_key(salt)?;
    let sealed_size = header.chunk_size + TAG_LEN;
    let mut buf = Zeroizing::new(vec![0u8; sealed_size + 1]);
    let mut have = fill(&mut reader, &mut buf)?;
    let mut index: u64 = 0;
    let mut total: u64 = 0;
    loop {
        let last = have <= sealed_size;
        let take = have.min(sealed_size);
        if take < TAG_LEN {
            return Err(VaultError::AuthenticationFailed {
                what: "backup (truncated)",
            });
        }
        let plain = file_key
            .open_in_place(
                chunk_nonce(&header.base_nonce, index),
                Aad::from(chunk_aad(&header.bytes, index, last)),
                &mut buf[..take],
            )
            .map_err(|_| VaultError::AuthenticationFailed {
                what: "backup chunk",
            })?;
        writer
            .write_all(plain)
            .map_err(VaultError::io("writing restored backup"))?;
        total = total.saturating_add(plain.len() as u64);
        if last {
            break;
        }
        index = index
            .checked_add(1)
            .ok_or(VaultError::Crypto("too many chunks"))?;
        buf[0] = buf[sealed_size];
        have = 1 + fill(&mut reader, &mut buf[1..])?;
    }
    writer
        .flush()
        .map_err(VaultError::io("writing restored backup"))?;
    Ok(total)
}

/// A sibling temporary file (mode 0600) that becomes `dst` only through [`TempFile::commit`]
/// and is removed otherwise.
struct TempFile {
    path: PathBuf,
    committed: bool,
}

impl TempFile {
    fn create(dst: &Path) -> Result<(Self, File), VaultError> {
        let name = dst
            .file_name()
            .ok_or_else(|| VaultError::InvalidInput {
                what: "destination path",
                reason: "has no file name".into(),
            })?
            .to_string_lossy();
        let suffix = hex::encode(benteng_crypto::random_bytes::<8>()?);
        let path = dst.with_file_name(format!(".{name}.partial-{suffix}"));
        let file = OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(&path)
            .map_err(VaultError::io("creating temporary file"))?;
        Ok((
            Self {
                path,
                committed: false,
            },
            file,
        ))
    }

    fn commit(mut self, file: File, dst: &Path) -> Result<(), VaultError> {
        file.sync_all().map_err(VaultError::io("syncing output"))?;
        drop(file);
        std::fs::rename(&self.path, dst).map_err(VaultError::io("renaming output"))?;
        self.committed = true;
        if let Some(dir) = dst.parent().filter(|d| !d.as_os_str().is_empty())
            && let Ok(d) = File::open(dir)
        {
            let _ = d.sync_all();
        }
        Ok(())
    }
}

impl Drop for TempFile {
    fn drop(&mut self) {
        if !self.committed {
            let _ = std::fs::remove_file(&self.path);
        }
    }
}

fn refuse_existing(dst: &Path) -> Result<(), VaultError> {
    if dst.exists() {
        return Err(VaultError::InvalidInput {
            what: "destination path",
            reason: format!("{} already exists; refusing to overwrite", dst.display()),
        });
    }
    Ok(())
}

/// Runs `f` from `src` into a temporary file beside `dst`, and renames it to `dst` only on
/// success: `dst` appears complete and authenticated, or not at all.
fn via_temp(
    src: &Path,
    dst: &Path,
    f: impl FnOnce(BufReader<File>, &mut BufWriter<&File>) -> Result<u64, VaultError>,
) -> Result<u64, VaultError> {
    refuse_existing(dst)?;
    let input = File::open(src).map_err(VaultError::io("opening input"))?;
    let (temp, file) = TempFile::create(dst)?;
    let total = {
        let mut writer = BufWriter::new(&file);
        let total = f(BufReader::new(input), &mut writer)?;
        writer.flush().map_err(VaultError::io("writing output"))?;
        total
    };
    temp.commit(file, dst)?;
    Ok(total)
}

/// Encrypts the file `src` to `dst` (which must not exist) through a temporary file, so an
/// interrupted backup never leaves a file that looks finished.
pub fn encrypt_file(src: &Path, dst: &Path, key: &BackupKey) -> Result<u64, VaultError> {
    via_temp(src, dst, |r, w| encrypt_stream(r, w, key))
}

/// Decrypts the backup `src` to `dst` (which must not exist, created mode 0600). Plaintext is
/// written to a temporary file that is renamed to `dst` only once the whole backup has
/// authenticated and removed on any error, so no partial plaintext is left behind.
pub fn decrypt_file(src: &Path, dst: &Path, key: &BackupKey) -> Result<u64, VaultError> {
    via_temp(src, dst, |r, w| decrypt_stream(r, w, key))
}
