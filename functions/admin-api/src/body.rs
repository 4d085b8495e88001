//! Request bodies and query strings: unknown fields are refused (every type denies them), and every rejection is
//! a problem+json answer rather than axum's plain text.

use crate::{ApiError, MAX_BODY_BYTES};
use axum::extract::rejection::JsonRejection;
use axum::extract::{FromRequest, Request};
use axum::http::StatusCode;
use serde::de::DeserializeOwned;

pub struct Body<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for Body<T> {
    type Rejection = ApiError;

    async fn from_request(request: Request, state: &S) -> Result<Self, ApiError> {
        match axum::Json::<serde_json::Value>::from_request(request, state).await {
            Ok(axum::Json(value)) => object(value).map(Body),
            Err(JsonRejection::MissingJsonContentType(_)) => Err(ApiError::UnsupportedMediaType),
            Err(rejection) if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE => {
                Err(ApiError::TooLarge(MAX_BODY_BYTES))
            }
            Err(rejection) => Err(ApiError::BadRequest(ithub::validation::public_reason(&rejection.body_text()))),
        }
    }
}

/// An optional body: an empty one, or JSON `null`, is `None` (whatever the `Content-Type` of an empty one);
/// anything else sent must be JSON of the type.
impl<S: Send + Sync, T: DeserializeOwned> axum::extract::OptionalFromRequest<S> for Body<T> {
    type Rejection = ApiError;

    async fn from_request(request: Request, state: &S) -> Result<Option<Self>, ApiError> {
        let content_type = request.headers().get(axum::http::header::CONTENT_TYPE).and_then(|v| v.to_str().ok());
        let json = content_type.is_some_and(|t| t.starts_with("application/json") || t.contains("+json"));
        let bytes =
            axum::body::Bytes::from_request(request, state).await.map_err(|_| ApiError::TooLarge(MAX_BODY_BYTES))?;
        if bytes.is_empty() {
            return Ok(None);
        }
        if !json {
            return Err(ApiError::UnsupportedMediaType);
        }
        match serde_json::from_slice::<serde_json::Value>(&bytes).map_err(|e| ApiError::BadRequest(reason(&e)))? {
            serde_json::Value::Null => Ok(None),
            value => object(value).map(|v| Some(Body(v))),
        }
    }
}

/// Every body is a JSON object (the document says so); its fields are then read as `T`.
fn object<T: DeserializeOwned>(value: serde_json::Value) -> Result<T, ApiError> {
    if !value.is_object() {
        return Err(ApiError::BadRequest("the body must be a JSON object".into()));
    }
    serde_json::from_value(value).map_err(|e| ApiError::BadRequest(reason(&e)))
}

/// serde's reason, without any value it quotes (a credential sent in the wrong shape would be echoed).
fn reason(error: &serde_json::Error) -> String {
    ithub::validation::public_reason(&error.to_string())
}

/// A query string; an unknown or malformed parameter answers 400 with the reason.
pub struct Params<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> axum::extract::FromRequestParts<S> for Params<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut axum::http::request::Parts, state: &S) -> Result<Self, ApiError> {
        axum::extract::Query::<T>::from_request_parts(parts, state)
            .await
            .map(|axum::extract::Query(value)| Params(value))
            .map_err(|rejection| ApiError::BadRequest(rejection.body_text()))
    }
}
