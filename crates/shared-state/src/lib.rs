//! Ephemeral state that every benteng instance must see alike: a cache with TTLs, atomic
//! counters, locks and pub/sub. Two implementations behind one trait: in-process (the embedded
//! default, one instance) and Redis (several instances).
//!
//! Nothing here is durable: whatever must survive a restart lives in the store. Callers treat an
//! error as "state unknown" and fail closed.

mod memory;
mod redis_state;
mod unreachable;

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use tokio::sync::broadcast;

use benteng_core::store_link::{StoreLink, StoreTls};
pub use memory::MemoryState;
pub use redis_state::RedisState;
pub use unreachable::Unreachable;

#[derive(Debug, thiserror::Error)]
pub enum StateError {
    #[error("shared state unavailable: {0}")]
    Unavailable(String),
    #[error("shared state answered unexpectedly: {0}")]
    Protocol(String),
    /// The URL or the TLS files cannot be used as given: fixing the configuration helps,
    /// waiting does not.
    #[error("{0}")]
    Config(String),
}

pub type StateResult<T> = Result<T, StateError>;

/// A counter's value after an increment and how long its window still runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Counter {
    pub value: i64,
    pub resets_in: Duration,
}

/// One counter of a rate-limit check and the most it may reach within its window.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LimitCheck {
    pub key: String,
    pub limit: i64,
}

/// An idempotency key's two entries: the stored response of a completed request, and the lock
/// a running request holds (released only by its owner).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyLock {
    pub response_key: String,
    pub lock_key: String,
    /// The token of the request that would hold the lock.
    pub owner: String,
    /// How long the lock lives if its owner never releases it.
    pub ttl: Duration,
}

/// What a request asks of the shared state before it runs; see [`SharedState::admit`].
#[derive(Debug, Clone, Copy)]
pub struct Admission<'a> {
    /// Refuses the request when this counter is already at its limit. Only read, never counted
    /// (the failed authentications of the client's address).
    pub guard: Option<&'a LimitCheck>,
    /// Each counts the request once, all or nothing.
    pub limits: &'a [LimitCheck],
    /// For a money-moving request: its stored response, or else its lock.
    pub key: Option<&'a KeyLock>,
    /// How long a new counter lives.
    pub window: Duration,
}

/// The answer to an [`Admission`], with the backend's clock (Redis `TIME`, so every instance
/// agrees on when windows end).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Admitted {
    pub now_unix_ms: i64,
    pub decision: Decision,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    /// The guard counter is at its limit; nothing was counted or locked.
    Blocked(Counter),
    /// Some limit cannot take one more; nothing was counted or locked. Each limit's counter.
    Limited(Vec<Counter>),
    /// Every limit counted the request (each counter afterwards) and, when a key was given,
    /// what it holds.
    Admitted {
        counters: Vec<Counter>,
        key: Option<KeyState>,
    },
}

/// An idempotency key as [`SharedState::admit`] found it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeyState {
    /// The stored response of a completed request; the lock was not touched.
    Completed(Vec<u8>),
    /// No stored response; this request now holds the lock.
    Locked,
    /// No stored response, and another request holds the lock.
    InFlight,
}

/// What a subscriber receives.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    Message(Vec<u8>),
    /// Messages may have been lost (a reconnect, or a slow subscriber fell behind): anything
    /// derived from them must be rebuilt, e.g. a local cache flushed.
    Resync,
}

/// A stream of events on one channel.
pub struct Subscription {
    receiver: broadcast::Receiver<Event>,
}

impl Subscription {
    /// The next event; `None` once the state backend is gone for good.
    pub async fn next(&mut self) -> Option<Event> {
        match self.receiver.recv().await {
            Ok(event) => Some(event),
            Err(broadcast::error::RecvError::Lagged(_)) => Some(Event::Resync),
            Err(broadcast::error::RecvError::Closed) => None,
        }
    }
}

#[async_trait]
pub trait SharedState: Send + Sync + 'static {
    /// `memory` or `redis`, for logs and readiness output.
    fn backend(&self) -> &'static str;

    async fn ping(&self) -> StateResult<()>;

    async fn get(&self, key: &str) -> StateResult<Option<Vec<u8>>>;

    async fn set(&self, key: &str, value: &[u8], ttl: Duration) -> StateResult<()>;

    /// Stores the value only if the key is absent; `true` when this call stored it.
    async fn set_if_absent(&self, key: &str, value: &[u8], ttl: Duration) -> StateResult<bool>;

    async fn delete(&self, key: &str) -> StateResult<()>;

    /// Everything a request's protection asks before it runs, in one atomic step (one round
    /// trip to Redis): refuses it when the guard counter is at its limit; else counts it once
    /// against every limit if all of them can take it, and against none otherwise; then, for a
    /// key, reads its stored response or, when there is none, takes its lock for `key.owner`.
    /// No other instance's request can slip between these steps.
    async fn admit(&self, admission: &Admission<'_>) -> StateResult<Admitted>;

    /// After a request that ran under `key`: stores `response` (for its TTL) when given, and
    /// releases the lock if `key.owner` still holds it, in one step.
    async fn finish(&self, key: &KeyLock, response: Option<(&[u8], Duration)>) -> StateResult<()>;

    async fn publish(&self, channel: &str, message: &[u8]) -> StateResult<()>;

    fn subscribe(&self, channel: &str) -> Subscription;
}

pub type SharedStateHandle = Arc<dyn SharedState>;

/// Opens the backend a URL names: `memory://`, `redis://…` or `rediss://…` (TLS, with `tls`'s
/// CA and client certificate). `namespace` prefixes every key and channel so several
/// deployments (or test runs) can share one Redis.
pub async fn open(url: &str, namespace: &str, tls: &StoreTls) -> StateResult<SharedStateHandle> {
    if is_memory(url) {
        link(url, tls)?;
        Ok(Arc::new(MemoryState::new()))
    } else {
        Ok(Arc::new(RedisState::connect(url, namespace, tls).await?))
    }
}

/// How connections to the cache `url` names travel, as the Redis client reads the URL: the
/// in-process cache is local; `rediss://` is verified TLS (`#insecure`, which would skip the
/// check, is not); `redis://` is plaintext. Refused: an unsupported URL, and TLS files with a
/// URL that would not use them.
pub fn link(url: &str, tls: &StoreTls) -> StateResult<StoreLink> {
    if is_memory(url) {
        if tls.is_set() {
            return Err(StateError::Config(
                "TLS files apply to a rediss:// cache, not the in-process one".to_owned(),
            ));
        }
        return Ok(StoreLink::Local);
    }
    redis_state::link(url, tls)
}

fn is_memory(url: &str) -> bool {
    url == "memory://" || url.is_empty()
}

/// Capacity of each channel's fan-out buffer; a subscriber further behind gets `Resync`.
const CHANNEL_CAPACITY: usize = 1024;
