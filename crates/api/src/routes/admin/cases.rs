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
use benteng_core::cases::{
    CaseOutcome, CaseStatus, InboxName, InboxSort, ReviewDecision, SlaState,
};
use benteng_core::country::CountryCode;
use benteng_core::currency::Currency;
use benteng_core::documents::{DocumentRefusal, DocumentType, FileName};
use benteng_core::ids::{CaseId, PendingActionId, PersonId, TransferId};
use benteng_core::roles::Permission;
use benteng_core::strict_json::Fields;
use benteng_operations::{ClearanceReason, EntryRef};
use benteng_payments::case_attachments::NewAttachment;
use benteng_payments::case_work::CaseWork;
use benteng_payments::cases::CaseComment;
use benteng_payments::reviews::ReviewReason;
use benteng_store::{
    AssigneeFilter, CaseAttachmentRow, CaseRow, InboxQuery, ScreeningBlock, StoreError,
};
use serde::Serialize;
use time::OffsetDateTime;

use super::screening::ClearanceView;
use super::{Parsed, path_id};
use crate::error::{ApiError, ApiResult, FieldProblem};
use crate::json::{Body, RequestBody};
use crate::middleware::Staff;
use crate::routes::paging::QueryParams;
use crate::routes::{Needs, Routes};
use crate::state::AppState;

/// The most cases one inbox listing returns.
pub(crate) const INBOX_LIMIT: u32 = 200;

/// The most of a party's other cases a case shows.
const PREVIOUS_LIMIT: u32 = 20;

pub(super) fn routes(routes: Routes) -> Routes {
    routes
        .staff(
            "/admin/v1/cases",
            Needs::on_get(Permission::PersonalDataRead.into()),
            get(list),
        )
        .staff(
            "/admin/v1/cases/dashboard",
            Needs::on_get(Permission::PersonalDataRead.into()),
            get(dashboard_view),
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
            "/admin/v1/cases/{id}/comments",
            Needs::on_post(Permission::ReviewsDecide.into()),
            post(comment),
        )
        .staff(
            "/admin/v1/cases/{id}/status",
            Needs::on_post(Permission::ReviewsDecide.into()),
            post(set_status),
        )
        .staff(
            "/admin/v1/cases/{id}/assignee",
            Needs::on_post(Permission::ReviewsDecide.into()),
            post(assign),
        )
        .staff(
            "/admin/v1/cases/{id}/reopen",
            Needs::on_post(Permission::ReviewsDecide.into()),
            post(reopen),
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
        .staff(
            "/admin/v1/cases/{id}/confirm-hit",
            Needs::on_post(Permission::ReviewsDecide.into()),
            post(confirm_hit),
        )
        .staff(
            "/admin/v1/cases/{id}/false-positive",
            Needs::on_post(Permission::ClearancesWrite.into()),
            post(false_positive),
        )
        .staff(
            "/admin/v1/screening-blocks",
            Needs::on_get(Permission::PersonalDataRead.into()),
            get(blocks),
        )
        .staff(
            "/admin/v1/screening-blocks/{id}/clear",
            Needs::on_post(Permission::ReviewsApprove.into()),
            post(clear_block),
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
    /// When the SLA clock recorded that the case missed its current due time (an escalation
    /// gives it a new one, and clears this).
    #[serde(with = "time::serde::rfc3339::option")]
    pub(crate) sla_missed_at: Option<OffsetDateTime>,
    /// `overdue`, `due_soon` (within 4 hours) or `on_time`; null once closed.
    pub(crate) sla_state: Option<&'static str>,
    #[serde(with = "time::serde::rfc3339")]
    pub(crate) opened_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339::option")]
    pub(crate) closed_at: Option<OffsetDateTime>,
}

impl CaseView {
    pub(crate) fn of(case: &CaseRow, now: OffsetDateTime) -> Self {
        let open = case.status != CaseStatus::Closed;
        let sla = open.then(|| SlaState::at(case.sla_due_at, now));
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
            overdue: sla == Some(SlaState::Overdue),
            sla_missed_at: case.sla_missed_at,
            sla_state: sla.map(SlaState::as_str),
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
    /// The held transfer it decides; absent for a screening hit's confirmation.
    pub(crate) transfer: Option<String>,
    /// `release`, `block` or `confirm_hit`.
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

/// A screening hit of a case (a rescreen's or a list update's): the party's score, verdict
/// and every match with its list entry and per-method explanation (staff only).
#[derive(Serialize, utoipa::ToSchema)]
pub struct CaseScreeningHitView {
    /// The screening decision.
    pub(crate) id: String,
    /// `rescreen` or `list_update`.
    pub(crate) occasion: String,
    pub(crate) score: u8,
    /// `review` or `block`.
    pub(crate) verdict: String,
    /// The explanation: party, score, verdict and matches, as screening recorded it.
    #[schema(value_type = Object)]
    pub(crate) explanation: serde_json::Value,
    #[serde(with = "time::serde::rfc3339")]
    pub(crate) at: OffsetDateTime,
}

/// A KYC upgrade request of a case.
#[derive(Serialize, utoipa::ToSchema)]
pub struct CaseKycRequestView {
    pub(crate) id: String,
    /// The level asked for.
    pub(crate) level: &'static str,
    /// `pending`, `approved` or `rejected`.
    pub(crate) status: String,
    pub(crate) requested_by: String,
    #[serde(with = "time::serde::rfc3339")]
    pub(crate) requested_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339::option")]
    pub(crate) decided_at: Option<OffsetDateTime>,
}

/// A party blocked by a confirmed screening hit, until a compliance officer clears it.
#[derive(Serialize, utoipa::ToSchema)]
pub struct BlockView {
    pub(crate) id: String,
    /// `tenant:ID` or `recipient:ID`.
    pub(crate) party: String,
    /// The screening case it was confirmed on.
    pub(crate) case: String,
    pub(crate) proposed_by: String,
    pub(crate) approved_by: String,
    #[serde(with = "time::serde::rfc3339")]
    pub(crate) blocked_at: OffsetDateTime,
}

impl From<&ScreeningBlock> for BlockView {
    fn from(block: &ScreeningBlock) -> Self {
        Self {
            id: block.id.clone(),
            party: format!("{}:{}", block.party_type, block.party_id),
            case: block.case_id.to_string(),
            proposed_by: block.proposed_by.to_string(),
            approved_by: block.approved_by.to_string(),
            blocked_at: block.blocked_at,
        }
    }
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
    /// The name of the party the case is about (the recipient's or the tenant's).
    pub(crate) party_name: Option<String>,
    pub(crate) transfers: Vec<CaseTransferView>,
    pub(crate) alerts: Vec<CaseAlertView>,
    pub(crate) screening_hits: Vec<CaseScreeningHitView>,
    pub(crate) kyc_requests: Vec<CaseKycRequestView>,
    /// The block in force on the case's party (a confirmed screening hit), if any.
    pub(crate) block: Option<BlockView>,
    pub(crate) proposals: Vec<ProposalView>,
    pub(crate) attachments: Vec<CaseAttachmentView>,
    pub(crate) events: Vec<CaseEventView>,
    /// The party's other cases, newest first (at most 20), with their status and outcome.
    pub(crate) previous: Vec<CaseView>,
}

/// The inbox's filters, as the operator API's query string and the console's form name them.
pub(crate) const INBOX_PARAMS: &[&str] = &[
    "status",
    "sla",
    "min_score",
    "country",
    "currency",
    "inbox",
    "assignee",
    "sort",
];

/// The inbox's query string, for `staff` (whom `assignee=me` names): each filter optional
/// (an empty value is not given), every invalid one reported at once.
pub(crate) fn inbox_query(
    state: &AppState,
    staff: &Staff,
    raw: Option<&str>,
) -> ApiResult<InboxQuery> {
    let params = QueryParams::parse(raw, INBOX_PARAMS)?;
    let mut problems = Vec::new();
    let given = |name: &'static str| params.get(name).filter(|value| !value.is_empty());
    fn read<T, E: std::fmt::Display>(
        problems: &mut Vec<FieldProblem>,
        field: &str,
        code: &str,
        parsed: Option<Result<T, E>>,
    ) -> Option<T> {
        match parsed? {
            Ok(value) => Some(value),
            Err(error) => {
                problems.push(FieldProblem {
                    field: field.to_owned(),
                    code: code.to_owned(),
                    message: error.to_string(),
                });
                None
            }
        }
    }
    let mut query = InboxQuery::new(state.payments.now(), INBOX_LIMIT);
    query.status = read(
        &mut problems,
        "status",
        "invalid_value",
        given("status").map(str::parse::<CaseStatus>),
    );
    query.sla = read(
        &mut problems,
        "sla",
        "invalid_value",
        given("sla").map(str::parse::<SlaState>),
    );
    query.min_score = read(
        &mut problems,
        "min_score",
        "out_of_range",
        given("min_score").map(|text| {
            text.parse::<u8>()
                .ok()
                .filter(|score| *score <= 100)
                .ok_or("must be a whole number from 0 to 100")
        }),
    );
    query.country = read(
        &mut problems,
        "country",
        "invalid_value",
        given("country").map(str::parse::<CountryCode>),
    );
    query.currency = read(
        &mut problems,
        "currency",
        "invalid_value",
        given("currency").map(str::parse::<Currency>),
    );
    query.inbox = read(
        &mut problems,
        "inbox",
        "invalid_value",
        given("inbox").map(InboxName::parse),
    );
    query.assignee = read(
        &mut problems,
        "assignee",
        "invalid_value",
        given("assignee").map(|text| match text {
            "me" => Ok(AssigneeFilter::Person(staff.0.person)),
            "unassigned" => Ok(AssigneeFilter::Unassigned),
            id => id
                .parse::<PersonId>()
                .map(AssigneeFilter::Person)
                .map_err(|_| "must be me, unassigned or a person's id"),
        }),
    );
    if let Some(sort) = read(
        &mut problems,
        "sort",
        "invalid_value",
        given("sort").map(str::parse::<InboxSort>),
    ) {
        query.sort = sort;
    }
    if query.status == Some(CaseStatus::Closed) && query.sla.is_some() {
        problems.push(FieldProblem {
            field: "sla".to_owned(),
            code: "conflict".to_owned(),
            message: "a closed case has no SLA: not with status closed".to_owned(),
        });
    }
    if problems.is_empty() {
        Ok(query)
    } else {
        Err(ApiError::Validation(problems))
    }
}

pub(crate) async fn inbox(state: &AppState, query: &InboxQuery) -> ApiResult<Vec<CaseView>> {
    Ok(state
        .store
        .cases(query)
        .await?
        .iter()
        .map(|case| CaseView::of(case, query.now))
        .collect())
}

pub(crate) async fn detail(state: &AppState, id: CaseId) -> ApiResult<CaseDetail> {
    let case = match state.store.case(id).await {
        Err(StoreError::NotFound) => return Err(ApiError::NotFound),
        other => other?,
    };
    let mut transfers = Vec::new();
    let mut alerts = Vec::new();
    let mut screening_hits = Vec::new();
    let mut kyc_requests = Vec::new();
    for item in state.store.case_items(id).await? {
        if item.kind == "screening_hit" {
            let hit = state.store.screening_decision(&item.item_id).await?;
            screening_hits.push(CaseScreeningHitView {
                id: hit.id,
                occasion: hit.occasion,
                score: hit.score,
                verdict: hit.verdict,
                explanation: serde_json::from_str(&hit.explanation).unwrap_or_default(),
                at: hit.at,
            });
            continue;
        }
        if item.kind == "kyc_upgrade" {
            let Ok(request_id) = item.item_id.parse::<uuid::Uuid>() else {
                continue;
            };
            let request = state.store.kyc_upgrade_request(request_id).await?;
            kyc_requests.push(CaseKycRequestView {
                id: request.id,
                level: request.level.as_str(),
                status: request.status,
                requested_by: request.requested_by,
                requested_at: request.requested_at,
                decided_at: request.decided_at,
            });
            continue;
        }
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
            transfer: p.transfer.map(|t| t.to_string()),
            decision: p.decision,
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
    let now = state.payments.now();
    let previous = state
        .store
        .party_cases(&case.party_kind, &case.party_id, id, PREVIOUS_LIMIT)
        .await?
        .iter()
        .map(|c| CaseView::of(c, now))
        .collect();
    let party_name = party_name(state, &case).await?;
    let block = state
        .store
        .screening_block_of(&case.party_kind, &case.party_id)
        .await?
        .as_ref()
        .map(BlockView::from);
    let attachments = state
        .store
        .case_attachments(id)
        .await?
        .iter()
        .map(CaseAttachmentView::from)
        .collect();
    Ok(CaseDetail {
        previous,
        case: CaseView::of(&case, now),
        party_name,
        block,
        transfers,
        alerts,
        screening_hits,
        kyc_requests,
        proposals,
        attachments,
        events,
    })
}

/// The name of a case's party; `None` when it is not found (the case is still shown).
async fn party_name(state: &AppState, case: &CaseRow) -> ApiResult<Option<String>> {
    let found = match case.party_kind.as_str() {
        "recipient" => {
            let Ok(id) = case.party_id.parse() else {
                return Ok(None);
            };
            state
                .store
                .recipient(case.tenant_id, case.environment, id)
                .await
                .map(|r| r.name.as_str().to_owned())
        }
        _ => state
            .store
            .tenant(case.tenant_id)
            .await
            .map(|t| t.name.as_str().to_owned()),
    };
    match found {
        Ok(name) => Ok(Some(name)),
        Err(StoreError::NotFound) => Ok(None),
        Err(error) => Err(error.into()),
    }
}

/// The inbox: cases not closed (or those with `status`) passing every filter given, soonest
/// SLA first (`sort=score`: highest risk first); at most 200. An unknown parameter or value
/// is refused with 422, naming each.
#[utoipa::path(get, path = "/admin/v1/cases", tag = "operator",
    security(("staff_session" = ["personal_data:read"])),
    params(
        ("status" = Option<String>, Query,
            description = "`open`, `investigating`, `waiting` or `closed` (default: any but closed)"),
        ("sla" = Option<String>, Query,
            description = "`overdue`, `due_soon` (due within 4 hours) or `on_time`; cases not closed"),
        ("min_score" = Option<u8>, Query, description = "the lowest priority (risk score), 0 to 100"),
        ("country" = Option<String>, Query,
            description = "cases holding a transfer to a recipient in this country (ISO 3166-1 alpha-2)"),
        ("currency" = Option<String>, Query,
            description = "cases holding a transfer paid out in this currency (ISO 4217); with `country`, the same transfer"),
        ("inbox" = Option<String>, Query, description = "the inbox, e.g. `payments` or `monitoring`"),
        ("assignee" = Option<String>, Query,
            description = "`me`, `unassigned` or a person's id"),
        ("sort" = Option<String>, Query, description = "`sla` (default) or `score`"),
    ),
    responses((status = 200, body = Vec<CaseView>), (status = 422, body = crate::error::Problem)))]
pub async fn list(
    State(state): State<AppState>,
    staff: Staff,
    RawQuery(query): RawQuery,
) -> ApiResult<Json<Vec<CaseView>>> {
    let query = inbox_query(&state, &staff, query.as_deref())?;
    Ok(Json(inbox(&state, &query).await?))
}

/// Open cases of one age bucket.
#[derive(Serialize, utoipa::ToSchema)]
pub struct AgeBucketView {
    /// `under_1_day`, `1_to_3_days`, `3_to_7_days` or `over_7_days` (7 days or more).
    pub(crate) age: &'static str,
    pub(crate) open: i64,
}

/// An inbox's load.
#[derive(Serialize, utoipa::ToSchema)]
pub struct InboxLoadView {
    pub(crate) inbox: String,
    pub(crate) open: i64,
    /// Open past their SLA.
    pub(crate) overdue: i64,
}

/// The cases decided (closed) on one UTC day, by outcome.
#[derive(Serialize, utoipa::ToSchema)]
pub struct DecisionDayView {
    /// `YYYY-MM-DD` (UTC).
    pub(crate) day: String,
    pub(crate) false_positive: i64,
    pub(crate) true_positive: i64,
    pub(crate) inconclusive: i64,
    pub(crate) total: i64,
}

/// The compliance dashboard: open cases by age and inbox, SLA breaches, decisions per day.
#[derive(Serialize, utoipa::ToSchema)]
pub struct DashboardView {
    /// When the counts were taken.
    #[serde(with = "time::serde::rfc3339")]
    pub(crate) at: OffsetDateTime,
    /// Cases not closed.
    pub(crate) open: i64,
    /// Cases not closed past their SLA (breaches).
    pub(crate) overdue: i64,
    /// Open cases by how long ago they were opened, youngest first.
    pub(crate) open_by_age: Vec<AgeBucketView>,
    /// Every inbox with open cases.
    pub(crate) inboxes: Vec<InboxLoadView>,
    /// The last 14 UTC days, oldest first (today last): cases closed, by outcome.
    pub(crate) decisions_per_day: Vec<DecisionDayView>,
}

/// How many days the dashboard's decisions cover, today included.
pub(crate) const DASHBOARD_DAYS: i64 = 14;

/// The dashboard's counts: what the operator API's handler and the console's page call.
pub(crate) async fn dashboard(state: &AppState) -> ApiResult<DashboardView> {
    let at = state.payments.now();
    let ages = state.store.open_case_ages(at).await?;
    let inboxes: Vec<InboxLoadView> = state
        .store
        .case_clocks(at)
        .await?
        .into_iter()
        .map(|(inbox, open, overdue)| InboxLoadView {
            inbox,
            open,
            overdue,
        })
        .collect();
    let today = at.to_offset(time::UtcOffset::UTC).date();
    let first = today - time::Duration::days(DASHBOARD_DAYS - 1);
    let mut days: Vec<DecisionDayView> = (0..DASHBOARD_DAYS)
        .map(|n| DecisionDayView {
            day: (first + time::Duration::days(n)).to_string(),
            false_positive: 0,
            true_positive: 0,
            inconclusive: 0,
            total: 0,
        })
        .collect();
    let since = first.midnight().assume_utc();
    for closed in state.store.cases_closed_per_day(since).await? {
        // A close stamped after `at` (another instance's clock ahead) counts on the last day.
        let index = usize::try_from(closed.day.clamp(0, DASHBOARD_DAYS - 1)).unwrap_or(0);
        if let Some(day) = days.get_mut(index) {
            match closed.outcome {
                CaseOutcome::FalsePositive => day.false_positive += closed.count,
                CaseOutcome::TruePositive => day.true_positive += closed.count,
                CaseOutcome::Inconclusive => day.inconclusive += closed.count,
            }
            day.total += closed.count;
        }
    }
    let open_by_age = [
        ("under_1_day", ages.under_1_day),
        ("1_to_3_days", ages.days_1_to_3),
        ("3_to_7_days", ages.days_3_to_7),
        ("over_7_days", ages.over_7_days),
    ]
    .into_iter()
    .map(|(age, open)| AgeBucketView { age, open })
    .collect();
    Ok(DashboardView {
        at,
        open: inboxes.iter().map(|i| i.open).sum(),
        overdue: inboxes.iter().map(|i| i.overdue).sum(),
        open_by_age,
        inboxes,
        decisions_per_day: days,
    })
}

/// The dashboard: open cases by age and inbox, SLA breaches, and cases decided per day over
/// the last 14 days.
#[utoipa::path(get, path = "/admin/v1/cases/dashboard", tag = "operator",
    security(("staff_session" = ["personal_data:read"])),
    responses((status = 200, body = DashboardView)))]
pub async fn dashboard_view(
    State(state): State<AppState>,
    _staff: Staff,
) -> ApiResult<Json<DashboardView>> {
    Ok(Json(dashboard(&state).await?))
}

/// A case: its transfers with their screening matches and monitoring rules, its alerts, its
/// screening hits with their explanation, its KYC upgrade requests, its proposals and its log.
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

/// A person's comment: on a decision on a proposal, on the case, or on reopening it.
#[derive(utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"comment": "Agreed: the birth years differ by 27 years."}))]
pub struct CommentRequest {
    #[schema(value_type = String, min_length = 1, max_length = 2000)]
    pub(crate) comment: CaseComment,
}

impl RequestBody for CommentRequest {
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
        transfer: proposal.transfer.map(|t| t.to_string()),
        decision: proposal.decision,
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
    body: &CommentRequest,
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
    request_body(content = CommentRequest),
    responses((status = 200, body = CaseView), (status = 403, body = crate::error::Problem),
        (status = 404, body = crate::error::Problem), (status = 409, body = crate::error::Problem)))]
pub async fn approve(
    State(state): State<AppState>,
    staff: Staff,
    Path((id, proposal)): Path<(String, String)>,
    Body(body): Body<CommentRequest>,
) -> ApiResult<Json<CaseView>> {
    decide(state, staff, &id, &proposal, &body, true).await
}

/// Rejects a proposal: the transfer stays held.
#[utoipa::path(post, path = "/admin/v1/cases/{id}/proposals/{proposal}/reject", tag = "operator",
    security(("staff_session" = ["reviews:approve"])),
    request_body(content = CommentRequest),
    responses((status = 200, body = CaseView), (status = 403, body = crate::error::Problem),
        (status = 404, body = crate::error::Problem), (status = 409, body = crate::error::Problem)))]
pub async fn reject(
    State(state): State<AppState>,
    staff: Staff,
    Path((id, proposal)): Path<(String, String)>,
    Body(body): Body<CommentRequest>,
) -> ApiResult<Json<CaseView>> {
    decide(state, staff, &id, &proposal, &body, false).await
}

/// Works a case (a comment, its status, its assignee, reopening it) and answers it as it is
/// now (the console and the API).
pub(crate) async fn work_on(
    state: &AppState,
    staff: &Staff,
    case: CaseId,
    work: &CaseWork,
) -> ApiResult<CaseView> {
    let Staff(_, context) = staff;
    state.payments.work_case(case, work, context).await?;
    let row = state.store.case(case).await?;
    Ok(CaseView::of(&row, state.payments.now()))
}

async fn work(
    state: AppState,
    staff: Staff,
    id: &str,
    work: CaseWork,
) -> ApiResult<Json<CaseView>> {
    let case: CaseId = path_id(id)?;
    Ok(Json(work_on(&state, &staff, case, &work).await?))
}

/// Adds a comment to the case's log. 409 `case-closed` on a closed case (reopen it first).
#[utoipa::path(post, path = "/admin/v1/cases/{id}/comments", tag = "operator",
    security(("staff_session" = ["reviews:decide"])),
    request_body(content = CommentRequest),
    responses((status = 200, body = CaseView), (status = 404, body = crate::error::Problem),
        (status = 409, body = crate::error::Problem), (status = 422, body = crate::error::Problem)))]
pub async fn comment(
    State(state): State<AppState>,
    staff: Staff,
    Path(id): Path<String>,
    Body(body): Body<CommentRequest>,
) -> ApiResult<Json<CaseView>> {
    work(state, staff, &id, CaseWork::Comment(body.comment)).await
}

/// The body of a status change: open, investigating or waiting (a case closes by its
/// decision), and optionally why.
#[derive(utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"status": "waiting",
    "comment": "Asked the tenant for the invoice behind this payment."}))]
pub struct StatusRequest {
    #[schema(schema_with = open_status_schema)]
    status: CaseStatus,
    #[schema(value_type = Option<String>, min_length = 1, max_length = 2000)]
    comment: Option<CaseComment>,
}

fn open_status_schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
    crate::json::string_enum_schema(
        CaseStatus::ALL
            .iter()
            .filter(|s| **s != CaseStatus::Closed)
            .map(|s| s.as_str()),
    )
}

impl RequestBody for StatusRequest {
    const FIELDS: &'static [&'static str] = &["status", "comment"];

    fn read(f: &mut Fields<'_>) -> Option<Self> {
        let status: Option<Parsed<CaseStatus, 16>> = f.required("status");
        let comment = f.optional("comment");
        if status.as_ref().is_some_and(|s| s.0 == CaseStatus::Closed) {
            f.reject(
                "status",
                "invalid_value",
                "must be open, investigating or waiting: a case closes by its decision",
            );
            return None;
        }
        Some(Self {
            status: status?.0,
            comment,
        })
    }
}

/// Sets the case's status: open, investigating or waiting. 409 `case-closed` on a closed case.
#[utoipa::path(post, path = "/admin/v1/cases/{id}/status", tag = "operator",
    security(("staff_session" = ["reviews:decide"])),
    request_body(content = StatusRequest),
    responses((status = 200, body = CaseView), (status = 404, body = crate::error::Problem),
        (status = 409, body = crate::error::Problem), (status = 422, body = crate::error::Problem)))]
pub async fn set_status(
    State(state): State<AppState>,
    staff: Staff,
    Path(id): Path<String>,
    Body(body): Body<StatusRequest>,
) -> ApiResult<Json<CaseView>> {
    work(
        state,
        staff,
        &id,
        CaseWork::Status(body.status, body.comment),
    )
    .await
}

/// The body of an assignment: who works the case (absent or null: nobody), and optionally why.
#[derive(utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"assignee": "5b0e4c4e-6f0a-4c39-9d8e-2f4b7a1c9e55",
    "comment": "Speaks Bahasa Indonesia; the invoices are in it."}))]
pub struct AssigneeRequest {
    /// An active member of staff who may decide cases.
    #[schema(value_type = Option<String>, format = Uuid)]
    assignee: Option<PersonId>,
    #[schema(value_type = Option<String>, min_length = 1, max_length = 2000)]
    comment: Option<CaseComment>,
}

impl RequestBody for AssigneeRequest {
    const FIELDS: &'static [&'static str] = &["assignee", "comment"];

    fn read(f: &mut Fields<'_>) -> Option<Self> {
        let assignee: Option<Parsed<PersonId, 64>> = f.optional("assignee");
        let comment = f.optional("comment");
        Some(Self {
            assignee: assignee.map(|a| a.0),
            comment,
        })
    }
}

/// Assigns the case to a member of staff who may decide cases, or to nobody. 422 when the
/// person is unknown, disabled or may not decide cases; 409 `case-closed` on a closed case.
#[utoipa::path(post, path = "/admin/v1/cases/{id}/assignee", tag = "operator",
    security(("staff_session" = ["reviews:decide"])),
    request_body(content = AssigneeRequest),
    responses((status = 200, body = CaseView), (status = 404, body = crate::error::Problem),
        (status = 409, body = crate::error::Problem), (status = 422, body = crate::error::Problem)))]
pub async fn assign(
    State(state): State<AppState>,
    staff: Staff,
    Path(id): Path<String>,
    Body(body): Body<AssigneeRequest>,
) -> ApiResult<Json<CaseView>> {
    work(
        state,
        staff,
        &id,
        CaseWork::Assign(body.assignee, body.comment),
    )
    .await
}

/// Reopens a closed case, due anew, with why (its outcome stays in the log). 409
/// `case-not-reopenable` when it is not closed or its party has another open case of the
/// subject.
#[utoipa::path(post, path = "/admin/v1/cases/{id}/reopen", tag = "operator",
    security(("staff_session" = ["reviews:decide"])),
    request_body(content = CommentRequest),
    responses((status = 200, body = CaseView), (status = 404, body = crate::error::Problem),
        (status = 409, body = crate::error::Problem), (status = 422, body = crate::error::Problem)))]
pub async fn reopen(
    State(state): State<AppState>,
    staff: Staff,
    Path(id): Path<String>,
    Body(body): Body<CommentRequest>,
) -> ApiResult<Json<CaseView>> {
    work(state, staff, &id, CaseWork::Reopen(body.comment)).await
}

/// Proposes confirming a screening case's hits as a true match (the body's `comment` is the
/// reason).
pub(crate) async fn confirm_hit_on(
    state: &AppState,
    staff: &Staff,
    case: CaseId,
    reason: &CaseComment,
) -> ApiResult<ProposalView> {
    let Staff(actor, context) = staff;
    let proposal = state
        .payments
        .propose_hit_confirmation(case, reason, actor.person, context)
        .await?;
    Ok(ProposalView {
        id: proposal.pending.id.to_string(),
        transfer: None,
        decision: proposal.decision,
        status: proposal.pending.status.as_str(),
        proposed_by: proposal.pending.proposed_by.to_string(),
        reason: reason.as_str().to_owned(),
        expires_at: proposal.pending.expires_at,
        decided_by: None,
    })
}

/// Proposes confirming the screening case's hits as a true match, with why (`comment`); once
/// a compliance officer other than the proposer approves it on the case, the party is blocked
/// for every future transfer and the case closes as a true positive. 404 for a case that is
/// not a screening case; 409 `case-not-closable` for a closed one.
#[utoipa::path(post, path = "/admin/v1/cases/{id}/confirm-hit", tag = "operator",
    security(("staff_session" = ["reviews:decide"])),
    request_body(content = CommentRequest),
    responses((status = 201, body = ProposalView), (status = 404, body = crate::error::Problem),
        (status = 409, body = crate::error::Problem), (status = 422, body = crate::error::Problem)))]
pub async fn confirm_hit(
    State(state): State<AppState>,
    staff: Staff,
    Path(id): Path<String>,
    Body(body): Body<CommentRequest>,
) -> ApiResult<Response> {
    let case: CaseId = path_id(&id)?;
    let view = confirm_hit_on(&state, &staff, case, &body.comment).await?;
    Ok((StatusCode::CREATED, Json(view)).into_response())
}

/// Marking a screening case's hit on one list entry a false positive.
#[derive(utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"entry": "un:6908555",
    "reason": "Different person: the recipient's birth year is 1988, the entry's 1961."}))]
pub struct FalsePositiveRequest {
    #[schema(value_type = String, max_length = 800)]
    entry: Parsed<EntryRef, 800>,
    #[schema(value_type = String, min_length = 1, max_length = 4000)]
    reason: Parsed<ClearanceReason, 4000>,
}

impl RequestBody for FalsePositiveRequest {
    const FIELDS: &'static [&'static str] = &["entry", "reason"];

    fn read(f: &mut Fields<'_>) -> Option<Self> {
        let entry = f.required("entry");
        let reason = f.required("reason");
        Some(Self {
            entry: entry?,
            reason: reason?,
        })
    }
}

/// Clears (party, entry) from a screening case, naming the signed-in person (the console and
/// the API).
pub(crate) async fn false_positive_on(
    state: &AppState,
    staff: &Staff,
    case: CaseId,
    entry: EntryRef,
    reason: ClearanceReason,
) -> ApiResult<ClearanceView> {
    let Staff(_, context) = staff;
    let clearance = state
        .operations
        .clear_from_case(case, entry, reason, context)
        .await?;
    Ok(ClearanceView::from(&clearance))
}

/// Marks the case's hit on `entry` a false positive: the clearance of the case's party and
/// that entry (`/admin/v1/clearances`' clearance, which holds until the entry changes), named
/// after the signed-in person, with the entry on the case's log. The case stays open until it
/// is closed with its outcome.
#[utoipa::path(post, path = "/admin/v1/cases/{id}/false-positive", tag = "operator",
    security(("staff_session" = ["clearances:write"])),
    request_body(content = FalsePositiveRequest),
    responses((status = 201, body = ClearanceView), (status = 404, body = crate::error::Problem),
        (status = 409, body = crate::error::Problem), (status = 422, body = crate::error::Problem)))]
pub async fn false_positive(
    State(state): State<AppState>,
    staff: Staff,
    Path(id): Path<String>,
    Body(body): Body<FalsePositiveRequest>,
) -> ApiResult<Response> {
    let case: CaseId = path_id(&id)?;
    let view = false_positive_on(&state, &staff, case, body.entry.0, body.reason.0).await?;
    Ok((StatusCode::CREATED, Json(view)).into_response())
}

/// Parties blocked by a confirmed screening hit, newest first.
#[utoipa::path(get, path = "/admin/v1/screening-blocks", tag = "operator",
    security(("staff_session" = ["personal_data:read"])),
    responses((status = 200, body = Vec<BlockView>)))]
pub async fn blocks(
    State(state): State<AppState>,
    _staff: Staff,
) -> ApiResult<Json<Vec<BlockView>>> {
    let blocks = state.store.screening_blocks().await?;
    Ok(Json(blocks.iter().map(BlockView::from).collect()))
}

/// Clears a block (a compliance officer, with why: `comment`).
pub(crate) async fn clear_block_on(
    state: &AppState,
    staff: &Staff,
    block: &str,
    comment: &CaseComment,
) -> ApiResult<BlockView> {
    let Staff(actor, context) = staff;
    let block = state
        .payments
        .clear_screening_block(block, actor.person, comment, context)
        .await?;
    Ok(BlockView::from(&block))
}

/// Clears a block in force: the party's transfers are screened as before. 404 when no such
/// block is in force.
#[utoipa::path(post, path = "/admin/v1/screening-blocks/{id}/clear", tag = "operator",
    security(("staff_session" = ["reviews:approve"])),
    request_body(content = CommentRequest),
    responses((status = 200, body = BlockView), (status = 404, body = crate::error::Problem),
        (status = 422, body = crate::error::Problem)))]
pub async fn clear_block(
    State(state): State<AppState>,
    staff: Staff,
    Path(id): Path<String>,
    Body(body): Body<CommentRequest>,
) -> ApiResult<Json<BlockView>> {
    let block: uuid::Uuid = path_id(&id)?;
    Ok(Json(
        clear_block_on(&state, &staff, &block.to_string(), &body.comment).await?,
    ))
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
