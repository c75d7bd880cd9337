//! File rows: uploads in progress and complete. The bytes live in the blob store.

use rusqlite::{Connection, OptionalExtension, Row, Transaction, params};

use super::rows::{author_column, author_from_column};
use crate::model::*;
use crate::{Result, StoreError};

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

/// Completing twice with the same totals is fine (a retried request); other totals are `AlreadyExists`.
pub(super) fn complete(
    tx: &Transaction<'_>,
    record: Id,
    file: Id,
    parts: u32,
    size: u64,
) -> Result<()> {
    let changed = tx
        .prepare_cached(
            "UPDATE files SET parts = ?3, size = ?4, complete = 1
             WHERE record_id = ?1 AND file_id = ?2 AND complete = 0",
        )?
        .execute(params![record, file, parts, size])?;
    if changed == 1 {
        return Ok(());
    }
    match one(tx, record, file)? {
        Some(done) if done.parts == parts && done.size == size => Ok(()),
        Some(_) => Err(StoreError::AlreadyExists),
        None => Err(StoreError::NotFound),
    }
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
