//! The tenant's KYC: where it stands, its evidence (documents, beneficial owners) and its
//! requests to move up a level. Documents are checked here before anything is read in full:
//! the declared type, the declared length, then the content's magic bytes.

use axum::Json;
use axum::extract::{Path, Request, State};
use axum::http::{StatusCode, header};
use axum::response::IntoResponse;
use axum::routing::{get, post};
use benteng_auth::Principal;
use benteng_core::api_key::KeyEnvironment;
use benteng_core::kyc::{BeneficialOwner, DocumentRefusal, DocumentType, KycItem};
use benteng_core::scopes::Scope;
use benteng_core::strict_json::{Fields, JsonObject};
use benteng_operations::KycOverview;
use benteng_store::{EvidenceRow, UpgradeRequestRow};
use serde::Serialize;
use time::OffsetDateTime;

use super::{Needs, Routes};
use crate::error::{ApiError, ApiResult};
use crate::json::JsonBody;
use crate::middleware::{Audit, Caller};
use crate::state::AppState;

pub(super) fn routes(routes: Routes) -> Routes {
    routes
        .tenant("/v1/kyc", Needs::on_get(Scope::KycRead), get(overview))
        .tenant(
            "/v1/kyc/evidence/{item}",
            Needs::on_post(Scope::KycWrite),
            post(upload),
        )
        .tenant(
            "/v1/kyc/beneficial-owners",
            Needs::on_post(Scope::KycWrite),
            post(beneficial_owners),
        )
        .tenant(
            "/v1/kyc/upgrade-requests",
            Needs::on_post(Scope::KycWrite),
            post(upgrade_request),
        )
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct KycItemView {
    item: &'static str,
    /// `missing`, `submitted`, `verified` or `rejected`.
    status: &'static str,
    /// The level that first requires the item.
    level: &'static str,
}

/// Where the tenant stands.
#[derive(Serialize, utoipa::ToSchema)]
pub struct KycView {
    /// `none`, `basic`, `standard` or `enhanced`.
    level: &'static str,
    /// The most the tenant may send in 30 days, in US cents; null: no ceiling.
    ceiling_usd_cents: Option<i64>,
    /// What it sent (live) in the last 30 days, in US cents.
    volume_30d_usd_cents: i64,
    next_level: Option<&'static str>,
    /// The items of the next level not verified yet.
    missing_for_next: Vec<&'static str>,
    items: Vec<KycItemView>,
}

impl From<&KycOverview> for KycView {
    fn from(o: &KycOverview) -> Self {
        Self {
            level: o.level.as_str(),
            ceiling_usd_cents: o.ceiling_usd_cents,
            volume_30d_usd_cents: o.volume_30d_usd_cents,
            next_level: o.next_level.map(|l| l.as_str()),
            missing_for_next: o.missing_for_next.iter().map(|i| i.as_str()).collect(),
            items: o
                .items
                .iter()
                .map(|(item, status)| KycItemView {
                    item: item.as_str(),
                    status,
                    level: item.level().as_str(),
                })
                .collect(),
        }
    }
}

/// A submission as the tenant sees it: never the content, never a screening outcome.
#[derive(Serialize, utoipa::ToSchema)]
pub struct EvidenceView {
    id: String,
    item: &'static str,
    content_type: String,
    size_bytes: i64,
    sha256: String,
    #[serde(with = "time::serde::rfc3339")]
    created_at: OffsetDateTime,
}

impl From<&EvidenceRow> for EvidenceView {
    fn from(row: &EvidenceRow) -> Self {
        Self {
            id: row.id.clone(),
            item: row.item.as_str(),
            content_type: row.content_type.clone(),
            size_bytes: row.size_bytes,
            sha256: row.sha256.clone(),
            created_at: row.created_at,
        }
    }
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct UpgradeRequestView {
    id: String,
    level: &'static str,
    /// `pending`, `approved` or `rejected`.
    status: String,
    #[serde(with = "time::serde::rfc3339")]
    requested_at: OffsetDateTime,
}

impl From<&UpgradeRequestRow> for UpgradeRequestView {
    fn from(row: &UpgradeRequestRow) -> Self {
        Self {
            id: row.id.clone(),
            level: row.level.as_str(),
            status: row.status.clone(),
            requested_at: row.requested_at,
        }
    }
}

/// KYC evidence is the tenant's, not an environment's: test keys cannot change it.
fn live_only(caller: &Principal) -> ApiResult<()> {
    if caller.environment() == KeyEnvironment::Test {
        return Err(ApiError::Refused {
            status: StatusCode::FORBIDDEN,
            slug: "kyc-live-only",
            title: "KYC evidence needs live credentials",
            detail: "submit KYC evidence and upgrade requests with a live key or a user session"
                .to_owned(),
        });
    }
    Ok(())
}

fn unknown_item() -> ApiError {
    let known: Vec<&str> = KycItem::ALL.iter().map(|i| i.as_str()).collect();
    ApiError::Refused {
        status: StatusCode::NOT_FOUND,
        slug: "unknown-kyc-item",
        title: "Unknown KYC item",
        detail: format!("the item must be one of: {}", known.join(", ")),
    }
}

fn document_refused(refusal: &DocumentRefusal) -> ApiError {
    ApiError::from(benteng_payments::Refusal::Document(refusal.clone()))
}

/// The caller's KYC level, its ceiling, its live 30-day volume and each item's status.
#[utoipa::path(get, path = "/v1/kyc", tag = "tenant",
    security(("api_key" = ["kyc:read"])),
    responses((status = 200, body = KycView), (status = 401, body = crate::error::Problem)))]
pub async fn overview(
    State(state): State<AppState>,
    Caller(caller): Caller,
) -> ApiResult<Json<KycView>> {
    let overview = state.operations.kyc_overview(caller.tenant.id).await?;
    Ok(Json(KycView::from(&overview)))
}

/// A document's bytes as uploaded: they must start as a file of the declared type does.
#[derive(utoipa::ToSchema)]
#[schema(value_type = String, format = Binary)]
#[allow(dead_code)]
pub struct DocumentBytes(Vec<u8>);

/// Uploads a document for one item: the raw body, `Content-Type` `application/pdf`,
/// `image/png` or `image/jpeg`, at most `kyc.max_document_bytes`. The item becomes
/// `submitted`.
#[utoipa::path(post, path = "/v1/kyc/evidence/{item}", tag = "tenant",
    security(("api_key" = ["kyc:write"])),
    params(("item" = String, Path, description = "email, phone, business_registration, government_id, address_proof, business_licence, beneficial_owners, source_of_funds, bank_statements or on_site_visit")),
    request_body(content((DocumentBytes = "application/pdf"), (DocumentBytes = "image/png"),
        (DocumentBytes = "image/jpeg"))),
    responses((status = 201, body = EvidenceView), (status = 404, body = crate::error::Problem),
        (status = 413, body = crate::error::Problem), (status = 415, body = crate::error::Problem),
        (status = 422, body = crate::error::Problem)))]
pub async fn upload(
    State(state): State<AppState>,
    Caller(caller): Caller,
    Audit(audit): Audit,
    Path(item): Path<String>,
    request: Request,
) -> ApiResult<impl IntoResponse> {
    let item: KycItem = item.parse().map_err(|_| unknown_item())?;
    live_only(&caller)?;
    let declared = request
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .ok_or(DocumentRefusal::UnsupportedType {
            allowed: DocumentType::KYC,
        })
        .and_then(|header| DocumentType::from_content_type(header, DocumentType::KYC))
        .map_err(|r| document_refused(&r))?;
    let limit = state.operations.max_document_bytes();
    let too_large = || document_refused(&DocumentRefusal::TooLarge { limit });
    let declared_length = request
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared_length.is_some_and(|length| length > limit as u64) {
        return Err(too_large());
    }
    let bytes = axum::body::to_bytes(request.into_body(), limit)
        .await
        .map_err(|_| too_large())?;
    declared
        .check(&bytes, limit)
        .map_err(|r| document_refused(&r))?;
    let row = state
        .operations
        .submit_kyc_document(caller.tenant.id, item, declared, &bytes, &audit)
        .await?;
    Ok((StatusCode::CREATED, Json(EvidenceView::from(&row))))
}

const MAX_OWNERS: usize = 25;

pub(super) const OWNERS_FIELDS: [&str; 1] = ["owners"];
pub(super) const OWNER_FIELDS: [&str; 3] = ["name", "date_of_birth", "country"];

/// The body of `POST /v1/kyc/beneficial-owners` as `parse_owners` reads it: the description
/// of the request, never deserialized (a unit test in `docs.rs` checks its fields against the
/// parser's lists).
#[derive(serde::Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
#[allow(dead_code)]
pub struct BeneficialOwnersRequest {
    /// 1 to 25 owners.
    #[schema(min_items = 1, max_items = 25)]
    owners: Vec<BeneficialOwnerRequest>,
}

#[derive(serde::Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
#[allow(dead_code)]
#[schema(example = json!({"name": "Budi Santoso", "date_of_birth": "1980-04-17", "country": "ID"}))]
pub struct BeneficialOwnerRequest {
    /// 1 to 200 characters, no control characters, trimmed.
    #[schema(min_length = 1, max_length = 200)]
    name: String,
    /// `YYYY-MM-DD`, not in the future.
    #[schema(format = Date)]
    date_of_birth: String,
    /// ISO 3166-1 alpha-2.
    #[schema(pattern = "^[A-Z]{2}$")]
    country: String,
}

fn parse_owners(body: &JsonObject) -> ApiResult<Vec<BeneficialOwner>> {
    let mut f = Fields::new(body, &OWNERS_FIELDS);
    let owners = f.required_object_list("owners", 1..=MAX_OWNERS, &OWNER_FIELDS, |o| {
        let name: Option<super::admin::Parsed<benteng_core::text::BoundedText<200>, 800>> =
            o.required("name");
        let dob: Option<super::admin::Parsed<DateOfBirth, 10>> = o.required("date_of_birth");
        let country: Option<super::admin::Parsed<benteng_core::country::CountryCode, 2>> =
            o.required("country");
        Some(BeneficialOwner {
            name: name?.0.as_str().to_owned(),
            date_of_birth: dob?.0.0,
            country: country?.0.as_str().to_owned(),
        })
    });
    Ok(f.build(|| owners)?)
}

/// A date of birth: `YYYY-MM-DD`, a real date, not in the future.
struct DateOfBirth(String);

impl std::str::FromStr for DateOfBirth {
    type Err = &'static str;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let format = time::macros::format_description!("[year]-[month]-[day]");
        let date = time::Date::parse(text, format).map_err(|_| "must be a date, YYYY-MM-DD")?;
        if date > OffsetDateTime::now_utc().date() {
            return Err("must not be in the future");
        }
        Ok(Self(text.to_owned()))
    }
}

/// Declares the tenant's beneficial owners (`{"owners": [{"name", "date_of_birth",
/// "country"}]}`): stored sealed, each owner screened like a tenant. The item becomes
/// `submitted`; the screening outcome is for compliance staff only.
#[utoipa::path(post, path = "/v1/kyc/beneficial-owners", tag = "tenant",
    security(("api_key" = ["kyc:write"])),
    request_body(content = BeneficialOwnersRequest),
    responses((status = 201, body = EvidenceView), (status = 422, body = crate::error::Problem)))]
pub async fn beneficial_owners(
    State(state): State<AppState>,
    Caller(caller): Caller,
    Audit(audit): Audit,
    JsonBody(body): JsonBody,
) -> ApiResult<impl IntoResponse> {
    live_only(&caller)?;
    let owners = parse_owners(&body)?;
    let row = state
        .operations
        .submit_beneficial_owners(caller.tenant.id, &owners, &audit)
        .await?;
    Ok((StatusCode::CREATED, Json(EvidenceView::from(&row))))
}

/// Asks for the next KYC level. Refused (422) while an item that level requires has no
/// evidence; a compliance officer proposes it and a second one approves.
#[utoipa::path(post, path = "/v1/kyc/upgrade-requests", tag = "tenant",
    security(("api_key" = ["kyc:write"])),
    responses((status = 201, body = UpgradeRequestView), (status = 409, body = crate::error::Problem),
        (status = 422, body = crate::error::Problem)))]
pub async fn upgrade_request(
    State(state): State<AppState>,
    Caller(caller): Caller,
    Audit(audit): Audit,
) -> ApiResult<impl IntoResponse> {
    live_only(&caller)?;
    let request = state
        .operations
        .request_kyc_upgrade(caller.tenant.id, &audit)
        .await?;
    Ok((
        StatusCode::CREATED,
        Json(UpgradeRequestView::from(&request)),
    ))
}
