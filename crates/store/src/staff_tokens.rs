//! Staff API tokens (migration 0014): issued by a person for their own automation, revoked by
//! them or by containment. Every issue and revocation writes its audit event in its own
//! transaction; a revocation sets `revoked_at`, which is part of the session watermark, so an
//! instance that missed the invalidation message still drops its cached tokens.

use benteng_core::audit::{AuditContext, AuditEvent, Retention};
use benteng_core::ids::PersonId;
use benteng_core::roles::Permissions;
use benteng_core::staff_token::TokenName;
use sqlx::any::AnyRow;
use time::OffsetDateTime;

use crate::people::PersonRow;
use crate::rows::{now_micros, optional_time_at, parsed, time_at, to_micros};
use crate::{Store, StoreError, StoreResult};

/// A staff token as stored (the token only as its keyed hash).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StaffTokenRow {
    pub id: uuid::Uuid,
    pub person: PersonId,
    pub name: TokenName,
    pub token_hash: String,
    pub permissions: Permissions,
    pub created_at: OffsetDateTime,
    pub expires_at: OffsetDateTime,
    pub revoked_at: Option<OffsetDateTime>,
    pub last_used_at: Option<OffsetDateTime>,
}

macro_rules! token_columns {
    () => {
        "id, person_id, name, token_hash, permissions, created_at, expires_at, revoked_at, \
         last_used_at"
    };
}

fn token_from_row(row: &AnyRow) -> StoreResult<StaffTokenRow> {
    use sqlx::Row;
    Ok(StaffTokenRow {
        id: parsed(row, "id")?,
        person: parsed(row, "person_id")?,
        name: parsed(row, "name")?,
        token_hash: row.try_get("token_hash")?,
        permissions: parsed(row, "permissions")?,
        created_at: time_at(row, "created_at")?,
        expires_at: time_at(row, "expires_at")?,
        revoked_at: optional_time_at(row, "revoked_at")?,
        last_used_at: optional_time_at(row, "last_used_at")?,
    })
}

fn token_event(context: &AuditContext, event_type: &str, token: uuid::Uuid) -> AuditEvent {
    AuditEvent::new(
        context,
        event_type,
        Retention::Security,
        ("staff_token", token.to_string()),
    )
}

impl Store {
    /// Stores a newly issued token; audited as `staff_token.issued` (name, person,
    /// permissions, expiry: never the token).
    pub async fn insert_staff_token(
        &self,
        token: &StaffTokenRow,
        context: &AuditContext,
    ) -> StoreResult<()> {
        let mut tx = self.pool.begin().await?;
        sqlx::query(
            "INSERT INTO staff_tokens (id, person_id, name, token_hash, permissions, created_at, \
             expires_at) VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(token.id.to_string())
        .bind(token.person.to_string())
        .bind(token.name.as_str())
        .bind(token.token_hash.as_str())
        .bind(token.permissions.to_string())
        .bind(to_micros(token.created_at))
        .bind(to_micros(token.expires_at))
        .execute(&mut *tx)
        .await
        .map_err(StoreError::from_write)?;
        let event = token_event(context, "staff_token.issued", token.id)
            .change(
                "person",
                serde_json::Value::Null,
                token.person.to_string().into(),
            )
            .change("name", serde_json::Value::Null, token.name.as_str().into())
            .change(
                "permissions",
                serde_json::Value::Null,
                token.permissions.to_string().into(),
            )
            .change(
                "expires_at",
                serde_json::Value::Null,
                to_micros(token.expires_at).into(),
            );
        crate::audit::record(&mut tx, &event).await?;
        tx.commit().await?;
        Ok(())
    }

    /// A token by its keyed hash, with its person.
    pub async fn staff_token_by_hash(
        &self,
        token_hash: &str,
    ) -> StoreResult<Option<(StaffTokenRow, PersonRow)>> {
        let sql = concat!(
            "SELECT ",
            token_columns!(),
            " FROM staff_tokens WHERE token_hash = $1"
        );
        let Some(row) = sqlx::query(sql)
            .bind(token_hash)
            .fetch_optional(&self.pool)
            .await?
        else {
            return Ok(None);
        };
        let token = token_from_row(&row)?;
        let person = self.person(token.person).await?;
        Ok(Some((token, person)))
    }

    /// A token by its id.
    pub async fn staff_token(&self, id: uuid::Uuid) -> StoreResult<Option<StaffTokenRow>> {
        let sql = concat!(
            "SELECT ",
            token_columns!(),
            " FROM staff_tokens WHERE id = $1"
        );
        sqlx::query(sql)
            .bind(id.to_string())
            .fetch_optional(&self.pool)
            .await?
            .as_ref()
            .map(token_from_row)
            .transpose()
    }

    /// A person's tokens, newest first (revoked and expired ones included, for the record).
    pub async fn staff_tokens_of(&self, person: PersonId) -> StoreResult<Vec<StaffTokenRow>> {
        let sql = concat!(
            "SELECT ",
            token_columns!(),
            " FROM staff_tokens WHERE person_id = $1 ORDER BY created_at DESC, id LIMIT 1000"
        );
        sqlx::query(sql)
            .bind(person.to_string())
            .fetch_all(&self.pool)
            .await?
            .iter()
            .map(token_from_row)
            .collect()
    }

    /// Records that a token was used (at most once a minute per token: the caller decides).
    pub async fn touch_staff_token(&self, id: uuid::Uuid, at: OffsetDateTime) -> StoreResult<()> {
        sqlx::query(
            "UPDATE staff_tokens SET last_used_at = $1 \
             WHERE id = $2 AND (last_used_at IS NULL OR last_used_at < $1)",
        )
        .bind(to_micros(at))
        .bind(id.to_string())
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// Revokes one token of `owner`; audited as `staff_token.revoked`. `NotFound` when the
    /// person has no such token; `Ok(false)` when it was already revoked.
    pub async fn revoke_staff_token(
        &self,
        owner: PersonId,
        id: uuid::Uuid,
        context: &AuditContext,
    ) -> StoreResult<bool> {
        let mut tx = self.pool.begin().await?;
        let exists = sqlx::query("SELECT id FROM staff_tokens WHERE id = $1 AND person_id = $2")
            .bind(id.to_string())
            .bind(owner.to_string())
            .fetch_optional(&mut *tx)
            .await?;
        if exists.is_none() {
            return Err(StoreError::NotFound);
        }
        let updated = sqlx::query(
            "UPDATE staff_tokens SET revoked_at = $1 WHERE id = $2 AND revoked_at IS NULL",
        )
        .bind(now_micros())
        .bind(id.to_string())
        .execute(&mut *tx)
        .await?;
        if updated.rows_affected() == 0 {
            return Ok(false);
        }
        let event = token_event(context, "staff_token.revoked", id).change(
            "person",
            serde_json::Value::Null,
            owner.to_string().into(),
        );
        crate::audit::record(&mut tx, &event).await?;
        tx.commit().await?;
        Ok(true)
    }

    /// Revokes every live token of a person (containment); audited as
    /// `person.staff_tokens_revoked` with the count. Returns how many.
    pub async fn revoke_staff_tokens_of(
        &self,
        person: PersonId,
        context: &AuditContext,
    ) -> StoreResult<u64> {
        let mut tx = self.pool.begin().await?;
        let revoked = revoke_tokens_in(&mut tx, person, now_micros()).await?;
        let event = AuditEvent::new(
            context,
            "person.staff_tokens_revoked",
            Retention::Security,
            ("person", person.to_string()),
        )
        .change(
            "staff_tokens_revoked",
            serde_json::Value::Null,
            revoked.into(),
        );
        crate::audit::record(&mut tx, &event).await?;
        tx.commit().await?;
        Ok(revoked)
    }
}

/// Revokes every live token of `person` inside a transaction (a disabling, a sign-out
/// everywhere). Returns how many.
pub(crate) async fn revoke_tokens_in(
    conn: &mut sqlx::AnyConnection,
    person: PersonId,
    now: i64,
) -> StoreResult<u64> {
    let updated = sqlx::query(
        "UPDATE staff_tokens SET revoked_at = $1 WHERE person_id = $2 AND revoked_at IS NULL",
    )
    .bind(now)
    .bind(person.to_string())
    .execute(&mut *conn)
    .await?;
    Ok(updated.rows_affected())
}
