//! ISO 20022 through the CLI: the signing key sealed under the KEK, the signed pacs.008 of a
//! stored transfer (stored once, printed byte for byte afterwards), and `verify` naming the
//! failed check for tampered, unregistered and hostile files.

use benteng_core::currency::Currency;
use benteng_core::ids::TransferId;
use benteng_core::text::Bic;
use benteng_iso20022::{
    Header, MessageId, MessageKind, Registry, Signer, TransactionStatus, Verifier, pacs002,
};
use sqlx::Row;

use crate::harness::{Backend, TestApp, cli_with_env, on_both_backends};
use crate::payments::{fund, quote, recipient, transfer_body, wait_for_status};

on_both_backends!(
    a_transfer_is_signed_verified_and_settled_by_a_signed_pacs002,
    iban_transfers_complete_through_the_rail_and_the_simulated_counterparty
);

const PARTNER_BIC: &str = "PRTNDEFFXXX";

struct Identity {
    pkcs8: Vec<u8>,
    cert_der: Vec<u8>,
    cert_pem: String,
}

fn identity(name: &str) -> Identity {
    let key = rcgen::KeyPair::generate_rsa_for(&rcgen::PKCS_RSA_SHA256, rcgen::RsaKeySize::_3072)
        .unwrap();
    let mut params = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
    params
        .distinguished_name
        .push(rcgen::DnType::CommonName, name);
    let cert = params.self_signed(&key).unwrap();
    Identity {
        pkcs8: key.serialize_der(),
        cert_der: cert.der().to_vec(),
        cert_pem: cert.pem(),
    }
}

fn status_report(signer: &Identity, original: &str, end_to_end: &str) -> Vec<u8> {
    report_with(signer, original, end_to_end, "ACSC", None)
}

fn report_with(
    signer: &Identity,
    original: &str,
    end_to_end: &str,
    status: &str,
    reason: Option<&str>,
) -> Vec<u8> {
    let header = Header {
        message_id: MessageId::new(),
        created_at: time::OffsetDateTime::now_utc(),
        settlement_date: time::OffsetDateTime::now_utc().date(),
        to: Bic::parse("BNTGNL2AXXX").unwrap(),
    };
    let status = TransactionStatus {
        original_message_id: MessageId::parse(original).unwrap(),
        original_kind: MessageKind::Pacs008,
        original_end_to_end_id: end_to_end.to_owned(),
        status: status.into(),
        reason: reason.map(str::to_owned),
    };
    let unsigned = pacs002(&Bic::parse(PARTNER_BIC).unwrap(), &header, &[status]).unwrap();
    Signer::new(&signer.pkcs8, &signer.cert_der)
        .unwrap()
        .sign(&unsigned)
        .unwrap()
        .into_bytes()
}

fn between<'a>(text: &'a str, start: &str, end: &str) -> &'a str {
    let from = text.find(start).unwrap() + start.len();
    let to = from + text[from..].find(end).unwrap();
    &text[from..to]
}

async fn a_transfer_is_signed_verified_and_settled_by_a_signed_pacs002(backend: Backend) {
    let bank = identity("partner bank");
    let stranger = identity("stranger");
    let app = TestApp::spawn_with(backend, |config| {
        // Submitted transfers stay submitted: the sandbox does not settle during the test.
        config.rail.sandbox_settle_after_ms = 600_000;
    })
    .await;
    let dir = app.data_dir().to_path_buf();
    std::fs::write(dir.join("bank.pem"), &bank.cert_pem).unwrap();
    let config_file = dir.join("iso20022.toml");
    std::fs::write(
        &config_file,
        format!(
            r#"
[iso20022]
name = "Benteng Payments B.V."
bic = "BNTGNL2AXXX"
iban = "NL91ABNA0417164300"
street_name = "Herengracht"
building_number = "420"
post_code = "1017 BZ"
town_name = "Amsterdam"
country = "NL"
counterparty_bic = "{PARTNER_BIC}"

[[iso20022.counterparties]]
name = "partner bank"
certificate_file = "{}"
"#,
            dir.join("bank.pem").display()
        ),
    )
    .unwrap();
    let config = config_file.to_str().unwrap().to_owned();
    let env = app.environment();
    let cli = |args: Vec<String>| {
        let config = config.clone();
        async move {
            let mut all = vec!["--config".to_owned(), config];
            all.extend(args);
            let all: Vec<&str> = all.iter().map(String::as_str).collect();
            cli_with_env(env, &[], &all).await
        }
    };
    let args = |a: &[&str]| a.iter().map(|s| s.to_string()).collect::<Vec<_>>();

    let (tenant, key) = app.tenant_with_key().await;
    fund(&app, tenant.id, "1000.00", Currency::EUR).await;
    let recipient = recipient(&app, &key, "DE89370400440532013000").await;
    let q = quote(
        &app,
        &key,
        "source_currency=EUR&target_currency=EUR&source_amount=250.00",
    )
    .await;
    let transfer: serde_json::Value = app
        .post_json(
            "/v1/transfers",
            &key,
            &transfer_body(&q, &recipient, "Invoice 7/2026"),
        )
        .await
        .json()
        .await
        .unwrap();
    let transfer_id = transfer["id"].as_str().unwrap().to_owned();
    wait_for_status(&app, &key, &transfer_id, "SUBMITTED").await;

    // No signing key yet: refused, nothing stored.
    let (ok, _, err) = cli(args(&["iso20022", "render", &transfer_id])).await;
    assert!(!ok);
    assert!(err.contains("no ISO 20022 signing key"), "{err}");

    let (ok, cert_pem, err) = cli(args(&["iso20022", "key-create"])).await;
    assert!(ok, "{err}");
    assert!(cert_pem.starts_with("-----BEGIN CERTIFICATE-----"));
    let (ok, listed, _) = cli(args(&["iso20022", "key-list"])).await;
    assert!(ok && listed.contains("active"), "{listed}");
    let (ok, status, _) = cli(args(&["keys", "status"])).await;
    assert!(ok);
    assert!(
        status
            .lines()
            .any(|l| l.starts_with("iso20022") && l.contains("signs") && l.contains(" ok ")),
        "{status}"
    );

    // The key is stored wrapped: the row holds neither the PKCS#8 nor anything PEM.
    let mut sql = app.raw_sql().await;
    let row = sqlx::query("SELECT wrapped_key, kek_id FROM iso20022_signing_keys")
        .fetch_one(&mut sql)
        .await
        .unwrap();
    let wrapped: String = row.get("wrapped_key");
    assert!(
        !wrapped.contains("BEGIN") && !wrapped.starts_with("MII"),
        "{wrapped}"
    );

    let (ok, xml, err) = cli(args(&["iso20022", "render", &transfer_id])).await;
    assert!(ok, "{err}");
    let transfer_uuid: TransferId = transfer_id.parse::<uuid::Uuid>().unwrap().into();
    assert!(xml.contains(&format!(
        "<EndToEndId>{}</EndToEndId>",
        transfer_uuid.simple()
    )));
    assert!(xml.contains(&format!("<UETR>{transfer_id}</UETR>")));
    assert!(
        xml.contains("<Nm>Muller Handels GmbH</Nm>"),
        "transliterated"
    );
    assert!(xml.contains("<StrtNm>Hauptstrasse 1</StrtNm>"));
    assert!(xml.contains("<IBAN>DE89370400440532013000</IBAN>"));
    assert!(xml.contains(&format!("<BICFI>{PARTNER_BIC}</BICFI>")));
    assert!(xml.contains("<Ustrd>Invoice 7/2026</Ustrd>"));
    let target = transfer["target"]["value"].as_str().unwrap();
    assert!(xml.contains(&format!(
        "<IntrBkSttlmAmt Ccy=\"EUR\">{target}</IntrBkSttlmAmt>"
    )));

    // It verifies with the certificate key-create printed.
    let der = {
        use base64::Engine;
        let body: String = cert_pem
            .lines()
            .filter(|l| !l.starts_with("-----"))
            .collect();
        base64::engine::general_purpose::STANDARD
            .decode(body)
            .unwrap()
    };
    let mut registry = Registry::new();
    registry.register("platform", &der).unwrap();
    let verified = Verifier::new(registry).verify(xml.as_bytes()).unwrap();
    assert_eq!(verified.kind, MessageKind::Pacs008);

    // A second render prints the stored bytes, not a new message.
    let (ok, again, _) = cli(args(&["iso20022", "render", &transfer_id])).await;
    assert!(ok);
    assert_eq!(again, xml);
    let count: i64 = sqlx::query("SELECT COUNT(*) AS n FROM iso20022_messages")
        .fetch_one(&mut sql)
        .await
        .unwrap()
        .get("n");
    assert_eq!(count, 1);
    let events: i64 = sqlx::query(
        "SELECT COUNT(*) AS n FROM audit_events WHERE event_type IN \
         ('iso20022.message_signed', 'iso20022.signing_key_created')",
    )
    .fetch_one(&mut sql)
    .await
    .unwrap()
    .get("n");
    assert_eq!(events, 2);

    // verify: our own message, then one byte changed in the Document.
    std::fs::write(dir.join("pacs008.xml"), &xml).unwrap();
    let file = |name: &str| dir.join(name).display().to_string();
    let (ok, out, err) = cli(args(&["iso20022", "verify", &file("pacs008.xml")])).await;
    assert!(ok, "{err}");
    assert!(out.contains("verified: pacs.008.001.08"), "{out}");
    let tampered = xml.replacen("<ChrgBr>SHAR", "<ChrgBr>SHAS", 1);
    std::fs::write(dir.join("tampered.xml"), tampered).unwrap();
    let (ok, _, err) = cli(args(&["iso20022", "verify", &file("tampered.xml")])).await;
    assert!(!ok);
    assert!(
        err.contains("refused: Document reference (no URI): digest does not match"),
        "{err}"
    );

    // A status report from the registered bank, and one from a stranger.
    let message_id = between(&xml, "<BizMsgIdr>", "</BizMsgIdr>").to_owned();
    let end_to_end = transfer_uuid.simple();
    std::fs::write(
        dir.join("ok.xml"),
        status_report(&bank, &message_id, &end_to_end),
    )
    .unwrap();
    let (ok, out, err) = cli(args(&["iso20022", "verify", &file("ok.xml")])).await;
    assert!(ok, "{err}");
    assert!(out.contains("signed by partner bank"), "{out}");
    assert!(out.contains(&format!(
        "{end_to_end} of {message_id} (pacs.008.001.08): ACSC"
    )));
    std::fs::write(
        dir.join("stranger.xml"),
        status_report(&stranger, &message_id, &end_to_end),
    )
    .unwrap();
    let (ok, _, err) = cli(args(&["iso20022", "verify", &file("stranger.xml")])).await;
    assert!(!ok);
    assert!(
        err.contains("refused: the signing certificate is not registered"),
        "{err}"
    );

    // Hostile files: an entity declaration, and one too large to read.
    let report = String::from_utf8(status_report(&bank, &message_id, &end_to_end)).unwrap();
    let xxe = report.replacen(
        "<Envelope",
        "<!DOCTYPE Envelope [<!ENTITY x SYSTEM \"file:///etc/passwd\">]><Envelope",
        1,
    );
    std::fs::write(dir.join("xxe.xml"), xxe).unwrap();
    let (ok, _, err) = cli(args(&["iso20022", "verify", &file("xxe.xml")])).await;
    assert!(!ok);
    assert!(err.contains("DTD or entity declaration"), "{err}");
    std::fs::write(dir.join("big.xml"), vec![b' '; 50 * 1024 * 1024]).unwrap();
    let (ok, _, err) = cli(args(&["iso20022", "verify", &file("big.xml")])).await;
    assert!(!ok);
    assert!(err.contains("over the 4194304-byte limit"), "{err}");

    // Ingestion. A second transfer, rendered, for the refusals and the rejection.
    let q = quote(
        &app,
        &key,
        "source_currency=EUR&target_currency=EUR&source_amount=100.00",
    )
    .await;
    let second: serde_json::Value = app
        .post_json(
            "/v1/transfers",
            &key,
            &transfer_body(&q, &recipient, "Invoice 8"),
        )
        .await
        .json()
        .await
        .unwrap();
    let second_id = second["id"].as_str().unwrap().to_owned();
    wait_for_status(&app, &key, &second_id, "SUBMITTED").await;
    let (ok, second_xml, err) = cli(args(&["iso20022", "render", &second_id])).await;
    assert!(ok, "{err}");
    let second_message = between(&second_xml, "<BizMsgIdr>", "</BizMsgIdr>").to_owned();
    let second_e2e = second_id.replace('-', "");

    let refusals: Vec<(Vec<u8>, &str)> = vec![
        (
            status_report(&stranger, &second_message, &second_e2e),
            "the signing certificate is not registered",
        ),
        (
            status_report(&bank, "B00000000000000000000000000000000", &second_e2e),
            "unknown original message id",
        ),
        // The first transfer's end-to-end id on the second transfer's message.
        (
            status_report(&bank, &second_message, &end_to_end),
            "end-to-end id is not the one",
        ),
        (
            String::from_utf8(report_with(
                &bank,
                &second_message,
                &second_e2e,
                "RJCT",
                Some("AC04"),
            ))
            .unwrap()
            .replacen("<Cd>AC04</Cd>", "<Cd>AC01</Cd>", 1)
            .into_bytes(),
            "Document reference (no URI): digest does not match",
        ),
    ];
    for (index, (bytes, reason)) in refusals.into_iter().enumerate() {
        let name = format!("refused{index}.xml");
        std::fs::write(dir.join(&name), bytes).unwrap();
        let (ok, _, err) = cli(args(&["iso20022", "ingest", &file(&name)])).await;
        assert!(!ok, "{name}");
        assert!(err.contains(reason), "{name}: {err}");
    }
    std::fs::write(dir.join("big-report.xml"), vec![b' '; 50 * 1024 * 1024]).unwrap();
    let (ok, _, err) = cli(args(&["iso20022", "ingest", &file("big-report.xml")])).await;
    assert!(!ok);
    assert!(
        err.contains("refused: message is 52428800 bytes, over the 4194304-byte limit"),
        "{err}"
    );
    let refused_events: i64 = sqlx::query(
        "SELECT COUNT(*) AS n FROM audit_events WHERE event_type = 'iso20022.status_report_refused'",
    )
    .fetch_one(&mut sql)
    .await
    .unwrap()
    .get("n");
    assert_eq!(refused_events, 5);
    wait_for_status(&app, &key, &second_id, "SUBMITTED").await;

    // The bank's settlement report completes the first transfer, once.
    let (ok, out, err) = cli(args(&["iso20022", "ingest", &file("ok.xml")])).await;
    assert!(ok, "{err}");
    assert!(out.contains("SUBMITTED → COMPLETED"), "{out}");
    wait_for_status(&app, &key, &transfer_id, "COMPLETED").await;
    let (ok, out, _) = cli(args(&["iso20022", "ingest", &file("ok.xml")])).await;
    assert!(ok);
    assert!(out.contains("already ingested"), "{out}");

    // Its rejection fails the second one with the reason code.
    std::fs::write(
        dir.join("rjct.xml"),
        report_with(&bank, &second_message, &second_e2e, "RJCT", Some("AC04")),
    )
    .unwrap();
    let (ok, out, err) = cli(args(&["iso20022", "ingest", &file("rjct.xml")])).await;
    assert!(ok, "{err}");
    assert!(out.contains("SUBMITTED → FAILED"), "{out}");
    wait_for_status(&app, &key, &second_id, "FAILED").await;
    let cause: String = sqlx::query(
        "SELECT cause FROM transfer_events WHERE transfer_id = $1 AND to_status = 'FAILED'",
    )
    .bind(&second_id)
    .fetch_one(&mut sql)
    .await
    .unwrap()
    .get("cause");
    assert!(cause.contains("rejected it: AC04"), "{cause}");

    // Unknown transfers are refused.
    let (ok, _, err) = cli(args(&[
        "iso20022",
        "render",
        "00000000-0000-4000-8000-000000000000",
    ]))
    .await;
    assert!(!ok);
    assert!(err.contains("no such transfer"), "{err}");
}

fn rail_config(
    outbox: &std::path::Path,
    inbox: &std::path::Path,
) -> benteng::config::Iso20022Config {
    benteng::config::Iso20022Config {
        name: "Benteng Payments B.V.".into(),
        bic: "BNTGNL2AXXX".into(),
        iban: "NL91ABNA0417164300".into(),
        street_name: Some("Herengracht".into()),
        building_number: Some("420".into()),
        post_code: Some("1017 BZ".into()),
        town_name: "Amsterdam".into(),
        country: "NL".into(),
        counterparty_bic: PARTNER_BIC.into(),
        counterparties: Vec::new(),
        max_message_bytes: benteng_iso20022::verify::DEFAULT_MAX_BYTES,
        outbox_dir: Some(outbox.to_path_buf()),
        inbox_dir: Some(inbox.to_path_buf()),
        simulate_counterparty: true,
        simulated_delay_ms: 100,
    }
}

fn files(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    std::fs::read_dir(dir)
        .map(|entries| {
            entries
                .filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|p| p.extension().is_some_and(|x| x == "xml"))
                .collect()
        })
        .unwrap_or_default()
}

async fn iban_transfers_complete_through_the_rail_and_the_simulated_counterparty(backend: Backend) {
    let drops = tempfile::tempdir().unwrap();
    let (outbox, inbox) = (drops.path().join("outbox"), drops.path().join("inbox"));
    let app = TestApp::spawn_with(backend, |config| {
        config.iso20022 = Some(rail_config(&outbox, &inbox));
        config.rail.sandbox_settle_after_ms = 600_000;
    })
    .await;
    let key_row = benteng::iso20022::create_signing_key(
        &app.services,
        &benteng_core::audit::AuditContext::system("test"),
    )
    .await
    .unwrap();
    let platform_cert = benteng::iso20022::certificate_der(&key_row).unwrap();

    let (tenant, key) = app.tenant_with_key().await;
    fund(&app, tenant.id, "1000.00", Currency::EUR).await;
    let recipient = recipient(&app, &key, "DE89370400440532013000").await;
    let mut ids = Vec::new();
    for reference in ["Invoice 9", "please REJECT"] {
        let q = quote(
            &app,
            &key,
            "source_currency=EUR&target_currency=EUR&source_amount=100.00",
        )
        .await;
        let transfer: serde_json::Value = app
            .post_json(
                "/v1/transfers",
                &key,
                &transfer_body(&q, &recipient, reference),
            )
            .await
            .json()
            .await
            .unwrap();
        ids.push(transfer["id"].as_str().unwrap().to_owned());
    }
    let completed = wait_for_status(&app, &key, &ids[0], "COMPLETED").await;
    let history = completed["history"].to_string();
    assert!(history.contains("submitted to iso20022"), "{history}");
    assert!(
        history.contains("simulated counterparty reported ACSC"),
        "{history}"
    );
    wait_for_status(&app, &key, &ids[1], "FAILED").await;

    // What went over the wire: two pacs.008 signed by the platform, taken by the bank; two
    // pacs.002 signed by the bank, ingested.
    let sent = files(&outbox.join("taken"));
    assert_eq!(sent.len(), 2, "{sent:?}");
    let mut registry = Registry::new();
    registry.register("platform", &platform_cert).unwrap();
    let verifier = Verifier::new(registry);
    for file in &sent {
        let verified = verifier.verify(&std::fs::read(file).unwrap()).unwrap();
        assert_eq!(verified.kind, MessageKind::Pacs008);
    }
    assert_eq!(files(&inbox.join("done")).len(), 2);
    assert!(files(&inbox.join("refused")).is_empty());

    let mut sql = app.raw_sql().await;
    let cause: String = sqlx::query(
        "SELECT cause FROM transfer_events WHERE transfer_id = $1 AND to_status = 'FAILED'",
    )
    .bind(&ids[1])
    .fetch_one(&mut sql)
    .await
    .unwrap()
    .get("cause");
    assert!(
        cause.contains("simulated counterparty rejected it: AC04"),
        "{cause}"
    );

    // A forged status report dropped in the inbox is refused and moves nothing.
    let stranger = identity("stranger");
    let forged = status_report(
        &stranger,
        "B00000000000000000000000000000000",
        &ids[0].replace('-', ""),
    );
    benteng_rails::iso20022::drop_file(&inbox, "forged.xml", &forged).unwrap();
    for _ in 0..100 {
        if !files(&inbox.join("refused")).is_empty() {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert_eq!(
        files(&inbox.join("refused")).len(),
        1,
        "the forged report is filed as refused"
    );
    let refused: i64 = sqlx::query(
        "SELECT COUNT(*) AS n FROM audit_events WHERE event_type = 'iso20022.status_report_refused'",
    )
    .fetch_one(&mut sql)
    .await
    .unwrap()
    .get("n");
    assert_eq!(refused, 1);
    wait_for_status(&app, &key, &ids[0], "COMPLETED").await;
}
