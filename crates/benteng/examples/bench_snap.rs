//! Transfer throughput: SNAP-authenticated (`POST /v1.0/transfer-interbank`, one signed request
//! per transfer: the server finds the recipient and prices the quote) next to API-key
//! (`GET /v1/quotes` + `POST /v1/transfers`, two requests per transfer), same server, same run,
//! alternating rounds. Loopback HTTPS with development certificates, a fresh SQLite data dir (or
//! PostgreSQL + Redis with `BENCH_DATABASE_URL` and `BENCH_CACHE_URL`), bounded: `BENCH_TRANSFERS`
//! per round (default 300), `BENCH_CONCURRENCY` (default 8), `BENCH_ROUNDS` (default 3).
//!
//!   cargo run --release -p benteng --example bench_snap
//!
//! Needs `python3` with `cryptography` to make the partner's RSA key.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use benteng::{Config, Server, Services};
use benteng_core::audit::AuditContext;
use benteng_core::currency::Currency;
use benteng_core::money::Money;
use benteng_core::tenant::{Tenant, Tier};
use benteng_crypto::ExposeSecret;
use benteng_snap::{
    ClientSecret, RequestParts, SigningKey, SnapPrivateKey, SnapSigner, TokenRequestSigner, UrlMode,
};
use serde_json::{Value, json};

fn env_usize(name: &str, default: usize, max: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
        .clamp(1, max)
}

#[tokio::main(flavor = "multi_thread")]
async fn main() {
    let transfers = env_usize("BENCH_TRANSFERS", 300, 20_000);
    let concurrency = env_usize("BENCH_CONCURRENCY", 8, 256);
    let rounds = env_usize("BENCH_ROUNDS", 3, 9);
    let dir = tempfile::tempdir().unwrap();
    let mut config = Config {
        data_dir: dir.path().to_path_buf(),
        ..Config::default()
    };
    if let Ok(url) = std::env::var("BENCH_DATABASE_URL") {
        config.database.url = url;
    }
    if let Ok(url) = std::env::var("BENCH_CACHE_URL") {
        config.cache.url = url;
        config.cache.namespace = format!("bench_{}", uuid::Uuid::new_v4().simple());
    }
    config.server.bind = SocketAddr::from(([127, 0, 0, 1], 0));
    config.log.level = "warn".to_owned();
    config.rail.sandbox_settle_after_ms = 200;
    // Protection stays on (rate-limit step, idempotency keys, SNAP's fail-closed policy), with
    // limits no round reaches: the bench measures the work, not the limits.
    config.protection.tiers.enterprise.requests_per_minute = 1_000_000;
    config.protection.endpoints.clear();
    benteng::telemetry::init(&config.log);
    let services = Services::connect(config).await.unwrap();
    let server = Server::bind(&services).await.unwrap();
    let address = server.local_addr().unwrap();
    tokio::spawn(server.run(std::future::pending()));
    let base = format!("https://{address}");
    let ca =
        reqwest::Certificate::from_pem(&std::fs::read(dir.path().join("tls/dev-ca.pem")).unwrap())
            .unwrap();
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(30))
        .tls_certs_only([ca])
        .pool_max_idle_per_host(concurrency)
        .build()
        .unwrap();

    // A tenant with money, an API key, a recipient, and a SNAP partner with a token.
    let audit = AuditContext::system("bench");
    let tenant = Tenant::new(
        "PT Bench".parse().unwrap(),
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
            benteng_core::api_key::KeyEnvironment::Live,
            Money::parse("900000000000.00", Currency::IDR).unwrap(),
            &audit,
        )
        .await
        .unwrap();
    let key = services
        .api_keys
        .issue(
            tenant.id,
            benteng_core::api_key::KeyEnvironment::Live,
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
    let recipient: Value = client
        .post(format!("{base}/v1/recipients"))
        .bearer_auth(&key)
        .json(
            &json!({"type": "business", "name": "PT Sumber Makmur", "country": "ID",
                      "bank_account": {"account_number": "1234567890", "bank_code": "014"}}),
        )
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let recipient = recipient["id"].as_str().unwrap().to_owned();
    let (private_pem, public_pem) = rsa_key(dir.path());
    let partner_id = uuid::Uuid::new_v4();
    let secret = benteng_crypto::random_string(benteng_auth::snap::BASE62, 48).unwrap();
    let partner = benteng_store::SnapPartner {
        id: partner_id,
        tenant_id: tenant.id,
        client_id: "BENCH-PARTNER".to_owned(),
        key_fingerprint: benteng_snap::PartnerPublicKey::from_pem(&public_pem)
            .unwrap()
            .fingerprint_hex(),
        public_key_pem: public_pem,
        client_secret_sealed: benteng_auth::snap::seal_client_secret(
            &services.protection.keyring,
            tenant.id,
            partner_id,
            &secret,
        )
        .unwrap(),
        created_at: benteng_core::now(),
        revoked_at: None,
    };
    services
        .store
        .insert_snap_partner(&partner, &audit)
        .await
        .unwrap();
    let token_headers = TokenRequestSigner::new(
        "BENCH-PARTNER",
        SnapPrivateKey::from_pkcs8_pem(&private_pem).unwrap(),
    )
    .unwrap()
    .sign()
    .unwrap();
    let mut request = client
        .post(format!("{base}/v1.0/access-token/b2b"))
        .header("content-type", "application/json")
        .body(benteng_snap::TOKEN_REQUEST_BODY);
    for (name, value) in token_headers.pairs() {
        request = request.header(name, value);
    }
    let answer: Value = request.send().await.unwrap().json().await.unwrap();
    let token = answer["accessToken"].as_str().unwrap().to_owned();
    let signer = Arc::new(
        SnapSigner::new(
            "BENCH-PARTNER",
            "95221",
            UrlMode::PathAndQuery,
            SigningKey::Symmetric {
                client_secret: ClientSecret::new(secret.expose_secret().as_bytes()).unwrap(),
            },
        )
        .unwrap(),
    );

    println!(
        "transfers per round {transfers}, concurrency {concurrency}, rounds {rounds}, backend {:?}",
        services.store.backend()
    );
    let mut api_rates = Vec::new();
    let mut snap_rates = Vec::new();
    for round in 0..rounds {
        let api = run(transfers, concurrency, {
            let (client, base, key, recipient) =
                (client.clone(), base.clone(), key.clone(), recipient.clone());
            move |n| {
                let (client, base, key, recipient) =
                    (client.clone(), base.clone(), key.clone(), recipient.clone());
                async move { api_transfer(&client, &base, &key, &recipient, round, n).await }
            }
        })
        .await;
        let snap = run(transfers, concurrency, {
            let (client, base, token, signer) =
                (client.clone(), base.clone(), token.clone(), signer.clone());
            move |n| {
                let (client, base, token, signer) =
                    (client.clone(), base.clone(), token.clone(), signer.clone());
                async move { snap_transfer(&client, &base, &token, &signer, round, n).await }
            }
        })
        .await;
        println!("round {round}: API key {api:.1} transfers/s, SNAP {snap:.1} transfers/s");
        api_rates.push(api);
        snap_rates.push(snap);
    }
    let median = |v: &mut Vec<f64>| {
        v.sort_by(f64::total_cmp);
        v[v.len() / 2]
    };
    let (api, snap) = (median(&mut api_rates), median(&mut snap_rates));
    println!(
        "median: API key {api:.1} transfers/s (2 requests each), SNAP {snap:.1} transfers/s (1 request each), SNAP/API {:.2}",
        snap / api
    );
}

/// Transfers per second for `count` transfers, `concurrency` at a time; panics on any failure.
async fn run<F, Fut>(count: usize, concurrency: usize, make: F) -> f64
where
    F: Fn(usize) -> Fut + Clone + Send + 'static,
    Fut: std::future::Future<Output = ()> + Send,
{
    let next = Arc::new(AtomicUsize::new(0));
    let started = Instant::now();
    let mut tasks = Vec::new();
    for _ in 0..concurrency {
        let (next, make) = (next.clone(), make.clone());
        tasks.push(tokio::spawn(async move {
            loop {
                let n = next.fetch_add(1, Ordering::Relaxed);
                if n >= count {
                    break;
                }
                make(n).await;
            }
        }));
    }
    for task in tasks {
        task.await.unwrap();
    }
    count as f64 / started.elapsed().as_secs_f64()
}

async fn api_transfer(
    client: &reqwest::Client,
    base: &str,
    key: &str,
    recipient: &str,
    round: usize,
    n: usize,
) {
    let quote = client
        .get(format!(
            "{base}/v1/quotes?source_currency=IDR&target_currency=IDR&source_amount=10000.00"
        ))
        .bearer_auth(key)
        .send()
        .await
        .unwrap();
    assert_eq!(quote.status(), 201);
    let quote: Value = quote.json().await.unwrap();
    let response = client
        .post(format!("{base}/v1/transfers"))
        .bearer_auth(key)
        .header("x-idempotency-key", uuid::Uuid::new_v4().to_string())
        .json(
            &json!({"quote_id": quote["id"], "recipient_id": recipient, "amount": "10000.00",
                      "currency": "IDR", "reference": format!("API-{round}-{n}")}),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 201, "{}", response.text().await.unwrap());
}

async fn snap_transfer(
    client: &reqwest::Client,
    base: &str,
    token: &str,
    signer: &SnapSigner,
    round: usize,
    n: usize,
) {
    let body = json!({
        "partnerReferenceNo": format!("SNAP-{round}-{n}"),
        "amount": {"value": "10000.00", "currency": "IDR"},
        "beneficiaryAccountNo": "1234567890",
        "beneficiaryBankCode": "014",
        "beneficiaryAccountName": "PT Sumber Makmur",
        "transactionDate": "2026-11-24T10:00:00+07:00",
    })
    .to_string();
    let headers = signer
        .sign(&RequestParts {
            method: "POST",
            path: "/v1.0/transfer-interbank",
            query: None,
            body: body.as_bytes(),
            access_token: token,
        })
        .unwrap();
    let mut request = client
        .post(format!("{base}/v1.0/transfer-interbank"))
        .header("content-type", "application/json")
        .body(body);
    // The signer's headers carry `Authorization: Bearer {token}` (a second one is refused).
    for (name, value) in headers.pairs() {
        request = request.header(name, value);
    }
    let response = request.send().await.unwrap();
    assert_eq!(response.status(), 202, "{}", response.text().await.unwrap());
}

/// (PKCS#8 private PEM, SPKI public PEM) of a fresh RSA-2048 key, made by Python's cryptography.
fn rsa_key(dir: &std::path::Path) -> (String, String) {
    let script = "import sys\n\
from cryptography.hazmat.primitives.asymmetric import rsa\n\
from cryptography.hazmat.primitives import serialization as s\n\
k = rsa.generate_private_key(public_exponent=65537, key_size=2048)\n\
open(sys.argv[1], 'wb').write(k.private_bytes(s.Encoding.PEM, s.PrivateFormat.PKCS8, s.NoEncryption()))\n\
open(sys.argv[2], 'wb').write(k.public_key().public_bytes(s.Encoding.PEM, s.PublicFormat.SubjectPublicKeyInfo))\n";
    let (private, public) = (dir.join("partner.key"), dir.join("partner.pub"));
    let status = std::process::Command::new("python3")
        .args(["-c", script])
        .arg(&private)
        .arg(&public)
        .status()
        .expect("python3");
    assert!(status.success(), "python3 with cryptography is needed");
    (
        std::fs::read_to_string(private).unwrap(),
        std::fs::read_to_string(public).unwrap(),
    )
}
