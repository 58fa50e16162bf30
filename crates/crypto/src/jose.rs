//! JOSE for FAPI 2.0: compact JWS verification with the three algorithms FAPI allows (PS256,
//! ES256, EdDSA over Ed25519), public JWKs parsed strictly (a JWK carrying private members is
//! refused), RFC 7638 thumbprints, and the authorization server's own ES256 signing key.
//! `RS256`, `none`, HMAC and every other algorithm are refused here, so no caller can accept
//! them by accident.

use aws_lc_rs::digest;
use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::signature::{self, EcdsaKeyPair, KeyPair, UnparsedPublicKey};
use serde_json::{Map, Value, json};
use zeroize::Zeroizing;

use crate::CryptoError;
use crate::jws::b64url;

/// Why a JOSE object was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum JoseError {
    #[error("not a compact JWS")]
    Malformed,
    #[error("the algorithm is not one FAPI allows (PS256, ES256, EdDSA)")]
    AlgorithmRefused,
    #[error("the key is not an acceptable public JWK")]
    BadKey,
    #[error("the JWK carries private key material")]
    PrivateKey,
    #[error("the key does not fit the algorithm")]
    KeyMismatch,
    #[error("the signature does not verify")]
    BadSignature,
    #[error("no registered key fits the signature")]
    NoKey,
}

/// A JWS algorithm FAPI 2.0 allows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FapiAlg {
    Ps256,
    Es256,
    EdDsa,
}

impl FapiAlg {
    pub const ALL: [FapiAlg; 3] = [FapiAlg::Ps256, FapiAlg::Es256, FapiAlg::EdDsa];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Ps256 => "PS256",
            Self::Es256 => "ES256",
            Self::EdDsa => "EdDSA",
        }
    }

    /// `RS256`, `none`, `HS256` and anything unknown are refused.
    pub fn parse(text: &str) -> Result<Self, JoseError> {
        match text {
            "PS256" => Ok(Self::Ps256),
            "ES256" => Ok(Self::Es256),
            "EdDSA" | "Ed25519" => Ok(Self::EdDsa),
            _ => Err(JoseError::AlgorithmRefused),
        }
    }
}

/// The smallest RSA modulus accepted in a client's key, in bits (FAPI 2.0 §5.4).
pub const MIN_CLIENT_RSA_BITS: usize = 2048;

#[derive(Debug, Clone, PartialEq, Eq)]
enum KeyMaterial {
    Rsa { n: Vec<u8>, e: Vec<u8> },
    P256 { x: Vec<u8>, y: Vec<u8> },
    Ed25519 { x: Vec<u8> },
}

/// A public signing key from a JWK.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PublicJwk {
    material: KeyMaterial,
    pub kid: Option<String>,
    /// The `alg` the JWK names, if any: a signature must then use exactly it.
    pub alg: Option<FapiAlg>,
}

/// Members that only a private (or symmetric) key has.
const PRIVATE_MEMBERS: [&str; 8] = ["d", "p", "q", "dp", "dq", "qi", "oth", "k"];

impl PublicJwk {
    /// Parses a JWK: RSA (≥ 2048 bits), EC P-256 or OKP Ed25519, public members only. A JWK with
    /// `x5u` or `jku`, an `alg` outside FAPI's, or a `use` other than `sig` is refused.
    pub fn from_value(value: &Value) -> Result<Self, JoseError> {
        let object = value.as_object().ok_or(JoseError::BadKey)?;
        if PRIVATE_MEMBERS.iter().any(|m| object.contains_key(*m)) {
            return Err(JoseError::PrivateKey);
        }
        if object.contains_key("x5u") || object.contains_key("jku") {
            return Err(JoseError::BadKey);
        }
        if let Some(use_) = object.get("use")
            && use_.as_str() != Some("sig")
        {
            return Err(JoseError::BadKey);
        }
        let text = |name: &str| object.get(name).and_then(Value::as_str);
        let bytes = |name: &str| -> Result<Vec<u8>, JoseError> {
            b64url_decode(text(name).ok_or(JoseError::BadKey)?).map_err(|_| JoseError::BadKey)
        };
        let material = match text("kty") {
            Some("RSA") => {
                let n = strip_zeros(bytes("n")?);
                let e = strip_zeros(bytes("e")?);
                // The exponent must be odd and at least 3 (e = 1 would make any "signature"
                // verify): refused here, not left to the verifier.
                let exponent_ok = e.len() <= 4
                    && e.last().is_some_and(|low| low & 1 == 1)
                    && (e.len() > 1 || e[0] >= 3);
                if n.len() * 8 < MIN_CLIENT_RSA_BITS || !exponent_ok {
                    return Err(JoseError::BadKey);
                }
                KeyMaterial::Rsa { n, e }
            }
            Some("EC") if text("crv") == Some("P-256") => {
                let (x, y) = (bytes("x")?, bytes("y")?);
                if x.len() != 32 || y.len() != 32 {
                    return Err(JoseError::BadKey);
                }
                KeyMaterial::P256 { x, y }
            }
            Some("OKP") if text("crv") == Some("Ed25519") => {
                let x = bytes("x")?;
                if x.len() != 32 {
                    return Err(JoseError::BadKey);
                }
                KeyMaterial::Ed25519 { x }
            }
            _ => return Err(JoseError::BadKey),
        };
        let alg = match object.get("alg") {
            None => None,
            Some(alg) => Some(FapiAlg::parse(alg.as_str().ok_or(JoseError::BadKey)?)?),
        };
        let key = Self {
            material,
            kid: text("kid").map(str::to_owned),
            alg,
        };
        if let Some(alg) = alg
            && !key.fits(alg)
        {
            return Err(JoseError::KeyMismatch);
        }
        Ok(key)
    }

    /// Whether this key can verify `alg`.
    pub fn fits(&self, alg: FapiAlg) -> bool {
        let kind = matches!(
            (&self.material, alg),
            (KeyMaterial::Rsa { .. }, FapiAlg::Ps256)
                | (KeyMaterial::P256 { .. }, FapiAlg::Es256)
                | (KeyMaterial::Ed25519 { .. }, FapiAlg::EdDsa)
        );
        kind && self.alg.is_none_or(|named| named == alg)
    }

    /// The RFC 7638 thumbprint (SHA-256, base64url): the required members in lexicographic
    /// order, no whitespace.
    pub fn thumbprint(&self) -> String {
        let canonical = match &self.material {
            KeyMaterial::Rsa { n, e } => {
                format!(r#"{{"e":"{}","kty":"RSA","n":"{}"}}"#, b64url(e), b64url(n))
            }
            KeyMaterial::P256 { x, y } => format!(
                r#"{{"crv":"P-256","kty":"EC","x":"{}","y":"{}"}}"#,
                b64url(x),
                b64url(y)
            ),
            KeyMaterial::Ed25519 { x } => {
                format!(r#"{{"crv":"Ed25519","kty":"OKP","x":"{}"}}"#, b64url(x))
            }
        };
        sha256_b64url(canonical.as_bytes())
    }

    /// Verifies `signature` over `input` with `alg`.
    pub fn verify(&self, alg: FapiAlg, input: &[u8], signature: &[u8]) -> Result<(), JoseError> {
        if !self.fits(alg) {
            return Err(JoseError::KeyMismatch);
        }
        let verified = match &self.material {
            KeyMaterial::Rsa { n, e } => signature::RsaPublicKeyComponents { n, e }.verify(
                &signature::RSA_PSS_2048_8192_SHA256,
                input,
                signature,
            ),
            KeyMaterial::P256 { x, y } => {
                let mut point = Vec::with_capacity(65);
                point.push(4);
                point.extend_from_slice(x);
                point.extend_from_slice(y);
                UnparsedPublicKey::new(&signature::ECDSA_P256_SHA256_FIXED, point)
                    .verify(input, signature)
            }
            KeyMaterial::Ed25519 { x } => {
                UnparsedPublicKey::new(&signature::ED25519, x).verify(input, signature)
            }
        };
        verified.map_err(|_| JoseError::BadSignature)
    }
}

fn strip_zeros(mut bytes: Vec<u8>) -> Vec<u8> {
    let zeros = bytes.iter().take_while(|b| **b == 0).count();
    bytes.drain(..zeros);
    bytes
}

/// A parsed (not yet verified) compact JWS whose header and payload are JSON objects.
#[derive(Debug, Clone)]
pub struct CompactJws {
    pub header: Map<String, Value>,
    pub claims: Map<String, Value>,
    signing_input: String,
    signature: Vec<u8>,
}

impl CompactJws {
    /// Splits and decodes `token`. A header with `crit`, `jku`, `x5u` or `b64` is refused (this
    /// server understands none of them).
    pub fn parse(token: &str) -> Result<Self, JoseError> {
        let mut parts = token.split('.');
        let (Some(header), Some(payload), Some(signature), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(JoseError::Malformed);
        };
        let object = |text: &str| -> Result<Map<String, Value>, JoseError> {
            let bytes = b64url_decode(text).map_err(|_| JoseError::Malformed)?;
            match serde_json::from_slice::<Value>(&bytes) {
                Ok(Value::Object(map)) => Ok(map),
                _ => Err(JoseError::Malformed),
            }
        };
        let header = object(header)?;
        let claims = object(payload)?;
        if ["crit", "jku", "x5u", "b64"]
            .iter()
            .any(|name| header.contains_key(*name))
        {
            return Err(JoseError::Malformed);
        }
        let signature = b64url_decode(signature).map_err(|_| JoseError::Malformed)?;
        if signature.is_empty() {
            return Err(JoseError::AlgorithmRefused);
        }
        let signed = token.len() - token.rsplit('.').next().map_or(0, str::len) - 1;
        Ok(Self {
            header,
            claims,
            signing_input: token[..signed].to_owned(),
            signature,
        })
    }

    /// The header's `alg`, refused unless FAPI allows it.
    pub fn alg(&self) -> Result<FapiAlg, JoseError> {
        FapiAlg::parse(
            self.header
                .get("alg")
                .and_then(Value::as_str)
                .ok_or(JoseError::AlgorithmRefused)?,
        )
    }

    pub fn header_str(&self, name: &str) -> Option<&str> {
        self.header.get(name).and_then(Value::as_str)
    }

    pub fn claim_str(&self, name: &str) -> Option<&str> {
        self.claims.get(name).and_then(Value::as_str)
    }

    pub fn claim_i64(&self, name: &str) -> Option<i64> {
        self.claims.get(name).and_then(Value::as_i64)
    }

    /// Verifies the signature with `key`.
    pub fn verify_with(&self, key: &PublicJwk) -> Result<(), JoseError> {
        key.verify(self.alg()?, self.signing_input.as_bytes(), &self.signature)
    }

    /// Verifies the signature with the key of `jwks` (a JWK Set) that fits: the one named by the
    /// header's `kid`, or without a `kid` the only key that fits the algorithm. Keys of the set
    /// that do not parse are skipped (a private one never verifies anything).
    pub fn verify_with_set(&self, jwks: &Value) -> Result<PublicJwk, JoseError> {
        let alg = self.alg()?;
        let kid = self.header_str("kid");
        let keys: Vec<PublicJwk> = jwks
            .get("keys")
            .and_then(Value::as_array)
            .map(|keys| {
                keys.iter()
                    .filter_map(|k| PublicJwk::from_value(k).ok())
                    .filter(|k| k.fits(alg))
                    .filter(|k| kid.is_none_or(|kid| k.kid.as_deref() == Some(kid)))
                    .collect()
            })
            .unwrap_or_default();
        match keys.as_slice() {
            [key] => {
                self.verify_with(key)?;
                Ok(key.clone())
            }
            _ => Err(JoseError::NoKey),
        }
    }
}

/// SHA-256, base64url (PKCE S256, DPoP `ath`, thumbprints).
pub fn sha256_b64url(bytes: &[u8]) -> String {
    b64url(digest::digest(&digest::SHA256, bytes).as_ref())
}

/// Strict base64url without padding: characters outside the alphabet, padding and non-zero
/// trailing bits are refused, so one value has one encoding.
pub fn b64url_decode(text: &str) -> Result<Vec<u8>, CryptoError> {
    if text.len() % 4 == 1 {
        return Err(CryptoError::InvalidKey);
    }
    let mut out = Vec::with_capacity(text.len() * 3 / 4);
    let mut acc = 0u32;
    let mut bits = 0;
    for c in text.bytes() {
        let v = match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'-' => 62,
            b'_' => 63,
            _ => return Err(CryptoError::InvalidKey),
        };
        acc = (acc << 6) | u32::from(v);
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push(((acc >> bits) & 0xff) as u8);
        }
    }
    if acc & ((1 << bits) - 1) != 0 {
        return Err(CryptoError::InvalidKey);
    }
    Ok(out)
}

/// An ES256 (P-256) signing key: the authorization server's JARM key, and in tests a client's.
pub struct EcSigningKey {
    pair: EcdsaKeyPair,
}

impl std::fmt::Debug for EcSigningKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("EcSigningKey(P-256)")
    }
}

impl EcSigningKey {
    pub fn generate() -> Result<Self, CryptoError> {
        let pair = EcdsaKeyPair::generate(&signature::ECDSA_P256_SHA256_FIXED_SIGNING)
            .map_err(|_| CryptoError::Random)?;
        Ok(Self { pair })
    }

    pub fn from_pkcs8(der: &[u8]) -> Result<Self, CryptoError> {
        let pair = EcdsaKeyPair::from_pkcs8(&signature::ECDSA_P256_SHA256_FIXED_SIGNING, der)
            .map_err(|_| CryptoError::InvalidKey)?;
        Ok(Self { pair })
    }

    /// PKCS#8 DER, to be sealed before it is stored.
    pub fn to_pkcs8(&self) -> Result<Zeroizing<Vec<u8>>, CryptoError> {
        let der = self
            .pair
            .to_pkcs8v1()
            .map_err(|_| CryptoError::InvalidKey)?;
        Ok(Zeroizing::new(der.as_ref().to_vec()))
    }

    /// The public JWK (`kty`, `crv`, `x`, `y`, `kid`, `use`, `alg`): nothing private.
    pub fn public_jwk(&self, kid: &str) -> Value {
        let point = self.pair.public_key().as_ref();
        let (x, y) = point
            .get(1..33)
            .zip(point.get(33..65))
            .unwrap_or((&[][..], &[][..]));
        json!({
            "kty": "EC", "crv": "P-256", "x": b64url(x), "y": b64url(y),
            "kid": kid, "use": "sig", "alg": "ES256",
        })
    }

    /// A compact JWS of `claims` with the header `{"alg":"ES256","typ":typ,"kid":kid}` (and
    /// `extra` header members).
    pub fn sign(&self, header: &Map<String, Value>, claims: &Value) -> Result<String, CryptoError> {
        self.sign_payload(header, claims.to_string().as_bytes())
    }

    /// A compact JWS of `payload`, exactly these bytes, with `header` (its `alg` set to ES256).
    pub fn sign_payload(
        &self,
        header: &Map<String, Value>,
        payload: &[u8],
    ) -> Result<String, CryptoError> {
        let mut header = header.clone();
        header.insert("alg".into(), "ES256".into());
        let mut input = b64url(Value::Object(header).to_string().as_bytes());
        input.push('.');
        input.push_str(&b64url(payload));
        let signature = self
            .pair
            .sign(&SystemRandom::new(), input.as_bytes())
            .map_err(|_| CryptoError::Random)?;
        input.push('.');
        input.push_str(&b64url(signature.as_ref()));
        Ok(input)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;
    use aws_lc_rs::signature::{Ed25519KeyPair, RsaKeyPair};

    fn header(kid: &str) -> Map<String, Value> {
        let mut h = Map::new();
        h.insert("kid".into(), kid.into());
        h
    }

    #[test]
    fn thumbprints_match_rfc_7638_and_9449() {
        let rsa = json!({"kty":"RSA","e":"AQAB","n":"0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_BJECPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw"});
        assert_eq!(
            PublicJwk::from_value(&rsa).unwrap().thumbprint(),
            "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs"
        );
        let ec = json!({"kty":"EC","crv":"P-256","x":"l8tFrhx-34tV3hRICRDY9zCkDlpBhF42UQUfWVAWBFs","y":"9VE4jf_Ok_o64zbTTlcuNJajHmt6v9TDVrU0CdvGRDA"});
        assert_eq!(
            PublicJwk::from_value(&ec).unwrap().thumbprint(),
            "0ZcOCORZNYy-DWpqq30jZyJGHTN0d2HglBV3uiguA4I"
        );
    }

    #[test]
    fn pkce_and_ath_match_the_rfc_vectors() {
        assert_eq!(
            sha256_b64url(b"dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"),
            "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
        );
        assert_eq!(
            sha256_b64url(b"Kz~8mXK1EalYznwH-LC-1fBAo.4Ljp~zsPE_NeO.gxU"),
            "fUHyO2r2Z3DZ53EsNrWBb0xWXoaNy59IiKCAqksmQEo"
        );
    }

    #[test]
    fn es256_signatures_verify_and_tampering_does_not() {
        let key = EcSigningKey::generate().unwrap();
        let key = EcSigningKey::from_pkcs8(&key.to_pkcs8().unwrap()).unwrap();
        let token = key.sign(&header("k1"), &json!({"a": 1})).unwrap();
        let jws = CompactJws::parse(&token).unwrap();
        let jwks = json!({"keys": [key.public_jwk("k1")]});
        jws.verify_with_set(&jwks).unwrap();
        let other = EcSigningKey::generate().unwrap();
        let wrong = json!({"keys": [other.public_jwk("k1")]});
        assert_eq!(jws.verify_with_set(&wrong), Err(JoseError::BadSignature));
        let parts: Vec<&str> = token.split('.').collect();
        let forged = format!("{}.{}.{}", parts[0], b64url(br#"{"a":2}"#), parts[2]);
        let forged = CompactJws::parse(&forged).unwrap();
        assert_eq!(forged.verify_with_set(&jwks), Err(JoseError::BadSignature));
    }

    fn raw_jws(alg: &str, claims: &str, sign: impl Fn(&[u8]) -> Vec<u8>) -> String {
        let input = format!(
            "{}.{}",
            b64url(format!(r#"{{"alg":"{alg}"}}"#).as_bytes()),
            b64url(claims.as_bytes())
        );
        let signature = sign(input.as_bytes());
        format!("{input}.{}", b64url(&signature))
    }

    #[test]
    fn ps256_and_eddsa_verify_and_rs256_and_none_are_refused() {
        let rsa = RsaKeyPair::generate(aws_lc_rs::rsa::KeySize::Rsa2048).unwrap();
        let public = rsa.public_key();
        let jwk = json!({"kty": "RSA",
            "n": b64url(public.modulus().big_endian_without_leading_zero()),
            "e": b64url(public.exponent().big_endian_without_leading_zero())});
        let jwks = json!({"keys": [jwk]});
        let sign_rsa = |encoding: &'static dyn signature::RsaEncoding| {
            let rsa = &rsa;
            move |input: &[u8]| {
                let mut out = vec![0u8; rsa.public_modulus_len()];
                rsa.sign(encoding, &SystemRandom::new(), input, &mut out)
                    .unwrap();
                out
            }
        };
        let ps = raw_jws("PS256", "{}", sign_rsa(&signature::RSA_PSS_SHA256));
        CompactJws::parse(&ps)
            .unwrap()
            .verify_with_set(&jwks)
            .unwrap();
        let rs = raw_jws("RS256", "{}", sign_rsa(&signature::RSA_PKCS1_SHA256));
        assert_eq!(
            CompactJws::parse(&rs).unwrap().verify_with_set(&jwks),
            Err(JoseError::AlgorithmRefused)
        );
        // A PKCS#1 v1.5 signature presented as PS256 does not verify either.
        let disguised = raw_jws("PS256", "{}", sign_rsa(&signature::RSA_PKCS1_SHA256));
        assert_eq!(
            CompactJws::parse(&disguised)
                .unwrap()
                .verify_with_set(&jwks),
            Err(JoseError::BadSignature)
        );
        let none = format!("{}.{}.", b64url(br#"{"alg":"none"}"#), b64url(b"{}"));
        assert!(CompactJws::parse(&none).is_err());
        let hs = raw_jws("HS256", "{}", |_| vec![1; 32]);
        assert_eq!(
            CompactJws::parse(&hs).unwrap().alg(),
            Err(JoseError::AlgorithmRefused)
        );

        let rng = SystemRandom::new();
        let ed = Ed25519KeyPair::from_pkcs8(Ed25519KeyPair::generate_pkcs8(&rng).unwrap().as_ref())
            .unwrap();
        let jwks = json!({"keys": [{"kty": "OKP", "crv": "Ed25519",
            "x": b64url(ed.public_key().as_ref())}]});
        let token = raw_jws("EdDSA", r#"{"b":2}"#, |input| {
            ed.sign(input).as_ref().to_vec()
        });
        CompactJws::parse(&token)
            .unwrap()
            .verify_with_set(&jwks)
            .unwrap();
    }

    #[test]
    fn private_and_weak_keys_are_refused() {
        let key = EcSigningKey::generate().unwrap();
        let mut jwk = key.public_jwk("k");
        jwk["d"] = "AAAA".into();
        assert_eq!(PublicJwk::from_value(&jwk), Err(JoseError::PrivateKey));
        let oct = json!({"kty": "oct", "k": "AAAA"});
        assert_eq!(PublicJwk::from_value(&oct), Err(JoseError::PrivateKey));
        let small = json!({"kty": "RSA", "n": b64url(&[0xff; 128]), "e": "AQAB"});
        assert_eq!(PublicJwk::from_value(&small), Err(JoseError::BadKey));
        let rsa = |e: &[u8]| json!({"kty": "RSA", "n": b64url(&[0xff; 256]), "e": b64url(e)});
        assert!(PublicJwk::from_value(&rsa(&[1, 0, 1])).is_ok(), "65537");
        assert!(PublicJwk::from_value(&rsa(&[3])).is_ok(), "3");
        for weak in [&[1][..], &[0, 1], &[1, 0, 0], &[2], &[]] {
            assert_eq!(
                PublicJwk::from_value(&rsa(weak)),
                Err(JoseError::BadKey),
                "e = {weak:?}"
            );
        }
        let mut rs = key.public_jwk("k");
        rs["alg"] = "RS256".into();
        assert_eq!(PublicJwk::from_value(&rs), Err(JoseError::AlgorithmRefused));
    }

    #[test]
    fn base64url_is_strict() {
        assert!(b64url_decode("Zg").is_ok());
        assert!(b64url_decode("Zh").is_err());
        assert!(b64url_decode("Zg==").is_err());
        assert!(b64url_decode("Z").is_err());
    }
}
