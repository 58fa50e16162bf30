//! The sandbox rail through the `Rail` trait: nothing settles before `settle_after` (on a clock
//! the test moves), then the reference decides the outcome.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::sync::Arc;
use std::time::Duration;

use benteng_core::api_key::KeyEnvironment;
use benteng_core::clock::{Clock, ManualClock};
use benteng_core::currency::Currency;
use benteng_core::ids::{QuoteId, RecipientId, TenantId, TransferId};
use benteng_core::money::Money;
use benteng_core::payments::transfer::TransferStatus;
use benteng_rails::{Rail, RailOutcome, SandboxRail};
use benteng_store::TransferRecord;

fn submitted(reference: &str, at: time::OffsetDateTime) -> TransferRecord {
    TransferRecord {
        id: TransferId::new(),
        tenant_id: TenantId::new(),
        environment: KeyEnvironment::Live,
        quote_id: QuoteId::new(),
        recipient_id: RecipientId::new(),
        batch_id: None,
        source: Money::from_minor(10_000, Currency::USD),
        target: Money::from_minor(9_200, Currency::EUR),
        fee: Money::from_minor(50, Currency::USD),
        reference: reference.to_owned(),
        status: TransferStatus::Submitted,
        risk_score: 0,
        rail: "sandbox".to_owned(),
        created_at: at,
        updated_at: at,
    }
}

#[tokio::test]
async fn outcomes_wait_for_settle_after_then_follow_the_reference() {
    let clock = Arc::new(ManualClock::new(
        time::macros::datetime!(2026-12-07 09:00 UTC),
    ));
    let rail = SandboxRail {
        settle_after: Duration::from_millis(200),
        clock: clock.clone(),
    };
    assert_eq!(rail.name(), "sandbox");
    let cases = [
        ("Invoice 42", RailOutcome::Completed),
        ("please fail", RailOutcome::Failed(String::new())),
        ("RETURN to sender", RailOutcome::Returned(String::new())),
    ];
    let transfers: Vec<_> = cases
        .iter()
        .map(|(reference, _)| submitted(reference, clock.now()))
        .collect();
    for transfer in &transfers {
        rail.submit(transfer).await.unwrap();
    }
    // In flight until settle_after has passed since the last move.
    clock.advance(time::Duration::milliseconds(199));
    for transfer in &transfers {
        assert_eq!(rail.outcome(transfer).await.unwrap(), None);
    }
    clock.advance(time::Duration::milliseconds(1));
    for (transfer, (_, expected)) in transfers.iter().zip(&cases) {
        let outcome = rail.outcome(transfer).await.unwrap().expect("settled");
        let same_kind = matches!(
            (&outcome, expected),
            (RailOutcome::Completed, RailOutcome::Completed)
                | (RailOutcome::Failed(_), RailOutcome::Failed(_))
                | (RailOutcome::Returned(_), RailOutcome::Returned(_))
        );
        assert!(same_kind, "{}: {outcome:?}", transfer.reference);
    }
}
