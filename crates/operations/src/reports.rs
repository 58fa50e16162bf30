//! Regulatory reports (DECISIONS.md, "Regulatory reporting"): a compliance officer starts a
//! report from a case; benteng fills it from what it knows (the reporting entity, the tenant,
//! the case's transfers, their recipients with identifiers unsealed only into the report, the
//! case's reasons); the officer completes it; a second officer approves it (a four-eyes
//! pending action, applied by the store in the decision's transaction); it is exported in the
//! FIU's format and marked submitted with the FIU's reference, or withdrawn. A submitted
//! report is never edited, only superseded by a new draft.
//!
//! The content is sealed JSON (the vault's envelope encryption, AAD bound to the report's row)
//! and every step is audited without a tenant, so nothing of it reaches a tenant (no tip-off).
//! Every command needs `reports:file`, which only the compliance officer's role grants.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::io::Write;

use benteng_auth::StaffPrincipal;
use benteng_core::approvals::{Action, ActionStatus};
use benteng_core::audit::{AuditContext, AuditEvent, Retention};
use benteng_core::ids::{CaseId, PendingActionId, ReportId, TenantId, TransferId};
use benteng_core::payments::recipient::BankAccount;
use benteng_core::roles::Permission;
use benteng_reports::content::{Address, Counterparty, ReportingEntity, Subject, Transaction};
use benteng_reports::daml::{DamlAnswer, DamlClock, DamlRecord, DamlRefusal};
use benteng_reports::deadlines::{ClockState, DeadlineRule};
use benteng_reports::fiu::{Format, GoamlProfile, StructuredProfile};
use benteng_reports::goaml::{ExportError, IftiDirection, IftiWriter};
use benteng_reports::{Missing, ReportContent, ReportKind, sar};
use benteng_store::{
    DamlAnswerWrite, NewReport, PendingAction, RecipientRow, ReportRow, ReportStatus,
    TransferRecord,
};
use benteng_vault::{Aad, ExposeSecret, KeyPurpose};
use rust_decimal::Decimal;
use time::OffsetDateTime;

use crate::{Operations, OpsRefusal};

/// Where reports go and how long each may take (configuration).
#[derive(Debug, Clone)]
pub struct ReportsSettings {
    /// The reporting entity as PPATK registered it.
    pub entity: ReportingEntity,
    /// LTKM: 3 working days in Indonesia from the suspicion being established.
    pub ltkm: DeadlineRule,
    /// UK SAR: "as soon as practicable"; the house rule's working days in Great Britain.
    pub uk_sar: DeadlineRule,
    /// EU: "promptly" (AMLR Art. 69); the house rule's working days on the TARGET calendar.
    pub eu_sar: DeadlineRule,
    /// The NCA's answer to a DAML request: 7 working days (`warn_hours` also warns before a
    /// moratorium ends).
    pub daml: DeadlineRule,
    /// PPATK transmode of a cross-border transfer (TKLNS: abroad, not through SWIFT).
    pub cross_border_transmode: String,
    /// PPATK transmode of a domestic transfer (KRM: money remittance).
    pub domestic_transmode: String,
    /// The EU FIUs reports may go to, by member state (ISO 3166 alpha-2).
    pub fius: BTreeMap<String, EuFiu>,
}

/// An EU member state's FIU: the reporting entity as it knows it, and its format.
#[derive(Debug, Clone)]
pub struct EuFiu {
    /// The FIU's name ("FIU-Nederland").
    pub name: String,
    pub format: EuFiuFormat,
}

/// How an EU FIU takes reports.
#[derive(Debug, Clone)]
pub enum EuFiuFormat {
    /// goAML XML with the FIU's entity id and codes, and the transmodes benteng fills in.
    Goaml {
        profile: GoamlProfile,
        cross_border_transmode: String,
        domestic_transmode: String,
    },
    /// The structured export (JSON, printable HTML) with the FIU's reason codes.
    Structured {
        entity: ReportingEntity,
        profile: StructuredProfile,
    },
}

impl Default for ReportsSettings {
    fn default() -> Self {
        let rule = |days, calendar: &str| DeadlineRule {
            working_days: days,
            calendar: calendar.to_owned(),
            warn_hours: 24,
        };
        Self {
            entity: ReportingEntity {
                name: String::new(),
                rentity_id: 0,
                branch: None,
                country: "ID".to_owned(),
                local_currency: "IDR".to_owned(),
            },
            ltkm: rule(3, "ID"),
            uk_sar: rule(1, "GB"),
            eu_sar: rule(1, "EU"),
            daml: rule(7, "GB"),
            cross_border_transmode: "TKLNS".to_owned(),
            domestic_transmode: "KRM".to_owned(),
            fius: BTreeMap::new(),
        }
    }
}

impl ReportsSettings {
    pub fn rule(&self, kind: ReportKind) -> &DeadlineRule {
        match kind {
            ReportKind::Ltkm => &self.ltkm,
            ReportKind::UkSar => &self.uk_sar,
            ReportKind::EuSar => &self.eu_sar,
        }
    }

    /// Where a `kind` report goes (an EU one: to the FIU of `fiu_country`); `None` for an EU
    /// report whose member state has no configured FIU.
    pub fn destination(&self, kind: ReportKind, fiu_country: Option<&str>) -> Option<Destination> {
        match kind {
            ReportKind::Ltkm => Some(Destination {
                fiu: "PPATK".to_owned(),
                format: DestinationFormat::Goaml(GoamlProfile::ppatk(self.entity.clone())),
                cross_border_transmode: self.cross_border_transmode.clone(),
                domestic_transmode: self.domestic_transmode.clone(),
            }),
            ReportKind::UkSar => Some(Destination {
                fiu: "NCA".to_owned(),
                format: DestinationFormat::Structured(
                    self.entity.clone(),
                    StructuredProfile::nca(),
                ),
                cross_border_transmode: self.cross_border_transmode.clone(),
                domestic_transmode: self.domestic_transmode.clone(),
            }),
            ReportKind::EuSar => {
                let fiu = self.fius.get(fiu_country?)?;
                Some(match &fiu.format {
                    EuFiuFormat::Goaml {
                        profile,
                        cross_border_transmode,
                        domestic_transmode,
                    } => Destination {
                        fiu: fiu.name.clone(),
                        format: DestinationFormat::Goaml(profile.clone()),
                        cross_border_transmode: cross_border_transmode.clone(),
                        domestic_transmode: domestic_transmode.clone(),
                    },
                    EuFiuFormat::Structured { entity, profile } => Destination {
                        fiu: fiu.name.clone(),
                        format: DestinationFormat::Structured(entity.clone(), profile.clone()),
                        cross_border_transmode: self.cross_border_transmode.clone(),
                        domestic_transmode: self.domestic_transmode.clone(),
                    },
                })
            }
        }
    }
}

/// Where a report goes: the FIU, its format, and the transmodes benteng fills in.
#[derive(Debug, Clone)]
pub struct Destination {
    pub fiu: String,
    pub format: DestinationFormat,
    pub cross_border_transmode: String,
    pub domestic_transmode: String,
}

/// goAML for one FIU, or the structured export.
#[derive(Debug, Clone)]
pub enum DestinationFormat {
    Goaml(GoamlProfile),
    Structured(ReportingEntity, StructuredProfile),
}

impl Destination {
    pub fn format(&self) -> Format<'_> {
        match &self.format {
            DestinationFormat::Goaml(profile) => Format::Goaml(profile),
            DestinationFormat::Structured(entity, profile) => Format::Structured(entity, profile),
        }
    }

    fn entity(&self) -> &ReportingEntity {
        match &self.format {
            DestinationFormat::Goaml(profile) => &profile.entity,
            DestinationFormat::Structured(entity, _) => entity,
        }
    }
}

/// Where a report's clocks stand and whom it goes to.
#[derive(Debug, Clone)]
pub struct ReportStanding {
    /// The FIU's name.
    pub fiu: String,
    /// The report's deadline (`running` once submitted or withdrawn).
    pub clock: ClockState,
    /// A submitted UK SAR's DAML clock while no consent is recorded.
    pub daml: Option<DamlClock>,
}

/// A report with its content in clear (for a compliance officer only).
#[derive(Debug, Clone)]
pub struct ReportDetail {
    pub row: ReportRow,
    pub kind: ReportKind,
    pub content: ReportContent,
    /// What the report still lacks for its format: empty when it can be approved.
    pub missing: Vec<Missing>,
    pub standing: ReportStanding,
}

/// What an export produced.
#[derive(Debug, Clone)]
pub struct Exported {
    pub bytes: Vec<u8>,
    pub content_type: &'static str,
    pub file_name: String,
}

/// An export's format.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExportFormat {
    /// goAML XML (an LTKM, an EU report to a goAML FIU).
    Goaml,
    /// The UK SAR's sections as JSON.
    SarJson,
    /// The UK SAR's printable page.
    SarHtml,
}

impl std::str::FromStr for ExportFormat {
    type Err = &'static str;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "goaml" => Ok(ExportFormat::Goaml),
            "json" => Ok(ExportFormat::SarJson),
            "html" => Ok(ExportFormat::SarHtml),
            _ => Err("must be one of: goaml, json, html"),
        }
    }
}

/// The size of one sealed chunk of a report's content (under the vault's per-field limit).
const CHUNK_BYTES: usize = 48 * 1024;
/// The AAD's tenant part: reports belong to the platform, not to a tenant.
const PLATFORM: &str = "platform";

fn missing_refusal(missing: Vec<Missing>) -> OpsRefusal {
    OpsRefusal::Incomplete(missing.into_iter().map(|m| (m.field, m.problem)).collect())
}

fn kind_of(row: &ReportRow) -> Result<ReportKind, OpsRefusal> {
    row.kind.parse().map_err(|_| {
        tracing::error!(report = %row.id, "a stored report has an unknown kind");
        OpsRefusal::Unavailable
    })
}

fn decimal(text: &str) -> Option<Decimal> {
    text.parse().ok()
}

impl Operations {
    fn reports_settings(&self) -> Result<&ReportsSettings, OpsRefusal> {
        self.reports.as_deref().ok_or_else(|| {
            tracing::error!("report command without the reports configuration");
            OpsRefusal::Unavailable
        })
    }

    fn may_file(actor: &StaffPrincipal) -> Result<(), OpsRefusal> {
        if actor.permits(Permission::ReportsFile) {
            Ok(())
        } else {
            Err(OpsRefusal::Forbidden(Permission::ReportsFile))
        }
    }

    fn seal_content(
        &self,
        id: ReportId,
        content: &ReportContent,
    ) -> Result<(String, String), OpsRefusal> {
        let keyring = self.keyring()?;
        let json = serde_json::to_vec(content).map_err(|error| {
            tracing::error!(%error, "a report's content did not encode");
            OpsRefusal::Unavailable
        })?;
        let mut sealed = Vec::new();
        for (n, chunk) in json.chunks(CHUNK_BYTES).enumerate() {
            let row = format!("{id}/{n}");
            let value = keyring
                .encrypt(
                    &KeyPurpose::NATIONAL_ID,
                    chunk,
                    &Aad::new(PLATFORM, "reports", "content", &row),
                )
                .map_err(|error| {
                    tracing::error!(%error, "sealing a report failed");
                    OpsRefusal::Unavailable
                })?;
            sealed.push(value);
        }
        Ok((
            sealed.join("\n"),
            hex::encode(benteng_crypto::sha256(&json)),
        ))
    }

    fn open_content(&self, row: &ReportRow) -> Result<ReportContent, OpsRefusal> {
        let keyring = self.keyring()?;
        let mut clear = Vec::new();
        for (n, value) in row.content_sealed.split('\n').enumerate() {
            let aad_row = format!("{}/{n}", row.id);
            let part = keyring
                .decrypt(value, &Aad::new(PLATFORM, "reports", "content", &aad_row))
                .map_err(|error| {
                    tracing::error!(%error, report = %row.id, "a report could not be opened");
                    OpsRefusal::Unavailable
                })?;
            clear.extend_from_slice(part.expose_secret());
        }
        if hex::encode(benteng_crypto::sha256(&clear)) != row.content_sha256 {
            tracing::error!(report = %row.id, "a report does not match its digest");
            return Err(OpsRefusal::Unavailable);
        }
        serde_json::from_slice(&clear).map_err(|error| {
            tracing::error!(%error, report = %row.id, "a report's content did not decode");
            OpsRefusal::Unavailable
        })
    }

    fn destination_of(&self, row: &ReportRow) -> Result<Destination, OpsRefusal> {
        let kind = kind_of(row)?;
        self.reports_settings()?
            .destination(kind, row.fiu_country.as_deref())
            .ok_or_else(|| {
                tracing::error!(report = %row.id, "a report's FIU is no longer configured");
                OpsRefusal::Conflict(
                    "the report's FIU is not configured (reports.fius); configure it to go on",
                )
            })
    }

    /// The DAML request a report carries, as recorded.
    fn daml_record(row: &ReportRow) -> Result<Option<DamlRecord>, OpsRefusal> {
        let Some(due_at) = row.daml_due_at else {
            return Ok(None);
        };
        let answer = row
            .daml_answer
            .as_deref()
            .map(str::parse::<DamlAnswer>)
            .transpose()
            .map_err(|_| {
                tracing::error!(report = %row.id, "a stored DAML answer is unknown");
                OpsRefusal::Unavailable
            })?;
        Ok(Some(DamlRecord {
            due_at,
            answer,
            moratorium_ends_at: row.daml_moratorium_ends_at,
        }))
    }

    /// Where `row`'s clocks stand now and the FIU it goes to.
    pub fn report_standing(&self, row: &ReportRow) -> Result<ReportStanding, OpsRefusal> {
        let settings = self.reports_settings()?;
        let now = self.clock.now();
        let clock = match row.status {
            ReportStatus::Draft | ReportStatus::Approved => {
                ClockState::at(now, row.warn_at, row.due_at)
            }
            ReportStatus::Submitted | ReportStatus::Withdrawn => ClockState::Running,
        };
        let warn = time::Duration::hours(i64::from(settings.daml.warn_hours));
        let daml = Self::daml_record(row)?.and_then(|record| record.clock(now, warn));
        let fiu = match kind_of(row)? {
            ReportKind::EuSar => row
                .fiu_country
                .as_deref()
                .and_then(|c| settings.fius.get(c))
                .map_or_else(|| ReportKind::EuSar.fiu().to_owned(), |f| f.name.clone()),
            kind => kind.fiu().to_owned(),
        };
        Ok(ReportStanding { fiu, clock, daml })
    }

    fn detail(&self, row: ReportRow) -> Result<ReportDetail, OpsRefusal> {
        let kind = kind_of(&row)?;
        let content = self.open_content(&row)?;
        let destination = self.destination_of(&row)?;
        let missing = content.missing_for(destination.format());
        let standing = self.report_standing(&row)?;
        Ok(ReportDetail {
            row,
            kind,
            content,
            missing,
            standing,
        })
    }

    /// One transfer as the report for `to` carries it: the recipient's identifiers unsealed,
    /// the local amount and the transmode as that FIU sees them.
    fn transaction(
        &self,
        t: &TransferRecord,
        r: &RecipientRow,
        to: &Destination,
    ) -> Result<Transaction, OpsRefusal> {
        let entity = to.entity();
        let keyring = self.keyring()?;
        let (tenant, recipient) = (t.tenant_id.to_string(), r.id.to_string());
        let account = keyring
            .decrypt_string(
                &r.bank_account_sealed,
                &Aad::new(&tenant, "recipients", "bank_account", &recipient),
            )
            .map_err(|error| {
                tracing::error!(%error, "unsealing a recipient's account for a report failed");
                OpsRefusal::Unavailable
            })?;
        let national_id = r
            .national_id_sealed
            .as_ref()
            .map(|sealed| {
                keyring
                    .decrypt_string(
                        sealed,
                        &Aad::new(&tenant, "recipients", "national_id", &recipient),
                    )
                    .map(|s| s.expose_secret().to_owned())
            })
            .transpose()
            .map_err(|error| {
                tracing::error!(%error, "unsealing a recipient's national id for a report failed");
                OpsRefusal::Unavailable
            })?;
        let (account, institution_code, iban) =
            match BankAccount::from_canonical(account.expose_secret()) {
                Some(BankAccount::Iban(iban)) => (
                    Some(iban.as_str().to_owned()),
                    None,
                    Some(iban.as_str().to_owned()),
                ),
                Some(BankAccount::Indonesian {
                    account_number,
                    bank_code,
                }) => (
                    Some(account_number.as_str().to_owned()),
                    Some(bank_code.as_str().to_owned()),
                    None,
                ),
                None => (None, None, None),
            };
        let local = &entity.local_currency;
        let local_amount = if t.source.currency().code() == local {
            decimal(&t.source.to_decimal().to_string())
        } else if t.target.currency().code() == local {
            decimal(&t.target.to_decimal().to_string())
        } else {
            None
        };
        // Cross-border for every FIU alike: the money leaves benteng's home country (its
        // tenants are there) for the recipient's.
        let cross_border = r.country.as_str() != self.reports_settings()?.entity.country;
        Ok(Transaction {
            number: t.id.to_string(),
            description: (!t.reference.is_empty()).then(|| t.reference.clone()),
            date: t
                .created_at
                .format(&time::format_description::well_known::Rfc3339)
                .unwrap_or_default(),
            status: t.status.as_str().to_owned(),
            source_amount: t.source.to_decimal(),
            source_currency: t.source.currency().code().to_owned(),
            target_amount: t.target.to_decimal(),
            target_currency: t.target.currency().code().to_owned(),
            local_amount,
            transmode: if cross_border {
                to.cross_border_transmode.clone()
            } else {
                to.domestic_transmode.clone()
            },
            recipient: Counterparty {
                kind: r.kind.as_str().to_owned(),
                name: r.name.as_str().to_owned(),
                country: r.country.as_str().to_owned(),
                account,
                institution_code,
                iban,
                national_id,
                address: r.address.as_ref().map(|a| Address {
                    line: a.line1.as_str().to_owned(),
                    city: a.city.as_str().to_owned(),
                    postal_code: a.postal_code.as_ref().map(|p| p.as_str().to_owned()),
                    country: a.country.as_str().to_owned(),
                }),
            },
        })
    }

    /// Starts a `kind` report from `case`, filled from what benteng knows; audited, and noted
    /// in the case's log. Its deadline clock starts now. An EU report goes to the FIU of
    /// `fiu` when named, else of the one member state the case's transfers go to that has a
    /// configured FIU.
    pub async fn create_report(
        &self,
        actor: &StaffPrincipal,
        case: CaseId,
        kind: ReportKind,
        fiu: Option<&str>,
        context: &AuditContext,
    ) -> Result<ReportDetail, OpsRefusal> {
        Self::may_file(actor)?;
        let settings = self.reports_settings()?;
        let case_row = self.store.case(case).await?;
        let tenant = self.store.tenant(case_row.tenant_id).await?;
        let mut transfers = Vec::new();
        for item in self.store.case_items(case).await? {
            if item.kind != "transfer" {
                continue;
            }
            let Ok(id) = item.item_id.parse::<TransferId>() else {
                continue;
            };
            let transfer = self.store.transfer_by_id(id).await?;
            let recipient = self
                .store
                .recipient(
                    transfer.tenant_id,
                    transfer.environment,
                    transfer.recipient_id,
                )
                .await?;
            transfers.push((transfer, recipient));
        }
        let fiu_country = match kind {
            ReportKind::EuSar => Some(choose_fiu(
                settings,
                fiu,
                transfers.iter().map(|(_, r)| r.country.as_str()),
            )?),
            _ if fiu.is_some() => {
                return Err(OpsRefusal::Invalid {
                    field: "fiu",
                    message: "only an EU report (eu_sar) names its FIU".to_owned(),
                });
            }
            _ => None,
        };
        let destination = settings
            .destination(kind, fiu_country.as_deref())
            .ok_or(OpsRefusal::Unavailable)?;
        let transactions = transfers
            .iter()
            .map(|(t, r)| self.transaction(t, r, &destination))
            .collect::<Result<Vec<_>, _>>()?;
        let case_notes = self
            .store
            .case_events(case)
            .await?
            .into_iter()
            .filter_map(|e| e.comment.map(|c| format!("{} ({}): {c}", e.kind, e.actor)))
            .collect();
        let content = ReportContent {
            subject: Subject {
                name: tenant.name.as_str().to_owned(),
                ..Subject::default()
            },
            transactions,
            case_notes,
            ..ReportContent::default()
        };
        let id = ReportId::new();
        let now = self.clock.now();
        let rule = settings.rule(kind);
        let due_at = rule.due(now).map_err(|error| {
            tracing::error!(%error, "a report's deadline could not be computed");
            OpsRefusal::Unavailable
        })?;
        let (content_sealed, content_sha256) = self.seal_content(id, &content)?;
        self.store
            .insert_report(
                &NewReport {
                    id,
                    kind: kind.as_str(),
                    case_id: Some(case),
                    content_sealed,
                    content_sha256,
                    created_by: actor.person,
                    at: now,
                    due_at,
                    warn_at: rule.warn_at(due_at),
                    supersedes: None,
                    fiu_country,
                },
                context,
            )
            .await?;
        self.detail(self.store.report(id).await?)
    }

    /// A report with its content; reading it is audited (it holds Tier 1 identifiers).
    pub async fn report(
        &self,
        actor: &StaffPrincipal,
        id: ReportId,
        context: &AuditContext,
    ) -> Result<ReportDetail, OpsRefusal> {
        Self::may_file(actor)?;
        let detail = self.detail(self.store.report(id).await?)?;
        let staff_only = context.staff_only();
        let event = AuditEvent::new(
            &staff_only,
            "report.read",
            Retention::Security,
            ("report", id.to_string()),
        )
        .change(
            "version",
            serde_json::Value::Null,
            detail.row.version.into(),
        );
        self.store.record_audit(&event).await?;
        Ok(detail)
    }

    /// Reports with `status` (all when `None`), soonest due first; no content.
    pub async fn reports(
        &self,
        actor: &StaffPrincipal,
        status: Option<ReportStatus>,
    ) -> Result<Vec<(ReportRow, ReportStanding)>, OpsRefusal> {
        Self::may_file(actor)?;
        self.store
            .reports(status, 500)
            .await?
            .into_iter()
            .map(|row| {
                let standing = self.report_standing(&row)?;
                Ok((row, standing))
            })
            .collect()
    }

    /// Replaces a draft's content (the officer's completion) if it is still at `version`;
    /// every text is checked for what XML can carry before it is stored.
    pub async fn update_report(
        &self,
        actor: &StaffPrincipal,
        id: ReportId,
        version: u32,
        content: ReportContent,
        context: &AuditContext,
    ) -> Result<ReportDetail, OpsRefusal> {
        Self::may_file(actor)?;
        let row = self.store.report(id).await?;
        if row.status != ReportStatus::Draft {
            return Err(OpsRefusal::Conflict(
                "only a draft can be edited; a submitted report can only be superseded",
            ));
        }
        if row.version != version {
            return Err(OpsRefusal::Conflict(
                "the report changed since that version",
            ));
        }
        let (sealed, sha) = self.seal_content(id, &content)?;
        let row = self
            .store
            .update_report_content(
                id,
                version,
                &sealed,
                &sha,
                actor.person,
                self.clock.now(),
                context,
            )
            .await
            .map_err(|e| match e {
                benteng_store::StoreError::Conflict => {
                    OpsRefusal::Conflict("the report changed since that version")
                }
                other => other.into(),
            })?;
        self.detail(row)
    }

    /// Asks a second officer to approve the draft as it stands: refused with every missing
    /// field when it is incomplete.
    pub async fn request_report_approval(
        &self,
        actor: &StaffPrincipal,
        id: ReportId,
        context: &AuditContext,
    ) -> Result<PendingAction, OpsRefusal> {
        Self::may_file(actor)?;
        let detail = self.detail(self.store.report(id).await?)?;
        if detail.row.status != ReportStatus::Draft {
            return Err(OpsRefusal::Conflict("only a draft is approved"));
        }
        if !detail.missing.is_empty() {
            return Err(missing_refusal(detail.missing));
        }
        let now = self.clock.now();
        let pending = PendingAction {
            id: PendingActionId::new(),
            action: Action::ApproveReport {
                report: id,
                version: detail.row.version,
            },
            status: ActionStatus::Pending,
            proposed_by: actor.person,
            proposed_at: now,
            expires_at: now + self.approval_ttl,
            decided_by: None,
            decided_at: None,
        };
        let staff_only = context.staff_only();
        self.store
            .request_report_approval(id, detail.row.version, &pending, &staff_only)
            .await
            .map_err(|e| match e {
                benteng_store::StoreError::Conflict => {
                    OpsRefusal::Conflict("the report changed; ask again")
                }
                other => other.into(),
            })?;
        Ok(pending)
    }

    /// The second officer approves (or rejects) the report's pending approval; neither the
    /// proposer nor the content's last editor may approve.
    pub async fn decide_report(
        &self,
        actor: &StaffPrincipal,
        id: ReportId,
        approve: bool,
        context: &AuditContext,
    ) -> Result<ReportDetail, OpsRefusal> {
        Self::may_file(actor)?;
        let row = self.store.report(id).await?;
        let Some(pending) = row.approval_id else {
            return Err(OpsRefusal::Conflict(
                "no approval was requested for this version",
            ));
        };
        if approve && row.updated_by == actor.person {
            return Err(OpsRefusal::OwnChange(
                "a report is approved by someone other than the officer who wrote it",
            ));
        }
        let staff_only = context.staff_only();
        self.decide(actor, pending, approve, &staff_only).await?;
        self.detail(self.store.report(id).await?)
    }

    /// The report in its FIU's format: only an approved or submitted one, checked complete
    /// again (never an invalid file); audited with the file's digest.
    pub async fn export_report(
        &self,
        actor: &StaffPrincipal,
        id: ReportId,
        format: ExportFormat,
        context: &AuditContext,
    ) -> Result<Exported, OpsRefusal> {
        Self::may_file(actor)?;
        let detail = self.detail(self.store.report(id).await?)?;
        if !matches!(
            detail.row.status,
            ReportStatus::Approved | ReportStatus::Submitted
        ) {
            return Err(OpsRefusal::Conflict("only an approved report is exported"));
        }
        let destination = self.destination_of(&detail.row)?;
        let reference = id.to_string();
        let kind = detail.kind.as_str().replace('_', "-");
        let exported = match (&destination.format, format) {
            (DestinationFormat::Goaml(profile), ExportFormat::Goaml) => {
                let submitted = detail.row.submitted_at.unwrap_or_else(|| self.clock.now());
                let bytes = benteng_reports::goaml::write_suspicion_report(
                    Vec::new(),
                    profile,
                    &detail.content,
                    &reference,
                    submitted,
                )
                .map_err(|e| match e {
                    ExportError::Incomplete(missing) => missing_refusal(missing),
                    other => {
                        tracing::error!(error = %other, "a goAML export failed");
                        OpsRefusal::Unavailable
                    }
                })?;
                Exported {
                    bytes,
                    content_type: "application/xml",
                    file_name: format!("{kind}-{reference}.xml"),
                }
            }
            (
                DestinationFormat::Structured(entity, profile),
                ExportFormat::SarJson | ExportFormat::SarHtml,
            ) => {
                let sar = sar::export(entity, &detail.content, &reference, profile)
                    .map_err(missing_refusal)?;
                let name = match detail.kind {
                    ReportKind::UkSar => "sar",
                    _ => kind.as_str(),
                };
                if format == ExportFormat::SarJson {
                    Exported {
                        bytes: serde_json::to_vec_pretty(&sar)
                            .map_err(|_| OpsRefusal::Unavailable)?,
                        content_type: "application/json",
                        file_name: format!("{name}-{reference}.json"),
                    }
                } else {
                    Exported {
                        bytes: sar::to_html(&sar).into_bytes(),
                        content_type: "text/html; charset=utf-8",
                        file_name: format!("{name}-{reference}.html"),
                    }
                }
            }
            _ => {
                return Err(OpsRefusal::Invalid {
                    field: "format",
                    message: "an LTKM or a report to a goAML FIU exports as goaml; a report \
                              to an FIU without goAML (the NCA, some EU FIUs) as json or html"
                        .to_owned(),
                });
            }
        };
        let staff_only = context.staff_only();
        let event = AuditEvent::new(
            &staff_only,
            "report.exported",
            Retention::Security,
            ("report", id.to_string()),
        )
        .change(
            "format",
            serde_json::Value::Null,
            exported.content_type.into(),
        )
        .change(
            "sha256",
            serde_json::Value::Null,
            hex::encode(benteng_crypto::sha256(&exported.bytes)).into(),
        );
        self.store.record_audit(&event).await?;
        Ok(exported)
    }

    /// Approved → submitted, with the FIU's reference.
    pub async fn mark_report_submitted(
        &self,
        actor: &StaffPrincipal,
        id: ReportId,
        fiu_reference: &str,
        context: &AuditContext,
    ) -> Result<ReportRow, OpsRefusal> {
        Self::may_file(actor)?;
        let settings = self.reports_settings()?;
        let detail = self.detail(self.store.report(id).await?)?;
        let now = self.clock.now();
        // A DAML request starts the NCA's clock when the SAR is filed.
        let daml_due_at = if detail.kind == ReportKind::UkSar && detail.content.daml_requested {
            Some(settings.daml.due(now).map_err(|error| {
                tracing::error!(%error, "a DAML deadline could not be computed");
                OpsRefusal::Unavailable
            })?)
        } else {
            None
        };
        let staff_only = context.staff_only();
        self.store
            .mark_report_submitted(id, fiu_reference, now, daml_due_at, &staff_only)
            .await
            .map_err(|e| match e {
                benteng_store::StoreError::Conflict => {
                    OpsRefusal::Conflict("only an approved report is marked submitted")
                }
                other => other.into(),
            })
    }

    /// Draft or approved → withdrawn, with the reason audited.
    pub async fn withdraw_report(
        &self,
        actor: &StaffPrincipal,
        id: ReportId,
        reason: &str,
        context: &AuditContext,
    ) -> Result<ReportRow, OpsRefusal> {
        Self::may_file(actor)?;
        let staff_only = context.staff_only();
        self.store
            .withdraw_report(id, reason, self.clock.now(), &staff_only)
            .await
            .map_err(|e| match e {
                benteng_store::StoreError::Conflict => {
                    OpsRefusal::Conflict("a submitted or withdrawn report cannot be withdrawn")
                }
                other => other.into(),
            })
    }

    /// A new draft that supersedes a submitted report, starting from its content.
    pub async fn supersede_report(
        &self,
        actor: &StaffPrincipal,
        id: ReportId,
        context: &AuditContext,
    ) -> Result<ReportDetail, OpsRefusal> {
        Self::may_file(actor)?;
        let settings = self.reports_settings()?;
        let old = self.detail(self.store.report(id).await?)?;
        if old.row.status != ReportStatus::Submitted {
            return Err(OpsRefusal::Conflict(
                "only a submitted report is superseded",
            ));
        }
        let new_id = ReportId::new();
        let now = self.clock.now();
        let rule = settings.rule(old.kind);
        let due_at = rule.due(now).map_err(|error| {
            tracing::error!(%error, "a report's deadline could not be computed");
            OpsRefusal::Unavailable
        })?;
        let (content_sealed, content_sha256) = self.seal_content(new_id, &old.content)?;
        let staff_only = context.staff_only();
        self.store
            .supersede_report(
                &NewReport {
                    id: new_id,
                    kind: old.kind.as_str(),
                    case_id: old.row.case_id,
                    content_sealed,
                    content_sha256,
                    created_by: actor.person,
                    at: now,
                    due_at,
                    warn_at: rule.warn_at(due_at),
                    supersedes: Some(id),
                    fiu_country: old.row.fiu_country.clone(),
                },
                &staff_only,
            )
            .await
            .map_err(|e| match e {
                benteng_store::StoreError::Conflict => {
                    OpsRefusal::Conflict("the report was superseded already")
                }
                other => other.into(),
            })?;
        self.detail(self.store.report(new_id).await?)
    }
}

/// The member state whose FIU an EU report goes to: the one named (it must be configured),
/// else the one member state with a configured FIU that the case's transfers go to. The
/// obliged entity reports to the FIU of the member state where it is established (AMLR Art.
/// 69), and benteng's establishments in the EU are where it pays out: the configured FIUs.
/// Transfers to several such states, or to none, need the officer to name the FIU.
fn choose_fiu<'a>(
    settings: &ReportsSettings,
    named: Option<&str>,
    destinations: impl Iterator<Item = &'a str>,
) -> Result<String, OpsRefusal> {
    let configured = || settings.fius.keys().cloned().collect::<Vec<_>>().join(", ");
    if let Some(country) = named {
        return if settings.fius.contains_key(country) {
            Ok(country.to_owned())
        } else {
            Err(OpsRefusal::Invalid {
                field: "fiu",
                message: format!(
                    "no FIU is configured for that country (configured: {})",
                    configured()
                ),
            })
        };
    }
    let found: BTreeSet<&str> = destinations
        .filter(|c| settings.fius.contains_key(*c))
        .collect();
    let mut found = found.into_iter();
    match (found.next(), found.next()) {
        (Some(one), None) => Ok(one.to_owned()),
        (None, _) => Err(OpsRefusal::Invalid {
            field: "fiu",
            message: format!(
                "the case's transfers go to no member state with a configured FIU; name one \
                 (configured: {})",
                configured()
            ),
        }),
        (Some(_), Some(_)) => Err(OpsRefusal::Invalid {
            field: "fiu",
            message: "the case's transfers go to several member states with a configured \
                      FIU; name the one this report goes to"
                .to_owned(),
        }),
    }
}

impl Operations {
    /// Records the NCA's answer to a submitted UK SAR's DAML request (consent granted,
    /// refused: a 31-day moratorium from now, or deemed: the notice period or the moratorium
    /// ended without one), audited. One officer records it, as one marks a report submitted:
    /// it is a fact the NCA decided, not a decision of ours; the held transfer's release that
    /// consent allows still goes through the case's four-eyes decision.
    pub async fn record_daml_answer(
        &self,
        actor: &StaffPrincipal,
        id: ReportId,
        answer: DamlAnswer,
        note: &str,
        context: &AuditContext,
    ) -> Result<(ReportRow, ReportStanding), OpsRefusal> {
        Self::may_file(actor)?;
        let row = self.store.report(id).await?;
        let record = match (kind_of(&row)?, row.status, Self::daml_record(&row)?) {
            (ReportKind::UkSar, ReportStatus::Submitted, Some(record)) => record,
            _ => {
                return Err(OpsRefusal::Conflict(
                    "only a submitted UK SAR that asks for a defence (DAML) has an answer to record",
                ));
            }
        };
        let now = self.clock.now();
        let after = record.answer(answer, now).map_err(|refusal| {
            OpsRefusal::Conflict(match refusal {
                DamlRefusal::Settled => "consent was already given (granted or deemed)",
                DamlRefusal::RefusalTooLate => {
                    "a refusal comes within the notice period; after it, consent is deemed"
                }
                DamlRefusal::NotYetDeemed => {
                    "consent is deemed only once the notice period (or the moratorium) has ended"
                }
                DamlRefusal::AlreadyRefused => "the NCA refused already; the moratorium runs",
            })
        })?;
        let staff_only = context.staff_only();
        let row = self
            .store
            .record_daml_answer(
                &DamlAnswerWrite {
                    report: id,
                    expected: record.answer.map(DamlAnswer::as_str),
                    answer: answer.as_str(),
                    moratorium_ends_at: after.moratorium_ends_at,
                    by: actor.person,
                    at: now,
                    note,
                },
                &staff_only,
            )
            .await
            .map_err(|e| match e {
                benteng_store::StoreError::Conflict => OpsRefusal::Conflict(
                    "the report's DAML answer changed meanwhile; read it again",
                ),
                other => other.into(),
            })?;
        let standing = self.report_standing(&row)?;
        Ok((row, standing))
    }
}

/// Tenants' names, read once each while a period's IFTI report is written.
#[derive(Default)]
pub(crate) struct TenantNames(HashMap<TenantId, String>);

impl TenantNames {
    pub(crate) async fn name(
        &mut self,
        ops: &Operations,
        tenant: TenantId,
    ) -> Result<String, OpsRefusal> {
        if let Some(name) = self.0.get(&tenant) {
            return Ok(name.clone());
        }
        let name = ops.store.tenant(tenant).await?.name.as_str().to_owned();
        self.0.insert(tenant, name.clone());
        Ok(name)
    }
}

/// What an IFTI run wrote.
#[derive(Debug, Clone, Copy)]
pub struct IftiSummary {
    pub transfers: u64,
}

impl Operations {
    /// Writes the IFTI report (TKLOP: outgoing, by a non-bank funds-transfer operator) of the
    /// live cross-border transfers completed in `[from, to)` to `out`, streamed page by page.
    /// Refused naming the transfer and its fields when one cannot be reported; `Empty` when
    /// there is none. The caller discards `out` on any error.
    pub async fn write_ifti<W: Write>(
        &self,
        actor: Option<&StaffPrincipal>,
        from: OffsetDateTime,
        to: OffsetDateTime,
        out: W,
        context: &AuditContext,
    ) -> Result<(W, IftiSummary), OpsRefusal> {
        if let Some(actor) = actor {
            Self::may_file(actor)?;
        }
        let settings = self.reports_settings()?;
        let reference = format!(
            "IFTI-{}-{}",
            from.format(&time::format_description::well_known::Rfc3339)
                .unwrap_or_default(),
            to.format(&time::format_description::well_known::Rfc3339)
                .unwrap_or_default()
        );
        let refused = |e: ExportError| match e {
            ExportError::Incomplete(missing) => missing_refusal(missing),
            ExportError::Empty => {
                OpsRefusal::Conflict("no completed cross-border transfers in the period")
            }
            ExportError::Io(error) => {
                tracing::error!(%error, "writing an IFTI report failed");
                OpsRefusal::Unavailable
            }
        };
        let ppatk = settings
            .destination(ReportKind::Ltkm, None)
            .ok_or(OpsRefusal::Unavailable)?;
        let mut writer = IftiWriter::new(
            out,
            &GoamlProfile::ppatk(settings.entity.clone()),
            IftiDirection::Outgoing,
            &reference,
            self.clock.now(),
        )
        .map_err(refused)?;
        let mut names = TenantNames::default();
        let mut after: Option<(OffsetDateTime, TransferId)> = None;
        loop {
            let page = self
                .store
                .completed_cross_border(from, to, &settings.entity.country, after, 500)
                .await?;
            let Some((last, _)) = page.last() else { break };
            after = Some((last.updated_at, last.id));
            for (transfer, recipient) in &page {
                let sender = names.name(self, transfer.tenant_id).await?;
                let mut t = self.transaction(transfer, recipient, &ppatk)?;
                // Written automatically, with no officer to complete it: an account whose
                // bank benteng cannot name (an IBAN) is reported by its holder, the IBAN in
                // the comments, rather than refused.
                if t.recipient.institution_code.is_none() {
                    t.recipient.account = None;
                }
                writer.transaction(&sender, &t).map_err(refused)?;
            }
        }
        let (out, transfers) = writer.finish().map_err(refused)?;
        let staff_only = context.staff_only();
        let event = AuditEvent::new(
            &staff_only,
            "report.ifti_generated",
            Retention::Security,
            ("report", reference),
        )
        .change("transfers", serde_json::Value::Null, transfers.into());
        self.store.record_audit(&event).await?;
        Ok((out, IftiSummary { transfers }))
    }
}
