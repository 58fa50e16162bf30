//! Request bodies: the one way JSON enters the API. Media type checked, size bounded, then the
//! strict parser (duplicate keys, depth and size limits); handlers read fields with
//! `strict_json::Fields`, which reports every invalid field at once.

use axum::body::Bytes;
use axum::extract::{FromRequest, Request};
use axum::http::{StatusCode, header};
use benteng_core::strict_json::{JsonObject, Limits, parse_object};

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
