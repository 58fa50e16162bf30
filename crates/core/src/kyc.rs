//! KYC levels (DECISIONS.md, Compliance): ceilings on a tenant's rolling 30-day volume in US
//! dollars, each reached with the evidence the spec's table names. Rate tiers are another thing.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// The length of the rolling window a KYC ceiling applies to.
pub const VOLUME_WINDOW: time::Duration = time::Duration::days(30);

/// The share of a ceiling at which the tenant is told it is approaching it, in percent.
pub const APPROACHING_PERCENT: i64 = 80;

/// How far a tenant has been verified. A tenant starts at `None` and moves no live money until
/// it reaches `Basic`.
#[derive(
    Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize,
)]
#[serde(rename_all = "lowercase")]
pub enum KycLevel {
    #[default]
    None,
    Basic,
    Standard,
    Enhanced,
}

/// One piece of evidence a level requires (the spec's KYC table).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum KycItem {
    Email,
    Phone,
    BusinessRegistration,
    GovernmentId,
    AddressProof,
    BusinessLicence,
    BeneficialOwners,
    SourceOfFunds,
    BankStatements,
    OnSiteVisit,
}

impl KycLevel {
    pub const ALL: [KycLevel; 4] = [
        KycLevel::None,
        KycLevel::Basic,
        KycLevel::Standard,
        KycLevel::Enhanced,
    ];

    pub const fn as_str(self) -> &'static str {
        match self {
            KycLevel::None => "none",
            KycLevel::Basic => "basic",
            KycLevel::Standard => "standard",
            KycLevel::Enhanced => "enhanced",
        }
    }

    /// The most the tenant may send in any 30 days, in US cents; `None` has no ceiling.
    pub const fn ceiling_usd_cents(self) -> Option<i64> {
        match self {
            KycLevel::None => Some(0),
            KycLevel::Basic => Some(100_000),
            KycLevel::Standard => Some(5_000_000),
            KycLevel::Enhanced => None,
        }
    }

    /// The level above this one.
    pub const fn next(self) -> Option<KycLevel> {
        match self {
            KycLevel::None => Some(KycLevel::Basic),
            KycLevel::Basic => Some(KycLevel::Standard),
            KycLevel::Standard => Some(KycLevel::Enhanced),
            KycLevel::Enhanced => None,
        }
    }

    /// The evidence this level adds to the one below (the spec's table, row by row).
    pub const fn adds(self) -> &'static [KycItem] {
        match self {
            KycLevel::None => &[],
            KycLevel::Basic => &[
                KycItem::Email,
                KycItem::Phone,
                KycItem::BusinessRegistration,
            ],
            KycLevel::Standard => &[
                KycItem::GovernmentId,
                KycItem::AddressProof,
                KycItem::BusinessLicence,
                KycItem::BeneficialOwners,
            ],
            KycLevel::Enhanced => &[
                KycItem::SourceOfFunds,
                KycItem::BankStatements,
                KycItem::OnSiteVisit,
            ],
        }
    }

    /// Every item this level requires, its own and those of the levels below.
    pub fn requires(self) -> Vec<KycItem> {
        KycLevel::ALL
            .into_iter()
            .filter(|level| *level <= self)
            .flat_map(|level| level.adds().iter().copied())
            .collect()
    }
}

impl fmt::Display for KycLevel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.pad(self.as_str())
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown KYC level {0:?}: expected none, basic, standard or enhanced")]
pub struct UnknownKycLevel(pub String);

impl FromStr for KycLevel {
    type Err = UnknownKycLevel;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        KycLevel::ALL
            .into_iter()
            .find(|level| level.as_str() == s)
            .ok_or_else(|| UnknownKycLevel(s.chars().take(32).collect()))
    }
}

impl KycItem {
    pub const ALL: [KycItem; 10] = [
        KycItem::Email,
        KycItem::Phone,
        KycItem::BusinessRegistration,
        KycItem::GovernmentId,
        KycItem::AddressProof,
        KycItem::BusinessLicence,
        KycItem::BeneficialOwners,
        KycItem::SourceOfFunds,
        KycItem::BankStatements,
        KycItem::OnSiteVisit,
    ];

    pub const fn as_str(self) -> &'static str {
        match self {
            KycItem::Email => "email",
            KycItem::Phone => "phone",
            KycItem::BusinessRegistration => "business_registration",
            KycItem::GovernmentId => "government_id",
            KycItem::AddressProof => "address_proof",
            KycItem::BusinessLicence => "business_licence",
            KycItem::BeneficialOwners => "beneficial_owners",
            KycItem::SourceOfFunds => "source_of_funds",
            KycItem::BankStatements => "bank_statements",
            KycItem::OnSiteVisit => "on_site_visit",
        }
    }

    /// The level that first requires this item.
    pub fn level(self) -> KycLevel {
        KycLevel::ALL
            .into_iter()
            .find(|level| level.adds().contains(&self))
            .unwrap_or(KycLevel::Enhanced)
    }
}

impl fmt::Display for KycItem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.pad(self.as_str())
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown KYC item {0:?}")]
pub struct UnknownKycItem(pub String);

impl FromStr for KycItem {
    type Err = UnknownKycItem;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        KycItem::ALL
            .into_iter()
            .find(|item| item.as_str() == s)
            .ok_or_else(|| UnknownKycItem(s.chars().take(32).collect()))
    }
}

/// Where a tenant stands: its level and the items verified so far.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct KycStanding {
    pub level: KycLevel,
    pub verified: Vec<KycItem>,
}

impl KycStanding {
    /// The items of the next level up that are not verified yet.
    pub fn missing_for_next(&self) -> Vec<KycItem> {
        let Some(next) = self.level.next() else {
            return Vec::new();
        };
        next.requires()
            .into_iter()
            .filter(|item| !self.verified.contains(item))
            .collect()
    }
}

/// What the ceiling says of one more transfer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CeilingCheck {
    /// Within the ceiling; `approaching` when this transfer takes the tenant to 80 % of it or
    /// beyond for the first time in the window.
    Within { approaching: bool },
    /// The transfer would take the tenant over its level's ceiling.
    Over {
        level: KycLevel,
        ceiling_usd_cents: i64,
        used_usd_cents: i64,
        missing: Vec<KycItem>,
    },
}

/// Checks a transfer of `amount_usd_cents` against the tenant's ceiling, given what it sent in
/// the last 30 days.
pub fn check_ceiling(
    standing: &KycStanding,
    used_usd_cents: i64,
    amount_usd_cents: i64,
) -> CeilingCheck {
    let Some(ceiling) = standing.level.ceiling_usd_cents() else {
        return CeilingCheck::Within { approaching: false };
    };
    let after = used_usd_cents.saturating_add(amount_usd_cents);
    if after > ceiling {
        return CeilingCheck::Over {
            level: standing.level,
            ceiling_usd_cents: ceiling,
            used_usd_cents,
            missing: standing.missing_for_next(),
        };
    }
    let mark = ceiling.saturating_mul(APPROACHING_PERCENT) / 100;
    CeilingCheck::Within {
        approaching: ceiling > 0 && used_usd_cents < mark && after >= mark,
    }
}

// The document checks are shared with case attachments; KYC accepts `DocumentType::KYC`.
pub use crate::documents::{DocumentRefusal, DocumentType};

/// The default cap on one KYC document, in bytes (`kyc.max_document_bytes`).
pub const DEFAULT_MAX_DOCUMENT_BYTES: usize = 10 * 1024 * 1024;

/// A beneficial owner as the tenant declares it, screened like a tenant.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BeneficialOwner {
    pub name: String,
    /// `YYYY-MM-DD`.
    pub date_of_birth: String,
    /// ISO 3166-1 alpha-2.
    pub country: String,
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;

    fn standing(level: KycLevel, verified: &[KycItem]) -> KycStanding {
        KycStanding {
            level,
            verified: verified.to_vec(),
        }
    }

    #[test]
    fn levels_and_items_round_trip_their_names() {
        for level in KycLevel::ALL {
            assert_eq!(level.as_str().parse::<KycLevel>(), Ok(level));
        }
        for item in KycItem::ALL {
            assert_eq!(item.as_str().parse::<KycItem>(), Ok(item));
        }
        assert!("gold".parse::<KycLevel>().is_err());
        assert!("passport".parse::<KycItem>().is_err());
    }

    #[test]
    fn each_level_requires_the_items_of_those_below() {
        assert_eq!(KycLevel::None.requires(), Vec::<KycItem>::new());
        assert_eq!(KycLevel::Basic.requires().len(), 3);
        assert_eq!(KycLevel::Standard.requires().len(), 7);
        assert_eq!(KycLevel::Enhanced.requires(), KycItem::ALL.to_vec());
        assert_eq!(KycItem::BeneficialOwners.level(), KycLevel::Standard);
    }

    #[test]
    fn basic_tenant_crossing_one_thousand_dollars_is_over_with_the_missing_items() {
        let basic = standing(
            KycLevel::Basic,
            &[
                KycItem::Email,
                KycItem::Phone,
                KycItem::BusinessRegistration,
                KycItem::AddressProof,
            ],
        );
        assert_eq!(
            check_ceiling(&basic, 90_000, 10_000),
            CeilingCheck::Within { approaching: false }
        );
        assert_eq!(
            check_ceiling(&basic, 90_000, 10_001),
            CeilingCheck::Over {
                level: KycLevel::Basic,
                ceiling_usd_cents: 100_000,
                used_usd_cents: 90_000,
                missing: vec![
                    KycItem::GovernmentId,
                    KycItem::BusinessLicence,
                    KycItem::BeneficialOwners
                ],
            }
        );
    }

    #[test]
    fn approaching_is_said_once_when_eighty_percent_is_crossed() {
        let basic = standing(KycLevel::Basic, &[]);
        assert_eq!(
            check_ceiling(&basic, 70_000, 9_999),
            CeilingCheck::Within { approaching: false }
        );
        assert_eq!(
            check_ceiling(&basic, 70_000, 10_000),
            CeilingCheck::Within { approaching: true }
        );
        assert_eq!(
            check_ceiling(&basic, 80_000, 1),
            CeilingCheck::Within { approaching: false }
        );
    }

    #[test]
    fn no_kyc_moves_nothing_and_enhanced_has_no_ceiling() {
        assert!(matches!(
            check_ceiling(&standing(KycLevel::None, &[]), 0, 1),
            CeilingCheck::Over { .. }
        ));
        assert_eq!(
            check_ceiling(&standing(KycLevel::Enhanced, &[]), i64::MAX, i64::MAX),
            CeilingCheck::Within { approaching: false }
        );
    }
}
