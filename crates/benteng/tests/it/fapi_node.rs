//! The done-when test of FAPI 2.0: an independent client, npm `oauth4webapi` run by node
//! (tests/fapi-node/flow.mjs), completes PAR (signed request object, PKCE S256) +
//! private_key_jwt + DPoP + JARM against benteng, the consent given by a tenant user through
//! the real page, and creates a transfer with the DPoP-bound token. Negative control first:
//! the same harness against a server that names the wrong issuer must fail.

use std::path::PathBuf;

use reqwest::StatusCode;
use serde_json::Value;

use crate::fapi::{REDIRECT, Setup, setup_with};
use crate::harness::{Backend, on_both_backends, workspace_root};
use crate::payments::{quote, recipient, transfer_body};
use crate::people::PASSWORD;

fn harness_dir() -> PathBuf {
    workspace_root().join("crates/benteng/tests/fapi-node")
}

/// Runs the outside client against `s`; answers (success, stdout, stderr).
async fn run_node(s: &Setup) -> (bool, String, String) {
    assert!(
        harness_dir().join("node_modules/oauth4webapi").exists(),
        "run `npm ci` in crates/benteng/tests/fapi-node (scripts/test does)"
    );
    let recipient = recipient(&s.app, &s.key, "DE89370400440532013000").await;
    let quote = quote(
        &s.app,
        &s.key,
        "source_currency=IDR&target_currency=EUR&source_amount=250000.00",
    )
    .await;
    let body = transfer_body(&quote, &recipient, "FAPI-NODE-1").to_string();
    let output = tokio::process::Command::new("node")
        .arg("flow.mjs")
        .current_dir(harness_dir())
        .env(
            "NODE_EXTRA_CA_CERTS",
            s.app.environment().dev_certs().ca_cert,
        )
        .env("FAPI_ISSUER", s.app.url(""))
        .env("FAPI_REDIRECT_URI", REDIRECT)
        .env("FAPI_CLIENT_ID", &s.tpp.id)
        .env("FAPI_CLIENT_KID", "tpp-1")
        .env("FAPI_CLIENT_KEY_PKCS8", base64_of(&s.tpp.pkcs8()))
        .env("FAPI_SCOPE", "transfers:read transfers:write")
        .env("FAPI_USER_LOGIN", &s.user.login)
        .env("FAPI_USER_PASSWORD", PASSWORD)
        .env("FAPI_USER_CODE", s.next_second_factor())
        .env("FAPI_TRANSFER_BODY", body)
        .output()
        .await
        .expect("node runs");
    (
        output.status.success(),
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

/// base64url → standard base64 (what node's `Buffer.from(…, 'base64')` reads).
fn base64_of(b64url: &str) -> String {
    let mut text: String = b64url
        .chars()
        .map(|c| match c {
            '-' => '+',
            '_' => '/',
            other => other,
        })
        .collect();
    while !text.len().is_multiple_of(4) {
        text.push('=');
    }
    text
}

async fn oauth4webapi_completes_the_fapi2_flow_and_pays(backend: Backend) {
    // Negative control: a server whose metadata and JARM name another issuer than the one the
    // client reached. The harness must refuse it, or a green run would prove nothing.
    let broken = setup_with(backend, Some("https://127.0.0.1:9".into())).await;
    let (ok, out, err) = run_node(&broken).await;
    assert!(
        !ok,
        "the harness accepted a server with the wrong issuer: {out}"
    );
    assert!(err.contains("issuer"), "{err}");
    eprintln!(
        "negative control refused as expected: {}",
        err.lines()
            .find(|l| l.contains("issuer"))
            .unwrap_or_default()
    );
    drop(broken);

    let s = setup_with(backend, None).await;
    let (ok, out, err) = run_node(&s).await;
    assert!(ok, "node failed:\n{out}\n{err}");
    let outcome: Value = serde_json::from_str(out.trim()).unwrap();
    assert_eq!(outcome["scope"], "transfers:read transfers:write");
    let id = outcome["transfer_id"].as_str().unwrap();
    // The transfer is the consenting user's tenant's.
    let mine = s
        .app
        .get(&format!("/v1/transfers/{id}"), Some(&s.key))
        .await;
    assert_eq!(mine.status(), StatusCode::OK);
    let mine: Value = mine.json().await.unwrap();
    assert_eq!(mine["reference"], "FAPI-NODE-1");
}

on_both_backends!(oauth4webapi_completes_the_fapi2_flow_and_pays);
