//! The command line: `serve` plus the admin verbs. Admin verbs print their answer on stdout
//! (an id, a table, a key) and diagnostics on stderr, and exit non-zero on refusal.

use std::path::PathBuf;

use anyhow::bail;
use benteng_auth::KeyAdminError;
use benteng_core::api_key::KeyEnvironment;
use benteng_core::ids::{ApiKeyId, TenantId};
use benteng_core::tenant::{Tenant, TenantName, TenantStatus, Tier};
use benteng_crypto::ExposeSecret;
use clap::{Parser, Subcommand};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use crate::{Config, Server, Services, shutdown_signal, telemetry};

#[derive(Debug, Parser)]
#[command(
    name = "benteng",
    version,
    about = "The secure front door of a B2B payment rail"
)]
pub struct Cli {
    /// TOML configuration file; `BENTENG_*` environment variables override it.
    #[arg(long, global = true, env = "BENTENG_CONFIG")]
    pub config: Option<PathBuf>,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the server (applies migrations first).
    Serve,
    /// Apply database migrations and exit.
    Migrate,
    /// Manage tenants.
    #[command(subcommand)]
    Tenant(TenantCommand),
    /// Manage API keys.
    #[command(subcommand)]
    Apikey(ApiKeyCommand),
    /// Print the effective configuration (secrets redacted).
    Config,
}

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
}

#[derive(Debug, Subcommand)]
pub enum ApiKeyCommand {
    /// Issue a key and print it. It is shown this once and never again.
    Issue {
        #[arg(long)]
        tenant: String,
        /// A test key (sandbox only) instead of a live one.
        #[arg(long)]
        test: bool,
        /// Days until the key expires (1–3650); without it the key does not expire.
        #[arg(long)]
        expires_in_days: Option<u32>,
    },
    /// List a tenant's keys (prefix and dates, never the key).
    List {
        #[arg(long)]
        tenant: String,
    },
    /// Revoke a key by its id; every instance refuses it within a second.
    Revoke { key_id: String },
}

pub async fn run(cli: Cli) -> anyhow::Result<()> {
    let config = Config::load(cli.config.as_deref()).map_err(|e| anyhow::anyhow!("{e}"))?;
    telemetry::init(&config.log);
    match cli.command {
        Command::Config => {
            println!("{}", serde_json::to_string_pretty(&config)?);
            Ok(())
        }
        Command::Migrate => {
            Services::connect(config).await?;
            println!("migrations applied");
            Ok(())
        }
        Command::Serve => {
            let services = Services::connect(config).await?;
            let server = Server::bind(&services).await?;
            server.run(shutdown_signal()).await
        }
        Command::Tenant(command) => tenant(Services::connect(config).await?, command).await,
        Command::Apikey(command) => api_key(Services::connect(config).await?, command).await,
    }
}

fn parse_tenant_id(text: &str) -> anyhow::Result<TenantId> {
    text.parse()
        .map_err(|_| anyhow::anyhow!("not a tenant id (expected a UUID like 7f1c…-…)"))
}

fn timestamp(t: OffsetDateTime) -> String {
    t.format(&Rfc3339).unwrap_or_else(|_| t.to_string())
}

async fn tenant(services: Services, command: TenantCommand) -> anyhow::Result<()> {
    match command {
        TenantCommand::Create { name, tier } => {
            let name: TenantName = name.parse()?;
            let tier: Tier = tier.parse()?;
            let tenant = Tenant::new(name, tier, OffsetDateTime::now_utc());
            services.store.insert_tenant(&tenant).await?;
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
    }
    Ok(())
}

async fn set_status(services: &Services, id: &str, status: TenantStatus) -> anyhow::Result<()> {
    let id = parse_tenant_id(id)?;
    let tenant = match services.store.set_tenant_status(id, status).await {
        Err(benteng_store::StoreError::NotFound) => bail!("no such tenant"),
        other => other?,
    };
    services.api_keys.tenant_changed(id).await?;
    println!("{} {}", tenant.id, tenant.status);
    Ok(())
}

async fn api_key(services: Services, command: ApiKeyCommand) -> anyhow::Result<()> {
    match command {
        ApiKeyCommand::Issue {
            tenant,
            test,
            expires_in_days,
        } => {
            let tenant = parse_tenant_id(&tenant)?;
            let lifetime = match expires_in_days {
                None => None,
                Some(days @ 1..=3650) => Some(time::Duration::days(i64::from(days))),
                Some(_) => bail!("--expires-in-days must be between 1 and 3650"),
            };
            let environment = if test {
                KeyEnvironment::Test
            } else {
                KeyEnvironment::Live
            };
            let issued = services
                .api_keys
                .issue(tenant, environment, lifetime)
                .await
                .map_err(admin_error)?;
            eprintln!(
                "key {} issued; store it now, it will not be shown again",
                issued.record.id
            );
            println!("{}", issued.key.expose_secret());
        }
        ApiKeyCommand::List { tenant } => {
            let tenant = parse_tenant_id(&tenant)?;
            services.store.tenant(tenant).await.map_err(|e| match e {
                benteng_store::StoreError::NotFound => anyhow::anyhow!("no such tenant"),
                other => other.into(),
            })?;
            println!(
                "{:<36}  {:<47}  {:<25}  {:<25}  REVOKED",
                "KEY ID", "PREFIX", "CREATED", "EXPIRES"
            );
            for k in services.store.api_keys_of(tenant).await? {
                println!(
                    "{:<36}  {:<47}  {:<25}  {:<25}  {}",
                    k.id,
                    format!("{}…", k.display_prefix),
                    timestamp(k.created_at),
                    k.expires_at
                        .map(timestamp)
                        .unwrap_or_else(|| "never".to_owned()),
                    k.revoked_at
                        .map(timestamp)
                        .unwrap_or_else(|| "-".to_owned()),
                );
            }
        }
        ApiKeyCommand::Revoke { key_id } => {
            let key_id: ApiKeyId = key_id
                .parse()
                .map_err(|_| anyhow::anyhow!("not a key id (expected a UUID)"))?;
            let record = services
                .api_keys
                .revoke(key_id)
                .await
                .map_err(admin_error)?;
            println!("{} revoked", record.id);
        }
    }
    Ok(())
}

fn admin_error(error: KeyAdminError) -> anyhow::Error {
    anyhow::Error::new(error).context("refused")
}

/// Parses arguments; kept here so `main` stays a one-liner around it.
pub fn parse() -> Cli {
    Cli::parse()
}

/// Context for errors of the top level.
pub fn describe(error: &anyhow::Error) -> String {
    format!("{error:#}")
}
