//! Two `benteng` processes on one PostgreSQL + Redis, as a deployment runs them.

use std::time::{Duration, Instant};

use reqwest::StatusCode;

use crate::harness::{Backend, Environment, Process, cli};

async fn status(client: &reqwest::Client, url: &str, key: &str) -> StatusCode {
    client
        .get(url)
        .bearer_auth(key)
        .send()
        .await
        .unwrap()
        .status()
}

/// Polls until the key is refused, at most until `limit` after `started` (one clock, started
/// once, for every instance checked); returns how long after `started` that was.
async fn refused_within(
    client: &reqwest::Client,
    url: &str,
    key: &str,
    started: Instant,
    limit: Duration,
) -> Duration {
    loop {
        let status = status(client, url, key).await;
        if status == StatusCode::UNAUTHORIZED || status == StatusCode::FORBIDDEN {
            return started.elapsed();
        }
        assert_eq!(
            status,
            StatusCode::OK,
            "{url} answered neither the tenant nor a refusal"
        );
        assert!(
            started.elapsed() < limit,
            "{url} still accepts the key after {limit:?}"
        );
        // 50 ms: well under every tier's rate limit, so a 429 never hides the answer.
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn revocation_reaches_every_instance_within_a_second() {
    let env = Environment::new(Backend::Postgres).await;
    let (ok, tenant, err) = cli(
        &env,
        &[
            "tenant",
            "create",
            "--name",
            "PT Dua",
            "--tier",
            "enterprise",
        ],
    )
    .await;
    assert!(ok, "{err}");
    let tenant = tenant.trim().to_owned();
    let first = Process::serve(&env).await;
    let second = Process::serve(&env).await;
    let client = env.client();

    for (revoker, other) in [(&first, &second), (&second, &first)] {
        let (_, key, _) = cli(&env, &["apikey", "issue", "--tenant", &tenant]).await;
        let key = key.trim().to_owned();
        // Both instances have the key in their local caches.
        for process in [&first, &second] {
            for _ in 0..3 {
                assert_eq!(
                    status(&client, &process.url("/v1/tenant"), &key).await,
                    StatusCode::OK
                );
            }
        }
        let (_, keys, _) = cli(&env, &["apikey", "list", "--tenant", &tenant]).await;
        let key_id = keys
            .lines()
            .find(|line| line.contains(&key[..45]))
            .and_then(|line| line.split_whitespace().next())
            .unwrap()
            .to_owned();
        let (ok, _, err) = cli(&env, &["apikey", "revoke", &key_id]).await;
        assert!(ok, "{err}");
        let (revoked, limit) = (Instant::now(), Duration::from_secs(1));
        refused_within(&client, &revoker.url("/v1/tenant"), &key, revoked, limit).await;
        refused_within(&client, &other.url("/v1/tenant"), &key, revoked, limit).await;
    }

    // Suspension reaches both instances too.
    let (_, key, _) = cli(&env, &["apikey", "issue", "--tenant", &tenant]).await;
    let key = key.trim().to_owned();
    for process in [&first, &second] {
        assert_eq!(
            status(&client, &process.url("/v1/tenant"), &key).await,
            StatusCode::OK
        );
    }
    let (ok, _, _) = cli(&env, &["tenant", "suspend", &tenant]).await;
    assert!(ok);
    let suspended = Instant::now();
    for process in [&first, &second] {
        refused_within(
            &client,
            &process.url("/v1/tenant"),
            &key,
            suspended,
            Duration::from_secs(1),
        )
        .await;
        assert_eq!(
            status(&client, &process.url("/v1/tenant"), &key).await,
            StatusCode::FORBIDDEN
        );
    }
}

/// With the embedded default, the CLI cannot reach the server's in-process cache; the server's
/// watermark poll still refuses a revoked key promptly.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn embedded_default_refuses_a_key_revoked_from_the_cli() {
    let env = Environment::new(Backend::Sqlite).await;
    let (_, tenant, _) = cli(
        &env,
        &[
            "tenant",
            "create",
            "--name",
            "PT Satu",
            "--tier",
            "enterprise",
        ],
    )
    .await;
    let tenant = tenant.trim().to_owned();
    let (ok, _, err) = cli(&env, &["kyc", "set-level", &tenant, "enhanced"]).await;
    assert!(ok, "{err}");
    let (_, key, _) = cli(&env, &["apikey", "issue", "--tenant", &tenant]).await;
    let key = key.trim().to_owned();
    let server = Process::serve(&env).await;
    let client = env.client();
    assert_eq!(
        status(&client, &server.url("/v1/tenant"), &key).await,
        StatusCode::OK
    );
    let (_, keys, _) = cli(&env, &["apikey", "list", "--tenant", &tenant]).await;
    let key_id = keys
        .lines()
        .nth(1)
        .unwrap()
        .split_whitespace()
        .next()
        .unwrap()
        .to_owned();
    let (ok, _, err) = cli(&env, &["apikey", "revoke", &key_id]).await;
    assert!(ok, "{err}");
    // The server polls the credential watermark every second; the bound leaves room for the
    // rest of the suite sharing two cores with this server.
    refused_within(
        &client,
        &server.url("/v1/tenant"),
        &key,
        Instant::now(),
        Duration::from_secs(5),
    )
    .await;
}

/// Containment works during a cache outage: with Redis unreachable, `apikey revoke` still
/// writes the store (with a warning), and servers, which fall back to the database, refuse the
/// key.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_key_is_revoked_from_the_cli_while_the_cache_is_down() {
    use crate::harness::cli_with_env;
    let env = Environment::new(Backend::Postgres).await;
    let (ok, tenant, err) = cli(
        &env,
        &["tenant", "create", "--name", "PT Padam", "--tier", "growth"],
    )
    .await;
    assert!(ok, "{err}");
    let tenant = tenant.trim().to_owned();
    let (_, key, _) = cli(&env, &["apikey", "issue", "--tenant", &tenant]).await;
    let key = key.trim().to_owned();
    let down = [("BENTENG_CACHE__URL", "redis://127.0.0.1:9")];
    let (ok, keys, err) = cli_with_env(&env, &down, &["apikey", "list", "--tenant", &tenant]).await;
    assert!(ok, "{err}");
    assert!(err.contains("shared cache unreachable"), "{err}");
    let key_id = keys
        .lines()
        .find(|line| line.contains(&key[..45]))
        .and_then(|line| line.split_whitespace().next())
        .unwrap()
        .to_owned();
    let (ok, _, err) = cli_with_env(&env, &down, &["apikey", "revoke", &key_id]).await;
    assert!(ok, "{err}");
    let server = Process::serve(&env).await;
    assert_eq!(
        status(&env.client(), &server.url("/v1/tenant"), &key).await,
        StatusCode::UNAUTHORIZED
    );
    // A server does not start without its shared state: it fails closed.
    let (ok, _, _) = cli_with_env(&env, &down, &["serve"]).await;
    assert!(!ok);
}
