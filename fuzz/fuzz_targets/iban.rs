//! IBANs from request bodies and files.
//! Properties: an accepted IBAN's electronic and paper forms parse back to the same IBAN, and
//! its parts put together are its electronic form.
#![no_main]

use benteng_core::iban::Iban;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    benteng_fuzz::negative_control(data);
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let Ok(iban) = Iban::parse(text) else {
        return;
    };
    assert_eq!(Iban::parse(iban.as_str()).as_ref(), Ok(&iban));
    assert_eq!(Iban::parse(&iban.to_paper_format()).as_ref(), Ok(&iban));
    assert_eq!(Iban::parse(&iban.to_string()).as_ref(), Ok(&iban));
    let joined = format!(
        "{}{}{}",
        iban.country_prefix(),
        iban.check_digits(),
        iban.bban()
    );
    assert_eq!(joined, iban.as_str());
    assert!(iban.as_str().ends_with(iban.last4()));
});
