//! The command line: `serve` plus the admin verbs. Admin verbs print their answer on stdout
//! (an id, a table, a key) and diagnostics on stderr, and exit non-zero on refusal.

use std::path::PathBuf;

mod apikey;
mod audit;
mod backup;
mod devcerts;
mod keys;
mod ledger;
mod lists;
mod screen;
mod snap;
mod tenant;
mod tenant_certs;

use benteng_core::ids::TenantId;
use clap::{Parser, Subcommand};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

pub use apikey::ApiKeyCommand;
pub use audit::AuditCommand;
pub use backup::BackupCommand;
pub use keys::KeysCommand;
pub use ledger::LedgerCommand;
pub use lists::ListsCommand;
pub use screen::{ScreenArgs, ScreenCommand};
pub use snap::SnapCommand;
pub use tenant::TenantCommand;

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
    /// Fund tenants and verify the ledger.
    #[command(subcommand)]
    Ledger(LedgerCommand),
    /// Encrypted backups.
    #[command(subcommand)]
    Backup(BackupCommand),
    /// The key registry: status and rotation.
    #[command(subcommand)]
    Keys(KeysCommand),
    /// Verify, purge and export the audit trail.
    #[command(subcommand)]
    Audit(AuditCommand),
    /// Sanctions/PEP lists: load a new version, show the current ones.
    #[command(subcommand)]
    Lists(ListsCommand),
    /// Screen a name, rescreen every party, clear a false positive.
    Screen(ScreenArgs),
    /// SNAP (Bank Indonesia) partners and tokens.
    #[command(subcommand)]
    Snap(SnapCommand),
    /// Print the effective configuration (secrets redacted).
    Config,
    /// Create development TLS certificates (dev CA, server, client) in DIR; never for production.
    DevCerts {
        dir: PathBuf,
        /// Replace existing files instead of keeping them.
        #[arg(long)]
        force: bool,
    },
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
        Command::Tenant(command) => tenant::run(Services::connect(config).await?, command).await,
        Command::Apikey(command) => apikey::run(Services::connect(config).await?, command).await,
        Command::Ledger(command) => ledger::run(Services::connect(config).await?, command).await,
        Command::Audit(command) => audit::run(Services::connect(config).await?, command).await,
        Command::Keys(KeysCommand::HsmInit) => keys::hsm_init(&config),
        Command::Keys(command) => keys::run(Services::connect(config).await?, command).await,
        Command::Backup(command) => backup::run(config, command).await,
        Command::Snap(command) => snap::run(Services::connect(config).await?, command).await,
        Command::DevCerts { dir, force } => devcerts::run(&dir, force),
        Command::Lists(command) => lists::run(Services::connect(config).await?, command).await,
        Command::Screen(args) => screen::run(Services::connect(config).await?, args).await,
    }
}

/// Admin actions from the command line are audited as the operating-system user who ran them.
pub(crate) fn cli_context() -> benteng_core::audit::AuditContext {
    let user = std::env::var("USER").unwrap_or_else(|_| "unknown".to_owned());
    benteng_core::audit::AuditContext::system(&format!("cli:{user}"))
}

pub(crate) fn parse_tenant_id(text: &str) -> anyhow::Result<TenantId> {
    text.parse()
        .map_err(|_| anyhow::anyhow!("not a tenant id (expected a UUID like 7f1c…-…)"))
}

pub(crate) fn timestamp(t: OffsetDateTime) -> String {
    t.format(&Rfc3339).unwrap_or_else(|_| t.to_string())
}

/// Parses arguments; kept here so `main` stays a one-liner around it.
pub fn parse() -> Cli {
    Cli::parse()
}

/// Context for errors of the top level.
pub fn describe(error: &anyhow::Error) -> String {
    format!("{error:#}")
}
