//! The ISO 20022 rail (SEPA/SWIFT CBPR+ style, see docs/iso20022.md): a transfer leaves as a
//! signed pacs.008 of its own, or in a signed pain.001 batch of its tenant's transfers in its
//! currency ([`Outgoing`]), written to a file drop or POSTed to the counterparty's HTTPS endpoint
//! through the pinned outbound client, and its outcome comes back as a signed pacs.002 read
//! from a file drop or POSTed to the platform over mTLS. Status reports are verified and
//! applied by [`Iso20022::ingest`], the one path the inbox, the HTTPS route and
//! `benteng iso20022 ingest` take; a [`SimulatedCounterparty`] plays the bank in tests and the
//! README walk-through.
//!
//! [`Iso20022`] holds what rendering, signing and verifying need (store, keyring, the
//! platform's identity, the registered counterparties); the message format and the signature
//! profile are in `benteng-iso20022`.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use benteng_core::audit::{AuditContext, AuditEvent, Retention};
use benteng_core::clock::Clock;
use benteng_core::ids::TransferId;
use benteng_core::payments::recipient::BankAccount;
use benteng_core::payments::transfer::TransferStatus;
use benteng_core::text::Bic;
use benteng_iso20022::{
    CreditTransfer, Creditor, Header, MessageId, MessageKind, Payload, PaymentReturn, Platform,
    PostalAddress, Registry, Signer, StatusOutcome, TransactionStatus, Verifier,
};
use benteng_payments::Payments;
use benteng_payments::moves::Moved;
use benteng_store::{Store, StoreError, StoredIsoMessage, StoredSigningKey, TransferRecord};
use benteng_transport::{OutboundClient, OutboundError};
use benteng_vault::{Aad, Keyring};
use secrecy::ExposeSecret;

use crate::{Rail, RailError, RailOutcome};

/// Why an ISO 20022 operation did not happen.
#[derive(Debug, thiserror::Error)]
pub enum Iso20022Error {
    /// The input (a status report, a transfer) is refused; the reason names the check.
    #[error("refused: {0}")]
    Refused(String),
    #[error("{0}")]
    Unavailable(String),
    #[error(transparent)]
    Store(#[from] StoreError),
}

fn unavailable(what: &str, error: impl std::fmt::Display) -> Iso20022Error {
    Iso20022Error::Unavailable(format!("{what}: {error}"))
}

/// The rail's name, as transfers routed to it carry it.
pub const RAIL: &str = "iso20022";

/// How transfers leave for the counterparty (`iso20022.message`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outgoing {
    /// One pacs.008 per transfer, signed and handed over when the worker submits it.
    Pacs008,
    /// pain.001 batches: a tenant's submitted transfers in one currency, closed by [`Batching`].
    Pain001(Batching),
}

/// When a pain.001 batch is closed: when its oldest transfer has waited `window` since it was
/// submitted, or as soon as it holds `max_transfers`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Batching {
    pub window: time::Duration,
    /// 1 to [`benteng_iso20022::message::MAX_BATCH`].
    pub max_transfers: usize,
}

/// Everything the rail, the CLI and the simulated counterparty share.
pub struct Iso20022 {
    pub store: Store,
    pub keyring: Arc<Keyring>,
    pub clock: Arc<dyn Clock>,
    pub platform: Platform,
    /// Where messages go: `AppHdr/To`, the instructed agent.
    pub counterparty_bic: Bic,
    /// (name, DER certificate) of every counterparty whose signature is accepted.
    pub counterparties: Vec<(String, Vec<u8>)>,
    /// (name, lowercase hex SHA-256) of the TLS client certificate each counterparty presents
    /// when it POSTs status reports (mTLS).
    pub client_certificates: Vec<(String, String)>,
    pub max_message_bytes: usize,
    /// pacs.008 per transfer, or pain.001 batches.
    pub outgoing: Outgoing,
}

/// How long a rotation's new signing key is handed to the counterparties before it signs, and
/// how long the old one is still accepted after that.
pub const KEY_OVERLAP: time::Duration = time::Duration::days(14);

/// How many waiting transfers one batching pass reads (the rest wait for the next pass).
const BATCH_QUEUE: u32 = 10_000;

/// Each signing key with its place in the rotation timeline at `now` (oldest first). A key
/// retired by hand (`retired_at`) is retired whatever its timeline says.
pub fn key_timeline(
    keys: &[StoredSigningKey],
    now: time::OffsetDateTime,
) -> Vec<(&StoredSigningKey, benteng_core::rotation::Place)> {
    let signs_from: Vec<_> = keys.iter().map(|k| k.signs_from).collect();
    keys.iter()
        .zip(benteng_core::rotation::timeline(
            &signs_from,
            now,
            KEY_OVERLAP,
        ))
        .map(|(key, mut place)| {
            if key.retired_at.is_some_and(|at| at <= now) {
                place.phase = benteng_core::rotation::Phase::Retired;
            }
            (key, place)
        })
        .collect()
}

/// The AAD a signing key is wrapped with under the KEK.
pub fn signing_key_aad(id: &str) -> Vec<u8> {
    format!("iso20022-signing-key:{id}").into_bytes()
}

pub fn hex_sha256(bytes: &[u8]) -> String {
    aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, bytes)
        .as_ref()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

impl Iso20022 {
    /// The key that signs now (see [`key_timeline`]), unwrapped with the current KEK.
    pub async fn active_signer(&self) -> Result<(String, Signer), Iso20022Error> {
        let keys = self.store.iso20022_signing_keys().await?;
        let timeline = key_timeline(&keys, self.clock.now());
        let Some((key, _)) = timeline
            .iter()
            .rev()
            .find(|(_, place)| place.phase == benteng_core::rotation::Phase::Signing)
        else {
            return Err(Iso20022Error::Unavailable(
                "no ISO 20022 signing key: create one with `benteng keys rotate --purpose iso20022`"
                    .to_owned(),
            ));
        };
        let kek = self.keyring.current_kek();
        if kek.id() != key.kek_id {
            return Err(Iso20022Error::Unavailable(format!(
                "signing key {} is wrapped by KEK {}, not the current KEK {}",
                key.id,
                key.kek_id,
                kek.id()
            )));
        }
        let wrapped = URL_SAFE_NO_PAD
            .decode(&key.wrapped_key)
            .map_err(|e| unavailable("stored signing key", e))?;
        let pkcs8 = kek
            .unwrap(&wrapped, &signing_key_aad(&key.id))
            .map_err(|e| unavailable("unwrapping the signing key", e))?;
        let certificate = STANDARD
            .decode(&key.certificate)
            .map_err(|e| unavailable("stored signing certificate", e))?;
        let signer =
            Signer::new(&pkcs8, &certificate).map_err(|e| unavailable("the signing key", e))?;
        Ok((key.id.clone(), signer))
    }

    /// The registered counterparties plus the platform's own signing certificates that are not
    /// retired (during an overlap, the old key's messages still verify).
    pub async fn verifier(&self) -> Result<Verifier, Iso20022Error> {
        let mut registry = Registry::new();
        for (name, der) in &self.counterparties {
            registry
                .register(name, der)
                .map_err(|e| unavailable("counterparty certificate", e))?;
        }
        let keys = self.store.iso20022_signing_keys().await?;
        for (key, place) in key_timeline(&keys, self.clock.now()) {
            if place.phase.is_live() {
                let der = STANDARD
                    .decode(&key.certificate)
                    .map_err(|e| unavailable("stored signing certificate", e))?;
                registry
                    .register("benteng (this platform)", &der)
                    .map_err(|e| unavailable("signing certificate", e))?;
            }
        }
        Ok(Verifier::new(registry).with_max_bytes(self.max_message_bytes))
    }

    /// The signed pacs.008 of a stored transfer: the stored bytes if it was signed before,
    /// otherwise rendered, signed and stored now (once: a concurrent render loses the race and
    /// reads the winner's bytes back).
    pub async fn pacs008_for_transfer(
        &self,
        transfer_id: TransferId,
        context: &AuditContext,
    ) -> Result<StoredIsoMessage, Iso20022Error> {
        let kind = MessageKind::Pacs008.definition();
        if let Some(stored) = self
            .store
            .iso20022_message_for_transfer(transfer_id, kind)
            .await?
        {
            return Ok(stored);
        }
        let transfer = match self.store.transfer_by_id(transfer_id).await {
            Err(StoreError::NotFound) => {
                return Err(Iso20022Error::Refused("no such transfer".to_owned()));
            }
            other => other?,
        };
        if !matches!(
            transfer.status,
            TransferStatus::Approved | TransferStatus::Submitted
        ) {
            return Err(Iso20022Error::Refused(format!(
                "transfer is {}; only approved or submitted transfers are sent",
                transfer.status
            )));
        }
        let credit = self.credit_transfer(&transfer).await?;
        let now = self.clock.now();
        let header = Header {
            message_id: MessageId::new(),
            created_at: now,
            settlement_date: now.date(),
            to: self.counterparty_bic.clone(),
        };
        let unsigned = benteng_iso20022::pacs008(&self.platform, &header, &credit)
            .map_err(|e| Iso20022Error::Refused(e.to_string()))?;
        let (key_id, signed_xml) = self.sign(&unsigned).await?;
        let stored = StoredIsoMessage {
            message_id: header.message_id.to_string(),
            kind: kind.to_owned(),
            direction: "out".to_owned(),
            transfer_id: Some(transfer_id),
            tenant_id: Some(transfer.tenant_id),
            signing_key_id: Some(key_id),
            counterparty: Some(self.counterparty_bic.as_str().to_owned()),
            signed_xml,
            created_at: now,
            delivered_at: None,
        };
        match self.store.insert_iso20022_message(&stored, context).await {
            Ok(()) => Ok(stored),
            Err(StoreError::Conflict) => self
                .store
                .iso20022_message_for_transfer(transfer_id, kind)
                .await?
                .ok_or(Iso20022Error::Store(StoreError::NotFound)),
            Err(e) => Err(e.into()),
        }
    }

    /// Signs a rendered message with the key that signs now: (key id, the signed text).
    async fn sign(
        &self,
        unsigned: &benteng_iso20022::UnsignedMessage,
    ) -> Result<(String, String), Iso20022Error> {
        let (key_id, signer) = self.active_signer().await?;
        let signed = signer
            .sign(unsigned)
            .map_err(|e| unavailable("signing", e))?;
        let signed_xml =
            String::from_utf8(signed.into_bytes()).map_err(|e| unavailable("signing", e))?;
        Ok((key_id, signed_xml))
    }

    /// The signed message carrying a stored transfer, as `benteng iso20022 render` prints it:
    /// its pacs.008 or the pain.001 batch it is in, whichever was signed. With pacs.008 out,
    /// a transfer not signed yet is rendered, signed and stored now
    /// ([`Iso20022::pacs008_for_transfer`]); with pain.001 batches, only the rail makes
    /// batches (or `benteng iso20022 batch`), so a transfer still waiting for one is refused.
    pub async fn message_for_transfer(
        &self,
        transfer_id: TransferId,
        context: &AuditContext,
    ) -> Result<StoredIsoMessage, Iso20022Error> {
        if let Some(batch) = self.store.iso20022_batch_of_transfer(transfer_id).await? {
            return Ok(batch);
        }
        if let Some(stored) = self
            .store
            .iso20022_message_for_transfer(transfer_id, MessageKind::Pacs008.definition())
            .await?
        {
            return Ok(stored);
        }
        match self.outgoing {
            Outgoing::Pacs008 => self.pacs008_for_transfer(transfer_id, context).await,
            Outgoing::Pain001(batching) => {
                let transfer = match self.store.transfer_by_id(transfer_id).await {
                    Err(StoreError::NotFound) => {
                        return Err(Iso20022Error::Refused("no such transfer".to_owned()));
                    }
                    other => other?,
                };
                Err(Iso20022Error::Refused(format!(
                    "transfer is {} and in no pain.001 batch yet; the rail batches submitted \
                     transfers within {} s (or run `benteng iso20022 batch`)",
                    transfer.status,
                    batching.window.whole_seconds()
                )))
            }
        }
    }

    /// A message we sent, by its message id (`BizMsgIdr`).
    pub async fn sent_message(&self, message_id: &str) -> Result<StoredIsoMessage, Iso20022Error> {
        self.store
            .iso20022_message(message_id)
            .await?
            .filter(|m| m.direction == "out")
            .ok_or_else(|| Iso20022Error::Refused(format!("no message {message_id} was sent")))
    }

    /// Makes the pain.001 batches that are due: the submitted transfers of this rail that no
    /// message carries yet, grouped by tenant and currency (oldest first), cut at
    /// `max_transfers`; a group is due when full or when its oldest transfer has waited the
    /// window (`now`: every group is due). A transfer that cannot be carried (not an IBAN, text
    /// outside the SEPA set) fails with the reason and the rest of its group goes on. Each batch
    /// is signed and stored with the transfers it carries in one transaction; another instance
    /// that batched one of them first wins, and this one stores nothing. Returns the batches
    /// made (their delivery is the rail's).
    pub async fn make_batches(
        &self,
        payments: &Payments,
        batching: Batching,
        now: bool,
        context: &AuditContext,
    ) -> Result<Vec<StoredIsoMessage>, Iso20022Error> {
        let at = self.clock.now();
        let queue = self.store.iso20022_unbatched(RAIL, BATCH_QUEUE).await?;
        // (tenant, currency) → its transfers, oldest first (the queue's order).
        let mut groups: Vec<(
            (benteng_core::ids::TenantId, &'static str),
            Vec<TransferRecord>,
        )> = Vec::new();
        for transfer in queue {
            let key = (transfer.tenant_id, transfer.target.currency().code());
            match groups.iter_mut().find(|(k, _)| *k == key) {
                Some((_, members)) => members.push(transfer),
                None => groups.push((key, vec![transfer])),
            }
        }
        let max = batching
            .max_transfers
            .clamp(1, benteng_iso20022::message::MAX_BATCH);
        let mut made = Vec::new();
        for (_, members) in groups {
            for chunk in members.chunks(max) {
                let waited = chunk
                    .first()
                    .is_some_and(|t| at - t.updated_at >= batching.window);
                if !(now || chunk.len() == max || waited) {
                    break;
                }
                if let Some(batch) = self.batch(payments, chunk, context).await? {
                    made.push(batch);
                }
            }
        }
        Ok(made)
    }

    /// One pain.001 of one tenant's transfers in one currency (see [`Iso20022::make_batches`]).
    async fn batch(
        &self,
        payments: &Payments,
        transfers: &[TransferRecord],
        context: &AuditContext,
    ) -> Result<Option<StoredIsoMessage>, Iso20022Error> {
        let mut credits = Vec::with_capacity(transfers.len());
        for transfer in transfers {
            let refused = match self.credit_transfer(transfer).await {
                Ok(credit) => match benteng_iso20022::check_transfer(&credit) {
                    Ok(()) => {
                        credits.push(credit);
                        continue;
                    }
                    Err(error) => error.to_string(),
                },
                Err(Iso20022Error::Refused(reason)) => reason,
                Err(other) => return Err(other),
            };
            tracing::warn!(transfer = %transfer.id, reason = %refused, "left out of a pain.001");
            payments
                .move_transfer(
                    transfer,
                    TransferStatus::Failed,
                    &format!("cannot be sent in a pain.001: {refused}"),
                    context,
                )
                .await?;
        }
        let Some(first) = transfers.first() else {
            return Ok(None);
        };
        if credits.is_empty() {
            return Ok(None);
        }
        let now = self.clock.now();
        let header = Header {
            message_id: MessageId::new(),
            created_at: now,
            settlement_date: now.date(),
            to: self.counterparty_bic.clone(),
        };
        let unsigned = benteng_iso20022::pain001(&self.platform, &header, &credits)
            .map_err(|e| Iso20022Error::Refused(e.to_string()))?;
        let (key_id, signed_xml) = self.sign(&unsigned).await?;
        let stored = StoredIsoMessage {
            message_id: header.message_id.to_string(),
            kind: MessageKind::Pain001.definition().to_owned(),
            direction: "out".to_owned(),
            transfer_id: None,
            tenant_id: Some(first.tenant_id),
            signing_key_id: Some(key_id),
            counterparty: Some(self.counterparty_bic.as_str().to_owned()),
            signed_xml,
            created_at: now,
            delivered_at: None,
        };
        let carried: Vec<TransferId> = credits.iter().map(|c| c.transfer_id).collect();
        match self
            .store
            .insert_iso20022_batch(&stored, &carried, context)
            .await
        {
            Ok(()) => Ok(Some(stored)),
            Err(StoreError::Conflict) => Ok(None),
            Err(e) => Err(e.into()),
        }
    }

    /// What a message says about a stored transfer: the amount it receives, the recipient
    /// (name, IBAN unsealed only here, BIC where known, address) and the reference.
    async fn credit_transfer(
        &self,
        transfer: &TransferRecord,
    ) -> Result<CreditTransfer, Iso20022Error> {
        let recipient = self
            .store
            .recipient(
                transfer.tenant_id,
                transfer.environment,
                transfer.recipient_id,
            )
            .await?;
        let (tenant_text, recipient_text) = (
            transfer.tenant_id.to_string(),
            transfer.recipient_id.to_string(),
        );
        let account = self
            .keyring
            .decrypt_string(
                &recipient.bank_account_sealed,
                &Aad::new(&tenant_text, "recipients", "bank_account", &recipient_text),
            )
            .map_err(|e| unavailable("unsealing the recipient's account", e))?;
        let Some(BankAccount::Iban(iban)) = BankAccount::from_canonical(account.expose_secret())
        else {
            return Err(Iso20022Error::Refused(
                "the recipient's account is not an IBAN; ISO 20022 carries IBAN transfers only"
                    .to_owned(),
            ));
        };
        let address = recipient.address.as_ref().map(|a| PostalAddress {
            street_name: Some(a.line1.as_str().to_owned()),
            building_number: None,
            post_code: a.postal_code.as_ref().map(|p| p.as_str().to_owned()),
            town_name: a.city.as_str().to_owned(),
            country: a.country,
        });
        let credit = CreditTransfer {
            transfer_id: transfer.id,
            amount: transfer.target,
            creditor: Creditor {
                name: recipient.name.as_str().to_owned(),
                iban,
                bic: recipient.bic.clone(),
                address,
            },
            remittance: Some(transfer.reference.clone()).filter(|r| !r.is_empty()),
        };
        Ok(credit)
    }

    /// The counterparty whose registered TLS client certificate has this SHA-256 (lowercase
    /// hex), if any.
    pub fn counterparty_of_client_certificate(&self, sha256: &str) -> Option<&str> {
        self.client_certificates
            .iter()
            .find(|(_, fingerprint)| fingerprint == sha256)
            .map(|(name, _)| name.as_str())
    }

    /// Records that an incoming message was refused (a security event), naming it by the
    /// SHA-256 of its bytes since nothing in it can be trusted.
    async fn refuse(&self, bytes: &[u8], context: &AuditContext, reason: String) -> Iso20022Error {
        self.record_refusal(hex_sha256(bytes), context, reason)
            .await
    }

    /// The same for a file refused unread (too large): named by `subject` (its file name).
    pub async fn record_refusal(
        &self,
        subject: String,
        context: &AuditContext,
        reason: String,
    ) -> Iso20022Error {
        let event = AuditEvent::new(
            context,
            "iso20022.status_report_refused",
            Retention::Security,
            ("iso20022_file", subject),
        )
        .change("reason", serde_json::Value::Null, reason.clone().into());
        if let Err(error) = self.store.audit(&event).await {
            tracing::error!(%error, "recording a refused status report");
        }
        Iso20022Error::Refused(reason)
    }

    /// Verifies a pacs.002 (or a pacs.004) and moves the transfers it reports on: ACSC/ACCC →
    /// COMPLETED, RJCT → FAILED with the reason code, a return → RETURNED (with the ledger
    /// reversal; completed first if still submitted), anything else leaves the transfer where
    /// it is. Every transaction is checked before anything moves; a refused report moves nothing and is
    /// recorded as a security event. A report already ingested (same `BizMsgIdr`) does nothing
    /// again. `sender` is the counterparty the transport authenticated (mTLS), when it did:
    /// the report must then be signed by that same counterparty. Returns one line per
    /// transaction saying what happened.
    pub async fn ingest(
        &self,
        payments: &Payments,
        bytes: &[u8],
        context: &AuditContext,
        sender: Option<&str>,
    ) -> Result<Vec<String>, Iso20022Error> {
        let verifier = self.verifier().await?;
        let verified = match verifier.verify(bytes) {
            Ok(verified) => verified,
            Err(error) => return Err(self.refuse(bytes, context, error.to_string()).await),
        };
        if let Some(sender) = sender
            && sender != verified.counterparty
        {
            let reason = format!(
                "signed by {} but sent over the connection of {sender}",
                verified.counterparty
            );
            return Err(self.refuse(bytes, context, reason).await);
        }
        // What each transaction of the report asks for.
        let items: Vec<(&MessageId, MessageKind, &str, Effect)> = match &verified.payload {
            Payload::StatusReport { statuses, .. } => statuses
                .iter()
                .map(|s| {
                    let effect = match s.outcome() {
                        StatusOutcome::Settled => Effect::Settled(s.status.clone()),
                        StatusOutcome::Rejected => Effect::Rejected(
                            s.reason
                                .clone()
                                .unwrap_or_else(|| "no reason code".to_owned()),
                        ),
                        StatusOutcome::Pending => Effect::Pending(s.status.clone()),
                    };
                    (
                        &s.original_message_id,
                        s.original_kind,
                        s.original_end_to_end_id.as_str(),
                        effect,
                    )
                })
                .collect(),
            Payload::Returns { returns, .. } => returns
                .iter()
                .map(|r| {
                    let effect = Effect::Returned {
                        reason: r.reason.clone(),
                        amount: r.amount,
                    };
                    (
                        &r.original_message_id,
                        r.original_kind,
                        r.original_end_to_end_id.as_str(),
                        effect,
                    )
                })
                .collect(),
            Payload::CreditTransfers { .. } => {
                let reason = format!(
                    "a {} is not a status report or a payment return",
                    verified.kind
                );
                return Err(self.refuse(bytes, context, reason).await);
            }
        };
        let message_id = verified.business_message_id.to_string();
        if let Some(earlier) = self.store.iso20022_message(&message_id).await? {
            if earlier.direction == "in" {
                return Ok(vec![format!(
                    "{message_id} was already ingested; nothing done"
                )]);
            }
            let reason = format!("message id {message_id} is one of ours");
            return Err(self.refuse(bytes, context, reason).await);
        }

        // Check every transaction before moving anything.
        let mut plan: Vec<(TransferRecord, Effect)> = Vec::with_capacity(items.len());
        let mut batches: std::collections::HashMap<String, Vec<TransferId>> =
            std::collections::HashMap::new();
        for (original, original_kind, end_to_end, effect) in items {
            let original = original.to_string();
            let sent = self
                .store
                .iso20022_message(&original)
                .await?
                .filter(|m| m.direction == "out" && m.kind == original_kind.definition());
            let Some(sent) = sent else {
                let reason = format!("unknown original message id {original}");
                return Err(self.refuse(bytes, context, reason).await);
            };
            if sent.counterparty.as_deref() != verified.from_bic.as_deref() {
                let reason = format!(
                    "the report comes from {} but {original} was sent to {}",
                    verified.from_bic.as_deref().unwrap_or("(no BIC)"),
                    sent.counterparty.as_deref().unwrap_or("(unknown)")
                );
                return Err(self.refuse(bytes, context, reason).await);
            }
            // A pacs.008 carries one transfer; a pain.001 batch, the transfers stored with it.
            let carried = match sent.transfer_id {
                Some(transfer_id) => vec![transfer_id],
                None => match batches.get(&original) {
                    Some(members) => members.clone(),
                    None => {
                        let members = self.store.iso20022_batch_transfers(&original).await?;
                        batches.insert(original.clone(), members.clone());
                        members
                    }
                },
            };
            let Some(transfer_id) = carried
                .into_iter()
                .find(|id| end_to_end == benteng_iso20022::message::end_to_end_id(id))
            else {
                let reason = format!("end-to-end id is not one that {original} carried");
                return Err(self.refuse(bytes, context, reason).await);
            };
            if plan.iter().any(|(planned, _)| planned.id == transfer_id) {
                let reason = format!("end-to-end id {end_to_end} appears twice");
                return Err(self.refuse(bytes, context, reason).await);
            }
            let transfer = self.store.transfer_by_id(transfer_id).await?;
            if let Effect::Returned { amount, .. } = &effect
                && (amount.currency() != transfer.target.currency()
                    || amount.amount_minor() > transfer.target.amount_minor())
            {
                let reason = format!(
                    "the return of {amount} {} does not fit the {} {} that {original} paid",
                    amount.currency().code(),
                    transfer.target,
                    transfer.target.currency().code()
                );
                return Err(self.refuse(bytes, context, reason).await);
            }
            plan.push((transfer, effect));
        }

        let who = &verified.counterparty;
        let mut lines = Vec::with_capacity(plan.len());
        for (transfer, effect) in plan {
            let transfer_id = transfer.id;
            let moves: Vec<(TransferStatus, String)> = match effect {
                Effect::Settled(status) => vec![(
                    TransferStatus::Completed,
                    format!("{who} reported {status} ({message_id})"),
                )],
                Effect::Rejected(reason) => vec![(
                    TransferStatus::Failed,
                    format!("{who} rejected it: {reason} ({message_id})"),
                )],
                Effect::Pending(status) => {
                    lines.push(format!("{transfer_id}: {status} (no move)"));
                    continue;
                }
                // A return means it was paid: a transfer still submitted (its settlement
                // report not in yet) completes first, then comes back with the reversal.
                Effect::Returned { reason, amount } => {
                    let returned = (
                        TransferStatus::Returned,
                        format!(
                            "{who} returned {amount} {}: {reason} ({message_id})",
                            amount.currency().code()
                        ),
                    );
                    if transfer.status == TransferStatus::Submitted {
                        vec![
                            (
                                TransferStatus::Completed,
                                format!("{who} paid it (implied by its return, {message_id})"),
                            ),
                            returned,
                        ]
                    } else {
                        vec![returned]
                    }
                }
            };
            let mut current = transfer;
            for (to, cause) in moves {
                if current.status == to {
                    lines.push(format!("{transfer_id}: already {to}"));
                    continue;
                }
                if current.status.check_move(to).is_err() {
                    lines.push(format!(
                        "{transfer_id}: is {}, cannot move to {to}; left as it is",
                        current.status
                    ));
                    break;
                }
                match payments
                    .move_transfer(&current, to, &cause, context)
                    .await?
                {
                    Moved::Moved => {
                        lines.push(format!("{transfer_id}: {} → {to}", current.status));
                        current = TransferRecord {
                            status: to,
                            ..current
                        };
                    }
                    Moved::Overtaken => {
                        lines.push(format!("{transfer_id}: moved by someone else first"));
                        break;
                    }
                }
            }
        }
        let stored = StoredIsoMessage {
            message_id,
            kind: verified.kind.definition().to_owned(),
            direction: "in".to_owned(),
            transfer_id: None,
            tenant_id: None,
            signing_key_id: None,
            counterparty: Some(verified.counterparty.clone()),
            signed_xml: String::from_utf8(bytes.to_vec())
                .map_err(|e| unavailable("verified message", e))?,
            created_at: self.clock.now(),
            delivered_at: None,
        };
        match self.store.insert_iso20022_message(&stored, context).await {
            Ok(()) | Err(StoreError::Conflict) => Ok(lines),
            Err(e) => Err(e.into()),
        }
    }
}

/// What one transaction of an incoming report asks for.
enum Effect {
    /// Settled (ACSC, ACCC): COMPLETED.
    Settled(String),
    /// RJCT with its reason code: FAILED.
    Rejected(String),
    /// Any other status: no move.
    Pending(String),
    /// A pacs.004: RETURNED, with the ledger reversal.
    Returned {
        reason: String,
        amount: benteng_core::money::Money,
    },
}

/// Writes `bytes` to `dir/name` so a reader never sees a partial file (temporary name, then
/// rename).
pub fn drop_file(dir: &Path, name: &str, bytes: &[u8]) -> std::io::Result<()> {
    std::fs::create_dir_all(dir)?;
    let partial = dir.join(format!(".{name}.partial"));
    std::fs::write(&partial, bytes)?;
    std::fs::rename(partial, dir.join(name))
}

/// The `.xml` files in `dir`, oldest name first.
fn xml_files(dir: &Path) -> Vec<PathBuf> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut files: Vec<PathBuf> = entries
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "xml") && p.is_file())
        .collect();
    files.sort();
    files
}

fn move_into(file: &Path, dir: &Path) {
    let Some(name) = file.file_name() else { return };
    if let Err(error) =
        std::fs::create_dir_all(dir).and_then(|()| std::fs::rename(file, dir.join(name)))
    {
        tracing::warn!(%error, file = %file.display(), "moving an ingested file");
    }
}

/// Where the rail hands signed messages over.
pub enum Outbound {
    /// Written to this directory (temporary name, then rename).
    FileDrop(PathBuf),
    /// POSTed (`application/xml`) to the counterparty's endpoint through the pinned outbound
    /// client. 2xx, or 409 (the counterparty has this message id already), is delivered.
    Https { client: OutboundClient, url: String },
}

/// Why a stored message was not handed over.
enum Undelivered {
    /// The counterparty answered that it will not take it (a 4xx other than 409).
    Refused(String),
    /// Not reachable, a TLS or pin failure, a 5xx: the same bytes are sent again later.
    Later(String),
}

/// The rail: `submit` signs the transfer's pacs.008 (stored first, so a retry sends the same
/// bytes under the same message id) and hands it over ([`Outbound`]); one that could not be
/// delivered is sent again on the worker's next pass (`outcome`). With pain.001 batches,
/// `submit` only claims the transfer and [`Iso20022Rail::batch_pass`] batches, signs, stores
/// and hands over, sending an undelivered batch's bytes again on later passes. Outcomes arrive as signed
/// pacs.002: files in `inbox` (drained every poll; ingested files go to `inbox/done/`, refused
/// ones to `inbox/refused/`) or POSTs on the mTLS route, both through [`Iso20022::ingest`].
pub struct Iso20022Rail {
    pub iso: Arc<Iso20022>,
    pub payments: Arc<Payments>,
    pub outbound: Outbound,
    pub inbox: Option<PathBuf>,
}

impl Iso20022Rail {
    fn context(&self) -> AuditContext {
        AuditContext::system("rail:iso20022")
    }

    /// Hands a stored outgoing message over, once: a message already delivered is not sent
    /// again.
    async fn deliver(&self, message: &StoredIsoMessage) -> Result<(), Undelivered> {
        if message.delivered_at.is_some() {
            return Ok(());
        }
        let bytes = message.signed_xml.as_bytes();
        match &self.outbound {
            Outbound::FileDrop(outbox) => {
                drop_file(outbox, &format!("{}.xml", message.message_id), bytes)
                    .map_err(|e| Undelivered::Later(format!("writing to the outbox: {e}")))?;
            }
            Outbound::Https { client, url } => {
                let response = client
                    .post(url, "application/xml", bytes.to_vec())
                    .await
                    .map_err(|e| match e {
                        OutboundError::PinMismatch(pin) => Undelivered::Later(pin.to_string()),
                        OutboundError::Request(e) => Undelivered::Later(format!("{e}")),
                    })?;
                let status = response.status();
                if status.is_client_error() && status.as_u16() != 409 {
                    return Err(Undelivered::Refused(format!(
                        "the counterparty refused {} with HTTP {status}",
                        message.message_id
                    )));
                }
                if !status.is_success() && status.as_u16() != 409 {
                    return Err(Undelivered::Later(format!(
                        "the counterparty answered HTTP {status}"
                    )));
                }
            }
        }
        if let Err(error) = self
            .iso
            .store
            .mark_iso20022_delivered(&message.message_id, self.iso.clock.now())
            .await
        {
            // Delivered but not recorded: sent once more later, which the message id makes
            // harmless.
            tracing::warn!(%error, message = %message.message_id, "recording a delivery");
        }
        Ok(())
    }

    /// With pain.001 batches: makes the batches that are due every `interval` and hands over
    /// every stored batch not delivered yet (the same bytes again after a failure).
    pub fn spawn_batcher(self: Arc<Self>, interval: Duration) -> tokio::task::JoinHandle<()> {
        tokio::spawn(async move {
            let mut ticker = tokio::time::interval(interval);
            ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                ticker.tick().await;
                if let Err(error) = self.batch_pass().await {
                    tracing::warn!(%error, "pain.001 batching pass failed");
                }
            }
        })
    }

    /// One batching pass (see [`Iso20022Rail::spawn_batcher`]); nothing with pacs.008 out.
    /// Returns how many batches were handed over.
    pub async fn batch_pass(&self) -> Result<usize, Iso20022Error> {
        let Outgoing::Pain001(batching) = self.iso.outgoing else {
            return Ok(0);
        };
        let context = self.context();
        self.iso
            .make_batches(&self.payments, batching, false, &context)
            .await?;
        let mut delivered = 0;
        for batch in self.iso.store.iso20022_undelivered_batches(100).await? {
            match self.deliver(&batch).await {
                Ok(()) => delivered += 1,
                Err(Undelivered::Later(reason)) => {
                    tracing::warn!(message = %batch.message_id, %reason, "pain.001 not delivered yet");
                }
                Err(Undelivered::Refused(reason)) => {
                    // The bank will not take it: each transfer it carries fails.
                    tracing::warn!(message = %batch.message_id, %reason, "pain.001 refused");
                    for id in self
                        .iso
                        .store
                        .iso20022_batch_transfers(&batch.message_id)
                        .await?
                    {
                        let transfer = self.iso.store.transfer_by_id(id).await?;
                        if transfer.status == TransferStatus::Submitted {
                            self.payments
                                .move_transfer(&transfer, TransferStatus::Failed, &reason, &context)
                                .await?;
                        }
                    }
                }
            }
        }
        Ok(delivered)
    }

    /// Drains the inbox every `interval`, whether or not transfers are in flight (a report
    /// may arrive late, twice, or forged; each is ingested or refused and filed away).
    pub fn spawn_inbox(self: Arc<Self>, interval: Duration) -> tokio::task::JoinHandle<()> {
        tokio::spawn(async move {
            let mut ticker = tokio::time::interval(interval);
            ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                ticker.tick().await;
                self.drain_inbox().await;
            }
        })
    }

    /// Ingests every status report waiting in the inbox (if the rail has one).
    pub async fn drain_inbox(&self) {
        let Some(inbox) = &self.inbox else { return };
        for file in xml_files(inbox) {
            let bytes = match std::fs::metadata(&file) {
                Ok(meta) if meta.len() > self.iso.max_message_bytes as u64 => None,
                _ => std::fs::read(&file).ok(),
            };
            let result = match bytes {
                Some(bytes) => {
                    self.iso
                        .ingest(&self.payments, &bytes, &self.context(), None)
                        .await
                }
                None => Err(self
                    .iso
                    .record_refusal(
                        file.display().to_string(),
                        &self.context(),
                        format!(
                            "over the {}-byte limit or unreadable",
                            self.iso.max_message_bytes
                        ),
                    )
                    .await),
            };
            match result {
                Ok(lines) => {
                    for line in lines {
                        tracing::info!(file = %file.display(), "{line}");
                    }
                    move_into(&file, &inbox.join("done"));
                }
                Err(Iso20022Error::Refused(reason)) => {
                    tracing::warn!(file = %file.display(), %reason, "status report refused");
                    move_into(&file, &inbox.join("refused"));
                }
                Err(error) => {
                    // Left in place: retried on the next pass.
                    tracing::warn!(file = %file.display(), %error, "status report not ingested yet");
                }
            }
        }
    }
}

#[async_trait]
impl Rail for Iso20022Rail {
    fn name(&self) -> &'static str {
        RAIL
    }

    async fn submit(&self, transfer: &TransferRecord) -> Result<(), RailError> {
        if let Outgoing::Pain001(_) = self.iso.outgoing {
            // Claimed (SUBMITTED) and left for its batch: `batch_pass` signs and sends it.
            return Ok(());
        }
        let message = self
            .iso
            .pacs008_for_transfer(transfer.id, &self.context())
            .await
            .map_err(|e| match e {
                Iso20022Error::Refused(reason) => RailError::Refused(reason),
                other => RailError::Unavailable(other.to_string()),
            })?;
        match self.deliver(&message).await {
            Ok(()) => Ok(()),
            Err(Undelivered::Refused(reason)) => Err(RailError::Refused(reason)),
            Err(Undelivered::Later(reason)) => {
                // The transfer stays submitted; `outcome` sends the same bytes again.
                tracing::warn!(transfer = %transfer.id, %reason, "pacs.008 not delivered yet");
                Ok(())
            }
        }
    }

    /// Outcomes are applied by ingestion (the status report moves the transfer); the answer to
    /// the worker is always "still in flight". A pacs.008 not delivered yet is sent again here.
    async fn outcome(&self, transfer: &TransferRecord) -> Result<Option<RailOutcome>, RailError> {
        let message = self
            .iso
            .store
            .iso20022_message_for_transfer(transfer.id, MessageKind::Pacs008.definition())
            .await
            .map_err(|e| RailError::Unavailable(e.to_string()))?;
        if let Some(message) = message
            && let Err(Undelivered::Later(reason) | Undelivered::Refused(reason)) =
                self.deliver(&message).await
        {
            tracing::warn!(transfer = %transfer.id, %reason, "pacs.008 still not delivered");
        }
        Ok(None)
    }
}

/// A bank for tests and demos: verifies each pacs.008 or pain.001 (the platform's signature)
/// and answers with a pacs.002 signed with its own key, one status per transaction: ACSC, or
/// RJCT AC04 when that transaction's remittance contains `REJECT`; with `RETURN` it settles and
/// then returns the funds (pacs.004, AC04). [`SimulatedCounterparty::spawn_file_drop`] plays it
/// over the file drops; over HTTPS the caller serves [`SimulatedCounterparty::answer`] and
/// POSTs the report back.
pub struct SimulatedCounterparty {
    pub iso: Arc<Iso20022>,
    pub signer: Signer,
    pub bic: Bic,
}

impl SimulatedCounterparty {
    /// Takes each message from the platform's outbox (to `outbox/taken/`) and after `delay`
    /// drops the answer in the platform's inbox.
    pub fn spawn_file_drop(
        self,
        outbox: PathBuf,
        inbox: PathBuf,
        delay: Duration,
        poll_interval: Duration,
    ) -> tokio::task::JoinHandle<()> {
        tokio::spawn(async move {
            let mut ticker = tokio::time::interval(poll_interval);
            loop {
                ticker.tick().await;
                for file in xml_files(&outbox) {
                    let taken = outbox.join("taken");
                    move_into(&file, &taken);
                    let Some(name) = file.file_name() else {
                        continue;
                    };
                    let Ok(bytes) = std::fs::read(taken.join(name)) else {
                        continue;
                    };
                    match self.answer(&bytes).await {
                        Ok(answers) => {
                            for (name, report) in answers {
                                tokio::time::sleep(delay).await;
                                if let Err(error) = drop_file(&inbox, &name, &report) {
                                    tracing::warn!(%error, "simulated counterparty: writing");
                                }
                            }
                        }
                        Err(reason) => {
                            tracing::warn!(%reason, "simulated counterparty: refused a message")
                        }
                    }
                }
            }
        })
    }

    /// The signed messages answering a signed pacs.008 or pain.001, each with a file name: a
    /// pacs.002 with each transaction's status (ACSC, or RJCT AC04 when its remittance contains
    /// `REJECT`) and, when some transaction's remittance contains `RETURN`, a pacs.004 sending
    /// those funds back (AC04) after settling.
    pub async fn answer(&self, bytes: &[u8]) -> Result<Vec<(String, Vec<u8>)>, String> {
        let verifier = self.iso.verifier().await.map_err(|e| e.to_string())?;
        let verified = verifier.verify(bytes).map_err(|e| e.to_string())?;
        let Payload::CreditTransfers {
            message_id,
            end_to_end_ids,
            amounts,
            remittances,
        } = verified.payload
        else {
            return Err("not a credit transfer".to_owned());
        };
        // Each transaction by its own remittance text (a batch carries several).
        let asks = |index: usize, word: &str| {
            remittances
                .get(index)
                .and_then(Option::as_deref)
                .is_some_and(|r| r.contains(word))
        };
        let statuses: Vec<TransactionStatus> = end_to_end_ids
            .iter()
            .enumerate()
            .map(|(index, e2e)| {
                let reject = asks(index, "REJECT");
                TransactionStatus {
                    original_message_id: message_id.clone(),
                    original_kind: verified.kind,
                    original_end_to_end_id: e2e.clone(),
                    status: if reject { "RJCT" } else { "ACSC" }.to_owned(),
                    reason: reject.then(|| "AC04".to_owned()),
                }
            })
            .collect();
        let mut answers =
            vec![self.sign(|header| benteng_iso20022::pacs002(&self.bic, header, &statuses))?];
        let returns: Vec<PaymentReturn> = end_to_end_ids
            .into_iter()
            .zip(amounts)
            .enumerate()
            .filter(|(index, _)| asks(*index, "RETURN") && !asks(*index, "REJECT"))
            .map(|(_, (e2e, amount))| PaymentReturn {
                original_message_id: message_id.clone(),
                original_kind: verified.kind,
                original_end_to_end_id: e2e,
                amount,
                reason: "AC04".to_owned(),
            })
            .collect();
        if !returns.is_empty() {
            answers
                .push(self.sign(|header| benteng_iso20022::pacs004(&self.bic, header, &returns))?);
        }
        Ok(answers)
    }

    fn sign(
        &self,
        render: impl FnOnce(
            &Header,
        )
            -> Result<benteng_iso20022::UnsignedMessage, benteng_iso20022::MessageError>,
    ) -> Result<(String, Vec<u8>), String> {
        let now = self.iso.clock.now();
        let header = Header {
            message_id: MessageId::new(),
            created_at: now,
            settlement_date: now.date(),
            to: self.iso.platform.bic.clone(),
        };
        let unsigned = render(&header).map_err(|e| e.to_string())?;
        let signed = self.signer.sign(&unsigned).map_err(|e| e.to_string())?;
        Ok((format!("{}.xml", header.message_id), signed.into_bytes()))
    }
}
