//! The one table of which routes move money, and how each is protected against replays.
//! Everything else about protection follows from it and from the configured limits:
//! money-moving routes fail closed (503) when the shared store is down, because their rate
//! limits (and their replay protection) live there; those that take an idempotency key require
//! one. Every tenant and SNAP route counts against the tenant's per-minute limit and, where the
//! config names it, an endpoint limit.

use axum::http::Method;

/// How a money-moving route recognises a retried request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Replay {
    /// `X-Idempotency-Key` (required), handled by the protection layer.
    IdempotencyKey,
    /// SNAP's own: `X-EXTERNAL-ID` (checked by SNAP authentication) and `partnerReferenceNo`
    /// (unique per partner in the store). SNAP clients send no idempotency key.
    SnapReferences,
}

/// Routes that create transfers, by method and route template.
pub const MONEY_MOVING: &[(&str, &str, Replay)] = &[
    ("POST", "/v1/transfers", Replay::IdempotencyKey),
    ("POST", "/v1/batches", Replay::IdempotencyKey),
    (
        "POST",
        crate::routes::snap::TRANSFER_PATH,
        Replay::SnapReferences,
    ),
];

/// Public routes that hand out credentials (token endpoints): every call counts against the
/// client IP's limit, like a failed authentication, so guessing partner secrets is slow.
pub const TOKEN_ENDPOINTS: &[(&str, &str)] = &[
    ("POST", crate::routes::snap::TOKEN_PATH),
    ("POST", crate::routes::admin::SIGN_IN_PATH),
    ("POST", crate::routes::admin::ENROLMENT_START_PATH),
    ("POST", crate::routes::admin::ENROLMENT_FINISH_PATH),
    ("POST", crate::routes::admin::session::TENANT_SIGN_IN_PATH),
    (
        "POST",
        crate::routes::admin::session::TENANT_ENROLMENT_START_PATH,
    ),
    (
        "POST",
        crate::routes::admin::session::TENANT_ENROLMENT_FINISH_PATH,
    ),
    // FAPI 2.0: client authentication at PAR and the token endpoint, and the tenant user's
    // sign-in on the consent page.
    ("POST", benteng_auth::fapi::PAR_PATH),
    ("POST", benteng_auth::fapi::TOKEN_PATH),
    ("POST", benteng_auth::fapi::AUTHORIZE_PATH),
    ("POST", benteng_auth::fapi::REVOKE_PATH),
];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Policy {
    /// Moves money: refused (503) when the shared store cannot count it against the limits.
    pub fails_closed: bool,
    /// Requires `X-Idempotency-Key` (and gets the stored-response replay).
    pub idempotency_key: bool,
}

/// The policy of a route, by method and route template.
pub fn of(method: &Method, route: &str) -> Policy {
    let replay = MONEY_MOVING
        .iter()
        .find(|(m, r, _)| method.as_str() == *m && route == *r)
        .map(|(_, _, replay)| *replay);
    Policy {
        fails_closed: replay.is_some(),
        idempotency_key: replay == Some(Replay::IdempotencyKey),
    }
}

pub fn is_token_endpoint(method: &Method, route: &str) -> bool {
    TOKEN_ENDPOINTS
        .iter()
        .any(|(m, r)| method.as_str() == *m && route == *r)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Access;

    #[test]
    fn money_moving_routes_are_mounted_behind_the_protection_layer() {
        let table = crate::routes::table();
        for (_, route, replay) in MONEY_MOVING {
            // Tenant and SNAP routes are the ones `routes::router` puts behind `protect`; the
            // SNAP ones are exactly those without an idempotency key.
            let expected = match replay {
                Replay::IdempotencyKey => Access::Tenant,
                Replay::SnapReferences => Access::Snap,
            };
            assert!(
                table
                    .iter()
                    .any(|(path, access)| path == route && *access == expected),
                "{route} is not a mounted {expected:?} route"
            );
        }
        for (_, route) in TOKEN_ENDPOINTS {
            assert!(
                table
                    .iter()
                    .any(|(path, access)| path == route && *access == Access::Public),
                "{route} is not a mounted public route"
            );
        }
        let transfers = of(&Method::POST, "/v1/transfers");
        assert!(transfers.fails_closed && transfers.idempotency_key);
        assert!(!of(&Method::GET, "/v1/transfers").fails_closed);
        let snap = of(&Method::POST, crate::routes::snap::TRANSFER_PATH);
        assert!(snap.fails_closed && !snap.idempotency_key);
        assert!(!of(&Method::POST, crate::routes::snap::STATUS_PATH).fails_closed);
    }
}
