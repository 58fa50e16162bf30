//! `benteng tenant cert …` and `benteng tenant require-mtls …`: the mTLS tenant binding. Every
//! change invalidates the tenant's cached credentials on every instance.

use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use benteng_core::ids::TenantId;
use benteng_store::{StoreError, TenantCertificate};
use benteng_transport::ClientCertInfo;
use clap::{Subcommand, ValueEnum};
use time::OffsetDateTime;

use super::{cli_context, parse_tenant_id, timestamp};
use crate::Services;

#[derive(Debug, Subcommand)]
pub enum CertCommand {
    /// Register a client certificate (PEM, one certificate) to a tenant; prints its SHA-256
    /// fingerprint.
    Add {
        #[arg(long)]
        tenant: String,
        #[arg(long)]
        pem: PathBuf,
    },
    /// List a tenant's registered client certificates.
    List {
        #[arg(long)]
        tenant: String,
    },
    /// Unregister a client certificate by its SHA-256 fingerprint (hex).
    Remove {
        #[arg(long)]
        tenant: String,
        fingerprint: String,
    },
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum OnOff {
    On,
    Off,
}

pub(super) async fn run(services: Services, command: CertCommand) -> anyhow::Result<()> {
    match command {
        CertCommand::Add { tenant, pem } => add(&services, parse_tenant_id(&tenant)?, &pem).await,
        CertCommand::List { tenant } => {
            let tenant = parse_tenant_id(&tenant)?;
            exists(&services, tenant).await?;
            let mtls = services.store.tenant_mtls(tenant).await?;
            eprintln!("require-mtls: {}", if mtls.required { "on" } else { "off" });
            println!(
                "{:<64}  {:<25}  {:<25}  SUBJECT",
                "SHA256", "NOT AFTER", "ADDED"
            );
            for cert in services.store.tenant_certificates(tenant).await? {
                println!(
                    "{:<64}  {:<25}  {:<25}  {}",
                    cert.sha256_fingerprint,
                    timestamp(cert.not_after),
                    timestamp(cert.created_at),
                    cert.subject
                );
            }
            Ok(())
        }
        CertCommand::Remove {
            tenant,
            fingerprint,
        } => {
            let tenant = parse_tenant_id(&tenant)?;
            let fingerprint = normalise_fingerprint(&fingerprint)?;
            match services
                .store
                .remove_tenant_certificate(tenant, &fingerprint, &cli_context())
                .await
            {
                Err(StoreError::NotFound) => {
                    bail!("no such certificate registered to this tenant")
                }
                other => other?,
            }
            services.api_keys.tenant_changed(tenant).await?;
            println!("removed {fingerprint}");
            Ok(())
        }
    }
}

pub(super) async fn require_mtls(services: Services, id: &str, state: OnOff) -> anyhow::Result<()> {
    let tenant = parse_tenant_id(id)?;
    let required = matches!(state, OnOff::On);
    if required && services.store.tenant_certificates(tenant).await?.is_empty() {
        // Allowed (certificates may follow), but every request is refused until one is added.
        eprintln!(
            "warning: the tenant has no registered certificate; all its requests will be refused"
        );
    }
    match services
        .store
        .set_tenant_require_mtls(tenant, required, &cli_context())
        .await
    {
        Err(StoreError::NotFound) => bail!("no such tenant"),
        other => other?,
    }
    services.api_keys.tenant_changed(tenant).await?;
    println!(
        "{tenant} require-mtls {}",
        if required { "on" } else { "off" }
    );
    Ok(())
}

async fn exists(services: &Services, tenant: TenantId) -> anyhow::Result<()> {
    match services.store.tenant(tenant).await {
        Err(StoreError::NotFound) => bail!("no such tenant"),
        other => other.map(|_| ()).map_err(Into::into),
    }
}

/// Accepts hex with or without `:` separators, any case; stores lowercase hex.
fn normalise_fingerprint(text: &str) -> anyhow::Result<String> {
    let hex: String = text
        .chars()
        .filter(|c| *c != ':')
        .map(|c| c.to_ascii_lowercase())
        .collect();
    if hex.len() != 64 || !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
        bail!("not a SHA-256 fingerprint (64 hex characters)");
    }
    Ok(hex)
}

/// Reads and checks a client certificate: exactly one parseable certificate, valid now.
fn read_certificate(pem: &Path, now: OffsetDateTime) -> anyhow::Result<ClientCertInfo> {
    let certs = benteng_transport::tls::load_certs(pem)
        .with_context(|| format!("reading {}", pem.display()))?;
    if certs.len() != 1 {
        bail!(
            "{}: expected exactly one certificate, found {}",
            pem.display(),
            certs.len()
        );
    }
    let info = certs
        .first()
        .map(|der| ClientCertInfo::from_der(der))
        .context("no certificate")?;
    let (Some(not_before), Some(not_after)) = (info.not_before, info.not_after) else {
        bail!("{}: not a parseable X.509 certificate", pem.display());
    };
    if not_after <= now {
        bail!(
            "{}: the certificate expired on {}",
            pem.display(),
            timestamp(not_after)
        );
    }
    if not_before > now {
        bail!(
            "{}: the certificate is not valid before {}",
            pem.display(),
            timestamp(not_before)
        );
    }
    Ok(info)
}

async fn add(services: &Services, tenant: TenantId, pem: &Path) -> anyhow::Result<()> {
    let now = benteng_core::now();
    let info = read_certificate(pem, now)?;
    exists(services, tenant).await?;
    match services
        .store
        .certificate_owner(&info.sha256_fingerprint)
        .await?
    {
        Some(owner) if owner == tenant => {
            bail!("the certificate is already registered to this tenant")
        }
        Some(_) => bail!("the certificate is already registered to another tenant"),
        None => {}
    }
    let not_after = info.not_after.context("no expiry")?;
    let record = TenantCertificate {
        tenant_id: tenant,
        sha256_fingerprint: info.sha256_fingerprint.clone(),
        subject: info.subject.clone(),
        not_after,
        created_at: now,
    };
    match services
        .store
        .add_tenant_certificate(&record, &cli_context())
        .await
    {
        Err(StoreError::Conflict) => {
            bail!("the certificate is already registered (to this or another tenant)")
        }
        Err(StoreError::NotFound) => bail!("no such tenant"),
        other => other?,
    }
    services.api_keys.tenant_changed(tenant).await?;
    println!("{}", info.sha256_fingerprint);
    Ok(())
}
