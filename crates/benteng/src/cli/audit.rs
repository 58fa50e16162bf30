//! `benteng audit …`

use std::io::Write;

use anyhow::bail;
use benteng_core::audit::{AuditEvent, Retention};
use clap::Subcommand;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use super::cli_context;
use crate::Services;

/// Events `benteng audit export` reads per query: memory stays bounded however long the trail.
pub const EXPORT_PAGE: u32 = 1000;

#[derive(Debug, Subcommand)]
pub enum AuditCommand {
    /// Seal pending events, then walk every hash chain; exits non-zero naming the first bad row.
    Verify,
    /// Remove a retention class's expired events (the only deletion the trail allows); the
    /// chain stays verifiable from a checkpoint, and the purge itself is audited.
    Purge {
        /// security (7 years), access (2 years) or app (90 days).
        #[arg(long)]
        class: String,
    },
    /// Print events as JSON lines, oldest first.
    Export {
        /// RFC 3339 start (inclusive); default: the beginning.
        #[arg(long)]
        since: Option<String>,
        /// RFC 3339 end (exclusive); default: now.
        #[arg(long)]
        until: Option<String>,
    },
}

fn micros(text: Option<&str>, default: i64, flag: &str) -> anyhow::Result<i64> {
    match text {
        None => Ok(default),
        Some(text) => OffsetDateTime::parse(text, &Rfc3339)
            .map(|t| i64::try_from(t.unix_timestamp_nanos() / 1_000).unwrap_or(i64::MAX))
            .map_err(|_| {
                anyhow::anyhow!("--{flag} must be an RFC 3339 time like 2026-01-31T00:00:00Z")
            }),
    }
}

pub(super) async fn run(services: Services, command: AuditCommand) -> anyhow::Result<()> {
    let store = &services.store;
    match command {
        AuditCommand::Verify => {
            store.seal_audit().await?;
            let report = store.verify_audit().await?;
            for (class, checked) in &report.checked {
                println!("{:<9} {checked} sealed events checked", class.as_str());
            }
            if let Some(broken) = report.first_break {
                println!(
                    "BROKEN {} chain at position {} (event {}): {}",
                    broken.retention.as_str(),
                    broken.position,
                    broken.event_id,
                    broken.problem
                );
                let incident = store
                    .report_audit_break(&broken, services.clock.now(), &cli_context())
                    .await?;
                println!("P1 incident {incident} is open (or joined)");
                bail!("the audit trail does not verify");
            }
            if report.unsealed > 0 {
                println!(
                    "{} events written after the seal pass are not sealed yet",
                    report.unsealed
                );
            }
            println!("audit trail ok");
        }
        AuditCommand::Purge { class } => {
            let Some(class) = Retention::parse(&class) else {
                bail!("--class must be security, access or app");
            };
            let event = AuditEvent::new(
                &cli_context(),
                "audit.purged",
                Retention::Security,
                ("audit_class", class.as_str().to_owned()),
            );
            let purged = store.purge_audit(class, &event).await?;
            println!("{purged} expired {} events purged", class.as_str());
        }
        AuditCommand::Export { since, until } => {
            let now = i64::try_from(benteng_core::now().unix_timestamp_nanos() / 1_000)
                .unwrap_or(i64::MAX);
            let since = micros(since.as_deref(), 0, "since")?;
            let until = micros(until.as_deref(), now, "until")?;
            if until <= since {
                bail!("--until must be after --since");
            }
            let mut out = std::io::stdout().lock();
            let mut after = None;
            loop {
                let page = store
                    .audit_documents(None, None, since, until, after, EXPORT_PAGE)
                    .await?;
                for document in &page.items {
                    writeln!(out, "{document}")?;
                }
                after = page.next;
                if after.is_none() {
                    break;
                }
            }
        }
    }
    Ok(())
}
