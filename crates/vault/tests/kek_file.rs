#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::os::unix::fs::PermissionsExt;
use std::sync::Arc;

use benteng_vault::{BackupKey, FileKek, KekProvider, KeyPurpose, Keyring, VaultError};
use common::TempDir;

fn mode(path: &std::path::Path) -> u32 {
    std::fs::metadata(path).unwrap().permissions().mode() & 0o777
}

#[test]
fn creates_a_private_hex_key_file_once() {
    let dir = TempDir::new("kekfile");
    let path = dir.join("kek.key");
    let kek = FileKek::open_or_create(&path).unwrap();
    assert_eq!(mode(&path), 0o600);
    let content = std::fs::read_to_string(&path).unwrap();
    assert_eq!(content.trim().len(), 64);
    assert!(content.trim().bytes().all(|b| b.is_ascii_hexdigit()));
    assert!(kek.id().starts_with("file-"));
    assert!(kek.describe().contains("kek.key"));

    // Reopening reads the same key (same id), it does not replace it.
    let again = FileKek::open_or_create(&path).unwrap();
    assert_eq!(again.id(), kek.id());
    assert_eq!(std::fs::read_to_string(&path).unwrap(), content);
    assert_eq!(FileKek::open(&path).unwrap().id(), kek.id());
    assert_eq!(kek.path(), path.as_path());
}

#[test]
fn refuses_files_others_can_access() {
    let dir = TempDir::new("kekperm");
    let path = dir.join("kek.key");
    FileKek::open_or_create(&path).unwrap();
    for bad in [0o640, 0o604, 0o660, 0o644, 0o602] {
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(bad)).unwrap();
        let err = FileKek::open(&path).unwrap_err();
        assert!(
            matches!(err, VaultError::InsecureKeyFile { .. }),
            "{bad:o}: {err}"
        );
        assert!(FileKek::open_or_create(&path).is_err());
        assert!(BackupKey::open_file(&path).is_err());
    }
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o400)).unwrap();
    assert!(FileKek::open(&path).is_ok());
}

#[test]
fn accepts_raw_keys_and_rejects_garbage_without_echoing_it() {
    let dir = TempDir::new("kekraw");
    let write = |name: &str, data: &[u8]| {
        let path = dir.join(name);
        std::fs::write(&path, data).unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
        path
    };
    let raw = write("raw.key", &[0x42; 32]);
    let hexed = write(
        "hex.key",
        format!("  {}\n", hex::encode([0x42; 32])).as_bytes(),
    );
    assert_eq!(
        FileKek::open(&raw).unwrap().id(),
        FileKek::open(&hexed).unwrap().id()
    );

    for (name, data) in [
        ("short.key", b"abcdef".to_vec()),
        ("empty.key", Vec::new()),
        ("nothex.key", "zz".repeat(32).into_bytes()),
        ("long.key", vec![1u8; 33]),
        ("huge.key", vec![b'a'; 5000]),
    ] {
        let path = write(name, &data);
        let err = FileKek::open(&path).unwrap_err();
        assert!(matches!(err, VaultError::KeyFile { .. }), "{name}: {err}");
        assert!(!err.to_string().contains("zzzz"));
    }
    assert!(matches!(
        FileKek::open(dir.join("missing.key")),
        Err(VaultError::KeyFile { .. })
    ));
    assert!(FileKek::open_or_create(dir.join("no/such/dir/kek.key")).is_err());
    assert!(FileKek::open(dir.path()).is_err());
}

#[test]
fn a_dek_wrapped_by_one_kek_is_not_loaded_by_another() {
    let dir = TempDir::new("kektwo");
    let a = Arc::new(FileKek::open_or_create(dir.join("a.key")).unwrap());
    let b = Arc::new(FileKek::open_or_create(dir.join("b.key")).unwrap());
    assert_ne!(a.id(), b.id());
    let wrapped = Keyring::new(a).rotate(&KeyPurpose::NATIONAL_ID).unwrap();
    let ring_b = Keyring::new(b.clone());
    assert!(matches!(
        ring_b.load(&wrapped),
        Err(VaultError::UnknownKek { .. })
    ));
    // Even when the id is forged to point at KEK b, the unwrap fails authentication.
    let forged = benteng_vault::WrappedDek {
        kek_id: b.id().to_owned(),
        ..wrapped
    };
    assert!(matches!(
        ring_b.load(&forged),
        Err(VaultError::AuthenticationFailed { .. })
    ));
}

/// Instances starting together on a fresh data directory all create "the" KEK at once: every
/// one must end up with the same complete key, none may read a half-written file.
#[test]
fn concurrent_first_opens_agree_on_one_key() {
    for round in 0..20 {
        let dir = TempDir::new("kekrace");
        let path = dir.join(&format!("kek-{round}"));
        let barrier = Arc::new(std::sync::Barrier::new(8));
        let opens: Vec<_> = (0..8)
            .map(|_| {
                let (path, barrier) = (path.clone(), barrier.clone());
                std::thread::spawn(move || {
                    barrier.wait();
                    FileKek::open_or_create(&path).map(|kek| kek.id().to_owned())
                })
            })
            .collect();
        let ids: Vec<String> = opens
            .into_iter()
            .map(|open| open.join().unwrap().expect("every open succeeds"))
            .collect();
        assert!(ids.iter().all(|id| *id == ids[0]), "{ids:?}");
    }
}
