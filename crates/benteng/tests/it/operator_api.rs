//! The operator API beyond people: tenants, API keys, client certificates, screening,
//! clearances, lists and the audit trail, each with the role that holds its permission, each
//! change audited as the person, and bad input changing nothing.

use benteng_core::roles::StaffRole;
use benteng_core::tenant::Tier;
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::harness::{Backend, TestApp};
use crate::people::{Enrolled, Session, app, audit_types, enrol, get, post, problem_type};

/// A person of `role`, signed in.
async fn staff(app: &TestApp, login: &str, role: StaffRole) -> (Enrolled, Session) {
    let person = enrol(app, login, &[role]).await;
    let session = crate::people::sign_in(app, &person).await;
    (person, session)
}

/// The events of `event_type`, as stored.
async fn events_of(app: &TestApp, event_type: &str) -> Vec<Value> {
    audit_types(app)
        .await
        .into_iter()
        .filter(|e| e["event_type"] == event_type)
        .collect()
}

/// The event names the person, their session, role and address.
fn by_person(event: &Value, login: &str, role: &str) {
    assert_eq!(event["actor"]["by"], format!("staff:{login}"), "{event}");
    assert_eq!(event["actor"]["roles"], role, "{event}");
    assert!(event["actor"]["session"].is_string(), "{event}");
    assert!(event["actor"]["ip"].is_string(), "{event}");
}

#[tokio::test]
async fn tenants_are_created_suspended_and_reactivated_by_the_roles_that_may() {
    let app = app(Backend::Sqlite).await;
    let (admin, admin_session) = staff(&app, "adi@benteng.example", StaffRole::Admin).await;
    let (officer, officer_session) =
        staff(&app, "sec@benteng.example", StaffRole::SecurityOfficer).await;

    let created = post(
        &app.client,
        app.url("/admin/v1/tenants"),
        &admin_session,
        &json!({"name": "Acme Remit", "tier": "growth"}),
    )
    .await;
    assert_eq!(created.status(), StatusCode::CREATED);
    let tenant: Value = created.json().await.unwrap();
    assert_eq!(tenant["name"], "Acme Remit");
    assert_eq!(tenant["status"], "active");
    let id = tenant["id"].as_str().unwrap().to_owned();
    let created_event = events_of(&app, "tenant.created").await;
    by_person(created_event.last().unwrap(), &admin.login, "admin");

    // A key issued before the suspension stops working with it.
    let key = app.key(id.parse().unwrap()).await;
    assert_eq!(
        app.get("/v1/tenant", Some(&key)).await.status(),
        StatusCode::OK
    );
    // Suspension is containment: the security officer's, and the admin's (credentials:revoke).
    let suspended = post(
        &app.client,
        app.url(&format!("/admin/v1/tenants/{id}/suspend")),
        &officer_session,
        &json!({}),
    )
    .await;
    assert_eq!(suspended.status(), StatusCode::OK);
    assert_eq!(
        suspended.json::<Value>().await.unwrap()["status"],
        "suspended"
    );
    assert_eq!(
        app.get("/v1/tenant", Some(&key)).await.status(),
        StatusCode::FORBIDDEN
    );
    let changed = events_of(&app, "tenant.status_changed").await;
    by_person(changed.last().unwrap(), &officer.login, "security_officer");

    // The security officer may contain, not restore.
    let refused = post(
        &app.client,
        app.url(&format!("/admin/v1/tenants/{id}/reactivate")),
        &officer_session,
        &json!({}),
    )
    .await;
    assert_eq!(refused.status(), StatusCode::FORBIDDEN);
    let reactivated = post(
        &app.client,
        app.url(&format!("/admin/v1/tenants/{id}/reactivate")),
        &admin_session,
        &json!({}),
    )
    .await;
    assert_eq!(reactivated.status(), StatusCode::OK);
    assert_eq!(
        app.get("/v1/tenant", Some(&key)).await.status(),
        StatusCode::OK
    );

    // Bad input: unknown fields, overlong or empty names, unknown tiers; nothing is created.
    let before = app.services.store.tenants().await.unwrap().len();
    for body in [
        json!({"name": "X", "tier": "growth", "extra": 1}),
        json!({"name": "x".repeat(5000), "tier": "growth"}),
        json!({"name": "", "tier": "growth"}),
        json!({"name": "Fine", "tier": "platinum"}),
        json!({"name": 7, "tier": "growth"}),
    ] {
        let response = post(
            &app.client,
            app.url("/admin/v1/tenants"),
            &admin_session,
            &body,
        )
        .await;
        assert_eq!(
            response.status(),
            StatusCode::UNPROCESSABLE_ENTITY,
            "{body}"
        );
        assert!(problem_type(response).await.ends_with("/validation-failed"));
    }
    assert_eq!(app.services.store.tenants().await.unwrap().len(), before);
    // Unknown and malformed tenant ids name nothing.
    for id in [uuid::Uuid::new_v4().to_string(), "not-an-id".to_owned()] {
        let response = post(
            &app.client,
            app.url(&format!("/admin/v1/tenants/{id}/suspend")),
            &officer_session,
            &json!({}),
        )
        .await;
        assert_eq!(response.status(), StatusCode::NOT_FOUND, "{id}");
    }
}

/// Issues a key through the API, uses it, restricts it, revokes it through the API.
async fn key_lifecycle(app: &TestApp) {
    let (admin, admin_session) = staff(app, "ada@benteng.example", StaffRole::Admin).await;
    let (officer, officer_session) =
        staff(app, "sol@benteng.example", StaffRole::SecurityOfficer).await;
    let (_, support_session) = staff(app, "sue@benteng.example", StaffRole::Support).await;
    let tenant = app.tenant(Tier::Starter).await;
    let keys_url = app.url(&format!("/admin/v1/tenants/{}/api-keys", tenant.id));

    let issued = post(
        &app.client,
        keys_url.clone(),
        &admin_session,
        &json!({"environment": "live", "scopes": ["tenant:read", "transfers:read"],
                "expires_in_days": 30}),
    )
    .await;
    assert_eq!(issued.status(), StatusCode::CREATED);
    let issued: Value = issued.json().await.unwrap();
    let key = issued["key"].as_str().unwrap().to_owned();
    let key_id = issued["id"].as_str().unwrap().to_owned();
    assert!(key.starts_with("sk_live_"));
    let mut scopes: Vec<&str> = issued["scopes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s.as_str().unwrap())
        .collect();
    scopes.sort_unstable();
    assert_eq!(scopes, ["tenant:read", "transfers:read"]);
    assert!(issued["expires_at"].is_string());
    assert_eq!(
        app.get("/v1/tenant", Some(&key)).await.status(),
        StatusCode::OK
    );
    let event = events_of(app, "api_key.issued").await;
    by_person(event.last().unwrap(), &admin.login, "admin");

    // Support reads the keys, never a key.
    let listed = get(&app.client, keys_url.clone(), &support_session).await;
    assert_eq!(listed.status(), StatusCode::OK);
    let listed = listed.text().await.unwrap();
    assert!(!listed.contains(&key), "the list shows a key");
    let listed: Value = serde_json::from_str(&listed).unwrap();
    assert_eq!(listed[0]["id"], key_id.as_str());
    assert!(key.starts_with(listed[0]["prefix"].as_str().unwrap()));
    assert_eq!(listed[0]["revoked_at"], Value::Null);

    // Restricted to a network the test client is not in: refused; lifted by name.
    let networks_url = app.url(&format!("/admin/v1/api-keys/{key_id}/networks"));
    let restricted = post(
        &app.client,
        networks_url.clone(),
        &admin_session,
        &json!({"allow_networks": ["10.0.0.0/8"]}),
    )
    .await;
    assert_eq!(restricted.status(), StatusCode::OK);
    assert_eq!(
        restricted.json::<Value>().await.unwrap()["allow_networks"],
        json!(["10.0.0.0/8"])
    );
    assert_eq!(
        app.get("/v1/tenant", Some(&key)).await.status(),
        StatusCode::FORBIDDEN
    );
    let lifted = post(
        &app.client,
        networks_url,
        &admin_session,
        &json!({"any_network": true}),
    )
    .await;
    assert_eq!(lifted.status(), StatusCode::OK);
    assert_eq!(
        app.get("/v1/tenant", Some(&key)).await.status(),
        StatusCode::OK
    );

    // Revoked by the security officer: refused at once.
    let revoked = post(
        &app.client,
        app.url(&format!("/admin/v1/api-keys/{key_id}/revoke")),
        &officer_session,
        &json!({}),
    )
    .await;
    assert_eq!(revoked.status(), StatusCode::OK);
    assert!(revoked.json::<Value>().await.unwrap()["revoked_at"].is_string());
    assert_eq!(
        app.get("/v1/tenant", Some(&key)).await.status(),
        StatusCode::UNAUTHORIZED
    );
    let event = events_of(app, "api_key.revoked").await;
    by_person(event.last().unwrap(), &officer.login, "security_officer");
}

#[tokio::test]
async fn a_key_issued_through_the_api_works_until_revoked_through_it_on_sqlite() {
    key_lifecycle(&app(Backend::Sqlite).await).await;
}

#[tokio::test]
async fn a_key_issued_through_the_api_works_until_revoked_through_it_on_postgres() {
    key_lifecycle(&app(Backend::Postgres).await).await;
}

#[tokio::test]
async fn bad_key_requests_change_nothing() {
    let app = app(Backend::Sqlite).await;
    let (_, session) = staff(&app, "ada@benteng.example", StaffRole::Admin).await;
    let tenant = app.tenant(Tier::Starter).await;
    let url = app.url(&format!("/admin/v1/tenants/{}/api-keys", tenant.id));
    for body in [
        json!({}),
        json!({"environment": "staging"}),
        json!({"environment": "live", "scopes": ["transfers:launch"]}),
        json!({"environment": "live", "scopes": []}),
        json!({"environment": "live", "scopes": ["tenant:read"], "read_only": true}),
        json!({"environment": "live", "allow_networks": ["10.0.0.0/33"]}),
        json!({"environment": "live", "allow_networks": ["example.com"]}),
        json!({"environment": "live", "expires_in_days": 0}),
        json!({"environment": "live", "expires_in_days": 4000}),
        json!({"environment": "live", "owner": "me"}),
    ] {
        let response = post(&app.client, url.clone(), &session, &body).await;
        assert_eq!(
            response.status(),
            StatusCode::UNPROCESSABLE_ENTITY,
            "{body}"
        );
    }
    assert!(
        app.services
            .store
            .api_keys_of(tenant.id)
            .await
            .unwrap()
            .is_empty()
    );
    // A tenant that does not exist gets no key.
    let foreign = post(
        &app.client,
        app.url(&format!(
            "/admin/v1/tenants/{}/api-keys",
            uuid::Uuid::new_v4()
        )),
        &session,
        &json!({"environment": "live"}),
    )
    .await;
    assert_eq!(foreign.status(), StatusCode::NOT_FOUND);
    // An unknown key cannot be revoked or restricted; nor can a revoked key be restricted.
    let unknown = uuid::Uuid::new_v4();
    for path in ["revoke", "networks"] {
        let response = post(
            &app.client,
            app.url(&format!("/admin/v1/api-keys/{unknown}/{path}")),
            &session,
            &json!({"allow_networks": ["10.0.0.0/8"]}),
        )
        .await;
        assert_eq!(response.status(), StatusCode::NOT_FOUND, "{path}");
    }
    assert!(events_of(&app, "api_key.issued").await.is_empty());
}

#[tokio::test]
async fn client_certificates_are_registered_listed_and_removed() {
    let app = app(Backend::Sqlite).await;
    let (admin, session) = staff(&app, "ada@benteng.example", StaffRole::Admin).await;
    let tenant = app.tenant(Tier::Starter).await;
    let other = app.tenant(Tier::Starter).await;
    let url = app.url(&format!("/admin/v1/tenants/{}/certificates", tenant.id));
    let pem = std::fs::read_to_string(app.env.dev_certs().client_cert).unwrap();

    // Bad PEM, two certificates, a key instead of a certificate, unknown fields: refused.
    let key_pem = std::fs::read_to_string(app.env.dev_certs().client_key).unwrap();
    for body in [
        json!({"pem": "not a certificate"}),
        json!({"pem": format!("{pem}{pem}")}),
        json!({"pem": key_pem}),
        json!({"pem": pem, "tenant": "x"}),
        json!({"pem": "x".repeat(20_000)}),
    ] {
        let response = post(&app.client, url.clone(), &session, &body).await;
        assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
    }
    assert!(
        app.services
            .store
            .tenant_certificates(tenant.id)
            .await
            .unwrap()
            .is_empty()
    );

    let added = post(&app.client, url.clone(), &session, &json!({"pem": pem})).await;
    assert_eq!(added.status(), StatusCode::CREATED);
    let added: Value = added.json().await.unwrap();
    let fingerprint = added["sha256_fingerprint"].as_str().unwrap().to_owned();
    assert_eq!(fingerprint.len(), 64);
    let event = events_of(&app, "tenant.cert_added").await;
    by_person(event.last().unwrap(), &admin.login, "admin");
    // One tenant per certificate.
    let again = post(
        &app.client,
        app.url(&format!("/admin/v1/tenants/{}/certificates", other.id)),
        &session,
        &json!({"pem": pem}),
    )
    .await;
    assert_eq!(again.status(), StatusCode::CONFLICT);

    let listed: Value = get(&app.client, url.clone(), &session)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(listed["require_mtls"], false);
    assert_eq!(
        listed["certificates"][0]["sha256_fingerprint"],
        fingerprint.as_str()
    );

    // Removal under the wrong tenant names nothing; under the right one it removes.
    let wrong = post(
        &app.client,
        app.url(&format!(
            "/admin/v1/tenants/{}/certificates/{fingerprint}/remove",
            other.id
        )),
        &session,
        &json!({}),
    )
    .await;
    assert_eq!(wrong.status(), StatusCode::NOT_FOUND);
    let removed = post(
        &app.client,
        app.url(&format!(
            "/admin/v1/tenants/{}/certificates/{}/remove",
            tenant.id,
            fingerprint.to_uppercase()
        )),
        &session,
        &json!({}),
    )
    .await;
    assert_eq!(removed.status(), StatusCode::NO_CONTENT);
    let event = events_of(&app, "tenant.cert_removed").await;
    by_person(event.last().unwrap(), &admin.login, "admin");
}

#[tokio::test]
async fn analysts_search_the_lists_and_clear_false_positives_as_themselves() {
    let app = app(Backend::Sqlite).await;
    let (analyst, session) = staff(&app, "ana@benteng.example", StaffRole::ComplianceAnalyst).await;
    let (_, support) = staff(&app, "sue@benteng.example", StaffRole::Support).await;
    let tenant = app.tenant(Tier::Starter).await;

    let found = post(
        &app.client,
        app.url("/admin/v1/screening/search"),
        &session,
        &json!({"name": "Fictitious Baseline Entry", "birth_year": 1970}),
    )
    .await;
    assert_eq!(found.status(), StatusCode::OK);
    let found: Value = found.json().await.unwrap();
    assert_eq!(found["verdict"], "block");
    assert_eq!(found["matches"][0]["entry_id"], "T-1");
    assert!(found["matches"][0]["evidence"].is_object());
    for body in [
        json!({"name": ""}),
        json!({"name": "x".repeat(300)}),
        json!({"name": "Someone", "birth_year": 99999}),
        json!({"name": "Someone", "dob": "1970"}),
        json!({"name": "!!!"}),
    ] {
        let response = post(
            &app.client,
            app.url("/admin/v1/screening/search"),
            &session,
            &body,
        )
        .await;
        assert_eq!(
            response.status(),
            StatusCode::UNPROCESSABLE_ENTITY,
            "{body}"
        );
    }
    // How many matches, and from which score: parameters, each refused with its field named.
    for (body, field) in [
        (json!({"name": "Someone", "limit": 0}), "limit"),
        (json!({"name": "Someone", "limit": 101}), "limit"),
        (json!({"name": "Someone", "limit": -1}), "limit"),
        (json!({"name": "Someone", "limit": 2.5}), "limit"),
        (json!({"name": "Someone", "limit": "10"}), "limit"),
        (json!({"name": "Someone", "min_score": 101}), "min_score"),
        (json!({"name": "Someone", "min_score": -5}), "min_score"),
    ] {
        let response = post(
            &app.client,
            app.url("/admin/v1/screening/search"),
            &session,
            &body,
        )
        .await;
        assert_eq!(
            response.status(),
            StatusCode::UNPROCESSABLE_ENTITY,
            "{body}"
        );
        assert!(
            response.headers()["content-type"]
                .to_str()
                .unwrap()
                .starts_with("application/problem+json")
        );
        let problem: Value = response.json().await.unwrap();
        assert!(problem.to_string().contains(field), "{problem}");
    }
    let search = async |body: Value| -> Value {
        let response = post(
            &app.client,
            app.url("/admin/v1/screening/search"),
            &session,
            &body,
        )
        .await;
        assert_eq!(response.status(), StatusCode::OK, "{body}");
        response.json().await.unwrap()
    };
    // A misspelt name: found with the default floor, gone when the floor is above its score,
    // back when the floor is lowered again; the limit caps the number of matches.
    let typo = "Fictitious Baselne Entry";
    let found = search(json!({"name": typo})).await;
    let score = found["matches"][0]["score"].as_u64().unwrap();
    assert!((40..100).contains(&score), "{found}");
    let above = search(json!({"name": typo, "min_score": score + 1})).await;
    assert_eq!(above["matches"].as_array().unwrap().len(), 0, "{above}");
    let at = search(json!({"name": typo, "min_score": score, "limit": 1})).await;
    assert_eq!(at["matches"].as_array().unwrap().len(), 1, "{at}");
    let none = search(json!({"name": "Quite Another Person", "min_score": 0, "limit": 100})).await;
    assert!(none["matches"].as_array().unwrap().len() <= 100);

    let lists: Value = get(&app.client, app.url("/admin/v1/lists"), &support)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(lists[0]["source"], "generic:test-baseline");
    assert_eq!(lists[0]["entry_count"], 1);

    // Bad clearances change nothing.
    for body in [
        json!({"party": "tenant:x", "entry": "generic:test-baseline:T-1", "reason": "r"}),
        json!({"party": format!("tenant:{}", tenant.id), "entry": "generic:test-baseline:NOPE", "reason": "r"}),
        json!({"party": format!("tenant:{}", tenant.id), "entry": "nope:1", "reason": "r"}),
        json!({"party": format!("tenant:{}", tenant.id), "entry": "generic:test-baseline:T-1", "reason": " "}),
        json!({"party": format!("tenant:{}", tenant.id), "entry": "generic:test-baseline:T-1", "reason": "x".repeat(1001)}),
        json!({"party": format!("tenant:{}", tenant.id), "entry": "generic:test-baseline:T-1", "reason": "r", "by": "someone"}),
    ] {
        let response = post(
            &app.client,
            app.url("/admin/v1/clearances"),
            &session,
            &body,
        )
        .await;
        assert_eq!(
            response.status(),
            StatusCode::UNPROCESSABLE_ENTITY,
            "{body}"
        );
    }
    let foreign = post(
        &app.client,
        app.url("/admin/v1/clearances"),
        &session,
        &json!({"party": format!("tenant:{}", uuid::Uuid::new_v4()),
                "entry": "generic:test-baseline:T-1", "reason": "not them"}),
    )
    .await;
    assert_eq!(foreign.status(), StatusCode::NOT_FOUND);
    assert!(app.services.store.clearances().await.unwrap().is_empty());

    let cleared = post(
        &app.client,
        app.url("/admin/v1/clearances"),
        &session,
        &json!({"party": format!("tenant:{}", tenant.id),
                "entry": "generic:test-baseline:T-1", "reason": "different birth date"}),
    )
    .await;
    assert_eq!(cleared.status(), StatusCode::CREATED);
    let cleared: Value = cleared.json().await.unwrap();
    assert_eq!(cleared["cleared_by"], "staff:ana@benteng.example");
    let event = events_of(&app, "screening.cleared").await;
    by_person(event.last().unwrap(), &analyst.login, "compliance_analyst");

    let listed: Value = get(&app.client, app.url("/admin/v1/clearances"), &session)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(listed[0]["id"], cleared["id"]);
    assert_eq!(listed[0]["entry"], "generic:test-baseline:T-1");
    // Support may see the lists but not who matched them.
    let refused = get(&app.client, app.url("/admin/v1/clearances"), &support).await;
    assert_eq!(refused.status(), StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn the_audit_trail_of_every_tenant_is_read_with_filters_and_pages() {
    let app = app(Backend::Sqlite).await;
    let (_, admin) = staff(&app, "ada@benteng.example", StaffRole::Admin).await;
    let (_, officer) = staff(&app, "sol@benteng.example", StaffRole::SecurityOfficer).await;
    let first = app.tenant(Tier::Starter).await;
    let second = app.tenant(Tier::Starter).await;
    for tenant in [&first, &second] {
        let response = post(
            &app.client,
            app.url(&format!("/admin/v1/tenants/{}/api-keys", tenant.id)),
            &admin,
            &json!({"environment": "test", "read_only": true}),
        )
        .await;
        assert_eq!(response.status(), StatusCode::CREATED);
    }

    let all: Value = get(
        &app.client,
        app.url("/admin/v1/audit-events?event_type=api_key.issued"),
        &officer,
    )
    .await
    .json()
    .await
    .unwrap();
    let events = all["data"].as_array().unwrap();
    assert_eq!(events.len(), 2, "{all}");
    assert!(
        events
            .iter()
            .all(|e| e["actor"]["by"] == "staff:ada@benteng.example")
    );

    let one: Value = get(
        &app.client,
        app.url(&format!(
            "/admin/v1/audit-events?event_type=api_key.issued&tenant={}",
            second.id
        )),
        &officer,
    )
    .await
    .json()
    .await
    .unwrap();
    assert_eq!(one["data"].as_array().unwrap().len(), 1);

    // Pages of one event each walk the same two events.
    let mut seen = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let mut path = "/admin/v1/audit-events?event_type=api_key.issued&limit=1".to_owned();
        if let Some(cursor) = &cursor {
            path.push_str(&format!("&cursor={cursor}"));
        }
        let page: Value = get(&app.client, app.url(&path), &officer)
            .await
            .json()
            .await
            .unwrap();
        seen.extend(
            page["data"]
                .as_array()
                .unwrap()
                .iter()
                .map(|e| e["id"].clone()),
        );
        match page["next_cursor"].as_str() {
            Some(next) => cursor = Some(next.to_owned()),
            None => break,
        }
    }
    assert_eq!(seen.len(), 2);

    for query in [
        "since=yesterday",
        "event_type=DROP%20TABLE",
        "tenant=acme",
        "limit=0",
        "colour=red",
    ] {
        let response = get(
            &app.client,
            app.url(&format!("/admin/v1/audit-events?{query}")),
            &officer,
        )
        .await;
        assert_eq!(
            response.status(),
            StatusCode::UNPROCESSABLE_ENTITY,
            "{query}"
        );
    }
    // The admin runs the platform but does not read the trail.
    let refused = get(&app.client, app.url("/admin/v1/audit-events"), &admin).await;
    assert_eq!(refused.status(), StatusCode::FORBIDDEN);
}
