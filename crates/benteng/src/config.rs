//! Configuration: defaults, then a TOML file, then `BENTENG_*` environment variables (sections
//! separated by `__`, e.g. `BENTENG_DATABASE__URL`). Every key and its default is listed in
//! `docs/configuration.md`; unknown keys are refused so a typo cannot silently keep a default.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use benteng_crypto::SecretString;
use benteng_transport::{OcspConfig, PolicyMode, TlsConfig};
use figment::Figment;
use figment::providers::{Format, Serialized, Toml};
use serde::{Deserialize, Serialize};

use crate::listeners::{ListenerSettings, RouteSelection, defaults as listener_defaults};
#[path = "protection_config.rs"]
pub mod protection;

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    /// Where the embedded default keeps its files: the SQLite database, generated secrets,
    /// dev certificates.
    pub data_dir: PathBuf,
    pub server: ServerConfig,
    pub database: DatabaseConfig,
    pub cache: CacheConfig,
    pub auth: AuthConfig,
    pub http: HttpConfig,
    pub log: LogConfig,
    pub payments: PaymentsConfig,
    pub rail: RailConfig,
    pub keys: KeysConfig,
    pub screening: crate::screening::ScreeningConfig,
    pub protection: protection::ProtectionConfig,
    pub people: PeopleConfig,
    pub webhooks: WebhooksConfig,
    pub monitoring: MonitoringConfig,
    pub kyc: KycConfig,
    pub cases: CasesConfig,
    pub incidents: IncidentsConfig,
    pub audit: AuditConfig,
    pub reports: ReportsConfig,
    pub metrics: MetricsConfig,
    pub fapi: FapiConfig,
    /// The ISO 20022 rail's identity and counterparties; absent: no ISO 20022 messages.
    pub iso20022: Option<Iso20022Config>,
}

/// `[iso20022]`: the platform's identity in the messages it signs (debtor, instructing agent,
/// `AppHdr/Fr`), the counterparty it sends them to, and the counterparties whose signed
/// status reports it accepts. See docs/iso20022.md.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Iso20022Config {
    /// The platform's legal name (SEPA Latin characters after transliteration, ≤ 140).
    pub name: String,
    /// The platform's BIC.
    pub bic: String,
    /// The platform's settlement account, debited in every message.
    pub iban: String,
    #[serde(default)]
    pub street_name: Option<String>,
    #[serde(default)]
    pub building_number: Option<String>,
    #[serde(default)]
    pub post_code: Option<String>,
    pub town_name: String,
    /// ISO 3166 alpha-2.
    pub country: String,
    /// The BIC messages go to: `AppHdr/To`, the instructed agent (pacs.008), the partner bank
    /// holding the platform's account (pain.001).
    pub counterparty_bic: String,
    /// What this counterparty is sent: `"pacs.008"` (one FI-to-FI message per transfer, the
    /// default) or `"pain.001"` (batches of a tenant's transfers in one currency, closed by
    /// `batch_window_ms` / `batch_max_transfers`).
    #[serde(default)]
    pub message: OutgoingMessage,
    /// pain.001: a batch is closed when its oldest transfer has waited this long since it was
    /// submitted.
    #[serde(default = "default_batch_window_ms")]
    pub batch_window_ms: u64,
    /// pain.001: a batch is closed as soon as it holds this many transfers (1 to 1000).
    #[serde(default = "default_batch_max_transfers")]
    pub batch_max_transfers: usize,
    /// Counterparties whose signatures are accepted, each with the one certificate it signs
    /// with (DER or PEM file). Several entries with one name during a rotation overlap.
    #[serde(default)]
    pub counterparties: Vec<CounterpartyConfig>,
    /// Incoming messages larger than this are refused unread.
    #[serde(default = "default_max_message_bytes")]
    pub max_message_bytes: usize,
    /// The rail's file drops: signed pacs.008 are written to `outbox_dir`, signed pacs.002 are
    /// read from `inbox_dir`. Both set: the ISO 20022 rail runs and live IBAN transfers in EUR
    /// or GBP are routed to it.
    #[serde(default)]
    pub outbox_dir: Option<PathBuf>,
    #[serde(default)]
    pub inbox_dir: Option<PathBuf>,
    /// The counterparty's HTTPS endpoint: signed messages are POSTed there (`application/xml`)
    /// through the pinned outbound client instead of the outbox. Set (or `outbox_dir`): the
    /// ISO 20022 rail runs.
    #[serde(default)]
    pub outbound_url: Option<String>,
    /// Trust roots, SPKI pins and timeout of the connection to `outbound_url`.
    #[serde(default)]
    pub outbound_tls: benteng_transport::OutboundTlsConfig,
    /// Development and tests only: a simulated bank (its own RSA key, registered as
    /// counterparty "simulated counterparty") answers every pacs.008 in the outbox with a
    /// signed pacs.002 in the inbox after `simulated_delay_ms` (RJCT AC04 when the remittance
    /// contains `REJECT`, ACSC otherwise, then a pacs.004 return when it contains `RETURN`).
    /// File drops only (`outbox_dir` and `inbox_dir`).
    #[serde(default)]
    pub simulate_counterparty: bool,
    #[serde(default)]
    pub simulated_delay_ms: u64,
}

/// `iso20022.message`: what the counterparty is sent.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum OutgoingMessage {
    /// One pacs.008.001.08 per transfer.
    #[default]
    #[serde(rename = "pacs.008")]
    Pacs008,
    /// pain.001.001.09 batches.
    #[serde(rename = "pain.001")]
    Pain001,
}

fn default_batch_window_ms() -> u64 {
    60_000
}

fn default_batch_max_transfers() -> usize {
    benteng_iso20022::message::MAX_BATCH
}

fn default_max_message_bytes() -> usize {
    benteng_iso20022::verify::DEFAULT_MAX_BYTES
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CounterpartyConfig {
    pub name: String,
    /// The certificate its XMLDSig signatures carry (DER or PEM).
    pub certificate_file: PathBuf,
    /// The TLS client certificate it presents when it POSTs status reports to
    /// `/iso20022/status-reports` (PEM or DER; matched by SHA-256). None: it cannot use that
    /// route.
    #[serde(default)]
    pub client_certificate_file: Option<PathBuf>,
}

/// KYC evidence.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct KycConfig {
    /// The largest KYC document a tenant may upload, in bytes (1 to 67108864). The document
    /// route alone takes bodies this large; every other route keeps `http.body_limit_bytes`.
    pub max_document_bytes: usize,
}

/// `[incidents]`: security detections (see docs/incidents.md).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct IncidentsConfig {
    /// How often each instance verifies the audit chains; a break opens (or joins) a P1
    /// incident. 0: never (`benteng audit verify` still does).
    pub audit_verify_interval_secs: u64,
    /// A detections file (TOML) instead of the compiled-in detections; read at start, and a
    /// file that does not validate stops the start with its line.
    pub detections_file: Option<PathBuf>,
    /// Where incident alerts go (a chat or paging tool's webhook): `https://` (or `http://`
    /// where `webhooks.allow_http` allows it), checked like tenant endpoints against
    /// `webhooks.allow_private`. Unset: no alerts are sent (incidents still open).
    pub notify_url: Option<String>,
}

impl Default for IncidentsConfig {
    fn default() -> Self {
        Self {
            audit_verify_interval_secs: 300,
            detections_file: None,
            notify_url: None,
        }
    }
}

impl IncidentsConfig {
    /// The detections in force: the file's, or the compiled-in ones.
    pub fn detections(&self) -> anyhow::Result<benteng_core::incidents::Detections> {
        use anyhow::Context as _;
        match &self.detections_file {
            None => Ok(benteng_core::incidents::Detections::defaults()),
            Some(path) => {
                let text = std::fs::read_to_string(path)
                    .with_context(|| format!("reading {}", path.display()))?;
                benteng_core::incidents::Detections::parse(&text)
                    .with_context(|| format!("detections file {}", path.display()))
            }
        }
    }
}

/// `[audit]`: anchors of the audit trail outside the database (docs/operations.md).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AuditConfig {
    /// Where each instance writes a signed anchor of every chain's head
    /// (`audit-anchor-{time}.jws`), and whose newest anchor the periodic verifier checks the
    /// chains against. Put it where the database's users cannot write (another host's mount,
    /// object storage with retention lock). Unset: no scheduled anchors.
    pub anchor_dir: Option<PathBuf>,
    /// How often an anchor is written to `anchor_dir`; 0: never.
    pub anchor_interval_secs: u64,
}

impl Default for AuditConfig {
    fn default() -> Self {
        Self {
            anchor_dir: None,
            anchor_interval_secs: 3600,
        }
    }
}

/// `[metrics]`: the `/metrics` gauges read from the database (docs/operations.md). They are
/// read on a timer, not per scrape, so a scrape costs the same however large the tables grow,
/// and every instance reports the same numbers.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct MetricsConfig {
    /// How often the in-flight transfers and the audit sealer's backlog are counted, in seconds
    /// (index range reads over unfinished transfers and recent audit events only).
    pub store_gauges_interval_secs: u64,
    /// How often the ledger's invariants are checked (the same check as `benteng ledger
    /// check`, a pass over the whole ledger), in seconds; 0: never.
    pub ledger_check_interval_secs: u64,
}

impl Default for MetricsConfig {
    fn default() -> Self {
        Self {
            store_gauges_interval_secs: 15,
            ledger_check_interval_secs: 3600,
        }
    }
}

/// `[reports]`: regulatory reports (see docs/reports.md): the reporting entity as the FIU
/// knows it, and each report type's deadline clock.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ReportsConfig {
    /// The reporting entity's legal name.
    pub entity_name: String,
    /// The id PPATK's goAML gave the reporting entity (0: not registered; exports are refused
    /// naming it).
    pub rentity_id: u32,
    pub branch: Option<String>,
    /// The FIU's country (ISO 3166 alpha-2) and local currency.
    pub country: String,
    pub local_currency: String,
    /// PPATK transmode codes of cross-border and domestic transfers.
    pub cross_border_transmode: String,
    pub domestic_transmode: String,
    /// Deadline clocks: working days on a calendar (`ID`, `GB`, `EU`), alerting `warn_hours`
    /// before.
    pub ltkm: benteng_reports::deadlines::DeadlineRule,
    pub uk_sar: benteng_reports::deadlines::DeadlineRule,
    pub eu_sar: benteng_reports::deadlines::DeadlineRule,
    pub daml: benteng_reports::deadlines::DeadlineRule,
    /// How often the deadline clocks are checked (metrics and alerts), in seconds.
    pub check_interval_secs: u64,
    /// `[reports.fius.XX]`: the EU FIUs reports go to, by member state (ISO 3166 alpha-2).
    pub fius: std::collections::BTreeMap<String, EuFiuConfig>,
}

/// How an EU FIU takes reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EuFiuFormatName {
    /// goAML XML (the `goaml` keys below are required).
    Goaml,
    /// The structured export (JSON, printable HTML).
    Structured,
}

/// `[reports.fius.XX]`: one EU member state's FIU. For a goAML FIU, its entity id, report
/// code and code lists come from the FIU's own goAML schema and registration.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EuFiuConfig {
    /// The FIU's name ("FIU-Nederland").
    pub name: String,
    pub format: EuFiuFormatName,
    /// The reporting entity's name as this FIU knows it (default: `reports.entity_name`).
    #[serde(default)]
    pub entity_name: Option<String>,
    /// goAML: the id this FIU gave the reporting entity.
    #[serde(default)]
    pub rentity_id: Option<u32>,
    #[serde(default)]
    pub rentity_branch: Option<String>,
    /// The FIU's local currency (default EUR).
    #[serde(default)]
    pub local_currency: Option<String>,
    /// goAML: the report code of a suspicious transaction report (often STR).
    #[serde(default)]
    pub report_code: Option<String>,
    /// goAML: the funds code of a transfer from or to an account.
    #[serde(default)]
    pub funds_code: Option<String>,
    /// goAML: the transmode codes benteng fills in for a transfer leaving the member state,
    /// and for one within it.
    #[serde(default)]
    pub transmode_cross_border: Option<String>,
    #[serde(default)]
    pub transmode_domestic: Option<String>,
    /// goAML: the contact types of a business and of a private address.
    #[serde(default)]
    pub business_address_type: Option<String>,
    #[serde(default)]
    pub private_address_type: Option<String>,
    /// The FIU's indicator (goAML) or reason (structured) codes an officer may use.
    #[serde(default)]
    pub indicators: Vec<String>,
    /// goAML: the FIU's legal form codes.
    #[serde(default)]
    pub legal_forms: Vec<String>,
}

/// The member states of the EU (ISO 3166 alpha-2), the keys `[reports.fius]` accepts.
const EU_MEMBER_STATES: [&str; 27] = [
    "AT", "BE", "BG", "CY", "CZ", "DE", "DK", "EE", "ES", "FI", "FR", "GR", "HR", "HU", "IE", "IT",
    "LT", "LU", "LV", "MT", "NL", "PL", "PT", "RO", "SE", "SI", "SK",
];

/// A code from the FIU's lists: 1 to 16 printable ASCII characters.
fn fiu_code(key: &str, value: &str) -> Result<String, String> {
    if value.is_empty() || value.len() > 16 || !value.chars().all(|c| c.is_ascii_graphic()) {
        return Err(format!("{key}: 1 to 16 printable ASCII characters"));
    }
    Ok(value.to_owned())
}

impl EuFiuConfig {
    /// The FIU as the operators' layer uses it; every problem named by its key.
    fn settings(
        &self,
        prefix: &str,
        country: &str,
        default_name: &str,
    ) -> Result<benteng_operations::EuFiu, Vec<String>> {
        use benteng_operations::{EuFiu, EuFiuFormat};
        use benteng_reports::fiu::{GoamlCodes, GoamlProfile, StructuredProfile};
        let mut problems = Vec::new();
        let text_ok = |t: &str| t.chars().all(benteng_reports::xml::is_xml_char);
        if self.name.trim().is_empty() || self.name.chars().count() > 255 || !text_ok(&self.name) {
            problems.push(format!("{prefix}.name: 1 to 255 characters XML can carry"));
        }
        let entity_name = self
            .entity_name
            .clone()
            .unwrap_or_else(|| default_name.to_owned());
        if entity_name.chars().count() > 255 || !text_ok(&entity_name) {
            problems.push(format!(
                "{prefix}.entity_name: at most 255 characters XML can carry"
            ));
        }
        if let Some(branch) = &self.rentity_branch
            && (branch.chars().count() > 255 || !text_ok(branch))
        {
            problems.push(format!(
                "{prefix}.rentity_branch: at most 255 characters XML can carry"
            ));
        }
        let local_currency = self
            .local_currency
            .clone()
            .unwrap_or_else(|| "EUR".to_owned());
        if !benteng_reports::codes::ppatk()
            .currencies
            .contains(&local_currency)
        {
            problems.push(format!(
                "{prefix}.local_currency: not an ISO 4217 currency code"
            ));
        }
        let mut codes = |list: &[String], key: &str| -> std::collections::BTreeSet<String> {
            list.iter()
                .enumerate()
                .filter_map(|(i, c)| {
                    fiu_code(&format!("{prefix}.{key}[{i}]"), c)
                        .map_err(|e| problems.push(e))
                        .ok()
                })
                .collect()
        };
        let indicators = codes(&self.indicators, "indicators");
        let legal_forms = codes(&self.legal_forms, "legal_forms");
        let entity = benteng_reports::content::ReportingEntity {
            name: entity_name,
            rentity_id: self.rentity_id.unwrap_or(0),
            branch: self.rentity_branch.clone(),
            country: country.to_owned(),
            local_currency,
        };
        let goaml_keys = [
            ("report_code", &self.report_code),
            ("funds_code", &self.funds_code),
            ("transmode_cross_border", &self.transmode_cross_border),
            ("transmode_domestic", &self.transmode_domestic),
            ("business_address_type", &self.business_address_type),
            ("private_address_type", &self.private_address_type),
        ];
        let format = match self.format {
            EuFiuFormatName::Goaml => {
                if self.rentity_id.unwrap_or(0) == 0 {
                    problems.push(format!(
                        "{prefix}.rentity_id: required for a goAML FIU (the id the FIU gave \
                         the reporting entity, at least 1)"
                    ));
                }
                let mut value = |key: &str, v: &Option<String>| -> String {
                    match v {
                        None => {
                            problems.push(format!("{prefix}.{key}: required for a goAML FIU"));
                            String::new()
                        }
                        Some(v) => fiu_code(&format!("{prefix}.{key}"), v)
                            .map_err(|e| problems.push(e))
                            .unwrap_or_default(),
                    }
                };
                let [report, funds, cross, domestic, business, private] =
                    goaml_keys.map(|(key, v)| value(key, v));
                EuFiuFormat::Goaml {
                    profile: GoamlProfile {
                        entity,
                        // Central European time; see docs/reports.md for the zones not modelled.
                        zone: "Europe/Brussels".to_owned(),
                        codes: GoamlCodes {
                            report_code: report,
                            funds_code: funds,
                            transmodes: [cross.clone(), domestic.clone()].into_iter().collect(),
                            business_address_type: business,
                            private_address_type: private,
                            indicators,
                            legal_forms,
                        },
                    },
                    cross_border_transmode: cross,
                    domestic_transmode: domestic,
                }
            }
            EuFiuFormatName::Structured => {
                for (key, v) in goaml_keys {
                    if v.is_some() {
                        problems.push(format!("{prefix}.{key}: only for a goAML FIU"));
                    }
                }
                if self.rentity_id.is_some() {
                    problems.push(format!("{prefix}.rentity_id: only for a goAML FIU"));
                }
                if !self.legal_forms.is_empty() {
                    problems.push(format!("{prefix}.legal_forms: only for a goAML FIU"));
                }
                EuFiuFormat::Structured {
                    profile: StructuredProfile::eu(&self.name, &indicators),
                    entity,
                }
            }
        };
        if problems.is_empty() {
            Ok(EuFiu {
                name: self.name.clone(),
                format,
            })
        } else {
            Err(problems)
        }
    }
}

impl Default for ReportsConfig {
    fn default() -> Self {
        let settings = benteng_operations::ReportsSettings::default();
        Self {
            entity_name: String::new(),
            rentity_id: 0,
            branch: None,
            country: settings.entity.country,
            local_currency: settings.entity.local_currency,
            cross_border_transmode: settings.cross_border_transmode,
            domestic_transmode: settings.domestic_transmode,
            ltkm: settings.ltkm,
            uk_sar: settings.uk_sar,
            eu_sar: settings.eu_sar,
            daml: settings.daml,
            check_interval_secs: 60,
            fius: std::collections::BTreeMap::new(),
        }
    }
}

impl ReportsConfig {
    /// The settings the operators' layer uses; refused when a calendar is unknown or an
    /// FIU is misconfigured (every problem named by its key).
    pub fn settings(&self) -> anyhow::Result<benteng_operations::ReportsSettings> {
        for (name, rule) in [
            ("ltkm", &self.ltkm),
            ("uk_sar", &self.uk_sar),
            ("eu_sar", &self.eu_sar),
            ("daml", &self.daml),
        ] {
            benteng_reports::deadlines::calendar(&rule.calendar)
                .map_err(|e| anyhow::anyhow!("reports.{name}.calendar: {e}"))?;
        }
        let mut fius = std::collections::BTreeMap::new();
        let mut problems = Vec::new();
        for (country, fiu) in &self.fius {
            let prefix = format!("reports.fius.{}", country.escape_debug());
            if !EU_MEMBER_STATES.contains(&country.as_str()) {
                problems.push(format!(
                    "{prefix}: not an EU member state's ISO 3166 alpha-2 code (upper case)"
                ));
                continue;
            }
            match fiu.settings(&prefix, country, &self.entity_name) {
                Ok(fiu) => {
                    fius.insert(country.clone(), fiu);
                }
                Err(found) => problems.extend(found),
            }
        }
        if !problems.is_empty() {
            anyhow::bail!("{}", problems.join("; "));
        }
        Ok(benteng_operations::ReportsSettings {
            entity: benteng_reports::content::ReportingEntity {
                name: self.entity_name.clone(),
                rentity_id: self.rentity_id,
                branch: self.branch.clone(),
                country: self.country.clone(),
                local_currency: self.local_currency.clone(),
            },
            ltkm: self.ltkm.clone(),
            uk_sar: self.uk_sar.clone(),
            eu_sar: self.eu_sar.clone(),
            daml: self.daml.clone(),
            cross_border_transmode: self.cross_border_transmode.clone(),
            domestic_transmode: self.domestic_transmode.clone(),
            fius,
        })
    }
}

/// `[fapi]`: the FAPI 2.0 authorization server (see docs/fapi.md).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct FapiConfig {
    /// The issuer identifier: the `https://` origin clients reach the API listener at (no
    /// trailing slash). Unset: the API listener's bound address (development and tests only).
    pub issuer: Option<String>,
}

/// `[cases]`: compliance cases: their inboxes and SLAs (see docs/console.md).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct CasesConfig {
    /// The inbox held transfers' cases open in.
    pub inbox: String,
    /// How soon a new case is due, in hours (1 to 720).
    pub sla_hours: u64,
    /// How long a proposed decision waits for its second person, in hours (1 to 720).
    pub proposal_ttl_hours: u64,
    /// The largest held transfer (in whole US dollars) one person may release through
    /// `POST /admin/v1/transfers/{id}/review`; above it, a release takes the case's four eyes
    /// (0: every release does; at most 1,000,000).
    pub single_release_max_usd: u64,
    /// The inbox monitoring alerts' cases open in.
    pub alert_inbox: String,
    /// How soon a new alert case is due, in hours (1 to 720).
    pub alert_sla_hours: u64,
    /// The inbox cases of screening hits (from a rescreen or a list update) open in.
    pub screening_inbox: String,
    /// How soon a new screening case is due, in hours (1 to 720).
    pub screening_sla_hours: u64,
    /// The inbox cases of KYC upgrade requests open in.
    pub kyc_inbox: String,
    /// How soon a new KYC case is due, in hours (1 to 720).
    pub kyc_sla_hours: u64,
    /// The most bytes one case attachment may have (1 to 64 MiB; default 10 MiB).
    pub attachment_max_bytes: usize,
    /// `[cases.escalation.INBOX]`: where a case of INBOX moves when it is still not closed
    /// long after its SLA.
    pub escalation: BTreeMap<String, EscalationConfig>,
}

/// `[cases.escalation.INBOX]`: one inbox's escalation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EscalationConfig {
    /// The inbox the case moves to.
    pub to: String,
    /// How long past its SLA due time the case moves, in hours (0 to 720; 0: as soon as the
    /// SLA is missed).
    pub after_hours: u64,
    /// How soon the case is due in the inbox it moves to, in hours (1 to 720).
    pub sla_hours: u64,
}

/// The most `cases.attachment_max_bytes` may be.
pub const MAX_CASE_ATTACHMENT_BYTES: usize = 64 * 1024 * 1024;

impl Default for CasesConfig {
    fn default() -> Self {
        Self {
            inbox: "payments".to_owned(),
            sla_hours: 24,
            proposal_ttl_hours: 24,
            single_release_max_usd: 1_000,
            alert_inbox: "monitoring".to_owned(),
            alert_sla_hours: 72,
            escalation: BTreeMap::new(),
            screening_inbox: "screening".to_owned(),
            screening_sla_hours: 24,
            kyc_inbox: "kyc".to_owned(),
            kyc_sla_hours: 72,
            attachment_max_bytes: benteng_payments::case_attachments::DEFAULT_ATTACHMENT_MAX_BYTES,
        }
    }
}

impl CasesConfig {
    /// The policy the payments layer opens and decides cases with; refused out of range.
    pub fn policy(&self) -> anyhow::Result<benteng_payments::cases::CasePolicy> {
        let hours = |name: &str, value: u64| {
            anyhow::ensure!((1..=720).contains(&value), "cases.{name} must be 1 to 720");
            Ok(std::time::Duration::from_secs(value * 3600))
        };
        let inbox = |name: &str, value: &str| {
            benteng_core::cases::InboxName::parse(value)
                .map(|inbox| inbox.as_str().to_owned())
                .map_err(|e| anyhow::anyhow!("cases.{name} {e}"))
        };
        let mut escalations = Vec::new();
        for (from, rule) in &self.escalation {
            let key = format!("escalation.{}", from.escape_debug());
            inbox(&key, from)?;
            let to = inbox(&format!("{key}.to"), &rule.to)?;
            anyhow::ensure!(to != *from, "cases.{key}.to must name another inbox");
            anyhow::ensure!(
                rule.after_hours <= 720,
                "cases.{key}.after_hours must be 0 to 720"
            );
            escalations.push(benteng_payments::cases::Escalation {
                from: from.clone(),
                to,
                after: std::time::Duration::from_secs(rule.after_hours * 3600),
                sla: hours(&format!("{key}.sla_hours"), rule.sla_hours)?,
            });
        }
        // A chain ends: a cycle would pass a case round its inboxes for ever.
        for start in self.escalation.keys() {
            let mut at = start;
            for _ in 0..=self.escalation.len() {
                let Some(next) = self.escalation.get(at) else {
                    break;
                };
                at = &next.to;
                anyhow::ensure!(
                    at != start,
                    "cases.escalation: the inboxes from {} lead back to it",
                    start.escape_debug()
                );
            }
        }
        Ok(benteng_payments::cases::CasePolicy {
            escalations,
            inbox: inbox("inbox", &self.inbox)?,
            sla: hours("sla_hours", self.sla_hours)?,
            proposal_ttl: hours("proposal_ttl_hours", self.proposal_ttl_hours)?,
            single_release_max_usd_cents: {
                anyhow::ensure!(
                    self.single_release_max_usd <= 1_000_000,
                    "cases.single_release_max_usd must be at most 1000000"
                );
                self.single_release_max_usd as i64 * 100
            },
            alerts: benteng_store::AlertCases {
                inbox: inbox("alert_inbox", &self.alert_inbox)?,
                sla: hours("alert_sla_hours", self.alert_sla_hours)?,
            },
            screening: benteng_store::AlertCases {
                inbox: inbox("screening_inbox", &self.screening_inbox)?,
                sla: hours("screening_sla_hours", self.screening_sla_hours)?,
            },
            kyc: benteng_store::AlertCases {
                inbox: inbox("kyc_inbox", &self.kyc_inbox)?,
                sla: hours("kyc_sla_hours", self.kyc_sla_hours)?,
            },
            attachment_max_bytes: {
                anyhow::ensure!(
                    (1..=MAX_CASE_ATTACHMENT_BYTES).contains(&self.attachment_max_bytes),
                    "cases.attachment_max_bytes must be between 1 and {MAX_CASE_ATTACHMENT_BYTES}"
                );
                self.attachment_max_bytes
            },
        })
    }
}

/// The most `kyc.max_document_bytes` may be.
pub const MAX_KYC_DOCUMENT_BYTES: usize = 64 * 1024 * 1024;

impl Default for KycConfig {
    fn default() -> Self {
        Self {
            max_document_bytes: benteng_core::kyc::DEFAULT_MAX_DOCUMENT_BYTES,
        }
    }
}

/// Transaction monitoring.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct MonitoringConfig {
    /// A rules file (TOML) instead of the compiled-in rules, re-read when it changes; a file
    /// that does not validate keeps the rules in force.
    pub rules_file: Option<PathBuf>,
    /// How often the post-event scan runs over recent transfers, in seconds (0: never).
    pub post_event_interval_secs: u64,
}

impl Default for MonitoringConfig {
    fn default() -> Self {
        Self {
            rules_file: None,
            post_event_interval_secs: 300,
        }
    }
}

/// Outgoing webhooks (`[webhooks]`).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct WebhooksConfig {
    /// CIDRs deliveries may reach although they are not public (tests, private deployments),
    /// e.g. `["127.0.0.0/8"]`. Empty by default: public addresses only.
    pub allow_private: Vec<String>,
    /// Accept `http://` endpoint URLs. For tests and private deployments only.
    pub allow_http: bool,
    /// How often the delivery worker looks for due deliveries.
    pub poll_interval_ms: u64,
    /// How long a claimed delivery is held by its worker before another may take it.
    pub visibility_timeout_secs: u64,
    /// Each attempt's whole exchange (connect, send, answer) is bounded by this.
    pub request_timeout_secs: u64,
    /// Deliveries claimed (and attempted concurrently) per pass.
    pub batch: u32,
    /// The per-endpoint throttle: at most this many deliveries in flight to one endpoint,
    /// across every instance.
    pub per_endpoint_in_flight: u32,
}

impl Default for WebhooksConfig {
    fn default() -> Self {
        Self {
            allow_private: Vec::new(),
            allow_http: false,
            poll_interval_ms: 500,
            visibility_timeout_secs: 60,
            request_timeout_secs: 15,
            batch: 20,
            per_endpoint_in_flight: 4,
        }
    }
}

impl WebhooksConfig {
    pub fn settings(&self) -> anyhow::Result<benteng_webhooks::WebhookSettings> {
        let allow_private = self
            .allow_private
            .iter()
            .map(|cidr| {
                cidr.parse::<benteng_core::network::Network>()
                    .map_err(|e| anyhow::anyhow!("webhooks.allow_private: {cidr}: {e}"))
            })
            .collect::<anyhow::Result<Vec<_>>>()?;
        let request_timeout = self.request_timeout_secs.clamp(1, 60);
        Ok(benteng_webhooks::WebhookSettings {
            policy: benteng_core::webhooks::AddressPolicy { allow_private },
            allow_http: self.allow_http,
            request_timeout: std::time::Duration::from_secs(request_timeout),
            // Longer than an attempt can take, so a live claim never lapses under its worker.
            visibility_timeout: std::time::Duration::from_secs(
                self.visibility_timeout_secs.max(request_timeout + 15),
            ),
            poll_interval: std::time::Duration::from_millis(self.poll_interval_ms.max(10)),
            batch: self.batch.clamp(1, 200),
            per_endpoint_in_flight: self.per_endpoint_in_flight.clamp(1, 200),
        })
    }
}

/// Staff sign-in, sessions and four-eyes approvals.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct PeopleConfig {
    /// A session ends after this long without a request.
    pub idle_timeout_secs: u64,
    /// A session ends this long after sign-in, busy or not.
    pub absolute_timeout_secs: u64,
    /// How long an enrolment code is valid.
    pub enrolment_ttl_secs: u64,
    /// How long a four-eyes request waits for its second person.
    pub approval_ttl_secs: u64,
    /// Argon2id: memory (KiB), passes, lanes. Refused below OWASP's minimums.
    pub argon2_memory_kib: u32,
    pub argon2_iterations: u32,
    pub argon2_parallelism: u32,
}

impl Default for PeopleConfig {
    fn default() -> Self {
        let argon2 = benteng_crypto::password::Argon2Settings::default();
        Self {
            idle_timeout_secs: 15 * 60,
            absolute_timeout_secs: 8 * 3600,
            enrolment_ttl_secs: 24 * 3600,
            approval_ttl_secs: 24 * 3600,
            argon2_memory_kib: argon2.memory_kib,
            argon2_iterations: argon2.iterations,
            argon2_parallelism: argon2.parallelism,
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct PaymentsConfig {
    /// How long a quote can be used.
    pub quote_ttl_secs: u64,
    /// The fee, in basis points of the source amount.
    pub fee_bps: u32,
    /// Units of each supported currency per US dollar (decimal strings). Every pair is crossed
    /// through USD; these also value volumes in USD.
    pub per_usd: BTreeMap<String, String>,
    /// A TOML file with a `[per_usd]` table that replaces `per_usd`; re-read when it changes.
    pub rates_file: Option<PathBuf>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RailConfig {
    /// The sandbox rail settles a submitted transfer after this long.
    pub sandbox_settle_after_ms: u64,
    /// How often the rail worker looks for work.
    pub poll_interval_ms: u64,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Pkcs11Settings {
    /// The PKCS#11 module, e.g. `/usr/lib/softhsm/libsofthsm2.so`.
    pub module: PathBuf,
    pub token_label: String,
    #[serde(serialize_with = "redact_required")]
    pub pin: SecretString,
    /// `CKA_LABEL` of the AES-256 key; `benteng keys hsm-init` creates it.
    pub key_label: String,
}

fn redact_required<S: serde::Serializer>(_: &SecretString, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str("<redacted>")
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct KeysConfig {
    /// The key-encryption key file (32 random bytes, mode 0600). Empty:
    /// `{data_dir}/secrets/kek`, created on first start. Every instance must use the same KEK.
    pub kek_file: Option<PathBuf>,
    /// Hex secret (≥ 32 bytes) keying the blind indexes. Empty: read from, or created in,
    /// `{data_dir}/secrets/blind-index-secret`. Every instance must share it.
    #[serde(serialize_with = "redact")]
    pub blind_index_secret: Option<SecretString>,
    /// A KEK inside an HSM through PKCS#11 instead of the key file (e.g. SoftHSM2, a cloud HSM).
    pub pkcs11: Option<Pkcs11Settings>,
    /// The backup key file (separate from the data keys). Empty:
    /// `{data_dir}/secrets/backup-key`, created on first use.
    pub backup_key_file: Option<PathBuf>,
}

/// `[server]`: the default listener (HTTPS on `bind`) plus any `[[server.listeners]]`. See
/// `listeners.rs` and docs/configuration.md.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ServerConfig {
    pub bind: SocketAddr,
    /// Seconds in-flight requests get to finish after a shutdown signal (every listener).
    pub shutdown_grace_secs: u64,
    /// Route groups the default listener serves: `"all"`, `"operations"`, `"api"` or a list.
    pub routes: RouteSelection,
    /// Certificate, key and client-certificate settings of the default listener. Absent (and
    /// `plaintext = false`): development certificates in `{data_dir}/tls`, created on first start.
    pub tls: Option<TlsConfig>,
    pub ocsp: OcspConfig,
    /// Plain HTTP on the default listener: only with a loopback `bind` and no `tls`.
    pub plaintext: bool,
    /// Certificate policy: `production` refuses weak or long-lived certificates, `dev` warns.
    pub policy: PolicyMode,
    pub handshake_timeout_secs: u64,
    pub max_connections: usize,
    /// Connections one client address may hold open (an IPv6 /64 counts as one address).
    pub max_connections_per_address: usize,
    pub header_read_timeout_secs: u64,
    /// A connection with no request in progress for this long is closed.
    pub idle_timeout_secs: u64,
    /// How often certificate, key, CA, CRL and OCSP files are checked for changes.
    pub reload_interval_secs: u64,
    /// Further listeners, each with its own TLS settings and route groups.
    pub listeners: Vec<ListenerSettings>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct DatabaseConfig {
    /// `sqlite://PATH` or `postgres://…`; empty means `sqlite://{data_dir}/benteng.sqlite`.
    #[serde(serialize_with = "redact_url_password")]
    pub url: String,
    pub max_connections: u32,
    /// Whether `serve` (and every other command) applies pending migrations at start. `false`:
    /// only `benteng migrate` does (run as the schema's owner), and the others start only when
    /// the schema is already current, so the server can run as a role that owns nothing.
    pub migrate: bool,
    /// Accept a `url` that reaches another host without verified TLS (`sslmode` other than
    /// `verify-full`/`verify-ca`), with a warning at every start. See `store_links.rs`.
    pub allow_plaintext: bool,
    /// CA and client certificate for `sslmode=verify-full`, beyond the URL's settings.
    pub tls: benteng_core::store_link::StoreTls,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct CacheConfig {
    /// `memory://` (one instance) or `redis://…` (several instances).
    #[serde(serialize_with = "redact_url_password")]
    pub url: String,
    /// Prefix of every key and channel, so deployments can share one Redis.
    pub namespace: String,
    /// Accept a `redis://` `url` that reaches another host (no TLS), with a warning at every
    /// start. See `store_links.rs`.
    pub allow_plaintext: bool,
    /// CA and client certificate of a `rediss://` `url`.
    pub tls: benteng_core::store_link::StoreTls,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AuthConfig {
    /// Hex secret (≥ 32 bytes) keying the API-key hashes. Empty: read from, or created in,
    /// `{data_dir}/secrets/api-key-secret`. Every instance of a deployment must share it.
    #[serde(serialize_with = "redact")]
    pub api_key_secret: Option<SecretString>,
    pub api_key_cache_ttl_secs: u64,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct HttpConfig {
    pub body_limit_bytes: usize,
    pub request_timeout_secs: u64,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct LogConfig {
    /// `json` (default) or `text`.
    pub format: String,
    /// A tracing filter, e.g. `info` or `benteng=debug,info`.
    pub level: String,
}

/// A URL with the password of its user info replaced (`postgres://app:<redacted>@db/benteng`),
/// for printing the configuration.
fn redact_url_password<S: serde::Serializer>(url: &str, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&url_without_password(url))
}

pub(crate) fn url_without_password(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_owned();
    };
    // The user info ends at the last '@' before the path: passwords may contain '@' or '/'
    // only percent-encoded, but be generous and take the last '@' of the authority part.
    let authority_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let Some(at) = rest[..authority_end].rfind('@') else {
        return url.to_owned();
    };
    match rest[..at].split_once(':') {
        Some((user, _password)) => format!("{scheme}://{user}:<redacted>{}", &rest[at..]),
        None => url.to_owned(),
    }
}

fn redact<S: serde::Serializer>(value: &Option<SecretString>, s: S) -> Result<S::Ok, S::Error> {
    match value {
        Some(_) => s.serialize_str("<redacted>"),
        None => s.serialize_none(),
    }
}

impl Default for Config {
    fn default() -> Self {
        Self {
            data_dir: PathBuf::from("./data"),
            server: ServerConfig::default(),
            database: DatabaseConfig::default(),
            cache: CacheConfig::default(),
            auth: AuthConfig::default(),
            http: HttpConfig::default(),
            log: LogConfig::default(),
            payments: PaymentsConfig::default(),
            rail: RailConfig::default(),
            keys: KeysConfig::default(),
            screening: crate::screening::ScreeningConfig::default(),
            protection: protection::ProtectionConfig::default(),
            people: PeopleConfig::default(),
            monitoring: MonitoringConfig::default(),
            iso20022: None,
            webhooks: WebhooksConfig::default(),
            kyc: KycConfig::default(),
            cases: CasesConfig::default(),
            fapi: FapiConfig::default(),
            incidents: IncidentsConfig::default(),
            audit: AuditConfig::default(),
            reports: ReportsConfig::default(),
            metrics: MetricsConfig::default(),
        }
    }
}

impl Default for PaymentsConfig {
    fn default() -> Self {
        let per_usd = [
            ("USD", "1"),
            ("IDR", "16250"),
            ("EUR", "0.92"),
            ("GBP", "0.79"),
        ]
        .into_iter()
        .map(|(c, r)| (c.to_owned(), r.to_owned()))
        .collect();
        Self {
            quote_ttl_secs: 60,
            fee_bps: 50,
            per_usd,
            rates_file: None,
        }
    }
}

impl Default for RailConfig {
    fn default() -> Self {
        Self {
            sandbox_settle_after_ms: 2000,
            poll_interval_ms: 250,
        }
    }
}

impl Default for ServerConfig {
    fn default() -> Self {
        Self {
            bind: SocketAddr::from(([127, 0, 0, 1], 8443)),
            shutdown_grace_secs: 20,
            routes: RouteSelection::All,
            tls: None,
            ocsp: OcspConfig::default(),
            plaintext: false,
            policy: PolicyMode::Production,
            handshake_timeout_secs: listener_defaults::handshake_timeout_secs(),
            max_connections: listener_defaults::max_connections(),
            max_connections_per_address: listener_defaults::max_connections_per_address(),
            header_read_timeout_secs: listener_defaults::header_read_timeout_secs(),
            idle_timeout_secs: listener_defaults::idle_timeout_secs(),
            reload_interval_secs: listener_defaults::reload_interval_secs(),
            listeners: Vec::new(),
        }
    }
}

impl Default for DatabaseConfig {
    fn default() -> Self {
        Self {
            url: String::new(),
            max_connections: 16,
            migrate: true,
            allow_plaintext: false,
            tls: benteng_core::store_link::StoreTls::default(),
        }
    }
}

impl Default for CacheConfig {
    fn default() -> Self {
        Self {
            url: "memory://".to_owned(),
            namespace: "benteng".to_owned(),
            allow_plaintext: false,
            tls: benteng_core::store_link::StoreTls::default(),
        }
    }
}

impl Default for AuthConfig {
    fn default() -> Self {
        Self {
            api_key_secret: None,
            api_key_cache_ttl_secs: 300,
        }
    }
}

impl Default for HttpConfig {
    fn default() -> Self {
        Self {
            body_limit_bytes: 1024 * 1024,
            request_timeout_secs: 30,
        }
    }
}

impl Default for LogConfig {
    fn default() -> Self {
        Self {
            format: "json".to_owned(),
            level: "info".to_owned(),
        }
    }
}

impl Config {
    /// Defaults, then the file (if given), then the environment.
    pub fn load(file: Option<&Path>) -> Result<Self, Box<figment::Error>> {
        let mut figment = Figment::from(Serialized::defaults(Config::default()));
        if let Some(file) = file {
            figment = figment.merge(Toml::file_exact(file));
        }
        figment
            .merge(EnvStrings(std::env::vars().collect()))
            .extract_lossy()
            .map_err(Box::new)
    }

    pub fn database_url(&self) -> String {
        if self.database.url.is_empty() {
            format!(
                "sqlite://{}",
                self.data_dir.join("benteng.sqlite").display()
            )
        } else {
            self.database.url.clone()
        }
    }
}

/// `BENTENG_*` environment variables, every value kept as the exact text given. (Figment's own
/// `Env` parses values, so a numeric PIN or an all-digit hex secret would turn into a number and
/// lose leading zeros or precision.) Numbers and booleans are converted where a key wants them,
/// by `extract_lossy`. A value written as a list, `[…]`, is read as one (list settings such as
/// `webhooks.allow_private`); one that does not parse stays text and its key says what is
/// wrong. `BENTENG_TEST_*` configure the test suite and are skipped.
struct EnvStrings(Vec<(String, String)>);

impl figment::Provider for EnvStrings {
    fn metadata(&self) -> figment::Metadata {
        figment::Metadata::named("BENTENG_ environment variable(s)")
    }

    fn data(
        &self,
    ) -> Result<figment::value::Map<figment::Profile, figment::value::Dict>, figment::Error> {
        use figment::value::{Dict, Value};
        let mut root = Dict::new();
        for (name, value) in &self.0 {
            let Some(key) = name.strip_prefix("BENTENG_") else {
                continue;
            };
            let key = key.to_ascii_lowercase();
            // BENTENG_CONFIG names the file (the CLI's --config), it is not a setting.
            if key.starts_with("test_") || key.is_empty() || key == "config" {
                continue;
            }
            let path: Vec<&str> = key.split("__").collect();
            let mut dict = &mut root;
            for (i, segment) in path.iter().enumerate() {
                if i + 1 == path.len() {
                    let list = value
                        .starts_with('[')
                        .then(|| value.parse::<Value>().ok())
                        .flatten()
                        .filter(|parsed| matches!(parsed, Value::Array(..)));
                    dict.insert(
                        (*segment).to_owned(),
                        list.unwrap_or_else(|| Value::from(value.clone())),
                    );
                    break;
                }
                let entry = dict
                    .entry((*segment).to_owned())
                    .or_insert_with(|| Value::from(Dict::new()));
                if !matches!(entry, Value::Dict(..)) {
                    *entry = Value::from(Dict::new());
                }
                let Value::Dict(_, inner) = entry else {
                    break;
                };
                dict = inner;
            }
        }
        Ok(figment::Profile::Default.collect(root))
    }
}

impl PeopleConfig {
    /// The Argon2id hasher; settings below OWASP's minimums refuse to start.
    pub fn password_hasher(&self) -> anyhow::Result<benteng_crypto::password::PasswordHasher> {
        let settings = benteng_crypto::password::Argon2Settings {
            memory_kib: self.argon2_memory_kib,
            iterations: self.argon2_iterations,
            parallelism: self.argon2_parallelism,
        };
        benteng_crypto::password::PasswordHasher::new(settings)
            .map_err(|error| anyhow::anyhow!("people.argon2_*: {error}"))
    }

    pub fn session_policy(&self) -> benteng_auth::SessionPolicy {
        benteng_auth::SessionPolicy {
            idle: std::time::Duration::from_secs(self.idle_timeout_secs.max(1)),
            absolute: std::time::Duration::from_secs(self.absolute_timeout_secs.max(1)),
            enrolment: std::time::Duration::from_secs(self.enrolment_ttl_secs.max(1)),
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn from_env(vars: &[(&str, &str)]) -> Result<Config, Box<figment::Error>> {
        let vars = vars
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        Figment::from(Serialized::defaults(Config::default()))
            .merge(EnvStrings(vars))
            .extract_lossy()
            .map_err(Box::new)
    }

    fn from_toml(text: &str) -> Result<Config, Box<figment::Error>> {
        Figment::from(Serialized::defaults(Config::default()))
            .merge(Toml::string(text))
            .extract_lossy()
            .map_err(Box::new)
    }

    #[test]
    fn eu_fius_are_checked_at_start_and_every_problem_is_named_by_its_key() {
        let good = from_toml(
            r#"
            [reports]
            entity_name = "PT Benteng Pembayaran"
            [reports.fius.NL]
            name = "FIU-Nederland"
            format = "goaml"
            rentity_id = 7001
            report_code = "STR"
            funds_code = "K"
            transmode_cross_border = "XB"
            transmode_domestic = "DOM"
            business_address_type = "B"
            private_address_type = "P"
            [reports.fius.DE]
            name = "FIU Deutschland"
            format = "structured"
            "#,
        )
        .unwrap();
        let settings = good.reports.settings().unwrap();
        assert_eq!(settings.fius.len(), 2);
        let nl = settings
            .destination(benteng_reports::ReportKind::EuSar, Some("NL"))
            .unwrap();
        assert_eq!(nl.fiu, "FIU-Nederland");
        assert!(matches!(
            nl.format,
            benteng_operations::DestinationFormat::Goaml(ref p)
                if p.entity.rentity_id == 7001 && p.codes.report_code == "STR"
                    && p.entity.name == "PT Benteng Pembayaran"
        ));

        // An unknown field is refused when the file is read, naming it and where it is.
        let unknown =
            from_toml("[reports.fius.NL]\nname = \"x\"\nformat = \"goaml\"\nrentity = 7\n")
                .unwrap_err()
                .to_string();
        assert!(
            unknown.contains("rentity") && unknown.contains("reports.fius.NL"),
            "{unknown}"
        );
        let format = from_toml("[reports.fius.NL]\nname = \"x\"\nformat = \"xml\"\n")
            .unwrap_err()
            .to_string();
        assert!(format.contains("reports.fius.NL.format"), "{format}");

        // A goAML FIU without its entity id and codes, a structured one with goAML keys, and
        // a country outside the EU: refused at start, every key named.
        let bad = from_toml(
            r#"
            [reports.fius.NL]
            name = "FIU-Nederland"
            format = "goaml"
            report_code = "STR"
            [reports.fius.DE]
            name = "FIU Deutschland"
            format = "structured"
            rentity_id = 5
            [reports.fius.GB]
            name = "NCA"
            format = "structured"
            "#,
        )
        .unwrap();
        let refused = bad.reports.settings().unwrap_err().to_string();
        for key in [
            "reports.fius.NL.rentity_id: required",
            "reports.fius.NL.funds_code: required",
            "reports.fius.NL.transmode_cross_border: required",
            "reports.fius.NL.private_address_type: required",
            "reports.fius.DE.rentity_id: only for a goAML FIU",
            "reports.fius.GB: not an EU member state",
        ] {
            assert!(refused.contains(key), "{key} not in {refused}");
        }
        assert!(!refused.contains("report_code"), "{refused}");
    }

    #[test]
    fn list_settings_come_from_the_environment_and_text_stays_text() {
        let config = from_env(&[
            (
                "BENTENG_WEBHOOKS__ALLOW_PRIVATE",
                r#"["127.0.0.0/8", "10.0.0.0/8"]"#,
            ),
            ("BENTENG_WEBHOOKS__ALLOW_HTTP", "true"),
            ("BENTENG_LOG__LEVEL", "0042"),
        ])
        .unwrap();
        assert_eq!(
            config.webhooks.allow_private,
            vec!["127.0.0.0/8".to_owned(), "10.0.0.0/8".to_owned()]
        );
        assert!(config.webhooks.allow_http);
        assert_eq!(config.log.level, "0042", "digits stay text");
        // Not a list: refused by the key, never half-read.
        let error = from_env(&[("BENTENG_WEBHOOKS__ALLOW_PRIVATE", "[127.0.0.0/8")]).unwrap_err();
        assert!(error.to_string().contains("allow_private"), "{error}");
    }

    #[test]
    fn case_settings_out_of_range_are_refused() {
        let defaults = CasesConfig::default();
        let policy = defaults.policy().unwrap();
        assert_eq!(policy.sla, std::time::Duration::from_secs(24 * 3600));
        for broken in [
            CasesConfig {
                sla_hours: 0,
                ..CasesConfig::default()
            },
            CasesConfig {
                proposal_ttl_hours: 721,
                ..CasesConfig::default()
            },
            CasesConfig {
                inbox: "<b>inbox</b>".to_owned(),
                ..CasesConfig::default()
            },
            CasesConfig {
                inbox: String::new(),
                ..CasesConfig::default()
            },
            CasesConfig {
                screening_inbox: "a b".to_owned(),
                ..CasesConfig::default()
            },
            CasesConfig {
                kyc_sla_hours: 0,
                ..CasesConfig::default()
            },
        ] {
            assert!(broken.policy().is_err(), "{broken:?}");
        }
    }

    #[test]
    fn escalations_are_read_and_bad_ones_refused_naming_the_key() {
        let config = from_toml(
            "[cases.escalation.payments]\nto = \"mlro\"\nafter_hours = 48\nsla_hours = 12\n\
             [cases.escalation.mlro]\nto = \"board\"\nafter_hours = 0\nsla_hours = 1\n",
        )
        .unwrap();
        let policy = config.cases.policy().unwrap();
        assert_eq!(policy.escalations.len(), 2);
        let payments = policy
            .escalations
            .iter()
            .find(|e| e.from == "payments")
            .unwrap();
        assert_eq!(payments.to, "mlro");
        assert_eq!(payments.after, std::time::Duration::from_secs(48 * 3600));
        assert_eq!(payments.sla, std::time::Duration::from_secs(12 * 3600));
        // The same from the environment.
        let config = from_env(&[
            ("BENTENG_CASES__ESCALATION__PAYMENTS__TO", "mlro"),
            ("BENTENG_CASES__ESCALATION__PAYMENTS__AFTER_HOURS", "2"),
            ("BENTENG_CASES__ESCALATION__PAYMENTS__SLA_HOURS", "3"),
        ])
        .unwrap();
        assert_eq!(config.cases.policy().unwrap().escalations[0].to, "mlro");

        let rule = |to: &str, after_hours: u64, sla_hours: u64| EscalationConfig {
            to: to.to_owned(),
            after_hours,
            sla_hours,
        };
        for (escalation, names) in [
            (
                vec![("payments", rule("payments", 1, 1))],
                "escalation.payments.to",
            ),
            (vec![("payments", rule("mlro", 721, 1))], "after_hours"),
            (vec![("payments", rule("mlro", 1, 0))], "sla_hours"),
            (
                vec![("payments", rule("<b>", 1, 1))],
                "escalation.payments.to",
            ),
            (vec![("a b", rule("mlro", 1, 1))], "escalation.a b"),
            (
                vec![
                    ("a", rule("b", 1, 1)),
                    ("b", rule("c", 1, 1)),
                    ("c", rule("b", 1, 1)),
                ],
                "lead back",
            ),
        ] {
            let broken = CasesConfig {
                escalation: escalation
                    .into_iter()
                    .map(|(from, rule)| (from.to_owned(), rule))
                    .collect(),
                ..CasesConfig::default()
            };
            let error = broken.policy().unwrap_err().to_string();
            assert!(error.contains(names), "{error}");
        }
        // A key the table does not know, or a missing one, stops the start.
        assert!(
            from_toml("[cases.escalation.payments]\nto = \"mlro\"\nafter_hours = 1\n").is_err()
        );
        assert!(
            from_toml(
                "[cases.escalation.payments]\nto = \"mlro\"\nafter_hours = 1\nsla_hours = 1\nafter = 2\n"
            )
            .is_err()
        );
    }

    #[test]
    fn printed_configuration_hides_store_and_cache_passwords() {
        assert_eq!(
            url_without_password(
                "postgres://app:s3cr%40t@db.internal:5432/benteng?sslmode=verify-full"
            ),
            "postgres://app:<redacted>@db.internal:5432/benteng?sslmode=verify-full"
        );
        assert_eq!(
            url_without_password("redis://:hunter2@cache:6379/0"),
            "redis://:<redacted>@cache:6379/0"
        );
        for unchanged in [
            "sqlite://./data/benteng.sqlite",
            "memory://",
            "redis://cache:6379",
            "postgres://app@db/x",
        ] {
            assert_eq!(url_without_password(unchanged), unchanged);
        }
        let mut config = Config::default();
        config.database.url = "postgres://app:pw-db@db/benteng".to_owned();
        config.cache.url = "redis://:pw-cache@cache:6379".to_owned();
        let printed = serde_json::to_string(&config).unwrap();
        assert!(
            !printed.contains("pw-db") && !printed.contains("pw-cache"),
            "{printed}"
        );
    }
}
