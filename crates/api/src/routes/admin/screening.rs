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
use crate::json::{Body, RequestBody};
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

/// The body of `POST /admin/v1/screening/search`. A value out of range, or not a whole
/// number, is refused with a problem+json 422 naming the field.
#[derive(utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"name": "Ivan Petrov", "country": "RU", "birth_year": 1970, "limit": 10, "min_score": 60}))]
pub struct SearchRequest {
    #[schema(value_type = String, min_length = 1, max_length = 200)]
    name: BoundedText<200>,
    #[schema(value_type = Option<String>, max_length = 64)]
    country: Option<BoundedText<64>>,
    #[schema(value_type = Option<u32>, minimum = 1800, maximum = 2200)]
    birth_year: Option<u16>,
    /// How many matches to return, best first (default 10).
    #[schema(value_type = Option<u32>, minimum = 1, maximum = 100)]
    limit: usize,
    /// The lowest score a returned match may have (default 40).
    #[schema(value_type = Option<u32>, minimum = 0, maximum = 100)]
    min_score: u8,
}

impl RequestBody for SearchRequest {
    const FIELDS: &'static [&'static str] =
        &["name", "country", "birth_year", "limit", "min_score"];

    fn read(f: &mut Fields<'_>) -> Option<Self> {
        let name = f.required("name");
        let country = f.optional("country");
        let birth_year = match f.optional::<u32>("birth_year") {
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
        Some(Self {
            name: name?,
            country,
            birth_year: birth_year?,
            limit: limit?,
            min_score: min_score?,
        })
    }
}

/// Searches the loaded sanctions and PEP lists for a name. Ad hoc: no party is recorded and
/// no clearance applies.
#[utoipa::path(post, path = "/admin/v1/screening/search", tag = "operator",
    security(("staff_session" = ["screening:search"])),
    request_body(content = SearchRequest),
    responses((status = 200, body = SearchView), (status = 409, body = crate::error::Problem),
        (status = 422, body = crate::error::Problem)))]
pub async fn search(
    State(state): State<AppState>,
    _staff: Staff,
    Body(body): Body<SearchRequest>,
) -> ApiResult<Json<SearchView>> {
    let mut query = Query::new(body.name.as_str());
    query.country = body.country.map(|c| c.as_str().to_owned());
    query.dob = body.birth_year.map(PartialDate::year);
    query.limit = body.limit;
    query.min_score = body.min_score;
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

/// The body of `POST /admin/v1/clearances`.
#[derive(utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"party": "recipient:5f1d7a52-3c8e-4b1a-9f0e-2d6c8b4a7e13",
    "entry": "un:6908555", "reason": "Different person: the recipient's birth year is 1988, the entry's 1961."}))]
pub struct ClearanceRequestBody {
    /// `tenant:ID` or `recipient:ID`.
    #[schema(value_type = String, max_length = 64, pattern = "^(tenant|recipient):")]
    party: Parsed<PartyRef, 64>,
    /// `LIST:ENTRY_ID`, e.g. `un:6908555`.
    #[schema(value_type = String, max_length = 800)]
    entry: Parsed<EntryRef, 800>,
    /// Why this is a false positive; kept with the clearance.
    #[schema(value_type = String, min_length = 1, max_length = 4000)]
    reason: Parsed<ClearanceReason, 4000>,
}

impl RequestBody for ClearanceRequestBody {
    const FIELDS: &'static [&'static str] = &["party", "entry", "reason"];

    fn read(f: &mut Fields<'_>) -> Option<Self> {
        let party = f.required("party");
        let entry = f.required("entry");
        let reason = f.required("reason");
        Some(Self {
            party: party?,
            entry: entry?,
            reason: reason?,
        })
    }
}

/// Clears a false positive until the entry's content changes; recorded as cleared by the
/// person.
#[utoipa::path(post, path = "/admin/v1/clearances", tag = "operator",
    security(("staff_session" = ["clearances:write"])),
    request_body(content = ClearanceRequestBody),
    responses((status = 201, body = ClearanceView), (status = 404, body = crate::error::Problem),
        (status = 422, body = crate::error::Problem)))]
pub async fn clear(
    State(state): State<AppState>,
    Staff(_, context): Staff,
    Body(body): Body<ClearanceRequestBody>,
) -> ApiResult<(StatusCode, Json<ClearanceView>)> {
    let request = ClearanceRequest {
        party: body.party.0,
        entry: body.entry.0,
        reason: body.reason.0,
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
