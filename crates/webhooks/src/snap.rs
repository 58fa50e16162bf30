//! SNAP partners' transfer-status notifications: the same outbox, queue, claims, retries and
//! attempt log as every webhook, a different wire format. A SNAP endpoint (an endpoint with a
//! `snap_partner_id`) gets only its partner's SNAP transfers' events; each is sent as SNAP's
//! transfer-status body, signed SHA256withRSA over SNAP's asymmetric string
//! (`POST:RelativeUrl:LowerHex(SHA256(minify(body))):X-TIMESTAMP`) with the webhook signing key
//! that signs at that moment (its public half is in the JWKS), with SNAP's headers.

use benteng_core::payments::transfer::TransferStatus;
use benteng_crypto::jws::RsaSigningKey;
use benteng_snap::{NotificationSigner, SnapPrivateKey, UrlMode};
use benteng_store::ClaimedDelivery;
use serde_json::json;
use time::OffsetDateTime;

/// SNAP's channel id of our notifications (the one our SNAP clients send).
pub const CHANNEL_ID: &str = "95221";

/// SNAP's `latestTransactionStatus` and its description for a transfer status.
pub fn latest_transaction_status(status: TransferStatus) -> (&'static str, &'static str) {
    match status {
        TransferStatus::Completed => ("00", "Success"),
        TransferStatus::Initiated | TransferStatus::Screening => ("01", "Initiated"),
        TransferStatus::Approved | TransferStatus::Submitted => ("02", "Paying"),
        TransferStatus::PendingReview => ("03", "Pending"),
        TransferStatus::Returned => ("04", "Refunded"),
        TransferStatus::Blocked => ("05", "Canceled"),
        TransferStatus::Failed => ("06", "Failed"),
    }
}

/// `X-EXTERNAL-ID` of an event's notification: 32 digits derived from its `event_id`, the same
/// on every retry, so a partner's duplicate check recognises a repeated notification.
pub fn external_id(event: &benteng_core::ids::EventId) -> String {
    let number = u128::from_be_bytes(*event.as_uuid().as_bytes()) % 10u128.pow(32);
    format!("{number:032}")
}

/// The body of a transfer's status notification, or why there is none.
pub fn notification_body(claim: &ClaimedDelivery) -> Result<Vec<u8>, String> {
    let reference = claim
        .snap_reference
        .as_deref()
        .ok_or("the event is not about one of the partner's SNAP transfers")?;
    let data = &claim.notice.data;
    let status: TransferStatus = data["status"]
        .as_str()
        .and_then(|s| s.parse().ok())
        .ok_or("the event carries no transfer status")?;
    let (code, description) = latest_transaction_status(status);
    let amount = &data["source"];
    let body = json!({
        "originalPartnerReferenceNo": reference,
        "originalReferenceNo": claim.notice.object_id,
        "serviceCode": "18",
        "latestTransactionStatus": code,
        "transactionStatusDesc": description,
        "amount": {
            "value": amount["amount"].as_str().unwrap_or_default(),
            "currency": amount["currency"].as_str().unwrap_or_default(),
        },
        "additionalInfo": {
            "eventId": claim.notice.id.to_string(),
            "eventType": claim.notice.event_type.as_str(),
            "sequence": claim.sequence,
        },
    });
    serde_json::to_vec(&body).map_err(|e| e.to_string())
}

/// SNAP's headers for `body` POSTed to `path` (and `query`), signed with `key` at `now`. `partner_id` is the
/// partner's own client id (`X-PARTNER-ID`: which partnership the notification is for).
pub fn signed_headers(
    key: &RsaSigningKey,
    partner_id: &str,
    path: &str,
    query: Option<&str>,
    body: &[u8],
    claim: &ClaimedDelivery,
    now: OffsetDateTime,
) -> Result<Vec<(&'static str, String)>, String> {
    let der = key.to_pkcs8().map_err(|e| e.to_string())?;
    let private = SnapPrivateKey::from_pkcs8_der(&der).map_err(|e| e.to_string())?;
    let signer = NotificationSigner::new(partner_id, CHANNEL_ID, UrlMode::PathAndQuery, private)
        .map_err(|e| format!("{e:?}"))?;
    let headers = signer
        .sign_at(
            "POST",
            path,
            query,
            body,
            now,
            &external_id(&claim.notice.id),
        )
        .map_err(|e| format!("{e:?}"))?;
    Ok(headers.pairs())
}
