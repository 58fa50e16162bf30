//! Keys, request verification end to end (signer → verifier), token flow, hostile input.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::Duration;

use benteng_snap::crypto::KeyError;
use benteng_snap::{
    CLOCK_SKEW_MARGIN, ClientSecret, NotificationSigner, PartnerCredential, PartnerPublicKey,
    ReplayGuard, RequestParts, ServiceCode, SigningKey, SnapError, SnapPrivateKey, SnapSigner,
    TokenRequestSigner, UrlMode, VerifyOptions, check_token_headers, check_token_request_body,
    lookup_in, sts, token_response_body, verify_request, verify_token_request,
};
use time::OffsetDateTime;
use time::macros::datetime;

const DEMO_KEY: &str = include_str!("fixtures/demo_private_key_pkcs8.pem");
const DEMO_PUB: &str = include_str!("fixtures/demo_public_key_spki.pem");
const DEMO_PUB_PKCS1: &str = include_str!("fixtures/demo_public_key_pkcs1.pem");
const OTHER_PUB: &str = include_str!("fixtures/other_public_spki.pem");
const RSA1024_PUB: &str = include_str!("fixtures/rsa1024_public_spki.pem");
const RSA1024_KEY: &str = include_str!("fixtures/rsa1024_private_pkcs8.pem");
/// PKCS#1 v1.5 with SHA-1, demo key, over `G1234325-SNAP|2024-03-01T08:27:49.024Z`.
const SHA1_SIG: &str = include_str!("fixtures/sha1_signature.b64");

const NOW: OffsetDateTime = datetime!(2024-03-05 10:37:20 UTC);
const BODY: &[u8] = b"{ \"partnerReferenceNo\": \"2020102900000000000001\",\n  \"amount\": {\"value\": \"10000.00\", \"currency\": \"IDR\"} }";

fn secret() -> ClientSecret {
    ClientSecret::new(b"myclientsecret").unwrap()
}

fn parts<'a>(
    method: &'a str,
    path: &'a str,
    query: Option<&'a str>,
    body: &'a [u8],
    token: &'a str,
) -> RequestParts<'a> {
    RequestParts {
        method,
        path,
        query,
        body,
        access_token: token,
    }
}

fn sym_signer() -> SnapSigner {
    SnapSigner::new(
        "P1",
        "95221",
        UrlMode::PathAndQuery,
        SigningKey::Symmetric {
            client_secret: secret(),
        },
    )
    .unwrap()
}

#[test]
fn public_keys_parse_report_and_refuse_small() {
    let spki = PartnerPublicKey::from_pem(DEMO_PUB).unwrap();
    let pkcs1 = PartnerPublicKey::from_pem(DEMO_PUB_PKCS1).unwrap();
    assert_eq!(spki.bits(), 2048);
    assert_eq!(spki.fingerprint_hex(), pkcs1.fingerprint_hex());
    assert_eq!(spki.fingerprint_hex().len(), 64);
    let from_private = SnapPrivateKey::from_pkcs8_pem(DEMO_KEY)
        .unwrap()
        .public_key()
        .unwrap();
    assert_eq!(from_private.fingerprint_sha256(), spki.fingerprint_sha256());
    assert_ne!(
        PartnerPublicKey::from_pem(OTHER_PUB)
            .unwrap()
            .fingerprint_hex(),
        spki.fingerprint_hex()
    );
    // Bare base64 (no armour) as some portals hand it out.
    let bare: String = DEMO_PUB
        .lines()
        .filter(|l| !l.starts_with("-----"))
        .collect();
    assert_eq!(PartnerPublicKey::from_pem(&bare).unwrap().bits(), 2048);

    assert_eq!(
        PartnerPublicKey::from_pem(RSA1024_PUB).unwrap_err(),
        KeyError::BadSize(1024)
    );
    assert!(SnapPrivateKey::from_pkcs8_pem(RSA1024_KEY).is_err());
    for junk in [
        "",
        "-----BEGIN PUBLIC KEY-----\n-----END PUBLIC KEY-----",
        "not a key",
        "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----",
    ] {
        assert!(PartnerPublicKey::from_pem(junk).is_err(), "{junk}");
        assert!(SnapPrivateKey::from_pkcs8_pem(junk).is_err(), "{junk}");
    }
    // A private key handed over as a public key (or vice versa) is refused.
    assert!(PartnerPublicKey::from_pem(DEMO_KEY).is_err());
    assert!(SnapPrivateKey::from_pkcs8_pem(DEMO_PUB).is_err());
    // Secrets never print.
    let dbg = format!(
        "{:?} {:?}",
        secret(),
        SnapPrivateKey::from_pkcs8_pem(DEMO_KEY).unwrap()
    );
    assert!(dbg.contains("redacted") && !dbg.contains("myclientsecret") && !dbg.contains("MII"));
}

#[test]
fn sha1_signature_refused() {
    let key = PartnerPublicKey::from_pem(DEMO_PUB).unwrap();
    let msg = sts::token("G1234325-SNAP", "2024-03-01T08:27:49.024Z");
    let e = key.verify(msg.as_bytes(), SHA1_SIG.trim()).unwrap_err();
    assert_eq!((e.http_status, e.case), (401, 0));
}

#[test]
fn signatures_malformed_or_wrong_length() {
    let key = PartnerPublicKey::from_pem(DEMO_PUB).unwrap();
    for (sig, case) in [
        ("", 1),
        ("not base64!", 1),
        ("AAA", 1),
        ("AAAA====", 1),
        ("-_-_", 1),
        (&"A".repeat(5000)[..], 1),
        ("AAAA", 0),
        (&"A".repeat(344)[..], 0),
        (
            "wmzT7yjg1SxxCsxNsFgCR9SYXiZGGbceF6fV8xe97sAMHxZ+7OEBMIBmvb6Sj6GcksGp3iv77DiomgSbcST3XQ==",
            0,
        ),
    ] {
        let e = key.verify(b"m", sig).unwrap_err();
        assert_eq!(e.case, case, "{sig:.20}");
        let e = secret().verify(b"m", sig).unwrap_err();
        assert_eq!(e.case, case, "{sig:.20}");
    }
    assert!(ClientSecret::new(b"").is_err());
}

#[test]
fn signed_request_verifies_and_every_tamper_fails() {
    let signer = sym_signer();
    let req = parts(
        "POST",
        "/v1.0/transfer-interbank",
        Some("b=2&a=1"),
        BODY,
        "tok123",
    );
    let h = signer
        .sign_at(&req, NOW, "41807553358950093184162180797837")
        .unwrap();
    assert_eq!(h.timestamp, "2024-03-05T17:37:20+07:00");
    assert_eq!(h.authorization.as_deref(), Some("Bearer tok123"));
    let pairs = h.pairs();
    let lookup: Vec<(&str, &str)> = pairs.iter().map(|(n, v)| (*n, v.as_str())).collect();
    let opts = VerifyOptions::default();
    let s = secret();
    let cred = PartnerCredential::Symmetric(&s);

    let ok = verify_request(&req, lookup_in(&lookup), cred, NOW, &opts).unwrap();
    assert_eq!(ok.partner_id, "P1");
    assert_eq!(ok.external_id, "41807553358950093184162180797837");
    assert_eq!(ok.channel_id, "95221");
    assert_eq!(ok.jakarta_date, time::macros::date!(2024 - 03 - 05));
    assert_eq!(
        ok.external_id_scope.key(),
        "snap:xid:P1:2024-03-05:41807553358950093184162180797837"
    );

    // Same request with a lower-case method, reordered query, re-indented body: still valid.
    let reindented = b"{\"partnerReferenceNo\":\"2020102900000000000001\",\"amount\":{\"value\":\"10000.00\",\"currency\":\"IDR\"}}";
    let same = parts(
        "post",
        "/v1.0/transfer-interbank",
        Some("a=1&b=2"),
        reindented,
        "tok123",
    );
    verify_request(&same, lookup_in(&lookup), cred, NOW, &opts).unwrap();

    let tampered_body = b"{\"partnerReferenceNo\":\"2020102900000000000001\",\"amount\":{\"value\":\"90000.00\",\"currency\":\"IDR\"}}";
    let tampers = [
        parts(
            "PUT",
            "/v1.0/transfer-interbank",
            Some("b=2&a=1"),
            BODY,
            "tok123",
        ),
        parts(
            "POST",
            "/v1.0/transfer-intrabank",
            Some("b=2&a=1"),
            BODY,
            "tok123",
        ),
        parts(
            "POST",
            "/v1.0/transfer-interbank",
            Some("b=2&a=2"),
            BODY,
            "tok123",
        ),
        parts("POST", "/v1.0/transfer-interbank", None, BODY, "tok123"),
        parts(
            "POST",
            "/v1.0/transfer-interbank",
            Some("b=2&a=1"),
            tampered_body,
            "tok123",
        ),
        parts(
            "POST",
            "/v1.0/transfer-interbank",
            Some("b=2&a=1"),
            BODY,
            "tok124",
        ),
    ];
    for t in &tampers {
        let e = verify_request(t, lookup_in(&lookup), cred, NOW, &opts).unwrap_err();
        assert_eq!(
            e.body(ServiceCode::TRANSFER_INTERBANK),
            r#"{"responseCode":"4011800","responseMessage":"Unauthorized. [Signature]"}"#
        );
    }
    // Another secret.
    let other = ClientSecret::new(b"othersecret").unwrap();
    let e = verify_request(
        &req,
        lookup_in(&lookup),
        PartnerCredential::Symmetric(&other),
        NOW,
        &opts,
    )
    .unwrap_err();
    assert_eq!(e.message, "Unauthorized. [Signature]");
    // Timestamp changed (same instant, other spelling) → signature mismatch.
    let mut ts = lookup.clone();
    ts[0].1 = "2024-03-05T10:37:20Z";
    assert_eq!(
        verify_request(&req, lookup_in(&ts), cred, NOW, &opts)
            .unwrap_err()
            .message,
        "Unauthorized. [Signature]"
    );
    // Out of window.
    let late = NOW + Duration::from_secs(301);
    assert_eq!(
        verify_request(&req, lookup_in(&lookup), cred, late, &opts)
            .unwrap_err()
            .message,
        "Unauthorized. [Timestamp]"
    );
    let wide = VerifyOptions {
        tolerance: Duration::from_secs(900),
        ..opts
    };
    verify_request(&req, lookup_in(&lookup), cred, late, &wide).unwrap();
    // Malformed body → 400xx00 (checked before the signature).
    let broken = parts(
        "POST",
        "/v1.0/transfer-interbank",
        Some("b=2&a=1"),
        b"{\"a\":\"x",
        "tok123",
    );
    assert_eq!(
        verify_request(&broken, lookup_in(&lookup), cred, NOW, &opts)
            .unwrap_err()
            .case,
        0
    );
    assert_eq!(
        verify_request(&broken, lookup_in(&lookup), cred, NOW, &opts)
            .unwrap_err()
            .http_status,
        400
    );
}

#[test]
fn path_only_mode_ignores_query() {
    let s = secret();
    let signer = SnapSigner::new(
        "P1",
        "95221",
        UrlMode::PathOnly,
        SigningKey::Symmetric {
            client_secret: secret(),
        },
    )
    .unwrap();
    let req = parts("GET", "/v1.0/balance-inquiry", Some("x=1"), b"", "tok");
    let h = signer.sign_at(&req, NOW, "1").unwrap();
    let pairs = h.pairs();
    let lookup: Vec<(&str, &str)> = pairs.iter().map(|(n, v)| (*n, v.as_str())).collect();
    let opts = VerifyOptions {
        url_mode: UrlMode::PathOnly,
        ..VerifyOptions::default()
    };
    let other_query = parts("GET", "/v1.0/balance-inquiry", Some("x=2"), b"", "tok");
    verify_request(
        &other_query,
        lookup_in(&lookup),
        PartnerCredential::Symmetric(&s),
        NOW,
        &opts,
    )
    .unwrap();
    // The same signature under path+query rules fails.
    assert!(
        verify_request(
            &req,
            lookup_in(&lookup),
            PartnerCredential::Symmetric(&s),
            NOW,
            &VerifyOptions::default()
        )
        .is_err()
    );
}

#[test]
fn asymmetric_and_notification_verify_with_public_key() {
    let key = SnapPrivateKey::from_pkcs8_pem(DEMO_KEY).unwrap();
    let public = key.public_key().unwrap();
    let other = PartnerPublicKey::from_pem(OTHER_PUB).unwrap();
    let signer = NotificationSigner::new("BENTENG", "95221", UrlMode::PathAndQuery, key).unwrap();
    let h = signer
        .sign_at("POST", "/v1.0/debit/notify", None, BODY, NOW, "abc-1")
        .unwrap();
    assert!(h.authorization.is_none());
    let pairs = h.pairs();
    let lookup: Vec<(&str, &str)> = pairs.iter().map(|(n, v)| (*n, v.as_str())).collect();
    // Asymmetric strings carry no token: whatever token is presented does not matter.
    let req = parts("POST", "/v1.0/debit/notify", None, BODY, "ignored");
    let opts = VerifyOptions::default();
    verify_request(
        &req,
        lookup_in(&lookup),
        PartnerCredential::Asymmetric(&public),
        NOW,
        &opts,
    )
    .unwrap();
    let e = verify_request(
        &req,
        lookup_in(&lookup),
        PartnerCredential::Asymmetric(&other),
        NOW,
        &opts,
    )
    .unwrap_err();
    assert_eq!(e.message, "Unauthorized. [Signature]");
    let moved = parts("POST", "/v1.0/credit/notify", None, BODY, "");
    assert!(
        verify_request(
            &moved,
            lookup_in(&lookup),
            PartnerCredential::Asymmetric(&public),
            NOW,
            &opts
        )
        .is_err()
    );
}

#[test]
fn token_flow() {
    let signer = TokenRequestSigner::new(
        "G1234325-SNAP",
        SnapPrivateKey::from_pkcs8_pem(DEMO_KEY).unwrap(),
    )
    .unwrap();
    let h = signer.sign_at(NOW).unwrap();
    let pairs = h.pairs();
    let lookup: Vec<(&str, &str)> = pairs.iter().map(|(n, v)| (*n, v.as_str())).collect();
    let parsed = check_token_headers(lookup_in(&lookup)).unwrap();
    let public = PartnerPublicKey::from_pem(DEMO_PUB).unwrap();
    let tol = Duration::from_secs(300);
    verify_token_request(&parsed, &public, NOW, tol).unwrap();
    let other = PartnerPublicKey::from_pem(OTHER_PUB).unwrap();
    let e = verify_token_request(&parsed, &other, NOW, tol).unwrap_err();
    assert_eq!(
        e.body(ServiceCode::B2B_TOKEN),
        r#"{"responseCode":"4017300","responseMessage":"Unauthorized. [Signature]"}"#
    );
    let e =
        verify_token_request(&parsed, &public, NOW + Duration::from_secs(400), tol).unwrap_err();
    assert_eq!(e.code(ServiceCode::B2B_TOKEN).to_string(), "4017300");
    assert_eq!(e.message, "Unauthorized. [Timestamp]");

    check_token_request_body(benteng_snap::TOKEN_REQUEST_BODY.as_bytes()).unwrap();
    check_token_request_body(br#"{"grantType":"client_credentials","additionalInfo":{}}"#).unwrap();
    assert_eq!(
        check_token_request_body(b"{}")
            .unwrap_err()
            .code(ServiceCode::B2B_TOKEN)
            .to_string(),
        "4007302"
    );
    assert_eq!(
        check_token_request_body(br#"{"grantType":"password"}"#)
            .unwrap_err()
            .code(ServiceCode::B2B_TOKEN)
            .to_string(),
        "4007301"
    );
    assert_eq!(
        check_token_request_body(b"[")
            .unwrap_err()
            .code(ServiceCode::B2B_TOKEN)
            .to_string(),
        "4007300"
    );
    assert_eq!(check_token_request_body(b"[]").unwrap_err().case, 0);

    assert_eq!(
        token_response_body("abc\"def", benteng_snap::DEFAULT_TOKEN_TTL),
        r#"{"responseCode":"2007300","responseMessage":"Successful","accessToken":"abc\"def","tokenType":"Bearer","expiresIn":"900"}"#
    );
}

#[test]
fn hostile_headers_never_panic_and_never_echo() {
    let signer = sym_signer();
    let req = parts("POST", "/v1.0/x", None, b"{}", "t");
    let h = signer.sign_at(&req, NOW, "1").unwrap();
    let s = secret();
    let huge = "A".repeat(10 * 1024);
    let hostile_values: Vec<String> = vec![
        huge.clone(),
        format!("{huge}=="),
        "\u{0}\u{1}\u{7f}".into(),
        "ünïcödé".into(),
        "a\r\nX-Injected: 1".into(),
        "2024-03-05T17:37:20+07:00\u{0}".into(),
        " 2024-03-05T17:37:20+07:00".into(),
        "9999-99-99T99:99:99+99:99".into(),
        "0000-01-01T00:00:00Z".into(),
    ];
    for field in 0..5 {
        for v in &hostile_values {
            if field == 2 && v.len() <= 36 && v.bytes().all(|b| b.is_ascii_graphic()) {
                continue; // a well-formed X-PARTNER-ID: unsigned by design, see unsigned_headers
            }
            let mut pairs = h.pairs();
            pairs[field].1 = v.clone();
            let lookup: Vec<(&str, &str)> = pairs.iter().map(|(n, v)| (*n, v.as_str())).collect();
            let e: SnapError = verify_request(
                &req,
                lookup_in(&lookup),
                PartnerCredential::Symmetric(&s),
                NOW,
                &VerifyOptions::default(),
            )
            .map(|_| format!("{field} {v:.30}"))
            .unwrap_err();
            let body = e.body(ServiceCode::TRANSFER_INTERBANK);
            assert!(
                !body.contains("AAAAAAAA") && !body.contains("Injected") && !body.contains('ü'),
                "{body}"
            );
            assert!(e.message.len() <= 150);
        }
    }
    // Hostile body and URL.
    for body in [
        &b"\xff\xfe"[..],
        b"\"",
        b"{\"a\":\"\\",
        b"}}}}",
        &[b'['; 100_000],
    ] {
        let r = parts("POST", "/v1.0/x", None, body, "t");
        let lookup: Vec<(String, String)> = h
            .pairs()
            .into_iter()
            .map(|(n, v)| (n.to_owned(), v))
            .collect();
        let get = |n: &str| {
            lookup
                .iter()
                .find(|(k, _)| k.eq_ignore_ascii_case(n))
                .map(|(_, v)| v.as_bytes())
        };
        assert_eq!(
            verify_request(
                &r,
                get,
                PartnerCredential::Symmetric(&s),
                NOW,
                &VerifyOptions::default()
            )
            .unwrap_err()
            .http_status,
            400
        );
    }
    let r = parts("POST", "/v1.0/x%zz", None, b"{}", "t");
    let pairs = h.pairs();
    let lookup: Vec<(&str, &str)> = pairs.iter().map(|(n, v)| (*n, v.as_str())).collect();
    assert_eq!(
        verify_request(
            &r,
            lookup_in(&lookup),
            PartnerCredential::Symmetric(&s),
            NOW,
            &VerifyOptions::default()
        )
        .unwrap_err()
        .http_status,
        400
    );
}

#[test]
fn signers_validate_config_and_generate_fresh_ids() {
    let bad = SnapSigner::new(
        "",
        "95221",
        UrlMode::PathAndQuery,
        SigningKey::Symmetric {
            client_secret: secret(),
        },
    );
    assert!(bad.is_err());
    let bad = SnapSigner::new(
        "P1",
        "95-221",
        UrlMode::PathAndQuery,
        SigningKey::Symmetric {
            client_secret: secret(),
        },
    );
    assert!(bad.is_err());
    let signer = sym_signer();
    let req = parts("GET", "/v1.0/x", None, b"", "t");
    let a = signer.sign(&req).unwrap();
    let b = signer.sign(&req).unwrap();
    assert_ne!(a.external_id, b.external_id);
    assert_eq!(a.external_id.len(), 32);
    assert!(a.external_id.bytes().all(|c| c.is_ascii_digit()));
    assert!(a.timestamp.ends_with("+07:00") && a.timestamp.len() == 25);
    assert!(signer.sign_at(&req, NOW, "bad id!").is_err());
    assert!(format!("{signer:?}").contains("redacted"));
}

#[test]
fn unsigned_headers_are_caught_by_the_replay_key() {
    // SNAP does not sign X-EXTERNAL-ID / X-PARTNER-ID / CHANNEL-ID: a replay with a new
    // external id still verifies, but carries the same replay key.
    let signer = sym_signer();
    let req = parts("POST", "/v1.0/x", None, b"{}", "t");
    let h = signer.sign_at(&req, NOW, "1").unwrap();
    let s = secret();
    let opts = VerifyOptions::default();
    let first_pairs = h.pairs();
    let first: Vec<(&str, &str)> = first_pairs.iter().map(|(n, v)| (*n, v.as_str())).collect();
    let a = verify_request(
        &req,
        lookup_in(&first),
        PartnerCredential::Symmetric(&s),
        NOW,
        &opts,
    )
    .unwrap();
    let mut replay = first.clone();
    replay[3].1 = "2";
    replay[2].1 = "SOMEONE";
    let b = verify_request(
        &req,
        lookup_in(&replay),
        PartnerCredential::Symmetric(&s),
        NOW,
        &opts,
    )
    .unwrap();
    assert_ne!(a.external_id_scope.key(), b.external_id_scope.key());
    assert_eq!(a.replay, b.replay);
    // Kept until the timestamp leaves the window of every instance: tolerance + skew margin.
    assert_eq!(a.replay.ttl, Duration::from_secs(360));
    assert_eq!(b.partner_id, "SOMEONE"); // the caller must match it to the token's client
}

/// The instance that records a signature may run ahead of another that still accepts it. Seen
/// first on a clock where the timestamp is at the window's future edge, the record must last
/// until the timestamp leaves the window of an instance up to [`CLOCK_SKEW_MARGIN`] behind.
#[test]
fn replay_records_outlive_the_window_of_an_instance_whose_clock_is_behind() {
    let tolerance = Duration::from_secs(300);
    // Within the margin the crate promises (a minute).
    assert_eq!(CLOCK_SKEW_MARGIN, Duration::from_secs(60));
    let behind = Duration::from_secs(59);
    let timestamp = NOW;
    let first_sight = timestamp - tolerance;
    let last_accepted_elsewhere = timestamp + tolerance + behind;

    let req = parts("POST", "/v1.0/x", None, b"{}", "t");
    let h = sym_signer().sign_at(&req, timestamp, "1").unwrap();
    let pairs = h.pairs();
    let headers: Vec<(&str, &str)> = pairs.iter().map(|(n, v)| (*n, v.as_str())).collect();
    let verified = verify_request(
        &req,
        lookup_in(&headers),
        PartnerCredential::Symmetric(&secret()),
        first_sight,
        &VerifyOptions::default(),
    )
    .unwrap();
    assert!(first_sight + verified.replay.ttl >= last_accepted_elsewhere);

    let token = ReplayGuard::new("snap:tokensig", "c2ln", timestamp, first_sight, tolerance);
    assert!(first_sight + token.ttl >= last_accepted_elsewhere);

    // An external id signed just before Jakarta midnight: the other instance accepts its
    // timestamp until midnight + tolerance on its own clock.
    let late = datetime!(2024-01-01 16:59:59 UTC);
    let midnight = datetime!(2024-01-01 17:00:00 UTC);
    let scope = benteng_snap::headers::external_id_scope("P1", "1", late, late, tolerance);
    assert!(late + scope.ttl >= midnight + tolerance + behind);
}

#[test]
fn request_parts_debug_shows_neither_the_access_token_nor_the_body() {
    let parts = RequestParts {
        method: "POST",
        path: "/v1.0/transfer-interbank",
        query: None,
        body: br#"{"beneficiaryAccountNo":"8881234567"}"#,
        access_token: "gp9HjjEj813Y9JGoqwOeOPWbnt4CUpvIJbU1mMU4a11MNDZ7Sg5u9a",
    };
    let debug = format!("{parts:?}");
    assert!(!debug.contains("gp9HjjEj"), "{debug}");
    // The body, in either spelling a derived Debug could use: text or a byte list.
    let body_bytes = format!("{:?}", parts.body);
    assert!(!debug.contains("8881234567"), "{debug}");
    assert!(!debug.contains(&body_bytes[1..40]), "{debug}");
    assert!(debug.contains("/v1.0/transfer-interbank"), "{debug}");
}
