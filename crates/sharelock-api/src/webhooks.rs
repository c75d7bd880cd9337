//! `/api/v1/webhooks*`: an account's signed webhook endpoints and their deliveries, and the body every
//! delivery carries (docs/protocol.md §9.9).

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use uuid::Uuid;

/// Longest endpoint URL, in bytes.
pub const MAX_URL_BYTES: usize = 2048;
/// Most kinds one endpoint may subscribe to.
pub const MAX_KINDS: usize = 32;
/// Most deliveries one listing returns.
pub const MAX_DELIVERIES: u32 = 100;

/// `POST /api/v1/webhooks`
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateWebhook {
    /// Where deliveries are POSTed: `https://…` (plain `http://` only to a loopback address, and only
    /// where the operator allows it). At most 2048 bytes, no credentials, no fragment.
    pub url: String,
    /// The event kinds to deliver (`share_opened`, `record_edited`, `share_ended`, `access_failures`,
    /// `device_refused`, `file_added`, `record_destroyed`, and any kind the server's events gain later), at
    /// least one.
    pub kinds: Vec<String>,
}

/// An endpoint as listed (never with its secret).
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct WebhookInfo {
    pub id: Uuid,
    pub url: String,
    /// Sorted.
    pub kinds: Vec<String>,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
}

/// `201` to `POST /api/v1/webhooks`: the endpoint and its signing secret, shown this once.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct WebhookCreated {
    pub webhook: WebhookInfo,
    /// `whsec_…`: the HMAC-SHA256 key of every delivery's signature (its UTF-8 bytes). The server
    /// never shows it again.
    pub secret: String,
}

/// `GET /api/v1/webhooks`
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct WebhookList {
    pub webhooks: Vec<WebhookInfo>,
}

/// `202` to `POST /api/v1/webhooks/{id}/ping`: the queued ping's delivery.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct PingQueued {
    pub delivery: i64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum DeliveryState {
    /// Waiting for its next attempt, or being attempted.
    Pending,
    /// An attempt was answered with a 2xx status.
    Delivered,
    /// Every attempt failed.
    Failed,
}

/// One attempt at a delivery.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct AttemptInfo {
    /// 1 for the first attempt.
    pub n: u32,
    #[serde(with = "time::serde::rfc3339")]
    pub started_at: OffsetDateTime,
    /// None: still running, or the node making it stopped (another attempt follows).
    #[serde(default, with = "time::serde::rfc3339::option")]
    pub finished_at: Option<OffsetDateTime>,
    /// The receiver's HTTP status.
    #[serde(default)]
    pub status: Option<u16>,
    /// Why no acceptable status came: `timeout`, `connect`, `tls`, `refused_address`, `dns`,
    /// `redirect`, `request`.
    #[serde(default)]
    pub error: Option<String>,
    /// When the next attempt was planned, after this one failed.
    #[serde(default, with = "time::serde::rfc3339::option")]
    pub next_attempt_at: Option<OffsetDateTime>,
}

/// One event (or ping) for one endpoint.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct DeliveryInfo {
    /// The `Sharelock-Webhook-Id` of its every attempt.
    pub id: i64,
    /// None for a ping.
    #[serde(default)]
    pub event_id: Option<i64>,
    pub kind: String,
    #[serde(default)]
    pub share: Option<Uuid>,
    #[serde(default)]
    pub record: Option<Uuid>,
    #[serde(with = "time::serde::rfc3339")]
    pub at: OffsetDateTime,
    pub state: DeliveryState,
    /// Attempts begun.
    pub attempts: u32,
    /// A pending delivery's next attempt (or the end of the running attempt's lease).
    #[serde(default, with = "time::serde::rfc3339::option")]
    pub next_attempt_at: Option<OffsetDateTime>,
    #[serde(default, with = "time::serde::rfc3339::option")]
    pub finished_at: Option<OffsetDateTime>,
    /// Oldest first.
    pub log: Vec<AttemptInfo>,
}

/// `GET /api/v1/webhooks/{id}/deliveries`: newest first.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct DeliveryList {
    pub deliveries: Vec<DeliveryInfo>,
}

/// The JSON body of every delivery: what happened, never what a record holds. No record content, no
/// title, no link, no share id (S-derived), no device key: ids the owner's vault already knows.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct WebhookPayload {
    /// The delivery's id, as in `Sharelock-Webhook-Id`.
    pub id: i64,
    /// The event kind, or `ping`.
    pub kind: String,
    /// The event's id (as in the event stream); None for a ping.
    pub event_id: Option<i64>,
    /// When it happened.
    #[serde(with = "time::serde::rfc3339")]
    pub at: OffsetDateTime,
    pub account: Uuid,
    /// The share's handle (as in `GET /api/v1/shares`).
    pub share: Option<Uuid>,
    pub record: Option<Uuid>,
    /// The new version for `record_edited`; the failure count for `access_failures`.
    pub number: Option<i64>,
}
