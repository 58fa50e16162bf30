//! API keys restricted to source networks (CIDR allow-lists): checked by the one
//! `Authenticator` against the connection's address, on the cached path too, changed live with
//! the CLI.

use std::net::{IpAddr, Ipv4Addr};
use std::time::{Duration, Instant};

use benteng_core::currency::Currency;
use reqwest::StatusCode;
use serde_json::Value;

use crate::harness::{Backend, Environment, TestApp, cli, cli_with_env, on_both_backends};
use crate::payments::{fund, quote, recipient, transfer_body};

on_both_backends!(
    a_key_restricted_to_loopback_works_from_loopback,
    a_key_from_another_network_is_refused_and_nothing_is_stored,
    the_address_is_the_connections_not_a_forwarded_header,
    the_cli_changes_a_live_keys_networks_on_a_running_server,
    bad_networks_on_the_cli_are_refused_and_change_nothing,
);

const IBAN: &str = "DE89370400440532013000";

/// Asserts a 403 `network-not-allowed` problem that names neither the key's networks nor the
/// address seen.
async fn assert_network_not_allowed(response: reqwest::Response) {
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    assert_eq!(
        response.headers()["content-type"],
        "application/problem+json"
    );
    let body: Value = response.json().await.unwrap();
    assert_eq!(
        body["type"],
        "https://benteng.dev/problems/network-not-allowed"
    );
    assert_eq!(body["title"], "Network not allowed");
    let detail = body["detail"].as_str().unwrap();
    assert!(detail.contains("network"), "{detail}");
    assert!(!detail.contains("10.0.0.0"), "{detail}");
    assert!(!detail.contains("127.0.0.1"), "{detail}");
}

/// A client of `app` whose connections come from `local` (any 127/8 address is loopback on
/// Linux, so this is a client address other than 127.0.0.1 without a proxy).
fn client_from(app: &TestApp, local: Ipv4Addr) -> reqwest::Client {
    crate::harness::client_builder(&app.env.dev_certs().ca_cert)
        .local_address(IpAddr::V4(local))
        .build()
        .unwrap()
}

async fn tenant_status(client: &reqwest::Client, app: &TestApp, key: &str) -> StatusCode {
    client
        .get(app.url("/v1/tenant"))
        .bearer_auth(key)
        .send()
        .await
        .unwrap()
        .status()
}

async fn transfer_count(app: &TestApp, key: &str) -> usize {
    let response = app.get("/v1/transfers", Some(key)).await;
    assert_eq!(response.status(), StatusCode::OK);
    let body: Value = response.json().await.unwrap();
    body["data"].as_array().unwrap().len()
}

/// Every audit event, for tests that look for ones without a tenant (refused authentications).
async fn all_events(app: &TestApp) -> Vec<Value> {
    app.services
        .store
        .audit_documents(None, None, 0, i64::MAX, None, 10_000)
        .await
        .unwrap()
        .items
        .iter()
        .map(|document| serde_json::from_str(document).unwrap())
        .collect()
}

async fn a_key_restricted_to_loopback_works_from_loopback(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let tenant = app.tenant(benteng_core::tenant::Tier::Growth).await;
    let loopback = app.key_with_networks(tenant.id, "127.0.0.0/8").await;
    // The first from the database, the second from this instance's key cache.
    for _ in 0..2 {
        assert_eq!(
            tenant_status(&app.client, &app, &loopback).await,
            StatusCode::OK
        );
    }

    // A single host other than 127.0.0.1: only a client connecting from it gets in.
    let host = app.key_with_networks(tenant.id, "127.0.0.2").await;
    let from_host = client_from(&app, Ipv4Addr::new(127, 0, 0, 2));
    for _ in 0..2 {
        assert_eq!(tenant_status(&from_host, &app, &host).await, StatusCode::OK);
        let refused = app.get("/v1/tenant", Some(&host)).await;
        assert_network_not_allowed(refused).await;
    }
    // And a list of several, IPv6 among them, matches on any entry.
    let listed = app
        .key_with_networks(tenant.id, "2001:db8::/32 127.0.0.2/32 192.0.2.0/24")
        .await;
    assert_eq!(
        tenant_status(&from_host, &app, &listed).await,
        StatusCode::OK
    );
    assert_eq!(
        tenant_status(&app.client, &app, &listed).await,
        StatusCode::FORBIDDEN
    );

    // The issue is on record with the key's networks.
    let issued: Vec<String> = all_events(&app)
        .await
        .iter()
        .filter(|e| e["event_type"] == "api_key.issued")
        .filter_map(|e| e["changes"]["networks"]["to"].as_str().map(str::to_owned))
        .collect();
    assert!(issued.contains(&"127.0.0.0/8".to_owned()), "{issued:?}");
    assert!(issued.contains(&"127.0.0.2/32".to_owned()), "{issued:?}");
}

async fn a_key_from_another_network_is_refused_and_nothing_is_stored(backend: Backend) {
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
    let body = transfer_body(&quote, &recipient, "elsewhere");
    let elsewhere = app.key_with_networks(tenant.id, "10.0.0.0/8").await;

    // The first refusal from the database path, the second from this instance's key cache;
    // reads are refused like writes.
    for _ in 0..2 {
        let response = app.post_json("/v1/transfers", &elsewhere, &body).await;
        assert_network_not_allowed(response).await;
        assert_network_not_allowed(app.get("/v1/transfers", Some(&elsewhere)).await).await;
        assert_eq!(transfer_count(&app, &full).await, 0, "nothing created");
    }
    // The quote is still unused: the unrestricted key can spend it.
    let response = app.post_json("/v1/transfers", &full, &body).await;
    assert_eq!(response.status(), StatusCode::CREATED);
    assert_eq!(transfer_count(&app, &full).await, 1);

    // Each refusal is audited with its own reason and the address it came from.
    let refusals: Vec<Value> = all_events(&app)
        .await
        .into_iter()
        .filter(|e| {
            e["event_type"] == "auth.failed"
                && e["changes"]["reason"]["to"] == "network_not_allowed"
        })
        .collect();
    assert_eq!(refusals.len(), 4, "{refusals:?}");
    for event in &refusals {
        assert_eq!(event["actor"]["ip"], "127.0.0.1", "{event}");
    }
}

/// Client addresses never come from headers: a loopback client claiming an address in the
/// key's network through the usual proxy headers is still refused.
async fn the_address_is_the_connections_not_a_forwarded_header(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let tenant = app.tenant(benteng_core::tenant::Tier::Growth).await;
    let key = app.key_with_networks(tenant.id, "10.0.0.0/8").await;
    for (name, value) in [
        ("x-forwarded-for", "10.1.2.3"),
        ("x-real-ip", "10.1.2.3"),
        ("forwarded", "for=10.1.2.3"),
        ("true-client-ip", "10.1.2.3"),
    ] {
        let response = app
            .client
            .get(app.url("/v1/tenant"))
            .bearer_auth(&key)
            .header(name, value)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::FORBIDDEN, "{name}");
    }
}

/// Polls until `/v1/tenant` answers `expected` (the CLI's change reaches the server's cache by
/// pub/sub with Redis, by the watermark poll, every second, with the in-process cache).
async fn becomes(app: &TestApp, key: &str, expected: StatusCode) {
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let got = tenant_status(&app.client, app, key).await;
        if got == expected {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "still {got}, expected {expected}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

async fn the_cli_changes_a_live_keys_networks_on_a_running_server(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let (tenant, key) = app.tenant_with_key().await;
    let key_id = app.services.store.api_keys_of(tenant.id).await.unwrap()[0]
        .id
        .to_string();
    // Cached by the server from here on.
    assert_eq!(tenant_status(&app.client, &app, &key).await, StatusCode::OK);

    let operator = [("SUDO_USER", "ani"), ("USER", "root")];
    let restrict = |networks: &'static [&'static str]| {
        let mut args = vec!["apikey", "restrict", key_id.as_str()];
        args.extend_from_slice(networks);
        args
    };
    let env = app.environment();
    let (ok, out, err) = cli_with_env(
        env,
        &operator,
        &restrict(&["--allow-network", "10.0.0.0/8"]),
    )
    .await;
    assert!(ok, "{err}");
    assert!(out.contains("10.0.0.0/8"), "{out}");
    becomes(&app, &key, StatusCode::FORBIDDEN).await;
    assert_network_not_allowed(app.get("/v1/tenant", Some(&key)).await).await;

    let (ok, _, err) = cli_with_env(
        env,
        &operator,
        &restrict(&[
            "--allow-network",
            "10.0.0.0/8",
            "--allow-network",
            "127.0.0.1",
        ]),
    )
    .await;
    assert!(ok, "{err}");
    becomes(&app, &key, StatusCode::OK).await;

    let (ok, _, err) = cli_with_env(
        env,
        &operator,
        &restrict(&["--allow-network", "2001:db8::/32"]),
    )
    .await;
    assert!(ok, "{err}");
    becomes(&app, &key, StatusCode::FORBIDDEN).await;

    let (ok, out, err) = cli_with_env(env, &operator, &restrict(&["--any-network"])).await;
    assert!(ok, "{err}");
    assert!(out.contains("any network"), "{out}");
    becomes(&app, &key, StatusCode::OK).await;
    // Unchanged: accepted, and nothing recorded.
    let (ok, _, err) = cli_with_env(env, &operator, &restrict(&["--any-network"])).await;
    assert!(ok, "{err}");

    let (ok, list, _) = cli(env, &["apikey", "list", "--tenant", &tenant.id.to_string()]).await;
    assert!(ok);
    assert!(list.contains("NETWORKS"), "{list}");
    assert!(list.lines().nth(1).unwrap().contains("  any  "), "{list}");

    // Each change is on record, in order, naming the operator, with what it replaced.
    let changes: Vec<Value> = all_events(&app)
        .await
        .into_iter()
        .filter(|e| e["event_type"] == "api_key.networks_changed")
        .collect();
    let steps: Vec<(&str, &str)> = changes
        .iter()
        .map(|e| {
            (
                e["changes"]["networks"]["from"].as_str().unwrap(),
                e["changes"]["networks"]["to"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        steps,
        [
            ("", "10.0.0.0/8"),
            ("10.0.0.0/8", "10.0.0.0/8 127.0.0.1/32"),
            ("10.0.0.0/8 127.0.0.1/32", "2001:db8::/32"),
            ("2001:db8::/32", ""),
        ]
    );
    for event in &changes {
        let by = event["actor"]["by"].as_str().unwrap();
        assert!(by == "cli:ani" || by.starts_with("cli:ani@"), "{event}");
        assert_eq!(event["actor"]["tenant_id"], tenant.id.to_string());
        assert_eq!(event["resource"]["id"], key_id);
        assert_eq!(event["retention"], "security");
    }

    // A revoked key's networks are not changed.
    let (ok, _, err) = cli(env, &["apikey", "revoke", &key_id]).await;
    assert!(ok, "{err}");
    let (ok, _, err) = cli(env, &restrict(&["--allow-network", "10.0.0.0/8"])).await;
    assert!(!ok);
    assert!(err.contains("revoked"), "{err}");
}

async fn bad_networks_on_the_cli_are_refused_and_change_nothing(backend: Backend) {
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
    let list = || async {
        let (ok, keys, err) = cli(&env, &["apikey", "list", "--tenant", &tenant]).await;
        assert!(ok, "{err}");
        keys
    };
    let (ok, _, err) = cli(
        &env,
        &[
            "apikey",
            "issue",
            "--tenant",
            &tenant,
            "--allow-network",
            "192.0.2.0/24",
        ],
    )
    .await;
    assert!(ok, "{err}");
    assert!(err.contains("192.0.2.0/24"), "{err}");
    let before = list().await;
    let key_id = before
        .lines()
        .nth(1)
        .unwrap()
        .split_whitespace()
        .next()
        .unwrap()
        .to_owned();

    let many: Vec<String> = (0..33).map(|i| format!("10.{i}.0.0/16")).collect();
    let mut too_many = Vec::new();
    for network in &many {
        too_many.extend(["--allow-network", network.as_str()]);
    }
    let refused: Vec<(Vec<&str>, &str)> = vec![
        (vec!["--allow-network", "10.0.0.1/8"], "host bits"),
        (vec!["--allow-network", "10.0.0.0/33"], "prefix"),
        (vec!["--allow-network", "2001:db8::/129"], "prefix"),
        (vec!["--allow-network", "10.0.0.0/+8"], "prefix"),
        (vec!["--allow-network", "ten.0.0.0/8"], "not an IP network"),
        (vec!["--allow-network", "10.0.0.0/8,10.1.0.0/16"], "prefix"),
        (vec!["--allow-network", " 10.0.0.0/8"], "not an IP network"),
        (vec!["--allow-network", "::ffff:10.0.0.0/104"], "10.0.0.0/8"),
        (
            vec![
                "--allow-network",
                "10.0.0.0/8",
                "--allow-network",
                "10.0.0.0/8",
            ],
            "twice",
        ),
        (too_many, "at most 32"),
    ];
    for (networks, says) in &refused {
        let mut issue = vec!["apikey", "issue", "--tenant", tenant.as_str()];
        issue.extend(networks);
        let (ok, out, err) = cli(&env, &issue).await;
        assert!(!ok, "issue {networks:?} was accepted: {out}");
        assert!(!out.contains("sk_live_"), "{networks:?} printed a key");
        assert!(err.contains("--allow-network"), "{err}");
        assert!(err.contains(says), "{networks:?}: {err}");

        let mut restrict = vec!["apikey", "restrict", key_id.as_str()];
        restrict.extend(networks);
        let (ok, _, err) = cli(&env, &restrict).await;
        assert!(!ok, "restrict {networks:?} was accepted");
        assert!(err.contains(says), "{networks:?}: {err}");
    }
    // Neither a list nor --any-network, or both: refused before anything is read.
    for args in [
        vec!["apikey", "restrict", key_id.as_str()],
        vec![
            "apikey",
            "restrict",
            key_id.as_str(),
            "--any-network",
            "--allow-network",
            "10.0.0.0/8",
        ],
    ] {
        let (ok, _, err) = cli(&env, &args).await;
        assert!(!ok, "{args:?} was accepted");
        assert!(err.contains("--allow-network"), "{err}");
    }
    let unknown = uuid::Uuid::new_v4().to_string();
    let (ok, _, err) = cli(&env, &["apikey", "restrict", &unknown, "--any-network"]).await;
    assert!(!ok && err.contains("no such API key"), "{err}");

    assert_eq!(list().await, before, "nothing changed");
    let (ok, trail, err) = cli(&env, &["audit", "export"]).await;
    assert!(ok, "{err}");
    assert!(!trail.contains("api_key.networks_changed"), "{trail}");
    assert_eq!(trail.matches("\"api_key.issued\"").count(), 1, "{trail}");
}
