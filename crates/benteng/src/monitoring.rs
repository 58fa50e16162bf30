//! The monitoring rules in force: the compiled-in defaults, or `monitoring.rules_file`, re-read
//! when it changes (a refused file keeps the rules in force, and says which line is wrong).

use std::path::{Path, PathBuf};
use std::sync::Weak;
use std::time::Duration;

use anyhow::Context;
use benteng_compliance::monitoring::{DEFAULT_RULES, parse_rules};
use benteng_compliance::post_event::{self, PostEventRules};
use benteng_core::payments::monitoring::RuleSet;
use benteng_payments::Payments;
use benteng_store::AlertCases;

/// A rules file is small; a bigger one is a mistake, refused before it is read.
const MAX_RULES_FILE_BYTES: u64 = 1024 * 1024;

/// Reads and validates a rules file.
pub fn read_file(path: &Path) -> anyhow::Result<RuleSet> {
    let size = std::fs::metadata(path)
        .with_context(|| format!("reading rules file {}", path.display()))?
        .len();
    if size > MAX_RULES_FILE_BYTES {
        anyhow::bail!(
            "rules file {} is larger than {MAX_RULES_FILE_BYTES} bytes",
            path.display()
        );
    }
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("reading rules file {}", path.display()))?;
    parse_rules(&text).with_context(|| format!("rules file {}", path.display()))
}

/// The rules to start with.
pub fn initial(path: Option<&Path>) -> anyhow::Result<RuleSet> {
    match path {
        Some(path) => read_file(path),
        None => parse_rules(DEFAULT_RULES).context("the default monitoring rules"),
    }
}

/// Re-reads the rules file when it changes, until `payments` is dropped.
pub fn watch(path: PathBuf, payments: Weak<Payments>, every: Duration) {
    crate::reload::watch(
        path,
        payments,
        every,
        "monitoring rules",
        |payments, path| {
            payments.set_rules(read_file(path)?);
            Ok(())
        },
    );
}

/// Runs the post-event scan every `every` (zero: never). Every instance scans; an alert's
/// dedup key keeps a pattern to one alert a day.
pub fn spawn_post_event_scan(
    store: benteng_store::Store,
    clock: std::sync::Arc<dyn benteng_core::clock::Clock>,
    cases: AlertCases,
    every: Duration,
) {
    if every.is_zero() {
        return;
    }
    tokio::spawn(async move {
        let rules = PostEventRules::default();
        let mut ticker = tokio::time::interval(every);
        // The first tick is immediate: let the server finish starting first.
        ticker.tick().await;
        loop {
            ticker.tick().await;
            match post_event::scan(&store, &rules, &cases, clock.now()).await {
                Ok(report) if report.raised > 0 => {
                    tracing::info!(
                        raised = report.raised,
                        "post-event monitoring raised alerts"
                    )
                }
                Ok(_) => {}
                Err(error) => tracing::warn!(%error, "post-event monitoring scan failed"),
            }
        }
    });
}
