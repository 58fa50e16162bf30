//! The double-entry ledger's model, after TigerBeetle: one ledger per currency, accounts that
//! may be forbidden to go negative, and transfers that are pending (funds reserved) and then
//! posted or voided. Every posting moves one amount from a debit account to a credit account in
//! one currency, so each currency's postings sum to zero by construction.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::currency::Currency;
use crate::ids::TenantId;
use crate::money::{Money, MoneyError};
use crate::payments::quote::Quote;

/// The platform's own accounts, one of each per currency.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum PlatformAccount {
    /// Money arriving from outside (collections); its balance is what the platform owes out.
    Funding,
    /// The FX desk: takes the source currency in, gives the target currency out.
    Fx,
    /// Fees earned.
    Fees,
    /// Money handed to a payment rail for payout.
    Settlement,
}

impl PlatformAccount {
    fn as_str(&self) -> &'static str {
        match self {
            Self::Funding => "funding",
            Self::Fx => "fx",
            Self::Fees => "fees",
            Self::Settlement => "settlement",
        }
    }
}

/// A ledger account: a tenant's balance in one currency, or a platform account.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Account {
    Tenant(TenantId, Currency),
    Platform(PlatformAccount, Currency),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("not a ledger account code")]
pub struct InvalidAccountCode;

impl Account {
    pub fn currency(&self) -> Currency {
        match self {
            Account::Tenant(_, currency) | Account::Platform(_, currency) => *currency,
        }
    }

    /// A tenant's balance may never go negative: debits (posted and pending) must not exceed
    /// credits. Platform accounts may: they mirror money outside the system.
    pub fn debits_must_not_exceed_credits(&self) -> bool {
        matches!(self, Account::Tenant(..))
    }

    pub fn tenant(&self) -> Option<TenantId> {
        match self {
            Account::Tenant(tenant, _) => Some(*tenant),
            Account::Platform(..) => None,
        }
    }
}

/// Codes are stable text: `tenant:{uuid}:{CUR}` or `platform:{kind}:{CUR}`.
impl fmt::Display for Account {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Account::Tenant(tenant, currency) => write!(f, "tenant:{tenant}:{currency}"),
            Account::Platform(kind, currency) => {
                write!(f, "platform:{}:{currency}", kind.as_str())
            }
        }
    }
}

impl FromStr for Account {
    type Err = InvalidAccountCode;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let mut parts = s.split(':');
        let (Some(owner), Some(middle), Some(currency), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(InvalidAccountCode);
        };
        let currency: Currency = currency.parse().map_err(|_| InvalidAccountCode)?;
        match owner {
            "tenant" => Ok(Account::Tenant(
                middle.parse().map_err(|_| InvalidAccountCode)?,
                currency,
            )),
            "platform" => {
                let kind = match middle {
                    "funding" => PlatformAccount::Funding,
                    "fx" => PlatformAccount::Fx,
                    "fees" => PlatformAccount::Fees,
                    "settlement" => PlatformAccount::Settlement,
                    _ => return Err(InvalidAccountCode),
                };
                Ok(Account::Platform(kind, currency))
            }
            _ => Err(InvalidAccountCode),
        }
    }
}

/// One movement: `amount` leaves `debit` and arrives in `credit`, in the amount's currency.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Posting {
    pub debit: Account,
    pub credit: Account,
    pub amount: Money,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum PostingError {
    #[error("a posting's accounts and amount must share one currency")]
    CurrencyMismatch,
    #[error("a posting moves a positive amount")]
    NotPositive,
    #[error("a posting moves money between two different accounts")]
    SameAccount,
    #[error(transparent)]
    Money(#[from] MoneyError),
}

impl Posting {
    pub fn new(debit: Account, credit: Account, amount: Money) -> Result<Self, PostingError> {
        if debit.currency() != amount.currency() || credit.currency() != amount.currency() {
            return Err(PostingError::CurrencyMismatch);
        }
        if !amount.is_positive() {
            return Err(PostingError::NotPositive);
        }
        if debit == credit {
            return Err(PostingError::SameAccount);
        }
        Ok(Self {
            debit,
            credit,
            amount,
        })
    }
}

/// Money arriving for a tenant (a collection): funding → tenant.
pub fn funding(tenant: TenantId, amount: Money) -> Result<Posting, PostingError> {
    let currency = amount.currency();
    Posting::new(
        Account::Platform(PlatformAccount::Funding, currency),
        Account::Tenant(tenant, currency),
        amount,
    )
}

/// What a transfer reserves, and later posts or voids: the tenant pays source and fee, the FX
/// desk turns the source into the target, which goes to settlement for the rail to pay out.
pub fn transfer_postings(quote: &Quote) -> Result<Vec<Posting>, PostingError> {
    let p = &quote.pricing;
    let source = p.source.currency();
    let target = p.target.currency();
    let tenant = Account::Tenant(quote.tenant_id, source);
    let mut postings = vec![Posting::new(
        tenant,
        Account::Platform(PlatformAccount::Fx, source),
        p.source,
    )?];
    if p.fee.is_positive() {
        postings.push(Posting::new(
            tenant,
            Account::Platform(PlatformAccount::Fees, source),
            p.fee,
        )?);
    }
    postings.push(Posting::new(
        Account::Platform(PlatformAccount::Fx, target),
        Account::Platform(PlatformAccount::Settlement, target),
        p.target,
    )?);
    Ok(postings)
}

/// A returned payout undoes the principal (the fee stays earned): the reverse of the source and
/// target postings.
pub fn return_postings(quote: &Quote) -> Result<Vec<Posting>, PostingError> {
    let p = &quote.pricing;
    let source = p.source.currency();
    let target = p.target.currency();
    Ok(vec![
        Posting::new(
            Account::Platform(PlatformAccount::Settlement, target),
            Account::Platform(PlatformAccount::Fx, target),
            p.target,
        )?,
        Posting::new(
            Account::Platform(PlatformAccount::Fx, source),
            Account::Tenant(quote.tenant_id, source),
            p.source,
        )?,
    ])
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn account_codes_round_trip() {
        let tenant = TenantId::new();
        for account in [
            Account::Tenant(tenant, Currency::IDR),
            Account::Platform(PlatformAccount::Fx, Currency::EUR),
            Account::Platform(PlatformAccount::Settlement, Currency::GBP),
        ] {
            assert_eq!(account.to_string().parse::<Account>().unwrap(), account);
        }
        for bad in [
            "",
            "tenant:x:IDR",
            "platform:vault:EUR",
            "platform:fx:eur",
            "a:b:c:d",
        ] {
            assert!(bad.parse::<Account>().is_err(), "{bad}");
        }
    }

    #[test]
    fn postings_refuse_mixed_currencies_and_self_transfers() {
        let tenant = Account::Tenant(TenantId::new(), Currency::IDR);
        let fx_eur = Account::Platform(PlatformAccount::Fx, Currency::EUR);
        let idr = Money::from_minor(100, Currency::IDR);
        assert_eq!(
            Posting::new(tenant, fx_eur, idr),
            Err(PostingError::CurrencyMismatch)
        );
        assert_eq!(
            Posting::new(tenant, tenant, idr),
            Err(PostingError::SameAccount)
        );
        let zero = Money::zero(Currency::IDR);
        let fx_idr = Account::Platform(PlatformAccount::Fx, Currency::IDR);
        assert_eq!(
            Posting::new(tenant, fx_idr, zero),
            Err(PostingError::NotPositive)
        );
    }
}
