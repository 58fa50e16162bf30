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

const IBAN: &str = "DE89370400440532013000";

fn harness_dir() -> PathBuf {
    workspace_root().join("crates/benteng/tests/fapi-node")
}

/// The client the outside library plays: its id, `kid`, PKCS#8 key (base64url) and algorithm,
/// and the algorithm of its DPoP key.
struct Played {
    client_id: String,
    kid: &'static str,
    pkcs8: String,
    alg: &'static str,
    dpop_alg: &'static str,
}

fn es256(s: &Setup) -> Played {
    Played {
        client_id: s.tpp.id.clone(),
        kid: "tpp-1",
        pkcs8: s.tpp.pkcs8(),
        alg: "ES256",
        dpop_alg: "ES256",
    }
}

/// Registers a second client with an RSA key (PS256); its DPoP key is Ed25519 (EdDSA).
async fn ps256(s: &Setup) -> Played {
    let key = benteng_crypto::jws::RsaSigningKey::generate().unwrap();
    let jwk = key.public_jwk("rsa-1", benteng_crypto::jws::JwsAlg::Ps256);
    s.app
        .services
        .fapi
        .register_client(
            benteng_auth::fapi::NewClient {
                client_id: "tpp-eu-rsa".into(),
                name: "EU TPP (RSA)".into(),
                jwks: serde_json::json!({"keys": [jwk]}),
                redirect_uris: vec![REDIRECT.into()],
                scopes: "transfers:read transfers:write".into(),
                profile: "fapi2".into(),
                token_auth: "private_key_jwt".into(),
                sender_constraint: "dpop".into(),
            },
            &benteng_core::audit::AuditContext::system("test"),
        )
        .await
        .unwrap();
    Played {
        client_id: "tpp-eu-rsa".into(),
        kid: "rsa-1",
        pkcs8: benteng_crypto::jws::b64url(&key.to_pkcs8().unwrap()),
        alg: "PS256",
        dpop_alg: "EdDSA",
    }
}

/// Runs the outside client against `s`; answers (success, stdout, stderr).
async fn run_node(s: &Setup, played: &Played, recipient: &str) -> (bool, String, String) {
    assert!(
        harness_dir().join("node_modules/oauth4webapi").exists(),
        "run `npm ci` in crates/benteng/tests/fapi-node (scripts/test does)"
    );
    let quote = quote(
        &s.app,
        &s.key,
        "source_currency=IDR&target_currency=EUR&source_amount=250000.00",
    )
    .await;
    let body = transfer_body(&quote, recipient, "FAPI-NODE-1").to_string();
    let output = tokio::process::Command::new("node")
        .arg("flow.mjs")
        .current_dir(harness_dir())
        .env(
            "NODE_EXTRA_CA_CERTS",
            s.app.environment().dev_certs().ca_cert,
        )
        .env("FAPI_ISSUER", s.app.url(""))
        .env("FAPI_REDIRECT_URI", REDIRECT)
        .env("FAPI_CLIENT_ID", &played.client_id)
        .env("FAPI_CLIENT_KID", played.kid)
        .env("FAPI_CLIENT_KEY_PKCS8", base64_of(&played.pkcs8))
        .env("FAPI_CLIENT_ALG", played.alg)
        .env("FAPI_DPOP_ALG", played.dpop_alg)
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
    let payee = recipient(&broken.app, &broken.key, IBAN).await;
    let (ok, out, err) = run_node(&broken, &es256(&broken), &payee).await;
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
    let rsa = ps256(&s).await;
    let payee = recipient(&s.app, &s.key, IBAN).await;
    for played in [es256(&s), rsa] {
        let (ok, out, err) = run_node(&s, &played, &payee).await;
        assert!(ok, "node failed ({}):\n{out}\n{err}", played.alg);
        let outcome: Value = serde_json::from_str(out.trim()).unwrap();
        assert_eq!(outcome["scope"], "transfers:read transfers:write");
        assert_eq!(outcome["client_alg"], played.alg);
        assert_eq!(outcome["dpop_alg"], played.dpop_alg);
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
    // Both clients' tokens were issued, bound to their DPoP keys.
    use sqlx::Row;
    let mut conn = s.app.raw_sql().await;
    let clients: Vec<String> = sqlx::query("SELECT client_id FROM fapi_tokens ORDER BY client_id")
        .fetch_all(&mut conn)
        .await
        .unwrap()
        .iter()
        .map(|r| r.get::<String, _>("client_id"))
        .collect();
    assert_eq!(clients, ["tpp-eu-1", "tpp-eu-rsa"]);
}

on_both_backends!(oauth4webapi_completes_the_fapi2_flow_and_pays);
