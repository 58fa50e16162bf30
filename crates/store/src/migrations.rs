//! Schema migrations, embedded in the binary, one list per backend with the same versions.
//!
//! A small runner instead of sqlx's: it works through the `Any` driver, records a checksum of
//! each applied script (an edited script is refused, not silently skipped), and serialises
//! concurrent starts with an advisory lock on PostgreSQL (SQLite has one writer anyway).

use sqlx::{AnyPool, Row};

use crate::{Backend, StoreError, StoreResult};

pub struct Migration {
    pub version: i64,
    pub name: &'static str,
    pub sqlite: &'static str,
    pub postgres: &'static str,
}

macro_rules! migration {
    ($version:literal, $name:literal) => {
        Migration {
            version: $version,
            name: $name,
            sqlite: include_str!(concat!("../migrations/sqlite/", $name, ".sql")),
            postgres: include_str!(concat!("../migrations/postgres/", $name, ".sql")),
        }
    };
}

/// Every migration, in order. A script exists for each backend or this does not compile.
pub static MIGRATIONS: &[Migration] = &[
    migration!(1, "0001_tenants_and_api_keys"),
    migration!(2, "0002_payments"),
    migration!(3, "0003_tenant_certificates"),
    migration!(4, "0004_data_keys"),
    migration!(5, "0005_screening"),
    migration!(6, "0006_idempotency"),
    migration!(7, "0007_audit"),
    migration!(8, "0008_snap"),
    migration!(9, "0009_idempotency_outcome"),
    migration!(10, "0010_test_environment"),
    migration!(11, "0011_api_key_scopes"),
    migration!(12, "0012_api_key_networks"),
    migration!(13, "0013_people"),
    migration!(14, "0014_staff_tokens"),
    migration!(15, "0015_monitoring"),
    migration!(16, "0016_webhooks"),
    migration!(17, "0017_iso20022"),
    migration!(18, "0018_kyc_evidence"),
    migration!(19, "0019_webhook_events_more"),
    migration!(20, "0020_iso20022_delivery_and_rotation"),
    migration!(21, "0021_cases"),
    migration!(22, "0022_incidents"),
    migration!(23, "0023_reports"),
    migration!(24, "0024_fapi"),
    migration!(25, "0025_iso20022_batches_and_recipient_bic"),
];

/// Arbitrary constant naming benteng's migration lock among PostgreSQL advisory locks.
const PG_MIGRATION_LOCK: i64 = 0x0062_656e_7465_6e67;

pub(crate) async fn apply(pool: &AnyPool, backend: Backend) -> StoreResult<Vec<i64>> {
    let mut conn = pool.acquire().await?;
    if backend == Backend::Postgres {
        sqlx::query("SELECT pg_advisory_lock($1)")
            .bind(PG_MIGRATION_LOCK)
            .execute(&mut *conn)
            .await?;
    }
    let result = apply_locked(&mut conn, backend).await;
    if backend == Backend::Postgres {
        sqlx::query("SELECT pg_advisory_unlock($1)")
            .bind(PG_MIGRATION_LOCK)
            .execute(&mut *conn)
            .await?;
    }
    result
}

async fn apply_locked(conn: &mut sqlx::AnyConnection, backend: Backend) -> StoreResult<Vec<i64>> {
    sqlx::raw_sql(
        "CREATE TABLE IF NOT EXISTS schema_migrations (
             version BIGINT PRIMARY KEY,
             name TEXT NOT NULL,
             checksum TEXT NOT NULL,
             applied_at BIGINT NOT NULL)",
    )
    .execute(&mut *conn)
    .await?;
    let applied = sqlx::query("SELECT version, checksum FROM schema_migrations")
        .fetch_all(&mut *conn)
        .await?;
    let mut done = Vec::new();
    for row in &applied {
        done.push((row.try_get::<i64, _>(0)?, row.try_get::<String, _>(1)?));
    }

    let mut newly_applied = Vec::new();
    for migration in MIGRATIONS {
        let script = match backend {
            Backend::Sqlite => migration.sqlite,
            Backend::Postgres => migration.postgres,
        };
        let checksum = hex::encode(benteng_crypto::sha256(script.as_bytes()));
        if let Some((_, recorded)) = done.iter().find(|(v, _)| *v == migration.version) {
            if *recorded != checksum {
                return Err(StoreError::MigrationChanged {
                    version: migration.version,
                });
            }
            continue;
        }
        let mut tx = sqlx::Acquire::begin(&mut *conn).await?;
        sqlx::raw_sql(script).execute(&mut *tx).await?;
        sqlx::query(
            "INSERT INTO schema_migrations (version, name, checksum, applied_at) \
             VALUES ($1, $2, $3, $4)",
        )
        .bind(migration.version)
        .bind(migration.name)
        .bind(&checksum)
        .bind(crate::rows::now_micros())
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        tracing::info!(
            version = migration.version,
            name = migration.name,
            "migration applied"
        );
        newly_applied.push(migration.version);
    }
    Ok(newly_applied)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_are_strictly_increasing_and_named_after_their_files() {
        let mut previous = 0;
        for m in MIGRATIONS {
            assert!(m.version > previous, "{} out of order", m.name);
            assert!(m.name.starts_with(&format!("{:04}_", m.version)));
            previous = m.version;
        }
    }

    #[test]
    fn every_script_file_is_listed() {
        for dir in ["sqlite", "postgres"] {
            let path = concat!(env!("CARGO_MANIFEST_DIR"), "/migrations/").to_owned() + dir;
            let mut files: Vec<String> = std::fs::read_dir(&path)
                .into_iter()
                .flatten()
                .flatten()
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .collect();
            files.sort();
            let listed: Vec<String> = MIGRATIONS
                .iter()
                .map(|m| format!("{}.sql", m.name))
                .collect();
            assert_eq!(files, listed, "{dir}");
        }
    }
}
