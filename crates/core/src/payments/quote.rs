//! FX quotes: a rate and a fee, fixed for a short time, used by at most one transfer.

use rust_decimal::{Decimal, RoundingStrategy};
use time::OffsetDateTime;

use crate::api_key::KeyEnvironment;
use crate::currency::Currency;
use crate::ids::{QuoteId, TenantId, TransferId};
use crate::money::{Money, MoneyError, Rate, Rounding, convert};

/// Which amount the caller asked the quote for; a transfer must state that same amount.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FixedSide {
    Source,
    Target,
}

impl FixedSide {
    pub fn as_str(&self) -> &'static str {
        match self {
            FixedSide::Source => "source",
            FixedSide::Target => "target",
        }
    }

    pub fn parse(text: &str) -> Option<FixedSide> {
        match text {
            "source" => Some(FixedSide::Source),
            "target" => Some(FixedSide::Target),
            _ => None,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PricingError {
    #[error(transparent)]
    Money(#[from] MoneyError),
    #[error("the amount converts to nothing in the target currency")]
    TooSmall,
}

/// Amounts of a priced conversion. The tenant pays `source + fee`; the recipient gets `target`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Pricing {
    pub source: Money,
    pub target: Money,
    pub fee: Money,
    /// Units of target currency per unit of source currency.
    pub rate: Rate,
    pub fixed: FixedSide,
}

/// Prices a conversion. The side the caller fixed is exact; the other side is rounded in the
/// platform's favour by at most one minor unit (target down, source up), so the platform never
/// pays out more than it collected. The fee is `fee_bps` basis points of the source, rounded up.
pub fn price(
    source_currency: Currency,
    target_currency: Currency,
    fixed: FixedSide,
    amount: Decimal,
    rate: Rate,
    fee_bps: u32,
) -> Result<Pricing, PricingError> {
    let (source, target) = match fixed {
        FixedSide::Source => {
            let source = Money::from_decimal(amount, source_currency)?;
            let target = convert(source, rate, target_currency, Rounding::TowardZero)?;
            (source, target)
        }
        FixedSide::Target => {
            let target = Money::from_decimal(amount, target_currency)?;
            let exact = amount
                .checked_div(rate.as_decimal())
                .ok_or(MoneyError::Overflow)?;
            let rounded = exact.round_dp_with_strategy(
                u32::from(source_currency.exponent()),
                RoundingStrategy::AwayFromZero,
            );
            (Money::from_decimal(rounded, source_currency)?, target)
        }
    };
    if !source.is_positive() || !target.is_positive() {
        return Err(PricingError::TooSmall);
    }
    let fee = source
        .to_decimal()
        .checked_mul(Decimal::from(fee_bps))
        .and_then(|v| v.checked_div(Decimal::from(10_000)))
        .ok_or(MoneyError::Overflow)?
        .round_dp_with_strategy(
            u32::from(source_currency.exponent()),
            RoundingStrategy::AwayFromZero,
        );
    Ok(Pricing {
        source,
        target,
        fee: Money::from_decimal(fee, source_currency)?,
        rate,
        fixed,
    })
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Quote {
    pub id: QuoteId,
    pub tenant_id: TenantId,
    /// Live or test: a quote pays only for a transfer of its own environment.
    pub environment: KeyEnvironment,
    pub pricing: Pricing,
    pub created_at: OffsetDateTime,
    pub expires_at: OffsetDateTime,
    pub used_by: Option<TransferId>,
}

impl Quote {
    /// What the tenant's balance is charged: the source amount plus the fee.
    pub fn total_debit(&self) -> Result<Money, MoneyError> {
        self.pricing.source.checked_add(self.pricing.fee)
    }

    /// The amount the caller fixed, which a transfer must repeat.
    pub fn fixed_amount(&self) -> Money {
        match self.pricing.fixed {
            FixedSide::Source => self.pricing.source,
            FixedSide::Target => self.pricing.target,
        }
    }

    pub fn is_expired(&self, now: OffsetDateTime) -> bool {
        now >= self.expires_at
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn rate(text: &str) -> Rate {
        Rate::parse(text).unwrap()
    }

    #[test]
    fn source_fixed_rounds_the_target_down() {
        let p = price(
            Currency::EUR,
            Currency::IDR,
            FixedSide::Source,
            Decimal::new(10_000, 2),
            rate("17391.304347"),
            50,
        )
        .unwrap();
        assert_eq!(p.source.to_string(), "100.00");
        assert_eq!(p.target.to_string(), "1739130.43");
        assert_eq!(p.fee.to_string(), "0.50");
    }

    #[test]
    fn target_fixed_rounds_the_source_up() {
        let p = price(
            Currency::IDR,
            Currency::EUR,
            FixedSide::Target,
            Decimal::new(100, 0),
            rate("0.0000575"),
            0,
        )
        .unwrap();
        assert_eq!(p.target.to_string(), "100.00");
        // 100 / 0.0000575 = 1739130.4347… → up to 1739130.44
        assert_eq!(p.source.to_string(), "1739130.44");
        assert_eq!(p.fee.to_string(), "0.00");
        let back = convert(p.source, p.rate, Currency::EUR, Rounding::TowardZero).unwrap();
        assert!(back.to_decimal() >= p.target.to_decimal());
    }

    #[test]
    fn dust_is_refused() {
        let p = price(
            Currency::IDR,
            Currency::EUR,
            FixedSide::Source,
            Decimal::new(1, 2),
            rate("0.0000575"),
            0,
        );
        assert_eq!(p, Err(PricingError::TooSmall));
    }

    #[test]
    fn more_decimals_than_the_currency_has_are_refused() {
        let p = price(
            Currency::JPY,
            Currency::EUR,
            FixedSide::Source,
            Decimal::new(1005, 1),
            rate("0.006"),
            0,
        );
        assert!(p.is_err());
    }
}

/// Exchange rates as units of each currency per US dollar; any pair is crossed through USD.
/// The same table values volumes in USD for daily caps.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct RateTable {
    per_usd: std::collections::BTreeMap<Currency, Rate>,
}

impl RateTable {
    pub fn new(per_usd: impl IntoIterator<Item = (Currency, Rate)>) -> Self {
        Self {
            per_usd: per_usd.into_iter().collect(),
        }
    }

    pub fn currencies(&self) -> impl Iterator<Item = Currency> + '_ {
        self.per_usd.keys().copied()
    }

    pub fn supports(&self, currency: Currency) -> bool {
        self.per_usd.contains_key(&currency)
    }

    /// Units of `target` per unit of `source`, to 16 decimal places.
    pub fn rate(&self, source: Currency, target: Currency) -> Option<Rate> {
        if source == target {
            return Rate::new(Decimal::ONE).ok();
        }
        let source_per_usd = self.per_usd.get(&source)?.as_decimal();
        let target_per_usd = self.per_usd.get(&target)?.as_decimal();
        let cross = target_per_usd.checked_div(source_per_usd)?;
        Rate::new(cross.round_dp_with_strategy(16, RoundingStrategy::MidpointNearestEven)).ok()
    }

    /// The US-dollar value of an amount, for volume caps.
    pub fn usd_value(&self, money: Money) -> Option<Decimal> {
        let per_usd = self.per_usd.get(&money.currency())?.as_decimal();
        money.to_decimal().checked_div(per_usd)
    }
}

#[cfg(test)]
mod rate_table_tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn crosses_through_usd() {
        let table = RateTable::new([
            (Currency::USD, Rate::parse("1").unwrap()),
            (Currency::IDR, Rate::parse("16000").unwrap()),
            (Currency::EUR, Rate::parse("0.92").unwrap()),
        ]);
        assert_eq!(
            table
                .rate(Currency::IDR, Currency::EUR)
                .unwrap()
                .to_string(),
            "0.0000575"
        );
        assert_eq!(
            table
                .rate(Currency::EUR, Currency::EUR)
                .unwrap()
                .to_string(),
            "1"
        );
        assert!(table.rate(Currency::GBP, Currency::EUR).is_none());
        let idr = Money::parse("1600000.00", Currency::IDR).unwrap();
        assert_eq!(table.usd_value(idr).unwrap(), Decimal::new(100, 0));
    }
}
