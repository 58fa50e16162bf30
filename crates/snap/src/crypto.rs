//! SNAP's two signature algorithms on aws-lc-rs: HMAC-SHA512 keyed with the client secret, and
//! SHA256withRSA (RSASSA-PKCS1-v1_5 with SHA-256). Signatures travel as standard base64.
//!
//! Key types never print their secret: `Debug` is redacted.

use std::fmt;

use aws_lc_rs::encoding::AsDer;
use aws_lc_rs::rsa::{KeyPair, PublicEncryptingKey, PublicKey};
use aws_lc_rs::signature::{ParsedPublicKey, RSA_PKCS1_2048_8192_SHA256, RSA_PKCS1_SHA256};
use aws_lc_rs::{hmac, rand};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use benteng_crypto::{ExposeSecret, SecretString};

use crate::error::SnapError;

/// Smallest RSA modulus accepted, for partners' keys and our own.
pub const MIN_RSA_BITS: usize = 2048;
/// Largest RSA modulus accepted (aws-lc-rs verifies up to 8192).
pub const MAX_RSA_BITS: usize = 8192;
/// Longest `X-SIGNATURE` header we decode (8192-bit RSA = 1368 base64 characters).
const MAX_SIGNATURE_B64: usize = 1400;

/// Problems with key material, at configuration time (not request errors).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KeyError {
    /// Not PEM/base64 or not DER of the expected kind.
    #[error("key is not a readable {0}")]
    Unreadable(&'static str),
    /// RSA modulus outside 2048–8192 bits.
    #[error("RSA key has {0} bits; 2048 to 8192 required")]
    BadSize(usize),
    /// Client secret empty.
    #[error("client secret is empty")]
    EmptySecret,
}

/// A partner's client secret, ready for HMAC-SHA512.
#[derive(Clone)]
pub struct ClientSecret {
    key: Box<hmac::Key>, // boxed: the precomputed HMAC state is large
}

impl ClientSecret {
    /// From the secret's bytes (SNAP uses the UTF-8 bytes of the secret string).
    pub fn new(secret: &[u8]) -> Result<Self, KeyError> {
        if secret.is_empty() {
            return Err(KeyError::EmptySecret);
        }
        Ok(Self {
            key: Box::new(hmac::Key::new(hmac::HMAC_SHA512, secret)),
        })
    }

    /// From a [`SecretString`] as stored in configuration.
    pub fn from_secret(secret: &SecretString) -> Result<Self, KeyError> {
        Self::new(secret.expose_secret().as_bytes())
    }

    /// base64(HMAC-SHA512(secret, message)).
    pub fn sign(&self, message: &[u8]) -> String {
        B64.encode(hmac::sign(&self.key, message).as_ref())
    }

    /// Checks `signature_b64` in constant time.
    ///
    /// Malformed base64 → 400xx01 `[X-SIGNATURE]`; well-formed but wrong (including the wrong
    /// length) → 401xx00 `[Signature]`.
    pub fn verify(&self, message: &[u8], signature_b64: &str) -> Result<(), SnapError> {
        let sig = decode_signature(signature_b64)?;
        hmac::verify(&self.key, message, &sig).map_err(|_| bad_signature())
    }
}

impl fmt::Debug for ClientSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ClientSecret(<redacted>)")
    }
}

/// Our RSA private key (PKCS#8), for token requests, asymmetric requests and notifications.
pub struct SnapPrivateKey {
    key: KeyPair,
}

impl SnapPrivateKey {
    /// From a PKCS#8 `PRIVATE KEY` PEM (line breaks optional, as banks' portals paste it) or
    /// bare base64 of the DER.
    pub fn from_pkcs8_pem(pem: &str) -> Result<Self, KeyError> {
        let der = pem_or_base64(pem, &["PRIVATE KEY"]).ok_or(KeyError::Unreadable("PKCS#8 PEM"))?;
        Self::from_pkcs8_der(&der)
    }

    /// From PKCS#8 DER.
    pub fn from_pkcs8_der(der: &[u8]) -> Result<Self, KeyError> {
        let key = KeyPair::from_pkcs8(der).map_err(|_| KeyError::Unreadable("PKCS#8 RSA key"))?;
        let bits = key.public_modulus_len() * 8;
        if !(MIN_RSA_BITS..=MAX_RSA_BITS).contains(&bits) {
            return Err(KeyError::BadSize(bits));
        }
        Ok(Self { key })
    }

    /// Modulus size in bits.
    pub fn bits(&self) -> usize {
        self.key.public_modulus_len() * 8
    }

    /// The matching public key, to register with the counterparty.
    pub fn public_key(&self) -> Result<PartnerPublicKey, KeyError> {
        use aws_lc_rs::signature::KeyPair as _;
        PartnerPublicKey::from_der(self.key.public_key().as_ref())
    }

    /// base64(SHA256withRSA(message)). PKCS#1 v1.5 is deterministic.
    pub fn sign(&self, message: &[u8]) -> Result<String, SnapError> {
        let mut sig = vec![0u8; self.key.public_modulus_len()];
        self.key
            .sign(
                &RSA_PKCS1_SHA256,
                &rand::SystemRandom::new(),
                message,
                &mut sig,
            )
            .map_err(|_| SnapError::internal_server_error().with_detail("RSA signing failed"))?;
        Ok(B64.encode(sig))
    }
}

impl fmt::Debug for SnapPrivateKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SnapPrivateKey(<redacted>, {} bits)", self.bits())
    }
}

/// A partner's registered RSA public key, parsed and checked once (2048–8192 bits).
#[derive(Clone)]
pub struct PartnerPublicKey {
    parsed: ParsedPublicKey,
    bits: usize,
    fingerprint: [u8; 32],
}

impl PartnerPublicKey {
    /// From PEM: SPKI `PUBLIC KEY` (X.509, what BCA asks for) or PKCS#1 `RSA PUBLIC KEY`, or
    /// bare base64 of either DER.
    pub fn from_pem(pem: &str) -> Result<Self, KeyError> {
        let der = pem_or_base64(pem, &["PUBLIC KEY", "RSA PUBLIC KEY"])
            .ok_or(KeyError::Unreadable("public key PEM"))?;
        Self::from_der(&der)
    }

    /// From DER, SPKI or PKCS#1.
    pub fn from_der(der: &[u8]) -> Result<Self, KeyError> {
        // Size first, from the DER itself, so a short key is reported as such (aws-lc-rs
        // refuses it without saying why).
        if let Some(bits) = rsa_modulus_bits(der)
            && !(MIN_RSA_BITS..=MAX_RSA_BITS).contains(&bits)
        {
            return Err(KeyError::BadSize(bits));
        }
        let unreadable = |_| KeyError::Unreadable("RSA public key");
        let key = PublicKey::from_der(der).map_err(unreadable)?;
        let spki = key
            .as_der()
            .map_err(|_| KeyError::Unreadable("RSA public key"))?;
        let bits = PublicEncryptingKey::from_der(spki.as_ref())
            .map_err(unreadable)?
            .key_size_bits();
        if !(MIN_RSA_BITS..=MAX_RSA_BITS).contains(&bits) {
            return Err(KeyError::BadSize(bits));
        }
        let parsed =
            ParsedPublicKey::new(&RSA_PKCS1_2048_8192_SHA256, key.as_ref()).map_err(unreadable)?;
        Ok(Self {
            parsed,
            bits,
            fingerprint: benteng_crypto::sha256(spki.as_ref()),
        })
    }

    /// Modulus size in bits.
    pub fn bits(&self) -> usize {
        self.bits
    }

    /// SHA-256 of the SPKI DER (same value as `openssl pkey -pubin -outform DER | sha256sum`).
    pub fn fingerprint_sha256(&self) -> [u8; 32] {
        self.fingerprint
    }

    /// [`Self::fingerprint_sha256`] as lower-case hex.
    pub fn fingerprint_hex(&self) -> String {
        hex::encode(self.fingerprint)
    }

    /// Verifies base64(SHA256withRSA) over `message`. Only SHA-256 PKCS#1 v1.5 is accepted: a
    /// SHA-1 (or PSS) signature fails.
    ///
    /// Malformed base64 → 400xx01 `[X-SIGNATURE]`; any mismatch → 401xx00 `[Signature]`.
    pub fn verify(&self, message: &[u8], signature_b64: &str) -> Result<(), SnapError> {
        let sig = decode_signature(signature_b64)?;
        self.parsed
            .verify_sig(message, &sig)
            .map_err(|_| bad_signature())
    }
}

impl fmt::Debug for PartnerPublicKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "PartnerPublicKey({} bits, sha256 {})",
            self.bits,
            self.fingerprint_hex()
        )
    }
}

fn bad_signature() -> SnapError {
    SnapError::unauthorized("Signature").with_detail("signature mismatch")
}

/// Standard base64 with padding, bounded in length.
fn decode_signature(b64: &str) -> Result<Vec<u8>, SnapError> {
    let malformed = || SnapError::invalid_field_format("X-SIGNATURE");
    if b64.is_empty() || b64.len() > MAX_SIGNATURE_B64 {
        return Err(malformed().with_detail("signature empty or too long"));
    }
    B64.decode(b64)
        .map_err(|_| malformed().with_detail("signature is not base64"))
}

/// PEM with one of `labels`, or bare base64; whitespace anywhere ignored.
fn pem_or_base64(text: &str, labels: &[&str]) -> Option<Vec<u8>> {
    let text = text.trim();
    let body = if text.starts_with("-----BEGIN ") {
        labels.iter().find_map(|label| {
            let begin = format!("-----BEGIN {label}-----");
            let end = format!("-----END {label}-----");
            let rest = text.strip_prefix(&begin)?;
            let stop = rest.find(&end)?;
            Some(&rest[..stop])
        })?
    } else {
        text
    };
    let cleaned: String = body.chars().filter(|c| !c.is_ascii_whitespace()).collect();
    if cleaned.is_empty() {
        return None;
    }
    B64.decode(cleaned).ok()
}

/// Modulus size of a DER RSA public key, PKCS#1 `RSAPublicKey` or SPKI; `None` if neither.
fn rsa_modulus_bits(der: &[u8]) -> Option<usize> {
    let (tag, outer, _) = der_tlv(der)?;
    if tag != 0x30 {
        return None;
    }
    let (tag, first, rest) = der_tlv(outer)?;
    let modulus = match tag {
        0x02 => first,
        0x30 => {
            // SPKI: AlgorithmIdentifier, then BIT STRING holding RSAPublicKey.
            let (tag, bits, _) = der_tlv(rest)?;
            let (&unused, inner) = bits.split_first()?;
            if tag != 0x03 || unused != 0 {
                return None;
            }
            let (tag, seq, _) = der_tlv(inner)?;
            let (tag2, n, _) = der_tlv(seq)?;
            if tag != 0x30 || tag2 != 0x02 {
                return None;
            }
            n
        }
        _ => return None,
    };
    let start = modulus.iter().position(|&b| b != 0)?;
    let significant = &modulus[start..];
    Some(significant.len() * 8 - significant[0].leading_zeros() as usize)
}

/// One DER tag-length-value: (tag, content, rest).
fn der_tlv(input: &[u8]) -> Option<(u8, &[u8], &[u8])> {
    let (&tag, rest) = input.split_first()?;
    let (&first, mut rest) = rest.split_first()?;
    let len = if first < 0x80 {
        usize::from(first)
    } else {
        let n = usize::from(first & 0x7f);
        if n == 0 || n > 3 {
            return None;
        }
        let (len_bytes, after) = rest.split_at_checked(n)?;
        rest = after;
        len_bytes
            .iter()
            .fold(0usize, |acc, &b| acc << 8 | usize::from(b))
    };
    let (content, after) = rest.split_at_checked(len)?;
    Some((tag, content, after))
}
