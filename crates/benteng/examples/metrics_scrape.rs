//! How long a `/metrics` scrape takes, and how large its body is: the server's recorder and
//! HELP text, filled first with the real families at their label bounds (every route, method
//! and status; every transfer status, verdict and rail) and `BENCH_OBSERVATIONS` observations
//! spread over them, then topped up with synthetic series until the exposition holds
//! `BENCH_SERIES` samples. Each scrape is what the handler does: the process gauges read from
//! `/proc/self`, then the text rendered. Printed: wall-clock p50/p99 per scrape, and the mean
//! CPU time per scrape (steadier on a shared machine). Results go to BENCHMARKS.md.
//!
//! ```sh
//! cargo run --release -p benteng --example metrics_scrape
//! BENCH_SERIES=100000 BENCH_OBSERVATIONS=100000 BENCH_SCRAPES=200 cargo run --release -p benteng --example metrics_scrape
//! ```

use std::time::{Duration, Instant};

use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle};

fn setting(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

const STATUSES: [&str; 9] = [
    "INITIATED",
    "SCREENING",
    "APPROVED",
    "PENDING_REVIEW",
    "BLOCKED",
    "SUBMITTED",
    "COMPLETED",
    "FAILED",
    "RETURNED",
];
const VERDICTS: [&str; 3] = ["approve", "review", "block"];
const RAILS: [&str; 2] = ["sandbox", "iso20022"];

/// One observation into the real families, the `n`th: the label values cycle through their
/// bounds, so every bounded series exists once enough observations have been made.
fn observe(n: usize, routes: &[String]) {
    let route = routes[n % routes.len()].clone();
    let method = ["GET", "POST", "DELETE", "PATCH"][n % 4];
    let status = ["200", "201", "400", "401", "404", "409", "429"][n % 7];
    let labels = [
        ("method", method.to_owned()),
        ("route", route),
        ("status", status.to_owned()),
    ];
    let seconds = (n % 1000) as f64 / 10_000.0;
    metrics::counter!("http_requests_total", &labels).increment(1);
    metrics::histogram!("http_request_duration_seconds", &labels).record(seconds);
    metrics::counter!("transfer_status_changes_total", "status" => STATUSES[n % 9]).increment(1);
    metrics::counter!("screening_verdicts_total", "verdict" => VERDICTS[n % 3]).increment(1);
    metrics::histogram!("screening_duration_seconds").record(seconds / 10.0);
    metrics::counter!("monitoring_verdicts_total", "verdict" => VERDICTS[n % 3]).increment(1);
    let rail = RAILS[n % 2];
    metrics::counter!("rail_submissions_total", "rail" => rail).increment(1);
    metrics::counter!("rail_settlements_total", "rail" => rail, "outcome" => STATUSES[6 + n % 3])
        .increment(1);
    metrics::histogram!("rail_settlement_duration_seconds", "rail" => rail).record(seconds * 100.0);
    metrics::gauge!("transfers_in_flight", "status" => STATUSES[n % 9]).set((n % 50) as f64);
    metrics::counter!("audit_events_sealed_total").increment(5);
}

fn samples(text: &str) -> usize {
    text.lines().filter(|l| !l.starts_with('#')).count()
}

fn scrape(handle: &PrometheusHandle) -> (Duration, String) {
    let started = Instant::now();
    benteng_api::process_metrics::record();
    let body = handle.render();
    (started.elapsed(), body)
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let index = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[index.min(sorted.len() - 1)]
}

/// This thread's user plus system CPU time, in seconds (`/proc/thread-self/stat`, 10 ms ticks):
/// on a shared machine the wall clock also counts the time other processes held the CPU.
fn thread_cpu_seconds() -> f64 {
    let stat = std::fs::read_to_string("/proc/thread-self/stat").unwrap_or_default();
    let fields: Vec<&str> = stat
        .rsplit_once(')')
        .map(|(_, rest)| rest.split_whitespace().collect())
        .unwrap_or_default();
    // Fields 14 and 15 (utime, stime), counted from field 3 just after the name.
    let ticks = |number: usize| -> u64 {
        fields
            .get(number - 3)
            .and_then(|f| f.parse().ok())
            .unwrap_or(0)
    };
    (ticks(14) + ticks(15)) as f64 / 100.0
}

fn report(label: &str, handle: &PrometheusHandle, scrapes: usize) {
    let mut times = Vec::with_capacity(scrapes);
    let mut body = String::new();
    let cpu_before = thread_cpu_seconds();
    for _ in 0..scrapes {
        let (took, text) = scrape(handle);
        times.push(took);
        body = text;
    }
    let cpu_per_scrape = (thread_cpu_seconds() - cpu_before) / scrapes as f64;
    times.sort();
    println!(
        "{label}: {} samples, {} families, body {:.1} KiB; scrape wall p50 {:.2} ms, p99 {:.2} ms, max {:.2} ms; CPU {:.2} ms per scrape (mean of {scrapes})",
        samples(&body),
        body.lines().filter(|l| l.starts_with("# TYPE ")).count(),
        body.len() as f64 / 1024.0,
        percentile(&times, 0.50).as_secs_f64() * 1e3,
        percentile(&times, 0.99).as_secs_f64() * 1e3,
        times.last().copied().unwrap_or_default().as_secs_f64() * 1e3,
        cpu_per_scrape * 1e3,
    );
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let target = setting("BENCH_SERIES", 100_000);
    let observations = setting("BENCH_OBSERVATIONS", 100_000);
    let scrapes = setting("BENCH_SCRAPES", 200);
    let recorder = PrometheusBuilder::new().build_recorder();
    let handle = recorder.handle();
    metrics::set_global_recorder(recorder)?;
    benteng::telemetry::describe_metrics();

    // The real route table, each path once.
    let routes: Vec<String> = benteng_api::route_table_paths()
        .into_iter()
        .map(|(path, _)| path.to_owned())
        .collect();
    let started = Instant::now();
    for n in 0..observations {
        observe(n, &routes);
    }
    println!(
        "{observations} observations over {} routes in {:.0} ms",
        routes.len(),
        started.elapsed().as_secs_f64() * 1e3
    );
    report("real families", &handle, scrapes);

    // Synthetic series to reach the target: counters, one label each (what the exposition
    // size costs, whatever the family).
    let (_, body) = scrape(&handle);
    let missing = target.saturating_sub(samples(&body));
    for n in 0..missing {
        metrics::counter!("bench_synthetic_total", "series" => n.to_string()).increment(1);
    }
    report(&format!("+{missing} synthetic"), &handle, scrapes);
    Ok(())
}
