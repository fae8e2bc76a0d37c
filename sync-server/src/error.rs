//! The one error type of the HTTP API and its one status mapping.
//!
//! Internal details (storage errors, panics contained) are logged here,
//! with every cause in their chain, and never returned: the client gets the
//! stable code and a generic sentence.

use axum::Json;
use axum::extract::rejection::BytesRejection;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use bothy_shared::ids::DeviceId;
use bothy_shared::signing::VerifyError;
use bothy_shared::wire::{CborError, ErrorBody, ErrorCode};

use crate::storage::StorageError;
use crate::sync::SyncError;

/// Everything a request can fail with.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// The client's mistake, in the words it is told.
    #[error("malformed request: {0}")]
    Malformed(String),
    #[error("malformed request: the body could not be read")]
    UnreadableBody(#[source] BytesRejection),
    #[error("malformed request: the body is not the expected CBOR: {}", .0.reason())]
    BadCbor(#[source] CborError),
    #[error("request bodies must be application/cbor")]
    UnsupportedMediaType,
    /// No signature header at all.
    #[error(
        "the request is not signed: send the {} header (see docs/sync-protocol.md)",
        bothy_shared::signing::HEADER_AUTH
    )]
    NotSigned,
    /// A signature header is there but incomplete or malformed.
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
    #[error("this route does not take this method")]
    MethodNotAllowed,
    /// Too many enrolment attempts or failed signatures; try again after
    /// `retry_after` (sent as `Retry-After`).
    #[error("too many attempts: try again in {} s", retry_after_secs(*retry_after))]
    RateLimited { retry_after: std::time::Duration },
    /// The body did not arrive within the body read timeout.
    #[error("the request body did not arrive in time")]
    BodyTimeout,
    #[error("the request body is too large")]
    TooLarge,
    /// A request over one of the protocol's limits other than its size in
    /// bytes (`docs/sync-protocol.md`, "Limits"), in the words the client
    /// is told.
    #[error("{0}")]
    OverLimit(String),
    #[error("internal error")]
    Internal(#[source] InternalError),
}

/// What failed inside the server: logged with its causes, never returned.
#[derive(Debug, thiserror::Error)]
pub enum InternalError {
    #[error(transparent)]
    Storage(#[from] StorageError),
    /// A stored document that does not load.
    #[error(transparent)]
    Sync(SyncError),
    /// A directory change the server makes for a device (a team change)
    /// failed: storage, or a document that could not be created.
    #[error(transparent)]
    Directory(crate::directory::DirectoryError),
    #[error("device {0} has no person in the directory")]
    DeviceWithoutPerson(DeviceId),
    #[error("encoding the response failed")]
    Encode(#[source] CborError),
    #[error("the blocking task running the request failed")]
    Task(#[source] tokio::task::JoinError),
    /// Never: the server never closes its turns for work.
    #[error("the server's turns for work were closed")]
    Turn(#[source] tokio::sync::AcquireError),
    #[error("a layer of the router failed")]
    Layer(#[source] tower::BoxError),
}

impl From<InternalError> for ApiError {
    fn from(e: InternalError) -> Self {
        ApiError::Internal(e)
    }
}

impl From<crate::directory::DirectoryError> for ApiError {
    fn from(e: crate::directory::DirectoryError) -> Self {
        match e {
            crate::directory::DirectoryError::Storage(e) => e.into(),
            other => ApiError::Internal(InternalError::Directory(other)),
        }
    }
}

impl From<StorageError> for ApiError {
    fn from(e: StorageError) -> Self {
        ApiError::Internal(InternalError::Storage(e))
    }
}

impl ApiError {
    pub fn code(&self) -> ErrorCode {
        match self {
            ApiError::Malformed(_) | ApiError::UnreadableBody(_) | ApiError::BadCbor(_) => {
                ErrorCode::Malformed
            }
            ApiError::UnsupportedMediaType => ErrorCode::UnsupportedMediaType,
            ApiError::NotSigned | ApiError::Unsigned(_) => ErrorCode::Unsigned,
            ApiError::BadSignature => ErrorCode::BadSignature,
            ApiError::StaleTimestamp => ErrorCode::StaleTimestamp,
            ApiError::ReplayedNonce => ErrorCode::ReplayedNonce,
            ApiError::UnknownDevice => ErrorCode::UnknownDevice,
            ApiError::InvalidCode => ErrorCode::InvalidCode,
            ApiError::DeviceRevoked => ErrorCode::DeviceRevoked,
            ApiError::Forbidden(_) => ErrorCode::Forbidden,
            ApiError::NotFound => ErrorCode::NotFound,
            ApiError::MethodNotAllowed => ErrorCode::MethodNotAllowed,
            ApiError::RateLimited { .. } => ErrorCode::RateLimited,
            ApiError::BodyTimeout => ErrorCode::Timeout,
            ApiError::TooLarge | ApiError::OverLimit(_) => ErrorCode::TooLarge,
            ApiError::Internal(_) => ErrorCode::Internal,
        }
    }

    /// A refusal of a request's signature: what the failed-signature rate
    /// limits count.
    pub fn is_failed_signature(&self) -> bool {
        matches!(
            self,
            ApiError::NotSigned
                | ApiError::Unsigned(_)
                | ApiError::BadSignature
                | ApiError::StaleTimestamp
                | ApiError::ReplayedNonce
                | ApiError::UnknownDevice
        )
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
        ErrorCode::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
        ErrorCode::RateLimited => StatusCode::TOO_MANY_REQUESTS,
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
            ApiError::Internal(e) => {
                // Causes name rows and files, never record content.
                tracing::error!(error = %chain(e), "request failed");
                "the server failed; nothing was half-stored, try again later".to_owned()
            }
            other => {
                tracing::debug!(code = other.code().as_str(), error = %chain(other), "request refused");
                other.to_string()
            }
        };
        let mut response = error_response(self.code(), message);
        if let ApiError::RateLimited { retry_after } = self {
            response.headers_mut().insert(
                header::RETRY_AFTER,
                HeaderValue::from(retry_after_secs(retry_after)),
            );
        }
        response
    }
}

/// Whole seconds to wait, rounded up and at least one: `Retry-After` has
/// no fractions, and `0` would invite an immediate retry.
pub fn retry_after_secs(wait: std::time::Duration) -> u64 {
    let whole = wait.as_secs();
    let rounded = if wait.subsec_nanos() > 0 {
        whole + 1
    } else {
        whole
    };
    rounded.max(1)
}

/// An error and each of its causes, `: `-separated.
pub fn chain(e: &(dyn std::error::Error + 'static)) -> String {
    let mut out = e.to_string();
    let mut cause = e.source();
    while let Some(c) = cause {
        out.push_str(": ");
        out.push_str(&c.to_string());
        cause = c.source();
    }
    out
}

impl From<SyncError> for ApiError {
    fn from(e: SyncError) -> Self {
        match e {
            SyncError::BadCursor => ApiError::Malformed(e.to_string()),
            SyncError::TooManyChanges => ApiError::OverLimit(e.to_string()),
            SyncError::Storage(e) => e.into(),
            SyncError::CorruptDocument { .. } => ApiError::Internal(InternalError::Sync(e)),
        }
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
