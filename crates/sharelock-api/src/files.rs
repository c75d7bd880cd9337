//! File uploads, by the owner (`/api/v1/records/{id}/files/{file}`) or a recipient
//! (`/api/v1/recipient/files/{file}`): numbered parts of an encrypted stream, then a completion.

use serde::{Deserialize, Serialize};

/// Largest part of an upload.
pub const MAX_PART_BYTES: usize = 16 * 1024 * 1024;

/// `POST …/files/{file}/complete`
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CompleteFile {
    /// Number of parts uploaded (numbered 0..parts).
    pub parts: u32,
    /// Total encrypted bytes.
    pub size: u64,
}
