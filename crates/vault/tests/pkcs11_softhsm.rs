//! PKCS#11 KEK against SoftHSM2 (Debian package `softhsm2`).
//!
//! SoftHSM reads `SOFTHSM2_CONF` when the module initialises, and the workspace forbids the
//! `unsafe` needed to set environment variables in-process, so the outer test prepares a
//! private token directory and re-runs this test binary with the variable set, executing the
//! ignored `child_*` test there. A missing SoftHSM2 fails the test; it never passes silently.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::path::Path;
use std::process::Command;
use std::sync::Arc;

use benteng_vault::{
    Aad, ExposeSecret, KekProvider, KeyPurpose, Keyring, Pkcs11Config, Pkcs11Kek, SecretString,
    VaultError, WrappedDek,
};
use common::TempDir;

const MODULE: &str = "/usr/lib/softhsm/libsofthsm2.so";
const TOKEN: &str = "benteng-test";
const PIN: &str = "4711-user-pin";
const SO_PIN: &str = "4711-so-pin";
const KEY: &str = "benteng-kek-1";

#[test]
fn pkcs11_kek_against_softhsm2() {
    let util = Command::new("softhsm2-util").arg("--version").output();
    assert!(
        Path::new(MODULE).is_file() && util.is_ok_and(|o| o.status.success()),
        "SoftHSM2 is not installed: this test needs the Debian package `softhsm2` \
         (apt-get install -y softhsm2), which provides {MODULE} and softhsm2-util"
    );
    let dir = TempDir::new("softhsm");
    let tokens = dir.join("tokens");
    std::fs::create_dir_all(&tokens).unwrap();
    let conf = dir.join("softhsm2.conf");
    std::fs::write(
        &conf,
        format!(
            "directories.tokendir = {}\nobjectstore.backend = file\nlog.level = ERROR\n",
            tokens.display()
        ),
    )
    .unwrap();
    let init = Command::new("softhsm2-util")
        .env("SOFTHSM2_CONF", &conf)
        .args([
            "--init-token",
            "--free",
            "--label",
            TOKEN,
            "--pin",
            PIN,
            "--so-pin",
            SO_PIN,
        ])
        .output()
        .unwrap();
    assert!(
        init.status.success(),
        "softhsm2-util --init-token failed: {}",
        String::from_utf8_lossy(&init.stderr)
    );

    let exe = std::env::current_exe().unwrap();
    let child = Command::new(exe)
        .env("SOFTHSM2_CONF", &conf)
        .args([
            "--exact",
            "child_softhsm_round_trips",
            "--ignored",
            "--test-threads=1",
            "--nocapture",
        ])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&child.stdout);
    let stderr = String::from_utf8_lossy(&child.stderr);
    assert!(
        child.status.success() && stdout.contains("1 passed"),
        "child test failed:\n{stdout}\n{stderr}"
    );
}

fn config() -> Pkcs11Config {
    Pkcs11Config {
        module_path: MODULE.into(),
        token_label: TOKEN.into(),
        pin: SecretString::from(PIN),
        key_label: KEY.into(),
    }
}

#[test]
#[ignore = "run in a child process by pkcs11_kek_against_softhsm2, which sets SOFTHSM2_CONF"]
fn child_softhsm_round_trips() {
    assert!(std::env::var_os("SOFTHSM2_CONF").is_some());
    let cfg = config();
    assert!(!format!("{cfg:?}").contains(PIN));

    // Key generated inside the token through cryptoki; a second one with the label is refused.
    Pkcs11Kek::create_key(&cfg).unwrap();
    assert!(matches!(
        Pkcs11Kek::create_key(&cfg),
        Err(VaultError::InvalidInput { .. })
    ));
    // Misconfiguration is a clear KekUnavailable, never a secret in the message. Checked while
    // no session is logged in: PKCS#11 login state is per process, so once one provider has
    // logged in, the token does not check another PIN.
    let cases = [
        Pkcs11Config {
            pin: SecretString::from("wrong-pin"),
            ..cfg.clone()
        },
        Pkcs11Config {
            token_label: "no-such-token".into(),
            ..cfg.clone()
        },
        Pkcs11Config {
            key_label: "no-such-key".into(),
            ..cfg.clone()
        },
        Pkcs11Config {
            module_path: "/nonexistent/libpkcs11.so".into(),
            ..cfg.clone()
        },
    ];
    for bad in cases {
        let err = Pkcs11Kek::connect(bad).unwrap_err();
        assert!(matches!(err, VaultError::KekUnavailable { .. }), "{err}");
        assert!(!err.to_string().contains(PIN) && !err.to_string().contains("wrong-pin"));
        eprintln!("expected error: {err}");
    }
    let kek = Arc::new(Pkcs11Kek::connect(cfg.clone()).unwrap());
    assert_eq!(kek.id(), format!("pkcs11-{TOKEN}/{KEY}"));
    assert!(!kek.describe().contains(PIN) && !format!("{kek:?}").contains(PIN));
    assert_key_stays_in_token(&cfg);

    // Envelope round trip through the HSM.
    let ring = Keyring::new(kek.clone());
    let wrapped = ring.rotate(&KeyPurpose::NATIONAL_ID).unwrap();
    assert_eq!(wrapped.kek_id, kek.id());
    ring.load(&wrapped).unwrap();
    let aad = Aad::new("t1", "customers", "nik", "row-1");
    let stored = ring
        .encrypt(&KeyPurpose::NATIONAL_ID, b"3171234567890001", &aad)
        .unwrap();
    assert_eq!(
        ring.decrypt(&stored, &aad).unwrap().expose_secret(),
        b"3171234567890001"
    );

    // Tampering and relabelling are caught by the HSM's GCM check.
    let mut t = wrapped.clone();
    let last = t.wrapped.len() - 1;
    t.wrapped[last] ^= 1;
    let err = ring.load(&t).unwrap_err();
    assert!(
        matches!(err, VaultError::AuthenticationFailed { .. }),
        "{err}"
    );
    let relabelled = WrappedDek {
        purpose: KeyPurpose::BANK_ACCOUNT,
        ..wrapped.clone()
    };
    assert!(matches!(
        ring.load(&relabelled),
        Err(VaultError::AuthenticationFailed { .. })
    ));

    // A second provider in the same process (module already initialised), as after a restart.
    let kek2 = Arc::new(Pkcs11Kek::connect(cfg.clone()).unwrap());
    let restarted = Keyring::new(kek2);
    restarted.load(&wrapped).unwrap();
    assert_eq!(
        restarted.decrypt(&stored, &aad).unwrap().expose_secret(),
        b"3171234567890001"
    );

    // Concurrent use from several threads shares the one session safely.
    let handles: Vec<_> = (0..4)
        .map(|_| {
            let kek = kek.clone();
            std::thread::spawn(move || {
                let ring = Keyring::new(kek);
                for _ in 0..10 {
                    let w = ring.rotate(&KeyPurpose::API_SECRET).unwrap();
                    ring.load(&w).unwrap();
                }
            })
        })
        .collect();
    for h in handles {
        h.join().unwrap();
    }
}

/// Reads the key's attributes straight through cryptoki: sensitive, never extractable, and its
/// value cannot be read.
fn assert_key_stays_in_token(cfg: &Pkcs11Config) {
    use cryptoki::context::{CInitializeArgs, CInitializeFlags, Pkcs11};
    use cryptoki::object::{Attribute, AttributeType, ObjectClass};
    use cryptoki::session::UserType;

    let ctx = Pkcs11::new(MODULE).unwrap();
    let _ = ctx.initialize(CInitializeArgs::new(CInitializeFlags::OS_LOCKING_OK));
    let slot = ctx
        .get_slots_with_token()
        .unwrap()
        .into_iter()
        .find(|s| ctx.get_token_info(*s).unwrap().label().trim_end() == TOKEN)
        .unwrap();
    let session = ctx.open_ro_session(slot).unwrap();
    let _ = session.login(UserType::User, Some(&cfg.pin));
    let keys = session
        .find_objects(&[
            Attribute::Class(ObjectClass::SECRET_KEY),
            Attribute::Label(KEY.as_bytes().to_vec()),
        ])
        .unwrap();
    assert_eq!(keys.len(), 1);
    let attrs = session
        .get_attributes(
            keys[0],
            &[
                AttributeType::Sensitive,
                AttributeType::Extractable,
                AttributeType::ValueLen,
            ],
        )
        .unwrap();
    assert!(
        attrs
            .iter()
            .any(|a| matches!(a, Attribute::Sensitive(true))),
        "{attrs:?}"
    );
    assert!(
        attrs
            .iter()
            .any(|a| matches!(a, Attribute::Extractable(false))),
        "{attrs:?}"
    );
    let value = session.get_attributes(keys[0], &[AttributeType::Value]);
    assert!(
        !matches!(value.as_deref(), Ok([Attribute::Value(v)]) if !v.is_empty()),
        "key value was readable"
    );
}
