//! In-process shared state for a single instance.

use std::collections::HashMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use async_trait::async_trait;
use tokio::sync::broadcast;

use crate::{
    Admission, Admitted, CHANNEL_CAPACITY, Counter, Decision, Event, KeyLock, KeyState,
    SharedState, StateError, StateResult, Subscription,
};

struct Entry {
    value: Vec<u8>,
    expires_at: Instant,
}

/// Above this many entries (or twice as many as the last sweep left) a step first sweeps out the
/// expired ones: amortised constant time, however many live entries there are.
const SWEEP_THRESHOLD: usize = 10_000;

#[derive(Default)]
pub struct MemoryState {
    entries: Mutex<HashMap<String, Entry>>,
    /// The size above which the next step sweeps; only changed under the `entries` lock.
    sweep_above: AtomicUsize,
    channels: Mutex<HashMap<String, broadcast::Sender<Event>>>,
}

impl MemoryState {
    pub fn new() -> Self {
        Self::default()
    }

    fn with_entries<T>(
        &self,
        f: impl FnOnce(&mut HashMap<String, Entry>, Instant) -> T,
    ) -> StateResult<T> {
        let mut entries = self
            .entries
            .lock()
            .map_err(|_| StateError::Unavailable("in-process state poisoned".to_owned()))?;
        let now = Instant::now();
        if entries.len() > self.sweep_above.load(Ordering::Relaxed) {
            entries.retain(|_, e| e.expires_at > now);
            let next = entries.len().saturating_mul(2).max(SWEEP_THRESHOLD);
            self.sweep_above.store(next, Ordering::Relaxed);
        }
        Ok(f(&mut entries, now))
    }

    fn sender(&self, channel: &str) -> Option<broadcast::Sender<Event>> {
        let mut channels = self.channels.lock().ok()?;
        Some(
            channels
                .entry(channel.to_owned())
                .or_insert_with(|| broadcast::channel(CHANNEL_CAPACITY).0)
                .clone(),
        )
    }
}

fn live<'a>(entries: &'a HashMap<String, Entry>, key: &str, now: Instant) -> Option<&'a Entry> {
    entries.get(key).filter(|e| e.expires_at > now)
}

/// A counter's value and when its window ends; a missing counter is 0 with a new window.
fn counter(
    entries: &HashMap<String, Entry>,
    key: &str,
    now: Instant,
    window: Duration,
) -> (i64, Instant) {
    match live(entries, key, now) {
        Some(e) => (
            std::str::from_utf8(&e.value)
                .ok()
                .and_then(|s| s.parse::<i64>().ok())
                .unwrap_or(0),
            e.expires_at,
        ),
        None => (0, now + window),
    }
}

/// [`SharedState::admit`] on the entries, under their lock.
fn decide(
    entries: &mut HashMap<String, Entry>,
    admission: &Admission<'_>,
    now: Instant,
) -> Decision {
    let as_counter = |(value, expires_at): (i64, Instant)| Counter {
        value,
        resets_in: expires_at.saturating_duration_since(now),
    };
    let window = admission.window;
    if let Some(guard) = admission.guard {
        let current = counter(entries, &guard.key, now, window);
        if current.0 >= guard.limit {
            return Decision::Blocked(as_counter(current));
        }
    }
    let current: Vec<(i64, Instant)> = admission
        .limits
        .iter()
        .map(|check| counter(entries, &check.key, now, window))
        .collect();
    let admitted = admission
        .limits
        .iter()
        .zip(&current)
        .all(|(check, (value, _))| value.saturating_add(1) <= check.limit);
    if !admitted {
        return Decision::Limited(current.into_iter().map(as_counter).collect());
    }
    let counters = admission
        .limits
        .iter()
        .zip(current)
        .map(|(check, (value, expires_at))| {
            let value = value.saturating_add(1);
            entries.insert(
                check.key.clone(),
                Entry {
                    value: value.to_string().into_bytes(),
                    expires_at,
                },
            );
            as_counter((value, expires_at))
        })
        .collect();
    let key = admission.key.map(|key| {
        if let Some(stored) = live(entries, &key.response_key, now) {
            KeyState::Completed(stored.value.clone())
        } else if live(entries, &key.lock_key, now).is_some() {
            KeyState::InFlight
        } else {
            entries.insert(
                key.lock_key.clone(),
                Entry {
                    value: key.owner.as_bytes().to_vec(),
                    expires_at: now + key.ttl,
                },
            );
            KeyState::Locked
        }
    });
    Decision::Admitted { counters, key }
}

#[async_trait]
impl SharedState for MemoryState {
    fn backend(&self) -> &'static str {
        "memory"
    }

    async fn ping(&self) -> StateResult<()> {
        self.with_entries(|_, _| ())
    }

    async fn get(&self, key: &str) -> StateResult<Option<Vec<u8>>> {
        self.with_entries(|entries, now| live(entries, key, now).map(|e| e.value.clone()))
    }

    async fn set(&self, key: &str, value: &[u8], ttl: Duration) -> StateResult<()> {
        self.with_entries(|entries, now| {
            entries.insert(
                key.to_owned(),
                Entry {
                    value: value.to_vec(),
                    expires_at: now + ttl,
                },
            );
        })
    }

    async fn set_if_absent(&self, key: &str, value: &[u8], ttl: Duration) -> StateResult<bool> {
        self.with_entries(|entries, now| {
            if live(entries, key, now).is_some() {
                return false;
            }
            entries.insert(
                key.to_owned(),
                Entry {
                    value: value.to_vec(),
                    expires_at: now + ttl,
                },
            );
            true
        })
    }

    async fn delete(&self, key: &str) -> StateResult<()> {
        self.with_entries(|entries, _| {
            entries.remove(key);
        })
    }

    async fn admit(&self, admission: &Admission<'_>) -> StateResult<Admitted> {
        let now_unix_ms = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
            .unwrap_or(0);
        self.with_entries(|entries, now| Admitted {
            now_unix_ms,
            decision: decide(entries, admission, now),
        })
    }

    async fn finish(&self, key: &KeyLock, response: Option<(&[u8], Duration)>) -> StateResult<()> {
        self.with_entries(|entries, now| {
            if let Some((value, ttl)) = response {
                entries.insert(
                    key.response_key.clone(),
                    Entry {
                        value: value.to_vec(),
                        expires_at: now + ttl,
                    },
                );
            }
            if live(entries, &key.lock_key, now).is_some_and(|e| e.value == key.owner.as_bytes()) {
                entries.remove(&key.lock_key);
            }
        })
    }

    async fn publish(&self, channel: &str, message: &[u8]) -> StateResult<()> {
        if let Some(sender) = self.sender(channel) {
            // No subscriber is not an error: nobody needed to hear it.
            let _ = sender.send(Event::Message(message.to_vec()));
        }
        Ok(())
    }

    fn subscribe(&self, channel: &str) -> Subscription {
        let receiver = match self.sender(channel) {
            Some(sender) => sender.subscribe(),
            // Poisoned lock: hand out a closed channel so the subscriber sees the end.
            None => broadcast::channel(1).1,
        };
        Subscription { receiver }
    }
}
