//! Issue 21: the end of each audit chain is anchored outside the database (signed head
//! checkpoints, `audit verify --anchor`), purge checkpoints are signed, and on PostgreSQL the
//! purge permit belongs to a role the application does not hold. Each test plays the attacker
//! with a raw connection that can switch the triggers off (a superuser, or the file's owner).

use std::path::{Path, PathBuf};

use benteng_crypto::jose::{EcSigningKey, b64url_decode};
use serde_json::{Map, Value, json};
use sqlx::{Connection, Executor};

use crate::audit::transfer_flow;
use crate::harness::{Backend, TestApp, cli, on_both_backends};

on_both_backends!(
    an_anchor_detects_rows_removed_from_the_end_of_a_chain,
    a_forged_checkpoint_over_a_removed_prefix_does_not_verify,
    a_tampered_anchor_is_refused,
    the_server_checks_its_chains_against_the_newest_anchor,
);

/// The claims (`[0]`) and header (`[1]`) of a compact JWS file, unverified.
fn jws_parts(path: &Path) -> (Value, Map<String, Value>) {
    let text = std::fs::read_to_string(path).unwrap();
    let parts: Vec<&str> = text.trim().split('.').collect();
    let decode =
        |part: &str| -> Value { serde_json::from_slice(&b64url_decode(part).unwrap()).unwrap() };
    let header = decode(parts[0]).as_object().unwrap().clone();
    (decode(parts[1]), header)
}

/// The anchored head of `class`'s chain; 0 when the anchor names none (an empty chain).
fn anchored_head(path: &Path, class: &str) -> i64 {
    jws_parts(path).0["chains"][class]["position"]
        .as_i64()
        .unwrap_or(0)
}

/// Makes an anchor with the CLI; answers its path.
/// Waits until the security chain is sealed through `position`: the server's sealer and a
/// test's own pass may race (on SQLite the loser seals nothing that round).
async fn sealed_through(app: &TestApp, position: i64) {
    let mut conn = app.raw_sql().await;
    for _ in 0..100 {
        app.services.store.seal_audit().await.unwrap();
        let (head,): (i64,) = sqlx::query_as(
            "SELECT CAST(COALESCE(MAX(position), 0) AS BIGINT) FROM audit_chain \
             WHERE retention = 'security'",
        )
        .fetch_one(&mut conn)
        .await
        .unwrap();
        if head >= position {
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    panic!("the security chain was not sealed through position {position} within 5 s");
}

async fn anchor(app: &TestApp, name: &str) -> PathBuf {
    let path = app.data_dir().join(name);
    let (ok, out, err) = cli(
        app.environment(),
        &["audit", "anchor", "--out", path.to_str().unwrap()],
    )
    .await;
    assert!(ok, "{out}{err}");
    path
}

async fn verify_with(app: &TestApp, anchor: Option<&Path>) -> (bool, String, String) {
    let mut args = vec!["audit", "verify"];
    if let Some(path) = anchor {
        args.extend(["--anchor", path.to_str().unwrap()]);
    }
    cli(app.environment(), &args).await
}

/// Switches off what stops deletions: what a superuser (PostgreSQL) or the file's owner
/// (SQLite) can do.
fn lift_triggers(backend: Backend) -> &'static [&'static str] {
    match backend {
        Backend::Postgres => &[
            "ALTER TABLE audit_events DISABLE TRIGGER ALL",
            "ALTER TABLE audit_chain DISABLE TRIGGER ALL",
            "ALTER TABLE audit_checkpoints DISABLE TRIGGER ALL",
            "ALTER TABLE audit_anchor_keys DISABLE TRIGGER ALL",
        ],
        Backend::Sqlite => &[
            "DROP TRIGGER IF EXISTS audit_events_undeletable",
            "DROP TRIGGER IF EXISTS audit_chain_undeletable",
            "DROP TRIGGER IF EXISTS audit_checkpoints_immutable",
            "DROP TRIGGER IF EXISTS audit_anchor_keys_undeletable",
        ],
    }
}

/// Runs `statements` in one transaction after lifting the triggers.
async fn tamper(app: &TestApp, backend: Backend, statements: &[String]) {
    let mut conn = app.raw_sql().await;
    let mut tx = conn.begin().await.unwrap();
    for statement in lift_triggers(backend)
        .iter()
        .map(|s| (*s).to_owned())
        .chain(statements.iter().cloned())
    {
        tx.execute(sqlx::AssertSqlSafe(statement.clone()))
            .await
            .unwrap_or_else(|e| panic!("{statement}: {e}"));
    }
    tx.commit().await.unwrap();
}

/// Deletes the security chain's rows from `from` on, and their events.
fn cut_the_end(from: i64) -> Vec<String> {
    vec![
        format!(
            "DELETE FROM audit_events WHERE id IN (SELECT event_id FROM audit_chain \
             WHERE retention = 'security' AND position >= {from})"
        ),
        format!("DELETE FROM audit_chain WHERE retention = 'security' AND position >= {from}"),
    ]
}

async fn an_anchor_detects_rows_removed_from_the_end_of_a_chain(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    transfer_flow(&app).await;
    let path = anchor(&app, "anchor.jws").await;
    // An untampered trail passes against it, and the export itself is audited.
    let (ok, out, err) = verify_with(&app, Some(&path)).await;
    assert!(ok, "{out}{err}");
    assert!(out.contains("reaches its anchored head"), "{out}");
    let (_, export, _) = cli(app.environment(), &["audit", "export"]).await;
    assert!(export.contains("\"audit.anchored\""), "{export}");
    // An anchor is never written over.
    let (ok, _, err) = cli(
        app.environment(),
        &["audit", "anchor", "--out", path.to_str().unwrap()],
    )
    .await;
    assert!(!ok && err.contains("exists"), "{err}");

    // The attack: the newest rows of the security chain go, events and links alike.
    let head = anchored_head(&path, "security");
    assert!(head > 3, "the trail has events: {head}");
    tamper(&app, backend, &cut_the_end(head - 1)).await;
    // The chain alone cannot tell: what is left still links up.
    let (ok, out, err) = verify_with(&app, None).await;
    assert!(ok, "without an anchor the cut is invisible: {out}{err}");
    // Against the anchor it fails, naming the chain.
    let (ok, out, err) = verify_with(&app, Some(&path)).await;
    assert!(!ok, "{out}{err}");
    assert!(out.contains("BROKEN security chain"), "{out}");
    // A new anchor is refused while the trail is short of the previous one.
    let next = app.data_dir().join("next.jws");
    let (ok, _, err) = cli(
        app.environment(),
        &[
            "audit",
            "anchor",
            "--out",
            next.to_str().unwrap(),
            "--anchor",
            path.to_str().unwrap(),
        ],
    )
    .await;
    assert!(!ok && err.contains("nothing anchored"), "{err}");
    assert!(!next.exists());
}

async fn a_forged_checkpoint_over_a_removed_prefix_does_not_verify(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    transfer_flow(&app).await;
    sealed_through(&app, 3).await;
    let path = anchor(&app, "anchor.jws").await;
    let kid = jws_parts(&path).1["kid"].as_str().unwrap().to_owned();
    let mut conn = app.raw_sql().await;
    let (hash,): (String,) = sqlx::query_as(
        "SELECT hash FROM audit_chain WHERE retention = 'security' AND position = 3",
    )
    .fetch_one(&mut conn)
    .await
    .unwrap();
    // Signed with a key of the attacker's own, under the real key's name.
    let mut header = Map::new();
    header.insert("typ".into(), "benteng-audit-checkpoint".into());
    header.insert("kid".into(), kid.into());
    let forged = EcSigningKey::generate()
        .unwrap()
        .sign(
            &header,
            &json!({"class": "security", "position": 3, "hash": hash}),
        )
        .unwrap();
    // The attack: three unexpired events go, and a checkpoint says the chain resumes there.
    tamper(
        &app,
        backend,
        &[
            "DELETE FROM audit_events WHERE id IN (SELECT event_id FROM audit_chain \
             WHERE retention = 'security' AND position <= 3)"
                .to_owned(),
            "DELETE FROM audit_chain WHERE retention = 'security' AND position <= 3".to_owned(),
            format!(
                "INSERT INTO audit_checkpoints (retention, position, hash, created_at, signature) \
                 VALUES ('security', 3, '{hash}', 0, '{forged}')"
            ),
        ],
    )
    .await;
    let (ok, out, err) = verify_with(&app, None).await;
    assert!(!ok, "{out}{err}");
    assert!(
        out.contains("BROKEN security chain at position 3") && out.contains("does not verify"),
        "{out}"
    );
    let (ok, out, _) = verify_with(&app, Some(&path)).await;
    assert!(!ok && out.contains("BROKEN security chain"), "{out}");
    // Unsigned, as every checkpoint was before signatures: refused too.
    tamper(
        &app,
        backend,
        &["UPDATE audit_checkpoints SET signature = NULL".to_owned()],
    )
    .await;
    let (ok, out, _) = verify_with(&app, None).await;
    assert!(!ok && out.contains("not signed"), "{out}");
}

async fn a_tampered_anchor_is_refused(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    transfer_flow(&app).await;
    let path = anchor(&app, "anchor.jws").await;
    let text = std::fs::read_to_string(&path).unwrap();
    let parts: Vec<&str> = text.trim().split('.').collect();
    let (mut claims, header) = jws_parts(&path);
    let refused = |name: &str, content: Vec<u8>| {
        let file = app.data_dir().join(name);
        std::fs::write(&file, content).unwrap();
        file
    };

    // The head moved back (to hide a cut), the signature kept.
    claims["chains"]["security"]["position"] = json!(1);
    let payload = benteng_crypto::jws::b64url(claims.to_string().as_bytes());
    let edited = refused(
        "edited.jws",
        format!("{}.{payload}.{}", parts[0], parts[2]).into_bytes(),
    );
    // The same claims signed by another key under the real key's name.
    let other = EcSigningKey::generate()
        .unwrap()
        .sign(&header, &claims)
        .unwrap();
    let other = refused("other-key.jws", other.into_bytes());
    let garbage = refused("garbage.jws", b"not an anchor\n".to_vec());
    let huge = refused("huge.jws", vec![b'a'; 100 * 1024]);
    for (file, expected) in [
        (&edited, "does not verify"),
        (&other, "does not verify"),
        (&garbage, "not a signed statement"),
        (&huge, "larger than"),
    ] {
        let (ok, out, err) = verify_with(&app, Some(file)).await;
        assert!(!ok, "{} was accepted: {out}", file.display());
        assert!(err.contains(expected), "{}: {err}", file.display());
        assert!(!out.contains("audit trail ok"), "{out}");
    }
    // The genuine one still passes: the refusals were about the files.
    let (ok, out, err) = verify_with(&app, Some(&path)).await;
    assert!(ok, "{out}{err}");

    // The key is as undeletable as the trail; removed behind the triggers' back, the genuine
    // anchor can no longer vouch for anything and is refused, not ignored.
    let mut conn = app.raw_sql().await;
    let error = conn
        .execute("DELETE FROM audit_anchor_keys")
        .await
        .expect_err("deleting the anchor key")
        .to_string();
    assert!(error.contains("append-only"), "{error}");
    tamper(&app, backend, &["DELETE FROM audit_anchor_keys".to_owned()]).await;
    let (ok, out, err) = verify_with(&app, Some(&path)).await;
    assert!(
        !ok && err.contains("not an audit anchor key here"),
        "{out}{err}"
    );
}

/// With `audit.anchor_dir`, the server anchors on its own schedule, checks its chains against
/// the newest anchor, and opens the P1 incident when a chain was cut below it; no new anchor
/// is made over the cut.
async fn the_server_checks_its_chains_against_the_newest_anchor(backend: Backend) {
    let dir = tempfile::tempdir().unwrap();
    let anchors = dir.path().to_path_buf();
    let app = TestApp::spawn_with(backend, |config| {
        config.audit.anchor_dir = Some(anchors.clone());
        config.audit.anchor_interval_secs = 1;
        config.incidents.audit_verify_interval_secs = 1;
    })
    .await;
    transfer_flow(&app).await;
    app.services.store.seal_audit().await.unwrap();
    let mut conn = app.raw_sql().await;
    let (sealed,): (i64,) =
        sqlx::query_as("SELECT MAX(position) FROM audit_chain WHERE retention = 'security'")
            .fetch_one(&mut conn)
            .await
            .unwrap();
    let newest = |dir: &Path| -> Option<PathBuf> {
        let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
            .unwrap()
            .flatten()
            .map(|e| e.path())
            .filter(|p| p.extension().is_some_and(|e| e == "jws"))
            .collect();
        files.sort();
        files.pop()
    };
    let started = std::time::Instant::now();
    let head = loop {
        if let Some(file) = newest(&anchors)
            && anchored_head(&file, "security") >= sealed
        {
            break anchored_head(&file, "security");
        }
        assert!(
            started.elapsed() < std::time::Duration::from_secs(15),
            "no anchor of the transfer's events within 15 s"
        );
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    };
    assert!(app.services.store.incidents(10).await.unwrap().is_empty());

    tamper(&app, backend, &cut_the_end(head - 1)).await;
    let started = std::time::Instant::now();
    let incident = loop {
        if let Some(incident) = app.services.store.incidents(10).await.unwrap().pop() {
            break incident;
        }
        assert!(
            started.elapsed() < std::time::Duration::from_secs(15),
            "no incident within 15 s of the cut"
        );
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    };
    assert_eq!(incident.severity.as_str(), "P1");
    assert!(
        incident.title.contains("security chain"),
        "{}",
        incident.title
    );
    // Every anchor still vouches for the uncut chain: none was made over the cut.
    let file = newest(&anchors).unwrap();
    assert!(
        anchored_head(&file, "security") >= head,
        "{} anchors the cut trail",
        file.display()
    );
}

/// The URL of `url`'s database for another role (trust authentication in the tests).
pub(crate) fn as_role(url: &str, role: &str) -> String {
    let (scheme, rest) = url.split_once("://").unwrap();
    let host = rest.rsplit_once('@').map_or(rest, |(_, host)| host);
    format!("{scheme}://{role}@{host}")
}

/// PostgreSQL: a connection of a role that is not the tables' owner, even one granted DELETE
/// on the trail (a wrong grant), cannot purge by setting the session setting the purge once
/// used, nor call the purge function it was not granted.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_application_connection_cannot_purge_by_setting_the_permit() {
    let app = TestApp::spawn(Backend::Postgres).await;
    transfer_flow(&app).await;
    app.services.store.seal_audit().await.unwrap();
    let role = format!("bt_app_{}", uuid::Uuid::new_v4().simple());
    let mut admin = app.raw_sql().await;
    for statement in [
        format!("CREATE ROLE {role} LOGIN"),
        format!("GRANT USAGE ON SCHEMA public TO {role}"),
        format!("GRANT SELECT, INSERT, DELETE ON audit_events, audit_chain TO {role}"),
    ] {
        admin.execute(sqlx::AssertSqlSafe(statement)).await.unwrap();
    }
    // The server keeps writing events meanwhile (the transfer settles), so compare the events
    // that were there, not a count.
    let ids = "SELECT id FROM audit_events";
    let before: Vec<(String,)> = sqlx::query_as(ids).fetch_all(&mut admin).await.unwrap();
    assert!(!before.is_empty());
    let mut attacker = sqlx::AnyConnection::connect(&as_role(&app.env.database_url, &role))
        .await
        .unwrap();
    attacker
        .execute("SELECT set_config('benteng.audit_purge_until', '9223372036854775807', false)")
        .await
        .unwrap();
    for statement in ["DELETE FROM audit_events", "DELETE FROM audit_chain"] {
        let error = attacker
            .execute(statement)
            .await
            .expect_err(statement)
            .to_string();
        assert!(error.contains("append-only"), "{statement}: {error}");
    }
    let error = attacker
        .execute("SELECT audit_purge('security', 1, 'x', 'x', 9223372036854775807)")
        .await
        .expect_err("the purge function")
        .to_string();
    assert!(error.contains("permission denied"), "{error}");
    drop(attacker);
    let after: Vec<(String,)> = sqlx::query_as(ids).fetch_all(&mut admin).await.unwrap();
    let after: std::collections::HashSet<String> = after.into_iter().map(|(id,)| id).collect();
    let gone = before.iter().filter(|(id,)| !after.contains(id)).count();
    assert_eq!(gone, 0, "events deleted by the application's connection");
    let (ok, out, err) = verify_with(&app, None).await;
    assert!(ok, "{out}{err}");
    for statement in [format!("DROP OWNED BY {role}"), format!("DROP ROLE {role}")] {
        admin.execute(sqlx::AssertSqlSafe(statement)).await.unwrap();
    }
}
