//! Staff API tokens on the operator API: a token may do what it names and what its person's
//! current roles grant, whichever is less; revoked, expired, forged and malformed tokens are
//! refused; a revocation reaches every instance within a second.

use std::time::{Duration, Instant};

use benteng_core::roles::StaffRole;
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::harness::{Backend, Environment, Process, TestApp, cli};
use crate::people::{
    Session, app, audit_types, cli_field, enrol, enrol_with_code, next_code, post, problem_type,
    sign_in, sign_in_at, staff_from_cli,
};

const PERMISSION_DENIED: &str = "https://benteng.dev/problems/insufficient-permission";

async fn issue(
    client: &reqwest::Client,
    base: &str,
    session: &Session,
    permissions: &[&str],
) -> reqwest::Response {
    post(
        client,
        format!("{base}/admin/v1/session/tokens"),
        session,
        &json!({"name": "nightly export", "permissions": permissions, "expires_in_days": 30}),
    )
    .await
}

/// Issues a token and answers (token, id).
async fn issued(app: &TestApp, session: &Session, permissions: &[&str]) -> (String, String) {
    let response = issue(&app.client, &app.url(""), session, permissions).await;
    assert_eq!(response.status(), StatusCode::CREATED);
    let body: Value = response.json().await.unwrap();
    let token = body["token"].as_str().unwrap().to_owned();
    assert!(
        token.starts_with("bt_staff_") && token.len() == 9 + 43,
        "{token}"
    );
    assert_eq!(body["permissions"], json!(permissions));
    (token, body["id"].as_str().unwrap().to_owned())
}

async fn bearer_get(client: &reqwest::Client, url: String, token: &str) -> reqwest::Response {
    client.get(url).bearer_auth(token).send().await.unwrap()
}

/// A POST with the token only: no cookie, no CSRF token.
async fn bearer_post(
    client: &reqwest::Client,
    url: String,
    token: &str,
    body: &Value,
) -> reqwest::Response {
    client
        .post(url)
        .bearer_auth(token)
        .json(body)
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn a_token_does_only_what_it_names_even_for_an_admin() {
    let app = app(Backend::Sqlite).await;
    let admin = enrol(&app, "root@benteng.example", &[StaffRole::Admin]).await;
    let session = sign_in(&app, &admin).await;
    let (token, id) = issued(&app, &session, &["tenants:read"]).await;

    let tenants = bearer_get(&app.client, app.url("/admin/v1/tenants"), &token).await;
    assert_eq!(tenants.status(), StatusCode::OK);
    let me: Value = bearer_get(&app.client, app.url("/admin/v1/session/current"), &token)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(me["login"], "root@benteng.example");
    // The admin's session may create staff; the token, which names only tenants:read, may
    // not, and it needs no CSRF token to be told so (the check is the permission's).
    let create = bearer_post(
        &app.client,
        app.url("/admin/v1/staff"),
        &token,
        &json!({"login": "new@benteng.example", "roles": ["support"]}),
    )
    .await;
    assert_eq!(create.status(), StatusCode::FORBIDDEN);
    let body: Value = create.json().await.unwrap();
    assert_eq!(body["type"], PERMISSION_DENIED);
    assert!(body["detail"].as_str().unwrap().contains("staff:write"));
    let staff = bearer_get(&app.client, app.url("/admin/v1/staff"), &token).await;
    assert_eq!(problem_type(staff).await, PERMISSION_DENIED);
    // A token cannot mint a wider token, nor sign its person out.
    for path in [
        "/admin/v1/session/tokens",
        "/admin/v1/session/sign-out-everywhere",
    ] {
        let refused = bearer_post(
            &app.client,
            app.url(path),
            &token,
            &json!({"name": "wider", "permissions": ["staff:write"], "expires_in_days": 1}),
        )
        .await;
        assert_eq!(refused.status(), StatusCode::FORBIDDEN, "{path}");
        assert!(problem_type(refused).await.ends_with("/session-required"));
    }
    // The list shows the token without its secret.
    let listed = bearer_get(&app.client, app.url("/admin/v1/session/tokens"), &token).await;
    let listed: Value = listed.json().await.unwrap();
    assert_eq!(listed[0]["id"], id.as_str());
    assert_eq!(listed[0]["name"], "nightly export");
    assert!(listed[0].get("token").is_none());
    assert!(!listed.to_string().contains(&token[9..]));

    let events = audit_types(&app).await;
    let issued = events
        .iter()
        .find(|e| e["event_type"] == "staff_token.issued")
        .unwrap();
    assert_eq!(issued["resource"]["id"], id.as_str());
    assert_eq!(issued["actor"]["by"], "staff:root@benteng.example");
    assert!(!issued.to_string().contains(&token[9..]));
    let token_session = format!("token:{id}");
    assert!(
        events
            .iter()
            .any(|e| e["event_type"] == "staff.permission_denied"
                && e["actor"]["session"] == token_session.as_str()
                && e["actor"]["roles"] == "admin")
    );
}

#[tokio::test]
async fn a_token_never_exceeds_its_persons_current_roles() {
    let app = app(Backend::Sqlite).await;
    let admin = enrol(&app, "root@benteng.example", &[StaffRole::Admin]).await;
    let officer = enrol(
        &app,
        "sec@benteng.example",
        &[StaffRole::SecurityOfficer, StaffRole::Support],
    )
    .await;
    let admin_session = sign_in(&app, &admin).await;
    let session = sign_in(&app, &officer).await;
    // Issue refused for a permission the roles do not grant, naming it.
    let refused = issue(
        &app.client,
        &app.url(""),
        &session,
        &["tenants:read", "staff:write"],
    )
    .await;
    assert_eq!(refused.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let body: Value = refused.json().await.unwrap();
    assert!(body.to_string().contains("staff:write"), "{body}");
    for bad in [
        json!({"name": "x", "permissions": [], "expires_in_days": 30}),
        json!({"name": "x", "permissions": ["tenants:read"], "expires_in_days": 91}),
        json!({"name": "x", "permissions": ["tenants:read"], "expires_in_days": 0}),
        json!({"name": "a\nb", "permissions": ["tenants:read"], "expires_in_days": 1}),
        json!({"name": "x", "permissions": ["root"], "expires_in_days": 1}),
    ] {
        let response = post(
            &app.client,
            app.url("/admin/v1/session/tokens"),
            &session,
            &bad,
        )
        .await;
        assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY, "{bad}");
    }
    let (token, _) = issued(&app, &session, &["tenants:read", "staff:read"]).await;
    let staff = bearer_get(&app.client, app.url("/admin/v1/staff"), &token).await;
    assert_eq!(staff.status(), StatusCode::OK);
    // The role that granted staff:read is taken away: the token loses it at once.
    let revoke = post(
        &app.client,
        app.url(&format!("/admin/v1/staff/{}/roles/revoke", officer.id)),
        &admin_session,
        &json!({"role": "security_officer"}),
    )
    .await;
    assert_eq!(revoke.status(), StatusCode::NO_CONTENT);
    let started = Instant::now();
    loop {
        let staff = bearer_get(&app.client, app.url("/admin/v1/staff"), &token).await;
        if staff.status() == StatusCode::FORBIDDEN {
            assert_eq!(problem_type(staff).await, PERMISSION_DENIED);
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(1),
            "role change not seen"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let tenants = bearer_get(&app.client, app.url("/admin/v1/tenants"), &token).await;
    assert_eq!(tenants.status(), StatusCode::OK);
    // Disabling the person stops the token (and re-enabling does not bring it back).
    for action in ["disable", "enable"] {
        let response = post(
            &app.client,
            app.url(&format!("/admin/v1/staff/{}/{action}", officer.id)),
            &admin_session,
            &json!({}),
        )
        .await;
        assert_eq!(response.status(), StatusCode::NO_CONTENT);
    }
    let tenants = bearer_get(&app.client, app.url("/admin/v1/tenants"), &token).await;
    assert_eq!(tenants.status(), StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn revoked_expired_forged_and_malformed_tokens_are_refused() {
    let app = app(Backend::Sqlite).await;
    let admin = enrol(&app, "root@benteng.example", &[StaffRole::Admin]).await;
    let session = sign_in(&app, &admin).await;
    let url = app.url("/admin/v1/tenants");

    // Revoked by itself, with no CSRF token: a token is no ambient credential.
    let (token, id) = issued(&app, &session, &["tenants:read"]).await;
    assert_eq!(
        bearer_get(&app.client, url.clone(), &token).await.status(),
        StatusCode::OK
    );
    let revoked = bearer_post(
        &app.client,
        app.url(&format!("/admin/v1/session/tokens/{id}/revoke")),
        &token,
        &json!({}),
    )
    .await;
    assert_eq!(revoked.status(), StatusCode::NO_CONTENT);
    let refused = bearer_get(&app.client, url.clone(), &token).await;
    assert_eq!(refused.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(
        refused.headers()["content-type"],
        "application/problem+json"
    );

    // Expired.
    let (expired, expired_id) = issued(&app, &session, &["tenants:read"]).await;
    let mut conn = app.raw_sql().await;
    sqlx::query("UPDATE staff_tokens SET expires_at = created_at + 1 WHERE id = $1")
        .bind(&expired_id)
        .execute(&mut conn)
        .await
        .unwrap();
    assert_eq!(
        bearer_get(&app.client, url.clone(), &expired)
            .await
            .status(),
        StatusCode::UNAUTHORIZED
    );

    // Forged (well formed, never issued), malformed, and the wrong scheme.
    let forged = format!("bt_staff_{}", "A".repeat(43));
    let malformed = format!("bt_staff_{}", "A".repeat(42));
    for bad in [forged.as_str(), malformed.as_str(), "sk_live_nope", ""] {
        let response = bearer_get(&app.client, url.clone(), bad).await;
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED, "{bad:?}");
    }
    let basic = app
        .client
        .get(url.clone())
        .header("authorization", format!("Basic {forged}"))
        .send()
        .await
        .unwrap();
    assert_eq!(basic.status(), StatusCode::UNAUTHORIZED);

    // A live token and a live session together: refused, neither is guessed at.
    let (live, live_id) = issued(&app, &session, &["tenants:read"]).await;
    let both = app
        .client
        .get(url.clone())
        .header("cookie", &session.cookie)
        .bearer_auth(&live)
        .send()
        .await
        .unwrap();
    assert_eq!(both.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(
        bearer_get(&app.client, url.clone(), &live).await.status(),
        StatusCode::OK
    );
    // Another person's token is not the caller's to revoke by id.
    let other = enrol(&app, "sup@benteng.example", &[StaffRole::Support]).await;
    let other_session = sign_in(&app, &other).await;
    let theirs = post(
        &app.client,
        app.url(&format!("/admin/v1/session/tokens/{live_id}/revoke")),
        &other_session,
        &json!({}),
    )
    .await;
    assert_eq!(theirs.status(), StatusCode::NOT_FOUND);
    // Containment: every token of the person, by someone with credentials:revoke (here the
    // admin themselves, through their session).
    let contained = post(
        &app.client,
        app.url(&format!("/admin/v1/staff/{}/tokens/revoke", admin.id)),
        &session,
        &json!({}),
    )
    .await;
    assert_eq!(contained.status(), StatusCode::NO_CONTENT);
    assert_eq!(
        bearer_get(&app.client, url.clone(), &live).await.status(),
        StatusCode::UNAUTHORIZED
    );

    let events = audit_types(&app).await;
    let failures: Vec<&Value> = events
        .iter()
        .filter(|e| e["event_type"] == "auth.failed")
        .collect();
    let reasons: Vec<String> = failures
        .iter()
        .filter(|e| e.to_string().contains("staff_token"))
        .map(|e| e.to_string())
        .collect();
    for reason in ["revoked", "expired", "unknown", "malformed"] {
        assert!(
            reasons.iter().any(|r| r.contains(&format!("\"{reason}\""))),
            "{reason}: {reasons:?}"
        );
    }
    let revocation = events
        .iter()
        .find(|e| e["event_type"] == "staff_token.revoked")
        .unwrap();
    assert_eq!(revocation["resource"]["id"], id.as_str());
    assert_eq!(
        revocation["actor"]["session"],
        format!("token:{id}").as_str()
    );
    assert!(
        events
            .iter()
            .any(|e| e["event_type"] == "person.staff_tokens_revoked")
    );
}

/// Two instances on PostgreSQL + Redis: a token issued from the host's CLI works on both;
/// revoked through one instance it is refused by the other within a second, and so is one
/// revoked from the CLI.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn revoking_a_token_reaches_every_instance_within_a_second() {
    let env = Environment::new(Backend::Postgres).await;
    let (code, id) = staff_from_cli(&env, "root@benteng.example", "admin").await;
    let first = Process::serve(&env).await;
    let second = Process::serve(&env).await;
    let client = env.client();
    let person = enrol_with_code(&client, &first.url(""), "root@benteng.example", id, &code).await;
    let session = sign_in_at(&client, &first.url(""), &person, &next_code(&person)).await;

    let issue_from_cli = || async {
        let (ok, out, err) = cli(
            &env,
            &[
                "staff",
                "token",
                "issue",
                "--login",
                "root@benteng.example",
                "--name",
                "bootstrap",
                "--permission",
                "tenants:read",
                "--expires-in-days",
                "7",
            ],
        )
        .await;
        assert!(ok, "{err}");
        (cli_field(&out, "token:"), cli_field(&out, "id:"))
    };
    let (token, token_id) = issue_from_cli().await;
    let (cli_revoked, cli_revoked_id) = issue_from_cli().await;
    // Beyond the person's roles: refused by the CLI too.
    let (ok, _, err) = cli(
        &env,
        &[
            "staff",
            "token",
            "issue",
            "--login",
            "root@benteng.example",
            "--name",
            "x",
            "--permission",
            "personal_data:read",
            "--expires-in-days",
            "7",
        ],
    )
    .await;
    assert!(!ok && err.contains("personal_data:read"), "{err}");

    for process in [&first, &second] {
        for t in [&token, &cli_revoked] {
            let response = bearer_get(&client, process.url("/admin/v1/tenants"), t).await;
            assert_eq!(response.status(), StatusCode::OK);
        }
    }
    let revoked = post(
        &client,
        first.url(&format!("/admin/v1/session/tokens/{token_id}/revoke")),
        &session,
        &json!({}),
    )
    .await;
    assert_eq!(revoked.status(), StatusCode::NO_CONTENT);
    let (ok, out, err) = cli(&env, &["staff", "token", "revoke", &cli_revoked_id]).await;
    assert!(ok && out.contains("revoked"), "{err}");
    let started = Instant::now();
    for process in [&second, &first] {
        for t in [&token, &cli_revoked] {
            loop {
                let status = bearer_get(&client, process.url("/admin/v1/tenants"), t)
                    .await
                    .status();
                if status == StatusCode::UNAUTHORIZED {
                    break;
                }
                assert_eq!(status, StatusCode::OK);
                assert!(
                    started.elapsed() < Duration::from_secs(1),
                    "token still accepted after 1 s"
                );
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        }
    }
}
