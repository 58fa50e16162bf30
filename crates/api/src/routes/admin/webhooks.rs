//! A tenant's webhook endpoints as operators manage them: reading needs `tenants:read`,
//! changing needs `tenants:write`. The same commands as the tenant API's, audited with the
//! staff member as the actor.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::{get, post};
use benteng_core::api_key::KeyEnvironment;
use benteng_core::ids::{EndpointId, TenantId};
use benteng_core::roles::Permission;

use super::path_id;
use crate::error::ApiResult;
use crate::json::JsonBody;
use crate::middleware::Staff;
use crate::routes::webhooks::{DeliveryView, EndpointView, parse_change, parse_new};
use crate::routes::{Needs, Routes};
use crate::state::AppState;

pub(super) fn routes(routes: Routes) -> Routes {
    let read = Permission::TenantsRead.into();
    let write = Permission::TenantsWrite.into();
    routes
        .staff(
            "/admin/v1/tenants/{id}/webhook-endpoints",
            Needs::on_get(read).and_post(write),
            get(list).post(create),
        )
        .staff(
            "/admin/v1/tenants/{id}/webhook-endpoints/{endpoint}",
            Needs::on_post(write),
            post(update),
        )
        .staff(
            "/admin/v1/tenants/{id}/webhook-endpoints/{endpoint}/delete",
            Needs::on_post(write),
            post(delete),
        )
        .staff(
            "/admin/v1/tenants/{id}/webhook-endpoints/{endpoint}/test",
            Needs::on_post(write),
            post(test),
        )
        .staff(
            "/admin/v1/tenants/{id}/webhook-endpoints/{endpoint}/deliveries",
            Needs::on_get(read),
            get(deliveries),
        )
}

/// The tenant's endpoints, both environments.
#[utoipa::path(get, path = "/admin/v1/tenants/{id}/webhook-endpoints", tag = "operator",
    security(("staff_session" = ["tenants:read"])),
    responses((status = 200, body = Vec<EndpointView>)))]
pub async fn list(
    State(state): State<AppState>,
    _staff: Staff,
    Path(id): Path<String>,
) -> ApiResult<Json<Vec<EndpointView>>> {
    let tenant: TenantId = path_id(&id)?;
    let rows = state.store.webhook_endpoints(tenant, None).await?;
    Ok(Json(rows.iter().map(EndpointView::from).collect()))
}

/// Adds a live endpoint for the tenant (the body of the tenant's own `POST /v1/webhook-endpoints`).
#[utoipa::path(post, path = "/admin/v1/tenants/{id}/webhook-endpoints", tag = "operator",
    security(("staff_session" = ["tenants:write"])),
    request_body(content = crate::routes::webhooks::NewEndpointRequest),
    responses((status = 201, body = EndpointView), (status = 422, body = crate::error::Problem)))]
pub async fn create(
    State(state): State<AppState>,
    Staff(_, context): Staff,
    Path(id): Path<String>,
    JsonBody(body): JsonBody,
) -> ApiResult<(StatusCode, Json<EndpointView>)> {
    let tenant: TenantId = path_id(&id)?;
    state.store.tenant(tenant).await?;
    let new = parse_new(&body, &state.webhooks)?;
    let row = state
        .webhooks
        .create_endpoint(tenant, KeyEnvironment::Live, new, &context)
        .await?;
    Ok((StatusCode::CREATED, Json(EndpointView::from(&row))))
}

fn ids(id: &str, endpoint: &str) -> ApiResult<(TenantId, EndpointId)> {
    Ok((path_id(id)?, path_id(endpoint)?))
}

/// Changes a tenant's endpoint (the body of the tenant's own change route).
#[utoipa::path(post, path = "/admin/v1/tenants/{id}/webhook-endpoints/{endpoint}", tag = "operator",
    security(("staff_session" = ["tenants:write"])),
    request_body(content = crate::routes::webhooks::EndpointChangeRequest),
    responses((status = 200, body = EndpointView), (status = 404, body = crate::error::Problem)))]
pub async fn update(
    State(state): State<AppState>,
    Staff(_, context): Staff,
    Path((id, endpoint)): Path<(String, String)>,
    JsonBody(body): JsonBody,
) -> ApiResult<Json<EndpointView>> {
    let (tenant, endpoint) = ids(&id, &endpoint)?;
    let change = parse_change(&body, &state.webhooks)?;
    let row = state
        .webhooks
        .update_endpoint(tenant, endpoint, change, &context)
        .await?;
    Ok(Json(EndpointView::from(&row)))
}

/// Deletes a tenant's endpoint.
#[utoipa::path(post, path = "/admin/v1/tenants/{id}/webhook-endpoints/{endpoint}/delete", tag = "operator",
    security(("staff_session" = ["tenants:write"])),
    responses((status = 204), (status = 404, body = crate::error::Problem)))]
pub async fn delete(
    State(state): State<AppState>,
    Staff(_, context): Staff,
    Path((id, endpoint)): Path<(String, String)>,
) -> ApiResult<StatusCode> {
    let (tenant, endpoint) = ids(&id, &endpoint)?;
    state
        .webhooks
        .delete_endpoint(tenant, endpoint, &context)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Queues a test delivery to a tenant's endpoint.
#[utoipa::path(post, path = "/admin/v1/tenants/{id}/webhook-endpoints/{endpoint}/test", tag = "operator",
    security(("staff_session" = ["tenants:write"])),
    responses((status = 202, body = crate::routes::webhooks::TestQueuedView), (status = 404, body = crate::error::Problem)))]
pub async fn test(
    State(state): State<AppState>,
    Staff(_, context): Staff,
    Path((id, endpoint)): Path<(String, String)>,
) -> ApiResult<(StatusCode, Json<crate::routes::webhooks::TestQueuedView>)> {
    let (tenant, endpoint) = ids(&id, &endpoint)?;
    let event = state.webhooks.send_test(tenant, endpoint, &context).await?;
    Ok((
        StatusCode::ACCEPTED,
        Json(crate::routes::webhooks::TestQueuedView {
            event_id: event.to_string(),
        }),
    ))
}

/// A tenant endpoint's latest deliveries.
#[utoipa::path(get, path = "/admin/v1/tenants/{id}/webhook-endpoints/{endpoint}/deliveries", tag = "operator",
    security(("staff_session" = ["tenants:read"])),
    responses((status = 200, body = Vec<DeliveryView>), (status = 404, body = crate::error::Problem)))]
pub async fn deliveries(
    State(state): State<AppState>,
    _staff: Staff,
    Path((id, endpoint)): Path<(String, String)>,
) -> ApiResult<Json<Vec<DeliveryView>>> {
    let (tenant, endpoint) = ids(&id, &endpoint)?;
    let rows = state
        .store
        .webhook_deliveries(tenant, endpoint, 100)
        .await?;
    Ok(Json(rows.iter().map(DeliveryView::from).collect()))
}
