//! Load generator for the payments core: `POST /v1/transfers` next to `GET /healthz`, over
//! HTTPS with the server's development CA. Used by `scripts/bench-payments`; results go to
//! BENCHMARKS.md.
//!
//! ```sh
//! cargo run --release -p benteng --example loadgen -- \
//!     --url https://127.0.0.1:8443 --ca data/tls/dev-ca.pem --key "$KEY" \
//!     --concurrency 32 --duration 10 --rate 500 --open-duration 20 [--server-pid PID]
//! ```
//!
//! Set-up: one recipient (Indonesian account), then quotes created beforehand
//! (`GET /v1/quotes?source_currency=EUR&target_currency=IDR&source_amount=1.00`), so the timed
//! phases measure the transfer alone. Phases, in order:
//!
//! 1. closed loop: `--concurrency` workers, each sending its next request when the previous one
//!    answered, for `--duration` seconds (or until the quotes run out): throughput;
//!    `/healthz` first, then transfers;
//! 2. open loop: requests scheduled at `--rate` per second for `--open-duration` seconds,
//!    whatever the answers do; latency counts from the *scheduled* send time, so queueing (in the
//!    client, the connection pool or the server) is part of it. `/healthz` first, then transfers.
//!
//! Each transfer carries a fresh `X-Idempotency-Key` (UUID v4). Every non-2xx answer or
//! transport error is counted and printed; a phase with failures is marked as such. With
//! `--server-pid`, the server process's CPU time per request (from `/proc/PID/stat`) is printed
//! too: on a shared, noisy machine it is steadier than requests/s.

use std::error::Error;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use clap::Parser;
use tokio::sync::Mutex;

#[derive(Parser, Debug, Clone)]
struct Args {
    /// Base URL of the server, e.g. https://127.0.0.1:8443.
    #[arg(long)]
    url: String,
    /// The dev CA (`{data_dir}/tls/dev-ca.pem`).
    #[arg(long)]
    ca: PathBuf,
    /// API key of an enterprise tenant funded in EUR; repeat it for several tenants (requests
    /// go to them in turn, so a busy tenant's balance row is not the only thing measured).
    #[arg(long, required = true)]
    key: Vec<String>,
    /// Closed-loop workers.
    #[arg(long, default_value_t = 32)]
    concurrency: usize,
    /// Closed-loop phase length, seconds.
    #[arg(long, default_value_t = 10)]
    duration: u64,
    /// Quotes created for the closed-loop transfer phase (it stops early when they run out).
    #[arg(long, default_value_t = 15_000)]
    closed_quotes: usize,
    /// Open-loop offered rate, requests per second.
    #[arg(long, default_value_t = 500)]
    rate: u64,
    /// Open-loop phase length, seconds.
    #[arg(long, default_value_t = 20)]
    open_duration: u64,
    /// Server PID, to report its CPU time per request.
    #[arg(long)]
    server_pid: Option<u32>,
    /// Use HTTP/2 (one multiplexed connection) instead of a pool of HTTP/1.1 connections.
    #[arg(long)]
    http2: bool,
    /// Skip phases: a comma list of `closed`, `open`, `healthz`.
    #[arg(long, default_value = "")]
    skip: String,
    /// Label printed in the first column of every result line.
    #[arg(long, default_value = "")]
    label: String,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Target {
    Healthz,
    Transfer,
}

impl Target {
    fn name(self) -> &'static str {
        match self {
            Target::Healthz => "GET /healthz",
            Target::Transfer => "POST /v1/transfers",
        }
    }
}

/// A tenant of the run: its credentials and its recipient.
struct Caller {
    auth: String,
    recipient: String,
}

struct Shared {
    client: reqwest::Client,
    url: String,
    callers: Arc<Vec<Caller>>,
    /// (caller index, quote id), interleaved across callers.
    quotes: Vec<(usize, String)>,
    next_quote: AtomicUsize,
}

impl Shared {
    /// Sends one request; `Ok(status)` or a transport error.
    async fn send(&self, target: Target) -> Result<u16, String> {
        let request = match target {
            Target::Healthz => self.client.get(format!("{}/healthz", self.url)),
            Target::Transfer => {
                let index = self.next_quote.fetch_add(1, Ordering::Relaxed);
                let Some((caller, quote)) = self.quotes.get(index) else {
                    return Err("out of quotes".to_owned());
                };
                let Some(caller) = self.callers.get(*caller) else {
                    return Err("no such caller".to_owned());
                };
                let body = serde_json::json!({
                    "quote_id": quote,
                    "recipient_id": caller.recipient,
                    "amount": "1.00",
                    "currency": "EUR",
                    "reference": format!("BENCH-{index}"),
                });
                self.client
                    .post(format!("{}/v1/transfers", self.url))
                    .header("authorization", &caller.auth)
                    .header("x-idempotency-key", uuid::Uuid::new_v4().to_string())
                    .json(&body)
            }
        };
        let response = request.send().await.map_err(|e| e.to_string())?;
        let status = response.status().as_u16();
        // Read the body so the connection goes back to the pool.
        let body = response.bytes().await.map_err(|e| e.to_string())?;
        if !(200..300).contains(&status) {
            return Err(format!(
                "HTTP {status}: {}",
                String::from_utf8_lossy(&body[..body.len().min(300)])
            ));
        }
        Ok(status)
    }
}

#[derive(Default)]
struct Outcome {
    /// Microseconds per successful request.
    latencies: Vec<u64>,
    errors: Vec<String>,
    elapsed: Duration,
    server_cpu: Option<Duration>,
    quotes_exhausted: bool,
}

impl Outcome {
    fn percentile(sorted: &[u64], p: f64) -> f64 {
        if sorted.is_empty() {
            return f64::NAN;
        }
        let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
        let index = rank.clamp(1, sorted.len()) - 1;
        sorted.get(index).copied().unwrap_or_default() as f64 / 1000.0
    }

    fn print(&mut self, label: &str, mode: &str, target: Target) {
        self.latencies.sort_unstable();
        let ok = self.latencies.len();
        let secs = self.elapsed.as_secs_f64();
        let rps = ok as f64 / secs;
        let mean = if ok == 0 {
            f64::NAN
        } else {
            self.latencies.iter().sum::<u64>() as f64 / ok as f64 / 1000.0
        };
        let cpu = match self.server_cpu {
            Some(cpu) if ok > 0 => format!("{:.0}", cpu.as_secs_f64() * 1e6 / ok as f64),
            _ => "-".to_owned(),
        };
        println!(
            "RESULT | {label} | {mode} | {} | {ok} | {} | {secs:.1} | {rps:.0} | {:.2} | {:.2} | {:.2} | {mean:.2} | {cpu} |{}",
            target.name(),
            self.errors.len(),
            Self::percentile(&self.latencies, 50.0),
            Self::percentile(&self.latencies, 99.0),
            Self::percentile(&self.latencies, 100.0),
            if self.quotes_exhausted {
                " quotes ran out"
            } else {
                ""
            }
        );
        let mut distinct: Vec<&String> = self.errors.iter().collect();
        distinct.sort();
        distinct.dedup();
        for error in distinct.iter().take(5) {
            eprintln!("    error: {error}");
        }
    }
}

/// The server's user + system CPU time so far.
fn server_cpu(pid: Option<u32>) -> Option<Duration> {
    let pid = pid?;
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let rest = &stat[stat.rfind(')')? + 2..];
    let fields: Vec<&str> = rest.split_whitespace().collect();
    // After the command: state is field 3 of stat, utime 14 and stime 15 → indices 11 and 12.
    let ticks: u64 = fields.get(11)?.parse::<u64>().ok()? + fields.get(12)?.parse::<u64>().ok()?;
    // CLK_TCK is 100 on every Linux this runs on.
    Some(Duration::from_millis(ticks * 10))
}

async fn closed_loop(
    shared: Arc<Shared>,
    target: Target,
    concurrency: usize,
    duration: Duration,
    pid: Option<u32>,
) -> Outcome {
    let results = Arc::new(Mutex::new(Outcome::default()));
    let cpu_before = server_cpu(pid);
    let start = Instant::now();
    let deadline = start + duration;
    let exhausted = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let mut workers = Vec::new();
    for _ in 0..concurrency {
        let shared = shared.clone();
        let results = results.clone();
        let exhausted = exhausted.clone();
        workers.push(tokio::spawn(async move {
            let mut latencies = Vec::new();
            let mut errors = Vec::new();
            while Instant::now() < deadline {
                let sent = Instant::now();
                match shared.send(target).await {
                    Ok(_) => latencies.push(sent.elapsed().as_micros() as u64),
                    Err(e) if e == "out of quotes" => {
                        exhausted.store(true, Ordering::Relaxed);
                        break;
                    }
                    Err(e) => errors.push(e),
                }
            }
            let mut results = results.lock().await;
            results.latencies.extend(latencies);
            results.errors.extend(errors);
        }));
    }
    for worker in workers {
        let _ = worker.await;
    }
    let elapsed = start.elapsed();
    let cpu_after = server_cpu(pid);
    let mut outcome = std::mem::take(&mut *results.lock().await);
    outcome.elapsed = elapsed;
    outcome.server_cpu = cpu_after.zip(cpu_before).map(|(a, b)| a.saturating_sub(b));
    outcome.quotes_exhausted = exhausted.load(Ordering::Relaxed);
    outcome
}

async fn open_loop(
    shared: Arc<Shared>,
    target: Target,
    rate: u64,
    duration: Duration,
    pid: Option<u32>,
) -> Outcome {
    let total = rate * duration.as_secs();
    let interval = Duration::from_nanos(1_000_000_000 / rate.max(1));
    let results = Arc::new(Mutex::new(Outcome::default()));
    let cpu_before = server_cpu(pid);
    let start = tokio::time::Instant::now();
    let mut tasks = Vec::with_capacity(total as usize);
    for i in 0..total {
        let scheduled = start + interval * (i as u32);
        tokio::time::sleep_until(scheduled).await;
        let shared = shared.clone();
        let results = results.clone();
        tasks.push(tokio::spawn(async move {
            let outcome = shared.send(target).await;
            // From the scheduled time: a late send (client or pool queueing) counts.
            let latency = scheduled.elapsed().as_micros() as u64;
            let mut results = results.lock().await;
            match outcome {
                Ok(_) => results.latencies.push(latency),
                Err(e) => results.errors.push(e),
            }
        }));
    }
    for task in tasks {
        let _ = task.await;
    }
    let elapsed = start.elapsed();
    let cpu_after = server_cpu(pid);
    let mut outcome = std::mem::take(&mut *results.lock().await);
    // Throughput of an open loop is the offered rate when it keeps up; report achieved.
    outcome.elapsed = elapsed;
    outcome.server_cpu = cpu_after.zip(cpu_before).map(|(a, b)| a.saturating_sub(b));
    outcome
}

/// Creates `count` quotes with a few parallel requests.
async fn make_quotes(
    client: &reqwest::Client,
    url: &str,
    auth: &str,
    count: usize,
) -> Result<Vec<String>, Box<dyn Error>> {
    let next = Arc::new(AtomicUsize::new(0));
    let mut tasks = Vec::new();
    for _ in 0..16 {
        let client = client.clone();
        let url =
            format!("{url}/v1/quotes?source_currency=EUR&target_currency=IDR&source_amount=1.00");
        let auth = auth.to_owned();
        let next = next.clone();
        tasks.push(tokio::spawn(async move {
            let mut ids = Vec::new();
            while next.fetch_add(1, Ordering::Relaxed) < count {
                let response = client
                    .get(&url)
                    .header("authorization", &auth)
                    .send()
                    .await
                    .map_err(|e| e.to_string())?;
                let status = response.status();
                let body: serde_json::Value = response.json().await.map_err(|e| e.to_string())?;
                let id = body.get("id").and_then(|v| v.as_str());
                match id {
                    Some(id) if status.is_success() => ids.push(id.to_owned()),
                    _ => return Err(format!("quote: HTTP {status}: {body}")),
                }
            }
            Ok::<_, String>(ids)
        }));
    }
    let mut quotes = Vec::with_capacity(count);
    for task in tasks {
        quotes.extend(task.await??);
    }
    Ok(quotes)
}

/// Adds the recipient a caller's transfers go to.
async fn make_recipient(
    client: &reqwest::Client,
    url: &str,
    auth: &str,
) -> Result<String, Box<dyn Error>> {
    let recipient: serde_json::Value = client
        .post(format!("{url}/v1/recipients"))
        .header("authorization", auth)
        .json(&serde_json::json!({
            "type": "business",
            "name": "PT Sumber Makmur Bench",
            "country": "ID",
            "bank_account": {"account_number": "1234567890", "bank_code": "014"},
        }))
        .send()
        .await?
        .error_for_status()?
        .json()
        .await?;
    Ok(recipient
        .get("id")
        .and_then(|v| v.as_str())
        .ok_or("recipient: no id in the answer")?
        .to_owned())
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn Error>> {
    let args = Args::parse();
    let skip: Vec<&str> = args.skip.split(',').map(str::trim).collect();
    let ca = reqwest::Certificate::from_pem(&std::fs::read(&args.ca)?)?;
    let mut builder = reqwest::Client::builder()
        .timeout(Duration::from_secs(30))
        .https_only(true)
        .tls_certs_only([ca])
        .pool_max_idle_per_host(4096);
    builder = if args.http2 {
        builder.http2_prior_knowledge()
    } else {
        builder.http1_only()
    };
    let client = builder.build()?;
    let url = args.url.trim_end_matches('/').to_owned();
    let mut callers = Vec::with_capacity(args.key.len());
    for key in &args.key {
        let auth = format!("Bearer {key}");
        let recipient = make_recipient(&client, &url, &auth).await?;
        callers.push(Caller { auth, recipient });
    }

    let open_quotes = (args.rate * args.open_duration) as usize;
    let closed_quotes = if skip.contains(&"closed") {
        0
    } else {
        args.closed_quotes
    };
    let open_quotes = if skip.contains(&"open") {
        0
    } else {
        open_quotes
    };
    let started = Instant::now();
    let per_caller = (closed_quotes + open_quotes).div_ceil(callers.len());
    let mut made = Vec::with_capacity(callers.len());
    for caller in &callers {
        made.push(make_quotes(&client, &url, &caller.auth, per_caller).await?);
    }
    // Interleaved: consecutive requests belong to different tenants.
    let mut quotes = Vec::with_capacity(per_caller * callers.len());
    for i in 0..per_caller {
        for (caller, ids) in made.iter().enumerate() {
            if let Some(id) = ids.get(i) {
                quotes.push((caller, id.clone()));
            }
        }
    }
    let took = started.elapsed().as_secs_f64();
    eprintln!(
        "    {} quotes for {} tenant(s) created in {took:.1} s ({:.0}/s)",
        quotes.len(),
        callers.len(),
        quotes.len() as f64 / took
    );
    let (closed, open) = quotes.split_at(closed_quotes.min(quotes.len()));
    let callers = Arc::new(callers);
    let shared = |quotes: &[(usize, String)]| {
        Arc::new(Shared {
            client: client.clone(),
            url: url.clone(),
            callers: callers.clone(),
            quotes: quotes.to_vec(),
            next_quote: AtomicUsize::new(0),
        })
    };
    let closed = shared(closed);
    let open = shared(open);

    // Warm-up: connections and caches, a little of each.
    let _ = closed_loop(
        closed.clone(),
        Target::Healthz,
        args.concurrency,
        Duration::from_secs(1),
        None,
    )
    .await;

    println!(
        "RESULT | label | mode | request | ok | errors | seconds | req/s | p50 ms | p99 ms | max ms | mean ms | server CPU µs/req |"
    );
    let duration = Duration::from_secs(args.duration);
    let mode = format!("closed c={}", args.concurrency);
    if !skip.contains(&"closed") {
        if !skip.contains(&"healthz") {
            closed_loop(
                closed.clone(),
                Target::Healthz,
                args.concurrency,
                duration,
                args.server_pid,
            )
            .await
            .print(&args.label, &mode, Target::Healthz);
        }
        closed_loop(
            closed.clone(),
            Target::Transfer,
            args.concurrency,
            duration,
            args.server_pid,
        )
        .await
        .print(&args.label, &mode, Target::Transfer);
    }
    if !skip.contains(&"open") {
        let duration = Duration::from_secs(args.open_duration);
        let mode = format!("open {}/s", args.rate);
        if !skip.contains(&"healthz") {
            open_loop(
                open.clone(),
                Target::Healthz,
                args.rate,
                duration,
                args.server_pid,
            )
            .await
            .print(&args.label, &mode, Target::Healthz);
        }
        open_loop(
            open.clone(),
            Target::Transfer,
            args.rate,
            duration,
            args.server_pid,
        )
        .await
        .print(&args.label, &mode, Target::Transfer);
    }
    Ok(())
}
