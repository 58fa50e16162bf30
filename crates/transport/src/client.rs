//! Outbound HTTPS client with the same TLS policy and optional SPKI SHA-256 pins per host.

use std::collections::HashMap;
use std::fmt;
use std::path::PathBuf;
use std::sync::Arc;

use base64::Engine as _;
use rustls::client::WebPkiServerVerifier;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{CertificateError, DigitallySignedStruct, OtherError, RootCertStore, SignatureScheme};
use serde::{Deserialize, Serialize};

use crate::error::TransportError;
use crate::tls::{PROTOCOL_VERSIONS, crypto_provider, load_certs};

/// Outbound TLS configuration.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct OutboundTlsConfig {
    /// PEM CA bundles trusted for outbound connections. Default empty.
    #[serde(default)]
    pub ca_files: Vec<PathBuf>,
    /// Also trust the Mozilla root set (webpki-roots). Default false.
    #[serde(default)]
    pub webpki_roots: bool,
    /// Destination host (as in the URL) → accepted SPKI SHA-256 pins, base64 (optionally prefixed
    /// `sha256/`) or hex. Configure at least two for rotation. Hosts without an entry are not pinned.
    #[serde(default)]
    pub pins: HashMap<String, Vec<String>>,
    /// Request timeout in seconds. Default 30.
    #[serde(default)]
    pub timeout_secs: Option<u64>,
}

/// Raised (inside rustls) when no pin matches; recovered by [`OutboundError::from_reqwest`].
#[derive(Debug, Clone, thiserror::Error, PartialEq, Eq)]
#[error("SPKI pin mismatch for host {host}")]
pub struct PinMismatch {
    /// Destination host.
    pub host: String,
    /// SPKI SHA-256 (base64) of the certificates presented.
    pub presented: Vec<String>,
}

/// Outbound call failures.
#[derive(Debug, thiserror::Error)]
pub enum OutboundError {
    /// The server's certificate chain did not match a configured pin.
    #[error(transparent)]
    PinMismatch(PinMismatch),
    /// Any other failure (connection, TLS, HTTP).
    #[error("outbound request: {0}")]
    Request(reqwest::Error),
}

impl OutboundError {
    /// Classifies a reqwest error, recognising pin mismatches anywhere in its source chain.
    pub fn from_reqwest(e: reqwest::Error) -> Self {
        match find_pin_mismatch(&e) {
            Some(p) => Self::PinMismatch(p),
            None => Self::Request(e),
        }
    }
}

fn from_rustls(e: &rustls::Error) -> Option<PinMismatch> {
    if let rustls::Error::InvalidCertificate(CertificateError::Other(OtherError(inner))) = e {
        return inner.downcast_ref::<PinMismatch>().cloned();
    }
    None
}

fn find_pin_mismatch(e: &(dyn std::error::Error + 'static)) -> Option<PinMismatch> {
    let mut cur: Option<&(dyn std::error::Error + 'static)> = Some(e);
    while let Some(err) = cur {
        if let Some(p) = err.downcast_ref::<PinMismatch>() {
            return Some(p.clone());
        }
        if let Some(p) = err.downcast_ref::<rustls::Error>().and_then(from_rustls) {
            return Some(p);
        }
        // io::Error::source() skips the wrapped error itself, so look inside explicitly.
        if let Some(p) = err
            .downcast_ref::<std::io::Error>()
            .and_then(|io| io.get_ref())
            .and_then(|inner| find_pin_mismatch(inner))
        {
            return Some(p);
        }
        cur = err.source();
    }
    None
}

/// Parses a pin: 64 hex chars, or base64 (standard, 44 chars) optionally prefixed `sha256/`.
pub fn parse_pin(s: &str) -> Result<[u8; 32], TransportError> {
    let s = s.trim();
    let s = s.strip_prefix("sha256/").unwrap_or(s);
    let bytes = if s.len() == 64 && s.bytes().all(|b| b.is_ascii_hexdigit()) {
        hex::decode(s).map_err(|e| TransportError::Config(format!("pin {s}: {e}")))?
    } else {
        base64::engine::general_purpose::STANDARD
            .decode(s)
            .map_err(|e| TransportError::Config(format!("pin {s}: {e}")))?
    };
    <[u8; 32]>::try_from(bytes.as_slice())
        .map_err(|_| TransportError::Config(format!("pin {s}: not 32 bytes (SHA-256)")))
}

/// SHA-256 of the certificate's SubjectPublicKeyInfo DER.
pub fn spki_sha256(cert_der: &[u8]) -> Option<[u8; 32]> {
    let (_, c) = x509_parser::parse_x509_certificate(cert_der).ok()?;
    let d = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, c.public_key().raw);
    <[u8; 32]>::try_from(d.as_ref()).ok()
}

/// Base64 SPKI SHA-256 pin of a certificate (same as
/// `openssl x509 -pubkey -noout | openssl pkey -pubin -outform der | openssl dgst -sha256 -binary | base64`).
pub fn spki_pin_base64(cert_der: &[u8]) -> Option<String> {
    spki_sha256(cert_der).map(|h| base64::engine::general_purpose::STANDARD.encode(h))
}

struct PinningVerifier {
    inner: Arc<WebPkiServerVerifier>,
    pins: HashMap<String, Vec<[u8; 32]>>,
}

impl fmt::Debug for PinningVerifier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PinningVerifier")
            .field("pinned_hosts", &self.pins.keys().collect::<Vec<_>>())
            .finish_non_exhaustive()
    }
}

fn host_key(name: &ServerName<'_>) -> String {
    match name {
        ServerName::DnsName(d) => d.as_ref().to_ascii_lowercase(),
        ServerName::IpAddress(ip) => std::net::IpAddr::from(*ip).to_string(),
        _ => String::new(),
    }
}

impl ServerCertVerifier for PinningVerifier {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        let ok = self.inner.verify_server_cert(
            end_entity,
            intermediates,
            server_name,
            ocsp_response,
            now,
        )?;
        let host = host_key(server_name);
        let Some(pins) = self.pins.get(&host) else {
            return Ok(ok);
        };
        let presented: Vec<[u8; 32]> = std::iter::once(end_entity)
            .chain(intermediates.iter())
            .filter_map(|c| spki_sha256(c))
            .collect();
        if presented.iter().any(|p| pins.contains(p)) {
            return Ok(ok);
        }
        let presented_b64: Vec<String> = presented
            .iter()
            .map(|p| base64::engine::general_purpose::STANDARD.encode(p))
            .collect();
        tracing::warn!(
            target: "security",
            event = "spki_pin_mismatch",
            host = %host,
            presented = ?presented_b64,
            "outbound TLS: server certificate does not match any configured SPKI pin"
        );
        Err(rustls::Error::InvalidCertificate(CertificateError::Other(
            OtherError(Arc::new(PinMismatch {
                host,
                presented: presented_b64,
            })),
        )))
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.inner.verify_tls12_signature(message, cert, dss)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.inner.verify_tls13_signature(message, cert, dss)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.inner.supported_verify_schemes()
    }
}

/// Builds the rustls client configuration (policy suites/versions, configured roots, pins).
/// ALPN offers only `http/1.1` (the workspace reqwest is built without HTTP/2).
pub fn client_tls_config(cfg: &OutboundTlsConfig) -> Result<rustls::ClientConfig, TransportError> {
    let mut roots = RootCertStore::empty();
    for p in &cfg.ca_files {
        for c in load_certs(p)? {
            roots
                .add(c)
                .map_err(|e| TransportError::pem(p, format!("unusable CA certificate: {e}")))?;
        }
    }
    if cfg.webpki_roots {
        roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
    }
    if roots.is_empty() {
        return Err(TransportError::Config(
            "outbound TLS: no trust roots (set ca_files and/or webpki_roots)".into(),
        ));
    }
    let mut pins = HashMap::new();
    for (host, list) in &cfg.pins {
        let parsed = list
            .iter()
            .map(|p| parse_pin(p))
            .collect::<Result<Vec<_>, _>>()?;
        if parsed.is_empty() {
            return Err(TransportError::Config(format!(
                "outbound TLS: empty pin list for {host}"
            )));
        }
        pins.insert(host.to_ascii_lowercase(), parsed);
    }
    let provider = Arc::new(crypto_provider());
    let inner = WebPkiServerVerifier::builder_with_provider(Arc::new(roots), provider.clone())
        .build()
        .map_err(|e| TransportError::Config(format!("outbound verifier: {e}")))?;
    let verifier = Arc::new(PinningVerifier { inner, pins });
    let mut c = rustls::ClientConfig::builder_with_provider(provider)
        .with_protocol_versions(PROTOCOL_VERSIONS)?
        .dangerous()
        .with_custom_certificate_verifier(verifier)
        .with_no_client_auth();
    c.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(c)
}

/// reqwest client using [`client_tls_config`]; pin failures become [`OutboundError::PinMismatch`].
#[derive(Debug, Clone)]
pub struct OutboundClient {
    client: reqwest::Client,
}

impl OutboundClient {
    /// Builds the client.
    pub fn new(cfg: &OutboundTlsConfig) -> Result<Self, TransportError> {
        let tls = client_tls_config(cfg)?;
        let client = reqwest::Client::builder()
            .tls_backend_preconfigured(tls)
            .https_only(true)
            .timeout(std::time::Duration::from_secs(
                cfg.timeout_secs.unwrap_or(30),
            ))
            .build()
            .map_err(|e| TransportError::Config(format!("outbound client: {e}")))?;
        Ok(Self { client })
    }

    /// The underlying reqwest client (use [`OutboundError::from_reqwest`] on its errors).
    pub fn inner(&self) -> &reqwest::Client {
        &self.client
    }

    /// Executes a request.
    pub async fn execute(&self, req: reqwest::Request) -> Result<reqwest::Response, OutboundError> {
        self.client
            .execute(req)
            .await
            .map_err(OutboundError::from_reqwest)
    }

    /// GET `url`.
    pub async fn get(&self, url: &str) -> Result<reqwest::Response, OutboundError> {
        self.client
            .get(url)
            .send()
            .await
            .map_err(OutboundError::from_reqwest)
    }

    /// POST `body` to `url` with `content_type`.
    pub async fn post(
        &self,
        url: &str,
        content_type: &'static str,
        body: Vec<u8>,
    ) -> Result<reqwest::Response, OutboundError> {
        self.client
            .post(url)
            .header(reqwest::header::CONTENT_TYPE, content_type)
            .body(body)
            .send()
            .await
            .map_err(OutboundError::from_reqwest)
    }
}
