//! The protection layer's shared-state steps alone, timed one by one: `admit` as a money-moving
//! request makes it (per-IP guard, tenant and endpoint limits, idempotency key: a fresh key, so
//! it takes the lock) and `finish` (stores the response copy, releases the lock). For scale,
//! one plain `GET`: a single round trip.
//!
//!   cargo run --release -p benteng-shared-state --example admit_bench
//!   BENCH_REDIS_URL=redis://127.0.0.1:6379 BENCH_N=20000 cargo run --release …
//!
//! Runs against Redis (`BENCH_REDIS_URL`, default `redis://127.0.0.1:6379`, keys under a fresh
//! namespace that expire on their own) and the in-process backend, sequentially, one request at
//! a time, and prints p50 / p99 / p99.9 / max in microseconds.

use std::sync::Arc;
use std::time::{Duration, Instant};

use benteng_shared_state::{
    Admission, KeyLock, LimitCheck, MemoryState, RedisState, SharedStateHandle,
};

const WINDOW: Duration = Duration::from_secs(60);

fn report(name: &str, backend: &str, mut samples: Vec<Duration>) {
    samples.sort_unstable();
    let at = |q: f64| {
        let index = ((samples.len() as f64 - 1.0) * q).round() as usize;
        samples.get(index).map_or(0, |d| d.as_micros())
    };
    println!(
        "{backend:>6} {name:<7} n={} p50={}us p99={}us p99.9={}us max={}us",
        samples.len(),
        at(0.5),
        at(0.99),
        at(0.999),
        at(1.0)
    );
}

async fn run(state: SharedStateHandle, n: usize) -> Result<(), Box<dyn std::error::Error>> {
    let backend = state.backend();
    let tenant = uuid::Uuid::new_v4();
    let guard = LimitCheck {
        key: "rl:ip:127.0.0.1".to_owned(),
        limit: 30,
    };
    let limits = [
        LimitCheck {
            key: format!("rl:tenant:{tenant}"),
            limit: 1_000_000_000,
        },
        LimitCheck {
            key: format!("rl:endpoint:{tenant}:POST /v1/transfers"),
            limit: 1_000_000_000,
        },
    ];
    let response = vec![b'x'; 600]; // about the size of a transfer's stored answer
    let (mut admits, mut finishes, mut gets) = (vec![], vec![], vec![]);
    for i in 0..n + n / 10 {
        let key = uuid::Uuid::new_v4();
        let lock = KeyLock {
            response_key: format!("idempotency:{tenant}:{key}"),
            lock_key: format!("idempotency-lock:{tenant}:{key}"),
            owner: uuid::Uuid::new_v4().simple().to_string(),
            ttl: Duration::from_secs(60),
        };
        let admission = Admission {
            guard: Some(&guard),
            limits: &limits,
            key: Some(&lock),
            window: WINDOW,
        };
        let started = Instant::now();
        state.admit(&admission).await?;
        let admitted = started.elapsed();
        let started = Instant::now();
        state
            .finish(&lock, Some((&response, Duration::from_secs(60))))
            .await?;
        let finished = started.elapsed();
        let started = Instant::now();
        state.get(&lock.response_key).await?;
        let got = started.elapsed();
        if i >= n / 10 {
            // The first tenth warms up connections and caches.
            admits.push(admitted);
            finishes.push(finished);
            gets.push(got);
        }
    }
    report("admit", backend, admits);
    report("finish", backend, finishes);
    report("get", backend, gets);
    Ok(())
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let url =
        std::env::var("BENCH_REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379".to_owned());
    let n = std::env::var("BENCH_N")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(20_000);
    let namespace = format!("bench-admit-{}", uuid::Uuid::new_v4().simple());
    let redis: SharedStateHandle =
        Arc::new(RedisState::connect(&url, &namespace, &Default::default()).await?);
    run(redis, n).await?;
    run(Arc::new(MemoryState::new()), n).await?;
    Ok(())
}
