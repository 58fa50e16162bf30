//! Tenants.

use benteng_core::audit::{AuditContext, AuditEvent, Retention};
use benteng_core::ids::TenantId;
use benteng_core::tenant::{Tenant, TenantStatus};
use sqlx::any::AnyRow;

use crate::rows::{parsed, time_at, to_micros};
use crate::{Store, StoreError, StoreResult};

macro_rules! columns {
    () => {
        "id, name, tier, status, created_at"
    };
}

pub(crate) fn tenant_from_row(row: &AnyRow) -> StoreResult<Tenant> {
    Ok(Tenant {
        id: parsed(row, "id")?,
        name: parsed(row, "name")?,
        tier: parsed(row, "tier")?,
        status: parsed(row, "status")?,
        created_at: time_at(row, "created_at")?,
    })
}

impl Store {
    pub async fn insert_tenant(&self, tenant: &Tenant, context: &AuditContext) -> StoreResult<()> {
        let mut tx = self.pool.begin().await?;
        sqlx::query(
            "INSERT INTO tenants (id, name, tier, status, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $5)",
        )
        .bind(tenant.id.to_string())
        .bind(tenant.name.as_str())
        .bind(tenant.tier.as_str())
        .bind(tenant.status.as_str())
        .bind(to_micros(tenant.created_at))
        .execute(&mut *tx)
        .await
        .map_err(StoreError::from_write)?;
        let event = AuditEvent::new(
            &context.for_tenant(tenant.id),
            "tenant.created",
            Retention::Security,
            ("tenant", tenant.id.to_string()),
        )
        .change("tier", serde_json::Value::Null, tenant.tier.as_str().into())
        .change(
            "status",
            serde_json::Value::Null,
            tenant.status.as_str().into(),
        );
        crate::audit::record(&mut tx, &event).await?;
        tx.commit().await?;
        Ok(())
    }

    pub async fn tenant(&self, id: TenantId) -> StoreResult<Tenant> {
        let row = sqlx::query(concat!(
            "SELECT ",
            columns!(),
            " FROM tenants WHERE id = $1"
        ))
        .bind(id.to_string())
        .fetch_optional(&self.pool)
        .await?
        .ok_or(StoreError::NotFound)?;
        tenant_from_row(&row)
    }

    pub async fn tenants(&self) -> StoreResult<Vec<Tenant>> {
        sqlx::query(concat!(
            "SELECT ",
            columns!(),
            " FROM tenants ORDER BY created_at, id"
        ))
        .fetch_all(&self.pool)
        .await?
        .iter()
        .map(tenant_from_row)
        .collect()
    }

    /// Sets a tenant's status and returns the tenant as it now is.
    pub async fn set_tenant_status(
        &self,
        id: TenantId,
        status: TenantStatus,
        context: &AuditContext,
    ) -> StoreResult<Tenant> {
        let before = self.tenant(id).await?;
        let mut tx = self.pool.begin().await?;
        sqlx::query("UPDATE tenants SET status = $1, updated_at = $2 WHERE id = $3")
            .bind(status.as_str())
            .bind(crate::rows::now_micros())
            .bind(id.to_string())
            .execute(&mut *tx)
            .await?;
        let event = AuditEvent::new(
            &context.for_tenant(id),
            "tenant.status_changed",
            Retention::Security,
            ("tenant", id.to_string()),
        )
        .change(
            "status",
            before.status.as_str().into(),
            status.as_str().into(),
        );
        crate::audit::record(&mut tx, &event).await?;
        tx.commit().await?;
        self.tenant(id).await
    }

    /// Changes when any credential or tenant status changes: the latest key change (revocation
    /// or network list) and tenant update times. An instance whose shared state cannot carry
    /// invalidations (the in-process backend, with the CLI in another process) polls this to
    /// drop stale cache entries.
    pub async fn credential_watermark(&self) -> StoreResult<(i64, i64)> {
        // Two indexed MAXes folded into one value (MAX over a two-row union works on both
        // backends; GREATEST does not exist in SQLite).
        let row = sqlx::query(
            "SELECT (SELECT COALESCE(MAX(changed), 0) FROM \
                       (SELECT MAX(revoked_at) AS changed FROM api_keys \
                        UNION ALL SELECT MAX(updated_at) FROM api_keys) AS k) AS key_changed, \
                    (SELECT COALESCE(MAX(updated_at), 0) FROM tenants) AS updated",
        )
        .fetch_one(&self.pool)
        .await?;
        Ok((
            sqlx::Row::try_get(&row, "key_changed")?,
            sqlx::Row::try_get(&row, "updated")?,
        ))
    }
}

/// Moves a tenant to another tier inside a transaction (four-eyes approvals run it in theirs).
/// Bumps the credential watermark: the tier travels with the tenant in the key caches.
pub(crate) async fn set_tier_in(
    conn: &mut sqlx::AnyConnection,
    id: TenantId,
    tier: benteng_core::tenant::Tier,
    context: &AuditContext,
) -> StoreResult<()> {
    let before: String =
        sqlx::query("UPDATE tenants SET updated_at = $1 WHERE id = $2 RETURNING tier")
            .bind(crate::rows::now_micros())
            .bind(id.to_string())
            .fetch_optional(&mut *conn)
            .await?
            .ok_or(StoreError::NotFound)
            .and_then(|row| Ok(sqlx::Row::try_get(&row, "tier")?))?;
    sqlx::query("UPDATE tenants SET tier = $1 WHERE id = $2")
        .bind(tier.as_str())
        .bind(id.to_string())
        .execute(&mut *conn)
        .await?;
    let event = AuditEvent::new(
        &context.for_tenant(id),
        "tenant.tier_changed",
        Retention::Security,
        ("tenant", id.to_string()),
    )
    .change("tier", before.into(), tier.as_str().into());
    crate::audit::record(conn, &event).await?;
    Ok(())
}
