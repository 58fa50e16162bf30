//! In-memory screener: an inverted index over every loaded list (token/deletion keys, phonetic
//! skeleton keys, glued-name keys), swapped atomically when a list is (re)loaded.

use std::cell::RefCell;
use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};

use arc_swap::ArcSwap;
use serde::{Deserialize, Serialize};

use crate::country::country_key;
use crate::matching::{MatchMethod, TokenEvidence, TokenInfo, name_score};
use crate::model::{EntityType, ListSource, PartialDate, SanctionsList};
use crate::normalize::{NormName, Token, normalize};

/// Default review threshold: scores from 50 to 80 go to manual review.
pub const REVIEW_THRESHOLD: u8 = 50;
/// Default block threshold: scores strictly above 80 block.
pub const BLOCK_THRESHOLD: u8 = 80;
/// Default number of results.
pub const DEFAULT_LIMIT: usize = 10;
/// Default minimum score for a result to be returned.
pub const DEFAULT_MIN_SCORE: u8 = 40;
/// Maximum results a query may ask for.
pub const MAX_LIMIT: usize = 100;
/// How many best candidate names (by index-key weight) are fully scored per query.
const CANDIDATES: usize = 96;

/// Outcome of a score against thresholds (spec: `> block` blocks, `review..=block` reviews,
/// `< review` approves).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Decision {
    /// Below the review threshold.
    Approve,
    /// Between the thresholds (inclusive).
    Review,
    /// Above the block threshold.
    Block,
}

impl Decision {
    /// Classify `score` with the given thresholds.
    pub fn from_score(score: u8, review: u8, block: u8) -> Self {
        if score > block {
            Decision::Block
        } else if score >= review {
            Decision::Review
        } else {
            Decision::Approve
        }
    }

    /// Classify `score` with [`REVIEW_THRESHOLD`] and [`BLOCK_THRESHOLD`].
    pub fn from_default_thresholds(score: u8) -> Self {
        Self::from_score(score, REVIEW_THRESHOLD, BLOCK_THRESHOLD)
    }
}

/// A screening query.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Query {
    /// Name to screen (any script).
    pub name: String,
    /// Kind of party, when known; a mismatch with the entry lowers the score.
    #[serde(default)]
    pub entity_type: Option<EntityType>,
    /// Date of birth (or registration), when known; raises or lowers the score.
    #[serde(default)]
    pub dob: Option<PartialDate>,
    /// Nationality / country (ISO alpha-2 or English name), when known.
    #[serde(default)]
    pub country: Option<String>,
    /// Document numbers of the party (passport, national id, registration, IMO…), when known.
    #[serde(default)]
    pub identifiers: Vec<String>,
    /// Maximum number of results (capped at [`MAX_LIMIT`]).
    #[serde(default = "default_limit")]
    pub limit: usize,
    /// Results scoring below this are dropped.
    #[serde(default = "default_min_score")]
    pub min_score: u8,
}

fn default_limit() -> usize {
    DEFAULT_LIMIT
}
fn default_min_score() -> u8 {
    DEFAULT_MIN_SCORE
}

impl Query {
    /// A name-only query with default limit and minimum score.
    pub fn new(name: impl Into<String>) -> Self {
        Query {
            name: name.into(),
            entity_type: None,
            dob: None,
            country: None,
            identifiers: Vec::new(),
            limit: DEFAULT_LIMIT,
            min_score: DEFAULT_MIN_SCORE,
        }
    }
}

/// Why a query was rejected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum QueryError {
    /// The name is empty or whitespace.
    #[error("name is empty")]
    EmptyName,
    /// The name has no letters or digits (only punctuation or symbols).
    #[error("name has no letters or digits")]
    NoSearchableText,
}

/// One score adjustment from supporting data.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Adjustment {
    /// `dob`, `country` or `entity_type`.
    pub factor: String,
    /// Points added (positive) or removed (negative).
    pub delta: i8,
    /// Short human-readable reason.
    pub detail: String,
}

/// Why an entry matched.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Evidence {
    /// Score of the best name alone, 0–100.
    pub name_score: u8,
    /// Normalised query as compared.
    pub normalized_query: String,
    /// Normalised list name as compared.
    pub normalized_name: String,
    /// Per query token evidence.
    pub tokens: Vec<TokenEvidence>,
    /// Adjustments from date of birth, country and entity type.
    pub adjustments: Vec<Adjustment>,
}

/// One screening hit.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Match {
    /// Final score 0–100 (name score plus adjustments).
    pub score: u8,
    /// List of the matched entry.
    pub source: ListSource,
    /// Id of the entry in its list.
    pub entry_id: String,
    /// Primary name of the entry.
    pub entry_name: String,
    /// The name (primary or alias) that matched best, as published.
    pub matched_name: String,
    /// How it matched.
    pub method: MatchMethod,
    /// Entity type of the entry.
    pub entity_type: EntityType,
    /// Programmes of the entry.
    pub programs: Vec<String>,
    /// Explanation.
    pub evidence: Evidence,
}

/// Summary of a loaded list.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ListInfo {
    /// The list.
    pub source: ListSource,
    /// Content SHA-256.
    pub version: String,
    /// Number of entries.
    pub entries: usize,
}

/// Size of the current index.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct IndexStats {
    /// Loaded lists.
    pub lists: usize,
    /// Entries over all lists.
    pub entries: usize,
    /// Indexed names (primary names and aliases after de-duplication).
    pub names: usize,
    /// Distinct index keys.
    pub keys: usize,
    /// Total posting-list entries.
    pub postings: usize,
    /// Estimated heap bytes of the index (names, tokens, keys, postings), excluding the lists.
    pub approx_bytes: usize,
}

struct IndexedName {
    list: u16,
    entry: u32,
    /// 0 = primary name, i = alias i-1.
    name_ix: u16,
    norm: NormName,
    /// Weight and commonness of each token (filled once the whole index is counted).
    info: Vec<TokenInfo>,
}

/// An immutable index over a set of lists.
struct Index {
    lists: BTreeMap<ListSource, Arc<SanctionsList>>,
    list_order: Vec<Arc<SanctionsList>>,
    names: Vec<IndexedName>,
    postings: HashMap<u64, Vec<u32>>,
    /// Number of names containing a canonical token, by hash of the token.
    df: HashMap<u64, u32>,
    /// Names written in Han, Kana or Hangul, by entry: a name in those scripts that reads the
    /// same but is written with other characters is another name.
    cjk: HashMap<(u16, u32), Vec<String>>,
}

fn fnv(tag: u8, s: &str) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in std::iter::once(tag).chain(s.bytes()) {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    h
}

/// Index keys of one token: canonical form, its single-char deletions (typo tolerance, for
/// tokens of 4–20 chars) and consonant skeletons (phonetic).
fn token_keys(t: &Token, out: &mut Vec<u64>) {
    let c = t.canon.as_str();
    out.push(fnv(b'D', c));
    if (4..=20).contains(&c.len()) && c.is_ascii() {
        let mut buf = String::with_capacity(c.len());
        for i in 0..c.len() {
            if i > 0 && c.as_bytes()[i] == c.as_bytes()[i - 1] {
                continue;
            }
            buf.clear();
            buf.push_str(&c[..i]);
            buf.push_str(&c[i + 1..]);
            out.push(fnv(b'D', &buf));
        }
    }
    for s in &t.skeletons {
        if s.len() >= 2 {
            out.push(fnv(b'S', s));
        }
    }
    // A glued article (`alzawahiri`).
    if let Some(rest) = c.strip_prefix("al").or_else(|| c.strip_prefix("el"))
        && rest.len() >= 4
    {
        out.push(fnv(b'D', rest));
    }
}

/// Keys of the glued name: with and without articles and legal forms.
fn concat_keys(n: &NormName, out: &mut Vec<u64>) {
    if n.tokens.len() >= 2 || n.concat.len() >= 6 {
        out.push(fnv(b'C', &n.concat));
    }
    if n.concat_raw != n.concat && n.concat_raw.len() >= 6 {
        out.push(fnv(b'C', &n.concat_raw));
    }
    for a in &n.acronyms {
        out.push(fnv(b'A', a));
    }
    // A one-word name may be an acronym of a longer one.
    if let [t] = n.tokens.as_slice()
        && (3..=8).contains(&t.text.len())
    {
        out.push(fnv(b'A', &t.text));
    }
}

impl Index {
    fn empty() -> Self {
        Index {
            lists: BTreeMap::new(),
            list_order: Vec::new(),
            names: Vec::new(),
            postings: HashMap::new(),
            df: HashMap::new(),
            cjk: HashMap::new(),
        }
    }

    fn build(lists: BTreeMap<ListSource, Arc<SanctionsList>>) -> Self {
        let list_order: Vec<Arc<SanctionsList>> = lists.values().cloned().collect();
        let mut names = Vec::new();
        let mut postings: HashMap<u64, Vec<u32>> = HashMap::new();
        let mut df: HashMap<u64, u32> = HashMap::new();
        let mut cjk: HashMap<(u16, u32), Vec<String>> = HashMap::new();
        let mut keys = Vec::new();
        for (li, list) in list_order.iter().enumerate() {
            for (ei, entry) in list.entries.iter().enumerate() {
                let mut seen_texts: Vec<String> = Vec::new();
                for (ni, raw) in entry.all_names().enumerate() {
                    let norm = normalize(raw);
                    if norm.tokens.is_empty() {
                        continue;
                    }
                    let text = norm.text();
                    if seen_texts.contains(&text) {
                        continue;
                    }
                    seen_texts.push(text);
                    if !norm.cjk.is_empty() {
                        cjk.entry((li as u16, ei as u32))
                            .or_default()
                            .push(norm.cjk.clone());
                    }
                    let id = names.len() as u32;
                    keys.clear();
                    let mut canons: Vec<&str> = Vec::new();
                    for t in &norm.tokens {
                        token_keys(t, &mut keys);
                        if !canons.contains(&t.canon.as_str()) {
                            canons.push(&t.canon);
                        }
                    }
                    for c in canons {
                        *df.entry(fnv(b'D', c)).or_insert(0) += 1;
                    }
                    concat_keys(&norm, &mut keys);
                    keys.sort_unstable();
                    keys.dedup();
                    for &k in &keys {
                        postings.entry(k).or_default().push(id);
                    }
                    names.push(IndexedName {
                        list: li as u16,
                        entry: ei as u32,
                        name_ix: ni.min(u16::MAX as usize) as u16,
                        norm,
                        info: Vec::new(),
                    });
                }
            }
        }
        for p in postings.values_mut() {
            p.shrink_to_fit();
        }
        let mut index = Index {
            lists,
            list_order,
            names,
            postings,
            df,
            cjk,
        };
        let infos: Vec<Vec<TokenInfo>> = index
            .names
            .iter()
            .map(|n| index.info(&n.norm.tokens))
            .collect();
        for (n, info) in index.names.iter_mut().zip(infos) {
            n.info = info;
        }
        index
    }

    fn token_weight(&self, t: &Token) -> f64 {
        let n = self.names.len().max(2) as f64;
        let df = self
            .df
            .get(&fnv(b'D', &t.canon))
            .copied()
            .unwrap_or(0)
            .max(1) as f64;
        let idf = ((n / df).ln() / n.ln()).clamp(0.0, 1.0);
        let rarity = 0.25 + 0.75 * idf;
        let len = t.canon.len().min(10) as f64;
        rarity * (2.0 + len) / 12.0
    }

    fn df(&self, t: &Token) -> u32 {
        self.df.get(&fnv(b'D', &t.canon)).copied().unwrap_or(0)
    }

    /// Weight and commonness of each token. Common: frequent among Indonesian names or company
    /// names, a number, or in at least 0.2 % of listed names.
    fn info(&self, tokens: &[Token]) -> Vec<TokenInfo> {
        tokens
            .iter()
            .map(|t| TokenInfo {
                weight: self.token_weight(t),
                common: crate::common::common_person_part(&t.canon)
                    || crate::common::common_org_part(&t.canon)
                    || t.canon.bytes().all(|b| b.is_ascii_digit())
                    || u64::from(self.df(t)) * 500 >= self.names.len() as u64,
            })
            .collect()
    }

    fn stats(&self) -> IndexStats {
        let mut bytes = self.names.capacity() * std::mem::size_of::<IndexedName>();
        for n in &self.names {
            bytes +=
                n.norm.concat.capacity() + n.norm.tokens.capacity() * std::mem::size_of::<Token>();
            for t in &n.norm.tokens {
                bytes += t.text.capacity() + t.canon.capacity();
                bytes += t.metaphone.iter().map(String::capacity).sum::<usize>();
                bytes += t.skeletons.iter().map(|s| s.capacity() + 24).sum::<usize>();
            }
        }
        let postings: usize = self.postings.values().map(Vec::len).sum();
        bytes += self
            .postings
            .values()
            .map(|p| p.capacity() * 4)
            .sum::<usize>();
        // hashbrown: key + value + 1 control byte per bucket, ~87.5 % load.
        bytes += self.postings.capacity() * (8 + std::mem::size_of::<Vec<u32>>() + 1);
        bytes += self.df.capacity() * (8 + 4 + 1);
        IndexStats {
            lists: self.lists.len(),
            entries: self.lists.values().map(|l| l.entries.len()).sum(),
            names: self.names.len(),
            keys: self.postings.len(),
            postings,
            approx_bytes: bytes,
        }
    }
}

#[derive(Default)]
struct Scratch {
    acc: Vec<f32>,
    last: Vec<u16>,
    touched: Vec<u32>,
}

thread_local! {
    static SCRATCH: RefCell<Scratch> = RefCell::new(Scratch::default());
}

/// Screens names against every loaded list. Cheap to share (`Arc<Screener>`); searches never
/// block on list reloads: a reload builds a new index and swaps it in atomically.
pub struct Screener {
    index: ArcSwap<Index>,
    writer: Mutex<()>,
}

impl Default for Screener {
    fn default() -> Self {
        Self::new()
    }
}

impl std::fmt::Debug for Screener {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Screener")
            .field("stats", &self.stats())
            .finish()
    }
}

impl Screener {
    /// An empty screener (no lists).
    pub fn new() -> Self {
        Screener {
            index: ArcSwap::from_pointee(Index::empty()),
            writer: Mutex::new(()),
        }
    }

    /// Load or replace the list of `list.source`, rebuilding the index off to the side and
    /// swapping it in. Searches running meanwhile keep using the previous index.
    pub fn replace_list(&self, list: SanctionsList) -> ListInfo {
        let info = ListInfo {
            source: list.source.clone(),
            version: list.version.clone(),
            entries: list.entries.len(),
        };
        self.update(|lists| {
            lists.insert(list.source.clone(), Arc::new(list));
        });
        tracing::info!(source = %info.source, version = %info.version, entries = info.entries, "screening list loaded");
        info
    }

    /// Load or replace several lists with a single index rebuild (e.g. at start-up).
    pub fn replace_lists(&self, lists: Vec<SanctionsList>) -> Vec<ListInfo> {
        let infos: Vec<ListInfo> = lists
            .iter()
            .map(|l| ListInfo {
                source: l.source.clone(),
                version: l.version.clone(),
                entries: l.entries.len(),
            })
            .collect();
        self.update(|map| {
            for l in lists {
                map.insert(l.source.clone(), Arc::new(l));
            }
        });
        infos
    }

    /// Remove a list. Returns false if it was not loaded.
    pub fn remove_list(&self, source: &ListSource) -> bool {
        let mut removed = false;
        self.update(|lists| removed = lists.remove(source).is_some());
        removed
    }

    fn update(&self, f: impl FnOnce(&mut BTreeMap<ListSource, Arc<SanctionsList>>)) {
        // Writers are serialised so that two reloads cannot lose each other's list; a poisoned
        // lock only means another writer panicked, the index itself is immutable.
        let _guard = self
            .writer
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let mut lists = self.index.load().lists.clone();
        f(&mut lists);
        self.index.store(Arc::new(Index::build(lists)));
    }

    /// Loaded lists.
    pub fn lists(&self) -> Vec<ListInfo> {
        self.index
            .load()
            .lists
            .values()
            .map(|l| ListInfo {
                source: l.source.clone(),
                version: l.version.clone(),
                entries: l.entries.len(),
            })
            .collect()
    }

    /// The currently loaded version of one list.
    pub fn list(&self, source: &ListSource) -> Option<Arc<SanctionsList>> {
        self.index.load().lists.get(source).cloned()
    }

    /// Index size.
    pub fn stats(&self) -> IndexStats {
        self.index.load().stats()
    }

    /// Screen one name. Results are sorted by score (descending), then source and id; at most
    /// `query.limit` results with score ≥ `query.min_score`, one per entry.
    pub fn search(&self, query: &Query) -> Result<Vec<Match>, QueryError> {
        if query.name.trim().is_empty() {
            return Err(QueryError::EmptyName);
        }
        let norm = normalize(&query.name);
        if norm.tokens.is_empty() {
            return Err(QueryError::NoSearchableText);
        }
        let index = self.index.load();
        let limit = query.limit.min(MAX_LIMIT);
        if limit == 0 || index.names.is_empty() {
            return Ok(Vec::new());
        }
        let candidates = SCRATCH.with(|s| {
            let mut s = s.borrow_mut();
            candidates(&index, &norm, &mut s)
        });
        let qinfo = index.info(&norm.tokens);
        // Best name per entry.
        let mut best: HashMap<(u16, u32), (f64, u32, crate::matching::NameScore)> = HashMap::new();
        for id in candidates {
            let n = &index.names[id as usize];
            let ns = name_score(&norm, &qinfo, &n.norm, &n.info);
            if ns.score <= 0.0 {
                continue;
            }
            let key = (n.list, n.entry);
            match best.get(&key) {
                Some((s, _, _)) if *s >= ns.score => {}
                _ => {
                    best.insert(key, (ns.score, id, ns));
                }
            }
        }
        let qcountry = query.country.as_deref().and_then(country_key);
        let qtext = norm.text();
        let mut out: Vec<Match> = Vec::new();
        for ((li, ei), (_, id, ns)) in best {
            let list = &index.list_order[li as usize];
            let entry = &list.entries[ei as usize];
            let name = &index.names[id as usize];
            let name_score = (ns.raw * 100.0).round();
            // The name rules, each from the score before it to the one after.
            let mut adjustments: Vec<Adjustment> = Vec::new();
            for (k, r) in ns.rules.iter().enumerate() {
                let to = ns.rules.get(k + 1).map_or(ns.score, |n| n.before);
                adjustments.push(Adjustment {
                    factor: r.factor.into(),
                    delta: ((to - r.before) * 100.0).round().clamp(-100.0, 0.0) as i8,
                    detail: r.detail.into(),
                });
            }
            // Written in Han/Hangul with other characters that read the same: another name.
            if !norm.cjk.is_empty()
                && let Some(written) = index.cjk.get(&(li, ei))
                && !written.contains(&norm.cjk)
            {
                let current =
                    name_score + adjustments.iter().map(|a| f64::from(a.delta)).sum::<f64>();
                if current > 75.0 {
                    adjustments.push(adj(
                        "script",
                        (75.0 - current) as i8,
                        "reads the same, written with other characters",
                    ));
                }
            }
            if let Some(qt) = query.entity_type
                && qt != EntityType::Unknown
                && entry.entity_type != EntityType::Unknown
            {
                if qt == entry.entity_type {
                    adjustments.push(adj("entity_type", 3, "same entity type"));
                } else {
                    adjustments.push(adj("entity_type", -25, "different entity type"));
                }
            }
            if let Some(qd) = &query.dob
                && !entry.dates_of_birth.is_empty()
            {
                if entry.dates_of_birth.iter().any(|d| d.same_day(qd)) {
                    adjustments.push(adj("dob", 10, "same date of birth"));
                } else if entry.dates_of_birth.iter().any(|d| d.compatible(qd)) {
                    adjustments.push(adj("dob", 5, "compatible date of birth"));
                } else {
                    adjustments.push(adj("dob", -20, "different date of birth"));
                }
            }
            if let Some(qc) = &qcountry {
                let mut ecs = entry
                    .nationalities
                    .iter()
                    .filter_map(|c| country_key(c))
                    .peekable();
                if ecs.peek().is_some() {
                    if ecs.any(|c| &c == qc) {
                        adjustments.push(adj("country", 5, "same nationality"));
                    } else {
                        adjustments.push(adj("country", -10, "different nationality"));
                    }
                }
            }
            if !query.identifiers.is_empty() {
                let key = |v: &str| -> String {
                    v.chars()
                        .filter(char::is_ascii_alphanumeric)
                        .map(|c| c.to_ascii_uppercase())
                        .collect()
                };
                let listed: Vec<String> = entry
                    .identifiers
                    .iter()
                    .map(|i| key(&i.value))
                    .filter(|k| k.len() >= 5)
                    .collect();
                if query
                    .identifiers
                    .iter()
                    .map(|v| key(v))
                    .any(|k| listed.contains(&k))
                {
                    adjustments.push(adj("identifier", 20, "same document number"));
                }
            }
            let mut total =
                name_score + adjustments.iter().map(|a| f64::from(a.delta)).sum::<f64>();
            // A match carried by common name parts stays below block unless a document number
            // or the exact date of birth backs it.
            let common_only = ns.common_only;
            let backed = adjustments
                .iter()
                .any(|a| a.factor == "identifier" || (a.factor == "dob" && a.delta >= 10));
            if common_only && !backed && total > f64::from(BLOCK_THRESHOLD) {
                total = f64::from(BLOCK_THRESHOLD);
            }
            let final_score = total.clamp(0.0, 100.0) as u8;
            if final_score < query.min_score {
                continue;
            }
            let matched_name = entry
                .all_names()
                .nth(name.name_ix as usize)
                .unwrap_or(entry.name.as_str())
                .to_string();
            out.push(Match {
                score: final_score,
                source: list.source.clone(),
                entry_id: entry.id.clone(),
                entry_name: entry.name.clone(),
                matched_name,
                method: ns.method,
                entity_type: entry.entity_type,
                programs: entry.programs.clone(),
                evidence: Evidence {
                    name_score: name_score as u8,
                    normalized_query: qtext.clone(),
                    normalized_name: name.norm.text(),
                    tokens: ns.tokens,
                    adjustments,
                },
            });
        }
        out.sort_by(|a, b| {
            b.score
                .cmp(&a.score)
                .then(b.evidence.name_score.cmp(&a.evidence.name_score))
                .then_with(|| a.source.cmp(&b.source))
                .then_with(|| a.entry_id.cmp(&b.entry_id))
        });
        out.truncate(limit);
        Ok(out)
    }
}

fn adj(factor: &str, delta: i8, detail: &str) -> Adjustment {
    Adjustment {
        factor: factor.into(),
        delta,
        detail: detail.into(),
    }
}

/// Candidate generation: every query key's posting list adds the key's IDF weight to the names
/// it holds (once per query token), and the best [`CANDIDATES`] names are returned.
fn candidates(index: &Index, q: &NormName, s: &mut Scratch) -> Vec<u32> {
    let n = index.names.len();
    if s.acc.len() != n {
        s.acc = vec![0.0; n];
        s.last = vec![0; n];
    }
    s.touched.clear();
    let total = n as f64;
    let mut keys = Vec::new();
    let mut groups: Vec<Vec<u64>> = q
        .tokens
        .iter()
        .map(|t| {
            keys.clear();
            token_keys(t, &mut keys);
            keys.clone()
        })
        .collect();
    let mut glued = Vec::new();
    concat_keys(q, &mut glued);
    if !glued.is_empty() {
        groups.push(glued);
    }
    for (gi, group) in groups.iter().enumerate() {
        let mark = gi as u16 + 1;
        let mut lists: Vec<(f64, &Vec<u32>)> = group
            .iter()
            .filter_map(|k| index.postings.get(k))
            .map(|p| ((1.0 + total / p.len() as f64).ln(), p))
            .collect();
        lists.sort_by(|a, b| b.0.total_cmp(&a.0));
        for (w, p) in lists {
            for &id in p {
                let i = id as usize;
                if s.last[i] != mark {
                    if s.acc[i] == 0.0 {
                        s.touched.push(id);
                    }
                    s.last[i] = mark;
                    s.acc[i] += w as f32;
                }
            }
        }
    }
    // A name written in an abjad lacks its short vowels and matches more names: look further.
    let want = if q.tokens.iter().any(|t| t.abjad) {
        CANDIDATES * 4
    } else {
        CANDIDATES
    };
    let mut cands = std::mem::take(&mut s.touched);
    if cands.len() > want {
        let acc = &s.acc;
        cands.select_nth_unstable_by(want - 1, |a, b| {
            acc[*b as usize].total_cmp(&acc[*a as usize]).then(a.cmp(b))
        });
        for &id in &cands[want..] {
            s.acc[id as usize] = 0.0;
            s.last[id as usize] = 0;
        }
        cands.truncate(want);
    }
    for &id in &cands {
        s.acc[id as usize] = 0.0;
        s.last[id as usize] = 0;
    }
    cands
}
