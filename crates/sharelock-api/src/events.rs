//! `GET /api/v1/events`: the owner's live events as server-sent events (fetch streaming with the
//! `Authorization` header; each event's SSE `id` resumes with `Last-Event-ID`).

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use uuid::Uuid;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum EventKind {
    ShareOpened,
    RecordEdited,
    ShareEnded,
    AccessFailures,
    /// A second device with the link was refused: another device holds the share.
    DeviceRefused,
    /// A file was added to the record (by the owner, or by the recipient of `share`).
    FileAdded,
    /// A self-destructing record was deleted by the server (docs/protocol.md §4.7); `share` is the share
    /// whose opening set it off.
    RecordDestroyed,
}

/// The SSE `data` of one event; the SSE `event` field carries `kind` too.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Event {
    pub id: i64,
    pub kind: EventKind,
    #[serde(default)]
    pub share: Option<Uuid>,
    #[serde(default)]
    pub record: Option<Uuid>,
    /// The new version for `record_edited`; the failure count for `access_failures`.
    #[serde(default)]
    pub number: Option<i64>,
    #[serde(with = "time::serde::rfc3339")]
    pub at: OffsetDateTime,
}
