//! KYC evidence and upgrades end to end: documents checked by type, size and content and
//! stored sealed; each tenant sees only its own standing; a beneficial owner on a list raises
//! an alert the tenant never sees and blocks verification; an upgrade is proposed by one
//! compliance officer and approved by another, and then lifts the ceiling that refused a
//! transfer.

use benteng_core::api_key::KeyEnvironment;
use benteng_core::currency::Currency;
use benteng_core::kyc::{KycItem, KycLevel};
use benteng_core::money::Money;
use benteng_core::roles::StaffRole;
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::harness::{Backend, TestApp, on_both_backends};
use crate::people::{Session, enrol, get, post, problem_type, sign_in};

on_both_backends!(
    documents_are_checked_sealed_and_kept_to_their_tenant,
    a_beneficial_owner_on_a_list_raises_an_alert_and_cannot_be_verified,
    an_upgrade_takes_two_officers_and_lifts_the_ceiling_that_refused_a_transfer
);

const PDF: &[u8] = b"%PDF-1.7\n1 0 obj <<>> endobj\nSECRET-PASSPORT-NUMBER A1234567\n%%EOF\n";
const PNG: &[u8] = b"\x89PNG\r\n\x1a\n\x00\x00\x00\x0dIHDR\x00\x00\x00\x01";
const JPEG: &[u8] = &[
    0xFF, 0xD8, 0xFF, 0xE0, 0x00, 0x10, b'J', b'F', b'I', b'F', 0x00,
];

/// A small document cap (above the 1 MiB body limit of every other route) and quick sign-ins.
async fn app(backend: Backend) -> TestApp {
    TestApp::spawn_with(backend, |config| {
        config.people.argon2_memory_kib = 19 * 1024;
        config.people.argon2_iterations = 2;
        config.kyc.max_document_bytes = 1_500_000;
        config.cases.kyc_inbox = "kyc-upgrades".to_owned();
    })
    .await
}

async fn officer(app: &TestApp, login: &str, role: StaffRole) -> Session {
    let person = enrol(app, login, &[role]).await;
    sign_in(app, &person).await
}

async fn upload(
    app: &TestApp,
    key: &str,
    item: &str,
    content_type: &str,
    body: Vec<u8>,
) -> reqwest::Response {
    app.client
        .post(app.url(&format!("/v1/kyc/evidence/{item}")))
        .bearer_auth(key)
        .header("content-type", content_type)
        .body(body)
        .send()
        .await
        .unwrap()
}

async fn kyc(app: &TestApp, key: &str) -> Value {
    let response = app.get("/v1/kyc", Some(key)).await;
    assert_eq!(response.status(), StatusCode::OK);
    response.json().await.unwrap()
}

fn status_of(view: &Value, item: &str) -> String {
    view["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["item"] == item)
        .unwrap_or_else(|| panic!("{item} in {view}"))["status"]
        .as_str()
        .unwrap()
        .to_owned()
}

async fn evidence_rows(app: &TestApp) -> i64 {
    let mut conn = app.raw_sql().await;
    sqlx::query_scalar("SELECT COUNT(*) FROM kyc_evidence")
        .fetch_one(&mut conn)
        .await
        .unwrap()
}

async fn documents_are_checked_sealed_and_kept_to_their_tenant(backend: Backend) {
    let app = app(backend).await;
    let (tenant, key) = app.tenant_with_key().await;
    let (other, other_key) = app.tenant_with_key().await;
    app.set_kyc_level(tenant.id, KycLevel::None).await;

    // Each allowed type, one item each; the answer names the size and digest, not the content.
    let mut ids = Vec::new();
    for (item, content_type, body) in [
        ("government_id", "application/pdf", PDF),
        ("address_proof", "image/png", PNG),
        ("business_licence", "image/jpeg; charset=binary", JPEG),
    ] {
        let response = upload(&app, &key, item, content_type, body.to_vec()).await;
        assert_eq!(response.status(), StatusCode::CREATED, "{item}");
        let view: Value = response.json().await.unwrap();
        assert_eq!(view["item"], item);
        assert_eq!(view["size_bytes"], body.len());
        assert_eq!(
            view["sha256"],
            hex::encode(benteng_crypto::sha256(body)),
            "{view}"
        );
        assert!(view.get("screening").is_none(), "{view}");
        ids.push(view["id"].as_str().unwrap().to_owned());
    }
    // Over the 1 MiB limit of other routes, under the document cap: taken.
    let mut large = b"%PDF-1.4\n".to_vec();
    large.resize(1_200_000, b'x');
    let response = upload(
        &app,
        &key,
        "bank_statements",
        "application/pdf",
        large.clone(),
    )
    .await;
    assert_eq!(response.status(), StatusCode::CREATED);
    assert_eq!(evidence_rows(&app).await, 4);

    // Refusals, each a problem document, and nothing stored.
    let refusals = [
        (
            "government_id",
            "image/gif",
            b"GIF89a....".to_vec(),
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported-document-type",
        ),
        (
            "government_id",
            "text/plain",
            PDF.to_vec(),
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported-document-type",
        ),
        (
            "government_id",
            "application/pdf",
            PNG.to_vec(),
            StatusCode::UNPROCESSABLE_ENTITY,
            "document-content-mismatch",
        ),
        (
            "address_proof",
            "image/png",
            JPEG.to_vec(),
            StatusCode::UNPROCESSABLE_ENTITY,
            "document-content-mismatch",
        ),
        (
            "address_proof",
            "image/jpeg",
            b"<html>".to_vec(),
            StatusCode::UNPROCESSABLE_ENTITY,
            "document-content-mismatch",
        ),
        (
            "address_proof",
            "application/pdf",
            Vec::new(),
            StatusCode::UNPROCESSABLE_ENTITY,
            "document-empty",
        ),
        (
            "passport",
            "application/pdf",
            PDF.to_vec(),
            StatusCode::NOT_FOUND,
            "unknown-kyc-item",
        ),
    ];
    for (item, content_type, body, status, slug) in refusals {
        let response = upload(&app, &key, item, content_type, body).await;
        assert_eq!(response.status(), status, "{item} {content_type}");
        assert_eq!(
            response.headers()["content-type"],
            "application/problem+json"
        );
        let problem = problem_type(response).await;
        assert!(problem.ends_with(slug), "{problem}");
    }
    let mut oversize = b"%PDF-1.4\n".to_vec();
    oversize.resize(1_500_001, b'x');
    let response = upload(
        &app,
        &key,
        "bank_statements",
        "application/pdf",
        oversize.clone(),
    )
    .await;
    assert_eq!(response.status(), StatusCode::PAYLOAD_TOO_LARGE);
    assert!(problem_type(response).await.ends_with("document-too-large"));
    assert_eq!(evidence_rows(&app).await, 4);

    // Test keys and keys without the scope change nothing.
    let test_key = app.key_in(tenant.id, KeyEnvironment::Test).await;
    let response = upload(
        &app,
        &test_key,
        "government_id",
        "application/pdf",
        PDF.to_vec(),
    )
    .await;
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    let read_only = app
        .key_with_scopes(tenant.id, benteng_core::scopes::Scopes::read_only())
        .await;
    let response = upload(
        &app,
        &read_only,
        "government_id",
        "application/pdf",
        PDF.to_vec(),
    )
    .await;
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    assert_eq!(evidence_rows(&app).await, 4);

    // Sealed at rest: neither the text nor the magic bytes are in the table.
    let mut conn = app.raw_sql().await;
    let stored: Vec<String> = sqlx::query_scalar("SELECT document FROM kyc_evidence")
        .fetch_all(&mut conn)
        .await
        .unwrap();
    assert!(
        stored
            .iter()
            .all(|d| !d.contains("SECRET") && !d.contains("%PDF"))
    );

    // The tenant sees its own items, the other tenant nothing of them.
    let mine = kyc(&app, &key).await;
    assert_eq!(mine["level"], "none");
    assert_eq!(mine["ceiling_usd_cents"], 0);
    assert_eq!(mine["volume_30d_usd_cents"], 0);
    assert_eq!(status_of(&mine, "government_id"), "submitted");
    assert_eq!(status_of(&mine, "email"), "missing");
    let theirs = kyc(&app, &other_key).await;
    assert!(
        theirs["items"]
            .as_array()
            .unwrap()
            .iter()
            .all(|i| i["status"] == "missing"),
        "{theirs}"
    );

    // A reviewer reads a document back exactly (audited); through another tenant's id it
    // does not exist; support cannot read it at all.
    let reviewer = officer(&app, "mlro@benteng.example", StaffRole::ComplianceOfficer).await;
    let path = format!("/admin/v1/tenants/{}/kyc/evidence/{}", tenant.id, ids[0]);
    let response = get(&app.client, app.url(&path), &reviewer).await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.headers()["content-type"], "application/pdf");
    assert_eq!(response.bytes().await.unwrap().as_ref(), PDF);
    let wrong = format!("/admin/v1/tenants/{}/kyc/evidence/{}", other.id, ids[0]);
    let response = get(&app.client, app.url(&wrong), &reviewer).await;
    assert_eq!(response.status(), StatusCode::NOT_FOUND);
    let support = officer(&app, "sue@benteng.example", StaffRole::Support).await;
    let response = get(&app.client, app.url(&path), &support).await;
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    let listed: Value = get(
        &app.client,
        app.url(&format!("/admin/v1/tenants/{}/kyc", tenant.id)),
        &reviewer,
    )
    .await
    .json()
    .await
    .unwrap();
    assert_eq!(listed["evidence"].as_array().unwrap().len(), 4, "{listed}");
    let reads = crate::people::audit_types(&app)
        .await
        .into_iter()
        .filter(|e| e["event_type"] == "personal_data.read")
        .count();
    assert_eq!(reads, 1);
}

async fn a_beneficial_owner_on_a_list_raises_an_alert_and_cannot_be_verified(backend: Backend) {
    let app = app(backend).await;
    let (tenant, key) = app.tenant_with_key().await;
    // Bad declarations are refused and store nothing.
    for body in [
        json!({"owners": []}),
        json!({"owners": [{"name": "Siti Rahayu", "date_of_birth": "2999-01-01", "country": "ID"}]}),
        json!({"owners": [{"name": "Siti Rahayu", "date_of_birth": "1980-02-30", "country": "ID"}]}),
        json!({"owners": [{"name": "Siti Rahayu", "date_of_birth": "1980-01-01", "country": "XX"}]}),
        json!({"owners": [{"name": "Siti Rahayu", "date_of_birth": "1980-01-01", "country": "ID", "pep": false}]}),
    ] {
        let response = app
            .post_json("/v1/kyc/beneficial-owners", &key, &body)
            .await;
        assert_eq!(
            response.status(),
            StatusCode::UNPROCESSABLE_ENTITY,
            "{body}"
        );
    }
    assert_eq!(evidence_rows(&app).await, 0);

    // One owner is on the baseline list: the tenant is told only that it was received.
    let response = app
        .post_json(
            "/v1/kyc/beneficial-owners",
            &key,
            &json!({"owners": [
                {"name": "Siti Rahayu", "date_of_birth": "1980-01-01", "country": "ID"},
                {"name": "Fictitious Baseline Entry", "date_of_birth": "1970-01-01", "country": "ID"}
            ]}),
        )
        .await;
    assert_eq!(response.status(), StatusCode::CREATED);
    let text = response.text().await.unwrap();
    assert!(
        !text.contains("hit") && !text.contains("match") && !text.contains("screen"),
        "{text}"
    );
    assert_eq!(
        status_of(&kyc(&app, &key).await, "beneficial_owners"),
        "submitted"
    );
    let trail = app
        .get("/v1/audit-events?limit=500", Some(&key))
        .await
        .text()
        .await
        .unwrap();
    assert!(!trail.contains("kyc_ubo_screening"), "no tip-off: {trail}");

    // Compliance has the alert, and the item cannot be verified.
    let alerts = app.services.store.alerts(Some("open"), 10).await.unwrap();
    assert_eq!(alerts.len(), 1, "{alerts:?}");
    assert_eq!(alerts[0].rule.as_deref(), Some("kyc_ubo_screening"));
    assert_eq!(
        alerts[0].tenant.as_deref(),
        Some(tenant.id.to_string().as_str())
    );
    assert!(
        alerts[0].detail.contains("\"owner_index\":1"),
        "{}",
        alerts[0].detail
    );
    let reviewer = officer(&app, "mlro@benteng.example", StaffRole::ComplianceOfficer).await;
    let item = format!(
        "/admin/v1/tenants/{}/kyc/items/beneficial_owners",
        tenant.id
    );
    let response = post(
        &app.client,
        app.url(&item),
        &reviewer,
        &json!({"status": "verified"}),
    )
    .await;
    assert_eq!(response.status(), StatusCode::CONFLICT);
    assert_eq!(
        status_of(&kyc(&app, &key).await, "beneficial_owners"),
        "submitted"
    );

    // A clean declaration can be verified.
    let response = app
        .post_json(
            "/v1/kyc/beneficial-owners",
            &key,
            &json!({"owners": [{"name": "Siti Rahayu", "date_of_birth": "1980-01-01", "country": "ID"}]}),
        )
        .await;
    assert_eq!(response.status(), StatusCode::CREATED);
    let response = post(
        &app.client,
        app.url(&item),
        &reviewer,
        &json!({"status": "verified"}),
    )
    .await;
    assert_eq!(response.status(), StatusCode::NO_CONTENT);
    assert_eq!(
        status_of(&kyc(&app, &key).await, "beneficial_owners"),
        "verified"
    );
}

/// Sends `usd` to a fresh recipient through a quote; the raw answer.
async fn send(app: &TestApp, key: &str, recipient: &str, usd: &str) -> reqwest::Response {
    let quote: Value = app
        .get(
            &format!("/v1/quotes?source_currency=USD&target_currency=EUR&source_amount={usd}"),
            Some(key),
        )
        .await
        .json()
        .await
        .unwrap();
    app.post_json(
        "/v1/transfers",
        key,
        &json!({"quote_id": quote["id"], "recipient_id": recipient, "amount": usd, "currency": "USD"}),
    )
    .await
}

async fn an_upgrade_takes_two_officers_and_lifts_the_ceiling_that_refused_a_transfer(
    backend: Backend,
) {
    let app = app(backend).await;
    let (tenant, key) = app.tenant_with_key().await;
    app.services
        .store
        .fund(
            tenant.id,
            KeyEnvironment::Live,
            Money::from_minor(1_000_000, Currency::USD),
            &benteng_core::audit::AuditContext::system("test"),
        )
        .await
        .unwrap();
    app.set_kyc_level(tenant.id, KycLevel::Basic).await;
    let operations = app.services.operations();
    let system = benteng_core::audit::AuditContext::system("test");
    for item in [
        KycItem::Email,
        KycItem::Phone,
        KycItem::BusinessRegistration,
    ] {
        operations
            .set_kyc_item(tenant.id, item, "verified".parse().unwrap(), &system)
            .await
            .unwrap();
    }
    let response = app
        .post_json(
            "/v1/recipients",
            &key,
            &json!({"type": "business", "name": "Muller Handel GmbH", "country": "DE",
                "bank_account": {"iban": "DE89370400440532013000"}}),
        )
        .await;
    assert_eq!(response.status(), StatusCode::CREATED);
    let recipient: Value = response.json().await.unwrap();
    let recipient = recipient["id"].as_str().unwrap().to_owned();
    let response = send(&app, &key, &recipient, "700.00").await;
    assert_eq!(response.status(), StatusCode::CREATED);
    // 700 + 400 is over basic's $1,000.
    let response = send(&app, &key, &recipient, "400.00").await;
    assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(problem_type(response).await.ends_with("kyc-limit-exceeded"));
    let standing = kyc(&app, &key).await;
    assert_eq!(standing["level"], "basic");
    assert_eq!(standing["ceiling_usd_cents"], 100_000);
    assert_eq!(standing["volume_30d_usd_cents"], 70_000, "{standing}");

    // Asking before the evidence is in: refused, naming what is missing.
    let response = app
        .post_json("/v1/kyc/upgrade-requests", &key, &json!({}))
        .await;
    assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let problem = response.text().await.unwrap();
    assert!(
        problem.contains("government_id") && problem.contains("beneficial_owners"),
        "{problem}"
    );
    for (item, content_type, body) in [
        ("government_id", "application/pdf", PDF),
        ("address_proof", "image/png", PNG),
        ("business_licence", "image/jpeg", JPEG),
    ] {
        let response = upload(&app, &key, item, content_type, body.to_vec()).await;
        assert_eq!(response.status(), StatusCode::CREATED);
    }
    let response = app
        .post_json(
            "/v1/kyc/beneficial-owners",
            &key,
            &json!({"owners": [{"name": "Siti Rahayu", "date_of_birth": "1980-01-01", "country": "ID"}]}),
        )
        .await;
    assert_eq!(response.status(), StatusCode::CREATED);
    let response = app
        .post_json("/v1/kyc/upgrade-requests", &key, &json!({}))
        .await;
    assert_eq!(response.status(), StatusCode::CREATED);
    let request: Value = response.json().await.unwrap();
    assert_eq!(request["level"], "standard");
    let response = app
        .post_json("/v1/kyc/upgrade-requests", &key, &json!({}))
        .await;
    assert_eq!(response.status(), StatusCode::CONFLICT);

    // Turned down once (the tenant may ask again), then asked for anew.
    let first = officer(&app, "mlro@benteng.example", StaffRole::ComplianceOfficer).await;
    let reject = app.url(&format!(
        "/admin/v1/kyc/upgrade-requests/{}/reject",
        request["id"].as_str().unwrap()
    ));
    let response = post(&app.client, reject.clone(), &first, &json!({})).await;
    assert_eq!(response.status(), StatusCode::OK);
    let response = post(&app.client, reject, &first, &json!({})).await;
    assert_eq!(response.status(), StatusCode::CONFLICT);
    let response = app
        .post_json("/v1/kyc/upgrade-requests", &key, &json!({}))
        .await;
    assert_eq!(response.status(), StatusCode::CREATED);
    let request: Value = response.json().await.unwrap();

    let second = officer(&app, "deputy@benteng.example", StaffRole::ComplianceOfficer).await;
    let analyst = officer(&app, "ana@benteng.example", StaffRole::ComplianceAnalyst).await;
    let pending: Value = get(
        &app.client,
        app.url("/admin/v1/kyc/upgrade-requests"),
        &first,
    )
    .await
    .json()
    .await
    .unwrap();
    assert_eq!(pending.as_array().unwrap().len(), 1, "{pending}");
    assert_eq!(pending[0]["tenant"], tenant.id.to_string());
    let approve = app.url(&format!(
        "/admin/v1/kyc/upgrade-requests/{}/approve",
        request["id"].as_str().unwrap()
    ));
    // Not before every item of the level is verified.
    let response = post(&app.client, approve.clone(), &first, &json!({})).await;
    assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
    for item in [
        "government_id",
        "address_proof",
        "business_licence",
        "beneficial_owners",
    ] {
        let path = format!("/admin/v1/tenants/{}/kyc/items/{item}", tenant.id);
        let response = post(
            &app.client,
            app.url(&path),
            &analyst,
            &json!({"status": "verified"}),
        )
        .await;
        assert_eq!(
            response.status(),
            StatusCode::FORBIDDEN,
            "an analyst does not review KYC"
        );
        let response = post(
            &app.client,
            app.url(&path),
            &first,
            &json!({"status": "verified"}),
        )
        .await;
        assert_eq!(response.status(), StatusCode::NO_CONTENT, "{item}");
    }
    let response = post(&app.client, approve, &first, &json!({})).await;
    assert_eq!(response.status(), StatusCode::ACCEPTED);
    let action: Value = response.json().await.unwrap();
    assert_eq!(action["action"]["kind"], "change_kyc_level");
    assert_eq!(action["action"]["level"], "standard");
    let decide = app.url(&format!(
        "/admin/v1/approvals/{}/approve",
        action["id"].as_str().unwrap()
    ));
    // The proposer cannot approve; the level is unchanged and the transfer still refused.
    let response = post(&app.client, decide.clone(), &first, &json!({})).await;
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    assert_eq!(kyc(&app, &key).await["level"], "basic");
    let response = post(&app.client, decide.clone(), &analyst, &json!({})).await;
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    // An item rejected after the proposal stops the approval, which stays pending.
    let licence = app.url(&format!(
        "/admin/v1/tenants/{}/kyc/items/business_licence",
        tenant.id
    ));
    let response = post(
        &app.client,
        licence.clone(),
        &first,
        &json!({"status": "rejected"}),
    )
    .await;
    assert_eq!(response.status(), StatusCode::NO_CONTENT);
    let response = post(&app.client, decide.clone(), &second, &json!({})).await;
    assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(response.text().await.unwrap().contains("business_licence"));
    assert_eq!(kyc(&app, &key).await["level"], "basic");
    let response = post(&app.client, licence, &first, &json!({"status": "verified"})).await;
    assert_eq!(response.status(), StatusCode::NO_CONTENT);
    let response = post(&app.client, decide, &second, &json!({})).await;
    assert_eq!(
        response.status(),
        StatusCode::OK,
        "{:?}",
        response.text().await
    );

    let standing = kyc(&app, &key).await;
    assert_eq!(standing["level"], "standard");
    assert_eq!(standing["ceiling_usd_cents"], 5_000_000);
    let pending: Value = get(
        &app.client,
        app.url("/admin/v1/kyc/upgrade-requests"),
        &first,
    )
    .await
    .json()
    .await
    .unwrap();
    assert_eq!(pending.as_array().unwrap().len(), 0, "{pending}");
    let response = send(&app, &key, &recipient, "400.00").await;
    assert_eq!(response.status(), StatusCode::CREATED);
    let transfer: Value = response.json().await.unwrap();
    assert_eq!(transfer["status"], "APPROVED", "{transfer}");

    // Both requests went to the tenant's one KYC case (the configured inbox): the first
    // opened it, the second joined; each decision is on its log, the approval naming both
    // officers. The tenant's own view shows none of it.
    let cases: Value = get(&app.client, app.url("/admin/v1/cases"), &first)
        .await
        .json()
        .await
        .unwrap();
    let kyc_cases: Vec<&Value> = cases
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["subject"] == "kyc")
        .collect();
    assert_eq!(kyc_cases.len(), 1, "{cases}");
    let case = kyc_cases[0];
    assert_eq!(case["inbox"], "kyc-upgrades");
    assert_eq!(case["party_kind"], "tenant");
    assert_eq!(case["party_id"], tenant.id.to_string());
    let case_path = format!("/admin/v1/cases/{}", case["id"].as_str().unwrap());
    let detail: Value = get(&app.client, app.url(&case_path), &first)
        .await
        .json()
        .await
        .unwrap();
    let requests = detail["kyc_requests"].as_array().unwrap();
    assert_eq!(requests.len(), 2, "{detail}");
    assert_eq!(requests[0]["status"], "rejected");
    assert_eq!(requests[1]["status"], "approved");
    assert_eq!(requests[1]["id"], request["id"]);
    assert_eq!(requests[1]["level"], "standard");
    let events = detail["events"].as_array().unwrap();
    let kinds: Vec<&str> = events.iter().map(|e| e["kind"].as_str().unwrap()).collect();
    assert_eq!(
        kinds,
        [
            "opened",
            "kyc_upgrade_rejected",
            "item_added",
            "kyc_upgrade_approved"
        ],
        "{detail}"
    );
    assert!(events[1]["actor"].as_str().unwrap().contains("mlro@"));
    let approved = &events[3];
    assert!(approved["actor"].as_str().unwrap().contains("deputy@"));
    assert_eq!(approved["data"]["request"], request["id"]);
    assert_eq!(approved["data"]["proposal"], action["id"]);
    assert!(approved["data"]["proposed_by"].is_string());
    assert_ne!(
        approved["data"]["proposed_by"],
        approved["data"]["approved_by"]
    );
    let page = get(
        &app.client,
        app.url(&format!("/console/cases/{}", case["id"].as_str().unwrap())),
        &first,
    )
    .await
    .text()
    .await
    .unwrap();
    assert!(
        page.contains("KYC upgrade requests") && page.contains("kyc_upgrade_approved"),
        "{page}"
    );
    let tenant_view = app
        .get("/v1/audit-events?limit=500", Some(&key))
        .await
        .text()
        .await
        .unwrap();
    assert!(!tenant_view.contains("case."), "{tenant_view}");
    let changed = crate::people::audit_types(&app)
        .await
        .into_iter()
        .filter(|e| e["event_type"] == "kyc.level_changed")
        .count();
    // The harness's enhanced, the test's basic and the approved standard.
    assert_eq!(changed, 3);
}
