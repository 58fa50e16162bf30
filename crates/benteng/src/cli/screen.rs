//! `benteng screen …`: ad hoc search, rescreening, clearances of false positives.

use std::io::IsTerminal;
use std::io::Write;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use anyhow::bail;
use benteng_compliance::benteng_screening::{EntityType, PartialDate, Query};
use benteng_compliance::rescreen::{self, Outcome, Progress};
use benteng_operations::{
    ClearanceReason, ClearanceRequest, EntryRef, OpsRefusal, PartyRef, SearchResult,
};
use clap::{Args, Subcommand};

use crate::Services;

#[derive(Debug, Args)]
#[command(args_conflicts_with_subcommands = true)]
pub struct ScreenArgs {
    #[command(subcommand)]
    pub command: Option<ScreenCommand>,
    /// The name to search the loaded lists for (any script).
    pub name: Option<String>,
    /// Date of birth or registration: YYYY, YYYY-MM or YYYY-MM-DD.
    #[arg(long)]
    pub dob: Option<String>,
    /// Nationality or country: ISO alpha-2 code or English name.
    #[arg(long)]
    pub country: Option<String>,
    /// individual or business.
    #[arg(long = "type")]
    pub kind: Option<String>,
    /// How many matches to show, best first (1 to 100).
    #[arg(long, default_value_t = 10, value_parser = clap::value_parser!(u8).range(1..=100))]
    pub limit: u8,
    /// The lowest score a match may have to be shown (0 to 100).
    #[arg(long, default_value_t = 40, value_parser = clap::value_parser!(u8).range(0..=100))]
    pub min_score: u8,
}

#[derive(Debug, Subcommand)]
pub enum ScreenCommand {
    /// Screen every tenant and recipient against the current lists (resumes an interrupted
    /// run first). Shows progress on a terminal, logs it otherwise; Ctrl-C stops after the
    /// current batch, and the next run resumes there.
    Rescreen,
    /// Mark a (party, list entry) pair as a false positive. It stops counting toward the
    /// verdict until the entry changes.
    Clear {
        /// tenant:ID or recipient:ID.
        #[arg(long)]
        party: String,
        /// LIST:ENTRY_ID, e.g. un:6908048 or generic:bi-blacklist:BI-1.
        #[arg(long)]
        entry: String,
        /// Why the match is a false positive (recorded).
        #[arg(long)]
        reason: String,
        /// Who cleared it, e.g. the analyst who decided (recorded beside the operating-system
        /// user who ran the command; default: that user).
        #[arg(long)]
        by: Option<String>,
    },
}

pub(super) async fn run(services: Services, args: ScreenArgs) -> anyhow::Result<()> {
    match (args.command, args.name) {
        (Some(ScreenCommand::Rescreen), _) => rescreen_all(&services).await,
        (
            Some(ScreenCommand::Clear {
                party,
                entry,
                reason,
                by,
            }),
            _,
        ) => clear(&services, &party, &entry, &reason, by.as_deref()).await,
        (None, Some(name)) => {
            let mut query = Query::new(name);
            query.limit = usize::from(args.limit);
            query.min_score = args.min_score;
            search(&services, query, args.dob, args.country, args.kind).await
        }
        (None, None) => bail!("give a NAME to search, or `rescreen` or `clear`"),
    }
}

async fn search(
    services: &Services,
    mut query: Query,
    dob: Option<String>,
    country: Option<String>,
    kind: Option<String>,
) -> anyhow::Result<()> {
    if let Some(dob) = dob {
        query.dob = Some(
            dob.parse::<PartialDate>()
                .map_err(|_| anyhow::anyhow!("--dob must be YYYY, YYYY-MM or YYYY-MM-DD"))?,
        );
    }
    query.country = country;
    query.entity_type = match kind.as_deref() {
        None => None,
        Some("individual") => Some(EntityType::Person),
        Some("business") => Some(EntityType::Organisation),
        Some(_) => bail!("--type must be individual or business"),
    };
    let operations = services
        .operations()
        .with_screening(crate::screening::load(services).await?);
    let SearchResult {
        verdict,
        score,
        matches,
    } = operations.search(&query).map_err(|refusal| match refusal {
        OpsRefusal::Conflict(_) => {
            anyhow::anyhow!("no screening list is loaded; run `benteng lists load` first")
        }
        other => anyhow::anyhow!("{other}"),
    })?;
    let mut out = format!(
        "verdict {} (score {score})\n{:>5}  {:<12} {:<16} {:<16} MATCHED NAME\n",
        verdict.as_str(),
        "SCORE",
        "LIST",
        "ENTRY",
        "METHOD"
    );
    for m in matches.into_iter().map(|m| m.found) {
        let method = serde_json::to_value(m.method)
            .ok()
            .and_then(|v| v.as_str().map(str::to_owned))
            .unwrap_or_default();
        out.push_str(&format!(
            "{:>5}  {:<12} {:<16} {:<16} {}\n",
            m.score,
            m.source.to_string(),
            m.entry_id,
            method,
            m.matched_name
        ));
    }
    // A closed pipe (`| head`) is not worth a panic.
    let _ = std::io::stdout().lock().write_all(out.as_bytes());
    Ok(())
}

async fn rescreen_all(services: &Services) -> anyhow::Result<()> {
    let screening = crate::screening::load(services).await?;
    let cases = services.config.cases.policy()?.screening;
    let stop = interrupt_flag();
    let mut report = progress_reporter();
    let mut runs = services.store.unfinished_screening_runs().await?;
    if runs.is_empty() {
        let key = format!("manual:{}", uuid::Uuid::now_v7());
        if let Some(run) = rescreen::start_full(&services.store, &key).await? {
            runs.push(run);
        }
    } else {
        eprintln!("resuming {} unfinished run(s)", runs.len());
    }
    for run in runs {
        if run.kind == "full" && screening.screener().lists().is_empty() {
            bail!("no screening list is loaded; run `benteng lists load` first");
        }
        let outcome = rescreen::run(
            &screening,
            &services.store,
            &cases,
            &run,
            &stop,
            &mut report,
        )
        .await?;
        print_outcome(&outcome);
        if matches!(outcome, Outcome::Interrupted { .. }) {
            break;
        }
    }
    Ok(())
}

async fn clear(
    services: &Services,
    party: &str,
    entry: &str,
    reason: &str,
    by: Option<&str>,
) -> anyhow::Result<()> {
    let request = ClearanceRequest {
        party: PartyRef::parse(party).map_err(|e| anyhow::anyhow!("--party {e}"))?,
        entry: EntryRef::parse(entry).map_err(|e| anyhow::anyhow!("--entry {e}"))?,
        reason: ClearanceReason::parse(reason).map_err(|e| anyhow::anyhow!("--reason {e}"))?,
    };
    let operations = services
        .operations()
        .with_screening(crate::screening::load(services).await?);
    let clearance = operations
        .clear(request, by, &super::cli_context())
        .await
        .map_err(super::refused("tenant"))?;
    println!("{}", clearance.id);
    eprintln!(
        "cleared until {} entry {} changes",
        clearance.source, clearance.entry_id
    );
    Ok(())
}

/// Set on Ctrl-C: a run stops after its current batch (its checkpoint is saved).
pub(super) fn interrupt_flag() -> Arc<AtomicBool> {
    let stop = Arc::new(AtomicBool::new(false));
    let flag = stop.clone();
    tokio::spawn(async move {
        if tokio::signal::ctrl_c().await.is_ok() {
            eprintln!("\ninterrupted: stopping after this batch");
            flag.store(true, Ordering::Relaxed);
        }
    });
    stop
}

/// Progress on a terminal (one rewritten line), as log events otherwise.
pub(super) fn progress_reporter() -> impl FnMut(Progress) + Send {
    let terminal = std::io::stderr().is_terminal();
    move |p: Progress| {
        let left = p
            .remaining
            .map(|d| format!("{}s", d.as_secs()))
            .unwrap_or_else(|| "?".to_owned());
        if terminal {
            eprint!(
                "\r{}/{} parties, {} hits, {:.0}/s, {} left   ",
                p.done, p.total, p.hits, p.rate, left
            );
            let _ = std::io::stderr().flush();
        } else {
            tracing::info!(
                done = p.done,
                total = p.total,
                hits = p.hits,
                rate = p.rate,
                remaining_secs = p.remaining.map(|d| d.as_secs()),
                "rescreen progress"
            );
        }
    }
}

pub(super) fn print_outcome(outcome: &Outcome) {
    if std::io::stderr().is_terminal() {
        eprintln!();
    }
    match outcome {
        Outcome::Finished { done, hits } => {
            println!("rescreened {done} parties: {hits} at or above the review threshold")
        }
        Outcome::Interrupted { done } => {
            println!("interrupted after {done} parties; run `benteng screen rescreen` to resume")
        }
    }
}
