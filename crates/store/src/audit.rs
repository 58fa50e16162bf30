//! The audit trail in SQL.
//!
//! Writers append events inside the transaction of the change they record; nothing about the
//! chain is computed there, so concurrent writers never contend on a chain head. A sealer (one
//! at a time: an advisory lock on PostgreSQL, the single writer on SQLite) then appends each
//! unsealed event to its retention class's hash chain: `hash = SHA-256(prev_hash "\n" document)`.
//! `verify` walks every chain from its genesis or its latest purge checkpoint and names the
//! first row that was changed, removed or inserted behind the triggers' back.

use benteng_core::audit::{AuditEvent, Retention};
use benteng_core::ids::TenantId;
use futures::TryStreamExt;
use sqlx::{AnyConnection, Row};

use crate::rows::{insert_rows, now_micros, to_micros};
use crate::{Backend, Cursor, Page, Store, StoreError, StoreResult};

const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";
/// Arbitrary constant naming the sealer's PostgreSQL advisory lock.
const PG_SEAL_LOCK: i64 = 0x0062_656e_7465_6e68;
/// Events sealed per class in one pass.
const SEAL_BATCH: i64 = 5_000;
/// How far before the newest sealed event a quick sealing pass looks (10 minutes): longer than
/// any transaction that writes audit events stays open.
const SEAL_LOOKBACK_MICROS: i64 = 10 * 60 * 1_000_000;
/// Chain rows per INSERT: one round trip each, well under both backends' parameter limits.
const SEAL_ROWS_PER_STATEMENT: usize = 500;

/// Appends an event; call it with the transaction of the change it records.
pub(crate) async fn record(conn: &mut AnyConnection, event: &AuditEvent) -> StoreResult<()> {
    record_all(conn, std::slice::from_ref(event)).await
}

/// Appends several events in one statement (one round trip), in the transaction of the change.
pub(crate) async fn record_all(conn: &mut AnyConnection, events: &[AuditEvent]) -> StoreResult<()> {
    if events.is_empty() {
        return Ok(());
    }
    let query = sqlx::query(insert_rows(AUDIT_INSERT, events.len(), AUDIT_COLUMNS));
    bind_events(query, events)?.execute(&mut *conn).await?;
    Ok(())
}

/// The head of an insert of audit events, and its columns per row, as [`bind_events`] binds them.
pub(crate) const AUDIT_INSERT: &str = "INSERT INTO audit_events (id, occurred_at, event_type, \
     retention, tenant_id, document, expires_at) VALUES";
pub(crate) const AUDIT_COLUMNS: usize = 7;

/// Binds `events` as rows of [`AUDIT_INSERT`].
pub(crate) fn bind_events<'q>(
    mut query: sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments>,
    events: &[AuditEvent],
) -> StoreResult<sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments>> {
    for event in events {
        let document = String::from_utf8(event.canonical())
            .map_err(|_| StoreError::Corrupt("audit document is not UTF-8".to_owned()))?;
        query = query
            .bind(event.id.to_string())
            .bind(to_micros(event.timestamp))
            .bind(event.event_type.clone())
            .bind(event.retention.as_str())
            .bind(event.context.tenant_id.map(|t| t.to_string()))
            .bind(document)
            .bind(to_micros(event.timestamp + event.retention.keep_for()));
    }
    Ok(query)
}

fn chain_hash(prev: &str, document: &str) -> String {
    let mut input = Vec::with_capacity(prev.len() + 1 + document.len());
    input.extend_from_slice(prev.as_bytes());
    input.push(b'\n');
    input.extend_from_slice(document.as_bytes());
    hex::encode(benteng_crypto::sha256(&input))
}

/// The first broken link found, with the row that breaks it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditBreak {
    pub retention: Retention,
    pub position: i64,
    pub event_id: String,
    pub problem: String,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AuditReport {
    /// Chain rows checked, per class.
    pub checked: Vec<(Retention, i64)>,
    /// Where each class's chain was found to start and end (every class, in order, unless the
    /// walk stopped at a break).
    pub chains: Vec<ChainState>,
    /// Events not sealed into a chain yet.
    pub unsealed: i64,
    pub first_break: Option<AuditBreak>,
}

/// A place in a class's chain: its position and the chain hash there.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChainPoint {
    pub position: i64,
    pub hash: String,
}

/// A checkpoint a purge left, with the signature `benteng audit purge` made over it (none on
/// checkpoints from before migration 0028).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Checkpoint {
    pub point: ChainPoint,
    pub signature: Option<String>,
}

/// What a verification walk found of one class's chain. The store cannot check signatures (the
/// key is sealed under the KEK): the caller checks `resumed_from`'s and compares `head` with
/// an anchor.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChainState {
    pub retention: Retention,
    /// The checkpoint the chain continues from (its rows before it were purged); `None`: the
    /// chain starts at its genesis.
    pub resumed_from: Option<Checkpoint>,
    /// The last verified row, or the checkpoint when every row was purged; `None`: empty.
    pub head: Option<ChainPoint>,
}

/// The head a class's chain continues from: its last row, or the checkpoint a purge left.
async fn head(conn: &mut AnyConnection, retention: Retention) -> StoreResult<(i64, String)> {
    let last = sqlx::query(
        "SELECT position, hash FROM audit_chain WHERE retention = $1 ORDER BY position DESC LIMIT 1",
    )
    .bind(retention.as_str())
    .fetch_optional(&mut *conn)
    .await?;
    let checkpoint = sqlx::query(
        "SELECT position, hash FROM audit_checkpoints WHERE retention = $1 \
         ORDER BY position DESC LIMIT 1",
    )
    .bind(retention.as_str())
    .fetch_optional(&mut *conn)
    .await?;
    let read = |row: Option<sqlx::any::AnyRow>| -> StoreResult<Option<(i64, String)>> {
        row.map(|r| Ok((r.try_get("position")?, r.try_get("hash")?)))
            .transpose()
    };
    let candidates = [read(last)?, read(checkpoint)?];
    Ok(candidates
        .into_iter()
        .flatten()
        .max_by_key(|(position, _)| *position)
        .unwrap_or((0, GENESIS.to_owned())))
}

/// The audit sealer's backlog (see [`Store::audit_seal_backlog`]).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SealBacklog {
    /// Events written and not yet sealed.
    pub unsealed: i64,
    /// When the oldest of them occurred.
    pub oldest: Option<time::OffsetDateTime>,
}

/// How far back a sealing pass looks for unsealed events.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Reach {
    All,
    Recent,
}

/// When the newest event of a class's chain occurred (by position: the last sealed).
async fn newest_sealed(conn: &mut AnyConnection, retention: Retention) -> StoreResult<Option<i64>> {
    let row = sqlx::query(
        "SELECT e.occurred_at FROM audit_chain c JOIN audit_events e ON e.id = c.event_id \
         WHERE c.retention = $1 ORDER BY c.position DESC LIMIT 1",
    )
    .bind(retention.as_str())
    .fetch_optional(&mut *conn)
    .await?;
    Ok(row.map(|r| r.try_get("occurred_at")).transpose()?)
}

impl Store {
    /// Appends an event on its own (events not tied to another write: refused logins, CLI
    /// reads, configuration loads).
    pub async fn audit(&self, event: &AuditEvent) -> StoreResult<()> {
        let mut conn = self.pool.acquire().await?;
        record(&mut conn, event).await
    }

    /// Seals every pending event into its class's chain; returns how many were sealed. When
    /// another process sealed at the same moment (SQLite has no advisory lock: the second
    /// writer's snapshot is stale, or its chain position is taken), this pass seals nothing and
    /// the next one continues from the new head.
    pub async fn seal_audit(&self) -> StoreResult<usize> {
        self.seal(Reach::All).await
    }

    /// Like [`Store::seal_audit`], but looks only at events that occurred at most ten minutes
    /// before the newest sealed one, so a pass costs the same however
    /// long the trail grows. An event committed later than that (a transaction held open for
    /// minutes) waits for the next full pass; the server makes one every few minutes.
    pub async fn seal_recent_audit(&self) -> StoreResult<usize> {
        self.seal(Reach::Recent).await
    }

    async fn seal(&self, reach: Reach) -> StoreResult<usize> {
        match self.seal_pass(reach).await {
            Err(StoreError::Database(sqlx::Error::Database(error)))
                if error.is_unique_violation()
                    || error.message().contains("locked")
                    || error.message().contains("busy") =>
            {
                Ok(0)
            }
            other => other,
        }
    }

    async fn seal_pass(&self, reach: Reach) -> StoreResult<usize> {
        let mut tx = self.pool.begin().await?;
        if self.backend == Backend::Postgres {
            let locked: bool = sqlx::query("SELECT pg_try_advisory_xact_lock($1)")
                .bind(PG_SEAL_LOCK)
                .fetch_one(&mut *tx)
                .await?
                .try_get(0)?;
            if !locked {
                return Ok(0); // another instance is sealing right now
            }
        }
        let mut sealed = 0;
        let now = now_micros();
        for retention in Retention::ALL {
            let (mut position, mut prev) = head(&mut tx, retention).await?;
            let since = match reach {
                Reach::All => i64::MIN,
                Reach::Recent => newest_sealed(&mut tx, retention)
                    .await?
                    .map_or(i64::MIN, |at| at.saturating_sub(SEAL_LOOKBACK_MICROS)),
            };
            let pending = sqlx::query(
                "SELECT e.id, e.document FROM audit_events e \
                 LEFT JOIN audit_chain c ON c.event_id = e.id \
                 WHERE c.event_id IS NULL AND e.retention = $1 AND e.occurred_at >= $3 \
                 ORDER BY e.occurred_at, e.id LIMIT $2",
            )
            .bind(retention.as_str())
            .bind(SEAL_BATCH)
            .bind(since)
            .fetch_all(&mut *tx)
            .await?;
            let mut links = Vec::with_capacity(pending.len());
            for row in &pending {
                let id: String = row.try_get("id")?;
                let document: String = row.try_get("document")?;
                let hash = chain_hash(&prev, &document);
                position += 1;
                links.push((
                    position,
                    id,
                    std::mem::replace(&mut prev, hash.clone()),
                    hash,
                ));
            }
            for chunk in links.chunks(SEAL_ROWS_PER_STATEMENT) {
                let mut query = sqlx::query(insert_rows(
                    "INSERT INTO audit_chain (retention, position, event_id, prev_hash, hash, \
                     sealed_at) VALUES",
                    chunk.len(),
                    6,
                ));
                for (position, id, prev_hash, hash) in chunk {
                    query = query
                        .bind(retention.as_str())
                        .bind(*position)
                        .bind(id.as_str())
                        .bind(prev_hash.as_str())
                        .bind(hash.as_str())
                        .bind(now);
                }
                query.execute(&mut *tx).await?;
            }
            sealed += links.len();
        }
        tx.commit().await?;
        Ok(sealed)
    }

    /// How far the sealer is behind: the events written but not yet sealed into their chain,
    /// and when the oldest of them occurred. It reads what a quick sealing pass reads (events
    /// from ten minutes before each chain's newest sealed one), so it costs what a pass costs;
    /// an event committed later than that waits for the next full pass and is not counted.
    pub async fn audit_seal_backlog(&self) -> StoreResult<SealBacklog> {
        let mut conn = self.pool.acquire().await?;
        let mut backlog = SealBacklog::default();
        for retention in Retention::ALL {
            let since = newest_sealed(&mut conn, retention)
                .await?
                .map_or(i64::MIN, |at| at.saturating_sub(SEAL_LOOKBACK_MICROS));
            let row = sqlx::query(
                "SELECT COUNT(*) AS n, MIN(e.occurred_at) AS oldest FROM audit_events e \
                 LEFT JOIN audit_chain c ON c.event_id = e.id \
                 WHERE c.event_id IS NULL AND e.retention = $1 AND e.occurred_at >= $2",
            )
            .bind(retention.as_str())
            .bind(since)
            .fetch_one(&mut *conn)
            .await?;
            backlog.unsealed += row.try_get::<i64, _>("n")?;
            if let Some(oldest) = row.try_get::<Option<i64>, _>("oldest")? {
                let oldest = crate::rows::from_micros(oldest)?;
                backlog.oldest = Some(backlog.oldest.map_or(oldest, |seen| seen.min(oldest)));
            }
        }
        Ok(backlog)
    }

    /// Walks every chain and stops at the first broken link.
    pub async fn verify_audit(&self) -> StoreResult<AuditReport> {
        let mut conn = self.pool.acquire().await?;
        let mut report = AuditReport::default();
        for retention in Retention::ALL {
            let checkpoints: Vec<Checkpoint> = sqlx::query(
                "SELECT position, hash, signature FROM audit_checkpoints WHERE retention = $1 \
                 ORDER BY position",
            )
            .bind(retention.as_str())
            .fetch_all(&mut *conn)
            .await?
            .iter()
            .map(|r| {
                Ok(Checkpoint {
                    point: ChainPoint {
                        position: r.try_get("position")?,
                        hash: r.try_get("hash")?,
                    },
                    signature: r.try_get("signature")?,
                })
            })
            .collect::<StoreResult<_>>()?;
            let mut resumed_from = None;
            let mut head = None;
            let mut rows = sqlx::query(
                "SELECT c.position, c.event_id, c.prev_hash, c.hash, e.document, e.event_type, \
                 e.retention AS event_retention, e.tenant_id, e.occurred_at \
                 FROM audit_chain c LEFT JOIN audit_events e ON e.id = c.event_id \
                 WHERE c.retention = $1 ORDER BY c.position",
            )
            .bind(retention.as_str())
            .fetch(&mut *conn);
            let mut expected: Option<(i64, String)> = None;
            let mut checked = 0;
            while let Some(row) = rows.try_next().await? {
                let position: i64 = row.try_get("position")?;
                let event_id: String = row.try_get("event_id")?;
                let broken = |problem: String| AuditBreak {
                    retention,
                    position,
                    event_id: event_id.clone(),
                    problem,
                };
                let (want_position, want_prev) = match &expected {
                    Some(previous) => previous.clone(),
                    // The chain starts at its genesis or right after a purge checkpoint.
                    None => {
                        resumed_from = checkpoints
                            .iter()
                            .rev()
                            .find(|c| c.point.position == position - 1)
                            .cloned();
                        resumed_from
                            .as_ref()
                            .map(|c| (c.point.position + 1, c.point.hash.clone()))
                            .unwrap_or((1, GENESIS.to_owned()))
                    }
                };
                if position != want_position {
                    report.first_break = Some(broken(format!(
                        "chain position {want_position} is missing (rows removed)"
                    )));
                    break;
                }
                let prev: String = row.try_get("prev_hash")?;
                if prev != want_prev {
                    report.first_break =
                        Some(broken("previous-hash link does not match".to_owned()));
                    break;
                }
                let Some(document) = row.try_get::<Option<String>, _>("document")? else {
                    report.first_break = Some(broken("the event was removed".to_owned()));
                    break;
                };
                let hash: String = row.try_get("hash")?;
                if chain_hash(&prev, &document) != hash {
                    report.first_break = Some(broken("the event's content was changed".to_owned()));
                    break;
                }
                if let Some(problem) = columns_disagree(&row, &document, retention)? {
                    report.first_break = Some(broken(problem));
                    break;
                }
                head = Some(ChainPoint {
                    position,
                    hash: hash.clone(),
                });
                expected = Some((position + 1, hash));
                checked += 1;
            }
            drop(rows);
            report.checked.push((retention, checked));
            if report.first_break.is_some() {
                return Ok(report);
            }
            if head.is_none() {
                // Every row was purged (or none was sealed): the chain ends at its checkpoint.
                resumed_from = checkpoints.last().cloned();
                head = resumed_from.as_ref().map(|c| c.point.clone());
            }
            report.chains.push(ChainState {
                retention,
                resumed_from,
                head,
            });
        }
        report.unsealed = sqlx::query(
            "SELECT CAST(COUNT(*) AS BIGINT) FROM audit_events e \
             LEFT JOIN audit_chain c ON c.event_id = e.id WHERE c.event_id IS NULL",
        )
        .fetch_one(&mut *conn)
        .await?
        .try_get(0)?;
        Ok(report)
    }

    /// The chain hash at `position` of a class's chain, if that row is still there.
    pub async fn audit_chain_hash(
        &self,
        retention: Retention,
        position: i64,
    ) -> StoreResult<Option<String>> {
        Ok(
            sqlx::query("SELECT hash FROM audit_chain WHERE retention = $1 AND position = $2")
                .bind(retention.as_str())
                .bind(position)
                .fetch_optional(&self.pool)
                .await?
                .map(|r| r.try_get("hash"))
                .transpose()?,
        )
    }

    /// Removes the expired prefix of one class's chain, leaving a checkpoint (position and hash,
    /// with `sign`'s signature over them) so the rest still verifies, and records the purge
    /// itself as an audit event. Returns how many events went.
    ///
    /// On PostgreSQL the deletion runs inside `audit_purge(…)`, a SECURITY DEFINER function only
    /// roles granted EXECUTE may call (not the application's; docs/operations.md): the
    /// triggers refuse anyone else's DELETE, whatever session setting they set. SQLite has no
    /// roles; there the permit row is the guard against accidents, and the signature is what
    /// tells a real checkpoint from one written into the file.
    pub async fn purge_audit(
        &self,
        retention: Retention,
        sign: impl FnOnce(Retention, &ChainPoint) -> StoreResult<String>,
        purge_event: &AuditEvent,
    ) -> StoreResult<i64> {
        // Seal first so every expired event is part of the prefix being cut.
        self.seal_audit().await?;
        let until = now_micros();
        let mut tx = self.pool.begin().await?;
        // The first position still needed: everything before it has expired.
        let keep_from: Option<i64> = sqlx::query(
            "SELECT MIN(c.position) FROM audit_chain c JOIN audit_events e ON e.id = c.event_id \
             WHERE c.retention = $1 AND e.expires_at >= $2",
        )
        .bind(retention.as_str())
        .bind(until)
        .fetch_one(&mut *tx)
        .await?
        .try_get(0)?;
        let cut: Option<ChainPoint> = sqlx::query(
            "SELECT position, hash FROM audit_chain WHERE retention = $1 \
             AND ($2 < 0 OR position < $2) ORDER BY position DESC LIMIT 1",
        )
        .bind(retention.as_str())
        .bind(keep_from.unwrap_or(-1))
        .fetch_optional(&mut *tx)
        .await?
        .map(|r| {
            Ok::<_, StoreError>(ChainPoint {
                position: r.try_get("position")?,
                hash: r.try_get("hash")?,
            })
        })
        .transpose()?;
        let mut purged = 0;
        if let Some(cut) = cut {
            let signature = sign(retention, &cut)?;
            purged = match self.backend {
                Backend::Postgres => sqlx::query("SELECT audit_purge($1, $2, $3, $4, $5)")
                    .bind(retention.as_str())
                    .bind(cut.position)
                    .bind(cut.hash.as_str())
                    .bind(signature.as_str())
                    .bind(until)
                    .fetch_one(&mut *tx)
                    .await?
                    .try_get(0)?,
                Backend::Sqlite => {
                    purge_sqlite(&mut tx, retention, &cut, &signature, until).await?
                }
            };
        }
        let mut event = purge_event.clone();
        event.changes = serde_json::json!({"purged": {"from": null, "to": purged},
                                           "class": {"from": null, "to": retention.as_str()}});
        record(&mut tx, &event).await?;
        tx.commit().await?;
        Ok(purged)
    }

    /// The audit anchor keys, oldest first.
    pub async fn audit_anchor_keys(&self) -> StoreResult<Vec<AnchorKeyRow>> {
        sqlx::query("SELECT kid, sealed_key FROM audit_anchor_keys ORDER BY created_at, kid")
            .fetch_all(&self.pool)
            .await?
            .iter()
            .map(|row| {
                Ok(AnchorKeyRow {
                    kid: row.try_get("kid")?,
                    sealed_key: row.try_get("sealed_key")?,
                })
            })
            .collect()
    }

    /// Stores a new audit anchor key with its `audit.anchor_key_created` event.
    pub async fn insert_audit_anchor_key(
        &self,
        key: &AnchorKeyRow,
        context: &benteng_core::audit::AuditContext,
    ) -> StoreResult<()> {
        let mut tx = self.pool.begin().await?;
        sqlx::query(
            "INSERT INTO audit_anchor_keys (kid, sealed_key, created_at) VALUES ($1, $2, $3)",
        )
        .bind(key.kid.as_str())
        .bind(key.sealed_key.as_str())
        .bind(now_micros())
        .execute(&mut *tx)
        .await
        .map_err(StoreError::from_write)?;
        let event = AuditEvent::new(
            context,
            "audit.anchor_key_created",
            Retention::Security,
            ("audit_anchor_key", key.kid.clone()),
        );
        record(&mut tx, &event).await?;
        tx.commit().await?;
        Ok(())
    }

    /// Events as stored documents, oldest first, within `[since, until)` (Unix micros), of one
    /// tenant or of all, of one event type or of all; `after` is the previous page's `next`. Pages follow the order the
    /// events are listed in, `(occurred_at, id)`: ids alone do not follow time (an event's time
    /// may come from another clock, or be set by its writer).
    pub async fn audit_documents(
        &self,
        tenant: Option<TenantId>,
        event_type: Option<&str>,
        since: i64,
        until: i64,
        after: Option<Cursor>,
        limit: u32,
    ) -> StoreResult<Page<String>> {
        // Without a cursor, every event at or after `since` is after (since, "").
        let (after_time, after_id) = match after {
            Some(cursor) => (cursor.created_at, cursor.id.hyphenated().to_string()),
            None => (since, String::new()),
        };
        let rows = sqlx::query(
            "SELECT occurred_at, id, document FROM audit_events \
             WHERE ($1 = '' OR tenant_id = $1) AND occurred_at >= $2 AND occurred_at < $3 \
             AND occurred_at >= $4 AND (occurred_at > $4 OR id > $5) \
             AND ($7 = '' OR event_type = $7) \
             ORDER BY occurred_at, id LIMIT $6",
        )
        .bind(tenant.map(|t| t.to_string()).unwrap_or_default())
        .bind(since)
        .bind(until)
        .bind(after_time)
        .bind(after_id)
        .bind(i64::from(limit) + 1)
        .bind(event_type.unwrap_or_default())
        .fetch_all(&self.pool)
        .await?;
        let mut items = Vec::with_capacity(rows.len());
        let mut next = None;
        for row in rows.iter().take(limit as usize) {
            let id: String = row.try_get("id")?;
            next = Some(Cursor {
                created_at: row.try_get("occurred_at")?,
                id: uuid::Uuid::try_parse(&id)
                    .map_err(|_| StoreError::Corrupt("audit event id".to_owned()))?,
            });
            items.push(row.try_get("document")?);
        }
        Ok(Page {
            items,
            next: next.filter(|_| rows.len() > limit as usize),
        })
    }
}

/// One audit anchor key, its private half sealed under the KEK.
#[derive(Debug, Clone)]
pub struct AnchorKeyRow {
    pub kid: String,
    pub sealed_key: String,
}

/// The purge on SQLite: the permit row lets the triggers pass for rows expired before `until`.
async fn purge_sqlite(
    conn: &mut AnyConnection,
    retention: Retention,
    cut: &ChainPoint,
    signature: &str,
    until: i64,
) -> StoreResult<i64> {
    sqlx::query("INSERT INTO audit_purge_permit (until) VALUES ($1)")
        .bind(until)
        .execute(&mut *conn)
        .await?;
    sqlx::query(
        "INSERT INTO audit_checkpoints (retention, position, hash, created_at, signature) \
         VALUES ($1, $2, $3, $4, $5)",
    )
    .bind(retention.as_str())
    .bind(cut.position)
    .bind(cut.hash.as_str())
    .bind(until)
    .bind(signature)
    .execute(&mut *conn)
    .await?;
    let ids: Vec<String> =
        sqlx::query("SELECT event_id FROM audit_chain WHERE retention = $1 AND position <= $2")
            .bind(retention.as_str())
            .bind(cut.position)
            .fetch_all(&mut *conn)
            .await?
            .iter()
            .map(|r| r.try_get("event_id"))
            .collect::<Result<_, _>>()?;
    sqlx::query("DELETE FROM audit_chain WHERE retention = $1 AND position <= $2")
        .bind(retention.as_str())
        .bind(cut.position)
        .execute(&mut *conn)
        .await?;
    for id in &ids {
        sqlx::query("DELETE FROM audit_events WHERE id = $1")
            .bind(id)
            .execute(&mut *conn)
            .await?;
    }
    sqlx::query("DELETE FROM audit_purge_permit")
        .execute(&mut *conn)
        .await?;
    Ok(i64::try_from(ids.len()).unwrap_or(i64::MAX))
}

/// The indexed columns must say what the sealed document says, or a row could be hidden from a
/// tenant (or moved to a shorter retention) without touching its hash.
fn columns_disagree(
    row: &sqlx::any::AnyRow,
    document: &str,
    retention: Retention,
) -> StoreResult<Option<String>> {
    let parsed: serde_json::Value = match serde_json::from_str(document) {
        Ok(value) => value,
        Err(_) => return Ok(Some("the event's document is not JSON".to_owned())),
    };
    let event_type: String = row.try_get("event_type")?;
    let event_retention: String = row.try_get("event_retention")?;
    let tenant: Option<String> = row.try_get("tenant_id")?;
    let ok = parsed["event_type"] == event_type.as_str()
        && parsed["retention"] == event_retention.as_str()
        && event_retention == retention.as_str()
        && parsed["actor"]["tenant_id"].as_str() == tenant.as_deref();
    Ok((!ok).then(|| "the event's indexed columns were changed".to_owned()))
}
