//! Every encrypted column, for key rotation: page through the sealed values of one column and
//! swap a value for its re-encryption only if nobody changed it meanwhile (compare-and-swap), so
//! a rotation can run beside live traffic, be interrupted at any row and resumed.

use sqlx::Row;

use crate::{Store, StoreResult};

/// The columns that hold sealed (encrypted) values. A closed list: SQL text stays literal.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SealedColumn {
    RecipientBankAccount,
    RecipientNationalId,
}

impl SealedColumn {
    pub const ALL: [SealedColumn; 2] = [
        SealedColumn::RecipientBankAccount,
        SealedColumn::RecipientNationalId,
    ];

    /// (table, column) as they appear in the values' AAD.
    pub fn location(&self) -> (&'static str, &'static str) {
        match self {
            SealedColumn::RecipientBankAccount => ("recipients", "bank_account"),
            SealedColumn::RecipientNationalId => ("recipients", "national_id"),
        }
    }

    /// The vault key purpose of the column's values.
    pub fn purpose(&self) -> &'static str {
        match self {
            SealedColumn::RecipientBankAccount => "bank_account",
            SealedColumn::RecipientNationalId => "national_id",
        }
    }

    fn page_sql(&self) -> &'static str {
        match self {
            SealedColumn::RecipientBankAccount => {
                "SELECT tenant_id, id, bank_account_sealed AS sealed FROM recipients \
                 WHERE id > $1 ORDER BY id LIMIT $2"
            }
            SealedColumn::RecipientNationalId => {
                "SELECT tenant_id, id, national_id_sealed AS sealed FROM recipients \
                 WHERE id > $1 AND national_id_sealed IS NOT NULL ORDER BY id LIMIT $2"
            }
        }
    }

    fn swap_sql(&self) -> &'static str {
        match self {
            SealedColumn::RecipientBankAccount => {
                "UPDATE recipients SET bank_account_sealed = $1 WHERE id = $2 AND bank_account_sealed = $3"
            }
            SealedColumn::RecipientNationalId => {
                "UPDATE recipients SET national_id_sealed = $1 WHERE id = $2 AND national_id_sealed = $3"
            }
        }
    }
}

/// One sealed value and what its AAD binds it to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SealedValue {
    pub tenant_id: String,
    pub row_id: String,
    pub sealed: String,
}

impl Store {
    /// Up to `limit` values of `column` in row-id order after `after` ("" to start).
    pub async fn sealed_values(
        &self,
        column: SealedColumn,
        after: &str,
        limit: i64,
    ) -> StoreResult<Vec<SealedValue>> {
        sqlx::query(column.page_sql())
            .bind(after)
            .bind(limit)
            .fetch_all(&self.pool)
            .await?
            .iter()
            .map(|row| {
                Ok(SealedValue {
                    tenant_id: row.try_get("tenant_id")?,
                    row_id: row.try_get("id")?,
                    sealed: row.try_get("sealed")?,
                })
            })
            .collect()
    }

    /// Replaces a sealed value if it is still `old`; `false` when it changed meanwhile.
    pub async fn replace_sealed(
        &self,
        column: SealedColumn,
        row_id: &str,
        old: &str,
        new: &str,
    ) -> StoreResult<bool> {
        let result = sqlx::query(column.swap_sql())
            .bind(new)
            .bind(row_id)
            .bind(old)
            .execute(&self.pool)
            .await?;
        Ok(result.rows_affected() == 1)
    }
}
