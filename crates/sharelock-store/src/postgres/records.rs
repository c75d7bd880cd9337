//! Records, their versions and key generations.

use sqlx::postgres::PgRow;
use sqlx::{PgConnection, Row};

use super::events::Pending;
use super::rows::{author_column, author_from_column, int, unsigned};
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

fn head_from_row(row: &PgRow) -> Result<Head> {
    Ok(Head {
        version: unsigned(row, 0)?,
        key_gen: unsigned(row, 1)?,
    })
}

/// Locks the record's row until the transaction ends and reads its head, if `account` owns it.
/// Whoever holds the lock is the only writer of the record's versions and of its shares' liveness.
pub(super) async fn lock_owned(conn: &mut PgConnection, account: Id, record: Id) -> Result<Head> {
    sqlx::query(
        "SELECT version, key_gen FROM records WHERE id = $1 AND account_id = $2 FOR NO KEY UPDATE",
    )
    .bind(record)
    .bind(account)
    .fetch_optional(&mut *conn)
    .await?
    .as_ref()
    .map(head_from_row)
    .transpose()?
    .ok_or(StoreError::NotFound)
}

/// [`lock_owned`] whoever owns the record (a recipient's write, authorised through its share; a share
/// that ends). `None` if it does not exist (any more).
pub(super) async fn lock(conn: &mut PgConnection, record: Id) -> Result<Option<Head>> {
    sqlx::query("SELECT version, key_gen FROM records WHERE id = $1 FOR NO KEY UPDATE")
        .bind(record)
        .fetch_optional(&mut *conn)
        .await?
        .as_ref()
        .map(head_from_row)
        .transpose()
}

/// A new record starts at version 1 under key generation 1.
pub(super) async fn create(conn: &mut PgConnection, account: Id, record: &NewRecord) -> Result<()> {
    let first = &record.first;
    Head {
        version: 0,
        key_gen: 1,
    }
    .check_next(0, first)?;
    sqlx::query(
        "INSERT INTO records (id, account_id, version, key_gen, created_at, updated_at)
         VALUES ($1, $2, $3, $4, $5, $5)",
    )
    .bind(record.id)
    .bind(account)
    .bind(int(first.version)?)
    .bind(int(first.key_gen)?)
    .bind(first.created_at)
    .execute(&mut *conn)
    .await?;
    insert_key(conn, record.id, first.key_gen, &record.wrapped_key).await?;
    insert_version(conn, record.id, first).await
}

async fn insert_key(
    conn: &mut PgConnection,
    record: Id,
    key_gen: u64,
    wrapped_key: &[u8],
) -> Result<()> {
    sqlx::query("INSERT INTO record_keys (record_id, key_gen, wrapped_key) VALUES ($1, $2, $3)")
        .bind(record)
        .bind(int(key_gen)?)
        .bind(wrapped_key)
        .execute(&mut *conn)
        .await?;
    Ok(())
}

async fn insert_version(conn: &mut PgConnection, record: Id, v: &NewVersion) -> Result<()> {
    sqlx::query(
        "INSERT INTO versions (record_id, version, key_gen, envelope, summary, proof, author_share, created_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
    )
    .bind(record)
    .bind(int(v.version)?)
    .bind(int(v.key_gen)?)
    .bind(&v.envelope)
    .bind(&v.summary)
    .bind(&v.proof)
    .bind(author_column(v.author))
    .bind(v.created_at)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// Makes `v` the record's current version (its checks already done, under the record's lock).
async fn advance(conn: &mut PgConnection, record: Id, v: &NewVersion) -> Result<()> {
    insert_version(conn, record, v).await?;
    sqlx::query("UPDATE records SET version = $2, key_gen = $3, updated_at = $4 WHERE id = $1")
        .bind(record)
        .bind(int(v.version)?)
        .bind(int(v.key_gen)?)
        .bind(v.created_at)
        .execute(&mut *conn)
        .await?;
    Ok(())
}

/// Appends `v` on top of `base_version` under the current key generation, for a recipient whose
/// share's record is locked (`head` read under the lock).
pub(super) async fn append_locked(
    conn: &mut PgConnection,
    record: Id,
    head: Head,
    base_version: u64,
    v: &NewVersion,
) -> Result<()> {
    head.check_next(base_version, v)?;
    advance(conn, record, v).await
}

/// The owner appends a version: the record's lock orders racing writers, and the head read under it is
/// the one the winner left.
pub(super) async fn update(
    conn: &mut PgConnection,
    account: Id,
    record: Id,
    base_version: u64,
    v: &NewVersion,
) -> Result<()> {
    lock_owned(conn, account, record)
        .await?
        .check_next(base_version, v)?;
    advance(conn, record, v).await
}

/// Rotation: generation k + 1, the body resealed as the next version, and the new key rewrapped for
/// exactly the shares live at the rotation's time (none may be missed, none may be added). The
/// record's lock is taken first, and every change to which of its shares are live takes it too, so
/// the set read here cannot change before this transaction commits.
pub(super) async fn rotate(
    conn: &mut PgConnection,
    account: Id,
    record: Id,
    rotation: &Rotation,
) -> Result<()> {
    let head = lock_owned(conn, account, record).await?;
    let v = &rotation.version;
    if v.key_gen != head.key_gen + 1 {
        return Err(head.stale_key());
    }
    if rotation.base_version != head.version || v.version != head.version + 1 {
        return Err(head.conflict());
    }
    let mut live = shares::live_handles(conn, record, v.created_at).await?;
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

    insert_key(conn, record, v.key_gen, &rotation.wrapped_key).await?;
    advance(conn, record, v).await?;
    sqlx::query("UPDATE records SET rotate_pending = false WHERE id = $1")
        .bind(record)
        .execute(&mut *conn)
        .await?;
    for (handle, wrapped_key) in &rotation.share_keys {
        shares::rewrap(conn, *handle, v.key_gen, wrapped_key).await?;
    }
    Ok(())
}

/// Ends the record's shares (`RecordDeleted`, or `Expired` if their time had already passed), then
/// deletes the record; versions, keys and file rows go with it. Returns the file ids to delete.
pub(super) async fn delete(
    conn: &mut PgConnection,
    events: &mut Pending,
    account: Id,
    record: Id,
    now: UnixTime,
) -> Result<Vec<Id>> {
    lock_owned(conn, account, record).await?;
    let files: Vec<Id> =
        sqlx::query_scalar("SELECT file_id FROM files WHERE record_id = $1 ORDER BY file_id")
            .bind(record)
            .fetch_all(&mut *conn)
            .await?;
    shares::end_all_of_record(conn, events, record, now).await?;
    super::files::drop_record(conn, record, now).await?;
    sqlx::query("DELETE FROM records WHERE id = $1")
        .bind(record)
        .execute(&mut *conn)
        .await?;
    Ok(files)
}

/// Records with a share whose `destroy_at` has passed (docs/protocol.md §4.7), at most `limit`, soonest
/// first, as `(account, record, share)`; read without locks: [`destroy_if_due`] decides under the lock.
pub(super) async fn due_for_destruction(
    conn: &mut PgConnection,
    now: UnixTime,
    limit: u32,
) -> Result<Vec<(Id, Id, Id)>> {
    let rows = sqlx::query(
        "SELECT s.account_id, s.record_id, s.handle FROM shares s JOIN records r ON r.id = s.record_id
         WHERE s.destroy_at IS NOT NULL AND s.destroy_at <= $1
         ORDER BY s.destroy_at, s.handle LIMIT $2",
    )
    .bind(now)
    .bind(i64::from(limit))
    .fetch_all(&mut *conn)
    .await?;
    rows.iter()
        .map(|row| Ok((row.try_get(0)?, row.try_get(1)?, row.try_get(2)?)))
        .collect()
}

/// Destroys `record` if it still exists and is still due at `now`, judged under the record's lock, so of
/// any number of nodes' sweepers exactly one destroys it and raises `RecordDestroyed`. `None` when another
/// got there first.
pub(super) async fn destroy_if_due(
    conn: &mut PgConnection,
    events: &mut Pending,
    record: Id,
    now: UnixTime,
) -> Result<Option<DestroyedRecord>> {
    if lock(conn, record).await?.is_none() {
        return Ok(None);
    }
    let due = sqlx::query(
        "SELECT account_id, handle FROM shares
         WHERE record_id = $1 AND destroy_at IS NOT NULL AND destroy_at <= $2
         ORDER BY destroy_at, handle LIMIT 1",
    )
    .bind(record)
    .bind(now)
    .fetch_optional(&mut *conn)
    .await?;
    let Some(due) = due else {
        return Ok(None);
    };
    let (account, share): (Id, Id) = (due.try_get(0)?, due.try_get(1)?);
    let files = delete(conn, events, account, record, now).await?;
    events.push(
        account,
        EventKind::RecordDestroyed,
        Some(share),
        Some(record),
        None,
        now,
    );
    Ok(Some(DestroyedRecord {
        account,
        record,
        share,
        files,
    }))
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

fn record_head_from_row(row: &PgRow) -> Result<RecordHead> {
    Ok(RecordHead {
        id: row.try_get(0)?,
        version: unsigned(row, 1)?,
        key_gen: unsigned(row, 2)?,
        wrapped_key: row.try_get(3)?,
        summary: row.try_get(4)?,
        author: author_from_column(row.try_get(5)?),
        created_at: row.try_get(6)?,
        updated_at: row.try_get(7)?,
        rotate_pending: row.try_get(8)?,
    })
}

/// Most recently changed first, with the current envelope and proof of each record whose envelope is at
/// most `envelope_limit` bytes, in one statement (`octet_length` reads a stored value's length without
/// fetching it from TOAST, so a large envelope is not read).
pub(super) async fn list(
    conn: &mut PgConnection,
    account: Id,
    envelope_limit: usize,
) -> Result<Vec<ListedRecord>> {
    let limit = i64::try_from(envelope_limit).unwrap_or(i64::MAX);
    sqlx::query(head_select!(
        ", CASE WHEN octet_length(v.envelope) <= $2::int8 THEN v.envelope END, \
         CASE WHEN octet_length(v.envelope) <= $2::int8 THEN v.proof END",
        "r.account_id = $1 ORDER BY r.updated_at DESC, r.id"
    ))
    .bind(account)
    .bind(limit)
    .fetch_all(&mut *conn)
    .await?
    .iter()
    .map(|row| {
        Ok(ListedRecord {
            head: record_head_from_row(row)?,
            envelope: row.try_get(9)?,
            proof: row.try_get(10)?,
        })
    })
    .collect()
}

pub(super) async fn current(
    conn: &mut PgConnection,
    account: Id,
    record: Id,
) -> Result<Option<RecordCurrent>> {
    sqlx::query(head_select!(
        ", v.envelope, v.proof",
        "r.id = $1 AND r.account_id = $2"
    ))
    .bind(record)
    .bind(account)
    .fetch_optional(&mut *conn)
    .await?
    .map(|row| {
        Ok(RecordCurrent {
            head: record_head_from_row(&row)?,
            envelope: row.try_get(9)?,
            proof: row.try_get(10)?,
        })
    })
    .transpose()
}

/// Versions oldest first and every key generation, read in the caller's one snapshot
/// (REPEATABLE READ).
pub(super) async fn history(
    conn: &mut PgConnection,
    account: Id,
    record: Id,
) -> Result<Option<History>> {
    let owned: Option<i32> =
        sqlx::query_scalar("SELECT 1 FROM records WHERE id = $1 AND account_id = $2")
            .bind(record)
            .bind(account)
            .fetch_optional(&mut *conn)
            .await?;
    if owned.is_none() {
        return Ok(None);
    }
    let versions = sqlx::query(
        "SELECT version, key_gen, envelope, proof, author_share, created_at
         FROM versions WHERE record_id = $1 ORDER BY version",
    )
    .bind(record)
    .fetch_all(&mut *conn)
    .await?
    .iter()
    .map(|row| {
        Ok(VersionRow {
            version: unsigned(row, 0)?,
            key_gen: unsigned(row, 1)?,
            envelope: row.try_get(2)?,
            proof: row.try_get(3)?,
            author: author_from_column(row.try_get(4)?),
            created_at: row.try_get(5)?,
        })
    })
    .collect::<Result<_>>()?;
    let keys = sqlx::query(
        "SELECT key_gen, wrapped_key FROM record_keys WHERE record_id = $1 ORDER BY key_gen",
    )
    .bind(record)
    .fetch_all(&mut *conn)
    .await?
    .iter()
    .map(|row| Ok((unsigned(row, 0)?, row.try_get(1)?)))
    .collect::<Result<_>>()?;
    Ok(Some(History { versions, keys }))
}
