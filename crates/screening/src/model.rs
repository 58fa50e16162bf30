//! Data model shared by the parsers, the diff and the screener.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// Which official (or generic) list an entry came from.
///
/// Text form (used by `FromStr`/`Display` and serde): `ofac-sdn`, `ofac-nonsdn`, `un`, `eu`,
/// `uk`, `id-dttot`, `generic:NAME` (NAME: 1–64 chars of `[A-Za-z0-9_.-]`, e.g. `generic:bi-blacklist`).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ListSource {
    /// OFAC Specially Designated Nationals (CSV `sdn.csv`/`alt.csv`/`add.csv`, or `sdn.xml`).
    OfacSdn,
    /// OFAC consolidated non-SDN lists (`cons_prim.csv`/`cons_alt.csv`/`cons_add.csv`, or XML).
    OfacNonSdn,
    /// UN Security Council consolidated list (XML).
    Un,
    /// EU consolidated financial sanctions list (FSF XML 1.1).
    Eu,
    /// UK Sanctions List (FCDO XML).
    Uk,
    /// Indonesia PPATK DTTOT (terrorist list) CSV.
    IdDttot,
    /// A list without a standard feed, loaded from the documented generic CSV.
    Generic {
        /// Short name of the list, e.g. `bi-blacklist`, `interpol-red`, `pep-id`.
        name: String,
    },
}

impl ListSource {
    /// True for sources whose entries are politically exposed persons rather than sanctions.
    /// Only generic lists whose name starts with `pep` are treated as PEP lists.
    pub fn is_pep(&self) -> bool {
        matches!(self, ListSource::Generic { name } if name.starts_with("pep"))
    }
}

impl fmt::Display for ListSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ListSource::OfacSdn => f.write_str("ofac-sdn"),
            ListSource::OfacNonSdn => f.write_str("ofac-nonsdn"),
            ListSource::Un => f.write_str("un"),
            ListSource::Eu => f.write_str("eu"),
            ListSource::Uk => f.write_str("uk"),
            ListSource::IdDttot => f.write_str("id-dttot"),
            ListSource::Generic { name } => write!(f, "generic:{name}"),
        }
    }
}

/// Error returned when a list source name cannot be parsed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "unknown list source {0:?} (expected ofac-sdn, ofac-nonsdn, un, eu, uk, id-dttot or generic:NAME)"
)]
pub struct UnknownListSource(pub String);

impl FromStr for ListSource {
    type Err = UnknownListSource;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "ofac-sdn" => Ok(ListSource::OfacSdn),
            "ofac-nonsdn" => Ok(ListSource::OfacNonSdn),
            "un" => Ok(ListSource::Un),
            "eu" => Ok(ListSource::Eu),
            "uk" => Ok(ListSource::Uk),
            "id-dttot" => Ok(ListSource::IdDttot),
            other => match other.strip_prefix("generic:") {
                Some(name)
                    if !name.is_empty()
                        && name.len() <= 64
                        && name
                            .chars()
                            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.')) =>
                {
                    Ok(ListSource::Generic {
                        name: name.to_string(),
                    })
                }
                _ => Err(UnknownListSource(s.to_string())),
            },
        }
    }
}

impl Serialize for ListSource {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for ListSource {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

/// Kind of listed party.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum EntityType {
    /// Natural person.
    Person,
    /// Company, group, organisation, government body.
    Organisation,
    /// Ship.
    Vessel,
    /// Aircraft.
    Aircraft,
    /// Not stated by the list.
    #[default]
    Unknown,
}

impl FromStr for EntityType {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_lowercase().as_str() {
            "person" | "individual" | "p" => Ok(EntityType::Person),
            "organisation" | "organization" | "entity" | "company" | "business" | "o" => {
                Ok(EntityType::Organisation)
            }
            "vessel" | "ship" => Ok(EntityType::Vessel),
            "aircraft" => Ok(EntityType::Aircraft),
            "" | "unknown" => Ok(EntityType::Unknown),
            other => Err(format!("unknown entity type {other:?}")),
        }
    }
}

/// A possibly partial date (year only, year+month, or full date), optionally a year range
/// (`BETWEEN 1960 AND 1962`, `circa`), as published by sanctions lists.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct PartialDate {
    /// Year (or first year of a range).
    pub year: u16,
    /// Month 1–12 when known.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub month: Option<u8>,
    /// Day 1–31 when known.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub day: Option<u8>,
    /// Last year of a range (inclusive) when the list gives a range or an approximate year.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub year_to: Option<u16>,
}

impl PartialDate {
    /// A year-only date.
    pub fn year(year: u16) -> Self {
        PartialDate {
            year,
            month: None,
            day: None,
            year_to: None,
        }
    }

    /// Build a full or partial date, validating ranges (year 1800–2100, month 1–12, day 1–31).
    pub fn new(year: u16, month: Option<u8>, day: Option<u8>) -> Option<Self> {
        if !(1800..=2100).contains(&year) {
            return None;
        }
        if month.is_some_and(|m| !(1..=12).contains(&m))
            || day.is_some_and(|d| !(1..=31).contains(&d))
        {
            return None;
        }
        if day.is_some() && month.is_none() {
            return None;
        }
        Some(PartialDate {
            year,
            month,
            day,
            year_to: None,
        })
    }

    /// Compare two dates: `Some(true)` when compatible (same known parts, or year inside a range),
    /// `Some(false)` when they contradict, `None` never (kept for symmetry with other evidence).
    pub fn compatible(&self, other: &PartialDate) -> bool {
        let (a_lo, a_hi) = (self.year, self.year_to.unwrap_or(self.year));
        let (b_lo, b_hi) = (other.year, other.year_to.unwrap_or(other.year));
        if a_hi < b_lo || b_hi < a_lo {
            return false;
        }
        if self.year_to.is_some() || other.year_to.is_some() {
            return true;
        }
        if let (Some(m1), Some(m2)) = (self.month, other.month) {
            if m1 != m2 {
                return false;
            }
            if let (Some(d1), Some(d2)) = (self.day, other.day) {
                return d1 == d2;
            }
        }
        true
    }

    /// True when both dates give the same full day (strong evidence).
    pub fn same_day(&self, other: &PartialDate) -> bool {
        self.year_to.is_none()
            && other.year_to.is_none()
            && self.day.is_some()
            && self.year == other.year
            && self.month == other.month
            && self.day == other.day
    }
}

impl fmt::Display for PartialDate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:04}", self.year)?;
        if let Some(m) = self.month {
            write!(f, "-{m:02}")?;
            if let Some(d) = self.day {
                write!(f, "-{d:02}")?;
            }
        }
        if let Some(to) = self.year_to {
            write!(f, "..{to:04}")?;
        }
        Ok(())
    }
}

/// Error for an unparseable [`PartialDate`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid date {0:?} (expected YYYY, YYYY-MM or YYYY-MM-DD)")]
pub struct InvalidDate(pub String);

impl FromStr for PartialDate {
    type Err = InvalidDate;
    /// Parses `YYYY`, `YYYY-MM`, `YYYY-MM-DD` (ISO, as used in queries and the generic CSV).
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let err = || InvalidDate(s.chars().take(32).collect());
        let mut it = s.trim().split('-');
        let year: u16 = it.next().and_then(|y| parse_digits(y, 4)).ok_or_else(err)?;
        let month = match it.next() {
            Some(m) => Some(parse_digits(m, 2).ok_or_else(err)? as u8),
            None => None,
        };
        let day = match it.next() {
            Some(d) => Some(parse_digits(d, 2).ok_or_else(err)? as u8),
            None => None,
        };
        if it.next().is_some() {
            return Err(err());
        }
        PartialDate::new(year, month, day).ok_or_else(err)
    }
}

fn parse_digits(s: &str, len: usize) -> Option<u16> {
    if s.len() == len && s.bytes().all(|b| b.is_ascii_digit()) {
        s.parse().ok()
    } else {
        None
    }
}

/// An identifying document or number (passport, national id, IMO number, SWIFT/BIC, wallet…).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Identifier {
    /// Kind as published, e.g. `Passport`, `National ID No.`, `IMO`, `SWIFT/BIC`.
    pub kind: String,
    /// The number itself.
    pub value: String,
    /// Issuing country when given.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub country: Option<String>,
}

/// A postal address, kept as published lines plus the country.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize, Default)]
pub struct Address {
    /// Street, city, region and postcode parts as published (empty parts dropped).
    pub lines: Vec<String>,
    /// Country as published.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub country: Option<String>,
}

/// One listed party (person, organisation, vessel, aircraft).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Entry {
    /// The list the entry belongs to.
    pub source: ListSource,
    /// Identifier of the entry in its list (OFAC ent_num, UN DATAID, EU logicalId, UK UniqueID,
    /// DTTOT kode densus, generic `id` column). Unique within one list.
    pub id: String,
    /// Primary name as published.
    pub name: String,
    /// Aliases (a.k.a., f.k.a., original-script names) as published.
    pub aliases: Vec<String>,
    /// Kind of party.
    pub entity_type: EntityType,
    /// Dates of birth (persons) or registration, as published; several when the list gives several.
    pub dates_of_birth: Vec<PartialDate>,
    /// Nationalities / citizenships as published (country names or ISO codes).
    pub nationalities: Vec<String>,
    /// Identifying documents and numbers.
    pub identifiers: Vec<Identifier>,
    /// Addresses.
    pub addresses: Vec<Address>,
    /// Sanctions programmes / regimes (e.g. `SDGT`, `Al-Qaida`, `DRC`).
    pub programs: Vec<String>,
}

impl Entry {
    /// A new entry with only a name; other fields empty.
    pub fn new(source: ListSource, id: impl Into<String>, name: impl Into<String>) -> Self {
        Entry {
            source,
            id: id.into(),
            name: name.into(),
            aliases: Vec::new(),
            entity_type: EntityType::Unknown,
            dates_of_birth: Vec::new(),
            nationalities: Vec::new(),
            identifiers: Vec::new(),
            addresses: Vec::new(),
            programs: Vec::new(),
        }
    }

    /// Primary name followed by the aliases.
    pub fn all_names(&self) -> impl Iterator<Item = &str> {
        std::iter::once(self.name.as_str()).chain(self.aliases.iter().map(String::as_str))
    }
}

/// A fully parsed list: either every entry of the file(s) or nothing (parsers never return
/// partially-loaded data).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SanctionsList {
    /// Which list.
    pub source: ListSource,
    /// Lower-case hex SHA-256 of the raw input bytes (for multi-file inputs: of each file's
    /// bytes, length-prefixed, in a fixed order). Same bytes give the same version.
    pub version: String,
    /// Entries in file order; ids are unique.
    pub entries: Vec<Entry>,
}

impl SanctionsList {
    /// Build a list from entries produced elsewhere (e.g. the changed entries of a [`crate::ListDiff`]
    /// or a list read back from a database). The version is a SHA-256 over the entries' JSON
    /// form. Fails with [`crate::ListError::DuplicateId`] if two entries share an id, and with
    /// [`crate::ListError::Invalid`] if an entry belongs to another source or has no name.
    pub fn from_entries(source: ListSource, entries: Vec<Entry>) -> Result<Self, crate::ListError> {
        let mut seen = std::collections::HashSet::new();
        let mut hasher = Sha256::new();
        for e in &entries {
            if e.source != source {
                return Err(crate::ListError::Invalid(format!(
                    "entry {} belongs to {} not {}",
                    e.id, e.source, source
                )));
            }
            if e.name.trim().is_empty() {
                return Err(crate::ListError::Invalid(format!(
                    "entry {} has no name",
                    e.id
                )));
            }
            if !seen.insert(e.id.as_str()) {
                return Err(crate::ListError::DuplicateId { id: e.id.clone() });
            }
            let json =
                serde_json::to_vec(e).map_err(|err| crate::ListError::Invalid(err.to_string()))?;
            hasher.update((json.len() as u64).to_le_bytes());
            hasher.update(&json);
        }
        Ok(SanctionsList {
            source,
            version: hex(&hasher.finalize()),
            entries,
        })
    }

    /// Look up an entry by id (linear scan; lists are small).
    pub fn get(&self, id: &str) -> Option<&Entry> {
        self.entries.iter().find(|e| e.id == id)
    }
}

/// SHA-256 over several byte slices, each length-prefixed so that file boundaries matter.
pub(crate) fn version_of(parts: &[&[u8]]) -> String {
    let mut h = Sha256::new();
    if parts.len() == 1 {
        h.update(parts[0]);
    } else {
        for p in parts {
            h.update((p.len() as u64).to_le_bytes());
            h.update(p);
        }
    }
    hex(&h.finalize())
}

fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        s.push(DIGITS[(b >> 4) as usize] as char);
        s.push(DIGITS[(b & 15) as usize] as char);
    }
    s
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;

    #[test]
    fn source_round_trip() {
        for s in [
            "ofac-sdn",
            "ofac-nonsdn",
            "un",
            "eu",
            "uk",
            "id-dttot",
            "generic:bi-blacklist",
        ] {
            let src: ListSource = s.parse().unwrap();
            assert_eq!(src.to_string(), s);
            let json = serde_json::to_string(&src).unwrap();
            assert_eq!(json, format!("\"{s}\""));
        }
        assert!("generic:".parse::<ListSource>().is_err());
        assert!("generic:a b".parse::<ListSource>().is_err());
        assert!("ofac".parse::<ListSource>().is_err());
        assert!(
            ListSource::Generic {
                name: "pep-id".into()
            }
            .is_pep()
        );
    }

    #[test]
    fn partial_dates() {
        let d: PartialDate = "1971-05-03".parse().unwrap();
        assert_eq!(d.to_string(), "1971-05-03");
        assert!(d.compatible(&PartialDate::year(1971)));
        assert!(!d.compatible(&PartialDate::year(1972)));
        assert!(!d.compatible(&"1971-06".parse().unwrap()));
        let range = PartialDate {
            year: 1960,
            month: None,
            day: None,
            year_to: Some(1962),
        };
        assert!(range.compatible(&d.with_year(1961)));
        assert!("1971-13".parse::<PartialDate>().is_err());
        assert!("71".parse::<PartialDate>().is_err());
        assert!("".parse::<PartialDate>().is_err());
    }

    impl PartialDate {
        fn with_year(mut self, y: u16) -> Self {
            self.year = y;
            self
        }
    }
}
