//! `benteng tenant …`

use benteng_core::tenant::{TenantName, TenantStatus, Tier};
use clap::Subcommand;

use super::tenant_certs::{self, CertCommand, OnOff};
use super::{parse_tenant_id, refused, timestamp};
use crate::Services;

#[derive(Debug, Subcommand)]
pub enum TenantCommand {
    /// Create a tenant and print its id.
    Create {
        #[arg(long)]
        name: String,
        /// starter, growth or enterprise.
        #[arg(long)]
        tier: String,
    },
    /// List tenants.
    List,
    /// Suspend a tenant: its keys stop working on every instance.
    Suspend { id: String },
    /// Re-activate a suspended tenant.
    Activate { id: String },
    /// Manage the tenant's registered TLS client certificates (mTLS binding).
    #[command(subcommand)]
    Cert(CertCommand),
    /// Require (on) or stop requiring (off) one of the tenant's registered client certificates
    /// on every request.
    RequireMtls {
        id: String,
        #[arg(value_enum)]
        state: OnOff,
    },
}

pub(super) async fn run(services: Services, command: TenantCommand) -> anyhow::Result<()> {
    match command {
        TenantCommand::Create { name, tier } => {
            let name: TenantName = name.parse()?;
            let tier: Tier = tier.parse()?;
            let tenant = services
                .operations()
                .create_tenant(name, tier, &super::cli_context())
                .await
                .map_err(refused("tenant"))?;
            println!("{}", tenant.id);
        }
        TenantCommand::List => {
            println!(
                "{:<36}  {:<10}  {:<9}  {:<25}  NAME",
                "ID", "TIER", "STATUS", "CREATED"
            );
            for t in services.store.tenants().await? {
                println!(
                    "{:<36}  {:<10}  {:<9}  {:<25}  {}",
                    t.id,
                    t.tier,
                    t.status,
                    timestamp(t.created_at),
                    t.name
                );
            }
        }
        TenantCommand::Suspend { id } => {
            set_status(&services, &id, TenantStatus::Suspended).await?
        }
        TenantCommand::Activate { id } => set_status(&services, &id, TenantStatus::Active).await?,
        TenantCommand::Cert(command) => tenant_certs::run(services, command).await?,
        TenantCommand::RequireMtls { id, state } => {
            tenant_certs::require_mtls(services, &id, state).await?
        }
    }
    Ok(())
}

async fn set_status(services: &Services, id: &str, status: TenantStatus) -> anyhow::Result<()> {
    let id = parse_tenant_id(id)?;
    let tenant = services
        .operations()
        .set_tenant_status(id, status, &super::cli_context())
        .await
        .map_err(refused("tenant"))?;
    println!("{} {}", tenant.id, tenant.status);
    Ok(())
}
