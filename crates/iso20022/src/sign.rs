//! Signing: the BAH `Sgntr` profile (`docs/iso20022.md`). An enveloped `ds:Signature` in
//! `AppHdr/Sgntr`, exclusive c14n, SHA-256 digests, RSA-SHA256, three references:
//!
//! | Reference        | what it covers                              | transforms                     |
//! |------------------|---------------------------------------------|--------------------------------|
//! | `URI=""`         | the AppHdr, minus the `ds:Signature`        | enveloped-signature, exc-c14n  |
//! | `URI="#KeyInfo…"`| the signature's `ds:KeyInfo`                | exc-c14n                       |
//! | no `URI`         | the sibling `Document`                      | exc-c14n                       |
//!
//! The two same-document references come first, so a generic verifier (xmlsec1) that cannot
//! resolve the URI-less one still checks them before it stops.
//!
//! The signature is spliced into the rendered bytes between `<Sgntr>` and `</Sgntr>`: nothing
//! is re-serialized, and the enveloped transform gives back exactly the bytes that were digested.

use aws_lc_rs::digest::{SHA256, digest};
use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::signature::{KeyPair, RSA_PKCS1_SHA256, RsaKeyPair};
use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;

use crate::c14n::{self, C14nError};
use crate::message::{MessageId, MessageKind, NS_HEAD, UnsignedMessage};

pub const NS_DSIG: &str = "http://www.w3.org/2000/09/xmldsig#";
pub const ALG_EXC_C14N: &str = "http://www.w3.org/2001/10/xml-exc-c14n#";
pub const ALG_RSA_SHA256: &str = "http://www.w3.org/2001/04/xmldsig-more#rsa-sha256";
pub const ALG_SHA256: &str = "http://www.w3.org/2001/04/xmlenc#sha256";
pub const ALG_ENVELOPED: &str = "http://www.w3.org/2000/09/xmldsig#enveloped-signature";

/// Smallest RSA modulus the platform signs with (DECISIONS: RSA ≥ 3072).
pub const MIN_SIGNING_BITS: usize = 3072;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KeyError {
    #[error("signing key is not an RSA PKCS#8 private key")]
    NotRsaPkcs8,
    #[error("signing key has {bits} bits; at least {MIN_SIGNING_BITS} are required")]
    TooShort { bits: usize },
    #[error("certificate is not valid DER X.509")]
    Certificate,
    #[error("certificate does not hold the signing key's public key")]
    CertificateMismatch,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SignError {
    #[error("rendered message could not be parsed back: {0}")]
    Parse(String),
    #[error("rendered message has no empty AppHdr/Sgntr to sign into")]
    NoSignatureSlot,
    #[error(transparent)]
    C14n(#[from] C14nError),
    #[error("RSA signing failed")]
    Rsa,
}

/// A signed message: these bytes are stored and sent as they are.
#[derive(Debug, Clone)]
pub struct SignedMessage {
    kind: MessageKind,
    message_id: MessageId,
    bytes: Vec<u8>,
}

impl SignedMessage {
    pub fn kind(&self) -> MessageKind {
        self.kind
    }

    pub fn message_id(&self) -> &MessageId {
        &self.message_id
    }

    pub fn as_bytes(&self) -> &[u8] {
        &self.bytes
    }

    pub fn into_bytes(self) -> Vec<u8> {
        self.bytes
    }
}

/// The platform's signing key and the certificate that goes into `KeyInfo`.
pub struct Signer {
    key: RsaKeyPair,
    certificate: Vec<u8>,
    certificate_base64: String,
    rng: SystemRandom,
}

impl std::fmt::Debug for Signer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Signer(RSA-{})", self.key.public_modulus_len() * 8)
    }
}

/// The PKCS#1 `RSAPublicKey` inside a DER certificate.
pub(crate) fn certificate_public_key(der: &[u8]) -> Option<Vec<u8>> {
    let (rest, certificate) = x509_parser::parse_x509_certificate(der).ok()?;
    if !rest.is_empty() {
        return None;
    }
    Some(
        certificate
            .tbs_certificate
            .subject_pki
            .subject_public_key
            .data
            .to_vec(),
    )
}

impl Signer {
    /// `pkcs8` is the RSA private key (≥ 3072 bits), `certificate` the DER certificate of its
    /// public key that counterparties register.
    pub fn new(pkcs8: &[u8], certificate: &[u8]) -> Result<Signer, KeyError> {
        let key = RsaKeyPair::from_pkcs8(pkcs8).map_err(|_| KeyError::NotRsaPkcs8)?;
        let bits = key.public_modulus_len() * 8;
        if bits < MIN_SIGNING_BITS {
            return Err(KeyError::TooShort { bits });
        }
        let public = certificate_public_key(certificate).ok_or(KeyError::Certificate)?;
        if public.as_slice() != key.public_key().as_ref() {
            return Err(KeyError::CertificateMismatch);
        }
        Ok(Signer {
            key,
            certificate: certificate.to_vec(),
            certificate_base64: BASE64.encode(certificate),
            rng: SystemRandom::new(),
        })
    }

    pub fn certificate_der(&self) -> &[u8] {
        &self.certificate
    }

    /// Signs `message`, returning the bytes to store and send.
    pub fn sign(&self, message: &UnsignedMessage) -> Result<SignedMessage, SignError> {
        let xml = message.as_str();
        let doc = roxmltree::Document::parse(xml).map_err(|e| SignError::Parse(e.to_string()))?;
        let root = doc.root_element();
        let app_hdr = root
            .children()
            .find(|n| n.has_tag_name((NS_HEAD, "AppHdr")))
            .ok_or(SignError::NoSignatureSlot)?;
        let document = root
            .children()
            .find(|n| n.is_element() && n.tag_name().name() == "Document")
            .ok_or(SignError::NoSignatureSlot)?;
        let slot = app_hdr
            .children()
            .find(|n| n.has_tag_name((NS_HEAD, "Sgntr")))
            .ok_or(SignError::NoSignatureSlot)?;
        let slot_range = slot.range();
        if xml.get(slot_range.clone()) != Some("<Sgntr></Sgntr>") {
            return Err(SignError::NoSignatureSlot);
        }
        let insert_at = slot_range.start + "<Sgntr>".len();

        let app_hdr_digest = sha256_base64(&c14n::exclusive(xml, app_hdr, None)?);
        let document_digest = sha256_base64(&c14n::exclusive(xml, document, None)?);

        let key_info_id = format!("KeyInfo-{}", uuid::Uuid::new_v4().simple());
        let key_info = format!(
            "<ds:KeyInfo Id=\"{key_info_id}\"><ds:X509Data><ds:X509Certificate>{}</ds:X509Certificate></ds:X509Data></ds:KeyInfo>",
            self.certificate_base64
        );
        let key_info_digest = sha256_base64(&canonical_fragment(&key_info)?);

        let signed_info = format!(
            concat!(
                "<ds:SignedInfo>",
                "<ds:CanonicalizationMethod Algorithm=\"{c14n}\"></ds:CanonicalizationMethod>",
                "<ds:SignatureMethod Algorithm=\"{rsa}\"></ds:SignatureMethod>",
                "<ds:Reference URI=\"\"><ds:Transforms>",
                "<ds:Transform Algorithm=\"{enveloped}\"></ds:Transform>",
                "<ds:Transform Algorithm=\"{c14n}\"></ds:Transform>",
                "</ds:Transforms><ds:DigestMethod Algorithm=\"{sha}\"></ds:DigestMethod>",
                "<ds:DigestValue>{app}</ds:DigestValue></ds:Reference>",
                "<ds:Reference URI=\"#{id}\"><ds:Transforms>",
                "<ds:Transform Algorithm=\"{c14n}\"></ds:Transform>",
                "</ds:Transforms><ds:DigestMethod Algorithm=\"{sha}\"></ds:DigestMethod>",
                "<ds:DigestValue>{key}</ds:DigestValue></ds:Reference>",
                "<ds:Reference><ds:Transforms>",
                "<ds:Transform Algorithm=\"{c14n}\"></ds:Transform>",
                "</ds:Transforms><ds:DigestMethod Algorithm=\"{sha}\"></ds:DigestMethod>",
                "<ds:DigestValue>{doc}</ds:DigestValue></ds:Reference>",
                "</ds:SignedInfo>"
            ),
            c14n = ALG_EXC_C14N,
            rsa = ALG_RSA_SHA256,
            enveloped = ALG_ENVELOPED,
            sha = ALG_SHA256,
            app = app_hdr_digest,
            id = key_info_id,
            key = key_info_digest,
            doc = document_digest,
        );
        let signed_info_c14n = canonical_fragment(&signed_info)?;
        let mut signature = vec![0; self.key.public_modulus_len()];
        self.key
            .sign(
                &RSA_PKCS1_SHA256,
                &self.rng,
                &signed_info_c14n,
                &mut signature,
            )
            .map_err(|_| SignError::Rsa)?;

        let element = format!(
            "<ds:Signature xmlns:ds=\"{NS_DSIG}\">{signed_info}<ds:SignatureValue>{}</ds:SignatureValue>{key_info}</ds:Signature>",
            BASE64.encode(&signature)
        );
        let mut bytes = Vec::with_capacity(xml.len() + element.len());
        bytes.extend_from_slice(xml.get(..insert_at).unwrap_or_default().as_bytes());
        bytes.extend_from_slice(element.as_bytes());
        bytes.extend_from_slice(xml.get(insert_at..).unwrap_or_default().as_bytes());
        Ok(SignedMessage {
            kind: message.kind(),
            message_id: message.message_id().clone(),
            bytes,
        })
    }
}

/// The exclusive canonical form of a `ds:` fragment as it will sit inside `ds:Signature`.
fn canonical_fragment(fragment: &str) -> Result<Vec<u8>, SignError> {
    let wrapped = format!("<ds:Signature xmlns:ds=\"{NS_DSIG}\">{fragment}</ds:Signature>");
    let doc = roxmltree::Document::parse(&wrapped).map_err(|e| SignError::Parse(e.to_string()))?;
    let element = doc
        .root_element()
        .first_element_child()
        .ok_or(SignError::NoSignatureSlot)?;
    Ok(c14n::exclusive(&wrapped, element, None)?)
}

pub(crate) fn sha256_base64(bytes: &[u8]) -> String {
    BASE64.encode(digest(&SHA256, bytes))
}
