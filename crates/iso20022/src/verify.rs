//! Verification of signed messages that come in (pacs.002 status reports; pacs.008 and pain.001
//! too, so the platform's own output can be checked). The profile is enforced exactly, and every
//! refusal is a [`VerifyError`] that names the check or the reference that failed:
//!
//! 1. size cap, UTF-8, no DTD or entity declaration (XXE, billion laughs), no comments or
//!    processing instructions anywhere (exc-c14n without comments would ignore a comment added
//!    after signing; the profile has none, so any is refused);
//! 2. the envelope holds exactly one head.001.001.02 `AppHdr` and one `Document` of a known
//!    message definition, matching `AppHdr/MsgDefIdr`;
//! 3. exactly one `ds:Signature` in the whole message, in `AppHdr/Sgntr`, holding SignedInfo,
//!    SignatureValue and KeyInfo and nothing else;
//! 4. SignedInfo: exclusive c14n, RSA-SHA256, exactly three references (the AppHdr `URI=""`,
//!    the KeyInfo `URI="#Id"`, the URI-less Document), each with exactly its transforms and
//!    SHA-256; no external or unknown URIs, no duplicates, in any order;
//! 5. the KeyInfo certificate is byte for byte one that is registered for a counterparty (not
//!    any certificate that chains to something);
//! 6. the three digests over the nodes of *this* parse, and the RSA-SHA256 SignatureValue over
//!    the canonical SignedInfo with the registered key.
//!
//! What the caller then reads (the status report) comes from the same parse, from the
//! `Document` that was digested: a second Document elsewhere is refused at step 2.

use std::fmt;

use aws_lc_rs::signature::{RSA_PKCS1_2048_8192_SHA256, UnparsedPublicKey};
use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use benteng_core::currency::Currency;
use benteng_core::money::Money;
use roxmltree::{Node, NodeType};

use crate::c14n;
use crate::message::{MessageId, MessageKind, NS_HEAD, PaymentReturn, TransactionStatus};
use crate::sign::{
    ALG_ENVELOPED, ALG_EXC_C14N, ALG_RSA_SHA256, ALG_SHA256, NS_DSIG, certificate_public_key,
    sha256_base64,
};

/// The default size cap: status reports are a few kilobytes; a pain.001 of `MAX_BATCH`
/// transfers stays under 2 MiB.
pub const DEFAULT_MAX_BYTES: usize = 4 * 1024 * 1024;
const NODES_LIMIT: u32 = 200_000;

/// The three references of the profile.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReferenceKind {
    AppHdr,
    KeyInfo,
    Document,
}

impl fmt::Display for ReferenceKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            ReferenceKind::AppHdr => "AppHdr reference (URI=\"\")",
            ReferenceKind::KeyInfo => "KeyInfo reference (URI=\"#…\")",
            ReferenceKind::Document => "Document reference (no URI)",
        })
    }
}

/// Why a message was refused. Each names the check that failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum VerifyError {
    #[error("message is {size} bytes, over the {limit}-byte limit")]
    TooLarge { size: usize, limit: usize },
    #[error("message is not UTF-8")]
    NotUtf8,
    #[error("message has a DTD or entity declaration (refused: XXE and entity expansion)")]
    Dtd,
    #[error("message is not well-formed XML: {0}")]
    Malformed(String),
    #[error("message contains a comment or processing instruction (the profile has none)")]
    CommentOrProcessingInstruction,
    #[error("envelope: {0}")]
    Envelope(&'static str),
    #[error("{element} has namespace {found:?}, expected {expected}")]
    Namespace {
        element: &'static str,
        found: String,
        expected: &'static str,
    },
    #[error("AppHdr/MsgDefIdr is {found:?} but the Document is {document}")]
    DefinitionMismatch {
        found: String,
        document: MessageKind,
    },
    #[error("message has {found} ds:Signature elements, expected exactly one")]
    SignatureCount { found: usize },
    #[error("ds:Signature is not in AppHdr/Sgntr")]
    SignaturePlacement,
    #[error("signature structure: {0}")]
    SignatureStructure(&'static str),
    #[error("CanonicalizationMethod is {found:?}, expected exclusive c14n without comments")]
    CanonicalizationMethod { found: String },
    #[error("SignatureMethod is {found:?}, expected RSA-SHA256")]
    SignatureMethod { found: String },
    #[error("SignedInfo has {found} references, expected exactly three")]
    ReferenceCount { found: usize },
    #[error("{0} appears twice")]
    DuplicateReference(ReferenceKind),
    #[error("{0} is missing")]
    MissingReference(ReferenceKind),
    #[error("reference URI {uri:?} is not part of the profile (external or unknown)")]
    ReferenceUri { uri: String },
    #[error("{reference}: transforms are not exactly the profile's")]
    Transforms { reference: ReferenceKind },
    #[error("{reference}: DigestMethod is {found:?}, expected SHA-256")]
    DigestMethod {
        reference: ReferenceKind,
        found: String,
    },
    #[error("{reference}: DigestValue is not a base64 SHA-256 digest")]
    DigestValue { reference: ReferenceKind },
    #[error("{reference}: digest does not match (the content changed after signing)")]
    DigestMismatch { reference: ReferenceKind },
    #[error("KeyInfo: {0}")]
    KeyInfo(&'static str),
    #[error("the KeyInfo Id {id:?} is carried by {count} elements")]
    DuplicateId { id: String, count: usize },
    #[error("the signing certificate is not registered for any counterparty")]
    UnregisteredSigner,
    #[error("SignatureValue does not verify with the registered key of {counterparty}")]
    SignatureValue { counterparty: String },
    #[error("canonicalization: {0}")]
    C14n(#[from] c14n::C14nError),
    #[error("Document: {0}")]
    Content(&'static str),
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RegistryError {
    #[error("certificate of {name} is not DER X.509")]
    Certificate { name: String },
}

struct Registered {
    name: String,
    certificate: Vec<u8>,
    public_key: Vec<u8>,
}

/// Counterparties and the one certificate each signs with (several entries per name during a
/// rotation overlap).
#[derive(Default)]
pub struct Registry {
    entries: Vec<Registered>,
}

impl Registry {
    pub fn new() -> Registry {
        Registry::default()
    }

    pub fn register(&mut self, name: &str, certificate_der: &[u8]) -> Result<(), RegistryError> {
        let public_key =
            certificate_public_key(certificate_der).ok_or_else(|| RegistryError::Certificate {
                name: name.to_owned(),
            })?;
        self.entries.push(Registered {
            name: name.to_owned(),
            certificate: certificate_der.to_vec(),
            public_key,
        });
        Ok(())
    }

    fn find(&self, certificate_der: &[u8]) -> Option<&Registered> {
        self.entries
            .iter()
            .find(|entry| entry.certificate == certificate_der)
    }
}

/// What a verified message says, read from the Document that was digested.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Payload {
    StatusReport {
        message_id: MessageId,
        statuses: Vec<TransactionStatus>,
    },
    CreditTransfers {
        message_id: MessageId,
        end_to_end_ids: Vec<String>,
        /// Each transaction's amount, in the order of `end_to_end_ids`.
        amounts: Vec<Money>,
        /// Each transaction's unstructured remittance (`RmtInf/Ustrd`), in the same order.
        remittances: Vec<Option<String>>,
    },
    Returns {
        message_id: MessageId,
        returns: Vec<PaymentReturn>,
    },
}

/// A message whose signature verified.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verified {
    pub counterparty: String,
    pub kind: MessageKind,
    /// `AppHdr/BizMsgIdr`.
    pub business_message_id: MessageId,
    /// `AppHdr/Fr` BIC, if the sender is identified by one.
    pub from_bic: Option<String>,
    pub payload: Payload,
}

/// Checks signed messages against the profile and the registry.
pub struct Verifier {
    registry: Registry,
    max_bytes: usize,
}

fn child_elements<'a, 'input>(node: Node<'a, 'input>) -> impl Iterator<Item = Node<'a, 'input>> {
    node.children().filter(|n| n.is_element())
}

fn has_only_whitespace_text(node: Node<'_, '_>) -> bool {
    node.children().filter(|n| n.is_text()).all(|n| {
        n.text()
            .unwrap_or("")
            .chars()
            .all(|c| c.is_ascii_whitespace())
    })
}

fn is_dsig(node: Node<'_, '_>, name: &str) -> bool {
    node.has_tag_name((NS_DSIG, name))
}

/// `Algorithm` of an element that must have no element children (no parameters).
fn algorithm<'a>(node: Node<'a, '_>) -> Option<&'a str> {
    if child_elements(node).next().is_some() || !has_only_whitespace_text(node) {
        return None;
    }
    node.attribute("Algorithm")
}

fn text_of<'a>(node: Node<'a, '_>, path: &[&str]) -> Option<&'a str> {
    let mut current = node;
    for name in path {
        current = child_elements(current).find(|n| n.tag_name().name() == *name)?;
    }
    current.text()
}

fn decode_base64(text: &str) -> Option<Vec<u8>> {
    let compact: String = text.chars().filter(|c| !c.is_ascii_whitespace()).collect();
    BASE64.decode(compact).ok()
}

struct Reference {
    kind: ReferenceKind,
    digest: Vec<u8>,
}

impl Verifier {
    pub fn new(registry: Registry) -> Verifier {
        Verifier {
            registry,
            max_bytes: DEFAULT_MAX_BYTES,
        }
    }

    pub fn with_max_bytes(mut self, max_bytes: usize) -> Verifier {
        self.max_bytes = max_bytes;
        self
    }

    pub fn verify(&self, bytes: &[u8]) -> Result<Verified, VerifyError> {
        if bytes.len() > self.max_bytes {
            return Err(VerifyError::TooLarge {
                size: bytes.len(),
                limit: self.max_bytes,
            });
        }
        let xml = std::str::from_utf8(bytes).map_err(|_| VerifyError::NotUtf8)?;
        if xml.contains("<!DOCTYPE") || xml.contains("<!ENTITY") {
            return Err(VerifyError::Dtd);
        }
        let options = roxmltree::ParsingOptions {
            allow_dtd: false,
            nodes_limit: NODES_LIMIT,
            entity_resolver: None,
        };
        let doc = roxmltree::Document::parse_with_options(xml, options).map_err(|e| match e {
            roxmltree::Error::DtdDetected => VerifyError::Dtd,
            other => VerifyError::Malformed(other.to_string()),
        })?;
        if doc
            .descendants()
            .any(|n| matches!(n.node_type(), NodeType::Comment | NodeType::PI))
        {
            return Err(VerifyError::CommentOrProcessingInstruction);
        }

        // 2. The envelope.
        let root = doc.root_element();
        if root.tag_name().name() != "Envelope" {
            return Err(VerifyError::Envelope("the root element is not Envelope"));
        }
        if !has_only_whitespace_text(root) {
            return Err(VerifyError::Envelope("text outside AppHdr and Document"));
        }
        let children: Vec<_> = child_elements(root).collect();
        let [app_hdr, document] = children.as_slice() else {
            return Err(VerifyError::Envelope(
                "must hold exactly an AppHdr followed by a Document",
            ));
        };
        let (app_hdr, document) = (*app_hdr, *document);
        if app_hdr.tag_name().name() != "AppHdr" || document.tag_name().name() != "Document" {
            return Err(VerifyError::Envelope(
                "must hold exactly an AppHdr followed by a Document",
            ));
        }
        if app_hdr.tag_name().namespace() != Some(NS_HEAD) {
            return Err(VerifyError::Namespace {
                element: "AppHdr",
                found: app_hdr.tag_name().namespace().unwrap_or("").to_owned(),
                expected: NS_HEAD,
            });
        }
        let document_namespace = document.tag_name().namespace().unwrap_or("");
        let kind = MessageKind::from_namespace(document_namespace).ok_or_else(|| {
            VerifyError::Namespace {
                element: "Document",
                found: document_namespace.to_owned(),
                expected: "pacs.002.001.10, pacs.004.001.09, pacs.008.001.08 or pain.001.001.09",
            }
        })?;
        let definition = text_of(app_hdr, &["MsgDefIdr"]).unwrap_or("");
        if definition != kind.definition() {
            return Err(VerifyError::DefinitionMismatch {
                found: definition.to_owned(),
                document: kind,
            });
        }

        // 3. One signature, in AppHdr/Sgntr.
        let signatures: Vec<_> = doc
            .descendants()
            .filter(|n| is_dsig(*n, "Signature"))
            .collect();
        let [signature] = signatures.as_slice() else {
            return Err(VerifyError::SignatureCount {
                found: signatures.len(),
            });
        };
        let signature = *signature;
        let placed = signature.parent_element().is_some_and(|sgntr| {
            sgntr.has_tag_name((NS_HEAD, "Sgntr")) && sgntr.parent_element() == Some(app_hdr)
        });
        if !placed {
            return Err(VerifyError::SignaturePlacement);
        }
        let sgntr = signature
            .parent_element()
            .ok_or(VerifyError::SignaturePlacement)?;
        if child_elements(sgntr).count() != 1 || !has_only_whitespace_text(sgntr) {
            return Err(VerifyError::SignatureStructure(
                "Sgntr must hold the ds:Signature and nothing else",
            ));
        }
        let parts: Vec<_> = child_elements(signature).collect();
        let [signed_info, signature_value, key_info] = parts.as_slice() else {
            return Err(VerifyError::SignatureStructure(
                "ds:Signature must hold SignedInfo, SignatureValue and KeyInfo, nothing else",
            ));
        };
        let (signed_info, signature_value, key_info) = (*signed_info, *signature_value, *key_info);
        if !is_dsig(signed_info, "SignedInfo")
            || !is_dsig(signature_value, "SignatureValue")
            || !is_dsig(key_info, "KeyInfo")
            || !has_only_whitespace_text(signature)
        {
            return Err(VerifyError::SignatureStructure(
                "ds:Signature must hold SignedInfo, SignatureValue and KeyInfo, nothing else",
            ));
        }

        // 4. SignedInfo.
        let info: Vec<_> = child_elements(signed_info).collect();
        let (Some(c14n_method), Some(signature_method)) = (info.first(), info.get(1)) else {
            return Err(VerifyError::SignatureStructure(
                "SignedInfo must start with CanonicalizationMethod and SignatureMethod",
            ));
        };
        if !is_dsig(*c14n_method, "CanonicalizationMethod")
            || !is_dsig(*signature_method, "SignatureMethod")
        {
            return Err(VerifyError::SignatureStructure(
                "SignedInfo must start with CanonicalizationMethod and SignatureMethod",
            ));
        }
        match algorithm(*c14n_method) {
            Some(ALG_EXC_C14N) => {}
            other => {
                return Err(VerifyError::CanonicalizationMethod {
                    found: other.unwrap_or("(with parameters)").to_owned(),
                });
            }
        }
        match algorithm(*signature_method) {
            Some(ALG_RSA_SHA256) => {}
            other => {
                return Err(VerifyError::SignatureMethod {
                    found: other.unwrap_or("(with parameters)").to_owned(),
                });
            }
        }
        let reference_nodes = info.get(2..).unwrap_or_default();
        if reference_nodes.iter().any(|n| !is_dsig(*n, "Reference")) {
            return Err(VerifyError::SignatureStructure(
                "SignedInfo may hold only references after SignatureMethod",
            ));
        }
        if reference_nodes.len() != 3 {
            return Err(VerifyError::ReferenceCount {
                found: reference_nodes.len(),
            });
        }
        let key_info_id = key_info
            .attribute("Id")
            .ok_or(VerifyError::KeyInfo("KeyInfo has no Id"))?;
        let mut references: Vec<Reference> = Vec::with_capacity(3);
        for node in reference_nodes {
            let reference = self.reference(*node, key_info_id)?;
            if references.iter().any(|r| r.kind == reference.kind) {
                return Err(VerifyError::DuplicateReference(reference.kind));
            }
            references.push(reference);
        }
        for kind in [
            ReferenceKind::AppHdr,
            ReferenceKind::KeyInfo,
            ReferenceKind::Document,
        ] {
            if !references.iter().any(|r| r.kind == kind) {
                return Err(VerifyError::MissingReference(kind));
            }
        }
        let id_count = doc
            .descendants()
            .filter(|n| {
                n.attributes()
                    .any(|a| a.name() == "Id" && a.value() == key_info_id)
            })
            .count();
        if id_count != 1 {
            return Err(VerifyError::DuplicateId {
                id: key_info_id.to_owned(),
                count: id_count,
            });
        }

        // 5. The signer.
        let data: Vec<_> = child_elements(key_info).collect();
        let [x509_data] = data.as_slice() else {
            return Err(VerifyError::KeyInfo("must hold exactly one X509Data"));
        };
        let certificates: Vec<_> = child_elements(*x509_data).collect();
        let [certificate] = certificates.as_slice() else {
            return Err(VerifyError::KeyInfo(
                "X509Data must hold exactly one X509Certificate",
            ));
        };
        if !is_dsig(*x509_data, "X509Data") || !is_dsig(*certificate, "X509Certificate") {
            return Err(VerifyError::KeyInfo(
                "X509Data must hold exactly one X509Certificate",
            ));
        }
        let certificate_der = decode_base64(certificate.text().unwrap_or(""))
            .ok_or(VerifyError::KeyInfo("X509Certificate is not base64"))?;
        let signer = self
            .registry
            .find(&certificate_der)
            .ok_or(VerifyError::UnregisteredSigner)?;

        // 6. Digests over this parse's nodes, then the signature value.
        for reference in &references {
            let canonical = match reference.kind {
                ReferenceKind::AppHdr => c14n::exclusive(xml, app_hdr, Some(signature.id()))?,
                ReferenceKind::KeyInfo => c14n::exclusive(xml, key_info, None)?,
                ReferenceKind::Document => c14n::exclusive(xml, document, None)?,
            };
            let expected = BASE64.encode(&reference.digest);
            if sha256_base64(&canonical) != expected {
                return Err(VerifyError::DigestMismatch {
                    reference: reference.kind,
                });
            }
        }
        let value = decode_base64(signature_value.text().unwrap_or(""))
            .filter(|_| child_elements(signature_value).next().is_none())
            .ok_or(VerifyError::SignatureStructure(
                "SignatureValue is not base64",
            ))?;
        let canonical_signed_info = c14n::exclusive(xml, signed_info, None)?;
        UnparsedPublicKey::new(&RSA_PKCS1_2048_8192_SHA256, &signer.public_key)
            .verify(&canonical_signed_info, &value)
            .map_err(|_| VerifyError::SignatureValue {
                counterparty: signer.name.clone(),
            })?;

        // What the message says, from the Document that was digested.
        let business_message_id = text_of(app_hdr, &["BizMsgIdr"])
            .and_then(MessageId::parse)
            .ok_or(VerifyError::Content(
                "AppHdr/BizMsgIdr is missing or invalid",
            ))?;
        let from_bic = text_of(app_hdr, &["Fr", "FIId", "FinInstnId", "BICFI"]).map(str::to_owned);
        let payload = read_payload(kind, document)?;
        Ok(Verified {
            counterparty: signer.name.clone(),
            kind,
            business_message_id,
            from_bic,
            payload,
        })
    }

    fn reference(&self, node: Node<'_, '_>, key_info_id: &str) -> Result<Reference, VerifyError> {
        let kind = match node.attribute("URI") {
            None => ReferenceKind::Document,
            Some("") => ReferenceKind::AppHdr,
            Some(uri) if uri.strip_prefix('#') == Some(key_info_id) => ReferenceKind::KeyInfo,
            Some(uri) => {
                return Err(VerifyError::ReferenceUri {
                    uri: uri.chars().take(80).collect(),
                });
            }
        };
        let parts: Vec<_> = child_elements(node).collect();
        let [transforms, digest_method, digest_value] = parts.as_slice() else {
            return Err(VerifyError::Transforms { reference: kind });
        };
        if !is_dsig(*transforms, "Transforms")
            || !is_dsig(*digest_method, "DigestMethod")
            || !is_dsig(*digest_value, "DigestValue")
        {
            return Err(VerifyError::Transforms { reference: kind });
        }
        let algorithms: Vec<Option<&str>> = child_elements(*transforms)
            .map(|t| {
                if is_dsig(t, "Transform") {
                    algorithm(t)
                } else {
                    None
                }
            })
            .collect();
        let expected: &[Option<&str>] = match kind {
            ReferenceKind::AppHdr => &[Some(ALG_ENVELOPED), Some(ALG_EXC_C14N)],
            ReferenceKind::KeyInfo | ReferenceKind::Document => &[Some(ALG_EXC_C14N)],
        };
        if algorithms.as_slice() != expected {
            return Err(VerifyError::Transforms { reference: kind });
        }
        match algorithm(*digest_method) {
            Some(ALG_SHA256) => {}
            other => {
                return Err(VerifyError::DigestMethod {
                    reference: kind,
                    found: other.unwrap_or("(with parameters)").to_owned(),
                });
            }
        }
        let digest = decode_base64(digest_value.text().unwrap_or(""))
            .filter(|d| d.len() == 32)
            .ok_or(VerifyError::DigestValue { reference: kind })?;
        Ok(Reference { kind, digest })
    }
}

/// The transaction a status or a return is about: `OrgnlGrpInf/OrgnlMsgId`, `OrgnlMsgNmId`
/// (a message we send) and `OrgnlEndToEndId`.
fn original_transaction(tx: Node<'_, '_>) -> Result<(MessageId, MessageKind, String), VerifyError> {
    let original_message_id = text_of(tx, &["OrgnlGrpInf", "OrgnlMsgId"])
        .and_then(MessageId::parse)
        .ok_or(VerifyError::Content("OrgnlGrpInf/OrgnlMsgId is missing"))?;
    let original_kind = text_of(tx, &["OrgnlGrpInf", "OrgnlMsgNmId"])
        .and_then(|d| {
            [MessageKind::Pacs008, MessageKind::Pain001]
                .into_iter()
                .find(|k| k.definition() == d)
        })
        .ok_or(VerifyError::Content(
            "OrgnlGrpInf/OrgnlMsgNmId is not a message we send",
        ))?;
    let original_end_to_end_id = text_of(tx, &["OrgnlEndToEndId"])
        .ok_or(VerifyError::Content("OrgnlEndToEndId is missing"))?
        .to_owned();
    Ok((original_message_id, original_kind, original_end_to_end_id))
}

/// An amount element: its text in its `Ccy`.
fn amount_of(node: Node<'_, '_>) -> Option<Money> {
    let currency = Currency::parse(node.attribute("Ccy")?).ok()?;
    Money::parse(node.text()?, currency).ok()
}

fn read_payload(kind: MessageKind, document: Node<'_, '_>) -> Result<Payload, VerifyError> {
    let namespace = document.tag_name().namespace().unwrap_or("");
    let named = |node: Node<'_, '_>, name: &str| node.has_tag_name((namespace, name));
    let body = child_elements(document)
        .next()
        .ok_or(VerifyError::Content("Document is empty"))?;
    let group_header = child_elements(body)
        .find(|n| named(*n, "GrpHdr"))
        .ok_or(VerifyError::Content("GrpHdr is missing"))?;
    let message_id = text_of(group_header, &["MsgId"])
        .and_then(MessageId::parse)
        .ok_or(VerifyError::Content("GrpHdr/MsgId is missing or invalid"))?;
    match kind {
        MessageKind::Pacs002 => {
            if !named(body, "FIToFIPmtStsRpt") {
                return Err(VerifyError::Content("expected FIToFIPmtStsRpt"));
            }
            let mut statuses = Vec::new();
            for tx in child_elements(body).filter(|n| named(*n, "TxInfAndSts")) {
                let (original_message_id, original_kind, original_end_to_end_id) =
                    original_transaction(tx)?;
                let status = text_of(tx, &["TxSts"])
                    .filter(|s| (1..=4).contains(&s.len()))
                    .ok_or(VerifyError::Content("TxInfAndSts/TxSts is missing"))?
                    .to_owned();
                let reason = text_of(tx, &["StsRsnInf", "Rsn", "Cd"]).map(str::to_owned);
                statuses.push(TransactionStatus {
                    original_message_id,
                    original_kind,
                    original_end_to_end_id,
                    status,
                    reason,
                });
            }
            if statuses.is_empty() {
                return Err(VerifyError::Content("status report has no TxInfAndSts"));
            }
            Ok(Payload::StatusReport {
                message_id,
                statuses,
            })
        }
        MessageKind::Pacs004 => {
            if !named(body, "PmtRtr") {
                return Err(VerifyError::Content("expected PmtRtr"));
            }
            let mut returns = Vec::new();
            for tx in child_elements(body).filter(|n| named(*n, "TxInf")) {
                let (original_message_id, original_kind, original_end_to_end_id) =
                    original_transaction(tx)?;
                let amount = child_elements(tx)
                    .find(|n| named(*n, "RtrdIntrBkSttlmAmt"))
                    .and_then(amount_of)
                    .filter(Money::is_positive)
                    .ok_or(VerifyError::Content(
                        "TxInf/RtrdIntrBkSttlmAmt is missing or invalid",
                    ))?;
                let reason = text_of(tx, &["RtrRsnInf", "Rsn", "Cd"])
                    .filter(|s| (1..=4).contains(&s.len()))
                    .ok_or(VerifyError::Content("TxInf/RtrRsnInf/Rsn/Cd is missing"))?
                    .to_owned();
                returns.push(PaymentReturn {
                    original_message_id,
                    original_kind,
                    original_end_to_end_id,
                    amount,
                    reason,
                });
            }
            if returns.is_empty() {
                return Err(VerifyError::Content("payment return has no TxInf"));
            }
            Ok(Payload::Returns {
                message_id,
                returns,
            })
        }
        MessageKind::Pacs008 | MessageKind::Pain001 => {
            let mut end_to_end_ids = Vec::new();
            let mut amounts = Vec::new();
            let mut remittances = Vec::new();
            for tx in body.descendants().filter(|n| named(*n, "CdtTrfTxInf")) {
                remittances.push(text_of(tx, &["RmtInf", "Ustrd"]).map(str::to_owned));
                end_to_end_ids.push(
                    text_of(tx, &["PmtId", "EndToEndId"])
                        .ok_or(VerifyError::Content(
                            "CdtTrfTxInf/PmtId/EndToEndId is missing",
                        ))?
                        .to_owned(),
                );
                let amount = tx
                    .descendants()
                    .find(|n| named(*n, "IntrBkSttlmAmt") || named(*n, "InstdAmt"))
                    .and_then(amount_of)
                    .ok_or(VerifyError::Content("CdtTrfTxInf has no valid amount"))?;
                amounts.push(amount);
            }
            Ok(Payload::CreditTransfers {
                message_id,
                end_to_end_ids,
                amounts,
                remittances,
            })
        }
    }
}
