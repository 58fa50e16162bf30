//! Webhooks: the outbox written with each change, endpoints, signed deliveries verified by an
//! independent library (Python `jwcrypto`) with only the JWKS benteng publishes, key rotation.

use benteng_core::currency::Currency;
use reqwest::StatusCode;
use serde_json::Value;

use crate::harness::{Backend, TestApp, on_both_backends};
use crate::payments::{fund, quote, recipient, transfer_body, wait_for_status};

on_both_backends!(a_transfers_events_are_in_the_outbox_in_order,);

const IBAN: &str = "DE89370400440532013000";

/// A funded tenant's transfer, created through the API; returns its id.
pub async fn make_transfer(
    app: &TestApp,
    key: &str,
    tenant: benteng_core::ids::TenantId,
) -> String {
    fund(app, tenant, "1000000.00", Currency::IDR).await;
    let recipient = recipient(app, key, IBAN).await;
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
            &transfer_body(&q, &recipient, "INV-1"),
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
