//! RFC 4648 base32 (`A–Z`, `2–7`), without padding: the form authenticator apps expect for TOTP
//! secrets, and the alphabet of recovery codes (no 0/1/8, so fewer misreadings).

use zeroize::Zeroizing;

pub(crate) const ALPHABET: &[u8; 32] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";

/// Encodes without padding. The result is wiped on drop: it usually spells a secret.
pub(crate) fn encode(bytes: &[u8]) -> Zeroizing<String> {
    let mut out = Zeroizing::new(String::with_capacity(bytes.len().div_ceil(5) * 8));
    let mut buffer: u16 = 0;
    let mut bits = 0u32;
    for &byte in bytes {
        buffer = (buffer << 8) | u16::from(byte);
        bits += 8;
        while bits >= 5 {
            bits -= 5;
            out.push(symbol(buffer >> bits));
        }
        // Keep only the bits not yet written, so the shift above never overflows.
        buffer &= (1 << bits) - 1;
    }
    if bits > 0 {
        out.push(symbol(buffer << (5 - bits)));
    }
    out
}

fn symbol(index: u16) -> char {
    char::from(ALPHABET[usize::from(index & 0x1f)])
}

/// The 5-bit value of an upper-case base32 symbol.
pub(crate) fn value(symbol: u8) -> Option<u8> {
    match symbol {
        b'A'..=b'Z' => Some(symbol - b'A'),
        b'2'..=b'7' => Some(symbol - b'2' + 26),
        _ => None,
    }
}

/// Decodes canonical unpadded upper-case base32: a length no encoding produces, or leftover bits
/// that are not zero, is refused, so each byte string has exactly one accepted spelling.
pub(crate) fn decode(text: &str) -> Option<Zeroizing<Vec<u8>>> {
    // Lengths mod 8 that an encoding can end on (0, 2, 4, 5 or 7 trailing symbols).
    if matches!(text.len() % 8, 1 | 3 | 6) {
        return None;
    }
    let mut out = Zeroizing::new(Vec::with_capacity(text.len() * 5 / 8));
    let mut buffer: u16 = 0;
    let mut bits = 0u32;
    for &symbol in text.as_bytes() {
        buffer = (buffer << 5) | u16::from(value(symbol)?);
        bits += 5;
        if bits >= 8 {
            bits -= 8;
            // Truncation intended: the low 8 bits above `bits` are the next byte.
            out.push((buffer >> bits) as u8);
            buffer &= (1 << bits) - 1;
        }
    }
    (buffer == 0).then_some(out)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    /// RFC 4648 section 10, padding removed.
    const VECTORS: [(&str, &str); 7] = [
        ("", ""),
        ("f", "MY"),
        ("fo", "MZXQ"),
        ("foo", "MZXW6"),
        ("foob", "MZXW6YQ"),
        ("fooba", "MZXW6YTB"),
        ("foobar", "MZXW6YTBOI"),
    ];

    #[test]
    fn rfc_4648_vectors() {
        for (plain, encoded) in VECTORS {
            assert_eq!(encode(plain.as_bytes()).as_str(), encoded);
            assert_eq!(decode(encoded).unwrap().as_slice(), plain.as_bytes());
        }
    }

    #[test]
    fn every_byte_value_round_trips() {
        let all: Vec<u8> = (0..=255).collect();
        for len in 0..all.len() {
            let encoded = encode(&all[..len]);
            assert_eq!(decode(&encoded).unwrap().as_slice(), &all[..len]);
        }
    }

    #[test]
    fn non_canonical_input_is_refused() {
        // Impossible lengths, lower case, padding, a space, and (the last two) non-zero
        // leftover bits.
        for bad in ["M", "MZX", "MZXW6Y", "my", "MZ=", "MZ XQ", "MZ", "MZXR"] {
            assert!(decode(bad).is_none(), "{bad}");
        }
    }
}
