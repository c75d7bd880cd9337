use serde::{Deserialize, Serialize};

/// The body of every failed response: `{"error": {"code": "...", "message": "..."}}`.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct ErrorBody {
    pub error: ErrorDetail,
}

#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct ErrorDetail {
    /// A stable code from [`ErrorCode`]; clients branch on this, never on the message.
    pub code: String,
    /// Human-readable, free of secrets, may change between releases.
    pub message: String,
    /// On `version_conflict` and `stale_record_key`: the record's current version.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub current_version: Option<u64>,
    /// On `version_conflict` and `stale_record_key`: the record's current key generation.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub current_key_gen: Option<u64>,
    /// On `too_many_attempts` and `server_busy`: seconds until the next attempt is worth making (also in
    /// `Retry-After`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retry_after: Option<u64>,
}

macro_rules! error_codes {
    ($( $(#[$doc:meta])* $variant:ident = $code:literal, $status:literal; )*) => {
        /// Every error code the API returns, with its HTTP status. The codes are a stable contract.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        #[non_exhaustive]
        pub enum ErrorCode {
            $( $(#[$doc])* $variant, )*
        }

        impl ErrorCode {
            /// All codes, for documentation and tests.
            pub const ALL: &'static [ErrorCode] = &[$(ErrorCode::$variant),*];

            /// The wire string.
            pub fn as_str(self) -> &'static str {
                match self { $(ErrorCode::$variant => $code,)* }
            }

            /// The HTTP status this code is always sent with.
            pub fn status(self) -> u16 {
                match self { $(ErrorCode::$variant => $status,)* }
            }

            /// Parses a wire string.
            pub fn parse(code: &str) -> Option<Self> {
                match code { $($code => Some(ErrorCode::$variant),)* _ => None }
            }
        }
    };
}

error_codes! {
    /// The request is malformed: bad JSON, a missing or invalid field or header.
    MalformedRequest = "malformed_request", 400;
    /// A record envelope does not parse or does not fit the record (ids, numbers, prev hash, author).
    InvalidEnvelope = "invalid_envelope", 400;
    /// The requested expiry is not a positive time within the server's longest expiry.
    InvalidExpiry = "invalid_expiry", 400;
    /// No valid session: missing, unknown or expired bearer token.
    Unauthorized = "unauthorized", 401;
    /// Login failed: unknown email or wrong password (never says which); or a password change whose
    /// current password is wrong.
    InvalidCredentials = "invalid_credentials", 401;
    /// The share exists but the access token does not match: a wrong passphrase (or a damaged link).
    WrongPassphrase = "wrong_passphrase", 401;
    /// A recipient request's signature, key id or Content-Digest does not verify.
    InvalidSignature = "invalid_signature", 401;
    /// A signed request's `created` time is outside the accepted window; sign with the server's `Date`.
    StaleRequest = "stale_request", 401;
    /// Sign-ups are closed on this server.
    SignupsClosed = "signups_closed", 403;
    /// Sign-ups on this server need a one-time invitation code, and none was given.
    InviteRequired = "invite_required", 403;
    /// The invitation code is unknown, used, revoked or expired (never says which).
    InvalidInvite = "invalid_invite", 403;
    /// Sign-ups on this server are limited to some email domains, and this email is at another.
    EmailDomainNotAllowed = "email_domain_not_allowed", 403;
    /// The account is disabled by the server's operator: login is refused (sent only for the right
    /// password).
    AccountDisabled = "account_disabled", 403;
    /// The share's owner account is disabled by the server's operator: the share answers nothing until
    /// it is enabled again.
    ShareSuspended = "share_suspended", 403;
    /// The admin API needs `Authorization: Bearer <admin token>`; none, or a wrong one, was given.
    AdminUnauthorized = "admin_unauthorized", 401;
    /// The server's policy forbids this (one-time shares off, editable shares off).
    ForbiddenByPolicy = "forbidden_by_policy", 403;
    /// Another device opened this share first; it can never be opened here.
    ShareBoundToOtherDevice = "share_bound_to_other_device", 403;
    /// The share has not been opened (bound) yet.
    ShareNotBound = "share_not_bound", 403;
    /// The share is read-only.
    ShareNotEditable = "share_not_editable", 403;
    /// No such object (or not yours).
    NotFound = "not_found", 404;
    /// The email is already registered.
    EmailTaken = "email_taken", 409;
    /// An object with this id already exists.
    AlreadyExists = "already_exists", 409;
    /// Someone changed the record first; `current_version` says to what.
    VersionConflict = "version_conflict", 409;
    /// The record key was rotated; fetch the new key and retry.
    StaleRecordKey = "stale_record_key", 409;
    /// A key rotation must rewrap the key for exactly the record's live shares.
    ShareSetMismatch = "share_set_mismatch", 409;
    /// This signed request was already received.
    ReplayedRequest = "replayed_request", 409;
    /// The share has ended: expired, burnt after opening, or deleted.
    ShareEnded = "share_ended", 410;
    /// The client did not send its request body within the server's `body_read_timeout`.
    RequestTimeout = "request_timeout", 408;
    /// The request body is larger than allowed.
    PayloadTooLarge = "payload_too_large", 413;
    /// Too many attempts; wait `retry_after` seconds.
    TooManyAttempts = "too_many_attempts", 429;
    /// Storing these bytes would exceed the account's file quota (`account_quota_bytes`).
    QuotaExceeded = "quota_exceeded", 413;
    /// Storing these bytes would exceed what the share's recipient may upload (`share_quota_bytes`).
    ShareQuotaExceeded = "share_quota_exceeded", 413;
    /// The account already has `max_live_shares` live shares.
    ShareLimitReached = "share_limit_reached", 429;
    /// A webhook URL that is not https, not a valid URL, or names an address the server refuses.
    WebhookUrlNotAllowed = "webhook_url_not_allowed", 400;
    /// The account already has as many webhook endpoints as it may.
    WebhookLimitReached = "webhook_limit_reached", 429;
    /// The server failed; nothing secret is in the message.
    Internal = "internal", 500;
    /// The server cannot serve now (database unavailable, shutting down).
    Unavailable = "unavailable", 503;
    /// The server is at its bound of concurrent uploads or request bytes in flight; retry after
    /// `retry_after` seconds. Nothing was read or changed.
    ServerBusy = "server_busy", 503;
}

impl std::fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_round_trip_and_are_unique() {
        let mut seen = std::collections::HashSet::new();
        for code in ErrorCode::ALL {
            assert!(seen.insert(code.as_str()), "duplicate code {code}");
            assert_eq!(ErrorCode::parse(code.as_str()), Some(*code));
            assert!((400..600).contains(&code.status()));
        }
    }
}
