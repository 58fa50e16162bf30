//! Money: decimal strings on the wire, integer minor units in storage, never floating point.
//!
//! Wire grammar for every amount and rate, deliberately narrower than JSON numbers or
//! `Decimal::from_str`: `0|[1-9][0-9]*` optionally followed by `.` and one or more digits.
//! So no sign (not even `+` or `-0`), no exponent (`1e3`), no spaces, no leading zeros (`007`),
//! no bare `.5` or `5.`, no NaN/infinity. A client that sends anything else gets an error, not a
//! guess; there is exactly one spelling per (value, scale).
//!
//! Types:
//! - [`Amount`]: a non-negative decimal with at most 4 decimal places (the largest ISO 4217
//!   exponent), before it is tied to a currency.
//! - [`PositiveAmount`]: a transfer amount, `0 < amount ≤ 1,000,000` (spec's TransferRequest).
//! - [`Money`]: integer minor units of one [`Currency`]; arithmetic is checked and refuses to mix
//!   currencies. Displays with exactly `exponent` decimals (`"12345678.00"` for IDR, as SNAP wants).
//! - [`Rate`]: a positive FX rate; [`convert`] multiplies and rounds with an explicit [`Rounding`].

use std::fmt;
use std::str::FromStr;

use rust_decimal::prelude::ToPrimitive;
use rust_decimal::{Decimal, RoundingStrategy};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::currency::Currency;

/// Largest number of decimal places any ISO 4217 currency uses (CLF, UYW).
pub const MAX_CURRENCY_EXPONENT: u32 = 4;

/// Integer digits allowed in an [`Amount`]: 999 trillion covers any IDR amount we move, and
/// 15 + 4 digits stay well inside both `Decimal` (28 digits) and `i64` minor units for exponent ≤ 3.
const AMOUNT_MAX_INTEGER_DIGITS: usize = 15;

/// Rates carry more precision than amounts (IDR→USD is ~0.0000612); 12 + 16 = 28 digits is the
/// most a `Decimal` holds exactly.
const RATE_MAX_INTEGER_DIGITS: usize = 12;
const RATE_MAX_FRACTION_DIGITS: usize = 16;

/// Why a string is not an acceptable amount or rate. Messages never repeat the input.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum AmountError {
    #[error(
        "must be a string of digits with an optional '.' and fraction: no sign, exponent, spaces or leading zeros"
    )]
    InvalidFormat,
    #[error("has too many integer digits")]
    TooManyIntegerDigits,
    #[error("has more than {max} decimal places")]
    TooManyDecimals { max: u32 },
    #[error("must be greater than zero")]
    NotPositive,
    #[error("must not exceed {max}")]
    AboveMaximum { max: &'static str },
}

impl AmountError {
    /// Stable machine-readable code (see `strict_json::codes`).
    pub fn code(&self) -> &'static str {
        match self {
            AmountError::InvalidFormat => "invalid_format",
            AmountError::TooManyDecimals { .. } => "invalid_precision",
            AmountError::TooManyIntegerDigits
            | AmountError::NotPositive
            | AmountError::AboveMaximum { .. } => "out_of_range",
        }
    }
}

/// Why a money operation failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum MoneyError {
    #[error(transparent)]
    Amount(#[from] AmountError),
    #[error("currencies differ")]
    CurrencyMismatch,
    #[error("amount is out of the representable range")]
    Overflow,
}

impl MoneyError {
    /// Stable machine-readable code (see `strict_json::codes`).
    pub fn code(&self) -> &'static str {
        match self {
            MoneyError::Amount(inner) => inner.code(),
            MoneyError::CurrencyMismatch => "currency_mismatch",
            MoneyError::Overflow => "out_of_range",
        }
    }
}

/// Checks the wire grammar (module docs) and the digit budgets, then builds the exact decimal.
/// The scale of the result is the number of fraction digits written ("1.50" has scale 2).
fn parse_unsigned_decimal(
    text: &str,
    max_integer_digits: usize,
    max_fraction_digits: usize,
) -> Result<Decimal, AmountError> {
    let (integer, fraction) = match text.split_once('.') {
        Some((integer, fraction)) => (integer, Some(fraction)),
        None => (text, None),
    };
    let all_digits = |part: &str| !part.is_empty() && part.bytes().all(|b| b.is_ascii_digit());
    if !all_digits(integer) || (integer.len() > 1 && integer.starts_with('0')) {
        return Err(AmountError::InvalidFormat);
    }
    if let Some(fraction) = fraction
        && !all_digits(fraction)
    {
        return Err(AmountError::InvalidFormat);
    }
    if integer.len() > max_integer_digits {
        return Err(AmountError::TooManyIntegerDigits);
    }
    let fraction_digits = fraction.map_or(0, str::len);
    if fraction_digits > max_fraction_digits {
        return Err(AmountError::TooManyDecimals {
            max: u32::try_from(max_fraction_digits).unwrap_or(u32::MAX),
        });
    }
    Decimal::from_str_exact(text).map_err(|_| AmountError::InvalidFormat)
}

fn ten_pow(exponent: u8) -> i64 {
    10_i64.pow(u32::from(exponent))
}

/// A non-negative decimal amount with at most [`MAX_CURRENCY_EXPONENT`] decimal places, not yet
/// tied to a currency (requests carry `amount` and `currency` as separate fields).
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Amount(Decimal);

impl Amount {
    /// Parses the strict wire grammar (module docs).
    pub fn parse(text: &str) -> Result<Amount, AmountError> {
        parse_unsigned_decimal(
            text,
            AMOUNT_MAX_INTEGER_DIGITS,
            MAX_CURRENCY_EXPONENT as usize,
        )
        .map(Amount)
    }

    /// The exact value, with the scale that was written.
    pub fn as_decimal(&self) -> Decimal {
        self.0
    }

    /// Ties the amount to a currency: refuses more written decimal places than the currency's
    /// exponent (`"1.5"` JPY, and also `"100.00"` JPY: we do not silently drop digits).
    pub fn to_money(&self, currency: Currency) -> Result<Money, MoneyError> {
        let exponent = currency.exponent();
        if self.0.scale() > u32::from(exponent) {
            return Err(AmountError::TooManyDecimals {
                max: u32::from(exponent),
            }
            .into());
        }
        Money::from_decimal(self.0, currency)
    }
}

impl fmt::Display for Amount {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.0, f)
    }
}

impl fmt::Debug for Amount {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Amount({})", self.0)
    }
}

impl FromStr for Amount {
    type Err = AmountError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Amount::parse(s)
    }
}

/// A transfer amount: strictly positive and at most [`PositiveAmount::MAX`] (spec:
/// `gt=0,max=1000000`). The currency is a separate field, so the exponent check happens in
/// [`PositiveAmount::to_money`].
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct PositiveAmount(Amount);

impl PositiveAmount {
    /// Largest amount one transfer may carry, in major units of its currency.
    pub const MAX: Decimal = Decimal::from_parts(1_000_000, 0, 0, false, 0);
    const MAX_TEXT: &'static str = "1000000";

    pub fn parse(text: &str) -> Result<PositiveAmount, AmountError> {
        PositiveAmount::try_from(Amount::parse(text)?)
    }

    pub fn as_decimal(&self) -> Decimal {
        self.0.as_decimal()
    }

    pub fn amount(&self) -> Amount {
        self.0
    }

    /// See [`Amount::to_money`].
    pub fn to_money(&self, currency: Currency) -> Result<Money, MoneyError> {
        self.0.to_money(currency)
    }
}

impl TryFrom<Amount> for PositiveAmount {
    type Error = AmountError;
    fn try_from(amount: Amount) -> Result<Self, Self::Error> {
        if amount.0 <= Decimal::ZERO {
            return Err(AmountError::NotPositive);
        }
        if amount.0 > PositiveAmount::MAX {
            return Err(AmountError::AboveMaximum {
                max: PositiveAmount::MAX_TEXT,
            });
        }
        Ok(PositiveAmount(amount))
    }
}

impl fmt::Display for PositiveAmount {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.0, f)
    }
}

impl fmt::Debug for PositiveAmount {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "PositiveAmount({})", self.0.0)
    }
}

impl FromStr for PositiveAmount {
    type Err = AmountError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        PositiveAmount::parse(s)
    }
}

/// An amount of one currency in integer minor units (cents, sen, yen …), the storage form.
/// Signed, so ledger deltas and balances can be negative; what the API accepts is decided by
/// the parsing types above.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct Money {
    amount_minor: i64,
    currency: Currency,
}

impl Money {
    pub fn from_minor(amount_minor: i64, currency: Currency) -> Money {
        Money {
            amount_minor,
            currency,
        }
    }

    pub fn zero(currency: Currency) -> Money {
        Money::from_minor(0, currency)
    }

    /// Parses the strict wire grammar with at most `currency.exponent()` decimal places.
    pub fn parse(text: &str, currency: Currency) -> Result<Money, MoneyError> {
        Amount::parse(text)?.to_money(currency)
    }

    /// Converts an exact decimal value; fails if it has a non-zero digit below the minor unit
    /// (trailing zeros are fine here, unlike [`Amount::to_money`] which checks what was written)
    /// or does not fit in `i64` minor units.
    pub fn from_decimal(value: Decimal, currency: Currency) -> Result<Money, MoneyError> {
        let exponent = currency.exponent();
        let scaled = value
            .checked_mul(Decimal::from(ten_pow(exponent)))
            .ok_or(MoneyError::Overflow)?;
        if !scaled.fract().is_zero() {
            return Err(AmountError::TooManyDecimals {
                max: u32::from(exponent),
            }
            .into());
        }
        let amount_minor = scaled.to_i64().ok_or(MoneyError::Overflow)?;
        Ok(Money::from_minor(amount_minor, currency))
    }

    pub fn amount_minor(&self) -> i64 {
        self.amount_minor
    }

    pub fn currency(&self) -> Currency {
        self.currency
    }

    /// The value in major units with scale = exponent (so it prints as "12345678.00").
    pub fn to_decimal(&self) -> Decimal {
        // Exponents are ≤ 4, far below Decimal's maximum scale of 28, so `new` cannot fail.
        Decimal::new(self.amount_minor, u32::from(self.currency.exponent()))
    }

    pub fn is_zero(&self) -> bool {
        self.amount_minor == 0
    }

    pub fn is_positive(&self) -> bool {
        self.amount_minor > 0
    }

    pub fn is_negative(&self) -> bool {
        self.amount_minor < 0
    }

    /// Adds two amounts of the same currency; refuses to mix currencies or overflow.
    pub fn checked_add(self, other: Money) -> Result<Money, MoneyError> {
        if self.currency != other.currency {
            return Err(MoneyError::CurrencyMismatch);
        }
        self.amount_minor
            .checked_add(other.amount_minor)
            .map(|sum| Money::from_minor(sum, self.currency))
            .ok_or(MoneyError::Overflow)
    }

    /// Subtracts two amounts of the same currency; refuses to mix currencies or overflow.
    pub fn checked_sub(self, other: Money) -> Result<Money, MoneyError> {
        if self.currency != other.currency {
            return Err(MoneyError::CurrencyMismatch);
        }
        self.amount_minor
            .checked_sub(other.amount_minor)
            .map(|difference| Money::from_minor(difference, self.currency))
            .ok_or(MoneyError::Overflow)
    }
}

/// Exactly `exponent` decimals, no currency, no grouping: `"12345678.00"`, `"-0.50"`, `"100"` (JPY).
/// Formatted from the integer directly so it cannot fail or round.
impl fmt::Display for Money {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let exponent = usize::from(self.currency.exponent());
        let digits = self.amount_minor.unsigned_abs().to_string();
        let padded = format!("{digits:0>width$}", width = exponent + 1);
        let (integer, fraction) = padded.split_at(padded.len() - exponent);
        if self.amount_minor < 0 {
            f.write_str("-")?;
        }
        f.write_str(integer)?;
        if exponent > 0 {
            write!(f, ".{fraction}")?;
        }
        Ok(())
    }
}

impl fmt::Debug for Money {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Money({} {})", self, self.currency)
    }
}

/// A positive FX rate: units of the target currency per one unit of the source currency.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Rate(Decimal);

impl Rate {
    /// Parses the strict wire grammar with up to 12 integer and 16 fraction digits; must be > 0.
    pub fn parse(text: &str) -> Result<Rate, AmountError> {
        let value =
            parse_unsigned_decimal(text, RATE_MAX_INTEGER_DIGITS, RATE_MAX_FRACTION_DIGITS)?;
        Rate::new(value)
    }

    /// For rates computed in code (e.g. from a provider's decimal); must be > 0.
    pub fn new(value: Decimal) -> Result<Rate, AmountError> {
        if value <= Decimal::ZERO {
            return Err(AmountError::NotPositive);
        }
        Ok(Rate(value))
    }

    pub fn as_decimal(&self) -> Decimal {
        self.0
    }
}

impl fmt::Display for Rate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.0, f)
    }
}

impl fmt::Debug for Rate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Rate({})", self.0)
    }
}

impl FromStr for Rate {
    type Err = AmountError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Rate::parse(s)
    }
}

/// How [`convert`] rounds to the target currency's minor unit. No default is applied silently:
/// every caller names one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rounding {
    /// Ties to even ("banker's rounding"): 0.125 → 0.12, 0.135 → 0.14. Unbiased over many
    /// conversions, so it is the one for ledger postings and quotes.
    HalfEven,
    /// Ties away from zero ("commercial" half-up, symmetric for negatives): 0.125 → 0.13,
    /// -0.125 → -0.13. For counterparties whose rules demand it.
    HalfUp,
    /// Truncate toward zero: never pays out more than the exact product.
    TowardZero,
}

impl Rounding {
    fn strategy(self) -> RoundingStrategy {
        match self {
            Rounding::HalfEven => RoundingStrategy::MidpointNearestEven,
            Rounding::HalfUp => RoundingStrategy::MidpointAwayFromZero,
            Rounding::TowardZero => RoundingStrategy::ToZero,
        }
    }
}

/// Converts `money` at `rate` into `target`, rounding the exact product once, to the target's
/// exponent, with `rounding`. The product is exact unless it needs more than 28 significant
/// digits, where `Decimal` drops the excess below the 28th digit before our single rounding.
pub fn convert(
    money: Money,
    rate: Rate,
    target: Currency,
    rounding: Rounding,
) -> Result<Money, MoneyError> {
    let product = money
        .to_decimal()
        .checked_mul(rate.0)
        .ok_or(MoneyError::Overflow)?;
    let rounded = product.round_dp_with_strategy(u32::from(target.exponent()), rounding.strategy());
    Money::from_decimal(rounded, target)
}

macro_rules! string_serde {
    ($type:ty) => {
        impl Serialize for $type {
            fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                serializer.collect_str(self)
            }
        }

        /// Only a JSON string is accepted; a JSON number is a type error.
        impl<'de> Deserialize<'de> for $type {
            fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                let text = <std::borrow::Cow<'de, str>>::deserialize(deserializer)?;
                <$type>::from_str(&text).map_err(serde::de::Error::custom)
            }
        }
    };
}

string_serde!(Amount);
string_serde!(PositiveAmount);
string_serde!(Rate);

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;
    use proptest::prelude::*;

    fn currency(code: &str) -> Currency {
        Currency::parse(code).unwrap()
    }

    #[test]
    fn amount_grammar() {
        let accepted = [
            ("0", "0"),
            ("1", "1"),
            ("1250.50", "1250.50"),
            ("0.000", "0.000"),
            ("0.0001", "0.0001"),
            ("999999999999999.9999", "999999999999999.9999"),
        ];
        for (input, shown) in accepted {
            assert_eq!(Amount::parse(input).unwrap().to_string(), shown, "{input}");
        }
        let rejected = [
            ("", AmountError::InvalidFormat),
            (" 1", AmountError::InvalidFormat),
            ("1 ", AmountError::InvalidFormat),
            ("1\u{a0}", AmountError::InvalidFormat),
            ("+1", AmountError::InvalidFormat),
            ("-1", AmountError::InvalidFormat),
            ("-0", AmountError::InvalidFormat),
            ("1e3", AmountError::InvalidFormat),
            ("1E3", AmountError::InvalidFormat),
            ("1.5e2", AmountError::InvalidFormat),
            ("NaN", AmountError::InvalidFormat),
            ("inf", AmountError::InvalidFormat),
            ("Infinity", AmountError::InvalidFormat),
            (".5", AmountError::InvalidFormat),
            ("5.", AmountError::InvalidFormat),
            ("1..2", AmountError::InvalidFormat),
            ("1.2.3", AmountError::InvalidFormat),
            ("01", AmountError::InvalidFormat),
            ("00.5", AmountError::InvalidFormat),
            ("1,000", AmountError::InvalidFormat),
            ("1_000", AmountError::InvalidFormat),
            ("0x10", AmountError::InvalidFormat),
            ("١٢", AmountError::InvalidFormat), // Arabic-Indic digits
            ("1\0", AmountError::InvalidFormat),
            ("1; DROP TABLE transfers", AmountError::InvalidFormat),
            ("1000000000000000", AmountError::TooManyIntegerDigits),
            ("1.00001", AmountError::TooManyDecimals { max: 4 }),
        ];
        for (input, expected) in rejected {
            assert_eq!(Amount::parse(input), Err(expected), "{input:?}");
        }
    }

    #[test]
    fn huge_input_is_rejected_without_panic() {
        let digits = "9".repeat(10 * 1024 * 1024);
        assert_eq!(
            Amount::parse(&digits),
            Err(AmountError::TooManyIntegerDigits)
        );
        let fraction = format!("1.{}", "0".repeat(1_000_000));
        assert_eq!(
            Amount::parse(&fraction),
            Err(AmountError::TooManyDecimals { max: 4 })
        );
    }

    #[test]
    fn positive_amount_bounds() {
        assert_eq!(PositiveAmount::parse("0"), Err(AmountError::NotPositive));
        assert_eq!(
            PositiveAmount::parse("0.000"),
            Err(AmountError::NotPositive)
        );
        assert_eq!(PositiveAmount::parse("-0"), Err(AmountError::InvalidFormat));
        assert_eq!(
            PositiveAmount::parse("1000000.01"),
            Err(AmountError::AboveMaximum { max: "1000000" })
        );
        assert!(PositiveAmount::parse("1000000").is_ok());
        assert!(PositiveAmount::parse("1000000.0000").is_ok());
        assert!(PositiveAmount::parse("0.01").is_ok());
        assert!(PositiveAmount::parse("0.0001").is_ok());
        assert_eq!(
            PositiveAmount::parse("1250.50").unwrap().to_string(),
            "1250.50"
        );
    }

    #[test]
    fn decimals_must_fit_the_currency() {
        let cases = [
            ("1250.50", "IDR", Ok(125_050)),
            ("12345678.00", "IDR", Ok(1_234_567_800)),
            ("12345678", "IDR", Ok(1_234_567_800)),
            ("1.001", "IDR", Err(AmountError::TooManyDecimals { max: 2 })),
            ("100", "JPY", Ok(100)),
            ("100.0", "JPY", Err(AmountError::TooManyDecimals { max: 0 })),
            ("1.5", "JPY", Err(AmountError::TooManyDecimals { max: 0 })),
            ("1.234", "KWD", Ok(1234)),
            (
                "1.2345",
                "KWD",
                Err(AmountError::TooManyDecimals { max: 3 }),
            ),
            ("1.2345", "CLF", Ok(12345)),
        ];
        for (text, code, expected) in cases {
            let result = Money::parse(text, currency(code)).map(|m| m.amount_minor());
            assert_eq!(result, expected.map_err(MoneyError::from), "{text} {code}");
        }
    }

    #[test]
    fn minor_unit_overflow_is_refused() {
        // 15 integer digits × 10^4 fits; the largest CLF amount does not fit i64 minor units.
        let big = Amount::parse("999999999999999.9999").unwrap();
        assert_eq!(big.to_money(currency("CLF")), Err(MoneyError::Overflow));
        assert!(big.to_money(currency("BHD")).is_err());
        let fits = Amount::parse("999999999999999.99").unwrap();
        assert_eq!(
            fits.to_money(Currency::IDR).unwrap().amount_minor(),
            99_999_999_999_999_999
        );
    }

    #[test]
    fn display_uses_exactly_the_exponent() {
        let cases = [
            (1_234_567_800, "IDR", "12345678.00"),
            (5, "IDR", "0.05"),
            (0, "IDR", "0.00"),
            (-50, "EUR", "-0.50"),
            (-123_456, "EUR", "-1234.56"),
            (100, "JPY", "100"),
            (-7, "JPY", "-7"),
            (1, "KWD", "0.001"),
            (12_345, "CLF", "1.2345"),
            (i64::MIN, "USD", "-92233720368547758.08"),
            (i64::MAX, "USD", "92233720368547758.07"),
        ];
        for (minor, code, shown) in cases {
            let money = Money::from_minor(minor, currency(code));
            assert_eq!(money.to_string(), shown);
            assert_eq!(money.to_decimal().to_string(), shown);
        }
    }

    #[test]
    fn arithmetic_is_checked() {
        let a = Money::from_minor(150, Currency::IDR);
        let b = Money::from_minor(50, Currency::IDR);
        assert_eq!(a.checked_add(b).unwrap().amount_minor(), 200);
        assert_eq!(a.checked_sub(b).unwrap().amount_minor(), 100);
        assert_eq!(b.checked_sub(a).unwrap().amount_minor(), -100);
        assert_eq!(
            a.checked_add(Money::from_minor(1, Currency::USD)),
            Err(MoneyError::CurrencyMismatch)
        );
        assert_eq!(
            a.checked_sub(Money::from_minor(1, Currency::USD)),
            Err(MoneyError::CurrencyMismatch)
        );
        assert_eq!(
            Money::from_minor(i64::MAX, Currency::IDR)
                .checked_add(Money::from_minor(1, Currency::IDR)),
            Err(MoneyError::Overflow)
        );
        assert_eq!(
            Money::from_minor(i64::MIN, Currency::IDR)
                .checked_sub(Money::from_minor(1, Currency::IDR)),
            Err(MoneyError::Overflow)
        );
    }

    #[test]
    fn rate_grammar() {
        assert_eq!(Rate::parse("16250.5").unwrap().to_string(), "16250.5");
        assert_eq!(
            Rate::parse("0.0000615384615384").unwrap().to_string(),
            "0.0000615384615384"
        );
        assert_eq!(Rate::parse("0"), Err(AmountError::NotPositive));
        assert_eq!(Rate::parse("0.0"), Err(AmountError::NotPositive));
        assert_eq!(Rate::parse("-1"), Err(AmountError::InvalidFormat));
        assert_eq!(Rate::parse("1e-5"), Err(AmountError::InvalidFormat));
        assert_eq!(
            Rate::parse("0.00000000000000001"),
            Err(AmountError::TooManyDecimals { max: 16 })
        );
        assert_eq!(
            Rate::new(Decimal::NEGATIVE_ONE),
            Err(AmountError::NotPositive)
        );
    }

    #[test]
    fn conversion_rounding_is_explicit() {
        let rate = |text: &str| Rate::parse(text).unwrap();
        // 1.25 EUR → 0.125 units at rate 0.1: the tie shows the strategies apart.
        let money = Money::parse("1.25", Currency::EUR).unwrap();
        let cases = [
            (Rounding::HalfEven, "0.12"),
            (Rounding::HalfUp, "0.13"),
            (Rounding::TowardZero, "0.12"),
        ];
        for (rounding, shown) in cases {
            let converted = convert(money, rate("0.1"), Currency::USD, rounding).unwrap();
            assert_eq!(converted.to_string(), shown, "{rounding:?}");
        }
        let money = Money::parse("1.35", Currency::EUR).unwrap();
        assert_eq!(
            convert(money, rate("0.1"), Currency::USD, Rounding::HalfEven)
                .unwrap()
                .to_string(),
            "0.14"
        );
        // Negative ties round symmetrically.
        let negative = Money::from_minor(-125, Currency::EUR);
        assert_eq!(
            convert(negative, rate("0.1"), Currency::USD, Rounding::HalfUp)
                .unwrap()
                .to_string(),
            "-0.13"
        );
        // USD → IDR and IDR → JPY.
        let usd = Money::parse("100.00", Currency::USD).unwrap();
        let idr = convert(usd, rate("16250.5"), Currency::IDR, Rounding::HalfEven).unwrap();
        assert_eq!(idr.to_string(), "1625050.00");
        let jpy = convert(idr, rate("0.0095"), Currency::JPY, Rounding::HalfEven).unwrap();
        assert_eq!(jpy.to_string(), "15438"); // 15437.975 → 15438
        // Overflow is an error, not a wrap.
        let huge = Money::from_minor(i64::MAX, Currency::USD);
        assert_eq!(
            convert(huge, rate("1000"), Currency::USD, Rounding::HalfEven),
            Err(MoneyError::Overflow)
        );
    }

    #[test]
    fn serde_uses_strings_only() {
        let amount: PositiveAmount = serde_json::from_str("\"1250.50\"").unwrap();
        assert_eq!(serde_json::to_string(&amount).unwrap(), "\"1250.50\"");
        assert!(serde_json::from_str::<PositiveAmount>("1250.5").is_err());
        assert!(serde_json::from_str::<Amount>("1").is_err());
        assert!(serde_json::from_str::<Rate>("1.5").is_err());
        assert!(serde_json::from_str::<Rate>("\"1.5\"").is_ok());
    }

    #[test]
    fn error_messages_do_not_echo_input() {
        let hostile = "<script>alert(1)</script>";
        let message = Amount::parse(hostile).unwrap_err().to_string();
        assert!(!message.contains("script"));
    }

    fn any_currency() -> impl Strategy<Value = Currency> {
        let all: Vec<Currency> = Currency::all().collect();
        proptest::sample::select(all)
    }

    proptest! {
        #[test]
        fn money_display_parse_round_trip(minor in 0_i64..=i64::MAX, currency in any_currency()) {
            let money = Money::from_minor(minor, currency);
            let shown = money.to_string();
            match Money::parse(&shown, currency) {
                Ok(back) => prop_assert_eq!(back, money),
                // Only amounts beyond the 15-integer-digit wire budget may fail to come back.
                Err(error) => prop_assert_eq!(error, MoneyError::Amount(AmountError::TooManyIntegerDigits)),
            }
        }

        #[test]
        fn decimal_round_trip(minor in any::<i64>(), currency in any_currency()) {
            let money = Money::from_minor(minor, currency);
            prop_assert_eq!(Money::from_decimal(money.to_decimal(), currency), Ok(money));
        }

        #[test]
        fn amount_parse_display_identity(
            integer in "(0|[1-9][0-9]{0,14})",
            fraction in proptest::option::of("[0-9]{1,4}"),
        ) {
            let text = match fraction {
                Some(fraction) => format!("{integer}.{fraction}"),
                None => integer,
            };
            prop_assert_eq!(Amount::parse(&text).unwrap().to_string(), text);
        }

        #[test]
        fn addition_matches_wide_integers(a in any::<i64>(), b in any::<i64>()) {
            let sum = Money::from_minor(a, Currency::IDR).checked_add(Money::from_minor(b, Currency::IDR));
            let wide = i128::from(a) + i128::from(b);
            match i64::try_from(wide) {
                Ok(expected) => prop_assert_eq!(sum.map(|m| m.amount_minor()), Ok(expected)),
                Err(_) => prop_assert_eq!(sum, Err(MoneyError::Overflow)),
            }
        }

        #[test]
        fn rate_one_is_identity(minor in -1_000_000_000_000_i64..1_000_000_000_000, currency in any_currency()) {
            let money = Money::from_minor(minor, currency);
            let rate = Rate::parse("1").unwrap();
            prop_assert_eq!(convert(money, rate, currency, Rounding::HalfEven), Ok(money));
        }

        #[test]
        fn arbitrary_strings_never_panic(text in "\\PC{0,40}") {
            let _ = Amount::parse(&text);
            let _ = PositiveAmount::parse(&text);
            let _ = Rate::parse(&text);
        }
    }
}
