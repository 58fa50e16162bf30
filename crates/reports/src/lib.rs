//! Regulatory reports without I/O (DECISIONS.md, "Regulatory reporting"): what a report says
//! ([`content::ReportContent`], stored sealed by the operator layer), the checks that refuse
//! an incomplete one with every missing field listed ([`content::Missing`]), and its formats:
//! goAML XML for PPATK (LTKM from a case, IFTI streamed over a period's transfers,
//! [`goaml`]), the UK SAR structured export (JSON and printable HTML, [`sar`]); the code lists
//! as data ([`codes`]), what each FIU expects ([`fiu`]: PPATK, the NCA, EU FIUs from
//! configuration), the deadline clocks in working days ([`deadlines`]) and the UK DAML clock
//! ([`daml`]).

pub mod codes;
pub mod content;
pub mod daml;
pub mod deadlines;
pub mod fiu;
pub mod goaml;
pub mod sar;
pub mod xml;

pub use content::{Missing, ReportContent, ReportKind};
