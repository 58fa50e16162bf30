//! One-time recovery codes, for a person who lost their second factor.
//!
//! A code is 80 random bits written as 16 base32 symbols in four groups (`ABCD-EFGH-JKLM-NPQR`).
//! Eighty bits is enough without a slow hash: the codes are random, not chosen by people, so a
//! keyed hash (`KeyedHasher`) of `normalize(code)` is what the store keeps, and a stolen table
//! cannot be searched without the server secret.

use secrecy::SecretString;
use zeroize::Zeroizing;

use crate::{CryptoError, base32, random_bytes};

/// Random bytes per code: 80 bits, 16 base32 symbols exactly (5 bits each, no padding).
const CODE_BYTES: usize = 10;
/// Symbols per code once normalised.
pub const CODE_SYMBOLS: usize = CODE_BYTES * 8 / 5;
const GROUP: usize = 4;
/// Longer input than this is not a mistyped code; refusing it early bounds the work.
const MAX_TYPED_LEN: usize = 64;

/// `count` fresh codes, formatted for people (`XXXX-XXXX-XXXX-XXXX`).
pub fn generate_codes(count: usize) -> Result<Vec<SecretString>, CryptoError> {
    (0..count).map(|_| generate_code()).collect()
}

fn generate_code() -> Result<SecretString, CryptoError> {
    let bytes = Zeroizing::new(random_bytes::<CODE_BYTES>()?);
    let symbols = base32::encode(bytes.as_slice());
    let mut formatted = Zeroizing::new(String::with_capacity(CODE_SYMBOLS + CODE_SYMBOLS / GROUP));
    for (index, symbol) in symbols.chars().enumerate() {
        if index > 0 && index % GROUP == 0 {
            formatted.push('-');
        }
        formatted.push(symbol);
    }
    Ok(SecretString::from(formatted.as_str()))
}

/// The canonical form of a typed code (16 upper-case base32 symbols, no separators), or `None`
/// if it cannot be one. Case, spaces and dashes are ignored, and the digits 0 and 1, which the
/// alphabet leaves out, are read as the letters O and I people mistake them for.
pub fn normalize(code: &str) -> Option<String> {
    if code.len() > MAX_TYPED_LEN {
        return None;
    }
    let mut out = String::with_capacity(CODE_SYMBOLS);
    for character in code.chars() {
        if character == '-' || character.is_ascii_whitespace() {
            continue;
        }
        let symbol = match character.to_ascii_uppercase() {
            '0' => 'O',
            '1' => 'I',
            other => other,
        };
        if !symbol.is_ascii() || base32::value(symbol as u8).is_none() {
            return None;
        }
        out.push(symbol);
    }
    (out.len() == CODE_SYMBOLS).then_some(out)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use std::collections::HashSet;

    use secrecy::ExposeSecret;

    use super::*;

    #[test]
    fn codes_are_formatted_random_and_normalise() {
        let codes = generate_codes(10).unwrap();
        assert_eq!(codes.len(), 10);
        let mut seen = HashSet::new();
        for code in &codes {
            let text = code.expose_secret();
            assert_eq!(text.len(), 19);
            let groups: Vec<&str> = text.split('-').collect();
            assert_eq!(groups.len(), 4);
            assert!(groups.iter().all(|g| g.len() == 4));
            let normal = normalize(text).unwrap();
            assert_eq!(normal, text.replace('-', ""));
            assert!(seen.insert(normal));
        }
        assert!(generate_codes(0).unwrap().is_empty());
    }

    #[test]
    fn entropy_is_at_least_80_bits() {
        // 16 symbols of a 32-symbol alphabet, each drawn from fresh random bits.
        assert!(CODE_SYMBOLS as f64 * 32f64.log2() >= 80.0);
    }

    #[test]
    fn typing_variations_normalise_to_one_form() {
        let canonical = "ABCDEFGHIJKLMNOP";
        for typed in [
            "ABCD-EFGH-IJKL-MNOP",
            "abcd-efgh-ijkl-mnop",
            " abcd efgh ijkl mnop ",
            "ABCDEFGHIJKLMNOP",
            "ab-cd-ef-gh-ij-kl-mn-op",
            "abcd\tefgh\nijkl mnop",
        ] {
            assert_eq!(normalize(typed).as_deref(), Some(canonical), "{typed:?}");
        }
        assert_eq!(
            normalize("0000-1111-2345-67AB").as_deref(),
            Some("OOOOIIII234567AB")
        );
    }

    #[test]
    fn non_codes_are_refused() {
        for typed in [
            "",
            "ABCD-EFGH-IJKL-MNO",
            "ABCD-EFGH-IJKL-MNOPQ",
            "ABCD-EFGH-IJKL-MNO8",
            "ABCD-EFGH-IJKL-MNO9",
            "ABCD_EFGH_IJKL_MNOP",
            "АBCD-EFGH-IJKL-MNOP",
            "ＡBCD-EFGH-IJKL-MNOP",
            "ABCD-EFGH-IJKL-MNO\u{0}",
            &"-".repeat(65),
            &"A".repeat(10_000),
        ] {
            assert_eq!(normalize(typed), None, "{typed:?}");
        }
    }
}
