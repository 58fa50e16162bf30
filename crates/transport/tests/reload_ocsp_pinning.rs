//! Reload without restart, OCSP response validation and fetching, outbound SPKI pinning.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use benteng_transport::ocsp::{
    OcspError, build_ocsp_request, responder_url, validate_ocsp_response,
};
use benteng_transport::peer::sha256_fingerprint;
use benteng_transport::tls::load_certs;
use benteng_transport::{
    ClientAuthMode, OcspConfig, OutboundClient, OutboundError, OutboundTlsConfig, PolicyMode,
    TlsHandle, TlsSettings, generate_dev_certs,
};
use common::*;
use time::OffsetDateTime;

/// Connects with a rustls client trusting `cas` and returns the served leaf's SHA-256.
async fn served_fingerprint(addr: std::net::SocketAddr, cas: &[&Path]) -> String {
    let mut roots = rustls::RootCertStore::empty();
    for ca in cas {
        for c in load_certs(ca).unwrap() {
            roots.add(c).unwrap();
        }
    }
    let cfg =
        rustls::ClientConfig::builder_with_provider(Arc::new(benteng_transport::crypto_provider()))
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_root_certificates(roots)
            .with_no_client_auth();
    let conn = tokio_rustls::TlsConnector::from(Arc::new(cfg));
    let tcp = tokio::net::TcpStream::connect(addr).await.unwrap();
    let name = rustls_pki_types::ServerName::try_from("localhost").unwrap();
    let tls = conn.connect(name, tcp).await.unwrap();
    let (_, c) = tls.get_ref();
    sha256_fingerprint(&c.peer_certificates().unwrap()[0])
}

/// Atomic replace (write temp + rename), like deployment tools do.
fn replace(dst: &Path, content: &[u8]) {
    let tmp = dst.with_extension("new");
    std::fs::write(&tmp, content).unwrap();
    std::fs::rename(&tmp, dst).unwrap();
}

#[tokio::test]
async fn reload_certificates_and_crls_without_restart() {
    init_tracing();
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path();
    let a = generate_dev_certs(&d.join("a")).unwrap();
    let b = generate_dev_certs(&d.join("b")).unwrap();
    let live_cert = d.join("cert.pem");
    let live_key = d.join("key.pem");
    std::fs::copy(&a.server_cert, &live_cert).unwrap();
    std::fs::copy(&a.server_key, &live_key).unwrap();
    // Client auth against CA a with an (initially empty) CRL.
    let ca_a = dev_ca(&a);
    let now = OffsetDateTime::now_utc();
    let client = issue(
        d,
        &ca_a,
        "client",
        Kind::Client,
        now - time::Duration::hours(1),
        now + time::Duration::days(10),
        77,
    );
    let crl_path = crl(d, &ca_a, &[]);
    let settings = TlsSettings {
        client_auth: ClientAuthMode::Required,
        client_ca: vec![a.ca_cert.clone()],
        crl: vec![crl_path.clone()],
        ..TlsSettings::simple(&live_cert, &live_key, PolicyMode::Production)
    };
    let h = TlsHandle::load(settings).await.unwrap();
    let srv = start(Some(h.clone()), limits()).await;
    let leaf_a = sha256_fingerprint(&load_certs(&a.server_cert).unwrap()[0]);
    let leaf_b = sha256_fingerprint(&load_certs(&b.server_cert).unwrap()[0]);
    let cas = [a.ca_cert.as_path(), b.ca_cert.as_path()];
    let client_args = [
        "-cert",
        client.cert.to_str().unwrap(),
        "-key",
        client.key.to_str().unwrap(),
    ];

    assert!(s_client(srv.addr, &client_args).await.ok);
    let r = s_client(
        srv.addr,
        &[
            "-CAfile",
            a.ca_cert.to_str().unwrap(),
            "-cert",
            client.cert.to_str().unwrap(),
            "-key",
            client.key.to_str().unwrap(),
        ],
    )
    .await;
    assert!(r.out.contains("Verify return code: 0 (ok)"), "{}", r.out);
    assert_eq!(h.current_leaf_fingerprint().unwrap(), leaf_a);

    // New certificate + key: picked up by the poller tick.
    replace(&live_key, &std::fs::read(&b.server_key).unwrap());
    replace(&live_cert, &std::fs::read(&b.server_cert).unwrap());
    h.tick().await;
    assert_eq!(h.current_leaf_fingerprint().unwrap(), leaf_b);
    assert_eq!(
        served_fingerprint(srv.addr, &cas).await,
        leaf_b,
        "new cert must be served"
    );
    let r = s_client(
        srv.addr,
        &[
            "-CAfile",
            b.ca_cert.to_str().unwrap(),
            "-cert",
            client.cert.to_str().unwrap(),
            "-key",
            client.key.to_str().unwrap(),
        ],
    )
    .await;
    assert!(
        r.ok && r.out.contains("Verify return code: 0 (ok)"),
        "new cert must be served:\n{}",
        r.out
    );

    // Garbage certificate: reload fails, the previous configuration keeps serving.
    replace(
        &live_cert,
        b"-----BEGIN CERTIFICATE-----\nnot base64 !!\n-----END CERTIFICATE-----\n",
    );
    h.tick().await;
    assert!(h.reload().await.is_err());
    assert_eq!(h.current_leaf_fingerprint().unwrap(), leaf_b);
    assert_eq!(
        served_fingerprint(srv.addr, &cas).await,
        leaf_b,
        "old cert must keep serving"
    );
    let r = s_client(
        srv.addr,
        &[
            "-CAfile",
            b.ca_cert.to_str().unwrap(),
            "-cert",
            client.cert.to_str().unwrap(),
            "-key",
            client.key.to_str().unwrap(),
        ],
    )
    .await;
    assert!(
        r.ok && r.out.contains("Verify return code: 0 (ok)"),
        "old cert must keep serving:\n{}",
        r.out
    );

    // A key that does not match: also refused, old one keeps serving.
    replace(&live_cert, &std::fs::read(&a.server_cert).unwrap());
    h.tick().await;
    assert_eq!(h.current_leaf_fingerprint().unwrap(), leaf_b);

    // Fix the files and let the background watcher pick it up; also revoke the client via the CRL.
    let _w = h.spawn_watcher(Duration::from_millis(200));
    replace(&live_key, &std::fs::read(&a.server_key).unwrap());
    let new_crl = crl(&d.join("a"), &ca_a, std::slice::from_ref(&client.serial));
    replace(&crl_path, &std::fs::read(&new_crl).unwrap());
    let mut served = String::new();
    for _ in 0..50 {
        tokio::time::sleep(Duration::from_millis(100)).await;
        if h.current_leaf_fingerprint().unwrap() == leaf_a {
            served = served_fingerprint_with_client(srv.addr, &cas, &client)
                .await
                .unwrap_or_default();
            break;
        }
    }
    assert_eq!(
        h.current_leaf_fingerprint().unwrap(),
        leaf_a,
        "watcher must reload"
    );
    assert!(
        served.is_empty(),
        "revoked client (CRL reloaded) must be refused"
    );
    let r = s_client(srv.addr, &client_args).await;
    assert!(!r.ok, "revoked after CRL reload:\n{}", r.out);
    srv.stop().await;
}

/// TLS 1.3 client with a client cert; returns the leaf fingerprint if the server answered HTTP.
async fn served_fingerprint_with_client(
    addr: std::net::SocketAddr,
    cas: &[&Path],
    client: &Issued,
) -> Option<String> {
    let r = s_client(
        addr,
        &[
            "-CAfile",
            cas[0].to_str().unwrap(),
            "-cert",
            client.cert.to_str().unwrap(),
            "-key",
            client.key.to_str().unwrap(),
        ],
    )
    .await;
    r.ok.then_some(r.out)
}

struct OcspFixture {
    _tmp: tempfile::TempDir,
    d: std::path::PathBuf,
    dev: benteng_transport::DevCertPaths,
    leaf_pem: std::path::PathBuf,
    leaf: Vec<u8>,
    ca: Vec<u8>,
}

fn ocsp_fixture() -> OcspFixture {
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path().to_path_buf();
    let dev = generate_dev_certs(&d.join("dev")).unwrap();
    let leaf_pem = d.join("leaf.pem");
    leaf_only(&dev.server_cert, &leaf_pem);
    let chain = load_certs(&dev.server_cert).unwrap();
    OcspFixture {
        _tmp: tmp,
        d,
        dev,
        leaf_pem,
        leaf: chain[0].to_vec(),
        ca: chain[1].to_vec(),
    }
}

#[test]
fn ocsp_validation_rules() {
    let f = ocsp_fixture();
    let d = &f.d;
    let now = OffsetDateTime::now_utc();
    let good = d.join("good.der");
    openssl_ocsp_response(
        d,
        &f.dev.ca_cert,
        &f.dev.ca_cert,
        &f.dev.ca_key,
        &f.leaf_pem,
        'V',
        &good,
    );
    let good = std::fs::read(good).unwrap();
    let st = validate_ocsp_response(&good, &f.leaf, &f.ca, now).unwrap();
    assert!(st.is_fresh(now) && !st.refresh_due(now));
    assert!(st.next_update > now + time::Duration::days(6));
    // Stale and not-yet-valid.
    assert_eq!(
        validate_ocsp_response(&good, &f.leaf, &f.ca, now + time::Duration::days(8)),
        Err(OcspError::Stale)
    );
    assert_eq!(
        validate_ocsp_response(&good, &f.leaf, &f.ca, now - time::Duration::days(1)),
        Err(OcspError::NotYetValid)
    );
    // Revoked.
    let rev = d.join("rev.der");
    openssl_ocsp_response(
        d,
        &f.dev.ca_cert,
        &f.dev.ca_cert,
        &f.dev.ca_key,
        &f.leaf_pem,
        'R',
        &rev,
    );
    assert_eq!(
        validate_ocsp_response(&std::fs::read(rev).unwrap(), &f.leaf, &f.ca, now),
        Err(OcspError::Revoked)
    );
    // Response for another certificate (the dev client cert).
    let other = d.join("other.der");
    openssl_ocsp_response(
        d,
        &f.dev.ca_cert,
        &f.dev.ca_cert,
        &f.dev.ca_key,
        &f.dev.client_cert,
        'V',
        &other,
    );
    assert_eq!(
        validate_ocsp_response(&std::fs::read(other).unwrap(), &f.leaf, &f.ca, now),
        Err(OcspError::WrongCertificate)
    );
    // Issuer mismatch (a different CA).
    let other_ca = new_ca(d, "other-ca");
    let other_ca_der = load_certs(&other_ca.cert_path).unwrap()[0].to_vec();
    assert_eq!(
        validate_ocsp_response(&good, &f.leaf, &other_ca_der, now),
        Err(OcspError::WrongCertificate)
    );
    // Tampered signature.
    let bad = tamper_signature(&good);
    assert!(matches!(
        validate_ocsp_response(&bad, &f.leaf, &f.ca, now),
        Err(OcspError::BadSignature(_))
    ));
    // Garbage / truncated.
    assert!(matches!(
        validate_ocsp_response(b"junk", &f.leaf, &f.ca, now),
        Err(OcspError::Malformed(_))
    ));
    assert!(validate_ocsp_response(&good[..good.len() / 2], &f.leaf, &f.ca, now).is_err());
    assert!(validate_ocsp_response(&[], &f.leaf, &f.ca, now).is_err());

    // Delegated responder with id-kp-OCSPSigning: accepted.
    let ca = dev_ca(&f.dev);
    let h = time::Duration::hours(1);
    let signer = issue(
        d,
        &ca,
        "ocsp-signer",
        Kind::OcspSigner,
        now - h,
        now + time::Duration::days(30),
        500,
    );
    let deleg = d.join("deleg.der");
    openssl_ocsp_response(
        d,
        &f.dev.ca_cert,
        &signer.cert,
        &signer.key,
        &f.leaf_pem,
        'V',
        &deleg,
    );
    validate_ocsp_response(&std::fs::read(&deleg).unwrap(), &f.leaf, &f.ca, now).unwrap();
    // Without the EKU: refused.
    let noeku = issue(
        d,
        &ca,
        "ocsp-noeku",
        Kind::OcspSignerNoEku,
        now - h,
        now + time::Duration::days(30),
        501,
    );
    let p = d.join("noeku.der");
    openssl_ocsp_response(
        d,
        &f.dev.ca_cert,
        &noeku.cert,
        &noeku.key,
        &f.leaf_pem,
        'V',
        &p,
    );
    assert!(matches!(
        validate_ocsp_response(&std::fs::read(&p).unwrap(), &f.leaf, &f.ca, now),
        Err(OcspError::BadSignature(_))
    ));
    // Responder certified by another CA: refused.
    let foreign = issue(
        d,
        &other_ca,
        "ocsp-foreign",
        Kind::OcspSigner,
        now - h,
        now + time::Duration::days(30),
        502,
    );
    let p = d.join("foreign.der");
    openssl_ocsp_response(
        d,
        &f.dev.ca_cert,
        &foreign.cert,
        &foreign.key,
        &f.leaf_pem,
        'V',
        &p,
    );
    assert!(matches!(
        validate_ocsp_response(&std::fs::read(&p).unwrap(), &f.leaf, &f.ca, now),
        Err(OcspError::BadSignature(_))
    ));
}

#[tokio::test]
async fn ocsp_fetch_from_aia_responder() {
    init_tracing();
    let f = ocsp_fixture();
    let d = &f.d;
    // Server certificate with an AIA OCSP URL, issued by the dev CA.
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let url = format!("http://127.0.0.1:{port}/");
    let ca = dev_ca(&f.dev);
    let (cert, key) = issue_with_aia(d, &ca, &url);
    let chain_path = d.join("aia-chain.pem");
    let chain = format!("{}{}", std::fs::read_to_string(&cert).unwrap(), ca.cert_pem);
    std::fs::write(&chain_path, chain).unwrap();
    let leaf = load_certs(&cert).unwrap()[0].to_vec();
    assert_eq!(responder_url(&leaf).as_deref(), Some(url.as_str()));
    assert!(build_ocsp_request(&leaf, &f.ca).is_ok());

    // Live openssl responder.
    let serial = run(
        "openssl",
        &["x509", "-in", cert.to_str().unwrap(), "-noout", "-serial"],
        d,
    );
    let serial = serial.trim().trim_start_matches("serial=");
    let index = d.join("live-index.txt");
    std::fs::write(
        &index,
        format!("V\t301231235959Z\t\t{serial}\tunknown\t/CN=x\n"),
    )
    .unwrap();
    std::fs::write(format!("{}.attr", index.display()), "unique_subject = no\n").unwrap();
    let mut responder = tokio::process::Command::new("openssl")
        .args([
            "ocsp",
            "-index",
            index.to_str().unwrap(),
            "-port",
            &port.to_string(),
            "-rsigner",
        ])
        .arg(&f.dev.ca_cert)
        .arg("-rkey")
        .arg(&f.dev.ca_key)
        .arg("-CA")
        .arg(&f.dev.ca_cert)
        .args(["-nrequest", "1000", "-ndays", "1"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    // Wait until it listens. (Do not probe with an empty connection: the openssl 3.0 responder
    // then blocks on that connection.)
    {
        use tokio::io::AsyncBufReadExt;
        let out = responder.stdout.take().unwrap();
        let err = responder.stderr.take().unwrap();
        let mut lines = tokio::io::BufReader::new(out).lines();
        let mut elines = tokio::io::BufReader::new(err).lines();
        let ready = tokio::time::timeout(Duration::from_secs(10), async {
            loop {
                let l = tokio::select! {
                    l = lines.next_line() => l,
                    l = elines.next_line() => l,
                };
                match l {
                    Ok(Some(l)) if l.contains("waiting for OCSP client") => break,
                    Ok(Some(_)) => {}
                    _ => tokio::time::sleep(Duration::from_millis(50)).await,
                }
            }
        })
        .await;
        assert!(ready.is_ok(), "openssl ocsp responder did not start");
        tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
        tokio::spawn(async move { while let Ok(Some(_)) = elines.next_line().await {} });
    }
    let settings = TlsSettings {
        ocsp: OcspConfig {
            file: None,
            fetch: true,
            required: true,
        },
        ..TlsSettings::simple(&chain_path, &key, PolicyMode::Production)
    };
    let h = match TlsHandle::load(settings.clone()).await {
        Ok(h) => h,
        Err(e) => panic!("OCSP fetch failed: {e}"),
    };
    let staple = h.current_staple().expect("stapled");
    validate_ocsp_response(&staple, &leaf, &f.ca, OffsetDateTime::now_utc()).unwrap();
    let _ = responder.kill().await;
    // Responder gone + required: refuse to start.
    assert!(TlsHandle::load(settings).await.is_err());
}

/// Re-encodes the response with one bit of the BasicOCSPResponse signature flipped.
fn tamper_signature(der: &[u8]) -> Vec<u8> {
    use x509_cert::der::asn1::{BitString, OctetString};
    use x509_cert::der::{Decode, Encode};
    let mut r = x509_ocsp::OcspResponse::from_der(der).unwrap();
    let rb = r.response_bytes.as_mut().unwrap();
    let mut basic = x509_ocsp::BasicOcspResponse::from_der(rb.response.as_bytes()).unwrap();
    let mut sig = basic.signature.raw_bytes().to_vec();
    let n = sig.len();
    sig[n - 2] ^= 0x01;
    basic.signature = BitString::from_bytes(&sig).unwrap();
    rb.response = OctetString::new(basic.to_der().unwrap()).unwrap();
    r.to_der().unwrap()
}

fn issue_with_aia(dir: &Path, ca: &TestCa, url: &str) -> (std::path::PathBuf, std::path::PathBuf) {
    use rcgen::{
        CertificateParams, CustomExtension, ExtendedKeyUsagePurpose, Issuer, KeyPair,
        PKCS_ECDSA_P384_SHA384,
    };
    let ca_key = KeyPair::from_pem(&ca.key_pem).unwrap();
    let issuer = Issuer::from_ca_cert_pem(&ca.cert_pem, &ca_key).unwrap();
    let key = KeyPair::generate_for(&PKCS_ECDSA_P384_SHA384).unwrap();
    let mut p = CertificateParams::new(vec!["localhost".to_owned()]).unwrap();
    p.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
    p.not_before = OffsetDateTime::now_utc() - time::Duration::hours(1);
    p.not_after = OffsetDateTime::now_utc() + time::Duration::days(30);
    // AuthorityInfoAccess ::= SEQUENCE OF AccessDescription { id-ad-ocsp, [6] URI }
    let u = url.as_bytes();
    let mut ad = vec![
        0x06,
        0x08,
        0x2b,
        0x06,
        0x01,
        0x05,
        0x05,
        0x07,
        0x30,
        0x01,
        0x86,
        u.len() as u8,
    ];
    ad.extend_from_slice(u);
    let mut seq = vec![0x30, ad.len() as u8];
    seq.extend(ad);
    let mut outer = vec![0x30, seq.len() as u8];
    outer.extend(seq);
    p.custom_extensions = vec![CustomExtension::from_oid_content(
        &[1, 3, 6, 1, 5, 5, 7, 1, 1],
        outer,
    )];
    let c = p.signed_by(&key, &issuer).unwrap();
    let cp = dir.join("aia.pem");
    let kp = dir.join("aia.key");
    std::fs::write(&cp, c.pem()).unwrap();
    std::fs::write(&kp, key.serialize_pem()).unwrap();
    (cp, kp)
}

fn openssl_spki_pin(cert_pem: &Path) -> String {
    let out = std::process::Command::new("sh")
        .arg("-c")
        .arg(format!(
            "openssl x509 -in '{}' -pubkey -noout | openssl pkey -pubin -outform der | openssl dgst -sha256 -binary | base64",
            cert_pem.display()
        ))
        .output()
        .unwrap();
    assert!(out.status.success());
    String::from_utf8(out.stdout).unwrap().trim().to_owned()
}

#[tokio::test]
async fn outbound_spki_pinning() {
    init_tracing();
    let f = ocsp_fixture();
    let h = TlsHandle::load(TlsSettings::simple(
        &f.dev.server_cert,
        &f.dev.server_key,
        PolicyMode::Production,
    ))
    .await
    .unwrap();
    let srv = start(Some(h), limits()).await;
    let url = format!("https://localhost:{}/", srv.addr.port());
    let pin = openssl_spki_pin(&f.leaf_pem);
    assert_eq!(
        benteng_transport::client::spki_pin_base64(&f.leaf).unwrap(),
        pin
    );

    let cfg = |pins: Vec<String>| OutboundTlsConfig {
        ca_files: vec![f.dev.ca_cert.clone()],
        webpki_roots: false,
        pins: [("localhost".to_owned(), pins)].into_iter().collect(),
        timeout_secs: Some(10),
    };
    // Correct pin (base64, and hex).
    let c = OutboundClient::new(&cfg(vec![pin.clone()])).unwrap();
    let resp = c.get(&url).await.unwrap();
    assert_eq!(resp.status(), 200);
    assert!(resp.text().await.unwrap().contains("tls=TLSv1_3"));
    let hex_pin = hex::encode(benteng_transport::client::spki_sha256(&f.leaf).unwrap());
    let c = OutboundClient::new(&cfg(vec![
        format!("sha256/{}", "A".repeat(43) + "="),
        hex_pin,
    ]))
    .unwrap();
    assert_eq!(c.get(&url).await.unwrap().status(), 200);

    // Wrong pin: typed error.
    let wrong = base64::Engine::encode(&base64::engine::general_purpose::STANDARD, [7u8; 32]);
    let c = OutboundClient::new(&cfg(vec![wrong])).unwrap();
    match c.get(&url).await {
        Err(OutboundError::PinMismatch(p)) => {
            assert_eq!(p.host, "localhost");
            assert!(p.presented.contains(&pin), "{p:?}");
        }
        other => panic!("expected PinMismatch, got {other:?}"),
    }
    // Untrusted CA: ordinary TLS error, not a pin mismatch.
    let other = new_ca(&f.d, "untrusted");
    let c = OutboundClient::new(&OutboundTlsConfig {
        ca_files: vec![other.cert_path.clone()],
        ..OutboundTlsConfig::default()
    })
    .unwrap();
    assert!(matches!(c.get(&url).await, Err(OutboundError::Request(_))));
    // Bad pin strings are config errors.
    assert!(OutboundClient::new(&cfg(vec!["nope".into()])).is_err());
    srv.stop().await;
}

/// One connection with a rustls client that presents `client` and keeps its session tickets
/// in `cfg` (so a later connection may resume): a GET, the answer read to the end (which also
/// takes in the server's tickets). The handshake kind, or `None` when the server refused.
async fn get_with_resumption(
    addr: std::net::SocketAddr,
    cfg: &Arc<rustls::ClientConfig>,
) -> Option<rustls::HandshakeKind> {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let tcp = tokio::net::TcpStream::connect(addr).await.unwrap();
    let name = rustls_pki_types::ServerName::try_from("localhost").unwrap();
    let mut tls = tokio_rustls::TlsConnector::from(cfg.clone())
        .connect(name, tcp)
        .await
        .ok()?;
    let kind = tls.get_ref().1.handshake_kind();
    tls.write_all(b"GET / HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
        .await
        .ok()?;
    let mut answer = Vec::new();
    let _ = tls.read_to_end(&mut answer).await;
    answer
        .starts_with(b"HTTP/1.1 200")
        .then_some(kind)
        .flatten()
}

/// A resumed TLS session skips client-certificate verification, so a reload (here: a CRL that
/// revokes the client) must end resumption of the sessions made before it.
#[tokio::test]
async fn a_reload_ends_resumption_of_earlier_sessions() {
    init_tracing();
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path();
    let a = generate_dev_certs(&d.join("a")).unwrap();
    let ca_a = dev_ca(&a);
    let now = OffsetDateTime::now_utc();
    let client = issue(
        d,
        &ca_a,
        "client",
        Kind::Client,
        now - time::Duration::hours(1),
        now + time::Duration::days(10),
        78,
    );
    let crl_path = crl(d, &ca_a, &[]);
    let settings = TlsSettings {
        client_auth: ClientAuthMode::Required,
        client_ca: vec![a.ca_cert.clone()],
        crl: vec![crl_path.clone()],
        ..TlsSettings::simple(&a.server_cert, &a.server_key, PolicyMode::Production)
    };
    let h = TlsHandle::load(settings).await.unwrap();
    let srv = start(Some(h.clone()), limits()).await;
    let mut roots = rustls::RootCertStore::empty();
    for c in load_certs(&a.ca_cert).unwrap() {
        roots.add(c).unwrap();
    }
    let cfg = Arc::new(
        rustls::ClientConfig::builder_with_provider(Arc::new(benteng_transport::crypto_provider()))
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_root_certificates(roots)
            .with_client_auth_cert(
                load_certs(&client.cert).unwrap(),
                benteng_transport::tls::load_key(&client.key).unwrap(),
            )
            .unwrap(),
    );
    // Resumption works: without it this test would prove nothing.
    assert_eq!(
        get_with_resumption(srv.addr, &cfg).await,
        Some(rustls::HandshakeKind::Full)
    );
    assert_eq!(
        get_with_resumption(srv.addr, &cfg).await,
        Some(rustls::HandshakeKind::Resumed)
    );
    // Revoke the client and reload: its ticket no longer lets it in.
    let revoked = crl(&d.join("a"), &ca_a, std::slice::from_ref(&client.serial));
    replace(&crl_path, &std::fs::read(&revoked).unwrap());
    h.reload().await.unwrap();
    assert_eq!(get_with_resumption(srv.addr, &cfg).await, None);
    srv.stop().await;
}
