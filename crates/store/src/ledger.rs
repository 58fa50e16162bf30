//! The double-entry ledger in SQL. Postings are rows of `ledger_transfers`; tenant accounts keep
//! running balances updated in the same transaction, guarded by a conditional update (and a
//! CHECK behind it) so a tenant balance can never go negative, even under concurrent writers.

use benteng_core::api_key::KeyEnvironment;
use benteng_core::audit::{AuditContext, AuditEvent, Retention};
use benteng_core::currency::Currency;
use benteng_core::ids::{LedgerTransferId, TenantId, TransferId};
use benteng_core::money::Money;
use benteng_core::payments::ledger::{Account, Posting, funding};
use std::collections::HashSet;
use std::sync::{Arc, RwLock};

use sqlx::{AnyConnection, Row};

use crate::rows::{Statement, insert_rows, now_micros, parsed};
use crate::{Store, StoreError, StoreResult};

/// Why a movement was refused.
#[derive(Debug, thiserror::Error)]
pub enum LedgerError {
    #[error("insufficient funds")]
    InsufficientFunds,
    #[error("invalid posting: {0}")]
    InvalidPosting(String),
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl From<sqlx::Error> for LedgerError {
    fn from(error: sqlx::Error) -> Self {
        LedgerError::Store(StoreError::Database(error))
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Phase {
    Pending,
    Posted,
}

/// A tenant's funds in one currency.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Balance {
    pub currency: Currency,
    /// Spendable now: credits posted minus debits posted and reserved.
    pub available: Money,
    /// Held by transfers that have not completed or failed yet.
    pub reserved: Money,
}

/// One broken invariant found by `ledger_check`, with the offending row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Violation {
    pub rule: &'static str,
    pub row: String,
}

/// Ledger accounts known to exist in committed state, so a busy tenant's transfers do not upsert
/// the same accounts again and again. Accounts are never deleted, so an entry never goes stale;
/// callers add accounts only after the transaction that created them committed.
#[derive(Debug, Clone, Default)]
pub(crate) struct KnownAccounts(Arc<RwLock<HashSet<Account>>>);

impl KnownAccounts {
    /// Bounds the memory a long-lived process spends on the cache; past it, it starts over.
    const CAPACITY: usize = 100_000;

    fn contains(&self, account: &Account) -> bool {
        self.0.read().is_ok_and(|known| known.contains(account))
    }

    /// Remembers the accounts of committed postings.
    pub(crate) fn remember(&self, postings: &[Posting]) {
        if let Ok(mut known) = self.0.write() {
            if known.len() >= Self::CAPACITY {
                known.clear();
            }
            known.extend(postings.iter().flat_map(|p| [p.debit, p.credit]));
        }
    }
}

/// Creates the accounts of `postings` that are not known to exist, in one statement.
async fn ensure_accounts(
    conn: &mut AnyConnection,
    known: &KnownAccounts,
    postings: &[Posting],
) -> StoreResult<()> {
    let mut missing: Vec<Account> = postings
        .iter()
        .flat_map(|p| [p.debit, p.credit])
        .filter(|a| !known.contains(a))
        .collect();
    missing.sort_by_key(|a| a.to_string());
    missing.dedup();
    if missing.is_empty() {
        return Ok(());
    }
    let sql = Statement::new(
        "INSERT INTO ledger_accounts (code, tenant_id, currency, no_overdraft, created_at, \
         environment) VALUES",
    )
    .rows(missing.len(), 6)
    .then(" ON CONFLICT (code) DO NOTHING")
    .sql();
    let now = now_micros();
    let mut query = sqlx::query(sql);
    for account in &missing {
        query = query
            .bind(account.to_string())
            .bind(account.tenant().map(|t| t.to_string()))
            .bind(account.currency().code())
            .bind(i64::from(account.debits_must_not_exceed_credits()))
            .bind(now)
            .bind(account.environment().as_str());
    }
    query.execute(&mut *conn).await?;
    Ok(())
}

/// The net change postings make to each account that keeps a running balance (a tenant's: it
/// may never go negative). Platform accounts keep none: their balances are sums of postings,
/// and a running total would make every transfer of every tenant wait for one hot row.
fn balance_changes(postings: &[Posting]) -> Vec<(Account, i64, i64)> {
    let mut changes: Vec<(Account, i64, i64)> = Vec::new();
    let mut add = |account: Account, debit: i64, credit: i64| {
        if !account.debits_must_not_exceed_credits() {
            return;
        }
        match changes.iter_mut().find(|(a, _, _)| *a == account) {
            Some((_, d, c)) => {
                *d += debit;
                *c += credit;
            }
            None => changes.push((account, debit, credit)),
        }
    };
    for posting in postings {
        let amount = posting.amount.amount_minor();
        add(posting.debit, amount, 0);
        add(posting.credit, 0, amount);
    }
    changes
}

/// Records postings, pending (funds reserved) or posted at once: one statement for the
/// postings, then one conditional update per tenant account. The updates come last because
/// they lock the tenant's balance row until the commit.
pub(crate) async fn record(
    conn: &mut AnyConnection,
    known: &KnownAccounts,
    postings: &[Posting],
    phase: Phase,
    kind: &str,
    transfer: Option<TransferId>,
) -> Result<Vec<LedgerTransferId>, LedgerError> {
    if postings.is_empty() {
        return Ok(Vec::new());
    }
    ensure_accounts(conn, known, postings).await?;
    let (state, resolved_at) = match phase {
        Phase::Pending => ("pending", None),
        Phase::Posted => ("posted", Some(now_micros())),
    };
    let now = now_micros();
    let ids: Vec<LedgerTransferId> = postings.iter().map(|_| LedgerTransferId::new()).collect();
    let mut query = sqlx::query(insert_rows(
        "INSERT INTO ledger_transfers (id, debit_account, credit_account, currency, amount, \
         state, kind, transfer_id, created_at, resolved_at) VALUES",
        postings.len(),
        10,
    ));
    for (id, posting) in ids.iter().zip(postings) {
        query = query
            .bind(id.to_string())
            .bind(posting.debit.to_string())
            .bind(posting.credit.to_string())
            .bind(posting.amount.currency().code())
            .bind(posting.amount.amount_minor())
            .bind(state)
            .bind(kind.to_owned())
            .bind(transfer.map(|t| t.to_string()))
            .bind(now)
            .bind(resolved_at);
    }
    query.execute(&mut *conn).await?;
    let update = match phase {
        Phase::Pending => {
            "UPDATE ledger_accounts SET debits_pending = debits_pending + $1, \
             credits_pending = credits_pending + $2 \
             WHERE code = $3 AND no_overdraft = 1 \
             AND credits_posted - debits_posted - debits_pending >= $1"
        }
        Phase::Posted => {
            "UPDATE ledger_accounts SET debits_posted = debits_posted + $1, \
             credits_posted = credits_posted + $2 \
             WHERE code = $3 AND no_overdraft = 1 \
             AND credits_posted - debits_posted - debits_pending >= $1"
        }
    };
    for (account, debit, credit) in balance_changes(postings) {
        let updated = sqlx::query(update)
            .bind(debit)
            .bind(credit)
            .bind(account.to_string())
            .execute(&mut *conn)
            .await?;
        if updated.rows_affected() != 1 {
            return Err(LedgerError::InsufficientFunds);
        }
    }
    Ok(ids)
}

/// How the pending postings of a transfer end.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Resolution {
    Post,
    Void,
}

/// Posts or voids every pending posting of a transfer.
pub(crate) async fn resolve(
    conn: &mut AnyConnection,
    transfer: TransferId,
    resolution: Resolution,
) -> StoreResult<()> {
    let pending = sqlx::query(
        "SELECT debit_account, credit_account, amount FROM ledger_transfers \
         WHERE transfer_id = $1 AND state = 'pending'",
    )
    .bind(transfer.to_string())
    .fetch_all(&mut *conn)
    .await?;
    let (update, state) = match resolution {
        Resolution::Post => (
            "UPDATE ledger_accounts SET debits_pending = debits_pending - $1, \
             debits_posted = debits_posted + $1, credits_pending = credits_pending - $2, \
             credits_posted = credits_posted + $2 WHERE code = $3 AND no_overdraft = 1",
            "posted",
        ),
        Resolution::Void => (
            "UPDATE ledger_accounts SET debits_pending = debits_pending - $1, \
             credits_pending = credits_pending - $2 WHERE code = $3 AND no_overdraft = 1",
            "voided",
        ),
    };
    let mut postings = Vec::with_capacity(pending.len());
    for row in &pending {
        let account = |column: &str| -> StoreResult<Account> { parsed(row, column) };
        let debit = account("debit_account")?;
        let amount = Money::from_minor(row.try_get("amount")?, debit.currency());
        postings.push(Posting {
            debit,
            credit: account("credit_account")?,
            amount,
        });
    }
    sqlx::query(
        "UPDATE ledger_transfers SET state = $1, resolved_at = $2 \
         WHERE transfer_id = $3 AND state = 'pending'",
    )
    .bind(state)
    .bind(now_micros())
    .bind(transfer.to_string())
    .execute(&mut *conn)
    .await?;
    for (account, debit, credit) in balance_changes(&postings) {
        sqlx::query(update)
            .bind(debit)
            .bind(credit)
            .bind(account.to_string())
            .execute(&mut *conn)
            .await?;
    }
    Ok(())
}

impl Store {
    /// Credits a tenant (standing in for an incoming collection), posted at once.
    pub async fn fund(
        &self,
        tenant: TenantId,
        environment: KeyEnvironment,
        amount: Money,
        context: &AuditContext,
    ) -> Result<LedgerTransferId, LedgerError> {
        let posting = funding(tenant, environment, amount)
            .map_err(|e| LedgerError::InvalidPosting(e.to_string()))?;
        let postings = [posting];
        let mut tx = self.pool.begin().await?;
        let ids = record(
            &mut tx,
            &self.known_accounts,
            &postings,
            Phase::Posted,
            "funding",
            None,
        )
        .await?;
        let id = ids
            .first()
            .copied()
            .ok_or_else(|| LedgerError::InvalidPosting("no posting".to_owned()))?;
        let event = AuditEvent::new(
            &context.for_tenant(tenant),
            "ledger.funded",
            Retention::Security,
            ("ledger_transfer", id.to_string()),
        )
        .change("amount", serde_json::Value::Null, amount.to_string().into())
        .change(
            "currency",
            serde_json::Value::Null,
            amount.currency().code().into(),
        )
        .change(
            "environment",
            serde_json::Value::Null,
            environment.as_str().into(),
        );
        crate::audit::record(&mut tx, &event).await?;
        crate::webhooks::notice_balance_credited(
            &mut tx,
            tenant,
            environment,
            &amount,
            &id.to_string(),
            event.timestamp,
        )
        .await?;
        tx.commit().await?;
        self.known_accounts.remember(&postings);
        Ok(id)
    }

    /// The tenant's balances, one per currency it has ever held.
    pub async fn balances(
        &self,
        tenant: TenantId,
        environment: KeyEnvironment,
    ) -> StoreResult<Vec<Balance>> {
        let rows = sqlx::query(
            "SELECT currency, credits_posted - debits_posted - debits_pending AS available, \
             debits_pending AS reserved FROM ledger_accounts \
             WHERE tenant_id = $1 AND environment = $2 ORDER BY currency",
        )
        .bind(tenant.to_string())
        .bind(environment.as_str())
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|row| {
                let currency: Currency = parsed(row, "currency")?;
                Ok(Balance {
                    currency,
                    available: Money::from_minor(row.try_get("available")?, currency),
                    reserved: Money::from_minor(row.try_get("reserved")?, currency),
                })
            })
            .collect()
    }

    /// Verifies the ledger's invariants over the whole store; an empty answer means all hold.
    pub async fn ledger_check(&self) -> StoreResult<Vec<Violation>> {
        let mut violations = Vec::new();
        let mut conn = self.pool.acquire().await?;
        let checks: [(&'static str, &'static str); 5] = [
            (
                "every currency's posted movements sum to zero",
                "SELECT currency, CAST(SUM(delta) AS BIGINT) AS total FROM ( \
                   SELECT a.currency AS currency, t.amount AS delta FROM ledger_transfers t \
                     JOIN ledger_accounts a ON a.code = t.credit_account WHERE t.state = 'posted' \
                   UNION ALL \
                   SELECT a.currency AS currency, -t.amount AS delta FROM ledger_transfers t \
                     JOIN ledger_accounts a ON a.code = t.debit_account WHERE t.state = 'posted' \
                 ) movements GROUP BY currency HAVING SUM(delta) <> 0",
            ),
            (
                "a posting's accounts share its currency",
                "SELECT t.id, t.currency, d.currency AS debit_currency, c.currency AS credit_currency \
                 FROM ledger_transfers t \
                 JOIN ledger_accounts d ON d.code = t.debit_account \
                 JOIN ledger_accounts c ON c.code = t.credit_account \
                 WHERE d.currency <> t.currency OR c.currency <> t.currency",
            ),
            (
                "a tenant balance is never negative",
                "SELECT code, credits_posted - debits_posted - debits_pending AS available \
                 FROM ledger_accounts WHERE no_overdraft = 1 \
                 AND debits_posted + debits_pending > credits_posted",
            ),
            (
                "a tenant balance equals the sum of its postings",
                "SELECT a.code, a.debits_pending, a.debits_posted, a.credits_pending, a.credits_posted \
                 FROM ledger_accounts a WHERE a.no_overdraft = 1 AND ( \
                   a.debits_pending <> (SELECT CAST(COALESCE(SUM(amount), 0) AS BIGINT) FROM ledger_transfers \
                       WHERE debit_account = a.code AND state = 'pending') \
                   OR a.debits_posted <> (SELECT CAST(COALESCE(SUM(amount), 0) AS BIGINT) FROM ledger_transfers \
                       WHERE debit_account = a.code AND state = 'posted') \
                   OR a.credits_pending <> (SELECT CAST(COALESCE(SUM(amount), 0) AS BIGINT) FROM ledger_transfers \
                       WHERE credit_account = a.code AND state = 'pending') \
                   OR a.credits_posted <> (SELECT CAST(COALESCE(SUM(amount), 0) AS BIGINT) FROM ledger_transfers \
                       WHERE credit_account = a.code AND state = 'posted'))",
            ),
            (
                "a transfer's postings match its status",
                "SELECT tr.id, tr.status, lt.state FROM transfers tr \
                 JOIN ledger_transfers lt ON lt.transfer_id = tr.id AND lt.kind = 'transfer' \
                 WHERE (tr.status IN ('COMPLETED', 'RETURNED') AND lt.state <> 'posted') \
                    OR (tr.status IN ('FAILED', 'BLOCKED') AND lt.state <> 'voided') \
                    OR (tr.status NOT IN ('COMPLETED', 'RETURNED', 'FAILED', 'BLOCKED') \
                        AND lt.state <> 'pending')",
            ),
        ];
        for (rule, sql) in checks {
            for row in sqlx::query(sql).fetch_all(&mut *conn).await? {
                violations.push(Violation {
                    rule,
                    row: describe_row(&row),
                });
            }
        }
        Ok(violations)
    }
}

/// A row as `column=value` pairs, for reports.
fn describe_row(row: &sqlx::any::AnyRow) -> String {
    use sqlx::Column;
    row.columns()
        .iter()
        .enumerate()
        .map(|(i, column)| {
            let value = row
                .try_get::<String, _>(i)
                .or_else(|_| row.try_get::<i64, _>(i).map(|v| v.to_string()))
                .unwrap_or_else(|_| "?".to_owned());
            format!("{}={value}", column.name())
        })
        .collect::<Vec<_>>()
        .join(" ")
}
