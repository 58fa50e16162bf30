//! Where alerts go: every alert opens or joins the open monitoring case of the party it is
//! about, so a second alert on the same recipient or tenant lands in the case already open and
//! an analyst sees them together. The case is written in the alert's transaction.

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

/// The inbox alerts' cases open in, and how soon such a case is due.
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
    /// The case alert `alert_id`, raised at `at`, opens or joins for `party`.
    pub fn opening(
        &self,
        alert_id: uuid::Uuid,
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
            subject: CaseSubject::Monitoring,
            party_kind,
            party_id,
            tenant_id,
            environment,
            inbox: self.inbox.clone(),
            priority: priority.min(100),
            sla_due_at: at + self.sla,
            item_kind: "alert",
            item_id: alert_id.to_string(),
            at,
        }
    }
}
