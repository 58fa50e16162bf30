//! OFAC XML export (`sdn.xml`, `consolidated.xml`): root `sdnList`, one `sdnEntry` per party
//! with `uid`, `lastName`, `firstName`, `sdnType`, `programList/program`, `idList/id`,
//! `akaList/aka`, `addressList/address`, `nationalityList`, `citizenshipList`,
//! `dateOfBirthList/dateOfBirthItem`, `vesselInfo`, `remarks`. Names are rendered as
//! `LAST, First` like the CSV export.

use std::collections::HashSet;

use super::xml::{Node, parse_tree};
use super::{ListError, clean, parse_loose_date, push_unique};
use crate::model::{Address, EntityType, Entry, Identifier, ListSource, SanctionsList, version_of};

const FILE: &str = "ofac.xml";

pub(crate) fn parse(source: ListSource, bytes: &[u8]) -> Result<SanctionsList, ListError> {
    let root = parse_tree(FILE, bytes)?;
    if root.name != "sdnList" {
        return Err(ListError::UnexpectedFormat {
            file: FILE.into(),
            message: format!("root element is <{}>, expected <sdnList>", root.name),
        });
    }
    let mut seen = HashSet::new();
    let mut entries = Vec::new();
    for (i, n) in root.children_named("sdnEntry").enumerate() {
        let record = || format!("#{}", i + 1);
        let id = n
            .child_text("uid")
            .ok_or_else(|| ListError::InvalidRecord {
                file: FILE.into(),
                record: record(),
                message: "missing uid".into(),
            })?;
        if !seen.insert(id.clone()) {
            return Err(ListError::DuplicateId { id });
        }
        let name = person_name(n).ok_or_else(|| ListError::InvalidRecord {
            file: FILE.into(),
            record: id.clone(),
            message: "missing lastName".into(),
        })?;
        let mut e = Entry::new(source.clone(), id, name);
        e.entity_type = match n
            .child_text("sdnType")
            .map(|s| s.to_ascii_lowercase())
            .as_deref()
        {
            Some("individual") => EntityType::Person,
            Some("entity") => EntityType::Organisation,
            Some("vessel") => EntityType::Vessel,
            Some("aircraft") => EntityType::Aircraft,
            _ => EntityType::Unknown,
        };
        if let Some(pl) = n.child("programList") {
            for p in pl.children_named("program").filter_map(|p| clean(&p.text)) {
                push_unique(&mut e.programs, p);
            }
        }
        if let Some(al) = n.child("akaList") {
            for a in al.children_named("aka") {
                if let Some(alias) = person_name(a)
                    && alias != e.name
                {
                    push_unique(&mut e.aliases, alias);
                }
            }
        }
        if let Some(il) = n.child("idList") {
            for id in il.children_named("id") {
                if let (Some(kind), Some(value)) =
                    (id.child_text("idType"), id.child_text("idNumber"))
                {
                    push_unique(
                        &mut e.identifiers,
                        Identifier {
                            kind,
                            value,
                            country: id.child_text("idCountry"),
                        },
                    );
                }
            }
        }
        if let Some(al) = n.child("addressList") {
            for a in al.children_named("address") {
                let lines: Vec<String> = [
                    "address1",
                    "address2",
                    "address3",
                    "city",
                    "stateOrProvince",
                    "postalCode",
                ]
                .iter()
                .filter_map(|f| a.child_text(f))
                .collect();
                let country = a.child_text("country");
                if !lines.is_empty() || country.is_some() {
                    push_unique(&mut e.addresses, Address { lines, country });
                }
            }
        }
        for (list, item) in [
            ("nationalityList", "nationality"),
            ("citizenshipList", "citizenship"),
        ] {
            if let Some(l) = n.child(list) {
                for c in l
                    .children_named(item)
                    .filter_map(|c| c.child_text("country"))
                {
                    push_unique(&mut e.nationalities, c);
                }
            }
        }
        if let Some(l) = n.child("dateOfBirthList") {
            for d in l
                .children_named("dateOfBirthItem")
                .filter_map(|d| d.child_text("dateOfBirth"))
            {
                if let Some(d) = parse_loose_date(&d) {
                    push_unique(&mut e.dates_of_birth, d);
                }
            }
        }
        if let Some(flag) = n
            .child("vesselInfo")
            .and_then(|v| v.child_text("vesselFlag"))
        {
            push_unique(&mut e.nationalities, flag);
        }
        if let Some(r) = n.child_text("remarks") {
            super::ofac_csv::apply_remarks(&mut e, &r);
        }
        entries.push(e);
    }
    if entries.is_empty() {
        return Err(ListError::Empty { file: FILE.into() });
    }
    Ok(SanctionsList {
        source,
        version: version_of(&[bytes]),
        entries,
    })
}

fn person_name(n: &Node) -> Option<String> {
    let last = n.child_text("lastName")?;
    Some(match n.child_text("firstName") {
        Some(first) => format!("{last}, {first}"),
        None => last,
    })
}
