//! Server-certificate policy: RSA >= 4096 or ECDSA P-384, validity <= 366 days, currently valid,
//! chain complete, private key matches.

use rustls::sign::CertifiedKey;
use rustls_pki_types::{CertificateDer, PrivateKeyDer, UnixTime};
use time::OffsetDateTime;
use x509_parser::oid_registry::{OID_KEY_TYPE_EC_PUBLIC_KEY, OID_NIST_EC_P384};
use x509_parser::public_key::PublicKey;

use crate::config::PolicyMode;
use crate::error::TransportError;

/// Maximum certificate lifetime (notAfter - notBefore) in days.
pub const MAX_VALIDITY_DAYS: i64 = 366;
/// Minimum RSA modulus size.
pub const MIN_RSA_BITS: usize = 4096;

/// Checks a server certificate chain and key against the policy at time `now`. Returns the list of
/// violations (empty = compliant).
pub fn check_server_certificate(
    chain: &[CertificateDer<'static>],
    key: &PrivateKeyDer<'static>,
    now: OffsetDateTime,
) -> Vec<String> {
    let mut v = Vec::new();
    let Some(leaf_der) = chain.first() else {
        v.push("certificate file contains no certificate".to_owned());
        return v;
    };
    let leaf = match x509_parser::parse_x509_certificate(leaf_der) {
        Ok((_, c)) => c,
        Err(e) => {
            v.push(format!("leaf certificate does not parse: {e}"));
            return v;
        }
    };

    // Key algorithm and size.
    let spki = leaf.public_key();
    match spki.parsed() {
        Ok(PublicKey::RSA(rsa)) => {
            let bits = rsa.key_size();
            if bits < MIN_RSA_BITS {
                v.push(format!(
                    "RSA key is {bits} bits; at least {MIN_RSA_BITS} required"
                ));
            }
        }
        Ok(PublicKey::EC(_)) if spki.algorithm.algorithm == OID_KEY_TYPE_EC_PUBLIC_KEY => {
            let curve = spki
                .algorithm
                .parameters
                .as_ref()
                .and_then(|p| p.as_oid().ok());
            if curve.as_ref() != Some(&OID_NIST_EC_P384) {
                let name = curve.map(|c| c.to_id_string()).unwrap_or_default();
                v.push(format!("ECDSA key on curve {name}; only P-384 is allowed"));
            }
        }
        Ok(_) => v.push(format!(
            "key algorithm {} not allowed; use RSA >= 4096 or ECDSA P-384",
            spki.algorithm.algorithm.to_id_string()
        )),
        Err(e) => v.push(format!("public key does not parse: {e}")),
    }

    // Validity.
    let nb = leaf.validity().not_before.to_datetime();
    let na = leaf.validity().not_after.to_datetime();
    let lifetime = na - nb;
    if lifetime > time::Duration::days(MAX_VALIDITY_DAYS) {
        v.push(format!(
            "certificate lifetime is {} days; at most {MAX_VALIDITY_DAYS} allowed",
            lifetime.whole_days()
        ));
    }
    if now < nb {
        v.push(format!("certificate is not yet valid (notBefore {nb})"));
    }
    if now >= na {
        v.push(format!("certificate has expired (notAfter {na})"));
    }

    // Chain completeness: the leaf must verify up to the last certificate of the file.
    if chain.len() < 2 {
        v.push("chain incomplete: the certificate file holds only the leaf; append the issuing intermediate/root".to_owned());
    } else if let Err(e) = verify_chain(chain, clamp_time(now, nb, na)) {
        v.push(format!("chain incomplete or invalid: {e}"));
    }

    // Key matches the certificate.
    match key_matches(chain, key) {
        Ok(()) => {}
        Err(e) => v.push(e),
    }
    v
}

fn clamp_time(now: OffsetDateTime, nb: OffsetDateTime, na: OffsetDateTime) -> OffsetDateTime {
    if now < nb {
        nb
    } else if now >= na {
        na - time::Duration::seconds(1)
    } else {
        now
    }
}

fn verify_chain(chain: &[CertificateDer<'static>], now: OffsetDateTime) -> Result<(), String> {
    let (leaf, rest) = chain.split_first().ok_or("empty chain")?;
    let (anchor_der, intermediates) = rest.split_last().ok_or("no issuer certificate")?;
    let anchor = webpki::anchor_from_trusted_cert(anchor_der)
        .map_err(|e| format!("last certificate unusable as anchor: {e:?}"))?
        .to_owned();
    let ee = webpki::EndEntityCert::try_from(leaf).map_err(|e| format!("leaf: {e:?}"))?;
    let provider = rustls::crypto::aws_lc_rs::default_provider();
    // Validate the path at a time inside the leaf's validity, so an expired certificate is reported
    // once (above) and not also as a chain error.
    let secs = u64::try_from(now.unix_timestamp()).unwrap_or(0);
    let at = UnixTime::since_unix_epoch(std::time::Duration::from_secs(secs));
    ee.verify_for_usage(
        provider.signature_verification_algorithms.all,
        &[anchor],
        intermediates,
        at,
        webpki::KeyUsage::server_auth(),
        None,
        None,
    )
    .map(|_| ())
    .map_err(|e| format!("{e:?}"))
}

fn key_matches(
    chain: &[CertificateDer<'static>],
    key: &PrivateKeyDer<'static>,
) -> Result<(), String> {
    let provider = rustls::crypto::aws_lc_rs::default_provider();
    let signing = provider
        .key_provider
        .load_private_key(key.clone_key())
        .map_err(|e| format!("private key unusable: {e}"))?;
    let ck = CertifiedKey::new(chain.to_vec(), signing);
    ck.keys_match()
        .map_err(|e| format!("private key does not match the certificate: {e}"))
}

/// Applies `mode` to a list of violations: error in production, warnings in dev.
pub fn enforce(
    mode: PolicyMode,
    what: &str,
    violations: Vec<String>,
) -> Result<(), TransportError> {
    if violations.is_empty() {
        return Ok(());
    }
    match mode {
        PolicyMode::Production => {
            for x in &violations {
                tracing::error!(target: "security", cert = what, violation = %x, "certificate policy violation");
            }
            Err(TransportError::Policy(violations))
        }
        PolicyMode::Dev => {
            for x in &violations {
                tracing::warn!(target: "security", cert = what, violation = %x, "certificate policy violation (dev mode: allowed)");
            }
            Ok(())
        }
    }
}
