//! The compliance console: server-rendered HTML for staff sessions, in the operations route
//! group. Every page and form calls what the operator API's handlers call
//! (`admin::cases`, `admin::session::start_session`); the console adds only HTML.
//!
//! - Every value written into a page goes through [`esc`] (text and attribute values alike).
//! - No inline script or style: the CSP is `default-src 'self'`; the one stylesheet is served
//!   from `/console/static/console.css`, and no script is needed.
//! - Forms post `application/x-www-form-urlencoded` with the session's CSRF token in a hidden
//!   `csrf_token` field, which `middleware::authenticate_staff` checks like the header; the
//!   attachment form posts `multipart/form-data` with the same field, checked the same way.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use benteng_auth::Audience;
use benteng_core::cases::{CaseOutcome, CaseStatus, InboxSort, ReviewDecision};
use benteng_core::ids::{CaseId, PendingActionId, TransferId};
use benteng_core::roles::Permission;
use benteng_crypto::SecretString;
use benteng_payments::cases::CaseComment;
use benteng_payments::reviews::ReviewReason;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use super::admin::cases::{self, CaseDetail, CaseView, ProposalInput};
use super::{Needs, Routes};
use crate::error::{ApiError, ApiResult};
use crate::middleware::{Audit, CSRF_FIELD, OwnFormat, Staff, session_cookie};
use crate::state::AppState;

pub(crate) const SIGN_IN: &str = "/console/sign-in";
const INBOX: &str = "/console/cases";

pub(super) fn routes(routes: Routes) -> Routes {
    routes
        .public(SIGN_IN, get(sign_in_page).post(sign_in))
        .public("/console/static/console.css", get(style))
        .staff(
            "/console/cases",
            Needs::on_get(Permission::PersonalDataRead.into()),
            get(inbox),
        )
        .staff(
            "/console/cases/next",
            Needs::on_post(Permission::ReviewsDecide.into()),
            axum::routing::post(take_next),
        )
        .staff(
            "/console/cases/{id}",
            Needs::on_get(Permission::PersonalDataRead.into()),
            get(case_page),
        )
        .staff(
            "/console/cases/{id}/proposals",
            Needs::on_post(Permission::ReviewsDecide.into()),
            axum::routing::post(propose),
        )
        .staff(
            "/console/cases/{id}/attachments",
            Needs::on_post(Permission::ReviewsDecide.into()),
            axum::routing::post(add_attachment),
        )
        .staff(
            "/console/cases/{id}/close",
            Needs::on_post(Permission::ReviewsDecide.into()),
            axum::routing::post(close),
        )
        .staff(
            "/console/cases/{id}/proposals/{proposal}/approve",
            Needs::on_post(Permission::ReviewsApprove.into()),
            axum::routing::post(approve),
        )
        .staff(
            "/console/cases/{id}/proposals/{proposal}/reject",
            Needs::on_post(Permission::ReviewsApprove.into()),
            axum::routing::post(reject),
        )
        .staff(
            "/console/incidents/{id}",
            Needs::on_get(Permission::IncidentsRespond.into()),
            get(incident_page),
        )
        .staff(
            "/console/incidents/{id}/block",
            Needs::on_post(Permission::IncidentsRespond.into()),
            axum::routing::post(block_address),
        )
        .staff(
            "/console/reports",
            Needs::on_get(Permission::ReportsFile.into()),
            get(reports_page),
        )
}

// ----- HTML -----

/// `text` escaped for HTML text and double-quoted attribute values.
pub fn esc(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            other => out.push(other),
        }
    }
    out
}

fn time_text(at: OffsetDateTime) -> String {
    at.format(&Rfc3339).unwrap_or_default()
}

/// A whole page: `body` is already-escaped HTML.
fn page(status: StatusCode, title: &str, who: Option<&Staff>, body: &str) -> Response {
    let mut html = String::with_capacity(body.len() + 1024);
    html.push_str("<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">");
    html.push_str("<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">");
    let _ = write!(html, "<title>{} · benteng console</title>", esc(title));
    html.push_str("<link rel=\"stylesheet\" href=\"/console/static/console.css\"></head><body>");
    html.push_str("<header><a class=\"brand\" href=\"/console/cases\">benteng · compliance</a>");
    if let Some(Staff(person, _)) = who {
        if person.permits(Permission::ReportsFile) {
            html.push_str("<a class=\"tab\" href=\"/console/reports\">Reports</a>");
        }
        let roles: Vec<&str> = person.roles.iter().map(|r| r.as_str()).collect();
        let _ = write!(
            html,
            "<span class=\"who\">{} ({})</span>",
            esc(person.login.as_str()),
            esc(&roles.join(", "))
        );
    }
    html.push_str("</header><main>");
    let _ = write!(html, "<h1>{}</h1>", esc(title));
    html.push_str(body);
    html.push_str("</main></body></html>\n");
    let mut response = (
        status,
        [(header::CONTENT_TYPE, "text/html; charset=utf-8")],
        html,
    )
        .into_response();
    // A refusal is this page with its status, not a problem document: `problem_fallback`
    // leaves it as it is.
    response.extensions_mut().insert(OwnFormat);
    response
}

/// The session's CSRF token as a hidden form field.
fn csrf_field(state: &AppState, headers: &HeaderMap) -> String {
    let token = session_cookie(headers)
        .and_then(|cookie| state.auth.people().map(|p| p.csrf_token(cookie)))
        .unwrap_or_default();
    format!(
        "<input type=\"hidden\" name=\"{CSRF_FIELD}\" value=\"{}\">",
        esc(&token)
    )
}

/// A refused action, as a page: the problem's title and detail, and the way back.
fn refused(error: ApiError, who: &Staff, back: &str) -> Response {
    let (status, text) = error.summary();
    let body = format!(
        "<p class=\"refused\" role=\"alert\">{}</p><p><a href=\"{}\">Back</a></p>",
        esc(&text),
        esc(back)
    );
    page(status, "Refused", Some(who), &body)
}

fn see_other(to: &str) -> Response {
    (StatusCode::SEE_OTHER, [(header::LOCATION, to.to_owned())]).into_response()
}

/// A form body's fields: each allowed name at most once, no other names (besides the CSRF
/// field, already checked by the middleware).
fn form(body: &[u8], allowed: &[&str]) -> ApiResult<BTreeMap<String, String>> {
    let mut fields = BTreeMap::new();
    for (name, value) in form_urlencoded::parse(body) {
        if name == CSRF_FIELD {
            continue;
        }
        if !allowed.contains(&name.as_ref()) {
            return Err(ApiError::BadRequest("the form has an unknown field"));
        }
        if fields
            .insert(name.into_owned(), value.into_owned())
            .is_some()
        {
            return Err(ApiError::BadRequest("the form repeats a field"));
        }
    }
    Ok(fields)
}

fn field<'a>(fields: &'a BTreeMap<String, String>, name: &'static str) -> ApiResult<&'a str> {
    fields
        .get(name)
        .map(String::as_str)
        .ok_or_else(|| ApiError::invalid(name, "required", "is required"))
}

/// A typed comment or reason: line breaks become spaces and the ends are trimmed (a text box's
/// habits), then the usual rules apply.
fn comment_text(fields: &BTreeMap<String, String>, name: &'static str) -> ApiResult<ReviewReason> {
    let text: String = field(fields, name)?
        .chars()
        .map(|c| if c == '\r' || c == '\n' { ' ' } else { c })
        .collect();
    ReviewReason::parse(text.trim()).map_err(|e| ApiError::invalid(name, e.code(), &e.to_string()))
}

// ----- sign-in -----

fn sign_in_form(message: Option<&str>) -> String {
    let mut body = String::new();
    if let Some(message) = message {
        let _ = write!(
            body,
            "<p class=\"refused\" role=\"alert\">{}</p>",
            esc(message)
        );
    }
    body.push_str(
        "<form method=\"post\" action=\"/console/sign-in\" class=\"sign-in\">\
         <label for=\"login\">Login</label>\
         <input id=\"login\" name=\"login\" type=\"text\" autocomplete=\"username\" required autofocus>\
         <label for=\"password\">Password</label>\
         <input id=\"password\" name=\"password\" type=\"password\" autocomplete=\"current-password\" required>\
         <label for=\"code\">Authenticator code</label>\
         <input id=\"code\" name=\"code\" type=\"text\" inputmode=\"numeric\" autocomplete=\"one-time-code\" required>\
         <button type=\"submit\">Sign in</button></form>",
    );
    body
}

/// The console's sign-in page (HTML).
#[utoipa::path(get, path = "/console/sign-in", tag = "console",
    responses((status = 200, content_type = "text/html")))]
pub async fn sign_in_page() -> Response {
    page(StatusCode::OK, "Sign in", None, &sign_in_form(None))
}

/// Signs in with login, password and TOTP code (the API's sign-in), then to the inbox.
#[utoipa::path(post, path = "/console/sign-in", tag = "console",
    responses((status = 303, description = "signed in: to the inbox"),
        (status = 401, content_type = "text/html")))]
pub async fn sign_in(
    State(state): State<AppState>,
    Audit(context): Audit,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let fields = match form(&body, &["login", "password", "code"]) {
        Ok(fields) => fields,
        Err(_) => {
            return page(
                StatusCode::BAD_REQUEST,
                "Sign in",
                None,
                &sign_in_form(Some("The form was not understood.")),
            );
        }
    };
    let get = |name: &str| fields.get(name).cloned().unwrap_or_default();
    let password = SecretString::from(get("password"));
    let code = SecretString::from(get("code"));
    match cases_sign_in(&state, &context, &headers, &get("login"), &password, &code).await {
        Ok(cookie) => {
            let mut response = see_other(INBOX);
            response.headers_mut().insert(header::SET_COOKIE, cookie);
            response
        }
        Err(error) => {
            let (status, text) = error.summary();
            page(status, "Sign in", None, &sign_in_form(Some(&text)))
        }
    }
}

async fn cases_sign_in(
    state: &AppState,
    context: &benteng_core::audit::AuditContext,
    headers: &HeaderMap,
    login: &str,
    password: &SecretString,
    code: &SecretString,
) -> ApiResult<axum::http::HeaderValue> {
    let (_, cookie) = super::admin::session::start_session(
        Audience::Staff,
        state,
        context,
        headers,
        login,
        password,
        code,
    )
    .await?;
    Ok(cookie)
}

/// The console's stylesheet.
#[utoipa::path(get, path = "/console/static/console.css", tag = "console",
    responses((status = 200, content_type = "text/css")))]
pub async fn style() -> impl IntoResponse {
    (
        [(header::CONTENT_TYPE, "text/css; charset=utf-8")],
        include_str!("../../assets/console.css"),
    )
}

// ----- inbox -----

fn status_options(selected: Option<CaseStatus>) -> String {
    let mut html = String::from("<option value=\"\">not closed</option>");
    for status in CaseStatus::ALL {
        let sel = if Some(*status) == selected {
            " selected"
        } else {
            ""
        };
        let _ = write!(
            html,
            "<option value=\"{0}\"{sel}>{0}</option>",
            esc(status.as_str())
        );
    }
    html
}

fn inbox_rows(cases: &[CaseView]) -> String {
    let mut html = String::with_capacity(cases.len() * 512);
    for case in cases {
        let sla_class = if case.overdue { "overdue" } else { "due" };
        let _ = write!(
            html,
            "<tr><td><a href=\"/console/cases/{id}\">{short}</a></td><td>{subject}</td>\
             <td>{party}</td><td>{status}</td><td class=\"num\">{priority}</td>\
             <td class=\"{sla_class}\">{sla}{flag}</td><td>{assignee}</td><td>{opened}</td></tr>",
            id = esc(&case.id),
            short = esc(case.id.get(..8).unwrap_or(&case.id)),
            subject = esc(case.subject),
            party = esc(&format!("{} {}", case.party_kind, case.party_id)),
            status = esc(case.status),
            priority = case.priority,
            sla = esc(&time_text(case.sla_due_at)),
            flag = if case.overdue { " (overdue)" } else { "" },
            assignee = esc(case.assignee.as_deref().unwrap_or("—")),
            opened = esc(&time_text(case.opened_at)),
        );
    }
    html
}

/// The inbox page's HTML body (also what the render benchmark measures).
pub fn inbox_body(
    cases: &[CaseView],
    status: Option<CaseStatus>,
    sort: InboxSort,
    csrf: &str,
) -> String {
    let mut body = String::with_capacity(cases.len() * 512 + 2048);
    let _ = write!(
        body,
        "<form method=\"get\" action=\"/console/cases\" class=\"filters\">\
         <label for=\"status\">Status</label><select id=\"status\" name=\"status\">{}</select>\
         <label for=\"sort\">Sort by</label><select id=\"sort\" name=\"sort\">\
         <option value=\"sla\"{}>SLA due</option><option value=\"score\"{}>risk score</option>\
         </select><button type=\"submit\">Show</button></form>\
         <form method=\"post\" action=\"/console/cases/next\" class=\"take-next\">{csrf}\
         <button type=\"submit\" id=\"take-next\">Take the next case</button></form>",
        status_options(status),
        if sort == InboxSort::Sla {
            " selected"
        } else {
            ""
        },
        if sort == InboxSort::Score {
            " selected"
        } else {
            ""
        },
    );
    let _ = write!(
        body,
        "<p class=\"count\">{} case(s)</p><table class=\"inbox\"><thead><tr><th>Case</th>\
         <th>Subject</th><th>Party</th><th>Status</th><th>Score</th><th>SLA due</th>\
         <th>Assignee</th><th>Opened</th></tr></thead><tbody>{}</tbody></table>",
        cases.len(),
        inbox_rows(cases)
    );
    body
}

/// The inbox page (HTML): the cases with a status filter and SLA or score order.
#[utoipa::path(get, path = "/console/cases", tag = "console",
    security(("staff_session" = ["personal_data:read"])),
    responses((status = 200, content_type = "text/html")))]
pub async fn inbox(
    State(state): State<AppState>,
    staff: Staff,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
) -> Response {
    let result: ApiResult<Response> = async {
        let query = cases::inbox_query(query.as_deref())?;
        let listed = cases::inbox(&state, query).await?;
        let body = inbox_body(
            &listed,
            query.status,
            query.sort,
            &csrf_field(&state, &headers),
        );
        Ok(page(StatusCode::OK, "Inbox", Some(&staff), &body))
    }
    .await;
    result.unwrap_or_else(|e| refused(e, &staff, INBOX))
}

/// Takes the next case (form), then shows it.
#[utoipa::path(post, path = "/console/cases/next", tag = "console",
    security(("staff_session" = ["reviews:decide"])),
    responses((status = 303, content_type = "text/html")))]
pub async fn take_next(State(state): State<AppState>, staff: Staff) -> Response {
    match cases::next_case(&state, &staff).await {
        Ok(Some(case)) => see_other(&format!("/console/cases/{}", case.id)),
        Ok(None) => see_other(INBOX),
        Err(e) => refused(e, &staff, INBOX),
    }
}

// ----- a case -----

fn json_text(value: &serde_json::Value) -> String {
    match value {
        serde_json::Value::String(s) => s.clone(),
        serde_json::Value::Null => "—".to_owned(),
        other => other.to_string(),
    }
}

fn screening_html(recipient: &str, screenings: &[serde_json::Value]) -> String {
    let mut html = String::new();
    for party in screenings {
        let name = if party["party"] == "recipient" {
            recipient
        } else {
            "the tenant"
        };
        let _ = write!(
            html,
            "<h4>Screening of {} ({}): score {}, verdict {}</h4>",
            esc(&json_text(&party["party"])),
            esc(name),
            esc(&json_text(&party["score"])),
            esc(&json_text(&party["verdict"]))
        );
        let matches = party["matches"]
            .as_array()
            .map(Vec::as_slice)
            .unwrap_or(&[]);
        if matches.is_empty() {
            html.push_str("<p>No list entry came close.</p>");
            continue;
        }
        html.push_str(
            "<table class=\"matches\"><thead><tr><th>Our party</th><th>List entry</th>\
             <th>Matched name</th><th>Method</th><th>Score</th><th>Why</th></tr></thead><tbody>",
        );
        for m in matches {
            let programs: Vec<String> = m["programs"]
                .as_array()
                .map(|p| p.iter().map(json_text).collect())
                .unwrap_or_default();
            let _ = write!(
                html,
                "<tr><td>{ours}</td><td><strong>{entry}</strong><br>{list} · {entry_id}<br>\
                 programme: {programs}{cleared}</td><td>{matched}</td><td>{method}</td>\
                 <td class=\"num\">{score} (name {name_score})</td><td><code>{why}</code></td></tr>",
                ours = esc(name),
                entry = esc(&json_text(&m["entry_name"])),
                list = esc(&json_text(&m["list"])),
                entry_id = esc(&json_text(&m["entry_id"])),
                programs = esc(&programs.join(", ")),
                cleared = if m["cleared"] == true {
                    "<br><em>cleared</em>"
                } else {
                    ""
                },
                matched = esc(&json_text(&m["matched_name"])),
                method = esc(&json_text(&m["method"])),
                score = esc(&json_text(&m["score"])),
                name_score = esc(&json_text(&m["name_score"])),
                why = esc(&json_text(&m["adjustments"])),
            );
        }
        html.push_str("</tbody></table>");
    }
    html
}

fn monitoring_html(monitoring: &serde_json::Value) -> String {
    let rules = monitoring["rules"]
        .as_array()
        .map(Vec::as_slice)
        .unwrap_or(&[]);
    if rules.is_empty() {
        return "<p>No monitoring record.</p>".to_owned();
    }
    let mut html = String::from(
        "<table class=\"rules\"><thead><tr><th>Rule</th><th>Fired</th><th>Score</th>\
         <th>Inputs</th></tr></thead><tbody>",
    );
    for rule in rules {
        let fired = rule["hit"] == true;
        let mut inputs = rule.clone();
        if let Some(object) = inputs.as_object_mut() {
            for key in ["id", "hit", "score"] {
                object.remove(key);
            }
        }
        let _ = write!(
            html,
            "<tr class=\"{}\"><td>{}</td><td>{}</td><td class=\"num\">{}</td><td><code>{}</code></td></tr>",
            if fired { "fired" } else { "quiet" },
            esc(&json_text(&rule["id"])),
            if fired { "yes" } else { "no" },
            esc(&json_text(&rule["score"])),
            esc(&inputs.to_string()),
        );
    }
    html.push_str("</tbody></table>");
    html
}

/// Sizes as people read them: bytes, KiB or MiB.
fn size_text(bytes: i64) -> String {
    #[allow(clippy::cast_precision_loss)] // display only
    let b = bytes as f64;
    if bytes < 1024 {
        format!("{bytes} B")
    } else if bytes < 1024 * 1024 {
        format!("{:.1} KiB", b / 1024.0)
    } else {
        format!("{:.1} MiB", b / (1024.0 * 1024.0))
    }
}

/// The case's attachments with their download links, and the form to add one.
fn attachments_html(detail: &CaseDetail, csrf: &str, may_attach: bool, max_bytes: usize) -> String {
    let mut body = String::from("<section class=\"attachments\"><h2>Attachments</h2>");
    if detail.attachments.is_empty() {
        body.push_str("<p>None.</p>");
    } else {
        body.push_str(
            "<table class=\"attachments\"><thead><tr><th>File</th><th>Type</th><th>Size</th>\
             <th>Added by</th><th>When</th></tr></thead><tbody>",
        );
        for attachment in &detail.attachments {
            let _ = write!(
                body,
                "<tr><td><a href=\"{href}\" download>{name}</a></td><td>{kind}</td>\
                 <td>{size}</td><td>{by}</td><td>{at}</td></tr>",
                href = esc(&attachment.download),
                name = esc(&attachment.filename),
                kind = esc(&attachment.content_type),
                size = esc(&size_text(attachment.size_bytes)),
                by = esc(&attachment.uploaded_by),
                at = esc(&time_text(attachment.created_at)),
            );
        }
        body.push_str("</tbody></table>");
    }
    if may_attach && detail.case.status != "closed" {
        let max = i64::try_from(max_bytes).unwrap_or(i64::MAX);
        let _ = write!(
            body,
            "<form method=\"post\" action=\"/console/cases/{case}/attachments\" \
             enctype=\"multipart/form-data\" class=\"attach\">{csrf}\
             <label for=\"attachment-file\">Attach a file (PDF, PNG, JPEG, text or CSV; at most \
             {max})</label><input id=\"attachment-file\" type=\"file\" name=\"file\" required \
             accept=\"application/pdf,image/png,image/jpeg,text/plain,text/csv,.pdf,.png,.jpg,.jpeg,.txt,.csv\">\
             <button type=\"submit\">Attach</button></form>",
            case = esc(&detail.case.id),
            max = esc(&size_text(max)),
        );
    }
    body.push_str("</section>");
    body
}

fn case_body(detail: &CaseDetail, csrf: &str, staff: &Staff, attachment_max: usize) -> String {
    let case = &detail.case;
    let mut body = String::new();
    let _ = write!(
        body,
        "<dl class=\"case\"><dt>Case</dt><dd>{id}</dd><dt>Subject</dt><dd>{subject}</dd>\
         <dt>Party</dt><dd>{party}</dd><dt>Tenant</dt><dd>{tenant}</dd><dt>Status</dt>\
         <dd id=\"case-status\">{status}</dd><dt>Outcome</dt><dd>{outcome}</dd><dt>Score</dt>\
         <dd>{priority}</dd><dt>SLA due</dt><dd class=\"{sla_class}\">{sla}</dd>\
         <dt>Assignee</dt><dd>{assignee}</dd><dt>Inbox</dt><dd>{inbox}</dd></dl>",
        id = esc(&case.id),
        subject = esc(case.subject),
        party = esc(&format!("{} {}", case.party_kind, case.party_id)),
        tenant = esc(&case.tenant_id),
        status = esc(case.status),
        outcome = esc(case.outcome.unwrap_or("—")),
        priority = case.priority,
        sla_class = if case.overdue { "overdue" } else { "due" },
        sla = esc(&time_text(case.sla_due_at)),
        assignee = esc(case.assignee.as_deref().unwrap_or("—")),
        inbox = esc(&case.inbox),
    );
    let may_propose = staff.0.permits(Permission::ReviewsDecide);
    let may_approve = staff.0.permits(Permission::ReviewsApprove);
    for transfer in &detail.transfers {
        let _ = write!(
            body,
            "<section class=\"transfer\"><h2>Transfer {id}</h2><dl><dt>Amount</dt>\
             <dd>{source} → {target}</dd><dt>Corridor</dt><dd>{corridor}</dd><dt>Recipient</dt>\
             <dd>{recipient} ({country})</dd><dt>Status</dt><dd class=\"transfer-status\">{status}</dd>\
             <dt>Risk score</dt><dd>{score}</dd><dt>Created</dt><dd>{created}</dd></dl>\
             <h3>Screening matches</h3>{screening}<h3>Monitoring rules</h3>{monitoring}",
            id = esc(&transfer.id),
            source = esc(&transfer.source),
            target = esc(&transfer.target),
            corridor = esc(&transfer.corridor),
            recipient = esc(&transfer.recipient_name),
            country = esc(&transfer.recipient_country),
            status = esc(transfer.status),
            score = transfer.risk_score,
            created = esc(&time_text(transfer.created_at)),
            screening = screening_html(&transfer.recipient_name, &transfer.screenings),
            monitoring = monitoring_html(&transfer.monitoring),
        );
        if transfer.status == "PENDING_REVIEW" && may_propose {
            let _ = write!(
                body,
                "<form method=\"post\" action=\"/console/cases/{case}/proposals\" class=\"propose\">\
                 {csrf}<input type=\"hidden\" name=\"transfer\" value=\"{transfer}\">\
                 <fieldset><legend>Propose a decision</legend>\
                 <label><input type=\"radio\" name=\"decision\" value=\"release\" required> Release</label>\
                 <label><input type=\"radio\" name=\"decision\" value=\"block\"> Block</label>\
                 <label for=\"reason-{transfer}\">Reason</label>\
                 <textarea id=\"reason-{transfer}\" name=\"reason\" required minlength=\"10\" maxlength=\"2000\"></textarea>\
                 <button type=\"submit\">Propose</button></fieldset></form>",
                case = esc(&case.id),
                transfer = esc(&transfer.id),
            );
        }
        body.push_str("</section>");
    }
    if !detail.alerts.is_empty() {
        body.push_str(
            "<section class=\"alerts\"><h2>Alerts</h2><table class=\"alerts\"><thead><tr>\
             <th>Raised</th><th>Kind</th><th>Rule</th><th>Transfer</th><th>Status</th>\
             <th>Details</th></tr></thead><tbody>",
        );
        for alert in &detail.alerts {
            let _ = write!(
                body,
                "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td class=\"alert-status\">{}</td>\
                 <td><code>{}</code></td></tr>",
                esc(&time_text(alert.created_at)),
                esc(&alert.kind),
                esc(alert.rule.as_deref().unwrap_or("—")),
                esc(alert.transfer.as_deref().unwrap_or("—")),
                esc(&alert.status),
                esc(&json_text(&alert.detail)),
            );
        }
        body.push_str("</tbody></table></section>");
    }
    let holds_transfer = detail
        .transfers
        .iter()
        .any(|t| t.status == "PENDING_REVIEW");
    if case.status != "closed" && !holds_transfer && may_propose {
        let _ = write!(
            body,
            "<section><h2>Close the case</h2>\
             <form method=\"post\" action=\"/console/cases/{case}/close\" class=\"close\">{csrf}\
             <label for=\"outcome\">Outcome</label><select id=\"outcome\" name=\"outcome\" required>\
             <option value=\"false_positive\">False positive</option>\
             <option value=\"true_positive\">True positive</option>\
             <option value=\"inconclusive\">Inconclusive</option></select>\
             <label for=\"close-comment\">Comment</label>\
             <textarea id=\"close-comment\" name=\"comment\" required minlength=\"10\" maxlength=\"2000\"></textarea>\
             <button type=\"submit\">Close</button></form></section>",
            case = esc(&case.id),
        );
    }
    body.push_str(&attachments_html(detail, csrf, may_propose, attachment_max));
    body.push_str("<section><h2>Proposals</h2>");
    if detail.proposals.is_empty() {
        body.push_str("<p>None yet.</p>");
    }
    for proposal in &detail.proposals {
        let _ = write!(
            body,
            "<div class=\"proposal\"><p><strong>{decision}</strong> transfer {transfer}: \
             <span class=\"proposal-status\">{status}</span>, proposed by {by}, expires {expires}</p>\
             <blockquote>{reason}</blockquote>",
            decision = esc(proposal.decision),
            transfer = esc(&proposal.transfer),
            status = esc(proposal.status),
            by = esc(&proposal.proposed_by),
            expires = esc(&time_text(proposal.expires_at)),
            reason = esc(&proposal.reason),
        );
        if proposal.status == "pending" && may_approve {
            for (verb, label) in [("approve", "Approve"), ("reject", "Reject")] {
                let _ = write!(
                    body,
                    "<form method=\"post\" action=\"/console/cases/{case}/proposals/{id}/{verb}\" \
                     class=\"decide {verb}\">{csrf}<label for=\"{verb}-{id}\">Comment</label>\
                     <textarea id=\"{verb}-{id}\" name=\"comment\" required minlength=\"10\" maxlength=\"2000\"></textarea>\
                     <button type=\"submit\">{label}</button></form>",
                    case = esc(&case.id),
                    id = esc(&proposal.id),
                );
            }
        }
        body.push_str("</div>");
    }
    body.push_str("</section><section><h2>Event log</h2><table class=\"log\"><thead><tr>\
                   <th>When</th><th>Who</th><th>What</th><th>Comment</th><th>Details</th></tr></thead><tbody>");
    for event in &detail.events {
        let _ = write!(
            body,
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td><code>{}</code></td></tr>",
            esc(&time_text(event.at)),
            esc(&event.actor),
            esc(&event.kind),
            esc(event.comment.as_deref().unwrap_or("")),
            esc(&json_text(&event.data)),
        );
    }
    body.push_str("</tbody></table></section>");
    body
}

/// A case page (HTML): transfers, screening matches, monitoring rules, proposals, log.
#[utoipa::path(get, path = "/console/cases/{id}", tag = "console",
    security(("staff_session" = ["personal_data:read"])),
    responses((status = 200, content_type = "text/html")))]
pub async fn case_page(
    State(state): State<AppState>,
    staff: Staff,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Response {
    let result: ApiResult<Response> = async {
        let id: CaseId = id.parse().map_err(|_| ApiError::NotFound)?;
        let detail = cases::detail(&state, id).await?;
        let body = case_body(
            &detail,
            &csrf_field(&state, &headers),
            &staff,
            state.payments.attachment_max_bytes(),
        );
        Ok(page(StatusCode::OK, "Case", Some(&staff), &body))
    }
    .await;
    result.unwrap_or_else(|e| refused(e, &staff, INBOX))
}

/// Proposes a decision on a held transfer (form).
#[utoipa::path(post, path = "/console/cases/{id}/proposals", tag = "console",
    security(("staff_session" = ["reviews:decide"])),
    responses((status = 303, content_type = "text/html")))]
pub async fn propose(
    State(state): State<AppState>,
    staff: Staff,
    Path(id): Path<String>,
    body: Bytes,
) -> Response {
    let result: ApiResult<()> = async {
        let case: CaseId = id.parse().map_err(|_| ApiError::NotFound)?;
        let fields = form(&body, &["transfer", "decision", "reason"])?;
        let transfer: TransferId = field(&fields, "transfer")?
            .parse()
            .map_err(|_| ApiError::invalid("transfer", "invalid_value", "not a transfer id"))?;
        let decision: ReviewDecision = field(&fields, "decision")?.parse().map_err(
            |e: benteng_core::cases::UnknownName| {
                ApiError::invalid("decision", "invalid_value", &e.to_string())
            },
        )?;
        let reason = comment_text(&fields, "reason")?;
        let input = ProposalInput {
            transfer,
            decision,
            reason,
        };
        cases::propose_on(&state, &staff, case, &input).await?;
        Ok(())
    }
    .await;
    back_to_case(&id, &staff, result)
}

/// Closes a case that holds no held transfer, with its outcome (form).
#[utoipa::path(post, path = "/console/cases/{id}/close", tag = "console",
    security(("staff_session" = ["reviews:decide"])),
    responses((status = 303, content_type = "text/html")))]
pub async fn close(
    State(state): State<AppState>,
    staff: Staff,
    Path(id): Path<String>,
    body: Bytes,
) -> Response {
    let result: ApiResult<()> = async {
        let case: CaseId = id.parse().map_err(|_| ApiError::NotFound)?;
        let fields = form(&body, &["outcome", "comment"])?;
        let outcome: CaseOutcome =
            field(&fields, "outcome")?
                .parse()
                .map_err(|e: benteng_core::cases::UnknownName| {
                    ApiError::invalid("outcome", "invalid_value", &e.to_string())
                })?;
        let comment: CaseComment = comment_text(&fields, "comment")?;
        cases::close_on(&state, &staff, case, outcome, &comment).await?;
        Ok(())
    }
    .await;
    back_to_case(&id, &staff, result)
}

/// Attaches a file to a case (a `multipart/form-data` form: the CSRF field, checked by the
/// middleware, and one `file` part with its name and type).
#[utoipa::path(post, path = "/console/cases/{id}/attachments", tag = "console",
    security(("staff_session" = ["reviews:decide"])),
    responses((status = 303, content_type = "text/html")))]
pub async fn add_attachment(
    State(state): State<AppState>,
    staff: Staff,
    Path(id): Path<String>,
    request: axum::extract::Request,
) -> Response {
    let result: ApiResult<()> = async {
        let case: CaseId = id.parse().map_err(|_| ApiError::NotFound)?;
        let upload = read_upload(&state, request).await?;
        let file = benteng_payments::case_attachments::NewAttachment {
            filename: upload.filename,
            declared: upload.declared,
            bytes: &upload.bytes,
        };
        cases::attach_on(&state, &staff, case, file).await?;
        Ok(())
    }
    .await;
    back_to_case(&id, &staff, result)
}

/// The file of an upload form, checked as the API checks a raw upload.
struct Upload {
    filename: benteng_core::documents::FileName,
    declared: benteng_core::documents::DocumentType,
    bytes: Vec<u8>,
}

/// Reads the one `file` part of a `multipart/form-data` form (besides the CSRF field), no
/// further than the attachment cap.
async fn read_upload(state: &AppState, request: axum::extract::Request) -> ApiResult<Upload> {
    let malformed = |_| ApiError::BadRequest("the form could not be read");
    let boundary = request
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| multer::parse_boundary(v).ok())
        .ok_or(ApiError::BadRequest("the form must be multipart/form-data"))?;
    let limit = state.payments.attachment_max_bytes();
    let mut form = multer::Multipart::new(request.into_body().into_data_stream(), boundary);
    let mut upload = None;
    while let Some(mut field) = form.next_field().await.map_err(malformed)? {
        match field.name() {
            Some(CSRF_FIELD) => continue,
            Some("file") if upload.is_none() => {}
            Some("file") => return Err(ApiError::BadRequest("the form repeats a field")),
            _ => return Err(ApiError::BadRequest("the form has an unknown field")),
        }
        let filename = cases::file_name(field.file_name().unwrap_or_default())?;
        let declared = cases::declared_type(field.content_type().map(|m| m.essence_str()))?;
        let mut bytes = Vec::new();
        while let Some(chunk) = field.chunk().await.map_err(malformed)? {
            if bytes.len() + chunk.len() > limit {
                return Err(benteng_payments::Refusal::Document(
                    benteng_core::documents::DocumentRefusal::TooLarge { limit },
                )
                .into());
            }
            bytes.extend_from_slice(&chunk);
        }
        upload = Some(Upload {
            filename,
            declared,
            bytes,
        });
    }
    upload.ok_or_else(|| ApiError::invalid("file", "required", "is required"))
}

/// Where a case form's post leads: back to the case page (303), or the refusal shown with a
/// link back to it.
fn back_to_case(id: &str, staff: &Staff, result: ApiResult<()>) -> Response {
    let back = format!("/console/cases/{}", id.chars().take(36).collect::<String>());
    match result {
        Ok(()) => see_other(&back),
        Err(e) => refused(e, staff, &back),
    }
}

async fn decide(
    state: AppState,
    staff: Staff,
    id: String,
    proposal: String,
    body: Bytes,
    approve: bool,
) -> Response {
    let result: ApiResult<()> = async {
        let case: CaseId = id.parse().map_err(|_| ApiError::NotFound)?;
        let proposal: PendingActionId = proposal.parse().map_err(|_| ApiError::NotFound)?;
        let fields = form(&body, &["comment"])?;
        let comment: CaseComment = comment_text(&fields, "comment")?;
        cases::decide_on(&state, &staff, case, proposal, approve, &comment).await?;
        Ok(())
    }
    .await;
    back_to_case(&id, &staff, result)
}

/// Approves a proposal (form).
#[utoipa::path(post, path = "/console/cases/{id}/proposals/{proposal}/approve", tag = "console",
    security(("staff_session" = ["reviews:approve"])),
    responses((status = 303, content_type = "text/html")))]
pub async fn approve(
    State(state): State<AppState>,
    staff: Staff,
    Path((id, proposal)): Path<(String, String)>,
    body: Bytes,
) -> Response {
    decide(state, staff, id, proposal, body, true).await
}

/// Rejects a proposal (form).
#[utoipa::path(post, path = "/console/cases/{id}/proposals/{proposal}/reject", tag = "console",
    security(("staff_session" = ["reviews:approve"])),
    responses((status = 303, content_type = "text/html")))]
pub async fn reject(
    State(state): State<AppState>,
    staff: Staff,
    Path((id, proposal)): Path<(String, String)>,
    body: Bytes,
) -> Response {
    decide(state, staff, id, proposal, body, false).await
}

/// The reports tab's table: every report soonest due first, with its clock, its FIU and a UK
/// SAR's DAML clock; already escaped.
pub fn reports_body(
    rows: &[(benteng_store::ReportRow, benteng_operations::ReportStanding)],
) -> String {
    let mut body = format!(
        "<p class=\"count\">{} report(s)</p><table class=\"inbox reports\"><thead><tr>\
         <th>Report</th><th>Kind</th><th>FIU</th><th>Status</th><th>Due</th><th>Clock</th>\
         <th>Case</th><th>FIU reference</th><th>DAML</th><th>DAML clock</th><th>DAML ends</th>\
         </tr></thead><tbody>",
        rows.len()
    );
    for (row, standing) in rows {
        let case = row.case_id.map_or_else(String::new, |c| {
            format!("<a href=\"/console/cases/{c}\">{}</a>", esc(&c.to_string()))
        });
        let daml = match (&row.daml_answer, row.daml_due_at) {
            (Some(answer), _) => answer.clone(),
            (None, Some(_)) => "requested".to_owned(),
            (None, None) => String::new(),
        };
        let daml_clock = standing.daml.map_or_else(String::new, |d| {
            format!("{} {}", d.period.as_str(), d.state.as_str())
        });
        let daml_class = standing
            .daml
            .map_or_else(String::new, |d| format!(" daml-{}", d.state.as_str()));
        let _ = write!(
            body,
            "<tr class=\"clock-{}{daml_class}\"><td>{}</td><td>{}</td><td>{}</td><td>{}</td>\
             <td>{}</td><td>{}</td><td>{case}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td>\
             </tr>",
            standing.clock.as_str(),
            esc(&row.id.to_string()),
            esc(&row.kind),
            esc(&standing.fiu),
            esc(row.status.as_str()),
            esc(&time_text(row.due_at)),
            esc(standing.clock.as_str()),
            esc(row.fiu_reference.as_deref().unwrap_or("")),
            esc(&daml),
            esc(&daml_clock),
            esc(&standing
                .daml
                .map(|d| time_text(d.ends_at))
                .unwrap_or_default()),
        );
    }
    body.push_str(
        "</tbody></table><p>Drafting, approval, export and the NCA's DAML answers go through \
         the operator API (<code>/admin/v1/reports</code>) or <code>benteng reports</code>.</p>",
    );
    body
}

/// The reports tab (HTML): regulatory reports and their deadline clocks (`reports:file`).
#[utoipa::path(get, path = "/console/reports", tag = "console",
    security(("staff_session" = ["reports:file"])),
    responses((status = 200, content_type = "text/html")))]
pub async fn reports_page(State(state): State<AppState>, staff: Staff) -> Response {
    let result: ApiResult<Response> = async {
        let rows = state.operations.reports(&staff.0, None).await?;
        Ok(page(
            StatusCode::OK,
            "Reports",
            Some(&staff),
            &reports_body(&rows),
        ))
    }
    .await;
    result.unwrap_or_else(|e| refused(e, &staff, INBOX))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escaping_leaves_no_markup() {
        let hostile = "<script>alert('x')</script>\"><img src=x onerror=1>&amp;";
        let escaped = esc(hostile);
        for bad in ["<", ">", "\"", "'"] {
            assert!(!escaped.contains(bad), "{escaped}");
        }
        assert_eq!(
            esc("Tom & \"Jerry\" <b>"),
            "Tom &amp; &quot;Jerry&quot; &lt;b&gt;"
        );
    }
}

// ----- incidents -----

/// The incident page's body: its clocks, its detections, and the form that blocks its address.
fn incident_body(
    incident: &benteng_store::IncidentRow,
    detections: &[benteng_store::LinkedDetection],
    csrf: &str,
) -> String {
    let mut body = String::new();
    let _ = write!(
        body,
        "<p>{}</p><dl><dt>Severity</dt><dd>{}</dd><dt>State</dt><dd>{}</dd>\
         <dt>Opened</dt><dd>{}</dd><dt>Acknowledge by</dt><dd>{}</dd>\
         <dt>Contain by</dt><dd>{}</dd><dt>Address</dt><dd>{}</dd></dl>",
        esc(&incident.title),
        esc(incident.severity.as_str()),
        esc(incident.state.as_str()),
        esc(&time_text(incident.opened_at)),
        esc(&time_text(incident.acknowledge_by)),
        esc(&time_text(incident.contain_by)),
        esc(incident.client_address.as_deref().unwrap_or("-")),
    );
    body.push_str(
        "<h2>Detections</h2><table><thead><tr><th>Detection</th><th>Severity</th>\
         <th>Count</th><th>Window (s)</th><th>Fired</th></tr></thead><tbody>",
    );
    for d in detections {
        let _ = write!(
            body,
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            esc(&d.detection),
            esc(d.severity.as_str()),
            d.count,
            d.window_secs,
            esc(&time_text(d.fired_at)),
        );
    }
    body.push_str("</tbody></table>");
    let _ = write!(
        body,
        "<h2>Block this address</h2>\
         <form method=\"post\" action=\"/console/incidents/{}/block\">{csrf}\
         <label for=\"network\">Address or network</label>\
         <input id=\"network\" name=\"network\" type=\"text\" value=\"{}\" required>\
         <label for=\"hours\">For (hours, 1 to 720)</label>\
         <input id=\"hours\" name=\"hours\" type=\"text\" inputmode=\"numeric\" value=\"4\" required>\
         <label for=\"reason\">Reason</label>\
         <input id=\"reason\" name=\"reason\" type=\"text\" required>\
         <button type=\"submit\">Block</button></form>",
        esc(&incident.id.to_string()),
        esc(incident.client_address.as_deref().unwrap_or("")),
    );
    body
}

/// An incident page (HTML): its clocks, linked detections and the block form.
#[utoipa::path(get, path = "/console/incidents/{id}", tag = "console",
    security(("staff_session" = ["incidents:respond"])),
    responses((status = 200, content_type = "text/html")))]
pub async fn incident_page(
    State(state): State<AppState>,
    staff: Staff,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Response {
    let result: ApiResult<Response> = async {
        let id: benteng_core::ids::IncidentId = id.parse().map_err(|_| ApiError::NotFound)?;
        let incident = state.store.incident(id).await?;
        let detections = state.store.incident_detections(id).await?;
        let body = incident_body(&incident, &detections, &csrf_field(&state, &headers));
        Ok(page(StatusCode::OK, "Incident", Some(&staff), &body))
    }
    .await;
    result.unwrap_or_else(|e| refused(e, &staff, INBOX))
}

/// Blocks an address or network for the incident (form): the operator API's block.
#[utoipa::path(post, path = "/console/incidents/{id}/block", tag = "console",
    security(("staff_session" = ["incidents:respond"])),
    responses((status = 303, content_type = "text/html")))]
pub async fn block_address(
    State(state): State<AppState>,
    staff: Staff,
    Path(id): Path<String>,
    body: Bytes,
) -> Response {
    let back = format!(
        "/console/incidents/{}",
        id.chars().take(36).collect::<String>()
    );
    let result: ApiResult<()> = async {
        let incident: benteng_core::ids::IncidentId = id.parse().map_err(|_| ApiError::NotFound)?;
        let fields = form(&body, &["network", "hours", "reason"])?;
        let network: benteng_core::network::Network = field(&fields, "network")?
            .trim()
            .parse()
            .map_err(|_| ApiError::invalid("network", "invalid_value", "not an address or CIDR"))?;
        let hours: u32 = field(&fields, "hours")?
            .trim()
            .parse()
            .ok()
            .filter(|h| (1..=720).contains(h))
            .ok_or_else(|| ApiError::invalid("hours", "out_of_range", "must be 1 to 720"))?;
        let reason = comment_text(&fields, "reason")?;
        let request = super::admin::incidents::BlockRequest {
            network,
            expires_in_secs: hours * 3600,
            reason: reason.as_str().to_owned(),
            incident: Some(incident),
        };
        super::admin::incidents::block_network(&state, &staff, &request).await?;
        Ok(())
    }
    .await;
    match result {
        Ok(()) => see_other(&back),
        Err(e) => refused(e, &staff, &back),
    }
}
