#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::sync::Arc;

use benteng_vault::{
    Aad, Dek, DekId, EncryptedValue, ExposeSecret, FieldCipher, FileKek, KeyPurpose, Keyring,
    MAX_FIELD_PLAINTEXT, VaultError, WrappedDek, reencrypt,
};
use common::{Rng, TempDir, keyring};

const IBAN: &[u8] = b"ID89 3704 0044 0532 0130 0000 0001";

fn aad() -> Aad<'static> {
    Aad::new(
        "tenant_a",
        "beneficiaries",
        "account_number",
        "0190f3a2-0000-7000-8000-000000000001",
    )
}

/// Keyring with an active bank_account DEK, created the way storage will do it.
fn ready(dir: &TempDir) -> Keyring {
    let (ring, _) = keyring(dir);
    let wrapped = ring.rotate(&KeyPurpose::BANK_ACCOUNT).unwrap();
    ring.load(&wrapped).unwrap();
    ring
}

#[test]
fn round_trip_and_stored_format() {
    let dir = TempDir::new("field");
    let ring = ready(&dir);
    let stored = ring
        .encrypt(&KeyPurpose::BANK_ACCOUNT, IBAN, &aad())
        .unwrap();
    let active = ring.active(&KeyPurpose::BANK_ACCOUNT).unwrap();
    assert!(
        stored.starts_with(&format!("v1.{}.", active.id())),
        "{stored}"
    );
    assert!(stored.is_ascii() && !stored.contains('='));
    let plain = ring.decrypt(&stored, &aad()).unwrap();
    assert_eq!(plain.expose_secret(), IBAN);
    let text = ring.decrypt_string(&stored, &aad()).unwrap();
    assert_eq!(text.expose_secret().as_bytes(), IBAN);

    // Parsed and byte forms say the same.
    let parsed = EncryptedValue::parse(&stored).unwrap();
    assert_eq!(parsed.dek_id(), active.id());
    assert_eq!(parsed.to_stored(), stored);
    assert_eq!(
        EncryptedValue::from_bytes(stored.as_bytes()).unwrap(),
        parsed
    );
    let via_cipher = FieldCipher::decrypt(&ring, &parsed, &aad()).unwrap();
    assert_eq!(via_cipher.expose_secret(), IBAN);

    // Empty values are values too.
    let empty = ring
        .encrypt(&KeyPurpose::BANK_ACCOUNT, b"", &aad())
        .unwrap();
    assert!(
        ring.decrypt(&empty, &aad())
            .unwrap()
            .expose_secret()
            .is_empty()
    );
}

#[test]
fn fresh_nonce_per_value() {
    let dir = TempDir::new("nonce");
    let ring = ready(&dir);
    let a = ring
        .encrypt(&KeyPurpose::BANK_ACCOUNT, IBAN, &aad())
        .unwrap();
    let b = ring
        .encrypt(&KeyPurpose::BANK_ACCOUNT, IBAN, &aad())
        .unwrap();
    assert_ne!(a, b);
}

#[test]
fn value_moved_to_another_place_fails() {
    let dir = TempDir::new("aad");
    let ring = ready(&dir);
    let base = aad();
    let stored = ring
        .encrypt(&KeyPurpose::BANK_ACCOUNT, IBAN, &base)
        .unwrap();
    let elsewhere = [
        Aad {
            tenant_id: "tenant_b",
            ..base
        },
        Aad {
            table: "payouts",
            ..base
        },
        Aad {
            column: "national_id",
            ..base
        },
        Aad {
            row_id: "0190f3a2-0000-7000-8000-000000000002",
            ..base
        },
    ];
    for other in elsewhere {
        let err = ring.decrypt(&stored, &other).unwrap_err();
        assert!(
            matches!(err, VaultError::AuthenticationFailed { .. }),
            "{err}"
        );
        // The message never echoes the plaintext.
        assert!(!err.to_string().contains("ID89"));
    }
    // Length prefixes: moving bytes between neighbouring fields changes the AAD.
    let a = Aad::new("ab", "c", "col", "1");
    let b = Aad::new("a", "bc", "col", "1");
    let stored = ring.encrypt(&KeyPurpose::BANK_ACCOUNT, IBAN, &a).unwrap();
    assert!(ring.decrypt(&stored, &b).is_err());
    let a = Aad::new("t", "tab", "col", "12");
    let b = Aad::new("t", "tab", "col1", "2");
    let stored = ring.encrypt(&KeyPurpose::BANK_ACCOUNT, IBAN, &a).unwrap();
    assert!(ring.decrypt(&stored, &b).is_err());
}

#[test]
fn unknown_key_and_version_errors() {
    let dir = TempDir::new("unknown");
    let ring = ready(&dir);
    let stored = ring
        .encrypt(&KeyPurpose::BANK_ACCOUNT, IBAN, &aad())
        .unwrap();

    let other_dir = TempDir::new("unknown2");
    let other = ready(&other_dir);
    let err = other.decrypt(&stored, &aad()).unwrap_err();
    assert!(matches!(err, VaultError::UnknownKeyId { .. }), "{err}");

    let v2 = stored.replacen("v1.", "v2.", 1);
    assert!(matches!(
        ring.decrypt(&v2, &aad()).unwrap_err(),
        VaultError::UnsupportedVersion { .. }
    ));
    // A value naming a known DEK id that is not its own: the wrong key cannot open it.
    let wrapped2 = ring.rotate(&KeyPurpose::BANK_ACCOUNT).unwrap();
    ring.load(&wrapped2).unwrap();
    let swapped = stored.replace(
        &EncryptedValue::parse(&stored).unwrap().dek_id().to_string(),
        &wrapped2.id.to_string(),
    );
    assert!(matches!(
        ring.decrypt(&swapped, &aad()).unwrap_err(),
        VaultError::AuthenticationFailed { .. }
    ));
    // No active key yet.
    assert!(matches!(
        ring.encrypt(&KeyPurpose::NATIONAL_ID, b"3171234567890001", &aad())
            .unwrap_err(),
        VaultError::NoActiveKey { .. }
    ));
}

#[test]
fn malformed_inputs_are_errors_never_panics() {
    let dir = TempDir::new("malformed");
    let ring = ready(&dir);
    let stored = ring
        .encrypt(&KeyPurpose::BANK_ACCOUNT, IBAN, &aad())
        .unwrap();
    let id = ring.active(&KeyPurpose::BANK_ACCOUNT).unwrap().id();
    let cases = [
        String::new(),
        "v1".into(),
        "v1.".into(),
        "v1..".into(),
        format!("v1.{id}"),
        format!("v1.{id}."),
        format!("v1.{id}.AAAA"),
        format!("v1.{id}.!!!!"),
        format!("v1.{id}.{}", "A".repeat(200_000)),
        "v1.dek_XYZ.AAAA".into(),
        format!("V1.{id}.AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"),
        format!("{stored}="),
        format!("{stored}."),
        format!(" {stored}"),
        "v99999999999.x.y".into(),
        "é.é.é".into(),
    ];
    for case in &cases {
        assert!(ring.decrypt(case, &aad()).is_err(), "accepted {case:?}");
    }
    assert!(EncryptedValue::from_bytes(&[0xff, 0xfe, b'.', b'.']).is_err());

    // Every truncation and every single-character substitution fails.
    for cut in 0..stored.len() {
        assert!(
            ring.decrypt(&stored[..cut], &aad()).is_err(),
            "prefix {cut}"
        );
    }
    let bytes = stored.as_bytes();
    for i in 0..bytes.len() {
        for replacement in [b'A', b'_', b'-', b'z', b'.', b'0'] {
            if bytes[i] == replacement {
                continue;
            }
            let mut changed = bytes.to_vec();
            changed[i] = replacement;
            let text = String::from_utf8(changed).unwrap();
            assert!(
                ring.decrypt(&text, &aad()).is_err(),
                "modified value at {i} accepted"
            );
        }
    }
    // Random junk, printable and not.
    let mut rng = Rng::new(0x5eed);
    let body_alphabet = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    for _ in 0..2000 {
        let len = rng.below(120);
        let junk = rng.bytes(len);
        let _ = EncryptedValue::from_bytes(&junk);
        let body: String = (0..len)
            .map(|_| char::from(body_alphabet[rng.below(body_alphabet.len())]))
            .collect();
        assert!(ring.decrypt(&format!("v1.{id}.{body}"), &aad()).is_err());
    }
}

#[test]
fn oversize_plaintext_is_refused() {
    let dir = TempDir::new("big");
    let ring = ready(&dir);
    let max = vec![7u8; MAX_FIELD_PLAINTEXT];
    let stored = ring
        .encrypt(&KeyPurpose::BANK_ACCOUNT, &max, &aad())
        .unwrap();
    assert_eq!(
        ring.decrypt(&stored, &aad()).unwrap().expose_secret().len(),
        max.len()
    );
    let too_big = vec![7u8; MAX_FIELD_PLAINTEXT + 1];
    assert!(matches!(
        ring.encrypt(&KeyPurpose::BANK_ACCOUNT, &too_big, &aad()),
        Err(VaultError::InvalidInput { .. })
    ));
}

#[test]
fn rotation_keeps_old_values_readable_and_reencrypt_migrates() {
    let dir = TempDir::new("rotate");
    let ring = ready(&dir);
    let first = ring.active(&KeyPurpose::BANK_ACCOUNT).unwrap().id();
    let old = ring
        .encrypt(&KeyPurpose::BANK_ACCOUNT, IBAN, &aad())
        .unwrap();
    assert_eq!(reencrypt(&ring, &old, &aad()).unwrap(), None);

    let wrapped = ring.rotate(&KeyPurpose::BANK_ACCOUNT).unwrap();
    // Not active until persisted and loaded.
    assert_eq!(ring.active(&KeyPurpose::BANK_ACCOUNT).unwrap().id(), first);
    assert!(matches!(
        ring.dek(&wrapped.id),
        Err(VaultError::UnknownKeyId { .. })
    ));
    ring.load(&wrapped).unwrap();
    assert_eq!(
        ring.active(&KeyPurpose::BANK_ACCOUNT).unwrap().id(),
        wrapped.id
    );

    // Old values still decrypt; new ones use the new DEK.
    assert_eq!(ring.decrypt(&old, &aad()).unwrap().expose_secret(), IBAN);
    let new = ring
        .encrypt(&KeyPurpose::BANK_ACCOUNT, IBAN, &aad())
        .unwrap();
    assert_eq!(EncryptedValue::parse(&new).unwrap().dek_id(), wrapped.id);

    let migrated = reencrypt(&ring, &old, &aad())
        .unwrap()
        .expect("old value migrates");
    assert_eq!(
        EncryptedValue::parse(&migrated).unwrap().dek_id(),
        wrapped.id
    );
    assert_eq!(
        ring.decrypt(&migrated, &aad()).unwrap().expose_secret(),
        IBAN
    );
    assert_eq!(reencrypt(&ring, &migrated, &aad()).unwrap(), None);
    // Migration authenticates first: a value under the wrong AAD is not re-sealed.
    let wrong = Aad {
        row_id: "other",
        ..aad()
    };
    assert!(reencrypt(&ring, &old, &wrong).is_err());

    // Loading the older DEK again does not take the active slot back; set_active can.
    let older = ring.dek(&first).unwrap();
    assert_eq!(older.purpose(), &KeyPurpose::BANK_ACCOUNT);
    ring.set_active(&first).unwrap();
    assert_eq!(ring.active(&KeyPurpose::BANK_ACCOUNT).unwrap().id(), first);
    ring.load(&wrapped).unwrap();
    ring.set_active(&wrapped.id).unwrap();
    assert_eq!(ring.dek_ids(), vec![first, wrapped.id]);
}

#[test]
fn purposes_have_separate_active_keys() {
    let dir = TempDir::new("purposes");
    let ring = ready(&dir);
    let nid = ring.rotate(&KeyPurpose::NATIONAL_ID).unwrap();
    ring.load(&nid).unwrap();
    assert_ne!(
        ring.active(&KeyPurpose::BANK_ACCOUNT).unwrap().id(),
        ring.active(&KeyPurpose::NATIONAL_ID).unwrap().id()
    );
    let custom = KeyPurpose::new("webhook_secret").unwrap();
    assert_eq!(custom.as_str(), "webhook_secret");
    for bad in ["", "Bank", "1abc", "a.b", "a-b", &"a".repeat(65)] {
        assert!(KeyPurpose::new(bad).is_err(), "{bad:?}");
    }
}

#[test]
fn restart_loads_persisted_deks_in_any_order() {
    let dir = TempDir::new("restart");
    let ring = ready(&dir);
    let w2 = ring.rotate(&KeyPurpose::BANK_ACCOUNT).unwrap();
    ring.load(&w2).unwrap();
    let stored = ring
        .encrypt(&KeyPurpose::BANK_ACCOUNT, IBAN, &aad())
        .unwrap();
    let first = ring.dek_ids()[0];
    let w1 = ring.rewrap(&first).unwrap();

    // Persist as JSON, as a storage layer might, and reload in reverse order.
    let rows: Vec<String> = [&w1, &w2]
        .iter()
        .map(|w| serde_json::to_string(w).unwrap())
        .collect();
    assert!(
        rows[0].contains("\"purpose\":\"bank_account\""),
        "{}",
        rows[0]
    );
    let kek = Arc::new(FileKek::open(dir.join("kek.key")).unwrap());
    let restarted = Keyring::new(kek);
    for row in rows.iter().rev() {
        let w: WrappedDek = serde_json::from_str(row).unwrap();
        restarted.load(&w).unwrap();
    }
    assert_eq!(
        restarted.active(&KeyPurpose::BANK_ACCOUNT).unwrap().id(),
        w2.id
    );
    assert_eq!(
        restarted.decrypt(&stored, &aad()).unwrap().expose_secret(),
        IBAN
    );
    // Loading twice is harmless.
    restarted.load(&w2).unwrap();
}

#[test]
fn wrapped_deks_cannot_be_relabelled_or_tampered() {
    let dir = TempDir::new("wrapped");
    let (ring, _) = keyring(&dir);
    let w = ring.rotate(&KeyPurpose::BANK_ACCOUNT).unwrap();
    let auth_failed =
        |w: &WrappedDek| matches!(ring.load(w), Err(VaultError::AuthenticationFailed { .. }));
    assert!(auth_failed(&WrappedDek {
        purpose: KeyPurpose::PRIVATE_KEY,
        ..w.clone()
    }));
    assert!(auth_failed(&WrappedDek {
        id: DekId::generate(),
        ..w.clone()
    }));
    assert!(auth_failed(&WrappedDek {
        created_at: w.created_at + time::Duration::seconds(1),
        ..w.clone()
    }));
    for i in 1..w.wrapped.len() {
        let mut t = w.clone();
        t.wrapped[i] ^= 0x01;
        assert!(auth_failed(&t), "flip at {i}");
    }
    let mut t = w.clone();
    t.wrapped[0] = 9;
    assert!(matches!(
        ring.load(&t),
        Err(VaultError::UnsupportedVersion { .. })
    ));
    for cut in 0..w.wrapped.len() {
        let t = WrappedDek {
            wrapped: w.wrapped[..cut].to_vec(),
            ..w.clone()
        };
        assert!(ring.load(&t).is_err());
    }
    let t = WrappedDek {
        kek_id: "file-0000000000000000".into(),
        ..w.clone()
    };
    assert!(matches!(ring.load(&t), Err(VaultError::UnknownKek { .. })));
    // Nothing bad was loaded along the way.
    assert!(ring.dek_ids().is_empty());
    ring.load(&w).unwrap();
}

#[test]
fn kek_rotation_rewraps_without_touching_values() {
    let dir = TempDir::new("kekrot");
    let ring = ready(&dir);
    let stored = ring
        .encrypt(&KeyPurpose::BANK_ACCOUNT, IBAN, &aad())
        .unwrap();
    let old_kek = Arc::new(FileKek::open(dir.join("kek.key")).unwrap());
    let id = ring.dek_ids()[0];
    let old_wrapped = ring.rewrap(&id).unwrap();

    let new_kek = Arc::new(FileKek::open_or_create(dir.join("kek2.key")).unwrap());
    let transitional = Keyring::new(new_kek.clone()).with_kek(old_kek);
    transitional.load(&old_wrapped).unwrap();
    let rewrapped = transitional.rewrap(&id).unwrap();
    assert_eq!(rewrapped.kek_id, benteng_vault::KekProvider::id(&*new_kek));

    let after = Keyring::new(new_kek);
    assert!(matches!(
        after.load(&old_wrapped),
        Err(VaultError::UnknownKek { .. })
    ));
    after.load(&rewrapped).unwrap();
    assert_eq!(
        after.decrypt(&stored, &aad()).unwrap().expose_secret(),
        IBAN
    );
}

#[test]
fn keys_never_print() {
    let dir = TempDir::new("debug");
    let ring = ready(&dir);
    let dek = ring.active(&KeyPurpose::BANK_ACCOUNT).unwrap();
    let shown = format!("{dek:?} {ring:?}");
    assert!(shown.contains("<redacted>"), "{shown}");
    let key_hex = std::fs::read_to_string(dir.join("kek.key")).unwrap();
    let kek = FileKek::open(dir.join("kek.key")).unwrap();
    let shown = format!("{kek:?} {}", benteng_vault::KekProvider::describe(&kek));
    assert!(!shown.contains(key_hex.trim()), "{shown}");
    assert!(!shown.contains(&key_hex.trim()[..16]), "{shown}");

    let plain = ring
        .decrypt(
            &ring
                .encrypt(&KeyPurpose::BANK_ACCOUNT, IBAN, &aad())
                .unwrap(),
            &aad(),
        )
        .unwrap();
    assert!(!format!("{plain:?}").contains("ID89"));
    let unwrapped = Dek::generate(KeyPurpose::API_SECRET).unwrap();
    assert!(format!("{unwrapped:?}").contains("<redacted>"));
}

#[test]
fn decrypt_with_checks_the_key_id() {
    let dek_a = Dek::generate(KeyPurpose::API_SECRET).unwrap();
    let dek_b = Dek::generate(KeyPurpose::API_SECRET).unwrap();
    let v = FieldCipher::encrypt(&dek_a, b"s3cret", &aad()).unwrap();
    assert_eq!(
        FieldCipher::decrypt_with(&dek_a, &v, &aad())
            .unwrap()
            .expose_secret(),
        b"s3cret"
    );
    assert!(matches!(
        FieldCipher::decrypt_with(&dek_b, &v, &aad()),
        Err(VaultError::UnknownKeyId { .. })
    ));
    // Non-UTF-8 plaintext is refused as a string.
    let dir = TempDir::new("utf8");
    let ring = ready(&dir);
    let stored = ring
        .encrypt(&KeyPurpose::BANK_ACCOUNT, &[0xff, 0xfe], &aad())
        .unwrap();
    assert!(ring.decrypt_string(&stored, &aad()).is_err());
}
