//! Transaction monitoring's storage: each tenant's rolling aggregates, read and updated in the
//! transfer's own transaction; the monitoring part of every decision; alerts; KYC levels.
//!
//! The aggregates are running totals. `monitoring_totals` holds, per tenant and environment,
//! the sum of every counted transfer and how many were near the structuring threshold; each
//! counted transfer adds a `monitoring_observations` row with the totals after it. A window's
//! sum is the current total minus the total just before the window's first row: one index
//! lookup per window, whatever the tenant's history. The totals row is the first row a
//! transfer's transaction locks, so two instances never score on the same history.

use benteng_core::api_key::KeyEnvironment;
use benteng_core::audit::{AuditContext, AuditEvent};
use benteng_core::ids::{TenantId, TransferId};
use benteng_core::kyc::{KycItem, KycLevel, KycStanding, VOLUME_WINDOW};
use benteng_core::payments::compliance::Verdict;
use benteng_core::payments::monitoring::{Aggregates, Corridor, Lookback, UsdCents};
use sqlx::{AnyConnection, Row};
use time::OffsetDateTime;

use crate::cases::CaseOpening;
use crate::payment_writes::PaymentWrite;
use crate::rows::{parsed, time_at, to_micros};
use crate::{Backend, Store, StoreError, StoreResult};

/// The monitoring part of a transfer's decision, as written with the transfer.
#[derive(Debug, Clone)]
pub struct MonitoringWrite {
    pub transfer: TransferId,
    pub tenant: TenantId,
    pub environment: KeyEnvironment,
    pub at: OffsetDateTime,
    pub amount_usd_cents: UsdCents,
    /// Counted into the tenant's aggregates: every transfer but a blocked one.
    pub counted: bool,
    pub near_threshold: bool,
    pub corridor: Corridor,
    pub bank_country: Option<String>,
    pub rule_set: String,
    pub risk_score: u8,
    pub verdict: Verdict,
    pub screening_score: u8,
    pub screening_verdict: Verdict,
    /// Every rule evaluated, hit or not, with its inputs (JSON).
    pub rules: String,
}

/// A transfer's monitoring decision as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MonitoringRow {
    pub transfer: TransferId,
    pub tenant: TenantId,
    pub environment: KeyEnvironment,
    pub rule_set: String,
    pub risk_score: u8,
    pub verdict: Verdict,
    pub amount_usd_cents: UsdCents,
    pub rules: String,
    pub country: String,
    pub bank_country: Option<String>,
    pub currency: String,
    pub screening_score: u8,
    pub screening_verdict: Verdict,
    pub created_at: OffsetDateTime,
}

/// What raised an alert.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AlertKind {
    TransferBlocked,
    KycCeiling,
    PostEvent,
}

impl AlertKind {
    pub fn as_str(self) -> &'static str {
        match self {
            AlertKind::TransferBlocked => "transfer_blocked",
            AlertKind::KycCeiling => "kyc_ceiling",
            AlertKind::PostEvent => "post_event",
        }
    }
}

/// An alert for compliance staff.
#[derive(Debug, Clone)]
pub struct NewAlert {
    pub id: uuid::Uuid,
    pub kind: AlertKind,
    pub rule: Option<String>,
    pub tenant: Option<TenantId>,
    pub environment: KeyEnvironment,
    pub transfer: Option<TransferId>,
    /// JSON: what the alert is about.
    pub detail: String,
    /// One alert per key: a post-event rule's scan raises a pattern once however often it runs.
    pub dedup_key: Option<String>,
    pub at: OffsetDateTime,
    /// The case the alert opens or joins (an item is in one case), in its transaction.
    pub cases: Vec<CaseOpening>,
}

/// An alert as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AlertRow {
    pub id: String,
    pub kind: String,
    pub rule: Option<String>,
    pub tenant: Option<String>,
    pub environment: String,
    pub transfer: Option<String>,
    pub detail: String,
    pub status: String,
    pub created_at: OffsetDateTime,
}

fn score_at(row: &sqlx::any::AnyRow, column: &str) -> StoreResult<u8> {
    let score: i64 = row.try_get(column)?;
    u8::try_from(score).map_err(|_| StoreError::Corrupt(format!("{column} {score} out of range")))
}

// The statements that record a decision. The decision's row binds $1–$14 (see
// `record_monitoring`); counting the transfer adds $15, whether it is near the structuring band.
macro_rules! decision_insert {
    () => {
        "INSERT INTO transfer_monitoring (transfer_id, tenant_id, rule_set, risk_score, verdict, \
         amount_usd_cents, rules, environment, country, bank_country, currency, screening_score, \
         screening_verdict, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)"
    };
}

// Observations never go back in time: windows are found by `observed_at`.
macro_rules! count_totals {
    () => {
        "UPDATE monitoring_totals SET seq = seq + 1, usd_cents = usd_cents + $6, \
         near_threshold = near_threshold + $15, \
         last_at = CASE WHEN last_at > $14 THEN last_at ELSE $14 END \
         WHERE tenant_id = $2 AND environment = $8 \
         RETURNING seq, usd_cents, near_threshold, last_at"
    };
}

// The observation carries the totals after the transfer, read from `$totals`.
macro_rules! observation_insert {
    ($totals:literal) => {
        concat!(
            "INSERT INTO monitoring_observations (tenant_id, environment, seq, transfer_id, \
             observed_at, usd_cents, near_threshold, total_usd_cents, total_near) \
             SELECT $2, $8, seq, $1, last_at, $6, $15, usd_cents, near_threshold FROM ",
            $totals
        )
    };
}

macro_rules! corridor_insert {
    () => {
        "INSERT INTO monitoring_corridors (tenant_id, environment, country, currency, \
         first_transfer_id, first_seen_at) VALUES ($2, $8, $9, $11, $1, $14) \
         ON CONFLICT (tenant_id, environment, country, currency) DO NOTHING"
    };
}

impl PaymentWrite {
    /// Locks the tenant's monitoring totals (taken first, held to the commit) and reads what
    /// the rules need: the windows' sums before this transfer, whether the corridor is known,
    /// and the tenant's KYC level. One statement, except when a corridor not yet seen might
    /// have been opened by a transfer that committed while this one waited for the lock.
    pub async fn monitoring_history(
        &mut self,
        tenant: TenantId,
        environment: KeyEnvironment,
        corridor: Corridor,
        lookback: Lookback,
        now: OffsetDateTime,
    ) -> StoreResult<Aggregates> {
        let conn = self.conn();
        // No rule, no window: one that starts after every row holds nothing.
        let since =
            |window: Option<time::Duration>| window.map_or(i64::MAX, |w| to_micros(now - w));
        // The upsert takes the lock and returns the totals as they are now. The subqueries read
        // the statement's snapshot, which on PostgreSQL is older when the upsert had to wait:
        // it misses the transfers committed during the wait. Those are the tenant's newest
        // rows, so a window's first row (its base) is still right; a window that was empty in
        // the snapshot starts at the snapshot's totals. Only `seq` moves with counted transfers,
        // so equal `seq`s mean the snapshot missed nothing.
        let row = sqlx::query(
            "INSERT INTO monitoring_totals (tenant_id, environment, seq, usd_cents, \
             near_threshold, last_at) VALUES ($1, $2, 0, 0, 0, $3) \
             ON CONFLICT (tenant_id, environment) DO UPDATE SET seq = monitoring_totals.seq \
             RETURNING seq, usd_cents, near_threshold, \
             (SELECT seq FROM monitoring_totals \
              WHERE tenant_id = $1 AND environment = $2) AS seen_seq, \
             (SELECT usd_cents FROM monitoring_totals \
              WHERE tenant_id = $1 AND environment = $2) AS seen_usd_cents, \
             (SELECT near_threshold FROM monitoring_totals \
              WHERE tenant_id = $1 AND environment = $2) AS seen_near, \
             (SELECT total_usd_cents - usd_cents FROM monitoring_observations \
              WHERE tenant_id = $1 AND environment = $2 AND observed_at >= $4 \
              ORDER BY observed_at, seq LIMIT 1) AS velocity_base, \
             (SELECT total_near - near_threshold FROM monitoring_observations \
              WHERE tenant_id = $1 AND environment = $2 AND observed_at >= $5 \
              ORDER BY observed_at, seq LIMIT 1) AS near_base, \
             (SELECT total_usd_cents - usd_cents FROM monitoring_observations \
              WHERE tenant_id = $1 AND environment = $2 AND observed_at >= $6 \
              ORDER BY observed_at, seq LIMIT 1) AS volume_base, \
             (SELECT country FROM monitoring_corridors WHERE tenant_id = $1 \
              AND environment = $2 AND country = $7 AND currency = $8) AS corridor, \
             (SELECT level FROM kyc_profiles WHERE tenant_id = $1) AS kyc_level",
        )
        .bind(tenant.to_string())
        .bind(environment.as_str())
        .bind(to_micros(now))
        .bind(since(lookback.velocity))
        .bind(since(lookback.structuring))
        .bind(to_micros(now - VOLUME_WINDOW))
        .bind(corridor.country.as_str())
        .bind(corridor.currency.code())
        .fetch_one(&mut *conn)
        .await?;
        let seq: i64 = row.try_get("seq")?;
        let total_usd: i64 = row.try_get("usd_cents")?;
        let total_near: i64 = row.try_get("near_threshold")?;
        let seen_seq = row.try_get::<Option<i64>, _>("seen_seq")?.unwrap_or(0);
        let seen_usd = row
            .try_get::<Option<i64>, _>("seen_usd_cents")?
            .unwrap_or(0);
        let seen_near = row.try_get::<Option<i64>, _>("seen_near")?.unwrap_or(0);
        let window = |rule: Option<time::Duration>, base: Option<i64>, seen: i64, total: i64| {
            rule.map_or(0, |_| total - base.unwrap_or(seen))
        };
        let velocity_base: Option<i64> = row.try_get("velocity_base")?;
        let near_base: Option<i64> = row.try_get("near_base")?;
        let volume_base: Option<i64> = row.try_get("volume_base")?;
        let mut corridor_seen = row.try_get::<Option<String>, _>("corridor")?.is_some();
        let level = kyc_level(row.try_get("kyc_level")?)?;
        if !corridor_seen && seq != seen_seq {
            corridor_seen = sqlx::query(
                "SELECT 1 FROM monitoring_corridors WHERE tenant_id = $1 \
                 AND environment = $2 AND country = $3 AND currency = $4",
            )
            .bind(tenant.to_string())
            .bind(environment.as_str())
            .bind(corridor.country.as_str())
            .bind(corridor.currency.code())
            .fetch_optional(&mut *conn)
            .await?
            .is_some();
        }
        let near = window(lookback.structuring, near_base, seen_near, total_near);
        Ok(Aggregates {
            velocity_sum: window(lookback.velocity, velocity_base, seen_usd, total_usd),
            near_threshold: u32::try_from(near).unwrap_or(u32::MAX),
            volume_30d: window(Some(VOLUME_WINDOW), volume_base, seen_usd, total_usd),
            corridor_seen,
            kyc: KycStanding {
                level,
                verified: Vec::new(),
            },
        })
    }

    /// Writes the monitoring part of a transfer's decision and, unless it was blocked, counts
    /// it into the tenant's totals and corridors. After [`PaymentWrite::monitoring_history`]
    /// and the transfer's own row.
    pub async fn record_monitoring(&mut self, write: &MonitoringWrite) -> StoreResult<()> {
        let backend = self.backend();
        let conn = self.conn();
        let near = i64::from(write.near_threshold);
        let statements: &[&'static str] = match (write.counted, backend) {
            (false, _) => &[decision_insert!()],
            // One round trip to the network database while the tenant's lock is held.
            (true, Backend::Postgres) => &[concat!(
                "WITH counted AS (",
                count_totals!(),
                "), observed AS (",
                observation_insert!("counted"),
                "), corridor AS (",
                corridor_insert!(),
                ") ",
                decision_insert!()
            )],
            // SQLite has no writes inside WITH; it is in-process, so four statements cost little.
            (true, Backend::Sqlite) => &[
                decision_insert!(),
                count_totals!(),
                observation_insert!("monitoring_totals WHERE tenant_id = $2 AND environment = $8"),
                corridor_insert!(),
            ],
        };
        // PostgreSQL wants exactly the parameters a statement names; SQLite ignores the rest.
        let binds_near = write.counted || backend == Backend::Sqlite;
        for statement in statements {
            let query = sqlx::query(*statement)
                .bind(write.transfer.to_string())
                .bind(write.tenant.to_string())
                .bind(&write.rule_set)
                .bind(i64::from(write.risk_score))
                .bind(write.verdict.as_str())
                .bind(write.amount_usd_cents)
                .bind(&write.rules)
                .bind(write.environment.as_str())
                .bind(write.corridor.country.as_str())
                .bind(write.bank_country.clone())
                .bind(write.corridor.currency.code())
                .bind(i64::from(write.screening_score))
                .bind(write.screening_verdict.as_str())
                .bind(to_micros(write.at));
            let query = if binds_near { query.bind(near) } else { query };
            query.execute(&mut *conn).await?;
        }
        Ok(())
    }

    /// The KYC items the tenant has had verified (read when a refusal must name the missing).
    pub async fn kyc_verified(&mut self, tenant: TenantId) -> StoreResult<Vec<KycItem>> {
        verified_items(self.conn(), tenant).await
    }

    /// Raises an alert in this transaction, with its audit event and its cases.
    pub async fn raise_alert(
        &mut self,
        alert: &NewAlert,
        event: &AuditEvent,
        context: &AuditContext,
    ) -> StoreResult<bool> {
        insert_alert(self.conn(), alert, event, context).await
    }
}

/// A stored KYC level; no profile row is level none.
fn kyc_level(stored: Option<String>) -> StoreResult<KycLevel> {
    match stored {
        None => Ok(KycLevel::None),
        Some(text) => text
            .parse()
            .map_err(|_| StoreError::Corrupt(format!("unknown KYC level {text:?}"))),
    }
}

pub(crate) async fn verified_items(
    conn: &mut AnyConnection,
    tenant: TenantId,
) -> StoreResult<Vec<KycItem>> {
    let rows = sqlx::query(
        "SELECT item FROM kyc_items WHERE tenant_id = $1 AND status = 'verified' ORDER BY item",
    )
    .bind(tenant.to_string())
    .fetch_all(&mut *conn)
    .await?;
    rows.iter().map(|row| parsed(row, "item")).collect()
}

async fn insert_alert(
    conn: &mut AnyConnection,
    alert: &NewAlert,
    event: &AuditEvent,
    context: &AuditContext,
) -> StoreResult<bool> {
    let inserted = sqlx::query(
        "INSERT INTO alerts (id, kind, rule, tenant_id, environment, transfer_id, detail, \
         dedup_key, status, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, 'open', $9) \
         ON CONFLICT (dedup_key) DO NOTHING",
    )
    .bind(alert.id.to_string())
    .bind(alert.kind.as_str())
    .bind(alert.rule.clone())
    .bind(alert.tenant.map(|t| t.to_string()))
    .bind(alert.environment.as_str())
    .bind(alert.transfer.map(|t| t.to_string()))
    .bind(&alert.detail)
    .bind(alert.dedup_key.clone())
    .bind(to_micros(alert.at))
    .execute(&mut *conn)
    .await?;
    if inserted.rows_affected() == 0 {
        return Ok(false);
    }
    crate::audit::record(conn, event).await?;
    for opening in &alert.cases {
        crate::cases::open_or_join_in(conn, opening, context).await?;
    }
    Ok(true)
}

macro_rules! monitoring_columns {
    () => {
        "transfer_id, tenant_id, environment, rule_set, risk_score, verdict, amount_usd_cents, \
         rules, country, bank_country, currency, screening_score, screening_verdict, created_at"
    };
}

fn monitoring_row(row: &sqlx::any::AnyRow) -> StoreResult<MonitoringRow> {
    Ok(MonitoringRow {
        transfer: parsed(row, "transfer_id")?,
        tenant: parsed(row, "tenant_id")?,
        environment: parsed(row, "environment")?,
        rule_set: row.try_get("rule_set")?,
        risk_score: score_at(row, "risk_score")?,
        verdict: parsed(row, "verdict")?,
        amount_usd_cents: row.try_get("amount_usd_cents")?,
        rules: row.try_get("rules")?,
        country: row.try_get("country")?,
        bank_country: row.try_get("bank_country")?,
        currency: row.try_get("currency")?,
        screening_score: score_at(row, "screening_score")?,
        screening_verdict: parsed(row, "screening_verdict")?,
        created_at: time_at(row, "created_at")?,
    })
}

fn alert_row(row: &sqlx::any::AnyRow) -> StoreResult<AlertRow> {
    Ok(AlertRow {
        id: row.try_get("id")?,
        kind: row.try_get("kind")?,
        rule: row.try_get("rule")?,
        tenant: row.try_get("tenant_id")?,
        environment: row.try_get("environment")?,
        transfer: row.try_get("transfer_id")?,
        detail: row.try_get("detail")?,
        status: row.try_get("status")?,
        created_at: time_at(row, "created_at")?,
    })
}

impl Store {
    /// A transfer's monitoring decision.
    pub async fn transfer_monitoring(&self, transfer: TransferId) -> StoreResult<MonitoringRow> {
        let row = sqlx::query(concat!(
            "SELECT ",
            monitoring_columns!(),
            " FROM transfer_monitoring WHERE transfer_id = $1"
        ))
        .bind(transfer.to_string())
        .fetch_optional(&self.pool)
        .await?
        .ok_or(StoreError::NotFound)?;
        monitoring_row(&row)
    }

    /// Monitoring decisions made at or after `since`, oldest first, at most `limit` after the
    /// `after` cursor (created_at, transfer id): what a replay walks through.
    pub async fn monitoring_since(
        &self,
        since: OffsetDateTime,
        after: Option<(OffsetDateTime, TransferId)>,
        limit: i64,
    ) -> StoreResult<Vec<MonitoringRow>> {
        let (at, id) = after.map_or((to_micros(since), String::new()), |(at, id)| {
            (to_micros(at), id.to_string())
        });
        let rows = sqlx::query(concat!(
            "SELECT ",
            monitoring_columns!(),
            " FROM transfer_monitoring WHERE created_at >= $1 AND \
             (created_at > $2 OR (created_at = $2 AND transfer_id > $3)) \
             ORDER BY created_at, transfer_id LIMIT $4"
        ))
        .bind(to_micros(since))
        .bind(at)
        .bind(id)
        .bind(limit)
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(monitoring_row).collect()
    }

    /// Raises an alert with its audit event and its cases, in its own transaction; `false`
    /// when an alert with the same dedup key exists.
    pub async fn raise_alert(
        &self,
        alert: &NewAlert,
        event: &AuditEvent,
        context: &AuditContext,
    ) -> StoreResult<bool> {
        let mut tx = self.pool.begin().await?;
        let raised = insert_alert(&mut tx, alert, event, context).await?;
        tx.commit().await?;
        Ok(raised)
    }

    /// One alert.
    pub async fn alert(&self, id: &str) -> StoreResult<AlertRow> {
        let row = sqlx::query(
            "SELECT id, kind, rule, tenant_id, environment, transfer_id, detail, status, \
             created_at FROM alerts WHERE id = $1",
        )
        .bind(id)
        .fetch_optional(&self.pool)
        .await?
        .ok_or(StoreError::NotFound)?;
        alert_row(&row)
    }

    /// Alerts, newest first.
    pub async fn alerts(&self, status: Option<&str>, limit: i64) -> StoreResult<Vec<AlertRow>> {
        let rows = sqlx::query(
            "SELECT id, kind, rule, tenant_id, environment, transfer_id, detail, status, \
             created_at FROM alerts WHERE ($1 = '' OR status = $1) \
             ORDER BY created_at DESC, id LIMIT $2",
        )
        .bind(status.unwrap_or_default())
        .bind(limit)
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(alert_row).collect()
    }

    /// The tenant's KYC level and verified items.
    pub async fn kyc_standing(&self, tenant: TenantId) -> StoreResult<KycStanding> {
        let mut conn = self.pool.acquire().await?;
        let level: Option<String> =
            sqlx::query_scalar("SELECT level FROM kyc_profiles WHERE tenant_id = $1")
                .bind(tenant.to_string())
                .fetch_optional(&mut *conn)
                .await?;
        Ok(KycStanding {
            level: kyc_level(level)?,
            verified: verified_items(&mut conn, tenant).await?,
        })
    }

    /// Sets the tenant's KYC level, with its audit event.
    pub async fn set_kyc_level(
        &self,
        tenant: TenantId,
        level: KycLevel,
        at: OffsetDateTime,
        event: &AuditEvent,
    ) -> StoreResult<()> {
        let mut tx = self.pool.begin().await?;
        set_kyc_level_in(&mut tx, tenant, level, at).await?;
        crate::audit::record(&mut tx, event).await?;
        tx.commit().await?;
        Ok(())
    }

    /// Sets one KYC item's status, with its audit event.
    pub async fn set_kyc_item(
        &self,
        tenant: TenantId,
        item: KycItem,
        status: &str,
        at: OffsetDateTime,
        event: &AuditEvent,
    ) -> StoreResult<()> {
        let mut tx = self.pool.begin().await?;
        sqlx::query(
            "INSERT INTO kyc_items (tenant_id, item, status, updated_at) VALUES ($1, $2, $3, $4) \
             ON CONFLICT (tenant_id, item) DO UPDATE SET status = excluded.status, \
             updated_at = excluded.updated_at",
        )
        .bind(tenant.to_string())
        .bind(item.as_str())
        .bind(status)
        .bind(to_micros(at))
        .execute(&mut *tx)
        .await?;
        crate::audit::record(&mut tx, event).await?;
        tx.commit().await?;
        Ok(())
    }
}

/// Sets a tenant's KYC level inside a caller's transaction (a four-eyes decision applies it so).
pub async fn set_kyc_level_in(
    conn: &mut AnyConnection,
    tenant: TenantId,
    level: KycLevel,
    at: OffsetDateTime,
) -> StoreResult<()> {
    sqlx::query(
        "INSERT INTO kyc_profiles (tenant_id, level, updated_at) VALUES ($1, $2, $3) \
         ON CONFLICT (tenant_id) DO UPDATE SET level = excluded.level, \
         updated_at = excluded.updated_at",
    )
    .bind(tenant.to_string())
    .bind(level.as_str())
    .bind(to_micros(at))
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// One pattern a post-event query found: who or what it is about, how many, and when.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pattern {
    /// The tenant the pattern is about (`None` when it spans tenants).
    pub tenant: Option<TenantId>,
    /// What the pattern is about: a tenant id, or a bank account's blind index.
    pub subject: String,
    pub count: i64,
    pub first_at: OffsetDateTime,
    pub last_at: OffsetDateTime,
}

fn pattern(row: &sqlx::any::AnyRow, tenant_column: Option<&str>) -> StoreResult<Pattern> {
    Ok(Pattern {
        tenant: tenant_column
            .map(|column| parsed(row, column))
            .transpose()?,
        subject: row.try_get("subject")?,
        count: row.try_get("n")?,
        first_at: time_at(row, "first_at")?,
        last_at: time_at(row, "last_at")?,
    })
}

/// Post-event monitoring's reads: patterns across many live transfers that no single
/// transfer's decision can see. Read-only; blocked transfers moved nothing and are left out.
impl Store {
    /// Bank accounts (by blind index) paid by at least `tenants` different tenants since `since`.
    pub async fn shared_beneficiaries(
        &self,
        since: OffsetDateTime,
        tenants: i64,
    ) -> StoreResult<Vec<Pattern>> {
        let rows = sqlx::query(
            "SELECT r.bank_account_index AS subject, COUNT(DISTINCT t.tenant_id) AS n, \
             MIN(t.created_at) AS first_at, MAX(t.created_at) AS last_at \
             FROM transfers t JOIN recipients r ON r.id = t.recipient_id \
             WHERE t.created_at >= $1 AND t.environment = 'live' AND t.status <> 'BLOCKED' \
             GROUP BY r.bank_account_index HAVING COUNT(DISTINCT t.tenant_id) >= $2 \
             ORDER BY subject",
        )
        .bind(to_micros(since))
        .bind(tenants)
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(|row| pattern(row, None)).collect()
    }

    /// The recipients holding the bank account with blind index `account_index` that live
    /// transfers paid since `since`, with their tenants: the parties of a shared beneficiary.
    pub async fn payees_of_account(
        &self,
        account_index: &str,
        since: OffsetDateTime,
    ) -> StoreResult<Vec<(String, TenantId)>> {
        let rows = sqlx::query(
            "SELECT DISTINCT r.id AS recipient_id, r.tenant_id AS tenant_id \
             FROM transfers t JOIN recipients r ON r.id = t.recipient_id \
             WHERE r.bank_account_index = $1 AND t.created_at >= $2 AND t.environment = 'live' \
             AND t.status <> 'BLOCKED' ORDER BY recipient_id",
        )
        .bind(account_index)
        .bind(to_micros(since))
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|row| Ok((row.try_get("recipient_id")?, parsed(row, "tenant_id")?)))
            .collect()
    }

    /// Tenants that paid at least `recipients` different recipients added since `since`.
    pub async fn new_recipient_fan_outs(
        &self,
        since: OffsetDateTime,
        recipients: i64,
    ) -> StoreResult<Vec<Pattern>> {
        let rows = sqlx::query(
            "SELECT t.tenant_id AS subject, t.tenant_id AS tenant_id, \
             COUNT(DISTINCT t.recipient_id) AS n, \
             MIN(t.created_at) AS first_at, MAX(t.created_at) AS last_at \
             FROM transfers t JOIN recipients r ON r.id = t.recipient_id \
             WHERE t.created_at >= $1 AND r.created_at >= $1 AND t.environment = 'live' \
             AND t.status <> 'BLOCKED' \
             GROUP BY t.tenant_id HAVING COUNT(DISTINCT t.recipient_id) >= $2 \
             ORDER BY subject",
        )
        .bind(to_micros(since))
        .bind(recipients)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|row| pattern(row, Some("tenant_id")))
            .collect()
    }

    /// Tenants with at least `count` transfers of a whole multiple of `unit_cents` US cents
    /// since `since`.
    pub async fn round_amount_runs(
        &self,
        since: OffsetDateTime,
        unit_cents: i64,
        count: i64,
    ) -> StoreResult<Vec<Pattern>> {
        let rows = sqlx::query(
            "SELECT tenant_id AS subject, tenant_id, COUNT(*) AS n, \
             MIN(created_at) AS first_at, MAX(created_at) AS last_at \
             FROM transfer_monitoring \
             WHERE created_at >= $1 AND environment = 'live' AND verdict <> 'block' \
             AND amount_usd_cents > 0 AND amount_usd_cents % $2 = 0 \
             GROUP BY tenant_id HAVING COUNT(*) >= $3 ORDER BY subject",
        )
        .bind(to_micros(since))
        .bind(unit_cents)
        .bind(count)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|row| pattern(row, Some("tenant_id")))
            .collect()
    }
}
