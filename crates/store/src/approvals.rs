//! Four-eyes pending actions. A decision is one transaction: the row moves from `pending` only
//! if it is still pending, unexpired and decided by someone other than its proposer (the table's
//! check constraint says the last part again), and an approved action's change and its audit
//! events commit with it, so an action runs exactly once or not at all.

use benteng_core::approvals::{Action, ActionStatus};
use benteng_core::audit::{AuditContext, AuditEvent, Retention};
use benteng_core::ids::{PendingActionId, PersonId};
use sqlx::Row;
use sqlx::any::AnyRow;
use time::OffsetDateTime;

use crate::rows::{now_micros, optional_time_at, parsed, time_at, to_micros};
use crate::{Store, StoreError, StoreResult};

/// A pending action as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PendingAction {
    pub id: PendingActionId,
    pub action: Action,
    pub status: ActionStatus,
    pub proposed_by: PersonId,
    pub proposed_at: OffsetDateTime,
    pub expires_at: OffsetDateTime,
    pub decided_by: Option<PersonId>,
    pub decided_at: Option<OffsetDateTime>,
}

/// Why a decision was not recorded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DecisionRefused {
    NotFound,
    /// Already approved, rejected or expired.
    NotPending(ActionStatus),
    Expired,
    /// The decider proposed it.
    OwnProposal,
}

macro_rules! action_columns {
    () => {
        "id, payload, status, proposed_by, proposed_at, expires_at, decided_by, decided_at"
    };
}

fn from_row(row: &AnyRow) -> StoreResult<PendingAction> {
    let payload: String = row.try_get("payload")?;
    let status: String = row.try_get("status")?;
    let decided_by: Option<String> = row.try_get("decided_by")?;
    Ok(PendingAction {
        id: parsed(row, "id")?,
        action: serde_json::from_str(&payload)
            .map_err(|_| StoreError::Corrupt("pending action payload".to_owned()))?,
        status: ActionStatus::parse(&status)
            .ok_or_else(|| StoreError::Corrupt("pending action status".to_owned()))?,
        proposed_by: parsed(row, "proposed_by")?,
        proposed_at: time_at(row, "proposed_at")?,
        expires_at: time_at(row, "expires_at")?,
        decided_by: decided_by
            .map(|id| id.parse())
            .transpose()
            .map_err(|_| StoreError::Corrupt("pending action decider".to_owned()))?,
        decided_at: optional_time_at(row, "decided_at")?,
    })
}

fn event(context: &AuditContext, event_type: &str, pending: &PendingAction) -> AuditEvent {
    AuditEvent::new(
        context,
        event_type,
        Retention::Security,
        ("pending_action", pending.id.to_string()),
    )
    .change(
        "action",
        serde_json::Value::Null,
        serde_json::to_value(pending.action).unwrap_or_default(),
    )
    .change(
        "proposed_by",
        serde_json::Value::Null,
        pending.proposed_by.to_string().into(),
    )
}

impl Store {
    /// Records a proposal; audited.
    pub async fn insert_pending_action(
        &self,
        pending: &PendingAction,
        context: &AuditContext,
    ) -> StoreResult<()> {
        let mut tx = self.pool.begin().await?;
        insert_in(&mut tx, pending, context).await?;
        tx.commit().await?;
        Ok(())
    }

    pub async fn pending_action(&self, id: PendingActionId) -> StoreResult<PendingAction> {
        let sql = concat!(
            "SELECT ",
            action_columns!(),
            " FROM pending_actions WHERE id = $1"
        );
        let row = sqlx::query(sql)
            .bind(id.to_string())
            .fetch_optional(&self.pool)
            .await?
            .ok_or(StoreError::NotFound)?;
        from_row(&row)
    }

    /// The newest actions with `status` (at most 200).
    pub async fn pending_actions(&self, status: ActionStatus) -> StoreResult<Vec<PendingAction>> {
        let sql = concat!(
            "SELECT ",
            action_columns!(),
            " FROM pending_actions WHERE status = $1 \
             ORDER BY proposed_at DESC, id LIMIT 200"
        );
        sqlx::query(sql)
            .bind(status.as_str())
            .fetch_all(&self.pool)
            .await?
            .iter()
            .map(from_row)
            .collect()
    }

    /// Approves (and applies) or rejects a pending action, in one transaction. The outer
    /// `Result` is the database's; the inner one says why the decision was refused.
    pub async fn decide_pending_action(
        &self,
        id: PendingActionId,
        decider: PersonId,
        approve: bool,
        context: &AuditContext,
    ) -> StoreResult<Result<PendingAction, DecisionRefused>> {
        let mut tx = self.pool.begin().await?;
        let decided = claim_in(&mut tx, id, decider, approve, context).await?;
        let Ok(pending) = decided else {
            return Ok(decided);
        };
        if approve {
            apply(&mut tx, &pending, decider, context).await?;
        }
        tx.commit().await?;
        Ok(Ok(pending))
    }

    /// Marks pending actions past their expiry as expired, each with its audit event (by the
    /// system), in one transaction; returns how many.
    pub async fn expire_pending_actions(&self) -> StoreResult<u64> {
        let mut tx = self.pool.begin().await?;
        let now = now_micros();
        let sql = concat!(
            "SELECT ",
            action_columns!(),
            " FROM pending_actions WHERE status = 'pending' AND expires_at <= $1 LIMIT 500"
        );
        let expired: Vec<PendingAction> = sqlx::query(sql)
            .bind(now)
            .fetch_all(&mut *tx)
            .await?
            .iter()
            .map(from_row)
            .collect::<StoreResult<_>>()?;
        let context = AuditContext::system("system");
        for pending in &expired {
            sqlx::query(
                "UPDATE pending_actions SET status = 'expired' WHERE id = $1 AND status = 'pending'",
            )
            .bind(pending.id.to_string())
            .execute(&mut *tx)
            .await?;
            let event = event(&context, "approval.expired", pending);
            crate::audit::record(&mut tx, &event).await?;
        }
        tx.commit().await?;
        Ok(expired.len() as u64)
    }
}

/// Records a proposal with its audit event, in the caller's transaction.
pub(crate) async fn insert_in(
    conn: &mut sqlx::AnyConnection,
    pending: &PendingAction,
    context: &AuditContext,
) -> StoreResult<()> {
    let payload =
        serde_json::to_string(&pending.action).map_err(|e| StoreError::Corrupt(e.to_string()))?;
    sqlx::query(
        "INSERT INTO pending_actions (id, kind, payload, status, proposed_by, proposed_at, \
         expires_at) VALUES ($1, $2, $3, 'pending', $4, $5, $6)",
    )
    .bind(pending.id.to_string())
    .bind(pending.action.kind())
    .bind(payload)
    .bind(pending.proposed_by.to_string())
    .bind(to_micros(pending.proposed_at))
    .bind(to_micros(pending.expires_at))
    .execute(&mut *conn)
    .await
    .map_err(StoreError::from_write)?;
    let event = event(context, "approval.proposed", pending).change(
        "expires_at",
        serde_json::Value::Null,
        to_micros(pending.expires_at).into(),
    );
    crate::audit::record(conn, &event).await
}

/// Moves a pending action to approved or rejected, with its audit event naming proposer and
/// decider, in the caller's transaction: only while it is pending, unexpired and `decider` is
/// not its proposer (the inner `Err` says which failed; nothing was written then). Applying an
/// approved action is the caller's.
pub(crate) async fn claim_in(
    conn: &mut sqlx::AnyConnection,
    id: PendingActionId,
    decider: PersonId,
    approve: bool,
    context: &AuditContext,
) -> StoreResult<Result<PendingAction, DecisionRefused>> {
    let now = now_micros();
    let status = if approve {
        ActionStatus::Approved
    } else {
        ActionStatus::Rejected
    };
    let updated = sqlx::query(
        "UPDATE pending_actions SET status = $1, decided_by = $2, decided_at = $3 \
         WHERE id = $4 AND status = 'pending' AND expires_at > $3 AND proposed_by <> $2",
    )
    .bind(status.as_str())
    .bind(decider.to_string())
    .bind(now)
    .bind(id.to_string())
    .execute(&mut *conn)
    .await?;
    let sql = concat!(
        "SELECT ",
        action_columns!(),
        " FROM pending_actions WHERE id = $1"
    );
    let Some(row) = sqlx::query(sql)
        .bind(id.to_string())
        .fetch_optional(&mut *conn)
        .await?
    else {
        return Ok(Err(DecisionRefused::NotFound));
    };
    let pending = from_row(&row)?;
    if updated.rows_affected() == 0 {
        let refused = if pending.status != ActionStatus::Pending {
            DecisionRefused::NotPending(pending.status)
        } else if pending.proposed_by == decider {
            DecisionRefused::OwnProposal
        } else {
            DecisionRefused::Expired
        };
        return Ok(Err(refused));
    }
    let event_type = if approve {
        "approval.approved"
    } else {
        "approval.rejected"
    };
    let event = event(context, event_type, &pending).change(
        "decided_by",
        serde_json::Value::Null,
        decider.to_string().into(),
    );
    crate::audit::record(conn, &event).await?;
    Ok(Ok(pending))
}

/// An approved action's change, in the approval's transaction, with the change's own event.
async fn apply(
    conn: &mut sqlx::AnyConnection,
    pending: &PendingAction,
    decider: PersonId,
    context: &AuditContext,
) -> StoreResult<()> {
    match pending.action {
        Action::DisableRequireMtls { tenant } => {
            crate::tenant_certs::set_require_mtls_in(conn, tenant, false, context).await
        }
        Action::ChangeTier { tenant, tier } => {
            crate::tenants::set_tier_in(conn, tenant, tier, context).await
        }
        Action::GrantRole { person, role } => {
            let roles: String = sqlx::query("SELECT roles FROM people WHERE id = $1")
                .bind(person.to_string())
                .fetch_optional(&mut *conn)
                .await?
                .ok_or(StoreError::NotFound)?
                .try_get("roles")?;
            let roles: benteng_core::roles::Roles = roles
                .parse()
                .map_err(|_| StoreError::Corrupt("person roles".to_owned()))?;
            crate::people::set_roles_in(conn, person, roles.with(role), context)
                .await
                .map(|_| ())
        }
        Action::ChangeKycLevel { tenant, level } => {
            crate::kyc::change_level_in(conn, tenant, level, (pending, decider), context).await
        }
        // Moves money: applied by the payments layer in its move's transaction, never here.
        Action::DecideHeldTransfer { .. } => Err(StoreError::Conflict),
        // Decided on its case, with the approver's comment: `Store::approve_hit_confirmation`.
        Action::ConfirmScreeningHit { .. } => Err(StoreError::Conflict),
        Action::ApproveReport { report, version } => {
            crate::reports::approve_in(conn, pending, report, version, decider, context).await
        }
    }
}
