//! Client side: signing the calls benteng makes to SNAP counterparties, the notifications it
//! sends, and its own B2B token requests.

use time::OffsetDateTime;

use crate::canon::{self, UrlMode};
use crate::crypto::{ClientSecret, SnapPrivateKey};
use crate::error::SnapError;
use crate::headers::{self, AUTHORIZATION, CHANNEL_ID, X_CLIENT_KEY, X_EXTERNAL_ID, X_PARTNER_ID};
use crate::headers::{X_SIGNATURE, X_TIMESTAMP};
use crate::sts;
use crate::verify::RequestParts;

/// Token request body the standard prescribes.
pub const TOKEN_REQUEST_BODY: &str = r#"{"grantType":"client_credentials"}"#;

/// How a counterparty wants our transactional requests signed.
#[derive(Debug)]
pub enum SigningKey {
    /// HMAC-SHA512 with the client secret it issued us; string includes the access token.
    Symmetric {
        /// Secret issued to us by the counterparty.
        client_secret: ClientSecret,
    },
    /// SHA256withRSA with our private key; string without the access token.
    Asymmetric {
        /// Our key; the counterparty holds the public half.
        private_key: SnapPrivateKey,
    },
}

/// Headers to put on an outbound request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SignedHeaders {
    /// `X-TIMESTAMP`, `yyyy-MM-ddTHH:mm:ss+07:00`.
    pub timestamp: String,
    /// `X-SIGNATURE`.
    pub signature: String,
    /// `X-PARTNER-ID`.
    pub partner_id: String,
    /// `X-EXTERNAL-ID`.
    pub external_id: String,
    /// `CHANNEL-ID`.
    pub channel_id: String,
    /// `Authorization: Bearer …` when a token was given.
    pub authorization: Option<String>,
}

impl SignedHeaders {
    /// As `(name, value)` pairs, ready for an HTTP client.
    pub fn pairs(&self) -> Vec<(&'static str, String)> {
        let mut out = vec![
            (X_TIMESTAMP, self.timestamp.clone()),
            (X_SIGNATURE, self.signature.clone()),
            (X_PARTNER_ID, self.partner_id.clone()),
            (X_EXTERNAL_ID, self.external_id.clone()),
            (CHANNEL_ID, self.channel_id.clone()),
        ];
        if let Some(a) = &self.authorization {
            out.push((AUTHORIZATION, a.clone()));
        }
        out
    }
}

/// A fresh `X-EXTERNAL-ID`: 32 random decimal digits (≈106 bits). Numeric because the standard
/// says "Numeric String" and some banks enforce it; it also passes alphanumeric validators.
pub fn fresh_external_id() -> Result<String, SnapError> {
    use benteng_crypto::ExposeSecret;
    benteng_crypto::random_string(b"0123456789", 32)
        .map(|s| s.expose_secret().to_owned())
        .map_err(|_| SnapError::internal_server_error().with_detail("random source failed"))
}

/// Signs our requests to one counterparty.
#[derive(Debug)]
pub struct SnapSigner {
    partner_id: String,
    channel_id: String,
    url_mode: UrlMode,
    key: SigningKey,
}

impl SnapSigner {
    /// `partner_id` is our id at the counterparty (`X-PARTNER-ID`), `channel_id` the
    /// `CHANNEL-ID` it assigned. Both are validated here so a bad config fails at start.
    pub fn new(
        partner_id: &str,
        channel_id: &str,
        url_mode: UrlMode,
        key: SigningKey,
    ) -> Result<Self, SnapError> {
        headers::validate_partner_id(partner_id)?;
        headers::validate_channel_id(channel_id)?;
        Ok(Self {
            partner_id: partner_id.to_owned(),
            channel_id: channel_id.to_owned(),
            url_mode,
            key,
        })
    }

    /// Signs `request` now, with a fresh external id.
    pub fn sign(&self, request: &RequestParts<'_>) -> Result<SignedHeaders, SnapError> {
        self.sign_at(request, OffsetDateTime::now_utc(), &fresh_external_id()?)
    }

    /// Signs `request` at a given time with a given external id (deterministic, for retries
    /// that must reuse an id and for tests). The body must be sent byte-for-byte as given.
    pub fn sign_at(
        &self,
        request: &RequestParts<'_>,
        now: OffsetDateTime,
        external_id: &str,
    ) -> Result<SignedHeaders, SnapError> {
        headers::validate_external_id(external_id)?;
        let timestamp = headers::format_timestamp(now);
        let body_hash = canon::body_hash(request.body)?;
        let url = canon::relative_url(request.path, request.query, self.url_mode)?;
        let signature = match &self.key {
            SigningKey::Symmetric { client_secret } => client_secret.sign(
                sts::symmetric(
                    request.method,
                    &url,
                    request.access_token,
                    &body_hash,
                    &timestamp,
                )
                .as_bytes(),
            ),
            SigningKey::Asymmetric { private_key } => private_key
                .sign(sts::asymmetric(request.method, &url, &body_hash, &timestamp).as_bytes())?,
        };
        Ok(SignedHeaders {
            timestamp,
            signature,
            partner_id: self.partner_id.clone(),
            external_id: external_id.to_owned(),
            channel_id: self.channel_id.clone(),
            authorization: (!request.access_token.is_empty())
                .then(|| format!("Bearer {}", request.access_token)),
        })
    }
}

/// Signs the notifications (webhooks) we send: SHA256withRSA over
/// `METHOD:RelativeUrl:bodyhash:X-TIMESTAMP`, no token.
#[derive(Debug)]
pub struct NotificationSigner {
    inner: SnapSigner,
}

impl NotificationSigner {
    /// `partner_id` is the `X-PARTNER-ID` we send as (our id at the receiver).
    pub fn new(
        partner_id: &str,
        channel_id: &str,
        url_mode: UrlMode,
        private_key: SnapPrivateKey,
    ) -> Result<Self, SnapError> {
        let key = SigningKey::Asymmetric { private_key };
        Ok(Self {
            inner: SnapSigner::new(partner_id, channel_id, url_mode, key)?,
        })
    }

    /// Signs a notification now with a fresh external id.
    pub fn sign(
        &self,
        method: &str,
        path: &str,
        query: Option<&str>,
        body: &[u8],
    ) -> Result<SignedHeaders, SnapError> {
        self.sign_at(
            method,
            path,
            query,
            body,
            OffsetDateTime::now_utc(),
            &fresh_external_id()?,
        )
    }

    /// Deterministic variant of [`Self::sign`].
    pub fn sign_at(
        &self,
        method: &str,
        path: &str,
        query: Option<&str>,
        body: &[u8],
        now: OffsetDateTime,
        external_id: &str,
    ) -> Result<SignedHeaders, SnapError> {
        let parts = RequestParts {
            method,
            path,
            query,
            body,
            access_token: "",
        };
        self.inner.sign_at(&parts, now, external_id)
    }
}

/// Headers of our B2B token request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TokenRequestHeaders {
    /// `X-CLIENT-KEY` (our client id).
    pub client_key: String,
    /// `X-TIMESTAMP`.
    pub timestamp: String,
    /// `X-SIGNATURE` = base64(SHA256withRSA(`client_id|X-TIMESTAMP`)).
    pub signature: String,
}

impl TokenRequestHeaders {
    /// As `(name, value)` pairs (add `Content-Type: application/json`; body
    /// [`TOKEN_REQUEST_BODY`]).
    pub fn pairs(&self) -> Vec<(&'static str, String)> {
        vec![
            (X_CLIENT_KEY, self.client_key.clone()),
            (X_TIMESTAMP, self.timestamp.clone()),
            (X_SIGNATURE, self.signature.clone()),
        ]
    }
}

/// Signs our B2B token requests to one counterparty.
#[derive(Debug)]
pub struct TokenRequestSigner {
    client_id: String,
    private_key: SnapPrivateKey,
}

impl TokenRequestSigner {
    /// `client_id` as issued by the counterparty.
    pub fn new(client_id: &str, private_key: SnapPrivateKey) -> Result<Self, SnapError> {
        headers::validate_client_key(client_id)?;
        Ok(Self {
            client_id: client_id.to_owned(),
            private_key,
        })
    }

    /// Signs now.
    pub fn sign(&self) -> Result<TokenRequestHeaders, SnapError> {
        self.sign_at(OffsetDateTime::now_utc())
    }

    /// Signs at `now`.
    pub fn sign_at(&self, now: OffsetDateTime) -> Result<TokenRequestHeaders, SnapError> {
        let timestamp = headers::format_timestamp(now);
        self.sign_with_timestamp(&timestamp)
    }

    /// Signs with an exact timestamp string (counterparties that want UTC `Z` or milliseconds).
    pub fn sign_with_timestamp(&self, timestamp: &str) -> Result<TokenRequestHeaders, SnapError> {
        headers::parse_timestamp(timestamp)?;
        let signature = self
            .private_key
            .sign(sts::token(&self.client_id, timestamp).as_bytes())?;
        Ok(TokenRequestHeaders {
            client_key: self.client_id.clone(),
            timestamp: timestamp.to_owned(),
            signature,
        })
    }
}
