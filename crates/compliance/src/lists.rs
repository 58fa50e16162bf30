//! Stored list versions: a list file becomes a new version only when it parses completely, and
//! the version records its diff against the previous one.

use std::path::Path;

use benteng_core::audit::AuditContext;
use benteng_screening::{Entry, ListDiff, ListSource, SanctionsList, diff, load_list};
use benteng_store::{ListVersion, NewListVersion, Store};

use crate::ComplianceError;

/// What `store_list_file` did.
#[derive(Debug)]
pub enum Stored {
    /// The file holds the version already current; nothing was written.
    Unchanged(ListVersion),
    /// A new version was stored; `diff` holds the changed entries (for a first version, every
    /// entry is added).
    New {
        version: ListVersion,
        diff: ListDiff,
    },
}

/// Rebuilds a stored version: the entries JSON is validated as a list (ids unique, each entry of
/// this source) and keeps the stored version hash.
pub fn decode_stored(
    source: &str,
    version: &str,
    json: &str,
) -> Result<SanctionsList, ComplianceError> {
    let corrupt = |message: String| ComplianceError::CorruptList {
        list: source.to_owned(),
        message,
    };
    let parsed: ListSource = source.parse().map_err(|e| corrupt(format!("{e}")))?;
    let entries: Vec<Entry> = serde_json::from_str(json).map_err(|e| corrupt(e.to_string()))?;
    let mut list =
        SanctionsList::from_entries(parsed, entries).map_err(|e| corrupt(e.to_string()))?;
    list.version = version.to_owned();
    Ok(list)
}

/// The current stored version of `source` with its entries, if any.
pub async fn current(
    store: &Store,
    source: &ListSource,
) -> Result<Option<(ListVersion, SanctionsList)>, ComplianceError> {
    let name = source.to_string();
    let Some(version) = store
        .current_list_versions()
        .await?
        .into_iter()
        .find(|v| v.source == name)
    else {
        return Ok(None);
    };
    let json = store.list_entries(&version.id).await?;
    let list = decode_stored(&version.source, &version.version, &json)?;
    Ok(Some((version, list)))
}

/// Parses the list at `path` (a file, or a directory of OFAC CSV files) and stores it as the new
/// version of `source`. A file that does not parse completely is refused and the current version
/// stays.
pub async fn store_list_file(
    store: &Store,
    source: &ListSource,
    path: &Path,
    context: &AuditContext,
) -> Result<Stored, ComplianceError> {
    let (source_owned, path_owned) = (source.clone(), path.to_path_buf());
    let list = tokio::task::spawn_blocking(move || load_list(&source_owned, &path_owned))
        .await
        .map_err(|e| ComplianceError::Invalid(format!("list parser stopped: {e}")))??;
    store_list(store, list, context).await
}

/// Stores a parsed list as the new version of its source (unless it is the current version),
/// audited as `context`.
pub async fn store_list(
    store: &Store,
    list: SanctionsList,
    context: &AuditContext,
) -> Result<Stored, ComplianceError> {
    let previous = current(store, &list.source).await?;
    if let Some((version, _)) = &previous
        && version.version == list.version
    {
        return Ok(Stored::Unchanged(version.clone()));
    }
    let empty = SanctionsList {
        source: list.source.clone(),
        version: String::new(),
        entries: Vec::new(),
    };
    let old = previous.as_ref().map(|(_, l)| l).unwrap_or(&empty);
    let changes = diff(old, &list)?;
    let entries_json = serde_json::to_string(&list.entries)
        .map_err(|e| ComplianceError::Invalid(e.to_string()))?;
    let new = NewListVersion {
        source: list.source.to_string(),
        version: list.version.clone(),
        previous_version: previous.as_ref().map(|(v, _)| v.version.clone()),
        entry_count: list.entries.len() as u64,
        entries_json,
        added: changes.added.iter().map(|e| e.id.clone()).collect(),
        changed: changes.changed.iter().map(|e| e.id.clone()).collect(),
        removed: changes.removed.clone(),
        loaded_at: benteng_core::now(),
    };
    let id = store.insert_list_version(&new, context).await?;
    let version = store.list_version(&id).await?;
    Ok(Stored::New {
        version,
        diff: changes,
    })
}
