//! Transfers held for review, decided by compliance staff: the queue with each transfer's
//! monitoring explanation, and the decision (release or block, with a reason), applied through
//! the payments layer as one move, audited as the person who decided.

use axum::Json;
use axum::extract::{Path, State};
use axum::routing::{get, post};
use benteng_core::ids::TransferId;
use benteng_core::payments::transfer::TransferStatus;
use benteng_core::roles::Permission;
use benteng_core::strict_json::Fields;
use benteng_payments::reviews::{ReviewDecision, ReviewReason};
use benteng_store::{StoreError, TransferRecord};
use serde::Serialize;
use time::OffsetDateTime;

use super::{Parsed, path_id};
use crate::error::ApiResult;
use crate::json::{Body, RequestBody};
use crate::middleware::Staff;
use crate::routes::{Needs, Routes};
use crate::state::AppState;

/// The most held transfers one listing returns (oldest first).
const QUEUE_LIMIT: u32 = 200;

pub(super) fn routes(routes: Routes) -> Routes {
    routes
        .staff(
            "/admin/v1/reviews",
            Needs::on_get(Permission::PersonalDataRead.into()),
            get(queue),
        )
        .staff(
            "/admin/v1/transfers/{id}/review",
            Needs::on_post(Permission::ReviewsDecide.into()),
            post(decide),
        )
}

/// A held transfer as compliance staff see it: with the decision's explanation.
#[derive(Serialize, utoipa::ToSchema)]
pub struct HeldTransferView {
    id: String,
    tenant_id: String,
    status: &'static str,
    source: String,
    target: String,
    risk_score: u8,
    #[serde(with = "time::serde::rfc3339")]
    created_at: OffsetDateTime,
    /// Every monitoring rule evaluated for the transfer, hit or not, with its inputs.
    #[schema(value_type = Object)]
    monitoring: serde_json::Value,
}

async fn view(state: &AppState, transfer: &TransferRecord) -> ApiResult<HeldTransferView> {
    let monitoring = match state.store.transfer_monitoring(transfer.id).await {
        Ok(row) => serde_json::from_str(&row.rules).unwrap_or_default(),
        Err(StoreError::NotFound) => serde_json::Value::Null,
        Err(error) => return Err(error.into()),
    };
    Ok(HeldTransferView {
        id: transfer.id.to_string(),
        tenant_id: transfer.tenant_id.to_string(),
        status: transfer.status.as_str(),
        source: transfer.source.to_string(),
        target: transfer.target.to_string(),
        risk_score: transfer.risk_score,
        created_at: transfer.created_at,
        monitoring,
    })
}

/// Transfers held for review, oldest first (at most 200).
#[utoipa::path(get, path = "/admin/v1/reviews", tag = "operator",
    security(("staff_session" = ["personal_data:read"])),
    responses((status = 200, body = Vec<HeldTransferView>)))]
pub async fn queue(
    State(state): State<AppState>,
    _staff: Staff,
) -> ApiResult<Json<Vec<HeldTransferView>>> {
    let held = state
        .store
        .transfers_waiting(
            TransferStatus::PendingReview,
            state.payments.now(),
            QUEUE_LIMIT,
        )
        .await?;
    let mut views = Vec::with_capacity(held.len());
    for transfer in &held {
        views.push(view(&state, transfer).await?);
    }
    Ok(Json(views))
}

/// The body of `POST /admin/v1/transfers/{id}/review`.
#[derive(utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"decision": "release", "reason": "Name match is a different person (birth year differs)."}))]
pub struct ReviewRequest {
    #[schema(schema_with = super::decision_schema)]
    decision: Parsed<ReviewDecisionField, 16>,
    /// Why; kept in the audit trail for staff, never shown to the tenant.
    #[schema(value_type = String, min_length = 1, max_length = 2000)]
    reason: ReviewReason,
}

impl RequestBody for ReviewRequest {
    const FIELDS: &'static [&'static str] = &["decision", "reason"];

    fn read(f: &mut Fields<'_>) -> Option<Self> {
        let decision = f.required("decision");
        let reason = f.required("reason");
        Some(Self {
            decision: decision?,
            reason: reason?,
        })
    }
}

/// Decides a held transfer: released, it goes on to the rail; blocked, its reservation is
/// voided. 409 `transfer-not-held` when it is not held (decided already, by someone else too).
/// The tenant sees only the new status.
#[utoipa::path(post, path = "/admin/v1/transfers/{id}/review", tag = "operator",
    security(("staff_session" = ["reviews:decide"])),
    request_body(content = ReviewRequest),
    responses((status = 200, body = HeldTransferView), (status = 404, body = crate::error::Problem),
        (status = 409, body = crate::error::Problem), (status = 422, body = crate::error::Problem)))]
pub async fn decide(
    State(state): State<AppState>,
    Staff(_, context): Staff,
    Path(id): Path<String>,
    Body(body): Body<ReviewRequest>,
) -> ApiResult<Json<HeldTransferView>> {
    let id: TransferId = path_id(&id)?;
    let transfer = state
        .payments
        .review(id, body.decision.0.0, &body.reason, &context)
        .await?;
    Ok(Json(view(&state, &transfer).await?))
}

/// `release` or `block`, parsed for a JSON field.
struct ReviewDecisionField(ReviewDecision);

impl std::str::FromStr for ReviewDecisionField {
    type Err = &'static str;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        s.parse()
            .map(ReviewDecisionField)
            .map_err(|_| "must be release or block")
    }
}
