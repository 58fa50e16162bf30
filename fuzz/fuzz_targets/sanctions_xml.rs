//! The XML sanctions list parsers: OFAC (`sdn.xml`, `consolidated.xml`), UN consolidated,
//! EU FSF 1.1, UK Sanctions List. The first byte picks the format.
//! Properties: no panic; a list that parses can be stored and read back (its entries' JSON
//! round-trips and rebuilds the list, as `compliance::lists::decode_stored` does).
#![no_main]

use benteng_screening::{ListSource, parse_list};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    benteng_fuzz::negative_control(data);
    let Some((&selector, bytes)) = data.split_first() else {
        return;
    };
    let source = match selector % 5 {
        0 => ListSource::OfacSdn,
        1 => ListSource::OfacNonSdn,
        2 => ListSource::Un,
        3 => ListSource::Eu,
        _ => ListSource::Uk,
    };
    if let Ok(list) = parse_list(&source, bytes) {
        benteng_fuzz::check_list_round_trip(&list);
    }
});
