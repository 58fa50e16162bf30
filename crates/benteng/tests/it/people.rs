//! Staff through the operator API: enrolment, sign-in with a password and TOTP, sessions,
//! CSRF, roles and four-eyes approvals.

use benteng_core::audit::AuditContext;
use benteng_core::roles::{Permission, Roles, StaffRole};
use benteng_core::tenant::Tier;
use benteng_crypto::ExposeSecret;
use benteng_crypto::totp::{Totp, TotpSecret};
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::harness::{Backend, Environment, Process, TestApp, cli};

pub(crate) const PASSWORD: &str = "correct horse battery staple 42";

/// A person who finished enrolment: what they hold.
pub(crate) struct Enrolled {
    pub(crate) login: String,
    pub(crate) id: String,
    pub(crate) secret: TotpSecret,
    pub(crate) recovery_codes: Vec<String>,
}

/// A signed-in browser: the session cookie and its CSRF token.
pub(crate) struct Session {
    pub(crate) cookie: String,
    pub(crate) csrf: String,
}

pub(crate) fn unix_now() -> u64 {
    time::OffsetDateTime::now_utc().unix_timestamp() as u64
}

/// Creates a person the way the CLI does (from the host, roles given at once) and enrols them
/// through the API.
pub(crate) async fn enrol(app: &TestApp, login: &str, roles: &[StaffRole]) -> Enrolled {
    let roles: Roles = roles.iter().copied().collect();
    let (created, _) = app
        .services
        .operations()
        .create_staff(
            None,
            &login.parse().unwrap(),
            roles,
            &AuditContext::system("test"),
        )
        .await
        .unwrap();
    enrol_with_code(
        &app.client,
        &app.url(""),
        login,
        created.person.to_string(),
        created.enrolment_code.expose_secret(),
    )
    .await
}

pub(crate) async fn enrol_with_code(
    client: &reqwest::Client,
    base: &str,
    login: &str,
    id: String,
    code: &str,
) -> Enrolled {
    enrol_at(client, &format!("{base}/admin/v1"), login, id, code).await
}

/// Enrols at `prefix` (`…/admin/v1` for staff, `…/v1` for tenant users).
pub(crate) async fn enrol_at(
    client: &reqwest::Client,
    prefix: &str,
    login: &str,
    id: String,
    code: &str,
) -> Enrolled {
    let started = client
        .post(format!("{prefix}/enrolment/start"))
        .json(&json!({"enrolment_code": code, "password": PASSWORD}))
        .send()
        .await
        .unwrap();
    assert_eq!(started.status(), StatusCode::OK);
    let started: Value = started.json().await.unwrap();
    let secret =
        TotpSecret::from_base32(&started["totp_secret"].as_str().unwrap().to_owned().into())
            .unwrap();
    assert!(
        started["provisioning_uri"]
            .as_str()
            .unwrap()
            .starts_with("otpauth://totp/")
    );
    let finished = client
        .post(format!("{prefix}/enrolment/finish"))
        .json(&json!({"enrolment_code": code, "code": Totp::STANDARD.code_at(&secret, unix_now())}))
        .send()
        .await
        .unwrap();
    assert_eq!(finished.status(), StatusCode::OK);
    let finished: Value = finished.json().await.unwrap();
    let recovery_codes: Vec<String> = finished["recovery_codes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c.as_str().unwrap().to_owned())
        .collect();
    assert_eq!(recovery_codes.len(), 10);
    Enrolled {
        login: login.to_owned(),
        id,
        secret,
        recovery_codes,
    }
}

/// The code of the next time step: the enrolment spent the current one, and a code is
/// accepted once.
pub(crate) fn next_code(person: &Enrolled) -> String {
    Totp::STANDARD.code_at(&person.secret, unix_now() + 30)
}

pub(crate) async fn sign_in_raw(
    client: &reqwest::Client,
    base: &str,
    login: &str,
    password: &str,
    code: &str,
) -> reqwest::Response {
    sign_in_raw_at(
        client,
        &format!("{base}/admin/v1/session"),
        login,
        password,
        code,
    )
    .await
}

async fn sign_in_raw_at(
    client: &reqwest::Client,
    url: &str,
    login: &str,
    password: &str,
    code: &str,
) -> reqwest::Response {
    client
        .post(url)
        .json(&json!({"login": login, "password": password, "code": code}))
        .send()
        .await
        .unwrap()
}

pub(crate) async fn sign_in_at(
    client: &reqwest::Client,
    base: &str,
    person: &Enrolled,
    code: &str,
) -> Session {
    let response = sign_in_raw(client, base, &person.login, PASSWORD, code).await;
    session_of(response).await
}

async fn session_of(response: reqwest::Response) -> Session {
    assert_eq!(response.status(), StatusCode::CREATED);
    let set_cookie = response.headers()["set-cookie"]
        .to_str()
        .unwrap()
        .to_owned();
    for attribute in ["Secure", "HttpOnly", "SameSite=Strict", "Path=/"] {
        assert!(set_cookie.contains(attribute), "{set_cookie}");
    }
    assert!(!set_cookie.contains("Domain"), "{set_cookie}");
    let cookie = set_cookie.split(';').next().unwrap().to_owned();
    assert!(cookie.starts_with("__Host-benteng_session="));
    let body: Value = response.json().await.unwrap();
    Session {
        cookie,
        csrf: body["csrf_token"].as_str().unwrap().to_owned(),
    }
}

pub(crate) async fn sign_in(app: &TestApp, person: &Enrolled) -> Session {
    sign_in_at(&app.client, &app.url(""), person, &next_code(person)).await
}

pub(crate) async fn get(
    client: &reqwest::Client,
    url: String,
    session: &Session,
) -> reqwest::Response {
    client
        .get(url)
        .header("cookie", &session.cookie)
        .send()
        .await
        .unwrap()
}

pub(crate) async fn post(
    client: &reqwest::Client,
    url: String,
    session: &Session,
    body: &Value,
) -> reqwest::Response {
    client
        .post(url)
        .header("cookie", &session.cookie)
        .header("x-csrf-token", &session.csrf)
        .json(body)
        .send()
        .await
        .unwrap()
}

/// Approves or rejects (`verb`) a four-eyes request.
async fn decide(app: &TestApp, session: &Session, id: &str, verb: &str) -> reqwest::Response {
    let url = app.url(&format!("/admin/v1/approvals/{id}/{verb}"));
    post(&app.client, url, session, &json!({})).await
}

async fn tier_of(app: &TestApp, tenant: &benteng_core::tenant::Tenant) -> Tier {
    app.services.store.tenant(tenant.id).await.unwrap().tier
}

/// The problem's type; empty when the body is not a problem (a console page).
pub(crate) async fn problem_type(response: reqwest::Response) -> String {
    let body: Value = serde_json::from_str(&response.text().await.unwrap()).unwrap_or_default();
    body["type"].as_str().unwrap_or_default().to_owned()
}

/// Small Argon2id settings (OWASP's minimum) keep the many sign-ins of these tests quick.
pub(crate) async fn app(backend: Backend) -> TestApp {
    TestApp::spawn_with(backend, |config| {
        config.people.argon2_memory_kib = 19 * 1024;
        config.people.argon2_iterations = 2;
    })
    .await
}

pub(crate) async fn audit_types(app: &TestApp) -> Vec<Value> {
    use sqlx::Row;
    let mut conn = app.raw_sql().await;
    sqlx::query("SELECT document FROM audit_events ORDER BY occurred_at, id")
        .fetch_all(&mut conn)
        .await
        .unwrap()
        .iter()
        .map(|row| serde_json::from_str(&row.get::<String, _>("document")).unwrap())
        .collect()
}

#[tokio::test]
async fn an_analyst_signs_in_with_password_and_totp_and_reaches_only_their_role() {
    let app = app(Backend::Sqlite).await;
    let tenant = app.tenant(Tier::Starter).await;
    let analyst = enrol(&app, "ana@benteng.example", &[StaffRole::ComplianceAnalyst]).await;
    let session = sign_in(&app, &analyst).await;

    let me: Value = get(&app.client, app.url("/admin/v1/session/current"), &session)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(me["login"], "ana@benteng.example");
    assert_eq!(me["roles"], json!(["compliance_analyst"]));
    // Allowed: reading tenants.
    let tenants = get(&app.client, app.url("/admin/v1/tenants"), &session).await;
    assert_eq!(tenants.status(), StatusCode::OK);
    // Refused: staff administration and tenant changes, naming the permission.
    let staff = get(&app.client, app.url("/admin/v1/staff"), &session).await;
    assert_eq!(staff.status(), StatusCode::FORBIDDEN);
    let body: Value = staff.json().await.unwrap();
    assert_eq!(
        body["type"],
        "https://benteng.dev/problems/insufficient-permission"
    );
    assert!(body["detail"].as_str().unwrap().contains("staff:read"));
    let tier = post(
        &app.client,
        app.url(&format!("/admin/v1/tenants/{}/tier", tenant.id)),
        &session,
        &json!({"tier": "enterprise"}),
    )
    .await;
    assert_eq!(tier.status(), StatusCode::FORBIDDEN);
    // An escalation through the API: the analyst grants themselves admin.
    let escalate = post(
        &app.client,
        app.url(&format!("/admin/v1/staff/{}/roles/grant", analyst.id)),
        &session,
        &json!({"role": "admin"}),
    )
    .await;
    assert_eq!(escalate.status(), StatusCode::FORBIDDEN);
    let events = audit_types(&app).await;
    assert!(
        events
            .iter()
            .any(|e| e["event_type"] == "staff.permission_denied"
                && e["actor"]["by"] == "staff:ana@benteng.example"
                && e["actor"]["roles"] == "compliance_analyst"
                && e["actor"]["session"].is_string())
    );
    assert!(
        events
            .iter()
            .all(|e| e["event_type"] != "person.roles_changed"
                || e["changes"]["roles"]["to"] == "compliance_analyst")
    );

    // Sign out: the cookie stops working.
    let out = post(
        &app.client,
        app.url("/admin/v1/session/sign-out"),
        &session,
        &json!({}),
    )
    .await;
    assert_eq!(out.status(), StatusCode::NO_CONTENT);
    let after = get(&app.client, app.url("/admin/v1/session/current"), &session).await;
    assert_eq!(after.status(), StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn bad_credentials_codes_cookies_and_csrf_tokens_are_refused() {
    let app = app(Backend::Sqlite).await;
    let person = enrol(&app, "sam@benteng.example", &[StaffRole::Support]).await;
    let base = app.url("");
    let code = next_code(&person);

    // Wrong password, unknown login, wrong code: one answer.
    let wrong_password = sign_in_raw(
        &app.client,
        &base,
        &person.login,
        "not the password 99",
        &code,
    )
    .await;
    let unknown = sign_in_raw(
        &app.client,
        &base,
        "nobody@benteng.example",
        PASSWORD,
        &code,
    )
    .await;
    let wrong_code = sign_in_raw(&app.client, &base, &person.login, PASSWORD, "000000").await;
    let confusable = sign_in_raw(
        &app.client,
        &base,
        "s\u{430}m@benteng.example",
        PASSWORD,
        &code,
    )
    .await;
    let mut bodies = Vec::new();
    for response in [wrong_password, unknown, wrong_code, confusable] {
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
        let body: Value = response.json().await.unwrap();
        bodies.push(body);
    }
    assert!(
        bodies.windows(2).all(|pair| pair[0] == pair[1]),
        "{bodies:?}"
    );
    assert_eq!(
        bodies[0]["type"],
        "https://benteng.dev/problems/sign-in-failed"
    );

    // The right code works once; replayed, it is refused.
    let session = sign_in_at(&app.client, &base, &person, &code).await;
    let replay = sign_in_raw(&app.client, &base, &person.login, PASSWORD, &code).await;
    assert_eq!(replay.status(), StatusCode::UNAUTHORIZED);
    // A recovery code works once too.
    let recovery = &person.recovery_codes[0];
    let _second = sign_in_at(&app.client, &base, &person, recovery).await;
    let again = sign_in_raw(&app.client, &base, &person.login, PASSWORD, recovery).await;
    assert_eq!(again.status(), StatusCode::UNAUTHORIZED);

    // Forged and malformed cookies.
    for cookie in [
        "__Host-benteng_session=AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
        "__Host-benteng_session=../../etc/passwd",
        "__Host-benteng_session=",
        "benteng_session=whatever",
    ] {
        let response = app
            .client
            .get(app.url("/admin/v1/session/current"))
            .header("cookie", cookie)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED, "{cookie}");
    }

    // CSRF: missing, or another session's token, refuses a state-changing request.
    let other = sign_in_at(&app.client, &base, &person, &person.recovery_codes[1]).await;
    let url = app.url("/admin/v1/session/sign-out");
    let missing = app
        .client
        .post(&url)
        .header("cookie", &session.cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(missing.status(), StatusCode::FORBIDDEN);
    assert_eq!(
        problem_type(missing).await,
        "https://benteng.dev/problems/csrf-token-invalid"
    );
    let foreign = app
        .client
        .post(&url)
        .header("cookie", &session.cookie)
        .header("x-csrf-token", &other.csrf)
        .send()
        .await
        .unwrap();
    assert_eq!(foreign.status(), StatusCode::FORBIDDEN);
    // Nothing changed: the session still works.
    let still = get(&app.client, app.url("/admin/v1/session/current"), &session).await;
    assert_eq!(still.status(), StatusCode::OK);
    let events = audit_types(&app).await;
    assert!(
        events
            .iter()
            .any(|e| e["event_type"] == "staff.csrf_refused")
    );
    assert!(
        events
            .iter()
            .any(|e| e["event_type"] == "person.sign_in_failed")
    );
    assert!(
        events
            .iter()
            .any(|e| e["event_type"] == "person.recovery_code_used")
    );

    // Enrolment codes are spent, and weak passwords are refused with a clear reason.
    let spent = app
        .client
        .post(app.url("/admin/v1/enrolment/start"))
        .json(&json!({"enrolment_code": "x".repeat(43), "password": PASSWORD}))
        .send()
        .await
        .unwrap();
    assert_eq!(spent.status(), StatusCode::UNAUTHORIZED);
    let (created, _) = app
        .services
        .operations()
        .create_staff(
            None,
            &"weak@benteng.example".parse().unwrap(),
            Roles::empty().with(StaffRole::Support),
            &AuditContext::system("test"),
        )
        .await
        .unwrap();
    for weak in ["short", "password1234", "weak@benteng.example-and-more"] {
        let refused = app
            .client
            .post(app.url("/admin/v1/enrolment/start"))
            .json(&json!({"enrolment_code": created.enrolment_code.expose_secret(), "password": weak}))
            .send()
            .await
            .unwrap();
        assert_eq!(refused.status(), StatusCode::UNPROCESSABLE_ENTITY, "{weak}");
    }
}

#[tokio::test]
async fn repeated_failures_lock_the_login_and_the_lockout_is_audited() {
    let app = app(Backend::Sqlite).await;
    let person = enrol(&app, "lee@benteng.example", &[StaffRole::Support]).await;
    let base = app.url("");
    for _ in 0..5 {
        let response = sign_in_raw(
            &app.client,
            &base,
            &person.login,
            "wrong password here",
            "123456",
        )
        .await;
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    }
    // Now even the right password and code are refused, for the rest of the window.
    let locked = sign_in_raw(
        &app.client,
        &base,
        &person.login,
        PASSWORD,
        &next_code(&person),
    )
    .await;
    assert_eq!(locked.status(), StatusCode::TOO_MANY_REQUESTS);
    assert!(locked.headers().contains_key("retry-after"));
    // An unknown login locks the same way: nothing tells the two apart.
    for _ in 0..5 {
        sign_in_raw(
            &app.client,
            &base,
            "ghost@benteng.example",
            PASSWORD,
            "123456",
        )
        .await;
    }
    let ghost = sign_in_raw(
        &app.client,
        &base,
        "ghost@benteng.example",
        PASSWORD,
        "123456",
    )
    .await;
    assert_eq!(ghost.status(), StatusCode::TOO_MANY_REQUESTS);
    let events = audit_types(&app).await;
    assert!(
        events
            .iter()
            .any(|e| e["event_type"] == "person.locked_out")
    );
}

#[tokio::test]
async fn a_four_eyes_change_runs_only_after_a_second_admin_approves() {
    let app = app(Backend::Postgres).await;
    let tenant = app.tenant(Tier::Starter).await;
    let first = enrol(&app, "ayu@benteng.example", &[StaffRole::Admin]).await;
    let second = enrol(&app, "budi@benteng.example", &[StaffRole::Admin]).await;
    let a = sign_in(&app, &first).await;
    let b = sign_in(&app, &second).await;

    let proposed = post(
        &app.client,
        app.url(&format!("/admin/v1/tenants/{}/tier", tenant.id)),
        &a,
        &json!({"tier": "enterprise"}),
    )
    .await;
    assert_eq!(proposed.status(), StatusCode::ACCEPTED);
    let proposed: Value = proposed.json().await.unwrap();
    assert_eq!(proposed["outcome"], "pending_approval");
    let id = proposed["pending_action"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    // Not applied yet.
    assert_eq!(tier_of(&app, &tenant).await, Tier::Starter);
    // The proposer cannot approve it.
    let own = decide(&app, &a, &id, "approve").await;
    assert_eq!(own.status(), StatusCode::FORBIDDEN);
    assert_eq!(
        problem_type(own).await,
        "https://benteng.dev/problems/second-person-required"
    );
    assert_eq!(tier_of(&app, &tenant).await, Tier::Starter);
    // The second admin approves: applied, once.
    let approved = decide(&app, &b, &id, "approve").await;
    assert_eq!(approved.status(), StatusCode::OK);
    let approved: Value = approved.json().await.unwrap();
    assert_eq!(approved["status"], "approved");
    assert_eq!(approved["decided_by"], second.id);
    assert_eq!(tier_of(&app, &tenant).await, Tier::Enterprise);
    let twice = decide(&app, &b, &id, "approve").await;
    assert_eq!(twice.status(), StatusCode::CONFLICT);

    // Both names are in the audit trail, with their sessions and roles.
    let events = audit_types(&app).await;
    let by = |event_type: &str| {
        events
            .iter()
            .find(|e| e["event_type"] == event_type)
            .map(|e| e["actor"].clone())
            .unwrap()
    };
    assert_eq!(by("approval.proposed")["by"], "staff:ayu@benteng.example");
    assert_eq!(by("approval.approved")["by"], "staff:budi@benteng.example");
    assert_eq!(by("approval.approved")["roles"], "admin");
    assert_eq!(
        by("tenant.tier_changed")["by"],
        "staff:budi@benteng.example"
    );
    assert!(by("approval.approved")["session"].is_string());

    // Granting admin is four-eyes too; turning mTLS off as well; a rejection changes nothing.
    let analyst = enrol(
        &app,
        "cici@benteng.example",
        &[StaffRole::ComplianceAnalyst],
    )
    .await;
    let grant = post(
        &app.client,
        app.url(&format!("/admin/v1/staff/{}/roles/grant", analyst.id)),
        &a,
        &json!({"role": "admin"}),
    )
    .await;
    assert_eq!(grant.status(), StatusCode::ACCEPTED);
    let grant: Value = grant.json().await.unwrap();
    let grant_id = grant["pending_action"]["id"].as_str().unwrap();
    let rejected = decide(&app, &b, grant_id, "reject").await;
    assert_eq!(rejected.status(), StatusCode::OK);
    let person = app
        .services
        .store
        .person(analyst.id.parse().unwrap())
        .await
        .unwrap();
    assert!(!person.roles.contains(StaffRole::Admin));
    let mtls_off = post(
        &app.client,
        app.url(&format!("/admin/v1/tenants/{}/require-mtls", tenant.id)),
        &a,
        &json!({"required": false}),
    )
    .await;
    assert_eq!(mtls_off.status(), StatusCode::ACCEPTED);
    // Nobody changes their own roles, even an admin.
    let own_roles = post(
        &app.client,
        app.url(&format!("/admin/v1/staff/{}/roles/revoke", first.id)),
        &a,
        &json!({"role": "admin"}),
    )
    .await;
    assert_eq!(own_roles.status(), StatusCode::FORBIDDEN);
}

/// Every operator route, walked with a person of each role: a role without the route's
/// permission is refused with 403 insufficient-permission; a role with it gets past the check.
#[tokio::test]
async fn every_operator_route_refuses_roles_without_its_permission() {
    let app = app(Backend::Sqlite).await;
    let mut sessions = Vec::new();
    for (i, role) in StaffRole::ALL.into_iter().enumerate() {
        let person = enrol(&app, &format!("walker{i}@benteng.example"), &[role]).await;
        sessions.push((role, sign_in(&app, &person).await));
    }
    let mut checked = 0;
    for (path, needs) in benteng_api::route_permissions() {
        // Every path parameter gets a well-formed value that names nothing.
        let url = app.url(
            &path
                .replace("{id}", &uuid::Uuid::new_v4().to_string())
                .replace("{endpoint}", &uuid::Uuid::new_v4().to_string())
                .replace("{fingerprint}", &"ab".repeat(32))
                .replace("{evidence}", &uuid::Uuid::new_v4().to_string())
                .replace("{attachment}", &uuid::Uuid::new_v4().to_string())
                .replace("{item}", "email")
                .replace("{proposal}", &uuid::Uuid::new_v4().to_string())
                .replace("{block}", &uuid::Uuid::new_v4().to_string()),
        );
        assert!(
            !url.contains('{'),
            "{path}: a path parameter the walk does not fill"
        );
        for (method, need) in needs.declared() {
            let benteng_api::StaffNeed::Permission(permission) = need else {
                continue;
            };
            for (role, session) in &sessions {
                let response = if method.as_str() == "GET" {
                    get(&app.client, url.clone(), session).await
                } else {
                    post(&app.client, url.clone(), session, &json!({})).await
                };
                let status = response.status();
                let kind = problem_type(response).await;
                let allowed = Roles::empty().with(*role).permits(permission);
                let refused =
                    status == StatusCode::FORBIDDEN && kind.ends_with("/insufficient-permission");
                assert_eq!(
                    !allowed, refused,
                    "{method} {path} as {role}: {status} {kind}"
                );
                checked += 1;
            }
        }
    }
    assert!(checked >= 5 * 10, "{checked}");
    // Every permission is held by some role, and every role lacks some permission: the walk
    // above saw both answers for each role.
    for permission in Permission::ALL {
        assert!(
            StaffRole::ALL
                .into_iter()
                .any(|r| Roles::empty().with(r).permits(permission)),
            "{permission}"
        );
    }
    for role in StaffRole::ALL {
        assert!(
            Permission::ALL
                .into_iter()
                .any(|p| !Roles::empty().with(role).permits(p)),
            "{role}"
        );
    }
}

/// A person created from the host with `role`: their enrolment code and person id.
pub(crate) async fn staff_from_cli(env: &Environment, login: &str, role: &str) -> (String, String) {
    let (ok, out, err) = cli(env, &["staff", "create", "--login", login, "--role", role]).await;
    assert!(ok, "{err}");
    (
        cli_field(&out, "enrolment code:"),
        cli_field(&out, "person:"),
    )
}

/// The value of a `name: value` line of a CLI's output.
pub(crate) fn cli_field(out: &str, name: &str) -> String {
    out.lines()
        .find_map(|line| line.strip_prefix(name))
        .unwrap()
        .trim()
        .to_owned()
}

/// Two instances on PostgreSQL + Redis: signing out everywhere on one reaches the other
/// within a second; the first admin comes from the CLI.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sign_out_everywhere_reaches_every_instance_within_a_second() {
    let env = Environment::new(Backend::Postgres).await;
    let (ok, out, err) = cli(
        &env,
        &[
            "staff",
            "create",
            "--login",
            "root@benteng.example",
            "--role",
            "admin",
        ],
    )
    .await;
    assert!(ok, "{err}");
    let code = out
        .lines()
        .find_map(|line| line.strip_prefix("enrolment code:"))
        .unwrap()
        .trim()
        .to_owned();
    let id = out
        .lines()
        .find_map(|line| line.strip_prefix("person:"))
        .unwrap()
        .trim()
        .to_owned();
    let first = Process::serve(&env).await;
    let second = Process::serve(&env).await;
    let client = env.client();
    let base = first.url("");
    let person = enrol_with_code(&client, &base, "root@benteng.example", id, &code).await;
    let session = sign_in_at(&client, &base, &person, &next_code(&person)).await;
    // The CLI gave admin at once.
    let staff = get(&client, second.url("/admin/v1/staff"), &session).await;
    assert_eq!(staff.status(), StatusCode::OK);
    let second_session =
        sign_in_at(&client, &second.url(""), &person, &person.recovery_codes[0]).await;
    for process in [&first, &second] {
        for s in [&session, &second_session] {
            assert_eq!(
                get(&client, process.url("/admin/v1/session/current"), s)
                    .await
                    .status(),
                StatusCode::OK
            );
        }
    }
    // A deployment with another server secret does not know the session, though it shares the
    // database: the token's keyed hash differs.
    let foreign = Process::serve_with(
        &env,
        &[(
            "BENTENG_AUTH__API_KEY_SECRET",
            "ffeeddccbbaa99887766554433221100ffeeddccbbaa99887766554433221100",
        )],
    )
    .await;
    assert_eq!(
        get(&client, foreign.url("/admin/v1/session/current"), &session)
            .await
            .status(),
        StatusCode::UNAUTHORIZED
    );
    drop(foreign);
    let out = post(
        &client,
        second.url("/admin/v1/session/sign-out-everywhere"),
        &second_session,
        &json!({}),
    )
    .await;
    assert_eq!(out.status(), StatusCode::NO_CONTENT);
    let started = std::time::Instant::now();
    for process in [&first, &second] {
        loop {
            let status = get(&client, process.url("/admin/v1/session/current"), &session)
                .await
                .status();
            if status == StatusCode::UNAUTHORIZED {
                break;
            }
            assert_eq!(status, StatusCode::OK);
            assert!(
                started.elapsed() < std::time::Duration::from_secs(1),
                "still signed in after 1 s"
            );
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
    }
}

#[tokio::test]
async fn tenant_users_sign_in_to_the_tenant_api_with_their_roles_scopes() {
    let app = app(Backend::Sqlite).await;
    let tenant = app.tenant(Tier::Starter).await;
    let admin = enrol(&app, "adi@benteng.example", &[StaffRole::Admin]).await;
    let staff = sign_in(&app, &admin).await;
    let mut users = Vec::new();
    for (login, role) in [
        ("pay@exporter.example", "payer"),
        ("see@exporter.example", "viewer"),
    ] {
        let created = post(
            &app.client,
            app.url(&format!("/admin/v1/tenants/{}/users", tenant.id)),
            &staff,
            &json!({"login": login, "role": role}),
        )
        .await;
        assert_eq!(created.status(), StatusCode::CREATED);
        let created: Value = created.json().await.unwrap();
        let code = created["enrolment_code"].as_str().unwrap();
        // A tenant user's code does not enrol on the operator side.
        let wrong_side = app
            .client
            .post(app.url("/admin/v1/enrolment/start"))
            .json(&json!({"enrolment_code": code, "password": PASSWORD}))
            .send()
            .await
            .unwrap();
        assert_eq!(wrong_side.status(), StatusCode::UNAUTHORIZED);
        let id = created["id"].as_str().unwrap().to_owned();
        let user = enrol_at(&app.client, &app.url("/v1"), login, id, code).await;
        let response = sign_in_raw_at(
            &app.client,
            &app.url("/v1/session"),
            login,
            PASSWORD,
            &next_code(&user),
        )
        .await;
        users.push((user, session_of(response).await));
    }
    let listed: Value = get(
        &app.client,
        app.url(&format!("/admin/v1/tenants/{}/users", tenant.id)),
        &staff,
    )
    .await
    .json()
    .await
    .unwrap();
    assert_eq!(listed.as_array().unwrap().len(), 2);
    let (payer, payer_session) = &users[0];
    let (_, viewer_session) = &users[1];
    for session in [payer_session, viewer_session] {
        let me: Value = get(&app.client, app.url("/v1/tenant"), session)
            .await
            .json()
            .await
            .unwrap();
        assert_eq!(me["id"], tenant.id.to_string());
        // Tenant users are not staff.
        let operator = get(&app.client, app.url("/admin/v1/tenants"), session).await;
        assert_eq!(operator.status(), StatusCode::FORBIDDEN);
    }
    // The payer may add a recipient (the empty body then fails validation); the viewer may not.
    let payer_quote = post(
        &app.client,
        app.url("/v1/recipients"),
        payer_session,
        &json!({}),
    )
    .await;
    assert_eq!(payer_quote.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let viewer_quote = post(
        &app.client,
        app.url("/v1/recipients"),
        viewer_session,
        &json!({}),
    )
    .await;
    assert_eq!(viewer_quote.status(), StatusCode::FORBIDDEN);
    assert_eq!(
        problem_type(viewer_quote).await,
        "https://benteng.dev/problems/insufficient-scope"
    );
    // Without the CSRF token, a cookie cannot change anything.
    let no_csrf = app
        .client
        .post(app.url("/v1/recipients"))
        .header("cookie", &payer_session.cookie)
        .json(&json!({}))
        .send()
        .await
        .unwrap();
    assert_eq!(no_csrf.status(), StatusCode::FORBIDDEN);
    assert_eq!(
        problem_type(no_csrf).await,
        "https://benteng.dev/problems/csrf-token-invalid"
    );
    // A staff session does not open the tenant API, and staff cannot sign in there.
    let staff_on_tenant = get(&app.client, app.url("/v1/tenant"), &staff).await;
    assert_eq!(staff_on_tenant.status(), StatusCode::UNAUTHORIZED);
    let staff_sign_in = sign_in_raw_at(
        &app.client,
        &app.url("/v1/session"),
        &admin.login,
        PASSWORD,
        &admin.recovery_codes[0],
    )
    .await;
    assert_eq!(staff_sign_in.status(), StatusCode::UNAUTHORIZED);
    let user_on_operator_side = sign_in_raw(
        &app.client,
        &app.url(""),
        &payer.login,
        PASSWORD,
        &payer.recovery_codes[0],
    )
    .await;
    assert_eq!(user_on_operator_side.status(), StatusCode::UNAUTHORIZED);
    // Signing out ends the session.
    let out = post(
        &app.client,
        app.url("/v1/session/sign-out"),
        payer_session,
        &json!({}),
    )
    .await;
    assert_eq!(out.status(), StatusCode::NO_CONTENT);
    let after = get(&app.client, app.url("/v1/tenant"), payer_session).await;
    assert_eq!(after.status(), StatusCode::UNAUTHORIZED);
    let events = audit_types(&app).await;
    assert!(events.iter().any(|e| {
        e["event_type"] == "session.revoked"
            && e["actor"]["by"]
                .as_str()
                .is_some_and(|by| by.starts_with("user:"))
    }));
}

#[tokio::test]
async fn a_four_eyes_request_expires_unapproved() {
    let app = TestApp::spawn_with(Backend::Sqlite, |config| {
        config.people.argon2_memory_kib = 19 * 1024;
        config.people.argon2_iterations = 2;
        config.people.approval_ttl_secs = 1;
    })
    .await;
    let tenant = app.tenant(Tier::Starter).await;
    let first = enrol(&app, "eka@benteng.example", &[StaffRole::Admin]).await;
    let second = enrol(&app, "fajar@benteng.example", &[StaffRole::Admin]).await;
    let a = sign_in(&app, &first).await;
    let b = sign_in(&app, &second).await;
    let proposed: Value = post(
        &app.client,
        app.url(&format!("/admin/v1/tenants/{}/tier", tenant.id)),
        &a,
        &json!({"tier": "growth"}),
    )
    .await
    .json()
    .await
    .unwrap();
    let id = proposed["pending_action"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    tokio::time::sleep(std::time::Duration::from_millis(1_200)).await;
    let late = decide(&app, &b, &id, "approve").await;
    assert_eq!(late.status(), StatusCode::CONFLICT);
    assert_eq!(tier_of(&app, &tenant).await, Tier::Starter);
    let pending: Value = get(&app.client, app.url("/admin/v1/approvals"), &b)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(pending, json!([]));
    let expired: Value = get(
        &app.client,
        app.url("/admin/v1/approvals?status=expired"),
        &b,
    )
    .await
    .json()
    .await
    .unwrap();
    assert_eq!(expired[0]["id"], id);
    let events = audit_types(&app).await;
    assert!(events.iter().any(|e| e["event_type"] == "approval.expired"));
    // A bad status filter is a clear error.
    let bad = get(
        &app.client,
        app.url("/admin/v1/approvals?status=whenever"),
        &b,
    )
    .await;
    assert_eq!(bad.status(), StatusCode::UNPROCESSABLE_ENTITY);
}
