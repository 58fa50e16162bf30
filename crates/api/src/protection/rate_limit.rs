//! Rate limits: one counter per limit in the shared state, checked and incremented by one
//! atomic step for all the limits of a request (tenant tier and endpoint), so a request refused
//! by one limit does not use up another, and every instance sees the same counts.

use std::time::Duration;

use axum::extract::{MatchedPath, Request};
use axum::http::{HeaderMap, HeaderName, HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use benteng_core::ids::TenantId;
use benteng_shared_state::{LimitCheck, LimitOutcome};

use super::client_ip::client_ip;
use super::policy;
use crate::error::ApiError;
use crate::state::AppState;

pub const WINDOW: Duration = Duration::from_secs(60);

pub static X_RATELIMIT_LIMIT: HeaderName = HeaderName::from_static("x-ratelimit-limit");
pub static X_RATELIMIT_REMAINING: HeaderName = HeaderName::from_static("x-ratelimit-remaining");
pub static X_RATELIMIT_RESET: HeaderName = HeaderName::from_static("x-ratelimit-reset");

/// The answer of the limit that speaks for a request: the one that refused it, or else the one
/// with the least room left.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verdict {
    pub allowed: bool,
    pub limit: i64,
    pub remaining: i64,
    /// Unix epoch seconds at which this limit's window ends.
    pub reset_epoch: i64,
    /// Whole seconds until then, at least 1.
    pub retry_after_secs: u64,
    /// What the limit is, for the problem's detail.
    pub describes: String,
}

impl Verdict {
    fn from_outcome(outcome: &LimitOutcome, limits: &[(i64, String)]) -> Option<Self> {
        let candidates = outcome
            .counters
            .iter()
            .zip(limits)
            .map(|(counter, (limit, what))| {
                let ttl_ms = i64::try_from(counter.resets_in.as_millis()).unwrap_or(i64::MAX);
                Verdict {
                    allowed: outcome.allowed,
                    limit: *limit,
                    remaining: (limit - counter.value).max(0),
                    reset_epoch: (outcome.now_unix_ms.saturating_add(ttl_ms) + 999) / 1000,
                    retry_after_secs: u64::try_from((ttl_ms + 999) / 1000).unwrap_or(1).max(1),
                    describes: what.clone(),
                }
            });
        let candidates: Vec<Verdict> = candidates.collect();
        if outcome.allowed {
            candidates
                .into_iter()
                .min_by_key(|v| (v.remaining, -v.reset_epoch))
        } else {
            candidates
                .into_iter()
                .filter(|v| v.remaining == 0)
                .max_by_key(|v| v.reset_epoch)
        }
    }

    pub fn apply_headers(&self, headers: &mut HeaderMap) {
        headers.insert(X_RATELIMIT_LIMIT.clone(), HeaderValue::from(self.limit));
        headers.insert(
            X_RATELIMIT_REMAINING.clone(),
            HeaderValue::from(self.remaining),
        );
        headers.insert(
            X_RATELIMIT_RESET.clone(),
            HeaderValue::from(self.reset_epoch),
        );
    }

    /// The 429 answer, with `Retry-After` and the limit headers.
    pub fn refusal(&self) -> Response {
        let mut response = ApiError::RateLimited {
            retry_after_secs: self.retry_after_secs,
            detail: format!(
                "{}; retry after {} s",
                self.describes, self.retry_after_secs
            ),
        }
        .into_response();
        self.apply_headers(response.headers_mut());
        response
    }
}

fn unavailable() -> ApiError {
    ApiError::Unavailable {
        retry_after_secs: 1,
    }
}

/// Counts one request against the tenant's per-minute limit and, when configured, the
/// endpoint's. An unreachable shared store is `Unavailable`.
pub async fn check_tenant(
    state: &AppState,
    tenant: TenantId,
    per_minute: u32,
    endpoint: &str,
    endpoint_limit: Option<u32>,
) -> Result<Verdict, ApiError> {
    let mut checks = vec![LimitCheck {
        key: format!("rl:tenant:{tenant}"),
        limit: i64::from(per_minute),
    }];
    let mut limits = vec![(
        i64::from(per_minute),
        format!("the tenant's limit of {per_minute} requests per minute"),
    )];
    if let Some(limit) = endpoint_limit {
        checks.push(LimitCheck {
            key: format!("rl:endpoint:{tenant}:{endpoint}"),
            limit: i64::from(limit),
        });
        limits.push((
            i64::from(limit),
            format!("the limit of {limit} requests per minute on {endpoint}"),
        ));
    }
    let outcome = state
        .shared
        .check_limits(&checks, 1, WINDOW)
        .await
        .map_err(|error| {
            tracing::warn!(%error, "rate limiter unavailable");
            metrics::counter!("protection_state_unavailable_total").increment(1);
            unavailable()
        })?;
    if !outcome.allowed {
        metrics::counter!("rate_limited_total", "scope" => "tenant").increment(1);
    }
    Verdict::from_outcome(&outcome, &limits).ok_or_else(unavailable)
}

/// Per client IP: refuses an address that failed authentication too often in the last minute
/// before looking at its credentials, and counts each new failure (401). Token endpoints count
/// every call. With the shared store down, authentication itself still decides (it falls back
/// to the database); the money routes behind it fail closed on their own.
pub async fn guard_ip(state: &AppState, request: Request, next: Next) -> Response {
    let per_minute = state.protection.unauthenticated_per_minute;
    if !state.protection.enabled || per_minute == 0 {
        return next.run(request).await;
    }
    let Some(ip) = client_ip(request.extensions()) else {
        return next.run(request).await;
    };
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map(|p| p.as_str().to_owned())
        .unwrap_or_default();
    let counts_every_call = policy::is_token_endpoint(request.method(), &route);
    let checks = [LimitCheck {
        key: format!("rl:ip:{ip}"),
        limit: i64::from(per_minute),
    }];
    let limits = [(
        i64::from(per_minute),
        format!("the limit of {per_minute} unauthenticated requests per minute per client address"),
    )];
    let cost = i64::from(counts_every_call);
    match state.shared.check_limits(&checks, cost, WINDOW).await {
        Ok(outcome) => {
            let full = !outcome.allowed
                || (cost == 0
                    && outcome
                        .counters
                        .first()
                        .is_some_and(|c| c.value >= i64::from(per_minute)));
            if full {
                metrics::counter!("rate_limited_total", "scope" => "ip").increment(1);
                let mut refused = outcome.clone();
                refused.allowed = false;
                if let Some(verdict) = Verdict::from_outcome(&refused, &limits) {
                    return verdict.refusal();
                }
            }
        }
        Err(error) => tracing::warn!(%error, "per-IP limiter unavailable"),
    }
    let mut response = next.run(request).await;
    if response.status() == StatusCode::UNAUTHORIZED
        && !counts_every_call
        && let Ok(outcome) = state.shared.check_limits(&checks, 1, WINDOW).await
        && let Some(verdict) = Verdict::from_outcome(&outcome, &limits)
    {
        verdict.apply_headers(response.headers_mut());
    }
    response
}
