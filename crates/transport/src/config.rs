//! Listener configuration (serde). Embedded by the server's configuration.
//!
//! Defaults (documented here and on each field):
//! - `tls.client_auth = "none"`, `tls.client_ca = []`, `tls.crl = []`
//! - `ocsp.file = none`, `ocsp.fetch = false`, `ocsp.required = false`
//! - `handshake_timeout_secs = 10`, `max_connections = 1024`, `max_connections_per_address = 256`,
//!   `idle_timeout_secs = 60`, `plaintext = false`
//! - `header_read_timeout_secs = 10`, `shutdown_grace_secs = 30`, `reload_interval_secs = 5`
//! - `policy = "production"`

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::error::TransportError;

/// Whether a listener asks for / requires TLS client certificates.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ClientAuthMode {
    /// A verified client certificate is required; the handshake fails without one.
    Required,
    /// A client certificate is requested; if one is sent it must verify.
    Optional,
    /// No client certificate is requested (default).
    #[default]
    None,
}

/// How certificate-policy violations are treated.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum PolicyMode {
    /// Violations are errors: the listener refuses to start / reload (default).
    #[default]
    Production,
    /// Violations are logged as warnings and the certificate is used anyway.
    Dev,
}

/// One path or a list of paths.
#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
enum OneOrMany {
    One(PathBuf),
    Many(Vec<PathBuf>),
}

fn one_or_many<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Vec<PathBuf>, D::Error> {
    Ok(match OneOrMany::deserialize(d)? {
        OneOrMany::One(p) => vec![p],
        OneOrMany::Many(v) => v,
    })
}

/// `tls` section of a listener.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TlsConfig {
    /// PEM file with the server certificate chain: leaf first, then intermediates (and optionally the root).
    pub cert: PathBuf,
    /// PEM file with the private key (PKCS#8, SEC1 or PKCS#1).
    pub key: PathBuf,
    /// Client-certificate mode. Default `none`.
    #[serde(default)]
    pub client_auth: ClientAuthMode,
    /// PEM CA bundle(s) that client certificates must chain to. One path or a list. Required
    /// when `client_auth` is not `none`.
    #[serde(default, deserialize_with = "one_or_many")]
    pub client_ca: Vec<PathBuf>,
    /// PEM or DER CRL files checked for client certificates (v2 CRLs). Default empty.
    #[serde(default, deserialize_with = "one_or_many")]
    pub crl: Vec<PathBuf>,
}

/// `ocsp` section of a listener.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OcspConfig {
    /// DER OCSP response file to staple (re-read when it changes). Default none.
    #[serde(default)]
    pub file: Option<PathBuf>,
    /// Fetch the OCSP response from the responder named in the certificate's AIA extension
    /// (HTTP POST). Default false.
    #[serde(default)]
    pub fetch: bool,
    /// Refuse to start (and to reload) without a valid OCSP response. Default false.
    #[serde(default)]
    pub required: bool,
}

fn default_handshake_timeout() -> u64 {
    10
}
fn default_max_connections() -> usize {
    1024
}
fn default_max_connections_per_address() -> usize {
    256
}
fn default_header_read_timeout() -> u64 {
    10
}
fn default_idle_timeout() -> u64 {
    60
}
fn default_shutdown_grace() -> u64 {
    30
}
fn default_reload_interval() -> u64 {
    5
}

/// One listener.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ListenerConfig {
    /// Socket address to bind, e.g. `0.0.0.0:8443`.
    pub bind: SocketAddr,
    /// TLS settings. Absent means plain HTTP, which also needs `plaintext = true` and a loopback `bind`.
    #[serde(default)]
    pub tls: Option<TlsConfig>,
    /// OCSP stapling settings.
    #[serde(default)]
    pub ocsp: OcspConfig,
    /// TLS handshake deadline in seconds. Default 10.
    #[serde(default = "default_handshake_timeout")]
    pub handshake_timeout_secs: u64,
    /// Maximum concurrent connections (including ones still handshaking). Default 1024.
    #[serde(default = "default_max_connections")]
    pub max_connections: usize,
    /// Maximum concurrent connections from one client address (an IPv6 /64 counts as one), so
    /// that one address cannot hold every slot. Default 256.
    #[serde(default = "default_max_connections_per_address")]
    pub max_connections_per_address: usize,
    /// A connection with no request in progress for this long is closed, whatever its protocol
    /// (an HTTP/2 connection answering pings and sending nothing included). Default 60.
    #[serde(default = "default_idle_timeout")]
    pub idle_timeout_secs: u64,
    /// Allow plain HTTP. Only accepted with a loopback `bind` and no `tls` section. Default false.
    #[serde(default)]
    pub plaintext: bool,
    /// HTTP/1 request-header read deadline in seconds. Default 10.
    #[serde(default = "default_header_read_timeout")]
    pub header_read_timeout_secs: u64,
    /// How long graceful shutdown waits for in-flight requests, seconds. Default 30.
    #[serde(default = "default_shutdown_grace")]
    pub shutdown_grace_secs: u64,
    /// How often certificate/key/CRL/OCSP files are polled for changes, seconds. Default 5.
    #[serde(default = "default_reload_interval")]
    pub reload_interval_secs: u64,
    /// Certificate-policy mode. Default `production`.
    #[serde(default)]
    pub policy: PolicyMode,
}

/// Connection-level limits for [`crate::serve`].
#[derive(Debug, Clone, Copy)]
pub struct ConnectionLimits {
    /// Deadline for the TLS handshake.
    pub handshake_timeout: Duration,
    /// Maximum concurrent connections.
    pub max_connections: usize,
    /// Maximum concurrent connections from one [`crate::AddressBlock`].
    pub max_connections_per_address: usize,
    /// HTTP/1 header read deadline.
    pub header_read_timeout: Duration,
    /// How long a connection may go without a request in progress.
    pub idle_timeout: Duration,
    /// Bound on graceful shutdown.
    pub shutdown_grace: Duration,
}

impl Default for ConnectionLimits {
    fn default() -> Self {
        Self {
            handshake_timeout: Duration::from_secs(default_handshake_timeout()),
            max_connections: default_max_connections(),
            max_connections_per_address: default_max_connections_per_address(),
            header_read_timeout: Duration::from_secs(default_header_read_timeout()),
            idle_timeout: Duration::from_secs(default_idle_timeout()),
            shutdown_grace: Duration::from_secs(default_shutdown_grace()),
        }
    }
}

impl ListenerConfig {
    /// The connection limits of this listener.
    pub fn limits(&self) -> ConnectionLimits {
        ConnectionLimits {
            handshake_timeout: Duration::from_secs(self.handshake_timeout_secs.max(1)),
            max_connections: self.max_connections.max(1),
            max_connections_per_address: self.max_connections_per_address.max(1),
            header_read_timeout: Duration::from_secs(self.header_read_timeout_secs.max(1)),
            idle_timeout: Duration::from_secs(self.idle_timeout_secs.max(1)),
            shutdown_grace: Duration::from_secs(self.shutdown_grace_secs),
        }
    }

    /// Poll interval for file reloads.
    pub fn reload_interval(&self) -> Duration {
        Duration::from_secs(self.reload_interval_secs.max(1))
    }

    /// Checks the plaintext rule: plain HTTP only when explicitly enabled and bound to loopback;
    /// TLS and `plaintext = true` together are rejected as ambiguous. Logs a loud warning when
    /// plain HTTP is allowed.
    pub fn check_plaintext_rule(&self) -> Result<(), TransportError> {
        check_plaintext_allowed(self.bind, self.tls.is_some(), self.plaintext)
    }
}

/// The plaintext rule as a free function: see [`ListenerConfig::check_plaintext_rule`].
pub fn check_plaintext_allowed(
    bind: SocketAddr,
    has_tls: bool,
    plaintext: bool,
) -> Result<(), TransportError> {
    match (has_tls, plaintext) {
        (true, false) => Ok(()),
        (true, true) => Err(TransportError::Config(format!(
            "listener {bind}: both `tls` and `plaintext = true` are set; choose one"
        ))),
        (false, false) => Err(TransportError::Config(format!(
            "listener {bind}: no `tls` section; plain HTTP needs `plaintext = true` and a loopback bind"
        ))),
        (false, true) => {
            if bind.ip().is_loopback() {
                tracing::warn!(
                    target: "security",
                    %bind,
                    "PLAINTEXT HTTP LISTENER ENABLED (loopback only, no TLS). Never use this in production."
                );
                Ok(())
            } else {
                Err(TransportError::Config(format!(
                    "listener {bind}: plain HTTP is only allowed on a loopback address"
                )))
            }
        }
    }
}
