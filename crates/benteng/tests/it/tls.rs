//! Transport security as an operator and a client meet it: HTTPS by default with generated
//! development certificates, the plaintext rule, listeners serving route groups, and the mTLS
//! tenant binding. The TLS policy as outside scanners see it is `scanners.rs`.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use benteng::listeners::{ListenerSettings, RouteSelection};
use benteng::{Server, Services};
use benteng_api::RouteGroup;
use rcgen::{
    CertificateParams, DistinguishedName, DnType, ExtendedKeyUsagePurpose, Issuer, KeyPair,
    KeyUsagePurpose, PKCS_ECDSA_P384_SHA384,
};
use reqwest::StatusCode;

use crate::harness::{Backend, Environment, Process, TestApp, cli, command, on_both_backends};

on_both_backends!(
    the_default_listener_serves_https_with_generated_dev_certs,
    mtls_binds_client_certificates_to_tenants,
    cli_refuses_bad_client_certificates,
);

/// The README way: no certificate configured, so the server creates dev certificates in
/// `{data_dir}/tls` and serves HTTPS with them; plain HTTP on the same port gets nothing.
async fn the_default_listener_serves_https_with_generated_dev_certs(backend: Backend) {
    let env = Environment::new(backend).await;
    assert!(!env.dev_certs().ca_cert.exists());
    let server = Process::serve(&env).await;
    let certs = env.dev_certs();
    for file in [&certs.ca_cert, &certs.server_cert, &certs.server_key] {
        assert!(file.exists(), "{} was not created", file.display());
    }
    assert!(server.url("/healthz").starts_with("https://"));
    let response = env
        .client()
        .get(server.url("/healthz"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(
        response.headers()["strict-transport-security"],
        "max-age=31536000; includeSubDomains"
    );

    // Plain HTTP to the TLS port is not served.
    let plain = reqwest::Client::new()
        .get(format!("http://{}/healthz", server.address))
        .timeout(Duration::from_secs(5))
        .send()
        .await;
    assert!(
        plain.map(|r| r.status() != StatusCode::OK).unwrap_or(true),
        "plain HTTP was answered on the TLS listener"
    );

    // A client that does not trust the dev CA refuses the connection.
    let untrusting = reqwest::Client::builder()
        .tls_certs_only([])
        .build()
        .unwrap();
    assert!(untrusting.get(server.url("/healthz")).send().await.is_err());

    // A second start reuses the certificates (idempotent).
    let ca_before = std::fs::read(&certs.ca_cert).unwrap();
    drop(server);
    let _again = Process::serve(&env).await;
    assert_eq!(std::fs::read(&certs.ca_cert).unwrap(), ca_before);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn plain_http_only_on_loopback_and_only_when_configured() {
    let env = Environment::new(Backend::Sqlite).await;

    // Off loopback: the server refuses to start.
    let output = command(&env)
        .env("BENTENG_SERVER__PLAINTEXT", "true")
        .env("BENTENG_SERVER__BIND", "0.0.0.0:0")
        .arg("serve")
        .output()
        .await
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!output.status.success());
    assert!(stderr.contains("loopback"), "{stderr}");

    // On loopback, explicitly configured: served, no certificates made.
    let server = Process::serve_with(&env, &[("BENTENG_SERVER__PLAINTEXT", "true")]).await;
    let response = reqwest::get(format!("http://{}/healthz", server.address))
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert!(!env.dev_certs().ca_cert.exists());
}

/// A second listener serving only the operations group; the default serving only the API.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn listeners_serve_their_route_groups() {
    let env = Environment::new(Backend::Sqlite).await;
    let certs = benteng_transport::generate_dev_certs(&env.data_dir.path().join("tls")).unwrap();
    let mut config = env.config();
    config.server.routes = RouteSelection::Groups(vec![RouteGroup::Api]);
    let mut ops: ListenerSettings = serde_json::from_value(serde_json::json!({
        "bind": "127.0.0.1:0",
        "routes": "operations",
        "tls": { "cert": certs.server_cert, "key": certs.server_key },
    }))
    .unwrap();
    ops.max_connections = 16;
    config.server.listeners.push(ops);
    let services = Services::connect(config).await.unwrap();
    let server = Server::bind(&services).await.unwrap();
    let addresses = server.local_addrs().unwrap();
    assert_eq!(addresses.len(), 2);
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(server.run(async move {
        let _ = stopped.await;
    }));
    let client = env.client();
    let get = |address: std::net::SocketAddr, path: &'static str| {
        let client = client.clone();
        async move {
            client
                .get(format!("https://{address}{path}"))
                .send()
                .await
                .unwrap()
                .status()
        }
    };
    let (api, ops) = (addresses[0], addresses[1]);
    assert_eq!(get(ops, "/metrics").await, StatusCode::OK);
    assert_eq!(get(ops, "/healthz").await, StatusCode::OK);
    assert_eq!(get(ops, "/v1/tenant").await, StatusCode::NOT_FOUND);
    assert_eq!(get(ops, "/openapi.json").await, StatusCode::NOT_FOUND);
    assert_eq!(get(api, "/metrics").await, StatusCode::NOT_FOUND);
    assert_eq!(get(api, "/v1/tenant").await, StatusCode::UNAUTHORIZED);
    drop(stop);
}

/// A client certificate signed by the environment's dev CA, written as `{name}.pem`/`.key`.
pub(crate) fn client_cert(env: &Environment, name: &str) -> (PathBuf, PathBuf) {
    let dev = env.dev_certs();
    let ca_key = KeyPair::from_pem(&std::fs::read_to_string(&dev.ca_key).unwrap()).unwrap();
    let issuer =
        Issuer::from_ca_cert_pem(&std::fs::read_to_string(&dev.ca_cert).unwrap(), ca_key).unwrap();
    let key = KeyPair::generate_for(&PKCS_ECDSA_P384_SHA384).unwrap();
    let mut params = CertificateParams::default();
    let mut dn = DistinguishedName::new();
    dn.push(DnType::CommonName, name);
    params.distinguished_name = dn;
    params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
    params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ClientAuth];
    let cert = params.signed_by(&key, &issuer).unwrap();
    let dir = env.data_dir.path();
    let (cert_path, key_path) = (
        dir.join(format!("{name}.pem")),
        dir.join(format!("{name}.key")),
    );
    std::fs::write(&cert_path, cert.pem()).unwrap();
    std::fs::write(&key_path, key.serialize_pem()).unwrap();
    (cert_path, key_path)
}

async fn status(client: &reqwest::Client, app: &TestApp, key: &str) -> StatusCode {
    client
        .get(app.url("/v1/tenant"))
        .bearer_auth(key)
        .send()
        .await
        .unwrap()
        .status()
}

/// Polls until the status is `expected` (the CLI's changes reach the server's cache through the
/// watermark poll, every second with the in-process cache).
async fn becomes(client: &reqwest::Client, app: &TestApp, key: &str, expected: StatusCode) {
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let got = status(client, app, key).await;
        if got == expected {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "still {got}, expected {expected}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

async fn mtls_binds_client_certificates_to_tenants(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let (a, key_a) = app.tenant_with_key().await;
    let (b, key_b) = app.tenant_with_key().await;
    let (a, b) = (a.id.to_string(), b.id.to_string());
    let (cert_a, pkey_a) = client_cert(&app.env, "tenant-a");
    let (cert_b, pkey_b) = client_cert(&app.env, "tenant-b");
    let dev = app.env.dev_certs();

    let with_a = app.env.client_with_identity(&cert_a, &pkey_a);
    let with_b = app.env.client_with_identity(&cert_b, &pkey_b);
    let with_dev = app
        .env
        .client_with_identity(&dev.client_cert, &dev.client_key);
    let without = &app.client;

    // Before anything is registered or required, keys work with or without a certificate.
    assert_eq!(status(without, &app, &key_a).await, StatusCode::OK);
    assert_eq!(status(&with_a, &app, &key_a).await, StatusCode::OK);

    for (tenant, pem) in [(&a, &cert_a), (&b, &cert_b)] {
        let (ok, out, err) = cli(
            &app.env,
            &[
                "tenant",
                "cert",
                "add",
                "--tenant",
                tenant,
                "--pem",
                pem.to_str().unwrap(),
            ],
        )
        .await;
        assert!(ok, "{err}");
        assert_eq!(out.trim().len(), 64, "prints the fingerprint: {out}");
    }
    let (ok, _, err) = cli(&app.env, &["tenant", "require-mtls", &a, "on"]).await;
    assert!(ok, "{err}");

    // A requires mTLS: refused without a certificate, even with its valid key...
    becomes(without, &app, &key_a, StatusCode::FORBIDDEN).await;
    let refused = without
        .get(app.url("/v1/tenant"))
        .bearer_auth(&key_a)
        .send()
        .await
        .unwrap();
    assert_eq!(
        refused.headers()["content-type"],
        "application/problem+json"
    );
    let problem: serde_json::Value = refused.json().await.unwrap();
    assert_eq!(
        problem["type"],
        "https://benteng.dev/problems/client-certificate-refused"
    );
    // ...with a CA-valid certificate it never registered...
    assert_eq!(status(&with_dev, &app, &key_a).await, StatusCode::FORBIDDEN);
    // ...with B's registered certificate...
    assert_eq!(status(&with_b, &app, &key_a).await, StatusCode::FORBIDDEN);
    // ...and is accepted with its own.
    assert_eq!(status(&with_a, &app, &key_a).await, StatusCode::OK);

    // B does not require mTLS: fine without a certificate or with its own, but A's certificate
    // with B's key is someone else's identity: refused.
    assert_eq!(status(without, &app, &key_b).await, StatusCode::OK);
    assert_eq!(status(&with_b, &app, &key_b).await, StatusCode::OK);
    assert_eq!(status(&with_dev, &app, &key_b).await, StatusCode::OK);
    assert_eq!(status(&with_a, &app, &key_b).await, StatusCode::FORBIDDEN);

    // The listing shows the registration; removal takes effect on the running server.
    let (ok, list, _) = cli(&app.env, &["tenant", "cert", "list", "--tenant", &a]).await;
    assert!(ok && list.contains("tenant-a"), "{list}");
    assert!(list.starts_with("require-mtls: on\n"), "{list}");
    let fingerprint = list
        .lines()
        .nth(2)
        .and_then(|line| line.split_whitespace().next())
        .unwrap()
        .to_owned();
    let (ok, _, err) = cli(
        &app.env,
        &["tenant", "cert", "remove", "--tenant", &a, &fingerprint],
    )
    .await;
    assert!(ok, "{err}");
    becomes(&with_a, &app, &key_a, StatusCode::FORBIDDEN).await;

    // Turning the requirement off lets A's key through without a certificate again.
    let (ok, _, err) = cli(&app.env, &["tenant", "require-mtls", &a, "off"]).await;
    assert!(ok, "{err}");
    becomes(without, &app, &key_a, StatusCode::OK).await;
}

async fn cli_refuses_bad_client_certificates(backend: Backend) {
    let env = Environment::new(backend).await;
    benteng_transport::generate_dev_certs(&env.data_dir.path().join("tls")).unwrap();
    let create = |name: &'static str| {
        let env = &env;
        async move {
            let (ok, id, err) = cli(
                env,
                &["tenant", "create", "--name", name, "--tier", "growth"],
            )
            .await;
            assert!(ok, "{err}");
            let (ok, _, err) = cli(env, &["kyc", "set-level", id.trim(), "enhanced"]).await;
            assert!(ok, "{err}");
            id.trim().to_owned()
        }
    };
    let a = create("PT Satu").await;
    let b = create("PT Dua").await;
    let dir = env.data_dir.path();
    let add = |tenant: String, pem: PathBuf| {
        let env = &env;
        async move {
            cli(
                env,
                &[
                    "tenant",
                    "cert",
                    "add",
                    "--tenant",
                    &tenant,
                    "--pem",
                    pem.to_str().unwrap(),
                ],
            )
            .await
        }
    };

    // Garbage, a PEM block that is not a certificate, two certificates at once.
    let garbage = dir.join("garbage.pem");
    std::fs::write(&garbage, "this is not a certificate\n").unwrap();
    let (ok, _, err) = add(a.clone(), garbage).await;
    assert!(!ok && err.contains("CERTIFICATE"), "{err}");
    let broken = dir.join("broken.pem");
    std::fs::write(
        &broken,
        "-----BEGIN CERTIFICATE-----\naGVsbG8gd29ybGQ=\n-----END CERTIFICATE-----\n",
    )
    .unwrap();
    let (ok, _, err) = add(a.clone(), broken).await;
    assert!(!ok && err.contains("parseable"), "{err}");
    let (cert_1, _) = client_cert(&env, "one");
    let (cert_2, _) = client_cert(&env, "two");
    let both = dir.join("both.pem");
    let mut pem = std::fs::read(&cert_1).unwrap();
    pem.extend(std::fs::read(&cert_2).unwrap());
    std::fs::write(&both, pem).unwrap();
    let (ok, _, err) = add(a.clone(), both).await;
    assert!(!ok && err.contains("exactly one"), "{err}");

    // Expired.
    let key = KeyPair::generate_for(&PKCS_ECDSA_P384_SHA384).unwrap();
    let mut params = CertificateParams::new(vec!["expired.example".to_owned()]).unwrap();
    params.not_before = rcgen::date_time_ymd(2020, 1, 1);
    params.not_after = rcgen::date_time_ymd(2021, 1, 1);
    let expired = dir.join("expired.pem");
    std::fs::write(&expired, params.self_signed(&key).unwrap().pem()).unwrap();
    let (ok, _, err) = add(a.clone(), expired).await;
    assert!(!ok && err.contains("expired"), "{err}");

    // Nothing above was registered.
    let (ok, list, _) = cli(&env, &["tenant", "cert", "list", "--tenant", &a]).await;
    assert!(ok);
    assert_eq!(
        list.lines().count(),
        2,
        "only the setting and the header: {list}"
    );

    // Registered to A, then refused for B (and for A again).
    let (ok, fingerprint, err) = add(a.clone(), cert_1.clone()).await;
    assert!(ok, "{err}");
    let (ok, _, err) = add(b.clone(), cert_1.clone()).await;
    assert!(!ok && err.contains("another tenant"), "{err}");
    let (ok, _, err) = add(a.clone(), cert_1.clone()).await;
    assert!(!ok && err.contains("already registered"), "{err}");
    let (ok, list, _) = cli(&env, &["tenant", "cert", "list", "--tenant", &b]).await;
    assert!(ok && !list.contains(fingerprint.trim()), "{list}");

    // Removing a certificate another tenant owns is refused; unknown tenants are refused.
    let (ok, _, _) = cli(
        &env,
        &[
            "tenant",
            "cert",
            "remove",
            "--tenant",
            &b,
            fingerprint.trim(),
        ],
    )
    .await;
    assert!(!ok);
    let unknown = uuid::Uuid::new_v4().to_string();
    let (ok, _, err) = cli(&env, &["tenant", "require-mtls", &unknown, "on"]).await;
    assert!(!ok && err.contains("no such tenant"), "{err}");
}
