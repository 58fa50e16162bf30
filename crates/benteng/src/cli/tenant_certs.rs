//! `benteng tenant cert …` and `benteng tenant require-mtls …`: the mTLS tenant binding. Every
//! change invalidates the tenant's cached credentials on every instance.

use std::path::PathBuf;

use anyhow::{Context, bail};
use benteng_operations::CertFingerprint;
use benteng_store::StoreError;
use clap::{Subcommand, ValueEnum};

use super::{cli_context, parse_tenant_id, refused, timestamp};
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
    let operations = services.operations();
    match command {
        CertCommand::Add { tenant, pem } => {
            let tenant = parse_tenant_id(&tenant)?;
            let bytes =
                std::fs::read(&pem).with_context(|| format!("reading {}", pem.display()))?;
            let record = operations
                .add_certificate(tenant, &bytes, &cli_context())
                .await
                .map_err(refused("tenant"))
                .with_context(|| pem.display().to_string())?;
            println!("{}", record.sha256_fingerprint);
            Ok(())
        }
        CertCommand::List { tenant } => {
            let tenant = parse_tenant_id(&tenant)?;
            let (mtls, certificates) = operations
                .certificates(tenant)
                .await
                .map_err(refused("tenant"))?;
            // The tenant's setting first, then its certificates: one answer, all on stdout.
            println!("require-mtls: {}", if mtls.required { "on" } else { "off" });
            println!(
                "{:<64}  {:<25}  {:<25}  SUBJECT",
                "SHA256", "NOT AFTER", "ADDED"
            );
            for cert in certificates {
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
            let fingerprint = CertFingerprint::parse(&fingerprint)?;
            operations
                .remove_certificate(tenant, &fingerprint, &cli_context())
                .await
                .map_err(refused("certificate registered to this tenant"))?;
            println!("removed {}", fingerprint.as_str());
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
