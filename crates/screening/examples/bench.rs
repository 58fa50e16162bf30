//! Benchmark: every list in `shared/testdata/sanctions` loaded; latency of indexed searches vs a
//! brute-force whole-name Jaro-Winkler scan over all names, with recall of both on the same
//! evaluation positives.
//!
//! `cargo run --release -p benteng-screening --example bench`
//! (single thread; set `BENCH_BF_QUERIES` to change the brute-force sample, default 300).
mod support;

use std::process::ExitCode;
use std::time::{Duration, Instant};

use benteng_screening::{ListSource, Query, REVIEW_THRESHOLD, Screener, normalize_name};
use support::evalset::from_tsv;

fn rss_kib() -> Option<u64> {
    let s = std::fs::read_to_string("/proc/self/status").ok()?;
    s.lines()
        .find(|l| l.starts_with("VmRSS:"))?
        .split_whitespace()
        .nth(1)?
        .parse()
        .ok()
}

fn pct(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i]
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
    let rss0 = rss_kib();
    let t_all = Instant::now();
    let lists = match support::load_all() {
        Ok(l) => l,
        Err(e) => {
            eprintln!("loading lists: {e}");
            return ExitCode::FAILURE;
        }
    };
    let parse_total = t_all.elapsed();
    let screener = Screener::new();
    for (l, d) in &lists {
        println!(
            "parsed {:<12} {:>6} entries in {:>8.1} ms",
            l.source.to_string(),
            l.entries.len(),
            d.as_secs_f64() * 1e3
        );
    }
    // Brute-force corpus: token-sorted normalised names, precomputed (fair baseline).
    let mut corpus: Vec<(ListSource, String, String)> = Vec::new();
    for (l, _) in &lists {
        for e in &l.entries {
            for n in e.all_names() {
                let mut t = normalize_name(n).tokens;
                t.sort();
                corpus.push((l.source.clone(), e.id.clone(), t.join(" ")));
            }
        }
    }
    let rss_parsed = rss_kib();
    let t = Instant::now();
    screener.replace_lists(lists.into_iter().map(|(l, _)| l).collect());
    let last_build = t.elapsed();
    let load_total = t_all.elapsed();
    let rss_indexed = rss_kib();
    let st = screener.stats();
    println!(
        "load all lists: {:.0} ms total (parse {:.0} ms, index build {:.0} ms)",
        load_total.as_secs_f64() * 1e3,
        parse_total.as_secs_f64() * 1e3,
        last_build.as_secs_f64() * 1e3
    );
    println!(
        "index: {} lists, {} entries, {} names, {} keys, {} postings, ~{:.1} MiB estimated",
        st.lists,
        st.entries,
        st.names,
        st.keys,
        st.postings,
        st.approx_bytes as f64 / 1048576.0
    );
    if let (Some(a), Some(b), Some(c)) = (rss0, rss_parsed, rss_indexed) {
        println!(
            "RSS: start {:.1} MiB, lists parsed + brute-force corpus {:.1} MiB, + index {:.1} MiB (index ≈ {:.1} MiB)",
            a as f64 / 1024.0,
            b as f64 / 1024.0,
            c as f64 / 1024.0,
            c.saturating_sub(b) as f64 / 1024.0
        );
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
    // Warm-up.
    for c in cases.iter().take(200) {
        let _ = screener.search(&Query::new(c.query.clone()));
    }
    let queries: Vec<Query> = cases.iter().map(|c| Query::new(c.query.clone())).collect();
    let mut lat = Vec::with_capacity(queries.len() * 3);
    let t = Instant::now();
    for _ in 0..3 {
        for q in &queries {
            let s = Instant::now();
            let r = screener.search(q);
            lat.push(s.elapsed());
            std::hint::black_box(r.ok());
        }
    }
    let wall = t.elapsed();
    lat.sort();
    let mean_idx = wall / lat.len() as u32;
    println!(
        "indexed search: {} searches, p50 {:.0} µs, p99 {:.0} µs, max {:.0} µs, mean {:.0} µs, {:.0} searches/s (1 thread)",
        lat.len(),
        pct(&lat, 0.5).as_secs_f64() * 1e6,
        pct(&lat, 0.99).as_secs_f64() * 1e6,
        lat.last().copied().unwrap_or_default().as_secs_f64() * 1e6,
        mean_idx.as_secs_f64() * 1e6,
        lat.len() as f64 / wall.as_secs_f64()
    );

    if std::env::args().any(|a| a == "--search-only") {
        return ExitCode::SUCCESS;
    }

    // Brute force on a sample of positives spread over the file, same queries for both.
    let n_bf: usize = std::env::var("BENCH_BF_QUERIES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(sized(300));
    let pos: Vec<_> = cases.iter().filter(|c| c.positive).collect();
    let step = (pos.len() / n_bf.max(1)).max(1);
    let sample: Vec<_> = pos.iter().step_by(step).take(n_bf).collect();
    let (mut bf_lat, mut ix_lat) = (Vec::new(), Vec::new());
    let (mut bf_top10, mut bf_jw90, mut ix_hit) = (0usize, 0usize, 0usize);
    for c in &sample {
        let Some((src, id)) = &c.expected else {
            continue;
        };
        let s = Instant::now();
        let bf = brute_force(&corpus, &c.query, 10);
        bf_lat.push(s.elapsed());
        if let Some((_, _, score)) = bf.iter().find(|(s2, i2, _)| s2 == src && i2 == id) {
            bf_top10 += 1;
            if *score >= 90 {
                bf_jw90 += 1;
            }
        }
        let s = Instant::now();
        let r = screener
            .search(&Query::new(c.query.clone()))
            .unwrap_or_default();
        ix_lat.push(s.elapsed());
        if r.iter()
            .any(|m| &m.source == src && &m.entry_id == id && m.score >= REVIEW_THRESHOLD)
        {
            ix_hit += 1;
        }
    }
    bf_lat.sort();
    ix_lat.sort();
    let n = sample.len().max(1) as f64;
    let mean = |v: &[Duration]| v.iter().sum::<Duration>().as_secs_f64() / v.len().max(1) as f64;
    println!(
        "brute-force JW scan: {} queries, p50 {:.0} µs, p99 {:.0} µs, mean {:.0} µs",
        sample.len(),
        pct(&bf_lat, 0.5).as_secs_f64() * 1e6,
        pct(&bf_lat, 0.99).as_secs_f64() * 1e6,
        mean(&bf_lat) * 1e6
    );
    println!(
        "indexed, same queries: p50 {:.0} µs, p99 {:.0} µs, mean {:.0} µs",
        pct(&ix_lat, 0.5).as_secs_f64() * 1e6,
        pct(&ix_lat, 0.99).as_secs_f64() * 1e6,
        mean(&ix_lat) * 1e6
    );
    println!(
        "speed-up (mean): {:.1}x, (p50): {:.1}x",
        mean(&bf_lat) / mean(&ix_lat).max(1e-12),
        pct(&bf_lat, 0.5).as_secs_f64() / pct(&ix_lat, 0.5).as_secs_f64().max(1e-12)
    );
    println!(
        "recall on these positives: indexed (expected entry, score >= {REVIEW_THRESHOLD}) {:.3}; brute-force JW expected entry in top 10 {:.3}, in top 10 with JW >= 0.90 {:.3}",
        ix_hit as f64 / n,
        bf_top10 as f64 / n,
        bf_jw90 as f64 / n
    );
    ExitCode::SUCCESS
}

/// Whole-name Jaro-Winkler of the token-sorted normalised query against every name; best
/// score per entry; top `limit` entries as (source, id, score 0-100).
fn brute_force(
    corpus: &[(ListSource, String, String)],
    name: &str,
    limit: usize,
) -> Vec<(ListSource, String, u8)> {
    let mut q = normalize_name(name).tokens;
    q.sort();
    let q = q.join(" ");
    let mut best: std::collections::HashMap<(&ListSource, &str), f64> =
        std::collections::HashMap::new();
    for (src, id, text) in corpus {
        let s = strsim::jaro_winkler(&q, text);
        let e = best.entry((src, id.as_str())).or_insert(0.0);
        if s > *e {
            *e = s;
        }
    }
    let mut v: Vec<_> = best.into_iter().collect();
    v.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
    v.truncate(limit);
    v.into_iter()
        .map(|((s, id), sc)| (s.clone(), id.to_string(), (sc * 100.0).round() as u8))
        .collect()
}
