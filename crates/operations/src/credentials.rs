//! A tenant's credentials: API keys and the client certificates of its mTLS binding. The CLI's
//! `apikey` and `tenant cert` verbs and the operator API both call these commands, so a key or
//! a certificate is issued, checked and withdrawn one way whichever door the operator used.

use benteng_auth::{IssuedKey, KeyAdminError};
use benteng_core::api_key::{ApiKeyRecord, KeyEnvironment};
use benteng_core::audit::AuditContext;
use benteng_core::ids::{ApiKeyId, TenantId};
use benteng_core::network::NetworkAllowList;
use benteng_core::scopes::Scopes;
use benteng_store::{StoreError, TenantCertificate, TenantMtls};
use benteng_transport::ClientCertInfo;
use time::OffsetDateTime;

use crate::{Operations, OpsRefusal};

/// How long an API key lives: 1 to 3650 days, or (absent) until revoked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KeyLifetime(u32);

/// A lifetime outside 1–3650 days.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("must be between 1 and 3650 days")]
pub struct LifetimeOutOfRange;

impl KeyLifetime {
    pub fn days(days: u32) -> Result<Self, LifetimeOutOfRange> {
        if (1..=3650).contains(&days) {
            Ok(Self(days))
        } else {
            Err(LifetimeOutOfRange)
        }
    }

    fn duration(self) -> time::Duration {
        time::Duration::days(i64::from(self.0))
    }
}

/// What a new key may do. Every scope is the default (as for keys from before scopes), so a
/// narrower key is always asked for by name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyScopes {
    Every,
    /// Every `:read` scope and nothing else.
    ReadOnly,
    These(Scopes),
}

impl KeyScopes {
    fn resolve(self) -> Scopes {
        match self {
            KeyScopes::Every => Scopes::all(),
            KeyScopes::ReadOnly => Scopes::read_only(),
            KeyScopes::These(scopes) => scopes,
        }
    }
}

/// A request for a new API key.
#[derive(Debug, Clone)]
pub struct KeyRequest {
    pub environment: KeyEnvironment,
    pub scopes: KeyScopes,
    pub lifetime: Option<KeyLifetime>,
    pub networks: NetworkAllowList,
}

/// A certificate's SHA-256 fingerprint: 64 hex digits, with or without `:` separators, any
/// case; kept as lowercase hex, the stored form.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CertFingerprint(String);

/// Text that is not a SHA-256 fingerprint.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("not a SHA-256 fingerprint (64 hex characters)")]
pub struct NotAFingerprint;

impl CertFingerprint {
    pub fn parse(text: &str) -> Result<Self, NotAFingerprint> {
        // Bounded before anything is copied: separators make at most 95 characters.
        if text.len() > 95 {
            return Err(NotAFingerprint);
        }
        let hex: String = text
            .chars()
            .filter(|c| *c != ':')
            .map(|c| c.to_ascii_lowercase())
            .collect();
        if hex.len() != 64 || !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(NotAFingerprint);
        }
        Ok(Self(hex))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl From<KeyAdminError> for OpsRefusal {
    fn from(error: KeyAdminError) -> Self {
        match error {
            KeyAdminError::UnknownTenant | KeyAdminError::UnknownKey => OpsRefusal::NotFound,
            KeyAdminError::TenantSuspended => OpsRefusal::Conflict("the tenant is suspended"),
            KeyAdminError::KeyRevoked => OpsRefusal::Conflict("the API key is revoked"),
            KeyAdminError::ChangedMeanwhile => OpsRefusal::Conflict(
                "the API key was changed by someone else meanwhile; look again and retry",
            ),
            KeyAdminError::Store(error) => error.into(),
            KeyAdminError::Crypto(error) => {
                tracing::error!(%error, "could not generate an API key");
                OpsRefusal::Unavailable
            }
        }
    }
}

/// Checks a client certificate to register: exactly one parseable certificate, valid now.
fn read_certificate(pem: &[u8], now: OffsetDateTime) -> Result<ClientCertInfo, OpsRefusal> {
    let invalid = |message: String| OpsRefusal::Invalid {
        field: "certificate",
        message,
    };
    let certs = benteng_transport::tls::certs_from_pem(pem).map_err(invalid)?;
    let [der] = certs.as_slice() else {
        return Err(invalid(format!(
            "expected exactly one certificate, found {}",
            certs.len()
        )));
    };
    let info = ClientCertInfo::from_der(der);
    let (Some(not_before), Some(not_after)) = (info.not_before, info.not_after) else {
        return Err(invalid("not a parseable X.509 certificate".to_owned()));
    };
    if not_after <= now {
        return Err(invalid(format!("the certificate expired on {not_after}")));
    }
    if not_before > now {
        return Err(invalid(format!(
            "the certificate is not valid before {not_before}"
        )));
    }
    Ok(info)
}

impl Operations {
    // ----- API keys -----

    /// A tenant's keys (records only: a key exists in clear only when issued).
    pub async fn api_keys_of(&self, tenant: TenantId) -> Result<Vec<ApiKeyRecord>, OpsRefusal> {
        self.store.tenant(tenant).await?;
        Ok(self.store.api_keys_of(tenant).await?)
    }

    /// Issues a key; the answer holds it in clear, the only time it exists so.
    pub async fn issue_api_key(
        &self,
        tenant: TenantId,
        request: KeyRequest,
        context: &AuditContext,
    ) -> Result<IssuedKey, OpsRefusal> {
        Ok(self
            .api_keys
            .issue(
                tenant,
                request.environment,
                request.lifetime.map(KeyLifetime::duration),
                request.scopes.resolve(),
                request.networks,
                context,
            )
            .await?)
    }

    /// Revokes a key; every instance refuses it within a second.
    pub async fn revoke_api_key(
        &self,
        key: ApiKeyId,
        context: &AuditContext,
    ) -> Result<ApiKeyRecord, OpsRefusal> {
        Ok(self.api_keys.revoke(key, context).await?)
    }

    /// Replaces the networks a live key may be used from (an empty list: any network).
    pub async fn set_api_key_networks(
        &self,
        key: ApiKeyId,
        networks: &NetworkAllowList,
        context: &AuditContext,
    ) -> Result<ApiKeyRecord, OpsRefusal> {
        Ok(self.api_keys.set_networks(key, networks, context).await?)
    }

    // ----- client certificates -----

    /// A tenant's mTLS requirement and registered certificates.
    pub async fn certificates(
        &self,
        tenant: TenantId,
    ) -> Result<(TenantMtls, Vec<TenantCertificate>), OpsRefusal> {
        self.store.tenant(tenant).await?;
        let mtls = self.store.tenant_mtls(tenant).await?;
        Ok((mtls, self.store.tenant_certificates(tenant).await?))
    }

    /// Registers a client certificate (PEM, exactly one, valid now) to a tenant. A certificate
    /// belongs to one tenant at most: the binding is how a request's certificate names it.
    pub async fn add_certificate(
        &self,
        tenant: TenantId,
        pem: &[u8],
        context: &AuditContext,
    ) -> Result<TenantCertificate, OpsRefusal> {
        let now = self.clock.now();
        let info = read_certificate(pem, now)?;
        self.store.tenant(tenant).await?;
        match self
            .store
            .certificate_owner(&info.sha256_fingerprint)
            .await?
        {
            Some(owner) if owner == tenant => {
                return Err(OpsRefusal::Conflict(
                    "the certificate is already registered to this tenant",
                ));
            }
            Some(_) => {
                return Err(OpsRefusal::Conflict(
                    "the certificate is already registered to another tenant",
                ));
            }
            None => {}
        }
        let not_after = info.not_after.ok_or(OpsRefusal::Invalid {
            field: "certificate",
            message: "the certificate has no expiry".to_owned(),
        })?;
        let record = TenantCertificate {
            tenant_id: tenant,
            sha256_fingerprint: info.sha256_fingerprint,
            subject: info.subject,
            not_after,
            created_at: now,
        };
        match self.store.add_tenant_certificate(&record, context).await {
            // Registered by someone else between the check and the insert.
            Err(StoreError::Conflict) => {
                return Err(OpsRefusal::Conflict(
                    "the certificate is already registered (to this or another tenant)",
                ));
            }
            other => other?,
        }
        self.tenant_changed(tenant).await;
        Ok(record)
    }

    /// Unregisters a certificate; requests presenting it stop acting for the tenant.
    pub async fn remove_certificate(
        &self,
        tenant: TenantId,
        fingerprint: &CertFingerprint,
        context: &AuditContext,
    ) -> Result<(), OpsRefusal> {
        self.store
            .remove_tenant_certificate(tenant, fingerprint.as_str(), context)
            .await?;
        self.tenant_changed(tenant).await;
        Ok(())
    }
}

impl std::str::FromStr for CertFingerprint {
    type Err = NotAFingerprint;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        Self::parse(text)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn fingerprints_are_normalised_and_checked() {
        let hex = "AB".repeat(32);
        let with_colons = vec!["ab"; 32].join(":");
        assert_eq!(
            CertFingerprint::parse(&hex).unwrap().as_str(),
            "ab".repeat(32)
        );
        assert_eq!(
            CertFingerprint::parse(&with_colons).unwrap().as_str(),
            "ab".repeat(32)
        );
        for bad in [
            "",
            "ab",
            &"zz".repeat(32),
            &"a".repeat(65),
            &"a:".repeat(200),
        ] {
            assert!(CertFingerprint::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn lifetimes_are_one_day_to_ten_years() {
        assert!(KeyLifetime::days(0).is_err());
        assert!(KeyLifetime::days(1).is_ok());
        assert!(KeyLifetime::days(3650).is_ok());
        assert!(KeyLifetime::days(3651).is_err());
    }

    #[test]
    fn a_pem_without_exactly_one_valid_certificate_is_refused() {
        let now = OffsetDateTime::now_utc();
        for pem in [
            &b""[..],
            b"not pem",
            b"-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n",
        ] {
            assert!(matches!(
                read_certificate(pem, now),
                Err(OpsRefusal::Invalid {
                    field: "certificate",
                    ..
                })
            ));
        }
    }
}
