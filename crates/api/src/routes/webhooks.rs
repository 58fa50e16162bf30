//! Webhook endpoints as a tenant manages them (`webhooks:manage`), their deliveries and
//! attempts, and the public JWKS receivers verify signatures with. Handlers only translate:
//! the commands are `benteng_webhooks::Webhooks`'.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::{StatusCode, header};
use axum::response::IntoResponse;
use axum::routing::{get, post};
use benteng_core::ids::{EndpointId, EventId};
use benteng_core::scopes::Scope;
use benteng_core::strict_json::{FieldIssue, Fields, FromJsonField, JsonObject, JsonValue};
use benteng_core::webhooks::{EndpointUrl, EventTypes};
use benteng_crypto::jws::JwsAlg;
use benteng_store::{AttemptRow, DeliveryRow, EndpointRow};
use benteng_webhooks::{EndpointChange, NewEndpoint, WebhookError, Webhooks};
use serde::Serialize;
use time::OffsetDateTime;

use super::admin::{Parsed, path_id};
use super::{Needs, Routes};
use crate::error::{ApiError, ApiResult};
use crate::json::JsonBody;
use crate::middleware::{Audit, Caller};
use crate::state::AppState;

pub const JWKS_PATH: &str = "/v1/.well-known/jwks.json";

pub(super) fn routes(routes: Routes) -> Routes {
    let manage = Scope::WebhooksManage;
    routes
        .public(JWKS_PATH, get(jwks))
        .tenant(
            "/v1/webhook-endpoints",
            Needs::on_get(manage).and_post(manage),
            get(list).post(create),
        )
        .tenant(
            "/v1/webhook-endpoints/{id}",
            Needs::on_get(manage).and_post(manage),
            get(show).post(update),
        )
        .tenant(
            "/v1/webhook-endpoints/{id}/delete",
            Needs::on_post(manage),
            post(delete),
        )
        .tenant(
            "/v1/webhook-endpoints/{id}/test",
            Needs::on_post(manage),
            post(test),
        )
        .tenant(
            "/v1/webhook-endpoints/{id}/deliveries",
            Needs::on_get(manage),
            get(deliveries),
        )
        .tenant(
            "/v1/webhook-endpoints/{id}/deliveries/{event_id}",
            Needs::on_get(manage),
            get(attempts),
        )
        .tenant(
            "/v1/webhook-endpoints/{id}/deliveries/{event_id}/resend",
            Needs::on_post(manage),
            post(resend),
        )
        .tenant(
            "/v1/webhook-endpoints/{id}/replay",
            Needs::on_post(manage),
            post(replay),
        )
        .tenant(
            "/v1/notices",
            Needs::on_get(Scope::TenantRead),
            get(notices),
        )
}

/// A list answer without paging: `{"data": [...]}`.
#[derive(Serialize, utoipa::ToSchema)]
pub struct DataList<T> {
    data: Vec<T>,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct NoticeView {
    id: String,
    subject: String,
    /// Plain text, as an e-mail to the tenant's contact would carry it.
    body: String,
    #[serde(with = "time::serde::rfc3339")]
    created_at: OffsetDateTime,
}

/// The notices benteng addressed to the tenant (e.g. an endpoint it disabled), newest first,
/// at most 100: what an e-mail would say, kept readable here.
#[utoipa::path(get, path = "/v1/notices", tag = "tenant",
    security(("api_key" = ["tenant:read"])),
    responses((status = 200, body = DataList<NoticeView>)))]
pub async fn notices(
    State(state): State<AppState>,
    Caller(caller): Caller,
) -> ApiResult<Json<DataList<NoticeView>>> {
    let rows = state.store.tenant_notices(caller.tenant.id, 100).await?;
    let views: Vec<NoticeView> = rows
        .into_iter()
        .map(|row| NoticeView {
            id: row.id.to_string(),
            subject: row.subject,
            body: row.body,
            created_at: row.created_at,
        })
        .collect();
    Ok(Json(DataList { data: views }))
}

impl From<WebhookError> for ApiError {
    fn from(error: WebhookError) -> Self {
        match error {
            WebhookError::Destination(why) => ApiError::invalid("url", "not_public", &why),
            WebhookError::NotFound => ApiError::NotFound,
            WebhookError::NoEs256Key => ApiError::invalid(
                "alg",
                "not_available_yet",
                "ES256 signs once this deployment's next signing key does (up to 14 days \
                 after an upgrade); choose RS256 or PS256 until then",
            ),
            WebhookError::Store(error) => error.into(),
            other => {
                tracing::error!(error = %other, "webhooks");
                ApiError::Internal
            }
        }
    }
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct EndpointView {
    id: String,
    url: String,
    /// `["*"]` or event type names.
    event_types: Vec<&'static str>,
    description: String,
    /// The JWS algorithm deliveries are signed with: `RS256`, `PS256` or `ES256`.
    alg: String,
    enabled: bool,
    disabled_reason: Option<String>,
    livemode: bool,
    /// Set for a SNAP partner's notification endpoint: it gets that partner's SNAP transfers'
    /// status changes, in SNAP's format and signature (docs/webhooks.md).
    snap_partner_id: Option<String>,
    #[serde(with = "time::serde::rfc3339")]
    created_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    updated_at: OffsetDateTime,
}

impl From<&EndpointRow> for EndpointView {
    fn from(row: &EndpointRow) -> Self {
        Self {
            id: row.id.to_string(),
            url: row.url.clone(),
            event_types: row.event_types.names(),
            description: row.description.clone(),
            alg: row.alg.clone(),
            enabled: row.enabled,
            disabled_reason: row.disabled_reason.clone(),
            livemode: row.environment == benteng_core::api_key::KeyEnvironment::Live,
            snap_partner_id: row.snap_partner_id.map(|id| id.to_string()),
            created_at: row.created_at,
            updated_at: row.updated_at,
        }
    }
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct DeliveryView {
    event_id: String,
    event_type: String,
    object_id: String,
    sequence: i64,
    /// `pending`, `delivered` or `failed`.
    state: String,
    attempts: i64,
    #[serde(with = "time::serde::rfc3339")]
    next_attempt_at: OffsetDateTime,
    last_status: Option<i64>,
    #[serde(with = "time::serde::rfc3339")]
    created_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339::option")]
    finished_at: Option<OffsetDateTime>,
}

impl From<&DeliveryRow> for DeliveryView {
    fn from(row: &DeliveryRow) -> Self {
        Self {
            event_id: row.event_id.to_string(),
            event_type: row.event_type.clone(),
            object_id: row.object_id.clone(),
            sequence: row.sequence,
            state: row.state.clone(),
            attempts: row.attempts,
            next_attempt_at: row.next_attempt_at,
            last_status: row.last_status,
            created_at: row.created_at,
            finished_at: row.finished_at,
        }
    }
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct AttemptView {
    attempt: u32,
    #[serde(with = "time::serde::rfc3339")]
    started_at: OffsetDateTime,
    status: Option<u16>,
    outcome: String,
    error: Option<String>,
    latency_ms: i64,
    /// The first 2 KiB of the receiver's answer.
    response_excerpt: String,
}

impl From<&AttemptRow> for AttemptView {
    fn from(row: &AttemptRow) -> Self {
        Self {
            attempt: row.attempt,
            started_at: row.started_at,
            status: row.status,
            outcome: row.outcome.clone(),
            error: row.error.clone(),
            latency_ms: row.latency_ms,
            response_excerpt: row.response_excerpt.clone(),
        }
    }
}

#[derive(Clone, Copy)]
struct AlgField(JwsAlg);

impl FromJsonField for AlgField {
    fn from_json_field(value: &JsonValue) -> Result<Self, FieldIssue> {
        match value {
            JsonValue::String(text) => JwsAlg::parse(text)
                .map(AlgField)
                .ok_or_else(|| FieldIssue::new("invalid_value", "RS256, PS256 or ES256")),
            _ => Err(FieldIssue::invalid_type("a string")),
        }
    }
}

/// A URL field: at most 2048 bytes, absolute, https (see `EndpointUrl`).
fn url_field(f: &mut Fields<'_>, webhooks: &Webhooks, required: bool) -> Option<EndpointUrl> {
    let text: Option<Parsed<String, { benteng_core::webhooks::MAX_URL_LEN }>> = if required {
        f.required("url")
    } else {
        f.optional("url")
    };
    match webhooks.parse_url(&text?.0) {
        Ok(url) => Some(url),
        Err(error) => {
            f.reject("url", "invalid_url", error.to_string());
            None
        }
    }
}

fn f_has(f: &Fields<'_>, name: &str) -> bool {
    f.is_present(name)
}

fn types_field(f: &mut Fields<'_>, required: bool) -> Option<EventTypes> {
    if !required && !f_has(f, "event_types") {
        return None;
    }
    let names: Option<Vec<Parsed<String, 64>>> = f.required_list("event_types", 1..=20);
    match EventTypes::from_names(names?.iter().map(|n| n.0.as_str())) {
        Ok(types) => Some(types),
        Err(error) => {
            f.reject("event_types", "invalid_value", error.to_string());
            None
        }
    }
}

pub(super) const NEW_ENDPOINT_FIELDS: [&str; 4] = ["url", "event_types", "description", "alg"];
pub(super) const ENDPOINT_CHANGE_FIELDS: [&str; 5] =
    ["url", "event_types", "description", "alg", "enabled"];
pub(super) const REPLAY_FIELDS: [&str; 1] = ["since"];

/// `RS256`, `PS256` or `ES256`.
#[derive(serde::Deserialize, utoipa::ToSchema)]
#[allow(dead_code, clippy::upper_case_acronyms)]
pub enum SigningAlg {
    RS256,
    PS256,
    ES256,
}

/// The body of `POST /v1/webhook-endpoints` as `parse_new` reads it: the description of the
/// request, never deserialized (a unit test in `docs.rs` checks its fields against the
/// parser's list).
#[derive(serde::Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
#[allow(dead_code)]
#[schema(example = json!({"url": "https://hooks.example.com/benteng",
    "event_types": ["transfer.completed", "transfer.failed"]}))]
pub struct NewEndpointRequest {
    /// Absolute `https` URL of at most 2,048 bytes whose host resolves to public addresses only.
    #[schema(max_length = 2048)]
    url: String,
    /// `["*"]` for every event, or 1 to 20 distinct event type names such as
    /// `transfer.completed`.
    #[schema(min_items = 1, max_items = 20)]
    event_types: Vec<String>,
    #[schema(max_length = 500)]
    description: Option<String>,
    /// How deliveries are signed; `RS256` when absent.
    alg: Option<SigningAlg>,
}

/// The body of `POST /v1/webhook-endpoints/{id}`: any of the fields, as `parse_change` reads
/// them.
#[derive(serde::Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
#[allow(dead_code)]
pub struct EndpointChangeRequest {
    #[schema(max_length = 2048)]
    url: Option<String>,
    #[schema(min_items = 1, max_items = 20)]
    event_types: Option<Vec<String>>,
    #[schema(max_length = 500)]
    description: Option<String>,
    alg: Option<SigningAlg>,
    enabled: Option<bool>,
}

/// The body of `POST /v1/webhook-endpoints/{id}/replay`.
#[derive(serde::Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
#[allow(dead_code)]
pub struct ReplayRequest {
    /// RFC 3339: events from this time on are queued again.
    #[schema(format = DateTime, max_length = 64)]
    since: String,
}

/// `{url, event_types, description?, alg?}`.
pub(crate) fn parse_new(body: &JsonObject, webhooks: &Webhooks) -> ApiResult<NewEndpoint> {
    let mut f = Fields::new(body, &NEW_ENDPOINT_FIELDS);
    let url = url_field(&mut f, webhooks, true);
    let event_types = types_field(&mut f, true);
    let description: Option<Parsed<String, 500>> = f.optional("description");
    let alg: Option<AlgField> = f.optional("alg");
    Ok(f.build(|| {
        Some(NewEndpoint {
            url: url?,
            event_types: event_types?,
            description: description.map(|d| d.0).unwrap_or_default(),
            alg: alg.map(|a| a.0).unwrap_or(JwsAlg::Rs256),
            snap_partner: None,
        })
    })?)
}

/// Any of `{url, event_types, description, alg, enabled}`.
pub(crate) fn parse_change(body: &JsonObject, webhooks: &Webhooks) -> ApiResult<EndpointChange> {
    let mut f = Fields::new(body, &ENDPOINT_CHANGE_FIELDS);
    let url = url_field(&mut f, webhooks, false);
    let event_types = types_field(&mut f, false);
    let description: Option<Parsed<String, 500>> = f.optional("description");
    let alg: Option<AlgField> = f.optional("alg");
    let enabled: Option<bool> = f.optional("enabled");
    Ok(f.build(|| {
        Some(EndpointChange {
            url,
            event_types,
            description: description.map(|d| d.0),
            alg: alg.map(|a| a.0),
            enabled,
        })
    })?)
}

/// The keys webhook signatures verify with (RFC 7517): public members only, each with `kid`,
/// `alg` and `use`. A key appears here 14 days before it signs and stays 14 days after it
/// stopped. Cacheable; fetch again on an unknown `kid`.
#[utoipa::path(get, path = "/v1/.well-known/jwks.json", tag = "tenant",
    responses((status = 200, body = Object, content_type = "application/jwk-set+json")))]
pub async fn jwks(State(state): State<AppState>) -> ApiResult<impl IntoResponse> {
    let set = state.webhooks.keys.jwks().await?;
    Ok((
        [
            (header::CACHE_CONTROL, "public, max-age=300"),
            (header::CONTENT_TYPE, "application/jwk-set+json"),
        ],
        Json(set),
    ))
}

/// The caller's endpoints (of its key's environment).
#[utoipa::path(get, path = "/v1/webhook-endpoints", tag = "tenant",
    security(("api_key" = ["webhooks:manage"])),
    responses((status = 200, body = DataList<EndpointView>)))]
pub async fn list(
    State(state): State<AppState>,
    Caller(caller): Caller,
) -> ApiResult<Json<DataList<EndpointView>>> {
    let rows = state
        .store
        .webhook_endpoints(caller.tenant.id, Some(caller.environment()))
        .await?;
    let views: Vec<EndpointView> = rows.iter().map(EndpointView::from).collect();
    Ok(Json(DataList { data: views }))
}

/// Adds an endpoint: `url` (https, at most 2048 bytes, resolving to public addresses only),
/// `event_types` (`["*"]` or names), `description`, `alg` (`RS256` default, `PS256` or `ES256`).
#[utoipa::path(post, path = "/v1/webhook-endpoints", tag = "tenant",
    security(("api_key" = ["webhooks:manage"])),
    request_body(content = NewEndpointRequest),
    responses((status = 201, body = EndpointView), (status = 422, body = crate::error::Problem)))]
pub async fn create(
    State(state): State<AppState>,
    Caller(caller): Caller,
    Audit(audit): Audit,
    JsonBody(body): JsonBody,
) -> ApiResult<impl IntoResponse> {
    let new = parse_new(&body, &state.webhooks)?;
    let row = state
        .webhooks
        .create_endpoint(caller.tenant.id, caller.environment(), new, &audit)
        .await?;
    Ok((
        StatusCode::CREATED,
        [(
            header::LOCATION,
            format!("/v1/webhook-endpoints/{}", row.id),
        )],
        Json(EndpointView::from(&row)),
    ))
}

async fn own(
    state: &AppState,
    caller: &benteng_auth::Principal,
    id: &str,
) -> ApiResult<EndpointRow> {
    let id: EndpointId = path_id(id)?;
    let row = state
        .store
        .webhook_endpoint(Some(caller.tenant.id), id)
        .await?;
    if row.environment != caller.environment() {
        return Err(ApiError::NotFound);
    }
    Ok(row)
}

/// One endpoint of the caller's.
#[utoipa::path(get, path = "/v1/webhook-endpoints/{id}", tag = "tenant",
    security(("api_key" = ["webhooks:manage"])), params(("id" = String, Path)),
    responses((status = 200, body = EndpointView), (status = 404, body = crate::error::Problem)))]
pub async fn show(
    State(state): State<AppState>,
    Caller(caller): Caller,
    Path(id): Path<String>,
) -> ApiResult<Json<EndpointView>> {
    Ok(Json(EndpointView::from(&own(&state, &caller, &id).await?)))
}

/// Changes an endpoint: any of `url`, `event_types`, `description`, `alg`, `enabled`.
#[utoipa::path(post, path = "/v1/webhook-endpoints/{id}", tag = "tenant",
    security(("api_key" = ["webhooks:manage"])), params(("id" = String, Path)),
    request_body(content = EndpointChangeRequest),
    responses((status = 200, body = EndpointView), (status = 404, body = crate::error::Problem),
        (status = 422, body = crate::error::Problem)))]
pub async fn update(
    State(state): State<AppState>,
    Caller(caller): Caller,
    Audit(audit): Audit,
    Path(id): Path<String>,
    JsonBody(body): JsonBody,
) -> ApiResult<Json<EndpointView>> {
    let row = own(&state, &caller, &id).await?;
    let change = parse_change(&body, &state.webhooks)?;
    let row = state
        .webhooks
        .update_endpoint(caller.tenant.id, row.id, change, &audit)
        .await?;
    Ok(Json(EndpointView::from(&row)))
}

/// Deletes an endpoint: it receives nothing more; its pending deliveries fail.
#[utoipa::path(post, path = "/v1/webhook-endpoints/{id}/delete", tag = "tenant",
    security(("api_key" = ["webhooks:manage"])), params(("id" = String, Path)),
    responses((status = 204), (status = 404, body = crate::error::Problem)))]
pub async fn delete(
    State(state): State<AppState>,
    Caller(caller): Caller,
    Audit(audit): Audit,
    Path(id): Path<String>,
) -> ApiResult<StatusCode> {
    let row = own(&state, &caller, &id).await?;
    state
        .webhooks
        .delete_endpoint(caller.tenant.id, row.id, &audit)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// A test event queued for delivery.
#[derive(Serialize, utoipa::ToSchema)]
pub struct TestQueuedView {
    /// The event's id: its delivery is `…/deliveries/{event_id}`.
    #[schema(format = Uuid)]
    pub(crate) event_id: String,
}

/// What a replay queued.
#[derive(Serialize, utoipa::ToSchema)]
pub struct ReplayQueuedView {
    /// How many events were queued for the endpoint.
    queued: u64,
}

/// Queues a signed `webhook.test` event for this endpoint only.
#[utoipa::path(post, path = "/v1/webhook-endpoints/{id}/test", tag = "tenant",
    security(("api_key" = ["webhooks:manage"])), params(("id" = String, Path)),
    responses((status = 202, body = TestQueuedView), (status = 404, body = crate::error::Problem)))]
pub async fn test(
    State(state): State<AppState>,
    Caller(caller): Caller,
    Audit(audit): Audit,
    Path(id): Path<String>,
) -> ApiResult<(StatusCode, Json<TestQueuedView>)> {
    let row = own(&state, &caller, &id).await?;
    let event = state
        .webhooks
        .send_test(caller.tenant.id, row.id, &audit)
        .await?;
    Ok((
        StatusCode::ACCEPTED,
        Json(TestQueuedView {
            event_id: event.to_string(),
        }),
    ))
}

/// The endpoint's latest deliveries (at most 100), newest first.
#[utoipa::path(get, path = "/v1/webhook-endpoints/{id}/deliveries", tag = "tenant",
    security(("api_key" = ["webhooks:manage"])), params(("id" = String, Path)),
    responses((status = 200, body = DataList<DeliveryView>), (status = 404, body = crate::error::Problem)))]
pub async fn deliveries(
    State(state): State<AppState>,
    Caller(caller): Caller,
    Path(id): Path<String>,
) -> ApiResult<Json<DataList<DeliveryView>>> {
    let row = own(&state, &caller, &id).await?;
    let rows = state
        .store
        .webhook_deliveries(caller.tenant.id, row.id, 100)
        .await?;
    let views: Vec<DeliveryView> = rows.iter().map(DeliveryView::from).collect();
    Ok(Json(DataList { data: views }))
}

/// One delivery's attempts: status, latency, the first 2 KiB of each answer.
#[utoipa::path(get, path = "/v1/webhook-endpoints/{id}/deliveries/{event_id}", tag = "tenant",
    security(("api_key" = ["webhooks:manage"])),
    params(("id" = String, Path), ("event_id" = String, Path)),
    responses((status = 200, body = DataList<AttemptView>), (status = 404, body = crate::error::Problem)))]
pub async fn attempts(
    State(state): State<AppState>,
    Caller(caller): Caller,
    Path((id, event_id)): Path<(String, String)>,
) -> ApiResult<Json<DataList<AttemptView>>> {
    let row = own(&state, &caller, &id).await?;
    let event: EventId = path_id(&event_id)?;
    let rows = state
        .store
        .webhook_attempts(caller.tenant.id, row.id, event)
        .await?;
    let views: Vec<AttemptView> = rows.iter().map(AttemptView::from).collect();
    Ok(Json(DataList { data: views }))
}

/// Sends one event to the endpoint again (same `event_id`), from a first attempt.
#[utoipa::path(post, path = "/v1/webhook-endpoints/{id}/deliveries/{event_id}/resend", tag = "tenant",
    security(("api_key" = ["webhooks:manage"])),
    params(("id" = String, Path), ("event_id" = String, Path)),
    responses((status = 202), (status = 404, body = crate::error::Problem)))]
pub async fn resend(
    State(state): State<AppState>,
    Caller(caller): Caller,
    Audit(audit): Audit,
    Path((id, event_id)): Path<(String, String)>,
) -> ApiResult<StatusCode> {
    let row = own(&state, &caller, &id).await?;
    let event: EventId = path_id(&event_id)?;
    state
        .webhooks
        .resend(caller.tenant.id, row.id, event, &audit)
        .await?;
    Ok(StatusCode::ACCEPTED)
}

/// Queues every event since `since` (RFC 3339, at most 30 days back) that the endpoint
/// subscribes to and did not get: from before it existed, or whose delivery failed.
#[utoipa::path(post, path = "/v1/webhook-endpoints/{id}/replay", tag = "tenant",
    security(("api_key" = ["webhooks:manage"])), params(("id" = String, Path)),
    request_body(content = ReplayRequest),
    responses((status = 202, body = ReplayQueuedView), (status = 404, body = crate::error::Problem),
        (status = 422, body = crate::error::Problem)))]
pub async fn replay(
    State(state): State<AppState>,
    Caller(caller): Caller,
    Audit(audit): Audit,
    Path(id): Path<String>,
    JsonBody(body): JsonBody,
) -> ApiResult<(StatusCode, Json<ReplayQueuedView>)> {
    let row = own(&state, &caller, &id).await?;
    let mut f = Fields::new(&body, &REPLAY_FIELDS);
    let since: Option<Parsed<String, 64>> = f.required("since");
    let since = since.and_then(|text| {
        match OffsetDateTime::parse(&text.0, &time::format_description::well_known::Rfc3339) {
            Ok(at) => Some(at),
            Err(_) => {
                f.reject("since", "invalid_format", "an RFC 3339 time");
                None
            }
        }
    });
    let since = f.build(|| since)?;
    let queued = state
        .webhooks
        .replay(caller.tenant.id, row.id, since, &audit)
        .await?;
    Ok((StatusCode::ACCEPTED, Json(ReplayQueuedView { queued })))
}
