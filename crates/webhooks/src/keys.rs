//! The webhook signing keys: each generation is an RSA 3072 key (RS256, PS256) and a P-256 key
//! (ES256), private halves sealed under the KEK (the vault's `private_key` data key), public
//! halves published as a JWKS.
//!
//! Timeline of a key (see docs/webhooks.md): published in the JWKS when created; signs from
//! `signs_from`, 14 days later (the very first key signs at once: nobody can have cached an
//! older set); stops signing when its successor starts; leaves the JWKS 14 days after that.
//! A new key is made every 90 days (76 days after the current one started signing, so it has
//! its 14 days of publication before it takes over), by the worker's schedule or
//! `benteng keys rotate --purpose webhook`. A generation made before ES256 existed has no
//! P-256 half: the schedule makes its successor at once, and ES256 signs when that one does.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use benteng_core::audit::{AuditContext, AuditEvent, Retention};
use benteng_core::clock::Clock;
use benteng_core::webhooks::{KEY_OVERLAP, KEY_PERIOD};
use benteng_crypto::jose::EcSigningKey;
use benteng_crypto::jws::{JwsAlg, RsaSigningKey, sign_compact_es256};
use benteng_store::{SigningKeyRow, Store, StoreError};
use benteng_vault::{Aad, KeyPurpose, Keyring};
use serde_json::{Value, json};
use time::OffsetDateTime;

use crate::WebhookError;

/// A key's place in its timeline at a given moment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyState {
    pub kid: String,
    pub generation: i64,
    pub created_at: OffsetDateTime,
    pub signs_from: OffsetDateTime,
    /// When its successor starts signing (it stops), if one exists.
    pub superseded_at: Option<OffsetDateTime>,
    /// `published` (not signing yet), `signing`, `retiring` (published, no longer signing),
    /// `retired` (no longer published).
    pub state: &'static str,
}

impl KeyState {
    pub fn published(&self) -> bool {
        self.state != "retired"
    }

    /// When it leaves the JWKS.
    pub fn unpublished_at(&self) -> Option<OffsetDateTime> {
        self.superseded_at.map(|at| at + KEY_OVERLAP)
    }
}

/// Where each key is in its timeline at `now` (the shared rotation timeline). `rows` oldest
/// first.
pub fn timeline(rows: &[SigningKeyRow], now: OffsetDateTime) -> Vec<KeyState> {
    let signs_from: Vec<OffsetDateTime> = rows.iter().map(|r| r.signs_from).collect();
    rows.iter()
        .zip(benteng_core::rotation::timeline(
            &signs_from,
            now,
            KEY_OVERLAP,
        ))
        .map(|(row, place)| KeyState {
            kid: row.kid.clone(),
            generation: row.generation,
            created_at: row.created_at,
            signs_from: row.signs_from,
            superseded_at: place.superseded_at,
            state: place.phase.as_str(),
        })
        .collect()
}

/// The kid a signature names: the generation's own for RS256; for PS256 the same RSA key,
/// published a second time with `alg` PS256, so every JWK names exactly one algorithm; for
/// ES256 the generation's P-256 key.
pub fn kid_for(kid: &str, alg: JwsAlg) -> String {
    match alg {
        JwsAlg::Rs256 => kid.to_owned(),
        JwsAlg::Ps256 => format!("{kid}.ps256"),
        JwsAlg::Es256 => format!("{kid}.es256"),
    }
}

fn aad(kid: &str) -> Aad<'_> {
    Aad::new("platform", "webhook_signing_keys", "sealed_private", kid)
}

fn ec_aad(kid: &str) -> Aad<'_> {
    Aad::new("platform", "webhook_signing_keys", "ec_sealed_private", kid)
}

/// One generation's private keys, unsealed: RSA signs RS256 and PS256 (and SNAP's
/// notifications), P-256 signs ES256.
pub struct GenerationSigner {
    pub kid: String,
    pub rsa: RsaSigningKey,
    pub p256: Option<EcSigningKey>,
}

impl GenerationSigner {
    /// A compact JWS of `payload` (the exact bytes sent) with `alg`, naming the kid its key is
    /// published under.
    pub fn sign_compact(
        &self,
        alg: JwsAlg,
        iat: i64,
        payload: &[u8],
    ) -> Result<String, WebhookError> {
        let kid = kid_for(&self.kid, alg);
        let signed = match alg {
            JwsAlg::Es256 => {
                let key = self.p256.as_ref().ok_or(WebhookError::NoEs256Key)?;
                sign_compact_es256(key, &kid, iat, payload)
            }
            JwsAlg::Rs256 | JwsAlg::Ps256 => self.rsa.sign_compact(alg, &kid, iat, payload),
        };
        signed.map_err(|e| WebhookError::Key(e.to_string()))
    }
}

pub struct SigningKeys {
    store: Store,
    keyring: Arc<Keyring>,
    clock: Arc<dyn Clock>,
    unsealed: Mutex<HashMap<String, Arc<GenerationSigner>>>,
}

impl SigningKeys {
    pub fn new(store: Store, keyring: Arc<Keyring>, clock: Arc<dyn Clock>) -> Self {
        Self {
            store,
            keyring,
            clock,
            unsealed: Mutex::new(HashMap::new()),
        }
    }

    pub fn now(&self) -> OffsetDateTime {
        self.clock.now()
    }

    pub async fn timeline(&self) -> Result<Vec<KeyState>, WebhookError> {
        Ok(timeline(
            &self.store.webhook_signing_keys().await?,
            self.clock.now(),
        ))
    }

    /// The JWKS: every published key, once per algorithm (RSA twice, P-256 once). Public
    /// members only.
    pub async fn jwks(&self) -> Result<Value, WebhookError> {
        let rows = self.store.webhook_signing_keys().await?;
        let now = self.clock.now();
        let mut keys = Vec::new();
        for (row, state) in rows.iter().zip(timeline(&rows, now)) {
            if !state.published() || row.created_at > now {
                continue;
            }
            let jwk: Value = serde_json::from_str(&row.public_jwk)
                .map_err(|_| WebhookError::Store(StoreError::Corrupt("public_jwk".to_owned())))?;
            for alg in [JwsAlg::Rs256, JwsAlg::Ps256] {
                let mut entry = jwk.clone();
                entry["alg"] = alg.as_str().into();
                entry["kid"] = kid_for(&row.kid, alg).into();
                keys.push(entry);
            }
            if let Some(ec) = &row.ec_public_jwk {
                let mut entry: Value = serde_json::from_str(ec).map_err(|_| {
                    WebhookError::Store(StoreError::Corrupt("ec_public_jwk".to_owned()))
                })?;
                entry["kid"] = kid_for(&row.kid, JwsAlg::Es256).into();
                keys.push(entry);
            }
        }
        Ok(json!({ "keys": keys }))
    }

    /// The generation that signs now, unsealed (cached per process).
    pub async fn signer(&self) -> Result<Arc<GenerationSigner>, WebhookError> {
        let rows = self.store.webhook_signing_keys().await?;
        let now = self.clock.now();
        let row = rows
            .iter()
            .rev()
            .find(|r| r.signs_from <= now)
            .ok_or(WebhookError::NoSigningKey)?;
        if let Some(signer) = self.cached(&row.kid) {
            return Ok(signer);
        }
        let key_error = |e: benteng_crypto::CryptoError| WebhookError::Key(e.to_string());
        let unseal = |sealed: &str, aad: &Aad<'_>| {
            self.keyring
                .decrypt(sealed, aad)
                .map_err(|e| WebhookError::Key(e.to_string()))
        };
        let der = unseal(&row.sealed_private, &aad(&row.kid))?;
        let rsa = RsaSigningKey::from_pkcs8(benteng_crypto::ExposeSecret::expose_secret(&der))
            .map_err(key_error)?;
        let p256 = match &row.ec_sealed_private {
            Some(sealed) => {
                let der = unseal(sealed, &ec_aad(&row.kid))?;
                let key =
                    EcSigningKey::from_pkcs8(benteng_crypto::ExposeSecret::expose_secret(&der))
                        .map_err(key_error)?;
                Some(key)
            }
            None => None,
        };
        let signer = Arc::new(GenerationSigner {
            kid: row.kid.clone(),
            rsa,
            p256,
        });
        self.unsealed
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(row.kid.clone(), signer.clone());
        Ok(signer)
    }

    /// Whether the generation signing now can sign ES256 (not one made before ES256 existed).
    pub async fn signs_es256(&self) -> Result<bool, WebhookError> {
        let rows = self.store.webhook_signing_keys().await?;
        let now = self.clock.now();
        Ok(rows
            .iter()
            .rev()
            .find(|r| r.signs_from <= now)
            .is_some_and(|r| r.ec_sealed_private.is_some()))
    }

    fn cached(&self, kid: &str) -> Option<Arc<GenerationSigner>> {
        self.unsealed
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(kid)
            .cloned()
    }

    /// Makes the next key: it signs 14 days from now (at once when it is the first), and its
    /// predecessor leaves the JWKS 14 days after that. Audited `webhook_key.created`.
    pub async fn rotate(&self, audit: &AuditContext) -> Result<KeyState, WebhookError> {
        let rows = self.store.webhook_signing_keys().await?;
        let now = self.clock.now();
        let generation = rows.last().map(|r| r.generation + 1).unwrap_or(1);
        let signs_from = if rows.is_empty() {
            now
        } else {
            now + KEY_OVERLAP
        };
        let kid = format!(
            "webhook-key-{:04}-{:02}-{generation}",
            now.year(),
            u8::from(now.month())
        );
        let key_error = |e: benteng_crypto::CryptoError| WebhookError::Key(e.to_string());
        let seal = |der: &[u8], aad: &Aad<'_>| {
            self.keyring
                .encrypt(&KeyPurpose::PRIVATE_KEY, der, aad)
                .map_err(|e| WebhookError::Key(e.to_string()))
        };
        let key = RsaSigningKey::generate().map_err(key_error)?;
        let sealed = seal(&key.to_pkcs8().map_err(key_error)?, &aad(&kid))?;
        let p256 = EcSigningKey::generate().map_err(key_error)?;
        let p256_sealed = seal(&p256.to_pkcs8().map_err(key_error)?, &ec_aad(&kid))?;
        let row = SigningKeyRow {
            kid: kid.clone(),
            generation,
            public_jwk: key.public_jwk(&kid, JwsAlg::Rs256).to_string(),
            sealed_private: sealed,
            ec_public_jwk: Some(p256.public_jwk(&kid_for(&kid, JwsAlg::Es256)).to_string()),
            ec_sealed_private: Some(p256_sealed),
            created_at: now,
            signs_from,
        };
        let event = AuditEvent::new(
            audit,
            "webhook_key.created",
            Retention::Security,
            ("webhook_key", kid.clone()),
        )
        .at(now)
        .change(
            "signs_from",
            Value::Null,
            signs_from.unix_timestamp().into(),
        );
        self.store.insert_webhook_signing_key(&row, &event).await?;
        let mut all = rows;
        all.push(row);
        timeline(&all, now).pop().ok_or(WebhookError::NoSigningKey)
    }

    /// The schedule: a first key when there is none, the next one 76 days after the newest
    /// started signing, or at once when the newest has no P-256 half. A concurrent instance's
    /// rotation wins the generation; this one's `Conflict` is harmless.
    pub async fn ensure(&self) -> Result<(), WebhookError> {
        let rows = self.store.webhook_signing_keys().await?;
        let now = self.clock.now();
        let due = match rows.last() {
            None => true,
            Some(newest) => {
                newest.ec_sealed_private.is_none()
                    || newest.signs_from + (KEY_PERIOD - KEY_OVERLAP) <= now
            }
        };
        if due {
            match self.rotate(&AuditContext::system("webhook-keys")).await {
                Ok(_) | Err(WebhookError::Store(StoreError::Conflict)) => {}
                Err(error) => return Err(error),
            }
        }
        Ok(())
    }
}
