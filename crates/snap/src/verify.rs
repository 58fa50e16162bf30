//! Server side: verifying B2B token requests and signed transactional requests.

use std::fmt;
use std::time::Duration;

use time::{Date, OffsetDateTime};

use crate::canon::{self, UrlMode};
use crate::crypto::{ClientSecret, PartnerPublicKey};
use crate::error::{ServiceCode, SnapCode, SnapError, json_string};
use crate::headers::{self, ExternalIdScope, ReplayGuard, TokenHeaders};
use crate::sts;

/// The B2B token endpoint path of the standard (banks may prefix it).
pub const TOKEN_PATH: &str = "/v1.0/access-token/b2b";
/// Token lifetime the standard's examples use (`expiresIn` "900").
pub const DEFAULT_TOKEN_TTL: Duration = Duration::from_secs(900);

/// Verifies a B2B token request's `X-SIGNATURE` = base64(SHA256withRSA(`client_id|X-TIMESTAMP`))
/// with the partner's registered key, after the timestamp window.
///
/// `timestamp_raw` is the header as sent. Errors: 400xx01 `[X-TIMESTAMP]` malformed, 401xx00
/// `[Timestamp]` outside the window, 400xx01 `[X-SIGNATURE]` not base64, 401xx00 `[Signature]`
/// mismatch. Render with [`ServiceCode::B2B_TOKEN`].
pub fn verify_token_signature(
    client_id: &str,
    timestamp_raw: &str,
    signature_b64: &str,
    key: &PartnerPublicKey,
    now: OffsetDateTime,
    tolerance: Duration,
) -> Result<(), SnapError> {
    let timestamp = headers::parse_timestamp(timestamp_raw)?;
    headers::check_window(timestamp, now, tolerance)?;
    key.verify(
        sts::token(client_id, timestamp_raw).as_bytes(),
        signature_b64,
    )
}

/// [`verify_token_signature`] over headers already checked by
/// [`headers::check_token_headers`] (whose `client_key` selected `key`), and the guard against
/// its replay: a captured token request would otherwise mint a token on every resend inside the
/// timestamp window. The caller inserts-if-absent `key` for `ttl` and answers
/// [`SnapError::conflict`] if present. (RSA PKCS#1 v1.5 signatures are deterministic, so two
/// requests of one client in one second are the same request: clients send milliseconds, or
/// reuse their token.)
pub fn verify_token_request(
    headers: &TokenHeaders,
    key: &PartnerPublicKey,
    now: OffsetDateTime,
    tolerance: Duration,
) -> Result<ReplayGuard, SnapError> {
    verify_token_signature(
        &headers.client_key,
        &headers.timestamp_raw,
        &headers.signature,
        key,
        now,
        tolerance,
    )?;
    Ok(ReplayGuard::new(
        "snap:tokensig",
        &headers.signature,
        headers.timestamp,
        now,
        tolerance,
    ))
}

/// Checks the token request body `{"grantType":"client_credentials"}` (other members such as
/// `additionalInfo` are allowed). Not JSON → 400xx00; `grantType` missing → 400xx02; other
/// value → 400xx01.
pub fn check_token_request_body(body: &[u8]) -> Result<(), SnapError> {
    let value: serde_json::Value = serde_json::from_slice(body)
        .map_err(|_| SnapError::bad_request().with_detail("token body is not JSON"))?;
    let object = value
        .as_object()
        .ok_or_else(|| SnapError::bad_request().with_detail("token body is not an object"))?;
    match object.get("grantType") {
        None | Some(serde_json::Value::Null) => {
            Err(SnapError::invalid_mandatory_field("grantType"))
        }
        Some(serde_json::Value::String(s)) if s == "client_credentials" => Ok(()),
        Some(_) => Err(SnapError::invalid_field_format("grantType")),
    }
}

/// The successful token answer:
/// `{"responseCode":"2007300","responseMessage":"Successful","accessToken":…,"tokenType":"Bearer","expiresIn":"900"}`.
/// `expiresIn` is a string of whole seconds, as BCA sends it.
pub fn token_response_body(access_token: &str, expires_in: Duration) -> String {
    format!(
        "{{\"responseCode\":\"{}\",\"responseMessage\":\"Successful\",\"accessToken\":{},\"tokenType\":\"Bearer\",\"expiresIn\":\"{}\"}}",
        SnapCode::success(ServiceCode::B2B_TOKEN),
        json_string(access_token),
        expires_in.as_secs()
    )
}

/// How the partner signs its transactional requests.
#[derive(Clone, Copy, Debug)]
pub enum PartnerCredential<'a> {
    /// HMAC-SHA512 with the client secret over the symmetric string (the default).
    Symmetric(&'a ClientSecret),
    /// SHA256withRSA with the partner's key over the asymmetric string (no token): asymmetric
    /// providers and inbound notifications.
    Asymmetric(&'a PartnerPublicKey),
}

/// One request, raw: as the HTTP layer received it (verify) or will send it (sign). `Debug`
/// shows the body's length only and never the access token (a bearer credential).
#[derive(Clone, Copy)]
pub struct RequestParts<'a> {
    /// HTTP method (any case).
    pub method: &'a str,
    /// Raw path (still percent-encoded), starting with `/`.
    pub path: &'a str,
    /// Raw query without `?`, if any.
    pub query: Option<&'a str>,
    /// Raw body bytes exactly as received.
    pub body: &'a [u8],
    /// Access token presented, without `Bearer ` (see [`headers::bearer_token`]); the caller has
    /// already checked it is a live token of this partner. Ignored for asymmetric signing.
    pub access_token: &'a str,
}

impl fmt::Debug for RequestParts<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RequestParts")
            .field("method", &self.method)
            .field("path", &self.path)
            .field("query", &self.query)
            .field("body_len", &self.body.len())
            .finish_non_exhaustive()
    }
}

/// Verification settings, per partner.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct VerifyOptions {
    /// Accepted `X-TIMESTAMP` skew either way; default 300 s.
    pub tolerance: Duration,
    /// What the partner puts in RelativeUrl; default path and query.
    pub url_mode: UrlMode,
}

impl Default for VerifyOptions {
    fn default() -> Self {
        Self {
            tolerance: headers::DEFAULT_TOLERANCE,
            url_mode: UrlMode::PathAndQuery,
        }
    }
}

/// What a verified request established.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VerifiedRequest {
    /// `X-PARTNER-ID`. The caller must check it belongs to the token's client.
    pub partner_id: String,
    /// `X-EXTERNAL-ID`.
    pub external_id: String,
    /// Jakarta calendar date of `X-TIMESTAMP`.
    pub jakarta_date: Date,
    /// `CHANNEL-ID`.
    pub channel_id: String,
    /// `X-TIMESTAMP`, parsed.
    pub timestamp: OffsetDateTime,
    /// Where `external_id` must be unique, with the record's TTL: insert-if-absent
    /// `scope.key()` for `scope.ttl`; if present answer [`SnapError::conflict`] (409xx00).
    pub external_id_scope: ExternalIdScope,
    /// `snap:sig:{sha256 hex of X-SIGNATURE}`: the same signed request seen twice.
    ///
    /// Why: SNAP signs neither `X-EXTERNAL-ID` nor `X-PARTNER-ID`, so a captured request can be
    /// replayed inside the timestamp window under a new external id. The signature covers
    /// method, URL, token, body and timestamp, so insert-if-absent `replay.key` for
    /// `replay.ttl` and answer [`SnapError::conflict`] if present.
    pub replay: ReplayGuard,
}

/// Verifies one transactional request: header presence and format, timestamp window, body
/// canonical form, and the signature. First failure wins:
///
/// 1. missing header → 400xx02 `[name]`; malformed header (incl. `X-TIMESTAMP`, non-base64
///    `X-SIGNATURE`) → 400xx01 `[name]`;
/// 2. `X-TIMESTAMP` outside `tolerance` → 401xx00 `[Timestamp]`;
/// 3. body not minifiable (invalid UTF-8, unterminated string, unbalanced) or bad URL
///    escape → 400xx00;
/// 4. signature mismatch (different method, path, query, body, token, timestamp, key) →
///    401xx00 `[Signature]`.
///
/// It does not check the token itself, whether `X-PARTNER-ID` matches the token's client, or
/// uniqueness of the external id and of the signature (needs shared state): those are the
/// caller's, using the result (`partner_id`, `external_id_scope`, `replay_key`).
pub fn verify_request<F, V>(
    request: &RequestParts<'_>,
    headers: F,
    credential: PartnerCredential<'_>,
    now: OffsetDateTime,
    options: &VerifyOptions,
) -> Result<VerifiedRequest, SnapError>
where
    F: Fn(&str) -> Option<V>,
    V: AsRef<[u8]>,
{
    let h = headers::check_transaction_headers(headers)?;
    headers::check_window(h.timestamp, now, options.tolerance)?;
    let body_hash = canon::body_hash(request.body)?;
    let url = canon::relative_url(request.path, request.query, options.url_mode)?;
    match credential {
        PartnerCredential::Symmetric(secret) => {
            let s = sts::symmetric(
                request.method,
                &url,
                request.access_token,
                &body_hash,
                &h.timestamp_raw,
            );
            secret.verify(s.as_bytes(), &h.signature)?;
        }
        PartnerCredential::Asymmetric(key) => {
            let s = sts::asymmetric(request.method, &url, &body_hash, &h.timestamp_raw);
            key.verify(s.as_bytes(), &h.signature)?;
        }
    }
    let external_id_scope = headers::external_id_scope(
        &h.partner_id,
        &h.external_id,
        h.timestamp,
        now,
        options.tolerance,
    );
    Ok(VerifiedRequest {
        replay: ReplayGuard::new(
            "snap:sig",
            &h.signature,
            h.timestamp,
            now,
            options.tolerance,
        ),
        jakarta_date: external_id_scope.jakarta_date,
        partner_id: h.partner_id,
        external_id: h.external_id,
        channel_id: h.channel_id,
        timestamp: h.timestamp,
        external_id_scope,
    })
}
