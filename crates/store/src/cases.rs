//! Compliance cases (migration 0021): one party's open matters of one subject, their items and
//! an append-only event log. A held transfer opens or joins its case in the transfer's own
//! transaction (`PaymentWrite::transfer`); a decision on it closes the case in the move's
//! transaction (`move_transfer`), together with the four-eyes approval it carries.

use benteng_core::api_key::KeyEnvironment;
use benteng_core::audit::{AuditContext, AuditEvent, Retention};
use benteng_core::cases::{
    CaseOutcome, CaseStatus, CaseSubject, DUE_SOON_HOURS, InboxName, InboxSort, SlaState,
};
use benteng_core::country::CountryCode;
use benteng_core::currency::Currency;
use benteng_core::ids::{CaseId, PendingActionId, PersonId, TenantId, TransferId};
use sqlx::any::AnyRow;
use sqlx::{AnyConnection, Row};
use time::{Duration, OffsetDateTime};

use crate::approvals::{DecisionRefused, PendingAction};
use crate::rows::{Statement, optional_time_at, parsed, time_at, to_micros};
use crate::{Store, StoreError, StoreResult};

/// A matter that opens a case, or joins the open one of its party and subject.
#[derive(Debug, Clone)]
pub struct CaseOpening {
    pub subject: CaseSubject,
    /// `recipient` or `tenant`.
    pub party_kind: &'static str,
    pub party_id: String,
    pub tenant_id: TenantId,
    pub environment: KeyEnvironment,
    pub inbox: String,
    /// The matter's risk score: the case keeps the highest of its matters'.
    pub priority: u8,
    /// When a new case is due (a joined case keeps its own).
    pub sla_due_at: OffsetDateTime,
    /// `transfer`, `alert`, `screening_hit` or `kyc_upgrade`.
    pub item_kind: &'static str,
    pub item_id: String,
    pub at: OffsetDateTime,
}

/// A case as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CaseRow {
    pub id: CaseId,
    pub subject: CaseSubject,
    pub party_kind: String,
    pub party_id: String,
    pub tenant_id: TenantId,
    pub environment: KeyEnvironment,
    pub inbox: String,
    pub status: CaseStatus,
    pub outcome: Option<CaseOutcome>,
    pub assignee: Option<PersonId>,
    pub priority: u8,
    pub sla_due_at: OffsetDateTime,
    pub opened_at: OffsetDateTime,
    pub updated_at: OffsetDateTime,
    pub closed_at: Option<OffsetDateTime>,
    /// When the SLA clock recorded that the case missed its current due time.
    pub sla_missed_at: Option<OffsetDateTime>,
}

/// A case the SLA clock has something to record for: where it is and when it was due.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CaseDue {
    pub id: CaseId,
    pub inbox: String,
    pub sla_due_at: OffsetDateTime,
}

/// One entry of a case's log: who, when, what, and their comment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CaseEvent {
    pub at: OffsetDateTime,
    /// The audit actor: `staff:LOGIN`, `system`…
    pub actor: String,
    /// `opened`, `item_added`, `assigned`, `decision_proposed`, `decision_approved`,
    /// `decision_rejected`, `closed`, `sla_missed`, `escalated`.
    pub kind: String,
    pub comment: Option<String>,
    /// Structured details (JSON), e.g. the transfer and decision of a proposal.
    pub data: Option<String>,
}

/// A case item: the kind of matter and its id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CaseItem {
    pub kind: String,
    pub item_id: String,
    pub added_at: OffsetDateTime,
}

/// A held transfer's decision, written in the move's transaction: the four-eyes approval it
/// carries (claimed there, so it is spent exactly once), the case's log, and the case closed
/// when none of its transfers is held any more.
#[derive(Debug, Clone)]
pub struct CaseDecisionWrite {
    pub case: CaseId,
    pub approval: Option<(PendingActionId, PersonId)>,
    pub outcome: CaseOutcome,
    pub events: Vec<CaseEvent>,
    pub context: AuditContext,
}

/// Whose cases an inbox listing shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AssigneeFilter {
    /// Cases nobody has taken.
    Unassigned,
    /// Cases assigned to this person.
    Person(PersonId),
}

/// Which cases an inbox listing shows: every filter given must hold.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InboxQuery {
    /// `None`: every case not closed.
    pub status: Option<CaseStatus>,
    /// Cases not closed in this SLA state at `now` (a closed case has none, so with
    /// `status` closed nothing is listed; the operator API refuses that pair).
    pub sla: Option<SlaState>,
    /// Priority (the highest risk score of its matters) at least this.
    pub min_score: Option<u8>,
    /// Cases holding a transfer to a recipient in this country.
    pub country: Option<CountryCode>,
    /// Cases holding a transfer paid out in this currency (with `country`: the same transfer).
    pub currency: Option<Currency>,
    pub inbox: Option<InboxName>,
    pub assignee: Option<AssigneeFilter>,
    pub sort: InboxSort,
    pub limit: u32,
    /// When SLA states are judged.
    pub now: OffsetDateTime,
}

impl InboxQuery {
    /// Every case not closed, soonest SLA first, at most `limit`.
    pub fn new(now: OffsetDateTime, limit: u32) -> Self {
        Self {
            status: None,
            sla: None,
            min_score: None,
            country: None,
            currency: None,
            inbox: None,
            assignee: None,
            sort: InboxSort::Sla,
            limit,
            now,
        }
    }
}

/// Open cases by age: opened under a day ago, one to three days, three to seven, seven or more.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct CaseAges {
    pub under_1_day: i64,
    pub days_1_to_3: i64,
    pub days_3_to_7: i64,
    pub over_7_days: i64,
}

/// How many cases were closed with one outcome on one day.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClosedOnDay {
    /// Whole days after the `since` the query was given (0: the first day).
    pub day: i64,
    pub outcome: CaseOutcome,
    pub count: i64,
}

/// A value bound to an inbox listing's optional condition, in the statement's order.
enum Bound {
    Text(String),
    Int(i64),
}

macro_rules! case_columns {
    () => {
        "id, subject, party_kind, party_id, tenant_id, environment, inbox, status, outcome, \
         assignee, priority, sla_due_at, opened_at, updated_at, closed_at, sla_missed_at"
    };
}

fn rfc3339(at: OffsetDateTime) -> StoreResult<String> {
    at.format(&time::format_description::well_known::Rfc3339)
        .map_err(|_| corrupt("time"))
}

fn corrupt(what: &str) -> StoreError {
    StoreError::Corrupt(format!("case {what}"))
}

fn case_from_row(row: &AnyRow) -> StoreResult<CaseRow> {
    let outcome: Option<String> = row.try_get("outcome")?;
    let assignee: Option<String> = row.try_get("assignee")?;
    let priority: i64 = row.try_get("priority")?;
    Ok(CaseRow {
        id: parsed(row, "id")?,
        subject: parsed(row, "subject")?,
        party_kind: row.try_get("party_kind")?,
        party_id: row.try_get("party_id")?,
        tenant_id: parsed(row, "tenant_id")?,
        environment: parsed(row, "environment")?,
        inbox: row.try_get("inbox")?,
        status: parsed(row, "status")?,
        outcome: outcome
            .map(|o| o.parse())
            .transpose()
            .map_err(|_| corrupt("outcome"))?,
        assignee: assignee
            .map(|a| a.parse())
            .transpose()
            .map_err(|_| corrupt("assignee"))?,
        priority: u8::try_from(priority).map_err(|_| corrupt("priority"))?,
        sla_due_at: time_at(row, "sla_due_at")?,
        opened_at: time_at(row, "opened_at")?,
        updated_at: time_at(row, "updated_at")?,
        closed_at: optional_time_at(row, "closed_at")?,
        sla_missed_at: optional_time_at(row, "sla_missed_at")?,
    })
}

/// Appends `event` to the case's log.
pub(crate) async fn append_event_in(
    conn: &mut AnyConnection,
    case: CaseId,
    event: &CaseEvent,
) -> StoreResult<()> {
    sqlx::query(
        "INSERT INTO case_events (case_id, seq, at, actor, kind, comment, data) VALUES ($1, \
         (SELECT COALESCE(MAX(seq), 0) + 1 FROM case_events WHERE case_id = $1), \
         $2, $3, $4, $5, $6)",
    )
    .bind(case.to_string())
    .bind(to_micros(event.at))
    .bind(&event.actor)
    .bind(&event.kind)
    .bind(event.comment.as_deref())
    .bind(event.data.as_deref())
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// Appends `event` to the log of the case item (`kind`, `item_id`) belongs to, if it has one
/// (a matter recorded before cases existed has none). Returns the case.
pub(crate) async fn log_on_item_case_in(
    conn: &mut AnyConnection,
    kind: &str,
    item_id: &str,
    event: &CaseEvent,
) -> StoreResult<Option<CaseId>> {
    let row = sqlx::query("SELECT case_id FROM case_items WHERE kind = $1 AND item_id = $2")
        .bind(kind)
        .bind(item_id)
        .fetch_optional(&mut *conn)
        .await?;
    let Some(row) = row else {
        return Ok(None);
    };
    let case: CaseId = parsed(&row, "case_id")?;
    append_event_in(conn, case, event).await?;
    sqlx::query("UPDATE cases SET updated_at = $1 WHERE id = $2")
        .bind(to_micros(event.at))
        .bind(case.to_string())
        .execute(&mut *conn)
        .await?;
    Ok(Some(case))
}

/// Opens the matter's case or joins the open one of its party and subject; returns the case.
/// Audited (`case.opened` or `case.item_added`, by `context`'s actor).
pub(crate) async fn open_or_join_in(
    conn: &mut AnyConnection,
    opening: &CaseOpening,
    context: &AuditContext,
) -> StoreResult<CaseId> {
    let at = to_micros(opening.at);
    let new_id = CaseId::new();
    // The partial unique index makes a concurrent opener join instead.
    let opened = sqlx::query(
        "INSERT INTO cases (id, subject, party_kind, party_id, tenant_id, environment, inbox, \
         status, priority, sla_due_at, opened_at, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, 'open', $8, $9, $10, $10) \
         ON CONFLICT (party_kind, party_id, subject) WHERE status <> 'closed' DO NOTHING",
    )
    .bind(new_id.to_string())
    .bind(opening.subject.as_str())
    .bind(opening.party_kind)
    .bind(&opening.party_id)
    .bind(opening.tenant_id.to_string())
    .bind(opening.environment.as_str())
    .bind(&opening.inbox)
    .bind(i64::from(opening.priority))
    .bind(to_micros(opening.sla_due_at))
    .bind(at)
    .execute(&mut *conn)
    .await?
    .rows_affected()
        == 1;
    let case: CaseId = if opened {
        new_id
    } else {
        let row = sqlx::query(
            "SELECT id FROM cases WHERE party_kind = $1 AND party_id = $2 AND subject = $3 \
             AND status <> 'closed'",
        )
        .bind(opening.party_kind)
        .bind(&opening.party_id)
        .bind(opening.subject.as_str())
        .fetch_one(&mut *conn)
        .await?;
        let id: CaseId = parsed(&row, "id")?;
        sqlx::query(
            "UPDATE cases SET priority = CASE WHEN priority < $1 THEN $1 ELSE priority END, \
             updated_at = $2 WHERE id = $3",
        )
        .bind(i64::from(opening.priority))
        .bind(at)
        .bind(id.to_string())
        .execute(&mut *conn)
        .await?;
        id
    };
    sqlx::query(
        "INSERT INTO case_items (case_id, kind, item_id, added_at) VALUES ($1, $2, $3, $4)",
    )
    .bind(case.to_string())
    .bind(opening.item_kind)
    .bind(&opening.item_id)
    .bind(at)
    .execute(&mut *conn)
    .await?;
    let kind = if opened { "opened" } else { "item_added" };
    let data = serde_json::json!({"kind": opening.item_kind, "id": opening.item_id});
    append_event_in(
        conn,
        case,
        &CaseEvent {
            at: opening.at,
            actor: context.actor.clone(),
            kind: kind.to_owned(),
            comment: None,
            data: Some(data.to_string()),
        },
    )
    .await?;
    // Staff-only: not filed under the tenant (no tip-off).
    let staff_only = context.staff_only();
    let event = AuditEvent::new(
        &staff_only,
        if opened {
            "case.opened"
        } else {
            "case.item_added"
        },
        Retention::Security,
        ("case", case.to_string()),
    )
    .at(opening.at)
    .change("item", serde_json::Value::Null, data);
    crate::audit::record(conn, &event).await?;
    Ok(case)
}

/// Writes a held transfer's decision in the move's transaction. `Conflict` when the approval
/// it carries was decided (or expired) in the meantime: the whole move is rolled back.
pub(crate) async fn apply_decision_in(
    conn: &mut AnyConnection,
    decision: &CaseDecisionWrite,
    at: OffsetDateTime,
) -> StoreResult<()> {
    if let Some((pending, decider)) = decision.approval
        && crate::approvals::claim_in(conn, pending, decider, true, &decision.context)
            .await?
            .is_err()
    {
        return Err(StoreError::Conflict);
    }
    for event in &decision.events {
        append_event_in(conn, decision.case, event).await?;
    }
    let at = to_micros(at);
    let closed = sqlx::query(
        "UPDATE cases SET status = 'closed', outcome = $1, closed_at = $2, updated_at = $2 \
         WHERE id = $3 AND status <> 'closed' AND NOT EXISTS (SELECT 1 FROM case_items i \
         JOIN transfers t ON t.id = i.item_id WHERE i.case_id = $3 AND i.kind = 'transfer' \
         AND t.status = 'PENDING_REVIEW')",
    )
    .bind(decision.outcome.as_str())
    .bind(at)
    .bind(decision.case.to_string())
    .execute(&mut *conn)
    .await?;
    if closed.rows_affected() == 1 {
        append_event_in(
            conn,
            decision.case,
            &CaseEvent {
                at: crate::rows::from_micros(at)?,
                actor: decision.context.actor.clone(),
                kind: "closed".to_owned(),
                comment: None,
                data: Some(serde_json::json!({"outcome": decision.outcome.as_str()}).to_string()),
            },
        )
        .await?;
    } else {
        sqlx::query("UPDATE cases SET updated_at = $1 WHERE id = $2")
            .bind(at)
            .bind(decision.case.to_string())
            .execute(&mut *conn)
            .await?;
    }
    Ok(())
}

fn case_due_from_row(row: &AnyRow) -> StoreResult<CaseDue> {
    Ok(CaseDue {
        id: parsed(row, "id")?,
        inbox: row.try_get("inbox")?,
        sla_due_at: time_at(row, "sla_due_at")?,
    })
}

impl Store {
    /// Cases not closed whose SLA was due at or before `now` and whose miss is not recorded
    /// yet, longest overdue first, at most `limit`.
    pub async fn cases_missing_sla(
        &self,
        now: OffsetDateTime,
        limit: u32,
    ) -> StoreResult<Vec<CaseDue>> {
        sqlx::query(
            "SELECT id, inbox, sla_due_at FROM cases WHERE status <> 'closed' \
             AND sla_due_at <= $1 AND sla_missed_at IS NULL ORDER BY sla_due_at, id LIMIT $2",
        )
        .bind(to_micros(now))
        .bind(i64::from(limit))
        .fetch_all(&self.pool)
        .await?
        .iter()
        .map(case_due_from_row)
        .collect()
    }

    /// Records that `case` missed its SLA (still in its inbox, due when it was read, not
    /// closed, not recorded yet): the mark, the `sla_missed` log entry and the
    /// `case.sla_missed` audit event, in one transaction. The update is conditional, so of
    /// several instances running the clock exactly one records it; `Ok(false)` for the others
    /// (and when the case closed or moved meanwhile).
    pub async fn record_sla_miss(
        &self,
        case: &CaseDue,
        at: OffsetDateTime,
        context: &AuditContext,
    ) -> StoreResult<bool> {
        let mut tx = self.pool.begin().await?;
        let marked = sqlx::query(
            "UPDATE cases SET sla_missed_at = $1 WHERE id = $2 AND inbox = $3 \
             AND sla_due_at = $4 AND sla_due_at <= $1 AND sla_missed_at IS NULL \
             AND status <> 'closed'",
        )
        .bind(to_micros(at))
        .bind(case.id.to_string())
        .bind(&case.inbox)
        .bind(to_micros(case.sla_due_at))
        .execute(&mut *tx)
        .await?;
        if marked.rows_affected() != 1 {
            return Ok(false);
        }
        let due = rfc3339(case.sla_due_at)?;
        let data = serde_json::json!({"inbox": case.inbox, "sla_due_at": due});
        append_event_in(
            &mut tx,
            case.id,
            &CaseEvent {
                at,
                actor: context.actor.clone(),
                kind: "sla_missed".to_owned(),
                comment: None,
                data: Some(data.to_string()),
            },
        )
        .await?;
        let audit = AuditEvent::new(
            &context.staff_only(),
            "case.sla_missed",
            Retention::Security,
            ("case", case.id.to_string()),
        )
        .at(at)
        .change("sla_missed", serde_json::Value::Null, data);
        crate::audit::record(&mut tx, &audit).await?;
        tx.commit().await?;
        Ok(true)
    }

    /// Cases in `inbox` not closed whose SLA was due at or before `cutoff` and whose miss is
    /// recorded (so a case's log always has the miss before the escalation), longest overdue
    /// first, at most `limit`.
    pub async fn cases_due_before(
        &self,
        inbox: &str,
        cutoff: OffsetDateTime,
        limit: u32,
    ) -> StoreResult<Vec<CaseDue>> {
        sqlx::query(
            "SELECT id, inbox, sla_due_at FROM cases WHERE status <> 'closed' AND inbox = $1 \
             AND sla_due_at <= $2 AND sla_missed_at IS NOT NULL \
             ORDER BY sla_due_at, id LIMIT $3",
        )
        .bind(inbox)
        .bind(to_micros(cutoff))
        .bind(i64::from(limit))
        .fetch_all(&self.pool)
        .await?
        .iter()
        .map(case_due_from_row)
        .collect()
    }

    /// Moves `case` from its inbox to `to` with the new due time `sla_due_at` (its miss of the
    /// old one forgotten, so a miss of the new one is recorded again): the `escalated` log
    /// entry and the `case.escalated` audit event in the same transaction. Conditional on the
    /// case being where and as due as it was read, its miss recorded, and not closed, so of
    /// several instances exactly one escalates it; `Ok(false)` for the others.
    pub async fn escalate_case(
        &self,
        case: &CaseDue,
        to: &str,
        sla_due_at: OffsetDateTime,
        at: OffsetDateTime,
        context: &AuditContext,
    ) -> StoreResult<bool> {
        let mut tx = self.pool.begin().await?;
        let moved = sqlx::query(
            "UPDATE cases SET inbox = $1, sla_due_at = $2, sla_missed_at = NULL, updated_at = $3 \
             WHERE id = $4 AND inbox = $5 AND sla_due_at = $6 AND sla_missed_at IS NOT NULL \
             AND status <> 'closed'",
        )
        .bind(to)
        .bind(to_micros(sla_due_at))
        .bind(to_micros(at))
        .bind(case.id.to_string())
        .bind(&case.inbox)
        .bind(to_micros(case.sla_due_at))
        .execute(&mut *tx)
        .await?;
        if moved.rows_affected() != 1 {
            return Ok(false);
        }
        let (old_due, new_due) = (rfc3339(case.sla_due_at)?, rfc3339(sla_due_at)?);
        let data = serde_json::json!({"from": case.inbox, "to": to, "sla_due_at": new_due});
        append_event_in(
            &mut tx,
            case.id,
            &CaseEvent {
                at,
                actor: context.actor.clone(),
                kind: "escalated".to_owned(),
                comment: None,
                data: Some(data.to_string()),
            },
        )
        .await?;
        let audit = AuditEvent::new(
            &context.staff_only(),
            "case.escalated",
            Retention::Security,
            ("case", case.id.to_string()),
        )
        .at(at)
        .change("inbox", case.inbox.clone().into(), to.into())
        .change("sla_due_at", old_due.into(), new_due.into());
        crate::audit::record(&mut tx, &audit).await?;
        tx.commit().await?;
        Ok(true)
    }

    /// Open cases per inbox, and how many of them are past their SLA at `now` (for `/metrics`).
    pub async fn case_clocks(&self, now: OffsetDateTime) -> StoreResult<Vec<(String, i64, i64)>> {
        sqlx::query(
            "SELECT inbox, COUNT(*) AS open, \
             SUM(CASE WHEN sla_due_at <= $1 THEN 1 ELSE 0 END) AS overdue \
             FROM cases WHERE status <> 'closed' GROUP BY inbox ORDER BY inbox",
        )
        .bind(to_micros(now))
        .fetch_all(&self.pool)
        .await?
        .iter()
        .map(|row| {
            Ok((
                row.try_get("inbox")?,
                row.try_get("open")?,
                row.try_get::<Option<i64>, _>("overdue")?.unwrap_or(0),
            ))
        })
        .collect()
    }

    pub async fn case(&self, id: CaseId) -> StoreResult<CaseRow> {
        let sql = concat!("SELECT ", case_columns!(), " FROM cases WHERE id = $1");
        let row = sqlx::query(sql)
            .bind(id.to_string())
            .fetch_optional(&self.pool)
            .await?
            .ok_or(StoreError::NotFound)?;
        case_from_row(&row)
    }

    /// The inbox: cases passing every filter of the query (any but closed when it names no
    /// status), soonest SLA or highest priority first.
    pub async fn cases(&self, query: &InboxQuery) -> StoreResult<Vec<CaseRow>> {
        // Static SQL per condition, every value bound (`Statement`).
        let mut sql = Statement::new(concat!("SELECT ", case_columns!(), " FROM cases WHERE "));
        let mut values = Vec::new();
        match query.status {
            Some(status) => {
                sql = sql.bound("status = ");
                values.push(Bound::Text(status.as_str().to_owned()));
            }
            None => sql = sql.then("status <> 'closed'"),
        }
        if let Some(sla) = query.sla {
            let now = to_micros(query.now);
            let soon = to_micros(query.now + Duration::hours(DUE_SOON_HOURS));
            sql = sql.then(" AND status <> 'closed'");
            match sla {
                SlaState::Overdue => {
                    sql = sql.bound(" AND sla_due_at <= ");
                    values.push(Bound::Int(now));
                }
                SlaState::DueSoon => {
                    sql = sql.bound(" AND sla_due_at > ").bound(" AND sla_due_at <= ");
                    values.extend([Bound::Int(now), Bound::Int(soon)]);
                }
                SlaState::OnTime => {
                    sql = sql.bound(" AND sla_due_at > ");
                    values.push(Bound::Int(soon));
                }
            }
        }
        if let Some(score) = query.min_score {
            sql = sql.bound(" AND priority >= ");
            values.push(Bound::Int(i64::from(score)));
        }
        if let Some(inbox) = &query.inbox {
            sql = sql.bound(" AND inbox = ");
            values.push(Bound::Text(inbox.as_str().to_owned()));
        }
        match query.assignee {
            Some(AssigneeFilter::Unassigned) => sql = sql.then(" AND assignee IS NULL"),
            Some(AssigneeFilter::Person(person)) => {
                sql = sql.bound(" AND assignee = ");
                values.push(Bound::Text(person.to_string()));
            }
            None => {}
        }
        if query.country.is_some() || query.currency.is_some() {
            // The corridor is the case's transfers': one of them must go there.
            sql = sql.then(
                " AND EXISTS (SELECT 1 FROM case_items i JOIN transfers t ON t.id = i.item_id \
                 JOIN recipients r ON r.id = t.recipient_id \
                 WHERE i.case_id = cases.id AND i.kind = 'transfer'",
            );
            if let Some(country) = query.country {
                sql = sql.bound(" AND r.country = ");
                values.push(Bound::Text(country.as_str().to_owned()));
            }
            if let Some(currency) = query.currency {
                sql = sql.bound(" AND t.target_currency = ");
                values.push(Bound::Text(currency.code().to_owned()));
            }
            sql = sql.then(")");
        }
        sql = match query.sort {
            InboxSort::Sla => sql.then(" ORDER BY sla_due_at, priority DESC, id"),
            InboxSort::Score => sql.then(" ORDER BY priority DESC, sla_due_at, id"),
        }
        .bound(" LIMIT ");
        values.push(Bound::Int(i64::from(query.limit)));
        let mut statement = sqlx::query(sql.sql());
        for value in values {
            statement = match value {
                Bound::Text(text) => statement.bind(text),
                Bound::Int(number) => statement.bind(number),
            };
        }
        statement
            .fetch_all(&self.pool)
            .await?
            .iter()
            .map(case_from_row)
            .collect()
    }

    /// Cases not closed, by how long ago they were opened, at `now`.
    pub async fn open_case_ages(&self, now: OffsetDateTime) -> StoreResult<CaseAges> {
        let ago = |days: i64| to_micros(now - Duration::days(days));
        let row = sqlx::query(
            "SELECT SUM(CASE WHEN opened_at > $1 THEN 1 ELSE 0 END) AS under_1, \
             SUM(CASE WHEN opened_at <= $1 AND opened_at > $2 THEN 1 ELSE 0 END) AS to_3, \
             SUM(CASE WHEN opened_at <= $2 AND opened_at > $3 THEN 1 ELSE 0 END) AS to_7, \
             SUM(CASE WHEN opened_at <= $3 THEN 1 ELSE 0 END) AS over_7 \
             FROM cases WHERE status <> 'closed'",
        )
        .bind(ago(1))
        .bind(ago(3))
        .bind(ago(7))
        .fetch_one(&self.pool)
        .await?;
        // SUM over no rows is NULL.
        let count = |column: &str| -> StoreResult<i64> {
            Ok(row.try_get::<Option<i64>, _>(column)?.unwrap_or(0))
        };
        Ok(CaseAges {
            under_1_day: count("under_1")?,
            days_1_to_3: count("to_3")?,
            days_3_to_7: count("to_7")?,
            over_7_days: count("over_7")?,
        })
    }

    /// Cases closed at or after `since`, counted per whole day after it and per outcome.
    pub async fn cases_closed_per_day(
        &self,
        since: OffsetDateTime,
    ) -> StoreResult<Vec<ClosedOnDay>> {
        sqlx::query(
            "SELECT day, outcome, COUNT(*) AS closed FROM (SELECT (closed_at - $1) / 86400000000 \
             AS day, outcome FROM cases WHERE closed_at >= $1) AS closes \
             GROUP BY day, outcome ORDER BY day, outcome",
        )
        .bind(to_micros(since))
        .fetch_all(&self.pool)
        .await?
        .iter()
        .map(|row| {
            let outcome: Option<String> = row.try_get("outcome")?;
            Ok(ClosedOnDay {
                day: row.try_get("day")?,
                outcome: outcome
                    .ok_or_else(|| corrupt("outcome"))?
                    .parse()
                    .map_err(|_| corrupt("outcome"))?,
                count: row.try_get("closed")?,
            })
        })
        .collect()
    }

    pub async fn case_items(&self, id: CaseId) -> StoreResult<Vec<CaseItem>> {
        sqlx::query(
            "SELECT kind, item_id, added_at FROM case_items WHERE case_id = $1 \
             ORDER BY added_at, item_id",
        )
        .bind(id.to_string())
        .fetch_all(&self.pool)
        .await?
        .iter()
        .map(|row| {
            Ok(CaseItem {
                kind: row.try_get("kind")?,
                item_id: row.try_get("item_id")?,
                added_at: time_at(row, "added_at")?,
            })
        })
        .collect()
    }

    pub async fn case_events(&self, id: CaseId) -> StoreResult<Vec<CaseEvent>> {
        sqlx::query(
            "SELECT at, actor, kind, comment, data FROM case_events WHERE case_id = $1 \
             ORDER BY seq",
        )
        .bind(id.to_string())
        .fetch_all(&self.pool)
        .await?
        .iter()
        .map(|row| {
            Ok(CaseEvent {
                at: time_at(row, "at")?,
                actor: row.try_get("actor")?,
                kind: row.try_get("kind")?,
                comment: row.try_get("comment")?,
                data: row.try_get("data")?,
            })
        })
        .collect()
    }

    /// The case a transfer belongs to, if it was ever held.
    pub async fn case_of_transfer(&self, transfer: TransferId) -> StoreResult<Option<CaseId>> {
        sqlx::query("SELECT case_id FROM case_items WHERE kind = 'transfer' AND item_id = $1")
            .bind(transfer.to_string())
            .fetch_optional(&self.pool)
            .await?
            .map(|row| parsed(&row, "case_id"))
            .transpose()
    }

    /// The party's other cases (any subject), newest first: what was decided about it before.
    pub async fn party_cases(
        &self,
        party_kind: &str,
        party_id: &str,
        except: CaseId,
        limit: u32,
    ) -> StoreResult<Vec<CaseRow>> {
        let sql = concat!(
            "SELECT ",
            case_columns!(),
            " FROM cases WHERE party_kind = $1 AND party_id = $2 AND id <> $3 \
             ORDER BY opened_at DESC, id LIMIT $4"
        );
        sqlx::query(sql)
            .bind(party_kind)
            .bind(party_id)
            .bind(except.to_string())
            .bind(i64::from(limit))
            .fetch_all(&self.pool)
            .await?
            .iter()
            .map(case_from_row)
            .collect()
    }

    /// Assigns the open, unassigned case due soonest to `person`; `None` when there is none.
    /// Two people taking at once get different cases (the update is conditional).
    pub async fn take_next_case(
        &self,
        person: PersonId,
        at: OffsetDateTime,
        context: &AuditContext,
    ) -> StoreResult<Option<CaseRow>> {
        for _ in 0..5 {
            let next = sqlx::query(
                "SELECT id FROM cases WHERE status = 'open' AND assignee IS NULL \
                 ORDER BY sla_due_at, priority DESC, id LIMIT 1",
            )
            .fetch_optional(&self.pool)
            .await?;
            let Some(next) = next else {
                return Ok(None);
            };
            let id: CaseId = parsed(&next, "id")?;
            let mut tx = self.pool.begin().await?;
            let taken = sqlx::query(
                "UPDATE cases SET assignee = $1, status = 'investigating', updated_at = $2 \
                 WHERE id = $3 AND status = 'open' AND assignee IS NULL",
            )
            .bind(person.to_string())
            .bind(to_micros(at))
            .bind(id.to_string())
            .execute(&mut *tx)
            .await?;
            if taken.rows_affected() != 1 {
                continue;
            }
            append_event_in(
                &mut tx,
                id,
                &CaseEvent {
                    at,
                    actor: context.actor.clone(),
                    kind: "assigned".to_owned(),
                    comment: None,
                    data: Some(serde_json::json!({"assignee": person.to_string()}).to_string()),
                },
            )
            .await?;
            let event = AuditEvent::new(context, "case.assigned", Retention::Security, {
                ("case", id.to_string())
            })
            .at(at)
            .change(
                "assignee",
                serde_json::Value::Null,
                person.to_string().into(),
            );
            crate::audit::record(&mut tx, &event).await?;
            tx.commit().await?;
            return self.case(id).await.map(Some);
        }
        Ok(None)
    }

    /// Closes a case that holds no transfer still held for review (an alert's or a
    /// screening hit's case: a held transfer's case closes with its decision), with its
    /// outcome, the log entry, its alerts closed and the audit event, in one transaction.
    /// `Ok(false)` when the case is closed already or still holds a held transfer.
    pub async fn close_case(
        &self,
        case: CaseId,
        outcome: CaseOutcome,
        event: &CaseEvent,
        context: &AuditContext,
    ) -> StoreResult<bool> {
        let mut tx = self.pool.begin().await?;
        let at = to_micros(event.at);
        let closed = sqlx::query(
            "UPDATE cases SET status = 'closed', outcome = $1, closed_at = $2, updated_at = $2 \
             WHERE id = $3 AND status <> 'closed' AND NOT EXISTS (SELECT 1 FROM case_items i \
             JOIN transfers t ON t.id = i.item_id WHERE i.case_id = $3 AND i.kind = 'transfer' \
             AND t.status = 'PENDING_REVIEW')",
        )
        .bind(outcome.as_str())
        .bind(at)
        .bind(case.to_string())
        .execute(&mut *tx)
        .await?;
        if closed.rows_affected() == 0 {
            return Ok(false);
        }
        sqlx::query(
            "UPDATE alerts SET status = 'closed' WHERE status = 'open' AND id IN \
             (SELECT item_id FROM case_items WHERE case_id = $1 AND kind = 'alert')",
        )
        .bind(case.to_string())
        .execute(&mut *tx)
        .await?;
        append_event_in(&mut tx, case, event).await?;
        let audit = AuditEvent::new(
            &context.staff_only(),
            "case.closed",
            Retention::Security,
            ("case", case.to_string()),
        )
        .at(event.at)
        .change("status", serde_json::Value::Null, "closed".into())
        .change("outcome", serde_json::Value::Null, outcome.as_str().into());
        crate::audit::record(&mut tx, &audit).await?;
        tx.commit().await?;
        Ok(true)
    }

    /// Records a proposed decision on a case (the four-eyes request, its audit event, the
    /// case's log entry; an open case moves to investigating), in one transaction.
    pub async fn propose_case_decision(
        &self,
        case: CaseId,
        pending: &PendingAction,
        event: &CaseEvent,
        context: &AuditContext,
    ) -> StoreResult<()> {
        let mut tx = self.pool.begin().await?;
        crate::approvals::insert_in(&mut tx, pending, context).await?;
        append_event_in(&mut tx, case, event).await?;
        sqlx::query(
            "UPDATE cases SET status = 'investigating', updated_at = $1 \
             WHERE id = $2 AND status = 'open'",
        )
        .bind(to_micros(event.at))
        .bind(case.to_string())
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Rejects a proposed decision (the transfer stays held), with the case's log entry, in
    /// one transaction.
    pub async fn reject_case_proposal(
        &self,
        case: CaseId,
        pending: PendingActionId,
        decider: PersonId,
        event: &CaseEvent,
        context: &AuditContext,
    ) -> StoreResult<Result<PendingAction, DecisionRefused>> {
        let mut tx = self.pool.begin().await?;
        let decided = crate::approvals::claim_in(&mut tx, pending, decider, false, context).await?;
        if decided.is_ok() {
            append_event_in(&mut tx, case, event).await?;
            tx.commit().await?;
        }
        Ok(decided)
    }
}

/// A file added to a case (migration 0032), sealed before it reaches the store.
#[derive(Debug, Clone)]
pub struct NewCaseAttachment {
    pub id: uuid::Uuid,
    pub case: CaseId,
    pub filename: String,
    pub content_type: &'static str,
    pub size_bytes: i64,
    /// Lowercase hex SHA-256 of the clear bytes, checked when the file is opened.
    pub sha256: String,
    /// The sealed document (`Keyring::seal_document`).
    pub document: String,
    pub uploaded_by: String,
    pub at: OffsetDateTime,
}

/// A case attachment as listed: everything but its content.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CaseAttachmentRow {
    pub id: String,
    pub case: CaseId,
    pub filename: String,
    pub content_type: String,
    pub size_bytes: i64,
    pub sha256: String,
    pub uploaded_by: String,
    pub created_at: OffsetDateTime,
}

macro_rules! attachment_columns {
    () => {
        "id, case_id, filename, content_type, size_bytes, sha256, uploaded_by, created_at"
    };
}

fn attachment_from_row(row: &AnyRow) -> StoreResult<CaseAttachmentRow> {
    Ok(CaseAttachmentRow {
        id: row.try_get("id")?,
        case: parsed(row, "case_id")?,
        filename: row.try_get("filename")?,
        content_type: row.try_get("content_type")?,
        size_bytes: row.try_get("size_bytes")?,
        sha256: row.try_get("sha256")?,
        uploaded_by: row.try_get("uploaded_by")?,
        created_at: time_at(row, "created_at")?,
    })
}

impl Store {
    /// Adds an attachment to an open case, with the case's log entry and the audit event, in
    /// one transaction. `NotFound` for no such case, `Conflict` when it is closed: the case's
    /// row is updated first, conditionally, so a close committing meanwhile is seen (and on
    /// PostgreSQL waited for) and nothing is written.
    pub async fn add_case_attachment(
        &self,
        attachment: &NewCaseAttachment,
        event: &CaseEvent,
        audit: &AuditEvent,
    ) -> StoreResult<()> {
        let mut tx = self.pool.begin().await?;
        let at = to_micros(attachment.at);
        let open =
            sqlx::query("UPDATE cases SET updated_at = $1 WHERE id = $2 AND status <> 'closed'")
                .bind(at)
                .bind(attachment.case.to_string())
                .execute(&mut *tx)
                .await?
                .rows_affected()
                == 1;
        if !open {
            let exists = sqlx::query("SELECT 1 AS one FROM cases WHERE id = $1")
                .bind(attachment.case.to_string())
                .fetch_optional(&mut *tx)
                .await?
                .is_some();
            return Err(if exists {
                StoreError::Conflict
            } else {
                StoreError::NotFound
            });
        }
        sqlx::query(
            "INSERT INTO case_attachments (id, case_id, filename, content_type, size_bytes, \
             sha256, document, uploaded_by, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
        )
        .bind(attachment.id.to_string())
        .bind(attachment.case.to_string())
        .bind(&attachment.filename)
        .bind(attachment.content_type)
        .bind(attachment.size_bytes)
        .bind(&attachment.sha256)
        .bind(&attachment.document)
        .bind(&attachment.uploaded_by)
        .bind(at)
        .execute(&mut *tx)
        .await
        .map_err(StoreError::from_write)?;
        append_event_in(&mut tx, attachment.case, event).await?;
        crate::audit::record(&mut tx, audit).await?;
        tx.commit().await?;
        Ok(())
    }

    /// A case's attachments (metadata only), oldest first.
    pub async fn case_attachments(&self, case: CaseId) -> StoreResult<Vec<CaseAttachmentRow>> {
        let sql = concat!(
            "SELECT ",
            attachment_columns!(),
            " FROM case_attachments WHERE case_id = $1 ORDER BY created_at, id"
        );
        sqlx::query(sql)
            .bind(case.to_string())
            .fetch_all(&self.pool)
            .await?
            .iter()
            .map(attachment_from_row)
            .collect()
    }

    /// One attachment of `case` with its sealed content; `NotFound` unless it is that case's.
    pub async fn case_attachment_document(
        &self,
        case: CaseId,
        id: uuid::Uuid,
    ) -> StoreResult<(CaseAttachmentRow, String)> {
        let sql = concat!(
            "SELECT ",
            attachment_columns!(),
            ", document FROM case_attachments WHERE id = $1 AND case_id = $2"
        );
        let row = sqlx::query(sql)
            .bind(id.to_string())
            .bind(case.to_string())
            .fetch_optional(&self.pool)
            .await?
            .ok_or(StoreError::NotFound)?;
        Ok((attachment_from_row(&row)?, row.try_get("document")?))
    }
}
