//! Fixtures shared by the crate's integration tests: keys and certificates (generated once per
//! test binary), a platform identity, transfers, and helpers to run the outside verifiers.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::OnceLock;

use benteng_core::country::CountryCode;
use benteng_core::currency::Currency;
use benteng_core::iban::Iban;
use benteng_core::ids::TransferId;
use benteng_core::money::Money;
use benteng_core::text::Bic;
use benteng_iso20022::{
    CreditTransfer, Creditor, Header, MessageId, MessageKind, Platform, PostalAddress, Registry,
    SignedMessage, Signer, TransactionStatus, Verifier, pacs002, pacs008, pain001,
};
use rcgen::{CertificateParams, KeyPair, PKCS_RSA_SHA256, RsaKeySize};
use time::macros::{date, datetime};

/// An RSA key and its self-signed certificate, in the forms the tools want.
pub struct Identity {
    pub pkcs8_der: Vec<u8>,
    pub key_pem: String,
    pub cert_der: Vec<u8>,
    pub cert_pem: String,
}

impl Identity {
    fn generate(common_name: &str, size: RsaKeySize) -> Identity {
        let key = KeyPair::generate_rsa_for(&PKCS_RSA_SHA256, size).unwrap();
        let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
        params
            .distinguished_name
            .push(rcgen::DnType::CommonName, common_name);
        let cert = params.self_signed(&key).unwrap();
        Identity {
            pkcs8_der: key.serialize_der(),
            key_pem: key.serialize_pem(),
            cert_der: cert.der().to_vec(),
            cert_pem: cert.pem(),
        }
    }

    pub fn signer(&self) -> Signer {
        Signer::new(&self.pkcs8_der, &self.cert_der).unwrap()
    }
}

/// The platform's signing identity (RSA-3072).
pub fn platform_identity() -> &'static Identity {
    static ID: OnceLock<Identity> = OnceLock::new();
    ID.get_or_init(|| Identity::generate("benteng platform signing", RsaKeySize::_3072))
}

/// The partner bank's identity (RSA-3072), registered with the platform.
pub fn bank_identity() -> &'static Identity {
    static ID: OnceLock<Identity> = OnceLock::new();
    ID.get_or_init(|| Identity::generate("partner bank signing", RsaKeySize::_3072))
}

/// Someone else's identity, never registered.
pub fn stranger_identity() -> &'static Identity {
    static ID: OnceLock<Identity> = OnceLock::new();
    ID.get_or_init(|| Identity::generate("stranger", RsaKeySize::_3072))
}

/// A verifier that knows the platform's and the partner bank's certificates.
pub fn verifier() -> Verifier {
    let mut registry = Registry::new();
    registry
        .register("benteng platform", &platform_identity().cert_der)
        .unwrap();
    registry
        .register("partner bank", &bank_identity().cert_der)
        .unwrap();
    Verifier::new(registry)
}

pub fn platform() -> Platform {
    Platform {
        name: "Benteng Payments B.V.".into(),
        bic: Bic::parse("BNTGNL2AXXX").unwrap(),
        iban: Iban::parse("NL91ABNA0417164300").unwrap(),
        address: PostalAddress {
            street_name: Some("Herengracht".into()),
            building_number: Some("420".into()),
            post_code: Some("1017 BZ".into()),
            town_name: "Amsterdam".into(),
            country: CountryCode::parse("NL").unwrap(),
        },
    }
}

pub fn partner_bic() -> Bic {
    Bic::parse("PRTNDEFFXXX").unwrap()
}

pub fn header() -> Header {
    Header {
        message_id: MessageId::new(),
        created_at: datetime!(2026-12-07 10:15:30 UTC),
        settlement_date: date!(2026 - 12 - 08),
        to: partner_bic(),
    }
}

pub fn transfer(amount: &str, currency: &str) -> CreditTransfer {
    let currency: Currency = currency.parse().unwrap();
    CreditTransfer {
        transfer_id: TransferId::new(),
        amount: Money::parse(amount, currency).unwrap(),
        creditor: Creditor {
            name: "Müller & Söhne GmbH".into(),
            iban: Iban::parse("DE89370400440532013000").unwrap(),
            bic: Some(Bic::parse("COBADEFFXXX").unwrap()),
            address: Some(PostalAddress {
                street_name: Some("Königsallee".into()),
                building_number: Some("12".into()),
                post_code: Some("40212".into()),
                town_name: "Düsseldorf".into(),
                country: CountryCode::DE,
            }),
        },
        remittance: Some("Invoice 2026/117 – December".into()),
    }
}

pub fn signed_pacs008() -> SignedMessage {
    let unsigned = pacs008(&platform(), &header(), &transfer("1250.00", "EUR")).unwrap();
    platform_identity().signer().sign(&unsigned).unwrap()
}

pub fn signed_pain001() -> SignedMessage {
    let transfers = [
        transfer("10.00", "GBP"),
        transfer("2500.50", "GBP"),
        transfer("0.01", "GBP"),
    ];
    let unsigned = pain001(&platform(), &header(), &transfers).unwrap();
    platform_identity().signer().sign(&unsigned).unwrap()
}

/// A pacs.002 from the partner bank, signed by `identity`.
pub fn signed_pacs002(identity: &Identity, status: &str, reason: Option<&str>) -> SignedMessage {
    let from = partner_bic();
    let header = Header {
        message_id: MessageId::new(),
        created_at: datetime!(2026-12-07 11:00:00 UTC),
        settlement_date: date!(2026 - 12 - 08),
        to: platform().bic,
    };
    let status = TransactionStatus {
        original_message_id: MessageId::parse("B0123456789abcdef0123456789abcdef").unwrap(),
        original_kind: MessageKind::Pacs008,
        original_end_to_end_id: TransferId::new().simple(),
        status: status.into(),
        reason: reason.map(str::to_owned),
    };
    let unsigned = pacs002(&from, &header, &[status]).unwrap();
    identity.signer().sign(&unsigned).unwrap()
}

pub fn text(message: &SignedMessage) -> String {
    String::from_utf8(message.as_bytes().to_vec()).unwrap()
}

/// The shared test data directory (`../shared/testdata/iso20022`, from the repository root).
pub fn testdata() -> PathBuf {
    let here = Path::new(env!("CARGO_MANIFEST_DIR"));
    for candidate in [
        here.join("../../../shared/testdata/iso20022"),
        here.join("../../../../shared/testdata/iso20022"),
    ] {
        if candidate.is_dir() {
            return candidate;
        }
    }
    panic!("testdata/iso20022 not found next to the repository");
}

pub fn verifiers_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/verifiers")
}

pub fn run(program: &str, args: &[&str]) -> Output {
    Command::new(program)
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("{program} could not run ({e}); scripts/test installs it"))
}

/// The byte range of the root's child element named `local` (AppHdr or Document), as a
/// standalone XML document (both declare their own namespaces).
pub fn part(xml: &str, local: &str) -> String {
    let doc = roxmltree::Document::parse(xml).unwrap();
    let node = doc
        .root_element()
        .children()
        .find(|n| n.is_element() && n.tag_name().name() == local)
        .unwrap();
    format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n{}",
        &xml[node.range()]
    )
}

pub fn write(dir: &Path, name: &str, content: impl AsRef<[u8]>) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, content).unwrap();
    path
}
