//! benteng's domain: the types every other crate speaks, and the rules that need no I/O.
//!
//! Invariants kept here:
//! - Money is never a float: amounts are decimal strings on the wire and integer minor units
//!   in storage (see `money`).
//! - Every identifier and every validated string is a newtype that can only be built by parsing,
//!   so holding one means it is valid.

pub mod api_key;
pub mod approvals;
pub mod audit;
pub mod cases;
pub mod clock;
pub mod country;
pub mod currency;
pub mod documents;
pub mod iban;
pub mod ids;
pub mod incidents;
pub mod kyc;
pub mod money;
pub mod network;
pub mod payments;
pub mod people;
pub mod roles;
pub mod rotation;
pub mod scopes;
pub mod staff_token;
pub mod store_link;
pub mod strict_json;
pub mod tenant;
pub mod text;
pub mod webhooks;

/// The system clock's current time (see [`clock`]): for code that was not handed a clock.
pub fn now() -> time::OffsetDateTime {
    use clock::Clock;
    clock::SystemClock.now()
}
