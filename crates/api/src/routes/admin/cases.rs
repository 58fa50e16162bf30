//! Compliance cases on the operator API: the inbox, a case with everything needed to decide
//! it (transfers, screening matches, monitoring rules, the log, proposals), "take the next
//! case", and four-eyes decisions on held transfers (proposed with `reviews:decide`, approved
//! or rejected by someone else with `reviews:approve`). The console (`routes/console`) reads
//! and acts through the same functions.

use axum::Json;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use benteng_core::cases::{CaseOutcome, CaseStatus, InboxSort, ReviewDecision};
use benteng_core::documents::{DocumentRefusal, DocumentType, FileName};
use benteng_core::ids::{CaseId, PendingActionId, PersonId, TransferId};
use benteng_core::roles::Permission;
use benteng_core::strict_json::Fields;
use benteng_payments::case_attachments::NewAttachment;
use benteng_payments::cases::CaseComment;
use benteng_payments::reviews::ReviewReason;
use benteng_store::{CaseAttachmentRow, CaseRow, InboxQuery, StoreError};
use serde::Serialize;
use time::OffsetDateTime;

use super::{Parsed, path_id};
use crate::error::{ApiError, ApiResult};
use crate::json::{Body, RequestBody};
use crate::middleware::Staff;
use crate::routes::paging::QueryParams;
use crate::routes::{Needs, Routes};
use crate::state::AppState;

/// The most cases one inbox listing returns.
pub(crate) const INBOX_LIMIT: u32 = 200;

pub(super) fn routes(routes: Routes) -> Routes {
    routes
        .staff(
            "/admin/v1/cases",
            Needs::on_get(Permission::PersonalDataRead.into()),
            get(list),
        )
        .staff(
            "/admin/v1/cases/next",
            Needs::on_post(Permission::ReviewsDecide.into()),
            post(take_next),
        )
        .staff(
            "/admin/v1/cases/{id}",
            Needs::on_get(Permission::PersonalDataRead.into()),
            get(show),
        )
        .staff(
            "/admin/v1/cases/{id}/proposals",
            Needs::on_post(Permission::ReviewsDecide.into()),
            post(propose),
        )
        .staff(
            "/admin/v1/cases/{id}/attachments",
            Needs::on_post(Permission::ReviewsDecide.into()),
            post(add_attachment),
        )
        .staff(
            "/admin/v1/cases/{id}/attachments/{attachment}",
            Needs::on_get(Permission::PersonalDataRead.into()),
            get(attachment),
        )
        .staff(
            "/admin/v1/cases/{id}/close",
            Needs::on_post(Permission::ReviewsDecide.into()),
            post(close),
        )
        .staff(
            "/admin/v1/cases/{id}/proposals/{proposal}/approve",
            Needs::on_post(Permission::ReviewsApprove.into()),
            post(approve),
        )
        .staff(
            "/admin/v1/cases/{id}/proposals/{proposal}/reject",
            Needs::on_post(Permission::ReviewsApprove.into()),
            post(reject),
        )
}

/// A case in the inbox.
#[derive(Serialize, utoipa::ToSchema, Clone)]
pub struct CaseView {
    pub(crate) id: String,
    pub(crate) subject: &'static str,
    pub(crate) party_kind: String,
    pub(crate) party_id: String,
    pub(crate) tenant_id: String,
    pub(crate) inbox: String,
    pub(crate) status: &'static str,
    pub(crate) outcome: Option<&'static str>,
    pub(crate) assignee: Option<String>,
    /// The highest risk score among the case's matters.
    pub(crate) priority: u8,
    #[serde(with = "time::serde::rfc3339")]
    pub(crate) sla_due_at: OffsetDateTime,
    /// Open past its SLA.
    pub(crate) overdue: bool,
    #[serde(with = "time::serde::rfc3339")]
    pub(crate) opened_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339::option")]
    pub(crate) closed_at: Option<OffsetDateTime>,
}

impl CaseView {
    pub(crate) fn of(case: &CaseRow, now: OffsetDateTime) -> Self {
        Self {
            id: case.id.to_string(),
            subject: case.subject.as_str(),
            party_kind: case.party_kind.clone(),
            party_id: case.party_id.clone(),
            tenant_id: case.tenant_id.to_string(),
            inbox: case.inbox.clone(),
            status: case.status.as_str(),
            outcome: case.outcome.map(|o| o.as_str()),
            assignee: case.assignee.map(|a| a.to_string()),
            priority: case.priority,
            sla_due_at: case.sla_due_at,
            overdue: case.status != CaseStatus::Closed && case.sla_due_at <= now,
            opened_at: case.opened_at,
            closed_at: case.closed_at,
        }
    }
}

/// A transfer of a case, with why it was held.
#[derive(Serialize, utoipa::ToSchema)]
pub struct CaseTransferView {
    pub(crate) id: String,
    pub(crate) status: &'static str,
    pub(crate) source: String,
    pub(crate) target: String,
    /// Source currency → target currency, and the recipient's country.
    pub(crate) corridor: String,
    pub(crate) risk_score: u8,
    pub(crate) recipient_name: String,
    pub(crate) recipient_country: String,
    #[serde(with = "time::serde::rfc3339")]
    pub(crate) created_at: OffsetDateTime,
    /// Each party's screening: score, verdict and every match with its list entry.
    #[schema(value_type = Vec<Object>)]
    pub(crate) screenings: Vec<serde_json::Value>,
    /// Every monitoring rule evaluated, hit or not, with its inputs.
    #[schema(value_type = Object)]
    pub(crate) monitoring: serde_json::Value,
}

/// One entry of a case's log.
#[derive(Serialize, utoipa::ToSchema)]
pub struct CaseEventView {
    #[serde(with = "time::serde::rfc3339")]
    pub(crate) at: OffsetDateTime,
    pub(crate) actor: String,
    pub(crate) kind: String,
    pub(crate) comment: Option<String>,
    #[schema(value_type = Object)]
    pub(crate) data: serde_json::Value,
}

/// A decision proposed on a case.
#[derive(Serialize, utoipa::ToSchema)]
pub struct ProposalView {
    pub(crate) id: String,
    pub(crate) transfer: String,
    pub(crate) decision: &'static str,
    /// `pending`, `approved`, `rejected` or `expired`.
    pub(crate) status: &'static str,
    pub(crate) proposed_by: String,
    pub(crate) reason: String,
    #[serde(with = "time::serde::rfc3339")]
    pub(crate) expires_at: OffsetDateTime,
    pub(crate) decided_by: Option<String>,
}

/// An alert of a case: what a monitoring rule saw (staff only: never shown to the tenant).
#[derive(Serialize, utoipa::ToSchema)]
pub struct CaseAlertView {
    pub(crate) id: String,
    /// `transfer_blocked`, `kyc_ceiling` or `post_event`.
    pub(crate) kind: String,
    pub(crate) rule: Option<String>,
    pub(crate) transfer: Option<String>,
    /// `open`, or `closed` with its case.
    pub(crate) status: String,
    #[schema(value_type = Object)]
    pub(crate) detail: serde_json::Value,
    #[serde(with = "time::serde::rfc3339")]
    pub(crate) created_at: OffsetDateTime,
}

/// A file attached to a case (its content is fetched from `download`).
#[derive(Serialize, utoipa::ToSchema)]
pub struct CaseAttachmentView {
    pub(crate) id: String,
    /// As the uploader named it (validated: no path, markup or control characters).
    pub(crate) filename: String,
    /// `application/pdf`, `image/png`, `image/jpeg`, `text/plain` or `text/csv`.
    pub(crate) content_type: String,
    pub(crate) size_bytes: i64,
    /// SHA-256 of the content, lowercase hex.
    pub(crate) sha256: String,
    /// The audit actor who added it (`staff:LOGIN`).
    pub(crate) uploaded_by: String,
    #[serde(with = "time::serde::rfc3339")]
    pub(crate) created_at: OffsetDateTime,
    /// Where the content is served (`GET`, audited as a read of personal data).
    pub(crate) download: String,
}

impl From<&CaseAttachmentRow> for CaseAttachmentView {
    fn from(row: &CaseAttachmentRow) -> Self {
        Self {
            id: row.id.clone(),
            filename: row.filename.clone(),
            content_type: row.content_type.clone(),
            size_bytes: row.size_bytes,
            sha256: row.sha256.clone(),
            uploaded_by: row.uploaded_by.clone(),
            created_at: row.created_at,
            download: format!("/admin/v1/cases/{}/attachments/{}", row.case, row.id),
        }
    }
}

/// A case with everything needed to decide it.
#[derive(Serialize, utoipa::ToSchema)]
pub struct CaseDetail {
    pub(crate) case: CaseView,
    pub(crate) transfers: Vec<CaseTransferView>,
    pub(crate) alerts: Vec<CaseAlertView>,
    pub(crate) proposals: Vec<ProposalView>,
    pub(crate) attachments: Vec<CaseAttachmentView>,
    pub(crate) events: Vec<CaseEventView>,
}

/// The inbox's query: `status` (any but closed when absent) and `sort` (`sla` or `score`).
pub(crate) fn inbox_query(raw: Option<&str>) -> ApiResult<InboxQuery> {
    let params = QueryParams::parse(raw, &["status", "sort"])?;
    let status = params
        .get("status")
        .filter(|s| !s.is_empty())
        .map(|s| {
            s.parse::<CaseStatus>()
                .map_err(|e| ApiError::invalid("status", "invalid_value", &e.to_string()))
        })
        .transpose()?;
    let sort = params
        .get("sort")
        .filter(|s| !s.is_empty())
        .map(|s| {
            s.parse::<InboxSort>()
                .map_err(|e| ApiError::invalid("sort", "invalid_value", &e.to_string()))
        })
        .transpose()?
        .unwrap_or(InboxSort::Sla);
    Ok(InboxQuery {
        status,
        sort,
        limit: INBOX_LIMIT,
    })
}

pub(crate) async fn inbox(state: &AppState, query: InboxQuery) -> ApiResult<Vec<CaseView>> {
    let now = state.payments.now();
    Ok(state
        .store
        .cases(query)
        .await?
        .iter()
        .map(|case| CaseView::of(case, now))
        .collect())
}

pub(crate) async fn detail(state: &AppState, id: CaseId) -> ApiResult<CaseDetail> {
    let case = match state.store.case(id).await {
        Err(StoreError::NotFound) => return Err(ApiError::NotFound),
        other => other?,
    };
    let mut transfers = Vec::new();
    let mut alerts = Vec::new();
    for item in state.store.case_items(id).await? {
        if item.kind == "alert" {
            let alert = state.store.alert(&item.item_id).await?;
            alerts.push(CaseAlertView {
                id: alert.id,
                kind: alert.kind,
                rule: alert.rule,
                transfer: alert.transfer,
                status: alert.status,
                detail: serde_json::from_str(&alert.detail).unwrap_or_default(),
                created_at: alert.created_at,
            });
            continue;
        }
        if item.kind != "transfer" {
            continue;
        }
        let Ok(transfer_id) = item.item_id.parse::<TransferId>() else {
            continue;
        };
        let transfer = state.store.transfer_by_id(transfer_id).await?;
        let recipient = state
            .store
            .recipient(
                transfer.tenant_id,
                transfer.environment,
                transfer.recipient_id,
            )
            .await?;
        let screenings = state
            .store
            .screening_decisions_for_transfer(transfer_id)
            .await?
            .iter()
            .map(|s| {
                serde_json::from_str(&s.explanation).unwrap_or_else(|_| {
                    serde_json::json!({"party": s.party_type, "score": s.score,
                        "verdict": s.verdict})
                })
            })
            .collect();
        let monitoring = match state.store.transfer_monitoring(transfer_id).await {
            Ok(row) => serde_json::from_str(&row.rules).unwrap_or_default(),
            Err(StoreError::NotFound) => serde_json::Value::Null,
            Err(error) => return Err(error.into()),
        };
        transfers.push(CaseTransferView {
            id: transfer.id.to_string(),
            status: transfer.status.as_str(),
            source: transfer.source.to_string(),
            target: transfer.target.to_string(),
            corridor: format!(
                "{} → {} ({})",
                transfer.source.currency().code(),
                transfer.target.currency().code(),
                recipient.country.as_str()
            ),
            risk_score: transfer.risk_score,
            recipient_name: recipient.name.as_str().to_owned(),
            recipient_country: recipient.country.as_str().to_owned(),
            created_at: transfer.created_at,
            screenings,
            monitoring,
        });
    }
    let proposals = state
        .payments
        .case_proposals(id)
        .await?
        .into_iter()
        .map(|(p, reason)| ProposalView {
            id: p.pending.id.to_string(),
            transfer: p.transfer.to_string(),
            decision: p.decision.as_str(),
            status: p.pending.status.as_str(),
            proposed_by: p.pending.proposed_by.to_string(),
            reason,
            expires_at: p.pending.expires_at,
            decided_by: p.pending.decided_by.map(|d| d.to_string()),
        })
        .collect();
    let events = state
        .store
        .case_events(id)
        .await?
        .into_iter()
        .map(|e| CaseEventView {
            at: e.at,
            actor: e.actor,
            kind: e.kind,
            comment: e.comment,
            data: e
                .data
                .as_deref()
                .and_then(|d| serde_json::from_str(d).ok())
                .unwrap_or_default(),
        })
        .collect();
    let attachments = state
        .store
        .case_attachments(id)
        .await?
        .iter()
        .map(CaseAttachmentView::from)
        .collect();
    Ok(CaseDetail {
        case: CaseView::of(&case, state.payments.now()),
        transfers,
        alerts,
        proposals,
        attachments,
        events,
    })
}

/// The inbox: open cases (or those with `status`), soonest SLA first (`sort=score`: highest
/// risk first); at most 200.
#[utoipa::path(get, path = "/admin/v1/cases", tag = "operator",
    security(("staff_session" = ["personal_data:read"])),
    params(("status" = Option<String>, Query), ("sort" = Option<String>, Query)),
    responses((status = 200, body = Vec<CaseView>), (status = 422, body = crate::error::Problem)))]
pub async fn list(
    State(state): State<AppState>,
    _staff: Staff,
    RawQuery(query): RawQuery,
) -> ApiResult<Json<Vec<CaseView>>> {
    let query = inbox_query(query.as_deref())?;
    Ok(Json(inbox(&state, query).await?))
}

/// A case: its transfers with their screening matches and monitoring rules, its proposals and
/// its log.
#[utoipa::path(get, path = "/admin/v1/cases/{id}", tag = "operator",
    security(("staff_session" = ["personal_data:read"])),
    responses((status = 200, body = CaseDetail), (status = 404, body = crate::error::Problem)))]
pub async fn show(
    State(state): State<AppState>,
    _staff: Staff,
    Path(id): Path<String>,
) -> ApiResult<Json<CaseDetail>> {
    Ok(Json(detail(&state, path_id(&id)?).await?))
}

/// Assigns the open, unassigned case due soonest to the caller: 200 with it, or 204 when the
/// inbox is empty.
pub(crate) async fn next_case(
    state: &AppState,
    staff: &Staff,
) -> ApiResult<Option<benteng_store::CaseRow>> {
    let Staff(actor, context) = staff;
    Ok(state
        .store
        .take_next_case(actor.person, state.payments.now(), context)
        .await?)
}

/// Takes the next case: assigned to the caller.
#[utoipa::path(post, path = "/admin/v1/cases/next", tag = "operator",
    security(("staff_session" = ["reviews:decide"])),
    responses((status = 200, body = CaseView), (status = 204)))]
pub async fn take_next(State(state): State<AppState>, staff: Staff) -> ApiResult<Response> {
    Ok(match next_case(&state, &staff).await? {
        Some(case) => Json(CaseView::of(&case, state.payments.now())).into_response(),
        None => StatusCode::NO_CONTENT.into_response(),
    })
}

/// A proposal's input, from JSON or the console's form.
#[derive(utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = ProposalRequest, example = json!({"transfer": "0b0e4c4e-6f0a-4c39-9d8e-2f4b7a1c9e55",
    "decision": "release", "reason": "Name match is a different person (birth year differs)."}))]
pub(crate) struct ProposalInput {
    /// A held transfer of the case.
    #[schema(value_type = String, format = Uuid)]
    pub(crate) transfer: TransferId,
    #[schema(schema_with = super::decision_schema)]
    pub(crate) decision: ReviewDecision,
    /// Why; the approver sees it.
    #[schema(value_type = String, min_length = 1, max_length = 2000)]
    pub(crate) reason: ReviewReason,
}

impl RequestBody for ProposalInput {
    const FIELDS: &'static [&'static str] = &["transfer", "decision", "reason"];

    fn read(f: &mut Fields<'_>) -> Option<Self> {
        let transfer: Option<Parsed<TransferId, 64>> = f.required("transfer");
        let decision: Option<Parsed<ReviewDecision, 16>> = f.required("decision");
        let reason = f.required("reason");
        Some(Self {
            transfer: transfer?.0,
            decision: decision?.0,
            reason: reason?,
        })
    }
}

/// The body of a decision on a proposal: the decider's comment.
#[derive(utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"comment": "Agreed: the birth years differ by 27 years."}))]
pub struct DecisionRequest {
    #[schema(value_type = String, min_length = 1, max_length = 2000)]
    comment: CaseComment,
}

impl RequestBody for DecisionRequest {
    const FIELDS: &'static [&'static str] = &["comment"];

    fn read(f: &mut Fields<'_>) -> Option<Self> {
        let comment = f.required("comment");
        Some(Self { comment: comment? })
    }
}

pub(crate) async fn propose_on(
    state: &AppState,
    staff: &Staff,
    case: CaseId,
    input: &ProposalInput,
) -> ApiResult<ProposalView> {
    let Staff(actor, context) = staff;
    let proposal = state
        .payments
        .propose_case_decision(
            case,
            input.transfer,
            input.decision,
            &input.reason,
            actor.person,
            context,
        )
        .await?;
    Ok(ProposalView {
        id: proposal.pending.id.to_string(),
        transfer: proposal.transfer.to_string(),
        decision: proposal.decision.as_str(),
        status: proposal.pending.status.as_str(),
        proposed_by: proposal.pending.proposed_by.to_string(),
        reason: input.reason.as_str().to_owned(),
        expires_at: proposal.pending.expires_at,
        decided_by: None,
    })
}

/// Proposes releasing or blocking a held transfer of the case; a compliance officer other
/// than the proposer approves it.
#[utoipa::path(post, path = "/admin/v1/cases/{id}/proposals", tag = "operator",
    security(("staff_session" = ["reviews:decide"])),
    request_body(content = ProposalInput),
    responses((status = 201, body = ProposalView), (status = 404, body = crate::error::Problem),
        (status = 409, body = crate::error::Problem), (status = 422, body = crate::error::Problem)))]
pub async fn propose(
    State(state): State<AppState>,
    staff: Staff,
    Path(id): Path<String>,
    Body(input): Body<ProposalInput>,
) -> ApiResult<Response> {
    let case: CaseId = path_id(&id)?;
    let view = propose_on(&state, &staff, case, &input).await?;
    Ok((StatusCode::CREATED, Json(view)).into_response())
}

/// Closes a case with its outcome and the analyst's comment (the console and the API).
pub(crate) async fn close_on(
    state: &AppState,
    staff: &Staff,
    case: CaseId,
    outcome: CaseOutcome,
    comment: &CaseComment,
) -> ApiResult<CaseView> {
    let Staff(_, context) = staff;
    state
        .payments
        .close_case(case, outcome, comment, context)
        .await?;
    let row = state.store.case(case).await?;
    Ok(CaseView::of(&row, state.payments.now()))
}

/// The body of closing a case: its outcome and why.
#[derive(utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"outcome": "false_positive",
    "comment": "Round sums are this exporter's usual deposit invoices."}))]
pub struct CloseRequest {
    #[schema(schema_with = outcome_schema)]
    outcome: CaseOutcome,
    #[schema(value_type = String, min_length = 1, max_length = 2000)]
    comment: CaseComment,
}

fn outcome_schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
    crate::json::string_enum_schema(CaseOutcome::ALL.iter().map(|o| o.as_str()))
}

impl RequestBody for CloseRequest {
    const FIELDS: &'static [&'static str] = &["outcome", "comment"];

    fn read(f: &mut Fields<'_>) -> Option<Self> {
        let outcome: Option<Parsed<CaseOutcome, 32>> = f.required("outcome");
        let comment = f.required("comment");
        Some(Self {
            outcome: outcome?.0,
            comment: comment?,
        })
    }
}

/// Closes a case that holds no transfer still held for review: an alert's case once looked
/// into; its alerts close with it. 409 `case-not-closable` when it is closed already or still
/// holds a held transfer (that transfer's four-eyes decision closes it).
#[utoipa::path(post, path = "/admin/v1/cases/{id}/close", tag = "operator",
    security(("staff_session" = ["reviews:decide"])),
    request_body(content = CloseRequest),
    responses((status = 200, body = CaseView), (status = 404, body = crate::error::Problem),
        (status = 409, body = crate::error::Problem), (status = 422, body = crate::error::Problem)))]
pub async fn close(
    State(state): State<AppState>,
    staff: Staff,
    Path(id): Path<String>,
    Body(body): Body<CloseRequest>,
) -> ApiResult<Json<CaseView>> {
    let case: CaseId = path_id(&id)?;
    Ok(Json(
        close_on(&state, &staff, case, body.outcome, &body.comment).await?,
    ))
}

/// Approves or rejects a proposal on a case, with the decider's comment.
pub(crate) async fn decide_on(
    state: &AppState,
    staff: &Staff,
    case: CaseId,
    proposal: PendingActionId,
    approve: bool,
    comment: &CaseComment,
) -> ApiResult<CaseView> {
    let Staff(actor, context) = staff;
    let decider: PersonId = actor.person;
    let case = state
        .payments
        .decide_case_proposal(case, proposal, decider, approve, comment, context)
        .await?;
    Ok(CaseView::of(&case, state.payments.now()))
}

async fn decide(
    state: AppState,
    staff: Staff,
    id: &str,
    proposal: &str,
    body: &DecisionRequest,
    approve: bool,
) -> ApiResult<Json<CaseView>> {
    let case: CaseId = path_id(id)?;
    let proposal: PendingActionId = path_id(proposal)?;
    Ok(Json(
        decide_on(&state, &staff, case, proposal, approve, &body.comment).await?,
    ))
}

/// Approves a proposal: the transfer is released or blocked, once, and the
/// case closes when none of its transfers is held. 403 `own-proposal` for the proposer;
/// 409 when it was decided already.
#[utoipa::path(post, path = "/admin/v1/cases/{id}/proposals/{proposal}/approve", tag = "operator",
    security(("staff_session" = ["reviews:approve"])),
    request_body(content = DecisionRequest),
    responses((status = 200, body = CaseView), (status = 403, body = crate::error::Problem),
        (status = 404, body = crate::error::Problem), (status = 409, body = crate::error::Problem)))]
pub async fn approve(
    State(state): State<AppState>,
    staff: Staff,
    Path((id, proposal)): Path<(String, String)>,
    Body(body): Body<DecisionRequest>,
) -> ApiResult<Json<CaseView>> {
    decide(state, staff, &id, &proposal, &body, true).await
}

/// Rejects a proposal: the transfer stays held.
#[utoipa::path(post, path = "/admin/v1/cases/{id}/proposals/{proposal}/reject", tag = "operator",
    security(("staff_session" = ["reviews:approve"])),
    request_body(content = DecisionRequest),
    responses((status = 200, body = CaseView), (status = 403, body = crate::error::Problem),
        (status = 404, body = crate::error::Problem), (status = 409, body = crate::error::Problem)))]
pub async fn reject(
    State(state): State<AppState>,
    staff: Staff,
    Path((id, proposal)): Path<(String, String)>,
    Body(body): Body<DecisionRequest>,
) -> ApiResult<Json<CaseView>> {
    decide(state, staff, &id, &proposal, &body, false).await
}

// ----- attachments -----

/// A file's bytes as uploaded: they must be of the declared type (magic bytes; text is UTF-8
/// without control characters).
#[derive(utoipa::ToSchema)]
#[schema(value_type = String, format = Binary)]
#[allow(dead_code)]
pub struct AttachmentBytes(Vec<u8>);

/// Attaches a checked file to a case (the API and the console's form).
pub(crate) async fn attach_on(
    state: &AppState,
    staff: &Staff,
    case: CaseId,
    file: NewAttachment<'_>,
) -> ApiResult<CaseAttachmentView> {
    let Staff(_, context) = staff;
    let row = state.payments.attach_to_case(case, file, context).await?;
    Ok(CaseAttachmentView::from(&row))
}

/// A file name from the uploader, refused as a field error.
pub(crate) fn file_name(name: &str) -> ApiResult<FileName> {
    FileName::parse(name).map_err(|e| ApiError::invalid("filename", e.code(), &e.to_string()))
}

/// The declared type of an upload, among the case attachments' allow-list.
pub(crate) fn declared_type(content_type: Option<&str>) -> ApiResult<DocumentType> {
    const ALLOWED: &[DocumentType] = DocumentType::CASE_ATTACHMENT;
    content_type
        .ok_or(DocumentRefusal::UnsupportedType { allowed: ALLOWED })
        .and_then(|header| DocumentType::from_content_type(header, ALLOWED))
        .map_err(|refusal| benteng_payments::Refusal::Document(refusal).into())
}

/// Attaches a file to an open case: the raw body, its `Content-Type` one of
/// `application/pdf`, `image/png`, `image/jpeg`, `text/plain` or `text/csv` and matching the
/// content, at most `cases.attachment_max_bytes` (413 otherwise, while reading), named by
/// `filename` (1 to 200 characters; no path, control characters or `< > : " | ? *`). The
/// file is sealed; the case's log and the audit trail (`case.attachment_added`) record it in
/// the same transaction. 409 `case-closed` on a closed case.
#[utoipa::path(post, path = "/admin/v1/cases/{id}/attachments", tag = "operator",
    security(("staff_session" = ["reviews:decide"])),
    params(("filename" = String, Query, description = "The file's name as shown and offered on download")),
    request_body(content((AttachmentBytes = "application/pdf"), (AttachmentBytes = "image/png"),
        (AttachmentBytes = "image/jpeg"), (AttachmentBytes = "text/plain"),
        (AttachmentBytes = "text/csv"))),
    responses((status = 201, body = CaseAttachmentView), (status = 404, body = crate::error::Problem),
        (status = 409, body = crate::error::Problem), (status = 413, body = crate::error::Problem),
        (status = 415, body = crate::error::Problem), (status = 422, body = crate::error::Problem)))]
pub async fn add_attachment(
    State(state): State<AppState>,
    staff: Staff,
    Path(id): Path<String>,
    RawQuery(query): RawQuery,
    request: axum::extract::Request,
) -> ApiResult<Response> {
    let case: CaseId = path_id(&id)?;
    let params = QueryParams::parse(query.as_deref(), &["filename"])?;
    let filename = file_name(
        params
            .get("filename")
            .ok_or_else(|| ApiError::invalid("filename", "required", "is required"))?,
    )?;
    let declared = declared_type(
        request
            .headers()
            .get(axum::http::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok()),
    )?;
    let limit = state.payments.attachment_max_bytes();
    // Read no further than the cap: a longer body is refused while it arrives.
    let bytes = axum::body::to_bytes(request.into_body(), limit)
        .await
        .map_err(|_| {
            ApiError::from(benteng_payments::Refusal::Document(
                DocumentRefusal::TooLarge { limit },
            ))
        })?;
    let file = NewAttachment {
        filename,
        declared,
        bytes: &bytes,
    };
    let view = attach_on(&state, &staff, case, file).await?;
    Ok((StatusCode::CREATED, Json(view)).into_response())
}

/// One attachment's content, unsealed and checked against its SHA-256, served as a download
/// (`Content-Disposition: attachment` with its name, its stored type, `nosniff`, a sandboxing
/// CSP). The read is audited as a read of personal data (`personal_data.read`).
#[utoipa::path(get, path = "/admin/v1/cases/{id}/attachments/{attachment}", tag = "operator",
    security(("staff_session" = ["personal_data:read"])),
    responses((status = 200, description = "the file"), (status = 404, body = crate::error::Problem)))]
pub async fn attachment(
    State(state): State<AppState>,
    Staff(_, context): Staff,
    Path((id, attachment)): Path<(String, String)>,
) -> ApiResult<Response> {
    let case: CaseId = path_id(&id)?;
    let attachment: uuid::Uuid = path_id(&attachment)?;
    let (row, kind, bytes) = state
        .payments
        .case_attachment(case, attachment, &context)
        .await?;
    // Names were checked on the way in; one that no longer parses is offered without a name.
    let disposition = FileName::parse(&row.filename).map_or_else(
        |_| "attachment".to_owned(),
        |name| name.content_disposition(),
    );
    let headers = [
        (
            axum::http::header::CONTENT_TYPE,
            HeaderValue::from_static(kind.served_as()),
        ),
        (
            axum::http::header::CONTENT_DISPOSITION,
            HeaderValue::from_str(&disposition)
                .unwrap_or_else(|_| HeaderValue::from_static("attachment")),
        ),
        (
            axum::http::header::X_CONTENT_TYPE_OPTIONS,
            HeaderValue::from_static("nosniff"),
        ),
        (
            axum::http::header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static("default-src 'none'; sandbox"),
        ),
        (
            axum::http::header::CACHE_CONTROL,
            HeaderValue::from_static("no-store"),
        ),
    ];
    Ok((headers, bytes).into_response())
}
