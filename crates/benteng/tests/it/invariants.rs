//! Claims of the docs about the whole system, proved against the real binary: `benteng ledger
//! check` catches a broken ledger, screening fails closed until a list is loaded and a running
//! server picks a new list up at its next poll, two instances never pay a transfer twice,
//! `tenant cert remove` reaches another instance within a second, reads and authentication
//! keep working with Redis down, concurrent `migrate` runs take turns.

use std::time::{Duration, Instant};

use serde_json::{Value, json};
use sqlx::{Connection, Executor};

use crate::harness::{Backend, Environment, Process, cli, on_both_backends};

on_both_backends!(
    ledger_check_catches_a_broken_ledger,
    screening_fails_closed_until_a_list_is_loaded_and_a_new_list_is_used_after_one_poll,
);

/// Runs a CLI command that must succeed; its trimmed standard output.
async fn cli_ok(env: &Environment, args: &[&str]) -> String {
    let (ok, out, err) = cli(env, args).await;
    assert!(ok, "benteng {args:?}: {err}");
    out.trim().to_owned()
}

/// A tenant made with the CLI as an operator does: enterprise tier, KYC enhanced, funded with
/// 10,000 USD; its id and a live key.
pub(crate) async fn funded_tenant(env: &Environment, name: &str) -> (String, String) {
    let tenant = cli_ok(
        env,
        &["tenant", "create", "--name", name, "--tier", "enterprise"],
    )
    .await;
    cli_ok(env, &["kyc", "set-level", &tenant, "enhanced"]).await;
    cli_ok(
        env,
        &[
            "ledger",
            "fund",
            "--tenant",
            &tenant,
            "--currency",
            "USD",
            "--amount",
            "10000.00",
        ],
    )
    .await;
    let key = cli_ok(env, &["apikey", "issue", "--tenant", &tenant]).await;
    (tenant, key)
}

async fn raw_sql(env: &Environment) -> sqlx::AnyConnection {
    sqlx::any::install_default_drivers();
    sqlx::AnyConnection::connect(&env.database_url)
        .await
        .expect("raw connection")
}

/// A tenant's client paying one recipient over HTTPS.
pub(crate) struct Payer {
    client: reqwest::Client,
    key: String,
    recipient: String,
}

impl Payer {
    pub(crate) async fn new(env: &Environment, base: &str, key: String) -> Self {
        let client = env.client();
        let response = client
            .post(format!("{base}/v1/recipients"))
            .bearer_auth(&key)
            .json(
                &json!({"type": "individual", "name": "Budi Santoso", "country": "DE",
                "bank_account": {"iban": "DE89370400440532013000"}}),
            )
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 201);
        let body: Value = response.json().await.unwrap();
        let recipient = body["id"].as_str().unwrap().to_owned();
        Self {
            client,
            key,
            recipient,
        }
    }

    /// Pays 10 USD through `base`; the transfer as created.
    pub(crate) async fn pay(&self, base: &str) -> Value {
        let quote = self.quote(base).await;
        self.pay_quoted(base, &quote).await
    }

    /// A quote for 10 USD.
    async fn quote(&self, base: &str) -> Value {
        self.client
            .get(format!(
                "{base}/v1/quotes?source_currency=USD&target_currency=EUR&source_amount=10.00"
            ))
            .bearer_auth(&self.key)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap()
    }

    /// Pays 10 USD on a quote taken earlier.
    async fn pay_quoted(&self, base: &str, quote: &Value) -> Value {
        let response = self
            .client
            .post(format!("{base}/v1/transfers"))
            .bearer_auth(&self.key)
            .header("x-idempotency-key", uuid::Uuid::new_v4().to_string())
            .json(
                &json!({"quote_id": quote["id"], "recipient_id": self.recipient,
                "amount": "10.00", "currency": "USD"}),
            )
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 201);
        response.json().await.unwrap()
    }

    async fn transfer(&self, base: &str, id: &str) -> Value {
        self.client
            .get(format!("{base}/v1/transfers/{id}"))
            .bearer_auth(&self.key)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap()
    }
}

/// `benteng ledger check`, run as an operator runs it, passes on a sound ledger and names the
/// broken rule for each corruption (a posting edited, a balance moved, a posting relabelled to
/// another currency); undoing the corruption makes it pass again.
async fn ledger_check_catches_a_broken_ledger(backend: Backend) {
    let env = Environment::new(backend).await;
    funded_tenant(&env, "PT Buku Besar").await;
    let check = || cli(&env, &["ledger", "check"]);
    let (ok, out, err) = check().await;
    assert!(ok && out.contains("ledger ok"), "{out}{err}");

    let corruptions = [
        (
            "UPDATE ledger_transfers SET amount = amount + 1 WHERE kind = 'funding'",
            "UPDATE ledger_transfers SET amount = amount - 1 WHERE kind = 'funding'",
            "a tenant balance equals the sum of its postings",
        ),
        (
            "UPDATE ledger_accounts SET credits_posted = credits_posted + 500 WHERE no_overdraft = 1",
            "UPDATE ledger_accounts SET credits_posted = credits_posted - 500 WHERE no_overdraft = 1",
            "a tenant balance equals the sum of its postings",
        ),
        (
            "UPDATE ledger_transfers SET currency = 'EUR' WHERE kind = 'funding'",
            "UPDATE ledger_transfers SET currency = 'USD' WHERE kind = 'funding'",
            "a posting's accounts share its currency",
        ),
    ];
    let mut db = raw_sql(&env).await;
    for (corrupt, undo, rule) in corruptions {
        db.execute(sqlx::AssertSqlSafe(corrupt)).await.unwrap();
        let (ok, out, err) = check().await;
        assert!(!ok, "ledger check passed after `{corrupt}`: {out}");
        assert!(out.contains(&format!("VIOLATION {rule}: ")), "{out}");
        assert!(err.contains("ledger invariant violation"), "{err}");
        db.execute(sqlx::AssertSqlSafe(undo)).await.unwrap();
        let (ok, out, err) = check().await;
        assert!(
            ok,
            "undoing `{corrupt}` did not restore the ledger: {out}{err}"
        );
    }
}

/// The real binary starts with no list: every transfer is held for review, with "no sanctions
/// list is loaded" in its audited decision (screening cannot fail open). Once `benteng lists
/// load` has returned, the running server approves a transfer within its next poll of the store
/// (`screening.poll_interval_secs`, 5 s by default) plus 1 s to read the list in: the held ones
/// were held for want of a list. (The clock starts once, when the CLI returns.)
async fn screening_fails_closed_until_a_list_is_loaded_and_a_new_list_is_used_after_one_poll(
    backend: Backend,
) {
    let env = Environment::new(backend).await;
    let (_, key) = funded_tenant(&env, "PT Tanpa Daftar").await;
    let server = Process::serve(&env).await;
    let base = server.url("");
    let payer = Payer::new(&env, &base, key).await;
    let held = payer.pay(&base).await;
    assert_eq!(held["status"], "PENDING_REVIEW", "{held}");
    let (ok, trail, err) = cli(&env, &["audit", "export"]).await;
    assert!(ok, "{err}");
    let decision = trail
        .lines()
        .filter_map(|line| serde_json::from_str::<Value>(line).ok())
        .find(|e| {
            e["resource"]["id"] == held["id"] && e["changes"]["status"]["to"] == "PENDING_REVIEW"
        })
        .expect("the hold is audited");
    assert!(
        decision.to_string().contains("no sanctions list is loaded"),
        "{decision}"
    );

    // One poll interval (the default's 5 s), then reading the list in.
    const BOUND: Duration = Duration::from_secs(6);
    // Quotes taken beforehand, so each probe is one request (60 paced 100 ms apart fill the
    // bound).
    let mut quotes = Vec::new();
    for _ in 0..60 {
        quotes.push(payer.quote(&base).await);
    }
    let un = crate::screening::un_list();
    cli_ok(
        &env,
        &[
            "lists",
            "load",
            "--source",
            "un",
            "--path",
            &un,
            "--no-rescreen",
        ],
    )
    .await;
    let loaded = Instant::now();
    let mut approved_after = None;
    for quote in &quotes {
        let transfer = payer.pay_quoted(&base, quote).await;
        if transfer["status"] == "APPROVED" {
            approved_after = Some(loaded.elapsed());
            break;
        }
        assert_eq!(transfer["status"], "PENDING_REVIEW", "{transfer}");
        // Paced under the tenant's 100 transfers a minute.
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let took = approved_after.expect("a transfer approved once the list was loaded");
    assert!(took < BOUND, "approved only after {took:?}");
    // The first transfer is still held: a list does not release what it did not screen.
    let first = payer.transfer(&base, held["id"].as_str().unwrap()).await;
    assert_eq!(first["status"], "PENDING_REVIEW", "{first}");
}

/// Two `benteng` processes on one PostgreSQL and Redis, both running the rail worker, pay a
/// run of transfers made through either: every transfer completes, with exactly one
/// `SUBMITTED` step in its history and one in the audit trail, and the ledger checks.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_instances_never_pay_a_transfer_twice() {
    let env = Environment::new(Backend::Postgres).await;
    let un = crate::screening::un_list();
    cli_ok(
        &env,
        &[
            "lists",
            "load",
            "--source",
            "un",
            "--path",
            &un,
            "--no-rescreen",
        ],
    )
    .await;
    let (_, key) = funded_tenant(&env, "PT Dua Kali").await;
    let first = Process::serve(&env).await;
    let second = Process::serve(&env).await;
    let bases = [first.url(""), second.url("")];
    let payer = Payer::new(&env, &bases[0], key).await;
    let mut ids = Vec::new();
    for i in 0..30 {
        let transfer = payer.pay(&bases[i % 2]).await;
        assert_eq!(transfer["status"], "APPROVED", "{transfer}");
        ids.push(transfer["id"].as_str().unwrap().to_owned());
    }
    let deadline = Instant::now() + Duration::from_secs(60);
    for id in &ids {
        loop {
            let transfer = payer.transfer(&bases[1], id).await;
            if transfer["status"] == "COMPLETED" {
                break;
            }
            assert!(Instant::now() < deadline, "not completed: {transfer}");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
    let mut db = raw_sql(&env).await;
    assert_eq!(submissions(&mut db).await, ids.len() as i64);
    assert!(paid_twice(&mut db).await.is_empty());
    let (ok, trail, err) = cli(&env, &["audit", "export"]).await;
    assert!(ok, "{err}");
    for id in &ids {
        let submitted = trail
            .lines()
            .filter_map(|line| serde_json::from_str::<Value>(line).ok())
            .filter(|e| e["resource"]["id"] == *id && e["changes"]["status"]["to"] == "SUBMITTED")
            .count();
        assert_eq!(
            submitted, 1,
            "transfer {id} was submitted {submitted} times"
        );
    }
    let (ok, out, err) = cli(&env, &["ledger", "check"]).await;
    assert!(ok, "{out}{err}");

    // Negative control: a second submission of one transfer, written behind the workers' back,
    // is what the check above looks for.
    db.execute(sqlx::AssertSqlSafe(format!(
        "INSERT INTO transfer_events (transfer_id, seq, from_status, to_status, cause, at) \
         VALUES ('{}', 1000, 'APPROVED', 'SUBMITTED', 'forged', 0)",
        ids[0]
    )))
    .await
    .unwrap();
    assert_eq!(paid_twice(&mut db).await, vec![ids[0].clone()]);
}

/// How many `SUBMITTED` steps the transfer histories hold.
async fn submissions(db: &mut sqlx::AnyConnection) -> i64 {
    let (count,): (i64,) =
        sqlx::query_as("SELECT COUNT(*) FROM transfer_events WHERE to_status = 'SUBMITTED'")
            .fetch_one(db)
            .await
            .unwrap();
    count
}

/// The transfers whose history holds more than one `SUBMITTED` step.
async fn paid_twice(db: &mut sqlx::AnyConnection) -> Vec<String> {
    sqlx::query_as::<_, (String,)>(
        "SELECT transfer_id FROM transfer_events WHERE to_status = 'SUBMITTED' \
         GROUP BY transfer_id HAVING COUNT(*) > 1",
    )
    .fetch_all(db)
    .await
    .unwrap()
    .into_iter()
    .map(|(id,)| id)
    .collect()
}

/// `benteng tenant cert remove` reaches every instance within a second: two processes accept
/// the tenant's key with its registered certificate (their caches warm), then, on one clock
/// started when the CLI returns, both refuse it within 1 s.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cert_removal_reaches_another_instance_within_a_second() {
    let env = Environment::new(Backend::Postgres).await;
    benteng_transport::generate_dev_certs(&env.data_dir.path().join("tls")).unwrap();
    let (tenant, key) = funded_tenant(&env, "PT Sertifikat").await;
    let (cert, cert_key) = crate::tls::client_cert(&env, "tenant-cert");
    let fingerprint = cli_ok(
        &env,
        &[
            "tenant",
            "cert",
            "add",
            "--tenant",
            &tenant,
            "--pem",
            cert.to_str().unwrap(),
        ],
    )
    .await;
    cli_ok(&env, &["tenant", "require-mtls", &tenant, "on"]).await;
    let first = Process::serve(&env).await;
    let second = Process::serve(&env).await;
    let client = env.client_with_identity(&cert, &cert_key);
    let status = |url: String| {
        let (client, key) = (client.clone(), key.clone());
        async move {
            client
                .get(url)
                .bearer_auth(key)
                .send()
                .await
                .unwrap()
                .status()
        }
    };
    let urls = [first.url("/v1/tenant"), second.url("/v1/tenant")];
    for url in &urls {
        for _ in 0..3 {
            assert_eq!(status(url.clone()).await, 200, "{url}");
        }
    }
    cli_ok(
        &env,
        &[
            "tenant",
            "cert",
            "remove",
            "--tenant",
            &tenant,
            &fingerprint,
        ],
    )
    .await;
    let removed = Instant::now();
    let mut refused = [false, false];
    while refused.contains(&false) {
        for (i, url) in urls.iter().enumerate() {
            if !refused[i] {
                let got = status(url.clone()).await;
                assert!(got == 200 || got == 403, "{url}: {got}");
                refused[i] = got == 403;
            }
        }
        assert!(
            removed.elapsed() < Duration::from_secs(1) || !refused.contains(&false),
            "refused by {refused:?} only, {:?} after the removal",
            removed.elapsed()
        );
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    let took = removed.elapsed();
    assert!(took < Duration::from_secs(1), "took {took:?}");
}

/// With Redis down, two instances keep serving reads and keep authenticating, from their own
/// caches and from the database: a key they used before, a key they never saw, a refused bad
/// key. Money-moving requests on the same instances get 503: Redis really is down.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reads_and_authentication_keep_working_with_redis_down() {
    let mut redis = crate::harness::PrivateRedis::start().await;
    let mut env = Environment::new(Backend::Postgres).await;
    env.cache_url = redis.url();
    let (tenant, key) = funded_tenant(&env, "PT Tanpa Redis").await;
    let unseen = cli_ok(&env, &["apikey", "issue", "--tenant", &tenant]).await;
    let un = crate::screening::un_list();
    cli_ok(
        &env,
        &[
            "lists",
            "load",
            "--source",
            "un",
            "--path",
            &un,
            "--no-rescreen",
        ],
    )
    .await;
    let first = Process::serve(&env).await;
    let second = Process::serve(&env).await;
    let bases = [first.url(""), second.url("")];
    let payer = Payer::new(&env, &bases[0], key.clone()).await;
    let paid = payer.pay(&bases[0]).await;
    let id = paid["id"].as_str().unwrap().to_owned();
    let quote = payer.quote(&bases[0]).await;
    let get = |url: String, key: String| {
        let client = payer.client.clone();
        async move { client.get(url).bearer_auth(key).send().await.unwrap() }
    };
    for base in &bases {
        assert_eq!(
            get(format!("{base}/v1/tenant"), key.clone()).await.status(),
            200
        );
    }

    redis.stop().await;
    let bad = format!("{}x", &key[..key.len() - 1]);
    for base in &bases {
        for credential in [&key, &unseen] {
            let response = get(format!("{base}/v1/tenant"), credential.clone()).await;
            assert_eq!(response.status(), 200, "{base}");
            let response = get(format!("{base}/v1/transfers/{id}"), credential.clone()).await;
            assert_eq!(response.status(), 200, "{base}");
            let transfer: Value = response.json().await.unwrap();
            assert_eq!(transfer["id"], id);
            let response = get(format!("{base}/v1/transfers"), credential.clone()).await;
            assert_eq!(response.status(), 200, "{base}");
            assert!(response.text().await.unwrap().contains(&id));
        }
        let response = get(format!("{base}/v1/tenant"), bad.clone()).await;
        assert_eq!(response.status(), 401, "{base}");
        let response = payer
            .client
            .post(format!("{base}/v1/transfers"))
            .bearer_auth(&key)
            .header("x-idempotency-key", uuid::Uuid::new_v4().to_string())
            .json(
                &json!({"quote_id": quote["id"], "recipient_id": payer.recipient,
                "amount": "10.00", "currency": "USD"}),
            )
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 503, "{base}");
    }
}

/// Concurrent `benteng migrate` runs on one fresh PostgreSQL database are safe: they take turns
/// on the advisory lock. While the test holds that lock none of four runs started together gets
/// anywhere; once it lets go, all four succeed and every migration is recorded once. (Without
/// the lock, concurrent runs collide on the same CREATE TABLEs and fail.)
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_migrations_take_turns_and_all_succeed() {
    // `PG_MIGRATION_LOCK` of crates/store/src/migrations.rs.
    const MIGRATION_LOCK: i64 = 0x0062_656e_7465_6e67;
    let env = Environment::new(Backend::Postgres).await;
    let mut holder = raw_sql(&env).await;
    sqlx::query("SELECT pg_advisory_lock($1)")
        .bind(MIGRATION_LOCK)
        .execute(&mut holder)
        .await
        .unwrap();
    let mut runs: Vec<_> = (0..4)
        .map(|_| {
            crate::harness::command(&env)
                .arg("migrate")
                .stdout(std::process::Stdio::piped())
                .stderr(std::process::Stdio::piped())
                .kill_on_drop(true)
                .spawn()
                .expect("benteng migrate")
        })
        .collect();
    tokio::time::sleep(Duration::from_secs(2)).await;
    for run in &mut runs {
        assert!(
            run.try_wait().unwrap().is_none(),
            "a run did not wait for the lock"
        );
    }
    let (tables,): (i64,) = sqlx::query_as(
        "SELECT COUNT(*) FROM information_schema.tables WHERE table_name = 'schema_migrations'",
    )
    .fetch_one(&mut holder)
    .await
    .unwrap();
    assert_eq!(tables, 0, "a run migrated without the lock");
    sqlx::query("SELECT pg_advisory_unlock($1)")
        .bind(MIGRATION_LOCK)
        .execute(&mut holder)
        .await
        .unwrap();
    for run in runs {
        let output = run.wait_with_output().await.unwrap();
        assert!(
            output.status.success(),
            "{}",
            String::from_utf8_lossy(&output.stderr)
        );
    }
    let versions: Vec<(i64,)> = sqlx::query_as("SELECT version FROM schema_migrations")
        .fetch_all(&mut holder)
        .await
        .unwrap();
    let expected = std::fs::read_dir(
        crate::harness::workspace_root().join("crates/store/migrations/postgres"),
    )
    .unwrap()
    .count();
    assert_eq!(versions.len(), expected, "{versions:?}");
}
