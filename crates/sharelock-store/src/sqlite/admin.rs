//! Administration: accounts with their usage, disabling and deleting accounts, invitations.

use rusqlite::{Connection, OptionalExtension, Row, Transaction, params};

use super::accounts;
use crate::model::*;
use crate::{Result, StoreError};

pub(super) fn account_usage(conn: &Connection, now: UnixTime) -> Result<Vec<AccountUsage>> {
    let rows = conn
        .prepare_cached(
            "SELECT a.id, a.email, a.created_at, a.last_login_at, a.disabled_at,
                 (SELECT count(*) FROM records r WHERE r.account_id = a.id),
                 (SELECT count(*) FROM shares s
                  WHERE s.account_id = a.id AND s.ended_at IS NULL AND s.expires_at > ?1),
                 (SELECT COALESCE(SUM(p.size), 0) FROM records r JOIN file_parts p ON p.record_id = r.id
                  WHERE r.account_id = a.id)
             FROM accounts a ORDER BY a.created_at, a.email",
        )?
        .query_map([now], |row| {
            Ok(AccountUsage {
                id: row.get(0)?,
                email: row.get(1)?,
                created_at: row.get(2)?,
                last_login_at: row.get(3)?,
                disabled_at: row.get(4)?,
                records: row.get(5)?,
                live_shares: row.get(6)?,
                file_bytes: row.get(7)?,
            })
        })?
        .collect::<rusqlite::Result<_>>()?;
    Ok(rows)
}

pub(super) fn set_disabled(
    tx: &Transaction<'_>,
    account: Id,
    disabled: Option<UnixTime>,
) -> Result<bool> {
    let changed = tx
        .prepare_cached(
            "UPDATE accounts SET disabled_at = ?2
             WHERE id = ?1 AND ((?2 IS NULL) <> (disabled_at IS NULL))",
        )?
        .execute(params![account, disabled])?;
    if changed == 0 {
        return match accounts::by_id(tx, account)? {
            Some(_) => Ok(false),
            None => Err(StoreError::NotFound),
        };
    }
    if disabled.is_some() {
        accounts::delete_sessions(tx, account)?;
    }
    Ok(true)
}

pub(super) fn delete_account(
    tx: &Transaction<'_>,
    account: Id,
    now: UnixTime,
) -> Result<AccountDeletion> {
    if accounts::by_id(tx, account)?.is_none() {
        return Err(StoreError::NotFound);
    }
    let count = |sql: &str| -> Result<u64> {
        Ok(tx
            .prepare_cached(sql)?
            .query_row([account], |row| row.get(0))?)
    };
    let records = count("SELECT count(*) FROM records WHERE account_id = ?1")?;
    let shares = count("SELECT count(*) FROM shares WHERE account_id = ?1")?;
    let blobs = tx
        .prepare_cached(
            "INSERT INTO blob_garbage (record_id, file_id, write_id, part, since)
             SELECT p.record_id, p.file_id, p.write_id, p.part, ?2
             FROM records r JOIN file_parts p ON p.record_id = r.id
             WHERE r.account_id = ?1
             ON CONFLICT DO NOTHING",
        )?
        .execute(params![account, now])? as u64;
    for sql in [
        "DELETE FROM nonces WHERE share_id IN (SELECT share_id FROM shares WHERE account_id = ?1)",
        "DELETE FROM events WHERE account_id = ?1",
        "UPDATE invites SET used_by = NULL WHERE used_by = ?1",
        // Cascades to sessions, records (versions, record keys, files, part writes) and shares.
        "DELETE FROM accounts WHERE id = ?1",
    ] {
        tx.prepare_cached(sql)?.execute([account])?;
    }
    Ok(AccountDeletion {
        records,
        shares,
        blobs,
    })
}

pub(super) fn create_invite(tx: &Transaction<'_>, invite: &NewInvite) -> Result<()> {
    tx.prepare_cached(
        "INSERT INTO invites (id, code_hash, note, created_at, expires_at) VALUES (?1, ?2, ?3, ?4, ?5)",
    )?
    .execute(params![
        invite.id,
        invite.code_hash,
        invite.note,
        invite.created_at,
        invite.expires_at
    ])?;
    Ok(())
}

const INVITE_COLUMNS: &str =
    "id, code_hash, note, created_at, expires_at, used_at, used_by, revoked_at FROM invites";

fn invite_from_row(row: &Row<'_>) -> rusqlite::Result<Invite> {
    Ok(Invite {
        id: row.get(0)?,
        code_hash: row.get(1)?,
        note: row.get(2)?,
        created_at: row.get(3)?,
        expires_at: row.get(4)?,
        used_at: row.get(5)?,
        used_by: row.get(6)?,
        revoked_at: row.get(7)?,
    })
}

pub(super) fn invites(conn: &Connection) -> Result<Vec<Invite>> {
    let rows = conn
        .prepare_cached(&format!(
            "SELECT {INVITE_COLUMNS} ORDER BY created_at DESC, id"
        ))?
        .query_map([], invite_from_row)?
        .collect::<rusqlite::Result<_>>()?;
    Ok(rows)
}

pub(super) fn invite(conn: &Connection, id: Id) -> Result<Option<Invite>> {
    let row = conn
        .prepare_cached(&format!("SELECT {INVITE_COLUMNS} WHERE id = ?1"))?
        .query_row([id], invite_from_row)
        .optional()?;
    Ok(row)
}

pub(super) fn revoke_invite(tx: &Transaction<'_>, id: Id, now: UnixTime) -> Result<bool> {
    let changed = tx
        .prepare_cached(
            "UPDATE invites SET revoked_at = ?2
             WHERE id = ?1 AND used_at IS NULL AND revoked_at IS NULL",
        )?
        .execute(params![id, now])?;
    if changed == 0 && invite(tx, id)?.is_none() {
        return Err(StoreError::NotFound);
    }
    Ok(changed == 1)
}

/// Uses the invitation up, then creates the account; the caller's savepoint undoes both if the
/// account cannot be created.
pub(super) fn create_account_invited(
    tx: &Transaction<'_>,
    account: &NewAccount,
    invite: Id,
    code_hash: &[u8; 32],
) -> Result<()> {
    let used = tx
        .prepare_cached(
            "UPDATE invites SET used_at = ?3, used_by = ?4
             WHERE id = ?1 AND code_hash = ?2 AND used_at IS NULL AND revoked_at IS NULL
               AND expires_at > ?3",
        )?
        .execute(params![invite, code_hash, account.created_at, account.id])?;
    if used == 0 {
        return Err(StoreError::NotFound);
    }
    accounts::create(tx, account)
}
