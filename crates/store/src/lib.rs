//! Durable storage. The only crate that sees SQL.
//!
//! One `Store` handle serves both backends: SQLite (the embedded default, one file, zero set-up)
//! and PostgreSQL (production, shared by every instance). Queries are written once in the SQL
//! both understand and run through sqlx's `Any` driver; what differs (DDL, triggers, locking)
//! lives in the per-backend migrations and in `Backend` branches. Every query is parameterized.
//!
//! Column conventions, the same in both backends: ids are canonical UUID text, timestamps are
//! Unix microseconds (BIGINT), money is integer minor units plus a currency code.

mod api_keys;
mod approvals;
mod audit;
mod batches;
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
mod sealed;
mod snap;
mod staff_tokens;
mod tenant_certs;
mod tenants;
mod transfers;
mod webhooks;

use std::str::FromStr;
use std::time::Duration;

use sqlx::any::{AnyConnectOptions, AnyPoolOptions};
use sqlx::{AnyPool, Executor};

pub use approvals::{DecisionRefused, PendingAction};
pub use audit::{AnchorKeyRow, AuditBreak, AuditReport, ChainPoint, ChainState, Checkpoint};
pub use cases::{CaseDecisionWrite, CaseEvent, CaseItem, CaseOpening, CaseRow, InboxQuery};
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
pub use reports::{NewReport, ReportRow, ReportStatus};
pub use screening::{
    Clearance, ListVersion, NewListVersion, NewScreeningDecision, ScreeningDecisionRow,
    ScreeningParty, ScreeningRun,
};
pub use sealed::{SealedColumn, SealedValue};
pub use snap::{SnapPartner, SnapReference, SnapToken};
pub use staff_tokens::StaffTokenRow;
pub use tenant_certs::{TenantCertificate, TenantMtls};
pub use transfers::{LedgerEffect, TransferEvent, TransferMove, TransferRecord};
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
}

impl Default for StoreOptions {
    fn default() -> Self {
        Self {
            max_connections: 16,
            acquire_timeout: Duration::from_secs(5),
        }
    }
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
        let backend = Backend::from_url(url)?;
        let url = match backend {
            Backend::Sqlite if !url.contains("mode=") => {
                let separator = if url.contains('?') { '&' } else { '?' };
                format!("{url}{separator}mode=rwc")
            }
            _ => url.to_owned(),
        };
        let connect = AnyConnectOptions::from_str(&url)?;
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
