//! The admin CLI, run as the real binary.

use benteng_core::audit::AuditContext;
use benteng_core::roles::StaffRole;
use serde_json::Value;

use crate::harness::{Backend, Environment, cli, on_both_backends};
use crate::people::{audit_types, enrol};

on_both_backends!(
    tenants_and_keys_through_the_cli,
    cli_refuses_bad_input_and_writes_nothing,
    case_decisions_from_the_host_name_the_person_and_keep_four_eyes
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

/// `benteng case decide|approve|reject --as LOGIN`: each runs as the named person through the
/// payments functions the operator API calls. Bad input, unknown or inactive people and the
/// wrong role are refused with nothing stored; the proposer cannot approve their own proposal;
/// the approval moves the money once and the trail names both people, with the CLI as where.
async fn case_decisions_from_the_host_name_the_person_and_keep_four_eyes(backend: Backend) {
    let held = crate::console::held_transfer(backend).await;
    let app = &held.app;
    let env = &app.env;
    enrol(app, "sue@benteng.example", &[StaffRole::Support]).await;
    enrol(app, "oz@benteng.example", &[StaffRole::ComplianceOfficer]).await;
    let gone = enrol(app, "gil@benteng.example", &[StaffRole::ComplianceOfficer]).await;
    app.services
        .store
        .set_person_status(
            gone.id.parse().unwrap(),
            benteng_store::PersonStatus::Disabled,
            &AuditContext::system("test"),
        )
        .await
        .unwrap();
    // Created, never enrolled: not active either.
    crate::people::staff_from_cli(env, "new@benteng.example", "compliance_officer").await;

    let (ok, listed, err) = cli(env, &["case", "list"]).await;
    assert!(ok, "{err}");
    let case = listed.split_whitespace().next().unwrap().to_owned();
    let ana = held.analyst.login.as_str();
    let olu = held.officer.login.as_str();
    let reason = "known supplier, contract on file";
    let propose = |case: &str, decision: &str, reason: &str, person: &str| {
        [
            "case",
            "decide",
            case,
            "--decision",
            decision,
            "--reason",
            reason,
            "--as",
            person,
        ]
        .map(str::to_owned)
        .to_vec()
    };
    let unknown = uuid::Uuid::new_v4().to_string();
    let refusals: Vec<(Vec<String>, &str)> = vec![
        (
            propose("not-a-uuid", "release", reason, ana),
            "not a case id",
        ),
        (propose(&unknown, "release", reason, ana), "no such case"),
        (propose(&case, "approve", reason, ana), "--decision"),
        (propose(&case, "release", "ok", ana), "10 characters"),
        (
            propose(&case, "release", reason, "nobody@benteng.example"),
            "no such member of staff",
        ),
        (propose(&case, "release", reason, "BAD NAME!"), "--as"),
        (
            propose(&case, "release", reason, "sue@benteng.example"),
            "does not hold reviews:decide",
        ),
        (
            propose(&case, "release", reason, "gil@benteng.example"),
            "is not active",
        ),
        (
            propose(&case, "release", reason, "new@benteng.example"),
            "is not active",
        ),
        (
            [
                propose(&case, "release", reason, ana),
                vec!["--transfer".into(), unknown.clone()],
            ]
            .concat(),
            "case or proposal not found",
        ),
        (
            ["case", "approve", &case, &unknown, "--as", olu]
                .map(str::to_owned)
                .to_vec(),
            "case or proposal not found",
        ),
        (
            ["case", "approve", &case, "x", "--as", olu]
                .map(str::to_owned)
                .to_vec(),
            "not a proposal id",
        ),
    ];
    for (args, says) in &refusals {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let (ok, _, err) = cli(env, &args).await;
        assert!(!ok, "{args:?} should fail");
        assert!(
            err.contains("error") && err.contains(says),
            "{args:?}: {err}"
        );
        assert!(!err.contains("panicked"), "{args:?}: {err}");
    }
    let (_, shown, _) = cli(env, &["case", "show", &case]).await;
    assert!(
        !shown.contains("decision_proposed"),
        "nothing proposed: {shown}"
    );
    assert!(
        !audit_types(app)
            .await
            .iter()
            .any(|e| e["event_type"] == "approval.proposed"),
        "nothing audited"
    );

    // The analyst proposes; the analyst cannot approve (no reviews:approve); an officer's own
    // proposal cannot be approved by that officer.
    let args = propose(&case, "release", reason, ana);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let (ok, analysts, err) = cli(env, &args).await;
    assert!(ok, "{err}");
    let analysts = analysts.trim().to_owned();
    let (ok, _, err) = cli(env, &["case", "approve", &case, &analysts, "--as", ana]).await;
    assert!(
        !ok && err.contains("does not hold reviews:approve"),
        "{err}"
    );
    let args = propose(&case, "block", "the name matches a listed entity", olu);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let (ok, officers, err) = cli(env, &args).await;
    assert!(ok, "{err}");
    let officers = officers.trim().to_owned();
    let (ok, _, err) = cli(env, &["case", "approve", &case, &officers, "--as", olu]).await;
    assert!(!ok && err.contains("other than its proposer"), "{err}");
    let (ok, _, err) = cli(env, &["case", "reject", &case, &officers, "--as", olu]).await;
    assert!(!ok && err.contains("other than its proposer"), "{err}");

    // Another officer rejects the officer's proposal: the transfer stays held.
    let (ok, out, err) = cli(
        env,
        &[
            "case",
            "reject",
            &case,
            &officers,
            "--as",
            "oz@benteng.example",
        ],
    )
    .await;
    assert!(ok, "{err}");
    assert!(out.contains("rejected"), "{out}");
    let transfer: Value = app
        .get(
            &format!("/v1/transfers/{}", held.transfer),
            Some(&held.payer.key),
        )
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(transfer["status"], "PENDING_REVIEW");

    // The officer approves the analyst's proposal: released, once, and the money moves.
    let (ok, out, err) = cli(
        env,
        &[
            "case",
            "approve",
            &case,
            &analysts,
            "--reason",
            "agreed, contract seen",
            "--as",
            olu,
        ],
    )
    .await;
    assert!(ok, "{err}");
    assert!(
        out.contains("approved") && out.contains("closed (false_positive)"),
        "{out}"
    );
    crate::payments::wait_for_status(app, &held.payer.key, &held.transfer, "COMPLETED").await;
    let (available, reserved) = crate::payments::balance(app, &held.payer.key, "USD").await;
    assert_eq!((available.as_str(), reserved.as_str()), ("899.50", "0.00"));

    // Twice, or on a transfer that moved: refused, nothing more stored.
    let (ok, _, err) = cli(
        env,
        &[
            "case",
            "approve",
            &case,
            &analysts,
            "--as",
            "oz@benteng.example",
        ],
    )
    .await;
    assert!(!ok && err.contains("decided already"), "{err}");
    let args = [
        propose(&case, "block", reason, ana),
        vec!["--transfer".into(), held.transfer.clone()],
    ]
    .concat();
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let (ok, _, err) = cli(env, &args).await;
    assert!(!ok && err.contains("not held for review"), "{err}");
    let args = propose(&case, "block", reason, ana);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let (ok, _, err) = cli(env, &args).await;
    assert!(!ok && err.contains("no transfer held for review"), "{err}");

    // The trail names the people, with the CLI as where.
    let events = audit_types(app).await;
    let reviewed: Vec<&Value> = events
        .iter()
        .filter(|e| e["event_type"] == "transfer.reviewed")
        .collect();
    assert_eq!(reviewed.len(), 1, "one decision");
    let reviewed = reviewed[0];
    assert_eq!(reviewed["actor"]["by"], format!("staff:{olu}"));
    assert!(
        reviewed["actor"]["session"]
            .as_str()
            .unwrap()
            .starts_with("cli:"),
        "{reviewed}"
    );
    assert_eq!(
        reviewed["changes"]["proposed_by"]["to"],
        held.analyst.id.as_str()
    );
    assert_eq!(
        reviewed["changes"]["approved_by"]["to"],
        held.officer.id.as_str()
    );
    let proposed: Vec<&Value> = events
        .iter()
        .filter(|e| e["event_type"] == "approval.proposed")
        .collect();
    assert_eq!(proposed.len(), 2, "two proposals");
    assert_eq!(proposed[0]["actor"]["by"], format!("staff:{ana}"));
    assert!(
        proposed[0]["actor"]["session"]
            .as_str()
            .unwrap()
            .starts_with("cli:")
    );
    let (_, shown, _) = cli(env, &["case", "show", &case]).await;
    for line in [
        "decision_proposed",
        "decision_rejected",
        "decision_approved",
    ] {
        assert!(shown.contains(line), "{line}: {shown}");
    }
    assert!(shown.contains(&format!("staff:{olu}")), "{shown}");
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
