//! Outgoing webhooks: the tenants' endpoints (commands the tenant and operator APIs share),
//! the signing keys and their JWKS (`keys`), and the delivery worker (`deliver`).
//!
//! The events themselves are written by whoever makes the change, in its transaction (the
//! outbox, `benteng_store`); this crate only reads them back and sends them.

pub mod alerts;
pub mod deliver;
pub mod keys;
pub mod snap;

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use benteng_core::api_key::KeyEnvironment;
use benteng_core::audit::{AuditContext, AuditEvent, Retention};
use benteng_core::clock::Clock;
use benteng_core::ids::{EndpointId, EventId, TenantId};
use benteng_core::webhooks::{AddressPolicy, EndpointUrl, EventType, EventTypes, Notice, UrlHost};
use benteng_crypto::jws::JwsAlg;
use benteng_store::{EndpointRow, Store, StoreError};
use serde_json::{Value, json};

pub use deliver::DeliveryWorker;
pub use keys::{KeyState, SigningKeys};

#[derive(Debug, thiserror::Error)]
pub enum WebhookError {
    /// The endpoint's host resolves to an address deliveries may not reach, or not at all.
    #[error("{0}")]
    Destination(String),
    #[error("not found")]
    NotFound,
    #[error("no webhook signing key signs yet")]
    NoSigningKey,
    /// The generation signing now was made before ES256 existed (its successor will sign it).
    #[error("no signing key with a P-256 half signs yet")]
    NoEs256Key,
    #[error("signing key: {0}")]
    Key(String),
    #[error(transparent)]
    Store(StoreError),
}

impl From<StoreError> for WebhookError {
    fn from(error: StoreError) -> Self {
        match error {
            StoreError::NotFound => Self::NotFound,
            other => Self::Store(other),
        }
    }
}

/// The operator's settings (`[webhooks]`).
#[derive(Debug, Clone)]
pub struct WebhookSettings {
    pub policy: AddressPolicy,
    /// Accept `http://` endpoint URLs (tests and private deployments only).
    pub allow_http: bool,
    pub request_timeout: Duration,
    pub visibility_timeout: Duration,
    pub poll_interval: Duration,
    pub batch: u32,
    /// At most this many deliveries in flight to one endpoint, across every instance.
    pub per_endpoint_in_flight: u32,
}

impl Default for WebhookSettings {
    fn default() -> Self {
        Self {
            policy: AddressPolicy::default(),
            allow_http: false,
            request_timeout: Duration::from_secs(15),
            visibility_timeout: Duration::from_secs(60),
            poll_interval: Duration::from_secs(1),
            batch: 20,
            per_endpoint_in_flight: 4,
        }
    }
}

/// A new endpoint, parsed.
#[derive(Debug, Clone)]
pub struct NewEndpoint {
    pub url: EndpointUrl,
    pub event_types: EventTypes,
    pub description: String,
    pub alg: JwsAlg,
    /// A SNAP partner's notification endpoint (see [`snap`]); `None` for a tenant's own.
    pub snap_partner: Option<uuid::Uuid>,
}

/// What an update may change; `None` leaves a field as it is.
#[derive(Debug, Clone, Default)]
pub struct EndpointChange {
    pub url: Option<EndpointUrl>,
    pub event_types: Option<EventTypes>,
    pub description: Option<String>,
    pub alg: Option<JwsAlg>,
    pub enabled: Option<bool>,
}

pub struct Webhooks {
    pub store: Store,
    pub keys: Arc<SigningKeys>,
    pub clock: Arc<dyn Clock>,
    pub settings: WebhookSettings,
}

/// How far back a replay reaches.
pub const REPLAY_WINDOW: time::Duration = time::Duration::days(30);

pub(crate) const DNS_TIMEOUT: Duration = Duration::from_secs(5);

/// Resolves `url`'s host and checks every address against `policy`: one refused address
/// refuses the endpoint (a name answering with a private address among public ones is how
/// rebinding starts).
pub async fn resolve_checked(
    url: &EndpointUrl,
    policy: &AddressPolicy,
) -> Result<Vec<SocketAddr>, WebhookError> {
    let port = url.port();
    let addresses: Vec<SocketAddr> = match url.host() {
        UrlHost::Ip(ip) => vec![SocketAddr::new(ip, port)],
        UrlHost::Name(name) => {
            let lookup = tokio::net::lookup_host((name.as_str(), port));
            match tokio::time::timeout(DNS_TIMEOUT, lookup).await {
                Ok(Ok(found)) => found.collect(),
                Ok(Err(_)) | Err(_) => {
                    return Err(WebhookError::Destination(
                        "the host name does not resolve".to_owned(),
                    ));
                }
            }
        }
    };
    if addresses.is_empty() {
        return Err(WebhookError::Destination(
            "the host name does not resolve".to_owned(),
        ));
    }
    if let Some(refused) = addresses.iter().find(|a| !policy.permits(a.ip())) {
        return Err(WebhookError::Destination(format!(
            "resolves to {}, which is not a public address",
            describe(refused.ip())
        )));
    }
    Ok(addresses)
}

fn describe(ip: IpAddr) -> String {
    ip.to_string()
}

fn endpoint_json(row: &EndpointRow) -> Value {
    json!({
        "url": row.url,
        "event_types": row.event_types.names(),
        "description": row.description,
        "alg": row.alg,
        "enabled": row.enabled,
        "snap_partner_id": row.snap_partner_id.map(|id| id.to_string()),
    })
}

impl Webhooks {
    pub fn new(
        store: Store,
        keys: Arc<SigningKeys>,
        clock: Arc<dyn Clock>,
        settings: WebhookSettings,
    ) -> Self {
        Self {
            store,
            keys,
            clock,
            settings,
        }
    }

    pub fn parse_url(
        &self,
        text: &str,
    ) -> Result<EndpointUrl, benteng_core::webhooks::EndpointUrlError> {
        EndpointUrl::parse(text, self.settings.allow_http)
    }

    /// ES256 is refused while the generation signing now has no P-256 half (one made before
    /// ES256 existed): its deliveries could not be signed until the successor signs.
    async fn check_alg(&self, alg: JwsAlg) -> Result<(), WebhookError> {
        if alg == JwsAlg::Es256 && !self.keys.signs_es256().await? {
            return Err(WebhookError::NoEs256Key);
        }
        Ok(())
    }

    /// Creates an endpoint after checking where its URL leads; audited `webhook_endpoint.created`.
    pub async fn create_endpoint(
        &self,
        tenant: TenantId,
        environment: KeyEnvironment,
        new: NewEndpoint,
        audit: &AuditContext,
    ) -> Result<EndpointRow, WebhookError> {
        resolve_checked(&new.url, &self.settings.policy).await?;
        self.check_alg(new.alg).await?;
        let now = self.clock.now();
        let row = EndpointRow {
            id: EndpointId::new(),
            tenant_id: tenant,
            environment,
            url: new.url.as_str().to_owned(),
            event_types: new.event_types,
            description: new.description,
            alg: new.alg.as_str().to_owned(),
            enabled: true,
            disabled_reason: None,
            created_at: now,
            updated_at: now,
            snap_partner_id: new.snap_partner,
        };
        let event = AuditEvent::new(
            &audit.for_tenant(tenant),
            "webhook_endpoint.created",
            Retention::Security,
            ("webhook_endpoint", row.id.to_string()),
        )
        .at(now)
        .change("endpoint", Value::Null, endpoint_json(&row));
        self.store.create_webhook_endpoint(&row, &event).await?;
        Ok(row)
    }

    /// Changes an endpoint of `tenant`; a new URL is checked like a new endpoint's.
    pub async fn update_endpoint(
        &self,
        tenant: TenantId,
        id: EndpointId,
        change: EndpointChange,
        audit: &AuditContext,
    ) -> Result<EndpointRow, WebhookError> {
        let before = self.store.webhook_endpoint(Some(tenant), id).await?;
        if let Some(url) = &change.url {
            resolve_checked(url, &self.settings.policy).await?;
        }
        if let Some(alg) = change.alg {
            self.check_alg(alg).await?;
        }
        let now = self.clock.now();
        let mut after = before.clone();
        if let Some(url) = change.url {
            after.url = url.as_str().to_owned();
        }
        if let Some(types) = change.event_types {
            after.event_types = types;
        }
        if let Some(description) = change.description {
            after.description = description;
        }
        if let Some(alg) = change.alg {
            after.alg = alg.as_str().to_owned();
        }
        if let Some(enabled) = change.enabled {
            after.enabled = enabled;
            after.disabled_reason = (!enabled).then(|| "disabled by the tenant".to_owned());
        }
        after.updated_at = now;
        let event = AuditEvent::new(
            &audit.for_tenant(tenant),
            "webhook_endpoint.updated",
            Retention::Security,
            ("webhook_endpoint", id.to_string()),
        )
        .at(now)
        .change("endpoint", endpoint_json(&before), endpoint_json(&after));
        self.store.update_webhook_endpoint(&after, &event).await?;
        Ok(after)
    }

    pub async fn delete_endpoint(
        &self,
        tenant: TenantId,
        id: EndpointId,
        audit: &AuditContext,
    ) -> Result<(), WebhookError> {
        let before = self.store.webhook_endpoint(Some(tenant), id).await?;
        let now = self.clock.now();
        let event = AuditEvent::new(
            &audit.for_tenant(tenant),
            "webhook_endpoint.deleted",
            Retention::Security,
            ("webhook_endpoint", id.to_string()),
        )
        .at(now)
        .change("endpoint", endpoint_json(&before), Value::Null);
        self.store
            .delete_webhook_endpoint(tenant, id, now, &event)
            .await?;
        Ok(())
    }

    /// Sends one event to the endpoint again, from a first attempt; the receiver recognises
    /// it by its unchanged `event_id`.
    pub async fn resend(
        &self,
        tenant: TenantId,
        endpoint: EndpointId,
        event: EventId,
        audit: &AuditContext,
    ) -> Result<(), WebhookError> {
        self.store.webhook_endpoint(Some(tenant), endpoint).await?;
        let now = self.clock.now();
        let record = AuditEvent::new(
            &audit.for_tenant(tenant),
            "webhook_delivery.resent",
            Retention::App,
            ("webhook_endpoint", endpoint.to_string()),
        )
        .at(now)
        .change("event_id", Value::Null, event.to_string().into());
        self.store
            .resend_webhook_delivery(tenant, endpoint, event, now, &record)
            .await?;
        Ok(())
    }

    /// Queues every event since `since` (at most [`REPLAY_WINDOW`] ago) the endpoint subscribes
    /// to and did not get; returns how many.
    pub async fn replay(
        &self,
        tenant: TenantId,
        endpoint: EndpointId,
        since: time::OffsetDateTime,
        audit: &AuditContext,
    ) -> Result<u64, WebhookError> {
        let row = self.store.webhook_endpoint(Some(tenant), endpoint).await?;
        let now = self.clock.now();
        let since = since.max(now - REPLAY_WINDOW);
        let record = AuditEvent::new(
            &audit.for_tenant(tenant),
            "webhook_endpoint.replayed",
            Retention::App,
            ("webhook_endpoint", endpoint.to_string()),
        )
        .at(now)
        .change("since", Value::Null, since.unix_timestamp().into());
        Ok(self
            .store
            .replay_webhook_events(&row, since, now, &record)
            .await?)
    }

    /// Writes `api_key.expiring` for every key expiring within
    /// [`benteng_core::webhooks::API_KEY_EXPIRY_NOTICE`] that was not told yet (once per key);
    /// the delivery worker runs it every minute. Returns how many it wrote.
    pub async fn notice_expiring_keys(&self) -> Result<u64, WebhookError> {
        let now = self.clock.now();
        let until = now + benteng_core::webhooks::API_KEY_EXPIRY_NOTICE;
        Ok(self.store.notice_expiring_api_keys(now, until).await?)
    }

    /// Queues a `webhook.test` event for this endpoint alone.
    pub async fn send_test(
        &self,
        tenant: TenantId,
        id: EndpointId,
        audit: &AuditContext,
    ) -> Result<EventId, WebhookError> {
        let endpoint = self.store.webhook_endpoint(Some(tenant), id).await?;
        let now = self.clock.now();
        let notice = Notice {
            id: EventId::new(),
            tenant_id: tenant,
            environment: endpoint.environment,
            event_type: EventType::WebhookTest,
            object_type: "webhook_endpoint".to_owned(),
            object_id: id.to_string(),
            data: json!({ "message": "a test delivery from benteng" }),
            created_at: now,
        };
        let event = AuditEvent::new(
            &audit.for_tenant(tenant),
            "webhook_endpoint.test_sent",
            Retention::App,
            ("webhook_endpoint", id.to_string()),
        )
        .at(now)
        .change("event_id", Value::Null, notice.id.to_string().into());
        self.store.insert_test_notice(&notice, id, &event).await?;
        Ok(notice.id)
    }
}
