//! SNAP partners (client id, RSA public key, sealed client secret), their B2B access tokens
//! (SHA-256 of the token only) and the `partnerReferenceNo` of every SNAP transfer.

use benteng_core::audit::{AuditContext, AuditEvent, Retention};
use benteng_core::ids::{TenantId, TransferId};
use serde::{Deserialize, Serialize};
use sqlx::Row;
use sqlx::any::AnyRow;
use time::OffsetDateTime;

use crate::rows::{optional_time_at, parsed, time_at, to_micros};
use crate::{Store, StoreError, StoreResult};

/// A registered SNAP partner. Serialisable for the shared credential cache, which holds it as
/// the store does: the client secret sealed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SnapPartner {
    pub id: uuid::Uuid,
    pub tenant_id: TenantId,
    /// `X-CLIENT-KEY` of its token requests and `X-PARTNER-ID` of its transactions.
    pub client_id: String,
    pub public_key_pem: String,
    /// Lowercase hex SHA-256 of the public key (SPKI DER).
    pub key_fingerprint: String,
    /// The client secret, sealed by the vault keyring; never in clear here.
    pub client_secret_sealed: String,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339::option")]
    pub revoked_at: Option<OffsetDateTime>,
}

/// A stored access token: its hash, never the token.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SnapToken {
    pub partner_id: uuid::Uuid,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    pub expires_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339::option")]
    pub revoked_at: Option<OffsetDateTime>,
}

/// A `partnerReferenceNo` and the transfer it created (`None` while it is being created, or if
/// the creation was interrupted).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SnapReference {
    pub transfer_id: Option<TransferId>,
    pub created_at: OffsetDateTime,
}

macro_rules! partner_columns {
    () => {
        "id, tenant_id, client_id, public_key_pem, key_fingerprint, client_secret_sealed, \
         created_at, revoked_at"
    };
}

fn partner_from_row(row: &AnyRow) -> StoreResult<SnapPartner> {
    Ok(SnapPartner {
        id: parsed(row, "id")?,
        tenant_id: parsed(row, "tenant_id")?,
        client_id: row.try_get("client_id")?,
        public_key_pem: row.try_get("public_key_pem")?,
        key_fingerprint: row.try_get("key_fingerprint")?,
        client_secret_sealed: row.try_get("client_secret_sealed")?,
        created_at: time_at(row, "created_at")?,
        revoked_at: optional_time_at(row, "revoked_at")?,
    })
}

impl Store {
    /// Registers a partner. `Conflict` when the client id is taken, `NotFound` for an unknown
    /// tenant.
    pub async fn insert_snap_partner(
        &self,
        partner: &SnapPartner,
        context: &AuditContext,
    ) -> StoreResult<()> {
        let mut tx = self.pool.begin().await?;
        let tenant = sqlx::query("SELECT id FROM tenants WHERE id = $1")
            .bind(partner.tenant_id.to_string())
            .fetch_optional(&mut *tx)
            .await?;
        if tenant.is_none() {
            return Err(StoreError::NotFound);
        }
        sqlx::query(
            "INSERT INTO snap_partners (id, tenant_id, client_id, public_key_pem, \
             key_fingerprint, client_secret_sealed, created_at, revoked_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, NULL)",
        )
        .bind(partner.id.to_string())
        .bind(partner.tenant_id.to_string())
        .bind(partner.client_id.as_str())
        .bind(partner.public_key_pem.as_str())
        .bind(partner.key_fingerprint.as_str())
        .bind(partner.client_secret_sealed.as_str())
        .bind(to_micros(partner.created_at))
        .execute(&mut *tx)
        .await
        .map_err(StoreError::from_write)?;
        let event = AuditEvent::new(
            &context.for_tenant(partner.tenant_id),
            "snap.partner_added",
            Retention::Security,
            ("snap_partner", partner.id.to_string()),
        )
        .change(
            "client_id",
            serde_json::Value::Null,
            partner.client_id.as_str().into(),
        )
        .change(
            "key_fingerprint",
            serde_json::Value::Null,
            partner.key_fingerprint.as_str().into(),
        );
        crate::audit::record(&mut tx, &event).await?;
        tx.commit().await?;
        Ok(())
    }

    /// The partner with this client id, revoked or not.
    pub async fn snap_partner_by_client_id(&self, client_id: &str) -> StoreResult<SnapPartner> {
        let row = sqlx::query(concat!(
            "SELECT ",
            partner_columns!(),
            " FROM snap_partners WHERE client_id = $1"
        ))
        .bind(client_id)
        .fetch_optional(&self.pool)
        .await?
        .ok_or(StoreError::NotFound)?;
        partner_from_row(&row)
    }

    /// The partner by id, revoked or not.
    pub async fn snap_partner(&self, id: uuid::Uuid) -> StoreResult<SnapPartner> {
        let row = sqlx::query(concat!(
            "SELECT ",
            partner_columns!(),
            " FROM snap_partners WHERE id = $1"
        ))
        .bind(id.to_string())
        .fetch_optional(&self.pool)
        .await?
        .ok_or(StoreError::NotFound)?;
        partner_from_row(&row)
    }

    /// Every partner (of one tenant, if given), oldest first.
    pub async fn snap_partners(&self, tenant: Option<TenantId>) -> StoreResult<Vec<SnapPartner>> {
        let rows = match tenant {
            Some(tenant) => {
                sqlx::query(concat!(
                    "SELECT ",
                    partner_columns!(),
                    " FROM snap_partners WHERE tenant_id = $1 ORDER BY created_at, id"
                ))
                .bind(tenant.to_string())
                .fetch_all(&self.pool)
                .await?
            }
            None => {
                sqlx::query(concat!(
                    "SELECT ",
                    partner_columns!(),
                    " FROM snap_partners ORDER BY created_at, id"
                ))
                .fetch_all(&self.pool)
                .await?
            }
        };
        rows.iter().map(partner_from_row).collect()
    }

    /// Revokes a partner and every token it holds. `NotFound` when unknown or already revoked.
    pub async fn revoke_snap_partner(
        &self,
        client_id: &str,
        now: OffsetDateTime,
        context: &AuditContext,
    ) -> StoreResult<SnapPartner> {
        let partner = self.snap_partner_by_client_id(client_id).await?;
        let mut tx = self.pool.begin().await?;
        let revoked = sqlx::query(
            "UPDATE snap_partners SET revoked_at = $1 WHERE id = $2 AND revoked_at IS NULL",
        )
        .bind(to_micros(now))
        .bind(partner.id.to_string())
        .execute(&mut *tx)
        .await?;
        if revoked.rows_affected() == 0 {
            return Err(StoreError::NotFound);
        }
        sqlx::query(
            "UPDATE snap_tokens SET revoked_at = $1 WHERE partner_id = $2 AND revoked_at IS NULL",
        )
        .bind(to_micros(now))
        .bind(partner.id.to_string())
        .execute(&mut *tx)
        .await?;
        let event = AuditEvent::new(
            &context.for_tenant(partner.tenant_id),
            "snap.partner_revoked",
            Retention::Security,
            ("snap_partner", partner.id.to_string()),
        )
        .change("revoked", false.into(), true.into());
        crate::audit::record(&mut tx, &event).await?;
        tx.commit().await?;
        Ok(partner)
    }

    /// Stores a newly issued token (its SHA-256, lowercase hex).
    pub async fn insert_snap_token(
        &self,
        token_hash: &str,
        partner: &SnapPartner,
        created_at: OffsetDateTime,
        expires_at: OffsetDateTime,
        context: &AuditContext,
    ) -> StoreResult<()> {
        let mut tx = self.pool.begin().await?;
        sqlx::query(
            "INSERT INTO snap_tokens (token_hash, partner_id, created_at, expires_at, revoked_at) \
             VALUES ($1, $2, $3, $4, NULL)",
        )
        .bind(token_hash)
        .bind(partner.id.to_string())
        .bind(to_micros(created_at))
        .bind(to_micros(expires_at))
        .execute(&mut *tx)
        .await
        .map_err(StoreError::from_write)?;
        // The resource id is a prefix of the hash: enough to correlate, useless to an attacker.
        let event = AuditEvent::new(
            &context.for_tenant(partner.tenant_id),
            "snap.token_issued",
            Retention::Access,
            ("snap_token", token_hash.chars().take(16).collect()),
        )
        .change(
            "client_id",
            serde_json::Value::Null,
            partner.client_id.as_str().into(),
        );
        crate::audit::record(&mut tx, &event).await?;
        tx.commit().await?;
        Ok(())
    }

    /// The token with this hash.
    pub async fn snap_token(&self, token_hash: &str) -> StoreResult<SnapToken> {
        let row = sqlx::query(
            "SELECT partner_id, created_at, expires_at, revoked_at FROM snap_tokens \
             WHERE token_hash = $1",
        )
        .bind(token_hash)
        .fetch_optional(&self.pool)
        .await?
        .ok_or(StoreError::NotFound)?;
        Ok(SnapToken {
            partner_id: parsed(&row, "partner_id")?,
            created_at: time_at(&row, "created_at")?,
            expires_at: time_at(&row, "expires_at")?,
            revoked_at: optional_time_at(&row, "revoked_at")?,
        })
    }

    /// The hashes of a partner's tokens that have not expired by `now`: the ones a credential
    /// cache may hold.
    pub async fn snap_token_hashes_of_partner(
        &self,
        partner: uuid::Uuid,
        now: OffsetDateTime,
    ) -> StoreResult<Vec<String>> {
        let rows = sqlx::query(
            "SELECT token_hash FROM snap_tokens WHERE partner_id = $1 AND expires_at > $2",
        )
        .bind(partner.to_string())
        .bind(to_micros(now))
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|row| Ok(row.try_get("token_hash")?))
            .collect()
    }

    /// The hashes of the tokens revoked after `revoked_after` (Unix microseconds, as
    /// [`Store::snap_watermark`] reports it). Revoking a partner revokes its tokens, so this
    /// covers partner revocations too.
    pub async fn snap_token_hashes_revoked_since(
        &self,
        revoked_after: i64,
    ) -> StoreResult<Vec<String>> {
        let rows = sqlx::query("SELECT token_hash FROM snap_tokens WHERE revoked_at > $1")
            .bind(revoked_after)
            .fetch_all(&self.pool)
            .await?;
        rows.iter()
            .map(|row| Ok(row.try_get("token_hash")?))
            .collect()
    }

    /// What SNAP's credential caches poll as a safety net: the latest token revocation and the
    /// latest tenant change (status, certificates, mTLS requirement), Unix microseconds.
    pub async fn snap_watermark(&self) -> StoreResult<(i64, i64)> {
        let row = sqlx::query(
            "SELECT (SELECT COALESCE(MAX(revoked_at), 0) FROM snap_tokens) AS revoked, \
                    (SELECT COALESCE(MAX(updated_at), 0) FROM tenants) AS updated",
        )
        .fetch_one(&self.pool)
        .await?;
        Ok((row.try_get("revoked")?, row.try_get("updated")?))
    }

    /// Revokes every live token of a partner; returns how many.
    pub async fn revoke_snap_tokens(
        &self,
        client_id: &str,
        now: OffsetDateTime,
        context: &AuditContext,
    ) -> StoreResult<u64> {
        let partner = self.snap_partner_by_client_id(client_id).await?;
        let mut tx = self.pool.begin().await?;
        let revoked = sqlx::query(
            "UPDATE snap_tokens SET revoked_at = $1 WHERE partner_id = $2 AND revoked_at IS NULL",
        )
        .bind(to_micros(now))
        .bind(partner.id.to_string())
        .execute(&mut *tx)
        .await?
        .rows_affected();
        let event = AuditEvent::new(
            &context.for_tenant(partner.tenant_id),
            "snap.tokens_revoked",
            Retention::Security,
            ("snap_partner", partner.id.to_string()),
        )
        .change("revoked_tokens", serde_json::Value::Null, revoked.into());
        crate::audit::record(&mut tx, &event).await?;
        tx.commit().await?;
        Ok(revoked)
    }

    /// The transfer a partner's reference created.
    pub async fn snap_reference(
        &self,
        partner: uuid::Uuid,
        reference: &str,
    ) -> StoreResult<SnapReference> {
        let row = sqlx::query(
            "SELECT transfer_id, created_at FROM snap_transfers \
             WHERE partner_id = $1 AND partner_reference_no = $2",
        )
        .bind(partner.to_string())
        .bind(reference)
        .fetch_optional(&self.pool)
        .await?
        .ok_or(StoreError::NotFound)?;
        let transfer_id: Option<String> = row.try_get("transfer_id")?;
        Ok(SnapReference {
            transfer_id: transfer_id
                .map(|id| {
                    id.parse()
                        .map_err(|_| StoreError::Corrupt("snap_transfers.transfer_id".to_owned()))
                })
                .transpose()?,
            created_at: time_at(&row, "created_at")?,
        })
    }
}
