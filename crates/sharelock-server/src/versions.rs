//! Checks on new record versions that the server can make without keys: the envelope parses, names the
//! right record, continues the current version (`v + 1`, `prev` = H(current envelope)), uses the right key
//! generation and author, and fits the size limit. The owner's client checks the rest (docs/protocol.md §3.2).

use crate::error::{ApiError, ApiResult};
use crate::state::AppState;
use sharelock_api::ErrorCode;
use sharelock_api::records::Rotation as ApiRotation;
use sharelock_core::crypto::sha256;
use sharelock_core::envelope::{Author as EnvelopeAuthor, Envelope, Expected as CoreExpected};
use sharelock_store::{Author, NewVersion, Rotation, StoreError};
use uuid::Uuid;

/// Length of an owner tag (HMAC-SHA256).
pub const OWNER_TAG_LEN: usize = 32;
/// A wrapped 32-byte key.
pub const WRAPPED_KEY_LEN: usize = 60;

/// What a new version must continue: the record, its key generation and version, and the envelope it
/// follows (empty for a new record).
pub struct Expected<'a> {
    pub record_id: Uuid,
    pub key_gen: u64,
    pub version: u64,
    pub prev_envelope: &'a [u8],
    pub author: EnvelopeAuthor,
}

/// A new version that passed the server's checks.
pub struct Checked {
    pub envelope: Envelope,
    pub bytes: Vec<u8>,
}

fn invalid(message: impl Into<String>) -> ApiError {
    ApiError::new(ErrorCode::InvalidEnvelope, message)
}

/// Parses an envelope under the size limit, with a clear error.
pub fn parse(bytes: &[u8], max_bytes: u64) -> ApiResult<Envelope> {
    if bytes.len() as u64 > max_bytes {
        return Err(ApiError::new(
            ErrorCode::PayloadTooLarge,
            format!("the envelope exceeds {max_bytes} bytes"),
        ));
    }
    Envelope::parse(bytes).map_err(|e| invalid(format!("the envelope does not parse: {e}")))
}

/// Checks a new version against what it must continue.
pub fn check(bytes: Vec<u8>, expected: &Expected<'_>, max_bytes: u64) -> ApiResult<Checked> {
    let envelope = parse(&bytes, max_bytes)?;
    let prev = if expected.version == 1 {
        [0u8; 32]
    } else {
        sha256(expected.prev_envelope)
    };
    let want = CoreExpected {
        record_id: expected.record_id,
        k: expected.key_gen,
        v: expected.version,
        prev,
        author: expected.author,
    };
    envelope
        .check_expected(&want)
        .map_err(|e| invalid(format!("the envelope does not fit: {e}")))?;
    Ok(Checked { envelope, bytes })
}

/// A stored version from a checked envelope.
pub fn new_version(checked: Checked, proof: Vec<u8>, author: Author, now: i64) -> NewVersion {
    let header = checked.envelope.header;
    NewVersion {
        version: header.v,
        key_gen: header.k,
        summary: checked.envelope.summary,
        envelope: checked.bytes,
        proof,
        author,
        created_at: now,
    }
}

/// The 409 answers for a write based on `base_version` under `key_gen` when the record is elsewhere.
pub fn conflict(
    base_version: u64,
    key_gen: u64,
    current_version: u64,
    current_key_gen: u64,
) -> Option<ApiError> {
    if base_version != current_version {
        return Some(
            StoreError::VersionConflict {
                current_version,
                current_key_gen,
            }
            .into(),
        );
    }
    if key_gen != current_key_gen {
        return Some(
            StoreError::StaleKey {
                current_version,
                current_key_gen,
            }
            .into(),
        );
    }
    None
}

/// Validates an owner's key rotation against the record's current version.
pub async fn checked_rotation(
    state: &AppState,
    account: Uuid,
    record_id: Uuid,
    rotation: ApiRotation,
    now: i64,
) -> ApiResult<Rotation> {
    let current = state
        .store
        .record(account, record_id)
        .await?
        .ok_or_else(|| ApiError::not_found("record"))?;
    let head = &current.head;
    if let Some(e) = conflict(
        rotation.base_version,
        head.key_gen,
        head.version,
        head.key_gen,
    ) {
        return Err(e);
    }
    if rotation.proof.len() != OWNER_TAG_LEN {
        return Err(ApiError::malformed("proof must be a 32-byte owner tag"));
    }
    if rotation.wrapped_key.len() != WRAPPED_KEY_LEN
        || rotation
            .share_keys
            .iter()
            .any(|k| k.wrapped_key.len() != WRAPPED_KEY_LEN)
    {
        return Err(ApiError::malformed(
            "wrapped keys must be 60-byte sealed keys",
        ));
    }
    let expected = Expected {
        record_id,
        key_gen: head.key_gen + 1,
        version: head.version + 1,
        prev_envelope: &current.envelope,
        author: EnvelopeAuthor::Owner,
    };
    let checked = check(
        rotation.envelope.into_vec(),
        &expected,
        state.config.max_envelope_bytes,
    )?;
    Ok(Rotation {
        base_version: rotation.base_version,
        version: new_version(checked, rotation.proof.into_vec(), Author::Owner, now),
        wrapped_key: rotation.wrapped_key.into_vec(),
        share_keys: rotation
            .share_keys
            .into_iter()
            .map(|k| (k.share, k.wrapped_key.into_vec()))
            .collect(),
    })
}
