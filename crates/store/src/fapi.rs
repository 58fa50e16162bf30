//! FAPI 2.0 (migration 0024): registered clients, pushed authorization requests, authorization
//! codes, DPoP-bound access tokens and the authorization server's signing keys. Handles, codes
//! and tokens are kept as SHA-256 hex only. Every change leaves its audit event in its own
//! transaction; the single-use steps (a request consumed, a code redeemed) are conditional
//! updates, so two instances cannot both win one.

use benteng_core::audit::{AuditContext, AuditEvent, Retention};
use benteng_core::ids::{PersonId, TenantId};
use serde_json::Value;
use sqlx::Row;
use sqlx::any::AnyRow;
use time::OffsetDateTime;

use crate::rows::{optional_time_at, parsed, time_at, to_micros};
use crate::{Store, StoreError, StoreResult};

/// A registered client.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FapiClientRow {
    pub client_id: String,
    pub name: String,
    /// The JWK Set, as JSON text.
    pub jwks: String,
    pub redirect_uris: Vec<String>,
    /// Scope names separated by single spaces.
    pub scopes: String,
    pub profile: String,
    pub token_auth: String,
    pub sender_constraint: String,
    pub status: String,
    pub created_at: OffsetDateTime,
    pub updated_at: OffsetDateTime,
}

/// A pushed authorization request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FapiRequestRow {
    pub handle_hash: String,
    pub client_id: String,
    /// The validated parameters, as JSON text.
    pub params: String,
    pub form_hash: String,
    pub created_at: OffsetDateTime,
    pub expires_at: OffsetDateTime,
    pub used_at: Option<OffsetDateTime>,
}

/// An authorization code.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FapiCodeRow {
    pub code_hash: String,
    pub client_id: String,
    pub tenant_id: TenantId,
    pub person_id: PersonId,
    pub scopes: String,
    pub redirect_uri: String,
    pub code_challenge: String,
    pub dpop_jkt: Option<String>,
    pub created_at: OffsetDateTime,
    pub expires_at: OffsetDateTime,
    pub used_at: Option<OffsetDateTime>,
}

/// An access token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FapiTokenRow {
    pub id: uuid::Uuid,
    pub token_hash: String,
    pub code_hash: String,
    pub client_id: String,
    pub tenant_id: TenantId,
    pub person_id: PersonId,
    pub scopes: String,
    pub jkt: String,
    pub created_at: OffsetDateTime,
    pub expires_at: OffsetDateTime,
    pub revoked_at: Option<OffsetDateTime>,
}

/// One of the server's signing keys, sealed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FapiSigningKeyRow {
    pub kid: String,
    pub sealed_key: String,
    pub created_at: OffsetDateTime,
    pub signs_from: OffsetDateTime,
}

/// The columns `client_from_row` reads, as a macro so queries are static text (`concat!`).
macro_rules! client_columns {
    () => {
        "client_id, name, jwks, redirect_uris, scopes, profile, token_auth, sender_constraint, \
         status, created_at, updated_at"
    };
}

fn client_from_row(row: &AnyRow) -> StoreResult<FapiClientRow> {
    let uris: String = row.try_get("redirect_uris")?;
    let redirect_uris = serde_json::from_str(&uris)
        .map_err(|_| StoreError::Corrupt("fapi_clients.redirect_uris".into()))?;
    Ok(FapiClientRow {
        client_id: row.try_get("client_id")?,
        name: row.try_get("name")?,
        jwks: row.try_get("jwks")?,
        redirect_uris,
        scopes: row.try_get("scopes")?,
        profile: row.try_get("profile")?,
        token_auth: row.try_get("token_auth")?,
        sender_constraint: row.try_get("sender_constraint")?,
        status: row.try_get("status")?,
        created_at: time_at(row, "created_at")?,
        updated_at: time_at(row, "updated_at")?,
    })
}

fn request_from_row(row: &AnyRow) -> StoreResult<FapiRequestRow> {
    Ok(FapiRequestRow {
        handle_hash: row.try_get("handle_hash")?,
        client_id: row.try_get("client_id")?,
        params: row.try_get("params")?,
        form_hash: row.try_get("form_hash")?,
        created_at: time_at(row, "created_at")?,
        expires_at: time_at(row, "expires_at")?,
        used_at: optional_time_at(row, "used_at")?,
    })
}

fn code_from_row(row: &AnyRow) -> StoreResult<FapiCodeRow> {
    Ok(FapiCodeRow {
        code_hash: row.try_get("code_hash")?,
        client_id: row.try_get("client_id")?,
        tenant_id: parsed(row, "tenant_id")?,
        person_id: parsed(row, "person_id")?,
        scopes: row.try_get("scopes")?,
        redirect_uri: row.try_get("redirect_uri")?,
        code_challenge: row.try_get("code_challenge")?,
        dpop_jkt: row.try_get("dpop_jkt")?,
        created_at: time_at(row, "created_at")?,
        expires_at: time_at(row, "expires_at")?,
        used_at: optional_time_at(row, "used_at")?,
    })
}

fn token_from_row(row: &AnyRow) -> StoreResult<FapiTokenRow> {
    Ok(FapiTokenRow {
        id: parsed(row, "id")?,
        token_hash: row.try_get("token_hash")?,
        code_hash: row.try_get("code_hash")?,
        client_id: row.try_get("client_id")?,
        tenant_id: parsed(row, "tenant_id")?,
        person_id: parsed(row, "person_id")?,
        scopes: row.try_get("scopes")?,
        jkt: row.try_get("jkt")?,
        created_at: time_at(row, "created_at")?,
        expires_at: time_at(row, "expires_at")?,
        revoked_at: optional_time_at(row, "revoked_at")?,
    })
}

impl Store {
    /// Registers a client; `Conflict` when the id is taken.
    pub async fn insert_fapi_client(
        &self,
        client: &FapiClientRow,
        context: &AuditContext,
    ) -> StoreResult<()> {
        let uris = serde_json::to_string(&client.redirect_uris)
            .map_err(|_| StoreError::Corrupt("redirect_uris".into()))?;
        let mut tx = self.pool.begin().await?;
        sqlx::query(
            "INSERT INTO fapi_clients (client_id, name, jwks, redirect_uris, scopes, profile, \
             token_auth, sender_constraint, status, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
        )
        .bind(client.client_id.as_str())
        .bind(client.name.as_str())
        .bind(client.jwks.as_str())
        .bind(uris.as_str())
        .bind(client.scopes.as_str())
        .bind(client.profile.as_str())
        .bind(client.token_auth.as_str())
        .bind(client.sender_constraint.as_str())
        .bind(client.status.as_str())
        .bind(to_micros(client.created_at))
        .bind(to_micros(client.updated_at))
        .execute(&mut *tx)
        .await
        .map_err(StoreError::from_write)?;
        let jwks: Value = serde_json::from_str(&client.jwks).unwrap_or(Value::Null);
        let event = AuditEvent::new(
            context,
            "fapi.client_registered",
            Retention::Security,
            ("fapi_client", client.client_id.clone()),
        )
        .change("name", Value::Null, client.name.as_str().into())
        .change(
            "redirect_uris",
            Value::Null,
            client.redirect_uris.clone().into(),
        )
        .change("scopes", Value::Null, client.scopes.as_str().into())
        .change("profile", Value::Null, client.profile.as_str().into())
        .change("token_auth", Value::Null, client.token_auth.as_str().into())
        .change(
            "sender_constraint",
            Value::Null,
            client.sender_constraint.as_str().into(),
        )
        .change("jwks", Value::Null, jwks);
        crate::audit::record(&mut tx, &event).await?;
        tx.commit().await?;
        Ok(())
    }

    /// Sets a client's status (`active` or `disabled`); `NotFound` when it does not exist.
    pub async fn set_fapi_client_status(
        &self,
        client_id: &str,
        status: &str,
        context: &AuditContext,
    ) -> StoreResult<()> {
        let mut tx = self.pool.begin().await?;
        let old: Option<String> =
            sqlx::query_scalar("SELECT status FROM fapi_clients WHERE client_id = $1")
                .bind(client_id)
                .fetch_optional(&mut *tx)
                .await?;
        let Some(old) = old else {
            return Err(StoreError::NotFound);
        };
        sqlx::query("UPDATE fapi_clients SET status = $1, updated_at = $2 WHERE client_id = $3")
            .bind(status)
            .bind(crate::rows::now_micros())
            .bind(client_id)
            .execute(&mut *tx)
            .await?;
        let event = AuditEvent::new(
            context,
            "fapi.client_status_changed",
            Retention::Security,
            ("fapi_client", client_id.to_owned()),
        )
        .change("status", old.into(), status.into());
        crate::audit::record(&mut tx, &event).await?;
        tx.commit().await?;
        Ok(())
    }

    pub async fn fapi_client(&self, client_id: &str) -> StoreResult<Option<FapiClientRow>> {
        let sql = concat!(
            "SELECT ",
            client_columns!(),
            " FROM fapi_clients WHERE client_id = $1"
        );
        sqlx::query(sql)
            .bind(client_id)
            .fetch_optional(&self.pool)
            .await?
            .as_ref()
            .map(client_from_row)
            .transpose()
    }

    pub async fn fapi_clients(&self) -> StoreResult<Vec<FapiClientRow>> {
        let sql = concat!(
            "SELECT ",
            client_columns!(),
            " FROM fapi_clients ORDER BY client_id"
        );
        sqlx::query(sql)
            .fetch_all(&self.pool)
            .await?
            .iter()
            .map(client_from_row)
            .collect()
    }

    /// Stores a pushed authorization request.
    pub async fn insert_fapi_request(
        &self,
        request: &FapiRequestRow,
        context: &AuditContext,
    ) -> StoreResult<()> {
        let mut tx = self.pool.begin().await?;
        sqlx::query(
            "INSERT INTO fapi_requests (handle_hash, client_id, params, form_hash, created_at, \
             expires_at) VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(request.handle_hash.as_str())
        .bind(request.client_id.as_str())
        .bind(request.params.as_str())
        .bind(request.form_hash.as_str())
        .bind(to_micros(request.created_at))
        .bind(to_micros(request.expires_at))
        .execute(&mut *tx)
        .await
        .map_err(StoreError::from_write)?;
        let event = AuditEvent::new(
            context,
            "fapi.request_pushed",
            Retention::Access,
            ("fapi_request", request.handle_hash[..16].to_owned()),
        )
        .change("client_id", Value::Null, request.client_id.as_str().into());
        crate::audit::record(&mut tx, &event).await?;
        tx.commit().await?;
        Ok(())
    }

    pub async fn fapi_request(&self, handle_hash: &str) -> StoreResult<Option<FapiRequestRow>> {
        sqlx::query(
            "SELECT handle_hash, client_id, params, form_hash, created_at, expires_at, used_at \
             FROM fapi_requests WHERE handle_hash = $1",
        )
        .bind(handle_hash)
        .fetch_optional(&self.pool)
        .await?
        .as_ref()
        .map(request_from_row)
        .transpose()
    }

    /// The resource owner's decision on a pushed request, in one transaction: the request is
    /// used up (only if unused and unexpired at `now`; otherwise nothing is written and the
    /// answer is `false`), the code (when consent was given) stored, the decision audited.
    pub async fn decide_fapi_request(
        &self,
        handle_hash: &str,
        now: OffsetDateTime,
        code: Option<&FapiCodeRow>,
        context: &AuditContext,
    ) -> StoreResult<bool> {
        let mut tx = self.pool.begin().await?;
        let used = sqlx::query(
            "UPDATE fapi_requests SET used_at = $1 \
             WHERE handle_hash = $2 AND used_at IS NULL AND expires_at > $1",
        )
        .bind(to_micros(now))
        .bind(handle_hash)
        .execute(&mut *tx)
        .await?;
        if used.rows_affected() != 1 {
            return Ok(false);
        }
        let client: String =
            sqlx::query_scalar("SELECT client_id FROM fapi_requests WHERE handle_hash = $1")
                .bind(handle_hash)
                .fetch_one(&mut *tx)
                .await?;
        let event = match code {
            Some(code) => {
                sqlx::query(
                    "INSERT INTO fapi_codes (code_hash, client_id, tenant_id, person_id, scopes, \
                     redirect_uri, code_challenge, dpop_jkt, created_at, expires_at) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
                )
                .bind(code.code_hash.as_str())
                .bind(code.client_id.as_str())
                .bind(code.tenant_id.to_string())
                .bind(code.person_id.to_string())
                .bind(code.scopes.as_str())
                .bind(code.redirect_uri.as_str())
                .bind(code.code_challenge.as_str())
                .bind(code.dpop_jkt.as_deref())
                .bind(to_micros(code.created_at))
                .bind(to_micros(code.expires_at))
                .execute(&mut *tx)
                .await
                .map_err(StoreError::from_write)?;
                AuditEvent::new(
                    &context.for_tenant(code.tenant_id),
                    "fapi.consent_granted",
                    Retention::Security,
                    ("fapi_client", client.clone()),
                )
                .change("scopes", Value::Null, code.scopes.as_str().into())
                .change("person", Value::Null, code.person_id.to_string().into())
            }
            None => AuditEvent::new(
                context,
                "fapi.consent_refused",
                Retention::Security,
                ("fapi_client", client.clone()),
            ),
        };
        crate::audit::record(&mut tx, &event).await?;
        tx.commit().await?;
        Ok(true)
    }

    pub async fn fapi_code(&self, code_hash: &str) -> StoreResult<Option<FapiCodeRow>> {
        sqlx::query(
            "SELECT code_hash, client_id, tenant_id, person_id, scopes, redirect_uri, \
             code_challenge, dpop_jkt, created_at, expires_at, used_at \
             FROM fapi_codes WHERE code_hash = $1",
        )
        .bind(code_hash)
        .fetch_optional(&self.pool)
        .await?
        .as_ref()
        .map(code_from_row)
        .transpose()
    }

    /// Redeems a code for `token` in one transaction: the code is used up only if unused and
    /// unexpired at `now` (otherwise nothing is written and the answer is `false`).
    pub async fn redeem_fapi_code(
        &self,
        now: OffsetDateTime,
        token: &FapiTokenRow,
        context: &AuditContext,
    ) -> StoreResult<bool> {
        let mut tx = self.pool.begin().await?;
        let used = sqlx::query(
            "UPDATE fapi_codes SET used_at = $1 \
             WHERE code_hash = $2 AND used_at IS NULL AND expires_at > $1",
        )
        .bind(to_micros(now))
        .bind(token.code_hash.as_str())
        .execute(&mut *tx)
        .await?;
        if used.rows_affected() != 1 {
            return Ok(false);
        }
        sqlx::query(
            "INSERT INTO fapi_tokens (id, token_hash, code_hash, client_id, tenant_id, person_id, \
             scopes, jkt, created_at, expires_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
        )
        .bind(token.id.to_string())
        .bind(token.token_hash.as_str())
        .bind(token.code_hash.as_str())
        .bind(token.client_id.as_str())
        .bind(token.tenant_id.to_string())
        .bind(token.person_id.to_string())
        .bind(token.scopes.as_str())
        .bind(token.jkt.as_str())
        .bind(to_micros(token.created_at))
        .bind(to_micros(token.expires_at))
        .execute(&mut *tx)
        .await
        .map_err(StoreError::from_write)?;
        let event = AuditEvent::new(
            &context.for_tenant(token.tenant_id),
            "fapi.token_issued",
            Retention::Security,
            ("fapi_token", token.id.to_string()),
        )
        .change("client_id", Value::Null, token.client_id.as_str().into())
        .change("scopes", Value::Null, token.scopes.as_str().into())
        .change("jkt", Value::Null, token.jkt.as_str().into());
        crate::audit::record(&mut tx, &event).await?;
        tx.commit().await?;
        Ok(true)
    }

    /// A used code was presented again: revokes every token issued from it (RFC 6749 §4.1.2)
    /// and records the attempt. Answers how many tokens were revoked.
    pub async fn revoke_fapi_code_tokens(
        &self,
        code: &FapiCodeRow,
        now: OffsetDateTime,
        context: &AuditContext,
    ) -> StoreResult<u64> {
        let mut tx = self.pool.begin().await?;
        let revoked = sqlx::query(
            "UPDATE fapi_tokens SET revoked_at = $1 WHERE code_hash = $2 AND revoked_at IS NULL",
        )
        .bind(to_micros(now))
        .bind(code.code_hash.as_str())
        .execute(&mut *tx)
        .await?
        .rows_affected();
        let event = AuditEvent::new(
            &context.for_tenant(code.tenant_id),
            "fapi.code_reused",
            Retention::Security,
            ("fapi_client", code.client_id.clone()),
        )
        .change("tokens_revoked", Value::Null, revoked.into());
        crate::audit::record(&mut tx, &event).await?;
        tx.commit().await?;
        Ok(revoked)
    }

    /// Revokes one token of `client_id` (RFC 7009); answers whether a live token was revoked.
    /// Audited only when it was.
    pub async fn revoke_fapi_token(
        &self,
        token_hash: &str,
        client_id: &str,
        now: OffsetDateTime,
        context: &AuditContext,
    ) -> StoreResult<bool> {
        let mut tx = self.pool.begin().await?;
        let row = sqlx::query(
            "SELECT id, tenant_id FROM fapi_tokens \
             WHERE token_hash = $1 AND client_id = $2 AND revoked_at IS NULL",
        )
        .bind(token_hash)
        .bind(client_id)
        .fetch_optional(&mut *tx)
        .await?;
        let Some(row) = row else {
            return Ok(false);
        };
        let id: String = row.try_get("id")?;
        let tenant: TenantId = parsed(&row, "tenant_id")?;
        sqlx::query("UPDATE fapi_tokens SET revoked_at = $1 WHERE id = $2")
            .bind(to_micros(now))
            .bind(id.as_str())
            .execute(&mut *tx)
            .await?;
        let event = AuditEvent::new(
            &context.for_tenant(tenant),
            "fapi.token_revoked",
            Retention::Security,
            ("fapi_token", id),
        )
        .change("client_id", Value::Null, client_id.into());
        crate::audit::record(&mut tx, &event).await?;
        tx.commit().await?;
        Ok(true)
    }

    pub async fn fapi_token(&self, token_hash: &str) -> StoreResult<Option<FapiTokenRow>> {
        sqlx::query(
            "SELECT id, token_hash, code_hash, client_id, tenant_id, person_id, scopes, jkt, \
             created_at, expires_at, revoked_at FROM fapi_tokens WHERE token_hash = $1",
        )
        .bind(token_hash)
        .fetch_optional(&self.pool)
        .await?
        .as_ref()
        .map(token_from_row)
        .transpose()
    }

    /// The server's signing keys, oldest first.
    pub async fn fapi_signing_keys(&self) -> StoreResult<Vec<FapiSigningKeyRow>> {
        sqlx::query(
            "SELECT kid, sealed_key, created_at, signs_from FROM fapi_signing_keys \
             ORDER BY signs_from, created_at, kid",
        )
        .fetch_all(&self.pool)
        .await?
        .iter()
        .map(|row| {
            Ok(FapiSigningKeyRow {
                kid: row.try_get("kid")?,
                sealed_key: row.try_get("sealed_key")?,
                created_at: time_at(row, "created_at")?,
                signs_from: time_at(row, "signs_from")?,
            })
        })
        .collect()
    }

    pub async fn insert_fapi_signing_key(
        &self,
        key: &FapiSigningKeyRow,
        context: &AuditContext,
    ) -> StoreResult<()> {
        let mut tx = self.pool.begin().await?;
        sqlx::query(
            "INSERT INTO fapi_signing_keys (kid, sealed_key, created_at, signs_from) \
             VALUES ($1, $2, $3, $4)",
        )
        .bind(key.kid.as_str())
        .bind(key.sealed_key.as_str())
        .bind(to_micros(key.created_at))
        .bind(to_micros(key.signs_from))
        .execute(&mut *tx)
        .await
        .map_err(StoreError::from_write)?;
        let event = AuditEvent::new(
            context,
            "fapi.signing_key_created",
            Retention::Security,
            ("fapi_signing_key", key.kid.clone()),
        )
        .change("signs_from", Value::Null, to_micros(key.signs_from).into());
        crate::audit::record(&mut tx, &event).await?;
        tx.commit().await?;
        Ok(())
    }
}
