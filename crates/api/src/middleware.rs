//! The middleware a request passes, each one job. `app::router` stacks them in the spec's order.

use std::time::Instant;

use axum::extract::{FromRequestParts, MatchedPath, Request, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderName, HeaderValue, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use benteng_auth::{AuthError, Principal, RequestFacts};
use benteng_core::audit::{AuditContext, AuditEvent};
use benteng_transport::PeerInfo;
use tracing::Instrument;

use crate::error::{ApiError, PROBLEM_CONTENT_TYPE};
use crate::protection::client_ip::client_ip;
use crate::protection::rate_limit::IpGuard;
use crate::state::AppState;

pub static X_REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// The id of the request, on every log line it causes and in its response's `X-Request-Id`.
#[derive(Debug, Clone)]
pub struct RequestId(pub String);

/// A client's request id is kept when it is short and plain, so it can be correlated; anything
/// else is replaced, so hostile ids never reach the logs.
fn request_id_from(headers: &HeaderMap) -> String {
    headers
        .get(&X_REQUEST_ID)
        .and_then(|v| v.to_str().ok())
        .filter(|v| {
            (1..=64).contains(&v.len())
                && v.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"-_.".contains(&b))
        })
        .map(str::to_owned)
        .unwrap_or_else(|| format!("req_{}", uuid::Uuid::new_v4().simple()))
}

/// Request id, a tracing span carrying it, one access-log line and the request metrics.
/// Only the method, the route template and the status are recorded: no query strings, bodies or
/// headers, which may carry secrets or personal data.
pub async fn observe(mut request: Request, next: Next) -> Response {
    let id = request_id_from(request.headers());
    request.extensions_mut().insert(RequestId(id.clone()));
    let method = request.method().clone();
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map(|p| p.as_str().to_owned())
        .unwrap_or_else(|| "unmatched".to_owned());
    let client_ip = client_ip(request.extensions())
        .map(|ip| ip.to_string())
        .unwrap_or_default();
    let span = tracing::info_span!("request", request_id = %id, method = %method, route = %route, client_ip = %client_ip);
    let started = Instant::now();
    let mut response = next.run(request).instrument(span.clone()).await;
    let elapsed = started.elapsed();
    let status = response.status().as_u16();
    span.in_scope(|| {
        tracing::info!(
            status,
            latency_us = elapsed.as_micros() as u64,
            "request completed"
        );
    });
    let labels = [
        ("method", method.to_string()),
        ("route", route),
        ("status", status.to_string()),
    ];
    metrics::counter!("http_requests_total", &labels).increment(1);
    metrics::histogram!("http_request_duration_seconds", &labels).record(elapsed.as_secs_f64());
    if let Ok(value) = HeaderValue::from_str(&id) {
        response.headers_mut().insert(X_REQUEST_ID.clone(), value);
    }
    response
}

/// Turns any error response that is not already a problem document (the router's 404 and 405,
/// the body limit's 413, a timeout, a caught panic) into one, so every error looks alike.
///
/// This is the one place where the route family decides the error format: SNAP paths
/// (`/v1.0/…`) answer in SNAP's `{"responseCode","responseMessage"}`, everything else in
/// problem+json.
/// Marks a response whose error body is in its protocol's own format (the OAuth endpoints'
/// RFC 6749 JSON, the consent page's HTML): `problem_fallback` leaves it as it is.
#[derive(Debug, Clone, Copy)]
pub struct OwnFormat;

pub async fn problem_fallback(request: Request, next: Next) -> Response {
    let snap_service = crate::snap_format::service_for_path(request.uri().path());
    let response = next.run(request).await;
    if let Some(service) = snap_service {
        return crate::snap_format::ensure_snap_format(response, service);
    }
    let status = response.status();
    let is_problem = response
        .headers()
        .get(header::CONTENT_TYPE)
        .is_some_and(|v| v.as_bytes() == PROBLEM_CONTENT_TYPE.as_bytes());
    let own = response.extensions().get::<OwnFormat>().is_some();
    if !(status.is_client_error() || status.is_server_error()) || is_problem || own {
        return response;
    }
    let allow = response.headers().get(header::ALLOW).cloned();
    let mut replaced = ApiError::from_status(status).into_response();
    if let Some(allow) = allow {
        replaced.headers_mut().insert(header::ALLOW, allow);
    }
    replaced
}

/// The spec's security headers, on every response including errors, plus `no-store`: API
/// answers carry account data and must not sit in shared caches. The one exception is a
/// response its handler marked `public` (the JWKS: public keys, meant to be cached).
/// A page may set a stricter content security or referrer policy of its own (the FAPI consent
/// page does); every other response gets the defaults.
pub async fn security_headers(request: Request, next: Next) -> Response {
    let mut response = next.run(request).await;
    let public = response.status().is_success()
        && response
            .headers()
            .get(header::CACHE_CONTROL)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.starts_with("public, "));
    let headers = response.headers_mut();
    for (name, value) in [
        (
            "strict-transport-security",
            "max-age=31536000; includeSubDomains",
        ),
        ("x-content-type-options", "nosniff"),
        ("x-frame-options", "DENY"),
        ("content-security-policy", "default-src 'self'"),
        ("x-xss-protection", "1; mode=block"),
        ("referrer-policy", "strict-origin-when-cross-origin"),
        ("cache-control", "no-store"),
    ] {
        if public && name == "cache-control" {
            continue;
        }
        if matches!(name, "content-security-policy" | "referrer-policy")
            && headers.contains_key(name)
        {
            continue;
        }
        headers.insert(
            HeaderName::from_static(name),
            HeaderValue::from_static(value),
        );
    }
    response
}

/// Authentication for tenant routes: the one place credentials are read. On success the
/// `Principal` rides in the request's extensions for `Caller` to pick up.
///
/// The per-IP guard: credentials this instance can decide on its own (a key it verified lately,
/// missing or malformed ones) are checked first, and the address is checked afterwards, in the
/// protection layer's one shared-state step or when counting the failure. Any other key is
/// looked up (shared cache, database) only after the address was found not blocked, so guessing
/// keys is slow and a blocked address never reaches the database. Either way a blocked address
/// gets the same 429, valid key or not.
///
/// The scope: `needs` says which scope each method of the route needs; the `Authenticator`
/// refuses a principal without it (403 naming the scope), on the cached path as on the full
/// one. A method the route declares no scope for is refused outright.
///
/// The client address (`client_ip`, the connection's) goes to the `Authenticator` too: a key
/// restricted to networks is refused with 403 `network-not-allowed` from anywhere else, or
/// when the address is unknown.
pub async fn authenticate(
    State((state, needs)): State<(AppState, crate::routes::Needs)>,
    mut request: Request,
    next: Next,
) -> Response {
    let Some(scope) = needs.scope_for(request.method()) else {
        tracing::error!(method = %request.method(), "tenant route without a scope for this method; refused");
        return ApiError::Forbidden("this method of the route declares no scope").into_response();
    };
    let authorization = request
        .headers()
        .get(header::AUTHORIZATION)
        .map(|v| v.to_str().map_err(|_| AuthError::Malformed));
    // The verified TLS client certificate of the connection, for the mTLS tenant binding.
    let client_cert = request
        .extensions()
        .get::<PeerInfo>()
        .and_then(PeerInfo::client_cert)
        .map(|cert| cert.sha256_fingerprint.clone());
    let facts = RequestFacts {
        needs: scope,
        client_cert_fingerprint: client_cert.as_deref(),
        // The connection's address, for a key's network allow-list (the same one the audit
        // trail and the per-IP guard see).
        client_ip: client_ip(request.extensions()),
    };
    let guard = IpGuard::of(&state, request.extensions());
    let dpop_scheme =
        matches!(&authorization, Some(Ok(value)) if benteng_auth::is_dpop_scheme(value));
    // A tenant user's browser: the session cookie, when no Authorization header is present.
    let session = authorization
        .is_none()
        .then(|| session_cookie(request.headers()).map(str::to_owned))
        .flatten();
    let outcome = match (authorization.transpose(), &session) {
        (Ok(None), Some(token)) => {
            if let Some(guard) = &guard
                && let Some(refusal) = guard.refuse_if_blocked(&state).await
            {
                return refusal;
            }
            match state.auth.authenticate_tenant_session(token, &facts).await {
                Ok(principal) => {
                    if let Some(event) = csrf_refusal(&state, &request, token) {
                        record(&state, &event).await;
                        return csrf_refused();
                    }
                    Ok(principal)
                }
                Err(error) => Err(error),
            }
        }
        (Err(error), _) => Err(error),
        // FAPI 2.0: a DPoP-bound access token with its proof (RFC 9449 §7).
        (Ok(Some(value)), _) if benteng_auth::is_dpop_scheme(value) => {
            if let Some(guard) = &guard
                && let Some(refusal) = guard.refuse_if_blocked(&state).await
            {
                return refusal;
            }
            let proofs: Result<Vec<&str>, AuthError> = request
                .headers()
                .get_all("dpop")
                .iter()
                .map(|v| v.to_str().map_err(|_| AuthError::DpopProof))
                .collect();
            match proofs {
                Ok(proofs) => {
                    let target = benteng_auth::fapi::ProofTarget {
                        method: request.method().as_str(),
                        path: request.uri().path(),
                    };
                    state
                        .auth
                        .authenticate_dpop(value, &proofs, target, &facts)
                        .await
                }
                Err(error) => Err(error),
            }
        }
        (Ok(value), _) => match state.auth.authenticate_cached(value, &facts).await {
            Some(outcome) => outcome,
            None => {
                if let Some(guard) = &guard
                    && let Some(refusal) = guard.refuse_if_blocked(&state).await
                {
                    return refusal;
                }
                state.auth.authenticate(value, &facts).await
            }
        },
    };
    match outcome {
        Ok(principal) => {
            request.extensions_mut().insert(principal);
            next.run(request).await
        }
        Err(error) => {
            let mut response = ApiError::from(error).into_response();
            if dpop_scheme {
                dpop_challenge(&mut response, error);
            }
            if response.status() == StatusCode::UNAUTHORIZED
                && let Some(guard) = &guard
            {
                match guard.count(&state).await {
                    Ok(Some(verdict)) => verdict.apply_headers(response.headers_mut()),
                    Ok(None) => {}
                    Err(refusal) => return refusal,
                }
            }
            metrics::counter!("auth_failures_total", "reason" => reason_label(error)).increment(1);
            tracing::warn!(target: "security", reason = reason_label(error), "authentication refused");
            let (parts, _) = request.into_parts();
            let event = benteng_core::audit::AuditEvent::new(
                &audit_context(&parts),
                "auth.failed",
                benteng_core::audit::Retention::Access,
                (
                    "credential",
                    if dpop_scheme { "fapi_token" } else { "api_key" }.to_owned(),
                ),
            )
            .change(
                "reason",
                serde_json::Value::Null,
                reason_label(error).into(),
            );
            if let Err(store_error) = state.store.audit(&event).await {
                tracing::error!(error = %store_error, "could not record a refused authentication");
            }
            // The same refusal, once, to the detection engine: the credential presented (only
            // hashed there, to count distinct ones) and the connection's address.
            let credential = parts
                .headers
                .get(header::AUTHORIZATION)
                .map(HeaderValue::as_bytes)
                .or_else(|| session_cookie(&parts.headers).map(str::as_bytes));
            let security_event = crate::incidents::SecurityEvent {
                scheme: if session.is_some() {
                    "session"
                } else if dpop_scheme {
                    "fapi"
                } else {
                    "api_key"
                },
                reason: reason_label(error),
                client_ip: client_ip(&parts.extensions),
                credential,
            };
            state
                .incidents
                .observe(&state, &security_event, &audit_context(&parts))
                .await;
            response
        }
    }
}

/// Authentication for SNAP routes, in the same place as every other scheme: the raw body is
/// buffered once (within the body limit) because the signature covers it, handed with the raw
/// method, path, query and headers to `Authenticator`, and put back for the handler unchanged.
/// Refusals are SNAP answers with the route's service code.
pub async fn authenticate_snap(
    State(state): State<AppState>,
    request: Request,
    next: Next,
) -> Response {
    let service = crate::snap_format::service_for_path(request.uri().path())
        .unwrap_or(benteng_snap::ServiceCode::TRANSFER_INTERBANK);
    let (mut parts, body) = request.into_parts();
    let bytes = match axum::body::to_bytes(body, state.limits.body_limit_bytes).await {
        Ok(bytes) => bytes,
        Err(_) => {
            let too_large = benteng_snap::SnapError {
                http_status: 413,
                case: 0,
                message: "Payload Too Large".into(),
                detail: "body over the limit",
            };
            return crate::snap_format::error_response(&too_large, service);
        }
    };
    let client_cert = parts
        .extensions
        .get::<PeerInfo>()
        .and_then(PeerInfo::client_cert)
        .map(|cert| cert.sha256_fingerprint.clone());
    let outcome = {
        let snap_request = benteng_auth::SnapRequest {
            method: parts.method.as_str(),
            path: parts.uri.path(),
            query: parts.uri.query(),
            body: &bytes,
        };
        let headers = &parts.headers;
        state
            .auth
            .authenticate_snap(
                &snap_request,
                |name: &str| headers.get(name).map(HeaderValue::as_bytes),
                client_cert.as_deref(),
            )
            .await
    };
    match outcome {
        Ok(principal) => {
            parts.extensions.insert(principal);
            next.run(Request::from_parts(parts, axum::body::Body::from(bytes)))
                .await
        }
        Err(error) => {
            if error.http_status == 401 {
                crate::snap_format::audit_refusal(&state, &audit_context(&parts), &error).await;
            }
            crate::snap_format::error_response(&error, service)
        }
    }
}

/// The session cookie. `__Host-` makes browsers accept it only when set `Secure`, without a
/// `Domain` and with `Path=/`, so no sibling host or path can plant or read it.
pub const SESSION_COOKIE: &str = "__Host-benteng_session";
/// The header carrying a session's CSRF token on every state-changing request.
pub static X_CSRF_TOKEN: HeaderName = HeaderName::from_static("x-csrf-token");

/// The session token of the request's cookie, if any (the first of that name).
pub fn session_cookie(headers: &HeaderMap) -> Option<&str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(name, _)| *name == SESSION_COOKIE)
        .map(|(_, value)| value)
}

/// A state-changing request authenticated by a session cookie must carry that session's CSRF
/// token (`X-CSRF-Token`): the audit event of the refusal when it does not.
fn csrf_refusal(state: &AppState, request: &Request, token: &str) -> Option<AuditEvent> {
    if request.method() == Method::GET
        || request.method() == Method::HEAD
        || csrf_ok(state, request.headers(), token)
    {
        return None;
    }
    let context = AuditContext {
        request_id: request.extensions().get::<RequestId>().map(|r| r.0.clone()),
        ip: client_ip(request.extensions()).map(|ip| ip.to_string()),
        actor: "session".to_owned(),
        ..AuditContext::default()
    };
    Some(AuditEvent::new(
        &context,
        "session.csrf_refused",
        benteng_core::audit::Retention::Security,
        ("route", request.uri().path().chars().take(200).collect()),
    ))
}

/// Whether the request carries the CSRF token of the session `token` (`X-CSRF-Token`).
fn csrf_ok(state: &AppState, headers: &HeaderMap, token: &str) -> bool {
    let presented = headers
        .get(&X_CSRF_TOKEN)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    state
        .auth
        .people()
        .is_some_and(|people| people.csrf_matches(token, presented))
}

/// The largest console form read for its CSRF field.
const MAX_FORM_BYTES: usize = 64 * 1024;

/// The form field the console's forms carry the CSRF token in.
pub const CSRF_FIELD: &str = "csrf_token";

fn is_form(headers: &HeaderMap) -> bool {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| {
            v.split(';').next().is_some_and(|t| {
                t.trim()
                    .eq_ignore_ascii_case("application/x-www-form-urlencoded")
            })
        })
}

/// Whether a form body carries exactly one `csrf_token` field, and it is the session's.
fn form_csrf_ok(state: &AppState, body: &[u8], token: &str) -> bool {
    let mut presented = form_urlencoded::parse(body).filter(|(name, _)| name == CSRF_FIELD);
    match (presented.next(), presented.next()) {
        (Some((_, value)), None) => state
            .auth
            .people()
            .is_some_and(|people| people.csrf_matches(token, &value)),
        _ => false,
    }
}

/// The boundary of a `multipart/form-data` body (the console's upload form), if it is one.
fn multipart_boundary(headers: &HeaderMap) -> Option<String> {
    let value = headers.get(header::CONTENT_TYPE)?.to_str().ok()?;
    let media = value.split(';').next()?.trim();
    if !media.eq_ignore_ascii_case("multipart/form-data") {
        return None;
    }
    multer::parse_boundary(value).ok()
}

/// The largest CSRF field read from a multipart form.
const MAX_CSRF_FIELD_BYTES: u64 = 1024;

/// Whether a multipart form carries exactly one `csrf_token` field, and it is the session's.
/// A body that does not parse as multipart carries none.
async fn multipart_csrf_ok(
    state: &AppState,
    body: axum::body::Bytes,
    boundary: String,
    token: &str,
) -> bool {
    let constraints = multer::Constraints::new()
        .size_limit(multer::SizeLimit::new().for_field(CSRF_FIELD, MAX_CSRF_FIELD_BYTES));
    let stream = axum::body::Body::from(body).into_data_stream();
    let mut form = multer::Multipart::with_constraints(stream, boundary, constraints);
    let mut presented = None;
    loop {
        match form.next_field().await {
            Ok(Some(field)) if field.name() == Some(CSRF_FIELD) => {
                let Ok(value) = field.text().await else {
                    return false;
                };
                if presented.replace(value).is_some() {
                    return false;
                }
            }
            Ok(Some(_)) => {}
            Ok(None) => break,
            Err(_) => return false,
        }
    }
    presented.is_some_and(|value| {
        state
            .auth
            .people()
            .is_some_and(|people| people.csrf_matches(token, &value))
    })
}

fn csrf_refused() -> Response {
    ApiError::Refused {
        status: StatusCode::FORBIDDEN,
        slug: "csrf-token-invalid",
        title: "CSRF token missing or invalid",
        detail: "state-changing requests carry the session's X-CSRF-Token".to_owned(),
    }
    .into_response()
}

/// Authentication for operator routes: the session cookie or a staff token (`Authorization:
/// Bearer bt_staff_…`; both at once is malformed) names a person; a session's state-changing
/// request must carry its CSRF token; the person's current roles, and a token's permissions,
/// must grant what the route's method needs. Refusals are audited (`auth.failed` naming the
/// credential kind, `staff.csrf_refused`, `staff.permission_denied`) and name nothing but the
/// missing permission.
pub async fn authenticate_staff(
    State((state, needs)): State<(AppState, crate::routes::Needs<crate::routes::StaffNeed>)>,
    request: Request,
    next: Next,
) -> Response {
    use crate::routes::StaffNeed;
    let Some(need) = needs.scope_for(request.method()) else {
        tracing::error!(method = %request.method(), "operator route without a need for this method; refused");
        return ApiError::Forbidden("this method of the route declares no permission")
            .into_response();
    };
    let token = session_cookie(request.headers()).map(str::to_owned);
    let authorization = request.headers().get(header::AUTHORIZATION);
    // A header that is not text is a malformed credential, not a missing one.
    let bearer = match authorization.map(HeaderValue::to_str) {
        None => Ok(None),
        Some(Ok(value)) => Ok(Some(value)),
        Some(Err(_)) => Err(AuthError::Malformed),
    };
    let credential = if authorization.is_some() {
        "staff_token"
    } else {
        "session"
    };
    let outcome = match bearer {
        Ok(bearer) => {
            state
                .auth
                .authenticate_staff(token.as_deref(), bearer)
                .await
        }
        Err(error) => Err(error),
    };
    let (parts, body) = request.into_parts();
    let context = audit_context(&parts);
    let refuse = |event: &'static str, reason: &'static str| {
        AuditEvent::new(
            &context,
            event,
            benteng_core::audit::Retention::Access,
            ("route", parts.uri.path().chars().take(200).collect()),
        )
        .change("reason", serde_json::Value::Null, reason.into())
    };
    let principal = match outcome {
        Ok(principal) if principal.tenant.is_none() => principal,
        Ok(_) => {
            return ApiError::Forbidden("the operator API is for platform staff").into_response();
        }
        Err(error) => {
            let event = refuse("auth.failed", reason_label(error)).change(
                "credential",
                serde_json::Value::Null,
                credential.into(),
            );
            record(&state, &event).await;
            return ApiError::from(error).into_response();
        }
    };
    let context = principal.audit_context(&context);
    // A token is sent deliberately by its holder, never attached by a browser on its own, so
    // only a session's requests need the CSRF check.
    let changes_state = !(parts.method == Method::GET || parts.method == Method::HEAD);
    let mut body = body;
    let mut csrf_passed = token
        .as_deref()
        .is_some_and(|token| csrf_ok(&state, &parts.headers, token));
    // The console's forms carry the token as a hidden field (`csrf_token`) instead.
    if changes_state && principal.session().is_some() && !csrf_passed && is_form(&parts.headers) {
        let Ok(bytes) = axum::body::to_bytes(body, MAX_FORM_BYTES).await else {
            return ApiError::PayloadTooLarge.into_response();
        };
        csrf_passed = token
            .as_deref()
            .is_some_and(|token| form_csrf_ok(&state, &bytes, token));
        body = axum::body::Body::from(bytes);
    } else if changes_state
        && principal.session().is_some()
        && !csrf_passed
        && let Some(boundary) = multipart_boundary(&parts.headers)
    {
        // The upload form: read whole (no more than the route's body limit, which only the
        // upload routes raise) to find its one CSRF field, then handed on unchanged.
        let limit = state.limits.limit_for(parts.uri.path());
        let Ok(bytes) = axum::body::to_bytes(body, limit).await else {
            return ApiError::PayloadTooLarge.into_response();
        };
        if let Some(token) = token.as_deref() {
            csrf_passed = multipart_csrf_ok(&state, bytes.clone(), boundary, token).await;
        }
        body = axum::body::Body::from(bytes);
    }
    if changes_state && principal.session().is_some() && !csrf_passed {
        let event = AuditEvent::new(
            &context,
            "staff.csrf_refused",
            benteng_core::audit::Retention::Security,
            ("route", parts.uri.path().chars().take(200).collect()),
        );
        record(&state, &event).await;
        return csrf_refused();
    }
    if need == StaffNeed::Session && principal.session().is_none() {
        let event = AuditEvent::new(
            &context,
            "staff.permission_denied",
            benteng_core::audit::Retention::Security,
            ("route", parts.uri.path().chars().take(200).collect()),
        )
        .change("needs", serde_json::Value::Null, "session".into());
        record(&state, &event).await;
        return ApiError::Refused {
            status: StatusCode::FORBIDDEN,
            slug: "session-required",
            title: "A browser session is required",
            detail: "this route manages the person's own credentials; a staff token cannot use it"
                .to_owned(),
        }
        .into_response();
    }
    if let StaffNeed::Permission(permission) = need
        && !principal.permits(permission)
    {
        let event = AuditEvent::new(
            &context,
            "staff.permission_denied",
            benteng_core::audit::Retention::Security,
            ("route", parts.uri.path().chars().take(200).collect()),
        )
        .change("needs", serde_json::Value::Null, permission.as_str().into());
        record(&state, &event).await;
        return ApiError::InsufficientPermission(permission).into_response();
    }
    let mut request = Request::from_parts(parts, body);
    request.extensions_mut().insert(principal);
    next.run(request).await
}

async fn record(state: &AppState, event: &AuditEvent) {
    if let Err(error) = state.store.audit(event).await {
        tracing::error!(error = %error, "could not record a refused operator request");
    }
}

/// The ISO 20022 counterparty a request's verified TLS client certificate belongs to (set by
/// [`authenticate_counterparty`]).
#[derive(Debug, Clone)]
pub struct Counterparty(pub String);

/// Authentication for counterparty routes (ISO 20022 status reports over mTLS): the request's
/// verified TLS client certificate must be one a counterparty registered
/// (`iso20022.counterparties[].client_certificate_file`, matched by SHA-256). No certificate:
/// 401; another certificate: 403. Either refusal is recorded as the security event
/// `iso20022.status_report_refused`, naming the certificate's SHA-256 (or `none`), when
/// `[iso20022]` is configured.
pub async fn authenticate_counterparty(
    State(state): State<AppState>,
    mut request: Request,
    next: Next,
) -> Response {
    let fingerprint = request
        .extensions()
        .get::<PeerInfo>()
        .and_then(PeerInfo::client_cert)
        .map(|c| c.sha256_fingerprint.clone());
    let name = match (&state.iso20022, &fingerprint) {
        (Some(iso), Some(fingerprint)) => iso
            .counterparty_of_client_certificate(fingerprint)
            .map(str::to_owned),
        _ => None,
    };
    if let Some(name) = name {
        request.extensions_mut().insert(Counterparty(name));
        return next.run(request).await;
    }
    let (parts, _) = request.into_parts();
    let context = audit_context(&parts);
    let (reason, error) = match &fingerprint {
        None => (
            "no TLS client certificate",
            ApiError::Unauthenticated(AuthError::Missing),
        ),
        Some(_) => (
            "the TLS client certificate is not registered for a counterparty",
            ApiError::ClientCertificate(
                "the TLS client certificate is not registered for a counterparty",
            ),
        ),
    };
    let subject = format!(
        "client-certificate:{}",
        fingerprint.as_deref().unwrap_or("none")
    );
    // Without `[iso20022]` no counterparty exists and the route is closed to everyone.
    if let Some(iso) = &state.iso20022 {
        iso.record_refusal(subject, &context, reason.to_owned())
            .await;
    }
    error.into_response()
}

/// The signed-in staff member, for operator handlers (401 when absent), and the audit context
/// of their actions: who, through which session, with which roles, from where.
pub struct Staff(pub benteng_auth::StaffPrincipal, pub AuditContext);

impl<S: Send + Sync> FromRequestParts<S> for Staff {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        let principal = parts
            .extensions
            .get::<benteng_auth::StaffPrincipal>()
            .cloned()
            .ok_or(ApiError::Unauthenticated(AuthError::Missing))?;
        let context = principal.audit_context(&audit_context(parts));
        Ok(Staff(principal, context))
    }
}

/// RFC 9449 §7.1 / RFC 6750 §3: the DPoP scheme's challenge replaces the Bearer one on a
/// refused DPoP request.
fn dpop_challenge(response: &mut Response, error: AuthError) {
    let code = match error {
        AuthError::DpopProof => Some("invalid_dpop_proof"),
        AuthError::MissingScope(_) => Some("insufficient_scope"),
        AuthError::Missing => None,
        AuthError::Unavailable => Some("temporarily_unavailable"),
        _ => Some("invalid_token"),
    };
    let challenge = match code {
        Some(code) => format!(r#"DPoP algs="PS256 ES256 EdDSA", error="{code}""#),
        None => r#"DPoP algs="PS256 ES256 EdDSA""#.to_owned(),
    };
    if let Ok(value) = HeaderValue::from_str(&challenge) {
        response
            .headers_mut()
            .insert(header::WWW_AUTHENTICATE, value);
    }
}

fn reason_label(error: AuthError) -> &'static str {
    match error {
        AuthError::Missing => "missing",
        AuthError::Malformed => "malformed",
        AuthError::Unknown => "unknown",
        AuthError::Expired => "expired",
        AuthError::Revoked => "revoked",
        AuthError::TenantSuspended => "tenant_suspended",
        AuthError::Unavailable => "unavailable",
        AuthError::ClientCertificateRequired => "client_certificate_required",
        AuthError::ClientCertificateForeign => "client_certificate_foreign",
        AuthError::MissingScope(_) => "missing_scope",
        AuthError::NetworkNotAllowed => "network_not_allowed",
        AuthError::DpopProof => "dpop_proof",
    }
}

/// The authenticated caller, for handlers. Extraction fails with 401 when no principal is
/// present, so a handler that asks for a `Caller` can never run unauthenticated, whatever the
/// route table says.
pub struct Caller(pub Principal);

impl<S: Send + Sync> FromRequestParts<S> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        parts
            .extensions
            .get::<Principal>()
            .cloned()
            .map(Caller)
            .ok_or(ApiError::Unauthenticated(AuthError::Missing))
    }
}

/// Whose books an authenticated caller works in: its tenant's, in its key's environment.
pub fn scope_of(principal: &Principal) -> benteng_payments::Scope<'_> {
    benteng_payments::Scope {
        tenant: &principal.tenant,
        environment: principal.environment(),
    }
}

/// Who is acting, for the audit trail: request id, client address, tenant.
pub struct Audit(pub benteng_core::audit::AuditContext);

impl<S: Send + Sync> FromRequestParts<S> for Audit {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        Ok(Audit(audit_context(parts)))
    }
}

pub fn audit_context(parts: &Parts) -> benteng_core::audit::AuditContext {
    let principal = parts.extensions.get::<Principal>();
    // A tenant user's browser session names the person and the session; keys and SNAP
    // partners act as `api`.
    let (actor, session) = match principal.map(|p| &p.credential) {
        Some(benteng_auth::Credential::Session { person, session }) => {
            (format!("user:{person}"), Some(session.to_string()))
        }
        // A FAPI client acting on a tenant user's consent: the client, and its token.
        Some(benteng_auth::Credential::Fapi {
            client_id, token, ..
        }) => (format!("fapi:{client_id}"), Some(format!("token:{token}"))),
        _ => ("api".to_owned(), None),
    };
    benteng_core::audit::AuditContext {
        request_id: parts.extensions.get::<RequestId>().map(|r| r.0.clone()),
        trace_id: None,
        tenant_id: principal.map(|p| p.tenant.id),
        ip: client_ip(&parts.extensions).map(|ip| ip.to_string()),
        actor,
        session,
        ..Default::default()
    }
}

/// Headers that carry a credential or decide how a request is authenticated or replayed. Sent
/// twice, a proxy and benteng could each read a different one; such a request is refused with
/// 400 before anything reads them (on SNAP paths in SNAP's format, by `problem_fallback`).
const SINGLE_VALUED: &[&str] = &[
    "authorization",
    "x-csrf-token",
    "x-idempotency-key",
    "x-timestamp",
    "x-signature",
    "x-partner-id",
    "x-external-id",
    "channel-id",
];

pub async fn refuse_repeated_credentials(request: Request, next: Next) -> Response {
    let repeated = SINGLE_VALUED
        .iter()
        .find(|name| request.headers().get_all(**name).iter().nth(1).is_some());
    match repeated {
        Some(_) => {
            ApiError::BadRequest("a credential header is sent more than once").into_response()
        }
        None => next.run(request).await,
    }
}

/// Refuses a body whose declared length is over the limit with 413 without passing it on. Over
/// HTTP/1.1 the refused body is first read and dropped (up to a bound in size and time), as
/// servers' "lingering close" does: answering and closing while the client is still uploading
/// makes its kernel see a reset, and many clients then report the reset, not the 413. Bodies
/// without a declared length are cut at the limit further down (`RequestBodyLimitLayer`).
pub async fn refuse_oversized(
    State(state): State<AppState>,
    request: Request,
    next: Next,
) -> Response {
    let declared = request
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    let limit = u64::try_from(state.limits.limit_for(request.uri().path())).unwrap_or(u64::MAX);
    let Some(declared) = declared.filter(|length| *length > limit) else {
        return next.run(request).await;
    };
    // A client that sent `Expect: 100-continue` waits for this answer before uploading.
    let waits = expects_continue(request.headers());
    let too_large = if crate::state::Upload::of(request.uri().path()).is_some() {
        ApiError::Refused {
            status: StatusCode::PAYLOAD_TOO_LARGE,
            slug: "document-too-large",
            title: "Document too large",
            detail: format!("the document is larger than {limit} bytes"),
        }
    } else {
        ApiError::PayloadTooLarge
    };
    let mut response = too_large.into_response();
    if request.version() <= axum::http::Version::HTTP_11 && !waits {
        response
            .headers_mut()
            .insert(header::CONNECTION, HeaderValue::from_static("close"));
        if declared <= LINGER_BYTES as u64 {
            let _ = tokio::time::timeout(LINGER_TIME, drain(request.into_body())).await;
        }
    }
    response
}

/// HTTP/2: a request body that nothing below read is read to its end (within `LINGER_BYTES`
/// and `LINGER_TIME`) before the answer leaves. Why: h2 resets a stream whose body
/// is dropped unread, and that reset can go out in place of the response still queued on the
/// stream, so a client posting to a mistyped path saw "stream closed" (curl's error 92), not
/// the 404. Read to its end, the stream closes the ordinary way. A client waiting for
/// `100-continue` has sent no body and is not waited for.
pub async fn finish_unread_bodies(request: Request, next: Next) -> Response {
    if request.version() != axum::http::Version::HTTP_2 || expects_continue(request.headers()) {
        return next.run(request).await;
    }
    let (parts, body) = request.into_parts();
    let unread = UnreadBody::new(body);
    let response = next
        .run(Request::from_parts(
            parts,
            axum::body::Body::new(unread.clone()),
        ))
        .await;
    if let Some(rest) = unread.take() {
        let rest = http_body_util::Limited::new(rest, LINGER_BYTES);
        let _ = tokio::time::timeout(LINGER_TIME, drain(rest)).await;
    }
    response
}

/// How much of a refused body is read and dropped before the answer, and for how long at most
/// (HTTP/1.1's lingering close in `refuse_oversized`, HTTP/2's `finish_unread_bodies`).
const LINGER_BYTES: usize = 64 * 1024 * 1024;
const LINGER_TIME: std::time::Duration = std::time::Duration::from_secs(5);

fn expects_continue(headers: &HeaderMap) -> bool {
    headers
        .get(header::EXPECT)
        .is_some_and(|v| v.as_bytes().eq_ignore_ascii_case(b"100-continue"))
}

/// A request body handed down the stack while this layer keeps a claim on what is left of it:
/// read to its end (or failed) it is gone; dropped unread it stays for `take`.
#[derive(Clone)]
struct UnreadBody(std::sync::Arc<std::sync::Mutex<Option<axum::body::Body>>>);

impl UnreadBody {
    fn new(body: axum::body::Body) -> Self {
        Self(std::sync::Arc::new(std::sync::Mutex::new(Some(body))))
    }

    fn take(&self) -> Option<axum::body::Body> {
        self.0.lock().ok().and_then(|mut slot| slot.take())
    }
}

impl http_body::Body for UnreadBody {
    type Data = axum::body::Bytes;
    type Error = axum::Error;

    fn poll_frame(
        self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<Result<http_body::Frame<Self::Data>, Self::Error>>> {
        use std::task::Poll;
        let Ok(mut slot) = self.0.lock() else {
            return Poll::Ready(Some(Err(axum::Error::new("request body unavailable"))));
        };
        let Some(body) = slot.as_mut() else {
            return Poll::Ready(None);
        };
        let polled = std::pin::Pin::new(body).poll_frame(cx);
        if matches!(polled, Poll::Ready(None | Some(Err(_)))) {
            *slot = None;
        }
        polled
    }

    fn is_end_stream(&self) -> bool {
        self.0.lock().map_or(true, |slot| {
            slot.as_ref().is_none_or(|body| body.is_end_stream())
        })
    }

    fn size_hint(&self) -> http_body::SizeHint {
        self.0
            .lock()
            .ok()
            .and_then(|slot| slot.as_ref().map(|body| body.size_hint()))
            .unwrap_or_else(|| http_body::SizeHint::with_exact(0))
    }
}

/// Cuts every request body at its route's limit (`HttpLimits::limit_for`): a body without a
/// declared length that runs over fails when read, and the reader answers 413.
pub async fn limit_body(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let limit = state.limits.limit_for(request.uri().path());
    let request =
        request.map(|body| axum::body::Body::new(http_body_util::Limited::new(body, limit)));
    next.run(request).await
}

/// Reads a body to its end, keeping nothing.
async fn drain<B: http_body::Body + Unpin>(mut body: B) {
    use http_body_util::BodyExt;
    while let Some(Ok(_)) = body.frame().await {}
}
