//! Screening: stored list versions, screening decisions, clearances of false positives and
//! rescreening runs (see migration 0005).
//!
//! The store keeps list contents as opaque JSON text: parsing and validating them is the
//! screening library's job, this module only persists what it was given.

use benteng_core::api_key::KeyEnvironment;
use benteng_core::audit::{AuditContext, AuditEvent, Retention};
use benteng_core::ids::{RecipientId, TenantId, TransferId};
use benteng_core::payments::compliance::{Party, PartyScreening};
use sqlx::any::AnyRow;
use sqlx::{AnyConnection, Row};
use time::OffsetDateTime;

use crate::cases::CaseOpening;
use crate::rows::{insert_rows, optional_time_at, parsed, time_at, to_micros};
use crate::{Store, StoreError, StoreResult};

/// A list version to store.
#[derive(Debug, Clone)]
pub struct NewListVersion {
    pub source: String,
    pub version: String,
    pub previous_version: Option<String>,
    pub entry_count: u64,
    /// The parsed entries, as JSON text.
    pub entries_json: String,
    /// Entry ids against the previous version.
    pub added: Vec<String>,
    pub changed: Vec<String>,
    pub removed: Vec<String>,
    pub loaded_at: OffsetDateTime,
}

/// A stored list version, without its entries.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListVersion {
    pub id: String,
    pub source: String,
    pub version: String,
    pub previous_version: Option<String>,
    pub entry_count: u64,
    pub added: Vec<String>,
    pub changed: Vec<String>,
    pub removed: Vec<String>,
    pub loaded_at: OffsetDateTime,
}

/// One screening decision to record.
#[derive(Debug, Clone)]
pub struct NewScreeningDecision {
    pub id: uuid::Uuid,
    pub party: Party,
    pub party_id: String,
    pub transfer_id: Option<TransferId>,
    /// `transfer`, `rescreen` or `list_update`.
    pub occasion: &'static str,
    pub score: u8,
    /// `approve`, `review` or `block`.
    pub verdict: &'static str,
    /// JSON text.
    pub explanation: String,
    pub at: OffsetDateTime,
}

/// A recorded screening decision.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScreeningDecisionRow {
    pub id: String,
    pub party_type: String,
    pub party_id: String,
    pub transfer_id: Option<String>,
    pub occasion: String,
    pub score: u8,
    pub verdict: String,
    pub explanation: String,
    pub at: OffsetDateTime,
}

/// An analyst's clearance of a (party, list entry) pair.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Clearance {
    pub id: String,
    pub party_type: String,
    pub party_id: String,
    pub source: String,
    pub entry_id: String,
    /// Content hash of the entry when it was cleared; the clearance lapses when it changes.
    pub entry_hash: String,
    pub reason: String,
    pub cleared_by: String,
    pub cleared_at: OffsetDateTime,
}

/// A party to (re)screen.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScreeningParty {
    pub party: Party,
    pub id: String,
    pub name: String,
    /// Recipients only.
    pub country: Option<String>,
    /// Recipients only.
    pub individual: Option<bool>,
    /// The tenant itself, or the recipient's.
    pub tenant: TenantId,
    /// A recipient's environment; `live` for a tenant.
    pub environment: KeyEnvironment,
}

impl ScreeningParty {
    /// `tenant:ID` or `recipient:ID`: the checkpoint form.
    pub fn key(&self) -> String {
        format!("{}:{}", self.party.as_str(), self.id)
    }
}

/// A rescreening run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScreeningRun {
    pub id: String,
    pub run_key: String,
    /// `full` or `delta`.
    pub kind: String,
    /// The list version a delta run screens the changes of.
    pub list_id: Option<String>,
    pub total: u64,
    pub done: u64,
    pub hits: u64,
    pub checkpoint: Option<String>,
    pub started_at: OffsetDateTime,
    pub finished_at: Option<OffsetDateTime>,
}

fn ids_json(ids: &[String]) -> StoreResult<String> {
    serde_json::to_string(ids).map_err(|e| StoreError::Corrupt(e.to_string()))
}

fn ids_at(row: &AnyRow, column: &str) -> StoreResult<Vec<String>> {
    let text: String = row.try_get(column)?;
    serde_json::from_str(&text)
        .map_err(|_| StoreError::Corrupt(format!("column {column} is not a JSON id list")))
}

fn count_at(row: &AnyRow, column: &str) -> StoreResult<u64> {
    let value: i64 = row.try_get(column)?;
    u64::try_from(value).map_err(|_| StoreError::Corrupt(format!("column {column} is negative")))
}

fn to_i64(n: u64) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

macro_rules! list_columns {
    () => {
        "id, source, version, previous_version, entry_count, added, changed, removed, loaded_at"
    };
}

fn list_from_row(row: &AnyRow) -> StoreResult<ListVersion> {
    Ok(ListVersion {
        id: row.try_get("id")?,
        source: row.try_get("source")?,
        version: row.try_get("version")?,
        previous_version: row.try_get("previous_version")?,
        entry_count: count_at(row, "entry_count")?,
        added: ids_at(row, "added")?,
        changed: ids_at(row, "changed")?,
        removed: ids_at(row, "removed")?,
        loaded_at: time_at(row, "loaded_at")?,
    })
}

macro_rules! run_columns {
    () => {
        "id, run_key, kind, list_id, total, done, hits, checkpoint, started_at, finished_at"
    };
}

fn run_from_row(row: &AnyRow) -> StoreResult<ScreeningRun> {
    Ok(ScreeningRun {
        id: row.try_get("id")?,
        run_key: row.try_get("run_key")?,
        kind: row.try_get("kind")?,
        list_id: row.try_get("list_id")?,
        total: count_at(row, "total")?,
        done: count_at(row, "done")?,
        hits: count_at(row, "hits")?,
        checkpoint: row.try_get("checkpoint")?,
        started_at: time_at(row, "started_at")?,
        finished_at: optional_time_at(row, "finished_at")?,
    })
}

fn decision_from_row(row: &AnyRow) -> StoreResult<ScreeningDecisionRow> {
    let score: i64 = row.try_get("score")?;
    Ok(ScreeningDecisionRow {
        id: row.try_get("id")?,
        party_type: row.try_get("party_type")?,
        party_id: row.try_get("party_id")?,
        transfer_id: row.try_get("transfer_id")?,
        occasion: row.try_get("occasion")?,
        score: u8::try_from(score).map_err(|_| StoreError::Corrupt("score out of range".into()))?,
        verdict: row.try_get("verdict")?,
        explanation: row.try_get("explanation")?,
        at: time_at(row, "at")?,
    })
}

fn clearance_from_row(row: &AnyRow) -> StoreResult<Clearance> {
    Ok(Clearance {
        id: row.try_get("id")?,
        party_type: row.try_get("party_type")?,
        party_id: row.try_get("party_id")?,
        source: row.try_get("source")?,
        entry_id: row.try_get("entry_id")?,
        entry_hash: row.try_get("entry_hash")?,
        reason: row.try_get("reason")?,
        cleared_by: row.try_get("cleared_by")?,
        cleared_at: time_at(row, "cleared_at")?,
    })
}

pub(crate) async fn insert_decision(
    conn: &mut AnyConnection,
    decision: &NewScreeningDecision,
) -> StoreResult<()> {
    insert_decisions(conn, std::slice::from_ref(decision)).await
}

/// Inserts decisions in one statement (one round trip).
async fn insert_decisions(
    conn: &mut AnyConnection,
    decisions: &[NewScreeningDecision],
) -> StoreResult<()> {
    if decisions.is_empty() {
        return Ok(());
    }
    let mut query = sqlx::query(insert_rows(
        "INSERT INTO screening_decisions (id, party_type, party_id, transfer_id, occasion, score, \
         verdict, explanation, at) VALUES",
        decisions.len(),
        9,
    ));
    for decision in decisions {
        query = query
            .bind(decision.id.to_string())
            .bind(decision.party.as_str())
            .bind(decision.party_id.clone())
            .bind(decision.transfer_id.map(|t| t.to_string()))
            .bind(decision.occasion)
            .bind(i64::from(decision.score))
            .bind(decision.verdict)
            .bind(decision.explanation.clone())
            .bind(to_micros(decision.at));
    }
    query.execute(&mut *conn).await?;
    Ok(())
}

/// Records the screenings behind a transfer's compliance decision, inside its transaction.
pub(crate) async fn insert_transfer_screenings(
    conn: &mut AnyConnection,
    screenings: &[PartyScreening],
    transfer: TransferId,
    tenant: TenantId,
    recipient: RecipientId,
    at: OffsetDateTime,
) -> StoreResult<()> {
    let decisions: Vec<NewScreeningDecision> = screenings
        .iter()
        .map(|s| NewScreeningDecision {
            id: uuid::Uuid::now_v7(),
            party: s.party,
            party_id: match s.party {
                Party::Tenant => tenant.to_string(),
                Party::Recipient => recipient.to_string(),
            },
            transfer_id: Some(transfer),
            occasion: "transfer",
            score: s.score,
            verdict: s.verdict.as_str(),
            explanation: s.explanation.clone(),
            at,
        })
        .collect();
    insert_decisions(conn, &decisions).await
}

impl Store {
    /// Stores a new version of a list; returns its row id. The audit event names the list, its
    /// content hash and counts, never an entry (entries are people).
    pub async fn insert_list_version(
        &self,
        list: &NewListVersion,
        context: &AuditContext,
    ) -> StoreResult<String> {
        let id = uuid::Uuid::now_v7().to_string();
        let mut tx = self.pool.begin().await?;
        sqlx::query(
            "INSERT INTO screening_lists (id, source, version, previous_version, entry_count, \
             entries, added, changed, removed, loaded_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
        )
        .bind(&id)
        .bind(&list.source)
        .bind(&list.version)
        .bind(list.previous_version.as_deref())
        .bind(to_i64(list.entry_count))
        .bind(&list.entries_json)
        .bind(ids_json(&list.added)?)
        .bind(ids_json(&list.changed)?)
        .bind(ids_json(&list.removed)?)
        .bind(to_micros(list.loaded_at))
        .execute(&mut *tx)
        .await
        .map_err(StoreError::from_write)?;
        let event = AuditEvent::new(
            context,
            "screening.list_loaded",
            Retention::Security,
            ("screening_list", list.source.clone()),
        )
        .change(
            "version",
            list.previous_version.as_deref().into(),
            list.version.as_str().into(),
        )
        .change("stored_as", serde_json::Value::Null, id.as_str().into())
        .change(
            "entry_count",
            serde_json::Value::Null,
            list.entry_count.into(),
        )
        .change(
            "entries_changed",
            serde_json::Value::Null,
            serde_json::json!({"added": list.added.len(), "changed": list.changed.len(),
                               "removed": list.removed.len()}),
        );
        crate::audit::record(&mut tx, &event).await?;
        tx.commit().await?;
        Ok(id)
    }

    /// The newest version of every source, by source.
    pub async fn current_list_versions(&self) -> StoreResult<Vec<ListVersion>> {
        sqlx::query(concat!(
            "SELECT ",
            list_columns!(),
            " FROM screening_lists l WHERE NOT EXISTS (SELECT 1 FROM screening_lists n \
             WHERE n.source = l.source AND (n.loaded_at > l.loaded_at \
             OR (n.loaded_at = l.loaded_at AND n.id > l.id))) ORDER BY source"
        ))
        .fetch_all(&self.pool)
        .await?
        .iter()
        .map(list_from_row)
        .collect()
    }

    pub async fn list_version(&self, id: &str) -> StoreResult<ListVersion> {
        let row = sqlx::query(concat!(
            "SELECT ",
            list_columns!(),
            " FROM screening_lists WHERE id = $1"
        ))
        .bind(id)
        .fetch_optional(&self.pool)
        .await?
        .ok_or(StoreError::NotFound)?;
        list_from_row(&row)
    }

    /// The entries of a stored version, as the JSON text that was stored.
    pub async fn list_entries(&self, id: &str) -> StoreResult<String> {
        let row = sqlx::query("SELECT entries FROM screening_lists WHERE id = $1")
            .bind(id)
            .fetch_optional(&self.pool)
            .await?
            .ok_or(StoreError::NotFound)?;
        Ok(row.try_get("entries")?)
    }

    /// Records one screening decision outside a transfer (rescreens, list updates) and, for a
    /// hit, the case it opens or joins (`case`, named by the caller), in one transaction: a
    /// hit is never recorded without its case.
    pub async fn record_screening_decision(
        &self,
        decision: &NewScreeningDecision,
        case: Option<&CaseOpening>,
    ) -> StoreResult<()> {
        let mut tx = self.pool.begin().await?;
        insert_decision(&mut tx, decision).await?;
        if let Some(opening) = case {
            let context = AuditContext::system(&format!("screening:{}", decision.occasion));
            crate::cases::open_or_join_in(&mut tx, opening, &context).await?;
        }
        tx.commit().await?;
        Ok(())
    }

    pub async fn screening_decision(&self, id: &str) -> StoreResult<ScreeningDecisionRow> {
        let row = sqlx::query(
            "SELECT id, party_type, party_id, transfer_id, occasion, score, verdict, explanation, \
             at FROM screening_decisions WHERE id = $1",
        )
        .bind(id)
        .fetch_optional(&self.pool)
        .await?
        .ok_or(StoreError::NotFound)?;
        decision_from_row(&row)
    }

    pub async fn screening_decisions_for_transfer(
        &self,
        transfer: TransferId,
    ) -> StoreResult<Vec<ScreeningDecisionRow>> {
        sqlx::query(
            "SELECT id, party_type, party_id, transfer_id, occasion, score, verdict, explanation, \
             at FROM screening_decisions WHERE transfer_id = $1 ORDER BY at, id",
        )
        .bind(transfer.to_string())
        .fetch_all(&self.pool)
        .await?
        .iter()
        .map(decision_from_row)
        .collect()
    }

    pub async fn screening_decisions_for_party(
        &self,
        party: Party,
        party_id: &str,
    ) -> StoreResult<Vec<ScreeningDecisionRow>> {
        sqlx::query(
            "SELECT id, party_type, party_id, transfer_id, occasion, score, verdict, explanation, \
             at FROM screening_decisions WHERE party_type = $1 AND party_id = $2 ORDER BY at, id",
        )
        .bind(party.as_str())
        .bind(party_id)
        .fetch_all(&self.pool)
        .await?
        .iter()
        .map(decision_from_row)
        .collect()
    }

    /// Records an analyst's clearance, with the entry on the log of the screening case it was
    /// made from (`case`), in one transaction. The audit event carries no tenant: a tenant
    /// reading its own trail must not learn that it (or its recipient) matched a list entry.
    pub async fn insert_clearance(
        &self,
        clearance: &Clearance,
        case: Option<(benteng_core::ids::CaseId, &crate::cases::CaseEvent)>,
        context: &AuditContext,
    ) -> StoreResult<()> {
        let mut tx = self.pool.begin().await?;
        sqlx::query(
            "INSERT INTO screening_clearances (id, party_type, party_id, source, entry_id, \
             entry_hash, reason, cleared_by, cleared_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
        )
        .bind(&clearance.id)
        .bind(&clearance.party_type)
        .bind(&clearance.party_id)
        .bind(&clearance.source)
        .bind(&clearance.entry_id)
        .bind(&clearance.entry_hash)
        .bind(&clearance.reason)
        .bind(&clearance.cleared_by)
        .bind(to_micros(clearance.cleared_at))
        .execute(&mut *tx)
        .await
        .map_err(StoreError::from_write)?;
        let null = serde_json::Value::Null;
        let party = format!("{}:{}", clearance.party_type, clearance.party_id);
        let event = AuditEvent::new(
            context,
            "screening.cleared",
            Retention::Security,
            ("screening_clearance", clearance.id.clone()),
        )
        .change("party", null.clone(), party.into())
        .change("list", null.clone(), clearance.source.as_str().into())
        .change("entry_id", null.clone(), clearance.entry_id.as_str().into())
        .change(
            "entry_hash",
            null.clone(),
            clearance.entry_hash.as_str().into(),
        )
        .change("reason", null.clone(), clearance.reason.as_str().into())
        .change("cleared_by", null, clearance.cleared_by.as_str().into());
        crate::audit::record(&mut tx, &event).await?;
        if let Some((case, event)) = case {
            crate::cases::append_event_in(&mut tx, case, event).await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// Every clearance, oldest first (a later one for the same pair supersedes an earlier one).
    pub async fn clearances(&self) -> StoreResult<Vec<Clearance>> {
        sqlx::query(
            "SELECT id, party_type, party_id, source, entry_id, entry_hash, reason, cleared_by, \
             cleared_at FROM screening_clearances ORDER BY cleared_at, id",
        )
        .fetch_all(&self.pool)
        .await?
        .iter()
        .map(clearance_from_row)
        .collect()
    }

    /// Changes whenever a clearance is added: (count, newest time), for cheap polling.
    pub async fn clearance_watermark(&self) -> StoreResult<(i64, i64)> {
        let row = sqlx::query(
            "SELECT COUNT(*) AS n, COALESCE(MAX(cleared_at), 0) AS newest \
             FROM screening_clearances",
        )
        .fetch_one(&self.pool)
        .await?;
        Ok((row.try_get("n")?, row.try_get("newest")?))
    }

    /// How many parties (tenants + recipients) there are.
    pub async fn screening_party_count(&self) -> StoreResult<u64> {
        let row = sqlx::query(
            "SELECT (SELECT COUNT(*) FROM tenants) + (SELECT COUNT(*) FROM recipients) AS n",
        )
        .fetch_one(&self.pool)
        .await?;
        count_at(&row, "n")
    }

    /// Parties after `checkpoint` (a `ScreeningParty::key`), tenants first then recipients, in
    /// id order; at most `limit`.
    pub async fn screening_parties_after(
        &self,
        checkpoint: Option<&str>,
        limit: u32,
    ) -> StoreResult<Vec<ScreeningParty>> {
        let (phase, after) = match checkpoint.and_then(|c| c.split_once(':')) {
            Some(("recipient", id)) => (Party::Recipient, id.to_owned()),
            Some(("tenant", id)) => (Party::Tenant, id.to_owned()),
            _ => (Party::Tenant, String::new()),
        };
        let mut out = Vec::new();
        if phase == Party::Tenant {
            let rows =
                sqlx::query("SELECT id, name FROM tenants WHERE id > $1 ORDER BY id LIMIT $2")
                    .bind(&after)
                    .bind(i64::from(limit))
                    .fetch_all(&self.pool)
                    .await?;
            for row in &rows {
                out.push(ScreeningParty {
                    party: Party::Tenant,
                    id: row.try_get("id")?,
                    name: row.try_get("name")?,
                    country: None,
                    individual: None,
                    tenant: parsed(row, "id")?,
                    environment: KeyEnvironment::Live,
                });
            }
            if out.len() >= limit as usize {
                return Ok(out);
            }
        }
        let after = if phase == Party::Recipient {
            after
        } else {
            String::new()
        };
        let remaining = i64::from(limit) - out.len() as i64;
        let rows = sqlx::query(
            "SELECT id, name, country, kind, tenant_id, environment FROM recipients WHERE id > $1 \
             ORDER BY id LIMIT $2",
        )
        .bind(&after)
        .bind(remaining)
        .fetch_all(&self.pool)
        .await?;
        for row in &rows {
            let kind: String = row.try_get("kind")?;
            out.push(ScreeningParty {
                party: Party::Recipient,
                id: row.try_get("id")?,
                name: row.try_get("name")?,
                country: Some(row.try_get("country")?),
                individual: Some(kind == "individual"),
                tenant: parsed(row, "tenant_id")?,
                environment: parsed(row, "environment")?,
            });
        }
        Ok(out)
    }

    /// Starts a run; `Conflict` when a run with this key exists already.
    pub async fn start_screening_run(
        &self,
        run_key: &str,
        kind: &str,
        list_id: Option<&str>,
        total: u64,
        now: OffsetDateTime,
    ) -> StoreResult<ScreeningRun> {
        let id = uuid::Uuid::now_v7().to_string();
        sqlx::query(
            "INSERT INTO screening_runs (id, run_key, kind, list_id, total, done, hits, \
             checkpoint, started_at, updated_at) VALUES ($1, $2, $3, $4, $5, 0, 0, NULL, $6, $6)",
        )
        .bind(&id)
        .bind(run_key)
        .bind(kind)
        .bind(list_id)
        .bind(to_i64(total))
        .bind(to_micros(now))
        .execute(&self.pool)
        .await
        .map_err(StoreError::from_write)?;
        self.screening_run(&id).await
    }

    pub async fn screening_run(&self, id: &str) -> StoreResult<ScreeningRun> {
        let row = sqlx::query(concat!(
            "SELECT ",
            run_columns!(),
            " FROM screening_runs WHERE id = $1"
        ))
        .bind(id)
        .fetch_optional(&self.pool)
        .await?
        .ok_or(StoreError::NotFound)?;
        run_from_row(&row)
    }

    /// Runs not finished yet, oldest first.
    pub async fn unfinished_screening_runs(&self) -> StoreResult<Vec<ScreeningRun>> {
        sqlx::query(concat!(
            "SELECT ",
            run_columns!(),
            " FROM screening_runs WHERE finished_at IS NULL ORDER BY started_at, id"
        ))
        .fetch_all(&self.pool)
        .await?
        .iter()
        .map(run_from_row)
        .collect()
    }

    /// Saves progress: parties done, hits, and the last party done.
    pub async fn checkpoint_screening_run(
        &self,
        id: &str,
        done: u64,
        hits: u64,
        checkpoint: &str,
        now: OffsetDateTime,
    ) -> StoreResult<()> {
        sqlx::query(
            "UPDATE screening_runs SET done = $1, hits = $2, checkpoint = $3, updated_at = $4 \
             WHERE id = $5",
        )
        .bind(to_i64(done))
        .bind(to_i64(hits))
        .bind(checkpoint)
        .bind(to_micros(now))
        .bind(id)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    pub async fn finish_screening_run(&self, id: &str, now: OffsetDateTime) -> StoreResult<()> {
        sqlx::query("UPDATE screening_runs SET finished_at = $1, updated_at = $1 WHERE id = $2")
            .bind(to_micros(now))
            .bind(id)
            .execute(&self.pool)
            .await?;
        Ok(())
    }
}
