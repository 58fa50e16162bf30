//! Code lists as data, compiled in from `crates/reports/data/`: PPATK's goAML codes (report
//! codes, transmodes, funds, identifier types, legal forms, indicators, currencies, countries)
//! and the NCA's SAR glossary codes. A value outside its list is refused, never passed on.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::OnceLock;

use serde::Deserialize;

const PPATK: &str = include_str!("../data/ppatk_codes.toml");
const NCA: &str = include_str!("../data/nca_glossary.toml");

/// PPATK's goAML code lists.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PpatkCodes {
    pub report_codes: BTreeSet<String>,
    pub transmode_codes: BTreeSet<String>,
    pub funds_codes: BTreeSet<String>,
    pub identifier_types: BTreeSet<String>,
    pub legal_forms: BTreeSet<String>,
    pub indicators: BTreeSet<String>,
    pub currencies: BTreeSet<String>,
    pub countries: BTreeSet<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct NcaFile {
    codes: BTreeMap<String, String>,
}

/// The PPATK lists (parsed once; the data file is checked by this crate's tests).
pub fn ppatk() -> &'static PpatkCodes {
    static CODES: OnceLock<PpatkCodes> = OnceLock::new();
    CODES.get_or_init(|| {
        toml::from_str(PPATK).unwrap_or_else(|_| PpatkCodes {
            report_codes: BTreeSet::new(),
            transmode_codes: BTreeSet::new(),
            funds_codes: BTreeSet::new(),
            identifier_types: BTreeSet::new(),
            legal_forms: BTreeSet::new(),
            indicators: BTreeSet::new(),
            currencies: BTreeSet::new(),
            countries: BTreeSet::new(),
        })
    })
}

/// The NCA glossary: code → meaning.
pub fn nca_glossary() -> &'static BTreeMap<String, String> {
    static CODES: OnceLock<BTreeMap<String, String>> = OnceLock::new();
    CODES.get_or_init(|| {
        toml::from_str::<NcaFile>(NCA)
            .map(|f| f.codes)
            .unwrap_or_default()
    })
}

/// The NCA glossary code of a request for a defence (DAML, consent).
pub const NCA_DAML: &str = "XXS99XX";
/// The NCA glossary code of sanctions-linked activity.
pub const NCA_SANCTIONS: &str = "XXSNEXX";

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn the_data_files_parse_and_hold_the_codes_used() {
        toml::from_str::<PpatkCodes>(PPATK).unwrap();
        let codes = ppatk();
        for code in ["LTKM", "TKLIP", "TKLOP"] {
            assert!(codes.report_codes.contains(code), "{code}");
        }
        for code in ["TKLN", "TKLNS", "KRM"] {
            assert!(codes.transmode_codes.contains(code), "{code}");
        }
        assert!(codes.funds_codes.contains("REK"));
        assert!(codes.identifier_types.contains("KTP"));
        assert!(codes.legal_forms.contains("PT"));
        assert!(codes.indicators.len() > 100);
        assert!(codes.currencies.contains("IDR") && codes.countries.contains("ID"));
        toml::from_str::<NcaFile>(NCA).unwrap();
        assert!(nca_glossary().contains_key(NCA_DAML));
        assert!(nca_glossary().contains_key(NCA_SANCTIONS));
    }
}
