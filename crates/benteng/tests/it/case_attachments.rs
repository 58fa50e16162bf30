//! Case attachments: files staff add to a case through the operator API (the raw body) and the
//! console's form (`multipart/form-data` with the CSRF field), sealed at rest, served back as
//! downloads, and refused whole when they are of the wrong type, not what they claim, too
//! large, badly named, unpermitted, forged or late (the case closed).

use benteng_core::roles::StaffRole;
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::console::{Held, held_transfer_in};
use crate::harness::{Backend, TestApp, on_both_backends};
use crate::people::{Session, audit_types, enrol, get, post, problem_type, sign_in};

on_both_backends!(case_attachments_are_sealed_checked_and_refused_whole);

/// The cap the test sets: above the general 1 MiB body limit, so the raised limit is shown.
const MAX: usize = 1_500_000;

/// An upload that must be refused: name, content type, bytes, status, problem type's end.
type Refusal<'a> = (Option<&'a str>, &'a str, Vec<u8>, StatusCode, &'a str);

/// A marker in the text attachment that must not appear in the database.
const MARKER: &str = "Budi Santoso paid 4,200 to Tehran Trading";

async fn held(backend: Backend) -> Held {
    let app = TestApp::spawn_with(backend, |config| {
        config.people.argon2_memory_kib = 19 * 1024;
        config.people.argon2_iterations = 2;
        config.cases.attachment_max_bytes = MAX;
    })
    .await;
    held_transfer_in(app).await
}

/// A raw upload through the operator API; `csrf` false leaves the session's header off.
async fn upload(
    app: &TestApp,
    session: &Session,
    case: &str,
    filename: Option<&str>,
    content_type: &str,
    bytes: Vec<u8>,
    csrf: bool,
) -> reqwest::Response {
    let mut url =
        reqwest::Url::parse(&app.url(&format!("/admin/v1/cases/{case}/attachments"))).unwrap();
    if let Some(name) = filename {
        url.query_pairs_mut().append_pair("filename", name);
    }
    let mut request = app
        .client
        .post(url)
        .header("cookie", &session.cookie)
        .header("content-type", content_type)
        .body(bytes);
    if csrf {
        request = request.header("x-csrf-token", &session.csrf);
    }
    request.send().await.unwrap()
}

/// One part of a hand-made multipart form (hand-made, so hostile names go out as written).
struct Part<'a> {
    name: &'a str,
    filename: Option<&'a str>,
    content_type: Option<&'a str>,
    bytes: &'a [u8],
}

fn field<'a>(name: &'a str, value: &'a str) -> Part<'a> {
    Part {
        name,
        filename: None,
        content_type: None,
        bytes: value.as_bytes(),
    }
}

fn file<'a>(filename: &'a str, content_type: &'a str, bytes: &'a [u8]) -> Part<'a> {
    Part {
        name: "file",
        filename: Some(filename),
        content_type: Some(content_type),
        bytes,
    }
}

/// The console's upload form, posted as a browser would (the cookie, no header token).
async fn form_upload(
    app: &TestApp,
    session: &Session,
    case: &str,
    parts: &[Part<'_>],
) -> reqwest::Response {
    let boundary = "----bentengtestboundary7MA4YWxkTrZu0gW";
    let mut body = Vec::new();
    for part in parts {
        body.extend_from_slice(format!("--{boundary}\r\n").as_bytes());
        let mut disposition = format!("Content-Disposition: form-data; name=\"{}\"", part.name);
        if let Some(filename) = part.filename {
            disposition.push_str(&format!("; filename=\"{filename}\""));
        }
        body.extend_from_slice(disposition.as_bytes());
        body.extend_from_slice(b"\r\n");
        if let Some(content_type) = part.content_type {
            body.extend_from_slice(format!("Content-Type: {content_type}\r\n").as_bytes());
        }
        body.extend_from_slice(b"\r\n");
        body.extend_from_slice(part.bytes);
        body.extend_from_slice(b"\r\n");
    }
    body.extend_from_slice(format!("--{boundary}--\r\n").as_bytes());
    app.client
        .post(app.url(&format!("/console/cases/{case}/attachments")))
        .header("cookie", &session.cookie)
        .header(
            "content-type",
            format!("multipart/form-data; boundary={boundary}"),
        )
        .body(body)
        .send()
        .await
        .unwrap()
}

/// What an attachment writes: rows, log entries and `case.attachment_added` events.
async fn written(app: &TestApp) -> (i64, i64, usize) {
    let mut conn = app.raw_sql().await;
    let attachments: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM case_attachments")
        .fetch_one(&mut conn)
        .await
        .unwrap();
    let log: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM case_events")
        .fetch_one(&mut conn)
        .await
        .unwrap();
    let events = audit_types(app)
        .await
        .iter()
        .filter(|e| e["event_type"] == "case.attachment_added")
        .count();
    (attachments, log, events)
}

fn pdf(size: usize) -> Vec<u8> {
    let mut bytes = b"%PDF-1.7\n".to_vec();
    bytes.resize(size, b'x');
    bytes
}

async fn case_detail(app: &TestApp, session: &Session, case: &str) -> Value {
    get(
        &app.client,
        app.url(&format!("/admin/v1/cases/{case}")),
        session,
    )
    .await
    .json()
    .await
    .unwrap()
}

async fn case_attachments_are_sealed_checked_and_refused_whole(backend: Backend) {
    let held = held(backend).await;
    let app = &held.app;
    let analyst = sign_in(app, &held.analyst).await;
    let officer = sign_in(app, &held.officer).await;
    let support = enrol(app, "sue@benteng.example", &[StaffRole::Support]).await;
    let support = sign_in(app, &support).await;
    let inbox: Value = get(&app.client, app.url("/admin/v1/cases"), &analyst)
        .await
        .json()
        .await
        .unwrap();
    let case = inbox[0]["id"].as_str().unwrap().to_owned();
    let before = written(app).await;

    // A PDF larger than the general body limit, and a CSV, go in.
    let statement = pdf(1_200_000);
    let added = upload(
        app,
        &analyst,
        &case,
        Some("Kontoauszug März.pdf"),
        "application/pdf",
        statement.clone(),
        true,
    )
    .await;
    assert_eq!(added.status(), StatusCode::CREATED);
    let added: Value = added.json().await.unwrap();
    assert_eq!(added["filename"], "Kontoauszug März.pdf");
    assert_eq!(added["content_type"], "application/pdf");
    assert_eq!(added["size_bytes"], 1_200_000);
    let csv = format!("name,note\r\n{MARKER},\"checked\"\r\n");
    let added_csv = upload(
        app,
        &officer,
        &case,
        Some("Q&A notes.csv"),
        "text/csv; charset=utf-8",
        csv.clone().into_bytes(),
        true,
    )
    .await;
    assert_eq!(added_csv.status(), StatusCode::CREATED);
    let added_csv: Value = added_csv.json().await.unwrap();
    let (attachments, log, events) = written(app).await;
    assert_eq!(
        (attachments, log, events),
        (before.0 + 2, before.1 + 2, before.2 + 2)
    );

    // At rest: sealed values, never the content.
    let mut conn = app.raw_sql().await;
    let stored: Vec<String> = sqlx::query_scalar("SELECT document FROM case_attachments")
        .fetch_all(&mut conn)
        .await
        .unwrap();
    assert_eq!(stored.len(), 2);
    for document in &stored {
        assert!(document.starts_with("v1."), "not sealed");
        // (Base64url has no `%`; the marker is too long to occur by chance.)
        assert!(!document.contains(MARKER) && !document.contains("%PDF"));
    }
    // Attachments are never changed or removed, on either backend.
    for statement in [
        "UPDATE case_attachments SET filename = 'renamed.pdf'",
        "DELETE FROM case_attachments",
    ] {
        assert!(
            sqlx::query(statement).execute(&mut conn).await.is_err(),
            "{statement}"
        );
    }
    drop(conn);

    // Read back: the same bytes, as a download of its stored type, audited as a read of
    // personal data (for staff only: no tenant on the event).
    let reads_before = audit_types(app)
        .await
        .iter()
        .filter(|e| e["event_type"] == "personal_data.read")
        .count();
    let download = get(
        &app.client,
        app.url(added["download"].as_str().unwrap()),
        &analyst,
    )
    .await;
    assert_eq!(download.status(), StatusCode::OK);
    let headers = download.headers().clone();
    assert_eq!(headers["content-type"], "application/pdf");
    assert_eq!(headers["x-content-type-options"], "nosniff");
    assert_eq!(
        headers["content-security-policy"],
        "default-src 'none'; sandbox"
    );
    assert_eq!(
        headers["content-disposition"],
        "attachment; filename=\"Kontoauszug M_rz.pdf\"; \
         filename*=UTF-8''Kontoauszug%20M%C3%A4rz.pdf"
    );
    assert_eq!(download.bytes().await.unwrap().to_vec(), statement);
    let text = get(
        &app.client,
        app.url(added_csv["download"].as_str().unwrap()),
        &officer,
    )
    .await;
    assert_eq!(text.headers()["content-type"], "text/csv; charset=utf-8");
    assert_eq!(text.text().await.unwrap(), csv);
    let trail = audit_types(app).await;
    let reads: Vec<&Value> = trail
        .iter()
        .filter(|e| e["event_type"] == "personal_data.read")
        .collect();
    assert_eq!(reads.len(), reads_before + 2);
    let read = reads.last().unwrap();
    assert_eq!(read["resource"]["type"], "case_attachment");
    assert_eq!(read["resource"]["id"], added_csv["id"]);
    assert!(read["actor"]["tenant_id"].is_null(), "{read}");
    let added_event = trail
        .iter()
        .find(|e| e["event_type"] == "case.attachment_added")
        .unwrap();
    assert_eq!(added_event["resource"]["id"], case.as_str());
    assert!(added_event["actor"]["tenant_id"].is_null(), "{added_event}");
    let uploader = added["uploaded_by"].as_str().unwrap();
    assert_eq!(added_event["actor"]["by"], uploader);
    assert_eq!(uploader, format!("staff:{}", held.analyst.login));

    // The case lists them (JSON and page), the name escaped on the page, with links.
    let detail = case_detail(app, &analyst, &case).await;
    let listed = detail["attachments"].as_array().unwrap();
    assert_eq!(listed.len(), 2, "{detail}");
    assert_eq!(listed[1]["filename"], "Q&A notes.csv");
    let by = listed[1]["uploaded_by"].as_str().unwrap();
    assert_eq!(by, format!("staff:{}", held.officer.login));
    let log = detail["events"].as_array().unwrap();
    let entry = log
        .iter()
        .find(|e| e["kind"] == "attachment_added")
        .unwrap();
    assert_eq!(entry["data"]["filename"], "Kontoauszug März.pdf");
    let page = get(
        &app.client,
        app.url(&format!("/console/cases/{case}")),
        &analyst,
    )
    .await
    .text()
    .await
    .unwrap();
    assert!(page.contains("Q&amp;A notes.csv"), "{page}");
    assert!(page.contains(&format!(
        "href=\"/admin/v1/cases/{case}/attachments/{}\"",
        added["id"].as_str().unwrap()
    )));
    assert!(page.contains("enctype=\"multipart/form-data\""), "{page}");

    // Refused, each with nothing written: the wrong type, content that is not the declared
    // type (magic bytes; binary as text), empty, too large, a hostile or missing name.
    let png = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR".to_vec();
    let refusals: Vec<Refusal<'_>> = vec![
        (
            Some("a.gif"),
            "image/gif",
            b"GIF89a".to_vec(),
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported-document-type",
        ),
        (
            Some("a.html"),
            "text/html",
            b"<script>alert(1)</script>".to_vec(),
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported-document-type",
        ),
        (
            Some("a.pdf"),
            "application/pdf",
            png.clone(),
            StatusCode::UNPROCESSABLE_ENTITY,
            "document-content-mismatch",
        ),
        (
            Some("a.txt"),
            "text/plain",
            png.clone(),
            StatusCode::UNPROCESSABLE_ENTITY,
            "document-content-mismatch",
        ),
        (
            Some("a.pdf"),
            "application/pdf",
            Vec::new(),
            StatusCode::UNPROCESSABLE_ENTITY,
            "document-empty",
        ),
        (
            Some("big.pdf"),
            "application/pdf",
            pdf(MAX + 1),
            StatusCode::PAYLOAD_TOO_LARGE,
            "document-too-large",
        ),
        (
            Some("<script>alert(1).pdf"),
            "application/pdf",
            pdf(100),
            StatusCode::UNPROCESSABLE_ENTITY,
            "validation-failed",
        ),
        (
            Some("../../etc/passwd"),
            "text/plain",
            b"root:x:0:0".to_vec(),
            StatusCode::UNPROCESSABLE_ENTITY,
            "validation-failed",
        ),
        (
            Some("invoice\u{202E}fdp.exe"),
            "application/pdf",
            pdf(100),
            StatusCode::UNPROCESSABLE_ENTITY,
            "validation-failed",
        ),
        (
            None,
            "application/pdf",
            pdf(100),
            StatusCode::UNPROCESSABLE_ENTITY,
            "validation-failed",
        ),
    ];
    let settled = written(app).await;
    for (name, content_type, bytes, status, slug) in refusals {
        let response = upload(app, &analyst, &case, name, content_type, bytes, true).await;
        assert_eq!(response.status(), status, "{name:?} {content_type}");
        let problem = problem_type(response).await;
        assert!(problem.ends_with(slug), "{name:?}: {problem}");
        assert_eq!(written(app).await, settled, "{name:?} {content_type}");
    }
    // Without the permission (support), or without the CSRF token: refused, nothing written.
    let refused = upload(
        app,
        &support,
        &case,
        Some("a.pdf"),
        "application/pdf",
        pdf(100),
        true,
    )
    .await;
    assert_eq!(refused.status(), StatusCode::FORBIDDEN);
    let refused = get(
        &app.client,
        app.url(added["download"].as_str().unwrap()),
        &support,
    )
    .await;
    assert_eq!(refused.status(), StatusCode::FORBIDDEN);
    let refused = upload(
        app,
        &analyst,
        &case,
        Some("a.pdf"),
        "application/pdf",
        pdf(100),
        false,
    )
    .await;
    assert_eq!(refused.status(), StatusCode::FORBIDDEN);
    assert_eq!(written(app).await, settled);
    // Another case's path, or an unknown one, finds nothing.
    let elsewhere = format!(
        "/admin/v1/cases/{}/attachments/{}",
        uuid::Uuid::new_v4(),
        added["id"].as_str().unwrap()
    );
    let missing = get(&app.client, app.url(&elsewhere), &analyst).await;
    assert_eq!(missing.status(), StatusCode::NOT_FOUND);
    let missing = upload(
        app,
        &analyst,
        &uuid::Uuid::new_v4().to_string(),
        Some("a.pdf"),
        "application/pdf",
        pdf(100),
        true,
    )
    .await;
    assert_eq!(missing.status(), StatusCode::NOT_FOUND);

    // The console's form: without the CSRF field, with a forged one, or with it twice, it is
    // refused before anything is read into the case.
    let note = b"called the recipient's bank: account confirmed".as_slice();
    for csrf in [
        vec![],
        vec!["00".repeat(32)],
        vec![analyst.csrf.clone(), analyst.csrf.clone()],
    ] {
        let mut parts: Vec<Part<'_>> = csrf.iter().map(|t| field("csrf_token", t)).collect();
        parts.push(file("call.txt", "text/plain", note));
        let refused = form_upload(app, &analyst, &case, &parts).await;
        assert_eq!(refused.status(), StatusCode::FORBIDDEN, "{csrf:?}");
    }
    assert_eq!(written(app).await, settled);
    // A hostile name or a mismatched file through the form: a readable refusal page.
    for (name, content_type, bytes) in [
        ("<script>alert(1).txt", "text/plain", note),
        ("call.pdf", "application/pdf", note),
    ] {
        let parts = [
            field("csrf_token", &analyst.csrf),
            file(name, content_type, bytes),
        ];
        let refused = form_upload(app, &analyst, &case, &parts).await;
        let status = refused.status();
        let page = refused.text().await.unwrap();
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{name}: {page}");
        assert!(page.contains("class=\"refused\""), "{page}");
        assert!(!page.contains("<script>alert"), "{page}");
    }
    assert_eq!(written(app).await, settled);
    // With its field, the form attaches and leads back to the case.
    let parts = [
        field("csrf_token", &analyst.csrf),
        file("call notes.txt", "text/plain", note),
    ];
    let attached = form_upload(app, &analyst, &case, &parts).await;
    assert_eq!(attached.status(), StatusCode::OK);
    assert_eq!(attached.url().path(), format!("/console/cases/{case}"));
    assert!(attached.text().await.unwrap().contains("call notes.txt"));
    let detail = case_detail(app, &analyst, &case).await;
    assert_eq!(detail["attachments"].as_array().unwrap().len(), 3);

    // A closed case is never edited: decided with four eyes, it takes no attachment.
    let proposed = post(
        &app.client,
        app.url(&format!("/admin/v1/cases/{case}/proposals")),
        &analyst,
        &json!({"transfer": held.transfer, "decision": "release",
            "reason": "statement on file shows the supplier contract"}),
    )
    .await;
    assert_eq!(proposed.status(), StatusCode::CREATED);
    let proposal: Value = proposed.json().await.unwrap();
    let approved = post(
        &app.client,
        app.url(&format!(
            "/admin/v1/cases/{case}/proposals/{}/approve",
            proposal["id"].as_str().unwrap()
        )),
        &officer,
        &json!({"comment": "agreed, the statement matches the contract"}),
    )
    .await;
    assert_eq!(approved.status(), StatusCode::OK);
    assert_eq!(
        case_detail(app, &analyst, &case).await["case"]["status"],
        "closed"
    );
    let settled = written(app).await;
    let late = upload(
        app,
        &analyst,
        &case,
        Some("late.pdf"),
        "application/pdf",
        pdf(100),
        true,
    )
    .await;
    assert_eq!(late.status(), StatusCode::CONFLICT);
    assert!(problem_type(late).await.ends_with("case-closed"));
    let parts = [
        field("csrf_token", &analyst.csrf),
        file("late.txt", "text/plain", note),
    ];
    let late = form_upload(app, &analyst, &case, &parts).await;
    assert_eq!(late.status(), StatusCode::CONFLICT);
    assert_eq!(written(app).await, settled);
    // The closed case's page offers no upload form; its files are still there to read.
    let page = get(
        &app.client,
        app.url(&format!("/console/cases/{case}")),
        &analyst,
    )
    .await
    .text()
    .await
    .unwrap();
    assert!(!page.contains("enctype=\"multipart/form-data\""));
    let again = get(
        &app.client,
        app.url(added["download"].as_str().unwrap()),
        &analyst,
    )
    .await;
    assert_eq!(again.status(), StatusCode::OK);
}
