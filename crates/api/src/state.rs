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
    /// The cap on one case attachment (`cases.attachment_max_bytes`), for the routes that take
    /// them (the operator API's raw body, the console's form).
    pub case_attachment_bytes: usize,
}

/// The path prefix of the route that takes KYC documents.
pub const KYC_DOCUMENT_PREFIX: &str = "/v1/kyc/evidence/";

/// What the console's upload form carries besides the file: the CSRF field, the part headers
/// and boundaries.
pub const FORM_OVERHEAD_BYTES: usize = 64 * 1024;

/// The routes that take files, and so a body larger than the general limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Upload {
    /// `POST /v1/kyc/evidence/{item}`: the raw document.
    KycDocument,
    /// `POST /admin/v1/cases/{id}/attachments`: the raw file.
    CaseAttachment,
    /// `POST /console/cases/{id}/attachments`: a `multipart/form-data` form with the file.
    CaseAttachmentForm,
}

impl Upload {
    /// The upload route `path` is, if any.
    pub fn of(path: &str) -> Option<Upload> {
        if path.starts_with(KYC_DOCUMENT_PREFIX) {
            return Some(Upload::KycDocument);
        }
        let one_segment = |rest: Option<&str>| {
            rest.and_then(|r| r.strip_suffix("/attachments"))
                .is_some_and(|id| !id.is_empty() && !id.contains('/'))
        };
        if one_segment(path.strip_prefix("/admin/v1/cases/")) {
            Some(Upload::CaseAttachment)
        } else if one_segment(path.strip_prefix("/console/cases/")) {
            Some(Upload::CaseAttachmentForm)
        } else {
            None
        }
    }
}

impl HttpLimits {
    /// The body limit of a request to `path`.
    pub fn limit_for(&self, path: &str) -> usize {
        let upload = match Upload::of(path) {
            None => return self.body_limit_bytes,
            Some(Upload::KycDocument) => self.kyc_document_bytes,
            Some(Upload::CaseAttachment) => self.case_attachment_bytes,
            Some(Upload::CaseAttachmentForm) => self
                .case_attachment_bytes
                .saturating_add(FORM_OVERHEAD_BYTES),
        };
        self.body_limit_bytes.max(upload)
    }
}

impl Default for HttpLimits {
    fn default() -> Self {
        Self {
            body_limit_bytes: 1024 * 1024,
            request_timeout: Duration::from_secs(30),
            kyc_document_bytes: benteng_core::kyc::DEFAULT_MAX_DOCUMENT_BYTES,
            case_attachment_bytes: benteng_payments::case_attachments::DEFAULT_ATTACHMENT_MAX_BYTES,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_upload_routes_take_large_bodies() {
        let limits = HttpLimits::default();
        let general = limits.body_limit_bytes;
        let id = "0190f3a2-0000-7000-8000-000000000001";
        assert_eq!(
            limits.limit_for(&format!("/admin/v1/cases/{id}/attachments")),
            limits.case_attachment_bytes
        );
        assert_eq!(
            limits.limit_for(&format!("/console/cases/{id}/attachments")),
            limits.case_attachment_bytes + FORM_OVERHEAD_BYTES
        );
        for path in [
            format!("/admin/v1/cases/{id}/close"),
            format!("/admin/v1/cases/{id}/x/attachments"),
            "/admin/v1/cases//attachments".to_owned(),
            format!("/admin/v1/cases/{id}/attachments/{id}"),
            "/v1/transfers".to_owned(),
        ] {
            assert_eq!(limits.limit_for(&path), general, "{path}");
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
