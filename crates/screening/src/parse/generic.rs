//! Generic CSV for lists without a standard feed (BI blacklist, Interpol notices, PEP lists…).
//! See [`GENERIC_CSV_HEADER`] for the format.

use std::collections::HashSet;

use super::{ListError, check_size, clean, push_unique, to_str};
use crate::model::{
    Address, Entry, Identifier, ListSource, PartialDate, SanctionsList, version_of,
};

const FILE: &str = "generic.csv";

/// The generic CSV format (RFC 4180, UTF-8, comma-separated, a header row is required).
///
/// Columns, in any order; only `id` and `name` are required, unknown columns are rejected:
///
/// | column | content |
/// |---|---|
/// | `id` | entry id, unique in the file |
/// | `name` | primary name |
/// | `type` | `person`, `organisation`, `vessel`, `aircraft` or `unknown` (empty = unknown) |
/// | `aliases` | other names, separated by `\|` |
/// | `dob` | dates of birth `YYYY`, `YYYY-MM` or `YYYY-MM-DD`, separated by `\|` |
/// | `nationality` | countries (ISO 3166 alpha-2 codes or English names), separated by `\|` |
/// | `identifiers` | `kind:value` pairs (e.g. `Passport:A123`), separated by `\|` |
/// | `addresses` | free-text addresses, separated by `\|` |
/// | `programme` | programme / reason (e.g. `BI-blacklist`, `Interpol-red`, `PEP`), separated by `\|` |
pub const GENERIC_CSV_HEADER: &str =
    "id,name,type,aliases,dob,nationality,identifiers,addresses,programme";

pub(crate) fn parse(source: ListSource, bytes: &[u8]) -> Result<SanctionsList, ListError> {
    check_size(FILE, bytes)?;
    let text = to_str(FILE, bytes)?;
    let mut rdr = csv::ReaderBuilder::new()
        .has_headers(true)
        .from_reader(text.as_bytes());
    let header: Vec<String> = rdr
        .headers()
        .map_err(|e| csv_err(&e))?
        .iter()
        .map(|h| h.trim().to_ascii_lowercase())
        .collect();
    let known: Vec<&str> = GENERIC_CSV_HEADER.split(',').collect();
    let bad_header = || ListError::BadHeader {
        file: FILE.into(),
        expected: GENERIC_CSV_HEADER.into(),
    };
    let mut seen_cols = HashSet::new();
    for h in &header {
        if !known.contains(&h.as_str()) || !seen_cols.insert(h.as_str()) {
            return Err(bad_header());
        }
    }
    let col = |n: &str| header.iter().position(|h| h == n);
    let (Some(c_id), Some(c_name)) = (col("id"), col("name")) else {
        return Err(bad_header());
    };
    let (c_type, c_alias, c_dob, c_nat, c_ids, c_addr, c_prog) = (
        col("type"),
        col("aliases"),
        col("dob"),
        col("nationality"),
        col("identifiers"),
        col("addresses"),
        col("programme"),
    );
    let mut entries = Vec::new();
    let mut seen = HashSet::new();
    for rec in rdr.records() {
        let rec = rec.map_err(|e| csv_err(&e))?;
        let line = rec.position().map_or(0, |p| p.line());
        let bad = |m: String| ListError::InvalidRecord {
            file: FILE.into(),
            record: format!("line {line}"),
            message: m,
        };
        let get = |c: Option<usize>| c.and_then(|c| rec.get(c)).unwrap_or("");
        let multi = |c: Option<usize>| get(c).split('|').filter_map(clean).collect::<Vec<_>>();
        let id = clean(get(Some(c_id))).ok_or_else(|| bad("empty id".into()))?;
        let name = clean(get(Some(c_name))).ok_or_else(|| bad("empty name".into()))?;
        if !seen.insert(id.clone()) {
            return Err(ListError::DuplicateId { id });
        }
        let mut e = Entry::new(source.clone(), id, name);
        e.entity_type = get(c_type).parse().map_err(bad)?;
        for a in multi(c_alias) {
            if a != e.name {
                push_unique(&mut e.aliases, a);
            }
        }
        for d in multi(c_dob) {
            let d: PartialDate = d
                .parse()
                .map_err(|err: crate::model::InvalidDate| bad(err.to_string()))?;
            push_unique(&mut e.dates_of_birth, d);
        }
        for n in multi(c_nat) {
            push_unique(&mut e.nationalities, n);
        }
        for i in multi(c_ids) {
            let (kind, value) = i
                .split_once(':')
                .ok_or_else(|| bad("identifier must be kind:value".into()))?;
            let (Some(kind), Some(value)) = (clean(kind), clean(value)) else {
                return Err(bad("identifier must be kind:value".into()));
            };
            push_unique(
                &mut e.identifiers,
                Identifier {
                    kind,
                    value,
                    country: None,
                },
            );
        }
        for a in multi(c_addr) {
            push_unique(
                &mut e.addresses,
                Address {
                    lines: vec![a],
                    country: None,
                },
            );
        }
        for p in multi(c_prog) {
            push_unique(&mut e.programs, p);
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

fn csv_err(e: &csv::Error) -> ListError {
    let line = e.position().map_or(0, |p| p.line());
    if let csv::ErrorKind::UnequalLengths {
        expected_len, len, ..
    } = e.kind()
    {
        return ListError::WrongColumns {
            file: FILE.into(),
            line,
            expected: *expected_len as usize,
            found: *len as usize,
        };
    }
    ListError::Csv {
        file: FILE.into(),
        line,
        message: e.to_string(),
    }
}
