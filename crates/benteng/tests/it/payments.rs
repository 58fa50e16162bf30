//! The payment flow through the public API: recipients, quotes, transfers, batches, balances,
//! the sandbox rail and the ledger's invariants, plus the spec's bad-input cases.

use std::time::{Duration, Instant};

use benteng_core::api_key::KeyEnvironment;
use benteng_core::currency::Currency;
use benteng_core::money::Money;
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::harness::{Backend, TestApp, on_both_backends};

on_both_backends!(
    a_transfer_completes_and_moves_the_ledger,
    failed_and_returned_transfers_release_funds,
    a_batch_reports_every_item,
    invalid_transfers_name_every_field_and_store_nothing,
    hostile_bodies_get_clear_4xx_and_the_server_stays_up,
    tenants_never_see_each_others_payments,
    money_rules_hold,
    concurrent_transfers_never_overdraw,
    recipients_are_validated_and_bank_accounts_never_stored_in_clear,
    test_keys_see_only_test_data_and_never_move_live_money,
);

const IBAN: &str = "DE89370400440532013000";

pub async fn fund(
    app: &TestApp,
    tenant: benteng_core::ids::TenantId,
    amount: &str,
    currency: Currency,
) {
    fund_in(app, tenant, KeyEnvironment::Live, amount, currency).await;
}

/// Credits one of the tenant's environments (`benteng ledger fund [--test]`).
pub async fn fund_in(
    app: &TestApp,
    tenant: benteng_core::ids::TenantId,
    environment: KeyEnvironment,
    amount: &str,
    currency: Currency,
) {
    app.services
        .store
        .fund(
            tenant,
            environment,
            Money::parse(amount, currency).unwrap(),
            &benteng_core::audit::AuditContext::system("test"),
        )
        .await
        .unwrap();
}

pub async fn recipient(app: &TestApp, key: &str, iban: &str) -> String {
    let response = app
        .post_json(
            "/v1/recipients",
            key,
            &json!({"type": "business", "name": "Müller Handels GmbH", "country": "DE",
                    "address": {"line1": "Hauptstraße 1", "city": "Berlin", "country": "DE"},
                    "bank_account": {"iban": iban}}),
        )
        .await;
    assert_eq!(response.status(), StatusCode::CREATED);
    let body: Value = response.json().await.unwrap();
    body["id"].as_str().unwrap().to_owned()
}

pub async fn quote(app: &TestApp, key: &str, query: &str) -> Value {
    let response = app.get(&format!("/v1/quotes?{query}"), Some(key)).await;
    assert_eq!(response.status(), StatusCode::CREATED, "{query}");
    response.json().await.unwrap()
}

pub fn transfer_body(quote: &Value, recipient: &str, reference: &str) -> Value {
    let fixed = if quote["fixed_side"] == "source" {
        &quote["source"]
    } else {
        &quote["target"]
    };
    json!({"quote_id": quote["id"], "recipient_id": recipient, "amount": fixed["value"],
           "currency": fixed["currency"], "reference": reference})
}

pub(crate) async fn balance(app: &TestApp, key: &str, currency: &str) -> (String, String) {
    let body: Value = app
        .get("/v1/balances", Some(key))
        .await
        .json()
        .await
        .unwrap();
    body["data"]
        .as_array()
        .unwrap()
        .iter()
        .find(|b| b["currency"] == currency)
        .map(|b| {
            (
                b["available"].as_str().unwrap().to_owned(),
                b["reserved"].as_str().unwrap().to_owned(),
            )
        })
        .unwrap_or_default()
}

pub async fn wait_for_status(app: &TestApp, key: &str, id: &str, status: &str) -> Value {
    let started = Instant::now();
    loop {
        let body: Value = app
            .get(&format!("/v1/transfers/{id}"), Some(key))
            .await
            .json()
            .await
            .unwrap();
        if body["status"] == status {
            return body;
        }
        assert!(
            started.elapsed() < Duration::from_secs(15),
            "transfer stuck in {}",
            body["status"]
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

pub(crate) async fn ledger_ok(app: &TestApp) {
    let violations = app.services.store.ledger_check().await.unwrap();
    assert!(violations.is_empty(), "{violations:?}");
}

async fn a_transfer_completes_and_moves_the_ledger(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let (tenant, key) = app.tenant_with_key().await;
    fund(&app, tenant.id, "1000000.00", Currency::IDR).await;
    let recipient = recipient(&app, &key, IBAN).await;
    let first = quote(
        &app,
        &key,
        "source_currency=IDR&target_currency=EUR&source_amount=500000.00",
    )
    .await;
    assert_eq!(first["source"]["value"], "500000.00");
    assert_eq!(first["fee"]["value"], "2500.00");
    assert_eq!(first["total_debit"]["value"], "502500.00");

    let response = app
        .post_json(
            "/v1/transfers",
            &key,
            &transfer_body(&first, &recipient, "INV-2026-001"),
        )
        .await;
    assert_eq!(response.status(), StatusCode::CREATED);
    let transfer: Value = response.json().await.unwrap();
    assert_eq!(transfer["status"], "APPROVED");
    assert_eq!(
        balance(&app, &key, "IDR").await,
        ("497500.00".to_owned(), "502500.00".to_owned())
    );

    let id = transfer["id"].as_str().unwrap();
    let done = wait_for_status(&app, &key, id, "COMPLETED").await;
    let steps: Vec<&str> = done["history"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["to"].as_str().unwrap())
        .collect();
    assert_eq!(
        steps,
        [
            "INITIATED",
            "SCREENING",
            "APPROVED",
            "SUBMITTED",
            "COMPLETED"
        ]
    );
    assert!(
        done["history"]
            .as_array()
            .unwrap()
            .iter()
            .all(|e| e["cause"].as_str().is_some_and(|c| !c.is_empty()))
    );
    assert_eq!(
        balance(&app, &key, "IDR").await,
        ("497500.00".to_owned(), "0.00".to_owned())
    );

    let listed: Value = app
        .get("/v1/transfers?status=COMPLETED", Some(&key))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(listed["data"][0]["id"], id);
    let empty: Value = app
        .get("/v1/transfers?status=FAILED", Some(&key))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(empty["data"].as_array().unwrap().len(), 0);
    ledger_ok(&app).await;

    // A target-fixed quote: the transfer states the target amount.
    let by_target = self::quote(
        &app,
        &key,
        "source_currency=IDR&target_currency=EUR&target_amount=10.00",
    )
    .await;
    assert_eq!(by_target["fixed_side"], "target");
    let response = app
        .post_json(
            "/v1/transfers",
            &key,
            &transfer_body(&by_target, &recipient, ""),
        )
        .await;
    assert_eq!(response.status(), StatusCode::CREATED);
    ledger_ok(&app).await;
}

async fn failed_and_returned_transfers_release_funds(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let (tenant, key) = app.tenant_with_key().await;
    fund(&app, tenant.id, "1000.00", Currency::EUR).await;
    let recipient = recipient(&app, &key, IBAN).await;

    let q = quote(
        &app,
        &key,
        "source_currency=EUR&target_currency=GBP&source_amount=100.00",
    )
    .await;
    let failing: Value = app
        .post_json(
            "/v1/transfers",
            &key,
            &transfer_body(&q, &recipient, "please FAIL"),
        )
        .await
        .json()
        .await
        .unwrap();
    let q = quote(
        &app,
        &key,
        "source_currency=EUR&target_currency=GBP&source_amount=200.00",
    )
    .await;
    let returning: Value = app
        .post_json(
            "/v1/transfers",
            &key,
            &transfer_body(&q, &recipient, "RETURN me"),
        )
        .await
        .json()
        .await
        .unwrap();

    wait_for_status(&app, &key, failing["id"].as_str().unwrap(), "FAILED").await;
    wait_for_status(&app, &key, returning["id"].as_str().unwrap(), "RETURNED").await;
    // The failed transfer released everything; the returned one refunded its principal and
    // kept its fee (0.5 % of 200.00 = 1.00).
    assert_eq!(
        balance(&app, &key, "EUR").await,
        ("999.00".to_owned(), "0.00".to_owned())
    );
    ledger_ok(&app).await;
}

async fn a_batch_reports_every_item(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let (tenant, key) = app.tenant_with_key().await;
    fund(&app, tenant.id, "10000.00", Currency::EUR).await;
    let recipient = recipient(&app, &key, IBAN).await;
    let q1 = quote(
        &app,
        &key,
        "source_currency=EUR&target_currency=IDR&source_amount=100.00",
    )
    .await;
    let q2 = quote(
        &app,
        &key,
        "source_currency=EUR&target_currency=GBP&source_amount=50.00",
    )
    .await;
    let body = json!({"transfers": [
        transfer_body(&q1, &recipient, "batch-1"),
        {"quote_id": q2["id"], "recipient_id": recipient, "amount": 50, "currency": "EUR"},
        transfer_body(&q2, &recipient, "batch-3"),
        "not an object",
        transfer_body(&q1, &recipient, "reuses quote 1"),
    ]});
    let response = app.post_json("/v1/batches", &key, &body).await;
    assert_eq!(response.status(), StatusCode::CREATED);
    let batch: Value = response.json().await.unwrap();
    assert_eq!(batch["accepted"], 2);
    assert_eq!(batch["rejected"], 3);
    let statuses: Vec<&str> = batch["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["status"].as_str().unwrap())
        .collect();
    assert_eq!(
        statuses,
        ["accepted", "rejected", "accepted", "rejected", "rejected"]
    );
    assert_eq!(batch["items"][1]["errors"]["errors"][0]["field"], "amount");
    assert_eq!(
        batch["items"][1]["errors"]["errors"][0]["code"],
        "invalid_type"
    );
    assert_eq!(batch["items"][4]["errors"]["type"], "quote-used");

    let shown: Value = app
        .get(
            &format!("/v1/batches/{}", batch["id"].as_str().unwrap()),
            Some(&key),
        )
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(shown["items"], batch["items"]);

    // The batch itself is in the audit trail, with its counts.
    let trail: Value = app
        .get("/v1/audit-events?limit=500", Some(&key))
        .await
        .json()
        .await
        .unwrap();
    let created = trail["data"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["event_type"] == "batch.created")
        .cloned()
        .unwrap_or_default();
    assert_eq!(created["resource"]["id"], batch["id"], "{trail}");
    assert_eq!(created["changes"]["accepted"]["to"], 2, "{created}");
    assert_eq!(created["changes"]["items"]["to"], 5, "{created}");

    for bad in [
        json!({"transfers": []}),
        json!({"transfers": "x"}),
        json!({}),
        json!({"transfers": [], "extra": 1}),
    ] {
        let response = app.post_json("/v1/batches", &key, &bad).await;
        assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY, "{bad}");
    }
    let too_many: Vec<Value> = (0..1001).map(|_| json!({})).collect();
    let response = app
        .post_json("/v1/batches", &key, &json!({"transfers": too_many}))
        .await;
    assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
    ledger_ok(&app).await;
}

async fn problem_fields(response: reqwest::Response) -> (StatusCode, Vec<(String, String)>) {
    let status = response.status();
    assert_eq!(
        response.headers()["content-type"],
        "application/problem+json"
    );
    let body: Value = response.json().await.unwrap();
    let fields = body["errors"]
        .as_array()
        .map(|errors| {
            errors
                .iter()
                .map(|e| {
                    (
                        e["field"].as_str().unwrap().to_owned(),
                        e["code"].as_str().unwrap().to_owned(),
                    )
                })
                .collect()
        })
        .unwrap_or_default();
    (status, fields)
}

async fn invalid_transfers_name_every_field_and_store_nothing(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let (tenant, key) = app.tenant_with_key().await;
    fund(&app, tenant.id, "1000.00", Currency::EUR).await;
    let cases = [
        (
            json!({}),
            vec!["amount", "currency", "quote_id", "recipient_id"],
        ),
        (
            json!({"quote_id": 12, "recipient_id": "not-a-uuid", "amount": 10.5, "currency": "eur",
                   "reference": "x".repeat(141)}),
            vec![
                "amount",
                "currency",
                "quote_id",
                "recipient_id",
                "reference",
            ],
        ),
        (
            json!({"quote_id": "6fa459ea-ee8a-3ca4-894e-db77e160355e", "recipient_id": uuid::Uuid::new_v4(),
                   "amount": "0", "currency": "EUR", "unexpected": true}),
            vec!["amount", "quote_id", "unexpected"],
        ),
        (
            json!({"quote_id": uuid::Uuid::new_v4(), "recipient_id": uuid::Uuid::new_v4(),
                   "amount": "1000000.01", "currency": "XYZ", "reference": "caf\u{e9}"}),
            vec!["amount", "currency", "reference"],
        ),
        (
            json!({"quote_id": uuid::Uuid::new_v4(), "recipient_id": uuid::Uuid::new_v4(),
                   "amount": "10.001", "currency": "EUR", "reference": "a\u{0}b"}),
            vec!["amount", "reference"],
        ),
    ];
    for (body, expected) in cases {
        let (status, fields) =
            problem_fields(app.post_json("/v1/transfers", &key, &body).await).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
        let mut named: Vec<&str> = fields.iter().map(|(f, _)| f.as_str()).collect();
        named.sort();
        named.dedup();
        assert_eq!(named, expected, "{body}");
    }
    // A type-coercion case in detail: a number where a string is due.
    let (_, fields) = problem_fields(
        app.post_json("/v1/transfers", &key, &json!({"quote_id": uuid::Uuid::new_v4(), "recipient_id": uuid::Uuid::new_v4(), "amount": 10, "currency": "EUR"})).await,
    )
    .await;
    assert_eq!(fields, [("amount".to_owned(), "invalid_type".to_owned())]);
    // Duplicate keys.
    let response = app
        .client
        .post(app.url("/v1/transfers"))
        .bearer_auth(&key)
        .header("x-idempotency-key", uuid::Uuid::new_v4().to_string())
        .header("content-type", "application/json")
        .body(r#"{"amount":"1.00","amount":"1000.00"}"#)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["type"], "https://benteng.dev/problems/malformed-body");

    let listed: Value = app
        .get("/v1/transfers", Some(&key))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(
        listed["data"].as_array().unwrap().len(),
        0,
        "nothing stored"
    );
    assert_eq!(
        balance(&app, &key, "EUR").await,
        ("1000.00".to_owned(), "0.00".to_owned())
    );
    ledger_ok(&app).await;
}

async fn hostile_bodies_get_clear_4xx_and_the_server_stays_up(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let (_, key) = app.tenant_with_key().await;
    let post = |body: Vec<u8>, content_type: &'static str| {
        app.client
            .post(app.url("/v1/transfers"))
            .bearer_auth(&key)
            .header("x-idempotency-key", uuid::Uuid::new_v4().to_string())
            .header("content-type", content_type)
            .body(body)
            .send()
    };
    let deep = format!("{}{}", "[".repeat(10_000), "]".repeat(10_000)).into_bytes();
    let deep_object =
        format!("{{\"a\":{}1{}}}", "[".repeat(10_000), "]".repeat(10_000)).into_bytes();
    // A 10 MB body is refused from its Content-Length, before the server reads it. (The test
    // client speaks HTTP/2, where an early answer does not race the upload.)
    let response = post(vec![b'{'; 10 * 1024 * 1024], "application/json")
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(
        response.headers()["content-type"],
        "application/problem+json"
    );
    let cases: Vec<(Vec<u8>, &str, StatusCode)> = vec![
        (deep, "application/json", StatusCode::BAD_REQUEST),
        (deep_object, "application/json", StatusCode::BAD_REQUEST),
        (b"{\"quote_id\": \"\xff\xfe\"}".to_vec(), "application/json", StatusCode::BAD_REQUEST),
        (b"not json".to_vec(), "application/json", StatusCode::BAD_REQUEST),
        (b"[]".to_vec(), "application/json", StatusCode::BAD_REQUEST),
        (b"{}".to_vec(), "text/plain", StatusCode::UNSUPPORTED_MEDIA_TYPE),
        (
            br#"{"quote_id":"'; DROP TABLE transfers; --","recipient_id":"<script>alert(1)</script>","amount":"1","currency":"EUR","reference":"\u202Egnp.exe"}"#.to_vec(),
            "application/json",
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
    ];
    for (body, content_type, expected) in cases {
        let response = post(body, content_type).await.unwrap();
        assert_eq!(response.status(), expected);
        assert_eq!(
            response.headers()["content-type"],
            "application/problem+json"
        );
        let text = response.text().await.unwrap();
        assert!(
            !text.contains("<script>") && !text.contains("DROP TABLE"),
            "input echoed: {text}"
        );
    }
    // Homoglyphs: a Cyrillic "а" in an ASCII-only currency code.
    let response = app
        .post_json("/v1/transfers", &key, &json!({"quote_id": uuid::Uuid::new_v4(), "recipient_id": uuid::Uuid::new_v4(), "amount": "1.00", "currency": "EUR\u{0430}"}))
        .await;
    assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(app.get("/healthz", None).await.status(), StatusCode::OK);
    assert_eq!(
        app.get("/v1/tenant", Some(&key)).await.status(),
        StatusCode::OK
    );
    let listed: Value = app
        .get("/v1/transfers", Some(&key))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(listed["data"].as_array().unwrap().len(), 0);
}

async fn tenants_never_see_each_others_payments(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let (alice, alice_key) = app.tenant_with_key().await;
    let (_, bob_key) = app.tenant_with_key().await;
    fund(&app, alice.id, "500.00", Currency::EUR).await;
    let recipient = recipient(&app, &alice_key, IBAN).await;
    let q = quote(
        &app,
        &alice_key,
        "source_currency=EUR&target_currency=IDR&source_amount=10.00",
    )
    .await;
    let transfer: Value = app
        .post_json(
            "/v1/transfers",
            &alice_key,
            &transfer_body(&q, &recipient, "a"),
        )
        .await
        .json()
        .await
        .unwrap();

    for path in [
        format!("/v1/recipients/{recipient}"),
        format!("/v1/transfers/{}", transfer["id"].as_str().unwrap()),
    ] {
        assert_eq!(
            app.get(&path, Some(&bob_key)).await.status(),
            StatusCode::NOT_FOUND,
            "{path}"
        );
        assert_eq!(
            app.get(&path, Some(&alice_key)).await.status(),
            StatusCode::OK,
            "{path}"
        );
    }
    // Bob cannot pay with Alice's quote or to Alice's recipient.
    let q2 = quote(
        &app,
        &alice_key,
        "source_currency=EUR&target_currency=IDR&source_amount=10.00",
    )
    .await;
    let response = app
        .post_json(
            "/v1/transfers",
            &bob_key,
            &transfer_body(&q2, &recipient, "b"),
        )
        .await;
    assert_eq!(response.status(), StatusCode::NOT_FOUND);
    let bob_list: Value = app
        .get("/v1/transfers", Some(&bob_key))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(bob_list["data"].as_array().unwrap().len(), 0);
    let bob_recipients: Value = app
        .get("/v1/recipients", Some(&bob_key))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(bob_recipients["data"].as_array().unwrap().len(), 0);
    let bob_balances: Value = app
        .get("/v1/balances", Some(&bob_key))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(bob_balances["data"].as_array().unwrap().len(), 0);
    // Unparseable ids are simply not found.
    assert_eq!(
        app.get("/v1/transfers/../../etc", Some(&bob_key))
            .await
            .status(),
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        app.get("/v1/transfers/1%20OR%201=1", Some(&bob_key))
            .await
            .status(),
        StatusCode::NOT_FOUND
    );
}

async fn money_rules_hold(backend: Backend) {
    let app = TestApp::spawn_with(backend, |config| config.payments.quote_ttl_secs = 1).await;
    let (tenant, key) = app.tenant_with_key().await;
    fund(&app, tenant.id, "100.00", Currency::EUR).await;
    let recipient = recipient(&app, &key, IBAN).await;

    // More than the balance: refused, nothing reserved.
    let q = quote(
        &app,
        &key,
        "source_currency=EUR&target_currency=IDR&source_amount=100.00",
    )
    .await;
    let response = app
        .post_json("/v1/transfers", &key, &transfer_body(&q, &recipient, ""))
        .await;
    assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let body: Value = response.json().await.unwrap();
    assert_eq!(
        body["type"],
        "https://benteng.dev/problems/insufficient-funds"
    );
    assert_eq!(
        balance(&app, &key, "EUR").await,
        ("100.00".to_owned(), "0.00".to_owned())
    );

    // Amount or currency not the quote's.
    let q = quote(
        &app,
        &key,
        "source_currency=EUR&target_currency=IDR&source_amount=10.00",
    )
    .await;
    // Only the field that differs is named, with what the quote expects.
    let mut body = transfer_body(&q, &recipient, "");
    body["amount"] = json!("11.00");
    let response = app.post_json("/v1/transfers", &key, &body).await;
    assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let problem: Value = response.json().await.unwrap();
    assert_eq!(
        problem["errors"],
        json!([{"field": "amount", "code": "quote_mismatch",
                "message": "the quote's source amount is 10.00 EUR"}]),
        "{problem}"
    );
    let mut body = transfer_body(&q, &recipient, "");
    body["currency"] = json!("USD");
    let (status, fields) = problem_fields(app.post_json("/v1/transfers", &key, &body).await).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(
        fields,
        [("currency".to_owned(), "quote_mismatch".to_owned())]
    );

    // The same quote twice.
    let first = app
        .post_json("/v1/transfers", &key, &transfer_body(&q, &recipient, ""))
        .await;
    assert_eq!(first.status(), StatusCode::CREATED);
    let again = app
        .post_json("/v1/transfers", &key, &transfer_body(&q, &recipient, ""))
        .await;
    assert_eq!(again.status(), StatusCode::CONFLICT);

    // An expired quote.
    let q = quote(
        &app,
        &key,
        "source_currency=EUR&target_currency=IDR&source_amount=5.00",
    )
    .await;
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let response = app
        .post_json("/v1/transfers", &key, &transfer_body(&q, &recipient, ""))
        .await;
    assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["type"], "https://benteng.dev/problems/quote-expired");

    // Quote requests are validated too.
    for query in [
        "source_currency=EUR&target_currency=IDR",
        "source_currency=EUR&target_currency=IDR&source_amount=1&target_amount=1",
        "source_currency=eur&target_currency=IDR&source_amount=1",
        "source_currency=EUR&target_currency=JPY&source_amount=1",
        "source_currency=EUR&target_currency=IDR&source_amount=1.001",
        "source_currency=EUR&target_currency=IDR&source_amount=-1",
        "source_currency=EUR&target_currency=IDR&source_amount=1e3",
        "source_currency=EUR&target_currency=IDR&source_amount=1&source_amount=2",
        "source_currency=EUR&target_currency=IDR&source_amount=1&sneaky=1",
    ] {
        let response = app.get(&format!("/v1/quotes?{query}"), Some(&key)).await;
        assert_eq!(
            response.status(),
            StatusCode::UNPROCESSABLE_ENTITY,
            "{query}"
        );
    }
    ledger_ok(&app).await;
}

async fn concurrent_transfers_never_overdraw(backend: Backend) {
    // Nothing settles during the test: all ten stay reserved, however slow the machine.
    let app = TestApp::spawn_with(backend, |c| c.rail.sandbox_settle_after_ms = 600_000).await;
    let (tenant, key) = app.tenant_with_key().await;
    fund(&app, tenant.id, "1000.00", Currency::EUR).await;
    let recipient = recipient(&app, &key, IBAN).await;
    // 20 transfers of 99.50 + 0.50 fee = 100.00 each against 1,000.00: exactly 10 can pass.
    let mut bodies = Vec::new();
    for _ in 0..20 {
        let q = quote(
            &app,
            &key,
            "source_currency=EUR&target_currency=GBP&source_amount=99.50",
        )
        .await;
        bodies.push(transfer_body(&q, &recipient, "race"));
    }
    let results = futures::future::join_all(
        bodies
            .iter()
            .map(|body| app.post_json("/v1/transfers", &key, body)),
    )
    .await;
    let created = results
        .iter()
        .filter(|r| r.status() == StatusCode::CREATED)
        .count();
    let refused = results
        .iter()
        .filter(|r| r.status() == StatusCode::UNPROCESSABLE_ENTITY)
        .count();
    assert_eq!((created, refused), (10, 10));
    assert_eq!(
        balance(&app, &key, "EUR").await,
        ("0.00".to_owned(), "1000.00".to_owned())
    );
    ledger_ok(&app).await;
}

async fn recipients_are_validated_and_bank_accounts_never_stored_in_clear(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let (_, key) = app.tenant_with_key().await;
    let id = recipient(&app, &key, IBAN).await;
    let shown: Value = app
        .get(&format!("/v1/recipients/{id}"), Some(&key))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(
        shown["bank_account"],
        json!({"scheme": "iban", "last4": "3000"})
    );
    assert!(
        !shown.to_string().contains("0532013"),
        "only the last four are shown"
    );

    // The same IBAN again is a conflict, found through the blind index.
    let response = app
        .post_json("/v1/recipients", &key, &json!({"type": "individual", "name": "Someone", "country": "DE", "bank_account": {"iban": IBAN}}))
        .await;
    assert_eq!(response.status(), StatusCode::CONFLICT);

    // Indonesian recipients.
    let response = app
        .post_json("/v1/recipients", &key, &json!({"type": "individual", "name": "Siti Rahayu", "country": "ID",
                   "bank_account": {"account_number": "1234567890", "bank_code": "014"}, "national_id": "3171234567890001"}))
        .await;
    assert_eq!(response.status(), StatusCode::CREATED);

    let cases = [
        (
            json!({"type": "business", "name": "X", "country": "DE", "bank_account": {"iban": "DE89370400440532013001"}}),
            "bank_account.iban",
        ),
        (
            json!({"type": "business", "name": "X", "country": "ID", "bank_account": {"iban": IBAN}}),
            "bank_account",
        ),
        (
            json!({"type": "business", "name": "X", "country": "DE", "bank_account": {"account_number": "123456", "bank_code": "014"}}),
            "bank_account",
        ),
        (
            json!({"type": "robot", "name": "X", "country": "DE", "bank_account": {"iban": IBAN}}),
            "type",
        ),
        (
            json!({"type": "business", "name": "", "country": "DE", "bank_account": {"iban": IBAN}}),
            "name",
        ),
        (
            json!({"type": "business", "name": "X", "country": "XX", "bank_account": {"iban": IBAN}}),
            "country",
        ),
        (
            json!({"type": "business", "name": "X", "country": "DE", "bank_account": {"iban": IBAN, "bank_code": "014"}}),
            "bank_account.iban",
        ),
        (
            json!({"type": "business", "name": "X\u{202E}", "country": "DE", "bank_account": {"iban": IBAN}}),
            "name",
        ),
    ];
    for (body, field) in cases {
        let (status, fields) =
            problem_fields(app.post_json("/v1/recipients", &key, &body).await).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
        assert!(fields.iter().any(|(f, _)| f == field), "{body}: {fields:?}");
    }
    let listed: Value = app
        .get("/v1/recipients", Some(&key))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(listed["data"].as_array().unwrap().len(), 2);

    if backend == Backend::Sqlite {
        let mut haystack = Vec::new();
        for entry in std::fs::read_dir(app.data_dir()).unwrap().flatten() {
            if entry
                .file_name()
                .to_string_lossy()
                .starts_with("benteng.sqlite")
            {
                haystack.extend(std::fs::read(entry.path()).unwrap());
            }
        }
        for needle in [IBAN, "1234567890", "3171234567890001"] {
            assert!(
                !haystack
                    .windows(needle.len())
                    .any(|w| w == needle.as_bytes()),
                "{needle} found in clear in the SQLite files"
            );
        }
    }
}

/// `sk_test_` keys work on the tenant's test environment: its own recipients, quotes, transfers
/// and balances (a ledger of their own), paid only by the sandbox rail. Live keys never see test
/// data and test keys never see (or spend) live money.
async fn test_keys_see_only_test_data_and_never_move_live_money(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let (tenant, live) = app.tenant_with_key().await;
    let test = app
        .key_in(tenant.id, benteng_core::api_key::KeyEnvironment::Test)
        .await;
    assert!(test.starts_with("sk_test_"));
    fund(&app, tenant.id, "1000000.00", Currency::IDR).await;
    let live_recipient = recipient(&app, &live, IBAN).await;

    // The test environment starts empty: no live balance, no live recipient, no live quote.
    assert_eq!(balance(&app, &test, "IDR").await, Default::default());
    let listed: Value = app
        .get("/v1/recipients", Some(&test))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(listed["data"].as_array().unwrap().len(), 0, "{listed}");
    let path = format!("/v1/recipients/{live_recipient}");
    assert_eq!(
        app.get(&path, Some(&test)).await.status(),
        StatusCode::NOT_FOUND
    );
    let live_quote = quote(
        &app,
        &live,
        "source_currency=IDR&target_currency=EUR&source_amount=1000.00",
    )
    .await;
    let test_recipient = recipient(&app, &test, IBAN).await;
    let response = app
        .post_json(
            "/v1/transfers",
            &test,
            &transfer_body(&live_quote, &test_recipient, "T-1"),
        )
        .await;
    assert_eq!(
        response.status(),
        StatusCode::NOT_FOUND,
        "a live quote from a test key"
    );

    // A test transfer cannot spend live money.
    let response = pay_idr(&app, &test, &test_recipient, "500000.00", "T-2").await;
    assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let problem: Value = response.json().await.unwrap();
    assert_eq!(
        problem["type"],
        "https://benteng.dev/problems/insufficient-funds"
    );

    // Funded in its own environment, a test transfer completes on the sandbox rail.
    fund_in(
        &app,
        tenant.id,
        benteng_core::api_key::KeyEnvironment::Test,
        "600000.00",
        Currency::IDR,
    )
    .await;
    let response = pay_idr(&app, &test, &test_recipient, "500000.00", "T-3").await;
    assert_eq!(response.status(), StatusCode::CREATED);
    let transfer: Value = response.json().await.unwrap();
    let id = transfer["id"].as_str().unwrap();
    assert_eq!(transfer["livemode"], false);
    wait_for_status(&app, &test, id, "COMPLETED").await;
    let stored = app
        .services
        .store
        .transfer(
            tenant.id,
            benteng_core::api_key::KeyEnvironment::Test,
            id.parse().unwrap(),
        )
        .await
        .unwrap();
    assert_eq!(stored.rail, "sandbox");

    // Neither side sees the other's.
    let path = format!("/v1/transfers/{id}");
    assert_eq!(
        app.get(&path, Some(&live)).await.status(),
        StatusCode::NOT_FOUND
    );
    let listed: Value = app
        .get("/v1/transfers", Some(&live))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(listed["data"].as_array().unwrap().len(), 0, "{listed}");
    let listed: Value = app
        .get("/v1/recipients", Some(&live))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(listed["data"].as_array().unwrap().len(), 1, "{listed}");
    assert_eq!(
        balance(&app, &live, "IDR").await,
        ("1000000.00".to_owned(), "0.00".to_owned()),
        "live money untouched"
    );
    let (available, _) = balance(&app, &test, "IDR").await;
    assert_ne!(
        available, "600000.00",
        "the test transfer was paid from the test balance"
    );
    ledger_ok(&app).await;
}

/// Quotes IDR → EUR for `idr` and pays `recipient` with it.
async fn pay_idr(
    app: &TestApp,
    key: &str,
    recipient: &str,
    idr: &str,
    reference: &str,
) -> reqwest::Response {
    let query = format!("source_currency=IDR&target_currency=EUR&source_amount={idr}");
    let quote = quote(app, key, &query).await;
    app.post_json(
        "/v1/transfers",
        key,
        &transfer_body(&quote, recipient, reference),
    )
    .await
}
