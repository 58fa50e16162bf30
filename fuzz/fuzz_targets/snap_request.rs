//! A SNAP request as the server sees it: the token and transactional headers, `Authorization`,
//! `X-TIMESTAMP`, the relative URL, the token body, and the signature check.
//! Properties: no panic on any header bytes; the canonical relative URL is a fixed point; a
//! request our own signer signs verifies (inside the window) with the same secret, and is
//! refused outside it.
#![no_main]

use benteng_snap::headers::{check_window, format_timestamp};
use benteng_snap::{
    ClientSecret, DEFAULT_TOLERANCE, PartnerCredential, RequestParts, SigningKey, SnapSigner,
    UrlMode, VerifyOptions, bearer_token, check_token_headers, check_token_request_body,
    parse_timestamp, relative_url, verify_request,
};
use libfuzzer_sys::fuzz_target;
use time::{Duration, OffsetDateTime};

const SECRET: &[u8] = b"fuzz-client-secret-0123456789abcdef";

/// The request, its parts split by `--8<--` lines (seeds stay readable): method, path, query
/// (`?…`, absent without the `?`), body, access token, then the headers `X-TIMESTAMP`,
/// `X-SIGNATURE`, `X-PARTNER-ID`, `X-EXTERNAL-ID`, `CHANNEL-ID`, `X-CLIENT-KEY`,
/// `Authorization`, then options: `p` for path-only URLs, and where our own signer's clock
/// stands against the server's, in seconds.
struct Input<'a> {
    method: &'a str,
    path: &'a str,
    query: Option<&'a str>,
    body: &'a [u8],
    access_token: &'a str,
    timestamp: &'a [u8],
    signature: &'a [u8],
    partner_id: &'a [u8],
    external_id: &'a [u8],
    channel_id: &'a [u8],
    client_key: &'a [u8],
    authorization: &'a [u8],
    path_only: bool,
    skew: i16,
}

impl<'a> Input<'a> {
    fn read(data: &'a [u8]) -> Option<Input<'a>> {
        let parts = benteng_fuzz::split_parts::<13>(data);
        let part = |i: usize| -> &'a [u8] { parts[i].unwrap_or_default() };
        let text = |i: usize| std::str::from_utf8(part(i)).ok();
        let options = text(12).unwrap_or_default();
        Some(Input {
            method: text(0)?,
            path: text(1)?,
            query: text(2)?.strip_prefix('?'),
            body: part(3),
            access_token: text(4)?,
            timestamp: part(5),
            signature: part(6),
            partner_id: part(7),
            external_id: part(8),
            channel_id: part(9),
            client_key: part(10),
            authorization: part(11),
            path_only: options.starts_with('p'),
            skew: options.trim_start_matches('p').trim().parse().unwrap_or(0),
        })
    }
}

fn now() -> OffsetDateTime {
    OffsetDateTime::from_unix_timestamp(1_796_000_000).expect("a valid time")
}

fn lookup<'a>(pairs: &'a [(&'static str, &'a [u8])]) -> impl Fn(&str) -> Option<&'a [u8]> + 'a {
    move |name| {
        pairs
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| *v)
    }
}

fuzz_target!(|data: &[u8]| {
    benteng_fuzz::negative_control(data);
    let Some(input) = Input::read(data) else {
        return;
    };
    let secret = ClientSecret::new(SECRET).expect("a non-empty secret");
    let mode = if input.path_only {
        UrlMode::PathOnly
    } else {
        UrlMode::PathAndQuery
    };
    let options = VerifyOptions {
        tolerance: DEFAULT_TOLERANCE,
        url_mode: mode,
    };

    // What an attacker controls: every header's bytes, the URL, the body.
    let pairs = [
        ("X-TIMESTAMP", input.timestamp),
        ("X-SIGNATURE", input.signature),
        ("X-PARTNER-ID", input.partner_id),
        ("X-EXTERNAL-ID", input.external_id),
        ("CHANNEL-ID", input.channel_id),
        ("X-CLIENT-KEY", input.client_key),
        ("Authorization", input.authorization),
    ];
    let _ = bearer_token(Some(input.authorization));
    let _ = check_token_headers(lookup(&pairs));
    let _ = check_token_request_body(input.body);
    if let Ok(text) = std::str::from_utf8(input.timestamp)
        && let Ok(at) = parse_timestamp(text)
    {
        let _ = check_window(at, now(), DEFAULT_TOLERANCE);
    }
    let request = RequestParts {
        method: input.method,
        path: input.path,
        query: input.query,
        body: input.body,
        access_token: input.access_token,
    };
    let forged = verify_request(
        &request,
        lookup(&pairs),
        PartnerCredential::Symmetric(&secret),
        now(),
        &options,
    );
    assert!(
        forged.is_err(),
        "a request verified without a valid signature"
    );

    // The canonical relative URL is canonical: canonicalising it again changes nothing.
    if let Ok(url) = relative_url(input.path, input.query, mode) {
        let (path, query) = match url.split_once('?') {
            Some((path, query)) => (path, Some(query)),
            None => (url.as_str(), None),
        };
        assert_eq!(
            relative_url(path, query, mode).ok().as_deref(),
            Some(url.as_str())
        );
    }

    // Round trip: what our signer signs, the verifier accepts inside the window.
    let signer = SnapSigner::new(
        "fuzz-partner",
        "95221",
        mode,
        SigningKey::Symmetric {
            client_secret: secret.clone(),
        },
    )
    .expect("a valid signer");
    let external_id = std::str::from_utf8(input.external_id).unwrap_or("1");
    let signed_at = now() + Duration::seconds(i64::from(input.skew));
    let Ok(signed) = signer.sign_at(&request, signed_at, external_id) else {
        return;
    };
    assert_eq!(
        parse_timestamp(&signed.timestamp).ok(),
        Some(signed_at.replace_nanosecond(0).expect("0 ns is valid")),
        "{}",
        format_timestamp(signed_at)
    );
    let sent = signed.pairs();
    let sent: Vec<(&'static str, &[u8])> = sent.iter().map(|(n, v)| (*n, v.as_bytes())).collect();
    let verified = verify_request(
        &request,
        lookup(&sent),
        PartnerCredential::Symmetric(&secret),
        now(),
        &options,
    );
    let inside = u64::from(input.skew.unsigned_abs()) <= DEFAULT_TOLERANCE.as_secs();
    match verified {
        Ok(verified) => {
            assert!(inside, "a request signed {}s off was accepted", input.skew);
            assert_eq!(verified.partner_id, "fuzz-partner");
            assert_eq!(verified.external_id, external_id);
        }
        Err(error) => assert!(!inside, "our own signed request was refused: {error:?}"),
    }
});
