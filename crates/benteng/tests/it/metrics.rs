//! `/metrics` as an operator's Prometheus reads it: the payment flow's families follow a
//! transfer approved, held and completed; the ledger check reports a broken ledger; the
//! process's own gauges are there and plausible; the database's gauges read the same on every
//! instance while each counter counts what its own instance did; every family is documented
//! and the dashboard in docs/ uses only families the server exports.

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Duration;

use serde_json::Value;
use sqlx::Executor;

use crate::harness::{Backend, Environment, Process, TestApp, on_both_backends, workspace_root};
use crate::monitoring::funded_payer;

on_both_backends!(
    a_transfer_approved_held_and_completed_shows_in_the_business_metrics,
    a_broken_ledger_shows_in_the_ledger_check_gauge,
);

/// One scrape, read by series.
struct Scrape(String);

impl Scrape {
    /// The value of one series, written exactly as exported (`name{label="value"}`).
    fn value(&self, series: &str) -> Option<f64> {
        self.0.lines().find_map(|line| {
            line.strip_prefix(series)?
                .strip_prefix(' ')?
                .trim()
                .parse()
                .ok()
        })
    }

    /// The sum over every series of a family whose labels include `matching` (e.g. all
    /// verdicts of a counter).
    fn sum(&self, family: &str) -> f64 {
        self.0
            .lines()
            .filter(|line| line.starts_with(&format!("{family}{{")))
            .filter_map(|line| line.rsplit(' ').next()?.parse::<f64>().ok())
            .sum()
    }

    /// The families the scrape declares (`# TYPE` lines).
    fn families(&self) -> BTreeSet<String> {
        self.0
            .lines()
            .filter_map(|line| line.strip_prefix("# TYPE "))
            .filter_map(|rest| rest.split(' ').next())
            .map(str::to_owned)
            .collect()
    }
}

async fn scrape(client: &reqwest::Client, url: &str) -> Scrape {
    let response = client.get(url).send().await.unwrap();
    assert_eq!(response.status(), 200);
    Scrape(response.text().await.unwrap())
}

/// Scrapes until `ready` holds (the database's gauges are read on a one-second timer in these
/// tests); panics with the last scrape after 30 s.
async fn scrape_until(
    client: &reqwest::Client,
    url: &str,
    what: &str,
    ready: impl Fn(&Scrape) -> bool,
) -> Scrape {
    let mut last = scrape(client, url).await;
    for _ in 0..150 {
        if ready(&last) {
            return last;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
        last = scrape(client, url).await;
    }
    panic!("{what} never showed in /metrics:\n{}", last.0);
}

/// The database's gauges every second, the ledger check every second.
fn quick_gauges(config: &mut benteng::Config) {
    config.metrics.store_gauges_interval_secs = 1;
    config.metrics.ledger_check_interval_secs = 1;
}

/// A transfer to a German recipient is approved, submitted and completed by the sandbox rail;
/// one to an Iranian recipient is held for review. The server's clock stands still, so the hold's
/// age and the settlement's duration are exactly what the test moved it by.
async fn a_transfer_approved_held_and_completed_shows_in_the_business_metrics(backend: Backend) {
    let start = time::OffsetDateTime::now_utc();
    let clock = Arc::new(benteng_core::clock::ManualClock::new(start));
    let app = TestApp::spawn_with_clock(backend, quick_gauges, clock.clone()).await;
    let url = app.url("/metrics");
    let (tenant, payer) = funded_payer(&app, 100_000).await;
    let ordinary = payer
        .recipient_in("Budi Santoso", "DE", "DE02120300000000202051")
        .await;
    let approved = payer.pay(&ordinary, "10.00").await;
    assert_eq!(approved["status"], "APPROVED", "{approved}");
    let risky = payer
        .recipient_in("Tehran Trading Co", "IR", "DE89370400440532013000")
        .await;
    let held = payer.pay(&risky, "100.00").await;
    assert_eq!(held["status"], "PENDING_REVIEW", "{held}");

    // The rail claims the approved transfer at once; with the clock still, it cannot settle.
    scrape_until(&app.client, &url, "the submission", |m| {
        m.value(r#"transfers_in_flight{status="SUBMITTED"}"#) == Some(1.0)
    })
    .await;
    clock.advance(time::Duration::hours(1));
    let m = scrape_until(&app.client, &url, "the completion and the hold", |m| {
        m.value(r#"transfer_status_changes_total{status="COMPLETED"}"#) == Some(1.0)
            && m.value(r#"transfers_in_flight{status="SUBMITTED"}"#) == Some(0.0)
            && m.value(r#"transfers_oldest_in_flight_seconds{status="PENDING_REVIEW"}"#)
                .is_some_and(|age| age >= 3600.0)
            && m.value("ledger_check_violations") == Some(0.0)
            && m.value("audit_unsealed_events") == Some(0.0)
    })
    .await;

    // Each status entered once; nothing failed or was blocked.
    for (status, count) in [
        ("APPROVED", Some(1.0)),
        ("PENDING_REVIEW", Some(1.0)),
        ("SUBMITTED", Some(1.0)),
        ("COMPLETED", Some(1.0)),
        ("FAILED", None),
        ("BLOCKED", None),
    ] {
        let series = format!(r#"transfer_status_changes_total{{status="{status}"}}"#);
        assert_eq!(m.value(&series), count, "{series}\n{}", m.0);
    }
    // In flight: the hold only (an hour old), nothing waiting for the rail.
    for (status, count) in [
        ("PENDING_REVIEW", 1.0),
        ("APPROVED", 0.0),
        ("SUBMITTED", 0.0),
    ] {
        let series = format!(r#"transfers_in_flight{{status="{status}"}}"#);
        assert_eq!(m.value(&series), Some(count), "{series}\n{}", m.0);
    }
    let hold_age = m
        .value(r#"transfers_oldest_in_flight_seconds{status="PENDING_REVIEW"}"#)
        .unwrap();
    assert!((3600.0..3660.0).contains(&hold_age), "{hold_age}");
    // Both transfers screened and decided: one approved, one held on the country rule.
    assert_eq!(m.sum("screening_verdicts_total"), 2.0, "{}", m.0);
    assert_eq!(m.value("screening_duration_seconds_count"), Some(2.0));
    assert_eq!(
        m.value(r#"monitoring_verdicts_total{verdict="approve"}"#),
        Some(1.0)
    );
    assert_eq!(
        m.value(r#"monitoring_verdicts_total{verdict="review"}"#),
        Some(1.0)
    );
    assert_eq!(
        m.value(r#"monitoring_rule_hits_total{rule="high_risk_country"}"#),
        Some(1.0),
        "{}",
        m.0
    );
    // The rail: one submission, one completion, an hour after it.
    assert_eq!(
        m.value(r#"rail_submissions_total{rail="sandbox"}"#),
        Some(1.0)
    );
    assert_eq!(
        m.value(r#"rail_settlements_total{rail="sandbox",outcome="COMPLETED"}"#),
        Some(1.0),
        "{}",
        m.0
    );
    assert_eq!(
        m.value(r#"rail_settlement_duration_seconds_count{rail="sandbox"}"#),
        Some(1.0)
    );
    let settled_after = m
        .value(r#"rail_settlement_duration_seconds_sum{rail="sandbox"}"#)
        .unwrap();
    assert!((3600.0..3660.0).contains(&settled_after), "{settled_after}");
    // The ledger checked sound, the audit trail sealed.
    assert!(m.value("ledger_check_last_run_timestamp_seconds").unwrap() > 0.0);
    assert!(m.value("audit_events_sealed_total").unwrap() > 0.0);
    assert_eq!(m.value("audit_oldest_unsealed_seconds"), Some(0.0));
    // Labels are bounded: no tenant, transfer or recipient id anywhere.
    for id in [
        tenant.id.to_string(),
        approved["id"].as_str().unwrap().to_owned(),
        held["id"].as_str().unwrap().to_owned(),
        ordinary,
        risky,
    ] {
        assert!(!m.0.contains(&id), "{id} in /metrics");
    }
    every_family_is_described_documented_and_dashboarded(&m);
}

/// Every family of the scrape has its HELP line and its row in docs/operations.md; every row
/// there is a family the server describes; the dashboard queries only documented families.
fn every_family_is_described_documented_and_dashboarded(m: &Scrape) {
    let documented = documented_families();
    let telemetry = include_str!("../../src/telemetry.rs");
    for family in &documented {
        assert!(
            telemetry.contains(&format!("\"{family}\"")),
            "{family} is documented but has no HELP text in telemetry.rs"
        );
    }
    for family in m.families() {
        assert!(
            m.0.contains(&format!("# HELP {family} ")),
            "no HELP for {family}"
        );
        assert!(
            documented.contains(&family),
            "{family} is exported but not in docs/operations.md's metrics table"
        );
    }
    let dashboard: Value = serde_json::from_str(
        &std::fs::read_to_string(workspace_root().join("docs/dashboards/benteng.json"))
            .expect("docs/dashboards/benteng.json"),
    )
    .expect("the dashboard is JSON");
    let mut expressions = Vec::new();
    collect_expressions(&dashboard, &mut expressions);
    assert!(expressions.len() >= 10, "{expressions:?}");
    for expression in &expressions {
        for family in families_in(expression) {
            assert!(
                documented.contains(&family),
                "the dashboard queries {family} ({expression}), which the server does not export"
            );
        }
    }
}

/// The first cell of each row of the metrics table in docs/operations.md.
fn documented_families() -> BTreeSet<String> {
    let text = std::fs::read_to_string(workspace_root().join("docs/operations.md")).unwrap();
    let (_, table) = text
        .split_once("### Metric families")
        .expect("docs/operations.md has a metrics table");
    let table = table.split("\n#").next().unwrap_or(table);
    table
        .lines()
        .filter_map(|line| line.strip_prefix("| `"))
        .filter_map(|rest| rest.split_once('`'))
        .map(|(name, _)| name.to_owned())
        .collect()
}

fn collect_expressions(value: &Value, into: &mut Vec<String>) {
    match value {
        Value::Object(map) => {
            for (key, value) in map {
                match (key.as_str(), value) {
                    ("expr", Value::String(expression)) => into.push(expression.clone()),
                    _ => collect_expressions(value, into),
                }
            }
        }
        Value::Array(items) => items.iter().for_each(|v| collect_expressions(v, into)),
        _ => {}
    }
}

/// The metric names of a PromQL expression: identifiers that are not functions (followed by
/// `(`), operators, aggregations, label names (inside `{…}` and `by (…)`) or durations (inside `[…]`); a
/// histogram or summary's `_bucket`, `_sum` and `_count` series name their family.
fn families_in(expression: &str) -> Vec<String> {
    // Operators and aggregations (`sum by (…) (…)` puts a grouping between the name and its
    // parenthesis).
    const KEYWORDS: [&str; 19] = [
        "bool",
        "and",
        "or",
        "unless",
        "offset",
        "group_left",
        "group_right",
        "sum",
        "min",
        "max",
        "avg",
        "group",
        "stddev",
        "stdvar",
        "count",
        "count_values",
        "bottomk",
        "topk",
        "quantile",
    ];
    const GROUPING: [&str; 6] = [
        "by",
        "without",
        "on",
        "ignoring",
        "group_left",
        "group_right",
    ];
    let chars: Vec<char> = expression.chars().collect();
    let skip_to = |from: usize, close: char| {
        chars[from..]
            .iter()
            .position(|&c| c == close)
            .map_or(chars.len(), |at| from + at + 1)
    };
    let mut names = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if c == '{' || c == '[' {
            i = skip_to(i, if c == '{' { '}' } else { ']' });
        } else if c.is_ascii_alphabetic() || c == '_' {
            let start = i;
            while i < chars.len() && (chars[i].is_ascii_alphanumeric() || chars[i] == '_') {
                i += 1;
            }
            let name: String = chars[start..i].iter().collect();
            let next = chars[i..].iter().position(|c| !c.is_whitespace());
            let called = next.is_some_and(|at| chars[i + at] == '(');
            if GROUPING.contains(&name.as_str()) && called {
                i = skip_to(i, ')');
            } else if !called && !KEYWORDS.contains(&name.as_str()) {
                let family = ["_bucket", "_sum", "_count"]
                    .iter()
                    .find_map(|suffix| name.strip_suffix(suffix))
                    .unwrap_or(&name);
                names.push(family.to_owned());
            }
        } else if c.is_ascii_digit() {
            // A number (a quantile, a factor), exponents included.
            while i < chars.len() && (chars[i].is_ascii_alphanumeric() || chars[i] == '.') {
                i += 1;
            }
        } else {
            i += 1;
        }
    }
    names
}

#[test]
fn promql_names_are_told_from_functions_labels_and_groupings() {
    assert_eq!(
        families_in(
            "histogram_quantile(0.99, sum by (le, rail) (rate(x_bucket{rail=\"a\"}[5m]))) \
             / on(rail) group_left sum without(status)(y_total) > bool 1e3"
        ),
        ["x", "y_total"]
    );
}

/// The periodic ledger check finds what `benteng ledger check` finds: a tenant balance moved
/// without a posting shows as a violation within a check, and the gauge reads 0 again once
/// the balance is put back.
async fn a_broken_ledger_shows_in_the_ledger_check_gauge(backend: Backend) {
    let app = TestApp::spawn_with(backend, quick_gauges).await;
    let url = app.url("/metrics");
    let (_, _payer) = funded_payer(&app, 100_000).await;
    let violations = |want: f64| move |m: &Scrape| m.value("ledger_check_violations") == Some(want);
    scrape_until(&app.client, &url, "a sound ledger", violations(0.0)).await;
    let mut db = app.raw_sql().await;
    db.execute(sqlx::AssertSqlSafe(
        "UPDATE ledger_accounts SET credits_posted = credits_posted + 500 WHERE no_overdraft = 1",
    ))
    .await
    .unwrap();
    scrape_until(&app.client, &url, "the violation", violations(1.0)).await;
    db.execute(sqlx::AssertSqlSafe(
        "UPDATE ledger_accounts SET credits_posted = credits_posted - 500 WHERE no_overdraft = 1",
    ))
    .await
    .unwrap();
    scrape_until(&app.client, &url, "the repaired ledger", violations(0.0)).await;
    assert_eq!(
        scrape(&app.client, &url)
            .await
            .value("ledger_check_errors_total"),
        None
    );
}

/// The process's gauges, read from /proc/self: there, and within what a running server can
/// have (the scraping test shares the process, so the numbers are its own).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_process_gauges_are_present_and_plausible() {
    let app = TestApp::spawn(Backend::Sqlite).await;
    let m = scrape(&app.client, &app.url("/metrics")).await;
    let value = |name: &str| {
        m.value(name)
            .unwrap_or_else(|| panic!("{name} missing:\n{}", m.0))
    };
    let resident = value("process_resident_memory_bytes");
    assert!((1e6..64e9).contains(&resident), "{resident}");
    assert!(value("process_virtual_memory_bytes") >= resident);
    let cpu = value("process_cpu_seconds_total");
    assert!(cpu > 0.0 && cpu < 24.0 * 3600.0, "{cpu}");
    let open = value("process_open_fds");
    // At least stdin, stdout, stderr, the listener, the database.
    assert!(open >= 5.0 && open <= value("process_max_fds"), "{open}");
    // The runtime's workers and the server's tasks run on several threads.
    assert!(value("process_threads") >= 2.0);
    let started = value("process_start_time_seconds");
    let now = time::OffsetDateTime::now_utc().unix_timestamp_nanos() as f64 / 1e9;
    // The kernel gives boot time in whole seconds, so the start it dates can be up to a second
    // late (a CI run once read 1796669090.31 against a clock of 1796669090.x).
    assert!(
        started <= now + 1.0 && started > now - 3600.0,
        "{started} vs {now}"
    );
    // CPU time only grows.
    let later = scrape(&app.client, &app.url("/metrics")).await;
    assert!(later.value("process_cpu_seconds_total").unwrap() >= cpu);
}

/// Two `benteng` processes on one PostgreSQL: a transfer held through the first shows in the
/// second's gauges (they read the database), while the status counter is the first's alone
/// (it counts what its instance did), so `max` of a gauge and `sum` of a counter over the
/// instances are both the platform's numbers.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_instance_reports_the_platforms_holds_and_counts_only_its_own_changes() {
    let env = Environment::new(Backend::Postgres).await;
    let (_, key) = crate::invariants::funded_tenant(&env, "PT Dua Mesin").await;
    let quick = [("BENTENG_METRICS__STORE_GAUGES_INTERVAL_SECS", "1")];
    // No list is loaded into these processes' database: every transfer is held for review.
    let first = Process::serve_with(&env, &quick).await;
    let second = Process::serve_with(&env, &quick).await;
    let client = env.client();
    let payer = crate::invariants::Payer::new(&env, &first.url(""), key).await;
    let held = payer.pay(&first.url("")).await;
    assert_eq!(held["status"], "PENDING_REVIEW", "{held}");
    let hold = r#"transfers_in_flight{status="PENDING_REVIEW"}"#;
    let entered = r#"transfer_status_changes_total{status="PENDING_REVIEW"}"#;
    for process in [&first, &second] {
        let m = scrape_until(&client, &process.url("/metrics"), "the hold", |m| {
            m.value(hold) == Some(1.0)
        })
        .await;
        let counted = if std::ptr::eq(process, &first) {
            Some(1.0)
        } else {
            None
        };
        assert_eq!(m.value(entered), counted, "{}", m.0);
    }
}
