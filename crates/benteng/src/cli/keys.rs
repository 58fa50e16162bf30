//! `benteng keys …`: the key registry. Every key the system holds, its purpose, age and
//! rotation date (the spec's periods), and rotation of the data keys with re-encryption.

use std::collections::BTreeMap;
use std::io::IsTerminal;
use std::time::Instant;

use anyhow::{Context, bail};
use benteng_core::audit::{AuditEvent, Retention};
use benteng_store::SealedColumn;
use benteng_vault::{Aad, EncryptedValue, KeyPurpose, reencrypt};
use clap::Subcommand;
use time::{Duration, OffsetDateTime};

use super::{cli_context, timestamp};
use crate::{Services, data_protection};

#[derive(Debug, Subcommand)]
pub enum KeysCommand {
    /// List every key with its age and rotation date; flags keys due within 30 days or overdue.
    Status,
    /// Create a new data key for a purpose and re-encrypt every value under the old ones.
    Rotate {
        /// bank_account, national_id, webhook (a new signing key, published 14 days before it
        /// signs) or iso20022 (a new XMLDSig signing key: its certificate is printed for the
        /// counterparties to register; it signs 14 days later, at once if it is the first).
        #[arg(long)]
        purpose: String,
    },
    /// Create the KEK inside the HSM configured in `keys.pkcs11` (sensitive, never extractable).
    HsmInit,
    /// Resume re-encryption after an interrupted rotation (safe to run any time).
    Reencrypt {
        #[arg(long)]
        purpose: String,
    },
}

/// The spec's rotation periods.
const DEK_PERIOD: Duration = Duration::days(365);
const KEK_PERIOD: Duration = Duration::days(2 * 365);
const TLS_PERIOD: Duration = Duration::days(365);
/// OAuth client secrets (SNAP partners' client secrets): 6 months.
const CLIENT_SECRET_PERIOD: Duration = Duration::days(182);
const DUE_SOON: Duration = Duration::days(30);
/// ISO 20022 XMLDSig signing keys: their certificates are valid one year.
const ISO20022_PERIOD: Duration = Duration::days(365);

fn state(rotate_by: OffsetDateTime, now: OffsetDateTime) -> &'static str {
    if rotate_by <= now {
        "OVERDUE"
    } else if rotate_by - now <= DUE_SOON {
        "due soon"
    } else {
        "ok"
    }
}

fn columns_of(purpose: &str) -> Vec<SealedColumn> {
    SealedColumn::ALL
        .into_iter()
        .filter(|c| c.purpose() == purpose)
        .collect()
}

/// How many stored values each data key encrypts.
async fn usage(services: &Services) -> anyhow::Result<BTreeMap<String, u64>> {
    let mut counts = BTreeMap::new();
    for column in SealedColumn::ALL {
        let mut after = String::new();
        loop {
            let page = services.store.sealed_values(column, &after, 1000).await?;
            let Some(last) = page.last() else { break };
            after = last.row_id.clone();
            for value in &page {
                let dek = EncryptedValue::parse(&value.sealed)
                    .map(|v| v.dek_id().to_string())
                    .unwrap_or_else(|_| "unreadable".to_owned());
                *counts.entry(dek).or_default() += 1;
            }
        }
    }
    Ok(counts)
}

fn file_created(path: &std::path::Path) -> Option<OffsetDateTime> {
    let meta = std::fs::metadata(path).ok()?;
    let time = meta.created().or_else(|_| meta.modified()).ok()?;
    Some(OffsetDateTime::from(time))
}

async fn status(services: &Services) -> anyhow::Result<()> {
    let now = benteng_core::now();
    let usage = usage(services).await?;
    println!(
        "{:<18} {:<36} {:<25} {:<25} {:<9} NOTE",
        "PURPOSE", "KEY", "CREATED", "ROTATE BY", "STATE"
    );
    let row = |purpose: &str,
               id: &str,
               created: Option<OffsetDateTime>,
               period: Duration,
               note: String| {
        let (created_text, by, st) = match created {
            Some(created) => (
                timestamp(created),
                timestamp(created + period),
                state(created + period, now),
            ),
            None => ("unknown".to_owned(), "unknown".to_owned(), "unknown"),
        };
        println!("{purpose:<18} {id:<36} {created_text:<25} {by:<25} {st:<9} {note}");
    };
    let keys = services.store.data_keys().await?;
    let mut newest: BTreeMap<&str, &benteng_store::StoredDataKey> = BTreeMap::new();
    for key in &keys {
        let entry = newest.entry(key.purpose.as_str()).or_insert(key);
        if (key.created_at, &key.id) > (entry.created_at, &entry.id) {
            *entry = key;
        }
    }
    for key in &keys {
        let active = newest
            .get(key.purpose.as_str())
            .is_some_and(|n| n.id == key.id);
        let state = if active { "active" } else { "retired" };
        // Only the columns `keys reencrypt` moves are counted; a purpose with none (SNAP client
        // secrets, sealed signing keys) would read "0 values" while it guards live secrets.
        let note = if columns_of(&key.purpose).is_empty() {
            format!("{state}; seals secrets that are not counted or re-encrypted: never remove")
        } else {
            let used = usage.get(&key.id).copied().unwrap_or(0);
            format!("{state}; encrypts {used} values")
        };
        row(
            &format!("dek:{}", key.purpose),
            &key.id,
            Some(key.created_at),
            DEK_PERIOD,
            note,
        );
    }
    let config = &services.config;
    match &config.keys.pkcs11 {
        Some(hsm) => row(
            "kek",
            &format!("pkcs11:{}/{}", hsm.token_label, hsm.key_label),
            None,
            KEK_PERIOD,
            "HSM key; wraps every DEK (its age is in the HSM's records)".to_owned(),
        ),
        None => {
            let kek = config
                .keys
                .kek_file
                .clone()
                .unwrap_or_else(|| config.data_dir.join("secrets").join("kek"));
            row(
                "kek",
                &kek.display().to_string(),
                file_created(&kek),
                KEK_PERIOD,
                "file KEK; wraps every DEK".to_owned(),
            );
        }
    }
    match crate::listeners::default_certificate(config) {
        Some((path, not_before)) => row(
            "tls",
            &path.display().to_string(),
            Some(not_before),
            TLS_PERIOD,
            "server certificate".to_owned(),
        ),
        None => println!(
            "{:<18} {:<36} (no certificate yet: created on first start)",
            "tls", "-"
        ),
    }
    for partner in services.store.snap_partners(None).await? {
        if partner.revoked_at.is_none() {
            row(
                "client-secret",
                &partner.client_id,
                Some(partner.created_at),
                CLIENT_SECRET_PERIOD,
                format!("SNAP partner of tenant {}; sealed", partner.tenant_id),
            );
        }
    }
    let iso_keys = services.store.iso20022_signing_keys().await?;
    let overlap = benteng_rails::iso20022::KEY_OVERLAP;
    for (key, place) in benteng_rails::iso20022::key_timeline(&iso_keys, services.clock.now()) {
        use benteng_core::rotation::Phase;
        let role = match (place.phase, place.superseded_at) {
            (Phase::Published, _) => format!(
                "registered with counterparties now; signs from {}",
                timestamp(key.signs_from)
            ),
            (Phase::Signing, Some(at)) => format!("signs until {}", timestamp(at)),
            (Phase::Signing, None) => "signs".to_owned(),
            (Phase::Retiring, Some(at)) => format!(
                "no longer signs; still verifies until {}",
                timestamp(at + overlap)
            ),
            _ => continue,
        };
        let fingerprint =
            benteng_rails::iso20022::hex_sha256(&crate::iso20022::certificate_der(key)?);
        row(
            "iso20022",
            &key.id,
            Some(key.signs_from),
            ISO20022_PERIOD,
            format!(
                "XMLDSig RSA-3072, sealed under KEK {}; {role}; certificate SHA-256 {fingerprint}",
                key.kek_id
            ),
        );
    }
    let webhooks = services.webhooks()?;
    for key in webhooks.keys.timeline().await? {
        let note = match (key.state, key.unpublished_at()) {
            ("published", _) => format!("in the JWKS; signs from {}", timestamp(key.signs_from)),
            ("signing", _) => "signing; in the JWKS".to_owned(),
            ("retiring", Some(until)) => {
                format!("no longer signs; in the JWKS until {}", timestamp(until))
            }
            _ => "retired (not in the JWKS)".to_owned(),
        };
        row(
            "webhook",
            &key.kid,
            Some(key.signs_from),
            benteng_core::webhooks::KEY_PERIOD,
            format!("RSA 3072, sealed; {note}"),
        );
    }
    let fapi_keys = services
        .fapi
        .key_timeline()
        .await
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    for (key, place) in fapi_keys {
        use benteng_core::rotation::Phase;
        let note = match (place.phase, place.superseded_at) {
            (Phase::Published, _) => {
                format!("in the JWKS; signs from {}", timestamp(key.signs_from))
            }
            (Phase::Signing, _) => "signing JARM responses; in the JWKS".to_owned(),
            (Phase::Retiring, Some(at)) => format!(
                "no longer signs; in the JWKS until {}",
                timestamp(at + benteng_core::webhooks::KEY_OVERLAP)
            ),
            _ => "retired (not in the JWKS)".to_owned(),
        };
        row(
            "fapi",
            &key.kid,
            Some(key.signs_from),
            benteng_core::webhooks::KEY_PERIOD,
            format!("ES256 (P-256), sealed; {note}"),
        );
    }
    if let Some(unreadable) = usage.get("unreadable") {
        println!("WARNING: {unreadable} stored values are not in the sealed format");
    }
    Ok(())
}

/// Re-encrypts every value of `purpose` that is not under the active key. Resumable: each row
/// is swapped only if unchanged, and a rerun continues where this one stopped.
async fn reencrypt_all(services: &Services, purpose: &KeyPurpose) -> anyhow::Result<u64> {
    let keyring = &services.protection.keyring;
    let terminal = std::io::stderr().is_terminal();
    let started = Instant::now();
    let (mut seen, mut changed) = (0u64, 0u64);
    for column in columns_of(purpose.as_str()) {
        let (table, column_name) = column.location();
        let mut after = String::new();
        loop {
            let page = services.store.sealed_values(column, &after, 500).await?;
            let Some(last) = page.last() else { break };
            after = last.row_id.clone();
            for value in &page {
                seen += 1;
                let aad = Aad::new(&value.tenant_id, table, column_name, &value.row_id);
                if let Some(new) = reencrypt(keyring, &value.sealed, &aad).with_context(|| {
                    format!("re-encrypting {table}.{column_name} row {}", value.row_id)
                })? && services
                    .store
                    .replace_sealed(column, &value.row_id, &value.sealed, &new)
                    .await?
                {
                    changed += 1;
                }
            }
            let rate = seen as f64 / started.elapsed().as_secs_f64().max(0.001);
            if terminal {
                eprint!(
                    "\r{table}.{column_name}: {seen} checked, {changed} re-encrypted, {rate:.0}/s   "
                );
            } else {
                tracing::info!(seen, changed, rate, "re-encryption progress");
            }
        }
    }
    if terminal {
        eprintln!();
    }
    Ok(changed)
}

fn purpose(text: &str) -> anyhow::Result<KeyPurpose> {
    let purpose: KeyPurpose = text
        .parse()
        .map_err(|_| anyhow::anyhow!("not a key purpose"))?;
    if columns_of(purpose.as_str()).is_empty() {
        bail!("--purpose must be bank_account, national_id, webhook, iso20022 or fapi");
    }
    Ok(purpose)
}

/// Creates the HSM key; runs before anything opens the KEK.
pub(super) fn hsm_init(config: &crate::Config) -> anyhow::Result<()> {
    let Some(settings) = &config.keys.pkcs11 else {
        bail!("keys.pkcs11 is not configured");
    };
    benteng_vault::Pkcs11Kek::create_key(&data_protection::pkcs11_config(settings))
        .context("creating the KEK in the HSM")?;
    println!(
        "created AES-256 key {} in token {}",
        settings.key_label, settings.token_label
    );
    Ok(())
}

pub(super) async fn run(services: Services, command: KeysCommand) -> anyhow::Result<()> {
    match command {
        KeysCommand::Status => status(&services).await?,
        KeysCommand::HsmInit => bail!("the HSM key already exists: the server opened it"),
        KeysCommand::Rotate { purpose: text } if text == "webhook" => {
            let webhooks = services.webhooks()?;
            let key = webhooks.keys.rotate(&cli_context()).await?;
            println!(
                "new webhook signing key {} is in the JWKS now and signs from {}",
                key.kid,
                timestamp(key.signs_from)
            );
        }
        KeysCommand::Rotate { purpose: text } if text == "fapi" => {
            let kid = services
                .fapi
                .rotate(&cli_context())
                .await
                .map_err(|e| anyhow::anyhow!("refused: {e}"))?;
            println!("new FAPI signing key {kid} is in the JWKS now and signs 14 days from now");
        }
        KeysCommand::Rotate { purpose: text } if text == "iso20022" => {
            let key = crate::iso20022::rotate_signing_key(&services, &cli_context()).await?;
            eprintln!(
                "new ISO 20022 signing key {}; it signs from {}. Its certificate, for the \
                 counterparties to register:",
                key.id,
                timestamp(key.signs_from)
            );
            super::iso20022::print_pem(&crate::iso20022::certificate_der(&key)?);
        }
        KeysCommand::Rotate { purpose: text } => {
            let purpose = purpose(&text)?;
            let keyring = &services.protection.keyring;
            let new = data_protection::rotate(&services.store, keyring, &purpose).await?;
            let event = AuditEvent::new(
                &cli_context(),
                "key.rotated",
                Retention::Security,
                ("data_key", new.to_string()),
            )
            .change("purpose", serde_json::Value::Null, purpose.as_str().into());
            services.store.audit(&event).await?;
            println!(
                "new {} key {new} is active; re-encrypting",
                purpose.as_str()
            );
            let changed = reencrypt_all(&services, &purpose).await?;
            println!(
                "{changed} values re-encrypted; old keys stay until `keys status` shows them unused"
            );
        }
        KeysCommand::Reencrypt { purpose: text } => {
            let purpose = purpose(&text)?;
            let changed = reencrypt_all(&services, &purpose).await?;
            println!("{changed} values re-encrypted");
        }
    }
    Ok(())
}
