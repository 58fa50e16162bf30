//! Adding recipients. Bank accounts and national ids are sealed (AES-256-GCM under a data key,
//! bound to tenant, table, column and row) before they reach the store; duplicates are found by
//! a keyed blind index of the canonical account.

use benteng_core::audit::{AuditContext, AuditEvent, Retention};
use benteng_core::country::CountryCode;
use benteng_core::ids::RecipientId;
use benteng_core::payments::recipient::{Address, BankAccount, NationalId, RecipientKind};
use benteng_core::text::{Bic, Name};
use benteng_store::{RecipientRow, StoreError};
use benteng_vault::{Aad, KeyPurpose};

use crate::{Payments, Refusal, Scope};

/// A recipient to add, validated.
#[derive(Debug, Clone)]
pub struct NewRecipient {
    pub kind: RecipientKind,
    pub name: Name,
    pub country: CountryCode,
    pub address: Option<Address>,
    pub bank_account: BankAccount,
    pub national_id: Option<NationalId>,
    /// The recipient's bank (ISO 9362), where known: ISO 20022 messages name it as the
    /// creditor agent.
    pub bic: Option<Bic>,
}

impl NewRecipient {
    /// The country decides the account scheme: Indonesian accounts in Indonesia, IBANs
    /// elsewhere.
    fn check_scheme(&self) -> Result<(), Refusal> {
        let indonesian = self.country == CountryCode::ID;
        let message = match &self.bank_account {
            BankAccount::Iban(_) if indonesian => {
                "recipients in Indonesia are paid to an account_number with bank_code"
            }
            BankAccount::Indonesian { .. } if !indonesian => {
                "recipients outside Indonesia are paid to an IBAN"
            }
            _ => return Ok(()),
        };
        Err(Refusal::invalid("bank_account", "invalid_format", message))
    }
}

impl Payments {
    /// Adds a recipient; `RecipientExists` when the tenant already has one with this account.
    pub async fn add_recipient(
        &self,
        scope: Scope<'_>,
        new: NewRecipient,
        audit: &AuditContext,
    ) -> Result<RecipientRow, Refusal> {
        let (index, existing) = self.holder_of(scope, &new).await?;
        if let Some(existing) = existing {
            return Err(Refusal::RecipientExists(existing.id));
        }
        self.insert_recipient(scope, new, index, audit).await
    }

    /// The tenant's recipient holding this account, or a new one (SNAP pays accounts, not
    /// recipients).
    pub async fn recipient_for_account(
        &self,
        scope: Scope<'_>,
        new: NewRecipient,
        audit: &AuditContext,
    ) -> Result<RecipientRow, Refusal> {
        let (index, existing) = self.holder_of(scope, &new).await?;
        match existing {
            Some(existing) => Ok(existing),
            None => self.insert_recipient(scope, new, index, audit).await,
        }
    }

    /// The account's blind index, and the scope's recipient already holding the account.
    async fn holder_of(
        &self,
        scope: Scope<'_>,
        new: &NewRecipient,
    ) -> Result<(String, Option<RecipientRow>), Refusal> {
        new.check_scheme()?;
        let index = self
            .blind_index
            .compute("bank_account", new.bank_account.canonical().as_bytes())
            .map_err(|e| Refusal::unavailable("blind index failed", e))?
            .to_hex();
        let existing = self
            .store
            .recipients_with_account(scope.tenant.id, scope.environment, &index)
            .await?
            .into_iter()
            .next();
        Ok((index, existing))
    }

    async fn insert_recipient(
        &self,
        scope: Scope<'_>,
        new: NewRecipient,
        index: String,
        audit: &AuditContext,
    ) -> Result<RecipientRow, Refusal> {
        let tenant = scope.tenant;
        let id = RecipientId::new();
        let (tenant_text, id_text) = (tenant.id.to_string(), id.to_string());
        let seal = |purpose: &KeyPurpose, column: &str, clear: &[u8]| {
            self.keyring
                .encrypt(
                    purpose,
                    clear,
                    &Aad::new(&tenant_text, "recipients", column, &id_text),
                )
                .map_err(|e| Refusal::unavailable("sealing failed", e))
        };
        let bank_account_sealed = seal(
            &KeyPurpose::BANK_ACCOUNT,
            "bank_account",
            new.bank_account.canonical().as_bytes(),
        )?;
        let national_id_sealed = new
            .national_id
            .as_ref()
            .map(|nid| {
                seal(
                    &KeyPurpose::NATIONAL_ID,
                    "national_id",
                    nid.as_str().as_bytes(),
                )
            })
            .transpose()?;
        let row = RecipientRow {
            id,
            tenant_id: tenant.id,
            environment: scope.environment,
            kind: new.kind,
            name: new.name,
            country: new.country,
            address: new.address,
            bank_scheme: new.bank_account.scheme().to_owned(),
            bank_account_sealed,
            bank_account_last4: new.bank_account.last4(),
            bank_account_index: index,
            national_id_sealed,
            bic: new.bic,
            created_at: self.clock.now(),
        };
        // Tier 1 and 2 data stays out of the trail: the scheme and last four only.
        let event = AuditEvent::new(
            &audit.for_tenant(tenant.id),
            "recipient.created",
            Retention::Security,
            ("recipient", id.to_string()),
        )
        .at(row.created_at)
        .change(
            "bank_account",
            serde_json::Value::Null,
            format!("{} …{}", row.bank_scheme, row.bank_account_last4).into(),
        )
        .change(
            "country",
            serde_json::Value::Null,
            row.country.as_str().into(),
        );
        // A bank's identifier, not the person's: recorded as given.
        let event = match &row.bic {
            Some(bic) => event.change("bic", serde_json::Value::Null, bic.as_str().into()),
            None => event,
        };
        match self.store.insert_recipient(&row, &event).await {
            Ok(()) => Ok(row),
            Err(StoreError::Conflict) => Err(Refusal::Unavailable),
            Err(error) => Err(error.into()),
        }
    }
}
