//! Wrapped data-encryption keys. The store keeps them opaque: wrapping and unwrapping happen in
//! the vault, with the KEK, never here.

use sqlx::Row;
use time::OffsetDateTime;

use crate::rows::{optional_time_at, time_at, to_micros};
use crate::{Store, StoreError, StoreResult};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredDataKey {
    pub id: String,
    pub purpose: String,
    pub kek_id: String,
    /// The wrapped key, base64url.
    pub wrapped: String,
    pub created_at: OffsetDateTime,
    pub retired_at: Option<OffsetDateTime>,
}

impl Store {
    pub async fn data_keys(&self) -> StoreResult<Vec<StoredDataKey>> {
        let rows = sqlx::query(
            "SELECT id, purpose, kek_id, wrapped, created_at, retired_at FROM data_keys \
             ORDER BY created_at, id",
        )
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|row| {
                Ok(StoredDataKey {
                    id: row.try_get("id")?,
                    purpose: row.try_get("purpose")?,
                    kek_id: row.try_get("kek_id")?,
                    wrapped: row.try_get("wrapped")?,
                    created_at: time_at(row, "created_at")?,
                    retired_at: optional_time_at(row, "retired_at")?,
                })
            })
            .collect()
    }

    pub async fn insert_data_key(&self, key: &StoredDataKey) -> StoreResult<()> {
        sqlx::query(
            "INSERT INTO data_keys (id, purpose, kek_id, wrapped, created_at, retired_at) \
             VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(&key.id)
        .bind(&key.purpose)
        .bind(&key.kek_id)
        .bind(&key.wrapped)
        .bind(to_micros(key.created_at))
        .bind(key.retired_at.map(to_micros))
        .execute(&self.pool)
        .await
        .map_err(StoreError::from_write)?;
        Ok(())
    }
}
