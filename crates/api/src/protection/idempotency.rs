//! Idempotency keys for money-moving requests.
//!
//! Order of a request with key K for tenant T:
//! 1. the key is read and validated (a UUID; `X-Idempotency-Key`, or `Idempotency-Key`);
//! 2. in the protection layer's one shared-state step ([`benteng_shared_state::SharedState::admit`],
//!    together with the rate limits): the stored response `idempotency:{T}:{K}` if there is one
//!    (→ replay, or 422 when the payload differs), else the in-flight lock
//!    `idempotency-lock:{T}:{K}` with an owner token (already held → 409);
//! 3. holding the lock, the handler runs; the payments layer writes the record with the write's
//!    outcome in the transfer's own transaction. If Redis had lost a completed record, the
//!    command is refused as `IdempotencyKeyTaken` and the database's record is rendered and
//!    replayed (or 422) instead;
//! 4. one more step stores the response in Redis and releases the lock
//!    ([`benteng_shared_state::SharedState::finish`]).
//!
//! The database is the final arbiter: the record's primary key (tenant, key) is written in the
//! transfer's transaction, so two instances that both believe they hold the lock (a Redis restart)
//! still produce one transfer; the loser replays the winner's response. With the shared store
//! unreachable nothing runs: 503 with `Retry-After`.
//!
//! Only committed writes are recorded. A refusal (validation, insufficient funds, a failing
//! database) wrote nothing and is not recorded, so the client may correct and retry with the
//! same key (as Stripe does for validation errors).

use axum::body::Body;
use axum::extract::{FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderName, HeaderValue, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use benteng_core::ids::TenantId;
use benteng_payments::Outcome;
use benteng_shared_state::{KeyLock, KeyState};
use benteng_store::IdempotencyClaim;
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use crate::error::ApiError;
use crate::state::AppState;

pub static X_IDEMPOTENCY_KEY: HeaderName = HeaderName::from_static("x-idempotency-key");
pub static IDEMPOTENCY_KEY: HeaderName = HeaderName::from_static("idempotency-key");
pub static IDEMPOTENT_REPLAYED: HeaderName = HeaderName::from_static("idempotent-replayed");

/// Set by the protection layer when it is switched off (`protection.enabled = false`).
#[derive(Debug, Clone, Copy)]
pub struct Disabled;

/// What a money-moving handler needs to record its write: the claim on the key, or `None` when
/// protection is switched off. Extraction fails when the protection layer did not run, so a
/// money route mounted without it answers 500 instead of moving money unguarded.
pub struct Idempotency(pub Option<IdempotencyClaim>);

impl<S: Send + Sync> FromRequestParts<S> for Idempotency {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        if let Some(claim) = parts.extensions.get::<IdempotencyClaim>() {
            return Ok(Idempotency(Some(claim.clone())));
        }
        if parts.extensions.get::<Disabled>().is_some() {
            return Ok(Idempotency(None));
        }
        tracing::error!("money-moving handler reached without the protection layer");
        Err(ApiError::Internal)
    }
}

/// A response as first sent, for replays from the shared state's copy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredResponse {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: String,
}

/// Response extension: the handler committed this response with its idempotency record.
#[derive(Debug, Clone)]
pub struct Recorded(pub StoredResponse);

/// Response extension: the store found the key claimed by another request that committed.
#[derive(Debug, Clone, Copy)]
pub struct KeyTaken;

/// A JSON response in the form it is stored and replayed.
pub fn stored_json(
    status: StatusCode,
    location: Option<String>,
    body: &impl Serialize,
) -> StoredResponse {
    let mut headers = vec![("content-type".to_owned(), "application/json".to_owned())];
    if let Some(location) = location {
        headers.push(("location".to_owned(), location));
    }
    StoredResponse {
        status: status.as_u16(),
        headers,
        body: serde_json::to_string(body).unwrap_or_else(|_| "{}".to_owned()),
    }
}

/// The HTTP response of a stored one.
pub fn render(stored: &StoredResponse) -> Response {
    let mut response = Response::new(Body::from(stored.body.clone()));
    *response.status_mut() = StatusCode::from_u16(stored.status).unwrap_or(StatusCode::OK);
    let headers = response.headers_mut();
    for (name, value) in &stored.headers {
        if let (Ok(name), Ok(value)) = (
            HeaderName::from_bytes(name.as_bytes()),
            HeaderValue::from_str(value),
        ) {
            headers.append(name, value);
        }
    }
    response
}

/// The first response of a recorded write, marked for the protection layer to cache.
pub fn recorded(stored: StoredResponse) -> Response {
    let mut response = render(&stored);
    response.extensions_mut().insert(Recorded(stored));
    response
}

/// The key of a request: exactly one UUID across both header names.
pub fn key_from(headers: &HeaderMap) -> Result<String, ApiError> {
    let mut found: Option<String> = None;
    for name in [&X_IDEMPOTENCY_KEY, &IDEMPOTENCY_KEY] {
        for value in headers.get_all(name) {
            let key = parse_key(value.as_bytes())?;
            match &found {
                Some(existing) if *existing != key => {
                    return Err(invalid(
                        "the request carries two different idempotency keys",
                    ));
                }
                _ => found = Some(key),
            }
        }
    }
    found.ok_or(ApiError::Refused {
        status: StatusCode::BAD_REQUEST,
        slug: "idempotency-key-missing",
        title: "Idempotency key required",
        detail: "money-moving requests need an X-Idempotency-Key header holding a UUID".to_owned(),
    })
}

fn invalid(detail: &str) -> ApiError {
    ApiError::Refused {
        status: StatusCode::BAD_REQUEST,
        slug: "idempotency-key-invalid",
        title: "Invalid idempotency key",
        detail: detail.to_owned(),
    }
}

/// A UUID in hyphenated form, optionally as an RFC 8941 string (in double quotes); canonical
/// lowercase. Length is checked before anything else is looked at.
fn parse_key(raw: &[u8]) -> Result<String, ApiError> {
    const MESSAGE: &str =
        "the idempotency key must be a UUID such as 0b0e4c4e-6f0a-4c39-9d8e-2f4b7a1c9e55";
    if raw.len() > 38 {
        return Err(invalid(MESSAGE));
    }
    let raw = match raw {
        [b'"', inner @ .., b'"'] => inner,
        other => other,
    };
    if raw.len() != 36 || !raw.iter().all(|b| b.is_ascii_hexdigit() || *b == b'-') {
        return Err(invalid(MESSAGE));
    }
    let uuid = uuid::Uuid::try_parse_ascii(raw).map_err(|_| invalid(MESSAGE))?;
    Ok(uuid.hyphenated().to_string())
}

/// SHA-256 of method, path and body, lowercase hex.
pub fn fingerprint(method: &Method, path: &str, body: &[u8]) -> String {
    let mut data = Vec::with_capacity(method.as_str().len() + path.len() + body.len() + 2);
    data.extend_from_slice(method.as_str().as_bytes());
    data.push(b'\n');
    data.extend_from_slice(path.as_bytes());
    data.push(b'\n');
    data.extend_from_slice(body);
    hex::encode(benteng_crypto::sha256(&data))
}

/// The Redis copy of a record.
#[derive(Serialize, Deserialize)]
struct Cached {
    fingerprint: String,
    status: u16,
    headers: Vec<(String, String)>,
    body: String,
}

/// A response to keep in the shared state, for as long as its key's record lives.
struct Copy {
    fingerprint: String,
    response: StoredResponse,
    expires_at: OffsetDateTime,
}

/// What the MAC of a response's shared copy is for (see [`benteng_crypto::KeyedHasher::seal`]).
const REPLAY_PURPOSE: &str = "idempotency-replay";

/// The Redis copy of a response, sealed under the replay MAC, and how long it lives; `None`
/// when the record has expired or cannot be encoded.
fn cached_copy(
    mac: &benteng_crypto::KeyedHasher,
    key: &KeyLock,
    copy: &Copy,
    now: OffsetDateTime,
) -> Option<(Vec<u8>, std::time::Duration)> {
    let ttl = (copy.expires_at - now).max(time::Duration::ZERO);
    let ttl = std::time::Duration::try_from(ttl).unwrap_or_default();
    let cached = Cached {
        fingerprint: copy.fingerprint.clone(),
        status: copy.response.status,
        headers: copy.response.headers.clone(),
        body: copy.response.body.clone(),
    };
    let bytes = serde_json::to_vec(&cached).ok()?;
    let sealed = mac.seal(REPLAY_PURPOSE, &key.response_key, &bytes);
    (!ttl.is_zero()).then_some((sealed, ttl))
}

fn in_flight() -> ApiError {
    metrics::counter!("idempotency_total", "outcome" => "in_flight").increment(1);
    ApiError::IdempotencyInFlight
}

/// The stored answer for a retry with this fingerprint, or 422 when the payload differs.
fn replay(fingerprint: &str, stored_fingerprint: &str, stored: &StoredResponse) -> Response {
    if fingerprint != stored_fingerprint {
        metrics::counter!("idempotency_total", "outcome" => "mismatch").increment(1);
        return ApiError::Refused {
            status: StatusCode::UNPROCESSABLE_ENTITY,
            slug: "idempotency-key-reused",
            title: "Idempotency key reused with a different request",
            detail: "this key was used for a request with a different method, path or body"
                .to_owned(),
        }
        .into_response();
    }
    metrics::counter!("idempotency_total", "outcome" => "replayed").increment(1);
    let mut response = render(stored);
    response.headers_mut().insert(
        IDEMPOTENT_REPLAYED.clone(),
        HeaderValue::from_static("true"),
    );
    response
}

/// A money-moving request's idempotency key, scoped by its tenant, with its entries in the
/// shared state and this request's lock token.
pub struct Key {
    tenant: TenantId,
    key: String,
    lock: KeyLock,
}

impl Key {
    /// The request's key (400 when it is missing or invalid).
    pub fn of(state: &AppState, tenant: TenantId, headers: &HeaderMap) -> Result<Self, ApiError> {
        let key = key_from(headers)?;
        Ok(Self {
            lock: KeyLock {
                response_key: format!("idempotency:{tenant}:{key}"),
                lock_key: format!("idempotency-lock:{tenant}:{key}"),
                owner: uuid::Uuid::new_v4().simple().to_string(),
                ttl: state.protection.lock_ttl,
            },
            tenant,
            key,
        })
    }

    pub fn lock(&self) -> &KeyLock {
        &self.lock
    }
}

/// Runs a money-moving request under its key, as the shared state found it (see the module
/// docs). Replays need the body only for its fingerprint; a locked key is released, with the
/// response stored, in one step after the handler.
pub async fn run(
    state: &AppState,
    key: &Key,
    found: KeyState,
    request: Request,
    next: Next,
) -> Response {
    let cached = match found {
        KeyState::InFlight => return in_flight().into_response(),
        // A copy that fails its MAC (planted by whoever can write to Redis) or that cannot be
        // read (another version's format) is not trusted: the handler runs, and the record
        // written in its transaction finds the database's.
        KeyState::Completed(sealed) => {
            let opened =
                state
                    .protection
                    .replay_mac
                    .open(REPLAY_PURPOSE, &key.lock.response_key, &sealed);
            if opened.is_none() {
                tracing::warn!(target: "security", key = %key.lock.response_key, "idempotency copy in the shared state failed its MAC; ignored");
            }
            opened.and_then(|bytes| serde_json::from_slice::<Cached>(bytes).ok())
        }
        KeyState::Locked => None,
    };
    let (parts, body) = request.into_parts();
    let body = axum::body::to_bytes(body, state.limits.body_limit_bytes).await;
    let (response, copy) = match body {
        Err(_) => (ApiError::PayloadTooLarge.into_response(), None),
        Ok(body) => {
            let fingerprint = fingerprint(&parts.method, parts.uri.path(), &body);
            if let Some(cached) = cached {
                let stored = StoredResponse {
                    status: cached.status,
                    headers: cached.headers,
                    body: cached.body,
                };
                return replay(&fingerprint, &cached.fingerprint, &stored);
            }
            run_locked(state, key, fingerprint, parts, body, next).await
        }
    };
    let copy = copy.as_ref().and_then(|copy| {
        cached_copy(
            &state.protection.replay_mac,
            &key.lock,
            copy,
            state.payments.now(),
        )
    });
    let copy = copy.as_ref().map(|(bytes, ttl)| (bytes.as_slice(), *ttl));
    if let Err(error) = state.shared.finish(&key.lock, copy).await {
        // The lock expires on its own; the database record already decides any retry.
        tracing::warn!(%error, "could not store an idempotency record or release its lock");
    }
    response
}

/// Runs the handler holding the lock: the response, and the record to copy to the shared state
/// when the key was used (by this request, or by another one the database knows of).
async fn run_locked(
    state: &AppState,
    key: &Key,
    fingerprint: String,
    mut parts: Parts,
    body: axum::body::Bytes,
    next: Next,
) -> (Response, Option<Copy>) {
    // No database read here: the record is written in the write's own transaction, so a record
    // Redis lost surfaces there as `KeyTaken` and is replayed below.
    // (A read here would cost every request a round trip, on SQLite through its one writer.)
    let now = state.payments.now();
    let ttl =
        time::Duration::try_from(state.protection.idempotency_ttl).unwrap_or(time::Duration::DAY);
    let claim = IdempotencyClaim {
        tenant_id: key.tenant,
        key: key.key.clone(),
        fingerprint: fingerprint.clone(),
        now,
        expires_at: now + ttl,
    };
    parts.extensions.insert(claim.clone());
    let handler_started = std::time::Instant::now();
    let mut response = next.run(Request::from_parts(parts, Body::from(body))).await;
    let handler = super::HandlerElapsed(handler_started.elapsed());
    response.extensions_mut().insert(handler);
    if let Some(Recorded(stored)) = response.extensions_mut().remove::<Recorded>() {
        metrics::counter!("idempotency_total", "outcome" => "executed").increment(1);
        let copy = Copy {
            fingerprint,
            response: stored,
            expires_at: claim.expires_at,
        };
        return (response, Some(copy));
    }
    if response.extensions_mut().remove::<KeyTaken>().is_some() {
        // Another instance committed this key while we held a lock Redis had forgotten.
        return match state
            .store
            .idempotency_record(key.tenant, &key.key, now)
            .await
        {
            Ok(Some(record)) => match Outcome::decode(&record.outcome) {
                Some(outcome) => {
                    let first = crate::routes::first_response(&outcome);
                    let replayed = replay(&fingerprint, &record.fingerprint, &first);
                    let copy = Copy {
                        fingerprint: record.fingerprint,
                        response: first,
                        expires_at: record.expires_at,
                    };
                    (replayed, Some(copy))
                }
                None => {
                    tracing::error!("an idempotency record this version cannot read");
                    (ApiError::Internal.into_response(), None)
                }
            },
            Ok(None) => (in_flight().into_response(), None),
            Err(error) => (ApiError::from(error).into_response(), None),
        };
    }
    (response, None)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn headers(pairs: &[(&HeaderName, &[u8])]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            map.append((*name).clone(), HeaderValue::from_bytes(value).unwrap());
        }
        map
    }

    #[test]
    fn keys_are_uuids_in_canonical_form() {
        let key = b"0B0E4C4E-6F0A-4C39-9D8E-2F4B7A1C9E55";
        let canonical = "0b0e4c4e-6f0a-4c39-9d8e-2f4b7a1c9e55";
        assert_eq!(
            key_from(&headers(&[(&X_IDEMPOTENCY_KEY, key)])).unwrap(),
            canonical
        );
        assert_eq!(
            key_from(&headers(&[(&IDEMPOTENCY_KEY, key)])).unwrap(),
            canonical
        );
        let quoted = format!("\"{canonical}\"");
        assert_eq!(
            key_from(&headers(&[(&IDEMPOTENCY_KEY, quoted.as_bytes())])).unwrap(),
            canonical
        );
        // Both names with the same key are fine; different keys are not.
        assert!(
            key_from(&headers(&[
                (&X_IDEMPOTENCY_KEY, key),
                (&IDEMPOTENCY_KEY, key)
            ]))
            .is_ok()
        );
        let other = b"1b0e4c4e-6f0a-4c39-9d8e-2f4b7a1c9e55";
        assert!(
            key_from(&headers(&[
                (&X_IDEMPOTENCY_KEY, key),
                (&IDEMPOTENCY_KEY, other)
            ]))
            .is_err()
        );
        for bad in [
            &b"not-a-uuid"[..],
            &b"0b0e4c4e6f0a4c399d8e2f4b7a1c9e55"[..],
            &b"0b0e4c4e-6f0a-4c39-9d8e-2f4b7a1c9e5\t"[..],
            &[b'a'; 10 * 1024][..],
            &b""[..],
        ] {
            assert!(key_from(&headers(&[(&X_IDEMPOTENCY_KEY, bad)])).is_err());
        }
        assert!(key_from(&HeaderMap::new()).is_err());
    }

    #[test]
    fn fingerprint_covers_method_path_and_body() {
        let a = fingerprint(&Method::POST, "/v1/transfers", b"{}");
        assert_eq!(a.len(), 64);
        assert_ne!(a, fingerprint(&Method::POST, "/v1/batches", b"{}"));
        assert_ne!(a, fingerprint(&Method::POST, "/v1/transfers", b"{ }"));
        assert_eq!(a, fingerprint(&Method::POST, "/v1/transfers", b"{}"));
    }
}
