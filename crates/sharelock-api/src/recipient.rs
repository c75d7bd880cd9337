//! `/api/v1/recipient/*`: the link holder's side. The share is named by the `Sharelock-Share` header,
//! never in a path or query.

use crate::B64;
use crate::shares::{RequestSpec, ShareState};
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use uuid::Uuid;

/// `GET /api/v1/recipient/status` (with `Sharelock-Share` and `Sharelock-Access`).
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Status {
    pub state: ShareState,
    #[serde(with = "time::serde::rfc3339")]
    pub expires_at: OffsetDateTime,
    pub editable: bool,
    /// A device has bound the share (this one or another).
    pub bound: bool,
    #[serde(default)]
    pub burn_after_secs: Option<u64>,
    /// The share ends when its record is first fetched: it is shown once.
    #[serde(default)]
    pub view_once: bool,
    /// A request (docs/protocol.md §4.5): its number of answers and sealed instructions.
    #[serde(default)]
    pub request: Option<RequestSpec>,
    /// The sealed share preface (docs/protocol.md §4.6), if the sender made one.
    #[serde(default)]
    pub preface: Option<B64>,
    /// Opening the share sets off the record's destruction this many seconds later (docs/protocol.md §4.7).
    #[serde(default)]
    pub destroy_after_secs: Option<u64>,
}

/// `POST /api/v1/recipient/bind` (signed by the new device key).
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct BindRequest {
    /// T.
    pub access: B64,
    /// SEC1 uncompressed P-256 point.
    pub device_key: B64,
    /// HMAC(BK, share id ‖ device key).
    pub bind_tag: B64,
}

#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct BindResponse {
    #[serde(with = "time::serde::rfc3339")]
    pub expires_at: OffsetDateTime,
    pub fingerprint: String,
}

/// `GET /api/v1/recipient/share` (signed). File references are inside the sealed body; files are fetched
/// by id from `/api/v1/recipient/files/{file}`.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct ShareView {
    pub record_id: Uuid,
    pub version: u64,
    pub key_gen: u64,
    pub envelope: B64,
    /// RK for `key_gen` wrapped by SK.
    pub wrapped_key: B64,
    pub editable: bool,
    #[serde(with = "time::serde::rfc3339")]
    pub expires_at: OffsetDateTime,
    /// A view-once share: this answer ended it, and nothing more of it can be fetched.
    #[serde(default)]
    pub view_once: bool,
    /// A request (docs/protocol.md §4.5): its number of answers and sealed instructions.
    #[serde(default)]
    pub request: Option<RequestSpec>,
    /// Versions this share has written so far (a request's answers).
    #[serde(default)]
    pub edit_count: u64,
    /// The sealed share preface (docs/protocol.md §4.6), if the sender made one.
    #[serde(default)]
    pub preface: Option<B64>,
    /// When the server deletes the record itself (docs/protocol.md §4.7), if it was made to.
    #[serde(default, with = "time::serde::rfc3339::option")]
    pub destroy_at: Option<OffsetDateTime>,
}

/// `POST /api/v1/recipient/edit` (signed).
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct EditRequest {
    pub base_version: u64,
    pub envelope: B64,
    /// The device's signature over "sharelock/v1/edit" ‖ H(envelope).
    pub signature: B64,
}

/// `POST /api/v1/recipient/end` (signed): "I have it, delete it".
#[derive(Debug, Clone, Default, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct EndRequest {}
