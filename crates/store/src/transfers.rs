//! Transfers as stored: reads, the rails' work queue, and status moves.

use benteng_core::api_key::KeyEnvironment;
use benteng_core::audit::AuditEvent;
use benteng_core::currency::Currency;
use benteng_core::ids::{BatchId, QuoteId, RecipientId, TenantId, TransferId};
use benteng_core::money::Money;
use benteng_core::payments::ledger::Posting;
use benteng_core::payments::transfer::TransferStatus;
use benteng_core::webhooks::Notice;
use sqlx::Row;
use sqlx::any::AnyRow;
use time::OffsetDateTime;

use crate::ledger::{LedgerError, Phase, Resolution, record, resolve};
use crate::paging::{Cursor, Page, cursor_bounds, page};
use crate::rows::{parsed, time_at, to_micros};
use crate::{Store, StoreError, StoreResult};

/// Transfers in one unfinished status (see [`Store::transfers_in_flight`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct InFlight {
    pub status: TransferStatus,
    pub count: i64,
    /// When the transfer that has waited longest in this status entered it.
    pub oldest: Option<OffsetDateTime>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TransferRecord {
    pub id: TransferId,
    pub tenant_id: TenantId,
    /// Live, or test (created with an `sk_test_` key; paid by the sandbox rail only).
    pub environment: KeyEnvironment,
    pub quote_id: QuoteId,
    pub recipient_id: RecipientId,
    pub batch_id: Option<BatchId>,
    pub source: Money,
    pub target: Money,
    pub fee: Money,
    pub reference: String,
    pub status: TransferStatus,
    pub risk_score: u8,
    pub rail: String,
    pub created_at: OffsetDateTime,
    pub updated_at: OffsetDateTime,
}

/// One row of a transfer's status history.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TransferEvent {
    pub seq: i64,
    pub from: Option<TransferStatus>,
    pub to: TransferStatus,
    pub cause: String,
    pub at: OffsetDateTime,
}

/// What a status move does to the ledger.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LedgerEffect {
    None,
    /// Posts the transfer's pending postings.
    Post,
    /// Voids them (the reservation is released).
    Void,
    /// Posts these (a return: the reverse of the principal).
    Posted(Vec<Posting>),
}

/// A status move, decided by the payments layer: the store applies it only if the transfer
/// is still in `from` (another writer may have moved it first: `Conflict`).
#[derive(Debug, Clone)]
pub struct TransferMove {
    pub transfer: TransferId,
    pub from: TransferStatus,
    pub to: TransferStatus,
    pub cause: String,
    pub at: OffsetDateTime,
    pub events: Vec<AuditEvent>,
    pub ledger: LedgerEffect,
    /// The tenant-visible event of the move (webhooks' outbox), if it has one: it takes the
    /// transfer's next sequence number.
    pub notice: Option<Notice>,
    /// A held transfer's decision on its case (with the four-eyes approval it carries).
    pub case: Option<crate::cases::CaseDecisionWrite>,
}

macro_rules! transfer_columns {
    () => {
        "id, tenant_id, environment, quote_id, recipient_id, batch_id, source_currency, source_amount, \
         target_currency, target_amount, fee_amount, reference, status, risk_score, rail, \
         created_at, updated_at"
    };
}
pub(crate) use transfer_columns;

pub(crate) fn transfer_from_row(row: &AnyRow) -> StoreResult<TransferRecord> {
    let source_currency: Currency = parsed(row, "source_currency")?;
    let target_currency: Currency = parsed(row, "target_currency")?;
    let batch: Option<String> = row.try_get("batch_id")?;
    let risk: i64 = row.try_get("risk_score")?;
    Ok(TransferRecord {
        id: parsed(row, "id")?,
        tenant_id: parsed(row, "tenant_id")?,
        environment: parsed(row, "environment")?,
        quote_id: parsed(row, "quote_id")?,
        recipient_id: parsed(row, "recipient_id")?,
        batch_id: batch
            .map(|b| b.parse())
            .transpose()
            .map_err(|_| StoreError::Corrupt("batch_id".to_owned()))?,
        source: Money::from_minor(row.try_get("source_amount")?, source_currency),
        target: Money::from_minor(row.try_get("target_amount")?, target_currency),
        fee: Money::from_minor(row.try_get("fee_amount")?, source_currency),
        reference: row.try_get("reference")?,
        status: parsed(row, "status")?,
        risk_score: u8::try_from(risk).map_err(|_| StoreError::Corrupt("risk_score".to_owned()))?,
        rail: row.try_get("rail")?,
        created_at: time_at(row, "created_at")?,
        updated_at: time_at(row, "updated_at")?,
    })
}

impl Store {
    /// The tenant's transfer in one environment; any other is `NotFound`.
    pub async fn transfer(
        &self,
        tenant: TenantId,
        environment: KeyEnvironment,
        id: TransferId,
    ) -> StoreResult<TransferRecord> {
        let row = sqlx::query(concat!(
            "SELECT ",
            transfer_columns!(),
            " FROM transfers WHERE id = $1 AND tenant_id = $2 AND environment = $3"
        ))
        .bind(id.to_string())
        .bind(tenant.to_string())
        .bind(environment.as_str())
        .fetch_optional(&self.pool)
        .await?
        .ok_or(StoreError::NotFound)?;
        transfer_from_row(&row)
    }

    pub async fn transfer_events(&self, id: TransferId) -> StoreResult<Vec<TransferEvent>> {
        let rows = sqlx::query(
            "SELECT seq, from_status, to_status, cause, at FROM transfer_events \
             WHERE transfer_id = $1 ORDER BY seq",
        )
        .bind(id.to_string())
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|row| {
                let from: Option<String> = row.try_get("from_status")?;
                Ok(TransferEvent {
                    seq: row.try_get("seq")?,
                    from: from
                        .map(|s| s.parse())
                        .transpose()
                        .map_err(|_| StoreError::Corrupt("from_status".to_owned()))?,
                    to: parsed(row, "to_status")?,
                    cause: row.try_get("cause")?,
                    at: time_at(row, "at")?,
                })
            })
            .collect()
    }

    /// Newest first, optionally of one status.
    pub async fn transfers(
        &self,
        tenant: TenantId,
        environment: KeyEnvironment,
        status: Option<TransferStatus>,
        after: Option<Cursor>,
        limit: u32,
    ) -> StoreResult<Page<TransferRecord>> {
        let (micros, id) = cursor_bounds(after);
        let rows = sqlx::query(concat!(
            "SELECT ",
            transfer_columns!(),
            " FROM transfers WHERE tenant_id = $1 AND ($2 = '' OR status = $2) \
             AND (created_at < $3 OR (created_at = $3 AND id < $4)) AND environment = $6 \
             ORDER BY created_at DESC, id DESC LIMIT $5"
        ))
        .bind(tenant.to_string())
        .bind(status.map(|s| s.as_str()).unwrap_or(""))
        .bind(micros)
        .bind(id)
        .bind(i64::from(limit) + 1)
        .bind(environment.as_str())
        .fetch_all(&self.pool)
        .await?;
        page(rows, limit, transfer_from_row, |t| {
            (t.created_at, *t.id.as_uuid())
        })
    }

    /// Every status a transfer has not yet ended in, with how many transfers are in it and
    /// when the one waiting longest entered it. Each status is one range of the
    /// `transfers_by_status` index, so the cost follows the work in flight, not the table's size.
    pub async fn transfers_in_flight(&self) -> StoreResult<Vec<InFlight>> {
        let mut counts = Vec::new();
        for status in TransferStatus::ALL.into_iter().filter(|s| !s.has_ended()) {
            let row = sqlx::query(
                "SELECT COUNT(*) AS n, MIN(updated_at) AS oldest FROM transfers WHERE status = $1",
            )
            .bind(status.as_str())
            .fetch_one(&self.pool)
            .await?;
            counts.push(InFlight {
                status,
                count: row.try_get("n")?,
                oldest: row
                    .try_get::<Option<i64>, _>("oldest")?
                    .map(crate::rows::from_micros)
                    .transpose()?,
            });
        }
        Ok(counts)
    }

    /// Transfers of any tenant in `status` that have not changed since `before`, oldest first:
    /// the work queue of the rails.
    pub async fn transfers_waiting(
        &self,
        status: TransferStatus,
        before: OffsetDateTime,
        limit: u32,
    ) -> StoreResult<Vec<TransferRecord>> {
        sqlx::query(concat!(
            "SELECT ",
            transfer_columns!(),
            " FROM transfers WHERE status = $1 AND updated_at <= $2 ORDER BY updated_at LIMIT $3"
        ))
        .bind(status.as_str())
        .bind(to_micros(before))
        .bind(i64::from(limit))
        .fetch_all(&self.pool)
        .await?
        .iter()
        .map(transfer_from_row)
        .collect()
    }

    /// Applies a status move in one transaction: the conditional status update, the history
    /// row, the audit events and the ledger effect. `Conflict` when the transfer was no longer
    /// in `from` (another instance's rail worker moved it first); nothing is written then.
    pub async fn move_transfer(&self, change: &TransferMove) -> StoreResult<()> {
        let at = to_micros(change.at);
        let mut tx = self.pool.begin().await?;
        let moved = sqlx::query(
            "UPDATE transfers SET status = $1, updated_at = $2 WHERE id = $3 AND status = $4",
        )
        .bind(change.to.as_str())
        .bind(at)
        .bind(change.transfer.to_string())
        .bind(change.from.as_str())
        .execute(&mut *tx)
        .await?;
        if moved.rows_affected() != 1 {
            return Err(StoreError::Conflict);
        }
        sqlx::query(
            "INSERT INTO transfer_events (transfer_id, seq, from_status, to_status, cause, at) \
             VALUES ($1, (SELECT COALESCE(MAX(seq), 0) + 1 FROM transfer_events WHERE transfer_id = $1), \
             $2, $3, $4, $5)",
        )
        .bind(change.transfer.to_string())
        .bind(change.from.as_str())
        .bind(change.to.as_str())
        .bind(&change.cause)
        .bind(at)
        .execute(&mut *tx)
        .await?;
        crate::audit::record_all(&mut tx, &change.events).await?;
        if let Some(decision) = &change.case {
            crate::cases::apply_decision_in(&mut tx, decision, change.at).await?;
        }
        if let Some(notice) = &change.notice {
            crate::webhooks::insert_next_notice(&mut tx, notice).await?;
        }
        if change.to.has_ended() {
            crate::webhooks::notice_transfers_batch_if_finished(
                &mut tx,
                &change.transfer.to_string(),
                change.at,
            )
            .await?;
        }
        match &change.ledger {
            LedgerEffect::None => {}
            LedgerEffect::Post => resolve(&mut tx, change.transfer, Resolution::Post).await?,
            LedgerEffect::Void => resolve(&mut tx, change.transfer, Resolution::Void).await?,
            LedgerEffect::Posted(postings) => {
                record(
                    &mut tx,
                    &self.known_accounts,
                    postings,
                    Phase::Posted,
                    "return",
                    Some(change.transfer),
                )
                .await
                .map_err(|e| match e {
                    LedgerError::Store(e) => e,
                    other => StoreError::Corrupt(other.to_string()),
                })?;
            }
        }
        tx.commit().await?;
        Ok(())
    }
}
