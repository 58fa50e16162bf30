//! The compliance console's two targets (issue 15): the inbox page with 10,000 open cases rendered
//! server-side in ≤ 100 ms p99, and deciding a case (a proposal and its four-eyes approval)
//! ≤ 50 ms p99 on PostgreSQL. One server in this process, loopback HTTPS with development
//! certificates; the requests are sequential, one at a time, each timed from send to the last
//! byte of the body. Every timed request is paired with a `GET /healthz` on the same connection
//! just before it (the baseline: what the stack, TLS and the client cost), so the ratio compares
//! like with like on a shared machine.
//!
//! 1. `BENCH_CASES` (default 10,000) open monitoring cases are seeded through the store's own
//!    write (`raise_alert`: an alert opens its party's case, audited, one transaction each,
//!    `BENCH_SEED_CONCURRENCY` at a time), each on its own party with a spread of priorities
//!    and SLA due times.
//! 2. An analyst and a compliance officer are created, enrolled (password + TOTP) and signed in
//!    through the operator API, as people are.
//! 3. `GET /console/cases` (the inbox: the 200 soonest due of the open cases, as HTML) as the
//!    analyst, `BENCH_PAGES` times (default 200).
//! 4. `BENCH_DECISIONS` (default 100) held transfers (a tenant pays new recipients in Iran: the
//!    country and the new corridor put each in the review band) are decided: the analyst's
//!    `POST /admin/v1/cases/{id}/proposals`, the officer's `…/approve`; each timed.
//!
//!   BENCH_DATABASE_URL=postgres://postgres@127.0.0.1:5432/bench_cases \
//!     cargo run --release -p benteng --example cases_bench
//!
//! Without `BENCH_DATABASE_URL` it runs on a SQLite file in a temporary directory. Use a fresh
//! database: the cases stay behind.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use benteng::{Config, Server, Services};
use benteng_core::api_key::KeyEnvironment;
use benteng_core::audit::{AuditContext, AuditEvent, Retention};
use benteng_core::currency::Currency;
use benteng_core::money::Money;
use benteng_core::roles::{Roles, StaffRole};
use benteng_core::tenant::{Tenant, Tier};
use benteng_crypto::ExposeSecret;
use benteng_crypto::totp::{Totp, TotpSecret};
use benteng_store::{AlertCases, AlertKind, AlertParty, NewAlert};
use futures::StreamExt;
use serde_json::{Value, json};

const PASSWORD: &str = "correct horse battery staple 42";

fn env_usize(name: &str, default: usize, max: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
        .clamp(1, max)
}

/// A signed-in person: the session cookie and the CSRF token.
struct Session {
    cookie: String,
    csrf: String,
}

#[tokio::main(flavor = "multi_thread")]
async fn main() {
    let cases = env_usize("BENCH_CASES", 10_000, 200_000);
    let seed_concurrency = env_usize("BENCH_SEED_CONCURRENCY", 8, 64);
    let pages = env_usize("BENCH_PAGES", 200, 100_000);
    let decisions = env_usize("BENCH_DECISIONS", 100, 5_000);
    let dir = tempfile::tempdir().unwrap();
    let mut config = Config {
        data_dir: dir.path().to_path_buf(),
        ..Config::default()
    };
    let backend = match std::env::var("BENCH_DATABASE_URL") {
        Ok(url) => {
            config.database.url = url;
            "postgres"
        }
        Err(_) => "sqlite",
    };
    config.server.bind = SocketAddr::from(([127, 0, 0, 1], 0));
    config.log.level = "warn".to_owned();
    // OWASP's smallest Argon2id settings: two sign-ins, not what is measured.
    config.people.argon2_memory_kib = 19 * 1024;
    config.people.argon2_iterations = 2;
    // Limits no run reaches: the bench measures the work, not the limits.
    config.protection.tiers.enterprise.requests_per_minute = 1_000_000;
    config.protection.endpoints.clear();
    benteng::telemetry::init(&config.log);
    let services = Services::connect(config).await.unwrap();
    // A list loaded, as in production: with none, screening holds (or, with the rules' score,
    // blocks) every transfer. One fictitious entry: the bench's names match nothing.
    let csv = format!(
        "{}\nT-1,Fictitious Bench Entry,person,,1970-01-01,,,,TEST\n",
        benteng_screening::GENERIC_CSV_HEADER
    );
    let source: benteng_screening::ListSource = "generic:bench".parse().unwrap();
    let list = benteng_screening::parse_list(&source, csv.as_bytes()).unwrap();
    benteng_compliance::lists::store_list(&services.store, list, &AuditContext::system("bench"))
        .await
        .unwrap();
    let server = Server::bind(&services).await.unwrap();
    let address = server.local_addr().unwrap();
    tokio::spawn(server.run(std::future::pending()));
    let base = format!("https://{address}");
    let ca =
        reqwest::Certificate::from_pem(&std::fs::read(dir.path().join("tls/dev-ca.pem")).unwrap())
            .unwrap();
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(60))
        .tls_certs_only([ca])
        .pool_max_idle_per_host(1)
        .build()
        .unwrap();

    // A tenant with money and a key.
    let audit = AuditContext::system("bench");
    let tenant = Tenant::new(
        "PT Bench Cases".parse().unwrap(),
        Tier::Enterprise,
        benteng_core::now(),
    );
    services.store.insert_tenant(&tenant, &audit).await.unwrap();
    services
        .operations()
        .set_kyc_level(tenant.id, benteng_core::kyc::KycLevel::Enhanced, &audit)
        .await
        .unwrap();
    services
        .store
        .fund(
            tenant.id,
            KeyEnvironment::Live,
            Money::parse("10000000.00", Currency::USD).unwrap(),
            &audit,
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
            &audit,
        )
        .await
        .unwrap()
        .key
        .expose_secret()
        .to_owned();

    // 1. The open cases, through the store's own write.
    let started = Instant::now();
    let opened = seed_cases(&services, tenant.id, cases, seed_concurrency).await;
    println!(
        "{backend}: seeded {opened} open cases in {:.1} s ({seed_concurrency} at a time)",
        started.elapsed().as_secs_f64()
    );

    // 2. Two people, signed in as people are.
    let analyst = person(
        &services,
        &client,
        &base,
        "ana@bench.example",
        StaffRole::ComplianceAnalyst,
    )
    .await;
    let officer = person(
        &services,
        &client,
        &base,
        "olu@bench.example",
        StaffRole::ComplianceOfficer,
    )
    .await;

    // 3. The inbox page, each request after a /healthz.
    let healthz = format!("{base}/healthz");
    let inbox = format!("{base}/console/cases");
    for _ in 0..10 {
        timed_get(&client, &healthz, None).await;
        let (_, body) = timed_get(&client, &inbox, Some(&analyst)).await;
        assert!(body.contains("</table>"), "the inbox: {body}");
    }
    let mut base_times = Vec::with_capacity(pages);
    let mut page_times = Vec::with_capacity(pages);
    let mut rows = 0;
    for _ in 0..pages {
        base_times.push(timed_get(&client, &healthz, None).await.0);
        let (took, body) = timed_get(&client, &inbox, Some(&analyst)).await;
        rows = body.matches("<tr><td><a href=\"/console/cases/").count();
        page_times.push(took);
    }
    report(
        &format!("GET /console/cases ({rows} rows of {opened} open cases)"),
        &mut page_times,
        &mut base_times,
    );

    // 4. Held transfers, each decided with four eyes.
    let held = held_transfers(&client, &base, &key, decisions).await;
    let mut base_times = Vec::with_capacity(held.len());
    let mut propose_times = Vec::with_capacity(held.len());
    let mut approve_times = Vec::with_capacity(held.len());
    let mut decide_times = Vec::with_capacity(held.len());
    for transfer in &held {
        let case = services
            .store
            .case_of_transfer(transfer.parse().unwrap())
            .await
            .unwrap()
            .expect("a held transfer has its case");
        base_times.push(timed_get(&client, &healthz, None).await.0);
        let (proposed, body) = timed_post(
            &client,
            &format!("{base}/admin/v1/cases/{case}/proposals"),
            &analyst,
            &json!({"transfer": transfer, "decision": "release",
                "reason": "known supplier, contract on file"}),
            201,
        )
        .await;
        let proposal = body["id"].as_str().unwrap().to_owned();
        let (approved, _) = timed_post(
            &client,
            &format!("{base}/admin/v1/cases/{case}/proposals/{proposal}/approve"),
            &officer,
            &json!({"comment": "agreed, the contract is on file"}),
            200,
        )
        .await;
        propose_times.push(proposed);
        approve_times.push(approved);
        decide_times.push(proposed + approved);
    }
    let n = held.len();
    report(
        &format!("POST …/proposals ({n} held transfers)"),
        &mut propose_times,
        &mut base_times,
    );
    report(
        "POST …/proposals/{id}/approve",
        &mut approve_times,
        &mut base_times,
    );
    report(
        "a decision: proposal + approval",
        &mut decide_times,
        &mut base_times,
    );
}

/// Opens `count` monitoring cases, one per party, through `raise_alert`; answers how many.
async fn seed_cases(
    services: &Services,
    tenant: benteng_core::ids::TenantId,
    count: usize,
    concurrency: usize,
) -> usize {
    let audit = AuditContext::system("bench").staff_only();
    let cases = AlertCases::default();
    let now = benteng_core::now();
    let seeds = futures::stream::iter(0..count).map(|i| {
        let store = services.store.clone();
        let audit = audit.clone();
        let cases = cases.clone();
        async move {
            let id = uuid::Uuid::new_v4();
            // Spread over the last 100 hours (so some are past their 72-hour SLA) and over
            // the review band's priorities.
            let at = now - time::Duration::seconds(i64::try_from(i * 37 % 360_000).unwrap());
            let priority = u8::try_from(50 + i % 51).unwrap();
            let alert = NewAlert {
                id,
                kind: AlertKind::PostEvent,
                rule: Some("bench".to_owned()),
                tenant: Some(tenant),
                environment: KeyEnvironment::Live,
                transfer: None,
                detail: "{}".to_owned(),
                dedup_key: None,
                at,
                cases: vec![cases.opening(
                    id,
                    AlertParty::Recipient {
                        id: uuid::Uuid::new_v4().to_string(),
                        tenant,
                    },
                    KeyEnvironment::Live,
                    priority,
                    at,
                )],
            };
            let event = AuditEvent::new(
                &audit,
                "alert.raised",
                Retention::Security,
                ("alert", id.to_string()),
            )
            .at(at);
            store.raise_alert(&alert, &event, &audit).await.unwrap()
        }
    });
    seeds
        .buffer_unordered(concurrency)
        .filter(|raised| std::future::ready(*raised))
        .count()
        .await
}

/// Creates `login` with `role`, enrols them (password + TOTP) and signs them in.
async fn person(
    services: &Services,
    client: &reqwest::Client,
    base: &str,
    login: &str,
    role: StaffRole,
) -> Session {
    let roles: Roles = [role].into_iter().collect();
    let (created, _) = services
        .operations()
        .create_staff(
            None,
            &login.parse().unwrap(),
            roles,
            &AuditContext::system("bench"),
        )
        .await
        .unwrap();
    let code = created.enrolment_code.expose_secret().to_owned();
    let started: Value = client
        .post(format!("{base}/admin/v1/enrolment/start"))
        .json(&json!({"enrolment_code": code, "password": PASSWORD}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let secret = TotpSecret::from_base32(
        &started["totp_secret"]
            .as_str()
            .unwrap_or_else(|| panic!("enrolment: {started}"))
            .to_owned()
            .into(),
    )
    .unwrap();
    let unix = || u64::try_from(time::OffsetDateTime::now_utc().unix_timestamp()).unwrap();
    let finished = client
        .post(format!("{base}/admin/v1/enrolment/finish"))
        .json(&json!({"enrolment_code": code, "code": Totp::STANDARD.code_at(&secret, unix())}))
        .send()
        .await
        .unwrap();
    assert!(finished.status().is_success(), "enrolment finish");
    // The next time step's code: enrolment spent this one.
    let signed_in = client
        .post(format!("{base}/admin/v1/session"))
        .json(&json!({"login": login, "password": PASSWORD,
            "code": Totp::STANDARD.code_at(&secret, unix() + 30)}))
        .send()
        .await
        .unwrap();
    assert_eq!(signed_in.status(), 201, "sign-in");
    let cookie = signed_in.headers()["set-cookie"]
        .to_str()
        .unwrap()
        .split(';')
        .next()
        .unwrap()
        .to_owned();
    let body: Value = signed_in.json().await.unwrap();
    Session {
        cookie,
        csrf: body["csrf_token"].as_str().unwrap().to_owned(),
    }
}

/// A DE IBAN for account number `n` (its check digits computed).
fn iban(n: usize) -> String {
    let bban = format!("37040044{n:010}");
    // ISO 13616: BBAN + "DE00" as digits (D = 13, E = 14), mod 97.
    let digits = format!("{bban}131400");
    let remainder = digits
        .bytes()
        .fold(0u64, |r, d| (r * 10 + u64::from(d - b'0')) % 97);
    format!("DE{:02}{bban}", 98 - remainder)
}

/// Pays `count` new recipients in Iran (each a new corridor and a high-risk country: the
/// review band); answers the ids of the transfers held for review.
async fn held_transfers(
    client: &reqwest::Client,
    base: &str,
    key: &str,
    count: usize,
) -> Vec<String> {
    let mut held = Vec::with_capacity(count);
    let mut other = 0;
    for n in 0..count {
        let recipient: Value = client
            .post(format!("{base}/v1/recipients"))
            .bearer_auth(key)
            .json(
                &json!({"type": "business", "name": format!("Tehran Trading {n}"),
                "country": "IR", "bank_account": {"iban": iban(n + 1)}}),
            )
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let recipient = recipient["id"]
            .as_str()
            .unwrap_or_else(|| panic!("recipient: {recipient}"))
            .to_owned();
        let quote: Value = client
            .get(format!(
                "{base}/v1/quotes?source_currency=USD&target_currency=EUR&source_amount=20.00"
            ))
            .bearer_auth(key)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let transfer: Value = client
            .post(format!("{base}/v1/transfers"))
            .bearer_auth(key)
            .header("x-idempotency-key", uuid::Uuid::new_v4().to_string())
            .json(&json!({"quote_id": quote["id"], "recipient_id": recipient,
                "amount": "20.00", "currency": "USD"}))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        if transfer["status"] == "PENDING_REVIEW" {
            held.push(transfer["id"].as_str().unwrap().to_owned());
        } else {
            if other == 0 {
                println!("not held: {}", transfer["status"]);
            }
            other += 1;
        }
    }
    assert!(!held.is_empty(), "no transfer was held for review");
    if other > 0 {
        println!(
            "({other} of {count} transfers were not held; {} decided)",
            held.len()
        );
    }
    held
}

/// A GET, timed to the body's last byte; the time and the body.
async fn timed_get(
    client: &reqwest::Client,
    url: &str,
    session: Option<&Session>,
) -> (Duration, String) {
    let mut request = client.get(url);
    if let Some(session) = session {
        request = request.header("cookie", &session.cookie);
    }
    let started = Instant::now();
    let response = request.send().await.unwrap();
    let status = response.status();
    let body = response.text().await.unwrap();
    let took = started.elapsed();
    assert!(status.is_success(), "GET {url}: {status} {body}");
    (took, body)
}

/// A staff POST with the CSRF header, timed to the body's last byte; the time and the body.
async fn timed_post(
    client: &reqwest::Client,
    url: &str,
    session: &Session,
    body: &Value,
    expected: u16,
) -> (Duration, Value) {
    let request = client
        .post(url)
        .header("cookie", &session.cookie)
        .header("x-csrf-token", &session.csrf)
        .json(body);
    let started = Instant::now();
    let response = request.send().await.unwrap();
    let status = response.status();
    let text = response.text().await.unwrap();
    let took = started.elapsed();
    assert_eq!(status.as_u16(), expected, "POST {url}: {text}");
    (took, serde_json::from_str(&text).unwrap_or_default())
}

fn percentile(sorted: &[Duration], q: f64) -> Duration {
    let rank = ((q * sorted.len() as f64).ceil() as usize).clamp(1, sorted.len());
    sorted[rank - 1]
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

/// One line: the measured request's p50/p99, the baseline's, and their ratio.
fn report(what: &str, times: &mut [Duration], baseline: &mut [Duration]) {
    times.sort();
    baseline.sort();
    let (p50, p99) = (percentile(times, 0.50), percentile(times, 0.99));
    let (b50, b99) = (percentile(baseline, 0.50), percentile(baseline, 0.99));
    println!(
        "{what}: n {}  p50 {:.2} ms  p99 {:.2} ms  max {:.2} ms | GET /healthz p50 {:.2} ms  \
         p99 {:.2} ms | ratio p50 {:.1}x  p99 {:.1}x",
        times.len(),
        ms(p50),
        ms(p99),
        ms(times[times.len() - 1]),
        ms(b50),
        ms(b99),
        ms(p50) / ms(b50).max(1e-6),
        ms(p99) / ms(b99).max(1e-6),
    );
}
