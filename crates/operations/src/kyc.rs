//! KYC levels and items, as operators set them: the break-glass and onboarding path (the CLI),
//! audited like every change. Levels gate how much a tenant may send in 30 days.

use benteng_core::audit::{AuditContext, AuditEvent, Retention};
use benteng_core::ids::TenantId;
use benteng_core::kyc::{KycItem, KycLevel, KycStanding};

use benteng_core::roles::Permission;

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

// ----- evidence, upgrade requests and reviews -----

use benteng_auth::StaffPrincipal;
use benteng_compliance::Screening;
use benteng_core::approvals::Action;
use benteng_core::kyc::{BeneficialOwner, DocumentType};
use benteng_core::payments::compliance::{Party, Verdict};
use benteng_store::{EvidenceAlert, EvidenceRow, NewEvidence, PendingAction, UpgradeRequestRow};
use benteng_vault::{DocumentPlace, KeyPurpose};

/// Where a submission's document is sealed (its AAD, chunk by chunk).
fn evidence_place<'a>(tenant: &'a str, row: &'a str) -> DocumentPlace<'a> {
    DocumentPlace {
        tenant_id: tenant,
        table: "kyc_evidence",
        column: "document",
        row_id: row,
    }
}

/// The alert rule a beneficial owner's screening hit raises.
const UBO_ALERT_RULE: &str = "kyc_ubo_screening";

/// What is stored of one submission besides its tenant and item.
struct Submission<'a> {
    content_type: &'static str,
    bytes: &'a [u8],
    /// `none`, or for beneficial owners `clear` / `hit`.
    screening: &'static str,
    alert: Option<EvidenceAlert>,
}

/// Where a tenant stands, as it may see it.
#[derive(Debug, Clone)]
pub struct KycOverview {
    pub level: KycLevel,
    pub ceiling_usd_cents: Option<i64>,
    pub volume_30d_usd_cents: i64,
    /// Every item with its status (`missing` when never submitted).
    pub items: Vec<(KycItem, &'static str)>,
    pub next_level: Option<KycLevel>,
    pub missing_for_next: Vec<KycItem>,
}

/// A beneficial owner as the tenant declares it (validated by the caller's parser).
pub type OwnerInput = BeneficialOwner;

/// The vault purpose of an item's documents: financial records under the bank-account keys,
/// identity and company papers under the national-id keys (Tier 1).
fn purpose_for(item: KycItem) -> KeyPurpose {
    match item {
        KycItem::BankStatements | KycItem::SourceOfFunds => KeyPurpose::BANK_ACCOUNT,
        _ => KeyPurpose::NATIONAL_ID,
    }
}

fn status_name(text: &str) -> &'static str {
    match text {
        "submitted" => "submitted",
        "verified" => "verified",
        "rejected" => "rejected",
        _ => "missing",
    }
}

impl Operations {
    pub(crate) fn keyring(&self) -> Result<&benteng_vault::Keyring, OpsRefusal> {
        self.keyring.as_deref().ok_or_else(|| {
            tracing::error!("KYC evidence command without the data keys");
            OpsRefusal::Unavailable
        })
    }

    /// The tenant's level, ceiling, live 30-day volume and every item's status.
    pub async fn kyc_overview(&self, tenant: TenantId) -> Result<KycOverview, OpsRefusal> {
        let standing = self.kyc_standing(tenant).await?;
        let statuses = self.store.kyc_item_statuses(tenant).await?;
        let volume = self.store.kyc_volume_30d(tenant, self.clock.now()).await?;
        let items = KycItem::ALL
            .into_iter()
            .map(|item| {
                let status = statuses
                    .iter()
                    .find(|(i, _)| *i == item)
                    .map_or("missing", |(_, s)| status_name(s));
                (item, status)
            })
            .collect();
        Ok(KycOverview {
            level: standing.level,
            ceiling_usd_cents: standing.level.ceiling_usd_cents(),
            volume_30d_usd_cents: volume,
            items,
            next_level: standing.level.next(),
            missing_for_next: standing.missing_for_next(),
        })
    }

    fn seal(
        &self,
        tenant: TenantId,
        id: uuid::Uuid,
        item: KycItem,
        bytes: &[u8],
    ) -> Result<String, OpsRefusal> {
        let tenant_text = tenant.to_string();
        let row = id.to_string();
        self.keyring()?
            .seal_document(
                &purpose_for(item),
                bytes,
                &evidence_place(&tenant_text, &row),
            )
            .map_err(|error| {
                tracing::error!(%error, "sealing a KYC document failed");
                OpsRefusal::Unavailable
            })
    }

    async fn store_evidence(
        &self,
        tenant: TenantId,
        item: KycItem,
        submission: Submission<'_>,
        context: &AuditContext,
    ) -> Result<EvidenceRow, OpsRefusal> {
        let Submission {
            content_type,
            bytes,
            screening,
            alert,
        } = submission;
        self.store.tenant(tenant).await?;
        let id = uuid::Uuid::now_v7();
        let now = self.clock.now();
        let document = self.seal(tenant, id, item, bytes)?;
        let sha256 = hex::encode(benteng_crypto::sha256(bytes));
        let size = i64::try_from(bytes.len()).unwrap_or(i64::MAX);
        let context = context.for_tenant(tenant);
        // The event names the submission and its item, never its content or metadata values.
        let event = AuditEvent::new(
            &context,
            "kyc.evidence_submitted",
            Retention::Security,
            ("kyc_evidence", id.to_string()),
        )
        .at(now)
        .change("item", serde_json::Value::Null, item.as_str().into())
        .change("status", serde_json::Value::Null, "submitted".into());
        // Compliance's, not the tenant's: outside the tenant's trail (no tip-off).
        let staff_only = context.staff_only();
        let alert_event = alert.as_ref().map(|alert| {
            AuditEvent::new(
                &staff_only,
                "alert.raised",
                Retention::Security,
                ("alert", alert.id.to_string()),
            )
            .at(now)
            .change("rule", serde_json::Value::Null, alert.rule.into())
        });
        let evidence = NewEvidence {
            id,
            tenant,
            item,
            content_type,
            size_bytes: size,
            sha256,
            document,
            screening,
            uploaded_by: context.actor.clone(),
            at: now,
        };
        self.store
            .insert_kyc_evidence(&evidence, &event, alert.as_ref().zip(alert_event.as_ref()))
            .await?;
        Ok(EvidenceRow {
            id: id.to_string(),
            tenant: tenant.to_string(),
            item,
            content_type: content_type.to_owned(),
            size_bytes: size,
            sha256: evidence.sha256,
            screening: screening.to_owned(),
            uploaded_by: evidence.uploaded_by,
            created_at: now,
        })
    }

    /// Stores a document for `item`, sealed, and marks the item submitted (audited). The
    /// document must be of its declared type (magic bytes) and within the size cap.
    pub async fn submit_kyc_document(
        &self,
        tenant: TenantId,
        item: KycItem,
        declared: DocumentType,
        bytes: &[u8],
        context: &AuditContext,
    ) -> Result<EvidenceRow, OpsRefusal> {
        declared
            .check(bytes, self.max_document_bytes)
            .map_err(|refusal| OpsRefusal::Invalid {
                field: "document",
                message: refusal.to_string(),
            })?;
        let submission = Submission {
            content_type: declared.mime(),
            bytes,
            screening: "none",
            alert: None,
        };
        self.store_evidence(tenant, item, submission, context).await
    }

    /// Stores the tenant's beneficial owners (sealed, as JSON) and screens each against the
    /// loaded lists like a tenant. A possible match is not told to the tenant: it raises an
    /// alert and keeps the item from being verified. An owner that cannot be screened counts
    /// as a possible match (screening does not fail open).
    pub async fn submit_beneficial_owners(
        &self,
        tenant: TenantId,
        owners: &[OwnerInput],
        context: &AuditContext,
    ) -> Result<EvidenceRow, OpsRefusal> {
        let screening = self.screening.as_deref().ok_or_else(|| {
            tracing::error!("beneficial owners submitted without a screening service");
            OpsRefusal::Unavailable
        })?;
        let mut hits = Vec::new();
        for (index, owner) in owners.iter().enumerate() {
            let query =
                Screening::party_query(&owner.name, Some(owner.country.as_str()), Some(true));
            let party_id = format!("{tenant}/ubo/{index}");
            let result = screening.screen_party(Party::Tenant, &party_id, &query);
            if result.verdict != Verdict::Approve {
                hits.push(serde_json::json!({
                    "owner_index": index,
                    "score": result.score,
                    "verdict": result.verdict.as_str(),
                    "matches": result.matches.iter().filter(|m| !m.cleared).map(|m| {
                        serde_json::json!({"list": m.list, "entry_id": m.entry_id, "score": m.score})
                    }).collect::<Vec<_>>(),
                }));
            }
        }
        let json = serde_json::to_vec(owners).map_err(|_| OpsRefusal::Unavailable)?;
        let (status, alert) = if hits.is_empty() {
            ("clear", None)
        } else {
            let detail = serde_json::json!({ "tenant": tenant.to_string(), "owners": hits });
            (
                "hit",
                Some(EvidenceAlert {
                    id: uuid::Uuid::now_v7(),
                    rule: UBO_ALERT_RULE,
                    detail: detail.to_string(),
                }),
            )
        };
        let submission = Submission {
            content_type: "application/json",
            bytes: &json,
            screening: status,
            alert,
        };
        self.store_evidence(tenant, KycItem::BeneficialOwners, submission, context)
            .await
    }

    /// The tenant's submissions (metadata only).
    pub async fn kyc_evidence(&self, tenant: TenantId) -> Result<Vec<EvidenceRow>, OpsRefusal> {
        self.store.tenant(tenant).await?;
        Ok(self.store.kyc_evidence_list(tenant).await?)
    }

    /// One document in the clear, for a reviewer; the read is audited as a read of Tier 1
    /// data. The content is checked against its stored SHA-256.
    pub async fn read_kyc_document(
        &self,
        actor: &StaffPrincipal,
        tenant: TenantId,
        id: uuid::Uuid,
        context: &AuditContext,
    ) -> Result<(EvidenceRow, Vec<u8>), OpsRefusal> {
        if !actor.permits(Permission::KycReview) {
            return Err(OpsRefusal::Forbidden(Permission::KycReview));
        }
        let (row, sealed) = self.store.kyc_evidence_document(tenant, id).await?;
        let tenant_text = tenant.to_string();
        let row_id = id.to_string();
        let clear = self
            .keyring()?
            .open_document(&sealed, &evidence_place(&tenant_text, &row_id))
            .map_err(|error| {
                tracing::error!(%error, "a KYC document could not be opened");
                OpsRefusal::Unavailable
            })?;
        if hex::encode(benteng_crypto::sha256(&clear)) != row.sha256 {
            tracing::error!(evidence = %id, "a KYC document does not match its digest");
            return Err(OpsRefusal::Unavailable);
        }
        let event = AuditEvent::new(
            &context.for_tenant(tenant),
            "personal_data.read",
            Retention::Security,
            ("kyc_evidence", id.to_string()),
        )
        .change("item", serde_json::Value::Null, row.item.as_str().into())
        .change("tier", serde_json::Value::Null, 1.into());
        self.store.record_audit(&event).await?;
        Ok((row, clear))
    }

    /// A reviewer's verdict on one item. Beneficial owners are verified only from a screened
    /// declaration without a possible match.
    pub async fn review_kyc_item(
        &self,
        actor: &StaffPrincipal,
        tenant: TenantId,
        item: KycItem,
        status: ItemStatus,
        context: &AuditContext,
    ) -> Result<(), OpsRefusal> {
        if !actor.permits(Permission::KycReview) {
            return Err(OpsRefusal::Forbidden(Permission::KycReview));
        }
        if status == ItemStatus::Verified && item == KycItem::BeneficialOwners {
            match self
                .store
                .kyc_latest_ubo_screening(tenant)
                .await?
                .as_deref()
            {
                Some("clear") => {}
                Some("hit") => {
                    return Err(OpsRefusal::Conflict(
                        "a beneficial owner has a possible screening match; clear it first",
                    ));
                }
                _ => {
                    return Err(OpsRefusal::Conflict(
                        "beneficial owners are verified from a screened declaration",
                    ));
                }
            }
        }
        self.set_kyc_item(tenant, item, status, context).await
    }

    /// The tenant asks for the next level; refused while any item that level requires is
    /// still missing (not submitted).
    pub async fn request_kyc_upgrade(
        &self,
        tenant: TenantId,
        context: &AuditContext,
    ) -> Result<UpgradeRequestRow, OpsRefusal> {
        let overview = self.kyc_overview(tenant).await?;
        let level = overview.next_level.ok_or(OpsRefusal::Conflict(
            "the tenant is at the highest KYC level",
        ))?;
        let missing: Vec<&str> = level
            .requires()
            .into_iter()
            .filter(|item| {
                overview
                    .items
                    .iter()
                    .any(|(i, s)| i == item && matches!(*s, "missing" | "rejected"))
            })
            .map(KycItem::as_str)
            .collect();
        if !missing.is_empty() {
            return Err(OpsRefusal::Invalid {
                field: "evidence",
                message: format!("{level} needs evidence for: {}", missing.join(", ")),
            });
        }
        let now = self.clock.now();
        let id = uuid::Uuid::now_v7();
        let request = UpgradeRequestRow {
            id: id.to_string(),
            tenant,
            level,
            status: "pending".to_owned(),
            requested_by: context.actor.clone(),
            requested_at: now,
            decided_at: None,
        };
        let event = AuditEvent::new(
            &context.for_tenant(tenant),
            "kyc.upgrade_requested",
            Retention::Security,
            ("kyc_upgrade_request", request.id.clone()),
        )
        .at(now)
        .change("level", serde_json::Value::Null, level.as_str().into());
        // The tenant's KYC case, opened or joined with the request (staff only: the tenant
        // sees its request's status, never the case).
        let case = self.kyc_cases.kyc_upgrade(id, tenant, now);
        match self
            .store
            .insert_kyc_upgrade_request(&request, &event, &case, context)
            .await
        {
            Err(benteng_store::StoreError::Conflict) => Err(OpsRefusal::Conflict(
                "an upgrade request is already pending",
            )),
            other => other.map(|()| request).map_err(OpsRefusal::from),
        }
    }

    /// Upgrade requests with `status` (`pending`, `approved`, `rejected`).
    pub async fn kyc_upgrade_requests(
        &self,
        status: &str,
    ) -> Result<Vec<UpgradeRequestRow>, OpsRefusal> {
        Ok(self.store.kyc_upgrade_requests(status).await?)
    }

    /// Proposes the level an upgrade request asks for as a four-eyes action; a second
    /// reviewer approves it through the approvals route. Refused unless every item the level
    /// requires is verified now (and checked again when it is approved).
    pub async fn propose_kyc_upgrade(
        &self,
        actor: &StaffPrincipal,
        request: uuid::Uuid,
        context: &AuditContext,
    ) -> Result<PendingAction, OpsRefusal> {
        let request = self.store.kyc_upgrade_request(request).await?;
        if request.status != "pending" {
            return Err(OpsRefusal::Conflict("the request was already decided"));
        }
        self.check_level_evidence(request.tenant, request.level)
            .await?;
        let action = Action::ChangeKycLevel {
            tenant: request.tenant,
            level: request.level,
        };
        self.propose(actor, action, context).await
    }

    /// Turns an upgrade request down (audited); the tenant may ask again.
    pub async fn reject_kyc_upgrade(
        &self,
        actor: &StaffPrincipal,
        request: uuid::Uuid,
        context: &AuditContext,
    ) -> Result<UpgradeRequestRow, OpsRefusal> {
        if !actor.permits(Permission::KycReview) {
            return Err(OpsRefusal::Forbidden(Permission::KycReview));
        }
        let row = self.store.kyc_upgrade_request(request).await?;
        let now = self.clock.now();
        let event = AuditEvent::new(
            &context.for_tenant(row.tenant),
            "kyc.upgrade_rejected",
            Retention::Security,
            ("kyc_upgrade_request", row.id.clone()),
        )
        .at(now)
        .change("status", "pending".into(), "rejected".into());
        let case_event = benteng_store::CaseEvent {
            at: now,
            actor: context.actor.clone(),
            kind: "kyc_upgrade_rejected".to_owned(),
            comment: None,
            data: Some(
                serde_json::json!({"request": row.id, "level": row.level.as_str()}).to_string(),
            ),
        };
        if !self
            .store
            .reject_kyc_upgrade_request(request, now, &event, &case_event)
            .await?
        {
            return Err(OpsRefusal::Conflict("the request was already decided"));
        }
        Ok(UpgradeRequestRow {
            status: "rejected".to_owned(),
            decided_at: Some(now),
            ..row
        })
    }

    /// Refuses unless every item `level` requires is verified for the tenant.
    pub(crate) async fn check_level_evidence(
        &self,
        tenant: TenantId,
        level: KycLevel,
    ) -> Result<(), OpsRefusal> {
        let standing = self.kyc_standing(tenant).await?;
        let unverified: Vec<&str> = level
            .requires()
            .into_iter()
            .filter(|item| !standing.verified.contains(item))
            .map(KycItem::as_str)
            .collect();
        if unverified.is_empty() {
            Ok(())
        } else {
            Err(OpsRefusal::Invalid {
                field: "evidence",
                message: format!(
                    "{level} needs these items verified: {}",
                    unverified.join(", ")
                ),
            })
        }
    }
}
