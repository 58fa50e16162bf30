//! In-process shared state for a single instance.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use async_trait::async_trait;
use tokio::sync::broadcast;

use crate::{
    CHANNEL_CAPACITY, Counter, Event, LimitCheck, LimitOutcome, SharedState, StateError,
    StateResult, Subscription,
};

struct Entry {
    value: Vec<u8>,
    expires_at: Instant,
}

/// Above this many entries an insert first sweeps out the expired ones.
const SWEEP_THRESHOLD: usize = 10_000;

#[derive(Default)]
pub struct MemoryState {
    entries: Mutex<HashMap<String, Entry>>,
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
        if entries.len() > SWEEP_THRESHOLD {
            entries.retain(|_, e| e.expires_at > now);
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

    async fn delete_if_equals(&self, key: &str, value: &[u8]) -> StateResult<bool> {
        self.with_entries(|entries, now| {
            if live(entries, key, now).is_some_and(|e| e.value == value) {
                entries.remove(key);
                true
            } else {
                false
            }
        })
    }

    async fn increment(&self, key: &str, by: i64, window: Duration) -> StateResult<Counter> {
        self.with_entries(|entries, now| {
            let current = live(entries, key, now).map(|e| {
                let value = std::str::from_utf8(&e.value)
                    .ok()
                    .and_then(|s| s.parse::<i64>().ok())
                    .unwrap_or(0);
                (value, e.expires_at)
            });
            let (value, expires_at) = match current {
                Some((value, expires_at)) => (value.saturating_add(by), expires_at),
                None => (by, now + window),
            };
            entries.insert(
                key.to_owned(),
                Entry {
                    value: value.to_string().into_bytes(),
                    expires_at,
                },
            );
            Counter {
                value,
                resets_in: expires_at.saturating_duration_since(now),
            }
        })
    }

    async fn check_limits(
        &self,
        checks: &[LimitCheck],
        cost: i64,
        window: Duration,
    ) -> StateResult<LimitOutcome> {
        let now_unix_ms = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
            .unwrap_or(0);
        self.with_entries(|entries, now| {
            let current: Vec<(i64, Instant)> = checks
                .iter()
                .map(|check| match live(entries, &check.key, now) {
                    Some(e) => (
                        std::str::from_utf8(&e.value)
                            .ok()
                            .and_then(|s| s.parse::<i64>().ok())
                            .unwrap_or(0),
                        e.expires_at,
                    ),
                    None => (0, now + window),
                })
                .collect();
            let allowed = checks
                .iter()
                .zip(&current)
                .all(|(check, (value, _))| value.saturating_add(cost) <= check.limit);
            let counters = checks
                .iter()
                .zip(current)
                .map(|(check, (value, expires_at))| {
                    let value = if allowed && cost > 0 {
                        let value = value.saturating_add(cost);
                        entries.insert(
                            check.key.clone(),
                            Entry {
                                value: value.to_string().into_bytes(),
                                expires_at,
                            },
                        );
                        value
                    } else {
                        value
                    };
                    Counter {
                        value,
                        resets_in: expires_at.saturating_duration_since(now),
                    }
                })
                .collect();
            LimitOutcome {
                allowed,
                now_unix_ms,
                counters,
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

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn check(key: &str, limit: i64) -> LimitCheck {
        LimitCheck {
            key: key.to_owned(),
            limit,
        }
    }

    #[tokio::test]
    async fn limits_admit_all_or_nothing() {
        let state = MemoryState::new();
        let window = Duration::from_secs(60);
        let checks = [check("tenant", 3), check("endpoint", 2)];
        for expected in 1..=2 {
            let outcome = state.check_limits(&checks, 1, window).await.unwrap();
            assert!(outcome.allowed);
            assert_eq!(outcome.counters[0].value, expected);
            assert_eq!(outcome.counters[1].value, expected);
        }
        // The endpoint limit refuses; the tenant counter is not used up by the refusal.
        let outcome = state.check_limits(&checks, 1, window).await.unwrap();
        assert!(!outcome.allowed);
        assert_eq!(outcome.counters[0].value, 2);
        let outcome = state
            .check_limits(&[check("tenant", 3)], 1, window)
            .await
            .unwrap();
        assert!(outcome.allowed);
        assert_eq!(outcome.counters[0].value, 3);
        // Cost 0 only reads.
        let outcome = state
            .check_limits(&[check("tenant", 3)], 0, window)
            .await
            .unwrap();
        assert_eq!(outcome.counters[0].value, 3);
        assert!(outcome.counters[0].resets_in <= window);
        assert!(outcome.now_unix_ms > 0);
    }
}
