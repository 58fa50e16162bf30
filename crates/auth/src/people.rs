//! People: enrolment, sign-in (password and a second factor), and browser sessions.
//!
//! Secrets at rest: passwords as Argon2id, TOTP secrets sealed under the API-secret data key,
//! session tokens, enrolment codes and recovery codes as keyed hashes under the server secret
//! (each with its own domain prefix). A session token lives only in the person's cookie.
//!
//! Sessions are looked up like API keys: this instance's cache, then the database. Revocation
//! (sign-out, sign-out everywhere, a disabled person, a role change) is announced over pub/sub
//! and every instance drops the entry at once; a poll of the store's session watermark is the
//! safety net where pub/sub cannot reach (the CLI beside an in-process cache).
//!
//! Sign-in never says which check failed: an unknown login, a wrong password and a wrong code
//! get the same answer after the same Argon2id work. Failures count against the login name
//! (known or not) in the shared state: five in fifteen minutes lock it for the rest of the
//! window, and the lockout is audited.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use benteng_core::audit::{AuditContext, AuditEvent, Retention};
use benteng_core::clock::Clock;
use benteng_core::ids::{PersonId, TenantId};
use benteng_core::people::{LoginName, NewPassword, PasswordRefusal};
use benteng_core::roles::{Permission, Permissions, Roles, TenantRole};
use benteng_crypto::password::{PasswordHash, PasswordHasher};
use benteng_crypto::totp::{Totp, TotpSecret};
use benteng_crypto::{ExposeSecret, KeyedHasher, SecretString, constant_time_eq, random_string};
use benteng_shared_state::{Admission, Decision, Event, LimitCheck, SharedStateHandle};
use benteng_store::{NewPerson, PersonRow, PersonStatus, SessionRow, Store, StoreError};
use benteng_vault::{Aad, KeyPurpose, Keyring};
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use crate::cache::LocalCache;

mod tokens;
pub use tokens::{IssueTokenError, IssuedToken};

/// The pub/sub channel of session invalidations.
const CHANNEL: &str = "sessions.invalidate";
/// Failed sign-ins a login name may have within [`THROTTLE_WINDOW`].
const THROTTLE_LIMIT: i64 = 5;
const THROTTLE_WINDOW: Duration = Duration::from_secs(15 * 60);
/// A session's activity is written to the store at most this often (the idle clock's grain).
const TOUCH_EVERY: time::Duration = time::Duration::seconds(60);
const TOKEN_ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
/// 43 characters of base62: over 256 bits.
const TOKEN_LEN: usize = 43;
const RECOVERY_CODES: usize = 10;

/// How long sessions and enrolment codes live (the `[people]` config section).
#[derive(Debug, Clone, Copy)]
pub struct SessionPolicy {
    pub idle: Duration,
    pub absolute: Duration,
    pub enrolment: Duration,
}

impl Default for SessionPolicy {
    fn default() -> Self {
        Self {
            idle: Duration::from_secs(15 * 60),
            absolute: Duration::from_secs(8 * 3600),
            enrolment: Duration::from_secs(24 * 3600),
        }
    }
}

/// Who a sign-in or enrolment endpoint is for: staff on the operator API, tenant users on the
/// tenant API. A person of the other kind is refused there as if unknown, so a staff session
/// is never created through a public listener.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Audience {
    Staff,
    TenantUsers,
}

impl Audience {
    fn admits(self, person: &PersonRow) -> bool {
        person.tenant.is_some() == (self == Audience::TenantUsers)
    }
}

/// A signed-in person, as handlers and the audit trail see them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StaffPrincipal {
    pub person: PersonId,
    pub login: LoginName,
    pub roles: Roles,
    /// Tenant users only.
    pub tenant: Option<(TenantId, TenantRole)>,
    /// The credential the request came with.
    pub via: StaffCredential,
    /// When that credential ends (the session's absolute lifetime, the token's expiry).
    #[serde(with = "time::serde::rfc3339")]
    pub expires_at: OffsetDateTime,
}

/// How a staff member authenticated: a browser session, or one of their API tokens (ids,
/// never the secrets).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum StaffCredential {
    Session {
        id: uuid::Uuid,
    },
    /// A token may do only what it names, and only while the person's roles grant it.
    Token {
        id: uuid::Uuid,
        permissions: Permissions,
    },
}

impl StaffPrincipal {
    /// Whether this caller may do what `permission` allows: their current roles grant it and,
    /// through a token, the token names it. The one check of the operator API.
    pub fn permits(&self, permission: Permission) -> bool {
        self.roles.permits(permission)
            && match self.via {
                StaffCredential::Session { .. } => true,
                StaffCredential::Token { permissions, .. } => permissions.contains(permission),
            }
    }

    /// The session's id, when the caller came through a browser session.
    pub fn session(&self) -> Option<uuid::Uuid> {
        match self.via {
            StaffCredential::Session { id } => Some(id),
            StaffCredential::Token { .. } => None,
        }
    }

    /// The audit context of this person's actions: who, through which session or token
    /// (`token:<id>`), with which roles.
    pub fn audit_context(&self, request: &AuditContext) -> AuditContext {
        let session = match self.via {
            StaffCredential::Session { id } => id.to_string(),
            StaffCredential::Token { id, .. } => format!("token:{id}"),
        };
        AuditContext {
            actor: format!("staff:{}", self.login),
            session: Some(session),
            roles: Some(self.roles.to_string()),
            ..request.clone()
        }
    }
}

/// A cached session: the principal and the activity this instance last knew of.
#[derive(Debug, Clone)]
struct Cached {
    principal: StaffPrincipal,
    session: uuid::Uuid,
    last_seen_at: OffsetDateTime,
}

/// A new session: the token goes into the cookie, the CSRF token into the page or client.
pub struct SignedIn {
    pub token: SecretString,
    pub csrf_token: String,
    pub principal: StaffPrincipal,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum SignInError {
    /// Unknown login, wrong password, wrong or replayed code, disabled person: one answer.
    #[error("the login, password or code is not right")]
    Invalid,
    /// Too many failures for this login name lately.
    #[error("too many failed sign-ins; try again later")]
    Throttled { retry_after: Duration },
    #[error("sign-in is unavailable right now")]
    Unavailable,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EnrolmentError {
    /// Unknown, spent or expired enrolment code (one answer for all three).
    #[error("the enrolment code is not valid")]
    InvalidCode,
    #[error("the password is not acceptable: {0}")]
    Password(PasswordRefusal),
    /// The confirming TOTP code did not match (or enrolment was not started).
    #[error("the code does not match the authenticator")]
    WrongCode,
    #[error("enrolment is unavailable right now")]
    Unavailable,
}

/// What enrolment's first step hands the person: the TOTP secret to put in an authenticator.
pub struct EnrolmentStarted {
    pub totp_secret: SecretString,
    pub provisioning_uri: SecretString,
}

/// A person just created: their one-time enrolment code, shown once.
pub struct Created {
    pub person: PersonId,
    pub enrolment_code: SecretString,
    pub expires_at: OffsetDateTime,
}

pub struct PeopleAuthenticator {
    store: Store,
    state: SharedStateHandle,
    hasher: KeyedHasher,
    passwords: Arc<PasswordHasher>,
    keyring: Arc<Keyring>,
    policy: SessionPolicy,
    clock: Arc<dyn Clock>,
    local: LocalCache<[u8; 32], Cached>,
    /// Staff tokens by their keyed hash (see `tokens`).
    tokens: LocalCache<[u8; 32], tokens::CachedToken>,
    /// Bumped on every invalidation; a read that raced one does not fill the cache.
    epoch: AtomicU64,
    /// Argon2id runs at most one per core at a time: each holds tens of MiB and a core for a
    /// fifth of a second, so a burst of sign-ins queues instead of exhausting memory or
    /// starving the API's other requests.
    hashing: tokio::sync::Semaphore,
}

fn unavailable(error: impl std::fmt::Display) -> SignInError {
    tracing::error!(%error, "sign-in failed on a dependency");
    SignInError::Unavailable
}

impl PeopleAuthenticator {
    pub fn new(
        store: Store,
        state: SharedStateHandle,
        hasher: KeyedHasher,
        passwords: PasswordHasher,
        keyring: Arc<Keyring>,
        policy: SessionPolicy,
        clock: Arc<dyn Clock>,
    ) -> Self {
        Self {
            store,
            state,
            hasher,
            passwords: Arc::new(passwords),
            keyring,
            local: LocalCache::new(policy.idle.min(Duration::from_secs(300))),
            tokens: LocalCache::new(Duration::from_secs(300)),
            policy,
            clock,
            epoch: AtomicU64::new(0),
            hashing: tokio::sync::Semaphore::new(
                std::thread::available_parallelism().map_or(1, |n| n.get()),
            ),
        }
    }

    /// Runs password work on a blocking thread, within the hashing limit.
    async fn password_work<T: Send + 'static>(
        &self,
        work: impl FnOnce(&PasswordHasher) -> T + Send + 'static,
    ) -> Result<T, SignInError> {
        let _permit = self.hashing.acquire().await.map_err(unavailable)?;
        let passwords = self.passwords.clone();
        tokio::task::spawn_blocking(move || work(&passwords))
            .await
            .map_err(unavailable)
    }

    pub fn policy(&self) -> SessionPolicy {
        self.policy
    }

    fn keyed(&self, domain: &str, value: &[u8]) -> [u8; 32] {
        let mut input = Vec::with_capacity(domain.len() + 1 + value.len());
        input.extend_from_slice(domain.as_bytes());
        input.push(0);
        input.extend_from_slice(value);
        self.hasher.hash(&input)
    }

    /// The CSRF token of a session: derived from its token, so it is bound to that session
    /// and needs no storage. A token from another session never matches.
    pub fn csrf_token(&self, session_token: &str) -> String {
        hex::encode(self.keyed("csrf", session_token.as_bytes()))
    }

    /// Whether `presented` is the CSRF token of `session_token` (constant time).
    pub fn csrf_matches(&self, session_token: &str, presented: &str) -> bool {
        constant_time_eq(
            self.csrf_token(session_token).as_bytes(),
            presented.as_bytes(),
        )
    }

    // ----- creating people and enrolling them -----

    /// Creates a person who must enrol (choose a password, register a TOTP authenticator)
    /// with the returned code before `policy.enrolment` runs out.
    pub async fn create(
        &self,
        login: &LoginName,
        tenant: Option<(TenantId, TenantRole)>,
        roles: Roles,
        context: &AuditContext,
    ) -> Result<Created, StoreError> {
        let code = random_string(TOKEN_ALPHABET, TOKEN_LEN)
            .map_err(|e| StoreError::Corrupt(e.to_string()))?;
        let hash = hex::encode(self.keyed("enrol", code.expose_secret().as_bytes()));
        let expires_at = self.clock.now() + self.policy.enrolment;
        let person = PersonId::new();
        self.store
            .insert_person(
                &NewPerson {
                    id: person,
                    login,
                    tenant,
                    roles,
                    enrolment_hash: &hash,
                    enrolment_expires_at: expires_at,
                },
                context,
            )
            .await?;
        Ok(Created {
            person,
            enrolment_code: code,
            expires_at,
        })
    }

    async fn enrolling(
        &self,
        audience: Audience,
        code: &SecretString,
    ) -> Result<PersonRow, EnrolmentError> {
        let hash = hex::encode(self.keyed("enrol", code.expose_secret().as_bytes()));
        match self.store.person_by_enrolment(&hash).await {
            Ok(Some(person)) if audience.admits(&person) => Ok(person),
            Ok(_) => Err(EnrolmentError::InvalidCode),
            Err(error) => {
                tracing::error!(%error, "enrolment lookup failed");
                Err(EnrolmentError::Unavailable)
            }
        }
    }

    /// Enrolment, first step: the password (checked against the policy and the common-password
    /// list) and a new TOTP secret, returned for the person's authenticator app.
    pub async fn start_enrolment(
        &self,
        audience: Audience,
        code: &SecretString,
        password: SecretString,
        context: &AuditContext,
    ) -> Result<EnrolmentStarted, EnrolmentError> {
        let person = self.enrolling(audience, code).await?;
        let password =
            NewPassword::parse(password, &person.login).map_err(EnrolmentError::Password)?;
        let hash = self
            .password_work(move |passwords| passwords.hash(password.secret()))
            .await
            .map_err(|_| EnrolmentError::Unavailable)?
            .map_err(|_| EnrolmentError::Unavailable)?;
        let secret = TotpSecret::generate().map_err(|_| EnrolmentError::Unavailable)?;
        let sealed = self
            .seal_totp(person.id, &secret)
            .map_err(|_| EnrolmentError::Unavailable)?;
        let context = for_person(context, &person);
        self.store
            .set_enrolment_credentials(person.id, hash.as_str(), &sealed, &context)
            .await
            .map_err(|_| EnrolmentError::Unavailable)?;
        Ok(EnrolmentStarted {
            totp_secret: secret.to_base32(),
            provisioning_uri: Totp::STANDARD.provisioning_uri(
                &secret,
                "benteng",
                person.login.as_ref(),
            ),
        })
    }

    /// Enrolment, last step: a code from the new authenticator confirms it; the person becomes
    /// active and gets their recovery codes, shown this once.
    pub async fn finish_enrolment(
        &self,
        audience: Audience,
        code: &SecretString,
        totp_code: &str,
        context: &AuditContext,
    ) -> Result<Vec<SecretString>, EnrolmentError> {
        let person = self.enrolling(audience, code).await?;
        let sealed = person
            .totp_pending_sealed
            .as_deref()
            .ok_or(EnrolmentError::WrongCode)?;
        let secret = self
            .unseal_totp(person.id, sealed)
            .map_err(|_| EnrolmentError::Unavailable)?;
        let step = Totp::STANDARD
            .verify(&secret, totp_code, unix(self.clock.now()))
            .ok_or(EnrolmentError::WrongCode)?;
        let codes = benteng_crypto::recovery::generate_codes(RECOVERY_CODES)
            .map_err(|_| EnrolmentError::Unavailable)?;
        let hashes: Vec<String> = codes
            .iter()
            .filter_map(|code| benteng_crypto::recovery::normalize(code.expose_secret()))
            .map(|normal| self.recovery_hash(person.id, &normal))
            .collect();
        let context = for_person(context, &person);
        self.store
            .complete_enrolment(person.id, step_i64(step), &hashes, &context)
            .await
            .map_err(|_| EnrolmentError::Unavailable)?;
        Ok(codes)
    }

    fn recovery_hash(&self, person: PersonId, normalized: &str) -> String {
        let value = format!("{person}:{normalized}");
        hex::encode(self.keyed("recovery", value.as_bytes()))
    }

    fn seal_totp(&self, person: PersonId, secret: &TotpSecret) -> Result<String, ()> {
        let id = person.to_string();
        self.keyring
            .encrypt(
                &KeyPurpose::API_SECRET,
                secret.expose_bytes(),
                &Aad::new("platform", "people", "totp", &id),
            )
            .map_err(|error| tracing::error!(%error, "sealing a TOTP secret failed"))
    }

    fn unseal_totp(&self, person: PersonId, sealed: &str) -> Result<TotpSecret, ()> {
        let id = person.to_string();
        let clear = self
            .keyring
            .decrypt(sealed, &Aad::new("platform", "people", "totp", &id))
            .map_err(|error| tracing::error!(%error, "a TOTP secret cannot be unsealed"))?;
        TotpSecret::from_bytes(clear.expose_secret().to_vec()).map_err(|_| ())
    }

    // ----- signing in -----

    /// Signs a person in with their password and a TOTP code or one of their recovery codes.
    pub async fn sign_in(
        &self,
        audience: Audience,
        login: &str,
        password: &SecretString,
        second_factor: &SecretString,
        context: &AuditContext,
    ) -> Result<SignedIn, SignInError> {
        let throttle = LimitCheck {
            key: format!(
                "signin:{}",
                hex::encode(&self.keyed("signin", login.trim().to_lowercase().as_bytes())[..16])
            ),
            limit: THROTTLE_LIMIT,
        };
        self.refuse_if_throttled(&throttle).await?;
        let person = match login.parse::<LoginName>() {
            Ok(login) => self
                .store
                .person_by_login(&login)
                .await
                .map_err(unavailable)?,
            Err(_) => None,
        };
        let verified = self.check_password(person.as_ref(), password).await?;
        let person = match (person, verified) {
            (Some(person), true)
                if person.status == PersonStatus::Active && audience.admits(&person) =>
            {
                match self
                    .check_second_factor(&person, second_factor, context)
                    .await?
                {
                    true => Some(person),
                    false => None,
                }
            }
            _ => None,
        };
        let Some(person) = person else {
            self.count_failure(&throttle, login, context).await;
            return Err(SignInError::Invalid);
        };
        if let Some(stored) = person
            .password_hash
            .as_deref()
            .and_then(|h| PasswordHash::parse(h).ok())
            && self.passwords.needs_rehash(&stored)
        {
            self.rehash(&person, password, context).await;
        }
        self.open_session(person, context).await
    }

    /// The same Argon2id work whether or not the person exists or has a password.
    async fn check_password(
        &self,
        person: Option<&PersonRow>,
        password: &SecretString,
    ) -> Result<bool, SignInError> {
        let stored = person
            .and_then(|p| p.password_hash.as_deref())
            .and_then(|h| PasswordHash::parse(h).ok());
        let password = password.clone();
        self.password_work(move |passwords| match stored {
            Some(hash) => passwords.verify(&hash, &password),
            None => passwords.verify_unknown(&password),
        })
        .await
    }

    /// A TOTP code (accepted once: its time step must be later than the last accepted) or an
    /// unused recovery code.
    async fn check_second_factor(
        &self,
        person: &PersonRow,
        code: &SecretString,
        context: &AuditContext,
    ) -> Result<bool, SignInError> {
        let code = code.expose_secret().trim();
        if code.len() == 6 && code.bytes().all(|b| b.is_ascii_digit()) {
            let Some(sealed) = person.totp_sealed.as_deref() else {
                return Ok(false);
            };
            let secret = self
                .unseal_totp(person.id, sealed)
                .map_err(unavailable_unit)?;
            return match Totp::STANDARD.verify(&secret, code, unix(self.clock.now())) {
                Some(step) => self
                    .store
                    .accept_totp_step(person.id, step_i64(step))
                    .await
                    .map_err(unavailable),
                None => Ok(false),
            };
        }
        let Some(normal) = benteng_crypto::recovery::normalize(code) else {
            return Ok(false);
        };
        let hash = self.recovery_hash(person.id, &normal);
        self.store
            .use_recovery_code(person.id, &hash, &for_person(context, person))
            .await
            .map_err(unavailable)
    }

    async fn rehash(&self, person: &PersonRow, password: &SecretString, context: &AuditContext) {
        let password = password.clone();
        if let Ok(Ok(hash)) = self
            .password_work(move |passwords| passwords.hash(&password))
            .await
            && let Err(error) = self
                .store
                .set_password_hash(person.id, hash.as_str(), &for_person(context, person))
                .await
        {
            tracing::warn!(%error, "could not store a stronger password hash");
        }
    }

    async fn refuse_if_throttled(&self, throttle: &LimitCheck) -> Result<(), SignInError> {
        let admission = Admission {
            guard: Some(throttle),
            limits: &[],
            key: None,
            window: THROTTLE_WINDOW,
        };
        // Fail closed: without the counters there is no brute-force protection.
        let admitted = self.state.admit(&admission).await.map_err(unavailable)?;
        match admitted.decision {
            Decision::Blocked(counter) => Err(SignInError::Throttled {
                retry_after: counter.resets_in,
            }),
            _ => Ok(()),
        }
    }

    async fn count_failure(&self, throttle: &LimitCheck, login: &str, context: &AuditContext) {
        let admission = Admission {
            guard: None,
            limits: std::slice::from_ref(throttle),
            key: None,
            window: THROTTLE_WINDOW,
        };
        let reached = match self.state.admit(&admission).await {
            Ok(admitted) => match admitted.decision {
                Decision::Admitted { counters, .. } => {
                    counters.first().is_some_and(|c| c.value >= THROTTLE_LIMIT)
                }
                _ => false,
            },
            Err(error) => {
                tracing::warn!(%error, "could not count a failed sign-in");
                false
            }
        };
        let excerpt: String = login.chars().take(64).collect();
        let mut event = AuditEvent::new(
            context,
            "person.sign_in_failed",
            Retention::Access,
            ("login", format!("{excerpt:?}")),
        );
        if reached {
            event = AuditEvent::new(
                context,
                "person.locked_out",
                Retention::Security,
                ("login", format!("{excerpt:?}")),
            )
            .change(
                "locked_for_secs",
                serde_json::Value::Null,
                THROTTLE_WINDOW.as_secs().into(),
            );
        }
        if let Err(error) = self.store.audit(&event).await {
            tracing::error!(%error, "could not record a failed sign-in");
        }
    }

    async fn open_session(
        &self,
        person: PersonRow,
        context: &AuditContext,
    ) -> Result<SignedIn, SignInError> {
        let token = random_string(TOKEN_ALPHABET, TOKEN_LEN).map_err(unavailable)?;
        let now = self.clock.now();
        let session = SessionRow {
            id: uuid::Uuid::now_v7(),
            token_hash: hex::encode(self.keyed("session", token.expose_secret().as_bytes())),
            person: person.id,
            ip: context.ip.clone(),
            created_at: now,
            last_seen_at: now,
            expires_at: now + self.policy.absolute,
            revoked_at: None,
        };
        let principal = principal_of(&session, &person);
        let audit = principal.audit_context(context);
        self.store
            .insert_session(&session, &audit)
            .await
            .map_err(unavailable)?;
        let csrf_token = self.csrf_token(token.expose_secret());
        Ok(SignedIn {
            token,
            csrf_token,
            principal,
        })
    }

    // ----- sessions -----

    /// The person behind a session token, if the session is live: not revoked, within its
    /// absolute lifetime and its idle timeout, its person active. Records activity.
    pub async fn authenticate(&self, token: &str) -> Result<StaffPrincipal, crate::AuthError> {
        use crate::AuthError;
        if token.len() != TOKEN_LEN || !token.bytes().all(|b| b.is_ascii_alphanumeric()) {
            return Err(AuthError::Malformed);
        }
        let hash = self.keyed("session", token.as_bytes());
        let now = self.clock.now();
        let idle = self.policy.idle;
        let mut entry = match self.local.get(&hash) {
            // A cached entry past the idle time may be stale: another instance may have seen
            // activity since. Ask the store before refusing.
            Some(cached) if now - cached.last_seen_at < idle => cached,
            _ => self.load(&hash).await?,
        };
        if now >= entry.principal.expires_at {
            return Err(AuthError::Expired);
        }
        if now - entry.last_seen_at >= idle {
            return Err(AuthError::Expired);
        }
        if now - entry.last_seen_at >= TOUCH_EVERY {
            self.store
                .touch_session(entry.session, now)
                .await
                .map_err(|_| AuthError::Unavailable)?;
            entry.last_seen_at = now;
            self.local.insert(hash, entry.clone());
        }
        Ok(entry.principal)
    }

    async fn load(&self, hash: &[u8; 32]) -> Result<Cached, crate::AuthError> {
        use crate::AuthError;
        let seen = self.epoch.load(Ordering::SeqCst);
        let (session, person) = match self.store.session_by_hash(&hex::encode(hash)).await {
            Ok(Some(found)) => found,
            Ok(None) => return Err(AuthError::Unknown),
            Err(error) => {
                tracing::error!(%error, "session lookup failed");
                return Err(AuthError::Unavailable);
            }
        };
        if session.revoked_at.is_some() || person.status != PersonStatus::Active {
            return Err(AuthError::Revoked);
        }
        let cached = Cached {
            principal: principal_of(&session, &person),
            session: session.id,
            last_seen_at: session.last_seen_at,
        };
        if self.epoch.load(Ordering::SeqCst) == seen {
            self.local.insert(*hash, cached.clone());
        }
        Ok(cached)
    }

    /// Ends the principal's session (sign-out). A caller through a token has no session to
    /// end: nothing happens (the route that calls this takes sessions only).
    pub async fn sign_out(
        &self,
        principal: &StaffPrincipal,
        context: &AuditContext,
    ) -> Result<(), StoreError> {
        let Some(session) = principal.session() else {
            return Ok(());
        };
        self.store
            .revoke_session(session, &principal.audit_context(context))
            .await?;
        self.announce(&Invalidation::Session { id: session }).await;
        Ok(())
    }

    /// Ends a session by its id (a tenant user's sign-out, where the caller is a `Principal`).
    pub async fn end_session(
        &self,
        session: uuid::Uuid,
        context: &AuditContext,
    ) -> Result<(), StoreError> {
        self.store.revoke_session(session, context).await?;
        self.announce(&Invalidation::Session { id: session }).await;
        Ok(())
    }

    /// Ends every session of `person` and revokes their staff tokens (sign out everywhere, or
    /// containment by another person).
    pub async fn sign_out_everywhere(
        &self,
        person: PersonId,
        context: &AuditContext,
    ) -> Result<u64, StoreError> {
        let ended = self.store.revoke_sessions_of(person, context).await?;
        self.person_changed(person).await;
        Ok(ended)
    }

    /// Tells every instance to drop the person's cached sessions and tokens: after a role change, a
    /// disabling, or any other change to what they may do.
    pub async fn person_changed(&self, person: PersonId) {
        self.announce(&Invalidation::Person { id: person }).await;
    }

    async fn announce(&self, invalidation: &Invalidation) {
        let Ok(message) = serde_json::to_vec(invalidation) else {
            return;
        };
        if let Err(error) = self.state.publish(CHANNEL, &message).await {
            tracing::warn!(%error, "could not publish a session invalidation");
        }
    }

    fn apply(&self, event: Event) {
        self.epoch.fetch_add(1, Ordering::SeqCst);
        match event {
            Event::Message(bytes) => match serde_json::from_slice(&bytes) {
                Ok(Invalidation::Session { id }) => self.local.remove_where(|c| c.session == id),
                Ok(Invalidation::Token { id }) => self.tokens.remove_where(|c| c.id == id),
                Ok(Invalidation::Person { id }) => {
                    self.local.remove_where(|c| c.principal.person == id);
                    self.tokens.remove_where(|c| c.principal.person == id);
                }
                Err(_) => self.clear_caches(),
            },
            Event::Resync => self.clear_caches(),
        }
    }

    fn clear_caches(&self) {
        self.local.clear();
        self.tokens.clear();
    }

    /// The invalidation subscriber and the watermark poll (see the module comment).
    pub fn spawn_invalidation(self: &Arc<Self>, poll: Duration) {
        crate::cache::spawn_invalidation(self, self.state.subscribe(CHANNEL), poll);
    }
}

#[derive(Debug, Serialize, Deserialize)]
enum Invalidation {
    Session {
        id: uuid::Uuid,
    },
    /// A staff token was revoked.
    Token {
        id: uuid::Uuid,
    },
    Person {
        id: PersonId,
    },
}

fn principal_of(session: &SessionRow, person: &PersonRow) -> StaffPrincipal {
    StaffPrincipal {
        person: person.id,
        login: person.login.clone(),
        roles: person.roles,
        tenant: person.tenant,
        via: StaffCredential::Session { id: session.id },
        expires_at: session.expires_at,
    }
}

/// The audit context of a change to `person` made by themselves before they have a session.
fn for_person(context: &AuditContext, person: &PersonRow) -> AuditContext {
    AuditContext {
        actor: format!("staff:{}", person.login),
        ..context.clone()
    }
}

fn unavailable_unit(_: ()) -> SignInError {
    SignInError::Unavailable
}

fn unix(at: OffsetDateTime) -> u64 {
    u64::try_from(at.unix_timestamp()).unwrap_or(0)
}

fn step_i64(step: u64) -> i64 {
    i64::try_from(step).unwrap_or(i64::MAX)
}

impl crate::cache::Invalidated for PeopleAuthenticator {
    type Mark = (i64, i64, i64);

    const WHAT: &'static str = "session";

    fn apply(&self, event: Event) {
        PeopleAuthenticator::apply(self, event);
    }

    async fn watermark(&self) -> Result<Self::Mark, StoreError> {
        self.store.session_watermark().await
    }

    /// Sessions and tokens are few: drop them all rather than work out which changed.
    async fn caught_up(&self, _seen: Self::Mark, _now: Self::Mark) {
        self.apply(Event::Resync);
    }
}
