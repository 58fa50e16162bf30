//! Webhooks as stored: the outbox of tenant-visible events (written inside the transaction of
//! the change), endpoints, deliveries (one per event and endpoint, claimed by one worker at a
//! time), attempts, and the signing keys (opaque here: sealed by the vault).
//!
//! Fan-out happens when the event is written: one `INSERT … SELECT` gives every enabled
//! endpoint of the tenant's environment that subscribes to the type its delivery, so an event
//! committed is an event scheduled, and a rolled-back change schedules nothing.

use benteng_core::api_key::KeyEnvironment;
use benteng_core::audit::AuditEvent;
use benteng_core::ids::{EndpointId, EventId, TenantId};
use benteng_core::payments::transfer::TransferStatus;
use benteng_core::webhooks::{EventType, EventTypes, Notice, rfc3339};
use sqlx::any::AnyRow;
use sqlx::{AnyConnection, Row};
use time::OffsetDateTime;

use crate::rows::{Statement, optional_time_at, parsed, time_at, to_micros};
use crate::{Backend, Store, StoreError, StoreResult};

/// An endpoint as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EndpointRow {
    pub id: EndpointId,
    pub tenant_id: TenantId,
    pub environment: KeyEnvironment,
    pub url: String,
    pub event_types: EventTypes,
    pub description: String,
    /// `RS256` or `PS256`.
    pub alg: String,
    pub enabled: bool,
    pub disabled_reason: Option<String>,
    pub created_at: OffsetDateTime,
    pub updated_at: OffsetDateTime,
    /// Set for a SNAP partner's notification endpoint: it gets only that partner's SNAP
    /// transfers' events, sent in SNAP's format and signature.
    pub snap_partner_id: Option<uuid::Uuid>,
}

/// A delivery a worker holds: the event, its endpoint, which attempt this is, and the claim.
#[derive(Debug, Clone)]
pub struct ClaimedDelivery {
    pub notice: Notice,
    pub sequence: i64,
    pub endpoint: EndpointRow,
    /// 1 for the first attempt.
    pub attempt: u32,
    pub lock_token: String,
    /// The SNAP partner's `partnerReferenceNo` of the transfer, for a SNAP endpoint.
    pub snap_reference: Option<String>,
}

/// One attempt, as the worker saw it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AttemptRow {
    pub attempt: u32,
    pub started_at: OffsetDateTime,
    pub status: Option<u16>,
    /// `delivered`, `http_error`, `redirect`, `timeout`, `refused_address`, `connect_error`…
    pub outcome: String,
    pub error: Option<String>,
    pub latency_ms: i64,
    pub response_excerpt: String,
}

/// What recording an attempt found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AttemptRecorded {
    /// False when the claim had lapsed and another worker holds the delivery now.
    pub still_claimed: bool,
    /// Since when every attempt to the endpoint failed; `None` after a success.
    pub failing_since: Option<OffsetDateTime>,
}

/// What becomes of a delivery after an attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeliveryNext {
    Delivered,
    RetryAt(OffsetDateTime),
    /// The schedule is exhausted (or the endpoint is gone): no more attempts.
    Failed,
}

/// A delivery as the tenant reads it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeliveryRow {
    pub event_id: EventId,
    pub endpoint_id: EndpointId,
    pub event_type: String,
    pub object_id: String,
    pub sequence: i64,
    pub state: String,
    pub attempts: i64,
    pub next_attempt_at: OffsetDateTime,
    pub last_status: Option<i64>,
    pub created_at: OffsetDateTime,
    pub finished_at: Option<OffsetDateTime>,
}

/// A webhook signing key as stored: its public JWK and its sealed private half.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SigningKeyRow {
    pub kid: String,
    pub generation: i64,
    pub public_jwk: String,
    pub sealed_private: String,
    /// The generation's P-256 half (ES256), public JWK and sealed PKCS#8; `None` on
    /// generations made before ES256 existed.
    pub ec_public_jwk: Option<String>,
    pub ec_sealed_private: Option<String>,
    pub created_at: OffsetDateTime,
    pub signs_from: OffsetDateTime,
}

/// An e-mail-shaped notice to a tenant (what a mailer would send), kept for the API.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TenantNoticeRow {
    pub id: uuid::Uuid,
    pub tenant_id: TenantId,
    pub subject: String,
    pub body: String,
    pub created_at: OffsetDateTime,
}

/// The delivery queue's state, for `/metrics`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct QueueStats {
    pub pending: i64,
    pub due: i64,
    pub oldest_due_secs: i64,
    pub failed: i64,
}

macro_rules! endpoint_columns {
    () => {
        "id, tenant_id, environment, url, event_types, description, alg, enabled, \
         disabled_reason, created_at, updated_at, snap_partner_id"
    };
}

fn endpoint_from_row(row: &AnyRow) -> StoreResult<EndpointRow> {
    let enabled: i64 = row.try_get("enabled")?;
    Ok(EndpointRow {
        id: parsed(row, "id")?,
        tenant_id: parsed(row, "tenant_id")?,
        environment: parsed(row, "environment")?,
        url: row.try_get("url")?,
        event_types: parsed(row, "event_types")?,
        description: row.try_get("description")?,
        alg: row.try_get("alg")?,
        enabled: enabled == 1,
        disabled_reason: row.try_get("disabled_reason")?,
        created_at: time_at(row, "created_at")?,
        updated_at: time_at(row, "updated_at")?,
        snap_partner_id: snap_partner(row, "snap_partner_id")?,
    })
}

fn snap_partner(row: &AnyRow, column: &str) -> StoreResult<Option<uuid::Uuid>> {
    let id: Option<String> = row.try_get(column)?;
    id.map(|id| {
        id.parse()
            .map_err(|_| StoreError::Corrupt("webhook_endpoints.snap_partner_id".to_owned()))
    })
    .transpose()
}

/// A SNAP endpoint (`e`) gets only the events of its partner's SNAP transfers (`ev`).
macro_rules! snap_scope {
    () => {
        "(e.snap_partner_id IS NULL OR EXISTS (SELECT 1 FROM snap_transfers st \
         WHERE st.partner_id = e.snap_partner_id AND st.transfer_id = ev.object_id))"
    };
}

/// One delivery per (event `ev` from `$events`, subscribed enabled endpoint of the tenant's
/// environment), due at once; `$filter` (ending in `AND`, or empty) picks the events.
macro_rules! fan_out_from {
    ($events:literal, $filter:literal) => {
        concat!(
            "INSERT INTO webhook_deliveries (event_id, endpoint_id, tenant_id, object_id, \
             sequence, state, attempts, next_attempt_at, created_at) \
             SELECT ev.id, e.id, ev.tenant_id, ev.object_id, ev.sequence, 'pending', 0, \
             ev.created_at, ev.created_at FROM ",
            $events,
            " JOIN webhook_endpoints e \
             ON e.tenant_id = ev.tenant_id AND e.environment = ev.environment WHERE ",
            $filter,
            " ev.event_type <> 'webhook.test' AND e.enabled = 1 AND e.deleted_at IS NULL \
             AND (e.event_types = '*' \
             OR (' ' || e.event_types || ' ') LIKE ('% ' || ev.event_type || ' %')) AND ",
            snap_scope!()
        )
    };
}

const EVENTS_INSERT: &str = "INSERT INTO webhook_events (id, tenant_id, environment, \
     event_type, object_type, object_id, sequence, data, created_at) VALUES";
const EVENTS_COLUMNS: usize = 9;

/// Writes a new object's audit events and its first webhook events, numbered 1, 2… in order,
/// and schedules their deliveries. On PostgreSQL that is one statement (a data-modifying
/// `WITH`): the outbox costs the transaction no round trip of its own. SQLite runs the audit
/// insert, the events' insert and the fan-out one after another.
pub(crate) async fn insert_audit_and_new_notices(
    conn: &mut AnyConnection,
    backend: Backend,
    audit: &[AuditEvent],
    notices: &[Notice],
) -> StoreResult<()> {
    let Some(first) = notices.first() else {
        return crate::audit::record_all(conn, audit).await;
    };
    if backend == Backend::Sqlite || audit.is_empty() {
        crate::audit::record_all(conn, audit).await?;
    }
    let statement = match backend {
        Backend::Sqlite => Statement::new(EVENTS_INSERT).rows(notices.len(), EVENTS_COLUMNS),
        Backend::Postgres => {
            // The audit rows come first in the statement, so their placeholders do too.
            let head = if audit.is_empty() {
                Statement::new("WITH ")
            } else {
                Statement::new("WITH audit AS (")
                    .then(crate::audit::AUDIT_INSERT)
                    .rows(audit.len(), crate::audit::AUDIT_COLUMNS)
                    .then("), ")
            };
            head.then("ev AS (")
                .then(EVENTS_INSERT)
                .rows(notices.len(), EVENTS_COLUMNS)
                .then(concat!(
                    " RETURNING id, tenant_id, environment, event_type, object_id, sequence, \
                     created_at) ",
                    fan_out_from!("ev", "")
                ))
        }
    };
    let mut query = sqlx::query(statement.sql());
    if backend == Backend::Postgres {
        query = crate::audit::bind_events(query, audit)?;
    }
    for (sequence, notice) in (1_i64..).zip(notices) {
        query = query
            .bind(notice.id.to_string())
            .bind(notice.tenant_id.to_string())
            .bind(notice.environment.as_str())
            .bind(notice.event_type.as_str())
            .bind(notice.object_type.clone())
            .bind(notice.object_id.clone())
            .bind(sequence)
            .bind(notice.data.to_string())
            .bind(to_micros(notice.created_at));
    }
    query.execute(&mut *conn).await?;
    if backend == Backend::Sqlite {
        let last = i64::try_from(notices.len()).unwrap_or(i64::MAX);
        fan_out(conn, &first.object_type, &first.object_id, 1, last).await?;
    }
    Ok(())
}

/// Writes an object's next event (its sequence one above the last) and schedules its
/// deliveries. The caller's change holds the object's row, so no other writer numbers the
/// same object at the same time (and the unique constraint would refuse it).
pub(crate) async fn insert_next_notice(
    conn: &mut AnyConnection,
    notice: &Notice,
) -> StoreResult<()> {
    let row = sqlx::query(
        "INSERT INTO webhook_events (id, tenant_id, environment, event_type, object_type, \
         object_id, sequence, data, created_at) VALUES ($1, $2, $3, $4, $5, $6, \
         (SELECT COALESCE(MAX(sequence), 0) + 1 FROM webhook_events \
          WHERE object_type = $5 AND object_id = $6), $7, $8) RETURNING sequence",
    )
    .bind(notice.id.to_string())
    .bind(notice.tenant_id.to_string())
    .bind(notice.environment.as_str())
    .bind(notice.event_type.as_str())
    .bind(notice.object_type.clone())
    .bind(notice.object_id.clone())
    .bind(notice.data.to_string())
    .bind(to_micros(notice.created_at))
    .fetch_one(&mut *conn)
    .await?;
    let sequence: i64 = row.try_get("sequence")?;
    fan_out(
        conn,
        &notice.object_type,
        &notice.object_id,
        sequence,
        sequence,
    )
    .await
}

/// One delivery per (event of the object in `from..=to`, subscribed enabled endpoint of the
/// tenant's environment), due at once.
async fn fan_out(
    conn: &mut AnyConnection,
    object_type: &str,
    object_id: &str,
    from: i64,
    to: i64,
) -> StoreResult<()> {
    sqlx::query(fan_out_from!(
        "webhook_events ev",
        "ev.object_type = $1 AND ev.object_id = $2 AND ev.sequence BETWEEN $3 AND $4 AND"
    ))
    .bind(object_type.to_owned())
    .bind(object_id.to_owned())
    .bind(from)
    .bind(to)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// Writes `batch.finished` for the batch of `transfer` once every transfer of the batch has
/// ended, at most once per batch; called in the transaction that ended a transfer (or wrote
/// the batch). The batch's row is locked first (a no-op update), so of two of its transfers
/// ending at once the later sees the earlier's end and exactly one writes the event.
pub(crate) async fn notice_batch_if_finished(
    conn: &mut AnyConnection,
    batch: &str,
    at: OffsetDateTime,
) -> StoreResult<()> {
    sqlx::query("UPDATE batches SET accepted = accepted WHERE id = $1")
        .bind(batch.to_owned())
        .execute(&mut *conn)
        .await?;
    let told = sqlx::query(
        "SELECT id FROM webhook_events WHERE object_type = 'batch' AND object_id = $1 \
         AND event_type = 'batch.finished'",
    )
    .bind(batch.to_owned())
    .fetch_optional(&mut *conn)
    .await?;
    if told.is_some() {
        return Ok(());
    }
    let rows = sqlx::query(
        "SELECT status, tenant_id, environment, CAST(COUNT(*) AS BIGINT) AS n FROM transfers \
         WHERE batch_id = $1 GROUP BY status, tenant_id, environment",
    )
    .bind(batch.to_owned())
    .fetch_all(&mut *conn)
    .await?;
    let mut by_status = serde_json::Map::new();
    let mut total = 0_i64;
    let mut owner = None;
    for row in &rows {
        let status: TransferStatus = parsed(row, "status")?;
        if !status.has_ended() {
            return Ok(());
        }
        let count: i64 = row.try_get("n")?;
        total += count;
        by_status.insert(status.as_str().to_owned(), count.into());
        owner = Some((
            parsed::<TenantId>(row, "tenant_id")?,
            parsed::<KeyEnvironment>(row, "environment")?,
        ));
    }
    let Some((tenant_id, environment)) = owner else {
        return Ok(());
    };
    let notice = Notice {
        id: EventId::new(),
        tenant_id,
        environment,
        event_type: EventType::BatchFinished,
        object_type: "batch".to_owned(),
        object_id: batch.to_owned(),
        data: serde_json::json!({
            "transfers": total,
            "by_status": by_status,
            "finished_at": rfc3339(at),
        }),
        created_at: at,
    };
    insert_next_notice(conn, &notice).await
}

/// `batch.finished` for the batch `transfer` belongs to, if any (see
/// [`notice_batch_if_finished`]).
pub(crate) async fn notice_transfers_batch_if_finished(
    conn: &mut AnyConnection,
    transfer: &str,
    at: OffsetDateTime,
) -> StoreResult<()> {
    let batch: Option<String> = sqlx::query("SELECT batch_id FROM transfers WHERE id = $1")
        .bind(transfer.to_owned())
        .fetch_optional(&mut *conn)
        .await?
        .map(|row| row.try_get("batch_id"))
        .transpose()?
        .flatten();
    match batch {
        Some(batch) => notice_batch_if_finished(conn, &batch, at).await,
        None => Ok(()),
    }
}

/// `balance.credited`: the tenant's balance in one currency of one environment was funded.
/// Its object is that balance; the ledger's update of the account row (earlier in the same
/// transaction) keeps concurrent credits from numbering it twice.
pub(crate) async fn notice_balance_credited(
    conn: &mut AnyConnection,
    tenant_id: TenantId,
    environment: KeyEnvironment,
    amount: &benteng_core::money::Money,
    ledger_transfer: &str,
    at: OffsetDateTime,
) -> StoreResult<()> {
    let currency = amount.currency().code();
    let notice = Notice {
        id: EventId::new(),
        tenant_id,
        environment,
        event_type: EventType::BalanceCredited,
        object_type: "balance".to_owned(),
        object_id: format!("{tenant_id}:{}:{currency}", environment.as_str()),
        data: serde_json::json!({
            "currency": currency,
            "credited": {"amount": amount.to_decimal().to_string(), "currency": currency},
            "ledger_transfer_id": ledger_transfer,
        }),
        created_at: at,
    };
    insert_next_notice(conn, &notice).await
}

fn delivery_from_row(row: &AnyRow) -> StoreResult<DeliveryRow> {
    Ok(DeliveryRow {
        event_id: parsed(row, "event_id")?,
        endpoint_id: parsed(row, "endpoint_id")?,
        event_type: row.try_get("event_type")?,
        object_id: row.try_get("object_id")?,
        sequence: row.try_get("sequence")?,
        state: row.try_get("state")?,
        attempts: row.try_get("attempts")?,
        next_attempt_at: time_at(row, "next_attempt_at")?,
        last_status: row.try_get("last_status")?,
        created_at: time_at(row, "created_at")?,
        finished_at: optional_time_at(row, "finished_at")?,
    })
}

fn notice_from_row(row: &AnyRow) -> StoreResult<Notice> {
    let event_type: EventType = parsed(row, "event_type")?;
    let data: String = row.try_get("data")?;
    Ok(Notice {
        id: parsed(row, "event_id")?,
        tenant_id: parsed(row, "tenant_id")?,
        environment: parsed(row, "environment")?,
        event_type,
        object_type: row.try_get("object_type")?,
        object_id: row.try_get("object_id")?,
        data: serde_json::from_str(&data)
            .map_err(|_| StoreError::Corrupt("webhook event data".to_owned()))?,
        created_at: time_at(row, "created_at")?,
    })
}

impl Store {
    pub async fn create_webhook_endpoint(
        &self,
        endpoint: &EndpointRow,
        event: &AuditEvent,
    ) -> StoreResult<()> {
        let mut tx = self.pool.begin().await?;
        sqlx::query(concat!(
            "INSERT INTO webhook_endpoints (",
            endpoint_columns!(),
            ") VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)"
        ))
        .bind(endpoint.id.to_string())
        .bind(endpoint.tenant_id.to_string())
        .bind(endpoint.environment.as_str())
        .bind(endpoint.url.clone())
        .bind(endpoint.event_types.to_string())
        .bind(endpoint.description.clone())
        .bind(endpoint.alg.clone())
        .bind(i64::from(endpoint.enabled))
        .bind(endpoint.disabled_reason.clone())
        .bind(to_micros(endpoint.created_at))
        .bind(to_micros(endpoint.updated_at))
        .bind(endpoint.snap_partner_id.map(|id| id.to_string()))
        .execute(&mut *tx)
        .await
        .map_err(StoreError::from_write)?;
        crate::audit::record(&mut tx, event).await?;
        tx.commit().await?;
        Ok(())
    }

    /// An endpoint not deleted; of `tenant` only when one is given (the operator API reads
    /// any).
    pub async fn webhook_endpoint(
        &self,
        tenant: Option<TenantId>,
        id: EndpointId,
    ) -> StoreResult<EndpointRow> {
        let row = sqlx::query(concat!(
            "SELECT ",
            endpoint_columns!(),
            " FROM webhook_endpoints WHERE id = $1 AND ($2 = '' OR tenant_id = $2) \
             AND deleted_at IS NULL"
        ))
        .bind(id.to_string())
        .bind(tenant.map(|t| t.to_string()).unwrap_or_default())
        .fetch_optional(&self.pool)
        .await?
        .ok_or(StoreError::NotFound)?;
        endpoint_from_row(&row)
    }

    /// A tenant's endpoints (of one environment when given), oldest first.
    pub async fn webhook_endpoints(
        &self,
        tenant: TenantId,
        environment: Option<KeyEnvironment>,
    ) -> StoreResult<Vec<EndpointRow>> {
        sqlx::query(concat!(
            "SELECT ",
            endpoint_columns!(),
            " FROM webhook_endpoints WHERE tenant_id = $1 AND ($2 = '' OR environment = $2) \
             AND deleted_at IS NULL ORDER BY created_at, id LIMIT 100"
        ))
        .bind(tenant.to_string())
        .bind(environment.map(|e| e.as_str()).unwrap_or(""))
        .fetch_all(&self.pool)
        .await?
        .iter()
        .map(endpoint_from_row)
        .collect()
    }

    /// Rewrites an endpoint's settable fields (URL, types, description, algorithm, enabled).
    pub async fn update_webhook_endpoint(
        &self,
        endpoint: &EndpointRow,
        event: &AuditEvent,
    ) -> StoreResult<()> {
        let mut tx = self.pool.begin().await?;
        let updated = sqlx::query(
            "UPDATE webhook_endpoints SET url = $1, event_types = $2, description = $3, \
             alg = $4, enabled = $5, disabled_reason = $6, updated_at = $7, \
             failing_since = CASE WHEN enabled = 0 AND $5 = 1 THEN NULL ELSE failing_since END \
             WHERE id = $8 AND tenant_id = $9 AND deleted_at IS NULL",
        )
        .bind(endpoint.url.clone())
        .bind(endpoint.event_types.to_string())
        .bind(endpoint.description.clone())
        .bind(endpoint.alg.clone())
        .bind(i64::from(endpoint.enabled))
        .bind(endpoint.disabled_reason.clone())
        .bind(to_micros(endpoint.updated_at))
        .bind(endpoint.id.to_string())
        .bind(endpoint.tenant_id.to_string())
        .execute(&mut *tx)
        .await?;
        if updated.rows_affected() != 1 {
            return Err(StoreError::NotFound);
        }
        crate::audit::record(&mut tx, event).await?;
        tx.commit().await?;
        Ok(())
    }

    /// Deletes an endpoint (kept for its history, never listed or sent to again); its pending
    /// deliveries fail.
    pub async fn delete_webhook_endpoint(
        &self,
        tenant: TenantId,
        id: EndpointId,
        at: OffsetDateTime,
        event: &AuditEvent,
    ) -> StoreResult<()> {
        let mut tx = self.pool.begin().await?;
        let deleted = sqlx::query(
            "UPDATE webhook_endpoints SET deleted_at = $1, enabled = 0, updated_at = $1 \
             WHERE id = $2 AND tenant_id = $3 AND deleted_at IS NULL",
        )
        .bind(to_micros(at))
        .bind(id.to_string())
        .bind(tenant.to_string())
        .execute(&mut *tx)
        .await?;
        if deleted.rows_affected() != 1 {
            return Err(StoreError::NotFound);
        }
        sqlx::query(
            "UPDATE webhook_deliveries SET state = 'failed', finished_at = $1, \
             locked_until = NULL, lock_token = NULL WHERE endpoint_id = $2 AND state = 'pending'",
        )
        .bind(to_micros(at))
        .bind(id.to_string())
        .execute(&mut *tx)
        .await?;
        crate::audit::record(&mut tx, event).await?;
        tx.commit().await?;
        Ok(())
    }

    /// A test event for one endpoint only, due at once.
    pub async fn insert_test_notice(
        &self,
        notice: &Notice,
        endpoint: EndpointId,
        event: &AuditEvent,
    ) -> StoreResult<()> {
        let mut tx = self.pool.begin().await?;
        insert_next_notice(&mut tx, notice).await?;
        sqlx::query(
            "INSERT INTO webhook_deliveries (event_id, endpoint_id, tenant_id, object_id, \
             sequence, state, attempts, next_attempt_at, created_at) \
             SELECT ev.id, $2, ev.tenant_id, ev.object_id, ev.sequence, 'pending', 0, \
             ev.created_at, ev.created_at FROM webhook_events ev WHERE ev.id = $1",
        )
        .bind(notice.id.to_string())
        .bind(endpoint.to_string())
        .execute(&mut *tx)
        .await?;
        crate::audit::record(&mut tx, event).await?;
        tx.commit().await?;
        Ok(())
    }

    /// A tenant's events, newest first (at most `limit`).
    pub async fn webhook_events(
        &self,
        tenant: TenantId,
        object_id: Option<&str>,
        limit: u32,
    ) -> StoreResult<Vec<(Notice, i64)>> {
        sqlx::query(
            "SELECT id AS event_id, tenant_id, environment, event_type, object_type, object_id, \
             sequence, data, created_at FROM webhook_events \
             WHERE tenant_id = $1 AND ($2 = '' OR object_id = $2) \
             ORDER BY created_at DESC, sequence DESC LIMIT $3",
        )
        .bind(tenant.to_string())
        .bind(object_id.unwrap_or("").to_owned())
        .bind(i64::from(limit))
        .fetch_all(&self.pool)
        .await?
        .iter()
        .map(|row| Ok((notice_from_row(row)?, row.try_get("sequence")?)))
        .collect()
    }

    /// An endpoint's deliveries, newest first (at most `limit`).
    pub async fn webhook_deliveries(
        &self,
        tenant: TenantId,
        endpoint: EndpointId,
        limit: u32,
    ) -> StoreResult<Vec<DeliveryRow>> {
        sqlx::query(
            "SELECT d.event_id, d.endpoint_id, ev.event_type, d.object_id, d.sequence, d.state, \
             d.attempts, d.next_attempt_at, d.last_status, d.created_at, d.finished_at \
             FROM webhook_deliveries d JOIN webhook_events ev ON ev.id = d.event_id \
             WHERE d.tenant_id = $1 AND d.endpoint_id = $2 \
             ORDER BY d.created_at DESC, d.sequence DESC LIMIT $3",
        )
        .bind(tenant.to_string())
        .bind(endpoint.to_string())
        .bind(i64::from(limit))
        .fetch_all(&self.pool)
        .await?
        .iter()
        .map(delivery_from_row)
        .collect()
    }

    /// The attempts of one delivery of the tenant's, in order.
    pub async fn webhook_attempts(
        &self,
        tenant: TenantId,
        endpoint: EndpointId,
        event: EventId,
    ) -> StoreResult<Vec<AttemptRow>> {
        let rows = sqlx::query(
            "SELECT a.attempt, a.started_at, a.status, a.outcome, a.error, a.latency_ms, \
             a.response_excerpt FROM webhook_attempts a \
             JOIN webhook_deliveries d ON d.event_id = a.event_id AND d.endpoint_id = a.endpoint_id \
             WHERE d.tenant_id = $1 AND a.endpoint_id = $2 AND a.event_id = $3 \
             ORDER BY a.started_at, a.attempt",
        )
        .bind(tenant.to_string())
        .bind(endpoint.to_string())
        .bind(event.to_string())
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|row| {
                let attempt: i64 = row.try_get("attempt")?;
                let status: Option<i64> = row.try_get("status")?;
                Ok(AttemptRow {
                    attempt: u32::try_from(attempt).unwrap_or(u32::MAX),
                    started_at: time_at(row, "started_at")?,
                    status: status.and_then(|s| u16::try_from(s).ok()),
                    outcome: row.try_get("outcome")?,
                    error: row.try_get("error")?,
                    latency_ms: row.try_get("latency_ms")?,
                    response_excerpt: row.try_get("response_excerpt")?,
                })
            })
            .collect()
    }

    /// Claims up to `limit` due deliveries until `lock_until`. A delivery waits while an
    /// earlier event of its object is still pending for the same endpoint (per-object order);
    /// each claim is a conditional update only one worker can win, and a crashed worker's
    /// claim lapses at `lock_until`. The per-endpoint throttle: a claim is won only while its
    /// endpoint has fewer than `per_endpoint` deliveries in flight, a claim counting as in
    /// flight while its lock ends after `in_flight_after` (claims younger than an attempt can
    /// last: a dead worker's claims stop holding the endpoint's places long before they lapse).
    pub async fn claim_webhook_deliveries(
        &self,
        now: OffsetDateTime,
        lock_until: OffsetDateTime,
        in_flight_after: OffsetDateTime,
        limit: u32,
        per_endpoint: u32,
    ) -> StoreResult<Vec<ClaimedDelivery>> {
        let now_us = to_micros(now);
        let candidates = sqlx::query(
            "SELECT d.event_id, d.endpoint_id FROM webhook_deliveries d \
             JOIN webhook_endpoints e ON e.id = d.endpoint_id \
             WHERE d.state = 'pending' AND d.next_attempt_at <= $1 \
             AND (d.locked_until IS NULL OR d.locked_until <= $1) \
             AND e.enabled = 1 AND e.deleted_at IS NULL \
             AND NOT EXISTS (SELECT 1 FROM webhook_deliveries p \
                 WHERE p.endpoint_id = d.endpoint_id AND p.object_id = d.object_id \
                 AND p.sequence < d.sequence AND p.state = 'pending') \
             ORDER BY d.next_attempt_at LIMIT $2",
        )
        .bind(now_us)
        .bind(i64::from(limit))
        .fetch_all(&self.pool)
        .await?;
        let mut claimed = Vec::new();
        for candidate in &candidates {
            let event_id: String = candidate.try_get("event_id")?;
            let endpoint_id: String = candidate.try_get("endpoint_id")?;
            let token = uuid::Uuid::new_v4().to_string();
            let won = sqlx::query(
                "UPDATE webhook_deliveries SET locked_until = $1, lock_token = $2, \
                 attempts = attempts + 1 WHERE event_id = $3 AND endpoint_id = $4 \
                 AND state = 'pending' AND (locked_until IS NULL OR locked_until <= $5) \
                 AND (SELECT COUNT(*) FROM webhook_deliveries f WHERE f.endpoint_id = $4 \
                      AND f.state = 'pending' AND f.locked_until > $7) < $6",
            )
            .bind(to_micros(lock_until))
            .bind(token.clone())
            .bind(event_id.clone())
            .bind(endpoint_id.clone())
            .bind(now_us)
            .bind(i64::from(per_endpoint))
            .bind(to_micros(in_flight_after.max(now)))
            .execute(&self.pool)
            .await?;
            if won.rows_affected() != 1 {
                continue;
            }
            let row = sqlx::query(
                "SELECT d.attempts, ev.id AS event_id, ev.tenant_id, ev.environment, \
                 ev.event_type, ev.object_type, ev.object_id, ev.sequence, ev.data, \
                 ev.created_at, e.id AS e_id, e.tenant_id AS e_tenant_id, \
                 e.environment AS e_environment, e.url, e.event_types, e.description, e.alg, \
                 e.enabled, e.disabled_reason, e.created_at AS e_created_at, \
                 e.updated_at AS e_updated_at, e.snap_partner_id, \
                 (SELECT st.partner_reference_no FROM snap_transfers st \
                  WHERE st.transfer_id = ev.object_id) AS snap_reference \
                 FROM webhook_deliveries d JOIN webhook_events ev ON ev.id = d.event_id \
                 JOIN webhook_endpoints e ON e.id = d.endpoint_id \
                 WHERE d.event_id = $1 AND d.endpoint_id = $2",
            )
            .bind(event_id)
            .bind(endpoint_id)
            .fetch_one(&self.pool)
            .await?;
            let attempts: i64 = row.try_get("attempts")?;
            let enabled: i64 = row.try_get("enabled")?;
            claimed.push(ClaimedDelivery {
                notice: notice_from_row(&row)?,
                sequence: row.try_get("sequence")?,
                endpoint: EndpointRow {
                    id: parsed(&row, "e_id")?,
                    tenant_id: parsed(&row, "e_tenant_id")?,
                    environment: parsed(&row, "e_environment")?,
                    url: row.try_get("url")?,
                    event_types: parsed(&row, "event_types")?,
                    description: row.try_get("description")?,
                    alg: row.try_get("alg")?,
                    enabled: enabled == 1,
                    disabled_reason: row.try_get("disabled_reason")?,
                    created_at: time_at(&row, "e_created_at")?,
                    updated_at: time_at(&row, "e_updated_at")?,
                    snap_partner_id: snap_partner(&row, "snap_partner_id")?,
                },
                attempt: u32::try_from(attempts).unwrap_or(u32::MAX),
                lock_token: token,
                snap_reference: row.try_get("snap_reference")?,
            });
        }
        Ok(claimed)
    }

    /// Records an attempt and what becomes of its delivery, in one transaction. The delivery
    /// changes only if this worker still holds its claim (a lapsed claim's late result is
    /// kept in the log, and the newer claim decides).
    pub async fn finish_webhook_attempt(
        &self,
        claim: &ClaimedDelivery,
        attempt: &AttemptRow,
        next: DeliveryNext,
        at: OffsetDateTime,
    ) -> StoreResult<AttemptRecorded> {
        let mut tx = self.pool.begin().await?;
        sqlx::query(
            "INSERT INTO webhook_attempts (id, event_id, endpoint_id, attempt, started_at, \
             status, outcome, error, latency_ms, response_excerpt) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
        )
        .bind(uuid::Uuid::new_v4().to_string())
        .bind(claim.notice.id.to_string())
        .bind(claim.endpoint.id.to_string())
        .bind(i64::from(attempt.attempt))
        .bind(to_micros(attempt.started_at))
        .bind(attempt.status.map(i64::from))
        .bind(attempt.outcome.clone())
        .bind(attempt.error.clone())
        .bind(attempt.latency_ms)
        .bind(attempt.response_excerpt.clone())
        .execute(&mut *tx)
        .await?;
        let (state, next_at, finished) = match next {
            DeliveryNext::Delivered => ("delivered", at, Some(to_micros(at))),
            DeliveryNext::RetryAt(when) => ("pending", when, None),
            DeliveryNext::Failed => ("failed", at, Some(to_micros(at))),
        };
        let updated = sqlx::query(
            "UPDATE webhook_deliveries SET state = $1, next_attempt_at = $2, finished_at = $3, \
             last_status = $4, locked_until = NULL, lock_token = NULL \
             WHERE event_id = $5 AND endpoint_id = $6 AND lock_token = $7",
        )
        .bind(state)
        .bind(to_micros(next_at))
        .bind(finished)
        .bind(attempt.status.map(i64::from))
        .bind(claim.notice.id.to_string())
        .bind(claim.endpoint.id.to_string())
        .bind(claim.lock_token.clone())
        .execute(&mut *tx)
        .await?;
        // The endpoint's failure streak: cleared by a success, started by a first failure.
        let delivered = i64::from(next == DeliveryNext::Delivered);
        let streak = sqlx::query(
            "UPDATE webhook_endpoints SET failing_since = CASE WHEN $1 = 1 THEN NULL \
             ELSE COALESCE(failing_since, $2) END WHERE id = $3 RETURNING failing_since",
        )
        .bind(delivered)
        .bind(to_micros(attempt.started_at))
        .bind(claim.endpoint.id.to_string())
        .fetch_optional(&mut *tx)
        .await?;
        let failing_since = match streak {
            Some(row) => optional_time_at(&row, "failing_since")?,
            None => None,
        };
        tx.commit().await?;
        Ok(AttemptRecorded {
            still_claimed: updated.rows_affected() == 1,
            failing_since,
        })
    }

    /// Queues one delivery again from its first attempt (delivered or failed ones; a pending
    /// one is already queued). `NotFound` when the tenant's endpoint never had this event.
    pub async fn resend_webhook_delivery(
        &self,
        tenant: TenantId,
        endpoint: EndpointId,
        event: EventId,
        at: OffsetDateTime,
        audit: &AuditEvent,
    ) -> StoreResult<()> {
        let mut tx = self.pool.begin().await?;
        let found = sqlx::query(
            "SELECT state FROM webhook_deliveries WHERE tenant_id = $1 AND endpoint_id = $2 \
             AND event_id = $3",
        )
        .bind(tenant.to_string())
        .bind(endpoint.to_string())
        .bind(event.to_string())
        .fetch_optional(&mut *tx)
        .await?
        .ok_or(StoreError::NotFound)?;
        let state: String = found.try_get("state")?;
        if state != "pending" {
            sqlx::query(
                "UPDATE webhook_deliveries SET state = 'pending', attempts = 0, \
                 next_attempt_at = $1, finished_at = NULL, locked_until = NULL, lock_token = NULL \
                 WHERE tenant_id = $2 AND endpoint_id = $3 AND event_id = $4",
            )
            .bind(to_micros(at))
            .bind(tenant.to_string())
            .bind(endpoint.to_string())
            .bind(event.to_string())
            .execute(&mut *tx)
            .await?;
        }
        crate::audit::record(&mut tx, audit).await?;
        tx.commit().await?;
        Ok(())
    }

    /// Queues, for one endpoint, every event of its tenant and environment since `since` that
    /// it subscribes to: those it never had (say, from before it existed) and those whose
    /// delivery failed. Delivered ones are not sent again (resend does that, one at a time).
    /// Returns how many were queued.
    pub async fn replay_webhook_events(
        &self,
        endpoint: &EndpointRow,
        since: OffsetDateTime,
        at: OffsetDateTime,
        audit: &AuditEvent,
    ) -> StoreResult<u64> {
        let mut tx = self.pool.begin().await?;
        let added = sqlx::query(concat!(
            "INSERT INTO webhook_deliveries (event_id, endpoint_id, tenant_id, object_id, \
             sequence, state, attempts, next_attempt_at, created_at) \
             SELECT ev.id, e.id, ev.tenant_id, ev.object_id, ev.sequence, 'pending', 0, $2, $2 \
             FROM webhook_events ev JOIN webhook_endpoints e ON e.id = $1 \
             WHERE ev.tenant_id = $3 AND ev.environment = $4 \
             AND ev.created_at >= $5 AND ev.event_type <> 'webhook.test' \
             AND ($6 = '*' OR (' ' || $6 || ' ') LIKE ('% ' || ev.event_type || ' %')) \
             AND NOT EXISTS (SELECT 1 FROM webhook_deliveries d \
                 WHERE d.event_id = ev.id AND d.endpoint_id = $1) AND ",
            snap_scope!()
        ))
        .bind(endpoint.id.to_string())
        .bind(to_micros(at))
        .bind(endpoint.tenant_id.to_string())
        .bind(endpoint.environment.as_str())
        .bind(to_micros(since))
        .bind(endpoint.event_types.to_string())
        .execute(&mut *tx)
        .await?;
        let retried = sqlx::query(
            "UPDATE webhook_deliveries SET state = 'pending', attempts = 0, \
             next_attempt_at = $1, finished_at = NULL WHERE endpoint_id = $2 AND state = 'failed' \
             AND event_id IN (SELECT id FROM webhook_events WHERE tenant_id = $3 \
                 AND created_at >= $4)",
        )
        .bind(to_micros(at))
        .bind(endpoint.id.to_string())
        .bind(endpoint.tenant_id.to_string())
        .bind(to_micros(since))
        .execute(&mut *tx)
        .await?;
        crate::audit::record(&mut tx, audit).await?;
        tx.commit().await?;
        Ok(added.rows_affected() + retried.rows_affected())
    }

    /// Disables an endpoint the system gave up on (a 410 from the receiver), with its audit
    /// event.
    pub async fn disable_webhook_endpoint(
        &self,
        id: EndpointId,
        reason: &str,
        at: OffsetDateTime,
        event: &AuditEvent,
        notice: &Notice,
        mail: &TenantNoticeRow,
    ) -> StoreResult<bool> {
        let mut tx = self.pool.begin().await?;
        let disabled = sqlx::query(
            "UPDATE webhook_endpoints SET enabled = 0, disabled_reason = $1, updated_at = $2 \
             WHERE id = $3 AND enabled = 1",
        )
        .bind(reason.to_owned())
        .bind(to_micros(at))
        .bind(id.to_string())
        .execute(&mut *tx)
        .await?;
        if disabled.rows_affected() != 1 {
            // Already disabled (another attempt got there first): nothing more to tell.
            return Ok(false);
        }
        crate::audit::record(&mut tx, event).await?;
        insert_next_notice(&mut tx, notice).await?;
        sqlx::query(
            "INSERT INTO tenant_notices (id, tenant_id, subject, body, created_at) \
             VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(mail.id.to_string())
        .bind(mail.tenant_id.to_string())
        .bind(mail.subject.clone())
        .bind(mail.body.clone())
        .bind(to_micros(mail.created_at))
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(true)
    }

    /// A tenant's notices, newest first (at most `limit`).
    pub async fn tenant_notices(
        &self,
        tenant: TenantId,
        limit: u32,
    ) -> StoreResult<Vec<TenantNoticeRow>> {
        let rows = sqlx::query(
            "SELECT id, tenant_id, subject, body, created_at FROM tenant_notices \
             WHERE tenant_id = $1 ORDER BY created_at DESC, id DESC LIMIT $2",
        )
        .bind(tenant.to_string())
        .bind(i64::from(limit))
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|row| {
                Ok(TenantNoticeRow {
                    id: parsed(row, "id")?,
                    tenant_id: parsed(row, "tenant_id")?,
                    subject: row.try_get("subject")?,
                    body: row.try_get("body")?,
                    created_at: time_at(row, "created_at")?,
                })
            })
            .collect()
    }

    /// Writes `api_key.expiring` for every unrevoked API key expiring after `now` and by
    /// `until` that was not told yet: once per key (a second instance racing on the same key
    /// loses on the outbox's unique sequence and writes nothing). Returns how many it wrote.
    pub async fn notice_expiring_api_keys(
        &self,
        now: OffsetDateTime,
        until: OffsetDateTime,
    ) -> StoreResult<u64> {
        let keys = sqlx::query(
            "SELECT k.id, k.tenant_id, k.environment, k.display_prefix, k.expires_at \
             FROM api_keys k WHERE k.revoked_at IS NULL AND k.expires_at > $1 \
             AND k.expires_at <= $2 AND NOT EXISTS (SELECT 1 FROM webhook_events ev \
             WHERE ev.object_type = 'api_key' AND ev.object_id = k.id \
             AND ev.event_type = 'api_key.expiring')",
        )
        .bind(to_micros(now))
        .bind(to_micros(until))
        .fetch_all(&self.pool)
        .await?;
        let mut written = 0;
        for key in &keys {
            let id: String = key.try_get("id")?;
            let prefix: String = key.try_get("display_prefix")?;
            let expires_at = time_at(key, "expires_at")?;
            let notice = Notice {
                id: EventId::new(),
                tenant_id: parsed(key, "tenant_id")?,
                environment: parsed(key, "environment")?,
                event_type: EventType::ApiKeyExpiring,
                object_type: "api_key".to_owned(),
                object_id: id,
                data: serde_json::json!({ "prefix": prefix, "expires_at": rfc3339(expires_at) }),
                created_at: now,
            };
            let mut tx = self.pool.begin().await?;
            match insert_next_notice(&mut tx, &notice).await {
                Ok(()) => {
                    tx.commit().await?;
                    written += 1;
                }
                Err(StoreError::Database(sqlx::Error::Database(db)))
                    if db.is_unique_violation() => {}
                Err(other) => return Err(other),
            }
        }
        Ok(written)
    }

    /// Pending deliveries, how many are due, the age of the oldest due one, failed ones.
    pub async fn webhook_queue_stats(&self, now: OffsetDateTime) -> StoreResult<QueueStats> {
        let now_us = to_micros(now);
        let row = sqlx::query(
            "SELECT \
             CAST(COALESCE(SUM(CASE WHEN state = 'pending' THEN 1 ELSE 0 END), 0) AS BIGINT) AS pending, \
             CAST(COALESCE(SUM(CASE WHEN state = 'pending' AND next_attempt_at <= $1 THEN 1 ELSE 0 END), 0) AS BIGINT) AS due, \
             CAST(COALESCE(MIN(CASE WHEN state = 'pending' AND next_attempt_at <= $1 THEN next_attempt_at END), $1) AS BIGINT) AS oldest, \
             CAST(COALESCE(SUM(CASE WHEN state = 'failed' THEN 1 ELSE 0 END), 0) AS BIGINT) AS failed \
             FROM webhook_deliveries WHERE state IN ('pending', 'failed')",
        )
        .bind(now_us)
        .fetch_one(&self.pool)
        .await?;
        let oldest: i64 = row.try_get("oldest")?;
        Ok(QueueStats {
            pending: row.try_get("pending")?,
            due: row.try_get("due")?,
            oldest_due_secs: (now_us - oldest).max(0) / 1_000_000,
            failed: row.try_get("failed")?,
        })
    }

    /// Every webhook signing key, oldest first.
    pub async fn webhook_signing_keys(&self) -> StoreResult<Vec<SigningKeyRow>> {
        let rows = sqlx::query(
            "SELECT kid, generation, public_jwk, sealed_private, ec_public_jwk, \
             ec_sealed_private, created_at, signs_from \
             FROM webhook_signing_keys ORDER BY generation",
        )
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|row| {
                Ok(SigningKeyRow {
                    kid: row.try_get("kid")?,
                    generation: row.try_get("generation")?,
                    public_jwk: row.try_get("public_jwk")?,
                    sealed_private: row.try_get("sealed_private")?,
                    ec_public_jwk: row.try_get("ec_public_jwk")?,
                    ec_sealed_private: row.try_get("ec_sealed_private")?,
                    created_at: time_at(row, "created_at")?,
                    signs_from: time_at(row, "signs_from")?,
                })
            })
            .collect()
    }

    /// Adds a signing key with its audit event; `Conflict` when another instance added this
    /// generation first.
    pub async fn insert_webhook_signing_key(
        &self,
        key: &SigningKeyRow,
        event: &AuditEvent,
    ) -> StoreResult<()> {
        let mut tx = self.pool.begin().await?;
        sqlx::query(
            "INSERT INTO webhook_signing_keys (kid, generation, public_jwk, sealed_private, \
             ec_public_jwk, ec_sealed_private, created_at, signs_from) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        )
        .bind(key.kid.clone())
        .bind(key.generation)
        .bind(key.public_jwk.clone())
        .bind(key.sealed_private.clone())
        .bind(key.ec_public_jwk.clone())
        .bind(key.ec_sealed_private.clone())
        .bind(to_micros(key.created_at))
        .bind(to_micros(key.signs_from))
        .execute(&mut *tx)
        .await
        .map_err(StoreError::from_write)?;
        crate::audit::record(&mut tx, event).await?;
        tx.commit().await?;
        Ok(())
    }
}
