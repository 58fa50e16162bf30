//! Request protection: rate limits, idempotency and daily volume caps.
//!
//! Which route gets which protection is decided in one place, [`policy`]; the route table
//! applies [`protect`] to every tenant route and [`guard_unauthenticated`] in front of their
//! authentication, so no handler carries protection code of its own. Money-moving handlers
//! additionally demand an [`idempotency::Idempotency`] extractor, which only this layer can
//! provide: a money route mounted without the layer cannot run.

pub mod client_ip;
pub mod idempotency;
pub mod policy;
pub mod rate_limit;
pub mod volume;

use std::collections::HashMap;
use std::time::Duration;

use axum::extract::{MatchedPath, Request, State};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use benteng_auth::Principal;
use benteng_core::ids::TenantId;
use benteng_core::tenant::Tier;

use crate::error::ApiError;
use crate::state::AppState;

/// A tier's (or a tenant's) limits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TenantLimits {
    pub requests_per_minute: u32,
    /// The daily volume cap in US cents.
    pub daily_volume_cents: i64,
}

/// A tenant's overrides of its tier's limits; `None` keeps the tier's value.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct TenantOverride {
    pub requests_per_minute: Option<u32>,
    pub daily_volume_cents: Option<i64>,
}

/// Settings of the protection layer, from the `[protection]` section of the config.
#[derive(Debug, Clone)]
pub struct Protection {
    /// Off only for benchmarks and emergencies: no rate limits, no idempotency, no caps.
    pub enabled: bool,
    pub tiers: HashMap<Tier, TenantLimits>,
    /// Per-endpoint limits per tenant per minute, keyed `"POST /v1/transfers"`.
    pub endpoints: HashMap<String, u32>,
    pub tenants: HashMap<TenantId, TenantOverride>,
    /// Failed authentications (and calls of public token endpoints) per client IP per minute;
    /// 0 turns the limit off.
    pub unauthenticated_per_minute: u32,
    /// How long idempotency records are kept.
    pub idempotency_ttl: Duration,
    /// How long an in-flight lock lives if its holder dies without releasing it.
    pub lock_ttl: Duration,
}

impl Default for Protection {
    fn default() -> Self {
        let tier = |requests_per_minute, dollars: i64| TenantLimits {
            requests_per_minute,
            daily_volume_cents: dollars * 100,
        };
        Self {
            enabled: true,
            tiers: HashMap::from([
                (Tier::Starter, tier(100, 10_000)),
                (Tier::Growth, tier(500, 100_000)),
                (Tier::Enterprise, tier(2_000, 1_000_000)),
            ]),
            endpoints: HashMap::from([
                ("POST /v1/transfers".to_owned(), 100),
                ("POST /v1/batches".to_owned(), 10),
                ("GET /v1/quotes".to_owned(), 500),
            ]),
            tenants: HashMap::new(),
            unauthenticated_per_minute: 30,
            idempotency_ttl: Duration::from_secs(24 * 3600),
            lock_ttl: Duration::from_secs(60),
        }
    }
}

impl Protection {
    /// The limits that apply to a tenant: its tier's, with its overrides.
    pub fn limits_for(&self, tenant: TenantId, tier: Tier) -> TenantLimits {
        let base = self.tiers.get(&tier).copied().unwrap_or(TenantLimits {
            requests_per_minute: 100,
            daily_volume_cents: 1_000_000,
        });
        match self.tenants.get(&tenant) {
            Some(o) => TenantLimits {
                requests_per_minute: o.requests_per_minute.unwrap_or(base.requests_per_minute),
                daily_volume_cents: o.daily_volume_cents.unwrap_or(base.daily_volume_cents),
            },
            None => base,
        }
    }
}

/// The protection of an authenticated tenant route: rate limits (tenant and endpoint), then,
/// on money-moving routes, idempotency. Every answer carries the `X-RateLimit-*` headers.
pub async fn protect(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let protection = state.protection.clone();
    if !protection.enabled {
        let mut request = request;
        request.extensions_mut().insert(idempotency::Disabled);
        return next.run(request).await;
    }
    let started = std::time::Instant::now();
    let Some(principal) = request.extensions().get::<Principal>().cloned() else {
        return ApiError::Unauthenticated(benteng_auth::AuthError::Missing).into_response();
    };
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map(|p| p.as_str().to_owned())
        .unwrap_or_default();
    let policy = policy::of(request.method(), &route);
    let endpoint = format!("{} {route}", request.method());
    let limits = protection.limits_for(principal.tenant.id, principal.tenant.tier);
    let verdict = rate_limit::check_tenant(
        &state,
        principal.tenant.id,
        limits.requests_per_minute,
        &endpoint,
        protection.endpoints.get(&endpoint).copied(),
    )
    .await;
    let verdict = match verdict {
        Ok(verdict) => Some(verdict),
        Err(error) if policy.money_moving => return error.into_response(),
        Err(_) => None, // reads stay available while the shared store is down
    };
    if let Some(verdict) = &verdict
        && !verdict.allowed
    {
        return verdict.refusal().into_response();
    }
    let mut response = if policy.money_moving {
        idempotency::guard(&state, &principal, request, next).await
    } else {
        let handler_started = std::time::Instant::now();
        let mut response = next.run(request).await;
        response
            .extensions_mut()
            .insert(HandlerElapsed(handler_started.elapsed()));
        response
    };
    // What protection itself cost this request: everything but the handler.
    if let Some(HandlerElapsed(handler)) = response.extensions_mut().remove::<HandlerElapsed>() {
        let overhead = started.elapsed().saturating_sub(handler);
        let money_moving = if policy.money_moving { "true" } else { "false" };
        metrics::histogram!("protection_overhead_seconds", "money_moving" => money_moving)
            .record(overhead.as_secs_f64());
    }
    if let Some(verdict) = &verdict {
        verdict.apply_headers(response.headers_mut());
    }
    response
}

/// Response extension: how long the handler behind the protection layer ran.
#[derive(Debug, Clone, Copy)]
pub struct HandlerElapsed(pub Duration);

/// In front of authentication: a client IP that failed to authenticate too often is refused
/// before its credentials are even looked at, so guessing keys is slow. Only failures count.
pub async fn guard_unauthenticated(
    State(state): State<AppState>,
    request: Request,
    next: Next,
) -> Response {
    rate_limit::guard_ip(&state, request, next).await
}
