//! Durable storage. The only crate that sees SQL.
//!
//! One `Store` handle serves both backends: SQLite (the embedded default, one file, zero set-up)
//! and PostgreSQL (production, shared by every instance). Queries are written once in the SQL
//! both understand and run through sqlx's `Any` driver; what differs (DDL, triggers, locking)
//! lives in the per-backend migrations and in `Backend` branches. Every query is parameterized.
//!
//! Column conventions, the same in both backends: ids are canonical UUID text, timestamps are
//! Unix microseconds (BIGINT), money is integer minor units plus a currency code.

mod alert_cases;
mod api_keys;
mod approvals;
mod audit;
mod batches;
mod case_work;
mod cases;
mod data_keys;
mod fapi;
mod incidents;
mod iso20022;
mod kyc;
mod ledger;
mod migrations;
mod monitoring;
mod paging;
mod payment_writes;
mod people;
mod protection;
mod quotes;
mod recipients;
mod reports;
mod rows;
mod screening;
mod screening_blocks;
mod sealed;
mod snap;
mod staff_tokens;
mod tenant_certs;
mod tenants;
mod transfers;
mod webhooks;

use std::str::FromStr;
use std::time::Duration;

use benteng_core::store_link::{StoreLink, StoreTls};
use sqlx::any::{AnyConnectOptions, AnyPoolOptions};
use sqlx::postgres::{PgConnectOptions, PgSslMode};
use sqlx::{AnyPool, ConnectOptions as _, Executor};

pub use alert_cases::{AlertCases, AlertParty, UNSCORED_PRIORITY};
pub use approvals::{DecisionRefused, PendingAction};
pub use audit::{
    AnchorKeyRow, AuditBreak, AuditReport, ChainPoint, ChainState, Checkpoint, SealBacklog,
};
pub use case_work::{CaseChange, CaseChangeRefused};
pub use cases::{
    AssigneeFilter, CaseAges, CaseAttachmentRow, CaseDecisionWrite, CaseDue, CaseEvent, CaseItem,
    CaseOpening, CaseRow, ClosedOnDay, InboxQuery, NewCaseAttachment,
};
pub use data_keys::StoredDataKey;
pub use fapi::{FapiClientRow, FapiCodeRow, FapiRequestRow, FapiSigningKeyRow, FapiTokenRow};
pub use incidents::{BlockRow, DetectionFired, IncidentRow, LinkedDetection};
pub use iso20022::{StoredIsoMessage, StoredSigningKey};
pub use kyc::{EvidenceAlert, EvidenceRow, NewEvidence, UpgradeRequestRow};
pub use ledger::{Balance, LedgerError, Violation};
pub use migrations::MIGRATIONS;
pub use monitoring::{
    AlertKind, AlertRow, MonitoringRow, MonitoringWrite, NewAlert, Pattern, set_kyc_level_in,
};
pub use paging::{Cursor, Page};
pub use payment_writes::{
    BatchItemRow, HistoryStep, PartnerReference, PaymentWrite, TransferWrite, Unreserved,
    WriteRefusal,
};
pub use people::{NewPerson, PersonRow, PersonStatus, SessionRow};
pub use protection::{IdempotencyClaim, IdempotencyRecord, VolumeCharge};
pub use recipients::RecipientRow;
pub use reports::{DamlAnswerWrite, NewReport, ReportRow, ReportStatus};
pub use screening::{
    Clearance, ListVersion, NewListVersion, NewScreeningDecision, ScreeningDecisionRow,
    ScreeningParty, ScreeningRun,
};
pub use screening_blocks::ScreeningBlock;
pub use sealed::{SealedColumn, SealedValue};
pub use snap::{SnapPartner, SnapReference, SnapToken};
pub use staff_tokens::StaffTokenRow;
pub use tenant_certs::{TenantCertificate, TenantMtls};
pub use transfers::{InFlight, LedgerEffect, TransferEvent, TransferMove, TransferRecord};
pub use webhooks::{
    AttemptRecorded, AttemptRow, ClaimedDelivery, DeliveryNext, DeliveryRow, EndpointRow,
    QueueStats, SigningKeyRow, TenantNoticeRow,
};

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("not found")]
    NotFound,
    #[error("conflicts with an existing record")]
    Conflict,
    #[error("unsupported database URL: use sqlite://PATH or postgres://…")]
    UnsupportedUrl,
    /// TLS files that the URL contradicts or that cannot be handed to the driver.
    #[error("{0}")]
    Tls(String),
    /// A stored value that the domain refuses: the database was edited behind our back.
    #[error("stored data is invalid: {0}")]
    Corrupt(String),
    #[error("migration {version} was changed after it was applied")]
    MigrationChanged { version: i64 },
    #[error(
        "the database schema is at version {applied} but this benteng needs version {expected}: \
         run `benteng migrate` as the schema's owner (database.migrate = false)"
    )]
    SchemaNotCurrent { applied: i64, expected: i64 },
    #[error("database error: {0}")]
    Database(#[from] sqlx::Error),
}

impl StoreError {
    fn from_write(error: sqlx::Error) -> Self {
        match &error {
            sqlx::Error::Database(db) if db.is_unique_violation() => Self::Conflict,
            _ => Self::Database(error),
        }
    }
}

pub type StoreResult<T> = Result<T, StoreError>;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

impl Backend {
    pub fn from_url(url: &str) -> StoreResult<Self> {
        if url.starts_with("sqlite:") {
            Ok(Self::Sqlite)
        } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            Ok(Self::Postgres)
        } else {
            Err(StoreError::UnsupportedUrl)
        }
    }

    pub fn as_str(&self) -> &'static str {
        match self {
            Self::Sqlite => "sqlite",
            Self::Postgres => "postgres",
        }
    }
}

/// Connection settings beyond the URL.
#[derive(Debug, Clone)]
pub struct StoreOptions {
    pub max_connections: u32,
    pub acquire_timeout: Duration,
    /// PostgreSQL only: the CA and client certificate files, added to the URL's settings.
    pub tls: StoreTls,
}

impl Default for StoreOptions {
    fn default() -> Self {
        Self {
            max_connections: 16,
            acquire_timeout: Duration::from_secs(5),
            tls: StoreTls::default(),
        }
    }
}

/// The URL's query parameters sqlx reads each TLS file from (every spelling it accepts), and
/// the one `connect_options` writes.
const TLS_PARAMETERS: [(&[&str], &str); 3] = [
    (&["sslrootcert", "ssl-root-cert", "ssl-ca"], "sslrootcert"),
    (&["sslcert", "ssl-cert"], "sslcert"),
    (&["sslkey", "ssl-key"], "sslkey"),
];

/// What sqlx connects with: the URL (SQLite files created when missing) plus `tls`'s files as
/// the query parameters sqlx reads them from. Refused: TLS files for SQLite, a file given both
/// in the URL and in `tls`, and TLS files with an `sslmode` that would not verify the server
/// (or would fall back to plaintext), since the files would then be silently ignored.
fn connect_options(url: &str, tls: &StoreTls) -> StoreResult<(Backend, AnyConnectOptions)> {
    let backend = Backend::from_url(url)?;
    if backend == Backend::Sqlite {
        if tls.is_set() {
            return Err(StoreError::Tls(
                "TLS files apply to PostgreSQL, not SQLite".to_owned(),
            ));
        }
        let url = if url.contains("mode=") {
            url.to_owned()
        } else {
            let separator = if url.contains('?') { '&' } else { '?' };
            format!("{url}{separator}mode=rwc")
        };
        return Ok((backend, AnyConnectOptions::from_str(&url)?));
    }
    let mut options = AnyConnectOptions::from_str(url)?;
    if !tls.is_set() {
        return Ok((backend, options));
    }
    let identity = tls
        .client_identity()
        .map_err(|error| StoreError::Tls(error.to_string()))?;
    let files = [
        tls.ca_file.as_deref(),
        identity.map(|(cert, _)| cert),
        identity.map(|(_, key)| key),
    ];
    let given: Vec<String> = options
        .database_url
        .query_pairs()
        .map(|(name, _)| name.into_owned())
        .collect();
    for ((spellings, parameter), file) in TLS_PARAMETERS.into_iter().zip(files) {
        let Some(file) = file else { continue };
        if given.iter().any(|name| spellings.contains(&name.as_str())) {
            return Err(StoreError::Tls(format!(
                "{parameter} is given twice: in the URL and in the TLS settings"
            )));
        }
        let path = file
            .to_str()
            .ok_or_else(|| StoreError::Tls(format!("{} is not a UTF-8 path", file.display())))?;
        options
            .database_url
            .query_pairs_mut()
            .append_pair(parameter, path);
    }
    let mode = PgConnectOptions::from_url(&options.database_url)?.get_ssl_mode();
    if !matches!(mode, PgSslMode::VerifyFull | PgSslMode::VerifyCa) {
        return Err(StoreError::Tls(format!(
            "TLS files are set but the URL's sslmode is {}: use sslmode=verify-full",
            ssl_mode_name(mode)
        )));
    }
    Ok((backend, options))
}

fn ssl_mode_name(mode: PgSslMode) -> &'static str {
    match mode {
        PgSslMode::Disable => "disable",
        PgSslMode::Allow => "allow",
        PgSslMode::Prefer => "prefer",
        PgSslMode::Require => "require",
        PgSslMode::VerifyCa => "verify-ca",
        PgSslMode::VerifyFull => "verify-full",
    }
}

/// How connections made with `url` and `tls` travel, as sqlx reads them (the URL, then the
/// `PG*` environment variables it falls back to): a SQLite file or a Unix socket is local;
/// TCP is verified only with `sslmode=verify-full` or `verify-ca`.
pub fn link(url: &str, tls: &StoreTls) -> StoreResult<StoreLink> {
    let (backend, options) = connect_options(url, tls)?;
    if backend == Backend::Sqlite {
        return Ok(StoreLink::Local);
    }
    let postgres = PgConnectOptions::from_url(&options.database_url)?;
    // sqlx takes a host starting with '/' as the directory of a Unix socket.
    if postgres.get_socket().is_some() || postgres.get_host().starts_with('/') {
        return Ok(StoreLink::Local);
    }
    Ok(StoreLink::Tcp {
        host: postgres.get_host().to_owned(),
        verified_tls: matches!(
            postgres.get_ssl_mode(),
            PgSslMode::VerifyFull | PgSslMode::VerifyCa
        ),
    })
}

/// The handle every other layer holds. Cheap to clone.
#[derive(Clone)]
pub struct Store {
    pool: AnyPool,
    backend: Backend,
    known_accounts: ledger::KnownAccounts,
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Store")
            .field("backend", &self.backend)
            .finish()
    }
}

impl Store {
    /// Connects; for SQLite the file is created when missing.
    pub async fn connect(url: &str, options: &StoreOptions) -> StoreResult<Self> {
        sqlx::any::install_default_drivers();
        let (backend, connect) = connect_options(url, &options.tls)?;
        // SQLite allows one writer at a time; a single connection serialises transactions in
        // the pool instead of failing them with SQLITE_BUSY under load.
        let max_connections = match backend {
            Backend::Sqlite => 1,
            Backend::Postgres => options.max_connections.max(1),
        };
        let pool = AnyPoolOptions::new()
            .max_connections(max_connections)
            .acquire_timeout(options.acquire_timeout)
            // No ping before each use: it cost every acquire a round trip (a transfer makes
            // three). A connection the server dropped fails its next statement instead, and the
            // pool replaces it; idle ones are recycled before servers usually cut them.
            .test_before_acquire(false)
            .idle_timeout(Duration::from_secs(300))
            .after_connect(move |conn, _meta| {
                Box::pin(async move {
                    if backend == Backend::Sqlite {
                        conn.execute(
                            "PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL; \
                             PRAGMA foreign_keys = ON; PRAGMA busy_timeout = 5000;",
                        )
                        .await?;
                    }
                    Ok(())
                })
            })
            .connect_with(connect)
            .await?;
        Ok(Self {
            pool,
            backend,
            known_accounts: ledger::KnownAccounts::default(),
        })
    }

    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// Applies pending migrations of this backend, then the data steps that need Rust (keys
    /// issued before scopes get the full set, audited); safe to call from several instances at
    /// once.
    pub async fn migrate(&self) -> StoreResult<Vec<i64>> {
        let applied = migrations::apply(&self.pool, self.backend).await?;
        let adopted = self.adopt_unscoped_api_keys().await?;
        if adopted > 0 {
            tracing::info!(
                keys = adopted,
                "API keys issued before scopes were given the full set"
            );
        }
        Ok(applied)
    }

    /// Checks, without changing anything, that every migration this binary knows is applied
    /// (and no newer one): how a server that does not migrate (`database.migrate = false`)
    /// starts. [`StoreError::SchemaNotCurrent`] says what to run.
    pub async fn check_schema(&self) -> StoreResult<()> {
        migrations::check(&self.pool, self.backend).await
    }

    /// A cheap round trip, for readiness checks.
    pub async fn ping(&self) -> StoreResult<()> {
        sqlx::query("SELECT 1").execute(&self.pool).await?;
        Ok(())
    }

    pub async fn close(&self) {
        self.pool.close().await;
    }
}

impl Store {
    /// Writes a consistent copy of an SQLite database to `path` (which must not exist), while
    /// the database stays in use. PostgreSQL deployments use `pg_dump` instead.
    pub async fn snapshot_sqlite(&self, path: &std::path::Path) -> StoreResult<()> {
        if self.backend != Backend::Sqlite {
            return Err(StoreError::UnsupportedUrl);
        }
        let text = path
            .to_str()
            .filter(|p| !p.contains('\0'))
            .ok_or_else(|| StoreError::Corrupt("snapshot path is not UTF-8".to_owned()))?;
        // VACUUM INTO takes an expression: the path is bound, never spliced into the text.
        sqlx::query("VACUUM INTO $1")
            .bind(text)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// The newest applied migration, to check a restored database is benteng's.
    pub async fn schema_version(&self) -> StoreResult<i64> {
        let row =
            sqlx::query("SELECT CAST(COALESCE(MAX(version), 0) AS BIGINT) FROM schema_migrations")
                .fetch_one(&self.pool)
                .await?;
        Ok(sqlx::Row::try_get(&row, 0)?)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn tcp(host: &str, verified_tls: bool) -> StoreLink {
        StoreLink::Tcp {
            host: host.to_owned(),
            verified_tls,
        }
    }

    #[test]
    fn links_are_read_as_sqlx_reads_the_url() {
        let none = StoreTls::default();
        for (url, expected) in [
            ("sqlite:///var/lib/benteng/db.sqlite", StoreLink::Local),
            (
                "postgres://app@%2Fvar%2Frun%2Fpostgresql/benteng",
                StoreLink::Local,
            ),
            (
                "postgres:///benteng?host=/var/run/postgresql",
                StoreLink::Local,
            ),
            (
                "postgres://app@db.internal/benteng",
                tcp("db.internal", false),
            ),
            (
                "postgres://app@db.internal/benteng?sslmode=require",
                tcp("db.internal", false),
            ),
            (
                "postgres://app@db.internal/benteng?sslmode=prefer",
                tcp("db.internal", false),
            ),
            (
                "postgres://app@db.internal/benteng?sslmode=verify-ca",
                tcp("db.internal", true),
            ),
            (
                "postgresql://app@10.0.0.5:6432/benteng?sslmode=verify-full",
                tcp("10.0.0.5", true),
            ),
            ("postgres://app@127.0.0.1/benteng", tcp("127.0.0.1", false)),
        ] {
            assert_eq!(link(url, &none).unwrap(), expected, "{url}");
        }
    }

    #[test]
    fn tls_files_join_the_url_only_where_they_verify_the_server() {
        let ca = StoreTls {
            ca_file: Some("/etc/benteng/db ca.pem".into()),
            ..StoreTls::default()
        };
        let (_, options) =
            connect_options("postgres://app@db/benteng?sslmode=verify-full", &ca).unwrap();
        assert!(
            options
                .database_url
                .query_pairs()
                .any(|(k, v)| k == "sslrootcert" && v == "/etc/benteng/db ca.pem"),
            "{}",
            options.database_url
        );
        for (url, tls, refusal) in [
            ("sqlite://x.sqlite", ca.clone(), "not SQLite"),
            ("postgres://app@db/benteng", ca.clone(), "sslmode is prefer"),
            (
                "postgres://app@db/benteng?sslmode=require",
                ca.clone(),
                "sslmode is require",
            ),
            (
                "postgres://app@db/benteng?sslmode=verify-full&ssl-ca=/a.pem",
                ca.clone(),
                "sslrootcert is given twice",
            ),
            (
                "postgres://app@db/benteng?sslmode=verify-full",
                StoreTls {
                    key_file: Some("k.pem".into()),
                    ..StoreTls::default()
                },
                "set both or neither",
            ),
        ] {
            let error = connect_options(url, &tls).unwrap_err().to_string();
            assert!(error.contains(refusal), "{url}: {error}");
        }
    }
}
