//! Working a case by hand: a comment, its status, who works it, and reopening it once closed.
//! Decisions (a held transfer's four-eyes decision, closing with an outcome) live in
//! [`crate::cases`]; what is changed here moves no money, so one person does it (the route
//! checks their permission: `reviews:decide`).

use benteng_core::audit::AuditContext;
use benteng_core::cases::CaseStatus;
use benteng_core::ids::{CaseId, PersonId};
use benteng_core::roles::Permission;
use benteng_store::{CaseChange, CaseChangeRefused, CaseEvent, PersonStatus, StoreError};

use crate::cases::{CaseComment, not_found};
use crate::{Payments, Refusal};

/// A change someone asks for, with their comment (required where it says why).
#[derive(Debug, Clone)]
pub enum CaseWork {
    Comment(CaseComment),
    Status(CaseStatus, Option<CaseComment>),
    /// `None`: nobody works it.
    Assign(Option<PersonId>, Option<CaseComment>),
    Reopen(CaseComment),
}

impl Payments {
    /// Makes `work` on `case` as `audit`'s actor: the change, its log entry and its audit event
    /// in one transaction. A closed case takes no change but reopening.
    pub async fn work_case(
        &self,
        case: CaseId,
        work: &CaseWork,
        audit: &AuditContext,
    ) -> Result<(), Refusal> {
        let now = self.clock.now();
        let (change, kind, comment, data) = match work {
            CaseWork::Comment(comment) => (CaseChange::Comment, "commented", Some(comment), None),
            CaseWork::Status(status, comment) => {
                if *status == CaseStatus::Closed {
                    return Err(Refusal::invalid(
                        "status",
                        "invalid_value",
                        "must be open, investigating or waiting: a case closes by its decision",
                    ));
                }
                let data = serde_json::json!({"status": status.as_str()});
                (
                    CaseChange::Status(*status),
                    "status_changed",
                    comment.as_ref(),
                    Some(data),
                )
            }
            CaseWork::Assign(person, comment) => {
                if let Some(person) = person {
                    self.check_assignable(*person).await?;
                }
                let data = serde_json::json!({"assignee": person.map(|p| p.to_string())});
                (
                    CaseChange::Assignee(*person),
                    "assigned",
                    comment.as_ref(),
                    Some(data),
                )
            }
            CaseWork::Reopen(comment) => {
                let row = self.store.case(case).await.map_err(not_found)?;
                let sla_due_at = now + self.cases.sla_of(&row.inbox);
                (
                    CaseChange::Reopen { sla_due_at },
                    "reopened",
                    Some(comment),
                    None,
                )
            }
        };
        if let Some(comment) = comment {
            crate::reviews::check_reason(comment)?;
        }
        let event = CaseEvent {
            at: now,
            actor: audit.actor.clone(),
            kind: kind.to_owned(),
            comment: comment.map(|c| c.as_str().to_owned()),
            data: data.map(|d| d.to_string()),
        };
        match self
            .store
            .change_case(case, change, &event, audit)
            .await
            .map_err(not_found)?
        {
            Ok(()) => Ok(()),
            Err(CaseChangeRefused::Closed) => Err(Refusal::CaseClosed),
            Err(CaseChangeRefused::NotReopenable) => Err(Refusal::CaseNotReopenable),
        }
    }

    /// A case is worked by an active member of staff who may decide cases.
    async fn check_assignable(&self, person: PersonId) -> Result<(), Refusal> {
        let refused = || {
            Refusal::invalid(
                "assignee",
                "not_assignable",
                "must be an active member of staff who may decide cases",
            )
        };
        let row = match self.store.person(person).await {
            Ok(row) => row,
            Err(StoreError::NotFound) => return Err(refused()),
            Err(other) => return Err(other.into()),
        };
        if row.tenant.is_some()
            || row.status != PersonStatus::Active
            || !row.roles.permits(Permission::ReviewsDecide)
        {
            return Err(refused());
        }
        Ok(())
    }
}
