//! The ISO 20022 rail (SEPA/SWIFT CBPR+ style, see docs/iso20022.md): a transfer leaves as a
//! signed pacs.008 written to a file drop, and its outcome comes back as a signed pacs.002
//! read from another. Status reports are verified and applied by [`Iso20022::ingest`], the
//! same path `benteng iso20022 ingest` takes; a [`SimulatedCounterparty`] plays the bank in
//! tests and the README walk-through.
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
    CreditTransfer, Creditor, Header, MessageId, MessageKind, Payload, Platform, PostalAddress,
    Registry, Signer, StatusOutcome, TransactionStatus, Verifier,
};
use benteng_payments::Payments;
use benteng_payments::moves::Moved;
use benteng_store::{Store, StoreError, StoredIsoMessage, TransferRecord};
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
    pub max_message_bytes: usize,
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
    /// The newest signing key, unwrapped with the current KEK.
    pub async fn active_signer(&self) -> Result<(String, Signer), Iso20022Error> {
        let keys = self.store.iso20022_signing_keys().await?;
        let Some(key) = keys.iter().rev().find(|k| k.retired_at.is_none()) else {
            return Err(Iso20022Error::Unavailable(
                "no ISO 20022 signing key: create one with `benteng iso20022 key-create`"
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

    /// The registered counterparties plus the platform's own signing certificates.
    pub async fn verifier(&self) -> Result<Verifier, Iso20022Error> {
        let mut registry = Registry::new();
        for (name, der) in &self.counterparties {
            registry
                .register(name, der)
                .map_err(|e| unavailable("counterparty certificate", e))?;
        }
        for key in self.store.iso20022_signing_keys().await? {
            if key.retired_at.is_none() {
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
            transfer_id,
            amount: transfer.target,
            creditor: Creditor {
                name: recipient.name.as_str().to_owned(),
                iban,
                bic: None,
                address,
            },
            remittance: Some(transfer.reference.clone()).filter(|r| !r.is_empty()),
        };
        let now = self.clock.now();
        let header = Header {
            message_id: MessageId::new(),
            created_at: now,
            settlement_date: now.date(),
            to: self.counterparty_bic.clone(),
        };
        let unsigned = benteng_iso20022::pacs008(&self.platform, &header, &credit)
            .map_err(|e| Iso20022Error::Refused(e.to_string()))?;
        let (key_id, signer) = self.active_signer().await?;
        let signed = signer
            .sign(&unsigned)
            .map_err(|e| unavailable("signing", e))?;
        let signed_xml =
            String::from_utf8(signed.into_bytes()).map_err(|e| unavailable("signing", e))?;
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

    /// Verifies a pacs.002 and moves the transfers it reports on: ACSC/ACCC → COMPLETED, RJCT
    /// → FAILED with the reason code, anything else leaves the transfer where it is. All
    /// statuses are checked before anything moves; a refused report moves nothing and is
    /// recorded as a security event. A report already ingested (same `BizMsgIdr`) does nothing
    /// again. Returns one line per transaction saying what happened.
    pub async fn ingest(
        &self,
        payments: &Payments,
        bytes: &[u8],
        context: &AuditContext,
    ) -> Result<Vec<String>, Iso20022Error> {
        let verifier = self.verifier().await?;
        let verified = match verifier.verify(bytes) {
            Ok(verified) => verified,
            Err(error) => return Err(self.refuse(bytes, context, error.to_string()).await),
        };
        let Payload::StatusReport { statuses, .. } = &verified.payload else {
            let reason = format!("a {} is not a status report", verified.kind);
            return Err(self.refuse(bytes, context, reason).await);
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

        // Check every status before moving anything.
        let mut plan: Vec<(TransferId, &TransactionStatus)> = Vec::with_capacity(statuses.len());
        for status in statuses {
            let original = status.original_message_id.to_string();
            let sent =
                self.store.iso20022_message(&original).await?.filter(|m| {
                    m.direction == "out" && m.kind == status.original_kind.definition()
                });
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
            let Some(transfer_id) = sent.transfer_id else {
                let reason = format!("{original} carries no transfer");
                return Err(self.refuse(bytes, context, reason).await);
            };
            if status.original_end_to_end_id
                != benteng_iso20022::message::end_to_end_id(&transfer_id)
            {
                let reason = format!("end-to-end id is not the one {original} carried");
                return Err(self.refuse(bytes, context, reason).await);
            }
            plan.push((transfer_id, status));
        }

        let mut lines = Vec::with_capacity(plan.len());
        for (transfer_id, status) in plan {
            let transfer = self.store.transfer_by_id(transfer_id).await?;
            let (to, cause) = match status.outcome() {
                StatusOutcome::Settled => (
                    TransferStatus::Completed,
                    format!(
                        "{} reported {} ({message_id})",
                        verified.counterparty, status.status
                    ),
                ),
                StatusOutcome::Rejected => (
                    TransferStatus::Failed,
                    format!(
                        "{} rejected it: {} ({message_id})",
                        verified.counterparty,
                        status.reason.as_deref().unwrap_or("no reason code")
                    ),
                ),
                StatusOutcome::Pending => {
                    lines.push(format!("{transfer_id}: {} (no move)", status.status));
                    continue;
                }
            };
            if transfer.status == to {
                lines.push(format!("{transfer_id}: already {to}"));
                continue;
            }
            if transfer.status.check_move(to).is_err() {
                lines.push(format!(
                    "{transfer_id}: is {}, cannot move to {to}; left as it is",
                    transfer.status
                ));
                continue;
            }
            match payments
                .move_transfer(&transfer, to, &cause, context)
                .await?
            {
                Moved::Moved => lines.push(format!("{transfer_id}: {} → {to}", transfer.status)),
                Moved::Overtaken => {
                    lines.push(format!("{transfer_id}: moved by someone else first"))
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
        };
        match self.store.insert_iso20022_message(&stored, context).await {
            Ok(()) | Err(StoreError::Conflict) => Ok(lines),
            Err(e) => Err(e.into()),
        }
    }
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

/// The rail: `submit` signs the transfer's pacs.008 (stored first, so a retry sends the same
/// bytes) and drops it in `outbox`; outcomes arrive as pacs.002 files in `inbox`, which
/// `outcome` ingests (moving the transfers they report on) before answering. Ingested files
/// go to `inbox/done/`, refused ones to `inbox/refused/`.
pub struct Iso20022Rail {
    pub iso: Arc<Iso20022>,
    pub payments: Arc<Payments>,
    pub outbox: PathBuf,
    pub inbox: PathBuf,
}

impl Iso20022Rail {
    fn context(&self) -> AuditContext {
        AuditContext::system("rail:iso20022")
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

    /// Ingests every status report waiting in the inbox.
    pub async fn drain_inbox(&self) {
        for file in xml_files(&self.inbox) {
            let bytes = match std::fs::metadata(&file) {
                Ok(meta) if meta.len() > self.iso.max_message_bytes as u64 => None,
                _ => std::fs::read(&file).ok(),
            };
            let result = match bytes {
                Some(bytes) => {
                    self.iso
                        .ingest(&self.payments, &bytes, &self.context())
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
                    move_into(&file, &self.inbox.join("done"));
                }
                Err(Iso20022Error::Refused(reason)) => {
                    tracing::warn!(file = %file.display(), %reason, "status report refused");
                    move_into(&file, &self.inbox.join("refused"));
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
        "iso20022"
    }

    async fn submit(&self, transfer: &TransferRecord) -> Result<(), RailError> {
        let message = self
            .iso
            .pacs008_for_transfer(transfer.id, &self.context())
            .await
            .map_err(|e| match e {
                Iso20022Error::Refused(reason) => RailError::Refused(reason),
                other => RailError::Unavailable(other.to_string()),
            })?;
        drop_file(
            &self.outbox,
            &format!("{}.xml", message.message_id),
            message.signed_xml.as_bytes(),
        )
        .map_err(|e| RailError::Unavailable(format!("writing to the outbox: {e}")))
    }

    /// Outcomes are applied by ingestion (`spawn_inbox`: the status report moves the
    /// transfer); the answer to the worker is always "still in flight".
    async fn outcome(&self, _transfer: &TransferRecord) -> Result<Option<RailOutcome>, RailError> {
        Ok(None)
    }
}

/// A bank for tests and demos: takes each pacs.008 from the platform's outbox (verifying the
/// platform's signature), and after `delay` answers with a pacs.002 signed with its own key in
/// the platform's inbox: ACSC, or RJCT AC04 when the remittance text contains `REJECT`.
pub struct SimulatedCounterparty {
    pub iso: Arc<Iso20022>,
    pub signer: Signer,
    pub bic: Bic,
    pub outbox: PathBuf,
    pub inbox: PathBuf,
    pub delay: Duration,
    pub poll_interval: Duration,
}

impl SimulatedCounterparty {
    pub fn spawn(self) -> tokio::task::JoinHandle<()> {
        tokio::spawn(async move {
            let mut ticker = tokio::time::interval(self.poll_interval);
            loop {
                ticker.tick().await;
                for file in xml_files(&self.outbox) {
                    let taken = self.outbox.join("taken");
                    move_into(&file, &taken);
                    let Some(name) = file.file_name() else {
                        continue;
                    };
                    let Ok(bytes) = std::fs::read(taken.join(name)) else {
                        continue;
                    };
                    match self.answer(&bytes).await {
                        Ok((name, report)) => {
                            tokio::time::sleep(self.delay).await;
                            if let Err(error) = drop_file(&self.inbox, &name, &report) {
                                tracing::warn!(%error, "simulated counterparty: writing");
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

    async fn answer(&self, bytes: &[u8]) -> Result<(String, Vec<u8>), String> {
        let verifier = self.iso.verifier().await.map_err(|e| e.to_string())?;
        let verified = verifier.verify(bytes).map_err(|e| e.to_string())?;
        let Payload::CreditTransfers {
            message_id,
            end_to_end_ids,
        } = verified.payload
        else {
            return Err("not a credit transfer".to_owned());
        };
        let reject = std::str::from_utf8(bytes)
            .map(|t| t.contains("REJECT"))
            .unwrap_or(false);
        let statuses: Vec<TransactionStatus> = end_to_end_ids
            .into_iter()
            .map(|e2e| TransactionStatus {
                original_message_id: message_id.clone(),
                original_kind: verified.kind,
                original_end_to_end_id: e2e,
                status: if reject { "RJCT" } else { "ACSC" }.to_owned(),
                reason: reject.then(|| "AC04".to_owned()),
            })
            .collect();
        let now = self.iso.clock.now();
        let header = Header {
            message_id: MessageId::new(),
            created_at: now,
            settlement_date: now.date(),
            to: self.iso.platform.bic.clone(),
        };
        let unsigned =
            benteng_iso20022::pacs002(&self.bic, &header, &statuses).map_err(|e| e.to_string())?;
        let signed = self.signer.sign(&unsigned).map_err(|e| e.to_string())?;
        Ok((format!("{}.xml", header.message_id), signed.into_bytes()))
    }
}
