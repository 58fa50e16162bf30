//! IBAN (ISO 13616): country length table and the mod-97 check, written here.
//!
//! Why not the `iban_validate` crate: what we need is ~90 table rows and a 10-line remainder loop,
//! which is easier to audit than a dependency and cannot change under a version bump. Per-country
//! BBAN character layouts (e.g. Germany all digits) are not checked; mod-97 plus the exact length
//! catch typos, and the receiving bank's scheme rejects a structurally wrong BBAN.
//!
//! Input rules (decided here, no silent coercion):
//! - The electronic form `DE89370400440532013000` is accepted as is.
//! - The paper form `DE89 3704 0044 0532 0130 00` is accepted: ASCII spaces (U+0020) are removed,
//!   nothing else is. Tabs, NBSP, hyphens, dots are errors.
//! - Letters must be upper case. Lower case is refused rather than upper-cased, like currency and
//!   country codes, so that what we store is byte-for-byte what the client sent minus spaces.
//! - Check digits must be 02–98 (ISO 13616): `01` and `98` leave the same remainder, so `01`
//!   would otherwise pass wherever `98` is correct.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// IBAN country prefixes and total lengths from the SWIFT IBAN registry, sorted by code.
/// French overseas departments and territories, Åland, the Crown Dependencies etc. use their
/// parent country's prefix (FR, FI, GB …) in real IBANs, so they need no rows of their own.
/// XK is Kosovo's registry prefix (not an ISO 3166 assignment).
const LENGTHS: &[(&str, usize)] = &[
    ("AD", 24),
    ("AE", 23),
    ("AL", 28),
    ("AT", 20),
    ("AZ", 28),
    ("BA", 20),
    ("BE", 16),
    ("BG", 22),
    ("BH", 22),
    ("BI", 27),
    ("BR", 29),
    ("BY", 28),
    ("CH", 21),
    ("CR", 22),
    ("CY", 28),
    ("CZ", 24),
    ("DE", 22),
    ("DJ", 27),
    ("DK", 18),
    ("DO", 28),
    ("EE", 20),
    ("EG", 29),
    ("ES", 24),
    ("FI", 18),
    ("FK", 18),
    ("FO", 18),
    ("FR", 27),
    ("GB", 22),
    ("GE", 22),
    ("GI", 23),
    ("GL", 18),
    ("GR", 27),
    ("GT", 28),
    ("HN", 28),
    ("HR", 21),
    ("HU", 28),
    ("IE", 22),
    ("IL", 23),
    ("IQ", 23),
    ("IS", 26),
    ("IT", 27),
    ("JO", 30),
    ("KW", 30),
    ("KZ", 20),
    ("LB", 28),
    ("LC", 32),
    ("LI", 21),
    ("LT", 20),
    ("LU", 20),
    ("LV", 21),
    ("LY", 25),
    ("MC", 27),
    ("MD", 24),
    ("ME", 22),
    ("MK", 19),
    ("MN", 20),
    ("MR", 27),
    ("MT", 31),
    ("MU", 30),
    ("NI", 28),
    ("NL", 18),
    ("NO", 15),
    ("OM", 23),
    ("PK", 24),
    ("PL", 28),
    ("PS", 29),
    ("PT", 25),
    ("QA", 29),
    ("RO", 24),
    ("RS", 22),
    ("RU", 33),
    ("SA", 24),
    ("SC", 31),
    ("SD", 18),
    ("SE", 24),
    ("SI", 19),
    ("SK", 24),
    ("SM", 27),
    ("SO", 23),
    ("ST", 25),
    ("SV", 28),
    ("TL", 23),
    ("TN", 24),
    ("TR", 26),
    ("UA", 29),
    ("VA", 22),
    ("VG", 24),
    ("XK", 20),
    ("YE", 30),
];

/// SEPA scheme countries with their own IBAN prefix (EPC list): the 27 EU states plus
/// AD, CH, GB, GI, IS, LI, MC, MD, ME, MK, NO, AL, RS, SM, VA.
const SEPA: &[&str] = &[
    "AD", "AL", "AT", "BE", "BG", "CH", "CY", "CZ", "DE", "DK", "EE", "ES", "FI", "FR", "GB", "GI",
    "GR", "HR", "HU", "IE", "IS", "IT", "LI", "LT", "LU", "LV", "MC", "MD", "ME", "MK", "MT", "NL",
    "NO", "PL", "PT", "RO", "RS", "SE", "SI", "SK", "SM", "VA",
];

/// Longest IBAN of any country (ISO 13616 maximum).
const MAX_LENGTH: usize = 34;
/// Paper form input longer than this is refused before any work (34 characters + 8 spaces,
/// with slack for irregular grouping).
const MAX_INPUT_BYTES: usize = 64;

/// A validated IBAN in electronic form (upper case, no spaces).
///
/// Debug shows only the country and the last four characters, so a stray `{:?}` in a log line
/// does not leak a Tier-1 bank account; Display and `as_str` give the full value for the places
/// that need it (encryption, outbound messages).
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct Iban(String);

/// Why a string is not an IBAN. Messages never repeat the input.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum IbanError {
    #[error(
        "must be upper-case letters and digits, optionally grouped with single spaces (ISO 13616)"
    )]
    InvalidCharacters,
    #[error("must start with a two-letter country code and two check digits")]
    InvalidFormat,
    #[error("country does not issue IBANs")]
    UnknownCountry,
    #[error("has the wrong length for its country")]
    WrongLength,
    #[error("check digits do not match (mod 97)")]
    ChecksumMismatch,
}

impl IbanError {
    /// Stable machine-readable code (see `strict_json::codes`).
    pub fn code(&self) -> &'static str {
        match self {
            IbanError::InvalidCharacters | IbanError::InvalidFormat => "invalid_format",
            IbanError::UnknownCountry => "unknown_value",
            IbanError::WrongLength => "invalid_length",
            IbanError::ChecksumMismatch => "invalid_checksum",
        }
    }
}

fn expected_length(country: &str) -> Option<usize> {
    LENGTHS
        .binary_search_by(|(code, _)| (*code).cmp(country))
        .ok()
        .and_then(|index| LENGTHS.get(index))
        .map(|&(_, length)| length)
}

/// ISO 7064 MOD 97-10 remainder of the rearranged IBAN (BBAN, then country and check digits),
/// letters counted as 10–35. Works digit by digit so no big integers are needed.
/// Input must be upper-case ASCII alphanumerics.
fn mod97(rearranged: impl Iterator<Item = u8>) -> u32 {
    rearranged.fold(0_u32, |remainder, byte| match byte {
        b'0'..=b'9' => (remainder * 10 + u32::from(byte - b'0')) % 97,
        _ => (remainder * 100 + u32::from(byte - b'A') + 10) % 97,
    })
}

fn rearranged(electronic: &str) -> impl Iterator<Item = u8> + '_ {
    let bytes = electronic.as_bytes();
    let (head, bban) = bytes.split_at(4.min(bytes.len()));
    bban.iter().chain(head.iter()).copied()
}

impl Iban {
    pub fn parse(text: &str) -> Result<Iban, IbanError> {
        if text.len() > MAX_INPUT_BYTES {
            return Err(IbanError::WrongLength);
        }
        if !text
            .bytes()
            .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || b == b' ')
        {
            return Err(IbanError::InvalidCharacters);
        }
        // Spaces only between groups: not leading, trailing or doubled.
        if text.starts_with(' ') || text.ends_with(' ') || text.contains("  ") {
            return Err(IbanError::InvalidCharacters);
        }
        let electronic: String = text.chars().filter(|&c| c != ' ').collect();
        let bytes = electronic.as_bytes();
        let (Some(country), Some(check)) = (electronic.get(0..2), electronic.get(2..4)) else {
            return Err(IbanError::InvalidFormat);
        };
        if !country.bytes().all(|b| b.is_ascii_uppercase())
            || !check.bytes().all(|b| b.is_ascii_digit())
        {
            return Err(IbanError::InvalidFormat);
        }
        let length = expected_length(country).ok_or(IbanError::UnknownCountry)?;
        if bytes.len() != length || length > MAX_LENGTH {
            return Err(IbanError::WrongLength);
        }
        if matches!(check, "00" | "01" | "99") {
            return Err(IbanError::ChecksumMismatch);
        }
        if mod97(rearranged(&electronic)) != 1 {
            return Err(IbanError::ChecksumMismatch);
        }
        Ok(Iban(electronic))
    }

    /// Electronic form, e.g. `DE89370400440532013000`.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The two-letter IBAN country prefix (may be `XK`, so not a [`crate::country::CountryCode`]).
    pub fn country_prefix(&self) -> &str {
        self.0.get(0..2).unwrap_or_default()
    }

    pub fn check_digits(&self) -> &str {
        self.0.get(2..4).unwrap_or_default()
    }

    /// The domestic account identifier after the check digits.
    pub fn bban(&self) -> &str {
        self.0.get(4..).unwrap_or_default()
    }

    /// Last four characters, for display to the account holder ("…3000").
    pub fn last4(&self) -> &str {
        self.0
            .get(self.0.len().saturating_sub(4)..)
            .unwrap_or_default()
    }

    /// Whether the IBAN's country is in the SEPA scheme (by its own prefix).
    pub fn is_sepa(&self) -> bool {
        SEPA.contains(&self.country_prefix())
    }

    /// Paper form in groups of four: `DE89 3704 0044 0532 0130 00`.
    pub fn to_paper_format(&self) -> String {
        let mut out = String::with_capacity(self.0.len() + self.0.len() / 4);
        for (index, character) in self.0.chars().enumerate() {
            if index > 0 && index % 4 == 0 {
                out.push(' ');
            }
            out.push(character);
        }
        out
    }
}

impl FromStr for Iban {
    type Err = IbanError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Iban::parse(s)
    }
}

impl TryFrom<&str> for Iban {
    type Error = IbanError;
    fn try_from(s: &str) -> Result<Self, Self::Error> {
        Iban::parse(s)
    }
}

impl fmt::Display for Iban {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.pad(&self.0)
    }
}

impl fmt::Debug for Iban {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Iban({}…{})", self.country_prefix(), self.last4())
    }
}

impl Serialize for Iban {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for Iban {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = <std::borrow::Cow<'de, str>>::deserialize(deserializer)?;
        Iban::parse(&text).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;
    use proptest::prelude::*;

    /// Builds a valid IBAN for `country` and `bban` by computing the check digits.
    fn with_check_digits(country: &str, bban: &str) -> String {
        let provisional = format!("{country}00{bban}");
        let check = 98 - mod97(rearranged(&provisional));
        format!("{country}{check:02}{bban}")
    }

    #[test]
    fn registry_examples_are_valid() {
        let examples = [
            "DE89370400440532013000",
            "GB29NWBK60161331926819",
            "GB82WEST12345698765432",
            "NL91ABNA0417164300",
            "FR1420041010050500013M02606",
            "BE68539007547034",
            "NO9386011117947",
            "AD1200012030200359100100",
            "AE070331234567890123456",
            "AL47212110090000000235698741",
            "AT611904300234573201",
            "CH9300762011623852957",
            "ES9121000418450200051332",
            "IT60X0542811101000000123456",
            "MT84MALT011000012345MTLCAST001S",
            "SA0380000000608010167519",
            "LC55HEMM000100010012001200023015",
            "RU0204452560040702810412345678901",
            "AZ77VTBA00000000001234567890",
            "BR1500000000000010932840814P2",
            "EG800002000156789012345180002",
            "GT20AGRO00000000001234567890",
            "HU93116000060000000012345676",
            "IS030001121234561234567890",
            "DO22ACAU00000000000123456789",
            "GI04BARC000001234567890",
            "CY21002001950000357001234567",
            "HR1723600001101234565",
            "BG18RZBB91550123456789",
            "CR23015108410026012345",
            "GE60NB0000000123456789",
        ];
        for example in examples {
            let parsed = Iban::parse(example);
            assert!(parsed.is_ok(), "{example}: {parsed:?}");
            let iban = parsed.unwrap();
            assert_eq!(iban.as_str(), example);
            assert_eq!(iban.to_string(), example);
        }
    }

    #[test]
    fn paper_format_is_accepted_and_produced() {
        let iban = Iban::parse("DE89 3704 0044 0532 0130 00").unwrap();
        assert_eq!(iban.as_str(), "DE89370400440532013000");
        assert_eq!(iban.to_paper_format(), "DE89 3704 0044 0532 0130 00");
        assert_eq!(iban.last4(), "3000");
        assert_eq!(iban.bban(), "370400440532013000");
        assert_eq!(iban.country_prefix(), "DE");
        assert_eq!(iban.check_digits(), "89");
        assert!(iban.is_sepa());
        assert_eq!(format!("{iban:?}"), "Iban(DE…3000)");
    }

    #[test]
    fn rejects_bad_input() {
        let cases = [
            ("", IbanError::InvalidFormat),
            ("DE", IbanError::InvalidFormat),
            ("de89370400440532013000", IbanError::InvalidCharacters),
            ("DE89370400440532013000\n", IbanError::InvalidCharacters),
            ("DE89\t370400440532013000", IbanError::InvalidCharacters),
            ("DE89\u{a0}370400440532013000", IbanError::InvalidCharacters),
            ("DE89-3704-0044-0532-0130-00", IbanError::InvalidCharacters),
            (" DE89370400440532013000", IbanError::InvalidCharacters),
            ("DE89  370400440532013000", IbanError::InvalidCharacters),
            ("DE89370400440532013000\0", IbanError::InvalidCharacters),
            ("DЕ89370400440532013000", IbanError::InvalidCharacters), // Cyrillic Е
            ("D189370400440532013000", IbanError::InvalidFormat),
            ("DEX9370400440532013000", IbanError::InvalidFormat),
            ("US89370400440532013000", IbanError::UnknownCountry),
            ("ID89370400440532013000", IbanError::UnknownCountry),
            ("DE8937040044053201300", IbanError::WrongLength),
            ("DE893704004405320130000", IbanError::WrongLength),
            ("DE88370400440532013000", IbanError::ChecksumMismatch),
            ("DE89370400440532013001", IbanError::ChecksumMismatch),
            ("GB29NWBK60161331926818", IbanError::ChecksumMismatch),
        ];
        for (input, expected) in cases {
            assert_eq!(Iban::parse(input), Err(expected), "{input:?}");
        }
        assert_eq!(
            Iban::parse(&"DE".repeat(5_000_000)),
            Err(IbanError::WrongLength)
        );
    }

    #[test]
    fn check_digits_01_are_refused_even_when_98_is_right() {
        // Find a BBAN whose correct check digits are 98, then swap in 01 (same remainder).
        let bban = (0..10_000_u32)
            .map(|n| format!("37040044{n:010}"))
            .find(|bban| with_check_digits("DE", bban).get(2..4) == Some("98"))
            .unwrap();
        assert!(Iban::parse(&format!("DE98{bban}")).is_ok());
        assert_eq!(
            Iban::parse(&format!("DE01{bban}")),
            Err(IbanError::ChecksumMismatch)
        );
    }

    #[test]
    fn tables_are_consistent() {
        for pair in LENGTHS.windows(2) {
            assert!(pair[0].0 < pair[1].0);
        }
        for (country, length) in LENGTHS {
            assert!((15..=MAX_LENGTH).contains(length), "{country}");
            assert!(
                *country == "XK" || crate::country::CountryCode::parse(country).is_ok(),
                "{country}"
            );
        }
        for country in SEPA {
            assert!(expected_length(country).is_some(), "{country}");
        }
    }

    fn any_country() -> impl Strategy<Value = (&'static str, usize)> {
        proptest::sample::select(LENGTHS.to_vec())
    }

    proptest! {
        #[test]
        fn generated_ibans_validate((country, length) in any_country(), seed in "[0-9A-Z]{30}") {
            let bban = seed.get(..length - 4).unwrap();
            let text = with_check_digits(country, bban);
            let iban = Iban::parse(&text).unwrap();
            prop_assert_eq!(iban.as_str(), text.as_str());
            prop_assert_eq!(Iban::parse(&iban.to_paper_format()), Ok(iban));
        }

        #[test]
        fn single_substitution_is_detected(
            (country, length) in any_country(),
            seed in "[0-9A-Z]{30}",
            position in 4_usize..34,
            replacement_digit in 0_u8..10,
            replacement_letter in 0_u8..26,
        ) {
            // Same-class substitutions change the number by d·10^k with 0 < |d| < 97, which
            // mod 97 always detects (97 is prime). Letter↔digit swaps shift positions and are
            // only caught with probability 96/97, so they are not asserted here.
            let bban = seed.get(..length - 4).unwrap();
            let text = with_check_digits(country, bban);
            let position = position % text.len();
            prop_assume!(position >= 4);
            let mut changed = text.clone().into_bytes();
            let new_byte = if changed[position].is_ascii_digit() {
                b'0' + replacement_digit
            } else {
                b'A' + replacement_letter
            };
            prop_assume!(changed[position] != new_byte);
            changed[position] = new_byte;
            let changed = String::from_utf8(changed).unwrap();
            prop_assert_eq!(Iban::parse(&changed), Err(IbanError::ChecksumMismatch));
        }

        #[test]
        fn arbitrary_strings_never_panic(text in "\\PC{0,40}") {
            let _ = Iban::parse(&text);
        }
    }
}
