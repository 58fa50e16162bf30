//! The FAPI 2.0 authorization server's HTTP face: discovery (OpenID and RFC 8414), the JWKS,
//! PAR, the authorization endpoint with the tenant user's sign-in and consent page, and the
//! token endpoint. Handlers only translate: `benteng_auth::fapi::FapiServer` decides.
//!
//! - Errors are RFC 6749 JSON (`error`, `error_description`), never problem+json, with
//!   `Cache-Control: no-store`.
//! - Form bodies: `application/x-www-form-urlencoded` only; a repeated parameter is refused.
//! - The consent page is server-rendered HTML with every value escaped, no script, no CORS;
//!   its form carries a token only this server can make for that request (no cookie is
//!   involved, so there is no session to ride on).

use std::collections::BTreeMap;
use std::fmt::Write as _;

use axum::Json;
use axum::body::Bytes;
use axum::extract::{RawQuery, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use benteng_auth::FapiServer;
use benteng_auth::fapi::{
    AUTHORIZE_PATH, ConsentError, Decision, JWKS_PATH, OAuthError, PAR_PATH, REVOKE_PATH,
    TOKEN_PATH,
};
use benteng_core::audit::{AuditContext, AuditEvent, Retention};
use benteng_crypto::jose::CompactJws;
use benteng_crypto::{ExposeSecret, SecretString};
use serde_json::{Value, json};

use super::Routes;
use super::console::esc;
use crate::incidents::SecurityEvent;
use crate::middleware::{Audit, OwnFormat};
use crate::state::AppState;

pub(crate) const OPENID_CONFIGURATION: &str = "/.well-known/openid-configuration";
pub(crate) const AS_METADATA: &str = "/.well-known/oauth-authorization-server";

pub(super) fn routes(routes: Routes) -> Routes {
    routes
        .public(OPENID_CONFIGURATION, get(metadata))
        .public(AS_METADATA, get(metadata_rfc8414))
        .public(JWKS_PATH, get(jwks))
        .public(PAR_PATH, post(par))
        .public(AUTHORIZE_PATH, get(authorize_page).post(authorize_decide))
        .public(TOKEN_PATH, post(token))
        .public(REVOKE_PATH, post(revoke))
}

fn no_store(mut response: Response) -> Response {
    response.extensions_mut().insert(OwnFormat);
    let headers = response.headers_mut();
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    headers.insert(header::PRAGMA, HeaderValue::from_static("no-cache"));
    response
}

/// A refusal at `endpoint`, counted by its error code. A refused client authentication is a
/// refused credential like any other: audited `auth.failed` and fed to the incident
/// detections, counted by the client it claimed to be.
async fn refused(
    state: &AppState,
    context: &AuditContext,
    endpoint: &'static str,
    body: &[u8],
    error: &OAuthError,
) -> Response {
    metrics::counter!("fapi_refusals_total", "endpoint" => endpoint, "error" => error.code)
        .increment(1);
    if error.code == "invalid_client" {
        let claimed = claimed_client(body);
        let event = AuditEvent::new(
            context,
            "auth.failed",
            Retention::Access,
            ("credential", "fapi_client".to_owned()),
        )
        .change("reason", Value::Null, "invalid_client".into())
        .change("endpoint", Value::Null, endpoint.into());
        if let Err(store_error) = state.store.audit(&event).await {
            tracing::error!(error = %store_error, "could not record a refused client authentication");
        }
        let security_event = SecurityEvent {
            scheme: "fapi_client",
            reason: "invalid_client",
            client_ip: context.ip.as_deref().and_then(|ip| ip.parse().ok()),
            credential: claimed.as_deref().map(str::as_bytes),
        };
        state
            .incidents
            .observe(state, &security_event, context)
            .await;
    }
    oauth_error(error)
}

/// The client a refused request claimed to be: its `client_id`, or its assertion's `iss`
/// (unverified: only to count distinct claimed clients).
fn claimed_client(body: &[u8]) -> Option<String> {
    let mut assertion = None;
    for (name, value) in form_urlencoded::parse(body) {
        match name.as_ref() {
            "client_id" => return Some(value.into_owned()),
            "client_assertion" => assertion = Some(value.into_owned()),
            _ => {}
        }
    }
    let jws = CompactJws::parse(&assertion?).ok()?;
    jws.claim_str("iss").map(str::to_owned)
}

fn oauth_error(error: &OAuthError) -> Response {
    let status = StatusCode::from_u16(error.status()).unwrap_or(StatusCode::BAD_REQUEST);
    let mut response = (
        status,
        Json(json!({"error": error.code, "error_description": error.description})),
    )
        .into_response();
    if status == StatusCode::UNAUTHORIZED {
        response.headers_mut().insert(
            header::WWW_AUTHENTICATE,
            HeaderValue::from_static(r#"Bearer realm="benteng", error="invalid_client""#),
        );
    }
    if error.code == "invalid_dpop_proof" {
        response.headers_mut().insert(
            header::WWW_AUTHENTICATE,
            HeaderValue::from_static(
                r#"DPoP algs="PS256 ES256 EdDSA", error="invalid_dpop_proof""#,
            ),
        );
    }
    no_store(response)
}

fn fapi(state: &AppState) -> Result<&FapiServer, OAuthError> {
    state
        .auth
        .fapi()
        .map(|f| f.as_ref())
        .ok_or_else(|| OAuthError {
            code: "temporarily_unavailable",
            description: "the authorization server is not configured".into(),
        })
}

/// Form parameters, each at most once.
fn params(body: &[u8]) -> Result<BTreeMap<String, String>, OAuthError> {
    let mut out = BTreeMap::new();
    for (name, value) in form_urlencoded::parse(body) {
        if out.insert(name.into_owned(), value.into_owned()).is_some() {
            return Err(OAuthError::invalid_request("a parameter is repeated"));
        }
    }
    Ok(out)
}

fn form_body(headers: &HeaderMap, body: &[u8]) -> Result<BTreeMap<String, String>, OAuthError> {
    let form = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .is_some_and(|v| {
            v.trim()
                .eq_ignore_ascii_case("application/x-www-form-urlencoded")
        });
    if !form {
        return Err(OAuthError::invalid_request(
            "the body must be application/x-www-form-urlencoded",
        ));
    }
    params(body)
}

fn dpop_headers(headers: &HeaderMap) -> Result<Vec<&str>, OAuthError> {
    headers
        .get_all("dpop")
        .iter()
        .map(|v| {
            v.to_str().map_err(|_| OAuthError {
                code: "invalid_dpop_proof",
                description: "the DPoP header is not text".into(),
            })
        })
        .collect()
}

/// The authorization server's metadata (RFC 8414; also OpenID discovery).
#[utoipa::path(get, path = "/.well-known/openid-configuration", tag = "fapi",
    responses((status = 200, body = Object)))]
pub async fn metadata(State(state): State<AppState>) -> Response {
    match fapi(&state).and_then(FapiServer::metadata) {
        Ok(document) => Json(document).into_response(),
        Err(error) => oauth_error(&error),
    }
}

/// The same metadata at RFC 8414's well-known path.
#[utoipa::path(get, path = "/.well-known/oauth-authorization-server", tag = "fapi",
    responses((status = 200, body = Object)))]
pub async fn metadata_rfc8414(state: State<AppState>) -> Response {
    metadata(state).await
}

/// The keys JARM responses are signed with.
#[utoipa::path(get, path = "/oauth2/jwks", tag = "fapi", responses((status = 200, body = Object)))]
pub async fn jwks(State(state): State<AppState>) -> Response {
    let server = match fapi(&state) {
        Ok(server) => server,
        Err(error) => return oauth_error(&error),
    };
    match server.jwks().await {
        Ok(keys) => Json(keys).into_response(),
        Err(error) => oauth_error(&error),
    }
}

/// Pushed authorization request (RFC 9126) with a signed request object.
#[utoipa::path(post, path = "/oauth2/par", tag = "fapi",
    responses((status = 201, body = Object), (status = 400, body = Object),
        (status = 401, body = Object)))]
pub async fn par(
    State(state): State<AppState>,
    Audit(context): Audit,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let outcome = async {
        let server = fapi(&state)?;
        let params = form_body(&headers, &body)?;
        let proofs = dpop_headers(&headers)?;
        server.push(&params, &proofs, &context).await
    }
    .await;
    match outcome {
        Ok(pushed) => no_store(
            (
                StatusCode::CREATED,
                Json(json!({"request_uri": pushed.request_uri, "expires_in": pushed.expires_in})),
            )
                .into_response(),
        ),
        Err(error) => refused(&state, &context, "par", &body, &error).await,
    }
}

/// The token endpoint: an authorization code, PKCE, `private_key_jwt` and a DPoP proof.
#[utoipa::path(post, path = "/oauth2/token", tag = "fapi",
    responses((status = 200, body = Object), (status = 400, body = Object),
        (status = 401, body = Object)))]
pub async fn token(
    State(state): State<AppState>,
    Audit(context): Audit,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let outcome = async {
        let server = fapi(&state)?;
        let params = form_body(&headers, &body)?;
        let proofs = dpop_headers(&headers)?;
        server.token(&params, &proofs, &context).await
    }
    .await;
    match outcome {
        Ok(issued) => {
            metrics::counter!("fapi_tokens_issued_total").increment(1);
            no_store(
                Json(json!({
                    "access_token": issued.access_token.expose_secret(),
                    "token_type": "DPoP",
                    "expires_in": issued.expires_in,
                    "scope": issued.scope,
                }))
                .into_response(),
            )
        }
        Err(error) => refused(&state, &context, "token", &body, &error).await,
    }
}

/// Token revocation (RFC 7009): 200 whether or not the token was live.
#[utoipa::path(post, path = "/oauth2/revoke", tag = "fapi",
    responses((status = 200), (status = 400, body = Object), (status = 401, body = Object)))]
pub async fn revoke(
    State(state): State<AppState>,
    Audit(context): Audit,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let outcome = async {
        let server = fapi(&state)?;
        let params = form_body(&headers, &body)?;
        server.revoke(&params, &context).await
    }
    .await;
    match outcome {
        Ok(()) => no_store(StatusCode::OK.into_response()),
        Err(error) => refused(&state, &context, "revoke", &body, &error).await,
    }
}

// ----- the consent page -----

/// The consent page's own policy, stricter than every response's `default-src 'self'`.
pub(crate) const CONSENT_PAGE_CSP: &str =
    "default-src 'none'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

fn html(status: StatusCode, title: &str, body: &str) -> Response {
    let mut page = String::with_capacity(body.len() + 512);
    page.push_str("<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">");
    page.push_str("<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">");
    let _ = write!(
        page,
        "<title>{} · benteng</title></head><body><main>",
        esc(title)
    );
    let _ = write!(page, "<h1>{}</h1>", esc(title));
    page.push_str(body);
    page.push_str("</main></body></html>\n");
    let mut response = (
        status,
        [(header::CONTENT_TYPE, "text/html; charset=utf-8")],
        page,
    )
        .into_response();
    response.extensions_mut().insert(OwnFormat);
    let headers = response.headers_mut();
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    // The page may not be framed (clickjacking a consent), loads nothing, posts only here,
    // and its address (which carries the request_uri) is never sent as a referrer.
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(CONSENT_PAGE_CSP),
    );
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    response
}

fn error_page(error: &ConsentError) -> Response {
    let status = match error {
        ConsentError::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
        ConsentError::SignIn => StatusCode::UNAUTHORIZED,
        ConsentError::BadRequest(_) => StatusCode::BAD_REQUEST,
    };
    let body = format!(
        "<p class=\"refused\" role=\"alert\">{}</p>",
        esc(&error.to_string())
    );
    html(status, "Authorization refused", &body)
}

async fn consent_page(
    server: &FapiServer,
    client_id: &str,
    request_uri: &str,
    message: Option<&str>,
    status: StatusCode,
) -> Response {
    let pending = match server.pending(client_id, request_uri).await {
        Ok(pending) => pending,
        Err(error) => return error_page(&error),
    };
    let mut body = String::new();
    if let Some(message) = message {
        let _ = write!(
            body,
            "<p class=\"refused\" role=\"alert\">{}</p>",
            esc(message)
        );
    }
    let _ = write!(
        body,
        "<p><strong>{}</strong> (<code>{}</code>) asks to act for your organisation with:</p><ul>",
        esc(&pending.client_name),
        esc(&pending.client_id)
    );
    for scope in pending.scopes.iter() {
        let _ = write!(body, "<li><code>{}</code></li>", esc(scope.as_str()));
    }
    body.push_str("</ul><p>Sign in to approve or deny.</p>");
    let _ = write!(
        body,
        "<form method=\"post\" action=\"{AUTHORIZE_PATH}\" class=\"consent\">\
         <input type=\"hidden\" name=\"client_id\" value=\"{}\">\
         <input type=\"hidden\" name=\"request_uri\" value=\"{}\">\
         <input type=\"hidden\" name=\"form_token\" value=\"{}\">\
         <label for=\"login\">Login</label>\
         <input id=\"login\" name=\"login\" type=\"text\" autocomplete=\"username\">\
         <label for=\"password\">Password</label>\
         <input id=\"password\" name=\"password\" type=\"password\" autocomplete=\"current-password\">\
         <label for=\"code\">Authenticator code</label>\
         <input id=\"code\" name=\"code\" type=\"text\" inputmode=\"numeric\" autocomplete=\"one-time-code\">\
         <button type=\"submit\" name=\"decision\" value=\"approve\">Approve</button>\
         <button type=\"submit\" name=\"decision\" value=\"deny\">Deny</button></form>",
        esc(&pending.client_id),
        esc(&pending.request_uri),
        esc(pending.form_token.expose_secret()),
    );
    html(status, "Authorize access", &body)
}

/// The authorization endpoint: only `client_id` and `request_uri` (from PAR). Shows the
/// consent page; nothing is used up until the user decides.
#[utoipa::path(get, path = "/oauth2/authorize", tag = "fapi",
    responses((status = 200, content_type = "text/html"), (status = 400, content_type = "text/html")))]
pub async fn authorize_page(State(state): State<AppState>, RawQuery(query): RawQuery) -> Response {
    let server = match fapi(&state) {
        Ok(server) => server,
        Err(_) => return error_page(&ConsentError::Unavailable),
    };
    let query = match params(query.unwrap_or_default().as_bytes()) {
        Ok(query) => query,
        Err(_) => return error_page(&ConsentError::BadRequest("a parameter is repeated")),
    };
    let (Some(client_id), Some(request_uri), 2) = (
        query.get("client_id"),
        query.get("request_uri"),
        query.len(),
    ) else {
        return error_page(&ConsentError::BadRequest(
            "the authorization endpoint takes only client_id and request_uri (use PAR)",
        ));
    };
    consent_page(server, client_id, request_uri, None, StatusCode::OK).await
}

/// The user's decision: approve (with login, password and authenticator code) or deny. Answers
/// 303 to the client's redirect URI with the JARM response.
#[utoipa::path(post, path = "/oauth2/authorize", tag = "fapi",
    responses((status = 303, description = "to the client with a JARM response"),
        (status = 401, content_type = "text/html")))]
pub async fn authorize_decide(
    State(state): State<AppState>,
    Audit(context): Audit,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let server = match fapi(&state) {
        Ok(server) => server,
        Err(_) => return error_page(&ConsentError::Unavailable),
    };
    let Ok(fields) = form_body(&headers, &body) else {
        return error_page(&ConsentError::BadRequest("the form was not understood"));
    };
    const ALLOWED: [&str; 7] = [
        "client_id",
        "request_uri",
        "form_token",
        "login",
        "password",
        "code",
        "decision",
    ];
    if fields.keys().any(|k| !ALLOWED.contains(&k.as_str())) {
        return error_page(&ConsentError::BadRequest("the form has an unknown field"));
    }
    let get = |name: &str| fields.get(name).map(String::as_str).unwrap_or_default();
    let (client_id, request_uri) = (get("client_id"), get("request_uri"));
    let password = SecretString::from(get("password").to_owned());
    let code = SecretString::from(get("code").to_owned());
    let decision = match get("decision") {
        "approve" => Decision::Approve {
            login: get("login"),
            password: &password,
            code: &code,
        },
        "deny" => Decision::Deny,
        _ => return error_page(&ConsentError::BadRequest("approve or deny")),
    };
    match server
        .decide(
            client_id,
            request_uri,
            get("form_token"),
            decision,
            &context,
        )
        .await
    {
        Ok(location) => {
            no_store((StatusCode::SEE_OTHER, [(header::LOCATION, location)]).into_response())
        }
        Err(ConsentError::SignIn) => {
            consent_page(
                server,
                client_id,
                request_uri,
                Some("The login, password or code is not right."),
                StatusCode::UNAUTHORIZED,
            )
            .await
        }
        Err(error) => error_page(&error),
    }
}
