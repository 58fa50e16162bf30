//! Ephemeral state that every benteng instance must see alike: a cache with TTLs, atomic
//! counters, locks and pub/sub. Two implementations behind one trait: in-process (the embedded
//! default, one instance) and Redis (several instances).
//!
//! Nothing here is durable: whatever must survive a restart lives in the store. Callers treat an
//! error as "state unknown" and fail closed.

mod memory;
mod redis_state;

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use tokio::sync::broadcast;

pub use memory::MemoryState;
pub use redis_state::RedisState;

#[derive(Debug, thiserror::Error)]
pub enum StateError {
    #[error("shared state unavailable: {0}")]
    Unavailable(String),
    #[error("shared state answered unexpectedly: {0}")]
    Protocol(String),
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

/// The answer to a rate-limit check: whether `cost` was admitted (then every counter was
/// incremented; otherwise none was), each counter's value afterwards and how long its window
/// still runs, and the backend's clock (Redis `TIME`, so every instance agrees).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LimitOutcome {
    pub allowed: bool,
    pub now_unix_ms: i64,
    pub counters: Vec<Counter>,
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

    /// Deletes the key only while it still holds `value` (releasing a lock one still owns).
    async fn delete_if_equals(&self, key: &str, value: &[u8]) -> StateResult<bool>;

    /// Atomically adds `by` to a counter; a new counter lives for `window`.
    async fn increment(&self, key: &str, by: i64, window: Duration) -> StateResult<Counter>;

    /// Checks every counter against its limit and, only when all of them can take `cost`
    /// more, adds `cost` to each, in one atomic step (no read-then-write race between
    /// instances). A new counter lives for `window`. `cost` 0 only reads.
    async fn check_limits(
        &self,
        checks: &[LimitCheck],
        cost: i64,
        window: Duration,
    ) -> StateResult<LimitOutcome>;

    async fn publish(&self, channel: &str, message: &[u8]) -> StateResult<()>;

    fn subscribe(&self, channel: &str) -> Subscription;
}

pub type SharedStateHandle = Arc<dyn SharedState>;

/// Opens the backend a URL names: `memory://` or `redis://…`. `namespace` prefixes every key and
/// channel so several deployments (or test runs) can share one Redis.
pub async fn open(url: &str, namespace: &str) -> StateResult<SharedStateHandle> {
    if url == "memory://" || url.is_empty() {
        Ok(Arc::new(MemoryState::new()))
    } else if url.starts_with("redis://") || url.starts_with("rediss://") {
        Ok(Arc::new(RedisState::connect(url, namespace).await?))
    } else {
        Err(StateError::Unavailable(
            "unsupported cache URL: use memory:// or redis://…".to_owned(),
        ))
    }
}

/// Capacity of each channel's fan-out buffer; a subscriber further behind gets `Resync`.
const CHANNEL_CAPACITY: usize = 1024;
