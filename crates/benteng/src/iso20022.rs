//! ISO 20022 wiring: the platform's identity from `[iso20022]`, its XMLDSig signing keys (RSA
//! 3072, PKCS#8 wrapped by the KEK like the data keys, in `iso20022_signing_keys`), signed
//! pacs.008 messages for stored transfers (kept byte for byte in `iso20022_messages`), and the
//! verifier with the registered counterparties. The message format and the signature profile
//! are in `crates/iso20022`.

use anyhow::{Context, bail};
use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use benteng_core::audit::AuditContext;
use benteng_core::country::CountryCode;
use benteng_core::iban::Iban;
use benteng_core::ids::TransferId;
use benteng_core::payments::recipient::BankAccount;
use benteng_core::payments::transfer::TransferStatus;
use benteng_core::text::Bic;
use benteng_iso20022::{
    CreditTransfer, Creditor, Header, MessageId, MessageKind, Platform, PostalAddress, Registry,
    Signer, Verifier,
};
use benteng_store::{StoreError, StoredIsoMessage, StoredSigningKey};
use benteng_vault::Aad;
use secrecy::ExposeSecret;
use zeroize::Zeroizing;

use crate::Services;
use crate::config::Iso20022Config;

/// How long a signing certificate is valid (the key registry's yearly rotation).
const CERTIFICATE_DAYS: i64 = 365;

pub fn settings(services: &Services) -> anyhow::Result<&Iso20022Config> {
    services
        .config
        .iso20022
        .as_ref()
        .context("ISO 20022 is not configured (no [iso20022] section)")
}

/// The platform's identity, parsed from configuration.
pub fn platform(settings: &Iso20022Config) -> anyhow::Result<Platform> {
    Ok(Platform {
        name: settings.name.clone(),
        bic: Bic::parse(&settings.bic).context("iso20022.bic")?,
        iban: Iban::parse(&settings.iban).context("iso20022.iban")?,
        address: PostalAddress {
            street_name: settings.street_name.clone(),
            building_number: settings.building_number.clone(),
            post_code: settings.post_code.clone(),
            town_name: settings.town_name.clone(),
            country: CountryCode::parse(&settings.country).context("iso20022.country")?,
        },
    })
}

fn key_aad(id: &str) -> Vec<u8> {
    format!("iso20022-signing-key:{id}").into_bytes()
}

/// Creates a new RSA-3072 signing key and its self-signed certificate; it signs from now on.
/// Older keys stay (their certificates still verify what they signed) until retired.
pub async fn create_signing_key(
    services: &Services,
    context: &AuditContext,
) -> anyhow::Result<StoredSigningKey> {
    let settings = settings(services)?;
    let key = rcgen::KeyPair::generate_rsa_for(&rcgen::PKCS_RSA_SHA256, rcgen::RsaKeySize::_3072)
        .context("generating the RSA key")?;
    let pkcs8 = Zeroizing::new(key.serialize_der());
    let mut params = rcgen::CertificateParams::new(Vec::<String>::new())?;
    params.distinguished_name.push(
        rcgen::DnType::CommonName,
        format!("{} ISO 20022 signing", settings.bic),
    );
    params
        .distinguished_name
        .push(rcgen::DnType::OrganizationName, settings.name.clone());
    let now = services.clock.now();
    params.not_before = now - time::Duration::minutes(5);
    params.not_after = now + time::Duration::days(CERTIFICATE_DAYS);
    let certificate = params
        .self_signed(&key)
        .context("self-signing the certificate")?;
    // The pair must sign before it is stored.
    Signer::new(&pkcs8, certificate.der()).context("the new signing key")?;

    let id = uuid::Uuid::new_v4().to_string();
    let kek = services.protection.keyring.current_kek();
    let wrapped = kek
        .wrap(&pkcs8, &key_aad(&id))
        .map_err(|e| anyhow::anyhow!("wrapping the signing key: {e}"))?;
    let stored = StoredSigningKey {
        id,
        kek_id: kek.id().to_owned(),
        wrapped_key: URL_SAFE_NO_PAD.encode(wrapped),
        certificate: STANDARD.encode(certificate.der()),
        created_at: now,
        retired_at: None,
    };
    let fingerprint = hex_sha256(certificate.der());
    services
        .store
        .insert_iso20022_signing_key(&stored, &fingerprint, context)
        .await?;
    Ok(stored)
}

pub fn hex_sha256(bytes: &[u8]) -> String {
    aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, bytes)
        .as_ref()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

pub fn certificate_der(key: &StoredSigningKey) -> anyhow::Result<Vec<u8>> {
    STANDARD
        .decode(&key.certificate)
        .context("stored signing certificate is not base64")
}

/// The newest signing key, unwrapped.
pub async fn active_signer(services: &Services) -> anyhow::Result<(String, Signer)> {
    let keys = services.store.iso20022_signing_keys().await?;
    let Some(key) = keys.iter().rev().find(|k| k.retired_at.is_none()) else {
        bail!("no ISO 20022 signing key: create one with `benteng iso20022 key-create`");
    };
    let kek = services.protection.keyring.current_kek();
    if kek.id() != key.kek_id {
        bail!(
            "signing key {} is wrapped by KEK {}, not the current KEK {}",
            key.id,
            key.kek_id,
            kek.id()
        );
    }
    let wrapped = URL_SAFE_NO_PAD
        .decode(&key.wrapped_key)
        .context("stored signing key is not base64url")?;
    let pkcs8 = kek
        .unwrap(&wrapped, &key_aad(&key.id))
        .map_err(|e| anyhow::anyhow!("unwrapping signing key {}: {e}", key.id))?;
    let signer = Signer::new(&pkcs8, &certificate_der(key)?)
        .with_context(|| format!("signing key {}", key.id))?;
    Ok((key.id.clone(), signer))
}

/// The registry: every configured counterparty's certificate, plus the platform's own signing
/// certificates (so its own messages can be checked).
pub async fn verifier(services: &Services) -> anyhow::Result<Verifier> {
    let settings = settings(services)?;
    let mut registry = Registry::new();
    for counterparty in &settings.counterparties {
        let bytes = std::fs::read(&counterparty.certificate_file)
            .with_context(|| format!("reading {}", counterparty.certificate_file.display()))?;
        let der = pem_or_der(&bytes)
            .with_context(|| format!("{}", counterparty.certificate_file.display()))?;
        registry.register(&counterparty.name, &der)?;
    }
    for key in services.store.iso20022_signing_keys().await? {
        if key.retired_at.is_none() {
            registry.register("benteng (this platform)", &certificate_der(&key)?)?;
        }
    }
    Ok(Verifier::new(registry).with_max_bytes(settings.max_message_bytes))
}

fn pem_or_der(bytes: &[u8]) -> anyhow::Result<Vec<u8>> {
    if bytes.starts_with(b"-----BEGIN") {
        let text = std::str::from_utf8(bytes).context("PEM is not text")?;
        let body: String = text
            .lines()
            .skip_while(|l| !l.starts_with("-----BEGIN CERTIFICATE-----"))
            .skip(1)
            .take_while(|l| !l.starts_with("-----END"))
            .collect();
        return STANDARD.decode(body).context("PEM body is not base64");
    }
    Ok(bytes.to_vec())
}

/// The signed pacs.008 of a stored transfer: the stored bytes if it was signed before,
/// otherwise rendered, signed and stored now (once: a concurrent render loses the race and
/// reads the winner's bytes back).
pub async fn pacs008_for_transfer(
    services: &Services,
    transfer_id: TransferId,
    context: &AuditContext,
) -> anyhow::Result<String> {
    let kind = MessageKind::Pacs008.definition();
    if let Some(stored) = services
        .store
        .iso20022_message_for_transfer(transfer_id, kind)
        .await?
    {
        return Ok(stored.signed_xml);
    }
    let settings = settings(services)?;
    let transfer = match services.store.transfer_by_id(transfer_id).await {
        Err(StoreError::NotFound) => bail!("no such transfer"),
        other => other?,
    };
    if !matches!(
        transfer.status,
        TransferStatus::Approved | TransferStatus::Submitted
    ) {
        bail!(
            "transfer is {}; only approved or submitted transfers are sent",
            transfer.status
        );
    }
    let recipient = services
        .store
        .recipient(
            transfer.tenant_id,
            transfer.environment,
            transfer.recipient_id,
        )
        .await
        .context("the transfer's recipient")?;
    let (tenant_text, recipient_text) = (
        transfer.tenant_id.to_string(),
        transfer.recipient_id.to_string(),
    );
    let account = services
        .protection
        .keyring
        .decrypt_string(
            &recipient.bank_account_sealed,
            &Aad::new(&tenant_text, "recipients", "bank_account", &recipient_text),
        )
        .map_err(|e| anyhow::anyhow!("unsealing the recipient's account: {e}"))?;
    let Some(BankAccount::Iban(iban)) = BankAccount::from_canonical(account.expose_secret()) else {
        bail!("the recipient's account is not an IBAN; ISO 20022 carries IBAN transfers only");
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
    let now = services.clock.now();
    let header = Header {
        message_id: MessageId::new(),
        created_at: now,
        settlement_date: now.date(),
        to: Bic::parse(&settings.counterparty_bic).context("iso20022.counterparty_bic")?,
    };
    let unsigned = benteng_iso20022::pacs008(&platform(settings)?, &header, &credit)?;
    let (key_id, signer) = active_signer(services).await?;
    let signed = signer.sign(&unsigned)?;
    let signed_xml = String::from_utf8(signed.into_bytes()).context("signed message is UTF-8")?;
    let stored = StoredIsoMessage {
        message_id: header.message_id.to_string(),
        kind: kind.to_owned(),
        direction: "out".to_owned(),
        transfer_id: Some(transfer_id),
        tenant_id: Some(transfer.tenant_id),
        signing_key_id: Some(key_id),
        counterparty: Some(settings.counterparty_bic.clone()),
        signed_xml,
        created_at: now,
    };
    match services
        .store
        .insert_iso20022_message(&stored, context)
        .await
    {
        Ok(()) => Ok(stored.signed_xml),
        Err(StoreError::Conflict) => services
            .store
            .iso20022_message_for_transfer(transfer_id, kind)
            .await?
            .map(|m| m.signed_xml)
            .context("a concurrent render stored a message, but it cannot be read"),
        Err(e) => Err(e.into()),
    }
}

/// A payments layer for commands that only move transfers (`iso20022 ingest`): moves use the
/// store, the clock and the quote, never screening or volume caps.
pub fn payments_for_moves(services: &Services) -> anyhow::Result<benteng_payments::Payments> {
    use std::sync::Arc;
    let config = &services.config;
    Ok(benteng_payments::Payments::new(
        services.store.clone(),
        benteng_payments::PaymentsConfig {
            rates: crate::rates::table(&config.payments.per_usd).context("payments.per_usd")?,
            quote_ttl: std::time::Duration::from_secs(config.payments.quote_ttl_secs),
            fee_bps: config.payments.fee_bps,
            compliance: Arc::new(benteng_core::payments::compliance::ApproveAll),
            keyring: services.protection.keyring.clone(),
            blind_index: services.protection.blind_index.clone(),
            rail: "sandbox".to_owned(),
            caps: Arc::new(benteng_payments::volume::NoCaps),
            clock: services.clock.clone(),
        },
    ))
}

/// Records that an incoming message was refused (a security event), naming it by the SHA-256
/// of its bytes since nothing in it can be trusted.
async fn refuse(
    services: &Services,
    bytes: &[u8],
    context: &AuditContext,
    reason: String,
) -> anyhow::Error {
    let event = benteng_core::audit::AuditEvent::new(
        context,
        "iso20022.status_report_refused",
        benteng_core::audit::Retention::Security,
        ("iso20022_file", hex_sha256(bytes)),
    )
    .change("reason", serde_json::Value::Null, reason.clone().into());
    if let Err(error) = services.store.audit(&event).await {
        tracing::error!(%error, "recording a refused status report");
    }
    anyhow::anyhow!("refused: {reason}")
}

/// Verifies a pacs.002 and moves the transfers it reports on: ACSC/ACCC → COMPLETED, RJCT →
/// FAILED with the reason code, anything else leaves the transfer where it is. All statuses
/// are checked before anything moves; a refused report moves nothing and is recorded as a
/// security event. A report already ingested (same `BizMsgIdr`) does nothing again.
/// Returns one line per transaction saying what happened.
pub async fn ingest_status_report(
    services: &Services,
    payments: &benteng_payments::Payments,
    bytes: &[u8],
    context: &AuditContext,
) -> anyhow::Result<Vec<String>> {
    use benteng_iso20022::{Payload, StatusOutcome};

    let verifier = verifier(services).await?;
    let verified = match verifier.verify(bytes) {
        Ok(verified) => verified,
        Err(error) => return Err(refuse(services, bytes, context, error.to_string()).await),
    };
    let Payload::StatusReport { statuses, .. } = &verified.payload else {
        return Err(refuse(
            services,
            bytes,
            context,
            format!("a {} is not a status report", verified.kind),
        )
        .await);
    };
    let message_id = verified.business_message_id.to_string();
    if let Some(earlier) = services.store.iso20022_message(&message_id).await? {
        if earlier.direction == "in" {
            return Ok(vec![format!(
                "{message_id} was already ingested; nothing done"
            )]);
        }
        return Err(refuse(
            services,
            bytes,
            context,
            format!("message id {message_id} is one of ours"),
        )
        .await);
    }

    // Check every status before moving anything.
    let mut plan = Vec::with_capacity(statuses.len());
    for status in statuses {
        let original = status.original_message_id.to_string();
        let sent = services
            .store
            .iso20022_message(&original)
            .await?
            .filter(|m| m.direction == "out" && m.kind == status.original_kind.definition());
        let Some(sent) = sent else {
            return Err(refuse(
                services,
                bytes,
                context,
                format!("unknown original message id {original}"),
            )
            .await);
        };
        if sent.counterparty.as_deref() != verified.from_bic.as_deref() {
            return Err(refuse(
                services,
                bytes,
                context,
                format!(
                    "the report comes from {} but {original} was sent to {}",
                    verified.from_bic.as_deref().unwrap_or("(no BIC)"),
                    sent.counterparty.as_deref().unwrap_or("(unknown)")
                ),
            )
            .await);
        }
        let Some(transfer_id) = sent.transfer_id else {
            return Err(refuse(
                services,
                bytes,
                context,
                format!("{original} carries no transfer"),
            )
            .await);
        };
        if status.original_end_to_end_id != benteng_iso20022::message::end_to_end_id(&transfer_id) {
            return Err(refuse(
                services,
                bytes,
                context,
                format!("end-to-end id is not the one {original} carried"),
            )
            .await);
        }
        plan.push((transfer_id, status));
    }

    let mut lines = Vec::with_capacity(plan.len());
    for (transfer_id, status) in plan {
        let transfer = services.store.transfer_by_id(transfer_id).await?;
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
            benteng_payments::moves::Moved::Moved => {
                lines.push(format!("{transfer_id}: {} → {to}", transfer.status))
            }
            benteng_payments::moves::Moved::Overtaken => {
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
        signed_xml: String::from_utf8(bytes.to_vec()).context("verified message is UTF-8")?,
        created_at: services.clock.now(),
    };
    match services
        .store
        .insert_iso20022_message(&stored, context)
        .await
    {
        Ok(()) | Err(StoreError::Conflict) => Ok(lines),
        Err(e) => Err(e.into()),
    }
}
