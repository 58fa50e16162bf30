//! The operators' application layer: what a signed-in staff member may change, decided here and
//! written by the store. The operator API's handlers and the CLI both call these commands.
//!
//! Rules kept here:
//! - Nobody changes their own roles or status: an escalation always takes someone else.
//! - Changes that need a second person ([`Action`]) are never applied when asked for: they
//!   become pending actions, approved by a different person who holds the same permission,
//!   before they expire. The store applies an approved action in the approval's transaction.
//! - After any change to what a person or tenant may do, every instance's caches are told.
//!
//! One room per subject: people, tenants and four-eyes here, `credentials` (API keys, client
//! certificates), `screening` (search, clearances), `kyc` (levels and items).

mod credentials;
mod kyc;
mod reports;
mod screening;

/// The screening library's query and match types, for callers building a search.
pub use benteng_compliance::benteng_screening;
pub use credentials::{
    CertFingerprint, KeyLifetime, KeyRequest, KeyScopes, LifetimeOutOfRange, NotAFingerprint,
};
pub use kyc::{ItemStatus, KycOverview, OwnerInput};
pub use reports::{
    Destination, DestinationFormat, EuFiu, EuFiuFormat, ExportFormat, Exported, IftiSummary,
    ReportDetail, ReportStanding, ReportsSettings,
};
pub use screening::{
    BadReason, ClearanceReason, ClearanceRequest, EntryRef, NotAParty, NotAnEntry, PartyRef,
    SearchMatch, SearchResult,
};

use std::sync::Arc;
use std::time::Duration;

use benteng_auth::{ApiKeyAuthenticator, Created, PeopleAuthenticator, StaffPrincipal};
use benteng_core::approvals::{Action, ActionStatus};
use benteng_core::audit::AuditContext;
use benteng_core::clock::Clock;
use benteng_core::ids::{PendingActionId, PersonId, TenantId};
use benteng_core::people::LoginName;
use benteng_core::roles::{Permission, Roles, StaffRole, TenantRole};
use benteng_core::tenant::{Tenant, TenantName, TenantStatus, Tier};
use benteng_store::{DecisionRefused, PendingAction, PersonStatus, Store, StoreError};

/// Why an operator command was refused.
#[derive(Debug, thiserror::Error)]
pub enum OpsRefusal {
    #[error("not found")]
    NotFound,
    #[error("the caller's roles do not grant {0}")]
    Forbidden(Permission),
    /// The caller tried to change their own roles or status, or approve their own request.
    #[error("{0}")]
    OwnChange(&'static str),
    #[error("{0}")]
    Conflict(&'static str),
    /// A value the request carries cannot be used (a certificate that does not parse, an
    /// entry the list does not have): 422, naming the field.
    #[error("{field}: {message}")]
    Invalid {
        field: &'static str,
        message: String,
    },
    #[error("operations are unavailable right now")]
    Unavailable,
    /// A report lacks what its format needs: every field and its problem (422).
    #[error("the report is incomplete")]
    Incomplete(Vec<(String, String)>),
}

impl From<StoreError> for OpsRefusal {
    fn from(error: StoreError) -> Self {
        match error {
            StoreError::NotFound => OpsRefusal::NotFound,
            StoreError::Conflict => OpsRefusal::Conflict("conflicts with an existing record"),
            other => {
                tracing::error!(error = %other, "operator command failed in the store");
                OpsRefusal::Unavailable
            }
        }
    }
}

/// What a request for a change came to: done now, or waiting for a second person.
#[derive(Debug)]
pub enum Requested {
    Done,
    Pending(PendingAction),
}

pub struct Operations {
    store: Store,
    people: Arc<PeopleAuthenticator>,
    api_keys: Arc<ApiKeyAuthenticator>,
    clock: Arc<dyn Clock>,
    /// How long a pending action waits for its second person.
    approval_ttl: Duration,
    /// The lists analysts search and clear against: the server's running service, or one the
    /// CLI loads for a screening verb. Without it screening commands are unavailable.
    screening: Option<Arc<benteng_compliance::Screening>>,
    /// The data keys KYC documents are sealed with; without it evidence commands are
    /// unavailable.
    keyring: Option<Arc<benteng_vault::Keyring>>,
    /// The cap on one KYC document, in bytes.
    max_document_bytes: usize,
    /// Where regulatory reports go and their deadlines; without it report commands are
    /// unavailable.
    reports: Option<Arc<ReportsSettings>>,
    /// The inbox and SLA of KYC upgrade requests' cases (`[cases] kyc_inbox`).
    kyc_cases: benteng_store::AlertCases,
}

impl Operations {
    pub fn new(
        store: Store,
        people: Arc<PeopleAuthenticator>,
        api_keys: Arc<ApiKeyAuthenticator>,
        clock: Arc<dyn Clock>,
        approval_ttl: Duration,
    ) -> Self {
        Self {
            store,
            people,
            api_keys,
            clock,
            approval_ttl,
            screening: None,
            keyring: None,
            max_document_bytes: benteng_core::kyc::DEFAULT_MAX_DOCUMENT_BYTES,
            reports: None,
            kyc_cases: benteng_store::AlertCases::kyc_default(),
        }
    }

    /// With the inbox and SLA KYC upgrade requests' cases open in.
    #[must_use]
    pub fn with_kyc_cases(mut self, cases: benteng_store::AlertCases) -> Self {
        self.kyc_cases = cases;
        self
    }

    /// With the reports' configuration and the data keys their content is sealed with.
    #[must_use]
    pub fn with_reports(
        mut self,
        settings: ReportsSettings,
        keyring: Arc<benteng_vault::Keyring>,
    ) -> Self {
        self.reports = Some(Arc::new(settings));
        self.keyring = Some(keyring);
        self
    }

    /// With the data keys KYC evidence is sealed with, and the cap on one document.
    pub fn with_kyc_evidence(
        mut self,
        keyring: Arc<benteng_vault::Keyring>,
        max_document_bytes: usize,
    ) -> Self {
        self.keyring = Some(keyring);
        self.max_document_bytes = max_document_bytes;
        self
    }

    /// The cap on one KYC document, in bytes.
    pub fn max_document_bytes(&self) -> usize {
        self.max_document_bytes
    }

    /// With the screening service analysts' commands search and clear against.
    #[must_use]
    pub fn with_screening(mut self, screening: Arc<benteng_compliance::Screening>) -> Self {
        self.screening = Some(screening);
        self
    }

    pub fn people(&self) -> &PeopleAuthenticator {
        &self.people
    }

    // ----- people -----

    /// Creates a staff member with `roles`. Roles that need a second person (admin) are not
    /// given now: each becomes a pending grant, returned beside the enrolment code.
    pub async fn create_staff(
        &self,
        actor: Option<&StaffPrincipal>,
        login: &LoginName,
        roles: Roles,
        context: &AuditContext,
    ) -> Result<(Created, Vec<PendingAction>), OpsRefusal> {
        let direct = roles.without(StaffRole::Admin);
        let created = self.people.create(login, None, direct, context).await?;
        let mut pending = Vec::new();
        if roles.contains(StaffRole::Admin) {
            match actor {
                Some(actor) => {
                    let action = Action::GrantRole {
                        person: created.person,
                        role: StaffRole::Admin,
                    };
                    pending.push(self.propose(actor, action, context).await?);
                }
                // Bootstrap and break-glass from the host's CLI: whoever can run it there
                // already holds every key, so there is no second person to wait for.
                None => {
                    self.store.set_roles(created.person, roles, context).await?;
                }
            }
        }
        Ok((created, pending))
    }

    /// Creates a user of a tenant with a tenant role; they enrol like staff (password and TOTP)
    /// and their session acts on the tenant API with the role's scopes.
    pub async fn create_tenant_user(
        &self,
        tenant: TenantId,
        login: &LoginName,
        role: TenantRole,
        context: &AuditContext,
    ) -> Result<Created, OpsRefusal> {
        self.store.tenant(tenant).await?;
        Ok(self
            .people
            .create(login, Some((tenant, role)), Roles::empty(), context)
            .await?)
    }

    /// Grants a role. Admin needs a second person; nobody changes their own roles.
    pub async fn grant_role(
        &self,
        actor: &StaffPrincipal,
        person: PersonId,
        role: StaffRole,
        context: &AuditContext,
    ) -> Result<Requested, OpsRefusal> {
        not_self(actor, person, "nobody changes their own roles")?;
        let target = self.store.person(person).await?;
        if target.tenant.is_some() {
            return Err(OpsRefusal::Conflict("staff roles are for platform staff"));
        }
        if target.roles.contains(role) {
            return Ok(Requested::Done);
        }
        if role == StaffRole::Admin {
            let action = Action::GrantRole { person, role };
            return Ok(Requested::Pending(
                self.propose(actor, action, context).await?,
            ));
        }
        self.store
            .set_roles(person, target.roles.with(role), context)
            .await?;
        self.people.person_changed(person).await;
        Ok(Requested::Done)
    }

    /// Removes a role: a narrowing, done at once (by someone else).
    pub async fn revoke_role(
        &self,
        actor: &StaffPrincipal,
        person: PersonId,
        role: StaffRole,
        context: &AuditContext,
    ) -> Result<(), OpsRefusal> {
        not_self(actor, person, "nobody changes their own roles")?;
        let target = self.store.person(person).await?;
        if target.roles.contains(role) {
            self.store
                .set_roles(person, target.roles.without(role), context)
                .await?;
            self.people.person_changed(person).await;
        }
        Ok(())
    }

    /// Disables or re-enables a person; disabling ends their sessions everywhere.
    pub async fn set_person_status(
        &self,
        actor: &StaffPrincipal,
        person: PersonId,
        status: PersonStatus,
        context: &AuditContext,
    ) -> Result<(), OpsRefusal> {
        not_self(actor, person, "nobody changes their own status")?;
        self.store
            .set_person_status(person, status, context)
            .await?;
        self.people.person_changed(person).await;
        Ok(())
    }

    /// Ends every session of a person (containment, or the person's own "sign out everywhere").
    pub async fn end_sessions(
        &self,
        person: PersonId,
        context: &AuditContext,
    ) -> Result<u64, OpsRefusal> {
        self.store.person(person).await?;
        Ok(self.people.sign_out_everywhere(person, context).await?)
    }

    // ----- tenants -----

    /// Creates an active tenant.
    pub async fn create_tenant(
        &self,
        name: TenantName,
        tier: Tier,
        context: &AuditContext,
    ) -> Result<Tenant, OpsRefusal> {
        let tenant = Tenant::new(name, tier, self.clock.now());
        self.store.insert_tenant(&tenant, context).await?;
        Ok(tenant)
    }

    /// Suspends a tenant (its keys and tokens stop working on every instance) or re-activates
    /// it. The store writes the change; then every instance's cached keys are refreshed, with
    /// the credential watermark as the safety net should the announcement fail.
    pub async fn set_tenant_status(
        &self,
        tenant: TenantId,
        status: TenantStatus,
        context: &AuditContext,
    ) -> Result<Tenant, OpsRefusal> {
        let changed = self
            .store
            .set_tenant_status(tenant, status, context)
            .await?;
        self.tenant_changed(tenant).await;
        Ok(changed)
    }

    /// Turning mTLS on tightens and happens at once; turning it off waits for a second person.
    pub async fn set_require_mtls(
        &self,
        actor: &StaffPrincipal,
        tenant: TenantId,
        required: bool,
        context: &AuditContext,
    ) -> Result<Requested, OpsRefusal> {
        self.store.tenant(tenant).await?;
        if !required {
            let action = Action::DisableRequireMtls { tenant };
            return Ok(Requested::Pending(
                self.propose(actor, action, context).await?,
            ));
        }
        self.store
            .set_tenant_require_mtls(tenant, true, context)
            .await?;
        self.tenant_changed(tenant).await;
        Ok(Requested::Done)
    }

    /// A tier sets rate limits and daily volume caps: every change waits for a second person.
    pub async fn change_tier(
        &self,
        actor: &StaffPrincipal,
        tenant: TenantId,
        tier: Tier,
        context: &AuditContext,
    ) -> Result<Requested, OpsRefusal> {
        if self.store.tenant(tenant).await?.tier == tier {
            return Ok(Requested::Done);
        }
        let action = Action::ChangeTier { tenant, tier };
        Ok(Requested::Pending(
            self.propose(actor, action, context).await?,
        ))
    }

    async fn tenant_changed(&self, tenant: TenantId) {
        if let Err(error) = self.api_keys.tenant_changed(tenant).await {
            tracing::warn!(%error, "could not refresh a changed tenant's cached keys");
        }
    }

    // ----- four-eyes -----

    /// Records a request for `action`; the proposer must hold the action's permission.
    pub async fn propose(
        &self,
        actor: &StaffPrincipal,
        action: Action,
        context: &AuditContext,
    ) -> Result<PendingAction, OpsRefusal> {
        let permission = action.permission();
        if !actor.permits(permission) {
            return Err(OpsRefusal::Forbidden(permission));
        }
        let now = self.clock.now();
        let pending = PendingAction {
            id: PendingActionId::new(),
            action,
            status: ActionStatus::Pending,
            proposed_by: actor.person,
            proposed_at: now,
            expires_at: now + self.approval_ttl,
            decided_by: None,
            decided_at: None,
        };
        self.store.insert_pending_action(&pending, context).await?;
        Ok(pending)
    }

    /// Approves (the change is applied, once) or rejects a pending action. The decider must
    /// hold the action's permission and must not be its proposer.
    pub async fn decide(
        &self,
        actor: &StaffPrincipal,
        id: PendingActionId,
        approve: bool,
        context: &AuditContext,
    ) -> Result<PendingAction, OpsRefusal> {
        let pending = self.store.pending_action(id).await?;
        if let Action::DecideHeldTransfer { .. } = pending.action {
            return Err(OpsRefusal::Conflict(
                "a held transfer's decision is approved on its case (/admin/v1/cases/…)",
            ));
        }
        if let Action::ConfirmScreeningHit { .. } = pending.action {
            return Err(OpsRefusal::Conflict(
                "a screening hit's confirmation is approved on its case (/admin/v1/cases/…)",
            ));
        }
        if let (true, Action::ChangeKycLevel { tenant, level }) = (approve, pending.action) {
            self.check_level_evidence(tenant, level).await?;
        }
        let permission = pending.action.approver_permission();
        if !actor.permits(permission) {
            return Err(OpsRefusal::Forbidden(permission));
        }
        if pending.proposed_by == actor.person {
            return Err(OpsRefusal::OwnChange(
                "a request is decided by someone other than its proposer",
            ));
        }
        let decided = match self
            .store
            .decide_pending_action(id, actor.person, approve, context)
            .await?
        {
            Ok(decided) => decided,
            Err(DecisionRefused::NotFound) => return Err(OpsRefusal::NotFound),
            Err(DecisionRefused::OwnProposal) => {
                return Err(OpsRefusal::OwnChange(
                    "a request is decided by someone other than its proposer",
                ));
            }
            Err(DecisionRefused::Expired) => {
                return Err(OpsRefusal::Conflict("the request has expired"));
            }
            Err(DecisionRefused::NotPending(_)) => {
                return Err(OpsRefusal::Conflict("the request was already decided"));
            }
        };
        if approve {
            match decided.action {
                Action::DisableRequireMtls { tenant } | Action::ChangeTier { tenant, .. } => {
                    self.tenant_changed(tenant).await;
                }
                Action::GrantRole { person, .. } => self.people.person_changed(person).await,
                Action::ChangeKycLevel { .. }
                | Action::DecideHeldTransfer { .. }
                | Action::ConfirmScreeningHit { .. }
                | Action::ApproveReport { .. } => {}
            }
        }
        Ok(decided)
    }

    /// The requests with `status`; those past their expiry are marked expired first, so a
    /// list of pending requests never shows one that can no longer be approved.
    pub async fn pending_actions(
        &self,
        status: ActionStatus,
    ) -> Result<Vec<PendingAction>, OpsRefusal> {
        self.store.expire_pending_actions().await?;
        Ok(self.store.pending_actions(status).await?)
    }
}

fn not_self(actor: &StaffPrincipal, person: PersonId, why: &'static str) -> Result<(), OpsRefusal> {
    if actor.person == person {
        Err(OpsRefusal::OwnChange(why))
    } else {
        Ok(())
    }
}
