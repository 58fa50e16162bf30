//! EU Financial Sanctions Files, XML 1.1 (`xmlFullSanctionsList_1_1`): root `export`
//! (namespace `http://eu.europa.ec/fpi/fsd/export`), one `sanctionEntity` per party
//! (attributes `logicalId`, `euReferenceNumber`, `unitedNationId`) with children `regulation`
//! (`programme`), `subjectType` (`code` = person | enterprise), `nameAlias` (`wholeName`,
//! `firstName`, `middleName`, `lastName`), `citizenship` (`countryIso2Code`,
//! `countryDescription`), `birthdate` (`birthdate`, `year`, `monthOfYear`, `dayOfMonth`,
//! `circa`), `identification` (`number`, `identificationTypeDescription`, `countryIso2Code`),
//! `address` (`street`, `city`, `zipCode`, `region`, `countryDescription`). All data is in attributes.

use std::collections::HashSet;

use super::xml::{Node, parse_tree};
use super::{ListError, push_unique};
use crate::model::{
    Address, EntityType, Entry, Identifier, ListSource, PartialDate, SanctionsList, version_of,
};

const FILE: &str = "eu.xml";

pub(crate) fn parse(bytes: &[u8]) -> Result<SanctionsList, ListError> {
    let root = parse_tree(FILE, bytes)?;
    if root.name != "export" {
        return Err(ListError::UnexpectedFormat {
            file: FILE.into(),
            message: format!("root element is <{}>, expected <export>", root.name),
        });
    }
    let mut entries = Vec::new();
    let mut seen = HashSet::new();
    for (i, n) in root.children_named("sanctionEntity").enumerate() {
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
        source: ListSource::Eu,
        version: version_of(&[bytes]),
        entries,
    })
}

fn alias_name(a: &Node) -> Option<String> {
    a.attr("wholeName").or_else(|| {
        let parts: Vec<String> = ["firstName", "middleName", "lastName"]
            .iter()
            .filter_map(|k| a.attr(k))
            .collect();
        (!parts.is_empty()).then(|| parts.join(" "))
    })
}

fn entry(n: &Node, i: usize) -> Result<Entry, ListError> {
    let id = n
        .attr("logicalId")
        .ok_or_else(|| ListError::InvalidRecord {
            file: FILE.into(),
            record: format!("sanctionEntity #{}", i + 1),
            message: "missing logicalId".into(),
        })?;
    let mut names = n.children_named("nameAlias").filter_map(alias_name);
    let name = names.next().ok_or_else(|| ListError::InvalidRecord {
        file: FILE.into(),
        record: id.clone(),
        message: "no nameAlias with a name".into(),
    })?;
    let mut e = Entry::new(ListSource::Eu, id, name);
    for a in names {
        if a != e.name {
            push_unique(&mut e.aliases, a);
        }
    }
    e.entity_type = match n
        .child("subjectType")
        .and_then(|s| s.attr("code"))
        .as_deref()
    {
        Some("person") => EntityType::Person,
        Some("enterprise") => EntityType::Organisation,
        _ => EntityType::Unknown,
    };
    for r in n.children_named("regulation") {
        if let Some(p) = r.attr("programme") {
            push_unique(&mut e.programs, p);
        }
    }
    if let Some(r) = n.attr("euReferenceNumber") {
        e.identifiers.push(Identifier {
            kind: "EU Reference Number".into(),
            value: r,
            country: None,
        });
    }
    if let Some(r) = n.attr("unitedNationId") {
        e.identifiers.push(Identifier {
            kind: "UN Reference Number".into(),
            value: r,
            country: None,
        });
    }
    for c in n.children_named("citizenship") {
        if let Some(c) = c
            .attr("countryIso2Code")
            .filter(|c| c != "00")
            .or_else(|| c.attr("countryDescription"))
        {
            push_unique(&mut e.nationalities, c);
        }
    }
    for b in n.children_named("birthdate") {
        if let Some(d) = birthdate(b) {
            push_unique(&mut e.dates_of_birth, d);
        }
    }
    for d in n.children_named("identification") {
        if let Some(value) = d.attr("number").or_else(|| d.attr("latinNumber")) {
            let kind = d
                .attr("identificationTypeDescription")
                .or_else(|| d.attr("identificationTypeCode"))
                .unwrap_or_else(|| "id".into());
            let country = d
                .attr("countryIso2Code")
                .filter(|c| c != "00")
                .or_else(|| d.attr("countryDescription"));
            push_unique(
                &mut e.identifiers,
                Identifier {
                    kind,
                    value,
                    country,
                },
            );
        }
    }
    for a in n.children_named("address") {
        let lines: Vec<String> = ["street", "poBox", "city", "zipCode", "region", "place"]
            .iter()
            .filter_map(|k| a.attr(k))
            .collect();
        let country = a.attr("countryDescription").filter(|c| c != "UNKNOWN");
        if !lines.is_empty() || country.is_some() {
            push_unique(&mut e.addresses, Address { lines, country });
        }
    }
    Ok(e)
}

fn birthdate(b: &Node) -> Option<PartialDate> {
    let mut d = match b
        .attr("birthdate")
        .and_then(|d| d.parse::<PartialDate>().ok())
    {
        Some(d) => d,
        None => {
            let year: u16 = b.attr("year")?.parse().ok()?;
            let month = b.attr("monthOfYear").and_then(|m| m.parse().ok());
            let day = month.and(b.attr("dayOfMonth").and_then(|m| m.parse().ok()));
            PartialDate::new(year, month, day)?
        }
    };
    if b.attr("circa").as_deref() == Some("true") {
        d = PartialDate {
            year: d.year.saturating_sub(1),
            month: None,
            day: None,
            year_to: Some(d.year + 1),
        };
    }
    Some(d)
}
