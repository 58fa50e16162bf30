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
use benteng_core::store_link::{StoreLink, StoreTls};
use futures::StreamExt;
use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use redis::{AsyncCommands, ConnectionAddr, ConnectionInfo, IntoConnectionInfo, Script};
use tokio::sync::broadcast;

use crate::{
    Admission, Admitted, CHANNEL_CAPACITY, Counter, Decision, Event, KeyLock, KeyState,
    SharedState, StateError, StateResult, Subscription,
};

/// [`SharedState::admit`]. KEYS: the guard counter (when ARGV[1] is 1), the limit counters
/// (ARGV[2] of them), then the key's stored response and lock (when given). ARGV: the guard
/// flag, the number of limits, the window (ms), the guard's limit, each limit, then the lock's
/// owner and TTL (ms). Replies `{code, now_ms, {value, ttl_ms, …}, stored response or nil}` with
/// code 0 blocked (the guard's counter), 1 limited, 2 admitted without a key, 3 completed,
/// 4 locked, 5 in flight. The clock is Redis's own (`TIME`), the same for every instance.
const ADMIT: &str = r"
local t = redis.call('TIME')
local now_ms = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local guarded = ARGV[1] == '1'
local limits = tonumber(ARGV[2])
local window = tonumber(ARGV[3])
local function counter(key)
  local value = tonumber(redis.call('GET', key) or '0') or 0
  local ttl = redis.call('PTTL', key)
  if ttl == -2 then value = 0 end
  if ttl < 0 then ttl = window end
  return value, ttl
end
local first = 1
if guarded then
  local value, ttl = counter(KEYS[1])
  if value >= tonumber(ARGV[4]) then return {0, now_ms, {value, ttl}, false} end
  first = 2
end
local counters = {}
local admitted = true
for i = 1, limits do
  local value, ttl = counter(KEYS[first + i - 1])
  counters[2 * i - 1] = value
  counters[2 * i] = ttl
  if value + 1 > tonumber(ARGV[4 + i]) then admitted = false end
end
if not admitted then return {1, now_ms, counters, false} end
for i = 1, limits do
  local key = KEYS[first + i - 1]
  counters[2 * i - 1] = redis.call('INCR', key)
  if redis.call('PTTL', key) < 0 then redis.call('PEXPIRE', key, counters[2 * i]) end
end
local response = KEYS[first + limits]
if not response then return {2, now_ms, counters, false} end
local stored = redis.call('GET', response)
if stored then return {3, now_ms, counters, stored} end
local lock = KEYS[first + limits + 1]
if redis.call('SET', lock, ARGV[5 + limits], 'NX', 'PX', ARGV[6 + limits]) then
  return {4, now_ms, counters, false}
end
return {5, now_ms, counters, false}
";

const COMMAND_DEADLINE: Duration = Duration::from_secs(2);
const RECONNECT_DELAY: Duration = Duration::from_millis(250);

type Channels = Arc<Mutex<HashMap<String, broadcast::Sender<Event>>>>;

pub struct RedisState {
    connection: ConnectionManager,
    namespace: String,
    channels: Channels,
    admit: Script,
    finish: Script,
}

fn unavailable(error: impl std::fmt::Display) -> StateError {
    StateError::Unavailable(error.to_string())
}

fn config(error: impl std::fmt::Display) -> StateError {
    StateError::Config(error.to_string())
}

/// The URL as the client reads it, refused when it is not `redis://` or `rediss://`, or when
/// TLS files are set that a `redis://` URL would silently ignore.
fn connection_info(url: &str, tls: &StoreTls) -> StateResult<ConnectionInfo> {
    if !url.starts_with("redis://") && !url.starts_with("rediss://") {
        return Err(config(
            "unsupported cache URL: use memory://, redis://… or rediss://…",
        ));
    }
    let info = url.into_connection_info().map_err(config)?;
    tls.client_identity().map_err(config)?;
    if tls.is_set() && !matches!(info.addr(), ConnectionAddr::TcpTls { .. }) {
        return Err(config(
            "TLS files are set but the cache URL is not rediss://",
        ));
    }
    Ok(info)
}

pub(crate) fn link(url: &str, tls: &StoreTls) -> StateResult<StoreLink> {
    match connection_info(url, tls)?.addr() {
        ConnectionAddr::Tcp(host, _) => Ok(StoreLink::Tcp {
            host: host.clone(),
            verified_tls: false,
        }),
        ConnectionAddr::TcpTls { host, insecure, .. } => Ok(StoreLink::Tcp {
            host: host.clone(),
            verified_tls: !insecure,
        }),
        ConnectionAddr::Unix(_) => Ok(StoreLink::Local),
        // A transport this code does not know is not judged safe.
        _ => Err(config("unsupported cache address")),
    }
}

/// The client for `url`: over TLS (`rediss://`) it verifies the server against `tls.ca_file`
/// (only that CA) or else Mozilla's roots, and presents the client certificate when one is set.
fn client(url: &str, tls: &StoreTls) -> StateResult<redis::Client> {
    let info = connection_info(url, tls)?;
    if !tls.is_set() {
        return redis::Client::open(info).map_err(config);
    }
    let read = |path: &std::path::Path| {
        std::fs::read(path).map_err(|error| config(format!("reading {}: {error}", path.display())))
    };
    let client_tls = match tls.client_identity().map_err(config)? {
        Some((cert, key)) => Some(redis::ClientTlsConfig {
            client_cert: read(cert)?,
            client_key: read(key)?,
        }),
        None => None,
    };
    let root_cert = tls.ca_file.as_deref().map(read).transpose()?;
    redis::Client::build_with_tls(
        info,
        redis::TlsCertificates {
            client_tls,
            root_cert,
        },
    )
    .map_err(config)
}

impl RedisState {
    pub async fn connect(url: &str, namespace: &str, tls: &StoreTls) -> StateResult<Self> {
        let client = client(url, tls)?;
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
            admit: Script::new(ADMIT),
            finish: Script::new(
                r"if #ARGV == 3 then
                    redis.call('SET', KEYS[1], ARGV[2], 'PX', ARGV[3])
                  end
                  if redis.call('GET', KEYS[2]) == ARGV[1] then
                    redis.call('DEL', KEYS[2])
                  end
                  return 0",
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

    async fn admit(&self, admission: &Admission<'_>) -> StateResult<Admitted> {
        let mut invocation = self.admit.prepare_invoke();
        let guard_limit = match admission.guard {
            Some(guard) => {
                invocation.key(self.key(&guard.key));
                Some(guard.limit)
            }
            None => None,
        };
        for check in admission.limits {
            invocation.key(self.key(&check.key));
        }
        invocation
            .arg(i64::from(guard_limit.is_some()))
            .arg(admission.limits.len())
            .arg(millis(admission.window))
            .arg(guard_limit.unwrap_or(0));
        for check in admission.limits {
            invocation.arg(check.limit);
        }
        if let Some(key) = admission.key {
            invocation
                .key(self.key(&key.response_key))
                .key(self.key(&key.lock_key))
                .arg(&key.owner)
                .arg(millis(key.ttl));
        }
        let (code, now_unix_ms, pairs, stored): (i64, i64, Vec<i64>, Option<Vec<u8>>) = self
            .run(async |mut c| invocation.invoke_async(&mut c).await)
            .await?;
        let counters: Vec<Counter> = pairs
            .chunks_exact(2)
            .map(|pair| Counter {
                value: pair[0],
                resets_in: Duration::from_millis(u64::try_from(pair[1]).unwrap_or(0)),
            })
            .collect();
        let short = || StateError::Protocol("admission reply size".to_owned());
        let expected = if code == 0 { 1 } else { admission.limits.len() };
        if pairs.len() != 2 * expected {
            return Err(short());
        }
        let key = match (code, stored) {
            (3, Some(stored)) => Some(KeyState::Completed(stored)),
            (4, _) => Some(KeyState::Locked),
            (5, _) => Some(KeyState::InFlight),
            _ => None,
        };
        let decision = match code {
            0 => Decision::Blocked(counters.first().copied().ok_or_else(short)?),
            1 => Decision::Limited(counters),
            2..=5 => Decision::Admitted { counters, key },
            _ => return Err(StateError::Protocol("admission reply code".to_owned())),
        };
        Ok(Admitted {
            now_unix_ms,
            decision,
        })
    }

    async fn finish(&self, key: &KeyLock, response: Option<(&[u8], Duration)>) -> StateResult<()> {
        let mut invocation = self.finish.prepare_invoke();
        invocation
            .key(self.key(&key.response_key))
            .key(self.key(&key.lock_key))
            .arg(&key.owner);
        if let Some((value, ttl)) = response {
            invocation.arg(value).arg(millis(ttl));
        }
        self.run(async |mut c| invocation.invoke_async::<()>(&mut c).await)
            .await
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
