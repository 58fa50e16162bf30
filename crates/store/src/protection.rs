//! The tables of request protection: idempotency records and daily volume counters. Both are
//! written in the transaction of the payment write they guard ([`crate::PaymentWrite`]), so
//! the database alone decides.
//!
//! An idempotency record holds the payments layer's outcome of the write, as opaque text. Its
//! primary key (tenant, key) makes a concurrent duplicate (another instance that missed the
//! Redis lock, e.g. after a Redis restart) wait for the first transaction and then fail; a
//! duplicate that arrives after the commit is refused by the quote it would reuse, and the live
//! key then explains the refusal.

use benteng_core::ids::TenantId;
use sqlx::{AnyConnection, Row};
use time::OffsetDateTime;

use crate::payment_writes::WriteRefusal;
use crate::rows::{time_at, to_micros};
use crate::{Store, StoreResult};

/// A completed idempotency record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdempotencyRecord {
    /// Lowercase hex SHA-256 of method, path and body.
    pub fingerprint: String,
    /// What the write produced, as its writer encoded it.
    pub outcome: String,
    pub expires_at: OffsetDateTime,
}

/// A request's claim on an idempotency key, recorded with the write it guards.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdempotencyClaim {
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

const MICROS_PER_DAY: i64 = 86_400_000_000;

impl Store {
    /// The live (unexpired) record of a key, if any.
    pub async fn idempotency_record(
        &self,
        tenant: TenantId,
        key: &str,
        now: OffsetDateTime,
    ) -> StoreResult<Option<IdempotencyRecord>> {
        let row = sqlx::query(
            "SELECT fingerprint, outcome, expires_at FROM idempotency_keys \
             WHERE tenant_id = $1 AND key = $2 AND expires_at > $3",
        )
        .bind(tenant.to_string())
        .bind(key)
        .bind(to_micros(now))
        .fetch_optional(&self.pool)
        .await?;
        row.map(|row| {
            Ok(IdempotencyRecord {
                fingerprint: row.try_get("fingerprint")?,
                outcome: row.try_get("outcome")?,
                expires_at: time_at(&row, "expires_at")?,
            })
        })
        .transpose()
    }

    /// Whether a claim's key has a live record (after a refused write: the key explains it).
    pub async fn key_is_live(&self, claim: &IdempotencyClaim) -> StoreResult<bool> {
        Ok(self
            .idempotency_record(claim.tenant_id, &claim.key, claim.now)
            .await?
            .is_some())
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
}

/// Records the key with the outcome, replacing an expired record, in one statement;
/// `KeyTaken` when a live one exists. On PostgreSQL a concurrent record of the same key waits
/// here for the first transaction to end, so the database alone allows one write per key.
pub(crate) async fn record_key(
    conn: &mut AnyConnection,
    claim: &IdempotencyClaim,
    outcome: &str,
) -> Result<(), WriteRefusal> {
    let recorded = sqlx::query(
        "INSERT INTO idempotency_keys (tenant_id, key, fingerprint, outcome, created_at, \
         expires_at) VALUES ($1, $2, $3, $4, $5, $6) \
         ON CONFLICT (tenant_id, key) DO UPDATE SET fingerprint = excluded.fingerprint, \
         outcome = excluded.outcome, created_at = excluded.created_at, \
         expires_at = excluded.expires_at \
         WHERE idempotency_keys.expires_at <= excluded.created_at",
    )
    .bind(claim.tenant_id.to_string())
    .bind(&claim.key)
    .bind(&claim.fingerprint)
    .bind(outcome)
    .bind(to_micros(claim.now))
    .bind(to_micros(claim.expires_at))
    .execute(&mut *conn)
    .await?;
    if recorded.rows_affected() == 1 {
        Ok(())
    } else {
        Err(WriteRefusal::KeyTaken)
    }
}

/// Adds the charge to the tenant's count for the day only if it stays within the cap, in one
/// statement; reads the count only to explain a refusal.
pub(crate) async fn charge_volume(
    conn: &mut AnyConnection,
    tenant: TenantId,
    at: OffsetDateTime,
    charge: VolumeCharge,
) -> Result<(), WriteRefusal> {
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
    Err(WriteRefusal::VolumeCap {
        used_cents: used.unwrap_or(0),
        cap_cents: charge.cap_cents,
    })
}
