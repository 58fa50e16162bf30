//! The caller's balances.

use axum::Json;
use axum::extract::State;
use axum::routing::get;
use serde::Serialize;

use benteng_core::scopes::Scope;

use super::{Needs, Routes};
use crate::error::ApiResult;
use crate::middleware::Caller;
use crate::state::AppState;

pub(super) fn routes(routes: Routes) -> Routes {
    routes.tenant(
        "/v1/balances",
        Needs::on_get(Scope::BalancesRead),
        get(balances),
    )
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct BalanceView {
    currency: String,
    /// Spendable now.
    available: String,
    /// Held by transfers still in flight.
    reserved: String,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct Balances {
    data: Vec<BalanceView>,
}

/// Available and reserved funds per currency.
#[utoipa::path(get, path = "/v1/balances", tag = "payments", security(("api_key" = ["balances:read"])),
    responses((status = 200, body = Balances)))]
pub async fn balances(
    State(state): State<AppState>,
    Caller(caller): Caller,
) -> ApiResult<Json<Balances>> {
    let data = state
        .store
        .balances(caller.tenant.id, caller.environment())
        .await?
        .into_iter()
        .map(|b| BalanceView {
            currency: b.currency.code().to_owned(),
            available: b.available.to_string(),
            reserved: b.reserved.to_string(),
        })
        .collect();
    Ok(Json(Balances { data }))
}
