//! UK Sanctions List (FCDO) XML: root `Designations`, one `Designation` per party with
//! `UniqueID`, `Names/Name` (`Name1`–`Name5` given names, `Name6` surname or whole entity name,
//! `NameType` = Primary Name | Primary Name Variation | Alias), `NonLatinNames/NonLatinName/
//! NameNonLatinScript`, `RegimeName`, `IndividualEntityShip` (Individual | Entity | Ship),
//! `Addresses/Address` (`AddressLine1`–`6`, `AddressPostalCode`, `AddressCountry`) and
//! `IndividualDetails/Individual` (`DOBs/DOB` as dd/mm/yyyy, `Nationalities/Nationality`,
//! passport and national-id numbers); ships carry `IMONumber`.

use std::collections::HashSet;

use super::xml::{Node, parse_tree};
use super::{ListError, clean, parse_loose_date, push_unique};
use crate::model::{Address, EntityType, Entry, Identifier, ListSource, SanctionsList, version_of};

const FILE: &str = "UK_Sanctions_List.xml";

pub(crate) fn parse(bytes: &[u8]) -> Result<SanctionsList, ListError> {
    let root = parse_tree(FILE, bytes)?;
    if root.name != "Designations" {
        return Err(ListError::UnexpectedFormat {
            file: FILE.into(),
            message: format!("root element is <{}>, expected <Designations>", root.name),
        });
    }
    let mut entries = Vec::new();
    let mut seen = HashSet::new();
    for (i, n) in root.children_named("Designation").enumerate() {
        let e = entry(n, i)?;
        if !seen.insert(e.id.clone()) {
            return Err(ListError::DuplicateId { id: e.id });
        }
        entries.push(e);
    }
    if entries.is_empty() {
        return Err(ListError::Empty { file: FILE.into() });
    }
    Ok(SanctionsList {
        source: ListSource::Uk,
        version: version_of(&[bytes]),
        entries,
    })
}

fn name_of(n: &Node) -> Option<String> {
    let given: Vec<String> = ["Name1", "Name2", "Name3", "Name4", "Name5"]
        .iter()
        .filter_map(|f| n.child_text(f))
        .collect();
    match (n.child_text("Name6"), given.is_empty()) {
        (Some(last), true) => Some(last),
        (Some(last), false) => Some(format!("{last}, {}", given.join(" "))),
        (None, false) => Some(given.join(" ")),
        (None, true) => None,
    }
}

fn texts<'a>(n: &'a Node, name: &'a str) -> Vec<String> {
    let mut out = Vec::new();
    n.descendants(name, &mut out);
    out.into_iter().filter_map(|x| clean(&x.text)).collect()
}

fn entry(n: &Node, i: usize) -> Result<Entry, ListError> {
    let id = n
        .child_text("UniqueID")
        .ok_or_else(|| ListError::InvalidRecord {
            file: FILE.into(),
            record: format!("Designation #{}", i + 1),
            message: "missing UniqueID".into(),
        })?;
    let mut primary = None;
    let mut others = Vec::new();
    if let Some(names) = n.child("Names") {
        for nm in names.children_named("Name") {
            let Some(text) = name_of(nm) else { continue };
            if primary.is_none() && nm.child_text("NameType").as_deref() == Some("Primary Name") {
                primary = Some(text);
            } else {
                others.push(text);
            }
        }
    }
    let name = match primary {
        Some(p) => p,
        None if !others.is_empty() => others.remove(0),
        None => {
            return Err(ListError::InvalidRecord {
                file: FILE.into(),
                record: id,
                message: "no name".into(),
            });
        }
    };
    let mut e = Entry::new(ListSource::Uk, id, name);
    for o in others.into_iter().chain(texts(n, "NameNonLatinScript")) {
        if o != e.name {
            push_unique(&mut e.aliases, o);
        }
    }
    e.entity_type = match n
        .child_text("IndividualEntityShip")
        .map(|s| s.to_ascii_lowercase())
        .as_deref()
    {
        Some("individual") => EntityType::Person,
        Some("entity") => EntityType::Organisation,
        Some("ship") => EntityType::Vessel,
        _ => EntityType::Unknown,
    };
    if let Some(r) = n.child_text("RegimeName") {
        e.programs.push(r);
    }
    if let Some(r) = n.child_text("UNReferenceNumber") {
        e.identifiers.push(Identifier {
            kind: "UN Reference Number".into(),
            value: r,
            country: None,
        });
    }
    for d in texts(n, "DOB") {
        if let Some(d) = parse_loose_date(&d) {
            push_unique(&mut e.dates_of_birth, d);
        }
    }
    for nat in texts(n, "Nationality") {
        push_unique(&mut e.nationalities, nat);
    }
    for (tag, kind) in [
        ("PassportNumber", "Passport"),
        ("NationalIdentifierNumber", "National ID"),
        ("IMONumber", "IMO"),
    ] {
        for v in texts(n, tag) {
            push_unique(
                &mut e.identifiers,
                Identifier {
                    kind: kind.into(),
                    value: v,
                    country: None,
                },
            );
        }
    }
    if let Some(addrs) = n.child("Addresses") {
        for a in addrs.children_named("Address") {
            let lines: Vec<String> = [
                "AddressLine1",
                "AddressLine2",
                "AddressLine3",
                "AddressLine4",
                "AddressLine5",
                "AddressLine6",
                "AddressPostalCode",
            ]
            .iter()
            .filter_map(|f| a.child_text(f))
            .collect();
            let country = a.child_text("AddressCountry");
            if !lines.is_empty() || country.is_some() {
                push_unique(&mut e.addresses, Address { lines, country });
            }
        }
    }
    Ok(e)
}
