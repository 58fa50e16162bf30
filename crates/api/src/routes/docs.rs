//! The API description (`/openapi.json`) and a docs page that renders it without any CDN: the
//! page, its script and its style are served from here, so it works offline and under the
//! spec's `Content-Security-Policy: default-src 'self'`.

use axum::Json;
use axum::http::header;
use axum::response::IntoResponse;
use axum::routing::get;
use utoipa::openapi::security::{
    ApiKey, ApiKeyValue, Http, HttpAuthScheme, HttpBuilder, SecurityScheme,
};
use utoipa::{Modify, OpenApi};

use super::{
    Routes, StaffNeed, admin, audit, balances, console, health, iso20022, kyc, oauth, quotes,
    recipients, snap, tenant, transfers, webhooks,
};

#[derive(OpenApi)]
#[openapi(
    info(title = "benteng", description = "The secure front door of a B2B cross-border payment rail."),
    paths(health::healthz, health::readyz, health::metrics, tenant::current_tenant, openapi_json,
        balances::balances, recipients::create, recipients::show, recipients::list, quotes::create,
        transfers::create, transfers::show, transfers::list, transfers::create_batch, transfers::show_batch,
        audit::list, snap::token, snap::transfer, snap::status, snap::balance,
        admin::session::sign_in, admin::session::current, admin::session::sign_out,
        admin::session::sign_out_everywhere, admin::session::start_enrolment,
        admin::session::finish_enrolment, admin::session::sign_in_tenant_user,
        admin::session::start_enrolment_tenant_user, admin::session::finish_enrolment_tenant_user,
        admin::session::sign_out_tenant_user, admin::people::list, admin::people::create,
        admin::people::grant, admin::people::revoke, admin::people::disable, admin::people::enable,
        admin::people::end_sessions, admin::approvals::list, admin::approvals::approve,
        admin::approvals::reject, admin::tenants::list, admin::tenants::show,
        admin::tenants::require_mtls, admin::tenants::tier, admin::tenants::create,
        admin::tenants::suspend, admin::tenants::reactivate, admin::credentials::list_keys,
        admin::credentials::issue_key, admin::credentials::revoke_key,
        admin::credentials::key_networks, admin::credentials::list_certificates,
        admin::credentials::add_certificate, admin::credentials::remove_certificate,
        admin::screening::search, admin::screening::clearances, admin::screening::clear,
        admin::screening::lists, admin::reviews::queue, admin::reviews::decide, admin::cases::list, admin::cases::show,
        admin::cases::take_next, admin::cases::propose, admin::cases::approve, admin::cases::reject,
        admin::incidents::list, admin::incidents::show, admin::incidents::acknowledge, admin::incidents::block,
        admin::reports::list, admin::reports::create, admin::reports::show, admin::reports::update,
        admin::reports::request_approval, admin::reports::approve, admin::reports::reject,
        admin::reports::export, admin::reports::mark_submitted, admin::reports::withdraw,
        admin::reports::supersede,
        console::sign_in_page, console::sign_in, console::style,
        console::inbox, console::take_next, console::case_page, console::propose, console::approve,
        console::reject, console::incident_page, console::block_address, console::reports_page, admin::audit::list, admin::tenant_users::list, admin::tenant_users::create, admin::tokens::issue, admin::tokens::list,
        admin::tokens::revoke, admin::tokens::revoke_all,
        webhooks::jwks, webhooks::list, webhooks::create, webhooks::show, webhooks::update,
        webhooks::delete, webhooks::test, webhooks::deliveries, webhooks::attempts,
        webhooks::resend, webhooks::replay, webhooks::notices,
        admin::webhooks::list, admin::webhooks::create, admin::webhooks::update,
        admin::webhooks::delete, admin::webhooks::test, admin::webhooks::deliveries,
        kyc::overview, kyc::upload,
        kyc::beneficial_owners, kyc::upgrade_request, admin::kyc::upgrade_requests,
        admin::kyc::propose_upgrade, admin::kyc::reject_upgrade, admin::kyc::tenant_kyc, admin::kyc::document,
        admin::kyc::review_item, iso20022::status_report,
        oauth::metadata, oauth::metadata_rfc8414, oauth::jwks, oauth::par, oauth::authorize_page,
        oauth::authorize_decide, oauth::token, oauth::revoke, admin::fapi_clients::list,
        admin::fapi_clients::register, admin::fapi_clients::disable, admin::fapi_clients::enable),

    components(schemas(crate::error::Problem, crate::error::FieldProblem)),
    modifiers(&BearerKeys, &StaffTokens),
    tags((name = "operations"), (name = "fapi", description = "The FAPI 2.0 authorization server: discovery, PAR, the consent page, the token endpoint."), (name = "tenant"), (name = "payments"), (name = "snap"),
        (name = "console", description = "The compliance console: HTML pages and forms for staff sessions, over the same functions as the operator API's cases."),
        (name = "operator", description = "The operator API: staff sessions, roles, four-eyes approvals, tenants, credentials, screening, lists and the audit trail. Each operation names the permission it needs."))
)]
pub struct ApiDoc;

struct BearerKeys;

impl Modify for BearerKeys {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        // Each operation lists the one scope it needs in its `api_key` requirement; a key
        // without it gets 403 `insufficient-scope` naming it.
        components.add_security_scheme(
            "api_key",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .description(Some(
                        "An API key (`sk_live_…`, `sk_test_…`). Keys carry scopes; each \
                         operation names the scope it needs, and a key without it is refused \
                         with 403 insufficient-scope. A key may be restricted to source \
                         networks (CIDRs); from any other address it is refused with 403 \
                         network-not-allowed.",
                    ))
                    .build(),
            ),
        );
        // SNAP: a B2B token plus X-TIMESTAMP, X-SIGNATURE, X-PARTNER-ID, X-EXTERNAL-ID, CHANNEL-ID.
        components.add_security_scheme(
            "snap_token",
            SecurityScheme::Http(Http::new(HttpAuthScheme::Bearer)),
        );
        // Tenant users' browsers: the session cookie from `POST /v1/session`; it stands for an
        // API key whose scopes are the user's tenant role's (owner, payer, viewer).
        components.add_security_scheme(
            "tenant_session",
            SecurityScheme::ApiKey(ApiKey::Cookie(ApiKeyValue::with_description(
                "__Host-benteng_session",
                "A tenant user's session. Every tenant operation accepts it in place of an API \
                 key, with the scopes of the user's role; POST requests carry the session's \
                 CSRF token as X-CSRF-Token.",
            ))),
        );
        // Operator routes: the session cookie from `POST /admin/v1/session`; each operation
        // lists the permission it needs (none: any signed-in staff member). State-changing
        // requests also carry the session's `X-CSRF-Token`.
        components.add_security_scheme(
            "staff_session",
            SecurityScheme::ApiKey(ApiKey::Cookie(ApiKeyValue::with_description(
                "__Host-benteng_session",
                "A staff session. Operations name the permission their route needs; a person \
                 whose roles do not grant it is refused with 403 insufficient-permission. \
                 POST requests carry the session's CSRF token as X-CSRF-Token.",
            ))),
        );
        // Automation on operator routes: a staff token from `POST /admin/v1/session/tokens`.
        components.add_security_scheme(
            "staff_token",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .description(Some(
                        "A staff API token (`bt_staff_…`), issued by a person for their own \
                         automation with a subset of their permissions. A request may use what \
                         the token names and the person's current roles grant; otherwise 403 \
                         insufficient-permission. No CSRF token is needed. Never together with \
                         the session cookie.",
                    ))
                    .build(),
            ),
        );
    }
}

/// Operator operations accept a staff token as well as a session, except those whose route
/// takes a session only ([`StaffNeed::Session`]). Derived from the route table, so each
/// operation states its permission once (`security(("staff_session" = [...]))`) and the token
/// alternative with the same permission follows.
struct StaffTokens;

impl Modify for StaffTokens {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        use utoipa::openapi::security::SecurityRequirement;
        for (path, needs) in super::staff_table() {
            let Some(item) = openapi.paths.paths.get_mut(path) else {
                continue;
            };
            for (method, need) in needs.declared() {
                let permissions: Vec<&str> = match need {
                    StaffNeed::Session => continue,
                    StaffNeed::SignedIn => vec![],
                    StaffNeed::Permission(permission) => vec![permission.as_str()],
                };
                let operation = if method == axum::http::Method::GET {
                    item.get.as_mut()
                } else {
                    item.post.as_mut()
                };
                if let Some(operation) = operation {
                    operation
                        .security
                        .get_or_insert_with(Vec::new)
                        .push(SecurityRequirement::new("staff_token", permissions));
                }
            }
        }
    }
}

pub(super) fn routes(routes: Routes) -> Routes {
    routes
        .public("/openapi.json", get(openapi_json))
        .public("/docs", get(page))
        .public("/docs/docs.js", get(script))
        .public("/docs/docs.css", get(style))
}

/// This document.
#[utoipa::path(get, path = "/openapi.json", tag = "operations", responses((status = 200, content_type = "application/json")))]
pub async fn openapi_json() -> impl IntoResponse {
    Json(ApiDoc::openapi())
}

async fn page() -> impl IntoResponse {
    (
        [(header::CONTENT_TYPE, "text/html; charset=utf-8")],
        include_str!("../../assets/docs.html"),
    )
}

async fn script() -> impl IntoResponse {
    (
        [(header::CONTENT_TYPE, "text/javascript; charset=utf-8")],
        include_str!("../../assets/docs.js"),
    )
}

async fn style() -> impl IntoResponse {
    (
        [(header::CONTENT_TYPE, "text/css; charset=utf-8")],
        include_str!("../../assets/docs.css"),
    )
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    /// The description and the route table agree: every tenant operation's `api_key`
    /// requirement names exactly the scope its route declares.
    #[test]
    fn every_tenant_operation_documents_its_scope() {
        let doc = serde_json::to_value(ApiDoc::openapi()).unwrap();
        for (path, needs) in super::super::scope_table() {
            for (method, scope) in needs.declared() {
                let method = method.as_str().to_lowercase();
                let security = &doc["paths"][path][&method]["security"];
                let by_key = serde_json::json!([{ "api_key": [scope.as_str()] }]);
                let by_session = serde_json::json!([{ "tenant_session": [scope.as_str()] }]);
                assert!(
                    security == &by_key || security == &by_session,
                    "{method} {path}: {security}"
                );
            }
        }
    }

    /// Every operator operation is described, with the permission its route declares, for a
    /// session and (unless the route takes a session only) for a staff token.
    #[test]
    fn every_operator_operation_documents_its_permission() {
        let doc = serde_json::to_value(ApiDoc::openapi()).unwrap();
        let table = super::super::staff_table();
        assert!(!table.is_empty());
        assert!(doc["components"]["securitySchemes"]["staff_token"].is_object());
        for (path, needs) in table {
            for (method, need) in needs.declared() {
                let method = method.as_str().to_lowercase();
                let security = &doc["paths"][path][&method]["security"];
                let expected = match need {
                    StaffNeed::Session => serde_json::json!([{ "staff_session": [] }]),
                    StaffNeed::SignedIn => {
                        serde_json::json!([{ "staff_session": [] }, { "staff_token": [] }])
                    }
                    StaffNeed::Permission(p) => serde_json::json!([
                        { "staff_session": [p.as_str()] },
                        { "staff_token": [p.as_str()] }
                    ]),
                };
                assert_eq!(security, &expected, "{method} {path}");
            }
        }
    }
}
