#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, dead_code)]

use std::convert::Infallible;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use benteng_transport::{ConnectionLimits, DevCertPaths, PeerInfo, TlsHandle, TransportError};
use http::{Request, Response};
use hyper::body::Incoming;
use rcgen::{
    CertificateParams, CertificateRevocationListParams, DistinguishedName, DnType,
    ExtendedKeyUsagePurpose, Issuer, KeyIdMethod, KeyPair, KeyUsagePurpose, PKCS_ECDSA_P384_SHA384,
    RevokedCertParams, SerialNumber,
};
use time::OffsetDateTime;
use tokio::sync::oneshot;

pub fn init_tracing() {
    let _ = tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn")),
        )
        .with_test_writer()
        .try_init();
}

/// Test service: echoes the PeerInfo facts and sets HSTS.
pub async fn echo(req: Request<Incoming>) -> Result<Response<String>, Infallible> {
    let p = req.extensions().get::<PeerInfo>().cloned();
    let body = match p {
        None => "peer=missing\n".to_owned(),
        Some(p) => {
            let (proto, suite, fp, alpn) = match &p.tls {
                None => ("none".into(), "none".into(), "none".into(), "none".into()),
                Some(t) => (
                    t.protocol.clone(),
                    t.cipher_suite.clone(),
                    t.client_cert
                        .as_ref()
                        .map(|c| c.sha256_fingerprint.clone())
                        .unwrap_or_else(|| "none".into()),
                    t.alpn.clone().unwrap_or_else(|| "none".into()),
                ),
            };
            format!(
                "remote={} tls={proto} suite={suite} alpn={alpn} client_fp={fp}\n",
                p.remote_addr
            )
        }
    };
    Ok(Response::builder()
        .header(
            "strict-transport-security",
            "max-age=63072000; includeSubDomains",
        )
        .header("content-type", "text/plain")
        .body(body)
        .unwrap())
}

pub struct Server {
    pub addr: SocketAddr,
    stop: Option<oneshot::Sender<()>>,
    task: tokio::task::JoinHandle<Result<(), TransportError>>,
}

impl Server {
    pub async fn stop(mut self) {
        if let Some(s) = self.stop.take() {
            let _ = s.send(());
        }
        let _ = tokio::time::timeout(Duration::from_secs(10), &mut self.task).await;
    }
}

pub async fn start(tls: Option<TlsHandle>, limits: ConnectionLimits) -> Server {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (tx, rx) = oneshot::channel::<()>();
    let svc = tower::service_fn(echo);
    let task = tokio::spawn(benteng_transport::serve(
        listener,
        tls,
        svc,
        limits,
        async move {
            let _ = rx.await;
        },
    ));
    Server {
        addr,
        stop: Some(tx),
        task,
    }
}

pub fn limits() -> ConnectionLimits {
    ConnectionLimits {
        handshake_timeout: Duration::from_secs(5),
        max_connections: 64,
        max_connections_per_address: 64,
        header_read_timeout: Duration::from_secs(5),
        idle_timeout: Duration::from_secs(60),
        shutdown_grace: Duration::from_secs(2),
    }
}

pub fn require_tool(name: &str) -> PathBuf {
    for dir in std::env::var("PATH").unwrap_or_default().split(':') {
        let p = Path::new(dir).join(name);
        if p.is_file() {
            return p;
        }
    }
    panic!(
        "required external tool `{name}` not found on PATH (CI={}); install it (see crates/transport/TESTING.md)",
        std::env::var("CI").unwrap_or_default()
    );
}

pub struct SClient {
    pub ok: bool,
    pub out: String,
}

/// Runs `openssl s_client` against `addr`, sends one HTTP/1.1 request with `Connection: close`
/// and returns whether an HTTP 200 came back, plus all output.
pub async fn s_client(addr: SocketAddr, args: &[&str]) -> SClient {
    require_tool("openssl");
    let mut cmd = tokio::process::Command::new("openssl");
    cmd.arg("s_client")
        .arg("-connect")
        .arg(addr.to_string())
        .arg("-servername")
        .arg("localhost")
        .arg("-ign_eof")
        .args(args)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .kill_on_drop(true);
    let mut child = cmd.spawn().expect("spawn openssl");
    {
        use tokio::io::AsyncWriteExt;
        let mut stdin = child.stdin.take().unwrap();
        let _ = stdin
            .write_all(b"GET / HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
            .await;
        drop(stdin);
    }
    let out = tokio::time::timeout(Duration::from_secs(20), child.wait_with_output())
        .await
        .expect("openssl s_client timed out")
        .expect("openssl s_client output");
    let text = format!(
        "{}\n--stderr--\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    SClient {
        ok: text.contains("HTTP/1.1 200"),
        out: text,
    }
}

pub fn run(cmd: &str, args: &[&str], cwd: &Path) -> String {
    let out = std::process::Command::new(cmd)
        .args(args)
        .current_dir(cwd)
        .output()
        .unwrap_or_else(|e| panic!("{cmd}: {e}"));
    assert!(
        out.status.success(),
        "{cmd} {args:?} failed: {}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn dn(cn: &str) -> DistinguishedName {
    let mut d = DistinguishedName::new();
    d.push(DnType::CommonName, cn);
    d
}

fn serial(n: u64) -> SerialNumber {
    let mut b = vec![0x01];
    b.extend_from_slice(&n.to_be_bytes());
    SerialNumber::from_slice(&b)
}

pub struct Issued {
    pub cert: PathBuf,
    pub key: PathBuf,
    pub der: Vec<u8>,
    pub serial: SerialNumber,
}

fn write(
    dir: &Path,
    name: &str,
    cert_pem: &str,
    key_pem: &str,
    der: &[u8],
    serial: SerialNumber,
) -> Issued {
    let cert = dir.join(format!("{name}.pem"));
    let key = dir.join(format!("{name}.key"));
    std::fs::write(&cert, cert_pem).unwrap();
    std::fs::write(&key, key_pem).unwrap();
    Issued {
        cert,
        key,
        der: der.to_vec(),
        serial,
    }
}

/// A CA made with rcgen (separate from the dev CA).
pub struct TestCa {
    pub cert_pem: String,
    pub key_pem: String,
    pub cert_path: PathBuf,
    pub key_path: PathBuf,
}

pub fn new_ca(dir: &Path, name: &str) -> TestCa {
    let key = KeyPair::generate_for(&PKCS_ECDSA_P384_SHA384).unwrap();
    let mut p = CertificateParams::default();
    p.distinguished_name = dn(name);
    p.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
    p.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
    let c = p.self_signed(&key).unwrap();
    let cert_path = dir.join(format!("{name}.pem"));
    let key_path = dir.join(format!("{name}.key"));
    std::fs::write(&cert_path, c.pem()).unwrap();
    std::fs::write(&key_path, key.serialize_pem()).unwrap();
    TestCa {
        cert_pem: c.pem(),
        key_pem: key.serialize_pem(),
        cert_path,
        key_path,
    }
}

pub fn dev_ca(dev: &DevCertPaths) -> TestCa {
    TestCa {
        cert_pem: std::fs::read_to_string(&dev.ca_cert).unwrap(),
        key_pem: std::fs::read_to_string(&dev.ca_key).unwrap(),
        cert_path: dev.ca_cert.clone(),
        key_path: dev.ca_key.clone(),
    }
}

pub enum Kind {
    Client,
    Server,
    OcspSigner,
    OcspSignerNoEku,
}

/// Issue a P-384 certificate from `ca`.
pub fn issue(
    dir: &Path,
    ca: &TestCa,
    name: &str,
    kind: Kind,
    not_before: OffsetDateTime,
    not_after: OffsetDateTime,
    n: u64,
) -> Issued {
    let ca_key = KeyPair::from_pem(&ca.key_pem).unwrap();
    let issuer = Issuer::from_ca_cert_pem(&ca.cert_pem, &ca_key).unwrap();
    let key = KeyPair::generate_for(&PKCS_ECDSA_P384_SHA384).unwrap();
    let mut p = match kind {
        Kind::Server => CertificateParams::new(vec!["localhost".to_owned()]).unwrap(),
        _ => CertificateParams::default(),
    };
    p.distinguished_name = dn(name);
    p.not_before = not_before;
    p.not_after = not_after;
    p.serial_number = Some(serial(n));
    p.use_authority_key_identifier_extension = true;
    p.key_identifier_method = KeyIdMethod::Sha256;
    p.key_usages = vec![KeyUsagePurpose::DigitalSignature];
    p.extended_key_usages = match kind {
        Kind::Client => vec![ExtendedKeyUsagePurpose::ClientAuth],
        Kind::Server => vec![ExtendedKeyUsagePurpose::ServerAuth],
        Kind::OcspSigner => vec![ExtendedKeyUsagePurpose::OcspSigning],
        Kind::OcspSignerNoEku => vec![],
    };
    let c = p.signed_by(&key, &issuer).unwrap();
    write(
        dir,
        name,
        &c.pem(),
        &key.serialize_pem(),
        c.der(),
        serial(n),
    )
}

pub fn self_signed_client(dir: &Path, name: &str) -> Issued {
    let key = KeyPair::generate_for(&PKCS_ECDSA_P384_SHA384).unwrap();
    let mut p = CertificateParams::default();
    p.distinguished_name = dn(name);
    p.extended_key_usages = vec![ExtendedKeyUsagePurpose::ClientAuth];
    let c = p.self_signed(&key).unwrap();
    write(
        dir,
        name,
        &c.pem(),
        &key.serialize_pem(),
        c.der(),
        serial(0),
    )
}

/// A v2 CRL (with CRL number and AKI) revoking `serials`.
pub fn crl(dir: &Path, ca: &TestCa, serials: &[SerialNumber]) -> PathBuf {
    let ca_key = KeyPair::from_pem(&ca.key_pem).unwrap();
    let issuer = Issuer::from_ca_cert_pem(&ca.cert_pem, &ca_key).unwrap();
    let now = OffsetDateTime::now_utc();
    let params = CertificateRevocationListParams {
        this_update: now - time::Duration::minutes(5),
        next_update: now + time::Duration::days(7),
        crl_number: SerialNumber::from(1u64),
        issuing_distribution_point: None,
        revoked_certs: serials
            .iter()
            .map(|s| RevokedCertParams {
                serial_number: s.clone(),
                revocation_time: now - time::Duration::minutes(1),
                reason_code: Some(rcgen::RevocationReason::KeyCompromise),
                invalidity_date: None,
            })
            .collect(),
        key_identifier_method: KeyIdMethod::Sha256,
    };
    let c = params.signed_by(&issuer).unwrap();
    let p = dir.join("ca.crl.pem");
    std::fs::write(&p, c.pem().unwrap()).unwrap();
    p
}

/// First certificate of a PEM chain file, written to `out`.
pub fn leaf_only(chain: &Path, out: &Path) {
    let text = std::fs::read_to_string(chain).unwrap();
    let end = "-----END CERTIFICATE-----";
    let i = text.find(end).unwrap() + end.len();
    std::fs::write(out, format!("{}\n", &text[..i])).unwrap();
}

/// Makes an OCSP response with `openssl ocsp` (offline responder over an index.txt).
/// `status`: 'V' good, 'R' revoked.
pub fn openssl_ocsp_response(
    dir: &Path,
    ca: &Path,
    rsigner: &Path,
    rkey: &Path,
    cert: &Path,
    status: char,
    out: &Path,
) {
    require_tool("openssl");
    let serial = run(
        "openssl",
        &["x509", "-in", cert.to_str().unwrap(), "-noout", "-serial"],
        dir,
    );
    let serial = serial.trim().trim_start_matches("serial=").to_owned();
    let line = if status == 'R' {
        format!("R\t301231235959Z\t250101000000Z,keyCompromise\t{serial}\tunknown\t/CN=x\n")
    } else {
        format!("V\t301231235959Z\t\t{serial}\tunknown\t/CN=x\n")
    };
    let index = dir.join(format!(
        "index-{}.txt",
        out.file_name().unwrap().to_string_lossy()
    ));
    std::fs::write(&index, line).unwrap();
    std::fs::write(format!("{}.attr", index.display()), "unique_subject = no\n").unwrap();
    let req = dir.join(format!(
        "{}.req",
        out.file_name().unwrap().to_string_lossy()
    ));
    run(
        "openssl",
        &[
            "ocsp",
            "-issuer",
            ca.to_str().unwrap(),
            "-cert",
            cert.to_str().unwrap(),
            "-reqout",
            req.to_str().unwrap(),
            "-no_nonce",
        ],
        dir,
    );
    run(
        "openssl",
        &[
            "ocsp",
            "-index",
            index.to_str().unwrap(),
            "-rsigner",
            rsigner.to_str().unwrap(),
            "-rkey",
            rkey.to_str().unwrap(),
            "-CA",
            ca.to_str().unwrap(),
            "-reqin",
            req.to_str().unwrap(),
            "-respout",
            out.to_str().unwrap(),
            "-ndays",
            "7",
        ],
        dir,
    );
}
