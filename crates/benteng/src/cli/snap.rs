//! `benteng snap …`: SNAP partners (client id, RSA public key, client secret) and their tokens.

use std::path::PathBuf;

use anyhow::{Context, bail};
use benteng_auth::snap::{BASE62, CLIENT_SECRET_CHARS, seal_client_secret};
use benteng_crypto::ExposeSecret;
use benteng_snap::PartnerPublicKey;
use benteng_store::{SnapPartner, StoreError};
use clap::Subcommand;

use super::{cli_context, parse_tenant_id, timestamp};
use crate::Services;

#[derive(Debug, Subcommand)]
pub enum SnapCommand {
    /// Manage SNAP partners.
    #[command(subcommand)]
    Partner(PartnerCommand),
    /// Manage SNAP access tokens.
    #[command(subcommand)]
    Token(TokenCommand),
}

#[derive(Debug, Subcommand)]
pub enum PartnerCommand {
    /// Register a partner of a tenant with its RSA public key (PEM, ≥ 2048 bits); prints the
    /// client secret once (it signs the partner's requests; stored sealed).
    Add {
        #[arg(long)]
        tenant: String,
        /// The partner's client id: X-CLIENT-KEY of token requests, X-PARTNER-ID of the others.
        #[arg(long)]
        client_id: String,
        /// PEM file: SPKI `PUBLIC KEY` or PKCS#1 `RSA PUBLIC KEY`.
        #[arg(long)]
        public_key: PathBuf,
    },
    /// List partners (of one tenant, if given); never the secret.
    List {
        #[arg(long)]
        tenant: Option<String>,
    },
    /// Revoke a partner and every token it holds; effective at once on every instance.
    Revoke { client_id: String },
    /// Send the partner SNAP transfer-status notifications of its SNAP transfers (completed,
    /// failed, returned, blocked) at `URL`: a webhook endpoint of the partner's tenant, SNAP's
    /// format and SHA256withRSA signature, the same delivery engine. Prints the endpoint id.
    Notify {
        client_id: String,
        #[arg(long)]
        url: String,
    },
}

#[derive(Debug, Subcommand)]
pub enum TokenCommand {
    /// Revoke every live access token of a partner (the partner may request new ones).
    Revoke { client_id: String },
}

fn valid_client_id(client_id: &str) -> bool {
    benteng_snap::headers::validate_client_key(client_id).is_ok()
        && benteng_snap::headers::validate_partner_id(client_id).is_ok()
}

pub async fn run(services: Services, command: SnapCommand) -> anyhow::Result<()> {
    match command {
        SnapCommand::Partner(PartnerCommand::Add {
            tenant,
            client_id,
            public_key,
        }) => {
            let tenant = parse_tenant_id(&tenant)?;
            if !valid_client_id(&client_id) {
                bail!("the client id must be 1–36 visible ASCII characters without '|'");
            }
            let pem = std::fs::read_to_string(&public_key)
                .with_context(|| format!("reading {}", public_key.display()))?;
            let key = PartnerPublicKey::from_pem(&pem)
                .map_err(|e| anyhow::anyhow!("the public key is refused: {e}"))?;
            let id = uuid::Uuid::new_v4();
            let secret = benteng_crypto::random_string(BASE62, CLIENT_SECRET_CHARS)?;
            let sealed = seal_client_secret(&services.protection.keyring, tenant, id, &secret)
                .context("sealing the client secret")?;
            let partner = SnapPartner {
                id,
                tenant_id: tenant,
                client_id,
                public_key_pem: pem,
                key_fingerprint: key.fingerprint_hex(),
                client_secret_sealed: sealed,
                created_at: benteng_core::now(),
                revoked_at: None,
            };
            match services
                .store
                .insert_snap_partner(&partner, &cli_context())
                .await
            {
                Err(StoreError::NotFound) => bail!("no such tenant"),
                Err(StoreError::Conflict) => bail!("this client id is already registered"),
                other => other?,
            }
            eprintln!(
                "partner {} registered (key {} bits, SHA-256 {}); the client secret follows, \
                 shown only now:",
                partner.client_id,
                key.bits(),
                partner.key_fingerprint
            );
            println!("{}", secret.expose_secret());
            Ok(())
        }
        SnapCommand::Partner(PartnerCommand::Notify { client_id, url }) => {
            let partner = match services.store.snap_partner_by_client_id(&client_id).await {
                Err(StoreError::NotFound) => bail!("no such partner"),
                other => other?,
            };
            let webhooks = services.webhooks()?;
            let url = webhooks
                .parse_url(&url)
                .map_err(|e| anyhow::anyhow!("the URL {e}"))?;
            let new = benteng_webhooks::NewEndpoint {
                url,
                event_types:
                    "transfer.completed transfer.failed transfer.returned transfer.blocked"
                        .parse()
                        .map_err(|e| anyhow::anyhow!("{e}"))?,
                description: format!("SNAP notifications of partner {client_id}"),
                alg: benteng_crypto::jws::JwsAlg::Rs256,
                snap_partner: Some(partner.id),
            };
            let endpoint = webhooks
                .create_endpoint(
                    partner.tenant_id,
                    benteng_core::api_key::KeyEnvironment::Live,
                    new,
                    &cli_context(),
                )
                .await
                .map_err(|e| anyhow::anyhow!("{e}"))?;
            println!("{}", endpoint.id);
            Ok(())
        }
        SnapCommand::Partner(PartnerCommand::List { tenant }) => {
            let tenant = tenant.as_deref().map(parse_tenant_id).transpose()?;
            println!(
                "{:<36}  {:<36}  {:<16}  {:<25}  REVOKED",
                "CLIENT ID", "TENANT", "KEY SHA-256", "ADDED"
            );
            for partner in services.store.snap_partners(tenant).await? {
                println!(
                    "{:<36}  {:<36}  {:<16}  {:<25}  {}",
                    partner.client_id,
                    partner.tenant_id,
                    &partner.key_fingerprint[..16.min(partner.key_fingerprint.len())],
                    timestamp(partner.created_at),
                    partner.revoked_at.map(timestamp).unwrap_or_default()
                );
            }
            Ok(())
        }
        SnapCommand::Partner(PartnerCommand::Revoke { client_id }) => {
            match services
                .snap
                .revoke_snap_partner(&client_id, benteng_core::now(), &cli_context())
                .await
            {
                Err(StoreError::NotFound) => bail!("no such partner, or already revoked"),
                other => other?,
            };
            eprintln!("partner {client_id} revoked with its tokens");
            Ok(())
        }
        SnapCommand::Token(TokenCommand::Revoke { client_id }) => {
            let revoked = match services
                .snap
                .revoke_snap_tokens(&client_id, benteng_core::now(), &cli_context())
                .await
            {
                Err(StoreError::NotFound) => bail!("no such partner"),
                other => other?,
            };
            println!("{revoked}");
            eprintln!("{revoked} token(s) of {client_id} revoked");
            Ok(())
        }
    }
}
