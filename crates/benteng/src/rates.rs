//! The FX rate table: from config, or from a rates file that is re-read when it changes. A file
//! that fails to parse leaves the table in use untouched.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Weak;
use std::time::{Duration, SystemTime};

use anyhow::{Context, bail};
use benteng_core::currency::Currency;
use benteng_core::money::Rate;
use benteng_core::payments::quote::RateTable;
use benteng_payments::Payments;
use figment::Figment;
use figment::providers::{Format, Toml};
use serde::Deserialize;

pub fn table(per_usd: &BTreeMap<String, String>) -> anyhow::Result<RateTable> {
    let mut rates = Vec::with_capacity(per_usd.len());
    for (code, rate) in per_usd {
        let currency =
            Currency::parse(code).map_err(|_| anyhow::anyhow!("{code} is not an ISO 4217 code"))?;
        let rate = Rate::parse(rate)
            .map_err(|_| anyhow::anyhow!("rate for {code} is not a positive decimal"))?;
        rates.push((currency, rate));
    }
    if !rates.iter().any(|(c, _)| *c == Currency::USD) {
        bail!("the rate table must include USD (= 1)");
    }
    Ok(RateTable::new(rates))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RatesFile {
    per_usd: BTreeMap<String, String>,
}

pub fn read_file(path: &Path) -> anyhow::Result<RateTable> {
    let file: RatesFile = Figment::from(Toml::file_exact(path))
        .extract()
        .with_context(|| format!("reading rates file {}", path.display()))?;
    table(&file.per_usd)
}

fn modified(path: &Path) -> Option<SystemTime> {
    std::fs::metadata(path).and_then(|m| m.modified()).ok()
}

/// Re-reads the rates file when its modification time changes, until `payments` is dropped.
pub fn watch(path: PathBuf, payments: Weak<Payments>, every: Duration) {
    tokio::spawn(async move {
        let mut seen = modified(&path);
        let mut ticker = tokio::time::interval(every);
        loop {
            ticker.tick().await;
            let Some(payments) = payments.upgrade() else {
                return;
            };
            let now = modified(&path);
            if now == seen {
                continue;
            }
            seen = now;
            match read_file(&path) {
                Ok(table) => {
                    payments.set_rates(table);
                    tracing::info!(path = %path.display(), "rates reloaded");
                }
                Err(error) => {
                    tracing::error!(error = %format!("{error:#}"), "rates file refused; keeping the rates in use")
                }
            }
        }
    });
}
