//! Records, their versions and key generations.

use rusqlite::{Connection, OptionalExtension, Row, Transaction, params};

use super::rows::{author_column, author_from_column};
use super::shares;
use crate::model::*;
use crate::{Result, StoreError};

/// A record's current version and key generation, what every versioned write is checked against.
#[derive(Clone, Copy)]
pub(super) struct Head {
    pub version: u64,
    pub key_gen: u64,
}

impl Head {
    fn conflict(self) -> StoreError {
        StoreError::VersionConflict {
            current_version: self.version,
            current_key_gen: self.key_gen,
        }
    }

    fn stale_key(self) -> StoreError {
        StoreError::StaleKey {
            current_version: self.version,
            current_key_gen: self.key_gen,
        }
    }

    /// A write of `new` based on `base_version` must use the current key generation and be the next
    /// version. A wrong key generation is reported first: the writer must fetch the new key anyway.
    fn check_next(self, base_version: u64, new: &NewVersion) -> Result<()> {
        if new.key_gen != self.key_gen {
            return Err(self.stale_key());
        }
        if base_version != self.version || new.version != self.version + 1 {
            return Err(self.conflict());
        }
        Ok(())
    }
}

/// The record's head if `account` owns it.
fn owned_head(conn: &Connection, account: Id, record: Id) -> Result<Head> {
    conn.prepare_cached("SELECT version, key_gen FROM records WHERE id = ?1 AND account_id = ?2")?
        .query_row(params![record, account], |row| {
            Ok(Head {
                version: row.get(0)?,
                key_gen: row.get(1)?,
            })
        })
        .optional()?
        .ok_or(StoreError::NotFound)
}

/// The record's head whoever owns it (a recipient's write, already authorised through its share).
pub(super) fn head(conn: &Connection, record: Id) -> Result<Head> {
    conn.prepare_cached("SELECT version, key_gen FROM records WHERE id = ?1")?
        .query_row([record], |row| {
            Ok(Head {
                version: row.get(0)?,
                key_gen: row.get(1)?,
            })
        })
        .optional()?
        .ok_or(StoreError::NotFound)
}

/// A new record starts at version 1 under key generation 1.
pub(super) fn create(tx: &Transaction<'_>, account: Id, record: &NewRecord) -> Result<()> {
    let first = &record.first;
    Head {
        version: 0,
        key_gen: 1,
    }
    .check_next(0, first)?;
    tx.prepare_cached(
        "INSERT INTO records (id, account_id, version, key_gen, created_at, updated_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?5)",
    )?
    .execute(params![
        record.id,
        account,
        first.version,
        first.key_gen,
        first.created_at
    ])?;
    insert_key(tx, record.id, first.key_gen, &record.wrapped_key)?;
    insert_version(tx, record.id, first)
}

fn insert_key(tx: &Transaction<'_>, record: Id, key_gen: u64, wrapped_key: &[u8]) -> Result<()> {
    tx.prepare_cached(
        "INSERT INTO record_keys (record_id, key_gen, wrapped_key) VALUES (?1, ?2, ?3)",
    )?
    .execute(params![record, key_gen, wrapped_key])?;
    Ok(())
}

fn insert_version(tx: &Transaction<'_>, record: Id, v: &NewVersion) -> Result<()> {
    tx.prepare_cached(
        "INSERT INTO versions (record_id, version, key_gen, envelope, summary, proof, author_share, created_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
    )?
    .execute(params![
        record,
        v.version,
        v.key_gen,
        v.envelope,
        v.summary,
        v.proof,
        author_column(v.author),
        v.created_at
    ])?;
    Ok(())
}

/// Makes `v` the record's current version (its checks already done).
fn advance(tx: &Transaction<'_>, record: Id, v: &NewVersion) -> Result<()> {
    insert_version(tx, record, v)?;
    tx.prepare_cached(
        "UPDATE records SET version = ?2, key_gen = ?3, updated_at = ?4 WHERE id = ?1",
    )?
    .execute(params![record, v.version, v.key_gen, v.created_at])?;
    Ok(())
}

/// Makes `v`, a rotation's version, the record's current one and clears its pending rotation, in one
/// update of the record's row.
fn advance_rotated(tx: &Transaction<'_>, record: Id, v: &NewVersion) -> Result<()> {
    insert_version(tx, record, v)?;
    tx.prepare_cached(
        "UPDATE records SET version = ?2, key_gen = ?3, updated_at = ?4, rotate_pending = 0 WHERE id = ?1",
    )?
    .execute(params![record, v.version, v.key_gen, v.created_at])?;
    Ok(())
}

/// Appends `v` on top of `base_version` under the current key generation (owner or recipient).
pub(super) fn append(
    tx: &Transaction<'_>,
    record: Id,
    base_version: u64,
    v: &NewVersion,
) -> Result<()> {
    head(tx, record)?.check_next(base_version, v)?;
    advance(tx, record, v)
}

pub(super) fn update(
    tx: &Transaction<'_>,
    account: Id,
    record: Id,
    base_version: u64,
    v: &NewVersion,
) -> Result<()> {
    owned_head(tx, account, record)?.check_next(base_version, v)?;
    advance(tx, record, v)
}

/// Rotation: generation k + 1, the body resealed as the next version, and the new key rewrapped for
/// exactly the shares live at the rotation's time (none may be missed, none may be added).
pub(super) fn rotate(
    tx: &Transaction<'_>,
    account: Id,
    record: Id,
    rotation: &Rotation,
) -> Result<()> {
    let head = owned_head(tx, account, record)?;
    let v = &rotation.version;
    if v.key_gen != head.key_gen + 1 {
        return Err(head.stale_key());
    }
    if rotation.base_version != head.version || v.version != head.version + 1 {
        return Err(head.conflict());
    }
    let mut live = shares::live_handles(tx, record, v.created_at)?;
    let mut named: Vec<Id> = rotation
        .share_keys
        .iter()
        .map(|(handle, _)| *handle)
        .collect();
    live.sort_unstable();
    named.sort_unstable();
    if live != named {
        return Err(StoreError::ShareSetMismatch);
    }

    insert_key(tx, record, v.key_gen, &rotation.wrapped_key)?;
    advance_rotated(tx, record, v)?;
    for (handle, wrapped_key) in &rotation.share_keys {
        shares::rewrap(tx, *handle, v.key_gen, wrapped_key)?;
    }
    Ok(())
}

/// Ends the record's shares (`RecordDeleted`, or `Expired` if their time had already passed), then
/// deletes the record; versions, keys and file rows go with it. Returns the file ids to delete.
pub(super) fn delete(
    tx: &Transaction<'_>,
    raised: &mut Vec<Event>,
    account: Id,
    record: Id,
    now: UnixTime,
) -> Result<Vec<Id>> {
    owned_head(tx, account, record)?;
    let files = tx
        .prepare_cached("SELECT file_id FROM files WHERE record_id = ?1 ORDER BY file_id")?
        .query_map([record], |row| row.get(0))?
        .collect::<rusqlite::Result<Vec<Id>>>()?;
    shares::end_all_of_record(tx, raised, record, now)?;
    super::files::drop_record(tx, record, now)?;
    tx.prepare_cached("DELETE FROM records WHERE id = ?1")?
        .execute([record])?;
    Ok(files)
}

/// Self-destructing records whose time has come (docs/protocol.md §4.7), at most `limit`, soonest first:
/// each is deleted as its owner would delete it, then `RecordDestroyed` is raised naming the share that set
/// it off. The caller's transaction is the single writer's, so no other pass can take the same record.
pub(super) fn destroy_due(
    tx: &Transaction<'_>,
    raised: &mut Vec<Event>,
    now: UnixTime,
    limit: u32,
) -> Result<Vec<DestroyedRecord>> {
    let due = tx
        .prepare_cached(
            "SELECT s.account_id, s.record_id, s.handle FROM shares s JOIN records r ON r.id = s.record_id
             WHERE s.destroy_at IS NOT NULL AND s.destroy_at <= ?1
             ORDER BY s.destroy_at, s.handle LIMIT ?2",
        )?
        .query_map(params![now, limit], |row| {
            Ok((
                row.get::<_, Id>(0)?,
                row.get::<_, Id>(1)?,
                row.get::<_, Id>(2)?,
            ))
        })?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    let mut destroyed: Vec<DestroyedRecord> = Vec::new();
    for (account, record, share) in due {
        // Two due shares of one record: the first destroys it.
        if destroyed.iter().any(|d| d.record == record) {
            continue;
        }
        let files = delete(tx, raised, account, record, now)?;
        super::events::insert(
            tx,
            raised,
            account,
            EventKind::RecordDestroyed,
            Some(share),
            Some(record),
            None,
            now,
        )?;
        destroyed.push(DestroyedRecord {
            account,
            record,
            share,
            files,
        });
    }
    Ok(destroyed)
}

macro_rules! head_select {
    ($extra:literal, $where:literal) => {
        concat!(
            "SELECT r.id, r.version, r.key_gen, k.wrapped_key, v.summary, v.author_share, r.created_at, \
             r.updated_at, r.rotate_pending",
            $extra,
            " FROM records r
             JOIN versions v ON v.record_id = r.id AND v.version = r.version
             JOIN record_keys k ON k.record_id = r.id AND k.key_gen = r.key_gen
             WHERE ",
            $where
        )
    };
}

fn head_from_row(row: &Row<'_>) -> rusqlite::Result<RecordHead> {
    Ok(RecordHead {
        id: row.get(0)?,
        version: row.get(1)?,
        key_gen: row.get(2)?,
        wrapped_key: row.get(3)?,
        summary: row.get(4)?,
        author: author_from_column(row.get(5)?),
        created_at: row.get(6)?,
        updated_at: row.get(7)?,
        rotate_pending: row.get(8)?,
    })
}

/// Most recently changed first, with the current envelope and proof of each record whose envelope is at
/// most `envelope_limit` bytes, in one statement. `length()` of a BLOB reads only the row's header, so a
/// large envelope is neither read nor copied.
pub(super) fn list(
    conn: &Connection,
    account: Id,
    envelope_limit: usize,
) -> Result<Vec<ListedRecord>> {
    let limit = i64::try_from(envelope_limit).unwrap_or(i64::MAX);
    let listed = conn
        .prepare_cached(head_select!(
            ", CASE WHEN length(v.envelope) <= ?2 THEN v.envelope END, \
             CASE WHEN length(v.envelope) <= ?2 THEN v.proof END",
            "r.account_id = ?1 ORDER BY r.updated_at DESC, r.id"
        ))?
        .query_map(params![account, limit], |row| {
            Ok(ListedRecord {
                head: head_from_row(row)?,
                envelope: row.get(9)?,
                proof: row.get(10)?,
            })
        })?
        .collect::<rusqlite::Result<_>>()?;
    Ok(listed)
}

pub(super) fn current(conn: &Connection, account: Id, record: Id) -> Result<Option<RecordCurrent>> {
    let current = conn
        .prepare_cached(head_select!(
            ", v.envelope, v.proof",
            "r.id = ?1 AND r.account_id = ?2"
        ))?
        .query_row(params![record, account], |row| {
            Ok(RecordCurrent {
                head: head_from_row(row)?,
                envelope: row.get(9)?,
                proof: row.get(10)?,
            })
        })
        .optional()?;
    Ok(current)
}

/// Versions oldest first and every key generation, read in one snapshot.
pub(super) fn history(conn: &Connection, account: Id, record: Id) -> Result<Option<History>> {
    let snapshot = conn.unchecked_transaction()?;
    match owned_head(&snapshot, account, record) {
        Err(StoreError::NotFound) => return Ok(None),
        other => other?,
    };
    let versions = snapshot
        .prepare_cached(
            "SELECT version, key_gen, envelope, proof, author_share, created_at
             FROM versions WHERE record_id = ?1 ORDER BY version",
        )?
        .query_map([record], |row| {
            Ok(VersionRow {
                version: row.get(0)?,
                key_gen: row.get(1)?,
                envelope: row.get(2)?,
                proof: row.get(3)?,
                author: author_from_column(row.get(4)?),
                created_at: row.get(5)?,
            })
        })?
        .collect::<rusqlite::Result<_>>()?;
    let keys = snapshot
        .prepare_cached(
            "SELECT key_gen, wrapped_key FROM record_keys WHERE record_id = ?1 ORDER BY key_gen",
        )?
        .query_map([record], |row| Ok((row.get(0)?, row.get(1)?)))?
        .collect::<rusqlite::Result<_>>()?;
    Ok(Some(History { versions, keys }))
}
