//! Request protection: rate limits, idempotency and daily volume caps.
//!
//! Which route gets which protection is decided in one place, [`policy`]; the route table
//! applies [`protect`] to every tenant and SNAP route (and [`guard_unauthenticated`] in front of
//! SNAP authentication), so no handler carries protection code of its own. Handlers of routes
//! with an idempotency key additionally demand an [`idempotency::Idempotency`] extractor, which
//! only this layer can provide: such a route mounted without the layer cannot run.

pub mod client_ip;
pub mod idempotency;
pub mod policy;
pub mod rate_limit;

use std::collections::HashMap;
use std::time::Duration;

use axum::extract::{MatchedPath, Request, State};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use benteng_auth::Principal;
use benteng_core::ids::TenantId;
use benteng_core::tenant::Tier;
use benteng_shared_state::{Admission, Admitted, Decision, LimitCheck};

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
    /// Authenticates the responses kept in the shared state for replays, so whoever can write
    /// to Redis cannot make a retry replay a response benteng never gave.
    pub replay_mac: benteng_crypto::KeyedHasher,
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

/// The daily volume caps the payments layer charges: the tier's, with the tenant's override;
/// none while protection is switched off.
impl benteng_payments::VolumeCaps for Protection {
    fn daily_cap_cents(&self, tenant: &benteng_core::tenant::Tenant) -> Option<i64> {
        self.enabled
            .then(|| self.limits_for(tenant.id, tenant.tier).daily_volume_cents)
    }
}

/// The protection of an authenticated tenant or SNAP route, in one shared-state step before the
/// handler ([`benteng_shared_state::SharedState::admit`]): the per-IP guard, the rate limits
/// (tenant and endpoint) and, on routes that take one, the idempotency key; after such a
/// handler one more step stores its response and releases the key's lock. Money-moving routes
/// are refused (503) when that step cannot reach the shared state. Every answer carries the
/// `X-RateLimit-*` headers.
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
    let tenant = principal.tenant.id;
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map(|p| p.as_str().to_owned())
        .unwrap_or_default();
    let policy = policy::of(request.method(), &route);
    let endpoint = format!("{} {route}", request.method());
    let limits = rate_limit::tenant_limits(
        tenant,
        protection
            .limits_for(tenant, principal.tenant.tier)
            .requests_per_minute,
        &endpoint,
        protection.endpoints.get(&endpoint).copied(),
    );
    let checks: Vec<LimitCheck> = limits.iter().map(|limit| limit.check.clone()).collect();
    let guard = rate_limit::IpGuard::of(&state, request.extensions());
    // A missing or invalid key is refused after the limits have counted the request, as any
    // other refusal.
    let key = policy
        .idempotency_key
        .then(|| idempotency::Key::of(&state, tenant, request.headers()));
    let admission = Admission {
        guard: guard.as_ref().map(rate_limit::IpGuard::check),
        limits: &checks,
        key: key
            .as_ref()
            .and_then(|key| key.as_ref().ok())
            .map(idempotency::Key::lock),
        window: rate_limit::WINDOW,
    };
    let (verdict, found) = match state.shared.admit(&admission).await {
        Ok(Admitted {
            now_unix_ms,
            decision,
        }) => match decision {
            Decision::Blocked(counter) => {
                return match &guard {
                    Some(guard) => guard.refusal(now_unix_ms, counter),
                    None => unavailable(),
                };
            }
            Decision::Limited(counters) => {
                metrics::counter!("rate_limited_total", "scope" => "tenant").increment(1);
                return match rate_limit::Verdict::of(false, now_unix_ms, &counters, &limits) {
                    Some(verdict) => verdict.refusal(),
                    None => unavailable(),
                };
            }
            Decision::Admitted { counters, key } => (
                rate_limit::Verdict::of(true, now_unix_ms, &counters, &limits),
                key,
            ),
        },
        Err(error) => {
            tracing::warn!(%error, "shared state unavailable for request protection");
            metrics::counter!("protection_state_unavailable_total").increment(1);
            if policy.fails_closed {
                return unavailable();
            }
            (None, None) // reads stay available while the shared store is down
        }
    };
    let mut response = match (key, found) {
        (None, _) => {
            let handler_started = std::time::Instant::now();
            let mut response = next.run(request).await;
            response
                .extensions_mut()
                .insert(HandlerElapsed(handler_started.elapsed()));
            response
        }
        (Some(Err(refused)), _) => refused.into_response(),
        (Some(Ok(key)), Some(found)) => idempotency::run(&state, &key, found, request, next).await,
        // An admission with a key always answers for it.
        (Some(Ok(_)), None) => unavailable(),
    };
    // What protection itself cost this request: everything but the handler.
    if let Some(HandlerElapsed(handler)) = response.extensions_mut().remove::<HandlerElapsed>() {
        let overhead = started.elapsed().saturating_sub(handler);
        let money_moving = if policy.fails_closed { "true" } else { "false" };
        metrics::histogram!("protection_overhead_seconds", "money_moving" => money_moving)
            .record(overhead.as_secs_f64());
    }
    if let Some(verdict) = &verdict {
        verdict.apply_headers(response.headers_mut());
    }
    response
}

fn unavailable() -> Response {
    ApiError::Unavailable {
        retry_after_secs: 1,
    }
    .into_response()
}

/// Response extension: how long the handler behind the protection layer ran.
#[derive(Debug, Clone, Copy)]
pub struct HandlerElapsed(pub Duration);

/// In front of SNAP authentication (which always asks the shared store and the database) and of
/// public token endpoints: see [`rate_limit::guard_ip`]. Tenant routes check the address in
/// `middleware::authenticate` and in [`protect`] instead.
pub async fn guard_unauthenticated(
    State(state): State<AppState>,
    request: Request,
    next: Next,
) -> Response {
    rate_limit::guard_ip(&state, request, next).await
}
