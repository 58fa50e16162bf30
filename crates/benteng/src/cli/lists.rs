//! `benteng lists …`: store sanctions/PEP list versions and show what is loaded.

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::AtomicBool;

use benteng_compliance::benteng_screening::ListSource;
use benteng_compliance::lists::{Stored, store_list_file};
use benteng_compliance::rescreen;
use clap::Subcommand;

use super::screen::{interrupt_flag, progress_reporter};
use super::timestamp;
use crate::Services;

#[derive(Debug, Subcommand)]
pub enum ListsCommand {
    /// Parse a list file and store it as the new version of its list (only a file that parses
    /// completely is stored; a malformed file leaves the current version in place). Every
    /// instance loads the new version within `screening.poll_interval_secs`; then the changed
    /// entries are screened against every tenant and recipient.
    Load {
        /// ofac-sdn, ofac-nonsdn, un, eu, uk, id-dttot or generic:NAME.
        #[arg(long)]
        source: String,
        /// The list file; for OFAC CSV, a directory holding sdn.csv/alt.csv/add.csv (or the
        /// cons_*.csv files).
        #[arg(long)]
        path: PathBuf,
        /// Do not screen the parties against the changed entries now.
        #[arg(long)]
        no_rescreen: bool,
    },
    /// The current version of every list: source, version, entries, loaded at.
    Status,
}

pub(super) async fn run(services: Services, command: ListsCommand) -> anyhow::Result<()> {
    match command {
        ListsCommand::Load {
            source,
            path,
            no_rescreen,
        } => {
            let source: ListSource = source
                .parse()
                .map_err(|e| anyhow::anyhow!("--source: {e}"))?;
            let stored = store_list_file(&services.store, &source, &path, &super::cli_context())
                .await
                .map_err(|e| {
                    anyhow::anyhow!("list refused, the current version is unchanged: {e}")
                })?;
            match stored {
                Stored::Unchanged(version) => {
                    println!(
                        "{source} unchanged: version {} ({} entries) is current",
                        short(&version.version),
                        version.entry_count
                    );
                    Ok(())
                }
                Stored::New { version, diff } => {
                    println!(
                        "{source} version {} stored: {} entries ({} added, {} changed, {} removed)",
                        short(&version.version),
                        version.entry_count,
                        diff.added.len(),
                        diff.changed.len(),
                        diff.removed.len()
                    );
                    if no_rescreen || (diff.added.is_empty() && diff.changed.is_empty()) {
                        return Ok(());
                    }
                    let screening = crate::screening::load(&services).await?;
                    let cases = services.config.cases.policy()?.screening;
                    let run = rescreen::start_delta(&services.store, &version.id).await?;
                    let stop: Arc<AtomicBool> = interrupt_flag();
                    let mut report = progress_reporter();
                    let outcome = rescreen::run(
                        &screening,
                        &services.store,
                        &cases,
                        &run,
                        &stop,
                        &mut report,
                    )
                    .await?;
                    super::screen::print_outcome(&outcome);
                    Ok(())
                }
            }
        }
        ListsCommand::Status => {
            let versions = services.store.current_list_versions().await?;
            println!(
                "{:<22} {:<16} {:>9}  LOADED AT",
                "SOURCE", "VERSION", "ENTRIES"
            );
            for v in versions {
                println!(
                    "{:<22} {:<16} {:>9}  {}",
                    v.source,
                    short(&v.version),
                    v.entry_count,
                    timestamp(v.loaded_at)
                );
            }
            Ok(())
        }
    }
}

/// The first 16 hex digits of a version hash.
fn short(version: &str) -> &str {
    version.get(..16).unwrap_or(version)
}
