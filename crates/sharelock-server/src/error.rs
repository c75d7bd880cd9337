//! The one place where failures become HTTP responses: every error is
//! `{"error":{"code":"…","message":"…"}}` with the status its stable code always has.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use sharelock_api::{ErrorBody, ErrorCode, ErrorDetail};
use sharelock_store::StoreError;

/// An API failure: a stable code, a human message free of secrets, and optional structured details.
#[derive(Debug)]
pub struct ApiError {
    pub code: ErrorCode,
    pub message: String,
    pub current_version: Option<u64>,
    pub current_key_gen: Option<u64>,
    pub retry_after: Option<u64>,
}

pub type ApiResult<T> = Result<T, ApiError>;

impl ApiError {
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        ApiError {
            code,
            message: message.into(),
            current_version: None,
            current_key_gen: None,
            retry_after: None,
        }
    }

    pub fn malformed(message: impl Into<String>) -> Self {
        Self::new(ErrorCode::MalformedRequest, message)
    }

    pub fn not_found(what: &str) -> Self {
        Self::new(ErrorCode::NotFound, format!("{what} not found"))
    }

    pub fn unauthorized() -> Self {
        Self::new(ErrorCode::Unauthorized, "a valid session is required")
    }

    pub fn share_ended() -> Self {
        Self::new(
            ErrorCode::ShareEnded,
            "this share has ended: it expired or was deleted",
        )
    }

    /// The share's owner account is disabled.
    pub fn share_suspended() -> Self {
        Self::new(
            ErrorCode::ShareSuspended,
            "this share is unavailable: its owner's account is disabled on this server",
        )
    }

    pub fn too_many(retry_after: u64) -> Self {
        let mut e = Self::new(
            ErrorCode::TooManyAttempts,
            "too many attempts; wait before trying again",
        );
        e.retry_after = Some(retry_after.max(1));
        e
    }

    /// The server is at one of its bounds (uploads, bytes in flight); nothing was read.
    pub fn busy(retry_after: u64) -> Self {
        let mut e = Self::new(
            ErrorCode::ServerBusy,
            "the server is busy with other uploads; try again shortly",
        );
        e.retry_after = Some(retry_after.max(1));
        e
    }

    pub fn too_large() -> Self {
        Self::new(ErrorCode::PayloadTooLarge, "the request body is too large")
    }

    pub fn internal() -> Self {
        Self::new(ErrorCode::Internal, "internal server error")
    }
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::NotFound => ApiError::not_found("object"),
            StoreError::AlreadyExists => ApiError::new(
                ErrorCode::AlreadyExists,
                "an object with this id already exists",
            ),
            StoreError::VersionConflict {
                current_version,
                current_key_gen,
            } => {
                let mut err = ApiError::new(
                    ErrorCode::VersionConflict,
                    format!("the record changed: the current version is {current_version}"),
                );
                err.current_version = Some(current_version);
                err.current_key_gen = Some(current_key_gen);
                err
            }
            StoreError::StaleKey {
                current_version,
                current_key_gen,
            } => {
                let mut err = ApiError::new(
                    ErrorCode::StaleRecordKey,
                    format!(
                        "the record key was rotated: the current key generation is {current_key_gen}"
                    ),
                );
                err.current_version = Some(current_version);
                err.current_key_gen = Some(current_key_gen);
                err
            }
            StoreError::ShareSetMismatch => ApiError::new(
                ErrorCode::ShareSetMismatch,
                "a key rotation must rewrap the key for exactly the record's live shares",
            ),
            StoreError::ShareEnded => ApiError::share_ended(),
            StoreError::NotAllowed => {
                ApiError::new(ErrorCode::ShareNotEditable, "this share is read-only")
            }
            StoreError::Replay => ApiError::new(
                ErrorCode::ReplayedRequest,
                "this request was already received",
            ),
            StoreError::QuotaExceeded(sharelock_store::Quota::Account) => ApiError::new(
                ErrorCode::QuotaExceeded,
                "storing this would exceed the account's file quota",
            ),
            StoreError::QuotaExceeded(sharelock_store::Quota::Share) => ApiError::new(
                ErrorCode::ShareQuotaExceeded,
                "storing this would exceed what this share may upload",
            ),
            StoreError::ShareLimit => ApiError::new(
                ErrorCode::ShareLimitReached,
                "the account has as many live shares as it may have; end one first",
            ),
            StoreError::WebhookLimit => ApiError::new(
                ErrorCode::WebhookLimitReached,
                "the account has as many webhook endpoints as it may have; remove one first",
            ),
            StoreError::AccountDisabled => ApiError::share_suspended(),
            StoreError::PartsMismatch => ApiError::malformed(
                "the uploaded parts do not match `parts` and `size` (missing or extra parts, or another total)",
            ),
            other => {
                tracing::error!(error = %other, "store failure");
                ApiError::new(
                    ErrorCode::Unavailable,
                    "the database is unavailable; try again",
                )
            }
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status =
            StatusCode::from_u16(self.code.status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let body = ErrorBody {
            error: ErrorDetail {
                code: self.code.as_str().to_string(),
                message: self.message,
                current_version: self.current_version,
                current_key_gen: self.current_key_gen,
                retry_after: self.retry_after,
            },
        };
        let mut response = (status, axum::Json(body)).into_response();
        if let Some(secs) = self.retry_after
            && let Ok(v) = HeaderValue::from_str(&secs.to_string())
        {
            response.headers_mut().insert(header::RETRY_AFTER, v);
        }
        response
    }
}
