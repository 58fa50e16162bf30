//! Security incidents and address blocks (migration 0022). A detection that fires opens the
//! incident of its dedup key or joins the ongoing one (the partial unique index decides between
//! two instances firing at once), raising its severity and tightening its clocks; each change
//! writes its audit event in its own transaction.

use benteng_core::audit::{AuditContext, AuditEvent, Retention};
use benteng_core::ids::{BlockId, IncidentId};
use benteng_core::incidents::{IncidentState, Severity};
use sqlx::Row;
use sqlx::any::AnyRow;
use time::OffsetDateTime;

use crate::rows::{optional_time_at, parsed, time_at, to_micros};
use crate::{Store, StoreError, StoreResult};

/// A detection that fired: what it saw, about whom.
#[derive(Debug, Clone)]
pub struct DetectionFired {
    /// The ongoing attack it belongs to (e.g. `address:203.0.113.7`).
    pub dedup_key: String,
    pub title: String,
    pub client_address: Option<String>,
    pub detection: String,
    pub severity: Severity,
    pub count: i64,
    pub window_secs: i64,
    pub at: OffsetDateTime,
}

/// An incident as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IncidentRow {
    pub id: IncidentId,
    pub title: String,
    pub severity: Severity,
    pub state: IncidentState,
    pub client_address: Option<String>,
    pub opened_at: OffsetDateTime,
    pub acknowledge_by: OffsetDateTime,
    pub contain_by: OffsetDateTime,
    pub acknowledged_at: Option<OffsetDateTime>,
    pub acknowledged_by: Option<String>,
    pub contained_at: Option<OffsetDateTime>,
    pub resolved_at: Option<OffsetDateTime>,
}

/// One firing of a detection linked to an incident.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LinkedDetection {
    pub detection: String,
    pub severity: Severity,
    pub count: i64,
    pub window_secs: i64,
    pub fired_at: OffsetDateTime,
}

/// A block of a client address or network, as stored (`network` in `Network`'s form).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BlockRow {
    pub id: BlockId,
    pub network: String,
    pub reason: String,
    pub incident: Option<IncidentId>,
    pub created_by: String,
    pub created_at: OffsetDateTime,
    pub expires_at: OffsetDateTime,
}

macro_rules! incident_columns {
    () => {
        "id, title, severity, state, client_address, opened_at, acknowledge_by, contain_by, \
         acknowledged_at, acknowledged_by, contained_at, resolved_at"
    };
}

fn incident_from_row(row: &AnyRow) -> StoreResult<IncidentRow> {
    Ok(IncidentRow {
        id: parsed(row, "id")?,
        title: row.try_get("title")?,
        severity: parsed(row, "severity")?,
        state: parsed(row, "state")?,
        client_address: row.try_get("client_address")?,
        opened_at: time_at(row, "opened_at")?,
        acknowledge_by: time_at(row, "acknowledge_by")?,
        contain_by: time_at(row, "contain_by")?,
        acknowledged_at: optional_time_at(row, "acknowledged_at")?,
        acknowledged_by: row.try_get("acknowledged_by")?,
        contained_at: optional_time_at(row, "contained_at")?,
        resolved_at: optional_time_at(row, "resolved_at")?,
    })
}

fn block_from_row(row: &AnyRow) -> StoreResult<BlockRow> {
    let incident: Option<String> = row.try_get("incident_id")?;
    Ok(BlockRow {
        id: parsed(row, "id")?,
        network: row.try_get("network")?,
        reason: row.try_get("reason")?,
        incident: incident
            .map(|i| i.parse())
            .transpose()
            .map_err(|_| StoreError::Corrupt("block incident".to_owned()))?,
        created_by: row.try_get("created_by")?,
        created_at: time_at(row, "created_at")?,
        expires_at: time_at(row, "expires_at")?,
    })
}

fn clock(at: OffsetDateTime, within: std::time::Duration) -> i64 {
    to_micros(at).saturating_add(i64::try_from(within.as_micros()).unwrap_or(i64::MAX))
}

impl Store {
    /// Opens the incident of the firing's dedup key, or joins the ongoing one: the link is
    /// recorded, a more severe detection raises the severity and pulls the clocks in (from the
    /// incident's opening). Audited `incident.opened` or `incident.detection_linked`. Opening
    /// and raising make the incident's alert due.
    pub async fn record_detection(
        &self,
        fired: &DetectionFired,
        context: &AuditContext,
    ) -> StoreResult<IncidentId> {
        let mut tx = self.pool.begin().await?;
        let at = to_micros(fired.at);
        let new_id = IncidentId::new();
        let opened = sqlx::query(
            "INSERT INTO incidents (id, dedup_key, title, severity, state, client_address, \
             opened_at, acknowledge_by, contain_by, updated_at, notify_due_at) \
             VALUES ($1, $2, $3, $4, 'open', $5, $6, $7, $8, $6, $6) \
             ON CONFLICT (dedup_key) WHERE state <> 'resolved' DO NOTHING",
        )
        .bind(new_id.to_string())
        .bind(&fired.dedup_key)
        .bind(&fired.title)
        .bind(fired.severity.as_str())
        .bind(fired.client_address.clone())
        .bind(at)
        .bind(clock(fired.at, fired.severity.acknowledge_within()))
        .bind(clock(fired.at, fired.severity.contain_within()))
        .execute(&mut *tx)
        .await?
        .rows_affected()
            == 1;
        let id = if opened {
            new_id
        } else {
            let row = sqlx::query(
                "SELECT id, severity, opened_at FROM incidents \
                 WHERE dedup_key = $1 AND state <> 'resolved'",
            )
            .bind(&fired.dedup_key)
            .fetch_one(&mut *tx)
            .await?;
            let id: IncidentId = parsed(&row, "id")?;
            let severity: Severity = parsed(&row, "severity")?;
            if fired.severity < severity {
                let opened_at = time_at(&row, "opened_at")?;
                sqlx::query(
                    "UPDATE incidents SET severity = $1, title = $2, \
                     acknowledge_by = CASE WHEN acknowledge_by > $3 THEN $3 ELSE acknowledge_by END, \
                     contain_by = CASE WHEN contain_by > $4 THEN $4 ELSE contain_by END, \
                     updated_at = $5, notify_due_at = $5, notified_at = NULL WHERE id = $6",
                )
                .bind(fired.severity.as_str())
                .bind(&fired.title)
                .bind(clock(opened_at, fired.severity.acknowledge_within()))
                .bind(clock(opened_at, fired.severity.contain_within()))
                .bind(at)
                .bind(id.to_string())
                .execute(&mut *tx)
                .await?;
            }
            id
        };
        sqlx::query(
            "INSERT INTO incident_detections (incident_id, detection, severity, count, \
             window_secs, fired_at) VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(id.to_string())
        .bind(&fired.detection)
        .bind(fired.severity.as_str())
        .bind(fired.count)
        .bind(fired.window_secs)
        .bind(at)
        .execute(&mut *tx)
        .await?;
        let kind = if opened {
            "incident.opened"
        } else {
            "incident.detection_linked"
        };
        let event = AuditEvent::new(
            context,
            kind,
            Retention::Security,
            ("incident", id.to_string()),
        )
        .at(fired.at)
        .change(
            "detection",
            serde_json::Value::Null,
            fired.detection.clone().into(),
        )
        .change(
            "severity",
            serde_json::Value::Null,
            fired.severity.as_str().into(),
        )
        .change("count", serde_json::Value::Null, fired.count.into());
        crate::audit::record(&mut tx, &event).await?;
        tx.commit().await?;
        Ok(id)
    }

    /// Opens (or joins) the P1 incident of a broken audit trail: an edited, removed or
    /// reordered row found by verification, whoever ran it.
    pub async fn report_audit_break(
        &self,
        broken: &crate::AuditBreak,
        at: OffsetDateTime,
        context: &AuditContext,
    ) -> StoreResult<IncidentId> {
        let fired = DetectionFired {
            dedup_key: "audit_chain".to_owned(),
            title: format!(
                "Audit trail broken: {} chain at position {} ({})",
                broken.retention.as_str(),
                broken.position,
                broken.problem
            ),
            client_address: None,
            detection: "audit_chain_broken".to_owned(),
            severity: Severity::P1,
            count: 1,
            window_secs: 0,
            at,
        };
        self.record_detection(&fired, context).await
    }

    /// Claims up to `limit` incidents whose alert is due at `now` for `lease` (their due time
    /// moves past it, so no other instance takes them meanwhile); oldest due first.
    pub async fn claim_incident_alerts(
        &self,
        now: OffsetDateTime,
        lease: std::time::Duration,
        limit: u32,
    ) -> StoreResult<Vec<IncidentRow>> {
        let rows = sqlx::query(
            "UPDATE incidents SET notify_due_at = $1 \
             WHERE notified_at IS NULL AND notify_due_at <= $2 AND id IN \
             (SELECT id FROM incidents WHERE notified_at IS NULL AND notify_due_at <= $2 \
              ORDER BY notify_due_at LIMIT $3) RETURNING id",
        )
        .bind(clock(now, lease))
        .bind(to_micros(now))
        .bind(i64::from(limit))
        .fetch_all(&self.pool)
        .await?;
        let mut claimed = Vec::with_capacity(rows.len());
        for row in &rows {
            claimed.push(self.incident(parsed(row, "id")?).await?);
        }
        Ok(claimed)
    }

    /// Records that the incident's alert, at `severity`, reached the channel. A rise in
    /// severity after the claim made it due again, and that alert still goes. Audited
    /// `incident.alerted`.
    pub async fn mark_incident_alerted(
        &self,
        id: IncidentId,
        severity: Severity,
        at: OffsetDateTime,
        context: &AuditContext,
    ) -> StoreResult<()> {
        let mut tx = self.pool.begin().await?;
        sqlx::query(
            "UPDATE incidents SET notified_at = $1, notify_due_at = NULL \
             WHERE id = $2 AND severity = $3 AND notified_at IS NULL",
        )
        .bind(to_micros(at))
        .bind(id.to_string())
        .bind(severity.as_str())
        .execute(&mut *tx)
        .await?;
        let event = AuditEvent::new(
            context,
            "incident.alerted",
            Retention::Security,
            ("incident", id.to_string()),
        )
        .at(at)
        .change(
            "severity",
            serde_json::Value::Null,
            severity.as_str().into(),
        );
        crate::audit::record(&mut tx, &event).await?;
        tx.commit().await?;
        Ok(())
    }

    pub async fn incident(&self, id: IncidentId) -> StoreResult<IncidentRow> {
        let row = sqlx::query(concat!(
            "SELECT ",
            incident_columns!(),
            " FROM incidents WHERE id = $1"
        ))
        .bind(id.to_string())
        .fetch_optional(&self.pool)
        .await?
        .ok_or(StoreError::NotFound)?;
        incident_from_row(&row)
    }

    /// The newest incidents first, at most `limit`.
    pub async fn incidents(&self, limit: u32) -> StoreResult<Vec<IncidentRow>> {
        sqlx::query(concat!(
            "SELECT ",
            incident_columns!(),
            " FROM incidents ORDER BY opened_at DESC, id LIMIT $1"
        ))
        .bind(i64::from(limit))
        .fetch_all(&self.pool)
        .await?
        .iter()
        .map(incident_from_row)
        .collect()
    }

    /// The detections linked to an incident, oldest first.
    pub async fn incident_detections(&self, id: IncidentId) -> StoreResult<Vec<LinkedDetection>> {
        sqlx::query(
            "SELECT detection, severity, count, window_secs, fired_at FROM incident_detections \
             WHERE incident_id = $1 ORDER BY fired_at",
        )
        .bind(id.to_string())
        .fetch_all(&self.pool)
        .await?
        .iter()
        .map(|row| {
            Ok(LinkedDetection {
                detection: row.try_get("detection")?,
                severity: parsed(row, "severity")?,
                count: row.try_get("count")?,
                window_secs: row.try_get("window_secs")?,
                fired_at: time_at(row, "fired_at")?,
            })
        })
        .collect()
    }

    /// Moves an open incident to acknowledged, by the context's actor; `Conflict` when it is
    /// not open, `NotFound` when there is none. Audited `incident.acknowledged`.
    pub async fn acknowledge_incident(
        &self,
        id: IncidentId,
        at: OffsetDateTime,
        context: &AuditContext,
    ) -> StoreResult<IncidentRow> {
        let mut tx = self.pool.begin().await?;
        let moved = sqlx::query(
            "UPDATE incidents SET state = 'acknowledged', acknowledged_at = $1, \
             acknowledged_by = $2, updated_at = $1 WHERE id = $3 AND state = 'open'",
        )
        .bind(to_micros(at))
        .bind(&context.actor)
        .bind(id.to_string())
        .execute(&mut *tx)
        .await?;
        if moved.rows_affected() != 1 {
            let exists = sqlx::query("SELECT 1 FROM incidents WHERE id = $1")
                .bind(id.to_string())
                .fetch_optional(&mut *tx)
                .await?
                .is_some();
            return Err(if exists {
                StoreError::Conflict
            } else {
                StoreError::NotFound
            });
        }
        let event = AuditEvent::new(
            context,
            "incident.acknowledged",
            Retention::Security,
            ("incident", id.to_string()),
        )
        .at(at)
        .change("state", "open".into(), "acknowledged".into());
        crate::audit::record(&mut tx, &event).await?;
        tx.commit().await?;
        self.incident(id).await
    }

    /// Records a block of `network` until `expires_at`; when it names an incident, that
    /// incident (if acknowledged or open) becomes contained. Audited `address.blocked` (and
    /// `incident.contained`). `NotFound` when the incident does not exist.
    pub async fn block_network(
        &self,
        network: &str,
        reason: &str,
        incident: Option<IncidentId>,
        at: OffsetDateTime,
        expires_at: OffsetDateTime,
        context: &AuditContext,
    ) -> StoreResult<BlockRow> {
        let mut tx = self.pool.begin().await?;
        if let Some(incident) = incident {
            let contained = sqlx::query(
                "UPDATE incidents SET state = 'contained', contained_at = $1, updated_at = $1, \
                 acknowledged_at = COALESCE(acknowledged_at, $1), \
                 acknowledged_by = COALESCE(acknowledged_by, $2) \
                 WHERE id = $3 AND state IN ('open', 'acknowledged')",
            )
            .bind(to_micros(at))
            .bind(&context.actor)
            .bind(incident.to_string())
            .execute(&mut *tx)
            .await?;
            if contained.rows_affected() == 1 {
                let event = AuditEvent::new(
                    context,
                    "incident.contained",
                    Retention::Security,
                    ("incident", incident.to_string()),
                )
                .at(at)
                .change("state", serde_json::Value::Null, "contained".into());
                crate::audit::record(&mut tx, &event).await?;
            } else {
                sqlx::query("SELECT 1 FROM incidents WHERE id = $1")
                    .bind(incident.to_string())
                    .fetch_optional(&mut *tx)
                    .await?
                    .ok_or(StoreError::NotFound)?;
            }
        }
        let id = BlockId::new();
        sqlx::query(
            "INSERT INTO address_blocks (id, network, reason, incident_id, created_by, \
             created_at, expires_at) VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(id.to_string())
        .bind(network)
        .bind(reason)
        .bind(incident.map(|i| i.to_string()))
        .bind(&context.actor)
        .bind(to_micros(at))
        .bind(to_micros(expires_at))
        .execute(&mut *tx)
        .await?;
        let event = AuditEvent::new(
            context,
            "address.blocked",
            Retention::Security,
            ("address_block", id.to_string()),
        )
        .at(at)
        .change("network", serde_json::Value::Null, network.into())
        .change(
            "expires_at",
            serde_json::Value::Null,
            to_micros(expires_at).into(),
        )
        .change("reason", serde_json::Value::Null, reason.into());
        crate::audit::record(&mut tx, &event).await?;
        tx.commit().await?;
        Ok(BlockRow {
            id,
            network: network.to_owned(),
            reason: reason.to_owned(),
            incident,
            created_by: context.actor.clone(),
            created_at: at,
            expires_at,
        })
    }

    /// The blocks still in force at `at`.
    pub async fn active_blocks(&self, at: OffsetDateTime) -> StoreResult<Vec<BlockRow>> {
        sqlx::query(
            "SELECT id, network, reason, incident_id, created_by, created_at, expires_at \
             FROM address_blocks WHERE expires_at > $1 ORDER BY created_at, id",
        )
        .bind(to_micros(at))
        .fetch_all(&self.pool)
        .await?
        .iter()
        .map(block_from_row)
        .collect()
    }
}
