//! Recipients: who a tenant pays, and where. Bank accounts and national ids are Tier 1 data:
//! their `Debug` is masked here, and storage keeps them encrypted.

use std::fmt;

use crate::country::CountryCode;
use crate::iban::Iban;
use crate::text::{BoundedText, IdnAccountNumber, IdnBankCode};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RecipientKind {
    Individual,
    Business,
}

impl RecipientKind {
    pub fn as_str(&self) -> &'static str {
        match self {
            RecipientKind::Individual => "individual",
            RecipientKind::Business => "business",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "individual" => Some(RecipientKind::Individual),
            "business" => Some(RecipientKind::Business),
            _ => None,
        }
    }
}

/// Text that is not a kind of party.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("must be individual or business")]
pub struct UnknownRecipientKind;

impl std::str::FromStr for RecipientKind {
    type Err = UnknownRecipientKind;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        Self::parse(text).ok_or(UnknownRecipientKind)
    }
}

/// Where the money goes: an IBAN (EU/UK) or an Indonesian account number at a bank.
#[derive(Clone, PartialEq, Eq)]
pub enum BankAccount {
    Iban(Iban),
    Indonesian {
        account_number: IdnAccountNumber,
        bank_code: IdnBankCode,
    },
}

impl BankAccount {
    /// The last four characters, the most that is ever shown.
    pub fn last4(&self) -> String {
        match self {
            BankAccount::Iban(iban) => iban.last4().to_owned(),
            BankAccount::Indonesian { account_number, .. } => account_number.last4().to_owned(),
        }
    }

    /// The canonical text form, for encryption and the blind index: `iban:…` or
    /// `idn:{bank code}:{account number}`.
    pub fn canonical(&self) -> String {
        match self {
            BankAccount::Iban(iban) => format!("iban:{}", iban.as_str()),
            BankAccount::Indonesian {
                account_number,
                bank_code,
            } => format!("idn:{}:{}", bank_code.as_str(), account_number.as_str()),
        }
    }

    pub fn from_canonical(text: &str) -> Option<Self> {
        if let Some(iban) = text.strip_prefix("iban:") {
            return Iban::parse(iban).ok().map(BankAccount::Iban);
        }
        let rest = text.strip_prefix("idn:")?;
        let (bank_code, account_number) = rest.split_once(':')?;
        Some(BankAccount::Indonesian {
            account_number: IdnAccountNumber::parse(account_number).ok()?,
            bank_code: IdnBankCode::parse(bank_code).ok()?,
        })
    }

    pub fn scheme(&self) -> &'static str {
        match self {
            BankAccount::Iban(_) => "iban",
            BankAccount::Indonesian { .. } => "idn",
        }
    }
}

impl fmt::Debug for BankAccount {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "BankAccount({} …{})", self.scheme(), self.last4())
    }
}

/// A postal address (Tier 2).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Address {
    pub line1: BoundedText<140>,
    pub line2: Option<BoundedText<140>>,
    pub city: BoundedText<70>,
    pub postal_code: Option<BoundedText<16>>,
    pub country: CountryCode,
}

/// A national identity number (Tier 1): NIK, passport, company registration.
pub type NationalId = BoundedText<64>;

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn bank_accounts_round_trip_and_never_debug_in_full() {
        let iban = BankAccount::Iban(Iban::parse("DE89370400440532013000").unwrap());
        let idn = BankAccount::Indonesian {
            account_number: IdnAccountNumber::parse("1234567890").unwrap(),
            bank_code: IdnBankCode::parse("014").unwrap(),
        };
        for account in [iban, idn] {
            let text = account.canonical();
            assert_eq!(BankAccount::from_canonical(&text).unwrap(), account);
            let debug = format!("{account:?}");
            assert!(
                !debug.contains("0532013") && !debug.contains("123456"),
                "{debug}"
            );
        }
        assert!(BankAccount::from_canonical("iban:XX00").is_none());
        assert!(BankAccount::from_canonical("idn:14:123").is_none());
    }
}
