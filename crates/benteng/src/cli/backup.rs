//! `benteng backup …`: encrypted backups under a backup key kept apart from the data keys.
//! The embedded SQLite database is snapshotted and encrypted in one step; PostgreSQL dumps are
//! piped through `backup encrypt` / `backup decrypt` (see docs/operations.md).

use std::io::{Read, Write};
use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use benteng_store::{Store, StoreOptions};
use benteng_vault::BackupKey;
use clap::Subcommand;

use crate::Config;

#[derive(Debug, Subcommand)]
pub enum BackupCommand {
    /// Snapshot the embedded SQLite database into an encrypted FILE.
    Create { file: PathBuf },
    /// Replace the embedded SQLite database with the backup in FILE (server stopped).
    Restore {
        file: PathBuf,
        /// Required: the current database is replaced.
        #[arg(long)]
        replace: bool,
    },
    /// Encrypt standard input to standard output (e.g. `pg_dump … | benteng backup encrypt`).
    Encrypt,
    /// Decrypt standard input to standard output; fails, without a usable output, if the input
    /// was changed or truncated.
    Decrypt,
}

fn backup_key(config: &Config) -> anyhow::Result<BackupKey> {
    let path = config
        .keys
        .backup_key_file
        .clone()
        .unwrap_or_else(|| config.data_dir.join("secrets").join("backup-key"));
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)?;
    }
    BackupKey::load_or_create_file(&path).with_context(|| format!("backup key {}", path.display()))
}

fn sqlite_path(config: &Config) -> anyhow::Result<PathBuf> {
    let url = config.database_url();
    let Some(path) = url.strip_prefix("sqlite://") else {
        bail!(
            "backup create/restore handle the embedded SQLite database; for PostgreSQL pipe pg_dump through `benteng backup encrypt` (docs/operations.md)"
        );
    };
    Ok(PathBuf::from(path.split('?').next().unwrap_or(path)))
}

/// A path beside `near` that does not exist yet.
fn scratch(near: &Path, label: &str) -> PathBuf {
    let dir = near.parent().unwrap_or(Path::new("."));
    dir.join(format!(
        ".benteng-{label}-{}",
        uuid::Uuid::new_v4().simple()
    ))
}

pub(super) async fn run(config: Config, command: BackupCommand) -> anyhow::Result<()> {
    match command {
        BackupCommand::Create { file } => {
            if file.exists() {
                bail!("{} exists; choose a new file", file.display());
            }
            let database = sqlite_path(&config)?;
            let key = backup_key(&config)?;
            let store = Store::connect(&config.database_url(), &StoreOptions::default()).await?;
            let snapshot = scratch(&database, "snapshot");
            store.snapshot_sqlite(&snapshot).await?;
            let result = benteng_vault::encrypt_file(&snapshot, &file, &key);
            let _ = std::fs::remove_file(&snapshot);
            let bytes = result.context("encrypting the snapshot")?;
            println!(
                "{} written ({bytes} bytes of database, key {})",
                file.display(),
                key.id()
            );
        }
        BackupCommand::Restore { file, replace } => {
            if !replace {
                bail!(
                    "restore replaces the current database: pass --replace (with the server stopped)"
                );
            }
            let database = sqlite_path(&config)?;
            let key = backup_key(&config)?;
            let restored = scratch(&database, "restore");
            benteng_vault::decrypt_file(&file, &restored, &key).context(
                "the backup does not decrypt with this backup key (wrong key, or changed)",
            )?;
            let check = async {
                let url = format!("sqlite://{}", restored.display());
                let store = Store::connect(&url, &StoreOptions::default()).await?;
                let version = store.schema_version().await?;
                store.close().await;
                anyhow::Ok(version)
            };
            let version = match check.await {
                Ok(version) if version > 0 => version,
                _ => {
                    let _ = std::fs::remove_file(&restored);
                    bail!("the backup is not a benteng database");
                }
            };
            for suffix in ["-wal", "-shm"] {
                let _ = std::fs::remove_file(format!("{}{suffix}", database.display()));
            }
            std::fs::rename(&restored, &database).context("replacing the database")?;
            println!("restored {} (schema version {version})", database.display());
        }
        BackupCommand::Encrypt => {
            let key = backup_key(&config)?;
            let stdin = std::io::stdin().lock();
            let mut stdout = std::io::stdout().lock();
            benteng_vault::encrypt_stream(stdin, &mut stdout, &key)?;
            stdout.flush()?;
        }
        BackupCommand::Decrypt => {
            let key = backup_key(&config)?;
            let mut input = Vec::new();
            std::io::stdin().lock().read_to_end(&mut input)?;
            // Decrypt fully before writing anything, so a tampered input yields no output.
            let mut plain = Vec::new();
            benteng_vault::decrypt_stream(input.as_slice(), &mut plain, &key)?;
            std::io::stdout().lock().write_all(&plain)?;
        }
    }
    Ok(())
}
