//! Writes signed status reports and payment returns for the `iso20022_verify` seed corpus,
//! signed by a test key whose certificate is `fixtures/iso20022-counterparty.der`.
//!
//! `cargo run --example iso20022_seeds -- KEY.pk8.der CERT.der OUT_DIR` (docs/fuzzing.md says
//! how to make a new key and certificate).

use benteng_core::currency::Currency;
use benteng_core::money::Money;
use benteng_core::text::Bic;
use benteng_iso20022::{
    Header, MessageId, MessageKind, PaymentReturn, Registry, Signer, TransactionStatus, Verifier,
    pacs002, pacs004,
};
use time::OffsetDateTime;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [key, cert, out] = args.as_slice() else {
        return Err("usage: iso20022_seeds KEY.pk8.der CERT.der OUT_DIR".into());
    };
    let signer = Signer::new(&std::fs::read(key)?, &std::fs::read(cert)?)?;
    let bank = Bic::parse("DEUTDEFFXXX")?;
    let header = |id: &str| -> Result<Header, Box<dyn std::error::Error>> {
        let created_at = OffsetDateTime::from_unix_timestamp(1_796_000_000)?;
        Ok(Header {
            message_id: MessageId::parse(id).ok_or("message id")?,
            created_at,
            settlement_date: created_at.date(),
            to: Bic::parse("BENTIDJAXXX")?,
        })
    };
    let original = MessageId::parse("B0123456789abcdef0123456789abcdef").ok_or("id")?;
    let status = |code: &str, reason: Option<&str>| TransactionStatus {
        original_message_id: original.clone(),
        original_kind: MessageKind::Pacs008,
        original_end_to_end_id: "0123456789abcdef0123456789abcdef".into(),
        status: code.into(),
        reason: reason.map(str::to_owned),
    };
    let messages = [
        (
            "pacs002-settled",
            pacs002(&bank, &header("S1")?, &[status("ACSC", None)])?,
        ),
        (
            "pacs002-rejected",
            pacs002(
                &bank,
                &header("S2")?,
                &[status("RJCT", Some("AC04")), status("ACSP", None)],
            )?,
        ),
        (
            "pacs004-return",
            pacs004(
                &bank,
                &header("R1")?,
                &[PaymentReturn {
                    original_message_id: original.clone(),
                    original_kind: MessageKind::Pacs008,
                    original_end_to_end_id: "0123456789abcdef0123456789abcdef".into(),
                    amount: Money::parse("125.50", Currency::parse("EUR")?)?,
                    reason: "MD07".into(),
                }],
            )?,
        ),
    ];
    // The target's verifier: every seed must verify, or the seeds only test the refusals.
    let mut registry = Registry::new();
    registry.register("fuzz counterparty", &std::fs::read(cert)?)?;
    let verifier = Verifier::new(registry);
    std::fs::create_dir_all(out)?;
    for (name, message) in messages {
        let signed = signer.sign(&message)?;
        verifier.verify(signed.as_bytes())?;
        std::fs::write(format!("{out}/{name}.xml"), signed.as_bytes())?;
    }
    Ok(())
}
