//! SNAP (Standar Nasional Open API Pembayaran, Bank Indonesia) protocol library.
//!
//! Pure functions and types, no HTTP framework, no database: the server's authentication layer
//! feeds raw request parts in and renders [`SnapError`]s out. Rules follow
//! `docs/DECISIONS.md` → Authentication → SNAP (the published standard, not the spec's
//! shortened formula).
//!
//! Server side, per request:
//! 1. token endpoint: [`check_token_headers`] → look up the key by `client_key` →
//!    [`verify_token_request`] → [`check_token_request_body`] → issue → [`token_response_body`];
//! 2. transactional endpoint: [`bearer_token`] → check the token (401xx01/03) →
//!    [`verify_request`] → check `partner_id` against the token's client → insert-if-absent
//!    `external_id_scope.key()` for `ttl` (repeat → [`SnapError::conflict`]);
//! 3. every failure: `err.http_status` and `err.body(service_code)`.
//!
//! Client side: [`SnapSigner`], [`NotificationSigner`], [`TokenRequestSigner`].
//!
//! ```
//! use benteng_snap::*;
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let now = time::OffsetDateTime::now_utc();
//! let req = RequestParts {
//!     method: "POST",
//!     path: "/v1.0/transfer-interbank",
//!     query: None,
//!     body: br#"{ "partnerReferenceNo": "1" }"#,
//!     access_token: "tok",
//! };
//! // The partner signs…
//! let key = SigningKey::Symmetric { client_secret: ClientSecret::new(b"secret")? };
//! let signed = SnapSigner::new("P1", "95221", UrlMode::PathAndQuery, key)?.sign(&req)?;
//! let headers = signed.pairs();
//! let get = |name: &str| {
//!     headers.iter().find(|(n, _)| n.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_bytes())
//! };
//! // …and the server verifies.
//! let secret = ClientSecret::new(b"secret")?;
//! let ok = verify_request(&req, get, PartnerCredential::Symmetric(&secret), now,
//!                         &VerifyOptions::default())?;
//! assert_eq!(ok.partner_id, "P1");
//! let err = SnapError::conflict();
//! assert_eq!(err.body(ServiceCode::TRANSFER_INTERBANK),
//!            r#"{"responseCode":"4091800","responseMessage":"Conflict"}"#);
//! # Ok(())
//! # }
//! ```

pub mod canon;
pub mod crypto;
pub mod error;
pub mod headers;
pub mod signer;
pub mod sts;
pub mod verify;

pub use canon::{UrlMode, body_hash, minify, relative_url};
pub use crypto::{ClientSecret, KeyError, PartnerPublicKey, SnapPrivateKey};
pub use error::{ServiceCode, SnapCode, SnapError, response_body};
pub use headers::{
    CLOCK_SKEW_MARGIN, DEFAULT_TOLERANCE, ExternalIdScope, ReplayGuard, TokenHeaders,
    TransactionHeaders, bearer_token, check_token_headers, check_transaction_headers, lookup_in,
    parse_timestamp,
};
pub use signer::{
    NotificationSigner, SignedHeaders, SigningKey, SnapSigner, TOKEN_REQUEST_BODY,
    TokenRequestHeaders, TokenRequestSigner, fresh_external_id,
};
pub use verify::{
    DEFAULT_TOKEN_TTL, PartnerCredential, RequestParts, TOKEN_PATH, VerifiedRequest, VerifyOptions,
    check_token_request_body, token_response_body, verify_request, verify_token_request,
    verify_token_signature,
};
