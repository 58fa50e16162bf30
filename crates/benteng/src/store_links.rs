//! The start-up check of the links to the data stores. Everything benteng knows passes through
//! PostgreSQL and Redis (API-key entries, sessions, idempotency replays, audit rows), so a link
//! that crosses the network must be TLS with the server's certificate verified. Outside loopback
//! a plaintext (or unverified) `database.url` or `cache.url` stops the start naming the setting,
//! unless `{section}.allow_plaintext` accepts it, which is logged as a warning at every start.
//! Loopback and Unix sockets stay allowed: nothing crosses a network there.

use anyhow::Context as _;
use benteng_core::store_link::StoreLink;

use crate::Config;

/// Judges both links as each store's client reads its URL, before anything connects.
pub(crate) fn check(config: &Config) -> anyhow::Result<()> {
    let database = benteng_store::link(&config.database_url(), &config.database.tls)
        .context("database.url with database.tls")?;
    judge(
        Section::Database,
        &database,
        config.database.allow_plaintext,
    )?;
    let cache = benteng_shared_state::link(&config.cache.url, &config.cache.tls)
        .context("cache.url with cache.tls")?;
    judge(Section::Cache, &cache, config.cache.allow_plaintext)
}

#[derive(Debug, Clone, Copy)]
enum Section {
    Database,
    Cache,
}

impl Section {
    fn name(self) -> &'static str {
        match self {
            Self::Database => "database",
            Self::Cache => "cache",
        }
    }

    /// How to make the link verified TLS.
    fn remedy(self) -> &'static str {
        match self {
            Self::Database => {
                "add sslmode=verify-full to the URL (the server's CA in database.tls.ca_file or \
                 the URL's sslrootcert)"
            }
            Self::Cache => "use rediss:// (the server's CA in cache.tls.ca_file)",
        }
    }
}

fn judge(section: Section, link: &StoreLink, allow_plaintext: bool) -> anyhow::Result<()> {
    let StoreLink::Tcp { host, .. } = link else {
        return Ok(());
    };
    if !link.is_exposed() {
        return Ok(());
    }
    let name = section.name();
    anyhow::ensure!(
        allow_plaintext,
        "{name}.url reaches {host} without verified TLS: {}, or set {name}.allow_plaintext = \
         true to accept a link anyone on the network path can read and change",
        section.remedy()
    );
    tracing::warn!(
        setting = format!("{name}.allow_plaintext"),
        %host,
        "{name}.url reaches {host} WITHOUT verified TLS ({name}.allow_plaintext = true): \
         anyone on the network path can read and change what passes; {}",
        section.remedy()
    );
    Ok(())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn tcp(host: &str, verified_tls: bool) -> StoreLink {
        StoreLink::Tcp {
            host: host.to_owned(),
            verified_tls,
        }
    }

    #[test]
    fn an_exposed_link_is_refused_naming_its_setting_unless_allowed() {
        for (section, setting) in [
            (Section::Database, "database.allow_plaintext"),
            (Section::Cache, "cache.allow_plaintext"),
        ] {
            let error = judge(section, &tcp("10.0.0.5", false), false)
                .unwrap_err()
                .to_string();
            let url = format!("{}.url", section.name());
            assert!(
                error.contains(&url) && error.contains(setting) && error.contains("10.0.0.5"),
                "{error}"
            );
            judge(section, &tcp("10.0.0.5", false), true).unwrap();
        }
    }

    #[test]
    fn verified_loopback_and_local_links_need_no_permission() {
        for link in [
            tcp("db.internal", true),
            tcp("127.0.0.1", false),
            tcp("localhost", false),
            StoreLink::Local,
        ] {
            judge(Section::Database, &link, false).unwrap();
            judge(Section::Cache, &link, false).unwrap();
        }
    }

    fn config(database: &str, cache: &str) -> Config {
        let mut config = Config::default();
        config.database.url = database.to_owned();
        config.cache.url = cache.to_owned();
        config
    }

    #[test]
    fn the_check_reads_both_urls_as_their_clients_do() {
        // The embedded default and the test suite's stores.
        check(&Config::default()).unwrap();
        check(&config(
            "postgres://postgres@127.0.0.1:5432/postgres",
            "redis://127.0.0.1:6379",
        ))
        .unwrap();
        check(&config(
            "postgres://app@db.internal/benteng?sslmode=verify-full",
            "rediss://cache.internal:6380",
        ))
        .unwrap();
        for (database, cache, named) in [
            (
                "postgres://app@db.internal/benteng",
                "memory://",
                "database.url",
            ),
            (
                "postgres://app@db.internal/benteng?sslmode=require",
                "memory://",
                "database.url",
            ),
            ("", "redis://cache.internal:6379", "cache.url"),
            ("", "rediss://cache.internal:6380/#insecure", "cache.url"),
        ] {
            let error = check(&config(database, cache)).unwrap_err();
            assert!(format!("{error:#}").contains(named), "{error:#}");
        }
        let mut tls_without_rediss = config("", "redis://127.0.0.1:6379");
        tls_without_rediss.cache.tls.ca_file = Some("ca.pem".into());
        let error = check(&tls_without_rediss).unwrap_err();
        assert!(format!("{error:#}").contains("cache.tls"), "{error:#}");
    }
}
