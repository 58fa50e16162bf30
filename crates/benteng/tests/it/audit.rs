//! The audit trail: events in the same transaction as their change, append-only in both
//! databases, tamper-evident hash chains, purge by retention class.

use benteng_core::audit::{AuditContext, AuditEvent, Retention};
use benteng_core::currency::Currency;
use reqwest::StatusCode;
use serde_json::{Value, json};
use sqlx::Executor;

use crate::harness::{Backend, TestApp, cli, on_both_backends};
use crate::payments::{fund, quote, recipient};

on_both_backends!(
    every_change_leaves_an_event_and_the_chain_verifies,
    the_trail_refuses_update_and_delete,
    tampering_behind_the_triggers_back_is_detected,
    purge_removes_only_expired_events_and_keeps_the_chain_verifiable,
    a_late_event_waits_for_the_full_sealing_pass,
    every_api_event_carries_the_client_address,
);

/// `actor.ip` is the connection's address (the transport's `PeerInfo`) on every event an API
/// request causes: the transfer and what led to it, a refused authentication, a refused SNAP
/// request.
async fn every_api_event_carries_the_client_address(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let (tenant, _) = transfer_flow(&app).await;
    let bad = format!("sk_live_{}_{}", tenant.id.simple(), "Q".repeat(43));
    assert_eq!(
        app.get("/v1/tenant", Some(&bad)).await.status(),
        StatusCode::UNAUTHORIZED
    );
    // A refused SNAP request (no token) is recorded the same way.
    let snap = app
        .client
        .post(app.url("/v1.0/balance-inquiry"))
        .header("content-type", "application/json")
        .body("{}")
        .send()
        .await
        .unwrap();
    assert_eq!(snap.status(), StatusCode::UNAUTHORIZED);
    let documents = app
        .services
        .store
        .audit_documents(None, 0, i64::MAX, None, 10_000)
        .await
        .unwrap();
    let events: Vec<Value> = documents
        .iter()
        .map(|(_, _, document)| serde_json::from_str(document).unwrap())
        .collect();
    let by_api: Vec<&Value> = events
        .iter()
        .filter(|e| e["actor"]["by"] == "api")
        .collect();
    for expected in [
        "recipient.created",
        "quote.created",
        "transfer.initiated",
        "auth.failed",
    ] {
        assert!(
            by_api.iter().any(|e| e["event_type"] == expected),
            "no {expected} by the API in {events:?}"
        );
    }
    assert!(
        by_api
            .iter()
            .any(|e| e["event_type"] == "auth.failed" && e["resource"]["id"] == "snap"),
        "no refused SNAP request in {events:?}"
    );
    for event in by_api {
        assert_eq!(event["actor"]["ip"], "127.0.0.1", "{event}");
    }
}

/// The quick pass looks ten minutes behind the newest sealed event; an event that occurred
/// earlier but committed later (a long transaction) is sealed by the full pass, not lost.
async fn a_late_event_waits_for_the_full_sealing_pass(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    // Let the server's own sealer finish its full pass at start; its later passes are quick.
    tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    let store = &app.services.store;
    let event = |age: time::Duration, kind: &str| {
        let mut event = AuditEvent::new(
            &AuditContext::system("test"),
            kind,
            Retention::Security,
            ("test", uuid::Uuid::new_v4().to_string()),
        );
        event.timestamp -= age;
        event
    };
    store
        .audit(&event(time::Duration::ZERO, "test.now"))
        .await
        .unwrap();
    store.seal_audit().await.unwrap();
    store
        .audit(&event(time::Duration::minutes(30), "test.late"))
        .await
        .unwrap();
    store
        .audit(&event(time::Duration::minutes(1), "test.recent"))
        .await
        .unwrap();
    let unsealed = || async { store.verify_audit().await.unwrap().unsealed };
    let before = unsealed().await;
    assert!(before >= 2, "{before}");
    // The server's own sealer may run meanwhile; either way, the late event is sealed only by
    // a full pass, and a quick pass never leaves the recent one behind.
    store.seal_recent_audit().await.unwrap();
    let after_quick = unsealed().await;
    assert!(
        after_quick >= 1,
        "the quick pass reached a 30-minute-old event"
    );
    store.seal_audit().await.unwrap();
    let report = store.verify_audit().await.unwrap();
    assert_eq!(report.unsealed, 0);
    assert!(report.first_break.is_none(), "{report:?}");
}

async fn transfer_flow(app: &TestApp) -> (benteng_core::tenant::Tenant, String) {
    let (tenant, key) = app.tenant_with_key().await;
    fund(app, tenant.id, "1000.00", Currency::EUR).await;
    let recipient = recipient(app, &key, "DE89370400440532013000").await;
    let q = quote(
        app,
        &key,
        "source_currency=EUR&target_currency=IDR&source_amount=100.00",
    )
    .await;
    let response = app
        .post_json(
            "/v1/transfers",
            &key,
            &json!({"quote_id": q["id"], "recipient_id": recipient,
            "amount": "100.00", "currency": "EUR", "reference": "audit"}),
        )
        .await;
    assert_eq!(response.status(), StatusCode::CREATED);
    // A refused transfer leaves no transfer event behind.
    let q = quote(
        app,
        &key,
        "source_currency=EUR&target_currency=IDR&source_amount=990.00",
    )
    .await;
    let response = app
        .post_json(
            "/v1/transfers",
            &key,
            &json!({"quote_id": q["id"], "recipient_id": recipient,
            "amount": "990.00", "currency": "EUR"}),
        )
        .await;
    assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
    (tenant, key)
}

async fn events(app: &TestApp, key: &str) -> Vec<Value> {
    let page: Value = app
        .get("/v1/audit-events?limit=500", Some(key))
        .await
        .json()
        .await
        .unwrap();
    page["data"].as_array().unwrap().clone()
}

async fn every_change_leaves_an_event_and_the_chain_verifies(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let (tenant, key) = transfer_flow(&app).await;
    let events = events(&app, &key).await;
    let types: Vec<&str> = events
        .iter()
        .map(|e| e["event_type"].as_str().unwrap())
        .collect();
    for expected in [
        "tenant.created",
        "api_key.issued",
        "ledger.funded",
        "recipient.created",
        "quote.created",
        "transfer.initiated",
        "ledger.reserved",
        "transfer.status_changed",
    ] {
        assert!(
            types.contains(&expected),
            "{expected} missing from {types:?}"
        );
    }
    assert_eq!(
        types.iter().filter(|t| **t == "transfer.initiated").count(),
        1,
        "the refused transfer left no event"
    );
    let decision = events
        .iter()
        .find(|e| {
            e["event_type"] == "transfer.status_changed"
                && e["changes"]["status"]["to"] == "APPROVED"
        })
        .unwrap();
    assert_eq!(decision["compliance"]["aml_check"], "PASSED");
    assert_eq!(decision["actor"]["tenant_id"], tenant.id.to_string());
    assert!(
        decision["trace"]["request_id"]
            .as_str()
            .is_some_and(|r| r.starts_with("req_"))
    );
    assert_eq!(decision["resource"]["type"], "transfer");
    // No Tier 1 data in the trail.
    assert!(
        !serde_json::to_string(&events)
            .unwrap()
            .contains("0532013000")
    );

    // A refused login is recorded too, without the key.
    let bad = format!("sk_live_{}_{}", tenant.id.simple(), "Q".repeat(43));
    assert_eq!(
        app.get("/v1/tenant", Some(&bad)).await.status(),
        StatusCode::UNAUTHORIZED
    );

    // Another tenant sees none of this.
    let (_, other) = app.tenant_with_key().await;
    let theirs = self::events(&app, &other).await;
    assert!(
        theirs
            .iter()
            .all(|e| e["actor"]["tenant_id"] != tenant.id.to_string())
    );

    let (ok, out, err) = cli(app.environment(), &["audit", "verify"]).await;
    assert!(ok, "{out}{err}");
    assert!(out.contains("audit trail ok"), "{out}");
    let (ok, out, _) = cli(app.environment(), &["audit", "export"]).await;
    assert!(ok);
    let lines: Vec<Value> = out
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert!(
        lines
            .iter()
            .any(|e| e["event_type"] == "auth.failed" && e["changes"]["reason"]["to"] == "unknown")
    );
    assert!(!out.contains(&bad));
    let (ok, _, err) = cli(
        app.environment(),
        &["audit", "export", "--since", "yesterday"],
    )
    .await;
    assert!(!ok && err.contains("RFC 3339"), "{err}");
}

async fn the_trail_refuses_update_and_delete(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    transfer_flow(&app).await;
    app.services.store.seal_audit().await.unwrap();
    let mut conn = app.raw_sql().await;
    for statement in [
        "UPDATE audit_events SET event_type = 'nothing.happened'",
        "DELETE FROM audit_events",
        "UPDATE audit_chain SET hash = 'x'",
        "DELETE FROM audit_chain",
    ] {
        let result = conn.execute(sqlx::AssertSqlSafe(statement)).await;
        let error = result.expect_err(statement).to_string();
        assert!(error.contains("append-only"), "{statement}: {error}");
    }
    let (ok, out, err) = cli(app.environment(), &["audit", "verify"]).await;
    assert!(ok, "{out}{err}");
}

async fn tampering_behind_the_triggers_back_is_detected(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    transfer_flow(&app).await;
    app.services.store.seal_audit().await.unwrap();
    let mut conn = app.raw_sql().await;
    // A superuser disables the triggers and edits one event.
    let disable = match backend {
        Backend::Postgres => "ALTER TABLE audit_events DISABLE TRIGGER ALL",
        Backend::Sqlite => "DROP TRIGGER audit_events_immutable",
    };
    conn.execute(sqlx::AssertSqlSafe(disable)).await.unwrap();
    // The first sealed event that mentions EUR (the funding), wherever the sealer put it.
    let victim: (String, i64) = sqlx::query_as(
        "SELECT c.event_id, c.position FROM audit_chain c JOIN audit_events e ON e.id = c.event_id \
         WHERE c.retention = 'security' AND e.document LIKE '%EUR%' ORDER BY c.position LIMIT 1",
    )
    .fetch_one(&mut conn)
    .await
    .unwrap();
    sqlx::query("UPDATE audit_events SET document = REPLACE(document, 'EUR', 'USD') WHERE id = $1")
        .bind(&victim.0)
        .execute(&mut conn)
        .await
        .unwrap();
    let (ok, out, _) = cli(app.environment(), &["audit", "verify"]).await;
    assert!(!ok, "verify must fail: {out}");
    assert!(
        out.contains(&victim.0) && out.contains(&format!("position {}", victim.1)),
        "{out}"
    );

    // Hiding an event from its tenant by editing the indexed column is caught too.
    let app = TestApp::spawn(backend).await;
    transfer_flow(&app).await;
    app.services.store.seal_audit().await.unwrap();
    let mut conn = app.raw_sql().await;
    conn.execute(sqlx::AssertSqlSafe(disable)).await.unwrap();
    sqlx::query("UPDATE audit_events SET tenant_id = NULL WHERE id = (SELECT c.event_id FROM audit_chain c JOIN audit_events e ON e.id = c.event_id WHERE c.retention = 'security' AND c.position = 2 AND e.tenant_id IS NOT NULL)")
        .execute(&mut conn)
        .await
        .unwrap();
    let (ok, out, _) = cli(app.environment(), &["audit", "verify"]).await;
    assert!(
        !ok && out.contains("position 2") && out.contains("indexed columns"),
        "{out}"
    );

    // Removing a row is caught.
    let app = TestApp::spawn(backend).await;
    transfer_flow(&app).await;
    app.services.store.seal_audit().await.unwrap();
    let mut conn = app.raw_sql().await;
    let disable_chain = match backend {
        Backend::Postgres => "ALTER TABLE audit_chain DISABLE TRIGGER ALL",
        Backend::Sqlite => "DROP TRIGGER audit_chain_undeletable",
    };
    conn.execute(sqlx::AssertSqlSafe(disable_chain))
        .await
        .unwrap();
    conn.execute(sqlx::AssertSqlSafe(
        "DELETE FROM audit_chain WHERE retention = 'security' AND position = 4",
    ))
    .await
    .unwrap();
    let (ok, out, err) = cli(app.environment(), &["audit", "verify"]).await;
    assert!(
        !ok && out.contains("position 5") && out.contains("missing"),
        "{out}{err}"
    );
}

async fn purge_removes_only_expired_events_and_keeps_the_chain_verifiable(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let store = &app.services.store;
    let context = AuditContext::system("test");
    let mut old = Vec::new();
    for i in 0..3 {
        let mut event = AuditEvent::new(
            &context,
            "app.started",
            Retention::App,
            ("process", format!("p{i}")),
        );
        event.timestamp = benteng_core::now() - time::Duration::days(100);
        store.audit(&event).await.unwrap();
        old.push(event);
    }
    let fresh = AuditEvent::new(
        &context,
        "app.started",
        Retention::App,
        ("process", "now".to_owned()),
    );
    store.audit(&fresh).await.unwrap();
    let mut security = AuditEvent::new(
        &context,
        "tenant.created",
        Retention::Security,
        ("tenant", "t".to_owned()),
    );
    security.timestamp = benteng_core::now() - time::Duration::days(100);
    store.audit(&security).await.unwrap();
    store.seal_audit().await.unwrap();

    let (ok, out, err) = cli(app.environment(), &["audit", "purge", "--class", "app"]).await;
    assert!(ok, "{out}{err}");
    assert!(out.contains("3 expired app events purged"), "{out}");
    let (ok, out, _) = cli(
        app.environment(),
        &["audit", "purge", "--class", "security"],
    )
    .await;
    assert!(
        ok && out.contains("0 expired security events purged"),
        "{out}"
    );
    let (ok, _, err) = cli(
        app.environment(),
        &["audit", "purge", "--class", "everything"],
    )
    .await;
    assert!(!ok && err.contains("--class"), "{err}");

    let (ok, out, err) = cli(app.environment(), &["audit", "verify"]).await;
    assert!(ok, "{out}{err}");
    // The checkpoint the purge left is as immutable as the rest.
    let mut conn = app.raw_sql().await;
    for statement in [
        "DELETE FROM audit_checkpoints",
        "UPDATE audit_checkpoints SET hash = 'x'",
    ] {
        let error = conn
            .execute(sqlx::AssertSqlSafe(statement))
            .await
            .expect_err(statement)
            .to_string();
        assert!(error.contains("append-only"), "{statement}: {error}");
    }
    let (_, export, _) = cli(app.environment(), &["audit", "export"]).await;
    assert!(
        !export.contains("\"p0\"") && export.contains("\"now\""),
        "{export}"
    );
    assert!(export.contains("audit.purged"));
}
