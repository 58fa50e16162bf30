//! Independent scanner: one testssl.sh run against a listener with OCSP stapling and HSTS.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::collections::HashMap;

use benteng_transport::{OcspConfig, PolicyMode, TlsHandle, TlsSettings, generate_dev_certs};
use common::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn testssl_scan() {
    init_tracing();
    let testssl = require_tool("testssl");
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path();
    let dev = generate_dev_certs(&d.join("dev")).unwrap();
    let leaf = d.join("leaf.pem");
    leaf_only(&dev.server_cert, &leaf);
    let resp = d.join("server.ocsp.der");
    openssl_ocsp_response(
        d,
        &dev.ca_cert,
        &dev.ca_cert,
        &dev.ca_key,
        &leaf,
        'V',
        &resp,
    );
    let s = TlsSettings {
        ocsp: OcspConfig {
            file: Some(resp),
            fetch: false,
            required: true,
        },
        ..TlsSettings::simple(&dev.server_cert, &dev.server_key, PolicyMode::Production)
    };
    let srv = start(Some(TlsHandle::load(s).await.unwrap()), limits()).await;
    let json = d.join("testssl.json");
    let target = format!("127.0.0.1:{}", srv.addr.port());
    let out = tokio::process::Command::new(testssl)
        .args(["--quiet", "--color", "0", "--warnings", "off", "--add-ca"])
        .arg(&dev.ca_cert)
        .args(["-p", "-P", "-S", "-E", "-h", "--jsonfile"])
        .arg(&json)
        .arg(&target)
        .kill_on_drop(true)
        .output();
    let out = tokio::time::timeout(std::time::Duration::from_secs(600), out)
        .await
        .expect("testssl timed out")
        .expect("testssl ran");
    let text = std::fs::read_to_string(&json).unwrap_or_else(|e| {
        panic!(
            "no testssl JSON ({e}); stdout:\n{}\nstderr:\n{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
    });
    srv.stop().await;
    let v: Vec<serde_json::Value> = serde_json::from_str(&text).unwrap();
    let mut f: HashMap<String, String> = HashMap::new();
    for e in &v {
        if let (Some(id), Some(finding)) = (e["id"].as_str(), e["finding"].as_str()) {
            f.entry(id.to_owned()).or_insert_with(|| finding.to_owned());
        }
    }
    let get = |id: &str| {
        f.get(id)
            .cloned()
            .unwrap_or_else(|| panic!("testssl id {id} missing; findings: {f:#?}"))
    };
    let dump = format!("{f:#?}");

    // Protocols.
    for id in ["SSLv2", "SSLv3", "TLS1", "TLS1_1"] {
        assert!(get(id).contains("not offered"), "{id}: {}", get(id));
    }
    assert!(
        get("TLS1_2").starts_with("offered"),
        "TLS1_2: {}",
        get("TLS1_2")
    );
    assert!(
        get("TLS1_3").starts_with("offered"),
        "TLS1_3: {}",
        get("TLS1_3")
    );

    // Cipher suites: collect every offered cipher (ids cipher-tls1_x_xNN / cipher_xNN).
    let allowed_tls13 = [
        "TLS_AES_256_GCM_SHA384",
        "TLS_CHACHA20_POLY1305_SHA256",
        "TLS_AES_128_GCM_SHA256",
    ];
    let allowed_tls12 = [
        "ECDHE-ECDSA-AES256-GCM-SHA384",
        "ECDHE-ECDSA-CHACHA20-POLY1305",
        "ECDHE-ECDSA-AES128-GCM-SHA256",
    ];
    let mut offered = Vec::new();
    for e in &v {
        let id = e["id"].as_str().unwrap_or_default();
        if id.starts_with("cipher-tls1") || id.starts_with("cipher-ssl") {
            let finding = e["finding"].as_str().unwrap_or_default();
            assert!(
                id.starts_with("cipher-tls1_2") || id.starts_with("cipher-tls1_3"),
                "cipher offered under an old protocol: {id} {finding}"
            );
            offered.push(finding.to_owned());
            let ok = allowed_tls13
                .iter()
                .chain(allowed_tls12.iter())
                .any(|c| finding.contains(c));
            assert!(ok, "disallowed cipher offered: {id} {finding}");
        }
    }
    for c in allowed_tls13.iter().chain(allowed_tls12.iter()) {
        assert!(
            offered.iter().any(|o| o.contains(c)),
            "{c} not offered: {offered:#?}"
        );
    }
    assert!(
        get("cipher_order").contains("server"),
        "cipher_order: {}",
        get("cipher_order")
    );

    // Certificate, OCSP stapling, HSTS.
    let ocsp_id = f
        .keys()
        .find(|k| k.starts_with("OCSP_stapling"))
        .cloned()
        .unwrap_or_default();
    assert!(
        get(&ocsp_id).contains("offered") && !get(&ocsp_id).contains("not offered"),
        "{ocsp_id}: {}",
        get(&ocsp_id)
    );
    let key_id = f
        .keys()
        .find(|k| k.starts_with("cert_keySize"))
        .cloned()
        .unwrap_or_default();
    assert!(
        get(&key_id).contains("EC") && get(&key_id).contains("384"),
        "{key_id}: {}",
        get(&key_id)
    );
    assert!(
        get("HSTS_time").contains("730 days") || get("HSTS_time").contains("63072000"),
        "HSTS_time: {}",
        get("HSTS_time")
    );
    assert!(!dump.contains("\"HSTS\": \"not offered\""), "{dump}");
}
