//! Rate limits: one counter per limit in the shared state, checked and incremented by one
//! atomic step for all the limits of a request (tenant tier and endpoint), so a request refused
//! by one limit does not use up another, and every instance sees the same counts. The per-IP
//! guard ([`IpGuard`]) counts failed authentications per client address in the same store.

use std::time::Duration;

use axum::extract::MatchedPath;
use axum::http::{Extensions, HeaderMap, HeaderName, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use benteng_core::ids::TenantId;
use benteng_shared_state::{Admission, Counter, Decision, LimitCheck};

use super::client_ip::client_ip;
use super::policy;
use crate::error::ApiError;
use crate::state::AppState;

pub const WINDOW: Duration = Duration::from_secs(60);

/// The counter key of a client address: its [`benteng_transport::AddressBlock`] (an IPv6
/// address counts by its /64).
pub fn address_key(ip: std::net::IpAddr) -> String {
    benteng_transport::AddressBlock::from(ip).to_string()
}

pub static X_RATELIMIT_LIMIT: HeaderName = HeaderName::from_static("x-ratelimit-limit");
pub static X_RATELIMIT_REMAINING: HeaderName = HeaderName::from_static("x-ratelimit-remaining");
pub static X_RATELIMIT_RESET: HeaderName = HeaderName::from_static("x-ratelimit-reset");

/// One limit of a request: its counter and what it is, for the problem's detail.
#[derive(Debug, Clone)]
pub struct Limit {
    pub check: LimitCheck,
    pub describes: String,
}

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
    /// The verdict of the counters the shared state returned for `limits` (in their order).
    pub fn of(
        allowed: bool,
        now_unix_ms: i64,
        counters: &[Counter],
        limits: &[Limit],
    ) -> Option<Self> {
        let candidates = counters.iter().zip(limits).map(|(counter, limit)| {
            let ttl_ms = i64::try_from(counter.resets_in.as_millis()).unwrap_or(i64::MAX);
            let ceiling = limit.check.limit;
            Verdict {
                allowed,
                limit: ceiling,
                remaining: (ceiling - counter.value).max(0),
                reset_epoch: (now_unix_ms.saturating_add(ttl_ms) + 999) / 1000,
                retry_after_secs: u64::try_from((ttl_ms + 999) / 1000).unwrap_or(1).max(1),
                describes: limit.describes.clone(),
            }
        });
        if allowed {
            candidates.min_by_key(|v| (v.remaining, -v.reset_epoch))
        } else {
            candidates
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

/// The limits an authenticated request counts against: the tenant's per-minute limit and, when
/// configured, its endpoint's.
pub fn tenant_limits(
    tenant: TenantId,
    per_minute: u32,
    endpoint: &str,
    endpoint_limit: Option<u32>,
) -> Vec<Limit> {
    let mut limits = vec![Limit {
        check: LimitCheck {
            key: format!("rl:tenant:{tenant}"),
            limit: i64::from(per_minute),
        },
        describes: format!("the tenant's limit of {per_minute} requests per minute"),
    }];
    if let Some(limit) = endpoint_limit {
        limits.push(Limit {
            check: LimitCheck {
                key: format!("rl:endpoint:{tenant}:{endpoint}"),
                limit: i64::from(limit),
            },
            describes: format!("the limit of {limit} requests per minute on {endpoint}"),
        });
    }
    limits
}

/// The per-IP guard: failed authentications (401) per client address per minute. An address at
/// its limit is refused whatever credentials it presents, with the same 429 whether or not they
/// were valid. Good traffic is never counted. Where the check happens:
/// - before credentials that this instance cannot verify from its own cache are looked up
///   ([`IpGuard::refuse_if_blocked`]), so guessing keys is slow and never reaches the database;
/// - for requests that authenticated, inside the protection layer's one shared-state step
///   ([`IpGuard::check`] as the admission's guard).
pub struct IpGuard(Limit);

impl IpGuard {
    /// The guard of the request's client address; `None` when protection or the guard is off,
    /// or the address is unknown.
    pub fn of(state: &AppState, extensions: &Extensions) -> Option<Self> {
        let per_minute = state.protection.unauthenticated_per_minute;
        if !state.protection.enabled || per_minute == 0 {
            return None;
        }
        let ip = client_ip(extensions)?;
        Some(Self(Limit {
            check: LimitCheck {
                key: format!("rl:ip:{}", address_key(ip)),
                limit: i64::from(per_minute),
            },
            describes: format!(
                "the limit of {per_minute} unauthenticated requests per minute per client address"
            ),
        }))
    }

    pub fn check(&self) -> &LimitCheck {
        &self.0.check
    }

    /// The 429 of a blocked address, from its counter.
    pub fn refusal(&self, now_unix_ms: i64, counter: Counter) -> Response {
        metrics::counter!("rate_limited_total", "scope" => "ip").increment(1);
        match Verdict::of(
            false,
            now_unix_ms,
            &[counter],
            std::slice::from_ref(&self.0),
        ) {
            Some(verdict) => verdict.refusal(),
            None => super::unavailable(),
        }
    }

    /// Before credentials are looked up: the 429 when the address is at its limit. With the
    /// shared store down, authentication itself decides (it falls back to the database); the
    /// money routes behind it fail closed on their own.
    pub async fn refuse_if_blocked(&self, state: &AppState) -> Option<Response> {
        let admission = Admission {
            guard: Some(self.check()),
            limits: &[],
            key: None,
            window: WINDOW,
        };
        match state.shared.admit(&admission).await {
            Ok(admitted) => match admitted.decision {
                Decision::Blocked(counter) => Some(self.refusal(admitted.now_unix_ms, counter)),
                _ => None,
            },
            Err(error) => {
                tracing::warn!(%error, "per-IP limiter unavailable");
                None
            }
        }
    }

    /// Counts one failed authentication (or one call of a token endpoint). `Err` is the 429 when
    /// the address was already at its limit; `Ok` the verdict for the response's headers
    /// (`None` with the shared store down).
    pub async fn count(&self, state: &AppState) -> Result<Option<Verdict>, Response> {
        let limits = std::slice::from_ref(&self.0);
        let admission = Admission {
            guard: None,
            limits: std::slice::from_ref(self.check()),
            key: None,
            window: WINDOW,
        };
        let admitted = match state.shared.admit(&admission).await {
            Ok(admitted) => admitted,
            Err(error) => {
                tracing::warn!(%error, "per-IP limiter unavailable");
                return Ok(None);
            }
        };
        match admitted.decision {
            Decision::Admitted { counters, .. } => {
                Ok(Verdict::of(true, admitted.now_unix_ms, &counters, limits))
            }
            Decision::Limited(counters) => match counters.first() {
                Some(counter) => Err(self.refusal(admitted.now_unix_ms, *counter)),
                None => Ok(None),
            },
            Decision::Blocked(counter) => Err(self.refusal(admitted.now_unix_ms, counter)),
        }
    }
}

/// In front of the routes whose authentication always asks the shared store or the database
/// (SNAP) and of public token endpoints: refuses a blocked address, then counts the request's
/// 401 (a token endpoint: every call, before it runs).
pub async fn guard_ip(
    state: &AppState,
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> Response {
    let Some(guard) = IpGuard::of(state, request.extensions()) else {
        return next.run(request).await;
    };
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map(|p| p.as_str().to_owned())
        .unwrap_or_default();
    if policy::is_token_endpoint(request.method(), &route) {
        return match guard.count(state).await {
            Ok(_) => next.run(request).await,
            Err(refusal) => refusal,
        };
    }
    if let Some(refusal) = guard.refuse_if_blocked(state).await {
        return refusal;
    }
    let mut response = next.run(request).await;
    if response.status() == StatusCode::UNAUTHORIZED {
        match guard.count(state).await {
            Ok(Some(verdict)) => verdict.apply_headers(response.headers_mut()),
            Ok(None) => {}
            Err(refusal) => return refusal,
        }
    }
    response
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::address_key;

    #[test]
    fn ipv6_clients_count_by_their_64_and_mapped_ones_as_ipv4() {
        let key = |text: &str| address_key(text.parse().unwrap());
        assert_eq!(key("203.0.113.7"), "203.0.113.7");
        assert_eq!(key("::ffff:203.0.113.7"), "203.0.113.7");
        assert_eq!(key("2001:db8:1:2::1"), "2001:db8:1:2::/64");
        // Every address of one /64 shares a counter; the next /64 does not.
        assert_eq!(
            key("2001:db8:1:2:ffff:ffff:ffff:ffff"),
            key("2001:db8:1:2::1")
        );
        assert_ne!(key("2001:db8:1:3::1"), key("2001:db8:1:2::1"));
        assert_eq!(key("::1"), "0:0:0:0::/64");
    }
}
