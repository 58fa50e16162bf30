//! Recipients. Bank accounts and national ids are sealed (encrypted, bound to tenant, table,
//! column and row) before they reach storage, and are never returned: only the last four
//! characters of the account are.

use axum::Json;
use axum::extract::{Path, RawQuery, State};
use axum::http::{StatusCode, header};
use axum::response::IntoResponse;
use axum::routing::get;
use benteng_core::country::CountryCode;
use benteng_core::iban::Iban;
use benteng_core::ids::RecipientId;
use benteng_core::payments::recipient::{Address, BankAccount, NationalId, RecipientKind};
use benteng_core::strict_json::{FieldIssue, Fields, FromJsonField, JsonValue, enum_field};
use benteng_core::text::{Bic, BoundedText, IdnAccountNumber, IdnBankCode, Name};
use benteng_payments::recipients::NewRecipient;
use benteng_store::RecipientRow;
use serde::Serialize;
use time::OffsetDateTime;

use benteng_core::scopes::Scope;

use super::paging::{PageQuery, PageView};
use super::{Needs, Routes};
use crate::error::{ApiError, ApiResult};
use crate::json::JsonBody;
use crate::middleware::{Audit, Caller, scope_of};
use crate::state::AppState;

pub(super) fn routes(routes: Routes) -> Routes {
    routes
        .tenant(
            "/v1/recipients",
            Needs::on_get(Scope::RecipientsRead).and_post(Scope::RecipientsWrite),
            get(list).post(create),
        )
        .tenant(
            "/v1/recipients/{id}",
            Needs::on_get(Scope::RecipientsRead),
            get(show),
        )
}

#[derive(Clone, Copy)]
struct Kind(RecipientKind);

impl FromJsonField for Kind {
    fn from_json_field(value: &JsonValue) -> Result<Self, FieldIssue> {
        enum_field(
            value,
            &[
                ("individual", Kind(RecipientKind::Individual)),
                ("business", Kind(RecipientKind::Business)),
            ],
        )
    }
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct BankAccountView {
    /// `iban` or `idn` (Indonesian account number and bank code).
    scheme: String,
    last4: String,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct RecipientView {
    id: String,
    #[serde(rename = "type")]
    kind: &'static str,
    /// False for a recipient of the test environment.
    livemode: bool,
    name: String,
    country: String,
    #[schema(value_type = Option<Object>)]
    address: Option<Address>,
    bank_account: BankAccountView,
    /// The recipient's bank (ISO 9362 BIC), when it was given.
    bic: Option<String>,
    has_national_id: bool,
    #[serde(with = "time::serde::rfc3339")]
    created_at: OffsetDateTime,
}

impl From<&RecipientRow> for RecipientView {
    fn from(row: &RecipientRow) -> Self {
        Self {
            id: row.id.to_string(),
            kind: row.kind.as_str(),
            livemode: row.environment == benteng_core::api_key::KeyEnvironment::Live,
            name: row.name.to_string(),
            country: row.country.to_string(),
            address: row.address.clone(),
            bank_account: BankAccountView {
                scheme: row.bank_scheme.clone(),
                last4: row.bank_account_last4.clone(),
            },
            bic: row.bic.as_ref().map(|bic| bic.as_str().to_owned()),
            has_national_id: row.national_id_sealed.is_some(),
            created_at: row.created_at,
        }
    }
}

pub(super) const RECIPIENT_FIELDS: [&str; 7] = [
    "type",
    "name",
    "country",
    "address",
    "bank_account",
    "national_id",
    "bic",
];
pub(super) const ADDRESS_FIELDS: [&str; 5] = ["line1", "line2", "city", "postal_code", "country"];
pub(super) const BANK_ACCOUNT_FIELDS: [&str; 3] = ["iban", "account_number", "bank_code"];

/// The body of `POST /v1/recipients` as `parse` reads it: the description of the request,
/// never deserialized (a unit test in `docs.rs` checks its fields against the parser's lists).
#[derive(serde::Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
#[allow(dead_code)]
#[schema(example = json!({"type": "business", "name": "CV Sinar Abadi", "country": "ID",
    "bank_account": {"account_number": "1234567890", "bank_code": "014"}}))]
pub struct NewRecipientRequest {
    #[serde(rename = "type")]
    kind: RecipientType,
    /// The name on the account: 1 to 140 characters, no control characters, trimmed.
    #[schema(min_length = 1, max_length = 140)]
    name: String,
    /// ISO 3166-1 alpha-2.
    #[schema(pattern = "^[A-Z]{2}$", example = "ID")]
    country: String,
    address: Option<AddressRequest>,
    bank_account: BankAccountRequest,
    /// Sealed at rest; never shown again.
    #[schema(min_length = 1, max_length = 64)]
    national_id: Option<String>,
    /// The recipient's bank, ISO 9362 (8 or 11 characters).
    #[schema(pattern = "^[A-Z]{6}[A-Z0-9]{2}([A-Z0-9]{3})?$", example = "CENAIDJA")]
    bic: Option<String>,
}

#[derive(serde::Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
#[allow(dead_code)]
pub enum RecipientType {
    Individual,
    Business,
}

#[derive(serde::Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
#[allow(dead_code)]
pub struct AddressRequest {
    #[schema(min_length = 1, max_length = 140)]
    line1: String,
    #[schema(min_length = 1, max_length = 140)]
    line2: Option<String>,
    #[schema(min_length = 1, max_length = 70)]
    city: String,
    #[schema(min_length = 1, max_length = 16)]
    postal_code: Option<String>,
    /// ISO 3166-1 alpha-2.
    #[schema(pattern = "^[A-Z]{2}$")]
    country: String,
}

/// Either `iban`, or `account_number` with `bank_code` (an Indonesian account). Sealed at
/// rest; only the last four characters are ever shown.
#[derive(serde::Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
#[allow(dead_code)]
pub struct BankAccountRequest {
    /// ISO 13616, with a valid check sum.
    #[schema(
        pattern = "^[A-Z]{2}[0-9]{2}[A-Za-z0-9 ]{11,40}$",
        example = "DE89370400440532013000"
    )]
    iban: Option<String>,
    #[schema(pattern = "^[0-9]{5,20}$")]
    account_number: Option<String>,
    /// Bank Indonesia's 3-digit clearing code (e.g. `014` BCA).
    #[schema(pattern = "^[0-9]{3}$")]
    bank_code: Option<String>,
}

/// Reads the request into domain values, reporting every invalid field.
fn parse(body: &benteng_core::strict_json::JsonObject) -> Result<NewRecipient, ApiError> {
    let mut f = Fields::new(body, &RECIPIENT_FIELDS);
    let kind: Option<Kind> = f.required("type");
    let name: Option<Name> = f.required("name");
    let country: Option<CountryCode> = f.required("country");
    let national_id: Option<NationalId> = f.optional("national_id");
    let bic: Option<Bic> = f.optional("bic");
    let address = f.optional_object("address", &ADDRESS_FIELDS, |a| {
        let line1: Option<BoundedText<140>> = a.required("line1");
        let line2: Option<BoundedText<140>> = a.optional("line2");
        let city: Option<BoundedText<70>> = a.required("city");
        let postal_code: Option<BoundedText<16>> = a.optional("postal_code");
        let country: Option<CountryCode> = a.required("country");
        Some(Address {
            line1: line1?,
            line2,
            city: city?,
            postal_code,
            country: country?,
        })
    });
    let bank_account = f.required_object("bank_account", &BANK_ACCOUNT_FIELDS, |b| {
        let iban: Option<Iban> = b.optional("iban");
        let account_number: Option<IdnAccountNumber> = b.optional("account_number");
        let bank_code: Option<IdnBankCode> = b.optional("bank_code");
        match (iban, account_number, bank_code) {
            (Some(iban), None, None) => Some(BankAccount::Iban(iban)),
            (None, Some(account_number), Some(bank_code)) => Some(BankAccount::Indonesian {
                account_number,
                bank_code,
            }),
            _ => {
                if !b.has_errors() {
                    b.reject(
                        "iban",
                        "invalid_format",
                        "give either iban, or account_number with bank_code",
                    );
                }
                None
            }
        }
    });
    Ok(f.build(|| {
        Some(NewRecipient {
            kind: kind?.0,
            name: name?,
            country: country?,
            address,
            bank_account: bank_account?,
            national_id,
            bic,
        })
    })?)
}

/// Add a recipient.
#[utoipa::path(post, path = "/v1/recipients", tag = "payments", security(("api_key" = ["recipients:write"])),
    request_body(content = NewRecipientRequest),
    responses((status = 201, body = RecipientView), (status = 409, body = crate::error::Problem),
        (status = 422, body = crate::error::Problem)))]
pub async fn create(
    State(state): State<AppState>,
    Caller(caller): Caller,
    Audit(audit): Audit,
    JsonBody(body): JsonBody,
) -> ApiResult<impl IntoResponse> {
    let new = parse(&body)?;
    let row = state
        .payments
        .add_recipient(scope_of(&caller), new, &audit)
        .await?;
    Ok((
        StatusCode::CREATED,
        [(header::LOCATION, format!("/v1/recipients/{}", row.id))],
        Json(RecipientView::from(&row)),
    ))
}

/// One recipient of the caller's.
#[utoipa::path(get, path = "/v1/recipients/{id}", tag = "payments", security(("api_key" = ["recipients:read"])),
    params(("id" = String, Path)),
    responses((status = 200, body = RecipientView), (status = 404, body = crate::error::Problem)))]
pub async fn show(
    State(state): State<AppState>,
    Caller(caller): Caller,
    Path(id): Path<String>,
) -> ApiResult<Json<RecipientView>> {
    let id: RecipientId = id.parse().map_err(|_| ApiError::NotFound)?;
    let row = state
        .store
        .recipient(caller.tenant.id, caller.environment(), id)
        .await?;
    Ok(Json(RecipientView::from(&row)))
}

/// The caller's recipients, newest first.
#[utoipa::path(get, path = "/v1/recipients", tag = "payments", security(("api_key" = ["recipients:read"])),
    params(("limit" = Option<u32>, Query), ("cursor" = Option<String>, Query)),
    responses((status = 200, body = PageView<RecipientView>)))]
pub async fn list(
    State(state): State<AppState>,
    Caller(caller): Caller,
    RawQuery(query): RawQuery,
) -> ApiResult<Json<PageView<RecipientView>>> {
    let page = PageQuery::parse(query.as_deref(), &[])?;
    let result = state
        .store
        .recipients(
            caller.tenant.id,
            caller.environment(),
            page.cursor,
            page.limit,
        )
        .await?;
    Ok(Json(PageView::new(
        result.items.iter().map(RecipientView::from).collect(),
        result.next,
    )))
}
