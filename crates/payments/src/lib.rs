//! The payments application layer: every command of the payment flow, between the channels
//! that translate requests (`/v1`, SNAP, later ISO 20022) and the store that writes.
//!
//! A command takes typed domain values, decides everything (quote and amount rules, the
//! compliance step, the daily volume cap, Tier 1 sealing, the transfer's history and audit
//! events), then hands the store one unit of work to write. It answers with a typed outcome or
//! one [`Refusal`]. Handlers never decide money; the store never decides anything.
//!
//! Rooms: [`recipients`] (add, find by account), [`quotes`] (price), [`transfers`] (initiate:
//! single, batch item, partner reference), [`batches`], [`moves`] (rail outcomes), [`volume`]
//! (daily caps), [`outcome`] (what an idempotency record keeps).

pub mod batches;
pub mod case_attachments;
pub mod case_work;
pub mod cases;
mod counted;
pub mod moves;
mod notices;
pub mod outcome;
pub mod quotes;
pub mod recipients;
pub mod refusal;
pub mod reviews;
pub mod transfers;
pub mod volume;

use std::sync::{Arc, RwLock};
use std::time::Duration;

use benteng_core::api_key::KeyEnvironment;
use benteng_core::clock::Clock;
use benteng_core::payments::compliance::ComplianceCheck;
use benteng_core::payments::monitoring::RuleSet;
use benteng_core::payments::quote::RateTable;
use benteng_core::tenant::Tenant;
use benteng_store::Store;
use benteng_vault::{BlindIndex, Keyring};

pub use outcome::Outcome;
pub use refusal::Refusal;
pub use volume::VolumeCaps;

/// The rail every test-environment transfer goes to, whatever rail live transfers use.
pub const TEST_RAIL: &str = "sandbox";

/// Whose books a command works in: a tenant's live environment, or its test environment (what
/// its `sk_test_` keys create, with a ledger of its own, paid only by the sandbox rail).
#[derive(Debug, Clone, Copy)]
pub struct Scope<'a> {
    pub tenant: &'a Tenant,
    pub environment: KeyEnvironment,
}

impl<'a> Scope<'a> {
    pub fn live(tenant: &'a Tenant) -> Self {
        Self {
            tenant,
            environment: KeyEnvironment::Live,
        }
    }
}

/// What the commands need: the store, the rates, the compliance step, the keys that seal
/// Tier 1 data, the caps and the one clock.
pub struct Payments {
    pub store: Store,
    /// Replaced whole when the rates file changes; readers clone the `Arc` they need.
    rates: RwLock<Arc<RateTable>>,
    /// The monitoring rules in force; replaced whole when the rules file changes.
    rules: RwLock<Arc<RuleSet>>,
    pub quote_ttl: Duration,
    pub fee_bps: u32,
    pub compliance: Arc<dyn ComplianceCheck>,
    pub keyring: Arc<Keyring>,
    pub blind_index: Arc<BlindIndex>,
    /// The rail new live transfers are routed to.
    pub rail: String,
    /// The rail live IBAN transfers in EUR or GBP are routed to instead, when set (ISO 20022).
    pub iban_rail: Option<String>,
    pub caps: Arc<dyn VolumeCaps>,
    pub clock: Arc<dyn Clock>,
    /// Where held transfers' cases go, how soon they are due, how long a proposal waits.
    pub cases: cases::CasePolicy,
}

/// The settings and collaborators a [`Payments`] is built from.
pub struct PaymentsConfig {
    pub rates: RateTable,
    pub rules: RuleSet,
    pub quote_ttl: Duration,
    pub fee_bps: u32,
    pub compliance: Arc<dyn ComplianceCheck>,
    pub keyring: Arc<Keyring>,
    pub blind_index: Arc<BlindIndex>,
    pub rail: String,
    pub caps: Arc<dyn VolumeCaps>,
    pub clock: Arc<dyn Clock>,
}

impl Payments {
    /// With the case inbox settings (the default: 24 h SLA, proposals wait 24 h).
    #[must_use]
    pub fn with_case_policy(mut self, policy: cases::CasePolicy) -> Self {
        self.cases = policy;
        self
    }

    /// Routes live IBAN transfers in EUR or GBP to `rail` (the ISO 20022 rail).
    pub fn with_iban_rail(mut self, rail: &str) -> Self {
        self.iban_rail = Some(rail.to_owned());
        self
    }

    pub fn new(store: Store, config: PaymentsConfig) -> Self {
        Self {
            store,
            rates: RwLock::new(Arc::new(config.rates)),
            rules: RwLock::new(Arc::new(config.rules)),
            quote_ttl: config.quote_ttl,
            fee_bps: config.fee_bps,
            compliance: config.compliance,
            keyring: config.keyring,
            blind_index: config.blind_index,
            rail: config.rail,
            iban_rail: None,
            caps: config.caps,
            clock: config.clock,
            cases: cases::CasePolicy::default(),
        }
    }

    /// The rate table in force.
    pub fn rates(&self) -> Arc<RateTable> {
        match self.rates.read() {
            Ok(rates) => rates.clone(),
            Err(poisoned) => poisoned.into_inner().clone(),
        }
    }

    /// The monitoring rules in force.
    pub fn rules(&self) -> Arc<RuleSet> {
        match self.rules.read() {
            Ok(rules) => rules.clone(),
            Err(poisoned) => poisoned.into_inner().clone(),
        }
    }

    /// Puts a new rule set in force (a reloaded rules file); decisions made from now on name it.
    pub fn set_rules(&self, rules: RuleSet) {
        let rules = Arc::new(rules);
        match self.rules.write() {
            Ok(mut current) => *current = rules,
            Err(poisoned) => *poisoned.into_inner() = rules,
        }
    }

    /// The one clock's reading.
    pub fn now(&self) -> time::OffsetDateTime {
        self.clock.now()
    }

    /// Puts a new rate table in force (a reloaded rates file).
    pub fn set_rates(&self, rates: RateTable) {
        let rates = Arc::new(rates);
        match self.rates.write() {
            Ok(mut current) => *current = rates,
            Err(poisoned) => *poisoned.into_inner() = rates,
        }
    }
}
