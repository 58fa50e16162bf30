//! A webhook receiver for benchmarks: answers every `POST` with 200 at once and counts it;
//! `GET /count` says how many it got. It checks nothing (the tests verify signatures; this
//! measures how fast benteng delivers). Used by `scripts/bench-payments` (`BENCH_PHASES=webhooks`).
//!
//!   cargo run --release -p benteng --example webhook_sink -- 127.0.0.1:0
//!
//! Prints `listening on ADDRESS` once bound.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use axum::Router;
use axum::extract::State;
use axum::routing::{get, post};

#[tokio::main(flavor = "multi_thread", worker_threads = 1)]
async fn main() {
    let bind = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "127.0.0.1:0".to_owned());
    let received = Arc::new(AtomicU64::new(0));
    let app = Router::new()
        .route(
            "/hook/{n}",
            post(|State(received): State<Arc<AtomicU64>>| async move {
                received.fetch_add(1, Ordering::Relaxed);
            }),
        )
        .route(
            "/count",
            get(|State(received): State<Arc<AtomicU64>>| async move {
                received.load(Ordering::Relaxed).to_string()
            }),
        )
        .with_state(received);
    let listener = tokio::net::TcpListener::bind(&bind).await.expect("bind");
    println!("listening on {}", listener.local_addr().expect("address"));
    axum::serve(listener, app).await.expect("serve");
}
