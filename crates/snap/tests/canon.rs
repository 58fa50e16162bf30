//! Body minification, body hash and RelativeUrl canonicalisation.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use benteng_snap::{UrlMode, body_hash, minify, relative_url};

fn min(s: &str) -> String {
    String::from_utf8(minify(s.as_bytes()).unwrap()).unwrap()
}

#[test]
fn minify_drops_whitespace_outside_strings_only() {
    assert_eq!(min(" { \"a b\" :\t[ 1 ,\r\n 2 ] } "), r#"{"a b":[1,2]}"#);
    assert_eq!(
        min(r#"{"s":"  keep\ttab? no, escaped: \t  "}"#),
        r#"{"s":"  keep\ttab? no, escaped: \t  "}"#
    );
}

#[test]
fn minify_never_reserializes() {
    // Escapes, number spellings, key order and duplicates stay exactly as sent.
    let body = r#"{ "z": 1.50, "a": 1E+2, "e": "\u00e9\/\"", "é": "é", "a": -0 }"#;
    assert_eq!(
        min(body),
        r#"{"z":1.50,"a":1E+2,"e":"\u00e9\/\"","é":"é","a":-0}"#
    );
}

#[test]
fn minify_empty_and_blank() {
    assert_eq!(minify(b"").unwrap(), b"");
    assert_eq!(minify(b" \r\n\t ").unwrap(), b"");
    assert_eq!(
        body_hash(b"").unwrap(),
        "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
    );
    assert_eq!(body_hash(b"  ").unwrap(), body_hash(b"").unwrap());
}

#[test]
fn minify_refuses_broken_bodies() {
    for bad in [
        &b"{\"a\":\"unterminated}"[..],
        b"{\"a\":\"x\\",
        b"{\"a\":1",
        b"[1,2}",
        b"]",
        b"{\"a\":\"\xff\"}",
        b"\xc3",
        b"{\"a\":\"bad \\x escape\"}",
        b"{\"a\":\"\\u12\"}",
        b"{\"a\":\"raw\ncontrol\"}",
    ] {
        let err = minify(bad).unwrap_err();
        assert_eq!(
            (err.http_status, err.case),
            (400, 0),
            "{:?}",
            String::from_utf8_lossy(bad)
        );
        assert!(body_hash(bad).is_err());
    }
}

#[test]
fn minify_deep_nesting_does_not_recurse() {
    let depth = 1_000_000;
    let mut body = "[".repeat(depth);
    body.push_str(&"]".repeat(depth));
    assert_eq!(minify(body.as_bytes()).unwrap().len(), 2 * depth);
    let unbalanced = "[".repeat(depth);
    assert!(minify(unbalanced.as_bytes()).is_err());
}

#[test]
fn url_sorts_and_encodes_query() {
    let u = relative_url(
        "/v1.0/x",
        Some("b=2&a=hello%20world&a=1&c"),
        UrlMode::PathAndQuery,
    )
    .unwrap();
    assert_eq!(u, "/v1.0/x?a=1&a=hello%20world&b=2&c");
    assert_eq!(
        relative_url("/v1.0/x", Some("b=2&a=1"), UrlMode::PathOnly).unwrap(),
        "/v1.0/x"
    );
    assert_eq!(
        relative_url("/v1.0/x", Some(""), UrlMode::PathAndQuery).unwrap(),
        "/v1.0/x"
    );
    assert_eq!(
        relative_url("/v1.0/x", Some("&&"), UrlMode::PathAndQuery).unwrap(),
        "/v1.0/x"
    );
    assert_eq!(relative_url("/", None, UrlMode::default()).unwrap(), "/");
}

#[test]
fn url_equivalent_encodings_canonicalise_alike() {
    let a = relative_url("/a%7eb/c", Some("k=%7e%2a&x=y"), UrlMode::PathAndQuery).unwrap();
    let b = relative_url("/a~b/c", Some("x=y&k=~*"), UrlMode::PathAndQuery).unwrap();
    let c = relative_url("/a%7Eb/c", Some("k=%7E%2A&x=y"), UrlMode::PathAndQuery).unwrap();
    assert_eq!(a, "/a~b/c?k=~%2A&x=y");
    assert_eq!(a, b);
    assert_eq!(a, c);
    // `+` is a literal plus, never a space; an encoded slash stays inside its segment.
    assert_eq!(
        relative_url("/p", Some("q=a+b"), UrlMode::PathAndQuery).unwrap(),
        "/p?q=a%2Bb"
    );
    assert_eq!(
        relative_url("/a%2Fb", None, UrlMode::PathOnly).unwrap(),
        "/a%2Fb"
    );
    assert_eq!(
        relative_url("/ä b", None, UrlMode::PathOnly).unwrap(),
        "/%C3%A4%20b"
    );
}

#[test]
fn url_refuses_bad_input() {
    for (path, query) in [
        ("/a%zz", None),
        ("/a%4", None),
        ("/a%", None),
        ("/a", Some("x=%G0")),
        ("/a", Some("x%=1")),
        ("a/b", None),
        ("", None),
        ("/a?b=1", None),
        ("/a#frag", None),
    ] {
        let err = relative_url(path, query, UrlMode::PathAndQuery).unwrap_err();
        assert_eq!((err.http_status, err.case), (400, 0), "{path} {query:?}");
    }
}
