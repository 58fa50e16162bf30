//! What the credential caches share: the instance-local cache in front of the shared cache and
//! the database, and the invalidation messages every instance applies to it. A hit costs one
//! hash-map lookup under a mutex, which keeps authentication within its microsecond budget.
//! Entries live `ttl` at most and are evicted at once on invalidation.

use std::collections::HashMap;
use std::future::Future;
use std::hash::Hash;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use benteng_core::ids::TenantId;
use benteng_shared_state::SharedStateHandle;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

/// A full cache is emptied rather than grown: memory stays bounded under a key-guessing flood.
const MAX_ENTRIES: usize = 100_000;

/// The pub/sub channel of credential invalidations: every instance's API-key and SNAP caches
/// listen on it, each applying what concerns it.
pub(crate) const INVALIDATION_CHANNEL: &str = "auth.invalidate";

#[derive(Debug, Serialize, Deserialize)]
pub(crate) enum Invalidation {
    /// An API key changed (revoked, or its networks); `hash` is its keyed hash, hex.
    Key { hash: String },
    /// A tenant's status, certificates or mTLS requirement changed.
    Tenant { id: TenantId },
    /// A SNAP partner or its tokens were revoked.
    SnapPartner { id: uuid::Uuid },
}

/// Publishes an invalidation to every instance (this one included).
pub(crate) async fn announce(state: &SharedStateHandle, invalidation: &Invalidation) {
    let Ok(message) = serde_json::to_vec(invalidation) else {
        return;
    };
    if let Err(error) = state.publish(INVALIDATION_CHANNEL, &message).await {
        tracing::warn!(%error, "could not publish a credential invalidation");
    }
}

/// A credential by its hash, past this instance's cache: the shared cache (`shared_key`), else
/// `read` (the database), whose answer then fills the shared cache only if absent (a concurrent
/// revocation's fresher entry must win) and this instance's cache only if no invalidation moved
/// `epoch` during the read. A shared cache that cannot be reached is skipped: the database is
/// the truth.
#[allow(clippy::too_many_arguments)]
pub(crate) async fn read_through<V, E, Fut>(
    shared: &SharedStateHandle,
    local: &LocalCache<[u8; 32], V>,
    epoch: &AtomicU64,
    hash: &[u8; 32],
    shared_key: &str,
    ttl: Duration,
    what: &str,
    read: impl FnOnce() -> Fut,
) -> Result<V, E>
where
    V: Clone + Serialize + DeserializeOwned,
    Fut: Future<Output = Result<V, E>>,
{
    let seen = epoch.load(Ordering::SeqCst);
    let cached = match shared.get(shared_key).await {
        Ok(value) => value.and_then(|bytes| serde_json::from_slice::<V>(&bytes).ok()),
        Err(error) => {
            tracing::warn!(%error, "shared cache unavailable for {what} lookup");
            None
        }
    };
    let value = match cached {
        Some(value) => value,
        None => {
            let value = read().await?;
            if let Ok(bytes) = serde_json::to_vec(&value) {
                let _ = shared.set_if_absent(shared_key, &bytes, ttl).await;
            }
            value
        }
    };
    if epoch.load(Ordering::SeqCst) == seen {
        local.insert(*hash, value.clone());
    }
    Ok(value)
}

pub(crate) struct LocalCache<K, V> {
    ttl: Duration,
    entries: Mutex<HashMap<K, (V, Instant)>>,
}

impl<K: Eq + Hash, V: Clone> LocalCache<K, V> {
    pub(crate) fn new(ttl: Duration) -> Self {
        Self {
            ttl,
            entries: Mutex::new(HashMap::new()),
        }
    }

    pub(crate) fn get(&self, key: &K) -> Option<V> {
        let entries = self.entries.lock().ok()?;
        let (value, stored) = entries.get(key)?;
        (stored.elapsed() < self.ttl).then(|| value.clone())
    }

    pub(crate) fn insert(&self, key: K, value: V) {
        if let Ok(mut entries) = self.entries.lock() {
            if entries.len() >= MAX_ENTRIES {
                entries.clear();
            }
            entries.insert(key, (value, Instant::now()));
        }
    }

    pub(crate) fn remove(&self, key: &K) {
        if let Ok(mut entries) = self.entries.lock() {
            entries.remove(key);
        }
    }

    /// Drops every entry whose value matches (a tenant's keys, a partner's tokens).
    pub(crate) fn remove_where(&self, matches: impl Fn(&V) -> bool) {
        if let Ok(mut entries) = self.entries.lock() {
            entries.retain(|_, (value, _)| !matches(value));
        }
    }

    pub(crate) fn clear(&self) {
        if let Ok(mut entries) = self.entries.lock() {
            entries.clear();
        }
    }
}
