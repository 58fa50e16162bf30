//! The instance-local cache of verified keys, in front of the shared cache and the database.
//! A hit costs one hash-map lookup under a mutex, which keeps authentication within its
//! microsecond budget. Entries live `ttl` at most and are evicted at once on invalidation.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use benteng_core::ids::TenantId;

/// A full cache is emptied rather than grown: memory stays bounded under a key-guessing flood.
const MAX_ENTRIES: usize = 100_000;

pub(crate) struct LocalCache<V> {
    ttl: Duration,
    entries: Mutex<HashMap<[u8; 32], (V, TenantId, Instant)>>,
}

impl<V: Clone> LocalCache<V> {
    pub(crate) fn new(ttl: Duration) -> Self {
        Self {
            ttl,
            entries: Mutex::new(HashMap::new()),
        }
    }

    pub(crate) fn get(&self, hash: &[u8; 32]) -> Option<V> {
        let entries = self.entries.lock().ok()?;
        let (value, _, stored) = entries.get(hash)?;
        (stored.elapsed() < self.ttl).then(|| value.clone())
    }

    pub(crate) fn insert(&self, hash: [u8; 32], tenant: TenantId, value: V) {
        if let Ok(mut entries) = self.entries.lock() {
            if entries.len() >= MAX_ENTRIES {
                entries.clear();
            }
            entries.insert(hash, (value, tenant, Instant::now()));
        }
    }

    pub(crate) fn remove(&self, hash: &[u8; 32]) {
        if let Ok(mut entries) = self.entries.lock() {
            entries.remove(hash);
        }
    }

    pub(crate) fn remove_tenant(&self, tenant: TenantId) {
        if let Ok(mut entries) = self.entries.lock() {
            entries.retain(|_, (_, owner, _)| *owner != tenant);
        }
    }

    pub(crate) fn clear(&self) {
        if let Ok(mut entries) = self.entries.lock() {
            entries.clear();
        }
    }
}
