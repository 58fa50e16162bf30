//! Evaluation targets on `eval/eval_set.tsv` with every shipped list loaded:
//! recall >= 0.95 at the review threshold, precision >= 0.90 at the block threshold.
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "../examples/support/mod.rs"]
mod support;

use benteng_screening::Screener;

#[test]
fn eval_set_meets_targets() {
    let screener = Screener::new();
    screener.replace_lists(
        support::load_all()
            .unwrap()
            .into_iter()
            .map(|(l, _)| l)
            .collect(),
    );
    let text = std::fs::read_to_string(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("eval/eval_set.tsv"),
    )
    .unwrap();
    let cases = support::evalset::from_tsv(&text).unwrap();
    assert!(cases.len() > 2000);
    let r = support::evalset::evaluate(&screener, &cases);
    assert!(
        r.review.recall() >= 0.95,
        "recall@review {:.3}",
        r.review.recall()
    );
    assert!(
        r.block.precision() >= 0.90,
        "precision@block {:.3}",
        r.block.precision()
    );
}

#[test]
fn eval_set_is_reproducible() {
    let lists = support::load_all().unwrap();
    let public: Vec<_> = lists
        .iter()
        .map(|(l, _)| l)
        .filter(|l| l.source != benteng_screening::ListSource::IdDttot)
        .collect();
    let cases = support::evalset::generate(&public, 150, 500, 0x5EED_2026);
    let text = std::fs::read_to_string(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("eval/eval_set.tsv"),
    )
    .unwrap();
    assert_eq!(
        support::evalset::to_tsv(&cases),
        text,
        "run the gen_eval example to regenerate"
    );
}
