//! Indonesia PPATK DTTOT (Daftar Terduga Teroris dan Organisasi Teroris) CSV.
//!
//! Header (order free, extra `ref_line` column allowed):
//! `nama,terduga,warga_negara,alamat,tempat_lahir,tanggal_lahir,kode_densus`.
//! One row per name; rows sharing `kode_densus` are one designation (the first row's name is
//! the primary name, later rows are aliases). `terduga` is `Orang` (person) or `Korporasi`
//! (organisation). The list holds personal data: this parser never logs row content.

use std::collections::HashMap;

use super::{ListError, check_size, clean, parse_loose_date, push_unique, to_str};
use crate::model::{Address, EntityType, Entry, ListSource, SanctionsList, version_of};

const FILE: &str = "dttot.csv";
const REQUIRED: [&str; 7] = [
    "nama",
    "terduga",
    "warga_negara",
    "alamat",
    "tempat_lahir",
    "tanggal_lahir",
    "kode_densus",
];

pub(crate) fn parse(bytes: &[u8]) -> Result<SanctionsList, ListError> {
    check_size(FILE, bytes)?;
    let text = to_str(FILE, bytes)?;
    let mut rdr = csv::ReaderBuilder::new()
        .has_headers(true)
        .from_reader(text.as_bytes());
    let header = rdr.headers().map_err(|e| csv_err(&e))?.clone();
    let col = |name: &str| {
        header
            .iter()
            .position(|h| h.trim().eq_ignore_ascii_case(name))
    };
    let mut idx = [0usize; 7];
    for (i, name) in REQUIRED.iter().enumerate() {
        idx[i] = col(name).ok_or_else(|| ListError::BadHeader {
            file: FILE.into(),
            expected: REQUIRED.join(","),
        })?;
    }
    if header
        .iter()
        .any(|h| !REQUIRED.contains(&h.trim()) && h.trim() != "ref_line")
    {
        return Err(ListError::BadHeader {
            file: FILE.into(),
            expected: REQUIRED.join(",") + "[,ref_line]",
        });
    }
    let [nama, terduga, warga, alamat, _tempat, tanggal, kode] = idx;
    let mut entries: Vec<Entry> = Vec::new();
    let mut by_id: HashMap<String, usize> = HashMap::new();
    for rec in rdr.records() {
        let rec = rec.map_err(|e| csv_err(&e))?;
        let line = rec.position().map_or(0, |p| p.line());
        let bad = |m: &str| ListError::InvalidRecord {
            file: FILE.into(),
            record: format!("line {line}"),
            message: m.into(),
        };
        let id = clean(&rec[kode]).ok_or_else(|| bad("empty kode_densus"))?;
        let name = clean(&rec[nama]).ok_or_else(|| bad("empty nama"))?;
        let ty = match rec[terduga].trim().to_ascii_lowercase().as_str() {
            "orang" => EntityType::Person,
            "korporasi" => EntityType::Organisation,
            "" => EntityType::Unknown,
            _ => return Err(bad("terduga must be Orang or Korporasi")),
        };
        let i = match by_id.get(&id) {
            Some(&i) => {
                let e = &mut entries[i];
                if e.entity_type != ty {
                    return Err(bad("rows of one kode_densus disagree on terduga"));
                }
                if name != e.name {
                    push_unique(&mut e.aliases, name);
                }
                i
            }
            None => {
                let mut e = Entry::new(ListSource::IdDttot, id.clone(), name);
                e.entity_type = ty;
                e.programs.push(program_of(&id));
                by_id.insert(id, entries.len());
                entries.push(e);
                entries.len() - 1
            }
        };
        let e = &mut entries[i];
        if let Some(n) = clean(&rec[warga]) {
            for n in n.split([',', ';', '/']).filter_map(clean) {
                push_unique(&mut e.nationalities, n);
            }
        }
        if let Some(a) = clean(&rec[alamat]) {
            push_unique(
                &mut e.addresses,
                Address {
                    lines: vec![a],
                    country: None,
                },
            );
        }
        if let Some(d) = clean(&rec[tanggal]) {
            let d = parse_loose_date(&d).ok_or_else(|| bad("invalid tanggal_lahir"))?;
            push_unique(&mut e.dates_of_birth, d);
        }
    }
    if entries.is_empty() {
        return Err(ListError::Empty { file: FILE.into() });
    }
    Ok(SanctionsList {
        source: ListSource::IdDttot,
        version: version_of(&[bytes]),
        entries,
    })
}

/// Programme from the code prefix: first letter I(ndividual)/E(ntity), then D (domestic) or
/// L (UN-derived list), then the category letter.
fn program_of(id: &str) -> String {
    let prefix: String = id.chars().take_while(|c| c.is_ascii_alphabetic()).collect();
    match prefix.get(1..2) {
        Some("D") => format!("DTTOT-domestic-{prefix}"),
        Some("L") => format!("DTTOT-UN-{prefix}"),
        _ => format!("DTTOT-{prefix}"),
    }
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
