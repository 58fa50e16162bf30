//! Shared helpers for the examples: load every list shipped in `shared/testdata/sanctions`.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use benteng_screening::{ListError, ListSource, SanctionsList, load_list};

/// `shared/testdata/sanctions` next to the repository (override with `SANCTIONS_DIR`).
pub fn testdata_dir() -> PathBuf {
    match std::env::var_os("SANCTIONS_DIR") {
        Some(p) => PathBuf::from(p),
        None => Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/testdata/sanctions"),
    }
}

/// The shipped lists: (source, path relative to the testdata dir).
pub fn shipped() -> Vec<(ListSource, &'static str)> {
    vec![
        (ListSource::OfacSdn, "ofac"),
        (ListSource::OfacNonSdn, "ofac-nonsdn"),
        (ListSource::Un, "un/UN_consolidated.xml"),
        (ListSource::IdDttot, "id/dttot.csv"),
    ]
}

/// Parse every shipped list, timing each parse.
pub fn load_all() -> Result<Vec<(SanctionsList, Duration)>, ListError> {
    let dir = testdata_dir();
    shipped()
        .into_iter()
        .map(|(src, rel)| {
            let t = Instant::now();
            let l = load_list(&src, &dir.join(rel))?;
            Ok((l, t.elapsed()))
        })
        .collect()
}
pub mod accuracy;
pub mod evalset;
