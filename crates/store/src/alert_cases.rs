//! Where alerts go: every alert opens or joins the open monitoring case of the party it is
//! about, so a second alert on the same recipient or tenant lands in the case already open and
//! an analyst sees them together. The case is written in the alert's transaction. Screening
//! hits from a rescreen or a list update and KYC upgrade requests go the same way, each to
//! its own subject's inbox ([`AlertCases::screening_hit`], [`AlertCases::kyc_upgrade`]).

use std::time::Duration;

use benteng_core::api_key::KeyEnvironment;
use benteng_core::cases::CaseSubject;
use benteng_core::ids::TenantId;
use time::OffsetDateTime;

use crate::cases::CaseOpening;

/// The risk an alert without a score of its own is given (a KYC ceiling at the enhanced
/// boundary, a post-event pattern): the middle of the review band, so a blocked transfer's
/// alert still sorts first.
pub const UNSCORED_PRIORITY: u8 = 65;

/// Who an alert is about.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AlertParty {
    Tenant(TenantId),
    Recipient { id: String, tenant: TenantId },
}

/// The inbox alerts' cases open in, and how soon such a case is due (also the inbox and SLA
/// of screening hits' and KYC upgrade requests' cases, each configured on its own).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AlertCases {
    pub inbox: String,
    pub sla: Duration,
}

impl Default for AlertCases {
    fn default() -> Self {
        Self {
            inbox: "monitoring".to_owned(),
            sla: Duration::from_secs(72 * 3600),
        }
    }
}

impl AlertCases {
    /// The default inbox of screening hits' cases.
    pub fn screening_default() -> Self {
        Self {
            inbox: "screening".to_owned(),
            sla: Duration::from_secs(24 * 3600),
        }
    }

    /// The default inbox of KYC upgrade requests' cases.
    pub fn kyc_default() -> Self {
        Self {
            inbox: "kyc".to_owned(),
            sla: Duration::from_secs(72 * 3600),
        }
    }

    /// The case alert `alert_id`, raised at `at`, opens or joins for `party`.
    pub fn opening(
        &self,
        alert_id: uuid::Uuid,
        party: AlertParty,
        environment: KeyEnvironment,
        priority: u8,
        at: OffsetDateTime,
    ) -> CaseOpening {
        self.matter(
            CaseSubject::Monitoring,
            ("alert", alert_id),
            party,
            environment,
            priority,
            at,
        )
    }

    /// The case screening decision `decision_id` (a hit from a rescreen or a list update, with
    /// its score as priority) opens or joins for `party`.
    pub fn screening_hit(
        &self,
        decision_id: uuid::Uuid,
        party: AlertParty,
        environment: KeyEnvironment,
        score: u8,
        at: OffsetDateTime,
    ) -> CaseOpening {
        self.matter(
            CaseSubject::Screening,
            ("screening_hit", decision_id),
            party,
            environment,
            score,
            at,
        )
    }

    /// The case the tenant's KYC upgrade request `request_id` opens or joins. A request
    /// carries no risk score: it sorts with the unscored alerts.
    pub fn kyc_upgrade(
        &self,
        request_id: uuid::Uuid,
        tenant: TenantId,
        at: OffsetDateTime,
    ) -> CaseOpening {
        self.matter(
            CaseSubject::Kyc,
            ("kyc_upgrade", request_id),
            AlertParty::Tenant(tenant),
            KeyEnvironment::Live,
            UNSCORED_PRIORITY,
            at,
        )
    }

    fn matter(
        &self,
        subject: CaseSubject,
        (item_kind, item_id): (&'static str, uuid::Uuid),
        party: AlertParty,
        environment: KeyEnvironment,
        priority: u8,
        at: OffsetDateTime,
    ) -> CaseOpening {
        let (party_kind, party_id, tenant_id) = match party {
            AlertParty::Tenant(tenant) => ("tenant", tenant.to_string(), tenant),
            AlertParty::Recipient { id, tenant } => ("recipient", id, tenant),
        };
        CaseOpening {
            subject,
            party_kind,
            party_id,
            tenant_id,
            environment,
            inbox: self.inbox.clone(),
            priority: priority.min(100),
            sla_due_at: at + self.sla,
            item_kind,
            item_id: item_id.to_string(),
            at,
        }
    }
}
