//! Listeners from configuration: the default listener (`[server]`) and any `[[server.listeners]]`,
//! each with its own certificate, client-certificate mode, CAs, CRLs, OCSP, limits and route
//! groups. TLS is the rule: plain HTTP only with `plaintext = true` on a loopback address (the
//! transport crate enforces it). Without a configured certificate the default listener uses
//! development certificates from `{data_dir}/tls`, created on first start.

use std::net::SocketAddr;
use std::path::Path;
use std::time::Duration;

use anyhow::Context;
use benteng_api::RouteGroup;
use benteng_transport::{
    ClientAuthMode, ConnectionLimits, DevCertPaths, ListenerConfig, OcspConfig, PolicyMode,
    TlsConfig, TlsHandle, TlsSettings,
};
use serde::{Deserialize, Serialize};
use tokio::net::TcpListener;

use crate::Config;

/// The listener defaults, shared by `[server]` and `[[server.listeners]]`.
pub mod defaults {
    pub fn handshake_timeout_secs() -> u64 {
        10
    }
    pub fn max_connections() -> usize {
        1024
    }
    pub fn max_connections_per_address() -> usize {
        256
    }
    pub fn header_read_timeout_secs() -> u64 {
        10
    }
    pub fn idle_timeout_secs() -> u64 {
        60
    }
    pub fn reload_interval_secs() -> u64 {
        5
    }
}

/// Which route groups a listener serves: `"all"`, one group name, or a list of group names.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum RouteSelection {
    #[default]
    All,
    Groups(Vec<RouteGroup>),
}

impl RouteSelection {
    pub fn groups(&self) -> Vec<RouteGroup> {
        match self {
            RouteSelection::All => vec![RouteGroup::Operations, RouteGroup::Api],
            RouteSelection::Groups(groups) => groups.clone(),
        }
    }
}

#[derive(Deserialize)]
#[serde(untagged)]
enum RawSelection {
    One(String),
    Many(Vec<RouteGroup>),
}

impl<'de> Deserialize<'de> for RouteSelection {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        match RawSelection::deserialize(d)? {
            RawSelection::One(name) if name == "all" => Ok(RouteSelection::All),
            RawSelection::One(name) => {
                let group = RouteGroup::deserialize(
                    serde::de::value::StrDeserializer::<D::Error>::new(&name),
                )
                .map_err(|_| {
                    serde::de::Error::custom(format!(
                        "unknown route group `{name}`: expected \"all\", \"operations\" or \"api\""
                    ))
                })?;
                Ok(RouteSelection::Groups(vec![group]))
            }
            RawSelection::Many(groups) if groups.is_empty() => Err(serde::de::Error::custom(
                "a listener must serve at least one route group",
            )),
            RawSelection::Many(groups) => Ok(RouteSelection::Groups(groups)),
        }
    }
}

impl Serialize for RouteSelection {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            RouteSelection::All => s.serialize_str("all"),
            RouteSelection::Groups(groups) => groups.serialize(s),
        }
    }
}

/// One `[[server.listeners]]` entry. Same keys as the default listener in `[server]`, except
/// `shutdown_grace_secs` (one value for the whole server) and `listeners`; a `tls` section (or
/// `plaintext = true` on loopback) is required, no development certificates are made for it.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ListenerSettings {
    pub bind: SocketAddr,
    #[serde(default)]
    pub routes: RouteSelection,
    #[serde(default)]
    pub tls: Option<TlsConfig>,
    #[serde(default)]
    pub ocsp: OcspConfig,
    #[serde(default)]
    pub plaintext: bool,
    #[serde(default)]
    pub policy: PolicyMode,
    #[serde(default = "defaults::handshake_timeout_secs")]
    pub handshake_timeout_secs: u64,
    #[serde(default = "defaults::max_connections")]
    pub max_connections: usize,
    #[serde(default = "defaults::max_connections_per_address")]
    pub max_connections_per_address: usize,
    #[serde(default = "defaults::header_read_timeout_secs")]
    pub header_read_timeout_secs: u64,
    #[serde(default = "defaults::idle_timeout_secs")]
    pub idle_timeout_secs: u64,
    #[serde(default = "defaults::reload_interval_secs")]
    pub reload_interval_secs: u64,
}

impl ListenerSettings {
    fn transport(&self, shutdown_grace_secs: u64) -> ListenerConfig {
        ListenerConfig {
            bind: self.bind,
            tls: self.tls.clone(),
            ocsp: self.ocsp.clone(),
            handshake_timeout_secs: self.handshake_timeout_secs,
            max_connections: self.max_connections,
            max_connections_per_address: self.max_connections_per_address,
            idle_timeout_secs: self.idle_timeout_secs,
            plaintext: self.plaintext,
            header_read_timeout_secs: self.header_read_timeout_secs,
            shutdown_grace_secs,
            reload_interval_secs: self.reload_interval_secs,
            policy: self.policy,
        }
    }
}

impl crate::config::ServerConfig {
    /// The default listener as `[server]` describes it (before development certificates).
    pub fn default_listener(&self) -> ListenerSettings {
        ListenerSettings {
            bind: self.bind,
            routes: self.routes.clone(),
            tls: self.tls.clone(),
            ocsp: self.ocsp.clone(),
            plaintext: self.plaintext,
            policy: self.policy,
            handshake_timeout_secs: self.handshake_timeout_secs,
            max_connections: self.max_connections,
            max_connections_per_address: self.max_connections_per_address,
            header_read_timeout_secs: self.header_read_timeout_secs,
            idle_timeout_secs: self.idle_timeout_secs,
            reload_interval_secs: self.reload_interval_secs,
        }
    }
}

/// The directory of the development certificates of the embedded default.
pub fn dev_cert_dir(config: &Config) -> std::path::PathBuf {
    config.data_dir.join("tls")
}

/// The TLS section the default listener gets when none is configured: the development
/// certificates (created if missing), client certificates optional and verified against the dev CA.
fn dev_tls(dir: &Path) -> anyhow::Result<TlsConfig> {
    let paths: DevCertPaths = benteng_transport::generate_dev_certs(dir)
        .with_context(|| format!("creating development certificates in {}", dir.display()))?;
    tracing::warn!(
        target: "security",
        dir = %dir.display(),
        ca = %paths.ca_cert.display(),
        "serving with DEVELOPMENT certificates (no server.tls configured); configure a real certificate for production"
    );
    Ok(TlsConfig {
        cert: paths.server_cert,
        key: paths.server_key,
        client_auth: ClientAuthMode::Optional,
        client_ca: vec![paths.ca_cert],
        crl: Vec::new(),
    })
}

/// A bound listener, ready to serve.
pub struct BoundListener {
    pub listener: TcpListener,
    pub tls: Option<TlsHandle>,
    pub limits: ConnectionLimits,
    pub groups: Vec<RouteGroup>,
    pub reload_interval: Duration,
}

impl BoundListener {
    pub fn local_addr(&self) -> anyhow::Result<SocketAddr> {
        Ok(self.listener.local_addr()?)
    }
}

/// Checks, loads and binds every configured listener, the default first. Any error (plaintext
/// off loopback, a certificate the policy refuses, a port in use) fails the start.
pub async fn bind_all(config: &Config) -> anyhow::Result<Vec<BoundListener>> {
    let server = &config.server;
    let mut default = server.default_listener();
    if default.tls.is_none() && !default.plaintext {
        default.tls = Some(dev_tls(&dev_cert_dir(config))?);
    }
    let mut bound = Vec::with_capacity(1 + server.listeners.len());
    for settings in std::iter::once(&default).chain(server.listeners.iter()) {
        bound.push(bind_one(settings, server.shutdown_grace_secs).await?);
    }
    Ok(bound)
}

async fn bind_one(
    settings: &ListenerSettings,
    shutdown_grace_secs: u64,
) -> anyhow::Result<BoundListener> {
    let config = settings.transport(shutdown_grace_secs);
    config
        .check_plaintext_rule()
        .with_context(|| format!("listener {}", config.bind))?;
    let tls = match TlsSettings::from_listener(&config) {
        Some(tls) => Some(
            TlsHandle::load(tls)
                .await
                .with_context(|| format!("loading TLS for listener {}", config.bind))?,
        ),
        None => None,
    };
    let listener = TcpListener::bind(config.bind)
        .await
        .with_context(|| format!("binding {}", config.bind))?;
    Ok(BoundListener {
        listener,
        tls,
        limits: config.limits(),
        groups: settings.routes.groups(),
        reload_interval: config.reload_interval(),
    })
}

/// The default listener's server certificate file and when it became valid, if there is one
/// yet, for the key registry.
pub fn default_certificate(config: &Config) -> Option<(std::path::PathBuf, time::OffsetDateTime)> {
    let path = match &config.server.tls {
        Some(tls) => tls.cert.clone(),
        None => dev_cert_dir(config).join("server.pem"),
    };
    let certs = benteng_transport::tls::load_certs(&path).ok()?;
    let (_, cert) = x509_parser::parse_x509_certificate(certs.first()?.as_ref()).ok()?;
    let not_before =
        time::OffsetDateTime::from_unix_timestamp(cert.validity().not_before.timestamp()).ok()?;
    Some((path, not_before))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[derive(Debug, Deserialize)]
    struct Holder {
        routes: RouteSelection,
    }

    fn parse(toml_value: &str) -> Result<RouteSelection, String> {
        use figment::providers::Format;
        figment::Figment::from(figment::providers::Toml::string(&format!(
            "routes = {toml_value}"
        )))
        .extract::<Holder>()
        .map(|h| h.routes)
        .map_err(|e| e.to_string())
    }

    #[test]
    fn route_selections_parse() {
        assert_eq!(parse("\"all\"").unwrap(), RouteSelection::All);
        assert_eq!(
            parse("\"operations\"").unwrap(),
            RouteSelection::Groups(vec![RouteGroup::Operations])
        );
        assert_eq!(
            parse("[\"operations\", \"api\"]").unwrap().groups(),
            vec![RouteGroup::Operations, RouteGroup::Api]
        );
        assert!(parse("\"admin\"").is_err());
        assert!(parse("[]").is_err());
        assert!(parse("[\"nope\"]").is_err());
    }
}
