//! Incident response in the request path: the detection engine that every refused
//! authentication feeds (counters in the shared state, so every instance adds to the same
//! ones), and the address blocks every instance refuses at the front of the stack.
//!
//! Bounded under a flood: a detection keeps one counter per client address per window; the
//! distinct-credential detection also keeps one marker per new credential, and stops adding
//! markers once its counter reached the threshold. A detection fires once per window (when its
//! counter reaches the threshold exactly), and the store joins the address's ongoing incident,
//! so a million refusals make at most a few incident rows.

use std::net::IpAddr;
use std::sync::{Arc, RwLock};

use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use benteng_core::audit::AuditContext;
use benteng_core::incidents::{Counts, Detection, Detections};
use benteng_core::network::Network;
use benteng_shared_state::{Admission, Decision, Event, LimitCheck};
use benteng_store::{DetectionFired, Store};
use sha2::{Digest, Sha256};
use time::OffsetDateTime;

use crate::error::ApiError;
use crate::protection::client_ip::client_ip;
use crate::protection::rate_limit::address_key;
use crate::state::AppState;

/// The pub/sub channel on which a new block is announced to every instance.
pub const BLOCKS_CHANNEL: &str = "incidents:blocks";

/// One refused request, as the detection engine sees it.
#[derive(Debug, Clone)]
pub struct SecurityEvent<'a> {
    /// `api_key`, `session`, `snap`, `staff`…
    pub scheme: &'static str,
    /// Why it was refused (the audit event's reason).
    pub reason: &'static str,
    pub client_ip: Option<IpAddr>,
    /// The credential presented, only hashed here (to count distinct ones), never stored.
    pub credential: Option<&'a [u8]>,
}

/// The detections in force and the blocks this instance enforces.
pub struct Incidents {
    detections: Detections,
    blocks: RwLock<Vec<(Network, OffsetDateTime)>>,
}

impl Incidents {
    pub fn new(detections: Detections) -> Self {
        Self {
            detections,
            blocks: RwLock::new(Vec::new()),
        }
    }

    /// Whether `ip` is inside a block in force at `now`.
    pub fn is_blocked(&self, ip: IpAddr, now: OffsetDateTime) -> bool {
        match self.blocks.read() {
            Ok(blocks) => blocks
                .iter()
                .any(|(network, until)| *until > now && network.contains(ip)),
            // A poisoned lock: refuse nothing rather than everything; the next reload repairs it.
            Err(_) => false,
        }
    }

    /// Re-reads the blocks in force from the store (at start, on every announcement, and on
    /// a resync). A stored network that no longer parses is skipped and logged.
    pub async fn reload_blocks(&self, store: &Store, now: OffsetDateTime) {
        let rows = match store.active_blocks(now).await {
            Ok(rows) => rows,
            Err(error) => {
                tracing::error!(%error, "could not read address blocks; keeping the ones in force");
                return;
            }
        };
        let blocks: Vec<_> = rows
            .iter()
            .filter_map(|row| match row.network.parse::<Network>() {
                Ok(network) => Some((network, row.expires_at)),
                Err(_) => {
                    tracing::error!(block = %row.id, "stored block with an invalid network");
                    None
                }
            })
            .collect();
        if let Ok(mut held) = self.blocks.write() {
            *held = blocks;
        }
    }

    /// Loads the blocks and keeps them current: every announcement on [`BLOCKS_CHANNEL`] (or a
    /// resync) re-reads them, and a poll every few seconds catches an announcement that was
    /// lost (the CLI with the in-process state cannot announce).
    pub fn spawn_block_sync(self: &Arc<Self>, state: &AppState) {
        let mut subscription = state.shared.subscribe(BLOCKS_CHANNEL);
        let this = self.clone();
        let store = state.store.clone();
        let payments = state.payments.clone();
        tokio::spawn(async move {
            this.reload_blocks(&store, payments.now()).await;
            let mut poll = tokio::time::interval(std::time::Duration::from_secs(5));
            loop {
                tokio::select! {
                    event = subscription.next() => match event {
                        Some(Event::Message(_) | Event::Resync) => {}
                        None => break,
                    },
                    _ = poll.tick() => {}
                }
                this.reload_blocks(&store, payments.now()).await;
            }
        });
    }

    /// Feeds one refused request to every detection. Never fails the request: a shared state
    /// or store error is logged and counted.
    pub async fn observe(
        &self,
        state: &AppState,
        event: &SecurityEvent<'_>,
        context: &AuditContext,
    ) {
        metrics::counter!("security_events_total", "scheme" => event.scheme, "reason" => event.reason)
            .increment(1);
        let Some(ip) = event.client_ip else {
            return;
        };
        let address = address_key(ip);
        for detection in self.detections.iter() {
            match self.count(state, detection, &address, event).await {
                Ok(Some(count)) => {
                    self.fire(state, detection, &address, count, context).await;
                }
                Ok(None) => {}
                Err(error) => {
                    metrics::counter!("detection_errors_total").increment(1);
                    tracing::warn!(%error, detection = %detection.id, "detection could not count");
                }
            }
        }
    }

    /// Counts the event for one detection; `Some(count)` when this event made it fire.
    async fn count(
        &self,
        state: &AppState,
        detection: &Detection,
        address: &str,
        event: &SecurityEvent<'_>,
    ) -> Result<Option<i64>, benteng_shared_state::StateError> {
        let counter = LimitCheck {
            key: format!("det:{}:{address}", detection.id),
            limit: i64::MAX,
        };
        let threshold = i64::from(detection.threshold);
        match detection.counts {
            Counts::Failures => {}
            Counts::DistinctCredentials => {
                let Some(credential) = event.credential else {
                    return Ok(None);
                };
                // Already fired in this window: no more markers (bounded under a flood).
                let at_threshold = LimitCheck {
                    key: counter.key.clone(),
                    limit: threshold,
                };
                let seen = state
                    .shared
                    .admit(&Admission {
                        guard: Some(&at_threshold),
                        limits: &[],
                        key: None,
                        window: detection.window,
                    })
                    .await?;
                if matches!(seen.decision, Decision::Blocked(_)) {
                    return Ok(None);
                }
                let digest = Sha256::digest(credential);
                let marker = format!(
                    "det:{}:{address}:{}",
                    detection.id,
                    hex::encode(&digest[..12])
                );
                if !state
                    .shared
                    .set_if_absent(&marker, b"1", detection.window)
                    .await?
                {
                    return Ok(None);
                }
            }
        }
        let admitted = state
            .shared
            .admit(&Admission {
                guard: None,
                limits: std::slice::from_ref(&counter),
                key: None,
                window: detection.window,
            })
            .await?;
        Ok(match admitted.decision {
            Decision::Admitted { counters, .. } => counters
                .first()
                .map(|c| c.value)
                .filter(|value| *value == threshold),
            _ => None,
        })
    }

    async fn fire(
        &self,
        state: &AppState,
        detection: &Detection,
        address: &str,
        count: i64,
        context: &AuditContext,
    ) {
        let fired = DetectionFired {
            dedup_key: format!("address:{address}"),
            title: format!("{} from {address}", detection.description),
            client_address: Some(address.to_owned()),
            detection: detection.id.clone(),
            severity: detection.severity,
            count,
            window_secs: i64::try_from(detection.window.as_secs()).unwrap_or(i64::MAX),
            at: state.payments.now(),
        };
        let context = AuditContext {
            actor: "system:detection".to_owned(),
            ..context.clone()
        };
        match state.store.record_detection(&fired, &context).await {
            Ok(incident) => {
                metrics::counter!("detections_fired_total", "detection" => detection.id.clone())
                    .increment(1);
                tracing::warn!(target: "security", detection = %detection.id, %incident, "detection fired");
            }
            Err(error) => {
                tracing::error!(%error, detection = %detection.id, "could not record a detection");
            }
        }
    }
}

/// The front of the stack: a request from a blocked address or network is refused before
/// anything else runs (authentication included), whatever it presents.
pub async fn refuse_blocked(
    State(state): State<AppState>,
    request: Request,
    next: Next,
) -> Response {
    if let Some(ip) = client_ip(request.extensions())
        && state.incidents.is_blocked(ip, state.payments.now())
    {
        metrics::counter!("blocked_requests_total").increment(1);
        return ApiError::Refused {
            status: axum::http::StatusCode::FORBIDDEN,
            slug: "address-blocked",
            title: "Address blocked",
            detail: "requests from this address are blocked".to_owned(),
        }
        .into_response();
    }
    next.run(request).await
}
