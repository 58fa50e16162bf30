//! JOSE as FAPI's DPoP proofs, client assertions and request objects reach it
//! (`auth::fapi` → `crypto::jose`), and the webhook JWS verifier (`crypto::jws`). The input is
//! a compact JWS, then optionally a newline and a JWK Set (the client's registered keys).
//! Properties: no panic; base64url is strict (a decoded value encodes back to the same text,
//! one value has one encoding); a proof's embedded key is never a private one; thumbprints are
//! 43 base64url characters; nothing verifies with a key that does not fit its algorithm.
#![no_main]

use benteng_crypto::jose::{CompactJws, PublicJwk, b64url_decode};
use benteng_crypto::jws::{b64url, verify_compact};
use libfuzzer_sys::fuzz_target;
use serde_json::Value;

fuzz_target!(|data: &[u8]| {
    benteng_fuzz::negative_control(data);
    assert_eq!(
        b64url_decode(&b64url(data)).ok().as_deref(),
        Some(data),
        "base64url does not round-trip"
    );
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let (token, jwks_text) = text.split_once('\n').unwrap_or((text, ""));
    if let Ok(decoded) = b64url_decode(token) {
        assert_eq!(
            b64url(&decoded),
            token,
            "two encodings of one value accepted"
        );
    }
    let jwks: Option<Value> = serde_json::from_str(jwks_text).ok();

    if let Ok(jws) = CompactJws::parse(token) {
        let alg = jws.alg();
        // A DPoP proof carries its key in the header.
        if let Some(jwk) = jws.header.get("jwk")
            && let Ok(key) = PublicJwk::from_value(jwk)
        {
            let private = ["d", "p", "q", "dp", "dq", "qi", "oth", "k"];
            assert!(!private.iter().any(|m| jwk.get(m).is_some()));
            let thumbprint = key.thumbprint();
            assert_eq!(thumbprint.len(), 43);
            assert!(b64url_decode(&thumbprint).is_ok());
            let verified = jws.verify_with(&key);
            if let Ok(alg) = alg
                && !key.fits(alg)
            {
                assert!(verified.is_err(), "verified with a key that does not fit");
            }
        }
        // A client assertion or request object verifies against the client's key set.
        if let Some(jwks) = &jwks {
            let _ = jws.verify_with_set(jwks);
        }
    }
    if let Some(keys) = jwks
        .as_ref()
        .and_then(|j| j.get("keys"))
        .and_then(Value::as_array)
    {
        for key in keys {
            let _ = PublicJwk::from_value(key);
            if let (Some(n), Some(e)) = (
                key.get("n").and_then(Value::as_str),
                key.get("e").and_then(Value::as_str),
            ) {
                let _ = verify_compact(token, n, e);
            }
        }
    }
});
