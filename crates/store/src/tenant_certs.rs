//! mTLS tenant binding: the client certificates a tenant registered (by SHA-256 fingerprint) and
//! its `require_mtls` flag. Every change bumps `tenants.updated_at`, the credential watermark that
//! makes every instance refresh the tenant's cached keys, and leaves an audit event in its
//! transaction.

use benteng_core::audit::{AuditContext, AuditEvent, Retention};
use benteng_core::ids::TenantId;
use serde::{Deserialize, Serialize};
use sqlx::Row;
use sqlx::any::AnyRow;
use time::OffsetDateTime;

use crate::rows::{now_micros, parsed, time_at, to_micros};
use crate::{Store, StoreError, StoreResult};

/// A registered client certificate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TenantCertificate {
    pub tenant_id: TenantId,
    /// Lowercase hex SHA-256 of the certificate's DER.
    pub sha256_fingerprint: String,
    pub subject: String,
    pub not_after: OffsetDateTime,
    pub created_at: OffsetDateTime,
}

/// What authentication needs to know about a tenant's mTLS binding (cached with its keys).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct TenantMtls {
    /// Requests must present one of `fingerprints` as their TLS client certificate.
    pub required: bool,
    /// Lowercase hex SHA-256 fingerprints registered to the tenant.
    pub fingerprints: Vec<String>,
}

impl TenantMtls {
    pub fn is_registered(&self, fingerprint: &str) -> bool {
        self.fingerprints.iter().any(|f| f == fingerprint)
    }
}

fn certificate_from_row(row: &AnyRow) -> StoreResult<TenantCertificate> {
    Ok(TenantCertificate {
        tenant_id: parsed(row, "tenant_id")?,
        sha256_fingerprint: row.try_get("sha256_fingerprint")?,
        subject: row.try_get("subject")?,
        not_after: time_at(row, "not_after")?,
        created_at: time_at(row, "created_at")?,
    })
}

impl Store {
    /// Registers a certificate. `NotFound` when the tenant does not exist, `Conflict` when the
    /// fingerprint is already registered (to this or another tenant).
    pub async fn add_tenant_certificate(
        &self,
        cert: &TenantCertificate,
        context: &AuditContext,
    ) -> StoreResult<()> {
        let mut tx = self.pool.begin().await?;
        let touched = sqlx::query("UPDATE tenants SET updated_at = $1 WHERE id = $2")
            .bind(now_micros())
            .bind(cert.tenant_id.to_string())
            .execute(&mut *tx)
            .await?;
        if touched.rows_affected() == 0 {
            return Err(StoreError::NotFound);
        }
        sqlx::query(
            "INSERT INTO tenant_certificates \
             (tenant_id, sha256_fingerprint, subject, not_after, created_at) \
             VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(cert.tenant_id.to_string())
        .bind(cert.sha256_fingerprint.as_str())
        .bind(cert.subject.as_str())
        .bind(to_micros(cert.not_after))
        .bind(to_micros(cert.created_at))
        .execute(&mut *tx)
        .await
        .map_err(StoreError::from_write)?;
        let event = AuditEvent::new(
            &context.for_tenant(cert.tenant_id),
            "tenant.cert_added",
            Retention::Security,
            ("tenant_certificate", cert.sha256_fingerprint.clone()),
        )
        .change(
            "sha256_fingerprint",
            serde_json::Value::Null,
            cert.sha256_fingerprint.as_str().into(),
        )
        .change(
            "not_after",
            serde_json::Value::Null,
            to_micros(cert.not_after).into(),
        );
        crate::audit::record(&mut tx, &event).await?;
        tx.commit().await?;
        Ok(())
    }

    /// Unregisters a certificate of `tenant`; `NotFound` when it is not registered to it.
    pub async fn remove_tenant_certificate(
        &self,
        tenant: TenantId,
        fingerprint: &str,
        context: &AuditContext,
    ) -> StoreResult<()> {
        let mut tx = self.pool.begin().await?;
        let removed = sqlx::query(
            "DELETE FROM tenant_certificates WHERE tenant_id = $1 AND sha256_fingerprint = $2",
        )
        .bind(tenant.to_string())
        .bind(fingerprint)
        .execute(&mut *tx)
        .await?;
        if removed.rows_affected() == 0 {
            return Err(StoreError::NotFound);
        }
        sqlx::query("UPDATE tenants SET updated_at = $1 WHERE id = $2")
            .bind(now_micros())
            .bind(tenant.to_string())
            .execute(&mut *tx)
            .await?;
        let event = AuditEvent::new(
            &context.for_tenant(tenant),
            "tenant.cert_removed",
            Retention::Security,
            ("tenant_certificate", fingerprint.to_owned()),
        )
        .change(
            "sha256_fingerprint",
            fingerprint.into(),
            serde_json::Value::Null,
        );
        crate::audit::record(&mut tx, &event).await?;
        tx.commit().await?;
        Ok(())
    }

    /// The tenant's certificates, oldest first.
    pub async fn tenant_certificates(
        &self,
        tenant: TenantId,
    ) -> StoreResult<Vec<TenantCertificate>> {
        sqlx::query(
            "SELECT tenant_id, sha256_fingerprint, subject, not_after, created_at \
             FROM tenant_certificates WHERE tenant_id = $1 \
             ORDER BY created_at, sha256_fingerprint",
        )
        .bind(tenant.to_string())
        .fetch_all(&self.pool)
        .await?
        .iter()
        .map(certificate_from_row)
        .collect()
    }

    /// The tenant a certificate is registered to, if any.
    pub async fn certificate_owner(&self, fingerprint: &str) -> StoreResult<Option<TenantId>> {
        sqlx::query("SELECT tenant_id FROM tenant_certificates WHERE sha256_fingerprint = $1")
            .bind(fingerprint)
            .fetch_optional(&self.pool)
            .await?
            .map(|row| parsed(&row, "tenant_id"))
            .transpose()
    }

    /// Turns the tenant's mTLS requirement on or off. `NotFound` for an unknown tenant.
    pub async fn set_tenant_require_mtls(
        &self,
        tenant: TenantId,
        required: bool,
        context: &AuditContext,
    ) -> StoreResult<()> {
        let mut tx = self.pool.begin().await?;
        set_require_mtls_in(&mut tx, tenant, required, context).await?;
        tx.commit().await?;
        Ok(())
    }

    /// The tenant's mTLS binding. `NotFound` for an unknown tenant.
    pub async fn tenant_mtls(&self, tenant: TenantId) -> StoreResult<TenantMtls> {
        let row = sqlx::query("SELECT require_mtls FROM tenants WHERE id = $1")
            .bind(tenant.to_string())
            .fetch_optional(&self.pool)
            .await?
            .ok_or(StoreError::NotFound)?;
        let required: i64 = row.try_get("require_mtls")?;
        let fingerprints = sqlx::query(
            "SELECT sha256_fingerprint FROM tenant_certificates WHERE tenant_id = $1 \
             ORDER BY sha256_fingerprint",
        )
        .bind(tenant.to_string())
        .fetch_all(&self.pool)
        .await?
        .iter()
        .map(|row| row.try_get::<String, _>("sha256_fingerprint"))
        .collect::<Result<Vec<_>, _>>()?;
        Ok(TenantMtls {
            required: required != 0,
            fingerprints,
        })
    }
}

/// Turns a tenant's mTLS requirement on or off inside a transaction (a four-eyes approval runs
/// it in its own).
pub(crate) async fn set_require_mtls_in(
    conn: &mut sqlx::AnyConnection,
    tenant: TenantId,
    required: bool,
    context: &AuditContext,
) -> StoreResult<()> {
    // Touching the row first locks it, so the value read is the one this change replaces.
    let before: i64 =
        sqlx::query("UPDATE tenants SET updated_at = $1 WHERE id = $2 RETURNING require_mtls")
            .bind(now_micros())
            .bind(tenant.to_string())
            .fetch_optional(&mut *conn)
            .await?
            .ok_or(StoreError::NotFound)?
            .try_get("require_mtls")?;
    sqlx::query("UPDATE tenants SET require_mtls = $1 WHERE id = $2")
        .bind(i64::from(required))
        .bind(tenant.to_string())
        .execute(&mut *conn)
        .await?;
    let event = AuditEvent::new(
        &context.for_tenant(tenant),
        "tenant.mtls_required",
        Retention::Security,
        ("tenant", tenant.to_string()),
    )
    .change("require_mtls", (before != 0).into(), required.into());
    crate::audit::record(conn, &event).await?;
    Ok(())
}
