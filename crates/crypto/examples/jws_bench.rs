//! Cost of signing one webhook: `cargo run --release -p benteng-crypto --example jws_bench`.
//!
//! Signs a 600-byte event (the size of a transfer event) as a compact JWS with a 3072-bit RSA
//! key (RS256, PS256) and a P-256 key (ES256), in alternating rounds so a change in the
//! machine's load falls on all three, and verifies one signature of each for comparison. Not a
//! test: numbers go to BENCHMARKS.md.

use std::error::Error;
use std::hint::black_box;
use std::time::Instant;

use benteng_crypto::jose::{CompactJws, EcSigningKey, PublicJwk};
use benteng_crypto::jws::{JwsAlg, RsaSigningKey, sign_compact_es256, verify_compact};

const ROUNDS: usize = 7;
const PER_ROUND: usize = 50;

fn median(values: &mut [f64]) -> f64 {
    values.sort_by(f64::total_cmp);
    values.get(values.len() / 2).copied().unwrap_or(f64::NAN)
}

fn main() -> Result<(), Box<dyn Error>> {
    let key = RsaSigningKey::generate()?;
    let p256 = EcSigningKey::generate()?;
    let p256_public =
        PublicJwk::from_value(&p256.public_jwk("bench.es256")).map_err(|e| format!("{e:?}"))?;
    let jwk = key.public_jwk("bench", JwsAlg::Rs256);
    let (n, e) = (
        jwk["n"].as_str().unwrap_or_default().to_owned(),
        jwk["e"].as_str().unwrap_or_default().to_owned(),
    );
    let payload = format!(
        "{{\"event_id\":\"0f6f9b8e-6a55-4d7c-9a43-5b1f0f3c2d11\",\"event_type\":\"transfer.completed\",\"data\":{{\"pad\":\"{}\"}},\"created_at\":\"2026-12-07T01:00:00Z\"}}",
        "x".repeat(440)
    );
    let algs = [JwsAlg::Rs256, JwsAlg::Ps256, JwsAlg::Es256];
    let mut sign = [Vec::new(), Vec::new(), Vec::new()];
    let mut verify = [Vec::new(), Vec::new(), Vec::new()];
    for _ in 0..ROUNDS {
        for (i, alg) in algs.into_iter().enumerate() {
            let mut token = String::new();
            for _ in 0..PER_ROUND {
                let started = Instant::now();
                token = black_box(match alg {
                    JwsAlg::Es256 => sign_compact_es256(&p256, "bench", 1, payload.as_bytes())?,
                    rsa => key.sign_compact(rsa, "bench", 1, payload.as_bytes())?,
                });
                sign[i].push(started.elapsed().as_secs_f64() * 1e6);
            }
            let started = Instant::now();
            match alg {
                JwsAlg::Es256 => CompactJws::parse(&token)
                    .and_then(|jws| jws.verify_with(&p256_public))
                    .map_err(|e| format!("{e:?}"))?,
                _ => {
                    black_box(verify_compact(&token, &n, &e)?);
                }
            }
            verify[i].push(started.elapsed().as_secs_f64() * 1e6);
        }
    }
    for (i, name) in algs.map(JwsAlg::as_str).into_iter().enumerate() {
        let signs = sign[i].len();
        let sign_median = median(&mut sign[i]);
        println!(
            "{name}: sign median {sign_median:.0} µs over {signs} ({:.0} signatures/s on one core), verify median {:.0} µs",
            1e6 / sign_median,
            median(&mut verify[i])
        );
    }
    Ok(())
}
