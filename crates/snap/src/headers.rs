//! SNAP header rules: `X-TIMESTAMP`, `X-EXTERNAL-ID` and its uniqueness scope, `X-PARTNER-ID`,
//! `CHANNEL-ID`, `X-CLIENT-KEY`, `Authorization: Bearer`.
//!
//! Header lookups are closures `Fn(&str) -> Option<V>` with `V: AsRef<[u8]>`, so a server can
//! pass raw header bytes (`|n| map.get(n).map(|v| v.as_bytes())`) and hostile non-ASCII values
//! reach these checks as "invalid format" instead of being silently dropped as "missing". The
//! lookup must be case-insensitive (HTTP header names are); [`lookup_in`] is for plain pairs.

use std::time::Duration;

use time::{Date, Month, OffsetDateTime, Time, UtcOffset};

use crate::error::SnapError;

/// `X-TIMESTAMP`.
pub const X_TIMESTAMP: &str = "X-TIMESTAMP";
/// `X-SIGNATURE`.
pub const X_SIGNATURE: &str = "X-SIGNATURE";
/// `X-PARTNER-ID`.
pub const X_PARTNER_ID: &str = "X-PARTNER-ID";
/// `X-EXTERNAL-ID`.
pub const X_EXTERNAL_ID: &str = "X-EXTERNAL-ID";
/// `CHANNEL-ID`.
pub const CHANNEL_ID: &str = "CHANNEL-ID";
/// `X-CLIENT-KEY` (token request only; carries the client id).
pub const X_CLIENT_KEY: &str = "X-CLIENT-KEY";
/// `Authorization`.
pub const AUTHORIZATION: &str = "Authorization";

/// Default `X-TIMESTAMP` tolerance: ±300 s around the server's clock.
pub const DEFAULT_TOLERANCE: Duration = Duration::from_secs(300);
/// How far apart the clocks of two benteng instances may be. A record that stops a replay (an
/// external id, a signature) must outlive the last moment *any* instance still accepts the
/// request's timestamp, and the instance that wrote it may run ahead of the others.
pub const CLOCK_SKEW_MARGIN: Duration = Duration::from_secs(60);
/// Asia/Jakarta (WIB) is UTC+7 all year, no daylight saving.
pub const JAKARTA: UtcOffset = match UtcOffset::from_hms(7, 0, 0) {
    Ok(o) => o,
    Err(_) => UtcOffset::UTC,
};
/// Longest accepted `X-TIMESTAMP` (`…:ss.nnnnnnnnn+07:00` is 35 characters).
const MAX_TIMESTAMP_LEN: usize = 35;
/// Longest accepted access token.
const MAX_TOKEN_LEN: usize = 2048;

/// A header lookup over `(name, value)` pairs, case-insensitive on names.
pub fn lookup_in<'a>(pairs: &'a [(&'a str, &'a str)]) -> impl Fn(&str) -> Option<&'a str> + 'a {
    move |name| {
        pairs
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| *v)
    }
}

/// Fetches a mandatory header as visible ASCII (0x21–0x7E): missing or empty → 400xx02,
/// anything else outside that range (spaces, controls, non-ASCII) → 400xx01.
fn required<F, V>(get: &F, name: &'static str) -> Result<String, SnapError>
where
    F: Fn(&str) -> Option<V>,
    V: AsRef<[u8]>,
{
    let value = get(name);
    let bytes = value.as_ref().map(AsRef::as_ref).unwrap_or_default();
    if bytes.is_empty() {
        return Err(SnapError::invalid_mandatory_field(name).with_detail("header missing"));
    }
    if bytes.len() > 4096 || !bytes.iter().all(|b| (0x21..=0x7e).contains(b)) {
        return Err(SnapError::invalid_field_format(name).with_detail("header not visible ASCII"));
    }
    Ok(String::from_utf8_lossy(bytes).into_owned())
}

/// Parses `X-TIMESTAMP`: `yyyy-MM-ddTHH:mm:ss` then optional `.` and 1–9 fraction digits, then
/// `Z` or `±HH:MM`. Malformed → 400xx01 `[X-TIMESTAMP]`.
///
/// Keep the original string for the signature; the parsed value is only for the window check.
pub fn parse_timestamp(s: &str) -> Result<OffsetDateTime, SnapError> {
    let bad = || SnapError::invalid_field_format(X_TIMESTAMP).with_detail("malformed timestamp");
    let b = s.as_bytes();
    if b.len() < 20 || b.len() > MAX_TIMESTAMP_LEN {
        return Err(bad());
    }
    let digits = |from: usize, len: usize| -> Result<u32, SnapError> {
        let part = b.get(from..from + len).ok_or_else(bad)?;
        part.iter().try_fold(0u32, |acc, &c| {
            if c.is_ascii_digit() {
                Ok(acc * 10 + u32::from(c - b'0'))
            } else {
                Err(bad())
            }
        })
    };
    let sep = |at: usize, c: u8| {
        if b.get(at) == Some(&c) {
            Ok(())
        } else {
            Err(bad())
        }
    };
    let year = digits(0, 4)?;
    sep(4, b'-')?;
    let month = digits(5, 2)?;
    sep(7, b'-')?;
    let day = digits(8, 2)?;
    sep(10, b'T')?;
    let hour = digits(11, 2)?;
    sep(13, b':')?;
    let minute = digits(14, 2)?;
    sep(16, b':')?;
    let second = digits(17, 2)?;
    let mut i = 19;
    let mut nanos = 0u32;
    if b.get(i) == Some(&b'.') {
        i += 1;
        let start = i;
        while i < b.len() && b[i].is_ascii_digit() {
            i += 1;
        }
        let n = i - start;
        if n == 0 || n > 9 {
            return Err(bad());
        }
        nanos = digits(start, n)? * 10u32.pow(9 - n as u32);
    }
    let offset = match b.get(i..) {
        Some(b"Z") => UtcOffset::UTC,
        Some([sign @ (b'+' | b'-'), _, _, b':', _, _]) => {
            let h = digits(i + 1, 2)?;
            let m = digits(i + 4, 2)?;
            if h > 14 || m > 59 {
                return Err(bad());
            }
            let secs = i32::try_from(h * 3600 + m * 60).map_err(|_| bad())?;
            let secs = if *sign == b'-' { -secs } else { secs };
            UtcOffset::from_whole_seconds(secs).map_err(|_| bad())?
        }
        _ => return Err(bad()),
    };
    let to_u8 = |v: u32| u8::try_from(v).map_err(|_| bad());
    let month = Month::try_from(to_u8(month)?).map_err(|_| bad())?;
    let year = i32::try_from(year).map_err(|_| bad())?;
    let date = Date::from_calendar_date(year, month, to_u8(day)?).map_err(|_| bad())?;
    let time = Time::from_hms_nano(to_u8(hour)?, to_u8(minute)?, to_u8(second)?, nanos)
        .map_err(|_| bad())?;
    Ok(date.with_time(time).assume_offset(offset))
}

/// Refuses a timestamp further than `tolerance` from `now`, either way → 401xx00 `[Timestamp]`
/// (a well-formed but stale or future timestamp is an authentication failure, not a format one).
pub fn check_window(
    timestamp: OffsetDateTime,
    now: OffsetDateTime,
    tolerance: Duration,
) -> Result<(), SnapError> {
    let skew = (now - timestamp).unsigned_abs();
    if skew > tolerance {
        return Err(SnapError::unauthorized("Timestamp").with_detail("timestamp outside window"));
    }
    Ok(())
}

/// Formats a timestamp the way we send it: `yyyy-MM-ddTHH:mm:ss+07:00` (Asia/Jakarta, 25 chars).
pub fn format_timestamp(at: OffsetDateTime) -> String {
    let t = at.to_offset(JAKARTA);
    format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}+07:00",
        t.year(),
        u8::from(t.month()),
        t.day(),
        t.hour(),
        t.minute(),
        t.second()
    )
}

/// `X-EXTERNAL-ID`: `[A-Za-z0-9-]{1,36}` (the standard says numeric, but providers send UUIDs).
pub fn validate_external_id(s: &str) -> Result<(), SnapError> {
    if s.is_empty() {
        return Err(SnapError::invalid_mandatory_field(X_EXTERNAL_ID));
    }
    if s.len() > 36 || !s.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-') {
        return Err(SnapError::invalid_field_format(X_EXTERNAL_ID));
    }
    Ok(())
}

/// `X-PARTNER-ID`: 1–36 visible ASCII characters.
pub fn validate_partner_id(s: &str) -> Result<(), SnapError> {
    if s.is_empty() {
        return Err(SnapError::invalid_mandatory_field(X_PARTNER_ID));
    }
    if s.len() > 36 || !s.bytes().all(|b| (0x21..=0x7e).contains(&b)) {
        return Err(SnapError::invalid_field_format(X_PARTNER_ID));
    }
    Ok(())
}

/// `CHANNEL-ID`: lenient, 1–10 ASCII alphanumerics (BI's 5 digits such as `95221`, DOKU's `H2H`).
pub fn validate_channel_id(s: &str) -> Result<(), SnapError> {
    if s.is_empty() {
        return Err(SnapError::invalid_mandatory_field(CHANNEL_ID));
    }
    if s.len() > 10 || !s.bytes().all(|b| b.is_ascii_alphanumeric()) {
        return Err(SnapError::invalid_field_format(CHANNEL_ID));
    }
    Ok(())
}

/// `X-CLIENT-KEY`: 1–64 visible ASCII characters (no `|`, which separates the token string).
pub fn validate_client_key(s: &str) -> Result<(), SnapError> {
    if s.is_empty() {
        return Err(SnapError::invalid_mandatory_field(X_CLIENT_KEY));
    }
    if s.len() > 64 || !s.bytes().all(|b| (0x21..=0x7e).contains(&b) && b != b'|') {
        return Err(SnapError::invalid_field_format(X_CLIENT_KEY));
    }
    Ok(())
}

/// The raw token from `Authorization: Bearer <token>`.
/// Missing → 401xx03 Token Not Found; not `Bearer` or malformed → 401xx01 Invalid Token.
pub fn bearer_token(authorization: Option<&[u8]>) -> Result<&str, SnapError> {
    let Some(value) = authorization.filter(|v| !v.is_empty()) else {
        return Err(SnapError::token_not_found());
    };
    let invalid = || SnapError::invalid_token().with_detail("malformed Authorization");
    let value = std::str::from_utf8(value).map_err(|_| invalid())?;
    let (scheme, token) = value.split_once(' ').ok_or_else(invalid)?;
    if !scheme.eq_ignore_ascii_case("Bearer")
        || token.is_empty()
        || token.len() > MAX_TOKEN_LEN
        || !token.bytes().all(|b| (0x21..=0x7e).contains(&b))
    {
        return Err(invalid());
    }
    Ok(token)
}

/// Where an `X-EXTERNAL-ID` must be unique: one partner, one Asia/Jakarta calendar day.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct ExternalIdScope {
    /// `X-PARTNER-ID`.
    pub partner_id: String,
    /// Jakarta calendar date of the request's `X-TIMESTAMP`.
    pub jakarta_date: Date,
    /// `X-EXTERNAL-ID`.
    pub external_id: String,
    /// How long the uniqueness record must be kept: until that Jakarta midnight, plus the
    /// timestamp tolerance (see [`external_id_scope`]).
    pub ttl: Duration,
}

impl ExternalIdScope {
    /// A store key, `snap:xid:{partner}:{yyyy-mm-dd}:{external id}`. Unambiguous: the date and
    /// the external id contain no `:`.
    pub fn key(&self) -> String {
        format!(
            "snap:xid:{}:{:04}-{:02}-{:02}:{}",
            self.partner_id,
            self.jakarta_date.year(),
            u8::from(self.jakarta_date.month()),
            self.jakarta_date.day(),
            self.external_id
        )
    }
}

/// The uniqueness scope of an external id.
///
/// The day is taken from the *signed* `X-TIMESTAMP`, not from the server clock: a request
/// signed at 23:59:58 and replayed at 00:00:03 still carries the old timestamp, so it lands on
/// the same key and is caught. For that the record must outlive midnight by the tolerance, on
/// every instance's clock, hence `ttl` = (next Jakarta midnight after the timestamp's date −
/// `now`) + `tolerance` + [`CLOCK_SKEW_MARGIN`], at least 1 s.
pub fn external_id_scope(
    partner_id: &str,
    external_id: &str,
    timestamp: OffsetDateTime,
    now: OffsetDateTime,
    tolerance: Duration,
) -> ExternalIdScope {
    let jakarta_date = timestamp.to_offset(JAKARTA).date();
    ExternalIdScope {
        partner_id: partner_id.to_owned(),
        jakarta_date,
        external_id: external_id.to_owned(),
        ttl: seconds_until_jakarta_midnight(jakarta_date, now)
            .saturating_add(tolerance)
            .saturating_add(CLOCK_SKEW_MARGIN),
    }
}

/// A signature seen once, to be refused if seen again while any instance could still accept
/// its timestamp: insert-if-absent `key` for `ttl`; if present, the request is a replay.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ReplayGuard {
    /// `{namespace}:{sha256 hex of the signature}`.
    pub key: String,
    /// From `now` until `timestamp` + `tolerance` + [`CLOCK_SKEW_MARGIN`], at least 1 s.
    pub ttl: Duration,
}

impl ReplayGuard {
    pub fn new(
        namespace: &str,
        signature: &str,
        timestamp: OffsetDateTime,
        now: OffsetDateTime,
        tolerance: Duration,
    ) -> Self {
        let accepted_until = timestamp + tolerance + CLOCK_SKEW_MARGIN;
        let secs = (accepted_until - now).whole_seconds().max(1);
        Self {
            key: format!(
                "{namespace}:{}",
                hex::encode(benteng_crypto::sha256(signature.as_bytes()))
            ),
            ttl: Duration::from_secs(secs.unsigned_abs()),
        }
    }
}

/// Time from `now` until the Jakarta midnight that ends `date`, at least 1 s.
pub fn seconds_until_jakarta_midnight(date: Date, now: OffsetDateTime) -> Duration {
    let end = date.next_day().map(|d| d.midnight().assume_offset(JAKARTA));
    let secs = end.map_or(0, |end| (end - now).whole_seconds()).max(1);
    Duration::from_secs(secs.unsigned_abs())
}

/// The transactional headers, checked for presence and format (not yet for signature or time).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TransactionHeaders {
    /// `X-TIMESTAMP` exactly as sent (this is what was signed).
    pub timestamp_raw: String,
    /// `X-TIMESTAMP` parsed.
    pub timestamp: OffsetDateTime,
    /// `X-SIGNATURE` (base64, not yet decoded).
    pub signature: String,
    /// `X-PARTNER-ID`.
    pub partner_id: String,
    /// `X-EXTERNAL-ID`.
    pub external_id: String,
    /// `CHANNEL-ID`.
    pub channel_id: String,
}

/// Checks `X-TIMESTAMP`, `X-SIGNATURE`, `X-PARTNER-ID`, `X-EXTERNAL-ID`, `CHANNEL-ID` in that
/// order and returns the first problem: 400xx02 `[name]` if missing/empty, 400xx01 `[name]` if
/// malformed. `Authorization` is separate ([`bearer_token`]).
pub fn check_transaction_headers<F, V>(get: F) -> Result<TransactionHeaders, SnapError>
where
    F: Fn(&str) -> Option<V>,
    V: AsRef<[u8]>,
{
    let timestamp_raw = required(&get, X_TIMESTAMP)?;
    let timestamp = parse_timestamp(&timestamp_raw)?;
    let signature = required(&get, X_SIGNATURE)?;
    let partner_id = required(&get, X_PARTNER_ID)?;
    validate_partner_id(&partner_id)?;
    let external_id = required(&get, X_EXTERNAL_ID)?;
    validate_external_id(&external_id)?;
    let channel_id = required(&get, CHANNEL_ID)?;
    validate_channel_id(&channel_id)?;
    Ok(TransactionHeaders {
        timestamp_raw,
        timestamp,
        signature,
        partner_id,
        external_id,
        channel_id,
    })
}

/// The B2B token request headers, checked for presence and format.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TokenHeaders {
    /// `X-CLIENT-KEY`: the client id, to look up the partner's public key.
    pub client_key: String,
    /// `X-TIMESTAMP` as sent.
    pub timestamp_raw: String,
    /// `X-TIMESTAMP` parsed.
    pub timestamp: OffsetDateTime,
    /// `X-SIGNATURE`.
    pub signature: String,
}

/// Checks `X-CLIENT-KEY`, `X-TIMESTAMP`, `X-SIGNATURE` in that order (400xx02 / 400xx01).
pub fn check_token_headers<F, V>(get: F) -> Result<TokenHeaders, SnapError>
where
    F: Fn(&str) -> Option<V>,
    V: AsRef<[u8]>,
{
    let client_key = required(&get, X_CLIENT_KEY)?;
    validate_client_key(&client_key)?;
    let timestamp_raw = required(&get, X_TIMESTAMP)?;
    let timestamp = parse_timestamp(&timestamp_raw)?;
    let signature = required(&get, X_SIGNATURE)?;
    Ok(TokenHeaders {
        client_key,
        timestamp_raw,
        timestamp,
        signature,
    })
}
