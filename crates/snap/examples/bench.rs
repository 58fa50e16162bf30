//! Cost of SNAP verification: `cargo run --release -p benteng-snap --example bench`.
//!
//! Not a timed test (timings vary by machine); numbers go to BENCHMARKS.md.

use std::hint::black_box;
use std::time::{Duration, Instant};

use benteng_snap::{
    ClientSecret, PartnerCredential, PartnerPublicKey, RequestParts, SigningKey, SnapError,
    SnapPrivateKey, SnapSigner, TokenRequestSigner, UrlMode, VerifyOptions, lookup_in, minify,
    verify_request, verify_token_signature,
};
use time::OffsetDateTime;

const DEMO_KEY: &str = include_str!("../tests/fixtures/demo_private_key_pkcs8.pem");

/// `full`, or a thousandth of it (at least 1) when `BENCH_SMOKE` is set: the CI smoke run
/// (`scripts/ci/bench-smoke`) checks that the bench still runs, not what it measures.
fn sized(full: u32) -> u32 {
    if std::env::var_os("BENCH_SMOKE").is_some() {
        (full / 1000).max(1)
    } else {
        full
    }
}

fn time_it(
    name: &str,
    iters: u32,
    mut f: impl FnMut() -> Result<(), SnapError>,
) -> Result<(), SnapError> {
    let iters = sized(iters);
    for _ in 0..iters / 10 {
        f()?;
    }
    let start = Instant::now();
    for _ in 0..iters {
        f()?;
    }
    let per = start.elapsed() / iters;
    println!(
        "{name:<58} {:>10.2} µs/op  ({iters} iterations)",
        per_us(per)
    );
    Ok(())
}

fn per_us(d: Duration) -> f64 {
    d.as_secs_f64() * 1e6
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let now = OffsetDateTime::now_utc();
    let opts = VerifyOptions::default();
    let secret = ClientSecret::new(b"a-partner-client-secret-of-32-chars")?;
    let signer = SnapSigner::new(
        "PARTNER-1",
        "95221",
        UrlMode::PathAndQuery,
        SigningKey::Symmetric {
            client_secret: ClientSecret::new(b"a-partner-client-secret-of-32-chars")?,
        },
    )?;
    let body = br#"{
  "partnerReferenceNo": "2020102900000000000001",
  "beneficiaryAccountNo": "888801000157508",
  "beneficiaryBankCode": "002",
  "amount": { "value": "12345678.00", "currency": "IDR" },
  "transactionDate": "2024-03-05T17:37:16+07:00",
  "additionalInfo": { "remark": "invoice 42" }
}"#;
    let token = "eyJhbGciOiJIUzI1NiJ9.c2FtcGxlLXRva2Vu.abcdefghijklmnopqrstuvwxyz012345";
    let req = RequestParts {
        method: "POST",
        path: "/v1.0/transfer-interbank",
        query: None,
        body,
        access_token: token,
    };
    let signed = signer.sign_at(&req, now, "41807553358950093184162180797837")?;
    let owned = signed.pairs();
    let pairs: Vec<(&str, &str)> = owned.iter().map(|(n, v)| (*n, v.as_str())).collect();
    println!(
        "body: {} bytes; rustc release build; one thread",
        body.len()
    );

    time_it(
        "transactional verify, HMAC-SHA512 (headers+window+body+sig)",
        200_000,
        || {
            verify_request(
                black_box(&req),
                lookup_in(&pairs),
                PartnerCredential::Symmetric(&secret),
                now,
                &opts,
            )
            .map(|_| ())
        },
    )?;
    time_it(
        "  same, building ClientSecret from bytes each time",
        200_000,
        || {
            let secret = ClientSecret::new(b"a-partner-client-secret-of-32-chars")
                .map_err(|_| SnapError::general_error())?;
            verify_request(
                black_box(&req),
                lookup_in(&pairs),
                PartnerCredential::Symmetric(&secret),
                now,
                &opts,
            )
            .map(|_| ())
        },
    )?;
    time_it("  of which: minify body", 200_000, || {
        minify(black_box(body)).map(|_| ())
    })?;
    let empty = RequestParts {
        method: "GET",
        path: "/v1.0/balance-inquiry",
        body: b"",
        ..req
    };
    let signed_empty = signer.sign_at(&empty, now, "1")?;
    let owned_empty = signed_empty.pairs();
    let pairs_empty: Vec<(&str, &str)> =
        owned_empty.iter().map(|(n, v)| (*n, v.as_str())).collect();
    time_it(
        "transactional verify, HMAC-SHA512, empty body",
        200_000,
        || {
            verify_request(
                black_box(&empty),
                lookup_in(&pairs_empty),
                PartnerCredential::Symmetric(&secret),
                now,
                &opts,
            )
            .map(|_| ())
        },
    )?;
    let big: Vec<u8> = {
        let mut s = String::from("{\"items\":[");
        for i in 0..1000 {
            s.push_str(&format!(
                "{{ \"id\": {i}, \"name\": \"item number {i}\" }},\n"
            ));
        }
        s.push_str("{}]}");
        s.into_bytes()
    };
    let big_req = RequestParts { body: &big, ..req };
    let signed_big = signer.sign_at(&big_req, now, "2")?;
    let owned_big = signed_big.pairs();
    let pairs_big: Vec<(&str, &str)> = owned_big.iter().map(|(n, v)| (*n, v.as_str())).collect();
    time_it(
        &format!(
            "transactional verify, HMAC-SHA512, {} KB body",
            big.len() / 1024
        ),
        20_000,
        || {
            verify_request(
                black_box(&big_req),
                lookup_in(&pairs_big),
                PartnerCredential::Symmetric(&secret),
                now,
                &opts,
            )
            .map(|_| ())
        },
    )?;

    let private = SnapPrivateKey::from_pkcs8_pem(DEMO_KEY)?;
    let public: PartnerPublicKey = private.public_key()?;
    let token_signer = TokenRequestSigner::new("G1234325-SNAP", private)?;
    let th = token_signer.sign_at(now)?;
    time_it(
        "token verify, SHA256withRSA 2048 (parsed key)",
        20_000,
        || {
            verify_token_signature(
                "G1234325-SNAP",
                black_box(&th.timestamp),
                &th.signature,
                &public,
                now,
                opts.tolerance,
            )
        },
    )?;
    let pem = include_str!("../tests/fixtures/demo_public_key_spki.pem");
    time_it(
        "token verify incl. parsing the PEM key each time",
        20_000,
        || {
            let key = PartnerPublicKey::from_pem(black_box(pem))
                .map_err(|_| SnapError::general_error())?;
            verify_token_signature(
                "G1234325-SNAP",
                &th.timestamp,
                &th.signature,
                &key,
                now,
                opts.tolerance,
            )
        },
    )?;
    time_it("token sign, SHA256withRSA 2048 (our side)", 2_000, || {
        token_signer.sign_at(now).map(|_| ())
    })?;
    Ok(())
}
