//! How benteng reaches its data stores (`database.url`, `cache.url`): where each connection goes
//! as the store's own client reads its URL, whether the peer's certificate is verified, and the
//! TLS files beyond the URL. The start-up check refuses a link that travels the network without
//! verified TLS, so this is judged before anything connects.

use std::net::IpAddr;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

/// Where a store connection goes and how it is protected.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StoreLink {
    /// Never leaves the host: a file, a Unix socket, the in-process cache.
    Local,
    /// TCP to `host` (a name or an address, as the URL gives it), with TLS whose server
    /// certificate is verified against trusted CAs (`verified_tls`), or without.
    Tcp { host: String, verified_tls: bool },
}

impl StoreLink {
    /// Whether what travels on this link can be read or changed by someone on the network path:
    /// TCP to a host other than loopback, without verified TLS. A name other than `localhost` is
    /// exposed whatever it resolves to today: DNS is not asked, and may answer differently later.
    pub fn is_exposed(&self) -> bool {
        match self {
            Self::Local => false,
            Self::Tcp { host, verified_tls } => !verified_tls && !is_loopback(host),
        }
    }
}

/// `localhost` or a loopback address (`127.0.0.0/8`, `::1`, `::ffff:127.x.y.z`), in brackets or
/// not.
fn is_loopback(host: &str) -> bool {
    if host.eq_ignore_ascii_case("localhost") {
        return true;
    }
    let bare = host
        .strip_prefix('[')
        .and_then(|h| h.strip_suffix(']'))
        .unwrap_or(host);
    match bare.parse::<IpAddr>() {
        Ok(IpAddr::V4(v4)) => v4.is_loopback(),
        Ok(IpAddr::V6(v6)) => {
            v6.is_loopback() || v6.to_ipv4_mapped().is_some_and(|v4| v4.is_loopback())
        }
        Err(_) => false,
    }
}

/// `[database.tls]` / `[cache.tls]`: the files of a TLS connection to a store beyond what its
/// URL says. Every field is optional: without `ca_file` the store's client trusts Mozilla's
/// roots; a client certificate is sent only when both `cert_file` and `key_file` are set.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct StoreTls {
    /// The CA certificate(s) (PEM) the server's certificate must chain to.
    pub ca_file: Option<PathBuf>,
    /// A client certificate chain (PEM), for servers that ask for one.
    pub cert_file: Option<PathBuf>,
    /// The client certificate's private key (PEM).
    pub key_file: Option<PathBuf>,
}

/// A `StoreTls` that cannot be used as written.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StoreTlsError {
    #[error("cert_file and key_file go together: set both or neither")]
    HalfAClientIdentity,
}

impl StoreTls {
    /// Whether any file is set.
    pub fn is_set(&self) -> bool {
        self.ca_file.is_some() || self.cert_file.is_some() || self.key_file.is_some()
    }

    /// The client certificate and key, when both are set; refused when only one is.
    pub fn client_identity(&self) -> Result<Option<(&Path, &Path)>, StoreTlsError> {
        match (&self.cert_file, &self.key_file) {
            (Some(cert), Some(key)) => Ok(Some((cert, key))),
            (None, None) => Ok(None),
            _ => Err(StoreTlsError::HalfAClientIdentity),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tcp(host: &str, verified_tls: bool) -> StoreLink {
        StoreLink::Tcp {
            host: host.to_owned(),
            verified_tls,
        }
    }

    #[test]
    fn plaintext_is_exposed_only_off_the_host() {
        for host in [
            "localhost",
            "LOCALHOST",
            "127.0.0.1",
            "127.1.2.3",
            "::1",
            "[::1]",
            "[::ffff:127.0.0.1]",
        ] {
            assert!(!tcp(host, false).is_exposed(), "{host}");
        }
        for host in [
            "db.internal",
            "10.0.0.5",
            "192.0.2.10",
            "[2001:db8::1]",
            "[::ffff:10.0.0.1]",
            "localhost.example.com",
            "127.0.0.1.nip.io",
            "0.0.0.0",
            "",
        ] {
            assert!(tcp(host, false).is_exposed(), "{host}");
        }
    }

    #[test]
    fn verified_tls_and_local_links_are_never_exposed() {
        assert!(!tcp("db.internal", true).is_exposed());
        assert!(!tcp("10.0.0.5", true).is_exposed());
        assert!(!StoreLink::Local.is_exposed());
    }

    #[test]
    fn a_client_identity_needs_both_files() {
        let both = StoreTls {
            cert_file: Some("c.pem".into()),
            key_file: Some("k.pem".into()),
            ..StoreTls::default()
        };
        assert_eq!(
            both.client_identity(),
            Ok(Some((Path::new("c.pem"), Path::new("k.pem"))))
        );
        assert_eq!(StoreTls::default().client_identity(), Ok(None));
        assert!(!StoreTls::default().is_set());
        for half in [
            StoreTls {
                cert_file: Some("c.pem".into()),
                ..StoreTls::default()
            },
            StoreTls {
                key_file: Some("k.pem".into()),
                ..StoreTls::default()
            },
        ] {
            assert!(half.is_set());
            assert_eq!(
                half.client_identity(),
                Err(StoreTlsError::HalfAClientIdentity)
            );
        }
    }
}
