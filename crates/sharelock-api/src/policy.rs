//! `GET /api/v1/policy`: what this server allows, public so clients can adapt before asking.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Policy {
    /// One-time shares may be created.
    pub one_time_share: bool,
    /// Longest expiry a share may have, in seconds.
    pub max_expiry_secs: u64,
    /// Editable (bidirectional) shares may be created.
    pub editable_shares: bool,
    /// Requests (docs/protocol.md §4.5) may be created: off when the operator turned them off, or
    /// one-time or editable shares are off.
    #[serde(default)]
    pub requests: bool,
    /// New accounts may register.
    pub signups: bool,
    /// Registration needs a one-time invitation code (`invite` in the request).
    #[serde(default)]
    pub invite_required: bool,
    /// When not empty, only emails at these domains may register.
    #[serde(default)]
    pub signup_email_domains: Vec<String>,
    /// Largest record envelope in bytes.
    pub max_envelope_bytes: u64,
    /// Largest file (encrypted stream) in bytes.
    pub max_file_bytes: u64,
    /// Largest upload part in bytes.
    pub max_part_bytes: u64,
    /// File bytes one account's records may hold, recipients' uploads included (413
    /// `quota_exceeded` beyond).
    pub account_quota_bytes: u64,
    /// File bytes the recipient of one editable share may upload (413 `share_quota_exceeded` beyond).
    pub share_quota_bytes: u64,
    /// Live shares one account may have at once (429 `share_limit_reached` beyond).
    pub max_live_shares: u32,
    /// Seconds an upload may stay unfinished before the server deletes it.
    pub upload_ttl_secs: u64,
}
