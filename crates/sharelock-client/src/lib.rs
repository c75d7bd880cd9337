//! The Sharelock client: the sender's end-to-end encrypted vault and the recipient's device-locked share,
//! over HTTP, speaking the protocol of `docs/protocol.md` with the core crate's keys and formats.
//!
//! - Owner: [`register`] / [`login`] give an [`OwnerSession`] (the unlocked vault: it holds the data key),
//!   which creates, reads, edits, deletes and rotates records, creates and ends shares, and follows the
//!   owner's live [`OwnerSession::events`].
//! - Recipient: [`Recipient::open`] binds this device to a link on first use and reads (and, for an
//!   editable share, edits) the record; device keys live in a [`DeviceStore`].
//!
//! Nothing secret ever leaves the client unencrypted except the login proof AK and the share access token T,
//! which the server stores only hashed. No error message carries key material or plaintext.
#![forbid(unsafe_code)]

mod error;
pub mod export;
mod files;
mod http;
mod recipient;
mod records;
mod session;
mod shares;
mod versions;
mod webhooks;

pub use error::{ClientError, Result};
pub use files::{NoProgress, Progress, guess_mime, safe_file_name};
pub use http::{MAX_CLOCK_DRIFT_SECS, Transport, normalize_base};
pub use recipient::{
    DeviceStore, FileDeviceStore, MemoryDeviceStore, Preview, Recipient, RequestAsked, SeenVersion,
    create_private_dir, share_preview, share_status, write_private_file,
};
pub use records::{CreateOutcome, HistoryEntry, RecordListEntry, RecordView, Verification};
pub use session::{OwnerSession, login, register, register_invited};
pub use shares::{
    CreatedRequest, CreatedShare, PreparedRequest, PreparedShare, RequestEntry, RequestOptions,
    ShareEntry, ShareOptions,
};
pub use versions::VersionMemory;

pub use sharelock_api as api;
pub use sharelock_core as core;

/// A copy of a record body (bodies hold file keys, so they are not `Clone`): encoded and decoded again,
/// which also validates it.
pub fn clone_body(
    body: &sharelock_core::record::RecordBody,
) -> Result<sharelock_core::record::RecordBody> {
    let json = zeroize::Zeroizing::new(body.to_json().map_err(ClientError::record)?);
    sharelock_core::record::RecordBody::from_json(&json).map_err(ClientError::record)
}
