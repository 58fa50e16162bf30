//! Print the best matches of names given as arguments, with their evidence (development aid;
//! never use it on DTTOT names in shared logs).
//!
//! `cargo run --release -p benteng-screening --example probe -- "Name One" "Name Two"`
mod support;

use benteng_screening::{ListSource, Query, Screener};

fn main() {
    let mut lists: Vec<_> = support::load_all()
        .map(|l| l.into_iter().map(|(l, _)| l).collect())
        .unwrap_or_default();
    lists.extend(support::accuracy::synthetic_list());
    let screener = Screener::new();
    screener.replace_lists(lists);
    for name in std::env::args().skip(1) {
        let mut q = Query::new(name.clone());
        q.limit = 3;
        println!("== {name}");
        for m in screener.search(&q).unwrap_or_default() {
            if m.source == ListSource::IdDttot {
                println!("  {} id-dttot", m.score);
                continue;
            }
            println!(
                "  {} {}:{} {:?} [{}] {:?}",
                m.score, m.source, m.entry_id, m.matched_name, m.evidence.name_score, m.method
            );
            for t in &m.evidence.tokens {
                println!(
                    "     {} -> {:?} {:?} {:?} {} common={}",
                    t.query_token, t.matched_token, t.method, t.rule, t.similarity, t.common
                );
            }
            for a in &m.evidence.adjustments {
                println!("     adj {} {} {}", a.factor, a.delta, a.detail);
            }
        }
    }
}
