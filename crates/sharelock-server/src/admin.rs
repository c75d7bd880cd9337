//! The operator's operations, shared by `sharelock admin` (working on the database directly) and the
//! admin API (`/api/v1/admin/*`): list accounts with their usage, disable, enable and delete accounts,
//! create, list and revoke invitations, show the effective configuration.
//!
//! Every action is logged (target `sharelock::admin`) with what was done and how many rows it touched,
//! never an id, email, code or token: log lines follow the same rule as the rest of the server.

use crate::config::Config;
use crate::handlers::to_time;
use sharelock_api::admin::{
    AccountChanged, AccountDeleted, AccountState, AdminAccount, AdminInvite, CreateInvite,
    EffectiveConfig, InviteCreated, InviteRevoked, InviteState as ApiInviteState,
};
use sharelock_core::account::normalize_email;
use sharelock_core::crypto::{ct_eq, random_array, sha256};
use sharelock_core::encoding::{b64u, b64u_decode_array};
use sharelock_store::{Account, InviteState, NewInvite, Store, StoreError, UnixTime};
use uuid::Uuid;

/// How an action reached the server, for the log line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Via {
    Cli,
    Api,
}

impl Via {
    fn as_str(self) -> &'static str {
        match self {
            Via::Cli => "cli",
            Via::Api => "api",
        }
    }
}

/// Why an admin operation failed.
#[derive(Debug, thiserror::Error)]
pub enum AdminError {
    /// The named account or invitation does not exist.
    #[error("no such {0}")]
    NotFound(&'static str),
    /// The input is not usable; the message names what, never repeats it.
    #[error("{0}")]
    Invalid(String),
    #[error(transparent)]
    Store(#[from] StoreError),
}

pub type AdminResult<T> = Result<T, AdminError>;

/// An invitation is usable this long unless asked otherwise.
pub const DEFAULT_INVITE_SECS: u64 = 7 * 86_400;
/// The longest an invitation may be usable.
pub const MAX_INVITE_SECS: u64 = 365 * 86_400;
/// Longest note on an invitation, in characters.
pub const MAX_NOTE_CHARS: usize = 200;
/// Longest account reference (an id or an email) accepted.
const MAX_ACCOUNT_REF: usize = 254;

/// The account named by its id (UUID text) or its email.
pub async fn resolve_account(store: &dyn Store, reference: &str) -> AdminResult<Account> {
    let reference = reference.trim();
    if reference.is_empty() || reference.len() > MAX_ACCOUNT_REF {
        return Err(AdminError::Invalid(
            "name the account by its id or its email".into(),
        ));
    }
    let account = match Uuid::parse_str(reference) {
        Ok(id) => store.account_by_id(id).await?,
        Err(_) if reference.contains('@') => {
            store.account_by_email(&normalize_email(reference)).await?
        }
        Err(_) => {
            return Err(AdminError::Invalid(
                "an account is named by its id (a UUID) or its email".into(),
            ));
        }
    };
    account.ok_or(AdminError::NotFound("account"))
}

/// Every account with what it holds, oldest first.
pub async fn accounts(store: &dyn Store, now: UnixTime) -> AdminResult<Vec<AdminAccount>> {
    let usage = store.account_usage(now).await?;
    Ok(usage
        .into_iter()
        .map(|u| AdminAccount {
            id: u.id,
            email: u.email,
            state: if u.disabled_at.is_some() {
                AccountState::Disabled
            } else {
                AccountState::Active
            },
            created_at: to_time(u.created_at),
            last_login_at: u.last_login_at.map(to_time),
            disabled_at: u.disabled_at.map(to_time),
            records: u.records,
            live_shares: u.live_shares,
            file_bytes: u.file_bytes,
        })
        .collect())
}

/// Disables (`true`) or enables an account. Disabling ends its sessions at once; the caller wakes this
/// node's event streams of the account ([`crate::state::AppState::sessions_ended`]).
pub async fn set_disabled(
    store: &dyn Store,
    reference: &str,
    disable: bool,
    now: UnixTime,
    via: Via,
) -> AdminResult<AccountChanged> {
    let account = resolve_account(store, reference).await?;
    let changed = store
        .set_account_disabled(account.id, disable.then_some(now))
        .await?;
    let action = if disable {
        "account disabled"
    } else {
        "account enabled"
    };
    tracing::info!(target: "sharelock::admin", via = via.as_str(), changed, "{action}");
    Ok(AccountChanged {
        account_id: account.id,
        state: if disable {
            AccountState::Disabled
        } else {
            AccountState::Active
        },
        changed,
    })
}

/// Deletes an account and everything of it; its blobs are queued for the sweeper.
pub async fn delete(
    store: &dyn Store,
    reference: &str,
    now: UnixTime,
    via: Via,
) -> AdminResult<AccountDeleted> {
    let account = resolve_account(store, reference).await?;
    let gone = store.delete_account(account.id, now).await?;
    tracing::info!(
        target: "sharelock::admin",
        via = via.as_str(),
        records = gone.records,
        shares = gone.shares,
        blobs = gone.blobs,
        "account deleted"
    );
    Ok(AccountDeleted {
        account_id: account.id,
        records: gone.records,
        shares: gone.shares,
        blobs: gone.blobs,
    })
}

/// A new one-time invitation; its code is returned this once.
pub async fn create_invite(
    store: &dyn Store,
    request: CreateInvite,
    now: UnixTime,
    via: Via,
) -> AdminResult<InviteCreated> {
    let secs = request.expires_in_secs.unwrap_or(DEFAULT_INVITE_SECS);
    if secs == 0 || secs > MAX_INVITE_SECS {
        return Err(AdminError::Invalid(format!(
            "an invitation expires after 1 second to {} days",
            MAX_INVITE_SECS / 86_400
        )));
    }
    let note = match request.note.map(|n| n.trim().to_owned()) {
        Some(n) if n.chars().count() > MAX_NOTE_CHARS => {
            return Err(AdminError::Invalid(format!(
                "the note is longer than {MAX_NOTE_CHARS} characters"
            )));
        }
        Some(n) if n.chars().any(char::is_control) => {
            return Err(AdminError::Invalid(
                "the note must not contain control characters".into(),
            ));
        }
        Some(n) if n.is_empty() => None,
        other => other,
    };
    let bytes = new_code_bytes()?;
    let (id, secret) = split_code(&bytes);
    let expires_at = now + secs as i64;
    store
        .create_invite(NewInvite {
            id,
            code_hash: sha256(&secret),
            note,
            created_at: now,
            expires_at,
        })
        .await?;
    tracing::info!(target: "sharelock::admin", via = via.as_str(), expires_in_secs = secs, "invitation created");
    Ok(InviteCreated {
        id,
        code: b64u(&bytes),
        expires_at: to_time(expires_at),
    })
}

/// A new invitation code's bytes: the invitation's id, then its secret. The id's first bit is clear,
/// so the code's first character is a letter (`A`–`f`), never `-` or `_`: a command line would read a
/// code starting with `-` as an option (`sharelock register --invite -j…`). The id is not secret.
fn new_code_bytes() -> AdminResult<[u8; 32]> {
    let mut bytes: [u8; 32] = random_array()
        .map_err(|_| AdminError::Store(StoreError::Backend("no randomness".into())))?;
    bytes[0] &= 0x7f;
    Ok(bytes)
}

fn split_code(bytes: &[u8; 32]) -> (Uuid, [u8; 16]) {
    let mut id = [0u8; 16];
    let mut secret = [0u8; 16];
    id.copy_from_slice(&bytes[..16]);
    secret.copy_from_slice(&bytes[16..]);
    (Uuid::from_bytes(id), secret)
}

/// An invitation code as given: the invitation's id and the SHA-256 of its secret. `None` if it is not
/// the shape of a code.
pub fn parse_invite_code(code: &str) -> Option<(Uuid, [u8; 32])> {
    let code = code.trim();
    if code.len() != 43 {
        return None;
    }
    let bytes = b64u_decode_array::<32>("invitation code", code).ok()?;
    let (id, secret) = split_code(&bytes);
    Some((id, sha256(&secret)))
}

/// Whether `code_hash` is the invitation's and the invitation is usable at `now`: the hashes are
/// compared in constant time, and the comparison runs whatever the invitation's state.
pub fn invite_matches(invite: &sharelock_store::Invite, code_hash: &[u8; 32], now: i64) -> bool {
    let right = ct_eq(&invite.code_hash, code_hash);
    right & (invite.state(now) == InviteState::Unused)
}

/// Every invitation, newest first (never a code).
pub async fn invites(store: &dyn Store, now: UnixTime) -> AdminResult<Vec<AdminInvite>> {
    Ok(store
        .invites()
        .await?
        .into_iter()
        .map(|i| AdminInvite {
            id: i.id,
            state: match i.state(now) {
                InviteState::Unused => ApiInviteState::Unused,
                InviteState::Used => ApiInviteState::Used,
                InviteState::Revoked => ApiInviteState::Revoked,
                InviteState::Expired => ApiInviteState::Expired,
            },
            note: i.note,
            created_at: to_time(i.created_at),
            expires_at: to_time(i.expires_at),
            used_at: i.used_at.map(to_time),
        })
        .collect())
}

pub async fn revoke_invite(
    store: &dyn Store,
    id: Uuid,
    now: UnixTime,
    via: Via,
) -> AdminResult<InviteRevoked> {
    let revoked = match store.revoke_invite(id, now).await {
        Ok(revoked) => revoked,
        Err(StoreError::NotFound) => return Err(AdminError::NotFound("invitation")),
        Err(e) => return Err(e.into()),
    };
    tracing::info!(target: "sharelock::admin", via = via.as_str(), revoked, "invitation revoked");
    Ok(InviteRevoked { id, revoked })
}

/// Every setting as the server runs with it, secrets redacted.
pub fn effective_config(config: &Config, via: Via) -> AdminResult<EffectiveConfig> {
    let value = serde_json::to_value(config)
        .map_err(|e| AdminError::Invalid(format!("cannot show the configuration: {e}")))?;
    let serde_json::Value::Object(settings) = value else {
        return Err(AdminError::Invalid("cannot show the configuration".into()));
    };
    tracing::info!(target: "sharelock::admin", via = via.as_str(), "configuration shown");
    Ok(EffectiveConfig { settings })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn invite_codes_never_start_like_an_option() {
        // One code in 32 started with `-` or `_` before: 2,000 codes would all but surely show one.
        for _ in 0..2000 {
            let code = b64u(&new_code_bytes().unwrap());
            let first = code.chars().next().unwrap();
            assert!(first.is_ascii_alphabetic(), "{code}");
            assert!(parse_invite_code(&code).is_some());
        }
    }

    #[test]
    fn invite_codes_parse_and_match() {
        let bytes = [7u8; 32];
        let code = b64u(&bytes);
        let (id, hash) = parse_invite_code(&code).unwrap();
        assert_eq!(id, Uuid::from_bytes([7u8; 16]));
        assert_eq!(hash, sha256(&[7u8; 16]));
        assert!(parse_invite_code(&code[..42]).is_none());
        assert!(parse_invite_code("not a code").is_none());
        assert!(parse_invite_code(&format!("{code}A")).is_none());
        let invite = sharelock_store::Invite {
            id,
            code_hash: hash,
            note: None,
            created_at: 0,
            expires_at: 100,
            used_at: None,
            used_by: None,
            revoked_at: None,
        };
        assert!(invite_matches(&invite, &hash, 50));
        assert!(!invite_matches(&invite, &hash, 100), "expired");
        assert!(!invite_matches(&invite, &sha256(b"other"), 50));
        let used = sharelock_store::Invite {
            used_at: Some(10),
            ..invite
        };
        assert!(!invite_matches(&used, &hash, 50));
    }
}
