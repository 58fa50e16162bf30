// Fixture for benteng-logged-secret (`semgrep --test .semgrep/rules`).
use tracing::{info, warn};

fn bad(body: &[u8], password: &SecretString, token: &str, request: &Request, key: &ApiKey) {
    // ruleid: benteng-logged-secret
    tracing::info!(body = %String::from_utf8_lossy(body), "request received");
    // ruleid: benteng-logged-secret
    info!(%token, "token issued");
    // ruleid: benteng-logged-secret
    warn!(?password, "login failed");
    // ruleid: benteng-logged-secret
    tracing::debug!(body = ?request.body, "parsed");
    // ruleid: benteng-logged-secret
    tracing::error!("refused request {}", request.body);
    // ruleid: benteng-logged-secret
    tracing::warn!("bad signature over {payload:?}");
    // ruleid: benteng-logged-secret
    tracing::info!(secret = key.secret.expose_secret(), "issued");
    // ruleid: benteng-logged-secret
    tracing::info!(key = %key.expose_secret(), "issued");
    // ruleid: benteng-logged-secret
    let span = tracing::info_span!("recipient", iban = %iban);
}

fn good(body: &[u8], token_id: Uuid, request: &Request) {
    // ok: benteng-logged-secret
    tracing::info!(size = body.len(), "request received");
    // ok: benteng-logged-secret
    info!(%token_id, "token issued");
    // ok: benteng-logged-secret
    warn!("login failed: wrong password");
    // ok: benteng-logged-secret
    tracing::warn!(error = %error, "token endpoint refused the request");
    // ok: benteng-logged-secret
    tracing::info!(last4 = %account.last4(), "recipient added");
    // ok: benteng-logged-secret
    println!("{}", issued.key.expose_secret());
}
