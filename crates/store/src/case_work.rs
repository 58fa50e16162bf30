//! Working a case between its opening and its decision: a comment, a status (open,
//! investigating, waiting), an assignee, and reopening a closed case. Each is one conditional
//! update (so two people at once cannot both win a state they each read), its log entry and its
//! audit event, in one transaction. A closed case is never edited: only reopened.

use benteng_core::audit::{AuditContext, AuditEvent, Retention};
use benteng_core::cases::CaseStatus;
use benteng_core::ids::{CaseId, PersonId};
use time::OffsetDateTime;

use crate::cases::{CaseEvent, append_event_in};
use crate::rows::to_micros;
use crate::{Store, StoreError, StoreResult};

/// What a person changes on a case.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CaseChange {
    /// Only the log entry (its comment).
    Comment,
    /// Open, investigating or waiting; closing is a decision, not a change.
    Status(CaseStatus),
    /// Someone to work it, or nobody.
    Assignee(Option<PersonId>),
    /// A closed case opens again, due anew; its old outcome stays in the log.
    Reopen { sla_due_at: OffsetDateTime },
}

impl CaseChange {
    /// The audit event's type.
    fn audit_type(self) -> &'static str {
        match self {
            CaseChange::Comment => "case.commented",
            CaseChange::Status(_) => "case.status_changed",
            CaseChange::Assignee(_) => "case.assigned",
            CaseChange::Reopen { .. } => "case.reopened",
        }
    }
}

/// Why a change was not made.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CaseChangeRefused {
    /// The case is closed: reopen it first.
    Closed,
    /// Reopening a case that is not closed, or whose party has another open case of the
    /// subject (a party has one open case per subject).
    NotReopenable,
}

impl Store {
    /// Makes `change` on `case` with its log entry `event` and its audit event (staff only,
    /// never filed under the tenant), in one transaction. `NotFound` for no such case.
    pub async fn change_case(
        &self,
        case: CaseId,
        change: CaseChange,
        event: &CaseEvent,
        context: &AuditContext,
    ) -> StoreResult<Result<(), CaseChangeRefused>> {
        // The update applies to the case as read (its `updated_at` unchanged), so the audit
        // event's "before" is true; a change in between is read again.
        for _ in 0..5 {
            let before = self.case(case).await?;
            let reopening = matches!(change, CaseChange::Reopen { .. });
            if reopening != (before.status == CaseStatus::Closed) {
                return Ok(Err(if reopening {
                    CaseChangeRefused::NotReopenable
                } else {
                    CaseChangeRefused::Closed
                }));
            }
            let mut tx = self.pool.begin().await?;
            let (status, assignee, sla_due_at) = match change {
                CaseChange::Comment => (before.status, before.assignee, before.sla_due_at),
                CaseChange::Status(status) => (status, before.assignee, before.sla_due_at),
                CaseChange::Assignee(person) => (before.status, person, before.sla_due_at),
                CaseChange::Reopen { sla_due_at } => {
                    (CaseStatus::Open, before.assignee, sla_due_at)
                }
            };
            let updated = sqlx::query(
                "UPDATE cases SET status = $1, assignee = $2, sla_due_at = $3, outcome = NULL, \
                 closed_at = NULL, updated_at = $4, sla_missed_at = CASE WHEN $7 = 1 THEN NULL \
                 ELSE sla_missed_at END WHERE id = $5 AND updated_at = $6",
            )
            .bind(status.as_str())
            .bind(assignee.map(|p| p.to_string()))
            .bind(to_micros(sla_due_at))
            .bind(to_micros(event.at))
            .bind(case.to_string())
            .bind(to_micros(before.updated_at))
            // A reopened case is due anew: a miss of its old due time is no longer news.
            .bind(i64::from(reopening))
            .execute(&mut *tx)
            .await;
            let updated = match updated {
                Ok(done) => done.rows_affected() == 1,
                // Another open case of the party and subject holds the partial unique index.
                Err(error) => match StoreError::from_write(error) {
                    StoreError::Conflict => return Ok(Err(CaseChangeRefused::NotReopenable)),
                    other => return Err(other),
                },
            };
            if !updated {
                continue;
            }
            append_event_in(&mut tx, case, event).await?;
            let audit = AuditEvent::new(
                &context.staff_only(),
                change.audit_type(),
                Retention::Security,
                ("case", case.to_string()),
            )
            .at(event.at);
            let audit = match change {
                CaseChange::Comment => audit,
                CaseChange::Status(status) => audit.change(
                    "status",
                    before.status.as_str().into(),
                    status.as_str().into(),
                ),
                CaseChange::Assignee(person) => audit.change(
                    "assignee",
                    before.assignee.map(|p| p.to_string()).into(),
                    person.map(|p| p.to_string()).into(),
                ),
                CaseChange::Reopen { .. } => audit
                    .change("status", "closed".into(), "open".into())
                    .change(
                        "outcome",
                        before.outcome.map(|o| o.as_str()).into(),
                        serde_json::Value::Null,
                    ),
            };
            crate::audit::record(&mut tx, &audit).await?;
            tx.commit().await?;
            return Ok(Ok(()));
        }
        Err(StoreError::Conflict)
    }
}
