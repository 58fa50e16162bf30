//! The payments commands against a real store (SQLite in a temp dir), with a clock the test
//! moves: what each command decides and what it leaves written.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::sync::Arc;
use std::time::Duration;

use benteng_core::api_key::KeyEnvironment;
use benteng_core::audit::AuditContext;
use benteng_core::clock::ManualClock;
use benteng_core::country::CountryCode;
use benteng_core::currency::Currency;
use benteng_core::iban::Iban;
use benteng_core::money::{Money, Rate};
use benteng_core::payments::compliance::ApproveAll;
use benteng_core::payments::quote::{FixedSide, RateTable};
use benteng_core::payments::recipient::{BankAccount, RecipientKind};
use benteng_core::payments::transfer::TransferStatus;
use benteng_core::tenant::{Tenant, Tier};
use benteng_core::text::{Name, Reference};
use benteng_payments::quotes::QuoteRequest;
use benteng_payments::recipients::NewRecipient;
use benteng_payments::transfers::{Dedup, TransferOrder};
use benteng_payments::volume::NoCaps;
use benteng_payments::{Outcome, Payments, PaymentsConfig, Refusal, Scope};
use benteng_store::{IdempotencyClaim, RecipientRow, Store, StoreOptions};
use benteng_vault::{BlindIndex, FileKek, KeyPurpose, Keyring};
use rust_decimal::Decimal;

struct World {
    _dir: tempfile::TempDir,
    payments: Payments,
    clock: Arc<ManualClock>,
    tenant: Tenant,
    audit: AuditContext,
}

async fn world() -> World {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("store.sqlite").display());
    let store = Store::connect(&url, &StoreOptions::default())
        .await
        .unwrap();
    store.migrate().await.unwrap();
    let kek = FileKek::open_or_create(dir.path().join("kek")).unwrap();
    let keyring = Keyring::new(Arc::new(kek));
    let dek = keyring.rotate(&KeyPurpose::BANK_ACCOUNT).unwrap();
    keyring.load(&dek).unwrap();
    let clock = Arc::new(ManualClock::new(
        time::macros::datetime!(2026-12-06 09:00 UTC),
    ));
    let rates = RateTable::new([
        (Currency::USD, Rate::parse("1").unwrap()),
        (Currency::IDR, Rate::parse("16000").unwrap()),
        (Currency::EUR, Rate::parse("0.92").unwrap()),
    ]);
    let audit = AuditContext::system("test");
    let tenant = Tenant::new(
        "PT Maju Jaya".parse().unwrap(),
        Tier::Growth,
        clock_now(&clock),
    );
    store.insert_tenant(&tenant, &audit).await.unwrap();
    let verified = benteng_core::audit::AuditEvent::new(
        &audit,
        "kyc.level_changed",
        benteng_core::audit::Retention::Security,
        ("tenant", tenant.id.to_string()),
    );
    store
        .set_kyc_level(
            tenant.id,
            benteng_core::kyc::KycLevel::Enhanced,
            clock_now(&clock),
            &verified,
        )
        .await
        .unwrap();
    store
        .fund(
            tenant.id,
            KeyEnvironment::Live,
            Money::parse("1000000.00", Currency::IDR).unwrap(),
            &audit,
        )
        .await
        .unwrap();
    let payments = Payments::new(
        store,
        PaymentsConfig {
            rates,
            rules: benteng_compliance::monitoring::parse_rules(
                benteng_compliance::monitoring::DEFAULT_RULES,
            )
            .unwrap(),
            quote_ttl: Duration::from_secs(60),
            fee_bps: 50,
            compliance: Arc::new(ApproveAll),
            keyring: Arc::new(keyring),
            blind_index: Arc::new(BlindIndex::new(&[7; 32]).unwrap()),
            rail: "sandbox".to_owned(),
            caps: Arc::new(NoCaps),
            clock: clock.clone(),
        },
    );
    World {
        _dir: dir,
        payments,
        clock,
        tenant,
        audit,
    }
}

fn clock_now(clock: &ManualClock) -> time::OffsetDateTime {
    use benteng_core::clock::Clock;
    clock.now()
}

impl World {
    fn scope(&self) -> Scope<'_> {
        Scope::live(&self.tenant)
    }

    async fn recipient(&self, iban: &str) -> RecipientRow {
        self.payments
            .add_recipient(
                self.scope(),
                NewRecipient {
                    kind: RecipientKind::Business,
                    name: Name::parse("Müller Handels GmbH").unwrap(),
                    country: CountryCode::DE,
                    address: None,
                    bank_account: BankAccount::Iban(Iban::parse(iban).unwrap()),
                    national_id: None,
                    bic: None,
                },
                &self.audit,
            )
            .await
            .unwrap()
    }

    async fn order(&self, recipient: &RecipientRow, idr: &str) -> TransferOrder {
        let quote = self
            .payments
            .price_quote(
                self.scope(),
                QuoteRequest {
                    source: Currency::IDR,
                    target: Currency::EUR,
                    fixed: FixedSide::Source,
                    amount: idr.parse::<Decimal>().unwrap(),
                },
                &self.audit,
            )
            .await
            .unwrap();
        TransferOrder {
            quote: quote.id,
            recipient: recipient.id,
            amount: Money::parse(idr, Currency::IDR).unwrap(),
            reference: Reference::parse("INV-1").unwrap(),
        }
    }

    async fn transfer_count(&self) -> usize {
        let page = self
            .payments
            .store
            .transfers(self.tenant.id, KeyEnvironment::Live, None, None, 100)
            .await
            .unwrap();
        page.items.len()
    }

    fn claim(&self, key: &str) -> IdempotencyClaim {
        let now = self.payments.now();
        IdempotencyClaim {
            tenant_id: self.tenant.id,
            key: key.to_owned(),
            fingerprint: "a".repeat(64),
            now,
            expires_at: now + time::Duration::DAY,
        }
    }
}

#[tokio::test]
async fn a_quote_expires_when_the_clock_passes_its_ttl() {
    let w = world().await;
    let recipient = w.recipient("DE89370400440532013000").await;
    let order = w.order(&recipient, "500000.00").await;
    w.clock.advance(time::Duration::seconds(59));
    let fresh = w.order(&recipient, "1000.00").await;
    w.clock.advance(time::Duration::seconds(2));
    let refused = w
        .payments
        .initiate(w.scope(), &order, Dedup::default(), &w.audit)
        .await;
    assert_eq!(refused, Err(Refusal::QuoteExpired));
    assert_eq!(w.transfer_count().await, 0, "a refusal writes nothing");
    // The other quote, 2 s old, still pays.
    let record = w
        .payments
        .initiate(w.scope(), &fresh, Dedup::default(), &w.audit)
        .await
        .unwrap();
    assert_eq!(record.status, TransferStatus::Approved);
    assert_eq!(record.created_at, w.payments.now());
}

#[tokio::test]
async fn each_refusal_of_a_transfer_is_typed_and_writes_nothing() {
    let w = world().await;
    let recipient = w.recipient("DE89370400440532013000").await;
    let order = w.order(&recipient, "500000.00").await;
    let first = w
        .payments
        .initiate(w.scope(), &order, Dedup::default(), &w.audit)
        .await
        .unwrap();
    let again = w
        .payments
        .initiate(w.scope(), &order, Dedup::default(), &w.audit)
        .await;
    assert_eq!(again, Err(Refusal::QuoteUsed));

    let mut wrong_amount = w.order(&recipient, "1000.00").await;
    wrong_amount.amount = Money::parse("999.00", Currency::IDR).unwrap();
    let refused = w
        .payments
        .initiate(w.scope(), &wrong_amount, Dedup::default(), &w.audit)
        .await;
    assert_eq!(
        refused,
        Err(Refusal::AmountMismatch {
            side: FixedSide::Source,
            expected: Money::parse("1000.00", Currency::IDR).unwrap(),
            stated: Money::parse("999.00", Currency::IDR).unwrap(),
        })
    );

    // 500,000 + fee is reserved; another 600,000 is not covered.
    let too_much = w.order(&recipient, "600000.00").await;
    let refused = w
        .payments
        .initiate(w.scope(), &too_much, Dedup::default(), &w.audit)
        .await;
    assert_eq!(refused, Err(Refusal::InsufficientFunds));

    let other = Tenant::new("PT Lain".parse().unwrap(), Tier::Starter, w.payments.now());
    w.payments
        .store
        .insert_tenant(&other, &w.audit)
        .await
        .unwrap();
    let foreign = w.order(&recipient, "1000.00").await;
    let refused = w
        .payments
        .initiate(Scope::live(&other), &foreign, Dedup::default(), &w.audit)
        .await;
    assert_eq!(
        refused,
        Err(Refusal::QuoteNotFound),
        "another tenant's quote"
    );

    assert_eq!(w.transfer_count().await, 1);
    let stored = w
        .payments
        .store
        .transfer(w.tenant.id, KeyEnvironment::Live, first.id)
        .await
        .unwrap();
    assert_eq!(stored, first, "the store holds what the command decided");
}

#[tokio::test]
async fn an_idempotency_key_keeps_the_first_outcome_and_refuses_a_second_write() {
    let w = world().await;
    let recipient = w.recipient("DE89370400440532013000").await;
    let claim = w.claim("0b0e4c4e-6f0a-4c39-9d8e-2f4b7a1c9e55");
    let order = w.order(&recipient, "1000.00").await;
    let dedup = Dedup {
        key: Some(&claim),
        partner_reference: None,
    };
    let first = w
        .payments
        .initiate(w.scope(), &order, dedup, &w.audit)
        .await
        .unwrap();
    // The same request again: its quote is used, and the live key explains why.
    let again = w
        .payments
        .initiate(w.scope(), &order, dedup, &w.audit)
        .await;
    assert_eq!(again, Err(Refusal::IdempotencyKeyTaken));
    // A different request under the same key writes nothing either.
    let other = w.order(&recipient, "2000.00").await;
    let again = w
        .payments
        .initiate(w.scope(), &other, dedup, &w.audit)
        .await;
    assert_eq!(again, Err(Refusal::IdempotencyKeyTaken));
    assert_eq!(w.transfer_count().await, 1);

    let record = w
        .payments
        .store
        .idempotency_record(w.tenant.id, &claim.key, w.payments.now())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        Outcome::decode(&record.outcome),
        Some(Outcome::Transfer(Box::new(first)))
    );
}

#[tokio::test]
async fn batch_items_run_through_the_transfer_command_and_fail_alone() {
    let w = world().await;
    let recipient = w.recipient("DE89370400440532013000").await;
    let affordable = w.order(&recipient, "600000.00").await;
    let unaffordable = w.order(&recipient, "600000.00").await;
    let outcome = w
        .payments
        .initiate_batch(
            w.scope(),
            vec![
                Ok(affordable),
                Ok(unaffordable),
                Err(Refusal::invalid("amount", "required", "is required")),
            ],
            None,
            &w.audit,
        )
        .await
        .unwrap();
    let accepted: Vec<bool> = outcome.items.iter().map(|i| i.transfer.is_some()).collect();
    assert_eq!(accepted, [true, false, false]);
    let refused: serde_json::Value =
        serde_json::from_str(outcome.items[1].errors.as_deref().unwrap()).unwrap();
    assert_eq!(refused["type"], "insufficient-funds");
    assert_eq!(w.transfer_count().await, 1);
    let (_, stored) = w
        .payments
        .store
        .batch(w.tenant.id, KeyEnvironment::Live, outcome.id)
        .await
        .unwrap();
    assert_eq!(stored, outcome.items);
}
