//! Confirmed screening hits (migration 0030): a party whose hit was confirmed as a true match
//! on its screening case (four eyes) is blocked for every future transfer until a compliance
//! officer clears it. The block, the case's closing as a true positive and its log entries are
//! written in the approval's transaction.

use benteng_core::approvals::Action;
use benteng_core::audit::{AuditContext, AuditEvent, Retention};
use benteng_core::cases::{CaseOutcome, CaseSubject};
use benteng_core::ids::{CaseId, PendingActionId, PersonId, RecipientId, TenantId};
use sqlx::any::AnyRow;
use sqlx::{AnyConnection, Row};
use time::OffsetDateTime;

use crate::approvals::{DecisionRefused, PendingAction};
use crate::cases::CaseEvent;
use crate::rows::{optional_time_at, parsed, time_at, to_micros};
use crate::{Store, StoreError, StoreResult};

/// A block, in force or cleared.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScreeningBlock {
    pub id: String,
    pub party_type: String,
    pub party_id: String,
    pub case_id: CaseId,
    pub proposed_by: PersonId,
    pub approved_by: PersonId,
    pub blocked_at: OffsetDateTime,
    pub cleared_by: Option<PersonId>,
    pub cleared_at: Option<OffsetDateTime>,
    pub clear_reason: Option<String>,
}

macro_rules! block_columns {
    () => {
        "id, party_type, party_id, case_id, proposed_by, approved_by, blocked_at, cleared_by, \
         cleared_at, clear_reason"
    };
}

fn block_from_row(row: &AnyRow) -> StoreResult<ScreeningBlock> {
    let cleared_by: Option<String> = row.try_get("cleared_by")?;
    Ok(ScreeningBlock {
        id: row.try_get("id")?,
        party_type: row.try_get("party_type")?,
        party_id: row.try_get("party_id")?,
        case_id: parsed(row, "case_id")?,
        proposed_by: parsed(row, "proposed_by")?,
        approved_by: parsed(row, "approved_by")?,
        blocked_at: time_at(row, "blocked_at")?,
        cleared_by: cleared_by
            .map(|p| p.parse())
            .transpose()
            .map_err(|_| StoreError::Corrupt("screening block cleared_by".to_owned()))?,
        cleared_at: optional_time_at(row, "cleared_at")?,
        clear_reason: row.try_get("clear_reason")?,
    })
}

/// Applies an approved `ConfirmScreeningHit` in the approval's transaction: the case must be
/// an open screening case (else `Conflict`, and the approval rolls back with it); its party is
/// blocked (a party already blocked: `Conflict`), the case closes as a true positive, its log
/// names the proposer and the approver, and the block is audited for staff only.
async fn block_in(
    conn: &mut AnyConnection,
    case: CaseId,
    pending: &PendingAction,
    decider: PersonId,
    comment: &str,
    context: &AuditContext,
) -> StoreResult<()> {
    let row = sqlx::query("SELECT subject, party_kind, party_id, status FROM cases WHERE id = $1")
        .bind(case.to_string())
        .fetch_optional(&mut *conn)
        .await?
        .ok_or(StoreError::NotFound)?;
    let subject: CaseSubject = parsed(&row, "subject")?;
    let status: String = row.try_get("status")?;
    if subject != CaseSubject::Screening || status == "closed" {
        return Err(StoreError::Conflict);
    }
    let party_type: String = row.try_get("party_kind")?;
    let party_id: String = row.try_get("party_id")?;
    let now = OffsetDateTime::now_utc();
    let at = to_micros(now);
    let id = uuid::Uuid::now_v7().to_string();
    sqlx::query(concat!(
        "INSERT INTO screening_blocks (",
        block_columns!(),
        ") VALUES ($1, $2, $3, $4, $5, $6, $7, NULL, NULL, NULL)"
    ))
    .bind(&id)
    .bind(&party_type)
    .bind(&party_id)
    .bind(case.to_string())
    .bind(pending.proposed_by.to_string())
    .bind(decider.to_string())
    .bind(at)
    .execute(&mut *conn)
    .await
    .map_err(StoreError::from_write)?;
    let outcome = CaseOutcome::TruePositive;
    sqlx::query(
        "UPDATE cases SET status = 'closed', outcome = $1, closed_at = $2, updated_at = $2 \
         WHERE id = $3 AND status <> 'closed'",
    )
    .bind(outcome.as_str())
    .bind(at)
    .bind(case.to_string())
    .execute(&mut *conn)
    .await?;
    let data = serde_json::json!({
        "decision": "confirm_hit",
        "proposal": pending.id.to_string(),
        "proposed_by": pending.proposed_by.to_string(),
        "approved_by": decider.to_string(),
        "block": id,
    });
    for (kind, comment, data) in [
        ("decision_approved", Some(comment.to_owned()), data),
        (
            "closed",
            None,
            serde_json::json!({"outcome": outcome.as_str()}),
        ),
    ] {
        let event = CaseEvent {
            at: now,
            actor: context.actor.clone(),
            kind: kind.to_owned(),
            comment,
            data: Some(data.to_string()),
        };
        crate::cases::append_event_in(conn, case, &event).await?;
    }
    // Staff only: a tenant reading its trail must not learn that it or its payee matched.
    let event = AuditEvent::new(
        &context.staff_only(),
        "screening.party_blocked",
        Retention::Security,
        ("screening_block", id.clone()),
    )
    .at(now)
    .change(
        "party",
        serde_json::Value::Null,
        format!("{party_type}:{party_id}").into(),
    )
    .change("case", serde_json::Value::Null, case.to_string().into())
    .change(
        "proposed_by",
        serde_json::Value::Null,
        pending.proposed_by.to_string().into(),
    )
    .change(
        "approved_by",
        serde_json::Value::Null,
        decider.to_string().into(),
    );
    crate::audit::record(conn, &event).await
}

impl Store {
    /// Approves a screening hit's confirmation (the four-eyes request is spent: a conditional
    /// update refusing its proposer and a second decider) and applies it with `comment`, in
    /// one transaction. The inner `Err` says why the decision was refused; `Conflict` when the
    /// case is no open screening case or its party is blocked already.
    pub async fn approve_hit_confirmation(
        &self,
        proposal: PendingActionId,
        decider: PersonId,
        comment: &str,
        context: &AuditContext,
    ) -> StoreResult<Result<PendingAction, DecisionRefused>> {
        let mut tx = self.pool.begin().await?;
        let decided = crate::approvals::claim_in(&mut tx, proposal, decider, true, context).await?;
        let Ok(pending) = decided else {
            return Ok(decided);
        };
        let Action::ConfirmScreeningHit { case } = pending.action else {
            return Err(StoreError::Conflict);
        };
        block_in(&mut tx, case, &pending, decider, comment, context).await?;
        tx.commit().await?;
        Ok(Ok(pending))
    }

    /// Whether the tenant or the recipient of a transfer is blocked by a confirmed hit.
    pub async fn transfer_party_blocked(
        &self,
        tenant: TenantId,
        recipient: RecipientId,
    ) -> StoreResult<bool> {
        let row = sqlx::query(
            "SELECT 1 AS blocked FROM screening_blocks WHERE cleared_at IS NULL AND \
             ((party_type = 'tenant' AND party_id = $1) OR \
              (party_type = 'recipient' AND party_id = $2)) LIMIT 1",
        )
        .bind(tenant.to_string())
        .bind(recipient.to_string())
        .fetch_optional(&self.pool)
        .await?;
        Ok(row.is_some())
    }

    /// The block in force on a party, if any.
    pub async fn screening_block_of(
        &self,
        party_type: &str,
        party_id: &str,
    ) -> StoreResult<Option<ScreeningBlock>> {
        sqlx::query(concat!(
            "SELECT ",
            block_columns!(),
            " FROM screening_blocks WHERE party_type = $1 AND party_id = $2 \
             AND cleared_at IS NULL"
        ))
        .bind(party_type)
        .bind(party_id)
        .fetch_optional(&self.pool)
        .await?
        .map(|row| block_from_row(&row))
        .transpose()
    }

    /// Blocks in force, newest first (at most 500).
    pub async fn screening_blocks(&self) -> StoreResult<Vec<ScreeningBlock>> {
        sqlx::query(concat!(
            "SELECT ",
            block_columns!(),
            " FROM screening_blocks WHERE cleared_at IS NULL ORDER BY blocked_at DESC, id \
             LIMIT 500"
        ))
        .fetch_all(&self.pool)
        .await?
        .iter()
        .map(block_from_row)
        .collect()
    }

    /// Clears a block in force, naming who and why, with the audit event and the entry on
    /// its case's log, in one transaction; `Ok(None)` when it is not in force (cleared
    /// already, or no such block).
    pub async fn clear_screening_block(
        &self,
        id: &str,
        by: PersonId,
        reason: &str,
        at: OffsetDateTime,
        context: &AuditContext,
    ) -> StoreResult<Option<ScreeningBlock>> {
        let mut tx = self.pool.begin().await?;
        let cleared = sqlx::query(
            "UPDATE screening_blocks SET cleared_by = $1, cleared_at = $2, clear_reason = $3 \
             WHERE id = $4 AND cleared_at IS NULL",
        )
        .bind(by.to_string())
        .bind(to_micros(at))
        .bind(reason)
        .bind(id)
        .execute(&mut *tx)
        .await?;
        if cleared.rows_affected() == 0 {
            return Ok(None);
        }
        let row = sqlx::query(concat!(
            "SELECT ",
            block_columns!(),
            " FROM screening_blocks WHERE id = $1"
        ))
        .bind(id)
        .fetch_one(&mut *tx)
        .await?;
        let block = block_from_row(&row)?;
        let event = CaseEvent {
            at,
            actor: context.actor.clone(),
            kind: "block_cleared".to_owned(),
            comment: Some(reason.to_owned()),
            data: Some(serde_json::json!({"block": id}).to_string()),
        };
        crate::cases::append_event_in(&mut tx, block.case_id, &event).await?;
        let audit = AuditEvent::new(
            &context.staff_only(),
            "screening.block_cleared",
            Retention::Security,
            ("screening_block", id.to_owned()),
        )
        .at(at)
        .change(
            "party",
            serde_json::Value::Null,
            format!("{}:{}", block.party_type, block.party_id).into(),
        )
        .change("reason", serde_json::Value::Null, reason.into());
        crate::audit::record(&mut tx, &audit).await?;
        tx.commit().await?;
        Ok(Some(block))
    }
}
