//! Recipients. Tier 1 fields arrive here already sealed (encrypted) and leave sealed.

use benteng_core::api_key::KeyEnvironment;
use benteng_core::audit::AuditEvent;
use benteng_core::country::CountryCode;
use benteng_core::ids::{RecipientId, TenantId};
use benteng_core::payments::recipient::{Address, RecipientKind};
use benteng_core::text::{Bic, Name};
use sqlx::Row;
use sqlx::any::AnyRow;
use time::OffsetDateTime;

use crate::paging::{Cursor, Page, cursor_bounds, page};
use crate::rows::{parsed, time_at, to_micros};
use crate::{Store, StoreError, StoreResult};

/// A recipient as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecipientRow {
    pub id: RecipientId,
    pub tenant_id: TenantId,
    pub environment: KeyEnvironment,
    pub kind: RecipientKind,
    pub name: Name,
    pub country: CountryCode,
    pub address: Option<Address>,
    pub bank_scheme: String,
    pub bank_account_sealed: String,
    pub bank_account_last4: String,
    pub bank_account_index: String,
    pub national_id_sealed: Option<String>,
    /// The recipient's bank, where the tenant gave it (ISO 9362).
    pub bic: Option<Bic>,
    pub created_at: OffsetDateTime,
}

macro_rules! recipient_columns {
    () => {
        "id, tenant_id, environment, kind, name, country, address, bank_scheme, bank_account_sealed, \
         bank_account_last4, bank_account_index, national_id_sealed, bic, created_at"
    };
}

fn recipient_from_row(row: &AnyRow) -> StoreResult<RecipientRow> {
    let kind: String = row.try_get("kind")?;
    let address: Option<String> = row.try_get("address")?;
    let bic: Option<String> = row.try_get("bic")?;
    Ok(RecipientRow {
        id: parsed(row, "id")?,
        tenant_id: parsed(row, "tenant_id")?,
        environment: parsed(row, "environment")?,
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
        bic: bic
            .map(|text| Bic::parse(&text))
            .transpose()
            .map_err(|_| StoreError::Corrupt("bic".to_owned()))?,
        created_at: time_at(row, "created_at")?,
    })
}

impl Store {
    /// Stores a recipient with its audit event.
    pub async fn insert_recipient(
        &self,
        recipient: &RecipientRow,
        event: &AuditEvent,
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
             created_at, environment, bic) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)",
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
        .bind(recipient.environment.as_str())
        .bind(recipient.bic.as_ref().map(Bic::as_str))
        .execute(&mut *tx)
        .await
        .map_err(StoreError::from_write)?;
        crate::audit::record(&mut tx, event).await?;
        tx.commit().await?;
        Ok(())
    }

    pub async fn recipient(
        &self,
        tenant: TenantId,
        environment: KeyEnvironment,
        id: RecipientId,
    ) -> StoreResult<RecipientRow> {
        let row = sqlx::query(concat!(
            "SELECT ",
            recipient_columns!(),
            " FROM recipients WHERE id = $1 AND tenant_id = $2 AND environment = $3"
        ))
        .bind(id.to_string())
        .bind(tenant.to_string())
        .bind(environment.as_str())
        .fetch_optional(&self.pool)
        .await?
        .ok_or(StoreError::NotFound)?;
        recipient_from_row(&row)
    }

    /// The tenant's recipients holding this bank account, found by its blind index.
    pub async fn recipients_with_account(
        &self,
        tenant: TenantId,
        environment: KeyEnvironment,
        bank_account_index: &str,
    ) -> StoreResult<Vec<RecipientRow>> {
        sqlx::query(concat!(
            "SELECT ",
            recipient_columns!(),
            " FROM recipients WHERE tenant_id = $1 AND bank_account_index = $2 AND environment = $3"
        ))
        .bind(tenant.to_string())
        .bind(bank_account_index)
        .bind(environment.as_str())
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
        environment: KeyEnvironment,
        after: Option<Cursor>,
        limit: u32,
    ) -> StoreResult<Page<RecipientRow>> {
        let (micros, id) = cursor_bounds(after);
        let rows = sqlx::query(concat!(
            "SELECT ",
            recipient_columns!(),
            " FROM recipients WHERE tenant_id = $1 AND environment = $5 \
             AND (created_at < $2 OR (created_at = $2 AND id < $3)) \
             ORDER BY created_at DESC, id DESC LIMIT $4"
        ))
        .bind(tenant.to_string())
        .bind(micros)
        .bind(id)
        .bind(i64::from(limit) + 1)
        .bind(environment.as_str())
        .fetch_all(&self.pool)
        .await?;
        page(rows, limit, recipient_from_row, |r| {
            (r.created_at, *r.id.as_uuid())
        })
    }
}
