//! Batches as stored: written by [`crate::PaymentWrite`], read here.

use benteng_core::api_key::KeyEnvironment;
use benteng_core::ids::{BatchId, TenantId};
use sqlx::Row;
use time::OffsetDateTime;

use crate::payment_writes::BatchItemRow;
use crate::rows::time_at;
use crate::{Store, StoreError, StoreResult};

impl Store {
    /// A batch's creation time and its items in order.
    pub async fn batch(
        &self,
        tenant: TenantId,
        environment: KeyEnvironment,
        id: BatchId,
    ) -> StoreResult<(OffsetDateTime, Vec<BatchItemRow>)> {
        let batch = sqlx::query(
            "SELECT created_at FROM batches WHERE id = $1 AND tenant_id = $2 AND environment = $3",
        )
        .bind(id.to_string())
        .bind(tenant.to_string())
        .bind(environment.as_str())
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
                Ok(BatchItemRow {
                    transfer: transfer
                        .map(|t| t.parse())
                        .transpose()
                        .map_err(|_| StoreError::Corrupt("transfer_id".to_owned()))?,
                    errors: row.try_get("errors")?,
                })
            })
            .collect::<StoreResult<Vec<_>>>()?;
        Ok((time_at(&batch, "created_at")?, items))
    }
}
