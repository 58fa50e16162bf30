//! SNAP (Bank Indonesia) credentials: B2B access tokens issued against a partner's RSA
//! signature, and transactional requests signed with HMAC-SHA512 under the partner's client
//! secret over the request and its token. The protocol itself is `benteng-snap`; this module
//! adds what needs storage and shared state: partners, tokens, the `X-PARTNER-ID` binding and
//! the uniqueness of `X-EXTERNAL-ID` and of signatures across instances.

use std::sync::Arc;
use std::time::Duration;

use benteng_core::audit::AuditContext;
use benteng_core::ids::TenantId;
use benteng_crypto::{ExposeSecret, SecretString};
use benteng_shared_state::SharedStateHandle;
use benteng_snap::{
    ClientSecret, PartnerCredential, PartnerPublicKey, RequestParts, SnapError, VerifyOptions,
};
use benteng_store::{SnapPartner, Store, StoreError};
use benteng_vault::{Aad, KeyPurpose, Keyring, VaultError};

use crate::{Credential, Principal};

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
    keyring: Arc<Keyring>,
    token_ttl: Duration,
    options: VerifyOptions,
}

impl SnapAuthenticator {
    pub fn new(store: Store, shared: SharedStateHandle, keyring: Arc<Keyring>) -> Self {
        Self {
            store,
            shared,
            keyring,
            token_ttl: benteng_snap::DEFAULT_TOKEN_TTL,
            options: VerifyOptions::default(),
        }
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
    /// over `client_id|X-TIMESTAMP` and the body, then issues a token valid 15 minutes.
    /// Errors are rendered with service code 73.
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
        benteng_snap::verify_token_request(&headers, &key, now, self.options.tolerance)?;
        benteng_snap::check_token_request_body(body)?;
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
        let stored = match self.store.snap_token(&token_hash(token)).await {
            Ok(stored) => stored,
            Err(StoreError::NotFound) => {
                return Err(SnapError::invalid_token().with_detail("unknown token"));
            }
            Err(error) => return Err(unavailable(error)),
        };
        if stored.revoked_at.is_some() {
            return Err(SnapError::invalid_token().with_detail("token revoked"));
        }
        if stored.expires_at <= now {
            return Err(SnapError::invalid_token().with_detail("token expired"));
        }
        let partner = match self.store.snap_partner(stored.partner_id).await {
            Ok(partner) if partner.revoked_at.is_none() => partner,
            Ok(_) => return Err(SnapError::invalid_token().with_detail("partner revoked")),
            Err(error) => return Err(unavailable(error)),
        };
        let tenant = self
            .store
            .tenant(partner.tenant_id)
            .await
            .map_err(unavailable)?;
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
        self.check_client_certificate(partner.tenant_id, client_cert_fingerprint)
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
            .set_if_absent(&verified.replay_key, b"1", verified.replay_ttl)
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
        })
    }

    /// The mTLS tenant binding (see `ApiKeyAuthenticator`): a certificate of another tenant,
    /// or none of the tenant's own when it requires one, is refused (401xx00 here: SNAP has no
    /// 403 for authentication).
    async fn check_client_certificate(
        &self,
        tenant: TenantId,
        fingerprint: Option<&str>,
    ) -> Result<(), SnapError> {
        let mtls = self.store.tenant_mtls(tenant).await.map_err(unavailable)?;
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
