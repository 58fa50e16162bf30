//! `benteng monitoring …`: explain a transfer's decision, check a rules file, and replay a
//! candidate rule set over past transfers before it goes live (read-only).

use std::path::{Path, PathBuf};

use benteng_compliance::monitoring::Replay;
use benteng_core::ids::TransferId;
use benteng_core::payments::monitoring::RuleResult;
use clap::Subcommand;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use super::timestamp;
use crate::Services;

#[derive(Debug, Subcommand)]
pub enum MonitoringCommand {
    /// Print a transfer's full compliance decision: screening, every rule with its inputs.
    Explain { transfer: String },
    /// Validate a rules file as the server would load it (exit 1 naming the line if refused).
    Check { rules: PathBuf },
    /// Run the post-event scan once now (as the server does every
    /// `monitoring.post_event_interval_secs`) and print what it found.
    Scan,
    /// List alerts, newest first.
    Alerts {
        /// open or closed; all when omitted.
        #[arg(long)]
        status: Option<String>,
        #[arg(long, default_value_t = 50)]
        limit: i64,
    },
    /// Re-run a candidate rule set over the transfers scored since a time and print how many
    /// verdicts would change. Reads only.
    Replay {
        /// RFC 3339, e.g. 2026-11-01T00:00:00Z.
        #[arg(long)]
        since: String,
        #[arg(long)]
        rules: PathBuf,
    },
}

/// Transfers read per page during a replay.
const REPLAY_PAGE: i64 = 1000;

/// Validates a rules file as the server would load it.
pub(super) fn check(rules: &Path) -> anyhow::Result<()> {
    let set = crate::monitoring::read_file(rules)?;
    println!(
        "{}: {} rules, review from {}, block from {} (version {})",
        rules.display(),
        set.rules().len(),
        set.bands().review_from(),
        set.bands().block_from(),
        set.version()
    );
    Ok(())
}

pub(super) async fn run(services: Services, command: MonitoringCommand) -> anyhow::Result<()> {
    match command {
        MonitoringCommand::Check { rules } => check(&rules)?,
        MonitoringCommand::Scan => {
            let report = benteng_compliance::post_event::scan(
                &services.store,
                &Default::default(),
                &services.config.cases.policy()?.alerts,
                services.clock.now(),
            )
            .await?;
            println!(
                "{} patterns found, {} new alerts raised",
                report.patterns, report.raised
            );
        }
        MonitoringCommand::Alerts { status, limit } => {
            if let Some(status) = status.as_deref()
                && status != "open"
                && status != "closed"
            {
                anyhow::bail!("--status is open or closed");
            }
            let limit = limit.clamp(1, 1000);
            for alert in services.store.alerts(status.as_deref(), limit).await? {
                println!(
                    "{}  {}  {:<16} {:<22} tenant {}  transfer {}  {}",
                    alert.id,
                    timestamp(alert.created_at),
                    alert.kind,
                    alert.rule.as_deref().unwrap_or("-"),
                    alert.tenant.as_deref().unwrap_or("-"),
                    alert.transfer.as_deref().unwrap_or("-"),
                    alert.status
                );
            }
        }
        MonitoringCommand::Explain { transfer } => {
            let id: TransferId = transfer
                .parse()
                .map_err(|_| anyhow::anyhow!("not a transfer id"))?;
            let row = match services.store.transfer_monitoring(id).await {
                Err(benteng_store::StoreError::NotFound) => {
                    anyhow::bail!("no monitoring decision for transfer {id}")
                }
                other => other?,
            };
            println!("transfer      {}", row.transfer);
            println!(
                "tenant        {} ({})",
                row.tenant,
                row.environment.as_str()
            );
            println!("decided at    {}", timestamp(row.created_at));
            println!(
                "verdict       {} (risk score {})",
                row.verdict.as_str(),
                row.risk_score
            );
            println!(
                "screening     {} (score {})",
                row.screening_verdict.as_str(),
                row.screening_score
            );
            println!(
                "amount        USD {}.{:02}",
                row.amount_usd_cents / 100,
                row.amount_usd_cents % 100
            );
            println!(
                "corridor      {} {}, bank country {}",
                row.country,
                row.currency,
                row.bank_country.as_deref().unwrap_or("-")
            );
            println!("rule set      {}", row.rule_set);
            let record: Option<benteng_core::payments::monitoring::MonitoringRecord> =
                serde_json::from_str(&row.rules)?;
            let rules: Vec<RuleResult> = record.map(|r| r.rules).unwrap_or_default();
            for rule in rules {
                println!(
                    "  {} {:<20} v{:<3} +{:<3} {}",
                    if rule.hit { "HIT" } else { "   " },
                    rule.id,
                    rule.version,
                    rule.score,
                    rule.inputs
                );
            }
        }
        MonitoringCommand::Replay { since, rules } => {
            let since = OffsetDateTime::parse(&since, &Rfc3339).map_err(|_| {
                anyhow::anyhow!("--since must be RFC 3339, e.g. 2026-11-01T00:00:00Z")
            })?;
            let candidate = crate::monitoring::read_file(&rules)?;
            let mut replay = Replay::new(candidate);
            let mut after = None;
            loop {
                let page = services
                    .store
                    .monitoring_since(since, after, REPLAY_PAGE)
                    .await?;
                for row in &page {
                    replay.observe(row);
                }
                match page.last() {
                    Some(last) if page.len() as i64 == REPLAY_PAGE => {
                        after = Some((last.created_at, last.transfer))
                    }
                    _ => break,
                }
            }
            print!("{}", replay.report());
        }
    }
    Ok(())
}
