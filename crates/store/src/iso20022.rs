//! ISO 20022 (migrations 0017, 0020, 0025): the platform's XMLDSig signing keys (wrapped by the
//! KEK; the store keeps them opaque), the signed messages, stored as the exact bytes sent or
//! received, and which transfers each pain.001 batch carries.

use benteng_core::audit::{AuditContext, AuditEvent, Retention};
use benteng_core::ids::{TenantId, TransferId};
use sqlx::Row;
use time::OffsetDateTime;

use crate::rows::{insert_rows, optional_time_at, time_at, to_micros};
use crate::transfers::TransferRecord;
use crate::{Store, StoreError, StoreResult};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredSigningKey {
    pub id: String,
    pub kek_id: String,
    /// The KEK-wrapped PKCS#8 private key, base64url.
    pub wrapped_key: String,
    /// The DER certificate, base64.
    pub certificate: String,
    pub created_at: OffsetDateTime,
    /// When it starts signing: at once for the first key, after the overlap for a rotation's
    /// new key (counterparties register its certificate first).
    pub signs_from: OffsetDateTime,
    pub retired_at: Option<OffsetDateTime>,
}

/// A signed message as stored: `signed_xml` is the exact text that was signed and sent (or
/// received and verified).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredIsoMessage {
    pub message_id: String,
    /// `pacs.008.001.08`, `pain.001.001.09`, `pacs.002.001.10`, `pacs.004.001.09`.
    pub kind: String,
    /// `out` or `in`.
    pub direction: String,
    pub transfer_id: Option<TransferId>,
    pub tenant_id: Option<TenantId>,
    pub signing_key_id: Option<String>,
    pub counterparty: Option<String>,
    pub signed_xml: String,
    pub created_at: OffsetDateTime,
    /// When an outgoing message was handed over (file drop written, HTTPS endpoint accepted
    /// it); `None` until then.
    pub delivered_at: Option<OffsetDateTime>,
}

/// The message kind a batch is stored as.
const BATCH_KIND: &str = "pain.001.001.09";

macro_rules! message_columns {
    () => {
        "message_id, kind, direction, transfer_id, tenant_id, signing_key_id, counterparty, \
         signed_xml, created_at, delivered_at"
    };
}

fn message_from_row(row: &sqlx::any::AnyRow) -> StoreResult<StoredIsoMessage> {
    let transfer_id: Option<String> = row.try_get("transfer_id")?;
    let tenant_id: Option<String> = row.try_get("tenant_id")?;
    Ok(StoredIsoMessage {
        message_id: row.try_get("message_id")?,
        kind: row.try_get("kind")?,
        direction: row.try_get("direction")?,
        transfer_id: transfer_id
            .map(|t| {
                t.parse()
                    .map_err(|_| StoreError::Corrupt("transfer_id".to_owned()))
            })
            .transpose()?,
        tenant_id: tenant_id
            .map(|t| {
                t.parse()
                    .map_err(|_| StoreError::Corrupt("tenant_id".to_owned()))
            })
            .transpose()?,
        signing_key_id: row.try_get("signing_key_id")?,
        counterparty: row.try_get("counterparty")?,
        signed_xml: row.try_get("signed_xml")?,
        created_at: time_at(row, "created_at")?,
        delivered_at: optional_time_at(row, "delivered_at")?,
    })
}

impl Store {
    /// Every signing key in the order they sign (by `signs_from`), the rotation timeline's
    /// order.
    pub async fn iso20022_signing_keys(&self) -> StoreResult<Vec<StoredSigningKey>> {
        let rows = sqlx::query(
            "SELECT id, kek_id, wrapped_key, certificate, created_at, signs_from, retired_at \
             FROM iso20022_signing_keys ORDER BY signs_from, created_at, id",
        )
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|row| {
                Ok(StoredSigningKey {
                    id: row.try_get("id")?,
                    kek_id: row.try_get("kek_id")?,
                    wrapped_key: row.try_get("wrapped_key")?,
                    certificate: row.try_get("certificate")?,
                    created_at: time_at(row, "created_at")?,
                    signs_from: time_at(row, "signs_from")?,
                    retired_at: optional_time_at(row, "retired_at")?,
                })
            })
            .collect()
    }

    /// Stores a new signing key (it signs from its `signs_from`) with its audit event.
    pub async fn insert_iso20022_signing_key(
        &self,
        key: &StoredSigningKey,
        fingerprint: &str,
        context: &AuditContext,
    ) -> StoreResult<()> {
        let mut tx = self.pool.begin().await?;
        sqlx::query(
            "INSERT INTO iso20022_signing_keys (id, kek_id, wrapped_key, certificate, created_at, \
             signs_from, retired_at) VALUES ($1, $2, $3, $4, $5, $6, NULL)",
        )
        .bind(&key.id)
        .bind(&key.kek_id)
        .bind(&key.wrapped_key)
        .bind(&key.certificate)
        .bind(to_micros(key.created_at))
        .bind(to_micros(key.signs_from))
        .execute(&mut *tx)
        .await
        .map_err(StoreError::from_write)?;
        let event = AuditEvent::new(
            context,
            "iso20022.signing_key_created",
            Retention::Security,
            ("iso20022_signing_key", key.id.clone()),
        )
        .change(
            "certificate_sha256",
            serde_json::Value::Null,
            fingerprint.into(),
        )
        .change(
            "signs_from",
            serde_json::Value::Null,
            key.signs_from.unix_timestamp().into(),
        );
        crate::audit::record(&mut tx, &event).await?;
        tx.commit().await?;
        Ok(())
    }

    /// Stores a signed message with its audit event. `Conflict` when the transfer already has
    /// an outgoing message of this kind (the caller then reads that one back).
    pub async fn insert_iso20022_message(
        &self,
        message: &StoredIsoMessage,
        context: &AuditContext,
    ) -> StoreResult<()> {
        let mut tx = self.pool.begin().await?;
        sqlx::query(concat!(
            "INSERT INTO iso20022_messages (",
            message_columns!(),
            ") VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)"
        ))
        .bind(&message.message_id)
        .bind(&message.kind)
        .bind(&message.direction)
        .bind(message.transfer_id.map(|t| t.to_string()))
        .bind(message.tenant_id.map(|t| t.to_string()))
        .bind(message.signing_key_id.clone())
        .bind(message.counterparty.clone())
        .bind(&message.signed_xml)
        .bind(to_micros(message.created_at))
        .bind(message.delivered_at.map(to_micros))
        .execute(&mut *tx)
        .await
        .map_err(StoreError::from_write)?;
        let context = match message.tenant_id {
            Some(tenant) => context.for_tenant(tenant),
            None => context.clone(),
        };
        let action = if message.direction == "out" {
            "iso20022.message_signed"
        } else {
            "iso20022.message_received"
        };
        let mut event = AuditEvent::new(
            &context,
            action,
            Retention::Security,
            ("iso20022_message", message.message_id.clone()),
        )
        .change("kind", serde_json::Value::Null, message.kind.clone().into());
        if let Some(transfer) = message.transfer_id {
            event = event.change(
                "transfer_id",
                serde_json::Value::Null,
                transfer.to_string().into(),
            );
        }
        crate::audit::record(&mut tx, &event).await?;
        tx.commit().await?;
        Ok(())
    }

    /// Records that an outgoing message was handed over (the first time only).
    pub async fn mark_iso20022_delivered(
        &self,
        message_id: &str,
        at: OffsetDateTime,
    ) -> StoreResult<()> {
        sqlx::query(
            "UPDATE iso20022_messages SET delivered_at = $1 \
             WHERE message_id = $2 AND direction = 'out' AND delivered_at IS NULL",
        )
        .bind(to_micros(at))
        .bind(message_id)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// The outgoing message of `kind` for a transfer, if one was signed.
    pub async fn iso20022_message_for_transfer(
        &self,
        transfer: TransferId,
        kind: &str,
    ) -> StoreResult<Option<StoredIsoMessage>> {
        let row = sqlx::query(concat!(
            "SELECT ",
            message_columns!(),
            " FROM iso20022_messages WHERE transfer_id = $1 AND kind = $2 AND direction = 'out'"
        ))
        .bind(transfer.to_string())
        .bind(kind)
        .fetch_optional(&self.pool)
        .await?;
        row.as_ref().map(message_from_row).transpose()
    }

    /// A stored message by its message id (outgoing `BizMsgIdr`, or an incoming one's).
    pub async fn iso20022_message(
        &self,
        message_id: &str,
    ) -> StoreResult<Option<StoredIsoMessage>> {
        let row = sqlx::query(concat!(
            "SELECT ",
            message_columns!(),
            " FROM iso20022_messages WHERE message_id = $1"
        ))
        .bind(message_id)
        .fetch_optional(&self.pool)
        .await?;
        row.as_ref().map(message_from_row).transpose()
    }

    /// Stores a signed pain.001 and the transfers it carries (in message order) in one
    /// transaction, with its audit event naming the tenant and the count. `Conflict` when one of
    /// the transfers is already in a batch (another instance made it first): nothing is stored.
    pub async fn insert_iso20022_batch(
        &self,
        message: &StoredIsoMessage,
        transfers: &[TransferId],
        context: &AuditContext,
    ) -> StoreResult<()> {
        let Some(tenant) = message.tenant_id else {
            return Err(StoreError::Corrupt(
                "a batch belongs to one tenant".to_owned(),
            ));
        };
        let mut tx = self.pool.begin().await?;
        sqlx::query(concat!(
            "INSERT INTO iso20022_messages (",
            message_columns!(),
            ") VALUES ($1, $2, $3, NULL, $4, $5, $6, $7, $8, $9)"
        ))
        .bind(&message.message_id)
        .bind(&message.kind)
        .bind(&message.direction)
        .bind(tenant.to_string())
        .bind(message.signing_key_id.clone())
        .bind(message.counterparty.clone())
        .bind(&message.signed_xml)
        .bind(to_micros(message.created_at))
        .bind(message.delivered_at.map(to_micros))
        .execute(&mut *tx)
        .await
        .map_err(StoreError::from_write)?;
        // 250 rows (1,000 parameters) per statement, well under both backends' limits.
        for (chunk_index, chunk) in transfers.chunks(250).enumerate() {
            let mut query = sqlx::query(insert_rows(
                "INSERT INTO iso20022_batch_transfers (transfer_id, message_id, tenant_id, \
                 position) VALUES",
                chunk.len(),
                4,
            ));
            for (offset, transfer) in chunk.iter().enumerate() {
                let position = i64::try_from(chunk_index * 250 + offset)
                    .map_err(|_| StoreError::Corrupt("batch position".to_owned()))?;
                query = query
                    .bind(transfer.to_string())
                    .bind(&message.message_id)
                    .bind(tenant.to_string())
                    .bind(position);
            }
            query
                .execute(&mut *tx)
                .await
                .map_err(StoreError::from_write)?;
        }
        let event = AuditEvent::new(
            &context.for_tenant(tenant),
            "iso20022.message_signed",
            Retention::Security,
            ("iso20022_message", message.message_id.clone()),
        )
        .change("kind", serde_json::Value::Null, message.kind.clone().into())
        .change("transfers", serde_json::Value::Null, transfers.len().into());
        crate::audit::record(&mut tx, &event).await?;
        tx.commit().await?;
        Ok(())
    }

    /// The pain.001 batch carrying a transfer, if it is in one.
    pub async fn iso20022_batch_of_transfer(
        &self,
        transfer: TransferId,
    ) -> StoreResult<Option<StoredIsoMessage>> {
        let row = sqlx::query(concat!(
            "SELECT ",
            message_columns!(),
            " FROM iso20022_messages WHERE message_id = \
             (SELECT message_id FROM iso20022_batch_transfers WHERE transfer_id = $1)"
        ))
        .bind(transfer.to_string())
        .fetch_optional(&self.pool)
        .await?;
        row.as_ref().map(message_from_row).transpose()
    }

    /// The transfers a batch carries, in message order.
    pub async fn iso20022_batch_transfers(&self, message_id: &str) -> StoreResult<Vec<TransferId>> {
        let rows = sqlx::query(
            "SELECT transfer_id FROM iso20022_batch_transfers WHERE message_id = $1 \
             ORDER BY position",
        )
        .bind(message_id)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|row| {
                let id: String = row.try_get("transfer_id")?;
                id.parse()
                    .map_err(|_| StoreError::Corrupt("transfer_id".to_owned()))
            })
            .collect()
    }

    /// Submitted transfers of `rail` that no outgoing message carries yet (neither a pacs.008
    /// nor a batch), oldest first: the queue pain.001 batches are made from.
    pub async fn iso20022_unbatched(
        &self,
        rail: &str,
        limit: u32,
    ) -> StoreResult<Vec<TransferRecord>> {
        sqlx::query(concat!(
            "SELECT ",
            crate::transfers::transfer_columns!(),
            " FROM transfers t WHERE rail = $1 AND status = 'SUBMITTED' \
             AND NOT EXISTS (SELECT 1 FROM iso20022_batch_transfers b WHERE b.transfer_id = t.id) \
             AND NOT EXISTS (SELECT 1 FROM iso20022_messages m \
                             WHERE m.transfer_id = t.id AND m.direction = 'out') \
             ORDER BY updated_at, id LIMIT $2"
        ))
        .bind(rail)
        .bind(i64::from(limit))
        .fetch_all(&self.pool)
        .await?
        .iter()
        .map(crate::transfers::transfer_from_row)
        .collect()
    }

    /// Outgoing batches not handed over yet that still carry a submitted transfer (a batch
    /// whose transfers all moved on is not sent again).
    pub async fn iso20022_undelivered_batches(
        &self,
        limit: u32,
    ) -> StoreResult<Vec<StoredIsoMessage>> {
        let rows = sqlx::query(concat!(
            "SELECT ",
            message_columns!(),
            " FROM iso20022_messages m WHERE direction = 'out' AND kind = $1 \
             AND delivered_at IS NULL AND EXISTS (\
                 SELECT 1 FROM iso20022_batch_transfers b JOIN transfers t ON t.id = b.transfer_id \
                 WHERE b.message_id = m.message_id AND t.status = 'SUBMITTED') \
             ORDER BY created_at, message_id LIMIT $2"
        ))
        .bind(BATCH_KIND)
        .bind(i64::from(limit))
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(message_from_row).collect()
    }

    /// A transfer by id alone, for operator commands (tenant APIs use `transfer`, which is
    /// scoped to the tenant).
    pub async fn transfer_by_id(&self, id: TransferId) -> StoreResult<TransferRecord> {
        let row = sqlx::query(concat!(
            "SELECT ",
            crate::transfers::transfer_columns!(),
            " FROM transfers WHERE id = $1"
        ))
        .bind(id.to_string())
        .fetch_optional(&self.pool)
        .await?
        .ok_or(StoreError::NotFound)?;
        crate::transfers::transfer_from_row(&row)
    }
}
