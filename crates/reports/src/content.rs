//! What a report says, as benteng fills it from a case and a compliance officer completes it,
//! and the check that refuses an incomplete one with every missing or unusable field listed.
//! Stored as JSON, sealed (the operator layer encrypts it before the store sees it).

use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use crate::codes;
use crate::fiu::{Format, GoamlCodes, GoamlProfile, StructuredProfile};
use crate::xml::check_text;

/// The kinds of report a case can start.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ReportKind {
    /// Indonesia, PPATK: suspicious transaction report (goAML report code LTKM).
    Ltkm,
    /// United Kingdom, NCA: suspicious activity report (SAR Portal sections, JSON and HTML).
    UkSar,
    /// A member state's FIU: suspicious transaction report, in goAML where the FIU uses it
    /// (its own report code), else the structured export.
    EuSar,
}

impl ReportKind {
    pub const ALL: [ReportKind; 3] = [ReportKind::Ltkm, ReportKind::UkSar, ReportKind::EuSar];

    pub fn as_str(self) -> &'static str {
        match self {
            ReportKind::Ltkm => "ltkm",
            ReportKind::UkSar => "uk_sar",
            ReportKind::EuSar => "eu_sar",
        }
    }

    /// The financial intelligence unit it goes to (an EU report's is named per report).
    pub fn fiu(self) -> &'static str {
        match self {
            ReportKind::Ltkm => "PPATK",
            ReportKind::UkSar => "NCA",
            ReportKind::EuSar => "EU FIU",
        }
    }
}

impl std::str::FromStr for ReportKind {
    type Err = &'static str;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        ReportKind::ALL
            .into_iter()
            .find(|k| k.as_str() == s)
            .ok_or("must be one of: ltkm, uk_sar, eu_sar")
    }
}

/// A postal address.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Address {
    pub line: String,
    pub city: String,
    #[serde(default)]
    pub postal_code: Option<String>,
    /// ISO 3166 alpha-2.
    pub country: String,
}

/// The main subject: the tenant whose transfers the case is about (our client).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Subject {
    pub name: String,
    /// What the business does (goAML `business`, mandatory for a client entity).
    #[serde(default)]
    pub business: Option<String>,
    /// PPATK legal form code (PT, CV, KOP…).
    #[serde(default)]
    pub legal_form: Option<String>,
    #[serde(default)]
    pub incorporation_number: Option<String>,
    #[serde(default)]
    pub incorporation_country: Option<String>,
    #[serde(default)]
    pub address: Option<Address>,
}

/// The other side of a transaction: the recipient, with identifiers decrypted into the report.
/// Its account, IBAN and national id are Tier 1 data: `Debug` shows only the last four
/// characters of the first two and whether the third is there.
#[derive(Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Counterparty {
    /// `individual` or `business`.
    pub kind: String,
    pub name: String,
    pub country: String,
    /// The account number or IBAN, in clear (only inside the sealed report).
    #[serde(default)]
    pub account: Option<String>,
    /// The bank's code (Indonesian bank code), or as the officer completes it.
    #[serde(default)]
    pub institution_code: Option<String>,
    #[serde(default)]
    pub iban: Option<String>,
    #[serde(default)]
    pub national_id: Option<String>,
    #[serde(default)]
    pub address: Option<Address>,
}

impl std::fmt::Debug for Counterparty {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let last4 = |value: &Option<String>| {
            value.as_deref().map(|v| {
                let start = v.char_indices().rev().nth(3).map_or(0, |(i, _)| i);
                format!("…{}", &v[start..])
            })
        };
        f.debug_struct("Counterparty")
            .field("kind", &self.kind)
            .field("name", &self.name)
            .field("country", &self.country)
            .field("account", &last4(&self.account))
            .field("institution_code", &self.institution_code)
            .field("iban", &last4(&self.iban))
            .field(
                "national_id",
                &self.national_id.as_ref().map(|_| "[REDACTED]"),
            )
            .field("address", &self.address)
            .finish()
    }
}

/// One transfer of the report.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Transaction {
    /// The transfer id.
    pub number: String,
    /// The tenant's reference.
    #[serde(default)]
    pub description: Option<String>,
    /// When it was made, RFC 3339.
    pub date: String,
    /// The transfer's status when the report was drafted.
    pub status: String,
    pub source_amount: Decimal,
    pub source_currency: String,
    pub target_amount: Decimal,
    pub target_currency: String,
    /// In the FIU's local currency: filled when one side is in it, else the officer's.
    #[serde(default)]
    pub local_amount: Option<Decimal>,
    /// PPATK transmode code (TKLN, TKLNS, KRM…).
    pub transmode: String,
    pub recipient: Counterparty,
}

/// Everything a report says.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReportContent {
    /// The reason for suspicion: the officer's narrative.
    #[serde(default)]
    pub reason: Option<String>,
    /// What the reporting entity did about it.
    #[serde(default)]
    pub action: Option<String>,
    /// The FIU's indicator codes: PPATK's (LTKM), NCA glossary codes (UK SAR), an EU FIU's.
    #[serde(default)]
    pub indicators: Vec<String>,
    pub subject: Subject,
    #[serde(default)]
    pub transactions: Vec<Transaction>,
    /// What the case says about why it was held (staff only; never the tenant's).
    #[serde(default)]
    pub case_notes: Vec<String>,
    /// UK SAR: a request for a defence (DAML); adds glossary code XXS99XX.
    #[serde(default)]
    pub daml_requested: bool,
}

/// The reporting entity (benteng's operator), from configuration.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReportingEntity {
    pub name: String,
    /// The id the FIU gave the reporting entity (goAML `rentity_id`, at least 1; 0 where
    /// the FIU takes no goAML).
    pub rentity_id: u32,
    #[serde(default)]
    pub branch: Option<String>,
    /// ISO 3166 alpha-2 of the FIU's country ("ID", "NL").
    pub country: String,
    /// The FIU's local currency ("IDR", "EUR").
    pub local_currency: String,
}

/// A field that is missing or cannot be used, and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Missing {
    pub field: String,
    pub problem: String,
}

impl std::fmt::Display for Missing {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.field, self.problem)
    }
}

/// Collects every problem of a report at once.
#[derive(Default)]
pub(crate) struct Checker {
    pub(crate) missing: Vec<Missing>,
}

impl Checker {
    fn push(&mut self, field: impl Into<String>, problem: impl Into<String>) {
        self.missing.push(Missing {
            field: field.into(),
            problem: problem.into(),
        });
    }

    /// A required text: present, not blank, at most `max` characters, carried by XML.
    pub(crate) fn required(&mut self, field: &str, value: Option<&str>, max: usize) {
        match value {
            Some(text) if !text.trim().is_empty() => self.optional(field, Some(text), max),
            _ => self.push(field, "required"),
        }
    }

    pub(crate) fn optional(&mut self, field: &str, value: Option<&str>, max: usize) {
        let Some(text) = value else { return };
        if text.chars().count() > max {
            self.push(field, format!("at most {max} characters"));
        }
        if let Err(error) = check_text(field, text) {
            self.push(
                field,
                format!("contains U+{:04X}, which XML cannot carry", error.code),
            );
        }
    }

    pub(crate) fn code(
        &mut self,
        field: &str,
        value: Option<&str>,
        list: &std::collections::BTreeSet<String>,
        what: &str,
    ) {
        match value {
            None => self.push(field, "required"),
            Some(code) if !list.contains(code) => self.push(field, format!("not a {what}")),
            Some(_) => {}
        }
    }

    fn address(&mut self, field: &str, address: Option<&Address>) {
        let Some(a) = address else {
            self.push(field, "required");
            return;
        };
        self.required(&format!("{field}.line"), Some(&a.line), 255);
        self.required(&format!("{field}.city"), Some(&a.city), 255);
        self.optional(
            &format!("{field}.postal_code"),
            a.postal_code.as_deref(),
            10,
        );
        self.code(
            &format!("{field}.country"),
            Some(&a.country),
            &codes::ppatk().countries,
            "country code",
        );
    }
}

impl ReportContent {
    /// Every field a goAML suspicious transaction report for `fiu` needs that is missing or
    /// unusable; empty when the report can be exported.
    pub fn missing_for_goaml(&self, fiu: &GoamlProfile) -> Vec<Missing> {
        let codes = codes::ppatk();
        let mut c = Checker::default();
        check_entity(&mut c, &fiu.entity);
        c.required("reason", self.reason.as_deref(), 4000);
        c.optional("action", self.action.as_deref(), 4000);
        for (i, code) in self.indicators.iter().enumerate() {
            if !fiu.codes.indicators.contains(code) {
                c.push(
                    format!("indicators[{i}]"),
                    "not one of the FIU's indicator codes",
                );
            }
        }
        if self.daml_requested {
            c.push("daml_requested", "only a UK SAR requests a defence (DAML)");
        }
        let s = &self.subject;
        c.required("subject.name", Some(&s.name), 255);
        c.required("subject.business", s.business.as_deref(), 255);
        if let Some(form) = &s.legal_form {
            c.code(
                "subject.legal_form",
                Some(form),
                &fiu.codes.legal_forms,
                "legal form code of the FIU",
            );
        }
        c.optional(
            "subject.incorporation_number",
            s.incorporation_number.as_deref(),
            50,
        );
        c.code(
            "subject.incorporation_country",
            s.incorporation_country.as_deref(),
            &codes.countries,
            "country code",
        );
        c.address("subject.address", s.address.as_ref());
        if self.transactions.is_empty() {
            c.push("transactions", "at least one transaction");
        }
        for (i, t) in self.transactions.iter().enumerate() {
            check_transaction(&mut c, &format!("transactions[{i}]"), t, &fiu.codes);
        }
        c.missing
    }

    /// Every field the structured export (a UK SAR, an EU FIU without goAML) needs that is
    /// missing or unusable.
    pub fn missing_for_structured(
        &self,
        entity: &ReportingEntity,
        profile: &StructuredProfile,
    ) -> Vec<Missing> {
        let mut c = Checker::default();
        c.required("reporting_entity.name", Some(&entity.name), 255);
        c.required("reason", self.reason.as_deref(), 20_000);
        c.optional("action", self.action.as_deref(), 4000);
        for (i, code) in self.indicators.iter().enumerate() {
            if !profile.codes.contains_key(code) {
                c.push(
                    format!("indicators[{i}]"),
                    format!("not {}", profile.code_name),
                );
            }
        }
        if self.daml_requested && !profile.daml {
            c.push("daml_requested", "only a UK SAR requests a defence (DAML)");
        }
        c.required("subject.name", Some(&self.subject.name), 255);
        for (i, t) in self.transactions.iter().enumerate() {
            let field = format!("transactions[{i}]");
            c.required(&format!("{field}.number"), Some(&t.number), 50);
            c.required(
                &format!("{field}.recipient.name"),
                Some(&t.recipient.name),
                255,
            );
        }
        c.missing
    }

    /// What the report's format needs.
    pub fn missing_for(&self, format: Format<'_>) -> Vec<Missing> {
        match format {
            Format::Goaml(fiu) => self.missing_for_goaml(fiu),
            Format::Structured(entity, profile) => self.missing_for_structured(entity, profile),
        }
    }

    /// The reason codes the structured export carries: the officer's, with XXS99XX first
    /// when a defence is requested, in order and without repeats.
    pub fn glossary_codes(&self) -> Vec<String> {
        let mut out: Vec<String> = Vec::new();
        if self.daml_requested {
            out.push(codes::NCA_DAML.to_owned());
        }
        for code in &self.indicators {
            if !out.contains(code) {
                out.push(code.clone());
            }
        }
        out
    }
}

pub(crate) fn check_entity(c: &mut Checker, entity: &ReportingEntity) {
    if entity.rentity_id == 0 {
        c.push(
            "reporting_entity.rentity_id",
            "required (the id the FIU gave the reporting entity)",
        );
    }
    c.optional("reporting_entity.branch", entity.branch.as_deref(), 255);
    c.code(
        "reporting_entity.local_currency",
        Some(&entity.local_currency),
        &codes::ppatk().currencies,
        "currency code",
    );
}

/// The checks of one goAML transaction (suspicion reports and IFTI alike), against the FIU's
/// transmode codes.
pub(crate) fn check_transaction(c: &mut Checker, field: &str, t: &Transaction, fiu: &GoamlCodes) {
    let codes = codes::ppatk();
    c.required(&format!("{field}.number"), Some(&t.number), 50);
    c.optional(
        &format!("{field}.description"),
        t.description.as_deref(),
        4000,
    );
    if time::OffsetDateTime::parse(&t.date, &time::format_description::well_known::Rfc3339).is_err()
    {
        c.push(format!("{field}.date"), "not an RFC 3339 date-time");
    }
    match t.local_amount {
        None => c.push(
            format!("{field}.local_amount"),
            "required (neither side is in the local currency)",
        ),
        Some(a) if a.is_sign_negative() => {
            c.push(format!("{field}.local_amount"), "must not be negative")
        }
        Some(_) => {}
    }
    c.code(
        &format!("{field}.transmode"),
        Some(&t.transmode),
        &fiu.transmodes,
        "transmode code of the FIU",
    );
    c.code(
        &format!("{field}.source_currency"),
        Some(&t.source_currency),
        &codes.currencies,
        "currency code",
    );
    c.code(
        &format!("{field}.target_currency"),
        Some(&t.target_currency),
        &codes.currencies,
        "currency code",
    );
    let r = &t.recipient;
    let rf = format!("{field}.recipient");
    c.required(&format!("{rf}.name"), Some(&r.name), 255);
    c.code(
        &format!("{rf}.country"),
        Some(&r.country),
        &codes.countries,
        "country code",
    );
    if r.account.is_some() {
        c.required(&format!("{rf}.account"), r.account.as_deref(), 50);
        c.required(
            &format!("{rf}.institution_code"),
            r.institution_code.as_deref(),
            50,
        );
    }
    c.optional(&format!("{rf}.iban"), r.iban.as_deref(), 34);
    c.optional(&format!("{rf}.national_id"), r.national_id.as_deref(), 255);
    if let Some(address) = &r.address {
        c.address(&format!("{rf}.address"), Some(address));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_counterpartys_debug_shows_no_account_iban_or_national_id() {
        let counterparty = Counterparty {
            kind: "individual".to_owned(),
            name: "Siti Rahma".to_owned(),
            country: "ID".to_owned(),
            account: Some("1234567890".to_owned()),
            institution_code: Some("014".to_owned()),
            iban: Some("DE89370400440532013000".to_owned()),
            national_id: Some("3171234567890001".to_owned()),
            address: None,
        };
        let transaction = Transaction {
            recipient: counterparty,
            ..Transaction::default()
        };
        let debug = format!("{transaction:?}");
        for clear in ["123456", "0532013", "3171234567890001"] {
            assert!(!debug.contains(clear), "{clear} in {debug}");
        }
        // What identifies the record for a reader stays.
        assert!(
            debug.contains("…7890") && debug.contains("…3000"),
            "{debug}"
        );
    }
}
