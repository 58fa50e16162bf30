//! JSON Web Signatures for outgoing webhooks: RSA signing keys (3072 bits or more), compact
//! JWS (RFC 7515) with RS256 (RSASSA-PKCS1-v1_5 SHA-256) or PS256 (RSASSA-PSS SHA-256), or
//! ES256 with a P-256 key ([`crate::jose::EcSigningKey`]), and the public half as a JWK
//! (RFC 7517) for a JWKS. The private key leaves this type only as PKCS#8
//! for sealing under the KEK; a JWK never carries private members.

use aws_lc_rs::encoding::AsDer;
use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::rsa::KeySize;
use aws_lc_rs::signature::{self, KeyPair, RsaKeyPair};
use serde_json::{Value, json};
use zeroize::Zeroizing;

use crate::CryptoError;

/// The smallest modulus accepted for a webhook signing key, in bits.
pub const MIN_RSA_BITS: usize = 3072;

/// A JWS algorithm this crate signs with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JwsAlg {
    Rs256,
    Ps256,
    Es256,
}

impl JwsAlg {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Rs256 => "RS256",
            Self::Ps256 => "PS256",
            Self::Es256 => "ES256",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "RS256" => Some(Self::Rs256),
            "PS256" => Some(Self::Ps256),
            "ES256" => Some(Self::Es256),
            _ => None,
        }
    }

    /// The RSA padding of an RSA algorithm; `None` for ES256.
    fn rsa_encoding(self) -> Option<&'static dyn signature::RsaEncoding> {
        match self {
            Self::Rs256 => Some(&signature::RSA_PKCS1_SHA256),
            Self::Ps256 => Some(&signature::RSA_PSS_SHA256),
            Self::Es256 => None,
        }
    }
}

/// The protected header of a webhook JWS: `{"alg", "kid", "iat", "typ"}`.
fn protected_header(alg: JwsAlg, kid: &str, iat: i64) -> Value {
    json!({ "alg": alg.as_str(), "kid": kid, "iat": iat, "typ": "JOSE" })
}

/// A compact ES256 JWS of `payload` (the exact bytes sent), with the same protected header as
/// [`RsaSigningKey::sign_compact`]'s.
pub fn sign_compact_es256(
    key: &crate::jose::EcSigningKey,
    kid: &str,
    iat: i64,
    payload: &[u8],
) -> Result<String, CryptoError> {
    match protected_header(JwsAlg::Es256, kid, iat) {
        Value::Object(header) => key.sign_payload(&header, payload),
        _ => Err(CryptoError::InvalidKey),
    }
}

/// An RSA signing key.
pub struct RsaSigningKey {
    pair: RsaKeyPair,
}

impl std::fmt::Debug for RsaSigningKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RsaSigningKey")
            .field("bits", &(self.pair.public_modulus_len() * 8))
            .finish_non_exhaustive()
    }
}

impl RsaSigningKey {
    /// A new 3072-bit key.
    pub fn generate() -> Result<Self, CryptoError> {
        let pair = RsaKeyPair::generate(KeySize::Rsa3072).map_err(|_| CryptoError::Random)?;
        Ok(Self { pair })
    }

    /// A stored key; refused when it is not RSA or smaller than [`MIN_RSA_BITS`].
    pub fn from_pkcs8(der: &[u8]) -> Result<Self, CryptoError> {
        let pair = RsaKeyPair::from_pkcs8(der).map_err(|_| CryptoError::InvalidKey)?;
        if pair.public_modulus_len() * 8 < MIN_RSA_BITS {
            return Err(CryptoError::InvalidKey);
        }
        Ok(Self { pair })
    }

    /// The private key as PKCS#8 DER, to be sealed before it is stored.
    pub fn to_pkcs8(&self) -> Result<Zeroizing<Vec<u8>>, CryptoError> {
        let der = self.pair.as_der().map_err(|_| CryptoError::InvalidKey)?;
        Ok(Zeroizing::new(der.as_ref().to_vec()))
    }

    /// The public key as a JWK: `kty`, `use: sig`, `alg`, `kid`, `n`, `e`. Nothing private.
    pub fn public_jwk(&self, kid: &str, alg: JwsAlg) -> Value {
        let public = self.pair.public_key();
        json!({
            "kty": "RSA",
            "use": "sig",
            "alg": alg.as_str(),
            "kid": kid,
            "n": b64url(public.modulus().big_endian_without_leading_zero()),
            "e": b64url(public.exponent().big_endian_without_leading_zero()),
        })
    }

    /// A compact JWS of `payload` (the exact bytes sent) with the protected header
    /// `{"alg", "kid", "iat", "typ"}`; ES256 is refused (it is not an RSA algorithm).
    pub fn sign_compact(
        &self,
        alg: JwsAlg,
        kid: &str,
        iat: i64,
        payload: &[u8],
    ) -> Result<String, CryptoError> {
        let encoding = alg.rsa_encoding().ok_or(CryptoError::InvalidKey)?;
        let header = protected_header(alg, kid, iat);
        let mut signing_input = b64url(header.to_string().as_bytes());
        signing_input.push('.');
        signing_input.push_str(&b64url(payload));
        let mut signature = vec![0u8; self.pair.public_modulus_len()];
        self.pair
            .sign(
                encoding,
                &SystemRandom::new(),
                signing_input.as_bytes(),
                &mut signature,
            )
            .map_err(|_| CryptoError::Random)?;
        signing_input.push('.');
        signing_input.push_str(&b64url(&signature));
        Ok(signing_input)
    }
}

/// Verifies a compact JWS against an RSA public key given as a JWK's `n` and `e`; returns the
/// payload. For this crate's own tests and benchmarks: receivers use their own libraries.
pub fn verify_compact(token: &str, n: &str, e: &str) -> Result<Vec<u8>, CryptoError> {
    let mut parts = token.split('.');
    let (Some(header), Some(payload), Some(sig), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(CryptoError::InvalidKey);
    };
    let header: Value =
        serde_json::from_slice(&from_b64url(header)?).map_err(|_| CryptoError::InvalidKey)?;
    let alg = header
        .get("alg")
        .and_then(Value::as_str)
        .and_then(JwsAlg::parse)
        .ok_or(CryptoError::InvalidKey)?;
    let params = match alg {
        JwsAlg::Rs256 => &signature::RSA_PKCS1_2048_8192_SHA256,
        JwsAlg::Ps256 => &signature::RSA_PSS_2048_8192_SHA256,
        JwsAlg::Es256 => return Err(CryptoError::InvalidKey),
    };
    let public = signature::RsaPublicKeyComponents {
        n: from_b64url(n)?,
        e: from_b64url(e)?,
    };
    let signed = token.len() - sig.len() - 1;
    public
        .verify(params, &token.as_bytes()[..signed], &from_b64url(sig)?)
        .map_err(|_| CryptoError::InvalidKey)?;
    from_b64url(payload)
}

const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

/// Base64url without padding (RFC 7515 §2).
pub fn b64url(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let b = [
            chunk[0],
            chunk.get(1).copied().unwrap_or(0),
            chunk.get(2).copied().unwrap_or(0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        let chars = chunk.len() + 1;
        for i in 0..chars {
            let index = (n >> (18 - 6 * i)) & 63;
            out.push(char::from(ALPHABET[index as usize]));
        }
    }
    out
}

fn from_b64url(text: &str) -> Result<Vec<u8>, CryptoError> {
    let mut out = Vec::with_capacity(text.len() * 3 / 4);
    let mut acc = 0u32;
    let mut bits = 0;
    for c in text.bytes() {
        let v = ALPHABET
            .iter()
            .position(|a| *a == c)
            .ok_or(CryptoError::InvalidKey)? as u32;
        acc = (acc << 6) | v;
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push(((acc >> bits) & 0xff) as u8);
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn base64url_matches_the_rfc_examples() {
        assert_eq!(b64url(b""), "");
        assert_eq!(b64url(b"f"), "Zg");
        assert_eq!(b64url(b"fo"), "Zm8");
        assert_eq!(b64url(b"foo"), "Zm9v");
        assert_eq!(b64url(&[0xfb, 0xff]), "-_8");
        assert_eq!(from_b64url("-_8").unwrap(), vec![0xfb, 0xff]);
    }

    #[test]
    fn a_signature_verifies_with_the_public_jwk_only_and_not_after_tampering() {
        let key = RsaSigningKey::generate().unwrap();
        let again = RsaSigningKey::from_pkcs8(&key.to_pkcs8().unwrap()).unwrap();
        let jwk = again.public_jwk("k1", JwsAlg::Rs256);
        assert!(jwk.get("d").is_none() && jwk.get("p").is_none());
        for alg in [JwsAlg::Rs256, JwsAlg::Ps256] {
            let token = key.sign_compact(alg, "k1", 1, br#"{"a":1}"#).unwrap();
            let n = jwk["n"].as_str().unwrap();
            let e = jwk["e"].as_str().unwrap();
            assert_eq!(verify_compact(&token, n, e).unwrap(), br#"{"a":1}"#);
            let parts: Vec<&str> = token.split('.').collect();
            let forged = format!("{}.{}.{}", parts[0], b64url(br#"{"a":2}"#), parts[2]);
            assert!(verify_compact(&forged, n, e).is_err());
        }
    }
}
