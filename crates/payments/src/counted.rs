//! What the payment flow counts for `/metrics` (the HELP text of each family is in benteng's
//! telemetry). Each count is made by the instance that did the work, so the sum over instances
//! is the platform's total.

use std::time::Duration;

use benteng_core::payments::compliance::{ComplianceDecision, Verdict};
use benteng_core::payments::transfer::TransferStatus;
use benteng_store::TransferRecord;
use time::OffsetDateTime;

/// A transfer entered `status` (its first, decided status on creation; each move after), in a
/// write that committed.
pub(crate) fn entered(status: TransferStatus) {
    metrics::counter!("transfer_status_changes_total", "status" => status.as_str()).increment(1);
}

/// `transfer` (as read) moved to `to` at `at`, in a write that committed. Moves in and out of
/// SUBMITTED are the rails' work, counted by rail (a configured name: bounded).
pub(crate) fn moved(transfer: &TransferRecord, to: TransferStatus, at: OffsetDateTime) {
    use TransferStatus::{Approved, Completed, Failed, Returned, Submitted};
    entered(to);
    let rail = transfer.rail.clone();
    match (transfer.status, to) {
        (Approved, Submitted) => {
            metrics::counter!("rail_submissions_total", "rail" => rail).increment(1);
        }
        (Submitted, Completed | Failed) => {
            let waited = (at - transfer.updated_at).as_seconds_f64().max(0.0);
            metrics::histogram!("rail_settlement_duration_seconds", "rail" => rail.clone())
                .record(waited);
            metrics::counter!("rail_settlements_total", "rail" => rail, "outcome" => to.as_str())
                .increment(1);
        }
        (Completed, Returned) => {
            metrics::counter!("rail_settlements_total", "rail" => rail, "outcome" => to.as_str())
                .increment(1);
        }
        _ => {}
    }
}

/// Sanctions and PEP screening of one transfer's parties: its verdict and how long it took.
pub(crate) fn screened(verdict: Verdict, took: Duration) {
    metrics::counter!("screening_verdicts_total", "verdict" => verdict.as_str()).increment(1);
    metrics::histogram!("screening_duration_seconds").record(took.as_secs_f64());
}

/// The transfer's one decision (screening and the monitoring rules) and the rules that hit.
/// Rule ids come from the operator's rules file, a short list, so they make bounded labels.
pub(crate) fn decided(decision: &ComplianceDecision) {
    metrics::counter!("monitoring_verdicts_total", "verdict" => decision.verdict.as_str())
        .increment(1);
    for rule in decision
        .monitoring
        .iter()
        .flat_map(|record| &record.rules)
        .filter(|rule| rule.hit)
    {
        metrics::counter!("monitoring_rule_hits_total", "rule" => rule.id.clone()).increment(1);
    }
}

/// A case first went past its SLA in `inbox` (an inbox name from the configuration: bounded),
/// recorded by this instance.
pub(crate) fn sla_missed(inbox: &str) {
    metrics::counter!("cases_sla_missed_total", "inbox" => inbox.to_owned()).increment(1);
}

/// A case moved from one inbox to another by the escalation this instance recorded.
pub(crate) fn escalated(from: &str, to: &str) {
    metrics::counter!("cases_escalated_total", "from" => from.to_owned(), "to" => to.to_owned())
        .increment(1);
}
