//! ISO 20022 wiring: the platform's identity from `[iso20022]`, its XMLDSig signing keys (RSA
//! 3072, PKCS#8 wrapped by the KEK like the data keys, in `iso20022_signing_keys`, rotated with
//! an overlap), the registered counterparties (signing certificates, TLS client certificates),
//! what the counterparty is sent (pacs.008 per transfer or pain.001 batches), and the rail (file
//! drops or HTTPS). The message format and the signature profile are in
//! `crates/iso20022`; rendering, ingestion and the rail in `crates/rails/src/iso20022.rs`.

use anyhow::Context;
use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use benteng_core::audit::AuditContext;
use benteng_core::country::CountryCode;
use benteng_core::iban::Iban;
use benteng_core::text::Bic;
use benteng_iso20022::{Platform, PostalAddress, Signer};
use benteng_store::StoredSigningKey;
use zeroize::Zeroizing;

use benteng_rails::iso20022::{Batching, Outgoing};

use crate::Services;
use crate::config::{Iso20022Config, OutgoingMessage};

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

/// `benteng keys rotate --purpose iso20022`: a new RSA-3072 signing key and its self-signed
/// certificate. The first key signs at once; a later one signs `KEY_OVERLAP` from now (its
/// certificate goes to the counterparties first), its predecessor signs until then and is
/// still accepted for `KEY_OVERLAP` after that.
pub async fn rotate_signing_key(
    services: &Services,
    context: &AuditContext,
) -> anyhow::Result<StoredSigningKey> {
    let settings = settings(services)?;
    let existing = services.store.iso20022_signing_keys().await?;
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

    let live = benteng_rails::iso20022::key_timeline(&existing, now)
        .iter()
        .any(|(_, place)| place.phase.is_live());
    let signs_from = if live {
        now + benteng_rails::iso20022::KEY_OVERLAP
    } else {
        now
    };
    let id = uuid::Uuid::new_v4().to_string();
    let kek = services.protection.keyring.current_kek();
    let wrapped = kek
        .wrap(&pkcs8, &benteng_rails::iso20022::signing_key_aad(&id))
        .map_err(|e| anyhow::anyhow!("wrapping the signing key: {e}"))?;
    let stored = StoredSigningKey {
        id,
        kek_id: kek.id().to_owned(),
        wrapped_key: URL_SAFE_NO_PAD.encode(wrapped),
        certificate: STANDARD.encode(certificate.der()),
        created_at: now,
        signs_from,
        retired_at: None,
    };
    let fingerprint = hex_sha256(certificate.der());
    services
        .store
        .insert_iso20022_signing_key(&stored, &fingerprint, context)
        .await?;
    Ok(stored)
}

pub use benteng_rails::iso20022::hex_sha256;

pub fn certificate_der(key: &StoredSigningKey) -> anyhow::Result<Vec<u8>> {
    STANDARD
        .decode(&key.certificate)
        .context("stored signing certificate is not base64")
}

/// The shared ISO 20022 context (the rail's, the CLI's): identity, store, keyring, and the
/// registered counterparties read from their certificate files, plus `extra` ones (the
/// simulated counterparty).
pub fn context(
    services: &Services,
    extra: Vec<(String, Vec<u8>)>,
) -> anyhow::Result<benteng_rails::iso20022::Iso20022> {
    let settings = settings(services)?;
    let mut counterparties = extra;
    let mut client_certificates = Vec::new();
    let read = |path: &std::path::Path| -> anyhow::Result<Vec<u8>> {
        let bytes = std::fs::read(path).with_context(|| format!("reading {}", path.display()))?;
        pem_or_der(&bytes).with_context(|| format!("{}", path.display()))
    };
    for counterparty in &settings.counterparties {
        counterparties.push((
            counterparty.name.clone(),
            read(&counterparty.certificate_file)?,
        ));
        if let Some(path) = &counterparty.client_certificate_file {
            client_certificates.push((counterparty.name.clone(), hex_sha256(&read(path)?)));
        }
    }
    Ok(benteng_rails::iso20022::Iso20022 {
        store: services.store.clone(),
        keyring: services.protection.keyring.clone(),
        clock: services.clock.clone(),
        platform: platform(settings)?,
        counterparty_bic: Bic::parse(&settings.counterparty_bic)
            .context("iso20022.counterparty_bic")?,
        counterparties,
        client_certificates,
        max_message_bytes: settings.max_message_bytes,
        outgoing: outgoing(settings)?,
    })
}

/// `iso20022.message` and the batch settings, checked.
pub fn outgoing(settings: &Iso20022Config) -> anyhow::Result<Outgoing> {
    Ok(match settings.message {
        OutgoingMessage::Pacs008 => Outgoing::Pacs008,
        OutgoingMessage::Pain001 => {
            let max = benteng_iso20022::message::MAX_BATCH;
            anyhow::ensure!(
                (1..=max).contains(&settings.batch_max_transfers),
                "iso20022.batch_max_transfers must be 1 to {max}"
            );
            let window = i64::try_from(settings.batch_window_ms)
                .ok()
                .filter(|ms| *ms <= 86_400_000)
                .context("iso20022.batch_window_ms must be at most 86400000 (a day)")?;
            Outgoing::Pain001(Batching {
                window: time::Duration::milliseconds(window),
                max_transfers: settings.batch_max_transfers,
            })
        }
    })
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

/// A payments layer for commands that only move transfers (`iso20022 ingest`, `case approve`):
/// moves use the store, the clock, the quote and the case policy (how long a proposal waits),
/// never screening or volume caps.
pub fn payments_for_moves(services: &Services) -> anyhow::Result<benteng_payments::Payments> {
    use std::sync::Arc;
    let config = &services.config;
    let payments = benteng_payments::Payments::new(
        services.store.clone(),
        benteng_payments::PaymentsConfig {
            rates: crate::rates::table(&config.payments.per_usd).context("payments.per_usd")?,
            rules: crate::monitoring::initial(config.monitoring.rules_file.as_deref())?,
            quote_ttl: std::time::Duration::from_secs(config.payments.quote_ttl_secs),
            fee_bps: config.payments.fee_bps,
            compliance: Arc::new(benteng_core::payments::compliance::ApproveAll),
            keyring: services.protection.keyring.clone(),
            blind_index: services.protection.blind_index.clone(),
            rail: "sandbox".to_owned(),
            caps: Arc::new(benteng_payments::volume::NoCaps),
            clock: services.clock.clone(),
        },
    );
    Ok(payments.with_case_policy(config.cases.policy()?))
}

/// Whether the ISO 20022 rail runs: an outbox or an HTTPS endpoint is configured.
pub fn rail_configured(config: &crate::Config) -> bool {
    config
        .iso20022
        .as_ref()
        .is_some_and(|s| s.outbox_dir.is_some() || s.outbound_url.is_some())
}

/// The shared context the server's rail and its mTLS route use, with the simulated
/// counterparty's signer when `simulate_counterparty` is on (registered as "simulated
/// counterparty").
pub fn server_context(
    services: &Services,
) -> anyhow::Result<(
    std::sync::Arc<benteng_rails::iso20022::Iso20022>,
    Option<Signer>,
)> {
    let settings = settings(services)?;
    let mut extra = Vec::new();
    let mut simulated = None;
    if settings.simulate_counterparty {
        tracing::warn!("iso20022.simulate_counterparty: a simulated bank answers the outbox");
        let key =
            rcgen::KeyPair::generate_rsa_for(&rcgen::PKCS_RSA_SHA256, rcgen::RsaKeySize::_3072)?;
        let mut params = rcgen::CertificateParams::new(Vec::<String>::new())?;
        params.distinguished_name.push(
            rcgen::DnType::CommonName,
            format!("{} simulated counterparty", settings.counterparty_bic),
        );
        let certificate = params.self_signed(&key)?;
        let pkcs8 = Zeroizing::new(key.serialize_der());
        let signer = Signer::new(&pkcs8, certificate.der())?;
        extra.push((
            "simulated counterparty".to_owned(),
            certificate.der().to_vec(),
        ));
        simulated = Some(signer);
    }
    Ok((std::sync::Arc::new(context(services, extra)?), simulated))
}

/// Starts the ISO 20022 rail's worker (outbox or HTTPS endpoint, inbox if configured), and the
/// simulated counterparty on the file drops when configured.
pub fn spawn_rail(
    services: &Services,
    iso: std::sync::Arc<benteng_rails::iso20022::Iso20022>,
    simulated: Option<Signer>,
    payments: std::sync::Arc<benteng_payments::Payments>,
) -> anyhow::Result<()> {
    use std::sync::Arc;
    use std::time::Duration;

    use benteng_rails::iso20022::{Iso20022Rail, Outbound, SimulatedCounterparty};

    let settings = settings(services)?;
    let poll_interval = Duration::from_millis(services.config.rail.poll_interval_ms.max(10));
    let outbound = match (&settings.outbound_url, &settings.outbox_dir) {
        (Some(url), None) => {
            anyhow::ensure!(
                url.starts_with("https://"),
                "iso20022.outbound_url must be an https:// URL"
            );
            Outbound::Https {
                client: benteng_transport::OutboundClient::new(&settings.outbound_tls)
                    .context("iso20022.outbound_tls")?,
                url: url.clone(),
            }
        }
        (None, Some(outbox)) => Outbound::FileDrop(outbox.clone()),
        _ => anyhow::bail!("iso20022: set exactly one of outbox_dir and outbound_url"),
    };
    if let Some(signer) = simulated {
        match (&settings.outbox_dir, &settings.inbox_dir) {
            (Some(outbox), Some(inbox)) => {
                SimulatedCounterparty {
                    iso: iso.clone(),
                    signer,
                    bic: Bic::parse(&settings.counterparty_bic)
                        .context("iso20022.counterparty_bic")?,
                }
                .spawn_file_drop(
                    outbox.clone(),
                    inbox.clone(),
                    Duration::from_millis(settings.simulated_delay_ms),
                    poll_interval,
                );
            }
            _ => anyhow::bail!(
                "iso20022.simulate_counterparty plays the bank on the file drops: set outbox_dir \
                 and inbox_dir"
            ),
        }
    }
    let batching = matches!(iso.outgoing, Outgoing::Pain001(_));
    let rail = Arc::new(Iso20022Rail {
        iso,
        payments: payments.clone(),
        outbound,
        inbox: settings.inbox_dir.clone(),
    });
    rail.clone().spawn_inbox(poll_interval);
    if batching {
        rail.clone().spawn_batcher(poll_interval);
    }
    benteng_rails::RailWorker {
        payments,
        rail,
        poll_interval,
        batch: 100,
    }
    .spawn();
    Ok(())
}
