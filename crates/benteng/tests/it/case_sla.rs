//! The cases' SLA clock (issue 15, item 4): a case past its SLA is recorded once (the
//! `sla_missed` event, `case.sla_missed`, `cases_sla_missed_total`), and one still not closed
//! `[cases.escalation.INBOX] after_hours` past it moves to the configured inbox with a new due
//! time (the `escalated` event, `case.escalated`, `cases_escalated_total`), once, however many
//! instances run the clock. The server's clock is the test's: it moves, nothing waits for time.

use std::sync::Arc;
use std::time::Duration;

use benteng_core::clock::{Clock, ManualClock};
use benteng_core::roles::StaffRole;
use serde_json::Value;

use crate::harness::{Backend, Process, TestApp, on_both_backends};
use crate::monitoring::funded_payer;
use crate::people::{Session, audit_types, enrol, get, post, sign_in};

on_both_backends!(an_overdue_case_is_recorded_once_and_escalated_once);

/// The clock every second; held transfers' cases escalate from `payments` to `mlro` a day past
/// their SLA and are due there 12 hours later; quick sign-ins; no rate limit in the way.
fn configure(config: &mut benteng::Config) {
    config.people.argon2_memory_kib = 19 * 1024;
    config.people.argon2_iterations = 2;
    config.reports.check_interval_secs = 1;
    config.protection.tiers.growth.requests_per_minute = 100_000;
    config.cases.escalation.insert(
        "payments".to_owned(),
        benteng::config::EscalationConfig {
            to: "mlro".to_owned(),
            after_hours: 24,
            sla_hours: 12,
        },
    );
}

/// The value of one series as exported (`name{label="value"}`), if it is there.
fn series(text: &str, series: &str) -> Option<f64> {
    text.lines().find_map(|line| {
        line.strip_prefix(series)?
            .strip_prefix(' ')?
            .trim()
            .parse()
            .ok()
    })
}

/// Scrapes `url` until every `(series, value)` holds: a bounded number of tries.
async fn metrics_until(client: &reqwest::Client, url: &str, want: &[(&str, f64)]) -> String {
    let mut last = String::new();
    for _ in 0..150 {
        last = client.get(url).send().await.unwrap().text().await.unwrap();
        if want
            .iter()
            .all(|(name, value)| series(&last, name) == Some(*value))
        {
            return last;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    panic!("{want:?} never showed in /metrics:\n{last}");
}

async fn case_json(app: &TestApp, session: &Session, case: &str) -> Value {
    let response = get(
        &app.client,
        app.url(&format!("/admin/v1/cases/{case}")),
        session,
    )
    .await;
    assert_eq!(response.status(), 200);
    response.json().await.unwrap()
}

/// The kinds of the case's log, in order.
fn kinds(case: &Value) -> Vec<String> {
    case["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["kind"].as_str().unwrap().to_owned())
        .collect()
}

fn rfc3339(at: time::OffsetDateTime) -> String {
    at.format(&time::format_description::well_known::Rfc3339)
        .unwrap()
}

async fn an_overdue_case_is_recorded_once_and_escalated_once(backend: Backend) {
    let start = time::OffsetDateTime::now_utc();
    let clock = Arc::new(ManualClock::new(start));
    let app = TestApp::spawn_with_clock(backend, configure, clock.clone()).await;
    let metrics = app.url("/metrics");
    let analyst = enrol(&app, "ana@benteng.example", &[StaffRole::ComplianceAnalyst]).await;
    let session = sign_in(&app, &analyst).await;
    let (_, payer) = funded_payer(&app, 100_000).await;
    let recipient = payer
        .recipient_in("Tehran Trading Co", "IR", "DE89370400440532013000")
        .await;
    let held = payer.pay(&recipient, "100.00").await;
    assert_eq!(held["status"], "PENDING_REVIEW", "{held}");
    let listed: Value = get(&app.client, app.url("/admin/v1/cases"), &session)
        .await
        .json()
        .await
        .unwrap();
    let case = listed[0]["id"].as_str().unwrap().to_owned();
    assert_eq!(listed[0]["inbox"], "payments");
    assert_eq!(listed[0]["sla_missed_at"], Value::Null);
    // A second recipient's case, decided (and so closed) inside its SLA: the clock never
    // touches it, so every count below is the first case's alone.
    let other = payer
        .recipient_in("Tehran Shipping Co", "IR", "DE02120300000000202051")
        .await;
    let decided = payer.pay(&other, "100.00").await;
    assert_eq!(decided["status"], "PENDING_REVIEW", "{decided}");
    let decided = decided["id"].as_str().unwrap();
    let closed_case = app
        .services
        .store
        .case_of_transfer(decided.parse().unwrap())
        .await
        .unwrap()
        .unwrap()
        .to_string();
    let reviewed = post(
        &app.client,
        app.url(&format!("/admin/v1/transfers/{decided}/review")),
        &session,
        &serde_json::json!({"decision": "block", "reason": "the buyer named is on no contract"}),
    )
    .await;
    assert_eq!(reviewed.status(), 200, "{:?}", reviewed.text().await);
    assert_eq!(
        case_json(&app, &session, &closed_case).await["case"]["status"],
        "closed"
    );

    // Inside its SLA: counted open, not overdue, nothing recorded.
    metrics_until(
        &app.client,
        &metrics,
        &[
            (r#"cases_open{inbox="payments"}"#, 1.0),
            (r#"cases_overdue{inbox="payments"}"#, 0.0),
        ],
    )
    .await;
    assert_eq!(kinds(&case_json(&app, &session, &case).await), ["opened"]);

    // An hour past its SLA: the miss is recorded, once; the case stays where it is.
    clock.advance(time::Duration::hours(25));
    let missed_at = clock.now();
    let scraped = metrics_until(
        &app.client,
        &metrics,
        &[
            (r#"cases_sla_missed_total{inbox="payments"}"#, 1.0),
            (r#"cases_overdue{inbox="payments"}"#, 1.0),
        ],
    )
    .await;
    assert!(!scraped.contains("cases_escalated_total{"), "{scraped}");
    let shown = case_json(&app, &session, &case).await;
    assert_eq!(kinds(&shown), ["opened", "sla_missed"]);
    assert_eq!(shown["case"]["inbox"], "payments");
    assert_eq!(shown["case"]["sla_missed_at"], rfc3339(missed_at));
    let miss = &shown["events"][1];
    assert_eq!(miss["actor"], "system:case-clock");
    assert_eq!(miss["data"]["inbox"], "payments");
    assert_eq!(
        miss["data"]["sla_due_at"], shown["case"]["sla_due_at"],
        "{shown}"
    );

    // A day past its SLA: escalated to mlro, due 12 hours from now there, once.
    clock.advance(time::Duration::hours(24));
    let escalated_at = clock.now();
    metrics_until(
        &app.client,
        &metrics,
        &[
            (r#"cases_escalated_total{from="payments",to="mlro"}"#, 1.0),
            (r#"cases_open{inbox="mlro"}"#, 1.0),
            (r#"cases_open{inbox="payments"}"#, 0.0),
            (r#"cases_overdue{inbox="mlro"}"#, 0.0),
        ],
    )
    .await;
    let shown = case_json(&app, &session, &case).await;
    assert_eq!(kinds(&shown), ["opened", "sla_missed", "escalated"]);
    assert_eq!(shown["case"]["inbox"], "mlro");
    assert_eq!(shown["case"]["sla_missed_at"], Value::Null);
    let due = escalated_at + time::Duration::hours(12);
    assert_eq!(shown["case"]["sla_due_at"], rfc3339(due));
    let hop = &shown["events"][2];
    assert_eq!(hop["actor"], "system:case-clock");
    assert_eq!(hop["data"]["from"], "payments");
    assert_eq!(hop["data"]["to"], "mlro");
    assert_eq!(hop["data"]["sla_due_at"], rfc3339(due));

    // Past the new due time: a miss in mlro, recorded once more; mlro has no escalation, so
    // the case stays there.
    clock.advance(time::Duration::hours(13));
    metrics_until(
        &app.client,
        &metrics,
        &[
            (r#"cases_sla_missed_total{inbox="mlro"}"#, 1.0),
            (r#"cases_overdue{inbox="mlro"}"#, 1.0),
        ],
    )
    .await;
    let shown = case_json(&app, &session, &case).await;
    assert_eq!(
        kinds(&shown),
        ["opened", "sla_missed", "escalated", "sla_missed"]
    );
    assert_eq!(shown["case"]["inbox"], "mlro");
    let scraped = metrics_until(
        &app.client,
        &metrics,
        &[
            (r#"cases_sla_missed_total{inbox="payments"}"#, 1.0),
            (r#"cases_escalated_total{from="payments",to="mlro"}"#, 1.0),
        ],
    )
    .await;
    for family in ["cases_sla_missed_total", "cases_escalated_total"] {
        assert!(
            scraped.contains(&format!("# HELP {family} ")),
            "{family} has no HELP line"
        );
    }

    // The closed case: never missed, never moved.
    let closed = case_json(&app, &session, &closed_case).await;
    assert_eq!(closed["case"]["inbox"], "payments");
    assert_eq!(closed["case"]["sla_missed_at"], Value::Null);
    assert!(
        !kinds(&closed)
            .iter()
            .any(|k| k == "sla_missed" || k == "escalated"),
        "{closed}"
    );

    // The console shows where the case is, that it missed its SLA, and the log of both.
    let page = get(
        &app.client,
        app.url(&format!("/console/cases/{case}")),
        &session,
    )
    .await;
    assert_eq!(page.status(), 200);
    let page = page.text().await.unwrap();
    assert!(page.contains("id=\"case-inbox\">mlro<"), "{page}");
    assert!(page.contains("(SLA missed, recorded "), "{page}");
    assert!(
        page.contains("<td>escalated</td>") && page.contains("<td>sla_missed</td>"),
        "{page}"
    );
    let inbox = get(&app.client, app.url("/console/cases"), &session)
        .await
        .text()
        .await
        .unwrap();
    assert!(inbox.contains("<td>mlro</td>"), "{inbox}");

    // The audit trail names the system actor; the tenant's trail shows nothing of it.
    let trail = audit_types(&app).await;
    let of = |kind: &str| -> Vec<&Value> {
        trail
            .iter()
            .filter(|e| e["event_type"] == kind && e["resource"]["id"] == case.as_str())
            .collect()
    };
    assert_eq!(of("case.sla_missed").len(), 2, "{trail:?}");
    let escalations = of("case.escalated");
    assert_eq!(escalations.len(), 1, "{trail:?}");
    assert_eq!(escalations[0]["actor"]["by"], "system:case-clock");
    assert_eq!(escalations[0]["changes"]["inbox"]["from"], "payments");
    assert_eq!(escalations[0]["changes"]["inbox"]["to"], "mlro");
    let tenant_trail = app
        .get("/v1/audit-events?limit=500", Some(&payer.key))
        .await
        .text()
        .await
        .unwrap();
    assert!(
        !tenant_trail.contains("case.") && !tenant_trail.contains("mlro"),
        "no tip-off: {tenant_trail}"
    );

    // The store's conditional updates, called at once with the same reading: a miss already
    // recorded is not recorded again, and of two escalations exactly one goes through.
    let store = &app.services.store;
    let missed = store.cases_missing_sla(clock.now(), 10).await.unwrap();
    assert!(missed.is_empty(), "{missed:?}");
    let due = store
        .cases_due_before("mlro", clock.now(), 10)
        .await
        .unwrap();
    assert_eq!(due.len(), 1);
    let context = benteng_core::audit::AuditContext::system("test");
    let (first, second) = tokio::join!(
        store.record_sla_miss(&due[0], clock.now(), &context),
        store.record_sla_miss(&due[0], clock.now(), &context),
    );
    assert!(!first.unwrap() && !second.unwrap());
    let later = clock.now() + time::Duration::hours(1);
    let (first, second) = tokio::join!(
        store.escalate_case(&due[0], "board", later, clock.now(), &context),
        store.escalate_case(&due[0], "board", later, clock.now(), &context),
    );
    assert_eq!(
        [first.unwrap(), second.unwrap()]
            .iter()
            .filter(|won| **won)
            .count(),
        1
    );
}

/// A valid German IBAN for account `n` (the check digits computed, ISO 13616 mod 97).
fn iban(n: u32) -> String {
    let bban = format!("37040044{n:010}");
    // "DE" → 13 14, then "00", moved behind the BBAN.
    let digits = format!("{bban}131400");
    let remainder = digits
        .bytes()
        .fold(0u32, |r, d| (r * 10 + u32::from(d - b'0')) % 97);
    format!("DE{:02}{bban}", 98 - remainder)
}

/// Two `benteng serve` processes on one PostgreSQL run the clock over the same overdue cases:
/// each case's miss and escalation is recorded exactly once, and the two instances' counters
/// add up to the number of cases. The cases were opened three days earlier by an in-process
/// server whose clock the test holds (it stays quiet: its clock does not move).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_instances_escalate_each_overdue_case_once() {
    const CASES: usize = 12;
    let past = time::OffsetDateTime::now_utc() - time::Duration::days(3);
    let clock = Arc::new(ManualClock::new(past));
    let app = TestApp::spawn_with_clock(Backend::Postgres, configure, clock).await;
    let (_, payer) = funded_payer(&app, 10_000_000).await;
    let mut transfers = Vec::new();
    for n in 0..CASES {
        let recipient = payer
            .recipient_in(&format!("Tehran Trading {n}"), "IR", &iban(n as u32))
            .await;
        let held = payer.pay(&recipient, "100.00").await;
        assert_eq!(held["status"], "PENDING_REVIEW", "{held}");
        transfers.push(held["id"].as_str().unwrap().to_owned());
    }
    let store = &app.services.store;
    let mut cases = Vec::new();
    for transfer in &transfers {
        let case = store
            .case_of_transfer(transfer.parse().unwrap())
            .await
            .unwrap()
            .expect("a held transfer has a case");
        cases.push(case);
    }
    cases.dedup();
    assert_eq!(cases.len(), CASES, "one case per recipient");

    let extra = [
        ("BENTENG_REPORTS__CHECK_INTERVAL_SECS", "1"),
        ("BENTENG_CASES__ESCALATION__PAYMENTS__TO", "mlro"),
        ("BENTENG_CASES__ESCALATION__PAYMENTS__AFTER_HOURS", "24"),
        ("BENTENG_CASES__ESCALATION__PAYMENTS__SLA_HOURS", "12"),
    ];
    let env = app.environment();
    let (first, second) = tokio::join!(
        Process::serve_with(env, &extra),
        Process::serve_with(env, &extra)
    );
    let client = env.client();
    let cases_total = CASES as f64;
    // Each instance reads the moved cases from the database, the same numbers on both (an
    // instance that never saw a case in `payments` has no series for it).
    let mut scrapes = Vec::new();
    for process in [&first, &second] {
        let scraped = metrics_until(
            &client,
            &process.url("/metrics"),
            &[(r#"cases_open{inbox="mlro"}"#, cases_total)],
        )
        .await;
        let payments = series(&scraped, r#"cases_open{inbox="payments"}"#);
        assert!(matches!(payments, None | Some(0.0)), "{scraped}");
        scrapes.push(scraped);
    }
    // What each instance recorded adds up to every case, once.
    let sum = |series_name: &str| -> f64 {
        scrapes
            .iter()
            .map(|text| series(text, series_name).unwrap_or(0.0))
            .sum()
    };
    let missed = sum(r#"cases_sla_missed_total{inbox="payments"}"#);
    let escalated = sum(r#"cases_escalated_total{from="payments",to="mlro"}"#);
    eprintln!(
        "escalations by instance: {:?}",
        scrapes
            .iter()
            .map(|t| series(t, r#"cases_escalated_total{from="payments",to="mlro"}"#))
            .collect::<Vec<_>>()
    );
    assert_eq!(missed, cases_total);
    assert_eq!(escalated, cases_total);
    for case in &cases {
        let events = store.case_events(*case).await.unwrap();
        let count = |kind: &str| events.iter().filter(|e| e.kind == kind).count();
        assert_eq!(count("sla_missed"), 1, "{events:?}");
        assert_eq!(count("escalated"), 1, "{events:?}");
        let row = store.case(*case).await.unwrap();
        assert_eq!(row.inbox, "mlro");
        assert!(row.sla_missed_at.is_none());
    }
    let trail = audit_types(&app).await;
    for kind in ["case.sla_missed", "case.escalated"] {
        let count = trail.iter().filter(|e| e["event_type"] == kind).count();
        assert_eq!(count, CASES, "{kind}");
    }
}
