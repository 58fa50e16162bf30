//! The shared state of a command that must work while the shared state is down: every call
//! fails as unavailable. Containment commands (revoking a key, a partner, a person's sessions)
//! write the store, which is the truth every server falls back to, and publish best-effort; a
//! server never runs on this (it fails closed at start instead).

use std::time::Duration;

use async_trait::async_trait;
use tokio::sync::broadcast;

use crate::{Admission, Admitted, KeyLock, SharedState, StateError, StateResult, Subscription};

pub struct Unreachable {
    why: String,
}

impl Unreachable {
    pub fn new(why: impl Into<String>) -> Self {
        Self { why: why.into() }
    }

    fn error<T>(&self) -> StateResult<T> {
        Err(StateError::Unavailable(self.why.clone()))
    }
}

#[async_trait]
impl SharedState for Unreachable {
    fn backend(&self) -> &'static str {
        "unreachable"
    }

    async fn ping(&self) -> StateResult<()> {
        self.error()
    }

    async fn get(&self, _key: &str) -> StateResult<Option<Vec<u8>>> {
        self.error()
    }

    async fn set(&self, _key: &str, _value: &[u8], _ttl: Duration) -> StateResult<()> {
        self.error()
    }

    async fn set_if_absent(&self, _key: &str, _value: &[u8], _ttl: Duration) -> StateResult<bool> {
        self.error()
    }

    async fn delete(&self, _key: &str) -> StateResult<()> {
        self.error()
    }

    async fn admit(&self, _admission: &Admission<'_>) -> StateResult<Admitted> {
        self.error()
    }

    async fn finish(
        &self,
        _key: &KeyLock,
        _response: Option<(&[u8], Duration)>,
    ) -> StateResult<()> {
        self.error()
    }

    async fn publish(&self, _channel: &str, _message: &[u8]) -> StateResult<()> {
        self.error()
    }

    /// A subscription that has already ended.
    fn subscribe(&self, _channel: &str) -> Subscription {
        Subscription {
            receiver: broadcast::channel(1).1,
        }
    }
}
