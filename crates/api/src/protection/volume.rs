//! Daily volume caps. The count lives in the database and is raised in the transfer's own
//! transaction by a conditional update (`crates/store/src/idempotency.rs`), so it is exact
//! across instances, survives a Redis loss, and a refused transfer reserves nothing.

use axum::http::StatusCode;
use benteng_core::currency::Currency;
use benteng_core::payments::quote::Quote;
use benteng_core::tenant::Tenant;
use benteng_store::VolumeCharge;
use rust_decimal::Decimal;
use rust_decimal::prelude::ToPrimitive;

use crate::error::ApiError;
use crate::state::AppState;

/// The US-dollar value of a quote's source amount at the quote's own rate when either side is
/// US dollars, else through the rate table; in cents, rounded up.
pub fn usd_cents(state: &AppState, quote: &Quote) -> Option<i64> {
    let p = &quote.pricing;
    let usd = if p.source.currency() == Currency::USD {
        p.source.to_decimal()
    } else if p.target.currency() == Currency::USD {
        p.target.to_decimal()
    } else {
        state.payments.rates().usd_value(p.source)?
    };
    (usd * Decimal::ONE_HUNDRED).ceil().to_i64()
}

/// The charge a transfer at `quote` makes against the tenant's cap; `None` with protection off.
pub fn charge(
    state: &AppState,
    tenant: &Tenant,
    quote: &Quote,
) -> Result<Option<VolumeCharge>, ApiError> {
    if !state.protection.enabled {
        return Ok(None);
    }
    let cap_cents = state
        .protection
        .limits_for(tenant.id, tenant.tier)
        .daily_volume_cents;
    let usd_cents = usd_cents(state, quote).ok_or_else(|| {
        tracing::error!(currency = %quote.pricing.source.currency(), "no USD rate for a volume cap");
        ApiError::Unavailable {
            retry_after_secs: 1,
        }
    })?;
    Ok(Some(VolumeCharge {
        usd_cents,
        cap_cents,
    }))
}

fn dollars(cents: i64) -> String {
    format!("USD {}", Decimal::new(cents, 2))
}

/// The refusal of a transfer that would exceed the cap, naming it.
pub fn cap_exceeded(tenant: &Tenant, used_cents: i64, cap_cents: i64) -> ApiError {
    ApiError::Refused {
        status: StatusCode::UNPROCESSABLE_ENTITY,
        slug: "daily-volume-cap-exceeded",
        title: "Daily volume cap exceeded",
        detail: format!(
            "this transfer would exceed the daily volume cap of {} (tier {}); {} already sent today (UTC)",
            dollars(cap_cents),
            tenant.tier.as_str(),
            dollars(used_cents)
        ),
    }
}
