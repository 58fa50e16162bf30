//! Logging: JSON lines on stderr (stdout is the CLI's answer), each carrying the fields of the
//! spans it happened in, so every line of a request has its `request_id`.

use tracing_subscriber::EnvFilter;

use crate::config::LogConfig;

/// Logging for a one-shot CLI verb: its answer is what a person reads, so routine lines stay out
/// of the terminal (warnings and errors only) unless a level other than the default is set.
pub fn init_for_command(config: &LogConfig) {
    let level = if config.level == LogConfig::default().level {
        "warn".to_owned()
    } else {
        config.level.clone()
    };
    init(&LogConfig {
        level,
        ..config.clone()
    });
}

pub fn init(config: &LogConfig) {
    let filter = EnvFilter::try_new(&config.level).unwrap_or_else(|_| EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    // A second init (tests building several apps) keeps the first subscriber.
    let _ = if config.format == "text" {
        builder.try_init()
    } else {
        builder
            .json()
            .with_current_span(true)
            .with_span_list(false)
            .flatten_event(true)
            .try_init()
    };
}

/// The `# HELP` text of every metric benteng exports, in one place: a metric added elsewhere
/// gets its line here (the operations test fails on a family without one).
pub fn describe_metrics() {
    use metrics::{Unit, describe_counter, describe_gauge, describe_histogram};
    describe_counter!(
        "http_requests_total",
        "HTTP requests answered, by method, matched route and status"
    );
    describe_histogram!(
        "http_request_duration_seconds",
        Unit::Seconds,
        "Time from a request's arrival to its answer, by method, matched route and status"
    );
    describe_counter!("auth_failures_total", "Refused authentications, by reason");
    describe_counter!("rate_limited_total", "Requests refused with 429, by limit");
    describe_counter!(
        "fapi_refusals_total",
        "FAPI authorization-server requests refused, by endpoint and OAuth error code"
    );
    describe_counter!(
        "fapi_tokens_issued_total",
        "DPoP-bound access tokens issued by the FAPI token endpoint"
    );
    describe_counter!(
        "security_events_total",
        "Security events fed to the detections (refused authentications), by scheme and reason"
    );
    describe_counter!(
        "detections_fired_total",
        "Detections that reached their threshold (each opens or joins an incident), by detection"
    );
    describe_counter!(
        "detection_errors_total",
        "Security events a detection could not count (shared state unreachable)"
    );
    describe_counter!(
        "blocked_requests_total",
        "Requests refused because their address is blocked (incident containment)"
    );
    describe_counter!(
        "incident_alerts_sent_total",
        "Incident alerts delivered to incidents.notify_url"
    );
    describe_counter!(
        "incident_alert_errors_total",
        "Incident alerts that could not be delivered to incidents.notify_url"
    );
    describe_counter!(
        "idempotency_total",
        "Idempotency-key outcomes: first use, replay, conflict, in flight"
    );
    describe_histogram!(
        "protection_overhead_seconds",
        Unit::Seconds,
        "Time the request protection layer (limits, idempotency) adds to a request"
    );
    describe_counter!(
        "protection_state_unavailable_total",
        "Requests refused because the shared state (rate limits, idempotency) was unreachable"
    );
    describe_counter!(
        "webhook_attempts_total",
        "Webhook delivery attempts, by outcome"
    );
    describe_gauge!(
        "webhook_deliveries_pending",
        "Webhook deliveries not yet delivered (due now or later)"
    );
    describe_gauge!(
        "webhook_deliveries_due",
        "Webhook deliveries due for an attempt now"
    );
    describe_gauge!(
        "webhook_deliveries_failed",
        "Webhook deliveries that exhausted their retries"
    );
    describe_gauge!(
        "webhook_oldest_due_seconds",
        Unit::Seconds,
        "Age of the oldest webhook delivery that is due"
    );
    describe_gauge!(
        "regulatory_reports_open",
        "Regulatory reports not yet submitted or withdrawn (draft or approved), by kind"
    );
    describe_gauge!(
        "regulatory_reports_due_soon",
        "Open regulatory reports inside their deadline's warning window (alert: file them), by kind"
    );
    describe_gauge!(
        "regulatory_reports_overdue",
        "Open regulatory reports past their deadline, by kind"
    );
    describe_gauge!(
        "regulatory_daml_clocks_running",
        "UK SARs' DAML requests without consent whose period has not ended, by period \
         (notice: the NCA's 7 working days; moratorium: 31 days from a refusal)"
    );
    describe_gauge!(
        "regulatory_daml_clocks_ending_soon",
        "DAML periods inside their warning window (the held transfers' release is near), by \
         period"
    );
    describe_gauge!(
        "regulatory_daml_clocks_ended",
        "DAML periods ended with no consent recorded (alert: record the deemed consent), by \
         period"
    );
    describe_business_metrics();
    describe_process_metrics();
    describe_gauge!("cases_open", "Compliance cases not closed, by inbox");
    describe_gauge!(
        "cases_overdue",
        "Compliance cases not closed and past their SLA, by inbox"
    );
    metrics::describe_counter!(
        "cases_sla_missed_total",
        "Compliance cases that went past their SLA, by the inbox they missed it in (each \
         recorded by one instance)"
    );
    metrics::describe_counter!(
        "cases_escalated_total",
        "Compliance cases escalated from one inbox to another (each recorded by one instance)"
    );
}

/// The payment flow's families: what each instance did (counters, summed across instances) and
/// what the database holds (gauges, the same on every instance).
fn describe_business_metrics() {
    use metrics::{Unit, describe_counter, describe_gauge, describe_histogram};
    describe_counter!(
        "transfer_status_changes_total",
        "Transfers entering a status (the decided status on creation, then each move), by status; \
         counted by the instance that made the change"
    );
    describe_gauge!(
        "transfers_in_flight",
        "Transfers in each unfinished status (PENDING_REVIEW: held for review), read from the \
         database"
    );
    describe_gauge!(
        "transfers_oldest_in_flight_seconds",
        Unit::Seconds,
        "How long the transfer waiting longest in each unfinished status has been there (0: none)"
    );
    describe_counter!(
        "screening_verdicts_total",
        "Sanctions and PEP screenings of a transfer's parties, by verdict"
    );
    describe_histogram!(
        "screening_duration_seconds",
        Unit::Seconds,
        "Time to screen one transfer's parties against the loaded lists"
    );
    describe_counter!(
        "monitoring_verdicts_total",
        "Transfer decisions (screening and the monitoring rules together), by verdict; a decision \
         whose write was then refused (funds, limits) counts too"
    );
    describe_counter!(
        "monitoring_rule_hits_total",
        "Monitoring rules that hit a transfer, by rule id (from the rules file)"
    );
    describe_counter!(
        "rail_submissions_total",
        "Transfers claimed for a rail (APPROVED to SUBMITTED), by rail"
    );
    describe_counter!(
        "rail_settlements_total",
        "Rail outcomes recorded (COMPLETED, FAILED, RETURNED), by rail and outcome"
    );
    describe_histogram!(
        "rail_settlement_duration_seconds",
        Unit::Seconds,
        "Time from a transfer's submission to its rail's outcome (completed or failed), by rail"
    );
    describe_counter!(
        "rail_errors_total",
        "Rail calls that failed, by rail and stage (submit: the transfer fails; outcome: retried)"
    );
    describe_gauge!(
        "ledger_check_violations",
        "Ledger invariant violations found by the last periodic ledger check (alert above 0)"
    );
    describe_gauge!(
        "ledger_check_last_run_timestamp_seconds",
        Unit::Seconds,
        "When this instance's periodic ledger check last completed (Unix time)"
    );
    describe_counter!(
        "ledger_check_errors_total",
        "Periodic ledger checks that could not run (database errors)"
    );
    describe_counter!(
        "audit_events_sealed_total",
        "Audit events this instance sealed into their hash chains"
    );
    describe_counter!(
        "audit_seal_errors_total",
        "Audit sealing passes that failed"
    );
    describe_gauge!(
        "audit_unsealed_events",
        "Audit events written but not yet sealed into their hash chain (the sealer's backlog)"
    );
    describe_gauge!(
        "audit_oldest_unsealed_seconds",
        Unit::Seconds,
        "Age of the oldest audit event not yet sealed (0: the sealer is caught up)"
    );
}

/// The process's own families, read from `/proc/self` at each scrape (Linux only).
fn describe_process_metrics() {
    use metrics::{Unit, describe_gauge};
    describe_gauge!(
        "process_cpu_seconds_total",
        Unit::Seconds,
        "User and system CPU time the process has used (all threads); only ever grows"
    );
    describe_gauge!(
        "process_resident_memory_bytes",
        Unit::Bytes,
        "Resident memory (VmRSS)"
    );
    describe_gauge!(
        "process_virtual_memory_bytes",
        Unit::Bytes,
        "Virtual memory size"
    );
    describe_gauge!("process_open_fds", "Open file descriptors");
    describe_gauge!("process_max_fds", "The soft limit on open file descriptors");
    describe_gauge!("process_threads", "Operating-system threads of the process");
    describe_gauge!(
        "process_start_time_seconds",
        Unit::Seconds,
        "When the process started (Unix time)"
    );
}
