//! People: the staff (and later tenant users) who sign in with a login name and a password.
//!
//! Only the rules live here: what a login name may be, and what a new password must pass.
//! Hashing, second factors and sessions are elsewhere (`benteng_crypto::password`, `totp`).

use std::collections::HashSet;
use std::fmt;
use std::str::FromStr;
use std::sync::LazyLock;

use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use zeroize::Zeroizing;

/// Why a login name is refused. Messages never repeat the input.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum LoginNameError {
    #[error("login name must be at least 3 characters")]
    TooShort,
    #[error("login name must be at most 64 characters")]
    TooLong,
    #[error(
        "login name must be plain ASCII: letters from other scripts and full-width forms can imitate a-z"
    )]
    NotAscii,
    #[error("login name may contain only letters a-z, digits 0-9 and . _ @ + -")]
    InvalidCharacter,
    #[error("login name must start with a letter or a digit")]
    BadFirstCharacter,
}

/// What a person signs in with: 3–64 characters of `a-z 0-9 . _ @ + -`, starting with a letter
/// or digit, so an e-mail address fits. Surrounding spaces are dropped and upper case is folded,
/// so `Ana@Bank.example ` and `ana@bank.example` are one name.
///
/// ASCII only: a name in which a Cyrillic `а` stands for a Latin `a` cannot exist, so two names
/// that look alike on screen are always the same name.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct LoginName(String);

impl LoginName {
    pub const MIN_CHARS: usize = 3;
    pub const MAX_CHARS: usize = 64;

    pub fn parse(text: &str) -> Result<Self, LoginNameError> {
        let trimmed = text.trim_matches(|c: char| c.is_ascii_whitespace());
        // A character is at most four bytes, so more bytes than this is too many characters
        // whatever they are: refused before anything walks a huge input.
        if trimmed.len() > 4 * Self::MAX_CHARS {
            return Err(LoginNameError::TooLong);
        }
        if !trimmed.is_ascii() {
            return Err(LoginNameError::NotAscii);
        }
        // ASCII from here: one byte per character.
        if trimmed.len() < Self::MIN_CHARS {
            return Err(LoginNameError::TooShort);
        }
        if trimmed.len() > Self::MAX_CHARS {
            return Err(LoginNameError::TooLong);
        }
        let name = trimmed.to_ascii_lowercase();
        if !name.bytes().all(is_name_byte) {
            return Err(LoginNameError::InvalidCharacter);
        }
        if !name.starts_with(|c: char| c.is_ascii_alphanumeric()) {
            return Err(LoginNameError::BadFirstCharacter);
        }
        Ok(Self(name))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

fn is_name_byte(byte: u8) -> bool {
    byte.is_ascii_lowercase()
        || byte.is_ascii_digit()
        || matches!(byte, b'.' | b'_' | b'@' | b'+' | b'-')
}

impl FromStr for LoginName {
    type Err = LoginNameError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

impl TryFrom<&str> for LoginName {
    type Error = LoginNameError;

    fn try_from(s: &str) -> Result<Self, Self::Error> {
        Self::parse(s)
    }
}

impl AsRef<str> for LoginName {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for LoginName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.pad(&self.0)
    }
}

impl From<LoginName> for String {
    fn from(name: LoginName) -> Self {
        name.0
    }
}

impl Serialize for LoginName {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for LoginName {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = <std::borrow::Cow<'de, str>>::deserialize(deserializer)?;
        LoginName::parse(&text).map_err(serde::de::Error::custom)
    }
}

/// Why a new password is refused. Messages never repeat the input.
#[derive(Debug, thiserror::Error, PartialEq, Eq, Clone, Copy)]
pub enum PasswordRefusal {
    #[error("password must be at least 12 characters")]
    TooShort,
    #[error("password must be at most 128 characters")]
    TooLong,
    #[error("password is one of the most commonly used passwords")]
    Common,
    #[error("password must not contain the login name")]
    ContainsLoginName,
}

/// A password someone chose that passed the policy: 12–128 characters (characters, not bytes),
/// not a common password, not containing the login name. Any character is allowed, spaces
/// included, and nothing is trimmed: a passphrase is welcome, and what is hashed is what was
/// typed.
pub struct NewPassword(SecretString);

impl fmt::Debug for NewPassword {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("NewPassword(<redacted>)")
    }
}

impl NewPassword {
    pub const MIN_CHARS: usize = 12;
    pub const MAX_CHARS: usize = 128;

    pub fn parse(candidate: SecretString, login: &LoginName) -> Result<Self, PasswordRefusal> {
        let text = candidate.expose_secret();
        // Counting stops one past the limit, so a huge input costs no more than a long one.
        let chars = text.chars().take(Self::MAX_CHARS + 1).count();
        if chars < Self::MIN_CHARS {
            return Err(PasswordRefusal::TooShort);
        }
        if chars > Self::MAX_CHARS {
            return Err(PasswordRefusal::TooLong);
        }
        let folded = Zeroizing::new(text.to_lowercase());
        if folded.contains(login.as_str()) {
            return Err(PasswordRefusal::ContainsLoginName);
        }
        if COMMON_PASSWORDS.contains(folded.as_str()) {
            return Err(PasswordRefusal::Common);
        }
        Ok(Self(candidate))
    }

    pub fn secret(&self) -> &SecretString {
        &self.0
    }

    pub fn into_secret(self) -> SecretString {
        self.0
    }
}

/// The shipped list (`crates/core/data/common-passwords.txt`, lower case; its README says where
/// it comes from), built into a set on first use.
static COMMON_PASSWORDS: LazyLock<HashSet<&'static str>> = LazyLock::new(|| {
    include_str!("../data/common-passwords.txt")
        .lines()
        .filter(|line| !line.is_empty() && !line.starts_with('#'))
        .collect()
});

/// Whether `candidate`, ignoring case, is on the shipped list of common passwords.
pub fn is_common_password(candidate: &str) -> bool {
    let folded = Zeroizing::new(candidate.to_lowercase());
    COMMON_PASSWORDS.contains(folded.as_str())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn login(text: &str) -> LoginName {
        LoginName::parse(text).unwrap()
    }

    fn password(text: &str, name: &str) -> Result<NewPassword, PasswordRefusal> {
        NewPassword::parse(SecretString::from(text), &login(name))
    }

    #[test]
    fn login_names_that_are_accepted() {
        for (typed, stored) in [
            ("ana", "ana"),
            ("Ana.Maria", "ana.maria"),
            ("  ana@example.com\t", "ana@example.com"),
            ("OPS+alerts@Bank.co.id", "ops+alerts@bank.co.id"),
            ("a-b_c.d", "a-b_c.d"),
            ("007", "007"),
            ("9lives", "9lives"),
        ] {
            assert_eq!(
                LoginName::parse(typed).unwrap().as_str(),
                stored,
                "{typed:?}"
            );
        }
        let longest = "a".repeat(64);
        assert_eq!(login(&longest).as_str(), longest);
    }

    #[test]
    fn login_name_lengths() {
        for short in ["", "   ", "ab", " ab ", "\tx\n"] {
            assert_eq!(
                LoginName::parse(short),
                Err(LoginNameError::TooShort),
                "{short:?}"
            );
        }
        for long in ["a".repeat(65), "a".repeat(257), "a".repeat(1_000_000)] {
            assert_eq!(LoginName::parse(&long), Err(LoginNameError::TooLong));
        }
        // Overlong in any script is overlong, before its script is looked at.
        assert_eq!(
            LoginName::parse(&"а".repeat(200)),
            Err(LoginNameError::TooLong)
        );
    }

    #[test]
    fn confusables_and_other_scripts_are_refused() {
        for typed in [
            "аdmin",           // Cyrillic а (U+0430)
            "admіn",           // Cyrillic і (U+0456)
            "ａｄｍｉｎ",      // full-width
            "admin\u{200B}",   // zero-width space
            "admin\u{A0}",     // no-break space (not trimmed: ASCII whitespace only)
            "\u{202E}nimda",   // right-to-left override
            "adm\u{0131}n",    // dotless i
            "ädmin",           // Latin, but not ASCII
            "ana@exämple.com", // internationalised domain
            "\u{FEFF}admin",   // byte-order mark
            &"а".repeat(10),   // short enough to reach the script check
        ] {
            assert_eq!(
                LoginName::parse(typed),
                Err(LoginNameError::NotAscii),
                "{typed:?}"
            );
        }
    }

    #[test]
    fn bad_characters_are_refused() {
        for typed in [
            "ad min",
            "ad\tmin",
            "admin\u{0}",
            "ad\u{7}min",
            "admin\u{7F}",
            "admin!",
            "ad/min",
            "ad\\min",
            "ad'min",
            "ad\"min",
            "ad,min",
            "ad;min",
            "<admin>",
            "ad%min",
            "ad:min",
        ] {
            assert_eq!(
                LoginName::parse(typed),
                Err(LoginNameError::InvalidCharacter),
                "{typed:?}"
            );
        }
        for typed in [".admin", "-admin", "_admin", "@admin", "+admin"] {
            assert_eq!(
                LoginName::parse(typed),
                Err(LoginNameError::BadFirstCharacter),
                "{typed:?}"
            );
        }
    }

    #[test]
    fn login_name_serde_validates() {
        let name: LoginName = serde_json::from_str(r#"" Ana@Example.com""#).unwrap();
        assert_eq!(name.as_str(), "ana@example.com");
        assert_eq!(
            serde_json::to_string(&name).unwrap(),
            r#""ana@example.com""#
        );
        for bad in [r#""аdmin""#, r#""ab""#, r#""a b c""#, "42", "null"] {
            assert!(serde_json::from_str::<LoginName>(bad).is_err(), "{bad}");
        }
        let error = serde_json::from_str::<LoginName>(r#""аdmin""#).unwrap_err();
        assert!(!error.to_string().contains("аdmin"));
        assert_eq!("Ana".parse::<LoginName>().unwrap().to_string(), "ana");
    }

    #[test]
    fn password_lengths_count_characters() {
        assert_eq!(
            password("elevenchars", "ana").unwrap_err(),
            PasswordRefusal::TooShort
        );
        assert!(password("twelve chars", "ana").is_ok());
        assert!(password(&"x7".repeat(64), "ana").is_ok());
        assert_eq!(
            password(&format!("{}z", "x7".repeat(64)), "ana").unwrap_err(),
            PasswordRefusal::TooLong
        );
        // Multi-byte characters count once each: 11 two-byte letters are too short, 12 emoji
        // (48 bytes) are enough, 128 two-byte letters (256 bytes) fit and 129 do not.
        assert_eq!(
            password(&"é".repeat(11), "ana").unwrap_err(),
            PasswordRefusal::TooShort
        );
        assert!(password(&"😀".repeat(12), "ana").is_ok());
        assert!(password(&"é".repeat(128), "ana").is_ok());
        assert_eq!(
            password(&"é".repeat(129), "ana").unwrap_err(),
            PasswordRefusal::TooLong
        );
        assert_eq!(
            password(&"界".repeat(1_000_000), "ana").unwrap_err(),
            PasswordRefusal::TooLong
        );
        assert_eq!(password("", "ana").unwrap_err(), PasswordRefusal::TooShort);
    }

    #[test]
    fn common_passwords_are_refused_in_any_case() {
        for common in [
            "password1234",
            "PassWord1234",
            "QWERTY123456",
            "1Q2W3E4R5T6Y",
        ] {
            assert_eq!(
                password(common, "ana").unwrap_err(),
                PasswordRefusal::Common,
                "{common}"
            );
        }
        assert!(is_common_password("123456"));
        assert!(is_common_password("PASSWORD"));
        assert!(is_common_password("Dragon"));
        assert!(!is_common_password("vivid otter lamp 92"));
        assert!(!is_common_password(""));
        assert!(password("vivid otter lamp 92", "ana").is_ok());
    }

    #[test]
    fn the_shipped_list_is_loaded_whole() {
        assert!(COMMON_PASSWORDS.len() > 49_000);
        assert!(
            COMMON_PASSWORDS
                .iter()
                .all(|entry| !entry.is_empty() && *entry == entry.to_lowercase())
        );
        assert!(!COMMON_PASSWORDS.iter().any(|entry| entry.starts_with('#')));
    }

    #[test]
    fn passwords_containing_the_login_name_are_refused() {
        assert_eq!(
            password("xx-ANA.MARIA-2024-yy", "ana.maria").unwrap_err(),
            PasswordRefusal::ContainsLoginName
        );
        assert_eq!(
            password("ana@example.com!!", "Ana@Example.com").unwrap_err(),
            PasswordRefusal::ContainsLoginName
        );
        assert_eq!(
            password("my name is operator7", "operator7").unwrap_err(),
            PasswordRefusal::ContainsLoginName
        );
        assert!(password("maria the great 2024", "ana.maria").is_ok());
    }

    #[test]
    fn passwords_are_not_trimmed_or_altered() {
        let accepted = password("  spaced out passphrase  ", "ana").unwrap();
        assert_eq!(
            accepted.secret().expose_secret(),
            "  spaced out passphrase  "
        );
        assert_eq!(
            accepted.into_secret().expose_secret(),
            "  spaced out passphrase  "
        );
    }

    #[test]
    fn new_password_debug_is_redacted() {
        let accepted = password("correct horse battery", "ana").unwrap();
        assert_eq!(format!("{accepted:?}"), "NewPassword(<redacted>)");
    }
}
