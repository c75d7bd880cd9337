//! The client's one error type. Messages never contain key material, passwords, link secrets or
//! plaintext: server messages are free of secrets by contract, and local messages name things, not values.

use sharelock_api::{ErrorBody, ErrorCode};

/// Every way a client operation can fail.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ClientError {
    /// The server refused the request with a stable error code (docs/protocol.md §10).
    #[error("{message}")]
    Api {
        /// HTTP status.
        status: u16,
        /// The stable code; [`ErrorCode::Internal`] if the server sent one this client does not know.
        code: ErrorCode,
        /// The server's human-readable message.
        message: String,
        /// On `version_conflict` and `stale_record_key`: the record's current version.
        current_version: Option<u64>,
        /// On `version_conflict` and `stale_record_key`: the record's current key generation.
        current_key_gen: Option<u64>,
        /// On `too_many_attempts`: seconds to wait.
        retry_after: Option<u64>,
    },
    /// A protocol check failed: a box did not open, an envelope or link is malformed, a version went back.
    #[error("{0}")]
    Protocol(#[from] sharelock_core::Error),
    /// The server could not be reached, or the connection failed mid-way.
    #[error("cannot talk to the server: {0}")]
    Http(#[source] reqwest::Error),
    /// A version the owner's client cannot attribute: neither an owner tag nor a verified device signature.
    #[error("unverified change: {0}")]
    Unverified(String),
    /// The record is no longer at the version the caller based a change on.
    #[error("the record changed first: it is now at version {current_version}")]
    Conflict {
        /// The record's current version.
        current_version: u64,
    },
    /// The server answered something the protocol does not allow.
    #[error("unexpected answer from the server: {0}")]
    Unexpected(String),
    /// The current master password given to change it is wrong (checked here, before anything is sent).
    #[error("the current master password is wrong")]
    WrongPassword,
    /// The master password was changed, but logging in again with the new one failed: the session that
    /// changed it has ended with every other; log in with the new password.
    #[error(
        "the master password was changed, but logging in again failed ({0}); log in with the new password"
    )]
    LoginAfterChange(#[source] Box<ClientError>),
    /// The link needs a passphrase and none was given.
    #[error("this link needs a passphrase")]
    PassphraseRequired,
    /// The caller asked for something invalid (a bad field, a missing record, an unsafe file name).
    #[error("{0}")]
    Invalid(String),
    /// Local state (session file, device keys, version memory) is missing or damaged.
    #[error("{0}")]
    State(String),
    /// A local file operation failed.
    #[error("{context}: {source}")]
    Io {
        /// What was being done, with the path.
        context: String,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
}

/// `Result` with [`ClientError`].
pub type Result<T, E = ClientError> = std::result::Result<T, E>;

impl ClientError {
    /// The API error code, if this error is (or stands for) one.
    pub fn code(&self) -> Option<ErrorCode> {
        match self {
            ClientError::Api { code, .. } => Some(*code),
            ClientError::Conflict { .. } => Some(ErrorCode::VersionConflict),
            ClientError::WrongPassword => Some(ErrorCode::InvalidCredentials),
            _ => None,
        }
    }

    /// Whether the server said `code`.
    pub fn is(&self, code: ErrorCode) -> bool {
        self.code() == Some(code)
    }

    pub(crate) fn io(context: impl Into<String>, source: std::io::Error) -> Self {
        ClientError::Io {
            context: context.into(),
            source,
        }
    }

    pub(crate) fn record(e: sharelock_core::record::RecordError) -> Self {
        ClientError::Protocol(e.into())
    }

    /// Builds an API error from a failed response's status and body. A body that is not the documented
    /// JSON (a proxy's error page) still yields a code from the status.
    pub(crate) fn from_response(status: u16, body: &[u8]) -> Self {
        match serde_json::from_slice::<ErrorBody>(body) {
            Ok(parsed) => {
                let detail = parsed.error;
                let code = ErrorCode::parse(&detail.code).unwrap_or(ErrorCode::Internal);
                let message = if ErrorCode::parse(&detail.code).is_some() {
                    detail.message
                } else {
                    format!("{} ({})", detail.message, printable(&detail.code))
                };
                ClientError::Api {
                    status,
                    code,
                    message: printable(&message),
                    current_version: detail.current_version,
                    current_key_gen: detail.current_key_gen,
                    retry_after: detail.retry_after,
                }
            }
            Err(_) => {
                let code = match status {
                    400 => ErrorCode::MalformedRequest,
                    401 => ErrorCode::Unauthorized,
                    404 => ErrorCode::NotFound,
                    410 => ErrorCode::ShareEnded,
                    413 => ErrorCode::PayloadTooLarge,
                    429 => ErrorCode::TooManyAttempts,
                    503 => ErrorCode::Unavailable,
                    _ => ErrorCode::Internal,
                };
                ClientError::Api {
                    status,
                    code,
                    message: format!("the server answered HTTP {status}"),
                    current_version: None,
                    current_key_gen: None,
                    retry_after: None,
                }
            }
        }
    }
}

/// A server-supplied string made safe for one terminal line: control characters are replaced and the
/// length is capped, so a hostile server cannot spoof output or flood the screen.
pub(crate) fn printable(text: &str) -> String {
    text.chars()
        .take(300)
        .map(|c| if c.is_control() { '?' } else { c })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_documented_error_body() {
        let body = br#"{"error":{"code":"version_conflict","message":"the record changed","current_version":7,"current_key_gen":2}}"#;
        let e = ClientError::from_response(409, body);
        assert!(e.is(ErrorCode::VersionConflict));
        match e {
            ClientError::Api {
                status,
                current_version,
                current_key_gen,
                ..
            } => {
                assert_eq!(
                    (status, current_version, current_key_gen),
                    (409, Some(7), Some(2))
                );
            }
            other => panic!("unexpected {other:?}"),
        }
    }

    #[test]
    fn unknown_codes_and_non_json_bodies_still_map() {
        let e = ClientError::from_response(
            418,
            br#"{"error":{"code":"teapot","message":"short\nand stout"}}"#,
        );
        assert_eq!(e.code(), Some(ErrorCode::Internal));
        assert_eq!(e.to_string(), "short?and stout (teapot)");
        let e = ClientError::from_response(410, b"<html>gone</html>");
        assert_eq!(e.code(), Some(ErrorCode::ShareEnded));
        assert_eq!(
            ClientError::Conflict { current_version: 3 }.code(),
            Some(ErrorCode::VersionConflict)
        );
    }
}
