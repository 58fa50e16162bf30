//! Staff API tokens: what automation presents on the operator API (`Authorization: Bearer
//! bt_staff_…`) in place of a browser session. A person issues them for themselves, naming the
//! permissions the token may use: a subset of what their roles grant at the time. Each request
//! is then checked against both the token's permissions and the person's *current* roles
//! ([`StaffPrincipal::permits`]), so a role taken away later narrows every token at once.
//!
//! Looked up like sessions: the shape check (no hashing for a malformed token), the keyed
//! hash, this instance's cache, then the database. Revocation, a role change, a disabling and a
//! sign-out everywhere are announced on the session channel and every instance drops the
//! entry; the session watermark includes the latest token revocation as the safety net.

use std::sync::atomic::Ordering;

use benteng_core::audit::AuditContext;
use benteng_core::ids::PersonId;
use benteng_core::roles::{Permission, Permissions};
use benteng_core::staff_token::{self, TokenLifetime, TokenName};
use benteng_crypto::{ExposeSecret, SecretString, random_string};
use benteng_store::{PersonStatus, StaffTokenRow, StoreError};
use time::OffsetDateTime;

use super::{
    Invalidation, PeopleAuthenticator, StaffCredential, StaffPrincipal, TOKEN_ALPHABET, TOUCH_EVERY,
};
use crate::AuthError;

/// A cached token: the principal it stands for and the use this instance last recorded.
#[derive(Debug, Clone)]
pub(super) struct CachedToken {
    pub(super) id: uuid::Uuid,
    pub(super) principal: StaffPrincipal,
    last_used_at: Option<OffsetDateTime>,
}

/// A token just issued: the secret is shown to its person this once.
pub struct IssuedToken {
    pub token: SecretString,
    pub row: StaffTokenRow,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum IssueTokenError {
    /// The person's roles do not grant a permission the token was to carry.
    #[error("your roles do not grant {0}")]
    NotGranted(Permission),
    /// A token names at least one permission.
    #[error("a token needs at least one permission")]
    NoPermissions,
    /// Only active platform staff hold tokens.
    #[error("only active platform staff hold staff tokens")]
    NotStaff,
    #[error("tokens cannot be issued right now")]
    Unavailable,
}

impl PeopleAuthenticator {
    fn token_hash(&self, token: &str) -> [u8; 32] {
        self.keyed("staff_token", token.as_bytes())
    }

    /// Issues a token for `person` (themselves, through the operator API; or the host's CLI
    /// for bootstrap automation). The permissions are checked against the roles the person
    /// holds now, read from the store. Audited as `staff_token.issued` under `context`.
    pub async fn issue_token(
        &self,
        person: PersonId,
        name: TokenName,
        permissions: Permissions,
        lifetime: TokenLifetime,
        context: &AuditContext,
    ) -> Result<IssuedToken, IssueTokenError> {
        if permissions.is_empty() {
            return Err(IssueTokenError::NoPermissions);
        }
        let person = match self.store.person(person).await {
            Ok(person) => person,
            Err(StoreError::NotFound) => return Err(IssueTokenError::NotStaff),
            Err(error) => {
                tracing::error!(%error, "staff token issue: person lookup failed");
                return Err(IssueTokenError::Unavailable);
            }
        };
        if person.tenant.is_some() || person.status != PersonStatus::Active {
            return Err(IssueTokenError::NotStaff);
        }
        if let Some(missing) = permissions.first_not_granted_by(person.roles) {
            return Err(IssueTokenError::NotGranted(missing));
        }
        let secret = random_string(TOKEN_ALPHABET, staff_token::SECRET_LEN)
            .map_err(|_| IssueTokenError::Unavailable)?;
        let token =
            SecretString::from(format!("{}{}", staff_token::PREFIX, secret.expose_secret()));
        let now = self.clock.now();
        let row = StaffTokenRow {
            id: uuid::Uuid::now_v7(),
            person: person.id,
            name,
            token_hash: hex::encode(self.token_hash(token.expose_secret())),
            permissions,
            created_at: now,
            expires_at: now + lifetime.duration(),
            revoked_at: None,
            last_used_at: None,
        };
        self.store
            .insert_staff_token(&row, context)
            .await
            .map_err(|error| {
                tracing::error!(%error, "staff token issue failed in the store");
                IssueTokenError::Unavailable
            })?;
        Ok(IssuedToken { token, row })
    }

    /// The person behind a staff token, if the token is live: well formed, known, not revoked,
    /// not expired, its person active platform staff. Records use at most once a minute.
    pub async fn authenticate_token(&self, token: &str) -> Result<StaffPrincipal, AuthError> {
        if !staff_token::is_well_formed(token) {
            return Err(AuthError::Malformed);
        }
        let hash = self.token_hash(token);
        let mut entry = match self.tokens.get(&hash) {
            Some(cached) => cached,
            None => self.load_token(&hash).await?,
        };
        let now = self.clock.now();
        if now >= entry.principal.expires_at {
            return Err(AuthError::Expired);
        }
        if entry
            .last_used_at
            .is_none_or(|used| now - used >= TOUCH_EVERY)
        {
            // Only a record of use: a failure to write it does not refuse the request.
            if let Err(error) = self.store.touch_staff_token(entry.id, now).await {
                tracing::warn!(%error, "could not record a staff token's use");
            }
            entry.last_used_at = Some(now);
            let seen = self.epoch.load(Ordering::SeqCst);
            if self.tokens.get(&hash).is_some() && self.epoch.load(Ordering::SeqCst) == seen {
                self.tokens.insert(hash, entry.clone());
            }
        }
        Ok(entry.principal)
    }

    async fn load_token(&self, hash: &[u8; 32]) -> Result<CachedToken, AuthError> {
        let seen = self.epoch.load(Ordering::SeqCst);
        let (token, person) = match self.store.staff_token_by_hash(&hex::encode(hash)).await {
            Ok(Some(found)) => found,
            Ok(None) => return Err(AuthError::Unknown),
            Err(error) => {
                tracing::error!(%error, "staff token lookup failed");
                return Err(AuthError::Unavailable);
            }
        };
        if token.revoked_at.is_some()
            || person.status != PersonStatus::Active
            || person.tenant.is_some()
        {
            return Err(AuthError::Revoked);
        }
        let cached = CachedToken {
            id: token.id,
            principal: StaffPrincipal {
                person: person.id,
                login: person.login,
                roles: person.roles,
                tenant: person.tenant,
                via: StaffCredential::Token {
                    id: token.id,
                    permissions: token.permissions,
                },
                expires_at: token.expires_at,
            },
            last_used_at: token.last_used_at,
        };
        // A lookup that raced an invalidation does not fill the cache: it may hold what the
        // invalidation just took away.
        if self.epoch.load(Ordering::SeqCst) == seen {
            self.tokens.insert(*hash, cached.clone());
        }
        Ok(cached)
    }

    /// Revokes one of `owner`'s tokens on every instance. `NotFound` when `owner` has no such
    /// token; `Ok(false)` when it was revoked already.
    pub async fn revoke_token(
        &self,
        owner: PersonId,
        id: uuid::Uuid,
        context: &AuditContext,
    ) -> Result<bool, StoreError> {
        let revoked = self.store.revoke_staff_token(owner, id, context).await?;
        self.announce(&Invalidation::Token { id }).await;
        Ok(revoked)
    }

    /// Revokes every token of `person` on every instance (containment). Returns how many.
    pub async fn revoke_tokens_of(
        &self,
        person: PersonId,
        context: &AuditContext,
    ) -> Result<u64, StoreError> {
        let revoked = self.store.revoke_staff_tokens_of(person, context).await?;
        self.person_changed(person).await;
        Ok(revoked)
    }
}
