//! ISO 3166-1 alpha-2 country codes.
//!
//! The 249 officially assigned codes are embedded. User-assigned codes (AA, QM–QZ, XA–XZ, ZZ),
//! exceptionally reserved ones (EU, UK, …) and withdrawn ones (AN, CS, YU, …) are refused,
//! including XK (Kosovo): it is user-assigned, not ISO. IBANs and BICs that use XK are handled by
//! their own tables in `iban` and `text`.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// An assigned ISO 3166-1 alpha-2 code. Holding one means it is two upper-case letters that ISO
/// has assigned to a country or territory.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct CountryCode(&'static str);

/// Why a string is not a country code. Messages never repeat the input.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum CountryCodeError {
    #[error("must be two upper-case letters (ISO 3166-1 alpha-2)")]
    InvalidFormat,
    #[error("is not an assigned ISO 3166-1 alpha-2 code")]
    Unassigned,
}

impl CountryCodeError {
    /// Stable machine-readable code (see `strict_json::codes`).
    pub fn code(&self) -> &'static str {
        match self {
            CountryCodeError::InvalidFormat => "invalid_format",
            CountryCodeError::Unassigned => "unknown_value",
        }
    }
}

/// Officially assigned alpha-2 codes, sorted for binary search.
const ASSIGNED: &[&str] = &[
    "AD", "AE", "AF", "AG", "AI", "AL", "AM", "AO", "AQ", "AR", "AS", "AT", "AU", "AW", "AX", "AZ",
    "BA", "BB", "BD", "BE", "BF", "BG", "BH", "BI", "BJ", "BL", "BM", "BN", "BO", "BQ", "BR", "BS",
    "BT", "BV", "BW", "BY", "BZ", "CA", "CC", "CD", "CF", "CG", "CH", "CI", "CK", "CL", "CM", "CN",
    "CO", "CR", "CU", "CV", "CW", "CX", "CY", "CZ", "DE", "DJ", "DK", "DM", "DO", "DZ", "EC", "EE",
    "EG", "EH", "ER", "ES", "ET", "FI", "FJ", "FK", "FM", "FO", "FR", "GA", "GB", "GD", "GE", "GF",
    "GG", "GH", "GI", "GL", "GM", "GN", "GP", "GQ", "GR", "GS", "GT", "GU", "GW", "GY", "HK", "HM",
    "HN", "HR", "HT", "HU", "ID", "IE", "IL", "IM", "IN", "IO", "IQ", "IR", "IS", "IT", "JE", "JM",
    "JO", "JP", "KE", "KG", "KH", "KI", "KM", "KN", "KP", "KR", "KW", "KY", "KZ", "LA", "LB", "LC",
    "LI", "LK", "LR", "LS", "LT", "LU", "LV", "LY", "MA", "MC", "MD", "ME", "MF", "MG", "MH", "MK",
    "ML", "MM", "MN", "MO", "MP", "MQ", "MR", "MS", "MT", "MU", "MV", "MW", "MX", "MY", "MZ", "NA",
    "NC", "NE", "NF", "NG", "NI", "NL", "NO", "NP", "NR", "NU", "NZ", "OM", "PA", "PE", "PF", "PG",
    "PH", "PK", "PL", "PM", "PN", "PR", "PS", "PT", "PW", "PY", "QA", "RE", "RO", "RS", "RU", "RW",
    "SA", "SB", "SC", "SD", "SE", "SG", "SH", "SI", "SJ", "SK", "SL", "SM", "SN", "SO", "SR", "SS",
    "ST", "SV", "SX", "SY", "SZ", "TC", "TD", "TF", "TG", "TH", "TJ", "TK", "TL", "TM", "TN", "TO",
    "TR", "TT", "TV", "TW", "TZ", "UA", "UG", "UM", "US", "UY", "UZ", "VA", "VC", "VE", "VG", "VI",
    "VN", "VU", "WF", "WS", "YE", "YT", "ZA", "ZM", "ZW",
];

impl CountryCode {
    pub const ID: CountryCode = CountryCode("ID");
    pub const GB: CountryCode = CountryCode("GB");
    pub const DE: CountryCode = CountryCode("DE");
    pub const NL: CountryCode = CountryCode("NL");
    pub const US: CountryCode = CountryCode("US");

    /// Parses exactly two upper-case ASCII letters that ISO has assigned.
    pub fn parse(code: &str) -> Result<CountryCode, CountryCodeError> {
        let bytes = code.as_bytes();
        if bytes.len() != 2 || !bytes.iter().all(u8::is_ascii_uppercase) {
            return Err(CountryCodeError::InvalidFormat);
        }
        ASSIGNED
            .binary_search(&code)
            .ok()
            .and_then(|index| ASSIGNED.get(index))
            .map(|&assigned| CountryCode(assigned))
            .ok_or(CountryCodeError::Unassigned)
    }

    /// The two letters, e.g. `"ID"`.
    pub fn as_str(&self) -> &'static str {
        self.0
    }
}

impl FromStr for CountryCode {
    type Err = CountryCodeError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        CountryCode::parse(s)
    }
}

impl TryFrom<&str> for CountryCode {
    type Error = CountryCodeError;
    fn try_from(s: &str) -> Result<Self, Self::Error> {
        CountryCode::parse(s)
    }
}

impl fmt::Display for CountryCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.pad(self.as_str())
    }
}

impl fmt::Debug for CountryCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "CountryCode({})", self.as_str())
    }
}

impl Serialize for CountryCode {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for CountryCode {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = <std::borrow::Cow<'de, str>>::deserialize(deserializer)?;
        CountryCode::parse(&text).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;

    #[test]
    fn table_has_all_249_sorted_codes() {
        assert_eq!(ASSIGNED.len(), 249);
        for pair in ASSIGNED.windows(2) {
            assert!(pair[0] < pair[1]);
        }
        for code in ASSIGNED {
            assert_eq!(CountryCode::parse(code).unwrap().as_str(), *code);
        }
    }

    #[test]
    fn accepts_rail_countries() {
        for code in [
            "ID", "GB", "DE", "FR", "NL", "IE", "SG", "US", "AX", "SS", "SX", "BQ",
        ] {
            assert!(CountryCode::parse(code).is_ok(), "{code}");
        }
        assert_eq!(CountryCode::parse("ID").unwrap(), CountryCode::ID);
    }

    #[test]
    fn rejects_bad_input() {
        let cases = [
            ("id", CountryCodeError::InvalidFormat),
            ("Id", CountryCodeError::InvalidFormat),
            ("I", CountryCodeError::InvalidFormat),
            ("IDN", CountryCodeError::InvalidFormat),
            ("", CountryCodeError::InvalidFormat),
            ("I\0", CountryCodeError::InvalidFormat),
            ("1D", CountryCodeError::InvalidFormat),
            ("ІD", CountryCodeError::InvalidFormat), // Cyrillic І, two bytes
            ("UK", CountryCodeError::Unassigned),
            ("EU", CountryCodeError::Unassigned),
            ("XK", CountryCodeError::Unassigned),
            ("AA", CountryCodeError::Unassigned),
            ("ZZ", CountryCodeError::Unassigned),
            ("YU", CountryCodeError::Unassigned),
            ("AN", CountryCodeError::Unassigned),
        ];
        for (input, expected) in cases {
            assert_eq!(CountryCode::parse(input), Err(expected), "{input:?}");
        }
    }

    #[test]
    fn serde_is_a_string() {
        assert_eq!(serde_json::to_string(&CountryCode::ID).unwrap(), "\"ID\"");
        let back: CountryCode = serde_json::from_str("\"GB\"").unwrap();
        assert_eq!(back, CountryCode::GB);
        assert!(serde_json::from_str::<CountryCode>("\"gb\"").is_err());
    }
}
