//! The goAML output against PPATK's schema with an outside verifier (`xmllint --schema`, from
//! libxml2; scripts/test installs it), the code lists against the schema's enumerations, and
//! the refusals of incomplete reports.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::{Path, PathBuf};
use std::process::Command;

use benteng_reports::content::{Address, Counterparty, ReportingEntity, Subject, Transaction};
use benteng_reports::fiu::{GoamlProfile, StructuredProfile};
use benteng_reports::goaml::{ExportError, IftiDirection, IftiWriter, write_suspicion_report};
use benteng_reports::{ReportContent, codes, sar};
use rust_decimal::Decimal;
use time::macros::datetime;

fn xsd() -> PathBuf {
    let here = Path::new(env!("CARGO_MANIFEST_DIR"));
    for candidate in [
        here.join("../../../shared/testdata/goaml/goAMLSchemaPPATK-4.0.2.xsd"),
        here.join("../../../../shared/testdata/goaml/goAMLSchemaPPATK-4.0.2.xsd"),
    ] {
        if candidate.is_file() {
            return candidate;
        }
    }
    panic!("testdata/goaml not found next to the repository");
}

/// Runs `xmllint --noout --schema` on `xml`; (accepted, what it said).
fn xmllint(xml: &[u8]) -> (bool, String) {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("report.xml");
    std::fs::write(&file, xml).unwrap();
    let output = Command::new("xmllint")
        .args(["--noout", "--schema"])
        .arg(xsd())
        .arg(&file)
        .output()
        .unwrap_or_else(|e| panic!("xmllint could not run ({e}); scripts/test installs it"));
    let said = String::from_utf8_lossy(&output.stderr).into_owned();
    (output.status.success(), said)
}

fn entity() -> ReportingEntity {
    ReportingEntity {
        name: "PT Benteng Pembayaran".to_owned(),
        rentity_id: 4242,
        branch: Some("Jakarta".to_owned()),
        country: "ID".to_owned(),
        local_currency: "IDR".to_owned(),
    }
}

fn transaction(n: u32) -> Transaction {
    Transaction {
        number: format!("0190a5c4-0000-7000-8000-{n:012}"),
        description: Some(format!("invoice <{n}> & co")),
        date: "2026-12-03T04:05:06Z".to_owned(),
        status: "PENDING_REVIEW".to_owned(),
        source_amount: Decimal::new(150_000_000, 0),
        source_currency: "IDR".to_owned(),
        target_amount: Decimal::new(875_012, 2),
        target_currency: "EUR".to_owned(),
        local_amount: Some(Decimal::new(150_000_000, 0)),
        transmode: "TKLNS".to_owned(),
        recipient: Counterparty {
            kind: "individual".to_owned(),
            name: "Jan Émile O'Brien".to_owned(),
            country: "DE".to_owned(),
            account: Some("DE89370400440532013000".to_owned()),
            institution_code: Some("37040044".to_owned()),
            iban: Some("DE89370400440532013000".to_owned()),
            national_id: Some("C01X00T47".to_owned()),
            address: Some(Address {
                line: "Hauptstraße 1".to_owned(),
                city: "Köln".to_owned(),
                postal_code: Some("50667".to_owned()),
                country: "DE".to_owned(),
            }),
        },
    }
}

fn complete() -> ReportContent {
    ReportContent {
        reason: Some("Structured transfers just under the review threshold to a new recipient abroad; the tenant could not explain the purpose.".to_owned()),
        action: Some("Transfer held; relationship under review.".to_owned()),
        indicators: vec!["AAA001".to_owned()],
        subject: Subject {
            name: "PT Contoh Dagang".to_owned(),
            business: Some("Wholesale trade".to_owned()),
            legal_form: Some("PT".to_owned()),
            incorporation_number: Some("AHU-0012345".to_owned()),
            incorporation_country: Some("ID".to_owned()),
            address: Some(Address {
                line: "Jl. Sudirman 1".to_owned(),
                city: "Jakarta".to_owned(),
                postal_code: Some("10220".to_owned()),
                country: "ID".to_owned(),
            }),
        },
        transactions: vec![transaction(1), transaction(2)],
        case_notes: vec!["held by monitoring".to_owned()],
        daml_requested: false,
    }
}

fn ltkm(content: &ReportContent) -> Result<Vec<u8>, ExportError> {
    write_suspicion_report(
        Vec::new(),
        &GoamlProfile::ppatk(entity()),
        content,
        "RPT-1",
        datetime!(2026-12-07 03:00 UTC),
    )
}

#[test]
fn xmllint_rejects_a_broken_report_first() {
    let good = ltkm(&complete()).unwrap();
    let (ok, said) = xmllint(&good);
    assert!(ok, "{said}");
    // The same report with an unknown report code, and with a mandatory element removed.
    let text = String::from_utf8(good).unwrap();
    let (ok, said) = xmllint(
        text.replace("<report_code>LTKM<", "<report_code>XXXX<")
            .as_bytes(),
    );
    assert!(!ok && said.contains("report_code"), "{said}");
    let start = text.find("<currency_code_local>").unwrap();
    let end = text.find("</currency_code_local>").unwrap() + "</currency_code_local>".len();
    let broken = format!("{}{}", &text[..start], &text[end..]);
    let (ok, said) = xmllint(broken.as_bytes());
    assert!(!ok && said.contains("currency_code_local"), "{said}");
}

#[test]
fn an_ltkm_with_foreign_sides_business_recipients_and_no_account_validates() {
    let mut content = complete();
    content.transactions[0].source_currency = "USD".to_owned();
    content.transactions[0].source_amount = Decimal::new(950_000, 2);
    content.transactions[1].recipient.kind = "business".to_owned();
    content.transactions[1].recipient.account = None;
    content.transactions[1].recipient.institution_code = None;
    content.indicators.clear();
    let mut third = transaction(3);
    third.recipient.account = None;
    content.transactions.push(third);
    let xml = ltkm(&content).unwrap();
    let (ok, said) = xmllint(&xml);
    assert!(ok, "{said}\n{}", String::from_utf8_lossy(&xml));
    let text = String::from_utf8(xml).unwrap();
    assert!(text.contains("invoice &lt;1&gt; &amp; co"), "{text}");
    assert!(
        text.contains("<comments>IBAN DE89370400440532013000</comments>"),
        "{text}"
    );
    assert!(text.contains("<foreign_currency_code>USD</foreign_currency_code>"));
    assert!(text.contains("<date_transaction>2026-12-03T11:05:06</date_transaction>"));
}

#[test]
fn an_incomplete_ltkm_is_refused_with_every_missing_field_and_nothing_written() {
    let mut content = complete();
    content.reason = None;
    content.subject.business = None;
    content.subject.address = None;
    content.subject.incorporation_country = Some("XX".to_owned());
    content.indicators = vec!["NOPE01".to_owned()];
    content.transactions[1].local_amount = None;
    content.transactions[1].recipient.institution_code = None;
    content.transactions[0].recipient.name = "bell\u{7}".to_owned();
    let mut entity = entity();
    entity.rentity_id = 0;
    let Err(ExportError::Incomplete(missing)) = write_suspicion_report(
        Vec::new(),
        &GoamlProfile::ppatk(entity),
        &content,
        "RPT-1",
        datetime!(2026-12-07 03:00 UTC),
    ) else {
        panic!("exported an incomplete report");
    };
    let fields: Vec<&str> = missing.iter().map(|m| m.field.as_str()).collect();
    assert_eq!(
        fields,
        [
            "reporting_entity.rentity_id",
            "reason",
            "indicators[0]",
            "subject.business",
            "subject.incorporation_country",
            "subject.address",
            "transactions[0].recipient.name",
            "transactions[1].local_amount",
            "transactions[1].recipient.institution_code",
        ]
    );
    let bell = missing
        .iter()
        .find(|m| m.field == "transactions[0].recipient.name")
        .unwrap();
    assert_eq!(bell.problem, "contains U+0007, which XML cannot carry");
}

#[test]
fn an_ifti_report_is_streamed_and_validates() {
    let mut writer = IftiWriter::new(
        Vec::new(),
        &GoamlProfile::ppatk(entity()),
        IftiDirection::Outgoing,
        "IFTI-2026-12-03",
        datetime!(2026-12-04 02:00 UTC),
    )
    .unwrap();
    for n in 0..50 {
        let mut t = transaction(n);
        t.status = "COMPLETED".to_owned();
        writer.transaction("PT Contoh Dagang", &t).unwrap();
    }
    // One that cannot be carried is refused by name, and not written.
    let mut bad = transaction(99);
    bad.description = Some("nul\u{0}".to_owned());
    let Err(ExportError::Incomplete(missing)) = writer.transaction("PT Contoh Dagang", &bad) else {
        panic!("wrote an unrepresentable transfer");
    };
    assert_eq!(
        missing[0].field,
        format!("transfer {}.description", bad.number)
    );
    let (xml, count) = writer.finish().unwrap();
    assert_eq!(count, 50);
    let (ok, said) = xmllint(&xml);
    assert!(ok, "{said}");
    let text = String::from_utf8(xml).unwrap();
    assert!(text.contains("<report_code>TKLOP</report_code>"));
    assert_eq!(text.matches("<transaction>").count(), 50);
    // An empty period produces no file.
    let empty = IftiWriter::new(
        Vec::new(),
        &GoamlProfile::ppatk(entity()),
        IftiDirection::Outgoing,
        "IFTI-0",
        datetime!(2026-12-04 02:00 UTC),
    )
    .unwrap();
    assert!(matches!(empty.finish(), Err(ExportError::Empty)));
}

/// The values of `simpleType name`'s enumeration in the schema.
fn enumeration(xsd: &str, name: &str) -> Vec<String> {
    let start = xsd
        .find(&format!("<xs:simpleType name=\"{name}\">"))
        .unwrap();
    let end = start + xsd[start..].find("</xs:simpleType>").unwrap();
    xsd[start..end]
        .split("<xs:enumeration value=\"")
        .skip(1)
        .map(|part| part.split('"').next().unwrap().to_owned())
        .collect()
}

#[test]
fn the_code_lists_are_the_schemas() {
    let xsd = std::fs::read_to_string(xsd()).unwrap();
    let codes = codes::ppatk();
    for (list, name) in [
        (&codes.report_codes, "report_type"),
        (&codes.transmode_codes, "conduction_type"),
        (&codes.funds_codes, "funds_type"),
        (&codes.identifier_types, "identifier_type"),
        (&codes.legal_forms, "legal_form_type"),
        (&codes.indicators, "report_indicator_type"),
        (&codes.currencies, "currency_type"),
        (&codes.countries, "country_type"),
    ] {
        let schema: std::collections::BTreeSet<String> = enumeration(&xsd, name)
            .into_iter()
            .filter(|c| c != "-")
            .collect();
        assert_eq!(list, &schema, "{name}");
    }
}

#[test]
fn a_uk_sar_export_carries_the_glossary_codes_in_json_and_html() {
    let mut content = complete();
    content.daml_requested = true;
    content.indicators = vec!["XXSNEXX".to_owned()];
    content.transactions[0].recipient.name = "<script>alert(1)</script>".to_owned();
    let export = sar::export(&entity(), &content, "SAR-1", &StructuredProfile::nca()).unwrap();
    let json = serde_json::to_value(&export).unwrap();
    let codes: Vec<&str> = json["reason_for_suspicion"]["glossary_codes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["code"].as_str().unwrap())
        .collect();
    assert_eq!(codes, ["XXS99XX", "XXSNEXX"]);
    assert_eq!(json["daml"]["requested"], true);
    assert_eq!(json["main_subject"]["name"], "PT Contoh Dagang");
    let html = sar::to_html(&export);
    assert!(html.contains("XXS99XX") && html.contains("XXSNEXX"));
    assert!(html.contains("&lt;script&gt;") && !html.contains("<script>"));
    // A code outside the glossary, and a missing reason, are refused by name.
    content.indicators = vec!["AAA001".to_owned()];
    content.reason = None;
    let missing = sar::export(&entity(), &content, "SAR-1", &StructuredProfile::nca()).unwrap_err();
    let fields: Vec<&str> = missing.iter().map(|m| m.field.as_str()).collect();
    assert_eq!(fields, ["reason", "indicators[0]"]);
}
