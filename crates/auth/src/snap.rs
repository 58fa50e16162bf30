//! SNAP (Bank Indonesia) credentials: B2B access tokens issued against a partner's RSA
//! signature, and transactional requests signed with HMAC-SHA512 under the partner's client
//! secret over the request and its token. The protocol itself is `benteng-snap`; this module
//! adds what needs storage and shared state: partners, tokens, the `X-PARTNER-ID` binding and
//! the uniqueness of `X-EXTERNAL-ID` and of signatures across instances.
//!
//! Tokens with their partner are cached as API keys are (`api_keys.rs`): this instance's memory,
//! then the shared cache (Redis), then the database; a revocation rewrites the shared entries
//! from the database and tells every instance over pub/sub to drop its local ones; a lookup
//! that raced an invalidation does not fill the cache (the epoch); a watermark poll is the
//! safety net. The partner's client secret stays sealed in both caches, as the store keeps it,
//! and is unsealed per request. The tenant and its mTLS binding are cached in this instance
//! only, dropped on the tenant invalidations API keys already publish.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use benteng_core::audit::AuditContext;
use benteng_core::ids::TenantId;
use benteng_core::scopes::{Scope, Scopes};
use benteng_core::tenant::Tenant;
use benteng_crypto::{ExposeSecret, SecretString};
use benteng_shared_state::{Event, SharedStateHandle};
use benteng_snap::{
    ClientSecret, PartnerCredential, PartnerPublicKey, RequestParts, SnapError, VerifyOptions,
};
use benteng_store::{SnapPartner, SnapToken, Store, StoreError, StoreResult, TenantMtls};
use benteng_vault::{Aad, KeyPurpose, Keyring, VaultError};
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use crate::cache::{INVALIDATION_CHANNEL, Invalidation, LocalCache, announce};
use crate::{Credential, Principal};

/// What a SNAP partner may do: exactly what SNAP's routes need (a transfer to an account, which
/// adds its recipient when new; its status; the balance). Partners have no scopes of their own.
pub const SNAP_SCOPES: Scopes = Scopes::empty()
    .with(Scope::TransfersWrite)
    .with(Scope::TransfersRead)
    .with(Scope::RecipientsWrite)
    .with(Scope::BalancesRead);

/// Characters of access tokens and client secrets: base62, copy-safe.
pub const BASE62: &[u8] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
/// 43 base62 characters ≈ 256 bits.
pub const TOKEN_CHARS: usize = 43;
/// Client secrets: 48 base62 characters ≈ 285 bits.
pub const CLIENT_SECRET_CHARS: usize = 48;

/// The request as received, for signature verification.
#[derive(Debug, Clone, Copy)]
pub struct SnapRequest<'a> {
    pub method: &'a str,
    /// Raw path, still percent-encoded.
    pub path: &'a str,
    /// Raw query, without `?`.
    pub query: Option<&'a str>,
    /// Raw body bytes, exactly as received.
    pub body: &'a [u8],
}

/// A token just issued: shown to the partner once, stored as SHA-256.
pub struct IssuedSnapToken {
    pub token: SecretString,
    pub expires_in: Duration,
}

/// Seals a client secret for storage: AES-256-GCM under the API-secret data key, bound to the
/// tenant, table, column and partner row.
pub fn seal_client_secret(
    keyring: &Keyring,
    tenant: TenantId,
    partner: uuid::Uuid,
    secret: &SecretString,
) -> Result<String, VaultError> {
    let (tenant, partner) = (tenant.to_string(), partner.to_string());
    keyring.encrypt(
        &KeyPurpose::API_SECRET,
        secret.expose_secret().as_bytes(),
        &Aad::new(&tenant, "snap_partners", "client_secret", &partner),
    )
}

fn unseal_client_secret(keyring: &Keyring, partner: &SnapPartner) -> Result<ClientSecret, ()> {
    let (tenant, id) = (partner.tenant_id.to_string(), partner.id.to_string());
    let clear = keyring
        .decrypt(
            &partner.client_secret_sealed,
            &Aad::new(&tenant, "snap_partners", "client_secret", &id),
        )
        .map_err(|error| tracing::error!(%error, "SNAP client secret cannot be unsealed"))?;
    ClientSecret::new(clear.expose_secret()).map_err(|_| ())
}

/// Lowercase hex SHA-256 of an access token: what the store keeps.
pub fn token_hash(token: &str) -> String {
    hex::encode(benteng_crypto::sha256(token.as_bytes()))
}

/// What the token caches hold: the token's row and its partner's (client secret sealed), as of
/// the last database read.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct CachedToken {
    token: SnapToken,
    partner: SnapPartner,
}

/// What the tenant cache holds: the tenant and its mTLS binding.
#[derive(Debug, Clone)]
struct CachedTenant {
    tenant: Tenant,
    mtls: TenantMtls,
}

fn shared_key(hash: &[u8; 32]) -> String {
    format!("snaptoken:{}", hex::encode(hash))
}

fn unavailable(error: impl std::fmt::Display) -> SnapError {
    tracing::error!(%error, "SNAP authentication could not reach storage");
    SnapError::general_error().with_detail("storage unavailable")
}

/// Without the shared state the external id and the signature cannot be checked for reuse, so
/// the request is refused (fails closed) with 503, as `/v1` money routes are: retry later.
fn shared_state_unavailable(error: impl std::fmt::Display) -> SnapError {
    tracing::warn!(%error, "SNAP authentication could not reach the shared state");
    SnapError::service_unavailable().with_detail("shared state unavailable")
}

pub struct SnapAuthenticator {
    store: Store,
    shared: SharedStateHandle,
    /// The shared cache's entries, MACed under the server secret.
    entries: crate::cache::SharedEntries,
    keyring: Arc<Keyring>,
    token_ttl: Duration,
    options: VerifyOptions,
    /// How long a token or tenant stays cached (revocation does not wait for it).
    cache_ttl: Duration,
    /// By SHA-256 of the token.
    tokens: LocalCache<[u8; 32], CachedToken>,
    tenants: LocalCache<TenantId, CachedTenant>,
    /// Bumped on every invalidation; a lookup that raced one does not fill the caches.
    epoch: AtomicU64,
}

impl SnapAuthenticator {
    /// `mac` keys the MACs of the shared cache's entries (the server secret).
    pub fn new(
        store: Store,
        shared: SharedStateHandle,
        mac: benteng_crypto::KeyedHasher,
        keyring: Arc<Keyring>,
        cache_ttl: Duration,
    ) -> Self {
        Self {
            store,
            entries: crate::cache::SharedEntries::new(shared.clone(), mac),
            shared,
            keyring,
            token_ttl: benteng_snap::DEFAULT_TOKEN_TTL,
            options: VerifyOptions::default(),
            cache_ttl,
            tokens: LocalCache::new(cache_ttl),
            tenants: LocalCache::new(cache_ttl),
            epoch: AtomicU64::new(0),
        }
    }

    /// Starts the background tasks that keep this instance's caches honest: the invalidation
    /// subscriber, and a poll of the SNAP watermark every `poll` (the safety net for processes
    /// pub/sub cannot reach, like the CLI beside an in-process shared state).
    pub fn spawn_invalidation(self: &Arc<Self>, poll: Duration) {
        crate::cache::spawn_invalidation(self, self.shared.subscribe(INVALIDATION_CHANNEL), poll);
    }

    fn apply(&self, event: Event) {
        self.epoch.fetch_add(1, Ordering::SeqCst);
        match event {
            Event::Resync => self.clear(),
            Event::Message(bytes) => match serde_json::from_slice(&bytes) {
                Ok(Invalidation::SnapPartner { id }) => {
                    self.tokens.remove_where(|cached| cached.partner.id == id);
                }
                Ok(Invalidation::Tenant { id }) => self.tenants.remove(&id),
                // API keys' caches apply these.
                Ok(Invalidation::Key { .. }) => {}
                Err(_) => self.clear(),
            },
        }
    }

    fn clear(&self) {
        self.tokens.clear();
        self.tenants.clear();
    }

    /// Refreshes what changed between two watermarks: the revoked tokens in both caches, and
    /// this instance's tenants when any tenant changed.
    async fn catch_up(
        &self,
        (seen_revoked, seen_updated): (i64, i64),
        (revoked, updated): (i64, i64),
    ) {
        self.epoch.fetch_add(1, Ordering::SeqCst);
        if updated != seen_updated {
            self.tenants.clear();
        }
        if revoked != seen_revoked {
            match self
                .store
                .snap_token_hashes_revoked_since(seen_revoked)
                .await
            {
                Ok(hashes) => self.refresh_all(&hashes).await,
                Err(error) => {
                    tracing::warn!(%error, "could not list revoked SNAP tokens; dropping the local cache");
                    self.tokens.clear();
                }
            }
        }
    }

    /// Revokes a partner and every token it holds, in the database and on every instance.
    /// `NotFound` when unknown or already revoked.
    pub async fn revoke_snap_partner(
        &self,
        client_id: &str,
        now: OffsetDateTime,
        context: &AuditContext,
    ) -> StoreResult<SnapPartner> {
        let partner = self
            .store
            .revoke_snap_partner(client_id, now, context)
            .await?;
        self.partner_changed(partner.id, now).await;
        Ok(partner)
    }

    /// Revokes every live token of a partner, in the database and on every instance; returns
    /// how many.
    pub async fn revoke_snap_tokens(
        &self,
        client_id: &str,
        now: OffsetDateTime,
        context: &AuditContext,
    ) -> StoreResult<u64> {
        let revoked = self
            .store
            .revoke_snap_tokens(client_id, now, context)
            .await?;
        let partner = self.store.snap_partner_by_client_id(client_id).await?;
        self.partner_changed(partner.id, now).await;
        Ok(revoked)
    }

    /// Rewrites the shared entries of the partner's tokens from the database, then tells every
    /// instance to drop its local ones.
    async fn partner_changed(&self, partner: uuid::Uuid, now: OffsetDateTime) {
        match self.store.snap_token_hashes_of_partner(partner, now).await {
            Ok(hashes) => self.refresh_all(&hashes).await,
            // The instances still drop their local entries (below); the shared ones are
            // rewritten by their watermark polls.
            Err(error) => tracing::warn!(%error, "could not list the partner's SNAP tokens"),
        }
        announce(&self.shared, &Invalidation::SnapPartner { id: partner }).await;
    }

    async fn refresh_all(&self, hashes: &[String]) {
        for hash in hashes {
            let mut raw = [0u8; 32];
            if hex::decode_to_slice(hash, &mut raw).is_ok() {
                self.refresh(&raw).await;
            }
        }
    }

    /// Overwrites the shared entry of a token with the database's current truth.
    async fn refresh(&self, hash: &[u8; 32]) {
        let key = shared_key(hash);
        let written = match self.read_token(hash).await {
            Ok(cached) => self.entries.set(&key, &cached, self.cache_ttl).await,
            Err(_) => self.entries.delete(&key).await,
        };
        if let Err(error) = written {
            tracing::warn!(%error, "could not update the shared SNAP token cache");
        }
        // Only now, with the shared entry fresh: a request that read the stale shared entry
        // meanwhile sees the epoch move and does not put it back into the local cache.
        self.epoch.fetch_add(1, Ordering::SeqCst);
        self.tokens.remove(hash);
    }

    /// A token with its partner: this instance's cache, the shared cache, then the database;
    /// fills both caches unless an invalidation raced the read.
    async fn token(&self, hash: &[u8; 32]) -> Result<CachedToken, SnapError> {
        if let Some(hit) = self.tokens.get(hash) {
            return Ok(hit);
        }
        crate::cache::read_through(
            &self.entries,
            &self.tokens,
            &self.epoch,
            hash,
            &shared_key(hash),
            self.cache_ttl,
            "SNAP token",
            || self.read_token(hash),
        )
        .await
    }

    async fn read_token(&self, hash: &[u8; 32]) -> Result<CachedToken, SnapError> {
        let token = match self.store.snap_token(&hex::encode(hash)).await {
            Ok(token) => token,
            Err(StoreError::NotFound) => {
                return Err(SnapError::invalid_token().with_detail("unknown token"));
            }
            Err(error) => return Err(unavailable(error)),
        };
        let partner = self
            .store
            .snap_partner(token.partner_id)
            .await
            .map_err(unavailable)?;
        Ok(CachedToken { token, partner })
    }

    /// A tenant with its mTLS binding: this instance's cache, then the database.
    async fn tenant(&self, id: TenantId) -> Result<CachedTenant, SnapError> {
        if let Some(hit) = self.tenants.get(&id) {
            return Ok(hit);
        }
        let epoch = self.epoch.load(Ordering::SeqCst);
        let tenant = self.store.tenant(id).await.map_err(unavailable)?;
        let mtls = self.store.tenant_mtls(id).await.map_err(unavailable)?;
        let cached = CachedTenant { tenant, mtls };
        if self.epoch.load(Ordering::SeqCst) == epoch {
            self.tenants.insert(id, cached.clone());
        }
        Ok(cached)
    }

    /// A live (not revoked) partner of an active tenant, by client id.
    async fn live_partner(&self, client_id: &str) -> Result<SnapPartner, SnapError> {
        let partner = match self.store.snap_partner_by_client_id(client_id).await {
            Ok(partner) => partner,
            Err(StoreError::NotFound) => {
                return Err(SnapError::unauthorized("Unknown client").with_detail("unknown client"));
            }
            Err(error) => return Err(unavailable(error)),
        };
        if partner.revoked_at.is_some() {
            return Err(SnapError::unauthorized("Unknown client").with_detail("partner revoked"));
        }
        Ok(partner)
    }

    /// `POST /v1.0/access-token/b2b`: checks the headers, the partner's SHA256withRSA signature
    /// over `client_id|X-TIMESTAMP` and the body, then issues a token valid 15 minutes. A
    /// signature seen before, on any instance, is a replay (409xx00): the same signed request
    /// never mints a second token. Errors are rendered with service code 73.
    pub async fn issue_token<F, V>(
        &self,
        headers: F,
        body: &[u8],
        context: &AuditContext,
    ) -> Result<IssuedSnapToken, SnapError>
    where
        F: Fn(&str) -> Option<V>,
        V: AsRef<[u8]>,
    {
        let headers = benteng_snap::check_token_headers(headers)?;
        let partner = self.live_partner(&headers.client_key).await?;
        let tenant = self
            .store
            .tenant(partner.tenant_id)
            .await
            .map_err(unavailable)?;
        if !tenant.is_active() {
            return Err(SnapError::unauthorized("Unknown client").with_detail("tenant suspended"));
        }
        let key = PartnerPublicKey::from_pem(&partner.public_key_pem).map_err(|error| {
            tracing::error!(%error, "stored SNAP partner key does not load");
            SnapError::general_error().with_detail("stored key invalid")
        })?;
        let now = benteng_core::now();
        let replay =
            benteng_snap::verify_token_request(&headers, &key, now, self.options.tolerance)?;
        benteng_snap::check_token_request_body(body)?;
        let fresh = self
            .shared
            .set_if_absent(&replay.key, b"1", replay.ttl)
            .await
            .map_err(shared_state_unavailable)?;
        if !fresh {
            return Err(SnapError::conflict().with_detail("token request replayed"));
        }
        let token = benteng_crypto::random_string(BASE62, TOKEN_CHARS).map_err(unavailable)?;
        let expires_at = now + self.token_ttl;
        self.store
            .insert_snap_token(
                &token_hash(token.expose_secret()),
                &partner,
                now,
                expires_at,
                context,
            )
            .await
            .map_err(unavailable)?;
        Ok(IssuedSnapToken {
            token,
            expires_in: self.token_ttl,
        })
    }

    /// A signed transactional request: token (401xx03 none, 401xx01 unknown, expired, revoked,
    /// or another partner's), headers, timestamp window and HMAC-SHA512 signature (400xx01/02,
    /// 401xx00), `X-PARTNER-ID` = the token's partner (401xx01), then `X-EXTERNAL-ID` unique per
    /// partner and Jakarta day and the signature never seen before, on every instance
    /// (409xx00). Then the mTLS tenant binding, as for API keys.
    pub async fn authenticate<F, V>(
        &self,
        request: &SnapRequest<'_>,
        headers: F,
        client_cert_fingerprint: Option<&str>,
    ) -> Result<Principal, SnapError>
    where
        F: Fn(&str) -> Option<V>,
        V: AsRef<[u8]>,
    {
        let authorization = headers("authorization");
        let token = benteng_snap::bearer_token(authorization.as_ref().map(AsRef::as_ref))?;
        let now = benteng_core::now();
        let CachedToken {
            token: stored,
            partner,
        } = self
            .token(&benteng_crypto::sha256(token.as_bytes()))
            .await?;
        if stored.revoked_at.is_some() {
            return Err(SnapError::invalid_token().with_detail("token revoked"));
        }
        if stored.expires_at <= now {
            return Err(SnapError::invalid_token().with_detail("token expired"));
        }
        if partner.revoked_at.is_some() {
            return Err(SnapError::invalid_token().with_detail("partner revoked"));
        }
        let CachedTenant { tenant, mtls } = self.tenant(partner.tenant_id).await?;
        if !tenant.is_active() {
            return Err(SnapError::invalid_token().with_detail("tenant suspended"));
        }
        let secret = unseal_client_secret(&self.keyring, &partner)
            .map_err(|()| SnapError::general_error().with_detail("client secret unavailable"))?;
        let parts = RequestParts {
            method: request.method,
            path: request.path,
            query: request.query,
            body: request.body,
            access_token: token,
        };
        let verified = benteng_snap::verify_request(
            &parts,
            headers,
            PartnerCredential::Symmetric(&secret),
            now,
            &self.options,
        )?;
        if !benteng_crypto::constant_time_eq(
            verified.partner_id.as_bytes(),
            partner.client_id.as_bytes(),
        ) {
            return Err(SnapError::invalid_token().with_detail("token of another partner"));
        }
        self.check_client_certificate(partner.tenant_id, &mtls, client_cert_fingerprint)
            .await?;
        // Last: only a request that passed every other check consumes its external id.
        let scope = &verified.external_id_scope;
        let first = self
            .shared
            .set_if_absent(&scope.key(), b"1", scope.ttl)
            .await
            .map_err(shared_state_unavailable)?;
        if !first {
            return Err(SnapError::conflict().with_detail("X-EXTERNAL-ID reused"));
        }
        let fresh = self
            .shared
            .set_if_absent(&verified.replay.key, b"1", verified.replay.ttl)
            .await
            .map_err(shared_state_unavailable)?;
        if !fresh {
            return Err(SnapError::conflict().with_detail("signature replayed"));
        }
        Ok(Principal {
            tenant,
            credential: Credential::Snap {
                partner: partner.id,
                client_id: partner.client_id,
                external_id: verified.external_id,
            },
            client_cert_fingerprint: client_cert_fingerprint.map(str::to_owned),
            scopes: SNAP_SCOPES,
        })
    }

    /// The mTLS tenant binding (see `ApiKeyAuthenticator`): a certificate of another tenant,
    /// or none of the tenant's own when it requires one, is refused (401xx00 here: SNAP has no
    /// 403 for authentication).
    async fn check_client_certificate(
        &self,
        tenant: TenantId,
        mtls: &TenantMtls,
        fingerprint: Option<&str>,
    ) -> Result<(), SnapError> {
        if let Some(fingerprint) = fingerprint
            && !mtls.is_registered(fingerprint)
        {
            match self.store.certificate_owner(fingerprint).await {
                Ok(Some(owner)) if owner != tenant => {
                    tracing::warn!(target: "security", %tenant, %owner, "SNAP request with another tenant's client certificate; refused");
                    return Err(SnapError::unauthorized("Certificate"));
                }
                Ok(_) => {}
                Err(error) => return Err(unavailable(error)),
            }
        }
        if mtls.required && !fingerprint.is_some_and(|f| mtls.is_registered(f)) {
            return Err(SnapError::unauthorized("Certificate"));
        }
        Ok(())
    }
}

impl crate::cache::Invalidated for SnapAuthenticator {
    type Mark = (i64, i64);

    const WHAT: &'static str = "SNAP";

    fn apply(&self, event: Event) {
        SnapAuthenticator::apply(self, event);
    }

    async fn watermark(&self) -> Result<Self::Mark, StoreError> {
        self.store.snap_watermark().await
    }

    async fn caught_up(&self, seen: Self::Mark, now: Self::Mark) {
        self.catch_up(seen, now).await;
    }
}
