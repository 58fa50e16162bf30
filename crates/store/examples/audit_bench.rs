//! Audit-trail throughput: events written per second by K concurrent writers, the sealer's
//! throughput over the backlog they leave, and `verify_audit()` time. Results go to
//! BENCHMARKS.md (`scripts/bench-payments` runs it on both backends).
//!
//! ```sh
//! cargo run --release -p benteng-store --example audit_bench -- <database url> [seconds] [K,K,…]
//! # e.g. postgres://postgres@127.0.0.1:5432/audit_bench_1 5 1,8,32
//! #      sqlite:///tmp/audit-bench.sqlite
//! ```
//!
//! The database must be fresh (it is migrated, then filled with events that triggers make
//! impossible to delete: drop the database afterwards).
//!
//! Phases:
//! - `store.audit(&event)` (the public path: one autocommitted INSERT per call) from K tasks
//!   for a fixed time, per K;
//! - `intx`: the path a transfer takes: the same INSERT the store's `audit::record` runs, four of
//!   them inside one transaction (a transfer writes four), timed separately from BEGIN and
//!   COMMIT, so the marginal cost of an audit row inside someone else's transaction is visible.
//!   The INSERT is a copy of `crates/store/src/audit.rs`'s (that function is crate-private);
//!   keep them in step;
//! - the sealer: `seal_audit()` until the backlog is empty; `verify_audit()` once.
//!
//! The events look like a transfer's `transfer.status_changed` (request id, tenant, address,
//! two changes, a compliance object), about the size of the real ones.

use std::error::Error;
use std::str::FromStr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use benteng_core::audit::{AuditContext, AuditEvent, Retention};
use benteng_core::ids::TenantId;
use benteng_store::{Store, StoreOptions};
use sqlx::any::{AnyConnectOptions, AnyPoolOptions};

fn event(context: &AuditContext, n: u64) -> AuditEvent {
    AuditEvent::new(
        context,
        "transfer.status_changed",
        Retention::Security,
        ("transfer", uuid::Uuid::new_v4().to_string()),
    )
    .change("status", "SCREENING".into(), "APPROVED".into())
    .change(
        "cause",
        serde_json::Value::Null,
        format!("compliance: approved (risk score {})", n % 100).into(),
    )
    .with_compliance(serde_json::json!({"aml_check": "PASSED", "risk_score": 12, "reasons": []}))
}

fn context() -> AuditContext {
    AuditContext {
        request_id: Some(uuid::Uuid::new_v4().to_string()),
        trace_id: None,
        tenant_id: Some(TenantId::new()),
        ip: Some("127.0.0.1".to_owned()),
        actor: "api".to_owned(),
        ..Default::default()
    }
}

struct Stats {
    events: u64,
    elapsed: Duration,
    /// Sum of per-call latencies, µs.
    latency_sum: u64,
    latencies: Vec<u64>,
}

fn percentile(sorted: &[u64], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    sorted
        .get(rank.clamp(1, sorted.len()) - 1)
        .copied()
        .unwrap_or_default() as f64
}

/// K tasks calling `store.audit` for `duration`.
async fn writers(store: &Store, k: usize, duration: Duration) -> Result<Stats, Box<dyn Error>> {
    let count = Arc::new(AtomicU64::new(0));
    let start = Instant::now();
    let deadline = start + duration;
    let mut tasks = Vec::new();
    for _ in 0..k {
        let store = store.clone();
        let count = count.clone();
        tasks.push(tokio::spawn(async move {
            let context = context();
            let mut latencies = Vec::new();
            while Instant::now() < deadline {
                let n = count.fetch_add(1, Ordering::Relaxed);
                let event = event(&context, n);
                let sent = Instant::now();
                store.audit(&event).await.map_err(|e| e.to_string())?;
                latencies.push(sent.elapsed().as_micros() as u64);
            }
            Ok::<_, String>(latencies)
        }));
    }
    let mut latencies = Vec::new();
    for task in tasks {
        latencies.extend(task.await??);
    }
    let elapsed = start.elapsed();
    latencies.sort_unstable();
    Ok(Stats {
        events: latencies.len() as u64,
        elapsed,
        latency_sum: latencies.iter().sum(),
        latencies,
    })
}

/// K tasks, each: BEGIN; four audit INSERTs; COMMIT. Latencies are of the four INSERTs only.
async fn in_transaction(
    url: &str,
    k: usize,
    duration: Duration,
    pool_size: u32,
) -> Result<(Stats, f64), Box<dyn Error>> {
    let sqlite = url.starts_with("sqlite:");
    let pool = AnyPoolOptions::new()
        .max_connections(if sqlite { 1 } else { pool_size })
        .after_connect(move |conn, _meta| {
            Box::pin(async move {
                if sqlite {
                    sqlx::Executor::execute(
                        conn,
                        "PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL; \
                         PRAGMA foreign_keys = ON; PRAGMA busy_timeout = 5000;",
                    )
                    .await?;
                }
                Ok(())
            })
        })
        .connect_with(AnyConnectOptions::from_str(url)?)
        .await?;
    let count = Arc::new(AtomicU64::new(0));
    let start = Instant::now();
    let deadline = start + duration;
    let mut tasks = Vec::new();
    for _ in 0..k {
        let pool = pool.clone();
        let count = count.clone();
        tasks.push(tokio::spawn(async move {
            let context = context();
            let mut insert_times = Vec::new();
            let mut tx_total = 0u64;
            while Instant::now() < deadline {
                let tx_start = Instant::now();
                let mut tx = pool.begin().await.map_err(|e| e.to_string())?;
                let inserts = Instant::now();
                for _ in 0..4 {
                    let n = count.fetch_add(1, Ordering::Relaxed);
                    let event = event(&context, n);
                    let occurred = event.timestamp.unix_timestamp_nanos() / 1000;
                    let expires = (event.timestamp + event.retention.keep_for())
                        .unix_timestamp_nanos()
                        / 1000;
                    let document =
                        String::from_utf8(event.canonical()).map_err(|e| e.to_string())?;
                    sqlx::query(
                        "INSERT INTO audit_events (id, occurred_at, event_type, retention, \
                         tenant_id, document, expires_at) VALUES ($1, $2, $3, $4, $5, $6, $7)",
                    )
                    .bind(event.id.to_string())
                    .bind(occurred as i64)
                    .bind(&event.event_type)
                    .bind(event.retention.as_str())
                    .bind(event.context.tenant_id.map(|t| t.to_string()))
                    .bind(document)
                    .bind(expires as i64)
                    .execute(&mut *tx)
                    .await
                    .map_err(|e| e.to_string())?;
                }
                insert_times.push(inserts.elapsed().as_micros() as u64);
                tx.commit().await.map_err(|e| e.to_string())?;
                tx_total += tx_start.elapsed().as_micros() as u64;
            }
            Ok::<_, String>((insert_times, tx_total))
        }));
    }
    let mut latencies = Vec::new();
    let mut tx_total = 0;
    for task in tasks {
        let (times, total) = task.await??;
        latencies.extend(times);
        tx_total += total;
    }
    let elapsed = start.elapsed();
    latencies.sort_unstable();
    let transactions = latencies.len() as u64;
    let mean_tx = tx_total as f64 / transactions.max(1) as f64;
    pool.close().await;
    Ok((
        Stats {
            events: transactions * 4,
            elapsed,
            latency_sum: latencies.iter().sum(),
            latencies,
        },
        mean_tx,
    ))
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn Error>> {
    let mut args = std::env::args().skip(1);
    let url = args.next().ok_or(
        "usage: audit_bench <database url of a fresh database> [seconds per phase] [K,K,…]",
    )?;
    let seconds: u64 = args.next().map(|s| s.parse()).transpose()?.unwrap_or(5);
    let ks: Vec<usize> = args
        .next()
        .unwrap_or_else(|| "1,8,32".to_owned())
        .split(',')
        .map(str::parse)
        .collect::<Result<_, _>>()?;
    let duration = Duration::from_secs(seconds);
    let options = StoreOptions::default();
    let store = Store::connect(&url, &options).await?;
    store.migrate().await?;
    let backend = store.backend().as_str();
    println!(
        "backend {backend}; pool {} connection(s); {seconds} s per phase; {} cores; load {}",
        if backend == "sqlite" {
            1
        } else {
            options.max_connections
        },
        std::thread::available_parallelism().map_or(0, |n| n.get()),
        std::fs::read_to_string("/proc/loadavg")
            .unwrap_or_default()
            .split_whitespace()
            .take(3)
            .collect::<Vec<_>>()
            .join(" ")
    );
    println!(
        "AUDIT | backend | phase | K | events | seconds | events/s | mean µs/call | p50 µs | p99 µs |"
    );
    let mut total = 0;
    for &k in &ks {
        let stats = writers(&store, k, duration).await?;
        total += stats.events;
        println!(
            "AUDIT | {backend} | store.audit (autocommit) | {k} | {} | {:.1} | {:.0} | {:.0} | {:.0} | {:.0} |",
            stats.events,
            stats.elapsed.as_secs_f64(),
            stats.events as f64 / stats.elapsed.as_secs_f64(),
            stats.latency_sum as f64 / stats.events.max(1) as f64,
            percentile(&stats.latencies, 50.0),
            percentile(&stats.latencies, 99.0),
        );
    }
    for &k in &ks {
        let (stats, mean_tx) = in_transaction(&url, k, duration, options.max_connections).await?;
        total += stats.events;
        let transactions = stats.latencies.len().max(1) as f64;
        println!(
            "AUDIT | {backend} | 4 INSERTs in one tx (per tx: inserts {:.0} µs of {mean_tx:.0} µs with BEGIN/COMMIT) | {k} | {} | {:.1} | {:.0} | {:.0} | {:.0} | {:.0} |",
            stats.latency_sum as f64 / transactions,
            stats.events,
            stats.elapsed.as_secs_f64(),
            stats.events as f64 / stats.elapsed.as_secs_f64(),
            stats.latency_sum as f64 / transactions / 4.0,
            percentile(&stats.latencies, 50.0) / 4.0,
            percentile(&stats.latencies, 99.0) / 4.0,
        );
    }

    let start = Instant::now();
    let mut sealed = 0;
    let mut passes = 0;
    loop {
        let n = store.seal_audit().await?;
        passes += 1;
        if n == 0 {
            break;
        }
        sealed += n;
    }
    let seal = start.elapsed();
    println!(
        "SEAL | {backend} | sealed {sealed} of {total} written | {passes} passes | {:.2} s | {:.0} events/s |",
        seal.as_secs_f64(),
        sealed as f64 / seal.as_secs_f64()
    );
    let start = Instant::now();
    let report = store.verify_audit().await?;
    let verify = start.elapsed();
    let checked: i64 = report.checked.iter().map(|(_, n)| n).sum();
    println!(
        "VERIFY | {backend} | {checked} rows | {:.2} s | {:.0} rows/s | unsealed {} | break {:?} |",
        verify.as_secs_f64(),
        checked as f64 / verify.as_secs_f64(),
        report.unsealed,
        report.first_break
    );
    store.close().await;
    Ok(())
}
