//! `/api/v1/records*`: the owner's encrypted vault.

use crate::B64;
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use uuid::Uuid;

/// Who wrote a version.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Author {
    Owner,
    /// A recipient, through the share with this handle.
    Share {
        share: Uuid,
    },
}

/// `POST /api/v1/records`: version 1 under key generation 1.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateRecord {
    /// Chosen by the client (it is bound into the envelope's associated data).
    pub id: Uuid,
    /// RK_1 wrapped by DK.
    pub wrapped_key: B64,
    pub envelope: B64,
    /// owner_tag over H(envelope).
    pub proof: B64,
}

/// One entry of `GET /api/v1/records`.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct RecordHead {
    pub id: Uuid,
    pub version: u64,
    pub key_gen: u64,
    /// RK for `key_gen`, wrapped by DK.
    pub wrapped_key: B64,
    /// The sealed summary of the current version.
    pub summary: B64,
    pub author: Author,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    pub updated_at: OffsetDateTime,
    /// A share ended since the last rotation: rotate before the next write.
    pub rotate_pending: bool,
}

/// The largest envelope `GET /api/v1/records` carries inline (docs/protocol.md §9.3): a larger current
/// version is listed with `envelope` and `proof` null, and a client fetches it with `GET /records/{id}`.
pub const LIST_ENVELOPE_BYTES: usize = 8192;

/// One entry of `GET /api/v1/records`: the head, and the current version's envelope and proof, so a client
/// can open and attribute every list line from this one answer.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct ListedRecord {
    #[serde(flatten)]
    pub head: RecordHead,
    /// The current version's envelope, if it is at most [`LIST_ENVELOPE_BYTES`]; otherwise null. Absent
    /// from servers older than this field, which a client treats as null.
    #[serde(default)]
    pub envelope: Option<B64>,
    /// The current version's proof, null exactly when `envelope` is.
    #[serde(default)]
    pub proof: Option<B64>,
}

#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct RecordList {
    pub records: Vec<ListedRecord>,
}

/// `GET /api/v1/records/{id}`
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Record {
    #[serde(flatten)]
    pub head: RecordHead,
    pub envelope: B64,
    pub proof: B64,
}

/// `PUT /api/v1/records/{id}`: a new owner version under the current key generation.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateRecord {
    pub base_version: u64,
    pub envelope: B64,
    pub proof: B64,
}

/// A new version's number, returned by writes.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct VersionWritten {
    pub version: u64,
    pub key_gen: u64,
}

/// RK_{k+1} for one live share.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ShareKey {
    pub share: Uuid,
    pub wrapped_key: B64,
}

/// `POST /api/v1/records/{id}/rotate`, and part of share creation: the current body resealed under a new
/// record key as version `base_version + 1`.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Rotation {
    pub base_version: u64,
    pub envelope: B64,
    pub proof: B64,
    /// RK_{k+1} wrapped by DK.
    pub wrapped_key: B64,
    /// RK_{k+1} for exactly the record's live shares.
    pub share_keys: Vec<ShareKey>,
}

/// One version in `GET /api/v1/records/{id}/history`.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct VersionEntry {
    pub version: u64,
    pub key_gen: u64,
    pub envelope: B64,
    pub proof: B64,
    pub author: Author,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
}

#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct KeyEntry {
    pub key_gen: u64,
    pub wrapped_key: B64,
}

#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct History {
    /// Oldest first.
    pub versions: Vec<VersionEntry>,
    /// Every key generation, wrapped by DK.
    pub keys: Vec<KeyEntry>,
}
