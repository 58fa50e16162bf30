//! FX quotes: priced by the payments layer, stored here, taken by at most one transfer.

use benteng_core::api_key::KeyEnvironment;
use benteng_core::audit::AuditEvent;
use benteng_core::currency::Currency;
use benteng_core::ids::{QuoteId, TenantId};
use benteng_core::money::{Money, Rate};
use benteng_core::payments::quote::{FixedSide, Pricing, Quote};
use sqlx::Row;
use sqlx::any::AnyRow;

use crate::rows::{parsed, time_at, to_micros};
use crate::{Store, StoreError, StoreResult};

macro_rules! quote_columns {
    () => {
        "id, tenant_id, environment, source_currency, source_amount, target_currency, target_amount, \
         fee_amount, rate, fixed_side, created_at, expires_at, used_by"
    };
}

pub(crate) fn quote_from_row(row: &AnyRow) -> StoreResult<Quote> {
    let source_currency: Currency = parsed(row, "source_currency")?;
    let target_currency: Currency = parsed(row, "target_currency")?;
    let rate: Rate = parsed(row, "rate")?;
    let fixed: String = row.try_get("fixed_side")?;
    let used_by: Option<String> = row.try_get("used_by")?;
    Ok(Quote {
        id: parsed(row, "id")?,
        tenant_id: parsed(row, "tenant_id")?,
        environment: parsed(row, "environment")?,
        pricing: Pricing {
            source: Money::from_minor(row.try_get("source_amount")?, source_currency),
            target: Money::from_minor(row.try_get("target_amount")?, target_currency),
            fee: Money::from_minor(row.try_get("fee_amount")?, source_currency),
            rate,
            fixed: FixedSide::parse(&fixed)
                .ok_or_else(|| StoreError::Corrupt("fixed_side".to_owned()))?,
        },
        created_at: time_at(row, "created_at")?,
        expires_at: time_at(row, "expires_at")?,
        used_by: used_by
            .map(|id| id.parse())
            .transpose()
            .map_err(|_| StoreError::Corrupt("used_by".to_owned()))?,
    })
}

impl Store {
    /// Stores a new quote with its audit event.
    pub async fn insert_quote(&self, quote: &Quote, event: &AuditEvent) -> StoreResult<()> {
        let p = &quote.pricing;
        let mut tx = self.pool.begin().await?;
        sqlx::query(
            "INSERT INTO quotes (id, tenant_id, source_currency, source_amount, target_currency, \
             target_amount, fee_amount, rate, fixed_side, created_at, expires_at, used_by, \
             environment) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, NULL, $12)",
        )
        .bind(quote.id.to_string())
        .bind(quote.tenant_id.to_string())
        .bind(p.source.currency().code())
        .bind(p.source.amount_minor())
        .bind(p.target.currency().code())
        .bind(p.target.amount_minor())
        .bind(p.fee.amount_minor())
        .bind(p.rate.to_string())
        .bind(p.fixed.as_str())
        .bind(to_micros(quote.created_at))
        .bind(to_micros(quote.expires_at))
        .bind(quote.environment.as_str())
        .execute(&mut *tx)
        .await
        .map_err(StoreError::from_write)?;
        crate::audit::record(&mut tx, event).await?;
        tx.commit().await?;
        Ok(())
    }

    /// The tenant's quote in one environment; another tenant's (or the other environment's) is
    /// `NotFound`, exactly like a missing one.
    pub async fn quote(
        &self,
        tenant: TenantId,
        environment: KeyEnvironment,
        id: QuoteId,
    ) -> StoreResult<Quote> {
        let row = sqlx::query(concat!(
            "SELECT ",
            quote_columns!(),
            " FROM quotes WHERE id = $1 AND tenant_id = $2 AND environment = $3"
        ))
        .bind(id.to_string())
        .bind(tenant.to_string())
        .bind(environment.as_str())
        .fetch_optional(&self.pool)
        .await?
        .ok_or(StoreError::NotFound)?;
        quote_from_row(&row)
    }
}
