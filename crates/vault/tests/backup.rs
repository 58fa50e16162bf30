#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::os::unix::fs::PermissionsExt;

use benteng_vault::backup::{DEFAULT_CHUNK_SIZE, encrypt_stream_with_chunk_size};
use benteng_vault::{
    BackupKey, ExposeSecret, VaultError, decrypt_file, decrypt_stream, encrypt_file, encrypt_stream,
};
use common::{Rng, TempDir};

const CHUNK: usize = 64;

fn seal(key: &BackupKey, plain: &[u8], chunk: usize) -> Vec<u8> {
    let mut out = Vec::new();
    let n = encrypt_stream_with_chunk_size(plain, &mut out, key, chunk).unwrap();
    assert_eq!(n, plain.len() as u64);
    out
}

fn open(key: &BackupKey, sealed: &[u8]) -> Result<Vec<u8>, VaultError> {
    let mut out = Vec::new();
    decrypt_stream(sealed, &mut out, key).map(|_| out)
}

/// Header length for a key id of `bk-` + 16 hex.
const HEADER: usize = 8 + 1 + 4 + 1 + 19 + 32 + 12;

#[test]
fn round_trips_at_chunk_boundaries() {
    let key = BackupKey::generate().unwrap();
    let mut rng = Rng::new(7);
    for len in [0, 1, CHUNK - 1, CHUNK, CHUNK + 1, 2 * CHUNK, 3 * CHUNK + 5] {
        let plain = rng.bytes(len);
        let sealed = seal(&key, &plain, CHUNK);
        let chunks = len.div_ceil(CHUNK).max(1);
        assert_eq!(sealed.len(), HEADER + len + 16 * chunks, "len {len}");
        assert_eq!(open(&key, &sealed).unwrap(), plain);
    }
    // Default chunk size, a few MiB, through the default entry point.
    let plain = rng.bytes(3 * DEFAULT_CHUNK_SIZE + 1234);
    let mut sealed = Vec::new();
    encrypt_stream(plain.as_slice(), &mut sealed, &key).unwrap();
    assert_eq!(open(&key, &sealed).unwrap(), plain);
    // Two encryptions of the same input differ (fresh salt and nonce).
    assert_ne!(seal(&key, b"same", CHUNK), seal(&key, b"same", CHUNK));
}

#[test]
fn any_modification_truncation_or_reordering_fails() {
    let key = BackupKey::generate().unwrap();
    let plain = Rng::new(11).bytes(3 * CHUNK + 10);
    let sealed = seal(&key, &plain, CHUNK);
    for i in 0..sealed.len() {
        let mut t = sealed.clone();
        t[i] ^= 0x80;
        assert!(open(&key, &t).is_err(), "flip at {i} accepted");
    }
    for cut in 0..sealed.len() {
        assert!(
            open(&key, &sealed[..cut]).is_err(),
            "truncation to {cut} accepted"
        );
    }
    let mut appended = sealed.clone();
    appended.push(0);
    assert!(open(&key, &appended).is_err());
    let mut doubled = sealed.clone();
    doubled.extend_from_slice(&sealed[HEADER..]);
    assert!(open(&key, &doubled).is_err());

    // Swap chunks 0 and 1, and drop chunk 1.
    let c = CHUNK + 16;
    let body = &sealed[HEADER..];
    let mut swapped = sealed[..HEADER].to_vec();
    swapped.extend_from_slice(&body[c..2 * c]);
    swapped.extend_from_slice(&body[..c]);
    swapped.extend_from_slice(&body[2 * c..]);
    assert!(matches!(
        open(&key, &swapped),
        Err(VaultError::AuthenticationFailed { .. })
    ));
    let mut dropped = sealed[..HEADER].to_vec();
    dropped.extend_from_slice(&body[..c]);
    dropped.extend_from_slice(&body[2 * c..]);
    assert!(open(&key, &dropped).is_err());
    // A chunk from another file under the same key does not fit.
    let other = seal(&key, &plain, CHUNK);
    let mut spliced = sealed[..HEADER + c].to_vec();
    spliced.extend_from_slice(&other[HEADER + c..]);
    assert!(open(&key, &spliced).is_err());
}

#[test]
fn wrong_key_and_garbage_are_errors() {
    let key = BackupKey::generate().unwrap();
    let other = BackupKey::generate().unwrap();
    let sealed = seal(&key, b"pg_dump output", CHUNK);
    assert!(matches!(
        open(&other, &sealed),
        Err(VaultError::WrongBackupKey { .. })
    ));
    // Forging the header's key id to the other key does not help.
    let mut forged = sealed.clone();
    forged[14..14 + 19].copy_from_slice(other.id().as_bytes());
    assert!(matches!(
        open(&other, &forged),
        Err(VaultError::AuthenticationFailed { .. })
    ));
    let mut v2 = sealed.clone();
    v2[8] = 2;
    assert!(matches!(
        open(&key, &v2),
        Err(VaultError::UnsupportedVersion { .. })
    ));
    let mut rng = Rng::new(99);
    for _ in 0..500 {
        let len = rng.below(400);
        let junk = rng.bytes(len);
        assert!(open(&key, &junk).is_err());
        let mut with_header = sealed[..HEADER].to_vec();
        with_header.extend_from_slice(&junk);
        assert!(open(&key, &with_header).is_err());
    }
    assert!(encrypt_stream_with_chunk_size(&b""[..], Vec::new(), &key, 8).is_err());
}

#[test]
fn file_helpers_publish_only_complete_authentic_output() {
    let dir = TempDir::new("backupfile");
    let key = BackupKey::load_or_create_file(dir.join("backup.key")).unwrap();
    assert_eq!(
        std::fs::metadata(dir.join("backup.key"))
            .unwrap()
            .permissions()
            .mode()
            & 0o777,
        0o600
    );
    assert_eq!(
        BackupKey::open_file(dir.join("backup.key")).unwrap().id(),
        key.id()
    );
    let again = BackupKey::from_hex(&key.to_hex()).unwrap();
    assert_eq!(again.id(), key.id());
    assert!(!format!("{key:?}").contains(key.to_hex().expose_secret()));

    let plain = Rng::new(3).bytes(200_000);
    std::fs::write(dir.join("dump.sql"), &plain).unwrap();
    encrypt_file(&dir.join("dump.sql"), &dir.join("dump.enc"), &key).unwrap();
    decrypt_file(&dir.join("dump.enc"), &dir.join("restored.sql"), &key).unwrap();
    assert_eq!(std::fs::read(dir.join("restored.sql")).unwrap(), plain);
    assert_eq!(
        std::fs::metadata(dir.join("restored.sql"))
            .unwrap()
            .permissions()
            .mode()
            & 0o777,
        0o600
    );
    // Existing destinations are not overwritten.
    assert!(decrypt_file(&dir.join("dump.enc"), &dir.join("restored.sql"), &key).is_err());

    // Tamper with the last chunk: the first chunks authenticate, but nothing is published and
    // no temporary file is left.
    let mut sealed = std::fs::read(dir.join("dump.enc")).unwrap();
    let last = sealed.len() - 1;
    sealed[last] ^= 1;
    std::fs::write(dir.join("bad.enc"), &sealed).unwrap();
    let err = decrypt_file(&dir.join("bad.enc"), &dir.join("bad.sql"), &key).unwrap_err();
    assert!(
        matches!(err, VaultError::AuthenticationFailed { .. }),
        "{err}"
    );
    assert!(!dir.join("bad.sql").exists());
    let leftovers: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.contains("partial"))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
    assert!(BackupKey::from_bytes(&[0; 31]).is_err());
}
