//! Cross-checks with the independent Python client (clients/snap_client.py, `cryptography`).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::process::Command;

use benteng_snap::{
    ClientSecret, PartnerCredential, PartnerPublicKey, RequestParts, UrlMode, VerifyOptions,
    lookup_in, verify_request,
};
use time::macros::datetime;

fn script() -> String {
    format!("{}/clients/snap_client.py", env!("CARGO_MANIFEST_DIR"))
}

/// Runs the client; fails clearly when python3 or the `cryptography` package is missing.
fn python(args: &[&str]) -> String {
    let out = Command::new("python3")
        .arg(script())
        .args(args)
        .output()
        .unwrap_or_else(|e| {
            panic!("cannot run python3 ({e}): install Python 3 and `pip install cryptography`")
        });
    let stderr = String::from_utf8_lossy(&out.stderr);
    if out.status.code() == Some(3) || stderr.contains("pip install cryptography") {
        panic!("the Python package `cryptography` is missing: pip install cryptography");
    }
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "snap_client.py {args:?} failed:\n{stdout}\n{stderr}"
    );
    stdout
}

#[test]
fn python_selftest_reproduces_published_vectors() {
    let out = python(&["--selftest"]);
    assert!(out.contains("selftest: PASS"), "{out}");
}

const TS: &str = "2024-03-05T17:37:20+07:00";
const BODY: &str = "{ \"partnerReferenceNo\" : \"ref 1\",\n \"amount\": {\"value\":\"10000.00\", \"currency\":\"IDR\"},\n \"note\": \"caf\\u00e9 \\\" x\" }";

fn headers(signature: &str) -> Vec<(&'static str, String)> {
    vec![
        ("X-TIMESTAMP", TS.to_owned()),
        ("X-SIGNATURE", signature.to_owned()),
        ("X-PARTNER-ID", "P1".to_owned()),
        ("X-EXTERNAL-ID", "123456".to_owned()),
        ("CHANNEL-ID", "95221".to_owned()),
    ]
}

#[test]
fn python_signed_request_accepted_and_tampered_refused() {
    let out = python(&[
        "sign",
        "--secret",
        "s3cr3t-from-partner",
        "--method",
        "post",
        "--url",
        "/v1.0/transfer%2Dinterbank?z=%7e&b=hello%20world&a=2&a=10",
        "--token",
        "tok.ABC-123",
        "--timestamp",
        TS,
        "--body",
        BODY,
    ]);
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    let sig = v["signature"].as_str().unwrap();
    let owned = headers(sig);
    let pairs: Vec<(&str, &str)> = owned.iter().map(|(n, v)| (*n, v.as_str())).collect();
    let secret = ClientSecret::new(b"s3cr3t-from-partner").unwrap();
    let now = datetime!(2024-03-05 10:37:25 UTC);
    let opts = VerifyOptions::default();
    let req = RequestParts {
        method: "POST",
        path: "/v1.0/transfer-interbank",
        query: Some("a=10&a=2&b=hello%20world&z=~"),
        body: BODY.as_bytes(),
        access_token: "tok.ABC-123",
    };
    let ok = verify_request(
        &req,
        lookup_in(&pairs),
        PartnerCredential::Symmetric(&secret),
        now,
        &opts,
    )
    .unwrap();
    assert_eq!(ok.external_id, "123456");

    let tampered_body = BODY.replace("10000.00", "10001.00");
    for bad in [
        RequestParts {
            body: tampered_body.as_bytes(),
            ..req
        },
        RequestParts {
            query: Some("a=10&a=3&b=hello%20world&z=~"),
            ..req
        },
        RequestParts {
            access_token: "tok.ABC-124",
            ..req
        },
        RequestParts {
            method: "PUT",
            ..req
        },
    ] {
        let e = verify_request(
            &bad,
            lookup_in(&pairs),
            PartnerCredential::Symmetric(&secret),
            now,
            &opts,
        )
        .unwrap_err();
        assert_eq!((e.http_status, e.case), (401, 0));
    }
}

#[test]
fn python_rsa_signed_notification_accepted() {
    let key = format!(
        "{}/tests/fixtures/demo_private_key_pkcs8.pem",
        env!("CARGO_MANIFEST_DIR")
    );
    let out = python(&[
        "sign-rsa",
        "--private-key",
        &key,
        "--method",
        "POST",
        "--url",
        "/v1.0/debit/notify?x=1",
        "--timestamp",
        TS,
        "--body",
        BODY,
        "--path-only",
    ]);
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    let owned = headers(v["signature"].as_str().unwrap());
    let pairs: Vec<(&str, &str)> = owned.iter().map(|(n, v)| (*n, v.as_str())).collect();
    let public =
        PartnerPublicKey::from_pem(include_str!("fixtures/demo_public_key_spki.pem")).unwrap();
    let now = datetime!(2024-03-05 10:37:25 UTC);
    let opts = VerifyOptions {
        url_mode: UrlMode::PathOnly,
        ..VerifyOptions::default()
    };
    let req = RequestParts {
        method: "POST",
        path: "/v1.0/debit/notify",
        query: Some("x=2"),
        body: BODY.as_bytes(),
        access_token: "",
    };
    verify_request(
        &req,
        lookup_in(&pairs),
        PartnerCredential::Asymmetric(&public),
        now,
        &opts,
    )
    .unwrap();
    let moved = RequestParts {
        path: "/v1.0/debit/notifz",
        ..req
    };
    assert!(
        verify_request(
            &moved,
            lookup_in(&pairs),
            PartnerCredential::Asymmetric(&public),
            now,
            &opts
        )
        .is_err()
    );
}
