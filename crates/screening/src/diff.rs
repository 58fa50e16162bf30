//! Differences between two versions of one list, so that only changed entries are re-screened.

use std::collections::HashMap;

use serde::Serialize;

use crate::model::{Entry, ListSource, SanctionsList};
use crate::parse::ListError;

/// What changed between two versions of a list, keyed by entry id.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ListDiff {
    /// The list.
    pub source: ListSource,
    /// Version of the old list.
    pub old_version: String,
    /// Version of the new list.
    pub new_version: String,
    /// Entries present only in the new list.
    pub added: Vec<Entry>,
    /// Ids present only in the old list.
    pub removed: Vec<String>,
    /// New versions of entries whose content (any field) changed.
    pub changed: Vec<Entry>,
}

impl ListDiff {
    /// True when nothing changed.
    pub fn is_empty(&self) -> bool {
        self.added.is_empty() && self.removed.is_empty() && self.changed.is_empty()
    }

    /// The added and changed entries as a list, to load into a fresh [`crate::Screener`] and
    /// re-screen existing customers against only what changed. `None` when nothing was added or
    /// changed.
    pub fn rescreen_list(&self) -> Option<SanctionsList> {
        if self.added.is_empty() && self.changed.is_empty() {
            return None;
        }
        let entries: Vec<Entry> = self
            .added
            .iter()
            .chain(self.changed.iter())
            .cloned()
            .collect();
        SanctionsList::from_entries(self.source.clone(), entries).ok()
    }
}

/// Compute the difference from `old` to `new` (same source). Entry order does not matter.
/// Output vectors follow the order of `new` (added, changed) and `old` (removed).
pub fn diff(old: &SanctionsList, new: &SanctionsList) -> Result<ListDiff, ListError> {
    if old.source != new.source {
        return Err(ListError::Invalid(format!(
            "cannot diff {} against {}",
            old.source, new.source
        )));
    }
    let old_by_id: HashMap<&str, &Entry> = old.entries.iter().map(|e| (e.id.as_str(), e)).collect();
    let new_by_id: HashMap<&str, &Entry> = new.entries.iter().map(|e| (e.id.as_str(), e)).collect();
    let mut added = Vec::new();
    let mut changed = Vec::new();
    for e in &new.entries {
        match old_by_id.get(e.id.as_str()) {
            None => added.push(e.clone()),
            Some(o) if *o != e => changed.push(e.clone()),
            Some(_) => {}
        }
    }
    let removed = old
        .entries
        .iter()
        .filter(|e| !new_by_id.contains_key(e.id.as_str()))
        .map(|e| e.id.clone())
        .collect();
    Ok(ListDiff {
        source: new.source.clone(),
        old_version: old.version.clone(),
        new_version: new.version.clone(),
        added,
        removed,
        changed,
    })
}
