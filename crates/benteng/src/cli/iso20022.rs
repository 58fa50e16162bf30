//! `benteng iso20022 …`: the signed pacs.008 or pain.001 batch carrying a stored transfer,
//! batches made at once (a cut-off), verification of a
//! signed message file with the reason it is refused, ingestion of a status report, and the
//! certificate to register with counterparties. Signing keys are made and listed by the key
//! registry: `benteng keys rotate --purpose iso20022`, `benteng keys status`.

use std::io::Write;
use std::path::PathBuf;

use anyhow::Context;
use benteng_iso20022::{MessageId, Payload, VerifyError};
use benteng_rails::iso20022::Outgoing;
use clap::Subcommand;

use super::cli_context;
use crate::{Services, iso20022};

#[derive(Debug, Subcommand)]
pub enum Iso20022Command {
    /// Print a signed message as stored: given a transfer id, the message carrying it (its
    /// pacs.008, signed and stored on first use with `message = "pacs.008"`, or the pain.001
    /// batch it is in); given a message id (`B` and 32 hex digits), that message we sent.
    Render {
        /// A transfer's id, or a message id (`BizMsgIdr`).
        id: String,
    },
    /// With `message = "pain.001"`: make the pain.001 batches of every submitted transfer that
    /// waits for one now, without waiting for the batch window (a cut-off). Prints each batch's
    /// message id and transfer count; the server's rail hands them over on its next pass.
    Batch,
    /// Verify a signed message (pacs.002, pacs.004, pacs.008, pain.001): the three references, the
    /// algorithms, and a registered signer. Exits non-zero naming the check that failed.
    Verify { file: PathBuf },
    /// Verify a signed pacs.002 or pacs.004 and move the transfers it reports on (settled →
    /// COMPLETED, rejected → FAILED with the reason code, returned → RETURNED with the ledger
    /// reversal). A refused report moves nothing and is recorded
    /// as a security event; one already ingested does nothing again.
    Ingest { file: PathBuf },
    /// Print the newest signing key's certificate (PEM), for counterparties to register (keys
    /// are made by `benteng keys rotate --purpose iso20022`).
    KeyCert,
}

pub async fn run(services: Services, command: Iso20022Command) -> anyhow::Result<()> {
    match command {
        Iso20022Command::Render { id } => {
            let context = iso20022::context(&services, Vec::new())?;
            let message = if id.starts_with('B') {
                let message_id =
                    MessageId::parse(&id).ok_or_else(|| anyhow::anyhow!("not a message id"))?;
                context.sent_message(message_id.as_str()).await?
            } else {
                let transfer_id = id.parse().map_err(|_| {
                    anyhow::anyhow!("not a transfer id (a UUID) or a message id (B…)")
                })?;
                context
                    .message_for_transfer(transfer_id, &cli_context())
                    .await?
            };
            std::io::stdout()
                .write_all(message.signed_xml.as_bytes())
                .context("writing the message")?;
            Ok(())
        }
        Iso20022Command::Batch => {
            let context = iso20022::context(&services, Vec::new())?;
            let Outgoing::Pain001(batching) = context.outgoing else {
                anyhow::bail!(
                    "this counterparty is sent pacs.008 per transfer (iso20022.message); \
                     there is nothing to batch"
                );
            };
            let payments = iso20022::payments_for_moves(&services)?;
            let made = context
                .make_batches(&payments, batching, true, &cli_context())
                .await?;
            if made.is_empty() {
                println!("no transfer waits for a batch");
            }
            for batch in made {
                let count = services
                    .store
                    .iso20022_batch_transfers(&batch.message_id)
                    .await?
                    .len();
                println!("{} pain.001 with {count} transfer(s)", batch.message_id);
            }
            Ok(())
        }
        Iso20022Command::Verify { file } => {
            let verifier = iso20022::context(&services, Vec::new())?.verifier().await?;
            let limit = iso20022::settings(&services)?.max_message_bytes;
            let size = std::fs::metadata(&file)
                .with_context(|| format!("reading {}", file.display()))?
                .len();
            if size > limit as u64 {
                anyhow::bail!(
                    "refused: {}",
                    VerifyError::TooLarge {
                        size: usize::try_from(size).unwrap_or(usize::MAX),
                        limit
                    }
                );
            }
            let bytes =
                std::fs::read(&file).with_context(|| format!("reading {}", file.display()))?;
            let verified = verifier
                .verify(&bytes)
                .map_err(|e| anyhow::anyhow!("refused: {e}"))?;
            println!(
                "verified: {} {} signed by {}",
                verified.kind, verified.business_message_id, verified.counterparty
            );
            match verified.payload {
                Payload::StatusReport { statuses, .. } => {
                    for s in statuses {
                        println!(
                            "  {} of {} ({}): {}{}",
                            s.original_end_to_end_id,
                            s.original_message_id,
                            s.original_kind,
                            s.status,
                            s.reason.map(|r| format!(" reason {r}")).unwrap_or_default()
                        );
                    }
                }
                Payload::Returns { returns, .. } => {
                    for r in returns {
                        println!(
                            "  {} of {} ({}): returned {} reason {}",
                            r.original_end_to_end_id,
                            r.original_message_id,
                            r.original_kind,
                            r.amount,
                            r.reason
                        );
                    }
                }
                Payload::CreditTransfers { end_to_end_ids, .. } => {
                    println!(
                        "  {} transaction(s): {}",
                        end_to_end_ids.len(),
                        end_to_end_ids.join(", ")
                    );
                }
            }
            Ok(())
        }
        Iso20022Command::Ingest { file } => {
            let limit = iso20022::settings(&services)?.max_message_bytes;
            let size = std::fs::metadata(&file)
                .with_context(|| format!("reading {}", file.display()))?
                .len();
            if size > limit as u64 {
                let reason = VerifyError::TooLarge {
                    size: usize::try_from(size).unwrap_or(usize::MAX),
                    limit,
                }
                .to_string();
                let context = iso20022::context(&services, Vec::new())?;
                return Err(context
                    .record_refusal(file.display().to_string(), &cli_context(), reason)
                    .await
                    .into());
            }
            let bytes =
                std::fs::read(&file).with_context(|| format!("reading {}", file.display()))?;
            let payments = iso20022::payments_for_moves(&services)?;
            let context = iso20022::context(&services, Vec::new())?;
            for line in context
                .ingest(&payments, &bytes, &cli_context(), None)
                .await?
            {
                println!("{line}");
            }
            Ok(())
        }
        Iso20022Command::KeyCert => {
            let keys = services.store.iso20022_signing_keys().await?;
            let newest = benteng_rails::iso20022::key_timeline(&keys, services.clock.now())
                .into_iter()
                .rev()
                .find(|(_, place)| place.phase.is_live())
                .map(|(key, _)| key)
                .context(
                    "no ISO 20022 signing key: create one with `benteng keys rotate --purpose iso20022`",
                )?;
            print_pem(&iso20022::certificate_der(newest)?);
            Ok(())
        }
    }
}

pub(super) fn print_pem(der: &[u8]) {
    use base64::Engine;
    let body = base64::engine::general_purpose::STANDARD.encode(der);
    println!("-----BEGIN CERTIFICATE-----");
    for chunk in body.as_bytes().chunks(64) {
        println!("{}", String::from_utf8_lossy(chunk));
    }
    println!("-----END CERTIFICATE-----");
}
