//! Analysts' screening work on the operator API: searching the loaded lists, clearing false
//! positives (audited as the person who cleared), and which list versions are loaded.

use std::collections::BTreeMap;

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::{get, post};
use benteng_core::payments::recipient::RecipientKind;
use benteng_core::roles::Permission;
use benteng_core::strict_json::Fields;
use benteng_core::text::BoundedText;
use benteng_operations::benteng_screening::{
    DEFAULT_LIMIT, DEFAULT_MIN_SCORE, EntityType, MAX_LIMIT, PartialDate, Query,
};
use benteng_operations::{ClearanceReason, ClearanceRequest, EntryRef, PartyRef, SearchResult};
use benteng_store::{Clearance, ListVersion};
use serde::Serialize;
use time::OffsetDateTime;

use super::Parsed;
use crate::error::{ApiError, ApiResult, FieldProblem};
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
    pub(crate) verdict: &'static str,
    /// The best score, 0–100.
    pub(crate) score: u8,
    /// Every match, best first, each with its explanation (`evidence`: the normalised names
    /// compared, per-token evidence, and the adjustments from birth year, country and type),
    /// its list entry as the list holds it (`entry`: names, aliases, dates of birth,
    /// nationalities, identifiers, addresses, programmes; null when a newer list version no
    /// longer has it) and the version of that list (`list_version`).
    #[schema(value_type = Vec<Object>)]
    pub(crate) matches: Vec<serde_json::Value>,
}

/// The body of `POST /admin/v1/screening/search`. A value out of range, or not a whole
/// number, is refused with a problem+json 422 naming the field.
#[derive(utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"name": "Ivan Petrov", "type": "individual", "country": "RU", "birth_year": 1970, "limit": 10, "min_score": 60}))]
pub struct SearchRequest {
    #[schema(value_type = String, min_length = 1, max_length = 200)]
    pub(crate) name: BoundedText<200>,
    /// `individual` or `business`: a list entry of the other kind scores lower.
    #[serde(rename = "type")]
    #[schema(schema_with = party_type_schema)]
    pub(crate) kind: Option<RecipientKind>,
    /// Nationality or country: ISO alpha-2 code or English name.
    #[schema(value_type = Option<String>, max_length = 64)]
    pub(crate) country: Option<BoundedText<64>>,
    #[schema(value_type = Option<u32>, minimum = 1800, maximum = 2200)]
    pub(crate) birth_year: Option<u16>,
    /// How many matches to return, best first (default 10).
    #[schema(value_type = Option<u32>, minimum = 1, maximum = 100)]
    limit: usize,
    /// The lowest score a returned match may have (default 40).
    #[schema(value_type = Option<u32>, minimum = 0, maximum = 100)]
    min_score: u8,
}

fn party_type_schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
    crate::json::string_enum_schema(["individual", "business"])
}

/// The years a search's `birth_year` may name.
const BIRTH_YEARS: std::ops::RangeInclusive<u32> = 1800..=2200;

impl RequestBody for SearchRequest {
    const FIELDS: &'static [&'static str] = &[
        "name",
        "type",
        "country",
        "birth_year",
        "limit",
        "min_score",
    ];

    fn read(f: &mut Fields<'_>) -> Option<Self> {
        let name = f.required("name");
        let kind: Option<Parsed<RecipientKind, 16>> = f.optional("type");
        let country = f.optional("country");
        let birth_year = match f.optional::<u32>("birth_year") {
            None => Some(None),
            Some(year) if BIRTH_YEARS.contains(&year) => u16::try_from(year).ok().map(Some),
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
            kind: kind.map(|k| k.0),
            country,
            birth_year: birth_year?,
            limit: limit?,
            min_score: min_score?,
        })
    }
}

impl SearchRequest {
    /// The console's search form: `name`, and optionally `type`, `country` and `birth_year`
    /// (an empty field is not given), read by the same rules as the JSON body; the default
    /// limit and floor. Every invalid field is reported at once.
    pub(crate) fn from_form(fields: &BTreeMap<String, String>) -> ApiResult<Self> {
        let given = |name: &str| {
            fields
                .get(name)
                .map(|value| value.trim())
                .filter(|value| !value.is_empty())
        };
        let mut problems = Vec::new();
        let mut problem = |field: &str, code: &str, message: String| {
            problems.push(FieldProblem {
                field: field.to_owned(),
                code: code.to_owned(),
                message,
            });
        };
        let name = match given("name").map(BoundedText::<200>::parse) {
            None => {
                problem("name", "required", "is required".to_owned());
                None
            }
            Some(Ok(name)) => Some(name),
            Some(Err(e)) => {
                problem("name", e.code(), e.to_string());
                None
            }
        };
        let kind = match given("type").map(str::parse::<RecipientKind>) {
            None => None,
            Some(Ok(kind)) => Some(kind),
            Some(Err(e)) => {
                problem("type", "invalid_value", e.to_string());
                None
            }
        };
        let country = match given("country").map(BoundedText::<64>::parse) {
            None => None,
            Some(Ok(country)) => Some(country),
            Some(Err(e)) => {
                problem("country", e.code(), e.to_string());
                None
            }
        };
        let birth_year = match given("birth_year") {
            None => None,
            Some(text) => match text.parse::<u32>().ok().filter(|y| BIRTH_YEARS.contains(y)) {
                Some(year) => u16::try_from(year).ok(),
                None => {
                    problem(
                        "birth_year",
                        "out_of_range",
                        "must be a year from 1800 to 2200".to_owned(),
                    );
                    None
                }
            },
        };
        match name {
            Some(name) if problems.is_empty() => Ok(Self {
                name,
                kind,
                country,
                birth_year,
                limit: DEFAULT_LIMIT,
                min_score: DEFAULT_MIN_SCORE,
            }),
            _ => Err(ApiError::Validation(problems)),
        }
    }
}

/// Runs a search: what the operator API's handler and the console's search page both call.
pub(crate) fn run_search(state: &AppState, request: &SearchRequest) -> ApiResult<SearchView> {
    let mut query = Query::new(request.name.as_str());
    query.entity_type = request.kind.map(|kind| match kind {
        RecipientKind::Individual => EntityType::Person,
        RecipientKind::Business => EntityType::Organisation,
    });
    query.country = request.country.as_ref().map(|c| c.as_str().to_owned());
    query.dob = request.birth_year.map(PartialDate::year);
    query.limit = request.limit;
    query.min_score = request.min_score;
    let SearchResult {
        verdict,
        score,
        matches,
    } = state.operations.search(&query)?;
    Ok(SearchView {
        verdict: verdict.as_str(),
        score,
        matches: matches
            .iter()
            .filter_map(|m| {
                let mut value = serde_json::to_value(&m.found).ok()?;
                let object = value.as_object_mut()?;
                object.insert("entry".to_owned(), serde_json::to_value(&m.entry).ok()?);
                object.insert("list_version".to_owned(), m.list_version.clone().into());
                Some(value)
            })
            .collect(),
    })
}

/// Searches the loaded sanctions and PEP lists for a name. Ad hoc: no party is recorded and
/// no clearance applies. Each match comes with its list entry and list version.
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
    Ok(Json(run_search(&state, &body)?))
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
