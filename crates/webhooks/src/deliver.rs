//! The delivery worker: claims due deliveries from the store (a claim lapses after the
//! visibility timeout, so a crashed instance's deliveries are taken up again, and until then no
//! one else sends them), signs each event and POSTs it, records the attempt and schedules the
//! next one.
//!
//! Each attempt: the endpoint's host is resolved and every address checked against the
//! policy, and the connection goes only to addresses the resolver checked again (DNS
//! rebinding); redirects are never followed (a 3xx is a failure); the whole exchange is bounded
//! by the request timeout (15 s); at most 2 KiB of the answer is read and kept. 2xx delivers,
//! 410 disables the endpoint, anything else retries on the schedule
//! (`benteng_core::webhooks::RETRY_DELAYS_SECS`, jittered), a `Retry-After` is honoured within
//! bounds.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Instant;

use benteng_core::audit::{AuditContext, AuditEvent, Retention};
use benteng_core::ids::EventId;
use benteng_core::webhooks::{
    AddressPolicy, EndpointUrl, EventType, Notice, clamp_retry_after, jittered, retry_delay,
    rfc3339,
};
use benteng_crypto::jws::JwsAlg;
use benteng_store::{AttemptRow, ClaimedDelivery, DeliveryNext, TenantNoticeRow};
use reqwest::dns::{Addrs, Name, Resolve, Resolving};
use serde_json::Value;
use time::OffsetDateTime;

use crate::keys::GenerationSigner;
use crate::{DNS_TIMEOUT, WebhookError, Webhooks, resolve_checked};

/// An endpoint whose every attempt failed for this long is disabled (with its reason and an
/// audit event); the tenant is told by a `webhook_endpoint.disabled` event and a notice, and
/// sees it in the endpoint's `enabled` and `disabled_reason`.
pub const DISABLE_AFTER: time::Duration = time::Duration::days(5);

/// How long back-to-back passes may run before the worker's other duties get a turn.
const DRAIN_TURN: std::time::Duration = std::time::Duration::from_secs(5);

/// The most of a receiver's answer that is read and kept.
pub const EXCERPT_BYTES: usize = 2048;

/// Resolves names for the delivery client and refuses any answer holding an address the policy
/// does not permit, so the address connected to is always one that was checked.
struct PolicyResolver {
    policy: AddressPolicy,
}

impl Resolve for PolicyResolver {
    fn resolve(&self, name: Name) -> Resolving {
        let policy = self.policy.clone();
        let host = name.as_str().to_owned();
        Box::pin(async move {
            let found: Vec<SocketAddr> =
                tokio::time::timeout(DNS_TIMEOUT, tokio::net::lookup_host((host.as_str(), 0)))
                    .await
                    .map_err(|_| "DNS timeout")??
                    .collect();
            if found.is_empty() || found.iter().any(|a| !policy.permits(a.ip())) {
                return Err("the host resolves to an address deliveries may not reach".into());
            }
            Ok(Box::new(found.into_iter()) as Addrs)
        })
    }
}

/// The client every outgoing webhook goes through: no redirects, no proxy, the operator's
/// timeouts, and names resolved only to addresses the policy permits.
pub(crate) fn delivery_client(
    settings: &crate::WebhookSettings,
    user_agent: &'static str,
) -> Result<reqwest::Client, WebhookError> {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .no_proxy()
        .timeout(settings.request_timeout)
        .connect_timeout(
            settings
                .request_timeout
                .min(std::time::Duration::from_secs(5)),
        )
        .user_agent(user_agent)
        .dns_resolver(Arc::new(PolicyResolver {
            policy: settings.policy.clone(),
        }))
        .build()
        .map_err(|e| WebhookError::Destination(format!("HTTP client: {e}")))
}

pub struct DeliveryWorker {
    webhooks: Arc<Webhooks>,
    client: reqwest::Client,
}

/// What one attempt found.
struct Sent {
    status: Option<u16>,
    outcome: &'static str,
    error: Option<String>,
    excerpt: String,
    retry_after: Option<u64>,
}

impl DeliveryWorker {
    pub fn new(webhooks: Arc<Webhooks>) -> Result<Self, WebhookError> {
        let client = delivery_client(&webhooks.settings, "benteng-webhooks/1")?;
        Ok(Self { webhooks, client })
    }

    /// Runs until the process ends.
    pub fn spawn(self) -> tokio::task::JoinHandle<()> {
        tokio::spawn(async move {
            let worker = Arc::new(self);
            let mut ticker = tokio::time::interval(worker.webhooks.settings.poll_interval);
            ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            let mut last_key_check: Option<Instant> = None;
            let mut last_stats: Option<Instant> = None;
            loop {
                ticker.tick().await;
                if last_key_check.is_none_or(|at| at.elapsed().as_secs() >= 60) {
                    last_key_check = Some(Instant::now());
                    if let Err(error) = worker.webhooks.keys.ensure().await {
                        tracing::warn!(%error, "webhook key schedule failed");
                    }
                    if let Err(error) = worker.webhooks.notice_expiring_keys().await {
                        tracing::warn!(%error, "API key expiry notices failed");
                    }
                }
                worker.clone().drain().await;
                if last_stats.is_none_or(|at| at.elapsed().as_secs() >= 10) {
                    last_stats = Some(Instant::now());
                    worker.publish_stats().await;
                }
            }
        })
    }

    /// Passes back to back while they find work (a backlog drains at the receivers' pace, not
    /// one batch per poll interval; the per-endpoint throttle can make a busy pass claim less
    /// than a batch), for at most a few seconds so the key schedule and the queue's metrics
    /// still get their turn.
    async fn drain(self: Arc<Self>) {
        let started = Instant::now();
        loop {
            match self.clone().pass().await {
                Ok(tried) if tried > 0 && started.elapsed() < DRAIN_TURN => {}
                Ok(_) => return,
                Err(error) => {
                    tracing::warn!(%error, "webhook delivery pass failed");
                    return;
                }
            }
        }
    }

    /// Claims a batch and attempts each delivery concurrently; returns how many were tried.
    pub async fn pass(self: Arc<Self>) -> Result<usize, WebhookError> {
        let settings = &self.webhooks.settings;
        let now = self.webhooks.clock.now();
        let lock_until = now
            + time::Duration::try_from(settings.visibility_timeout)
                .unwrap_or(time::Duration::minutes(1));
        // The longest an attempt can run: its DNS answer, its request, and a margin. An older
        // claim is a dead worker's and no longer takes a place in its endpoint's throttle.
        let attempt_bound = time::Duration::try_from(
            settings.request_timeout + DNS_TIMEOUT + std::time::Duration::from_secs(5),
        )
        .unwrap_or(time::Duration::minutes(1));
        let claimed = self
            .webhooks
            .store
            .claim_webhook_deliveries(
                now,
                lock_until,
                lock_until - attempt_bound,
                settings.batch,
                settings.per_endpoint_in_flight,
            )
            .await?;
        let count = claimed.len();
        let mut tasks = tokio::task::JoinSet::new();
        for claim in claimed {
            let worker = self.clone();
            tasks.spawn(async move { worker.attempt(claim).await });
        }
        while let Some(done) = tasks.join_next().await {
            match done {
                Ok(Err(error)) => tracing::warn!(%error, "webhook attempt not recorded"),
                Err(error) => tracing::warn!(%error, "webhook attempt task failed"),
                Ok(Ok(())) => {}
            }
        }
        Ok(count)
    }

    /// The queue's state in `/metrics`: pending and due deliveries, the age of the oldest due
    /// one, failed ones.
    async fn publish_stats(&self) {
        let now = self.webhooks.clock.now();
        if let Ok(stats) = self.webhooks.store.webhook_queue_stats(now).await {
            metrics::gauge!("webhook_deliveries_pending").set(stats.pending as f64);
            metrics::gauge!("webhook_deliveries_due").set(stats.due as f64);
            metrics::gauge!("webhook_oldest_due_seconds").set(stats.oldest_due_secs as f64);
            metrics::gauge!("webhook_deliveries_failed").set(stats.failed as f64);
        }
    }

    async fn attempt(&self, claim: ClaimedDelivery) -> Result<(), WebhookError> {
        let started_at = self.webhooks.clock.now();
        let clock = Instant::now();
        let sent = self.send(&claim, started_at).await;
        let latency_ms = i64::try_from(clock.elapsed().as_millis()).unwrap_or(i64::MAX);
        metrics::counter!("webhook_attempts_total", "outcome" => sent.outcome).increment(1);
        let finished = self.webhooks.clock.now();
        let next = match (sent.outcome, sent.status) {
            ("delivered", _) => DeliveryNext::Delivered,
            (_, Some(410)) => DeliveryNext::Failed,
            ("invalid_url", _) => DeliveryNext::Failed,
            _ => match retry_delay(claim.attempt) {
                None => DeliveryNext::Failed,
                Some(scheduled) => {
                    let delay = match sent.retry_after {
                        Some(secs) => clamp_retry_after(secs, scheduled),
                        None => jittered(scheduled, unit_random()),
                    };
                    DeliveryNext::RetryAt(finished + delay)
                }
            },
        };
        let row = AttemptRow {
            attempt: claim.attempt,
            started_at,
            status: sent.status,
            outcome: sent.outcome.to_owned(),
            error: sent.error,
            latency_ms,
            response_excerpt: sent.excerpt,
        };
        let recorded = self
            .webhooks
            .store
            .finish_webhook_attempt(&claim, &row, next, finished)
            .await?;
        let reason = if sent.status == Some(410) {
            Some("the receiver answered 410 Gone".to_owned())
        } else {
            recorded
                .failing_since
                .filter(|since| finished - *since >= DISABLE_AFTER)
                .map(|since| {
                    format!(
                        "every attempt failed since {}",
                        benteng_core::webhooks::rfc3339(since)
                    )
                })
        };
        if let Some(reason) = reason {
            self.disable(&claim, &reason, finished).await?;
        }
        Ok(())
    }

    /// Disables the endpoint the system gave up on and tells its tenant, in one transaction:
    /// the audit event, a `webhook_endpoint.disabled` event (to the tenant's other endpoints)
    /// and an e-mail-shaped notice (`GET /v1/notices`).
    async fn disable(
        &self,
        claim: &ClaimedDelivery,
        reason: &str,
        at: OffsetDateTime,
    ) -> Result<(), WebhookError> {
        let endpoint = &claim.endpoint;
        let event = AuditEvent::new(
            &AuditContext::system("webhooks").for_tenant(endpoint.tenant_id),
            "webhook_endpoint.disabled",
            Retention::Security,
            ("webhook_endpoint", endpoint.id.to_string()),
        )
        .at(at)
        .change("enabled", true.into(), false.into())
        .change("reason", Value::Null, reason.into());
        let notice = Notice {
            id: EventId::new(),
            tenant_id: endpoint.tenant_id,
            environment: endpoint.environment,
            event_type: EventType::WebhookEndpointDisabled,
            object_type: "webhook_endpoint".to_owned(),
            object_id: endpoint.id.to_string(),
            data: serde_json::json!({
                "url": endpoint.url,
                "reason": reason,
                "disabled_at": rfc3339(at),
            }),
            created_at: at,
        };
        let mail = TenantNoticeRow {
            id: uuid::Uuid::new_v4(),
            tenant_id: endpoint.tenant_id,
            subject: format!("Webhook endpoint disabled: {}", endpoint.url),
            body: format!(
                "benteng stopped delivering events to your webhook endpoint {url} (id {id}) on \
                 {at}: {reason}.\n\nNo event is lost: its deliveries wait. Once the endpoint \
                 answers again, re-enable it (POST /v1/webhook-endpoints/{id} with \
                 {{\"enabled\": true}}) and, for what failed for good, replay the events since \
                 a time (POST /v1/webhook-endpoints/{id}/replay).",
                url = endpoint.url,
                id = endpoint.id,
                at = rfc3339(at),
            ),
            created_at: at,
        };
        self.webhooks
            .store
            .disable_webhook_endpoint(endpoint.id, reason, at, &event, &notice, &mail)
            .await?;
        Ok(())
    }

    async fn send(&self, claim: &ClaimedDelivery, now: OffsetDateTime) -> Sent {
        let failed = |outcome: &'static str, error: String| Sent {
            status: None,
            outcome,
            error: Some(error),
            excerpt: String::new(),
            retry_after: None,
        };
        let url = match EndpointUrl::parse(&claim.endpoint.url, self.webhooks.settings.allow_http) {
            Ok(url) => url,
            Err(error) => return failed("invalid_url", error.to_string()),
        };
        if let Err(error) = resolve_checked(&url, &self.webhooks.settings.policy).await {
            return failed("refused_address", error.to_string());
        }
        let signer = match self.webhooks.keys.signer().await {
            Ok(signer) => signer,
            Err(error) => return failed("no_signing_key", error.to_string()),
        };
        let iat = now.unix_timestamp();
        let signed = match claim.endpoint.snap_partner_id {
            Some(partner) => {
                self.snap_signed(claim, partner, &url, &signer.rsa, now)
                    .await
            }
            None => jws_signed(claim, &signer, iat),
        };
        let (body, headers) = match signed {
            Ok(signed) => signed,
            Err(error) => return failed("internal", error),
        };
        let mut request = self
            .client
            .post(url.as_str())
            .header("content-type", "application/json")
            .header("webhook-id", claim.notice.id.to_string())
            .header("webhook-timestamp", iat.to_string());
        for (name, value) in headers {
            request = request.header(name, value);
        }
        let request = request.body(body);
        let mut response = match request.send().await {
            Ok(response) => response,
            Err(error) if error.is_timeout() => return failed("timeout", error.to_string()),
            Err(error) => return failed("connect_error", error_chain(&error)),
        };
        let status = response.status().as_u16();
        let retry_after = response
            .headers()
            .get("retry-after")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse::<u64>().ok());
        let mut excerpt = Vec::new();
        let mut read_error = None;
        while excerpt.len() < EXCERPT_BYTES {
            match response.chunk().await {
                Ok(Some(chunk)) => excerpt.extend_from_slice(&chunk),
                Ok(None) => break,
                Err(error) => {
                    read_error = Some(error.to_string());
                    break;
                }
            }
        }
        // The rest of the answer is never read: the connection is dropped.
        drop(response);
        excerpt.truncate(EXCERPT_BYTES);
        let mut excerpt = String::from_utf8_lossy(&excerpt).into_owned();
        while excerpt.len() > EXCERPT_BYTES {
            excerpt.pop();
        }
        let outcome = match status {
            200..=299 => "delivered",
            300..=399 => "redirect",
            _ => "http_error",
        };
        Sent {
            status: Some(status),
            outcome,
            error: read_error,
            excerpt,
            retry_after: if matches!(status, 429 | 503) {
                retry_after
            } else {
                None
            },
        }
    }
}

type Signed = Result<(Vec<u8>, Vec<(&'static str, String)>), String>;

/// A tenant endpoint's delivery: the event JSON, signed as a compact JWS in
/// `webhook-signature` (`v1jws,…`).
fn jws_signed(claim: &ClaimedDelivery, signer: &GenerationSigner, iat: i64) -> Signed {
    let body =
        serde_json::to_vec(&claim.notice.payload(claim.sequence)).map_err(|e| e.to_string())?;
    let alg = JwsAlg::parse(&claim.endpoint.alg).unwrap_or(JwsAlg::Rs256);
    let jws = signer
        .sign_compact(alg, iat, &body)
        .map_err(|e| e.to_string())?;
    Ok((body, vec![("webhook-signature", format!("v1jws,{jws}"))]))
}

impl DeliveryWorker {
    /// A SNAP partner's notification: SNAP's body and headers (see [`crate::snap`]).
    async fn snap_signed(
        &self,
        claim: &ClaimedDelivery,
        partner: uuid::Uuid,
        url: &EndpointUrl,
        key: &benteng_crypto::jws::RsaSigningKey,
        now: OffsetDateTime,
    ) -> Signed {
        let partner = self
            .webhooks
            .store
            .snap_partner(partner)
            .await
            .map_err(|e| e.to_string())?;
        let body = crate::snap::notification_body(claim)?;
        let (path, query) = url.path_and_query();
        let headers =
            crate::snap::signed_headers(key, &partner.client_id, path, query, &body, claim, now)?;
        Ok((body, headers))
    }
}

fn error_chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text.chars().take(500).collect()
}

/// A uniform number in [0, 1) for jitter.
fn unit_random() -> f64 {
    let bytes = benteng_crypto::random_bytes::<8>().unwrap_or([0; 8]);
    (u64::from_le_bytes(bytes) >> 11) as f64 / (1u64 << 53) as f64
}
