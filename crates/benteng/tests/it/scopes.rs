//! Scoped API keys: every tenant route needs a scope, checked by the one `Authenticator`.

use benteng_core::currency::Currency;
use benteng_core::scopes::{Scope, Scopes};
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::harness::{Backend, Environment, TestApp, cli, on_both_backends};
use crate::payments::{fund, quote, recipient, transfer_body};

on_both_backends!(
    a_transfers_read_key_cannot_create_a_transfer,
    a_read_only_key_changes_nothing,
    every_tenant_route_checks_the_scope_it_declares,
    keys_from_before_scopes_get_every_scope_on_record,
    the_cli_issues_scoped_keys_and_refuses_unknown_scopes,
);

const IBAN: &str = "DE89370400440532013000";

/// Asserts a 403 problem naming `scope`.
async fn assert_missing_scope(response: reqwest::Response, scope: Scope) {
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    assert_eq!(
        response.headers()["content-type"],
        "application/problem+json"
    );
    let challenge = response.headers()["www-authenticate"].to_str().unwrap();
    assert!(challenge.contains("insufficient_scope"), "{challenge}");
    let body: Value = response.json().await.unwrap();
    assert_eq!(
        body["type"],
        "https://benteng.dev/problems/insufficient-scope"
    );
    let detail = body["detail"].as_str().unwrap();
    assert!(detail.contains(scope.as_str()), "{detail}");
}

async fn transfer_count(app: &TestApp, key: &str) -> usize {
    let response = app.get("/v1/transfers", Some(key)).await;
    assert_eq!(response.status(), StatusCode::OK);
    let body: Value = response.json().await.unwrap();
    body["data"].as_array().unwrap().len()
}

async fn a_transfers_read_key_cannot_create_a_transfer(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let (tenant, full) = app.tenant_with_key().await;
    fund(&app, tenant.id, "1000000.00", Currency::IDR).await;
    let recipient = recipient(&app, &full, IBAN).await;
    let quote = quote(
        &app,
        &full,
        "source_currency=IDR&target_currency=EUR&source_amount=500000.00",
    )
    .await;
    let body = transfer_body(&quote, &recipient, "scoped");
    let narrow = app
        .key_with_scopes(tenant.id, Scopes::empty().with(Scope::TransfersRead))
        .await;

    // First refusal from the database path, the second from this instance's key cache.
    for _ in 0..2 {
        let response = app.post_json("/v1/transfers", &narrow, &body).await;
        assert_missing_scope(response, Scope::TransfersWrite).await;
        assert_eq!(transfer_count(&app, &narrow).await, 0, "nothing created");
    }
    // The quote is still unused: the full key can spend it.
    let response = app.post_json("/v1/transfers", &full, &body).await;
    assert_eq!(response.status(), StatusCode::CREATED);
    assert_eq!(transfer_count(&app, &narrow).await, 1);

    // The issue is on record with the key's scopes.
    let events: Value = app
        .get("/v1/audit-events?limit=500", Some(&full))
        .await
        .json()
        .await
        .unwrap();
    let scopes: Vec<&str> = events["data"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["event_type"] == "api_key.issued")
        .filter_map(|e| e["changes"]["scopes"]["to"].as_str())
        .collect();
    assert!(scopes.contains(&"transfers:read"), "{scopes:?}");
    assert!(scopes.contains(&Scopes::all().to_string().as_str()));
}

async fn a_read_only_key_changes_nothing(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let (tenant, full) = app.tenant_with_key().await;
    fund(&app, tenant.id, "1000000.00", Currency::IDR).await;
    let recipient = recipient(&app, &full, IBAN).await;
    let quote_query = "source_currency=IDR&target_currency=EUR&source_amount=500000.00";
    let quote = quote(&app, &full, quote_query).await;
    let read_only = app.key_with_scopes(tenant.id, Scopes::read_only()).await;

    let response = app
        .post_json(
            "/v1/recipients",
            &read_only,
            &json!({"type": "business", "name": "Müller Handels GmbH", "country": "DE",
                    "address": {"line1": "Hauptstraße 1", "city": "Berlin", "country": "DE"},
                    "bank_account": {"iban": IBAN}}),
        )
        .await;
    assert_missing_scope(response, Scope::RecipientsWrite).await;
    let response = app
        .get(&format!("/v1/quotes?{quote_query}"), Some(&read_only))
        .await;
    assert_missing_scope(response, Scope::QuotesWrite).await;
    let transfer = transfer_body(&quote, &recipient, "read-only");
    let response = app.post_json("/v1/transfers", &read_only, &transfer).await;
    assert_missing_scope(response, Scope::TransfersWrite).await;
    let response = app
        .post_json(
            "/v1/batches",
            &read_only,
            &json!({"transfers": [transfer.clone()]}),
        )
        .await;
    assert_missing_scope(response, Scope::TransfersWrite).await;

    // Nothing was created: one recipient (the full key's), no transfer.
    let recipients: Value = app
        .get("/v1/recipients", Some(&read_only))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(recipients["data"].as_array().unwrap().len(), 1);
    assert_eq!(transfer_count(&app, &read_only).await, 0);
    // Everything it may read, it reads.
    for path in [
        "/v1/transfers",
        "/v1/recipients",
        "/v1/balances",
        "/v1/audit-events",
        "/v1/tenant",
    ] {
        let response = app.get(path, Some(&read_only)).await;
        assert_eq!(response.status(), StatusCode::OK, "{path}");
    }
}

/// Walks the route table: for every method of every tenant route, a key with every scope but
/// the declared one is refused naming it, and a full key is never refused for its scope. A
/// method mounted without a declared scope would refuse the full key too, and fail here.
async fn every_tenant_route_checks_the_scope_it_declares(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let (tenant, full) = app.tenant_with_key().await;
    let routes = benteng_api::route_scopes();
    let tenant_paths: Vec<&str> = benteng_api::route_table_paths()
        .into_iter()
        .filter(|(_, access)| *access == benteng_api::Access::Tenant)
        .map(|(path, _)| path)
        .collect();
    let scoped_paths: Vec<&str> = routes.iter().map(|(path, _)| *path).collect();
    assert_eq!(tenant_paths, scoped_paths);
    for (path, needs) in routes {
        let concrete = path.replace("{id}", &uuid::Uuid::new_v4().to_string());
        let declared: Vec<_> = needs.declared().collect();
        assert!(!declared.is_empty(), "{path} declares no scope");
        for (method, scope) in declared {
            let without: Scopes = Scope::ALL.into_iter().filter(|s| *s != scope).collect();
            let key = app.key_with_scopes(tenant.id, without).await;
            let response = app
                .client
                .request(method.clone(), app.url(&concrete))
                .bearer_auth(&key)
                .send()
                .await
                .unwrap();
            assert_missing_scope(response, scope).await;
        }
        for method in [reqwest::Method::GET, reqwest::Method::POST] {
            let response = app
                .client
                .request(method.clone(), app.url(&concrete))
                .bearer_auth(&full)
                .send()
                .await
                .unwrap();
            assert_ne!(
                response.status(),
                StatusCode::FORBIDDEN,
                "{method} {path} refused a key with every scope"
            );
            if needs.scope_for(&method).is_none() {
                assert_eq!(
                    response.status(),
                    StatusCode::METHOD_NOT_ALLOWED,
                    "{method} {path} is mounted without a scope"
                );
            }
        }
    }
}

/// A key from before migration 0011 (scopes NULL) gets the full set when the store migrates,
/// once, with an `api_key.scopes_migrated` event.
async fn keys_from_before_scopes_get_every_scope_on_record(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let (tenant, key) = app.tenant_with_key().await;
    let keys = app.services.store.api_keys_of(tenant.id).await.unwrap();
    let id = keys[0].id;
    let mut sql = app.raw_sql().await;
    sqlx::query("UPDATE api_keys SET scopes = NULL WHERE id = $1")
        .bind(id.to_string())
        .execute(&mut sql)
        .await
        .unwrap();
    app.services.store.migrate().await.unwrap();
    app.services.store.migrate().await.unwrap();
    let migrated = app.services.store.api_key(id).await.unwrap();
    assert_eq!(migrated.scopes, Scopes::all());
    let events: Value = app
        .get("/v1/audit-events?limit=500", Some(&key))
        .await
        .json()
        .await
        .unwrap();
    let recorded: Vec<&Value> = events["data"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["event_type"] == "api_key.scopes_migrated")
        .collect();
    assert_eq!(recorded.len(), 1, "recorded once");
    assert_eq!(
        recorded[0]["changes"]["scopes"]["to"],
        Scopes::all().to_string()
    );
}

async fn the_cli_issues_scoped_keys_and_refuses_unknown_scopes(backend: Backend) {
    let env = Environment::new(backend).await;
    let (ok, tenant, err) = cli(
        &env,
        &[
            "tenant",
            "create",
            "--name",
            "PT Maju Jaya",
            "--tier",
            "growth",
        ],
    )
    .await;
    assert!(ok, "{err}");
    let tenant = tenant.trim().to_owned();
    let issue = |extra: &'static [&'static str]| {
        let mut args = vec!["apikey", "issue", "--tenant", tenant.as_str()];
        args.extend_from_slice(extra);
        args
    };
    for refused in [
        &["--scope", "transfers:admin"][..],
        &["--scope", "Transfers:read"],
        &["--scope", "transfers:read", "--scope", "transfers:read"],
        &["--scope", "transfers:read", "--read-only"],
    ] {
        let (ok, out, err) = cli(&env, &issue(refused)).await;
        assert!(!ok, "{refused:?} was accepted: {out}");
        assert!(!out.contains("sk_live_"), "{refused:?} printed a key");
        assert!(err.contains("scope") || err.contains("read-only"), "{err}");
    }
    let (ok, keys, _) = cli(&env, &["apikey", "list", "--tenant", &tenant]).await;
    assert!(ok);
    assert_eq!(keys.lines().count(), 1, "nothing stored: {keys}");

    let (ok, _, err) = cli(&env, &issue(&["--scope", "transfers:read"])).await;
    assert!(ok, "{err}");
    let (ok, _, err) = cli(&env, &issue(&["--read-only"])).await;
    assert!(ok, "{err}");
    let (ok, _, err) = cli(&env, &issue(&[])).await;
    assert!(ok, "{err}");
    let (_, keys, _) = cli(&env, &["apikey", "list", "--tenant", &tenant]).await;
    let rows: Vec<&str> = keys.lines().skip(1).collect();
    assert_eq!(rows.len(), 3, "{keys}");
    assert!(rows[0].ends_with("  transfers:read"), "{}", rows[0]);
    assert!(
        rows[1].ends_with(&Scopes::read_only().to_string()),
        "{}",
        rows[1]
    );
    assert!(rows[2].ends_with(&Scopes::all().to_string()), "{}", rows[2]);
}
