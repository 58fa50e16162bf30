//! SNAP response codes and the error type every function of this crate returns.
//!
//! A SNAP `responseCode` is seven digits: HTTP status (3) + service code (2) + case code (2),
//! e.g. `4011100` = 401, balance inquiry (11), case 00. The service code belongs to the
//! *endpoint*, not to the failure, so [`SnapError`] carries only status and case and is rendered
//! with the endpoint's [`ServiceCode`] at the edge ([`SnapError::body`]).

use std::borrow::Cow;
use std::fmt;

/// Longest `responseMessage` the standard allows.
pub const MAX_MESSAGE_LEN: usize = 150;

/// The two-digit SNAP service code of an endpoint.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ServiceCode(u8);

impl ServiceCode {
    /// Balance inquiry (standard code 11).
    pub const BALANCE_INQUIRY: Self = Self(11);
    /// Transfer initiation. The standard has no generic "transfer" code; banks use 17 for
    /// intrabank and 18 for interbank transfer. Ours moves money between institutions, so 18.
    pub const TRANSFER_INTERBANK: Self = Self(18);
    /// Transfer status inquiry (standard code 36).
    pub const TRANSFER_STATUS_INQUIRY: Self = Self(36);
    /// B2B access token (standard code 73).
    pub const B2B_TOKEN: Self = Self(73);
    /// B2B2C access token (standard code 74).
    pub const B2B2C_TOKEN: Self = Self(74);

    /// A service code from its number; `None` above 99.
    pub const fn new(code: u8) -> Option<Self> {
        if code <= 99 { Some(Self(code)) } else { None }
    }

    /// The number (0–99).
    pub const fn get(self) -> u8 {
        self.0
    }
}

/// A full seven-digit SNAP response code.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct SnapCode {
    /// HTTP status, 100–599.
    pub http_status: u16,
    /// Endpoint's service code.
    pub service: ServiceCode,
    /// Case code, 0–99.
    pub case: u8,
}

impl SnapCode {
    /// `200xx00 Successful`.
    pub const fn success(service: ServiceCode) -> Self {
        Self {
            http_status: 200,
            service,
            case: 0,
        }
    }

    /// `202xx00 Request In Progress`.
    pub const fn in_progress(service: ServiceCode) -> Self {
        Self {
            http_status: 202,
            service,
            case: 0,
        }
    }

    /// Parses `"4011100"`; `None` unless exactly seven ASCII digits with a valid HTTP status.
    pub fn parse(code: &str) -> Option<Self> {
        let b = code.as_bytes();
        if b.len() != 7 || !b.iter().all(u8::is_ascii_digit) {
            return None;
        }
        let n = |i: usize| u16::from(b[i] - b'0');
        let http_status = n(0) * 100 + n(1) * 10 + n(2);
        if !(100..=599).contains(&http_status) {
            return None;
        }
        let service = ServiceCode::new((b[3] - b'0') * 10 + (b[4] - b'0'))?;
        let case = (b[5] - b'0') * 10 + (b[6] - b'0');
        Some(Self {
            http_status,
            service,
            case,
        })
    }
}

impl fmt::Display for SnapCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{:03}{:02}{:02}",
            self.http_status, self.service.0, self.case
        )
    }
}

/// A SNAP failure: HTTP status, case code and the `responseMessage`.
///
/// The message is built only from fixed text and field *names*, never from input values, so it
/// is safe to send back and to log. `detail` is an extra fixed hint for logs, never rendered.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{http_status}xx{case:02} {message} ({detail})")]
pub struct SnapError {
    /// HTTP status of the answer.
    pub http_status: u16,
    /// Case code (last two digits of `responseCode`).
    pub case: u8,
    /// `responseMessage`, at most [`MAX_MESSAGE_LEN`] characters.
    pub message: Cow<'static, str>,
    /// Why, for logs only (fixed text).
    pub detail: &'static str,
}

impl SnapError {
    fn new(http_status: u16, case: u8, message: impl Into<Cow<'static, str>>) -> Self {
        let mut message = message.into();
        if message.len() > MAX_MESSAGE_LEN {
            let mut cut = MAX_MESSAGE_LEN;
            while !message.is_char_boundary(cut) {
                cut -= 1;
            }
            message = Cow::Owned(message[..cut].to_owned());
        }
        Self {
            http_status,
            case,
            message,
            detail: "",
        }
    }

    /// Attaches a fixed log hint (not rendered to the client).
    #[must_use]
    pub fn with_detail(mut self, detail: &'static str) -> Self {
        self.detail = detail;
        self
    }

    /// `400xx00 Bad Request`: the request as a whole cannot be understood (e.g. body not JSON).
    pub fn bad_request() -> Self {
        Self::new(400, 0, "Bad Request")
    }

    /// `400xx01 Invalid Field Format [field]`: present but malformed.
    pub fn invalid_field_format(field: &'static str) -> Self {
        Self::new(400, 1, format!("Invalid Field Format [{field}]"))
    }

    /// `400xx02 Invalid Mandatory Field [field]`: missing or empty.
    pub fn invalid_mandatory_field(field: &'static str) -> Self {
        Self::new(400, 2, format!("Invalid Mandatory Field [{field}]"))
    }

    /// `401xx00 Unauthorized. [reason]`: signature mismatch, unknown client, stale timestamp.
    pub fn unauthorized(reason: &'static str) -> Self {
        Self::new(401, 0, format!("Unauthorized. [{reason}]"))
    }

    /// `401xx01 Invalid Token (B2B)`: token malformed, expired or revoked.
    pub fn invalid_token() -> Self {
        Self::new(401, 1, "Invalid Token (B2B)")
    }

    /// `401xx03 Token Not Found (B2B)`: no token presented / not known.
    pub fn token_not_found() -> Self {
        Self::new(401, 3, "Token Not Found (B2B)")
    }

    /// `409xx00 Conflict`: the same `X-EXTERNAL-ID` from the same partner on the same
    /// Jakarta day.
    pub fn conflict() -> Self {
        Self::new(409, 0, "Conflict")
    }

    /// `409xx01 Duplicate partnerReferenceNo`.
    pub fn duplicate_partner_reference_no() -> Self {
        Self::new(409, 1, "Duplicate partnerReferenceNo")
    }

    /// `500xx00 General Error`.
    pub fn general_error() -> Self {
        Self::new(500, 0, "General Error")
    }

    /// `500xx01 Internal Server Error`.
    pub fn internal_server_error() -> Self {
        Self::new(500, 1, "Internal Server Error")
    }

    /// `503xx00 Service Unavailable`: a dependency the request cannot be checked without (the
    /// shared state of replay and rate limits) is down; retry later. Not in the standard's list,
    /// which has no retryable 5xx; the status carries the meaning.
    pub fn service_unavailable() -> Self {
        Self::new(503, 0, "Service Unavailable")
    }

    /// `504xx00 Timeout`.
    pub fn timeout() -> Self {
        Self::new(504, 0, "Timeout")
    }

    /// The full code for an endpoint.
    pub fn code(&self, service: ServiceCode) -> SnapCode {
        SnapCode {
            http_status: self.http_status,
            service,
            case: self.case,
        }
    }

    /// The JSON answer body, e.g.
    /// `{"responseCode":"4011100","responseMessage":"Unauthorized. [Signature]"}`.
    pub fn body(&self, service: ServiceCode) -> String {
        response_body(self.code(service), &self.message)
    }
}

/// `{"responseCode":…,"responseMessage":…}` with proper JSON escaping.
pub fn response_body(code: SnapCode, message: &str) -> String {
    format!(
        "{{\"responseCode\":\"{code}\",\"responseMessage\":{}}}",
        json_string(message)
    )
}

/// A JSON string literal (quoted, escaped), keeping field order under our control.
pub(crate) fn json_string(s: &str) -> String {
    serde_json::Value::String(s.to_owned()).to_string()
}
