//! OCSP: request building, response validation (RFC 6960), fetching from the AIA responder.

use std::time::Duration;

use time::OffsetDateTime;
use x509_cert::Certificate;
use x509_cert::der::asn1::{ObjectIdentifier, OctetString};
use x509_cert::der::{Decode, Encode};
use x509_cert::spki::AlgorithmIdentifierOwned;
use x509_ocsp::{
    BasicOcspResponse, CertId, CertStatus, OcspRequest, OcspResponse, OcspResponseStatus, Request,
    TbsRequest, Version,
};

/// OCSP failures. A response failing any check is never stapled.
#[derive(Debug, Clone, thiserror::Error, PartialEq, Eq)]
pub enum OcspError {
    /// `ocsp.required` but neither `ocsp.file` nor `ocsp.fetch` is configured.
    #[error("OCSP required but neither ocsp.file nor ocsp.fetch is configured")]
    NotConfigured,
    /// The chain has no issuer certificate.
    #[error("certificate chain has no issuer certificate; cannot validate OCSP")]
    NoIssuer,
    /// No OCSP URL in the AIA extension.
    #[error("certificate has no OCSP responder URL (AIA)")]
    NoResponderUrl,
    /// Reading the file failed.
    #[error("read: {0}")]
    Io(String),
    /// Fetching failed.
    #[error("fetch: {0}")]
    Fetch(String),
    /// Malformed DER.
    #[error("malformed: {0}")]
    Malformed(String),
    /// responseStatus was not `successful`.
    #[error("response status is {0}")]
    Status(String),
    /// No SingleResponse for this certificate.
    #[error("response is not for this certificate (CertID mismatch)")]
    WrongCertificate,
    /// The certificate is revoked.
    #[error("certificate is REVOKED")]
    Revoked,
    /// The responder does not know the certificate.
    #[error("certificate status unknown")]
    Unknown,
    /// thisUpdate in the future.
    #[error("thisUpdate is in the future")]
    NotYetValid,
    /// now >= nextUpdate, or nextUpdate missing.
    #[error("response is stale (nextUpdate passed or missing)")]
    Stale,
    /// Signature does not verify with the issuer or a delegated responder.
    #[error("signature invalid or signer not authorized: {0}")]
    BadSignature(String),
}

/// A validated OCSP response.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Staple {
    /// The full DER `OCSPResponse` to staple.
    pub der: Vec<u8>,
    /// thisUpdate.
    pub this_update: OffsetDateTime,
    /// nextUpdate.
    pub next_update: OffsetDateTime,
}

impl Staple {
    /// now < nextUpdate.
    pub fn is_fresh(&self, now: OffsetDateTime) -> bool {
        now < self.next_update
    }
    /// Past the midpoint between thisUpdate and nextUpdate.
    pub fn refresh_due(&self, now: OffsetDateTime) -> bool {
        let half = (self.next_update - self.this_update) / 2;
        now >= self.this_update + half
    }
}

/// Allowed clock skew for thisUpdate.
const SKEW: time::Duration = time::Duration::minutes(5);

const OID_SHA1: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.14.3.2.26");
const OID_SHA256: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.16.840.1.101.3.4.2.1");
const OID_SHA384: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.16.840.1.101.3.4.2.2");
const OID_SHA512: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.16.840.1.101.3.4.2.3");
const OID_OCSP_BASIC: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.6.1.5.5.7.48.1.1");
const OID_EKU: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.5.29.37");
const OID_KP_OCSP_SIGNING: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.6.1.5.5.7.3.9");

fn malformed(e: impl std::fmt::Display) -> OcspError {
    OcspError::Malformed(e.to_string())
}

fn hash(alg: &ObjectIdentifier, data: &[u8]) -> Option<Vec<u8>> {
    use aws_lc_rs::digest;
    let a = if *alg == OID_SHA1 {
        &digest::SHA1_FOR_LEGACY_USE_ONLY
    } else if *alg == OID_SHA256 {
        &digest::SHA256
    } else if *alg == OID_SHA384 {
        &digest::SHA384
    } else if *alg == OID_SHA512 {
        &digest::SHA512
    } else {
        return None;
    };
    Some(digest::digest(a, data).as_ref().to_vec())
}

fn parse_cert(der: &[u8]) -> Result<Certificate, OcspError> {
    Certificate::from_der(der).map_err(malformed)
}

fn cert_id(
    issuer: &Certificate,
    serial: &x509_cert::serial_number::SerialNumber,
) -> Result<CertId, OcspError> {
    let name = issuer.tbs_certificate.subject.to_der().map_err(malformed)?;
    let key = issuer
        .tbs_certificate
        .subject_public_key_info
        .subject_public_key
        .raw_bytes();
    let name_hash = hash(&OID_SHA1, &name).unwrap_or_default();
    let key_hash = hash(&OID_SHA1, key).unwrap_or_default();
    Ok(CertId {
        hash_algorithm: AlgorithmIdentifierOwned {
            oid: OID_SHA1,
            parameters: Some(x509_cert::der::asn1::Null.into()),
        },
        issuer_name_hash: OctetString::new(name_hash).map_err(malformed)?,
        issuer_key_hash: OctetString::new(key_hash).map_err(malformed)?,
        serial_number: serial.clone(),
    })
}

/// DER OCSPRequest (SHA-1 CertID, no nonce, unsigned) for `leaf` issued by `issuer`.
pub fn build_ocsp_request(leaf: &[u8], issuer: &[u8]) -> Result<Vec<u8>, OcspError> {
    let leaf = parse_cert(leaf)?;
    let issuer = parse_cert(issuer)?;
    let id = cert_id(&issuer, &leaf.tbs_certificate.serial_number)?;
    let req = OcspRequest {
        tbs_request: TbsRequest {
            version: Version::V1,
            requestor_name: None,
            request_list: vec![Request {
                req_cert: id,
                single_request_extensions: None,
            }],
            request_extensions: None,
        },
        optional_signature: None,
    };
    req.to_der().map_err(malformed)
}

/// The first `http(s)://` OCSP URL in the certificate's Authority Information Access extension.
pub fn responder_url(leaf: &[u8]) -> Option<String> {
    use x509_parser::extensions::{GeneralName, ParsedExtension};
    let (_, cert) = x509_parser::parse_x509_certificate(leaf).ok()?;
    for ext in cert.extensions() {
        if let ParsedExtension::AuthorityInfoAccess(aia) = ext.parsed_extension() {
            for ad in &aia.accessdescs {
                if ad.access_method != x509_parser::oid_registry::OID_PKIX_ACCESS_DESCRIPTOR_OCSP {
                    continue;
                }
                if let GeneralName::URI(u) = &ad.access_location
                    && (u.starts_with("http://") || u.starts_with("https://"))
                {
                    return Some((*u).to_owned());
                }
            }
        }
    }
    None
}

/// POSTs the request to the responder (10 s timeout, 64 KiB response cap).
pub async fn fetch_ocsp_response(url: &str, request_der: Vec<u8>) -> Result<Vec<u8>, OcspError> {
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(10))
        .build()
        .map_err(|e| OcspError::Fetch(e.to_string()))?;
    let resp = client
        .post(url)
        .header("content-type", "application/ocsp-request")
        .header("accept", "application/ocsp-response")
        .body(request_der)
        .send()
        .await
        .map_err(|e| OcspError::Fetch(error_chain(&e)))?;
    if !resp.status().is_success() {
        return Err(OcspError::Fetch(format!("HTTP {}", resp.status())));
    }
    let body = resp
        .bytes()
        .await
        .map_err(|e| OcspError::Fetch(e.to_string()))?;
    if body.len() > 64 * 1024 {
        return Err(OcspError::Fetch("response larger than 64 KiB".into()));
    }
    Ok(body.to_vec())
}

fn error_chain(e: &dyn std::error::Error) -> String {
    let mut s = e.to_string();
    let mut cur = e.source();
    while let Some(c) = cur {
        s.push_str(": ");
        s.push_str(&c.to_string());
        cur = c.source();
    }
    s
}

fn to_offset(t: &x509_ocsp::OcspGeneralizedTime) -> Result<OffsetDateTime, OcspError> {
    let secs = t.0.to_unix_duration().as_secs();
    let secs = i64::try_from(secs).map_err(malformed)?;
    OffsetDateTime::from_unix_timestamp(secs).map_err(malformed)
}

/// Inner content of an AlgorithmIdentifier (OID + parameters), as rustls-pki-types compares it.
fn alg_id_content(a: &AlgorithmIdentifierOwned) -> Result<Vec<u8>, OcspError> {
    let mut v = a.oid.to_der().map_err(malformed)?;
    if let Some(p) = &a.parameters {
        v.extend(p.to_der().map_err(malformed)?);
    }
    Ok(v)
}

/// Verifies `signature` over `message` with `signer`'s public key, using the aws-lc-rs algorithms.
fn verify_sig(
    signer: &Certificate,
    sig_alg: &AlgorithmIdentifierOwned,
    message: &[u8],
    signature: &[u8],
) -> Result<(), OcspError> {
    let spki = &signer.tbs_certificate.subject_public_key_info;
    let pk_alg = alg_id_content(&spki.algorithm)?;
    let sig_alg = alg_id_content(sig_alg)?;
    let algs = rustls::crypto::aws_lc_rs::default_provider()
        .signature_verification_algorithms
        .all;
    let mut matched = false;
    for a in algs {
        if a.public_key_alg_id().as_ref() == pk_alg.as_slice()
            && a.signature_alg_id().as_ref() == sig_alg.as_slice()
        {
            matched = true;
            if a.verify_signature(spki.subject_public_key.raw_bytes(), message, signature)
                .is_ok()
            {
                return Ok(());
            }
        }
    }
    Err(OcspError::BadSignature(if matched {
        "signature does not verify".into()
    } else {
        "unsupported signature algorithm".into()
    }))
}

fn is_valid_at(c: &Certificate, now: OffsetDateTime) -> bool {
    let v = &c.tbs_certificate.validity;
    let nb = v.not_before.to_unix_duration().as_secs();
    let na = v.not_after.to_unix_duration().as_secs();
    let n = u64::try_from(now.unix_timestamp()).unwrap_or(0);
    nb <= n && n < na
}

fn has_ocsp_signing_eku(c: &Certificate) -> bool {
    let Some(exts) = &c.tbs_certificate.extensions else {
        return false;
    };
    exts.iter().filter(|e| e.extn_id == OID_EKU).any(|e| {
        Vec::<ObjectIdentifier>::from_der(e.extn_value.as_bytes())
            .map(|oids| oids.contains(&OID_KP_OCSP_SIGNING))
            .unwrap_or(false)
    })
}

/// Validates a DER `OCSPResponse` for `leaf` (issued by `issuer`) at `now`: status successful,
/// basic response, a SingleResponse whose CertID matches (issuer name hash, issuer key hash,
/// serial), status good, thisUpdate <= now (+5 min skew) < nextUpdate, signature by the issuer or by
/// a delegated responder certificate that the issuer signed and that carries id-kp-OCSPSigning.
pub fn validate_ocsp_response(
    der: &[u8],
    leaf: &[u8],
    issuer: &[u8],
    now: OffsetDateTime,
) -> Result<Staple, OcspError> {
    let leaf_c = parse_cert(leaf)?;
    let issuer_c = parse_cert(issuer)?;
    let resp = OcspResponse::from_der(der).map_err(malformed)?;
    if resp.response_status != OcspResponseStatus::Successful {
        return Err(OcspError::Status(format!("{:?}", resp.response_status)));
    }
    let bytes = resp
        .response_bytes
        .ok_or_else(|| malformed("no responseBytes"))?;
    if bytes.response_type != OID_OCSP_BASIC {
        return Err(malformed("not a basic OCSP response"));
    }
    let basic = BasicOcspResponse::from_der(bytes.response.as_bytes()).map_err(malformed)?;

    // Find our SingleResponse.
    let issuer_name = issuer_c
        .tbs_certificate
        .subject
        .to_der()
        .map_err(malformed)?;
    let issuer_key = issuer_c
        .tbs_certificate
        .subject_public_key_info
        .subject_public_key
        .raw_bytes();
    let single = basic
        .tbs_response_data
        .responses
        .iter()
        .find(|r| {
            let id = &r.cert_id;
            let alg = &id.hash_algorithm.oid;
            id.serial_number == leaf_c.tbs_certificate.serial_number
                && hash(alg, &issuer_name).as_deref() == Some(id.issuer_name_hash.as_bytes())
                && hash(alg, issuer_key).as_deref() == Some(id.issuer_key_hash.as_bytes())
        })
        .ok_or(OcspError::WrongCertificate)?;

    // Signature.
    let tbs = basic.tbs_response_data.to_der().map_err(malformed)?;
    let sig = basic
        .signature
        .as_bytes()
        .ok_or_else(|| malformed("signature has unused bits"))?;
    let by_issuer = verify_sig(&issuer_c, &basic.signature_algorithm, &tbs, sig);
    if by_issuer.is_err() {
        let mut last = by_issuer
            .err()
            .unwrap_or(OcspError::BadSignature(String::new()));
        let mut ok = false;
        for responder in basic.certs.iter().flatten() {
            // Delegated responder: issued (signed) by the issuer, OCSPSigning EKU, valid now.
            if responder.tbs_certificate.issuer != issuer_c.tbs_certificate.subject {
                continue;
            }
            let rtbs = responder.tbs_certificate.to_der().map_err(malformed)?;
            let rsig = responder
                .signature
                .as_bytes()
                .ok_or_else(|| malformed("responder signature has unused bits"))?;
            if let Err(e) = verify_sig(&issuer_c, &responder.signature_algorithm, &rtbs, rsig) {
                last = e;
                continue;
            }
            if !has_ocsp_signing_eku(responder) {
                last =
                    OcspError::BadSignature("responder certificate lacks id-kp-OCSPSigning".into());
                continue;
            }
            if !is_valid_at(responder, now) {
                last = OcspError::BadSignature("responder certificate not valid now".into());
                continue;
            }
            match verify_sig(responder, &basic.signature_algorithm, &tbs, sig) {
                Ok(()) => {
                    ok = true;
                    break;
                }
                Err(e) => last = e,
            }
        }
        if !ok {
            return Err(last);
        }
    }

    // Status and times.
    match single.cert_status {
        CertStatus::Good(_) => {}
        CertStatus::Revoked(_) => return Err(OcspError::Revoked),
        CertStatus::Unknown(_) => return Err(OcspError::Unknown),
    }
    let this_update = to_offset(&single.this_update)?;
    let next_update = match &single.next_update {
        Some(t) => to_offset(t)?,
        None => return Err(OcspError::Stale),
    };
    if this_update > now + SKEW {
        return Err(OcspError::NotYetValid);
    }
    if now >= next_update {
        return Err(OcspError::Stale);
    }
    Ok(Staple {
        der: der.to_vec(),
        this_update,
        next_update,
    })
}
