//! The tenant-visible events (webhooks' outbox) of a transfer's life: what a receiver learns
//! about a transfer. The transfer's state and money, never the compliance step's reasons or
//! score: a transfer held for review says only that it is held (no tip-off).

use benteng_core::ids::EventId;
use benteng_core::money::Money;
use benteng_core::payments::transfer::TransferStatus;
use benteng_core::webhooks::{EventType, Notice, rfc3339};
use benteng_store::TransferRecord;
use serde_json::{Value, json};
use time::OffsetDateTime;

fn money(m: &Money) -> Value {
    json!({ "amount": m.to_decimal().to_string(), "currency": m.currency().code() })
}

/// The event of `record` being in `status` since `at`, if that status is one tenants see.
pub(crate) fn transfer_notice(
    record: &TransferRecord,
    status: TransferStatus,
    at: OffsetDateTime,
) -> Option<Notice> {
    let event_type = EventType::for_transfer_status(status)?;
    Some(Notice {
        id: EventId::new(),
        tenant_id: record.tenant_id,
        environment: record.environment,
        event_type,
        object_type: "transfer".to_owned(),
        object_id: record.id.to_string(),
        data: json!({
            "status": status.as_str(),
            "source": money(&record.source),
            "target": money(&record.target),
            "fee": money(&record.fee),
            "reference": record.reference,
            "recipient_id": record.recipient_id.to_string(),
            "batch_id": record.batch_id.map(|b| b.to_string()),
            "created_at": rfc3339(record.created_at),
            "updated_at": rfc3339(at),
        }),
        created_at: at,
    })
}

/// A new transfer's events: created, then its decided status (approved, held for review,
/// blocked).
pub(crate) fn new_transfer_notices(record: &TransferRecord) -> Vec<Notice> {
    [TransferStatus::Initiated, record.status]
        .into_iter()
        .filter_map(|status| transfer_notice(record, status, record.created_at))
        .collect()
}

/// The tenant's notice that a transfer took its 30-day volume past 80 % of its KYC level's
/// ceiling: time to send the next level's evidence.
pub(crate) fn kyc_limit_notice(
    tenant: &benteng_core::tenant::Tenant,
    environment: benteng_core::api_key::KeyEnvironment,
    level: benteng_core::kyc::KycLevel,
    volume_usd_cents: i64,
    at: OffsetDateTime,
) -> Notice {
    let dollars = |cents: i64| format!("{}.{:02}", cents / 100, cents % 100);
    Notice {
        id: EventId::new(),
        tenant_id: tenant.id,
        environment,
        event_type: EventType::KycLimitApproaching,
        object_type: "tenant".to_owned(),
        object_id: tenant.id.to_string(),
        data: json!({
            "kyc_level": level.as_str(),
            "ceiling": level.ceiling_usd_cents().map(|c| json!({"amount": dollars(c), "currency": "USD"})),
            "sent_last_30_days": {"amount": dollars(volume_usd_cents), "currency": "USD"},
            "next_level": level.next().map(|next| next.as_str()),
        }),
        created_at: at,
    }
}
