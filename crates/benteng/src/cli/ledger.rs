//! `benteng ledger …`

use anyhow::bail;
use benteng_core::api_key::KeyEnvironment;
use benteng_core::currency::Currency;
use benteng_core::money::{Money, PositiveAmount};
use clap::Subcommand;

use super::parse_tenant_id;
use crate::Services;

#[derive(Debug, Subcommand)]
pub enum LedgerCommand {
    /// Credit a tenant, standing in for an incoming collection.
    Fund {
        #[arg(long)]
        tenant: String,
        /// ISO 4217 code, e.g. EUR.
        #[arg(long)]
        currency: String,
        /// A positive decimal with at most the currency's decimals, e.g. 1000.00.
        #[arg(long)]
        amount: String,
        /// Credit the tenant's test environment (what its `sk_test_` keys spend) instead of
        /// its live balance.
        #[arg(long)]
        test: bool,
    },
    /// Verify the ledger's invariants over the whole store; exits non-zero with the offending
    /// rows when one breaks.
    Check,
}

pub(super) async fn run(services: Services, command: LedgerCommand) -> anyhow::Result<()> {
    match command {
        LedgerCommand::Fund {
            tenant,
            currency,
            amount,
            test,
        } => {
            let tenant = parse_tenant_id(&tenant)?;
            let currency = Currency::parse(&currency)
                .map_err(|_| anyhow::anyhow!("--currency must be an ISO 4217 code such as EUR"))?;
            let amount = PositiveAmount::parse(&amount).map_err(|_| {
                anyhow::anyhow!("--amount must be a positive decimal up to 1000000")
            })?;
            let money: Money = amount.to_money(currency).map_err(|_| {
                anyhow::anyhow!("--amount has more decimals than {currency} allows")
            })?;
            match services.store.tenant(tenant).await {
                Err(benteng_store::StoreError::NotFound) => bail!("no such tenant"),
                other => other?,
            };
            let environment = if test {
                KeyEnvironment::Test
            } else {
                KeyEnvironment::Live
            };
            let id = services
                .store
                .fund(tenant, environment, money, &super::cli_context())
                .await?;
            println!("{id} {money} {currency} credited ({environment})");
        }
        LedgerCommand::Check => {
            let violations = services.store.ledger_check().await?;
            if violations.is_empty() {
                println!("ledger ok: every invariant holds");
            } else {
                for violation in &violations {
                    println!("VIOLATION {}: {}", violation.rule, violation.row);
                }
                bail!("{} ledger invariant violation(s)", violations.len());
            }
        }
    }
    Ok(())
}
