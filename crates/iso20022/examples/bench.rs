//! Messages rendered + signed per second, verifications per second, and the cost of the
//! profile against a plain RSA-SHA256 signature of the same bytes (the c14n, digest and parse
//! overhead). `cargo run --release -p benteng-iso20022 --example bench` (BENCHMARKS.md).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::hint::black_box;
use std::time::{Duration, Instant};

use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::signature::{
    KeyPair, RSA_PKCS1_2048_8192_SHA256, RSA_PKCS1_SHA256, RsaKeyPair, UnparsedPublicKey,
};
use benteng_core::country::CountryCode;
use benteng_core::iban::Iban;
use benteng_core::ids::TransferId;
use benteng_core::money::Money;
use benteng_core::text::Bic;
use benteng_iso20022::{
    CreditTransfer, Creditor, Header, MessageId, Platform, PostalAddress, Registry, Signer,
    Verifier, c14n, pacs008, pain001,
};

/// `full`, or a thousandth of it (at least 1) when `BENCH_SMOKE` is set: the CI smoke run
/// (`scripts/ci/bench-smoke`) checks that the bench still runs, not what it measures.
fn sized(full: u32) -> u32 {
    if std::env::var_os("BENCH_SMOKE").is_some() {
        (full / 1000).max(1)
    } else {
        full
    }
}

fn measure(name: &str, iterations: u32, mut f: impl FnMut()) -> Duration {
    let iterations = sized(iterations);
    for _ in 0..iterations / 10 + 1 {
        f();
    }
    let start = Instant::now();
    for _ in 0..iterations {
        f();
    }
    let per = start.elapsed() / iterations;
    println!(
        "{name:<58} {:>9.1} µs/op {:>9.0} op/s",
        per.as_secs_f64() * 1e6,
        1.0 / per.as_secs_f64()
    );
    per
}

fn main() {
    let key = rcgen::KeyPair::generate_rsa_for(&rcgen::PKCS_RSA_SHA256, rcgen::RsaKeySize::_3072)
        .unwrap();
    let cert = rcgen::CertificateParams::new(Vec::<String>::new())
        .unwrap()
        .self_signed(&key)
        .unwrap();
    let signer = Signer::new(&key.serialize_der(), cert.der()).unwrap();
    let mut registry = Registry::new();
    registry.register("bench", cert.der()).unwrap();
    let verifier = Verifier::new(registry);

    let platform = Platform {
        name: "Benteng Payments B.V.".into(),
        bic: Bic::parse("BNTGNL2AXXX").unwrap(),
        iban: Iban::parse("NL91ABNA0417164300").unwrap(),
        address: PostalAddress {
            street_name: Some("Herengracht".into()),
            building_number: Some("420".into()),
            post_code: Some("1017 BZ".into()),
            town_name: "Amsterdam".into(),
            country: CountryCode::parse("NL").unwrap(),
        },
    };
    let transfer = CreditTransfer {
        transfer_id: TransferId::new(),
        amount: Money::parse("1250.00", "EUR".parse().unwrap()).unwrap(),
        creditor: Creditor {
            name: "Müller & Söhne GmbH".into(),
            iban: Iban::parse("DE89370400440532013000").unwrap(),
            bic: Some(Bic::parse("COBADEFFXXX").unwrap()),
            address: Some(PostalAddress {
                street_name: Some("Königsallee".into()),
                building_number: Some("12".into()),
                post_code: Some("40212".into()),
                town_name: "Düsseldorf".into(),
                country: CountryCode::DE,
            }),
        },
        remittance: Some("Invoice 2026/117".into()),
    };
    let header = || Header {
        message_id: MessageId::new(),
        created_at: time::OffsetDateTime::now_utc(),
        settlement_date: time::OffsetDateTime::now_utc().date(),
        to: Bic::parse("PRTNDEFFXXX").unwrap(),
    };
    let signed = signer
        .sign(&pacs008(&platform, &header(), &transfer).unwrap())
        .unwrap();
    println!(
        "pacs.008 with BAH: {} bytes signed (RSA-3072)\n",
        signed.as_bytes().len()
    );

    let n = 300;
    measure("render pacs.008 (no signature)", 20 * n, || {
        black_box(pacs008(&platform, &header(), &transfer).unwrap());
    });
    let render_sign = measure("render + sign pacs.008 (profile, 3 references)", n, || {
        let unsigned = pacs008(&platform, &header(), &transfer).unwrap();
        black_box(signer.sign(&unsigned).unwrap());
    });
    let verify = measure("verify pacs.008 (profile, registered key)", 4 * n, || {
        black_box(verifier.verify(signed.as_bytes()).unwrap());
    });

    let bytes = signed.as_bytes();
    let text = std::str::from_utf8(bytes).unwrap();
    measure("  of which: parse + exc-c14n of Envelope", 20 * n, || {
        let doc = roxmltree::Document::parse(text).unwrap();
        black_box(c14n::exclusive(text, doc.root_element(), None).unwrap());
    });

    let raw = RsaKeyPair::from_pkcs8(&key.serialize_der()).unwrap();
    let rng = SystemRandom::new();
    let mut signature = vec![0; raw.public_modulus_len()];
    let plain_sign = measure("plain RSA-SHA256 sign of the same bytes", n, || {
        raw.sign(&RSA_PKCS1_SHA256, &rng, bytes, &mut signature)
            .unwrap();
        black_box(&signature);
    });
    let public = UnparsedPublicKey::new(&RSA_PKCS1_2048_8192_SHA256, raw.public_key().as_ref());
    let plain_verify = measure("plain RSA-SHA256 verify of the same bytes", 4 * n, || {
        public.verify(bytes, &signature).unwrap();
    });
    println!(
        "\nprofile overhead: sign {:.1} µs ({:.0} %), verify {:.1} µs ({:.0} %) over plain RSA-SHA256",
        (render_sign.as_secs_f64() - plain_sign.as_secs_f64()) * 1e6,
        (render_sign.as_secs_f64() / plain_sign.as_secs_f64() - 1.0) * 100.0,
        (verify.as_secs_f64() - plain_verify.as_secs_f64()) * 1e6,
        (verify.as_secs_f64() / plain_verify.as_secs_f64() - 1.0) * 100.0,
    );

    // A full pain.001 batch: 1,000 transactions, one signature.
    let batch: Vec<CreditTransfer> = (0..benteng_iso20022::message::MAX_BATCH)
        .map(|_| CreditTransfer {
            transfer_id: TransferId::new(),
            ..transfer.clone()
        })
        .collect();
    let signed_batch = signer
        .sign(&pain001(&platform, &header(), &batch).unwrap())
        .unwrap();
    println!(
        "
pain.001 with BAH, {} transactions: {} bytes signed",
        batch.len(),
        signed_batch.as_bytes().len()
    );
    let batch_sign = measure("render + sign pain.001 (1,000 transactions)", 20, || {
        let unsigned = pain001(&platform, &header(), &batch).unwrap();
        black_box(signer.sign(&unsigned).unwrap());
    });
    let batch_verify = measure("verify pain.001 (1,000 transactions)", 20, || {
        black_box(verifier.verify(signed_batch.as_bytes()).unwrap());
    });
    println!(
        "per transaction in a batch: sign {:.1} µs, verify {:.1} µs (a pacs.008 each: {:.1} µs, {:.1} µs)",
        batch_sign.as_secs_f64() * 1e6 / batch.len() as f64,
        batch_verify.as_secs_f64() * 1e6 / batch.len() as f64,
        render_sign.as_secs_f64() * 1e6,
        verify.as_secs_f64() * 1e6,
    );
}
