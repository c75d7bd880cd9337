//! Administration: accounts with their usage, disabling and deleting accounts, invitations.

use sqlx::postgres::PgRow;
use sqlx::{PgConnection, Row};

use super::accounts;
use super::rows::{fixed, unsigned};
use crate::model::*;
use crate::{Result, StoreError};

pub(super) async fn account_usage(
    conn: &mut PgConnection,
    now: UnixTime,
) -> Result<Vec<AccountUsage>> {
    sqlx::query(
        "SELECT a.id, a.email, a.created_at, a.last_login_at, a.disabled_at,
             (SELECT count(*) FROM records r WHERE r.account_id = a.id),
             (SELECT count(*) FROM shares s
              WHERE s.account_id = a.id AND s.ended_at IS NULL AND s.expires_at > $1),
             (SELECT COALESCE(SUM(p.size), 0)::bigint FROM records r
              JOIN file_parts p ON p.record_id = r.id WHERE r.account_id = a.id)
         FROM accounts a ORDER BY a.created_at, a.email",
    )
    .bind(now)
    .fetch_all(&mut *conn)
    .await?
    .iter()
    .map(|row| {
        Ok(AccountUsage {
            id: row.try_get(0)?,
            email: row.try_get(1)?,
            created_at: row.try_get(2)?,
            last_login_at: row.try_get(3)?,
            disabled_at: row.try_get(4)?,
            records: unsigned(row, 5)?,
            live_shares: unsigned(row, 6)?,
            file_bytes: unsigned(row, 7)?,
        })
    })
    .collect()
}

/// In the caller's transaction. The update locks the account row, so a login racing it either
/// committed its session first (deleted here) or finds the account disabled.
pub(super) async fn set_disabled(
    conn: &mut PgConnection,
    account: Id,
    disabled: Option<UnixTime>,
) -> Result<bool> {
    let changed = sqlx::query(
        "UPDATE accounts SET disabled_at = $2
         WHERE id = $1 AND (($2::bigint IS NULL) <> (disabled_at IS NULL))",
    )
    .bind(account)
    .bind(disabled)
    .execute(&mut *conn)
    .await?
    .rows_affected();
    if changed == 0 {
        return match accounts::by_id(conn, account).await? {
            Some(_) => Ok(false),
            None => Err(StoreError::NotFound),
        };
    }
    if disabled.is_some() {
        // Also wakes every node's event streams of the account, which then end.
        accounts::delete_sessions(conn, account).await?;
    }
    Ok(true)
}

/// In the caller's transaction, taking locks in the order every other writer does: the account's
/// records, their files, then the account row; the rest goes by cascade.
pub(super) async fn delete_account(
    conn: &mut PgConnection,
    account: Id,
    now: UnixTime,
) -> Result<AccountDeletion> {
    let records: Vec<Id> =
        sqlx::query_scalar("SELECT id FROM records WHERE account_id = $1 ORDER BY id FOR UPDATE")
            .bind(account)
            .fetch_all(&mut *conn)
            .await?;
    sqlx::query(
        "SELECT 1 FROM files f JOIN records r ON r.id = f.record_id WHERE r.account_id = $1
         ORDER BY f.record_id, f.file_id FOR UPDATE OF f",
    )
    .bind(account)
    .execute(&mut *conn)
    .await?;
    let exists: Option<i32> = sqlx::query_scalar("SELECT 1 FROM accounts WHERE id = $1 FOR UPDATE")
        .bind(account)
        .fetch_optional(&mut *conn)
        .await?;
    if exists.is_none() {
        return Err(StoreError::NotFound);
    }
    let shares: i64 = sqlx::query_scalar("SELECT count(*) FROM shares WHERE account_id = $1")
        .bind(account)
        .fetch_one(&mut *conn)
        .await?;
    let blobs = sqlx::query(
        "INSERT INTO blob_garbage (record_id, file_id, write_id, part, since)
         SELECT p.record_id, p.file_id, p.write_id, p.part, $2
         FROM records r JOIN file_parts p ON p.record_id = r.id
         WHERE r.account_id = $1
         ON CONFLICT DO NOTHING",
    )
    .bind(account)
    .bind(now)
    .execute(&mut *conn)
    .await?
    .rows_affected();
    accounts::delete_sessions(conn, account).await?;
    for sql in [
        "DELETE FROM nonces WHERE share_id IN (SELECT share_id FROM shares WHERE account_id = $1)",
        "DELETE FROM events WHERE account_id = $1",
        "UPDATE invites SET used_by = NULL WHERE used_by = $1",
        // Cascades to records (versions, record keys, files, part writes) and shares.
        "DELETE FROM accounts WHERE id = $1",
    ] {
        sqlx::query(sql).bind(account).execute(&mut *conn).await?;
    }
    Ok(AccountDeletion {
        records: records.len() as u64,
        shares: u64::try_from(shares).unwrap_or(0),
        blobs,
    })
}

pub(super) async fn create_invite(conn: &mut PgConnection, invite: &NewInvite) -> Result<()> {
    sqlx::query(
        "INSERT INTO invites (id, code_hash, note, created_at, expires_at) VALUES ($1, $2, $3, $4, $5)",
    )
    .bind(invite.id)
    .bind(&invite.code_hash[..])
    .bind(&invite.note)
    .bind(invite.created_at)
    .bind(invite.expires_at)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

macro_rules! invite_select {
    ($rest:literal) => {
        concat!(
            "SELECT id, code_hash, note, created_at, expires_at, used_at, used_by, revoked_at \
             FROM invites ",
            $rest
        )
    };
}

fn invite_from_row(row: &PgRow) -> Result<Invite> {
    Ok(Invite {
        id: row.try_get(0)?,
        code_hash: fixed(row, 1)?,
        note: row.try_get(2)?,
        created_at: row.try_get(3)?,
        expires_at: row.try_get(4)?,
        used_at: row.try_get(5)?,
        used_by: row.try_get(6)?,
        revoked_at: row.try_get(7)?,
    })
}

pub(super) async fn invites(conn: &mut PgConnection) -> Result<Vec<Invite>> {
    sqlx::query(invite_select!("ORDER BY created_at DESC, id"))
        .fetch_all(&mut *conn)
        .await?
        .iter()
        .map(invite_from_row)
        .collect()
}

pub(super) async fn invite(conn: &mut PgConnection, id: Id) -> Result<Option<Invite>> {
    sqlx::query(invite_select!("WHERE id = $1"))
        .bind(id)
        .fetch_optional(&mut *conn)
        .await?
        .as_ref()
        .map(invite_from_row)
        .transpose()
}

pub(super) async fn revoke_invite(conn: &mut PgConnection, id: Id, now: UnixTime) -> Result<bool> {
    let changed = sqlx::query(
        "UPDATE invites SET revoked_at = $2
         WHERE id = $1 AND used_at IS NULL AND revoked_at IS NULL",
    )
    .bind(id)
    .bind(now)
    .execute(&mut *conn)
    .await?
    .rows_affected();
    if changed == 0 && invite(conn, id).await?.is_none() {
        return Err(StoreError::NotFound);
    }
    Ok(changed == 1)
}

/// In the caller's transaction: the conditional update uses the invitation up (a racing use waits for
/// the row, then re-checks `used_at` and matches nothing), then the account is inserted; the
/// transaction rolls both back if the email is taken.
pub(super) async fn create_account_invited(
    conn: &mut PgConnection,
    account: &NewAccount,
    invite: Id,
    code_hash: &[u8; 32],
) -> Result<()> {
    let used = sqlx::query(
        "UPDATE invites SET used_at = $3, used_by = $4
         WHERE id = $1 AND code_hash = $2 AND used_at IS NULL AND revoked_at IS NULL
           AND expires_at > $3",
    )
    .bind(invite)
    .bind(&code_hash[..])
    .bind(account.created_at)
    .bind(account.id)
    .execute(&mut *conn)
    .await?
    .rows_affected();
    if used == 0 {
        return Err(StoreError::NotFound);
    }
    accounts::create(conn, account).await
}
