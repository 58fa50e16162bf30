//! KYC evidence and upgrade requests. Documents arrive here already sealed (the caller holds
//! the keyring); this module stores, lists and returns them, and records each change with its
//! audit event in the same transaction.

use benteng_core::audit::{AuditContext, AuditEvent};
use benteng_core::ids::TenantId;
use benteng_core::kyc::{KycItem, KycLevel, VOLUME_WINDOW};
use sqlx::any::AnyRow;
use sqlx::{AnyConnection, Row};
use time::OffsetDateTime;

use crate::cases::{CaseEvent, CaseOpening};
use crate::rows::{optional_time_at, parsed, time_at, to_micros};
use crate::{Store, StoreError, StoreResult};

/// A submission to store: the document is sealed already.
#[derive(Debug, Clone)]
pub struct NewEvidence {
    pub id: uuid::Uuid,
    pub tenant: TenantId,
    pub item: KycItem,
    pub content_type: &'static str,
    pub size_bytes: i64,
    pub sha256: String,
    /// The sealed chunks, newline-joined.
    pub document: String,
    /// `none`, or for beneficial owners `clear` / `hit`.
    pub screening: &'static str,
    pub uploaded_by: String,
    pub at: OffsetDateTime,
}

/// An alert raised with a submission (a beneficial owner's screening hit).
#[derive(Debug, Clone)]
pub struct EvidenceAlert {
    pub id: uuid::Uuid,
    pub rule: &'static str,
    /// JSON for compliance staff.
    pub detail: String,
}

/// A stored submission's metadata (no document).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EvidenceRow {
    pub id: String,
    pub tenant: String,
    pub item: KycItem,
    pub content_type: String,
    pub size_bytes: i64,
    pub sha256: String,
    pub screening: String,
    pub uploaded_by: String,
    pub created_at: OffsetDateTime,
}

/// A tenant's request to move up a level.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UpgradeRequestRow {
    pub id: String,
    pub tenant: TenantId,
    pub level: KycLevel,
    pub status: String,
    pub requested_by: String,
    pub requested_at: OffsetDateTime,
    pub decided_at: Option<OffsetDateTime>,
}

macro_rules! evidence_columns {
    () => {
        "id, tenant_id, item, content_type, size_bytes, sha256, screening, uploaded_by, created_at"
    };
}

macro_rules! request_columns {
    () => {
        "id, tenant_id, level, status, requested_by, requested_at, decided_at"
    };
}

fn evidence_row(row: &AnyRow) -> StoreResult<EvidenceRow> {
    Ok(EvidenceRow {
        id: row.try_get("id")?,
        tenant: row.try_get("tenant_id")?,
        item: parsed(row, "item")?,
        content_type: row.try_get("content_type")?,
        size_bytes: row.try_get("size_bytes")?,
        sha256: row.try_get("sha256")?,
        screening: row.try_get("screening")?,
        uploaded_by: row.try_get("uploaded_by")?,
        created_at: time_at(row, "created_at")?,
    })
}

fn request_row(row: &AnyRow) -> StoreResult<UpgradeRequestRow> {
    Ok(UpgradeRequestRow {
        id: row.try_get("id")?,
        tenant: parsed(row, "tenant_id")?,
        level: parsed(row, "level")?,
        status: row.try_get("status")?,
        requested_by: row.try_get("requested_by")?,
        requested_at: time_at(row, "requested_at")?,
        decided_at: optional_time_at(row, "decided_at")?,
    })
}

impl Store {
    /// Records one audit event on its own (a read of personal data).
    pub async fn record_audit(&self, event: &AuditEvent) -> StoreResult<()> {
        let mut conn = self.pool.acquire().await?;
        crate::audit::record(&mut conn, event).await
    }

    /// Stores a submission, marks its item `submitted` and records `event` (and the alert, if
    /// any, with `alert_event`), all in one transaction.
    pub async fn insert_kyc_evidence(
        &self,
        evidence: &NewEvidence,
        event: &AuditEvent,
        alert: Option<(&EvidenceAlert, &AuditEvent)>,
    ) -> StoreResult<()> {
        let mut tx = self.pool.begin().await?;
        let sql = concat!(
            "INSERT INTO kyc_evidence (",
            evidence_columns!(),
            ", document) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)"
        );
        sqlx::query(sql)
            .bind(evidence.id.to_string())
            .bind(evidence.tenant.to_string())
            .bind(evidence.item.as_str())
            .bind(evidence.content_type)
            .bind(evidence.size_bytes)
            .bind(&evidence.sha256)
            .bind(evidence.screening)
            .bind(&evidence.uploaded_by)
            .bind(to_micros(evidence.at))
            .bind(&evidence.document)
            .execute(&mut *tx)
            .await
            .map_err(StoreError::from_write)?;
        sqlx::query(
            "INSERT INTO kyc_items (tenant_id, item, status, updated_at) \
             VALUES ($1, $2, 'submitted', $3) \
             ON CONFLICT (tenant_id, item) DO UPDATE SET status = excluded.status, \
             updated_at = excluded.updated_at",
        )
        .bind(evidence.tenant.to_string())
        .bind(evidence.item.as_str())
        .bind(to_micros(evidence.at))
        .execute(&mut *tx)
        .await?;
        crate::audit::record(&mut tx, event).await?;
        if let Some((alert, alert_event)) = alert {
            sqlx::query(
                "INSERT INTO alerts (id, kind, rule, tenant_id, environment, transfer_id, \
                 detail, dedup_key, status, created_at) \
                 VALUES ($1, 'post_event', $2, $3, 'live', NULL, $4, $5, 'open', $6)",
            )
            .bind(alert.id.to_string())
            .bind(alert.rule)
            .bind(evidence.tenant.to_string())
            .bind(&alert.detail)
            .bind(format!("{}:{}", alert.rule, evidence.id))
            .bind(to_micros(evidence.at))
            .execute(&mut *tx)
            .await?;
            crate::audit::record(&mut tx, alert_event).await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// The tenant's submissions, newest first (at most 500).
    pub async fn kyc_evidence_list(&self, tenant: TenantId) -> StoreResult<Vec<EvidenceRow>> {
        let sql = concat!(
            "SELECT ",
            evidence_columns!(),
            " FROM kyc_evidence WHERE tenant_id = $1 ORDER BY created_at DESC, id LIMIT 500"
        );
        sqlx::query(sql)
            .bind(tenant.to_string())
            .fetch_all(&self.pool)
            .await?
            .iter()
            .map(evidence_row)
            .collect()
    }

    /// One submission of the tenant's with its sealed document.
    pub async fn kyc_evidence_document(
        &self,
        tenant: TenantId,
        id: uuid::Uuid,
    ) -> StoreResult<(EvidenceRow, String)> {
        let sql = concat!(
            "SELECT ",
            evidence_columns!(),
            ", document FROM kyc_evidence WHERE tenant_id = $1 AND id = $2"
        );
        let row = sqlx::query(sql)
            .bind(tenant.to_string())
            .bind(id.to_string())
            .fetch_optional(&self.pool)
            .await?
            .ok_or(StoreError::NotFound)?;
        Ok((evidence_row(&row)?, row.try_get("document")?))
    }

    /// The screening outcome of the tenant's newest beneficial-owner declaration, if any.
    pub async fn kyc_latest_ubo_screening(&self, tenant: TenantId) -> StoreResult<Option<String>> {
        Ok(sqlx::query_scalar(
            "SELECT screening FROM kyc_evidence WHERE tenant_id = $1 \
             AND item = 'beneficial_owners' ORDER BY created_at DESC, id DESC LIMIT 1",
        )
        .bind(tenant.to_string())
        .fetch_optional(&self.pool)
        .await?)
    }

    /// Every item's status for the tenant (items never submitted are absent).
    pub async fn kyc_item_statuses(&self, tenant: TenantId) -> StoreResult<Vec<(KycItem, String)>> {
        sqlx::query("SELECT item, status FROM kyc_items WHERE tenant_id = $1 ORDER BY item")
            .bind(tenant.to_string())
            .fetch_all(&self.pool)
            .await?
            .iter()
            .map(|row| Ok((parsed(row, "item")?, row.try_get("status")?)))
            .collect()
    }

    /// The tenant's live volume over the last 30 days, in US cents: from the running totals,
    /// two index lookups whatever its history.
    pub async fn kyc_volume_30d(&self, tenant: TenantId, now: OffsetDateTime) -> StoreResult<i64> {
        let row = sqlx::query(
            "SELECT \
             (SELECT usd_cents FROM monitoring_totals WHERE tenant_id = $1 \
              AND environment = 'live') AS total, \
             (SELECT total_usd_cents - usd_cents FROM monitoring_observations \
              WHERE tenant_id = $1 AND environment = 'live' AND observed_at >= $2 \
              ORDER BY observed_at, seq LIMIT 1) AS base",
        )
        .bind(tenant.to_string())
        .bind(to_micros(now - VOLUME_WINDOW))
        .fetch_one(&self.pool)
        .await?;
        let total: Option<i64> = row.try_get("total")?;
        let base: Option<i64> = row.try_get("base")?;
        Ok(match (total, base) {
            (Some(total), Some(base)) => total - base,
            _ => 0,
        })
    }

    /// Records a tenant's upgrade request with the KYC case it opens or joins (`case`), in
    /// one transaction; a second pending one is a conflict.
    pub async fn insert_kyc_upgrade_request(
        &self,
        request: &UpgradeRequestRow,
        event: &AuditEvent,
        case: &CaseOpening,
        context: &AuditContext,
    ) -> StoreResult<()> {
        let mut tx = self.pool.begin().await?;
        let sql = concat!(
            "INSERT INTO kyc_upgrade_requests (",
            request_columns!(),
            ") VALUES ($1, $2, $3, $4, $5, $6, NULL)"
        );
        sqlx::query(sql)
            .bind(&request.id)
            .bind(request.tenant.to_string())
            .bind(request.level.as_str())
            .bind(&request.status)
            .bind(&request.requested_by)
            .bind(to_micros(request.requested_at))
            .execute(&mut *tx)
            .await
            .map_err(StoreError::from_write)?;
        crate::audit::record(&mut tx, event).await?;
        crate::cases::open_or_join_in(&mut tx, case, context).await?;
        tx.commit().await?;
        Ok(())
    }

    /// Upgrade requests with `status`, oldest first (at most 500).
    pub async fn kyc_upgrade_requests(&self, status: &str) -> StoreResult<Vec<UpgradeRequestRow>> {
        let sql = concat!(
            "SELECT ",
            request_columns!(),
            " FROM kyc_upgrade_requests WHERE status = $1 ORDER BY requested_at, id LIMIT 500"
        );
        sqlx::query(sql)
            .bind(status)
            .fetch_all(&self.pool)
            .await?
            .iter()
            .map(request_row)
            .collect()
    }

    /// Closes a pending upgrade request as rejected, with its audit event and the entry on its
    /// case's log (`case_event`); `false` if it was not pending.
    pub async fn reject_kyc_upgrade_request(
        &self,
        id: uuid::Uuid,
        at: OffsetDateTime,
        event: &AuditEvent,
        case_event: &CaseEvent,
    ) -> StoreResult<bool> {
        let mut tx = self.pool.begin().await?;
        let updated = sqlx::query(
            "UPDATE kyc_upgrade_requests SET status = 'rejected', decided_at = $1 \
             WHERE id = $2 AND status = 'pending'",
        )
        .bind(to_micros(at))
        .bind(id.to_string())
        .execute(&mut *tx)
        .await?;
        if updated.rows_affected() == 0 {
            return Ok(false);
        }
        crate::audit::record(&mut tx, event).await?;
        crate::cases::log_on_item_case_in(&mut tx, "kyc_upgrade", &id.to_string(), case_event)
            .await?;
        tx.commit().await?;
        Ok(true)
    }

    pub async fn kyc_upgrade_request(&self, id: uuid::Uuid) -> StoreResult<UpgradeRequestRow> {
        let sql = concat!(
            "SELECT ",
            request_columns!(),
            " FROM kyc_upgrade_requests WHERE id = $1"
        );
        let row = sqlx::query(sql)
            .bind(id.to_string())
            .fetch_optional(&self.pool)
            .await?
            .ok_or(StoreError::NotFound)?;
        request_row(&row)
    }
}

/// Applies an approved KYC level change inside the decision's transaction: refused (conflict)
/// unless every item the level requires is verified now; closes the tenant's pending request
/// for that level and writes the decision, naming both people, on the request's case log.
pub(crate) async fn change_level_in(
    conn: &mut AnyConnection,
    tenant: TenantId,
    level: KycLevel,
    approval: (&crate::PendingAction, benteng_core::ids::PersonId),
    context: &AuditContext,
) -> StoreResult<()> {
    let verified = crate::monitoring::verified_items(conn, tenant).await?;
    if level.requires().iter().any(|item| !verified.contains(item)) {
        return Err(StoreError::Conflict);
    }
    let before: Option<String> =
        sqlx::query_scalar("SELECT level FROM kyc_profiles WHERE tenant_id = $1")
            .bind(tenant.to_string())
            .fetch_optional(&mut *conn)
            .await?;
    let now = OffsetDateTime::now_utc();
    crate::monitoring::set_kyc_level_in(conn, tenant, level, now).await?;
    let requests: Vec<String> = sqlx::query_scalar(
        "SELECT id FROM kyc_upgrade_requests WHERE tenant_id = $1 AND status = 'pending' \
         AND level = $2",
    )
    .bind(tenant.to_string())
    .bind(level.as_str())
    .fetch_all(&mut *conn)
    .await?;
    let (pending, decider) = approval;
    for request in &requests {
        let data = serde_json::json!({
            "request": request,
            "level": level.as_str(),
            "proposal": pending.id.to_string(),
            "proposed_by": pending.proposed_by.to_string(),
            "approved_by": decider.to_string(),
        });
        let event = CaseEvent {
            at: now,
            actor: context.actor.clone(),
            kind: "kyc_upgrade_approved".to_owned(),
            comment: None,
            data: Some(data.to_string()),
        };
        crate::cases::log_on_item_case_in(conn, "kyc_upgrade", request, &event).await?;
    }
    sqlx::query(
        "UPDATE kyc_upgrade_requests SET status = 'approved', decided_at = $1 \
         WHERE tenant_id = $2 AND status = 'pending' AND level = $3",
    )
    .bind(to_micros(now))
    .bind(tenant.to_string())
    .bind(level.as_str())
    .execute(&mut *conn)
    .await?;
    let event = AuditEvent::new(
        &context.for_tenant(tenant),
        "kyc.level_changed",
        benteng_core::audit::Retention::Security,
        ("tenant", tenant.to_string()),
    )
    .at(now)
    .change(
        "level",
        before.unwrap_or_else(|| "none".to_owned()).into(),
        level.as_str().into(),
    );
    crate::audit::record(conn, &event).await
}
