//! `benteng apikey …`

use anyhow::bail;
use benteng_auth::KeyAdminError;
use benteng_core::api_key::KeyEnvironment;
use benteng_core::ids::ApiKeyId;
use benteng_core::scopes::Scopes;
use benteng_crypto::ExposeSecret;
use clap::Subcommand;

use super::{parse_tenant_id, timestamp};
use crate::Services;

#[derive(Debug, Subcommand)]
pub enum ApiKeyCommand {
    /// Issue a key and print it. It is shown this once and never again.
    Issue {
        #[arg(long)]
        tenant: String,
        /// A test key (sandbox only) instead of a live one.
        #[arg(long)]
        test: bool,
        /// Days until the key expires (1–3650); without it the key does not expire.
        #[arg(long)]
        expires_in_days: Option<u32>,
        /// A scope the key carries (repeatable), e.g. `transfers:read`; without any, the key
        /// carries every scope.
        #[arg(long = "scope", value_name = "SCOPE", conflicts_with = "read_only")]
        scopes: Vec<String>,
        /// Every `:read` scope and nothing else: a key that cannot change anything.
        #[arg(long)]
        read_only: bool,
    },
    /// List a tenant's keys (prefix and dates, never the key).
    List {
        #[arg(long)]
        tenant: String,
    },
    /// Revoke a key by its id; every instance refuses it within a second.
    Revoke { key_id: String },
}

pub(super) async fn run(services: Services, command: ApiKeyCommand) -> anyhow::Result<()> {
    match command {
        ApiKeyCommand::Issue {
            tenant,
            test,
            expires_in_days,
            scopes,
            read_only,
        } => {
            let tenant = parse_tenant_id(&tenant)?;
            let scopes = if read_only {
                Scopes::read_only()
            } else if scopes.is_empty() {
                Scopes::all()
            } else {
                Scopes::from_names(scopes.iter().map(String::as_str))
                    .map_err(|e| anyhow::anyhow!("--scope: {e}"))?
            };
            let lifetime = match expires_in_days {
                None => None,
                Some(days @ 1..=3650) => Some(time::Duration::days(i64::from(days))),
                Some(_) => bail!("--expires-in-days must be between 1 and 3650"),
            };
            let environment = if test {
                KeyEnvironment::Test
            } else {
                KeyEnvironment::Live
            };
            let issued = services
                .api_keys
                .issue(tenant, environment, lifetime, scopes, &super::cli_context())
                .await
                .map_err(admin_error)?;
            eprintln!(
                "key {} issued with scopes {}; store it now, it will not be shown again",
                issued.record.id, issued.record.scopes
            );
            println!("{}", issued.key.expose_secret());
        }
        ApiKeyCommand::List { tenant } => {
            let tenant = parse_tenant_id(&tenant)?;
            services.store.tenant(tenant).await.map_err(|e| match e {
                benteng_store::StoreError::NotFound => anyhow::anyhow!("no such tenant"),
                other => other.into(),
            })?;
            println!(
                "{:<36}  {:<47}  {:<25}  {:<25}  {:<25}  SCOPES",
                "KEY ID", "PREFIX", "CREATED", "EXPIRES", "REVOKED"
            );
            for k in services.store.api_keys_of(tenant).await? {
                println!(
                    "{:<36}  {:<47}  {:<25}  {:<25}  {:<25}  {}",
                    k.id,
                    format!("{}…", k.display_prefix),
                    timestamp(k.created_at),
                    k.expires_at
                        .map(timestamp)
                        .unwrap_or_else(|| "never".to_owned()),
                    k.revoked_at
                        .map(timestamp)
                        .unwrap_or_else(|| "-".to_owned()),
                    k.scopes,
                );
            }
        }
        ApiKeyCommand::Revoke { key_id } => {
            let key_id: ApiKeyId = key_id
                .parse()
                .map_err(|_| anyhow::anyhow!("not a key id (expected a UUID)"))?;
            let record = services
                .api_keys
                .revoke(key_id, &super::cli_context())
                .await
                .map_err(admin_error)?;
            println!("{} revoked", record.id);
        }
    }
    Ok(())
}

fn admin_error(error: KeyAdminError) -> anyhow::Error {
    anyhow::Error::new(error).context("refused")
}
