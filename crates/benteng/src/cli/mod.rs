//! The command line: `serve` plus the admin verbs. Admin verbs print their answer on stdout
//! (an id, a table, a key) and diagnostics on stderr, and exit non-zero on refusal.

use std::path::PathBuf;

mod apikey;
mod audit;
mod backup;
mod case;
mod devcerts;
mod fapi;
mod incident;
mod iso20022;
mod keys;
mod kyc;
mod ledger;
mod lists;
mod monitoring;
mod reports;
mod screen;
mod snap;
mod staff;
mod tenant;
mod tenant_certs;

use benteng_core::ids::TenantId;
use clap::{Parser, Subcommand};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

pub use apikey::ApiKeyCommand;
pub use audit::{AuditCommand, EXPORT_PAGE};
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
    /// Run the server (applies migrations first, unless `database.migrate = false`).
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
    /// Compliance cases: the inbox, a case's log, four-eyes decisions as a named person.
    #[command(subcommand)]
    Case(case::CaseCommand),
    /// Security incidents: the list and one incident with its detections.
    #[command(subcommand)]
    Incident(incident::IncidentCommand),
    /// Regulatory reports: the list with deadline clocks, export, FIU reference, IFTI.
    #[command(subcommand)]
    Reports(reports::ReportsCommand),
    /// KYC levels and evidence items of a tenant (onboarding, break-glass).
    #[command(subcommand)]
    Kyc(kyc::KycCommand),
    /// Transaction monitoring: explain a decision, check a rules file, replay rules.
    #[command(subcommand)]
    Monitoring(monitoring::MonitoringCommand),
    /// Staff: create the first admin, list, end a person's sessions (break-glass).
    #[command(subcommand)]
    Staff(staff::StaffCommand),
    /// ISO 20022: signed pacs.008 for a transfer, verification of a signed message, the
    /// signing key.
    #[command(subcommand)]
    Iso20022(iso20022::Iso20022Command),
    /// FAPI 2.0: the clients (third-party providers) operators register.
    #[command(subcommand)]
    Fapi(fapi::FapiCommand),
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
    if matches!(cli.command, Command::Serve) {
        telemetry::init(&config.log);
    } else {
        telemetry::init_for_command(&config.log);
    }
    match cli.command {
        Command::Config => {
            println!("{}", serde_json::to_string_pretty(&config)?);
            Ok(())
        }
        Command::Migrate => {
            // This verb migrates whatever `database.migrate` says: it is how the owner does.
            let mut config = config;
            config.database.migrate = true;
            Services::connect_for_command(config).await?;
            println!("migrations applied");
            Ok(())
        }
        Command::Serve => {
            let services = Services::connect(config).await?;
            let server = Server::bind(&services).await?;
            server.run(shutdown_signal()).await
        }
        Command::Tenant(command) => {
            tenant::run(Services::connect_for_command(config).await?, command).await
        }
        Command::Apikey(command) => {
            apikey::run(Services::connect_for_command(config).await?, command).await
        }
        Command::Ledger(command) => {
            ledger::run(Services::connect_for_command(config).await?, command).await
        }
        Command::Audit(command) => {
            audit::run(Services::connect_for_command(config).await?, command).await
        }
        Command::Keys(KeysCommand::HsmInit) => keys::hsm_init(&config),
        Command::Keys(command) => {
            keys::run(Services::connect_for_command(config).await?, command).await
        }
        Command::Backup(command) => backup::run(config, command).await,
        Command::Snap(command) => {
            snap::run(Services::connect_for_command(config).await?, command).await
        }
        Command::Case(command) => {
            case::run(Services::connect_for_command(config).await?, command).await
        }
        Command::Incident(command) => {
            incident::run(Services::connect_for_command(config).await?, command).await
        }
        Command::Reports(command) => {
            reports::run(Services::connect_for_command(config).await?, command).await
        }
        Command::Kyc(command) => {
            kyc::run(Services::connect_for_command(config).await?, command).await
        }
        // Checking a file needs no database.
        Command::Monitoring(monitoring::MonitoringCommand::Check { rules }) => {
            monitoring::check(&rules)
        }
        Command::Monitoring(command) => {
            monitoring::run(Services::connect_for_command(config).await?, command).await
        }
        Command::Staff(command) => {
            staff::run(Services::connect_for_command(config).await?, command).await
        }
        Command::Iso20022(command) => {
            iso20022::run(Services::connect_for_command(config).await?, command).await
        }
        Command::Fapi(command) => {
            fapi::run(Services::connect_for_command(config).await?, command).await
        }
        Command::DevCerts { dir, force } => devcerts::run(&dir, force),
        Command::Lists(command) => {
            lists::run(Services::connect_for_command(config).await?, command).await
        }
        Command::Screen(args) => {
            screen::run(Services::connect_for_command(config).await?, args).await
        }
    }
}

/// Admin actions from the command line are audited as the operating-system user who ran them,
/// on this host: `cli:USER@HOST`. The host's CLI is for bootstrap and break-glass (people act
/// through the operator API as themselves); this names who ran the command without
/// authenticating them.
pub(crate) fn cli_context() -> benteng_core::audit::AuditContext {
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname").ok();
    benteng_core::audit::AuditContext::system(&cli_actor(
        |name| std::env::var(name).ok(),
        host.as_deref(),
    ))
}

/// The user comes from `SUDO_USER` first, so `sudo benteng …` names the person rather than
/// root, then `USER`, then `LOGNAME` (the workspace forbids `unsafe`, so no `getuid`). Values
/// are operator-controlled text, so only short printable ones are taken.
fn cli_actor(var: impl Fn(&str) -> Option<String>, host: Option<&str>) -> String {
    let plain = |text: &str| {
        let text = text.trim();
        (!text.is_empty()
            && text.chars().count() <= 64
            && text.chars().all(|c| c.is_ascii_graphic() && c != '@'))
        .then(|| text.to_owned())
    };
    let user = ["SUDO_USER", "USER", "LOGNAME"]
        .into_iter()
        .find_map(|name| var(name).as_deref().and_then(plain))
        .unwrap_or_else(|| "unknown".to_owned());
    match host.and_then(plain) {
        Some(host) => format!("cli:{user}@{host}"),
        None => format!("cli:{user}"),
    }
}

/// The staff member a host command acts for (`--as LOGIN`): an active member of staff (not a
/// tenant user) whose current roles grant `permission`, the one the operator API's route for the
/// same action requires. The principal can do only that, for a few minutes; its audit context
/// names the person (`staff:LOGIN`, their roles) and, where the API puts the session or token,
/// the host's `cli:USER@HOST`, so the trail says who acted and that it came from the CLI.
pub(crate) async fn acting_as(
    services: &Services,
    login: &str,
    permission: benteng_core::roles::Permission,
) -> anyhow::Result<(
    benteng_auth::StaffPrincipal,
    benteng_core::audit::AuditContext,
)> {
    use benteng_auth::{StaffCredential, StaffPrincipal};
    use benteng_core::roles::Permissions;
    let login: benteng_core::people::LoginName =
        login.parse().map_err(|e| anyhow::anyhow!("--as: {e}"))?;
    let person = services
        .store
        .person_by_login(&login)
        .await?
        .filter(|person| person.tenant.is_none())
        .ok_or_else(|| anyhow::anyhow!("no such member of staff: {login}"))?;
    if person.status != benteng_store::PersonStatus::Active {
        anyhow::bail!("{login} is not active");
    }
    let principal = StaffPrincipal {
        person: person.id,
        login,
        roles: person.roles,
        tenant: None,
        via: StaffCredential::Token {
            id: uuid::Uuid::nil(),
            permissions: Permissions::empty().with(permission),
        },
        expires_at: services.clock.now() + time::Duration::minutes(5),
    };
    if !principal.permits(permission) {
        anyhow::bail!("{} does not hold {permission}", principal.login);
    }
    let host = cli_context();
    let context = benteng_core::audit::AuditContext {
        session: Some(host.actor.clone()),
        ..principal.audit_context(&host)
    };
    Ok((principal, context))
}

/// An operator command's refusal as the CLI says it: `what` names the missing thing.
pub(crate) fn refused(what: &str) -> impl Fn(benteng_operations::OpsRefusal) -> anyhow::Error {
    let what = what.to_owned();
    move |refusal| match refusal {
        benteng_operations::OpsRefusal::NotFound => anyhow::anyhow!("no such {what}"),
        other => anyhow::anyhow!("refused: {other}"),
    }
}

pub(crate) fn parse_tenant_id(text: &str) -> anyhow::Result<TenantId> {
    text.parse()
        .map_err(|_| anyhow::anyhow!("not a tenant id (expected a UUID like 7f1c…-…)"))
}

/// A time as the CLI prints it: RFC 3339 in UTC to the second, always 20 characters, so tables
/// line up.
pub(crate) fn timestamp(t: OffsetDateTime) -> String {
    let t = t.to_offset(time::UtcOffset::UTC);
    let t = t.replace_nanosecond(0).unwrap_or(t);
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

#[cfg(test)]
mod tests {
    use super::cli_actor;

    fn env<'a>(vars: &'a [(&'a str, &'a str)]) -> impl Fn(&str) -> Option<String> + 'a {
        move |name| {
            vars.iter()
                .find(|(n, _)| *n == name)
                .map(|(_, v)| (*v).to_owned())
        }
    }

    #[test]
    fn the_actor_names_the_sudo_user_first_then_user_then_logname() {
        let all = [("SUDO_USER", "ani"), ("USER", "root"), ("LOGNAME", "root")];
        assert_eq!(cli_actor(env(&all), Some("ops-1\n")), "cli:ani@ops-1");
        assert_eq!(
            cli_actor(env(&[("USER", "budi"), ("LOGNAME", "x")]), None),
            "cli:budi"
        );
        assert_eq!(cli_actor(env(&[("LOGNAME", "citra")]), None), "cli:citra");
        assert_eq!(cli_actor(env(&[]), Some("ops-1")), "cli:unknown@ops-1");
    }

    #[test]
    fn unprintable_or_odd_values_are_not_taken() {
        let odd = [("SUDO_USER", ""), ("USER", "a b"), ("LOGNAME", "eve@evil")];
        assert_eq!(cli_actor(env(&odd), Some("\u{202e}host")), "cli:unknown");
        let long = "x".repeat(65);
        assert_eq!(cli_actor(env(&[("USER", &long)]), None), "cli:unknown");
    }
}
