//! Outside verifiers aimed at the real `benteng` binary, as a user would scan it: testssl.sh and
//! `openssl s_client` over the default listener (the development P-384 certificate, client
//! certificates optional) and over an mTLS listener (an RSA 4096 certificate from the same CA,
//! client certificates required). Every verifier is also run, with the very same assertions,
//! against a deliberately weak `openssl s_server` holding the same certificate (TLS 1.0 and up,
//! every suite down to CBC and static RSA at `@SECLEVEL=0`, no HSTS), where it must fail: the
//! negative control that shows each check sees what it claims benteng refuses.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use benteng_transport::DevCertPaths;
use serde_json::Value;
use tokio::io::{AsyncBufReadExt, BufReader};

use crate::harness::{Backend, Environment, Process};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum KeyKind {
    P384,
    Rsa,
}

/// One TLS endpoint under test.
struct Target {
    address: SocketAddr,
    /// The CA the server certificate chains to.
    ca: PathBuf,
    key: KeyKind,
    /// The client certificate and key presented, if any.
    identity: Option<(PathBuf, PathBuf)>,
    /// Whether a handshake without a client certificate must be refused.
    requires_client_cert: bool,
}

impl Target {
    /// The same expectations, aimed at another address (the weak control server).
    fn at(&self, address: SocketAddr) -> Target {
        Target {
            address,
            ca: self.ca.clone(),
            key: self.key,
            identity: self.identity.clone(),
            requires_client_cert: self.requires_client_cert,
        }
    }
}

fn openssl(args: &[&str]) {
    let output = std::process::Command::new("openssl")
        .args(args)
        .output()
        .expect("openssl is installed (scripts/test installs it)");
    assert!(
        output.status.success(),
        "openssl {args:?}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
}

/// An RSA 4096 server certificate for `localhost`/127.0.0.1, 90 days, issued by the dev CA;
/// the file holds the chain (leaf, then the CA), as the certificate policy asks.
fn rsa_certificate(dir: &Path, dev: &DevCertPaths) -> (PathBuf, PathBuf) {
    let path = |name: &str| dir.join(name).to_str().expect("UTF-8 path").to_owned();
    let (key, csr, leaf, ext, chain) = (
        path("rsa.key"),
        path("rsa.csr"),
        path("rsa-leaf.pem"),
        path("rsa.ext"),
        path("rsa.pem"),
    );
    openssl(&[
        "genpkey",
        "-algorithm",
        "RSA",
        "-pkeyopt",
        "rsa_keygen_bits:4096",
        "-out",
        &key,
    ]);
    openssl(&[
        "req",
        "-new",
        "-key",
        &key,
        "-subj",
        "/CN=localhost",
        "-out",
        &csr,
    ]);
    std::fs::write(
        &ext,
        "basicConstraints=critical,CA:FALSE\n\
         keyUsage=critical,digitalSignature,keyEncipherment\n\
         extendedKeyUsage=serverAuth\n\
         subjectAltName=DNS:localhost,IP:127.0.0.1\n",
    )
    .unwrap();
    openssl(&[
        "x509",
        "-req",
        "-in",
        &csr,
        "-CA",
        dev.ca_cert.to_str().unwrap(),
        "-CAkey",
        dev.ca_key.to_str().unwrap(),
        "-set_serial",
        "4242",
        "-days",
        "90",
        "-sha384",
        "-extfile",
        &ext,
        "-out",
        &leaf,
    ]);
    let mut pem = std::fs::read(&leaf).unwrap();
    pem.extend(std::fs::read(&dev.ca_cert).unwrap());
    std::fs::write(&chain, pem).unwrap();
    (PathBuf::from(chain), PathBuf::from(key))
}

/// The benteng binary with its default listener and an mTLS listener.
struct Benteng {
    env: Environment,
    _process: Process,
    default: Target,
    mtls: Target,
}

async fn start_benteng() -> Benteng {
    let env = Environment::new(Backend::Sqlite).await;
    let dir = env.data_dir.path();
    let dev = benteng_transport::generate_dev_certs(&dir.join("tls")).unwrap();
    let (cert, key) = rsa_certificate(dir, &dev);
    let config = dir.join("benteng.toml");
    std::fs::write(
        &config,
        format!(
            "[[server.listeners]]\nbind = \"127.0.0.1:0\"\nroutes = \"all\"\n\
             [server.listeners.tls]\ncert = \"{}\"\nkey = \"{}\"\n\
             client_auth = \"required\"\nclient_ca = \"{}\"\n",
            cert.display(),
            key.display(),
            dev.ca_cert.display()
        ),
    )
    .unwrap();
    let process =
        Process::serve_listeners(&env, &[("BENTENG_CONFIG", config.to_str().unwrap())], 2).await;
    let default = Target {
        address: process.addresses[0],
        ca: dev.ca_cert.clone(),
        key: KeyKind::P384,
        identity: None,
        requires_client_cert: false,
    };
    let mtls = Target {
        address: process.addresses[1],
        ca: dev.ca_cert.clone(),
        key: KeyKind::Rsa,
        identity: Some((dev.client_cert.clone(), dev.client_key.clone())),
        requires_client_cert: true,
    };
    Benteng {
        env,
        _process: process,
        default,
        mtls,
    }
}

const WEAK_SUITES: &str = "ECDHE+AESGCM:ECDHE+CHACHA20:AES128-SHA:AES256-GCM-SHA384:\
    ECDHE-RSA-AES128-SHA:ECDHE-RSA-AES256-SHA384:ECDHE-ECDSA-AES128-SHA:ECDHE-ECDSA-AES256-SHA384:\
    @SECLEVEL=0";

/// A deliberately weak TLS server: `openssl s_server` with `cert`, TLS 1.0 and up at
/// `@SECLEVEL=0`, the policy's ECDHE AEAD suites plus CBC and static-RSA ones (few, so a scan
/// stays short), answering HTTP with a page and no HSTS. It listens on a port it picked itself
/// (`-accept 0`) and is killed when dropped.
struct WeakServer {
    _child: tokio::process::Child,
    address: SocketAddr,
}

async fn weak_server(cert: &Path, key: &Path) -> WeakServer {
    let mut child = tokio::process::Command::new("openssl")
        .args(["s_server", "-accept", "0", "-cert"])
        .arg(cert)
        .arg("-key")
        .arg(key)
        .args(["-min_protocol", "TLSv1", "-cipher", WEAK_SUITES, "-www"])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .expect("openssl s_server");
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let port = tokio::time::timeout(Duration::from_secs(10), async {
        while let Ok(Some(line)) = lines.next_line().await {
            if let Some(rest) = line.strip_prefix("ACCEPT ") {
                return rest.rsplit(':').next().and_then(|p| p.parse::<u16>().ok());
            }
        }
        None
    })
    .await
    .ok()
    .flatten()
    .expect("s_server reported its port");
    // Keep draining what it prints so it never blocks on a full pipe.
    tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
    WeakServer {
        _child: child,
        address: SocketAddr::from(([127, 0, 0, 1], port)),
    }
}

/// `openssl s_client` against `target` (verifying its certificate, presenting its identity
/// unless `without_identity`): (handshake completed, what it printed).
async fn s_client(target: &Target, args: &[&str], without_identity: bool) -> (bool, String) {
    let mut command = tokio::process::Command::new("openssl");
    command
        .args(["s_client", "-connect", &target.address.to_string()])
        .args(["-brief", "-servername", "localhost", "-CAfile"])
        .arg(&target.ca)
        .arg("-verify_return_error");
    if let (Some((cert, key)), false) = (&target.identity, without_identity) {
        command.arg("-cert").arg(cert).arg("-key").arg(key);
    }
    let output = command
        .args(args)
        .stdin(Stdio::null())
        .kill_on_drop(true)
        .output();
    let output = tokio::time::timeout(Duration::from_secs(30), output)
        .await
        .expect("s_client finished within 30 s")
        .expect("openssl is installed (scripts/test installs it)");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    (output.status.success(), text)
}

/// Handshakes benteng's policy refuses, for a certificate of `key`'s kind. Each is lowered to
/// `@SECLEVEL=0` so that OpenSSL really offers it; the negative control shows a weak server with
/// the same certificate accepting every one. (A static-RSA suite needs an RSA certificate: it is
/// probed against the RSA listener; against P-384 it could not succeed anywhere.)
fn refused_probes(key: KeyKind) -> Vec<(&'static str, Vec<&'static str>)> {
    let mut probes = vec![
        ("TLS 1.0", vec!["-tls1", "-cipher", "ALL:@SECLEVEL=0"]),
        ("TLS 1.1", vec!["-tls1_1", "-cipher", "ALL:@SECLEVEL=0"]),
    ];
    let tls12 = |name, suite| (name, vec!["-tls1_2", "-cipher", suite]);
    match key {
        KeyKind::Rsa => probes.extend([
            tls12("TLS 1.2 static RSA CBC", "AES128-SHA:@SECLEVEL=0"),
            tls12("TLS 1.2 static RSA GCM", "AES256-GCM-SHA384:@SECLEVEL=0"),
            tls12("TLS 1.2 ECDHE-RSA CBC", "ECDHE-RSA-AES128-SHA:@SECLEVEL=0"),
            tls12(
                "TLS 1.2 ECDHE-RSA CBC-SHA384",
                "ECDHE-RSA-AES256-SHA384:@SECLEVEL=0",
            ),
        ]),
        KeyKind::P384 => probes.extend([
            tls12(
                "TLS 1.2 ECDHE-ECDSA CBC",
                "ECDHE-ECDSA-AES128-SHA:@SECLEVEL=0",
            ),
            tls12(
                "TLS 1.2 ECDHE-ECDSA CBC-SHA384",
                "ECDHE-ECDSA-AES256-SHA384:@SECLEVEL=0",
            ),
        ]),
    }
    probes
}

/// Handshakes benteng must complete, with what `s_client -brief` must report.
fn accepted_probes(key: KeyKind) -> Vec<(Vec<&'static str>, &'static str)> {
    let mut probes = vec![(vec![], "Protocol version: TLSv1.3")];
    let suites: &[&'static str] = match key {
        KeyKind::Rsa => &[
            "ECDHE-RSA-AES256-GCM-SHA384",
            "ECDHE-RSA-CHACHA20-POLY1305",
            "ECDHE-RSA-AES128-GCM-SHA256",
        ],
        KeyKind::P384 => &[
            "ECDHE-ECDSA-AES256-GCM-SHA384",
            "ECDHE-ECDSA-CHACHA20-POLY1305",
            "ECDHE-ECDSA-AES128-GCM-SHA256",
        ],
    };
    for suite in suites {
        probes.push((vec!["-tls1_2", "-cipher", suite], suite));
    }
    probes
}

/// Every way `target` departs from benteng's TLS policy as `s_client` sees it: a refused probe
/// that connected (or failed without an alert from the server, i.e. on the client's side), an
/// accepted probe that did not connect as expected.
async fn s_client_departures(target: &Target) -> Vec<String> {
    let mut departures = Vec::new();
    for (name, args) in refused_probes(target.key) {
        let (connected, text) = s_client(target, &args, false).await;
        if connected || !text.contains("SSL alert number") {
            departures.push(format!("{name} was not refused by the server: {text}"));
        }
    }
    if target.requires_client_cert {
        let (connected, text) = s_client(target, &["-tls1_2"], true).await;
        if connected || !text.contains("SSL alert number") {
            departures.push(format!(
                "no client certificate was not refused by the server: {text}"
            ));
        }
    }
    for (args, expected) in accepted_probes(target.key) {
        let (connected, text) = s_client(target, &args, false).await;
        if !connected || !text.contains(expected) || !text.contains("Verification: OK") {
            departures.push(format!("{args:?} did not connect with {expected}: {text}"));
        }
    }
    departures
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn s_client_sees_benteng_refuse_what_its_policy_refuses() {
    let benteng = start_benteng().await;
    for target in [&benteng.default, &benteng.mtls] {
        let departures = s_client_departures(target).await;
        assert!(departures.is_empty(), "{departures:#?}");
    }
    // benteng's own HSTS header, on both listeners.
    let dev = benteng.env.dev_certs();
    let client = benteng
        .env
        .client_with_identity(&dev.client_cert, &dev.client_key);
    for target in [&benteng.default, &benteng.mtls] {
        let response = client
            .get(format!("https://{}/healthz", target.address))
            .send()
            .await
            .unwrap();
        assert_eq!(
            response.headers()["strict-transport-security"],
            "max-age=31536000; includeSubDomains"
        );
    }
}

/// Negative control: the same probes against a weak server with each of the same certificates
/// find every refusal missing.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn s_client_probes_catch_a_weak_server() {
    let dir = tempfile::tempdir().unwrap();
    let dev = benteng_transport::generate_dev_certs(&dir.path().join("tls")).unwrap();
    let (rsa_cert, rsa_key) = rsa_certificate(dir.path(), &dev);
    let targets = [
        (
            Target {
                address: SocketAddr::from(([127, 0, 0, 1], 0)),
                ca: dev.ca_cert.clone(),
                key: KeyKind::P384,
                identity: None,
                requires_client_cert: false,
            },
            (dev.server_cert.clone(), dev.server_key.clone()),
        ),
        (
            Target {
                address: SocketAddr::from(([127, 0, 0, 1], 0)),
                ca: dev.ca_cert.clone(),
                key: KeyKind::Rsa,
                identity: Some((dev.client_cert.clone(), dev.client_key.clone())),
                requires_client_cert: true,
            },
            (rsa_cert, rsa_key),
        ),
    ];
    for (expectations, (cert, key)) in &targets {
        let weak = weak_server(cert, key).await;
        let target = expectations.at(weak.address);
        let departures = s_client_departures(&target).await;
        let mut missing: Vec<&str> = refused_probes(target.key)
            .into_iter()
            .map(|(name, _)| name)
            .collect();
        if target.requires_client_cert {
            missing.push("no client certificate");
        }
        assert_eq!(
            departures.len(),
            missing.len(),
            "only the refusals depart: {departures:#?}"
        );
        for name in missing {
            assert!(
                departures
                    .iter()
                    .any(|d| d.starts_with(&format!("{name} was not refused"))),
                "{name} was not caught: {departures:#?}"
            );
        }
    }
}

/// testssl.sh's findings on `address` (`-h`: the HTTP headers too), bounded in time.
async fn testssl(address: SocketAddr, ca: &Path, dir: &Path, headers: bool) -> Vec<Value> {
    let json = dir.join(format!("testssl-{}.json", address.port()));
    let mut command = tokio::process::Command::new("testssl");
    command
        .args(["--quiet", "--color", "0", "--warnings", "off"])
        .args(["--connect-timeout", "10", "--openssl-timeout", "10"])
        .arg("--add-ca")
        .arg(ca)
        .args(["-p", "-P", "-S", "-E"]);
    if headers {
        command.arg("-h");
    }
    let output = command
        .arg("--jsonfile")
        .arg(&json)
        .arg(address.to_string())
        .stdin(Stdio::null())
        .kill_on_drop(true)
        .output();
    let output = tokio::time::timeout(Duration::from_secs(300), output)
        .await
        .expect("testssl finished within 300 s")
        .expect("testssl is installed (scripts/test installs testssl.sh)");
    let text = std::fs::read_to_string(&json).unwrap_or_else(|e| {
        panic!(
            "no testssl JSON ({e}); stdout:\n{}\nstderr:\n{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        )
    });
    serde_json::from_str(&text).expect("testssl JSON")
}

/// Every way testssl.sh's findings depart from what the docs claim of a benteng listener with a
/// certificate of `key`'s kind that requires client certificates or (its HTTP headers scanned
/// too) does not.
fn testssl_departures(findings: &[Value], key: KeyKind, requires_client_cert: bool) -> Vec<String> {
    let mut by_id: BTreeMap<&str, &str> = BTreeMap::new();
    for finding in findings {
        if let (Some(id), Some(text)) = (finding["id"].as_str(), finding["finding"].as_str()) {
            by_id.entry(id).or_insert(text);
        }
    }
    let mut departures = Vec::new();
    let mut expect = |id: &str, holds: &dyn Fn(&str) -> bool, what: &str| match by_id.get(id) {
        Some(text) if holds(text) => {}
        Some(text) => departures.push(format!("{id}: {text:?} (expected {what})")),
        None => departures.push(format!("{id}: missing (expected {what})")),
    };
    for id in ["SSLv2", "SSLv3", "TLS1", "TLS1_1"] {
        expect(id, &|t| t.starts_with("not offered"), "not offered");
    }
    for id in ["TLS1_2", "TLS1_3"] {
        expect(id, &|t| t.starts_with("offered"), "offered");
    }
    let key_size = by_id
        .keys()
        .find(|id| id.starts_with("cert_keySize"))
        .copied()
        .unwrap_or("cert_keySize");
    match key {
        KeyKind::P384 => expect(
            key_size,
            &|t| t.starts_with("EC 384 bits"),
            "an EC 384-bit key",
        ),
        KeyKind::Rsa => expect(
            key_size,
            &|t| t.starts_with("RSA 4096 bits"),
            "an RSA 4096-bit key",
        ),
    }
    if requires_client_cert {
        // testssl.sh 3.0 spots the certificate request from `s_client` output whose shape, over
        // TLS 1.3, depends on whether the server's alert beats the client's exit; on a loaded
        // machine it then reports the service undetermined. Either way it must not get an HTTP
        // answer without a certificate (a weak server gives one); the refusal itself is
        // asserted by `s_client_sees_benteng_refuse_what_its_policy_refuses`.
        expect(
            "service",
            &|t| {
                t.starts_with("certificate-based authentication")
                    || t.starts_with("Couldn't determine service")
            },
            "no HTTP answer without a client certificate",
        );
    } else {
        expect("service", &|t| t == "HTTP", "HTTP");
        expect(
            "HSTS_time",
            &|t| t.contains("=31536000 seconds"),
            "benteng's max-age of 31536000 seconds",
        );
        expect(
            "HSTS_subdomains",
            &|t| t == "includes subdomains",
            "includeSubDomains",
        );
        expect("X-Frame-Options", &|t| t == "DENY", "DENY");
        expect("X-Content-Type-Options", &|t| t == "nosniff", "nosniff");
    }
    // Suites: only the policy's, and all of them.
    let mut allowed = vec![
        "TLS_AES_256_GCM_SHA384",
        "TLS_CHACHA20_POLY1305_SHA256",
        "TLS_AES_128_GCM_SHA256",
    ];
    allowed.extend(match key {
        KeyKind::P384 => [
            "ECDHE-ECDSA-AES256-GCM-SHA384",
            "ECDHE-ECDSA-CHACHA20-POLY1305",
            "ECDHE-ECDSA-AES128-GCM-SHA256",
        ],
        KeyKind::Rsa => [
            "ECDHE-RSA-AES256-GCM-SHA384",
            "ECDHE-RSA-CHACHA20-POLY1305",
            "ECDHE-RSA-AES128-GCM-SHA256",
        ],
    });
    // A suite's finding reads "TLS 1.2   xc030   ECDHE-RSA-AES256-GCM-SHA384   ECDH 253 …".
    let offered: Vec<(&str, &str)> = by_id
        .iter()
        .filter(|(id, _)| id.starts_with("cipher-tls") || id.starts_with("cipher-ssl"))
        .map(|(id, text)| (*id, text.split_whitespace().nth(3).unwrap_or(text)))
        .collect();
    for (id, suite) in &offered {
        let modern = id.starts_with("cipher-tls1_2") || id.starts_with("cipher-tls1_3");
        if !modern || !allowed.contains(suite) {
            departures.push(format!("{id}: {suite} offered (not in the policy)"));
        }
    }
    for suite in &allowed {
        if !offered.iter().any(|(_, offered)| offered == suite) {
            departures.push(format!("{suite}: not offered (the policy offers it)"));
        }
    }
    // Nothing testssl.sh rates medium or worse, but for one property of how the test
    // certificates were issued, not of the server: they name no CRL or OCSP responder (stapling
    // a response is the transport crate's tests').
    for finding in findings {
        let severity = finding["severity"].as_str().unwrap_or_default();
        if ["MEDIUM", "HIGH", "CRITICAL"].contains(&severity) && finding["id"] != "cert_revocation"
        {
            departures.push(format!("rated {severity}: {finding}"));
        }
    }
    departures
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn testssl_finds_benteng_as_the_docs_describe_it() {
    let benteng = start_benteng().await;
    let dir = benteng.env.data_dir.path();
    // The default listener, headers included; the mTLS listener's handshakes (testssl.sh 3.0
    // cannot present a client certificate, so its HTTP answer is checked by s_client's test).
    let (default, mtls) = tokio::join!(
        testssl(benteng.default.address, &benteng.default.ca, dir, true),
        testssl(benteng.mtls.address, &benteng.mtls.ca, dir, false),
    );
    let departures = testssl_departures(&default, KeyKind::P384, false);
    assert!(departures.is_empty(), "default listener: {departures:#?}");
    let departures = testssl_departures(&mtls, KeyKind::Rsa, true);
    assert!(departures.is_empty(), "mTLS listener: {departures:#?}");
}

/// Negative control: testssl.sh's assertions fail on a weak server with benteng's RSA
/// certificate, naming TLS 1.0, a CBC suite and the missing HSTS header.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn testssl_assertions_catch_a_weak_server() {
    let dir = tempfile::tempdir().unwrap();
    let dev = benteng_transport::generate_dev_certs(&dir.path().join("tls")).unwrap();
    let (cert, key) = rsa_certificate(dir.path(), &dev);
    let weak = weak_server(&cert, &key).await;
    let findings = testssl(weak.address, &dev.ca_cert, dir.path(), true).await;
    let departures = testssl_departures(&findings, KeyKind::Rsa, false);
    for caught in ["TLS1:", "TLS1_1:", "HSTS_time:"] {
        assert!(
            departures.iter().any(|d| d.starts_with(caught)),
            "{caught} not caught: {departures:#?}"
        );
    }
    assert!(
        departures
            .iter()
            .any(|d| d.contains(": AES128-SHA offered (not in the policy)")),
        "a CBC suite not caught: {departures:#?}"
    );
    // Held to the mTLS listener's expectations, it is caught answering without a certificate.
    let departures = testssl_departures(&findings, KeyKind::Rsa, true);
    assert!(
        departures.iter().any(|d| d.starts_with("service:")),
        "no client certificate required, not caught: {departures:#?}"
    );
}
