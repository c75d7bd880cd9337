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
             failed_logins, last_failed_login FROM accounts WHERE ",
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
        failed_logins: row.get(9)?,
        last_failed_login: row.get(10)?,
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

pub(super) fn note_login_failure(tx: &Transaction<'_>, account: Id, now: UnixTime) -> Result<u32> {
    tx.prepare_cached(
        "UPDATE accounts SET failed_logins = failed_logins + 1, last_failed_login = ?2
         WHERE id = ?1 RETURNING failed_logins",
    )?
    .query_row(params![account, now], |row| row.get(0))
    .optional()?
    .ok_or(StoreError::NotFound)
}

pub(super) fn clear_login_failures(tx: &Transaction<'_>, account: Id) -> Result<()> {
    let changed = tx
        .prepare_cached(
            "UPDATE accounts SET failed_logins = 0, last_failed_login = NULL WHERE id = ?1",
        )?
        .execute([account])?;
    if changed == 0 {
        return Err(StoreError::NotFound);
    }
    Ok(())
}

/// An unknown account fails the foreign key: `NotFound`.
pub(super) fn create_session(tx: &Transaction<'_>, s: &NewSession) -> Result<()> {
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
                 wrapped_data_key = ?8, failed_logins = 0, last_failed_login = NULL
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
