//! Identifiers. Each is a UUID behind its own type, so a tenant id can never be passed where a key
//! id is due. New ids are v4 (random): they appear in URLs and must not leak creation order.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// An id string that is not a hyphenated UUID.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("not a valid {kind} id")]
pub struct InvalidId {
    pub kind: &'static str,
}

macro_rules! define_id {
    ($(#[$meta:meta])* $name:ident, $kind:literal) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[serde(transparent)]
        pub struct $name(Uuid);

        impl $name {
            pub fn new() -> Self {
                Self(Uuid::new_v4())
            }

            pub fn as_uuid(&self) -> &Uuid {
                &self.0
            }

            /// The 32-hex-digit form without hyphens, used where hyphens would be ambiguous
            /// (inside API keys).
            pub fn simple(&self) -> String {
                self.0.simple().to_string()
            }
        }

        impl Default for $name {
            fn default() -> Self {
                Self::new()
            }
        }

        impl From<Uuid> for $name {
            fn from(uuid: Uuid) -> Self {
                Self(uuid)
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                fmt::Display::fmt(&self.0.hyphenated(), f)
            }
        }

        impl FromStr for $name {
            type Err = InvalidId;

            /// Accepts only the canonical hyphenated form (36 characters); braces, URNs and
            /// the simple form are refused so one id has one spelling in URLs and logs.
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                if s.len() != 36 {
                    return Err(InvalidId { kind: $kind });
                }
                Uuid::try_parse(s).map(Self).map_err(|_| InvalidId { kind: $kind })
            }
        }
    };
}

define_id!(
    /// A tenant: one customer business of the platform.
    TenantId,
    "tenant"
);
define_id!(
    /// One API key (not the key itself: the key's record).
    ApiKeyId,
    "API key"
);
define_id!(
    /// A payee of a tenant.
    RecipientId,
    "recipient"
);
define_id!(
    /// A priced, single-use FX offer.
    QuoteId,
    "quote"
);
define_id!(
    /// A payment from a tenant to a recipient.
    TransferId,
    "transfer"
);
define_id!(
    /// A group of transfers submitted together.
    BatchId,
    "batch"
);
define_id!(
    /// One double-entry movement between two ledger accounts.
    LedgerTransferId,
    "ledger transfer"
);
define_id!(
    /// A person who signs in: platform staff or a tenant's user.
    PersonId,
    "person"
);
define_id!(
    /// A four-eyes request: proposed by one person, decided by another.
    PendingActionId,
    "pending action"
);
define_id!(
    /// A compliance case: one party's matters of one subject, worked by staff.
    CaseId,
    "case"
);

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn round_trips_through_display() {
        let id = TenantId::new();
        assert_eq!(id.to_string().parse::<TenantId>().unwrap(), id);
    }

    #[test]
    fn refuses_other_spellings() {
        let id = TenantId::new();
        assert!(id.simple().parse::<TenantId>().is_err());
        assert!(format!("{{{id}}}").parse::<TenantId>().is_err());
        assert!("".parse::<TenantId>().is_err());
        assert!("x".repeat(36).parse::<TenantId>().is_err());
    }
}

define_id!(
    /// A tenant-visible event (a webhook's `event_id`): the same across retries and replays.
    EventId,
    "event"
);
define_id!(
    /// A tenant's webhook endpoint.
    EndpointId,
    "webhook endpoint"
);
define_id!(
    /// One event's delivery to one endpoint (its attempts hang off it).
    DeliveryId,
    "delivery"
);
define_id!(
    /// A security incident: one ongoing attack or failure, with its clocks.
    IncidentId,
    "incident"
);
define_id!(
    /// A block of a client address or network.
    BlockId,
    "block"
);
define_id!(
    /// A regulatory report (LTKM, UK SAR): staff only, never shown to a tenant.
    ReportId,
    "report"
);
