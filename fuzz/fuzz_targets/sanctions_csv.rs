//! The CSV sanctions list parsers: OFAC's three files (`sdn.csv`, `alt.csv`, `add.csv`, split
//! by a `--8<--` line), PPATK DTTOT, and the generic CSV. The first byte picks the format.
//! Properties: no panic; a list that parses can be stored and read back.
#![no_main]

use benteng_screening::{ListSource, OfacCsvFiles, parse_list, parse_ofac_csv};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    benteng_fuzz::negative_control(data);
    let Some((&selector, bytes)) = data.split_first() else {
        return;
    };
    let parsed = match selector % 4 {
        0 | 1 => {
            let source = if selector % 4 == 0 {
                ListSource::OfacSdn
            } else {
                ListSource::OfacNonSdn
            };
            let [primary, alt, add] = benteng_fuzz::split_parts::<3>(bytes);
            let files = OfacCsvFiles {
                primary: primary.unwrap_or_default(),
                alt,
                add,
            };
            parse_ofac_csv(&source, &files)
        }
        2 => parse_list(&ListSource::IdDttot, bytes),
        _ => parse_list(
            &ListSource::Generic {
                name: "pep-fuzz".into(),
            },
            bytes,
        ),
    };
    if let Ok(list) = parsed {
        benteng_fuzz::check_list_round_trip(&list);
    }
});
