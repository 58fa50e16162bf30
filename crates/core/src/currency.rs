//! ISO 4217 currencies with their minor-unit exponents.
//!
//! The table is embedded (no crate, no I/O) so that the exponent we store money with is a decision
//! written here, not something a dependency upgrade can change under us. IDR has exponent 2, as
//! ISO 4217 and SNAP's `"12345678.00"` amounts use (DECISIONS.md, Money).
//!
//! Only codes whose ISO minor unit is a number are listed: the precious metals (XAU, XAG, XPD,
//! XPT), the bond-market units (XBA–XBD), XDR, XSU, XUA, XTS and XXX have "N.A." and cannot be
//! held as money with a fixed exponent. Withdrawn codes (ANG, BGN, CUC, HRK, MRO, SLL, STD, VEF,
//! ZWL …) are absent: a payment in a withdrawn currency is refused rather than guessed at.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// A currency of the active ISO 4217 list. Holding one means the code is assigned and the
/// exponent is the one ISO publishes.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Currency {
    code: &'static str,
    exponent: u8,
}

/// Why a string is not a currency code. Messages never repeat the input.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum CurrencyError {
    #[error("must be three upper-case letters (ISO 4217)")]
    InvalidFormat,
    #[error("is not an active ISO 4217 currency code")]
    Unknown,
}

impl CurrencyError {
    /// Stable machine-readable code (see `strict_json::codes`).
    pub fn code(&self) -> &'static str {
        match self {
            CurrencyError::InvalidFormat => "invalid_format",
            CurrencyError::Unknown => "unknown_value",
        }
    }
}

/// Active ISO 4217 alphabetic codes and minor units, sorted by code for binary search.
/// Includes the fund codes (BOV, CHE, CHW, CLF, COU, MXV, USN, UYI, UYW) because ISO lists them.
const TABLE: &[(&str, u8)] = &[
    ("AED", 2),
    ("AFN", 2),
    ("ALL", 2),
    ("AMD", 2),
    ("AOA", 2),
    ("ARS", 2),
    ("AUD", 2),
    ("AWG", 2),
    ("AZN", 2),
    ("BAM", 2),
    ("BBD", 2),
    ("BDT", 2),
    ("BHD", 3),
    ("BIF", 0),
    ("BMD", 2),
    ("BND", 2),
    ("BOB", 2),
    ("BOV", 2),
    ("BRL", 2),
    ("BSD", 2),
    ("BTN", 2),
    ("BWP", 2),
    ("BYN", 2),
    ("BZD", 2),
    ("CAD", 2),
    ("CDF", 2),
    ("CHE", 2),
    ("CHF", 2),
    ("CHW", 2),
    ("CLF", 4),
    ("CLP", 0),
    ("CNY", 2),
    ("COP", 2),
    ("COU", 2),
    ("CRC", 2),
    ("CUP", 2),
    ("CVE", 2),
    ("CZK", 2),
    ("DJF", 0),
    ("DKK", 2),
    ("DOP", 2),
    ("DZD", 2),
    ("EGP", 2),
    ("ERN", 2),
    ("ETB", 2),
    ("EUR", 2),
    ("FJD", 2),
    ("FKP", 2),
    ("GBP", 2),
    ("GEL", 2),
    ("GHS", 2),
    ("GIP", 2),
    ("GMD", 2),
    ("GNF", 0),
    ("GTQ", 2),
    ("GYD", 2),
    ("HKD", 2),
    ("HNL", 2),
    ("HTG", 2),
    ("HUF", 2),
    ("IDR", 2),
    ("ILS", 2),
    ("INR", 2),
    ("IQD", 3),
    ("IRR", 2),
    ("ISK", 0),
    ("JMD", 2),
    ("JOD", 3),
    ("JPY", 0),
    ("KES", 2),
    ("KGS", 2),
    ("KHR", 2),
    ("KMF", 0),
    ("KPW", 2),
    ("KRW", 0),
    ("KWD", 3),
    ("KYD", 2),
    ("KZT", 2),
    ("LAK", 2),
    ("LBP", 2),
    ("LKR", 2),
    ("LRD", 2),
    ("LSL", 2),
    ("LYD", 3),
    ("MAD", 2),
    ("MDL", 2),
    ("MGA", 2),
    ("MKD", 2),
    ("MMK", 2),
    ("MNT", 2),
    ("MOP", 2),
    ("MRU", 2),
    ("MUR", 2),
    ("MVR", 2),
    ("MWK", 2),
    ("MXN", 2),
    ("MXV", 2),
    ("MYR", 2),
    ("MZN", 2),
    ("NAD", 2),
    ("NGN", 2),
    ("NIO", 2),
    ("NOK", 2),
    ("NPR", 2),
    ("NZD", 2),
    ("OMR", 3),
    ("PAB", 2),
    ("PEN", 2),
    ("PGK", 2),
    ("PHP", 2),
    ("PKR", 2),
    ("PLN", 2),
    ("PYG", 0),
    ("QAR", 2),
    ("RON", 2),
    ("RSD", 2),
    ("RUB", 2),
    ("RWF", 0),
    ("SAR", 2),
    ("SBD", 2),
    ("SCR", 2),
    ("SDG", 2),
    ("SEK", 2),
    ("SGD", 2),
    ("SHP", 2),
    ("SLE", 2),
    ("SOS", 2),
    ("SRD", 2),
    ("SSP", 2),
    ("STN", 2),
    ("SVC", 2),
    ("SYP", 2),
    ("SZL", 2),
    ("THB", 2),
    ("TJS", 2),
    ("TMT", 2),
    ("TND", 3),
    ("TOP", 2),
    ("TRY", 2),
    ("TTD", 2),
    ("TWD", 2),
    ("TZS", 2),
    ("UAH", 2),
    ("UGX", 0),
    ("USD", 2),
    ("USN", 2),
    ("UYI", 0),
    ("UYU", 2),
    ("UYW", 4),
    ("UZS", 2),
    ("VED", 2),
    ("VES", 2),
    ("VND", 0),
    ("VUV", 0),
    ("WST", 2),
    ("XAF", 0),
    ("XCD", 2),
    ("XCG", 2),
    ("XOF", 0),
    ("XPF", 0),
    ("YER", 2),
    ("ZAR", 2),
    ("ZMW", 2),
    ("ZWG", 2),
];

impl Currency {
    /// Indonesian rupiah (exponent 2, see module docs).
    pub const IDR: Currency = Currency {
        code: "IDR",
        exponent: 2,
    };
    pub const USD: Currency = Currency {
        code: "USD",
        exponent: 2,
    };
    pub const EUR: Currency = Currency {
        code: "EUR",
        exponent: 2,
    };
    pub const GBP: Currency = Currency {
        code: "GBP",
        exponent: 2,
    };
    pub const JPY: Currency = Currency {
        code: "JPY",
        exponent: 0,
    };

    /// Looks a code up; the input must already be exactly three upper-case ASCII letters.
    pub fn parse(code: &str) -> Result<Currency, CurrencyError> {
        let bytes = code.as_bytes();
        if bytes.len() != 3 || !bytes.iter().all(u8::is_ascii_uppercase) {
            return Err(CurrencyError::InvalidFormat);
        }
        TABLE
            .binary_search_by(|(candidate, _)| (*candidate).cmp(code))
            .ok()
            .and_then(|index| TABLE.get(index))
            .map(|&(code, exponent)| Currency { code, exponent })
            .ok_or(CurrencyError::Unknown)
    }

    /// The ISO 4217 alphabetic code, e.g. `"IDR"`.
    pub fn code(&self) -> &'static str {
        self.code
    }

    /// Number of decimal places of the minor unit (IDR 2, JPY 0, KWD 3, CLF 4).
    pub fn exponent(&self) -> u8 {
        self.exponent
    }

    /// Every currency we accept, in code order.
    pub fn all() -> impl Iterator<Item = Currency> {
        TABLE
            .iter()
            .map(|&(code, exponent)| Currency { code, exponent })
    }
}

impl FromStr for Currency {
    type Err = CurrencyError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Currency::parse(s)
    }
}

impl TryFrom<&str> for Currency {
    type Error = CurrencyError;
    fn try_from(s: &str) -> Result<Self, Self::Error> {
        Currency::parse(s)
    }
}

impl fmt::Display for Currency {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.pad(self.code)
    }
}

impl fmt::Debug for Currency {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Currency({})", self.code)
    }
}

impl Serialize for Currency {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.code)
    }
}

impl<'de> Deserialize<'de> for Currency {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = <std::borrow::Cow<'de, str>>::deserialize(deserializer)?;
        Currency::parse(&text).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;

    #[test]
    fn table_is_sorted_unique_and_well_formed() {
        for pair in TABLE.windows(2) {
            assert!(pair[0].0 < pair[1].0, "{} then {}", pair[0].0, pair[1].0);
        }
        for (code, exponent) in TABLE {
            assert_eq!(code.len(), 3);
            assert!(code.bytes().all(|b| b.is_ascii_uppercase()));
            assert!(*exponent <= 4);
        }
        assert!(TABLE.len() > 150);
    }

    #[test]
    fn known_exponents() {
        let cases = [
            ("IDR", 2),
            ("JPY", 0),
            ("KWD", 3),
            ("BHD", 3),
            ("CLF", 4),
            ("EUR", 2),
            ("GBP", 2),
            ("USD", 2),
            ("KRW", 0),
            ("VND", 0),
            ("XOF", 0),
        ];
        for (code, exponent) in cases {
            let currency: Currency = code.parse().unwrap();
            assert_eq!(currency.code(), code);
            assert_eq!(currency.exponent(), exponent, "{code}");
        }
    }

    #[test]
    fn constants_match_table() {
        for constant in [
            Currency::IDR,
            Currency::USD,
            Currency::EUR,
            Currency::GBP,
            Currency::JPY,
        ] {
            assert_eq!(Currency::parse(constant.code()).unwrap(), constant);
            assert_eq!(
                Currency::parse(constant.code()).unwrap().exponent(),
                constant.exponent()
            );
        }
    }

    #[test]
    fn rejects_bad_input() {
        let cases = [
            ("idr", CurrencyError::InvalidFormat),
            ("Idr", CurrencyError::InvalidFormat),
            ("ID", CurrencyError::InvalidFormat),
            ("IDRR", CurrencyError::InvalidFormat),
            (" IDR", CurrencyError::InvalidFormat),
            ("IDR ", CurrencyError::InvalidFormat),
            ("", CurrencyError::InvalidFormat),
            ("I\0R", CurrencyError::InvalidFormat),
            ("ІDR", CurrencyError::InvalidFormat), // Cyrillic І
            ("123", CurrencyError::InvalidFormat),
            ("XYZ", CurrencyError::Unknown),
            ("XAU", CurrencyError::Unknown),
            ("XXX", CurrencyError::Unknown),
            ("HRK", CurrencyError::Unknown),
            ("ANG", CurrencyError::Unknown),
        ];
        for (input, expected) in cases {
            assert_eq!(Currency::parse(input), Err(expected), "{input:?}");
        }
    }

    #[test]
    fn serde_is_a_string() {
        let json = serde_json::to_string(&Currency::IDR).unwrap();
        assert_eq!(json, "\"IDR\"");
        let back: Currency = serde_json::from_str("\"JPY\"").unwrap();
        assert_eq!(back, Currency::JPY);
        assert!(serde_json::from_str::<Currency>("\"jpy\"").is_err());
        assert!(serde_json::from_str::<Currency>("392").is_err());
        assert_eq!(Currency::IDR.to_string(), "IDR");
    }

    #[test]
    fn every_table_entry_round_trips() {
        for currency in Currency::all() {
            assert_eq!(Currency::parse(&currency.to_string()).unwrap(), currency);
        }
    }
}
