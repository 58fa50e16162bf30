//! The FX rate table: from config, or from a rates file that is re-read when it changes. A file
//! that fails to parse leaves the table in use untouched.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Weak;
use std::time::Duration;

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

/// Re-reads the rates file when it changes, until `payments` is dropped.
pub fn watch(path: PathBuf, payments: Weak<Payments>, every: Duration) {
    crate::reload::watch(path, payments, every, "rates", |payments, path| {
        payments.set_rates(read_file(path)?);
        Ok(())
    });
}
