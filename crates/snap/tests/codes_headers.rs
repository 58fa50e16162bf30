//! Response codes, header rules and the external-id scope.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::Duration;

use benteng_snap::headers::{
    self, check_window, external_id_scope, format_timestamp, seconds_until_jakarta_midnight,
    validate_channel_id, validate_external_id, validate_partner_id,
};
use benteng_snap::{
    ServiceCode, SnapCode, SnapError, bearer_token, check_token_headers, check_transaction_headers,
    lookup_in, parse_timestamp,
};
use time::macros::{date, datetime};

#[test]
fn codes_render() {
    let e = SnapError::unauthorized("Signature");
    assert_eq!(
        e.body(ServiceCode::BALANCE_INQUIRY),
        r#"{"responseCode":"4011100","responseMessage":"Unauthorized. [Signature]"}"#
    );
    assert_eq!(e.code(ServiceCode::B2B_TOKEN).to_string(), "4017300");
    let cases = [
        (SnapError::bad_request(), "4001800", "Bad Request"),
        (
            SnapError::invalid_field_format("X-TIMESTAMP"),
            "4001801",
            "Invalid Field Format [X-TIMESTAMP]",
        ),
        (
            SnapError::invalid_mandatory_field("X-PARTNER-ID"),
            "4001802",
            "Invalid Mandatory Field [X-PARTNER-ID]",
        ),
        (SnapError::invalid_token(), "4011801", "Invalid Token (B2B)"),
        (
            SnapError::token_not_found(),
            "4011803",
            "Token Not Found (B2B)",
        ),
        (SnapError::conflict(), "4091800", "Conflict"),
        (
            SnapError::duplicate_partner_reference_no(),
            "4091801",
            "Duplicate partnerReferenceNo",
        ),
        (SnapError::general_error(), "5001800", "General Error"),
        (
            SnapError::internal_server_error(),
            "5001801",
            "Internal Server Error",
        ),
        (SnapError::timeout(), "5041800", "Timeout"),
    ];
    for (err, code, msg) in cases {
        assert_eq!(err.code(ServiceCode::TRANSFER_INTERBANK).to_string(), code);
        assert_eq!(err.message, msg);
        assert!(err.message.len() <= 150);
    }
    assert_eq!(
        SnapCode::success(ServiceCode::TRANSFER_STATUS_INQUIRY).to_string(),
        "2003600"
    );
    assert_eq!(
        SnapCode::in_progress(ServiceCode::TRANSFER_INTERBANK).to_string(),
        "2021800"
    );
    let parsed = SnapCode::parse("4091100").unwrap();
    assert_eq!(
        (parsed.http_status, parsed.service, parsed.case),
        (409, ServiceCode::BALANCE_INQUIRY, 0)
    );
    for bad in [
        "409110",
        "40911000",
        "4o91100",
        "9991100",
        "0001100",
        "४०९११००",
    ] {
        assert!(SnapCode::parse(bad).is_none(), "{bad}");
    }
    assert!(ServiceCode::new(100).is_none());
}

#[test]
fn timestamps() {
    let t = parse_timestamp("2020-12-17T10:55:00+07:00").unwrap();
    assert_eq!(t, datetime!(2020-12-17 03:55:00 UTC));
    assert_eq!(
        parse_timestamp("2024-03-05T10:37:16.196Z").unwrap(),
        datetime!(2024-03-05 10:37:16.196 UTC)
    );
    assert_eq!(
        parse_timestamp("2024-03-05T10:37:16.123456789-03:30").unwrap(),
        datetime!(2024-03-05 14:07:16.123456789 UTC)
    );
    for bad in [
        "",
        "2020-12-17T10:55:00",
        "2020-12-17 10:55:00+07:00",
        "2020-12-17T10:55:00+0700",
        "2020-12-17T10:55:00+07",
        "2020-13-17T10:55:00+07:00",
        "2021-02-29T10:55:00+07:00",
        "2020-12-17T24:00:00+07:00",
        "2020-12-17T10:55:60+07:00",
        "2020-12-17T10:55:00.Z",
        "2020-12-17T10:55:00.1234567890Z",
        "2020-12-17T10:55:00+15:00",
        "2020-12-17T10:55:00z",
        "+020-12-17T10:55:00+07:00",
        "2020-12-17T10:55:00+07:00 ",
        "2020-12-17T10:55:00+07:00\u{0}",
        "２020-12-17T10:55:00+07:00",
    ] {
        let e = parse_timestamp(bad).unwrap_err();
        assert_eq!((e.http_status, e.case), (400, 1), "{bad:?}");
        assert_eq!(e.message, "Invalid Field Format [X-TIMESTAMP]");
    }
    let now = datetime!(2024-01-01 00:00:00 UTC);
    let tol = Duration::from_secs(300);
    check_window(datetime!(2024-01-01 00:05:00 UTC), now, tol).unwrap();
    check_window(datetime!(2023-12-31 23:55:00 UTC), now, tol).unwrap();
    let e = check_window(datetime!(2024-01-01 00:05:01 UTC), now, tol).unwrap_err();
    assert_eq!(
        (e.http_status, e.case, e.message.as_ref()),
        (401, 0, "Unauthorized. [Timestamp]")
    );
    assert!(check_window(datetime!(2023-12-31 23:54:59 UTC), now, tol).is_err());
    assert_eq!(
        format_timestamp(datetime!(2024-03-05 20:01:02.5 UTC)),
        "2024-03-06T03:01:02+07:00"
    );
}

#[test]
fn id_rules() {
    validate_external_id("41807553358950093184162180797837").unwrap();
    validate_external_id("8f8b6a0e-1d7b-4c9a-9e7e-1234567890ab").unwrap();
    assert_eq!(validate_external_id("").unwrap_err().case, 2);
    for bad in [
        "a".repeat(37),
        "a b".into(),
        "a_b".into(),
        "é".into(),
        "a:b".into(),
    ] {
        assert_eq!(validate_external_id(&bad).unwrap_err().case, 1, "{bad}");
    }
    validate_partner_id("G1234325-SNAP").unwrap();
    assert!(validate_partner_id(&"x".repeat(37)).is_err());
    validate_channel_id("95221").unwrap();
    validate_channel_id("H2H").unwrap();
    assert!(validate_channel_id("95221-1").is_err());
    assert!(validate_channel_id("12345678901").is_err());
}

#[test]
fn external_id_scope_uses_jakarta_day_of_the_signed_timestamp() {
    let tol = Duration::from_secs(300);
    // 16:59:58 UTC = 23:59:58 WIB, Jan 1; server now 17:00:03 UTC = 00:00:03 WIB, Jan 2.
    let ts = datetime!(2024-01-01 16:59:58 UTC);
    let now = datetime!(2024-01-01 17:00:03 UTC);
    let scope = external_id_scope("P1", "123", ts, now, tol);
    assert_eq!(scope.jakarta_date, date!(2024 - 01 - 01));
    assert_eq!(scope.key(), "snap:xid:P1:2024-01-01:123");
    // Midnight has passed: only the tolerance (and the instances' clock margin) remains, so a
    // replay within the window is caught.
    assert_eq!(
        scope.ttl,
        Duration::from_secs(1) + tol + benteng_snap::CLOCK_SKEW_MARGIN
    );
    // 17:00:00 UTC = 00:00 WIB Jan 2 → new day.
    let scope = external_id_scope("P1", "123", datetime!(2024-01-01 17:00:00 UTC), now, tol);
    assert_eq!(scope.jakarta_date, date!(2024 - 01 - 02));
    assert_eq!(
        seconds_until_jakarta_midnight(date!(2024 - 01 - 02), datetime!(2024-01-01 17:00:00 UTC)),
        Duration::from_secs(86_400)
    );
}

fn good_headers() -> Vec<(&'static str, &'static str)> {
    vec![
        ("x-timestamp", "2024-03-05T17:37:16+07:00"),
        ("X-Signature", "AAAA"),
        ("X-PARTNER-ID", "P1"),
        ("X-EXTERNAL-ID", "123"),
        ("CHANNEL-ID", "95221"),
    ]
}

#[test]
fn transaction_headers_first_problem_named() {
    let h = good_headers();
    let ok = check_transaction_headers(lookup_in(&h)).unwrap();
    assert_eq!(ok.timestamp_raw, "2024-03-05T17:37:16+07:00");
    assert_eq!(
        (
            ok.partner_id.as_str(),
            ok.external_id.as_str(),
            ok.channel_id.as_str()
        ),
        ("P1", "123", "95221")
    );

    for (i, name) in [
        "X-TIMESTAMP",
        "X-SIGNATURE",
        "X-PARTNER-ID",
        "X-EXTERNAL-ID",
        "CHANNEL-ID",
    ]
    .iter()
    .enumerate()
    {
        let mut missing = h.clone();
        missing.remove(i);
        let e = check_transaction_headers(lookup_in(&missing)).unwrap_err();
        assert_eq!(e.message, format!("Invalid Mandatory Field [{name}]"));
        let mut empty = h.clone();
        empty[i].1 = "";
        assert_eq!(
            check_transaction_headers(lookup_in(&empty))
                .unwrap_err()
                .case,
            2
        );
        let mut bad = h.clone();
        bad[i].1 = "bad value ü";
        let e = check_transaction_headers(lookup_in(&bad)).unwrap_err();
        assert_eq!(e.message, format!("Invalid Field Format [{name}]"));
        assert!(!e.message.contains("bad value"));
    }
    // Two problems: the first in order is reported.
    let mut two = h.clone();
    two[2].1 = "";
    two[4].1 = "!";
    assert_eq!(
        check_transaction_headers(lookup_in(&two))
            .unwrap_err()
            .message,
        "Invalid Mandatory Field [X-PARTNER-ID]"
    );
}

#[test]
fn raw_byte_lookup_works() {
    let stored: Vec<(String, Vec<u8>)> = good_headers()
        .into_iter()
        .map(|(n, v)| (n.to_ascii_lowercase(), v.as_bytes().to_vec()))
        .collect();
    let get = |name: &str| {
        let name = name.to_ascii_lowercase();
        stored
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, v)| v.as_slice())
    };
    check_transaction_headers(get).unwrap();
    let hostile: Vec<(String, Vec<u8>)> = vec![("x-timestamp".into(), vec![0xff, 0xfe, b'1'])];
    let get = |name: &str| {
        hostile
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.clone())
    };
    assert_eq!(
        check_transaction_headers(get).unwrap_err().message,
        "Invalid Field Format [X-TIMESTAMP]"
    );
}

#[test]
fn token_headers_and_bearer() {
    let h = [
        ("X-CLIENT-KEY", "G1234325-SNAP"),
        ("X-TIMESTAMP", "2024-03-01T08:27:49.024Z"),
        ("X-SIGNATURE", "AAAA"),
    ];
    let t = check_token_headers(lookup_in(&h)).unwrap();
    assert_eq!(t.client_key, "G1234325-SNAP");
    let e = check_token_headers(lookup_in(&h[1..])).unwrap_err();
    assert_eq!(e.message, "Invalid Mandatory Field [X-CLIENT-KEY]");
    let bad = [
        ("X-CLIENT-KEY", "a|b"),
        ("X-TIMESTAMP", "x"),
        ("X-SIGNATURE", "AAAA"),
    ];
    assert_eq!(
        check_token_headers(lookup_in(&bad)).unwrap_err().message,
        "Invalid Field Format [X-CLIENT-KEY]"
    );

    assert_eq!(bearer_token(Some(b"Bearer abc.def")).unwrap(), "abc.def");
    assert_eq!(bearer_token(Some(b"bearer abc")).unwrap(), "abc");
    assert_eq!(bearer_token(None).unwrap_err().case, 3);
    assert_eq!(bearer_token(Some(b"")).unwrap_err().case, 3);
    for bad in [
        &b"Basic abc"[..],
        b"Bearer",
        b"Bearer ",
        b"Bearer a b",
        b"Bearer \xff",
        b"abc",
    ] {
        let e = bearer_token(Some(bad)).unwrap_err();
        assert_eq!((e.http_status, e.case), (401, 1));
    }
    assert!(bearer_token(Some(format!("Bearer {}", "a".repeat(5000)).as_bytes())).is_err());
    assert_eq!(headers::X_SIGNATURE, "X-SIGNATURE");
}
