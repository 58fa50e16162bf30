//! Redis-backed shared state for several instances.
//!
//! Commands go over one multiplexed connection that reconnects by itself; every command has a
//! deadline so a dead Redis turns into a prompt error (callers fail closed) instead of a hang.
//! Pub/sub runs on its own connection in a background task that re-subscribes after a drop and
//! then tells every subscriber to `Resync`, since messages sent meanwhile are lost.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use futures::StreamExt;
use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use redis::{AsyncCommands, Script};
use tokio::sync::broadcast;

use crate::{
    CHANNEL_CAPACITY, Counter, Event, LimitCheck, LimitOutcome, SharedState, StateError,
    StateResult, Subscription,
};

const COMMAND_DEADLINE: Duration = Duration::from_secs(2);
const RECONNECT_DELAY: Duration = Duration::from_millis(250);

type Channels = Arc<Mutex<HashMap<String, broadcast::Sender<Event>>>>;

pub struct RedisState {
    connection: ConnectionManager,
    namespace: String,
    channels: Channels,
    increment: Script,
    delete_if_equals: Script,
    check_limits: Script,
}

fn unavailable(error: impl std::fmt::Display) -> StateError {
    StateError::Unavailable(error.to_string())
}

impl RedisState {
    pub async fn connect(url: &str, namespace: &str) -> StateResult<Self> {
        let client = redis::Client::open(url).map_err(unavailable)?;
        let config = ConnectionManagerConfig::new()
            .set_connection_timeout(Some(COMMAND_DEADLINE))
            .set_response_timeout(Some(COMMAND_DEADLINE))
            .set_number_of_retries(1);
        let connection = tokio::time::timeout(
            COMMAND_DEADLINE * 2,
            ConnectionManager::new_with_config(client.clone(), config),
        )
        .await
        .map_err(|_| unavailable("timed out connecting to Redis"))?
        .map_err(unavailable)?;
        let channels: Channels = Arc::default();
        let namespace = namespace.to_owned();
        tokio::spawn(pump_events(
            client,
            format!("{namespace}:chan:"),
            channels.clone(),
        ));
        Ok(Self {
            connection,
            namespace,
            channels,
            // INCRBY then set the window on a new counter, atomically: no read-then-write race
            // between instances, and a counter can never be left without an expiry.
            increment: Script::new(
                r"local v = redis.call('INCRBY', KEYS[1], ARGV[1])
                  local ttl = redis.call('PTTL', KEYS[1])
                  if ttl < 0 then
                    redis.call('PEXPIRE', KEYS[1], ARGV[2])
                    ttl = tonumber(ARGV[2])
                  end
                  return {v, ttl}",
            ),
            delete_if_equals: Script::new(
                r"if redis.call('GET', KEYS[1]) == ARGV[1] then
                    return redis.call('DEL', KEYS[1])
                  end
                  return 0",
            ),
            // Every counter is read, and all are incremented only if all admit the cost: one
            // script, so no other instance's request can slip in between. The clock is Redis's
            // own (`TIME`), the same for every instance.
            check_limits: Script::new(
                r"local t = redis.call('TIME')
                  local now_ms = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
                  local cost = tonumber(ARGV[1])
                  local window = tonumber(ARGV[2])
                  local values = {}
                  local ttls = {}
                  local allowed = 1
                  for i = 1, #KEYS do
                    local v = tonumber(redis.call('GET', KEYS[i]) or '0') or 0
                    local ttl = redis.call('PTTL', KEYS[i])
                    if ttl < 0 then
                      if ttl == -2 then v = 0 end
                      ttl = window
                    end
                    values[i] = v
                    ttls[i] = ttl
                    if v + cost > tonumber(ARGV[2 + i]) then allowed = 0 end
                  end
                  if allowed == 1 and cost > 0 then
                    for i = 1, #KEYS do
                      values[i] = redis.call('INCRBY', KEYS[i], cost)
                      if redis.call('PTTL', KEYS[i]) < 0 then
                        redis.call('PEXPIRE', KEYS[i], ttls[i])
                      end
                    end
                  end
                  local out = {allowed, now_ms}
                  for i = 1, #KEYS do
                    out[#out + 1] = values[i]
                    out[#out + 1] = ttls[i]
                  end
                  return out",
            ),
        })
    }

    fn key(&self, key: &str) -> String {
        format!("{}:{key}", self.namespace)
    }

    async fn run<T>(
        &self,
        f: impl AsyncFnOnce(ConnectionManager) -> redis::RedisResult<T>,
    ) -> StateResult<T> {
        tokio::time::timeout(COMMAND_DEADLINE, f(self.connection.clone()))
            .await
            .map_err(|_| unavailable("Redis command timed out"))?
            .map_err(unavailable)
    }
}

fn millis(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX).max(1)
}

#[async_trait]
impl SharedState for RedisState {
    fn backend(&self) -> &'static str {
        "redis"
    }

    async fn ping(&self) -> StateResult<()> {
        self.run(async |mut c| redis::cmd("PING").query_async::<String>(&mut c).await)
            .await
            .map(|_| ())
    }

    async fn get(&self, key: &str) -> StateResult<Option<Vec<u8>>> {
        let key = self.key(key);
        self.run(async |mut c| c.get::<_, Option<Vec<u8>>>(key).await)
            .await
    }

    async fn set(&self, key: &str, value: &[u8], ttl: Duration) -> StateResult<()> {
        let key = self.key(key);
        self.run(async |mut c| c.pset_ex::<_, _, ()>(key, value, millis(ttl)).await)
            .await
    }

    async fn set_if_absent(&self, key: &str, value: &[u8], ttl: Duration) -> StateResult<bool> {
        let key = self.key(key);
        let reply: Option<String> = self
            .run(async |mut c| {
                redis::cmd("SET")
                    .arg(key)
                    .arg(value)
                    .arg("NX")
                    .arg("PX")
                    .arg(millis(ttl))
                    .query_async(&mut c)
                    .await
            })
            .await?;
        Ok(reply.is_some())
    }

    async fn delete(&self, key: &str) -> StateResult<()> {
        let key = self.key(key);
        self.run(async |mut c| c.del::<_, ()>(key).await).await
    }

    async fn delete_if_equals(&self, key: &str, value: &[u8]) -> StateResult<bool> {
        let key = self.key(key);
        let script = &self.delete_if_equals;
        let deleted: i64 = self
            .run(async |mut c| script.key(key).arg(value).invoke_async(&mut c).await)
            .await?;
        Ok(deleted > 0)
    }

    async fn increment(&self, key: &str, by: i64, window: Duration) -> StateResult<Counter> {
        let key = self.key(key);
        let script = &self.increment;
        let (value, ttl_ms): (i64, i64) = self
            .run(async |mut c| {
                script
                    .key(key)
                    .arg(by)
                    .arg(millis(window))
                    .invoke_async(&mut c)
                    .await
            })
            .await?;
        Ok(Counter {
            value,
            resets_in: Duration::from_millis(u64::try_from(ttl_ms).unwrap_or(0)),
        })
    }

    async fn check_limits(
        &self,
        checks: &[LimitCheck],
        cost: i64,
        window: Duration,
    ) -> StateResult<LimitOutcome> {
        let script = &self.check_limits;
        let mut invocation = script.prepare_invoke();
        for check in checks {
            invocation.key(self.key(&check.key));
        }
        invocation.arg(cost).arg(millis(window));
        for check in checks {
            invocation.arg(check.limit);
        }
        let reply: Vec<i64> = self
            .run(async |mut c| invocation.invoke_async(&mut c).await)
            .await?;
        let (head, rest) = reply
            .split_at_checked(2)
            .ok_or_else(|| StateError::Protocol("short rate-limit reply".to_owned()))?;
        if rest.len() != checks.len() * 2 {
            return Err(StateError::Protocol("rate-limit reply size".to_owned()));
        }
        Ok(LimitOutcome {
            allowed: head.first() == Some(&1),
            now_unix_ms: head.get(1).copied().unwrap_or(0),
            counters: rest
                .chunks_exact(2)
                .map(|pair| Counter {
                    value: pair[0],
                    resets_in: Duration::from_millis(u64::try_from(pair[1]).unwrap_or(0)),
                })
                .collect(),
        })
    }

    async fn publish(&self, channel: &str, message: &[u8]) -> StateResult<()> {
        let channel = format!("{}:chan:{channel}", self.namespace);
        self.run(async |mut c| c.publish::<_, _, ()>(channel, message).await)
            .await
    }

    fn subscribe(&self, channel: &str) -> Subscription {
        let receiver = match self.channels.lock() {
            Ok(mut channels) => channels
                .entry(channel.to_owned())
                .or_insert_with(|| broadcast::channel(CHANNEL_CAPACITY).0)
                .subscribe(),
            Err(_) => broadcast::channel(1).1,
        };
        Subscription { receiver }
    }
}

/// Forwards every message under `prefix` to the local subscribers of its channel, forever.
async fn pump_events(client: redis::Client, prefix: String, channels: Channels) {
    let pattern = format!("{prefix}*");
    let mut first = true;
    loop {
        match client.get_async_pubsub().await {
            Ok(mut pubsub) => match pubsub.psubscribe(&pattern).await {
                Ok(()) => {
                    if !first {
                        broadcast_to_all(&channels, Event::Resync);
                    }
                    first = false;
                    let mut messages = pubsub.on_message();
                    while let Some(message) = messages.next().await {
                        let name = message.get_channel_name();
                        let Some(channel) = name.strip_prefix(&prefix) else {
                            continue;
                        };
                        let sender = channels.lock().ok().and_then(|c| c.get(channel).cloned());
                        if let Some(sender) = sender {
                            let _ =
                                sender.send(Event::Message(message.get_payload_bytes().to_vec()));
                        }
                    }
                    tracing::warn!("Redis pub/sub connection lost; reconnecting");
                    // Whatever was published while we were away is gone.
                    broadcast_to_all(&channels, Event::Resync);
                }
                Err(error) => tracing::warn!(%error, "Redis pub/sub subscribe failed"),
            },
            Err(error) => tracing::warn!(%error, "Redis pub/sub connect failed"),
        }
        if channels.lock().map(|c| c.is_empty()).unwrap_or(false)
            && Arc::strong_count(&channels) == 1
        {
            return; // the state handle is gone and nobody listens
        }
        tokio::time::sleep(RECONNECT_DELAY).await;
    }
}

fn broadcast_to_all(channels: &Channels, event: Event) {
    if let Ok(channels) = channels.lock() {
        for sender in channels.values() {
            let _ = sender.send(event.clone());
        }
    }
}
