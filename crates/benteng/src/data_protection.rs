//! Tier 1 data protection wiring: the KEK, the data-encryption keys persisted (wrapped) in the
//! store, and the blind-index key. See `crates/vault` for the cryptography.

use std::sync::Arc;

use anyhow::Context;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use benteng_store::{Store, StoredDataKey};
use benteng_vault::{
    BlindIndex, DekId, FileKek, KekProvider, KeyPurpose, Keyring, Pkcs11Config, Pkcs11Kek,
    WrappedDek,
};

use crate::Config;
use crate::secrets;

/// Purposes that must have an active key before the server takes traffic.
const PURPOSES: [KeyPurpose; 4] = [
    KeyPurpose::BANK_ACCOUNT,
    KeyPurpose::NATIONAL_ID,
    KeyPurpose::API_SECRET,
    // Seals the webhook signing keys.
    KeyPurpose::PRIVATE_KEY,
];

pub struct DataProtection {
    pub keyring: Arc<Keyring>,
    pub blind_index: Arc<BlindIndex>,
}

fn to_stored(key: &WrappedDek) -> StoredDataKey {
    StoredDataKey {
        id: key.id.to_string(),
        purpose: key.purpose.as_str().to_owned(),
        kek_id: key.kek_id.clone(),
        wrapped: URL_SAFE_NO_PAD.encode(&key.wrapped),
        created_at: key.created_at,
        retired_at: None,
    }
}

fn from_stored(key: &StoredDataKey) -> anyhow::Result<WrappedDek> {
    Ok(WrappedDek {
        id: DekId::parse(&key.id).context("stored data key id")?,
        purpose: key.purpose.parse().context("stored data key purpose")?,
        kek_id: key.kek_id.clone(),
        wrapped: URL_SAFE_NO_PAD
            .decode(&key.wrapped)
            .context("stored data key is not base64url")?,
        created_at: key.created_at,
    })
}

/// Loads every stored key into the keyring; the newest of each purpose becomes active, on
/// every instance alike.
pub async fn load_keys(store: &Store, keyring: &Keyring) -> anyhow::Result<()> {
    let stored = store.data_keys().await?;
    for key in &stored {
        keyring
            .load(&from_stored(key)?)
            .with_context(|| format!("unwrapping data key {}", key.id))?;
    }
    for purpose in &PURPOSES {
        let newest = stored
            .iter()
            .filter(|k| k.purpose == purpose.as_str())
            .max_by_key(|k| (k.created_at, k.id.clone()));
        if let Some(newest) = newest {
            keyring.set_active(&DekId::parse(&newest.id)?)?;
        }
    }
    Ok(())
}

/// Creates and persists a new key for `purpose`; it becomes active once stored.
pub async fn rotate(
    store: &Store,
    keyring: &Keyring,
    purpose: &KeyPurpose,
) -> anyhow::Result<DekId> {
    let wrapped = keyring.rotate(purpose)?;
    store.insert_data_key(&to_stored(&wrapped)).await?;
    keyring.load(&wrapped)?;
    Ok(wrapped.id)
}

/// The PKCS#11 settings in the vault's terms.
pub fn pkcs11_config(settings: &crate::config::Pkcs11Settings) -> Pkcs11Config {
    Pkcs11Config {
        module_path: settings.module.clone(),
        token_label: settings.token_label.clone(),
        pin: settings.pin.clone(),
        key_label: settings.key_label.clone(),
    }
}

/// The configured key-encryption key: an HSM key through PKCS#11, or the key file.
fn kek(config: &Config) -> anyhow::Result<Arc<dyn KekProvider>> {
    if let Some(settings) = &config.keys.pkcs11 {
        let kek = Pkcs11Kek::connect(pkcs11_config(settings))
            .context("opening the PKCS#11 KEK (keys.pkcs11)")?;
        return Ok(Arc::new(kek));
    }
    let kek_path = config
        .keys
        .kek_file
        .clone()
        .unwrap_or_else(|| config.data_dir.join("secrets").join("kek"));
    if let Some(dir) = kek_path.parent() {
        std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    }
    let kek = FileKek::open_or_create(&kek_path)
        .with_context(|| format!("opening the KEK {}", kek_path.display()))?;
    Ok(Arc::new(kek))
}

pub async fn open(config: &Config, store: &Store) -> anyhow::Result<DataProtection> {
    let keyring = Keyring::new(kek(config)?);
    load_keys(store, &keyring).await?;
    let mut created = false;
    for purpose in &PURPOSES {
        if keyring.active(purpose).is_err() {
            rotate(store, &keyring, purpose).await?;
            created = true;
        }
    }
    if created {
        // Another instance starting at the same moment may have stored keys too: agree on the
        // newest of each purpose.
        load_keys(store, &keyring).await?;
    }
    let index_secret = secrets::secret(
        config.keys.blind_index_secret.as_ref(),
        &config.data_dir.join("secrets").join("blind-index-secret"),
    )?;
    let blind_index = BlindIndex::from_hex(&index_secret).context("keys.blind_index_secret")?;
    Ok(DataProtection {
        keyring: Arc::new(keyring),
        blind_index: Arc::new(blind_index),
    })
}
