//! The `[protection]` section: rate limits, daily volume caps and idempotency retention.
//! Kept apart from `config.rs` so the section can grow without touching the others.

use std::collections::{BTreeMap, HashMap};
use std::time::Duration;

use anyhow::{Context, bail};
use benteng_api::protection::{Protection, TenantLimits, TenantOverride};
use benteng_core::ids::TenantId;
use benteng_core::tenant::Tier;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ProtectionConfig {
    /// Rate limits, idempotency and volume caps. A benchmark/operations switch: with `false`
    /// money-moving requests are neither deduplicated nor capped. Keep it on in production.
    pub enabled: bool,
    /// How long idempotency records are kept (the key can be reused after that).
    pub idempotency_ttl_secs: u64,
    /// How often expired idempotency records are deleted from the database.
    pub sweep_interval_secs: u64,
    /// Failed authentications per client IP per minute before the address is refused (429);
    /// 0 turns the limit off.
    pub unauthenticated_per_minute: u32,
    pub tiers: TiersConfig,
    /// Requests per tenant per minute on one endpoint, keyed `"METHOD /route"`.
    pub endpoints: BTreeMap<String, u32>,
    /// Per-tenant overrides of the tier's limits, keyed by tenant id.
    pub tenants: BTreeMap<String, TenantLimitsOverride>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct TiersConfig {
    pub starter: TierLimitsConfig,
    pub growth: TierLimitsConfig,
    pub enterprise: TierLimitsConfig,
}

#[derive(Debug, Clone, Copy, Serialize, Deserialize, Default)]
#[serde(deny_unknown_fields, default)]
pub struct TierLimitsConfig {
    pub requests_per_minute: u32,
    /// Whole US dollars per UTC day.
    pub daily_volume_usd: u64,
}

#[derive(Debug, Clone, Copy, Serialize, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct TenantLimitsOverride {
    pub requests_per_minute: Option<u32>,
    pub daily_volume_usd: Option<u64>,
}

impl Default for ProtectionConfig {
    fn default() -> Self {
        Self {
            enabled: true,
            idempotency_ttl_secs: 24 * 3600,
            sweep_interval_secs: 300,
            unauthenticated_per_minute: 30,
            tiers: TiersConfig::default(),
            endpoints: [
                ("POST /v1/transfers", 100),
                ("POST /v1/batches", 10),
                ("GET /v1/quotes", 500),
            ]
            .into_iter()
            .map(|(k, v)| (k.to_owned(), v))
            .collect(),
            tenants: BTreeMap::new(),
        }
    }
}

impl Default for TiersConfig {
    fn default() -> Self {
        let tier = |requests_per_minute, daily_volume_usd| TierLimitsConfig {
            requests_per_minute,
            daily_volume_usd,
        };
        Self {
            starter: tier(100, 10_000),
            growth: tier(500, 100_000),
            enterprise: tier(2_000, 1_000_000),
        }
    }
}

fn cents(dollars: u64) -> anyhow::Result<i64> {
    i64::try_from(dollars)
        .ok()
        .and_then(|d| d.checked_mul(100))
        .context("daily_volume_usd is too large")
}

impl ProtectionConfig {
    /// The settings the HTTP layer uses; refuses endpoint keys or tenant ids that do not parse.
    pub fn to_protection(
        &self,
        lock_ttl: Duration,
        replay_mac: benteng_crypto::KeyedHasher,
    ) -> anyhow::Result<Protection> {
        let tier = |t: &TierLimitsConfig| -> anyhow::Result<TenantLimits> {
            Ok(TenantLimits {
                requests_per_minute: t.requests_per_minute,
                daily_volume_cents: cents(t.daily_volume_usd)?,
            })
        };
        let mut endpoints = HashMap::new();
        for (endpoint, limit) in &self.endpoints {
            let valid = endpoint.split_once(' ').is_some_and(|(method, path)| {
                ["GET", "POST", "PUT", "PATCH", "DELETE"].contains(&method) && path.starts_with('/')
            });
            if !valid {
                bail!("protection.endpoints: `{endpoint}` is not `METHOD /route`");
            }
            endpoints.insert(endpoint.clone(), *limit);
        }
        let mut tenants = HashMap::new();
        for (id, o) in &self.tenants {
            let id: TenantId = id
                .parse()
                .map_err(|_| anyhow::anyhow!("protection.tenants: `{id}` is not a tenant id"))?;
            tenants.insert(
                id,
                TenantOverride {
                    requests_per_minute: o.requests_per_minute,
                    daily_volume_cents: o.daily_volume_usd.map(cents).transpose()?,
                },
            );
        }
        Ok(Protection {
            enabled: self.enabled,
            tiers: HashMap::from([
                (Tier::Starter, tier(&self.tiers.starter)?),
                (Tier::Growth, tier(&self.tiers.growth)?),
                (Tier::Enterprise, tier(&self.tiers.enterprise)?),
            ]),
            endpoints,
            tenants,
            unauthenticated_per_minute: self.unauthenticated_per_minute,
            idempotency_ttl: Duration::from_secs(self.idempotency_ttl_secs.max(1)),
            lock_ttl,
            replay_mac,
        })
    }
}
