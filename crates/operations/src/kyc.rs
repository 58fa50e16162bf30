//! KYC levels and items, as operators set them: the break-glass and onboarding path (the CLI),
//! audited like every change. Levels gate how much a tenant may send in 30 days.

use benteng_core::audit::{AuditContext, AuditEvent, Retention};
use benteng_core::ids::TenantId;
use benteng_core::kyc::{KycItem, KycLevel, KycStanding};

use crate::{Operations, OpsRefusal};

/// What an item of evidence has come to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ItemStatus {
    Submitted,
    Verified,
    Rejected,
}

impl ItemStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            ItemStatus::Submitted => "submitted",
            ItemStatus::Verified => "verified",
            ItemStatus::Rejected => "rejected",
        }
    }
}

impl std::str::FromStr for ItemStatus {
    type Err = OpsRefusal;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "submitted" => Ok(ItemStatus::Submitted),
            "verified" => Ok(ItemStatus::Verified),
            "rejected" => Ok(ItemStatus::Rejected),
            _ => Err(OpsRefusal::Invalid {
                field: "status",
                message: "must be submitted, verified or rejected".to_owned(),
            }),
        }
    }
}

impl Operations {
    /// The tenant's level and verified items.
    pub async fn kyc_standing(&self, tenant: TenantId) -> Result<KycStanding, OpsRefusal> {
        self.store.tenant(tenant).await?;
        Ok(self.store.kyc_standing(tenant).await?)
    }

    /// Sets a tenant's KYC level directly, audited with the level it had.
    pub async fn set_kyc_level(
        &self,
        tenant: TenantId,
        level: KycLevel,
        context: &AuditContext,
    ) -> Result<(), OpsRefusal> {
        let before = self.kyc_standing(tenant).await?.level;
        let now = self.clock.now();
        let event = AuditEvent::new(
            &context.for_tenant(tenant),
            "kyc.level_changed",
            Retention::Security,
            ("tenant", tenant.to_string()),
        )
        .at(now)
        .change("level", before.as_str().into(), level.as_str().into());
        Ok(self.store.set_kyc_level(tenant, level, now, &event).await?)
    }

    /// Records the status of one item of a tenant's evidence, audited.
    pub async fn set_kyc_item(
        &self,
        tenant: TenantId,
        item: KycItem,
        status: ItemStatus,
        context: &AuditContext,
    ) -> Result<(), OpsRefusal> {
        self.store.tenant(tenant).await?;
        let now = self.clock.now();
        let event = AuditEvent::new(
            &context.for_tenant(tenant),
            "kyc.item_changed",
            Retention::Security,
            ("tenant", tenant.to_string()),
        )
        .at(now)
        .change("item", serde_json::Value::Null, item.as_str().into())
        .change("status", serde_json::Value::Null, status.as_str().into());
        Ok(self
            .store
            .set_kyc_item(tenant, item, status.as_str(), now, &event)
            .await?)
    }
}
