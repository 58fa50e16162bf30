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
use benteng_core::cases::{CaseOutcome, CaseStatus, ReviewDecision, SlaState};
use benteng_core::ids::{CaseId, PendingActionId, PersonId, TransferId};
use benteng_core::roles::Permission;
use benteng_crypto::SecretString;
use benteng_operations::{ClearanceReason, EntryRef};
use benteng_payments::case_work::CaseWork;
use benteng_payments::cases::CaseComment;
use benteng_payments::reviews::ReviewReason;
use benteng_store::{AssigneeFilter, InboxQuery};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use super::admin::cases::{self, CaseDetail, CaseView, DashboardView, ProposalInput};
use super::admin::screening::{SearchRequest, SearchView, run_search};
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
            "/console/dashboard",
            Needs::on_get(Permission::PersonalDataRead.into()),
            get(dashboard_page),
        )
        .staff(
            "/console/screening",
            Needs::on_get(Permission::ScreeningSearch.into())
                .and_post(Permission::ScreeningSearch.into()),
            get(screening_page).post(screening_search),
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
            "/console/cases/{id}/work",
            Needs::on_post(Permission::ReviewsDecide.into()),
            axum::routing::post(work),
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
            "/console/cases/{id}/confirm-hit",
            Needs::on_post(Permission::ReviewsDecide.into()),
            axum::routing::post(confirm_hit),
        )
        .staff(
            "/console/cases/{id}/false-positive",
            Needs::on_post(Permission::ClearancesWrite.into()),
            axum::routing::post(false_positive),
        )
        .staff(
            "/console/cases/{id}/blocks/{block}/clear",
            Needs::on_post(Permission::ReviewsApprove.into()),
            axum::routing::post(clear_block),
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
        // Only the tabs the person may open.
        html.push_str("<nav>");
        if person.permits(Permission::PersonalDataRead) {
            html.push_str(
                "<a class=\"tab\" href=\"/console/cases\">Inbox</a>\
                 <a class=\"tab\" href=\"/console/dashboard\">Dashboard</a>",
            );
        }
        if person.permits(Permission::ScreeningSearch) {
            html.push_str("<a class=\"tab\" href=\"/console/screening\">Screening search</a>");
        }
        if person.permits(Permission::ReportsFile) {
            html.push_str("<a class=\"tab\" href=\"/console/reports\">Reports</a>");
        }
        html.push_str("</nav>");
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
    // A refusal is a page a person reads, not a problem document: `problem_fallback` keeps it.
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

/// `<option>`s for `choices` (value, label), the one equal to `selected` selected.
fn options(choices: &[(&str, &str)], selected: &str) -> String {
    let mut html = String::new();
    for (value, label) in choices {
        let _ = write!(
            html,
            "<option value=\"{}\"{}>{}</option>",
            esc(value),
            if *value == selected { " selected" } else { "" },
            esc(label)
        );
    }
    html
}

/// The inbox's filter form (GET, so a filtered inbox is a link), showing `query`'s filters.
fn inbox_filters(query: &InboxQuery, me: PersonId) -> String {
    let mut statuses = vec![("", "not closed")];
    statuses.extend(CaseStatus::ALL.iter().map(|s| (s.as_str(), s.as_str())));
    let person = match query.assignee {
        Some(AssigneeFilter::Person(person)) if person != me => Some(person.to_string()),
        _ => None,
    };
    let assignee = match query.assignee {
        None => "",
        Some(AssigneeFilter::Unassigned) => "unassigned",
        Some(AssigneeFilter::Person(person)) if person == me => "me",
        Some(AssigneeFilter::Person(_)) => person.as_deref().unwrap_or(""),
    };
    let mut assignees = vec![("", "anyone"), ("me", "me"), ("unassigned", "unassigned")];
    if let Some(person) = person.as_deref() {
        assignees.push((person, person));
    }
    let min_score = query.min_score.map(|s| s.to_string()).unwrap_or_default();
    format!(
        "<form method=\"get\" action=\"/console/cases\" class=\"filters\">\
         <label for=\"status\">Status</label><select id=\"status\" name=\"status\">{status}</select>\
         <label for=\"sla\">SLA</label><select id=\"sla\" name=\"sla\">{sla}</select>\
         <label for=\"min_score\">Score at least</label><input id=\"min_score\" name=\"min_score\" \
         type=\"number\" min=\"0\" max=\"100\" step=\"1\" value=\"{min_score}\">\
         <label for=\"country\">Country</label><input id=\"country\" name=\"country\" type=\"text\" \
         size=\"3\" maxlength=\"2\" pattern=\"[A-Z]{{2}}\" title=\"ISO country code, e.g. IR\" value=\"{country}\">\
         <label for=\"currency\">Currency</label><input id=\"currency\" name=\"currency\" type=\"text\" \
         size=\"4\" maxlength=\"3\" pattern=\"[A-Z]{{3}}\" title=\"ISO currency code, e.g. EUR\" value=\"{currency}\">\
         <label for=\"inbox\">Inbox</label><input id=\"inbox\" name=\"inbox\" type=\"text\" size=\"10\" \
         maxlength=\"40\" pattern=\"[A-Za-z0-9_\\-]{{1,40}}\" value=\"{inbox}\">\
         <label for=\"assignee\">Assignee</label><select id=\"assignee\" name=\"assignee\">{assignee}</select>\
         <label for=\"sort\">Sort by</label><select id=\"sort\" name=\"sort\">{sort}</select>\
         <button type=\"submit\">Show</button><a href=\"/console/cases\">Clear</a></form>",
        status = options(&statuses, query.status.map_or("", CaseStatus::as_str)),
        sla = options(
            &[
                ("", "any"),
                ("overdue", "overdue"),
                ("due_soon", "due soon"),
                ("on_time", "on time"),
            ],
            query.sla.map_or("", SlaState::as_str),
        ),
        country = esc(query.country.map_or("", |c| c.as_str())),
        currency = esc(query.currency.map_or("", |c| c.code())),
        inbox = esc(query.inbox.as_ref().map_or("", |i| i.as_str())),
        assignee = options(&assignees, assignee),
        sort = options(
            &[("sla", "SLA due"), ("score", "risk score")],
            query.sort.as_str()
        ),
    )
}

fn inbox_rows(cases: &[CaseView]) -> String {
    let mut html = String::with_capacity(cases.len() * 512);
    for case in cases {
        let (sla_class, flag) = match case.sla_state {
            Some("overdue") => ("overdue", " (overdue)"),
            Some("due_soon") => ("due-soon", " (due soon)"),
            _ => ("due", ""),
        };
        let assignee = case.assignee.as_deref().map_or_else(
            || "—".to_owned(),
            |a| format!("<a href=\"/console/cases?assignee={0}\">{0}</a>", esc(a)),
        );
        let _ = write!(
            html,
            "<tr><td><a href=\"/console/cases/{id}\">{short}</a></td><td>{subject}</td>\
             <td>{party}</td><td>{inbox}</td><td>{status}</td><td class=\"num\">{priority}</td>\
             <td class=\"{sla_class}\">{sla}{flag}</td><td>{assignee}</td><td>{opened}</td></tr>",
            id = esc(&case.id),
            short = esc(case.id.get(..8).unwrap_or(&case.id)),
            subject = esc(case.subject),
            party = esc(&format!("{} {}", case.party_kind, case.party_id)),
            inbox = esc(&case.inbox),
            status = esc(case.status),
            priority = case.priority,
            sla = esc(&time_text(case.sla_due_at)),
            opened = esc(&time_text(case.opened_at)),
        );
    }
    html
}

/// The inbox page's HTML body (also what the render benchmark measures): the filters,
/// "take the next case", and the cases.
pub fn inbox_body(cases: &[CaseView], query: &InboxQuery, me: PersonId, csrf: &str) -> String {
    let mut body = String::with_capacity(cases.len() * 512 + 4096);
    body.push_str(&inbox_filters(query, me));
    let _ = write!(
        body,
        "<form method=\"post\" action=\"/console/cases/next\" class=\"take-next\">{csrf}\
         <button type=\"submit\" id=\"take-next\">Take the next case</button></form>"
    );
    let _ = write!(
        body,
        "<p class=\"count\">{} case(s)</p><table class=\"inbox\"><thead><tr><th>Case</th>\
         <th>Subject</th><th>Party</th><th>Inbox</th><th>Status</th><th>Score</th><th>SLA due</th>\
         <th>Assignee</th><th>Opened</th></tr></thead><tbody>{}</tbody></table>",
        cases.len(),
        inbox_rows(cases)
    );
    body
}

/// The inbox page (HTML): the cases, filtered and ordered as the operator API's
/// `GET /admin/v1/cases` query string says (the form submits the same parameters).
#[utoipa::path(get, path = "/console/cases", tag = "console",
    security(("staff_session" = ["personal_data:read"])),
    responses((status = 200, content_type = "text/html"),
        (status = 422, content_type = "text/html")))]
pub async fn inbox(
    State(state): State<AppState>,
    staff: Staff,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
) -> Response {
    let result: ApiResult<Response> = async {
        let query = cases::inbox_query(&state, &staff, query.as_deref())?;
        let listed = cases::inbox(&state, &query).await?;
        let body = inbox_body(
            &listed,
            &query,
            staff.0.person,
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
         <dt>Party</dt><dd>{party}</dd><dt>Name</dt><dd>{party_name}</dd><dt>Tenant</dt><dd>{tenant}</dd><dt>Status</dt>\
         <dd id=\"case-status\">{status}</dd><dt>Outcome</dt><dd>{outcome}</dd><dt>Score</dt>\
         <dd>{priority}</dd><dt>SLA due</dt><dd class=\"{sla_class}\" id=\"case-sla\">{sla}{missed}</dd>\
         <dt>Assignee</dt><dd>{assignee}</dd><dt>Inbox</dt><dd id=\"case-inbox\">{inbox}</dd></dl>",
        id = esc(&case.id),
        subject = esc(case.subject),
        party = esc(&format!("{} {}", case.party_kind, case.party_id)),
        party_name = esc(detail.party_name.as_deref().unwrap_or("—")),
        tenant = esc(&case.tenant_id),
        status = esc(case.status),
        outcome = esc(case.outcome.unwrap_or("—")),
        priority = case.priority,
        sla_class = if case.overdue { "overdue" } else { "due" },
        sla = esc(&time_text(case.sla_due_at)),
        missed = match case.sla_missed_at {
            Some(at) => format!(" (SLA missed, recorded {})", esc(&time_text(at))),
            None if case.overdue => " (overdue)".to_owned(),
            None => String::new(),
        },
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
    if !detail.screening_hits.is_empty() {
        body.push_str("<section class=\"screening-hits\"><h2>Screening hits</h2>");
        let party = detail.party_name.as_deref().unwrap_or(&case.party_id);
        for hit in &detail.screening_hits {
            let _ = write!(
                body,
                "<div class=\"screening-hit\"><p>{occasion}, {at}: score {score}, verdict {verdict}</p>{matches}</div>",
                occasion = esc(&hit.occasion),
                at = esc(&time_text(hit.at)),
                score = hit.score,
                verdict = esc(&hit.verdict),
                matches = screening_html(party, std::slice::from_ref(&hit.explanation)),
            );
        }
        body.push_str("</section>");
    }
    if !detail.kyc_requests.is_empty() {
        body.push_str(
            "<section class=\"kyc-requests\"><h2>KYC upgrade requests</h2><table class=\"kyc\">\
             <thead><tr><th>Requested</th><th>By</th><th>Level</th><th>Status</th><th>Decided</th>\
             </tr></thead><tbody>",
        );
        for request in &detail.kyc_requests {
            let _ = write!(
                body,
                "<tr><td>{}</td><td>{}</td><td>{}</td><td class=\"kyc-status\">{}</td><td>{}</td></tr>",
                esc(&time_text(request.requested_at)),
                esc(&request.requested_by),
                esc(request.level),
                esc(&request.status),
                esc(&request
                    .decided_at
                    .map(time_text)
                    .unwrap_or_else(|| "—".to_owned())),
            );
        }
        body.push_str("</tbody></table></section>");
    }
    if let Some(block) = &detail.block {
        let _ = write!(
            body,
            "<section class=\"block\"><h2>Party blocked</h2><p id=\"party-blocked\">Blocked since {at} \
             (confirmed on case {case}, proposed by {by}, approved by {approver}): every transfer \
             to or from this party is blocked.</p>",
            at = esc(&time_text(block.blocked_at)),
            case = esc(&block.case),
            by = esc(&block.proposed_by),
            approver = esc(&block.approved_by),
        );
        if may_approve {
            let _ = write!(
                body,
                "<form method=\"post\" action=\"/console/cases/{case}/blocks/{block}/clear\" \
                 class=\"clear-block\">{csrf}<label for=\"clear-block-comment\">Why</label>\
                 <textarea id=\"clear-block-comment\" name=\"comment\" required minlength=\"10\" \
                 maxlength=\"2000\"></textarea><button type=\"submit\">Clear the block</button></form>",
                case = esc(&case.id),
                block = esc(&block.id),
            );
        }
        body.push_str("</section>");
    }
    if case.subject == "screening" && case.status != "closed" && !detail.screening_hits.is_empty() {
        body.push_str("<section class=\"hit-decisions\"><h2>Decide the hits</h2>");
        if may_propose {
            let _ = write!(
                body,
                "<form method=\"post\" action=\"/console/cases/{case}/confirm-hit\" \
                 class=\"confirm-hit\">{csrf}<fieldset><legend>Confirm the hit (true match): the \
                 party is blocked once a compliance officer approves</legend>\
                 <label for=\"confirm-comment\">Reason</label><textarea id=\"confirm-comment\" \
                 name=\"comment\" required minlength=\"10\" maxlength=\"2000\"></textarea>\
                 <button type=\"submit\">Propose confirming</button></fieldset></form>",
                case = esc(&case.id),
            );
        }
        if staff.0.permits(Permission::ClearancesWrite) {
            let mut entries: Vec<String> = detail
                .screening_hits
                .iter()
                .flat_map(|hit| {
                    hit.explanation["matches"]
                        .as_array()
                        .map(Vec::as_slice)
                        .unwrap_or(&[])
                        .iter()
                        .filter(|m| m["cleared"] != true)
                        .map(|m| format!("{}:{}", json_text(&m["list"]), json_text(&m["entry_id"])))
                        .collect::<Vec<_>>()
                })
                .collect();
            entries.sort();
            entries.dedup();
            let options: String = entries
                .iter()
                .map(|e| format!("<option value=\"{0}\">{0}</option>", esc(e)))
                .collect();
            let _ = write!(
                body,
                "<form method=\"post\" action=\"/console/cases/{case}/false-positive\" \
                 class=\"false-positive\">{csrf}<fieldset><legend>Mark a false positive: the \
                 party is cleared against this entry until the entry changes</legend>\
                 <label for=\"fp-entry\">List entry</label><select id=\"fp-entry\" name=\"entry\" \
                 required>{options}</select><label for=\"fp-reason\">Reason</label>\
                 <textarea id=\"fp-reason\" name=\"reason\" required minlength=\"10\" \
                 maxlength=\"2000\"></textarea><button type=\"submit\">Mark false positive</button>\
                 </fieldset></form>",
                case = esc(&case.id),
            );
        }
        body.push_str("</section>");
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
    body.push_str(&previous_cases(&detail.previous));
    if may_propose {
        body.push_str(&work_forms(case, csrf));
    }
    body.push_str(&attachments_html(detail, csrf, may_propose, attachment_max));
    body.push_str("<section><h2>Proposals</h2>");
    if detail.proposals.is_empty() {
        body.push_str("<p>None yet.</p>");
    }
    for proposal in &detail.proposals {
        let _ = write!(
            body,
            "<div class=\"proposal\"><p><strong>{decision}</strong> {transfer}: \
             <span class=\"proposal-status\">{status}</span>, proposed by {by}, expires {expires}</p>\
             <blockquote>{reason}</blockquote>",
            decision = esc(proposal.decision),
            transfer = esc(&proposal.transfer.as_ref().map_or_else(
                || "the screening hits".to_owned(),
                |t| format!("transfer {t}")
            )),
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

/// The party's other cases and what they came to, each linked.
fn previous_cases(previous: &[CaseView]) -> String {
    let mut html = String::from("<section class=\"previous\"><h2>The party's other cases</h2>");
    if previous.is_empty() {
        html.push_str("<p>None.</p></section>");
        return html;
    }
    html.push_str(
        "<table class=\"previous\"><thead><tr><th>Case</th><th>Subject</th><th>Opened</th>\
         <th>Status</th><th>Outcome</th><th>Score</th></tr></thead><tbody>",
    );
    for case in previous {
        let _ = write!(
            html,
            "<tr><td><a href=\"/console/cases/{id}\">{short}</a></td><td>{subject}</td>\
             <td>{opened}</td><td>{status}</td><td>{outcome}</td><td>{score}</td></tr>",
            id = esc(&case.id),
            short = esc(case.id.get(..8).unwrap_or(&case.id)),
            subject = esc(case.subject),
            opened = esc(&time_text(case.opened_at)),
            status = esc(case.status),
            outcome = esc(case.outcome.unwrap_or("—")),
            score = case.priority,
        );
    }
    html.push_str("</tbody></table></section>");
    html
}

/// The forms that work a case: a comment, its status, taking or leaving it; a closed case's
/// only form reopens it. Each posts to `/console/cases/{id}/work` with its `action`.
fn work_forms(case: &CaseView, csrf: &str) -> String {
    let form = |action: &str, legend: &str, fields: &str, comment_required: bool| {
        let required = if comment_required {
            " required minlength=\"10\""
        } else {
            ""
        };
        format!(
            "<form method=\"post\" action=\"/console/cases/{case}/work\" class=\"work {action}\">\
             {csrf}<input type=\"hidden\" name=\"action\" value=\"{action}\"><fieldset>\
             <legend>{legend}</legend>{fields}<label for=\"{action}-comment\">Comment</label>\
             <textarea id=\"{action}-comment\" name=\"comment\"{required} maxlength=\"2000\">\
             </textarea><button type=\"submit\">{legend}</button></fieldset></form>",
            case = esc(&case.id),
        )
    };
    let mut html = String::from("<section class=\"work\"><h2>Work the case</h2>");
    if case.status == CaseStatus::Closed.as_str() {
        html.push_str(&form("reopen", "Reopen", "", true));
    } else {
        html.push_str(&form("comment", "Comment", "", true));
        let mut options = String::new();
        for status in CaseStatus::ALL.iter().filter(|s| **s != CaseStatus::Closed) {
            let selected = if status.as_str() == case.status {
                " selected"
            } else {
                ""
            };
            let _ = write!(
                options,
                "<option value=\"{s}\"{selected}>{s}</option>",
                s = status.as_str()
            );
        }
        let status = format!(
            "<label for=\"status-value\">Status</label>\
             <select id=\"status-value\" name=\"status\" required>{options}</select>"
        );
        html.push_str(&form("status", "Set status", &status, false));
        let assignee = "<label for=\"assignee-value\">Assignee</label>\
             <select id=\"assignee-value\" name=\"assignee\"><option value=\"me\">Me</option>\
             <option value=\"\">Nobody</option></select>";
        html.push_str(&form("assign", "Assign", assignee, false));
    }
    html.push_str("</section>");
    html
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

/// Proposes confirming a screening case's hits as a true match (form).
#[utoipa::path(post, path = "/console/cases/{id}/confirm-hit", tag = "console",
    security(("staff_session" = ["reviews:decide"])),
    responses((status = 303, content_type = "text/html")))]
pub async fn confirm_hit(
    State(state): State<AppState>,
    staff: Staff,
    Path(id): Path<String>,
    body: Bytes,
) -> Response {
    let result: ApiResult<()> = async {
        let case: CaseId = id.parse().map_err(|_| ApiError::NotFound)?;
        let fields = form(&body, &["comment"])?;
        let comment: CaseComment = comment_text(&fields, "comment")?;
        cases::confirm_hit_on(&state, &staff, case, &comment).await?;
        Ok(())
    }
    .await;
    back_to_case(&id, &staff, result)
}

/// Marks a screening case's hit on one list entry a false positive (form).
#[utoipa::path(post, path = "/console/cases/{id}/false-positive", tag = "console",
    security(("staff_session" = ["clearances:write"])),
    responses((status = 303, content_type = "text/html")))]
pub async fn false_positive(
    State(state): State<AppState>,
    staff: Staff,
    Path(id): Path<String>,
    body: Bytes,
) -> Response {
    let result: ApiResult<()> = async {
        let case: CaseId = id.parse().map_err(|_| ApiError::NotFound)?;
        let fields = form(&body, &["entry", "reason"])?;
        let entry: EntryRef =
            field(&fields, "entry")?
                .parse()
                .map_err(|e: benteng_operations::NotAnEntry| {
                    ApiError::invalid("entry", "invalid_value", &e.to_string())
                })?;
        let reason: ClearanceReason = comment_text(&fields, "reason")?.as_str().parse().map_err(
            |e: benteng_operations::BadReason| {
                ApiError::invalid("reason", "invalid_value", &e.to_string())
            },
        )?;
        cases::false_positive_on(&state, &staff, case, entry, reason).await?;
        Ok(())
    }
    .await;
    back_to_case(&id, &staff, result)
}

/// Clears the block on a screening case's party (form; a compliance officer).
#[utoipa::path(post, path = "/console/cases/{id}/blocks/{block}/clear", tag = "console",
    security(("staff_session" = ["reviews:approve"])),
    responses((status = 303, content_type = "text/html")))]
pub async fn clear_block(
    State(state): State<AppState>,
    staff: Staff,
    Path((id, block)): Path<(String, String)>,
    body: Bytes,
) -> Response {
    let result: ApiResult<()> = async {
        let block: uuid::Uuid = block.parse().map_err(|_| ApiError::NotFound)?;
        let fields = form(&body, &["comment"])?;
        let comment: CaseComment = comment_text(&fields, "comment")?;
        cases::clear_block_on(&state, &staff, &block.to_string(), &comment).await?;
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

/// Works a case (form): `action` is comment, status, assign (`assignee` "me" or empty for
/// nobody) or reopen; the comment is optional for status and assign.
#[utoipa::path(post, path = "/console/cases/{id}/work", tag = "console",
    security(("staff_session" = ["reviews:decide"])),
    responses((status = 303, content_type = "text/html")))]
pub async fn work(
    State(state): State<AppState>,
    staff: Staff,
    Path(id): Path<String>,
    body: Bytes,
) -> Response {
    let result: ApiResult<()> = async {
        let case: CaseId = id.parse().map_err(|_| ApiError::NotFound)?;
        let fields = form(&body, &["action", "status", "assignee", "comment"])?;
        let comment = || comment_text(&fields, "comment");
        let optional_comment = || match fields.get("comment").map(|c| c.trim()) {
            None | Some("") => Ok(None),
            Some(_) => comment().map(Some),
        };
        let work = match field(&fields, "action")? {
            "comment" => CaseWork::Comment(comment()?),
            "reopen" => CaseWork::Reopen(comment()?),
            "status" => {
                let status: CaseStatus = field(&fields, "status")?.parse().map_err(
                    |e: benteng_core::cases::UnknownName| {
                        ApiError::invalid("status", "invalid_value", &e.to_string())
                    },
                )?;
                CaseWork::Status(status, optional_comment()?)
            }
            "assign" => {
                let assignee = match field(&fields, "assignee")? {
                    "me" => Some(staff.0.person),
                    "" => None,
                    _ => {
                        return Err(ApiError::invalid(
                            "assignee",
                            "invalid_value",
                            "must be me or empty (nobody)",
                        ));
                    }
                };
                CaseWork::Assign(assignee, optional_comment()?)
            }
            _ => {
                return Err(ApiError::invalid(
                    "action",
                    "invalid_value",
                    "must be one of: comment, status, assign, reopen",
                ));
            }
        };
        cases::work_on(&state, &staff, case, &work).await?;
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

// ----- dashboard -----

/// A bar for a count, relative to the largest: a `<meter>`, so no inline style is needed.
fn bar(value: i64, max: i64) -> String {
    format!(
        "<meter min=\"0\" max=\"{}\" value=\"{value}\">{value}</meter>",
        max.max(1)
    )
}

/// The dashboard's body: open cases and breaches, by age and inbox, and decisions per day.
pub fn dashboard_body(view: &DashboardView) -> String {
    let mut body = format!(
        "<p class=\"tiles\"><a class=\"tile\" href=\"/console/cases\"><strong id=\"open-count\">{open}</strong> \
         open</a><a class=\"tile breach\" href=\"/console/cases?sla=overdue\"><strong id=\"overdue-count\">{overdue}</strong> \
         past their SLA</a><span class=\"count\">as of {at}</span></p>",
        open = view.open,
        overdue = view.overdue,
        at = esc(&time_text(view.at)),
    );
    body.push_str(
        "<section><h2>Open cases by age</h2><table class=\"dashboard ages\"><thead><tr>\
         <th>Opened</th><th>Open</th><th>Share</th></tr></thead><tbody>",
    );
    for bucket in &view.open_by_age {
        let label = match bucket.age {
            "under_1_day" => "under 1 day ago",
            "1_to_3_days" => "1 to 3 days ago",
            "3_to_7_days" => "3 to 7 days ago",
            _ => "7 days ago or more",
        };
        let _ = write!(
            body,
            "<tr id=\"age-{id}\"><td>{label}</td><td class=\"num\">{open}</td><td>{bar}</td></tr>",
            id = esc(bucket.age),
            open = bucket.open,
            bar = bar(bucket.open, view.open),
        );
    }
    body.push_str(
        "</tbody></table></section><section><h2>Per inbox</h2>\
         <table class=\"dashboard inboxes\"><thead><tr><th>Inbox</th><th>Open</th>\
         <th>Past their SLA</th></tr></thead><tbody>",
    );
    if view.inboxes.is_empty() {
        body.push_str("<tr><td colspan=\"3\">No open case.</td></tr>");
    }
    for inbox in &view.inboxes {
        let name = esc(&inbox.inbox);
        let _ = write!(
            body,
            "<tr><td><a href=\"/console/cases?inbox={name}\">{name}</a></td>\
             <td class=\"num\">{open}</td><td class=\"num{breach}\">\
             <a href=\"/console/cases?inbox={name}&amp;sla=overdue\">{overdue}</a></td></tr>",
            open = inbox.open,
            overdue = inbox.overdue,
            breach = if inbox.overdue > 0 { " overdue" } else { "" },
        );
    }
    let busiest = view
        .decisions_per_day
        .iter()
        .map(|d| d.total)
        .max()
        .unwrap_or(0);
    let _ = write!(
        body,
        "</tbody></table></section><section><h2>Decisions per day (cases closed, last {} days, UTC)</h2>\
         <table class=\"dashboard decisions\"><thead><tr><th>Day</th><th>False positive</th>\
         <th>True positive</th><th>Inconclusive</th><th>Total</th><th></th></tr></thead><tbody>",
        view.decisions_per_day.len()
    );
    for day in &view.decisions_per_day {
        let _ = write!(
            body,
            "<tr id=\"day-{d}\"><td>{d}</td><td class=\"num\">{fp}</td><td class=\"num\">{tp}</td>\
             <td class=\"num\">{inc}</td><td class=\"num\">{total}</td><td>{bar}</td></tr>",
            d = esc(&day.day),
            fp = day.false_positive,
            tp = day.true_positive,
            inc = day.inconclusive,
            total = day.total,
            bar = bar(day.total, busiest),
        );
    }
    body.push_str("</tbody></table></section>");
    body
}

/// The dashboard (HTML): what `GET /admin/v1/cases/dashboard` answers, as tables.
#[utoipa::path(get, path = "/console/dashboard", tag = "console",
    security(("staff_session" = ["personal_data:read"])),
    responses((status = 200, content_type = "text/html")))]
pub async fn dashboard_page(State(state): State<AppState>, staff: Staff) -> Response {
    match cases::dashboard(&state).await {
        Ok(view) => page(
            StatusCode::OK,
            "Dashboard",
            Some(&staff),
            &dashboard_body(&view),
        ),
        Err(e) => refused(e, &staff, INBOX),
    }
}

// ----- screening search -----

const SEARCH_FIELDS: &[&str] = &["name", "type", "country", "birth_year"];

/// The search form, with what was typed (at most 200 characters of each field are shown back).
fn search_form(csrf: &str, typed: &BTreeMap<String, String>) -> String {
    let value = |name: &str| {
        esc(&typed
            .get(name)
            .map(|v| v.chars().take(200).collect::<String>())
            .unwrap_or_default())
    };
    let kind = typed.get("type").map_or("", String::as_str);
    format!(
        "<form method=\"post\" action=\"/console/screening\" class=\"search\">{csrf}\
         <label for=\"name\">Name</label><input id=\"name\" name=\"name\" type=\"text\" \
         maxlength=\"200\" required autofocus value=\"{name}\">\
         <label for=\"type\">Type</label><select id=\"type\" name=\"type\">{types}</select>\
         <label for=\"country\">Country (optional)</label><input id=\"country\" name=\"country\" \
         type=\"text\" maxlength=\"64\" value=\"{country}\">\
         <label for=\"birth_year\">Birth year (optional)</label><input id=\"birth_year\" \
         name=\"birth_year\" type=\"text\" inputmode=\"numeric\" maxlength=\"4\" size=\"5\" \
         value=\"{birth_year}\"><button type=\"submit\">Search</button></form>",
        name = value("name"),
        types = options(
            &[
                ("", "either"),
                ("individual", "individual"),
                ("business", "entity (business)")
            ],
            kind
        ),
        country = value("country"),
        birth_year = value("birth_year"),
    )
}

/// Each element of a JSON array as text, joined.
fn json_list(value: &serde_json::Value, each: impl Fn(&serde_json::Value) -> String) -> String {
    value
        .as_array()
        .map(|items| items.iter().map(each).collect::<Vec<_>>().join("; "))
        .unwrap_or_default()
}

/// A search's matches, each beside its list entry, with the score's explanation; every
/// value escaped.
pub fn search_results(request: &SearchRequest, view: &SearchView) -> String {
    let mut html = format!(
        "<p class=\"verdict\" id=\"verdict\">Best score {score}: a transfer party would get \
         <strong>{verdict}</strong>. {count} match(es).</p>",
        score = view.score,
        verdict = esc(view.verdict),
        count = view.matches.len(),
    );
    let dash = |text: String| {
        if text.is_empty() {
            "—".to_owned()
        } else {
            text
        }
    };
    let searched_kind = request.kind.map_or("—", |k| k.as_str());
    let searched_country = request.country.as_ref().map_or("—", |c| c.as_str());
    let searched_year = request
        .birth_year
        .map(|y| y.to_string())
        .unwrap_or_default();
    for (n, m) in view.matches.iter().enumerate() {
        let entry = &m["entry"];
        let evidence = &m["evidence"];
        let _ = write!(
            html,
            "<section class=\"match\" id=\"match-{n}\"><h2>{score} · {entry_name} \
             <span class=\"count\">{list}:{entry_id}</span></h2>\
             <table class=\"side-by-side\"><thead><tr><th></th><th>Searched</th>\
             <th>List entry</th></tr></thead><tbody>\
             <tr><th>Name</th><td>{name}</td><td>{entry_name}</td></tr>\
             <tr><th>Matched name</th><td>{norm_query}</td><td>{matched} \
             <span class=\"count\">(compared as {norm_name})</span></td></tr>\
             <tr><th>Aliases</th><td>—</td><td>{aliases}</td></tr>\
             <tr><th>Type</th><td>{kind}</td><td>{entry_type}</td></tr>\
             <tr><th>Date of birth</th><td>{year}</td><td>{dobs}</td></tr>\
             <tr><th>Nationality</th><td>{country}</td><td>{nationalities}</td></tr>\
             <tr><th>Identifiers</th><td>—</td><td>{identifiers}</td></tr>\
             <tr><th>Addresses</th><td>—</td><td>{addresses}</td></tr>\
             <tr><th>Programme</th><td>—</td><td>{programs}</td></tr>\
             <tr><th>List version</th><td>—</td><td><code>{version}</code></td></tr>\
             </tbody></table>",
            score = esc(&json_text(&m["score"])),
            entry_name = esc(&json_text(&m["entry_name"])),
            list = esc(&json_text(&m["source"])),
            entry_id = esc(&json_text(&m["entry_id"])),
            name = esc(request.name.as_str()),
            norm_query = esc(&json_text(&evidence["normalized_query"])),
            matched = esc(&json_text(&m["matched_name"])),
            norm_name = esc(&json_text(&evidence["normalized_name"])),
            aliases = esc(&dash(json_list(&entry["aliases"], json_text))),
            kind = esc(searched_kind),
            entry_type = esc(&json_text(&m["entity_type"])),
            year = esc(&dash(searched_year.clone())),
            dobs = esc(&dash(json_list(&entry["dates_of_birth"], |d| {
                let mut text = format!("{:04}", d["year"].as_u64().unwrap_or(0));
                if let Some(month) = d["month"].as_u64() {
                    let _ = write!(text, "-{month:02}");
                    if let Some(day) = d["day"].as_u64() {
                        let _ = write!(text, "-{day:02}");
                    }
                }
                if let Some(to) = d["year_to"].as_u64() {
                    let _ = write!(text, " to {to:04}");
                }
                text
            }))),
            country = esc(searched_country),
            nationalities = esc(&dash(json_list(&entry["nationalities"], json_text))),
            identifiers = esc(&dash(json_list(&entry["identifiers"], |i| {
                let mut text = format!("{}: {}", json_text(&i["kind"]), json_text(&i["value"]));
                if let Some(country) = i["country"].as_str() {
                    let _ = write!(text, " ({country})");
                }
                text
            }))),
            addresses = esc(&dash(json_list(&entry["addresses"], |a| {
                let mut parts: Vec<String> = a["lines"]
                    .as_array()
                    .map(|l| l.iter().map(json_text).collect())
                    .unwrap_or_default();
                parts.extend(a["country"].as_str().map(str::to_owned));
                parts.join(", ")
            }))),
            programs = esc(&dash(json_list(&m["programs"], json_text))),
            version = esc(&json_text(&m["list_version"])),
        );
        if entry.is_null() {
            html.push_str(
                "<p class=\"refused\">The list was replaced since the search: this entry is no \
                 longer in its current version.</p>",
            );
        }
        let _ = write!(
            html,
            "<h3>Why it scored {score}</h3><p>Matched <strong>{method}</strong>; the name alone \
             scored {name_score}.</p><table class=\"explain\"><thead><tr><th>Searched token</th>\
             <th>Paired with</th><th>Method</th><th>Rule</th><th>Similarity</th><th>Common</th>\
             </tr></thead><tbody>",
            score = esc(&json_text(&m["score"])),
            method = esc(&json_text(&m["method"])),
            name_score = esc(&json_text(&evidence["name_score"])),
        );
        for token in evidence["tokens"].as_array().map_or(&[][..], Vec::as_slice) {
            let _ = write!(
                html,
                "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td class=\"num\">{}</td>\
                 <td>{}</td></tr>",
                esc(&json_text(&token["query_token"])),
                esc(&json_text(&token["matched_token"])),
                esc(&json_text(&token["method"])),
                esc(&json_text(&token["rule"])),
                esc(&json_text(&token["similarity"])),
                if token["common"] == true { "yes" } else { "no" },
            );
        }
        html.push_str(
            "</tbody></table><table class=\"explain adjustments\"><thead><tr><th>Adjustment</th>\
             <th>Points</th><th>Why</th></tr></thead><tbody>",
        );
        let adjustments = evidence["adjustments"]
            .as_array()
            .map_or(&[][..], Vec::as_slice);
        if adjustments.is_empty() {
            html.push_str("<tr><td colspan=\"3\">None: the score is the name's.</td></tr>");
        }
        for adjustment in adjustments {
            let _ = write!(
                html,
                "<tr><td>{}</td><td class=\"num\">{}</td><td>{}</td></tr>",
                esc(&json_text(&adjustment["factor"])),
                esc(&json_text(&adjustment["delta"])),
                esc(&json_text(&adjustment["detail"])),
            );
        }
        html.push_str("</tbody></table></section>");
    }
    html
}

/// The screening search page (HTML): the form.
#[utoipa::path(get, path = "/console/screening", tag = "console",
    security(("staff_session" = ["screening:search"])),
    responses((status = 200, content_type = "text/html")))]
pub async fn screening_page(
    State(state): State<AppState>,
    staff: Staff,
    headers: HeaderMap,
) -> Response {
    let form = search_form(&csrf_field(&state, &headers), &BTreeMap::new());
    page(StatusCode::OK, "Screening search", Some(&staff), &form)
}

/// Searches the lists (form): the operator API's `POST /admin/v1/screening/search`, each
/// match shown beside its list entry with the score's explanation.
#[utoipa::path(post, path = "/console/screening", tag = "console",
    security(("staff_session" = ["screening:search"])),
    responses((status = 200, content_type = "text/html"),
        (status = 409, content_type = "text/html"),
        (status = 422, content_type = "text/html")))]
pub async fn screening_search(
    State(state): State<AppState>,
    staff: Staff,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let csrf = csrf_field(&state, &headers);
    let typed = match form(&body, SEARCH_FIELDS) {
        Ok(typed) => typed,
        Err(e) => {
            let (status, text) = e.summary();
            let body = format!(
                "<p class=\"refused\" role=\"alert\">{}</p>{}",
                esc(&text),
                search_form(&csrf, &BTreeMap::new())
            );
            return page(status, "Screening search", Some(&staff), &body);
        }
    };
    let searched = SearchRequest::from_form(&typed)
        .and_then(|request| Ok((run_search(&state, &request)?, request)));
    let mut body = String::new();
    let status = match &searched {
        Ok(_) => StatusCode::OK,
        Err(e) => {
            let (status, text) = e.summary();
            let _ = write!(
                body,
                "<p class=\"refused\" role=\"alert\">{}</p>",
                esc(&text)
            );
            status
        }
    };
    body.push_str(&search_form(&csrf, &typed));
    if let Ok((view, request)) = &searched {
        body.push_str(&search_results(request, view));
    }
    page(status, "Screening search", Some(&staff), &body)
}
