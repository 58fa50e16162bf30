//! What the monitoring rules cost a transfer on the CPU: `RuleSet::evaluate` (every rule with
//! its inputs as JSON) plus `RuleSet::decide`, for the spec's four rules, over facts that vary
//! so every branch runs. The store's part (locking and reading the tenant's totals, writing
//! the observation) is measured through the whole transfer path, not here.
//!
//!     cargo run --release -p benteng-core --example monitoring_bench
//!
//! Prints the mean per decision and the p50/p99 of batch means (batches of 1,000), for several
//! rounds in one run.

#![allow(clippy::panic)]

use std::time::Instant;

use benteng_core::country::CountryCode;
use benteng_core::currency::Currency;
use benteng_core::payments::compliance::ComplianceDecision;
use benteng_core::payments::monitoring::{
    Aggregates, Bands, Check, Corridor, Facts, Rule, RuleInfo, RuleSet, UsdBand,
};

fn info(id: &str, score: u8) -> RuleInfo {
    RuleInfo {
        id: id.to_owned(),
        version: 1,
        description: id.to_owned(),
        score,
    }
}

fn spec_rules() -> RuleSet {
    let listed = [
        "KP", "IR", "MM", "DZ", "AO", "BO", "BG", "CM", "CI", "CD", "HT", "KE", "LA", "LB", "MC",
        "NA", "NP", "SS", "SY", "VE", "VN", "VG", "YE",
    ];
    let countries = listed
        .iter()
        .filter_map(|c| CountryCode::parse(c).ok())
        .collect();
    let rules = vec![
        Rule {
            info: info("velocity", 60),
            check: Check::Velocity {
                window: time::Duration::hours(24),
                over: 5_000_000,
            },
        },
        Rule {
            info: info("structuring", 85),
            check: Check::Structuring {
                window: time::Duration::hours(24),
                band: UsdBand {
                    low: 900_000,
                    high: 999_999,
                },
                min_count: 3,
            },
        },
        Rule {
            info: info("high_risk_country", 50),
            check: Check::HighRiskCountry { countries },
        },
        Rule {
            info: info("first_corridor", 30),
            check: Check::FirstCorridor,
        },
    ];
    match RuleSet::new(rules, Bands::SPEC, "bench".to_owned()) {
        Ok(rules) => rules,
        Err(error) => panic!("rules: {error}"),
    }
}

fn main() {
    let rules = spec_rules();
    let countries: Vec<CountryCode> = ["DE", "GB", "ID", "IR", "NL"]
        .iter()
        .filter_map(|c| CountryCode::parse(c).ok())
        .collect();
    let facts: Vec<Facts> = (0..64_i64)
        .map(|i| {
            let country = countries[(i as usize) % countries.len()];
            Facts {
                amount: 10_000 + i * 20_000,
                recipient_country: country,
                bank_country: Some(country),
                corridor: Corridor {
                    country,
                    currency: Currency::EUR,
                },
                aggregates: Aggregates {
                    velocity_sum: i * 100_000,
                    near_threshold: (i % 4) as u32,
                    volume_30d: i * 1_000_000,
                    corridor_seen: i % 3 != 0,
                    kyc: Default::default(),
                },
            }
        })
        .collect();
    const BATCH: usize = 1_000;
    const BATCHES: usize = 200;
    let mut sink = 0_u64;
    for round in 1..=5 {
        let mut batch_means = Vec::with_capacity(BATCHES);
        let started = Instant::now();
        for b in 0..BATCHES {
            let t = Instant::now();
            for i in 0..BATCH {
                let f = &facts[(b * BATCH + i) % facts.len()];
                let decision = rules.decide(ComplianceDecision::approve(), rules.evaluate(f));
                sink = sink.wrapping_add(u64::from(decision.risk_score));
            }
            batch_means.push(t.elapsed().as_nanos() as f64 / BATCH as f64);
        }
        let total = started.elapsed().as_nanos() as f64 / (BATCH * BATCHES) as f64;
        batch_means.sort_by(f64::total_cmp);
        let p50 = batch_means[BATCHES / 2];
        let p99 = batch_means[BATCHES * 99 / 100];
        println!(
            "round {round}: mean {:.2} µs per decision ({:.0}/s on one core), batch means p50 {:.2} µs, p99 {:.2} µs",
            total / 1000.0,
            1e9 / total,
            p50 / 1000.0,
            p99 / 1000.0
        );
    }
    println!("(checksum {sink})");
}
