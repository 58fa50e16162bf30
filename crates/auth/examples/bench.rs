//! Cost of API-key verification: `cargo run --release -p benteng-auth --example bench`.
//!
//! A real `ApiKeyAuthenticator` on a temporary SQLite store with the in-process shared state.
//! Every path is timed in batches with `Instant` around the whole batch (so the clock's own cost
//! is spread over the batch), after a warm-up, over several rounds; the statistics are taken over
//! the per-call time of each batch. Not a timed test: numbers go to BENCHMARKS.md.

use std::error::Error;
use std::hint::black_box;
use std::sync::Arc;
use std::time::{Duration, Instant};

use benteng_auth::{ApiKeyAuthenticator, AuthError, Authenticator, RequestFacts};
use benteng_core::api_key::{ApiKeyShape, KeyEnvironment};
use benteng_core::network::{MAX_NETWORKS, NetworkAllowList};
use benteng_core::tenant::{Tenant, Tier};
use benteng_crypto::{ExposeSecret, KeyedHasher};
use benteng_shared_state::{MemoryState, SharedStateHandle};
use benteng_store::{Store, StoreOptions};
use time::OffsetDateTime;

type BenchResult<T> = Result<T, Box<dyn Error>>;

const TTL: Duration = Duration::from_secs(300);
const SECRET: [u8; 32] = [7u8; 32];
/// The scope every timed call checks, as the middleware does for `POST /v1/transfers`.
const NEEDS: benteng_core::scopes::Scope = benteng_core::scopes::Scope::TransfersWrite;

/// What the middleware hands over for a request from `client_ip` without a client certificate.
fn facts(client_ip: std::net::IpAddr) -> RequestFacts<'static> {
    RequestFacts {
        needs: NEEDS,
        client_cert_fingerprint: None,
        client_ip: Some(client_ip),
    }
}

/// Per-call nanoseconds of each batch.
struct Samples {
    per_call_ns: Vec<f64>,
    rounds: Vec<f64>,
}

impl Samples {
    fn report(&self, name: &str, batch: usize) {
        let mut sorted = self.per_call_ns.clone();
        sorted.sort_by(f64::total_cmp);
        let mean = sorted.iter().sum::<f64>() / sorted.len().max(1) as f64;
        let rounds = self
            .rounds
            .iter()
            .map(|ns| fmt_ns(*ns))
            .collect::<Vec<_>>()
            .join(" ");
        println!(
            "{name:<44} mean {:>9}  p50 {:>9}  p99 {:>9}  min {:>9}  ({} batches × {batch}; round means: {rounds})",
            fmt_ns(mean),
            fmt_ns(percentile(&sorted, 0.50)),
            fmt_ns(percentile(&sorted, 0.99)),
            fmt_ns(sorted.first().copied().unwrap_or(f64::NAN)),
            sorted.len(),
        );
    }
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let rank = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[rank.min(sorted.len() - 1)]
}

fn fmt_ns(ns: f64) -> String {
    if ns >= 10_000.0 {
        format!("{:.1} µs", ns / 1000.0)
    } else if ns >= 1000.0 {
        format!("{:.2} µs", ns / 1000.0)
    } else {
        format!("{ns:.0} ns")
    }
}

/// `full`, or a thousandth of it (at least 1) when `BENCH_SMOKE` is set: the CI smoke run
/// (`scripts/ci/bench-smoke`) checks that the bench still runs, not what it measures.
fn sized(full: usize) -> usize {
    if std::env::var_os("BENCH_SMOKE").is_some() {
        (full / 1000).max(1)
    } else {
        full
    }
}

/// Runs `warmup` calls, then `rounds` rounds of `batches` batches of `batch` calls each.
async fn measure<F, Fut>(
    warmup: usize,
    rounds: usize,
    batches: usize,
    batch: usize,
    mut call: F,
) -> BenchResult<Samples>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = BenchResult<()>>,
{
    let (warmup, rounds, batches, batch) =
        (sized(warmup), sized(rounds), sized(batches), sized(batch));
    for _ in 0..warmup {
        call().await?;
    }
    let mut per_call_ns = Vec::with_capacity(rounds * batches);
    let mut round_means = Vec::with_capacity(rounds);
    for _ in 0..rounds {
        let round_start = Instant::now();
        for _ in 0..batches {
            let start = Instant::now();
            for _ in 0..batch {
                call().await?;
            }
            per_call_ns.push(start.elapsed().as_nanos() as f64 / batch as f64);
        }
        round_means.push(round_start.elapsed().as_nanos() as f64 / (batches * batch) as f64);
    }
    Ok(Samples {
        per_call_ns,
        rounds: round_means,
    })
}

fn expect_ok<T>(result: Result<T, AuthError>) -> BenchResult<()> {
    black_box(result?);
    Ok(())
}

fn expect_refused<T>(result: Result<T, AuthError>, wanted: AuthError) -> BenchResult<()> {
    match result {
        Err(error) if error == wanted => Ok(()),
        Err(error) => Err(format!("expected {wanted:?}, got {error:?}").into()),
        Ok(_) => Err(format!("expected {wanted:?}, got a principal").into()),
    }
}

fn authenticator(store: &Store, state: SharedStateHandle) -> BenchResult<ApiKeyAuthenticator> {
    Ok(ApiKeyAuthenticator::new(
        store.clone(),
        state,
        KeyedHasher::new(&SECRET)?,
        TTL,
    ))
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> BenchResult<()> {
    let dir = tempfile::tempdir()?;
    let url = format!("sqlite://{}", dir.path().join("bench.sqlite").display());
    let store = Store::connect(&url, &StoreOptions::default()).await?;
    store.migrate().await?;
    let tenant = Tenant::new(
        "PT Bench Jaya".parse()?,
        Tier::Growth,
        OffsetDateTime::now_utc(),
    );
    store
        .insert_tenant(&tenant, &benteng_core::audit::AuditContext::system("test"))
        .await?;

    let shared: SharedStateHandle = Arc::new(MemoryState::new());
    let keys = Arc::new(authenticator(&store, shared.clone())?);
    let issue = |networks: NetworkAllowList| {
        let keys = keys.clone();
        async move {
            keys.issue(
                tenant.id,
                KeyEnvironment::Live,
                Some(time::Duration::days(90)),
                benteng_core::scopes::Scopes::all(),
                networks,
                &benteng_core::audit::AuditContext::system("bench"),
            )
            .await
        }
    };
    let issued = issue(NetworkAllowList::any()).await?;
    let key = issued.key.expose_secret().to_owned();
    // Restricted keys: one network, and a full list whose only match is its last entry (an
    // IPv6 client checked against 31 IPv4 networks first: the longest walk there is).
    let one_network = issue("203.0.113.0/24".parse()?).await?;
    let one_network = one_network.key.expose_secret().to_owned();
    let mut entries: Vec<String> = (1..MAX_NETWORKS)
        .map(|i| format!("10.{i}.0.0/16"))
        .collect();
    entries.push("2001:db8::/32".to_owned());
    let full_list = NetworkAllowList::from_entries(entries.iter().map(String::as_str))?;
    let full_network = issue(full_list.clone()).await?;
    let full_network = full_network.key.expose_secret().to_owned();
    let client = facts("203.0.113.9".parse()?);
    let client_v6 = facts("2001:db8::9".parse()?);
    let header = format!("Bearer {key}");
    // Well-formed, right tenant, wrong secret: passes the format check, misses every cache.
    let mut unknown = key.clone();
    let last = if unknown.ends_with('A') { "B" } else { "A" };
    unknown.replace_range(unknown.len() - 1.., last);
    let malformed = "sk_live_not-a-key";
    let front = Authenticator::new(keys.clone());
    let hasher = KeyedHasher::new(&SECRET)?;

    // Fill this instance's cache (and the shared one) once.
    expect_ok(keys.authenticate(&key, &client).await)?;

    println!(
        "benteng-auth bench: SQLite at {}, in-process shared state, key cache TTL {} s",
        dir.path().display(),
        TTL.as_secs()
    );
    println!("per-call time of each batch; statistics over batches\n");

    let hit = measure(20_000, 5, 2_000, 100, || async {
        expect_ok(keys.authenticate(black_box(&key), &client).await)
    })
    .await?;
    hit.report("cache hit: ApiKeyAuthenticator::authenticate", 100);

    let via_header = measure(20_000, 5, 2_000, 100, || async {
        expect_ok(
            front
                .authenticate(black_box(Some(header.as_str())), &client)
                .await,
        )
    })
    .await?;
    via_header.report("cache hit: Authenticator from the header", 100);

    // Keys restricted to networks (each filled into the cache once first).
    expect_ok(keys.authenticate(&one_network, &client).await)?;
    expect_ok(keys.authenticate(&full_network, &client_v6).await)?;
    let restricted = measure(20_000, 5, 2_000, 100, || async {
        expect_ok(keys.authenticate(black_box(&one_network), &client).await)
    })
    .await?;
    restricted.report("cache hit: key restricted to 1 network", 100);
    let restricted_full = measure(20_000, 5, 2_000, 100, || async {
        expect_ok(
            keys.authenticate(black_box(&full_network), &client_v6)
                .await,
        )
    })
    .await?;
    restricted_full.report("cache hit: 32 networks, IPv6 matches the last", 100);
    let outside = measure(20_000, 5, 2_000, 100, || async {
        expect_refused(
            keys.authenticate(black_box(&one_network), &client_v6).await,
            AuthError::NetworkNotAllowed,
        )
    })
    .await?;
    outside.report("cache hit: refused, outside its network", 100);
    let list_alone = measure(100_000, 5, 2_000, 1_000, || async {
        black_box(full_list.allows(black_box(client_v6.client_ip)));
        Ok(())
    })
    .await?;
    list_alone.report("  of which the check alone (32 networks, last)", 1_000);

    // Where a hit's time goes: its two fixed costs, measured alone.
    let parse = measure(100_000, 5, 2_000, 1_000, || async {
        black_box(ApiKeyShape::parse(black_box(&key)))?;
        Ok(())
    })
    .await?;
    parse.report("  of which format check (ApiKeyShape::parse)", 1_000);
    let hmac = measure(20_000, 5, 2_000, 100, || async {
        black_box(hasher.hash(black_box(key.as_bytes())));
        Ok(())
    })
    .await?;
    hmac.report("  of which HMAC-SHA-256 of the key", 100);

    let refused = measure(100_000, 5, 2_000, 1_000, || async {
        expect_refused(
            keys.authenticate(black_box(malformed), &client).await,
            AuthError::Malformed,
        )
    })
    .await?;
    refused.report("malformed key refused", 1_000);

    // Cold paths: a fresh authenticator has an empty local cache.
    let construct = measure(2_000, 3, 1_000, 10, || async {
        black_box(authenticator(&store, shared.clone())?);
        Ok(())
    })
    .await?;
    construct.report("(building an authenticator, included below)", 10);

    let shared_hit = measure(200, 3, 300, 10, || async {
        let cold = authenticator(&store, shared.clone())?;
        expect_ok(cold.authenticate(black_box(&key), &client).await)
    })
    .await?;
    shared_hit.report("local miss, shared-state hit (JSON decode)", 10);

    let db = measure(100, 3, 100, 10, || async {
        let cold = authenticator(&store, Arc::new(MemoryState::new()))?;
        expect_ok(cold.authenticate(black_box(&key), &client).await)
    })
    .await?;
    db.report("cache miss → SQLite → fill both caches", 10);

    let unknown_key = measure(100, 3, 100, 10, || async {
        expect_refused(
            keys.authenticate(black_box(&unknown), &client).await,
            AuthError::Unknown,
        )
    })
    .await?;
    unknown_key.report("well-formed unknown key (SQLite, not cached)", 10);

    store.close().await;
    Ok(())
}
