//! File rows: uploads in progress and complete. The bytes live in the blob store.

use sqlx::postgres::PgRow;
use sqlx::{PgConnection, Row};

use super::rows::{author_column, author_from_column, int, unsigned};
use super::sweep::Claimed;
use crate::model::*;
use crate::{Attach, Result, StoreError, parts_match};

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

/// Locks the file's row for the rest of the transaction: reserving, attaching and completing all take
/// this lock first, so they exclude each other. `None`: no such upload.
async fn lock(conn: &mut PgConnection, record: Id, file: Id) -> Result<Option<(Author, bool)>> {
    let row = sqlx::query(
        "SELECT uploaded_by, complete FROM files WHERE record_id = $1 AND file_id = $2 FOR UPDATE",
    )
    .bind(record)
    .bind(file)
    .fetch_optional(&mut *conn)
    .await?;
    row.map(|row| Ok((author_from_column(row.try_get(0)?), row.try_get(1)?)))
        .transpose()
}

/// See [`crate::Store::reserve_part`]. Lock order: the file's row, then the account's row, which
/// orders every quota count of the account (no transaction takes them the other way round).
pub(super) async fn reserve(
    conn: &mut PgConnection,
    write: &PartBlob,
    size: u64,
    by: Author,
    limits: UploadLimits,
    now: UnixTime,
) -> Result<()> {
    begin(conn, write.record, write.file, by, now).await?;
    match lock(conn, write.record, write.file).await? {
        Some((author, false)) if author == by => {}
        Some(_) => return Err(StoreError::AlreadyExists),
        None => return Err(StoreError::NotFound),
    }
    let account: Option<Id> = sqlx::query_scalar(
        "SELECT a.id FROM accounts a JOIN records r ON r.account_id = a.id WHERE r.id = $1
         FOR NO KEY UPDATE OF a",
    )
    .bind(write.record)
    .fetch_optional(&mut *conn)
    .await?;
    let account = account.ok_or(StoreError::NotFound)?;
    if let Author::Share(handle) = by {
        let share_used: i64 = sqlx::query_scalar(
            "SELECT COALESCE(SUM(p.size), 0)::bigint FROM files f JOIN file_parts p
                 ON p.record_id = f.record_id AND p.file_id = f.file_id
             WHERE f.record_id = $1 AND f.uploaded_by = $2",
        )
        .bind(write.record)
        .bind(handle)
        .fetch_one(&mut *conn)
        .await?;
        if (share_used as u64).saturating_add(size) > limits.share_bytes {
            return Err(StoreError::QuotaExceeded(Quota::Share));
        }
    }
    let account_used: i64 = sqlx::query_scalar(
        "SELECT COALESCE(SUM(p.size), 0)::bigint FROM records r JOIN file_parts p ON p.record_id = r.id
         WHERE r.account_id = $1",
    )
    .bind(account)
    .fetch_one(&mut *conn)
    .await?;
    if (account_used as u64).saturating_add(size) > limits.account_bytes {
        return Err(StoreError::QuotaExceeded(Quota::Account));
    }
    sqlx::query(
        "INSERT INTO file_parts (record_id, file_id, write_id, part, size) VALUES ($1, $2, $3, $4, $5)",
    )
    .bind(write.record)
    .bind(write.file)
    .bind(write.write)
    .bind(i64::from(write.part))
    .bind(int(size)?)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// See [`crate::Store::attach_part`].
pub(super) async fn attach(
    conn: &mut PgConnection,
    write: &PartBlob,
    now: UnixTime,
) -> Result<Attach> {
    let refusal = match lock(conn, write.record, write.file).await? {
        None => Some(StoreError::NotFound),
        Some((_, true)) => Some(StoreError::AlreadyExists),
        Some((_, false)) => None,
    };
    let reserved: bool = sqlx::query_scalar(
        "SELECT EXISTS (SELECT 1 FROM file_parts WHERE record_id = $1 AND file_id = $2 AND write_id = $3
         AND part = $4 AND NOT attached)",
    )
    .bind(write.record)
    .bind(write.file)
    .bind(write.write)
    .bind(i64::from(write.part))
    .fetch_one(&mut *conn)
    .await?;
    if let Some(refusal) = refusal.or((!reserved).then_some(StoreError::NotFound)) {
        // The bytes are stored but will never be read: they go with the garbage.
        drop_write(conn, write, now).await?;
        return Ok(Attach::Refused(refusal));
    }
    let replaced: Option<Id> = sqlx::query_scalar(
        "SELECT write_id FROM file_parts WHERE record_id = $1 AND file_id = $2 AND part = $3 AND attached",
    )
    .bind(write.record)
    .bind(write.file)
    .bind(i64::from(write.part))
    .fetch_optional(&mut *conn)
    .await?;
    let replaced = replaced.map(|old| PartBlob {
        write: old,
        ..*write
    });
    if let Some(old) = &replaced {
        drop_write(conn, old, now).await?;
    }
    sqlx::query(
        "UPDATE file_parts SET attached = true WHERE record_id = $1 AND file_id = $2 AND write_id = $3",
    )
    .bind(write.record)
    .bind(write.file)
    .bind(write.write)
    .execute(&mut *conn)
    .await?;
    Ok(Attach::Done(replaced))
}

/// See [`crate::Store::discard_part`]. Only a write still in progress: an attached one stays.
pub(super) async fn discard(
    conn: &mut PgConnection,
    write: &PartBlob,
    now: UnixTime,
) -> Result<()> {
    lock(conn, write.record, write.file).await?;
    let attached: bool = sqlx::query_scalar(
        "SELECT EXISTS (SELECT 1 FROM file_parts WHERE record_id = $1 AND file_id = $2 AND write_id = $3
         AND attached)",
    )
    .bind(write.record)
    .bind(write.file)
    .bind(write.write)
    .fetch_one(&mut *conn)
    .await?;
    if !attached {
        drop_write(conn, write, now).await?;
    }
    Ok(())
}

/// Removes a part write from its file (if still there) and lists its blob as garbage.
async fn drop_write(conn: &mut PgConnection, w: &PartBlob, now: UnixTime) -> Result<()> {
    sqlx::query("DELETE FROM file_parts WHERE record_id = $1 AND file_id = $2 AND write_id = $3")
        .bind(w.record)
        .bind(w.file)
        .bind(w.write)
        .execute(&mut *conn)
        .await?;
    sqlx::query(
        "INSERT INTO blob_garbage (record_id, file_id, write_id, part, since) VALUES ($1, $2, $3, $4, $5)
         ON CONFLICT DO NOTHING",
    )
    .bind(w.record)
    .bind(w.file)
    .bind(w.write)
    .bind(i64::from(w.part))
    .bind(now)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// The part writes of a record (or of one of its files; only those in progress unless
/// `attached_too`) become garbage and leave their files.
async fn drop_writes_of(
    conn: &mut PgConnection,
    record: Id,
    file: Option<Id>,
    attached_too: bool,
    now: UnixTime,
) -> Result<()> {
    sqlx::query(
        "WITH gone AS (
             DELETE FROM file_parts WHERE record_id = $1 AND ($2::uuid IS NULL OR file_id = $2)
                 AND ($3 OR NOT attached)
             RETURNING record_id, file_id, write_id, part)
         INSERT INTO blob_garbage (record_id, file_id, write_id, part, since)
         SELECT record_id, file_id, write_id, part, $4 FROM gone
         ON CONFLICT DO NOTHING",
    )
    .bind(record)
    .bind(file)
    .bind(attached_too)
    .bind(now)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// A record being deleted (its row locked by the caller): all its part writes become garbage.
pub(super) async fn drop_record(conn: &mut PgConnection, record: Id, now: UnixTime) -> Result<()> {
    drop_writes_of(conn, record, None, true, now).await
}

/// See [`crate::Store::complete_file`].
#[allow(clippy::too_many_arguments)]
pub(super) async fn complete(
    conn: &mut PgConnection,
    events: &mut super::events::Pending,
    record: Id,
    file: Id,
    by: Author,
    parts: u32,
    size: u64,
    now: UnixTime,
) -> Result<()> {
    match lock(conn, record, file).await? {
        Some((author, _)) if author == by => {}
        _ => return Err(StoreError::NotFound),
    }
    let row = one(conn, record, file).await?.ok_or(StoreError::NotFound)?;
    if row.complete {
        return if row.parts == parts && row.size == size {
            Ok(())
        } else {
            Err(StoreError::AlreadyExists)
        };
    }
    let attached: Vec<(u32, u64)> = sqlx::query(
        "SELECT part, size FROM file_parts WHERE record_id = $1 AND file_id = $2 AND attached
         ORDER BY part",
    )
    .bind(record)
    .bind(file)
    .fetch_all(&mut *conn)
    .await?
    .iter()
    .map(|row| Ok((unsigned(row, 0)?, unsigned(row, 1)?)))
    .collect::<Result<_>>()?;
    if !parts_match(&attached, parts, size) {
        return Err(StoreError::PartsMismatch);
    }
    drop_writes_of(conn, record, Some(file), false, now).await?;
    sqlx::query(
        "UPDATE files SET parts = $3, size = $4, complete = true WHERE record_id = $1 AND file_id = $2",
    )
    .bind(record)
    .bind(file)
    .bind(i64::from(parts))
    .bind(int(size)?)
    .execute(&mut *conn)
    .await?;
    let account: Option<Id> = sqlx::query_scalar("SELECT account_id FROM records WHERE id = $1")
        .bind(record)
        .fetch_optional(&mut *conn)
        .await?;
    if let Some(account) = account {
        let share = match by {
            Author::Owner => None,
            Author::Share(handle) => Some(handle),
        };
        events.push(
            account,
            EventKind::FileAdded,
            share,
            Some(record),
            None,
            now,
        );
    }
    Ok(())
}

/// See [`crate::Store::sweep_uploads`]: one batch, claimed with `SKIP LOCKED` (an upload a request
/// holds is left for the next round).
pub(super) async fn sweep_unfinished(
    conn: &mut PgConnection,
    before: UnixTime,
    now: UnixTime,
    batch: u64,
) -> Result<Claimed> {
    let due = sqlx::query(
        "SELECT record_id, file_id FROM files WHERE NOT complete AND created_at < $1
         LIMIT $2 FOR UPDATE SKIP LOCKED",
    )
    .bind(before)
    .bind(int(batch)?)
    .fetch_all(&mut *conn)
    .await?;
    for row in &due {
        let (record, file): (Id, Id) = (row.try_get(0)?, row.try_get(1)?);
        drop_writes_of(conn, record, Some(file), true, now).await?;
        sqlx::query("DELETE FROM files WHERE record_id = $1 AND file_id = $2")
            .bind(record)
            .bind(file)
            .execute(&mut *conn)
            .await?;
    }
    let n = due.len() as u64;
    Ok(Claimed {
        claimed: n,
        changed: n,
    })
}

/// See [`crate::Store::blob_garbage`].
pub(super) async fn garbage(
    conn: &mut PgConnection,
    limit: u32,
    now: UnixTime,
) -> Result<Vec<PartBlob>> {
    sqlx::query(
        "SELECT record_id, file_id, part, write_id FROM blob_garbage
         WHERE retry_at <= $1 ORDER BY retry_at, since LIMIT $2",
    )
    .bind(now)
    .bind(i64::from(limit))
    .fetch_all(&mut *conn)
    .await?
    .iter()
    .map(part_blob)
    .collect()
}

pub(super) async fn forget(conn: &mut PgConnection, blobs: &[PartBlob]) -> Result<()> {
    let records: Vec<Id> = blobs.iter().map(|b| b.record).collect();
    let files: Vec<Id> = blobs.iter().map(|b| b.file).collect();
    let writes: Vec<Id> = blobs.iter().map(|b| b.write).collect();
    sqlx::query(
        "DELETE FROM blob_garbage g USING unnest($1::uuid[], $2::uuid[], $3::uuid[]) AS d(r, f, w)
         WHERE g.record_id = d.r AND g.file_id = d.f AND g.write_id = d.w",
    )
    .bind(&records)
    .bind(&files)
    .bind(&writes)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// See [`crate::Store::postpone_garbage`].
pub(super) async fn postpone(
    conn: &mut PgConnection,
    blobs: &[PartBlob],
    now: UnixTime,
) -> Result<()> {
    let records: Vec<Id> = blobs.iter().map(|b| b.record).collect();
    let files: Vec<Id> = blobs.iter().map(|b| b.file).collect();
    let writes: Vec<Id> = blobs.iter().map(|b| b.write).collect();
    sqlx::query(
        "UPDATE blob_garbage g SET retry_at = $4 + LEAST(GREATEST($4 - g.since, $5), $6)
         FROM unnest($1::uuid[], $2::uuid[], $3::uuid[]) AS d(r, f, w)
         WHERE g.record_id = d.r AND g.file_id = d.f AND g.write_id = d.w",
    )
    .bind(&records)
    .bind(&files)
    .bind(&writes)
    .bind(now)
    .bind(GARBAGE_RETRY_MIN)
    .bind(GARBAGE_RETRY_MAX)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// See [`crate::Store::file_parts`].
pub(super) async fn attached_parts(
    conn: &mut PgConnection,
    record: Id,
    file: Id,
) -> Result<Vec<PartBlob>> {
    sqlx::query(
        "SELECT record_id, file_id, part, write_id FROM file_parts
         WHERE record_id = $1 AND file_id = $2 AND attached ORDER BY part",
    )
    .bind(record)
    .bind(file)
    .fetch_all(&mut *conn)
    .await?
    .iter()
    .map(part_blob)
    .collect()
}

fn part_blob(row: &PgRow) -> Result<PartBlob> {
    Ok(PartBlob {
        record: row.try_get(0)?,
        file: row.try_get(1)?,
        part: unsigned(row, 2)?,
        write: row.try_get(3)?,
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
