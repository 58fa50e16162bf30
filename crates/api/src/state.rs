//! What every handler can reach.

use std::sync::Arc;
use std::time::Duration;

use benteng_auth::Authenticator;
use benteng_core::payments::compliance::ComplianceCheck;
use benteng_core::payments::quote::RateTable;
use benteng_shared_state::SharedStateHandle;
use benteng_store::Store;
use benteng_vault::{BlindIndex, Keyring};
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

/// What the payment routes need beyond storage.
pub struct Payments {
    /// Replaced whole when the rates file changes; readers clone the `Arc` they need.
    pub rates: std::sync::RwLock<Arc<RateTable>>,
    pub quote_ttl: Duration,
    pub fee_bps: u32,
    pub compliance: Arc<dyn ComplianceCheck>,
    pub keyring: Arc<Keyring>,
    pub blind_index: Arc<BlindIndex>,
    /// The rail new transfers are routed to.
    pub rail: String,
}

impl Payments {
    pub fn rates(&self) -> Arc<RateTable> {
        match self.rates.read() {
            Ok(rates) => rates.clone(),
            Err(poisoned) => poisoned.into_inner().clone(),
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
    pub payments: Arc<Payments>,
    pub protection: Arc<crate::protection::Protection>,
}
