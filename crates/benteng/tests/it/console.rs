//! Cases and the compliance console. The done-when scenarios drive a real headless Chromium
//! (Debian's `chromium` and `chromedriver`, over WebDriver's HTTP protocol): an analyst signs
//! in with password and TOTP, opens the case of a held transfer and proposes a decision; a
//! compliance officer signs in and approves it; the money moves and the trail names both.
//! The bad inputs go through the operator API and the console's forms directly.

use std::process::Stdio;
use std::time::Duration;

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
    the_docs_page_shows_an_operation_in_the_browser
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
async fn held_transfer(backend: Backend) -> Held {
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
    assert_eq!(bad.status(), StatusCode::BAD_REQUEST);
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
