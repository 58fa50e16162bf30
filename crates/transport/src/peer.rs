//! Connection facts handed to the HTTP layer as a request extension.

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};

use time::OffsetDateTime;

/// Inserted into every request's extensions by [`crate::serve`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PeerInfo {
    /// Remote socket address of the TCP connection.
    pub remote_addr: SocketAddr,
    /// TLS facts; `None` on a plaintext (loopback-only) listener.
    pub tls: Option<TlsInfo>,
}

impl PeerInfo {
    /// True when the request arrived over TLS.
    pub fn is_tls(&self) -> bool {
        self.tls.is_some()
    }

    /// The verified client certificate, if any.
    pub fn client_cert(&self) -> Option<&ClientCertInfo> {
        self.tls.as_ref().and_then(|t| t.client_cert.as_ref())
    }
}

/// A client's address as per-address limits count it (open connections here, request and
/// refusal counters in the HTTP layer). An IPv6 client usually holds a whole /64 (one
/// subscriber's prefix, with privacy addresses rotating inside it), so IPv6 addresses count by
/// their /64: keyed on the full address, one client could take 2^64 fresh counters. An
/// IPv4-mapped IPv6 address counts as its IPv4 address.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AddressBlock {
    V4(Ipv4Addr),
    /// The first four segments of an IPv6 address.
    V6Slash64([u16; 4]),
}

impl From<IpAddr> for AddressBlock {
    fn from(ip: IpAddr) -> Self {
        match ip {
            IpAddr::V4(v4) => Self::V4(v4),
            IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
                Some(v4) => Self::V4(v4),
                None => {
                    let s = v6.segments();
                    Self::V6Slash64([s[0], s[1], s[2], s[3]])
                }
            },
        }
    }
}

impl fmt::Display for AddressBlock {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::V4(v4) => write!(f, "{v4}"),
            Self::V6Slash64([a, b, c, d]) => write!(f, "{a:x}:{b:x}:{c:x}:{d:x}::/64"),
        }
    }
}

/// Negotiated TLS parameters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TlsInfo {
    /// e.g. `TLSv1_3`.
    pub protocol: String,
    /// e.g. `TLS13_AES_256_GCM_SHA384`.
    pub cipher_suite: String,
    /// Negotiated ALPN protocol, e.g. `h2`.
    pub alpn: Option<String>,
    /// SNI host name sent by the client.
    pub sni: Option<String>,
    /// The client certificate, present only when one was sent and verified.
    pub client_cert: Option<ClientCertInfo>,
}

/// A verified client certificate (leaf).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientCertInfo {
    /// Lowercase hex SHA-256 of the certificate DER. This is what tenants register.
    pub sha256_fingerprint: String,
    /// Subject DN (RFC 4514 style).
    pub subject: String,
    /// Issuer DN.
    pub issuer: String,
    /// Serial number, lowercase hex.
    pub serial: String,
    /// Start of validity.
    pub not_before: Option<OffsetDateTime>,
    /// End of validity.
    pub not_after: Option<OffsetDateTime>,
}

/// Lowercase hex SHA-256 of a DER certificate.
pub fn sha256_fingerprint(der: &[u8]) -> String {
    hex::encode(aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, der).as_ref())
}

impl ClientCertInfo {
    /// Extract the facts from a DER certificate. Never fails: unparsable fields are left empty.
    pub fn from_der(der: &[u8]) -> Self {
        let fingerprint = sha256_fingerprint(der);
        match x509_parser::parse_x509_certificate(der) {
            Ok((_, cert)) => Self {
                sha256_fingerprint: fingerprint,
                subject: cert.subject().to_string(),
                issuer: cert.issuer().to_string(),
                serial: hex::encode(cert.raw_serial()),
                not_before: Some(cert.validity().not_before.to_datetime()),
                not_after: Some(cert.validity().not_after.to_datetime()),
            },
            Err(_) => Self {
                sha256_fingerprint: fingerprint,
                subject: String::new(),
                issuer: String::new(),
                serial: String::new(),
                not_before: None,
                not_after: None,
            },
        }
    }
}
