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
use crate::json::{Body, RequestBody};
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

/// A key's environment as requests name it.
#[derive(Clone, Copy)]
pub struct EnvironmentField(KeyEnvironment);

const ENVIRONMENTS: [(&str, EnvironmentField); 2] = [
    ("live", EnvironmentField(KeyEnvironment::Live)),
    ("test", EnvironmentField(KeyEnvironment::Test)),
];

impl FromJsonField for EnvironmentField {
    fn from_json_field(value: &JsonValue) -> Result<Self, FieldIssue> {
        enum_field(value, &ENVIRONMENTS)
    }
}

impl utoipa::PartialSchema for EnvironmentField {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        crate::json::string_enum_schema(ENVIRONMENTS.iter().map(|(name, _)| *name))
    }
}

impl utoipa::ToSchema for EnvironmentField {
    fn name() -> std::borrow::Cow<'static, str> {
        "KeyEnvironment".into()
    }
}

/// The schema of a key's `scopes`: the names `Scopes::from_names` accepts.
fn scope_names_schema() -> utoipa::openapi::schema::Array {
    utoipa::openapi::schema::ArrayBuilder::new()
        .items(crate::json::string_enum_schema(
            Scope::ALL.iter().map(|scope| scope.as_str()),
        ))
        .min_items(Some(1))
        .max_items(Some(Scope::ALL.len()))
        .build()
}

/// The schema of an allow-list in a request: 1 to 64 IPv4 or IPv6 addresses or CIDRs.
fn networks_schema() -> utoipa::openapi::schema::Array {
    use utoipa::openapi::{ObjectBuilder, Type};
    utoipa::openapi::schema::ArrayBuilder::new()
        .items(
            ObjectBuilder::new()
                .schema_type(Type::String)
                .max_length(Some(64))
                .description(Some(
                    "An IPv4 or IPv6 address or CIDR, e.g. `203.0.113.0/24`",
                )),
        )
        .min_items(Some(1))
        .max_items(Some(64))
        .build()
}

/// The body of `POST /admin/v1/tenants/{id}/api-keys`: without `scopes` or `read_only` the key
/// carries every scope; without `allow_networks` it works from any network; without
/// `expires_in_days` it lives until revoked.
#[derive(utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"environment": "live", "scopes": ["transfers:read", "transfers:write"],
    "allow_networks": ["203.0.113.0/24"], "expires_in_days": 90}))]
pub struct IssueKeyRequest {
    environment: EnvironmentField,
    /// The key's scopes; not together with `read_only`.
    #[schema(schema_with = scope_names_schema)]
    scopes: Option<Scopes>,
    /// `true`: every read scope and no other; not together with `scopes`.
    read_only: Option<bool>,
    #[schema(schema_with = networks_schema)]
    allow_networks: Option<NetworkAllowList>,
    #[schema(value_type = Option<u32>, minimum = 1, maximum = 3650)]
    expires_in_days: Option<KeyLifetime>,
}

impl RequestBody for IssueKeyRequest {
    const FIELDS: &'static [&'static str] = &[
        "environment",
        "scopes",
        "read_only",
        "allow_networks",
        "expires_in_days",
    ];

    fn read(f: &mut Fields<'_>) -> Option<Self> {
        let environment: Option<EnvironmentField> = f.required("environment");
        let read_only: Option<bool> = f.optional("read_only");
        let names: Option<Vec<Parsed<String, 64>>> = if f.is_present("scopes") {
            f.required_list("scopes", 1..=Scope::ALL.len())
        } else {
            None
        };
        let networks: Option<Vec<Parsed<String, 64>>> = if f.is_present("allow_networks") {
            f.required_list("allow_networks", 1..=64)
        } else {
            None
        };
        let days: Option<u32> = f.optional("expires_in_days");
        // Every rule below reports into `f`, so one answer lists every problem of the body;
        // each is `Some(value)` when valid (the value itself optional).
        let scopes = match names {
            Some(_) if read_only == Some(true) => {
                f.reject(
                    "read_only",
                    "conflict",
                    "give scopes or read_only, not both",
                );
                None
            }
            None => Some(None),
            Some(names) => match Scopes::from_names(names.iter().map(|n| n.0.as_str())) {
                Ok(named) => Some(Some(named)),
                Err(error) => {
                    f.reject("scopes", "invalid_value", error.to_string());
                    None
                }
            },
        };
        let allow_networks = match networks {
            None => Some(None),
            Some(entries) => {
                match NetworkAllowList::from_entries(entries.iter().map(|e| e.0.as_str())) {
                    Ok(list) => Some(Some(list)),
                    Err(error) => {
                        f.reject("allow_networks", "invalid_value", error.to_string());
                        None
                    }
                }
            }
        };
        let expires_in_days = match days.map(KeyLifetime::days) {
            None => Some(None),
            Some(Ok(lifetime)) => Some(Some(lifetime)),
            Some(Err(error)) => {
                f.reject("expires_in_days", "out_of_range", error.to_string());
                None
            }
        };
        Some(Self {
            environment: environment?,
            scopes: scopes?,
            read_only,
            allow_networks: allow_networks?,
            expires_in_days: expires_in_days?,
        })
    }
}

impl IssueKeyRequest {
    fn key_request(self) -> KeyRequest {
        let scopes = match (self.scopes, self.read_only == Some(true)) {
            (Some(named), _) => KeyScopes::These(named),
            (None, true) => KeyScopes::ReadOnly,
            (None, false) => KeyScopes::Every,
        };
        KeyRequest {
            environment: self.environment.0,
            scopes,
            lifetime: self.expires_in_days,
            networks: self.allow_networks.unwrap_or_else(NetworkAllowList::any),
        }
    }
}

/// The body of `POST /admin/v1/api-keys/{id}/networks`: the new allow-list, or
/// `{"any_network": true}` to lift the restriction (asked for by name, never by an empty list).
#[derive(utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"allow_networks": ["203.0.113.0/24", "2001:db8::/48"]}))]
pub struct KeyNetworksRequest {
    /// Required unless `any_network` is `true`.
    #[schema(schema_with = networks_schema)]
    allow_networks: Option<NetworkAllowList>,
    any_network: Option<bool>,
}

impl RequestBody for KeyNetworksRequest {
    const FIELDS: &'static [&'static str] = &["allow_networks", "any_network"];

    fn read(f: &mut Fields<'_>) -> Option<Self> {
        let any_network: Option<bool> = f.optional("any_network");
        if any_network == Some(true) {
            if f.is_present("allow_networks") {
                f.reject(
                    "any_network",
                    "conflict",
                    "give allow_networks or any_network, not both",
                );
            }
            return Some(Self {
                allow_networks: None,
                any_network,
            });
        }
        let entries: Vec<Parsed<String, 64>> = f.required_list("allow_networks", 1..=64)?;
        match NetworkAllowList::from_entries(entries.iter().map(|e| e.0.as_str())) {
            Ok(list) => Some(Self {
                allow_networks: Some(list),
                any_network,
            }),
            Err(error) => {
                f.reject("allow_networks", "invalid_value", error.to_string());
                None
            }
        }
    }
}

/// The body of `POST /admin/v1/tenants/{id}/certificates`.
#[derive(utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"pem": "-----BEGIN CERTIFICATE-----\nMIIB…\n-----END CERTIFICATE-----\n"}))]
pub struct NewCertificateRequest {
    /// Exactly one certificate in PEM, valid now, registered to no tenant yet. A certificate
    /// is a few kilobytes; a chain or a key pasted by mistake is refused by the parser,
    /// anything far larger before it.
    #[schema(value_type = String, max_length = 16384)]
    pem: Parsed<String, 16_384>,
}

impl RequestBody for NewCertificateRequest {
    const FIELDS: &'static [&'static str] = &["pem"];

    fn read(f: &mut Fields<'_>) -> Option<Self> {
        let pem = f.required("pem");
        Some(Self { pem: pem? })
    }
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

/// Issues a key. The answer (201) is the only time the key is shown.
#[utoipa::path(post, path = "/admin/v1/tenants/{id}/api-keys", tag = "operator",
    security(("staff_session" = ["credentials:write"])),
    request_body(content = IssueKeyRequest),
    responses((status = 201, body = IssuedKeyView), (status = 404, body = crate::error::Problem),
        (status = 409, body = crate::error::Problem), (status = 422, body = crate::error::Problem)))]
pub async fn issue_key(
    State(state): State<AppState>,
    Staff(_, context): Staff,
    Path(id): Path<String>,
    Body(body): Body<IssueKeyRequest>,
) -> ApiResult<(StatusCode, Json<IssuedKeyView>)> {
    let tenant: TenantId = path_id(&id)?;
    let issued = state
        .operations
        .issue_api_key(tenant, body.key_request(), &context)
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

/// Replaces the networks a live key may be used from.
#[utoipa::path(post, path = "/admin/v1/api-keys/{id}/networks", tag = "operator",
    security(("staff_session" = ["credentials:write"])),
    request_body(content = KeyNetworksRequest),
    responses((status = 200, body = ApiKeyView), (status = 404, body = crate::error::Problem),
        (status = 409, body = crate::error::Problem), (status = 422, body = crate::error::Problem)))]
pub async fn key_networks(
    State(state): State<AppState>,
    Staff(_, context): Staff,
    Path(id): Path<String>,
    Body(body): Body<KeyNetworksRequest>,
) -> ApiResult<Json<ApiKeyView>> {
    let key: ApiKeyId = path_id(&id)?;
    let networks = match (body.any_network, body.allow_networks) {
        (Some(true), _) => NetworkAllowList::any(),
        (_, Some(list)) => list,
        // The parser requires a list unless `any_network` is true.
        (_, None) => {
            return Err(ApiError::invalid(
                "allow_networks",
                "required",
                "is required",
            ));
        }
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

/// Registers a client certificate to the tenant.
#[utoipa::path(post, path = "/admin/v1/tenants/{id}/certificates", tag = "operator",
    security(("staff_session" = ["credentials:write"])),
    request_body(content = NewCertificateRequest),
    responses((status = 201, body = CertificateView), (status = 404, body = crate::error::Problem),
        (status = 409, body = crate::error::Problem), (status = 422, body = crate::error::Problem)))]
pub async fn add_certificate(
    State(state): State<AppState>,
    Staff(_, context): Staff,
    Path(id): Path<String>,
    Body(body): Body<NewCertificateRequest>,
) -> ApiResult<(StatusCode, Json<CertificateView>)> {
    let tenant: TenantId = path_id(&id)?;
    let record = state
        .operations
        .add_certificate(tenant, body.pem.0.as_bytes(), &context)
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
