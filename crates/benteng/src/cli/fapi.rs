//! `benteng fapi client …`: the FAPI 2.0 clients operators register (the operator API's
//! `/admin/v1/fapi/clients` does the same). Every change is audited as the CLI's user.

use std::path::PathBuf;

use anyhow::{Context, bail};
use benteng_auth::fapi::{ClientError, NewClient};
use clap::Subcommand;

use super::{cli_context, timestamp};
use crate::Services;

#[derive(Debug, Subcommand)]
pub enum FapiCommand {
    #[command(subcommand)]
    Client(ClientCommand),
}

#[derive(Debug, Subcommand)]
pub enum ClientCommand {
    /// Register a client: its JWK Set (public keys only) from a file, exact https redirect
    /// URIs, and the API-key scopes it may ask a tenant user for. FAPI 2.0 profile,
    /// private_key_jwt client authentication, DPoP-bound tokens.
    Add {
        #[arg(long = "id")]
        client_id: String,
        #[arg(long)]
        name: String,
        /// A JSON file holding `{"keys": [...]}`.
        #[arg(long)]
        jwks: PathBuf,
        /// Repeat for each redirect URI.
        #[arg(long = "redirect-uri", required = true)]
        redirect_uris: Vec<String>,
        /// Scope names separated by spaces, e.g. "transfers:read transfers:write".
        #[arg(long)]
        scopes: String,
    },
    /// List the registered clients.
    List,
    /// Disable a client: its tokens stop working, it can start nothing new.
    Disable { client_id: String },
    /// Enable a disabled client.
    Enable { client_id: String },
}

fn refused(error: ClientError) -> anyhow::Error {
    anyhow::anyhow!("refused: {error}")
}

pub(super) async fn run(services: Services, command: FapiCommand) -> anyhow::Result<()> {
    let FapiCommand::Client(command) = command;
    let fapi = &services.fapi;
    match command {
        ClientCommand::Add {
            client_id,
            name,
            jwks,
            redirect_uris,
            scopes,
        } => {
            let text = std::fs::read_to_string(&jwks)
                .with_context(|| format!("reading {}", jwks.display()))?;
            let jwks: serde_json::Value = serde_json::from_str(&text)
                .with_context(|| format!("{} is not JSON", jwks.display()))?;
            let row = fapi
                .register_client(
                    NewClient {
                        client_id,
                        name,
                        jwks,
                        redirect_uris,
                        scopes,
                        profile: "fapi2".into(),
                        token_auth: "private_key_jwt".into(),
                        sender_constraint: "dpop".into(),
                    },
                    &cli_context(),
                )
                .await
                .map_err(refused)?;
            println!("{}", row.client_id);
        }
        ClientCommand::List => {
            for client in services.store.fapi_clients().await? {
                println!(
                    "{:<24} {:<9} {:<25} {:<40} {}",
                    client.client_id,
                    client.status,
                    timestamp(client.created_at),
                    client.scopes,
                    client.redirect_uris.join(" ")
                );
            }
        }
        ClientCommand::Disable { client_id } | ClientCommand::Enable { client_id }
            if client_id.is_empty() =>
        {
            bail!("a client id is required")
        }
        ClientCommand::Disable { client_id } => {
            fapi.set_client_status(&client_id, false, &cli_context())
                .await
                .map_err(refused)?;
            println!("{client_id} disabled");
        }
        ClientCommand::Enable { client_id } => {
            fapi.set_client_status(&client_id, true, &cli_context())
                .await
                .map_err(refused)?;
            println!("{client_id} enabled");
        }
    }
    Ok(())
}
