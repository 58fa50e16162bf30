//! Money writes: one transaction that the payments layer fills step by step and commits.
//!
//! The payments layer decides everything before it writes (the transfer row in its decided
//! status, its history, its audit events, its screenings, its postings); a [`PaymentWrite`]
//! only writes what it is handed and reports the refusals only the database can find (the quote
//! taken by a concurrent transfer, insufficient funds, the daily cap, a key or reference used).
//! Dropping a `PaymentWrite` without [`PaymentWrite::commit`] rolls everything back.
//!
//! Every statement is a round trip and one tenant's transfers queue on its balance row, so the
//! tenant's hot rows come last: the daily-volume count, then the reservation, then the commit.
//! [`Unreserved`] makes the caller reserve after it has written everything else.

use benteng_core::api_key::KeyEnvironment;
use benteng_core::audit::{AuditContext, AuditEvent};
use benteng_core::ids::{BatchId, TenantId, TransferId};
use benteng_core::payments::compliance::PartyScreening;
use benteng_core::payments::ledger::Posting;
use benteng_core::payments::transfer::TransferStatus;
use benteng_core::webhooks::Notice;
use sqlx::{Any, Transaction};
use time::OffsetDateTime;

use crate::ledger::{KnownAccounts, LedgerError, Phase, record};
use crate::protection::{IdempotencyClaim, VolumeCharge, charge_volume, record_key};
use crate::rows::{insert_rows, to_micros};
use crate::{Store, StoreError, StoreResult, TransferRecord};

/// A partner's own reference for a transfer (SNAP's `partnerReferenceNo`): unique per partner,
/// so a reused one creates nothing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PartnerReference {
    pub partner_id: uuid::Uuid,
    /// The partner's public client id, for the audit trail.
    pub client_id: String,
    pub reference: String,
}

/// One row of a new transfer's history.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HistoryStep {
    pub from: Option<TransferStatus>,
    pub to: TransferStatus,
    pub cause: String,
}

/// A new transfer, fully decided.
#[derive(Debug, Clone)]
pub struct TransferWrite {
    /// The row as it is committed (its status already decided by the compliance step).
    pub record: TransferRecord,
    pub history: Vec<HistoryStep>,
    pub events: Vec<AuditEvent>,
    pub screenings: Vec<PartyScreening>,
    /// The reservation, made last (empty for a blocked transfer).
    pub postings: Vec<Posting>,
    pub partner_reference: Option<PartnerReference>,
    /// The transfer's first tenant-visible events (webhooks' outbox), numbered 1, 2… in
    /// order; their deliveries are scheduled in the same transaction.
    pub notices: Vec<Notice>,
    /// A held transfer's case to open or join, with who held it.
    pub case: Option<(crate::cases::CaseOpening, AuditContext)>,
}

/// What only the database can refuse. Nothing of the refused step is kept.
#[derive(Debug, thiserror::Error)]
pub enum WriteRefusal {
    #[error("the quote was taken by another transfer, or has expired")]
    QuoteTaken,
    #[error("the recipient is not the tenant's")]
    RecipientNotFound,
    #[error("the partner used this reference before")]
    PartnerReferenceUsed,
    #[error("insufficient funds")]
    InsufficientFunds,
    #[error("the daily volume cap would be exceeded")]
    VolumeCap { used_cents: i64, cap_cents: i64 },
    #[error("the idempotency key is already used")]
    KeyTaken,
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl From<sqlx::Error> for WriteRefusal {
    fn from(error: sqlx::Error) -> Self {
        WriteRefusal::Store(StoreError::Database(error))
    }
}

impl From<LedgerError> for WriteRefusal {
    fn from(error: LedgerError) -> Self {
        match error {
            LedgerError::InsufficientFunds => WriteRefusal::InsufficientFunds,
            LedgerError::InvalidPosting(why) => WriteRefusal::Store(StoreError::Corrupt(why)),
            LedgerError::Store(error) => WriteRefusal::Store(error),
        }
    }
}

/// A transfer written but for its money: reserve it, last, in the same write.
#[must_use = "a transfer's funds must be reserved in its own transaction"]
pub struct Unreserved {
    transfer: TransferId,
    postings: Vec<Posting>,
}

/// An item of a batch as stored: the transfer it created, or its refusal as its writer encoded
/// it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BatchItemRow {
    pub transfer: Option<TransferId>,
    pub errors: Option<String>,
}

/// One transaction of money writes.
pub struct PaymentWrite {
    tx: Transaction<'static, Any>,
    backend: crate::Backend,
    known: KnownAccounts,
    reserved: Vec<Posting>,
    /// How many postings were reserved when the current batch item began.
    item_reserved: usize,
}

impl Store {
    pub async fn begin_payment(&self) -> StoreResult<PaymentWrite> {
        Ok(PaymentWrite {
            tx: self.pool.begin().await?,
            backend: self.backend,
            known: self.known_accounts.clone(),
            reserved: Vec::new(),
            item_reserved: 0,
        })
    }
}

impl PaymentWrite {
    /// The transaction's connection, for the other rooms of the store that write in it.
    pub(crate) fn conn(&mut self) -> &mut sqlx::AnyConnection {
        &mut self.tx
    }

    pub(crate) fn backend(&self) -> crate::Backend {
        self.backend
    }

    /// Takes the quote, inserts the transfer with its history, audit events, screenings and
    /// the partner's reference. A refusal leaves the transaction to be rolled back.
    pub async fn transfer(&mut self, write: &TransferWrite) -> Result<Unreserved, WriteRefusal> {
        let conn = &mut *self.tx;
        let t = &write.record;
        let now = to_micros(t.created_at);
        let taken = sqlx::query(
            "UPDATE quotes SET used_by = $1 WHERE id = $2 AND tenant_id = $3 \
             AND used_by IS NULL AND expires_at > $4 AND environment = $5",
        )
        .bind(t.id.to_string())
        .bind(t.quote_id.to_string())
        .bind(t.tenant_id.to_string())
        .bind(now)
        .bind(t.environment.as_str())
        .execute(&mut *conn)
        .await?;
        if taken.rows_affected() != 1 {
            return Err(WriteRefusal::QuoteTaken);
        }
        // Inserted through the recipient row, so a recipient of another tenant inserts nothing.
        let inserted = sqlx::query(
            "INSERT INTO transfers (id, tenant_id, quote_id, recipient_id, batch_id, \
             source_currency, source_amount, target_currency, target_amount, fee_amount, \
             reference, status, risk_score, rail, created_at, updated_at, environment) \
             SELECT $1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17 \
             FROM recipients WHERE id = $4 AND tenant_id = $2 AND environment = $17",
        )
        .bind(t.id.to_string())
        .bind(t.tenant_id.to_string())
        .bind(t.quote_id.to_string())
        .bind(t.recipient_id.to_string())
        .bind(t.batch_id.map(|b| b.to_string()))
        .bind(t.source.currency().code())
        .bind(t.source.amount_minor())
        .bind(t.target.currency().code())
        .bind(t.target.amount_minor())
        .bind(t.fee.amount_minor())
        .bind(&t.reference)
        .bind(t.status.as_str())
        .bind(i64::from(t.risk_score))
        .bind(&t.rail)
        .bind(now)
        .bind(to_micros(t.updated_at))
        .bind(t.environment.as_str())
        .execute(&mut *conn)
        .await?;
        if inserted.rows_affected() != 1 {
            return Err(WriteRefusal::RecipientNotFound);
        }
        if let Some(reference) = &write.partner_reference {
            let linked = sqlx::query(
                "INSERT INTO snap_transfers (partner_id, partner_reference_no, transfer_id, \
                 created_at) VALUES ($1, $2, $3, $4)",
            )
            .bind(reference.partner_id.to_string())
            .bind(&reference.reference)
            .bind(t.id.to_string())
            .bind(now)
            .execute(&mut *conn)
            .await;
            match linked {
                Ok(_) => {}
                Err(sqlx::Error::Database(db)) if db.is_unique_violation() => {
                    return Err(WriteRefusal::PartnerReferenceUsed);
                }
                Err(other) => return Err(other.into()),
            }
        }
        if !write.history.is_empty() {
            let mut query = sqlx::query(insert_rows(
                "INSERT INTO transfer_events (transfer_id, seq, from_status, to_status, cause, at) \
                 VALUES",
                write.history.len(),
                6,
            ));
            for (seq, step) in (1_i64..).zip(&write.history) {
                query = query
                    .bind(t.id.to_string())
                    .bind(seq)
                    .bind(step.from.map(|s| s.as_str()))
                    .bind(step.to.as_str())
                    .bind(step.cause.clone())
                    .bind(now);
            }
            query.execute(&mut *conn).await?;
        }
        crate::webhooks::insert_audit_and_new_notices(
            conn,
            self.backend,
            &write.events,
            &write.notices,
        )
        .await?;
        crate::screening::insert_transfer_screenings(
            conn,
            &write.screenings,
            t.id,
            t.tenant_id,
            t.recipient_id,
            t.created_at,
        )
        .await?;
        if let Some((opening, context)) = &write.case {
            crate::cases::open_or_join_in(conn, opening, context).await?;
        }
        Ok(Unreserved {
            transfer: t.id,
            postings: write.postings.clone(),
        })
    }

    /// Records the idempotency key with the write's outcome; `KeyTaken` when it is live.
    pub async fn record_key(
        &mut self,
        claim: &IdempotencyClaim,
        outcome: &str,
    ) -> Result<(), WriteRefusal> {
        record_key(&mut self.tx, claim, outcome).await
    }

    /// Raises the tenant's count for the day, within its cap.
    pub async fn charge_volume(
        &mut self,
        tenant: TenantId,
        at: OffsetDateTime,
        charge: VolumeCharge,
    ) -> Result<(), WriteRefusal> {
        charge_volume(&mut self.tx, tenant, at, charge).await
    }

    /// Reserves a written transfer's funds (pending postings; the tenant's balance must cover
    /// them).
    pub async fn reserve(&mut self, unreserved: Unreserved) -> Result<(), WriteRefusal> {
        record(
            &mut self.tx,
            &self.known,
            &unreserved.postings,
            Phase::Pending,
            "transfer",
            Some(unreserved.transfer),
        )
        .await?;
        self.reserved.extend(unreserved.postings);
        Ok(())
    }

    /// Starts a batch item: what follows until [`PaymentWrite::keep_item`] or
    /// [`PaymentWrite::drop_item`] is kept or rolled back together, so a refused item leaves
    /// the rest of the batch as it was.
    pub async fn begin_item(&mut self) -> StoreResult<()> {
        sqlx::raw_sql("SAVEPOINT batch_item")
            .execute(&mut *self.tx)
            .await?;
        self.item_reserved = self.reserved.len();
        Ok(())
    }

    /// Keeps the batch item written since [`PaymentWrite::begin_item`].
    pub async fn keep_item(&mut self) -> StoreResult<()> {
        sqlx::raw_sql("RELEASE SAVEPOINT batch_item")
            .execute(&mut *self.tx)
            .await?;
        Ok(())
    }

    /// Rolls back the batch item written since [`PaymentWrite::begin_item`].
    pub async fn drop_item(&mut self) -> StoreResult<()> {
        self.reserved.truncate(self.item_reserved);
        sqlx::raw_sql("ROLLBACK TO SAVEPOINT batch_item")
            .execute(&mut *self.tx)
            .await?;
        sqlx::raw_sql("RELEASE SAVEPOINT batch_item")
            .execute(&mut *self.tx)
            .await?;
        Ok(())
    }

    /// The batch row, before its items (they refer to it).
    pub async fn open_batch(
        &mut self,
        id: BatchId,
        tenant: TenantId,
        environment: KeyEnvironment,
        items: usize,
        at: OffsetDateTime,
    ) -> StoreResult<()> {
        sqlx::query(
            "INSERT INTO batches (id, tenant_id, item_count, accepted, created_at, environment) \
             VALUES ($1, $2, $3, 0, $4, $5)",
        )
        .bind(id.to_string())
        .bind(tenant.to_string())
        .bind(i64::try_from(items).unwrap_or(i64::MAX))
        .bind(to_micros(at))
        .bind(environment.as_str())
        .execute(&mut *self.tx)
        .await?;
        Ok(())
    }

    /// Each item's outcome, the accepted count and the batch's audit event.
    pub async fn close_batch(
        &mut self,
        id: BatchId,
        items: &[BatchItemRow],
        event: &AuditEvent,
    ) -> StoreResult<()> {
        if !items.is_empty() {
            let mut query = sqlx::query(insert_rows(
                "INSERT INTO batch_items (batch_id, idx, transfer_id, errors) VALUES",
                items.len(),
                4,
            ));
            for (index, item) in items.iter().enumerate() {
                query = query
                    .bind(id.to_string())
                    .bind(i64::try_from(index).unwrap_or(i64::MAX))
                    .bind(item.transfer.map(|t| t.to_string()))
                    .bind(item.errors.clone());
            }
            query.execute(&mut *self.tx).await?;
        }
        let accepted = items.iter().filter(|i| i.transfer.is_some()).count();
        sqlx::query("UPDATE batches SET accepted = $1 WHERE id = $2")
            .bind(i64::try_from(accepted).unwrap_or(i64::MAX))
            .bind(id.to_string())
            .execute(&mut *self.tx)
            .await?;
        // A batch whose every transfer was blocked at once is finished as it is written.
        crate::webhooks::notice_batch_if_finished(&mut self.tx, &id.to_string(), event.timestamp)
            .await?;
        crate::audit::record(&mut self.tx, event).await
    }

    /// Commits; the ledger accounts the write reserved on are known to exist from then on.
    pub async fn commit(self) -> StoreResult<()> {
        self.tx.commit().await?;
        self.known.remember(&self.reserved);
        Ok(())
    }
}
