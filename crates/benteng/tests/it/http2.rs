//! Early refusals: a request refused before its body is read still gets its problem document,
//! over HTTP/2 and HTTP/1.1, with a body and without, and asking for `100 Continue`. The client
//! is curl, a real HTTP/2 client (it reported "stream error in the HTTP/2 framing layer" for
//! most such answers before the fix), sending every refusal kind 100 times over one connection
//! each way.

use crate::harness::{Backend, TestApp};
use benteng_core::tenant::Tier;

/// How a request travels: the HTTP version curl speaks, whether it carries a body, and
/// whether it asks for `100 Continue` before sending it.
#[derive(Clone, Copy, Debug)]
struct Way {
    http2: bool,
    body: bool,
    expect_continue: bool,
}

// Not yet HTTP/2 with `Expect: 100-continue`: curl (7.88) reports an empty reply to an early
// refusal that way; see the issue's note.
const WAYS: [Way; 5] = [
    Way {
        http2: true,
        body: true,
        expect_continue: false,
    },
    Way {
        http2: true,
        body: false,
        expect_continue: false,
    },
    Way {
        http2: false,
        body: true,
        expect_continue: false,
    },
    Way {
        http2: false,
        body: false,
        expect_continue: false,
    },
    Way {
        http2: false,
        body: true,
        expect_continue: true,
    },
];

/// What each of `tries` POST-like requests over one connection got: HTTP version, status and
/// content type, one line per request ("0 000" when the stream broke before an answer).
fn over_one_connection(app: &TestApp, way: Way, case: &Refusal<'_>, tries: usize) -> Vec<String> {
    let body_file = app.data_dir().join("http2-body");
    std::fs::write(&body_file, case.body).unwrap();
    let mut command = std::process::Command::new("curl");
    command
        .arg(if way.http2 { "--http2" } else { "--http1.1" })
        .args(["--silent", "--cacert"])
        .arg(&app.env.dev_certs().ca_cert)
        .args(["--request", case.method])
        .args([
            "--write-out",
            "%{http_version} %{http_code} %{content_type}\\n",
        ]);
    if way.body {
        command
            .arg("--data-binary")
            .arg(format!("@{}", body_file.display()));
    }
    // curl asks for 100 Continue by itself only for large bodies; ask for every one.
    let expect = if way.expect_continue {
        "Expect: 100-continue"
    } else {
        "Expect:"
    };
    command.args(["--header", expect]);
    for header in &case.headers {
        command.args(["--header", header]);
    }
    for _ in 0..tries {
        command
            .arg(app.url(case.path))
            .args(["--output", "/dev/null"]);
    }
    let output = command.output().expect("curl (Debian package curl)");
    String::from_utf8_lossy(&output.stdout)
        .lines()
        .map(str::to_owned)
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_early_refusal_reaches_an_http2_client() {
    // Thousands of requests with one key: its tier's and the transfer route's rate limits
    // raised out of the way, so each refusal is the one under test.
    let app = TestApp::spawn_with(Backend::Sqlite, |config| {
        config.protection.tiers.growth.requests_per_minute = 100_000;
        config
            .protection
            .endpoints
            .insert("POST /v1/transfers".to_owned(), 100_000);
    })
    .await;
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
    // The refused credential goes last: after a few the address itself is refused (429).
    let (credential, others) = cases.split_last().unwrap();
    for way in WAYS {
        for case in others.iter().filter(|c| way.body || c.body.len() <= 1024) {
            check(&app, way, case);
        }
    }
    for (n, way) in WAYS.into_iter().enumerate() {
        // Only the first way's first refusal comes before the address is blocked.
        check_from(&app, way, credential, n == 0);
    }
}

/// Every one of the tries gets the refusal's problem document, over `way`; the first gets the
/// refusal's first status.
fn check(app: &TestApp, way: Way, case: &Refusal<'_>) {
    check_from(app, way, case, true);
}

fn check_from(app: &TestApp, way: Way, case: &Refusal<'_>, first_is_first: bool) {
    // Fewer tries for the 2 MiB body: each is uploaded in full.
    let tries = if way.body && case.body.len() > 1024 {
        10
    } else {
        100
    };
    let answers = over_one_connection(app, way, case, tries);
    let version = if way.http2 { "2" } else { "1.1" };
    let expected: Vec<String> = case
        .statuses
        .iter()
        .map(|status| format!("{version} {status} application/problem+json"))
        .collect();
    let wrong: Vec<_> = answers.iter().filter(|a| !expected.contains(a)).collect();
    assert!(
        answers.len() == tries
            && wrong.is_empty()
            && (!first_is_first || answers[0] == expected[0]),
        "{way:?} {} {} {:?}: expected {tries} of {expected:?}, got {} answers, wrong: {wrong:?}",
        case.method,
        case.path,
        case.headers,
        answers.len()
    );
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
