//! Transaction monitoring and KYC ceilings end to end: the spec's rules score every transfer
//! in its own decision (on both backends, and across two processes), the decision is explained
//! to operators and never to the tenant, a basic-KYC tenant cannot pass its ceiling, and rules
//! files are checked and replayed before they go live.

use benteng_core::api_key::KeyEnvironment;
use benteng_core::currency::Currency;
use benteng_core::kyc::{KycItem, KycLevel};
use benteng_core::money::Money;
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::harness::{
    Backend, Environment, Process, TestApp, cli, client_builder, on_both_backends,
};

on_both_backends!(
    structuring_blocks_the_third_transfer_near_ten_thousand_dollars,
    a_basic_kyc_tenant_cannot_pass_one_thousand_dollars_in_thirty_days,
    post_event_rules_raise_one_alert_per_pattern_and_touch_no_transfer,
    held_transfers_are_released_or_blocked_by_an_analyst_once,
    alerts_open_one_case_per_party_that_an_analyst_closes_with_its_alerts
);

/// A tenant's client against one instance (in-process or a separate process).
pub(crate) struct Payer {
    client: reqwest::Client,
    base: String,
    pub(crate) key: String,
}

impl Payer {
    pub(crate) async fn recipient(&self, name: &str, iban: &str) -> String {
        self.recipient_in(name, "DE", iban).await
    }

    pub(crate) async fn recipient_in(&self, name: &str, country: &str, iban: &str) -> String {
        let response = self
            .client
            .post(format!("{}/v1/recipients", self.base))
            .bearer_auth(&self.key)
            .json(
                &json!({"type": "business", "name": name, "country": country,
                "bank_account": {"iban": iban}}),
            )
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 201);
        let body: Value = response.json().await.unwrap();
        body["id"].as_str().unwrap().to_owned()
    }

    /// Sends `usd` US dollars to `recipient` (paid out in euros); the raw answer.
    async fn send(&self, recipient: &str, usd: &str) -> reqwest::Response {
        let quote: Value = self
            .client
            .get(format!(
                "{}/v1/quotes?source_currency=USD&target_currency=EUR&source_amount={usd}",
                self.base
            ))
            .bearer_auth(&self.key)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        self.client
            .post(format!("{}/v1/transfers", self.base))
            .bearer_auth(&self.key)
            .header("x-idempotency-key", uuid::Uuid::new_v4().to_string())
            .json(&json!({"quote_id": quote["id"], "recipient_id": recipient,
                "amount": usd, "currency": "USD"}))
            .send()
            .await
            .unwrap()
    }

    /// Sends and expects a transfer back; returns it.
    pub(crate) async fn pay(&self, recipient: &str, usd: &str) -> Value {
        let response = self.send(recipient, usd).await;
        assert_eq!(response.status(), 201, "{:?}", response.text().await);
        response.json().await.unwrap()
    }
}

pub(crate) async fn funded_payer(
    app: &TestApp,
    usd_cents: i64,
) -> (benteng_core::tenant::Tenant, Payer) {
    let (tenant, key) = app.tenant_with_key().await;
    app.services
        .store
        .fund(
            tenant.id,
            KeyEnvironment::Live,
            Money::from_minor(usd_cents, Currency::USD),
            &benteng_core::audit::AuditContext::system("test"),
        )
        .await
        .unwrap();
    let payer = Payer {
        client: app.client.clone(),
        base: app.url(""),
        key,
    };
    (tenant, payer)
}

/// The monitoring part of the audit event that decided `transfer`.
async fn decision_event(env: &Environment, transfer: &str) -> Value {
    let (ok, trail, err) = cli(env, &["audit", "export"]).await;
    assert!(ok, "{err}");
    trail
        .lines()
        .map(|l| serde_json::from_str::<Value>(l).unwrap())
        .find(|e| {
            e["resource"]["id"] == transfer
                && e["event_type"] == "transfer.status_changed"
                && e["changes"]["status"]["from"] == "SCREENING"
        })
        .expect("the decision is audited")
}

fn rule<'a>(event: &'a Value, id: &str) -> &'a Value {
    event["compliance"]["monitoring"]["rules"]
        .as_array()
        .expect("every rule is recorded")
        .iter()
        .find(|r| r["id"] == id)
        .unwrap_or_else(|| panic!("rule {id} in {event}"))
}

async fn structuring_blocks_the_third_transfer_near_ten_thousand_dollars(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let (_, payer) = funded_payer(&app, 10_000_000).await;
    let recipient = payer
        .recipient("Muller Handel GmbH", "DE89370400440532013000")
        .await;

    // The first pays into a new corridor (+30): approved, as is the second (nothing hits).
    let first = payer.pay(&recipient, "9900.00").await;
    assert_eq!(first["status"], "APPROVED", "{first}");
    let event = decision_event(app.environment(), first["id"].as_str().unwrap()).await;
    assert_eq!(rule(&event, "first_corridor")["hit"], true);
    assert_eq!(rule(&event, "structuring")["hit"], false);
    assert_eq!(event["compliance"]["risk_score"], 30);
    // Just outside the band counts for nothing.
    let outside = payer.pay(&recipient, "10000.00").await;
    assert_eq!(outside["status"], "APPROVED", "{outside}");
    let second = payer.pay(&recipient, "9900.00").await;
    assert_eq!(second["status"], "APPROVED", "{second}");

    // The third within 24 hours: structuring (85) blocks it.
    let third = payer.pay(&recipient, "9900.00").await;
    assert_eq!(third["status"], "BLOCKED", "{third}");
    let id = third["id"].as_str().unwrap();
    let event = decision_event(app.environment(), id).await;
    let structuring = rule(&event, "structuring");
    assert_eq!(structuring["hit"], true, "{event}");
    assert_eq!(structuring["score"], 85);
    assert_eq!(structuring["inputs"]["count_in_band"], 3);
    assert_eq!(rule(&event, "velocity")["inputs"]["sum_usd"], "39700.00");
    assert_eq!(event["compliance"]["risk_score"], 85);
    assert_eq!(event["compliance"]["aml_check"], "BLOCKED");

    // The tenant sees the verdict, never the rule.
    let seen = app
        .get(&format!("/v1/transfers/{id}"), Some(&payer.key))
        .await
        .text()
        .await
        .unwrap();
    assert!(
        seen.contains("BLOCKED") && !seen.contains("structuring"),
        "{seen}"
    );
    let trail = app
        .get("/v1/audit-events?limit=500", Some(&payer.key))
        .await
        .text()
        .await
        .unwrap();
    assert!(
        !trail.contains("structuring"),
        "no tip-off in the tenant's trail: {trail}"
    );

    // Compliance has an alert and the full explanation.
    let alerts = app.services.store.alerts(Some("open"), 10).await.unwrap();
    assert_eq!(alerts.len(), 1, "{alerts:?}");
    assert_eq!(alerts[0].kind, "transfer_blocked");
    assert_eq!(alerts[0].transfer.as_deref(), Some(id));
    assert_eq!(alerts[0].rule.as_deref(), Some("structuring"));
    let (ok, explained, err) = cli(app.environment(), &["monitoring", "explain", id]).await;
    assert!(ok, "{err}");
    assert!(
        explained.contains("verdict       block (risk score 85)"),
        "{explained}"
    );
    assert!(
        explained
            .lines()
            .any(|l| l.contains("HIT") && l.contains("structuring")),
        "{explained}"
    );

    // A blocked transfer moves no money, so it does not count: a fourth is blocked again,
    // while a test-mode transfer is scored on the test environment's own history.
    let fourth = payer.pay(&recipient, "9900.00").await;
    assert_eq!(fourth["status"], "BLOCKED", "{fourth}");
}

async fn a_basic_kyc_tenant_cannot_pass_one_thousand_dollars_in_thirty_days(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let (tenant, payer) = funded_payer(&app, 1_000_000).await;
    app.set_kyc_level(tenant.id, KycLevel::Basic).await;
    let operations = app.services.operations();
    let context = benteng_core::audit::AuditContext::system("test");
    for item in [
        KycItem::Email,
        KycItem::Phone,
        KycItem::BusinessRegistration,
        KycItem::AddressProof,
    ] {
        operations
            .set_kyc_item(tenant.id, item, "verified".parse().unwrap(), &context)
            .await
            .unwrap();
    }
    let recipient = payer
        .recipient("Muller Handel GmbH", "DE89370400440532013000")
        .await;
    let first = payer.pay(&recipient, "700.00").await;
    assert_eq!(first["status"], "APPROVED", "{first}");

    // 700 + 301 > 1,000: refused, naming the level and what the next one still needs.
    let over = payer.send(&recipient, "301.00").await;
    assert_eq!(over.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(over.headers()["content-type"], "application/problem+json");
    let problem: Value = over.json().await.unwrap();
    assert!(
        problem["type"]
            .as_str()
            .unwrap()
            .ends_with("kyc-limit-exceeded"),
        "{problem}"
    );
    let detail = problem["detail"].as_str().unwrap();
    assert!(detail.contains("KYC level basic"), "{detail}");
    assert!(
        detail.contains("government_id, business_licence, beneficial_owners")
            && !detail.contains("address_proof"),
        "{detail}"
    );
    // Refused means nothing stored: the tenant has one transfer.
    let list: Value = app
        .get("/v1/transfers", Some(&payer.key))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(list["data"].as_array().unwrap().len(), 1, "{list}");

    // Up to the ceiling is fine, and crossing 80 % is told to the tenant (its audit trail).
    let approaching = payer.pay(&recipient, "150.00").await;
    assert_eq!(approaching["status"], "APPROVED");
    let trail = app
        .get("/v1/audit-events?limit=500", Some(&payer.key))
        .await
        .text()
        .await
        .unwrap();
    assert_eq!(
        trail.matches("kyc.ceiling_approaching").count(),
        1,
        "{trail}"
    );
    let trail: Value = serde_json::from_str(&trail).unwrap();
    let told = trail["data"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["event_type"] == "kyc.ceiling_approaching")
        .unwrap();
    assert_eq!(told["changes"]["level"]["to"], "basic", "{told}");
    assert_eq!(told["changes"]["ceiling_usd_cents"]["to"], 100_000);
    assert_eq!(told["changes"]["volume_30d_usd_cents"]["to"], 85_000);
    // And in the webhook outbox, for the tenant's endpoints.
    {
        use sqlx::Row;
        let mut conn = app.raw_sql().await;
        let rows = sqlx::query(
            "SELECT data FROM webhook_events WHERE event_type = 'kyc.limit_approaching'",
        )
        .fetch_all(&mut conn)
        .await
        .unwrap();
        assert_eq!(rows.len(), 1);
        let data: String = rows[0].try_get("data").unwrap();
        assert!(
            data.contains("\"kyc_level\":\"basic\"") && data.contains("850.00"),
            "{data}"
        );
    }
    let exactly = payer.pay(&recipient, "150.00").await;
    assert_eq!(
        exactly["status"], "APPROVED",
        "1,000.00 is within the ceiling"
    );
    let over = payer.send(&recipient, "1.00").await;
    assert_eq!(over.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let problem: Value = over.json().await.unwrap();
    assert!(
        problem["type"]
            .as_str()
            .unwrap()
            .ends_with("kyc-limit-exceeded"),
        "{problem}"
    );

    // Test money is not money: the ceiling does not apply in the test environment.
    let test_key = app.key_in(tenant.id, KeyEnvironment::Test).await;
    app.services
        .store
        .fund(
            tenant.id,
            KeyEnvironment::Test,
            Money::from_minor(1_000_000, Currency::USD),
            &context,
        )
        .await
        .unwrap();
    let sandbox = Payer {
        client: app.client.clone(),
        base: app.url(""),
        key: test_key,
    };
    let test_recipient = sandbox
        .recipient("Muller Handel GmbH", "DE89370400440532013000")
        .await;
    let test = sandbox.pay(&test_recipient, "5000.00").await;
    assert_eq!(test["livemode"], false);

    // Raised to standard, the same transfer goes through.
    app.set_kyc_level(tenant.id, KycLevel::Standard).await;
    let after = payer.pay(&recipient, "301.00").await;
    assert_eq!(after["status"], "APPROVED");
}

/// A tenant made with the CLI (as an operator would), verified and funded; its live key.
async fn cli_tenant(env: &Environment, name: &str) -> String {
    let (ok, tenant, err) = cli(
        env,
        &["tenant", "create", "--name", name, "--tier", "enterprise"],
    )
    .await;
    assert!(ok, "{err}");
    let tenant = tenant.trim().to_owned();
    for args in [
        vec!["kyc", "set-level", &tenant, "enhanced"],
        vec![
            "ledger",
            "fund",
            "--tenant",
            &tenant,
            "--currency",
            "USD",
            "--amount",
            "200000.00",
        ],
    ] {
        let (ok, _, err) = cli(env, &args).await;
        assert!(ok, "{err}");
    }
    let (ok, key, err) = cli(env, &["apikey", "issue", "--tenant", &tenant]).await;
    assert!(ok, "{err}");
    key.trim().to_owned()
}

/// The decision's score and status, as the tenant's history states them (the rail may have
/// moved the transfer on since).
fn decided(transfer: &Value) -> (u64, String) {
    let step = transfer["history"]
        .as_array()
        .and_then(|h| h.iter().find(|step| step["from"] == "SCREENING"))
        .unwrap_or_else(|| panic!("no decision in {transfer}"));
    let score = step["cause"]
        .as_str()
        .and_then(|cause| cause.rsplit("risk score ").next())
        .and_then(|rest| rest.trim_end_matches(')').parse().ok())
        .unwrap_or_else(|| panic!("no score in {transfer}"));
    (score, step["to"].as_str().unwrap_or_default().to_owned())
}

/// Every rule just under, at and just over its threshold, each transfer sent to the other of
/// two processes on one PostgreSQL + Redis: the totals live in the database, so the scores are
/// the same wherever a transfer lands. Prints the table BENCHMARKS.md records.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_rule_scores_at_its_thresholds_across_two_instances() {
    let env = Environment::new(Backend::Postgres).await;
    let (ok, _, err) = cli(
        &env,
        &[
            "lists",
            "load",
            "--source",
            "un",
            "--path",
            &crate::screening::un_list(),
        ],
    )
    .await;
    assert!(ok, "{err}");
    let keys = [
        cli_tenant(&env, "PT Kecepatan").await,
        cli_tenant(&env, "PT Pecahan").await,
        cli_tenant(&env, "PT Negara").await,
    ];
    let (one, two) = (Process::serve(&env).await, Process::serve(&env).await);
    let client = client_builder(&env.data_dir.path().join("tls/dev-ca.pem"))
        .build()
        .unwrap();
    let on = |process: &Process, key: &str| Payer {
        client: client.clone(),
        base: process.url(""),
        key: key.to_owned(),
    };
    let processes = [&one, &two];
    // (tenant, recipient country, USD, expected score, expected status, what it shows)
    let script: [(usize, &str, &str, u64, &str, &str); 12] = [
        (
            0,
            "DE",
            "40000.00",
            30,
            "APPROVED",
            "first corridor: first transfer DE/EUR",
        ),
        (
            0,
            "DE",
            "10000.00",
            0,
            "APPROVED",
            "velocity at USD 50,000.00 (not over)",
        ),
        (
            0,
            "DE",
            "1.00",
            60,
            "PENDING_REVIEW",
            "velocity just over (50,001.00)",
        ),
        (
            1,
            "DE",
            "9000.00",
            30,
            "APPROVED",
            "structuring 1 in band (band low edge) + first corridor",
        ),
        (
            1,
            "DE",
            "8999.99",
            0,
            "APPROVED",
            "just under the band: not counted",
        ),
        (
            1,
            "DE",
            "9999.99",
            0,
            "APPROVED",
            "structuring 2 in band (band high edge)",
        ),
        (
            1,
            "DE",
            "10000.00",
            0,
            "APPROVED",
            "just over the band: not counted",
        ),
        (1, "DE", "9500.00", 85, "BLOCKED", "structuring 3 in band"),
        (
            2,
            "IR",
            "100.00",
            80,
            "PENDING_REVIEW",
            "high-risk country + first corridor (80: review)",
        ),
        (
            2,
            "IR",
            "100.00",
            50,
            "PENDING_REVIEW",
            "high-risk country, corridor seen",
        ),
        (
            2,
            "DE",
            "100.00",
            30,
            "APPROVED",
            "not listed, first corridor DE/EUR",
        ),
        (
            2,
            "DE",
            "100.00",
            0,
            "APPROVED",
            "not listed, corridor seen",
        ),
    ];
    let mut recipients = std::collections::HashMap::new();
    println!("| # | instance | rule case | USD | expected | actual |");
    println!("|---|---|---|---|---|---|");
    for (n, (tenant, country, usd, score, status, case)) in script.into_iter().enumerate() {
        let payer = on(processes[n % 2], &keys[tenant]);
        let key = (tenant, country);
        if let std::collections::hash_map::Entry::Vacant(slot) = recipients.entry(key) {
            let iban = if country == "IR" {
                "DE02120300000000202051"
            } else {
                "DE89370400440532013000"
            };
            slot.insert(
                payer
                    .recipient_in("Handel und Partner", country, iban)
                    .await,
            );
        }
        let transfer = payer.pay(&recipients[&key], usd).await;
        let id = transfer["id"].as_str().unwrap();
        let seen: Value = payer
            .client
            .get(format!("{}/v1/transfers/{id}", payer.base))
            .bearer_auth(&payer.key)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let actual = decided(&seen);
        println!(
            "| {} | {} | {case} | {usd} | {score} {status} | {} {} |",
            n + 1,
            n % 2 + 1,
            actual.0,
            actual.1
        );
        assert_eq!(actual, (score, status.to_owned()), "{case}: {seen}");
    }

    // The KYC ceiling holds across instances too: USD 700 on one, then 301 on the other is
    // refused (basic: USD 1,000 in 30 days), 300 goes through.
    let key = cli_tenant(&env, "PT Dasar").await;
    let basic = on(&one, &key);
    let tenant: Value = basic
        .client
        .get(format!("{}/v1/tenant", basic.base))
        .bearer_auth(&key)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let (ok, _, err) = cli(
        &env,
        &["kyc", "set-level", tenant["id"].as_str().unwrap(), "basic"],
    )
    .await;
    assert!(ok, "{err}");
    let recipient = basic
        .recipient("Handel und Partner", "DE89370400440532013000")
        .await;
    basic.pay(&recipient, "700.00").await;
    let other = on(&two, &key);
    let refused = other.send(&recipient, "301.00").await;
    assert_eq!(refused.status(), StatusCode::UNPROCESSABLE_ENTITY);
    other.pay(&recipient, "300.00").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rules_files_are_checked_and_replayed_before_they_go_live() {
    let app = TestApp::spawn(Backend::Sqlite).await;
    let (_, payer) = funded_payer(&app, 10_000_000).await;
    let recipient = payer
        .recipient("Muller Handel GmbH", "DE89370400440532013000")
        .await;
    for _ in 0..3 {
        payer.pay(&recipient, "9900.00").await;
    }
    let dir = app.data_dir();
    let defaults = benteng_compliance::monitoring::DEFAULT_RULES;

    // A refused file names its line and what is wrong.
    let broken = dir.join("broken.toml");
    std::fs::write(&broken, defaults.replace("score = 85", "score = -85")).unwrap();
    let (ok, _, err) = cli(
        app.environment(),
        &["monitoring", "check", broken.to_str().unwrap()],
    )
    .await;
    assert!(!ok);
    assert!(
        err.contains("line 23: rule \"structuring\": score"),
        "{err}"
    );

    // Structuring at four transfers instead of three would have let the third through.
    let candidate = dir.join("candidate.toml");
    std::fs::write(
        &candidate,
        defaults.replace("min_count = 3", "min_count = 4"),
    )
    .unwrap();
    let (ok, out, err) = cli(
        app.environment(),
        &["monitoring", "check", candidate.to_str().unwrap()],
    )
    .await;
    assert!(ok, "{err}");
    assert!(
        out.contains("4 rules, review from 50, block from 81"),
        "{out}"
    );
    let (ok, out, err) = cli(
        app.environment(),
        &[
            "monitoring",
            "replay",
            "--since",
            "2020-01-01T00:00:00Z",
            "--rules",
            candidate.to_str().unwrap(),
        ],
    )
    .await;
    assert!(ok, "{err}");
    assert!(out.contains("replayed 3 transfers"), "{out}");
    assert!(out.contains("1 verdicts would change"), "{out}");
    assert!(out.contains("block    -> approve  1"), "{out}");
    // The same rules change nothing.
    let same = dir.join("same.toml");
    std::fs::write(&same, defaults).unwrap();
    let (ok, out, _) = cli(
        app.environment(),
        &[
            "monitoring",
            "replay",
            "--since",
            "2020-01-01T00:00:00Z",
            "--rules",
            same.to_str().unwrap(),
        ],
    )
    .await;
    assert!(ok);
    assert!(out.contains("0 verdicts would change"), "{out}");
}

async fn post_event_rules_raise_one_alert_per_pattern_and_touch_no_transfer(backend: Backend) {
    let app = TestApp::spawn_with(backend, |config| {
        // The test runs the scan itself, and holds the rail still so that any change to a
        // transfer would be the scan's.
        config.monitoring.post_event_interval_secs = 0;
        config.rail.poll_interval_ms = 3_600_000;
    })
    .await;
    let mule = "DE89370400440532013000";
    // Three tenants pay one account; the first of them also sends five round sums.
    let mut first = None;
    for n in 0..3 {
        let (tenant, payer) = funded_payer(&app, 10_000_000).await;
        let recipient = payer.recipient("Muller Handel GmbH", mule).await;
        payer.pay(&recipient, "120.00").await;
        if n == 0 {
            first = Some((tenant, payer, recipient));
        }
    }
    let (payer_tenant, payer, recipient) = first.unwrap();
    for _ in 0..5 {
        payer.pay(&recipient, "1000.00").await;
    }
    // A fourth tenant adds ten new recipients and pays each of them.
    let (fan_tenant, fan) = funded_payer(&app, 10_000_000).await;
    for n in 0..10 {
        let iban = [
            "DE02120300000000202051",
            "DE75512108001245126199",
            "GB29NWBK60161331926819",
            "GB82WEST12345698765432",
            "NL91ABNA0417164300",
            "FR1420041010050500013M02606",
            "ES9121000418450200051332",
            "IT60X0542811101000000123456",
            "BE68539007547034",
            "AT611904300234573201",
        ][n];
        let recipient = fan.recipient(&format!("Supplier {n}"), iban).await;
        fan.pay(&recipient, "50.00").await;
    }
    let statuses = |list: Value| -> Vec<String> {
        list["data"]
            .as_array()
            .unwrap()
            .iter()
            .map(|t| t["status"].as_str().unwrap().to_owned())
            .collect()
    };
    let before = statuses(
        app.get("/v1/transfers?limit=100", Some(&payer.key))
            .await
            .json()
            .await
            .unwrap(),
    );

    let (ok, out, err) = cli(app.environment(), &["monitoring", "scan"]).await;
    assert!(ok, "{err}");
    assert_eq!(out.trim(), "3 patterns found, 3 new alerts raised");
    let alerts = app.services.store.alerts(Some("open"), 50).await.unwrap();
    let mut rules: Vec<_> = alerts.iter().filter_map(|a| a.rule.clone()).collect();
    rules.sort();
    assert_eq!(
        rules,
        [
            "new_recipient_fan_out",
            "round_amounts",
            "shared_beneficiary"
        ]
    );
    assert!(
        alerts
            .iter()
            .all(|a| a.kind == "post_event" && a.transfer.is_none())
    );
    // The account is named by its blind index, never in clear.
    let shared = alerts
        .iter()
        .find(|a| a.rule.as_deref() == Some("shared_beneficiary"))
        .unwrap();
    assert!(!shared.detail.contains(mule), "{}", shared.detail);

    // Scanning again the same day raises nothing new; the transfers are as they were.
    let (ok, out, _) = cli(app.environment(), &["monitoring", "scan"]).await;
    assert!(ok);
    assert_eq!(out.trim(), "3 patterns found, 0 new alerts raised");
    assert!(before.iter().all(|s| s == "APPROVED"), "{before:?}");
    let after = statuses(
        app.get("/v1/transfers?limit=100", Some(&payer.key))
            .await
            .json()
            .await
            .unwrap(),
    );
    assert_eq!(before, after);
    let (ok, listed, _) = cli(
        app.environment(),
        &["monitoring", "alerts", "--status", "open"],
    )
    .await;
    assert!(ok);
    assert_eq!(listed.lines().count(), 3, "{listed}");

    // Each alert opened the monitoring case of the party it is about: the fanning-out tenant,
    // the round-sum sender, and (the shared account) one of its payees, with every payee named
    // in the alert; the second scan added none.
    let cases = monitoring_cases(&app).await;
    let mut parties: Vec<&str> = cases.iter().map(|c| c.party_kind.as_str()).collect();
    parties.sort_unstable();
    assert_eq!(parties, ["recipient", "tenant", "tenant"], "{cases:?}");
    let tenant_parties: std::collections::BTreeSet<String> = cases
        .iter()
        .filter(|c| c.party_kind == "tenant")
        .map(|c| c.party_id.clone())
        .collect();
    let expected: std::collections::BTreeSet<String> = [&payer_tenant, &fan_tenant]
        .iter()
        .map(|t| t.id.to_string())
        .collect();
    assert_eq!(tenant_parties, expected);
    let payees: Value = serde_json::from_str(&shared.detail).unwrap();
    assert_eq!(payees["payees"].as_array().unwrap().len(), 3, "{payees}");
    let shared_case = cases.iter().find(|c| c.party_kind == "recipient").unwrap();
    assert!(
        payees["payees"]
            .as_array()
            .unwrap()
            .iter()
            .any(|p| p["recipient_id"] == shared_case.party_id.as_str()),
        "{payees}"
    );
}

/// The open monitoring cases (alerts' cases), straight from the store.
async fn monitoring_cases(app: &TestApp) -> Vec<benteng_store::CaseRow> {
    app.services
        .store
        .cases(&benteng_store::InboxQuery::new(
            app.services.clock.now(),
            200,
        ))
        .await
        .unwrap()
        .into_iter()
        .filter(|c| c.subject == benteng_core::cases::CaseSubject::Monitoring)
        .collect()
}

async fn alerts_open_one_case_per_party_that_an_analyst_closes_with_its_alerts(backend: Backend) {
    use benteng_core::roles::StaffRole;

    use crate::people::{enrol, get, post, problem_type, sign_in};

    let app = crate::people::app(backend).await;
    let analyst = enrol(&app, "ana@benteng.example", &[StaffRole::ComplianceAnalyst]).await;
    let analyst = sign_in(&app, &analyst).await;
    let (_, payer) = funded_payer(&app, 10_000_000).await;
    let recipient = payer
        .recipient("Muller Handel GmbH", "DE89370400440532013000")
        .await;
    // Structuring blocks the third and the fourth transfer near USD 10,000: two alerts on one
    // recipient, so one case.
    for expected in ["APPROVED", "APPROVED", "BLOCKED", "BLOCKED"] {
        let paid = payer.pay(&recipient, "9900.00").await;
        assert_eq!(paid["status"], expected, "{paid}");
    }
    let inbox: Value = get(&app.client, app.url("/admin/v1/cases"), &analyst)
        .await
        .json()
        .await
        .unwrap();
    let cases = inbox.as_array().unwrap();
    assert_eq!(cases.len(), 1, "{inbox}");
    let case = &cases[0];
    assert_eq!(case["subject"], "monitoring", "{case}");
    assert_eq!(case["party_kind"], "recipient", "{case}");
    assert_eq!(case["party_id"], recipient.as_str(), "{case}");
    assert_eq!(case["inbox"], "monitoring", "{case}");
    assert_eq!(case["priority"], 85, "{case}");
    let id = case["id"].as_str().unwrap().to_owned();
    let detail: Value = get(
        &app.client,
        app.url(&format!("/admin/v1/cases/{id}")),
        &analyst,
    )
    .await
    .json()
    .await
    .unwrap();
    let alerts = detail["alerts"].as_array().unwrap();
    assert_eq!(alerts.len(), 2, "{detail}");
    assert!(
        alerts.iter().all(|a| a["kind"] == "transfer_blocked"
            && a["rule"] == "structuring"
            && a["status"] == "open"),
        "{detail}"
    );
    // The case page shows them, and offers to close the case.
    let page = get(
        &app.client,
        app.url(&format!("/console/cases/{id}")),
        &analyst,
    )
    .await
    .text()
    .await
    .unwrap();
    assert!(
        page.contains("structuring") && page.contains("/close\""),
        "{page}"
    );

    // Closing needs an outcome and a comment; bad ones change nothing.
    let close = app.url(&format!("/admin/v1/cases/{id}/close"));
    let refused = post(
        &app.client,
        close.clone(),
        &analyst,
        &json!({"outcome": "guilty", "comment": "looked at the invoices"}),
    )
    .await;
    assert_eq!(refused.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let refused = post(
        &app.client,
        close.clone(),
        &analyst,
        &json!({"outcome": "true_positive"}),
    )
    .await;
    assert_eq!(refused.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(
        app.services
            .store
            .alerts(Some("open"), 10)
            .await
            .unwrap()
            .len(),
        2
    );

    let closed = post(
        &app.client,
        close.clone(),
        &analyst,
        &json!({"outcome": "true_positive", "comment": "split invoices, reported upstream"}),
    )
    .await;
    assert_eq!(closed.status(), StatusCode::OK);
    let closed: Value = closed.json().await.unwrap();
    assert_eq!(closed["status"], "closed", "{closed}");
    assert_eq!(closed["outcome"], "true_positive", "{closed}");
    // Its alerts closed with it, and it is audited under the analyst, never the tenant.
    assert!(
        app.services
            .store
            .alerts(Some("open"), 10)
            .await
            .unwrap()
            .is_empty()
    );
    let events = crate::people::audit_types(&app).await;
    let close_event = events
        .iter()
        .find(|e| e["event_type"] == "case.closed")
        .expect("the close is audited");
    assert_eq!(close_event["actor"]["by"], "staff:ana@benteng.example");
    assert!(close_event["actor"]["tenant_id"].is_null(), "{close_event}");
    let again = post(
        &app.client,
        close,
        &analyst,
        &json!({"outcome": "true_positive", "comment": "split invoices, reported upstream"}),
    )
    .await;
    assert_eq!(again.status(), StatusCode::CONFLICT);
    assert!(problem_type(again).await.ends_with("case-not-closable"));

    // A new block opens a new case: the closed one stays closed.
    let paid = payer.pay(&recipient, "9900.00").await;
    assert_eq!(paid["status"], "BLOCKED", "{paid}");
    let open = monitoring_cases(&app).await;
    let reopened: Vec<_> = open
        .iter()
        .filter(|c| c.status != benteng_core::cases::CaseStatus::Closed)
        .collect();
    assert_eq!(reopened.len(), 1, "{open:?}");
    assert_ne!(reopened[0].id.to_string(), id);

    // A held transfer's case closes only with its decision.
    let risky = payer
        .recipient_in("Tehran Trading Co", "IR", "DE75512108001245126199")
        .await;
    let held = payer.pay(&risky, "100.00").await;
    assert_eq!(held["status"], "PENDING_REVIEW", "{held}");
    let held_case = app
        .services
        .store
        .case_of_transfer(held["id"].as_str().unwrap().parse().unwrap())
        .await
        .unwrap()
        .unwrap();
    let refused = post(
        &app.client,
        app.url(&format!("/admin/v1/cases/{held_case}/close")),
        &analyst,
        &json!({"outcome": "false_positive", "comment": "nothing to see here at all"}),
    )
    .await;
    assert_eq!(refused.status(), StatusCode::CONFLICT);
}

async fn held_transfers_are_released_or_blocked_by_an_analyst_once(backend: Backend) {
    use benteng_core::roles::StaffRole;

    use crate::people::{enrol, get, post, problem_type, sign_in};

    let app = crate::people::app(backend).await;
    let analyst = enrol(&app, "ana@benteng.example", &[StaffRole::ComplianceAnalyst]).await;
    let analyst = sign_in(&app, &analyst).await;
    let support = enrol(&app, "sue@benteng.example", &[StaffRole::Support]).await;
    let support = sign_in(&app, &support).await;
    let (_, payer) = funded_payer(&app, 100_000).await;
    // A recipient in a FATF call-for-action country, paid for the first time: 50 + 30 = 80,
    // held for review.
    let response = payer
        .client
        .post(app.url("/v1/recipients"))
        .bearer_auth(&payer.key)
        .json(
            &json!({"type": "business", "name": "Tehran Trading Co", "country": "IR",
            "bank_account": {"iban": "DE89370400440532013000"}}),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 201);
    let recipient: Value = response.json().await.unwrap();
    let recipient = recipient["id"].as_str().unwrap().to_owned();
    let first = payer.pay(&recipient, "100.00").await;
    assert_eq!(first["status"], "PENDING_REVIEW", "{first}");
    let second = payer.pay(&recipient, "200.00").await;
    assert_eq!(second["status"], "PENDING_REVIEW", "{second}");
    let held_balance = crate::payments::balance(&app, &payer.key, "USD").await;

    // The queue shows both, with why they were held.
    let queue: Value = get(&app.client, app.url("/admin/v1/reviews"), &analyst)
        .await
        .json()
        .await
        .unwrap();
    let listed = queue.as_array().unwrap();
    assert_eq!(listed.len(), 2, "{queue}");
    let rules = listed[0]["monitoring"]["rules"].as_array().unwrap();
    assert!(
        rules
            .iter()
            .any(|r| r["id"] == "high_risk_country" && r["hit"] == true)
    );

    let review = |id: &str| app.url(&format!("/admin/v1/transfers/{id}/review"));
    let first_id = first["id"].as_str().unwrap();
    // Support may not decide; bad decisions change nothing.
    let refused = post(
        &app.client,
        review(first_id),
        &support,
        &json!({"decision": "release", "reason": "known supplier, contract on file"}),
    )
    .await;
    assert_eq!(refused.status(), StatusCode::FORBIDDEN);
    for body in [
        json!({"decision": "release", "reason": "ok"}),
        json!({"decision": "maybe", "reason": "known supplier, contract on file"}),
        json!({"decision": "release"}),
        json!({"decision": "release", "reason": "x".repeat(3000)}),
    ] {
        let response = post(&app.client, review(first_id), &analyst, &body).await;
        assert_eq!(
            response.status(),
            StatusCode::UNPROCESSABLE_ENTITY,
            "{body}"
        );
    }
    let unknown = post(
        &app.client,
        review(&uuid::Uuid::new_v4().to_string()),
        &analyst,
        &json!({"decision": "release", "reason": "known supplier, contract on file"}),
    )
    .await;
    assert_eq!(unknown.status(), StatusCode::NOT_FOUND);

    // Released: on to the rail. A second decision is a conflict.
    let released = post(
        &app.client,
        review(first_id),
        &analyst,
        &json!({"decision": "release", "reason": "known supplier, contract on file"}),
    )
    .await;
    assert_eq!(released.status(), StatusCode::OK);
    let released: Value = released.json().await.unwrap();
    assert_eq!(released["status"], "APPROVED");
    let again = post(
        &app.client,
        review(first_id),
        &analyst,
        &json!({"decision": "block", "reason": "changed my mind entirely"}),
    )
    .await;
    assert_eq!(again.status(), StatusCode::CONFLICT);
    assert!(problem_type(again).await.ends_with("transfer-not-held"));
    crate::payments::wait_for_status(&app, &payer.key, first_id, "COMPLETED").await;

    // Blocked: its reservation is released back to the balance.
    let second_id = second["id"].as_str().unwrap();
    let blocked = post(
        &app.client,
        review(second_id),
        &analyst,
        &json!({"decision": "block", "reason": "end user matches an adverse media report"}),
    )
    .await;
    assert_eq!(blocked.status(), StatusCode::OK);
    let (available, reserved) = crate::payments::balance(&app, &payer.key, "USD").await;
    assert_eq!(reserved, "0.00", "{held_balance:?}");
    let expected_available = 1000.00 - 100.00 - 0.50;
    assert_eq!(available.parse::<f64>().unwrap(), expected_available);

    // The tenant sees the outcome, not the reason; the trail names the analyst.
    let seen = app
        .get(&format!("/v1/transfers/{second_id}"), Some(&payer.key))
        .await
        .text()
        .await
        .unwrap();
    assert!(
        seen.contains("compliance review: blocked") && !seen.contains("adverse"),
        "{seen}"
    );
    let trail = app
        .get("/v1/audit-events?limit=500", Some(&payer.key))
        .await
        .text()
        .await
        .unwrap();
    assert!(
        !trail.contains("adverse") && !trail.contains("transfer.reviewed"),
        "{trail}"
    );
    let reviewed: Vec<Value> = crate::people::audit_types(&app)
        .await
        .into_iter()
        .filter(|e| e["event_type"] == "transfer.reviewed")
        .collect();
    assert_eq!(reviewed.len(), 2);
    assert_eq!(reviewed[1]["actor"]["by"], "staff:ana@benteng.example");
    assert_eq!(reviewed[1]["changes"]["decision"]["to"], "block");
}

/// One tenant's transfers sent at once to two processes on PostgreSQL: each is scored on a
/// history that holds every transfer committed before it, whichever instance wrote it and
/// however long it waited for the tenant's totals. So the velocity sums are 100, 200, … with
/// no two alike, and exactly one transfer opens the corridor.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_transfers_of_one_tenant_never_share_a_history() {
    let env = Environment::new(Backend::Postgres).await;
    let key = cli_tenant(&env, "PT Serentak").await;
    let (one, two) = (Process::serve(&env).await, Process::serve(&env).await);
    let client = client_builder(&env.data_dir.path().join("tls/dev-ca.pem"))
        .build()
        .unwrap();
    let payers = [&one, &two].map(|process| Payer {
        client: client.clone(),
        base: process.url(""),
        key: key.clone(),
    });
    let recipient = payers[0]
        .recipient("Handel und Partner", "DE89370400440532013000")
        .await;
    const SENT: usize = 8;
    let transfers =
        futures::future::join_all((0..SENT).map(|n| payers[n % 2].pay(&recipient, "100.00"))).await;
    let mut sums = Vec::new();
    let mut corridor_openers = 0;
    for transfer in &transfers {
        let event = decision_event(&env, transfer["id"].as_str().unwrap()).await;
        sums.push(rule(&event, "velocity")["inputs"]["sum_usd"].clone());
        if rule(&event, "first_corridor")["hit"] == true {
            corridor_openers += 1;
        }
    }
    sums.sort_by_key(|sum| sum.as_str().map(|s| s.parse::<f64>().unwrap_or(0.0) as i64));
    let expected: Vec<Value> = (1..=SENT).map(|n| json!(format!("{n}00.00"))).collect();
    assert_eq!(sums, expected, "each transfer saw every one before it");
    assert_eq!(corridor_openers, 1, "one transfer opens the corridor");
}
