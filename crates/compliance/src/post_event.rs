//! Post-event monitoring: a scheduled scan over recent live transfers for patterns no single
//! transfer's decision can see, because they need many transfers or many tenants. It reads
//! transfers and raises alerts; it never changes a transfer (completed payments stay as they
//! are: what to do about them is the analyst's decision).
//!
//! The rules (docs/monitoring.md):
//! - `shared_beneficiary`: one bank account paid by 3 or more different tenants within 7 days
//!   (money from unrelated customers converging on one account: a mule or collection account).
//! - `new_recipient_fan_out`: one tenant paying 10 or more recipients it added within the last
//!   24 hours (a burst of new payees: account takeover or layering).
//! - `round_amounts`: one tenant sending 5 or more transfers of whole thousands of US dollars
//!   within 24 hours (round sums are a classic layering signature).
//!
//! Each pattern raises one alert per subject per UTC day, however often the scan runs and on
//! however many instances (the alert's dedup key), and opens or joins the monitoring case of each
//! party it is about ([`benteng_store::AlertCases`]).

use benteng_core::api_key::KeyEnvironment;
use benteng_core::audit::{AuditContext, AuditEvent, Retention};
use benteng_core::ids::TenantId;
use benteng_store::{
    AlertCases, AlertKind, AlertParty, NewAlert, Pattern, Store, StoreError, UNSCORED_PRIORITY,
};
use time::{Duration, OffsetDateTime};

/// The post-event rules' thresholds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PostEventRules {
    pub shared_beneficiary_window: Duration,
    pub shared_beneficiary_tenants: i64,
    pub fan_out_window: Duration,
    pub fan_out_recipients: i64,
    pub round_window: Duration,
    pub round_unit_usd_cents: i64,
    pub round_count: i64,
}

impl Default for PostEventRules {
    fn default() -> Self {
        Self {
            shared_beneficiary_window: Duration::days(7),
            shared_beneficiary_tenants: 3,
            fan_out_window: Duration::hours(24),
            fan_out_recipients: 10,
            round_window: Duration::hours(24),
            round_unit_usd_cents: 100_000,
            round_count: 5,
        }
    }
}

/// What one scan found and raised.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ScanReport {
    pub patterns: usize,
    /// New alerts (a pattern already alerted today raises none).
    pub raised: usize,
}

/// Runs every post-event rule once. Each new alert opens or joins the monitoring case of the
/// party it is about: the tenant, or (a shared beneficiary) the account's first payee.
pub async fn scan(
    store: &Store,
    rules: &PostEventRules,
    cases: &AlertCases,
    now: OffsetDateTime,
) -> Result<ScanReport, StoreError> {
    let shared_since = now - rules.shared_beneficiary_window;
    let found = [
        (
            "shared_beneficiary",
            store
                .shared_beneficiaries(shared_since, rules.shared_beneficiary_tenants)
                .await?,
        ),
        (
            "new_recipient_fan_out",
            store
                .new_recipient_fan_outs(now - rules.fan_out_window, rules.fan_out_recipients)
                .await?,
        ),
        (
            "round_amounts",
            store
                .round_amount_runs(
                    now - rules.round_window,
                    rules.round_unit_usd_cents,
                    rules.round_count,
                )
                .await?,
        ),
    ];
    let context = AuditContext::system("monitoring:post-event");
    let mut report = ScanReport::default();
    for (rule, patterns) in found {
        for pattern in patterns {
            report.patterns += 1;
            // An item belongs to one case: a pattern across tenants goes to the case of its
            // first payee, and the alert names every payee for the analyst.
            let payees = match pattern.tenant {
                Some(_) => Vec::new(),
                None => {
                    store
                        .payees_of_account(&pattern.subject, shared_since)
                        .await?
                }
            };
            let party = match (pattern.tenant, payees.first()) {
                (Some(tenant), _) => Some(AlertParty::Tenant(tenant)),
                (None, Some((id, tenant))) => Some(AlertParty::Recipient {
                    id: id.clone(),
                    tenant: *tenant,
                }),
                (None, None) => None,
            };
            let alert = alert(rule, &pattern, &payees, party, cases, now);
            let event = AuditEvent::new(
                &context,
                "alert.raised",
                Retention::Security,
                ("alert", alert.id.to_string()),
            )
            .at(now)
            .change("kind", serde_json::Value::Null, alert.kind.as_str().into())
            .change("rule", serde_json::Value::Null, rule.into())
            .change(
                "tenant_id",
                serde_json::Value::Null,
                pattern.tenant.map(|t| t.to_string()).into(),
            );
            if store.raise_alert(&alert, &event, &context).await? {
                report.raised += 1;
            }
        }
    }
    Ok(report)
}

fn alert(
    rule: &str,
    pattern: &Pattern,
    payees: &[(String, TenantId)],
    party: Option<AlertParty>,
    cases: &AlertCases,
    now: OffsetDateTime,
) -> NewAlert {
    let day = now.date();
    let id = uuid::Uuid::new_v4();
    let environment = KeyEnvironment::Live;
    NewAlert {
        id,
        kind: AlertKind::PostEvent,
        rule: Some(rule.to_owned()),
        tenant: pattern.tenant,
        environment,
        transfer: None,
        detail: serde_json::json!({
            "subject": pattern.subject,
            "count": pattern.count,
            "first_at": pattern.first_at.unix_timestamp(),
            "last_at": pattern.last_at.unix_timestamp(),
            "payees": payees
                .iter()
                .map(|(recipient, tenant)| {
                    serde_json::json!({"recipient_id": recipient, "tenant_id": tenant.to_string()})
                })
                .collect::<Vec<_>>(),
        })
        .to_string(),
        dedup_key: Some(format!("{rule}:{}:{day}", pattern.subject)),
        at: now,
        cases: party
            .into_iter()
            .map(|party| cases.opening(id, party, environment, UNSCORED_PRIORITY, now))
            .collect(),
    }
}
