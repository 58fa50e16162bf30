//! The labelled accuracy set of issue 23 (`eval/accuracy_set.tsv`, see BENCHMARKS.md): the
//! committed file is what the generator makes.
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "../examples/support/mod.rs"]
mod support;

use benteng_screening::ListSource;
use support::accuracy::{SEED, from_tsv, generate, synthetic_list, to_tsv};

fn lists() -> Vec<benteng_screening::SanctionsList> {
    let mut lists: Vec<_> = support::load_all()
        .unwrap()
        .into_iter()
        .map(|(l, _)| l)
        .collect();
    lists.push(synthetic_list());
    lists
}

fn committed() -> String {
    std::fs::read_to_string(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("eval/accuracy_set.tsv"),
    )
    .unwrap()
}

#[test]
fn accuracy_set_is_reproducible() {
    let lists = lists();
    let public: Vec<_> = lists
        .iter()
        .filter(|l| l.source != ListSource::IdDttot)
        .collect();
    let all: Vec<_> = lists.iter().collect();
    let cases = generate(&public, &all, SEED);
    assert_eq!(
        to_tsv(&cases),
        committed(),
        "run the accuracy example with --write"
    );
    assert_eq!(from_tsv(&committed()).unwrap().len(), cases.len());
    assert!(
        cases.iter().all(|c| c
            .target
            .as_ref()
            .is_none_or(|(s, _)| *s != ListSource::IdDttot)),
        "no DTTOT entry is named in the committed set"
    );
}
