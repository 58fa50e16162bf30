//! UN Security Council consolidated list XML: `CONSOLIDATED_LIST/INDIVIDUALS/INDIVIDUAL` and
//! `CONSOLIDATED_LIST/ENTITIES/ENTITY`.

use std::collections::HashSet;

use super::xml::{Node, parse_tree};
use super::{ListError, clean, push_unique};
use crate::model::{
    Address, EntityType, Entry, Identifier, ListSource, PartialDate, SanctionsList, version_of,
};

const FILE: &str = "UN_consolidated.xml";

pub(crate) fn parse(bytes: &[u8]) -> Result<SanctionsList, ListError> {
    let root = parse_tree(FILE, bytes)?;
    if root.name != "CONSOLIDATED_LIST" {
        return Err(ListError::UnexpectedFormat {
            file: FILE.into(),
            message: format!(
                "root element is <{}>, expected <CONSOLIDATED_LIST>",
                root.name
            ),
        });
    }
    let mut entries = Vec::new();
    let mut seen = HashSet::new();
    let groups = [
        ("INDIVIDUALS", "INDIVIDUAL", EntityType::Person),
        ("ENTITIES", "ENTITY", EntityType::Organisation),
    ];
    for (group, item, ty) in groups {
        let Some(g) = root.child(group) else { continue };
        for (i, n) in g.children_named(item).enumerate() {
            let e = entry(n, ty, i)?;
            if !seen.insert(e.id.clone()) {
                return Err(ListError::DuplicateId { id: e.id });
            }
            entries.push(e);
        }
    }
    if entries.is_empty() {
        return Err(ListError::Empty { file: FILE.into() });
    }
    Ok(SanctionsList {
        source: ListSource::Un,
        version: version_of(&[bytes]),
        entries,
    })
}

fn entry(n: &Node, ty: EntityType, i: usize) -> Result<Entry, ListError> {
    let id = n
        .child_text("DATAID")
        .ok_or_else(|| ListError::InvalidRecord {
            file: FILE.into(),
            record: format!("{} #{}", n.name, i + 1),
            message: "missing DATAID".into(),
        })?;
    let name: Vec<String> = ["FIRST_NAME", "SECOND_NAME", "THIRD_NAME", "FOURTH_NAME"]
        .iter()
        .filter_map(|f| n.child_text(f))
        .collect();
    if name.is_empty() {
        return Err(ListError::InvalidRecord {
            file: FILE.into(),
            record: id,
            message: "missing FIRST_NAME".into(),
        });
    }
    let mut e = Entry::new(ListSource::Un, id, name.join(" "));
    e.entity_type = ty;
    if let Some(p) = n.child_text("UN_LIST_TYPE") {
        e.programs.push(p);
    }
    if let Some(r) = n.child_text("REFERENCE_NUMBER") {
        e.identifiers.push(Identifier {
            kind: "UN Reference Number".into(),
            value: r,
            country: None,
        });
    }
    if let Some(orig) = n.child_text("NAME_ORIGINAL_SCRIPT") {
        push_unique(&mut e.aliases, orig);
    }
    for c in n.children.iter().filter(|c| c.name.ends_with("_ALIAS")) {
        if let Some(a) = c.child_text("ALIAS_NAME")
            && a != e.name
        {
            push_unique(&mut e.aliases, a);
        }
    }
    if let Some(nat) = n.child("NATIONALITY") {
        for v in nat.children_named("VALUE").filter_map(|v| clean(&v.text)) {
            push_unique(&mut e.nationalities, v);
        }
    }
    for d in n.children_named("INDIVIDUAL_DATE_OF_BIRTH") {
        if let Some(d) = dob(d) {
            push_unique(&mut e.dates_of_birth, d);
        }
    }
    for doc in n.children_named("INDIVIDUAL_DOCUMENT") {
        if let (Some(kind), Some(value)) =
            (doc.child_text("TYPE_OF_DOCUMENT"), doc.child_text("NUMBER"))
        {
            let country = doc
                .child_text("ISSUING_COUNTRY")
                .or_else(|| doc.child_text("COUNTRY_OF_ISSUE"));
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
    for a in n.children.iter().filter(|c| c.name.ends_with("_ADDRESS")) {
        let lines: Vec<String> = ["STREET", "CITY", "STATE_PROVINCE", "ZIP_CODE"]
            .iter()
            .filter_map(|f| a.child_text(f))
            .collect();
        let country = a.child_text("COUNTRY");
        if !lines.is_empty() || country.is_some() {
            push_unique(&mut e.addresses, Address { lines, country });
        }
    }
    Ok(e)
}

fn dob(n: &Node) -> Option<PartialDate> {
    if let Some(d) = n
        .child_text("DATE")
        .and_then(|d| super::parse_loose_date(&d))
    {
        return Some(d);
    }
    let year = |f: &str| n.child_text(f).and_then(|y| y.parse::<u16>().ok());
    if let (Some(from), Some(to)) = (year("FROM_YEAR"), year("TO_YEAR")) {
        let mut d = PartialDate::new(from, None, None)?;
        if to > from {
            d.year_to = Some(to);
        }
        return Some(d);
    }
    let y = year("YEAR")?;
    let mut d = PartialDate::new(y, None, None)?;
    if n.child_text("TYPE_OF_DATE").as_deref() == Some("APPROXIMATELY") {
        d.year = y.saturating_sub(1);
        d.year_to = Some(y + 1);
    }
    Some(d)
}
