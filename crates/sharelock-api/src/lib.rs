//! Sharelock's HTTP API as types: every request and response body, and the stable error codes.
//!
//! The server, the Rust client and the OpenAPI document are all written against these types, so a field
//! renamed here is renamed everywhere. Bytes travel as base64url without padding ([`B64`]), times as
//! RFC 3339 UTC strings, ids as UUID text.
#![forbid(unsafe_code)]

pub mod body;
mod bytes;
mod error;

pub mod account;
pub mod admin;
pub mod events;
pub mod files;
pub mod policy;
pub mod recipient;
pub mod records;
pub mod shares;
pub mod webhooks;

pub use body::{BodyError, parse_body};
pub use bytes::B64;
pub use error::{ErrorBody, ErrorCode, ErrorDetail};

/// Path prefix of every API route.
pub const API_PREFIX: &str = "/api/v1";

/// Header naming the share (b64u of the 16-byte S-derived share id) on every recipient request.
pub const SHARE_HEADER: &str = "sharelock-share";
/// Header carrying b64u(T) on the unsigned status request.
pub const ACCESS_HEADER: &str = "sharelock-access";

/// RFC 3339 (de)serialisation of `time::OffsetDateTime`, re-exported for the types here.
pub use time::serde::rfc3339;
