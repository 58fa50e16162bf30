//! What one financial intelligence unit expects: the goAML skeleton is shared by every FIU
//! that uses goAML, but who the reporting entity is to it, its report codes and its code lists
//! are its own ([`GoamlProfile`]); an FIU without goAML gets the structured export in the
//! NCA SAR Portal's sections, with its own reason codes ([`StructuredProfile`]). PPATK and
//! the NCA are built in; EU FIUs come from configuration.

use std::collections::{BTreeMap, BTreeSet};

use crate::codes;
use crate::content::ReportingEntity;

/// An FIU's goAML code lists: the codes a report benteng writes may carry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GoamlCodes {
    /// The report code of a suspicious transaction report (PPATK: LTKM; most FIUs: STR).
    pub report_code: String,
    /// The funds code of a transfer from or to an account (PPATK: REK).
    pub funds_code: String,
    /// The transmode codes an officer may choose from.
    pub transmodes: BTreeSet<String>,
    /// The contact type of a business address (PPATK: K) and of a private one (PPATK: R).
    pub business_address_type: String,
    pub private_address_type: String,
    /// The FIU's indicator codes (`report_indicators`).
    pub indicators: BTreeSet<String>,
    /// The FIU's legal form codes (`incorporation_legal_form`).
    pub legal_forms: BTreeSet<String>,
}

/// goAML for one FIU: the reporting entity as that FIU registered it, the time zone its
/// `sql_date`s are local to, and its codes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GoamlProfile {
    pub entity: ReportingEntity,
    /// The IANA zone the dates are written in (see [`crate::deadlines::offset_at`]).
    pub zone: String,
    pub codes: GoamlCodes,
}

impl GoamlProfile {
    /// PPATK (Indonesia), schema 4.0.2: its code lists from `data/ppatk_codes.toml`.
    pub fn ppatk(entity: ReportingEntity) -> Self {
        let lists = codes::ppatk();
        Self {
            entity,
            zone: "Asia/Jakarta".to_owned(),
            codes: GoamlCodes {
                report_code: "LTKM".to_owned(),
                funds_code: "REK".to_owned(),
                transmodes: lists.transmode_codes.clone(),
                business_address_type: "K".to_owned(),
                private_address_type: "R".to_owned(),
                indicators: lists.indicators.clone(),
                legal_forms: lists.legal_forms.clone(),
            },
        }
    }
}

/// The structured export for an FIU without an XML upload: the format's name, the page's
/// title, the reason codes with their meanings, and whether a defence (DAML) can be asked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StructuredProfile {
    /// `benteng.uk_sar.v1`, `benteng.eu_str.v1`.
    pub format: &'static str,
    pub title: String,
    /// Code → meaning.
    pub codes: BTreeMap<String, String>,
    /// What a code outside `codes` is refused as ("an NCA glossary code").
    pub code_name: &'static str,
    /// Only the UK has a defence against money laundering (POCA s.335).
    pub daml: bool,
}

impl StructuredProfile {
    /// The NCA's SAR Portal, with its glossary codes from `data/nca_glossary.toml`.
    pub fn nca() -> Self {
        Self {
            format: "benteng.uk_sar.v1",
            title: "Suspicious activity report".to_owned(),
            codes: codes::nca_glossary().clone(),
            code_name: "an NCA glossary code",
            daml: true,
        }
    }

    /// An EU FIU without goAML: its reason codes (meaning unknown to benteng: the code).
    pub fn eu(fiu_name: &str, codes: &BTreeSet<String>) -> Self {
        Self {
            format: "benteng.eu_str.v1",
            title: format!("Suspicious transaction report to {fiu_name}"),
            codes: codes.iter().map(|c| (c.clone(), c.clone())).collect(),
            code_name: "one of the FIU's reason codes",
            daml: false,
        }
    }
}

/// How a report is checked and exported: the FIU's goAML, or the structured export.
#[derive(Debug, Clone, Copy)]
pub enum Format<'a> {
    Goaml(&'a GoamlProfile),
    Structured(&'a ReportingEntity, &'a StructuredProfile),
}
