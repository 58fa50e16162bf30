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
    iban_transfers_complete_through_the_rail_and_the_simulated_counterparty,
    the_rail_talks_https_both_ways_pinned_out_and_mtls_in,
    a_rotated_signing_key_signs_after_the_overlap_and_the_old_one_verifies_until_it_ends,
    a_recipient_s_bic_is_checked_stored_and_sent_as_the_creditor_agent,
    pain001_batches_go_through_the_rail_and_each_transfer_completes_on_its_own,
    a_pain001_batch_goes_out_over_https_and_its_report_comes_back_over_mtls
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

    let (ok, cert_pem, err) = cli(args(&["keys", "rotate", "--purpose", "iso20022"])).await;
    assert!(ok, "{err}");
    assert!(cert_pem.starts_with("-----BEGIN CERTIFICATE-----"));
    let (ok, registered, _) = cli(args(&["iso20022", "key-cert"])).await;
    assert!(ok);
    assert_eq!(registered, cert_pem);
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

    // It verifies with the certificate the rotation printed.
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
            "end-to-end id is not one that",
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
    assert_eq!(refused_events(&app).await, 5);
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
        message: benteng::config::OutgoingMessage::Pacs008,
        batch_window_ms: 60_000,
        batch_max_transfers: 1000,
        counterparties: Vec::new(),
        max_message_bytes: benteng_iso20022::verify::DEFAULT_MAX_BYTES,
        outbox_dir: Some(outbox.to_path_buf()),
        inbox_dir: Some(inbox.to_path_buf()),
        outbound_url: None,
        outbound_tls: Default::default(),
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
    let key_row = benteng::iso20022::rotate_signing_key(
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
    for reference in ["Invoice 9", "please REJECT", "please RETURN"] {
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
    // Paid, then sent back by the bank (pacs.004): RETURNED with the ledger reversal.
    let returned = wait_for_status(&app, &key, &ids[2], "RETURNED").await;
    let history = returned["history"].to_string();
    assert!(
        history.contains("simulated counterparty returned 100.00 EUR: AC04"),
        "{history}"
    );
    // Principal refunded, fee kept: 1000 − (100 + 0.50) − 0.50.
    assert_eq!(
        crate::payments::balance(&app, &key, "EUR").await,
        ("899.00".to_owned(), "0.00".to_owned())
    );
    crate::payments::ledger_ok(&app).await;

    // What went over the wire: three pacs.008 signed by the platform, taken by the bank; three
    // pacs.002 and one pacs.004 signed by the bank, ingested.
    let sent = files(&outbox.join("taken"));
    assert_eq!(sent.len(), 3, "{sent:?}");
    let mut registry = Registry::new();
    registry.register("platform", &platform_cert).unwrap();
    let verifier = Verifier::new(registry);
    for file in &sent {
        let verified = verifier.verify(&std::fs::read(file).unwrap()).unwrap();
        assert_eq!(verified.kind, MessageKind::Pacs008);
    }
    assert_eq!(files(&inbox.join("done")).len(), 4);
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
    assert_eq!(refused_events(&app).await, 1);
    wait_for_status(&app, &key, &ids[0], "COMPLETED").await;
}

/// A transfer to an IBAN in EUR: quote, create, and its id.
async fn iban_transfer(app: &TestApp, key: &str, recipient: &str, reference: &str) -> String {
    let q = quote(
        app,
        key,
        "source_currency=EUR&target_currency=EUR&source_amount=100.00",
    )
    .await;
    let transfer: serde_json::Value = app
        .post_json(
            "/v1/transfers",
            key,
            &transfer_body(&q, recipient, reference),
        )
        .await
        .json()
        .await
        .unwrap();
    transfer["id"].as_str().unwrap().to_owned()
}

/// The partner bank over HTTPS: it takes pacs.008 on `POST /pacs008` (TLS with the dev server
/// certificate) and answers through the simulated counterparty, POSTing the signed pacs.002
/// to the platform's status-report route with `client` (its registered client certificate).
/// A message whose remittance says `HOLD` is taken and left unanswered.
struct HttpsBank {
    received: std::sync::Arc<std::sync::Mutex<Vec<Vec<u8>>>>,
    _stop: tokio::sync::oneshot::Sender<()>,
}

async fn serve_bank(
    listener: tokio::net::TcpListener,
    dev: &benteng_transport::DevCertPaths,
    bank: benteng_rails::iso20022::SimulatedCounterparty,
    client: reqwest::Client,
    report_url: String,
) -> HttpsBank {
    use std::sync::{Arc, Mutex};
    let received: Arc<Mutex<Vec<Vec<u8>>>> = Arc::default();
    let bank = Arc::new(bank);
    let seen = received.clone();
    let router = axum::Router::new().route(
        "/pacs008",
        axum::routing::post(move |body: axum::body::Bytes| {
            let (bank, client, url, seen) = (
                bank.clone(),
                client.clone(),
                report_url.clone(),
                seen.clone(),
            );
            async move {
                seen.lock().unwrap().push(body.to_vec());
                if String::from_utf8_lossy(&body).contains("HOLD") {
                    return reqwest::StatusCode::ACCEPTED;
                }
                let Ok(answers) = bank.answer(&body).await else {
                    return reqwest::StatusCode::BAD_REQUEST;
                };
                tokio::spawn(async move {
                    for (_, report) in answers {
                        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
                        let response = client
                            .post(&url)
                            .header("content-type", "application/xml")
                            .body(report)
                            .send()
                            .await
                            .unwrap();
                        assert_eq!(response.status(), reqwest::StatusCode::OK);
                    }
                });
                reqwest::StatusCode::ACCEPTED
            }
        }),
    );
    let tls = benteng_transport::TlsHandle::load(benteng_transport::TlsSettings::simple(
        &dev.server_cert,
        &dev.server_key,
        benteng_transport::PolicyMode::Dev,
    ))
    .await
    .unwrap();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(benteng_transport::serve(
        listener,
        Some(tls),
        router,
        benteng_transport::ConnectionLimits::default(),
        async move {
            let _ = stopped.await;
        },
    ));
    HttpsBank {
        received,
        _stop: stop,
    }
}

fn https_config(
    dir: &std::path::Path,
    bank_url: String,
    dev: &benteng_transport::DevCertPaths,
    pin: String,
    signing_cert: &std::path::Path,
) -> benteng::config::Iso20022Config {
    let mut config = rail_config(dir, dir);
    config.outbox_dir = None;
    config.inbox_dir = None;
    config.simulate_counterparty = false;
    config.outbound_url = Some(bank_url);
    config.outbound_tls = benteng_transport::OutboundTlsConfig {
        ca_files: vec![dev.ca_cert.clone()],
        pins: [("127.0.0.1".to_owned(), vec![pin])].into_iter().collect(),
        ..Default::default()
    };
    config.counterparties = vec![benteng::config::CounterpartyConfig {
        name: "partner bank".into(),
        certificate_file: signing_cert.to_path_buf(),
        client_certificate_file: Some(dev.client_cert.clone()),
    }];
    config
}

async fn post_report(client: &reqwest::Client, url: &str, body: Vec<u8>) -> reqwest::Response {
    client
        .post(url)
        .header("content-type", "application/xml")
        .body(body)
        .send()
        .await
        .unwrap()
}

async fn refused_events(app: &TestApp) -> i64 {
    let mut sql = app.raw_sql().await;
    sqlx::query(
        "SELECT COUNT(*) AS n FROM audit_events WHERE event_type = 'iso20022.status_report_refused'",
    )
    .fetch_one(&mut sql)
    .await
    .unwrap()
    .get("n")
}

async fn the_rail_talks_https_both_ways_pinned_out_and_mtls_in(backend: Backend) {
    let env = crate::harness::Environment::new(backend).await;
    let dev = benteng_transport::generate_dev_certs(&env.data_dir.path().join("tls")).unwrap();
    let server_pem = std::fs::read(&dev.server_cert).unwrap();
    let leaf = benteng_transport::tls::certs_from_pem(&server_pem).unwrap();
    let pin = benteng_transport::client::spki_pin_base64(leaf[0].as_ref()).unwrap();
    let bank_identity = identity("partner bank");
    let signing_cert = env.data_dir.path().join("bank-signing.pem");
    std::fs::write(&signing_cert, &bank_identity.cert_pem).unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let bank_url = format!("https://{}/pacs008", listener.local_addr().unwrap());
    let config = https_config(env.data_dir.path(), bank_url, &dev, pin, &signing_cert);
    let app = TestApp::spawn_in_with(env, |c| {
        c.iso20022 = Some(config);
        c.rail.sandbox_settle_after_ms = 600_000;
    })
    .await;
    let context = benteng_core::audit::AuditContext::system("test");
    benteng::iso20022::rotate_signing_key(&app.services, &context)
        .await
        .unwrap();
    let report_url = app.url("/iso20022/status-reports");
    let bank_client = app
        .env
        .client_with_identity(&dev.client_cert, &dev.client_key);
    let bank = serve_bank(
        listener,
        &dev,
        benteng_rails::iso20022::SimulatedCounterparty {
            iso: std::sync::Arc::new(
                benteng::iso20022::context(&app.services, Vec::new()).unwrap(),
            ),
            signer: Signer::new(&bank_identity.pkcs8, &bank_identity.cert_der).unwrap(),
            bic: Bic::parse(PARTNER_BIC).unwrap(),
        },
        bank_client.clone(),
        report_url.clone(),
    )
    .await;

    let (tenant, key) = app.tenant_with_key().await;
    fund(&app, tenant.id, "1000.00", Currency::EUR).await;
    let recipient = recipient(&app, &key, "DE89370400440532013000").await;
    let paid = iban_transfer(&app, &key, &recipient, "Invoice 10").await;
    let rejected = iban_transfer(&app, &key, &recipient, "please REJECT").await;
    let held = iban_transfer(&app, &key, &recipient, "HOLD 11").await;

    // Out over the pinned client, back over mTLS signed by the bank: settled and rejected.
    let completed = wait_for_status(&app, &key, &paid, "COMPLETED").await;
    let history = completed["history"].to_string();
    assert!(history.contains("submitted to iso20022"), "{history}");
    assert!(history.contains("partner bank reported ACSC"), "{history}");
    wait_for_status(&app, &key, &rejected, "FAILED").await;
    wait_for_status(&app, &key, &held, "SUBMITTED").await;

    // What the bank received: the stored signed bytes, byte for byte, each marked delivered
    // (at least once: an answer that comes back too late is sent again, the same bytes, which
    // a bank takes as the same message id).
    let mut sql = app.raw_sql().await;
    let mut stored: Vec<(String, String, Option<i64>)> = Vec::new();
    for _ in 0..100 {
        stored = sqlx::query(
            "SELECT message_id, signed_xml, delivered_at FROM iso20022_messages \
             WHERE direction = 'out' ORDER BY message_id",
        )
        .fetch_all(&mut sql)
        .await
        .unwrap()
        .iter()
        .map(|r| (r.get(0), r.get(1), r.get(2)))
        .collect();
        if stored.len() == 3 && stored.iter().all(|(_, _, delivered)| delivered.is_some()) {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert_eq!(stored.len(), 3);
    let received = bank.received.lock().unwrap().clone();
    for (id, xml, delivered_at) in &stored {
        assert!(delivered_at.is_some(), "{id} not delivered");
        assert!(
            received.iter().any(|r| r.as_slice() == xml.as_bytes()),
            "{id}: the bank never received the stored bytes"
        );
    }
    assert!(
        received.iter().all(|r| stored
            .iter()
            .any(|(_, xml, _)| r.as_slice() == xml.as_bytes())),
        "the bank received bytes that were not stored"
    );
    let held_message: String = sqlx::query(
        "SELECT message_id FROM iso20022_messages WHERE transfer_id = $1 AND direction = 'out'",
    )
    .bind(&held)
    .fetch_one(&mut sql)
    .await
    .unwrap()
    .get(0);
    let held_e2e = held.replace('-', "");

    // The held transfer's report, from the wrong connections: each refused with problem+json,
    // a security event each, the transfer not moved.
    let good = status_report(&bank_identity, &held_message, &held_e2e);
    let before = refused_events(&app).await;
    let response = post_report(&app.client, &report_url, good.clone()).await;
    assert_eq!(response.status(), reqwest::StatusCode::UNAUTHORIZED);
    assert_eq!(
        response.headers()["content-type"],
        "application/problem+json"
    );
    let (other_cert, other_key) = crate::tls::client_cert(&app.env, "not-the-bank");
    let stranger_client = app.env.client_with_identity(&other_cert, &other_key);
    let response = post_report(&stranger_client, &report_url, good.clone()).await;
    assert_eq!(response.status(), reqwest::StatusCode::FORBIDDEN);
    let problem: serde_json::Value = response.json().await.unwrap();
    assert!(
        problem["type"]
            .as_str()
            .unwrap()
            .ends_with("client-certificate-refused"),
        "{problem}"
    );
    // The bank's connection, but signed by someone else, or altered after signing.
    let forged = status_report(&identity("stranger"), &held_message, &held_e2e);
    let tampered = String::from_utf8(good.clone())
        .unwrap()
        .replacen("<TxSts>ACSC", "<TxSts>ACCC", 1)
        .into_bytes();
    for (body, reason) in [
        (forged, "the signing certificate is not registered"),
        (
            tampered,
            "Document reference (no URI): digest does not match",
        ),
    ] {
        let response = post_report(&bank_client, &report_url, body).await;
        assert_eq!(response.status(), reqwest::StatusCode::UNPROCESSABLE_ENTITY);
        assert_eq!(
            response.headers()["content-type"],
            "application/problem+json"
        );
        let problem: serde_json::Value = response.json().await.unwrap();
        assert!(
            problem["detail"].as_str().unwrap().contains(reason),
            "{problem}"
        );
    }
    let response = bank_client
        .post(&report_url)
        .header("content-type", "application/json")
        .body("{}")
        .send()
        .await
        .unwrap();
    assert_eq!(
        response.status(),
        reqwest::StatusCode::UNSUPPORTED_MEDIA_TYPE
    );
    assert_eq!(refused_events(&app).await, before + 4);
    wait_for_status(&app, &key, &held, "SUBMITTED").await;

    // The right connection and signature: settled, once; the replay does nothing.
    let response = post_report(&bank_client, &report_url, good.clone()).await;
    assert_eq!(response.status(), reqwest::StatusCode::OK);
    let body: serde_json::Value = response.json().await.unwrap();
    assert!(
        body["results"][0]
            .as_str()
            .unwrap()
            .contains("SUBMITTED → COMPLETED")
    );
    wait_for_status(&app, &key, &held, "COMPLETED").await;
    let response = post_report(&bank_client, &report_url, good).await;
    assert_eq!(response.status(), reqwest::StatusCode::OK);
    let body: serde_json::Value = response.json().await.unwrap();
    assert!(
        body["results"][0]
            .as_str()
            .unwrap()
            .contains("already ingested")
    );
    let completions: i64 = sqlx::query(
        "SELECT COUNT(*) AS n FROM transfer_events WHERE transfer_id = $1 AND to_status = 'COMPLETED'",
    )
    .bind(&held)
    .fetch_one(&mut sql)
    .await
    .unwrap()
    .get("n");
    assert_eq!(completions, 1);
}

async fn a_rotated_signing_key_signs_after_the_overlap_and_the_old_one_verifies_until_it_ends(
    backend: Backend,
) {
    use benteng_core::clock::{Clock, ManualClock};
    use std::sync::Arc;
    let clock = Arc::new(ManualClock::new(time::OffsetDateTime::now_utc()));
    let dir = tempfile::tempdir().unwrap();
    let app = TestApp::spawn_with_clock(
        backend,
        |config| {
            let mut iso = rail_config(dir.path(), dir.path());
            iso.outbox_dir = None;
            iso.inbox_dir = None;
            iso.simulate_counterparty = false;
            config.iso20022 = Some(iso);
        },
        clock.clone(),
    )
    .await;
    let context = benteng_core::audit::AuditContext::system("test");
    let iso = benteng::iso20022::context(&app.services, Vec::new()).unwrap();
    let sign_now = || async {
        let (key_id, signer) = iso.active_signer().await.unwrap();
        let header = Header {
            message_id: MessageId::new(),
            created_at: clock.now(),
            settlement_date: clock.now().date(),
            to: Bic::parse(PARTNER_BIC).unwrap(),
        };
        let status = TransactionStatus {
            original_message_id: MessageId::new(),
            original_kind: MessageKind::Pacs008,
            original_end_to_end_id: "e2e".into(),
            status: "ACSC".into(),
            reason: None,
        };
        let unsigned = pacs002(&Bic::parse("BNTGNL2AXXX").unwrap(), &header, &[status]).unwrap();
        (key_id, signer.sign(&unsigned).unwrap().into_bytes())
    };

    let first = benteng::iso20022::rotate_signing_key(&app.services, &context)
        .await
        .unwrap();
    assert_eq!(first.signs_from, clock.now(), "the first key signs at once");
    let (signer, signed_by_first) = sign_now().await;
    assert_eq!(signer, first.id);

    // The rotation: the new key is handed out now and signs only after the overlap.
    let second = benteng::iso20022::rotate_signing_key(&app.services, &context)
        .await
        .unwrap();
    let overlap = benteng_rails::iso20022::KEY_OVERLAP;
    assert_eq!(second.signs_from, clock.now() + overlap);
    assert_eq!(sign_now().await.0, first.id);

    // After the overlap the new key signs; what the old one signed still verifies.
    clock.advance(overlap + time::Duration::seconds(1));
    let (signer, signed_by_second) = sign_now().await;
    assert_eq!(signer, second.id);
    let verifier = iso.verifier().await.unwrap();
    assert!(verifier.verify(&signed_by_first).is_ok());
    assert!(verifier.verify(&signed_by_second).is_ok());

    // One overlap later the old key is retired: its messages no longer verify.
    clock.advance(overlap);
    let verifier = iso.verifier().await.unwrap();
    assert_eq!(
        verifier.verify(&signed_by_first).unwrap_err().to_string(),
        "the signing certificate is not registered for any counterparty"
    );
    assert!(verifier.verify(&signed_by_second).is_ok());
    assert_eq!(sign_now().await.0, second.id);

    // Both rotations are audited with the moment each key signs from.
    let mut sql = app.raw_sql().await;
    let created: i64 = sqlx::query(
        "SELECT COUNT(*) AS n FROM audit_events WHERE event_type = 'iso20022.signing_key_created'",
    )
    .fetch_one(&mut sql)
    .await
    .unwrap()
    .get("n");
    assert_eq!(created, 2);
}

/// The shared test data (`../shared/testdata/iso20022`, beside the repository).
fn testdata() -> std::path::PathBuf {
    crate::harness::shared_testdata("iso20022")
}

/// The `AppHdr` or `Document` of an envelope as a standalone document (each declares its own
/// default namespace, and the signature its `ds` prefix).
fn envelope_part(xml: &str, local: &str) -> String {
    let start = xml.find(&format!("<{local} ")).unwrap();
    let close = format!("</{local}>");
    let end = xml.find(&close).unwrap() + close.len();
    format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n{}",
        &xml[start..end]
    )
}

/// The message without the indentation between elements, to look for nested elements.
fn compact(xml: &str) -> String {
    xml.lines().map(str::trim).collect()
}

fn run_tool(program: &str, args: &[&str]) -> (bool, String) {
    let output = std::process::Command::new(program)
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("{program} could not run ({e}); scripts/test installs it"));
    (
        output.status.success(),
        format!(
            "{}{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        ),
    )
}

/// `xmllint --schema` on the AppHdr (head.001.001.02) and the Document (`document_xsd`).
fn schema_valid(dir: &std::path::Path, xml: &str, document_xsd: &str) -> Result<(), String> {
    for (local, xsd) in [
        ("AppHdr", "head.001.001.02.xsd"),
        ("Document", document_xsd),
    ] {
        let file = dir.join(format!("{local}.xml"));
        std::fs::write(&file, envelope_part(xml, local)).unwrap();
        let schema = testdata().join("xsd").join(xsd);
        let (ok, said) = run_tool(
            "xmllint",
            &[
                "--noout",
                "--nonet",
                "--schema",
                schema.to_str().unwrap(),
                file.to_str().unwrap(),
            ],
        );
        if !ok {
            return Err(format!("{local} against {xsd}: {said}"));
        }
    }
    Ok(())
}

/// xmlsec1 on the AppHdr as the standalone document it was digested as: what it says about
/// the SignedInfo references (it checks the AppHdr and KeyInfo ones and cannot resolve the
/// URI-less Document reference; the library's interop tests cover that one independently).
fn xmlsec1_says(dir: &std::path::Path, xml: &str, cert_pem: &str) -> String {
    let cert = dir.join("signer.pem");
    std::fs::write(&cert, cert_pem).unwrap();
    let file = dir.join("apphdr.xml");
    std::fs::write(&file, envelope_part(xml, "AppHdr")).unwrap();
    run_tool(
        "xmlsec1",
        &[
            "--verify",
            "--print-debug",
            "--insecure",
            "--pubkey-cert-pem",
            cert.to_str().unwrap(),
            "--enabled-reference-uris",
            "empty,same-doc",
            file.to_str().unwrap(),
        ],
    )
    .1
}

fn pem_of(der: &[u8]) -> String {
    use base64::Engine;
    let body = base64::engine::general_purpose::STANDARD.encode(der);
    let lines: Vec<&str> = body
        .as_bytes()
        .chunks(64)
        .map(|c| std::str::from_utf8(c).unwrap())
        .collect();
    format!(
        "-----BEGIN CERTIFICATE-----\n{}\n-----END CERTIFICATE-----\n",
        lines.join("\n")
    )
}

/// A recipient with an IBAN and, when given, its bank's BIC: its id.
async fn recipient_with_bic(app: &TestApp, key: &str, iban: &str, bic: Option<&str>) -> String {
    let mut body = serde_json::json!({"type": "business", "name": "Lindqvist & Søn ApS",
        "country": "DE", "address": {"line1": "Königsallee 12", "city": "Düsseldorf",
        "postal_code": "40212", "country": "DE"}, "bank_account": {"iban": iban}});
    if let Some(bic) = bic {
        body["bic"] = bic.into();
    }
    let response = app.post_json("/v1/recipients", key, &body).await;
    assert_eq!(response.status(), reqwest::StatusCode::CREATED);
    let created: serde_json::Value = response.json().await.unwrap();
    created["id"].as_str().unwrap().to_owned()
}

async fn a_recipient_s_bic_is_checked_stored_and_sent_as_the_creditor_agent(backend: Backend) {
    let drops = tempfile::tempdir().unwrap();
    let (outbox, inbox) = (drops.path().join("outbox"), drops.path().join("inbox"));
    let app = TestApp::spawn_with(backend, |config| {
        config.iso20022 = Some(rail_config(&outbox, &inbox));
        config.rail.sandbox_settle_after_ms = 600_000;
    })
    .await;
    benteng::iso20022::rotate_signing_key(
        &app.services,
        &benteng_core::audit::AuditContext::system("test"),
    )
    .await
    .unwrap();
    let (tenant, key) = app.tenant_with_key().await;
    fund(&app, tenant.id, "1000.00", Currency::EUR).await;

    // Refused with problem+json naming the field: the wrong length, a country that is not
    // one, lower case. Nothing stored.
    for (bic, code) in [
        ("COBADEFF1", "invalid_format"),
        ("COBAQQFFXXX", "unknown_value"),
        ("cobadeffxxx", "invalid_format"),
        ("COBADE", "invalid_format"),
    ] {
        let response = app
            .post_json(
                "/v1/recipients",
                &key,
                &serde_json::json!({"type": "business", "name": "Bank Kunde", "country": "DE",
                    "bank_account": {"iban": "DE89370400440532013000"}, "bic": bic}),
            )
            .await;
        assert_eq!(
            response.status(),
            reqwest::StatusCode::UNPROCESSABLE_ENTITY,
            "{bic}"
        );
        assert_eq!(
            response.headers()["content-type"],
            "application/problem+json"
        );
        let problem: serde_json::Value = response.json().await.unwrap();
        assert_eq!(problem["errors"][0]["field"], "bic", "{problem}");
        assert_eq!(problem["errors"][0]["code"], code, "{bic}: {problem}");
    }
    let listed: serde_json::Value = app
        .get("/v1/recipients", Some(&key))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(listed["data"].as_array().unwrap().len(), 0);

    // Stored and shown; one without a BIC shows null.
    let with = recipient_with_bic(&app, &key, "DE89370400440532013000", Some("COBADEFFXXX")).await;
    let shown: serde_json::Value = app
        .get(&format!("/v1/recipients/{with}"), Some(&key))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(shown["bic"], "COBADEFFXXX");
    let without = recipient_with_bic(&app, &key, "GB29NWBK60161331926819", None).await;
    let shown: serde_json::Value = app
        .get(&format!("/v1/recipients/{without}"), Some(&key))
        .await
        .json()
        .await
        .unwrap();
    assert!(shown["bic"].is_null(), "{shown}");

    // The pacs.008 names it as the creditor agent; the one without names no bank.
    let paid = iban_transfer(&app, &key, &with, "Invoice 11").await;
    let other = iban_transfer(&app, &key, &without, "Invoice 12").await;
    wait_for_status(&app, &key, &paid, "COMPLETED").await;
    wait_for_status(&app, &key, &other, "COMPLETED").await;
    let check = tempfile::tempdir().unwrap();
    let mut seen = 0;
    for file in files(&outbox.join("taken")) {
        let xml = std::fs::read_to_string(&file).unwrap();
        schema_valid(check.path(), &xml, "pacs.008.001.08.xsd").unwrap();
        let agent = "<CdtrAgt><FinInstnId><BICFI>COBADEFFXXX</BICFI></FinInstnId></CdtrAgt>";
        if xml.contains(&paid.replace('-', "")) {
            assert!(compact(&xml).contains(agent), "{xml}");
            seen += 1;
        } else {
            assert!(
                compact(&xml).contains("<CdtrAgt><FinInstnId></FinInstnId></CdtrAgt>"),
                "{xml}"
            );
            seen += 1;
        }
    }
    assert_eq!(seen, 2);
}

/// pain.001 batches through the rail: a tenant's transfers in one currency, closed at the
/// batch size or by `benteng iso20022 batch`, each signed (three references), stored and
/// handed over once, valid against the XSDs (xmllint) with an AppHdr signature xmlsec1
/// verifies; the simulated bank's signed pacs.002/pacs.004 move each transfer on its own.
async fn pain001_batches_go_through_the_rail_and_each_transfer_completes_on_its_own(
    backend: Backend,
) {
    let drops = tempfile::tempdir().unwrap();
    let (outbox, inbox) = (drops.path().join("outbox"), drops.path().join("inbox"));
    let mut rail = rail_config(&outbox, &inbox);
    rail.message = benteng::config::OutgoingMessage::Pain001;
    // Closed by size (3) here; the window is far, so the rest waits for the cut-off.
    rail.batch_max_transfers = 3;
    rail.batch_window_ms = 600_000;
    let app = TestApp::spawn_with(backend, |config| {
        config.iso20022 = Some(rail);
        config.rail.sandbox_settle_after_ms = 600_000;
    })
    .await;
    let key_row = benteng::iso20022::rotate_signing_key(
        &app.services,
        &benteng_core::audit::AuditContext::system("test"),
    )
    .await
    .unwrap();
    let platform_cert = benteng::iso20022::certificate_der(&key_row).unwrap();
    // The CLI's view of the same counterparty: sent pain.001 batches.
    let config_file = app.data_dir().join("iso20022-pain001.toml");
    std::fs::write(
        &config_file,
        format!(
            r#"
[iso20022]
name = "Benteng Payments B.V."
bic = "BNTGNL2AXXX"
iban = "NL91ABNA0417164300"
town_name = "Amsterdam"
country = "NL"
counterparty_bic = "{PARTNER_BIC}"
message = "pain.001"
batch_max_transfers = 3
batch_window_ms = 600000
"#
        ),
    )
    .unwrap();
    let config = config_file.to_str().unwrap().to_owned();
    let env = app.environment();
    let cli = |args: &[&str]| {
        let mut all = vec!["--config".to_owned(), config.clone()];
        all.extend(args.iter().map(|s| s.to_string()));
        async move {
            let all: Vec<&str> = all.iter().map(String::as_str).collect();
            cli_with_env(env, &[], &all).await
        }
    };

    let (tenant, key) = app.tenant_with_key().await;
    fund(&app, tenant.id, "1000.00", Currency::EUR).await;
    let banked =
        recipient_with_bic(&app, &key, "DE89370400440532013000", Some("COBADEFFXXX")).await;
    let (other_tenant, other_key) = app.tenant_with_key().await;
    fund(&app, other_tenant.id, "1000.00", Currency::EUR).await;
    let unbanked = recipient_with_bic(&app, &other_key, "GB29NWBK60161331926819", None).await;

    let mut ids = Vec::new();
    for reference in ["Invoice 1", "please REJECT", "please RETURN"] {
        ids.push(iban_transfer(&app, &key, &banked, reference).await);
    }
    // The first three make one batch as soon as they are submitted (the size).
    let completed = wait_for_status(&app, &key, &ids[0], "COMPLETED").await;
    let history = completed["history"].to_string();
    assert!(history.contains("submitted to iso20022"), "{history}");
    assert!(
        history.contains("simulated counterparty reported ACSC"),
        "{history}"
    );
    wait_for_status(&app, &key, &ids[1], "FAILED").await;
    let returned = wait_for_status(&app, &key, &ids[2], "RETURNED").await;
    assert!(
        returned["history"]
            .to_string()
            .contains("simulated counterparty returned 100.00 EUR: AC04"),
        "{returned}"
    );

    // A fourth, and one of another tenant: under the size, within the window, they wait.
    let fourth = iban_transfer(&app, &key, &banked, "Invoice 4").await;
    let others = iban_transfer(&app, &other_key, &unbanked, "Invoice 5").await;
    wait_for_status(&app, &key, &fourth, "SUBMITTED").await;
    wait_for_status(&app, &other_key, &others, "SUBMITTED").await;
    tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    let (ok, _, err) = cli(&["iso20022", "render", &fourth]).await;
    assert!(!ok);
    assert!(err.contains("in no pain.001 batch yet"), "{err}");
    // The cut-off: one batch per tenant, then nothing left.
    let (ok, out, err) = cli(&["iso20022", "batch"]).await;
    assert!(ok, "{err}");
    assert_eq!(
        out.lines()
            .filter(|l| l.ends_with("pain.001 with 1 transfer(s)"))
            .count(),
        2,
        "{out}"
    );
    let (ok, out, _) = cli(&["iso20022", "batch"]).await;
    assert!(ok);
    assert!(out.contains("no transfer waits for a batch"), "{out}");
    wait_for_status(&app, &key, &fourth, "COMPLETED").await;
    wait_for_status(&app, &other_key, &others, "COMPLETED").await;
    // Two paid (100.50 each), the rejected one voided, the returned one's principal back
    // and its fee kept: 1000 − 2 × 100.50 − 0.50.
    assert_eq!(
        crate::payments::balance(&app, &key, "EUR").await,
        ("798.50".to_owned(), "0.00".to_owned())
    );
    crate::payments::ledger_ok(&app).await;

    // What the bank took: three pain.001 signed by the platform, nothing else.
    let sent = files(&outbox.join("taken"));
    assert_eq!(sent.len(), 3, "{sent:?}");
    let mut registry = Registry::new();
    registry.register("platform", &platform_cert).unwrap();
    let verifier = Verifier::new(registry);
    let check = tempfile::tempdir().unwrap();
    let platform_pem = pem_of(&platform_cert);
    let mut first_batch = None;
    for file in &sent {
        let xml = std::fs::read_to_string(file).unwrap();
        let verified = verifier.verify(xml.as_bytes()).unwrap();
        assert_eq!(verified.kind, MessageKind::Pain001);
        schema_valid(check.path(), &xml, "pain.001.001.09.xsd").unwrap();
        let said = xmlsec1_says(check.path(), &xml, &platform_pem);
        assert!(
            said.contains("SignedInfo References (ok/all): 2/3"),
            "{said}"
        );
        // What was sent is what is stored, byte for byte.
        let message_id = between(&xml, "<BizMsgIdr>", "</BizMsgIdr>").to_owned();
        let (ok, stored, err) = cli(&["iso20022", "render", &message_id]).await;
        assert!(ok, "{err}");
        assert_eq!(stored, xml);
        if xml.contains("<NbOfTxs>3</NbOfTxs>") {
            first_batch = Some(xml);
        }
    }
    let first = first_batch.expect("the batch of three");
    for id in &ids {
        assert!(first.contains(&format!("<EndToEndId>{}</EndToEndId>", id.replace('-', ""))));
    }
    assert!(first.contains("<CtrlSum>300.00</CtrlSum>"), "{first}");
    assert!(
        compact(&first)
            .contains("<CdtrAgt><FinInstnId><BICFI>COBADEFFXXX</BICFI></FinInstnId></CdtrAgt>")
    );
    assert!(
        first.contains("<Nm>Lindqvist + Son ApS</Nm>"),
        "transliterated: {first}"
    );
    // `render` of any transfer it carries prints that batch.
    let (ok, rendered, err) = cli(&["iso20022", "render", &ids[1]]).await;
    assert!(ok, "{err}");
    assert_eq!(rendered, first);

    // The outside verifiers can fail: a changed code breaks the schema, a changed AppHdr the
    // signature.
    let broken = first.replacen("<PmtMtd>TRF</PmtMtd>", "<PmtMtd>XXX</PmtMtd>", 1);
    assert!(schema_valid(check.path(), &broken, "pain.001.001.09.xsd").is_err());
    let created = between(&first, "<CreDt>", "</CreDt>");
    let moved = first.replacen(
        &format!("<CreDt>{created}</CreDt>"),
        "<CreDt>2000-01-01T00:00:00+00:00</CreDt>",
        1,
    );
    let said = xmlsec1_says(check.path(), &moved, &platform_pem);
    assert!(
        said.contains("SignedInfo References (ok/all): 0/1"),
        "{said}"
    );

    // Stored once: three batches carrying five transfers, each transfer in one; the reports
    // ingested (a pacs.002 per batch and the pacs.004), none refused.
    let mut sql = app.raw_sql().await;
    for (query, expected) in [
        (
            "SELECT COUNT(*) AS n FROM iso20022_messages WHERE direction = 'out'",
            3,
        ),
        ("SELECT COUNT(*) AS n FROM iso20022_batch_transfers", 5),
        (
            "SELECT COUNT(*) AS n FROM audit_events WHERE event_type = 'iso20022.message_signed'",
            3,
        ),
    ] {
        let n: i64 = sqlx::query(query)
            .fetch_one(&mut sql)
            .await
            .unwrap()
            .get("n");
        assert_eq!(n, expected, "{query}");
    }
    assert_eq!(files(&inbox.join("done")).len(), 4);
    assert!(files(&inbox.join("refused")).is_empty());
    assert_eq!(refused_events(&app).await, 0);
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
}

/// The same batches over HTTPS: the pain.001 POSTed through the pinned client, the bank's
/// signed pacs.002 back over mTLS, each transfer moved on its own; the bank received exactly
/// the stored bytes.
async fn a_pain001_batch_goes_out_over_https_and_its_report_comes_back_over_mtls(backend: Backend) {
    let env = crate::harness::Environment::new(backend).await;
    let dev = benteng_transport::generate_dev_certs(&env.data_dir.path().join("tls")).unwrap();
    let server_pem = std::fs::read(&dev.server_cert).unwrap();
    let leaf = benteng_transport::tls::certs_from_pem(&server_pem).unwrap();
    let pin = benteng_transport::client::spki_pin_base64(leaf[0].as_ref()).unwrap();
    let bank_identity = identity("partner bank");
    let signing_cert = env.data_dir.path().join("bank-signing.pem");
    std::fs::write(&signing_cert, &bank_identity.cert_pem).unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let bank_url = format!("https://{}/pacs008", listener.local_addr().unwrap());
    let mut config = https_config(env.data_dir.path(), bank_url, &dev, pin, &signing_cert);
    config.message = benteng::config::OutgoingMessage::Pain001;
    config.batch_max_transfers = 2;
    config.batch_window_ms = 600_000;
    let app = TestApp::spawn_in_with(env, |c| {
        c.iso20022 = Some(config);
        c.rail.sandbox_settle_after_ms = 600_000;
    })
    .await;
    let context = benteng_core::audit::AuditContext::system("test");
    benteng::iso20022::rotate_signing_key(&app.services, &context)
        .await
        .unwrap();
    let bank_client = app
        .env
        .client_with_identity(&dev.client_cert, &dev.client_key);
    let bank = serve_bank(
        listener,
        &dev,
        benteng_rails::iso20022::SimulatedCounterparty {
            iso: std::sync::Arc::new(
                benteng::iso20022::context(&app.services, Vec::new()).unwrap(),
            ),
            signer: Signer::new(&bank_identity.pkcs8, &bank_identity.cert_der).unwrap(),
            bic: Bic::parse(PARTNER_BIC).unwrap(),
        },
        bank_client,
        app.url("/iso20022/status-reports"),
    )
    .await;

    let (tenant, key) = app.tenant_with_key().await;
    fund(&app, tenant.id, "1000.00", Currency::EUR).await;
    let recipient = recipient(&app, &key, "DE89370400440532013000").await;
    let paid = iban_transfer(&app, &key, &recipient, "Invoice 20").await;
    let rejected = iban_transfer(&app, &key, &recipient, "please REJECT").await;
    let completed = wait_for_status(&app, &key, &paid, "COMPLETED").await;
    assert!(
        completed["history"]
            .to_string()
            .contains("partner bank reported ACSC"),
        "{completed}"
    );
    wait_for_status(&app, &key, &rejected, "FAILED").await;

    let mut sql = app.raw_sql().await;
    let mut stored: Vec<(String, String, Option<i64>)> = Vec::new();
    for _ in 0..100 {
        stored = sqlx::query(
            "SELECT kind, signed_xml, delivered_at FROM iso20022_messages WHERE direction = 'out'",
        )
        .fetch_all(&mut sql)
        .await
        .unwrap()
        .iter()
        .map(|r| (r.get(0), r.get(1), r.get(2)))
        .collect();
        if stored.iter().all(|(_, _, delivered)| delivered.is_some()) {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert_eq!(stored.len(), 1, "one batch");
    let (kind, xml, delivered_at) = &stored[0];
    assert_eq!(kind, "pain.001.001.09");
    assert!(delivered_at.is_some());
    let received = bank.received.lock().unwrap().clone();
    assert!(!received.is_empty());
    assert!(
        received.iter().all(|r| r.as_slice() == xml.as_bytes()),
        "the bank received bytes that were not stored"
    );
    assert_eq!(refused_events(&app).await, 0);
}
