//! The one error type of the HTTP API and its one status mapping.
//!
//! Internal details (storage errors, panics contained) are logged here and
//! never returned: the client gets the stable code and a generic sentence.

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use bothy_shared::signing::VerifyError;
use bothy_shared::wire::{ErrorBody, ErrorCode};

use crate::storage::StorageError;

/// Everything a request can fail with.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error("malformed request: {0}")]
    Malformed(String),
    #[error("request bodies must be application/cbor")]
    UnsupportedMediaType,
    #[error("{0}")]
    Unsigned(VerifyError),
    #[error("the signature does not match the request")]
    BadSignature,
    #[error("the request's timestamp is too far from the server's clock")]
    StaleTimestamp,
    #[error("this request was already received (nonce reused)")]
    ReplayedNonce,
    #[error("no such device is enrolled")]
    UnknownDevice,
    #[error("the enrolment code is not valid (unknown, already used, or expired)")]
    InvalidCode,
    #[error("this device has been revoked: offer any unsynced work to /v1/offer, then wipe")]
    DeviceRevoked,
    #[error("not allowed: {0}")]
    Forbidden(&'static str),
    #[error("no such route")]
    NotFound,
    #[error("the request body is too large")]
    TooLarge,
    #[error("internal error")]
    Internal(String),
}

impl ApiError {
    pub fn code(&self) -> ErrorCode {
        match self {
            ApiError::Malformed(_) => ErrorCode::Malformed,
            ApiError::UnsupportedMediaType => ErrorCode::UnsupportedMediaType,
            ApiError::Unsigned(_) => ErrorCode::Unsigned,
            ApiError::BadSignature => ErrorCode::BadSignature,
            ApiError::StaleTimestamp => ErrorCode::StaleTimestamp,
            ApiError::ReplayedNonce => ErrorCode::ReplayedNonce,
            ApiError::UnknownDevice => ErrorCode::UnknownDevice,
            ApiError::InvalidCode => ErrorCode::InvalidCode,
            ApiError::DeviceRevoked => ErrorCode::DeviceRevoked,
            ApiError::Forbidden(_) => ErrorCode::Forbidden,
            ApiError::NotFound => ErrorCode::NotFound,
            ApiError::TooLarge => ErrorCode::TooLarge,
            ApiError::Internal(_) => ErrorCode::Internal,
        }
    }

    pub fn status(&self) -> StatusCode {
        status_of(self.code())
    }
}

/// The status code that goes with each error code.
pub fn status_of(code: ErrorCode) -> StatusCode {
    match code {
        ErrorCode::Malformed => StatusCode::BAD_REQUEST,
        ErrorCode::Unsigned
        | ErrorCode::BadSignature
        | ErrorCode::StaleTimestamp
        | ErrorCode::ReplayedNonce
        | ErrorCode::UnknownDevice
        | ErrorCode::InvalidCode => StatusCode::UNAUTHORIZED,
        ErrorCode::DeviceRevoked | ErrorCode::Forbidden => StatusCode::FORBIDDEN,
        ErrorCode::NotFound => StatusCode::NOT_FOUND,
        ErrorCode::TooLarge => StatusCode::PAYLOAD_TOO_LARGE,
        ErrorCode::UnsupportedMediaType => StatusCode::UNSUPPORTED_MEDIA_TYPE,
        ErrorCode::Timeout => StatusCode::REQUEST_TIMEOUT,
        ErrorCode::Internal => StatusCode::INTERNAL_SERVER_ERROR,
    }
}

/// An error response with the JSON body every error has.
pub fn error_response(code: ErrorCode, message: String) -> Response {
    (
        status_of(code),
        Json(ErrorBody {
            error: code,
            message,
        }),
    )
        .into_response()
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let message = match &self {
            ApiError::Internal(detail) => {
                tracing::error!(%detail, "request failed");
                "the server failed; nothing was half-stored, try again later".to_owned()
            }
            other => {
                tracing::debug!(code = other.code().as_str(), "request refused");
                other.to_string()
            }
        };
        error_response(self.code(), message)
    }
}

impl From<StorageError> for ApiError {
    fn from(e: StorageError) -> Self {
        ApiError::Internal(e.to_string())
    }
}

impl From<VerifyError> for ApiError {
    fn from(e: VerifyError) -> Self {
        match e {
            VerifyError::Missing(_) | VerifyError::Malformed(_) => ApiError::Unsigned(e),
            VerifyError::StaleTimestamp => ApiError::StaleTimestamp,
            VerifyError::BadSignature => ApiError::BadSignature,
        }
    }
}
