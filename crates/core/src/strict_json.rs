//! The one way request bodies become validated values.
//!
//! Two steps:
//! 1. [`parse_object`] turns bytes into a [`JsonObject`]: UTF-8, one top-level object, no
//!    duplicate keys anywhere (JSON parsers disagree on which duplicate wins, which is how
//!    signature and validation bypasses happen), bounded depth, strings, keys and arrays.
//! 2. [`Fields`] reads that object field by field into the newtypes of this crate through
//!    [`FromJsonField`], collecting **every** error (not just the first), and rejects fields the
//!    route does not know.
//!
//! No type coercion: a JSON number where a string is due (amounts!) is `invalid_type`, and so is
//! a string where a number is due. `null` counts as absent. Error messages name the field and the
//! rule and never repeat the value, which may be personal data or an attack string; keys in
//! paths are shown only when they are plain identifiers.

use std::cell::Cell;
use std::collections::BTreeMap;
use std::fmt;

use serde::Serialize;
use serde::de::{self, DeserializeSeed, MapAccess, SeqAccess, Visitor};

use crate::country::CountryCode;
use crate::currency::Currency;
use crate::iban::Iban;
use crate::money::{Amount, PositiveAmount, Rate};
use crate::text::{Bic, BoundedText, IdnAccountNumber, IdnBankCode, Reference, Uuid4};

/// Stable error codes. Clients may branch on these; messages are for humans and may change.
pub mod codes {
    // Field errors.
    pub const REQUIRED: &str = "required";
    pub const INVALID_TYPE: &str = "invalid_type";
    pub const INVALID_FORMAT: &str = "invalid_format";
    pub const INVALID_PRECISION: &str = "invalid_precision";
    pub const INVALID_LENGTH: &str = "invalid_length";
    pub const INVALID_CHECKSUM: &str = "invalid_checksum";
    pub const OUT_OF_RANGE: &str = "out_of_range";
    pub const TOO_LONG: &str = "too_long";
    pub const TOO_SHORT: &str = "too_short";
    pub const UNKNOWN_VALUE: &str = "unknown_value";
    pub const UNKNOWN_FIELD: &str = "unknown_field";
    pub const CURRENCY_MISMATCH: &str = "currency_mismatch";
    // Body errors.
    pub const BODY_TOO_LARGE: &str = "body_too_large";
    pub const INVALID_ENCODING: &str = "invalid_encoding";
    pub const INVALID_JSON: &str = "invalid_json";
    pub const NOT_AN_OBJECT: &str = "not_an_object";
    pub const DUPLICATE_KEY: &str = "duplicate_key";
    pub const TOO_DEEP: &str = "too_deep";
    pub const STRING_TOO_LONG: &str = "string_too_long";
    pub const KEY_TOO_LONG: &str = "key_too_long";
    pub const TOO_MANY_KEYS: &str = "too_many_keys";
    pub const ARRAY_TOO_LONG: &str = "array_too_long";
}

/// Bounds on what [`parse_object`] accepts. The defaults suit every API body we have; a route
/// with bigger needs (batches) passes its own.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    pub max_body_bytes: usize,
    /// Objects and arrays nested deeper than this are refused (the top-level object is depth 1).
    /// Capped at [`Limits::HARD_MAX_DEPTH`], below serde_json's own recursion limit of 128.
    pub max_depth: usize,
    pub max_string_bytes: usize,
    pub max_key_bytes: usize,
    /// Keys counted over the whole document, all objects together.
    pub max_total_keys: usize,
    pub max_array_len: usize,
}

impl Limits {
    pub const HARD_MAX_DEPTH: usize = 100;
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_body_bytes: 1024 * 1024,
            max_depth: 32,
            max_string_bytes: 64 * 1024,
            max_key_bytes: 128,
            max_total_keys: 4096,
            max_array_len: 10_000,
        }
    }
}

/// A parsed JSON value. Numbers keep serde_json's representation (u64, i64 or f64); no route
/// reads an amount from a number, so nothing here needs arbitrary precision.
#[derive(Debug, Clone, PartialEq)]
pub enum JsonValue {
    Null,
    Bool(bool),
    Number(serde_json::Number),
    String(String),
    Array(Vec<JsonValue>),
    Object(JsonObject),
}

impl JsonValue {
    /// The JSON type name, for messages.
    pub fn type_name(&self) -> &'static str {
        match self {
            JsonValue::Null => "null",
            JsonValue::Bool(_) => "boolean",
            JsonValue::Number(_) => "number",
            JsonValue::String(_) => "string",
            JsonValue::Array(_) => "array",
            JsonValue::Object(_) => "object",
        }
    }
}

/// A JSON object whose keys were unique in the source document.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct JsonObject(BTreeMap<String, JsonValue>);

impl JsonObject {
    pub fn get(&self, key: &str) -> Option<&JsonValue> {
        self.0.get(key)
    }

    pub fn keys(&self) -> impl Iterator<Item = &str> {
        self.0.keys().map(String::as_str)
    }

    pub fn iter(&self) -> impl Iterator<Item = (&str, &JsonValue)> {
        self.0.iter().map(|(key, value)| (key.as_str(), value))
    }

    pub fn len(&self) -> usize {
        self.0.len()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

/// Why a body was refused before any field was looked at.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BodyError {
    #[error("body is larger than {max_bytes} bytes")]
    TooLarge { max_bytes: usize },
    #[error("body is not valid UTF-8")]
    InvalidEncoding,
    #[error("body is not valid JSON (line {line}, column {column})")]
    InvalidJson { line: usize, column: usize },
    #[error("body must be a JSON object")]
    NotAnObject,
    #[error("duplicate key at {path}")]
    DuplicateKey { path: String },
    #[error("nesting is deeper than {max_depth} levels")]
    TooDeep { max_depth: usize },
    #[error("string at {path} is longer than {max_bytes} bytes")]
    StringTooLong { path: String, max_bytes: usize },
    #[error("key at {path} is longer than {max_bytes} bytes")]
    KeyTooLong { path: String, max_bytes: usize },
    #[error("body has more than {max} keys")]
    TooManyKeys { max: usize },
    #[error("array at {path} has more than {max} elements")]
    ArrayTooLong { path: String, max: usize },
}

impl BodyError {
    /// Stable machine-readable code (see [`codes`]).
    pub fn code(&self) -> &'static str {
        match self {
            BodyError::TooLarge { .. } => codes::BODY_TOO_LARGE,
            BodyError::InvalidEncoding => codes::INVALID_ENCODING,
            BodyError::InvalidJson { .. } => codes::INVALID_JSON,
            BodyError::NotAnObject => codes::NOT_AN_OBJECT,
            BodyError::DuplicateKey { .. } => codes::DUPLICATE_KEY,
            BodyError::TooDeep { .. } => codes::TOO_DEEP,
            BodyError::StringTooLong { .. } => codes::STRING_TOO_LONG,
            BodyError::KeyTooLong { .. } => codes::KEY_TOO_LONG,
            BodyError::TooManyKeys { .. } => codes::TOO_MANY_KEYS,
            BodyError::ArrayTooLong { .. } => codes::ARRAY_TOO_LONG,
        }
    }

    /// The dotted path of the offending element, where there is one.
    pub fn path(&self) -> Option<&str> {
        match self {
            BodyError::DuplicateKey { path }
            | BodyError::StringTooLong { path, .. }
            | BodyError::KeyTooLong { path, .. }
            | BodyError::ArrayTooLong { path, .. } => Some(path),
            _ => None,
        }
    }
}

/// Keys are attacker-chosen: show them in paths only when they are plain identifiers.
fn display_key(key: &str) -> &str {
    let plain = !key.is_empty()
        && key.len() <= 64
        && key
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-');
    if plain { key } else { "?" }
}

fn join_path(prefix: &str, key: &str) -> String {
    let key = display_key(key);
    if prefix.is_empty() {
        key.to_owned()
    } else {
        format!("{prefix}.{key}")
    }
}

/// Where the parser is, as a linked list on the stack (no allocation unless an error is built).
#[derive(Clone, Copy)]
enum PathSegment<'a> {
    Root,
    Key(&'a PathSegment<'a>, &'a str),
    Index(&'a PathSegment<'a>, usize),
}

impl fmt::Display for PathSegment<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PathSegment::Root => f.write_str("$"),
            PathSegment::Key(PathSegment::Root, key) => f.write_str(display_key(key)),
            PathSegment::Key(parent, key) => write!(f, "{parent}.{}", display_key(key)),
            PathSegment::Index(parent, index) => write!(f, "{parent}[{index}]"),
        }
    }
}

/// State shared by the whole parse: limits, the document-wide key count, and the first
/// structured failure (serde errors are strings; this keeps ours typed).
struct ParseContext {
    limits: Limits,
    total_keys: Cell<usize>,
    failure: Cell<Option<BodyError>>,
}

impl ParseContext {
    fn fail<E: de::Error>(&self, error: BodyError) -> E {
        let first = self.failure.take().unwrap_or(error);
        self.failure.set(Some(first));
        E::custom("body rejected")
    }
}

struct ValueSeed<'c, 'p> {
    context: &'c ParseContext,
    path: &'p PathSegment<'p>,
    depth: usize,
}

impl<'de> DeserializeSeed<'de> for ValueSeed<'_, '_> {
    type Value = JsonValue;
    fn deserialize<D: de::Deserializer<'de>>(self, deserializer: D) -> Result<JsonValue, D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl ValueSeed<'_, '_> {
    fn string<E: de::Error>(&self, text: &str) -> Result<JsonValue, E> {
        let max_bytes = self.context.limits.max_string_bytes;
        if text.len() > max_bytes {
            return Err(self.context.fail(BodyError::StringTooLong {
                path: self.path.to_string(),
                max_bytes,
            }));
        }
        Ok(JsonValue::String(text.to_owned()))
    }

    fn enter<E: de::Error>(&self) -> Result<(), E> {
        let max_depth = self.context.limits.max_depth.min(Limits::HARD_MAX_DEPTH);
        if self.depth > max_depth {
            return Err(self.context.fail(BodyError::TooDeep { max_depth }));
        }
        Ok(())
    }
}

impl<'de> Visitor<'de> for ValueSeed<'_, '_> {
    type Value = JsonValue;

    fn expecting(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str("a JSON value")
    }

    fn visit_unit<E: de::Error>(self) -> Result<JsonValue, E> {
        Ok(JsonValue::Null)
    }

    fn visit_none<E: de::Error>(self) -> Result<JsonValue, E> {
        Ok(JsonValue::Null)
    }

    fn visit_bool<E: de::Error>(self, value: bool) -> Result<JsonValue, E> {
        Ok(JsonValue::Bool(value))
    }

    fn visit_i64<E: de::Error>(self, value: i64) -> Result<JsonValue, E> {
        Ok(JsonValue::Number(value.into()))
    }

    fn visit_u64<E: de::Error>(self, value: u64) -> Result<JsonValue, E> {
        Ok(JsonValue::Number(value.into()))
    }

    fn visit_f64<E: de::Error>(self, value: f64) -> Result<JsonValue, E> {
        serde_json::Number::from_f64(value)
            .map(JsonValue::Number)
            .ok_or_else(|| E::custom("non-finite number"))
    }

    fn visit_str<E: de::Error>(self, value: &str) -> Result<JsonValue, E> {
        self.string(value)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut sequence: A) -> Result<JsonValue, A::Error> {
        self.enter()?;
        let max = self.context.limits.max_array_len;
        let mut items = Vec::new();
        loop {
            if items.len() >= max {
                // Only an error if another element follows.
                let segment = PathSegment::Index(self.path, items.len());
                let probe = ValueSeed {
                    context: self.context,
                    path: &segment,
                    depth: self.depth + 1,
                };
                if sequence.next_element_seed(probe)?.is_some() {
                    return Err(self.context.fail(BodyError::ArrayTooLong {
                        path: self.path.to_string(),
                        max,
                    }));
                }
                break;
            }
            let segment = PathSegment::Index(self.path, items.len());
            let seed = ValueSeed {
                context: self.context,
                path: &segment,
                depth: self.depth + 1,
            };
            match sequence.next_element_seed(seed)? {
                Some(item) => items.push(item),
                None => break,
            }
        }
        Ok(JsonValue::Array(items))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<JsonValue, A::Error> {
        self.enter()?;
        let limits = self.context.limits;
        let mut entries = BTreeMap::new();
        while let Some(key) = map.next_key::<String>()? {
            let segment = PathSegment::Key(self.path, &key);
            if key.len() > limits.max_key_bytes {
                return Err(self.context.fail(BodyError::KeyTooLong {
                    path: self.path.to_string(),
                    max_bytes: limits.max_key_bytes,
                }));
            }
            let total = self.context.total_keys.get().saturating_add(1);
            self.context.total_keys.set(total);
            if total > limits.max_total_keys {
                return Err(self.context.fail(BodyError::TooManyKeys {
                    max: limits.max_total_keys,
                }));
            }
            if entries.contains_key(&key) {
                return Err(self.context.fail(BodyError::DuplicateKey {
                    path: segment.to_string(),
                }));
            }
            let value = map.next_value_seed(ValueSeed {
                context: self.context,
                path: &segment,
                depth: self.depth + 1,
            })?;
            entries.insert(key, value);
        }
        Ok(JsonValue::Object(JsonObject(entries)))
    }
}

/// Parses a request body into a JSON object under `limits` (module docs). Never recurses deeper
/// than `limits.max_depth` (at most [`Limits::HARD_MAX_DEPTH`]), so hostile nesting costs a
/// few stack frames, not a stack overflow.
pub fn parse_object(bytes: &[u8], limits: &Limits) -> Result<JsonObject, BodyError> {
    if bytes.len() > limits.max_body_bytes {
        return Err(BodyError::TooLarge {
            max_bytes: limits.max_body_bytes,
        });
    }
    let text = std::str::from_utf8(bytes).map_err(|_| BodyError::InvalidEncoding)?;
    let first = text
        .bytes()
        .find(|b| !matches!(b, b' ' | b'\t' | b'\n' | b'\r'));
    if first != Some(b'{') {
        // Tell "valid JSON, wrong shape" from "not JSON". IgnoredAny stays within serde_json's
        // own recursion limit (128), so this cannot overflow the stack either.
        return match serde_json::from_str::<de::IgnoredAny>(text) {
            Ok(_) => Err(BodyError::NotAnObject),
            Err(error) => Err(BodyError::InvalidJson {
                line: error.line(),
                column: error.column(),
            }),
        };
    }
    let context = ParseContext {
        limits: *limits,
        total_keys: Cell::new(0),
        failure: Cell::new(None),
    };
    let mut deserializer = serde_json::Deserializer::from_str(text);
    let parsed = ValueSeed {
        context: &context,
        path: &PathSegment::Root,
        depth: 1,
    }
    .deserialize(&mut deserializer)
    .and_then(|value| deserializer.end().map(|()| value));
    match parsed {
        Ok(JsonValue::Object(object)) => Ok(object),
        Ok(_) => Err(BodyError::NotAnObject),
        Err(error) => Err(context.failure.take().unwrap_or(BodyError::InvalidJson {
            line: error.line(),
            column: error.column(),
        })),
    }
}

/// One invalid field, as it goes into the problem+json `errors` list.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FieldError {
    /// Dotted path, e.g. `bank_account.iban` or `items[2].amount`.
    pub field: String,
    /// Stable code from [`codes`].
    pub code: &'static str,
    /// Human-readable rule, never containing the rejected value.
    pub message: String,
}

/// What a [`FromJsonField`] implementation reports; [`Fields`] adds the field path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldIssue {
    pub code: &'static str,
    pub message: String,
}

impl FieldIssue {
    pub fn new(code: &'static str, message: impl Into<String>) -> FieldIssue {
        FieldIssue {
            code,
            message: message.into(),
        }
    }

    /// The JSON type is wrong; `expected` completes "must be …", e.g. "a string".
    pub fn invalid_type(expected: &str) -> FieldIssue {
        FieldIssue::new(codes::INVALID_TYPE, format!("must be {expected}"))
    }

    fn from_rule(code: &'static str, rule: &impl fmt::Display) -> FieldIssue {
        FieldIssue::new(code, rule.to_string())
    }
}

/// A type that can be read from one JSON field, strictly (no coercion between JSON types).
/// `null` never reaches an implementation: [`Fields`] treats it as absent.
pub trait FromJsonField: Sized {
    fn from_json_field(value: &JsonValue) -> Result<Self, FieldIssue>;
}

impl FromJsonField for bool {
    fn from_json_field(value: &JsonValue) -> Result<Self, FieldIssue> {
        match value {
            JsonValue::Bool(flag) => Ok(*flag),
            _ => Err(FieldIssue::invalid_type("a boolean (true or false)")),
        }
    }
}

impl FromJsonField for u32 {
    fn from_json_field(value: &JsonValue) -> Result<Self, FieldIssue> {
        let JsonValue::Number(number) = value else {
            return Err(FieldIssue::invalid_type("a number"));
        };
        if let Some(unsigned) = number.as_u64() {
            return u32::try_from(unsigned).map_err(|_| {
                FieldIssue::new(codes::OUT_OF_RANGE, format!("must be at most {}", u32::MAX))
            });
        }
        if number.as_i64().is_some() {
            return Err(FieldIssue::new(codes::OUT_OF_RANGE, "must not be negative"));
        }
        Err(FieldIssue::new(
            codes::INVALID_FORMAT,
            "must be a whole number without fraction or exponent",
        ))
    }
}

/// Implements [`FromJsonField`] for a type parsed from a JSON string whose error type has
/// `code()` and a Display that states the rule.
macro_rules! from_json_string {
    ($type:ty, $expected:literal) => {
        impl FromJsonField for $type {
            fn from_json_field(value: &JsonValue) -> Result<Self, FieldIssue> {
                match value {
                    JsonValue::String(text) => <$type>::parse(text)
                        .map_err(|error| FieldIssue::from_rule(error.code(), &error)),
                    _ => Err(FieldIssue::invalid_type($expected)),
                }
            }
        }
    };
}

from_json_string!(Currency, "a string (ISO 4217 code)");
from_json_string!(CountryCode, "a string (ISO 3166-1 alpha-2 code)");
from_json_string!(Iban, "a string (IBAN)");
from_json_string!(Uuid4, "a string (UUID)");
from_json_string!(Reference, "a string");
from_json_string!(IdnAccountNumber, "a string of digits");
from_json_string!(IdnBankCode, "a string of three digits");
from_json_string!(Bic, "a string (BIC)");
from_json_string!(
    Amount,
    "a string: amounts are decimal strings such as \"1250.50\", not JSON numbers"
);
from_json_string!(
    PositiveAmount,
    "a string: amounts are decimal strings such as \"1250.50\", not JSON numbers"
);
from_json_string!(
    Rate,
    "a string: rates are decimal strings such as \"16250.5\", not JSON numbers"
);

impl<const MAX: usize> FromJsonField for BoundedText<MAX> {
    fn from_json_field(value: &JsonValue) -> Result<Self, FieldIssue> {
        match value {
            JsonValue::String(text) => BoundedText::parse(text)
                .map_err(|error| FieldIssue::from_rule(error.code(), &error)),
            _ => Err(FieldIssue::invalid_type("a string")),
        }
    }
}

/// Reads a string-valued enum: `variants` pairs each accepted spelling with its value.
/// Implement [`FromJsonField`] for an enum with it:
///
/// ```
/// use benteng_core::strict_json::{FieldIssue, FromJsonField, JsonValue, enum_field};
/// #[derive(Clone, Copy)]
/// enum Speed { Standard, Instant }
/// impl FromJsonField for Speed {
///     fn from_json_field(value: &JsonValue) -> Result<Self, FieldIssue> {
///         enum_field(value, &[("standard", Speed::Standard), ("instant", Speed::Instant)])
///     }
/// }
/// ```
pub fn enum_field<T: Copy>(value: &JsonValue, variants: &[(&str, T)]) -> Result<T, FieldIssue> {
    let names = || {
        variants
            .iter()
            .map(|(name, _)| *name)
            .collect::<Vec<_>>()
            .join(", ")
    };
    let JsonValue::String(text) = value else {
        return Err(FieldIssue::invalid_type(&format!(
            "a string, one of: {}",
            names()
        )));
    };
    variants
        .iter()
        .find(|(name, _)| name == text)
        .map(|(_, variant)| *variant)
        .ok_or_else(|| {
            FieldIssue::new(codes::UNKNOWN_VALUE, format!("must be one of: {}", names()))
        })
}

/// Reads the fields of one JSON object, collecting every error.
///
/// ```
/// use benteng_core::strict_json::{Fields, Limits, parse_object};
/// use benteng_core::{currency::Currency, money::PositiveAmount, text::{Reference, Uuid4}};
///
/// let body = br#"{"quote_id":"0f8fad5b-d9cb-469f-a165-70867728950e","amount":"10.00","currency":"IDR"}"#;
/// let object = parse_object(body, &Limits::default()).unwrap();
/// let mut fields = Fields::new(&object, &["quote_id", "amount", "currency", "reference"]);
/// let quote_id: Option<Uuid4> = fields.required("quote_id");
/// let amount: Option<PositiveAmount> = fields.required("amount");
/// let currency: Option<Currency> = fields.required("currency");
/// let reference: Option<Reference> = fields.optional("reference");
/// let (quote_id, amount, currency) = fields.build(|| Some((quote_id?, amount?, currency?))).unwrap();
/// assert_eq!(amount.to_money(currency).unwrap().to_string(), "10.00");
/// assert!(reference.is_none());
/// # let _ = quote_id;
/// ```
#[derive(Debug)]
pub struct Fields<'a> {
    object: &'a JsonObject,
    prefix: String,
    errors: Vec<FieldError>,
}

impl<'a> Fields<'a> {
    /// Starts reading `object`; every key not in `allowed` is reported as `unknown_field`.
    pub fn new(object: &'a JsonObject, allowed: &[&str]) -> Fields<'a> {
        Fields::with_prefix(object, allowed, String::new())
    }

    fn with_prefix(object: &'a JsonObject, allowed: &[&str], prefix: String) -> Fields<'a> {
        let mut fields = Fields {
            object,
            prefix,
            errors: Vec::new(),
        };
        for key in object.keys() {
            if !allowed.contains(&key) {
                let field = join_path(&fields.prefix, key);
                fields.errors.push(FieldError {
                    field,
                    code: codes::UNKNOWN_FIELD,
                    message: "is not a known field".to_owned(),
                });
            }
        }
        fields
    }

    fn path(&self, name: &str) -> String {
        join_path(&self.prefix, name)
    }

    /// Records an error for `name` (relative to this object), e.g. a cross-field rule such as
    /// "amount has more decimals than the currency allows".
    pub fn reject(&mut self, name: &str, code: &'static str, message: impl Into<String>) {
        let field = self.path(name);
        self.push(field, code, message.into());
    }

    fn push(&mut self, field: String, code: &'static str, message: String) {
        self.errors.push(FieldError {
            field,
            code,
            message,
        });
    }

    /// Whether `name` is present and not null.
    pub fn is_present(&self, name: &str) -> bool {
        self.present(name).is_some()
    }

    fn present(&self, name: &str) -> Option<&'a JsonValue> {
        match self.object.get(name) {
            None | Some(JsonValue::Null) => None,
            Some(value) => Some(value),
        }
    }

    fn read<T: FromJsonField>(&mut self, field: String, value: &JsonValue) -> Option<T> {
        match T::from_json_field(value) {
            Ok(parsed) => Some(parsed),
            Err(issue) => {
                self.push(field, issue.code, issue.message);
                None
            }
        }
    }

    fn missing(&mut self, name: &str) {
        self.reject(name, codes::REQUIRED, "is required");
    }

    /// A field that must be present and not null.
    pub fn required<T: FromJsonField>(&mut self, name: &str) -> Option<T> {
        match self.present(name) {
            Some(value) => self.read(self.path(name), value),
            None => {
                self.missing(name);
                None
            }
        }
    }

    /// A field that may be absent or null (both give `None`).
    pub fn optional<T: FromJsonField>(&mut self, name: &str) -> Option<T> {
        let value = self.present(name)?;
        self.read(self.path(name), value)
    }

    fn nested<T>(
        &mut self,
        path: String,
        value: &'a JsonValue,
        allowed: &[&str],
        build: impl FnOnce(&mut Fields<'a>) -> Option<T>,
    ) -> Option<T> {
        let JsonValue::Object(object) = value else {
            self.errors.push(FieldError {
                field: path,
                code: codes::INVALID_TYPE,
                message: "must be an object".to_owned(),
            });
            return None;
        };
        let mut inner = Fields::with_prefix(object, allowed, path);
        let built = build(&mut inner);
        let failed = !inner.errors.is_empty();
        self.errors.append(&mut inner.errors);
        if failed { None } else { built }
    }

    /// A nested object that must be present; `build` reads its fields (paths are prefixed with
    /// `name.`) and its errors join this collector's.
    pub fn required_object<T>(
        &mut self,
        name: &str,
        allowed: &[&str],
        build: impl FnOnce(&mut Fields<'a>) -> Option<T>,
    ) -> Option<T> {
        match self.present(name) {
            Some(value) => self.nested(self.path(name), value, allowed, build),
            None => {
                self.missing(name);
                None
            }
        }
    }

    /// A nested object that may be absent or null.
    pub fn optional_object<T>(
        &mut self,
        name: &str,
        allowed: &[&str],
        build: impl FnOnce(&mut Fields<'a>) -> Option<T>,
    ) -> Option<T> {
        let value = self.present(name)?;
        self.nested(self.path(name), value, allowed, build)
    }

    fn array(
        &mut self,
        name: &str,
        items: std::ops::RangeInclusive<usize>,
    ) -> Option<&'a [JsonValue]> {
        let Some(value) = self.present(name) else {
            self.missing(name);
            return None;
        };
        let JsonValue::Array(elements) = value else {
            self.reject(name, codes::INVALID_TYPE, "must be an array");
            return None;
        };
        if elements.len() < *items.start() {
            self.reject(
                name,
                codes::TOO_SHORT,
                format!("must have at least {} elements", items.start()),
            );
            return None;
        }
        if elements.len() > *items.end() {
            self.reject(
                name,
                codes::TOO_LONG,
                format!("must have at most {} elements", items.end()),
            );
            return None;
        }
        Some(elements)
    }

    /// A required array of scalar values with a length in `items`; element errors are reported
    /// as `name[i]`.
    pub fn required_list<T: FromJsonField>(
        &mut self,
        name: &str,
        items: std::ops::RangeInclusive<usize>,
    ) -> Option<Vec<T>> {
        let elements = self.array(name, items)?;
        let mut parsed = Vec::with_capacity(elements.len());
        let before = self.errors.len();
        for (index, element) in elements.iter().enumerate() {
            let field = format!("{}[{index}]", self.path(name));
            if matches!(element, JsonValue::Null) {
                self.push(field, codes::REQUIRED, "is required".to_owned());
            } else if let Some(value) = self.read(field, element) {
                parsed.push(value);
            }
        }
        (self.errors.len() == before).then_some(parsed)
    }

    /// A required array of objects (batch items); each is read by `build` with paths
    /// `name[i].field`.
    pub fn required_object_list<T>(
        &mut self,
        name: &str,
        items: std::ops::RangeInclusive<usize>,
        allowed: &[&str],
        mut build: impl FnMut(&mut Fields<'a>) -> Option<T>,
    ) -> Option<Vec<T>> {
        let elements = self.array(name, items)?;
        let mut parsed = Vec::with_capacity(elements.len());
        let mut all_ok = true;
        for (index, element) in elements.iter().enumerate() {
            let path = format!("{}[{index}]", self.path(name));
            match self.nested(path, element, allowed, &mut build) {
                Some(value) => parsed.push(value),
                None => all_ok = false,
            }
        }
        all_ok.then_some(parsed)
    }

    pub fn has_errors(&self) -> bool {
        !self.errors.is_empty()
    }

    /// All errors found so far, or `Ok` if there were none.
    pub fn finish(self) -> Result<(), Vec<FieldError>> {
        if self.errors.is_empty() {
            Ok(())
        } else {
            Err(self.errors)
        }
    }

    /// Like [`Fields::finish`], then assembles the value from the `Option`s read earlier
    /// (`Some((a?, b?))`). If there were no errors every required field is `Some`; should
    /// `make` still return `None`, that is reported rather than panicking.
    pub fn build<T>(self, make: impl FnOnce() -> Option<T>) -> Result<T, Vec<FieldError>> {
        self.finish()?;
        make().ok_or_else(|| {
            vec![FieldError {
                field: String::new(),
                code: codes::REQUIRED,
                message: "a required field is missing".to_owned(),
            }]
        })
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;
    use crate::money::Money;
    use crate::text::Name;

    fn parse(body: &str) -> Result<JsonObject, BodyError> {
        parse_object(body.as_bytes(), &Limits::default())
    }

    #[test]
    fn accepts_plain_objects() {
        let object = parse(r#" {"a": 1, "b": [true, null, "x"], "c": {"d": -2.5}} "#).unwrap();
        assert_eq!(object.len(), 3);
        assert!(matches!(object.get("b"), Some(JsonValue::Array(items)) if items.len() == 3));
        assert!(parse("{}").unwrap().is_empty());
    }

    #[test]
    fn body_level_rejections() {
        let cases: [(&str, &str); 14] = [
            ("", codes::INVALID_JSON),
            ("   ", codes::INVALID_JSON),
            ("[1, 2]", codes::NOT_AN_OBJECT),
            ("\"text\"", codes::NOT_AN_OBJECT),
            ("42", codes::NOT_AN_OBJECT),
            ("null", codes::NOT_AN_OBJECT),
            ("{", codes::INVALID_JSON),
            ("{\"a\": 1,}", codes::INVALID_JSON),
            ("{\"a\": 1} {}", codes::INVALID_JSON),
            ("{\"a\": 1} x", codes::INVALID_JSON),
            ("{'a': 1}", codes::INVALID_JSON),
            ("{\"a\": NaN}", codes::INVALID_JSON),
            ("{\"a\": 1e400}", codes::INVALID_JSON),
            ("\u{feff}{\"a\": 1}", codes::INVALID_JSON),
        ];
        for (body, code) in cases {
            assert_eq!(parse(body).unwrap_err().code(), code, "{body:?}");
        }
        assert_eq!(
            parse_object(b"{\"a\": \"\xff\"}", &Limits::default()).unwrap_err(),
            BodyError::InvalidEncoding
        );
        assert_eq!(
            parse(r#"{"a": "\ud800"}"#).unwrap_err().code(),
            codes::INVALID_JSON
        );
    }

    #[test]
    fn duplicate_keys_are_refused_with_their_path() {
        let cases = [
            (r#"{"a": 1, "a": 2}"#, "a"),
            (r#"{"amount": "1", "amount": "1000000"}"#, "amount"),
            (r#"{"x": {"y": 1, "y": 1}}"#, "x.y"),
            (r#"{"x": [{"ok": 1}, {"y": 1, "y": 2}]}"#, "x[1].y"),
            (r#"{"a": 1, "\u0061": 2}"#, "a"),
            (r#"{"<b>": 1, "<b>": 2}"#, "?"),
        ];
        for (body, path) in cases {
            let error = parse(body).unwrap_err();
            assert_eq!(error.code(), codes::DUPLICATE_KEY, "{body}");
            assert_eq!(error.path(), Some(path), "{body}");
        }
    }

    #[test]
    fn deep_nesting_is_refused_quickly() {
        for opener in ["[", "{\"a\":"] {
            let body = format!("{{\"x\":{}", opener.repeat(10_000));
            let started = std::time::Instant::now();
            let error = parse(&body).unwrap_err();
            assert_eq!(error, BodyError::TooDeep { max_depth: 32 });
            assert!(started.elapsed() < std::time::Duration::from_secs(1));
        }
        // Exactly at the limit is fine: the top-level object is depth 1.
        let at_limit = format!("{{\"x\":{}{}}}", "[".repeat(31), "]".repeat(31));
        assert!(parse(&at_limit).is_ok());
        let over = format!("{{\"x\":{}{}}}", "[".repeat(32), "]".repeat(32));
        assert_eq!(parse(&over).unwrap_err().code(), codes::TOO_DEEP);
        // A configured depth above the hard cap is clamped, never handed to serde_json.
        let limits = Limits {
            max_depth: 10_000,
            ..Limits::default()
        };
        let body = format!("{{\"x\":{}", "[".repeat(10_000));
        assert_eq!(
            parse_object(body.as_bytes(), &limits).unwrap_err(),
            BodyError::TooDeep {
                max_depth: Limits::HARD_MAX_DEPTH
            }
        );
        // Deep nesting in a non-object body goes through serde_json's own limit.
        let array = "[".repeat(10_000);
        assert_eq!(parse(&array).unwrap_err().code(), codes::INVALID_JSON);
    }

    #[test]
    fn size_limits() {
        let big = format!("{{\"a\": \"{}\"}}", "x".repeat(10 * 1024 * 1024));
        assert_eq!(
            parse(&big).unwrap_err(),
            BodyError::TooLarge {
                max_bytes: 1024 * 1024
            }
        );
        let generous = Limits {
            max_body_bytes: 20 * 1024 * 1024,
            ..Limits::default()
        };
        assert_eq!(
            parse_object(big.as_bytes(), &generous).unwrap_err(),
            BodyError::StringTooLong {
                path: "a".to_owned(),
                max_bytes: 64 * 1024
            }
        );
        let long_key = format!("{{\"{}\": 1}}", "k".repeat(129));
        assert_eq!(parse(&long_key).unwrap_err().code(), codes::KEY_TOO_LONG);
        let small = Limits {
            max_total_keys: 3,
            max_array_len: 2,
            ..Limits::default()
        };
        assert_eq!(
            parse_object(br#"{"a": {"b": 1, "c": 2}, "d": 3}"#, &small).unwrap_err(),
            BodyError::TooManyKeys { max: 3 }
        );
        assert!(parse_object(br#"{"a": [1, 2]}"#, &small).is_ok());
        assert_eq!(
            parse_object(br#"{"a": [1, 2, 3]}"#, &small).unwrap_err(),
            BodyError::ArrayTooLong {
                path: "a".to_owned(),
                max: 2
            }
        );
    }

    #[derive(Debug, PartialEq)]
    struct Transfer {
        quote_id: Uuid4,
        recipient_id: Uuid4,
        amount: Money,
        reference: Option<Reference>,
    }

    const TRANSFER_FIELDS: &[&str] = &[
        "quote_id",
        "recipient_id",
        "amount",
        "currency",
        "reference",
    ];

    /// The spec's TransferRequest, read the way routes will.
    fn read_transfer(body: &str) -> Result<Transfer, Vec<FieldError>> {
        let object = parse(body).unwrap();
        let mut fields = Fields::new(&object, TRANSFER_FIELDS);
        let quote_id: Option<Uuid4> = fields.required("quote_id");
        let recipient_id: Option<Uuid4> = fields.required("recipient_id");
        let amount: Option<PositiveAmount> = fields.required("amount");
        let currency: Option<Currency> = fields.required("currency");
        let reference: Option<Reference> = fields.optional("reference");
        let mut money = None;
        if let (Some(amount), Some(currency)) = (amount, currency) {
            match amount.to_money(currency) {
                Ok(value) => money = Some(value),
                Err(error) => fields.reject("amount", error.code(), error.to_string()),
            }
        }
        fields.build(|| {
            Some(Transfer {
                quote_id: quote_id?,
                recipient_id: recipient_id?,
                amount: money?,
                reference,
            })
        })
    }

    const QUOTE: &str = "0f8fad5b-d9cb-469f-a165-70867728950e";
    const RECIPIENT: &str = "6ba7b810-9dad-41d1-80b4-00c04fd430c8";

    fn codes_of(errors: &[FieldError]) -> Vec<(&str, &str)> {
        errors
            .iter()
            .map(|error| (error.field.as_str(), error.code))
            .collect()
    }

    #[test]
    fn valid_transfer() {
        let body = format!(
            r#"{{"quote_id":"{QUOTE}","recipient_id":"{RECIPIENT}","amount":"1250.50","currency":"IDR","reference":"INV-1"}}"#
        );
        let transfer = read_transfer(&body).unwrap();
        assert_eq!(transfer.amount.amount_minor(), 125_050);
        assert_eq!(transfer.amount.to_string(), "1250.50");
        assert_eq!(transfer.reference.unwrap().as_str(), "INV-1");
        let no_reference = format!(
            r#"{{"quote_id":"{QUOTE}","recipient_id":"{RECIPIENT}","amount":"1","currency":"JPY","reference":null}}"#
        );
        assert!(read_transfer(&no_reference).unwrap().reference.is_none());
    }

    #[test]
    fn every_error_is_reported_at_once() {
        let body = r#"{"quote_id": 12, "amount": 1250.5, "currency": "idr", "reference": "caf\u00e9", "admin": true, "__proto__": {}}"#;
        let errors = read_transfer(body).unwrap_err();
        assert_eq!(
            codes_of(&errors),
            vec![
                ("__proto__", codes::UNKNOWN_FIELD),
                ("admin", codes::UNKNOWN_FIELD),
                ("quote_id", codes::INVALID_TYPE),
                ("recipient_id", codes::REQUIRED),
                ("amount", codes::INVALID_TYPE),
                ("currency", codes::INVALID_FORMAT),
                ("reference", codes::INVALID_FORMAT),
            ]
        );
    }

    #[test]
    fn amount_edge_cases() {
        let cases = [
            ("\"1e3\"", Some(codes::INVALID_FORMAT)),
            ("\"-0\"", Some(codes::INVALID_FORMAT)),
            ("\"0.000\"", Some(codes::OUT_OF_RANGE)),
            ("\"0\"", Some(codes::OUT_OF_RANGE)),
            ("\"1000000.01\"", Some(codes::OUT_OF_RANGE)),
            ("\"1000000.00\"", None),
            ("\"10.001\"", Some(codes::INVALID_PRECISION)),
            ("\" 10\"", Some(codes::INVALID_FORMAT)),
            ("\"+10\"", Some(codes::INVALID_FORMAT)),
            ("\"\"", Some(codes::INVALID_FORMAT)),
            ("10", Some(codes::INVALID_TYPE)),
            ("1e3", Some(codes::INVALID_TYPE)),
            ("-0", Some(codes::INVALID_TYPE)),
            ("true", Some(codes::INVALID_TYPE)),
            ("[\"10\"]", Some(codes::INVALID_TYPE)),
            ("{\"value\": \"10\"}", Some(codes::INVALID_TYPE)),
            ("null", Some(codes::REQUIRED)),
        ];
        for (amount, expected) in cases {
            let body = format!(
                r#"{{"quote_id":"{QUOTE}","recipient_id":"{RECIPIENT}","amount":{amount},"currency":"IDR"}}"#
            );
            let result = read_transfer(&body);
            match expected {
                None => assert!(result.is_ok(), "{amount}: {result:?}"),
                Some(code) => {
                    let errors = result.unwrap_err();
                    assert_eq!(codes_of(&errors), vec![("amount", code)], "{amount}");
                }
            }
        }
    }

    #[test]
    fn messages_never_echo_values() {
        let hostile = "<script>alert('x')</script>\u{202E}' OR 1=1 --";
        let body = serde_json::json!({
            "quote_id": hostile,
            "recipient_id": hostile,
            "amount": hostile,
            "currency": hostile,
            "reference": hostile,
        })
        .to_string();
        let errors = read_transfer(&body).unwrap_err();
        assert_eq!(errors.len(), 5);
        for error in &errors {
            assert!(!error.message.contains("script"), "{error:?}");
            assert!(!error.message.contains("OR 1=1"), "{error:?}");
        }
        let body = format!(r#"{{"{hostile}": 1}}"#).replace('\'', "");
        let object = parse(&body).unwrap();
        let errors = Fields::new(&object, &[]).finish().unwrap_err();
        assert_eq!(codes_of(&errors), vec![("?", codes::UNKNOWN_FIELD)]);
    }

    #[test]
    fn sql_fragments_are_data_where_text_is_allowed() {
        let body = format!(
            r#"{{"quote_id":"{QUOTE}","recipient_id":"{RECIPIENT}","amount":"1","currency":"USD","reference":"'; DROP TABLE transfers; --"}}"#
        );
        let transfer = read_transfer(&body).unwrap();
        assert_eq!(
            transfer.reference.unwrap().as_str(),
            "'; DROP TABLE transfers; --"
        );
    }

    #[derive(Debug, Clone, Copy, PartialEq)]
    enum Speed {
        Standard,
        Instant,
    }

    impl FromJsonField for Speed {
        fn from_json_field(value: &JsonValue) -> Result<Self, FieldIssue> {
            enum_field(
                value,
                &[("standard", Speed::Standard), ("instant", Speed::Instant)],
            )
        }
    }

    #[derive(Debug, PartialEq)]
    struct Recipient {
        name: Name,
        country: CountryCode,
        iban: Iban,
        bic: Option<Bic>,
    }

    fn read_recipient(fields: &mut Fields<'_>) -> Option<Recipient> {
        let name = fields.required::<Name>("name");
        let country = fields.required::<CountryCode>("country");
        let iban = fields.required::<Iban>("iban");
        let bic = fields.optional::<Bic>("bic");
        Some(Recipient {
            name: name?,
            country: country?,
            iban: iban?,
            bic,
        })
    }

    #[test]
    fn nested_objects_lists_and_scalars() {
        let body = r#"{
            "speed": "instant",
            "notify": true,
            "retries": 3,
            "recipient": {"name": "Jan de Vries", "country": "NL", "iban": "NL91 ABNA 0417 1643 00"},
            "tags": ["INV-1", "INV-2"]
        }"#;
        let object = parse(body).unwrap();
        let mut fields = Fields::new(
            &object,
            &["speed", "notify", "retries", "recipient", "tags"],
        );
        let speed: Option<Speed> = fields.required("speed");
        let notify: Option<bool> = fields.required("notify");
        let retries: Option<u32> = fields.optional("retries");
        let recipient = fields.required_object(
            "recipient",
            &["name", "country", "iban", "bic"],
            read_recipient,
        );
        let tags: Option<Vec<Reference>> = fields.required_list("tags", 1..=10);
        fields.finish().unwrap();
        assert_eq!(speed, Some(Speed::Instant));
        assert_eq!(notify, Some(true));
        assert_eq!(retries, Some(3));
        let recipient = recipient.unwrap();
        assert_eq!(recipient.iban.as_str(), "NL91ABNA0417164300");
        assert_eq!(recipient.country, CountryCode::NL);
        assert!(recipient.bic.is_none());
        assert_eq!(tags.unwrap().len(), 2);
    }

    #[test]
    fn nested_errors_carry_dotted_paths() {
        let body = r#"{
            "speed": "warp",
            "notify": "true",
            "retries": -1,
            "recipient": {"name": " Jan\u202E", "country": "XK", "iban": "NL91ABNA0417164301", "extra": 1},
            "tags": ["ok", 5, null],
            "items": [
                {"name": "A", "country": "ID", "iban": "GB29NWBK60161331926819"},
                {"name": "", "country": "id", "iban": 7, "bic": "CENAIDJA"}
            ]
        }"#;
        let object = parse(body).unwrap();
        let mut fields = Fields::new(
            &object,
            &["speed", "notify", "retries", "recipient", "tags", "items"],
        );
        let _: Option<Speed> = fields.required("speed");
        let _: Option<bool> = fields.required("notify");
        let _: Option<u32> = fields.optional("retries");
        let allowed = &["name", "country", "iban", "bic"];
        let recipient = fields.required_object("recipient", allowed, read_recipient);
        let tags: Option<Vec<Reference>> = fields.required_list("tags", 1..=10);
        let items = fields.required_object_list("items", 1..=100, allowed, read_recipient);
        assert!(recipient.is_none() && tags.is_none() && items.is_none());
        let errors = fields.finish().unwrap_err();
        assert_eq!(
            codes_of(&errors),
            vec![
                ("speed", codes::UNKNOWN_VALUE),
                ("notify", codes::INVALID_TYPE),
                ("retries", codes::OUT_OF_RANGE),
                ("recipient.extra", codes::UNKNOWN_FIELD),
                ("recipient.name", codes::INVALID_FORMAT),
                ("recipient.country", codes::UNKNOWN_VALUE),
                ("recipient.iban", codes::INVALID_CHECKSUM),
                ("tags[1]", codes::INVALID_TYPE),
                ("tags[2]", codes::REQUIRED),
                ("items[1].name", codes::TOO_SHORT),
                ("items[1].country", codes::INVALID_FORMAT),
                ("items[1].iban", codes::INVALID_TYPE),
            ]
        );
        assert_eq!(errors[0].message, "must be one of: standard, instant");
    }

    #[test]
    fn shape_errors_for_objects_and_lists() {
        let object = parse(r#"{"recipient": "x", "tags": [], "more": {"a": 1}}"#).unwrap();
        let mut fields = Fields::new(&object, &["recipient", "tags", "more", "absent"]);
        let _ = fields.required_object("recipient", &[], |_| Some(()));
        let _: Option<Vec<Reference>> = fields.required_list("tags", 1..=2);
        let _ = fields.optional_object("absent", &[], |_| Some(()));
        let _ = fields.required_object("missing_object", &[], |_| Some(()));
        let _ = fields.optional_object("more", &["a"], |inner| inner.required::<u32>("a"));
        let errors = fields.finish().unwrap_err();
        assert_eq!(
            codes_of(&errors),
            vec![
                ("recipient", codes::INVALID_TYPE),
                ("tags", codes::TOO_SHORT),
                ("missing_object", codes::REQUIRED),
            ]
        );
    }

    #[test]
    fn numbers_are_strict() {
        let cases = [
            ("0", Ok(0)),
            ("4294967295", Ok(u32::MAX)),
            ("4294967296", Err(codes::OUT_OF_RANGE)),
            ("-1", Err(codes::OUT_OF_RANGE)),
            ("1.0", Err(codes::INVALID_FORMAT)),
            ("1e3", Err(codes::INVALID_FORMAT)),
            ("\"3\"", Err(codes::INVALID_TYPE)),
            ("true", Err(codes::INVALID_TYPE)),
        ];
        for (value, expected) in cases {
            let object = parse(&format!(r#"{{"n": {value}}}"#)).unwrap();
            let mut fields = Fields::new(&object, &["n"]);
            let parsed: Option<u32> = fields.required("n");
            let result = fields.finish().map(|()| parsed.unwrap());
            let result = result.map_err(|errors| errors[0].code);
            assert_eq!(result, expected, "{value}");
        }
    }

    #[test]
    fn field_errors_serialize_for_problem_json() {
        let error = FieldError {
            field: "amount".to_owned(),
            code: codes::INVALID_TYPE,
            message: "must be a string".to_owned(),
        };
        assert_eq!(
            serde_json::to_value(&error).unwrap(),
            serde_json::json!({"field": "amount", "code": "invalid_type", "message": "must be a string"})
        );
    }

    mod fuzz {
        #![allow(clippy::unwrap_used, clippy::expect_used)]
        use super::*;
        use proptest::prelude::*;

        proptest! {
            #[test]
            fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..256)) {
                let _ = parse_object(&bytes, &Limits::default());
            }

            #[test]
            fn json_like_text_never_panics(text in "[{}\\[\\]\":,a-c0-9 .eE+-]{0,200}") {
                if let Ok(object) = parse(&text) {
                    let mut fields = Fields::new(&object, &["a", "b"]);
                    let _: Option<u32> = fields.optional("a");
                    let _: Option<PositiveAmount> = fields.optional("b");
                    let _ = fields.finish();
                }
            }
        }
    }
}
