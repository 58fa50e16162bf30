//! Moving a transfer through its life after creation: the rails' outcomes now, review decisions
//! later. The state machine decides whether a move is legal; the move's ledger effect and its
//! audit events are composed here, and the store applies them only if no one moved the transfer
//! first.

use benteng_core::audit::{AuditContext, AuditEvent, Retention};
use benteng_core::payments::ledger::return_postings;
use benteng_core::payments::transfer::TransferStatus;
use benteng_store::{LedgerEffect, StoreError, TransferMove, TransferRecord};

use crate::Payments;
use crate::transfers::status_changed;

/// How a move ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Moved {
    Moved,
    /// Another writer (another instance) moved the transfer first; nothing was written.
    Overtaken,
}

impl Payments {
    /// Moves `transfer` (as read) to `to`, with its history row, audit events and ledger effect
    /// in one transaction.
    pub async fn move_transfer(
        &self,
        transfer: &TransferRecord,
        to: TransferStatus,
        cause: &str,
        audit: &AuditContext,
    ) -> Result<Moved, StoreError> {
        self.move_transfer_noting(transfer, to, cause, audit, Vec::new(), None)
            .await
    }

    /// [`Payments::move_transfer`], with further audit events written in the move's
    /// transaction (a reviewer's reasons), and a held transfer's case decision (with the
    /// four-eyes approval it spends).
    pub async fn move_transfer_noting(
        &self,
        transfer: &TransferRecord,
        to: TransferStatus,
        cause: &str,
        audit: &AuditContext,
        notes: Vec<AuditEvent>,
        case: Option<benteng_store::CaseDecisionWrite>,
    ) -> Result<Moved, StoreError> {
        transfer
            .status
            .check_move(to)
            .map_err(|e| StoreError::Corrupt(e.to_string()))?;
        let at = self.clock.now();
        let context = audit.for_tenant(transfer.tenant_id);
        let subject = || ("transfer", transfer.id.to_string());
        let mut events = vec![status_changed(
            &context,
            transfer.id,
            transfer.status,
            to,
            cause,
            at,
        )];
        let money = |event_type: &str, field: &str, amount: String| {
            AuditEvent::new(&context, event_type, Retention::Security, subject())
                .at(at)
                .change(field, serde_json::Value::Null, amount.into())
        };
        let ledger = match to {
            TransferStatus::Completed => {
                events.push(
                    money("ledger.posted", "source", transfer.source.to_string()).change(
                        "target",
                        serde_json::Value::Null,
                        transfer.target.to_string().into(),
                    ),
                );
                LedgerEffect::Post
            }
            TransferStatus::Failed | TransferStatus::Blocked => {
                events.push(
                    money("ledger.voided", "source", transfer.source.to_string()).change(
                        "target",
                        serde_json::Value::Null,
                        transfer.target.to_string().into(),
                    ),
                );
                LedgerEffect::Void
            }
            TransferStatus::Returned => {
                let quote = self
                    .store
                    .quote(transfer.tenant_id, transfer.environment, transfer.quote_id)
                    .await?;
                let postings =
                    return_postings(&quote).map_err(|e| StoreError::Corrupt(e.to_string()))?;
                events.push(money(
                    "ledger.returned",
                    "refunded",
                    transfer.source.to_string(),
                ));
                LedgerEffect::Posted(postings)
            }
            _ => LedgerEffect::None,
        };
        events.extend(notes);
        let change = TransferMove {
            transfer: transfer.id,
            from: transfer.status,
            to,
            cause: cause.to_owned(),
            at,
            events,
            ledger,
            notice: crate::notices::transfer_notice(transfer, to, at),
            case,
        };
        match self.store.move_transfer(&change).await {
            Ok(()) => {
                crate::counted::moved(transfer, to, at);
                Ok(Moved::Moved)
            }
            Err(StoreError::Conflict) => Ok(Moved::Overtaken),
            Err(error) => Err(error),
        }
    }
}
