//! The labelled accuracy set of issue 23 (`eval/accuracy_set.tsv`): precision, recall and F1 at
//! the review and block thresholds, per weakness class, with every shipped list loaded plus the
//! small synthetic list of `support::accuracy::synthetic_list`.
//!
//! `cargo run --release -p benteng-screening --example accuracy`            evaluate
//! `cargo run --release -p benteng-screening --example accuracy -- --write` regenerate the set
//! `... -- --wrong` also list every case whose decision differs from its label (DTTOT entries
//! are never named).
mod support;

use std::process::ExitCode;

use benteng_screening::{ListSource, Screener};
use support::accuracy::{
    CLASSES, Counts, SEED, evaluate, from_tsv, generate, run, synthetic_list, to_tsv,
};

fn line(label: &str, n: usize, c: &(Counts, Counts)) {
    println!(
        "| {label} | {n} | {:.3} | {:.3} | {:.3} | {:.3} | {:.3} | {:.3} |",
        c.0.precision(),
        c.0.recall(),
        c.0.f1(),
        c.1.precision(),
        c.1.recall(),
        c.1.f1()
    );
}

fn total(c: &(Counts, Counts)) -> usize {
    c.0.tp + c.0.fp + c.0.fn_ + c.0.tn
}

fn main() -> ExitCode {
    let lists = match support::load_all() {
        Ok(l) => l,
        Err(e) => {
            eprintln!("loading lists: {e}");
            return ExitCode::FAILURE;
        }
    };
    let mut lists: Vec<_> = lists.into_iter().map(|(l, _)| l).collect();
    match synthetic_list() {
        Ok(l) => lists.push(l),
        Err(e) => {
            eprintln!("synthetic list: {e}");
            return ExitCode::FAILURE;
        }
    }
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("eval/accuracy_set.tsv");
    if std::env::args().any(|a| a == "--write") {
        let public: Vec<_> = lists
            .iter()
            .filter(|l| l.source != ListSource::IdDttot)
            .collect();
        let all: Vec<_> = lists.iter().collect();
        let cases = generate(&public, &all, SEED);
        if let Err(e) = std::fs::write(&path, to_tsv(&cases)) {
            eprintln!("writing {}: {e}", path.display());
            return ExitCode::FAILURE;
        }
        println!("wrote {} cases to {}", cases.len(), path.display());
        return ExitCode::SUCCESS;
    }
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
    let screener = Screener::new();
    screener.replace_lists(lists);
    let r = evaluate(&screener, &cases);
    println!("| class | cases | P@review | R@review | F1@review | P@block | R@block | F1@block |");
    println!("|---|---|---|---|---|---|---|---|");
    for (class, c) in &r.classes {
        line(&format!("{class} {}", CLASSES[*class]), total(c), c);
    }
    line("latin script, all classes", total(&r.latin), &r.latin);
    line("all cases", total(&r.all), &r.all);
    println!(
        "common Indonesian names reaching block: {} of {}",
        r.common_blocked, r.common_total
    );
    if std::env::args().any(|a| a == "--wrong") {
        for (id, score) in &r.wrong {
            let Some(c) = cases.iter().find(|c| &c.id == id) else {
                continue;
            };
            let o = run(&screener, c);
            let other = match &o.best_other {
                Some((s, src, _)) if *src == ListSource::IdDttot => format!("{s} id-dttot"),
                Some((s, src, e)) => format!("{s} {src}:{e}"),
                None => String::new(),
            };
            println!(
                "WRONG {id} {} {} expect {:?} got {score} {:?} target {:?} other [{other}]",
                CLASSES[c.class], c.tag, c.expect, c.query, c.target
            );
        }
    }
    ExitCode::SUCCESS
}
