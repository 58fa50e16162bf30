//! SNAP (Bank Indonesia) endpoints: the B2B token, transfer initiation, transfer status and
//! balance inquiry, onto the same payments core as `/v1` (recipients through the blind index,
//! quotes priced here, transfers through `payments::initiate`). Every answer, error or not, is
//! SNAP's `{"responseCode","responseMessage",…}`; see docs/snap.md for the mapping and codes.

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::Response;
use axum::routing::post;
use benteng_auth::Credential;
use benteng_core::audit::AuditContext;
use benteng_core::currency::Currency;
use benteng_core::money::Money;
use benteng_core::payments::recipient::BankAccount;
use benteng_core::strict_json::{JsonObject, JsonValue, Limits, parse_object};
use benteng_core::text::{IdnAccountNumber, IdnBankCode, Name};
use benteng_crypto::ExposeSecret;
use benteng_payments::transfers::AccountPayment;
use benteng_snap::{ServiceCode, SnapCode, SnapError};
use benteng_store::{PartnerReference, StoreError};
use serde::Serialize;

use super::Routes;
use crate::middleware::{Audit, Caller, scope_of};
pub use crate::snap_format::{BALANCE_PATH, SNAP_PREFIX, STATUS_PATH, TOKEN_PATH, TRANSFER_PATH};
use crate::snap_format::{audit_refusal, error_response, json_response, transaction_not_found};
use crate::state::AppState;

pub(super) fn routes(routes: Routes) -> Routes {
    routes
        .public(TOKEN_PATH, post(token))
        .snap(TRANSFER_PATH, post(transfer))
        .snap(STATUS_PATH, post(status))
        .snap(BALANCE_PATH, post(balance))
}

/// SNAP B2B access token (service 73): `X-CLIENT-KEY`, `X-TIMESTAMP`, `X-SIGNATURE` =
/// base64(SHA256withRSA(client_id|X-TIMESTAMP)). Public, because the request carries its own
/// credentials (the partner's RSA signature), which `Authenticator` checks.
#[utoipa::path(post, path = "/v1.0/access-token/b2b", tag = "snap", security(("snap_client_signature" = [])),
    request_body(content = Object, description = r#"{"grantType":"client_credentials"}"#),
    responses((status = 200, description = "2007300: accessToken, tokenType Bearer, expiresIn \"900\""),
        (status = 400, description = "4007300/01/02"), (status = 401, description = "4017300 Unauthorized. [Signature] / [Unknown client] / [Timestamp]")))]
pub async fn token(
    State(state): State<AppState>,
    Audit(audit): Audit,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let get = |name: &str| headers.get(name).map(HeaderValue::as_bytes);
    match state.auth.issue_snap_token(get, &body, &audit).await {
        Ok(issued) => json_response(
            StatusCode::OK,
            benteng_snap::token_response_body(issued.token.expose_secret(), issued.expires_in),
        ),
        Err(error) => {
            if error.http_status == 401 {
                audit_refusal(&state, &audit, &error).await;
            }
            error_response(&error, ServiceCode::B2B_TOKEN)
        }
    }
}

/// The partner a SNAP route's principal authenticated as.
fn partner_of(caller: &benteng_auth::Principal) -> Result<uuid::Uuid, SnapError> {
    match &caller.credential {
        Credential::Snap { partner, .. } => Ok(*partner),
        _ => Err(SnapError::unauthorized("Credential")),
    }
}

/// `{"value":"12345678.00","currency":"IDR"}`.
#[derive(Serialize, Debug, Clone)]
struct SnapAmount {
    value: String,
    currency: String,
}

impl From<Money> for SnapAmount {
    fn from(money: Money) -> Self {
        Self {
            value: money.to_string(),
            currency: money.currency().code().to_owned(),
        }
    }
}

fn body_object(body: &[u8]) -> Result<JsonObject, SnapError> {
    parse_object(body, &Limits::default())
        .map_err(|_| SnapError::bad_request().with_detail("body is not a JSON object"))
}

/// A mandatory string member: missing, null or empty → 400xx02; not a string → 400xx01.
fn required_str<'a>(object: &'a JsonObject, name: &'static str) -> Result<&'a str, SnapError> {
    match object.get(name) {
        None | Some(JsonValue::Null) => Err(SnapError::invalid_mandatory_field(name)),
        Some(JsonValue::String(s)) if s.is_empty() => Err(SnapError::invalid_mandatory_field(name)),
        Some(JsonValue::String(s)) => Ok(s),
        Some(_) => Err(SnapError::invalid_field_format(name)),
    }
}

fn optional_str<'a>(
    object: &'a JsonObject,
    name: &'static str,
) -> Result<Option<&'a str>, SnapError> {
    match object.get(name) {
        None | Some(JsonValue::Null) => Ok(None),
        Some(JsonValue::String(s)) => Ok(Some(s)),
        Some(_) => Err(SnapError::invalid_field_format(name)),
    }
}

/// `partnerReferenceNo`: 1–64 of `[A-Za-z0-9-_]`.
fn reference_no(text: &str, name: &'static str) -> Result<String, SnapError> {
    let ok = (1..=64).contains(&text.len())
        && text
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
    if ok {
        Ok(text.to_owned())
    } else {
        Err(SnapError::invalid_field_format(name))
    }
}

/// SNAP amounts: a decimal string with exactly two decimals (ISO 4217 for IDR), positive.
fn snap_amount(object: &JsonObject) -> Result<Money, SnapError> {
    let amount = match object.get("amount") {
        None | Some(JsonValue::Null) => return Err(SnapError::invalid_mandatory_field("amount")),
        Some(JsonValue::Object(amount)) => amount,
        Some(_) => return Err(SnapError::invalid_field_format("amount")),
    };
    let value = required_str(amount, "value").map_err(|e| rename(e, "amount.value"))?;
    let currency = required_str(amount, "currency").map_err(|e| rename(e, "amount.currency"))?;
    let two_decimals = value.split_once('.').is_some_and(|(units, cents)| {
        !units.is_empty()
            && units.len() <= 16
            && cents.len() == 2
            && units
                .bytes()
                .chain(cents.bytes())
                .all(|b| b.is_ascii_digit())
    });
    if !two_decimals {
        return Err(SnapError::invalid_field_format("amount.value"));
    }
    if currency != "IDR" {
        return Err(SnapError::invalid_field_format("amount.currency"));
    }
    let money = Money::parse(value, Currency::IDR)
        .ok()
        .filter(Money::is_positive)
        .ok_or_else(|| SnapError::invalid_field_format("amount.value"))?;
    Ok(money)
}

/// Keeps the case of a field error but names the nested field.
fn rename(error: SnapError, field: &'static str) -> SnapError {
    match error.case {
        2 => SnapError::invalid_mandatory_field(field),
        _ => SnapError::invalid_field_format(field),
    }
}

fn internal(error: impl std::fmt::Display) -> SnapError {
    tracing::error!(%error, "SNAP request failed");
    SnapError::general_error()
}

/// The validated transfer body.
struct SnapTransfer {
    reference: String,
    amount: Money,
    account: BankAccount,
    name: Name,
}

fn parse_transfer(body: &[u8]) -> Result<SnapTransfer, SnapError> {
    let object = body_object(body)?;
    let reference = reference_no(
        required_str(&object, "partnerReferenceNo")?,
        "partnerReferenceNo",
    )?;
    let amount = snap_amount(&object)?;
    let account_number = IdnAccountNumber::parse(required_str(&object, "beneficiaryAccountNo")?)
        .map_err(|_| SnapError::invalid_field_format("beneficiaryAccountNo"))?;
    let bank_code = IdnBankCode::parse(required_str(&object, "beneficiaryBankCode")?)
        .map_err(|_| SnapError::invalid_field_format("beneficiaryBankCode"))?;
    let name: Name = required_str(&object, "beneficiaryAccountName")?
        .parse()
        .map_err(|_| SnapError::invalid_field_format("beneficiaryAccountName"))?;
    // Optional members of SNAP's interbank transfer, accepted and not used (type-checked).
    for optional in [
        "beneficiaryEmail",
        "sourceAccountNo",
        "transactionDate",
        "customerReference",
        "feeType",
        "remark",
        "currency",
    ] {
        optional_str(&object, optional)?;
    }
    Ok(SnapTransfer {
        reference,
        amount,
        account: BankAccount::Indonesian {
            account_number,
            bank_code,
        },
        name,
    })
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct TransferAdditionalInfo {
    transfer_id: String,
    status: &'static str,
    fee: SnapAmount,
    recipient_id: String,
    quote_id: String,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct TransferResponse {
    response_code: String,
    response_message: &'static str,
    /// benteng's id of the transfer.
    reference_no: String,
    partner_reference_no: String,
    amount: SnapAmount,
    beneficiary_bank_code: String,
    additional_info: TransferAdditionalInfo,
}

/// SNAP transfer (service 18): pay an Indonesian account in IDR; see docs/snap.md.
#[utoipa::path(post, path = "/v1.0/transfer-interbank", tag = "snap", security(("snap_token" = [], "snap_signature" = [])),
    request_body(content = Object, description = "partnerReferenceNo, amount {value, currency IDR}, beneficiaryAccountNo, beneficiaryBankCode, beneficiaryAccountName"),
    responses((status = 202, description = "2021800 Request In Progress: referenceNo (transfer id)"),
        (status = 400, description = "4001800/01/02"), (status = 401, description = "4011800/01/03"),
        (status = 403, description = "4031814 Insufficient Funds"),
        (status = 409, description = "4091800 X-EXTERNAL-ID reused / 4091801 Duplicate partnerReferenceNo")))]
///
/// `POST /v1.0/transfer-interbank` (service 18): pay an Indonesian account in IDR.
///
/// Idempotency (`X-Idempotency-Key`) and rate limits are built on another branch and mount as
/// layers; SNAP's own replay protections apply here already: `X-EXTERNAL-ID` per day (409xx00)
/// and `partnerReferenceNo` per partner (409xx01).
pub async fn transfer(
    State(state): State<AppState>,
    Caller(caller): Caller,
    Audit(audit): Audit,
    body: Bytes,
) -> Response {
    let service = ServiceCode::TRANSFER_INTERBANK;
    match create_transfer(&state, &caller, &audit, &body).await {
        Ok(answer) => answer,
        Err(error) => error_response(&error, service),
    }
}

async fn create_transfer(
    state: &AppState,
    caller: &benteng_auth::Principal,
    audit: &AuditContext,
    body: &[u8],
) -> Result<Response, SnapError> {
    let partner_id = partner_of(caller)?;
    let request = parse_transfer(body)?;
    let client_id = match &caller.credential {
        Credential::Snap { client_id, .. } => client_id.clone(),
        Credential::ApiKey { .. } | Credential::Session { .. } | Credential::Fapi { .. } => {
            return Err(SnapError::unauthorized("Credential"));
        }
    };
    let payment = AccountPayment {
        account: request.account.clone(),
        name: request.name,
        amount: request.amount,
        reference: PartnerReference {
            partner_id,
            client_id,
            reference: request.reference.clone(),
        },
    };
    let record = state
        .payments
        .pay_account(scope_of(caller), &payment, audit)
        .await
        .map_err(|refusal| crate::snap_format::refusal(&refusal))?;
    let answer = TransferResponse {
        response_code: SnapCode::in_progress(ServiceCode::TRANSFER_INTERBANK).to_string(),
        response_message: "Request In Progress",
        reference_no: record.id.to_string(),
        partner_reference_no: request.reference,
        amount: record.source.into(),
        beneficiary_bank_code: match &request.account {
            BankAccount::Indonesian { bank_code, .. } => bank_code.as_str().to_owned(),
            BankAccount::Iban(_) => String::new(),
        },
        additional_info: TransferAdditionalInfo {
            transfer_id: record.id.to_string(),
            status: record.status.as_str(),
            fee: record.fee.into(),
            recipient_id: record.recipient_id.to_string(),
            quote_id: record.quote_id.to_string(),
        },
    };
    let body = serde_json::to_string(&answer).map_err(internal)?;
    Ok(json_response(StatusCode::ACCEPTED, body))
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct StatusAdditionalInfo {
    transfer_id: String,
    status: &'static str,
    fee: SnapAmount,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct StatusResponse {
    response_code: String,
    response_message: &'static str,
    original_partner_reference_no: String,
    original_reference_no: String,
    service_code: &'static str,
    transaction_date: String,
    amount: SnapAmount,
    latest_transaction_status: &'static str,
    transaction_status_desc: &'static str,
    additional_info: StatusAdditionalInfo,
}

/// SNAP transfer status inquiry (service 36): a transfer by `originalPartnerReferenceNo`.
#[utoipa::path(post, path = "/v1.0/transfer/status", tag = "snap", security(("snap_token" = [], "snap_signature" = [])),
    request_body(content = Object, description = "originalPartnerReferenceNo, serviceCode \"18\" (optional)"),
    responses((status = 200, description = "2003600: latestTransactionStatus 00–06"),
        (status = 404, description = "4043601 Transaction Not Found")))]
pub async fn status(
    State(state): State<AppState>,
    Caller(caller): Caller,
    body: Bytes,
) -> Response {
    match transfer_status(&state, &caller, &body).await {
        Ok(answer) => answer,
        Err(error) => error_response(&error, ServiceCode::TRANSFER_STATUS_INQUIRY),
    }
}

async fn transfer_status(
    state: &AppState,
    caller: &benteng_auth::Principal,
    body: &[u8],
) -> Result<Response, SnapError> {
    let partner = partner_of(caller)?;
    let object = body_object(body)?;
    let reference = reference_no(
        required_str(&object, "originalPartnerReferenceNo")?,
        "originalPartnerReferenceNo",
    )?;
    if let Some(code) = optional_str(&object, "serviceCode")?
        && code != "18"
    {
        return Err(SnapError::invalid_field_format("serviceCode"));
    }
    for optional in [
        "originalReferenceNo",
        "originalExternalId",
        "transactionDate",
    ] {
        optional_str(&object, optional)?;
    }
    let linked = match state.store.snap_reference(partner, &reference).await {
        Ok(linked) => linked,
        Err(StoreError::NotFound) => return Err(transaction_not_found()),
        Err(error) => return Err(internal(error)),
    };
    let Some(transfer_id) = linked.transfer_id else {
        return Err(transaction_not_found());
    };
    let record = match state
        .store
        .transfer(caller.tenant.id, caller.environment(), transfer_id)
        .await
    {
        Ok(record) => record,
        Err(StoreError::NotFound) => return Err(transaction_not_found()),
        Err(error) => return Err(internal(error)),
    };
    let (code, description) = benteng_webhooks::snap::latest_transaction_status(record.status);
    let answer = StatusResponse {
        response_code: SnapCode::success(ServiceCode::TRANSFER_STATUS_INQUIRY).to_string(),
        response_message: "Successful",
        original_partner_reference_no: reference,
        original_reference_no: record.id.to_string(),
        service_code: "18",
        transaction_date: benteng_snap::headers::format_timestamp(record.created_at),
        amount: record.source.into(),
        latest_transaction_status: code,
        transaction_status_desc: description,
        additional_info: StatusAdditionalInfo {
            transfer_id: record.id.to_string(),
            status: record.status.as_str(),
            fee: record.fee.into(),
        },
    };
    let body = serde_json::to_string(&answer).map_err(internal)?;
    Ok(json_response(StatusCode::OK, body))
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct AccountInfo {
    balance_type: &'static str,
    /// Spendable now.
    amount: SnapAmount,
    available_balance: SnapAmount,
    /// Held by transfers in flight.
    hold_amount: SnapAmount,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct BalanceResponse {
    response_code: String,
    response_message: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    partner_reference_no: Option<String>,
    account_infos: Vec<AccountInfo>,
}

/// SNAP balance inquiry (service 11): the tenant's balances per currency.
#[utoipa::path(post, path = "/v1.0/balance-inquiry", tag = "snap", security(("snap_token" = [], "snap_signature" = [])),
    request_body(content = Object, description = "{} or partnerReferenceNo, accountNo (ignored)"),
    responses((status = 200, description = "2001100: accountInfos")))]
pub async fn balance(
    State(state): State<AppState>,
    Caller(caller): Caller,
    body: Bytes,
) -> Response {
    match balances(&state, &caller, &body).await {
        Ok(answer) => answer,
        Err(error) => error_response(&error, ServiceCode::BALANCE_INQUIRY),
    }
}

async fn balances(
    state: &AppState,
    caller: &benteng_auth::Principal,
    body: &[u8],
) -> Result<Response, SnapError> {
    partner_of(caller)?;
    let object = body_object(body)?;
    let reference = optional_str(&object, "partnerReferenceNo")?
        .map(|r| reference_no(r, "partnerReferenceNo"))
        .transpose()?;
    optional_str(&object, "accountNo")?;
    let account_infos = state
        .store
        .balances(caller.tenant.id, caller.environment())
        .await
        .map_err(internal)?
        .into_iter()
        .map(|b| AccountInfo {
            balance_type: "Cash",
            amount: b.available.into(),
            available_balance: b.available.into(),
            hold_amount: b.reserved.into(),
        })
        .collect();
    let answer = BalanceResponse {
        response_code: SnapCode::success(ServiceCode::BALANCE_INQUIRY).to_string(),
        response_message: "Successful",
        partner_reference_no: reference,
        account_infos,
    };
    let body = serde_json::to_string(&answer).map_err(internal)?;
    Ok(json_response(StatusCode::OK, body))
}
