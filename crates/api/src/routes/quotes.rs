//! FX quotes: priced now, valid for `payments.quote_ttl_secs`, used by at most one transfer.

use axum::Json;
use axum::extract::{RawQuery, State};
use axum::http::StatusCode;
use axum::routing::get;
use benteng_core::currency::Currency;
use benteng_core::money::{Amount, Money};
use benteng_core::payments::quote::{FixedSide, Quote};
use benteng_payments::quotes::QuoteRequest;
use serde::Serialize;
use time::OffsetDateTime;

use benteng_core::scopes::Scope;

use super::paging::QueryParams;
use super::{Needs, Routes};
use crate::error::{ApiError, ApiResult, FieldProblem};
use crate::middleware::{Audit, Caller, scope_of};
use crate::state::AppState;

pub(super) fn routes(routes: Routes) -> Routes {
    routes.tenant("/v1/quotes", Needs::on_get(Scope::QuotesWrite), get(create))
}

/// An amount with its currency, as a decimal string with the currency's exact decimals.
#[derive(Serialize, utoipa::ToSchema)]
pub struct MoneyView {
    value: String,
    currency: String,
}

impl From<Money> for MoneyView {
    fn from(money: Money) -> Self {
        Self {
            value: money.to_string(),
            currency: money.currency().code().to_owned(),
        }
    }
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct QuoteView {
    id: String,
    source: MoneyView,
    target: MoneyView,
    fee: MoneyView,
    /// What the caller's balance is charged: source plus fee.
    total_debit: MoneyView,
    /// Units of target currency per unit of source currency.
    rate: String,
    /// The side the caller fixed; a transfer must state that amount and currency.
    fixed_side: &'static str,
    /// False for a quote of the test environment.
    livemode: bool,
    #[serde(with = "time::serde::rfc3339")]
    created_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    expires_at: OffsetDateTime,
}

impl QuoteView {
    pub fn new(quote: &Quote) -> ApiResult<Self> {
        let p = &quote.pricing;
        Ok(Self {
            id: quote.id.to_string(),
            source: p.source.into(),
            target: p.target.into(),
            fee: p.fee.into(),
            total_debit: quote.total_debit().map_err(|_| ApiError::Internal)?.into(),
            rate: p.rate.to_string(),
            fixed_side: p.fixed.as_str(),
            livemode: quote.environment == benteng_core::api_key::KeyEnvironment::Live,
            created_at: quote.created_at,
            expires_at: quote.expires_at,
        })
    }
}

fn field_error(problems: &mut Vec<FieldProblem>, field: &str, code: &str, message: &str) {
    problems.push(FieldProblem {
        field: field.to_owned(),
        code: code.to_owned(),
        message: message.to_owned(),
    });
}

/// Create a quote: `source_currency`, `target_currency`, and exactly one of `source_amount`
/// or `target_amount` (a decimal string).
#[utoipa::path(get, path = "/v1/quotes", tag = "payments", security(("api_key" = ["quotes:write"])),
    params(("source_currency" = String, Query), ("target_currency" = String, Query),
        ("source_amount" = Option<String>, Query), ("target_amount" = Option<String>, Query)),
    responses((status = 201, body = QuoteView), (status = 422, body = crate::error::Problem)))]
pub async fn create(
    State(state): State<AppState>,
    Caller(caller): Caller,
    Audit(audit): Audit,
    RawQuery(query): RawQuery,
) -> ApiResult<(StatusCode, Json<QuoteView>)> {
    let params = QueryParams::parse(
        query.as_deref(),
        &[
            "source_currency",
            "target_currency",
            "source_amount",
            "target_amount",
        ],
    )?;
    let mut problems = Vec::new();
    let mut currency = |name: &str| -> Option<Currency> {
        match params.get(name).map(Currency::parse) {
            None => field_error(&mut problems, name, "required", "is required"),
            Some(Err(_)) => field_error(
                &mut problems,
                name,
                "invalid_format",
                "must be an ISO 4217 code",
            ),
            Some(Ok(c)) => return Some(c),
        }
        None
    };
    let source_currency = currency("source_currency");
    let target_currency = currency("target_currency");
    let fixed = match (params.get("source_amount"), params.get("target_amount")) {
        (Some(text), None) => Some((FixedSide::Source, "source_amount", text)),
        (None, Some(text)) => Some((FixedSide::Target, "target_amount", text)),
        _ => {
            field_error(
                &mut problems,
                "source_amount",
                "required",
                "give exactly one of source_amount or target_amount",
            );
            None
        }
    };
    let amount = fixed.and_then(|(side, field, text)| match Amount::parse(text) {
        Ok(amount) if !amount.as_decimal().is_zero() => Some((side, amount)),
        _ => {
            field_error(
                &mut problems,
                field,
                "invalid_format",
                "must be a positive decimal string",
            );
            None
        }
    });
    let (Some(source), Some(target), Some((fixed, amount))) =
        (source_currency, target_currency, amount)
    else {
        return Err(ApiError::Validation(problems));
    };
    let request = QuoteRequest {
        source,
        target,
        fixed,
        amount: amount.as_decimal(),
    };
    let quote = state
        .payments
        .price_quote(scope_of(&caller), request, &audit)
        .await?;
    Ok((StatusCode::CREATED, Json(QuoteView::new(&quote)?)))
}
