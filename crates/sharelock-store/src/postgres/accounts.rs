//! Accounts, login failure counts and sessions.

use sqlx::postgres::PgRow;
use sqlx::{PgConnection, Row};

use super::listen::CHANNEL;
use super::rows::{fixed, unsigned};
use crate::model::*;
use crate::{Result, StoreError};

pub(super) async fn create(conn: &mut PgConnection, a: &NewAccount) -> Result<()> {
    sqlx::query(
        "INSERT INTO accounts (id, email, kdf_m, kdf_t, kdf_p, kdf_salt, auth_hash, wrapped_data_key, created_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
    )
    .bind(a.id)
    .bind(&a.email)
    .bind(i64::from(a.kdf.m))
    .bind(i64::from(a.kdf.t))
    .bind(i64::from(a.kdf.p))
    .bind(&a.kdf_salt)
    .bind(&a.auth_hash[..])
    .bind(&a.wrapped_data_key)
    .bind(a.created_at)
    .execute(&mut *conn)
    .await?;
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

fn account_from_row(row: &PgRow) -> Result<Account> {
    Ok(Account {
        id: row.try_get(0)?,
        email: row.try_get(1)?,
        kdf: KdfParams {
            m: unsigned(row, 2)?,
            t: unsigned(row, 3)?,
            p: unsigned(row, 4)?,
        },
        kdf_salt: row.try_get(5)?,
        auth_hash: fixed(row, 6)?,
        wrapped_data_key: row.try_get(7)?,
        created_at: row.try_get(8)?,
        disabled_at: row.try_get(9)?,
    })
}

pub(super) async fn by_email(conn: &mut PgConnection, email: &str) -> Result<Option<Account>> {
    sqlx::query(account_select!("email = $1"))
        .bind(email)
        .fetch_optional(&mut *conn)
        .await?
        .as_ref()
        .map(account_from_row)
        .transpose()
}

pub(super) async fn by_id(conn: &mut PgConnection, id: Id) -> Result<Option<Account>> {
    sqlx::query(account_select!("id = $1"))
        .bind(id)
        .fetch_optional(&mut *conn)
        .await?
        .as_ref()
        .map(account_from_row)
        .transpose()
}

/// The conditional count of docs/protocol.md §7.1 in one statement: a new key starts at 1 (racing first
/// attempts meet the primary key, and all but one take the conflict path); a known one counts up only if
/// the schedule allows an attempt now, judged on the row as the last committed writer left it (the
/// row lock orders racing attempts, and each re-checks the condition after waiting). No row back means
/// refused.
pub(super) async fn reserve_login_attempt(
    conn: &mut PgConnection,
    key: &[u8; 32],
    now: UnixTime,
) -> Result<Option<u32>> {
    let b = Backoff::LOGIN;
    let granted: Option<i64> = sqlx::query_scalar(
        "INSERT INTO login_attempts (key, attempts, last_at) VALUES ($1, 1, $2)
         ON CONFLICT (key) DO UPDATE
             SET attempts = login_attempts.attempts + 1, last_at = $2
             WHERE login_attempts.attempts < $3
                OR login_attempts.last_at
                   + LEAST($4::bigint << LEAST(login_attempts.attempts - $3, $6)::int, $5) <= $2
         RETURNING attempts",
    )
    .bind(&key[..])
    .bind(now)
    .bind(i64::from(b.free))
    .bind(b.unit_secs)
    .bind(b.max_secs)
    .bind(i64::from(Backoff::MAX_SHIFT))
    .fetch_optional(&mut *conn)
    .await?;
    granted
        .map(|n| u32::try_from(n).map_err(|_| StoreError::Backend("attempts out of range".into())))
        .transpose()
}

/// The count and last attempt for `key`, if any.
pub(super) async fn login_attempts(
    conn: &mut PgConnection,
    key: &[u8; 32],
) -> Result<Option<(u32, UnixTime)>> {
    let row = sqlx::query("SELECT attempts, last_at FROM login_attempts WHERE key = $1")
        .bind(&key[..])
        .fetch_optional(&mut *conn)
        .await?;
    row.map(|row| Ok((unsigned(&row, 0)?, row.try_get(1)?)))
        .transpose()
}

pub(super) async fn clear_login_attempts(conn: &mut PgConnection, key: &[u8; 32]) -> Result<()> {
    sqlx::query("DELETE FROM login_attempts WHERE key = $1")
        .bind(&key[..])
        .execute(&mut *conn)
        .await?;
    Ok(())
}

/// In the caller's transaction: notes the login on the account while it is enabled (the update holds
/// the account's row lock until commit, and a disable racing it waits, then deletes this session; a
/// disable that committed first makes the update match nothing), then inserts the session.
/// `AccountDisabled` or `NotFound` when the account cannot log in.
pub(super) async fn create_session(conn: &mut PgConnection, s: &NewSession) -> Result<()> {
    let enabled =
        sqlx::query("UPDATE accounts SET last_login_at = $2 WHERE id = $1 AND disabled_at IS NULL")
            .bind(s.account_id)
            .bind(s.created_at)
            .execute(&mut *conn)
            .await?
            .rows_affected();
    if enabled == 0 {
        return match by_id(conn, s.account_id).await? {
            Some(_) => Err(StoreError::AccountDisabled),
            None => Err(StoreError::NotFound),
        };
    }
    sqlx::query(
        "INSERT INTO sessions (token_hash, account_id, created_at, expires_at) VALUES ($1, $2, $3, $4)",
    )
    .bind(&s.token_hash[..])
    .bind(s.account_id)
    .bind(s.created_at)
    .bind(s.expires_at)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

pub(super) async fn session(
    conn: &mut PgConnection,
    token_hash: &[u8; 32],
    now: UnixTime,
) -> Result<Option<Session>> {
    sqlx::query(
        "SELECT account_id, created_at, expires_at FROM sessions WHERE token_hash = $1 AND expires_at > $2",
    )
    .bind(&token_hash[..])
    .bind(now)
    .fetch_optional(&mut *conn)
    .await?
    .map(|row| {
        Ok(Session {
            account_id: row.try_get(0)?,
            created_at: row.try_get(1)?,
            expires_at: row.try_get(2)?,
        })
    })
    .transpose()
}

/// Ending a session wakes its account's event streams on every node (`NOTIFY`, delivered at commit),
/// so a stream of the ended session sees it gone and ends at once wherever it is attached.
pub(super) async fn delete_session(conn: &mut PgConnection, token_hash: &[u8; 32]) -> Result<()> {
    sqlx::query(
        "WITH gone AS (DELETE FROM sessions WHERE token_hash = $1 RETURNING account_id)
         SELECT pg_notify($2, account_id::text) FROM gone",
    )
    .bind(&token_hash[..])
    .bind(CHANNEL)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

pub(super) async fn delete_sessions(conn: &mut PgConnection, account: Id) -> Result<()> {
    sqlx::query(
        "WITH gone AS (DELETE FROM sessions WHERE account_id = $1)
         SELECT pg_notify($2, $1::text)",
    )
    .bind(account)
    .bind(CHANNEL)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// Replaces the password-derived columns while the auth hash is still `expected`, then ends every
/// session, in the caller's transaction. The conditional update holds the account row until commit,
/// so of two racing changes the second re-checks against the first's new hash and changes nothing.
/// On zero rows, tells a stale hash (`false`) from an unknown account.
pub(super) async fn change_credentials(
    conn: &mut PgConnection,
    account: Id,
    expected: &[u8; 32],
    new: &NewCredentials,
) -> Result<bool> {
    let changed = sqlx::query(
        "UPDATE accounts SET kdf_m = $3, kdf_t = $4, kdf_p = $5, kdf_salt = $6, auth_hash = $7,
             wrapped_data_key = $8
         WHERE id = $1 AND auth_hash = $2",
    )
    .bind(account)
    .bind(&expected[..])
    .bind(i64::from(new.kdf.m))
    .bind(i64::from(new.kdf.t))
    .bind(i64::from(new.kdf.p))
    .bind(&new.kdf_salt)
    .bind(&new.auth_hash[..])
    .bind(&new.wrapped_data_key)
    .execute(&mut *conn)
    .await?
    .rows_affected();
    if changed == 0 {
        return match by_id(conn, account).await? {
            Some(_) => Ok(false),
            None => Err(StoreError::NotFound),
        };
    }
    delete_sessions(conn, account).await?;
    Ok(true)
}
