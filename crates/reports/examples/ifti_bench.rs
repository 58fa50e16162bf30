//! Benchmark: one month's IFTI report (TKLOP) of N cross-border transfers, written by the
//! streaming `IftiWriter` to a file (what `benteng reports ifti` does), or into a `Vec` (what
//! building it in memory would cost), for comparison within one sitting. Prints the time and
//! the output size; run under `/usr/bin/time -v` for the peak memory (maximum resident set).
//!
//! ```text
//! cargo build --release -j 1 -p benteng-reports --example ifti_bench
//! /usr/bin/time -v target/release/examples/ifti_bench file 100000 /tmp/ifti.xml
//! /usr/bin/time -v target/release/examples/ifti_bench memory 100000
//! ```
//!
//! It measures the format's side only: the database pages, the recipient lookups and the
//! unsealing that `Operations::write_ifti` adds per transfer are not in it.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::print_stdout)]

use std::io::{BufWriter, Write};
use std::time::Instant;

use benteng_reports::content::{Address, Counterparty, ReportingEntity, Transaction};
use benteng_reports::goaml::{IftiDirection, IftiWriter};
use rust_decimal::Decimal;
use time::OffsetDateTime;

fn transfer(n: u64) -> Transaction {
    Transaction {
        number: format!("0190a5c4-0000-7000-8000-{n:012}"),
        description: Some(format!("INV-{n}")),
        date: "2026-11-15T04:05:06Z".to_owned(),
        status: "COMPLETED".to_owned(),
        source_amount: Decimal::new(1_000_000 + (n as i64 % 1000) * 100, 0),
        source_currency: "IDR".to_owned(),
        target_amount: Decimal::new(5_843 + (n as i64 % 1000), 2),
        target_currency: "EUR".to_owned(),
        local_amount: Some(Decimal::new(1_000_000 + (n as i64 % 1000) * 100, 0)),
        transmode: "TKLNS".to_owned(),
        recipient: Counterparty {
            kind: if n.is_multiple_of(2) {
                "business"
            } else {
                "individual"
            }
            .to_owned(),
            name: format!("Supplier {n} GmbH"),
            country: "DE".to_owned(),
            account: None,
            institution_code: None,
            iban: Some("DE89370400440532013000".to_owned()),
            national_id: None,
            address: Some(Address {
                line: "Hauptstraße 1".to_owned(),
                city: "Köln".to_owned(),
                postal_code: Some("50667".to_owned()),
                country: "DE".to_owned(),
            }),
        },
    }
}

fn write_all<W: Write>(out: W, count: u64) -> (W, u64) {
    let entity = ReportingEntity {
        name: "PT Benteng Pembayaran".to_owned(),
        rentity_id: 4242,
        branch: None,
        country: "ID".to_owned(),
        local_currency: "IDR".to_owned(),
    };
    let mut writer = IftiWriter::new(
        out,
        &benteng_reports::fiu::GoamlProfile::ppatk(entity),
        IftiDirection::Outgoing,
        "IFTI-2026-11",
        OffsetDateTime::now_utc(),
    )
    .unwrap();
    for n in 0..count {
        // Each transfer is made, written and dropped, as the store's pages are.
        writer
            .transaction("PT Contoh Dagang", &transfer(n))
            .unwrap();
    }
    writer.finish().unwrap()
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let mode = args.get(1).map_or("file", String::as_str);
    let count: u64 = args.get(2).and_then(|c| c.parse().ok()).unwrap_or(100_000);
    let started = Instant::now();
    let bytes = match mode {
        "memory" => {
            let (out, _) = write_all(Vec::new(), count);
            out.len() as u64
        }
        _ => {
            let path = args.get(3).map_or("/tmp/ifti_bench.xml", String::as_str);
            let file = std::fs::File::create(path).unwrap();
            let (out, _) = write_all(BufWriter::new(file), count);
            let file = out.into_inner().unwrap();
            file.sync_all().unwrap();
            file.metadata().unwrap().len()
        }
    };
    let elapsed = started.elapsed();
    println!(
        "{mode}: {count} transfers, {bytes} bytes in {:.2} s ({:.0} transfers/s)",
        elapsed.as_secs_f64(),
        count as f64 / elapsed.as_secs_f64()
    );
}
