#![allow(clippy::unwrap_used, clippy::expect_used)]

use benteng_vault::{BlindIndex, SecretString, VaultError, normalize};

#[test]
fn equal_normalised_values_index_equal() {
    let index = BlindIndex::new(&[9u8; 32]).unwrap();
    let a = index
        .compute_with(
            "iban",
            "id89 3704 0044 0532 0130 0000 0001",
            normalize::iban,
        )
        .unwrap();
    let b = index
        .compute_with("iban", "ID89370400440532013000000001", normalize::iban)
        .unwrap();
    assert_eq!(a, b);
    assert_eq!(a.to_hex().len(), 64);
    assert_eq!(a.to_base64url().len(), 43);
    assert_eq!(a.to_string(), a.to_hex());
    assert_eq!(
        a,
        index
            .compute("iban", b"ID89370400440532013000000001")
            .unwrap()
    );
    let c = index
        .compute_with("iban", "ID89370400440532013000000002", normalize::iban)
        .unwrap();
    assert_ne!(a, c);
}

#[test]
fn indexes_are_separated_by_name_and_key() {
    let one = BlindIndex::new(&[1u8; 32]).unwrap();
    let two = BlindIndex::from_hex(&SecretString::from(hex::encode([2u8; 32]))).unwrap();
    let value = b"1234567890";
    assert_ne!(
        one.compute("iban", value).unwrap(),
        one.compute("account_number", value).unwrap()
    );
    assert_ne!(
        one.compute("account_number", value).unwrap(),
        two.compute("account_number", value).unwrap()
    );
    // Length prefixes: the name cannot absorb bytes of the value.
    assert_ne!(
        one.compute("ab", b"c").unwrap(),
        one.compute("a", b"bc").unwrap()
    );
    assert_eq!(normalize::digits("123-456 78"), "12345678");
    assert_eq!(normalize::trimmed_lowercase("  AbC "), "abc");
}

#[test]
fn bad_names_and_short_keys_are_refused() {
    assert!(BlindIndex::new(&[1u8; 31]).is_err());
    assert!(BlindIndex::from_hex(&SecretString::from("nothex")).is_err());
    let index = BlindIndex::new(&[1u8; 32]).unwrap();
    for bad in ["", "IBAN", "a b", "a.b"] {
        assert!(matches!(
            index.compute(bad, b"x"),
            Err(VaultError::InvalidInput { .. })
        ));
    }
    assert_eq!(format!("{index:?}"), "BlindIndex(<redacted>)");
}
