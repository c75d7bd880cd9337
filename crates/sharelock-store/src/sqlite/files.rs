//! File rows: uploads in progress and complete. The bytes live in the blob store.

use rusqlite::{Connection, OptionalExtension, Row, Transaction, params};

use super::rows::{author_column, author_from_column};
use crate::model::*;
use crate::{Attach, Result, StoreError, parts_match};

/// Registers an upload. Beginning the same upload again (same uploader, not complete) is fine;
/// anyone else's, or a finished one, is `AlreadyExists`. An unknown record is `NotFound`.
pub(super) fn begin(
    tx: &Transaction<'_>,
    record: Id,
    file: Id,
    by: Author,
    now: UnixTime,
) -> Result<()> {
    let inserted = tx
        .prepare_cached(
            "INSERT INTO files (record_id, file_id, uploaded_by, created_at) VALUES (?1, ?2, ?3, ?4)
             ON CONFLICT (record_id, file_id) DO NOTHING",
        )?
        .execute(params![record, file, author_column(by), now])?;
    if inserted == 1 {
        return Ok(());
    }
    match one(tx, record, file)? {
        Some(existing) if existing.uploaded_by == by && !existing.complete => Ok(()),
        Some(_) => Err(StoreError::AlreadyExists),
        None => Err(StoreError::NotFound),
    }
}

/// See [`crate::Store::reserve_part`].
pub(super) fn reserve(
    tx: &Transaction<'_>,
    write: &PartBlob,
    size: u64,
    by: Author,
    limits: UploadLimits,
    now: UnixTime,
) -> Result<()> {
    begin(tx, write.record, write.file, by, now)?;
    // The single writer runs one transaction at a time: nothing else can count or store in between.
    if let Author::Share(handle) = by {
        let share_used: u64 = tx
            .prepare_cached(
                "SELECT COALESCE(SUM(p.size), 0) FROM files f JOIN file_parts p
                     ON p.record_id = f.record_id AND p.file_id = f.file_id
                 WHERE f.record_id = ?1 AND f.uploaded_by = ?2",
            )?
            .query_row(params![write.record, handle], |row| row.get(0))?;
        if share_used.saturating_add(size) > limits.share_bytes {
            return Err(StoreError::QuotaExceeded(Quota::Share));
        }
    }
    let account_used: u64 = tx
        .prepare_cached(
            "SELECT COALESCE(SUM(p.size), 0) FROM records r JOIN file_parts p ON p.record_id = r.id
             WHERE r.account_id = (SELECT account_id FROM records WHERE id = ?1)",
        )?
        .query_row([write.record], |row| row.get(0))?;
    if account_used.saturating_add(size) > limits.account_bytes {
        return Err(StoreError::QuotaExceeded(Quota::Account));
    }
    tx.prepare_cached(
        "INSERT INTO file_parts (record_id, file_id, write_id, part, size) VALUES (?1, ?2, ?3, ?4, ?5)",
    )?
    .execute(params![write.record, write.file, write.write, write.part, size])?;
    Ok(())
}

/// See [`crate::Store::attach_part`].
pub(super) fn attach(tx: &Transaction<'_>, write: &PartBlob, now: UnixTime) -> Result<Attach> {
    let complete: Option<bool> = tx
        .prepare_cached("SELECT complete FROM files WHERE record_id = ?1 AND file_id = ?2")?
        .query_row(params![write.record, write.file], |row| row.get(0))
        .optional()?;
    let refusal = match complete {
        None => Some(StoreError::NotFound),
        Some(true) => Some(StoreError::AlreadyExists),
        Some(false) => None,
    };
    let reserved = tx
        .prepare_cached(
            "SELECT 1 FROM file_parts WHERE record_id = ?1 AND file_id = ?2 AND write_id = ?3
             AND part = ?4 AND attached = 0",
        )?
        .exists(params![write.record, write.file, write.write, write.part])?;
    if let Some(refusal) = refusal.or((!reserved).then_some(StoreError::NotFound)) {
        // The bytes are stored but will never be read: they go with the garbage.
        drop_writes(tx, std::slice::from_ref(write), now)?;
        return Ok(Attach::Refused(refusal));
    }
    let replaced: Option<Id> = tx
        .prepare_cached(
            "SELECT write_id FROM file_parts WHERE record_id = ?1 AND file_id = ?2 AND part = ?3
             AND attached = 1",
        )?
        .query_row(params![write.record, write.file, write.part], |row| {
            row.get(0)
        })
        .optional()?;
    let replaced = replaced.map(|old| PartBlob {
        write: old,
        ..*write
    });
    if let Some(old) = &replaced {
        drop_writes(tx, std::slice::from_ref(old), now)?;
    }
    tx.prepare_cached(
        "UPDATE file_parts SET attached = 1 WHERE record_id = ?1 AND file_id = ?2 AND write_id = ?3",
    )?
    .execute(params![write.record, write.file, write.write])?;
    Ok(Attach::Done(replaced))
}

/// See [`crate::Store::discard_part`]. Only a write still in progress: an attached one stays.
pub(super) fn discard(tx: &Transaction<'_>, write: &PartBlob, now: UnixTime) -> Result<()> {
    let attached = tx
        .prepare_cached(
            "SELECT 1 FROM file_parts WHERE record_id = ?1 AND file_id = ?2 AND write_id = ?3
             AND attached = 1",
        )?
        .exists(params![write.record, write.file, write.write])?;
    if !attached {
        drop_writes(tx, std::slice::from_ref(write), now)?;
    }
    Ok(())
}

/// Removes part writes from their file (if still there) and lists their blobs as garbage.
fn drop_writes(tx: &Transaction<'_>, writes: &[PartBlob], now: UnixTime) -> Result<()> {
    let mut delete = tx.prepare_cached(
        "DELETE FROM file_parts WHERE record_id = ?1 AND file_id = ?2 AND write_id = ?3",
    )?;
    let mut garbage = tx.prepare_cached(
        "INSERT INTO blob_garbage (record_id, file_id, write_id, part, since) VALUES (?1, ?2, ?3, ?4, ?5)
         ON CONFLICT DO NOTHING",
    )?;
    for w in writes {
        delete.execute(params![w.record, w.file, w.write])?;
        garbage.execute(params![w.record, w.file, w.write, w.part, now])?;
    }
    Ok(())
}

/// Every part write of the given files' rows becomes garbage (before the rows are deleted).
fn drop_all_writes(
    tx: &Transaction<'_>,
    record: Id,
    file: Option<Id>,
    now: UnixTime,
    attached_too: bool,
) -> Result<()> {
    tx.prepare_cached(
        "INSERT INTO blob_garbage (record_id, file_id, write_id, part, since)
         SELECT record_id, file_id, write_id, part, ?4 FROM file_parts
         WHERE record_id = ?1 AND (?2 IS NULL OR file_id = ?2) AND (?3 OR attached = 0)
         ON CONFLICT DO NOTHING",
    )?
    .execute(params![record, file, attached_too, now])?;
    tx.prepare_cached(
        "DELETE FROM file_parts WHERE record_id = ?1 AND (?2 IS NULL OR file_id = ?2) AND (?3 OR attached = 0)",
    )?
    .execute(params![record, file, attached_too])?;
    Ok(())
}

/// A record being deleted: all its part writes become garbage (the caller deletes the rows).
pub(super) fn drop_record(tx: &Transaction<'_>, record: Id, now: UnixTime) -> Result<()> {
    drop_all_writes(tx, record, None, now, true)
}

/// See [`crate::Store::complete_file`].
#[allow(clippy::too_many_arguments)]
pub(super) fn complete(
    tx: &Transaction<'_>,
    raised: &mut Vec<Event>,
    record: Id,
    file: Id,
    by: Author,
    parts: u32,
    size: u64,
    now: UnixTime,
) -> Result<()> {
    let row = match one(tx, record, file)? {
        Some(row) if row.uploaded_by == by => row,
        _ => return Err(StoreError::NotFound),
    };
    if row.complete {
        return if row.parts == parts && row.size == size {
            Ok(())
        } else {
            Err(StoreError::AlreadyExists)
        };
    }
    let attached: Vec<(u32, u64)> = tx
        .prepare_cached(
            "SELECT part, size FROM file_parts WHERE record_id = ?1 AND file_id = ?2 AND attached = 1
             ORDER BY part",
        )?
        .query_map(params![record, file], |row| Ok((row.get(0)?, row.get(1)?)))?
        .collect::<rusqlite::Result<_>>()?;
    if !parts_match(&attached, parts, size) {
        return Err(StoreError::PartsMismatch);
    }
    drop_all_writes(tx, record, Some(file), now, false)?;
    tx.prepare_cached(
        "UPDATE files SET parts = ?3, size = ?4, complete = 1 WHERE record_id = ?1 AND file_id = ?2",
    )?
    .execute(params![record, file, parts, size])?;
    let account: Option<Id> = tx
        .prepare_cached("SELECT account_id FROM records WHERE id = ?1")?
        .query_row([record], |row| row.get(0))
        .optional()?;
    if let Some(account) = account {
        let share = match by {
            Author::Owner => None,
            Author::Share(handle) => Some(handle),
        };
        super::events::insert(
            tx,
            raised,
            account,
            EventKind::FileAdded,
            share,
            Some(record),
            None,
            now,
        )?;
    }
    Ok(())
}

/// See [`crate::Store::sweep_uploads`]: one batch.
pub(super) fn sweep_unfinished(
    tx: &Transaction<'_>,
    before: UnixTime,
    now: UnixTime,
    limit: u64,
) -> Result<u64> {
    let due: Vec<(Id, Id)> = tx
        .prepare_cached(
            "SELECT record_id, file_id FROM files WHERE complete = 0 AND created_at < ?1 LIMIT ?2",
        )?
        .query_map(params![before, limit], |row| Ok((row.get(0)?, row.get(1)?)))?
        .collect::<rusqlite::Result<_>>()?;
    let mut delete =
        tx.prepare_cached("DELETE FROM files WHERE record_id = ?1 AND file_id = ?2")?;
    for (record, file) in &due {
        drop_all_writes(tx, *record, Some(*file), now, true)?;
        delete.execute(params![record, file])?;
    }
    Ok(due.len() as u64)
}

/// See [`crate::Store::blob_garbage`].
pub(super) fn garbage(conn: &Connection, limit: u32, now: UnixTime) -> Result<Vec<PartBlob>> {
    let blobs = conn
        .prepare_cached(
            "SELECT record_id, file_id, part, write_id FROM blob_garbage INDEXED BY blob_garbage_due
             WHERE retry_at <= ?1 ORDER BY retry_at, since LIMIT ?2",
        )?
        .query_map(params![now, limit], part_blob)?
        .collect::<rusqlite::Result<_>>()?;
    Ok(blobs)
}

/// See [`crate::Store::postpone_garbage`].
pub(super) fn postpone(tx: &Transaction<'_>, blobs: &[PartBlob], now: UnixTime) -> Result<()> {
    let mut update = tx.prepare_cached(
        "UPDATE blob_garbage SET retry_at = ?4 + min(max(?4 - since, ?5), ?6)
         WHERE record_id = ?1 AND file_id = ?2 AND write_id = ?3",
    )?;
    for b in blobs {
        update.execute(params![
            b.record,
            b.file,
            b.write,
            now,
            GARBAGE_RETRY_MIN,
            GARBAGE_RETRY_MAX
        ])?;
    }
    Ok(())
}

pub(super) fn forget(tx: &Transaction<'_>, blobs: &[PartBlob]) -> Result<()> {
    let mut delete = tx.prepare_cached(
        "DELETE FROM blob_garbage WHERE record_id = ?1 AND file_id = ?2 AND write_id = ?3",
    )?;
    for b in blobs {
        delete.execute(params![b.record, b.file, b.write])?;
    }
    Ok(())
}

/// See [`crate::Store::file_parts`].
pub(super) fn attached_parts(conn: &Connection, record: Id, file: Id) -> Result<Vec<PartBlob>> {
    let parts = conn
        .prepare_cached(
            "SELECT record_id, file_id, part, write_id FROM file_parts
             WHERE record_id = ?1 AND file_id = ?2 AND attached = 1 ORDER BY part",
        )?
        .query_map(params![record, file], part_blob)?
        .collect::<rusqlite::Result<_>>()?;
    Ok(parts)
}

/// Every part write a file's bytes are made of (attached), with its size: the blobs a copy of the
/// database needs (`crate::backup`). Writes still being received and blob garbage are not included.
pub(super) fn all_attached_parts(conn: &Connection) -> Result<Vec<(PartBlob, u64)>> {
    let parts = conn
        .prepare(
            "SELECT record_id, file_id, part, write_id, size FROM file_parts WHERE attached = 1
             ORDER BY record_id, file_id, part",
        )?
        .query_map([], |row| Ok((part_blob(row)?, row.get::<_, u64>(4)?)))?
        .collect::<rusqlite::Result<_>>()?;
    Ok(parts)
}

fn part_blob(row: &Row<'_>) -> rusqlite::Result<PartBlob> {
    Ok(PartBlob {
        record: row.get(0)?,
        file: row.get(1)?,
        part: row.get(2)?,
        write: row.get(3)?,
    })
}

macro_rules! file_select {
    ($where:literal) => {
        concat!(
            "SELECT record_id, file_id, size, parts, uploaded_by, complete, created_at FROM files WHERE ",
            $where
        )
    };
}

fn file_from_row(row: &Row<'_>) -> rusqlite::Result<FileRow> {
    Ok(FileRow {
        record_id: row.get(0)?,
        file_id: row.get(1)?,
        size: row.get(2)?,
        parts: row.get(3)?,
        uploaded_by: author_from_column(row.get(4)?),
        complete: row.get(5)?,
        created_at: row.get(6)?,
    })
}

pub(super) fn one(conn: &Connection, record: Id, file: Id) -> Result<Option<FileRow>> {
    let file = conn
        .prepare_cached(file_select!("record_id = ?1 AND file_id = ?2"))?
        .query_row(params![record, file], file_from_row)
        .optional()?;
    Ok(file)
}

/// Oldest first.
pub(super) fn of_record(conn: &Connection, record: Id) -> Result<Vec<FileRow>> {
    let files = conn
        .prepare_cached(file_select!("record_id = ?1 ORDER BY created_at, file_id"))?
        .query_map([record], file_from_row)?
        .collect::<rusqlite::Result<_>>()?;
    Ok(files)
}
