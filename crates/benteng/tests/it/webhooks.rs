//! Webhooks: the outbox written with each change, endpoints, signed deliveries verified by an
//! independent library (Python `jwcrypto`) with only the JWKS benteng publishes, key rotation.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::http::{HeaderMap, StatusCode as AxumStatus};
use axum::routing::post;
use benteng_core::clock::ManualClock;
use benteng_core::currency::Currency;
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::harness::{Backend, TestApp, on_both_backends};
use crate::payments::{fund, quote, recipient, transfer_body, wait_for_status};

on_both_backends!(
    a_transfers_events_are_in_the_outbox_in_order,
    every_delivery_verifies_with_jwcrypto_and_the_published_jwks,
    bad_endpoints_are_refused_and_store_nothing,
    receivers_that_misbehave_are_bounded_and_recorded,
    rotation_publishes_before_signing_and_keeps_the_old_key_14_days,
    a_receiver_that_was_down_gets_everything_in_order_when_back,
    replay_and_resend_reach_only_the_tenants_own_endpoint,
    an_endpoint_failing_for_five_days_is_disabled,
    every_event_type_is_written_with_its_change,
    an_endpoint_never_has_more_than_its_throttle_in_flight,
    an_es256_endpoint_s_deliveries_verify_with_the_published_p256_key,
    a_disabled_endpoint_and_a_rolled_back_transfer_send_nothing,
    a_dead_worker_s_claims_stop_holding_the_throttle_before_they_lapse,
);

/// What a receiver got: the headers that matter and the raw body.
#[derive(Debug, Clone)]
pub(crate) struct Received {
    pub(crate) id: String,
    timestamp: String,
    signature: String,
    pub(crate) body: String,
}

pub(crate) type Inbox = Arc<Mutex<Vec<Received>>>;

/// While set, `/hook` answers 503 and records nothing.
static DOWN: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

/// A local HTTP receiver: `/hook` records and answers 200; `/gone` answers 410; `/moved`
/// redirects; `/huge` answers 10 MB; `/hang` never answers; `/busy` answers 429 with
/// Retry-After.
pub(crate) async fn receiver() -> (String, Inbox) {
    let inbox: Inbox = Arc::default();
    let record = inbox.clone();
    let app = axum::Router::new()
        .route(
            "/hook",
            post(move |headers: HeaderMap, body: String| {
                let record = record.clone();
                async move {
                    if headers.get("x-test-down").is_none()
                        && body.contains("DOWN-TEST")
                        && DOWN.load(std::sync::atomic::Ordering::SeqCst)
                    {
                        return (AxumStatus::SERVICE_UNAVAILABLE, "down for maintenance");
                    }
                    let get = |name: &str| {
                        headers
                            .get(name)
                            .and_then(|v| v.to_str().ok())
                            .unwrap_or_default()
                            .to_owned()
                    };
                    record.lock().unwrap().push(Received {
                        id: get("webhook-id"),
                        timestamp: get("webhook-timestamp"),
                        signature: get("webhook-signature"),
                        body,
                    });
                    (AxumStatus::OK, "thanks")
                }
            }),
        )
        .route("/gone", post(|| async { (AxumStatus::GONE, "gone") }))
        .route(
            "/moved",
            post(|| async {
                (
                    AxumStatus::FOUND,
                    [("location", "http://127.0.0.1:1/elsewhere")],
                    "",
                )
            }),
        )
        .route("/huge", post(|| async { "x".repeat(10 * 1024 * 1024) }))
        .route(
            "/hang",
            post(|| async {
                tokio::time::sleep(Duration::from_secs(600)).await;
                "late"
            }),
        )
        .route(
            "/busy",
            post(|| async {
                (
                    AxumStatus::TOO_MANY_REQUESTS,
                    [("retry-after", "120")],
                    "busy",
                )
            }),
        );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await });
    (format!("http://{address}"), inbox)
}

/// How a raw TCP receiver misbehaves below HTTP.
#[derive(Clone, Copy)]
enum RawMisbehaviour {
    /// Answers `HTTP/1.1 200 OK…` one byte every 300 ms, never finishing in time.
    DripStatusLine,
    /// Reads the request, then resets the connection (RST, no answer).
    Reset,
}

/// A receiver on a raw TCP socket, for what an HTTP server framework would not do.
async fn raw_receiver(how: RawMisbehaviour) -> String {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    tokio::spawn(async move {
        while let Ok((mut socket, _)) = listener.accept().await {
            tokio::spawn(async move {
                let mut request = [0u8; 4096];
                let _ = socket.read(&mut request).await;
                match how {
                    RawMisbehaviour::DripStatusLine => {
                        for byte in b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok" {
                            if socket.write_all(&[*byte]).await.is_err() {
                                return;
                            }
                            tokio::time::sleep(Duration::from_millis(300)).await;
                        }
                    }
                    RawMisbehaviour::Reset => {
                        // A zero linger resets at once; only a positive one blocks on drop.
                        #[allow(deprecated)]
                        let _ = socket.set_linger(Some(Duration::ZERO));
                        drop(socket);
                    }
                }
            });
        }
    });
    format!("http://{address}")
}

fn webhook_config(config: &mut benteng::Config) {
    config.webhooks.allow_private = vec!["127.0.0.0/8".to_owned()];
    config.webhooks.allow_http = true;
    config.webhooks.poll_interval_ms = 50;
    config.webhooks.request_timeout_secs = 2;
}

/// A transfer's event types: what the tests that follow one transfer subscribe to (its funding
/// is an event too, `balance.credited`, of another object).
fn transfer_events() -> Value {
    json!([
        "transfer.created",
        "transfer.approved",
        "transfer.held_for_review",
        "transfer.blocked",
        "transfer.submitted",
        "transfer.completed",
        "transfer.failed",
        "transfer.returned"
    ])
}

async fn add_endpoint(app: &TestApp, key: &str, url: &str, types: Value) -> reqwest::Response {
    app.client
        .post(app.url("/v1/webhook-endpoints"))
        .bearer_auth(key)
        .json(&json!({"url": url, "event_types": types, "description": "test receiver"}))
        .send()
        .await
        .unwrap()
}

/// Asks for a test delivery to `endpoint` (`POST …/test`), as its owner.
async fn send_test(app: &TestApp, key: &str, endpoint: &str) {
    let response = app
        .client
        .post(app.url(&format!("/v1/webhook-endpoints/{endpoint}/test")))
        .bearer_auth(key)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::ACCEPTED);
}

async fn wait_until(what: &str, mut done: impl AsyncFnMut() -> bool) {
    let started = Instant::now();
    while !done().await {
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "timed out: {what}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Verifies deliveries with Python's jwcrypto, given only the JWKS: every signature, the
/// payload equal to the body received, `webhook-id` equal to the payload's `event_id`, and
/// `webhook-timestamp` equal to the protected header's `iat`. Returns whether all verified and
/// what the script said.
pub(crate) async fn jwcrypto_verifies(
    dir: &std::path::Path,
    jwks: &Value,
    received: &[Received],
) -> (bool, String) {
    let script = r#"
import json, sys
from jwcrypto import jwk, jws
keys = jwk.JWKSet.from_json(open(sys.argv[1]).read())
deliveries = json.load(open(sys.argv[2]))
for d in deliveries:
    tokens = [p.split(",", 1)[1] for p in d["signature"].split(" ") if p.startswith("v1jws,")]
    if len(tokens) != 1:
        sys.exit("no v1jws signature")
    token = jws.JWS()
    token.deserialize(tokens[0])
    header = token.jose_header
    key = keys.get_key(header["kid"])
    if key is None:
        sys.exit("unknown kid " + header["kid"])
    published = json.loads(key.export_public())
    assert "d" not in published and published["use"] == "sig"
    token.verify(key, alg=published["alg"])
    if token.payload != d["body"].encode():
        sys.exit("payload differs from the body")
    event = json.loads(token.payload)
    if event["event_id"] != d["id"] or str(header["iat"]) != d["timestamp"]:
        sys.exit("headers do not match the signed content")
    print("verified", header["kid"], event["event_type"], event["data"].get("sequence"))
"#;
    let deliveries: Vec<Value> = received
        .iter()
        .map(|r| json!({"id": r.id, "timestamp": r.timestamp, "signature": r.signature, "body": r.body}))
        .collect();
    crate::harness::run_python(
        dir,
        script,
        &[
            ("jwks.json", jwks),
            ("deliveries.json", &Value::from(deliveries)),
        ],
    )
    .await
}

const IBAN: &str = "DE89370400440532013000";

/// A funded tenant's transfer, created through the API; returns its id.
pub async fn make_transfer(
    app: &TestApp,
    key: &str,
    tenant: benteng_core::ids::TenantId,
) -> String {
    make_transfer_with(app, key, tenant, "INV-1", IBAN).await
}

pub async fn make_transfer_with(
    app: &TestApp,
    key: &str,
    tenant: benteng_core::ids::TenantId,
    reference: &str,
    iban: &str,
) -> String {
    fund(app, tenant, "1000000.00", Currency::IDR).await;
    let recipient = recipient(app, key, iban).await;
    let q = quote(
        app,
        key,
        "source_currency=IDR&target_currency=EUR&source_amount=500000.00",
    )
    .await;
    let response = app
        .post_json(
            "/v1/transfers",
            key,
            &transfer_body(&q, &recipient, reference),
        )
        .await;
    assert_eq!(response.status(), StatusCode::CREATED);
    let transfer: Value = response.json().await.unwrap();
    transfer["id"].as_str().unwrap().to_owned()
}

async fn a_transfers_events_are_in_the_outbox_in_order(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let (tenant, key) = app.tenant_with_key().await;
    let id = make_transfer(&app, &key, tenant.id).await;
    wait_for_status(&app, &key, &id, "COMPLETED").await;
    let mut events = app
        .services
        .store
        .webhook_events(tenant.id, Some(&id), 100)
        .await
        .unwrap();
    events.reverse();
    let seen: Vec<(String, i64)> = events
        .iter()
        .map(|(n, s)| (n.event_type.as_str().to_owned(), *s))
        .collect();
    assert_eq!(
        seen,
        [
            ("transfer.created".to_owned(), 1),
            ("transfer.approved".to_owned(), 2),
            ("transfer.submitted".to_owned(), 3),
            ("transfer.completed".to_owned(), 4),
        ]
    );
    let payload = events[3].0.payload(events[3].1);
    assert_eq!(payload["data"]["id"], id.as_str());
    assert_eq!(payload["data"]["sequence"], 4);
    assert_eq!(payload["data"]["status"], "COMPLETED");
    for (notice, _) in &events {
        let text = notice.data.to_string();
        assert!(!text.contains("risk") && !text.contains("reason"), "{text}");
    }
    // Another tenant's view holds none of them.
    let (other, _) = app.tenant_with_key().await;
    let theirs = app
        .services
        .store
        .webhook_events(other.id, Some(&id), 100)
        .await
        .unwrap();
    assert!(theirs.is_empty());
}

async fn every_delivery_verifies_with_jwcrypto_and_the_published_jwks(backend: Backend) {
    let app = TestApp::spawn_with(backend, webhook_config).await;
    let (base, inbox) = receiver().await;
    let (tenant, key) = app.tenant_with_key().await;
    let response = add_endpoint(&app, &key, &format!("{base}/hook"), transfer_events()).await;
    assert_eq!(response.status(), StatusCode::CREATED);
    let endpoint: Value = response.json().await.unwrap();

    let id = make_transfer(&app, &key, tenant.id).await;
    wait_for_status(&app, &key, &id, "COMPLETED").await;
    wait_until("four deliveries", async || inbox.lock().unwrap().len() >= 4).await;
    let received = inbox.lock().unwrap().clone();
    let events: Vec<Value> = received
        .iter()
        .map(|r| serde_json::from_str(&r.body).unwrap())
        .collect();
    let order: Vec<(&str, i64)> = events
        .iter()
        .map(|e| {
            (
                e["event_type"].as_str().unwrap(),
                e["data"]["sequence"].as_i64().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        order,
        [
            ("transfer.created", 1),
            ("transfer.approved", 2),
            ("transfer.submitted", 3),
            ("transfer.completed", 4)
        ],
        "per-object order"
    );
    for event in &events {
        assert_eq!(event["data"]["id"], id.as_str());
        let keys: Vec<&String> = event.as_object().unwrap().keys().collect();
        assert_eq!(keys, ["created_at", "data", "event_id", "event_type"]);
    }

    // The JWKS: public, cacheable, public members only.
    let response = reqwest_public(&app, "/v1/.well-known/jwks.json").await;
    assert_eq!(response.status(), StatusCode::OK);
    assert!(
        response.headers()["cache-control"]
            .to_str()
            .unwrap()
            .contains("max-age")
    );
    let jwks: Value = response.json().await.unwrap();
    for jwk in jwks["keys"].as_array().unwrap() {
        assert!(jwk["kid"].is_string() && jwk["alg"].is_string() && jwk["use"] == "sig");
        for private in ["d", "p", "q", "dp", "dq", "qi"] {
            assert!(jwk.get(private).is_none(), "{jwk}");
        }
    }

    // The verifier must first be seen to refuse a tampered delivery.
    let dir = tempfile::tempdir().unwrap();
    let mut tampered = received.clone();
    tampered[3].body = tampered[3].body.replace("COMPLETED", "FAILED");
    let (ok, said) = jwcrypto_verifies(dir.path(), &jwks, &tampered).await;
    assert!(!ok, "a tampered body must not verify: {said}");
    let mut forged = received.clone();
    let token = forged[1].signature.clone();
    let parts: Vec<&str> = token.trim_start_matches("v1jws,").split('.').collect();
    let evil = benteng_crypto::jws::b64url(forged[3].body.as_bytes());
    forged[1].signature = format!("v1jws,{}.{}.{}", parts[0], evil, parts[2]);
    forged[1].body = forged[3].body.clone();
    let (ok, said) = jwcrypto_verifies(dir.path(), &jwks, &forged).await;
    assert!(!ok, "a re-pointed signature must not verify: {said}");
    let (ok, said) = jwcrypto_verifies(dir.path(), &json!({"keys": []}), &received).await;
    assert!(!ok, "without the JWKS nothing verifies: {said}");

    let (ok, said) = jwcrypto_verifies(dir.path(), &jwks, &received).await;
    assert!(ok, "{said}");
    assert_eq!(
        said.lines().filter(|l| l.starts_with("verified")).count(),
        4
    );

    // The attempt log.
    let deliveries: Value = app
        .get(
            &format!(
                "/v1/webhook-endpoints/{}/deliveries",
                endpoint["id"].as_str().unwrap()
            ),
            Some(&key),
        )
        .await
        .json()
        .await
        .unwrap();
    let rows = deliveries["data"].as_array().unwrap();
    assert_eq!(rows.len(), 4);
    assert!(
        rows.iter()
            .all(|d| d["state"] == "delivered" && d["attempts"] == 1)
    );
    let event_id = rows[0]["event_id"].as_str().unwrap();
    let attempts: Value = app
        .get(
            &format!(
                "/v1/webhook-endpoints/{}/deliveries/{event_id}",
                endpoint["id"].as_str().unwrap()
            ),
            Some(&key),
        )
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(attempts["data"][0]["status"], 200);
    assert_eq!(attempts["data"][0]["response_excerpt"], "thanks");

    // The queue's state and the attempts are in /metrics.
    let metrics = app.get("/metrics", None).await.text().await.unwrap();
    for name in [
        "webhook_attempts_total",
        "webhook_deliveries_pending",
        "webhook_oldest_due_seconds",
    ] {
        assert!(metrics.contains(name), "{name} missing from /metrics");
    }

    // A test delivery reaches this endpoint only, and verifies too.
    let response = app
        .client
        .post(app.url(&format!(
            "/v1/webhook-endpoints/{}/test",
            endpoint["id"].as_str().unwrap()
        )))
        .bearer_auth(&key)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::ACCEPTED);
    wait_until("the test delivery", async || {
        inbox.lock().unwrap().len() >= 5
    })
    .await;
    let received = inbox.lock().unwrap().clone();
    let (ok, said) = jwcrypto_verifies(dir.path(), &jwks, &received[4..]).await;
    assert!(ok && said.contains("webhook.test"), "{said}");

    // Another tenant sees none of it.
    let (_, other_key) = app.tenant_with_key().await;
    let theirs = app
        .get(
            &format!("/v1/webhook-endpoints/{}", endpoint["id"].as_str().unwrap()),
            Some(&other_key),
        )
        .await;
    assert_eq!(theirs.status(), StatusCode::NOT_FOUND);
    let listed: Value = app
        .get("/v1/webhook-endpoints", Some(&other_key))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(listed["data"], json!([]));
}

/// The JWS header of a delivery's `webhook-signature`.
fn signature_header(received: &Received) -> Value {
    let token = received.signature.trim_start_matches("v1jws,");
    let header = token.split('.').next().unwrap();
    serde_json::from_slice(&benteng_crypto::jose::b64url_decode(header).unwrap()).unwrap()
}

async fn an_es256_endpoint_s_deliveries_verify_with_the_published_p256_key(backend: Backend) {
    let app = TestApp::spawn_with(backend, webhook_config).await;
    let (base, inbox) = receiver().await;
    let (tenant, key) = app.tenant_with_key().await;
    let response = app
        .post_json(
            "/v1/webhook-endpoints",
            &key,
            &json!({"url": format!("{base}/hook"), "event_types": transfer_events(),
                    "alg": "ES256"}),
        )
        .await;
    assert_eq!(response.status(), StatusCode::CREATED);
    let endpoint: Value = response.json().await.unwrap();
    assert_eq!(endpoint["alg"], "ES256");

    let id = make_transfer(&app, &key, tenant.id).await;
    wait_for_status(&app, &key, &id, "COMPLETED").await;
    wait_until("four deliveries", async || inbox.lock().unwrap().len() >= 4).await;
    let received = inbox.lock().unwrap().clone();
    let jwks: Value = reqwest_public(&app, "/v1/.well-known/jwks.json")
        .await
        .json()
        .await
        .unwrap();
    let p256: Vec<&Value> = jwks["keys"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|k| k["kty"] == "EC")
        .collect();
    assert_eq!(p256.len(), 1, "{jwks}");
    assert_eq!(p256[0]["crv"], "P-256");
    assert_eq!(p256[0]["alg"], "ES256");
    assert!(p256[0].get("d").is_none(), "{jwks}");
    for delivery in &received {
        let header = signature_header(delivery);
        assert_eq!(header["alg"], "ES256", "{header}");
        assert_eq!(header["kid"], p256[0]["kid"], "{header}");
    }

    // The verifier is first seen to refuse: without the P-256 key, and with a changed body.
    let dir = tempfile::tempdir().unwrap();
    let rsa_only: Vec<&Value> = jwks["keys"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|k| k["kty"] == "RSA")
        .collect();
    let (ok, said) = jwcrypto_verifies(dir.path(), &json!({ "keys": rsa_only }), &received).await;
    assert!(!ok, "nothing verifies without the P-256 key: {said}");
    let mut tampered = received.clone();
    tampered[3].body = tampered[3].body.replace("COMPLETED", "FAILED");
    let (ok, said) = jwcrypto_verifies(dir.path(), &jwks, &tampered).await;
    assert!(!ok, "a tampered body must not verify: {said}");

    let (ok, said) = jwcrypto_verifies(dir.path(), &jwks, &received).await;
    assert!(ok, "{said}");
    assert_eq!(
        said.lines().filter(|l| l.starts_with("verified")).count(),
        4
    );

    // An unknown algorithm is refused by name, and stores nothing.
    let before = endpoint_count(&app).await;
    let response = app
        .post_json(
            "/v1/webhook-endpoints",
            &key,
            &json!({"url": format!("{base}/hook"), "event_types": ["*"], "alg": "HS256"}),
        )
        .await;
    assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let problem: Value = response.json().await.unwrap();
    assert_eq!(problem["errors"][0]["field"], "alg", "{problem}");
    assert_eq!(endpoint_count(&app).await, before);
}

/// A disabled endpoint is given no deliveries, and a transfer whose transaction rolled back
/// (refused for insufficient funds after its events were written) leaves no event at all.
async fn a_disabled_endpoint_and_a_rolled_back_transfer_send_nothing(backend: Backend) {
    let app = TestApp::spawn_with(backend, webhook_config).await;
    let (live_base, live_inbox) = receiver().await;
    let (off_base, off_inbox) = receiver().await;
    let (tenant, key) = app.tenant_with_key().await;
    let live = add_endpoint(&app, &key, &format!("{live_base}/hook"), json!(["*"])).await;
    assert_eq!(live.status(), StatusCode::CREATED);
    let off: Value = add_endpoint(&app, &key, &format!("{off_base}/hook"), json!(["*"]))
        .await
        .json()
        .await
        .unwrap();
    let off_id = off["id"].as_str().unwrap();
    let response = app
        .post_json(
            &format!("/v1/webhook-endpoints/{off_id}"),
            &key,
            &json!({"enabled": false}),
        )
        .await;
    assert_eq!(response.status(), StatusCode::OK);

    // More than the balance: refused when the reservation finds the funds short, after the
    // transfer, its history and its events were written in the same transaction.
    fund(&app, tenant.id, "1000.00", Currency::IDR).await;
    let recipient = recipient(&app, &key, IBAN).await;
    let q = quote(
        &app,
        &key,
        "source_currency=IDR&target_currency=EUR&source_amount=500000.00",
    )
    .await;
    let refused = app
        .post_json(
            "/v1/transfers",
            &key,
            &transfer_body(&q, &recipient, "INV-SHORT"),
        )
        .await;
    assert!(refused.status().is_client_error(), "{}", refused.status());
    fund(&app, tenant.id, "1000000.00", Currency::IDR).await;
    let q = quote(
        &app,
        &key,
        "source_currency=IDR&target_currency=EUR&source_amount=500000.00",
    )
    .await;
    let response = app
        .post_json(
            "/v1/transfers",
            &key,
            &transfer_body(&q, &recipient, "INV-PAID"),
        )
        .await;
    assert_eq!(response.status(), StatusCode::CREATED);
    let paid: Value = response.json().await.unwrap();
    let id = paid["id"].as_str().unwrap().to_owned();
    wait_for_status(&app, &key, &id, "COMPLETED").await;

    // The live endpoint's last event is the completed transfer's; deliveries go out in order
    // per object, so by then everything written before it has been delivered too.
    wait_until("the completed transfer's delivery", async || {
        live_inbox
            .lock()
            .unwrap()
            .iter()
            .any(|r| r.body.contains("transfer.completed"))
    })
    .await;
    let events: Vec<Value> = live_inbox
        .lock()
        .unwrap()
        .iter()
        .map(|r| serde_json::from_str(&r.body).unwrap())
        .collect();
    let transfers: std::collections::BTreeSet<&str> = events
        .iter()
        .filter(|e| e["event_type"].as_str().unwrap().starts_with("transfer."))
        .map(|e| e["data"]["id"].as_str().unwrap())
        .collect();
    assert_eq!(transfers, [id.as_str()].into(), "{events:?}");
    let created = app
        .services
        .store
        .webhook_events(tenant.id, None, 100)
        .await
        .unwrap()
        .iter()
        .filter(|(n, _)| n.event_type.as_str() == "transfer.created")
        .count();
    assert_eq!(
        created, 1,
        "the refused transfer's event was rolled back with it"
    );

    assert!(off_inbox.lock().unwrap().is_empty());
    let deliveries: Value = app
        .get(
            &format!("/v1/webhook-endpoints/{off_id}/deliveries"),
            Some(&key),
        )
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(deliveries["data"], json!([]), "{deliveries}");
}

/// A worker killed mid-attempt leaves its claims locked until they lapse (60 s), so that no
/// delivery is sent twice at once; but once they are older than any attempt can run, they no
/// longer take the endpoint's places in the throttle, and its other deliveries go on.
async fn a_dead_worker_s_claims_stop_holding_the_throttle_before_they_lapse(backend: Backend) {
    let clock = Arc::new(ManualClock::new(time::OffsetDateTime::now_utc()));
    // The server's own worker polls once at start and then hourly: this test runs its passes.
    let app = TestApp::spawn_with_clock(
        backend,
        |config| {
            webhook_config(config);
            config.webhooks.poll_interval_ms = 3_600_000;
            config.webhooks.per_endpoint_in_flight = 2;
        },
        clock.clone(),
    )
    .await;
    let worker = Arc::new(
        benteng_webhooks::DeliveryWorker::new(Arc::new(app.services.webhooks().unwrap())).unwrap(),
    );
    let (base, inbox) = receiver().await;
    let (tenant, key) = app.tenant_with_key().await;
    let endpoint: Value = add_endpoint(
        &app,
        &key,
        &format!("{base}/hook"),
        json!(["balance.credited", "transfer.created"]),
    )
    .await
    .json()
    .await
    .unwrap();
    let endpoint = endpoint["id"].as_str().unwrap().to_owned();
    fund(&app, tenant.id, "100.00", Currency::IDR).await;
    fund(&app, tenant.id, "100.00", Currency::USD).await;
    // A transfer: its transfer.created is another object's, free of the balances' order.
    let transfer = make_transfer(&app, &key, tenant.id).await;
    // The clock moves past every event's time; the balances' three deliveries were claimed
    // then by a worker that died: locked for the visibility timeout, no attempt recorded.
    let claimed_at = time::OffsetDateTime::now_utc() + time::Duration::seconds(1);
    clock.advance(claimed_at - benteng_core::clock::Clock::now(&*clock));
    // Stored times are microseconds since the epoch.
    let dead_until = claimed_at + time::Duration::seconds(60);
    let dead_until = i64::try_from(dead_until.unix_timestamp_nanos() / 1000).unwrap();
    let mut conn = app.raw_sql().await;
    let locked = sqlx::query(
        "UPDATE webhook_deliveries SET locked_until = $1, lock_token = 'dead-worker', \
         attempts = 1 WHERE endpoint_id = $2 AND state = 'pending' AND object_id <> $3",
    )
    .bind(dead_until)
    .bind(endpoint.clone())
    .bind(transfer.clone())
    .execute(&mut conn)
    .await
    .unwrap();
    assert_eq!(locked.rows_affected(), 3, "three fundings");

    // While the dead claims are young they hold the endpoint's places: nothing goes.
    assert_eq!(worker.clone().pass().await.unwrap(), 0);
    // Once they are older than an attempt can run (2 s request timeout, DNS 5 s, margin 5 s),
    // well before they lapse, the transfer's event goes; the dead ones stay locked.
    clock.advance(time::Duration::seconds(15));
    assert_eq!(worker.clone().pass().await.unwrap(), 1);
    let received = inbox.lock().unwrap().clone();
    assert_eq!(received.len(), 1, "{received:?}");
    assert!(received[0].body.contains(&transfer), "{}", received[0].body);
    assert!(received[0].body.contains("transfer.created"));
}

async fn reqwest_public(app: &TestApp, path: &str) -> reqwest::Response {
    app.get(path, None).await
}

async fn endpoint_count(app: &TestApp) -> i64 {
    use sqlx::Row;
    let mut conn = app.raw_sql().await;
    let row = sqlx::query("SELECT CAST(COUNT(*) AS BIGINT) AS n FROM webhook_endpoints")
        .fetch_one(&mut conn)
        .await
        .unwrap();
    row.try_get("n").unwrap()
}

async fn bad_endpoints_are_refused_and_store_nothing(backend: Backend) {
    // Production settings: https only, public addresses only.
    let app = TestApp::spawn(backend).await;
    let (_, key) = app.tenant_with_key().await;
    let long = format!("https://example.com/{}", "a".repeat(3000));
    let cases = [
        (json!("http://example.com/hook"), "invalid_url"),
        (json!("not a url"), "invalid_url"),
        (json!("https://user:secret@example.com/"), "invalid_url"),
        (json!(long), "too_long"),
        (json!("https://127.0.0.1/hook"), "not_public"),
        (json!("https://10.0.0.8/hook"), "not_public"),
        (
            json!("https://169.254.169.254/latest/meta-data"),
            "not_public",
        ),
        (json!("https://[::1]/hook"), "not_public"),
        (json!("https://100.64.1.1/hook"), "not_public"),
        (json!("https://localhost/hook"), "not_public"),
        (json!(42), "invalid_type"),
    ];
    for (url, code) in cases {
        let response = app
            .client
            .post(app.url("/v1/webhook-endpoints"))
            .bearer_auth(&key)
            .json(&json!({"url": url, "event_types": ["*"]}))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY, "{url}");
        assert_eq!(
            response.headers()["content-type"],
            "application/problem+json"
        );
        let problem: Value = response.json().await.unwrap();
        let errors = problem["errors"].as_array().unwrap();
        assert!(
            errors
                .iter()
                .any(|e| e["field"] == "url" && e["code"] == code),
            "{url}: {problem}"
        );
    }
    let response = app
        .client
        .post(app.url("/v1/webhook-endpoints"))
        .bearer_auth(&key)
        .json(&json!({"url": "https://example.com/", "event_types": ["transfer.exploded"], "extra": 1}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(endpoint_count(&app).await, 0);

    // The scope is required.
    let tenant = app.tenant(benteng_core::tenant::Tier::Growth).await;
    let narrow = app
        .key_with_scopes(tenant.id, benteng_core::scopes::Scopes::read_only())
        .await;
    let response = add_endpoint(&app, &narrow, "https://example.com/", json!(["*"])).await;
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
}

async fn receivers_that_misbehave_are_bounded_and_recorded(backend: Backend) {
    let app = TestApp::spawn_with(backend, webhook_config).await;
    let (base, _) = receiver().await;
    let slow = raw_receiver(RawMisbehaviour::DripStatusLine).await;
    let reset = raw_receiver(RawMisbehaviour::Reset).await;
    let (_, key) = app.tenant_with_key().await;
    let mut ids = Vec::new();
    for path in ["gone", "moved", "huge", "hang", "busy", "slow", "reset"] {
        let url = match path {
            "slow" => format!("{slow}/hook"),
            "reset" => format!("{reset}/hook"),
            _ => format!("{base}/{path}"),
        };
        let response = add_endpoint(&app, &key, &url, json!(["*"])).await;
        assert_eq!(response.status(), StatusCode::CREATED);
        let endpoint: Value = response.json().await.unwrap();
        let id = endpoint["id"].as_str().unwrap().to_owned();
        send_test(&app, &key, &id).await;
        ids.push((path, id));
    }
    for (path, id) in &ids {
        let mut attempt = Value::Null;
        wait_until(path, async || {
            let deliveries: Value = app
                .get(
                    &format!("/v1/webhook-endpoints/{id}/deliveries"),
                    Some(&key),
                )
                .await
                .json()
                .await
                .unwrap();
            let Some(event) = deliveries["data"][0]["event_id"].as_str() else {
                return false;
            };
            let attempts: Value = app
                .get(
                    &format!("/v1/webhook-endpoints/{id}/deliveries/{event}"),
                    Some(&key),
                )
                .await
                .json()
                .await
                .unwrap();
            attempt = attempts["data"][0].clone();
            !attempt.is_null()
        })
        .await;
        let excerpt = attempt["response_excerpt"].as_str().unwrap();
        assert!(excerpt.len() <= 2048, "{path}");
        match *path {
            "gone" => assert_eq!(attempt["status"], 410),
            "moved" => {
                assert_eq!(attempt["status"], 302);
                assert_eq!(attempt["outcome"], "redirect");
            }
            "huge" => {
                assert_eq!(attempt["status"], 200);
                assert_eq!(excerpt.len(), 2048);
            }
            "hang" => {
                assert_eq!(attempt["outcome"], "timeout", "{attempt}");
                assert!(attempt["latency_ms"].as_i64().unwrap() < 10_000);
            }
            "busy" => assert_eq!(attempt["status"], 429),
            "slow" => {
                // The status line trickles in a byte at a time: cut at the request timeout.
                assert_eq!(attempt["outcome"], "timeout", "{attempt}");
                assert!(attempt["status"].is_null());
                assert!(attempt["latency_ms"].as_i64().unwrap() < 10_000);
            }
            "reset" => {
                assert_eq!(attempt["outcome"], "connect_error", "{attempt}");
                assert!(attempt["status"].is_null());
                assert!(!attempt["error"].as_str().unwrap_or_default().is_empty());
            }
            _ => unreachable!(),
        }
    }
    // 410 disabled its endpoint; the others still pend a retry (the 429's at least 120 s on).
    let gone: Value = app
        .get(&format!("/v1/webhook-endpoints/{}", ids[0].1), Some(&key))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(gone["enabled"], false, "{gone}");
    let busy: Value = app
        .get(
            &format!("/v1/webhook-endpoints/{}/deliveries", ids[4].1),
            Some(&key),
        )
        .await
        .json()
        .await
        .unwrap();
    let delivery = &busy["data"][0];
    assert_eq!(delivery["state"], "pending");
    let next = time::OffsetDateTime::parse(
        delivery["next_attempt_at"].as_str().unwrap(),
        &time::format_description::well_known::Rfc3339,
    )
    .unwrap();
    assert!(next - time::OffsetDateTime::now_utc() > time::Duration::seconds(100));
}

async fn rotation_publishes_before_signing_and_keeps_the_old_key_14_days(backend: Backend) {
    let clock = Arc::new(ManualClock::new(time::OffsetDateTime::now_utc()));
    let app = TestApp::spawn_with_clock(backend, webhook_config, clock.clone()).await;
    let kids = async || -> Vec<String> {
        let jwks: Value = app
            .get("/v1/.well-known/jwks.json", None)
            .await
            .json()
            .await
            .unwrap();
        jwks["keys"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|k| k["alg"] == "RS256")
            .map(|k| k["kid"].as_str().unwrap().to_owned())
            .collect()
    };
    let jwks_now = async || -> Value {
        app.get("/v1/.well-known/jwks.json", None)
            .await
            .json()
            .await
            .unwrap()
    };
    // Real deliveries across the rotation, signed on the server's (moved) clock.
    let (base, inbox) = receiver().await;
    let (_, key) = app.tenant_with_key().await;
    let endpoint: Value = add_endpoint(&app, &key, &format!("{base}/hook"), json!(["*"]))
        .await
        .json()
        .await
        .unwrap();
    let endpoint = endpoint["id"].as_str().unwrap().to_owned();
    let deliver = async || -> Received {
        let before = inbox.lock().unwrap().len();
        send_test(&app, &key, &endpoint).await;
        wait_until("a test delivery", async || {
            inbox.lock().unwrap().len() > before
        })
        .await;
        inbox.lock().unwrap()[before].clone()
    };
    let dir = tempfile::tempdir().unwrap();
    let webhooks = app.services.webhooks().unwrap();
    let first = kids().await;
    assert_eq!(first.len(), 1, "the first key signs at once");
    let old_key = webhooks.keys.signer().await.unwrap();
    assert_eq!(old_key.kid, first[0]);
    let old_token = old_key
        .sign_compact(benteng_crypto::jws::JwsAlg::Rs256, 0, b"{}")
        .unwrap();

    // A rotation through the CLI's path: the new key is published at once, and does not sign.
    let (ok, out, err) = crate::harness::cli(
        app.environment(),
        &["keys", "rotate", "--purpose", "webhook"],
    )
    .await;
    assert!(ok, "{out}{err}");
    // The CLI's clock is the system's, a moment ahead of the server's standing one.
    clock.advance(time::Duration::minutes(1));
    let both = kids().await;
    assert_eq!(both.len(), 2, "{both:?}");
    let new_kid = both.iter().find(|k| **k != first[0]).unwrap().clone();
    assert_eq!(webhooks.keys.signer().await.unwrap().kid, first[0]);
    // What a receiver caches now, before the new key ever signed.
    let jwks_before_switch = jwks_now().await;
    let signed_by_old = deliver().await;
    let (ok, said) = jwcrypto_verifies(
        dir.path(),
        &jwks_before_switch,
        std::slice::from_ref(&signed_by_old),
    )
    .await;
    assert!(
        ok && said.contains(&format!("verified {} ", first[0])),
        "{said}"
    );

    // 13 days on: still the old key signs.
    clock.advance(time::Duration::days(13));
    assert_eq!(webhooks.keys.signer().await.unwrap().kid, first[0]);
    // 14 days on: the new key signs; the old one still verifies (it is in the JWKS).
    clock.advance(time::Duration::days(1) + time::Duration::minutes(1));
    assert_eq!(webhooks.keys.signer().await.unwrap().kid, new_kid);
    // The new key's first signature verifies with the set fetched before it signed.
    let signed_by_new = deliver().await;
    let (ok, said) = jwcrypto_verifies(
        dir.path(),
        &jwks_before_switch,
        std::slice::from_ref(&signed_by_new),
    )
    .await;
    assert!(
        ok && said.contains(&format!("verified {new_kid} ")),
        "{said}"
    );
    let jwks: Value = app
        .get("/v1/.well-known/jwks.json", None)
        .await
        .json()
        .await
        .unwrap();
    let old_jwk = jwks["keys"]
        .as_array()
        .unwrap()
        .iter()
        .find(|k| k["kid"] == first[0].as_str())
        .expect("the old key stays published")
        .clone();
    benteng_crypto::jws::verify_compact(
        &old_token,
        old_jwk["n"].as_str().unwrap(),
        old_jwk["e"].as_str().unwrap(),
    )
    .unwrap();
    // 13 more days: still published, the old key's delivery still verifies with today's set;
    // 14: gone, and it no longer does (the new key's still does).
    clock.advance(time::Duration::days(13));
    assert_eq!(kids().await.len(), 2);
    let (ok, said) = jwcrypto_verifies(
        dir.path(),
        &jwks_now().await,
        std::slice::from_ref(&signed_by_old),
    )
    .await;
    assert!(ok, "{said}");
    clock.advance(time::Duration::days(1));
    assert_eq!(kids().await, std::slice::from_ref(&new_kid));
    let jwks_after = jwks_now().await;
    let (ok, said) = jwcrypto_verifies(
        dir.path(),
        &jwks_after,
        std::slice::from_ref(&signed_by_old),
    )
    .await;
    assert!(!ok, "the retired key must not verify any more: {said}");
    let (ok, said) = jwcrypto_verifies(
        dir.path(),
        &jwks_after,
        std::slice::from_ref(&signed_by_new),
    )
    .await;
    assert!(ok, "{said}");

    let (ok, out, _) = crate::harness::cli(app.environment(), &["keys", "status"]).await;
    assert!(ok);
    assert!(out.contains(&new_kid), "{out}");
}

/// The receiver answers 503 while a transfer runs its course; the deliveries back off. Time is
/// moved (the server's clock), the receiver comes back, and every event arrives, once per
/// event id, each object's in sequence.
async fn a_receiver_that_was_down_gets_everything_in_order_when_back(backend: Backend) {
    let clock = Arc::new(ManualClock::new(time::OffsetDateTime::now_utc()));
    let app = TestApp::spawn_with_clock(backend, webhook_config, clock.clone()).await;
    let (base, inbox) = receiver().await;
    let (tenant, key) = app.tenant_with_key().await;
    let response = add_endpoint(&app, &key, &format!("{base}/hook"), transfer_events()).await;
    assert_eq!(response.status(), StatusCode::CREATED);
    let endpoint: Value = response.json().await.unwrap();
    let endpoint = endpoint["id"].as_str().unwrap().to_owned();

    DOWN.store(true, std::sync::atomic::Ordering::SeqCst);
    let first = make_transfer_with(&app, &key, tenant.id, "DOWN-TEST-1", IBAN).await;
    let second = make_transfer_with(
        &app,
        &key,
        tenant.id,
        "DOWN-TEST-2",
        "GB82WEST12345698765432",
    )
    .await;
    // The rail settles on the server's clock: move it until both completed, still down.
    for _ in 0..200 {
        clock.advance(time::Duration::seconds(1));
        tokio::time::sleep(Duration::from_millis(20)).await;
        let done = app
            .services
            .store
            .webhook_events(tenant.id, None, 100)
            .await
            .unwrap();
        if done
            .iter()
            .filter(|(n, _)| n.event_type.as_str() == "transfer.completed")
            .count()
            == 2
        {
            break;
        }
    }
    let failed_attempts: Value = app
        .get(
            &format!("/v1/webhook-endpoints/{endpoint}/deliveries"),
            Some(&key),
        )
        .await
        .json()
        .await
        .unwrap();
    assert!(
        failed_attempts["data"]
            .as_array()
            .unwrap()
            .iter()
            .all(|d| d["state"] == "pending"),
        "{failed_attempts}"
    );
    assert!(
        inbox
            .lock()
            .unwrap()
            .iter()
            .all(|r| !r.body.contains("DOWN-TEST"))
    );
    wait_until("a refused attempt", async || {
        let deliveries: Value = app
            .get(
                &format!("/v1/webhook-endpoints/{endpoint}/deliveries"),
                Some(&key),
            )
            .await
            .json()
            .await
            .unwrap();
        deliveries["data"]
            .as_array()
            .unwrap()
            .iter()
            .any(|d| d["last_status"] == 503 && d["state"] == "pending")
    })
    .await;

    DOWN.store(false, std::sync::atomic::Ordering::SeqCst);
    let started = Instant::now();
    loop {
        let got = inbox
            .lock()
            .unwrap()
            .iter()
            .filter(|r| r.body.contains("DOWN-TEST"))
            .count();
        if got >= 8 {
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "only {got} of 8 arrived"
        );
        clock.advance(time::Duration::minutes(2));
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let received: Vec<Value> = inbox
        .lock()
        .unwrap()
        .iter()
        .filter(|r| r.body.contains("DOWN-TEST"))
        .map(|r| serde_json::from_str(&r.body).unwrap())
        .collect();
    let mut ids: Vec<&str> = received
        .iter()
        .map(|e| e["event_id"].as_str().unwrap())
        .collect();
    ids.sort_unstable();
    ids.dedup();
    assert_eq!(ids.len(), 8, "each event once");
    for transfer in [&first, &second] {
        let sequence: Vec<i64> = received
            .iter()
            .filter(|e| e["data"]["id"] == transfer.as_str())
            .map(|e| e["data"]["sequence"].as_i64().unwrap())
            .collect();
        assert_eq!(sequence, [1, 2, 3, 4], "{transfer}");
    }
}

/// An endpoint added after a transfer replays its events; one event is resent with its event id
/// unchanged; another tenant can do neither.
async fn replay_and_resend_reach_only_the_tenants_own_endpoint(backend: Backend) {
    let app = TestApp::spawn_with(backend, webhook_config).await;
    let (base, inbox) = receiver().await;
    let (tenant, key) = app.tenant_with_key().await;
    let before = time::OffsetDateTime::now_utc() - time::Duration::minutes(1);
    let id = make_transfer(&app, &key, tenant.id).await;
    wait_for_status(&app, &key, &id, "COMPLETED").await;
    let response = add_endpoint(&app, &key, &format!("{base}/hook"), transfer_events()).await;
    let endpoint: Value = response.json().await.unwrap();
    let endpoint = endpoint["id"].as_str().unwrap().to_owned();
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(
        inbox.lock().unwrap().is_empty(),
        "nothing from before it existed"
    );

    let since = before
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap();
    let (_, other_key) = app.tenant_with_key().await;
    let path = format!("/v1/webhook-endpoints/{endpoint}/replay");
    let refused = app
        .client
        .post(app.url(&path))
        .bearer_auth(&other_key)
        .json(&json!({"since": since}))
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), StatusCode::NOT_FOUND);
    let bad = app
        .client
        .post(app.url(&path))
        .bearer_auth(&key)
        .json(&json!({"since": "yesterday"}))
        .send()
        .await
        .unwrap();
    assert_eq!(bad.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let replayed = app
        .client
        .post(app.url(&path))
        .bearer_auth(&key)
        .json(&json!({"since": since}))
        .send()
        .await
        .unwrap();
    assert_eq!(replayed.status(), StatusCode::ACCEPTED);
    let replayed: Value = replayed.json().await.unwrap();
    assert_eq!(replayed["queued"], 4);
    wait_until("the replay", async || inbox.lock().unwrap().len() >= 4).await;
    let received = inbox.lock().unwrap().clone();
    let sequence: Vec<i64> = received
        .iter()
        .map(|r| {
            serde_json::from_str::<Value>(&r.body).unwrap()["data"]["sequence"]
                .as_i64()
                .unwrap()
        })
        .collect();
    assert_eq!(sequence, [1, 2, 3, 4]);

    let last = received[3].id.clone();
    let resend = format!("/v1/webhook-endpoints/{endpoint}/deliveries/{last}/resend");
    let refused = app
        .client
        .post(app.url(&resend))
        .bearer_auth(&other_key)
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), StatusCode::NOT_FOUND);
    let resent = app
        .client
        .post(app.url(&resend))
        .bearer_auth(&key)
        .send()
        .await
        .unwrap();
    assert_eq!(resent.status(), StatusCode::ACCEPTED);
    wait_until("the resend", async || inbox.lock().unwrap().len() >= 5).await;
    let again = inbox.lock().unwrap()[4].clone();
    assert_eq!(
        again.id, last,
        "a duplicate is recognisable by its event id"
    );
    assert_eq!(again.body, received[3].body);
}

async fn an_endpoint_failing_for_five_days_is_disabled(backend: Backend) {
    let clock = Arc::new(ManualClock::new(time::OffsetDateTime::now_utc()));
    let app = TestApp::spawn_with_clock(backend, webhook_config, clock.clone()).await;
    let (base, _) = receiver().await;
    let (tenant, key) = app.tenant_with_key().await;
    let response = add_endpoint(&app, &key, &format!("{base}/busy"), json!(["*"])).await;
    let endpoint: Value = response.json().await.unwrap();
    let endpoint = endpoint["id"].as_str().unwrap().to_owned();
    // Finished attempts (recorded in the log), not claims: a claim counts as an attempt as soon
    // as it is taken, and the clock must not move under an attempt still running.
    let attempts = async || -> i64 {
        let deliveries: Value = app
            .get(
                &format!("/v1/webhook-endpoints/{endpoint}/deliveries"),
                Some(&key),
            )
            .await
            .json()
            .await
            .unwrap();
        let Some(event) = deliveries["data"][0]["event_id"].as_str() else {
            return 0;
        };
        let log: Value = app
            .get(
                &format!("/v1/webhook-endpoints/{endpoint}/deliveries/{event}"),
                Some(&key),
            )
            .await
            .json()
            .await
            .unwrap();
        log["data"].as_array().map_or(0, |a| a.len() as i64)
    };
    let enabled = async || -> Value {
        app.get(&format!("/v1/webhook-endpoints/{endpoint}"), Some(&key))
            .await
            .json()
            .await
            .unwrap()
    };
    send_test(&app, &key, &endpoint).await;
    wait_until("the first failure", async || attempts().await >= 1).await;
    // Four days of failures (the delivery's second attempt): still enabled.
    clock.advance(time::Duration::days(4));
    wait_until("the second failure", async || attempts().await >= 2).await;
    assert_eq!(enabled().await["enabled"], true);
    // Past five days: the next failure disables it, with its reason.
    clock.advance(time::Duration::days(1) + time::Duration::hours(1));
    wait_until("the disabling", async || {
        enabled().await["enabled"] == false
    })
    .await;
    let shown = enabled().await;
    assert_eq!(attempts().await, 3);
    assert!(
        shown["disabled_reason"]
            .as_str()
            .unwrap()
            .starts_with("every attempt failed since"),
        "{shown}"
    );
    // The tenant is told: an event (for its other endpoints) and a notice it can read.
    let told = app
        .services
        .store
        .webhook_events(tenant.id, Some(&endpoint), 10)
        .await
        .unwrap();
    let disabled: Vec<&Value> = told
        .iter()
        .filter(|(n, _)| n.event_type.as_str() == "webhook_endpoint.disabled")
        .map(|(n, _)| &n.data)
        .collect();
    assert_eq!(disabled.len(), 1, "{told:?}");
    assert_eq!(disabled[0]["reason"], shown["disabled_reason"]);
    let notices: Value = app
        .get("/v1/notices", Some(&key))
        .await
        .json()
        .await
        .unwrap();
    let notices = notices["data"].as_array().unwrap();
    assert_eq!(notices.len(), 1, "{notices:?}");
    assert!(notices[0]["subject"].as_str().unwrap().contains("/busy"));
    assert!(notices[0]["body"].as_str().unwrap().contains(&endpoint));
    let (_, other_key) = app.tenant_with_key().await;
    let theirs: Value = app
        .get("/v1/notices", Some(&other_key))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(theirs["data"], json!([]));
}

/// A receiver for several endpoints (`/hook/{name}`) that records every request as it
/// arrives, answers the first `answer_first` with 200 and holds every later one until
/// `release`d: a delivery held when its sender dies is one the sender never recorded.
struct HoldingReceiver {
    base: String,
    arrivals: Arc<Mutex<Vec<(String, Received)>>>,
    released: Arc<std::sync::atomic::AtomicBool>,
}

impl HoldingReceiver {
    async fn start(answer_first: usize) -> Self {
        use std::sync::atomic::{AtomicBool, Ordering};
        let arrivals: Arc<Mutex<Vec<(String, Received)>>> = Arc::default();
        let released = Arc::new(AtomicBool::new(false));
        let (record, open) = (arrivals.clone(), released.clone());
        let app = axum::Router::new().route(
            "/hook/{name}",
            post(
                move |axum::extract::Path(name): axum::extract::Path<String>,
                      headers: HeaderMap,
                      body: String| {
                    let (record, open) = (record.clone(), open.clone());
                    async move {
                        let get = |header: &str| {
                            headers
                                .get(header)
                                .and_then(|v| v.to_str().ok())
                                .unwrap_or_default()
                                .to_owned()
                        };
                        let arrived = {
                            let mut arrivals = record.lock().unwrap();
                            arrivals.push((
                                name,
                                Received {
                                    id: get("webhook-id"),
                                    timestamp: get("webhook-timestamp"),
                                    signature: get("webhook-signature"),
                                    body,
                                },
                            ));
                            arrivals.len()
                        };
                        while arrived > answer_first && !open.load(Ordering::SeqCst) {
                            tokio::time::sleep(Duration::from_millis(20)).await;
                        }
                        (AxumStatus::OK, "thanks")
                    }
                },
            ),
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let address = listener.local_addr().unwrap();
        tokio::spawn(async move { axum::serve(listener, app).await });
        Self {
            base: format!("http://{address}"),
            arrivals,
            released,
        }
    }

    fn arrivals(&self) -> Vec<(String, Received)> {
        self.arrivals.lock().unwrap().clone()
    }

    fn release(&self) {
        self.released
            .store(true, std::sync::atomic::Ordering::SeqCst);
    }
}

/// Two real `benteng` processes on one PostgreSQL + Redis. The first delivers alone until the
/// receiver holds deliveries it has received but not yet answered, and is then killed with
/// SIGKILL; a second instance takes the dead one's claims up once they lapse. No event is
/// lost; the ones the first instance sent but never recorded arrive again under the same
/// `event_id` with the same body; each object's events arrive in sequence; everything verifies
/// with jwcrypto against the JWKS the surviving instance publishes.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kill_9_of_the_delivering_instance_loses_no_event() {
    use crate::harness::{Environment, Process, cli};
    const ENDPOINTS: [&str; 3] = ["a", "b", "c"];
    const EVENTS_EACH: usize = 8;

    let env = Environment::new(Backend::Postgres).await;
    let config = env.data_dir.path().join("webhooks.toml");
    std::fs::write(
        &config,
        "[webhooks]\nallow_private = [\"127.0.0.0/8\"]\nallow_http = true\n\
         poll_interval_ms = 50\nrequest_timeout_secs = 5\nvisibility_timeout_secs = 1\n",
    )
    .unwrap();
    let config = config.display().to_string();
    let settings = [("BENTENG_CONFIG", config.as_str())];
    let (ok, tenant, err) = cli(
        &env,
        &[
            "tenant",
            "create",
            "--name",
            "PT Tahan Banting",
            "--tier",
            "enterprise",
        ],
    )
    .await;
    assert!(ok, "{err}");
    let (ok, key, err) = cli(&env, &["apikey", "issue", "--tenant", tenant.trim()]).await;
    assert!(ok, "{err}");
    let key = key.trim().to_owned();
    let receiver = HoldingReceiver::start(6).await;

    let mut first = Process::serve_with(&env, &settings).await;
    let client = env.client();
    let mut queued: Vec<(&str, String)> = Vec::new();
    let mut endpoint_ids = Vec::new();
    for name in ENDPOINTS {
        let response = client
            .post(first.url("/v1/webhook-endpoints"))
            .bearer_auth(&key)
            .json(&json!({"url": format!("{}/hook/{name}", receiver.base), "event_types": ["*"]}))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::CREATED);
        let endpoint: Value = response.json().await.unwrap();
        endpoint_ids.push(endpoint["id"].as_str().unwrap().to_owned());
    }
    for _ in 0..EVENTS_EACH {
        for (name, id) in ENDPOINTS.iter().zip(&endpoint_ids) {
            let response = client
                .post(first.url(&format!("/v1/webhook-endpoints/{id}/test")))
                .bearer_auth(&key)
                .send()
                .await
                .unwrap();
            assert_eq!(response.status(), StatusCode::ACCEPTED);
            let event: Value = response.json().await.unwrap();
            queued.push((*name, event["event_id"].as_str().unwrap().to_owned()));
        }
    }

    // The first instance is mid-run: six deliveries answered, more received and held.
    wait_until("deliveries held in flight", async || {
        receiver.arrivals().len() > 6
    })
    .await;
    first.kill().await;
    let sent_by_the_dead = receiver.arrivals().len();
    receiver.release();
    assert!(
        sent_by_the_dead < queued.len(),
        "the first instance must die with events left to deliver"
    );

    let second = Process::serve_with(&env, &settings).await;
    let started = Instant::now();
    loop {
        let mut delivered = 0;
        for id in &endpoint_ids {
            let deliveries: Value = client
                .get(second.url(&format!("/v1/webhook-endpoints/{id}/deliveries")))
                .bearer_auth(&key)
                .send()
                .await
                .unwrap()
                .json()
                .await
                .unwrap();
            delivered += deliveries["data"]
                .as_array()
                .unwrap()
                .iter()
                .filter(|d| d["state"] == "delivered")
                .count();
        }
        if delivered == queued.len() {
            break;
        }
        // The dead instance's claims lapse after the visibility timeout (20 s here).
        assert!(
            started.elapsed() < Duration::from_secs(90),
            "only {delivered} of {} delivered",
            queued.len()
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }

    let arrivals = receiver.arrivals();
    // Nothing lost: every queued event arrived, at the endpoint it was queued for.
    for (name, event) in &queued {
        assert!(
            arrivals.iter().any(|(n, r)| n == name && r.id == *event),
            "event {event} for {name} never arrived"
        );
    }
    // Duplicates exist (the held deliveries) and are recognisable: same event_id, same body.
    let mut duplicated = 0;
    for (i, (_, r)) in arrivals.iter().enumerate() {
        let body: Value = serde_json::from_str(&r.body).unwrap();
        assert_eq!(body["event_id"], r.id.as_str());
        if let Some((_, earlier)) = arrivals[..i].iter().find(|(_, e)| e.id == r.id) {
            assert_eq!(earlier.body, r.body, "a duplicate carries the same event");
            duplicated += 1;
        }
    }
    assert!(
        duplicated >= 1,
        "a delivery held when its sender died arrives again"
    );
    assert!(arrivals.len() >= queued.len() + duplicated);
    // Per-object order: each endpoint's test events (one object) arrive with their sequence
    // never going back, duplicates included, and every number from 1 to the last.
    for name in ENDPOINTS {
        let sequence: Vec<i64> = arrivals
            .iter()
            .filter(|(n, _)| n == name)
            .map(|(_, r)| {
                serde_json::from_str::<Value>(&r.body).unwrap()["data"]["sequence"]
                    .as_i64()
                    .unwrap()
            })
            .collect();
        assert!(
            sequence.windows(2).all(|w| w[0] <= w[1]),
            "{name}: {sequence:?}"
        );
        let mut distinct = sequence.clone();
        distinct.dedup();
        assert_eq!(
            distinct,
            (1..=EVENTS_EACH as i64).collect::<Vec<_>>(),
            "{name}"
        );
    }
    // Both instances' signatures verify with the JWKS alone.
    let jwks: Value = client
        .get(second.url("/v1/.well-known/jwks.json"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let received: Vec<Received> = arrivals.into_iter().map(|(_, r)| r).collect();
    let dir = tempfile::tempdir().unwrap();
    let mut tampered = received.clone();
    tampered[0].body = tampered[0].body.replace("test delivery", "paid delivery");
    let (ok, said) = jwcrypto_verifies(dir.path(), &jwks, &tampered).await;
    assert!(!ok, "a tampered body must not verify: {said}");
    let (ok, said) = jwcrypto_verifies(dir.path(), &jwks, &received).await;
    assert!(ok, "{said}");
}

/// The events besides a transfer's happy path, each in the outbox with its change: a batch's
/// transfers failing, completing and being returned, then `batch.finished` once; fundings
/// (`balance.credited`, numbered per balance); a transfer held for review (which says
/// nothing of why); an API key about to expire (told once).
async fn every_event_type_is_written_with_its_change(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let (tenant, key) = app.tenant_with_key().await;
    let events = async |object: Option<&str>| -> Vec<(String, i64, Value)> {
        let mut events = app
            .services
            .store
            .webhook_events(tenant.id, object, 500)
            .await
            .unwrap();
        events.reverse();
        events
            .into_iter()
            .map(|(n, s)| (n.event_type.as_str().to_owned(), s, n.payload(s)))
            .collect()
    };

    // Two fundings of one balance: two credits, in sequence.
    fund(&app, tenant.id, "1000000.00", Currency::IDR).await;
    fund(&app, tenant.id, "250000.00", Currency::IDR).await;
    let credits: Vec<(String, i64, Value)> = events(None)
        .await
        .into_iter()
        .filter(|(t, _, _)| t == "balance.credited")
        .collect();
    assert_eq!(credits.len(), 2);
    assert_eq!(credits[0].2["data"]["object"], "balance");
    assert_eq!(credits[0].2["data"]["id"], credits[1].2["data"]["id"]);
    assert_eq!((credits[0].1, credits[1].1), (1, 2));
    assert_eq!(credits[1].2["data"]["credited"]["amount"], "250000.00");
    assert_eq!(credits[1].2["data"]["credited"]["currency"], "IDR");

    // A batch of three: one fails, one completes, one completes and is returned.
    let recipient = recipient(&app, &key, IBAN).await;
    let mut items = Vec::new();
    for reference in ["batch-FAIL", "batch-ok", "batch-RETURN"] {
        let q = quote(
            &app,
            &key,
            "source_currency=IDR&target_currency=EUR&source_amount=100000.00",
        )
        .await;
        items.push(transfer_body(&q, &recipient, reference));
    }
    let response = app
        .post_json("/v1/batches", &key, &json!({"transfers": items}))
        .await;
    assert_eq!(response.status(), StatusCode::CREATED);
    let batch: Value = response.json().await.unwrap();
    let batch_id = batch["id"].as_str().unwrap().to_owned();
    let ids: Vec<String> = batch["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["transfer_id"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(ids.len(), 3, "{batch}");
    wait_for_status(&app, &key, &ids[0], "FAILED").await;
    wait_for_status(&app, &key, &ids[1], "COMPLETED").await;
    wait_for_status(&app, &key, &ids[2], "RETURNED").await;
    let failed: Vec<String> = events(Some(&ids[0]))
        .await
        .into_iter()
        .map(|e| e.0)
        .collect();
    assert_eq!(
        failed,
        [
            "transfer.created",
            "transfer.approved",
            "transfer.submitted",
            "transfer.failed"
        ]
    );
    let returned: Vec<(String, i64)> = events(Some(&ids[2]))
        .await
        .into_iter()
        .map(|e| (e.0, e.1))
        .collect();
    assert_eq!(
        returned.last().unwrap(),
        &("transfer.returned".to_owned(), 5),
        "{returned:?}"
    );
    let finished = events(Some(&batch_id)).await;
    assert_eq!(finished.len(), 1, "once per batch: {finished:?}");
    let (event_type, sequence, payload) = &finished[0];
    assert_eq!((event_type.as_str(), *sequence), ("batch.finished", 1));
    assert_eq!(payload["data"]["object"], "batch");
    assert_eq!(payload["data"]["transfers"], 3);
    let by_status = payload["data"]["by_status"].as_object().unwrap();
    assert_eq!(
        by_status.values().map(|v| v.as_i64().unwrap()).sum::<i64>(),
        3
    );
    assert!(
        by_status
            .keys()
            .all(|s| ["COMPLETED", "FAILED", "RETURNED"].contains(&s.as_str())),
        "{by_status:?}"
    );

    // Held for review: the event says it is held, never why.
    let response = app
        .client
        .post(app.url("/v1/recipients"))
        .bearer_auth(&key)
        .json(
            &json!({"type": "business", "name": "Tehran Trading Co", "country": "IR",
                      "bank_account": {"iban": "GB82WEST12345698765432"}}),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::CREATED);
    let risky: Value = response.json().await.unwrap();
    let q = quote(
        &app,
        &key,
        "source_currency=IDR&target_currency=EUR&source_amount=100000.00",
    )
    .await;
    let response = app
        .post_json(
            "/v1/transfers",
            &key,
            &transfer_body(&q, risky["id"].as_str().unwrap(), "INV-IR"),
        )
        .await;
    assert_eq!(response.status(), StatusCode::CREATED);
    let held: Value = response.json().await.unwrap();
    assert_eq!(held["status"], "PENDING_REVIEW", "{held}");
    let held_events = events(held["id"].as_str()).await;
    let kinds: Vec<&str> = held_events.iter().map(|e| e.0.as_str()).collect();
    assert_eq!(kinds, ["transfer.created", "transfer.held_for_review"]);
    let text = held_events[1].2.to_string().to_lowercase();
    for hint in [
        "risk",
        "score",
        "reason",
        "fatf",
        "country_risk",
        "screening",
    ] {
        assert!(!text.contains(hint), "{hint} in {text}");
    }

    // An API key expiring in three days is told once; one expiring in thirty is not yet.
    let issue = async |days: i64| {
        app.services
            .api_keys
            .issue(
                tenant.id,
                benteng_core::api_key::KeyEnvironment::Live,
                Some(time::Duration::days(days)),
                benteng_core::scopes::Scopes::all(),
                benteng_core::network::NetworkAllowList::any(),
                &benteng_core::audit::AuditContext::system("test"),
            )
            .await
            .unwrap()
            .record
            .id
            .to_string()
    };
    let soon = issue(3).await;
    let later = issue(30).await;
    let webhooks = app.services.webhooks().unwrap();
    webhooks.notice_expiring_keys().await.unwrap();
    assert_eq!(webhooks.notice_expiring_keys().await.unwrap(), 0, "once");
    let told = events(Some(&soon)).await;
    assert_eq!(told.len(), 1);
    assert_eq!(told[0].0, "api_key.expiring");
    assert!(told[0].2["data"]["expires_at"].is_string());
    assert!(events(Some(&later)).await.is_empty());
}

/// The per-endpoint throttle: five events of five objects (one funding per currency) are due
/// at once for one endpoint; with `per_endpoint_in_flight = 2` the receiver, which holds each
/// request a while, never has more than two open, and gets all five.
async fn an_endpoint_never_has_more_than_its_throttle_in_flight(backend: Backend) {
    use std::sync::atomic::{AtomicUsize, Ordering};
    let app = TestApp::spawn_with(backend, |config| {
        webhook_config(config);
        config.webhooks.per_endpoint_in_flight = 2;
    })
    .await;
    let open = Arc::new(AtomicUsize::new(0));
    let most = Arc::new(AtomicUsize::new(0));
    let got = Arc::new(AtomicUsize::new(0));
    let (o, m, g) = (open.clone(), most.clone(), got.clone());
    let slow = axum::Router::new().route(
        "/hook",
        post(move || {
            let (open, most, got) = (o.clone(), m.clone(), g.clone());
            async move {
                let now = open.fetch_add(1, Ordering::SeqCst) + 1;
                most.fetch_max(now, Ordering::SeqCst);
                tokio::time::sleep(Duration::from_millis(300)).await;
                open.fetch_sub(1, Ordering::SeqCst);
                got.fetch_add(1, Ordering::SeqCst);
                "ok"
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, slow).await });
    let (tenant, key) = app.tenant_with_key().await;
    let response = add_endpoint(
        &app,
        &key,
        &format!("http://{address}/hook"),
        json!(["balance.credited"]),
    )
    .await;
    assert_eq!(response.status(), StatusCode::CREATED);
    for (amount, currency) in [
        ("100.00", Currency::IDR),
        ("100.00", Currency::USD),
        ("100.00", Currency::EUR),
        ("100.00", Currency::GBP),
        ("1000", Currency::JPY),
    ] {
        fund(&app, tenant.id, amount, currency).await;
    }
    wait_until("five deliveries", async || got.load(Ordering::SeqCst) >= 5).await;
    let most = most.load(Ordering::SeqCst);
    assert!(
        most <= 2,
        "{most} deliveries were in flight to one endpoint"
    );
}
