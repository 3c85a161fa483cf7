//! Request extractors whose failures are [`ApiError`]s, so a bad query
//! string, path or body gets the API's JSON error body (axum's own
//! extractors answer in plain text).
//!
//! - [`ApiQuery`]: the query string into a struct; 400 `bad_request`.
//! - [`ApiPath`]: path segments; 400 `bad_request` (e.g. not UTF-8).
//! - [`JsonBody`]: a JSON body, whatever its `Content-Type`; 413
//!   `payload_too_large` past the body limit ([`crate::BODY_LIMIT`]), 400
//!   `bad_request` when it is not the JSON the endpoint takes (serde's
//!   message says which field is wrong).

use axum::body::Bytes;
use axum::extract::{FromRequest, FromRequestParts, Path, Query, Request};
use axum::http::request::Parts;
use axum::http::StatusCode;
use serde::de::DeserializeOwned;

use crate::error::ApiError;

/// The query string, deserialized into `T`.
#[derive(Debug, Clone)]
pub struct ApiQuery<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequestParts<S> for ApiQuery<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        match Query::<T>::from_request_parts(parts, state).await {
            Ok(Query(v)) => Ok(ApiQuery(v)),
            Err(e) => Err(ApiError::bad_request(e.body_text())),
        }
    }
}

/// Path parameters, deserialized into `T`.
#[derive(Debug, Clone)]
pub struct ApiPath<T>(pub T);

impl<T: DeserializeOwned + Send, S: Send + Sync> FromRequestParts<S> for ApiPath<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        match Path::<T>::from_request_parts(parts, state).await {
            Ok(Path(v)) => Ok(ApiPath(v)),
            Err(e) if e.status().is_server_error() => Err(ApiError::internal(&e.body_text())),
            Err(e) => Err(ApiError::bad_request(e.body_text())),
        }
    }
}

/// A JSON body, deserialized into `T`.
#[derive(Debug, Clone)]
pub struct JsonBody<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for JsonBody<T> {
    type Rejection = ApiError;

    async fn from_request(request: Request, state: &S) -> Result<Self, ApiError> {
        let bytes = match Bytes::from_request(request, state).await {
            Ok(b) => b,
            Err(e) if e.status() == StatusCode::PAYLOAD_TOO_LARGE => {
                return Err(ApiError::new(
                    StatusCode::PAYLOAD_TOO_LARGE,
                    "payload_too_large",
                    format!("the request body is larger than {} bytes", crate::BODY_LIMIT),
                ))
            }
            Err(e) => return Err(ApiError::bad_request(format!("cannot read the request body: {}", e.body_text()))),
        };
        serde_json::from_slice(&bytes)
            .map(JsonBody)
            .map_err(|e| ApiError::bad_request(format!("the body is not the JSON this endpoint takes: {e}")))
    }
}
