//! A tenant's credentials as operators manage them: API keys (issued, restricted to networks,
//! revoked) and the client certificates of its mTLS binding. Issuing needs
//! `credentials:write`; withdrawing needs `credentials:revoke` (containment); reading needs
//! `tenants:read` and never shows a key.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::{get, post};
use benteng_core::api_key::{ApiKeyRecord, KeyEnvironment};
use benteng_core::ids::{ApiKeyId, TenantId};
use benteng_core::network::NetworkAllowList;
use benteng_core::roles::Permission;
use benteng_core::scopes::{Scope, Scopes};
use benteng_core::strict_json::{FieldIssue, Fields, FromJsonField, JsonValue, enum_field};
use benteng_crypto::ExposeSecret;
use benteng_operations::{CertFingerprint, KeyLifetime, KeyRequest, KeyScopes};
use benteng_store::TenantCertificate;
use serde::Serialize;
use time::OffsetDateTime;

use super::{Parsed, path_id};
use crate::error::{ApiError, ApiResult};
use crate::json::JsonBody;
use crate::middleware::Staff;
use crate::routes::{Needs, Routes};
use crate::state::AppState;

pub(super) fn routes(routes: Routes) -> Routes {
    let read = Permission::TenantsRead.into();
    let write = Permission::CredentialsWrite.into();
    let revoke = Permission::CredentialsRevoke.into();
    routes
        .staff(
            "/admin/v1/tenants/{id}/api-keys",
            Needs::on_get(read).and_post(write),
            get(list_keys).post(issue_key),
        )
        .staff(
            "/admin/v1/api-keys/{id}/revoke",
            Needs::on_post(revoke),
            post(revoke_key),
        )
        .staff(
            "/admin/v1/api-keys/{id}/networks",
            Needs::on_post(write),
            post(key_networks),
        )
        .staff(
            "/admin/v1/tenants/{id}/certificates",
            Needs::on_get(read).and_post(write),
            get(list_certificates).post(add_certificate),
        )
        .staff(
            "/admin/v1/tenants/{id}/certificates/{fingerprint}/remove",
            Needs::on_post(revoke),
            post(remove_certificate),
        )
}

/// An API key as operators see it: enough to recognise and judge it, never the key.
#[derive(Serialize, utoipa::ToSchema)]
pub struct ApiKeyView {
    id: String,
    tenant_id: String,
    /// `live` or `test`.
    environment: &'static str,
    /// The key's first characters, e.g. `sk_live_7f1c…`: recognisable, useless to call with.
    prefix: String,
    scopes: Vec<&'static str>,
    /// CIDRs the key may be used from; empty: any network.
    allow_networks: Vec<String>,
    #[serde(with = "time::serde::rfc3339")]
    created_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339::option")]
    expires_at: Option<OffsetDateTime>,
    #[serde(with = "time::serde::rfc3339::option")]
    revoked_at: Option<OffsetDateTime>,
}

impl From<&ApiKeyRecord> for ApiKeyView {
    fn from(record: &ApiKeyRecord) -> Self {
        Self {
            id: record.id.to_string(),
            tenant_id: record.tenant_id.to_string(),
            environment: record.environment.as_str(),
            prefix: record.display_prefix.clone(),
            scopes: record.scopes.iter().map(Scope::as_str).collect(),
            allow_networks: record.networks.iter().map(ToString::to_string).collect(),
            created_at: record.created_at,
            expires_at: record.expires_at,
            revoked_at: record.revoked_at,
        }
    }
}

/// A key just issued: the key itself appears here once and is never shown again.
#[derive(Serialize, utoipa::ToSchema)]
pub struct IssuedKeyView {
    /// The key. Store it now: only its keyed hash is kept.
    key: String,
    #[serde(flatten)]
    record: ApiKeyView,
}

#[derive(Clone, Copy)]
struct EnvironmentField(KeyEnvironment);

impl FromJsonField for EnvironmentField {
    fn from_json_field(value: &JsonValue) -> Result<Self, FieldIssue> {
        enum_field(
            value,
            &[
                ("live", EnvironmentField(KeyEnvironment::Live)),
                ("test", EnvironmentField(KeyEnvironment::Test)),
            ],
        )
    }
}

/// A list of networks as one allow-list, refused whole if any entry is wrong.
fn allow_list(field: &str, entries: &[Parsed<String, 64>]) -> ApiResult<NetworkAllowList> {
    NetworkAllowList::from_entries(entries.iter().map(|entry| entry.0.as_str()))
        .map_err(|error| ApiError::invalid(field, "invalid_value", &error.to_string()))
}

/// A tenant's API keys, newest first as the store lists them.
#[utoipa::path(get, path = "/admin/v1/tenants/{id}/api-keys", tag = "operator",
    security(("staff_session" = ["tenants:read"])),
    responses((status = 200, body = Vec<ApiKeyView>), (status = 404, body = crate::error::Problem)))]
pub async fn list_keys(
    State(state): State<AppState>,
    _staff: Staff,
    Path(id): Path<String>,
) -> ApiResult<Json<Vec<ApiKeyView>>> {
    let keys = state.operations.api_keys_of(path_id(&id)?).await?;
    Ok(Json(keys.iter().map(ApiKeyView::from).collect()))
}

/// Issues a key (`{"environment": "live"|"test", "scopes"?: [..], "read_only"?: bool,
/// "allow_networks"?: [CIDR..], "expires_in_days"?: 1..3650}`); without `scopes` or
/// `read_only` the key carries every scope, without `allow_networks` it works from any
/// network. The answer (201) is the only time the key is shown.
#[utoipa::path(post, path = "/admin/v1/tenants/{id}/api-keys", tag = "operator",
    security(("staff_session" = ["credentials:write"])),
    request_body(content = Object, description = "A JSON object; its fields are named in the operation's description."),
    responses((status = 201, body = IssuedKeyView), (status = 404, body = crate::error::Problem),
        (status = 409, body = crate::error::Problem), (status = 422, body = crate::error::Problem)))]
pub async fn issue_key(
    State(state): State<AppState>,
    Staff(_, context): Staff,
    Path(id): Path<String>,
    JsonBody(body): JsonBody,
) -> ApiResult<(StatusCode, Json<IssuedKeyView>)> {
    let tenant: TenantId = path_id(&id)?;
    let mut f = Fields::new(
        &body,
        &[
            "environment",
            "scopes",
            "read_only",
            "allow_networks",
            "expires_in_days",
        ],
    );
    let environment: Option<EnvironmentField> = f.required("environment");
    let read_only: Option<bool> = f.optional("read_only");
    let present = |name: &str| !matches!(body.get(name), None | Some(JsonValue::Null));
    let names: Option<Vec<Parsed<String, 64>>> = if present("scopes") {
        f.required_list("scopes", 1..=Scope::ALL.len())
    } else {
        None
    };
    let networks: Option<Vec<Parsed<String, 64>>> = if present("allow_networks") {
        f.required_list("allow_networks", 1..=64)
    } else {
        None
    };
    let days: Option<u32> = f.optional("expires_in_days");
    // Every rule below reports into `f`, so one answer lists every problem of the body.
    let scopes = match (read_only == Some(true), names) {
        (true, Some(_)) => {
            f.reject(
                "read_only",
                "conflict",
                "give scopes or read_only, not both",
            );
            None
        }
        (true, None) => Some(KeyScopes::ReadOnly),
        (false, None) => Some(KeyScopes::Every),
        (false, Some(names)) => match Scopes::from_names(names.iter().map(|n| n.0.as_str())) {
            Ok(named) => Some(KeyScopes::These(named)),
            Err(error) => {
                f.reject("scopes", "invalid_value", error.to_string());
                None
            }
        },
    };
    let networks = match networks {
        None => Some(NetworkAllowList::any()),
        Some(entries) => {
            match NetworkAllowList::from_entries(entries.iter().map(|e| e.0.as_str())) {
                Ok(list) => Some(list),
                Err(error) => {
                    f.reject("allow_networks", "invalid_value", error.to_string());
                    None
                }
            }
        }
    };
    let lifetime = match days.map(KeyLifetime::days) {
        None => Some(None),
        Some(Ok(lifetime)) => Some(Some(lifetime)),
        Some(Err(error)) => {
            f.reject("expires_in_days", "out_of_range", error.to_string());
            None
        }
    };
    let (environment, scopes, networks, lifetime) =
        f.build(|| Some((environment?, scopes?, networks?, lifetime?)))?;
    let request = KeyRequest {
        environment: environment.0,
        scopes,
        lifetime,
        networks,
    };
    let issued = state
        .operations
        .issue_api_key(tenant, request, &context)
        .await?;
    Ok((
        StatusCode::CREATED,
        Json(IssuedKeyView {
            key: issued.key.expose_secret().to_owned(),
            record: ApiKeyView::from(&issued.record),
        }),
    ))
}

/// Revokes a key: every instance refuses it within a second.
#[utoipa::path(post, path = "/admin/v1/api-keys/{id}/revoke", tag = "operator",
    security(("staff_session" = ["credentials:revoke"])),
    responses((status = 200, body = ApiKeyView), (status = 404, body = crate::error::Problem)))]
pub async fn revoke_key(
    State(state): State<AppState>,
    Staff(_, context): Staff,
    Path(id): Path<String>,
) -> ApiResult<Json<ApiKeyView>> {
    let key: ApiKeyId = path_id(&id)?;
    let record = state.operations.revoke_api_key(key, &context).await?;
    Ok(Json(ApiKeyView::from(&record)))
}

/// Replaces the networks a live key may be used from: `{"allow_networks": [CIDR..]}`, or
/// `{"any_network": true}` to lift the restriction (asked for by name, never by an empty list).
#[utoipa::path(post, path = "/admin/v1/api-keys/{id}/networks", tag = "operator",
    security(("staff_session" = ["credentials:write"])),
    request_body(content = Object, description = "A JSON object; its fields are named in the operation's description."),
    responses((status = 200, body = ApiKeyView), (status = 404, body = crate::error::Problem),
        (status = 409, body = crate::error::Problem), (status = 422, body = crate::error::Problem)))]
pub async fn key_networks(
    State(state): State<AppState>,
    Staff(_, context): Staff,
    Path(id): Path<String>,
    JsonBody(body): JsonBody,
) -> ApiResult<Json<ApiKeyView>> {
    let key: ApiKeyId = path_id(&id)?;
    let mut f = Fields::new(&body, &["allow_networks", "any_network"]);
    let any: Option<bool> = f.optional("any_network");
    let entries: Option<Vec<Parsed<String, 64>>> = if any == Some(true) {
        if body.get("allow_networks").is_some() {
            f.reject(
                "any_network",
                "conflict",
                "give allow_networks or any_network, not both",
            );
        }
        None
    } else {
        f.required_list("allow_networks", 1..=64)
    };
    f.finish()?;
    let networks = match entries {
        Some(entries) => allow_list("allow_networks", &entries)?,
        None => NetworkAllowList::any(),
    };
    let record = state
        .operations
        .set_api_key_networks(key, &networks, &context)
        .await?;
    Ok(Json(ApiKeyView::from(&record)))
}

/// A registered client certificate.
#[derive(Serialize, utoipa::ToSchema)]
pub struct CertificateView {
    /// SHA-256 of the DER certificate, lowercase hex.
    sha256_fingerprint: String,
    subject: String,
    #[serde(with = "time::serde::rfc3339")]
    not_after: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    added_at: OffsetDateTime,
}

impl From<&TenantCertificate> for CertificateView {
    fn from(cert: &TenantCertificate) -> Self {
        Self {
            sha256_fingerprint: cert.sha256_fingerprint.clone(),
            subject: cert.subject.clone(),
            not_after: cert.not_after,
            added_at: cert.created_at,
        }
    }
}

/// A tenant's mTLS binding: whether a registered certificate is required, and which.
#[derive(Serialize, utoipa::ToSchema)]
pub struct CertificatesView {
    require_mtls: bool,
    certificates: Vec<CertificateView>,
}

/// A tenant's registered client certificates.
#[utoipa::path(get, path = "/admin/v1/tenants/{id}/certificates", tag = "operator",
    security(("staff_session" = ["tenants:read"])),
    responses((status = 200, body = CertificatesView), (status = 404, body = crate::error::Problem)))]
pub async fn list_certificates(
    State(state): State<AppState>,
    _staff: Staff,
    Path(id): Path<String>,
) -> ApiResult<Json<CertificatesView>> {
    let (mtls, certificates) = state.operations.certificates(path_id(&id)?).await?;
    Ok(Json(CertificatesView {
        require_mtls: mtls.required,
        certificates: certificates.iter().map(CertificateView::from).collect(),
    }))
}

/// Registers a client certificate to the tenant: `{"pem": "-----BEGIN CERTIFICATE-----…"}`,
/// exactly one certificate, valid now, registered to no tenant yet.
#[utoipa::path(post, path = "/admin/v1/tenants/{id}/certificates", tag = "operator",
    security(("staff_session" = ["credentials:write"])),
    request_body(content = Object, description = "A JSON object; its fields are named in the operation's description."),
    responses((status = 201, body = CertificateView), (status = 404, body = crate::error::Problem),
        (status = 409, body = crate::error::Problem), (status = 422, body = crate::error::Problem)))]
pub async fn add_certificate(
    State(state): State<AppState>,
    Staff(_, context): Staff,
    Path(id): Path<String>,
    JsonBody(body): JsonBody,
) -> ApiResult<(StatusCode, Json<CertificateView>)> {
    let tenant: TenantId = path_id(&id)?;
    let mut f = Fields::new(&body, &["pem"]);
    // A certificate in PEM is a few kilobytes; a chain or a key pasted by mistake is refused
    // by the parser, anything far larger before it.
    let pem: Option<Parsed<String, 16_384>> = f.required("pem");
    let pem = f.build(|| pem)?;
    let record = state
        .operations
        .add_certificate(tenant, pem.0.as_bytes(), &context)
        .await?;
    Ok((StatusCode::CREATED, Json(CertificateView::from(&record))))
}

/// Unregisters a certificate by its SHA-256 fingerprint (hex, `:` separators allowed).
#[utoipa::path(post, path = "/admin/v1/tenants/{id}/certificates/{fingerprint}/remove",
    tag = "operator", security(("staff_session" = ["credentials:revoke"])),
    responses((status = 204), (status = 404, body = crate::error::Problem)))]
pub async fn remove_certificate(
    State(state): State<AppState>,
    Staff(_, context): Staff,
    Path((id, fingerprint)): Path<(String, String)>,
) -> ApiResult<StatusCode> {
    let tenant: TenantId = path_id(&id)?;
    // Not a fingerprint: it names no registered certificate.
    let fingerprint = CertFingerprint::parse(&fingerprint).map_err(|_| ApiError::NotFound)?;
    state
        .operations
        .remove_certificate(tenant, &fingerprint, &context)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}
