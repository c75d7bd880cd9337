//! Conversions between model types and PostgreSQL rows shared by several modules. PostgreSQL has no
//! unsigned integers: versions, key generations, counts and sizes are stored as `bigint` and checked
//! on the way in and out.

use sqlx::Row;
use sqlx::postgres::PgRow;

use crate::model::{Author, EndReason, Id, ShareRequest, ShareRow};
use crate::{Result, StoreError};

/// A version's or file's author as stored: NULL for the owner, else the share handle.
pub(super) fn author_column(author: Author) -> Option<Id> {
    match author {
        Author::Owner => None,
        Author::Share(handle) => Some(handle),
    }
}

pub(super) fn author_from_column(handle: Option<Id>) -> Author {
    handle.map_or(Author::Owner, Author::Share)
}

/// A `u64` as a `bigint` parameter.
pub(super) fn int(value: u64) -> Result<i64> {
    i64::try_from(value).map_err(|_| StoreError::Backend("a number is out of range".into()))
}

/// A `bigint` column as a non-negative number.
pub(super) fn unsigned<T: TryFrom<i64>>(row: &PgRow, column: usize) -> Result<T> {
    let value: i64 = row.try_get(column)?;
    T::try_from(value)
        .map_err(|_| StoreError::Backend(format!("column {column}: integer out of range")))
}

/// A fixed-size byte column (share ids, hashes).
pub(super) fn fixed<const N: usize>(row: &PgRow, column: usize) -> Result<[u8; N]> {
    let bytes: Vec<u8> = row.try_get(column)?;
    bytes
        .try_into()
        .map_err(|_| StoreError::Backend(format!("column {column}: expected {N} bytes")))
}

/// An enum stored as its text name; an unknown name fails the read rather than guessing.
pub(super) fn parse_text<T>(row: &PgRow, column: usize, parse: fn(&str) -> Option<T>) -> Result<T> {
    let text: String = row.try_get(column)?;
    parse(&text).ok_or_else(|| StoreError::Backend(format!("column {column}: unknown name")))
}

fn parse_end_reason(row: &PgRow, column: usize) -> Result<Option<EndReason>> {
    let text: Option<String> = row.try_get(column)?;
    text.map(|t| {
        EndReason::parse(&t)
            .ok_or_else(|| StoreError::Backend(format!("column {column}: unknown name")))
    })
    .transpose()
}

/// The columns [`share_from_row`] reads, in order, from `shares` aliased as `s`.
macro_rules! share_columns {
    () => {
        "s.handle, s.share_id, s.account_id, s.record_id, s.token_hash, s.wrapped_key, s.key_gen, \
         s.owner_secret, s.label, s.editable, s.burn_after, s.passphrase, s.created_at, s.expires_at, \
         s.bound_at, s.device_key, s.bind_tag, s.ended_at, s.end_reason, s.last_access_at, s.edit_count, \
         s.failed_attempts, s.last_failed_at, s.refused_event_at, s.view_once, \
         s.request_max_answers, s.request_box, \
         s.open_count, s.refused_count, s.failed_total, \
         s.preface, s.destroy_after, s.destroy_at, \
         coalesce((SELECT a.disabled_at IS NOT NULL FROM accounts a WHERE a.id = s.account_id), false)"
    };
}
pub(super) use share_columns;

/// How many columns `share_columns!()` names: a query's own columns start here.
pub(super) const SHARE_COLUMN_COUNT: usize = 34;

pub(super) fn share_from_row(row: &PgRow) -> Result<ShareRow> {
    Ok(ShareRow {
        handle: row.try_get(0)?,
        share_id: fixed(row, 1)?,
        account_id: row.try_get(2)?,
        record_id: row.try_get(3)?,
        token_hash: fixed(row, 4)?,
        wrapped_key: row.try_get(5)?,
        key_gen: unsigned(row, 6)?,
        owner_secret: row.try_get(7)?,
        label: row.try_get(8)?,
        editable: row.try_get(9)?,
        burn_after: row.try_get(10)?,
        passphrase: row.try_get(11)?,
        created_at: row.try_get(12)?,
        expires_at: row.try_get(13)?,
        bound_at: row.try_get(14)?,
        device_key: row.try_get(15)?,
        bind_tag: row.try_get(16)?,
        ended_at: row.try_get(17)?,
        end_reason: parse_end_reason(row, 18)?,
        last_access_at: row.try_get(19)?,
        edit_count: unsigned(row, 20)?,
        failed_attempts: unsigned(row, 21)?,
        last_failed_at: row.try_get(22)?,
        refused_at: row.try_get(23)?,
        view_once: row.try_get(24)?,
        request: match (
            row.try_get::<Option<i32>, _>(25)?,
            row.try_get::<Option<Vec<u8>>, _>(26)?,
        ) {
            (Some(max_answers), Some(instructions)) => Some(ShareRequest {
                max_answers: u32::try_from(max_answers)
                    .map_err(|_| StoreError::Backend("a negative request_max_answers".into()))?,
                instructions,
            }),
            _ => None,
        },
        open_count: unsigned(row, 27)?,
        refused_count: unsigned(row, 28)?,
        failed_total: unsigned(row, 29)?,
        preface: row.try_get(30)?,
        destroy_after: row.try_get(31)?,
        destroy_at: row.try_get(32)?,
        owner_disabled: row.try_get(33)?,
    })
}
