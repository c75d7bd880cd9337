//! Accounts, login failure counts and sessions.

use rusqlite::{Connection, OptionalExtension, Row, Transaction, params};

use crate::model::*;
use crate::{Result, StoreError};

pub(super) fn create(tx: &Transaction<'_>, a: &NewAccount) -> Result<()> {
    tx.prepare_cached(
        "INSERT INTO accounts (id, email, kdf_m, kdf_t, kdf_p, kdf_salt, auth_hash, wrapped_data_key, created_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
    )?
    .execute(params![
        a.id,
        a.email,
        a.kdf.m,
        a.kdf.t,
        a.kdf.p,
        a.kdf_salt,
        a.auth_hash,
        a.wrapped_data_key,
        a.created_at
    ])?;
    Ok(())
}

macro_rules! account_select {
    ($where:literal) => {
        concat!(
            "SELECT id, email, kdf_m, kdf_t, kdf_p, kdf_salt, auth_hash, wrapped_data_key, created_at, \
             disabled_at FROM accounts WHERE ",
            $where
        )
    };
}

fn account_from_row(row: &Row<'_>) -> rusqlite::Result<Account> {
    Ok(Account {
        id: row.get(0)?,
        email: row.get(1)?,
        kdf: KdfParams {
            m: row.get(2)?,
            t: row.get(3)?,
            p: row.get(4)?,
        },
        kdf_salt: row.get(5)?,
        auth_hash: row.get(6)?,
        wrapped_data_key: row.get(7)?,
        created_at: row.get(8)?,
        disabled_at: row.get(9)?,
    })
}

pub(super) fn by_email(conn: &Connection, email: &str) -> Result<Option<Account>> {
    let account = conn
        .prepare_cached(account_select!("email = ?1"))?
        .query_row([email], account_from_row)
        .optional()?;
    Ok(account)
}

pub(super) fn by_id(conn: &Connection, id: Id) -> Result<Option<Account>> {
    let account = conn
        .prepare_cached(account_select!("id = ?1"))?
        .query_row([id], account_from_row)
        .optional()?;
    Ok(account)
}

/// The conditional count of docs/protocol.md §7.1: a new key starts at 1; a known one counts up only if
/// the schedule allows an attempt now. No row back means refused; the caller is the writer, so the
/// re-read that tells how long to wait sees the row the statement judged.
pub(super) fn reserve_login_attempt(
    tx: &Transaction<'_>,
    key: &[u8; 32],
    now: UnixTime,
) -> Result<Attempt> {
    let b = Backoff::LOGIN;
    let granted: Option<u32> = tx
        .prepare_cached(
            "INSERT INTO login_attempts (key, attempts, last_at) VALUES (?1, 1, ?2)
             ON CONFLICT (key) DO UPDATE
                 SET attempts = login_attempts.attempts + 1, last_at = ?2
                 WHERE login_attempts.attempts < ?3
                    OR login_attempts.last_at
                       + min(?4 << min(login_attempts.attempts - ?3, ?6), ?5) <= ?2
             RETURNING attempts",
        )?
        .query_row(
            params![
                key,
                now,
                b.free,
                b.unit_secs,
                b.max_secs,
                Backoff::MAX_SHIFT
            ],
            |row| row.get(0),
        )
        .optional()?;
    if let Some(n) = granted {
        return Ok(Attempt::Granted { n });
    }
    let (attempts, last): (u32, UnixTime) = tx
        .prepare_cached("SELECT attempts, last_at FROM login_attempts WHERE key = ?1")?
        .query_row([key], |row| Ok((row.get(0)?, row.get(1)?)))?;
    Ok(Attempt::Wait {
        retry_after: b.retry_after(attempts, Some(last), now).unwrap_or(1),
    })
}

pub(super) fn clear_login_attempts(tx: &Transaction<'_>, key: &[u8; 32]) -> Result<()> {
    tx.prepare_cached("DELETE FROM login_attempts WHERE key = ?1")?
        .execute([key])?;
    Ok(())
}

/// Notes the login on the account while it is enabled, then inserts the session (the single writer
/// orders this against a disable). `AccountDisabled` or `NotFound` when the account cannot log in.
pub(super) fn create_session(tx: &Transaction<'_>, s: &NewSession) -> Result<()> {
    let enabled = tx
        .prepare_cached(
            "UPDATE accounts SET last_login_at = ?2 WHERE id = ?1 AND disabled_at IS NULL",
        )?
        .execute(params![s.account_id, s.created_at])?;
    if enabled == 0 {
        return match by_id(tx, s.account_id)? {
            Some(_) => Err(StoreError::AccountDisabled),
            None => Err(StoreError::NotFound),
        };
    }
    tx.prepare_cached(
        "INSERT INTO sessions (token_hash, account_id, created_at, expires_at) VALUES (?1, ?2, ?3, ?4)",
    )?
    .execute(params![s.token_hash, s.account_id, s.created_at, s.expires_at])?;
    Ok(())
}

pub(super) fn session(
    conn: &Connection,
    token_hash: &[u8; 32],
    now: UnixTime,
) -> Result<Option<Session>> {
    let session = conn
        .prepare_cached(
            "SELECT account_id, created_at, expires_at FROM sessions WHERE token_hash = ?1 AND expires_at > ?2",
        )?
        .query_row(params![token_hash, now], |row| {
            Ok(Session {
                account_id: row.get(0)?,
                created_at: row.get(1)?,
                expires_at: row.get(2)?,
            })
        })
        .optional()?;
    Ok(session)
}

pub(super) fn delete_session(tx: &Transaction<'_>, token_hash: &[u8; 32]) -> Result<()> {
    tx.prepare_cached("DELETE FROM sessions WHERE token_hash = ?1")?
        .execute([token_hash])?;
    Ok(())
}

pub(super) fn delete_sessions(tx: &Transaction<'_>, account: Id) -> Result<()> {
    tx.prepare_cached("DELETE FROM sessions WHERE account_id = ?1")?
        .execute([account])?;
    Ok(())
}

/// Replaces the password-derived columns while the auth hash is still `expected`, then ends every
/// session; on zero rows, tells a stale hash (`false`) from an unknown account.
pub(super) fn change_credentials(
    tx: &Transaction<'_>,
    account: Id,
    expected: &[u8; 32],
    new: &NewCredentials,
) -> Result<bool> {
    let changed = tx
        .prepare_cached(
            "UPDATE accounts SET kdf_m = ?3, kdf_t = ?4, kdf_p = ?5, kdf_salt = ?6, auth_hash = ?7,
                 wrapped_data_key = ?8
             WHERE id = ?1 AND auth_hash = ?2",
        )?
        .execute(params![
            account,
            expected,
            new.kdf.m,
            new.kdf.t,
            new.kdf.p,
            new.kdf_salt,
            new.auth_hash,
            new.wrapped_data_key
        ])?;
    if changed == 0 {
        return match by_id(tx, account)? {
            Some(_) => Ok(false),
            None => Err(StoreError::NotFound),
        };
    }
    delete_sessions(tx, account)?;
    Ok(true)
}
