//! Certificate policy, dev certificates, config and plaintext rule.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use benteng_transport::policy::{check_server_certificate, enforce};
use benteng_transport::tls::{load_certs, load_key};
use benteng_transport::{
    ListenerConfig, PolicyMode, TlsHandle, TlsSettings, TransportError, check_plaintext_allowed,
    generate_dev_certs, generate_dev_certs_with,
};
use rcgen::{
    BasicConstraints, CertificateParams, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair,
    PKCS_ECDSA_P256_SHA256, PKCS_ECDSA_P384_SHA384, PKCS_RSA_SHA256, RsaKeySize,
    SignatureAlgorithm,
};
use rustls_pki_types::{CertificateDer, PrivateKeyDer};
use time::{Duration, OffsetDateTime};

struct Chain {
    chain: Vec<CertificateDer<'static>>,
    key: PrivateKeyDer<'static>,
}

fn keypair(alg: &'static SignatureAlgorithm, rsa_bits: Option<RsaKeySize>) -> KeyPair {
    match rsa_bits {
        Some(bits) => KeyPair::generate_rsa_for(alg, bits).unwrap(),
        None => KeyPair::generate_for(alg).unwrap(),
    }
}

/// CA (P-384) + leaf with the given key/validity.
fn chain(leaf_key: KeyPair, days: i64, not_before_days_ago: i64, include_ca: bool) -> Chain {
    let ca_key = KeyPair::generate_for(&PKCS_ECDSA_P384_SHA384).unwrap();
    let mut ca = CertificateParams::default();
    ca.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca.not_before = OffsetDateTime::now_utc() - Duration::days(1000);
    ca.not_after = OffsetDateTime::now_utc() + Duration::days(1000);
    let ca_cert = ca.self_signed(&ca_key).unwrap();
    let issuer = Issuer::new(ca, &ca_key);
    let mut p = CertificateParams::new(vec!["localhost".to_owned()]).unwrap();
    p.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
    p.not_before = OffsetDateTime::now_utc() - Duration::days(not_before_days_ago);
    p.not_after = p.not_before + Duration::days(days);
    let leaf = p.signed_by(&leaf_key, &issuer).unwrap();
    let mut chain = vec![leaf.der().clone()];
    if include_ca {
        chain.push(ca_cert.der().clone());
    }
    Chain {
        chain,
        key: PrivateKeyDer::try_from(leaf_key.serialize_der()).unwrap(),
    }
}

fn violations(c: &Chain) -> Vec<String> {
    check_server_certificate(&c.chain, &c.key, OffsetDateTime::now_utc())
}

#[test]
fn p384_one_year_complete_chain_is_compliant() {
    let c = chain(keypair(&PKCS_ECDSA_P384_SHA384, None), 365, 1, true);
    assert_eq!(violations(&c), Vec::<String>::new());
    let c = chain(keypair(&PKCS_ECDSA_P384_SHA384, None), 366, 1, true);
    assert_eq!(violations(&c), Vec::<String>::new());
}

#[test]
fn rsa_2048_refused_rsa_4096_accepted() {
    let c = chain(
        keypair(&PKCS_RSA_SHA256, Some(RsaKeySize::_2048)),
        90,
        1,
        true,
    );
    let v = violations(&c);
    assert!(
        v.iter().any(|x| x.contains("RSA key is 2048 bits")),
        "{v:?}"
    );
    let c = chain(
        keypair(&PKCS_RSA_SHA256, Some(RsaKeySize::_4096)),
        90,
        1,
        true,
    );
    assert_eq!(violations(&c), Vec::<String>::new());
}

#[test]
fn p256_refused_in_production_warned_in_dev() {
    let c = chain(keypair(&PKCS_ECDSA_P256_SHA256, None), 90, 1, true);
    let v = violations(&c);
    assert!(v.iter().any(|x| x.contains("only P-384")), "{v:?}");
    match enforce(PolicyMode::Production, "t", v.clone()) {
        Err(TransportError::Policy(list)) => assert_eq!(list, v),
        other => panic!("expected policy error, got {other:?}"),
    }
    assert!(enforce(PolicyMode::Dev, "t", v).is_ok());
}

#[test]
fn longer_than_366_days_refused() {
    let c = chain(keypair(&PKCS_ECDSA_P384_SHA384, None), 367, 1, true);
    let v = violations(&c);
    assert!(
        v.iter().any(|x| x.contains("lifetime is 367 days")),
        "{v:?}"
    );
    let c = chain(keypair(&PKCS_ECDSA_P384_SHA384, None), 398, 1, true);
    assert!(!violations(&c).is_empty());
}

#[test]
fn expired_and_not_yet_valid_refused() {
    let c = chain(keypair(&PKCS_ECDSA_P384_SHA384, None), 30, 40, true);
    let v = violations(&c);
    assert!(v.iter().any(|x| x.contains("expired")), "{v:?}");
    let c = chain(keypair(&PKCS_ECDSA_P384_SHA384, None), 30, -2, true);
    let v = violations(&c);
    assert!(v.iter().any(|x| x.contains("not yet valid")), "{v:?}");
}

#[test]
fn incomplete_chain_refused() {
    let c = chain(keypair(&PKCS_ECDSA_P384_SHA384, None), 90, 1, false);
    let v = violations(&c);
    assert!(v.iter().any(|x| x.contains("chain incomplete")), "{v:?}");
    // A chain whose second certificate is not the issuer.
    let mut c = chain(keypair(&PKCS_ECDSA_P384_SHA384, None), 90, 1, true);
    let other = chain(keypair(&PKCS_ECDSA_P384_SHA384, None), 90, 1, true);
    c.chain[1] = other.chain[1].clone();
    let v = violations(&c);
    assert!(
        v.iter().any(|x| x.contains("chain incomplete or invalid")),
        "{v:?}"
    );
}

#[test]
fn key_mismatch_refused() {
    let mut c = chain(keypair(&PKCS_ECDSA_P384_SHA384, None), 90, 1, true);
    let other = KeyPair::generate_for(&PKCS_ECDSA_P384_SHA384).unwrap();
    c.key = PrivateKeyDer::try_from(other.serialize_der()).unwrap();
    let v = violations(&c);
    assert!(v.iter().any(|x| x.contains("does not match")), "{v:?}");
}

#[test]
fn garbage_input_does_not_panic() {
    let key = PrivateKeyDer::try_from(
        KeyPair::generate_for(&PKCS_ECDSA_P384_SHA384)
            .unwrap()
            .serialize_der(),
    )
    .unwrap();
    for bytes in [
        vec![],
        vec![0x30],
        vec![0x30, 0x82, 0xff, 0xff, 1, 2, 3],
        vec![0u8; 100],
    ] {
        let v = check_server_certificate(
            &[CertificateDer::from(bytes)],
            &key,
            OffsetDateTime::now_utc(),
        );
        assert!(!v.is_empty());
    }
    assert!(!check_server_certificate(&[], &key, OffsetDateTime::now_utc()).is_empty());
}

#[tokio::test]
async fn handle_load_enforces_policy_by_mode() {
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path();
    let c = chain(keypair(&PKCS_ECDSA_P256_SHA256, None), 90, 1, true);
    let pem: String = c
        .chain
        .iter()
        .map(|x| pem_block("CERTIFICATE", x))
        .collect();
    std::fs::write(d.join("c.pem"), pem).unwrap();
    std::fs::write(
        d.join("k.pem"),
        pem_block("PRIVATE KEY", c.key.secret_der()),
    )
    .unwrap();
    let e = TlsHandle::load(TlsSettings::simple(
        d.join("c.pem"),
        d.join("k.pem"),
        PolicyMode::Production,
    ))
    .await
    .unwrap_err();
    assert!(matches!(e, TransportError::Policy(_)), "{e}");
    TlsHandle::load(TlsSettings::simple(
        d.join("c.pem"),
        d.join("k.pem"),
        PolicyMode::Dev,
    ))
    .await
    .unwrap();
}

fn pem_block(label: &str, der: &[u8]) -> String {
    use base64::Engine as _;
    let b = base64::engine::general_purpose::STANDARD.encode(der);
    let mut s = format!("-----BEGIN {label}-----\n");
    for chunk in b.as_bytes().chunks(64) {
        s.push_str(std::str::from_utf8(chunk).unwrap());
        s.push('\n');
    }
    s.push_str(&format!("-----END {label}-----\n"));
    s
}

#[test]
fn dev_certs_are_compliant_idempotent_and_private() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("certs");
    let p = generate_dev_certs(&dir).unwrap();
    let chain = load_certs(&p.server_cert).unwrap();
    assert_eq!(chain.len(), 2);
    let key = load_key(&p.server_key).unwrap();
    assert_eq!(
        check_server_certificate(&chain, &key, OffsetDateTime::now_utc()),
        Vec::<String>::new()
    );
    let (_, leaf) = x509_parser::parse_x509_certificate(&chain[0]).unwrap();
    let lifetime =
        leaf.validity().not_after.to_datetime() - leaf.validity().not_before.to_datetime();
    assert!(lifetime < Duration::days(365));
    let sans = leaf
        .subject_alternative_name()
        .unwrap()
        .unwrap()
        .value
        .general_names
        .len();
    assert_eq!(sans, 3);
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        for k in [&p.server_key, &p.client_key, &p.ca_key] {
            let mode = std::fs::metadata(k).unwrap().permissions().mode() & 0o777;
            assert_eq!(mode, 0o600, "{}", k.display());
        }
    }
    let before = std::fs::read(&p.server_cert).unwrap();
    let p2 = generate_dev_certs(&dir).unwrap();
    assert_eq!(p, p2);
    assert_eq!(
        before,
        std::fs::read(&p.server_cert).unwrap(),
        "must not overwrite"
    );
    generate_dev_certs_with(&dir, true).unwrap();
    assert_ne!(
        before,
        std::fs::read(&p.server_cert).unwrap(),
        "overwrite when asked"
    );
}

#[test]
fn plaintext_rule() {
    init();
    let lo = "127.0.0.1:8080".parse().unwrap();
    let lo6 = "[::1]:8080".parse().unwrap();
    let any = "0.0.0.0:8080".parse().unwrap();
    assert!(check_plaintext_allowed(lo, false, true).is_ok());
    assert!(check_plaintext_allowed(lo6, false, true).is_ok());
    assert!(check_plaintext_allowed(any, false, true).is_err());
    assert!(check_plaintext_allowed(lo, false, false).is_err());
    assert!(check_plaintext_allowed(lo, true, true).is_err());
    assert!(check_plaintext_allowed(any, true, false).is_ok());
}

fn init() {
    common::init_tracing();
}

#[tokio::test]
async fn plaintext_serve_refuses_non_loopback_and_serves_loopback() {
    // Non-loopback bind with no TLS is refused by serve itself.
    if let Ok(l) = tokio::net::TcpListener::bind("0.0.0.0:0").await {
        let r = benteng_transport::serve(
            l,
            None,
            tower::service_fn(common::echo),
            common::limits(),
            async {},
        )
        .await;
        assert!(matches!(r, Err(TransportError::Config(_))));
    }
    let srv = common::start(None, common::limits()).await;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut s = tokio::net::TcpStream::connect(srv.addr).await.unwrap();
    s.write_all(b"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        .await
        .unwrap();
    let mut out = String::new();
    s.read_to_string(&mut out).await.unwrap();
    assert!(out.starts_with("HTTP/1.1 200"), "{out}");
    assert!(out.contains("tls=none"), "{out}");
    srv.stop().await;
}

#[test]
fn listener_config_deserializes_with_defaults_and_rejects_unknown() {
    #[derive(serde::Deserialize)]
    struct Wrap {
        listener: ListenerConfig,
    }
    let v: serde_json::Value = serde_json::json!({
        "listener": {
            "bind": "0.0.0.0:8443",
            "tls": {"cert": "/c.pem", "key": "/k.pem", "client_auth": "required",
                     "client_ca": "/ca.pem", "crl": ["/a.crl", "/b.crl"]},
            "ocsp": {"file": "/o.der", "required": true}
        }
    });
    let w: Wrap = serde_json::from_value(v).unwrap();
    let l = w.listener;
    assert_eq!(l.handshake_timeout_secs, 10);
    assert_eq!(l.max_connections, 1024);
    assert!(!l.plaintext);
    assert_eq!(l.policy, PolicyMode::Production);
    let t = l.tls.as_ref().unwrap();
    assert_eq!(t.client_ca.len(), 1);
    assert_eq!(t.crl.len(), 2);
    assert!(l.ocsp.required && !l.ocsp.fetch);
    assert!(l.check_plaintext_rule().is_ok());
    let bad = serde_json::json!({"bind": "127.0.0.1:1", "plaintxt": true});
    assert!(serde_json::from_value::<ListenerConfig>(bad).is_err());
    let bad =
        serde_json::json!({"bind": "127.0.0.1:1", "tls": {"cert": "a", "key": "b", "extra": 1}});
    assert!(serde_json::from_value::<ListenerConfig>(bad).is_err());
}
