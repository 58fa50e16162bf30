//! API-key records. Only keyed hashes are stored; the key itself never reaches this crate.

use benteng_core::api_key::ApiKeyRecord;
use benteng_core::audit::{AuditContext, AuditEvent, Retention};
use benteng_core::ids::{ApiKeyId, TenantId};
use benteng_core::network::NetworkAllowList;
use benteng_core::scopes::Scopes;
use benteng_core::tenant::Tenant;
use sqlx::any::AnyRow;
use time::OffsetDateTime;

use crate::rows::{hash_at, optional_time_at, parsed, time_at, to_micros};
use crate::tenants::tenant_from_row;
use crate::{Store, StoreError, StoreResult};

macro_rules! columns {
    () => {
        "k.id AS key_id, k.tenant_id, k.environment, k.display_prefix, k.key_hash, \
         k.created_at AS key_created_at, k.expires_at, k.revoked_at, k.scopes, k.networks"
    };
}

fn key_from_row(row: &AnyRow) -> StoreResult<ApiKeyRecord> {
    Ok(ApiKeyRecord {
        id: parsed(row, "key_id")?,
        tenant_id: parsed(row, "tenant_id")?,
        environment: parsed(row, "environment")?,
        display_prefix: sqlx::Row::try_get(row, "display_prefix")?,
        hash: hash_at(row, "key_hash")?,
        created_at: time_at(row, "key_created_at")?,
        expires_at: optional_time_at(row, "expires_at")?,
        revoked_at: optional_time_at(row, "revoked_at")?,
        scopes: parsed(row, "scopes")?,
        networks: networks_at(row, "networks")?,
    })
}

/// A key's network allow-list: NULL (keys from before migration 0012, or never restricted) and
/// the empty string are any network; anything else must parse, or the row is corrupt.
fn networks_at(row: &AnyRow, column: &str) -> StoreResult<NetworkAllowList> {
    let text: Option<String> = sqlx::Row::try_get(row, column)?;
    text.as_deref()
        .unwrap_or_default()
        .parse()
        .map_err(|_| StoreError::Corrupt(format!("column {column} holds an invalid network list")))
}

/// How a list is stored: NULL for any network, so an unrestricted key's row looks like one
/// from before restrictions existed.
fn networks_column(networks: &NetworkAllowList) -> Option<String> {
    (!networks.is_any()).then(|| networks.to_string())
}

impl Store {
    pub async fn insert_api_key(
        &self,
        key: &ApiKeyRecord,
        context: &AuditContext,
    ) -> StoreResult<()> {
        let mut tx = self.pool.begin().await?;
        sqlx::query(
            "INSERT INTO api_keys (id, tenant_id, environment, display_prefix, key_hash, \
             created_at, expires_at, revoked_at, scopes, networks) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
        )
        .bind(key.id.to_string())
        .bind(key.tenant_id.to_string())
        .bind(key.environment.as_str())
        .bind(&key.display_prefix)
        .bind(hex::encode(key.hash))
        .bind(to_micros(key.created_at))
        .bind(key.expires_at.map(to_micros))
        .bind(key.revoked_at.map(to_micros))
        .bind(key.scopes.to_string())
        .bind(networks_column(&key.networks))
        .execute(&mut *tx)
        .await
        .map_err(StoreError::from_write)?;
        let event = AuditEvent::new(
            &context.for_tenant(key.tenant_id),
            "api_key.issued",
            Retention::Security,
            ("api_key", key.id.to_string()),
        )
        .change(
            "environment",
            serde_json::Value::Null,
            key.environment.as_str().into(),
        )
        .change(
            "prefix",
            serde_json::Value::Null,
            key.display_prefix.clone().into(),
        )
        .change(
            "expires_at",
            serde_json::Value::Null,
            key.expires_at
                .map(|t| to_micros(t).into())
                .unwrap_or(serde_json::Value::Null),
        )
        .change(
            "scopes",
            serde_json::Value::Null,
            key.scopes.to_string().into(),
        )
        // The stored form: CIDRs separated by spaces, the empty string for any network.
        .change(
            "networks",
            serde_json::Value::Null,
            key.networks.to_string().into(),
        );
        crate::audit::record(&mut tx, &event).await?;
        tx.commit().await?;
        Ok(())
    }

    /// Gives every key issued before scopes existed (migration 0011 left its `scopes` NULL) the
    /// full set, which is what it could do before, and records `api_key.scopes_migrated` for
    /// each, all in one transaction. Runs after every migration pass; after the first it finds
    /// nothing. The conditional update makes concurrent starts record each key once.
    pub(crate) async fn adopt_unscoped_api_keys(&self) -> StoreResult<usize> {
        let mut tx = self.pool.begin().await?;
        let unscoped = sqlx::query("SELECT id, tenant_id FROM api_keys WHERE scopes IS NULL")
            .fetch_all(&mut *tx)
            .await?;
        let all = Scopes::all().to_string();
        let context = AuditContext::system("system:migration");
        let mut adopted = 0;
        for row in &unscoped {
            let id: ApiKeyId = parsed(row, "id")?;
            let tenant: TenantId = parsed(row, "tenant_id")?;
            let updated =
                sqlx::query("UPDATE api_keys SET scopes = $1 WHERE id = $2 AND scopes IS NULL")
                    .bind(&all)
                    .bind(id.to_string())
                    .execute(&mut *tx)
                    .await?;
            if updated.rows_affected() != 1 {
                continue;
            }
            let event = AuditEvent::new(
                &context.for_tenant(tenant),
                "api_key.scopes_migrated",
                Retention::Security,
                ("api_key", id.to_string()),
            )
            .change("scopes", serde_json::Value::Null, all.clone().into());
            crate::audit::record(&mut tx, &event).await?;
            adopted += 1;
        }
        tx.commit().await?;
        Ok(adopted)
    }

    /// The key with this keyed hash and its tenant, in one round trip: the authentication path.
    pub async fn api_key_by_hash(&self, hash: &[u8; 32]) -> StoreResult<(ApiKeyRecord, Tenant)> {
        let row = sqlx::query(concat!(
            "SELECT ",
            columns!(),
            ", t.id, t.name, t.tier, t.status, t.created_at \
             FROM api_keys k JOIN tenants t ON t.id = k.tenant_id WHERE k.key_hash = $1"
        ))
        .bind(hex::encode(hash))
        .fetch_optional(&self.pool)
        .await?
        .ok_or(StoreError::NotFound)?;
        Ok((key_from_row(&row)?, tenant_from_row(&row)?))
    }

    pub async fn api_key(&self, id: ApiKeyId) -> StoreResult<ApiKeyRecord> {
        let row = sqlx::query(concat!(
            "SELECT ",
            columns!(),
            " FROM api_keys k WHERE k.id = $1"
        ))
        .bind(id.to_string())
        .fetch_optional(&self.pool)
        .await?
        .ok_or(StoreError::NotFound)?;
        key_from_row(&row)
    }

    pub async fn api_keys_of(&self, tenant: TenantId) -> StoreResult<Vec<ApiKeyRecord>> {
        sqlx::query(concat!(
            "SELECT ",
            columns!(),
            " FROM api_keys k WHERE k.tenant_id = $1 ORDER BY k.created_at, k.id"
        ))
        .bind(tenant.to_string())
        .fetch_all(&self.pool)
        .await?
        .iter()
        .map(key_from_row)
        .collect()
    }

    /// Hashes of keys revoked or changed after `key_changed_after`, or whose tenant changed
    /// after `tenant_changed_after` (both Unix microseconds, as `credential_watermark` reports
    /// them).
    pub async fn api_key_hashes_changed_since(
        &self,
        key_changed_after: i64,
        tenant_changed_after: i64,
    ) -> StoreResult<Vec<[u8; 32]>> {
        sqlx::query(
            "SELECT k.key_hash FROM api_keys k JOIN tenants t ON t.id = k.tenant_id \
             WHERE k.revoked_at > $1 OR k.updated_at > $1 OR t.updated_at > $2",
        )
        .bind(key_changed_after)
        .bind(tenant_changed_after)
        .fetch_all(&self.pool)
        .await?
        .iter()
        .map(|row| hash_at(row, "key_hash"))
        .collect()
    }

    /// Marks a key revoked; revoking twice keeps the first revocation time.
    pub async fn revoke_api_key(
        &self,
        id: ApiKeyId,
        now: OffsetDateTime,
        context: &AuditContext,
    ) -> StoreResult<ApiKeyRecord> {
        let key = self.api_key(id).await?;
        let mut tx = self.pool.begin().await?;
        let revoked =
            sqlx::query("UPDATE api_keys SET revoked_at = $1 WHERE id = $2 AND revoked_at IS NULL")
                .bind(to_micros(now))
                .bind(id.to_string())
                .execute(&mut *tx)
                .await?;
        if revoked.rows_affected() == 1 {
            let event = AuditEvent::new(
                &context.for_tenant(key.tenant_id),
                "api_key.revoked",
                Retention::Security,
                ("api_key", id.to_string()),
            )
            .change("revoked_at", serde_json::Value::Null, to_micros(now).into());
            crate::audit::record(&mut tx, &event).await?;
        }
        tx.commit().await?;
        self.api_key(id).await
    }

    /// Replaces a key's network allow-list and records `api_key.networks_changed` (from, to) in
    /// the same transaction, stamping `updated_at` so the credential watermark moves and every
    /// instance refreshes the key. Unchanged lists write nothing. `Conflict` when the list
    /// changed between this call's read and its write (another operator's change): the event's
    /// `from` must be what was replaced.
    pub async fn set_api_key_networks(
        &self,
        id: ApiKeyId,
        networks: &NetworkAllowList,
        now: OffsetDateTime,
        context: &AuditContext,
    ) -> StoreResult<ApiKeyRecord> {
        let before = self.api_key(id).await?;
        if before.networks == *networks {
            return Ok(before);
        }
        let mut tx = self.pool.begin().await?;
        // Compare-and-set on the list read above; NULL and '' are the same "any network".
        let changed = sqlx::query(
            "UPDATE api_keys SET networks = $1, updated_at = $2 \
             WHERE id = $3 AND COALESCE(networks, '') = $4",
        )
        .bind(networks_column(networks))
        .bind(to_micros(now))
        .bind(id.to_string())
        .bind(before.networks.to_string())
        .execute(&mut *tx)
        .await?;
        if changed.rows_affected() != 1 {
            return Err(StoreError::Conflict);
        }
        let event = AuditEvent::new(
            &context.for_tenant(before.tenant_id),
            "api_key.networks_changed",
            Retention::Security,
            ("api_key", id.to_string()),
        )
        .change(
            "networks",
            before.networks.to_string().into(),
            networks.to_string().into(),
        );
        crate::audit::record(&mut tx, &event).await?;
        tx.commit().await?;
        self.api_key(id).await
    }
}
