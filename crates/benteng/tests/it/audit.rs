//! The audit trail: events in the same transaction as their change, append-only in both
//! databases, tamper-evident hash chains, purge by retention class.

use benteng_core::audit::{AuditContext, AuditEvent, Retention};
use benteng_core::currency::Currency;
use reqwest::StatusCode;
use serde_json::{Value, json};
use sqlx::Executor;

use crate::harness::{Backend, Environment, TestApp, cli, cli_with_env, on_both_backends};
use crate::payments::{fund, quote, recipient};

on_both_backends!(
    every_change_leaves_an_event_and_the_chain_verifies,
    the_trail_refuses_update_and_delete,
    tampering_behind_the_triggers_back_is_detected,
    purge_removes_only_expired_events_and_keeps_the_chain_verifiable,
    a_late_event_waits_for_the_full_sealing_pass,
    operator_changes_through_the_cli_are_audited_as_the_operator,
    tenant_pages_follow_time_then_id_across_page_boundaries,
    the_export_follows_time_then_id_across_its_page_boundary,
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
        .audit_documents(None, None, 0, i64::MAX, None, 10_000)
        .await
        .unwrap();
    let events: Vec<Value> = documents
        .items
        .iter()
        .map(|document| serde_json::from_str(document).unwrap())
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
    let store = &app.services.store;
    // Wait for the server's own sealer to finish its full pass at start (the events written
    // before it, such as the baseline list's load, are then sealed); its later passes are quick.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    while store.verify_audit().await.unwrap().unsealed > 0 {
        assert!(
            std::time::Instant::now() < deadline,
            "the sealer's first pass never ran"
        );
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
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

pub(crate) async fn transfer_flow(app: &TestApp) -> (benteng_core::tenant::Tenant, String) {
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
    // The server verifies the chains every second here (every 5 minutes by default).
    let app = TestApp::spawn_with(backend, |config| {
        config.incidents.audit_verify_interval_secs = 1;
    })
    .await;
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
    // The running server finds it and opens a P1 incident with the spec's 15-minute clock.
    let started = std::time::Instant::now();
    let incident = loop {
        let open = app.services.store.incidents(10).await.unwrap();
        if let Some(incident) = open.into_iter().next() {
            break incident;
        }
        assert!(
            started.elapsed() < std::time::Duration::from_secs(5),
            "no incident within 5 s of the tampering"
        );
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    };
    assert_eq!(incident.severity.as_str(), "P1");
    assert!(
        incident.title.contains(&format!("position {}", victim.1)),
        "{}",
        incident.title
    );
    assert_eq!(
        incident.acknowledge_by - incident.opened_at,
        time::Duration::minutes(15)
    );
    let (ok, out, _) = cli(app.environment(), &["audit", "verify"]).await;
    assert!(!ok, "verify must fail: {out}");
    assert!(
        out.contains(&victim.0) && out.contains(&format!("position {}", victim.1)),
        "{out}"
    );
    // The command's finding joins the same incident; nothing opens a second one.
    assert!(out.contains(&incident.id.to_string()), "{out}");
    assert_eq!(app.services.store.incidents(10).await.unwrap().len(), 1);

    // Hiding an event from its tenant by editing the indexed column is caught too.
    let app = TestApp::spawn(backend).await;
    transfer_flow(&app).await;
    app.services.store.seal_audit().await.unwrap();
    let mut conn = app.raw_sql().await;
    conn.execute(sqlx::AssertSqlSafe(disable)).await.unwrap();
    // The first tenant's event of the chain (system events, such as the webhook signing key's
    // creation at start, may come before it).
    let (position,): (i64,) = sqlx::query_as(
        "SELECT MIN(c.position) FROM audit_chain c JOIN audit_events e ON e.id = c.event_id \
         WHERE c.retention = 'security' AND c.position >= 2 AND e.tenant_id IS NOT NULL",
    )
    .fetch_one(&mut conn)
    .await
    .unwrap();
    sqlx::query("UPDATE audit_events SET tenant_id = NULL WHERE id = (SELECT c.event_id FROM audit_chain c WHERE c.retention = 'security' AND c.position = $1)")
        .bind(position)
        .execute(&mut conn)
        .await
        .unwrap();
    let (ok, out, _) = cli(app.environment(), &["audit", "verify"]).await;
    assert!(
        !ok && out.contains(&format!("position {position}")) && out.contains("indexed columns"),
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

/// Runs a CLI verb as the operator Ani (through `sudo`, so `USER` is root) and expects success.
async fn as_operator(env: &Environment, args: &[&str]) -> String {
    let (ok, out, err) = cli_with_env(env, &[("SUDO_USER", "ani"), ("USER", "root")], args).await;
    assert!(ok, "{args:?}: {err}");
    out
}

/// The exported trail, one document per event.
async fn exported(env: &Environment, extra: &[&str]) -> Vec<Value> {
    let mut args = vec!["audit", "export"];
    args.extend_from_slice(extra);
    let (ok, out, err) = cli(env, &args).await;
    assert!(ok, "{err}");
    out.lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

/// Sanctions list loads, clearances, client certificates and the mTLS requirement are changed
/// with the CLI; each change leaves its event naming the operating-system user who made it (an
/// analyst's `--by` is recorded beside it, not instead), and a refused change leaves none.
async fn operator_changes_through_the_cli_are_audited_as_the_operator(backend: Backend) {
    let env = Environment::new(backend).await;
    benteng_transport::generate_dev_certs(&env.data_dir.path().join("tls")).unwrap();
    let tenant = as_operator(
        &env,
        &["tenant", "create", "--name", "PT Jejak", "--tier", "growth"],
    )
    .await;
    let tenant = tenant.trim();
    let un = &crate::screening::un_list();
    let load = [
        "lists",
        "load",
        "--source",
        "un",
        "--path",
        un,
        "--no-rescreen",
    ];
    as_operator(&env, &load).await;
    let again = as_operator(&env, &load).await;
    assert!(again.contains("unchanged"), "{again}");
    let party = format!("tenant:{tenant}");
    let clear = [
        "screen",
        "clear",
        "--party",
        &party,
        "--entry",
        "un:111923",
        "--reason",
        "different person: date of birth differs",
        "--by",
        "Analyst Ani Wijaya",
    ];
    as_operator(&env, &clear).await;
    let pem = env.dev_certs().client_cert;
    let pem = pem.to_str().unwrap();
    let add = ["tenant", "cert", "add", "--tenant", tenant, "--pem", pem];
    let fingerprint = as_operator(&env, &add).await;
    let fingerprint = fingerprint.trim();
    as_operator(&env, &["tenant", "require-mtls", tenant, "on"]).await;
    as_operator(&env, &["tenant", "require-mtls", tenant, "off"]).await;
    let remove = ["tenant", "cert", "remove", "--tenant", tenant, fingerprint];
    as_operator(&env, &remove).await;

    // Refused changes: each leaves no event.
    let unknown = uuid::Uuid::new_v4().to_string();
    for args in [
        &remove[..],
        &["tenant", "cert", "add", "--tenant", &unknown, "--pem", pem],
        &["tenant", "require-mtls", &unknown, "on"],
        &[
            "screen", "clear", "--party", &party, "--entry", "un:0", "--reason", "x",
        ],
    ] {
        let (ok, _, _) = cli(&env, args).await;
        assert!(!ok, "{args:?} was accepted");
    }

    let trail = exported(&env, &[]).await;
    let of_type =
        |kind: &str| -> Vec<&Value> { trail.iter().filter(|e| e["event_type"] == kind).collect() };
    let by_ani = |event: &Value| {
        let by = event["actor"]["by"].as_str().unwrap();
        assert!(by == "cli:ani" || by.starts_with("cli:ani@"), "{event}");
    };

    let loaded = of_type("screening.list_loaded");
    assert_eq!(
        loaded.len(),
        1,
        "one event for the new version, none for the unchanged reload"
    );
    let loaded = loaded[0];
    by_ani(loaded);
    assert_eq!(loaded["retention"], "security");
    assert_eq!(loaded["resource"]["type"], "screening_list");
    assert_eq!(loaded["resource"]["id"], "un");
    assert_eq!(loaded["changes"]["version"]["from"], Value::Null);
    assert_eq!(
        loaded["changes"]["version"]["to"].as_str().unwrap().len(),
        64
    );
    assert_eq!(loaded["changes"]["entry_count"]["to"], 1003);
    assert_eq!(
        loaded["changes"]["entries_changed"]["to"]["added"], 1003,
        "{loaded}"
    );
    let text = loaded.to_string();
    assert!(
        !text.contains("Zawahiri") && !text.contains("111923"),
        "no list entry in the trail: {text}"
    );

    let cleared = of_type("screening.cleared");
    assert_eq!(cleared.len(), 1);
    let cleared = cleared[0];
    by_ani(cleared);
    assert_eq!(cleared["retention"], "security");
    assert_eq!(cleared["changes"]["cleared_by"]["to"], "Analyst Ani Wijaya");
    assert_eq!(cleared["changes"]["party"]["to"], party.as_str());
    assert_eq!(cleared["changes"]["list"]["to"], "un");
    assert_eq!(cleared["changes"]["entry_id"]["to"], "111923");
    assert_eq!(
        cleared["actor"]["tenant_id"],
        Value::Null,
        "the cleared tenant is not told it matched"
    );

    let added = of_type("tenant.cert_added");
    assert_eq!(added.len(), 1);
    by_ani(added[0]);
    assert_eq!(added[0]["actor"]["tenant_id"], tenant);
    assert_eq!(added[0]["resource"]["id"], fingerprint);
    assert_eq!(added[0]["changes"]["sha256_fingerprint"]["to"], fingerprint);
    let removed = of_type("tenant.cert_removed");
    assert_eq!(removed.len(), 1);
    by_ani(removed[0]);
    assert_eq!(
        removed[0]["changes"]["sha256_fingerprint"]["from"],
        fingerprint
    );
    assert_eq!(
        removed[0]["changes"]["sha256_fingerprint"]["to"],
        Value::Null
    );

    let mtls = of_type("tenant.mtls_required");
    let flips: Vec<(&Value, &Value)> = mtls
        .iter()
        .map(|e| {
            by_ani(e);
            assert_eq!(e["actor"]["tenant_id"], tenant);
            (
                &e["changes"]["require_mtls"]["from"],
                &e["changes"]["require_mtls"]["to"],
            )
        })
        .collect();
    assert_eq!(
        flips,
        [(&json!(false), &json!(true)), (&json!(true), &json!(false))]
    );
    // The shared helper names the operator for every CLI verb.
    by_ani(of_type("tenant.created")[0]);

    let (ok, out, err) = cli(&env, &["audit", "verify"]).await;
    assert!(ok && out.contains("audit trail ok"), "{out}{err}");
}

/// Writes one app-class event per `(milliseconds after base, id)`, its resource named `e{index}`.
async fn events_at(
    app: &TestApp,
    tenant: Option<benteng_core::ids::TenantId>,
    base: time::OffsetDateTime,
    planned: &[(i64, u128)],
) {
    let mut context = AuditContext::system("test");
    context.tenant_id = tenant;
    for (index, (ms, id)) in planned.iter().enumerate() {
        let mut event = AuditEvent::new(
            &context,
            "test.paged",
            Retention::App,
            ("test", format!("e{index}")),
        );
        event.id = uuid::Uuid::from_u128(*id);
        event.timestamp = base + time::Duration::milliseconds(*ms);
        app.services.store.audit(&event).await.unwrap();
    }
}

fn rfc3339(t: time::OffsetDateTime) -> String {
    t.format(&time::format_description::well_known::Rfc3339)
        .unwrap()
}

/// Events are listed by time, then id; ids need not follow time (they come from the writer's
/// clock). Paging with a small limit must neither skip nor repeat an event at a boundary.
async fn tenant_pages_follow_time_then_id_across_page_boundaries(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let (tenant, key) = app.tenant_with_key().await;
    let base = benteng_core::now() - time::Duration::days(1);
    // The first event has the highest id; two share a time; the last has a lower id than one
    // before it.
    let planned = [(0, u128::MAX - 1), (1_000, 5), (1_000, 7), (2_000, 6)];
    events_at(&app, Some(tenant.id), base, &planned).await;
    let window = format!(
        "since={}&until={}",
        rfc3339(base - time::Duration::seconds(1)),
        rfc3339(base + time::Duration::hours(1))
    );
    for limit in [1, 2, 3] {
        let mut seen = Vec::new();
        let mut cursor: Option<String> = None;
        for _ in 0..10 {
            let mut path = format!("/v1/audit-events?{window}&limit={limit}");
            if let Some(cursor) = &cursor {
                path.push_str(&format!("&cursor={cursor}"));
            }
            let response = app.get(&path, Some(&key)).await;
            assert_eq!(response.status(), StatusCode::OK);
            let page: Value = response.json().await.unwrap();
            let data = page["data"].as_array().unwrap();
            assert!(data.len() <= limit);
            seen.extend(
                data.iter()
                    .map(|e| e["resource"]["id"].as_str().unwrap().to_owned()),
            );
            match page["next_cursor"].as_str() {
                Some(next) => cursor = Some(next.to_owned()),
                None => break,
            }
        }
        assert_eq!(seen, ["e0", "e1", "e2", "e3"], "limit {limit}");
    }

    // Cursors are opaque and parsed strictly, like every other cursor of the API.
    for bad in [
        "nope",
        "00000000-0000-0000-0000-000000000005",
        "1.zz",
        "-1.00000000000000000000000000000005",
    ] {
        let response = app
            .get(&format!("/v1/audit-events?cursor={bad}"), Some(&key))
            .await;
        assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY, "{bad}");
        assert_eq!(
            response.headers()["content-type"],
            "application/problem+json"
        );
        let problem: Value = response.json().await.unwrap();
        assert_eq!(problem["errors"][0]["field"], "cursor", "{problem}");
    }
}

/// `benteng audit export` reads the trail page by page; an event after the boundary with a
/// lower id than the page's last one is exported too, in time order.
async fn the_export_follows_time_then_id_across_its_page_boundary(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let page = benteng::cli::EXPORT_PAGE as usize;
    let base = benteng_core::now() - time::Duration::days(1);
    // Ids follow time except the last event of the first page, which has the highest id.
    let planned: Vec<(i64, u128)> = (0..=page)
        .map(|i| {
            let id = if i + 1 == page {
                u128::MAX
            } else {
                i as u128 + 1
            };
            (i as i64, id)
        })
        .collect();
    events_at(&app, None, base, &planned).await;
    let since = rfc3339(base - time::Duration::seconds(1));
    let until = rfc3339(base + time::Duration::hours(1));
    let trail = exported(app.environment(), &["--since", &since, "--until", &until]).await;
    let seen: Vec<&str> = trail
        .iter()
        .map(|e| e["resource"]["id"].as_str().unwrap())
        .collect();
    assert_eq!(seen.len(), page + 1, "every event is exported once");
    let expected: Vec<String> = (0..=page).map(|i| format!("e{i}")).collect();
    assert_eq!(seen, expected, "in time order");
}
