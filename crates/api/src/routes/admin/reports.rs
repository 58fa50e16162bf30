//! Regulatory reports on the operator API (`reports:file`, the compliance officer's): start a
//! report from a case, complete it, ask a second officer to approve it, approve or reject it,
//! export it in its FIU's format (goAML XML for an LTKM or a goAML EU FIU; JSON or printable
//! HTML for a UK SAR or an EU FIU without goAML), mark it submitted with the FIU's reference,
//! record the NCA's answer to a DAML request, withdraw it, or supersede a submitted one.
//! Nothing here is mounted on a tenant route, and nothing of it reaches a tenant.

use axum::Json;
use axum::extract::{Path, RawQuery, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use benteng_core::ids::{CaseId, ReportId};
use benteng_core::roles::Permission;
use benteng_core::strict_json::{FieldIssue, Fields, FromJsonField, JsonValue, enum_field};
use benteng_core::text::BoundedText;
use benteng_operations::{ExportFormat, ReportDetail, ReportStanding};
use benteng_reports::content::Address;
use benteng_reports::daml::DamlAnswer;
use benteng_reports::{Missing, ReportContent, ReportKind};
use benteng_store::{ReportRow, ReportStatus};
use rust_decimal::Decimal;
use serde::Serialize;
use time::OffsetDateTime;

use super::{Parsed, PendingActionView, path_id};
use crate::error::{ApiError, ApiResult};
use crate::json::{Body, RequestBody};
use crate::middleware::Staff;
use crate::routes::paging::QueryParams;
use crate::routes::{Needs, Routes};
use crate::state::AppState;

pub(super) fn routes(routes: Routes) -> Routes {
    let file = Permission::ReportsFile.into();
    routes
        .staff(
            "/admin/v1/reports",
            Needs::on_get(file).and_post(file),
            get(list).post(create),
        )
        .staff("/admin/v1/reports/{id}", Needs::on_get(file), get(show))
        .staff(
            "/admin/v1/reports/{id}/content",
            Needs::on_post(file),
            post(update),
        )
        .staff(
            "/admin/v1/reports/{id}/request-approval",
            Needs::on_post(file),
            post(request_approval),
        )
        .staff(
            "/admin/v1/reports/{id}/approve",
            Needs::on_post(file),
            post(approve),
        )
        .staff(
            "/admin/v1/reports/{id}/reject",
            Needs::on_post(file),
            post(reject),
        )
        .staff(
            "/admin/v1/reports/{id}/export",
            Needs::on_get(file),
            get(export),
        )
        .staff(
            "/admin/v1/reports/{id}/submitted",
            Needs::on_post(file),
            post(mark_submitted),
        )
        .staff(
            "/admin/v1/reports/{id}/daml",
            Needs::on_post(file),
            post(record_daml),
        )
        .staff(
            "/admin/v1/reports/{id}/withdraw",
            Needs::on_post(file),
            post(withdraw),
        )
        .staff(
            "/admin/v1/reports/{id}/supersede",
            Needs::on_post(file),
            post(supersede),
        )
}

/// A report without its content: where it stands and its deadline clock.
#[derive(Serialize, utoipa::ToSchema)]
pub struct ReportView {
    pub id: String,
    /// `ltkm`, `uk_sar` or `eu_sar`.
    pub kind: String,
    /// The FIU's name (PPATK, NCA, an EU FIU's).
    pub fiu: String,
    /// An EU report: the member state whose FIU it goes to.
    pub fiu_country: Option<String>,
    pub case: Option<String>,
    /// `draft`, `approved`, `submitted` or `withdrawn`.
    pub status: &'static str,
    pub version: u32,
    pub created_by: String,
    pub updated_by: String,
    pub approved_by: Option<String>,
    pub pending_approval: Option<String>,
    pub fiu_reference: Option<String>,
    pub supersedes: Option<String>,
    pub superseded_by: Option<String>,
    #[serde(with = "time::serde::rfc3339")]
    #[schema(value_type = String)]
    pub due_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    #[schema(value_type = String)]
    pub warn_at: OffsetDateTime,
    /// `running`, `due_soon` (alerting) or `breached`; `running` once submitted or withdrawn.
    pub clock: &'static str,
    /// A submitted UK SAR with a DAML request: when the NCA's 7 working days end.
    #[serde(with = "time::serde::rfc3339::option")]
    #[schema(value_type = Option<String>)]
    pub daml_due_at: Option<OffsetDateTime>,
    /// The NCA's latest answer recorded: `granted`, `refused` or `deemed`.
    pub daml_answer: Option<String>,
    #[serde(with = "time::serde::rfc3339::option")]
    #[schema(value_type = Option<String>)]
    pub daml_answered_at: Option<OffsetDateTime>,
    /// After a refusal: when its 31-day moratorium ends.
    #[serde(with = "time::serde::rfc3339::option")]
    #[schema(value_type = Option<String>)]
    pub daml_moratorium_ends_at: Option<OffsetDateTime>,
    /// While no consent is recorded: `notice` or `moratorium`.
    pub daml_period: Option<&'static str>,
    /// `running`, `ending_soon` or `ended` (ended: record the deemed consent).
    pub daml_clock: Option<&'static str>,
    #[serde(with = "time::serde::rfc3339::option")]
    #[schema(value_type = Option<String>)]
    pub daml_clock_ends_at: Option<OffsetDateTime>,
}

impl ReportView {
    pub(crate) fn of(row: &ReportRow, standing: &ReportStanding) -> Self {
        Self {
            id: row.id.to_string(),
            kind: row.kind.clone(),
            fiu: standing.fiu.clone(),
            fiu_country: row.fiu_country.clone(),
            case: row.case_id.map(|c| c.to_string()),
            status: row.status.as_str(),
            version: row.version,
            created_by: row.created_by.to_string(),
            updated_by: row.updated_by.to_string(),
            approved_by: row.approved_by.map(|p| p.to_string()),
            pending_approval: row.approval_id.map(|p| p.to_string()),
            fiu_reference: row.fiu_reference.clone(),
            supersedes: row.supersedes.map(|r| r.to_string()),
            superseded_by: row.superseded_by.map(|r| r.to_string()),
            due_at: row.due_at,
            warn_at: row.warn_at,
            clock: standing.clock.as_str(),
            daml_due_at: row.daml_due_at,
            daml_answer: row.daml_answer.clone(),
            daml_answered_at: row.daml_answered_at,
            daml_moratorium_ends_at: row.daml_moratorium_ends_at,
            daml_period: standing.daml.map(|d| d.period.as_str()),
            daml_clock: standing.daml.map(|d| d.state.as_str()),
            daml_clock_ends_at: standing.daml.map(|d| d.ends_at),
        }
    }
}

/// A report with its content in clear and what it still lacks.
#[derive(Serialize, utoipa::ToSchema)]
pub struct ReportDetailView {
    #[serde(flatten)]
    pub report: ReportView,
    #[schema(value_type = Object)]
    pub content: ReportContent,
    #[schema(value_type = Vec<Object>)]
    pub missing: Vec<Missing>,
}

impl From<&ReportDetail> for ReportDetailView {
    fn from(detail: &ReportDetail) -> Self {
        Self {
            report: ReportView::of(&detail.row, &detail.standing),
            content: detail.content.clone(),
            missing: detail.missing.clone(),
        }
    }
}

/// A report's kind as requests name it: an Indonesian LTKM (goAML) or a UK SAR.
#[derive(Clone, Copy)]
pub struct Kind(ReportKind);

const KINDS: [(&str, Kind); 3] = [
    ("ltkm", Kind(ReportKind::Ltkm)),
    ("uk_sar", Kind(ReportKind::UkSar)),
    ("eu_sar", Kind(ReportKind::EuSar)),
];

impl FromJsonField for Kind {
    fn from_json_field(value: &JsonValue) -> Result<Self, FieldIssue> {
        enum_field(value, &KINDS)
    }
}

impl utoipa::PartialSchema for Kind {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        crate::json::string_enum_schema(KINDS.iter().map(|(name, _)| *name))
    }
}

impl utoipa::ToSchema for Kind {
    fn name() -> std::borrow::Cow<'static, str> {
        "ReportKind".into()
    }
}

/// The body of `POST /admin/v1/reports`.
#[derive(utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"case": "7c9e6679-7425-40de-944b-e07fc1f90ae7", "kind": "ltkm"}))]
pub struct NewReportRequest {
    /// The case the report is about.
    #[schema(value_type = String, format = Uuid)]
    case: Parsed<CaseId, 64>,
    kind: Kind,
    /// An EU report's FIU: the member state (ISO 3166 alpha-2) of a configured FIU. Unnamed,
    /// the one such state the case's transfers go to.
    #[schema(max_length = 2)]
    fiu: Option<String>,
}

impl RequestBody for NewReportRequest {
    const FIELDS: &'static [&'static str] = &["case", "kind", "fiu"];

    fn read(f: &mut Fields<'_>) -> Option<Self> {
        let case = f.required("case");
        let kind = f.required("kind");
        let fiu: Option<BoundedText<2>> = f.optional("fiu");
        Some(Self {
            case: case?,
            kind: kind?,
            fiu: fiu.map(|f| f.as_str().to_owned()),
        })
    }
}

/// The reports, soonest due first (`?status=draft|approved|submitted|withdrawn`).
#[utoipa::path(get, path = "/admin/v1/reports", tag = "operator",
    security(("staff_session" = ["reports:file"])),
    params(("status" = Option<String>, Query)),
    responses((status = 200, body = Vec<ReportView>)))]
pub async fn list(
    State(state): State<AppState>,
    Staff(actor, _): Staff,
    RawQuery(query): RawQuery,
) -> ApiResult<Json<Vec<ReportView>>> {
    let params = QueryParams::parse(query.as_deref(), &["status"])?;
    let status = params
        .get("status")
        .map(|s| s.parse::<ReportStatus>())
        .transpose()
        .map_err(|e| ApiError::invalid("status", "invalid_value", e))?;
    let rows = state.operations.reports(&actor, status).await?;
    Ok(Json(
        rows.iter()
            .map(|(row, standing)| ReportView::of(row, standing))
            .collect(),
    ))
}

/// Starts a report from a case (`kind`: `ltkm`, `uk_sar` or `eu_sar`), filled from what
/// benteng knows; its deadline clock starts now. An EU report goes to the FIU of `fiu` (a
/// member state with a configured FIU) or, unnamed, of the one such state the case's transfers
/// go to.
#[utoipa::path(post, path = "/admin/v1/reports", tag = "operator",
    security(("staff_session" = ["reports:file"])),
    request_body(content = NewReportRequest),
    responses((status = 201, body = ReportDetailView), (status = 404, body = crate::error::Problem),
        (status = 422, body = crate::error::Problem)))]
pub async fn create(
    State(state): State<AppState>,
    Staff(actor, context): Staff,
    Body(body): Body<NewReportRequest>,
) -> ApiResult<Response> {
    let detail = state
        .operations
        .create_report(
            &actor,
            body.case.0,
            body.kind.0,
            body.fiu.as_deref(),
            &context,
        )
        .await?;
    Ok((StatusCode::CREATED, Json(ReportDetailView::from(&detail))).into_response())
}

/// A report with its content (audited: it holds Tier 1 identifiers).
#[utoipa::path(get, path = "/admin/v1/reports/{id}", tag = "operator",
    security(("staff_session" = ["reports:file"])),
    responses((status = 200, body = ReportDetailView), (status = 404, body = crate::error::Problem)))]
pub async fn show(
    State(state): State<AppState>,
    Staff(actor, context): Staff,
    Path(id): Path<String>,
) -> ApiResult<Json<ReportDetailView>> {
    let id: ReportId = path_id(&id)?;
    let detail = state.operations.report(&actor, id, &context).await?;
    Ok(Json(ReportDetailView::from(&detail)))
}

/// Free text for a report: up to `MAX` characters, new lines allowed, and only what XML can
/// carry (anything else is refused naming the field and the character).
struct ReportText<const MAX: usize>(String);

impl<const MAX: usize> FromJsonField for ReportText<MAX> {
    fn from_json_field(value: &JsonValue) -> Result<Self, FieldIssue> {
        let JsonValue::String(text) = value else {
            return Err(FieldIssue::invalid_type("a string"));
        };
        if text.chars().count() > MAX {
            return Err(FieldIssue::new(
                "too_long",
                format!("at most {MAX} characters"),
            ));
        }
        if let Some(c) = text
            .chars()
            .find(|c| !benteng_reports::xml::is_xml_char(*c))
        {
            return Err(FieldIssue::new(
                "invalid_character",
                format!("contains U+{:04X}, which XML cannot carry", u32::from(c)),
            ));
        }
        Ok(Self(text.clone()))
    }
}

/// A decimal amount written as a string.
struct DecimalText(Decimal);

impl FromJsonField for DecimalText {
    fn from_json_field(value: &JsonValue) -> Result<Self, FieldIssue> {
        match value {
            JsonValue::String(text) if text.len() <= 40 => text
                .parse::<Decimal>()
                .ok()
                .filter(|d| !d.is_sign_negative())
                .map(DecimalText)
                .ok_or_else(|| FieldIssue::new("invalid_value", "a non-negative decimal string")),
            _ => Err(FieldIssue::invalid_type(
                "a decimal string such as \"1500000.00\"",
            )),
        }
    }
}

/// A transaction of the report, by its number: the fields given replace the draft's.
#[derive(utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TransactionPatch {
    /// The number of one of the report's transactions.
    #[schema(max_length = 50)]
    number: String,
    /// A non-negative decimal string, e.g. `"1500000.00"`.
    #[schema(value_type = Option<String>, pattern = "^[0-9]+(\\.[0-9]+)?$", max_length = 40)]
    local_amount: Option<Decimal>,
    #[schema(max_length = 50)]
    institution_code: Option<String>,
    #[schema(max_length = 8)]
    transmode: Option<String>,
}

impl RequestBody for TransactionPatch {
    const FIELDS: &'static [&'static str] =
        &["number", "local_amount", "institution_code", "transmode"];

    fn read(t: &mut Fields<'_>) -> Option<Self> {
        let number: Option<BoundedText<50>> = t.required("number");
        let local: Option<DecimalText> = t.optional("local_amount");
        let institution: Option<ReportText<50>> = t.optional("institution_code");
        let transmode: Option<BoundedText<8>> = t.optional("transmode");
        Some(Self {
            number: number?.as_str().to_owned(),
            local_amount: local.map(|l| l.0),
            institution_code: institution.map(|i| i.0),
            transmode: transmode.map(|m| m.as_str().to_owned()),
        })
    }
}

/// The subject's registered address.
#[derive(utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AddressPatch {
    #[schema(max_length = 255)]
    line: String,
    #[schema(max_length = 255)]
    city: String,
    #[schema(max_length = 10)]
    postal_code: Option<String>,
    /// ISO 3166-1 alpha-2.
    #[schema(min_length = 1, max_length = 2)]
    country: String,
}

impl RequestBody for AddressPatch {
    const FIELDS: &'static [&'static str] = &["line", "city", "postal_code", "country"];

    fn read(a: &mut Fields<'_>) -> Option<Self> {
        let line: Option<ReportText<255>> = a.required("line");
        let city: Option<ReportText<255>> = a.required("city");
        let postal: Option<ReportText<10>> = a.optional("postal_code");
        let country: Option<BoundedText<2>> = a.required("country");
        Some(Self {
            line: line?.0,
            city: city?.0,
            postal_code: postal.map(|p| p.0),
            country: country?.as_str().to_owned(),
        })
    }
}

/// The reported subject (a business): the fields given replace the draft's.
#[derive(utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SubjectPatch {
    #[schema(max_length = 255)]
    business: Option<String>,
    #[schema(max_length = 8)]
    legal_form: Option<String>,
    #[schema(max_length = 50)]
    incorporation_number: Option<String>,
    /// ISO 3166-1 alpha-2.
    #[schema(max_length = 2)]
    incorporation_country: Option<String>,
    address: Option<AddressPatch>,
}

impl RequestBody for SubjectPatch {
    const FIELDS: &'static [&'static str] = &[
        "business",
        "legal_form",
        "incorporation_number",
        "incorporation_country",
        "address",
    ];

    fn read(s: &mut Fields<'_>) -> Option<Self> {
        let business: Option<ReportText<255>> = s.optional("business");
        let legal_form: Option<BoundedText<8>> = s.optional("legal_form");
        let number: Option<ReportText<50>> = s.optional("incorporation_number");
        let country: Option<BoundedText<2>> = s.optional("incorporation_country");
        let address = s.optional_object("address", AddressPatch::FIELDS, AddressPatch::read);
        Some(Self {
            business: business.map(|b| b.0),
            legal_form: legal_form.map(|l| l.as_str().to_owned()),
            incorporation_number: number.map(|n| n.0),
            incorporation_country: country.map(|c| c.as_str().to_owned()),
            address,
        })
    }
}

/// The body of `POST /admin/v1/reports/{id}/content`: the fields given replace the draft's.
#[derive(utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"version": 1, "reason": "Structured deposits just under the reporting threshold.",
    "indicators": ["1101"], "daml_requested": false}))]
pub struct ReportContentRequest {
    /// The draft's version as last read: 409 when it moved on since.
    version: u32,
    #[schema(max_length = 20000)]
    reason: Option<String>,
    #[schema(max_length = 4000)]
    action: Option<String>,
    /// Indicator codes of the FIU's list (replaces the draft's list).
    #[schema(value_type = Option<Vec<String>>, max_items = 50)]
    indicators: Option<Vec<BoundedText<16>>>,
    daml_requested: Option<bool>,
    subject: Option<SubjectPatch>,
    #[schema(max_items = 1000)]
    transactions: Option<Vec<TransactionPatch>>,
}

impl RequestBody for ReportContentRequest {
    const FIELDS: &'static [&'static str] = &[
        "version",
        "reason",
        "action",
        "indicators",
        "daml_requested",
        "subject",
        "transactions",
    ];

    fn read(f: &mut Fields<'_>) -> Option<Self> {
        let version = f.required("version");
        let reason: Option<ReportText<20000>> = f.optional("reason");
        let action: Option<ReportText<4000>> = f.optional("action");
        // `Some(None)`: absent; `None`: invalid (reported, and the other fields still read).
        let indicators = if f.is_present("indicators") {
            f.required_list("indicators", 0..=50).map(Some)
        } else {
            Some(None)
        };
        let daml_requested = f.optional("daml_requested");
        let subject = f.optional_object("subject", SubjectPatch::FIELDS, SubjectPatch::read);
        let transactions = if f.is_present("transactions") {
            f.required_object_list(
                "transactions",
                0..=1000,
                TransactionPatch::FIELDS,
                TransactionPatch::read,
            )
            .map(Some)
        } else {
            Some(None)
        };
        Some(Self {
            version: version?,
            reason: reason.map(|r| r.0),
            action: action.map(|a| a.0),
            indicators: indicators?,
            daml_requested,
            subject,
            transactions: transactions?,
        })
    }
}

/// Completes a draft: the fields given replace the draft's; 409 when the draft moved past
/// `version` or is not a draft.
#[utoipa::path(post, path = "/admin/v1/reports/{id}/content", tag = "operator",
    security(("staff_session" = ["reports:file"])),
    request_body(content = ReportContentRequest),
    responses((status = 200, body = ReportDetailView), (status = 404, body = crate::error::Problem),
        (status = 409, body = crate::error::Problem), (status = 422, body = crate::error::Problem)))]
pub async fn update(
    State(state): State<AppState>,
    Staff(actor, context): Staff,
    Path(id): Path<String>,
    Body(body): Body<ReportContentRequest>,
) -> ApiResult<Json<ReportDetailView>> {
    let id: ReportId = path_id(&id)?;
    let ReportContentRequest {
        version,
        reason,
        action,
        indicators,
        daml_requested: daml,
        subject,
        transactions,
    } = body;
    let current = state.operations.report(&actor, id, &context).await?;
    let mut content = current.content;
    if let Some(reason) = reason {
        content.reason = Some(reason);
    }
    if let Some(action) = action {
        content.action = Some(action);
    }
    if let Some(indicators) = indicators {
        content.indicators = indicators.iter().map(|i| i.as_str().to_owned()).collect();
    }
    if let Some(daml) = daml {
        content.daml_requested = daml;
    }
    if let Some(patch) = subject {
        let s = &mut content.subject;
        s.business = patch.business.or(s.business.take());
        s.legal_form = patch.legal_form.or(s.legal_form.take());
        s.incorporation_number = patch.incorporation_number.or(s.incorporation_number.take());
        s.incorporation_country = patch
            .incorporation_country
            .or(s.incorporation_country.take());
        s.address = patch
            .address
            .map(|a| Address {
                line: a.line,
                city: a.city,
                postal_code: a.postal_code,
                country: a.country,
            })
            .or(s.address.take());
    }
    for (i, patch) in transactions.unwrap_or_default().into_iter().enumerate() {
        let Some(t) = content
            .transactions
            .iter_mut()
            .find(|t| t.number == patch.number)
        else {
            return Err(ApiError::invalid(
                &format!("transactions[{i}].number"),
                "invalid_value",
                "not a transaction of this report",
            ));
        };
        if let Some(amount) = patch.local_amount {
            t.local_amount = Some(amount);
        }
        if let Some(code) = patch.institution_code {
            t.recipient.institution_code = Some(code);
        }
        if let Some(mode) = patch.transmode {
            t.transmode = mode;
        }
    }
    let detail = state
        .operations
        .update_report(&actor, id, version, content, &context)
        .await?;
    Ok(Json(ReportDetailView::from(&detail)))
}

/// Asks a second officer to approve the draft as it stands (202 with the four-eyes request);
/// 422 listing every missing field when it is incomplete.
#[utoipa::path(post, path = "/admin/v1/reports/{id}/request-approval", tag = "operator",
    security(("staff_session" = ["reports:file"])),
    responses((status = 202, body = PendingActionView), (status = 409, body = crate::error::Problem),
        (status = 422, body = crate::error::Problem)))]
pub async fn request_approval(
    State(state): State<AppState>,
    Staff(actor, context): Staff,
    Path(id): Path<String>,
) -> ApiResult<Response> {
    let id: ReportId = path_id(&id)?;
    let pending = state
        .operations
        .request_report_approval(&actor, id, &context)
        .await?;
    Ok((
        StatusCode::ACCEPTED,
        Json(PendingActionView::from(&pending)),
    )
        .into_response())
}

async fn decide(
    state: &AppState,
    staff: Staff,
    id: &str,
    approve: bool,
) -> ApiResult<Json<ReportDetailView>> {
    let Staff(actor, context) = staff;
    let id: ReportId = path_id(id)?;
    let detail = state
        .operations
        .decide_report(&actor, id, approve, &context)
        .await?;
    Ok(Json(ReportDetailView::from(&detail)))
}

/// The second officer approves the pending approval (not its proposer, not the content's
/// last editor: 403).
#[utoipa::path(post, path = "/admin/v1/reports/{id}/approve", tag = "operator",
    security(("staff_session" = ["reports:file"])),
    responses((status = 200, body = ReportDetailView), (status = 403, body = crate::error::Problem),
        (status = 409, body = crate::error::Problem)))]
pub async fn approve(
    State(state): State<AppState>,
    staff: Staff,
    Path(id): Path<String>,
) -> ApiResult<Json<ReportDetailView>> {
    decide(&state, staff, &id, true).await
}

/// Rejects the pending approval: the report stays a draft.
#[utoipa::path(post, path = "/admin/v1/reports/{id}/reject", tag = "operator",
    security(("staff_session" = ["reports:file"])),
    responses((status = 200, body = ReportDetailView), (status = 409, body = crate::error::Problem)))]
pub async fn reject(
    State(state): State<AppState>,
    staff: Staff,
    Path(id): Path<String>,
) -> ApiResult<Json<ReportDetailView>> {
    decide(&state, staff, &id, false).await
}

/// The approved report in its FIU's format (`?format=goaml` for an LTKM, `json` or `html`
/// for a UK SAR), as an attachment; audited with the file's digest.
#[utoipa::path(get, path = "/admin/v1/reports/{id}/export", tag = "operator",
    security(("staff_session" = ["reports:file"])),
    params(("format" = String, Query)),
    responses((status = 200, content_type = "application/xml"), (status = 409, body = crate::error::Problem),
        (status = 422, body = crate::error::Problem)))]
pub async fn export(
    State(state): State<AppState>,
    Staff(actor, context): Staff,
    Path(id): Path<String>,
    RawQuery(query): RawQuery,
) -> ApiResult<Response> {
    let id: ReportId = path_id(&id)?;
    let params = QueryParams::parse(query.as_deref(), &["format"])?;
    let format: ExportFormat = params
        .get("format")
        .ok_or_else(|| ApiError::invalid("format", "required", "goaml, json or html"))?
        .parse()
        .map_err(|e| ApiError::invalid("format", "invalid_value", e))?;
    let exported = state
        .operations
        .export_report(&actor, id, format, &context)
        .await?;
    let disposition = format!("attachment; filename=\"{}\"", exported.file_name);
    Ok((
        [
            (header::CONTENT_TYPE, exported.content_type.to_owned()),
            (header::CONTENT_DISPOSITION, disposition),
            (header::CACHE_CONTROL, "no-store".to_owned()),
        ],
        exported.bytes,
    )
        .into_response())
}

/// The body of `POST /admin/v1/reports/{id}/submitted`.
#[derive(utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"fiu_reference": "PPATK-2026-000123"}))]
pub struct SubmittedRequest {
    /// The reference the FIU gave the filing.
    #[schema(value_type = String, min_length = 1, max_length = 255)]
    fiu_reference: BoundedText<255>,
}

impl RequestBody for SubmittedRequest {
    const FIELDS: &'static [&'static str] = &["fiu_reference"];

    fn read(f: &mut Fields<'_>) -> Option<Self> {
        let fiu_reference = f.required("fiu_reference");
        Some(Self {
            fiu_reference: fiu_reference?,
        })
    }
}

/// The body of `POST /admin/v1/reports/{id}/withdraw`.
#[derive(utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"reason": "Filed in error: the case was closed as a false positive."}))]
pub struct WithdrawRequest {
    #[schema(value_type = String, min_length = 1, max_length = 2000)]
    reason: BoundedText<2000>,
}

impl RequestBody for WithdrawRequest {
    const FIELDS: &'static [&'static str] = &["reason"];

    fn read(f: &mut Fields<'_>) -> Option<Self> {
        let reason = f.required("reason");
        Some(Self { reason: reason? })
    }
}

/// Records that the approved report was filed; 409 unless approved.
#[utoipa::path(post, path = "/admin/v1/reports/{id}/submitted", tag = "operator",
    security(("staff_session" = ["reports:file"])),
    request_body(content = SubmittedRequest),
    responses((status = 200, body = ReportView), (status = 409, body = crate::error::Problem)))]
pub async fn mark_submitted(
    State(state): State<AppState>,
    Staff(actor, context): Staff,
    Path(id): Path<String>,
    Body(body): Body<SubmittedRequest>,
) -> ApiResult<Json<ReportView>> {
    let id: ReportId = path_id(&id)?;
    let row = state
        .operations
        .mark_report_submitted(&actor, id, body.fiu_reference.as_str(), &context)
        .await?;
    let standing = state.operations.report_standing(&row)?;
    Ok(Json(ReportView::of(&row, &standing)))
}

/// Withdraws a draft or approved report; a submitted one is superseded instead.
#[utoipa::path(post, path = "/admin/v1/reports/{id}/withdraw", tag = "operator",
    security(("staff_session" = ["reports:file"])),
    request_body(content = WithdrawRequest),
    responses((status = 200, body = ReportView), (status = 409, body = crate::error::Problem)))]
pub async fn withdraw(
    State(state): State<AppState>,
    Staff(actor, context): Staff,
    Path(id): Path<String>,
    Body(body): Body<WithdrawRequest>,
) -> ApiResult<Json<ReportView>> {
    let id: ReportId = path_id(&id)?;
    let row = state
        .operations
        .withdraw_report(&actor, id, body.reason.as_str(), &context)
        .await?;
    let standing = state.operations.report_standing(&row)?;
    Ok(Json(ReportView::of(&row, &standing)))
}

/// The NCA's answer as requests name it.
#[derive(Clone, Copy)]
pub struct Answer(DamlAnswer);

const ANSWERS: [(&str, Answer); 3] = [
    ("granted", Answer(DamlAnswer::Granted)),
    ("refused", Answer(DamlAnswer::Refused)),
    ("deemed", Answer(DamlAnswer::Deemed)),
];

impl FromJsonField for Answer {
    fn from_json_field(value: &JsonValue) -> Result<Self, FieldIssue> {
        enum_field(value, &ANSWERS)
    }
}

impl utoipa::PartialSchema for Answer {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        crate::json::string_enum_schema(ANSWERS.iter().map(|(name, _)| *name))
    }
}

impl utoipa::ToSchema for Answer {
    fn name() -> std::borrow::Cow<'static, str> {
        "DamlAnswer".into()
    }
}

/// The body of recording the NCA's answer to a DAML request.
#[derive(utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"answer": "refused", "note": "NCA letter ref 2026/1234, received by post."}))]
pub struct DamlRequest {
    answer: Answer,
    #[schema(value_type = String, min_length = 1, max_length = 2000)]
    note: BoundedText<2000>,
}

impl RequestBody for DamlRequest {
    const FIELDS: &'static [&'static str] = &["answer", "note"];

    fn read(f: &mut Fields<'_>) -> Option<Self> {
        let answer = f.required("answer");
        let note = f.required("note");
        Some(Self {
            answer: answer?,
            note: note?,
        })
    }
}

/// Records the NCA's answer to a submitted UK SAR's DAML request: a refusal starts the 31-day
/// moratorium; `deemed` only once the notice period (or the moratorium) has ended. 409 when
/// the answer does not fit where the request stands.
#[utoipa::path(post, path = "/admin/v1/reports/{id}/daml", tag = "operator",
    security(("staff_session" = ["reports:file"])),
    request_body(content = DamlRequest),
    responses((status = 200, body = ReportView), (status = 404, body = crate::error::Problem),
        (status = 409, body = crate::error::Problem), (status = 422, body = crate::error::Problem)))]
pub async fn record_daml(
    State(state): State<AppState>,
    Staff(actor, context): Staff,
    Path(id): Path<String>,
    Body(body): Body<DamlRequest>,
) -> ApiResult<Json<ReportView>> {
    let id: ReportId = path_id(&id)?;
    let (row, standing) = state
        .operations
        .record_daml_answer(&actor, id, body.answer.0, body.note.as_str(), &context)
        .await?;
    Ok(Json(ReportView::of(&row, &standing)))
}

/// Starts a new draft superseding a submitted report, from its content.
#[utoipa::path(post, path = "/admin/v1/reports/{id}/supersede", tag = "operator",
    security(("staff_session" = ["reports:file"])),
    responses((status = 201, body = ReportDetailView), (status = 409, body = crate::error::Problem)))]
pub async fn supersede(
    State(state): State<AppState>,
    Staff(actor, context): Staff,
    Path(id): Path<String>,
) -> ApiResult<Response> {
    let id: ReportId = path_id(&id)?;
    let detail = state
        .operations
        .supersede_report(&actor, id, &context)
        .await?;
    Ok((StatusCode::CREATED, Json(ReportDetailView::from(&detail))).into_response())
}
