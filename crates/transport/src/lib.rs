//! benteng transport security layer.
//!
//! - [`serve`]: TLS (rustls 0.23 / aws-lc-rs) or loopback-only plain HTTP, HTTP/1.1 + h2 via ALPN,
//!   handshake deadline, connection caps (in all and per client address), idle timeout, graceful
//!   shutdown, [`PeerInfo`] request extension.
//! - [`TlsHandle`]: reloadable server configuration (certificate, key, client CAs, CRLs, OCSP staple).
//! - [`policy`]: server-certificate policy (RSA >= 4096 / P-384, <= 366 days, chain, key match).
//! - [`ocsp`]: OCSP request/validation/fetch for stapling.
//! - [`generate_dev_certs`]: development PKI.
//! - [`OutboundClient`]: outbound HTTPS with the same policy and SPKI pins.

pub mod client;
pub mod config;
pub mod devcerts;
pub mod error;
pub mod ocsp;
pub mod peer;
pub mod policy;
mod serve;
pub mod tls;

pub use client::{OutboundClient, OutboundError, OutboundTlsConfig, PinMismatch};
pub use config::{
    ClientAuthMode, ConnectionLimits, ListenerConfig, OcspConfig, PolicyMode, TlsConfig,
    check_plaintext_allowed,
};
pub use devcerts::{DevCertPaths, generate_dev_certs, generate_dev_certs_with};
pub use error::TransportError;
pub use peer::{AddressBlock, ClientCertInfo, PeerInfo, TlsInfo};
pub use serve::serve;
pub use tls::{TlsHandle, TlsSettings, crypto_provider};
