//! Regulatory reports (issue 16), through the operator API and the CLI: an LTKM drafted from
//! the case of a held transfer, completed, approved by a second compliance officer and exported
//! as goAML XML that `xmllint --schema` (libxml2, PPATK's schema) accepts; a day's IFTI report
//! of completed cross-border transfers, validated the same way; a UK SAR export with its
//! glossary codes; the deadline clocks in the API and in `/metrics`, alerting before breach;
//! a report to an EU FIU in its goAML (validated the same way, with the FIU's codes) or the
//! structured export; a UK SAR's DAML clock holding the transfer until consent is recorded.

use std::path::PathBuf;
use std::sync::Arc;

use benteng_core::clock::{Clock, ManualClock};
use benteng_core::roles::StaffRole;
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::harness::{Backend, TestApp, cli_with_env, on_both_backends};
use crate::monitoring::funded_payer;
use crate::people::{Session, audit_types, enrol, get, post, sign_in};

on_both_backends!(
    an_ltkm_from_a_held_transfer_is_completed_approved_by_a_second_officer_and_validates,
    a_day_of_cross_border_transfers_gives_an_ifti_report_that_validates,
    a_uk_sar_carries_its_glossary_codes_and_every_clock_alerts_before_breach,
    an_eu_report_goes_to_its_member_states_fiu_in_its_goaml_or_the_structured_export,
    a_daml_request_holds_the_transfer_through_the_refusals_moratorium_until_consent_is_recorded
);

fn xsd() -> PathBuf {
    crate::harness::shared_testdata("goaml/goAMLSchemaPPATK-4.0.2.xsd")
}

/// `xmllint --noout --schema` over `xml`: (accepted, what it said).
fn xmllint(xml: &[u8]) -> (bool, String) {
    xmllint_against(&xsd(), xml)
}

/// The same against another schema.
fn xmllint_against(xsd: &std::path::Path, xml: &[u8]) -> (bool, String) {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("report.xml");
    std::fs::write(&file, xml).unwrap();
    let output = std::process::Command::new("xmllint")
        .args(["--noout", "--schema"])
        .arg(xsd)
        .arg(&file)
        .output()
        .expect("xmllint runs (scripts/test installs libxml2-utils)");
    (
        output.status.success(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

fn configure(config: &mut benteng::config::Config) {
    config.people.argon2_memory_kib = 19 * 1024;
    config.people.argon2_iterations = 2;
    config.reports.entity_name = "PT Benteng Pembayaran".to_owned();
    config.reports.rentity_id = 4242;
    config.reports.check_interval_secs = 1;
}

struct Desk {
    app: TestApp,
    officer: Session,
    second: Session,
    analyst: Session,
    case: String,
    transfer: String,
    tenant_key: String,
}

/// A funded tenant's first transfer to a recipient in a FATF call-for-action country is held
/// and opens a case; two compliance officers and an analyst are signed in.
async fn desk(app: TestApp) -> Desk {
    desk_paying(
        app,
        "Tehran <Trading> & Sons",
        "IR",
        "DE89370400440532013000",
    )
    .await
}

/// The same, paying `name` in `country` (one on FATF's lists, so the first transfer is held).
async fn desk_paying(app: TestApp, name: &str, country: &str, iban: &str) -> Desk {
    let officer = enrol(&app, "olu@benteng.example", &[StaffRole::ComplianceOfficer]).await;
    let second = enrol(&app, "oz@benteng.example", &[StaffRole::ComplianceOfficer]).await;
    let analyst = enrol(&app, "ana@benteng.example", &[StaffRole::ComplianceAnalyst]).await;
    let (_, payer) = funded_payer(&app, 100_000).await;
    let recipient = payer.recipient_in(name, country, iban).await;
    let held = payer.pay(&recipient, "100.00").await;
    assert_eq!(held["status"], "PENDING_REVIEW", "{held}");
    let transfer = held["id"].as_str().unwrap().to_owned();
    let officer = sign_in(&app, &officer).await;
    let second = sign_in(&app, &second).await;
    let analyst = sign_in(&app, &analyst).await;
    let inbox: Value = get(&app.client, app.url("/admin/v1/cases"), &officer)
        .await
        .json()
        .await
        .unwrap();
    let case = inbox[0]["id"].as_str().unwrap().to_owned();
    let tenant_key = payer.key.clone();
    Desk {
        app,
        officer,
        second,
        analyst,
        case,
        transfer,
        tenant_key,
    }
}

fn fields(problem: &Value) -> Vec<String> {
    problem["errors"]
        .as_array()
        .unwrap_or_else(|| panic!("{problem}"))
        .iter()
        .map(|e| e["field"].as_str().unwrap().to_owned())
        .collect()
}

async fn create(d: &Desk, kind: &str) -> Value {
    let created = post(
        &d.app.client,
        d.app.url("/admin/v1/reports"),
        &d.officer,
        &json!({"case": d.case, "kind": kind}),
    )
    .await;
    assert_eq!(created.status(), StatusCode::CREATED);
    created.json().await.unwrap()
}

async fn an_ltkm_from_a_held_transfer_is_completed_approved_by_a_second_officer_and_validates(
    backend: Backend,
) {
    let d = desk(crate::harness::TestApp::spawn_with(backend, configure).await).await;
    let app = &d.app;
    let reports = app.url("/admin/v1/reports");

    // Only a compliance officer files reports.
    let refused = post(
        &app.client,
        reports.clone(),
        &d.analyst,
        &json!({"case": d.case, "kind": "ltkm"}),
    )
    .await;
    assert_eq!(refused.status(), StatusCode::FORBIDDEN);

    // The draft is filled from what benteng knows, identifiers unsealed into it.
    let draft = create(&d, "ltkm").await;
    let id = draft["id"].as_str().unwrap().to_owned();
    assert_eq!(draft["status"], "draft");
    assert_eq!(draft["fiu"], "PPATK");
    assert_eq!(draft["case"], d.case.as_str());
    let t = &draft["content"]["transactions"][0];
    assert_eq!(t["number"], d.transfer.as_str());
    assert_eq!(t["recipient"]["name"], "Tehran <Trading> & Sons");
    assert_eq!(t["recipient"]["iban"], "DE89370400440532013000");
    assert_eq!(t["transmode"], "TKLNS");

    // Incomplete: approval is refused listing every missing field.
    let url = |path: &str| app.url(&format!("/admin/v1/reports/{id}{path}"));
    let incomplete = post(
        &app.client,
        url("/request-approval"),
        &d.officer,
        &json!({}),
    )
    .await;
    assert_eq!(incomplete.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let problem: Value = incomplete.json().await.unwrap();
    assert_eq!(
        fields(&problem),
        [
            "reason",
            "subject.business",
            "subject.incorporation_country",
            "subject.address",
            "transactions[0].local_amount",
            "transactions[0].recipient.institution_code",
        ]
    );
    // Exporting a draft is refused too: never an unapproved or invalid file.
    let early = get(&app.client, url("/export?format=goaml"), &d.officer).await;
    assert_eq!(early.status(), StatusCode::CONFLICT);

    // Text XML cannot carry is refused naming the field.
    let bell = post(
        &app.client,
        url("/content"),
        &d.officer,
        &json!({"version": 1, "reason": "ring\u{7}"}),
    )
    .await;
    assert_eq!(bell.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let problem: Value = bell.json().await.unwrap();
    assert_eq!(fields(&problem), ["reason"]);
    assert!(problem.to_string().contains("U+0007"), "{problem}");

    let completion = json!({
        "version": 1,
        "reason": "First transfer to a new recipient in a call-for-action country; \
                   the tenant's stated purpose (\"consulting\") does not match its business.",
        "action": "Transfer held; enhanced due diligence opened.",
        "indicators": ["AAA001"],
        "subject": {"business": "Wholesale trade", "legal_form": "PT",
            "incorporation_country": "ID",
            "address": {"line": "Jl. Sudirman 1", "city": "Jakarta", "postal_code": "10220", "country": "ID"}},
        "transactions": [{"number": d.transfer, "local_amount": "1625000.00", "institution_code": "37040044"}]
    });
    let completed = post(&app.client, url("/content"), &d.officer, &completion).await;
    assert_eq!(completed.status(), StatusCode::OK);
    let completed: Value = completed.json().await.unwrap();
    assert_eq!(completed["version"], 2);
    assert_eq!(completed["missing"], json!([]));
    // A stale version is refused.
    let stale = post(&app.client, url("/content"), &d.officer, &completion).await;
    assert_eq!(stale.status(), StatusCode::CONFLICT);

    // Four eyes: the author asks, cannot approve; a second officer approves.
    let asked = post(
        &app.client,
        url("/request-approval"),
        &d.officer,
        &json!({}),
    )
    .await;
    assert_eq!(asked.status(), StatusCode::ACCEPTED);
    let own = post(&app.client, url("/approve"), &d.officer, &json!({})).await;
    assert_eq!(own.status(), StatusCode::FORBIDDEN);
    let by_analyst = post(&app.client, url("/approve"), &d.analyst, &json!({})).await;
    assert_eq!(by_analyst.status(), StatusCode::FORBIDDEN);
    let approved = post(&app.client, url("/approve"), &d.second, &json!({})).await;
    assert_eq!(approved.status(), StatusCode::OK);
    let approved: Value = approved.json().await.unwrap();
    assert_eq!(approved["status"], "approved");
    assert!(approved["approved_by"].is_string());
    let edit = post(
        &app.client,
        url("/content"),
        &d.officer,
        &json!({"version": 2, "action": "x"}),
    )
    .await;
    assert_eq!(edit.status(), StatusCode::CONFLICT);

    // The goAML export validates; the verifier is first shown to reject a broken one.
    let exported = get(&app.client, url("/export?format=goaml"), &d.second).await;
    assert_eq!(exported.status(), StatusCode::OK);
    assert_eq!(exported.headers()["content-type"], "application/xml");
    let xml = exported.bytes().await.unwrap().to_vec();
    let text = String::from_utf8(xml.clone()).unwrap();
    let broken = text.replace("<submission_code>E</submission_code>", "");
    let (ok, said) = xmllint(broken.as_bytes());
    assert!(!ok && said.contains("submission_code"), "{said}");
    let (ok, said) = xmllint(&xml);
    assert!(ok, "{said}\n{text}");
    assert!(text.contains("<report_code>LTKM</report_code>"));
    assert!(text.contains("<rentity_id>4242</rentity_id>"));
    assert!(text.contains("Tehran &lt;Trading&gt; &amp; Sons"));
    assert!(
        text.contains("<amount_local>1625000</amount_local>"),
        "{text}"
    );

    // The same from the host: the list with its clock, and the export to a file.
    let envs = [
        ("BENTENG_REPORTS__RENTITY_ID", "4242"),
        ("BENTENG_REPORTS__ENTITY_NAME", "PT Benteng Pembayaran"),
    ];
    let (ok, listed, err) = cli_with_env(
        &app.env,
        &envs,
        &["reports", "list", "--as", "oz@benteng.example"],
    )
    .await;
    assert!(ok, "{err}");
    assert!(
        listed.contains(&id) && listed.contains("approved") && listed.contains("running"),
        "{listed}"
    );
    let (ok, _, err) = cli_with_env(
        &app.env,
        &envs,
        &["reports", "list", "--as", "ana@benteng.example"],
    )
    .await;
    assert!(!ok && err.contains("reports:file"), "{err}");
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("ltkm.xml");
    let file_arg = file.display().to_string();
    let (ok, _, err) = cli_with_env(
        &app.env,
        &envs,
        &[
            "reports",
            "export",
            &id,
            "--format",
            "goaml",
            "--out",
            &file_arg,
            "--as",
            "oz@benteng.example",
        ],
    )
    .await;
    assert!(ok, "{err}");
    let (valid, said) = xmllint(&std::fs::read(&file).unwrap());
    assert!(valid, "{said}");

    // Submitted with the FIU's reference; then frozen: never edited, only superseded.
    let (ok, said, err) = cli_with_env(
        &app.env,
        &envs,
        &[
            "reports",
            "mark-submitted",
            &id,
            "--fiu-reference",
            "PPATK-2026-000123",
            "--as",
            "oz@benteng.example",
        ],
    )
    .await;
    assert!(ok && said.contains("submitted"), "{err}");
    let submitted: Value = get(&app.client, url(""), &d.second)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(submitted["status"], "submitted");
    assert_eq!(submitted["fiu_reference"], "PPATK-2026-000123");
    let again = post(
        &app.client,
        url("/withdraw"),
        &d.second,
        &json!({"reason": "changed our mind about it"}),
    )
    .await;
    assert_eq!(again.status(), StatusCode::CONFLICT);
    let mut conn = app.raw_sql().await;
    let tampered = sqlx::query("UPDATE reports SET content_sealed = 'x' WHERE id = $1")
        .bind(&id)
        .execute(&mut conn)
        .await;
    assert!(
        tampered.is_err(),
        "the database let a submitted report change"
    );
    let superseding = post(&app.client, url("/supersede"), &d.officer, &json!({})).await;
    assert_eq!(superseding.status(), StatusCode::CREATED);
    let superseding: Value = superseding.json().await.unwrap();
    assert_eq!(superseding["status"], "draft");
    assert_eq!(superseding["supersedes"], id.as_str());
    assert_eq!(superseding["content"]["reason"], completion["reason"]);

    // The content is sealed at rest: no identifier or name in clear.
    use sqlx::Row;
    let stored: String = sqlx::query("SELECT content_sealed FROM reports WHERE id = $1")
        .bind(&id)
        .fetch_one(&mut conn)
        .await
        .unwrap()
        .get("content_sealed");
    assert!(stored.starts_with("v1."), "{stored}");
    assert!(!stored.contains("DE89370400440532013000") && !stored.contains("Tehran"));

    // Every step is audited, none of it under the tenant (no tip-off).
    let trail = audit_types(app).await;
    let kinds: Vec<&str> = trail
        .iter()
        .filter_map(|e| e["event_type"].as_str())
        .collect();
    for kind in [
        "report.created",
        "report.updated",
        "report.approval_requested",
        "report.approved",
        "report.exported",
        "report.submitted",
        "report.superseded",
    ] {
        assert!(kinds.contains(&kind), "{kind} missing from {kinds:?}");
    }
    for event in trail.iter().filter(|e| {
        e["event_type"]
            .as_str()
            .unwrap_or("")
            .starts_with("report.")
    }) {
        assert!(event["actor"]["tenant_id"].is_null(), "{event}");
    }
    let tenant_trail = app
        .client
        .get(app.url("/v1/audit-events"))
        .bearer_auth(&d.tenant_key)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(!tenant_trail.contains("report"), "{tenant_trail}");
    let tenant_sees = app
        .client
        .get(app.url("/admin/v1/reports"))
        .bearer_auth(&d.tenant_key)
        .send()
        .await
        .unwrap();
    assert_eq!(tenant_sees.status(), StatusCode::UNAUTHORIZED);
}

async fn a_day_of_cross_border_transfers_gives_an_ifti_report_that_validates(backend: Backend) {
    let app = TestApp::spawn_with(backend, configure).await;
    enrol(&app, "olu@benteng.example", &[StaffRole::ComplianceOfficer]).await;
    enrol(&app, "ana@benteng.example", &[StaffRole::ComplianceAnalyst]).await;
    let start = time::OffsetDateTime::now_utc() - time::Duration::minutes(1);
    let (tenant, key) = app.tenant_with_key().await;
    app.services
        .store
        .fund(
            tenant.id,
            benteng_core::api_key::KeyEnvironment::Live,
            benteng_core::money::Money::from_minor(
                10_000_000_000,
                benteng_core::currency::Currency::IDR,
            ),
            &benteng_core::audit::AuditContext::system("test"),
        )
        .await
        .unwrap();
    let client = &app.client;
    let mut ids = Vec::new();
    for (n, iban) in [
        "DE89370400440532013000",
        "GB29NWBK60161331926819",
        "FR1420041010050500013M02606",
    ]
    .into_iter()
    .enumerate()
    {
        let recipient: Value = client
            .post(app.url("/v1/recipients"))
            .bearer_auth(&key)
            .json(
                &json!({"type": "business", "name": format!("Supplier {n} GmbH"),
                "country": &iban[..2], "bank_account": {"iban": iban}}),
            )
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let quote: Value = client
            .get(
                app.url("/v1/quotes?source_currency=IDR&target_currency=EUR&source_amount=1000000"),
            )
            .bearer_auth(&key)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let transfer = client
            .post(app.url("/v1/transfers"))
            .bearer_auth(&key)
            .header("x-idempotency-key", uuid::Uuid::new_v4().to_string())
            .json(
                &json!({"quote_id": quote["id"], "recipient_id": recipient["id"],
                "amount": "1000000", "currency": "IDR", "reference": format!("INV <{n}>")}),
            )
            .send()
            .await
            .unwrap();
        assert_eq!(
            transfer.status(),
            StatusCode::CREATED,
            "{:?}",
            transfer.text().await
        );
        let transfer: Value = transfer.json().await.unwrap();
        ids.push(transfer["id"].as_str().unwrap().to_owned());
    }
    // The sandbox rail completes them.
    for id in &ids {
        let mut status = String::new();
        for _ in 0..100 {
            let t: Value = client
                .get(app.url(&format!("/v1/transfers/{id}")))
                .bearer_auth(&key)
                .send()
                .await
                .unwrap()
                .json()
                .await
                .unwrap();
            status = t["status"].as_str().unwrap_or_default().to_owned();
            if status == "COMPLETED" {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        }
        assert_eq!(status, "COMPLETED", "{id}");
    }
    let end = time::OffsetDateTime::now_utc() + time::Duration::minutes(1);
    let rfc = |t: time::OffsetDateTime| {
        t.format(&time::format_description::well_known::Rfc3339)
            .unwrap()
    };
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("ifti.xml");
    let envs = [
        ("BENTENG_REPORTS__RENTITY_ID", "4242"),
        ("BENTENG_REPORTS__ENTITY_NAME", "PT Benteng Pembayaran"),
    ];
    let args = |who: &'static str| {
        vec![
            "reports".to_owned(),
            "ifti".to_owned(),
            "--from".to_owned(),
            rfc(start),
            "--to".to_owned(),
            rfc(end),
            "--out".to_owned(),
            out.display().to_string(),
            "--as".to_owned(),
            who.to_owned(),
        ]
    };
    // An analyst may not; nothing is written.
    let analyst = args("ana@benteng.example");
    let analyst: Vec<&str> = analyst.iter().map(String::as_str).collect();
    let (ok, _, err) = cli_with_env(&app.env, &envs, &analyst).await;
    assert!(!ok && err.contains("reports:file"), "{err}");
    assert!(!out.exists());
    let officer = args("olu@benteng.example");
    let officer: Vec<&str> = officer.iter().map(String::as_str).collect();
    let (ok, said, err) = cli_with_env(&app.env, &envs, &officer).await;
    assert!(ok, "{err}");
    assert!(said.contains("3 transfers"), "{said}");
    let xml = std::fs::read(&out).unwrap();
    let (valid, said) = xmllint(&xml);
    assert!(valid, "{said}");
    let text = String::from_utf8(xml).unwrap();
    assert!(text.contains("<report_code>TKLOP</report_code>"));
    assert_eq!(text.matches("<transaction>").count(), 3);
    for id in &ids {
        assert!(text.contains(id.as_str()), "{id}");
    }
    assert!(text.contains("INV &lt;0&gt;"));
    // An empty period is refused, and leaves no file.
    let empty = dir.path().join("empty.xml");
    let earlier = rfc(start - time::Duration::days(2));
    let (ok, _, err) = cli_with_env(
        &app.env,
        &envs,
        &[
            "reports",
            "ifti",
            "--from",
            &earlier,
            "--to",
            &rfc(start - time::Duration::days(1)),
            "--out",
            &empty.display().to_string(),
            "--as",
            "olu@benteng.example",
        ],
    )
    .await;
    assert!(
        !ok && err.contains("no completed cross-border transfers"),
        "{err}"
    );
    assert!(!empty.exists() && !dir.path().join("empty.partial").exists());
}

async fn a_uk_sar_carries_its_glossary_codes_and_every_clock_alerts_before_breach(
    backend: Backend,
) {
    let clock = Arc::new(ManualClock::new(time::OffsetDateTime::now_utc()));
    let app = TestApp::spawn_with_clock(backend, configure, clock.clone()).await;
    let d = desk(app).await;
    let app = &d.app;

    let sar = create(&d, "uk_sar").await;
    let id = sar["id"].as_str().unwrap().to_owned();
    assert_eq!(sar["fiu"], "NCA");
    let url = |path: &str| app.url(&format!("/admin/v1/reports/{id}{path}"));
    let bad = post(
        &app.client,
        url("/content"),
        &d.officer,
        &json!({"version": 1, "reason": "Designated person match", "indicators": ["AAA001"]}),
    )
    .await;
    assert_eq!(bad.status(), StatusCode::OK);
    let refused = post(
        &app.client,
        url("/request-approval"),
        &d.officer,
        &json!({}),
    )
    .await;
    assert_eq!(refused.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(fields(&refused.json().await.unwrap()), ["indicators[0]"]);
    let done = post(&app.client, url("/content"), &d.officer, &json!({"version": 2,
        "reason": "The recipient's name matches a designated person; we ask for a defence to release.",
        "indicators": ["XXSNEXX"], "daml_requested": true})).await;
    assert_eq!(done.status(), StatusCode::OK);
    assert_eq!(
        post(
            &app.client,
            url("/request-approval"),
            &d.officer,
            &json!({})
        )
        .await
        .status(),
        StatusCode::ACCEPTED
    );
    assert_eq!(
        post(&app.client, url("/approve"), &d.second, &json!({}))
            .await
            .status(),
        StatusCode::OK
    );
    let wrong = get(&app.client, url("/export?format=goaml"), &d.second).await;
    assert_eq!(wrong.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let exported: Value = get(&app.client, url("/export?format=json"), &d.second)
        .await
        .json()
        .await
        .unwrap();
    let codes: Vec<&str> = exported["reason_for_suspicion"]["glossary_codes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["code"].as_str().unwrap())
        .collect();
    assert_eq!(codes, ["XXS99XX", "XXSNEXX"]);
    assert_eq!(
        exported["associated_subjects"][0]["name"],
        "Tehran <Trading> & Sons"
    );
    let html = get(&app.client, url("/export?format=html"), &d.second)
        .await
        .text()
        .await
        .unwrap();
    assert!(html.contains("XXS99XX") && html.contains("XXSNEXX"));
    assert!(html.contains("Tehran &lt;Trading&gt; &amp; Sons") && !html.contains("<Trading>"));
    // Filing the SAR with its DAML request starts the NCA's 7 working days.
    let filed = post(
        &app.client,
        url("/submitted"),
        &d.second,
        &json!({"fiu_reference": "SAR-NCA-1"}),
    )
    .await;
    assert_eq!(filed.status(), StatusCode::OK);
    let filed: Value = filed.json().await.unwrap();
    let daml_due = time::OffsetDateTime::parse(
        filed["daml_due_at"]
            .as_str()
            .unwrap_or_else(|| panic!("{filed}")),
        &time::format_description::well_known::Rfc3339,
    )
    .unwrap();
    // Seven working days span at least nine calendar days (a weekend) and at most fifteen.
    let span = daml_due - clock.now();
    assert!(
        span >= time::Duration::days(9) && span <= time::Duration::days(15),
        "{span}"
    );

    // The LTKM's clock: 3 working days in Jakarta; running, then alerting, then breached.
    let ltkm = create(&d, "ltkm").await;
    assert_eq!(ltkm["clock"], "running");
    let due = time::OffsetDateTime::parse(
        ltkm["due_at"].as_str().unwrap(),
        &time::format_description::well_known::Rfc3339,
    )
    .unwrap();
    let warn = time::OffsetDateTime::parse(
        ltkm["warn_at"].as_str().unwrap(),
        &time::format_description::well_known::Rfc3339,
    )
    .unwrap();
    assert_eq!(due - warn, time::Duration::hours(24));
    assert!(due - clock.now() >= time::Duration::days(3), "{due}");
    let metric = |text: &str, series: &str| -> Option<String> {
        text.lines()
            .find(|l| l.starts_with(&format!("{series} ")))
            .map(|l| l.rsplit(' ').next().unwrap().to_owned())
    };
    // A family of gauges by its label: the LTKM's report clocks, the payments inbox's cases.
    let wait_for = |name: &'static str, want: &'static str| async move {
        let label = if name.starts_with("cases_") {
            "inbox=\"payments\""
        } else {
            "kind=\"ltkm\""
        };
        let series = format!("{name}{{{label}}}");
        for _ in 0..100 {
            let text = app
                .client
                .get(app.url("/metrics"))
                .send()
                .await
                .unwrap()
                .text()
                .await
                .unwrap();
            assert!(
                text.contains(&format!("# HELP {name} ")),
                "{name} has no HELP line"
            );
            if metric(&text, &series).as_deref() == Some(want) {
                return;
            }
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        }
        panic!("{name} never became {want}");
    };
    wait_for("regulatory_reports_open", "1").await;
    wait_for("regulatory_reports_due_soon", "0").await;
    // The held transfer's case is open and inside its 24-hour SLA…
    wait_for("cases_open", "1").await;
    wait_for("cases_overdue", "0").await;
    clock.advance(warn - clock.now() + time::Duration::minutes(1));
    wait_for("regulatory_reports_due_soon", "1").await;
    let listed: Value = get(
        &app.client,
        app.url("/admin/v1/reports?status=draft"),
        &d.officer,
    )
    .await
    .json()
    .await
    .unwrap();
    assert_eq!(listed[0]["clock"], "due_soon", "{listed}");
    clock.advance(due - clock.now() + time::Duration::minutes(1));
    wait_for("regulatory_reports_overdue", "1").await;
    // …and days later, past it.
    wait_for("cases_overdue", "1").await;
    let listed: Value = get(
        &app.client,
        app.url("/admin/v1/reports?status=draft"),
        &d.officer,
    )
    .await
    .json()
    .await
    .unwrap();
    assert_eq!(listed[0]["clock"], "breached", "{listed}");

    // The console's reports tab shows the same clocks, to compliance officers only.
    let tab = get(&app.client, app.url("/console/reports"), &d.officer).await;
    assert_eq!(tab.status(), StatusCode::OK);
    let tab = tab.text().await.unwrap();
    assert!(tab.contains(listed[0]["id"].as_str().unwrap()), "{tab}");
    assert!(tab.contains("<tr class=\"clock-breached\">"), "{tab}");
    assert!(tab.contains("SAR-NCA-1") && tab.contains("href=\"/console/reports\""));
    let refused = get(&app.client, app.url("/console/reports"), &d.analyst).await;
    assert_eq!(refused.status(), StatusCode::FORBIDDEN);
}

/// Two EU FIUs: Bulgaria's takes goAML (its codes here are test values: no EU FIU's schema is
/// in the test data), the Netherlands' the structured export.
fn configure_eu(config: &mut benteng::config::Config) {
    configure(config);
    use benteng::config::{EuFiuConfig, EuFiuFormatName};
    let text = |v: &str| Some(v.to_owned());
    let bulgaria = EuFiuConfig {
        name: "FIU Bulgaria (test)".to_owned(),
        format: EuFiuFormatName::Goaml,
        entity_name: None,
        rentity_id: Some(7001),
        rentity_branch: text("Sofia"),
        local_currency: None,
        report_code: text("STR"),
        funds_code: text("K"),
        transmode_cross_border: text("XB"),
        transmode_domestic: text("DOM"),
        business_address_type: text("B"),
        private_address_type: text("P"),
        indicators: vec!["EUI01".to_owned()],
        legal_forms: Vec::new(),
    };
    let netherlands = EuFiuConfig {
        name: "FIU-Nederland (test)".to_owned(),
        format: EuFiuFormatName::Structured,
        entity_name: None,
        rentity_id: None,
        rentity_branch: None,
        local_currency: None,
        report_code: None,
        funds_code: None,
        transmode_cross_border: None,
        transmode_domestic: None,
        business_address_type: None,
        private_address_type: None,
        indicators: vec!["NL-01".to_owned()],
        legal_forms: Vec::new(),
    };
    config.reports.fius = [("BG".to_owned(), bulgaria), ("NL".to_owned(), netherlands)].into();
}

/// PPATK's schema with the test FIU's codes added to the enumerations they belong to: the
/// goAML skeleton is shared, an FIU's code lists are its own.
fn xsd_with_codes(dir: &std::path::Path, codes: &[(&str, &[&str])]) -> PathBuf {
    let mut text = std::fs::read_to_string(xsd()).unwrap();
    for (simple_type, values) in codes {
        let open = format!("<xs:simpleType name=\"{simple_type}\">");
        let at = text.find(&open).unwrap_or_else(|| panic!("{simple_type}"));
        let restriction = at
            + text[at..]
                .find("<xs:restriction base=\"xs:string\">")
                .unwrap();
        let insert_at = restriction + "<xs:restriction base=\"xs:string\">".len();
        let added: String = values
            .iter()
            .map(|v| format!("<xs:enumeration value=\"{v}\"/>"))
            .collect();
        text.insert_str(insert_at, &added);
    }
    let path = dir.join("goaml-with-fiu-codes.xsd");
    std::fs::write(&path, text).unwrap();
    path
}

async fn create_with(d: &Desk, body: Value) -> reqwest::Response {
    post(
        &d.app.client,
        d.app.url("/admin/v1/reports"),
        &d.officer,
        &body,
    )
    .await
}

/// Completes, asks approval for and (by the second officer) approves report `id`.
async fn complete_and_approve(d: &Desk, id: &str, completion: Value) {
    let url = |path: &str| d.app.url(&format!("/admin/v1/reports/{id}{path}"));
    let done = post(&d.app.client, url("/content"), &d.officer, &completion).await;
    assert_eq!(done.status(), StatusCode::OK);
    let done: Value = done.json().await.unwrap();
    assert_eq!(done["missing"], json!([]), "{done}");
    let asked = post(
        &d.app.client,
        url("/request-approval"),
        &d.officer,
        &json!({}),
    )
    .await;
    assert_eq!(asked.status(), StatusCode::ACCEPTED);
    let approved = post(&d.app.client, url("/approve"), &d.second, &json!({})).await;
    assert_eq!(approved.status(), StatusCode::OK);
}

async fn an_eu_report_goes_to_its_member_states_fiu_in_its_goaml_or_the_structured_export(
    backend: Backend,
) {
    // Bulgaria is on FATF's increased-monitoring list: the first transfer there is held.
    let app = TestApp::spawn_with(backend, configure_eu).await;
    let d = desk_paying(app, "Sofia Trade EOOD", "BG", "BG80BNBG96611020345678").await;
    let app = &d.app;

    // Unnamed, the FIU is that of the member state the case's transfers go to.
    let created = create_with(&d, json!({"case": d.case, "kind": "eu_sar"})).await;
    assert_eq!(created.status(), StatusCode::CREATED);
    let draft: Value = created.json().await.unwrap();
    assert_eq!(draft["fiu_country"], "BG", "{draft}");
    assert_eq!(draft["fiu"], "FIU Bulgaria (test)");
    let id = draft["id"].as_str().unwrap().to_owned();
    let t = &draft["content"]["transactions"][0];
    assert_eq!(t["transmode"], "XB", "{t}");
    // Neither side is in the FIU's currency (USD → EUR… EUR is Bulgaria's): the target is.
    assert!(t["local_amount"].is_string(), "{t}");
    // The FIU's codes, not PPATK's: a PPATK indicator is refused by name.
    let url = |path: &str| app.url(&format!("/admin/v1/reports/{id}{path}"));
    let wrong = post(
        &app.client,
        url("/content"),
        &d.officer,
        &json!({"version": 1, "indicators": ["AAA001"], "daml_requested": true}),
    )
    .await;
    assert_eq!(wrong.status(), StatusCode::OK);
    let asked = post(
        &app.client,
        url("/request-approval"),
        &d.officer,
        &json!({}),
    )
    .await;
    assert_eq!(asked.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let named = fields(&asked.json().await.unwrap());
    assert!(
        named.contains(&"indicators[0]".to_owned()) && named.contains(&"daml_requested".to_owned()),
        "{named:?}"
    );
    complete_and_approve(
        &d,
        &id,
        json!({
            "version": 2,
            "reason": "Invoices do not match the goods declared; payments split across days.",
            "indicators": ["EUI01"],
            "daml_requested": false,
            "subject": {"business": "Wholesale trade", "incorporation_country": "ID",
                "address": {"line": "Jl. Sudirman 1", "city": "Jakarta", "country": "ID"}},
            "transactions": [{"number": d.transfer, "institution_code": "BNBG9661"}]
        }),
    )
    .await;
    let exported = get(&app.client, url("/export?format=goaml"), &d.second).await;
    assert_eq!(exported.status(), StatusCode::OK);
    assert_eq!(
        exported.headers()["content-disposition"],
        format!("attachment; filename=\"eu-sar-{id}.xml\"").as_str()
    );
    let xml = exported.bytes().await.unwrap().to_vec();
    let text = String::from_utf8(xml.clone()).unwrap();
    for piece in [
        "<rentity_id>7001</rentity_id>",
        "<rentity_branch>Sofia</rentity_branch>",
        "<report_code>STR</report_code>",
        "<currency_code_local>EUR</currency_code_local>",
        "<transmode_code>XB</transmode_code>",
        "<from_funds_code>K</from_funds_code>",
        "<address_type>B</address_type>",
        "<from_country>ID</from_country>",
        "<to_country>BG</to_country>",
        "<indicator>EUI01</indicator>",
    ] {
        assert!(text.contains(piece), "{piece} missing from {text}");
    }
    let dir = tempfile::tempdir().unwrap();
    let widened = xsd_with_codes(
        dir.path(),
        &[
            ("report_type", &["STR"]),
            ("funds_type", &["K"]),
            ("conduction_type", &["XB", "DOM"]),
            ("contact_type", &["B", "P"]),
            ("report_indicator_type", &["EUI01"]),
        ],
    );
    let (ok, said) = xmllint_against(&widened, &xml);
    assert!(ok, "{said}\n{text}");
    // PPATK's own lists do not hold the FIU's codes: the codes are what the widening added.
    let (ok, said) = xmllint(&xml);
    assert!(!ok && said.contains("report_code"), "{said}");
    let json_export = get(&app.client, url("/export?format=json"), &d.second).await;
    assert_eq!(json_export.status(), StatusCode::UNPROCESSABLE_ENTITY);

    // Named: a configured FIU that takes the structured export.
    let unknown = create_with(&d, json!({"case": d.case, "kind": "eu_sar", "fiu": "DE"})).await;
    assert_eq!(unknown.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(fields(&unknown.json().await.unwrap()), ["fiu"]);
    let not_eu = create_with(&d, json!({"case": d.case, "kind": "ltkm", "fiu": "NL"})).await;
    assert_eq!(not_eu.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let nl = create_with(&d, json!({"case": d.case, "kind": "eu_sar", "fiu": "NL"})).await;
    assert_eq!(nl.status(), StatusCode::CREATED);
    let nl: Value = nl.json().await.unwrap();
    assert_eq!(nl["fiu"], "FIU-Nederland (test)");
    let nl_id = nl["id"].as_str().unwrap().to_owned();
    complete_and_approve(
        &d,
        &nl_id,
        json!({"version": 1, "reason": "Payments split <below> a threshold & routed via BG.",
            "indicators": ["NL-01"]}),
    )
    .await;
    let nl_url = |path: &str| app.url(&format!("/admin/v1/reports/{nl_id}{path}"));
    let goaml = get(&app.client, nl_url("/export?format=goaml"), &d.second).await;
    assert_eq!(goaml.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let exported: Value = get(&app.client, nl_url("/export?format=json"), &d.second)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(exported["format"], "benteng.eu_str.v1");
    assert_eq!(
        exported["reason_for_suspicion"]["glossary_codes"][0]["code"],
        "NL-01"
    );
    assert!(exported.get("daml").is_none(), "{exported}");
    let html = get(&app.client, nl_url("/export?format=html"), &d.second)
        .await
        .text()
        .await
        .unwrap();
    assert!(html.contains("<h1>Suspicious transaction report to FIU-Nederland (test)</h1>"));
    assert!(html.contains("&lt;below&gt; a threshold &amp;") && !html.contains("DAML"));

    // The list says where each goes.
    let listed: Value = get(&app.client, app.url("/admin/v1/reports"), &d.officer)
        .await
        .json()
        .await
        .unwrap();
    let countries: Vec<&str> = listed
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|r| r["fiu_country"].as_str())
        .collect();
    assert!(
        countries.contains(&"BG") && countries.contains(&"NL"),
        "{listed}"
    );

    // A case whose transfers go to no member state with a configured FIU must name one.
    let other = desk_paying(
        TestApp::spawn_with(backend, configure_eu).await,
        "Tehran Sons",
        "IR",
        "DE89370400440532013000",
    )
    .await;
    let unnamed = create_with(&other, json!({"case": other.case, "kind": "eu_sar"})).await;
    assert_eq!(unnamed.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let problem: Value = unnamed.json().await.unwrap();
    assert_eq!(fields(&problem), ["fiu"]);
    assert!(problem.to_string().contains("BG, NL"), "{problem}");
}

async fn a_daml_request_holds_the_transfer_through_the_refusals_moratorium_until_consent_is_recorded(
    backend: Backend,
) {
    let clock = Arc::new(ManualClock::new(time::OffsetDateTime::now_utc()));
    let app = TestApp::spawn_with_clock(backend, configure, clock.clone()).await;
    let d = desk(app).await;
    let app = &d.app;
    let sar = create(&d, "uk_sar").await;
    let id = sar["id"].as_str().unwrap().to_owned();
    let url = |path: &str| app.url(&format!("/admin/v1/reports/{id}{path}"));
    complete_and_approve(
        &d,
        &id,
        json!({"version": 1, "reason": "The recipient's name matches a designated person.",
            "indicators": ["XXSNEXX"], "daml_requested": true}),
    )
    .await;
    // No answer to record before the SAR is filed.
    let early = post(
        &app.client,
        url("/daml"),
        &d.officer,
        &json!({"answer": "granted", "note": "NCA consent letter ref 1"}),
    )
    .await;
    assert_eq!(early.status(), StatusCode::CONFLICT);
    let filed: Value = post(
        &app.client,
        url("/submitted"),
        &d.second,
        &json!({"fiu_reference": "SAR-NCA-7"}),
    )
    .await
    .json()
    .await
    .unwrap();
    assert_eq!(filed["daml_period"], "notice", "{filed}");
    assert_eq!(filed["daml_clock"], "running");
    assert_eq!(filed["daml_clock_ends_at"], filed["daml_due_at"]);

    let metrics = |app: &TestApp| {
        let url = app.url("/metrics");
        let client = app.client.clone();
        async move { client.get(url).send().await.unwrap().text().await.unwrap() }
    };
    let wait_for = |series: &'static str, want: &'static str| async move {
        for _ in 0..100 {
            let text = metrics(app).await;
            let family = series.split('{').next().unwrap();
            assert!(
                text.contains(&format!("# HELP {family} ")),
                "{family} has no HELP line"
            );
            let value = text
                .lines()
                .find(|l| l.starts_with(&format!("{series} ")))
                .map(|l| l.rsplit(' ').next().unwrap().to_owned());
            if value.as_deref() == Some(want) {
                return;
            }
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        }
        panic!("{series} never became {want}");
    };
    wait_for("regulatory_daml_clocks_running{period=\"notice\"}", "1").await;
    wait_for("regulatory_daml_clocks_running{period=\"moratorium\"}", "0").await;

    // While the notice period runs, the held transfer is neither released nor blocked.
    let review = app.url(&format!("/admin/v1/transfers/{}/review", d.transfer));
    for decision in ["release", "block"] {
        let held = post(
            &app.client,
            review.clone(),
            &d.analyst,
            &json!({"decision": decision, "reason": "contract and invoices checked"}),
        )
        .await;
        assert_eq!(held.status(), StatusCode::CONFLICT, "{decision}");
        let problem: Value = held.json().await.unwrap();
        assert!(
            problem["type"].as_str().unwrap().ends_with("daml-pending"),
            "{problem}"
        );
        assert!(
            problem["detail"].as_str().unwrap().contains(&id),
            "{problem}"
        );
    }

    // Consent is not deemed before the notice period ends; an analyst records nothing.
    let too_soon = post(
        &app.client,
        url("/daml"),
        &d.officer,
        &json!({"answer": "deemed", "note": "no answer from the NCA so far"}),
    )
    .await;
    assert_eq!(too_soon.status(), StatusCode::CONFLICT);
    let analyst = post(
        &app.client,
        url("/daml"),
        &d.analyst,
        &json!({"answer": "refused", "note": "NCA refusal letter ref 77"}),
    )
    .await;
    assert_eq!(analyst.status(), StatusCode::FORBIDDEN);
    let bad = post(
        &app.client,
        url("/daml"),
        &d.officer,
        &json!({"answer": "maybe", "note": "NCA refusal letter ref 77"}),
    )
    .await;
    assert_eq!(bad.status(), StatusCode::UNPROCESSABLE_ENTITY);

    // The NCA refuses (recorded from the host): the 31-day moratorium starts.
    let (ok, said, err) = cli_with_env(
        &app.env,
        &[],
        &[
            "reports",
            "daml",
            &id,
            "--answer",
            "refused",
            "--note",
            "NCA refusal letter ref 77",
            "--as",
            "olu@benteng.example",
        ],
    )
    .await;
    assert!(ok, "{err}");
    assert!(said.contains("daml refused (moratorium running"), "{said}");
    let refused: Value = get(&app.client, url(""), &d.officer)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(refused["daml_answer"], "refused");
    assert_eq!(refused["daml_period"], "moratorium");
    let ends = time::OffsetDateTime::parse(
        refused["daml_moratorium_ends_at"].as_str().unwrap(),
        &time::format_description::well_known::Rfc3339,
    )
    .unwrap();
    let span = ends - clock.now();
    assert!(
        span > time::Duration::days(30) && span <= time::Duration::days(31),
        "{span}"
    );
    wait_for("regulatory_daml_clocks_running{period=\"notice\"}", "0").await;
    wait_for("regulatory_daml_clocks_running{period=\"moratorium\"}", "1").await;
    let again = post(
        &app.client,
        url("/daml"),
        &d.officer,
        &json!({"answer": "refused", "note": "NCA refusal letter ref 78"}),
    )
    .await;
    assert_eq!(again.status(), StatusCode::CONFLICT);

    // Near its end it alerts; past it, it has ended and the transfer is still held: nobody
    // presumes the NCA's silence.
    clock.advance(ends - clock.now() - time::Duration::hours(2));
    wait_for(
        "regulatory_daml_clocks_ending_soon{period=\"moratorium\"}",
        "1",
    )
    .await;
    clock.advance(time::Duration::hours(3));
    wait_for("regulatory_daml_clocks_ended{period=\"moratorium\"}", "1").await;
    wait_for(
        "regulatory_daml_clocks_ending_soon{period=\"moratorium\"}",
        "0",
    )
    .await;
    let still = post(
        &app.client,
        review.clone(),
        &d.analyst,
        &json!({"decision": "release", "reason": "contract and invoices checked"}),
    )
    .await;
    assert_eq!(still.status(), StatusCode::CONFLICT);
    let tab = get(&app.client, app.url("/console/reports"), &d.officer)
        .await
        .text()
        .await
        .unwrap();
    assert!(
        tab.contains("daml-ended") && tab.contains("moratorium ended"),
        "{tab}"
    );

    // Consent deemed, recorded: the clock stops and a person may release the transfer.
    let deemed = post(
        &app.client,
        url("/daml"),
        &d.officer,
        &json!({"answer": "deemed", "note": "moratorium over without further action"}),
    )
    .await;
    assert_eq!(deemed.status(), StatusCode::OK);
    let deemed: Value = deemed.json().await.unwrap();
    assert_eq!(deemed["daml_answer"], "deemed");
    assert!(deemed["daml_clock"].is_null(), "{deemed}");
    wait_for("regulatory_daml_clocks_ended{period=\"moratorium\"}", "0").await;
    let final_answer = post(
        &app.client,
        url("/daml"),
        &d.officer,
        &json!({"answer": "granted", "note": "a late consent letter"}),
    )
    .await;
    assert_eq!(final_answer.status(), StatusCode::CONFLICT);
    let mut conn = app.raw_sql().await;
    let tampered = sqlx::query("UPDATE reports SET daml_answer = 'refused' WHERE id = $1")
        .bind(&id)
        .execute(&mut conn)
        .await;
    assert!(
        tampered.is_err(),
        "the database let a settled DAML answer change"
    );
    let released = post(
        &app.client,
        review,
        &d.analyst,
        &json!({"decision": "release", "reason": "contract and invoices checked"}),
    )
    .await;
    assert_eq!(released.status(), StatusCode::OK);

    // Each answer is audited, under no tenant.
    let trail = audit_types(app).await;
    let answers: Vec<&Value> = trail
        .iter()
        .filter(|e| e["event_type"] == "report.daml_answered")
        .collect();
    assert_eq!(answers.len(), 2, "{trail:?}");
    assert!(answers.iter().all(|e| e["actor"]["tenant_id"].is_null()));
}
