//! Payment rails. A rail takes an approved transfer and pays it out (SEPA and SWIFT through
//! ISO 20022, BI-FAST through SNAP, later); the sandbox rail completes or fails transfers on a
//! schedule so the whole life cycle, ledger postings included, runs end to end.
//!
//! The worker claims a transfer (APPROVED → SUBMITTED, an atomic move only one instance can win)
//! *before* handing it to the rail, so two instances never pay the same transfer twice.

pub mod iso20022;

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use benteng_core::clock::Clock;
use benteng_core::payments::transfer::TransferStatus;
use benteng_payments::Payments;
use benteng_payments::moves::Moved;
use benteng_store::{StoreError, TransferRecord};

#[derive(Debug, thiserror::Error)]
pub enum RailError {
    #[error("the rail refused the transfer: {0}")]
    Refused(String),
    #[error("the rail is unreachable: {0}")]
    Unavailable(String),
}

/// How a submitted transfer ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RailOutcome {
    Completed,
    Failed(String),
    /// Paid out, then sent back by the receiving bank.
    Returned(String),
}

#[async_trait]
pub trait Rail: Send + Sync {
    fn name(&self) -> &'static str;

    /// Hands a claimed transfer to the rail.
    async fn submit(&self, transfer: &TransferRecord) -> Result<(), RailError>;

    /// The outcome of a submitted transfer, or `None` while it is in flight.
    async fn outcome(&self, transfer: &TransferRecord) -> Result<Option<RailOutcome>, RailError>;
}

/// Settles every transfer `settle_after` its submission. The reference decides the outcome, so
/// tests and demos can drive every path: one containing `FAIL` fails, one containing `RETURN`
/// completes and is then returned, anything else completes.
pub struct SandboxRail {
    pub settle_after: Duration,
    pub clock: Arc<dyn Clock>,
}

#[async_trait]
impl Rail for SandboxRail {
    fn name(&self) -> &'static str {
        "sandbox"
    }

    async fn submit(&self, _transfer: &TransferRecord) -> Result<(), RailError> {
        Ok(())
    }

    async fn outcome(&self, transfer: &TransferRecord) -> Result<Option<RailOutcome>, RailError> {
        if self.clock.now() - transfer.updated_at < self.settle_after {
            return Ok(None);
        }
        let reference = transfer.reference.to_ascii_uppercase();
        Ok(Some(if reference.contains("FAIL") {
            RailOutcome::Failed("sandbox: the reference asked for a failure".to_owned())
        } else if reference.contains("RETURN") {
            RailOutcome::Returned("sandbox: the reference asked for a return".to_owned())
        } else {
            RailOutcome::Completed
        }))
    }
}

/// Moves transfers through a rail: claims approved ones, submits them, records outcomes.
pub struct RailWorker {
    /// The payments layer: the queues are read from its store, moves go through it.
    pub payments: Arc<Payments>,
    pub rail: Arc<dyn Rail>,
    pub poll_interval: Duration,
    /// How many transfers one pass handles per status.
    pub batch: u32,
}

impl RailWorker {
    /// Runs until the process ends.
    pub fn spawn(self) -> tokio::task::JoinHandle<()> {
        tokio::spawn(async move {
            let mut ticker = tokio::time::interval(self.poll_interval);
            ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                ticker.tick().await;
                if let Err(error) = self.pass().await {
                    tracing::warn!(%error, rail = self.rail.name(), "rail pass failed");
                }
            }
        })
    }

    /// One pass over both queues; returns how many transfers moved.
    pub async fn pass(&self) -> Result<usize, StoreError> {
        let now = self.payments.now();
        let mut moved = 0;
        for transfer in self
            .payments
            .store
            .transfers_waiting(TransferStatus::Approved, now, self.batch)
            .await?
        {
            if transfer.rail != self.rail.name() {
                continue;
            }
            moved += usize::from(self.submit(&transfer).await?);
        }
        for transfer in self
            .payments
            .store
            .transfers_waiting(TransferStatus::Submitted, now, self.batch)
            .await?
        {
            if transfer.rail != self.rail.name() {
                continue;
            }
            moved += usize::from(self.settle(&transfer).await?);
        }
        Ok(moved)
    }

    fn audit_context(&self) -> benteng_core::audit::AuditContext {
        benteng_core::audit::AuditContext::system(&format!("rail:{}", self.rail.name()))
    }

    async fn submit(&self, transfer: &TransferRecord) -> Result<bool, StoreError> {
        let cause = format!("submitted to {}", self.rail.name());
        if !self
            .record(transfer, TransferStatus::Submitted, &cause)
            .await?
        {
            return Ok(false); // another instance claimed it
        }
        let claimed = TransferRecord {
            status: TransferStatus::Submitted,
            ..transfer.clone()
        };
        if let Err(error) = self.rail.submit(&claimed).await {
            tracing::warn!(%error, transfer = %transfer.id, "rail submission failed");
            metrics::counter!("rail_errors_total", "rail" => self.rail.name(), "stage" => "submit")
                .increment(1);
            self.record(&claimed, TransferStatus::Failed, &error.to_string())
                .await?;
        }
        Ok(true)
    }

    async fn settle(&self, transfer: &TransferRecord) -> Result<bool, StoreError> {
        let outcome = match self.rail.outcome(transfer).await {
            Ok(Some(outcome)) => outcome,
            Ok(None) => return Ok(false),
            Err(error) => {
                tracing::warn!(%error, transfer = %transfer.id, "rail outcome unknown");
                metrics::counter!("rail_errors_total", "rail" => self.rail.name(), "stage" => "outcome")
                    .increment(1);
                return Ok(false);
            }
        };
        let moved = match outcome {
            RailOutcome::Completed => {
                self.record(transfer, TransferStatus::Completed, "paid out")
                    .await?
            }
            RailOutcome::Failed(why) => self.record(transfer, TransferStatus::Failed, &why).await?,
            RailOutcome::Returned(why) => {
                let completed = self
                    .record(transfer, TransferStatus::Completed, "paid out")
                    .await?;
                if completed {
                    let paid = TransferRecord {
                        status: TransferStatus::Completed,
                        ..transfer.clone()
                    };
                    self.record(&paid, TransferStatus::Returned, &why).await?;
                }
                completed
            }
        };
        Ok(moved)
    }

    /// Records a move; `false` when another instance recorded it first.
    async fn record(
        &self,
        transfer: &TransferRecord,
        to: TransferStatus,
        cause: &str,
    ) -> Result<bool, StoreError> {
        let moved = self
            .payments
            .move_transfer(transfer, to, cause, &self.audit_context())
            .await?;
        Ok(moved == Moved::Moved)
    }
}
