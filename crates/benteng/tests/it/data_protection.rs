//! Tier 1 data protection end to end: never in clear in the database files, a PostgreSQL dump,
//! the logs or a backup; ciphertexts bound to their row; data-key rotation with re-encryption;
//! encrypted backups that refuse tampering.

use benteng_store::SealedColumn;
use benteng_vault::Aad;
use reqwest::StatusCode;
use serde_json::json;

use crate::harness::{
    Backend, Environment, Process, TestApp, cli, cli_with_env, cli_with_input, on_both_backends,
};
use crate::payments::recipient;

on_both_backends!(
    a_ciphertext_moved_to_another_row_does_not_decrypt,
    key_rotation_re_encrypts_every_value_and_keys_status_shows_it,
);

const IBAN: &str = "DE89370400440532013000";
const IBAN_2: &str = "GB29NWBK60161331926819";

fn contains(haystack: &[u8], needle: &str) -> bool {
    haystack
        .windows(needle.len())
        .any(|w| w == needle.as_bytes())
}

async fn a_ciphertext_moved_to_another_row_does_not_decrypt(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let (tenant, key) = app.tenant_with_key().await;
    let first = recipient(&app, &key, IBAN).await;
    let second = recipient(&app, &key, IBAN_2).await;
    let values = app
        .services
        .store
        .sealed_values(SealedColumn::RecipientBankAccount, "", 10)
        .await
        .unwrap();
    let sealed = |id: &str| {
        values
            .iter()
            .find(|v| v.row_id == id)
            .unwrap()
            .sealed
            .clone()
    };
    let keyring = &app.services.protection.keyring;
    let tenant_text = tenant.id.to_string();
    let plain = keyring
        .decrypt(
            &sealed(&first),
            &Aad::new(&tenant_text, "recipients", "bank_account", &first),
        )
        .unwrap();
    assert_eq!(
        benteng_crypto::ExposeSecret::expose_secret(&plain),
        format!("iban:{IBAN}").as_bytes()
    );
    // The first row's ciphertext under the second row's identity, or another tenant's.
    assert!(
        keyring
            .decrypt(
                &sealed(&first),
                &Aad::new(&tenant_text, "recipients", "bank_account", &second)
            )
            .is_err()
    );
    let other = uuid::Uuid::new_v4().to_string();
    assert!(
        keyring
            .decrypt(
                &sealed(&first),
                &Aad::new(&other, "recipients", "bank_account", &first)
            )
            .is_err()
    );
    assert!(
        keyring
            .decrypt(
                &sealed(&first),
                &Aad::new(&tenant_text, "recipients", "national_id", &first)
            )
            .is_err()
    );
    // A flipped character is refused, never returned as garbage.
    let mut tampered = sealed(&first);
    let last = tampered.pop().unwrap();
    tampered.push(if last == 'A' { 'B' } else { 'A' });
    assert!(
        keyring
            .decrypt(
                &tampered,
                &Aad::new(&tenant_text, "recipients", "bank_account", &first)
            )
            .is_err()
    );
    assert!(
        keyring
            .decrypt(
                "v9.garbage",
                &Aad::new(&tenant_text, "recipients", "bank_account", &first)
            )
            .is_err()
    );
}

async fn key_rotation_re_encrypts_every_value_and_keys_status_shows_it(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let (tenant, key) = app.tenant_with_key().await;
    let ids = [
        recipient(&app, &key, IBAN).await,
        recipient(&app, &key, IBAN_2).await,
    ];
    let env = app.environment();
    let (ok, before, err) = cli(env, &["keys", "status"]).await;
    assert!(ok, "{err}");
    assert!(
        before.contains("dek:bank_account") && before.contains("encrypts 2 values"),
        "{before}"
    );
    assert!(before.contains("kek") && before.contains("tls"), "{before}");
    let old_key = before
        .lines()
        .find(|l| l.starts_with("dek:bank_account"))
        .unwrap()
        .split_whitespace()
        .nth(1)
        .unwrap()
        .to_owned();

    let (ok, out, err) = cli(env, &["keys", "rotate", "--purpose", "bank_account"]).await;
    assert!(ok, "{out}{err}");
    assert!(out.contains("2 values re-encrypted"), "{out}");
    let (_, after, _) = cli(env, &["keys", "status"]).await;
    let old_line = after.lines().find(|l| l.contains(&old_key)).unwrap();
    assert!(old_line.contains("retired; encrypts 0 values"), "{after}");
    assert!(
        after
            .lines()
            .any(|l| l.starts_with("dek:bank_account") && l.contains("active; encrypts 2 values")),
        "{after}"
    );
    // Keys that seal secrets outside the counted columns never read as unused.
    assert!(
        after
            .lines()
            .filter(|l| l.starts_with("dek:api_secret") || l.starts_with("dek:private_key"))
            .all(|l| l.contains("never remove") && !l.contains("encrypts 0 values")),
        "{after}"
    );
    // Rerunning is harmless: nothing left to do.
    let (ok, out, _) = cli(env, &["keys", "reencrypt", "--purpose", "bank_account"]).await;
    assert!(ok && out.contains("0 values re-encrypted"), "{out}");
    let (ok, _, err) = cli(env, &["keys", "rotate", "--purpose", "everything"]).await;
    assert!(!ok && err.contains("purpose"), "{err}");

    // Every value still decrypts, under the new key.
    let keyring = &app.services.protection.keyring;
    benteng::data_protection::load_keys(&app.services.store, keyring)
        .await
        .unwrap();
    let values = app
        .services
        .store
        .sealed_values(SealedColumn::RecipientBankAccount, "", 10)
        .await
        .unwrap();
    for (id, iban) in ids.iter().zip([IBAN, IBAN_2]) {
        let value = values.iter().find(|v| &v.row_id == id).unwrap();
        assert!(!value.sealed.contains(&old_key.replace("dek_", "")));
        let plain = keyring
            .decrypt_string(
                &value.sealed,
                &Aad::new(&tenant.id.to_string(), "recipients", "bank_account", id),
            )
            .unwrap();
        // The value that went in, not merely something that decrypts.
        assert!(
            benteng_crypto::ExposeSecret::expose_secret(&plain).contains(iban),
            "{id} decrypts to another account"
        );
    }
    // The server keeps working across the rotation.
    let response = app
        .post_json(
            "/v1/recipients",
            &key,
            &json!({"type": "individual", "name": "Rina", "country": "ID",
            "bank_account": {"account_number": "9876543210", "bank_code": "008"}}),
        )
        .await;
    assert_eq!(response.status(), StatusCode::CREATED);
}

/// SQLite file, logs and backups, on the embedded default.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_embedded_default_keeps_bank_accounts_out_of_files_logs_and_backups() {
    let env = Environment::new(Backend::Sqlite).await;
    let server = Process::serve(&env).await;
    let (_, tenant, _) = cli(
        &env,
        &[
            "tenant",
            "create",
            "--name",
            "PT Rahasia",
            "--tier",
            "growth",
        ],
    )
    .await;
    let (_, key, _) = cli(&env, &["apikey", "issue", "--tenant", tenant.trim()]).await;
    let client = env.client();
    let response = client
        .post(server.url("/v1/recipients"))
        .bearer_auth(key.trim())
        .json(&json!({"type": "business", "name": "Müller", "country": "DE", "bank_account": {"iban": IBAN}}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::CREATED);
    // Invalid input echoing the number must not log it either.
    let response = client
        .post(server.url("/v1/recipients"))
        .bearer_auth(key.trim())
        .json(&json!({"type": "business", "name": "X", "country": "FR", "bank_account": {"iban": "DE89370400440532013999"}}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(!response.text().await.unwrap().contains("0532013"));
    let logs = server.logs.lock().unwrap().join("\n");
    assert!(logs.contains("request completed"), "logs were captured");
    assert!(!logs.contains("0532013"), "bank account in the logs");

    let backup = env.data_dir.path().join("backup.bin");
    let (ok, out, err) = cli(&env, &["backup", "create", backup.to_str().unwrap()]).await;
    assert!(ok, "{out}{err}");
    let bytes = std::fs::read(&backup).unwrap();
    assert!(
        !contains(&bytes, IBAN) && !contains(&bytes, "PT Rahasia"),
        "the backup is encrypted"
    );
    let mut database = Vec::new();
    for entry in std::fs::read_dir(env.data_dir.path()).unwrap().flatten() {
        if entry
            .file_name()
            .to_string_lossy()
            .starts_with("benteng.sqlite")
        {
            database.extend(std::fs::read(entry.path()).unwrap());
        }
    }
    assert!(
        contains(&database, "PT Rahasia"),
        "the scan does read the database"
    );
    assert!(
        !contains(&database, IBAN),
        "bank account in clear in the SQLite files"
    );
    drop(server);

    // Restore into the same place: refused without --replace, refused when tampered.
    let (ok, _, err) = cli(&env, &["backup", "restore", backup.to_str().unwrap()]).await;
    assert!(!ok && err.contains("--replace"), "{err}");
    let mut tampered = bytes.clone();
    let middle = tampered.len() / 2;
    tampered[middle] ^= 1;
    let tampered_path = env.data_dir.path().join("tampered.bin");
    std::fs::write(&tampered_path, &tampered).unwrap();
    let (ok, _, err) = cli(
        &env,
        &[
            "backup",
            "restore",
            tampered_path.to_str().unwrap(),
            "--replace",
        ],
    )
    .await;
    assert!(!ok && err.contains("does not decrypt"), "{err}");
    let (ok, _, err) = cli(
        &env,
        &[
            "tenant",
            "create",
            "--name",
            "After Backup",
            "--tier",
            "starter",
        ],
    )
    .await;
    assert!(ok, "{err}");
    let (_, list, _) = cli(&env, &["tenant", "list"]).await;
    assert!(list.contains("After Backup"), "{list}");
    let (ok, out, err) = cli(
        &env,
        &["backup", "restore", backup.to_str().unwrap(), "--replace"],
    )
    .await;
    assert!(ok, "{out}{err}");
    let (_, list, _) = cli(&env, &["tenant", "list"]).await;
    assert!(
        list.contains("PT Rahasia") && !list.contains("After Backup"),
        "{list}"
    );

    // The streaming form used for pg_dump.
    let (ok, sealed, err) = cli_with_input(&env, &["backup", "encrypt"], b"pg_dump output").await;
    assert!(ok, "{err}");
    assert!(!contains(&sealed, "pg_dump output"));
    let (ok, plain, err) = cli_with_input(&env, &["backup", "decrypt"], &sealed).await;
    assert!(ok, "{err}");
    assert_eq!(plain, b"pg_dump output");
    let (ok, plain, _) =
        cli_with_input(&env, &["backup", "decrypt"], &sealed[..sealed.len() - 1]).await;
    assert!(!ok && plain.is_empty(), "a truncated backup yields nothing");
}

const ID_ACCOUNT: &str = "9081726354";
const NIK: &str = "3171098765432101";

/// A PostgreSQL dump holds only ciphertext.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_postgres_dump_holds_no_bank_account_in_clear() {
    let app = TestApp::spawn(Backend::Postgres).await;
    let (_, key) = app.tenant_with_key().await;
    recipient(&app, &key, IBAN).await;
    // An Indonesian recipient: a local account number and a national id (NIK), sealed too.
    let response = app
        .post_json(
            "/v1/recipients",
            &key,
            &json!({"type": "individual", "name": "Siti Rahayu", "country": "ID",
                "bank_account": {"account_number": ID_ACCOUNT, "bank_code": "014"},
                "national_id": NIK}),
        )
        .await;
    assert_eq!(response.status(), StatusCode::CREATED);
    let url = &app.environment().database_url;
    let output = std::process::Command::new("pg_dump")
        .arg("--data-only")
        .arg(url)
        .output()
        .expect("pg_dump (postgresql-client) is installed by scripts/test");
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    // The recipients table is in the dump with its row (not only its header)...
    let dump = String::from_utf8_lossy(&output.stdout);
    let rows = dump
        .lines()
        .skip_while(|line| !line.starts_with("COPY public.recipients "))
        .skip(1)
        .take_while(|line| *line != "\\.")
        .count();
    assert_eq!(rows, 2, "the dump holds the recipients' rows");
    // ...and no spelling of the accounts (whole, grouped, lower case, the account number inside
    // the IBAN) or of the national id.
    for spelling in [
        IBAN,
        "DE89 3704 0044 0532 0130 00",
        &IBAN.to_lowercase(),
        "0532013000",
        ID_ACCOUNT,
        NIK,
    ] {
        assert!(
            !contains(&output.stdout, spelling),
            "{spelling} in clear in the dump"
        );
    }
    let (ok, _, err) = cli(app.environment(), &["backup", "create", "/tmp/never.bin"]).await;
    assert!(!ok && err.contains("pg_dump"), "{err}");
}

/// The KEK inside an HSM (SoftHSM2 through PKCS#11): the server wraps its data keys there and
/// no key file is created.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_kek_can_live_in_an_hsm() {
    let env = Environment::new(Backend::Sqlite).await;
    let hsm = env.data_dir.path().join("hsm");
    std::fs::create_dir_all(hsm.join("tokens")).unwrap();
    let conf = hsm.join("softhsm2.conf");
    std::fs::write(
        &conf,
        format!(
            "directories.tokendir = {}\nobjectstore.backend = file\nlog.level = ERROR\n",
            hsm.join("tokens").display()
        ),
    )
    .unwrap();
    let init = std::process::Command::new("softhsm2-util")
        .env("SOFTHSM2_CONF", &conf)
        .args([
            "--init-token",
            "--free",
            "--label",
            "benteng",
            "--pin",
            "1234",
            "--so-pin",
            "5678",
        ])
        .output()
        .expect("softhsm2-util (Debian package softhsm2, installed by scripts/test)");
    assert!(
        init.status.success(),
        "{}",
        String::from_utf8_lossy(&init.stderr)
    );
    let conf = conf.display().to_string();
    let extra = [
        ("SOFTHSM2_CONF", conf.as_str()),
        (
            "BENTENG_KEYS__PKCS11__MODULE",
            "/usr/lib/softhsm/libsofthsm2.so",
        ),
        ("BENTENG_KEYS__PKCS11__TOKEN_LABEL", "benteng"),
        ("BENTENG_KEYS__PKCS11__PIN", "1234"),
        ("BENTENG_KEYS__PKCS11__KEY_LABEL", "benteng-kek"),
    ];
    let (ok, out, err) = cli_with_env(&env, &extra, &["keys", "hsm-init"]).await;
    assert!(ok, "{out}{err}");
    let server = Process::serve_with(&env, &extra).await;
    let (_, tenant, _) = cli_with_env(
        &env,
        &extra,
        &["tenant", "create", "--name", "PT HSM", "--tier", "growth"],
    )
    .await;
    cli_with_env(
        &env,
        &extra,
        &["kyc", "set-level", tenant.trim(), "enhanced"],
    )
    .await;
    let (_, key, _) = cli_with_env(
        &env,
        &extra,
        &["apikey", "issue", "--tenant", tenant.trim()],
    )
    .await;
    let response = env
        .client()
        .post(server.url("/v1/recipients"))
        .bearer_auth(key.trim())
        .json(&json!({"type": "business", "name": "Müller", "country": "DE", "bank_account": {"iban": IBAN}}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::CREATED);
    assert!(
        !env.data_dir.path().join("secrets").join("kek").exists(),
        "no key file with an HSM KEK"
    );
    let (ok, status, _) = cli_with_env(&env, &extra, &["keys", "status"]).await;
    assert!(
        ok && status.contains("pkcs11:benteng/benteng-kek"),
        "{status}"
    );
    // A wrong token label is refused at start, with a clear error.
    let wrong = [
        extra[0],
        extra[1],
        ("BENTENG_KEYS__PKCS11__TOKEN_LABEL", "nope"),
        extra[3],
        extra[4],
    ];
    let (ok, _, err) = cli_with_env(&env, &wrong, &["tenant", "list"]).await;
    assert!(!ok && err.contains("PKCS#11"), "{err}");
}
