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
use benteng_core::scopes::{Scope, Scopes};
use benteng_core::tenant::Tenant;
use benteng_crypto::{ExposeSecret, KeyedHasher, SecretString, constant_time_eq, random_string};
use benteng_shared_state::{Event, SharedStateHandle};
use benteng_store::{Store, StoreError, TenantMtls};
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use crate::cache::{INVALIDATION_CHANNEL, Invalidation, LocalCache, announce};
use crate::{AuthError, Credential, Principal};

/// What the caches hold: the key's record, its tenant and the tenant's mTLS binding as of the
/// last database read. Certificate and `require_mtls` changes bump the tenant's watermark and go
/// through `tenant_changed`, so they refresh this entry like a status change does.
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
    #[error(transparent)]
    Store(StoreError),
    #[error("could not generate a key: {0}")]
    Crypto(#[from] benteng_crypto::CryptoError),
}

pub struct ApiKeyAuthenticator {
    store: Store,
    state: SharedStateHandle,
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
        let mut subscription = self.state.subscribe(INVALIDATION_CHANNEL);
        let this = Arc::downgrade(self);
        tokio::spawn(async move {
            while let Some(event) = subscription.next().await {
                let Some(this) = this.upgrade() else { return };
                this.apply(event);
            }
        });
        let this = Arc::downgrade(self);
        tokio::spawn(async move {
            let mut last = None;
            let mut ticker = tokio::time::interval(poll);
            loop {
                ticker.tick().await;
                let Some(this) = this.upgrade() else { return };
                match this.store.credential_watermark().await {
                    Ok(mark) => {
                        if let Some(seen) = last.filter(|seen| *seen != mark) {
                            this.catch_up(seen).await;
                        }
                        last = Some(mark);
                    }
                    Err(error) => tracing::warn!(%error, "credential watermark poll failed"),
                }
            }
        });
    }

    /// Refreshes every key that changed since the watermark `seen`, in both caches.
    async fn catch_up(&self, (revoked, updated): (i64, i64)) {
        self.epoch.fetch_add(1, Ordering::SeqCst);
        match self
            .store
            .api_key_hashes_changed_since(revoked, updated)
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

    /// Verifies `presented` and, when the connection presented a verified TLS client
    /// certificate, its fingerprint against the tenant's mTLS binding; the key must carry
    /// `needs`.
    pub async fn authenticate(
        &self,
        presented: &str,
        client_cert_fingerprint: Option<&str>,
        needs: Scope,
    ) -> Result<Principal, AuthError> {
        let shape = ApiKeyShape::parse(presented).map_err(|_| AuthError::Malformed)?;
        let hash = self.hasher.hash(presented.as_bytes());
        let verified = match self.local.get(&hash) {
            Some(hit) => hit,
            None => self.load(&hash).await?,
        };
        self.verify(&shape, &hash, verified, client_cert_fingerprint, needs)
            .await
    }

    /// Like [`Self::authenticate`], for a key this instance has verified lately (or a malformed
    /// one): decided without asking the shared cache or the database about the key. `None`
    /// when the key is not in this instance's cache.
    pub async fn authenticate_cached(
        &self,
        presented: &str,
        client_cert_fingerprint: Option<&str>,
        needs: Scope,
    ) -> Option<Result<Principal, AuthError>> {
        let Ok(shape) = ApiKeyShape::parse(presented) else {
            return Some(Err(AuthError::Malformed));
        };
        let hash = self.hasher.hash(presented.as_bytes());
        let verified = self.local.get(&hash)?;
        Some(
            self.verify(&shape, &hash, verified, client_cert_fingerprint, needs)
                .await,
        )
    }

    /// The checks of a found key: hash, tenant, expiry, revocation, tenant status, mTLS, and
    /// last the scope (a key that may not call the route learns so only once it proved itself).
    async fn verify(
        &self,
        shape: &ApiKeyShape,
        hash: &[u8; 32],
        verified: Verified,
        client_cert_fingerprint: Option<&str>,
        needs: Scope,
    ) -> Result<Principal, AuthError> {
        let mtls = verified.mtls.clone();
        let mut principal = check(shape, hash, verified, benteng_core::now())?;
        self.check_client_certificate(&principal, &mtls, client_cert_fingerprint)
            .await?;
        if !principal.scopes.contains(needs) {
            return Err(AuthError::MissingScope(needs));
        }
        principal.client_cert_fingerprint = client_cert_fingerprint.map(str::to_owned);
        Ok(principal)
    }

    /// The mTLS tenant binding: a certificate registered to another tenant is refused for
    /// everyone; a tenant that requires mTLS accepts only its own registered certificates.
    async fn check_client_certificate(
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
            &self.state,
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
            Ok(verified) => match serde_json::to_vec(&verified) {
                Ok(bytes) => self.state.set(&key, &bytes, self.ttl).await,
                Err(_) => self.state.delete(&key).await,
            },
            Err(_) => self.state.delete(&key).await,
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
