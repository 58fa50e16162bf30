//! The compliance step of the payments core: every transfer's sending tenant and recipient are
//! screened against the sanctions/PEP lists loaded in a [`Screener`], and the result becomes the
//! transfer's [`ComplianceDecision`] (block, review or approve, with the explanation).
//!
//! * [`Screening`] holds the in-memory screener, the analysts' clearances and the thresholds;
//!   it implements [`ComplianceCheck`] (synchronous: screening is in memory).
//! * [`lists`] stores a new list version (only a completely parsed file) with its diff, and
//!   [`Screening::sync`] loads the newest stored version of every list, so every instance
//!   screens against the same versions.
//! * [`rescreen`] screens every party again (daily, or the changed entries of a list update),
//!   with a checkpoint so an interrupted run resumes.
//!
//! Screening cannot fail open: with no list loaded, or a name that cannot be screened, the
//! verdict is at least `Review`.

pub mod lists;
pub mod monitoring;
pub mod post_event;
pub mod rescreen;

use std::collections::HashMap;
use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;

use benteng_core::payments::compliance::{
    ComplianceCheck, ComplianceDecision, Party, PartyScreening, TransferSubject, Verdict,
};
use benteng_screening::{
    Decision, EntityType, Entry, ListSource, Match, Query, QueryError, SanctionsList, Screener,
};
use benteng_store::{Store, StoreError};
use serde::Serialize;
use sha2::{Digest, Sha256};

pub use benteng_screening;

/// Score thresholds: above `block` blocks, `review..=block` holds for review, below approves.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Thresholds {
    pub review: u8,
    pub block: u8,
}

impl Default for Thresholds {
    fn default() -> Self {
        Self {
            review: benteng_screening::REVIEW_THRESHOLD,
            block: benteng_screening::BLOCK_THRESHOLD,
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ComplianceError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("stored list {list} is invalid: {message}")]
    CorruptList { list: String, message: String },
    #[error("{0}")]
    List(#[from] benteng_screening::ListError),
    #[error("{0}")]
    Invalid(String),
}

/// Key of a clearance: party type, party id, list, entry id.
type ClearanceKey = (String, String, String, String);

/// The screening service of one process.
pub struct Screening {
    screener: Arc<Screener>,
    thresholds: Thresholds,
    /// Cleared pairs and the entry content hash each clearance holds for.
    clearances: RwLock<HashMap<ClearanceKey, String>>,
    /// Stored list row id loaded per source, and the clearance watermark last seen.
    synced: Mutex<SyncState>,
}

#[derive(Default)]
struct SyncState {
    loaded: HashMap<String, String>,
    clearance_mark: Option<(i64, i64)>,
}

/// One match in an explanation.
#[derive(Debug, Clone, Serialize)]
pub struct MatchExplanation {
    pub list: String,
    pub entry_id: String,
    pub entry_name: String,
    pub matched_name: String,
    pub method: benteng_screening::MatchMethod,
    pub score: u8,
    pub name_score: u8,
    pub programs: Vec<String>,
    pub adjustments: Vec<benteng_screening::Adjustment>,
    /// An analyst cleared this pair; it does not count toward the verdict.
    pub cleared: bool,
}

/// The result of screening one party.
#[derive(Debug, Clone, Serialize)]
pub struct PartyResult {
    pub party: Party,
    pub score: u8,
    pub verdict: Verdict,
    /// Why the party could not be screened, when it could not (the verdict is then `review`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    pub matches: Vec<MatchExplanation>,
}

impl PartyResult {
    fn explanation_json(&self) -> String {
        serde_json::to_string(self).unwrap_or_else(|_| "{}".to_owned())
    }

    /// One line per match that counts, for the decision's reasons.
    fn reasons(&self, thresholds: Thresholds) -> Vec<String> {
        let party = self.party.as_str();
        if let Some(error) = &self.error {
            return vec![format!("{party} not screened: {error}")];
        }
        self.matches
            .iter()
            .filter(|m| !m.cleared && m.score >= thresholds.review)
            .map(|m| {
                format!(
                    "{party} matches {} entry {} \"{}\" (matched name \"{}\", {}, score {})",
                    m.list,
                    m.entry_id,
                    m.entry_name,
                    m.matched_name,
                    method_name(m.method),
                    m.score
                )
            })
            .collect()
    }
}

fn method_name(method: benteng_screening::MatchMethod) -> String {
    serde_json::to_value(method)
        .ok()
        .and_then(|v| v.as_str().map(str::to_owned))
        .unwrap_or_else(|| format!("{method:?}"))
}

/// Content hash of a list entry: a clearance holds only while it is unchanged.
pub fn entry_hash(entry: &Entry) -> String {
    let json = serde_json::to_vec(entry).unwrap_or_default();
    hex::encode(Sha256::digest(&json))
}

fn verdict_of(decision: Decision) -> Verdict {
    match decision {
        Decision::Approve => Verdict::Approve,
        Decision::Review => Verdict::Review,
        Decision::Block => Verdict::Block,
    }
}

impl Screening {
    pub fn new(thresholds: Thresholds) -> Self {
        Self {
            screener: Arc::new(Screener::new()),
            thresholds,
            clearances: RwLock::new(HashMap::new()),
            synced: Mutex::new(SyncState::default()),
        }
    }

    pub fn thresholds(&self) -> Thresholds {
        self.thresholds
    }

    pub fn screener(&self) -> &Screener {
        &self.screener
    }

    /// Searches the loaded lists (ad hoc search: no party, no clearances).
    pub fn search(&self, query: &Query) -> Result<Vec<Match>, QueryError> {
        self.screener.search(query)
    }

    /// The verdict a score gets.
    pub fn verdict(&self, score: u8) -> Verdict {
        verdict_of(Decision::from_score(
            score,
            self.thresholds.review,
            self.thresholds.block,
        ))
    }

    fn is_cleared(&self, party: Party, party_id: &str, screener: &Screener, m: &Match) -> bool {
        let key = (
            party.as_str().to_owned(),
            party_id.to_owned(),
            m.source.to_string(),
            m.entry_id.clone(),
        );
        let hash = match self.clearances.read() {
            Ok(map) => map.get(&key).cloned(),
            Err(poisoned) => poisoned.into_inner().get(&key).cloned(),
        };
        let Some(hash) = hash else {
            return false;
        };
        screener
            .list(&m.source)
            .and_then(|list| list.get(&m.entry_id).map(entry_hash))
            .is_some_and(|current| current == hash)
    }

    /// Screens one party against `screener` (the current lists, or the changed entries of a
    /// list update), honouring clearances. Never fails: a name that cannot be screened, or no
    /// list at all, gives `review`.
    pub fn screen_party_with(
        &self,
        screener: &Screener,
        party: Party,
        party_id: &str,
        query: &Query,
    ) -> PartyResult {
        let not_screened = |error: String| PartyResult {
            party,
            score: self.thresholds.review,
            verdict: Verdict::Review,
            error: Some(error),
            matches: Vec::new(),
        };
        if screener.lists().is_empty() {
            return not_screened("no sanctions list is loaded".to_owned());
        }
        let hits = match screener.search(query) {
            Ok(hits) => hits,
            Err(error) => return not_screened(format!("name cannot be screened ({error})")),
        };
        let matches: Vec<MatchExplanation> = hits
            .into_iter()
            .map(|m| MatchExplanation {
                cleared: self.is_cleared(party, party_id, screener, &m),
                list: m.source.to_string(),
                entry_id: m.entry_id,
                entry_name: m.entry_name,
                matched_name: m.matched_name,
                method: m.method,
                score: m.score,
                name_score: m.evidence.name_score,
                programs: m.programs,
                adjustments: m.evidence.adjustments,
            })
            .collect();
        let score = matches
            .iter()
            .filter(|m| !m.cleared)
            .map(|m| m.score)
            .max()
            .unwrap_or(0);
        PartyResult {
            party,
            score,
            verdict: self.verdict(score),
            error: None,
            matches,
        }
    }

    pub fn screen_party(&self, party: Party, party_id: &str, query: &Query) -> PartyResult {
        self.screen_party_with(&self.screener, party, party_id, query)
    }

    /// The query for a party of the payments domain.
    pub fn party_query(name: &str, country: Option<&str>, individual: Option<bool>) -> Query {
        let mut query = Query::new(name);
        query.country = country.map(str::to_owned);
        query.entity_type = individual.map(|i| {
            if i {
                EntityType::Person
            } else {
                EntityType::Organisation
            }
        });
        query
    }

    /// Loads the newest stored version of every list that changed since the last call, and
    /// the clearances when they changed. Returns the sources (re)loaded.
    pub async fn sync(&self, store: &Store) -> Result<Vec<String>, ComplianceError> {
        let current = store.current_list_versions().await?;
        let stale: Vec<_> = {
            let synced = self.synced.lock().unwrap_or_else(|p| p.into_inner());
            current
                .into_iter()
                .filter(|v| synced.loaded.get(&v.source) != Some(&v.id))
                .collect()
        };
        let mut lists = Vec::new();
        for version in &stale {
            let json = store.list_entries(&version.id).await?;
            lists.push(lists::decode_stored(
                &version.source,
                &version.version,
                &json,
            )?);
        }
        let mut loaded = Vec::new();
        if !lists.is_empty() {
            self.screener.replace_lists(lists);
            let mut synced = self.synced.lock().unwrap_or_else(|p| p.into_inner());
            for version in stale {
                tracing::info!(source = %version.source, version = %version.version,
                    entries = version.entry_count, "screening list version loaded");
                loaded.push(version.source.clone());
                synced.loaded.insert(version.source, version.id);
            }
        }
        let mark = store.clearance_watermark().await?;
        let changed = {
            let synced = self.synced.lock().unwrap_or_else(|p| p.into_inner());
            synced.clearance_mark != Some(mark)
        };
        if changed {
            let mut map = HashMap::new();
            for c in store.clearances().await? {
                map.insert(
                    (c.party_type, c.party_id, c.source, c.entry_id),
                    c.entry_hash,
                );
            }
            match self.clearances.write() {
                Ok(mut guard) => *guard = map,
                Err(poisoned) => *poisoned.into_inner() = map,
            }
            self.synced
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .clearance_mark = Some(mark);
        }
        Ok(loaded)
    }

    /// Polls the store every `interval` for new list versions and clearances, for as long as
    /// the service lives.
    pub fn spawn_sync(self: &Arc<Self>, store: Store, interval: Duration) {
        let weak = Arc::downgrade(self);
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(interval);
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                tick.tick().await;
                let Some(this) = weak.upgrade() else {
                    return;
                };
                if let Err(error) = this.sync(&store).await {
                    tracing::warn!(%error, "screening list sync failed; keeping the loaded lists");
                }
            }
        });
    }

    /// The current version of one list.
    pub fn list(&self, source: &ListSource) -> Option<Arc<SanctionsList>> {
        self.screener.list(source)
    }
}

impl ComplianceCheck for Screening {
    fn assess(&self, subject: &TransferSubject<'_>) -> ComplianceDecision {
        let tenant_id = subject.tenant.id.to_string();
        let tenant = self.screen_party(
            Party::Tenant,
            &tenant_id,
            &Self::party_query(subject.tenant.name.as_str(), None, Some(false)),
        );
        let recipient_id = subject.recipient_id.to_string();
        let recipient = self.screen_party(
            Party::Recipient,
            &recipient_id,
            &Self::party_query(
                subject.recipient_name,
                Some(subject.recipient_country.as_str()),
                Some(subject.recipient_is_individual),
            ),
        );
        let mut verdict = Verdict::Approve;
        let mut risk_score = 0;
        let mut reasons = Vec::new();
        let mut screenings = Vec::new();
        for result in [tenant, recipient] {
            verdict = verdict.max(result.verdict);
            risk_score = risk_score.max(result.score);
            reasons.extend(result.reasons(self.thresholds));
            screenings.push(PartyScreening {
                party: result.party,
                score: result.score,
                verdict: result.verdict,
                explanation: result.explanation_json(),
            });
        }
        ComplianceDecision {
            verdict,
            risk_score,
            reasons,
            screenings,
            monitoring: None,
        }
    }
}
