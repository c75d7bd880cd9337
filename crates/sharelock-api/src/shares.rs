//! `/api/v1/shares*` and `POST /api/v1/records/{id}/shares`: the owner's side of one-time shares.

use crate::B64;
use crate::records::Rotation;
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use uuid::Uuid;

/// A share's state.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ShareState {
    /// Live, not opened yet.
    Active,
    /// Live and bound to a device.
    Opened,
    /// Ended by time (expiry or burn after open).
    Expired,
    /// Ended by the owner, the recipient or the record's deletion.
    Deleted,
}

/// When a share expires: either a duration from now or an absolute time.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Expiry {
    /// Seconds from now (> 0).
    InSeconds(u64),
    /// An absolute time in the future.
    #[serde(with = "time::serde::rfc3339")]
    At(OffsetDateTime),
}

/// `POST /api/v1/records/{id}/shares`
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateShare {
    /// The key rotation that must precede every new share.
    pub rotation: Rotation,
    /// HKDF(S, "sharelock/v1/share-id")[0..16].
    pub share_id: B64,
    /// H(T).
    pub access_hash: B64,
    /// RK_{k+1} wrapped by SK.
    pub wrapped_key: B64,
    /// AEAD(DK, S ‖ S′).
    pub owner_secret: B64,
    /// AEAD(DK, label), optional.
    #[serde(default)]
    pub label: Option<B64>,
    pub expires: Expiry,
    #[serde(default)]
    pub editable: bool,
    /// End the share this many seconds after it is opened.
    #[serde(default)]
    pub burn_after_secs: Option<u64>,
    /// The link needs a passphrase (shown to the owner; the server cannot check it).
    #[serde(default)]
    pub passphrase: bool,
    /// End the share at its first fetch: the record is shown once (not with `editable`).
    #[serde(default)]
    pub view_once: bool,
    /// A self-destructing record (docs/protocol.md §4.7): once the share is opened, the server deletes the
    /// record itself this many seconds later, or at the share's expiry if that comes first.
    #[serde(default)]
    pub destroy_after_secs: Option<u64>,
    /// The share preface (docs/protocol.md §4.6): the sender's display name and the record type sealed
    /// under a key of the link, 284 or 540 bytes; the recipient reads it before Click to Open.
    #[serde(default)]
    pub preface: Option<B64>,
    /// Make the share a request (docs/protocol.md §4.5): editable, ended by the server after
    /// `max_answers` recipient versions.
    #[serde(default)]
    pub request: Option<RequestSpec>,
}

/// A request's facts (docs/protocol.md §4.5): how many versions its recipient may write, and the sender's
/// instructions sealed under the share key.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RequestSpec {
    /// 1 to 100.
    pub max_answers: u32,
    /// AEAD(SK, pad256(UTF-8(instructions)), AAD("share-request", share_id ‖ u32(max_answers))): 28 + 256·n
    /// bytes, 1 ≤ n ≤ 17.
    pub instructions: B64,
}

#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct ShareCreated {
    pub handle: Uuid,
    #[serde(with = "time::serde::rfc3339")]
    pub expires_at: OffsetDateTime,
    /// The record's version after the rotation.
    pub version: u64,
    pub key_gen: u64,
}

/// A share as its owner sees it.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct ShareInfo {
    pub handle: Uuid,
    /// HKDF(S, "sharelock/v1/share-id")[0..16]: the associated data of `owner_secret` and `label`, which the
    /// owner's client needs to open them (and to rewrap the record key for this share at rotation).
    pub share_id: B64,
    pub record_id: Uuid,
    pub state: ShareState,
    pub editable: bool,
    pub passphrase: bool,
    #[serde(default)]
    pub burn_after_secs: Option<u64>,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    pub expires_at: OffsetDateTime,
    #[serde(default, with = "time::serde::rfc3339::option")]
    pub opened_at: Option<OffsetDateTime>,
    /// Fingerprint of the device that opened it (docs/protocol.md §4.3).
    #[serde(default)]
    pub device_fingerprint: Option<String>,
    /// The bound device's SEC1 point and bind_tag, for the owner's client to verify.
    #[serde(default)]
    pub device_key: Option<B64>,
    #[serde(default)]
    pub bind_tag: Option<B64>,
    #[serde(default, with = "time::serde::rfc3339::option")]
    pub ended_at: Option<OffsetDateTime>,
    /// deleted | recipient_done | record_deleted | expired | viewed | answered
    #[serde(default)]
    pub end_reason: Option<String>,
    #[serde(default, with = "time::serde::rfc3339::option")]
    pub last_access_at: Option<OffsetDateTime>,
    pub edit_count: u64,
    /// Key generation the share can read.
    pub key_gen: u64,
    pub owner_secret: B64,
    #[serde(default)]
    pub label: Option<B64>,
    /// Wrong access tokens (a wrong passphrase, or a damaged link) counted since the last right one
    /// (docs/protocol.md §5.4); a right one sets it back to 0.
    #[serde(default)]
    pub failed_attempts: u64,
    /// When the last of them was counted.
    #[serde(default, with = "time::serde::rfc3339::option")]
    pub last_failed_at: Option<OffsetDateTime>,
    /// When another device holding the link was last refused because this share is bound to its device
    /// (the time of the last `device_refused` event: at most one a minute).
    #[serde(default, with = "time::serde::rfc3339::option")]
    pub refused_at: Option<OffsetDateTime>,
    /// The share ends at its first fetch (`end_reason` "viewed").
    #[serde(default)]
    pub view_once: bool,
    /// A request (docs/protocol.md §4.5); its answers so far are `edit_count`.
    #[serde(default)]
    pub request: Option<RequestSpec>,
    /// Opens: the bound device's fetches of the record, a fetch within 60 s of the last recorded access
    /// being the same open (docs/protocol.md §9.3).
    #[serde(default)]
    pub open_count: u64,
    /// Every time another device holding the link was refused.
    #[serde(default)]
    pub refused_count: u64,
    /// Every wrong access token (wrong passphrase) ever counted; `failed_attempts` restarts at a right one.
    #[serde(default)]
    pub failed_total: u64,
    /// The record destroys itself this long after the share is opened (docs/protocol.md §4.7).
    #[serde(default)]
    pub destroy_after_secs: Option<u64>,
    /// When the record is destroyed, once the share was opened.
    #[serde(default, with = "time::serde::rfc3339::option")]
    pub destroy_at: Option<OffsetDateTime>,
}

#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct ShareList {
    pub shares: Vec<ShareInfo>,
}
