//! What every handler can reach.

use std::sync::Arc;
use std::time::Duration;

use benteng_auth::Authenticator;
use benteng_shared_state::SharedStateHandle;
use benteng_store::Store;
use metrics_exporter_prometheus::PrometheusHandle;

/// HTTP-level limits, from the `[http]` section of the config.
#[derive(Debug, Clone)]
pub struct HttpLimits {
    pub body_limit_bytes: usize,
    pub request_timeout: Duration,
}

impl Default for HttpLimits {
    fn default() -> Self {
        Self {
            body_limit_bytes: 1024 * 1024,
            request_timeout: Duration::from_secs(30),
        }
    }
}

#[derive(Clone)]
pub struct AppState {
    pub store: Store,
    pub shared: SharedStateHandle,
    pub auth: Authenticator,
    pub metrics: PrometheusHandle,
    pub limits: Arc<HttpLimits>,
    /// The payments layer: every command that moves money.
    pub payments: Arc<benteng_payments::Payments>,
    pub protection: Arc<crate::protection::Protection>,
    /// The operators' commands: people, roles, four-eyes approvals, tenant administration.
    pub operations: Arc<benteng_operations::Operations>,
    /// Webhook endpoints, signing keys and the JWKS.
    pub webhooks: Arc<benteng_webhooks::Webhooks>,
}
