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
    /// The cap on one KYC document (`kyc.max_document_bytes`): the one route that takes
    /// documents may receive bodies up to this size; every other route keeps `body_limit_bytes`.
    pub kyc_document_bytes: usize,
}

/// The path prefix of the route that takes KYC documents.
pub const KYC_DOCUMENT_PREFIX: &str = "/v1/kyc/evidence/";

impl HttpLimits {
    /// The body limit of a request to `path`.
    pub fn limit_for(&self, path: &str) -> usize {
        if path.starts_with(KYC_DOCUMENT_PREFIX) {
            self.body_limit_bytes.max(self.kyc_document_bytes)
        } else {
            self.body_limit_bytes
        }
    }
}

impl Default for HttpLimits {
    fn default() -> Self {
        Self {
            body_limit_bytes: 1024 * 1024,
            request_timeout: Duration::from_secs(30),
            kyc_document_bytes: benteng_core::kyc::DEFAULT_MAX_DOCUMENT_BYTES,
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
    /// ISO 20022 (`[iso20022]` configured): the counterparties' client certificates and the
    /// ingestion of the status reports they POST.
    pub iso20022: Option<Arc<benteng_rails::iso20022::Iso20022>>,
    /// The detections in force and the address blocks this instance enforces.
    pub incidents: Arc<crate::incidents::Incidents>,
}
