//! API-key authentication through the public HTTP interface.

use benteng_core::api_key::KeyEnvironment;
use benteng_core::tenant::TenantStatus;
use reqwest::StatusCode;

use crate::harness::{Backend, TestApp, on_both_backends};

on_both_backends!(
    a_valid_key_reaches_its_tenant,
    bad_keys_are_refused_with_401,
    revoked_keys_are_refused_at_once,
    expired_keys_are_refused,
    suspended_tenants_are_refused_with_403,
    a_key_for_another_tenant_id_is_refused,
    repeated_credential_headers_are_refused,
);

async fn problem(response: reqwest::Response) -> (StatusCode, serde_json::Value) {
    let status = response.status();
    assert_eq!(
        response.headers()["content-type"],
        "application/problem+json"
    );
    (status, response.json().await.unwrap())
}

async fn a_valid_key_reaches_its_tenant(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let (tenant, key) = app.tenant_with_key().await;
    let response = app.get("/v1/tenant", Some(&key)).await;
    assert_eq!(response.status(), StatusCode::OK);
    let body: serde_json::Value = response.json().await.unwrap();
    assert_eq!(body["id"], tenant.id.to_string());
    assert_eq!(body["name"], "PT Contoh Ekspor");
    assert_eq!(body["tier"], "growth");
    // A second call is served from the cache and says the same.
    let again: serde_json::Value = app
        .get("/v1/tenant", Some(&key))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(again, body);
}

async fn bad_keys_are_refused_with_401(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let (tenant, key) = app.tenant_with_key().await;
    let unknown = format!("sk_live_{}_{}", tenant.id.simple(), "Z".repeat(43));
    let cases: Vec<(Option<String>, &str)> = vec![
        (None, "missing"),
        (Some(String::new()), "empty"),
        (Some("Basic dXNlcjpwYXNz".to_owned()), "other scheme"),
        (Some("Bearer".to_owned()), "no token"),
        (Some("Bearer sk_live_short".to_owned()), "malformed"),
        (
            Some(format!("Bearer {}", &key[..key.len() - 1])),
            "truncated",
        ),
        (Some(format!("Bearer {key}x")), "extended"),
        (Some(format!("Bearer {unknown}")), "unknown"),
        (Some(format!("Bearer {}", "A".repeat(10_000))), "huge"),
        (Some("Bearer ' OR 1=1 --".to_owned()), "sql"),
    ];
    for (authorization, label) in cases {
        let mut request = app.client.get(app.url("/v1/tenant"));
        if let Some(value) = authorization {
            request = request.header("authorization", value);
        }
        let (status, body) = problem(request.send().await.unwrap()).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{label}");
        assert_eq!(
            body["type"], "https://benteng.dev/problems/unauthenticated",
            "{label}"
        );
    }
    // Non-UTF-8 header bytes too.
    let response = app
        .client
        .get(app.url("/v1/tenant"))
        .header(
            "authorization",
            reqwest::header::HeaderValue::from_bytes(b"Bearer \xff\xfe").unwrap(),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    // The server is still up and the good key still works.
    assert_eq!(
        app.get("/v1/tenant", Some(&key)).await.status(),
        StatusCode::OK
    );
}

async fn revoked_keys_are_refused_at_once(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let (tenant, key) = app.tenant_with_key().await;
    assert_eq!(
        app.get("/v1/tenant", Some(&key)).await.status(),
        StatusCode::OK
    );
    let keys = app.services.store.api_keys_of(tenant.id).await.unwrap();
    app.services
        .api_keys
        .revoke(
            keys[0].id,
            &benteng_core::audit::AuditContext::system("test"),
        )
        .await
        .unwrap();
    let (status, body) = problem(app.get("/v1/tenant", Some(&key)).await).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(body["detail"], "the credentials have been revoked");
}

async fn expired_keys_are_refused(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let tenant = app.tenant(benteng_core::tenant::Tier::Starter).await;
    let issued = app
        .services
        .api_keys
        .issue(
            tenant.id,
            KeyEnvironment::Test,
            Some(time::Duration::milliseconds(300)),
            benteng_core::scopes::Scopes::all(),
            benteng_core::network::NetworkAllowList::any(),
            &benteng_core::audit::AuditContext::system("test"),
        )
        .await
        .unwrap();
    let key = benteng_crypto::ExposeSecret::expose_secret(&issued.key).to_owned();
    assert_eq!(
        app.get("/v1/tenant", Some(&key)).await.status(),
        StatusCode::OK
    );
    tokio::time::sleep(std::time::Duration::from_millis(400)).await;
    let (status, body) = problem(app.get("/v1/tenant", Some(&key)).await).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(body["detail"], "the credentials have expired");
}

async fn suspended_tenants_are_refused_with_403(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let (tenant, key) = app.tenant_with_key().await;
    assert_eq!(
        app.get("/v1/tenant", Some(&key)).await.status(),
        StatusCode::OK
    );
    app.services
        .store
        .set_tenant_status(
            tenant.id,
            TenantStatus::Suspended,
            &benteng_core::audit::AuditContext::system("test"),
        )
        .await
        .unwrap();
    app.services
        .api_keys
        .tenant_changed(tenant.id)
        .await
        .unwrap();
    let (status, body) = problem(app.get("/v1/tenant", Some(&key)).await).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert_eq!(body["type"], "https://benteng.dev/problems/forbidden");
}

/// A key whose embedded tenant id was altered to another tenant's does not authenticate as
/// either: the hash covers the whole key.
async fn a_key_for_another_tenant_id_is_refused(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let (first, key) = app.tenant_with_key().await;
    let (second, _) = app.tenant_with_key().await;
    let forged = key.replace(&first.id.simple(), &second.id.simple());
    let (status, _) = problem(app.get("/v1/tenant", Some(&forged)).await).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
}

/// Two `Authorization` headers (a proxy might read the last, benteng the first) are refused
/// outright, even when one of them is a good key; on SNAP paths in SNAP's format.
async fn repeated_credential_headers_are_refused(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let (tenant, key) = app.tenant_with_key().await;
    let other = format!("sk_live_{}_{}", tenant.id.simple(), "Z".repeat(43));
    for pair in [[key.as_str(), other.as_str()], [key.as_str(), key.as_str()]] {
        let response = app
            .client
            .get(app.url("/v1/tenant"))
            .header("authorization", format!("Bearer {}", pair[0]))
            .header("authorization", format!("Bearer {}", pair[1]))
            .send()
            .await
            .unwrap();
        let (status, body) = problem(response).await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
        assert_eq!(
            body["type"],
            "https://benteng.dev/problems/malformed-request"
        );
    }
    let idempotency = app
        .client
        .post(app.url("/v1/transfers"))
        .bearer_auth(&key)
        .header("x-idempotency-key", "one")
        .header("x-idempotency-key", "two")
        .json(&serde_json::json!({}))
        .send()
        .await
        .unwrap();
    assert_eq!(idempotency.status(), StatusCode::BAD_REQUEST);
    let snap = app
        .client
        .post(app.url("/v1.0/transfer-interbank"))
        .header("x-partner-id", "a")
        .header("x-partner-id", "b")
        .json(&serde_json::json!({}))
        .send()
        .await
        .unwrap();
    assert_eq!(snap.status(), StatusCode::BAD_REQUEST);
    let body: serde_json::Value = snap.json().await.unwrap();
    assert!(
        body["responseCode"].as_str().unwrap().starts_with("400"),
        "{body}"
    );
    // One of each is fine.
    assert_eq!(
        app.get("/v1/tenant", Some(&key)).await.status(),
        StatusCode::OK
    );
}
