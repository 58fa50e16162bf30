//! Issue 21: the least-privilege PostgreSQL roles of docs/operations.md, exactly as documented:
//! the owner migrates, the server runs as a role that owns nothing, and only the auditor purges.

use benteng_core::audit::{AuditEvent, Retention};
use benteng_store::{Store, StoreOptions};
use reqwest::StatusCode;
use serde_json::{Value, json};
use sqlx::{Connection, Executor};

use crate::audit_anchors::as_role;
use crate::harness::{
    Backend, Environment, Process, cli_with_env, postgres_admin_url, workspace_root,
};

/// The SQL block of docs/operations.md whose first line is `-- {marker}`, with the documented
/// role names made unique to this test (roles are shared by every database of the server).
fn documented_sql(marker: &str, suffix: &str) -> Vec<String> {
    let docs = std::fs::read_to_string(workspace_root().join("docs/operations.md")).unwrap();
    let start = docs
        .find(&format!("```sql\n-- {marker}"))
        .unwrap_or_else(|| panic!("docs/operations.md has no `-- {marker}` SQL block"));
    let block = &docs[start + "```sql\n".len()..];
    let block = &block[..block.find("```").unwrap()];
    block
        .lines()
        .map(|line| line.split("--").next().unwrap().trim())
        .filter(|line| !line.is_empty())
        .map(|line| {
            line.replace("benteng_owner", &format!("benteng_owner_{suffix}"))
                .replace("benteng_app", &format!("benteng_app_{suffix}"))
                .replace("benteng_auditor", &format!("benteng_auditor_{suffix}"))
                .replace("'…'", "'unused-with-trust-authentication'")
        })
        .collect()
}

async fn run_sql(url: &str, statements: &[String]) {
    let mut conn = sqlx::AnyConnection::connect(url).await.unwrap();
    for statement in statements {
        conn.execute(sqlx::AssertSqlSafe(statement.clone()))
            .await
            .unwrap_or_else(|e| panic!("{statement}: {e}"));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_server_runs_as_the_documented_least_privilege_roles() {
    sqlx::any::install_default_drivers();
    let mut env = Environment::new(Backend::Postgres).await;
    let admin_url = env.database_url.clone();
    let suffix = uuid::Uuid::new_v4().simple().to_string();
    let owner = as_role(&admin_url, &format!("benteng_owner_{suffix}"));
    let app = as_role(&admin_url, &format!("benteng_app_{suffix}"));
    let auditor = as_role(&admin_url, &format!("benteng_auditor_{suffix}"));
    let no_migrations = [("BENTENG_DATABASE__MIGRATE", "false")];
    run_sql(&admin_url, &documented_sql("roles:", &suffix)).await;

    // Before `benteng migrate`: the app role refuses to start, saying what to do.
    env.database_url = app.clone();
    let (ok, _, err) = cli_with_env(&env, &no_migrations, &["serve"]).await;
    assert!(!ok, "served an empty database");
    assert!(
        err.contains("version 0") && err.contains("benteng migrate"),
        "{err}"
    );

    // The owner migrates (whatever database.migrate says), then grants as documented.
    env.database_url = owner.clone();
    let (ok, out, err) = cli_with_env(&env, &no_migrations, &["migrate"]).await;
    assert!(ok, "{out}{err}");
    run_sql(&owner, &documented_sql("grants:", &suffix)).await;

    // The server runs as the application's role, and real work goes through.
    env.database_url = app.clone();
    let server = Process::serve_with(&env, &no_migrations).await;
    let (ok, tenant, err) = cli_with_env(
        &env,
        &no_migrations,
        &[
            "tenant",
            "create",
            "--name",
            "PT Hak Minimal",
            "--tier",
            "growth",
        ],
    )
    .await;
    assert!(ok, "{err}");
    let tenant = tenant.trim().to_owned();
    let (ok, key, err) = cli_with_env(
        &env,
        &no_migrations,
        &["apikey", "issue", "--tenant", &tenant],
    )
    .await;
    assert!(ok, "{err}");
    let key = key.trim().to_owned();
    let (ok, _, err) = cli_with_env(
        &env,
        &no_migrations,
        &["kyc", "set-level", &tenant, "enhanced"],
    )
    .await;
    assert!(ok, "{err}");
    let (ok, _, err) = cli_with_env(
        &env,
        &no_migrations,
        &[
            "ledger",
            "fund",
            "--tenant",
            &tenant,
            "--currency",
            "EUR",
            "--amount",
            "500.00",
        ],
    )
    .await;
    assert!(ok, "{err}");
    let client = env.client();
    let recipient: Value = client
        .post(server.url("/v1/recipients"))
        .bearer_auth(&key)
        .header("x-idempotency-key", uuid::Uuid::new_v4().to_string())
        .json(
            &json!({"type": "business", "name": "Müller Handels GmbH", "country": "DE",
                      "address": {"line1": "Hauptstraße 1", "city": "Berlin", "country": "DE"},
                      "bank_account": {"iban": "DE89370400440532013000"}}),
        )
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let quote = client
        .get(server.url("/v1/quotes?source_currency=EUR&target_currency=IDR&source_amount=100.00"))
        .bearer_auth(&key)
        .send()
        .await
        .unwrap();
    assert_eq!(quote.status(), StatusCode::CREATED);
    let quote: Value = quote.json().await.unwrap();
    let transfer = client
        .post(server.url("/v1/transfers"))
        .bearer_auth(&key)
        .header("x-idempotency-key", uuid::Uuid::new_v4().to_string())
        .json(
            &json!({"quote_id": quote["id"], "recipient_id": recipient["id"],
                      "amount": "100.00", "currency": "EUR", "reference": "least privilege"}),
        )
        .send()
        .await
        .unwrap();
    let status = transfer.status();
    let transfer: Value = transfer.json().await.unwrap();
    assert_eq!(status, StatusCode::CREATED, "{transfer}");
    let read = client
        .get(server.url(&format!(
            "/v1/transfers/{}",
            transfer["id"].as_str().unwrap()
        )))
        .bearer_auth(&key)
        .send()
        .await
        .unwrap();
    assert_eq!(read.status(), StatusCode::OK);
    let (ok, export, err) = cli_with_env(&env, &no_migrations, &["audit", "export"]).await;
    assert!(ok, "{err}");
    assert!(export.contains("\"transfer.initiated\""), "{export}");

    // The application's role can neither purge the trail nor change a table.
    let mut conn = sqlx::AnyConnection::connect(&app).await.unwrap();
    conn.execute("SELECT set_config('benteng.audit_purge_until', '9223372036854775807', false)")
        .await
        .unwrap();
    for statement in [
        "DELETE FROM audit_events",
        "DELETE FROM audit_chain",
        "TRUNCATE audit_events",
        "UPDATE audit_events SET event_type = 'nothing.happened'",
        "INSERT INTO audit_checkpoints (retention, position, hash, created_at) \
         VALUES ('security', 1, 'x', 0)",
        "SELECT audit_purge('security', 1, 'x', 'x', 9223372036854775807)",
        "ALTER TABLE audit_events DISABLE TRIGGER ALL",
        "DROP TRIGGER audit_trail_immutable ON audit_events",
        "ALTER TABLE transfers ADD COLUMN backdoor TEXT",
        "CREATE TABLE backdoor (x TEXT)",
    ] {
        let error = conn
            .execute(statement)
            .await
            .expect_err(statement)
            .to_string();
        assert!(
            error.contains("permission denied") || error.contains("must be owner"),
            "{statement}: {error}"
        );
    }
    drop(conn);

    // Expired events to purge: the application's role cannot, the auditor can, and the trail
    // still verifies.
    let store = Store::connect(&app, &StoreOptions::default())
        .await
        .unwrap();
    for i in 0..3 {
        let mut event = AuditEvent::new(
            &benteng_core::audit::AuditContext::system("test"),
            "app.started",
            Retention::App,
            ("process", format!("old{i}")),
        );
        event.timestamp = benteng_core::now() - time::Duration::days(100);
        store.audit(&event).await.unwrap();
    }
    store.close().await;
    let (ok, _, err) =
        cli_with_env(&env, &no_migrations, &["audit", "purge", "--class", "app"]).await;
    assert!(!ok, "the application's role purged");
    assert!(err.contains("permission denied"), "{err}");
    env.database_url = auditor.clone();
    let (ok, out, err) =
        cli_with_env(&env, &no_migrations, &["audit", "purge", "--class", "app"]).await;
    assert!(ok, "{out}{err}");
    assert!(out.contains("3 expired app events purged"), "{out}");
    env.database_url = app.clone();
    let (ok, out, err) = cli_with_env(&env, &no_migrations, &["audit", "verify"]).await;
    assert!(ok && out.contains("audit trail ok"), "{out}{err}");
    drop(server);

    // Roles outlive the test's database: drop the database, then them.
    let mut statements = vec![format!("DROP DATABASE {} WITH (FORCE)", env.namespace)];
    for role in ["auditor", "app", "owner"] {
        statements.push(format!("DROP ROLE benteng_{role}_{suffix}"));
    }
    run_sql(&postgres_admin_url(), &statements).await;
}
