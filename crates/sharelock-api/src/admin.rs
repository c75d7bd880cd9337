//! `/api/v1/admin/*`: the operator's API, guarded by the admin token (`Authorization: Bearer <token>`),
//! off unless one is configured. The same operations as `sharelock admin`. Accounts and invitations are
//! named in request bodies, never in paths.

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use uuid::Uuid;

/// Whether an account may log in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum AccountState {
    Active,
    /// Disabled by an operator: no login, no session, its shares answer `share_suspended`.
    Disabled,
}

/// One account with what it holds.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct AdminAccount {
    pub id: Uuid,
    pub email: String,
    pub state: AccountState,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    /// When its last session was created (`null`: never logged in since this was recorded).
    #[serde(with = "time::serde::rfc3339::option")]
    pub last_login_at: Option<OffsetDateTime>,
    #[serde(with = "time::serde::rfc3339::option")]
    pub disabled_at: Option<OffsetDateTime>,
    pub records: u64,
    /// Shares live now.
    pub live_shares: u64,
    /// File bytes its records hold, as the quota counts them.
    pub file_bytes: u64,
}

/// `GET /api/v1/admin/accounts`: every account, oldest first.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct AdminAccounts {
    pub accounts: Vec<AdminAccount>,
}

/// `POST /api/v1/admin/accounts/{disable,enable,delete}`: the account, by id or by email.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AccountRef {
    /// The account's id (UUID) or its email address.
    pub account: String,
}

/// The answer to a disable or an enable.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct AccountChanged {
    pub account_id: Uuid,
    pub state: AccountState,
    /// `false`: it already was in that state.
    pub changed: bool,
}

/// The answer to a deletion: what was removed. The account's file blobs are deleted by the sweeper.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct AccountDeleted {
    pub account_id: Uuid,
    pub records: u64,
    pub shares: u64,
    /// File blobs queued for deletion.
    pub blobs: u64,
}

/// `POST /api/v1/admin/invites`
#[derive(Debug, Clone, Default, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateInvite {
    /// Seconds the code stays usable (default 7 days, at most 365 days).
    #[serde(default)]
    pub expires_in_secs: Option<u64>,
    /// A note for the operator (who it is for), at most 200 characters.
    #[serde(default)]
    pub note: Option<String>,
}

/// A new invitation. `code` is shown this once: only its hash is stored.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct InviteCreated {
    pub id: Uuid,
    /// The one-time code to give to the person invited (43 base64url characters).
    pub code: String,
    #[serde(with = "time::serde::rfc3339")]
    pub expires_at: OffsetDateTime,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum InviteState {
    Unused,
    Used,
    Revoked,
    Expired,
}

/// One invitation (never its code).
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct AdminInvite {
    pub id: Uuid,
    pub state: InviteState,
    pub note: Option<String>,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    pub expires_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339::option")]
    pub used_at: Option<OffsetDateTime>,
}

/// `GET /api/v1/admin/invites`: newest first.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct AdminInvites {
    pub invites: Vec<AdminInvite>,
}

/// `POST /api/v1/admin/invites/revoke`
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct InviteRef {
    pub id: Uuid,
}

#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct InviteRevoked {
    pub id: Uuid,
    /// `false`: it was used or revoked already.
    pub revoked: bool,
}

/// `GET /api/v1/admin/config`: every setting as the server runs with it, secrets replaced by
/// `"(redacted)"` (and the password in a database URL).
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct EffectiveConfig {
    #[schema(value_type = Object)]
    pub settings: serde_json::Map<String, serde_json::Value>,
}
