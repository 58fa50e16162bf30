//! The FAPI 2.0 authorization server (Security Profile, Final) and its resource-server check:
//! registered clients, PAR with signed request objects (JAR) and PKCE S256, the resource
//! owner's consent, codes (≤ 60 s, single use, `iss` in a JARM response), the token endpoint
//! with `private_key_jwt` and DPoP (RFC 9449), and DPoP-bound access tokens (5 min) that the
//! one `Authenticator` accepts as its third scheme.
//!
//! Everything here decides; the store stores; the HTTP layer only translates. Every refusal is
//! an [`OAuthError`] with the RFC's error code, and changes nothing.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use benteng_core::audit::AuditContext;
use benteng_core::clock::Clock;
use benteng_core::scopes::Scopes;
use benteng_crypto::jose::{
    CompactJws, EcSigningKey, FapiAlg, JoseError, PublicJwk, sha256_b64url,
};
use benteng_crypto::jws::b64url;
use benteng_crypto::{ExposeSecret, SecretString};
use benteng_shared_state::SharedStateHandle;
use benteng_store::{
    FapiClientRow, FapiCodeRow, FapiRequestRow, FapiSigningKeyRow, FapiTokenRow, PersonStatus,
    Store, StoreError,
};
use benteng_vault::{Aad, KeyPurpose, Keyring};
use serde_json::{Map, Value, json};
use time::OffsetDateTime;

use crate::{Audience, AuthError, PeopleAuthenticator, SignInError};

/// How long a pushed request's `request_uri` lives (< 600 s, per FAPI 2.0).
pub const REQUEST_URI_TTL: Duration = Duration::from_secs(90);
/// How long an authorization code lives (≤ 60 s, per FAPI 2.0).
pub const CODE_TTL: Duration = Duration::from_secs(60);
/// How long an access token lives.
pub const ACCESS_TOKEN_TTL: Duration = Duration::from_secs(300);
/// How long a JARM response is valid.
const JARM_TTL_SECS: i64 = 600;
/// `iat`/`nbf` may be this far in the future (clock skew).
const FUTURE_SKEW_SECS: i64 = 10;
/// A DPoP proof older than this is refused; its `jti` is remembered a little longer.
const PROOF_MAX_AGE_SECS: i64 = 60;
const JTI_TTL: Duration = Duration::from_secs(2 * 60 + 30);
/// A client assertion may not live longer than this.
const ASSERTION_MAX_LIFETIME_SECS: i64 = 600;
/// A request object: `nbf` at most 60 min old, `exp − nbf` at most 60 min.
const REQUEST_OBJECT_MAX_SECS: i64 = 3600;

pub const PAR_PATH: &str = "/oauth2/par";
pub const AUTHORIZE_PATH: &str = "/oauth2/authorize";
pub const TOKEN_PATH: &str = "/oauth2/token";
pub const JWKS_PATH: &str = "/oauth2/jwks";
pub const REVOKE_PATH: &str = "/oauth2/revoke";
const REQUEST_URI_PREFIX: &str = "urn:ietf:params:oauth:request_uri:";
const ASSERTION_TYPE: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";
/// The prefix of this server's access tokens (so the Authenticator can tell them apart).
pub const ACCESS_TOKEN_PREFIX: &str = "bt_at_";

/// A refusal in the RFC's terms: the `error` code and a description for the client.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{code}: {description}")]
pub struct OAuthError {
    pub code: &'static str,
    pub description: String,
}

impl OAuthError {
    fn new(code: &'static str, description: impl Into<String>) -> Self {
        Self {
            code,
            description: description.into(),
        }
    }
    pub fn invalid_request(d: impl Into<String>) -> Self {
        Self::new("invalid_request", d)
    }
    pub fn invalid_client(d: impl Into<String>) -> Self {
        Self::new("invalid_client", d)
    }
    pub fn invalid_grant(d: impl Into<String>) -> Self {
        Self::new("invalid_grant", d)
    }
    fn invalid_request_object(d: impl Into<String>) -> Self {
        Self::new("invalid_request_object", d)
    }
    fn invalid_dpop_proof(d: impl Into<String>) -> Self {
        Self::new("invalid_dpop_proof", d)
    }
    fn invalid_scope(d: impl Into<String>) -> Self {
        Self::new("invalid_scope", d)
    }
    fn unavailable() -> Self {
        Self::new("temporarily_unavailable", "try again shortly")
    }

    /// The HTTP status: 401 for client authentication, 503 when unavailable, else 400.
    pub fn status(&self) -> u16 {
        match self.code {
            "invalid_client" => 401,
            "temporarily_unavailable" => 503,
            _ => 400,
        }
    }
}

fn store_error(error: StoreError) -> OAuthError {
    tracing::error!(%error, "fapi store");
    OAuthError::unavailable()
}

/// The form parameters of a request, each named once (duplicates are refused by the HTTP
/// layer before this).
pub type Params = BTreeMap<String, String>;

// ----- clients -----

/// What an operator registers.
#[derive(Debug, Clone)]
pub struct NewClient {
    pub client_id: String,
    pub name: String,
    pub jwks: Value,
    pub redirect_uris: Vec<String>,
    pub scopes: String,
    pub profile: String,
    pub token_auth: String,
    pub sender_constraint: String,
}

/// Why a registration was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ClientError {
    #[error("{field}: {reason}")]
    Invalid { field: &'static str, reason: String },
    #[error("the client id is taken")]
    Taken,
    #[error("no such client")]
    NotFound,
    #[error("storage is unavailable")]
    Unavailable,
}

fn invalid(field: &'static str, reason: impl Into<String>) -> ClientError {
    ClientError::Invalid {
        field,
        reason: reason.into(),
    }
}

/// An exact https redirect URI: a host, no fragment, no user info, printable ASCII only.
pub fn check_redirect_uri(uri: &str) -> Result<(), String> {
    let rest = uri
        .strip_prefix("https://")
        .ok_or("redirect URIs must use https")?;
    if uri.len() > 2000 || !uri.bytes().all(|b| b.is_ascii_graphic()) {
        return Err("redirect URIs are printable ASCII, at most 2000 characters".into());
    }
    if uri.contains('#') {
        return Err("redirect URIs have no fragment".into());
    }
    let authority = rest.split(['/', '?']).next().unwrap_or_default();
    if authority.is_empty() || authority.contains('@') {
        return Err("redirect URIs name a host (and no user info)".into());
    }
    Ok(())
}

fn check_client(new: &NewClient) -> Result<Scopes, ClientError> {
    let id_ok = (3..=64).contains(&new.client_id.len())
        && new
            .client_id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"._-".contains(&b));
    if !id_ok {
        return Err(invalid(
            "client_id",
            "3 to 64 characters of letters, digits, '.', '_' and '-'",
        ));
    }
    let name = new.name.trim();
    if name.is_empty() || name.chars().count() > 100 || name.chars().any(char::is_control) {
        return Err(invalid(
            "name",
            "1 to 100 characters, no control characters",
        ));
    }
    let keys = new
        .jwks
        .get("keys")
        .and_then(Value::as_array)
        .filter(|keys| (1..=10).contains(&keys.len()))
        .ok_or_else(|| invalid("jwks", "a JWK Set with 1 to 10 keys"))?;
    let mut kids = Vec::new();
    for key in keys {
        let jwk = PublicJwk::from_value(key).map_err(|e| invalid("jwks", e.to_string()))?;
        let kid = jwk
            .kid
            .ok_or_else(|| invalid("jwks", "every key names its kid"))?;
        if kids.contains(&kid) {
            return Err(invalid("jwks", "kids are distinct"));
        }
        kids.push(kid);
    }
    if new.redirect_uris.is_empty() || new.redirect_uris.len() > 10 {
        return Err(invalid("redirect_uris", "1 to 10 redirect URIs"));
    }
    for uri in &new.redirect_uris {
        check_redirect_uri(uri).map_err(|reason| invalid("redirect_uris", reason))?;
    }
    let scopes: Scopes = new
        .scopes
        .parse()
        .map_err(|e: benteng_core::scopes::ScopesError| invalid("scopes", e.to_string()))?;
    if scopes.is_empty() {
        return Err(invalid("scopes", "at least one scope"));
    }
    if new.profile != "fapi2" {
        return Err(invalid("profile", "only fapi2 is supported"));
    }
    if new.token_auth != "private_key_jwt" {
        return Err(invalid("token_auth", "only private_key_jwt is supported"));
    }
    if new.sender_constraint != "dpop" {
        return Err(invalid("sender_constraint", "only dpop is supported"));
    }
    Ok(scopes)
}

// ----- what the endpoints answer -----

/// PAR's answer.
#[derive(Debug, Clone)]
pub struct Pushed {
    pub request_uri: String,
    pub expires_in: u64,
}

/// A pushed request waiting for the resource owner, for the consent page.
#[derive(Debug, Clone)]
pub struct Pending {
    pub client_id: String,
    pub client_name: String,
    pub scopes: Scopes,
    pub request_uri: String,
    /// The page's anti-forgery token (only its hash is stored with the request).
    pub form_token: SecretString,
}

/// The resource owner's answer on the consent page.
pub enum Decision<'a> {
    Approve {
        login: &'a str,
        password: &'a SecretString,
        code: &'a SecretString,
    },
    Deny,
}

/// Why the consent page could not go on.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConsentError {
    /// The request is unknown, expired, used, or not this client's: shown on the page, never
    /// redirected (the redirect URI cannot be trusted then).
    #[error("{0}")]
    BadRequest(&'static str),
    /// Sign-in failed: the page is shown again.
    #[error("sign-in failed")]
    SignIn,
    #[error("try again shortly")]
    Unavailable,
}

/// The token endpoint's answer.
#[derive(Debug, Clone)]
pub struct IssuedAccess {
    pub access_token: SecretString,
    pub expires_in: u64,
    pub scope: String,
}

/// A verified FAPI access token on the resource server.
#[derive(Debug, Clone)]
pub struct FapiAccess {
    pub token: FapiTokenRow,
    pub scopes: Scopes,
}

/// The request a DPoP proof is checked against.
#[derive(Debug, Clone, Copy)]
pub struct ProofTarget<'a> {
    pub method: &'a str,
    /// The path (the query, if any, is ignored).
    pub path: &'a str,
}

// ----- the server -----

pub struct FapiServer {
    store: Store,
    shared: SharedStateHandle,
    keyring: Arc<Keyring>,
    people: Arc<PeopleAuthenticator>,
    clock: Arc<dyn Clock>,
    issuer: OnceLock<String>,
    signer: Mutex<Option<(String, Arc<EcSigningKey>)>>,
}

fn key_aad(kid: &str) -> Aad<'_> {
    Aad::new("platform", "fapi_signing_keys", "sealed_key", kid)
}

fn hash_hex(secret: &str) -> String {
    hex::encode(benteng_crypto::sha256(secret.as_bytes()))
}

fn random_b64(bytes: usize) -> Result<String, OAuthError> {
    let mut buffer = vec![0u8; bytes];
    for chunk in buffer.chunks_mut(32) {
        let random = benteng_crypto::random_bytes::<32>().map_err(|_| OAuthError::unavailable())?;
        chunk.copy_from_slice(&random[..chunk.len()]);
    }
    Ok(b64url(&buffer))
}

fn unix(t: OffsetDateTime) -> i64 {
    t.unix_timestamp()
}

/// `scheme://host[:port]/path` in the form two URLs are compared in: the query and fragment
/// dropped, scheme and host lowercased, a default port removed.
pub fn normalize_htu(url: &str) -> Option<String> {
    let url = url.split(['?', '#']).next()?;
    let (scheme, rest) = url.split_once("://")?;
    let scheme = scheme.to_ascii_lowercase();
    let (authority, path) = match rest.find('/') {
        Some(i) => (&rest[..i], &rest[i..]),
        None => (rest, "/"),
    };
    let mut authority = authority.to_ascii_lowercase();
    let default = if scheme == "https" { ":443" } else { ":80" };
    if authority.ends_with(default) {
        authority.truncate(authority.len() - default.len());
    }
    if authority.is_empty() || authority.contains('@') {
        return None;
    }
    Some(format!("{scheme}://{authority}{path}"))
}

impl FapiServer {
    pub fn new(
        store: Store,
        shared: SharedStateHandle,
        keyring: Arc<Keyring>,
        people: Arc<PeopleAuthenticator>,
        clock: Arc<dyn Clock>,
        issuer: Option<String>,
    ) -> Self {
        let cell = OnceLock::new();
        if let Some(issuer) = issuer {
            let _ = cell.set(issuer.trim_end_matches('/').to_owned());
        }
        Self {
            store,
            shared,
            keyring,
            people,
            clock,
            issuer: cell,
            signer: Mutex::new(None),
        }
    }

    /// Sets the issuer when the configuration named none (development: the API listener's
    /// bound address). A configured issuer is never replaced.
    pub fn default_issuer(&self, issuer: String) {
        let _ = self.issuer.set(issuer);
    }

    pub fn issuer(&self) -> Result<&str, OAuthError> {
        self.issuer
            .get()
            .map(String::as_str)
            .ok_or_else(|| OAuthError::new("server_error", "no issuer is configured"))
    }

    fn now(&self) -> OffsetDateTime {
        self.clock.now()
    }

    /// The authorization server metadata (RFC 8414; the same document for OpenID discovery).
    pub fn metadata(&self) -> Result<Value, OAuthError> {
        let issuer = self.issuer()?;
        let algs: Vec<&str> = FapiAlg::ALL.iter().map(|a| a.as_str()).collect();
        Ok(json!({
            "issuer": issuer,
            "authorization_endpoint": format!("{issuer}{AUTHORIZE_PATH}"),
            "token_endpoint": format!("{issuer}{TOKEN_PATH}"),
            "pushed_authorization_request_endpoint": format!("{issuer}{PAR_PATH}"),
            "require_pushed_authorization_requests": true,
            "jwks_uri": format!("{issuer}{JWKS_PATH}"),
            "revocation_endpoint": format!("{issuer}{REVOKE_PATH}"),
            "revocation_endpoint_auth_methods_supported": ["private_key_jwt"],
            "response_types_supported": ["code"],
            "response_modes_supported": ["jwt", "query.jwt"],
            "grant_types_supported": ["authorization_code"],
            "token_endpoint_auth_methods_supported": ["private_key_jwt"],
            "token_endpoint_auth_signing_alg_values_supported": algs,
            "request_object_signing_alg_values_supported": algs,
            "require_signed_request_object": true,
            "authorization_signing_alg_values_supported": ["ES256"],
            "dpop_signing_alg_values_supported": algs,
            "code_challenge_methods_supported": ["S256"],
            "authorization_response_iss_parameter_supported": true,
            "scopes_supported": benteng_core::scopes::Scope::ALL.iter().map(|s| s.as_str()).collect::<Vec<_>>(),
            "subject_types_supported": ["public"],
            "tls_client_certificate_bound_access_tokens": false,
        }))
    }

    // ----- the server's signing keys -----

    async fn signing_rows(&self) -> Result<Vec<FapiSigningKeyRow>, OAuthError> {
        self.store.fapi_signing_keys().await.map_err(store_error)
    }

    /// Makes the first signing key when there is none (at start; concurrent starts: one wins).
    pub async fn ensure_signing_key(&self) -> Result<(), OAuthError> {
        if self.signing_rows().await?.is_empty() {
            match self.rotate(&AuditContext::system("fapi-keys")).await {
                Ok(_) | Err(ClientError::Taken) => {}
                Err(_) => return Err(OAuthError::unavailable()),
            }
        }
        Ok(())
    }

    /// Makes the next ES256 key: it signs at once when it is the first, else after
    /// [`benteng_core::webhooks::KEY_OVERLAP`] of publication. Answers its kid.
    pub async fn rotate(&self, context: &AuditContext) -> Result<String, ClientError> {
        let rows = self
            .store
            .fapi_signing_keys()
            .await
            .map_err(|_| ClientError::Unavailable)?;
        let now = self.now();
        let signs_from = if rows.is_empty() {
            now
        } else {
            now + benteng_core::webhooks::KEY_OVERLAP
        };
        let kid = format!("fapi-{}-{}", now.unix_timestamp(), rows.len() + 1);
        let key = EcSigningKey::generate().map_err(|_| ClientError::Unavailable)?;
        let der = key.to_pkcs8().map_err(|_| ClientError::Unavailable)?;
        let sealed = self
            .keyring
            .encrypt(&KeyPurpose::PRIVATE_KEY, &der, &key_aad(&kid))
            .map_err(|_| ClientError::Unavailable)?;
        let row = FapiSigningKeyRow {
            kid: kid.clone(),
            sealed_key: sealed,
            created_at: now,
            signs_from,
        };
        match self.store.insert_fapi_signing_key(&row, context).await {
            Ok(()) => Ok(kid),
            Err(StoreError::Conflict) => Err(ClientError::Taken),
            Err(_) => Err(ClientError::Unavailable),
        }
    }

    /// The keys and where each is on the rotation timeline (for `keys status`).
    pub async fn key_timeline(
        &self,
    ) -> Result<Vec<(FapiSigningKeyRow, benteng_core::rotation::Place)>, OAuthError> {
        let rows = self.signing_rows().await?;
        let signs_from: Vec<OffsetDateTime> = rows.iter().map(|r| r.signs_from).collect();
        let places = benteng_core::rotation::timeline(
            &signs_from,
            self.now(),
            benteng_core::webhooks::KEY_OVERLAP,
        );
        Ok(rows.into_iter().zip(places).collect())
    }

    fn unseal(&self, row: &FapiSigningKeyRow) -> Result<EcSigningKey, OAuthError> {
        let der = self
            .keyring
            .decrypt(&row.sealed_key, &key_aad(&row.kid))
            .map_err(|error| {
                tracing::error!(%error, "a FAPI signing key cannot be unsealed");
                OAuthError::unavailable()
            })?;
        EcSigningKey::from_pkcs8(der.expose_secret()).map_err(|_| OAuthError::unavailable())
    }

    /// The published keys' JWK Set.
    pub async fn jwks(&self) -> Result<Value, OAuthError> {
        let mut keys = Vec::new();
        for (row, place) in self.key_timeline().await? {
            if place.phase.is_live() {
                keys.push(self.unseal(&row)?.public_jwk(&row.kid));
            }
        }
        Ok(json!({ "keys": keys }))
    }

    async fn signer(&self) -> Result<(String, Arc<EcSigningKey>), OAuthError> {
        let rows = self.signing_rows().await?;
        let now = self.now();
        let row = rows
            .iter()
            .rev()
            .find(|r| r.signs_from <= now)
            .ok_or_else(OAuthError::unavailable)?;
        {
            let cached = self.signer.lock().unwrap_or_else(|p| p.into_inner());
            if let Some((kid, key)) = cached.as_ref()
                && *kid == row.kid
            {
                return Ok((kid.clone(), key.clone()));
            }
        }
        let key = Arc::new(self.unseal(row)?);
        *self.signer.lock().unwrap_or_else(|p| p.into_inner()) =
            Some((row.kid.clone(), key.clone()));
        Ok((row.kid.clone(), key))
    }

    // ----- clients -----

    pub async fn register_client(
        &self,
        new: NewClient,
        context: &AuditContext,
    ) -> Result<FapiClientRow, ClientError> {
        let scopes = check_client(&new)?;
        let now = self.now();
        let row = FapiClientRow {
            client_id: new.client_id,
            name: new.name.trim().to_owned(),
            jwks: new.jwks.to_string(),
            redirect_uris: new.redirect_uris,
            scopes: scopes.to_string(),
            profile: new.profile,
            token_auth: new.token_auth,
            sender_constraint: new.sender_constraint,
            status: "active".into(),
            created_at: now,
            updated_at: now,
        };
        match self.store.insert_fapi_client(&row, context).await {
            Ok(()) => Ok(row),
            Err(StoreError::Conflict) => Err(ClientError::Taken),
            Err(_) => Err(ClientError::Unavailable),
        }
    }

    pub async fn set_client_status(
        &self,
        client_id: &str,
        active: bool,
        context: &AuditContext,
    ) -> Result<(), ClientError> {
        let status = if active { "active" } else { "disabled" };
        match self
            .store
            .set_fapi_client_status(client_id, status, context)
            .await
        {
            Ok(()) => Ok(()),
            Err(StoreError::NotFound) => Err(ClientError::NotFound),
            Err(_) => Err(ClientError::Unavailable),
        }
    }

    async fn active_client(&self, client_id: &str) -> Result<Option<FapiClientRow>, OAuthError> {
        Ok(self
            .store
            .fapi_client(client_id)
            .await
            .map_err(store_error)?
            .filter(|c| c.status == "active"))
    }

    // ----- client authentication (private_key_jwt) -----

    /// Authenticates the client of a PAR or token request by its `client_assertion`: signed
    /// with a FAPI algorithm by one of its registered keys, `iss` = `sub` = the client,
    /// `aud` = this issuer as a single string, unexpired, short-lived, `iat`/`nbf` not ahead,
    /// `jti` never seen before (across instances).
    async fn authenticate_client(&self, params: &Params) -> Result<FapiClientRow, OAuthError> {
        if params.get("client_assertion_type").map(String::as_str) != Some(ASSERTION_TYPE) {
            return Err(OAuthError::invalid_client(
                "private_key_jwt client authentication is required",
            ));
        }
        let assertion = params
            .get("client_assertion")
            .ok_or_else(|| OAuthError::invalid_client("client_assertion is missing"))?;
        let jws = CompactJws::parse(assertion)
            .map_err(|_| OAuthError::invalid_client("the client assertion is malformed"))?;
        jws.alg().map_err(|_| {
            OAuthError::invalid_client("the client assertion's algorithm is not allowed")
        })?;
        let client_id = jws
            .claim_str("iss")
            .ok_or_else(|| OAuthError::invalid_client("the client assertion has no iss"))?;
        if jws.claim_str("sub") != Some(client_id) {
            return Err(OAuthError::invalid_client("sub must equal iss"));
        }
        if let Some(named) = params.get("client_id")
            && named != client_id
        {
            return Err(OAuthError::invalid_client(
                "client_id does not match the assertion",
            ));
        }
        // One answer whether the client is unknown, disabled or the signature is wrong: the
        // token endpoint must not tell who is registered.
        let not_verified = || {
            OAuthError::invalid_client(
                "the client assertion does not verify with a registered client's keys",
            )
        };
        let client = self
            .active_client(client_id)
            .await?
            .ok_or_else(not_verified)?;
        let jwks: Value = serde_json::from_str(&client.jwks)
            .map_err(|_| OAuthError::new("server_error", "the client's keys are unreadable"))?;
        jws.verify_with_set(&jwks).map_err(|_| not_verified())?;
        let issuer = self.issuer()?;
        match jws.claims.get("aud") {
            Some(Value::String(aud)) if aud == issuer => {}
            _ => {
                return Err(OAuthError::invalid_client(
                    "aud must be the issuer, as a single string",
                ));
            }
        }
        let now = unix(self.now());
        let exp = jws
            .claim_i64("exp")
            .ok_or_else(|| OAuthError::invalid_client("exp is missing"))?;
        if exp <= now {
            return Err(OAuthError::invalid_client(
                "the client assertion has expired",
            ));
        }
        if exp > now + ASSERTION_MAX_LIFETIME_SECS {
            return Err(OAuthError::invalid_client(
                "the client assertion lives too long",
            ));
        }
        for claim in ["iat", "nbf"] {
            if let Some(at) = jws.claims.get(claim) {
                let at = at.as_i64().ok_or_else(|| {
                    OAuthError::invalid_client(format!("{claim} is not a number"))
                })?;
                if at > now + FUTURE_SKEW_SECS {
                    return Err(OAuthError::invalid_client(format!(
                        "{claim} is in the future"
                    )));
                }
            }
        }
        let jti = jws
            .claim_str("jti")
            .filter(|j| (1..=256).contains(&j.len()))
            .ok_or_else(|| OAuthError::invalid_client("jti is missing"))?;
        let key = format!("fapi:assertion:{}:{}", client.client_id, hash_hex(jti));
        let ttl = Duration::from_secs(u64::try_from(exp - now).unwrap_or(1) + 60);
        match self.shared.set_if_absent(&key, b"1", ttl).await {
            Ok(true) => Ok(client),
            Ok(false) => Err(OAuthError::invalid_client(
                "the client assertion was used before",
            )),
            Err(error) => {
                tracing::error!(%error, "assertion replay cache");
                Err(OAuthError::unavailable())
            }
        }
    }

    // ----- DPoP -----

    /// Checks a DPoP proof (RFC 9449 §4.3) for `target`; with `access_token`, also its `ath`.
    /// Answers the key's thumbprint. The `jti` is remembered across instances, so a replayed
    /// proof is refused.
    async fn check_proof(
        &self,
        proofs: &[&str],
        target: ProofTarget<'_>,
        access_token: Option<&str>,
    ) -> Result<String, OAuthError> {
        let proof = match proofs {
            [proof] => *proof,
            [] => return Err(OAuthError::invalid_dpop_proof("a DPoP proof is required")),
            _ => return Err(OAuthError::invalid_dpop_proof("one DPoP proof per request")),
        };
        let bad = |what: &str| OAuthError::invalid_dpop_proof(what.to_owned());
        let jws = CompactJws::parse(proof).map_err(|_| bad("the proof is malformed"))?;
        if jws.header_str("typ") != Some("dpop+jwt") {
            return Err(bad("typ must be dpop+jwt"));
        }
        let alg = jws
            .alg()
            .map_err(|_| bad("the proof's algorithm is not allowed"))?;
        let jwk = match jws.header.get("jwk") {
            Some(jwk) => PublicJwk::from_value(jwk).map_err(|e| match e {
                JoseError::PrivateKey => bad("the proof's jwk holds a private key"),
                _ => bad("the proof's jwk is not an acceptable public key"),
            })?,
            None => return Err(bad("the proof has no jwk")),
        };
        if !jwk.fits(alg) {
            return Err(bad("the proof's jwk does not fit its algorithm"));
        }
        jws.verify_with(&jwk)
            .map_err(|_| bad("the proof's signature does not verify"))?;
        let jti = jws
            .claim_str("jti")
            .filter(|j| (1..=256).contains(&j.len()))
            .ok_or_else(|| bad("jti is missing"))?;
        if jws.claim_str("htm") != Some(target.method) {
            return Err(bad("htm does not match the request"));
        }
        let expected = normalize_htu(&format!("{}{}", self.issuer()?, target.path));
        let presented = jws.claim_str("htu").and_then(normalize_htu);
        if presented.is_none() || presented != expected {
            return Err(bad("htu does not match the request"));
        }
        let iat = jws.claim_i64("iat").ok_or_else(|| bad("iat is missing"))?;
        let now = unix(self.now());
        if iat > now + FUTURE_SKEW_SECS || iat < now - PROOF_MAX_AGE_SECS {
            return Err(bad("iat is outside the accepted window"));
        }
        if let Some(token) = access_token
            && jws.claim_str("ath") != Some(sha256_b64url(token.as_bytes()).as_str())
        {
            return Err(bad("ath does not match the access token"));
        }
        let jkt = jwk.thumbprint();
        let key = format!("fapi:dpop:{jkt}:{}", hash_hex(jti));
        match self.shared.set_if_absent(&key, b"1", JTI_TTL).await {
            Ok(true) => Ok(jkt),
            Ok(false) => Err(bad("the proof's jti was used before")),
            Err(error) => {
                tracing::error!(%error, "DPoP replay cache");
                Err(OAuthError::unavailable())
            }
        }
    }

    // ----- PAR -----

    /// A pushed authorization request: the client authenticates, the request object is
    /// verified and its parameters checked, and a `request_uri` (90 s, single use, bound to
    /// the client) is answered. A DPoP proof, if sent, binds the code to its key.
    pub async fn push(
        &self,
        params: &Params,
        dpop: &[&str],
        context: &AuditContext,
    ) -> Result<Pushed, OAuthError> {
        if params.contains_key("request_uri") {
            return Err(OAuthError::invalid_request(
                "request_uri is not accepted at the PAR endpoint",
            ));
        }
        let client = self.authenticate_client(params).await?;
        let jkt = match dpop {
            [] => None,
            proofs => Some(
                self.check_proof(
                    proofs,
                    ProofTarget {
                        method: "POST",
                        path: PAR_PATH,
                    },
                    None,
                )
                .await?,
            ),
        };
        let request = params.get("request").ok_or_else(|| {
            OAuthError::invalid_request("a signed request object (request) is required")
        })?;
        let mut checked = self.check_request_object(&client, request)?;
        match (&jkt, checked.get("dpop_jkt").and_then(Value::as_str)) {
            (Some(proof), Some(named)) if proof != named => {
                return Err(OAuthError::invalid_request(
                    "dpop_jkt does not match the DPoP proof",
                ));
            }
            (Some(proof), None) => {
                checked.insert("dpop_jkt".into(), proof.clone().into());
            }
            _ => {}
        }
        let handle = random_b64(32)?;
        let form_token = random_b64(32)?;
        let now = self.now();
        let row = FapiRequestRow {
            handle_hash: hash_hex(&handle),
            client_id: client.client_id.clone(),
            params: Value::Object(checked).to_string(),
            form_hash: hash_hex(&form_token),
            created_at: now,
            expires_at: now + REQUEST_URI_TTL,
            used_at: None,
        };
        self.store
            .insert_fapi_request(&row, context)
            .await
            .map_err(store_error)?;
        Ok(Pushed {
            request_uri: format!("{REQUEST_URI_PREFIX}{handle}"),
            expires_in: REQUEST_URI_TTL.as_secs(),
        })
    }

    /// Verifies a request object (JAR, RFC 9101, as FAPI 2.0 Message Signing constrains it)
    /// and answers the parameters that count: only those inside it.
    fn check_request_object(
        &self,
        client: &FapiClientRow,
        request: &str,
    ) -> Result<Map<String, Value>, OAuthError> {
        let bad = |what: &str| OAuthError::invalid_request_object(what.to_owned());
        let jws = CompactJws::parse(request).map_err(|_| bad("the request object is malformed"))?;
        jws.alg()
            .map_err(|_| bad("the request object's algorithm is not allowed"))?;
        if let Some(typ) = jws.header_str("typ")
            && typ != "oauth-authz-req+jwt"
            && typ != "JWT"
        {
            return Err(bad("typ must be oauth-authz-req+jwt"));
        }
        let jwks: Value = serde_json::from_str(&client.jwks)
            .map_err(|_| OAuthError::new("server_error", "the client's keys are unreadable"))?;
        jws.verify_with_set(&jwks)
            .map_err(|_| bad("the request object does not verify"))?;
        let issuer = self.issuer()?;
        if jws.claim_str("aud") != Some(issuer) {
            return Err(bad("aud must be the issuer"));
        }
        if jws.claim_str("iss") != Some(client.client_id.as_str())
            || jws.claim_str("client_id") != Some(client.client_id.as_str())
        {
            return Err(bad("iss and client_id must be the client"));
        }
        let now = unix(self.now());
        let exp = jws.claim_i64("exp").ok_or_else(|| bad("exp is missing"))?;
        let nbf = jws.claim_i64("nbf").ok_or_else(|| bad("nbf is missing"))?;
        if exp <= now {
            return Err(bad("the request object has expired"));
        }
        if nbf > now + FUTURE_SKEW_SECS {
            return Err(bad("nbf is in the future"));
        }
        if nbf < now - REQUEST_OBJECT_MAX_SECS {
            return Err(bad("nbf is more than 60 minutes old"));
        }
        if exp - nbf > REQUEST_OBJECT_MAX_SECS {
            return Err(bad("exp is more than 60 minutes after nbf"));
        }
        let claims = &jws.claims;
        let text = |name: &str| claims.get(name).and_then(Value::as_str);
        if claims.contains_key("request") || claims.contains_key("request_uri") {
            return Err(bad("a request object does not nest requests"));
        }
        if text("response_type") != Some("code") {
            return Err(OAuthError::new(
                "unsupported_response_type",
                "response_type must be code",
            ));
        }
        let response_mode = text("response_mode").unwrap_or("jwt");
        if !["jwt", "query.jwt"].contains(&response_mode) {
            return Err(OAuthError::invalid_request(
                "response_mode must be jwt or query.jwt (JARM)",
            ));
        }
        let redirect_uri = text("redirect_uri")
            .ok_or_else(|| OAuthError::invalid_request("redirect_uri is required"))?;
        if !client.redirect_uris.iter().any(|r| r == redirect_uri) {
            return Err(OAuthError::invalid_request(
                "redirect_uri is not registered for this client",
            ));
        }
        let challenge = text("code_challenge")
            .ok_or_else(|| OAuthError::invalid_request("PKCE code_challenge is required"))?;
        if text("code_challenge_method") != Some("S256") {
            return Err(OAuthError::invalid_request(
                "code_challenge_method must be S256",
            ));
        }
        if challenge.len() != 43 || benteng_crypto::jose::b64url_decode(challenge).is_err() {
            return Err(OAuthError::invalid_request(
                "code_challenge is not an S256 challenge",
            ));
        }
        let scope = text("scope").ok_or_else(|| OAuthError::invalid_scope("scope is required"))?;
        let requested = Scopes::from_names(scope.split(' ').filter(|s| !s.is_empty()))
            .map_err(|e| OAuthError::invalid_scope(e.to_string()))?;
        let allowed: Scopes = client.scopes.parse().unwrap_or_default();
        if requested.is_empty() || requested.iter().any(|s| !allowed.contains(s)) {
            return Err(OAuthError::invalid_scope(
                "the client may not ask for these scopes",
            ));
        }
        for (name, max) in [("state", 512), ("nonce", 512)] {
            if let Some(value) = claims.get(name)
                && value.as_str().is_none_or(|v| v.len() > max)
            {
                return Err(OAuthError::invalid_request(format!("{name} is too long")));
            }
        }
        if let Some(jkt) = claims.get("dpop_jkt")
            && jkt.as_str().is_none_or(|j| j.len() != 43)
        {
            return Err(OAuthError::invalid_request("dpop_jkt is not a thumbprint"));
        }
        let mut out = Map::new();
        out.insert("redirect_uri".into(), redirect_uri.into());
        out.insert("scope".into(), requested.to_string().into());
        out.insert("code_challenge".into(), challenge.into());
        out.insert("response_mode".into(), response_mode.into());
        for name in ["state", "nonce", "dpop_jkt"] {
            if let Some(value) = claims.get(name) {
                out.insert(name.into(), value.clone());
            }
        }
        Ok(out)
    }

    // ----- the authorization endpoint and consent -----

    async fn live_request(
        &self,
        client_id: &str,
        request_uri: &str,
    ) -> Result<(FapiRequestRow, FapiClientRow, Map<String, Value>), ConsentError> {
        let handle =
            request_uri
                .strip_prefix(REQUEST_URI_PREFIX)
                .ok_or(ConsentError::BadRequest(
                    "the request_uri is not one of ours",
                ))?;
        let row = self
            .store
            .fapi_request(&hash_hex(handle))
            .await
            .map_err(|_| ConsentError::Unavailable)?
            .ok_or(ConsentError::BadRequest("the request_uri is unknown"))?;
        if row.client_id != client_id {
            return Err(ConsentError::BadRequest(
                "the request_uri belongs to another client",
            ));
        }
        if row.used_at.is_some() {
            return Err(ConsentError::BadRequest("the request_uri was used"));
        }
        if row.expires_at <= self.now() {
            return Err(ConsentError::BadRequest("the request_uri has expired"));
        }
        let client = self
            .active_client(client_id)
            .await
            .map_err(|_| ConsentError::Unavailable)?
            .ok_or(ConsentError::BadRequest("the client is unknown"))?;
        let params = match serde_json::from_str(&row.params) {
            Ok(Value::Object(params)) => params,
            _ => return Err(ConsentError::Unavailable),
        };
        Ok((row, client, params))
    }

    /// The consent page's content for a pushed request (checked, not used up: single use is
    /// enforced when the resource owner decides). The page carries a fresh form token; only
    /// its hash is kept, replacing the previous one.
    pub async fn pending(
        &self,
        client_id: &str,
        request_uri: &str,
    ) -> Result<Pending, ConsentError> {
        let (row, client, params) = self.live_request(client_id, request_uri).await?;
        let scopes = params
            .get("scope")
            .and_then(Value::as_str)
            .and_then(|s| s.parse().ok())
            .ok_or(ConsentError::Unavailable)?;
        let form_token = self.form_token(&row)?;
        Ok(Pending {
            client_id: client.client_id,
            client_name: client.name,
            scopes,
            request_uri: request_uri.to_owned(),
            form_token,
        })
    }

    /// The consent form's anti-forgery token: derived from the request's `form_hash` (the
    /// hash of a random value made at PAR and never sent anywhere) and its handle, so only
    /// this server can make it, every instance makes the same one, and a forged POST (which
    /// can know the `request_uri`, not the form hash) cannot name it.
    fn form_token(&self, row: &FapiRequestRow) -> Result<SecretString, ConsentError> {
        let token = sha256_b64url(format!("{}:{}", row.form_hash, row.handle_hash).as_bytes());
        Ok(SecretString::from(token))
    }

    /// The resource owner decides on the consent page. Approving needs the tenant user's
    /// password and second factor and grants the requested scopes their tenant role allows
    /// (all of them, or the request is refused); the request is used up either way, and the
    /// answer is the JARM redirect.
    pub async fn decide(
        &self,
        client_id: &str,
        request_uri: &str,
        form_token: &str,
        decision: Decision<'_>,
        context: &AuditContext,
    ) -> Result<String, ConsentError> {
        let (row, client, params) = self.live_request(client_id, request_uri).await?;
        let expected = self.form_token(&row)?;
        if !benteng_crypto::constant_time_eq(
            expected.expose_secret().as_bytes(),
            form_token.as_bytes(),
        ) {
            return Err(ConsentError::BadRequest("the form is stale or forged"));
        }
        let text = |name: &str| params.get(name).and_then(Value::as_str);
        let redirect_uri = text("redirect_uri").ok_or(ConsentError::Unavailable)?;
        let now = self.now();
        let (claims, code_row) = match decision {
            Decision::Deny => (json!({"error": "access_denied"}), None),
            Decision::Approve {
                login,
                password,
                code,
            } => {
                let signed_in = self
                    .people
                    .sign_in(Audience::TenantUsers, login, password, code, context)
                    .await
                    .map_err(|e| match e {
                        SignInError::Invalid | SignInError::Throttled { .. } => {
                            ConsentError::SignIn
                        }
                        _ => ConsentError::Unavailable,
                    })?;
                // The consent needs no session; it ends here.
                let _ = self.people.sign_out(&signed_in.principal, context).await;
                let Some((tenant, role)) = signed_in.principal.tenant else {
                    return Err(ConsentError::SignIn);
                };
                let requested: Scopes = text("scope")
                    .and_then(|s| s.parse().ok())
                    .ok_or(ConsentError::Unavailable)?;
                if requested.iter().any(|s| !role.scopes().contains(s)) {
                    (
                        json!({"error": "access_denied",
                               "error_description": "your role does not allow these scopes"}),
                        None,
                    )
                } else {
                    let code = random_b64(32).map_err(|_| ConsentError::Unavailable)?;
                    let code_row = FapiCodeRow {
                        code_hash: hash_hex(&code),
                        client_id: client.client_id.clone(),
                        tenant_id: tenant,
                        person_id: signed_in.principal.person,
                        scopes: requested.to_string(),
                        redirect_uri: redirect_uri.to_owned(),
                        code_challenge: text("code_challenge")
                            .ok_or(ConsentError::Unavailable)?
                            .to_owned(),
                        dpop_jkt: text("dpop_jkt").map(str::to_owned),
                        created_at: now,
                        expires_at: now + CODE_TTL,
                        used_at: None,
                    };
                    (json!({ "code": code }), Some(code_row))
                }
            }
        };
        let decided = self
            .store
            .decide_fapi_request(&row.handle_hash, now, code_row.as_ref(), context)
            .await
            .map_err(|_| ConsentError::Unavailable)?;
        if !decided {
            return Err(ConsentError::BadRequest("the request_uri was used"));
        }
        let mut claims = claims;
        let issuer = self.issuer().map_err(|_| ConsentError::Unavailable)?;
        claims["iss"] = issuer.into();
        claims["aud"] = client.client_id.as_str().into();
        claims["exp"] = (unix(now) + JARM_TTL_SECS).into();
        claims["iat"] = unix(now).into();
        if let Some(state) = params.get("state") {
            claims["state"] = state.clone();
        }
        let (kid, key) = self.signer().await.map_err(|_| ConsentError::Unavailable)?;
        let mut header = Map::new();
        header.insert("kid".into(), kid.into());
        header.insert("typ".into(), "JWT".into());
        let response = key
            .sign(&header, &claims)
            .map_err(|_| ConsentError::Unavailable)?;
        let separator = if redirect_uri.contains('?') { '&' } else { '?' };
        Ok(format!("{redirect_uri}{separator}response={response}"))
    }

    // ----- the token endpoint -----

    /// `grant_type=authorization_code` with PKCE, `private_key_jwt` and a DPoP proof: a 5-minute
    /// access token bound to the proof's key. A code presented a second time revokes what it
    /// issued.
    pub async fn token(
        &self,
        params: &Params,
        dpop: &[&str],
        context: &AuditContext,
    ) -> Result<IssuedAccess, OAuthError> {
        let client = self.authenticate_client(params).await?;
        if params.get("grant_type").map(String::as_str) != Some("authorization_code") {
            return Err(OAuthError::new(
                "unsupported_grant_type",
                "only authorization_code is supported",
            ));
        }
        let jkt = self
            .check_proof(
                dpop,
                ProofTarget {
                    method: "POST",
                    path: TOKEN_PATH,
                },
                None,
            )
            .await?;
        let code = params
            .get("code")
            .ok_or_else(|| OAuthError::invalid_request("code is missing"))?;
        let verifier = params
            .get("code_verifier")
            .ok_or_else(|| OAuthError::invalid_request("code_verifier is missing"))?;
        if !(43..=128).contains(&verifier.len())
            || !verifier
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"-._~".contains(&b))
        {
            return Err(OAuthError::invalid_request("code_verifier is malformed"));
        }
        let row = self
            .store
            .fapi_code(&hash_hex(code))
            .await
            .map_err(store_error)?
            .ok_or_else(|| OAuthError::invalid_grant("the code is unknown"))?;
        if row.client_id != client.client_id {
            return Err(OAuthError::invalid_grant(
                "the code was issued to another client",
            ));
        }
        let now = self.now();
        if row.used_at.is_some() {
            self.store
                .revoke_fapi_code_tokens(&row, now, context)
                .await
                .map_err(store_error)?;
            return Err(OAuthError::invalid_grant("the code was used before"));
        }
        if row.expires_at <= now {
            return Err(OAuthError::invalid_grant("the code has expired"));
        }
        if params.get("redirect_uri") != Some(&row.redirect_uri) {
            return Err(OAuthError::invalid_grant("redirect_uri does not match"));
        }
        if sha256_b64url(verifier.as_bytes()) != row.code_challenge {
            return Err(OAuthError::invalid_grant(
                "the PKCE verifier does not match",
            ));
        }
        if let Some(bound) = &row.dpop_jkt
            && *bound != jkt
        {
            return Err(OAuthError::invalid_grant(
                "the DPoP key is not the one the code is bound to",
            ));
        }
        let token = format!("{ACCESS_TOKEN_PREFIX}{}", random_b64(32)?);
        let token_row = FapiTokenRow {
            id: uuid::Uuid::now_v7(),
            token_hash: hash_hex(&token),
            code_hash: row.code_hash.clone(),
            client_id: client.client_id.clone(),
            tenant_id: row.tenant_id,
            person_id: row.person_id,
            scopes: row.scopes.clone(),
            jkt,
            created_at: now,
            expires_at: now + ACCESS_TOKEN_TTL,
            revoked_at: None,
        };
        let redeemed = self
            .store
            .redeem_fapi_code(now, &token_row, context)
            .await
            .map_err(store_error)?;
        if !redeemed {
            return Err(OAuthError::invalid_grant("the code was used before"));
        }
        Ok(IssuedAccess {
            access_token: SecretString::from(token),
            expires_in: ACCESS_TOKEN_TTL.as_secs(),
            scope: row.scopes,
        })
    }

    /// Token revocation (RFC 7009): the client authenticates as at the token endpoint and
    /// names one of its access tokens; the answer is the same whether or not the token was
    /// live (or the client's), so it tells nothing.
    pub async fn revoke(&self, params: &Params, context: &AuditContext) -> Result<(), OAuthError> {
        let client = self.authenticate_client(params).await?;
        let token = params
            .get("token")
            .ok_or_else(|| OAuthError::invalid_request("token is missing"))?;
        if let Some(hint) = params.get("token_type_hint")
            && hint != "access_token"
        {
            return Err(OAuthError::new(
                "unsupported_token_type",
                "only access tokens are issued here",
            ));
        }
        self.store
            .revoke_fapi_token(&hash_hex(token), &client.client_id, self.now(), context)
            .await
            .map_err(store_error)?;
        Ok(())
    }

    // ----- the resource server -----

    /// The consenting person's tenant role now. A person disabled, or moved out of the tenant,
    /// since the consent no longer lends it to a third party; a narrower role narrows what the
    /// token can do (checked by the Authenticator per request).
    pub async fn consenting_role(
        &self,
        access: &FapiAccess,
    ) -> Result<benteng_core::roles::TenantRole, AuthError> {
        let person = match self.store.person(access.token.person_id).await {
            Ok(person) => person,
            Err(StoreError::NotFound) => return Err(AuthError::Unknown),
            Err(_) => return Err(AuthError::Unavailable),
        };
        match person.tenant {
            Some((tenant, role))
                if person.status == PersonStatus::Active && tenant == access.token.tenant_id =>
            {
                Ok(role)
            }
            _ => Err(AuthError::Unknown),
        }
    }

    /// A DPoP-bound access token with its proof, on a resource request.
    pub async fn authenticate(
        &self,
        token: &str,
        proofs: &[&str],
        target: ProofTarget<'_>,
    ) -> Result<FapiAccess, AuthError> {
        if !token.starts_with(ACCESS_TOKEN_PREFIX) || token.len() > 128 {
            return Err(AuthError::Malformed);
        }
        let row = self
            .store
            .fapi_token(&hash_hex(token))
            .await
            .map_err(|_| AuthError::Unavailable)?
            .ok_or(AuthError::Unknown)?;
        if row.revoked_at.is_some() {
            return Err(AuthError::Revoked);
        }
        if row.expires_at <= self.now() {
            return Err(AuthError::Expired);
        }
        let jkt = self
            .check_proof(proofs, target, Some(token))
            .await
            .map_err(|e| match e.code {
                "temporarily_unavailable" => AuthError::Unavailable,
                _ => AuthError::DpopProof,
            })?;
        if jkt != row.jkt {
            return Err(AuthError::DpopProof);
        }
        if self
            .active_client(&row.client_id)
            .await
            .map_err(|_| AuthError::Unavailable)?
            .is_none()
        {
            return Err(AuthError::Revoked);
        }
        let scopes = row.scopes.parse().map_err(|_| AuthError::Unknown)?;
        Ok(FapiAccess { token: row, scopes })
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn htu_ignores_query_case_and_default_ports() {
        assert_eq!(
            normalize_htu("HTTPS://Server.Example:443/token?x=1#f").as_deref(),
            Some("https://server.example/token")
        );
        assert_eq!(
            normalize_htu("https://server.example:8443/token").as_deref(),
            Some("https://server.example:8443/token")
        );
        assert_ne!(
            normalize_htu("https://server.example/Token"),
            normalize_htu("https://server.example/token")
        );
        assert!(normalize_htu("server.example/token").is_none());
    }

    #[test]
    fn redirect_uris_are_https_without_fragments() {
        assert!(check_redirect_uri("https://client.example/cb").is_ok());
        assert!(check_redirect_uri("http://client.example/cb").is_err());
        assert!(check_redirect_uri("https://client.example/cb#x").is_err());
        assert!(check_redirect_uri("https:///cb").is_err());
        assert!(check_redirect_uri("https://user@client.example/cb").is_err());
    }
}
