//! Health, readiness, metrics, the API description, error format and security headers.

use benteng_api::Access;
use reqwest::StatusCode;

use crate::harness::{Backend, TestApp, on_both_backends};

on_both_backends!(
    health_and_readiness_answer,
    every_response_carries_the_security_headers,
    unknown_routes_and_wrong_methods_are_problems,
    every_non_public_route_demands_authentication,
    oversized_bodies_are_refused_with_413,
    an_http1_client_uploading_too_much_reads_the_413,
    docs_work_offline,
);

const SECURITY_HEADERS: [(&str, &str); 7] = [
    (
        "strict-transport-security",
        "max-age=31536000; includeSubDomains",
    ),
    ("x-content-type-options", "nosniff"),
    ("x-frame-options", "DENY"),
    ("content-security-policy", "default-src 'self'"),
    ("x-xss-protection", "1; mode=block"),
    ("referrer-policy", "strict-origin-when-cross-origin"),
    ("cache-control", "no-store"),
];

async fn health_and_readiness_answer(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let health = app.get("/healthz", None).await;
    assert_eq!(health.status(), StatusCode::OK);
    let ready: serde_json::Value = app.get("/readyz", None).await.json().await.unwrap();
    assert_eq!(ready["status"], "ready");
    assert_eq!(ready["database"], "ok");
    assert_eq!(ready["cache"], "ok");
    let metrics = app.get("/metrics", None).await.text().await.unwrap();
    assert!(metrics.contains("http_requests_total"), "{metrics}");
    // Every family says what it counts.
    for family in metrics.lines().filter_map(|l| l.strip_prefix("# TYPE ")) {
        let name = family.split(' ').next().unwrap();
        assert!(
            metrics.contains(&format!("# HELP {name} ")),
            "no HELP for {name}:\n{metrics}"
        );
    }
}

async fn every_response_carries_the_security_headers(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    for (path, expected) in [
        ("/healthz", StatusCode::OK),
        ("/v1/tenant", StatusCode::UNAUTHORIZED),
        ("/no/such/route", StatusCode::NOT_FOUND),
    ] {
        let response = app.get(path, None).await;
        assert_eq!(response.status(), expected, "{path}");
        for (name, value) in SECURITY_HEADERS {
            assert_eq!(response.headers()[name], value, "{name} on {path}");
        }
        assert!(response.headers().contains_key("x-request-id"));
    }
}

async fn unknown_routes_and_wrong_methods_are_problems(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let missing = app.get("/v1/nothing-here", None).await;
    assert_eq!(missing.status(), StatusCode::NOT_FOUND);
    assert_eq!(
        missing.headers()["content-type"],
        "application/problem+json"
    );
    let body: serde_json::Value = missing.json().await.unwrap();
    assert_eq!(body["type"], "https://benteng.dev/problems/not-found");
    assert_eq!(body["status"], 404);

    let wrong = app.client.delete(app.url("/healthz")).send().await.unwrap();
    assert_eq!(wrong.status(), StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(wrong.headers()["content-type"], "application/problem+json");
    let body: serde_json::Value = wrong.json().await.unwrap();
    assert_eq!(
        body["type"],
        "https://benteng.dev/problems/method-not-allowed"
    );
}

/// Walks the route table: every route that is not public must answer 401 without credentials,
/// and the public ones are exactly the operational endpoints.
async fn every_non_public_route_demands_authentication(backend: Backend) {
    // The walk makes more unauthenticated calls than the per-IP guard allows a minute; that
    // guard has its own tests.
    let app = TestApp::spawn_with(backend, |config| {
        config.protection.unauthenticated_per_minute = 10_000;
    })
    .await;
    let state_table = benteng_api::route_table_paths();
    let public: Vec<&str> = state_table
        .iter()
        .filter(|(_, access)| *access == Access::Public)
        .map(|(path, _)| *path)
        .collect();
    assert_eq!(
        public,
        [
            "/healthz",
            "/readyz",
            "/metrics",
            // Staff sign-in and enrolment: their own credentials (password and TOTP code, the
            // one-time enrolment code).
            "/admin/v1/session",
            "/admin/v1/enrolment/start",
            "/admin/v1/enrolment/finish",
            "/console/sign-in",
            "/console/static/console.css",
            "/openapi.json",
            "/docs",
            "/docs/docs.css",
            // The same for tenant users, on the tenant API.
            "/v1/session",
            "/v1/enrolment/start",
            "/v1/enrolment/finish",
            // The webhook signing keys' public halves: receivers fetch them without a key.
            "/v1/.well-known/jwks.json",
            // FAPI 2.0: discovery and the server's public keys; PAR and the token endpoint
            // authenticate the client themselves (private_key_jwt), the consent page the
            // tenant user (password and second factor).
            "/.well-known/openid-configuration",
            "/.well-known/oauth-authorization-server",
            "/oauth2/jwks",
            "/oauth2/par",
            "/oauth2/authorize",
            "/oauth2/token",
            "/oauth2/revoke",
            // SNAP's token endpoint: its own credentials (the partner's RSA signature).
            "/v1.0/access-token/b2b"
        ]
    );
    for (path, access) in state_table {
        if access == Access::Public {
            continue;
        }
        let concrete = path.replace("{id}", &uuid::Uuid::new_v4().to_string());
        for method in [reqwest::Method::GET, reqwest::Method::POST] {
            let response = app
                .client
                .request(method.clone(), app.url(&concrete))
                .send()
                .await
                .unwrap();
            let status = response.status();
            assert!(
                status == StatusCode::UNAUTHORIZED || status == StatusCode::METHOD_NOT_ALLOWED,
                "{method} {path} answered {status} without credentials"
            );
            if status == StatusCode::UNAUTHORIZED {
                assert!(response.headers().contains_key("www-authenticate"));
            }
        }
    }
}

/// The body limit (`http.body_limit_bytes`, 1 MiB) at its boundary, on a route that exists: a
/// body of exactly 1 MiB is served, one byte more is refused with a problem+json 413.
async fn oversized_bodies_are_refused_with_413(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let (_, key) = app.tenant_with_key().await;
    let limit = 1024 * 1024;
    // A valid recipient, padded with trailing whitespace (still one JSON value) to `size` bytes.
    let body = |size: usize| {
        let mut body = serde_json::json!({"type": "individual", "name": "Budi Santoso",
            "country": "DE", "bank_account": {"iban": "DE89370400440532013000"}})
        .to_string()
        .into_bytes();
        body.resize(size, b' ');
        body
    };
    let post = |body: Vec<u8>| {
        app.client
            .post(app.url("/v1/recipients"))
            .bearer_auth(&key)
            .header("content-type", "application/json")
            .body(body)
            .send()
    };
    let response = post(body(limit)).await.unwrap();
    assert_eq!(response.status(), StatusCode::CREATED);
    let response = post(body(limit + 1)).await.unwrap();
    assert_eq!(response.status(), StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(
        response.headers()["content-type"],
        "application/problem+json"
    );
    assert_eq!(app.get("/healthz", None).await.status(), StatusCode::OK);
}

/// Over HTTP/1.1 a client still uploading when the 413 is sent must still read it (not a
/// connection reset): the server reads and drops the refused body before answering.
async fn an_http1_client_uploading_too_much_reads_the_413(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let (_, key) = app.tenant_with_key().await;
    let client = crate::harness::client_builder(&app.data_dir().join("tls/dev-ca.pem"))
        .http1_only()
        .build()
        .unwrap();
    for _ in 0..5 {
        let response = client
            .post(app.url("/v1/transfers"))
            .bearer_auth(&key)
            .header("x-idempotency-key", uuid::Uuid::new_v4().to_string())
            .header("content-type", "application/json")
            .body(vec![b' '; 10 * 1024 * 1024])
            .send()
            .await;
        let response = match response {
            Ok(response) => response,
            Err(error) => panic!("no answer, the upload was cut: {error:?}"),
        };
        assert_eq!(response.status(), StatusCode::PAYLOAD_TOO_LARGE);
        assert_eq!(
            response.headers()["content-type"],
            "application/problem+json"
        );
    }
    assert_eq!(app.get("/healthz", None).await.status(), StatusCode::OK);
}

async fn docs_work_offline(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let spec: serde_json::Value = app.get("/openapi.json", None).await.json().await.unwrap();
    assert!(spec["paths"]["/v1/tenant"]["get"].is_object());
    docs_page_shows_operations_as_the_document_describes_them(&app).await;
    // Every documented path is mounted, and every mounted API path is documented.
    let documented: Vec<String> = spec["paths"].as_object().unwrap().keys().cloned().collect();
    let mounted = benteng_api::route_table_paths();
    for (path, _) in &mounted {
        if path.starts_with("/docs/") || *path == "/docs" {
            continue;
        }
        assert!(
            documented.iter().any(|d| d == path),
            "{path} is not in openapi.json"
        );
    }
    for path in &documented {
        assert!(
            mounted.iter().any(|(m, _)| m == path),
            "{path} is documented but not mounted"
        );
    }
    // A tenant or operator route documents exactly the methods it declares.
    let declared: Vec<(&str, Vec<String>)> = benteng_api::route_scopes()
        .into_iter()
        .map(|(path, needs)| (path, needs.declared().map(|(m, _)| m.to_string()).collect()))
        .chain(
            benteng_api::route_permissions()
                .into_iter()
                .map(|(path, needs)| {
                    (path, needs.declared().map(|(m, _)| m.to_string()).collect())
                }),
        )
        .collect();
    for (path, methods) in declared {
        let mut in_document: Vec<String> = spec["paths"][path]
            .as_object()
            .unwrap()
            .keys()
            .filter(|k| !matches!(k.as_str(), "parameters" | "summary" | "description"))
            .map(|m| m.to_uppercase())
            .collect();
        in_document.sort();
        let mut methods = methods;
        methods.sort();
        assert_eq!(in_document, methods, "{path}");
    }
    // The document is valid OpenAPI by an outside validator, which refuses a copy missing
    // one response's description (the negative control).
    let dir = app.data_dir().join("openapi-check");
    std::fs::create_dir_all(&dir).unwrap();
    let (valid, said) =
        crate::harness::run_python(&dir, VALIDATE_OPENAPI, &[("openapi.json", &spec)]).await;
    assert!(valid, "{said}");
    let mut broken = spec.clone();
    broken["paths"]["/v1/tenant"]["get"]["responses"]["200"]
        .as_object_mut()
        .unwrap()
        .remove("description");
    let (valid, _) =
        crate::harness::run_python(&dir, VALIDATE_OPENAPI, &[("openapi.json", &broken)]).await;
    assert!(
        !valid,
        "the validator accepts a response without a description"
    );
}

/// The section of `page` for one operation (its id is the document's `operationId`).
fn operation_section<'a>(page: &'a str, operation_id: &str) -> &'a str {
    let start = page
        .find(&format!("id=\"{operation_id}\""))
        .unwrap_or_else(|| panic!("/docs has no {operation_id}"));
    let end = page[start..].find("</section>").unwrap() + start;
    &page[start..end]
}

/// `/docs` as served: one HTML page, rendered by benteng, that loads nothing from elsewhere and
/// runs no script, under the same security headers as every answer; each operation shows its
/// parameters, its request body's fields with their rules and example, and its security.
async fn docs_page_shows_operations_as_the_document_describes_them(app: &TestApp) {
    let response = app.get("/docs", None).await;
    assert_eq!(response.status(), StatusCode::OK);
    for (name, value) in SECURITY_HEADERS {
        assert_eq!(response.headers()[name], value, "{name} on /docs");
    }
    let page = response.text().await.unwrap();
    // `default-src 'self'` allows no inline script, and the page needs none.
    assert!(!page.contains("<script"), "/docs carries a script");
    assert!(!page.contains(" style="), "/docs carries inline style");
    for attribute in ["href=\"", "src=\""] {
        for value in page.split(attribute).skip(1) {
            assert!(
                value.starts_with('/') || value.starts_with('#'),
                "/docs loads something from elsewhere: {attribute}{}",
                &value[..value.len().min(60)]
            );
        }
    }
    let style = app.get("/docs/docs.css", None).await;
    assert_eq!(style.status(), StatusCode::OK);
    assert!(
        style.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/css")
    );

    // POST /v1/transfers: its idempotency key, its body's fields, its example, its scope.
    let transfer = operation_section(&page, "post_v1_transfers");
    let key_row = transfer
        .split("<tr class=\"parameter\">")
        .find(|row| row.contains("<code>X-Idempotency-Key</code>"))
        .expect("the idempotency key is shown");
    for cell in [
        "<td>header</td>",
        "<td>string (uuid)</td>",
        "<td>required</td>",
    ] {
        assert!(key_row.contains(cell), "{cell} in {key_row}");
    }
    for field in [
        "quote_id",
        "recipient_id",
        "amount",
        "currency",
        "reference",
    ] {
        assert!(
            transfer.contains(&format!("<tr class=\"property\"><td><code>{field}</code>")),
            "{field} is not shown"
        );
    }
    assert!(transfer.contains("<summary>Example</summary>"));
    assert!(transfer.contains("INV-2026-0042"));
    assert!(transfer.contains("<code>api_key</code>"));
    assert!(transfer.contains("<code class=\"scope\">transfers:write</code>"));

    // An operator operation: its body's enum and the permission, by session or token.
    let issue = operation_section(&page, "post_admin_v1_tenants_id_api_keys");
    assert!(
        issue.contains("KeyEnvironment: string, one of: live, test"),
        "{issue}"
    );
    assert!(issue.contains("<code class=\"scope\">credentials:write</code>"));
    assert!(issue.contains("<code>staff_token</code>"));

    // SNAP: the B2B token and the request signature, and no API-key example.
    let snap = operation_section(&page, "post_v1_0_transfer_interbank");
    assert!(
        snap.contains("<code>snap_token</code>") && snap.contains("<code>snap_signature</code>")
    );
    assert!(!snap.contains("sk_"), "a SNAP route shows an API key");
}

/// openapi-spec-validator (PyPI; scripts/test installs it), for the document's version.
const VALIDATE_OPENAPI: &str = r#"
import json, sys
from openapi_spec_validator import validate
validate(json.load(open(sys.argv[1])))
"#;
