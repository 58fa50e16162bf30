//! Schema migrations, embedded in the binary, one list per backend with the same versions.
//!
//! A small runner instead of sqlx's: it works through the `Any` driver, records a checksum of
//! each applied script (an edited script is refused, not silently skipped), and serialises
//! concurrent starts with an advisory lock on PostgreSQL (SQLite has one writer anyway).
//!
//! A SQLite script whose first line is [`SQLITE_REBUILD`] may rebuild a table that others
//! reference (the only way SQLite changes a CHECK): the runner turns foreign keys off around it
//! (a no-op inside a transaction, so before `BEGIN`) and refuses to commit unless
//! `PRAGMA foreign_key_check` finds nothing, as SQLite's documented procedure asks.

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
    migration!(26, "0026_webhooks_es256"),
    migration!(27, "0027_incident_alerts"),
    migration!(28, "0028_audit_purge_role_and_anchors"),
    migration!(29, "0029_eu_fius_and_daml_answers"),
    migration!(30, "0030_screening_blocks"),
    migration!(31, "0031_case_sla_clock"),
    migration!(32, "0032_case_attachments"),
    migration!(33, "0033_cases_by_party"),
];

/// The first line of a SQLite script that rebuilds a referenced table.
pub const SQLITE_REBUILD: &str = "-- benteng: rebuild";

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

/// Checks, reading only, that the database's schema is the one this binary was built for: every
/// migration applied unchanged and none it does not know. A server that does not migrate (a role
/// that owns nothing, `database.migrate = false`) starts only when this holds.
pub(crate) async fn check(pool: &AnyPool, backend: Backend) -> StoreResult<()> {
    let expected = MIGRATIONS.last().map_or(0, |m| m.version);
    let rows = match sqlx::query("SELECT version, checksum FROM schema_migrations")
        .fetch_all(pool)
        .await
    {
        Ok(rows) => rows,
        // No table yet: nothing was ever migrated.
        Err(sqlx::Error::Database(error))
            if error.code().as_deref() == Some("42P01")
                || error.message().contains("no such table") =>
        {
            return Err(StoreError::SchemaNotCurrent {
                applied: 0,
                expected,
            });
        }
        Err(error) => return Err(error.into()),
    };
    let mut applied = Vec::with_capacity(rows.len());
    for row in &rows {
        applied.push((row.try_get::<i64, _>(0)?, row.try_get::<String, _>(1)?));
    }
    let newest = applied.iter().map(|(v, _)| *v).max().unwrap_or(0);
    for migration in MIGRATIONS {
        let script = match backend {
            Backend::Sqlite => migration.sqlite,
            Backend::Postgres => migration.postgres,
        };
        let checksum = hex::encode(benteng_crypto::sha256(script.as_bytes()));
        match applied.iter().find(|(v, _)| *v == migration.version) {
            Some((_, recorded)) if *recorded != checksum => {
                return Err(StoreError::MigrationChanged {
                    version: migration.version,
                });
            }
            Some(_) => {}
            None => {
                return Err(StoreError::SchemaNotCurrent {
                    applied: newest,
                    expected,
                });
            }
        }
    }
    if newest > expected {
        return Err(StoreError::SchemaNotCurrent {
            applied: newest,
            expected,
        });
    }
    Ok(())
}

async fn apply_locked(conn: &mut sqlx::AnyConnection, backend: Backend) -> StoreResult<Vec<i64>> {
    apply_list(conn, backend, MIGRATIONS).await
}

async fn apply_list(
    conn: &mut sqlx::AnyConnection,
    backend: Backend,
    migrations: &[Migration],
) -> StoreResult<Vec<i64>> {
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
    for migration in migrations {
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
        let rebuild = backend == Backend::Sqlite && script.starts_with(SQLITE_REBUILD);
        if rebuild {
            sqlx::raw_sql("PRAGMA foreign_keys = OFF")
                .execute(&mut *conn)
                .await?;
        }
        let applied = apply_one(conn, migration, script, &checksum, rebuild).await;
        if rebuild {
            sqlx::raw_sql("PRAGMA foreign_keys = ON")
                .execute(&mut *conn)
                .await?;
        }
        applied?;
        tracing::info!(
            version = migration.version,
            name = migration.name,
            "migration applied"
        );
        newly_applied.push(migration.version);
    }
    Ok(newly_applied)
}

/// One script and its `schema_migrations` row, in one transaction.
async fn apply_one(
    conn: &mut sqlx::AnyConnection,
    migration: &Migration,
    script: &'static str,
    checksum: &str,
    rebuild: bool,
) -> StoreResult<()> {
    let mut tx = sqlx::Acquire::begin(&mut *conn).await?;
    sqlx::raw_sql(script).execute(&mut *tx).await?;
    if rebuild {
        let dangling = sqlx::raw_sql("PRAGMA foreign_key_check")
            .fetch_all(&mut *tx)
            .await?;
        if !dangling.is_empty() {
            return Err(StoreError::Corrupt(format!(
                "migration {} leaves {} rows pointing at nothing",
                migration.version,
                dangling.len()
            )));
        }
    }
    sqlx::query(
        "INSERT INTO schema_migrations (version, name, checksum, applied_at) \
         VALUES ($1, $2, $3, $4)",
    )
    .bind(migration.version)
    .bind(migration.name)
    .bind(checksum)
    .bind(crate::rows::now_micros())
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
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

    const PARENT_AND_CHILD: Migration = Migration {
        version: 1,
        name: "0001_parent_and_child",
        sqlite: "CREATE TABLE parent (id TEXT PRIMARY KEY, kind TEXT NOT NULL CHECK (kind IN ('a'))) STRICT;
                 CREATE TABLE child (id TEXT PRIMARY KEY, parent_id TEXT NOT NULL REFERENCES parent (id)) STRICT;
                 INSERT INTO parent VALUES ('p1', 'a'), ('p2', 'a');
                 INSERT INTO child VALUES ('c1', 'p1'), ('c2', 'p2');",
        postgres: "",
    };

    /// Widens parent's CHECK by rebuilding it; `$keep` chooses the rows copied.
    macro_rules! widen {
        ($marker:expr, $keep:literal) => {
            Migration {
                version: 2,
                name: "0002_widen_parent",
                sqlite: concat!(
                    $marker,
                    "\nCREATE TABLE parent_rebuilt (id TEXT PRIMARY KEY, kind TEXT NOT NULL CHECK (kind IN ('a', 'b'))) STRICT;
                     INSERT INTO parent_rebuilt SELECT id, kind FROM parent WHERE ",
                    $keep,
                    ";
                     DROP TABLE parent;
                     ALTER TABLE parent_rebuilt RENAME TO parent;"
                ),
                postgres: "",
            }
        };
    }

    async fn fresh() -> (crate::Store, sqlx::pool::PoolConnection<sqlx::Any>) {
        let store = crate::Store::connect("sqlite::memory:", &crate::StoreOptions::default())
            .await
            .unwrap();
        let conn = store.pool.acquire().await.unwrap();
        (store, conn)
    }

    async fn count(conn: &mut sqlx::AnyConnection, sql: &'static str) -> i64 {
        sqlx::query(sql)
            .fetch_one(conn)
            .await
            .unwrap()
            .try_get(0)
            .unwrap()
    }

    #[tokio::test]
    async fn a_sqlite_rebuild_keeps_the_rows_that_point_at_the_rebuilt_table() {
        let (_store, mut conn) = fresh().await;
        let applied = apply_list(
            &mut conn,
            Backend::Sqlite,
            &[PARENT_AND_CHILD, widen!("-- benteng: rebuild", "1")],
        )
        .await
        .unwrap();
        assert_eq!(applied, [1, 2]);
        sqlx::raw_sql("INSERT INTO parent VALUES ('p3', 'b')")
            .execute(&mut *conn)
            .await
            .expect("the widened CHECK takes 'b'");
        assert_eq!(count(&mut conn, "SELECT count(*) FROM child").await, 2);
        assert_eq!(count(&mut conn, "PRAGMA foreign_keys").await, 1);
        let dangling = sqlx::raw_sql("INSERT INTO child VALUES ('c3', 'nowhere')")
            .execute(&mut *conn)
            .await;
        assert!(dangling.is_err(), "references are enforced again");
    }

    #[tokio::test]
    async fn without_the_rebuild_line_a_referenced_table_cannot_be_dropped() {
        let (_store, mut conn) = fresh().await;
        let refused = apply_list(
            &mut conn,
            Backend::Sqlite,
            &[PARENT_AND_CHILD, widen!("", "1")],
        )
        .await;
        assert!(refused.is_err());
        assert_eq!(
            count(&mut conn, "SELECT count(*) FROM schema_migrations").await,
            1
        );
    }

    #[tokio::test]
    async fn a_rebuild_that_leaves_rows_pointing_at_nothing_is_rolled_back() {
        let (_store, mut conn) = fresh().await;
        let refused = apply_list(
            &mut conn,
            Backend::Sqlite,
            &[
                PARENT_AND_CHILD,
                widen!("-- benteng: rebuild", "id <> 'p1'"),
            ],
        )
        .await;
        assert!(
            matches!(&refused, Err(StoreError::Corrupt(why)) if why.contains("1 rows")),
            "{refused:?}"
        );
        assert_eq!(
            count(&mut conn, "SELECT count(*) FROM schema_migrations").await,
            1
        );
        assert_eq!(count(&mut conn, "SELECT count(*) FROM parent").await, 2);
        assert_eq!(count(&mut conn, "PRAGMA foreign_keys").await, 1);
    }
}
