//! The `[screening]` configuration section and the start-up of the screening service.

use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use benteng_compliance::{Screening, Thresholds, rescreen};
use serde::{Deserialize, Serialize};

use crate::Services;

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ScreeningConfig {
    /// Scores from this up to `block_threshold` hold a transfer for review.
    pub review_threshold: u8,
    /// Scores above this block a transfer.
    pub block_threshold: u8,
    /// How often each instance looks for new list versions and clearances in the database.
    pub poll_interval_secs: u64,
    /// Every tenant and recipient is rescreened this often (0 = never; one instance runs it).
    pub rescreen_interval_hours: u64,
}

impl Default for ScreeningConfig {
    fn default() -> Self {
        Self {
            review_threshold: benteng_compliance::benteng_screening::REVIEW_THRESHOLD,
            block_threshold: benteng_compliance::benteng_screening::BLOCK_THRESHOLD,
            poll_interval_secs: 5,
            rescreen_interval_hours: 24,
        }
    }
}

impl ScreeningConfig {
    pub fn thresholds(&self) -> anyhow::Result<Thresholds> {
        anyhow::ensure!(
            self.review_threshold <= self.block_threshold && self.block_threshold <= 100,
            "screening: review_threshold must be ≤ block_threshold ≤ 100"
        );
        Ok(Thresholds {
            review: self.review_threshold,
            block: self.block_threshold,
        })
    }
}

/// A screening service with the newest stored lists loaded.
pub async fn load(services: &Services) -> anyhow::Result<Arc<Screening>> {
    let screening = Arc::new(Screening::new(services.config.screening.thresholds()?));
    screening
        .sync(&services.store)
        .await
        .context("loading the screening lists")?;
    Ok(screening)
}

/// [`load`], then keep it in sync with the store and run the scheduled rescreens.
pub async fn start(services: &Services) -> anyhow::Result<Arc<Screening>> {
    let screening = load(services).await?;
    if screening.screener().lists().is_empty() {
        tracing::warn!(
            "no screening list loaded: every transfer is held for review until `benteng lists load` runs"
        );
    }
    let config = &services.config.screening;
    screening.spawn_sync(
        services.store.clone(),
        Duration::from_secs(config.poll_interval_secs.max(1)),
    );
    rescreen::spawn_scheduled(
        screening.clone(),
        services.store.clone(),
        services.config.cases.policy()?.screening,
        Duration::from_secs(config.rescreen_interval_hours.saturating_mul(3600)),
    );
    Ok(screening)
}
