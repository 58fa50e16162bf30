//! SNAP's body minifier (the canonical body of the string-to-sign).
//! Properties: minifying is idempotent, never grows the body, and a body that is JSON minifies
//! to the same JSON value; the body hash is the SHA-256 of the minified body.
#![no_main]

use benteng_snap::{body_hash, minify};
use libfuzzer_sys::fuzz_target;
use serde_json::Value;

fuzz_target!(|data: &[u8]| {
    benteng_fuzz::negative_control(data);
    let Ok(minified) = minify(data) else {
        assert!(body_hash(data).is_err());
        return;
    };
    assert!(minified.len() <= data.len());
    assert_eq!(minify(&minified).ok().as_deref(), Some(&minified[..]));
    if let Ok(value) = serde_json::from_slice::<Value>(data) {
        let again: Value = serde_json::from_slice(&minified).expect("minified JSON is JSON");
        assert_eq!(again, value);
    }
    assert_eq!(
        body_hash(data).ok(),
        Some(hex_sha256(&minified)),
        "body hash is not the hash of the minified body"
    );
});

fn hex_sha256(bytes: &[u8]) -> String {
    benteng_crypto::sha256(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}
