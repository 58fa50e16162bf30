//! Cost of password hashing: `cargo run --release -p benteng-crypto --example bench`.
//!
//! Times `PasswordHasher::hash` and `verify` (one call each per sample, since one call is
//! hundreds of milliseconds) for the default settings and OWASP's minimum, in alternating
//! rounds so that a change in the machine's load lands on both alike. More settings can be
//! added as arguments, `MEMORY_KIB:ITERATIONS:PARALLELISM` each. Not a test: numbers go to
//! BENCHMARKS.md.

use std::error::Error;
use std::hint::black_box;
use std::time::Instant;

use benteng_crypto::SecretString;
use benteng_crypto::password::{Argon2Settings, PasswordHasher};

type BenchResult<T> = Result<T, Box<dyn Error>>;

const ROUNDS: usize = 7;
/// Hash and verify calls per setting per round.
const PER_ROUND: usize = 3;

/// `ROUNDS`, or one when `BENCH_SMOKE` is set: the CI smoke run (`scripts/ci/bench-smoke`)
/// checks that the bench still runs, not what it measures.
fn rounds() -> usize {
    if std::env::var_os("BENCH_SMOKE").is_some() {
        1
    } else {
        ROUNDS
    }
}

struct Candidate {
    name: String,
    hasher: PasswordHasher,
    hash_ms: Vec<f64>,
    verify_ms: Vec<f64>,
    round_medians: Vec<(f64, f64)>,
}

fn median(values: &[f64]) -> f64 {
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    sorted.get(sorted.len() / 2).copied().unwrap_or(f64::NAN)
}

fn parse_settings(arg: &str) -> BenchResult<Argon2Settings> {
    let parts: Vec<&str> = arg.split(':').collect();
    let [m, t, p] = parts.as_slice() else {
        return Err(format!("expected MEMORY_KIB:ITERATIONS:PARALLELISM, got {arg}").into());
    };
    Ok(Argon2Settings {
        memory_kib: m.parse()?,
        iterations: t.parse()?,
        parallelism: p.parse()?,
    })
}

fn describe(settings: &Argon2Settings) -> String {
    format!(
        "m={} MiB t={} p={}",
        f64::from(settings.memory_kib) / 1024.0,
        settings.iterations,
        settings.parallelism
    )
}

fn main() -> BenchResult<()> {
    let mut settings = vec![
        ("default".to_owned(), Argon2Settings::default()),
        ("OWASP minimum".to_owned(), Argon2Settings::OWASP_MINIMUM),
    ];
    for arg in std::env::args().skip(1) {
        settings.push(("candidate".to_owned(), parse_settings(&arg)?));
    }
    let mut candidates = settings
        .into_iter()
        .map(|(label, settings)| {
            Ok(Candidate {
                name: format!("{label} ({})", describe(&settings)),
                hasher: PasswordHasher::new(settings)?,
                hash_ms: Vec::new(),
                verify_ms: Vec::new(),
                round_medians: Vec::new(),
            })
        })
        .collect::<BenchResult<Vec<_>>>()?;

    let password = SecretString::from("a typical twenty-char");
    // Warm-up: page in the allocator's arenas and the code.
    for candidate in &candidates {
        let hash = candidate.hasher.hash(&password)?;
        black_box(candidate.hasher.verify(&hash, &password));
    }

    for _ in 0..rounds() {
        for candidate in &mut candidates {
            let mut hash_ms = Vec::with_capacity(PER_ROUND);
            let mut verify_ms = Vec::with_capacity(PER_ROUND);
            for _ in 0..PER_ROUND {
                let start = Instant::now();
                let hash = candidate.hasher.hash(black_box(&password))?;
                hash_ms.push(start.elapsed().as_secs_f64() * 1000.0);

                let start = Instant::now();
                let ok = candidate
                    .hasher
                    .verify(black_box(&hash), black_box(&password));
                verify_ms.push(start.elapsed().as_secs_f64() * 1000.0);
                if !ok {
                    return Err("a fresh hash did not verify".into());
                }
            }
            candidate
                .round_medians
                .push((median(&hash_ms), median(&verify_ms)));
            candidate.hash_ms.extend(hash_ms);
            candidate.verify_ms.extend(verify_ms);
        }
    }

    println!(
        "Argon2id, {ROUNDS} alternating rounds × {PER_ROUND} calls; median over all calls (min .. max)"
    );
    for candidate in &candidates {
        let spread = |values: &[f64]| {
            let min = values.iter().copied().fold(f64::INFINITY, f64::min);
            let max = values.iter().copied().fold(0.0, f64::max);
            format!("({min:.0} .. {max:.0})")
        };
        let rounds = candidate
            .round_medians
            .iter()
            .map(|(hash, verify)| format!("{hash:.0}/{verify:.0}"))
            .collect::<Vec<_>>()
            .join(" ");
        println!(
            "{:<36} hash {:>6.1} ms {:<12} verify {:>6.1} ms {:<12} per-round hash/verify: {rounds}",
            candidate.name,
            median(&candidate.hash_ms),
            spread(&candidate.hash_ms),
            median(&candidate.verify_ms),
            spread(&candidate.verify_ms),
        );
    }
    Ok(())
}
