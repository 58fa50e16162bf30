//! Request protection in the database: idempotency records and daily volume counters, written
//! in the same transaction as the transfers they guard.
//!
//! The idempotency record is written with the rendered response at the end of the transfer's
//! transaction (one statement), before the tenant's hot rows are touched. Its primary key
//! (tenant, key) makes a concurrent duplicate (another instance that missed the Redis lock, e.g.
//! after a Redis restart) wait for the first transaction and then fail; a duplicate that arrives
//! after the commit is refused by the quote it would reuse, and the live key then explains the
//! refusal (`KeyTaken`). So the database alone guarantees one transfer per key whatever the
//! shared state did, and a replay returns exactly the bytes the first caller got.

use benteng_core::audit::{AuditContext, AuditEvent, Retention};
use benteng_core::ids::{BatchId, TenantId, TransferId};
use sqlx::{AnyConnection, Connection, Row};
use time::OffsetDateTime;

use crate::payments::{NewTransfer, TransferRecord, TransferRefusal, create_transfer_in};
use crate::rows::{time_at, to_micros};
use crate::{Store, StoreError, StoreResult};

/// A response as first sent, kept for replays.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredResponse {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: String,
}

/// A completed idempotency record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdempotencyRecord {
    /// Lowercase hex SHA-256 of method, path and body.
    pub fingerprint: String,
    pub response: StoredResponse,
    pub expires_at: OffsetDateTime,
}

/// The idempotency record a protected write creates.
#[derive(Debug, Clone)]
pub struct NewIdempotency {
    pub tenant_id: TenantId,
    /// The key in canonical form (lowercase hyphenated UUID).
    pub key: String,
    pub fingerprint: String,
    pub now: OffsetDateTime,
    pub expires_at: OffsetDateTime,
}

/// A transfer's charge against its tenant's daily volume cap, in US cents.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct VolumeCharge {
    pub usd_cents: i64,
    pub cap_cents: i64,
}

/// Why a protected write wrote nothing.
#[derive(Debug, thiserror::Error)]
pub enum ProtectedRefusal {
    #[error(transparent)]
    Transfer(#[from] TransferRefusal),
    /// Another request with this key committed (or is committing) first.
    #[error("the idempotency key is already used")]
    KeyTaken,
    #[error("the daily volume cap would be exceeded")]
    VolumeCap { used_cents: i64, cap_cents: i64 },
}

impl From<sqlx::Error> for ProtectedRefusal {
    fn from(error: sqlx::Error) -> Self {
        ProtectedRefusal::Transfer(TransferRefusal::from(error))
    }
}

impl From<StoreError> for ProtectedRefusal {
    fn from(error: StoreError) -> Self {
        ProtectedRefusal::Transfer(TransferRefusal::Store(error))
    }
}

/// One item of a batch: ready to create, or already rejected (its errors as JSON text).
#[derive(Debug, Clone)]
pub enum BatchItem {
    Ready(Box<NewTransfer>, Option<VolumeCharge>),
    Rejected(String),
}

/// A batch to create.
#[derive(Debug, Clone, Copy)]
pub struct NewBatch<'a> {
    pub id: BatchId,
    pub tenant: TenantId,
    pub items: &'a [BatchItem],
    pub now: OffsetDateTime,
    pub context: &'a AuditContext,
}

/// Each item's outcome: the transfer created, or the errors (JSON text).
pub type BatchOutcome = Vec<(Option<TransferId>, Option<String>)>;

const MICROS_PER_DAY: i64 = 86_400_000_000;

fn encode_headers(headers: &[(String, String)]) -> StoreResult<String> {
    serde_json::to_string(headers).map_err(|e| StoreError::Corrupt(e.to_string()))
}

impl Store {
    /// The live (unexpired, committed) record of a key, if any.
    pub async fn idempotency_record(
        &self,
        tenant: TenantId,
        key: &str,
        now: OffsetDateTime,
    ) -> StoreResult<Option<IdempotencyRecord>> {
        let row = sqlx::query(
            "SELECT fingerprint, response_status, response_headers, response_body, expires_at \
             FROM idempotency_keys WHERE tenant_id = $1 AND key = $2 AND expires_at > $3 \
             AND response_status > 0",
        )
        .bind(tenant.to_string())
        .bind(key)
        .bind(to_micros(now))
        .fetch_optional(&self.pool)
        .await?;
        let Some(row) = row else {
            return Ok(None);
        };
        let status: i64 = row.try_get("response_status")?;
        let headers: String = row.try_get("response_headers")?;
        Ok(Some(IdempotencyRecord {
            fingerprint: row.try_get("fingerprint")?,
            response: StoredResponse {
                status: u16::try_from(status)
                    .map_err(|_| StoreError::Corrupt("response_status".to_owned()))?,
                headers: serde_json::from_str(&headers)
                    .map_err(|_| StoreError::Corrupt("response_headers".to_owned()))?,
                body: row.try_get("response_body")?,
            },
            expires_at: time_at(&row, "expires_at")?,
        }))
    }

    /// Deletes expired idempotency records and volume counters of days before yesterday;
    /// returns how many idempotency records went.
    pub async fn sweep_protection(&self, now: OffsetDateTime) -> StoreResult<u64> {
        let micros = to_micros(now);
        let swept = sqlx::query("DELETE FROM idempotency_keys WHERE expires_at <= $1")
            .bind(micros)
            .execute(&self.pool)
            .await?;
        sqlx::query("DELETE FROM daily_volumes WHERE day < $1")
            .bind(micros.div_euclid(MICROS_PER_DAY) - 1)
            .execute(&self.pool)
            .await?;
        Ok(swept.rows_affected())
    }

    /// US cents the tenant has sent on the UTC day of `at`.
    pub async fn daily_volume_cents(
        &self,
        tenant: TenantId,
        at: OffsetDateTime,
    ) -> StoreResult<i64> {
        let row =
            sqlx::query("SELECT usd_cents FROM daily_volumes WHERE tenant_id = $1 AND day = $2")
                .bind(tenant.to_string())
                .bind(to_micros(at).div_euclid(MICROS_PER_DAY))
                .fetch_optional(&self.pool)
                .await?;
        Ok(match row {
            Some(row) => row.try_get("usd_cents")?,
            None => 0,
        })
    }

    /// Creates a transfer like [`Store::create_transfer`], and in the same transaction claims
    /// the idempotency key, charges the daily volume and stores the response `render` builds.
    /// Any refusal leaves nothing behind: no transfer, no reservation, no record.
    pub async fn create_transfer_protected(
        &self,
        new: &NewTransfer,
        idempotency: Option<&NewIdempotency>,
        volume: Option<VolumeCharge>,
        render: impl FnOnce(&TransferRecord) -> StoredResponse,
    ) -> Result<(TransferRecord, StoredResponse), ProtectedRefusal> {
        let mut tx = self.pool.begin().await?;
        let written = async {
            let (record, unreserved) = create_transfer_in(&mut tx, new).await?;
            let response = render(&record);
            if let Some(idempotency) = idempotency {
                record_key(&mut tx, idempotency, &response).await?;
            }
            // The tenant's hot rows last: its daily count, then its balance, until the commit.
            if let Some(volume) = volume {
                charge_volume(&mut tx, new.tenant_id, new.now, volume).await?;
            }
            let postings = unreserved.reserve(&mut tx, &self.known_accounts).await?;
            Ok::<_, ProtectedRefusal>((record, response, postings))
        }
        .await;
        match written {
            Ok((record, response, postings)) => {
                tx.commit().await?;
                self.known_accounts.remember(&postings);
                Ok((record, response))
            }
            Err(refusal) => {
                drop(tx); // rolls back
                // A duplicate of a committed request is refused by the quote it already used;
                // it is the key that explains it.
                match idempotency {
                    Some(idempotency) if self.key_is_live(idempotency).await? => {
                        Err(ProtectedRefusal::KeyTaken)
                    }
                    _ => Err(refusal),
                }
            }
        }
    }

    async fn key_is_live(&self, idempotency: &NewIdempotency) -> StoreResult<bool> {
        Ok(sqlx::query(
            "SELECT 1 FROM idempotency_keys WHERE tenant_id = $1 AND key = $2 AND expires_at > $3",
        )
        .bind(idempotency.tenant_id.to_string())
        .bind(&idempotency.key)
        .bind(to_micros(idempotency.now))
        .fetch_optional(&self.pool)
        .await?
        .is_some())
    }

    /// Creates a batch in one transaction: the batch row, each ready item's transfer (an item
    /// refused by the store is rolled back alone, to a savepoint, and reported with the errors
    /// `describe` gives), the idempotency record and the response `render` builds. A retried
    /// batch therefore never creates a second set of transfers.
    pub async fn create_batch_protected(
        &self,
        batch: &NewBatch<'_>,
        idempotency: Option<&NewIdempotency>,
        describe: impl Fn(&ProtectedRefusal) -> String,
        render: impl FnOnce(&BatchOutcome) -> StoredResponse,
    ) -> Result<(BatchOutcome, StoredResponse), ProtectedRefusal> {
        let NewBatch {
            id,
            tenant,
            items,
            now,
            context,
        } = *batch;
        let mut tx = self.pool.begin().await?;
        sqlx::query(
            "INSERT INTO batches (id, tenant_id, item_count, accepted, created_at) \
             VALUES ($1, $2, $3, 0, $4)",
        )
        .bind(id.to_string())
        .bind(tenant.to_string())
        .bind(i64::try_from(items.len()).unwrap_or(i64::MAX))
        .bind(to_micros(now))
        .execute(&mut *tx)
        .await?;
        let mut outcomes: BatchOutcome = Vec::with_capacity(items.len());
        let mut reserved = Vec::new();
        for item in items {
            match item {
                BatchItem::Rejected(errors) => outcomes.push((None, Some(errors.clone()))),
                BatchItem::Ready(new, volume) => {
                    let mut savepoint = (*tx).begin().await?;
                    let created = async {
                        let (record, unreserved) = create_transfer_in(&mut savepoint, new).await?;
                        if let Some(volume) = volume {
                            charge_volume(&mut savepoint, new.tenant_id, new.now, *volume).await?;
                        }
                        let postings = unreserved
                            .reserve(&mut savepoint, &self.known_accounts)
                            .await?;
                        Ok::<_, ProtectedRefusal>((record, postings))
                    }
                    .await;
                    match created {
                        Ok((record, postings)) => {
                            savepoint.commit().await?;
                            outcomes.push((Some(record.id), None));
                            reserved.extend(postings);
                        }
                        Err(ProtectedRefusal::Transfer(TransferRefusal::Store(error))) => {
                            // The database is failing: the whole batch goes, nothing half-way.
                            return Err(ProtectedRefusal::Transfer(TransferRefusal::Store(error)));
                        }
                        Err(refusal) => {
                            savepoint.rollback().await?;
                            outcomes.push((None, Some(describe(&refusal))));
                        }
                    }
                }
            }
        }
        for (index, (transfer, errors)) in outcomes.iter().enumerate() {
            sqlx::query(
                "INSERT INTO batch_items (batch_id, idx, transfer_id, errors) VALUES ($1, $2, $3, $4)",
            )
            .bind(id.to_string())
            .bind(i64::try_from(index).unwrap_or(i64::MAX))
            .bind(transfer.map(|t| t.to_string()))
            .bind(errors.as_deref())
            .execute(&mut *tx)
            .await?;
        }
        let accepted = outcomes.iter().filter(|(t, _)| t.is_some()).count();
        sqlx::query("UPDATE batches SET accepted = $1 WHERE id = $2")
            .bind(i64::try_from(accepted).unwrap_or(i64::MAX))
            .bind(id.to_string())
            .execute(&mut *tx)
            .await?;
        let created = AuditEvent::new(
            &context.for_tenant(tenant),
            "batch.created",
            Retention::Security,
            ("batch", id.to_string()),
        )
        .change("items", serde_json::Value::Null, items.len().into())
        .change("accepted", serde_json::Value::Null, accepted.into());
        crate::audit::record(&mut tx, &created).await?;
        let response = render(&outcomes);
        if let Some(idempotency) = idempotency {
            record_key(&mut tx, idempotency, &response).await?;
        }
        tx.commit().await?;
        self.known_accounts.remember(&reserved);
        Ok((outcomes, response))
    }
}

/// Records the key with the response, replacing an expired record, in one statement; `KeyTaken`
/// when a live one exists. On PostgreSQL a concurrent record of the same key waits here for the
/// first transaction to end, so the database alone allows one write per key.
async fn record_key(
    conn: &mut AnyConnection,
    idempotency: &NewIdempotency,
    response: &StoredResponse,
) -> Result<(), ProtectedRefusal> {
    let recorded = sqlx::query(
        "INSERT INTO idempotency_keys (tenant_id, key, fingerprint, response_status, \
         response_headers, response_body, created_at, expires_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8) \
         ON CONFLICT (tenant_id, key) DO UPDATE SET fingerprint = excluded.fingerprint, \
         response_status = excluded.response_status, \
         response_headers = excluded.response_headers, \
         response_body = excluded.response_body, created_at = excluded.created_at, \
         expires_at = excluded.expires_at \
         WHERE idempotency_keys.expires_at <= excluded.created_at",
    )
    .bind(idempotency.tenant_id.to_string())
    .bind(&idempotency.key)
    .bind(&idempotency.fingerprint)
    .bind(i64::from(response.status.max(1)))
    .bind(encode_headers(&response.headers)?)
    .bind(&response.body)
    .bind(to_micros(idempotency.now))
    .bind(to_micros(idempotency.expires_at))
    .execute(&mut *conn)
    .await?;
    if recorded.rows_affected() == 1 {
        Ok(())
    } else {
        Err(ProtectedRefusal::KeyTaken)
    }
}

/// Adds the charge to the tenant's count for the day only if it stays within the cap, in one
/// statement; reads the count only to explain a refusal.
async fn charge_volume(
    conn: &mut AnyConnection,
    tenant: TenantId,
    at: OffsetDateTime,
    charge: VolumeCharge,
) -> Result<(), ProtectedRefusal> {
    let day = to_micros(at).div_euclid(MICROS_PER_DAY);
    if charge.usd_cents <= charge.cap_cents {
        let charged = sqlx::query(
            "INSERT INTO daily_volumes (tenant_id, day, usd_cents) VALUES ($1, $2, $3) \
             ON CONFLICT (tenant_id, day) DO UPDATE \
             SET usd_cents = daily_volumes.usd_cents + excluded.usd_cents \
             WHERE daily_volumes.usd_cents + excluded.usd_cents <= $4",
        )
        .bind(tenant.to_string())
        .bind(day)
        .bind(charge.usd_cents)
        .bind(charge.cap_cents)
        .execute(&mut *conn)
        .await?;
        if charged.rows_affected() == 1 {
            return Ok(());
        }
    }
    let used: Option<i64> =
        sqlx::query("SELECT usd_cents FROM daily_volumes WHERE tenant_id = $1 AND day = $2")
            .bind(tenant.to_string())
            .bind(day)
            .fetch_optional(&mut *conn)
            .await?
            .map(|row| row.try_get("usd_cents"))
            .transpose()?;
    Err(ProtectedRefusal::VolumeCap {
        used_cents: used.unwrap_or(0),
        cap_cents: charge.cap_cents,
    })
}
