//! The API description (`/openapi.json`) and the docs page (`/docs`) that renders it on the
//! server (`docs_page.rs`) with its one stylesheet: no script, no CDN, so it works offline and
//! under the spec's `Content-Security-Policy: default-src 'self'`.

use axum::Json;
use axum::http::header;
use axum::response::IntoResponse;
use axum::routing::get;
use utoipa::openapi::security::{ApiKey, ApiKeyValue, HttpAuthScheme, HttpBuilder, SecurityScheme};
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
        admin::screening::lists, admin::reviews::queue, admin::reviews::decide, admin::cases::list, admin::cases::dashboard_view, admin::cases::show,
        admin::cases::take_next, admin::cases::propose, admin::cases::add_attachment, admin::cases::attachment, admin::cases::close, admin::cases::comment, admin::cases::set_status, admin::cases::assign, admin::cases::reopen, admin::cases::approve, admin::cases::reject,
        admin::cases::confirm_hit, admin::cases::false_positive, admin::cases::blocks, admin::cases::clear_block,
        admin::incidents::list, admin::incidents::show, admin::incidents::acknowledge, admin::incidents::block,
        admin::reports::list, admin::reports::create, admin::reports::show, admin::reports::update,
        admin::reports::request_approval, admin::reports::approve, admin::reports::reject,
        admin::reports::export, admin::reports::mark_submitted, admin::reports::record_daml,
        admin::reports::withdraw,
        admin::reports::supersede,
        console::sign_in_page, console::sign_in, console::style,
        console::inbox, console::take_next, console::case_page, console::propose, console::add_attachment, console::close, console::work, console::approve,
        console::confirm_hit, console::false_positive, console::clear_block,
        console::reject, console::incident_page, console::block_address, console::reports_page,
        console::dashboard_page, console::screening_page, console::screening_search, admin::audit::list, admin::tenant_users::list, admin::tenant_users::create, admin::tokens::issue, admin::tokens::list,
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
    modifiers(&BearerKeys, &StaffTokens, &Contract),
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
        // SNAP: a B2B access token and, with it, the request's HMAC signature; both are
        // required (one requirement naming both schemes). The other SNAP headers are declared
        // as parameters of each SNAP operation.
        components.add_security_scheme(
            "snap_token",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .description(Some(
                        "SNAP's B2B access token, from POST /v1.0/access-token/b2b (15 minutes). \
                         Not an API key: SNAP routes refuse API keys and sessions.",
                    ))
                    .build(),
            ),
        );
        components.add_security_scheme(
            "snap_signature",
            SecurityScheme::ApiKey(ApiKey::Header(ApiKeyValue::with_description(
                "X-SIGNATURE",
                "base64(HMAC-SHA512(client secret, METHOD:RelativeUrl:AccessToken:\
                 lowerhex(SHA-256(minified body)):X-TIMESTAMP)), with X-TIMESTAMP, \
                 X-PARTNER-ID (the token's client id), X-EXTERNAL-ID and CHANNEL-ID. See \
                 docs/snap.md.",
            ))),
        );
        components.add_security_scheme(
            "snap_client_signature",
            SecurityScheme::ApiKey(ApiKey::Header(ApiKeyValue::with_description(
                "X-SIGNATURE",
                "The token request's signature: base64(SHA256withRSA(client_id|X-TIMESTAMP)) \
                 with the partner's registered RSA key (PKCS#1 v1.5), with X-CLIENT-KEY (the \
                 client id) and X-TIMESTAMP (ISO 8601, within 300 s).",
            ))),
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

/// What the layers in front of the handlers answer, added to each operation from the route
/// table and the protection policy, so a handler documents only its own outcomes:
/// - every response has a description (its status's reason phrase when the handler gave none);
/// - problem documents are `application/problem+json`, as `ApiError` renders them;
/// - tenant operations list the refusals of authentication, scope, protection, body and
///   query parsing, and their answers the rate-limit headers;
/// - money-moving routes that take an idempotency key declare it (and its alias).
struct Contract;

/// The refusals every tenant operation may answer before or beside its handler.
const TENANT_REFUSALS: &[(&str, &str)] = &[
    (
        "400",
        "Malformed request (a bad query string, header or idempotency key)",
    ),
    (
        "401",
        "Authentication required: no credential, or one that is unknown, expired or revoked",
    ),
    (
        "403",
        "Forbidden: insufficient scope, network not allowed, client certificate refused, or the tenant is suspended",
    ),
    (
        "422",
        "Validation failed: every invalid field is listed in `errors`",
    ),
    (
        "429",
        "Too many requests: a rate limit; `Retry-After` says when to retry",
    ),
    (
        "503",
        "Service unavailable or timed out; `Retry-After` says when to retry",
    ),
];

/// The refusals every operator operation may answer before or beside its handler.
const STAFF_REFUSALS: &[(&str, &str)] = &[
    ("400", "Malformed request (a bad query string or header)"),
    ("401", "No valid staff session or token"),
    (
        "403",
        "Forbidden: the person's roles (or the token) do not grant the permission, or a POST without the session's CSRF token",
    ),
    (
        "422",
        "Validation failed: every invalid field is listed in `errors`",
    ),
    (
        "429",
        "Too many requests from this address; `Retry-After` says when to retry",
    ),
    (
        "503",
        "Service unavailable or timed out; `Retry-After` says when to retry",
    ),
];

/// What a request with a body may be refused with.
const BODY_REFUSALS: &[(&str, &str)] = &[
    ("413", "Request body too large"),
    ("415", "Unsupported media type"),
];

const RATE_LIMIT_HEADERS: &[(&str, &str)] = &[
    (
        "X-RateLimit-Limit",
        "Requests allowed in the window of the limit that speaks",
    ),
    ("X-RateLimit-Remaining", "Requests left in that window"),
    (
        "X-RateLimit-Reset",
        "Unix time (seconds) at which that window ends",
    ),
];

fn operation_mut<'a>(
    item: &'a mut utoipa::openapi::PathItem,
    method: &axum::http::Method,
) -> Option<&'a mut utoipa::openapi::path::Operation> {
    if method == axum::http::Method::GET {
        item.get.as_mut()
    } else if method == axum::http::Method::POST {
        item.post.as_mut()
    } else {
        None
    }
}

fn problem_content() -> utoipa::openapi::Content {
    utoipa::openapi::Content::new(Some(utoipa::openapi::Ref::from_schema_name("Problem")))
}

fn is_problem(content: &utoipa::openapi::RefOr<utoipa::openapi::Content>) -> bool {
    use utoipa::openapi::RefOr;
    matches!(content, RefOr::T(content)
        if matches!(&content.schema, Some(RefOr::Ref(r)) if r.ref_location.ends_with("/Problem")))
}

impl Contract {
    fn describe_every_response(openapi: &mut utoipa::openapi::OpenApi) {
        use utoipa::openapi::RefOr;
        for item in openapi.paths.paths.values_mut() {
            for operation in [
                &mut item.get,
                &mut item.post,
                &mut item.put,
                &mut item.delete,
                &mut item.patch,
            ]
            .into_iter()
            .flatten()
            {
                for (status, response) in &mut operation.responses.responses {
                    let RefOr::T(response) = response else {
                        continue;
                    };
                    if response.description.is_empty() {
                        response.description = status
                            .parse::<u16>()
                            .ok()
                            .and_then(|code| axum::http::StatusCode::from_u16(code).ok())
                            .and_then(|code| code.canonical_reason())
                            .unwrap_or("Answer")
                            .to_owned();
                    }
                    if let Some(content) = response.content.shift_remove("application/json") {
                        let key = if is_problem(&content) {
                            crate::error::PROBLEM_CONTENT_TYPE
                        } else {
                            "application/json"
                        };
                        response.content.insert(key.to_owned(), content);
                    }
                }
            }
        }
    }

    fn tenant_refusals(openapi: &mut utoipa::openapi::OpenApi) {
        for (path, needs) in super::scope_table() {
            let methods: Vec<_> = needs.declared().map(|(method, _)| method).collect();
            Self::layer_refusals(openapi, path, &methods, TENANT_REFUSALS, true);
        }
    }

    fn staff_refusals(openapi: &mut utoipa::openapi::OpenApi) {
        for (path, needs) in super::staff_table() {
            let methods: Vec<_> = needs.declared().map(|(method, _)| method).collect();
            Self::layer_refusals(openapi, path, &methods, STAFF_REFUSALS, false);
        }
    }

    /// Adds `refusals` (and the not-found and body refusals where they apply) to each of the
    /// route's operations that does not document them itself, and the rate-limit headers to
    /// every answer of a `rate_limited` route.
    fn layer_refusals(
        openapi: &mut utoipa::openapi::OpenApi,
        path: &str,
        methods: &[axum::http::Method],
        refusals: &[(&str, &str)],
        rate_limited: bool,
    ) {
        use utoipa::openapi::header::Header;
        use utoipa::openapi::response::Response;
        use utoipa::openapi::{RefOr, Type};
        let Some(item) = openapi.paths.paths.get_mut(path) else {
            return;
        };
        for method in methods {
            let Some(operation) = operation_mut(item, method) else {
                continue;
            };
            let mut refusals: Vec<(&str, &str)> = refusals.to_vec();
            if path.contains('{') {
                refusals.push(("404", "Not found: no such resource of the caller's"));
            }
            if operation.request_body.is_some() {
                refusals.extend_from_slice(BODY_REFUSALS);
            }
            for (status, description) in refusals {
                let responses = &mut operation.responses.responses;
                if !responses.contains_key(status) {
                    let mut response = Response::new(description);
                    response.content.insert(
                        crate::error::PROBLEM_CONTENT_TYPE.to_owned(),
                        problem_content().into(),
                    );
                    responses.insert(status.to_owned(), RefOr::T(response));
                }
            }
            if !rate_limited {
                continue;
            }
            for (status, response) in &mut operation.responses.responses {
                let RefOr::T(response) = response else {
                    continue;
                };
                // An unauthenticated request is refused before any limit is counted.
                if status == "401" {
                    continue;
                }
                for (name, description) in RATE_LIMIT_HEADERS {
                    let mut header = Header::new(
                        utoipa::openapi::ObjectBuilder::new()
                            .schema_type(Type::Integer)
                            .minimum(Some(0)),
                    );
                    header.description = Some((*description).to_owned());
                    response.headers.insert((*name).to_owned(), header.into());
                }
            }
        }
    }

    fn idempotency_keys(openapi: &mut utoipa::openapi::OpenApi) {
        use crate::protection::policy::{MONEY_MOVING, Replay};
        use utoipa::openapi::path::{ParameterBuilder, ParameterIn};
        use utoipa::openapi::{KnownFormat, ObjectBuilder, Required, SchemaFormat, Type};
        let uuid = || {
            ObjectBuilder::new()
                .schema_type(Type::String)
                .format(Some(SchemaFormat::KnownFormat(KnownFormat::Uuid)))
        };
        for (method, path, replay) in MONEY_MOVING {
            if *replay != Replay::IdempotencyKey {
                continue;
            }
            let Ok(method) = method.parse::<axum::http::Method>() else {
                continue;
            };
            let Some(operation) = openapi
                .paths
                .paths
                .get_mut(*path)
                .and_then(|item| operation_mut(item, &method))
            else {
                continue;
            };
            // A second request with the key while the first still runs.
            if !operation.responses.responses.contains_key("409") {
                let mut response = utoipa::openapi::response::Response::new(
                    "Conflict: a request with this idempotency key is still running",
                );
                response.content.insert(
                    crate::error::PROBLEM_CONTENT_TYPE.to_owned(),
                    problem_content().into(),
                );
                operation
                    .responses
                    .responses
                    .insert("409".to_owned(), response.into());
            }
            let parameters = operation.parameters.get_or_insert_with(Vec::new);
            parameters.push(
                ParameterBuilder::new()
                    .name("X-Idempotency-Key")
                    .parameter_in(ParameterIn::Header)
                    .required(Required::True)
                    .schema(Some(uuid()))
                    .description(Some(
                        "A UUID naming this request: a retry with the same key and body gets \
                         the first answer again (with `Idempotent-Replayed: true`), a different \
                         body with the same key 422, while the first is still running 409. \
                         `Idempotency-Key` is accepted in its place; both with different \
                         values are refused with 400.",
                    ))
                    .build()
                    .into(),
            );
        }
    }
}

/// Where an answer leads: the operation an id in it (or in the request) opens, so clients and
/// stateful testers can follow a created resource. (source method and path, status, target
/// method and path, and the target's parameters with the runtime expressions that fill them.)
type LinkRow = (
    &'static str,
    &'static str,
    &'static str,
    &'static str,
    &'static str,
    &'static [(&'static str, &'static str)],
);

const BY_BODY_ID: &[(&str, &str)] = &[("id", "$response.body#/id")];
const BY_PATH_ID: &[(&str, &str)] = &[("id", "$request.path.id")];
const ENDPOINT: &str = "/v1/webhook-endpoints/{id}";

const LINKS: &[LinkRow] = &[
    (
        "post",
        "/v1/recipients",
        "201",
        "get",
        "/v1/recipients/{id}",
        BY_BODY_ID,
    ),
    (
        "post",
        "/v1/transfers",
        "201",
        "get",
        "/v1/transfers/{id}",
        BY_BODY_ID,
    ),
    (
        "post",
        "/v1/batches",
        "201",
        "get",
        "/v1/batches/{id}",
        BY_BODY_ID,
    ),
    (
        "post",
        "/v1/webhook-endpoints",
        "201",
        "get",
        ENDPOINT,
        BY_BODY_ID,
    ),
    (
        "post",
        "/v1/webhook-endpoints",
        "201",
        "post",
        ENDPOINT,
        BY_BODY_ID,
    ),
    (
        "post",
        "/v1/webhook-endpoints",
        "201",
        "post",
        "/v1/webhook-endpoints/{id}/test",
        BY_BODY_ID,
    ),
    (
        "post",
        "/v1/webhook-endpoints",
        "201",
        "get",
        "/v1/webhook-endpoints/{id}/deliveries",
        BY_BODY_ID,
    ),
    (
        "post",
        "/v1/webhook-endpoints",
        "201",
        "post",
        "/v1/webhook-endpoints/{id}/replay",
        BY_BODY_ID,
    ),
    (
        "post",
        "/v1/webhook-endpoints",
        "201",
        "post",
        "/v1/webhook-endpoints/{id}/delete",
        BY_BODY_ID,
    ),
    (
        "post",
        "/v1/webhook-endpoints/{id}/test",
        "202",
        "get",
        "/v1/webhook-endpoints/{id}/deliveries/{event_id}",
        &[
            ("id", "$request.path.id"),
            ("event_id", "$response.body#/event_id"),
        ],
    ),
    (
        "post",
        "/v1/webhook-endpoints/{id}/test",
        "202",
        "post",
        "/v1/webhook-endpoints/{id}/deliveries/{event_id}/resend",
        &[
            ("id", "$request.path.id"),
            ("event_id", "$response.body#/event_id"),
        ],
    ),
    ("post", ENDPOINT, "200", "get", ENDPOINT, BY_PATH_ID),
];

/// An operation's id: its method and path (`get_v1_recipients_id`), unique by construction.
/// (The handlers' names repeat across modules: `create`, `list`, `show`.)
fn operation_id(method: &str, path: &str) -> String {
    let mut id = method.to_owned();
    for part in path.split(|c: char| !c.is_ascii_alphanumeric()) {
        if !part.is_empty() {
            id.push('_');
            id.push_str(part);
        }
    }
    id
}

impl Contract {
    /// Declares every `{name}` of a path that its operation does not: a string the handler
    /// parses (an id that does not parse is answered 404, like one that does not exist).
    fn path_parameters(openapi: &mut utoipa::openapi::OpenApi) {
        use utoipa::openapi::path::{ParameterBuilder, ParameterIn};
        use utoipa::openapi::{ObjectBuilder, RefOr, Required, Type};
        for (path, item) in openapi.paths.paths.iter_mut() {
            let names: Vec<&str> = path
                .split('{')
                .skip(1)
                .filter_map(|rest| rest.split_once('}').map(|(name, _)| name))
                .collect();
            for operation in [&mut item.get, &mut item.post].into_iter().flatten() {
                let parameters = operation.parameters.get_or_insert_with(Vec::new);
                for name in &names {
                    let declared = parameters.iter().any(|parameter| {
                        matches!(parameter, RefOr::T(p)
                            if p.name == *name && p.parameter_in == ParameterIn::Path)
                    });
                    if !declared {
                        parameters.push(
                            ParameterBuilder::new()
                                .name(*name)
                                .parameter_in(ParameterIn::Path)
                                .required(Required::True)
                                .schema(Some(ObjectBuilder::new().schema_type(Type::String)))
                                .build()
                                .into(),
                        );
                    }
                }
            }
        }
    }

    fn operation_ids(openapi: &mut utoipa::openapi::OpenApi) {
        for (path, item) in openapi.paths.paths.iter_mut() {
            for (method, operation) in [
                ("get", &mut item.get),
                ("post", &mut item.post),
                ("put", &mut item.put),
                ("delete", &mut item.delete),
                ("patch", &mut item.patch),
            ] {
                if let Some(operation) = operation {
                    operation.operation_id = Some(operation_id(method, path));
                }
            }
        }
    }

    fn links(openapi: &mut utoipa::openapi::OpenApi) {
        use utoipa::openapi::RefOr;
        use utoipa::openapi::link::LinkBuilder;
        for (method, path, status, target_method, target_path, parameters) in LINKS {
            let Ok(method) = method.to_uppercase().parse::<axum::http::Method>() else {
                continue;
            };
            let Some(RefOr::T(response)) = openapi
                .paths
                .paths
                .get_mut(*path)
                .and_then(|item| operation_mut(item, &method))
                .and_then(|operation| operation.responses.responses.get_mut(*status))
            else {
                continue;
            };
            let link = parameters.iter().fold(
                LinkBuilder::new().operation_id(operation_id(target_method, target_path)),
                |link, (name, value)| link.parameter(*name, *value),
            );
            response.links.insert(
                operation_id(target_method, target_path),
                link.build().into(),
            );
        }
    }
}

impl Modify for Contract {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        Self::describe_every_response(openapi);
        Self::path_parameters(openapi);
        Self::tenant_refusals(openapi);
        Self::staff_refusals(openapi);
        Self::idempotency_keys(openapi);
        Self::operation_ids(openapi);
        Self::links(openapi);
    }
}

pub(super) fn routes(routes: Routes) -> Routes {
    routes
        .public("/openapi.json", get(openapi_json))
        .public("/docs", get(page))
        .public("/docs/docs.css", get(style))
}

/// This document.
#[utoipa::path(get, path = "/openapi.json", tag = "operations", responses((status = 200, content_type = "application/json")))]
pub async fn openapi_json() -> impl IntoResponse {
    Json(ApiDoc::openapi())
}

/// The docs page, rendered once: the document is fixed for the life of the binary.
async fn page() -> impl IntoResponse {
    static PAGE: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    let page = PAGE.get_or_init(|| {
        let document = serde_json::to_value(ApiDoc::openapi()).unwrap_or_default();
        super::docs_page::render(&document)
    });
    (
        [(header::CONTENT_TYPE, "text/html; charset=utf-8")],
        page.as_str(),
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

    /// A request body's description names exactly the fields its parser reads (the parser
    /// refuses any other), at every level.
    #[test]
    fn request_schemas_name_the_fields_their_parsers_read() {
        let doc = serde_json::to_value(ApiDoc::openapi()).unwrap();
        let bodies: &[(&str, &[&str])] = &[
            ("NewRecipientRequest", &recipients::RECIPIENT_FIELDS),
            ("AddressRequest", &recipients::ADDRESS_FIELDS),
            ("BankAccountRequest", &recipients::BANK_ACCOUNT_FIELDS),
            ("TransferRequest", &transfers::TRANSFER_FIELDS),
            ("BatchRequest", &["transfers"]),
            ("NewEndpointRequest", &webhooks::NEW_ENDPOINT_FIELDS),
            ("EndpointChangeRequest", &webhooks::ENDPOINT_CHANGE_FIELDS),
            ("ReplayRequest", &webhooks::REPLAY_FIELDS),
            ("BeneficialOwnersRequest", &kyc::OWNERS_FIELDS),
            ("BeneficialOwnerRequest", &kyc::OWNER_FIELDS),
        ];
        for (name, fields) in bodies {
            let schema = &doc["components"]["schemas"][name];
            assert!(schema.is_object(), "{name} is not in the document");
            let mut documented: Vec<&str> = schema["properties"]
                .as_object()
                .unwrap()
                .keys()
                .map(String::as_str)
                .collect();
            let mut parsed = fields.to_vec();
            documented.sort_unstable();
            parsed.sort_unstable();
            assert_eq!(documented, parsed, "{name}");
            assert_eq!(schema["additionalProperties"], false, "{name}");
        }
    }

    /// Every link starts at a documented answer and leads to a documented operation.
    #[test]
    fn every_link_leads_to_a_documented_operation() {
        let doc = serde_json::to_value(ApiDoc::openapi()).unwrap();
        for (method, path, status, target_method, target_path, parameters) in LINKS {
            let link = &doc["paths"][path][method]["responses"][status]["links"]
                [operation_id(target_method, target_path)];
            assert!(link.is_object(), "{method} {path} {status}");
            let target = &doc["paths"][target_path][target_method];
            assert_eq!(
                target["operationId"],
                operation_id(target_method, target_path)
            );
            for (name, _) in *parameters {
                assert!(
                    target["parameters"]
                        .as_array()
                        .is_some_and(|list| list.iter().any(|p| p["name"] == *name)),
                    "{target_method} {target_path} has no parameter {name}"
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

    /// One request body type of the operator API, as the checks below need it.
    struct BodyType {
        name: String,
        fields: &'static [&'static str],
        parse: fn(&benteng_core::strict_json::JsonObject) -> Result<(), Vec<FieldError>>,
    }

    fn body_type<T: RequestBody>() -> BodyType {
        BodyType {
            name: T::name().into_owned(),
            fields: T::FIELDS,
            parse: |object| T::parse(object).map(drop),
        }
    }

    use crate::json::RequestBody;
    use benteng_core::strict_json::FieldError;

    /// Every body a handler reads through `json::Body`: the document's schema of each is the
    /// parser's own type. Raw file bodies (`POST /v1/kyc/evidence/{item}`,
    /// `POST /admin/v1/cases/{id}/attachments`) are not JSON: each is described as binary per
    /// allowed content type and checked by `core::documents` in its handler and command.
    fn parsed_bodies() -> Vec<BodyType> {
        use admin::*;
        vec![
            body_type::<tenants::RequireMtlsRequest>(),
            body_type::<tenants::TierRequest>(),
            body_type::<tenants::NewTenantRequest>(),
            body_type::<people::NewStaffRequest>(),
            body_type::<people::RoleRequest>(),
            body_type::<tenant_users::NewTenantUserRequest>(),
            body_type::<session::SignInRequest>(),
            body_type::<session::EnrolmentStartRequest>(),
            body_type::<session::EnrolmentFinishRequest>(),
            body_type::<credentials::IssueKeyRequest>(),
            body_type::<credentials::KeyNetworksRequest>(),
            body_type::<credentials::NewCertificateRequest>(),
            body_type::<fapi_clients::RegisterClientRequest>(),
            body_type::<screening::SearchRequest>(),
            body_type::<screening::ClearanceRequestBody>(),
            body_type::<reviews::ReviewRequest>(),
            body_type::<cases::ProposalInput>(),
            body_type::<cases::CommentRequest>(),
            body_type::<cases::CloseRequest>(),
            body_type::<cases::StatusRequest>(),
            body_type::<cases::AssigneeRequest>(),
            body_type::<cases::FalsePositiveRequest>(),
            body_type::<incidents::BlockRequest>(),
            body_type::<reports::NewReportRequest>(),
            body_type::<reports::ReportContentRequest>(),
            body_type::<reports::SubjectPatch>(),
            body_type::<reports::AddressPatch>(),
            body_type::<reports::TransactionPatch>(),
            body_type::<reports::SubmittedRequest>(),
            body_type::<reports::WithdrawRequest>(),
            body_type::<reports::DamlRequest>(),
            body_type::<tokens::IssueTokenRequest>(),
            body_type::<kyc::ReviewItemRequest>(),
        ]
    }

    /// Fields the parser requires only in some cases, so the schema lists them as optional
    /// and says when in their description.
    const CONDITIONALLY_REQUIRED: &[(&str, &str)] = &[
        // Required unless `any_network` is true.
        ("KeyNetworksRequest", "allow_networks"),
    ];

    fn object_of(value: &serde_json::Value) -> benteng_core::strict_json::JsonObject {
        let bytes = serde_json::to_vec(value).unwrap();
        benteng_core::strict_json::parse_object(&bytes, &Default::default()).unwrap()
    }

    /// Each parsed body's schema holds to its parser: its properties are the fields the parser
    /// reads, its `required` list is what the parser reports missing in `{}`, unknown fields
    /// are refused (`additionalProperties: false`), and its example (when it has one) parses.
    #[test]
    fn parsed_body_schemas_hold_to_their_parsers() {
        let doc = serde_json::to_value(ApiDoc::openapi()).unwrap();
        for body in parsed_bodies() {
            let name = &body.name;
            let schema = &doc["components"]["schemas"][name];
            assert!(schema.is_object(), "{name} is not in the document");
            let mut documented: Vec<&str> = schema["properties"]
                .as_object()
                .unwrap()
                .keys()
                .map(String::as_str)
                .collect();
            let mut parsed = body.fields.to_vec();
            documented.sort_unstable();
            parsed.sort_unstable();
            assert_eq!(documented, parsed, "{name}: properties");
            assert_eq!(schema["additionalProperties"], false, "{name}");

            let errors = (body.parse)(&object_of(&serde_json::json!({}))).err();
            let mut missing: Vec<&str> = errors
                .iter()
                .flatten()
                .filter(|e| e.code == "required")
                .map(|e| e.field.as_str())
                .filter(|f| !CONDITIONALLY_REQUIRED.contains(&(name.as_str(), *f)))
                .collect();
            let mut required: Vec<&str> = schema["required"]
                .as_array()
                .map(|list| list.iter().filter_map(|v| v.as_str()).collect())
                .unwrap_or_default();
            missing.sort_unstable();
            required.sort_unstable();
            assert_eq!(required, missing, "{name}: required");

            if let Some(example) = schema.get("example") {
                let parsed = (body.parse)(&object_of(example));
                assert!(parsed.is_ok(), "{name}: its example is refused: {parsed:?}");
            }
        }
    }

    /// JSON answers that are not benteng's to shape: their members are set by the standard
    /// that defines them, and a client reads them by that standard. (method, path, where:
    /// "request" or a status.)
    const FREE_FORM: &[(&str, &str, &str)] = &[
        // RFC 8414 / OpenID Connect Discovery metadata: members by those specifications.
        ("get", "/.well-known/oauth-authorization-server", "200"),
        ("get", "/.well-known/openid-configuration", "200"),
        // A JWK Set (RFC 7517) of the server's public keys.
        ("get", "/oauth2/jwks", "200"),
    ];

    /// Bodies still described in prose and not yet by a type: known debt, listed so it is
    /// visible and shrinks; an operator route may never be added here.
    const NOT_YET_TYPED: &[(&str, &str, &str)] = &[
        // FAPI answers in RFC 9126 / RFC 6749 form, built by `benteng_auth::fapi`.
        ("post", "/oauth2/par", "201"),
        ("post", "/oauth2/token", "200"),
        // The ISO 20022 status report's outcome.
        ("post", "/iso20022/status-reports", "200"),
        // SNAP bodies: read by SNAP's own lenient reader in `snap.rs` (unknown members are
        // accepted, as SNAP asks), described in docs/snap.md.
        ("post", "/v1.0/access-token/b2b", "request"),
        ("post", "/v1.0/transfer-interbank", "request"),
        ("post", "/v1.0/transfer/status", "request"),
        ("post", "/v1.0/balance-inquiry", "request"),
    ];

    /// The component a JSON schema names: `$ref`, or the `$ref` of an array's items.
    fn named_component<'a>(
        doc: &'a serde_json::Value,
        schema: &serde_json::Value,
    ) -> Option<&'a serde_json::Value> {
        let reference = schema["$ref"]
            .as_str()
            .or_else(|| schema["items"]["$ref"].as_str())?;
        let name = reference.rsplit('/').next()?;
        doc["components"]["schemas"].get(name)
    }

    /// Whether a schema has properties of its own or through `allOf` (a flattened view).
    fn has_properties(doc: &serde_json::Value, schema: &serde_json::Value) -> bool {
        schema["properties"]
            .as_object()
            .is_some_and(|p| !p.is_empty())
            || schema["allOf"].as_array().is_some_and(|parts| {
                parts.iter().any(|part| {
                    has_properties(doc, part)
                        || named_component(doc, part).is_some_and(|s| has_properties(doc, s))
                })
            })
    }

    /// Every JSON request body and every successful JSON answer is a named schema with
    /// properties, and every parsed request body states an example. A bare `Object` body (what
    /// the operator API had before its bodies became types) fails here.
    #[test]
    fn every_json_body_is_a_named_schema_with_properties() {
        let doc = serde_json::to_value(ApiDoc::openapi()).unwrap();
        let mut bare = Vec::new();
        for (path, item) in doc["paths"].as_object().unwrap() {
            for (method, operation) in item.as_object().unwrap() {
                let mut check = |place: &str, schema: &serde_json::Value| {
                    let here = (method.as_str(), path.as_str(), place);
                    if FREE_FORM.contains(&here) || NOT_YET_TYPED.contains(&here) {
                        assert!(!path.starts_with("/admin/"), "{path} is an operator route");
                        return;
                    }
                    let named = named_component(&doc, schema);
                    if !named.is_some_and(|s| has_properties(&doc, s)) {
                        bare.push(format!("{method} {path} {place}: {schema}"));
                    }
                };
                let request = &operation["requestBody"]["content"]["application/json"]["schema"];
                if !request.is_null() {
                    check("request", request);
                }
                for (status, response) in operation["responses"].as_object().unwrap() {
                    let schema = &response["content"]["application/json"]["schema"];
                    if status.starts_with('2') && !schema.is_null() {
                        check(status, schema);
                    }
                }
            }
        }
        assert!(
            bare.is_empty(),
            "bodies without a named schema:\n{}",
            bare.join("\n")
        );
        for body in parsed_bodies() {
            let nested = ["SubjectPatch", "AddressPatch", "TransactionPatch"];
            if !nested.contains(&body.name.as_str()) {
                assert!(
                    doc["components"]["schemas"][&body.name]["example"].is_object(),
                    "{} has no example",
                    body.name
                );
            }
        }
    }

    /// Every JSON request body of an operator operation is one of the parsed bodies above, so
    /// none escapes the parser check.
    #[test]
    fn every_operator_request_body_is_a_parsed_body() {
        let doc = serde_json::to_value(ApiDoc::openapi()).unwrap();
        let parsed: Vec<String> = parsed_bodies().into_iter().map(|b| b.name).collect();
        // The tenant's own endpoint bodies, reused by the operator's webhook routes, are
        // checked against their parser's field lists by the test above this module's.
        let tenant_described = ["NewEndpointRequest", "EndpointChangeRequest"];
        for (path, item) in doc["paths"].as_object().unwrap() {
            if !path.starts_with("/admin/") {
                continue;
            }
            for (method, operation) in item.as_object().unwrap() {
                let schema = &operation["requestBody"]["content"]["application/json"]["schema"];
                let Some(reference) = schema["$ref"].as_str() else {
                    assert!(schema.is_null(), "{method} {path}: {schema}");
                    continue;
                };
                let name = reference.rsplit('/').next().unwrap();
                assert!(
                    parsed.iter().any(|p| p == name) || tenant_described.contains(&name),
                    "{method} {path}: {name} is not a parsed body"
                );
            }
        }
    }
}
