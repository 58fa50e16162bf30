//! Authentication: who is calling, and for which tenant it acts.
//!
//! One `Authenticator` knows every credential scheme (API keys now; SNAP and FAPI tokens join it
//! later). The HTTP layer hands it the request's credentials and gets back a `Principal` or a
//! refusal; handlers never parse credentials themselves.

mod api_keys;
mod cache;
pub mod fapi;
mod people;
pub mod snap;

use std::net::IpAddr;
use std::sync::Arc;

use benteng_core::api_key::KeyEnvironment;
use benteng_core::ids::ApiKeyId;
use benteng_core::scopes::{Scope, Scopes};
use benteng_core::tenant::Tenant;

pub use api_keys::{ApiKeyAuthenticator, IssuedKey, KeyAdminError};
pub use fapi::FapiServer;
pub use people::{
    Audience, Created, EnrolmentError, EnrolmentStarted, IssueTokenError, IssuedToken,
    PeopleAuthenticator, SessionPolicy, SignInError, SignedIn, StaffCredential, StaffPrincipal,
};
pub use snap::{IssuedSnapToken, SnapAuthenticator, SnapRequest};

/// The authenticated caller.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Principal {
    pub tenant: Tenant,
    pub credential: Credential,
    /// Lowercase hex SHA-256 fingerprint of the verified TLS client certificate the request came
    /// with, if any (for audit and sender-constrained tokens). When the tenant requires mTLS it
    /// is one of the tenant's registered certificates.
    pub client_cert_fingerprint: Option<String>,
    /// What the caller may do: an API key's scopes, or for a SNAP partner what SNAP's routes
    /// need ([`snap::SNAP_SCOPES`]).
    pub scopes: Scopes,
}

impl Principal {
    /// The environment the caller works in: an `sk_test_` key's is test, everything else live
    /// (SNAP partners pay real accounts).
    pub fn environment(&self) -> KeyEnvironment {
        match &self.credential {
            Credential::ApiKey { environment, .. } => *environment,
            Credential::Snap { .. } | Credential::Session { .. } | Credential::Fapi { .. } => {
                KeyEnvironment::Live
            }
        }
    }
}

/// How the caller proved who it is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Credential {
    ApiKey {
        key_id: ApiKeyId,
        environment: KeyEnvironment,
    },
    /// A SNAP B2B access token with a request signed under the partner's client secret.
    Snap {
        /// The partner's row id.
        partner: uuid::Uuid,
        /// Its client id (= `X-PARTNER-ID`).
        client_id: String,
        /// The request's `X-EXTERNAL-ID` (unique per partner and Jakarta day).
        external_id: String,
    },
    /// A tenant user's browser session; the scopes are their tenant role's.
    Session {
        person: benteng_core::ids::PersonId,
        session: uuid::Uuid,
    },
    /// A FAPI 2.0 access token with its DPoP proof: a registered client acting for the tenant
    /// whose user consented; the scopes are the consent's.
    Fapi {
        client_id: String,
        token: uuid::Uuid,
        person: benteng_core::ids::PersonId,
    },
}

/// Why a request is not authenticated. Callers map these to 401/403 without revealing which
/// check failed to the client beyond the stable reason.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum AuthError {
    #[error("no credentials were presented")]
    Missing,
    #[error("the credentials are malformed")]
    Malformed,
    #[error("the credentials are not recognised")]
    Unknown,
    #[error("the credentials have expired")]
    Expired,
    #[error("the credentials have been revoked")]
    Revoked,
    #[error("the tenant is suspended")]
    TenantSuspended,
    #[error("credentials cannot be checked right now")]
    Unavailable,
    /// The tenant requires mTLS and the request did not present one of its registered client
    /// certificates.
    #[error("the tenant requires a registered TLS client certificate")]
    ClientCertificateRequired,
    /// The client certificate is registered to a different tenant than the credentials'.
    #[error("the TLS client certificate belongs to another tenant")]
    ClientCertificateForeign,
    /// The credentials are good but do not carry the scope the route needs.
    #[error("the credentials lack the scope {0}")]
    MissingScope(Scope),
    /// The key is restricted to networks the client's address is not in (or the address is
    /// unknown).
    #[error("the credentials may not be used from this network")]
    NetworkNotAllowed,
    /// A DPoP-bound token came without a valid proof of its key (RFC 9449).
    #[error("the DPoP proof is invalid")]
    DpopProof,
}

/// What the request tells authentication besides its credentials: the facts a key's
/// restrictions are checked against. The HTTP layer fills it from the connection.
#[derive(Debug, Clone, Copy)]
pub struct RequestFacts<'a> {
    /// The scope the route called needs.
    pub needs: Scope,
    /// SHA-256 (lowercase hex) of the verified TLS client certificate, if the connection
    /// presented one: for the mTLS tenant binding.
    pub client_cert_fingerprint: Option<&'a str>,
    /// The client's address, from the connection (never a forwarded header): for a key's
    /// network allow-list. `None` when unknown, which a restricted key refuses.
    pub client_ip: Option<IpAddr>,
}

/// The one entry point for every scheme.
#[derive(Clone)]
pub struct Authenticator {
    api_keys: Arc<ApiKeyAuthenticator>,
    snap: Option<Arc<SnapAuthenticator>>,
    people: Option<Arc<PeopleAuthenticator>>,
    fapi: Option<Arc<FapiServer>>,
}

impl Authenticator {
    pub fn new(api_keys: Arc<ApiKeyAuthenticator>) -> Self {
        Self {
            api_keys,
            snap: None,
            people: None,
            fapi: None,
        }
    }

    /// Adds people: staff sign-in and browser sessions.
    #[must_use]
    pub fn with_people(mut self, people: Arc<PeopleAuthenticator>) -> Self {
        self.people = Some(people);
        self
    }

    /// The person behind a session token: see [`PeopleAuthenticator::authenticate`].
    pub async fn authenticate_person(&self, token: &str) -> Result<StaffPrincipal, AuthError> {
        match &self.people {
            Some(people) => people.authenticate(token).await,
            None => Err(AuthError::Unknown),
        }
    }

    /// A tenant user's session on a tenant route: the person must belong to an active tenant,
    /// the tenant's mTLS binding applies as for its keys, and the route's scope must be one
    /// of the person's tenant role. Staff sessions are refused here (the operator API is
    /// theirs).
    pub async fn authenticate_tenant_session(
        &self,
        token: &str,
        facts: &RequestFacts<'_>,
    ) -> Result<Principal, AuthError> {
        let person = self.authenticate_person(token).await?;
        let (Some((tenant, role)), StaffCredential::Session { id: session }) =
            (person.tenant, &person.via)
        else {
            return Err(AuthError::Unknown);
        };
        let session = *session;
        let (tenant, mtls) = self.api_keys.tenant_binding(tenant).await?;
        if !tenant.is_active() {
            return Err(AuthError::TenantSuspended);
        }
        let principal = Principal {
            tenant,
            credential: Credential::Session {
                person: person.person,
                session,
            },
            client_cert_fingerprint: facts.client_cert_fingerprint.map(str::to_owned),
            scopes: role.scopes(),
        };
        self.api_keys
            .check_client_certificate(&principal, &mtls, facts.client_cert_fingerprint)
            .await?;
        if !principal.scopes.contains(facts.needs) || !role.scopes().contains(facts.needs) {
            return Err(AuthError::MissingScope(facts.needs));
        }
        Ok(principal)
    }

    /// The staff member behind an operator request: the session cookie's token, or a staff
    /// token in `Authorization: Bearer bt_staff_…`. Both at once is refused as malformed: a
    /// request names one credential, so which one was checked is never in doubt.
    pub async fn authenticate_staff(
        &self,
        session_cookie: Option<&str>,
        authorization: Option<&str>,
    ) -> Result<StaffPrincipal, AuthError> {
        let Some(people) = &self.people else {
            return Err(AuthError::Unknown);
        };
        match (session_cookie, authorization) {
            (Some(_), Some(_)) => Err(AuthError::Malformed),
            (Some(session), None) => people.authenticate(session).await,
            (None, Some(authorization)) => people.authenticate_token(bearer(authorization)?).await,
            (None, None) => Err(AuthError::Missing),
        }
    }

    pub fn people(&self) -> Option<&Arc<PeopleAuthenticator>> {
        self.people.as_ref()
    }

    /// Adds the SNAP scheme (B2B tokens and signed requests).
    #[must_use]
    pub fn with_snap(mut self, snap: Arc<SnapAuthenticator>) -> Self {
        self.snap = Some(snap);
        self
    }

    fn snap(&self) -> Result<&SnapAuthenticator, benteng_snap::SnapError> {
        self.snap.as_deref().ok_or_else(|| {
            benteng_snap::SnapError::general_error().with_detail("SNAP is not configured")
        })
    }

    /// SNAP's token endpoint: the partner proves itself with its RSA key; see
    /// [`SnapAuthenticator::issue_token`]. Errors are SNAP errors (service code 73).
    pub async fn issue_snap_token<F, V>(
        &self,
        headers: F,
        body: &[u8],
        context: &benteng_core::audit::AuditContext,
    ) -> Result<IssuedSnapToken, benteng_snap::SnapError>
    where
        F: Fn(&str) -> Option<V>,
        V: AsRef<[u8]>,
    {
        self.snap()?.issue_token(headers, body, context).await
    }

    /// Authenticates a SNAP request (token, signature over the raw request, partner binding,
    /// external-id and replay uniqueness, mTLS binding); errors are SNAP errors, rendered
    /// with the route's service code.
    pub async fn authenticate_snap<F, V>(
        &self,
        request: &SnapRequest<'_>,
        headers: F,
        client_cert_fingerprint: Option<&str>,
    ) -> Result<Principal, benteng_snap::SnapError>
    where
        F: Fn(&str) -> Option<V>,
        V: AsRef<[u8]>,
    {
        self.snap()?
            .authenticate(request, headers, client_cert_fingerprint)
            .await
    }

    /// Adds the FAPI 2.0 scheme (DPoP-bound access tokens).
    #[must_use]
    pub fn with_fapi(mut self, fapi: Arc<FapiServer>) -> Self {
        self.fapi = Some(fapi);
        self
    }

    pub fn fapi(&self) -> Option<&Arc<FapiServer>> {
        self.fapi.as_ref()
    }

    /// The third scheme: `Authorization: DPoP <token>` with exactly one `DPoP` proof header
    /// for this request (RFC 9449 §7). The tenant is the consenting user's, the scopes the
    /// consent's; the route's scope is checked as for keys.
    pub async fn authenticate_dpop(
        &self,
        authorization: &str,
        proofs: &[&str],
        target: fapi::ProofTarget<'_>,
        facts: &RequestFacts<'_>,
    ) -> Result<Principal, AuthError> {
        let fapi = self.fapi.as_ref().ok_or(AuthError::Unknown)?;
        let token = dpop_token(authorization)?;
        let access = fapi.authenticate(token, proofs, target).await?;
        let role = fapi.consenting_role(&access).await?;
        let (tenant, mtls) = self.api_keys.tenant_binding(access.token.tenant_id).await?;
        if !tenant.is_active() {
            return Err(AuthError::TenantSuspended);
        }
        let principal = Principal {
            tenant,
            credential: Credential::Fapi {
                client_id: access.token.client_id.clone(),
                token: access.token.id,
                person: access.token.person_id,
            },
            client_cert_fingerprint: facts.client_cert_fingerprint.map(str::to_owned),
            scopes: access.scopes,
        };
        // A tenant that requires its registered client certificate requires it on every
        // request made for it, a third party's included: a consent does not lift it.
        self.api_keys
            .check_client_certificate(&principal, &mtls, facts.client_cert_fingerprint)
            .await?;
        if !principal.scopes.contains(facts.needs) || !role.scopes().contains(facts.needs) {
            return Err(AuthError::MissingScope(facts.needs));
        }
        Ok(principal)
    }

    pub fn api_keys(&self) -> &ApiKeyAuthenticator {
        &self.api_keys
    }

    /// Authenticates from the `Authorization` header value, if any, and checks the credentials
    /// against the request's `facts`: the mTLS tenant binding (the client certificate), the
    /// key's network allow-list (the client address) and the scope of the route called.
    pub async fn authenticate(
        &self,
        authorization: Option<&str>,
        facts: &RequestFacts<'_>,
    ) -> Result<Principal, AuthError> {
        let key = api_key(authorization)?;
        self.api_keys.authenticate(key, facts).await
    }

    /// [`Self::authenticate`] when it can be decided without asking the shared cache or the
    /// database about the credentials: missing or malformed ones, and keys this instance has
    /// verified lately. `None` otherwise.
    pub async fn authenticate_cached(
        &self,
        authorization: Option<&str>,
        facts: &RequestFacts<'_>,
    ) -> Option<Result<Principal, AuthError>> {
        match api_key(authorization) {
            Ok(key) => self.api_keys.authenticate_cached(key, facts).await,
            Err(error) => Some(Err(error)),
        }
    }
}

/// The token of a `Bearer` `Authorization` value.
fn bearer(value: &str) -> Result<&str, AuthError> {
    let (scheme, token) = value.split_once(' ').ok_or(AuthError::Malformed)?;
    if !scheme.eq_ignore_ascii_case("bearer") {
        return Err(AuthError::Malformed);
    }
    Ok(token.trim_start_matches(' '))
}

/// Whether an `Authorization` value uses the DPoP scheme (the name is case-insensitive).
pub fn is_dpop_scheme(value: &str) -> bool {
    value
        .split_once(' ')
        .is_some_and(|(scheme, _)| scheme.eq_ignore_ascii_case("dpop"))
}

/// The token of a `DPoP` `Authorization` value.
fn dpop_token(value: &str) -> Result<&str, AuthError> {
    let (scheme, token) = value.split_once(' ').ok_or(AuthError::Malformed)?;
    if !scheme.eq_ignore_ascii_case("dpop") {
        return Err(AuthError::Malformed);
    }
    let token = token.trim_start_matches(' ');
    if token.is_empty() || token.contains(' ') {
        return Err(AuthError::Malformed);
    }
    Ok(token)
}

/// The API key of a `Bearer` `Authorization` value.
fn api_key(authorization: Option<&str>) -> Result<&str, AuthError> {
    let token = bearer(authorization.ok_or(AuthError::Missing)?)?;
    if token.starts_with("sk_") {
        Ok(token)
    } else {
        Err(AuthError::Malformed)
    }
}
