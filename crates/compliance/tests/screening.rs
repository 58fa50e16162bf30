//! The compliance step through its public interface: `Screening` as the payments layer calls
//! it (`ComplianceCheck::assess`), with lists loaded into its screener in memory.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use benteng_compliance::{Screening, Thresholds};
use benteng_core::currency::Currency;
use benteng_core::ids::RecipientId;
use benteng_core::money::Money;
use benteng_core::payments::compliance::{ComplianceCheck, Party, TransferSubject, Verdict};
use benteng_core::tenant::{Tenant, Tier};

fn tenant() -> Tenant {
    Tenant::new(
        "PT Contoh Ekspor".parse().unwrap(),
        Tier::Growth,
        time::OffsetDateTime::now_utc(),
    )
}

/// `recipient_name` (an individual in DE) paid 100 USD by `tenant`.
fn assess(screening: &Screening, tenant: &Tenant, recipient_name: &str) -> (Verdict, Vec<String>) {
    let subject = TransferSubject {
        tenant,
        recipient_id: RecipientId::new(),
        recipient_name,
        recipient_country: "DE".parse().unwrap(),
        recipient_is_individual: true,
        source: Money::from_minor(10_000, Currency::USD),
        target: Money::from_minor(9_200, Currency::EUR),
    };
    let decision = screening.assess(&subject);
    assert_eq!(decision.screenings.len(), 2, "both parties are screened");
    (decision.verdict, decision.reasons)
}

/// A generic-CSV list with one person on it.
fn load(screening: &Screening, name: &str) {
    let csv = format!(
        "{}\nT-1,{name},person,,1970-01-01,,,,TEST\n",
        benteng_screening::GENERIC_CSV_HEADER
    );
    let source = "generic:unit-test".parse().unwrap();
    let list = benteng_screening::parse_list(&source, csv.as_bytes()).unwrap();
    screening.screener().replace_list(list);
}

/// Screening cannot fail open: with no list loaded every transfer is held for review, and the
/// reason says so; the same transfer is approved once a list (without the name) is loaded.
#[test]
fn with_no_list_loaded_every_transfer_is_held() {
    let screening = Screening::new(Thresholds::default());
    let tenant = tenant();
    let (verdict, reasons) = assess(&screening, &tenant, "Budi Santoso");
    assert_eq!(verdict, Verdict::Review);
    assert!(
        reasons
            .iter()
            .any(|r| r.contains("not screened: no sanctions list is loaded")),
        "{reasons:?}"
    );
    load(&screening, "Fictitious Baseline Entry");
    let (verdict, reasons) = assess(&screening, &tenant, "Budi Santoso");
    assert_eq!(verdict, Verdict::Approve, "{reasons:?}");
}

/// A listed recipient is blocked, with the entry in the reasons; another name is approved.
#[test]
fn a_listed_recipient_is_blocked_with_the_entry_named() {
    let screening = Screening::new(Thresholds::default());
    load(&screening, "Sergei Ivanovich Volkov");
    let tenant = tenant();
    let (verdict, reasons) = assess(&screening, &tenant, "Sergei Ivanovich Volkov");
    assert_eq!(verdict, Verdict::Block, "{reasons:?}");
    assert!(
        reasons
            .iter()
            .any(|r| r.starts_with("recipient matches generic:unit-test entry T-1")),
        "{reasons:?}"
    );
    let (verdict, reasons) = assess(&screening, &tenant, "Siti Rahayu");
    assert_eq!(verdict, Verdict::Approve, "{reasons:?}");
}

/// A name that cannot be screened is held too (the step never fails open on bad input).
#[test]
fn a_name_that_cannot_be_screened_is_held() {
    let screening = Screening::new(Thresholds::default());
    load(&screening, "Fictitious Baseline Entry");
    let result = screening.screen_party(
        Party::Recipient,
        "r-1",
        &Screening::party_query("!!!", Some("DE"), Some(true)),
    );
    assert_eq!(result.verdict, Verdict::Review);
    assert!(result.error.is_some());
    let result = screening.screen_party(
        Party::Recipient,
        "r-2",
        &Screening::party_query("Budi Santoso", Some("DE"), Some(true)),
    );
    assert_eq!(result.verdict, Verdict::Approve);
}

/// The thresholds decide the verdict of a score, as the spec puts it: below 50 approve, 50–80
/// review, above 80 block.
#[test]
fn verdicts_follow_the_thresholds() {
    let screening = Screening::new(Thresholds {
        review: 50,
        block: 80,
    });
    assert_eq!(screening.verdict(49), Verdict::Approve);
    assert_eq!(screening.verdict(50), Verdict::Review);
    assert_eq!(screening.verdict(80), Verdict::Review);
    assert_eq!(screening.verdict(81), Verdict::Block);
}
