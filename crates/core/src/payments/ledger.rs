//! The double-entry ledger's model, after TigerBeetle: one ledger per currency, accounts that
//! may be forbidden to go negative, and transfers that are pending (funds reserved) and then
//! posted or voided. Every posting moves one amount from a debit account to a credit account in
//! one currency, so each currency's postings sum to zero by construction.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::api_key::KeyEnvironment;
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

/// A ledger account: a tenant's balance in one currency, or a platform account, in the live
/// books or the test books. Test money (`sk_test_` keys) has accounts of its own, tenant and
/// platform alike, so it never meets live money: no posting can join the two.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Account {
    Tenant(TenantId, Currency, KeyEnvironment),
    Platform(PlatformAccount, Currency, KeyEnvironment),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("not a ledger account code")]
pub struct InvalidAccountCode;

impl Account {
    pub fn currency(&self) -> Currency {
        match self {
            Account::Tenant(_, currency, _) | Account::Platform(_, currency, _) => *currency,
        }
    }

    /// The books the account is in.
    pub fn environment(&self) -> KeyEnvironment {
        match self {
            Account::Tenant(_, _, environment) | Account::Platform(_, _, environment) => {
                *environment
            }
        }
    }

    /// A tenant's balance may never go negative: debits (posted and pending) must not exceed
    /// credits. Platform accounts may: they mirror money outside the system.
    pub fn debits_must_not_exceed_credits(&self) -> bool {
        matches!(self, Account::Tenant(..))
    }

    pub fn tenant(&self) -> Option<TenantId> {
        match self {
            Account::Tenant(tenant, _, _) => Some(*tenant),
            Account::Platform(..) => None,
        }
    }
}

/// Codes are stable text: `tenant:{uuid}:{CUR}` or `platform:{kind}:{CUR}` in the live books,
/// the same behind `test:` in the test books.
impl fmt::Display for Account {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.environment() == KeyEnvironment::Test {
            f.write_str(TEST_PREFIX)?;
        }
        match self {
            Account::Tenant(tenant, currency, _) => write!(f, "tenant:{tenant}:{currency}"),
            Account::Platform(kind, currency, _) => {
                write!(f, "platform:{}:{currency}", kind.as_str())
            }
        }
    }
}

const TEST_PREFIX: &str = "test:";

impl FromStr for Account {
    type Err = InvalidAccountCode;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let (environment, s) = match s.strip_prefix(TEST_PREFIX) {
            Some(rest) => (KeyEnvironment::Test, rest),
            None => (KeyEnvironment::Live, s),
        };
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
                environment,
            )),
            "platform" => {
                let kind = match middle {
                    "funding" => PlatformAccount::Funding,
                    "fx" => PlatformAccount::Fx,
                    "fees" => PlatformAccount::Fees,
                    "settlement" => PlatformAccount::Settlement,
                    _ => return Err(InvalidAccountCode),
                };
                Ok(Account::Platform(kind, currency, environment))
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
    #[error("a posting stays within the live books or within the test books")]
    EnvironmentMismatch,
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
        if debit.environment() != credit.environment() {
            return Err(PostingError::EnvironmentMismatch);
        }
        Ok(Self {
            debit,
            credit,
            amount,
        })
    }
}

/// Money arriving for a tenant (a collection): funding → tenant, in one environment's books.
pub fn funding(
    tenant: TenantId,
    environment: KeyEnvironment,
    amount: Money,
) -> Result<Posting, PostingError> {
    let currency = amount.currency();
    Posting::new(
        Account::Platform(PlatformAccount::Funding, currency, environment),
        Account::Tenant(tenant, currency, environment),
        amount,
    )
}

/// What a transfer reserves, and later posts or voids: the tenant pays source and fee, the FX
/// desk turns the source into the target, which goes to settlement for the rail to pay out.
pub fn transfer_postings(quote: &Quote) -> Result<Vec<Posting>, PostingError> {
    let p = &quote.pricing;
    let source = p.source.currency();
    let target = p.target.currency();
    let platform = |kind, currency| Account::Platform(kind, currency, quote.environment);
    let tenant = Account::Tenant(quote.tenant_id, source, quote.environment);
    let mut postings = vec![Posting::new(
        tenant,
        platform(PlatformAccount::Fx, source),
        p.source,
    )?];
    if p.fee.is_positive() {
        postings.push(Posting::new(
            tenant,
            platform(PlatformAccount::Fees, source),
            p.fee,
        )?);
    }
    postings.push(Posting::new(
        platform(PlatformAccount::Fx, target),
        platform(PlatformAccount::Settlement, target),
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
    let platform = |kind, currency| Account::Platform(kind, currency, quote.environment);
    Ok(vec![
        Posting::new(
            platform(PlatformAccount::Settlement, target),
            platform(PlatformAccount::Fx, target),
            p.target,
        )?,
        Posting::new(
            platform(PlatformAccount::Fx, source),
            Account::Tenant(quote.tenant_id, source, quote.environment),
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
        let (live, test) = (KeyEnvironment::Live, KeyEnvironment::Test);
        for account in [
            Account::Tenant(tenant, Currency::IDR, live),
            Account::Platform(PlatformAccount::Fx, Currency::EUR, live),
            Account::Platform(PlatformAccount::Settlement, Currency::GBP, live),
            Account::Tenant(tenant, Currency::IDR, test),
            Account::Platform(PlatformAccount::Fees, Currency::IDR, test),
        ] {
            assert_eq!(account.to_string().parse::<Account>().unwrap(), account);
        }
        assert_eq!(
            Account::Tenant(tenant, Currency::IDR, live).to_string(),
            format!("tenant:{tenant}:IDR"),
            "live codes are unchanged"
        );
        assert_eq!(
            Account::Platform(PlatformAccount::Fx, Currency::EUR, test).to_string(),
            "test:platform:fx:EUR"
        );
        for bad in [
            "",
            "tenant:x:IDR",
            "platform:vault:EUR",
            "platform:fx:eur",
            "a:b:c:d",
            "test:test:platform:fx:EUR",
            "live:platform:fx:EUR",
        ] {
            assert!(bad.parse::<Account>().is_err(), "{bad}");
        }
    }

    #[test]
    fn postings_refuse_mixed_currencies_and_self_transfers() {
        let live = KeyEnvironment::Live;
        let tenant = Account::Tenant(TenantId::new(), Currency::IDR, live);
        let fx_eur = Account::Platform(PlatformAccount::Fx, Currency::EUR, live);
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
        let fx_idr = Account::Platform(PlatformAccount::Fx, Currency::IDR, live);
        let test_fx_idr =
            Account::Platform(PlatformAccount::Fx, Currency::IDR, KeyEnvironment::Test);
        assert_eq!(
            Posting::new(tenant, test_fx_idr, idr),
            Err(PostingError::EnvironmentMismatch),
            "live money never moves into the test books"
        );
        assert_eq!(
            Posting::new(tenant, fx_idr, zero),
            Err(PostingError::NotPositive)
        );
    }
}
