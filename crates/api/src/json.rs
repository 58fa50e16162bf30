//! Request bodies: the one way JSON enters the API. Media type checked, size bounded, then the
//! strict parser (duplicate keys, depth and size limits); handlers read fields with
//! `strict_json::Fields`, which reports every invalid field at once.

use axum::body::Bytes;
use axum::extract::{FromRequest, Request};
use axum::http::{StatusCode, header};
use benteng_core::strict_json::{FieldError, Fields, JsonObject, Limits, parse_object};

use crate::error::ApiError;

pub struct JsonBody(pub JsonObject);

impl<S: Send + Sync> FromRequest<S> for JsonBody {
    type Rejection = ApiError;

    async fn from_request(request: Request, state: &S) -> Result<Self, Self::Rejection> {
        let is_json = request
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.split(';').next())
            .is_some_and(|essence| essence.trim().eq_ignore_ascii_case("application/json"));
        if !is_json {
            return Err(ApiError::UnsupportedMediaType);
        }
        let bytes = Bytes::from_request(request, state)
            .await
            .map_err(|rejection| {
                if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
                    ApiError::PayloadTooLarge
                } else {
                    ApiError::BadRequest("the request body could not be read")
                }
            })?;
        parse_object(&bytes, &Limits::default())
            .map(JsonBody)
            .map_err(|e| ApiError::malformed_body(&e))
    }
}

/// A request body with a shape: the type a handler reads its body into. The type's `ToSchema`
/// is the body's description in `/openapi.json`, so the document describes the parser's own
/// type; the tests in `routes/docs.rs` hold each schema to [`RequestBody::FIELDS`] (its
/// properties), to [`RequestBody::read`] (its `required` list) and its example to the parser.
pub trait RequestBody: Sized + utoipa::ToSchema {
    /// Every field the body may carry; any other is refused as `unknown_field`.
    const FIELDS: &'static [&'static str];

    /// Reads the body's fields; every invalid one is reported through `fields`.
    fn read(fields: &mut Fields<'_>) -> Option<Self>;

    /// The body from a parsed JSON object, or every invalid field.
    fn parse(object: &JsonObject) -> Result<Self, Vec<FieldError>> {
        let mut fields = Fields::new(object, Self::FIELDS);
        let body = Self::read(&mut fields);
        fields.build(|| body)
    }
}

/// A JSON body read into `T` ([`JsonBody`]'s checks, then `T`'s fields).
pub struct Body<T>(pub T);

impl<S: Send + Sync, T: RequestBody> FromRequest<S> for Body<T> {
    type Rejection = ApiError;

    async fn from_request(request: Request, state: &S) -> Result<Self, Self::Rejection> {
        let JsonBody(object) = JsonBody::from_request(request, state).await?;
        Ok(Body(T::parse(&object)?))
    }
}

/// The schema of a string field with a closed set of spellings: the same table the field's
/// parser reads (`strict_json::enum_field`), so the document lists exactly what is accepted.
pub fn string_enum_schema<'a>(
    spellings: impl IntoIterator<Item = &'a str>,
) -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
    use utoipa::openapi::{ObjectBuilder, Type};
    ObjectBuilder::new()
        .schema_type(Type::String)
        .enum_values(Some(spellings.into_iter().map(str::to_owned)))
        .into()
}
