//! The tenant-API clients (`clients/python`, `clients/typescript`) run their own test suites
//! against a live server: the README walk-through's payment, refusals as typed errors, and
//! mTLS. Each language gets tenants of its own, made here as the other tests make theirs, and
//! reads them from the environment (see the docstring of each client's `live` tests). Their
//! retry and idempotency tests run against a stub inside the same suites.

use std::path::{Path, PathBuf};
use std::process::Output;
use std::time::{Duration, Instant};

use benteng_core::audit::AuditContext;
use benteng_core::currency::Currency;
use benteng_core::kyc::KycLevel;
use benteng_core::tenant::Tier;
use reqwest::StatusCode;

use crate::harness::{Backend, TestApp, on_both_backends, workspace_root};
use crate::payments::fund;
use crate::tls::client_cert;

const IBAN: &str = "DE89370400440532013000";

fn python_dir() -> PathBuf {
    workspace_root().join("clients/python")
}

fn typescript_dir() -> PathBuf {
    workspace_root().join("clients/typescript")
}

/// What a client's live tests read: the server, a funded tenant at KYC level standard, and a
/// second tenant that requires mTLS with its registered certificate (named `name`).
async fn live_environment(app: &TestApp, name: &str) -> Vec<(&'static str, String)> {
    let context = AuditContext::system("test");
    let tenant = app.tenant(Tier::Growth).await;
    app.set_kyc_level(tenant.id, KycLevel::Standard).await;
    fund(app, tenant.id, "2000000.00", Currency::IDR).await;
    let key = app.key(tenant.id).await;

    let (mtls, mtls_key) = app.tenant_with_key().await;
    let (cert, cert_key) = client_cert(&app.env, name);
    app.services
        .operations()
        .add_certificate(mtls.id, &std::fs::read(&cert).unwrap(), &context)
        .await
        .expect("register the client certificate");
    app.services
        .store
        .set_tenant_require_mtls(mtls.id, true, &context)
        .await
        .expect("require mTLS");
    // What the CLI's `tenant require-mtls` does next: every instance's key cache refreshes.
    app.services
        .api_keys
        .tenant_changed(mtls.id)
        .await
        .expect("refresh the cached keys");
    refused_without_certificate(app, &mtls_key).await;

    let ca = app.environment().dev_certs().ca_cert;
    vec![
        ("BENTENG_URL", app.url("")),
        ("BENTENG_CA_FILE", path(&ca)),
        ("BENTENG_API_KEY", key),
        ("BENTENG_IBAN", IBAN.to_owned()),
        ("BENTENG_MTLS_API_KEY", mtls_key),
        ("BENTENG_MTLS_TENANT_ID", mtls.id.to_string()),
        ("BENTENG_CLIENT_CERT", path(&cert)),
        ("BENTENG_CLIENT_KEY", path(&cert_key)),
    ]
}

/// Waits until the server applies the mTLS requirement (its tenant cache follows the store
/// within about a second), so the clients' tests see it from their first request.
async fn refused_without_certificate(app: &TestApp, key: &str) {
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let status = app.get("/v1/tenant", Some(key)).await.status();
        if status == StatusCode::FORBIDDEN {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "still {status} without a certificate"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

fn path(path: &Path) -> String {
    path.to_str().expect("UTF-8 path").to_owned()
}

/// A client's test command with the live environment and nothing that would widen its trust
/// (the tests check that the system roots alone refuse the dev CA).
fn command(program: &str, dir: &Path, env: &[(&'static str, String)]) -> tokio::process::Command {
    let mut command = tokio::process::Command::new(program);
    command
        .current_dir(dir)
        .env_remove("NODE_EXTRA_CA_CERTS")
        .env_remove("SSL_CERT_FILE")
        .env_remove("SSL_CERT_DIR")
        .envs(env.iter().map(|(name, value)| (*name, value.as_str())));
    command
}

fn said(output: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

async fn python_client_passes_its_tests_against_the_server(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let env = live_environment(&app, "python-client").await;
    let output = command("python3", &python_dir(), &env)
        .args(["-m", "unittest", "-v"])
        .output()
        .await
        .expect("python3 runs");
    let said = said(&output);
    assert!(
        output.status.success(),
        "the Python client's tests:\n{said}"
    );
    // unittest ends with `OK`, or `OK (skipped=N)` when the live tests did not see the server.
    assert!(said.trim_end().ends_with("\nOK"), "{said}");
    assert!(said.contains("test_the_walkthrough_payment"), "{said}");
}

async fn typescript_client_passes_its_tests_against_the_server(backend: Backend) {
    let dir = typescript_dir();
    assert!(
        dir.join("node_modules/typescript").exists(),
        "run `npm ci` in clients/typescript (scripts/test does)"
    );
    // Compiled into a directory of this test's own: the backends' runs go in parallel.
    let out = tempfile::tempdir().expect("temp dir");
    let compiled = command("node", &dir, &[])
        .args(["node_modules/typescript/bin/tsc", "-p", "tsconfig.json"])
        .arg("--outDir")
        .arg(out.path())
        .output()
        .await
        .expect("node runs tsc");
    assert!(compiled.status.success(), "tsc:\n{}", said(&compiled));

    let app = TestApp::spawn(backend).await;
    let env = live_environment(&app, "typescript-client").await;
    let tests = out.path().join("test");
    let output = command("node", &dir, &env)
        .arg("--test")
        .arg(tests.join("retries.test.mjs"))
        .arg(tests.join("live.test.mjs"))
        .output()
        .await
        .expect("node runs");
    let said = said(&output);
    assert!(
        output.status.success(),
        "the TypeScript client's tests:\n{said}"
    );
    assert!(said.contains("\n# fail 0\n"), "{said}");
    // A suite skipped for want of the server would still pass.
    assert!(!said.contains("# SKIP"), "{said}");
    assert!(
        said.contains("ok 1 - makes the walk-through's payment"),
        "{said}"
    );
}

on_both_backends!(
    python_client_passes_its_tests_against_the_server,
    typescript_client_passes_its_tests_against_the_server,
);
