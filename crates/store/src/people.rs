//! People who sign in, their recovery codes and their browser sessions. Every change that
//! affects sign-in or permissions bumps `people.updated_at` (or sets `sessions.revoked_at`): the
//! watermark that makes every instance drop cached sessions, as the credential watermark does
//! for API keys. Each change leaves its audit event in its own transaction.

use benteng_core::audit::{AuditContext, AuditEvent, Retention};
use benteng_core::ids::{PersonId, TenantId};
use benteng_core::people::LoginName;
use benteng_core::roles::{Roles, TenantRole};
use sqlx::Row;
use sqlx::any::AnyRow;
use time::OffsetDateTime;

use crate::rows::{now_micros, optional_time_at, parsed, time_at, to_micros};
use crate::{Store, StoreError, StoreResult};

/// Where a person stands in their life cycle.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum PersonStatus {
    /// Created; has an enrolment code, no credentials yet.
    Enrolling,
    Active,
    Disabled,
}

impl PersonStatus {
    fn as_str(self) -> &'static str {
        match self {
            PersonStatus::Enrolling => "enrolling",
            PersonStatus::Active => "active",
            PersonStatus::Disabled => "disabled",
        }
    }

    fn parse(text: &str) -> StoreResult<Self> {
        match text {
            "enrolling" => Ok(PersonStatus::Enrolling),
            "active" => Ok(PersonStatus::Active),
            "disabled" => Ok(PersonStatus::Disabled),
            other => Err(StoreError::Corrupt(format!("person status {other:?}"))),
        }
    }
}

/// A person as stored. Credentials stay in their stored forms (PHC string, sealed secret);
/// `crates/auth` checks them.
#[derive(Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct PersonRow {
    pub id: PersonId,
    pub login: LoginName,
    /// `None` for platform staff.
    pub tenant: Option<(TenantId, TenantRole)>,
    pub roles: Roles,
    pub status: PersonStatus,
    pub password_hash: Option<String>,
    pub totp_sealed: Option<String>,
    pub totp_pending_sealed: Option<String>,
    pub totp_last_step: i64,
    #[serde(with = "time::serde::timestamp")]
    pub created_at: OffsetDateTime,
}

impl std::fmt::Debug for PersonRow {
    /// Never prints credentials, not even their stored forms.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PersonRow")
            .field("id", &self.id)
            .field("login", &self.login)
            .field("tenant", &self.tenant)
            .field("roles", &self.roles)
            .field("status", &self.status)
            .finish_non_exhaustive()
    }
}

macro_rules! person_columns {
    () => {
        "id, login, tenant_id, tenant_role, roles, status, password_hash, \
     totp_sealed, totp_pending_sealed, totp_last_step, created_at"
    };
}

fn person_from_row(row: &AnyRow) -> StoreResult<PersonRow> {
    let tenant: Option<String> = row.try_get("tenant_id")?;
    let tenant_role: Option<String> = row.try_get("tenant_role")?;
    let tenant = match (tenant, tenant_role) {
        (Some(tenant), Some(role)) => Some((
            tenant
                .parse()
                .map_err(|_| StoreError::Corrupt("person tenant id".to_owned()))?,
            serde_json::from_value(role.into())
                .map_err(|_| StoreError::Corrupt("person tenant role".to_owned()))?,
        )),
        (None, None) => None,
        _ => return Err(StoreError::Corrupt("person tenant and role".to_owned())),
    };
    let status: String = row.try_get("status")?;
    Ok(PersonRow {
        id: parsed(row, "id")?,
        login: parsed(row, "login")?,
        tenant,
        roles: parsed(row, "roles")?,
        status: PersonStatus::parse(&status)?,
        password_hash: row.try_get("password_hash")?,
        totp_sealed: row.try_get("totp_sealed")?,
        totp_pending_sealed: row.try_get("totp_pending_sealed")?,
        totp_last_step: row.try_get("totp_last_step")?,
        created_at: time_at(row, "created_at")?,
    })
}

/// A browser session as stored (its token only as a keyed hash).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionRow {
    pub id: uuid::Uuid,
    pub token_hash: String,
    pub person: PersonId,
    pub ip: Option<String>,
    pub created_at: OffsetDateTime,
    pub last_seen_at: OffsetDateTime,
    pub expires_at: OffsetDateTime,
    pub revoked_at: Option<OffsetDateTime>,
}

fn session_from_row(row: &AnyRow) -> StoreResult<SessionRow> {
    Ok(SessionRow {
        id: parsed(row, "id")?,
        token_hash: row.try_get("token_hash")?,
        person: parsed(row, "person_id")?,
        ip: row.try_get("ip")?,
        created_at: time_at(row, "created_at")?,
        last_seen_at: time_at(row, "last_seen_at")?,
        expires_at: time_at(row, "expires_at")?,
        revoked_at: optional_time_at(row, "revoked_at")?,
    })
}

macro_rules! session_columns {
    () => {
        "id, token_hash, person_id, ip, created_at, last_seen_at, expires_at, revoked_at"
    };
}

/// A person about to be created, with the keyed hash of their one-time enrolment code.
pub struct NewPerson<'a> {
    pub id: PersonId,
    pub login: &'a LoginName,
    pub tenant: Option<(TenantId, TenantRole)>,
    pub roles: Roles,
    pub enrolment_hash: &'a str,
    pub enrolment_expires_at: OffsetDateTime,
}

fn person_event(context: &AuditContext, event_type: &str, person: PersonId) -> AuditEvent {
    AuditEvent::new(
        context,
        event_type,
        Retention::Security,
        ("person", person.to_string()),
    )
}

impl Store {
    /// Creates a person in the enrolling state. `Conflict` when the login is taken.
    pub async fn insert_person(
        &self,
        new: &NewPerson<'_>,
        context: &AuditContext,
    ) -> StoreResult<()> {
        let mut tx = self.pool.begin().await?;
        let now = now_micros();
        sqlx::query(
            "INSERT INTO people (id, login, tenant_id, tenant_role, roles, status, \
             enrolment_hash, enrolment_expires_at, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, $5, 'enrolling', $6, $7, $8, $8)",
        )
        .bind(new.id.to_string())
        .bind(new.login.as_ref())
        .bind(new.tenant.map(|(tenant, _)| tenant.to_string()))
        .bind(new.tenant.map(|(_, role)| tenant_role_name(role)))
        .bind(new.roles.to_string())
        .bind(new.enrolment_hash)
        .bind(to_micros(new.enrolment_expires_at))
        .bind(now)
        .execute(&mut *tx)
        .await
        .map_err(StoreError::from_write)?;
        let mut context = context.clone();
        if let Some((tenant, _)) = new.tenant {
            context.tenant_id = Some(tenant);
        }
        let event = person_event(&context, "person.created", new.id)
            .change("login", serde_json::Value::Null, new.login.as_ref().into())
            .change(
                "roles",
                serde_json::Value::Null,
                new.roles.to_string().into(),
            );
        crate::audit::record(&mut tx, &event).await?;
        tx.commit().await?;
        Ok(())
    }

    pub async fn person(&self, id: PersonId) -> StoreResult<PersonRow> {
        let sql = concat!("SELECT ", person_columns!(), " FROM people WHERE id = $1");
        let row = sqlx::query(sql)
            .bind(id.to_string())
            .fetch_optional(&self.pool)
            .await?
            .ok_or(StoreError::NotFound)?;
        person_from_row(&row)
    }

    pub async fn person_by_login(&self, login: &LoginName) -> StoreResult<Option<PersonRow>> {
        let sql = concat!(
            "SELECT ",
            person_columns!(),
            " FROM people WHERE login = $1"
        );
        sqlx::query(sql)
            .bind(login.as_ref())
            .fetch_optional(&self.pool)
            .await?
            .as_ref()
            .map(person_from_row)
            .transpose()
    }

    /// The person an unexpired enrolment code belongs to.
    pub async fn person_by_enrolment(&self, code_hash: &str) -> StoreResult<Option<PersonRow>> {
        let sql = concat!(
            "SELECT ",
            person_columns!(),
            " FROM people \
             WHERE enrolment_hash = $1 AND enrolment_expires_at > $2 AND status = 'enrolling'"
        );
        sqlx::query(sql)
            .bind(code_hash)
            .bind(now_micros())
            .fetch_optional(&self.pool)
            .await?
            .as_ref()
            .map(person_from_row)
            .transpose()
    }

    /// Platform staff (people without a tenant), by login.
    pub async fn staff(&self) -> StoreResult<Vec<PersonRow>> {
        let sql = concat!(
            "SELECT ",
            person_columns!(),
            " FROM people WHERE tenant_id IS NULL ORDER BY login LIMIT 1000"
        );
        sqlx::query(sql)
            .fetch_all(&self.pool)
            .await?
            .iter()
            .map(person_from_row)
            .collect()
    }

    /// A tenant's users, by login.
    pub async fn tenant_users(&self, tenant: TenantId) -> StoreResult<Vec<PersonRow>> {
        let sql = concat!(
            "SELECT ",
            person_columns!(),
            " FROM people WHERE tenant_id = $1 ORDER BY login LIMIT 1000"
        );
        sqlx::query(sql)
            .bind(tenant.to_string())
            .fetch_all(&self.pool)
            .await?
            .iter()
            .map(person_from_row)
            .collect()
    }

    /// Enrolment, first step: the chosen password and the TOTP secret offered, both kept until
    /// a code from the secret is confirmed. Only while enrolling.
    pub async fn set_enrolment_credentials(
        &self,
        person: PersonId,
        password_hash: &str,
        totp_pending_sealed: &str,
        context: &AuditContext,
    ) -> StoreResult<()> {
        let mut tx = self.pool.begin().await?;
        let updated = sqlx::query(
            "UPDATE people SET password_hash = $1, totp_pending_sealed = $2, updated_at = $3 \
             WHERE id = $4 AND status = 'enrolling'",
        )
        .bind(password_hash)
        .bind(totp_pending_sealed)
        .bind(now_micros())
        .bind(person.to_string())
        .execute(&mut *tx)
        .await?;
        if updated.rows_affected() == 0 {
            return Err(StoreError::NotFound);
        }
        let event = person_event(context, "person.enrolment_started", person).change(
            "password",
            serde_json::Value::Null,
            "set".into(),
        );
        crate::audit::record(&mut tx, &event).await?;
        tx.commit().await?;
        Ok(())
    }

    /// Enrolment, last step: the offered TOTP secret is confirmed (`step` is the time step of
    /// the code that confirmed it), the recovery codes are stored, the enrolment code is spent
    /// and the person becomes active.
    pub async fn complete_enrolment(
        &self,
        person: PersonId,
        step: i64,
        recovery_hashes: &[String],
        context: &AuditContext,
    ) -> StoreResult<()> {
        let mut tx = self.pool.begin().await?;
        let now = now_micros();
        let updated = sqlx::query(
            "UPDATE people SET totp_sealed = totp_pending_sealed, totp_pending_sealed = NULL, \
             totp_last_step = $1, enrolment_hash = NULL, enrolment_expires_at = NULL, \
             status = 'active', updated_at = $2 \
             WHERE id = $3 AND status = 'enrolling' AND totp_pending_sealed IS NOT NULL \
             AND password_hash IS NOT NULL",
        )
        .bind(step)
        .bind(now)
        .bind(person.to_string())
        .execute(&mut *tx)
        .await?;
        if updated.rows_affected() == 0 {
            return Err(StoreError::NotFound);
        }
        for hash in recovery_hashes {
            sqlx::query(
                "INSERT INTO recovery_codes (person_id, code_hash, created_at) VALUES ($1, $2, $3)",
            )
            .bind(person.to_string())
            .bind(hash.as_str())
            .bind(now)
            .execute(&mut *tx)
            .await
            .map_err(StoreError::from_write)?;
        }
        let event = person_event(context, "person.enrolled", person)
            .change("status", "enrolling".into(), "active".into())
            .change(
                "recovery_codes",
                serde_json::Value::Null,
                recovery_hashes.len().into(),
            );
        crate::audit::record(&mut tx, &event).await?;
        tx.commit().await?;
        Ok(())
    }

    /// Accepts a TOTP code's time step if it is later than the last one accepted: one atomic
    /// update, so a code is accepted once even when two instances see it at the same moment.
    pub async fn accept_totp_step(&self, person: PersonId, step: i64) -> StoreResult<bool> {
        let updated = sqlx::query(
            "UPDATE people SET totp_last_step = $1 WHERE id = $2 AND totp_last_step < $1",
        )
        .bind(step)
        .bind(person.to_string())
        .execute(&self.pool)
        .await?;
        Ok(updated.rows_affected() == 1)
    }

    /// Spends a recovery code if it is the person's and unused; audited.
    pub async fn use_recovery_code(
        &self,
        person: PersonId,
        code_hash: &str,
        context: &AuditContext,
    ) -> StoreResult<bool> {
        let mut tx = self.pool.begin().await?;
        let updated = sqlx::query(
            "UPDATE recovery_codes SET used_at = $1 \
             WHERE person_id = $2 AND code_hash = $3 AND used_at IS NULL",
        )
        .bind(now_micros())
        .bind(person.to_string())
        .bind(code_hash)
        .execute(&mut *tx)
        .await?;
        if updated.rows_affected() == 0 {
            return Ok(false);
        }
        let left: i64 = sqlx::query(
            "SELECT COUNT(*) AS n FROM recovery_codes WHERE person_id = $1 AND used_at IS NULL",
        )
        .bind(person.to_string())
        .fetch_one(&mut *tx)
        .await?
        .try_get("n")?;
        let event = person_event(context, "person.recovery_code_used", person).change(
            "recovery_codes_left",
            serde_json::Value::Null,
            left.into(),
        );
        crate::audit::record(&mut tx, &event).await?;
        tx.commit().await?;
        Ok(true)
    }

    /// Replaces a person's password hash (a rehash under stronger settings, or a change).
    pub async fn set_password_hash(
        &self,
        person: PersonId,
        password_hash: &str,
        context: &AuditContext,
    ) -> StoreResult<()> {
        let mut tx = self.pool.begin().await?;
        sqlx::query("UPDATE people SET password_hash = $1 WHERE id = $2")
            .bind(password_hash)
            .bind(person.to_string())
            .execute(&mut *tx)
            .await?;
        let event = person_event(context, "person.password_rehashed", person);
        crate::audit::record(&mut tx, &event).await?;
        tx.commit().await?;
        Ok(())
    }

    /// Sets a person's staff roles. Returns the roles before.
    pub async fn set_roles(
        &self,
        person: PersonId,
        roles: Roles,
        context: &AuditContext,
    ) -> StoreResult<Roles> {
        let mut tx = self.pool.begin().await?;
        let before = set_roles_in(&mut tx, person, roles, context).await?;
        tx.commit().await?;
        Ok(before)
    }

    /// Disables a person (and ends their sessions) or re-enables them.
    pub async fn set_person_status(
        &self,
        person: PersonId,
        status: PersonStatus,
        context: &AuditContext,
    ) -> StoreResult<()> {
        let mut tx = self.pool.begin().await?;
        let now = now_micros();
        let before: String = sqlx::query(
            "UPDATE people SET updated_at = $1 WHERE id = $2 AND status <> 'enrolling' \
             RETURNING status",
        )
        .bind(now)
        .bind(person.to_string())
        .fetch_optional(&mut *tx)
        .await?
        .ok_or(StoreError::NotFound)?
        .try_get("status")?;
        sqlx::query("UPDATE people SET status = $1 WHERE id = $2")
            .bind(status.as_str())
            .bind(person.to_string())
            .execute(&mut *tx)
            .await?;
        let mut event = person_event(context, "person.status_changed", person).change(
            "status",
            before.into(),
            status.as_str().into(),
        );
        // Disabling ends every credential the person holds, for good: re-enabling them later
        // does not bring back a session or a token that was live when they were disabled.
        if status == PersonStatus::Disabled {
            sqlx::query(
                "UPDATE sessions SET revoked_at = $1 WHERE person_id = $2 AND revoked_at IS NULL",
            )
            .bind(now)
            .bind(person.to_string())
            .execute(&mut *tx)
            .await?;
            let tokens = crate::staff_tokens::revoke_tokens_in(&mut tx, person, now).await?;
            event = event.change(
                "staff_tokens_revoked",
                serde_json::Value::Null,
                tokens.into(),
            );
        }
        crate::audit::record(&mut tx, &event).await?;
        tx.commit().await?;
        Ok(())
    }

    /// Starts a session; audited as a sign-in.
    pub async fn insert_session(
        &self,
        session: &SessionRow,
        context: &AuditContext,
    ) -> StoreResult<()> {
        let mut tx = self.pool.begin().await?;
        sqlx::query(
            "INSERT INTO sessions (id, token_hash, person_id, ip, created_at, last_seen_at, \
             expires_at) VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(session.id.to_string())
        .bind(session.token_hash.as_str())
        .bind(session.person.to_string())
        .bind(session.ip.clone())
        .bind(to_micros(session.created_at))
        .bind(to_micros(session.last_seen_at))
        .bind(to_micros(session.expires_at))
        .execute(&mut *tx)
        .await
        .map_err(StoreError::from_write)?;
        let event = AuditEvent::new(
            context,
            "session.created",
            Retention::Access,
            ("session", session.id.to_string()),
        )
        .change(
            "person",
            serde_json::Value::Null,
            session.person.to_string().into(),
        )
        .change(
            "expires_at",
            serde_json::Value::Null,
            to_micros(session.expires_at).into(),
        );
        crate::audit::record(&mut tx, &event).await?;
        tx.commit().await?;
        Ok(())
    }

    /// A session by its token's keyed hash, with its person.
    pub async fn session_by_hash(
        &self,
        token_hash: &str,
    ) -> StoreResult<Option<(SessionRow, PersonRow)>> {
        let sql = concat!(
            "SELECT ",
            session_columns!(),
            " FROM sessions WHERE token_hash = $1"
        );
        let Some(row) = sqlx::query(sql)
            .bind(token_hash)
            .fetch_optional(&self.pool)
            .await?
        else {
            return Ok(None);
        };
        let session = session_from_row(&row)?;
        let person = self.person(session.person).await?;
        Ok(Some((session, person)))
    }

    /// Records activity on a session (for the idle timeout).
    pub async fn touch_session(&self, id: uuid::Uuid, at: OffsetDateTime) -> StoreResult<()> {
        sqlx::query("UPDATE sessions SET last_seen_at = $1 WHERE id = $2 AND last_seen_at < $1")
            .bind(to_micros(at))
            .bind(id.to_string())
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// Ends one session (sign-out). `false` when it was already ended.
    pub async fn revoke_session(
        &self,
        id: uuid::Uuid,
        context: &AuditContext,
    ) -> StoreResult<bool> {
        let mut tx = self.pool.begin().await?;
        let updated =
            sqlx::query("UPDATE sessions SET revoked_at = $1 WHERE id = $2 AND revoked_at IS NULL")
                .bind(now_micros())
                .bind(id.to_string())
                .execute(&mut *tx)
                .await?;
        if updated.rows_affected() == 0 {
            return Ok(false);
        }
        let event = AuditEvent::new(
            context,
            "session.revoked",
            Retention::Access,
            ("session", id.to_string()),
        );
        crate::audit::record(&mut tx, &event).await?;
        tx.commit().await?;
        Ok(true)
    }

    /// Ends every session of a person ("sign out everywhere", containment) and revokes their
    /// staff tokens with them: whoever presses it suspects a credential is out of their hands,
    /// and a token is a credential like a session. Returns how many sessions ended.
    pub async fn revoke_sessions_of(
        &self,
        person: PersonId,
        context: &AuditContext,
    ) -> StoreResult<u64> {
        let mut tx = self.pool.begin().await?;
        let now = now_micros();
        let updated = sqlx::query(
            "UPDATE sessions SET revoked_at = $1 WHERE person_id = $2 AND revoked_at IS NULL",
        )
        .bind(now)
        .bind(person.to_string())
        .execute(&mut *tx)
        .await?;
        let tokens = crate::staff_tokens::revoke_tokens_in(&mut tx, person, now).await?;
        let event = person_event(context, "person.sessions_revoked", person)
            .change(
                "sessions_revoked",
                serde_json::Value::Null,
                updated.rows_affected().into(),
            )
            .change(
                "staff_tokens_revoked",
                serde_json::Value::Null,
                tokens.into(),
            );
        crate::audit::record(&mut tx, &event).await?;
        tx.commit().await?;
        Ok(updated.rows_affected())
    }

    /// Moves when any session or staff token is revoked or any person changes: instances that
    /// see it move drop their cached sessions and tokens (the safety net beside pub/sub, as for
    /// API keys).
    pub async fn session_watermark(&self) -> StoreResult<(i64, i64, i64)> {
        let row = sqlx::query(
            "SELECT (SELECT COALESCE(MAX(revoked_at), 0) FROM sessions) AS revoked, \
                    (SELECT COALESCE(MAX(updated_at), 0) FROM people) AS updated, \
                    (SELECT COALESCE(MAX(revoked_at), 0) FROM staff_tokens) AS tokens",
        )
        .fetch_one(&self.pool)
        .await?;
        Ok((
            row.try_get("revoked")?,
            row.try_get("updated")?,
            row.try_get("tokens")?,
        ))
    }
}

/// Sets a person's roles inside a transaction (a four-eyes grant runs it in the approval's).
pub(crate) async fn set_roles_in(
    conn: &mut sqlx::AnyConnection,
    person: PersonId,
    roles: Roles,
    context: &AuditContext,
) -> StoreResult<Roles> {
    let before: String = sqlx::query(
        "UPDATE people SET updated_at = $1 WHERE id = $2 AND tenant_id IS NULL RETURNING roles",
    )
    .bind(now_micros())
    .bind(person.to_string())
    .fetch_optional(&mut *conn)
    .await?
    .ok_or(StoreError::NotFound)?
    .try_get("roles")?;
    let before: Roles = before
        .parse()
        .map_err(|_| StoreError::Corrupt("person roles".to_owned()))?;
    sqlx::query("UPDATE people SET roles = $1 WHERE id = $2")
        .bind(roles.to_string())
        .bind(person.to_string())
        .execute(&mut *conn)
        .await?;
    let event = person_event(context, "person.roles_changed", person).change(
        "roles",
        before.to_string().into(),
        roles.to_string().into(),
    );
    crate::audit::record(conn, &event).await?;
    Ok(before)
}

fn tenant_role_name(role: TenantRole) -> &'static str {
    match role {
        TenantRole::Owner => "owner",
        TenantRole::Payer => "payer",
        TenantRole::Viewer => "viewer",
    }
}
