//! File rows: uploads in progress and complete. The bytes live in the blob store.

use sqlx::postgres::PgRow;
use sqlx::{PgConnection, Row};

use super::rows::{author_column, author_from_column, int, unsigned};
use crate::model::*;
use crate::{Result, StoreError};

/// Registers an upload. Beginning the same upload again (same uploader, not complete) is fine;
/// anyone else's, or a finished one, is `AlreadyExists`. An unknown record is `NotFound` (the foreign
/// key).
pub(super) async fn begin(
    conn: &mut PgConnection,
    record: Id,
    file: Id,
    by: Author,
    now: UnixTime,
) -> Result<()> {
    let inserted = sqlx::query(
        "INSERT INTO files (record_id, file_id, uploaded_by, created_at) VALUES ($1, $2, $3, $4)
         ON CONFLICT (record_id, file_id) DO NOTHING",
    )
    .bind(record)
    .bind(file)
    .bind(author_column(by))
    .bind(now)
    .execute(&mut *conn)
    .await?
    .rows_affected();
    if inserted == 1 {
        return Ok(());
    }
    match one(conn, record, file).await? {
        Some(existing) if existing.uploaded_by == by && !existing.complete => Ok(()),
        Some(_) => Err(StoreError::AlreadyExists),
        None => Err(StoreError::NotFound),
    }
}

/// One conditional statement marks the upload complete. Completing twice with the same totals is
/// fine (a retried request); other totals are `AlreadyExists`.
pub(super) async fn complete(
    conn: &mut PgConnection,
    record: Id,
    file: Id,
    parts: u32,
    size: u64,
) -> Result<()> {
    let changed = sqlx::query(
        "UPDATE files SET parts = $3, size = $4, complete = true
         WHERE record_id = $1 AND file_id = $2 AND NOT complete",
    )
    .bind(record)
    .bind(file)
    .bind(i64::from(parts))
    .bind(int(size)?)
    .execute(&mut *conn)
    .await?
    .rows_affected();
    if changed == 1 {
        return Ok(());
    }
    match one(conn, record, file).await? {
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

fn file_from_row(row: &PgRow) -> Result<FileRow> {
    Ok(FileRow {
        record_id: row.try_get(0)?,
        file_id: row.try_get(1)?,
        size: unsigned(row, 2)?,
        parts: unsigned(row, 3)?,
        uploaded_by: author_from_column(row.try_get(4)?),
        complete: row.try_get(5)?,
        created_at: row.try_get(6)?,
    })
}

pub(super) async fn one(conn: &mut PgConnection, record: Id, file: Id) -> Result<Option<FileRow>> {
    sqlx::query(file_select!("record_id = $1 AND file_id = $2"))
        .bind(record)
        .bind(file)
        .fetch_optional(&mut *conn)
        .await?
        .as_ref()
        .map(file_from_row)
        .transpose()
}

/// Oldest first.
pub(super) async fn of_record(conn: &mut PgConnection, record: Id) -> Result<Vec<FileRow>> {
    sqlx::query(file_select!("record_id = $1 ORDER BY created_at, file_id"))
        .bind(record)
        .fetch_all(&mut *conn)
        .await?
        .iter()
        .map(file_from_row)
        .collect()
}
