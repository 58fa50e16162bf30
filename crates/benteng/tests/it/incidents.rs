//! Incident response: refused authentications feed the detections, which open one incident
//! per ongoing attack; a security officer contains it by blocking the address, and every
//! instance refuses it.

use std::time::{Duration, Instant};

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::harness::{Backend, Environment, Process, cli, client_builder};
use crate::people::{cli_field, enrol_with_code, staff_from_cli};

/// An attacker's client, from another loopback address than the officer's.
fn attacker(env: &Environment) -> reqwest::Client {
    client_builder(&env.dev_certs().ca_cert)
        .local_address(Some("127.0.0.2".parse().unwrap()))
        .build()
        .unwrap()
}

/// One refused authentication with a credential of its own.
async fn refused(client: &reqwest::Client, url: &str, n: usize) -> StatusCode {
    client
        .get(url)
        .bearer_auth(format!("sk_live_guess{n}"))
        .send()
        .await
        .unwrap()
        .status()
}

/// `benteng incident list`, one line per incident.
async fn incidents(env: &Environment) -> Vec<String> {
    let (ok, out, err) = cli(env, &["incident", "list"]).await;
    assert!(ok, "{err}");
    out.lines().map(str::to_owned).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_auth_burst_opens_a_p4_at_25_and_not_at_24() {
    let env = Environment::new(Backend::Sqlite).await;
    // The per-IP guard would answer 429 before the detection's threshold.
    let server = Process::serve_with(
        &env,
        &[("BENTENG_PROTECTION__UNAUTHENTICATED_PER_MINUTE", "1000")],
    )
    .await;
    let client = env.client();
    let url = server.url("/v1/tenant");
    // One credential over and over: a burst, not stuffing.
    for _ in 0..24 {
        assert_eq!(refused(&client, &url, 0).await, StatusCode::UNAUTHORIZED);
    }
    assert!(incidents(&env).await.is_empty(), "24 failures stay under");
    assert_eq!(refused(&client, &url, 0).await, StatusCode::UNAUTHORIZED);
    let list = incidents(&env).await;
    assert_eq!(list.len(), 1, "{list:?}");
    assert!(
        list[0].contains(" P4 ") && list[0].contains("open"),
        "{list:?}"
    );
    // More failures join the same incident.
    for _ in 0..30 {
        refused(&client, &url, 0).await;
    }
    assert_eq!(incidents(&env).await.len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn credential_stuffing_on_two_instances_opens_one_p3_and_a_block_reaches_both() {
    let env = Environment::new(Backend::Postgres).await;
    let (code, id) = staff_from_cli(&env, "so@benteng.example", "security_officer").await;
    // Alerts go to a local receiver, as to a paging tool's webhook.
    let (channel, alerts) = crate::webhooks::receiver().await;
    let notify_url = format!("{channel}/hook");
    let extra = [
        ("BENTENG_PROTECTION__UNAUTHENTICATED_PER_MINUTE", "1000"),
        ("BENTENG_INCIDENTS__NOTIFY_URL", notify_url.as_str()),
        ("BENTENG_WEBHOOKS__ALLOW_HTTP", "true"),
        ("BENTENG_WEBHOOKS__ALLOW_PRIVATE", r#"["127.0.0.0/8"]"#),
    ];
    let first = Process::serve_with(&env, &extra).await;
    let second = Process::serve_with(&env, &extra).await;
    let officer = env.client();
    enrol_with_code(&officer, &first.url(""), "so@benteng.example", id, &code).await;
    let (ok, out, err) = cli(
        &env,
        &[
            "staff",
            "token",
            "issue",
            "--login",
            "so@benteng.example",
            "--name",
            "ir",
            "--permission",
            "incidents:respond",
            "--expires-in-days",
            "1",
        ],
    )
    .await;
    assert!(ok, "{err}");
    let token = cli_field(&out, "token:");

    // 14 distinct credentials, alternating between the instances: just under.
    let bad = attacker(&env);
    let targets = [first.url("/v1/tenant"), second.url("/v1/tenant")];
    for n in 0..14 {
        assert_eq!(
            refused(&bad, &targets[n % 2], n).await,
            StatusCode::UNAUTHORIZED
        );
    }
    let listed = |url: String| {
        let officer = officer.clone();
        let token = token.clone();
        async move {
            let response = officer.get(url).bearer_auth(token).send().await.unwrap();
            assert_eq!(response.status(), StatusCode::OK);
            response.json::<Vec<Value>>().await.unwrap()
        }
    };
    assert!(listed(first.url("/admin/v1/incidents")).await.is_empty());
    assert!(alerts.lock().unwrap().is_empty());
    // The fifteenth opens the incident; more join it.
    let attacked = Instant::now();
    for n in 14..40 {
        refused(&bad, &targets[n % 2], n).await;
    }
    let list = listed(second.url("/admin/v1/incidents")).await;
    assert_eq!(list.len(), 1, "one incident per attack: {list:?}");
    let incident = &list[0];
    assert_eq!(incident["severity"], "P3", "{incident}");
    assert_eq!(incident["state"], "open");
    assert_eq!(incident["client_address"], "127.0.0.2");
    let incident_id = incident["id"].as_str().unwrap().to_owned();
    let (ok, shown, err) = cli(&env, &["incident", "show", &incident_id]).await;
    assert!(ok && shown.contains("credential_stuffing"), "{shown}{err}");

    // One alert reaches the channel within 5 s, from one of the two instances, signed like a
    // tenant webhook: jwcrypto verifies it with benteng's JWKS alone, and not once altered.
    while alerts.lock().unwrap().is_empty() {
        assert!(
            attacked.elapsed() < Duration::from_secs(5),
            "no alert within 5 s"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let received = alerts.lock().unwrap().clone();
    assert_eq!(received.len(), 1, "{received:?}");
    assert_eq!(received[0].id, format!("{incident_id}.P3"));
    let alert: Value = serde_json::from_str(&received[0].body).unwrap();
    assert_eq!(alert["event_type"], "incident.alert");
    assert_eq!(alert["data"]["id"], incident_id.as_str());
    assert_eq!(alert["data"]["severity"], "P3");
    let jwks: Value = officer
        .get(first.url("/v1/.well-known/jwks.json"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let mut altered = received.clone();
    altered[0].body = altered[0].body.replace("P3", "P4");
    let (ok, said) = crate::webhooks::jwcrypto_verifies(dir.path(), &jwks, &altered).await;
    assert!(!ok, "an altered alert must not verify: {said}");
    let (ok, said) = crate::webhooks::jwcrypto_verifies(dir.path(), &jwks, &received).await;
    assert!(ok, "{said}");

    // The officer contains it from the operator API.
    let blocked = officer
        .post(first.url("/admin/v1/blocks"))
        .bearer_auth(&token)
        .json(&json!({
            "network": "127.0.0.2/32",
            "expires_in_secs": 3600,
            "reason": "credential stuffing",
            "incident": incident_id,
        }))
        .send()
        .await
        .unwrap();
    assert_eq!(blocked.status(), StatusCode::CREATED);
    let started = Instant::now();
    for target in &targets {
        loop {
            let status = refused(&bad, target, 0).await;
            if status == StatusCode::FORBIDDEN {
                break;
            }
            assert!(
                started.elapsed() < Duration::from_secs(1),
                "{target} still serves the blocked address ({status})"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
    // The officer's own address is not blocked; the incident is contained.
    let shown = officer
        .get(second.url(&format!("/admin/v1/incidents/{incident_id}")))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(shown.status(), StatusCode::OK);
    let shown: Value = shown.json().await.unwrap();
    assert_eq!(shown["state"], "contained", "{shown}");

    // Blocking one's own address is refused.
    let own = officer
        .post(first.url("/admin/v1/blocks"))
        .bearer_auth(&token)
        .json(&json!({"network": "127.0.0.0/8", "expires_in_secs": 60, "reason": "x"}))
        .send()
        .await
        .unwrap();
    assert_eq!(own.status(), StatusCode::UNPROCESSABLE_ENTITY);
    // A new instance loads the block from the store.
    let third = Process::serve_with(&env, &extra).await;
    assert_eq!(
        refused(&bad, &third.url("/v1/tenant"), 0).await,
        StatusCode::FORBIDDEN
    );
    // All audited.
    let (ok, audit, err) = cli(&env, &["audit", "export"]).await;
    assert!(ok, "{err}");
    for kind in [
        "incident.opened",
        "incident.detection_linked",
        "incident.contained",
        "address.blocked",
    ] {
        assert!(audit.contains(kind), "{kind} not audited");
    }
}

/// An alert channel that is not a URL deliveries may use stops the start, naming the setting;
/// nothing is left running.
#[tokio::test]
async fn a_bad_alert_channel_stops_the_start_with_its_name() {
    let env = Environment::new(Backend::Sqlite).await;
    for bad in [
        "not a url",
        "ftp://alerts.example/hook",
        // http is refused unless webhooks.allow_http says otherwise.
        "http://alerts.example/hook",
        "https://user:secret@alerts.example/hook",
    ] {
        let services = env
            .services_with(|config| config.incidents.notify_url = Some(bad.to_owned()))
            .await;
        let refused = benteng::Server::bind(&services).await;
        let error = format!("{:#}", refused.err().expect(bad));
        assert!(error.contains("incidents.notify_url"), "{bad}: {error}");
    }
    // The control: a URL deliveries may use starts.
    let services = env
        .services_with(|config| {
            config.incidents.notify_url = Some("https://alerts.example/hook".to_owned());
        })
        .await;
    assert!(benteng::Server::bind(&services).await.is_ok());
}
