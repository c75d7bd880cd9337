//! `/api/v1/accounts*` and `/api/v1/sessions*`.

use crate::B64;
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use uuid::Uuid;

/// Argon2id parameters (docs/protocol.md §2.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct KdfParams {
    /// Always `"argon2id"`.
    pub alg: KdfAlg,
    /// Memory in KiB.
    pub m: u32,
    /// Passes.
    pub t: u32,
    /// Lanes.
    pub p: u32,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum KdfAlg {
    Argon2id,
}

/// `POST /api/v1/accounts/prelogin`
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PreloginRequest {
    pub email: String,
}

/// The salt and parameters to derive the master key. An unknown email gets stable made-up values, so
/// the answer does not reveal whether an account exists.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct PreloginResponse {
    pub kdf: KdfParams,
    /// The account's 16 random salt bytes (r16).
    pub kdf_salt: B64,
}

/// `POST /api/v1/accounts`
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RegisterRequest {
    pub email: String,
    pub kdf: KdfParams,
    /// 16 random bytes chosen by the client.
    pub kdf_salt: B64,
    /// AK (32 bytes); the server keeps only its SHA-256.
    pub auth_key: B64,
    /// DK sealed under WK.
    pub wrapped_data_key: B64,
    /// The one-time invitation code, on a server whose policy says `invite_required`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub invite: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct RegisterResponse {
    pub account_id: Uuid,
}

/// `POST /api/v1/sessions`
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LoginRequest {
    pub email: String,
    pub auth_key: B64,
}

#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct LoginResponse {
    /// Bearer token for `Authorization: Bearer <token>`.
    pub token: String,
    #[serde(with = "time::serde::rfc3339")]
    pub expires_at: OffsetDateTime,
    pub account_id: Uuid,
    pub kdf: KdfParams,
    pub kdf_salt: B64,
    pub wrapped_data_key: B64,
}

/// `POST /api/v1/accounts/password` (bearer session): a new master password. Everything derived from the
/// password is replaced; the data key stays the same, rewrapped, so no record changes.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ChangePassword {
    /// AK of the current password (32 bytes): a session alone cannot change the password.
    pub current_auth_key: B64,
    pub kdf: KdfParams,
    /// A new r16 (16 random bytes).
    pub kdf_salt: B64,
    /// AK of the new password (32 bytes).
    pub auth_key: B64,
    /// DK sealed under the new WK, with the new r16 in its associated data.
    pub wrapped_data_key: B64,
}
