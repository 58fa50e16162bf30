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
use benteng_crypto::KeyedHasher;
use std::sync::Arc;

use benteng_shared_state::{Event, SharedStateHandle, StateResult, Subscription};
use benteng_store::StoreError;
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

/// A credential cache kept honest by invalidation messages and, as the safety net for
/// processes pub/sub cannot reach (the CLI beside an in-process shared state), by polling a
/// watermark in the store.
pub(crate) trait Invalidated: Send + Sync + 'static {
    /// What the watermark covers, for logs.
    const WHAT: &'static str;

    /// The watermark: it moves whenever something cached here may have changed.
    type Mark: Copy + PartialEq + Send + 'static;

    /// Applies one invalidation message (or a `Resync`).
    fn apply(&self, event: Event);

    fn watermark(&self) -> impl Future<Output = Result<Self::Mark, StoreError>> + Send;

    /// The watermark moved from `seen` to `now`: refresh what changed.
    fn caught_up(&self, seen: Self::Mark, now: Self::Mark) -> impl Future<Output = ()> + Send;
}

/// Starts the two background tasks of an [`Invalidated`] cache: the subscriber applying
/// `subscription`'s messages, and the watermark poll every `poll`. Both end with the cache.
pub(crate) fn spawn_invalidation<T: Invalidated>(
    cache: &Arc<T>,
    mut subscription: Subscription,
    poll: Duration,
) {
    let this = Arc::downgrade(cache);
    tokio::spawn(async move {
        while let Some(event) = subscription.next().await {
            let Some(this) = this.upgrade() else { return };
            this.apply(event);
        }
    });
    let this = Arc::downgrade(cache);
    tokio::spawn(async move {
        let mut last = None;
        let mut ticker = tokio::time::interval(poll);
        loop {
            ticker.tick().await;
            let Some(this) = this.upgrade() else { return };
            match this.watermark().await {
                Ok(mark) => {
                    if let Some(seen) = last.filter(|seen| *seen != mark) {
                        this.caught_up(seen, mark).await;
                    }
                    last = Some(mark);
                }
                Err(error) => tracing::warn!(%error, "{} watermark poll failed", T::WHAT),
            }
        }
    });
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

/// The shared cache as the credential caches use it. Every entry carries a MAC under the server
/// secret over its key and its value, so whoever can write to the shared store (Redis) cannot
/// plant an identity or move one entry to another key: an entry that does not verify reads as
/// absent, and the database answers.
#[derive(Clone)]
pub(crate) struct SharedEntries {
    state: SharedStateHandle,
    mac: KeyedHasher,
}

/// What the entries' MACs are for (kept from before the MAC moved to `KeyedHasher::seal`, so
/// entries written by the previous version still verify).
const PURPOSE: &str = "shared-cache";

impl SharedEntries {
    pub(crate) fn new(state: SharedStateHandle, mac: KeyedHasher) -> Self {
        Self { state, mac }
    }

    pub(crate) fn seal<V: Serialize>(&self, key: &str, value: &V) -> Option<Vec<u8>> {
        let json = serde_json::to_vec(value).ok()?;
        Some(self.mac.seal(PURPOSE, key, &json))
    }

    /// The entry under `key`, if present and authentic.
    pub(crate) async fn get<V: DeserializeOwned>(&self, key: &str) -> StateResult<Option<V>> {
        let Some(sealed) = self.state.get(key).await? else {
            return Ok(None);
        };
        let Some(json) = self.mac.open(PURPOSE, key, &sealed) else {
            tracing::warn!(target: "security", key, "shared cache entry failed its MAC; ignored");
            return Ok(None);
        };
        Ok(serde_json::from_slice(json).ok())
    }

    pub(crate) async fn set<V: Serialize>(
        &self,
        key: &str,
        value: &V,
        ttl: Duration,
    ) -> StateResult<()> {
        match self.seal(key, value) {
            Some(sealed) => self.state.set(key, &sealed, ttl).await,
            None => self.state.delete(key).await,
        }
    }

    pub(crate) async fn set_if_absent<V: Serialize>(
        &self,
        key: &str,
        value: &V,
        ttl: Duration,
    ) -> StateResult<bool> {
        match self.seal(key, value) {
            Some(sealed) => self.state.set_if_absent(key, &sealed, ttl).await,
            None => Ok(false),
        }
    }

    pub(crate) async fn delete(&self, key: &str) -> StateResult<()> {
        self.state.delete(key).await
    }
}

/// A credential by its hash, past this instance's cache: the shared cache (`shared_key`), else
/// `read` (the database), whose answer then fills the shared cache only if absent (a concurrent
/// revocation's fresher entry must win) and this instance's cache only if no invalidation moved
/// `epoch` during the read. A shared cache that cannot be reached is skipped: the database is
/// the truth.
#[allow(clippy::too_many_arguments)]
pub(crate) async fn read_through<V, E, Fut>(
    shared: &SharedEntries,
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
    let cached = match shared.get::<V>(shared_key).await {
        Ok(value) => value,
        Err(error) => {
            tracing::warn!(%error, "shared cache unavailable for {what} lookup");
            None
        }
    };
    let value = match cached {
        Some(value) => value,
        None => {
            let value = read().await?;
            let _ = shared.set_if_absent(shared_key, &value, ttl).await;
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
