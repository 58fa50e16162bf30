//! Request protection: idempotency keys, rate limits and daily volume caps, on one instance
//! (both backends) and on two processes sharing PostgreSQL + Redis.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Duration;

use benteng::Services;
use benteng_core::api_key::KeyEnvironment;
use benteng_core::currency::Currency;
use benteng_core::money::Money;
use benteng_core::tenant::{Tenant, Tier};
use benteng_crypto::ExposeSecret;
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::harness::{Backend, Environment, Process, TestApp, on_both_backends};

/// A funded tenant with a key and one recipient, on whatever serves `base`.
struct Payer {
    client: reqwest::Client,
    tenant: Tenant,
    key: String,
    recipient: String,
}

async fn payer(
    client: reqwest::Client,
    services: &Services,
    base: &str,
    tier: Tier,
    fund_usd: &str,
) -> Payer {
    let tenant = Tenant::new(
        "PT Pembayar".parse().unwrap(),
        tier,
        time::OffsetDateTime::now_utc(),
    );
    services
        .store
        .insert_tenant(&tenant, &benteng_core::audit::AuditContext::system("test"))
        .await
        .unwrap();
    services
        .operations()
        .set_kyc_level(
            tenant.id,
            benteng_core::kyc::KycLevel::Enhanced,
            &benteng_core::audit::AuditContext::system("test"),
        )
        .await
        .unwrap();
    let key = services
        .api_keys
        .issue(
            tenant.id,
            KeyEnvironment::Live,
            None,
            benteng_core::scopes::Scopes::all(),
            benteng_core::network::NetworkAllowList::any(),
            &benteng_core::audit::AuditContext::system("test"),
        )
        .await
        .unwrap()
        .key
        .expose_secret()
        .to_owned();
    services
        .store
        .fund(
            tenant.id,
            benteng_core::api_key::KeyEnvironment::Live,
            Money::parse(fund_usd, Currency::USD).unwrap(),
            &benteng_core::audit::AuditContext::system("test"),
        )
        .await
        .unwrap();
    let response = client
        .post(format!("{base}/v1/recipients"))
        .bearer_auth(&key)
        .json(&json!({
            "type": "business",
            "name": "Muster GmbH",
            "country": "DE",
            "bank_account": {"iban": "DE89370400440532013000"}
        }))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::CREATED);
    let recipient = response.json::<Value>().await.unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    Payer {
        client,
        tenant,
        key,
        recipient,
    }
}

impl Payer {
    /// A transfer request body paying `usd` US dollars at a fresh quote.
    async fn transfer_body(&self, base: &str, usd: &str) -> Value {
        let response = self
            .client
            .get(format!(
                "{base}/v1/quotes?source_currency=USD&target_currency=EUR&source_amount={usd}"
            ))
            .bearer_auth(&self.key)
            .send()
            .await
            .unwrap();
        assert!(response.status().is_success(), "{}", response.status());
        assert!(response.headers().contains_key("x-ratelimit-limit"));
        let quote = response.json::<Value>().await.unwrap();
        json!({
            "quote_id": quote["id"],
            "recipient_id": self.recipient,
            "amount": usd,
            "currency": "USD",
        })
    }

    async fn post(
        &self,
        base: &str,
        path: &str,
        key: Option<&str>,
        body: &Value,
    ) -> reqwest::Response {
        let mut request = self
            .client
            .post(format!("{base}{path}"))
            .bearer_auth(&self.key)
            .json(body);
        if let Some(key) = key {
            request = request.header("X-Idempotency-Key", key);
        }
        request.send().await.unwrap()
    }

    async fn transfer_count(&self, services: &Services) -> usize {
        services
            .store
            .transfers(
                self.tenant.id,
                benteng_core::api_key::KeyEnvironment::Live,
                None,
                None,
                1000,
            )
            .await
            .unwrap()
            .items
            .len()
    }

    /// Spendable US dollars: funding minus everything reserved or posted, whatever the rail
    /// has done with the transfers meanwhile.
    async fn available_usd(&self, services: &Services) -> String {
        let balances = services
            .store
            .balances(self.tenant.id, benteng_core::api_key::KeyEnvironment::Live)
            .await
            .unwrap();
        let usd = balances
            .iter()
            .find(|b| b.currency == Currency::USD)
            .unwrap();
        usd.available.to_string()
    }
}

fn new_key() -> String {
    uuid::Uuid::new_v4().to_string()
}

async fn problem_type(response: reqwest::Response) -> String {
    let body: Value = response.json().await.unwrap();
    body["type"]
        .as_str()
        .unwrap_or_default()
        .trim_start_matches("https://benteng.dev/problems/")
        .to_owned()
}

async fn idempotency_semantics(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let base = app.url("");
    let payer = payer(
        app.client.clone(),
        &app.services,
        &base,
        Tier::Growth,
        "10000.00",
    )
    .await;
    let body = payer.transfer_body(&base, "100.00").await;

    // No key, or a malformed one: 400, nothing happens.
    let response = payer.post(&base, "/v1/transfers", None, &body).await;
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    assert_eq!(problem_type(response).await, "idempotency-key-missing");
    for bad in [
        "not-a-uuid".to_owned(),
        "x".repeat(10 * 1024),
        "0b0e4c4e-6f0a-4c39-9d8e-2f4b7a1c9e5\t".to_owned(),
        "0b0e4c4e-6f0a-4c39-9d8e-2f4b7a1c9e5g".to_owned(),
    ] {
        let response = payer.post(&base, "/v1/transfers", Some(&bad), &body).await;
        assert_eq!(response.status(), StatusCode::BAD_REQUEST, "{bad:.40}");
        assert_eq!(problem_type(response).await, "idempotency-key-invalid");
    }
    assert_eq!(payer.transfer_count(&app.services).await, 0);

    // New key: processed. Same key, same payload: the same answer, marked as a replay.
    let key = new_key();
    let first = payer.post(&base, "/v1/transfers", Some(&key), &body).await;
    assert_eq!(first.status(), StatusCode::CREATED);
    assert!(first.headers().get("idempotent-replayed").is_none());
    assert!(first.headers().contains_key("x-ratelimit-remaining"));
    let location = first.headers()["location"].clone();
    let first_body = first.text().await.unwrap();
    for header in ["X-Idempotency-Key", "Idempotency-Key"] {
        let again = payer
            .client
            .post(format!("{base}/v1/transfers"))
            .bearer_auth(&payer.key)
            .header(header, key.to_uppercase())
            .json(&body)
            .send()
            .await
            .unwrap();
        assert_eq!(again.status(), StatusCode::CREATED);
        assert_eq!(again.headers()["idempotent-replayed"], "true");
        assert_eq!(again.headers()["location"], location);
        assert_eq!(again.text().await.unwrap(), first_body);
    }

    // Same key, different payload: 422.
    let other = payer.transfer_body(&base, "50.00").await;
    let response = payer.post(&base, "/v1/transfers", Some(&key), &other).await;
    assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(problem_type(response).await, "idempotency-key-reused");

    // Same key while the first request still holds it: 409 with Retry-After.
    let running = new_key();
    let lock = format!("idempotency-lock:{}:{running}", payer.tenant.id);
    assert!(
        app.services
            .shared
            .set_if_absent(&lock, b"another-request", Duration::from_secs(60))
            .await
            .unwrap()
    );
    let response = payer
        .post(&base, "/v1/transfers", Some(&running), &other)
        .await;
    assert_eq!(response.status(), StatusCode::CONFLICT);
    assert!(response.headers().contains_key("retry-after"));
    assert_eq!(problem_type(response).await, "idempotency-key-in-use");
    app.services.shared.delete(&lock).await.unwrap();
    let response = payer
        .post(&base, "/v1/transfers", Some(&running), &other)
        .await;
    assert_eq!(response.status(), StatusCode::CREATED);

    // The shared copy gone (a Redis restart): the database still answers with the replay.
    app.services
        .shared
        .delete(&format!("idempotency:{}:{key}", payer.tenant.id))
        .await
        .unwrap();
    let again = payer.post(&base, "/v1/transfers", Some(&key), &body).await;
    assert_eq!(again.status(), StatusCode::CREATED);
    assert_eq!(again.headers()["idempotent-replayed"], "true");
    assert_eq!(again.text().await.unwrap(), first_body);
    assert_eq!(payer.transfer_count(&app.services).await, 2);

    // A batch retried with its key never creates a second set of transfers.
    let items = json!({"transfers": [
        payer.transfer_body(&base, "10.00").await,
        payer.transfer_body(&base, "20.00").await,
        {"quote_id": "not-a-uuid"},
    ]});
    let key = new_key();
    let first = payer.post(&base, "/v1/batches", Some(&key), &items).await;
    assert_eq!(first.status(), StatusCode::CREATED);
    let first_body: Value = first.json().await.unwrap();
    assert_eq!(first_body["accepted"], 2);
    assert_eq!(first_body["rejected"], 1);
    let again = payer.post(&base, "/v1/batches", Some(&key), &items).await;
    assert_eq!(again.headers()["idempotent-replayed"], "true");
    assert_eq!(again.json::<Value>().await.unwrap(), first_body);
    assert_eq!(payer.transfer_count(&app.services).await, 4);
    let response = payer.post(&base, "/v1/batches", None, &items).await;
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
}

async fn daily_volume_cap(backend: Backend) {
    // The day is the clock's: held at noon UTC, so every transfer counts for one day even when
    // the test runs across midnight.
    let noon = time::OffsetDateTime::now_utc().replace_time(time::macros::time!(12:00));
    let clock = Arc::new(benteng_core::clock::ManualClock::new(noon));
    let app = TestApp::spawn_with_clock(backend, |_| {}, clock.clone()).await;
    let base = app.url("");
    // Starter: USD 10,000 a day.
    let payer = payer(
        app.client.clone(),
        &app.services,
        &base,
        Tier::Starter,
        "50000.00",
    )
    .await;
    let body = payer.transfer_body(&base, "6000.00").await;
    let response = payer
        .post(&base, "/v1/transfers", Some(&new_key()), &body)
        .await;
    assert_eq!(response.status(), StatusCode::CREATED);
    let available = payer.available_usd(&app.services).await;
    assert_eq!(available, "43970.00");

    let body = payer.transfer_body(&base, "4500.00").await;
    let response = payer
        .post(&base, "/v1/transfers", Some(&new_key()), &body)
        .await;
    assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let problem: Value = response.json().await.unwrap();
    assert_eq!(
        problem["type"],
        "https://benteng.dev/problems/daily-volume-cap-exceeded"
    );
    let detail = problem["detail"].as_str().unwrap();
    assert!(detail.contains("USD 10000.00"), "{detail}");
    // Refused without reserving anything; a transfer within the cap still goes through.
    assert_eq!(payer.available_usd(&app.services).await, available);
    assert_eq!(payer.transfer_count(&app.services).await, 1);
    let body = payer.transfer_body(&base, "3900.00").await;
    let response = payer
        .post(&base, "/v1/transfers", Some(&new_key()), &body)
        .await;
    assert_eq!(response.status(), StatusCode::CREATED);
    // The next UTC day has a cap of its own.
    clock.advance(time::Duration::days(1));
    let body = payer.transfer_body(&base, "4500.00").await;
    let response = payer
        .post(&base, "/v1/transfers", Some(&new_key()), &body)
        .await;
    assert_eq!(response.status(), StatusCode::CREATED);
}

async fn failed_authentication_is_limited_per_address(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let (_, key) = app.tenant_with_key().await;
    let (_, unseen) = app.tenant_with_key().await;
    // A key this instance verified lately is decided from its cache, with no shared-state
    // round trip before authentication.
    assert_eq!(
        app.get("/v1/tenant", Some(&key)).await.status(),
        StatusCode::OK
    );
    // The key with its last character changed (to another one: a key may end in 'X').
    let last = if key.ends_with('X') { 'Y' } else { 'X' };
    let bad = format!("{}{last}", &key[..key.len() - 1]);
    for _ in 0..30 {
        let response = app.get("/v1/tenant", Some(&bad)).await;
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    }
    // The address is now refused whatever it presents, and the answer does not tell whether
    // the key was valid: a wrong key, a valid key this instance verified lately, a valid key
    // it never saw, and none.
    let mut answers = Vec::new();
    for key in [Some(&bad), Some(&key), Some(&unseen), None] {
        let response = app.get("/v1/tenant", key.map(String::as_str)).await;
        assert_eq!(response.status(), StatusCode::TOO_MANY_REQUESTS);
        assert!(response.headers().contains_key("retry-after"));
        assert_eq!(response.headers()["x-ratelimit-remaining"], "0");
        let limit = response.headers()["x-ratelimit-limit"].clone();
        let problem: Value = response.json().await.unwrap();
        answers.push((limit, problem["type"].clone(), problem["title"].clone()));
    }
    assert!(
        answers.windows(2).all(|pair| pair[0] == pair[1]),
        "{answers:?}"
    );
}

/// Whoever can write to the shared state (Redis) cannot make a retry replay a response benteng
/// never gave: a planted copy fails its MAC, and the database's record answers instead.
async fn a_response_planted_in_the_shared_state_is_not_replayed(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let base = app.url("");
    let payer = payer(
        app.client.clone(),
        &app.services,
        &base,
        Tier::Growth,
        "10000.00",
    )
    .await;
    let body = payer.transfer_body(&base, "100.00").await;
    let key = new_key();
    let first = payer.post(&base, "/v1/transfers", Some(&key), &body).await;
    assert_eq!(first.status(), StatusCode::CREATED);
    let first_body = first.text().await.unwrap();
    let id = serde_json::from_str::<Value>(&first_body).unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();

    // The attacker rewrites the stored copy to name another transfer.
    let copy_key = format!("idempotency:{}:{key}", payer.tenant.id);
    let mut planted = app.services.shared.get(&copy_key).await.unwrap().unwrap();
    let forged_id = format!(
        "{}{}",
        &id[..id.len() - 1],
        if id.ends_with('0') { '1' } else { '0' }
    );
    let mut found = 0;
    for at in 0..planted.len().saturating_sub(id.len() - 1) {
        if planted[at..].starts_with(id.as_bytes()) {
            planted[at..at + id.len()].copy_from_slice(forged_id.as_bytes());
            found += 1;
        }
    }
    assert!(found > 0, "the copy names the transfer");
    app.services
        .shared
        .set(&copy_key, &planted, Duration::from_secs(600))
        .await
        .unwrap();

    let again = payer.post(&base, "/v1/transfers", Some(&key), &body).await;
    assert_eq!(again.status(), StatusCode::CREATED);
    assert_eq!(again.headers()["idempotent-replayed"], "true");
    let again = again.text().await.unwrap();
    assert!(
        !again.contains(&forged_id),
        "the planted response was replayed: {again}"
    );
    assert_eq!(again, first_body);
    assert_eq!(payer.transfer_count(&app.services).await, 1);
}

on_both_backends!(
    a_response_planted_in_the_shared_state_is_not_replayed,
    idempotency_semantics,
    daily_volume_cap,
    failed_authentication_is_limited_per_address
);

/// 100 simultaneous identical requests spread over two instances: exactly one transfer and one
/// reservation; every other answer is the replay or 409.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn duplicate_storm_over_two_instances() {
    let env = Environment::new(Backend::Postgres).await;
    let services = env.services_with(|_| {}).await;
    let first = Process::serve(&env).await;
    let second = Process::serve(&env).await;
    let bases = [first.url(""), second.url("")];
    let payer = payer(
        env.client(),
        &services,
        &bases[0],
        Tier::Enterprise,
        "10000.00",
    )
    .await;
    let body = payer.transfer_body(&bases[0], "100.00").await;
    let key = new_key();
    let mut tasks = Vec::new();
    for i in 0..100 {
        let base = bases[i % 2].clone();
        let (api_key, key, body) = (payer.key.clone(), key.clone(), body.clone());
        let client = payer.client.clone();
        tasks.push(tokio::spawn(async move {
            let response = client
                .post(format!("{base}/v1/transfers"))
                .bearer_auth(api_key)
                .header("X-Idempotency-Key", key)
                .json(&body)
                .send()
                .await
                .unwrap();
            let status = response.status();
            let replayed = response.headers().contains_key("idempotent-replayed");
            if status == StatusCode::CONFLICT {
                assert_eq!(problem_type(response).await, "idempotency-key-in-use");
            }
            (status, replayed)
        }));
    }
    let mut executed = 0;
    for task in tasks {
        match task.await.unwrap() {
            (StatusCode::CREATED, false) => executed += 1,
            (StatusCode::CREATED, true) | (StatusCode::CONFLICT, _) => {}
            other => panic!("unexpected answer {other:?}"),
        }
    }
    assert_eq!(executed, 1);
    assert_eq!(payer.transfer_count(&services).await, 1);
    // One reservation: the amount plus the fee, once.
    assert_eq!(payer.available_usd(&services).await, "9899.50");
    assert!(services.store.ledger_check().await.unwrap().is_empty());
}

/// The 101st `POST /v1/transfers` in a minute is refused whichever instance it hits.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn endpoint_limit_is_shared_by_two_instances() {
    let env = Environment::new(Backend::Postgres).await;
    let services = env.services_with(|_| {}).await;
    let first = Process::serve(&env).await;
    let second = Process::serve(&env).await;
    let bases = [first.url(""), second.url("")];
    let payer = payer(
        env.client(),
        &services,
        &bases[0],
        Tier::Enterprise,
        "10.00",
    )
    .await;
    // Requests that count but create nothing (an unknown quote).
    let body = json!({
        "quote_id": uuid::Uuid::new_v4().to_string(),
        "recipient_id": payer.recipient,
        "amount": "1.00",
        "currency": "USD",
    });
    for i in 0..100 {
        let response = payer
            .post(&bases[i % 2], "/v1/transfers", Some(&new_key()), &body)
            .await;
        assert_eq!(
            response.status(),
            StatusCode::NOT_FOUND,
            "request {}",
            i + 1
        );
        assert_eq!(response.headers()["x-ratelimit-limit"], "100");
        assert_eq!(
            response.headers()["x-ratelimit-remaining"],
            (99 - i).to_string().as_str()
        );
    }
    let now = time::OffsetDateTime::now_utc().unix_timestamp();
    for base in &bases {
        let response = payer
            .post(base, "/v1/transfers", Some(&new_key()), &body)
            .await;
        assert_eq!(response.status(), StatusCode::TOO_MANY_REQUESTS);
        let headers = response.headers();
        assert_eq!(headers["x-ratelimit-limit"], "100");
        assert_eq!(headers["x-ratelimit-remaining"], "0");
        let reset: i64 = headers["x-ratelimit-reset"]
            .to_str()
            .unwrap()
            .parse()
            .unwrap();
        assert!(reset > now && reset <= now + 61, "reset {reset}, now {now}");
        let retry: i64 = headers["retry-after"].to_str().unwrap().parse().unwrap();
        assert!((1..=60).contains(&retry));
        assert_eq!(problem_type(response).await, "rate-limited");
    }
    // Other endpoints of the tenant are still open (enterprise: 2,000 a minute).
    let response = payer
        .client
        .get(format!("{}/v1/transfers", bases[1]))
        .bearer_auth(&payer.key)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
}

/// With Redis stopped, money-moving requests get 503 with Retry-After and nothing is done;
/// after a restart (Redis empty) an acknowledged transfer replays from the database.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fails_closed_without_redis_and_survives_its_restart() {
    let mut redis = crate::harness::PrivateRedis::start().await;
    let mut env = Environment::new(Backend::Postgres).await;
    env.cache_url = redis.url();
    let services = env.services_with(|_| {}).await;
    let first = Process::serve(&env).await;
    let second = Process::serve(&env).await;
    let bases = [first.url(""), second.url("")];
    let payer = payer(env.client(), &services, &bases[0], Tier::Growth, "10000.00").await;
    let acknowledged_body = payer.transfer_body(&bases[0], "100.00").await;
    let acknowledged = new_key();
    let response = payer
        .post(
            &bases[0],
            "/v1/transfers",
            Some(&acknowledged),
            &acknowledged_body,
        )
        .await;
    assert_eq!(response.status(), StatusCode::CREATED);
    let acknowledged_answer = response.text().await.unwrap();
    let pending = payer.transfer_body(&bases[0], "200.00").await;

    redis.stop().await;
    for base in &bases {
        let response = payer
            .post(base, "/v1/transfers", Some(&new_key()), &pending)
            .await;
        assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
        assert!(response.headers().contains_key("retry-after"));
    }
    assert_eq!(payer.transfer_count(&services).await, 1);

    redis.restart().await;
    // Retries of the acknowledged request, on both instances, replay it from the database.
    for base in &bases {
        let mut answer = None;
        for _ in 0..100 {
            let response = payer
                .post(
                    base,
                    "/v1/transfers",
                    Some(&acknowledged),
                    &acknowledged_body,
                )
                .await;
            if response.status() == StatusCode::SERVICE_UNAVAILABLE {
                tokio::time::sleep(Duration::from_millis(100)).await; // reconnecting
                continue;
            }
            assert_eq!(response.status(), StatusCode::CREATED);
            assert_eq!(response.headers()["idempotent-replayed"], "true");
            answer = Some(response.text().await.unwrap());
            break;
        }
        assert_eq!(answer.as_deref(), Some(acknowledged_answer.as_str()));
    }
    let response = payer
        .post(&bases[1], "/v1/transfers", Some(&new_key()), &pending)
        .await;
    assert_eq!(response.status(), StatusCode::CREATED);
    assert_eq!(payer.transfer_count(&services).await, 2);
}

/// Clients that retry each transfer with its key until it is acknowledged, over two instances,
/// while Redis is stopped and restarted under them: every transfer exists exactly once, and
/// every key replays the answer its client was given.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_restart_under_load_loses_nothing_and_duplicates_nothing() {
    let mut redis = crate::harness::PrivateRedis::start().await;
    let mut env = Environment::new(Backend::Postgres).await;
    env.cache_url = redis.url();
    let services = env.services_with(|_| {}).await;
    let first = Process::serve(&env).await;
    let second = Process::serve(&env).await;
    let bases = [first.url(""), second.url("")];
    let payer = payer(
        env.client(),
        &services,
        &bases[0],
        Tier::Enterprise,
        "10000.00",
    )
    .await;
    let mut requests = Vec::new();
    for _ in 0..20 {
        requests.push((new_key(), payer.transfer_body(&bases[0], "10.00").await));
    }
    // What the clients saw, so the test can show the load overlapped the outage: answers
    // before the stop, 503s during it, answers after the restart.
    let created = Arc::new(AtomicUsize::new(0));
    let unavailable = Arc::new(AtomicUsize::new(0));
    let restarted = Arc::new(AtomicBool::new(false));
    let created_after_restart = Arc::new(AtomicUsize::new(0));
    let mut clients = Vec::new();
    for (i, (key, body)) in requests.iter().cloned().enumerate() {
        let (bases, api_key) = (bases.clone(), payer.key.clone());
        let client = payer.client.clone();
        let (created, unavailable) = (created.clone(), unavailable.clone());
        let (restarted, created_after_restart) = (restarted.clone(), created_after_restart.clone());
        clients.push(tokio::spawn(async move {
            // Each client sends its request twice (a retry after a lost answer), then keeps
            // retrying through 503s and 409s until it has an answer.
            let mut answers = Vec::new();
            for attempt in 0..2000 {
                let response = client
                    .post(format!("{}/v1/transfers", bases[(i + attempt) % 2]))
                    .bearer_auth(&api_key)
                    .header("X-Idempotency-Key", &key)
                    .json(&body)
                    .send()
                    .await
                    .unwrap();
                match response.status() {
                    StatusCode::CREATED => {
                        created.fetch_add(1, Ordering::SeqCst);
                        if restarted.load(Ordering::SeqCst) {
                            created_after_restart.fetch_add(1, Ordering::SeqCst);
                        }
                        answers.push(response.text().await.unwrap());
                        if answers.len() == 2 {
                            return answers;
                        }
                    }
                    StatusCode::SERVICE_UNAVAILABLE | StatusCode::CONFLICT => {
                        if response.status() == StatusCode::SERVICE_UNAVAILABLE {
                            unavailable.fetch_add(1, Ordering::SeqCst);
                        }
                        tokio::time::sleep(Duration::from_millis(20)).await;
                    }
                    other => panic!("unexpected {other}"),
                }
            }
            panic!("no answer for {key}");
        }));
    }
    // Stop Redis once the load is running (a first answer), restart it once the load has hit
    // the outage (a first 503): waits on what the clients saw, not on sleeps.
    let seen = async |counter: &AtomicUsize, what: &str| {
        let deadline = std::time::Instant::now() + Duration::from_secs(30);
        while counter.load(Ordering::SeqCst) == 0 {
            assert!(std::time::Instant::now() < deadline, "no {what} seen");
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    };
    seen(&created, "answer").await;
    redis.stop().await;
    seen(&unavailable, "503 during the outage").await;
    redis.restart().await;
    restarted.store(true, Ordering::SeqCst);
    let mut ids = std::collections::BTreeSet::new();
    for client in clients {
        let answers = client.await.unwrap();
        assert_eq!(answers[0], answers[1], "a retry got a different answer");
        let body: Value = serde_json::from_str(&answers[0]).unwrap();
        ids.insert(body["id"].as_str().unwrap().to_owned());
    }
    assert_eq!(ids.len(), 20);
    assert!(
        created_after_restart.load(Ordering::SeqCst) > 0,
        "the load ended before the restart"
    );
    assert_eq!(payer.transfer_count(&services).await, 20);
    assert_eq!(payer.available_usd(&services).await, "9799.00");
    assert!(services.store.ledger_check().await.unwrap().is_empty());
}
