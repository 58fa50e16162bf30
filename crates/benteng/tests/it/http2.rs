//! Early refusals over HTTP/2: a request refused before its body is read still gets its problem
//! document. The client is curl, a real HTTP/2 client (it reported "stream error in the HTTP/2
//! framing layer" for most such answers before the fix), sending every refusal kind 100 times
//! over one connection.

use crate::harness::{Backend, TestApp};
use benteng_core::tenant::Tier;

/// What each of `tries` POST-like requests over one HTTP/2 connection got: status and content
/// type, one line per request ("000" when the stream broke before an answer).
fn over_http2(
    app: &TestApp,
    method: &str,
    path: &str,
    headers: &[String],
    body: &[u8],
    tries: usize,
) -> Vec<String> {
    let body_file = app.data_dir().join("http2-body");
    std::fs::write(&body_file, body).unwrap();
    let mut command = std::process::Command::new("curl");
    command
        .args(["--http2", "--silent", "--cacert"])
        .arg(&app.env.dev_certs().ca_cert)
        .args(["--request", method, "--data-binary"])
        .arg(format!("@{}", body_file.display()))
        .args([
            "--write-out",
            "%{http_version} %{http_code} %{content_type}\\n",
        ]);
    for header in headers {
        command.args(["--header", header]);
    }
    for _ in 0..tries {
        command.arg(app.url(path)).args(["--output", "/dev/null"]);
    }
    let output = command.output().expect("curl (Debian package curl)");
    String::from_utf8_lossy(&output.stdout)
        .lines()
        .map(str::to_owned)
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_early_refusal_reaches_an_http2_client() {
    let app = TestApp::spawn(Backend::Sqlite).await;
    let tenant = app.tenant(Tier::Growth).await;
    let key = app.key(tenant.id).await;
    let bearer = format!("Authorization: Bearer {key}");
    let body = br#"{"recipient_id":"00000000-0000-0000-0000-000000000000"}"#;
    let big = vec![b'x'; 2 * 1024 * 1024];
    let json = || vec!["Content-Type: application/json".to_owned()];
    let with_key = |n: usize| {
        let mut headers = json();
        headers.extend(std::iter::repeat_n(bearer.clone(), n));
        headers
    };
    let text_with_key = || vec!["Content-Type: text/plain".to_owned(), bearer.clone()];
    let cases = [
        Refusal::new(&["404"], "POST", "/v1/transferz", json(), body),
        Refusal::new(&["405"], "PATCH", "/v1/quotes", with_key(1), body),
        // An authenticated transfer without its idempotency key.
        Refusal::new(&["400"], "POST", "/v1/transfers", with_key(1), body),
        // The credential sent twice.
        Refusal::new(&["400"], "POST", "/v1/transfers", with_key(2), body),
        Refusal::new(&["413"], "POST", "/v1/transfers", with_key(1), &big),
        Refusal::new(&["415"], "POST", "/v1/recipients", text_with_key(), body),
        // Refused authentication; after a few the address itself is refused (429), so last.
        Refusal::new(&["401", "429"], "POST", "/v1/transfers", json(), body),
    ];
    for case in cases {
        // Fewer tries for the 2 MiB body: each is uploaded in full.
        let tries = if case.body.len() > 1024 { 10 } else { 100 };
        let answers = over_http2(
            &app,
            case.method,
            case.path,
            &case.headers,
            case.body,
            tries,
        );
        let expected: Vec<String> = case
            .statuses
            .iter()
            .map(|status| format!("2 {status} application/problem+json"))
            .collect();
        let wrong: Vec<_> = answers.iter().filter(|a| !expected.contains(a)).collect();
        assert!(
            answers.len() == tries && wrong.is_empty() && answers[0] == expected[0],
            "{} {} {:?}: expected {tries} of {expected:?}, got {} answers, wrong: {wrong:?}",
            case.method,
            case.path,
            case.headers,
            answers.len()
        );
    }
}

/// One kind of early refusal: the statuses it may get (the first is the first answer's).
struct Refusal<'a> {
    statuses: &'a [&'a str],
    method: &'a str,
    path: &'a str,
    headers: Vec<String>,
    body: &'a [u8],
}

impl<'a> Refusal<'a> {
    fn new(
        statuses: &'a [&'a str],
        method: &'a str,
        path: &'a str,
        headers: Vec<String>,
        body: &'a [u8],
    ) -> Self {
        Self {
            statuses,
            method,
            path,
            headers,
            body,
        }
    }
}

/// A body of another type is refused with a detail that says what to send.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unsupported_media_type_says_what_to_send() {
    let app = TestApp::spawn(Backend::Sqlite).await;
    let tenant = app.tenant(Tier::Growth).await;
    let key = app.key(tenant.id).await;
    let response = app
        .client
        .post(app.url("/v1/recipients"))
        .bearer_auth(&key)
        .header("content-type", "text/plain")
        .body("{}")
        .send()
        .await
        .unwrap();
    assert_eq!(
        response.status(),
        reqwest::StatusCode::UNSUPPORTED_MEDIA_TYPE
    );
    let problem: serde_json::Value = response.json().await.unwrap();
    assert_eq!(
        problem["type"],
        "https://benteng.dev/problems/unsupported-media-type"
    );
    assert!(
        problem["detail"]
            .as_str()
            .is_some_and(|d| d.contains("application/json")),
        "{problem}"
    );
}
