//! Files re-read while the server runs (rates, monitoring rules): a change is noticed by its
//! modification time; a file that fails to load leaves what is in force untouched.

use std::path::{Path, PathBuf};
use std::sync::Weak;
use std::time::{Duration, SystemTime};

fn modified(path: &Path) -> Option<SystemTime> {
    std::fs::metadata(path).and_then(|m| m.modified()).ok()
}

/// Calls `apply` with the file each time its modification time changes, until `target` is
/// dropped. `what` names the file in the logs.
pub fn watch<T: Send + Sync + 'static>(
    path: PathBuf,
    target: Weak<T>,
    every: Duration,
    what: &'static str,
    apply: impl Fn(&T, &Path) -> anyhow::Result<()> + Send + 'static,
) {
    tokio::spawn(async move {
        let mut seen = modified(&path);
        let mut ticker = tokio::time::interval(every);
        loop {
            ticker.tick().await;
            let Some(target) = target.upgrade() else {
                return;
            };
            let now = modified(&path);
            if now == seen {
                continue;
            }
            seen = now;
            match apply(&target, &path) {
                Ok(()) => tracing::info!(path = %path.display(), "{what} reloaded"),
                Err(error) => tracing::error!(
                    path = %path.display(),
                    error = %format!("{error:#}"),
                    "{what} file refused; keeping what is in force"
                ),
            }
        }
    });
}
