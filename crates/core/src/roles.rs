//! Who among the platform's staff may do what: roles, the permissions each grants, and the table
//! that joins them. The table is data ([`GRANTS`]), read in one place ([`Roles::permits`]); the
//! operator API's route table names the permission each route needs, and nothing else decides.
//!
//! Tenant users have roles too ([`TenantRole`]); theirs map onto the API-key scopes.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::scopes::{Scope, Scopes};

/// A staff role.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[repr(u8)]
pub enum StaffRole {
    /// Works the review queue, searches the lists, clears false positives.
    ComplianceAnalyst,
    /// The MLRO: an analyst who also approves what needs a second person and files reports.
    ComplianceOfficer,
    /// Incidents, key and credential containment, audit export.
    SecurityOfficer,
    /// Reads tenants, but no personal data.
    Support,
    /// Tenants, people and roles; never approves their own requests.
    Admin,
}

impl StaffRole {
    pub const ALL: [StaffRole; 5] = [
        StaffRole::ComplianceAnalyst,
        StaffRole::ComplianceOfficer,
        StaffRole::SecurityOfficer,
        StaffRole::Support,
        StaffRole::Admin,
    ];

    pub const fn as_str(self) -> &'static str {
        match self {
            StaffRole::ComplianceAnalyst => "compliance_analyst",
            StaffRole::ComplianceOfficer => "compliance_officer",
            StaffRole::SecurityOfficer => "security_officer",
            StaffRole::Support => "support",
            StaffRole::Admin => "admin",
        }
    }

    /// What the role grants, from [`GRANTS`].
    pub fn permissions(self) -> &'static [Permission] {
        GRANTS
            .iter()
            .find(|(role, _)| *role == self)
            .map(|(_, permissions)| *permissions)
            .unwrap_or(&[])
    }

    const fn bit(self) -> u8 {
        1 << self as u8
    }
}

/// One thing a staff member may do on the operator API.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Permission {
    /// See tenants, their keys, certificates and limits (no personal data).
    TenantsRead,
    /// Create and suspend tenants, change their mTLS requirement, propose tier changes.
    TenantsWrite,
    /// Issue API keys and register client certificates.
    CredentialsWrite,
    /// Revoke API keys, remove certificates, end other people's sessions: containment.
    CredentialsRevoke,
    /// Read personal data (screening hits, Tier 1/2 fields).
    PersonalDataRead,
    /// Search the sanctions and PEP lists.
    ScreeningSearch,
    /// Clear a screening false positive.
    ClearancesWrite,
    /// Load sanctions and PEP list versions.
    ListsWrite,
    /// Read the audit trail.
    AuditRead,
    /// See staff and their roles.
    StaffRead,
    /// Create staff, grant and remove roles, disable people.
    StaffWrite,
    /// Decide a transfer held for review: release it or block it.
    ReviewsDecide,
    /// Approve (or reject) a proposed decision on a held transfer: the second person.
    ReviewsApprove,
    /// Review tenants' KYC evidence (read documents, verify or reject items) and propose or
    /// approve a KYC level change.
    KycReview,
    /// See security incidents, acknowledge them and contain them (block addresses).
    IncidentsRespond,
    /// Draft, approve, export and file regulatory reports (LTKM, IFTI, SAR): the MLRO's.
    ReportsFile,
}

impl Permission {
    pub const ALL: [Permission; 16] = [
        Permission::TenantsRead,
        Permission::TenantsWrite,
        Permission::CredentialsWrite,
        Permission::CredentialsRevoke,
        Permission::PersonalDataRead,
        Permission::ScreeningSearch,
        Permission::ClearancesWrite,
        Permission::ListsWrite,
        Permission::AuditRead,
        Permission::StaffRead,
        Permission::StaffWrite,
        Permission::ReviewsDecide,
        Permission::ReviewsApprove,
        Permission::KycReview,
        Permission::IncidentsRespond,
        Permission::ReportsFile,
    ];

    pub const fn as_str(self) -> &'static str {
        match self {
            Permission::TenantsRead => "tenants:read",
            Permission::TenantsWrite => "tenants:write",
            Permission::CredentialsWrite => "credentials:write",
            Permission::CredentialsRevoke => "credentials:revoke",
            Permission::PersonalDataRead => "personal_data:read",
            Permission::ScreeningSearch => "screening:search",
            Permission::ClearancesWrite => "clearances:write",
            Permission::ListsWrite => "lists:write",
            Permission::AuditRead => "audit:read",
            Permission::StaffRead => "staff:read",
            Permission::StaffWrite => "staff:write",
            Permission::ReviewsDecide => "reviews:decide",
            Permission::ReviewsApprove => "reviews:approve",
            Permission::KycReview => "kyc:review",
            Permission::IncidentsRespond => "incidents:respond",
            Permission::ReportsFile => "reports:file",
        }
    }
}

impl fmt::Display for Permission {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.pad(self.as_str())
    }
}

/// A name that is not one of [`Permission::ALL`] (shown escaped and cut short).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown permission {0}")]
pub struct UnknownPermission(String);

impl FromStr for Permission {
    type Err = UnknownPermission;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        Permission::ALL
            .into_iter()
            .find(|permission| permission.as_str() == text)
            .ok_or_else(|| {
                let excerpt: String = text.chars().take(40).collect();
                UnknownPermission(format!("{excerpt:?}"))
            })
    }
}

/// A set of permissions (a staff token's): a bitset, stored and audited as the names separated
/// by single spaces, in [`Permission::ALL`]'s order.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Permissions(u16);

impl Permissions {
    pub const fn empty() -> Self {
        Self(0)
    }

    const fn bit(permission: Permission) -> u16 {
        1 << permission as u16
    }

    pub const fn contains(self, permission: Permission) -> bool {
        self.0 & Self::bit(permission) != 0
    }

    #[must_use]
    pub const fn with(self, permission: Permission) -> Self {
        Self(self.0 | Self::bit(permission))
    }

    pub fn is_empty(self) -> bool {
        self.0 == 0
    }

    pub fn iter(self) -> impl Iterator<Item = Permission> {
        Permission::ALL
            .into_iter()
            .filter(move |p| self.contains(*p))
    }

    /// The first permission of the set that `roles` do not grant, if any.
    pub fn first_not_granted_by(self, roles: Roles) -> Option<Permission> {
        self.iter().find(|p| !roles.permits(*p))
    }
}

impl FromIterator<Permission> for Permissions {
    fn from_iter<I: IntoIterator<Item = Permission>>(iter: I) -> Self {
        iter.into_iter()
            .fold(Permissions::empty(), Permissions::with)
    }
}

impl fmt::Display for Permissions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, permission) in self.iter().enumerate() {
            if i > 0 {
                f.write_str(" ")?;
            }
            f.write_str(permission.as_str())?;
        }
        Ok(())
    }
}

impl fmt::Debug for Permissions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Permissions({self})")
    }
}

impl FromStr for Permissions {
    type Err = UnknownPermission;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        if text.is_empty() {
            return Ok(Permissions::empty());
        }
        text.split(' ')
            .map(str::parse::<Permission>)
            .collect::<Result<Permissions, _>>()
    }
}

impl Serialize for Permissions {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_seq(self.iter().map(Permission::as_str))
    }
}

impl<'de> Deserialize<'de> for Permissions {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        Vec::<String>::deserialize(deserializer)?
            .iter()
            .map(|name| name.parse::<Permission>().map_err(serde::de::Error::custom))
            .collect()
    }
}

use Permission as P;

/// The grants: each role and everything it may do. Changing who may do what is an edit here,
/// and the route-walk test then checks every operator route against it.
pub const GRANTS: &[(StaffRole, &[Permission])] = &[
    (
        StaffRole::ComplianceAnalyst,
        &[
            P::TenantsRead,
            P::PersonalDataRead,
            P::ScreeningSearch,
            P::ClearancesWrite,
            P::ReviewsDecide,
        ],
    ),
    (
        StaffRole::ComplianceOfficer,
        &[
            P::TenantsRead,
            P::PersonalDataRead,
            P::ScreeningSearch,
            P::ClearancesWrite,
            P::ReviewsDecide,
            P::ReviewsApprove,
            P::ListsWrite,
            P::AuditRead,
            P::KycReview,
            P::ReportsFile,
        ],
    ),
    (
        StaffRole::SecurityOfficer,
        &[
            P::TenantsRead,
            P::CredentialsRevoke,
            P::AuditRead,
            P::StaffRead,
            P::IncidentsRespond,
        ],
    ),
    (StaffRole::Support, &[P::TenantsRead]),
    (
        StaffRole::Admin,
        &[
            P::TenantsRead,
            P::TenantsWrite,
            P::CredentialsWrite,
            P::CredentialsRevoke,
            P::ListsWrite,
            P::StaffRead,
            P::StaffWrite,
        ],
    ),
];

impl fmt::Display for StaffRole {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.pad(self.as_str())
    }
}

/// A role name that is not one of [`StaffRole::ALL`] (shown escaped and cut short).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "unknown role {0} (known: compliance_analyst, compliance_officer, security_officer, support, admin)"
)]
pub struct UnknownRole(String);

impl UnknownRole {
    fn of(text: &str) -> Self {
        let excerpt: String = text.chars().take(40).collect();
        Self(format!("{excerpt:?}"))
    }
}

impl FromStr for StaffRole {
    type Err = UnknownRole;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        StaffRole::ALL
            .into_iter()
            .find(|role| role.as_str() == text)
            .ok_or_else(|| UnknownRole::of(text))
    }
}

impl Serialize for StaffRole {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for StaffRole {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

/// The roles a person holds: a bitset.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Roles(u8);

impl Roles {
    pub const fn empty() -> Self {
        Self(0)
    }

    pub const fn contains(self, role: StaffRole) -> bool {
        self.0 & role.bit() != 0
    }

    #[must_use]
    pub const fn with(self, role: StaffRole) -> Self {
        Self(self.0 | role.bit())
    }

    #[must_use]
    pub const fn without(self, role: StaffRole) -> Self {
        Self(self.0 & !role.bit())
    }

    pub fn is_empty(self) -> bool {
        self.0 == 0
    }

    pub fn iter(self) -> impl Iterator<Item = StaffRole> {
        StaffRole::ALL
            .into_iter()
            .filter(move |r| self.contains(*r))
    }

    /// Whether any of the roles grants `permission`: the one permission check.
    pub fn permits(self, permission: Permission) -> bool {
        self.iter()
            .any(|role| role.permissions().contains(&permission))
    }
}

impl FromIterator<StaffRole> for Roles {
    fn from_iter<I: IntoIterator<Item = StaffRole>>(iter: I) -> Self {
        iter.into_iter().fold(Roles::empty(), Roles::with)
    }
}

impl fmt::Display for Roles {
    /// Role names separated by single spaces (the stored and audited form).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, role) in self.iter().enumerate() {
            if i > 0 {
                f.write_str(" ")?;
            }
            f.write_str(role.as_str())?;
        }
        Ok(())
    }
}

impl fmt::Debug for Roles {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Roles({self})")
    }
}

impl FromStr for Roles {
    type Err = UnknownRole;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        if text.is_empty() {
            return Ok(Roles::empty());
        }
        text.split(' ')
            .map(str::parse::<StaffRole>)
            .collect::<Result<Roles, _>>()
    }
}

impl Serialize for Roles {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_seq(self.iter())
    }
}

impl<'de> Deserialize<'de> for Roles {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        Ok(Vec::<StaffRole>::deserialize(deserializer)?
            .into_iter()
            .collect())
    }
}

/// A tenant user's role: what they may do in their tenant, as API-key scopes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TenantRole {
    /// Everything the tenant can do.
    Owner,
    /// Pays: quotes, recipients and transfers, and reads.
    Payer,
    /// Reads.
    Viewer,
}

impl TenantRole {
    pub fn scopes(self) -> Scopes {
        match self {
            TenantRole::Owner => Scopes::all(),
            TenantRole::Payer => Scopes::read_only()
                .with(Scope::TransfersWrite)
                .with(Scope::RecipientsWrite)
                .with(Scope::QuotesWrite),
            TenantRole::Viewer => Scopes::read_only(),
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn every_role_is_in_the_grant_table_once() {
        for role in StaffRole::ALL {
            assert_eq!(GRANTS.iter().filter(|(r, _)| *r == role).count(), 1);
            assert!(!role.permissions().is_empty(), "{role}");
            assert_eq!(role.as_str().parse::<StaffRole>().unwrap(), role);
        }
    }

    #[test]
    fn the_spec_separations_hold() {
        let support = Roles::empty().with(StaffRole::Support);
        assert!(support.permits(Permission::TenantsRead));
        assert!(!support.permits(Permission::PersonalDataRead));
        let analyst = Roles::empty().with(StaffRole::ComplianceAnalyst);
        assert!(analyst.permits(Permission::ScreeningSearch));
        assert!(!analyst.permits(Permission::CredentialsWrite));
        assert!(!analyst.permits(Permission::StaffWrite));
        let admin = Roles::empty().with(StaffRole::Admin);
        assert!(admin.permits(Permission::StaffWrite));
        // Admins run the platform; they do not read personal data or search the lists.
        assert!(!admin.permits(Permission::PersonalDataRead));
        // Reports are the compliance officer's alone (not an analyst's, not an admin's).
        assert!(!analyst.permits(Permission::ReportsFile));
        assert!(!admin.permits(Permission::ReportsFile));
        assert!(!Roles::empty().permits(Permission::TenantsRead));
    }

    #[test]
    fn role_sets_round_trip_and_refuse_unknown_names() {
        let roles = Roles::empty()
            .with(StaffRole::Admin)
            .with(StaffRole::Support);
        assert_eq!(roles.to_string(), "support admin");
        assert_eq!(roles.to_string().parse::<Roles>().unwrap(), roles);
        for bad in ["Admin", "admin ", "root", "admin  support", "аdmin"] {
            assert!(bad.parse::<Roles>().is_err(), "{bad:?}");
        }
        let json = serde_json::to_string(&roles).unwrap();
        assert_eq!(json, r#"["support","admin"]"#);
        assert!(serde_json::from_str::<Roles>(r#"["superuser"]"#).is_err());
    }

    #[test]
    fn permission_sets_round_trip_and_refuse_unknown_names() {
        let set: Permissions = [Permission::StaffWrite, Permission::TenantsRead]
            .into_iter()
            .collect();
        assert_eq!(set.to_string(), "tenants:read staff:write");
        assert_eq!(set.to_string().parse::<Permissions>().unwrap(), set);
        for permission in Permission::ALL {
            assert_eq!(
                permission.as_str().parse::<Permission>().unwrap(),
                permission
            );
        }
        for bad in ["tenants:Read", "tenants:read ", "root", "a  b"] {
            assert!(bad.parse::<Permissions>().is_err(), "{bad:?}");
        }
        let json = serde_json::to_string(&set).unwrap();
        assert_eq!(json, r#"["tenants:read","staff:write"]"#);
        assert_eq!(serde_json::from_str::<Permissions>(&json).unwrap(), set);
        let support = Roles::empty().with(StaffRole::Support);
        assert_eq!(
            set.first_not_granted_by(support),
            Some(Permission::StaffWrite)
        );
        assert_eq!(
            set.first_not_granted_by(Roles::empty().with(StaffRole::Admin)),
            None
        );
    }

    #[test]
    fn tenant_roles_narrow_the_scopes() {
        assert_eq!(TenantRole::Owner.scopes(), Scopes::all());
        assert!(!TenantRole::Viewer.scopes().contains(Scope::TransfersWrite));
        assert!(TenantRole::Payer.scopes().contains(Scope::TransfersWrite));
    }
}
