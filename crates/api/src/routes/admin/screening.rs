//! Analysts' screening work on the operator API: searching the loaded lists, clearing false
//! positives (audited as the person who cleared), and which list versions are loaded.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::{get, post};
use benteng_core::roles::Permission;
use benteng_core::strict_json::Fields;
use benteng_core::text::BoundedText;
use benteng_operations::benteng_screening::{
    DEFAULT_LIMIT, DEFAULT_MIN_SCORE, MAX_LIMIT, PartialDate, Query,
};
use benteng_operations::{ClearanceReason, ClearanceRequest, EntryRef, PartyRef, SearchResult};
use benteng_store::{Clearance, ListVersion};
use serde::Serialize;
use time::OffsetDateTime;

use super::Parsed;
use crate::error::ApiResult;
use crate::json::JsonBody;
use crate::middleware::Staff;
use crate::routes::{Needs, Routes};
use crate::state::AppState;

pub(super) fn routes(routes: Routes) -> Routes {
    routes
        .staff(
            "/admin/v1/screening/search",
            Needs::on_post(Permission::ScreeningSearch.into()),
            post(search),
        )
        .staff(
            "/admin/v1/clearances",
            Needs::on_get(Permission::PersonalDataRead.into())
                .and_post(Permission::ClearancesWrite.into()),
            get(clearances).post(clear),
        )
        .staff(
            "/admin/v1/lists",
            Needs::on_get(Permission::TenantsRead.into()),
            get(lists),
        )
}

/// What a search found.
#[derive(Serialize, utoipa::ToSchema)]
pub struct SearchView {
    /// The verdict a transfer party with this best score would get: `approve`, `review` or
    /// `block`.
    verdict: &'static str,
    /// The best score, 0–100.
    score: u8,
    /// Every match, best first, each with its explanation (`evidence`: the normalised names
    /// compared, per-token evidence, and the adjustments from birth year and country).
    #[schema(value_type = Vec<Object>)]
    matches: Vec<serde_json::Value>,
}

/// Searches the loaded sanctions and PEP lists for a name (`{"name", "country"?,
/// "birth_year"?, "limit"?, "min_score"?}`). `limit` is how many matches to return, best
/// first (1 to 100, default 10); `min_score` the lowest score a match may have to be returned
/// (0 to 100, default 40). A value out of range, or not a whole number, is refused with a
/// problem+json 422 naming the field. Ad hoc: no party is recorded and no clearance applies.
#[utoipa::path(post, path = "/admin/v1/screening/search", tag = "operator",
    security(("staff_session" = ["screening:search"])),
    request_body(content = Object, description = "A JSON object; its fields are named in the operation's description."),
    responses((status = 200, body = SearchView), (status = 409, body = crate::error::Problem),
        (status = 422, body = crate::error::Problem)))]
pub async fn search(
    State(state): State<AppState>,
    _staff: Staff,
    JsonBody(body): JsonBody,
) -> ApiResult<Json<SearchView>> {
    let mut f = Fields::new(
        &body,
        &["name", "country", "birth_year", "limit", "min_score"],
    );
    let name: Option<BoundedText<200>> = f.required("name");
    let country: Option<BoundedText<64>> = f.optional("country");
    let birth_year: Option<u32> = f.optional("birth_year");
    let birth_year = match birth_year {
        None => Some(None),
        Some(year @ 1800..=2200) => u16::try_from(year).ok().map(Some),
        Some(_) => {
            f.reject(
                "birth_year",
                "out_of_range",
                "must be a year from 1800 to 2200",
            );
            None
        }
    };
    let limit = match f.optional::<u32>("limit") {
        None => Some(DEFAULT_LIMIT),
        Some(n @ 1..=100) => usize::try_from(n).ok(),
        Some(_) => {
            f.reject("limit", "out_of_range", format!("must be 1 to {MAX_LIMIT}"));
            None
        }
    };
    let min_score = match f.optional::<u32>("min_score") {
        None => Some(DEFAULT_MIN_SCORE),
        Some(n @ 0..=100) => u8::try_from(n).ok(),
        Some(_) => {
            f.reject("min_score", "out_of_range", "must be 0 to 100");
            None
        }
    };
    let (name, birth_year, limit, min_score) =
        f.build(|| Some((name?, birth_year?, limit?, min_score?)))?;
    let mut query = Query::new(name.as_str());
    query.country = country.map(|c| c.as_str().to_owned());
    query.dob = birth_year.map(PartialDate::year);
    query.limit = limit;
    query.min_score = min_score;
    let SearchResult {
        verdict,
        score,
        matches,
    } = state.operations.search(&query)?;
    Ok(Json(SearchView {
        verdict: verdict.as_str(),
        score,
        matches: matches
            .iter()
            .filter_map(|m| serde_json::to_value(m).ok())
            .collect(),
    }))
}

/// An analyst's clearance of a (party, list entry) pair.
#[derive(Serialize, utoipa::ToSchema)]
pub struct ClearanceView {
    id: String,
    /// `tenant:ID` or `recipient:ID`.
    party: String,
    /// `LIST:ENTRY_ID`.
    entry: String,
    /// The entry's content hash when cleared: the clearance lapses when the entry changes.
    entry_hash: String,
    reason: String,
    cleared_by: String,
    #[serde(with = "time::serde::rfc3339")]
    cleared_at: OffsetDateTime,
}

impl From<&Clearance> for ClearanceView {
    fn from(c: &Clearance) -> Self {
        Self {
            id: c.id.clone(),
            party: format!("{}:{}", c.party_type, c.party_id),
            entry: format!("{}:{}", c.source, c.entry_id),
            entry_hash: c.entry_hash.clone(),
            reason: c.reason.clone(),
            cleared_by: c.cleared_by.clone(),
            cleared_at: c.cleared_at,
        }
    }
}

/// Every clearance, oldest first (a later one for the same pair supersedes an earlier one).
/// Who matched which list entry is personal data.
#[utoipa::path(get, path = "/admin/v1/clearances", tag = "operator",
    security(("staff_session" = ["personal_data:read"])),
    responses((status = 200, body = Vec<ClearanceView>)))]
pub async fn clearances(
    State(state): State<AppState>,
    _staff: Staff,
) -> ApiResult<Json<Vec<ClearanceView>>> {
    let clearances = state.store.clearances().await?;
    Ok(Json(clearances.iter().map(ClearanceView::from).collect()))
}

/// Clears a false positive (`{"party": "tenant:ID"|"recipient:ID", "entry": "LIST:ENTRY_ID",
/// "reason"}`) until the entry's content changes; recorded as cleared by the person.
#[utoipa::path(post, path = "/admin/v1/clearances", tag = "operator",
    security(("staff_session" = ["clearances:write"])),
    request_body(content = Object, description = "A JSON object; its fields are named in the operation's description."),
    responses((status = 201, body = ClearanceView), (status = 404, body = crate::error::Problem),
        (status = 422, body = crate::error::Problem)))]
pub async fn clear(
    State(state): State<AppState>,
    Staff(_, context): Staff,
    JsonBody(body): JsonBody,
) -> ApiResult<(StatusCode, Json<ClearanceView>)> {
    let mut f = Fields::new(&body, &["party", "entry", "reason"]);
    let party: Option<Parsed<PartyRef, 64>> = f.required("party");
    let entry: Option<Parsed<EntryRef, 800>> = f.required("entry");
    let reason: Option<Parsed<ClearanceReason, 4000>> = f.required("reason");
    let (party, entry, reason) = f.build(|| Some((party?, entry?, reason?)))?;
    let request = ClearanceRequest {
        party: party.0,
        entry: entry.0,
        reason: reason.0,
    };
    let clearance = state.operations.clear(request, None, &context).await?;
    Ok((StatusCode::CREATED, Json(ClearanceView::from(&clearance))))
}

/// The current version of a sanctions or PEP list.
#[derive(Serialize, utoipa::ToSchema)]
pub struct ListVersionView {
    /// e.g. `un`, `ofac-sdn`, `generic:bi-blacklist`.
    source: String,
    /// The content hash of the version.
    version: String,
    entry_count: u64,
    #[serde(with = "time::serde::rfc3339")]
    loaded_at: OffsetDateTime,
}

impl From<&ListVersion> for ListVersionView {
    fn from(v: &ListVersion) -> Self {
        Self {
            source: v.source.clone(),
            version: v.version.clone(),
            entry_count: v.entry_count,
            loaded_at: v.loaded_at,
        }
    }
}

/// The current version of every stored list (what every instance screens against).
#[utoipa::path(get, path = "/admin/v1/lists", tag = "operator",
    security(("staff_session" = ["tenants:read"])),
    responses((status = 200, body = Vec<ListVersionView>)))]
pub async fn lists(
    State(state): State<AppState>,
    _staff: Staff,
) -> ApiResult<Json<Vec<ListVersionView>>> {
    let versions = state.store.current_list_versions().await?;
    Ok(Json(versions.iter().map(ListVersionView::from).collect()))
}
