//! `benteng kyc …`: a tenant's KYC level and evidence items, set by an operator at onboarding
//! or as break-glass (audited, named after the person running the command).

use benteng_core::kyc::{KycItem, KycLevel};
use benteng_operations::ItemStatus;
use clap::Subcommand;

use super::{cli_context, parse_tenant_id, refused};
use crate::Services;

#[derive(Debug, Subcommand)]
pub enum KycCommand {
    /// Show the tenant's level, its 30-day ceiling and each item's status.
    Show { tenant: String },
    /// Set the tenant's level: none, basic, standard or enhanced.
    SetLevel { tenant: String, level: String },
    /// Record an item of evidence as submitted, verified or rejected.
    Item {
        tenant: String,
        /// email, phone, business_registration, government_id, address_proof,
        /// business_licence, beneficial_owners, source_of_funds, bank_statements, on_site_visit.
        item: String,
        status: String,
    },
}

pub(super) async fn run(services: Services, command: KycCommand) -> anyhow::Result<()> {
    let operations = services.operations();
    match command {
        KycCommand::Show { tenant } => {
            let tenant = parse_tenant_id(&tenant)?;
            let standing = operations
                .kyc_standing(tenant)
                .await
                .map_err(refused("tenant"))?;
            let ceiling = standing
                .level
                .ceiling_usd_cents()
                .map_or("none".to_owned(), |c| {
                    format!("USD {}.{:02}", c / 100, c % 100)
                });
            println!("level: {}  (30-day ceiling: {ceiling})", standing.level);
            for item in KycItem::ALL {
                let verified = if standing.verified.contains(&item) {
                    "verified"
                } else {
                    "-"
                };
                println!(
                    "  {:<22} {:<9} needed from {}",
                    item.as_str(),
                    verified,
                    item.level()
                );
            }
        }
        KycCommand::SetLevel { tenant, level } => {
            let tenant = parse_tenant_id(&tenant)?;
            let level: KycLevel = level.parse()?;
            operations
                .set_kyc_level(tenant, level, &cli_context())
                .await
                .map_err(refused("tenant"))?;
            println!("KYC level of {tenant} is now {level}");
        }
        KycCommand::Item {
            tenant,
            item,
            status,
        } => {
            let tenant = parse_tenant_id(&tenant)?;
            let item: KycItem = item.parse()?;
            let status: ItemStatus = status.parse().map_err(refused("status"))?;
            operations
                .set_kyc_item(tenant, item, status, &cli_context())
                .await
                .map_err(refused("tenant"))?;
            println!("{item} of {tenant} is now {}", status.as_str());
        }
    }
    Ok(())
}
