//! Canonical forms that go into the string-to-sign: minified body, body hash, relative URL.
//!
//! Everything works on the raw bytes as received. Re-serialising JSON would change key order,
//! `\u` escapes and number spellings and break signatures made by the other side.

use crate::error::SnapError;

/// Removes JSON whitespace (space, tab, CR, LF) outside string literals; keeps every other byte.
///
/// Why not parse and re-serialise: the sender signed its own bytes, and a round trip through a
/// JSON library changes escapes (`\u00e9` vs `é`), numbers (`1.0` vs `1`) and key order.
///
/// Refuses (400xx00): invalid UTF-8, an unterminated string, raw control characters inside a
/// string, invalid escapes, unbalanced or mismatched brackets. The scan is iterative with an
/// explicit stack, so deep nesting cannot overflow the call stack. It is not a full JSON
/// validator (`tru` outside strings is kept as-is); the endpoint's JSON parser still runs after.
/// An empty or all-whitespace body minifies to the empty string.
pub fn minify(body: &[u8]) -> Result<Vec<u8>, SnapError> {
    let bad = |detail| SnapError::bad_request().with_detail(detail);
    if std::str::from_utf8(body).is_err() {
        return Err(bad("body is not valid UTF-8"));
    }
    let mut out = Vec::with_capacity(body.len());
    let mut stack: Vec<u8> = Vec::new();
    let mut i = 0;
    while i < body.len() {
        let b = body[i];
        match b {
            b' ' | b'\t' | b'\r' | b'\n' => {}
            b'"' => {
                // Copy the whole string literal verbatim, checking escapes.
                out.push(b);
                i += 1;
                loop {
                    let Some(&c) = body.get(i) else {
                        return Err(bad("unterminated string in body"));
                    };
                    match c {
                        b'"' => break,
                        b'\\' => {
                            let Some(&e) = body.get(i + 1) else {
                                return Err(bad("unterminated string in body"));
                            };
                            match e {
                                b'"' | b'\\' | b'/' | b'b' | b'f' | b'n' | b'r' | b't' => {
                                    out.extend_from_slice(&[c, e]);
                                    i += 2;
                                }
                                b'u' => {
                                    let hex =
                                        body.get(i + 2..i + 6).ok_or(bad("bad \\u escape"))?;
                                    if !hex.iter().all(u8::is_ascii_hexdigit) {
                                        return Err(bad("bad \\u escape"));
                                    }
                                    out.extend_from_slice(&body[i..i + 6]);
                                    i += 6;
                                }
                                _ => return Err(bad("invalid escape in body string")),
                            }
                        }
                        0x00..=0x1f => return Err(bad("control character in body string")),
                        _ => {
                            out.push(c);
                            i += 1;
                        }
                    }
                }
                out.push(b'"');
            }
            b'{' | b'[' => {
                stack.push(b);
                out.push(b);
            }
            b'}' | b']' => {
                let open = if b == b'}' { b'{' } else { b'[' };
                if stack.pop() != Some(open) {
                    return Err(bad("unbalanced brackets in body"));
                }
                out.push(b);
            }
            _ => out.push(b),
        }
        i += 1;
    }
    if !stack.is_empty() {
        return Err(bad("unbalanced brackets in body"));
    }
    Ok(out)
}

/// Lower-case hex SHA-256 of the minified body; the empty body gives
/// `e3b0c442…b855` (the hash of "").
pub fn body_hash(body: &[u8]) -> Result<String, SnapError> {
    let min = minify(body)?;
    Ok(hex::encode(benteng_crypto::sha256(&min)))
}

/// Which parts of the URL a counterparty signs.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum UrlMode {
    /// Path plus sorted, encoded query (`/v1.0/x?a=1&b=2`): BCA and the standard's text.
    #[default]
    PathAndQuery,
    /// Path only, query ignored: DANA's SDK signs `url.Path`.
    PathOnly,
}

/// The canonical RelativeUrl of the string-to-sign.
///
/// `path` is the raw request path (starting with `/`, without `?` or `#`), `query` the raw query
/// without the leading `?`. Each path segment and each query name and value is percent-decoded,
/// then re-encoded per RFC 3986: unreserved characters (`A-Z a-z 0-9 - _ . ~`) kept, everything
/// else `%XY` upper-case, so `%7e`, `~` and `%7E` canonicalise alike. `+` is a literal plus
/// (RFC 3986), encoded `%2B`; a space must arrive as `%20`. Query parameters are sorted by
/// encoded name, then encoded value; a parameter without `=` stays without it; empty
/// parameters (`&&`) are dropped; an empty query adds no `?`.
///
/// Refuses (400xx00) an invalid percent-escape, a path not starting with `/`, or a raw `?`/`#`
/// in the path (a sign the caller passed the whole URI).
pub fn relative_url(path: &str, query: Option<&str>, mode: UrlMode) -> Result<String, SnapError> {
    let bad = |detail| SnapError::bad_request().with_detail(detail);
    if !path.starts_with('/') {
        return Err(bad("path does not start with '/'"));
    }
    if path.contains(['?', '#']) {
        return Err(bad("path contains '?' or '#'"));
    }
    let mut out = String::with_capacity(path.len() + query.map_or(0, str::len) + 8);
    for (n, segment) in path.split('/').enumerate() {
        if n > 0 {
            out.push('/');
        }
        encode_into(&mut out, &decode(segment)?);
    }
    if mode == UrlMode::PathOnly {
        return Ok(out);
    }
    let Some(query) = query else {
        return Ok(out);
    };
    let mut params: Vec<(String, Option<String>)> = Vec::new();
    for part in query.split('&').filter(|p| !p.is_empty()) {
        let (name, value) = match part.split_once('=') {
            Some((n, v)) => (n, Some(v)),
            None => (part, None),
        };
        let mut enc_name = String::new();
        encode_into(&mut enc_name, &decode(name)?);
        let enc_value = match value {
            Some(v) => {
                let mut s = String::new();
                encode_into(&mut s, &decode(v)?);
                Some(s)
            }
            None => None,
        };
        params.push((enc_name, enc_value));
    }
    params.sort();
    for (n, (name, value)) in params.iter().enumerate() {
        out.push(if n == 0 { '?' } else { '&' });
        out.push_str(name);
        if let Some(value) = value {
            out.push('=');
            out.push_str(value);
        }
    }
    Ok(out)
}

/// Percent-decodes to bytes; refuses `%` not followed by two hex digits.
fn decode(s: &str) -> Result<Vec<u8>, SnapError> {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' {
            let hi = b.get(i + 1).and_then(|c| hex_val(*c));
            let lo = b.get(i + 2).and_then(|c| hex_val(*c));
            match (hi, lo) {
                (Some(h), Some(l)) => out.push(h << 4 | l),
                _ => {
                    return Err(
                        SnapError::bad_request().with_detail("invalid percent-escape in URL")
                    );
                }
            }
            i += 3;
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    Ok(out)
}

fn hex_val(c: u8) -> Option<u8> {
    match c {
        b'0'..=b'9' => Some(c - b'0'),
        b'a'..=b'f' => Some(c - b'a' + 10),
        b'A'..=b'F' => Some(c - b'A' + 10),
        _ => None,
    }
}

/// RFC 3986 encoding: unreserved kept, every other byte `%XY` upper-case.
fn encode_into(out: &mut String, bytes: &[u8]) {
    const HEX: &[u8; 16] = b"0123456789ABCDEF";
    for &b in bytes {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(char::from(b));
        } else {
            out.push('%');
            out.push(char::from(HEX[usize::from(b >> 4)]));
            out.push(char::from(HEX[usize::from(b & 0x0f)]));
        }
    }
}
