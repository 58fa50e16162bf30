//! The XMLDSig verifier of incoming ISO 20022 messages (pacs.002 status reports, pacs.004
//! returns) with one registered counterparty, whose signed messages are in the seed corpus.
//! Properties: no panic; nothing verifies unless it was signed by the registered key, and what
//! verifies says it came from that counterparty.
#![no_main]

use std::sync::OnceLock;

use benteng_iso20022::{Registry, Verifier};
use libfuzzer_sys::fuzz_target;

const COUNTERPARTY_CERT: &[u8] = include_bytes!("../fixtures/iso20022-counterparty.der");

fn verifier() -> &'static Verifier {
    static VERIFIER: OnceLock<Verifier> = OnceLock::new();
    VERIFIER.get_or_init(|| {
        let mut registry = Registry::new();
        registry
            .register("fuzz counterparty", COUNTERPARTY_CERT)
            .expect("the fixture is a DER certificate");
        Verifier::new(registry)
    })
}

fuzz_target!(|data: &[u8]| {
    benteng_fuzz::negative_control(data);
    if let Ok(verified) = verifier().verify(data) {
        assert_eq!(verified.counterparty, "fuzz counterparty");
    }
});
