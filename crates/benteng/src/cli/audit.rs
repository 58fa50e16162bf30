//! `benteng audit …`

use std::io::Write;
use std::path::PathBuf;

use anyhow::{Context, bail};
use benteng_core::audit::{AuditEvent, Retention};
use clap::Subcommand;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use super::cli_context;
use crate::{Services, audit_anchor};

/// Events `benteng audit export` reads per query: memory stays bounded however long the trail.
pub const EXPORT_PAGE: u32 = 1000;

#[derive(Debug, Subcommand)]
pub enum AuditCommand {
    /// Seal pending events, then walk every hash chain; exits non-zero naming the first bad row.
    Verify {
        /// An anchor file (`benteng audit anchor`, or `audit.anchor_dir`): its signature must
        /// verify, and every chain must still reach the head it anchored, with the same hash.
        #[arg(long)]
        anchor: Option<PathBuf>,
    },
    /// Sign every chain's head (position and hash) into FILE, a compact JWS to keep where the
    /// database's users cannot write; `verify --anchor FILE` then detects removed rows.
    Anchor {
        /// Where to write the anchor; an existing file is not replaced.
        #[arg(long)]
        out: PathBuf,
        /// The previous anchor: the trail must still reach it before a new one is made.
        #[arg(long)]
        anchor: Option<PathBuf>,
    },
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

/// The anchor file at `path`, refused unless its signature verifies.
async fn read_anchor(
    keys: &audit_anchor::AnchorKeys,
    path: Option<&std::path::Path>,
) -> anyhow::Result<Option<audit_anchor::Anchor>> {
    let Some(path) = path else {
        return Ok(None);
    };
    let text = audit_anchor::read_anchor_file(path)?;
    let anchor = keys
        .read_anchor(&text)
        .await
        .with_context(|| format!("{} is not a valid audit anchor", path.display()))?;
    Ok(Some(anchor))
}

pub(super) async fn run(services: Services, command: AuditCommand) -> anyhow::Result<()> {
    let store = &services.store;
    match command {
        AuditCommand::Verify { anchor } => {
            let keys = services.anchor_keys();
            let anchor = read_anchor(&keys, anchor.as_deref()).await?;
            store.seal_audit().await?;
            let report = audit_anchor::verify(&keys, anchor.as_ref()).await?;
            for (class, checked) in &report.checked {
                println!("{:<9} {checked} sealed events checked", class.as_str());
            }
            if let Some(broken) = report.first_break {
                let event = if broken.event_id.is_empty() {
                    String::new()
                } else {
                    format!(" (event {})", broken.event_id)
                };
                println!(
                    "BROKEN {} chain at position {}{event}: {}",
                    broken.retention.as_str(),
                    broken.position,
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
            if let Some(anchor) = &anchor {
                for (class, head) in &anchor.heads {
                    println!(
                        "{:<9} reaches its anchored head at position {}",
                        class.as_str(),
                        head.position
                    );
                }
            }
            println!("audit trail ok");
        }
        AuditCommand::Anchor { out, anchor } => {
            if out.exists() {
                bail!("{} exists; an anchor is never written over", out.display());
            }
            let keys = services.anchor_keys();
            let previous = read_anchor(&keys, anchor.as_deref()).await?;
            let token = audit_anchor::export(&keys, previous.as_ref(), &cli_context()).await?;
            audit_anchor::write_anchor_file(&out, &token)?;
            println!("audit trail anchored in {}", out.display());
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
            let sign = services
                .anchor_keys()
                .checkpoint_signer(&cli_context())
                .await?;
            let purged = store.purge_audit(class, sign, &event).await?;
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
