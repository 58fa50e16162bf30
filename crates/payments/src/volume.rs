//! Daily volume caps. The count lives in the database and is raised in the transfer's own
//! write by a conditional update, so it is exact across instances, survives a Redis loss, and
//! a refused transfer reserves nothing.

use benteng_core::currency::Currency;
use benteng_core::money::Money;
use benteng_core::payments::quote::{Quote, RateTable};
use benteng_core::tenant::Tenant;
use benteng_store::VolumeCharge;
use rust_decimal::Decimal;
use rust_decimal::prelude::ToPrimitive;

/// Where a tenant's cap comes from (the protection settings: tier, per-tenant overrides).
pub trait VolumeCaps: Send + Sync {
    /// The tenant's daily cap in US cents; `None` when caps are switched off.
    fn daily_cap_cents(&self, tenant: &Tenant) -> Option<i64>;
}

/// No caps (protection switched off; tests of other things).
#[derive(Debug, Default, Clone, Copy)]
pub struct NoCaps;

impl VolumeCaps for NoCaps {
    fn daily_cap_cents(&self, _tenant: &Tenant) -> Option<i64> {
        None
    }
}

/// The US-dollar value of a quote's source amount at the quote's own rate when either side is
/// US dollars, else through the rate table; in cents, rounded up.
pub fn usd_cents(rates: &RateTable, quote: &Quote) -> Option<i64> {
    usd_cents_of(rates, quote.pricing.source, quote.pricing.target)
}

/// The US-dollar value, in cents rounded up, of paying `source` for `target`: the USD side
/// when either is US dollars, else `source` through the rate table; `None` without a rate.
pub fn usd_cents_of(rates: &RateTable, source: Money, target: Money) -> Option<i64> {
    let usd = if source.currency() == Currency::USD {
        source.to_decimal()
    } else if target.currency() == Currency::USD {
        target.to_decimal()
    } else {
        rates.usd_value(source)?
    };
    (usd * Decimal::ONE_HUNDRED).ceil().to_i64()
}

/// The charge a transfer of `usd_cents` makes against the tenant's cap; `None` without caps.
pub(crate) fn charge(
    caps: &dyn VolumeCaps,
    usd_cents: i64,
    tenant: &Tenant,
) -> Option<VolumeCharge> {
    let cap_cents = caps.daily_cap_cents(tenant)?;
    Some(VolumeCharge {
        usd_cents,
        cap_cents,
    })
}
