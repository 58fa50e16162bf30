//! Regenerate `eval/eval_set.tsv` deterministically from the shipped OFAC SDN, OFAC non-SDN and
//! UN lists (DTTOT is excluded: it holds personal data and must not be committed).
//!
//! `cargo run --release -p benteng-screening --example gen_eval`
mod support;

use std::process::ExitCode;

use benteng_screening::ListSource;

fn main() -> ExitCode {
    let lists = match support::load_all() {
        Ok(l) => l,
        Err(e) => {
            eprintln!("loading lists: {e}");
            return ExitCode::FAILURE;
        }
    };
    let public: Vec<_> = lists
        .iter()
        .map(|(l, _)| l)
        .filter(|l| l.source != ListSource::IdDttot)
        .collect();
    let cases = support::evalset::generate(&public, 150, 500, 0x5EED_2026);
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("eval/eval_set.tsv");
    if let Err(e) = std::fs::write(&path, support::evalset::to_tsv(&cases)) {
        eprintln!("writing {}: {e}", path.display());
        return ExitCode::FAILURE;
    }
    let pos = cases.iter().filter(|c| c.positive).count();
    println!(
        "wrote {} cases ({pos} positive, {} negative) to {}",
        cases.len(),
        cases.len() - pos,
        path.display()
    );
    ExitCode::SUCCESS
}
