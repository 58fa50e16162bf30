//! Quotes, recipients, transfers and batches. Every transfer write happens in one database
//! transaction with its ledger postings and its status history.

use benteng_core::audit::{AuditContext, AuditEvent, Retention};
use benteng_core::country::CountryCode;
use benteng_core::currency::Currency;
use benteng_core::ids::{BatchId, QuoteId, RecipientId, TenantId, TransferId};
use benteng_core::money::{Money, Rate};
use benteng_core::payments::compliance::{ComplianceDecision, Verdict};
use benteng_core::payments::ledger::{Posting, return_postings, transfer_postings};
use benteng_core::payments::quote::{FixedSide, Pricing, Quote};
use benteng_core::payments::recipient::{Address, RecipientKind};
use benteng_core::payments::transfer::TransferStatus;
use benteng_core::text::Name;
use sqlx::any::AnyRow;
use sqlx::{AnyConnection, Row};
use time::OffsetDateTime;

use crate::ledger::{KnownAccounts, LedgerError, Phase, Resolution, record, resolve};
use crate::rows::{insert_rows, parsed, time_at, to_micros};
use crate::{Store, StoreError, StoreResult};

/// A recipient as stored: Tier 1 fields arrive here already sealed (encrypted) and leave sealed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecipientRow {
    pub id: RecipientId,
    pub tenant_id: TenantId,
    pub kind: RecipientKind,
    pub name: Name,
    pub country: CountryCode,
    pub address: Option<Address>,
    pub bank_scheme: String,
    pub bank_account_sealed: String,
    pub bank_account_last4: String,
    pub bank_account_index: String,
    pub national_id_sealed: Option<String>,
    pub created_at: OffsetDateTime,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TransferRecord {
    pub id: TransferId,
    pub tenant_id: TenantId,
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

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TransferEvent {
    pub seq: i64,
    pub from: Option<TransferStatus>,
    pub to: TransferStatus,
    pub cause: String,
    pub at: OffsetDateTime,
}

/// A transfer to create; the caller has validated its fields and run the compliance step.
#[derive(Debug, Clone)]
pub struct NewTransfer {
    pub id: TransferId,
    pub tenant_id: TenantId,
    pub quote_id: QuoteId,
    pub recipient_id: RecipientId,
    pub batch_id: Option<BatchId>,
    /// The amount and currency the request stated; must equal the quote's fixed side.
    pub stated: Money,
    pub reference: String,
    pub decision: ComplianceDecision,
    pub rail: String,
    pub now: OffsetDateTime,
    pub context: AuditContext,
    /// A partner's own reference for the transfer (SNAP's `partnerReferenceNo`), recorded in
    /// the transfer's transaction: unique per partner, so a reused one creates nothing.
    pub partner_reference: Option<PartnerReference>,
}

/// A partner's reference for a transfer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PartnerReference {
    pub partner_id: uuid::Uuid,
    /// The partner's public client id, for the audit trail.
    pub client_id: String,
    pub reference: String,
}

/// Why a transfer was not created. Nothing was written in any of these cases.
#[derive(Debug, thiserror::Error)]
pub enum TransferRefusal {
    #[error("quote not found")]
    QuoteNotFound,
    #[error("recipient not found")]
    RecipientNotFound,
    #[error("the quote has expired")]
    QuoteExpired,
    #[error("the quote has already been used")]
    QuoteUsed,
    #[error("amount and currency must equal the quote's {0} amount")]
    AmountMismatch(&'static str),
    #[error("insufficient funds")]
    InsufficientFunds,
    #[error("the partner used this reference before")]
    PartnerReferenceUsed,
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl From<sqlx::Error> for TransferRefusal {
    fn from(error: sqlx::Error) -> Self {
        TransferRefusal::Store(StoreError::Database(error))
    }
}

impl From<LedgerError> for TransferRefusal {
    fn from(error: LedgerError) -> Self {
        match error {
            LedgerError::InsufficientFunds => TransferRefusal::InsufficientFunds,
            LedgerError::InvalidPosting(why) => TransferRefusal::Store(StoreError::Corrupt(why)),
            LedgerError::Store(error) => TransferRefusal::Store(error),
        }
    }
}

/// A page of results and the cursor of the next page, if any.
#[derive(Debug, Clone)]
pub struct Page<T> {
    pub items: Vec<T>,
    pub next: Option<Cursor>,
}

/// Position in a newest-first listing: the last item's creation time and id.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cursor {
    pub created_at: i64,
    pub id: uuid::Uuid,
}

impl Cursor {
    /// Opaque text for clients: `{micros}.{uuid}`; parsing is strict.
    pub fn encode(&self) -> String {
        format!("{}.{}", self.created_at, self.id.simple())
    }

    pub fn decode(text: &str) -> Option<Cursor> {
        let (micros, id) = text.split_once('.')?;
        if micros.is_empty() || micros.len() > 19 || !micros.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        if id.len() != 32 {
            return None;
        }
        Some(Cursor {
            created_at: micros.parse().ok()?,
            id: uuid::Uuid::try_parse(id).ok()?,
        })
    }
}

macro_rules! quote_columns {
    () => {
        "id, tenant_id, source_currency, source_amount, target_currency, target_amount, \
         fee_amount, rate, fixed_side, created_at, expires_at, used_by"
    };
}

fn quote_from_row(row: &AnyRow) -> StoreResult<Quote> {
    let source_currency: Currency = parsed(row, "source_currency")?;
    let target_currency: Currency = parsed(row, "target_currency")?;
    let rate: Rate = parsed(row, "rate")?;
    let fixed: String = row.try_get("fixed_side")?;
    let used_by: Option<String> = row.try_get("used_by")?;
    Ok(Quote {
        id: parsed(row, "id")?,
        tenant_id: parsed(row, "tenant_id")?,
        pricing: Pricing {
            source: Money::from_minor(row.try_get("source_amount")?, source_currency),
            target: Money::from_minor(row.try_get("target_amount")?, target_currency),
            fee: Money::from_minor(row.try_get("fee_amount")?, source_currency),
            rate,
            fixed: FixedSide::parse(&fixed)
                .ok_or_else(|| StoreError::Corrupt("fixed_side".to_owned()))?,
        },
        created_at: time_at(row, "created_at")?,
        expires_at: time_at(row, "expires_at")?,
        used_by: used_by
            .map(|id| id.parse())
            .transpose()
            .map_err(|_| StoreError::Corrupt("used_by".to_owned()))?,
    })
}

macro_rules! recipient_columns {
    () => {
        "id, tenant_id, kind, name, country, address, bank_scheme, bank_account_sealed, \
         bank_account_last4, bank_account_index, national_id_sealed, created_at"
    };
}

fn recipient_from_row(row: &AnyRow) -> StoreResult<RecipientRow> {
    let kind: String = row.try_get("kind")?;
    let address: Option<String> = row.try_get("address")?;
    Ok(RecipientRow {
        id: parsed(row, "id")?,
        tenant_id: parsed(row, "tenant_id")?,
        kind: RecipientKind::parse(&kind).ok_or_else(|| StoreError::Corrupt("kind".to_owned()))?,
        name: parsed(row, "name")?,
        country: parsed(row, "country")?,
        address: address
            .map(|text| serde_json::from_str(&text))
            .transpose()
            .map_err(|_| StoreError::Corrupt("address".to_owned()))?,
        bank_scheme: row.try_get("bank_scheme")?,
        bank_account_sealed: row.try_get("bank_account_sealed")?,
        bank_account_last4: row.try_get("bank_account_last4")?,
        bank_account_index: row.try_get("bank_account_index")?,
        national_id_sealed: row.try_get("national_id_sealed")?,
        created_at: time_at(row, "created_at")?,
    })
}

macro_rules! transfer_columns {
    () => {
        "id, tenant_id, quote_id, recipient_id, batch_id, source_currency, source_amount, \
         target_currency, target_amount, fee_amount, reference, status, risk_score, rail, \
         created_at, updated_at"
    };
}

fn transfer_from_row(row: &AnyRow) -> StoreResult<TransferRecord> {
    let source_currency: Currency = parsed(row, "source_currency")?;
    let target_currency: Currency = parsed(row, "target_currency")?;
    let batch: Option<String> = row.try_get("batch_id")?;
    let risk: i64 = row.try_get("risk_score")?;
    Ok(TransferRecord {
        id: parsed(row, "id")?,
        tenant_id: parsed(row, "tenant_id")?,
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

async fn insert_event(
    conn: &mut AnyConnection,
    transfer: TransferId,
    from: Option<TransferStatus>,
    to: TransferStatus,
    cause: &str,
    at: i64,
) -> StoreResult<()> {
    sqlx::query(
        "INSERT INTO transfer_events (transfer_id, seq, from_status, to_status, cause, at) \
         VALUES ($1, (SELECT COALESCE(MAX(seq), 0) + 1 FROM transfer_events WHERE transfer_id = $1), \
         $2, $3, $4, $5)",
    )
    .bind(transfer.to_string())
    .bind(from.map(|s| s.as_str()))
    .bind(to.as_str())
    .bind(cause)
    .bind(at)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// The audit event of a status change.
fn status_changed(
    context: &AuditContext,
    transfer: TransferId,
    from: TransferStatus,
    to: TransferStatus,
    cause: &str,
    compliance: Option<serde_json::Value>,
) -> AuditEvent {
    let event = AuditEvent::new(
        context,
        "transfer.status_changed",
        Retention::Security,
        ("transfer", transfer.to_string()),
    )
    .change("status", from.as_str().into(), to.as_str().into())
    .change("cause", serde_json::Value::Null, cause.into());
    match compliance {
        Some(compliance) => event.with_compliance(compliance),
        None => event,
    }
}

/// Moves a transfer one step, with its history row and ledger effects; refuses a move the
/// state machine forbids or one that another writer made first.
async fn move_transfer(
    conn: &mut AnyConnection,
    transfer: &TransferRecord,
    to: TransferStatus,
    cause: &str,
    at: i64,
    context: &AuditContext,
    compliance: Option<serde_json::Value>,
) -> StoreResult<()> {
    transfer
        .status
        .check_move(to)
        .map_err(|e| StoreError::Corrupt(e.to_string()))?;
    let moved = sqlx::query(
        "UPDATE transfers SET status = $1, updated_at = $2 WHERE id = $3 AND status = $4",
    )
    .bind(to.as_str())
    .bind(at)
    .bind(transfer.id.to_string())
    .bind(transfer.status.as_str())
    .execute(&mut *conn)
    .await?;
    if moved.rows_affected() != 1 {
        return Err(StoreError::Conflict);
    }
    insert_event(conn, transfer.id, Some(transfer.status), to, cause, at).await?;
    let context = context.for_tenant(transfer.tenant_id);
    let event = status_changed(
        &context,
        transfer.id,
        transfer.status,
        to,
        cause,
        compliance,
    );
    crate::audit::record(conn, &event).await?;
    let ledger = match to {
        TransferStatus::Completed => Some((Resolution::Post, "ledger.posted")),
        TransferStatus::Failed | TransferStatus::Blocked => {
            Some((Resolution::Void, "ledger.voided"))
        }
        _ => None,
    };
    if let Some((resolution, event_type)) = ledger {
        resolve(conn, transfer.id, resolution).await?;
        let event = AuditEvent::new(
            &context,
            event_type,
            Retention::Security,
            ("transfer", transfer.id.to_string()),
        )
        .change(
            "source",
            serde_json::Value::Null,
            transfer.source.to_string().into(),
        )
        .change(
            "target",
            serde_json::Value::Null,
            transfer.target.to_string().into(),
        );
        crate::audit::record(conn, &event).await?;
    }
    Ok(())
}

impl Store {
    pub async fn insert_quote(&self, quote: &Quote, context: &AuditContext) -> StoreResult<()> {
        let p = &quote.pricing;
        let mut tx = self.pool.begin().await?;
        sqlx::query(
            "INSERT INTO quotes (id, tenant_id, source_currency, source_amount, target_currency, \
             target_amount, fee_amount, rate, fixed_side, created_at, expires_at, used_by) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, NULL)",
        )
        .bind(quote.id.to_string())
        .bind(quote.tenant_id.to_string())
        .bind(p.source.currency().code())
        .bind(p.source.amount_minor())
        .bind(p.target.currency().code())
        .bind(p.target.amount_minor())
        .bind(p.fee.amount_minor())
        .bind(p.rate.to_string())
        .bind(p.fixed.as_str())
        .bind(to_micros(quote.created_at))
        .bind(to_micros(quote.expires_at))
        .execute(&mut *tx)
        .await
        .map_err(StoreError::from_write)?;
        let event = AuditEvent::new(
            &context.for_tenant(quote.tenant_id),
            "quote.created",
            Retention::Security,
            ("quote", quote.id.to_string()),
        )
        .change(
            "source",
            serde_json::Value::Null,
            format!("{} {}", p.source, p.source.currency()).into(),
        )
        .change(
            "target",
            serde_json::Value::Null,
            format!("{} {}", p.target, p.target.currency()).into(),
        )
        .change("rate", serde_json::Value::Null, p.rate.to_string().into());
        crate::audit::record(&mut tx, &event).await?;
        tx.commit().await?;
        Ok(())
    }

    /// The tenant's quote; another tenant's is `NotFound`, exactly like a missing one.
    pub async fn quote(&self, tenant: TenantId, id: QuoteId) -> StoreResult<Quote> {
        let row = sqlx::query(concat!(
            "SELECT ",
            quote_columns!(),
            " FROM quotes WHERE id = $1 AND tenant_id = $2"
        ))
        .bind(id.to_string())
        .bind(tenant.to_string())
        .fetch_optional(&self.pool)
        .await?
        .ok_or(StoreError::NotFound)?;
        quote_from_row(&row)
    }

    pub async fn insert_recipient(
        &self,
        recipient: &RecipientRow,
        context: &AuditContext,
    ) -> StoreResult<()> {
        let mut tx = self.pool.begin().await?;
        let address = recipient
            .address
            .as_ref()
            .map(serde_json::to_string)
            .transpose()
            .map_err(|e| StoreError::Corrupt(e.to_string()))?;
        sqlx::query(
            "INSERT INTO recipients (id, tenant_id, kind, name, country, address, bank_scheme, \
             bank_account_sealed, bank_account_last4, bank_account_index, national_id_sealed, \
             created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)",
        )
        .bind(recipient.id.to_string())
        .bind(recipient.tenant_id.to_string())
        .bind(recipient.kind.as_str())
        .bind(recipient.name.as_str())
        .bind(recipient.country.as_str())
        .bind(address)
        .bind(&recipient.bank_scheme)
        .bind(&recipient.bank_account_sealed)
        .bind(&recipient.bank_account_last4)
        .bind(&recipient.bank_account_index)
        .bind(recipient.national_id_sealed.as_deref())
        .bind(to_micros(recipient.created_at))
        .execute(&mut *tx)
        .await
        .map_err(StoreError::from_write)?;
        // Tier 1 and 2 data stays out of the trail: the scheme and last four only.
        let event = AuditEvent::new(
            &context.for_tenant(recipient.tenant_id),
            "recipient.created",
            Retention::Security,
            ("recipient", recipient.id.to_string()),
        )
        .change(
            "bank_account",
            serde_json::Value::Null,
            format!(
                "{} …{}",
                recipient.bank_scheme, recipient.bank_account_last4
            )
            .into(),
        )
        .change(
            "country",
            serde_json::Value::Null,
            recipient.country.as_str().into(),
        );
        crate::audit::record(&mut tx, &event).await?;
        tx.commit().await?;
        Ok(())
    }

    pub async fn recipient(&self, tenant: TenantId, id: RecipientId) -> StoreResult<RecipientRow> {
        let row = sqlx::query(concat!(
            "SELECT ",
            recipient_columns!(),
            " FROM recipients WHERE id = $1 AND tenant_id = $2"
        ))
        .bind(id.to_string())
        .bind(tenant.to_string())
        .fetch_optional(&self.pool)
        .await?
        .ok_or(StoreError::NotFound)?;
        recipient_from_row(&row)
    }

    /// The tenant's recipients holding this bank account, found by its blind index.
    pub async fn recipients_with_account(
        &self,
        tenant: TenantId,
        bank_account_index: &str,
    ) -> StoreResult<Vec<RecipientRow>> {
        sqlx::query(concat!(
            "SELECT ",
            recipient_columns!(),
            " FROM recipients WHERE tenant_id = $1 AND bank_account_index = $2"
        ))
        .bind(tenant.to_string())
        .bind(bank_account_index)
        .fetch_all(&self.pool)
        .await?
        .iter()
        .map(recipient_from_row)
        .collect()
    }

    /// Newest first.
    pub async fn recipients(
        &self,
        tenant: TenantId,
        after: Option<Cursor>,
        limit: u32,
    ) -> StoreResult<Page<RecipientRow>> {
        let (micros, id) = cursor_bounds(after);
        let rows = sqlx::query(concat!(
            "SELECT ",
            recipient_columns!(),
            " FROM recipients WHERE tenant_id = $1 AND (created_at < $2 OR (created_at = $2 AND id < $3)) \
             ORDER BY created_at DESC, id DESC LIMIT $4"
        ))
        .bind(tenant.to_string())
        .bind(micros)
        .bind(id)
        .bind(i64::from(limit) + 1)
        .fetch_all(&self.pool)
        .await?;
        page(rows, limit, recipient_from_row, |r| {
            (r.created_at, *r.id.as_uuid())
        })
    }

    /// Creates a transfer: checks the quote and recipient, uses the quote, reserves the funds,
    /// records the compliance step and its verdict, all in one transaction.
    pub async fn create_transfer(
        &self,
        new: &NewTransfer,
    ) -> Result<TransferRecord, TransferRefusal> {
        let mut tx = self.pool.begin().await?;
        let (record, unreserved) = create_transfer_in(&mut tx, new).await?;
        let postings = unreserved.reserve(&mut tx, &self.known_accounts).await?;
        tx.commit().await?;
        self.known_accounts.remember(&postings);
        Ok(record)
    }

    pub async fn transfer(&self, tenant: TenantId, id: TransferId) -> StoreResult<TransferRecord> {
        let row = sqlx::query(concat!(
            "SELECT ",
            transfer_columns!(),
            " FROM transfers WHERE id = $1 AND tenant_id = $2"
        ))
        .bind(id.to_string())
        .bind(tenant.to_string())
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
        status: Option<TransferStatus>,
        after: Option<Cursor>,
        limit: u32,
    ) -> StoreResult<Page<TransferRecord>> {
        let (micros, id) = cursor_bounds(after);
        let rows = sqlx::query(concat!(
            "SELECT ",
            transfer_columns!(),
            " FROM transfers WHERE tenant_id = $1 AND ($2 = '' OR status = $2) \
             AND (created_at < $3 OR (created_at = $3 AND id < $4)) \
             ORDER BY created_at DESC, id DESC LIMIT $5"
        ))
        .bind(tenant.to_string())
        .bind(status.map(|s| s.as_str()).unwrap_or(""))
        .bind(micros)
        .bind(id)
        .bind(i64::from(limit) + 1)
        .fetch_all(&self.pool)
        .await?;
        page(rows, limit, transfer_from_row, |t| {
            (t.created_at, *t.id.as_uuid())
        })
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

    /// Moves a transfer from the status it was read in to `to`. `Conflict` when another writer
    /// (another instance's rail worker) moved it first.
    pub async fn advance_transfer(
        &self,
        transfer: &TransferRecord,
        to: TransferStatus,
        cause: &str,
        context: &AuditContext,
    ) -> StoreResult<()> {
        let mut tx = self.pool.begin().await?;
        let now = crate::rows::now_micros();
        move_transfer(&mut tx, transfer, to, cause, now, context, None).await?;
        if to == TransferStatus::Returned {
            let quote = sqlx::query(concat!(
                "SELECT ",
                quote_columns!(),
                " FROM quotes WHERE id = $1"
            ))
            .bind(transfer.quote_id.to_string())
            .fetch_one(&mut *tx)
            .await?;
            let quote = quote_from_row(&quote)?;
            let postings =
                return_postings(&quote).map_err(|e| StoreError::Corrupt(e.to_string()))?;
            let event = AuditEvent::new(
                &context.for_tenant(transfer.tenant_id),
                "ledger.returned",
                Retention::Security,
                ("transfer", transfer.id.to_string()),
            )
            .change(
                "refunded",
                serde_json::Value::Null,
                transfer.source.to_string().into(),
            );
            crate::audit::record(&mut tx, &event).await?;
            record(
                &mut tx,
                &self.known_accounts,
                &postings,
                Phase::Posted,
                "return",
                Some(transfer.id),
            )
            .await
            .map_err(|e| match e {
                LedgerError::Store(e) => e,
                other => StoreError::Corrupt(other.to_string()),
            })?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// A batch's items in order: (transfer, errors as JSON text).
    pub async fn batch(
        &self,
        tenant: TenantId,
        id: BatchId,
    ) -> StoreResult<(OffsetDateTime, Vec<(Option<TransferId>, Option<String>)>)> {
        let batch = sqlx::query("SELECT created_at FROM batches WHERE id = $1 AND tenant_id = $2")
            .bind(id.to_string())
            .bind(tenant.to_string())
            .fetch_optional(&self.pool)
            .await?
            .ok_or(StoreError::NotFound)?;
        let rows = sqlx::query(
            "SELECT transfer_id, errors FROM batch_items WHERE batch_id = $1 ORDER BY idx",
        )
        .bind(id.to_string())
        .fetch_all(&self.pool)
        .await?;
        let items = rows
            .iter()
            .map(|row| {
                let transfer: Option<String> = row.try_get("transfer_id")?;
                Ok((
                    transfer
                        .map(|t| t.parse())
                        .transpose()
                        .map_err(|_| StoreError::Corrupt("transfer_id".to_owned()))?,
                    row.try_get("errors")?,
                ))
            })
            .collect::<StoreResult<Vec<_>>>()?;
        Ok((time_at(&batch, "created_at")?, items))
    }
}

/// A transfer written but for its money. The caller reserves the funds last, just before the
/// commit: the reservation locks the tenant's balance row, and every statement after it would
/// hold that lock (one tenant's transfers serialise on it).
#[must_use = "a transfer's funds must be reserved in its own transaction"]
pub(crate) struct Unreserved {
    transfer: TransferId,
    /// Empty for a blocked transfer: it reserves nothing.
    postings: Vec<Posting>,
}

impl Unreserved {
    /// Reserves the funds; returns the postings, whose accounts the caller remembers once the
    /// transaction committed.
    pub(crate) async fn reserve(
        self,
        conn: &mut AnyConnection,
        known: &KnownAccounts,
    ) -> Result<Vec<Posting>, TransferRefusal> {
        record(
            conn,
            known,
            &self.postings,
            Phase::Pending,
            "transfer",
            Some(self.transfer),
        )
        .await?;
        Ok(self.postings)
    }
}

/// Writes a transfer in few statements (each is a round trip, and a busy tenant's transfers
/// queue behind one another's): takes the quote, inserts the transfer in its decided status with
/// its history, audit events and screenings. Refusals come before anything lasting is written;
/// the caller's transaction rolls back whatever a refusal leaves.
pub(crate) async fn create_transfer_in(
    conn: &mut AnyConnection,
    new: &NewTransfer,
) -> Result<(TransferRecord, Unreserved), TransferRefusal> {
    let quote = take_quote(conn, new).await?;
    if quote.is_expired(new.now) {
        return Err(TransferRefusal::QuoteExpired);
    }
    if quote.fixed_amount() != new.stated {
        return Err(TransferRefusal::AmountMismatch(
            quote.pricing.fixed.as_str(),
        ));
    }
    let now = to_micros(new.now);
    let p = &quote.pricing;
    let status = new.decision.next_status();
    // Inserted through the recipient row, so a recipient of another tenant inserts nothing.
    let inserted = sqlx::query(
        "INSERT INTO transfers (id, tenant_id, quote_id, recipient_id, batch_id, source_currency, \
         source_amount, target_currency, target_amount, fee_amount, reference, status, risk_score, \
         rail, created_at, updated_at) \
         SELECT $1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $15 \
         FROM recipients WHERE id = $4 AND tenant_id = $2",
    )
    .bind(new.id.to_string())
    .bind(new.tenant_id.to_string())
    .bind(quote.id.to_string())
    .bind(new.recipient_id.to_string())
    .bind(new.batch_id.map(|b| b.to_string()))
    .bind(p.source.currency().code())
    .bind(p.source.amount_minor())
    .bind(p.target.currency().code())
    .bind(p.target.amount_minor())
    .bind(p.fee.amount_minor())
    .bind(&new.reference)
    .bind(status.as_str())
    .bind(i64::from(new.decision.risk_score))
    .bind(&new.rail)
    .bind(now)
    .execute(&mut *conn)
    .await?;
    if inserted.rows_affected() != 1 {
        return Err(TransferRefusal::RecipientNotFound);
    }
    if let Some(reference) = &new.partner_reference {
        let linked = sqlx::query(
            "INSERT INTO snap_transfers (partner_id, partner_reference_no, transfer_id, created_at) \
             VALUES ($1, $2, $3, $4)",
        )
        .bind(reference.partner_id.to_string())
        .bind(&reference.reference)
        .bind(new.id.to_string())
        .bind(now)
        .execute(&mut *conn)
        .await;
        match linked {
            Ok(_) => {}
            Err(sqlx::Error::Database(db)) if db.is_unique_violation() => {
                return Err(TransferRefusal::PartnerReferenceUsed);
            }
            Err(other) => return Err(other.into()),
        }
    }

    let decided = decision_cause(&new.decision);
    let history = [
        (None, TransferStatus::Initiated, "created"),
        (
            Some(TransferStatus::Initiated),
            TransferStatus::Screening,
            "compliance check started",
        ),
        (Some(TransferStatus::Screening), status, decided.as_str()),
    ];
    let mut query = sqlx::query(insert_rows(
        "INSERT INTO transfer_events (transfer_id, seq, from_status, to_status, cause, at) VALUES",
        history.len(),
        6,
    ));
    for (seq, (from, to, cause)) in (1_i64..).zip(history) {
        query = query
            .bind(new.id.to_string())
            .bind(seq)
            .bind(from.map(|s| s.as_str()))
            .bind(to.as_str())
            .bind(cause)
            .bind(now);
    }
    query.execute(&mut *conn).await?;

    let context = new.context.for_tenant(new.tenant_id);
    let postings = match new.decision.verdict {
        Verdict::Block => Vec::new(),
        Verdict::Approve | Verdict::Review => transfer_postings(&quote)
            .map_err(|e| TransferRefusal::Store(StoreError::Corrupt(e.to_string())))?,
    };
    crate::audit::record_all(
        conn,
        &transfer_audit(new, &quote, &context, &decided, &postings),
    )
    .await?;
    crate::screening::insert_transfer_screenings(
        conn,
        &new.decision.screenings,
        new.id,
        new.tenant_id,
        new.recipient_id,
        new.now,
    )
    .await?;

    let record = TransferRecord {
        id: new.id,
        tenant_id: new.tenant_id,
        quote_id: quote.id,
        recipient_id: new.recipient_id,
        batch_id: new.batch_id,
        source: p.source,
        target: p.target,
        fee: p.fee,
        reference: new.reference.clone(),
        status,
        risk_score: new.decision.risk_score,
        rail: new.rail.clone(),
        created_at: new.now,
        updated_at: new.now,
    };
    let unreserved = Unreserved {
        transfer: new.id,
        postings,
    };
    Ok((record, unreserved))
}

/// Marks the caller's quote used by this transfer and returns it; says why when it cannot.
async fn take_quote(conn: &mut AnyConnection, new: &NewTransfer) -> Result<Quote, TransferRefusal> {
    let taken = sqlx::query(concat!(
        "UPDATE quotes SET used_by = $1 WHERE id = $2 AND tenant_id = $3 AND used_by IS NULL \
         RETURNING ",
        quote_columns!()
    ))
    .bind(new.id.to_string())
    .bind(new.quote_id.to_string())
    .bind(new.tenant_id.to_string())
    .fetch_optional(&mut *conn)
    .await?;
    if let Some(row) = taken {
        return Ok(quote_from_row(&row)?);
    }
    let exists = sqlx::query("SELECT id FROM quotes WHERE id = $1 AND tenant_id = $2")
        .bind(new.quote_id.to_string())
        .bind(new.tenant_id.to_string())
        .fetch_optional(&mut *conn)
        .await?;
    Err(match exists {
        Some(_) => TransferRefusal::QuoteUsed,
        None => TransferRefusal::QuoteNotFound,
    })
}

/// The audit events of a new transfer: initiated, its two status changes, the reservation.
fn transfer_audit(
    new: &NewTransfer,
    quote: &Quote,
    context: &AuditContext,
    decided: &str,
    postings: &[Posting],
) -> Vec<AuditEvent> {
    let p = &quote.pricing;
    let subject = || ("transfer", new.id.to_string());
    let initiated = AuditEvent::new(
        context,
        "transfer.initiated",
        Retention::Security,
        subject(),
    )
    .change(
        "status",
        serde_json::Value::Null,
        TransferStatus::Initiated.as_str().into(),
    )
    .change(
        "quote_id",
        serde_json::Value::Null,
        quote.id.to_string().into(),
    )
    .change(
        "recipient_id",
        serde_json::Value::Null,
        new.recipient_id.to_string().into(),
    );
    let compliance = serde_json::json!({
        "aml_check": match new.decision.verdict {
            Verdict::Approve => "PASSED",
            Verdict::Review => "REVIEW",
            Verdict::Block => "BLOCKED",
        },
        "risk_score": new.decision.risk_score,
        "reasons": new.decision.reasons,
    });
    let mut events = vec![
        initiated,
        status_changed(
            context,
            new.id,
            TransferStatus::Initiated,
            TransferStatus::Screening,
            "compliance check started",
            None,
        ),
        status_changed(
            context,
            new.id,
            TransferStatus::Screening,
            new.decision.next_status(),
            decided,
            Some(compliance),
        ),
    ];
    if let Some(reference) = &new.partner_reference {
        events.push(
            AuditEvent::new(
                context,
                "snap.transfer_linked",
                Retention::Security,
                subject(),
            )
            .change(
                "partner_reference_no",
                serde_json::Value::Null,
                reference.reference.clone().into(),
            )
            .change(
                "client_id",
                serde_json::Value::Null,
                reference.client_id.clone().into(),
            ),
        );
    }
    if !postings.is_empty() {
        events.push(
            AuditEvent::new(context, "ledger.reserved", Retention::Security, subject())
                .change(
                    "source",
                    serde_json::Value::Null,
                    p.source.to_string().into(),
                )
                .change("fee", serde_json::Value::Null, p.fee.to_string().into())
                .change(
                    "currency",
                    serde_json::Value::Null,
                    p.source.currency().code().into(),
                ),
        );
    }
    events
}

fn decision_cause(decision: &ComplianceDecision) -> String {
    let verdict = match decision.verdict {
        Verdict::Approve => "approved",
        Verdict::Review => "held for review",
        Verdict::Block => "blocked",
    };
    // The tenant reads this history: the verdict and score only. Which list entry matched is
    // for compliance staff (audit trail, screening decisions), not a tip-off to the customer.
    format!("compliance: {verdict} (risk score {})", decision.risk_score)
}

/// Bounds for a newest-first page: everything when there is no cursor.
fn cursor_bounds(after: Option<Cursor>) -> (i64, String) {
    match after {
        Some(cursor) => (cursor.created_at, cursor.id.hyphenated().to_string()),
        None => (i64::MAX, "~".to_owned()),
    }
}

fn page<T>(
    rows: Vec<AnyRow>,
    limit: u32,
    decode: fn(&AnyRow) -> StoreResult<T>,
    key: fn(&T) -> (OffsetDateTime, uuid::Uuid),
) -> StoreResult<Page<T>> {
    let mut items = rows.iter().map(decode).collect::<StoreResult<Vec<T>>>()?;
    let more = items.len() > limit as usize;
    items.truncate(limit as usize);
    let next = if more {
        items.last().map(|item| {
            let (created_at, id) = key(item);
            Cursor {
                created_at: to_micros(created_at),
                id,
            }
        })
    } else {
        None
    };
    Ok(Page { items, next })
}
