//! Analysts' screening work: an ad hoc search of the loaded lists, and clearances of false
//! positives. `benteng screen` and the operator API both call these commands.

use benteng_compliance::benteng_screening::{Entry, ListSource, Match, Query};
use benteng_compliance::entry_hash;
use benteng_core::audit::AuditContext;
use benteng_core::cases::{CaseStatus, CaseSubject};
use benteng_core::ids::{CaseId, TenantId};
use benteng_core::payments::compliance::Verdict;
use benteng_store::{CaseEvent, Clearance};

use crate::{Operations, OpsRefusal};

/// What a search found: the verdict its best score would get, and every match with its
/// explanation and its list entry.
#[derive(Debug, Clone)]
pub struct SearchResult {
    pub verdict: Verdict,
    pub score: u8,
    pub matches: Vec<SearchMatch>,
}

/// One match of a search, beside the list entry it matched, so an analyst compares the two.
#[derive(Debug, Clone)]
pub struct SearchMatch {
    pub found: Match,
    /// The entry as its list holds it (names, aliases, dates of birth, nationalities,
    /// identifiers, programmes); `None` when a newer version of the list, loaded between the
    /// search and the look-up, no longer has it.
    pub entry: Option<Entry>,
    /// The version (content hash) of the list the entry was read from.
    pub list_version: Option<String>,
}

/// The party a clearance is for: `tenant:ID` or `recipient:ID`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PartyRef {
    kind: &'static str,
    id: uuid::Uuid,
}

/// Text that is not `tenant:ID` or `recipient:ID`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("must be tenant:ID or recipient:ID")]
pub struct NotAParty;

impl PartyRef {
    pub fn parse(text: &str) -> Result<Self, NotAParty> {
        let (kind, id) = text.split_once(':').ok_or(NotAParty)?;
        let kind = match kind {
            "tenant" => "tenant",
            "recipient" => "recipient",
            _ => return Err(NotAParty),
        };
        let id = uuid::Uuid::try_parse(id).map_err(|_| NotAParty)?;
        Ok(Self { kind, id })
    }
}

/// A list entry: `LIST:ENTRY_ID`, where LIST is itself `generic:NAME` for generic lists.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EntryRef {
    source: ListSource,
    entry_id: String,
}

/// Text that is not `LIST:ENTRY_ID`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("must be LIST:ENTRY_ID, e.g. un:6908048 (at most 200 characters; lists: {0})")]
pub struct NotAnEntry(&'static str);

impl EntryRef {
    pub fn parse(text: &str) -> Result<Self, NotAnEntry> {
        let wrong = || NotAnEntry("ofac-sdn, ofac-nonsdn, un, eu, uk, id-dttot or generic:NAME");
        // Bounded first: the list parser quotes what it refuses.
        if text.chars().count() > 200 || text.chars().any(char::is_control) {
            return Err(wrong());
        }
        let split = if text.starts_with("generic:") {
            text.match_indices(':')
                .nth(1)
                .map(|(i, _)| (&text[..i], &text[i + 1..]))
        } else {
            text.split_once(':')
        };
        let (list, entry_id) = split.ok_or_else(wrong)?;
        if entry_id.is_empty() {
            return Err(wrong());
        }
        let source: ListSource = list.parse().map_err(|_| wrong())?;
        Ok(Self {
            source,
            entry_id: entry_id.to_owned(),
        })
    }
}

/// Why a match is a false positive: 1 to 1000 characters once trimmed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClearanceReason(String);

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("must be 1 to 1000 characters")]
pub struct BadReason;

impl ClearanceReason {
    pub fn parse(text: &str) -> Result<Self, BadReason> {
        let text = text.trim();
        if text.is_empty() || text.chars().count() > 1000 {
            return Err(BadReason);
        }
        Ok(Self(text.to_owned()))
    }
}

/// An analyst's clearance of one (party, list entry) pair.
#[derive(Debug, Clone)]
pub struct ClearanceRequest {
    pub party: PartyRef,
    pub entry: EntryRef,
    pub reason: ClearanceReason,
}

impl Operations {
    fn screening(&self) -> Result<&benteng_compliance::Screening, OpsRefusal> {
        self.screening.as_deref().ok_or_else(|| {
            tracing::error!("screening command without a screening service");
            OpsRefusal::Unavailable
        })
    }

    /// Searches the loaded lists. With no list loaded there is nothing to search, and an
    /// empty answer would read as "no match": refused instead.
    pub fn search(&self, query: &Query) -> Result<SearchResult, OpsRefusal> {
        let screening = self.screening()?;
        if screening.screener().lists().is_empty() {
            return Err(OpsRefusal::Conflict(
                "no screening list is loaded; load one first",
            ));
        }
        let matches = screening
            .search(query)
            .map_err(|error| OpsRefusal::Invalid {
                field: "name",
                message: error.to_string(),
            })?;
        let score = matches.iter().map(|m| m.score).max().unwrap_or(0);
        let matches = matches
            .into_iter()
            .map(|found| {
                let list = screening.list(&found.source);
                SearchMatch {
                    entry: list
                        .as_ref()
                        .and_then(|list| list.get(&found.entry_id).cloned()),
                    list_version: list.map(|list| list.version.clone()),
                    found,
                }
            })
            .collect();
        Ok(SearchResult {
            verdict: screening.verdict(score),
            score,
            matches,
        })
    }

    /// Clears a false positive until the entry's content changes. `by` is who decided (the
    /// CLI's `--by`); without it, whoever acts (`context.actor`: `staff:LOGIN` on the API).
    pub async fn clear(
        &self,
        request: ClearanceRequest,
        by: Option<&str>,
        context: &AuditContext,
    ) -> Result<Clearance, OpsRefusal> {
        self.clear_with(request, by, None, context).await
    }

    /// Marks a screening case's hit on `entry` a false positive: the clearance of the case's
    /// party and that entry (as [`Operations::clear`], naming the signed-in person), with the
    /// entry on the case's log, in one transaction. Refused on a case that is not an open
    /// screening case.
    pub async fn clear_from_case(
        &self,
        case: CaseId,
        entry: EntryRef,
        reason: ClearanceReason,
        context: &AuditContext,
    ) -> Result<Clearance, OpsRefusal> {
        let row = self.store.case(case).await?;
        if row.subject != CaseSubject::Screening {
            return Err(OpsRefusal::Conflict(
                "only a screening case's hits are cleared from it",
            ));
        }
        if row.status == CaseStatus::Closed {
            return Err(OpsRefusal::Conflict("the case is closed"));
        }
        let party = PartyRef::parse(&format!("{}:{}", row.party_kind, row.party_id))
            .map_err(|_| benteng_store::StoreError::Corrupt("a case's party".to_owned()))?;
        let event = CaseEvent {
            at: self.clock.now(),
            actor: context.actor.clone(),
            kind: "false_positive_marked".to_owned(),
            comment: Some(reason.0.clone()),
            data: Some(
                serde_json::json!({"entry": format!("{}:{}", entry.source, entry.entry_id)})
                    .to_string(),
            ),
        };
        let request = ClearanceRequest {
            party,
            entry,
            reason,
        };
        self.clear_with(request, None, Some((case, &event)), context)
            .await
    }

    async fn clear_with(
        &self,
        request: ClearanceRequest,
        by: Option<&str>,
        case: Option<(CaseId, &CaseEvent)>,
        context: &AuditContext,
    ) -> Result<Clearance, OpsRefusal> {
        let by = by.map(str::trim).unwrap_or(&context.actor);
        if by.is_empty() || by.chars().count() > 200 || by.chars().any(char::is_control) {
            return Err(OpsRefusal::Invalid {
                field: "by",
                message: "must be 1 to 200 printable characters".to_owned(),
            });
        }
        let EntryRef { source, entry_id } = request.entry;
        let listed = self
            .screening()?
            .list(&source)
            .and_then(|list| list.get(&entry_id).cloned())
            .ok_or_else(|| OpsRefusal::Invalid {
                field: "entry",
                message: format!("{source} has no entry {entry_id:?} in its current version"),
            })?;
        // A tenant is checked here; a recipient's row is only reachable within its tenant,
        // and its id alone (a UUID) names no one else's.
        if request.party.kind == "tenant" {
            self.store.tenant(TenantId::from(request.party.id)).await?;
        }
        let clearance = Clearance {
            id: uuid::Uuid::now_v7().to_string(),
            party_type: request.party.kind.to_owned(),
            party_id: request.party.id.to_string(),
            source: source.to_string(),
            entry_id,
            entry_hash: entry_hash(&listed),
            reason: request.reason.0,
            cleared_by: by.to_owned(),
            cleared_at: self.clock.now(),
        };
        self.store
            .insert_clearance(&clearance, case, context)
            .await?;
        Ok(clearance)
    }
}

impl std::str::FromStr for PartyRef {
    type Err = NotAParty;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        Self::parse(text)
    }
}

impl std::str::FromStr for EntryRef {
    type Err = NotAnEntry;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        Self::parse(text)
    }
}

impl std::str::FromStr for ClearanceReason {
    type Err = BadReason;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        Self::parse(text)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn parties_entries_and_reasons_parse_strictly() {
        let id = uuid::Uuid::new_v4();
        assert!(PartyRef::parse(&format!("tenant:{id}")).is_ok());
        assert!(PartyRef::parse(&format!("recipient:{id}")).is_ok());
        for bad in ["tenant:", "tenant:x", "user:0", &format!("tenant {id}")] {
            assert!(PartyRef::parse(bad).is_err(), "{bad}");
        }
        let entry = EntryRef::parse("generic:bi-blacklist:BI-1").unwrap();
        assert_eq!(entry.entry_id, "BI-1");
        assert_eq!(EntryRef::parse("un:6908048").unwrap().entry_id, "6908048");
        for bad in [
            "un",
            "un:",
            "nope:1",
            "generic:x",
            &format!("un:{}", "1".repeat(300)),
        ] {
            assert!(EntryRef::parse(bad).is_err(), "{bad}");
        }
        assert!(ClearanceReason::parse("  ").is_err());
        assert!(ClearanceReason::parse(&"x".repeat(1001)).is_err());
        assert_eq!(ClearanceReason::parse(" ok ").unwrap().0, "ok");
    }
}
