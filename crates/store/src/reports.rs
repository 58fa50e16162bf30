//! Regulatory reports (migration 0023): sealed content (the store never sees it in clear),
//! the status a report moves through (draft → approved → submitted, or withdrawn), each move a
//! conditional update written with its audit event in one transaction. Approval is a four-eyes
//! pending action applied in the decision's transaction ([`approve_in`]). Nothing here is ever
//! filed under a tenant: the audit events carry no tenant (no tip-off).

use benteng_core::audit::{AuditContext, AuditEvent, Retention};
use benteng_core::ids::{CaseId, PendingActionId, PersonId, ReportId};
use serde_json::Value;
use sqlx::any::AnyRow;
use sqlx::{AnyConnection, Row};
use time::OffsetDateTime;

use crate::approvals::PendingAction;
use crate::cases::{CaseEvent, append_event_in};
use crate::rows::{optional_time_at, parsed, time_at, to_micros};
use crate::{Store, StoreError, StoreResult};

/// Where a report stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReportStatus {
    Draft,
    Approved,
    Submitted,
    Withdrawn,
}

impl ReportStatus {
    pub const ALL: [ReportStatus; 4] = [
        ReportStatus::Draft,
        ReportStatus::Approved,
        ReportStatus::Submitted,
        ReportStatus::Withdrawn,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            ReportStatus::Draft => "draft",
            ReportStatus::Approved => "approved",
            ReportStatus::Submitted => "submitted",
            ReportStatus::Withdrawn => "withdrawn",
        }
    }
}

impl std::str::FromStr for ReportStatus {
    type Err = &'static str;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        ReportStatus::ALL
            .into_iter()
            .find(|v| v.as_str() == s)
            .ok_or("must be one of: draft, approved, submitted, withdrawn")
    }
}

/// A report as stored (its content sealed).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReportRow {
    pub id: ReportId,
    /// `ltkm`, `uk_sar` or `eu_sar`.
    pub kind: String,
    pub case_id: Option<CaseId>,
    pub status: ReportStatus,
    pub version: u32,
    pub content_sealed: String,
    pub content_sha256: String,
    pub created_by: PersonId,
    pub created_at: OffsetDateTime,
    pub updated_by: PersonId,
    pub updated_at: OffsetDateTime,
    pub approval_id: Option<PendingActionId>,
    pub approved_by: Option<PersonId>,
    pub approved_at: Option<OffsetDateTime>,
    pub submitted_at: Option<OffsetDateTime>,
    pub fiu_reference: Option<String>,
    pub withdrawn_at: Option<OffsetDateTime>,
    pub supersedes: Option<ReportId>,
    pub superseded_by: Option<ReportId>,
    pub due_at: OffsetDateTime,
    pub warn_at: OffsetDateTime,
    /// A submitted UK SAR with a DAML request: when the NCA's notice period ends (silence
    /// is consent then).
    pub daml_due_at: Option<OffsetDateTime>,
    /// An EU report: the member state whose FIU it goes to.
    pub fiu_country: Option<String>,
    /// The NCA's latest answer to the DAML request (`granted`, `refused`, `deemed`), who
    /// recorded it and when.
    pub daml_answer: Option<String>,
    pub daml_answered_at: Option<OffsetDateTime>,
    pub daml_answered_by: Option<PersonId>,
    /// Set by a refusal: when its 31-day moratorium ends.
    pub daml_moratorium_ends_at: Option<OffsetDateTime>,
}

/// The NCA's answer to a DAML request, to be recorded on a submitted SAR.
#[derive(Debug, Clone)]
pub struct DamlAnswerWrite<'a> {
    pub report: ReportId,
    /// The answer the report holds now (`None`: no answer yet); the write happens only if it
    /// still does.
    pub expected: Option<&'a str>,
    pub answer: &'a str,
    pub moratorium_ends_at: Option<OffsetDateTime>,
    pub by: PersonId,
    pub at: OffsetDateTime,
    /// What the officer noted (the NCA's reference, how the answer came).
    pub note: &'a str,
}

/// A new draft.
#[derive(Debug, Clone)]
pub struct NewReport {
    pub id: ReportId,
    pub kind: &'static str,
    pub case_id: Option<CaseId>,
    pub content_sealed: String,
    pub content_sha256: String,
    pub created_by: PersonId,
    pub at: OffsetDateTime,
    pub due_at: OffsetDateTime,
    pub warn_at: OffsetDateTime,
    pub supersedes: Option<ReportId>,
    /// An EU report: the member state whose FIU it goes to.
    pub fiu_country: Option<String>,
}

macro_rules! report_columns {
    () => {
        "id, kind, case_id, status, version, content_sealed, content_sha256, created_by, \
         created_at, updated_by, updated_at, approval_id, approved_by, approved_at, \
         submitted_at, fiu_reference, withdrawn_at, supersedes, superseded_by, due_at, warn_at, \
         daml_due_at, fiu_country, daml_answer, daml_answered_at, daml_answered_by, \
         daml_moratorium_ends_at"
    };
}

fn optional<T: std::str::FromStr>(row: &AnyRow, column: &str) -> StoreResult<Option<T>> {
    let text: Option<String> = row.try_get(column)?;
    text.map(|t| t.parse())
        .transpose()
        .map_err(|_| StoreError::Corrupt(format!("report {column}")))
}

fn report_from_row(row: &AnyRow) -> StoreResult<ReportRow> {
    let version: i64 = row.try_get("version")?;
    Ok(ReportRow {
        id: parsed(row, "id")?,
        kind: row.try_get("kind")?,
        case_id: optional(row, "case_id")?,
        status: parsed(row, "status")?,
        version: u32::try_from(version)
            .map_err(|_| StoreError::Corrupt("report version".into()))?,
        content_sealed: row.try_get("content_sealed")?,
        content_sha256: row.try_get("content_sha256")?,
        created_by: parsed(row, "created_by")?,
        created_at: time_at(row, "created_at")?,
        updated_by: parsed(row, "updated_by")?,
        updated_at: time_at(row, "updated_at")?,
        approval_id: optional(row, "approval_id")?,
        approved_by: optional(row, "approved_by")?,
        approved_at: optional_time_at(row, "approved_at")?,
        submitted_at: optional_time_at(row, "submitted_at")?,
        fiu_reference: row.try_get("fiu_reference")?,
        withdrawn_at: optional_time_at(row, "withdrawn_at")?,
        supersedes: optional(row, "supersedes")?,
        superseded_by: optional(row, "superseded_by")?,
        due_at: time_at(row, "due_at")?,
        warn_at: time_at(row, "warn_at")?,
        daml_due_at: optional_time_at(row, "daml_due_at")?,
        fiu_country: row.try_get("fiu_country")?,
        daml_answer: row.try_get("daml_answer")?,
        daml_answered_at: optional_time_at(row, "daml_answered_at")?,
        daml_answered_by: optional(row, "daml_answered_by")?,
        daml_moratorium_ends_at: optional_time_at(row, "daml_moratorium_ends_at")?,
    })
}

/// A report's audit event: staff only (no tenant), security retention, never the content.
fn event(context: &AuditContext, event_type: &str, report: ReportId) -> AuditEvent {
    let staff_only = context.staff_only();
    AuditEvent::new(
        &staff_only,
        event_type,
        Retention::Security,
        ("report", report.to_string()),
    )
}

async fn insert_in(
    conn: &mut AnyConnection,
    new: &NewReport,
    context: &AuditContext,
) -> StoreResult<()> {
    let at = to_micros(new.at);
    sqlx::query(
        "INSERT INTO reports (id, kind, case_id, status, version, content_sealed, \
         content_sha256, created_by, created_at, updated_by, updated_at, supersedes, due_at, \
         warn_at, fiu_country) \
         VALUES ($1, $2, $3, 'draft', 1, $4, $5, $6, $7, $6, $7, $8, $9, $10, $11)",
    )
    .bind(new.id.to_string())
    .bind(new.kind)
    .bind(new.case_id.map(|c| c.to_string()))
    .bind(&new.content_sealed)
    .bind(&new.content_sha256)
    .bind(new.created_by.to_string())
    .bind(at)
    .bind(new.supersedes.map(|s| s.to_string()))
    .bind(to_micros(new.due_at))
    .bind(to_micros(new.warn_at))
    .bind(new.fiu_country.as_deref())
    .execute(&mut *conn)
    .await
    .map_err(StoreError::from_write)?;
    let mut audit = event(context, "report.created", new.id)
        .at(new.at)
        .change("kind", Value::Null, new.kind.into())
        .change(
            "fiu_country",
            Value::Null,
            new.fiu_country.as_deref().map_or(Value::Null, Into::into),
        )
        .change("status", Value::Null, "draft".into())
        .change(
            "content_sha256",
            Value::Null,
            new.content_sha256.clone().into(),
        );
    if let Some(case) = new.case_id {
        audit = audit.change("case", Value::Null, case.to_string().into());
        append_event_in(
            conn,
            case,
            &CaseEvent {
                at: new.at,
                actor: context.actor.clone(),
                kind: "report_started".to_owned(),
                comment: None,
                data: Some(
                    serde_json::json!({"report": new.id.to_string(), "kind": new.kind}).to_string(),
                ),
            },
        )
        .await?;
    }
    if let Some(old) = new.supersedes {
        audit = audit.change("supersedes", Value::Null, old.to_string().into());
    }
    crate::audit::record(conn, &audit).await
}

/// Approves a report's draft in the four-eyes decision's transaction: only the `version` the
/// proposal named, still a draft, and `decider` not the person who wrote it last; otherwise
/// `Conflict` and the decision rolls back.
pub(crate) async fn approve_in(
    conn: &mut AnyConnection,
    pending: &PendingAction,
    report: ReportId,
    version: u32,
    decider: PersonId,
    context: &AuditContext,
) -> StoreResult<()> {
    let now = crate::rows::now_micros();
    let updated = sqlx::query(
        "UPDATE reports SET status = 'approved', approved_by = $1, approved_at = $2 \
         WHERE id = $3 AND status = 'draft' AND version = $4 AND updated_by <> $1 \
         AND approval_id = $5",
    )
    .bind(decider.to_string())
    .bind(now)
    .bind(report.to_string())
    .bind(i64::from(version))
    .bind(pending.id.to_string())
    .execute(&mut *conn)
    .await?;
    if updated.rows_affected() != 1 {
        return Err(StoreError::Conflict);
    }
    let audit = event(context, "report.approved", report)
        .change("status", "draft".into(), "approved".into())
        .change("version", Value::Null, version.into())
        .change("approved_by", Value::Null, decider.to_string().into())
        .change(
            "proposed_by",
            Value::Null,
            pending.proposed_by.to_string().into(),
        );
    crate::audit::record(conn, &audit).await
}

impl Store {
    /// Stores a new draft with its audit event (and the case's log entry), in one transaction.
    pub async fn insert_report(&self, new: &NewReport, context: &AuditContext) -> StoreResult<()> {
        let mut tx = self.pool.begin().await?;
        insert_in(&mut tx, new, context).await?;
        tx.commit().await?;
        Ok(())
    }

    pub async fn report(&self, id: ReportId) -> StoreResult<ReportRow> {
        let sql = concat!("SELECT ", report_columns!(), " FROM reports WHERE id = $1");
        let row = sqlx::query(sql)
            .bind(id.to_string())
            .fetch_optional(&self.pool)
            .await?
            .ok_or(StoreError::NotFound)?;
        report_from_row(&row)
    }

    /// Reports with `status` (all when `None`), the soonest due first.
    pub async fn reports(
        &self,
        status: Option<ReportStatus>,
        limit: u32,
    ) -> StoreResult<Vec<ReportRow>> {
        let sql = concat!(
            "SELECT ",
            report_columns!(),
            " FROM reports WHERE ($1 = '' OR status = $1) ORDER BY due_at, id LIMIT $2"
        );
        sqlx::query(sql)
            .bind(status.map_or("", ReportStatus::as_str))
            .bind(i64::from(limit))
            .fetch_all(&self.pool)
            .await?
            .iter()
            .map(report_from_row)
            .collect()
    }

    /// How many reports are open (draft or approved) per kind, and how many of them are past
    /// their warning time and past their deadline at `now`: (kind, open, due soon, overdue).
    pub async fn report_clocks(
        &self,
        now: OffsetDateTime,
    ) -> StoreResult<Vec<(String, i64, i64, i64)>> {
        let now = to_micros(now);
        sqlx::query(
            "SELECT kind, COUNT(*) AS open, \
             SUM(CASE WHEN warn_at <= $1 AND due_at > $1 THEN 1 ELSE 0 END) AS soon, \
             SUM(CASE WHEN due_at <= $1 THEN 1 ELSE 0 END) AS overdue \
             FROM reports WHERE status IN ('draft', 'approved') GROUP BY kind ORDER BY kind",
        )
        .bind(now)
        .fetch_all(&self.pool)
        .await?
        .iter()
        .map(|row| {
            Ok((
                row.try_get("kind")?,
                row.try_get("open")?,
                row.try_get::<Option<i64>, _>("soon")?.unwrap_or(0),
                row.try_get::<Option<i64>, _>("overdue")?.unwrap_or(0),
            ))
        })
        .collect()
    }

    /// Replaces a draft's content if it is still a draft at `version` (else `Conflict`); the
    /// version moves on, audited with the content's new digest (never the content).
    #[allow(clippy::too_many_arguments)]
    pub async fn update_report_content(
        &self,
        id: ReportId,
        version: u32,
        content_sealed: &str,
        content_sha256: &str,
        by: PersonId,
        at: OffsetDateTime,
        context: &AuditContext,
    ) -> StoreResult<ReportRow> {
        let mut tx = self.pool.begin().await?;
        let updated = sqlx::query(
            "UPDATE reports SET content_sealed = $1, content_sha256 = $2, version = version + 1, \
             updated_by = $3, updated_at = $4, approval_id = NULL \
             WHERE id = $5 AND status = 'draft' AND version = $6",
        )
        .bind(content_sealed)
        .bind(content_sha256)
        .bind(by.to_string())
        .bind(to_micros(at))
        .bind(id.to_string())
        .bind(i64::from(version))
        .execute(&mut *tx)
        .await?;
        if updated.rows_affected() != 1 {
            return Err(StoreError::Conflict);
        }
        let audit = event(context, "report.updated", id)
            .at(at)
            .change("version", version.into(), (version + 1).into())
            .change("content_sha256", Value::Null, content_sha256.into());
        crate::audit::record(&mut tx, &audit).await?;
        tx.commit().await?;
        self.report(id).await
    }

    /// Records the four-eyes request to approve a draft at `version` and links it to the
    /// report, in one transaction; `Conflict` when the draft moved on.
    pub async fn request_report_approval(
        &self,
        id: ReportId,
        version: u32,
        pending: &PendingAction,
        context: &AuditContext,
    ) -> StoreResult<()> {
        let mut tx = self.pool.begin().await?;
        crate::approvals::insert_in(&mut tx, pending, context).await?;
        let updated = sqlx::query(
            "UPDATE reports SET approval_id = $1 WHERE id = $2 AND status = 'draft' AND version = $3",
        )
        .bind(pending.id.to_string())
        .bind(id.to_string())
        .bind(i64::from(version))
        .execute(&mut *tx)
        .await?;
        if updated.rows_affected() != 1 {
            return Err(StoreError::Conflict);
        }
        let audit = event(context, "report.approval_requested", id)
            .change("version", Value::Null, version.into())
            .change("pending_action", Value::Null, pending.id.to_string().into());
        crate::audit::record(&mut tx, &audit).await?;
        tx.commit().await?;
        Ok(())
    }

    /// Approved → submitted, recording the FIU's reference (and when a DAML request's notice
    /// period ends); `Conflict` from any other status.
    pub async fn mark_report_submitted(
        &self,
        id: ReportId,
        fiu_reference: &str,
        at: OffsetDateTime,
        daml_due_at: Option<OffsetDateTime>,
        context: &AuditContext,
    ) -> StoreResult<ReportRow> {
        let mut tx = self.pool.begin().await?;
        let updated = sqlx::query(
            "UPDATE reports SET status = 'submitted', fiu_reference = $1, submitted_at = $2, \
             daml_due_at = $3 WHERE id = $4 AND status = 'approved'",
        )
        .bind(fiu_reference)
        .bind(to_micros(at))
        .bind(daml_due_at.map(to_micros))
        .bind(id.to_string())
        .execute(&mut *tx)
        .await?;
        if updated.rows_affected() != 1 {
            return Err(StoreError::Conflict);
        }
        let audit = event(context, "report.submitted", id)
            .at(at)
            .change("status", "approved".into(), "submitted".into())
            .change("fiu_reference", Value::Null, fiu_reference.into())
            .change(
                "daml_due_at",
                Value::Null,
                daml_due_at.map_or(Value::Null, |d| to_micros(d).into()),
            );
        crate::audit::record(&mut tx, &audit).await?;
        tx.commit().await?;
        self.report(id).await
    }

    /// Draft or approved → withdrawn, with the reason in the event; `Conflict` otherwise.
    pub async fn withdraw_report(
        &self,
        id: ReportId,
        reason: &str,
        at: OffsetDateTime,
        context: &AuditContext,
    ) -> StoreResult<ReportRow> {
        let mut tx = self.pool.begin().await?;
        let before = sqlx::query("SELECT status FROM reports WHERE id = $1")
            .bind(id.to_string())
            .fetch_optional(&mut *tx)
            .await?
            .ok_or(StoreError::NotFound)?;
        let before: String = before.try_get("status")?;
        let updated = sqlx::query(
            "UPDATE reports SET status = 'withdrawn', withdrawn_at = $1 \
             WHERE id = $2 AND status IN ('draft', 'approved')",
        )
        .bind(to_micros(at))
        .bind(id.to_string())
        .execute(&mut *tx)
        .await?;
        if updated.rows_affected() != 1 {
            return Err(StoreError::Conflict);
        }
        let audit = event(context, "report.withdrawn", id)
            .at(at)
            .change("status", before.into(), "withdrawn".into())
            .change("reason", Value::Null, reason.into());
        crate::audit::record(&mut tx, &audit).await?;
        tx.commit().await?;
        self.report(id).await
    }

    /// Supersedes a submitted report with a new draft (`new.supersedes` names it), in one
    /// transaction; `Conflict` when it is not submitted or was superseded already.
    pub async fn supersede_report(
        &self,
        new: &NewReport,
        context: &AuditContext,
    ) -> StoreResult<()> {
        let Some(old) = new.supersedes else {
            return Err(StoreError::Conflict);
        };
        let mut tx = self.pool.begin().await?;
        insert_in(&mut tx, new, context).await?;
        let updated = sqlx::query(
            "UPDATE reports SET superseded_by = $1 \
             WHERE id = $2 AND status = 'submitted' AND superseded_by IS NULL",
        )
        .bind(new.id.to_string())
        .bind(old.to_string())
        .execute(&mut *tx)
        .await?;
        if updated.rows_affected() != 1 {
            return Err(StoreError::Conflict);
        }
        let audit = event(context, "report.superseded", old).at(new.at).change(
            "superseded_by",
            Value::Null,
            new.id.to_string().into(),
        );
        crate::audit::record(&mut tx, &audit).await?;
        tx.commit().await?;
        Ok(())
    }
}

impl Store {
    /// Records the NCA's answer to a submitted SAR's DAML request, if the report still holds
    /// `expected` (else `Conflict`), with its audit event, in one transaction.
    pub async fn record_daml_answer(
        &self,
        write: &DamlAnswerWrite<'_>,
        context: &AuditContext,
    ) -> StoreResult<ReportRow> {
        let mut tx = self.pool.begin().await?;
        let updated = sqlx::query(
            "UPDATE reports SET daml_answer = $1, daml_answered_at = $2, daml_answered_by = $3, \
             daml_moratorium_ends_at = $4 WHERE id = $5 AND status = 'submitted' \
             AND daml_due_at IS NOT NULL AND COALESCE(daml_answer, '') = $6",
        )
        .bind(write.answer)
        .bind(to_micros(write.at))
        .bind(write.by.to_string())
        .bind(write.moratorium_ends_at.map(to_micros))
        .bind(write.report.to_string())
        .bind(write.expected.unwrap_or(""))
        .execute(&mut *tx)
        .await
        .map_err(StoreError::from_write)?;
        if updated.rows_affected() != 1 {
            return Err(StoreError::Conflict);
        }
        let audit = event(context, "report.daml_answered", write.report)
            .at(write.at)
            .change(
                "daml_answer",
                write.expected.map_or(Value::Null, Into::into),
                write.answer.into(),
            )
            .change(
                "daml_moratorium_ends_at",
                Value::Null,
                write
                    .moratorium_ends_at
                    .map_or(Value::Null, |d| to_micros(d).into()),
            )
            .change("note", Value::Null, write.note.into());
        crate::audit::record(&mut tx, &audit).await?;
        tx.commit().await?;
        self.report(write.report).await
    }

    /// The submitted SARs whose DAML request has no consent yet (no answer, or a refusal):
    /// the running DAML clocks.
    pub async fn open_daml_requests(&self) -> StoreResult<Vec<ReportRow>> {
        let sql = concat!(
            "SELECT ",
            report_columns!(),
            " FROM reports WHERE status = 'submitted' AND daml_due_at IS NOT NULL \
             AND (daml_answer IS NULL OR daml_answer = 'refused') ORDER BY daml_due_at, id"
        );
        sqlx::query(sql)
            .fetch_all(&self.pool)
            .await?
            .iter()
            .map(report_from_row)
            .collect()
    }

    /// A submitted SAR on the case of `transfer` whose DAML request has no consent yet: while
    /// there is one, the transfer stays where it is.
    pub async fn daml_request_holding(
        &self,
        transfer: benteng_core::ids::TransferId,
    ) -> StoreResult<Option<ReportRow>> {
        let sql = concat!(
            "SELECT ",
            report_columns!(),
            " FROM reports WHERE status = 'submitted' AND daml_due_at IS NOT NULL \
             AND (daml_answer IS NULL OR daml_answer = 'refused') AND case_id IN \
             (SELECT case_id FROM case_items WHERE kind = 'transfer' AND item_id = $1) \
             ORDER BY daml_due_at, id LIMIT 1"
        );
        sqlx::query(sql)
            .bind(transfer.to_string())
            .fetch_optional(&self.pool)
            .await?
            .as_ref()
            .map(report_from_row)
            .transpose()
    }
}

impl Store {
    /// One page of the live transfers completed in `[from, to)` whose recipient is outside
    /// `home_country`, oldest first after `after` (completion time, id), each with its
    /// recipient: what a period's IFTI report is streamed from.
    pub async fn completed_cross_border(
        &self,
        from: OffsetDateTime,
        to: OffsetDateTime,
        home_country: &str,
        after: Option<(OffsetDateTime, benteng_core::ids::TransferId)>,
        limit: u32,
    ) -> StoreResult<Vec<(crate::TransferRecord, crate::RecipientRow)>> {
        let (after_at, after_id) = match after {
            Some((at, id)) => (to_micros(at), id.to_string()),
            None => (i64::MIN, String::new()),
        };
        let sql = concat!(
            "SELECT ",
            "t.id, t.tenant_id, t.environment, t.quote_id, t.recipient_id, t.batch_id, \
             t.source_currency, t.source_amount, t.target_currency, t.target_amount, \
             t.fee_amount, t.reference, t.status, t.risk_score, t.rail, t.created_at, \
             t.updated_at FROM transfers t JOIN recipients r ON r.id = t.recipient_id \
             WHERE t.environment = 'live' AND t.status = 'COMPLETED' \
             AND t.updated_at >= $1 AND t.updated_at < $2 AND r.country <> $3 \
             AND (t.updated_at > $4 OR (t.updated_at = $4 AND t.id > $5)) \
             ORDER BY t.updated_at, t.id LIMIT $6"
        );
        let transfers: Vec<crate::TransferRecord> = sqlx::query(sql)
            .bind(to_micros(from))
            .bind(to_micros(to))
            .bind(home_country)
            .bind(after_at)
            .bind(after_id)
            .bind(i64::from(limit))
            .fetch_all(&self.pool)
            .await?
            .iter()
            .map(crate::transfers::transfer_from_row)
            .collect::<StoreResult<_>>()?;
        let mut out = Vec::with_capacity(transfers.len());
        for transfer in transfers {
            let recipient = self
                .recipient(
                    transfer.tenant_id,
                    transfer.environment,
                    transfer.recipient_id,
                )
                .await?;
            out.push((transfer, recipient));
        }
        Ok(out)
    }
}
