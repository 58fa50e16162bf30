//! SNAP end to end: partners registered by the CLI, tokens and transfers from the independent
//! Python client, and every refusal in SNAP's format with nothing processed.

use std::path::{Path, PathBuf};
use std::time::Duration;

use benteng_core::currency::Currency;
use benteng_snap::{
    ClientSecret, RequestParts, SigningKey, SnapPrivateKey, SnapSigner, TokenRequestSigner, UrlMode,
};
use reqwest::StatusCode;
use serde_json::{Value, json};
use time::OffsetDateTime;

use crate::harness::{
    Backend, Environment, Process, TestApp, cli, client_builder, on_both_backends, workspace_root,
};
use crate::payments::fund;

const CLIENT: &str = "snap_client.py";

/// An RSA key pair made by Python's `cryptography`: (PKCS#8 private PEM, SPKI public PEM).
fn rsa_key(dir: &Path, name: &str, bits: u32) -> (PathBuf, PathBuf) {
    let private = dir.join(format!("{name}.key"));
    let public = dir.join(format!("{name}.pub"));
    let script = "import sys\n\
from cryptography.hazmat.primitives.asymmetric import rsa\n\
from cryptography.hazmat.primitives import serialization as s\n\
k = rsa.generate_private_key(public_exponent=65537, key_size=int(sys.argv[1]))\n\
open(sys.argv[2], 'wb').write(k.private_bytes(s.Encoding.PEM, s.PrivateFormat.PKCS8, s.NoEncryption()))\n\
open(sys.argv[3], 'wb').write(k.public_key().public_bytes(s.Encoding.PEM, s.PublicFormat.SubjectPublicKeyInfo))\n";
    let status = std::process::Command::new("python3")
        .args(["-c", script, &bits.to_string()])
        .arg(&private)
        .arg(&public)
        .status()
        .expect("python3");
    assert!(status.success(), "key generation");
    (private, public)
}

struct Partner {
    client_id: String,
    secret: String,
    private_key: PathBuf,
}

/// Registers a partner of `tenant` through the CLI; returns it with its client secret.
async fn register(env: &Environment, tenant: &str, client_id: &str) -> Partner {
    let (private_key, public_key) = rsa_key(env.data_dir.path(), client_id, 2048);
    let (ok, stdout, stderr) = cli(
        env,
        &[
            "snap",
            "partner",
            "add",
            "--tenant",
            tenant,
            "--client-id",
            client_id,
            "--public-key",
            public_key.to_str().unwrap(),
        ],
    )
    .await;
    assert!(ok, "{stderr}");
    let secret = stdout.trim().to_owned();
    assert!(secret.len() >= 32 && secret.bytes().all(|b| b.is_ascii_alphanumeric()));
    Partner {
        client_id: client_id.to_owned(),
        secret,
        private_key,
    }
}

fn python(env: &Environment, base_url: &str, partner: &Partner, args: &[&str]) -> (bool, Value) {
    let script = workspace_root().join("crates/snap/clients").join(CLIENT);
    let ca = env.data_dir.path().join("tls/dev-ca.pem");
    let mut command = std::process::Command::new("python3");
    command.arg(script).arg(args[0]).args([
        "--base-url",
        base_url,
        "--client-id",
        &partner.client_id,
        "--private-key",
        partner.private_key.to_str().unwrap(),
        "--cacert",
        ca.to_str().unwrap(),
    ]);
    if args[0] == "request" {
        command.args(["--client-secret", &partner.secret]);
    }
    let output = command.args(&args[1..]).output().expect("python3");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let value = serde_json::from_str(stdout.trim()).unwrap_or_else(|_| {
        panic!(
            "not JSON: {stdout} {}",
            String::from_utf8_lossy(&output.stderr)
        )
    });
    (output.status.success(), value)
}

/// `partner`'s token request headers, signed now with a millisecond timestamp (a repeated
/// signature is a replay, and one signed per second would repeat within a test).
fn token_request(partner: &Partner) -> Vec<(&'static str, String)> {
    let key =
        SnapPrivateKey::from_pkcs8_pem(&std::fs::read_to_string(&partner.private_key).unwrap())
            .unwrap();
    let now = OffsetDateTime::now_utc();
    let seconds = benteng_snap::headers::format_timestamp(now);
    let timestamp = format!("{}.{:03}+07:00", &seconds[..19], now.millisecond());
    let headers = TokenRequestSigner::new(&partner.client_id, key)
        .unwrap()
        .sign_with_timestamp(&timestamp)
        .unwrap();
    headers.pairs()
}

/// A token for `partner`, from the Rust signer (the server's token endpoint).
async fn token(client: &reqwest::Client, base: &str, partner: &Partner) -> String {
    let headers = token_request(partner);
    let mut request = client
        .post(format!("{base}/v1.0/access-token/b2b"))
        .header("content-type", "application/json")
        .body(benteng_snap::TOKEN_REQUEST_BODY);
    for (name, value) in headers {
        request = request.header(name, value);
    }
    let response = request.send().await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["responseCode"], "2007300");
    assert_eq!(body["tokenType"], "Bearer");
    assert_eq!(body["expiresIn"], "900");
    body["accessToken"].as_str().unwrap().to_owned()
}

/// One signed request; `tamper` edits the headers after signing.
struct Call<'a> {
    partner_id: &'a str,
    secret: &'a str,
    token: &'a str,
    /// What is signed.
    method: &'a str,
    path: &'a str,
    query: Option<&'a str>,
    body: &'a str,
    at: OffsetDateTime,
    external_id: String,
}

impl<'a> Call<'a> {
    fn new(partner: &'a Partner, token: &'a str, path: &'a str, body: &'a str) -> Self {
        Self {
            partner_id: &partner.client_id,
            secret: &partner.secret,
            token,
            method: "POST",
            path,
            query: None,
            body,
            at: OffsetDateTime::now_utc(),
            external_id: benteng_snap::fresh_external_id().unwrap(),
        }
    }

    fn headers(&self) -> Vec<(&'static str, String)> {
        let key = SigningKey::Symmetric {
            client_secret: ClientSecret::new(self.secret.as_bytes()).unwrap(),
        };
        let signer = SnapSigner::new(self.partner_id, "95221", UrlMode::PathAndQuery, key).unwrap();
        let parts = RequestParts {
            method: self.method,
            path: self.path,
            query: self.query,
            body: self.body.as_bytes(),
            access_token: self.token,
        };
        let pairs = signer
            .sign_at(&parts, self.at, &self.external_id)
            .unwrap()
            .pairs();
        // The signer adds `Authorization` itself; a second one would be refused.
        assert!(pairs.iter().any(|(name, _)| *name == "Authorization"));
        pairs
    }
}

/// Sends to `path` with `body` (which may differ from what was signed) and `headers`.
async fn send(
    client: &reqwest::Client,
    base: &str,
    path: &str,
    body: &str,
    headers: &[(&'static str, String)],
) -> (StatusCode, Value) {
    let mut request = client
        .post(format!("{base}{path}"))
        .header("content-type", "application/json")
        .body(body.to_owned());
    for (name, value) in headers {
        request = request.header(*name, value);
    }
    let response = request.send().await.unwrap();
    let status = response.status();
    let content_type = response
        .headers()
        .get("content-type")
        .map(|v| v.to_str().unwrap().to_owned());
    assert_eq!(content_type.as_deref(), Some("application/json"), "{path}");
    (status, response.json().await.unwrap())
}

fn without(headers: &[(&'static str, String)], name: &str) -> Vec<(&'static str, String)> {
    headers
        .iter()
        .filter(|(n, _)| !n.eq_ignore_ascii_case(name))
        .cloned()
        .collect()
}

fn replaced(
    headers: &[(&'static str, String)],
    name: &'static str,
    value: &str,
) -> Vec<(&'static str, String)> {
    let mut out = without(headers, name);
    out.push((name, value.to_owned()));
    out
}

fn transfer_body(reference: &str, amount: &str) -> String {
    // Pretty-printed on purpose: the signature covers the minified raw bytes.
    serde_json::to_string_pretty(&json!({
        "partnerReferenceNo": reference,
        "amount": {"value": amount, "currency": "IDR"},
        "beneficiaryAccountNo": "1234567890",
        "beneficiaryBankCode": "014",
        "beneficiaryAccountName": "PT Sumber Makmur",
        "transactionDate": "2026-11-24T10:00:00+07:00",
    }))
    .unwrap()
}

const BALANCE_PATH: &str = "/v1.0/balance-inquiry";

/// How soon a revocation from the CLI must be refused by a server beside it. The CLI reaches
/// the servers' caches over pub/sub (Redis) or, with the in-process shared state, through their
/// watermark poll (every second); the bound leaves room for the suite sharing two cores.
const REVOCATION_BOUND: Duration = Duration::from_secs(10);

/// Polls balance inquiries (which change nothing) with `token` at `base` until one is refused
/// with 401; returns how long that took. Each body differs, so no two signatures are the same.
async fn refused_within(
    client: &reqwest::Client,
    base: &str,
    partner: &Partner,
    token: &str,
    limit: Duration,
) -> Duration {
    let started = std::time::Instant::now();
    let mut n = 0;
    loop {
        n += 1;
        let body = format!(r#"{{"partnerReferenceNo":"POLL-{n}"}}"#);
        let call = Call::new(partner, token, BALANCE_PATH, &body);
        let (status, answer) = send(client, base, BALANCE_PATH, &body, &call.headers()).await;
        if status == StatusCode::UNAUTHORIZED {
            return started.elapsed();
        }
        assert_eq!(status, StatusCode::OK, "{base}: {answer}");
        assert!(
            started.elapsed() < limit,
            "{base} still accepts the token after {limit:?}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

async fn transfer_count(app: &TestApp, key: &str) -> usize {
    let page: Value = app
        .get("/v1/transfers", Some(key))
        .await
        .json()
        .await
        .unwrap();
    page["data"].as_array().unwrap().len()
}

async fn python_client_pays_and_the_transfer_completes(backend: Backend) {
    let app = TestApp::spawn_with(backend, |c| c.rail.sandbox_settle_after_ms = 200).await;
    let (tenant, key) = app.tenant_with_key().await;
    fund(&app, tenant.id, "10000000.00", Currency::IDR).await;
    let partner = register(app.environment(), &tenant.id.to_string(), "PARTNER-01").await;
    let base = app.url("");
    let env = app.environment();

    let (ok, answer) = python(env, &base, &partner, &["token"]);
    assert!(ok, "{answer}");
    assert_eq!(answer["responseCode"], "2007300");
    let token = answer["accessToken"].as_str().unwrap().to_owned();
    assert!(token.len() >= 32);

    let body = transfer_body("INV-2026-0001", "150000.00");
    let (ok, answer) = python(
        env,
        &base,
        &partner,
        &[
            "request",
            "--token",
            &token,
            "POST",
            "/v1.0/transfer-interbank",
            &body,
        ],
    );
    assert!(ok, "{answer}");
    assert_eq!(answer["responseCode"], "2021800");
    assert_eq!(answer["partnerReferenceNo"], "INV-2026-0001");
    assert_eq!(
        answer["amount"],
        json!({"value": "150000.00", "currency": "IDR"})
    );
    let transfer_id = answer["referenceNo"].as_str().unwrap().to_owned();

    // The status inquiry reports completion once the sandbox rail settles (each poll is a
    // new signed request: a new timestamp, so never the same signature).
    let status_body = r#"{"originalPartnerReferenceNo":"INV-2026-0001","serviceCode":"18"}"#;
    let mut last = Value::Null;
    for _ in 0..30 {
        tokio::time::sleep(Duration::from_millis(1100)).await;
        let (ok, answer) = python(
            env,
            &base,
            &partner,
            &[
                "request",
                "--token",
                &token,
                "POST",
                "/v1.0/transfer/status",
                status_body,
            ],
        );
        assert!(ok, "{answer}");
        assert_eq!(answer["responseCode"], "2003600");
        last = answer;
        if last["latestTransactionStatus"] == "00" {
            break;
        }
    }
    assert_eq!(last["latestTransactionStatus"], "00", "{last}");
    assert_eq!(last["originalReferenceNo"], transfer_id.as_str());

    // The same transfer through /v1: completed, one of the tenant's, through the same core.
    let shown: Value = app
        .get(&format!("/v1/transfers/{transfer_id}"), Some(&key))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(shown["status"], "COMPLETED");
    assert_eq!(shown["reference"], "INV-2026-0001");

    // Balance inquiry: 10,000,000 − 150,000 − fee.
    let (ok, answer) = python(
        env,
        &base,
        &partner,
        &[
            "request",
            "--token",
            &token,
            "POST",
            "/v1.0/balance-inquiry",
            "{}",
        ],
    );
    assert!(ok, "{answer}");
    assert_eq!(answer["responseCode"], "2001100");
    let idr = &answer["accountInfos"][0];
    assert_eq!(idr["availableBalance"]["currency"], "IDR");
    assert_eq!(idr["availableBalance"]["value"], "9849250.00");

    // A tenant that requires mTLS: the client without a certificate is refused, with the
    // tenant's registered certificate (--cert/--key) it is served.
    let dev = env.dev_certs();
    let tenant_id = tenant.id.to_string();
    let pem = dev.client_cert.to_str().unwrap();
    let (ok, _, err) = cli(
        env,
        &[
            "tenant", "cert", "add", "--tenant", &tenant_id, "--pem", pem,
        ],
    )
    .await;
    assert!(ok, "{err}");
    let (ok, _, err) = cli(env, &["tenant", "require-mtls", &tenant_id, "on"]).await;
    assert!(ok, "{err}");
    // Each call's body differs, so no two share a signature (a repeat within one second
    // would be refused as a replay, not for its certificate).
    let balance = |certificate: &[&str], n: usize| {
        let body = format!(r#"{{"partnerReferenceNo":"MTLS-{n}"}}"#);
        let mut args: Vec<&str> = vec!["request"];
        args.extend_from_slice(certificate);
        args.extend([
            "--token",
            token.as_str(),
            "POST",
            "/v1.0/balance-inquiry",
            &body,
        ]);
        python(env, &base, &partner, &args)
    };
    let mut refused = (true, Value::Null);
    for n in 0..20 {
        refused = balance(&[], n);
        if !refused.0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(
        refused.1["responseMessage"], "Unauthorized. [Certificate]",
        "{}",
        refused.1
    );
    let key = dev.client_key.to_str().unwrap();
    let (ok, answer) = balance(&["--cert", pem, "--key", key], 99);
    assert!(ok, "{answer}");
    assert_eq!(answer["responseCode"], "2001100");

    // The audit trail has the partner, the token and the transfer.
    let (ok, out, _) = cli(env, &["audit", "export"]).await;
    assert!(ok);
    for event in [
        "snap.partner_added",
        "snap.token_issued",
        "snap.transfer_linked",
        "transfer.initiated",
    ] {
        assert!(out.contains(event), "{event} missing");
    }
}

async fn refusals_are_snap_answers_and_nothing_is_processed(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let (tenant, key) = app.tenant_with_key().await;
    fund(&app, tenant.id, "10000000.00", Currency::IDR).await;
    let env = app.environment();
    let partner = register(env, &tenant.id.to_string(), "PARTNER-A").await;
    let other = register(env, &tenant.id.to_string(), "PARTNER-B").await;
    let base = app.url("");
    let client = &app.client;
    let token_a = token(client, &base, &partner).await;
    let token_b = token(client, &base, &other).await;
    const TRANSFER: &str = "/v1.0/transfer-interbank";
    const BALANCE: &str = "/v1.0/balance-inquiry";
    let body = transfer_body("REF-1", "1000.00");

    let expect = |(status, answer): (StatusCode, Value), code: &str, message: &str| {
        assert_eq!(answer["responseCode"], code, "{answer}");
        assert_eq!(answer["responseMessage"], message, "{answer}");
        assert_eq!(status.as_u16().to_string(), &code[..3]);
    };

    // Headers: missing, empty, malformed.
    let good = Call::new(&partner, &token_a, TRANSFER, &body).headers();
    expect(
        send(
            client,
            &base,
            TRANSFER,
            &body,
            &without(&good, "Authorization"),
        )
        .await,
        "4011803",
        "Token Not Found (B2B)",
    );
    for (name, field) in [
        ("X-TIMESTAMP", "X-TIMESTAMP"),
        ("X-SIGNATURE", "X-SIGNATURE"),
        ("X-PARTNER-ID", "X-PARTNER-ID"),
        ("X-EXTERNAL-ID", "X-EXTERNAL-ID"),
        ("CHANNEL-ID", "CHANNEL-ID"),
    ] {
        expect(
            send(client, &base, TRANSFER, &body, &without(&good, name)).await,
            "4001802",
            &format!("Invalid Mandatory Field [{field}]"),
        );
    }
    expect(
        send(
            client,
            &base,
            TRANSFER,
            &body,
            &replaced(&good, "X-TIMESTAMP", "24/11/2026 10:00"),
        )
        .await,
        "4001801",
        "Invalid Field Format [X-TIMESTAMP]",
    );
    expect(
        send(
            client,
            &base,
            TRANSFER,
            &body,
            &replaced(&good, "X-SIGNATURE", "not base64!"),
        )
        .await,
        "4001801",
        "Invalid Field Format [X-SIGNATURE]",
    );
    expect(
        send(
            client,
            &base,
            TRANSFER,
            &body,
            &replaced(&good, "X-EXTERNAL-ID", "no spaces allowed"),
        )
        .await,
        "4001801",
        "Invalid Field Format [X-EXTERNAL-ID]",
    );

    // Signatures over something else than what is sent.
    let sig = "Unauthorized. [Signature]";
    let mut other_body = Call::new(&partner, &token_a, TRANSFER, "{}");
    expect(
        send(client, &base, TRANSFER, &body, &other_body.headers()).await,
        "4011800",
        sig,
    );
    other_body.method = "PUT";
    other_body.body = &body;
    expect(
        send(client, &base, TRANSFER, &body, &other_body.headers()).await,
        "4011800",
        sig,
    );
    let other_path = Call::new(&partner, &token_a, BALANCE, &body);
    expect(
        send(client, &base, TRANSFER, &body, &other_path.headers()).await,
        "4011800",
        sig,
    );
    let mut other_query = Call::new(&partner, &token_a, TRANSFER, &body);
    other_query.query = Some("channel=1");
    expect(
        send(client, &base, TRANSFER, &body, &other_query.headers()).await,
        "4011800",
        sig,
    );
    let other_token = Call::new(&partner, "someothertoken", TRANSFER, &body).headers();
    expect(
        send(
            client,
            &base,
            TRANSFER,
            &body,
            &replaced(&other_token, "Authorization", &format!("Bearer {token_a}")),
        )
        .await,
        "4011800",
        sig,
    );
    let moved = Call::new(&partner, &token_a, TRANSFER, &body).headers();
    let later = benteng_snap::headers::format_timestamp(
        OffsetDateTime::now_utc() + time::Duration::seconds(5),
    );
    expect(
        send(
            client,
            &base,
            TRANSFER,
            &body,
            &replaced(&moved, "X-TIMESTAMP", &later),
        )
        .await,
        "4011800",
        sig,
    );
    let mut wrong_secret = Call::new(&partner, &token_a, TRANSFER, &body);
    wrong_secret.secret = &other.secret;
    expect(
        send(client, &base, TRANSFER, &body, &wrong_secret.headers()).await,
        "4011800",
        sig,
    );

    // Timestamps outside ±300 s.
    for skew in [-301, 301] {
        let mut stale = Call::new(&partner, &token_a, TRANSFER, &body);
        stale.at = OffsetDateTime::now_utc() + time::Duration::seconds(skew);
        expect(
            send(client, &base, TRANSFER, &body, &stale.headers()).await,
            "4011800",
            "Unauthorized. [Timestamp]",
        );
    }

    // Tokens: unknown, another partner's, expired, revoked.
    let unknown = Call::new(
        &partner,
        "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
        TRANSFER,
        &body,
    );
    expect(
        send(client, &base, TRANSFER, &body, &unknown.headers()).await,
        "4011801",
        "Invalid Token (B2B)",
    );
    let mut foreign = Call::new(&other, &token_b, TRANSFER, &body);
    foreign.partner_id = &partner.client_id;
    expect(
        send(client, &base, TRANSFER, &body, &foreign.headers()).await,
        "4011801",
        "Invalid Token (B2B)",
    );
    let expiring = token(client, &base, &partner).await;
    let mut conn = app.raw_sql().await;
    sqlx::query("UPDATE snap_tokens SET expires_at = 0 WHERE token_hash = $1")
        .bind(hex::encode(benteng_crypto::sha256(expiring.as_bytes())))
        .execute(&mut conn)
        .await
        .unwrap();
    let expired = Call::new(&partner, &expiring, TRANSFER, &body);
    expect(
        send(client, &base, TRANSFER, &body, &expired.headers()).await,
        "4011801",
        "Invalid Token (B2B)",
    );
    let (ok, revoked, stderr) = cli(env, &["snap", "token", "revoke", "PARTNER-B"]).await;
    assert!(ok, "{stderr}");
    assert_eq!(revoked.trim(), "1");
    refused_within(client, &base, &other, &token_b, REVOCATION_BOUND).await;
    let revoked = Call::new(&other, &token_b, TRANSFER, &body);
    expect(
        send(client, &base, TRANSFER, &body, &revoked.headers()).await,
        "4011801",
        "Invalid Token (B2B)",
    );

    // Not one of those created anything.
    assert_eq!(transfer_count(&app, &key).await, 0);

    // A body that is not JSON, correctly signed: 400xx00; a missing field: 400xx02.
    // (The body cannot even be hashed, so what was signed does not matter.)
    let broken = "{\"partnerReferenceNo\": ";
    let call = Call::new(&partner, &token_a, TRANSFER, "{}");
    expect(
        send(client, &base, TRANSFER, broken, &call.headers()).await,
        "4001800",
        "Bad Request",
    );
    let missing = r#"{"partnerReferenceNo":"REF-1","amount":{"value":"1000.00","currency":"IDR"}}"#;
    let call = Call::new(&partner, &token_a, TRANSFER, missing);
    expect(
        send(client, &base, TRANSFER, missing, &call.headers()).await,
        "4001802",
        "Invalid Mandatory Field [beneficiaryAccountNo]",
    );
    let bad_amount = transfer_body("REF-1", "1000");
    let call = Call::new(&partner, &token_a, TRANSFER, &bad_amount);
    expect(
        send(client, &base, TRANSFER, &bad_amount, &call.headers()).await,
        "4001801",
        "Invalid Field Format [amount.value]",
    );
    assert_eq!(transfer_count(&app, &key).await, 0);

    // The same X-EXTERNAL-ID twice the same day: 409xx00, even with a fresh signature.
    let first = Call::new(&partner, &token_a, BALANCE, "{}");
    let (status, answer) = send(client, &base, BALANCE, "{}", &first.headers()).await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    let mut again = Call::new(&partner, &token_a, BALANCE, r#"{"accountNo":"x"}"#);
    again.external_id = first.external_id.clone();
    // The same X-TIMESTAMP, so both fall on one Jakarta day even across its midnight (the
    // signature is still fresh: the body differs).
    again.at = first.at;
    expect(
        send(
            client,
            &base,
            BALANCE,
            r#"{"accountNo":"x"}"#,
            &again.headers(),
        )
        .await,
        "4091100",
        "Conflict",
    );
    // The same signed request replayed under a new external id: 409xx00 too.
    let replay = replaced(&first.headers(), "X-EXTERNAL-ID", "123456789");
    expect(
        send(client, &base, BALANCE, "{}", &replay).await,
        "4091100",
        "Conflict",
    );

    // partnerReferenceNo once per partner: 409xx01, and only one transfer.
    let call = Call::new(&partner, &token_a, TRANSFER, &body);
    let (status, answer) = send(client, &base, TRANSFER, &body, &call.headers()).await;
    assert_eq!(status, StatusCode::ACCEPTED, "{answer}");
    // Signed a second later: the same body signed in the same second is the same signature,
    // which the replay check answers first (409xx00).
    let mut call = Call::new(&partner, &token_a, TRANSFER, &body);
    call.at += time::Duration::seconds(1);
    expect(
        send(client, &base, TRANSFER, &body, &call.headers()).await,
        "4091801",
        "Duplicate partnerReferenceNo",
    );
    assert_eq!(transfer_count(&app, &key).await, 1);
    // Concurrent requests with one new reference (distinct external ids and signatures): the
    // transfer's own transaction records the reference, so exactly one transfer is made.
    let racing = transfer_body("INV-RACE-1", "1500.00");
    let mut sends = Vec::new();
    for i in 0..5 {
        let mut call = Call::new(&partner, &token_a, TRANSFER, &racing);
        call.at += time::Duration::seconds(2 + i);
        let headers = call.headers();
        let (client, base, racing) = (client.clone(), base.clone(), racing.clone());
        sends.push(tokio::spawn(async move {
            send(&client, &base, TRANSFER, &racing, &headers).await
        }));
    }
    let mut codes = Vec::new();
    for sent in sends {
        let (status, answer) = sent.await.unwrap();
        codes.push((
            status,
            answer["responseCode"].as_str().unwrap_or("").to_owned(),
        ));
    }
    let accepted = codes
        .iter()
        .filter(|(s, _)| *s == StatusCode::ACCEPTED)
        .count();
    assert_eq!(accepted, 1, "{codes:?}");
    assert!(
        codes
            .iter()
            .all(|(s, c)| *s == StatusCode::ACCEPTED || c == "4091801"),
        "{codes:?}"
    );
    assert_eq!(transfer_count(&app, &key).await, 2);
    // Another partner may use the same reference.
    let token_b2 = token(client, &base, &other).await;
    let call = Call::new(&other, &token_b2, TRANSFER, &body);
    let (status, answer) = send(client, &base, TRANSFER, &body, &call.headers()).await;
    assert_eq!(status, StatusCode::ACCEPTED, "{answer}");
    // Unknown reference at the status inquiry: 404xx01.
    let unknown_ref = r#"{"originalPartnerReferenceNo":"NOPE"}"#;
    let call = Call::new(&partner, &token_a, "/v1.0/transfer/status", unknown_ref);
    expect(
        send(
            client,
            &base,
            "/v1.0/transfer/status",
            unknown_ref,
            &call.headers(),
        )
        .await,
        "4043601",
        "Transaction Not Found",
    );

    // Errors below the handlers on SNAP paths are SNAP answers too.
    let (status, answer) = send(client, &base, "/v1.0/no-such-service", "{}", &[]).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(answer["responseCode"], "4040000");

    // Token requests: unknown client, SHA-1 signature, bad grant.
    let pem = std::fs::read_to_string(&partner.private_key).unwrap();
    let signer =
        TokenRequestSigner::new("NOBODY", SnapPrivateKey::from_pkcs8_pem(&pem).unwrap()).unwrap();
    let (status, answer) = send(
        client,
        &base,
        "/v1.0/access-token/b2b",
        benteng_snap::TOKEN_REQUEST_BODY,
        &signer.sign().unwrap().pairs(),
    )
    .await;
    assert_eq!(
        (status, &answer["responseCode"]),
        (StatusCode::UNAUTHORIZED, &json!("4017300"))
    );
    let timestamp = benteng_snap::headers::format_timestamp(OffsetDateTime::now_utc());
    let sha1 = sign_sha1(&partner.private_key, &format!("PARTNER-A|{timestamp}"));
    let headers = vec![
        ("X-CLIENT-KEY", "PARTNER-A".to_owned()),
        ("X-TIMESTAMP", timestamp),
        ("X-SIGNATURE", sha1),
    ];
    let (status, answer) = send(
        client,
        &base,
        "/v1.0/access-token/b2b",
        benteng_snap::TOKEN_REQUEST_BODY,
        &headers,
    )
    .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(answer["responseCode"], "4017300");
    assert_eq!(answer["responseMessage"], "Unauthorized. [Signature]");

    // The key registry lists the partner's client secret with its rotation date, never the
    // secret itself.
    let (ok, keys, _) = cli(env, &["keys", "status"]).await;
    assert!(
        ok && keys
            .lines()
            .any(|l| l.starts_with("client-secret") && l.contains("PARTNER-A")),
        "{keys}"
    );
    assert!(!keys.contains(&partner.secret));

    // Revoking the partner ends its tokens at once.
    let (ok, _, stderr) = cli(env, &["snap", "partner", "revoke", "PARTNER-A"]).await;
    assert!(ok, "{stderr}");
    refused_within(client, &base, &partner, &token_a, REVOCATION_BOUND).await;
    let (_, keys, _) = cli(env, &["keys", "status"]).await;
    assert!(
        !keys.contains("PARTNER-A"),
        "a revoked partner's secret is no longer held: {keys}"
    );
    let call = Call::new(&partner, &token_a, BALANCE, "{}");
    expect(
        send(client, &base, BALANCE, "{}", &call.headers()).await,
        "4011101",
        "Invalid Token (B2B)",
    );
    let (ok, list, _) = cli(env, &["snap", "partner", "list"]).await;
    assert!(ok && list.contains("PARTNER-A") && list.contains("PARTNER-B"));
    assert!(!list.contains(&partner.secret));
}

/// base64(RSASSA-PKCS1-v1_5 with SHA-1): what the token endpoint must refuse.
fn sign_sha1(key: &Path, text: &str) -> String {
    let script = "import sys, base64\n\
from cryptography.hazmat.primitives import serialization, hashes\n\
from cryptography.hazmat.primitives.asymmetric import padding\n\
k = serialization.load_pem_private_key(open(sys.argv[1], 'rb').read(), password=None)\n\
print(base64.b64encode(k.sign(sys.argv[2].encode(), padding.PKCS1v15(), hashes.SHA1())).decode())\n";
    let output = std::process::Command::new("python3")
        .args(["-c", script])
        .arg(key)
        .arg(text)
        .output()
        .expect("python3");
    assert!(output.status.success());
    String::from_utf8(output.stdout).unwrap().trim().to_owned()
}

async fn small_partner_keys_are_refused_at_registration(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let (tenant, _) = app.tenant_with_key().await;
    let env = app.environment();
    let (_, public) = rsa_key(env.data_dir.path(), "small", 1024);
    let (ok, stdout, stderr) = cli(
        env,
        &[
            "snap",
            "partner",
            "add",
            "--tenant",
            &tenant.id.to_string(),
            "--client-id",
            "SMALL",
            "--public-key",
            public.to_str().unwrap(),
        ],
    )
    .await;
    assert!(!ok);
    assert!(stdout.is_empty());
    assert!(stderr.contains("refused"), "{stderr}");
    let (ok, list, _) = cli(env, &["snap", "partner", "list"]).await;
    assert!(ok && !list.contains("SMALL"));
}

/// A captured token request sent again, inside its timestamp window, mints no second token:
/// the same signature is a replay (409xx00 with service code 73), and a newly signed request
/// is served.
async fn a_replayed_token_request_mints_no_second_token(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let (tenant, _) = app.tenant_with_key().await;
    let partner = register(app.environment(), &tenant.id.to_string(), "PARTNER-RT").await;
    let base = app.url("");
    let path = "/v1.0/access-token/b2b";
    let captured = token_request(&partner);
    let body = benteng_snap::TOKEN_REQUEST_BODY;
    let (status, answer) = send(&app.client, &base, path, body, &captured).await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    assert_eq!(answer["responseCode"], "2007300");
    let (status, answer) = send(&app.client, &base, path, body, &captured).await;
    assert_eq!(status, StatusCode::CONFLICT, "{answer}");
    assert_eq!(answer["responseCode"], "4097300");
    assert!(answer.get("accessToken").is_none());
    // The partner itself, signing anew, is served.
    let _ = token(&app.client, &base, &partner).await;
}

on_both_backends!(
    a_replayed_token_request_mints_no_second_token,
    python_client_pays_and_the_transfer_completes,
    refusals_are_snap_answers_and_nothing_is_processed,
    small_partner_keys_are_refused_at_registration,
    the_token_endpoint_is_limited_per_client_address,
    a_partner_gets_signed_snap_status_notifications,
);

/// Every call of the token endpoint counts against the caller's address (30 a minute by
/// default), so guessing a partner's credentials is slow; the refusal is a SNAP answer.
async fn the_token_endpoint_is_limited_per_client_address(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let base = app.url("");
    let headers = vec![
        ("X-CLIENT-KEY", "NOBODY".to_owned()),
        (
            "X-TIMESTAMP",
            benteng_snap::headers::format_timestamp(OffsetDateTime::now_utc()),
        ),
        ("X-SIGNATURE", "AAAA".to_owned()),
    ];
    let mut statuses = Vec::new();
    for _ in 0..31 {
        let (status, answer) = send(
            &app.client,
            &base,
            "/v1.0/access-token/b2b",
            benteng_snap::TOKEN_REQUEST_BODY,
            &headers,
        )
        .await;
        statuses.push((status, answer["responseCode"].clone()));
    }
    assert!(
        statuses[..30]
            .iter()
            .all(|(status, _)| *status == StatusCode::UNAUTHORIZED),
        "{statuses:?}"
    );
    assert_eq!(
        statuses[30].0,
        StatusCode::TOO_MANY_REQUESTS,
        "{statuses:?}"
    );
    assert_eq!(statuses[30].1, "4297300", "{statuses:?}");
}

/// Two processes on one PostgreSQL + Redis: an X-EXTERNAL-ID used at one is refused at the
/// other the same day.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn external_ids_are_unique_across_instances() {
    let env = Environment::new(Backend::Postgres).await;
    let first = Process::serve(&env).await;
    let second = Process::serve(&env).await;
    let (ok, tenant, stderr) = cli(
        &env,
        &["tenant", "create", "--name", "PT Dua", "--tier", "growth"],
    )
    .await;
    assert!(ok, "{stderr}");
    let (ok, _, stderr) = cli(&env, &["kyc", "set-level", tenant.trim(), "enhanced"]).await;
    assert!(ok, "{stderr}");
    let partner = register(&env, tenant.trim(), "PARTNER-X").await;
    let client = client_builder(&env.data_dir.path().join("tls/dev-ca.pem"))
        .build()
        .unwrap();
    let token = token(&client, &first.url(""), &partner).await;
    const BALANCE: &str = "/v1.0/balance-inquiry";
    let call = Call::new(&partner, &token, BALANCE, "{}");
    let (status, answer) = send(&client, &first.url(""), BALANCE, "{}", &call.headers()).await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    let mut again = Call::new(&partner, &token, BALANCE, r#"{"accountNo":"1"}"#);
    again.external_id = call.external_id.clone();
    let (status, answer) = send(
        &client,
        &second.url(""),
        BALANCE,
        r#"{"accountNo":"1"}"#,
        &again.headers(),
    )
    .await;
    assert_eq!(status, StatusCode::CONFLICT);
    assert_eq!(answer["responseCode"], "4091100");
    // A fresh external id is fine at the second instance, with the token from the first.
    let fresh = Call::new(&partner, &token, BALANCE, r#"{"accountNo":"2"}"#);
    let (status, answer) = send(
        &client,
        &second.url(""),
        BALANCE,
        r#"{"accountNo":"2"}"#,
        &fresh.headers(),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{answer}");
}

/// With the shared state down a SNAP transfer is refused like `POST /v1/transfers`: 503 with
/// `Retry-After`, in SNAP's format, and no transfer is created (its rate limits and its
/// external-id check live in the shared state).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn transfers_fail_closed_without_the_shared_state() {
    let mut redis = crate::harness::PrivateRedis::start().await;
    let mut env = Environment::new(Backend::Postgres).await;
    env.cache_url = redis.url();
    let services = env.services_with(|_| {}).await;
    let server = Process::serve(&env).await;
    let (ok, tenant, stderr) = cli(
        &env,
        &["tenant", "create", "--name", "PT Tiga", "--tier", "growth"],
    )
    .await;
    assert!(ok, "{stderr}");
    let (ok, _, stderr) = cli(&env, &["kyc", "set-level", tenant.trim(), "enhanced"]).await;
    assert!(ok, "{stderr}");
    let tenant_id: benteng_core::ids::TenantId = tenant.trim().parse().unwrap();
    services
        .store
        .fund(
            tenant_id,
            benteng_core::api_key::KeyEnvironment::Live,
            benteng_core::money::Money::parse("10000000.00", Currency::IDR).unwrap(),
            &benteng_core::audit::AuditContext::system("test"),
        )
        .await
        .unwrap();
    let partner = register(&env, tenant.trim(), "PARTNER-R").await;
    let client = client_builder(&env.data_dir.path().join("tls/dev-ca.pem"))
        .build()
        .unwrap();
    let base = server.url("");
    let token = token(&client, &base, &partner).await;
    let transfers = || async {
        services
            .store
            .transfers(
                tenant_id,
                benteng_core::api_key::KeyEnvironment::Live,
                None,
                None,
                1000,
            )
            .await
            .unwrap()
            .items
            .len()
    };
    let body = transfer_body("REF-UP", "150000.00");
    let call = Call::new(&partner, &token, TRANSFER_PATH, &body);
    let (status, answer) = send(&client, &base, TRANSFER_PATH, &body, &call.headers()).await;
    assert_eq!(status, StatusCode::ACCEPTED, "{answer}");
    assert_eq!(transfers().await, 1);

    redis.stop().await;
    let body = transfer_body("REF-DOWN", "150000.00");
    let call = Call::new(&partner, &token, TRANSFER_PATH, &body);
    let mut request = client
        .post(format!("{base}{TRANSFER_PATH}"))
        .header("content-type", "application/json")
        .body(body.clone());
    for (name, value) in call.headers() {
        request = request.header(name, value);
    }
    let response = request.send().await.unwrap();
    assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert!(response.headers().contains_key("retry-after"));
    assert_eq!(response.headers()["content-type"], "application/json");
    let answer: Value = response.json().await.unwrap();
    assert_eq!(answer["responseCode"], "5031800", "{answer}");
    assert_eq!(answer["responseMessage"], "Service Unavailable");
    assert_eq!(transfers().await, 1, "nothing was created");
}

const TRANSFER_PATH: &str = "/v1.0/transfer-interbank";

/// Two processes on one PostgreSQL + Redis, both with the partner's token in their caches: a
/// token revocation, a partner revocation and a tenant suspension from the CLI are refused by
/// both within a second.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn revocations_reach_every_instance_within_a_second() {
    let env = Environment::new(Backend::Postgres).await;
    let first = Process::serve(&env).await;
    let second = Process::serve(&env).await;
    let client = client_builder(&env.data_dir.path().join("tls/dev-ca.pem"))
        .build()
        .unwrap();
    let create = |name: &'static str| {
        let env = &env;
        async move {
            let (ok, tenant, stderr) = cli(
                env,
                &["tenant", "create", "--name", name, "--tier", "enterprise"],
            )
            .await;
            assert!(ok, "{stderr}");
            let (ok, _, stderr) = cli(env, &["kyc", "set-level", tenant.trim(), "enhanced"]).await;
            assert!(ok, "{stderr}");
            tenant.trim().to_owned()
        }
    };
    let tenant = create("PT Dua").await;
    let partner = register(&env, &tenant, "PARTNER-M").await;
    let bases = [first.url(""), second.url("")];
    // Both instances cache the token (and its partner and tenant) before each change.
    let warm = |token: String| {
        let (client, bases, partner) = (&client, &bases, &partner);
        async move {
            for (i, base) in bases.iter().enumerate() {
                for n in 0..3 {
                    let body = format!(r#"{{"partnerReferenceNo":"WARM-{i}-{n}"}}"#);
                    let call = Call::new(partner, &token, BALANCE_PATH, &body);
                    let (status, answer) =
                        send(client, base, BALANCE_PATH, &body, &call.headers()).await;
                    assert_eq!(status, StatusCode::OK, "{answer}");
                }
            }
            token
        }
    };
    let one_second = Duration::from_secs(1);

    let revoked = warm(token(&client, &bases[0], &partner).await).await;
    let (ok, _, stderr) = cli(&env, &["snap", "token", "revoke", "PARTNER-M"]).await;
    assert!(ok, "{stderr}");
    for base in &bases {
        refused_within(&client, base, &partner, &revoked, one_second).await;
    }

    let live = warm(token(&client, &bases[1], &partner).await).await;
    let (ok, _, stderr) = cli(&env, &["snap", "partner", "revoke", "PARTNER-M"]).await;
    assert!(ok, "{stderr}");
    for base in &bases {
        refused_within(&client, base, &partner, &live, one_second).await;
    }

    let other = register(&env, &tenant, "PARTNER-N").await;
    let token = token(&client, &bases[0], &other).await;
    for (i, base) in bases.iter().enumerate() {
        let body = format!(r#"{{"partnerReferenceNo":"WARM-N-{i}"}}"#);
        let call = Call::new(&other, &token, BALANCE_PATH, &body);
        let (status, answer) = send(&client, base, BALANCE_PATH, &body, &call.headers()).await;
        assert_eq!(status, StatusCode::OK, "{answer}");
    }
    let (ok, _, stderr) = cli(&env, &["tenant", "suspend", &tenant]).await;
    assert!(ok, "{stderr}");
    for base in &bases {
        refused_within(&client, base, &other, &token, one_second).await;
    }
}

/// Verifies SNAP notifications with Python's `cryptography` alone: SHA256withRSA (PKCS#1 v1.5)
/// over `POST:RelativeUrl:LowerHex(SHA256(minify(body))):X-TIMESTAMP`, with a public key of the
/// JWKS benteng publishes (SNAP names no key; one of the set must verify). Returns whether every
/// notification verified and what the script said.
async fn cryptography_verifies(
    dir: &Path,
    jwks: &Value,
    notifications: &[(Value, String)],
) -> (bool, String) {
    let script = r#"
import base64, hashlib, json, sys
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.exceptions import InvalidSignature

def b64int(text):
    return int.from_bytes(base64.urlsafe_b64decode(text + "=" * (-len(text) % 4)), "big")

def minify(body):
    out, in_string, escaped = [], False, False
    for ch in body:
        if in_string:
            out.append(ch)
            if escaped:
                escaped = False
            elif ch == "\\":
                escaped = True
            elif ch == '"':
                in_string = False
        elif ch == '"':
            in_string = True
            out.append(ch)
        elif ch not in " \t\r\n":
            out.append(ch)
    return "".join(out)

keys = [rsa.RSAPublicNumbers(b64int(k["e"]), b64int(k["n"])).public_key()
        for k in json.load(open(sys.argv[1]))["keys"] if k["alg"] == "RS256"]
for n in json.load(open(sys.argv[2])):
    h = {k.lower(): v for k, v in n["headers"].items()}
    digest = hashlib.sha256(minify(n["body"]).encode()).hexdigest()
    text = "POST:" + n["path"] + ":" + digest + ":" + h["x-timestamp"]
    signature = base64.b64decode(h["x-signature"])
    for key in keys:
        try:
            key.verify(signature, text.encode(), padding.PKCS1v15(), hashes.SHA256())
            break
        except InvalidSignature:
            pass
    else:
        sys.exit("no published key verifies " + text)
    print("verified", text)
"#;
    let list: Vec<Value> = notifications
        .iter()
        .map(|(headers, body)| json!({"headers": headers, "body": body, "path": "/snap/notify"}))
        .collect();
    crate::harness::run_python(
        dir,
        script,
        &[
            ("jwks.json", jwks),
            ("notifications.json", &Value::from(list)),
        ],
    )
    .await
}

/// A partner's notification URL (`benteng snap partner notify`): its SNAP transfer's final
/// status arrives in SNAP's format with SNAP's headers, signed SHA256withRSA over SNAP's
/// asymmetric string and verified by Python's `cryptography` with the published JWKS; the
/// tenant's other transfers are not sent to it.
async fn a_partner_gets_signed_snap_status_notifications(backend: Backend) {
    type Inbox = std::sync::Arc<std::sync::Mutex<Vec<(Value, String)>>>;
    let app = TestApp::spawn_with(backend, |c| {
        c.rail.sandbox_settle_after_ms = 200;
        c.webhooks.allow_private = vec!["127.0.0.0/8".to_owned()];
        c.webhooks.allow_http = true;
        c.webhooks.poll_interval_ms = 50;
    })
    .await;
    let (tenant, key) = app.tenant_with_key().await;
    fund(&app, tenant.id, "10000000.00", Currency::IDR).await;
    let partner = register(app.environment(), &tenant.id.to_string(), "PARTNER-NOTIFY").await;

    let inbox: Inbox = Default::default();
    let record = inbox.clone();
    let receiver = axum::Router::new().route(
        "/snap/notify",
        axum::routing::post(move |headers: axum::http::HeaderMap, body: String| {
            let record = record.clone();
            async move {
                let headers: serde_json::Map<String, Value> = headers
                    .iter()
                    .map(|(k, v)| (k.to_string(), v.to_str().unwrap_or_default().into()))
                    .collect();
                record.lock().unwrap().push((Value::Object(headers), body));
                r#"{"responseCode":"2003600","responseMessage":"Successful"}"#
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, receiver).await });
    let url = format!("http://{address}/snap/notify");
    // The CLI reads the same settings as the server: a local receiver over plain HTTP.
    let config = app.data_dir().join("webhooks.toml");
    std::fs::write(
        &config,
        "[webhooks]\nallow_private = [\"127.0.0.0/8\"]\nallow_http = true\n",
    )
    .unwrap();
    let config = config.display().to_string();
    let settings = [("BENTENG_CONFIG", config.as_str())];
    let notify = async |client_id: &str| {
        crate::harness::cli_with_env(
            app.environment(),
            &settings,
            &["snap", "partner", "notify", client_id, "--url", &url],
        )
        .await
    };
    let (ok, _, err) = notify("NO-SUCH-PARTNER").await;
    assert!(!ok && err.contains("no such partner"), "{err}");
    let (ok, endpoint, err) = notify("PARTNER-NOTIFY").await;
    assert!(ok, "{err}");
    let endpoint = endpoint.trim().to_owned();

    // One of the tenant's own transfers (not through SNAP) and one SNAP transfer.
    let own = crate::webhooks::make_transfer(&app, &key, tenant.id).await;
    let base = app.url("");
    let env = app.environment();
    let (ok, answer) = python(env, &base, &partner, &["token"]);
    assert!(ok, "{answer}");
    let token = answer["accessToken"].as_str().unwrap().to_owned();
    let body = transfer_body("INV-NOTIFY-1", "150000.00");
    let (ok, answer) = python(
        env,
        &base,
        &partner,
        &[
            "request",
            "--token",
            &token,
            "POST",
            "/v1.0/transfer-interbank",
            &body,
        ],
    );
    assert!(ok, "{answer}");
    let transfer_id = answer["referenceNo"].as_str().unwrap().to_owned();
    crate::payments::wait_for_status(&app, &key, &own, "COMPLETED").await;
    crate::payments::wait_for_status(&app, &key, &transfer_id, "COMPLETED").await;
    let started = std::time::Instant::now();
    while inbox.lock().unwrap().is_empty() {
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "no notification"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }

    // Only the partner's SNAP transfer, only its final status.
    let deliveries: Value = app
        .get(
            &format!("/v1/webhook-endpoints/{endpoint}/deliveries"),
            Some(&key),
        )
        .await
        .json()
        .await
        .unwrap();
    let deliveries = deliveries["data"].as_array().unwrap();
    assert_eq!(deliveries.len(), 1, "{deliveries:?}");
    assert_eq!(deliveries[0]["object_id"], transfer_id.as_str());
    assert_eq!(deliveries[0]["event_type"], "transfer.completed");

    let received = inbox.lock().unwrap().clone();
    assert_eq!(received.len(), 1);
    let (headers, body) = &received[0];
    let notification: Value = serde_json::from_str(body).unwrap();
    assert_eq!(notification["originalPartnerReferenceNo"], "INV-NOTIFY-1");
    assert_eq!(notification["originalReferenceNo"], transfer_id.as_str());
    assert_eq!(notification["latestTransactionStatus"], "00");
    assert_eq!(
        notification["amount"],
        json!({"value": "150000.00", "currency": "IDR"})
    );
    assert_eq!(headers["x-partner-id"], "PARTNER-NOTIFY");
    assert_eq!(headers["channel-id"], "95221");
    let external = headers["x-external-id"].as_str().unwrap();
    assert!(external.len() == 32 && external.bytes().all(|b| b.is_ascii_digit()));
    assert!(headers["x-timestamp"].as_str().unwrap().ends_with("+07:00"));
    assert_eq!(
        headers["webhook-id"],
        notification["additionalInfo"]["eventId"]
    );

    let jwks: Value = app
        .get("/v1/.well-known/jwks.json", None)
        .await
        .json()
        .await
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let tampered = vec![(headers.clone(), body.replace("\"00\"", "\"06\""))];
    let (ok, said) = cryptography_verifies(dir.path(), &jwks, &tampered).await;
    assert!(!ok, "a tampered body must not verify: {said}");
    let (ok, said) = cryptography_verifies(dir.path(), &json!({"keys": []}), &received).await;
    assert!(!ok, "without the JWKS nothing verifies: {said}");
    let (ok, said) = cryptography_verifies(dir.path(), &jwks, &received).await;
    assert!(ok, "{said}");
}
