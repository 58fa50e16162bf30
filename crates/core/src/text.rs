//! Validated text fields: payment references, display names, Indonesian account details, BICs
//! and strict UUIDv4s.
//!
//! Nothing here trims, re-cases or normalises: input that is not already in the accepted form is
//! refused, so what we store is what the client sent. SQL or HTML fragments are accepted wherever
//! their characters are allowed: they are data, made harmless by parameterised queries and output
//! escaping, not by rejecting apostrophes in names.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use uuid::{Uuid, Variant};

use crate::country::CountryCode;

/// Why a string is not acceptable text. Messages never repeat the input.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum TextError {
    #[error("must not be empty")]
    Empty,
    #[error("must be at most {max} characters")]
    TooLong { max: usize },
    #[error("must be at least {min} characters")]
    TooShort { min: usize },
    #[error("must contain only printable ASCII characters (0x20-0x7E)")]
    NotPrintableAscii,
    #[error("must not contain control characters")]
    ControlCharacter,
    #[error("must not contain bidirectional override or isolate characters")]
    BidiControl,
    #[error("must not start or end with whitespace")]
    Untrimmed,
    #[error("must contain only digits 0-9")]
    NotDigits,
    #[error("{rule}")]
    InvalidFormat { rule: &'static str },
    #[error("is not an assigned country code")]
    UnknownCountry,
}

impl TextError {
    /// Stable machine-readable code (see `strict_json::codes`).
    pub fn code(&self) -> &'static str {
        match self {
            TextError::Empty | TextError::TooShort { .. } => "too_short",
            TextError::TooLong { .. } => "too_long",
            TextError::UnknownCountry => "unknown_value",
            TextError::NotPrintableAscii
            | TextError::ControlCharacter
            | TextError::BidiControl
            | TextError::Untrimmed
            | TextError::NotDigits
            | TextError::InvalidFormat { .. } => "invalid_format",
        }
    }
}

/// Bidirectional embedding/override (U+202A–U+202E) and isolate (U+2066–U+2069) controls: the
/// "Trojan Source" characters that make a name or reference display differently from its bytes.
fn is_bidi_control(character: char) -> bool {
    matches!(character, '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}')
}

/// Implements Display, FromStr, TryFrom<&str>, AsRef<str>, serde-as-string and `as_str` for a
/// newtype over `String` with an associated `parse`.
macro_rules! string_newtype_impls {
    ($type:ident) => {
        impl $type {
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl FromStr for $type {
            type Err = TextError;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                $type::parse(s)
            }
        }

        impl TryFrom<&str> for $type {
            type Error = TextError;
            fn try_from(s: &str) -> Result<Self, Self::Error> {
                $type::parse(s)
            }
        }

        impl AsRef<str> for $type {
            fn as_ref(&self) -> &str {
                &self.0
            }
        }

        impl fmt::Display for $type {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.pad(&self.0)
            }
        }

        impl Serialize for $type {
            fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                serializer.serialize_str(&self.0)
            }
        }

        impl<'de> Deserialize<'de> for $type {
            fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                let text = <std::borrow::Cow<'de, str>>::deserialize(deserializer)?;
                $type::parse(&text).map_err(serde::de::Error::custom)
            }
        }
    };
}

/// Free-text payment reference: at most 140 printable ASCII characters (0x20–0x7E), may be
/// empty. 140 is the spec's `max=140,printascii` and ISO 20022's `Max140Text` remittance line;
/// ASCII only because SEPA and SNAP counterparties mangle anything else.
#[derive(Clone, PartialEq, Eq, Hash, Default)]
pub struct Reference(String);

impl Reference {
    pub const MAX_CHARS: usize = 140;

    pub fn parse(text: &str) -> Result<Reference, TextError> {
        // Printable ASCII has one byte per character, so more bytes than the limit is too long
        // whatever they are: an O(1) refusal for 10 MB inputs.
        if text.len() > Self::MAX_CHARS {
            return Err(TextError::TooLong {
                max: Self::MAX_CHARS,
            });
        }
        if !text.bytes().all(|b| (0x20..=0x7E).contains(&b)) {
            return Err(TextError::NotPrintableAscii);
        }
        Ok(Reference(text.to_owned()))
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl fmt::Debug for Reference {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Reference({:?})", self.0)
    }
}

string_newtype_impls!(Reference);

/// Human-readable text of 1..=`MAX` characters (Unicode scalar values): no control characters
/// (which includes NUL, CR, LF, TAB), no bidi overrides/isolates, no leading or trailing
/// whitespace. Any script is allowed (names are international); NFC is not required.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct BoundedText<const MAX: usize>(String);

/// A person's or company's name as it appears on an account (ISO 20022 `Nm` is `Max140Text`).
/// Tier-2 personal data: Debug does not print it.
pub type Name = BoundedText<140>;

impl<const MAX: usize> BoundedText<MAX> {
    pub const MAX_CHARS: usize = MAX;

    pub fn parse(text: &str) -> Result<Self, TextError> {
        if text.is_empty() {
            return Err(TextError::Empty);
        }
        // A UTF-8 character is at most 4 bytes: anything longer than 4·MAX bytes is too long
        // without looking at it (10 MB inputs cost nothing).
        if text.len() > MAX.saturating_mul(4) {
            return Err(TextError::TooLong { max: MAX });
        }
        let mut count = 0_usize;
        for character in text.chars() {
            if character.is_control() {
                return Err(TextError::ControlCharacter);
            }
            if is_bidi_control(character) {
                return Err(TextError::BidiControl);
            }
            count += 1;
        }
        if count > MAX {
            return Err(TextError::TooLong { max: MAX });
        }
        if text.trim() != text {
            return Err(TextError::Untrimmed);
        }
        Ok(BoundedText(text.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl<const MAX: usize> fmt::Debug for BoundedText<MAX> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "BoundedText<{MAX}>(<{} chars>)", self.0.chars().count())
    }
}

impl<const MAX: usize> fmt::Display for BoundedText<MAX> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.pad(&self.0)
    }
}

impl<const MAX: usize> FromStr for BoundedText<MAX> {
    type Err = TextError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

impl<const MAX: usize> TryFrom<&str> for BoundedText<MAX> {
    type Error = TextError;
    fn try_from(s: &str) -> Result<Self, Self::Error> {
        Self::parse(s)
    }
}

impl<const MAX: usize> AsRef<str> for BoundedText<MAX> {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

impl<const MAX: usize> Serialize for BoundedText<MAX> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.0)
    }
}

impl<'de, const MAX: usize> Deserialize<'de> for BoundedText<MAX> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = <std::borrow::Cow<'de, str>>::deserialize(deserializer)?;
        Self::parse(&text).map_err(serde::de::Error::custom)
    }
}

/// Indonesian bank account number ("nomor rekening"): ASCII digits only, 5–20 long, leading zeros
/// kept (it is an identifier, not a number). Common lengths are 10 (BCA, BNI), 13 (Mandiri),
/// 15 (BRI) and 16 for virtual accounts; 5–20 leaves room for smaller banks without accepting
/// free text. Tier-1 data: Debug shows only the last four digits.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct IdnAccountNumber(String);

impl IdnAccountNumber {
    pub const MIN_DIGITS: usize = 5;
    pub const MAX_DIGITS: usize = 20;

    pub fn parse(text: &str) -> Result<IdnAccountNumber, TextError> {
        if text.is_empty() {
            return Err(TextError::Empty);
        }
        if !text.bytes().all(|b| b.is_ascii_digit()) {
            return Err(TextError::NotDigits);
        }
        if text.len() < Self::MIN_DIGITS {
            return Err(TextError::TooShort {
                min: Self::MIN_DIGITS,
            });
        }
        if text.len() > Self::MAX_DIGITS {
            return Err(TextError::TooLong {
                max: Self::MAX_DIGITS,
            });
        }
        Ok(IdnAccountNumber(text.to_owned()))
    }

    pub fn last4(&self) -> &str {
        self.0
            .get(self.0.len().saturating_sub(4)..)
            .unwrap_or_default()
    }
}

impl fmt::Debug for IdnAccountNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "IdnAccountNumber(…{})", self.last4())
    }
}

string_newtype_impls!(IdnAccountNumber);

/// Indonesian bank code: the 3-digit Bank Indonesia clearing code ("sandi bank", e.g. `014` BCA,
/// `008` Mandiri, `002` BRI, `009` BNI) that SKNBI/RTGS and most SNAP partners use as
/// `beneficiaryBankCode`. Where a counterparty wants a SWIFT/BI-FAST BIC instead, use [`Bic`]:
/// two types, so a field's schema says which one it means.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct IdnBankCode([u8; 3]);

impl IdnBankCode {
    pub fn parse(text: &str) -> Result<IdnBankCode, TextError> {
        let bytes: [u8; 3] = text
            .as_bytes()
            .try_into()
            .map_err(|_| TextError::InvalidFormat {
                rule: "must be exactly three digits (Bank Indonesia bank code)",
            })?;
        if !bytes.iter().all(u8::is_ascii_digit) {
            return Err(TextError::InvalidFormat {
                rule: "must be exactly three digits (Bank Indonesia bank code)",
            });
        }
        Ok(IdnBankCode(bytes))
    }

    pub fn as_str(&self) -> &str {
        // Three ASCII digits by construction.
        std::str::from_utf8(&self.0).unwrap_or_default()
    }
}

impl fmt::Debug for IdnBankCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "IdnBankCode({})", self.as_str())
    }
}

impl fmt::Display for IdnBankCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.pad(self.as_str())
    }
}

impl FromStr for IdnBankCode {
    type Err = TextError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        IdnBankCode::parse(s)
    }
}

impl Serialize for IdnBankCode {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for IdnBankCode {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = <std::borrow::Cow<'de, str>>::deserialize(deserializer)?;
        IdnBankCode::parse(&text).map_err(serde::de::Error::custom)
    }
}

/// Business Identifier Code (ISO 9362): 4 letters (institution), 2 letters (country), 2
/// alphanumerics (location), optionally 3 alphanumerics (branch). Upper case only. The country
/// must be an assigned ISO 3166 code, or XK (Kosovo), which SWIFT uses.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct Bic(String);

impl Bic {
    const RULE: &'static str = "must be a BIC: 4 letters, 2-letter country, 2 letters or digits, optional 3-character branch, upper case";

    pub fn parse(text: &str) -> Result<Bic, TextError> {
        let bytes = text.as_bytes();
        let invalid = TextError::InvalidFormat { rule: Self::RULE };
        if bytes.len() != 8 && bytes.len() != 11 {
            return Err(invalid);
        }
        let upper_alnum = |b: &u8| b.is_ascii_uppercase() || b.is_ascii_digit();
        let (letters, rest) = bytes.split_at(6);
        if !letters.iter().all(u8::is_ascii_uppercase) || !rest.iter().all(upper_alnum) {
            return Err(invalid);
        }
        let country = text.get(4..6).unwrap_or_default();
        if country != "XK" && CountryCode::parse(country).is_err() {
            return Err(TextError::UnknownCountry);
        }
        Ok(Bic(text.to_owned()))
    }

    pub fn institution(&self) -> &str {
        self.0.get(0..4).unwrap_or_default()
    }

    /// Country part; may be `XK`, so a string rather than a [`CountryCode`].
    pub fn country(&self) -> &str {
        self.0.get(4..6).unwrap_or_default()
    }

    pub fn location(&self) -> &str {
        self.0.get(6..8).unwrap_or_default()
    }

    /// Branch code if the BIC has 11 characters (`XXX` means the head office).
    pub fn branch(&self) -> Option<&str> {
        self.0.get(8..11)
    }

    /// SWIFT test-and-training BICs have `0` as the second location character.
    pub fn is_test(&self) -> bool {
        self.0.as_bytes().get(7) == Some(&b'0')
    }
}

impl fmt::Debug for Bic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Bic({})", self.0)
    }
}

string_newtype_impls!(Bic);

/// A UUID that is version 4 with the RFC 4122 variant, accepted only in the 36-character
/// hyphenated form (either case). The `uuid` crate also accepts braces, URNs and the 32-digit
/// form; we do not, so one value has one accepted spelling per case.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Uuid4(Uuid);

/// Why a string is not a UUIDv4. Messages never repeat the input.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum Uuid4Error {
    #[error("must be a hyphenated UUID (8-4-4-4-12 hexadecimal digits)")]
    InvalidFormat,
    #[error("must be a version 4 UUID with the RFC 4122 variant")]
    WrongVersion,
}

impl Uuid4Error {
    /// Stable machine-readable code (see `strict_json::codes`).
    pub fn code(&self) -> &'static str {
        "invalid_format"
    }
}

impl Uuid4 {
    pub fn parse(text: &str) -> Result<Uuid4, Uuid4Error> {
        let bytes = text.as_bytes();
        if bytes.len() != 36 {
            return Err(Uuid4Error::InvalidFormat);
        }
        let well_formed = bytes.iter().enumerate().all(|(index, byte)| match index {
            8 | 13 | 18 | 23 => *byte == b'-',
            _ => byte.is_ascii_hexdigit(),
        });
        if !well_formed {
            return Err(Uuid4Error::InvalidFormat);
        }
        let uuid = Uuid::try_parse(text).map_err(|_| Uuid4Error::InvalidFormat)?;
        Uuid4::try_from(uuid)
    }

    /// Generates a fresh random v4 UUID.
    pub fn new_random() -> Uuid4 {
        Uuid4(Uuid::new_v4())
    }

    pub fn as_uuid(&self) -> Uuid {
        self.0
    }
}

impl TryFrom<Uuid> for Uuid4 {
    type Error = Uuid4Error;
    fn try_from(uuid: Uuid) -> Result<Self, Self::Error> {
        if uuid.get_version_num() != 4 || uuid.get_variant() != Variant::RFC4122 {
            return Err(Uuid4Error::WrongVersion);
        }
        Ok(Uuid4(uuid))
    }
}

impl From<Uuid4> for Uuid {
    fn from(value: Uuid4) -> Uuid {
        value.0
    }
}

impl FromStr for Uuid4 {
    type Err = Uuid4Error;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Uuid4::parse(s)
    }
}

/// Lower-case hyphenated form.
impl fmt::Display for Uuid4 {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.0.hyphenated(), f)
    }
}

impl fmt::Debug for Uuid4 {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Uuid4({})", self.0.hyphenated())
    }
}

impl Serialize for Uuid4 {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Uuid4 {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = <std::borrow::Cow<'de, str>>::deserialize(deserializer)?;
        Uuid4::parse(&text).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn reference_rules() {
        let accepted = [
            "",
            "INV-2025-0001",
            "Invoice 42 / PO 7",
            "' OR 1=1; DROP TABLE transfers; --",
            "<script>alert(1)</script>",
            "~!@#$%^&*()_+{}|:\"<>?`-=[]\\;',./",
        ];
        for text in accepted {
            assert_eq!(Reference::parse(text).unwrap().as_str(), text);
        }
        assert!(Reference::parse(&"a".repeat(140)).is_ok());
        let rejected = [
            ("a".repeat(141), TextError::TooLong { max: 140 }),
            (
                "a".repeat(10 * 1024 * 1024),
                TextError::TooLong { max: 140 },
            ),
            ("caf\u{e9}".to_owned(), TextError::NotPrintableAscii),
            ("\u{430}bc".to_owned(), TextError::NotPrintableAscii), // Cyrillic а
            ("a\0b".to_owned(), TextError::NotPrintableAscii),
            ("a\nb".to_owned(), TextError::NotPrintableAscii),
            ("a\tb".to_owned(), TextError::NotPrintableAscii),
            ("\u{7f}".to_owned(), TextError::NotPrintableAscii),
            ("abc\u{202E}fed".to_owned(), TextError::NotPrintableAscii),
            ("é".repeat(100), TextError::TooLong { max: 140 }),
            ("é".repeat(70), TextError::NotPrintableAscii),
        ];
        for (text, expected) in rejected {
            assert_eq!(Reference::parse(&text), Err(expected));
        }
    }

    #[test]
    fn name_rules() {
        let accepted = [
            "Budi Santoso",
            "PT Maju Jaya Tbk.",
            "O'Brien & Söhne GmbH",
            "Иван Петров",
            "محمد",
            "李小龍",
            "Robert'); DROP TABLE students;--",
            "a",
        ];
        for text in accepted {
            assert_eq!(Name::parse(text).unwrap().as_str(), text);
        }
        assert!(Name::parse(&"é".repeat(140)).is_ok());
        let rejected = [
            (String::new(), TextError::Empty),
            ("é".repeat(141), TextError::TooLong { max: 140 }),
            (
                "a".repeat(10 * 1024 * 1024),
                TextError::TooLong { max: 140 },
            ),
            ("Budi\0".to_owned(), TextError::ControlCharacter),
            ("Budi\nSantoso".to_owned(), TextError::ControlCharacter),
            ("Budi\u{85}".to_owned(), TextError::ControlCharacter),
            ("Budi\u{1b}[31m".to_owned(), TextError::ControlCharacter),
            ("abc\u{202E}fed".to_owned(), TextError::BidiControl),
            ("\u{202A}x".to_owned(), TextError::BidiControl),
            ("x\u{2066}y\u{2069}".to_owned(), TextError::BidiControl),
            (" Budi".to_owned(), TextError::Untrimmed),
            ("Budi ".to_owned(), TextError::Untrimmed),
            ("Budi\u{3000}".to_owned(), TextError::Untrimmed),
            (" ".to_owned(), TextError::Untrimmed),
        ];
        for (text, expected) in rejected {
            assert_eq!(Name::parse(&text), Err(expected), "{text:?}");
        }
        assert_eq!(
            format!("{:?}", Name::parse("Budi").unwrap()),
            "BoundedText<140>(<4 chars>)"
        );
        assert_eq!(
            BoundedText::<3>::parse("abcd"),
            Err(TextError::TooLong { max: 3 })
        );
    }

    #[test]
    fn idn_account_number_rules() {
        for text in [
            "12345",
            "0123456789",
            "1234567890123",
            "12345678901234567890",
        ] {
            assert_eq!(IdnAccountNumber::parse(text).unwrap().as_str(), text);
        }
        let rejected = [
            ("", TextError::Empty),
            ("1234", TextError::TooShort { min: 5 }),
            ("123456789012345678901", TextError::TooLong { max: 20 }),
            ("123-456-7890", TextError::NotDigits),
            ("123 4567890", TextError::NotDigits),
            ("١٢٣٤٥٦٧", TextError::NotDigits),
            ("１２３４５６", TextError::NotDigits), // full-width digits
            ("12345\0", TextError::NotDigits),
        ];
        for (text, expected) in rejected {
            assert_eq!(IdnAccountNumber::parse(text), Err(expected), "{text:?}");
        }
        let account = IdnAccountNumber::parse("0123456789").unwrap();
        assert_eq!(account.last4(), "6789");
        assert_eq!(format!("{account:?}"), "IdnAccountNumber(…6789)");
    }

    #[test]
    fn idn_bank_code_rules() {
        assert_eq!(IdnBankCode::parse("014").unwrap().as_str(), "014");
        for text in ["14", "0144", "O14", "", "01a", "CENAIDJA"] {
            assert!(IdnBankCode::parse(text).is_err(), "{text:?}");
        }
    }

    #[test]
    fn bic_rules() {
        for text in [
            "CENAIDJA",
            "CENAIDJAXXX",
            "DEUTDEFF500",
            "NWBKGB2L",
            "BNINIDJA",
            "AAAAXK21",
        ] {
            assert_eq!(Bic::parse(text).unwrap().as_str(), text);
        }
        let bic = Bic::parse("DEUTDEFF500").unwrap();
        assert_eq!(bic.institution(), "DEUT");
        assert_eq!(bic.country(), "DE");
        assert_eq!(bic.location(), "FF");
        assert_eq!(bic.branch(), Some("500"));
        assert!(!bic.is_test());
        assert!(Bic::parse("DEUTDEF0").unwrap().is_test());
        let rejected = [
            "cenaidja",
            "CENAIDJ",
            "CENAIDJAX",
            "CENAIDJAXXXX",
            "CEN1IDJA",
            "CENA1DJA",
            "CENAIDJ-",
            "CENАIDJA", // Cyrillic А
            "",
        ];
        for text in rejected {
            assert!(
                matches!(Bic::parse(text), Err(TextError::InvalidFormat { .. })),
                "{text:?}"
            );
        }
        assert_eq!(Bic::parse("CENAUKJA"), Err(TextError::UnknownCountry));
    }

    #[test]
    fn uuid4_rules() {
        let lower = "0f8fad5b-d9cb-469f-a165-70867728950e";
        let upper = "0F8FAD5B-D9CB-469F-A165-70867728950E";
        assert_eq!(Uuid4::parse(lower).unwrap().to_string(), lower);
        assert_eq!(Uuid4::parse(upper).unwrap().to_string(), lower);
        let rejected = [
            ("", Uuid4Error::InvalidFormat),
            (
                "0f8fad5bd9cb469fa16570867728950e",
                Uuid4Error::InvalidFormat,
            ),
            (
                "{0f8fad5b-d9cb-469f-a165-70867728950e}",
                Uuid4Error::InvalidFormat,
            ),
            (
                "urn:uuid:0f8fad5b-d9cb-469f-a165-70867728950e",
                Uuid4Error::InvalidFormat,
            ),
            (
                " 0f8fad5b-d9cb-469f-a165-70867728950e",
                Uuid4Error::InvalidFormat,
            ),
            (
                "0f8fad5b-d9cb-469f-a165-70867728950g",
                Uuid4Error::InvalidFormat,
            ),
            (
                "0f8fad5b+d9cb-469f-a165-70867728950e",
                Uuid4Error::InvalidFormat,
            ),
            (
                "0f8fad5bd-9cb-469f-a165-70867728950e",
                Uuid4Error::InvalidFormat,
            ),
            // version 1, version 7, nil, max
            (
                "0f8fad5b-d9cb-169f-a165-70867728950e",
                Uuid4Error::WrongVersion,
            ),
            (
                "018f3c2e-7b1a-7cde-8f00-123456789abc",
                Uuid4Error::WrongVersion,
            ),
            (
                "00000000-0000-0000-0000-000000000000",
                Uuid4Error::WrongVersion,
            ),
            (
                "ffffffff-ffff-ffff-ffff-ffffffffffff",
                Uuid4Error::WrongVersion,
            ),
            // version 4 but the Microsoft (c) and NCS (0-7) variants
            (
                "0f8fad5b-d9cb-469f-c165-70867728950e",
                Uuid4Error::WrongVersion,
            ),
            (
                "0f8fad5b-d9cb-469f-7165-70867728950e",
                Uuid4Error::WrongVersion,
            ),
        ];
        for (text, expected) in rejected {
            assert_eq!(Uuid4::parse(text), Err(expected), "{text:?}");
        }
        let random = Uuid4::new_random();
        assert_eq!(Uuid4::parse(&random.to_string()), Ok(random));
    }

    #[test]
    fn serde_round_trips() {
        let reference: Reference = serde_json::from_str("\"INV-1\"").unwrap();
        assert_eq!(serde_json::to_string(&reference).unwrap(), "\"INV-1\"");
        assert!(serde_json::from_str::<Reference>("\"caf\\u00e9\"").is_err());
        assert!(serde_json::from_str::<Name>("\"\"").is_err());
        assert!(serde_json::from_str::<Uuid4>("42").is_err());
    }

    #[test]
    fn error_messages_do_not_echo_input() {
        let hostile = "<img src=x onerror=alert(1)>\u{202E}";
        for message in [
            Name::parse(hostile).unwrap_err().to_string(),
            Reference::parse(hostile).unwrap_err().to_string(),
            Bic::parse(hostile).unwrap_err().to_string(),
            Uuid4::parse(hostile).unwrap_err().to_string(),
        ] {
            assert!(!message.contains("img"), "{message}");
        }
    }

    proptest! {
        #[test]
        fn arbitrary_strings_never_panic(text in "\\PC{0,200}") {
            let _ = Reference::parse(&text);
            let _ = Name::parse(&text);
            let _ = IdnAccountNumber::parse(&text);
            let _ = IdnBankCode::parse(&text);
            let _ = Bic::parse(&text);
            let _ = Uuid4::parse(&text);
        }

        #[test]
        fn printable_ascii_references_are_kept(text in "[ -~]{0,140}") {
            let reference = Reference::parse(&text).unwrap();
            prop_assert_eq!(reference.as_str(), text.as_str());
        }
    }
}
