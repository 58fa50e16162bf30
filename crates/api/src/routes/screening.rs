//! Ad hoc screening: search the loaded sanctions/PEP lists for a name, with the explanation of
//! every match (list, entry, matched name, method, score).

use axum::Json;
use axum::extract::State;
use axum::routing::post;
use benteng_compliance::benteng_screening::{EntityType, Match, PartialDate, Query, QueryError};
use benteng_core::country::CountryCode;
use benteng_core::strict_json::{FieldIssue, Fields, FromJsonField, JsonValue, enum_field};
use benteng_core::text::BoundedText;
use serde::Serialize;

use super::Routes;
use crate::error::{ApiError, ApiResult};
use crate::json::JsonBody;
use crate::middleware::Caller;
use crate::state::AppState;

pub(super) fn routes(routes: Routes) -> Routes {
    routes.tenant("/v1/screening/search", post(search))
}

#[derive(Clone, Copy)]
struct PartyType(EntityType);

impl FromJsonField for PartyType {
    fn from_json_field(value: &JsonValue) -> Result<Self, FieldIssue> {
        enum_field(
            value,
            &[
                ("individual", PartyType(EntityType::Person)),
                ("business", PartyType(EntityType::Organisation)),
            ],
        )
    }
}

struct Dob(PartialDate);

impl FromJsonField for Dob {
    fn from_json_field(value: &JsonValue) -> Result<Self, FieldIssue> {
        match value {
            JsonValue::String(text) => text.parse().map(Dob).map_err(|_| {
                FieldIssue::new(
                    "invalid_format",
                    "must be a date: YYYY, YYYY-MM or YYYY-MM-DD",
                )
            }),
            _ => Err(FieldIssue::invalid_type(
                "a string (YYYY, YYYY-MM or YYYY-MM-DD)",
            )),
        }
    }
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct ScreeningResult {
    /// The best score, 0–100.
    score: u8,
    /// `approve` (< review threshold), `review` or `block` (> block threshold).
    verdict: &'static str,
    /// Best first; each with its explanation (list, entry id, matched name, method, evidence).
    #[schema(value_type = Vec<Object>)]
    matches: Vec<Match>,
}

/// Screen a name against the loaded sanctions and PEP lists.
#[utoipa::path(post, path = "/v1/screening/search", tag = "compliance", security(("api_key" = [])),
    request_body(content = Object, description = "name (1–256 characters), date_of_birth? (YYYY[-MM[-DD]]), country? (ISO alpha-2), type? (individual | business)"),
    responses((status = 200, body = ScreeningResult), (status = 422, body = crate::error::Problem)))]
pub async fn search(
    State(state): State<AppState>,
    Caller(_caller): Caller,
    JsonBody(body): JsonBody,
) -> ApiResult<Json<ScreeningResult>> {
    let mut f = Fields::new(&body, &["name", "date_of_birth", "country", "type"]);
    let name: Option<BoundedText<256>> = f.required("name");
    let dob: Option<Dob> = f.optional("date_of_birth");
    let country: Option<CountryCode> = f.optional("country");
    let kind: Option<PartyType> = f.optional("type");
    let name = f.build(|| name)?;
    let mut query = Query::new(name.as_str());
    query.dob = dob.map(|d| d.0);
    query.country = country.map(|c| c.as_str().to_owned());
    query.entity_type = kind.map(|k| k.0);
    let matches = state
        .screening
        .search(&query)
        .map_err(|error| match error {
            QueryError::EmptyName => ApiError::invalid("name", "empty", "must not be empty"),
            QueryError::NoSearchableText => ApiError::invalid(
                "name",
                "no_searchable_text",
                "must contain letters or digits",
            ),
        })?;
    let score = matches.iter().map(|m| m.score).max().unwrap_or(0);
    Ok(Json(ScreeningResult {
        score,
        verdict: state.screening.verdict(score).as_str(),
        matches,
    }))
}
