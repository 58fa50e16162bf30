//! Precision / recall of the screener on `eval/eval_set.tsv` with every shipped list loaded,
//! plus an in-memory DTTOT variant set (aggregate numbers only; no names are printed).
//!
//! `cargo run --release -p benteng-screening --example eval`
mod support;

use std::process::ExitCode;

use benteng_screening::{BLOCK_THRESHOLD, ListSource, REVIEW_THRESHOLD, Screener};
use support::evalset::{Report, evaluate, from_tsv, generate};

fn print(label: &str, r: &Report) {
    println!(
        "## {label}: {} positives, {} negatives",
        r.review.positives, r.negatives
    );
    println!(
        "review (score >= {REVIEW_THRESHOLD}): precision {:.3} recall {:.3}  (tp {} fp {})",
        r.review.precision(),
        r.review.recall(),
        r.review.tp,
        r.review.fp
    );
    println!(
        "block  (score >  {BLOCK_THRESHOLD}): precision {:.3} recall {:.3}  (tp {} fp {})",
        r.block.precision(),
        r.block.recall(),
        r.block.tp,
        r.block.fp
    );
    println!("variant               n  recall@review recall@block");
    for (v, n, a, b) in &r.by_variant {
        println!(
            "{v:<18} {n:>5}  {:>12.3} {:>12.3}",
            *a as f64 / *n as f64,
            *b as f64 / *n as f64
        );
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

fn main() -> ExitCode {
    let lists = match support::load_all() {
        Ok(l) => l,
        Err(e) => {
            eprintln!("loading lists: {e}");
            return ExitCode::FAILURE;
        }
    };
    let screener = Screener::new();
    let mut dttot = None;
    for (l, _) in lists {
        if l.source == ListSource::IdDttot {
            dttot = Some(l.clone());
        }
        screener.replace_list(l);
    }
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("eval/eval_set.tsv");
    let cases = match std::fs::read_to_string(&path)
        .map_err(|e| e.to_string())
        .and_then(|t| from_tsv(&t))
    {
        Ok(c) => c,
        Err(e) => {
            eprintln!("reading {}: {e}", path.display());
            return ExitCode::FAILURE;
        }
    };
    let mut cases = cases;
    cases.truncate(sized(cases.len()));
    let r = evaluate(&screener, &cases);
    print(
        "eval/eval_set.tsv (OFAC SDN, OFAC non-SDN, UN variants + synthetic negatives)",
        &r,
    );
    if std::env::args().any(|a| a == "--misses") {
        for id in &r.misses {
            if let Some(c) = cases.iter().find(|c| &c.id == id) {
                let res = screener
                    .search(&benteng_screening::Query::new(c.query.clone()))
                    .unwrap_or_default();
                let top: Vec<String> = res
                    .iter()
                    .filter(|m| m.source != ListSource::IdDttot)
                    .take(2)
                    .map(|m| {
                        format!(
                            "{} {}:{} [{}]",
                            m.score, m.source, m.entry_id, m.matched_name
                        )
                    })
                    .collect();
                println!(
                    "MISS {} {} {:?} expected {:?} got {:?}",
                    c.id, c.variant, c.query, c.expected, top
                );
            }
        }
    }
    if let Some(d) = dttot {
        let cases = generate(&[&d], sized(200), 0, 0x000D_7707);
        let r = evaluate(&screener, &cases);
        print("DTTOT in-memory variants (not stored; aggregate only)", &r);
    }
    ExitCode::SUCCESS
}
