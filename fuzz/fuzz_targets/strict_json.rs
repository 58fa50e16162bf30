//! The strict JSON parser every `/v1` request body goes through, then the typed field readers.
//! Properties: no panic; whatever it accepts, serde_json reads as the same object (the strict
//! parser only refuses more, never reads differently).
#![no_main]

use benteng_core::country::CountryCode;
use benteng_core::currency::Currency;
use benteng_core::iban::Iban;
use benteng_core::money::{Amount, PositiveAmount, Rate};
use benteng_core::strict_json::{Fields, JsonValue, Limits, parse_object};
use benteng_core::text::{Bic, BoundedText, IdnAccountNumber, IdnBankCode, Reference, Uuid4};
use libfuzzer_sys::fuzz_target;
use serde_json::Value;

fn same(strict: &JsonValue, loose: &Value) -> bool {
    match (strict, loose) {
        (JsonValue::Null, Value::Null) => true,
        (JsonValue::Bool(a), Value::Bool(b)) => a == b,
        (JsonValue::Number(a), Value::Number(b)) => a == b,
        (JsonValue::String(a), Value::String(b)) => a == b,
        (JsonValue::Array(a), Value::Array(b)) => {
            a.len() == b.len() && a.iter().zip(b).all(|(x, y)| same(x, y))
        }
        (JsonValue::Object(a), Value::Object(b)) => {
            a.len() == b.len() && a.iter().all(|(k, v)| b.get(k).is_some_and(|w| same(v, w)))
        }
        _ => false,
    }
}

fuzz_target!(|data: &[u8]| {
    benteng_fuzz::negative_control(data);
    let Ok(object) = parse_object(data, &Limits::default()) else {
        return;
    };
    let loose: Value = serde_json::from_slice(data).expect("strict parser accepted invalid JSON");
    assert!(
        same(&JsonValue::Object(object.clone()), &loose),
        "strict and serde_json read different values"
    );

    let mut fields = Fields::new(
        &object,
        &[
            "amount",
            "positive",
            "rate",
            "currency",
            "country",
            "iban",
            "bic",
            "reference",
            "account",
            "bank",
            "id",
            "name",
            "count",
            "flag",
        ],
    );
    let _: Option<Amount> = fields.optional("amount");
    let _: Option<PositiveAmount> = fields.optional("positive");
    let _: Option<Rate> = fields.optional("rate");
    let _: Option<Currency> = fields.optional("currency");
    let _: Option<CountryCode> = fields.optional("country");
    let _: Option<Iban> = fields.optional("iban");
    let _: Option<Bic> = fields.optional("bic");
    let _: Option<Reference> = fields.optional("reference");
    let _: Option<IdnAccountNumber> = fields.optional("account");
    let _: Option<IdnBankCode> = fields.optional("bank");
    let _: Option<Uuid4> = fields.optional("id");
    let _: Option<BoundedText<140>> = fields.optional("name");
    let _: Option<u32> = fields.optional("count");
    let _: Option<bool> = fields.optional("flag");
    let _ = fields.finish();
});
