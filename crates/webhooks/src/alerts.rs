//! Incident alerts to the operator's channel (`incidents.notify_url`: a chat or paging tool's
//! webhook), signed like tenant deliveries: the JSON body as a compact JWS (RS256) in
//! `webhook-signature`, verifiable with the same JWKS, and `webhook-id` naming the alert.
//!
//! At least once, across instances: the store makes an incident's alert due when it opens and
//! when its severity rises; an instance claims due alerts for a lease, sends each, and marks it
//! sent (audited `incident.alerted`). A send that failed, or an instance that died, leaves the
//! alert due again when the lease lapses. The same alert sent twice has the same `webhook-id`.

use std::sync::Arc;
use std::time::Duration;

use benteng_core::audit::AuditContext;
use benteng_core::webhooks::{EndpointUrl, rfc3339};
use benteng_crypto::jws::JwsAlg;
use benteng_store::IncidentRow;
use serde_json::{Value, json};

use crate::deliver::delivery_client;
use crate::{WebhookError, Webhooks, resolve_checked};

/// How long a claimed alert is left to its instance before another may send it.
const LEASE: Duration = Duration::from_secs(30);
/// How often due alerts are looked for.
const POLL: Duration = Duration::from_secs(1);

pub struct IncidentAlerts {
    webhooks: Arc<Webhooks>,
    url: EndpointUrl,
    client: reqwest::Client,
}

/// The alert's body: what an on-call person needs to act, and nothing of any tenant's data.
pub fn alert_body(incident: &IncidentRow) -> Value {
    json!({
        "event_id": alert_id(incident),
        "event_type": "incident.alert",
        "created_at": rfc3339(incident.opened_at),
        "data": {
            "id": incident.id.to_string(),
            "title": incident.title,
            "severity": incident.severity.as_str(),
            "state": incident.state.as_str(),
            "client_address": incident.client_address,
            "opened_at": rfc3339(incident.opened_at),
            "acknowledge_by": rfc3339(incident.acknowledge_by),
            "contain_by": rfc3339(incident.contain_by),
            "console": format!("/console/incidents/{}", incident.id),
        },
    })
}

/// One alert per incident and severity: a resend repeats it, an escalation is a new one.
fn alert_id(incident: &IncidentRow) -> String {
    format!("{}.{}", incident.id, incident.severity.as_str())
}

impl IncidentAlerts {
    pub fn new(webhooks: Arc<Webhooks>, url: EndpointUrl) -> Result<Self, WebhookError> {
        let client = delivery_client(&webhooks.settings, "benteng-incident-alerts/1")?;
        Ok(Self {
            webhooks,
            url,
            client,
        })
    }

    /// Runs until the process ends.
    pub fn spawn(self) -> tokio::task::JoinHandle<()> {
        tokio::spawn(async move {
            let mut ticker = tokio::time::interval(POLL);
            ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                ticker.tick().await;
                if let Err(error) = self.pass().await {
                    metrics::counter!("incident_alert_errors_total").increment(1);
                    tracing::error!(%error, "incident alerts");
                }
            }
        })
    }

    async fn pass(&self) -> Result<(), WebhookError> {
        let now = self.webhooks.clock.now();
        let due = self
            .webhooks
            .store
            .claim_incident_alerts(now, LEASE, 20)
            .await?;
        for incident in due {
            match self.send(&incident).await {
                Ok(()) => {
                    self.webhooks
                        .store
                        .mark_incident_alerted(
                            incident.id,
                            incident.severity,
                            self.webhooks.clock.now(),
                            &AuditContext::system("incident-alerts"),
                        )
                        .await?;
                    metrics::counter!("incident_alerts_sent_total").increment(1);
                }
                Err(error) => {
                    metrics::counter!("incident_alert_errors_total").increment(1);
                    tracing::error!(incident = %incident.id, %error, "incident alert not sent; retried after the lease");
                }
            }
        }
        Ok(())
    }

    async fn send(&self, incident: &IncidentRow) -> Result<(), WebhookError> {
        resolve_checked(&self.url, &self.webhooks.settings.policy).await?;
        let signer = self.webhooks.keys.signer().await?;
        let body = serde_json::to_vec(&alert_body(incident))
            .map_err(|e| WebhookError::Key(e.to_string()))?;
        let iat = self.webhooks.clock.now().unix_timestamp();
        let jws = signer.sign_compact(JwsAlg::Rs256, iat, &body)?;
        let response = self
            .client
            .post(self.url.as_str())
            .header("content-type", "application/json")
            .header("webhook-id", alert_id(incident))
            .header("webhook-timestamp", iat.to_string())
            .header("webhook-signature", format!("v1jws,{jws}"))
            .body(body)
            .send()
            .await
            .map_err(|e| WebhookError::Destination(e.to_string()))?;
        if response.status().is_success() {
            Ok(())
        } else {
            Err(WebhookError::Destination(format!(
                "the channel answered {}",
                response.status()
            )))
        }
    }
}
