//! Amounts, rates, money, currency and country codes from request bodies.
//! Properties: the wire grammar has one spelling per value and scale, so an accepted amount or
//! rate prints back exactly as written; money prints and parses back to itself; codes print as
//! they parse.
#![no_main]

use benteng_core::country::CountryCode;
use benteng_core::currency::Currency;
use benteng_core::money::{Amount, Money, PositiveAmount, Rate};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    benteng_fuzz::negative_control(data);
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    // "AMOUNT CUR": a currency code after the last space, to tie amounts to currencies.
    let (amount_text, code) = text.rsplit_once(' ').unwrap_or((text, "USD"));

    if let Ok(amount) = Amount::parse(amount_text) {
        assert_eq!(amount.to_string(), amount_text);
    }
    if let Ok(amount) = PositiveAmount::parse(amount_text) {
        assert_eq!(amount.to_string(), amount_text);
        assert!(amount.amount() > Amount::parse("0").expect("zero parses"));
    }
    if let Ok(rate) = Rate::parse(amount_text) {
        assert_eq!(rate.to_string(), amount_text);
    }
    if let Ok(currency) = Currency::parse(code) {
        assert_eq!(currency.to_string(), code);
        assert_eq!(Currency::parse(currency.code()), Ok(currency));
        if let Ok(money) = Money::parse(amount_text, currency) {
            let printed = money.to_string();
            assert_eq!(Money::parse(&printed, currency), Ok(money), "{printed}");
            assert_eq!(Money::from_decimal(money.to_decimal(), currency), Ok(money));
        }
    }
    if let Ok(country) = CountryCode::parse(code) {
        assert_eq!(country.to_string(), code);
        assert_eq!(CountryCode::parse(country.as_str()), Ok(country));
    }
});
