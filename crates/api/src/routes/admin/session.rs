//! Signing in and out, and enrolment (a new person's password and authenticator).

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use benteng_auth::{Audience, Credential, EnrolmentError, SignInError, StaffPrincipal};
use benteng_core::strict_json::Fields;
use benteng_crypto::ExposeSecret;
use serde::Serialize;
use time::OffsetDateTime;

use super::SecretField;
use crate::error::{ApiError, ApiResult};
use crate::json::{Body, RequestBody};
use crate::middleware::{Audit, SESSION_COOKIE, Staff, session_cookie};
use crate::routes::{Needs, Routes, StaffNeed};
use crate::state::AppState;

pub(crate) const SIGN_IN_PATH: &str = "/admin/v1/session";
pub(crate) const ENROLMENT_START_PATH: &str = "/admin/v1/enrolment/start";
pub(crate) const ENROLMENT_FINISH_PATH: &str = "/admin/v1/enrolment/finish";
/// Tenant users sign in and enrol on the tenant API (the API route group), with the same
/// handlers: a person of the other kind is refused on each side.
pub(crate) const TENANT_SIGN_IN_PATH: &str = "/v1/session";
pub(crate) const TENANT_ENROLMENT_START_PATH: &str = "/v1/enrolment/start";
pub(crate) const TENANT_ENROLMENT_FINISH_PATH: &str = "/v1/enrolment/finish";

/// The tenant users' routes, mounted in the API group.
pub(crate) fn tenant_routes(routes: Routes) -> Routes {
    routes
        .public(TENANT_SIGN_IN_PATH, post(sign_in_tenant_user))
        .public(
            TENANT_ENROLMENT_START_PATH,
            post(start_enrolment_tenant_user),
        )
        .public(
            TENANT_ENROLMENT_FINISH_PATH,
            post(finish_enrolment_tenant_user),
        )
        // Every tenant role can read its tenant; signing out needs no more.
        .tenant(
            "/v1/session/sign-out",
            crate::routes::Needs::on_post(benteng_core::scopes::Scope::TenantRead),
            post(sign_out_tenant_user),
        )
}

pub(super) fn routes(routes: Routes) -> Routes {
    routes
        // Signing in is public (it is how a session starts); every call counts against the
        // client address like a failed authentication (a token endpoint).
        .public(SIGN_IN_PATH, post(sign_in))
        .staff(
            "/admin/v1/session/current",
            Needs::on_get(StaffNeed::SignedIn),
            get(current),
        )
        .staff(
            "/admin/v1/session/sign-out",
            Needs::on_post(StaffNeed::Session),
            post(sign_out),
        )
        .staff(
            "/admin/v1/session/sign-out-everywhere",
            Needs::on_post(StaffNeed::Session),
            post(sign_out_everywhere),
        )
        .public(ENROLMENT_START_PATH, post(start_enrolment))
        .public(ENROLMENT_FINISH_PATH, post(finish_enrolment))
}

fn people(state: &AppState) -> ApiResult<&benteng_auth::PeopleAuthenticator> {
    state
        .auth
        .people()
        .map(|people| people.as_ref())
        .ok_or(ApiError::Unavailable {
            retry_after_secs: 1,
        })
}

/// The signed-in person.
#[derive(Serialize, utoipa::ToSchema)]
pub struct SessionView {
    person: String,
    login: String,
    roles: Vec<&'static str>,
    #[serde(with = "time::serde::rfc3339")]
    expires_at: OffsetDateTime,
    /// Send it as `X-CSRF-Token` on every state-changing request of this session.
    #[serde(skip_serializing_if = "Option::is_none")]
    csrf_token: Option<String>,
}

impl SessionView {
    fn of(principal: &StaffPrincipal, csrf_token: Option<String>) -> Self {
        Self {
            person: principal.person.to_string(),
            login: principal.login.to_string(),
            roles: principal.roles.iter().map(|r| r.as_str()).collect(),
            expires_at: principal.expires_at,
            csrf_token,
        }
    }
}

/// The body of a sign-in: what the person knows and a code from what they have.
#[derive(utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"login": "ana@bank.example", "password": "correct horse battery staple", "code": "492039"}))]
pub struct SignInRequest {
    login: SecretField,
    password: SecretField,
    /// A TOTP code from the person's authenticator, or one of their recovery codes.
    code: SecretField,
}

impl RequestBody for SignInRequest {
    const FIELDS: &'static [&'static str] = &["login", "password", "code"];

    fn read(f: &mut Fields<'_>) -> Option<Self> {
        let login = f.required("login");
        let password = f.required("password");
        let code = f.required("code");
        Some(Self {
            login: login?,
            password: password?,
            code: code?,
        })
    }
}

/// Enrolment's first step: the one-time enrolment code and the person's new password.
#[derive(utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"enrolment_code": "kq7w-3mzp-x8rt-v2nc", "password": "correct horse battery staple"}))]
pub struct EnrolmentStartRequest {
    enrolment_code: SecretField,
    /// 12–128 characters, not a common password, not containing the login.
    password: SecretField,
}

impl RequestBody for EnrolmentStartRequest {
    const FIELDS: &'static [&'static str] = &["enrolment_code", "password"];

    fn read(f: &mut Fields<'_>) -> Option<Self> {
        let enrolment_code = f.required("enrolment_code");
        let password = f.required("password");
        Some(Self {
            enrolment_code: enrolment_code?,
            password: password?,
        })
    }
}

/// Enrolment's last step: the enrolment code and a code from the new authenticator.
#[derive(utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"enrolment_code": "kq7w-3mzp-x8rt-v2nc", "code": "492039"}))]
pub struct EnrolmentFinishRequest {
    enrolment_code: SecretField,
    code: SecretField,
}

impl RequestBody for EnrolmentFinishRequest {
    const FIELDS: &'static [&'static str] = &["enrolment_code", "code"];

    fn read(f: &mut Fields<'_>) -> Option<Self> {
        let enrolment_code = f.required("enrolment_code");
        let code = f.required("code");
        Some(Self {
            enrolment_code: enrolment_code?,
            code: code?,
        })
    }
}

/// Signs in with login, password and a TOTP code (or a recovery code). Sets the session
/// cookie; the answer carries the session's CSRF token.
#[utoipa::path(post, path = "/admin/v1/session", tag = "operator",
    request_body(content = SignInRequest),
    responses((status = 201, body = SessionView), (status = 401, body = crate::error::Problem),
        (status = 429, body = crate::error::Problem)))]
pub async fn sign_in(
    State(state): State<AppState>,
    Audit(context): Audit,
    headers: HeaderMap,
    Body(body): Body<SignInRequest>,
) -> ApiResult<Response> {
    sign_in_as(Audience::Staff, &state, &context, &headers, &body).await
}

/// Signs a tenant user in (as `POST /admin/v1/session` does staff): the session cookie then
/// authenticates `/v1` routes with the scopes of the user's tenant role.
#[utoipa::path(post, path = "/v1/session", tag = "tenant",
    request_body(content = SignInRequest),
    responses((status = 201, body = SessionView), (status = 401, body = crate::error::Problem),
        (status = 429, body = crate::error::Problem)))]
pub async fn sign_in_tenant_user(
    State(state): State<AppState>,
    Audit(context): Audit,
    headers: HeaderMap,
    Body(body): Body<SignInRequest>,
) -> ApiResult<Response> {
    sign_in_as(Audience::TenantUsers, &state, &context, &headers, &body).await
}

async fn sign_in_as(
    audience: Audience,
    state: &AppState,
    context: &benteng_core::audit::AuditContext,
    headers: &HeaderMap,
    body: &SignInRequest,
) -> ApiResult<Response> {
    let (signed_in, cookie) = start_session(
        audience,
        state,
        context,
        headers,
        body.login.0.expose_secret(),
        &body.password.0,
        &body.code.0,
    )
    .await?;
    let mut response = (
        StatusCode::CREATED,
        Json(SessionView::of(
            &signed_in.principal,
            Some(signed_in.csrf_token),
        )),
    )
        .into_response();
    response.headers_mut().insert(header::SET_COOKIE, cookie);
    Ok(response)
}

/// Signs a person in (the API's sign-in and the console's): a session cookie the browser
/// still holds is ended first, so a sign-in always starts a new session (no fixation).
/// Answers the new session and its `Set-Cookie` value.
pub(crate) async fn start_session(
    audience: Audience,
    state: &AppState,
    context: &benteng_core::audit::AuditContext,
    headers: &HeaderMap,
    login: &str,
    password: &benteng_crypto::SecretString,
    code: &benteng_crypto::SecretString,
) -> ApiResult<(benteng_auth::SignedIn, HeaderValue)> {
    let people = people(state)?;
    if let Some(old) = session_cookie(headers)
        && let Ok(previous) = people.authenticate(old).await
    {
        let _ = people.sign_out(&previous, context).await;
    }
    let signed_in = people
        .sign_in(audience, login, password, code, context)
        .await
        .map_err(|error| match error {
            SignInError::Invalid => ApiError::Refused {
                status: StatusCode::UNAUTHORIZED,
                slug: "sign-in-failed",
                title: "Sign-in failed",
                detail: error.to_string(),
            },
            SignInError::Throttled { retry_after } => ApiError::RateLimited {
                retry_after_secs: retry_after.as_secs().max(1),
                detail: error.to_string(),
            },
            SignInError::Unavailable => ApiError::Unavailable {
                retry_after_secs: 1,
            },
        })?;
    let max_age = people.policy().absolute.as_secs();
    let cookie = format!(
        "{SESSION_COOKIE}={}; Path=/; Secure; HttpOnly; SameSite=Strict; Max-Age={max_age}",
        signed_in.token.expose_secret()
    );
    let cookie = HeaderValue::from_str(&cookie).map_err(|_| ApiError::Unavailable {
        retry_after_secs: 1,
    })?;
    Ok((signed_in, cookie))
}

/// The signed-in person and their roles.
#[utoipa::path(get, path = "/admin/v1/session/current", tag = "operator",
    security(("staff_session" = [])),
    responses((status = 200, body = SessionView), (status = 401, body = crate::error::Problem)))]
pub async fn current(Staff(principal, _): Staff) -> Json<SessionView> {
    Json(SessionView::of(&principal, None))
}

fn cleared_cookie() -> [(header::HeaderName, &'static str); 1] {
    [(
        header::SET_COOKIE,
        "__Host-benteng_session=; Path=/; Secure; HttpOnly; SameSite=Strict; Max-Age=0",
    )]
}

/// Ends this session.
#[utoipa::path(post, path = "/admin/v1/session/sign-out", tag = "operator",
    security(("staff_session" = [])),
    responses((status = 204), (status = 401, body = crate::error::Problem)))]
pub async fn sign_out(
    State(state): State<AppState>,
    Staff(principal, context): Staff,
) -> ApiResult<Response> {
    people(&state)?.sign_out(&principal, &context).await?;
    Ok((StatusCode::NO_CONTENT, cleared_cookie()).into_response())
}

/// Ends every session of the signed-in person, on every instance, and revokes their staff
/// tokens (whoever presses it suspects a credential is out of their hands). Takes a session.
#[utoipa::path(post, path = "/admin/v1/session/sign-out-everywhere", tag = "operator",
    security(("staff_session" = [])),
    responses((status = 204), (status = 401, body = crate::error::Problem)))]
pub async fn sign_out_everywhere(
    State(state): State<AppState>,
    Staff(principal, context): Staff,
) -> ApiResult<Response> {
    state
        .operations
        .end_sessions(principal.person, &context)
        .await?;
    Ok((StatusCode::NO_CONTENT, cleared_cookie()).into_response())
}

fn enrolment_refusal(error: EnrolmentError) -> ApiError {
    match error {
        EnrolmentError::InvalidCode => ApiError::Refused {
            status: StatusCode::UNAUTHORIZED,
            slug: "enrolment-code-invalid",
            title: "Enrolment code not valid",
            detail: error.to_string(),
        },
        EnrolmentError::Password(reason) => {
            ApiError::invalid("password", "weak_password", &reason.to_string())
        }
        EnrolmentError::WrongCode => ApiError::invalid("code", "wrong_code", &error.to_string()),
        EnrolmentError::Unavailable => ApiError::Unavailable {
            retry_after_secs: 1,
        },
    }
}

/// What enrolment's first step returns: the TOTP secret for an authenticator app.
#[derive(Serialize, utoipa::ToSchema)]
pub struct EnrolmentStartedView {
    /// Base32 (RFC 4648, no padding).
    totp_secret: String,
    /// `otpauth://totp/…`, for a QR code.
    provisioning_uri: String,
}

/// Enrolment, first step: the enrolment code and a new password (12–128 characters, not a
/// common password, not containing the login).
#[utoipa::path(post, path = "/admin/v1/enrolment/start", tag = "operator",
    request_body(content = EnrolmentStartRequest),
    responses((status = 200, body = EnrolmentStartedView), (status = 401, body = crate::error::Problem),
        (status = 422, body = crate::error::Problem)))]
pub async fn start_enrolment(
    State(state): State<AppState>,
    Audit(context): Audit,
    Body(body): Body<EnrolmentStartRequest>,
) -> ApiResult<Json<EnrolmentStartedView>> {
    start_enrolment_as(Audience::Staff, &state, &context, body).await
}

/// Enrolment of a tenant user, first step (as `/admin/v1/enrolment/start` for staff).
#[utoipa::path(post, path = "/v1/enrolment/start", tag = "tenant",
    request_body(content = EnrolmentStartRequest),
    responses((status = 200, body = EnrolmentStartedView), (status = 401, body = crate::error::Problem),
        (status = 422, body = crate::error::Problem)))]
pub async fn start_enrolment_tenant_user(
    State(state): State<AppState>,
    Audit(context): Audit,
    Body(body): Body<EnrolmentStartRequest>,
) -> ApiResult<Json<EnrolmentStartedView>> {
    start_enrolment_as(Audience::TenantUsers, &state, &context, body).await
}

async fn start_enrolment_as(
    audience: Audience,
    state: &AppState,
    context: &benteng_core::audit::AuditContext,
    body: EnrolmentStartRequest,
) -> ApiResult<Json<EnrolmentStartedView>> {
    let started = people(state)?
        .start_enrolment(audience, &body.enrolment_code.0, body.password.0, context)
        .await
        .map_err(enrolment_refusal)?;
    Ok(Json(EnrolmentStartedView {
        totp_secret: started.totp_secret.expose_secret().to_owned(),
        provisioning_uri: started.provisioning_uri.expose_secret().to_owned(),
    }))
}

/// The recovery codes, shown this once.
#[derive(Serialize, utoipa::ToSchema)]
pub struct EnrolledView {
    recovery_codes: Vec<String>,
}

/// Enrolment, last step: a code from the new authenticator. The person becomes active.
#[utoipa::path(post, path = "/admin/v1/enrolment/finish", tag = "operator",
    request_body(content = EnrolmentFinishRequest),
    responses((status = 200, body = EnrolledView), (status = 401, body = crate::error::Problem),
        (status = 422, body = crate::error::Problem)))]
pub async fn finish_enrolment(
    State(state): State<AppState>,
    Audit(context): Audit,
    Body(body): Body<EnrolmentFinishRequest>,
) -> ApiResult<Json<EnrolledView>> {
    finish_enrolment_as(Audience::Staff, &state, &context, body).await
}

/// Enrolment of a tenant user, last step (as `/admin/v1/enrolment/finish` for staff).
#[utoipa::path(post, path = "/v1/enrolment/finish", tag = "tenant",
    request_body(content = EnrolmentFinishRequest),
    responses((status = 200, body = EnrolledView), (status = 401, body = crate::error::Problem),
        (status = 422, body = crate::error::Problem)))]
pub async fn finish_enrolment_tenant_user(
    State(state): State<AppState>,
    Audit(context): Audit,
    Body(body): Body<EnrolmentFinishRequest>,
) -> ApiResult<Json<EnrolledView>> {
    finish_enrolment_as(Audience::TenantUsers, &state, &context, body).await
}

async fn finish_enrolment_as(
    audience: Audience,
    state: &AppState,
    context: &benteng_core::audit::AuditContext,
    body: EnrolmentFinishRequest,
) -> ApiResult<Json<EnrolledView>> {
    let codes = people(state)?
        .finish_enrolment(
            audience,
            &body.enrolment_code.0,
            body.code.0.expose_secret(),
            context,
        )
        .await
        .map_err(enrolment_refusal)?;
    Ok(Json(EnrolledView {
        recovery_codes: codes.iter().map(|c| c.expose_secret().to_owned()).collect(),
    }))
}

/// Ends a tenant user's session.
#[utoipa::path(post, path = "/v1/session/sign-out", tag = "tenant",
    security(("tenant_session" = ["tenant:read"])),
    responses((status = 204), (status = 401, body = crate::error::Problem)))]
pub async fn sign_out_tenant_user(
    State(state): State<AppState>,
    crate::middleware::Caller(caller): crate::middleware::Caller,
    Audit(context): Audit,
) -> ApiResult<Response> {
    let Credential::Session { session, .. } = caller.credential else {
        return Err(ApiError::BadRequest("only a browser session signs out"));
    };
    people(&state)?.end_session(session, &context).await?;
    Ok((StatusCode::NO_CONTENT, cleared_cookie()).into_response())
}
