//! The process's DEKs: unwrapped once at start (or when a new one appears), kept in memory,
//! one active DEK per purpose for new values, all older ones still able to decrypt.

use std::collections::HashMap;
use std::fmt;
use std::sync::{Arc, RwLock, RwLockReadGuard, RwLockWriteGuard};

use secrecy::{SecretBox, SecretString};
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use zeroize::Zeroizing;

use crate::VaultError;
use crate::aad::{Aad, put_lp};
use crate::field::{DEK_LEN, Dek, EncryptedValue, FieldCipher, now_seconds};
use crate::ids::{DekId, KeyPurpose};
use crate::kek::KekProvider;

/// A DEK as persisted: encrypted under a KEK. Plain data for the storage layer (one row per
/// DEK); nothing in it is secret. `created_at` is whole seconds and is authenticated, so store
/// it in a type that keeps at least second precision.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WrappedDek {
    pub id: DekId,
    pub purpose: KeyPurpose,
    /// The [`KekProvider::id`] that wrapped it.
    pub kek_id: String,
    /// Provider output (version byte, nonce, ciphertext, tag); base64url in JSON.
    #[serde(with = "b64")]
    pub wrapped: Vec<u8>,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
}

impl fmt::Debug for WrappedDek {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WrappedDek")
            .field("id", &self.id)
            .field("purpose", &self.purpose)
            .field("kek_id", &self.kek_id)
            .field("wrapped_len", &self.wrapped.len())
            .field("created_at", &self.created_at)
            .finish()
    }
}

mod b64 {
    use base64::Engine as _;
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(bytes: &[u8], s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&URL_SAFE_NO_PAD.encode(bytes))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<u8>, D::Error> {
        let text = String::deserialize(d)?;
        URL_SAFE_NO_PAD
            .decode(text)
            .map_err(|_| serde::de::Error::custom("wrapped key is not base64url"))
    }
}

/// AAD of a wrapped DEK: everything about the DEK that must not be relabelled.
fn wrap_aad(kek_id: &str, id: &DekId, purpose: &KeyPurpose, created_at: OffsetDateTime) -> Vec<u8> {
    let mut out = Vec::with_capacity(128);
    put_lp(&mut out, b"benteng-vault/dek-wrap/v1");
    put_lp(&mut out, kek_id.as_bytes());
    put_lp(&mut out, id.to_string().as_bytes());
    put_lp(&mut out, purpose.as_str().as_bytes());
    put_lp(&mut out, created_at.unix_timestamp().to_string().as_bytes());
    out
}

#[derive(Default)]
struct State {
    deks: HashMap<DekId, Arc<Dek>>,
    active: HashMap<KeyPurpose, Arc<Dek>>,
}

/// In-memory DEKs by id plus the active DEK per purpose. Share it as `Arc<Keyring>`; all methods
/// take `&self`.
///
/// Life cycle (the storage layer drives it):
/// 1. start: `Keyring::new(kek)`, then [`Keyring::load`] every persisted [`WrappedDek`];
/// 2. a purpose with no DEK, or a yearly rotation: [`Keyring::rotate`] → persist the returned
///    `WrappedDek` → [`Keyring::load`] it (which makes it active, being the newest);
/// 3. background migration: [`reencrypt`] each stored value until none uses an old DEK;
/// 4. KEK rotation: build the keyring with the new KEK first and the old one via
///    [`Keyring::with_kek`], then [`Keyring::rewrap`] every DEK and replace its row.
///
/// Another instance that meets [`VaultError::UnknownKeyId`] should reload DEKs from storage
/// and retry once: some instance has rotated.
pub struct Keyring {
    current_kek: Arc<dyn KekProvider>,
    older_keks: Vec<Arc<dyn KekProvider>>,
    state: RwLock<State>,
}

impl fmt::Debug for Keyring {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let state = self.read();
        f.debug_struct("Keyring")
            .field("kek", &self.current_kek.id())
            .field(
                "older_keks",
                &self.older_keks.iter().map(|k| k.id()).collect::<Vec<_>>(),
            )
            .field("deks", &state.deks.len())
            .field(
                "active",
                &state
                    .active
                    .iter()
                    .map(|(p, d)| (p.as_str(), d.id().to_string()))
                    .collect::<HashMap<_, _>>(),
            )
            .finish()
    }
}

impl Keyring {
    /// A keyring whose new DEKs are wrapped by `current_kek`.
    pub fn new(current_kek: Arc<dyn KekProvider>) -> Self {
        Self {
            current_kek,
            older_keks: Vec::new(),
            state: RwLock::new(State::default()),
        }
    }

    /// Adds a KEK that can still unwrap older DEKs (during KEK rotation); it wraps nothing new.
    pub fn with_kek(mut self, older_kek: Arc<dyn KekProvider>) -> Self {
        if self.kek(older_kek.id()).is_none() {
            self.older_keks.push(older_kek);
        }
        self
    }

    /// The KEK new DEKs are wrapped with.
    pub fn current_kek(&self) -> &Arc<dyn KekProvider> {
        &self.current_kek
    }

    fn kek(&self, id: &str) -> Option<&Arc<dyn KekProvider>> {
        std::iter::once(&self.current_kek)
            .chain(&self.older_keks)
            .find(|k| k.id() == id)
    }

    fn read(&self) -> RwLockReadGuard<'_, State> {
        // Writers only insert whole entries, so state behind a poisoned lock is still coherent.
        self.state.read().unwrap_or_else(|p| p.into_inner())
    }

    fn write(&self) -> RwLockWriteGuard<'_, State> {
        self.state.write().unwrap_or_else(|p| p.into_inner())
    }

    /// Unwraps a persisted DEK and adds it. It becomes the active DEK of its purpose when it is
    /// the newest one loaded (by `created_at`, then id). Loading the same DEK twice is harmless.
    pub fn load(&self, wrapped: &WrappedDek) -> Result<DekId, VaultError> {
        let kek = self
            .kek(&wrapped.kek_id)
            .ok_or_else(|| VaultError::UnknownKek {
                dek_id: wrapped.id.to_string(),
                kek_id: wrapped.kek_id.clone(),
            })?;
        let aad = wrap_aad(
            &wrapped.kek_id,
            &wrapped.id,
            &wrapped.purpose,
            wrapped.created_at,
        );
        let material = kek.unwrap(&wrapped.wrapped, &aad)?;
        if material.len() != DEK_LEN {
            return Err(VaultError::malformed("unwrapped key", "must be 32 bytes"));
        }
        let dek = Arc::new(Dek::from_material(
            wrapped.id,
            wrapped.purpose.clone(),
            wrapped.created_at,
            &material,
        )?);
        let mut state = self.write();
        let dek = Arc::clone(state.deks.entry(dek.id()).or_insert(dek));
        let newer = state
            .active
            .get(dek.purpose())
            .is_none_or(|cur| (dek.created_at(), dek.id()) > (cur.created_at(), cur.id()));
        if newer {
            state.active.insert(dek.purpose().clone(), Arc::clone(&dek));
        }
        Ok(dek.id())
    }

    /// Creates a new DEK for `purpose`, wrapped under the current KEK, and returns it for
    /// persisting. It is **not** used until it is passed to [`Keyring::load`]: persist first,
    /// so no value is ever written under a key that could be lost in a crash; loading it back
    /// also proves the wrapped form unwraps.
    pub fn rotate(&self, purpose: &KeyPurpose) -> Result<WrappedDek, VaultError> {
        let material = Zeroizing::new(benteng_crypto::random_bytes::<DEK_LEN>()?);
        let id = DekId::generate();
        let created_at = now_seconds();
        let kek = self.current_kek();
        let aad = wrap_aad(kek.id(), &id, purpose, created_at);
        let wrapped = kek.wrap(material.as_slice(), &aad)?;
        Ok(WrappedDek {
            id,
            purpose: purpose.clone(),
            kek_id: kek.id().to_owned(),
            wrapped,
            created_at,
        })
    }

    /// Re-wraps a loaded DEK under the current KEK (KEK rotation). Replace the stored row with
    /// the result; id, purpose and creation time are unchanged, so no value needs re-encrypting.
    pub fn rewrap(&self, id: &DekId) -> Result<WrappedDek, VaultError> {
        let dek = self.dek(id)?;
        let kek = self.current_kek();
        let aad = wrap_aad(kek.id(), id, dek.purpose(), dek.created_at());
        let wrapped = kek.wrap(dek.material(), &aad)?;
        Ok(WrappedDek {
            id: *id,
            purpose: dek.purpose().clone(),
            kek_id: kek.id().to_owned(),
            wrapped,
            created_at: dek.created_at(),
        })
    }

    /// Makes a loaded DEK the active one of its purpose (e.g. to roll back a rotation). A newer
    /// DEK loaded later takes over again.
    pub fn set_active(&self, id: &DekId) -> Result<(), VaultError> {
        let dek = self.dek(id)?;
        self.write().active.insert(dek.purpose().clone(), dek);
        Ok(())
    }

    /// A loaded DEK by id.
    pub fn dek(&self, id: &DekId) -> Result<Arc<Dek>, VaultError> {
        self.read()
            .deks
            .get(id)
            .cloned()
            .ok_or_else(|| VaultError::UnknownKeyId { id: id.to_string() })
    }

    /// The DEK new values of `purpose` are encrypted with.
    pub fn active(&self, purpose: &KeyPurpose) -> Result<Arc<Dek>, VaultError> {
        self.read()
            .active
            .get(purpose)
            .cloned()
            .ok_or_else(|| VaultError::NoActiveKey {
                purpose: purpose.to_string(),
            })
    }

    /// Ids of all loaded DEKs, oldest first.
    pub fn dek_ids(&self) -> Vec<DekId> {
        let mut ids: Vec<DekId> = self.read().deks.keys().copied().collect();
        ids.sort_by_key(|id| self.dek(id).map(|d| (d.created_at(), *id)).ok());
        ids
    }

    /// Encrypts a field under the active DEK of `purpose`; returns the text to store.
    pub fn encrypt(
        &self,
        purpose: &KeyPurpose,
        plaintext: &[u8],
        aad: &Aad<'_>,
    ) -> Result<String, VaultError> {
        let dek = self.active(purpose)?;
        Ok(FieldCipher::encrypt(&dek, plaintext, aad)?.to_stored())
    }

    /// Decrypts a stored field with whichever loaded DEK it names.
    pub fn decrypt(&self, stored: &str, aad: &Aad<'_>) -> Result<SecretBox<[u8]>, VaultError> {
        FieldCipher::decrypt_stored(self, stored, aad)
    }

    /// Like [`Keyring::decrypt`] for values that are text; non-UTF-8 plaintext is an error.
    pub fn decrypt_string(&self, stored: &str, aad: &Aad<'_>) -> Result<SecretString, VaultError> {
        crate::field::into_secret_string(self.decrypt(stored, aad)?)
    }
}

/// Re-encrypts `stored` under the active DEK of the purpose of the DEK that encrypted it.
/// Returns `None` when it already uses the active DEK, so a background job can walk a table
/// row by row, write back only `Some` values (ideally with a compare-and-set on the old text),
/// and be stopped and resumed at any point. The value is authenticated before it is rewritten.
pub fn reencrypt(
    keyring: &Keyring,
    stored: &str,
    aad: &Aad<'_>,
) -> Result<Option<String>, VaultError> {
    let value = EncryptedValue::parse(stored)?;
    let old = keyring.dek(&value.dek_id())?;
    let active = keyring.active(old.purpose())?;
    if active.id() == old.id() {
        return Ok(None);
    }
    let plain = FieldCipher::decrypt_with(&old, &value, aad)?;
    let fresh = FieldCipher::encrypt(&active, secrecy::ExposeSecret::expose_secret(&plain), aad)?;
    Ok(Some(fresh.to_stored()))
}
