//! The admin CLI, run as the real binary.

use crate::harness::{Backend, Environment, cli, on_both_backends};

on_both_backends!(
    tenants_and_keys_through_the_cli,
    cli_refuses_bad_input_and_writes_nothing
);

async fn tenants_and_keys_through_the_cli(backend: Backend) {
    let env = Environment::new(backend).await;
    let (ok, tenant_id, err) = cli(
        &env,
        &[
            "tenant",
            "create",
            "--name",
            "PT Maju Jaya",
            "--tier",
            "growth",
        ],
    )
    .await;
    assert!(ok, "{err}");
    let tenant_id = tenant_id.trim().to_owned();
    assert_eq!(tenant_id.len(), 36);

    let (ok, list, _) = cli(&env, &["tenant", "list"]).await;
    assert!(ok);
    assert!(list.contains(&tenant_id) && list.contains("growth") && list.contains("active"));

    let (ok, key, err) = cli(
        &env,
        &[
            "apikey",
            "issue",
            "--tenant",
            &tenant_id,
            "--expires-in-days",
            "30",
        ],
    )
    .await;
    assert!(ok, "{err}");
    let key = key.trim().to_owned();
    assert!(key.starts_with(&format!("sk_live_{}_", tenant_id.replace('-', ""))));
    assert!(err.contains("will not be shown again"));

    let (ok, keys, _) = cli(&env, &["apikey", "list", "--tenant", &tenant_id]).await;
    assert!(ok);
    assert!(!keys.contains(&key), "the key itself is never listed");
    assert!(keys.contains(&key[..45]), "its prefix is");

    let key_id = keys
        .lines()
        .nth(1)
        .unwrap()
        .split_whitespace()
        .next()
        .unwrap()
        .to_owned();
    let (ok, out, err) = cli(&env, &["apikey", "revoke", &key_id]).await;
    assert!(ok, "{err}");
    assert!(out.contains("revoked"));
    let (_, keys, _) = cli(&env, &["apikey", "list", "--tenant", &tenant_id]).await;
    assert!(
        !keys.lines().nth(1).unwrap().trim_end().ends_with('-'),
        "revocation time shown"
    );

    let (ok, out, _) = cli(&env, &["tenant", "suspend", &tenant_id]).await;
    assert!(ok);
    assert!(out.contains("suspended"));
    let (ok, _, err) = cli(&env, &["apikey", "issue", "--tenant", &tenant_id]).await;
    assert!(!ok, "no keys for a suspended tenant");
    assert!(err.contains("suspended"), "{err}");
}

async fn cli_refuses_bad_input_and_writes_nothing(backend: Backend) {
    let env = Environment::new(backend).await;
    let refusals: &[&[&str]] = &[
        &["tenant", "create", "--name", "Acme", "--tier", "platinum"],
        &["tenant", "create", "--name", "", "--tier", "starter"],
        &[
            "tenant",
            "create",
            "--name",
            "bad\u{202E}name",
            "--tier",
            "starter",
        ],
        &["tenant", "suspend", "not-a-uuid"],
        &["tenant", "suspend", "00000000-0000-4000-8000-000000000000"],
        &[
            "apikey",
            "issue",
            "--tenant",
            "00000000-0000-4000-8000-000000000000",
        ],
        &["apikey", "issue", "--tenant", "'; DROP TABLE tenants; --"],
        &[
            "apikey",
            "list",
            "--tenant",
            "00000000-0000-4000-8000-000000000000",
        ],
        &["apikey", "revoke", "00000000-0000-4000-8000-000000000000"],
        &["apikey", "revoke", "x"],
    ];
    for args in refusals {
        let (ok, _, err) = cli(&env, args).await;
        assert!(!ok, "{args:?} should fail");
        assert!(err.contains("error"), "{args:?}: {err}");
        assert!(!err.contains("panicked"), "{args:?}: {err}");
    }
    let (ok, out, _) = cli(
        &env,
        &["tenant", "create", "--name", "Acme", "--tier", "starter"],
    )
    .await;
    assert!(ok);
    let (_, list, _) = cli(&env, &["tenant", "list"]).await;
    assert_eq!(
        list.lines().count(),
        2,
        "only the one good tenant exists: {list}"
    );
    assert!(list.contains(out.trim()));
    let (ok, _, err) = cli(
        &env,
        &[
            "apikey",
            "issue",
            "--tenant",
            out.trim(),
            "--expires-in-days",
            "0",
        ],
    )
    .await;
    assert!(!ok && err.contains("between 1 and 3650"), "{err}");
}

/// The configuration file can be named by `--config` or `BENTENG_CONFIG`, and unknown keys in
/// it are refused.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_config_file_comes_from_the_flag_or_the_environment() {
    let env = Environment::new(Backend::Sqlite).await;
    let file = env.data_dir.path().join("benteng.toml");
    std::fs::write(&file, "[payments]\nfee_bps = 75\n").unwrap();
    let path = file.to_str().unwrap();
    let (ok, out, err) =
        crate::harness::cli_with_env(&env, &[("BENTENG_CONFIG", path)], &["config"]).await;
    assert!(ok, "{err}");
    assert!(out.contains("\"fee_bps\": 75"), "{out}");
    let (ok, out, _) = cli(&env, &["--config", path, "config"]).await;
    assert!(ok && out.contains("\"fee_bps\": 75"), "{out}");
    std::fs::write(&file, "[payments]\nfee_bsp = 75\n").unwrap();
    let (ok, _, err) = cli(&env, &["--config", path, "config"]).await;
    assert!(!ok && err.contains("fee_bsp"), "{err}");
}
