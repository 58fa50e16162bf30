//! The three published vectors of Midtrans/SNAP-BI-Signature-Demo (see
//! docs/research/auth-specs.md §1e), reproduced byte-exactly through the public API.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use benteng_snap::{
    ClientSecret, PartnerPublicKey, SnapPrivateKey, TokenRequestSigner, UrlMode, body_hash, minify,
    relative_url, sts, verify_token_signature,
};
use time::macros::datetime;

const DEMO_KEY: &str = include_str!("fixtures/demo_private_key_pkcs8.pem");
const DEMO_PUB: &str = include_str!("fixtures/demo_public_key_spki.pem");

const SYM_BODY: &str = r#"{"partnerReferenceNo":"2020102900000000000001","amount":{"value":"12345678.00","currency":"IDR"},"feeAmount":{"value":"12345678.00","currency":"IDR"},"merchantId":"00007100010926","terminalId":"213141251124","validityPeriod":"2009-07-03T12:08:56-07:00"}"#;
const SYM_SIG: &str =
    "wmzT7yjg1SxxCsxNsFgCR9SYXiZGGbceF6fV8xe97sAMHxZ+7OEBMIBmvb6Sj6GcksGp3iv77DiomgSbcST3XQ==";
const TOKEN_SIG: &str = "WzW49tYIgKIBmBi/gVBHGLAkhEaZlXM11zcZxAiyHji6TLPjPbwLu3Z45it25AIeG0XDItcdTSkds47zFEMh6IP0PXPIP1+Ey4RmX/o2fuYRF/xBHvfvKnMmANMTS1axsXBSW3EHqYpbVrkCcqNnB3u+wu63us9WIhRZaWgxgQ2PJLaiVHIwgu9u7jxkWX7Bg4rerZH3RKdQfIJAAJsSN13efR7VdSAyzU7QaKjgislxrLqmesYNJkbD03XLjHdo6YWuzAVV7xdZRpLiGkIAkW7luXTBZYBO+4oENZAPQYzrLeN1qRY1Sr7BgLONCA2QA26BB6SYW4R7qofS9+RyOQ==";
const NOTIFY_SIG: &str = "eUGsomFLNsjWzehgGsa317MqcVOgscay/Hml8yNmOsFhmoBM7pso+UPDgSe34anXvecSQkf5NOr0fbr8k9qdyyoWiYX7DTq/Wnz8XC0cRCCbNZfyLIyF33HO9cnvxOcRQq9DuWlQtld+uEluuivVdN2TiaWLpUTmfB/H7noZnXWWDj6FYa4n5kSo4o3aTeFYAF9EmLp0Tcsl8CiHSQCrQnIbB8M2+puLwyJ1l2OocvZ5qgjf5f2DqlCbemsSMzYzjN+YMrb0kiDx0TiW5UTk+WZass43xIfb3vdrlX+U2JSk5YsJ8lFpp9F+7FId4cyncElNFEbt3zWuP4iDzXteCg==";

#[test]
fn symmetric_vector() {
    assert_eq!(minify(SYM_BODY.as_bytes()).unwrap(), SYM_BODY.as_bytes());
    let hash = body_hash(SYM_BODY.as_bytes()).unwrap();
    assert_eq!(
        hash,
        "01463f60dbb6ca538581579dd95b31c8ba9fc6600eca750e4d8460ca4e402111"
    );
    let url = relative_url("/v1.0/qr/qr-mpm-generate", None, UrlMode::PathAndQuery).unwrap();
    let s = sts::symmetric(
        "post",
        &url,
        "myaccesstoken",
        &hash,
        "2024-03-05T10:37:16.196Z",
    );
    let secret = ClientSecret::new(b"myclientsecret").unwrap();
    assert_eq!(secret.sign(s.as_bytes()), SYM_SIG);
    secret.verify(s.as_bytes(), SYM_SIG).unwrap();
}

#[test]
fn token_vector() {
    let key = SnapPrivateKey::from_pkcs8_pem(DEMO_KEY).unwrap();
    assert_eq!(key.bits(), 2048);
    let signer = TokenRequestSigner::new("G1234325-SNAP", key).unwrap();
    let h = signer
        .sign_with_timestamp("2024-03-01T08:27:49.024Z")
        .unwrap();
    assert_eq!(h.signature, TOKEN_SIG);
    assert_eq!(h.client_key, "G1234325-SNAP");

    let public = PartnerPublicKey::from_pem(DEMO_PUB).unwrap();
    let now = datetime!(2024-03-01 08:30:00 UTC);
    let tol = std::time::Duration::from_secs(300);
    verify_token_signature(
        "G1234325-SNAP",
        "2024-03-01T08:27:49.024Z",
        TOKEN_SIG,
        &public,
        now,
        tol,
    )
    .unwrap();
    // Another client id, or the same instant spelled differently, is not what was signed.
    assert!(
        verify_token_signature(
            "G1234326-SNAP",
            "2024-03-01T08:27:49.024Z",
            TOKEN_SIG,
            &public,
            now,
            tol
        )
        .is_err()
    );
    assert!(
        verify_token_signature(
            "G1234325-SNAP",
            "2024-03-01T15:27:49.024+07:00",
            TOKEN_SIG,
            &public,
            now,
            tol
        )
        .is_err()
    );
}

#[test]
fn notification_vector() {
    let body = include_bytes!("fixtures/notification_body.json");
    let hash = body_hash(body).unwrap();
    assert!(
        hash.starts_with("2ea1a371") && hash.ends_with("e37e4293"),
        "{hash}"
    );
    let s = sts::asymmetric(
        "POST",
        "/v1.0/debit/notify",
        &hash,
        "2024-03-05T10:37:16.196Z",
    );
    let key = SnapPrivateKey::from_pkcs8_pem(DEMO_KEY).unwrap();
    assert_eq!(key.sign(s.as_bytes()).unwrap(), NOTIFY_SIG);
    let public = key.public_key().unwrap();
    public.verify(s.as_bytes(), NOTIFY_SIG).unwrap();
}

#[test]
fn demo_key_single_line_pem_as_midtrans_pastes_it() {
    let one_line = DEMO_KEY.replace('\n', " ");
    let key = SnapPrivateKey::from_pkcs8_pem(&one_line).unwrap();
    let s = sts::token("G1234325-SNAP", "2024-03-01T08:27:49.024Z");
    assert_eq!(key.sign(s.as_bytes()).unwrap(), TOKEN_SIG);
}
