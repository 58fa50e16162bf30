//! FAPI 2.0 clients as operators register them (`/admin/v1/fapi/clients`): registering and
//! enabling need `credentials:write`, disabling `credentials:revoke` (containment), reading
//! `tenants:read`. `benteng_auth::fapi::FapiServer` checks and stores; every change is audited.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::{get, post};
use benteng_auth::fapi::{ClientError, NewClient};
use benteng_core::roles::Permission;
use benteng_core::strict_json::{FieldIssue, Fields, FromJsonField, JsonValue};
use benteng_store::FapiClientRow;
use serde::Serialize;
use serde_json::Value;
use time::OffsetDateTime;

use super::Parsed;
use crate::error::{ApiError, ApiResult};
use crate::json::{Body, RequestBody};
use crate::middleware::Staff;
use crate::routes::{Needs, Routes};
use crate::state::AppState;

pub(super) fn routes(routes: Routes) -> Routes {
    routes
        .staff(
            "/admin/v1/fapi/clients",
            Needs::on_get(Permission::TenantsRead.into())
                .and_post(Permission::CredentialsWrite.into()),
            get(list).post(register),
        )
        .staff(
            "/admin/v1/fapi/clients/{id}/disable",
            Needs::on_post(Permission::CredentialsRevoke.into()),
            post(disable),
        )
        .staff(
            "/admin/v1/fapi/clients/{id}/enable",
            Needs::on_post(Permission::CredentialsWrite.into()),
            post(enable),
        )
}

/// A registered client (its keys included: they are public).
#[derive(Serialize, utoipa::ToSchema)]
pub struct ClientView {
    client_id: String,
    name: String,
    #[schema(value_type = Object)]
    jwks: Value,
    redirect_uris: Vec<String>,
    scopes: String,
    profile: String,
    token_auth: String,
    sender_constraint: String,
    status: String,
    #[serde(with = "time::serde::rfc3339")]
    created_at: OffsetDateTime,
}

impl From<&FapiClientRow> for ClientView {
    fn from(row: &FapiClientRow) -> Self {
        Self {
            client_id: row.client_id.clone(),
            name: row.name.clone(),
            jwks: serde_json::from_str(&row.jwks).unwrap_or(Value::Null),
            redirect_uris: row.redirect_uris.clone(),
            scopes: row.scopes.clone(),
            profile: row.profile.clone(),
            token_auth: row.token_auth.clone(),
            sender_constraint: row.sender_constraint.clone(),
            status: row.status.clone(),
            created_at: row.created_at,
        }
    }
}

/// A JSON value taken as it is (a JWK Set), checked by the registration itself.
pub struct AnyJson(Value);

fn to_value(value: &JsonValue) -> Value {
    match value {
        JsonValue::Null => Value::Null,
        JsonValue::Bool(b) => Value::Bool(*b),
        JsonValue::Number(n) => Value::Number(n.clone()),
        JsonValue::String(s) => Value::String(s.clone()),
        JsonValue::Array(items) => Value::Array(items.iter().map(to_value).collect()),
        JsonValue::Object(object) => Value::Object(
            object
                .iter()
                .map(|(k, v)| (k.to_owned(), to_value(v)))
                .collect(),
        ),
    }
}

impl FromJsonField for AnyJson {
    fn from_json_field(value: &JsonValue) -> Result<Self, FieldIssue> {
        match value {
            JsonValue::Object(_) => Ok(AnyJson(to_value(value))),
            _ => Err(FieldIssue::invalid_type("an object")),
        }
    }
}

pub(crate) fn client_error(error: ClientError) -> ApiError {
    match error {
        ClientError::Invalid { field, reason } => {
            ApiError::invalid(field, "invalid_value", &reason)
        }
        ClientError::Taken => ApiError::Refused {
            status: StatusCode::CONFLICT,
            slug: "fapi-client-exists",
            title: "Client id taken",
            detail: "a client with this id is registered".into(),
        },
        ClientError::NotFound => ApiError::NotFound,
        ClientError::Unavailable => ApiError::Unavailable {
            retry_after_secs: 1,
        },
    }
}

fn server(state: &AppState) -> ApiResult<&benteng_auth::FapiServer> {
    state
        .auth
        .fapi()
        .map(|f| f.as_ref())
        .ok_or(ApiError::Unavailable {
            retry_after_secs: 1,
        })
}

/// Every registered client.
#[utoipa::path(get, path = "/admin/v1/fapi/clients", tag = "operator",
    security(("staff_session" = ["tenants:read"])),
    responses((status = 200, body = [ClientView])))]
pub async fn list(State(state): State<AppState>) -> ApiResult<Json<Vec<ClientView>>> {
    let rows = state.store.fapi_clients().await?;
    Ok(Json(rows.iter().map(ClientView::from).collect()))
}

/// The schema of a client's `jwks`: a JWK Set of public keys, by value; the registration
/// checks each key (PS256, ES256 or EdDSA; public parts only).
fn jwk_set_schema() -> utoipa::openapi::schema::Object {
    use utoipa::openapi::schema::ArrayBuilder;
    use utoipa::openapi::{ObjectBuilder, Type};
    ObjectBuilder::new()
        .schema_type(Type::Object)
        .property(
            "keys",
            ArrayBuilder::new()
                .items(ObjectBuilder::new().schema_type(Type::Object).description(Some(
                    "A public JWK (RFC 7517), e.g. `{\"kty\": \"EC\", \"crv\": \"P-256\", \"x\": …, \"y\": …}`",
                )))
                .min_items(Some(1)),
        )
        .required("keys")
        .build()
}

/// The body of `POST /admin/v1/fapi/clients`.
#[derive(utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"client_id": "acme-treasury", "name": "Acme Treasury",
    "jwks": {"keys": [{"kty": "EC", "crv": "P-256", "x": "f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU",
        "y": "x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0", "use": "sig", "kid": "acme-1"}]},
    "redirect_uris": ["https://acme.example/callback"], "scopes": "transfers:read balances:read"}))]
pub struct RegisterClientRequest {
    #[schema(value_type = String, max_length = 64)]
    client_id: Parsed<String, 64>,
    #[schema(value_type = String, max_length = 400)]
    name: Parsed<String, 400>,
    #[schema(schema_with = jwk_set_schema)]
    jwks: AnyJson,
    /// Exact redirect URIs, `https` only.
    #[schema(value_type = Vec<String>, min_items = 1, max_items = 10)]
    redirect_uris: Vec<Parsed<String, 2000>>,
    /// API-key scope names, space-separated.
    #[schema(value_type = String, max_length = 400, example = "transfers:read balances:read")]
    scopes: Parsed<String, 400>,
    /// `fapi2` (the default and only profile).
    #[schema(value_type = Option<String>, max_length = 32, example = "fapi2")]
    profile: Option<Parsed<String, 32>>,
    /// `private_key_jwt` (the default and only method).
    #[schema(value_type = Option<String>, max_length = 32, example = "private_key_jwt")]
    token_auth: Option<Parsed<String, 32>>,
    /// `dpop` (the default and only sender constraint).
    #[schema(value_type = Option<String>, max_length = 32, example = "dpop")]
    sender_constraint: Option<Parsed<String, 32>>,
}

impl RequestBody for RegisterClientRequest {
    const FIELDS: &'static [&'static str] = &[
        "client_id",
        "name",
        "jwks",
        "redirect_uris",
        "scopes",
        "profile",
        "token_auth",
        "sender_constraint",
    ];

    fn read(f: &mut Fields<'_>) -> Option<Self> {
        let client_id = f.required("client_id");
        let name = f.required("name");
        let jwks = f.required("jwks");
        let redirect_uris = f.required_list("redirect_uris", 1..=10);
        let scopes = f.required("scopes");
        let profile = f.optional("profile");
        let token_auth = f.optional("token_auth");
        let sender_constraint = f.optional("sender_constraint");
        Some(Self {
            client_id: client_id?,
            name: name?,
            jwks: jwks?,
            redirect_uris: redirect_uris?,
            scopes: scopes?,
            profile,
            token_auth,
            sender_constraint,
        })
    }
}

impl RegisterClientRequest {
    fn new_client(self) -> NewClient {
        NewClient {
            client_id: self.client_id.0,
            name: self.name.0,
            jwks: self.jwks.0,
            redirect_uris: self.redirect_uris.into_iter().map(|u| u.0).collect(),
            scopes: self.scopes.0,
            profile: self.profile.map_or_else(|| "fapi2".into(), |p| p.0),
            token_auth: self
                .token_auth
                .map_or_else(|| "private_key_jwt".into(), |t| t.0),
            sender_constraint: self
                .sender_constraint
                .map_or_else(|| "dpop".into(), |s| s.0),
        }
    }
}

/// Registers a client.
#[utoipa::path(post, path = "/admin/v1/fapi/clients", tag = "operator",
    security(("staff_session" = ["credentials:write"])),
    request_body(content = RegisterClientRequest),
    responses((status = 201, body = ClientView), (status = 409, body = crate::error::Problem),
        (status = 422, body = crate::error::Problem)))]
pub async fn register(
    State(state): State<AppState>,
    Staff(_, context): Staff,
    Body(body): Body<RegisterClientRequest>,
) -> ApiResult<(StatusCode, Json<ClientView>)> {
    let row = server(&state)?
        .register_client(body.new_client(), &context)
        .await
        .map_err(client_error)?;
    Ok((StatusCode::CREATED, Json(ClientView::from(&row))))
}

/// Disables a client: its tokens stop working at once, and it can start nothing new.
#[utoipa::path(post, path = "/admin/v1/fapi/clients/{id}/disable", tag = "operator",
    security(("staff_session" = ["credentials:revoke"])),
    responses((status = 204), (status = 404, body = crate::error::Problem)))]
pub async fn disable(
    State(state): State<AppState>,
    Staff(_, context): Staff,
    Path(id): Path<String>,
) -> ApiResult<StatusCode> {
    server(&state)?
        .set_client_status(&id, false, &context)
        .await
        .map_err(client_error)?;
    Ok(StatusCode::NO_CONTENT)
}

/// Enables a disabled client again.
#[utoipa::path(post, path = "/admin/v1/fapi/clients/{id}/enable", tag = "operator",
    security(("staff_session" = ["credentials:write"])),
    responses((status = 204), (status = 404, body = crate::error::Problem)))]
pub async fn enable(
    State(state): State<AppState>,
    Staff(_, context): Staff,
    Path(id): Path<String>,
) -> ApiResult<StatusCode> {
    server(&state)?
        .set_client_status(&id, true, &context)
        .await
        .map_err(client_error)?;
    Ok(StatusCode::NO_CONTENT)
}
