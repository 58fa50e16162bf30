//! The SEPA Latin character set (EPC "basic Latin" set), which every name, address line and
//! reference in an outgoing message is restricted to:
//!
//! ```text
//! a-z A-Z 0-9 / - ? : ( ) . , ' + space
//! ```
//!
//! Text outside the set is transliterated where there is one obvious Latin spelling (accented
//! letters lose the accent, `ß` → `ss`, `Æ` → `AE`, typographic quotes and dashes become `'` and
//! `-`, `&` becomes `+`), and refused otherwise, naming the field and the code point, never the
//! text itself (names are personal data).

use std::fmt;

/// Why a text field cannot go into a message.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CharsetError {
    #[error("{field}: must not be empty")]
    Empty { field: &'static str },
    #[error("{field}: must be at most {max} characters after transliteration")]
    TooLong { field: &'static str, max: usize },
    #[error(
        "{field}: character {code_point} (position {position}) is outside the SEPA Latin set and has no transliteration"
    )]
    Unsupported {
        field: &'static str,
        code_point: CodePoint,
        position: usize,
    },
}

/// A character named by its code point (`U+4E2D`), so errors never echo the text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CodePoint(pub char);

impl fmt::Display for CodePoint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "U+{:04X}", u32::from(self.0))
    }
}

/// Whether `c` is in the SEPA basic Latin set.
pub fn is_sepa_latin(c: char) -> bool {
    c.is_ascii_alphanumeric()
        || matches!(
            c,
            '/' | '-' | '?' | ':' | '(' | ')' | '.' | ',' | '\'' | '+' | ' '
        )
}

/// Text that holds only SEPA Latin characters, between 1 and its field's maximum length.
#[derive(Clone, PartialEq, Eq)]
pub struct SepaText(String);

impl SepaText {
    /// Transliterates `input` into the SEPA Latin set, or refuses it naming `field`. Leading and
    /// trailing spaces are trimmed and runs of spaces collapse to one (the schemas' `Max…Text`
    /// types count them, and banks strip them anyway).
    pub fn transliterate(
        field: &'static str,
        input: &str,
        max: usize,
    ) -> Result<Self, CharsetError> {
        let mut out = String::with_capacity(input.len());
        for (position, c) in input.chars().enumerate() {
            if is_sepa_latin(c) {
                if c == ' ' && (out.is_empty() || out.ends_with(' ')) {
                    continue;
                }
                out.push(c);
            } else if let Some(replacement) = transliterate_char(c) {
                out.push_str(replacement);
            } else {
                return Err(CharsetError::Unsupported {
                    field,
                    code_point: CodePoint(c),
                    position: position + 1,
                });
            }
        }
        let trimmed = out.trim_end().to_owned();
        if trimmed.is_empty() {
            return Err(CharsetError::Empty { field });
        }
        if trimmed.chars().count() > max {
            return Err(CharsetError::TooLong { field, max });
        }
        Ok(SepaText(trimmed))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for SepaText {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SepaText({} chars)", self.0.chars().count())
    }
}

/// The one Latin spelling of a character outside the set, if there is one.
fn transliterate_char(c: char) -> Option<&'static str> {
    Some(match c {
        'À'..='Å' | 'Ā' | 'Ă' | 'Ą' => "A",
        'à'..='å' | 'ā' | 'ă' | 'ą' => "a",
        'Æ' => "AE",
        'æ' => "ae",
        'Ç' | 'Ć' | 'Ĉ' | 'Ċ' | 'Č' => "C",
        'ç' | 'ć' | 'ĉ' | 'ċ' | 'č' => "c",
        'Ď' | 'Đ' | 'Ð' => "D",
        'ď' | 'đ' | 'ð' => "d",
        'È'..='Ë' | 'Ē' | 'Ĕ' | 'Ė' | 'Ę' | 'Ě' => "E",
        'è'..='ë' | 'ē' | 'ĕ' | 'ė' | 'ę' | 'ě' => "e",
        'Ĝ' | 'Ğ' | 'Ġ' | 'Ģ' => "G",
        'ĝ' | 'ğ' | 'ġ' | 'ģ' => "g",
        'Ĥ' | 'Ħ' => "H",
        'ĥ' | 'ħ' => "h",
        'Ì'..='Ï' | 'Ĩ' | 'Ī' | 'Ĭ' | 'Į' | 'İ' => "I",
        'ì'..='ï' | 'ĩ' | 'ī' | 'ĭ' | 'į' | 'ı' => "i",
        'Ĵ' => "J",
        'ĵ' => "j",
        'Ķ' => "K",
        'ķ' => "k",
        'Ĺ' | 'Ļ' | 'Ľ' | 'Ŀ' | 'Ł' => "L",
        'ĺ' | 'ļ' | 'ľ' | 'ŀ' | 'ł' => "l",
        'Ñ' | 'Ń' | 'Ņ' | 'Ň' => "N",
        'ñ' | 'ń' | 'ņ' | 'ň' => "n",
        'Ò'..='Ö' | 'Ø' | 'Ō' | 'Ŏ' | 'Ő' => "O",
        'ò'..='ö' | 'ø' | 'ō' | 'ŏ' | 'ő' => "o",
        'Œ' => "OE",
        'œ' => "oe",
        'Ŕ' | 'Ŗ' | 'Ř' => "R",
        'ŕ' | 'ŗ' | 'ř' => "r",
        'Ś' | 'Ŝ' | 'Ş' | 'Š' | 'Ș' => "S",
        'ś' | 'ŝ' | 'ş' | 'š' | 'ș' => "s",
        'ß' => "ss",
        'Ţ' | 'Ť' | 'Ŧ' | 'Ț' => "T",
        'ţ' | 'ť' | 'ŧ' | 'ț' => "t",
        'Þ' => "TH",
        'þ' => "th",
        'Ù'..='Ü' | 'Ũ' | 'Ū' | 'Ŭ' | 'Ů' | 'Ű' | 'Ų' => "U",
        'ù'..='ü' | 'ũ' | 'ū' | 'ŭ' | 'ů' | 'ű' | 'ų' => "u",
        'Ŵ' => "W",
        'ŵ' => "w",
        'Ý' | 'Ŷ' | 'Ÿ' => "Y",
        'ý' | 'ÿ' | 'ŷ' => "y",
        'Ź' | 'Ż' | 'Ž' => "Z",
        'ź' | 'ż' | 'ž' => "z",
        '\u{2018}' | '\u{2019}' | '`' | '\u{B4}' => "'",
        '\u{2010}' | '\u{2011}' | '\u{2013}' | '\u{2014}' => "-",
        '&' => "+",
        _ => return None,
    })
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn keeps_the_set_and_transliterates_latin_letters() {
        let text = SepaText::transliterate("name", "Müller & Söhne GmbH", 140).unwrap();
        assert_eq!(text.as_str(), "Muller + Sohne GmbH");
        let text = SepaText::transliterate("name", "Straße  Łódź Ærø", 140).unwrap();
        assert_eq!(text.as_str(), "Strasse Lodz AEro");
        let text = SepaText::transliterate("ref", "INV-2026/07 (a,b) 'x' +y?:", 140).unwrap();
        assert_eq!(text.as_str(), "INV-2026/07 (a,b) 'x' +y?:");
    }

    #[test]
    fn refuses_characters_without_a_latin_spelling_by_name() {
        let err = SepaText::transliterate("creditor name", "李 Wei", 140).unwrap_err();
        assert_eq!(
            err.to_string(),
            "creditor name: character U+674E (position 1) is outside the SEPA Latin set and has no transliteration"
        );
        for bad in [
            "a_b",
            "a@b",
            "a\"b",
            "a<b",
            "a\nb",
            "a\u{202E}b",
            "a;b",
            "a!b",
        ] {
            assert!(
                matches!(
                    SepaText::transliterate("f", bad, 140),
                    Err(CharsetError::Unsupported { .. })
                ),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn length_counts_after_transliteration() {
        assert!(SepaText::transliterate("f", "ßßß", 5).is_err());
        assert!(SepaText::transliterate("f", "ßß", 4).is_ok());
        assert_eq!(
            SepaText::transliterate("f", "   ", 4),
            Err(CharsetError::Empty { field: "f" })
        );
    }
}
