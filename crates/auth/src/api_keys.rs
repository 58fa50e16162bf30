//! API keys, following the spec's lookup flow: keyed hash → cache → database → expiry,
//! revocation and tenant checks → tenant in the request context.
//!
//! Caches, in the order a lookup meets them: this instance's memory, the shared cache (Redis in
//! production), the database. A revocation or tenant change rewrites the shared entry from the
//! database and tells every instance over pub/sub to drop its local entry, so a revoked key is
//! refused everywhere within a network round trip, not after the 5-minute TTL.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use benteng_core::api_key::{
    ApiKeyRecord, ApiKeyShape, BASE62, KeyEnvironment, KeyRefusal, SECRET_LEN, display_prefix,
};
use benteng_core::ids::{ApiKeyId, TenantId};
use benteng_core::network::NetworkAllowList;
use benteng_core::scopes::Scopes;
use benteng_core::tenant::Tenant;
use benteng_crypto::{ExposeSecret, KeyedHasher, SecretString, constant_time_eq, random_string};
use benteng_shared_state::{Event, SharedStateHandle};
use benteng_store::{Store, StoreError, TenantMtls};
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use crate::cache::{INVALIDATION_CHANNEL, Invalidation, LocalCache, SharedEntries, announce};
use crate::{AuthError, Credential, Principal, RequestFacts};

/// What the caches hold: the key's record (with its scopes and networks), its tenant and the
/// tenant's mTLS binding as of the last database read. Certificate and `require_mtls` changes
/// bump the tenant's watermark and go through `tenant_changed`, so they refresh this entry like
/// a status change does; a change of the key's networks goes through `set_networks`, like a
/// revocation. An entry without the record's `networks` (written by an instance from before
/// them) does not decode, so the key is read from the database rather than taken as
/// unrestricted.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct Verified {
    key: ApiKeyRecord,
    tenant: Tenant,
    #[serde(default)]
    mtls: TenantMtls,
}

/// A newly issued key: the only moment the key exists in clear.
pub struct IssuedKey {
    pub record: ApiKeyRecord,
    pub key: SecretString,
}

#[derive(Debug, thiserror::Error)]
pub enum KeyAdminError {
    #[error("no such tenant")]
    UnknownTenant,
    #[error("the tenant is suspended")]
    TenantSuspended,
    #[error("no such API key")]
    UnknownKey,
    #[error("the API key is revoked")]
    KeyRevoked,
    #[error("the API key was changed by someone else meanwhile; look again and retry")]
    ChangedMeanwhile,
    #[error(transparent)]
    Store(StoreError),
    #[error("could not generate a key: {0}")]
    Crypto(#[from] benteng_crypto::CryptoError),
}

pub struct ApiKeyAuthenticator {
    store: Store,
    state: SharedStateHandle,
    /// The shared cache's entries, MACed under the server secret.
    entries: SharedEntries,
    hasher: KeyedHasher,
    local: LocalCache<[u8; 32], Verified>,
    ttl: Duration,
    /// Bumped on every invalidation received; a lookup that raced one does not fill the cache.
    epoch: AtomicU64,
}

impl ApiKeyAuthenticator {
    pub fn new(store: Store, state: SharedStateHandle, hasher: KeyedHasher, ttl: Duration) -> Self {
        Self {
            store,
            entries: SharedEntries::new(state.clone(), hasher.clone()),
            state,
            hasher,
            local: LocalCache::new(ttl),
            ttl,
            epoch: AtomicU64::new(0),
        }
    }

    /// Starts the background tasks that keep this instance's cache honest: the invalidation
    /// subscriber, and a poll of the database's credential watermark every `poll` (the safety
    /// net for processes the shared state cannot reach, like the CLI beside an in-process cache).
    pub fn spawn_invalidation(self: &Arc<Self>, poll: Duration) {
        crate::cache::spawn_invalidation(self, self.state.subscribe(INVALIDATION_CHANNEL), poll);
    }

    /// Refreshes every key that changed since the watermark `seen`, in both caches.
    async fn catch_up(&self, (key_changed, tenant_updated): (i64, i64)) {
        self.epoch.fetch_add(1, Ordering::SeqCst);
        match self
            .store
            .api_key_hashes_changed_since(key_changed, tenant_updated)
            .await
        {
            Ok(hashes) => {
                for hash in &hashes {
                    self.refresh(hash).await;
                }
            }
            Err(error) => {
                tracing::warn!(%error, "could not list changed keys; dropping the local cache");
                self.local.clear();
            }
        }
    }

    fn apply(&self, event: Event) {
        self.epoch.fetch_add(1, Ordering::SeqCst);
        match event {
            Event::Resync => self.local.clear(),
            Event::Message(bytes) => match serde_json::from_slice(&bytes) {
                Ok(Invalidation::Key { hash }) => {
                    let mut raw = [0u8; 32];
                    if hex::decode_to_slice(&hash, &mut raw).is_ok() {
                        self.local.remove(&raw);
                    }
                }
                Ok(Invalidation::Tenant { id }) => {
                    self.local
                        .remove_where(|verified| verified.key.tenant_id == id);
                }
                // SNAP's caches apply these.
                Ok(Invalidation::SnapPartner { .. }) => {}
                Err(_) => self.local.clear(),
            },
        }
    }

    /// Verifies `presented` and checks it against the request's `facts`: the client address
    /// against the key's networks, a verified TLS client certificate's fingerprint against the
    /// tenant's mTLS binding, and the scope the route needs.
    pub async fn authenticate(
        &self,
        presented: &str,
        facts: &RequestFacts<'_>,
    ) -> Result<Principal, AuthError> {
        let shape = ApiKeyShape::parse(presented).map_err(|_| AuthError::Malformed)?;
        let hash = self.hasher.hash(presented.as_bytes());
        let verified = match self.local.get(&hash) {
            Some(hit) => hit,
            None => self.load(&hash).await?,
        };
        self.verify(&shape, &hash, verified, facts).await
    }

    /// Like [`Self::authenticate`], for a key this instance has verified lately (or a malformed
    /// one): decided without asking the shared cache or the database about the key. `None`
    /// when the key is not in this instance's cache.
    pub async fn authenticate_cached(
        &self,
        presented: &str,
        facts: &RequestFacts<'_>,
    ) -> Option<Result<Principal, AuthError>> {
        let Ok(shape) = ApiKeyShape::parse(presented) else {
            return Some(Err(AuthError::Malformed));
        };
        let hash = self.hasher.hash(presented.as_bytes());
        let verified = self.local.get(&hash)?;
        Some(self.verify(&shape, &hash, verified, facts).await)
    }

    /// The checks of a found key: hash, tenant, expiry, revocation, tenant status (a key that
    /// fails these must not learn it is restricted), then the client address against the key's
    /// networks (before mTLS, which may ask the database: a request from the wrong network
    /// costs nothing more), mTLS, and last the scope (a key that may not call the route learns
    /// so only once it proved itself).
    async fn verify(
        &self,
        shape: &ApiKeyShape,
        hash: &[u8; 32],
        verified: Verified,
        facts: &RequestFacts<'_>,
    ) -> Result<Principal, AuthError> {
        let mtls = verified.mtls.clone();
        let from_allowed_network = verified.key.networks.allows(facts.client_ip);
        let mut principal = check(shape, hash, verified, benteng_core::now())?;
        if !from_allowed_network {
            tracing::warn!(target: "security", tenant = %principal.tenant.id, "API key used from outside its networks; refused");
            return Err(AuthError::NetworkNotAllowed);
        }
        self.check_client_certificate(&principal, &mtls, facts.client_cert_fingerprint)
            .await?;
        if !principal.scopes.contains(facts.needs) {
            return Err(AuthError::MissingScope(facts.needs));
        }
        principal.client_cert_fingerprint = facts.client_cert_fingerprint.map(str::to_owned);
        Ok(principal)
    }

    /// A tenant and its mTLS binding, from the database (for credentials other than keys that
    /// act for a tenant: tenant users' sessions).
    pub(crate) async fn tenant_binding(
        &self,
        tenant: TenantId,
    ) -> Result<(Tenant, TenantMtls), AuthError> {
        let read = async {
            let found = self.store.tenant(tenant).await?;
            let mtls = self.store.tenant_mtls(tenant).await?;
            Ok::<_, StoreError>((found, mtls))
        };
        read.await.map_err(|error| match error {
            StoreError::NotFound => AuthError::Unknown,
            other => {
                tracing::error!(error = %other, "tenant lookup failed");
                AuthError::Unavailable
            }
        })
    }

    /// The mTLS tenant binding: a certificate registered to another tenant is refused for
    /// everyone; a tenant that requires mTLS accepts only its own registered certificates.
    pub(crate) async fn check_client_certificate(
        &self,
        principal: &Principal,
        mtls: &TenantMtls,
        fingerprint: Option<&str>,
    ) -> Result<(), AuthError> {
        let tenant = principal.tenant.id;
        if let Some(fingerprint) = fingerprint
            && !mtls.is_registered(fingerprint)
        {
            // Not the tenant's own: is it someone else's? (Not cached: a unique-index lookup,
            // only for certificates the tenant did not register.)
            match self.store.certificate_owner(fingerprint).await {
                Ok(Some(owner)) if owner != tenant => {
                    tracing::warn!(target: "security", %tenant, %owner, fingerprint, "client certificate registered to another tenant; refused");
                    return Err(AuthError::ClientCertificateForeign);
                }
                Ok(_) => {}
                Err(error) => {
                    tracing::error!(%error, "client certificate lookup failed");
                    return Err(AuthError::Unavailable);
                }
            }
        }
        if mtls.required && !fingerprint.is_some_and(|f| mtls.is_registered(f)) {
            tracing::warn!(target: "security", %tenant, fingerprint = fingerprint.unwrap_or("none"), "tenant requires a registered client certificate; refused");
            return Err(AuthError::ClientCertificateRequired);
        }
        Ok(())
    }

    /// Shared cache, then database; fills both caches unless an invalidation raced the read.
    async fn load(&self, hash: &[u8; 32]) -> Result<Verified, AuthError> {
        crate::cache::read_through(
            &self.entries,
            &self.local,
            &self.epoch,
            hash,
            &shared_key(hash),
            self.ttl,
            "API key",
            || self.read_database(hash),
        )
        .await
    }

    async fn read_database(&self, hash: &[u8; 32]) -> Result<Verified, AuthError> {
        let (key, tenant) = match self.store.api_key_by_hash(hash).await {
            Ok(found) => found,
            Err(StoreError::NotFound) => return Err(AuthError::Unknown),
            Err(error) => {
                tracing::error!(%error, "key lookup failed");
                return Err(AuthError::Unavailable);
            }
        };
        let mtls = match self.store.tenant_mtls(tenant.id).await {
            Ok(mtls) => mtls,
            Err(error) => {
                tracing::error!(%error, "tenant mTLS lookup failed");
                return Err(AuthError::Unavailable);
            }
        };
        Ok(Verified { key, tenant, mtls })
    }

    /// Issues a key and returns it; this is the only time it is seen in clear.
    pub async fn issue(
        &self,
        tenant_id: TenantId,
        environment: KeyEnvironment,
        lifetime: Option<time::Duration>,
        scopes: Scopes,
        networks: NetworkAllowList,
        context: &benteng_core::audit::AuditContext,
    ) -> Result<IssuedKey, KeyAdminError> {
        let tenant = match self.store.tenant(tenant_id).await {
            Ok(tenant) => tenant,
            Err(StoreError::NotFound) => return Err(KeyAdminError::UnknownTenant),
            Err(error) => return Err(KeyAdminError::Store(error)),
        };
        if !tenant.is_active() {
            return Err(KeyAdminError::TenantSuspended);
        }
        let secret = random_string(BASE62, SECRET_LEN)?;
        let shape = ApiKeyShape {
            environment,
            tenant_id,
        };
        let key = shape
            .assemble(secret.expose_secret())
            .map_err(|_| KeyAdminError::Crypto(benteng_crypto::CryptoError::Random))?;
        let now = benteng_core::now();
        let record = ApiKeyRecord {
            id: ApiKeyId::new(),
            tenant_id,
            environment,
            display_prefix: display_prefix(&key),
            hash: self.hasher.hash(key.as_bytes()),
            created_at: now,
            expires_at: lifetime.map(|d| now + d),
            revoked_at: None,
            scopes,
            networks,
        };
        self.store
            .insert_api_key(&record, context)
            .await
            .map_err(KeyAdminError::Store)?;
        Ok(IssuedKey {
            record,
            key: SecretString::from(key),
        })
    }

    /// Replaces the networks a key may be used from (any network: the empty list), in the
    /// database and on every instance, as revocation does: the shared entry is rewritten from
    /// the database and every instance drops its local one; the change's `updated_at` moves the
    /// credential watermark for instances pub/sub cannot reach. A revoked key is refused: it
    /// cannot be used anyway, and changing it would only add noise to its history.
    pub async fn set_networks(
        &self,
        key_id: ApiKeyId,
        networks: &NetworkAllowList,
        context: &benteng_core::audit::AuditContext,
    ) -> Result<ApiKeyRecord, KeyAdminError> {
        let current = match self.store.api_key(key_id).await {
            Ok(record) => record,
            Err(StoreError::NotFound) => return Err(KeyAdminError::UnknownKey),
            Err(error) => return Err(KeyAdminError::Store(error)),
        };
        if current.revoked_at.is_some() {
            return Err(KeyAdminError::KeyRevoked);
        }
        let record = match self
            .store
            .set_api_key_networks(key_id, networks, benteng_core::now(), context)
            .await
        {
            Ok(record) => record,
            Err(StoreError::NotFound) => return Err(KeyAdminError::UnknownKey),
            Err(StoreError::Conflict) => return Err(KeyAdminError::ChangedMeanwhile),
            Err(error) => return Err(KeyAdminError::Store(error)),
        };
        self.refresh(&record.hash).await;
        announce(
            &self.state,
            &Invalidation::Key {
                hash: hex::encode(record.hash),
            },
        )
        .await;
        Ok(record)
    }

    /// Revokes a key in the database and on every instance.
    pub async fn revoke(
        &self,
        key_id: ApiKeyId,
        context: &benteng_core::audit::AuditContext,
    ) -> Result<ApiKeyRecord, KeyAdminError> {
        let record = match self
            .store
            .revoke_api_key(key_id, benteng_core::now(), context)
            .await
        {
            Ok(record) => record,
            Err(StoreError::NotFound) => return Err(KeyAdminError::UnknownKey),
            Err(error) => return Err(KeyAdminError::Store(error)),
        };
        self.refresh(&record.hash).await;
        announce(
            &self.state,
            &Invalidation::Key {
                hash: hex::encode(record.hash),
            },
        )
        .await;
        Ok(record)
    }

    /// Call after a tenant's status, certificates or mTLS requirement changed: its keys' cache
    /// entries are rewritten everywhere.
    pub async fn tenant_changed(&self, tenant_id: TenantId) -> Result<(), KeyAdminError> {
        let keys = self
            .store
            .api_keys_of(tenant_id)
            .await
            .map_err(KeyAdminError::Store)?;
        for key in &keys {
            self.refresh(&key.hash).await;
        }
        announce(&self.state, &Invalidation::Tenant { id: tenant_id }).await;
        Ok(())
    }

    /// Overwrites the shared entry with the database's current truth.
    async fn refresh(&self, hash: &[u8; 32]) {
        let key = shared_key(hash);
        let written = match self.read_database(hash).await {
            Ok(verified) => self.entries.set(&key, &verified, self.ttl).await,
            Err(_) => self.entries.delete(&key).await,
        };
        if let Err(error) = written {
            // Instances still refuse within the TTL via pub/sub and the watermark poll.
            tracing::warn!(%error, "could not update the shared key cache");
        }
        // Only now, with the shared entry fresh: a request that read the stale shared entry
        // meanwhile sees the epoch move and does not put it back into the local cache.
        self.epoch.fetch_add(1, Ordering::SeqCst);
        self.local.remove(hash);
    }
}

fn shared_key(hash: &[u8; 32]) -> String {
    format!("apikey:{}", hex::encode(hash))
}

fn check(
    shape: &ApiKeyShape,
    hash: &[u8; 32],
    verified: Verified,
    now: OffsetDateTime,
) -> Result<Principal, AuthError> {
    let matches = constant_time_eq(&verified.key.hash, hash);
    if !matches || verified.key.tenant_id != shape.tenant_id {
        return Err(AuthError::Unknown);
    }
    verified
        .key
        .check_usable(now)
        .map_err(|refusal| match refusal {
            KeyRefusal::Expired => AuthError::Expired,
            KeyRefusal::Revoked => AuthError::Revoked,
        })?;
    if !verified.tenant.is_active() {
        return Err(AuthError::TenantSuspended);
    }
    Ok(Principal {
        credential: Credential::ApiKey {
            key_id: verified.key.id,
            environment: verified.key.environment,
        },
        tenant: verified.tenant,
        client_cert_fingerprint: None,
        scopes: verified.key.scopes,
    })
}

impl crate::cache::Invalidated for ApiKeyAuthenticator {
    type Mark = (i64, i64);

    const WHAT: &'static str = "credential";

    fn apply(&self, event: Event) {
        ApiKeyAuthenticator::apply(self, event);
    }

    async fn watermark(&self) -> Result<Self::Mark, StoreError> {
        self.store.credential_watermark().await
    }

    async fn caught_up(&self, seen: Self::Mark, _now: Self::Mark) {
        self.catch_up(seen).await;
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use std::net::IpAddr;

    use benteng_core::audit::AuditContext;
    use benteng_core::scopes::Scope;
    use benteng_core::tenant::Tier;
    use benteng_shared_state::MemoryState;
    use benteng_store::StoreOptions;

    use super::*;

    const NEEDS: Scope = Scope::TransfersRead;

    fn facts(client_ip: Option<&str>) -> RequestFacts<'static> {
        RequestFacts {
            needs: NEEDS,
            client_cert_fingerprint: None,
            client_ip: client_ip.map(|ip| ip.parse::<IpAddr>().unwrap()),
        }
    }

    async fn authenticator(dir: &tempfile::TempDir) -> (ApiKeyAuthenticator, TenantId) {
        let url = format!("sqlite://{}", dir.path().join("auth.sqlite").display());
        let store = Store::connect(&url, &StoreOptions::default())
            .await
            .unwrap();
        store.migrate().await.unwrap();
        let tenant = Tenant::new(
            "PT Uji Jaringan".parse().unwrap(),
            Tier::Growth,
            benteng_core::now(),
        );
        store
            .insert_tenant(&tenant, &AuditContext::system("test"))
            .await
            .unwrap();
        let keys = ApiKeyAuthenticator::new(
            store,
            Arc::new(MemoryState::new()),
            KeyedHasher::new(&[9u8; 32]).unwrap(),
            Duration::from_secs(300),
        );
        (keys, tenant.id)
    }

    async fn issue(keys: &ApiKeyAuthenticator, tenant: TenantId, networks: &str) -> IssuedKey {
        keys.issue(
            tenant,
            KeyEnvironment::Live,
            None,
            Scopes::all(),
            networks.parse().unwrap(),
            &AuditContext::system("test"),
        )
        .await
        .unwrap()
    }

    #[tokio::test]
    async fn the_allow_list_is_checked_on_the_database_and_the_cached_path() {
        let dir = tempfile::tempdir().unwrap();
        let (keys, tenant) = authenticator(&dir).await;
        let issued = issue(&keys, tenant, "10.0.0.0/8 2001:db8::/32").await;
        let key = issued.key.expose_secret();

        // From the database (nothing cached yet), then from this instance's cache.
        let refused = keys.authenticate(key, &facts(Some("192.0.2.1"))).await;
        assert_eq!(refused, Err(AuthError::NetworkNotAllowed));
        assert!(keys.authenticate_cached(key, &facts(None)).await.is_some());
        for ip in ["10.1.2.3", "::ffff:10.1.2.3", "2001:db8::7"] {
            let principal = keys.authenticate_cached(key, &facts(Some(ip))).await;
            assert!(matches!(principal, Some(Ok(_))), "{ip}: {principal:?}");
        }
        for ip in [Some("192.0.2.1"), Some("::1"), None] {
            let refused = keys.authenticate_cached(key, &facts(ip)).await;
            assert_eq!(refused, Some(Err(AuthError::NetworkNotAllowed)), "{ip:?}");
        }

        // Unrestricted keys work from anywhere, an unknown address included.
        let open = issue(&keys, tenant, "").await;
        assert!(
            keys.authenticate(open.key.expose_secret(), &facts(None))
                .await
                .is_ok()
        );
    }

    #[tokio::test]
    async fn only_a_key_that_proved_itself_learns_it_is_restricted() {
        let dir = tempfile::tempdir().unwrap();
        let (keys, tenant) = authenticator(&dir).await;
        let issued = issue(&keys, tenant, "10.0.0.0/8").await;
        let key = issued.key.expose_secret().to_owned();
        let outside = facts(Some("192.0.2.1"));
        // Same shape, wrong secret: unknown, whatever the address.
        let mut wrong = key.clone();
        let last = if wrong.ends_with('A') { "B" } else { "A" };
        wrong.replace_range(wrong.len() - 1.., last);
        assert_eq!(
            keys.authenticate(&wrong, &outside).await,
            Err(AuthError::Unknown)
        );
        // Revoked: revoked, not "wrong network".
        keys.revoke(issued.record.id, &AuditContext::system("test"))
            .await
            .unwrap();
        assert_eq!(
            keys.authenticate(&key, &outside).await,
            Err(AuthError::Revoked)
        );
        // And the scope is checked only from an allowed network.
        let narrow = keys
            .issue(
                tenant,
                KeyEnvironment::Live,
                None,
                Scopes::empty().with(Scope::BalancesRead),
                "10.0.0.0/8".parse().unwrap(),
                &AuditContext::system("test"),
            )
            .await
            .unwrap();
        let narrow = narrow.key.expose_secret();
        assert_eq!(
            keys.authenticate(narrow, &outside).await,
            Err(AuthError::NetworkNotAllowed)
        );
        assert_eq!(
            keys.authenticate(narrow, &facts(Some("10.0.0.1"))).await,
            Err(AuthError::MissingScope(NEEDS))
        );
    }

    #[tokio::test]
    async fn changing_the_list_reaches_the_cache_and_refuses_revoked_keys() {
        let dir = tempfile::tempdir().unwrap();
        let (keys, tenant) = authenticator(&dir).await;
        let issued = issue(&keys, tenant, "").await;
        let key = issued.key.expose_secret();
        let outside = facts(Some("192.0.2.1"));
        assert!(keys.authenticate(key, &outside).await.is_ok());
        let context = AuditContext::system("test");
        let record = keys
            .set_networks(issued.record.id, &"10.0.0.0/8".parse().unwrap(), &context)
            .await
            .unwrap();
        assert_eq!(record.networks.to_string(), "10.0.0.0/8");
        // The local entry was dropped: the next request reads the new list.
        assert!(keys.authenticate_cached(key, &outside).await.is_none());
        assert_eq!(
            keys.authenticate(key, &outside).await,
            Err(AuthError::NetworkNotAllowed)
        );
        keys.set_networks(issued.record.id, &NetworkAllowList::any(), &context)
            .await
            .unwrap();
        assert!(keys.authenticate(key, &outside).await.is_ok());
        keys.revoke(issued.record.id, &context).await.unwrap();
        assert!(matches!(
            keys.set_networks(issued.record.id, &NetworkAllowList::any(), &context)
                .await,
            Err(KeyAdminError::KeyRevoked)
        ));
        assert!(matches!(
            keys.set_networks(ApiKeyId::new(), &NetworkAllowList::any(), &context)
                .await,
            Err(KeyAdminError::UnknownKey)
        ));
    }

    /// An instance from before network lists cached entries without them: such an entry must
    /// not decode (and so be read as "any network"); the key is read from the database instead.
    #[test]
    fn a_cached_entry_without_networks_is_not_trusted() {
        let record = ApiKeyRecord {
            id: ApiKeyId::new(),
            tenant_id: TenantId::new(),
            environment: KeyEnvironment::Live,
            display_prefix: "sk_live_".to_owned(),
            hash: [1; 32],
            created_at: benteng_core::now(),
            expires_at: None,
            revoked_at: None,
            scopes: Scopes::all(),
            networks: "10.0.0.0/8".parse().unwrap(),
        };
        let tenant = Tenant::new(
            "PT Uji Jaringan".parse().unwrap(),
            Tier::Growth,
            benteng_core::now(),
        );
        let verified = Verified {
            key: record,
            tenant,
            mtls: TenantMtls::default(),
        };
        let mut json = serde_json::to_value(&verified).unwrap();
        let decoded: Verified = serde_json::from_value(json.clone()).unwrap();
        assert_eq!(decoded.key.networks.to_string(), "10.0.0.0/8");
        json["key"].as_object_mut().unwrap().remove("networks");
        assert!(serde_json::from_value::<Verified>(json).is_err());
    }

    /// Whoever can write to the shared store cannot plant an identity there: an entry without
    /// the server's MAC (here: the key's record beside another tenant) reads as absent, and the
    /// database answers with the key's own tenant.
    #[tokio::test]
    async fn a_shared_entry_without_the_servers_mac_is_ignored() {
        let dir = tempfile::tempdir().unwrap();
        let (keys, tenant) = authenticator(&dir).await;
        let issued = issue(&keys, tenant, "").await;
        let secret = issued.key.expose_secret().to_owned();
        let hash = keys.hasher.hash(secret.as_bytes());
        let mut forged = keys.read_database(&hash).await.unwrap();
        forged.tenant = Tenant::new(
            "PT Palsu".parse().unwrap(),
            Tier::Enterprise,
            benteng_core::now(),
        );
        let key = shared_key(&hash);
        keys.state
            .set(
                &key,
                &serde_json::to_vec(&forged).unwrap(),
                Duration::from_secs(60),
            )
            .await
            .unwrap();
        keys.local.clear();
        let principal = keys.authenticate(&secret, &facts(None)).await.unwrap();
        assert_eq!(principal.tenant.id, tenant);
        // The same value with a MAC made for another key does not verify either.
        let sealed_elsewhere = keys.entries.seal("apikey:other", &forged).unwrap();
        keys.state
            .set(&key, &sealed_elsewhere, Duration::from_secs(60))
            .await
            .unwrap();
        keys.local.clear();
        let principal = keys.authenticate(&secret, &facts(None)).await.unwrap();
        assert_eq!(principal.tenant.id, tenant);
    }
}
