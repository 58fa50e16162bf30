//! Black-box TLS tests with the real `openssl s_client` against `serve`.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::time::Duration;

use benteng_transport::{
    ClientAuthMode, ConnectionLimits, OcspConfig, PolicyMode, TlsHandle, TlsSettings,
    generate_dev_certs,
};
use common::*;
use time::OffsetDateTime;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

async fn dev_server(dir: &std::path::Path) -> (Server, benteng_transport::DevCertPaths) {
    let dev = generate_dev_certs(dir).unwrap();
    let h = TlsHandle::load(TlsSettings::simple(
        &dev.server_cert,
        &dev.server_key,
        PolicyMode::Production,
    ))
    .await
    .unwrap();
    (start(Some(h), limits()).await, dev)
}

#[tokio::test]
async fn protocol_versions_and_cipher_suites() {
    init_tracing();
    let tmp = tempfile::tempdir().unwrap();
    let (srv, dev) = dev_server(tmp.path()).await;
    let ca = dev.ca_cert.to_str().unwrap();
    let a = srv.addr;

    // Old protocols: SECLEVEL=0 makes the openssl client really offer them.
    for p in ["-tls1", "-tls1_1"] {
        let r = s_client(a, &[p, "-cipher", "DEFAULT@SECLEVEL=0"]).await;
        assert!(!r.ok, "{p} must be refused:\n{}", r.out);
    }
    // Non-AEAD TLS 1.2 suites.
    for c in [
        "AES128-SHA",
        "ECDHE-ECDSA-AES128-SHA",
        "ECDHE-ECDSA-AES256-SHA384",
        "AES256-GCM-SHA384",
    ] {
        let r = s_client(a, &["-tls1_2", "-cipher", c]).await;
        assert!(!r.ok, "TLS1.2 {c} must be refused:\n{}", r.out);
    }
    // TLS 1.2 ECDHE + AEAD is accepted.
    for c in [
        "ECDHE-ECDSA-AES256-GCM-SHA384",
        "ECDHE-ECDSA-CHACHA20-POLY1305",
        "ECDHE-ECDSA-AES128-GCM-SHA256",
    ] {
        let r = s_client(
            a,
            &[
                "-tls1_2",
                "-cipher",
                c,
                "-CAfile",
                ca,
                "-verify_return_error",
            ],
        )
        .await;
        assert!(r.ok, "TLS1.2 {c} must be accepted:\n{}", r.out);
        assert!(r.out.contains("tls=TLSv1_2"), "{}", r.out);
    }
    // TLS 1.3: each allowed suite, seen by the service too.
    for (ossl, rustls_name) in [
        ("TLS_AES_256_GCM_SHA384", "TLS13_AES_256_GCM_SHA384"),
        (
            "TLS_CHACHA20_POLY1305_SHA256",
            "TLS13_CHACHA20_POLY1305_SHA256",
        ),
        ("TLS_AES_128_GCM_SHA256", "TLS13_AES_128_GCM_SHA256"),
    ] {
        let r = s_client(
            a,
            &[
                "-tls1_3",
                "-ciphersuites",
                ossl,
                "-CAfile",
                ca,
                "-verify_return_error",
            ],
        )
        .await;
        assert!(r.ok, "TLS1.3 {ossl} must be accepted:\n{}", r.out);
        assert!(r.out.contains("tls=TLSv1_3"), "{}", r.out);
        assert!(r.out.contains(&format!("suite={rustls_name}")), "{}", r.out);
        assert!(r.out.contains("Verify return code: 0 (ok)"), "{}", r.out);
    }
    // TLS 1.3 suites outside the list.
    let r = s_client(a, &["-tls1_3", "-ciphersuites", "TLS_AES_128_CCM_SHA256"]).await;
    assert!(!r.ok, "TLS_AES_128_CCM_SHA256 must be refused:\n{}", r.out);
    // ALPN h2 offered by the server.
    let r = s_client(a, &["-alpn", "h2,http/1.1", "-CAfile", ca]).await;
    assert!(r.out.contains("ALPN protocol: h2"), "{}", r.out);
    srv.stop().await;
}

struct MtlsFixture {
    _tmp: tempfile::TempDir,
    dev: benteng_transport::DevCertPaths,
    good: Issued,
    revoked: Issued,
    expired: Issued,
    wrong_ca: Issued,
    self_signed: Issued,
    crl: std::path::PathBuf,
}

fn mtls_fixture() -> MtlsFixture {
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path();
    let dev = generate_dev_certs(&d.join("dev")).unwrap();
    let ca = dev_ca(&dev);
    let now = OffsetDateTime::now_utc();
    let h = time::Duration::hours(1);
    let good = issue(
        d,
        &ca,
        "good-client",
        Kind::Client,
        now - h,
        now + time::Duration::days(30),
        11,
    );
    let revoked = issue(
        d,
        &ca,
        "revoked-client",
        Kind::Client,
        now - h,
        now + time::Duration::days(30),
        12,
    );
    let expired = issue(
        d,
        &ca,
        "expired-client",
        Kind::Client,
        now - time::Duration::days(60),
        now - time::Duration::days(1),
        13,
    );
    let other = new_ca(d, "other-ca");
    let wrong_ca = issue(
        d,
        &other,
        "wrongca-client",
        Kind::Client,
        now - h,
        now + time::Duration::days(30),
        14,
    );
    let self_signed = self_signed_client(d, "selfsigned-client");
    let crl = crl(d, &ca, std::slice::from_ref(&revoked.serial));
    MtlsFixture {
        _tmp: tmp,
        dev,
        good,
        revoked,
        expired,
        wrong_ca,
        self_signed,
        crl,
    }
}

async fn mtls_server(f: &MtlsFixture, mode: ClientAuthMode) -> Server {
    let s = TlsSettings {
        cert: f.dev.server_cert.clone(),
        key: f.dev.server_key.clone(),
        client_auth: mode,
        client_ca: vec![f.dev.ca_cert.clone()],
        crl: vec![f.crl.clone()],
        ocsp: OcspConfig::default(),
        policy: PolicyMode::Production,
    };
    start(Some(TlsHandle::load(s).await.unwrap()), limits()).await
}

fn with_cert<'a>(i: &'a Issued, extra: &[&'a str]) -> Vec<&'a str> {
    let mut v = vec![
        "-cert",
        i.cert.to_str().unwrap(),
        "-key",
        i.key.to_str().unwrap(),
    ];
    v.extend_from_slice(extra);
    v
}

#[tokio::test]
async fn mtls_required() {
    init_tracing();
    let f = mtls_fixture();
    let srv = mtls_server(&f, ClientAuthMode::Required).await;
    let a = srv.addr;

    for proto in ["-tls1_3", "-tls1_2"] {
        // No client certificate.
        let r = s_client(a, &[proto]).await;
        assert!(!r.ok, "{proto}: no client cert must fail:\n{}", r.out);
        // Registered CA: accepted, fingerprint visible to the service.
        let r = s_client(a, &with_cert(&f.good, &[proto])).await;
        assert!(
            r.ok,
            "{proto}: good client cert must be accepted:\n{}",
            r.out
        );
        let fp = benteng_transport::peer::sha256_fingerprint(&f.good.der);
        assert!(r.out.contains(&format!("client_fp={fp}")), "{}", r.out);
        // Refused ones.
        for (what, c) in [
            ("revoked", &f.revoked),
            ("expired", &f.expired),
            ("wrong CA", &f.wrong_ca),
            ("self-signed", &f.self_signed),
        ] {
            let r = s_client(a, &with_cert(c, &[proto])).await;
            assert!(
                !r.ok,
                "{proto}: {what} client cert must be refused:\n{}",
                r.out
            );
        }
    }
    srv.stop().await;
}

#[tokio::test]
async fn mtls_optional() {
    init_tracing();
    let f = mtls_fixture();
    let srv = mtls_server(&f, ClientAuthMode::Optional).await;
    let r = s_client(srv.addr, &[]).await;
    assert!(r.ok, "optional: no cert is fine:\n{}", r.out);
    assert!(r.out.contains("client_fp=none"), "{}", r.out);
    let r = s_client(srv.addr, &with_cert(&f.good, &[])).await;
    assert!(r.ok, "{}", r.out);
    let fp = benteng_transport::peer::sha256_fingerprint(&f.good.der);
    assert!(r.out.contains(&format!("client_fp={fp}")), "{}", r.out);
    let r = s_client(srv.addr, &with_cert(&f.revoked, &[])).await;
    assert!(
        !r.ok,
        "optional: a revoked cert is still refused:\n{}",
        r.out
    );
    srv.stop().await;
}

#[tokio::test]
async fn ocsp_staple_visible_with_status() {
    init_tracing();
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path();
    let dev = generate_dev_certs(&d.join("dev")).unwrap();
    let leaf = d.join("leaf.pem");
    leaf_only(&dev.server_cert, &leaf);
    let resp = d.join("server.ocsp.der");
    openssl_ocsp_response(
        d,
        &dev.ca_cert,
        &dev.ca_cert,
        &dev.ca_key,
        &leaf,
        'V',
        &resp,
    );
    let s = TlsSettings {
        ocsp: OcspConfig {
            file: Some(resp.clone()),
            fetch: false,
            required: true,
        },
        ..TlsSettings::simple(&dev.server_cert, &dev.server_key, PolicyMode::Production)
    };
    let h = TlsHandle::load(s).await.unwrap();
    assert_eq!(
        h.current_staple().as_deref(),
        Some(std::fs::read(&resp).unwrap().as_slice())
    );
    let srv = start(Some(h), limits()).await;
    for proto in ["-tls1_3", "-tls1_2"] {
        let r = s_client(
            srv.addr,
            &["-status", proto, "-CAfile", dev.ca_cert.to_str().unwrap()],
        )
        .await;
        assert!(r.ok, "{}", r.out);
        assert!(
            r.out.contains("OCSP Response Status: successful"),
            "{proto}:\n{}",
            r.out
        );
        assert!(r.out.contains("Cert Status: good"), "{proto}:\n{}", r.out);
    }
    srv.stop().await;

    // ocsp.required with a revoked response: refuse to start.
    let bad = d.join("revoked.ocsp.der");
    openssl_ocsp_response(d, &dev.ca_cert, &dev.ca_cert, &dev.ca_key, &leaf, 'R', &bad);
    let s = TlsSettings {
        ocsp: OcspConfig {
            file: Some(bad),
            fetch: false,
            required: true,
        },
        ..TlsSettings::simple(&dev.server_cert, &dev.server_key, PolicyMode::Production)
    };
    let e = TlsHandle::load(s).await.unwrap_err();
    assert!(e.to_string().contains("REVOKED"), "{e}");
}

#[tokio::test]
async fn garbage_and_silent_connections_do_not_block_others() {
    init_tracing();
    let tmp = tempfile::tempdir().unwrap();
    let dev = generate_dev_certs(tmp.path()).unwrap();
    let h = TlsHandle::load(TlsSettings::simple(
        &dev.server_cert,
        &dev.server_key,
        PolicyMode::Production,
    ))
    .await
    .unwrap();
    let lim = ConnectionLimits {
        handshake_timeout: Duration::from_secs(1),
        max_connections: 4,
        ..limits()
    };
    let srv = start(Some(h), lim).await;
    // Fill every connection slot: 3 silent connections and 1 sending garbage slowly.
    let mut silent = Vec::new();
    for _ in 0..3 {
        silent.push(tokio::net::TcpStream::connect(srv.addr).await.unwrap());
    }
    let mut garbage = tokio::net::TcpStream::connect(srv.addr).await.unwrap();
    garbage.write_all(&[0x16, 0x03]).await.unwrap(); // incomplete record header
    // A real client still gets served (after the handshake deadline frees the slots).
    let t0 = std::time::Instant::now();
    let r = s_client(srv.addr, &["-CAfile", dev.ca_cert.to_str().unwrap()]).await;
    assert!(r.ok, "{}", r.out);
    assert!(
        t0.elapsed() < Duration::from_secs(8),
        "took {:?}",
        t0.elapsed()
    );
    // The silent connection has been closed by the server.
    let mut buf = [0u8; 16];
    let n = tokio::time::timeout(Duration::from_secs(5), silent[0].read(&mut buf))
        .await
        .expect("server must close a silent connection");
    assert!(matches!(n, Ok(0) | Err(_)), "{n:?}");
    // Pure garbage gets an error/close quickly and others keep working.
    let mut g2 = tokio::net::TcpStream::connect(srv.addr).await.unwrap();
    g2.write_all(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
        .await
        .unwrap();
    let mut sink = Vec::new();
    let _ = tokio::time::timeout(Duration::from_secs(5), g2.read_to_end(&mut sink)).await;
    assert!(
        !String::from_utf8_lossy(&sink).contains("200"),
        "plain HTTP on the TLS port must not be served"
    );
    let r = s_client(srv.addr, &["-CAfile", dev.ca_cert.to_str().unwrap()]).await;
    assert!(r.ok, "{}", r.out);
    drop(garbage);
    srv.stop().await;
}
