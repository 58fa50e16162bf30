//! Rescreening: every tenant and recipient against the current lists (a `full` run), or against
//! only the added and changed entries of a list version (a `delta` run). Runs save a checkpoint
//! after every batch, so an interrupted run resumes where it stopped. Only parties that reach
//! the review threshold are recorded in `screening_decisions` (an approve for every party every
//! day would bury the hits). Each hit opens or joins its party's open `screening` case in the
//! decision's transaction ([`AlertCases::screening_hit`]), with the hit's score as priority.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use benteng_core::payments::compliance::Verdict;
use benteng_screening::Screener;
use benteng_store::{
    AlertCases, AlertParty, NewScreeningDecision, ScreeningParty, ScreeningRun, Store, StoreError,
};

use crate::{ComplianceError, Screening, lists};

/// Parties screened per batch (one checkpoint per batch).
const BATCH: u32 = 200;

/// Progress of a run, reported after each batch.
#[derive(Debug, Clone, Copy)]
pub struct Progress {
    pub done: u64,
    pub total: u64,
    pub hits: u64,
    /// Parties per second since this process started the run.
    pub rate: f64,
    pub remaining: Option<Duration>,
}

/// How a run ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    Finished { done: u64, hits: u64 },
    Interrupted { done: u64 },
}

/// Starts a full run under `run_key`; `Ok(None)` when a run with that key exists (another
/// instance took it, e.g. today's daily run).
pub async fn start_full(
    store: &Store,
    run_key: &str,
) -> Result<Option<ScreeningRun>, ComplianceError> {
    let total = store.screening_party_count().await?;
    match store
        .start_screening_run(run_key, "full", None, total, benteng_core::now())
        .await
    {
        Ok(run) => Ok(Some(run)),
        Err(StoreError::Conflict) => Ok(None),
        Err(e) => Err(e.into()),
    }
}

/// Starts a delta run for a stored list version.
pub async fn start_delta(store: &Store, list_id: &str) -> Result<ScreeningRun, ComplianceError> {
    let total = store.screening_party_count().await?;
    Ok(store
        .start_screening_run(
            &format!("delta:{list_id}"),
            "delta",
            Some(list_id),
            total,
            benteng_core::now(),
        )
        .await?)
}

/// The screener a delta run uses: the added and changed entries of the version.
async fn delta_screener(store: &Store, list_id: &str) -> Result<Screener, ComplianceError> {
    let version = store.list_version(list_id).await?;
    let json = store.list_entries(list_id).await?;
    let list = lists::decode_stored(&version.source, &version.version, &json)?;
    let wanted: std::collections::HashSet<&str> = version
        .added
        .iter()
        .chain(version.changed.iter())
        .map(String::as_str)
        .collect();
    let entries = list
        .entries
        .iter()
        .filter(|e| wanted.contains(e.id.as_str()))
        .cloned()
        .collect::<Vec<_>>();
    let screener = Screener::new();
    if !entries.is_empty() {
        let mut changed = benteng_screening::SanctionsList::from_entries(list.source, entries)?;
        changed.version = version.version;
        screener.replace_list(changed);
    }
    Ok(screener)
}

/// Who a case about `party` is about.
fn case_party(party: &ScreeningParty) -> AlertParty {
    match party.party {
        benteng_core::payments::compliance::Party::Tenant => AlertParty::Tenant(party.tenant),
        benteng_core::payments::compliance::Party::Recipient => AlertParty::Recipient {
            id: party.id.clone(),
            tenant: party.tenant,
        },
    }
}

/// Runs (or resumes) `run` to the end, or until `stop` is set; each hit opens or joins a case
/// in `cases`' inbox. `progress` is called after each batch.
pub async fn run(
    screening: &Screening,
    store: &Store,
    cases: &AlertCases,
    run: &ScreeningRun,
    stop: &Arc<AtomicBool>,
    progress: &mut (dyn FnMut(Progress) + Send),
) -> Result<Outcome, ComplianceError> {
    let delta;
    let (screener, occasion) = match (&*run.kind, &run.list_id) {
        ("delta", Some(list_id)) => {
            delta = delta_screener(store, list_id).await?;
            (&delta, "list_update")
        }
        _ => (screening.screener(), "rescreen"),
    };
    let mut done = run.done;
    let mut hits = run.hits;
    let mut checkpoint = run.checkpoint.clone();
    let started = Instant::now();
    let started_done = done;
    let nothing_to_screen = screener.lists().is_empty() && run.kind == "delta";
    loop {
        if stop.load(Ordering::Relaxed) {
            return Ok(Outcome::Interrupted { done });
        }
        let parties = if nothing_to_screen {
            Vec::new()
        } else {
            store
                .screening_parties_after(checkpoint.as_deref(), BATCH)
                .await?
        };
        let Some(last) = parties.last().map(|p| p.key()) else {
            break;
        };
        for party in &parties {
            let query =
                Screening::party_query(&party.name, party.country.as_deref(), party.individual);
            let result = screening.screen_party_with(screener, party.party, &party.id, &query);
            if result.verdict != Verdict::Approve {
                hits += 1;
                let id = uuid::Uuid::now_v7();
                let at = benteng_core::now();
                let case =
                    cases.screening_hit(id, case_party(party), party.environment, result.score, at);
                store
                    .record_screening_decision(
                        &NewScreeningDecision {
                            id,
                            party: party.party,
                            party_id: party.id.clone(),
                            transfer_id: None,
                            occasion,
                            score: result.score,
                            verdict: result.verdict.as_str(),
                            explanation: result.explanation_json(),
                            at,
                        },
                        Some(&case),
                    )
                    .await?;
            }
        }
        done += parties.len() as u64;
        store
            .checkpoint_screening_run(&run.id, done, hits, &last, benteng_core::now())
            .await?;
        checkpoint = Some(last);
        let elapsed = started.elapsed().as_secs_f64();
        let rate = if elapsed > 0.0 {
            (done - started_done) as f64 / elapsed
        } else {
            0.0
        };
        let total = run.total.max(done);
        let remaining = (rate > 0.0).then(|| Duration::from_secs_f64((total - done) as f64 / rate));
        progress(Progress {
            done,
            total,
            hits,
            rate,
            remaining,
        });
    }
    store
        .finish_screening_run(&run.id, benteng_core::now())
        .await?;
    Ok(Outcome::Finished { done, hits })
}

/// The daily rescreen of a server: once per `interval` (keyed by the period, so among several
/// instances exactly one runs each period), against the lists loaded at the time.
pub fn spawn_scheduled(
    screening: Arc<Screening>,
    store: Store,
    cases: AlertCases,
    interval: Duration,
) {
    if interval.is_zero() {
        return;
    }
    tokio::spawn(async move {
        let stop = Arc::new(AtomicBool::new(false));
        loop {
            let now = benteng_core::now().unix_timestamp();
            let secs = interval.as_secs().max(1) as i64;
            let period = now / secs;
            let next = (period + 1) * secs;
            // The first period's run happens at its end, not at start-up: a restart loop must
            // not rescreen the whole customer base each time.
            tokio::time::sleep(Duration::from_secs((next - now).max(1) as u64)).await;
            let key = format!("scheduled:{secs}:{}", period + 1);
            match start_full(&store, &key).await {
                Ok(Some(run_row)) => {
                    tracing::info!(run = %run_row.id, total = run_row.total, "scheduled rescreen started");
                    let mut report = |p: Progress| {
                        tracing::info!(
                            done = p.done,
                            total = p.total,
                            hits = p.hits,
                            rate = p.rate,
                            "rescreen progress"
                        );
                    };
                    match run(&screening, &store, &cases, &run_row, &stop, &mut report).await {
                        Ok(outcome) => tracing::info!(?outcome, "scheduled rescreen done"),
                        Err(error) => {
                            tracing::warn!(%error, "scheduled rescreen failed; `benteng screen rescreen` resumes it")
                        }
                    }
                }
                Ok(None) => {}
                Err(error) => tracing::warn!(%error, "could not start the scheduled rescreen"),
            }
        }
    });
}
