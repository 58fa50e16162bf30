//! Batches: up to 1,000 transfers in one request. Each item runs through the same command as a
//! single transfer ([`Payments::prepare`]); all accepted items are written in one transaction
//! with the batch and its idempotency record, so a retried batch never creates a second set.

use benteng_core::audit::{AuditContext, AuditEvent, Retention};
use benteng_core::ids::BatchId;
use benteng_store::{BatchItemRow, IdempotencyClaim};

use crate::outcome::{BatchOutcome, Outcome};
use crate::transfers::{Prepared, TransferOrder, refused};
use crate::{Payments, Refusal, Scope};

/// Most transfers one batch may carry.
pub const MAX_BATCH_ITEMS: usize = 1000;

impl Payments {
    /// Creates a batch. Items that do not parse arrive as their refusal and are recorded as
    /// rejected; every other item is prepared and written on its own (a refused item is rolled
    /// back alone). A failing store refuses the whole batch: nothing half-way.
    pub async fn initiate_batch(
        &self,
        scope: Scope<'_>,
        items: Vec<Result<TransferOrder, Refusal>>,
        key: Option<&IdempotencyClaim>,
        audit: &AuditContext,
    ) -> Result<BatchOutcome, Refusal> {
        if items.is_empty() || items.len() > MAX_BATCH_ITEMS {
            return Err(Refusal::invalid(
                "transfers",
                "invalid_length",
                "must hold 1 to 1000 transfers",
            ));
        }
        let written = self.write_batch(scope, items, key, audit).await;
        match written {
            Err(refusal) => Err(self.explained_by_key(refusal, key).await),
            Ok((outcome, refusals)) => {
                for refusal in &refusals {
                    self.alert_on_refusal(scope, refusal, audit).await;
                }
                Ok(outcome)
            }
        }
    }

    /// The batch and the refusals of its items that were refused in the write.
    async fn write_batch(
        &self,
        scope: Scope<'_>,
        items: Vec<Result<TransferOrder, Refusal>>,
        key: Option<&IdempotencyClaim>,
        audit: &AuditContext,
    ) -> Result<(BatchOutcome, Vec<Refusal>), Refusal> {
        let tenant = scope.tenant;
        let id = BatchId::new();
        let now = self.clock.now();
        let mut prepared: Vec<Result<Prepared, Refusal>> = Vec::with_capacity(items.len());
        for item in items {
            let item = match item {
                Ok(order) => self.prepare(scope, &order, Some(id), None, now).await,
                Err(refusal) => Err(refusal),
            };
            if let Err(Refusal::Unavailable) = item {
                // The store is failing: stop rather than reject the rest for no fault of theirs.
                return Err(Refusal::Unavailable);
            }
            prepared.push(item);
        }
        let mut write = self.store.begin_payment().await?;
        write
            .open_batch(id, tenant.id, scope.environment, prepared.len(), now)
            .await?;
        let mut rows = Vec::with_capacity(prepared.len());
        let mut refused_in_write = Vec::new();
        // The statuses the kept items entered, counted once the batch commits.
        let mut entered = Vec::with_capacity(prepared.len());
        for item in &prepared {
            let outcome = match item {
                Ok(ready) => {
                    // Each item to a savepoint: a refused one leaves the others as they were.
                    write.begin_item().await?;
                    match self
                        .write_transfer(&mut write, scope, ready, None, audit)
                        .await
                    {
                        Ok(record) => {
                            write.keep_item().await?;
                            entered.push(record.status);
                            Ok(record.id)
                        }
                        Err(Refusal::Unavailable) => return Err(Refusal::Unavailable),
                        Err(refusal) => {
                            write.drop_item().await?;
                            refused_in_write.push(refusal.clone());
                            Err(refusal)
                        }
                    }
                }
                Err(refusal) => Err(refusal.clone()),
            };
            rows.push(match outcome {
                Ok(transfer) => BatchItemRow {
                    transfer: Some(transfer),
                    errors: None,
                },
                Err(refusal) => BatchItemRow {
                    transfer: None,
                    errors: Some(refusal.item_errors()),
                },
            });
        }
        let accepted = rows.iter().filter(|row| row.transfer.is_some()).count();
        let event = AuditEvent::new(
            &audit.for_tenant(tenant.id),
            "batch.created",
            Retention::Security,
            ("batch", id.to_string()),
        )
        .at(now)
        .change("items", serde_json::Value::Null, rows.len().into())
        .change("accepted", serde_json::Value::Null, accepted.into());
        write.close_batch(id, &rows, &event).await?;
        let outcome = BatchOutcome {
            id,
            created_at: now,
            items: rows,
        };
        if let Some(claim) = key {
            let text = Outcome::Batch(outcome.clone()).encode();
            write
                .record_key(claim, &text)
                .await
                .map_err(refused(tenant))?;
        }
        write.commit().await?;
        entered.into_iter().for_each(crate::counted::entered);
        Ok((outcome, refused_in_write))
    }
}
