//! `benteng apikey …`

use anyhow::bail;
use benteng_core::api_key::KeyEnvironment;
use benteng_core::ids::ApiKeyId;
use benteng_core::network::NetworkAllowList;
use benteng_core::scopes::Scopes;
use benteng_crypto::ExposeSecret;
use benteng_operations::{KeyLifetime, KeyRequest, KeyScopes};
use clap::Subcommand;

use super::{parse_tenant_id, refused, timestamp};
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
        /// A network the key may be used from (repeatable, at most 32), e.g. `10.0.0.0/8`,
        /// `2001:db8::/32` or one address; from anywhere else it is refused (403). Without
        /// any, the key works from any network.
        #[arg(long = "allow-network", value_name = "CIDR")]
        networks: Vec<String>,
    },
    /// List a tenant's keys (prefix and dates, never the key).
    List {
        #[arg(long)]
        tenant: String,
    },
    /// Revoke a key by its id; every instance refuses it within a second.
    Revoke { key_id: String },
    /// Change the networks a live key may be used from; every instance applies it within a
    /// second.
    Restrict {
        key_id: String,
        /// A network the key may be used from (repeatable, at most 32); replaces the key's list.
        #[arg(
            long = "allow-network",
            value_name = "CIDR",
            required_unless_present = "any_network",
            conflicts_with = "any_network"
        )]
        networks: Vec<String>,
        /// Lift the restriction: the key works from any network.
        #[arg(long)]
        any_network: bool,
    },
}

/// The `--allow-network` values as one list, refused whole if any entry is wrong.
fn parse_networks(networks: &[String]) -> anyhow::Result<NetworkAllowList> {
    NetworkAllowList::from_entries(networks.iter().map(String::as_str))
        .map_err(|e| anyhow::anyhow!("--allow-network: {e}"))
}

/// A list for people: `any network`, or the networks.
fn describe(networks: &NetworkAllowList) -> String {
    if networks.is_any() {
        "any network".to_owned()
    } else {
        networks.to_string()
    }
}

fn parse_key_id(key_id: &str) -> anyhow::Result<ApiKeyId> {
    key_id
        .parse()
        .map_err(|_| anyhow::anyhow!("not a key id (expected a UUID)"))
}

pub(super) async fn run(services: Services, command: ApiKeyCommand) -> anyhow::Result<()> {
    match command {
        ApiKeyCommand::Issue {
            tenant,
            test,
            expires_in_days,
            scopes,
            read_only,
            networks,
        } => {
            let tenant = parse_tenant_id(&tenant)?;
            let networks = parse_networks(&networks)?;
            let scopes = if read_only {
                KeyScopes::ReadOnly
            } else if scopes.is_empty() {
                KeyScopes::Every
            } else {
                KeyScopes::These(
                    Scopes::from_names(scopes.iter().map(String::as_str))
                        .map_err(|e| anyhow::anyhow!("--scope: {e}"))?,
                )
            };
            let lifetime = expires_in_days
                .map(KeyLifetime::days)
                .transpose()
                .map_err(|e| anyhow::anyhow!("--expires-in-days {e}"))?;
            let environment = if test {
                KeyEnvironment::Test
            } else {
                KeyEnvironment::Live
            };
            let request = KeyRequest {
                environment,
                scopes,
                lifetime,
                networks,
            };
            let issued = services
                .operations()
                .issue_api_key(tenant, request, &super::cli_context())
                .await
                .map_err(refused("tenant"))?;
            eprintln!(
                "key {} issued with scopes {}, usable from {}; store it now, it will not be shown again",
                issued.record.id,
                issued.record.scopes,
                describe(&issued.record.networks)
            );
            println!("{}", issued.key.expose_secret());
        }
        ApiKeyCommand::List { tenant } => {
            let tenant = parse_tenant_id(&tenant)?;
            let keys = services
                .operations()
                .api_keys_of(tenant)
                .await
                .map_err(refused("tenant"))?;
            println!(
                "{:<36}  {:<47}  {:<25}  {:<25}  {:<25}  {:<18}  SCOPES",
                "KEY ID", "PREFIX", "CREATED", "EXPIRES", "REVOKED", "NETWORKS"
            );
            for k in keys {
                // Commas, so the column stays one word; `any` when unrestricted.
                let networks = if k.networks.is_any() {
                    "any".to_owned()
                } else {
                    k.networks
                        .iter()
                        .map(ToString::to_string)
                        .collect::<Vec<_>>()
                        .join(",")
                };
                println!(
                    "{:<36}  {:<47}  {:<25}  {:<25}  {:<25}  {:<18}  {}",
                    k.id,
                    format!("{}…", k.display_prefix),
                    timestamp(k.created_at),
                    k.expires_at
                        .map(timestamp)
                        .unwrap_or_else(|| "never".to_owned()),
                    k.revoked_at
                        .map(timestamp)
                        .unwrap_or_else(|| "-".to_owned()),
                    networks,
                    k.scopes,
                );
            }
        }
        ApiKeyCommand::Restrict {
            key_id,
            networks,
            any_network,
        } => {
            let key_id = parse_key_id(&key_id)?;
            // Clap already refuses both or neither; an empty list is "any network" only when
            // asked for by name, never because no value arrived.
            let networks = if any_network {
                NetworkAllowList::any()
            } else if networks.is_empty() {
                bail!("give --allow-network CIDR (repeatable) or --any-network");
            } else {
                parse_networks(&networks)?
            };
            let record = services
                .operations()
                .set_api_key_networks(key_id, &networks, &super::cli_context())
                .await
                .map_err(refused("API key"))?;
            println!(
                "{} may be used from {}",
                record.id,
                describe(&record.networks)
            );
        }
        ApiKeyCommand::Revoke { key_id } => {
            let key_id = parse_key_id(&key_id)?;
            let record = services
                .operations()
                .revoke_api_key(key_id, &super::cli_context())
                .await
                .map_err(refused("API key"))?;
            println!("{} revoked", record.id);
        }
    }
    Ok(())
}
