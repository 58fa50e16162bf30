//! Cases and the compliance console. The done-when scenarios drive a real headless Chromium
//! (Debian's `chromium` and `chromedriver`, over WebDriver's HTTP protocol): an analyst signs
//! in with password and TOTP, opens the case of a held transfer and proposes a decision; a
//! compliance officer signs in and approves it; the money moves and the trail names both.
//! The bad inputs go through the operator API and the console's forms directly.

use std::process::Stdio;
use std::time::Duration;

use benteng_core::clock::{Clock, ManualClock};
use benteng_core::roles::StaffRole;
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::harness::{Backend, TestApp, on_both_backends};
use crate::monitoring::{Payer, funded_payer};
use crate::people::{
    Enrolled, PASSWORD, Session, audit_types, enrol, get, next_code, post, problem_type, sign_in,
};

on_both_backends!(
    a_held_transfer_is_released_in_the_browser_with_four_eyes,
    a_held_transfer_is_blocked_in_the_browser_and_the_funds_return,
    case_decisions_refuse_the_wrong_people_forged_forms_and_moved_transfers,
    a_security_officer_blocks_an_incident_s_address_from_its_page,
    the_docs_page_shows_an_operation_in_the_browser,
    inbox_filters_and_the_dashboard_agree_with_the_cases,
    screening_search_shows_each_match_beside_its_list_entry,
    the_dashboard_screening_search_and_inbox_filters_work_in_the_browser,
    a_case_is_commented_set_waiting_assigned_closed_and_reopened_never_edited,
    one_person_releases_a_held_transfer_only_up_to_the_configured_amount
);

/// A hostile recipient name: it must come out of every page as text.
const HOSTILE: &str = "Tehran <script>alert(1)</script> Trading";

// ----- a tiny WebDriver client -----

const ELEMENT: &str = "element-6066-11e4-a52e-4f735466cecf";

struct Browser {
    http: reqwest::Client,
    base: String,
    session: String,
    driver: tokio::process::Child,
    _profile: tempfile::TempDir,
}

impl Browser {
    async fn start() -> Browser {
        let port = {
            let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
            listener.local_addr().unwrap().port()
        };
        let driver = tokio::process::Command::new("/usr/bin/chromedriver")
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .expect("chromedriver is installed (scripts/test installs chromium-driver)");
        let http = reqwest::Client::new();
        let base = format!("http://127.0.0.1:{port}");
        // Ready when it answers its status: a bounded number of tries, not a deadline.
        let mut ready = false;
        for _ in 0..200 {
            if let Ok(response) = http.get(format!("{base}/status")).send().await
                && response.status().is_success()
            {
                ready = true;
                break;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        assert!(ready, "chromedriver did not start");
        let profile = tempfile::tempdir().unwrap();
        let created: Value = http
            .post(format!("{base}/session"))
            .json(&json!({"capabilities": {"alwaysMatch": {
                "browserName": "chrome",
                // The test server's certificate is from the test's own development CA.
                "acceptInsecureCerts": true,
                // The page's console, where Chromium reports every CSP violation.
                "goog:loggingPrefs": {"browser": "ALL"},
                "goog:chromeOptions": {
                    "binary": "/usr/bin/chromium",
                    "args": ["--headless=new", "--no-sandbox", "--disable-dev-shm-usage",
                        "--disable-gpu", "--window-size=1280,1100",
                        format!("--user-data-dir={}", profile.path().display())]
                }
            }}}))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let session = created["value"]["sessionId"]
            .as_str()
            .unwrap_or_else(|| panic!("no WebDriver session: {created}"))
            .to_owned();
        Browser {
            http,
            base,
            session,
            driver,
            _profile: profile,
        }
    }

    fn url(&self, path: &str) -> String {
        format!("{}/session/{}{path}", self.base, self.session)
    }

    async fn command(&self, path: &str, body: Value) -> Value {
        let answer: Value = self
            .http
            .post(self.url(path))
            .json(&body)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert!(
            answer["value"]["error"].is_null(),
            "WebDriver {path}: {answer}"
        );
        answer["value"].clone()
    }

    async fn query(&self, path: &str) -> Value {
        let answer: Value = self
            .http
            .get(self.url(path))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        answer["value"].clone()
    }

    async fn go(&self, url: &str) {
        self.command("/url", json!({"url": url})).await;
    }

    async fn text(&self, path: &str) -> String {
        let value = self.query(path).await;
        value
            .as_str()
            .unwrap_or_else(|| panic!("WebDriver {path}: {value}"))
            .to_owned()
    }

    async fn current_url(&self) -> String {
        self.text("/url").await
    }

    async fn source(&self) -> String {
        self.text("/source").await
    }

    /// Waits (a bounded number of polls) until the page at the current URL satisfies `check`:
    /// a click that submits a form returns before the next page has loaded. Answers the page.
    async fn wait_until(&self, what: &str, check: impl Fn(&str, &str) -> bool) -> String {
        let mut last = String::new();
        for _ in 0..200 {
            let url = self.current_url().await;
            last = self.source().await;
            if check(&url, &last) {
                return last;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("the browser never showed {what}: {last}");
    }

    async fn find(&self, css: &str) -> String {
        let found = self
            .command("/element", json!({"using": "css selector", "value": css}))
            .await;
        found[ELEMENT]
            .as_str()
            .unwrap_or_else(|| panic!("find {css}: {found}"))
            .to_owned()
    }

    async fn type_into(&self, css: &str, text: &str) {
        let element = self.find(css).await;
        self.command(&format!("/element/{element}/value"), json!({"text": text}))
            .await;
    }

    async fn click(&self, css: &str) {
        let element = self.find(css).await;
        self.command(&format!("/element/{element}/click"), json!({}))
            .await;
    }

    /// The Content Security Policy violations the browser reported since the last call (it
    /// logs each to the page's console, which chromedriver hands out once).
    async fn csp_violations(&self) -> Vec<String> {
        let log = self.command("/se/log", json!({"type": "browser"})).await;
        log.as_array()
            .unwrap_or_else(|| panic!("no browser log: {log}"))
            .iter()
            .filter_map(|entry| entry["message"].as_str())
            .filter(|message| message.contains("Content Security Policy"))
            .map(str::to_owned)
            .collect()
    }

    async fn screenshot(&self, file: &str) {
        use base64::Engine;
        let png = self.query("/screenshot").await;
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(png.as_str().unwrap())
            .unwrap();
        // Into docs/ only when asked (BENTENG_DOCS_SCREENSHOTS=1), so a test run leaves the
        // tree as it found it.
        let path = if std::env::var_os("BENTENG_DOCS_SCREENSHOTS").is_some() {
            std::path::PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../../docs/")).join(file)
        } else {
            std::env::temp_dir().join(format!("benteng-{}-{file}", std::process::id()))
        };
        std::fs::write(path, bytes).unwrap();
    }

    async fn sign_in(&self, app: &TestApp, person: &Enrolled) {
        self.go(&app.url("/console/sign-in")).await;
        self.type_into("#login", &person.login).await;
        self.type_into("#password", PASSWORD).await;
        self.type_into("#code", &next_code(person)).await;
        self.click("form.sign-in button").await;
        self.wait_until("the inbox", |url, page| {
            url.ends_with("/console/cases") && page.contains("</table>")
        })
        .await;
    }

    async fn quit(mut self) {
        let _ = self
            .http
            .delete(format!("{}/session/{}", self.base, self.session))
            .send()
            .await;
        let _ = self.driver.kill().await;
    }
}

// ----- the scenarios -----

pub(crate) struct Held {
    pub(crate) app: TestApp,
    pub(crate) payer: Payer,
    pub(crate) transfer: String,
    pub(crate) analyst: Enrolled,
    pub(crate) officer: Enrolled,
}

/// A funded tenant pays a recipient in a FATF call-for-action country for the first time:
/// 50 + 30 = 80, held for review, and its case opened.
pub(crate) async fn held_transfer(backend: Backend) -> Held {
    held_transfer_in(crate::people::app(backend).await).await
}

/// [`held_transfer`] on a server the caller configured.
pub(crate) async fn held_transfer_in(app: TestApp) -> Held {
    let analyst = enrol(&app, "ana@benteng.example", &[StaffRole::ComplianceAnalyst]).await;
    let officer = enrol(&app, "olu@benteng.example", &[StaffRole::ComplianceOfficer]).await;
    let (_, payer) = funded_payer(&app, 100_000).await;
    let recipient = payer
        .recipient_in(HOSTILE, "IR", "DE89370400440532013000")
        .await;
    let held = payer.pay(&recipient, "100.00").await;
    assert_eq!(held["status"], "PENDING_REVIEW", "{held}");
    let transfer = held["id"].as_str().unwrap().to_owned();
    Held {
        app,
        payer,
        transfer,
        analyst,
        officer,
    }
}

/// The analyst proposes `decision` in the browser and the officer approves it there; answers
/// the case's page as the officer last saw it.
async fn decide_in_browser(held: &Held, decision: &str, screenshots: bool) -> String {
    let app = &held.app;
    let browser = Browser::start().await;
    browser.sign_in(app, &held.analyst).await;
    let inbox = browser.source().await;
    assert!(inbox.contains("1 case(s)"), "{inbox}");
    if screenshots {
        browser.screenshot("console-inbox.png").await;
    }
    browser.click("table.inbox a").await;
    let page = browser
        .wait_until("the case", |url, page| {
            url.contains("/console/cases/") && page.contains("Event log")
        })
        .await;
    let case_url = browser.current_url().await;
    // The transfer, its screening and the rule that fired; the hostile name as text only.
    assert!(page.contains(&held.transfer), "{page}");
    assert!(page.contains("high_risk_country"), "{page}");
    assert!(page.contains("Tehran &lt;script&gt;alert(1)&lt;/script&gt; Trading"));
    assert!(!page.contains("<script>alert(1)"), "{page}");
    // The analyst may propose but sees no approval form.
    assert!(!page.contains("class=\"decide approve\""));
    browser
        .click(&format!("input[name=decision][value={decision}]"))
        .await;
    browser
        .type_into(
            "form.propose textarea",
            "Known supplier <b>contract</b> on file, checked by phone",
        )
        .await;
    browser.click("form.propose button").await;
    let proposed = browser
        .wait_until("the proposal", |url, page| {
            url == case_url && page.contains("proposal-status\">pending")
        })
        .await;
    assert!(
        proposed.contains("&lt;b&gt;contract&lt;/b&gt;"),
        "{proposed}"
    );
    if screenshots {
        browser.screenshot("console-case.png").await;
    }

    browser.sign_in(app, &held.officer).await;
    browser.go(&case_url).await;
    browser
        .wait_until("the case", |url, page| {
            url == case_url && page.contains("class=\"decide approve\"")
        })
        .await;
    browser
        .type_into(
            "form.approve textarea",
            "Agree with the analyst, second pair of eyes",
        )
        .await;
    browser.click("form.approve button").await;
    let decided = browser
        .wait_until("the decided case", |url, page| {
            url == case_url && page.contains("id=\"case-status\">closed")
        })
        .await;
    assert!(decided.contains("proposal-status\">approved"), "{decided}");
    browser.quit().await;
    decided
}

/// The audit trail names both people on the decision.
async fn trail_names_both(held: &Held, decision: &str) {
    let events = audit_types(&held.app).await;
    let reviewed = events
        .iter()
        .find(|e| e["event_type"] == "transfer.reviewed" && e["resource"]["id"] == held.transfer)
        .expect("the decision is audited");
    assert_eq!(reviewed["actor"]["by"], "staff:olu@benteng.example");
    assert_eq!(reviewed["changes"]["decision"]["to"], decision);
    assert_eq!(
        reviewed["changes"]["proposed_by"]["to"],
        held.analyst.id.as_str()
    );
    assert_eq!(
        reviewed["changes"]["approved_by"]["to"],
        held.officer.id.as_str()
    );
    let approved = events
        .iter()
        .find(|e| e["event_type"] == "approval.approved")
        .expect("the approval is audited");
    assert_eq!(
        approved["changes"]["proposed_by"]["to"],
        held.analyst.id.as_str()
    );
    assert_eq!(
        approved["changes"]["decided_by"]["to"],
        held.officer.id.as_str()
    );
}

async fn a_held_transfer_is_released_in_the_browser_with_four_eyes(backend: Backend) {
    let held = held_transfer(backend).await;
    let (available, reserved) = crate::payments::balance(&held.app, &held.payer.key, "USD").await;
    assert_eq!(
        (available.as_str(), reserved.as_str()),
        ("899.50", "100.50")
    );
    decide_in_browser(&held, "release", backend == Backend::Sqlite).await;
    crate::payments::wait_for_status(&held.app, &held.payer.key, &held.transfer, "COMPLETED").await;
    let (available, reserved) = crate::payments::balance(&held.app, &held.payer.key, "USD").await;
    assert_eq!((available.as_str(), reserved.as_str()), ("899.50", "0.00"));
    trail_names_both(&held, "release").await;
}

async fn a_held_transfer_is_blocked_in_the_browser_and_the_funds_return(backend: Backend) {
    let held = held_transfer(backend).await;
    decide_in_browser(&held, "block", false).await;
    let transfer = held
        .app
        .get(
            &format!("/v1/transfers/{}", held.transfer),
            Some(&held.payer.key),
        )
        .await
        .text()
        .await
        .unwrap();
    assert!(transfer.contains("\"BLOCKED\""), "{transfer}");
    let (available, reserved) = crate::payments::balance(&held.app, &held.payer.key, "USD").await;
    assert_eq!((available.as_str(), reserved.as_str()), ("1000.00", "0.00"));
    trail_names_both(&held, "block").await;
}

/// A form post from a session: the cookie, and `csrf` as the hidden field when given.
async fn form_post(
    app: &TestApp,
    path: &str,
    session: &Session,
    fields: &[(&str, &str)],
) -> reqwest::Response {
    let body: String = form_urlencoded::Serializer::new(String::new())
        .extend_pairs(fields)
        .finish();
    app.client
        .post(app.url(path))
        .header("cookie", &session.cookie)
        .header("content-type", "application/x-www-form-urlencoded")
        .body(body)
        .send()
        .await
        .unwrap()
}

async fn case_decisions_refuse_the_wrong_people_forged_forms_and_moved_transfers(backend: Backend) {
    let held = held_transfer(backend).await;
    let app = &held.app;
    let analyst = sign_in(app, &held.analyst).await;
    let officer = sign_in(app, &held.officer).await;
    let second_officer = enrol(app, "oz@benteng.example", &[StaffRole::ComplianceOfficer]).await;
    let second_officer = sign_in(app, &second_officer).await;
    let support = enrol(app, "sue@benteng.example", &[StaffRole::Support]).await;
    let support = sign_in(app, &support).await;

    let inbox: Value = get(&app.client, app.url("/admin/v1/cases"), &analyst)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(inbox.as_array().unwrap().len(), 1, "{inbox}");
    let case = inbox[0]["id"].as_str().unwrap().to_owned();
    assert_eq!(inbox[0]["priority"], 80);
    assert_eq!(inbox[0]["status"], "open");

    // Taking the next case assigns it to the taker; then there is none left to take.
    let taken = post(
        &app.client,
        app.url("/admin/v1/cases/next"),
        &analyst,
        &json!({}),
    )
    .await;
    assert_eq!(taken.status(), StatusCode::OK);
    let taken: Value = taken.json().await.unwrap();
    assert_eq!(taken["id"], case.as_str());
    assert_eq!(taken["assignee"], held.analyst.id.as_str());
    assert_eq!(taken["status"], "investigating");
    let none = post(
        &app.client,
        app.url("/admin/v1/cases/next"),
        &officer,
        &json!({}),
    )
    .await;
    assert_eq!(none.status(), StatusCode::NO_CONTENT);
    let refused = post(
        &app.client,
        app.url("/admin/v1/cases/next"),
        &support,
        &json!({}),
    )
    .await;
    assert_eq!(refused.status(), StatusCode::FORBIDDEN);

    let proposals = format!("/admin/v1/cases/{case}/proposals");
    let body = json!({"transfer": held.transfer, "decision": "release",
        "reason": "known supplier, contract on file"});

    // Without the permission: support may neither read nor propose.
    let refused = get(&app.client, app.url("/admin/v1/cases"), &support).await;
    assert_eq!(refused.status(), StatusCode::FORBIDDEN);
    let refused = post(&app.client, app.url(&proposals), &support, &body).await;
    assert_eq!(refused.status(), StatusCode::FORBIDDEN);

    // A console form without the CSRF field, or with a forged one, stores nothing.
    let form_path = format!("/console/cases/{case}/proposals");
    let fields = [
        ("transfer", held.transfer.as_str()),
        ("decision", "release"),
        ("reason", "known supplier, contract on file"),
    ];
    let missing = form_post(app, &form_path, &analyst, &fields).await;
    assert_eq!(missing.status(), StatusCode::FORBIDDEN);
    let mut forged = fields.to_vec();
    forged.push(("csrf_token", "00".repeat(32).leak()));
    let forged = form_post(app, &form_path, &analyst, &forged).await;
    assert_eq!(forged.status(), StatusCode::FORBIDDEN);
    let mut twice = fields.to_vec();
    twice.push(("csrf_token", analyst.csrf.as_str()));
    twice.push(("csrf_token", analyst.csrf.as_str()));
    let twice = form_post(app, &form_path, &analyst, &twice).await;
    assert_eq!(twice.status(), StatusCode::FORBIDDEN);
    let detail: Value = get(
        &app.client,
        app.url(&format!("/admin/v1/cases/{case}")),
        &analyst,
    )
    .await
    .json()
    .await
    .unwrap();
    assert_eq!(detail["proposals"].as_array().unwrap().len(), 0, "{detail}");

    // Bad values are refused, naming the field.
    for bad in [
        json!({"transfer": held.transfer, "decision": "approve", "reason": "known supplier"}),
        json!({"transfer": held.transfer, "decision": "release", "reason": "ok"}),
        json!({"transfer": uuid::Uuid::new_v4().to_string(), "decision": "release",
            "reason": "known supplier, contract on file"}),
    ] {
        let response = post(&app.client, app.url(&proposals), &analyst, &bad).await;
        assert!(
            response.status() == StatusCode::UNPROCESSABLE_ENTITY
                || response.status() == StatusCode::NOT_FOUND,
            "{bad}: {}",
            response.status()
        );
    }

    // The real form (with its CSRF field) proposes; the officer who proposes cannot approve.
    let mut good = fields.to_vec();
    good.push(("csrf_token", analyst.csrf.as_str()));
    let proposed = form_post(app, &form_path, &analyst, &good).await;
    // 303 to the case's page, which the client follows.
    assert_eq!(proposed.status(), StatusCode::OK);
    assert_eq!(proposed.url().path(), format!("/console/cases/{case}"));
    let own = post(&app.client, app.url(&proposals), &officer, &body).await;
    assert_eq!(own.status(), StatusCode::CREATED);
    let own: Value = own.json().await.unwrap();
    let own_id = own["id"].as_str().unwrap();
    let comment = json!({"comment": "<script>alert('approved')</script> seen"});
    let refused = post(
        &app.client,
        app.url(&format!("{proposals}/{own_id}/approve")),
        &officer,
        &comment,
    )
    .await;
    assert_eq!(refused.status(), StatusCode::FORBIDDEN);
    assert!(problem_type(refused).await.ends_with("own-proposal"));

    // The analyst's proposal: an analyst may not approve it; two officers at once, one wins.
    let detail: Value = get(
        &app.client,
        app.url(&format!("/admin/v1/cases/{case}")),
        &analyst,
    )
    .await
    .json()
    .await
    .unwrap();
    let analysts = detail["proposals"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["proposed_by"] == held.analyst.id.as_str())
        .unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let approve = app.url(&format!("{proposals}/{analysts}/approve"));
    let refused = post(&app.client, approve.clone(), &analyst, &comment).await;
    assert_eq!(refused.status(), StatusCode::FORBIDDEN);
    let (first, second) = tokio::join!(
        post(&app.client, approve.clone(), &officer, &comment),
        post(&app.client, approve.clone(), &second_officer, &comment),
    );
    let mut statuses = [first.status(), second.status()];
    statuses.sort();
    assert_eq!(statuses, [StatusCode::OK, StatusCode::CONFLICT]);
    let released: Vec<Value> = audit_types(app)
        .await
        .into_iter()
        .filter(|e| e["event_type"] == "transfer.reviewed")
        .collect();
    assert_eq!(released.len(), 1);

    // The transfer moved: the officer's own proposal can no longer be approved, and a new
    // proposal on it is refused.
    let late = post(
        &app.client,
        app.url(&format!("{proposals}/{own_id}/approve")),
        &second_officer,
        &comment,
    )
    .await;
    assert_eq!(late.status(), StatusCode::CONFLICT);
    let late = post(&app.client, app.url(&proposals), &analyst, &body).await;
    assert_eq!(late.status(), StatusCode::CONFLICT);

    // The comment is in the log and escaped on the page.
    let page = get(
        &app.client,
        app.url(&format!("/console/cases/{case}")),
        &analyst,
    )
    .await
    .text()
    .await
    .unwrap();
    assert!(page.contains("&lt;script&gt;alert(&#39;approved&#39;)&lt;/script&gt; seen"));
    assert!(!page.contains("<script>"), "{page}");
    assert!(!page.contains("style="), "no inline style");

    // The log cannot be edited or deleted, on either backend.
    let mut conn = app.raw_sql().await;
    for statement in [
        "UPDATE case_events SET comment = 'edited'",
        "DELETE FROM case_events",
    ] {
        assert!(
            sqlx::query(statement).execute(&mut conn).await.is_err(),
            "{statement}"
        );
    }

    // The CLI reads the same cases.
    let (ok, listed, err) =
        crate::harness::cli(&app.env, &["case", "list", "--status", "closed"]).await;
    assert!(ok, "{err}");
    assert!(listed.contains(&case), "{listed}");
    let (ok, shown, err) = crate::harness::cli(&app.env, &["case", "show", &case]).await;
    assert!(ok, "{err}");
    assert!(
        shown.contains("decision_approved") && shown.contains("outcome false_positive"),
        "{shown}"
    );
    let (ok, _, err) = crate::harness::cli(&app.env, &["case", "list", "--sort", "age"]).await;
    assert!(!ok && err.contains("--sort"), "{err}");
}

/// The incident page: a credential-stuffing run opens an incident; a security officer (not
/// support) sees it in the console and blocks its address with the page's form, with the
/// CSRF field; the address is refused from then on and the incident is contained.
async fn a_security_officer_blocks_an_incident_s_address_from_its_page(backend: Backend) {
    let app = TestApp::spawn_with(backend, |config| {
        config.protection.unauthenticated_per_minute = 1000;
    })
    .await;
    let officer = enrol(&app, "so@benteng.example", &[StaffRole::SecurityOfficer]).await;
    let officer = sign_in(&app, &officer).await;
    let support = enrol(&app, "sue@benteng.example", &[StaffRole::Support]).await;
    let support = sign_in(&app, &support).await;
    let attacker = crate::harness::client_builder(&app.environment().dev_certs().ca_cert)
        .local_address(Some("127.0.0.2".parse().unwrap()))
        .build()
        .unwrap();
    let attempt = |n: usize| {
        attacker
            .get(app.url("/v1/tenant"))
            .bearer_auth(format!("sk_live_guess{n}"))
            .send()
    };
    for n in 0..15 {
        assert_eq!(attempt(n).await.unwrap().status(), StatusCode::UNAUTHORIZED);
    }
    let list: Value = get(&app.client, app.url("/admin/v1/incidents"), &officer)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(list.as_array().unwrap().len(), 1, "{list}");
    let incident = list[0]["id"].as_str().unwrap().to_owned();
    let path = format!("/console/incidents/{incident}");

    let refused = get(&app.client, app.url(&path), &support).await;
    assert_eq!(refused.status(), StatusCode::FORBIDDEN);
    let page = get(&app.client, app.url(&path), &officer).await;
    assert_eq!(page.status(), StatusCode::OK);
    let html = page.text().await.unwrap();
    assert!(
        html.contains("credential_stuffing") && html.contains("P3"),
        "{html}"
    );
    assert!(html.contains("value=\"127.0.0.2\""), "{html}");

    let block = format!("{path}/block");
    let fields = [
        ("network", "127.0.0.2"),
        ("hours", "4"),
        ("reason", "stuffing"),
    ];
    // Without the CSRF field, and with hours out of range: nothing is blocked.
    let missing = form_post(&app, &block, &officer, &fields).await;
    assert_eq!(missing.status(), StatusCode::FORBIDDEN);
    let bad = [
        ("network", "127.0.0.2"),
        ("hours", "0"),
        ("reason", "stuffing"),
        ("csrf_token", officer.csrf.as_str()),
    ];
    let bad = form_post(&app, &block, &officer, &bad).await;
    // A page the officer reads, naming the field (not a problem document).
    assert_eq!(bad.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        bad.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/html")
    );
    let page = bad.text().await.unwrap();
    assert!(page.contains("hours must be 1 to 720"), "{page}");
    assert_eq!(
        attempt(99).await.unwrap().status(),
        StatusCode::UNAUTHORIZED
    );

    let mut good = fields.to_vec();
    good.push(("csrf_token", officer.csrf.as_str()));
    let blocked = form_post(&app, &block, &officer, &good).await;
    assert_eq!(blocked.status(), StatusCode::OK);
    assert_eq!(blocked.url().path(), path);
    assert!(blocked.text().await.unwrap().contains("contained"));
    assert_eq!(attempt(0).await.unwrap().status(), StatusCode::FORBIDDEN);
    let events = audit_types(&app).await;
    assert!(
        events.iter().any(|e| e["event_type"] == "address.blocked"
            && e["changes"]["network"]["to"] == "127.0.0.2/32"),
        "{events:?}"
    );
}

/// `/docs` in a real browser: the page renders without script, its stylesheet applies under
/// the server's CSP, and `POST /v1/transfers` shows its idempotency-key header and its body's
/// fields as a reader sees them.
async fn the_docs_page_shows_an_operation_in_the_browser(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let browser = Browser::start().await;
    browser.go(&app.url("/docs")).await;
    let section = browser.find("#post_v1_transfers").await;
    // Rendered text, with the browser's separators between cells made single spaces.
    let shown = browser.text(&format!("/element/{section}/text")).await;
    let shown = shown.split_whitespace().collect::<Vec<_>>().join(" ");
    for expected in [
        "POST /v1/transfers",
        "X-Idempotency-Key header string (uuid) required",
        "quote_id string (uuid) required",
        "recipient_id string (uuid) required",
        "amount string required",
        "currency string required",
        "reference string optional",
        "api_key with transfers:write",
    ] {
        assert!(
            shown.contains(expected),
            "{expected:?} is not shown:\n{shown}"
        );
    }
    // The stylesheet loaded (same origin, allowed by `default-src 'self'`): a POST's badge
    // has its colour.
    let badge = browser.find("#post_v1_transfers .method.post").await;
    let colour = browser
        .text(&format!("/element/{badge}/css/background-color"))
        .await;
    assert_eq!(colour, "rgba(43, 95, 171, 1)");
    browser.quit().await;
}

// ----- inbox filters, the dashboard and the screening search -----

/// The cases `path` (an `/admin/v1/cases…` listing) answers, as their ids.
async fn listed(app: &TestApp, session: &Session, path: &str) -> Vec<String> {
    let response = get(&app.client, app.url(path), session).await;
    assert_eq!(response.status(), StatusCode::OK, "{path}");
    let cases: Value = response.json().await.unwrap();
    cases
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["id"].as_str().unwrap().to_owned())
        .collect()
}

/// A people-friendly app whose clock the test holds.
async fn clocked_app(backend: Backend) -> (TestApp, std::sync::Arc<ManualClock>) {
    let clock = std::sync::Arc::new(ManualClock::new(time::OffsetDateTime::now_utc()));
    let app = TestApp::spawn_with_clock(
        backend,
        |config| {
            config.people.argon2_memory_kib = 19 * 1024;
            config.people.argon2_iterations = 2;
        },
        clock.clone(),
    )
    .await;
    (app, clock)
}

/// Three held transfers' cases: A (IR, score 80) opened first; 21 hours later B (IR again,
/// the corridor seen: score 50) and C (KP, score 80). Answers (A, B, C) with their case ids.
async fn three_cases(
    app: &TestApp,
    clock: &ManualClock,
    payer: &Payer,
) -> (String, String, String) {
    let case_of = async |name: &str, country: &str, iban: &str| {
        let recipient = payer.recipient_in(name, country, iban).await;
        let held = payer.pay(&recipient, "100.00").await;
        assert_eq!(held["status"], "PENDING_REVIEW", "{held}");
        let case = app
            .services
            .store
            .case_of_transfer(held["id"].as_str().unwrap().parse().unwrap())
            .await
            .unwrap()
            .expect("a held transfer has its case");
        case.to_string()
    };
    let a = case_of("Alpha Trading", "IR", "DE89370400440532013000").await;
    clock.advance(time::Duration::hours(21));
    let b = case_of("Beta Trading", "IR", "GB82WEST12345698765432").await;
    let c = case_of("Gamma Trading", "KP", "NL91ABNA0417164300").await;
    (a, b, c)
}

async fn inbox_filters_and_the_dashboard_agree_with_the_cases(backend: Backend) {
    let (app, clock) = clocked_app(backend).await;
    let analyst = enrol(&app, "ana@benteng.example", &[StaffRole::ComplianceAnalyst]).await;
    let officer = enrol(&app, "olu@benteng.example", &[StaffRole::ComplianceOfficer]).await;
    let support = enrol(&app, "sue@benteng.example", &[StaffRole::Support]).await;
    let ana = sign_in(&app, &analyst).await;
    let olu = sign_in(&app, &officer).await;
    let sue = sign_in(&app, &support).await;
    let (_, payer) = funded_payer(&app, 100_000).await;
    let (a, b, c) = three_cases(&app, &clock, &payer).await;
    let set = |ids: &[&String]| {
        let mut ids: Vec<String> = ids.iter().map(|s| s.to_string()).collect();
        ids.sort();
        ids
    };
    let sorted = |mut ids: Vec<String>| {
        ids.sort();
        ids
    };

    // Scores and corridors.
    let all = listed(&app, &ana, "/admin/v1/cases?sort=score").await;
    assert_eq!(all.len(), 3);
    assert_eq!(all[2], b, "the lowest score last");
    assert_eq!(
        sorted(listed(&app, &ana, "/admin/v1/cases?min_score=80").await),
        set(&[&a, &c])
    );
    assert_eq!(
        listed(&app, &ana, "/admin/v1/cases?min_score=50")
            .await
            .len(),
        3
    );
    assert!(
        listed(&app, &ana, "/admin/v1/cases?min_score=81")
            .await
            .is_empty()
    );
    assert_eq!(
        listed(&app, &ana, "/admin/v1/cases?country=KP").await,
        [c.as_str()]
    );
    assert_eq!(
        sorted(listed(&app, &ana, "/admin/v1/cases?country=IR").await),
        set(&[&a, &b])
    );
    assert_eq!(
        listed(&app, &ana, "/admin/v1/cases?currency=EUR")
            .await
            .len(),
        3
    );
    assert!(
        listed(&app, &ana, "/admin/v1/cases?currency=USD")
            .await
            .is_empty()
    );
    assert_eq!(
        listed(&app, &ana, "/admin/v1/cases?country=KP&currency=EUR").await,
        [c.as_str()]
    );
    assert!(
        listed(&app, &ana, "/admin/v1/cases?country=DE")
            .await
            .is_empty()
    );
    assert_eq!(
        listed(&app, &ana, "/admin/v1/cases?inbox=payments")
            .await
            .len(),
        3
    );
    assert!(
        listed(&app, &ana, "/admin/v1/cases?inbox=monitoring")
            .await
            .is_empty()
    );

    // SLA states: A is due in 3 hours, B and C in 24.
    assert_eq!(
        listed(&app, &ana, "/admin/v1/cases?sla=due_soon").await,
        [a.as_str()]
    );
    assert_eq!(
        sorted(listed(&app, &ana, "/admin/v1/cases?sla=on_time").await),
        set(&[&b, &c])
    );
    assert!(
        listed(&app, &ana, "/admin/v1/cases?sla=overdue")
            .await
            .is_empty()
    );
    let shown: Value = get(&app.client, app.url("/admin/v1/cases?sla=due_soon"), &ana)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(shown[0]["sla_state"], "due_soon", "{shown}");
    assert_eq!(shown[0]["overdue"], false);

    // Assignees: the analyst takes the next case (A, due soonest).
    let taken = post(
        &app.client,
        app.url("/admin/v1/cases/next"),
        &ana,
        &json!({}),
    )
    .await;
    assert_eq!(taken.status(), StatusCode::OK);
    assert_eq!(
        listed(&app, &ana, "/admin/v1/cases?assignee=me").await,
        [a.as_str()]
    );
    assert!(
        listed(&app, &olu, "/admin/v1/cases?assignee=me")
            .await
            .is_empty()
    );
    assert_eq!(
        listed(
            &app,
            &olu,
            &format!("/admin/v1/cases?assignee={}", analyst.id)
        )
        .await,
        [a.as_str()]
    );
    assert_eq!(
        sorted(listed(&app, &olu, "/admin/v1/cases?assignee=unassigned").await),
        set(&[&b, &c])
    );
    assert_eq!(
        listed(
            &app,
            &ana,
            "/admin/v1/cases?status=open&sla=on_time&min_score=80"
        )
        .await,
        [c.as_str()]
    );
    assert_eq!(
        listed(&app, &ana, "/admin/v1/cases?status=investigating").await,
        [a.as_str()]
    );

    // Four hours on, A is past its SLA.
    clock.advance(time::Duration::hours(4));
    assert_eq!(
        listed(&app, &ana, "/admin/v1/cases?sla=overdue").await,
        [a.as_str()]
    );
    assert!(
        listed(&app, &ana, "/admin/v1/cases?sla=due_soon")
            .await
            .is_empty()
    );

    // Bad filters are refused with problem+json naming each; nothing is listed.
    for (query, fields) in [
        ("status=OPEN", &["status"][..]),
        ("sla=late", &["sla"]),
        ("sla=%3Cscript%3Ealert(1)%3C%2Fscript%3E", &["sla"]),
        ("min_score=101", &["min_score"]),
        ("min_score=-1", &["min_score"]),
        ("min_score=8.5", &["min_score"]),
        ("country=ir", &["country"]),
        ("country=XX", &["country"]),
        ("currency=usd", &["currency"]),
        ("currency=ABC", &["currency"]),
        ("inbox=%3Cb%3Einbox", &["inbox"]),
        ("assignee=someone", &["assignee"]),
        ("sort=age", &["sort"]),
        ("colour=red", &["colour"]),
        ("sla=overdue&sla=overdue", &["sla"]),
        ("status=closed&sla=overdue", &["sla"]),
        (
            "min_score=1000&currency=usd&country=XX",
            &["country", "currency", "min_score"],
        ),
    ] {
        let response = get(
            &app.client,
            app.url(&format!("/admin/v1/cases?{query}")),
            &ana,
        )
        .await;
        assert_eq!(
            response.status(),
            StatusCode::UNPROCESSABLE_ENTITY,
            "{query}"
        );
        assert!(
            response.headers()["content-type"]
                .to_str()
                .unwrap()
                .starts_with("application/problem+json"),
            "{query}"
        );
        let problem: Value = response.json().await.unwrap();
        let mut named: Vec<&str> = problem["errors"]
            .as_array()
            .unwrap_or_else(|| panic!("{query}: {problem}"))
            .iter()
            .map(|e| e["field"].as_str().unwrap())
            .collect();
        named.sort();
        assert_eq!(named, fields, "{query}: {problem}");
    }
    let huge = format!("/admin/v1/cases?inbox={}", "x".repeat(5000));
    let response = get(&app.client, app.url(&huge), &ana).await;
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    let long_inbox = format!("/admin/v1/cases?inbox={}", "x".repeat(41));
    let response = get(&app.client, app.url(&long_inbox), &ana).await;
    assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);

    // The console's inbox takes the same parameters from its form, and shows them chosen.
    let page = get(
        &app.client,
        app.url("/console/cases?country=KP&sla=on_time"),
        &ana,
    )
    .await;
    assert_eq!(page.status(), StatusCode::OK);
    let html = page.text().await.unwrap();
    assert!(
        html.contains(&c) && !html.contains(&a) && !html.contains(&b),
        "{html}"
    );
    assert!(html.contains("1 case(s)"), "{html}");
    assert!(
        html.contains("<option value=\"on_time\" selected>"),
        "{html}"
    );
    assert!(html.contains("name=\"country\" type=\"text\""), "{html}");
    assert!(html.contains("value=\"KP\""), "{html}");
    let mine = get(&app.client, app.url("/console/cases?assignee=me"), &ana)
        .await
        .text()
        .await
        .unwrap();
    assert!(mine.contains(&a) && mine.contains("(overdue)"), "{mine}");
    assert!(mine.contains("<option value=\"me\" selected>"), "{mine}");
    let refused = get(
        &app.client,
        app.url("/console/cases?sla=%3Cscript%3Ealert(1)%3C%2Fscript%3E&min_score=500"),
        &ana,
    )
    .await;
    assert_eq!(refused.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        refused.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/html")
    );
    let html = refused.text().await.unwrap();
    assert!(
        html.contains("sla must be one of") && html.contains("min_score"),
        "{html}"
    );
    assert!(!html.contains("<script>"), "{html}");
    let refused = get(&app.client, app.url("/console/cases?country=KP"), &sue).await;
    assert_eq!(refused.status(), StatusCode::FORBIDDEN);

    // The CLI's flags.
    let (ok, out, err) = crate::harness::cli(&app.env, &["case", "list", "--country", "KP"]).await;
    assert!(ok, "{err}");
    assert!(out.contains(&c) && !out.contains(&a), "{out}");
    let (ok, out, err) = crate::harness::cli(
        &app.env,
        &["case", "list", "--assignee", "ana@benteng.example"],
    )
    .await;
    assert!(ok, "{err}");
    assert!(out.contains(&a) && !out.contains(&b), "{out}");
    let (ok, out, err) = crate::harness::cli(
        &app.env,
        &[
            "case",
            "list",
            "--assignee",
            "unassigned",
            "--min-score",
            "80",
        ],
    )
    .await;
    assert!(ok, "{err}");
    assert!(
        out.contains(&c) && !out.contains(&a) && !out.contains(&b),
        "{out}"
    );
    for (args, named) in [
        (&["case", "list", "--assignee", "me"][..], "--assignee"),
        (
            &["case", "list", "--assignee", "nobody@benteng.example"],
            "--assignee",
        ),
        (&["case", "list", "--sla", "soon"], "--sla"),
        (&["case", "list", "--min-score", "101"], "--min-score"),
        (&["case", "list", "--country", "Iran"], "--country"),
        (&["case", "list", "--currency", "eur"], "--currency"),
        (&["case", "list", "--inbox", "a b"], "--inbox"),
        (
            &["case", "list", "--status", "closed", "--sla", "overdue"],
            "--sla",
        ),
    ] {
        let (ok, _, err) = crate::harness::cli(&app.env, args).await;
        assert!(!ok && err.contains(named), "{args:?}: {err}");
    }

    // The dashboard: three open, one past its SLA; A opened a day ago, B and C today.
    let dashboard = async |session: &Session| -> Value {
        let response = get(&app.client, app.url("/admin/v1/cases/dashboard"), session).await;
        assert_eq!(response.status(), StatusCode::OK);
        response.json().await.unwrap()
    };
    let ages = |view: &Value| -> Vec<i64> {
        view["open_by_age"]
            .as_array()
            .unwrap()
            .iter()
            .map(|b| b["open"].as_i64().unwrap())
            .collect()
    };
    let view = dashboard(&ana).await;
    assert_eq!(
        (view["open"].as_i64(), view["overdue"].as_i64()),
        (Some(3), Some(1)),
        "{view}"
    );
    assert_eq!(ages(&view), [2, 1, 0, 0], "{view}");
    assert_eq!(
        view["inboxes"],
        json!([{"inbox": "payments", "open": 3, "overdue": 1}])
    );
    let days = view["decisions_per_day"].as_array().unwrap();
    assert_eq!(days.len(), 14);
    let today = clock.now().date().to_string();
    assert_eq!(days[13]["day"], today.as_str());
    assert!(days.iter().all(|d| d["total"] == 0), "{view}");

    // A decision (four eyes) closes C today: one false positive on today's row.
    let detail: Value = get(&app.client, app.url(&format!("/admin/v1/cases/{c}")), &ana)
        .await
        .json()
        .await
        .unwrap();
    let transfer = detail["transfers"][0]["id"].as_str().unwrap();
    let proposal: Value = post(
        &app.client,
        app.url(&format!("/admin/v1/cases/{c}/proposals")),
        &ana,
        &json!({"transfer": transfer, "decision": "release",
            "reason": "known supplier, contract on file"}),
    )
    .await
    .json()
    .await
    .unwrap();
    let approved = post(
        &app.client,
        app.url(&format!(
            "/admin/v1/cases/{c}/proposals/{}/approve",
            proposal["id"].as_str().unwrap()
        )),
        &olu,
        &json!({"comment": "agreed, a second pair of eyes"}),
    )
    .await;
    assert_eq!(approved.status(), StatusCode::OK);
    let view = dashboard(&olu).await;
    assert_eq!(view["open"], 2, "{view}");
    let days = view["decisions_per_day"].as_array().unwrap();
    assert_eq!(
        days[13],
        json!({"day": today, "false_positive": 1, "true_positive": 0, "inconclusive": 0,
            "total": 1})
    );
    // Three days on: the decision moved three rows up, and the cases aged.
    clock.advance(time::Duration::days(3));
    let view = dashboard(&ana).await;
    let days = view["decisions_per_day"].as_array().unwrap();
    assert_eq!(days[10]["day"], today.as_str(), "{view}");
    assert_eq!(days[10]["total"], 1, "{view}");
    assert_eq!(
        days.iter()
            .map(|d| d["total"].as_i64().unwrap())
            .sum::<i64>(),
        1
    );
    assert_eq!(ages(&view), [0, 0, 2, 0], "{view}");
    assert_eq!(view["overdue"], 2, "{view}");

    // Its page: the same counts as tables, linked from the header; support may not see it.
    let page = get(&app.client, app.url("/console/dashboard"), &ana).await;
    assert_eq!(page.status(), StatusCode::OK);
    let html = page.text().await.unwrap();
    assert!(html.contains("id=\"open-count\">2<"), "{html}");
    assert!(html.contains("id=\"overdue-count\">2<"), "{html}");
    assert!(
        html.contains("<tr id=\"age-3_to_7_days\"><td>3 to 7 days ago</td><td class=\"num\">2<")
    );
    assert!(html.contains(&format!(
        "<tr id=\"day-{today}\"><td>{today}</td><td class=\"num\">1<"
    )));
    assert!(html.contains("href=\"/console/dashboard\""));
    assert!(
        !html.contains("style=") && !html.contains("<script"),
        "{html}"
    );
    for path in ["/console/dashboard", "/admin/v1/cases/dashboard"] {
        let refused = get(&app.client, app.url(path), &sue).await;
        assert_eq!(refused.status(), StatusCode::FORBIDDEN, "{path}");
    }
}

/// A list whose one entry carries every detail, and markup in its data: it must be shown as
/// text.
const RICH_LIST: &str = "id,name,type,aliases,dob,nationality,identifiers,addresses,programme\n\
    R-1,Ivan <b>Petrov</b>,person,Ivan Petrof|<script>alert(2)</script> Petrov,1961-03-04|1962,\
    RU|BY,Passport:P<123>|National ID:9988,Moscow <i>Tverskaya</i> 1,SDN&lt|UKR-EO13660\n";

/// An app screening against the baseline and [`RICH_LIST`] (stored before the server starts,
/// so it is loaded at start).
async fn app_with_rich_list(backend: Backend) -> TestApp {
    let env = crate::harness::Environment::new(backend).await;
    {
        let services = env.services_with(|_| {}).await;
        let source: benteng_screening::ListSource = "generic:test-rich".parse().unwrap();
        let list = benteng_screening::parse_list(&source, RICH_LIST.as_bytes()).unwrap();
        benteng_compliance::lists::store_list(
            &services.store,
            list,
            &benteng_core::audit::AuditContext::system("test"),
        )
        .await
        .unwrap();
    }
    TestApp::spawn_in_with(env, |config| {
        config.people.argon2_memory_kib = 19 * 1024;
        config.people.argon2_iterations = 2;
    })
    .await
}

async fn screening_search_shows_each_match_beside_its_list_entry(backend: Backend) {
    let app = app_with_rich_list(backend).await;
    let analyst = enrol(&app, "ana@benteng.example", &[StaffRole::ComplianceAnalyst]).await;
    let support = enrol(&app, "sue@benteng.example", &[StaffRole::Support]).await;
    let ana = sign_in(&app, &analyst).await;
    let sue = sign_in(&app, &support).await;
    let version = {
        let lists: Value = get(&app.client, app.url("/admin/v1/lists"), &sue)
            .await
            .json()
            .await
            .unwrap();
        lists
            .as_array()
            .unwrap()
            .iter()
            .find(|l| l["source"] == "generic:test-rich")
            .unwrap()["version"]
            .as_str()
            .unwrap()
            .to_owned()
    };

    // The API: each match with its entry and the list's version; `type` is read.
    let found = post(
        &app.client,
        app.url("/admin/v1/screening/search"),
        &ana,
        &json!({"name": "Ivan Petrov", "type": "individual", "country": "RU",
            "birth_year": 1961}),
    )
    .await;
    assert_eq!(found.status(), StatusCode::OK);
    let found: Value = found.json().await.unwrap();
    let hit = &found["matches"][0];
    assert_eq!(hit["entry_id"], "R-1", "{found}");
    assert_eq!(hit["list_version"], version.as_str());
    assert_eq!(
        hit["entry"]["aliases"][1],
        "<script>alert(2)</script> Petrov"
    );
    assert_eq!(hit["entry"]["nationalities"], json!(["RU", "BY"]));
    assert_eq!(hit["entry"]["identifiers"][0]["value"], "P<123>");
    let factors: Vec<&str> = hit["evidence"]["adjustments"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["factor"].as_str().unwrap())
        .collect();
    assert!(
        factors.contains(&"dob") && factors.contains(&"country"),
        "{found}"
    );
    // The other kind of party scores lower.
    let business: Value = post(
        &app.client,
        app.url("/admin/v1/screening/search"),
        &ana,
        &json!({"name": "Ivan Petrov", "type": "business", "country": "RU",
            "birth_year": 1961}),
    )
    .await
    .json()
    .await
    .unwrap();
    assert!(
        business["matches"][0]["score"].as_u64() < hit["score"].as_u64(),
        "{business}"
    );
    for body in [
        json!({"name": "Ivan Petrov", "type": "vessel"}),
        json!({"name": "Ivan Petrov", "type": 1}),
    ] {
        let refused = post(
            &app.client,
            app.url("/admin/v1/screening/search"),
            &ana,
            &body,
        )
        .await;
        assert_eq!(refused.status(), StatusCode::UNPROCESSABLE_ENTITY, "{body}");
        assert!(refused.text().await.unwrap().contains("type"), "{body}");
    }

    // The console: the same search from its form, each value of the entry beside what was
    // searched, as text.
    let search = async |fields: &[(&str, &str)], session: &Session| {
        let mut fields = fields.to_vec();
        fields.push(("csrf_token", session.csrf.as_str()));
        form_post(&app, "/console/screening", session, &fields).await
    };
    let page = get(&app.client, app.url("/console/screening"), &ana).await;
    assert_eq!(page.status(), StatusCode::OK);
    assert!(page.text().await.unwrap().contains("name=\"csrf_token\""));
    let shown = search(
        &[
            ("name", "Ivan Petrov"),
            ("type", "individual"),
            ("country", "RU"),
            ("birth_year", "1961"),
        ],
        &ana,
    )
    .await;
    assert_eq!(shown.status(), StatusCode::OK);
    let html = shown.text().await.unwrap();
    for expected in [
        "Ivan &lt;b&gt;Petrov&lt;/b&gt;",
        "Ivan Petrof; &lt;script&gt;alert(2)&lt;/script&gt; Petrov",
        "1961-03-04; 1962",
        "RU; BY",
        "Passport: P&lt;123&gt;; National ID: 9988",
        "Moscow &lt;i&gt;Tverskaya&lt;/i&gt; 1",
        "SDN&amp;lt; UKR-EO13660",
        version.as_str(),
        "<th>Searched</th>",
        "<td>individual</td>",
        "generic:test-rich:R-1",
    ] {
        assert!(html.contains(expected), "{expected}: {html}");
    }
    assert!(
        html.contains("<td>dob</td>") && html.contains("<td>country</td>"),
        "{html}"
    );
    assert!(
        !html.contains("<script>") && !html.contains("<b>Petrov"),
        "{html}"
    );
    assert!(!html.contains("style="), "{html}");

    // A hostile name comes back as text, in the form and beside the entry.
    let hostile = "<script>alert(1)</script> Ivan Petrov";
    let shown = search(&[("name", hostile)], &ana).await;
    assert_eq!(shown.status(), StatusCode::OK);
    let html = shown.text().await.unwrap();
    assert!(
        html.contains("value=\"&lt;script&gt;alert(1)&lt;/script&gt; Ivan Petrov\""),
        "{html}"
    );
    assert!(
        html.contains("<td>&lt;script&gt;alert(1)&lt;/script&gt; Ivan Petrov</td>"),
        "{html}"
    );
    assert!(!html.contains("<script>"), "{html}");

    // Bad input: a readable page naming the field, no results.
    let huge = "x".repeat(10_000);
    for (fields, status, named) in [
        (
            vec![("name", huge.as_str())],
            StatusCode::UNPROCESSABLE_ENTITY,
            "name must be at most 200",
        ),
        (
            vec![("name", "  ")],
            StatusCode::UNPROCESSABLE_ENTITY,
            "name is required",
        ),
        (
            vec![("name", "!!!")],
            StatusCode::UNPROCESSABLE_ENTITY,
            "name",
        ),
        (
            vec![("name", "Ivan Petrov"), ("birth_year", "19<61")],
            StatusCode::UNPROCESSABLE_ENTITY,
            "birth_year must be a year",
        ),
        (
            vec![("name", "Ivan Petrov"), ("type", "<script>")],
            StatusCode::UNPROCESSABLE_ENTITY,
            "type must be individual or business",
        ),
        (
            vec![("name", "Ivan Petrov"), ("limit", "5")],
            StatusCode::BAD_REQUEST,
            "unknown field",
        ),
        (
            vec![("name", "Ivan Petrov"), ("name", "Ivan Petrov")],
            StatusCode::BAD_REQUEST,
            "repeats a field",
        ),
    ] {
        let shown = search(&fields, &ana).await;
        let got = shown.status();
        let html = shown.text().await.unwrap();
        assert_eq!(got, status, "{named}: {html}");
        assert!(html.contains(named), "{named}: {html}");
        assert!(
            !html.contains("match(es)") && !html.contains("<script>"),
            "{html}"
        );
        assert!(html.len() < 20_000, "the huge name is not echoed whole");
    }
    // Without the CSRF field, or without the permission: refused.
    let forged = form_post(&app, "/console/screening", &ana, &[("name", "Ivan Petrov")]).await;
    assert_eq!(forged.status(), StatusCode::FORBIDDEN);
    let refused = get(&app.client, app.url("/console/screening"), &sue).await;
    assert_eq!(refused.status(), StatusCode::FORBIDDEN);
    let refused = search(&[("name", "Ivan Petrov")], &sue).await;
    assert_eq!(refused.status(), StatusCode::FORBIDDEN);
    // The header links it for those who may search, not for others.
    let inbox = get(&app.client, app.url("/console/cases"), &ana)
        .await
        .text()
        .await
        .unwrap();
    assert!(inbox.contains("href=\"/console/screening\""), "{inbox}");
    let reports = get(&app.client, app.url("/console/reports"), &sue).await;
    assert_eq!(reports.status(), StatusCode::FORBIDDEN);
}

/// The dashboard, the screening search and the inbox's filters in a real browser, by keyboard
/// and mouse as an analyst uses them: the pages load under the server's CSP with no
/// violation, and a hostile name typed into the search comes back as text.
async fn the_dashboard_screening_search_and_inbox_filters_work_in_the_browser(backend: Backend) {
    let app = app_with_rich_list(backend).await;
    let analyst = enrol(&app, "ana@benteng.example", &[StaffRole::ComplianceAnalyst]).await;
    let (_, payer) = funded_payer(&app, 100_000).await;
    let recipient = payer
        .recipient_in(HOSTILE, "IR", "DE89370400440532013000")
        .await;
    let held = payer.pay(&recipient, "100.00").await;
    assert_eq!(held["status"], "PENDING_REVIEW", "{held}");
    let browser = Browser::start().await;
    browser.sign_in(&app, &analyst).await;

    // The inbox's filters: a corridor with no case, then the case's.
    browser.type_into("#country", "KP").await;
    browser.click("form.filters button").await;
    browser
        .wait_until("the filtered inbox", |url, page| {
            url.contains("country=KP") && page.contains("0 case(s)")
        })
        .await;
    let country = browser.find("#country").await;
    browser
        .command(&format!("/element/{country}/clear"), json!({}))
        .await;
    browser.type_into("#country", "IR").await;
    browser.click("#sla option[value=on_time]").await;
    browser.click("#assignee option[value=unassigned]").await;
    browser.click("form.filters button").await;
    let page = browser
        .wait_until("the inbox with the case", |url, page| {
            url.contains("country=IR") && url.contains("sla=on_time") && page.contains("1 case(s)")
        })
        .await;
    assert!(
        page.contains("<option value=\"unassigned\" selected"),
        "{page}"
    );
    assert!(!page.contains("<script>alert(1)"), "{page}");

    // The dashboard, from the header.
    browser
        .click("header nav a[href='/console/dashboard']")
        .await;
    browser
        .wait_until("the dashboard", |url, page| {
            url.ends_with("/console/dashboard") && page.contains("Decisions per day")
        })
        .await;
    let open = browser.find("#open-count").await;
    assert_eq!(browser.text(&format!("/element/{open}/text")).await, "1");
    // The stylesheet applies (same origin, allowed by `default-src 'self'`).
    let tab = browser.find("header nav a").await;
    assert_eq!(
        browser.text(&format!("/element/{tab}/css/color")).await,
        "rgba(255, 255, 255, 1)"
    );
    if backend == Backend::Sqlite {
        browser.screenshot("console-dashboard.png").await;
    }

    // The screening search: a hostile name, typed and sent by keyboard.
    browser
        .click("header nav a[href='/console/screening']")
        .await;
    browser
        .wait_until("the search form", |url, page| {
            url.ends_with("/console/screening") && page.contains("form method=\"post\"")
        })
        .await;
    let hostile = "<script>alert(1)</script> Ivan Petrov";
    browser.type_into("#name", hostile).await;
    browser.click("#type option[value=individual]").await;
    // Enter in the name field submits the form.
    browser.type_into("#name", "\u{E007}").await;
    let page = browser
        .wait_until("the matches", |url, page| {
            url.ends_with("/console/screening") && page.contains("match(es)")
        })
        .await;
    assert!(page.contains("generic:test-rich:R-1"), "{page}");
    assert!(!page.contains("<script>alert"), "{page}");
    // Shown as typed, as text: the field's value and the "searched" cell.
    let name = browser.find("#name").await;
    assert_eq!(
        browser
            .text(&format!("/element/{name}/property/value"))
            .await,
        hostile
    );
    let cell = browser
        .find("table.side-by-side tbody tr:first-child td")
        .await;
    assert_eq!(
        browser.text(&format!("/element/{cell}/text")).await,
        hostile
    );
    let scripts = browser
        .command(
            "/elements",
            json!({"using": "css selector", "value": "script"}),
        )
        .await;
    assert_eq!(scripts, json!([]), "no script element on the page");

    let violations = browser.csp_violations().await;
    assert!(violations.is_empty(), "{violations:?}");
    browser.quit().await;
}

/// Working a case by hand, through the API and the console's form: each change is logged and
/// audited under the analyst (never filed under the tenant); bad values and the wrong people
/// change nothing; a closed case takes no change but reopening, and reopens only while its
/// party has no other open case of its subject.
async fn a_case_is_commented_set_waiting_assigned_closed_and_reopened_never_edited(
    backend: Backend,
) {
    let app = crate::people::app(backend).await;
    let analyst = enrol(&app, "ana@benteng.example", &[StaffRole::ComplianceAnalyst]).await;
    let session = sign_in(&app, &analyst).await;
    let support = enrol(&app, "sue@benteng.example", &[StaffRole::Support]).await;
    let support_session = sign_in(&app, &support).await;
    let (_, payer) = funded_payer(&app, 10_000_000).await;
    let recipient = payer
        .recipient("Muller Handel GmbH", "DE89370400440532013000")
        .await;
    // Structuring blocks the third transfer near USD 10,000: a monitoring case.
    for expected in ["APPROVED", "APPROVED", "BLOCKED"] {
        let paid = payer.pay(&recipient, "9900.00").await;
        assert_eq!(paid["status"], expected, "{paid}");
    }
    let inbox: Value = get(&app.client, app.url("/admin/v1/cases"), &session)
        .await
        .json()
        .await
        .unwrap();
    let id = inbox[0]["id"].as_str().unwrap().to_owned();
    let at = |what: &str| app.url(&format!("/admin/v1/cases/{id}/{what}"));
    let client = &app.client;
    let send = |what: &'static str, body: Value, who: &'static str| {
        let session = if who == "support" {
            &support_session
        } else {
            &session
        };
        let url = at(what);
        async move { post(client, url, session, &body).await }
    };
    let log = || async {
        let detail: Value = get(
            &app.client,
            app.url(&format!("/admin/v1/cases/{id}")),
            &session,
        )
        .await
        .json()
        .await
        .unwrap();
        detail
    };
    let events_before = log().await["events"].as_array().unwrap().len();

    // Refused: too short a comment, a closed or unknown status, unknown fields, a person who
    // may not decide cases (as assignee, and as the one asking), an unknown case.
    for (what, body, who, status) in [
        ("comments", json!({"comment": "short"}), "analyst", 422),
        (
            "comments",
            json!({"comment": "x".repeat(2001)}),
            "analyst",
            422,
        ),
        (
            "comments",
            json!({"comment": "a fine comment", "extra": 1}),
            "analyst",
            422,
        ),
        ("status", json!({"status": "closed"}), "analyst", 422),
        ("status", json!({"status": "OPEN"}), "analyst", 422),
        ("assignee", json!({"assignee": support.id}), "analyst", 422),
        (
            "assignee",
            json!({"assignee": "b1a5b0f6-3a4b-4c1e-9d1a-0c9e6f1b2a3c"}),
            "analyst",
            422,
        ),
        ("assignee", json!({"assignee": "<script>"}), "analyst", 422),
        (
            "comments",
            json!({"comment": "support has a say"}),
            "support",
            403,
        ),
        (
            "reopen",
            json!({"comment": "it is not even closed"}),
            "analyst",
            409,
        ),
    ] {
        let answer = send(what, body.clone(), who).await;
        assert_eq!(answer.status().as_u16(), status, "{what} {body}");
    }
    let unknown = post(
        &app.client,
        app.url("/admin/v1/cases/0b0e4c4e-6f0a-4c39-9d8e-2f4b7a1c9e55/comments"),
        &session,
        &json!({"comment": "nobody is here"}),
    )
    .await;
    assert_eq!(unknown.status(), StatusCode::NOT_FOUND);
    assert_eq!(
        log().await["events"].as_array().unwrap().len(),
        events_before
    );

    // Accepted: a comment, waiting, assigned to the analyst then to nobody.
    let answer = send(
        "comments",
        json!({"comment": "Asked the tenant for the invoices."}),
        "analyst",
    )
    .await;
    assert_eq!(answer.status(), StatusCode::OK);
    let answer = send(
        "status",
        json!({"status": "waiting", "comment": "Waiting for the invoices."}),
        "analyst",
    )
    .await;
    assert_eq!(answer.status(), StatusCode::OK);
    let case: Value = answer.json().await.unwrap();
    assert_eq!(case["status"], "waiting", "{case}");
    let answer = send("assignee", json!({"assignee": analyst.id}), "analyst").await;
    let case: Value = answer.json().await.unwrap();
    assert_eq!(case["assignee"], analyst.id.as_str(), "{case}");
    let answer = send("assignee", json!({"assignee": null}), "analyst").await;
    let case: Value = answer.json().await.unwrap();
    assert!(case["assignee"].is_null(), "{case}");

    // The console's form does the same; a hostile comment comes back as text.
    let hostile = "Invoice <script>alert(1)</script> checked";
    let answer = form_post(
        &app,
        &format!("/console/cases/{id}/work"),
        &session,
        &[
            ("action", "comment"),
            ("comment", hostile),
            ("csrf_token", session.csrf.as_str()),
        ],
    )
    .await;
    // 303 to the case's page, which the client follows.
    assert_eq!(answer.status(), StatusCode::OK);
    assert_eq!(answer.url().path(), format!("/console/cases/{id}"));
    let forged = form_post(
        &app,
        &format!("/console/cases/{id}/work"),
        &session,
        &[("action", "comment"), ("comment", "forged without a token")],
    )
    .await;
    assert_eq!(forged.status(), StatusCode::FORBIDDEN);
    let page = get(
        &app.client,
        app.url(&format!("/console/cases/{id}")),
        &session,
    )
    .await
    .text()
    .await
    .unwrap();
    assert!(
        page.contains("Invoice &lt;script&gt;alert(1)&lt;/script&gt; checked"),
        "{page}"
    );
    assert!(!page.contains(hostile));
    assert!(
        page.contains("/work\"") && !page.contains("value=\"reopen\""),
        "{page}"
    );
    let kinds: Vec<String> = log().await["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["kind"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(
        kinds[events_before..],
        [
            "commented",
            "status_changed",
            "assigned",
            "assigned",
            "commented"
        ],
        "{kinds:?}"
    );

    // Closed, it takes no change: only reopening, with why.
    let closed = send(
        "close",
        json!({"outcome": "false_positive", "comment": "The invoices match the payments."}),
        "analyst",
    )
    .await;
    assert_eq!(closed.status(), StatusCode::OK);
    for (what, body) in [
        ("comments", json!({"comment": "one more thing to add"})),
        ("status", json!({"status": "open"})),
        ("assignee", json!({"assignee": analyst.id})),
    ] {
        let answer = send(what, body, "analyst").await;
        assert_eq!(answer.status(), StatusCode::CONFLICT);
        assert!(problem_type(answer).await.ends_with("case-closed"));
    }
    let answer = send("reopen", json!({}), "analyst").await;
    assert_eq!(answer.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let reopened = send(
        "reopen",
        json!({"comment": "The tenant sent a second set of invoices."}),
        "analyst",
    )
    .await;
    assert_eq!(reopened.status(), StatusCode::OK);
    let reopened: Value = reopened.json().await.unwrap();
    assert_eq!(reopened["status"], "open", "{reopened}");
    assert!(reopened["outcome"].is_null(), "{reopened}");
    assert_eq!(reopened["overdue"], false, "{reopened}");
    let again = send(
        "reopen",
        json!({"comment": "The tenant sent a second set of invoices."}),
        "analyst",
    )
    .await;
    assert_eq!(again.status(), StatusCode::CONFLICT);
    assert!(problem_type(again).await.ends_with("case-not-reopenable"));

    // Closed again, and a new block opens a new case for the recipient: the old one may not
    // reopen beside it.
    let closed = send(
        "close",
        json!({"outcome": "inconclusive", "comment": "The second set proves nothing."}),
        "analyst",
    )
    .await;
    assert_eq!(closed.status(), StatusCode::OK);
    let paid = payer.pay(&recipient, "9900.00").await;
    assert_eq!(paid["status"], "BLOCKED", "{paid}");
    let answer = send(
        "reopen",
        json!({"comment": "Linking this to the newer case."}),
        "analyst",
    )
    .await;
    assert_eq!(answer.status(), StatusCode::CONFLICT);
    assert!(problem_type(answer).await.ends_with("case-not-reopenable"));
    assert_eq!(log().await["case"]["status"], "closed");

    // The new case shows the old one and what it came to, in the API and on its page.
    let inbox: Value = get(&app.client, app.url("/admin/v1/cases"), &session)
        .await
        .json()
        .await
        .unwrap();
    let newer = inbox[0]["id"].as_str().unwrap();
    assert_ne!(newer, id);
    let detail: Value = get(
        &app.client,
        app.url(&format!("/admin/v1/cases/{newer}")),
        &session,
    )
    .await
    .json()
    .await
    .unwrap();
    let previous = detail["previous"].as_array().unwrap();
    assert_eq!(previous.len(), 1, "{detail}");
    assert_eq!(previous[0]["id"], id.as_str());
    assert_eq!(previous[0]["outcome"], "inconclusive");
    let page = get(
        &app.client,
        app.url(&format!("/console/cases/{newer}")),
        &session,
    )
    .await
    .text()
    .await
    .unwrap();
    assert!(
        page.contains(&format!("href=\"/console/cases/{id}\"")),
        "{page}"
    );

    // Each change is audited under the analyst and filed under no tenant.
    let events = audit_types(&app).await;
    for kind in [
        "case.commented",
        "case.status_changed",
        "case.assigned",
        "case.reopened",
    ] {
        let of_kind: Vec<&Value> = events.iter().filter(|e| e["event_type"] == kind).collect();
        assert!(!of_kind.is_empty(), "{kind} is audited");
        for event in of_kind {
            assert_eq!(event["actor"]["by"], "staff:ana@benteng.example", "{event}");
            assert!(event["actor"]["tenant_id"].is_null(), "{event}");
        }
    }
    let reopen = events
        .iter()
        .find(|e| e["event_type"] == "case.reopened")
        .unwrap();
    assert!(reopen.to_string().contains("false_positive"), "{reopen}");
}

/// Above `[cases] single_release_max_usd`, the one-person review route refuses a release (it
/// takes the case's four eyes) and changes nothing; blocking, the safe direction, takes one.
async fn one_person_releases_a_held_transfer_only_up_to_the_configured_amount(backend: Backend) {
    let app = TestApp::spawn_with(backend, |config| {
        config.people.argon2_memory_kib = 19 * 1024;
        config.people.argon2_iterations = 2;
        config.cases.single_release_max_usd = 50;
    })
    .await;
    let held = held_transfer_in(app).await;
    let app = &held.app;
    let analyst = sign_in(app, &held.analyst).await;
    let review = app.url(&format!("/admin/v1/transfers/{}/review", held.transfer));
    let events_before = audit_types(app).await.len();
    let refused = post(
        &app.client,
        review.clone(),
        &analyst,
        &json!({"decision": "release", "reason": "known supplier, contract on file"}),
    )
    .await;
    assert_eq!(refused.status(), StatusCode::FORBIDDEN);
    assert!(problem_type(refused).await.ends_with("four-eyes-required"));
    let transfer: Value = app
        .client
        .get(app.url(&format!("/v1/transfers/{}", held.transfer)))
        .bearer_auth(&held.payer.key)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(transfer["status"], "PENDING_REVIEW", "{transfer}");
    assert_eq!(audit_types(app).await.len(), events_before);
    let blocked = post(
        &app.client,
        review,
        &analyst,
        &json!({"decision": "block", "reason": "the buyer named is on no contract"}),
    )
    .await;
    assert_eq!(blocked.status(), StatusCode::OK);
    let blocked: Value = blocked.json().await.unwrap();
    assert_eq!(blocked["status"], "BLOCKED", "{blocked}");
}
