//! People who sign in: their login names and the password policy.

use std::collections::HashSet;
use std::fmt;
use std::str::FromStr;
use std::sync::LazyLock;

use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};

/// A login name: ASCII only (which rules out Unicode confusables by construction), lowercased,
/// trimmed, 3–64 characters of `[a-z0-9._@+-]`, starting with a letter or digit.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct LoginName(String);

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum LoginNameError {
    #[error("a login name is 3 to 64 characters")]
    Length,
    #[error("a login name is plain ASCII letters, digits and . _ @ + -")]
    Characters,
    #[error("a login name starts with a letter or a digit")]
    Start,
}

impl FromStr for LoginName {
    type Err = LoginNameError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let trimmed = text.trim();
        if !trimmed.is_ascii() {
            return Err(LoginNameError::Characters);
        }
        if !(3..=64).contains(&trimmed.len()) {
            return Err(LoginNameError::Length);
        }
        let lower = trimmed.to_ascii_lowercase();
        if !lower
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b"._@+-".contains(&b))
        {
            return Err(LoginNameError::Characters);
        }
        if !lower
            .bytes()
            .next()
            .is_some_and(|b| b.is_ascii_alphanumeric())
        {
            return Err(LoginNameError::Start);
        }
        Ok(Self(lower))
    }
}

impl TryFrom<String> for LoginName {
    type Error = LoginNameError;

    fn try_from(value: String) -> Result<Self, Self::Error> {
        value.parse()
    }
}

impl From<LoginName> for String {
    fn from(name: LoginName) -> Self {
        name.0
    }
}

impl AsRef<str> for LoginName {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for LoginName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Why a new password was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum PasswordRefusal {
    #[error("a password is at least 12 characters")]
    TooShort,
    #[error("a password is at most 128 characters")]
    TooLong,
    #[error("this password is on the list of common and breached passwords")]
    Common,
    #[error("a password must not contain the login name")]
    ContainsLoginName,
}

/// A new password that passed the policy.
pub struct NewPassword(SecretString);

impl NewPassword {
    pub fn parse(candidate: SecretString, login: &LoginName) -> Result<Self, PasswordRefusal> {
        let text = candidate.expose_secret();
        let length = text.chars().count();
        if length < 12 {
            return Err(PasswordRefusal::TooShort);
        }
        if length > 128 {
            return Err(PasswordRefusal::TooLong);
        }
        if is_common_password(text) {
            return Err(PasswordRefusal::Common);
        }
        if text.to_lowercase().contains(login.as_ref()) {
            return Err(PasswordRefusal::ContainsLoginName);
        }
        Ok(Self(candidate))
    }

    pub fn secret(&self) -> &SecretString {
        &self.0
    }
}

static COMMON: LazyLock<HashSet<&'static str>> = LazyLock::new(|| {
    include_str!("../data/common-passwords.txt")
        .lines()
        .map(str::trim)
        .filter(|line| !line.is_empty() && !line.starts_with('#'))
        .collect()
});

/// Whether `candidate` (compared case-insensitively) is on the shipped list.
pub fn is_common_password(candidate: &str) -> bool {
    COMMON.contains(candidate.to_lowercase().as_str())
}
