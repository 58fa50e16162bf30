//! Pricing quotes: a rate and a fee, fixed for `quote_ttl`, used by at most one transfer.

use benteng_core::audit::{AuditContext, AuditEvent, Retention};
use benteng_core::currency::Currency;
use benteng_core::ids::QuoteId;
use benteng_core::payments::quote::{FixedSide, PricingError, Quote, price};
use benteng_core::strict_json::FieldError;
use rust_decimal::Decimal;

use crate::{Payments, Refusal, Scope};

/// A quote to price: one side's amount is fixed by the caller.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct QuoteRequest {
    pub source: Currency,
    pub target: Currency,
    pub fixed: FixedSide,
    /// Positive, in major units of the fixed side's currency.
    pub amount: Decimal,
}

impl QuoteRequest {
    /// The field that carries the fixed amount.
    fn amount_field(&self) -> &'static str {
        match self.fixed {
            FixedSide::Source => "source_amount",
            FixedSide::Target => "target_amount",
        }
    }
}

impl Payments {
    /// Prices and stores a quote.
    pub async fn price_quote(
        &self,
        scope: Scope<'_>,
        request: QuoteRequest,
        audit: &AuditContext,
    ) -> Result<Quote, Refusal> {
        let rates = self.rates();
        let unsupported: Vec<FieldError> = [
            ("source_currency", request.source),
            ("target_currency", request.target),
        ]
        .into_iter()
        .filter(|(_, currency)| !rates.supports(*currency))
        .map(|(field, _)| FieldError {
            field: field.to_owned(),
            code: "unsupported",
            message: "is not a currency this platform pays in".to_owned(),
        })
        .collect();
        if !unsupported.is_empty() {
            return Err(Refusal::Invalid(unsupported));
        }
        let rate = rates.rate(request.source, request.target).ok_or_else(|| {
            Refusal::invalid("target_currency", "unsupported", "no rate for this pair")
        })?;
        let field = request.amount_field();
        let pricing = price(
            request.source,
            request.target,
            request.fixed,
            request.amount,
            rate,
            self.fee_bps,
        )
        .map_err(|error| match error {
            PricingError::TooSmall => {
                Refusal::invalid(field, "out_of_range", "converts to nothing")
            }
            PricingError::Money(_) => Refusal::invalid(
                field,
                "invalid_precision",
                "has more decimals than the currency allows, or is too large",
            ),
        })?;
        let now = self.clock.now();
        let quote = Quote {
            id: QuoteId::new(),
            tenant_id: scope.tenant.id,
            environment: scope.environment,
            pricing,
            created_at: now,
            expires_at: now + self.quote_ttl,
            used_by: None,
        };
        let p = &quote.pricing;
        let event = AuditEvent::new(
            &audit.for_tenant(scope.tenant.id),
            "quote.created",
            Retention::Security,
            ("quote", quote.id.to_string()),
        )
        .at(now)
        .change(
            "source",
            serde_json::Value::Null,
            format!("{} {}", p.source, p.source.currency()).into(),
        )
        .change(
            "target",
            serde_json::Value::Null,
            format!("{} {}", p.target, p.target.currency()).into(),
        )
        .change("rate", serde_json::Value::Null, p.rate.to_string().into());
        self.store.insert_quote(&quote, &event).await?;
        Ok(quote)
    }
}
