//! Webhooks without I/O: the events a tenant can subscribe to, an event as the outbox keeps it
//! and as it is sent, endpoint URLs, which addresses a delivery may reach, and the retry
//! schedule.
//!
//! An event's payload is the spec's `{event_id, event_type, data, created_at}`. `data` names
//! the object the event is about and carries its per-object `sequence` (1, 2, 3… for each
//! object, in the order its changes committed), so a receiver can order what it gets and drop
//! what it has seen (`event_id` is the same across retries and replays).

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::str::FromStr;

use serde_json::Value;
use time::OffsetDateTime;

use crate::api_key::KeyEnvironment;
use crate::ids::{EventId, TenantId};
use crate::network::Network;
use crate::payments::transfer::TransferStatus;

/// What happened. A closed set: a subscription names these, parsed strictly.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[repr(u8)]
pub enum EventType {
    TransferCreated,
    TransferApproved,
    /// Held for compliance review. The event says only that: never why (no tip-off).
    TransferHeldForReview,
    TransferBlocked,
    TransferSubmitted,
    TransferCompleted,
    TransferFailed,
    TransferReturned,
    /// Every transfer of a batch reached an end (completed, failed, blocked or returned).
    BatchFinished,
    /// Money was credited to one of the tenant's balances (a funding).
    BalanceCredited,
    /// One of the tenant's API keys expires within [`API_KEY_EXPIRY_NOTICE`].
    ApiKeyExpiring,
    /// The tenant's 30-day volume passed 80 % of its KYC level's ceiling.
    KycLimitApproaching,
    /// An endpoint was disabled by the system (410 Gone, or five days of failures).
    WebhookEndpointDisabled,
    /// A test delivery an endpoint's owner asked for.
    WebhookTest,
}

impl EventType {
    pub const ALL: [EventType; 14] = [
        Self::TransferCreated,
        Self::TransferApproved,
        Self::TransferHeldForReview,
        Self::TransferBlocked,
        Self::TransferSubmitted,
        Self::TransferCompleted,
        Self::TransferFailed,
        Self::TransferReturned,
        Self::BatchFinished,
        Self::BalanceCredited,
        Self::ApiKeyExpiring,
        Self::KycLimitApproaching,
        Self::WebhookEndpointDisabled,
        Self::WebhookTest,
    ];

    pub const fn as_str(self) -> &'static str {
        match self {
            Self::TransferCreated => "transfer.created",
            Self::TransferApproved => "transfer.approved",
            Self::TransferHeldForReview => "transfer.held_for_review",
            Self::TransferBlocked => "transfer.blocked",
            Self::TransferSubmitted => "transfer.submitted",
            Self::TransferCompleted => "transfer.completed",
            Self::TransferFailed => "transfer.failed",
            Self::TransferReturned => "transfer.returned",
            Self::BatchFinished => "batch.finished",
            Self::BalanceCredited => "balance.credited",
            Self::ApiKeyExpiring => "api_key.expiring",
            Self::KycLimitApproaching => "kyc.limit_approaching",
            Self::WebhookEndpointDisabled => "webhook_endpoint.disabled",
            Self::WebhookTest => "webhook.test",
        }
    }

    /// The event of a transfer entering `status`; none for the internal steps (screening).
    pub fn for_transfer_status(status: TransferStatus) -> Option<EventType> {
        Some(match status {
            TransferStatus::Initiated => Self::TransferCreated,
            TransferStatus::Screening => return None,
            TransferStatus::Approved => Self::TransferApproved,
            TransferStatus::PendingReview => Self::TransferHeldForReview,
            TransferStatus::Blocked => Self::TransferBlocked,
            TransferStatus::Submitted => Self::TransferSubmitted,
            TransferStatus::Completed => Self::TransferCompleted,
            TransferStatus::Failed => Self::TransferFailed,
            TransferStatus::Returned => Self::TransferReturned,
        })
    }

    const fn bit(self) -> u16 {
        1 << self as u8
    }
}

impl fmt::Display for EventType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.pad(self.as_str())
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown event type {0:?}")]
pub struct UnknownEventType(String);

impl FromStr for EventType {
    type Err = UnknownEventType;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        Self::ALL
            .into_iter()
            .find(|t| t.as_str() == text)
            .ok_or_else(|| UnknownEventType(text.chars().take(60).collect()))
    }
}

/// The event types an endpoint subscribes to: `*` (everything, including types added later) or
/// a non-empty set. Written as `*` or the names separated by single spaces.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EventTypes {
    All,
    Some(u16),
}

impl EventTypes {
    pub fn contains(self, event_type: EventType) -> bool {
        match self {
            Self::All => true,
            Self::Some(bits) => bits & event_type.bit() != 0,
        }
    }

    /// The list form of an API request: `["*"]` or event type names, no duplicates.
    pub fn from_names<'a>(
        names: impl IntoIterator<Item = &'a str>,
    ) -> Result<Self, UnknownEventType> {
        let mut bits = 0u16;
        let mut all = false;
        let mut count = 0;
        for name in names {
            count += 1;
            if name == "*" {
                all = true;
                continue;
            }
            let event_type: EventType = name.parse()?;
            if bits & event_type.bit() != 0 {
                return Err(UnknownEventType(format!("{name} (listed twice)")));
            }
            bits |= event_type.bit();
        }
        match (all, count) {
            (true, 1) => Ok(Self::All),
            (true, _) => Err(UnknownEventType("* with other types".to_owned())),
            (false, 0) => Err(UnknownEventType("(none)".to_owned())),
            (false, _) => Ok(Self::Some(bits)),
        }
    }

    pub fn names(self) -> Vec<&'static str> {
        match self {
            Self::All => vec!["*"],
            Self::Some(_) => EventType::ALL
                .into_iter()
                .filter(|t| self.contains(*t))
                .map(EventType::as_str)
                .collect(),
        }
    }
}

impl fmt::Display for EventTypes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.names().join(" "))
    }
}

impl FromStr for EventTypes {
    type Err = UnknownEventType;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        Self::from_names(text.split(' '))
    }
}

/// A tenant-visible event, as the outbox keeps it. Written in the transaction of the change it
/// reports; the store gives it the next `sequence` of its object.
#[derive(Debug, Clone, PartialEq)]
pub struct Notice {
    pub id: EventId,
    pub tenant_id: TenantId,
    pub environment: KeyEnvironment,
    pub event_type: EventType,
    /// `transfer`, `endpoint`.
    pub object_type: String,
    pub object_id: String,
    /// The object as the tenant may see it: no compliance reasons, no sealed fields.
    pub data: Value,
    pub created_at: OffsetDateTime,
}

impl Notice {
    /// The payload sent (and signed): `{event_id, event_type, data, created_at}`, with the
    /// object's type, id and sequence inside `data`. Serialised once per delivery attempt;
    /// receivers verify the bytes they got, never a re-serialisation.
    pub fn payload(&self, sequence: i64) -> Value {
        let mut data = serde_json::Map::new();
        data.insert("object".to_owned(), self.object_type.clone().into());
        data.insert("id".to_owned(), self.object_id.clone().into());
        data.insert("sequence".to_owned(), sequence.into());
        data.insert(
            "livemode".to_owned(),
            (self.environment == KeyEnvironment::Live).into(),
        );
        if let Value::Object(fields) = &self.data {
            for (key, value) in fields {
                data.entry(key.clone()).or_insert_with(|| value.clone());
            }
        }
        serde_json::json!({
            "event_id": self.id.to_string(),
            "event_type": self.event_type.as_str(),
            "data": Value::Object(data),
            "created_at": rfc3339(self.created_at),
        })
    }
}

pub fn rfc3339(at: OffsetDateTime) -> String {
    at.format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_else(|_| at.unix_timestamp().to_string())
}

/// The longest endpoint URL accepted.
pub const MAX_URL_LEN: usize = 2048;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EndpointUrlError {
    #[error("is longer than {MAX_URL_LEN} characters")]
    TooLong,
    #[error("is not an absolute URL")]
    NotUrl,
    #[error("must use https")]
    NotHttps,
    #[error("must not carry a user name or password")]
    Credentials,
    #[error("must not carry a fragment")]
    Fragment,
    #[error("needs a host name or address")]
    NoHost,
}

/// An endpoint's URL: absolute, https (plain http only where the operator allowed it, for
/// tests), a host, no credentials, no fragment, at most [`MAX_URL_LEN`] characters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EndpointUrl {
    url: url::Url,
}

impl EndpointUrl {
    pub fn parse(text: &str, allow_http: bool) -> Result<Self, EndpointUrlError> {
        if text.len() > MAX_URL_LEN {
            return Err(EndpointUrlError::TooLong);
        }
        if text.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return Err(EndpointUrlError::NotUrl);
        }
        let url = url::Url::parse(text).map_err(|_| EndpointUrlError::NotUrl)?;
        match url.scheme() {
            "https" => {}
            "http" if allow_http => {}
            "http" => return Err(EndpointUrlError::NotHttps),
            _ => return Err(EndpointUrlError::NotHttps),
        }
        if !url.username().is_empty() || url.password().is_some() {
            return Err(EndpointUrlError::Credentials);
        }
        if url.fragment().is_some() {
            return Err(EndpointUrlError::Fragment);
        }
        match url.host() {
            None => return Err(EndpointUrlError::NoHost),
            Some(url::Host::Domain("")) => return Err(EndpointUrlError::NoHost),
            Some(_) => {}
        }
        Ok(Self { url })
    }

    pub fn as_str(&self) -> &str {
        self.url.as_str()
    }

    /// The host as a name to resolve, or the literal address.
    pub fn host(&self) -> UrlHost {
        match self.url.host() {
            Some(url::Host::Ipv4(ip)) => UrlHost::Ip(IpAddr::V4(ip)),
            Some(url::Host::Ipv6(ip)) => UrlHost::Ip(IpAddr::V6(ip)),
            Some(url::Host::Domain(name)) => UrlHost::Name(name.to_owned()),
            None => UrlHost::Name(String::new()),
        }
    }

    pub fn port(&self) -> u16 {
        self.url.port_or_known_default().unwrap_or(443)
    }

    /// The path and the query, as a signature over the request names them.
    pub fn path_and_query(&self) -> (&str, Option<&str>) {
        (self.url.path(), self.url.query())
    }
}

impl fmt::Display for EndpointUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.pad(self.as_str())
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum UrlHost {
    Name(String),
    Ip(IpAddr),
}

/// Addresses a delivery may connect to: public ones, plus the operator's allow-list (for tests
/// and private deployments). Checked when an endpoint is saved and again for every attempt,
/// on the address actually connected to (DNS may answer differently the second time).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AddressPolicy {
    pub allow_private: Vec<Network>,
}

impl AddressPolicy {
    pub fn permits(&self, ip: IpAddr) -> bool {
        is_public(ip) || self.allow_private.iter().any(|n| n.contains(ip))
    }
}

/// Whether `ip` is a globally routable unicast address: not loopback, private, link-local
/// (which holds the cloud metadata address 169.254.169.254), CGNAT, documentation,
/// benchmarking, multicast, reserved, unspecified, IPv6 unique-local, or an IPv4 address
/// inside an IPv4-mapped or NAT64 IPv6 address that is any of these.
pub fn is_public(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => is_public_v4(v4),
        IpAddr::V6(v6) => is_public_v6(v6),
    }
}

fn is_public_v4(ip: Ipv4Addr) -> bool {
    let o = ip.octets();
    let blocked = o[0] == 0
        || o[0] == 10
        || o[0] == 127
        || (o[0] == 100 && (64..128).contains(&o[1]))
        || (o[0] == 169 && o[1] == 254)
        || (o[0] == 172 && (16..32).contains(&o[1]))
        || (o[0] == 192 && o[1] == 0 && o[2] == 0)
        || (o[0] == 192 && o[1] == 0 && o[2] == 2)
        || (o[0] == 192 && o[1] == 88 && o[2] == 99)
        || (o[0] == 192 && o[1] == 168)
        || (o[0] == 198 && (o[1] == 18 || o[1] == 19))
        || (o[0] == 198 && o[1] == 51 && o[2] == 100)
        || (o[0] == 203 && o[1] == 0 && o[2] == 113)
        || o[0] >= 224;
    !blocked
}

fn is_public_v6(ip: Ipv6Addr) -> bool {
    let s = ip.segments();
    if let Some(v4) = ip.to_ipv4_mapped() {
        return is_public_v4(v4);
    }
    // NAT64 (64:ff9b::/96 and the local-use 64:ff9b:1::/48) reaches the embedded IPv4 address.
    if s[0] == 0x64 && s[1] == 0xff9b {
        let o = ip.octets();
        return s[2] == 0 && is_public_v4(Ipv4Addr::new(o[12], o[13], o[14], o[15]));
    }
    let blocked = ip.is_unspecified()
        || ip.is_loopback()
        || s[0] & 0xfe00 == 0xfc00 // unique local, incl. fd00:ec2::254
        || s[0] & 0xffc0 == 0xfe80 // link-local
        || s[0] & 0xffc0 == 0xfec0 // site-local (deprecated)
        || s[0] & 0xff00 == 0xff00 // multicast
        || (s[0] == 0x2001 && s[1] < 0x200) // IETF protocol assignments, Teredo
        || (s[0] == 0x2001 && s[1] == 0x0db8) // documentation
        || (s[0] == 0x0100 && s[1] == 0 && s[2] == 0 && s[3] == 0) // discard
        || s[0] == 0x2002 // 6to4 embeds any IPv4 address
        || s[0] == 0 // ::/16 other than the mapped form: IPv4-compatible, reserved
        ;
    !blocked
}

/// When delivery is tried again after a failed attempt: after attempt `n` (1-based) comes the
/// `n`th delay. Standard Webhooks' example schedule: 5 s, 5 min, 30 min, 2 h, 5 h, 10 h,
/// 14 h, 20 h, 24 h, so the 10th and last attempt comes about 75.5 hours (a little over three
/// days) after the first. Each delay is jittered by ±20 % (see [`jittered`]).
pub const RETRY_DELAYS_SECS: [i64; 9] = [
    5,
    5 * 60,
    30 * 60,
    2 * 3600,
    5 * 3600,
    10 * 3600,
    14 * 3600,
    20 * 3600,
    24 * 3600,
];

/// The delay before the attempt that follows attempt `attempts_made`; `None` when the schedule
/// is exhausted (the delivery has failed for good).
pub fn retry_delay(attempts_made: u32) -> Option<time::Duration> {
    let index = usize::try_from(attempts_made.checked_sub(1)?).ok()?;
    RETRY_DELAYS_SECS
        .get(index)
        .map(|secs| time::Duration::seconds(*secs))
}

/// `delay` spread by ±20 %: `unit` is a uniform random number in `[0, 1)`. Spreading retries
/// keeps one receiver's outage from turning into a synchronised burst when it returns.
pub fn jittered(delay: time::Duration, unit: f64) -> time::Duration {
    let factor = 0.8 + 0.4 * unit.clamp(0.0, 1.0);
    time::Duration::seconds_f64(delay.as_seconds_f64() * factor)
}

/// A receiver's `Retry-After` (seconds) honoured within bounds: never sooner than the schedule
/// would retry, never later than twice the scheduled delay or one hour, whichever is longer.
pub fn clamp_retry_after(requested_secs: u64, scheduled: time::Duration) -> time::Duration {
    let requested = time::Duration::seconds(i64::try_from(requested_secs).unwrap_or(i64::MAX));
    let ceiling = (scheduled * 2_i32).max(time::Duration::hours(1));
    requested.clamp(scheduled, ceiling.max(scheduled))
}

/// How long before an API key expires its tenant is told (`api_key.expiring`, once per key).
pub const API_KEY_EXPIRY_NOTICE: time::Duration = time::Duration::days(7);

/// How long a key is published before it signs, and kept published after its successor
/// started signing.
pub const KEY_OVERLAP: time::Duration = time::Duration::days(14);
/// How long a signing key signs before its successor takes over.
pub const KEY_PERIOD: time::Duration = time::Duration::days(90);

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn event_types_round_trip_and_refuse_unknown_names() {
        for t in EventType::ALL {
            assert_eq!(t.as_str().parse::<EventType>(), Ok(t));
        }
        assert!("transfer.Created".parse::<EventType>().is_err());
        let set = EventTypes::from_names(["transfer.completed", "transfer.failed"]).unwrap();
        assert!(set.contains(EventType::TransferFailed));
        assert!(!set.contains(EventType::TransferCreated));
        assert_eq!(set.to_string().parse::<EventTypes>(), Ok(set));
        assert_eq!("*".parse::<EventTypes>(), Ok(EventTypes::All));
        assert!(EventTypes::from_names(["*", "transfer.failed"]).is_err());
        assert!(EventTypes::from_names(["transfer.failed", "transfer.failed"]).is_err());
        assert!(EventTypes::from_names([]).is_err());
    }

    #[test]
    fn urls_must_be_https_bounded_and_plain() {
        assert!(EndpointUrl::parse("https://hooks.example.com/benteng", false).is_ok());
        let refused = [
            ("http://hooks.example.com/", EndpointUrlError::NotHttps),
            ("ftp://hooks.example.com/", EndpointUrlError::NotHttps),
            ("hooks.example.com", EndpointUrlError::NotUrl),
            (
                "https://user:pw@example.com/",
                EndpointUrlError::Credentials,
            ),
            ("https://example.com/#x", EndpointUrlError::Fragment),
            ("https://exa mple.com/", EndpointUrlError::NotUrl),
        ];
        for (text, why) in refused {
            assert_eq!(EndpointUrl::parse(text, false), Err(why), "{text}");
        }
        let long = format!("https://example.com/{}", "a".repeat(MAX_URL_LEN));
        assert_eq!(
            EndpointUrl::parse(&long, false),
            Err(EndpointUrlError::TooLong)
        );
        assert!(EndpointUrl::parse("http://127.0.0.1:9/", true).is_ok());
    }

    #[test]
    fn private_and_special_addresses_are_not_public() {
        let private = [
            "127.0.0.1",
            "10.1.2.3",
            "172.16.0.1",
            "192.168.1.1",
            "169.254.169.254",
            "100.64.0.1",
            "0.0.0.0",
            "224.0.0.1",
            "255.255.255.255",
            "::1",
            "::",
            "fe80::1",
            "fd00:ec2::254",
            "::ffff:127.0.0.1",
            "::ffff:169.254.169.254",
            "64:ff9b::a9fe:a9fe",
            "2001:db8::1",
            "2002:7f00:1::",
        ];
        for ip in private {
            let ip: IpAddr = ip.parse().unwrap();
            assert!(!is_public(ip), "{ip}");
        }
        for ip in [
            "93.184.216.34",
            "1.1.1.1",
            "2606:4700:4700::1111",
            "64:ff9b::101:101",
        ] {
            let ip: IpAddr = ip.parse().unwrap();
            assert!(is_public(ip), "{ip}");
        }
        let policy = AddressPolicy {
            allow_private: vec!["127.0.0.0/8".parse().unwrap()],
        };
        assert!(policy.permits("127.0.0.1".parse().unwrap()));
        assert!(!policy.permits("10.0.0.1".parse().unwrap()));
    }

    #[test]
    fn the_schedule_spans_about_three_days_and_ends() {
        let total: i64 = RETRY_DELAYS_SECS.iter().sum();
        assert!((72 * 3600..80 * 3600).contains(&total));
        assert_eq!(retry_delay(1), Some(time::Duration::seconds(5)));
        assert_eq!(retry_delay(0), None);
        assert_eq!(retry_delay(10), None);
        let d = time::Duration::hours(1);
        assert_eq!(jittered(d, 0.0), time::Duration::minutes(48));
        assert_eq!(jittered(d, 1.0), time::Duration::minutes(72));
        let scheduled = time::Duration::seconds(5);
        assert_eq!(clamp_retry_after(0, scheduled), scheduled);
        assert_eq!(
            clamp_retry_after(120, scheduled),
            time::Duration::seconds(120)
        );
        assert_eq!(
            clamp_retry_after(u64::MAX, scheduled),
            time::Duration::hours(1)
        );
    }
}
