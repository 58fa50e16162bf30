//! OFAC legacy CSV exports: `sdn.csv` (12 columns), `alt.csv` (5), `add.csv` (6), and the
//! non-SDN equivalents `cons_prim.csv`, `cons_alt.csv`, `cons_add.csv`. Headerless, `-0-` is
//! null, the files end with a DOS EOF byte. Remarks are mined for DOB, nationality and ids.

use std::collections::HashMap;

use super::{ListError, check_size, clean, parse_loose_date, push_unique, to_str};
use crate::model::{Address, EntityType, Entry, Identifier, ListSource, SanctionsList, version_of};

/// The three files of an OFAC CSV export. `alt` and `add` are optional.
#[derive(Debug, Clone, Copy)]
pub struct OfacCsvFiles<'a> {
    /// `sdn.csv` or `cons_prim.csv`.
    pub primary: &'a [u8],
    /// `alt.csv` or `cons_alt.csv` (aliases).
    pub alt: Option<&'a [u8]>,
    /// `add.csv` or `cons_add.csv` (addresses).
    pub add: Option<&'a [u8]>,
}

/// Parse an OFAC CSV export (SDN or non-SDN, chosen by `source`). Alias and address rows that
/// refer to an id missing from the primary file are an error ([`ListError::UnknownReference`]).
pub fn parse_ofac_csv(
    source: &ListSource,
    files: &OfacCsvFiles<'_>,
) -> Result<SanctionsList, ListError> {
    let (pname, aname, dname) = match source {
        ListSource::OfacSdn => ("sdn.csv", "alt.csv", "add.csv"),
        ListSource::OfacNonSdn => ("cons_prim.csv", "cons_alt.csv", "cons_add.csv"),
        other => {
            return Err(ListError::Invalid(format!(
                "parse_ofac_csv called for {other}; expected ofac-sdn or ofac-nonsdn"
            )));
        }
    };
    check_size(pname, files.primary)?;
    let mut entries: Vec<Entry> = Vec::new();
    let mut by_id: HashMap<String, usize> = HashMap::new();
    for_each_record(pname, files.primary, 12, |line, rec| {
        let id = clean(rec[0]).ok_or_else(|| invalid(pname, line, "empty ent_num"))?;
        let name = clean(rec[1]).ok_or_else(|| invalid(pname, line, "empty name"))?;
        if by_id.contains_key(&id) {
            return Err(ListError::DuplicateId { id });
        }
        let mut e = Entry::new(source.clone(), id.clone(), name);
        e.entity_type = match clean(rec[2])
            .as_deref()
            .map(str::to_ascii_lowercase)
            .as_deref()
        {
            Some("individual") => EntityType::Person,
            Some("vessel") => EntityType::Vessel,
            Some("aircraft") => EntityType::Aircraft,
            None | Some("entity") => EntityType::Organisation,
            Some(_) => EntityType::Unknown,
        };
        if let Some(p) = clean(rec[3]) {
            for prog in p.split(['[', ']']).filter_map(clean) {
                push_unique(&mut e.programs, prog);
            }
        }
        if let Some(cs) = clean(rec[5]) {
            e.identifiers.push(Identifier {
                kind: "Call Sign".into(),
                value: cs,
                country: None,
            });
        }
        if let Some(flag) = clean(rec[9]) {
            // Vessel flag: kept as a nationality so country evidence works for vessels.
            push_unique(&mut e.nationalities, flag);
        }
        if let Some(remarks) = clean(rec[11]) {
            apply_remarks(&mut e, &remarks);
        }
        by_id.insert(id, entries.len());
        entries.push(e);
        Ok(())
    })?;
    if entries.is_empty() {
        return Err(ListError::Empty { file: pname.into() });
    }
    if let Some(alt) = files.alt {
        check_size(aname, alt)?;
        for_each_record(aname, alt, 5, |line, rec| {
            let id = clean(rec[0]).ok_or_else(|| invalid(aname, line, "empty ent_num"))?;
            let &idx = by_id.get(&id).ok_or_else(|| ListError::UnknownReference {
                file: aname.into(),
                id: id.clone(),
            })?;
            if let Some(name) = clean(rec[3]) {
                let e = &mut entries[idx];
                if name != e.name {
                    push_unique(&mut e.aliases, name);
                }
            }
            Ok(())
        })?;
    }
    if let Some(add) = files.add {
        check_size(dname, add)?;
        for_each_record(dname, add, 6, |line, rec| {
            let id = clean(rec[0]).ok_or_else(|| invalid(dname, line, "empty ent_num"))?;
            let &idx = by_id.get(&id).ok_or_else(|| ListError::UnknownReference {
                file: dname.into(),
                id: id.clone(),
            })?;
            let lines: Vec<String> = [rec[2], rec[3]].into_iter().filter_map(clean).collect();
            let country = clean(rec[4]);
            if !lines.is_empty() || country.is_some() {
                push_unique(&mut entries[idx].addresses, Address { lines, country });
            }
            Ok(())
        })?;
    }
    let mut parts: Vec<&[u8]> = vec![files.primary];
    parts.push(files.alt.unwrap_or(b""));
    parts.push(files.add.unwrap_or(b""));
    Ok(SanctionsList {
        source: source.clone(),
        version: version_of(&parts),
        entries,
    })
}

fn invalid(file: &str, line: u64, msg: &str) -> ListError {
    ListError::InvalidRecord {
        file: file.into(),
        record: format!("line {line}"),
        message: msg.into(),
    }
}

/// Run `f` on every record, checking the exact column count. Stops at the first error.
fn for_each_record(
    file: &str,
    bytes: &[u8],
    columns: usize,
    mut f: impl FnMut(u64, &[&str]) -> Result<(), ListError>,
) -> Result<(), ListError> {
    let text = to_str(file, bytes)?;
    let mut rdr = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .from_reader(text.as_bytes());
    let mut rec = csv::StringRecord::new();
    loop {
        match rdr.read_record(&mut rec) {
            Ok(false) => break,
            Ok(true) => {}
            Err(e) => {
                return Err(ListError::Csv {
                    file: file.into(),
                    line: e.position().map_or(0, |p| p.line()),
                    message: e.to_string(),
                });
            }
        }
        let line = rec.position().map_or(0, |p| p.line());
        if rec.len() == 1 && rec[0].trim().is_empty() {
            continue;
        }
        if rec.len() != columns {
            return Err(ListError::WrongColumns {
                file: file.into(),
                line,
                expected: columns,
                found: rec.len(),
            });
        }
        let fields: Vec<&str> = rec.iter().collect();
        f(line, &fields)?;
    }
    Ok(())
}

/// Identifier kinds recognised at the start of a remarks segment.
const ID_PREFIXES: &[&str] = &[
    "Passport",
    "National ID No.",
    "Tax ID No.",
    "Cedula No.",
    "SSN",
    "SWIFT/BIC",
    "Registration Number",
    "Registration ID",
    "Business Registration Number",
    "Identification Number",
    "Vessel Registration Identification IMO",
    "Vessel Registration Identification",
    "IMO",
    "MMSI",
    "Aircraft Manufacturer's Serial Number (MSN)",
    "Aircraft Tail Number",
    "Digital Currency Address -",
    "Company Number",
    "Commercial Registry Number",
    "Public Registration Number",
    "Government Gazette Number",
    "Legal Entity Number",
    "D-U-N-S Number",
    "Driver's License No.",
    "Personal ID Card",
    "Residency Number",
    "Kenyan ID No.",
    "Birth Certificate Number",
    "Citizen's Card Number",
    "NIT #",
    "RUC #",
    "C.U.R.P.",
    "R.F.C.",
];

/// Mine OFAC remarks ("DOB 12 Mar 1962; POB ...; nationality Iran; Passport A123 (Iran); ...").
pub(crate) fn apply_remarks(e: &mut Entry, remarks: &str) {
    for seg in remarks.split(';') {
        let seg = seg.trim().trim_end_matches('.');
        let seg = seg.strip_prefix("alt. ").unwrap_or(seg);
        if let Some(d) = seg.strip_prefix("DOB ") {
            if let Some(d) = parse_loose_date(d) {
                push_unique(&mut e.dates_of_birth, d);
            }
        } else if let Some(n) = seg
            .strip_prefix("nationality ")
            .or_else(|| seg.strip_prefix("Nationality "))
            .or_else(|| seg.strip_prefix("citizen "))
        {
            if let Some(n) = clean(n) {
                push_unique(&mut e.nationalities, n);
            }
        } else if let Some(prefix) = ID_PREFIXES.iter().find(|p| seg.starts_with(*p)) {
            let rest = seg[prefix.len()..].trim();
            let (value, country) = match rest.rfind(" (") {
                Some(i) if rest.ends_with(')') => {
                    (rest[..i].trim(), clean(&rest[i + 2..rest.len() - 1]))
                }
                _ => (rest, None),
            };
            let kind_extra = if *prefix == "Digital Currency Address -" {
                // "Digital Currency Address - XBT 1abc..." : keep the currency in the kind.
                let mut it = value.splitn(2, ' ');
                let cur = it.next().unwrap_or("");
                let addr = it.next().unwrap_or("").trim();
                if let Some(addr) = clean(addr) {
                    push_unique(
                        &mut e.identifiers,
                        Identifier {
                            kind: format!("Digital Currency Address {cur}"),
                            value: addr,
                            country: None,
                        },
                    );
                }
                continue;
            } else {
                *prefix
            };
            if let Some(value) = clean(value) {
                push_unique(
                    &mut e.identifiers,
                    Identifier {
                        kind: kind_extra.trim_end_matches(" -").to_string(),
                        value,
                        country,
                    },
                );
            }
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;

    #[test]
    fn remarks() {
        let mut e = Entry::new(ListSource::OfacSdn, "1", "X");
        apply_remarks(
            &mut e,
            "DOB 12 Mar 1962; alt. DOB 1963; POB Shati; nationality Iran; Passport A123 (Iran); \
             Digital Currency Address - XBT 1AbC; IMO 9187629.",
        );
        assert_eq!(e.dates_of_birth.len(), 2);
        assert_eq!(e.nationalities, vec!["Iran".to_string()]);
        assert_eq!(e.identifiers.len(), 3);
        assert_eq!(e.identifiers[0].country.as_deref(), Some("Iran"));
        assert_eq!(e.identifiers[1].kind, "Digital Currency Address XBT");
        assert_eq!(e.identifiers[2].value, "9187629");
    }
}
