//! The API key shape, checked on every request before any lookup.
//! Property: a key that parses is exactly the key its parts assemble back to.
#![no_main]

use benteng_core::api_key::ApiKeyShape;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    benteng_fuzz::negative_control(data);
    let Ok(key) = std::str::from_utf8(data) else {
        return;
    };
    let Ok(shape) = ApiKeyShape::parse(key) else {
        return;
    };
    let secret = key.rsplit('_').next().expect("a parsed key has a secret");
    assert_eq!(shape.assemble(secret).as_deref(), Ok(key));
});
