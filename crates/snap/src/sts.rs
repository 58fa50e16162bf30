//! String-to-sign builders. Inputs are already canonical (see [`crate::canon`]); the timestamp
//! goes in exactly as sent in `X-TIMESTAMP`, because the other side signed those characters.

/// Symmetric transactional string:
/// `METHOD:RelativeUrl:AccessToken:bodyhash:X-TIMESTAMP` (signed with HMAC-SHA512).
///
/// `access_token` is the raw token, without `Bearer `. `method` is upper-cased here so a
/// lower-case method from a framework still matches what the sender signed.
pub fn symmetric(
    method: &str,
    relative_url: &str,
    access_token: &str,
    body_hash: &str,
    timestamp: &str,
) -> String {
    let method = method.to_ascii_uppercase();
    let mut s = String::with_capacity(
        method.len()
            + relative_url.len()
            + access_token.len()
            + body_hash.len()
            + timestamp.len()
            + 4,
    );
    for (n, part) in [
        method.as_str(),
        relative_url,
        access_token,
        body_hash,
        timestamp,
    ]
    .iter()
    .enumerate()
    {
        if n > 0 {
            s.push(':');
        }
        s.push_str(part);
    }
    s
}

/// Asymmetric transactional and notification string:
/// `METHOD:RelativeUrl:bodyhash:X-TIMESTAMP` (signed SHA256withRSA). No token: notifications
/// are sent without one, and asymmetric providers (DANA) leave it out.
pub fn asymmetric(method: &str, relative_url: &str, body_hash: &str, timestamp: &str) -> String {
    format!(
        "{}:{relative_url}:{body_hash}:{timestamp}",
        method.to_ascii_uppercase()
    )
}

/// B2B token string: `client_id|X-TIMESTAMP` (signed SHA256withRSA).
pub fn token(client_id: &str, timestamp: &str) -> String {
    format!("{client_id}|{timestamp}")
}
