//! Helpers shared by the fuzz targets.

use std::sync::OnceLock;

/// The input that makes every target panic when `BENTENG_FUZZ_NEGATIVE_CONTROL` is set.
pub const NEGATIVE_CONTROL_MARKER: &[u8] = b"benteng-fuzz-negative-control";

/// Panics on [`NEGATIVE_CONTROL_MARKER`] when the environment asks for it: the negative control
/// of `scripts/ci/fuzz-short`, which must see a crash fail the run. Product code is untouched.
pub fn negative_control(data: &[u8]) {
    static ON: OnceLock<bool> = OnceLock::new();
    let on = *ON.get_or_init(|| std::env::var_os("BENTENG_FUZZ_NEGATIVE_CONTROL").is_some());
    if on && data.starts_with(NEGATIVE_CONTROL_MARKER) {
        panic!("negative control: the fuzz run must fail on this input");
    }
}

/// Splits `data` into at most `N` parts at the separator line `\n--8<--\n`, for targets that take
/// several inputs at once (a list's three files). Missing parts are `None`.
pub fn split_parts<const N: usize>(data: &[u8]) -> [Option<&[u8]>; N] {
    const SEPARATOR: &[u8] = b"\n--8<--\n";
    let mut parts = [None; N];
    let mut rest = data;
    for (index, slot) in parts.iter_mut().enumerate() {
        if index + 1 == N {
            *slot = Some(rest);
            break;
        }
        match rest.windows(SEPARATOR.len()).position(|w| w == SEPARATOR) {
            Some(at) => {
                *slot = Some(&rest[..at]);
                rest = &rest[at + SEPARATOR.len()..];
            }
            None => {
                *slot = Some(rest);
                break;
            }
        }
    }
    parts
}

/// A parsed list is stored as its entries' JSON and rebuilt from it
/// (`compliance::lists::decode_stored`): that must give back the same entries.
pub fn check_list_round_trip(list: &benteng_screening::SanctionsList) {
    let json = serde_json::to_string(&list.entries).expect("entries serialise");
    let entries: Vec<benteng_screening::Entry> =
        serde_json::from_str(&json).expect("stored entries read back");
    assert_eq!(entries, list.entries);
    let rebuilt = benteng_screening::SanctionsList::from_entries(list.source.clone(), entries);
    assert!(
        rebuilt.is_ok(),
        "a parsed list cannot be stored: {rebuilt:?}"
    );
}
