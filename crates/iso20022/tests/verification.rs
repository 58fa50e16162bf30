//! Signing and verification through the public API: round trips for every message kind, and
//! each hostile or damaged input refused with the reason that names the failed check.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use benteng_iso20022::{
    MessageError, MessageKind, Payload, ReferenceKind, StatusOutcome, VerifyError, pacs008,
};
use common::*;

fn verify(xml: &str) -> Result<benteng_iso20022::Verified, VerifyError> {
    verifier().verify(xml.as_bytes())
}

/// Replaces exactly one occurrence, so a test cannot pass by editing nothing.
fn edit(xml: &str, from: &str, to: &str) -> String {
    assert_eq!(xml.matches(from).count(), 1, "{from:?} must occur once");
    xml.replacen(from, to, 1)
}

fn between<'a>(xml: &'a str, start: &str, end: &str) -> &'a str {
    let from = xml.find(start).unwrap();
    let after = from + start.len();
    let to = after + xml[after..].find(end).unwrap() + end.len();
    &xml[from..to]
}

#[test]
fn signed_messages_verify_and_say_what_they_carry() {
    let pacs008 = signed_pacs008();
    let verified = verifier().verify(pacs008.as_bytes()).unwrap();
    assert_eq!(verified.kind, MessageKind::Pacs008);
    assert_eq!(verified.counterparty, "benteng platform");
    assert_eq!(&verified.business_message_id, pacs008.message_id());
    assert_eq!(verified.from_bic.as_deref(), Some("BNTGNL2AXXX"));
    let Payload::CreditTransfers { end_to_end_ids, .. } = verified.payload else {
        panic!("pacs.008 payload");
    };
    assert_eq!(end_to_end_ids.len(), 1);

    let pain001 = signed_pain001();
    let verified = verifier().verify(pain001.as_bytes()).unwrap();
    assert_eq!(verified.kind, MessageKind::Pain001);
    let Payload::CreditTransfers {
        end_to_end_ids,
        remittances,
        ..
    } = verified.payload
    else {
        panic!("pain.001 payload");
    };
    assert_eq!(end_to_end_ids.len(), 3);
    assert_eq!(
        remittances,
        vec![Some("Invoice 2026/117 - December".to_owned()); 3],
        "each transaction's remittance, transliterated"
    );

    let report = signed_pacs002(bank_identity(), "RJCT", Some("AC04"));
    let verified = verifier().verify(report.as_bytes()).unwrap();
    assert_eq!(verified.counterparty, "partner bank");
    let Payload::StatusReport { statuses, .. } = verified.payload else {
        panic!("pacs.002 payload");
    };
    assert_eq!(statuses[0].status, "RJCT");
    assert_eq!(statuses[0].reason.as_deref(), Some("AC04"));
    assert_eq!(statuses[0].outcome(), StatusOutcome::Rejected);
}

#[test]
fn the_signature_sits_in_apphdr_sgntr_and_nothing_else_moved() {
    let unsigned = pacs008(&platform(), &header(), &transfer("1.00", "EUR")).unwrap();
    let signed = platform_identity().signer().sign(&unsigned).unwrap();
    let signed = text(&signed);
    let signature = between(&signed, "<ds:Signature", "</ds:Signature>");
    // Taking the signature out gives back the rendered bytes exactly.
    assert_eq!(signed.replacen(signature, "", 1), unsigned.as_str());
    assert!(
        signed.contains("<Sgntr><ds:Signature xmlns:ds=\"http://www.w3.org/2000/09/xmldsig#\">")
    );
}

#[test]
fn one_byte_changed_in_the_document_fails_its_reference() {
    let xml = text(&signed_pacs008());
    let changed = edit(
        &xml,
        "<InstdAmt Ccy=\"EUR\">1250.00<",
        "<InstdAmt Ccy=\"EUR\">1250.01<",
    );
    assert_eq!(
        verify(&changed).unwrap_err(),
        VerifyError::DigestMismatch {
            reference: ReferenceKind::Document
        }
    );
}

#[test]
fn a_changed_header_fails_the_apphdr_reference() {
    let xml = text(&signed_pacs008());
    let changed = edit(
        &xml,
        "<CreDt>2026-12-07T10:15:30+00:00",
        "<CreDt>2026-12-07T10:15:31+00:00",
    );
    let err = verify(&changed).unwrap_err();
    assert_eq!(
        err,
        VerifyError::DigestMismatch {
            reference: ReferenceKind::AppHdr
        }
    );
    assert_eq!(
        err.to_string(),
        "AppHdr reference (URI=\"\"): digest does not match (the content changed after signing)"
    );
}

#[test]
fn whitespace_changed_after_signing_is_refused() {
    let xml = text(&signed_pacs008());
    // Re-indenting the Document (a pretty-printer's doing).
    let changed = edit(
        &xml,
        "\n    <FIToFICstmrCdtTrf>",
        "\n      <FIToFICstmrCdtTrf>",
    );
    assert_eq!(
        verify(&changed).unwrap_err(),
        VerifyError::DigestMismatch {
            reference: ReferenceKind::Document
        }
    );
    // Whitespace added inside Sgntr around the signature.
    let changed = edit(&xml, "<Sgntr><ds:Signature", "<Sgntr>\n  <ds:Signature");
    assert_eq!(
        verify(&changed).unwrap_err(),
        VerifyError::DigestMismatch {
            reference: ReferenceKind::AppHdr
        }
    );
}

#[test]
fn comments_inserted_anywhere_are_refused() {
    let xml = text(&signed_pacs008());
    for changed in [
        edit(
            &xml,
            "<ChrgBr>SHAR</ChrgBr>",
            "<ChrgBr>SH<!-- x -->AR</ChrgBr>",
        ),
        edit(&xml, "<Envelope", "<!-- note --><Envelope"),
        edit(&xml, "</ds:SignedInfo>", "<!-- c --></ds:SignedInfo>"),
        edit(
            &xml,
            "<ChrgBr>SHAR</ChrgBr>",
            "<?pi data?><ChrgBr>SHAR</ChrgBr>",
        ),
    ] {
        assert_eq!(
            verify(&changed).unwrap_err(),
            VerifyError::CommentOrProcessingInstruction
        );
    }
}

#[test]
fn dtds_and_entities_are_refused_before_anything_is_expanded() {
    let xml = text(&signed_pacs002(bank_identity(), "ACSC", None));
    let body = xml.split_once("?>\n").unwrap().1;
    let xxe = format!(
        "<?xml version=\"1.0\"?>\n<!DOCTYPE Envelope [<!ENTITY xxe SYSTEM \"file:///etc/passwd\">]>\n{}",
        edit(body, "<TxSts>ACSC</TxSts>", "<TxSts>&xxe;</TxSts>")
    );
    assert_eq!(verify(&xxe).unwrap_err(), VerifyError::Dtd);
    let laughs = format!(
        "<?xml version=\"1.0\"?>\n<!DOCTYPE lolz [<!ENTITY lol \"lol\"><!ENTITY lol1 \"&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;\"><!ENTITY lol2 \"&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;\">]>\n{}",
        edit(body, "<TxSts>ACSC</TxSts>", "<TxSts>&lol2;</TxSts>")
    );
    assert_eq!(verify(&laughs).unwrap_err(), VerifyError::Dtd);
    // An undeclared entity is a well-formedness error, not an expansion.
    let undeclared = edit(&xml, "<TxSts>ACSC</TxSts>", "<TxSts>&xxe;</TxSts>");
    assert!(matches!(
        verify(&undeclared).unwrap_err(),
        VerifyError::Malformed(_)
    ));
}

#[test]
fn a_50_mb_file_is_refused_by_size() {
    let mut big = text(&signed_pacs002(bank_identity(), "ACSC", None)).into_bytes();
    big.resize(50 * 1024 * 1024, b' ');
    assert_eq!(
        verifier().verify(&big).unwrap_err(),
        VerifyError::TooLarge {
            size: 50 * 1024 * 1024,
            limit: benteng_iso20022::verify::DEFAULT_MAX_BYTES
        }
    );
    assert_eq!(
        verifier().verify(b"\xff\xfe<Envelope/>").unwrap_err(),
        VerifyError::NotUtf8
    );
}

#[test]
fn wrong_namespace_or_version_is_refused() {
    let xml = text(&signed_pacs002(bank_identity(), "ACSC", None));
    let changed = edit(
        &xml,
        "tech:xsd:pacs.002.001.10\"",
        "tech:xsd:pacs.002.001.12\"",
    );
    assert!(matches!(
        verify(&changed).unwrap_err(),
        VerifyError::Namespace {
            element: "Document",
            ..
        }
    ));
    let changed = edit(
        &xml,
        "tech:xsd:head.001.001.02\"",
        "tech:xsd:head.001.001.03\"",
    );
    assert!(matches!(
        verify(&changed).unwrap_err(),
        VerifyError::Namespace {
            element: "AppHdr",
            ..
        }
    ));
    let changed = edit(
        &xml,
        "<MsgDefIdr>pacs.002.001.10<",
        "<MsgDefIdr>pacs.008.001.08<",
    );
    assert!(matches!(
        verify(&changed).unwrap_err(),
        VerifyError::DefinitionMismatch { .. }
    ));
}

#[test]
fn signature_wrapping_is_closed() {
    let xml = text(&signed_pacs008());
    let document = between(&xml, "<Document", "</Document>");
    let forged = document.replace("1250.00", "9999.00");

    // A forged Document in place, the signed one kept beside it.
    let wrapped = edit(&xml, document, &format!("{forged}\n  {document}"));
    assert!(matches!(
        verify(&wrapped).unwrap_err(),
        VerifyError::Envelope(_)
    ));

    // The signed one hidden in a ds:Object inside the signature.
    let hidden = edit(&xml, document, &forged).replacen(
        "</ds:KeyInfo>",
        &format!("</ds:KeyInfo><ds:Object>{document}</ds:Object>"),
        1,
    );
    assert!(matches!(
        verify(&hidden).unwrap_err(),
        VerifyError::SignatureStructure(_)
    ));

    // The signed one inside an extra envelope element.
    let nested = edit(
        &xml,
        document,
        &format!("<Wrapper>{document}</Wrapper>{forged}"),
    );
    assert!(matches!(
        verify(&nested).unwrap_err(),
        VerifyError::Envelope(_)
    ));

    // A second signature, inside the Document.
    let signature = between(&xml, "<ds:Signature", "</ds:Signature>");
    let doubled = edit(
        &xml,
        "</FIToFICstmrCdtTrf>",
        &format!("{signature}</FIToFICstmrCdtTrf>"),
    );
    assert_eq!(
        verify(&doubled).unwrap_err(),
        VerifyError::SignatureCount { found: 2 }
    );

    // Another element claiming the KeyInfo's Id.
    let id = between(&xml, "Id=\"KeyInfo-", "\"");
    let duplicated = edit(&xml, "<ChrgBr>", &format!("<ChrgBr {id}>"));
    assert!(matches!(
        verify(&duplicated).unwrap_err(),
        VerifyError::DuplicateId { count: 2, .. }
    ));
}

#[test]
fn a_valid_signature_from_an_unregistered_certificate_is_refused() {
    let report = signed_pacs002(stranger_identity(), "ACSC", None);
    assert_eq!(
        verifier().verify(report.as_bytes()).unwrap_err(),
        VerifyError::UnregisteredSigner
    );
    // Swapping in the registered certificate breaks the KeyInfo reference.
    let xml = text(&report);
    let stranger = between(&xml, "<ds:X509Certificate>", "</ds:X509Certificate>");
    let bank = common::text(&signed_pacs002(bank_identity(), "ACSC", None));
    let registered = between(&bank, "<ds:X509Certificate>", "</ds:X509Certificate>");
    let swapped = edit(&xml, stranger, registered);
    assert_eq!(
        verify(&swapped).unwrap_err(),
        VerifyError::DigestMismatch {
            reference: ReferenceKind::KeyInfo
        }
    );
}

#[test]
fn moved_duplicated_or_extra_references_are_refused() {
    let xml = text(&signed_pacs008());
    let app = between(&xml, "<ds:Reference URI=\"\">", "</ds:Reference>");
    let key = between(&xml, "<ds:Reference URI=\"#", "</ds:Reference>");
    let doc = between(&xml, "<ds:Reference>", "</ds:Reference>");

    // Swapping two references changes SignedInfo: the signature value fails.
    let swapped = edit(&xml, &format!("{app}{key}"), &format!("{key}{app}"));
    assert_eq!(
        verify(&swapped).unwrap_err(),
        VerifyError::SignatureValue {
            counterparty: "benteng platform".into()
        }
    );
    // The AppHdr reference twice, the Document one gone.
    let duplicated = edit(&xml, doc, app);
    assert_eq!(
        verify(&duplicated).unwrap_err(),
        VerifyError::DuplicateReference(ReferenceKind::AppHdr)
    );
    // The Document reference moved out of SignedInfo into an Object.
    let moved = edit(&xml, doc, "").replacen(
        "</ds:KeyInfo>",
        &format!("</ds:KeyInfo><ds:Object>{doc}</ds:Object>"),
        1,
    );
    assert!(matches!(
        verify(&moved).unwrap_err(),
        VerifyError::ReferenceCount { found: 2 } | VerifyError::SignatureStructure(_)
    ));
    let moved = edit(&xml, doc, "");
    assert_eq!(
        verify(&moved).unwrap_err(),
        VerifyError::ReferenceCount { found: 2 }
    );
    // A fourth reference.
    let extra = edit(&xml, doc, &format!("{doc}{doc}"));
    assert_eq!(
        verify(&extra).unwrap_err(),
        VerifyError::ReferenceCount { found: 4 }
    );
}

#[test]
fn external_references_and_other_algorithms_are_refused() {
    let xml = text(&signed_pacs008());
    let uri = between(&xml, "URI=\"#", "\"");
    let external = edit(&xml, uri, "URI=\"http://attacker.example/doc.xml\"");
    assert_eq!(
        verify(&external).unwrap_err(),
        VerifyError::ReferenceUri {
            uri: "http://attacker.example/doc.xml".into()
        }
    );
    let sha1 = edit(&xml, "xmldsig-more#rsa-sha256", "xmldsig-more#rsa-sha1");
    assert!(matches!(
        verify(&sha1).unwrap_err(),
        VerifyError::SignatureMethod { .. }
    ));
    let inclusive = edit(
        &xml,
        "<ds:CanonicalizationMethod Algorithm=\"http://www.w3.org/2001/10/xml-exc-c14n#\">",
        "<ds:CanonicalizationMethod Algorithm=\"http://www.w3.org/TR/2001/REC-xml-c14n-20010315\">",
    );
    assert!(matches!(
        verify(&inclusive).unwrap_err(),
        VerifyError::CanonicalizationMethod { .. }
    ));
    let app = between(&xml, "<ds:Reference URI=\"\">", "</ds:Reference>");
    let weak = edit(
        &xml,
        app,
        &app.replace("2001/04/xmlenc#sha256", "2000/09/xmldsig#sha1"),
    );
    assert_eq!(
        verify(&weak).unwrap_err(),
        VerifyError::DigestMethod {
            reference: ReferenceKind::AppHdr,
            found: "http://www.w3.org/2000/09/xmldsig#sha1".into()
        }
    );
    let no_enveloped = edit(
        &xml,
        "<ds:Transform Algorithm=\"http://www.w3.org/2000/09/xmldsig#enveloped-signature\"></ds:Transform>",
        "",
    );
    assert_eq!(
        verify(&no_enveloped).unwrap_err(),
        VerifyError::Transforms {
            reference: ReferenceKind::AppHdr
        }
    );
}

#[test]
fn text_outside_the_sepa_set_is_transliterated_or_refused_by_name() {
    let unsigned = pacs008(&platform(), &header(), &transfer("5.00", "EUR")).unwrap();
    assert!(unsigned.as_str().contains("<Nm>Muller + Sohne GmbH</Nm>"));
    assert!(unsigned.as_str().contains("<TwnNm>Dusseldorf</TwnNm>"));
    assert!(
        unsigned
            .as_str()
            .contains("<Ustrd>Invoice 2026/117 - December</Ustrd>")
    );

    let mut refused = transfer("5.00", "EUR");
    refused.creditor.name = "王小明".into();
    let err = pacs008(&platform(), &header(), &refused).unwrap_err();
    assert_eq!(
        err.to_string(),
        "creditor name: character U+738B (position 1) is outside the SEPA Latin set and has no transliteration"
    );
    let err = pacs008(&platform(), &header(), &transfer("5.00", "USD")).unwrap_err();
    assert!(matches!(err, MessageError::Currency { .. }));
    let err = benteng_iso20022::pain001(
        &platform(),
        &header(),
        &[transfer("5.00", "EUR"), transfer("5.00", "GBP")],
    )
    .unwrap_err();
    assert!(matches!(
        err,
        MessageError::MixedCurrencies { index: 1, .. }
    ));
}

#[test]
fn signing_keys_under_3072_bits_or_with_a_foreign_certificate_are_refused() {
    let key = rcgen::KeyPair::generate_rsa_for(&rcgen::PKCS_RSA_SHA256, rcgen::RsaKeySize::_2048)
        .unwrap();
    let cert = rcgen::CertificateParams::new(Vec::<String>::new())
        .unwrap()
        .self_signed(&key)
        .unwrap();
    assert_eq!(
        benteng_iso20022::Signer::new(&key.serialize_der(), cert.der()).unwrap_err(),
        benteng_iso20022::KeyError::TooShort { bits: 2048 }
    );
    assert_eq!(
        benteng_iso20022::Signer::new(&platform_identity().pkcs8_der, &bank_identity().cert_der)
            .unwrap_err(),
        benteng_iso20022::KeyError::CertificateMismatch
    );
}

#[test]
fn a_signed_payment_return_verifies_and_says_what_comes_back() {
    use benteng_core::currency::Currency;
    use benteng_core::money::Money;
    use benteng_iso20022::{MessageId, PaymentReturn, pacs004};
    let returned = PaymentReturn {
        original_message_id: MessageId::parse("B0123456789abcdef0123456789abcdef").unwrap(),
        original_kind: MessageKind::Pacs008,
        original_end_to_end_id: "0123456789abcdef0123456789abcdef".into(),
        amount: Money::parse("99.50", Currency::EUR).unwrap(),
        reason: "MD07".into(),
    };
    let unsigned = pacs004(&partner_bic(), &header(), std::slice::from_ref(&returned)).unwrap();
    let signed = text(&bank_identity().signer().sign(&unsigned).unwrap());
    assert!(signed.contains("<RtrdIntrBkSttlmAmt Ccy=\"EUR\">99.50</RtrdIntrBkSttlmAmt>"));
    let verified = verify(&signed).unwrap();
    assert_eq!(verified.kind, MessageKind::Pacs004);
    assert_eq!(verified.counterparty, "partner bank");
    let Payload::Returns { returns, .. } = verified.payload else {
        panic!("pacs.004 payload");
    };
    assert_eq!(returns, [returned]);

    // The amount is covered by the Document digest like everything else.
    let tampered = edit(&signed, ">99.50<", ">995.00<");
    assert_eq!(
        verify(&tampered).unwrap_err(),
        VerifyError::DigestMismatch {
            reference: ReferenceKind::Document
        }
    );
}
