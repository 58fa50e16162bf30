//! `ApiKeyAuthenticator` through its public interface, over a real store (SQLite in a temp dir)
//! and the in-process shared state: what a key is accepted for and what refuses it.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::net::IpAddr;
use std::time::Duration;

use benteng_auth::{ApiKeyAuthenticator, AuthError, RequestFacts};
use benteng_core::api_key::KeyEnvironment;
use benteng_core::audit::AuditContext;
use benteng_core::network::NetworkAllowList;
use benteng_core::scopes::{Scope, Scopes};
use benteng_core::tenant::{Tenant, Tier};
use benteng_crypto::{ExposeSecret, KeyedHasher};
use benteng_store::{Store, StoreOptions};

struct World {
    _dir: tempfile::TempDir,
    keys: ApiKeyAuthenticator,
    tenant: Tenant,
    audit: AuditContext,
}

async fn world() -> World {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("store.sqlite").display());
    let store = Store::connect(&url, &StoreOptions::default())
        .await
        .unwrap();
    store.migrate().await.unwrap();
    let audit = AuditContext::system("test");
    let tenant = Tenant::new(
        "PT Kunci".parse().unwrap(),
        Tier::Growth,
        time::OffsetDateTime::now_utc(),
    );
    store.insert_tenant(&tenant, &audit).await.unwrap();
    let state = benteng_shared_state::open("memory://", "test", &Default::default())
        .await
        .unwrap();
    let hasher = KeyedHasher::new(&[7; 32]).unwrap();
    let keys = ApiKeyAuthenticator::new(store, state, hasher, Duration::from_secs(300));
    World {
        _dir: dir,
        keys,
        tenant,
        audit,
    }
}

fn facts(needs: Scope, ip: Option<&str>) -> RequestFacts<'static> {
    RequestFacts {
        needs,
        client_cert_fingerprint: None,
        client_ip: ip.map(|ip| ip.parse::<IpAddr>().unwrap()),
    }
}

impl World {
    async fn issue(&self, scopes: Scopes, networks: &str) -> (String, benteng_core::ids::ApiKeyId) {
        let issued = self
            .keys
            .issue(
                self.tenant.id,
                KeyEnvironment::Live,
                None,
                scopes,
                networks.parse::<NetworkAllowList>().unwrap(),
                &self.audit,
            )
            .await
            .unwrap();
        (issued.key.expose_secret().to_owned(), issued.record.id)
    }
}

/// A key authenticates as its tenant until it is revoked; revoked, it is refused at once, even
/// though this instance had it in its cache.
#[tokio::test]
async fn a_key_works_until_it_is_revoked() {
    let world = world().await;
    let (key, id) = world.issue(Scopes::all(), "").await;
    let read = facts(Scope::TenantRead, Some("203.0.113.9"));
    for _ in 0..2 {
        let principal = world.keys.authenticate(&key, &read).await.unwrap();
        assert_eq!(principal.tenant.id, world.tenant.id);
    }
    world.keys.revoke(id, &world.audit).await.unwrap();
    let refused = world.keys.authenticate(&key, &read).await.unwrap_err();
    assert!(matches!(refused, AuthError::Revoked), "{refused:?}");
}

/// Malformed and unknown keys are refused as such; a key lacking the route's scope, or used
/// from outside its networks (or from an unknown address), is refused with the reason.
#[tokio::test]
async fn keys_are_refused_for_what_they_do_not_grant() {
    let world = world().await;
    let read = facts(Scope::TenantRead, Some("10.1.2.3"));
    let refused = world.keys.authenticate("sk_live_nope", &read).await;
    assert!(matches!(refused, Err(AuthError::Malformed)), "{refused:?}");
    let (key, _) = world.issue(Scopes::read_only(), "10.0.0.0/8").await;
    // The same shape, one character changed: well formed, never issued.
    let last = if key.ends_with('A') { 'B' } else { 'A' };
    let forged = format!("{}{last}", &key[..key.len() - 1]);
    let refused = world.keys.authenticate(&forged, &read).await;
    assert!(matches!(refused, Err(AuthError::Unknown)), "{refused:?}");

    assert!(world.keys.authenticate(&key, &read).await.is_ok());
    let write = facts(Scope::TransfersWrite, Some("10.1.2.3"));
    let refused = world.keys.authenticate(&key, &write).await;
    assert!(
        matches!(refused, Err(AuthError::MissingScope(Scope::TransfersWrite))),
        "{refused:?}"
    );
    for outside in [Some("192.0.2.1"), None] {
        let refused = world
            .keys
            .authenticate(&key, &facts(Scope::TenantRead, outside))
            .await;
        assert!(
            matches!(refused, Err(AuthError::NetworkNotAllowed)),
            "{outside:?}: {refused:?}"
        );
    }
}
