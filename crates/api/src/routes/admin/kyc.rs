//! KYC review on the operator API: upgrade requests, a tenant's evidence (metadata, and each
//! document on its own, audited as a read of Tier 1 data), verdicts on items, and a level
//! change proposed as a four-eyes request (approved through `/admin/v1/approvals`).

use axum::Json;
use axum::extract::{Path, RawQuery, State};
use axum::http::{StatusCode, header};
use axum::response::IntoResponse;
use axum::routing::{get, post};
use benteng_core::ids::TenantId;
use benteng_core::kyc::{DocumentType, KycItem};
use benteng_core::roles::Permission;
use benteng_core::strict_json::{FieldIssue, Fields, FromJsonField, JsonValue, enum_field};
use benteng_operations::ItemStatus;
use benteng_store::EvidenceRow;
use serde::Serialize;
use time::OffsetDateTime;

use super::{PendingActionView, path_id};
use crate::error::{ApiError, ApiResult};
use crate::json::{Body, RequestBody};
use crate::middleware::Staff;
use crate::routes::kyc::{KycView, UpgradeRequestView};
use crate::routes::{Needs, Routes};
use crate::state::AppState;

pub(super) fn routes(routes: Routes) -> Routes {
    let review = Permission::KycReview.into();
    routes
        .staff(
            "/admin/v1/kyc/upgrade-requests",
            Needs::on_get(review),
            get(upgrade_requests),
        )
        .staff(
            "/admin/v1/kyc/upgrade-requests/{id}/approve",
            Needs::on_post(review),
            post(propose_upgrade),
        )
        .staff(
            "/admin/v1/kyc/upgrade-requests/{id}/reject",
            Needs::on_post(review),
            post(reject_upgrade),
        )
        .staff(
            "/admin/v1/tenants/{id}/kyc",
            Needs::on_get(review),
            get(tenant_kyc),
        )
        .staff(
            "/admin/v1/tenants/{id}/kyc/evidence/{evidence}",
            Needs::on_get(review),
            get(document),
        )
        .staff(
            "/admin/v1/tenants/{id}/kyc/items/{item}",
            Needs::on_post(review),
            post(review_item),
        )
}

/// A submission's metadata as reviewers see it, with the screening outcome of a
/// beneficial-owner declaration (`none`, `clear`, `hit`).
#[derive(Serialize, utoipa::ToSchema)]
pub struct ReviewEvidenceView {
    id: String,
    item: &'static str,
    content_type: String,
    size_bytes: i64,
    sha256: String,
    screening: String,
    uploaded_by: String,
    #[serde(with = "time::serde::rfc3339")]
    created_at: OffsetDateTime,
}

impl From<&EvidenceRow> for ReviewEvidenceView {
    fn from(row: &EvidenceRow) -> Self {
        Self {
            id: row.id.clone(),
            item: row.item.as_str(),
            content_type: row.content_type.clone(),
            size_bytes: row.size_bytes,
            sha256: row.sha256.clone(),
            screening: row.screening.clone(),
            uploaded_by: row.uploaded_by.clone(),
            created_at: row.created_at,
        }
    }
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct TenantKycView {
    tenant: String,
    #[serde(flatten)]
    standing: KycView,
    evidence: Vec<ReviewEvidenceView>,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct ReviewUpgradeView {
    tenant: String,
    #[serde(flatten)]
    request: UpgradeRequestView,
}

/// Upgrade requests (`?status=pending`, the default; `approved`, `rejected`), oldest first.
#[utoipa::path(get, path = "/admin/v1/kyc/upgrade-requests", tag = "operator",
    security(("staff_session" = ["kyc:review"])),
    params(("status" = Option<String>, Query)),
    responses((status = 200, body = Vec<ReviewUpgradeView>)))]
pub async fn upgrade_requests(
    State(state): State<AppState>,
    RawQuery(query): RawQuery,
) -> ApiResult<Json<Vec<ReviewUpgradeView>>> {
    let status = match query.as_deref() {
        None | Some("") | Some("status=pending") => "pending",
        Some("status=approved") => "approved",
        Some("status=rejected") => "rejected",
        Some(_) => {
            return Err(ApiError::invalid(
                "status",
                "invalid_value",
                "must be pending, approved or rejected",
            ));
        }
    };
    let rows = state.operations.kyc_upgrade_requests(status).await?;
    Ok(Json(
        rows.iter()
            .map(|row| ReviewUpgradeView {
                tenant: row.tenant.to_string(),
                request: UpgradeRequestView::from(row),
            })
            .collect(),
    ))
}

/// Proposes the level an upgrade request asks for: a four-eyes request (202) that another
/// reviewer approves at `/admin/v1/approvals/{id}/approve`. Refused (422) unless every item
/// the level requires is verified.
#[utoipa::path(post, path = "/admin/v1/kyc/upgrade-requests/{id}/approve", tag = "operator",
    security(("staff_session" = ["kyc:review"])),
    responses((status = 202, body = PendingActionView), (status = 409, body = crate::error::Problem),
        (status = 422, body = crate::error::Problem)))]
pub async fn propose_upgrade(
    State(state): State<AppState>,
    Staff(actor, context): Staff,
    Path(id): Path<String>,
) -> ApiResult<impl IntoResponse> {
    let id: uuid::Uuid = path_id(&id)?;
    let pending = state
        .operations
        .propose_kyc_upgrade(&actor, id, &context)
        .await?;
    Ok((
        StatusCode::ACCEPTED,
        Json(PendingActionView::from(&pending)),
    ))
}

/// Turns an upgrade request down; the tenant may ask again.
#[utoipa::path(post, path = "/admin/v1/kyc/upgrade-requests/{id}/reject", tag = "operator",
    security(("staff_session" = ["kyc:review"])),
    responses((status = 200, body = ReviewUpgradeView), (status = 409, body = crate::error::Problem)))]
pub async fn reject_upgrade(
    State(state): State<AppState>,
    Staff(actor, context): Staff,
    Path(id): Path<String>,
) -> ApiResult<Json<ReviewUpgradeView>> {
    let id: uuid::Uuid = path_id(&id)?;
    let row = state
        .operations
        .reject_kyc_upgrade(&actor, id, &context)
        .await?;
    Ok(Json(ReviewUpgradeView {
        tenant: row.tenant.to_string(),
        request: UpgradeRequestView::from(&row),
    }))
}

/// A tenant's standing and its evidence (metadata only).
#[utoipa::path(get, path = "/admin/v1/tenants/{id}/kyc", tag = "operator",
    security(("staff_session" = ["kyc:review"])),
    responses((status = 200, body = TenantKycView), (status = 404, body = crate::error::Problem)))]
pub async fn tenant_kyc(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> ApiResult<Json<TenantKycView>> {
    let tenant: TenantId = path_id(&id)?;
    let overview = state.operations.kyc_overview(tenant).await?;
    let evidence = state.operations.kyc_evidence(tenant).await?;
    Ok(Json(TenantKycView {
        tenant: tenant.to_string(),
        standing: KycView::from(&overview),
        evidence: evidence.iter().map(ReviewEvidenceView::from).collect(),
    }))
}

/// One document, decrypted, with its content type; the read is audited
/// (`personal_data.read`).
#[utoipa::path(get, path = "/admin/v1/tenants/{id}/kyc/evidence/{evidence}", tag = "operator",
    security(("staff_session" = ["kyc:review"])),
    responses((status = 200, description = "the document"), (status = 404, body = crate::error::Problem)))]
pub async fn document(
    State(state): State<AppState>,
    Staff(actor, context): Staff,
    Path((id, evidence)): Path<(String, String)>,
) -> ApiResult<impl IntoResponse> {
    let tenant: TenantId = path_id(&id)?;
    let evidence: uuid::Uuid = path_id(&evidence)?;
    let (row, bytes) = state
        .operations
        .read_kyc_document(&actor, tenant, evidence, &context)
        .await?;
    let content_type =
        DocumentType::from_mime(&row.content_type).map_or("application/json", DocumentType::mime);
    Ok((
        [
            (header::CONTENT_TYPE, content_type),
            (header::CONTENT_DISPOSITION, "attachment"),
            (header::CACHE_CONTROL, "no-store"),
        ],
        bytes,
    ))
}

/// A reviewer's verdict on a KYC item.
#[derive(Clone, Copy)]
pub struct Verdict(ItemStatus);

const VERDICTS: [(&str, Verdict); 2] = [
    ("verified", Verdict(ItemStatus::Verified)),
    ("rejected", Verdict(ItemStatus::Rejected)),
];

impl FromJsonField for Verdict {
    fn from_json_field(value: &JsonValue) -> Result<Self, FieldIssue> {
        enum_field(value, &VERDICTS)
    }
}

impl utoipa::PartialSchema for Verdict {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        crate::json::string_enum_schema(VERDICTS.iter().map(|(name, _)| *name))
    }
}

impl utoipa::ToSchema for Verdict {
    fn name() -> std::borrow::Cow<'static, str> {
        "KycVerdict".into()
    }
}

/// The body of `POST /admin/v1/tenants/{id}/kyc/items/{item}`.
#[derive(utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"status": "verified"}))]
pub struct ReviewItemRequest {
    status: Verdict,
}

impl RequestBody for ReviewItemRequest {
    const FIELDS: &'static [&'static str] = &["status"];

    fn read(f: &mut Fields<'_>) -> Option<Self> {
        let status = f.required("status");
        Some(Self { status: status? })
    }
}

/// Verifies or rejects one item. Beneficial owners are
/// verified only from a screened declaration without a possible match (409 otherwise).
#[utoipa::path(post, path = "/admin/v1/tenants/{id}/kyc/items/{item}", tag = "operator",
    security(("staff_session" = ["kyc:review"])),
    request_body(content = ReviewItemRequest),
    responses((status = 204), (status = 404, body = crate::error::Problem),
        (status = 409, body = crate::error::Problem)))]
pub async fn review_item(
    State(state): State<AppState>,
    Staff(actor, context): Staff,
    Path((id, item)): Path<(String, String)>,
    Body(body): Body<ReviewItemRequest>,
) -> ApiResult<StatusCode> {
    let tenant: TenantId = path_id(&id)?;
    let item: KycItem = path_id(&item)?;
    state
        .operations
        .review_kyc_item(&actor, tenant, item, body.status.0, &context)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}
