//! List parsers. Every parser takes bytes, holds no global state and returns either a complete
//! [`SanctionsList`] or a typed [`ListError`] (never a partially-loaded list, never a panic).

mod dttot;
mod eu;
mod generic;
mod ofac_csv;
mod ofac_xml;
mod uk;
mod un;
pub(crate) mod xml;

use std::path::Path;

use crate::model::{ListSource, PartialDate, SanctionsList};

pub use generic::GENERIC_CSV_HEADER;
pub use ofac_csv::{OfacCsvFiles, parse_ofac_csv};

/// Largest input accepted by the parsers (per file): 256 MiB.
pub const MAX_INPUT_BYTES: usize = 256 * 1024 * 1024;

/// Why a list could not be loaded. Messages never contain list entry data beyond ids.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ListError {
    /// The bytes are not valid UTF-8.
    #[error("{file}: invalid UTF-8 at byte {offset}")]
    InvalidUtf8 {
        /// Which input file.
        file: String,
        /// Byte offset of the first invalid sequence.
        offset: usize,
    },
    /// CSV syntax error.
    #[error("{file}: malformed CSV at line {line}: {message}")]
    Csv {
        /// Which input file.
        file: String,
        /// 1-based line.
        line: u64,
        /// Parser message.
        message: String,
    },
    /// A CSV record has the wrong number of columns.
    #[error("{file}: line {line} has {found} columns, expected {expected}")]
    WrongColumns {
        /// Which input file.
        file: String,
        /// 1-based line.
        line: u64,
        /// Expected column count.
        expected: usize,
        /// Actual column count.
        found: usize,
    },
    /// A CSV header does not match the documented header.
    #[error("{file}: unexpected header (expected {expected})")]
    BadHeader {
        /// Which input file.
        file: String,
        /// The expected header.
        expected: String,
    },
    /// XML syntax error or truncated document.
    #[error("{file}: malformed XML at byte {position}: {message}")]
    Xml {
        /// Which input file.
        file: String,
        /// Byte position.
        position: u64,
        /// Parser message.
        message: String,
    },
    /// The document is well-formed but is not the expected format (wrong root element…).
    #[error("{file}: not the expected format: {message}")]
    UnexpectedFormat {
        /// Which input file.
        file: String,
        /// What was wrong.
        message: String,
    },
    /// A required field is missing or invalid in one record.
    #[error("{file}: record {record}: {message}")]
    InvalidRecord {
        /// Which input file.
        file: String,
        /// Record id or 1-based line.
        record: String,
        /// What was wrong.
        message: String,
    },
    /// Two entries of one list share an id.
    #[error("duplicate entry id {id:?}")]
    DuplicateId {
        /// The repeated id.
        id: String,
    },
    /// A side file (aliases, addresses) refers to an entry id that the main file does not have.
    #[error("{file}: references unknown entry id {id:?}")]
    UnknownReference {
        /// Which input file.
        file: String,
        /// The dangling id.
        id: String,
    },
    /// The input holds no entries at all.
    #[error("{file}: no entries")]
    Empty {
        /// Which input file.
        file: String,
    },
    /// The input exceeds [`MAX_INPUT_BYTES`].
    #[error("{file}: {size} bytes exceeds the limit of {limit}")]
    TooLarge {
        /// Which input file.
        file: String,
        /// Its size.
        size: usize,
        /// The limit.
        limit: usize,
    },
    /// File-system error in the `load_*` helpers.
    #[error("{path}: {message}")]
    Io {
        /// The path.
        path: String,
        /// The OS error.
        message: String,
    },
    /// Other invalid list content.
    #[error("invalid list: {0}")]
    Invalid(String),
}

/// Parse one list file.
///
/// Formats by source:
/// - `OfacSdn`, `OfacNonSdn`: OFAC XML (`sdn.xml`, `consolidated.xml`), or the main CSV alone
///   (`sdn.csv` / `cons_prim.csv`, without aliases and addresses; use [`parse_ofac_csv`] to
///   include `alt.csv` and `add.csv`);
/// - `Un`: UN consolidated XML; `Eu`: EU FSF XML 1.1; `Uk`: UK Sanctions List XML (FCDO);
/// - `IdDttot`: PPATK DTTOT CSV (`nama,terduga,warga_negara,alamat,tempat_lahir,tanggal_lahir,kode_densus[,ref_line]`);
/// - `Generic{..}`: the generic CSV documented at [`GENERIC_CSV_HEADER`].
pub fn parse_list(source: &ListSource, bytes: &[u8]) -> Result<SanctionsList, ListError> {
    let file = default_file_name(source);
    check_size(file, bytes)?;
    match source {
        ListSource::OfacSdn | ListSource::OfacNonSdn => {
            if looks_like_xml(bytes) {
                ofac_xml::parse(source.clone(), bytes)
            } else {
                parse_ofac_csv(
                    source,
                    &OfacCsvFiles {
                        primary: bytes,
                        alt: None,
                        add: None,
                    },
                )
            }
        }
        ListSource::Un => un::parse(bytes),
        ListSource::Eu => eu::parse(bytes),
        ListSource::Uk => uk::parse(bytes),
        ListSource::IdDttot => dttot::parse(bytes),
        ListSource::Generic { .. } => generic::parse(source.clone(), bytes),
    }
}

/// Read and parse a list from the file system.
///
/// `path` is a file for every source, except OFAC CSV where it may be a directory holding
/// `sdn.csv`/`alt.csv`/`add.csv` (SDN) or `cons_prim.csv`/`cons_alt.csv`/`cons_add.csv`
/// (non-SDN), any letter case; missing `alt`/`add` files are allowed.
pub fn load_list(source: &ListSource, path: &Path) -> Result<SanctionsList, ListError> {
    if path.is_dir() {
        let (p, a, d) = match source {
            ListSource::OfacSdn => ("sdn.csv", "alt.csv", "add.csv"),
            ListSource::OfacNonSdn => ("cons_prim.csv", "cons_alt.csv", "cons_add.csv"),
            other => {
                return Err(ListError::Io {
                    path: path.display().to_string(),
                    message: format!("is a directory; {other} expects a file"),
                });
            }
        };
        let primary = read_ci(path, p)?.ok_or_else(|| ListError::Io {
            path: path.join(p).display().to_string(),
            message: "not found".into(),
        })?;
        let alt = read_ci(path, a)?;
        let add = read_ci(path, d)?;
        return parse_ofac_csv(
            source,
            &OfacCsvFiles {
                primary: &primary,
                alt: alt.as_deref(),
                add: add.as_deref(),
            },
        );
    }
    let bytes = std::fs::read(path).map_err(|e| ListError::Io {
        path: path.display().to_string(),
        message: e.to_string(),
    })?;
    parse_list(source, &bytes)
}

fn read_ci(dir: &Path, name: &str) -> Result<Option<Vec<u8>>, ListError> {
    let io = |e: std::io::Error| ListError::Io {
        path: dir.display().to_string(),
        message: e.to_string(),
    };
    for ent in std::fs::read_dir(dir).map_err(io)? {
        let ent = ent.map_err(io)?;
        if ent.file_name().to_string_lossy().eq_ignore_ascii_case(name) {
            return std::fs::read(ent.path()).map(Some).map_err(io);
        }
    }
    Ok(None)
}

fn default_file_name(source: &ListSource) -> &'static str {
    match source {
        ListSource::OfacSdn => "sdn",
        ListSource::OfacNonSdn => "cons_prim",
        ListSource::Un => "un.xml",
        ListSource::Eu => "eu.xml",
        ListSource::Uk => "uk.xml",
        ListSource::IdDttot => "dttot.csv",
        ListSource::Generic { .. } => "generic.csv",
    }
}

pub(crate) fn check_size(file: &str, bytes: &[u8]) -> Result<(), ListError> {
    if bytes.len() > MAX_INPUT_BYTES {
        return Err(ListError::TooLarge {
            file: file.to_string(),
            size: bytes.len(),
            limit: MAX_INPUT_BYTES,
        });
    }
    Ok(())
}

fn looks_like_xml(bytes: &[u8]) -> bool {
    let b = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    b.iter().find(|c| !c.is_ascii_whitespace()) == Some(&b'<')
}

/// Validate UTF-8, strip a BOM and OFAC's trailing DOS end-of-file byte (0x1A).
pub(crate) fn to_str<'a>(file: &str, bytes: &'a [u8]) -> Result<&'a str, ListError> {
    let s = std::str::from_utf8(bytes).map_err(|e| ListError::InvalidUtf8 {
        file: file.to_string(),
        offset: e.valid_up_to(),
    })?;
    let s = s.strip_prefix('\u{feff}').unwrap_or(s);
    Ok(s.trim_end_matches(['\u{1a}', '\r', '\n', ' ', '\t']))
}

/// Trim and collapse internal whitespace; `None` for empty strings and OFAC's `-0-` null.
pub(crate) fn clean(s: &str) -> Option<String> {
    let t = s.trim();
    if t.is_empty() || t == "-0-" {
        return None;
    }
    let mut out = String::with_capacity(t.len());
    for (i, w) in t.split_whitespace().enumerate() {
        if i > 0 {
            out.push(' ');
        }
        out.push_str(w);
    }
    Some(out)
}

/// Push `v` unless it is already present.
pub(crate) fn push_unique<T: PartialEq>(v: &mut Vec<T>, x: T) {
    if !v.contains(&x) {
        v.push(x);
    }
}

/// Longer than any date a list writes (`approximately 1960 to 1962` is 26 bytes). The bound
/// keeps the `circa`/`to` recursion below, which copies the rest of the text at each level, a
/// few levels deep: without it a 2 MB date field took gigabytes and overflowed the stack.
const MAX_DATE_BYTES: usize = 64;

/// Parse dates in the forms lists use: `1962`, `1962-03-12`, `12 Mar 1962`, `Mar 1962`,
/// `12/03/1962` (day first), `dd/mm/1962`, `circa 1962`, `1960 to 1962`, `2022-07-22T00:00:00.000Z`.
pub(crate) fn parse_loose_date(s: &str) -> Option<PartialDate> {
    let s = s.trim().trim_end_matches('.');
    if s.is_empty() || s.len() > MAX_DATE_BYTES {
        return None;
    }
    let lower = s.to_ascii_lowercase();
    if let Some(rest) = lower
        .strip_prefix("circa ")
        .or_else(|| lower.strip_prefix("approximately "))
        .or_else(|| lower.strip_prefix("c. "))
    {
        let d = parse_loose_date(rest)?;
        return Some(PartialDate {
            year: d.year.saturating_sub(1),
            month: None,
            day: None,
            year_to: Some(d.year + 1),
        });
    }
    if let Some((a, b)) = lower.split_once(" to ").or_else(|| lower.split_once(" - ")) {
        let (a, b) = (parse_loose_date(a)?, parse_loose_date(b)?);
        if b.year >= a.year {
            return Some(PartialDate {
                year: a.year,
                month: None,
                day: None,
                year_to: Some(b.year),
            });
        }
        return None;
    }
    // ISO date or timestamp.
    let iso = lower.split('t').next().unwrap_or("");
    if iso.len() >= 4
        && iso.as_bytes()[..4].iter().all(u8::is_ascii_digit)
        && let Ok(d) = iso.parse::<PartialDate>()
    {
        return Some(d);
    }
    // Day-first with slashes; unknown parts written as dd/mm.
    if lower.contains('/') {
        let parts: Vec<&str> = lower.split('/').collect();
        if parts.len() == 3 {
            let year: u16 = parts[2].trim().parse().ok()?;
            let month: Option<u8> = parts[1].trim().parse().ok();
            let day: Option<u8> = if month.is_some() {
                parts[0].trim().parse().ok()
            } else {
                None
            };
            return PartialDate::new(year, month, day);
        }
        return None;
    }
    let words: Vec<&str> = lower.split_whitespace().collect();
    match words.as_slice() {
        [y] => y.parse().ok().and_then(|y| PartialDate::new(y, None, None)),
        [m, y] => PartialDate::new(y.parse().ok()?, Some(month_num(m)?), None),
        [d, m, y] => PartialDate::new(y.parse().ok()?, Some(month_num(m)?), Some(d.parse().ok()?)),
        _ => None,
    }
}

fn month_num(m: &str) -> Option<u8> {
    const MONTHS: [&str; 12] = [
        "jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec",
    ];
    let m = m.trim_end_matches('.');
    if m.len() < 3 {
        return None;
    }
    MONTHS
        .iter()
        .position(|p| m.starts_with(p))
        .map(|i| i as u8 + 1)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;

    #[test]
    fn loose_dates() {
        assert_eq!(
            parse_loose_date("12 Mar 1962").unwrap().to_string(),
            "1962-03-12"
        );
        assert_eq!(parse_loose_date("Mar 1962").unwrap().to_string(), "1962-03");
        assert_eq!(parse_loose_date("1962").unwrap().to_string(), "1962");
        assert_eq!(
            parse_loose_date("circa 1962").unwrap().to_string(),
            "1961..1963"
        );
        assert_eq!(
            parse_loose_date("1960 to 1962").unwrap().to_string(),
            "1960..1962"
        );
        assert_eq!(
            parse_loose_date("27/08/1955").unwrap().to_string(),
            "1955-08-27"
        );
        assert_eq!(parse_loose_date("dd/mm/1950").unwrap().to_string(), "1950");
        assert_eq!(
            parse_loose_date("1970-01-31T00:00:00.000Z")
                .unwrap()
                .to_string(),
            "1970-01-31"
        );
        assert!(parse_loose_date("unknown").is_none());
        assert!(parse_loose_date("31 Foo 1962").is_none());
    }
}
