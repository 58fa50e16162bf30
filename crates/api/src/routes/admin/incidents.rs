//! Security incidents on the operator API (`incidents:respond`, a security officer's): the
//! list, one incident with its linked detections, acknowledging it, and containing it by
//! blocking a client address or network until an expiry. A block is stored with its audit
//! event and announced to every instance over pub/sub (each instance also re-reads the blocks
//! every few seconds), so all of them refuse the address at the front of their stack.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use benteng_core::ids::IncidentId;
use benteng_core::network::Network;
use benteng_core::roles::Permission;
use benteng_core::strict_json::Fields;
use benteng_core::strict_json::{FieldIssue, FromJsonField, JsonValue, codes};
use benteng_core::text::BoundedText;
use benteng_store::{BlockRow, IncidentRow, LinkedDetection, StoreError};
use serde::Serialize;
use time::OffsetDateTime;

use super::{Parsed, path_id};
use crate::error::{ApiError, ApiResult};
use crate::json::{Body, RequestBody};
use crate::middleware::Staff;
use crate::routes::{Needs, Routes};
use crate::state::AppState;

/// The most incidents one listing returns.
const LIST_LIMIT: u32 = 200;
/// The longest a block may run: 30 days (a longer one is a firewall rule, not containment).
const MAX_BLOCK_SECS: u32 = 30 * 24 * 3600;

pub(super) fn routes(routes: Routes) -> Routes {
    routes
        .staff(
            "/admin/v1/incidents",
            Needs::on_get(Permission::IncidentsRespond.into()),
            get(list),
        )
        .staff(
            "/admin/v1/incidents/{id}",
            Needs::on_get(Permission::IncidentsRespond.into()),
            get(show),
        )
        .staff(
            "/admin/v1/incidents/{id}/acknowledge",
            Needs::on_post(Permission::IncidentsRespond.into()),
            post(acknowledge),
        )
        .staff(
            "/admin/v1/blocks",
            Needs::on_post(Permission::IncidentsRespond.into()),
            post(block),
        )
}

/// An incident with its clocks.
#[derive(Serialize, utoipa::ToSchema)]
pub struct IncidentView {
    pub id: String,
    pub title: String,
    pub severity: String,
    pub state: String,
    pub client_address: Option<String>,
    #[serde(with = "time::serde::rfc3339")]
    #[schema(value_type = String)]
    pub opened_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    #[schema(value_type = String)]
    pub acknowledge_by: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    #[schema(value_type = String)]
    pub contain_by: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339::option")]
    #[schema(value_type = Option<String>)]
    pub acknowledged_at: Option<OffsetDateTime>,
    pub acknowledged_by: Option<String>,
    #[serde(with = "time::serde::rfc3339::option")]
    #[schema(value_type = Option<String>)]
    pub contained_at: Option<OffsetDateTime>,
}

impl From<&IncidentRow> for IncidentView {
    fn from(row: &IncidentRow) -> Self {
        Self {
            id: row.id.to_string(),
            title: row.title.clone(),
            severity: row.severity.as_str().to_owned(),
            state: row.state.as_str().to_owned(),
            client_address: row.client_address.clone(),
            opened_at: row.opened_at,
            acknowledge_by: row.acknowledge_by,
            contain_by: row.contain_by,
            acknowledged_at: row.acknowledged_at,
            acknowledged_by: row.acknowledged_by.clone(),
            contained_at: row.contained_at,
        }
    }
}

/// One firing of a detection.
#[derive(Serialize, utoipa::ToSchema)]
pub struct DetectionView {
    pub detection: String,
    pub severity: String,
    pub count: i64,
    pub window_secs: i64,
    #[serde(with = "time::serde::rfc3339")]
    #[schema(value_type = String)]
    pub fired_at: OffsetDateTime,
}

impl From<&LinkedDetection> for DetectionView {
    fn from(row: &LinkedDetection) -> Self {
        Self {
            detection: row.detection.clone(),
            severity: row.severity.as_str().to_owned(),
            count: row.count,
            window_secs: row.window_secs,
            fired_at: row.fired_at,
        }
    }
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct IncidentDetail {
    #[serde(flatten)]
    pub incident: IncidentView,
    pub detections: Vec<DetectionView>,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct BlockView {
    pub id: String,
    pub network: String,
    pub reason: String,
    pub incident: Option<String>,
    pub created_by: String,
    #[serde(with = "time::serde::rfc3339")]
    #[schema(value_type = String)]
    pub expires_at: OffsetDateTime,
}

impl From<&BlockRow> for BlockView {
    fn from(row: &BlockRow) -> Self {
        Self {
            id: row.id.to_string(),
            network: row.network.clone(),
            reason: row.reason.clone(),
            incident: row.incident.map(|i| i.to_string()),
            created_by: row.created_by.clone(),
            expires_at: row.expires_at,
        }
    }
}

/// The newest incidents first.
#[utoipa::path(get, path = "/admin/v1/incidents", tag = "operator",
    security(("staff_session" = ["incidents:respond"])),
    responses((status = 200, body = Vec<IncidentView>)))]
pub async fn list(
    State(state): State<AppState>,
    _staff: Staff,
) -> ApiResult<Json<Vec<IncidentView>>> {
    let rows = state.store.incidents(LIST_LIMIT).await?;
    Ok(Json(rows.iter().map(IncidentView::from).collect()))
}

/// An incident and its linked detections.
#[utoipa::path(get, path = "/admin/v1/incidents/{id}", tag = "operator",
    security(("staff_session" = ["incidents:respond"])),
    responses((status = 200, body = IncidentDetail), (status = 404, body = crate::error::Problem)))]
pub async fn show(
    State(state): State<AppState>,
    _staff: Staff,
    Path(id): Path<String>,
) -> ApiResult<Json<IncidentDetail>> {
    let id: IncidentId = path_id(&id)?;
    let incident = state.store.incident(id).await?;
    let detections = state.store.incident_detections(id).await?;
    Ok(Json(IncidentDetail {
        incident: IncidentView::from(&incident),
        detections: detections.iter().map(DetectionView::from).collect(),
    }))
}

/// Acknowledges an open incident (stops its acknowledge clock); 409 when it is not open.
#[utoipa::path(post, path = "/admin/v1/incidents/{id}/acknowledge", tag = "operator",
    security(("staff_session" = ["incidents:respond"])),
    responses((status = 200, body = IncidentView), (status = 404, body = crate::error::Problem),
        (status = 409, body = crate::error::Problem)))]
pub async fn acknowledge(
    State(state): State<AppState>,
    Staff(_, context): Staff,
    Path(id): Path<String>,
) -> ApiResult<Json<IncidentView>> {
    let id: IncidentId = path_id(&id)?;
    match state
        .store
        .acknowledge_incident(id, state.payments.now(), &context)
        .await
    {
        Ok(row) => Ok(Json(IncidentView::from(&row))),
        Err(StoreError::Conflict) => Err(ApiError::Refused {
            status: StatusCode::CONFLICT,
            slug: "conflict",
            title: "Conflict",
            detail: "the incident is not open".to_owned(),
        }),
        Err(other) => Err(other.into()),
    }
}

/// How long a block runs, in whole seconds: 60 to 30 days.
struct BlockSecs(u32);

impl FromJsonField for BlockSecs {
    fn from_json_field(value: &JsonValue) -> Result<Self, FieldIssue> {
        let secs = u32::from_json_field(value)?;
        if (60..=MAX_BLOCK_SECS).contains(&secs) {
            Ok(Self(secs))
        } else {
            Err(FieldIssue::new(
                codes::OUT_OF_RANGE,
                format!("must be 60 to {MAX_BLOCK_SECS} seconds"),
            ))
        }
    }
}

/// What a block needs: the body of `POST /admin/v1/blocks` (the console's form reads the
/// same).
#[derive(utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"network": "198.51.100.0/24", "expires_in_secs": 3600,
    "reason": "Credential stuffing from this range (incident INC-42)."}))]
pub struct BlockRequest {
    /// An IPv4 or IPv6 address or CIDR.
    #[schema(value_type = String, max_length = 64, example = "198.51.100.0/24")]
    pub network: Network,
    /// How long the block lasts: 60 seconds to 30 days.
    #[schema(minimum = 60, maximum = 2592000)]
    pub expires_in_secs: u32,
    #[schema(min_length = 1, max_length = 2000)]
    pub reason: String,
    /// The incident the block contains, if any.
    #[schema(value_type = Option<String>, format = Uuid)]
    pub incident: Option<IncidentId>,
}

impl RequestBody for BlockRequest {
    const FIELDS: &'static [&'static str] = &["network", "expires_in_secs", "reason", "incident"];

    fn read(f: &mut Fields<'_>) -> Option<Self> {
        let network: Option<Parsed<Network, 64>> = f.required("network");
        let secs: Option<BlockSecs> = f.required("expires_in_secs");
        let reason: Option<BoundedText<2000>> = f.required("reason");
        let incident: Option<Parsed<IncidentId, 64>> = f.optional("incident");
        Some(Self {
            network: network?.0,
            expires_in_secs: secs?.0,
            reason: reason?.as_str().to_owned(),
            incident: incident.map(|i| i.0),
        })
    }
}

/// Blocks a network (stored and audited, the incident contained when one is named) and
/// announces it to every instance. Refused when the block would cover the caller's own
/// address (nobody locks themselves out, and nobody inside a block acts on it).
pub(crate) async fn block_network(
    state: &AppState,
    staff: &Staff,
    request: &BlockRequest,
) -> ApiResult<BlockRow> {
    let Staff(_, context) = staff;
    let own = context
        .ip
        .as_deref()
        .and_then(|ip| ip.parse::<std::net::IpAddr>().ok());
    if own.is_some_and(|ip| request.network.contains(ip)) {
        return Err(ApiError::Refused {
            status: StatusCode::UNPROCESSABLE_ENTITY,
            slug: "own-address",
            title: "The block covers your own address",
            detail: "a block may not cover the address it is requested from".to_owned(),
        });
    }
    let now = state.payments.now();
    let expires_at = now + time::Duration::seconds(i64::from(request.expires_in_secs));
    let row = state
        .store
        .block_network(
            &request.network.to_string(),
            &request.reason,
            request.incident,
            now,
            expires_at,
            context,
        )
        .await?;
    state.incidents.reload_blocks(&state.store, now).await;
    if let Err(error) = state
        .shared
        .publish(
            crate::incidents::BLOCKS_CHANNEL,
            row.id.to_string().as_bytes(),
        )
        .await
    {
        // Other instances still pick it up at their next poll.
        tracing::warn!(%error, "could not announce a block");
    }
    Ok(row)
}

/// Blocks a client address or network on every instance until it expires.
#[utoipa::path(post, path = "/admin/v1/blocks", tag = "operator",
    security(("staff_session" = ["incidents:respond"])),
    request_body(content = BlockRequest),
    responses((status = 201, body = BlockView), (status = 404, body = crate::error::Problem),
        (status = 422, body = crate::error::Problem)))]
pub async fn block(
    State(state): State<AppState>,
    staff: Staff,
    Body(request): Body<BlockRequest>,
) -> ApiResult<Response> {
    let row = block_network(&state, &staff, &request).await?;
    Ok((StatusCode::CREATED, Json(BlockView::from(&row))).into_response())
}
