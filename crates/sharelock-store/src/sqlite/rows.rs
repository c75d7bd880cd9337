//! Conversions between model types and SQLite rows shared by several modules.

use rusqlite::Row;
use rusqlite::types::{Type, ValueRef};

use crate::model::{Author, EndReason, Id, ShareRequest, ShareRow};

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

/// An enum stored as its text name; an unknown name fails the read rather than guessing.
pub(super) fn parse_text<T>(
    row: &Row<'_>,
    column: usize,
    parse: fn(&str) -> Option<T>,
) -> rusqlite::Result<T> {
    let text: String = row.get(column)?;
    parse(&text).ok_or_else(|| {
        rusqlite::Error::FromSqlConversionFailure(column, Type::Text, "unknown name".into())
    })
}

fn parse_end_reason(row: &Row<'_>, column: usize) -> rusqlite::Result<Option<EndReason>> {
    match row.get_ref(column)? {
        ValueRef::Null => Ok(None),
        _ => parse_text(row, column, EndReason::parse).map(Some),
    }
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
         coalesce((SELECT a.disabled_at IS NOT NULL FROM accounts a WHERE a.id = s.account_id), 0)"
    };
}
pub(super) use share_columns;

/// How many columns `share_columns!()` names: a query's own columns start here.
pub(super) const SHARE_COLUMN_COUNT: usize = 34;

pub(super) fn share_from_row(row: &Row<'_>) -> rusqlite::Result<ShareRow> {
    Ok(ShareRow {
        handle: row.get(0)?,
        share_id: row.get(1)?,
        account_id: row.get(2)?,
        record_id: row.get(3)?,
        token_hash: row.get(4)?,
        wrapped_key: row.get(5)?,
        key_gen: row.get(6)?,
        owner_secret: row.get(7)?,
        label: row.get(8)?,
        editable: row.get(9)?,
        burn_after: row.get(10)?,
        passphrase: row.get(11)?,
        created_at: row.get(12)?,
        expires_at: row.get(13)?,
        bound_at: row.get(14)?,
        device_key: row.get(15)?,
        bind_tag: row.get(16)?,
        ended_at: row.get(17)?,
        end_reason: parse_end_reason(row, 18)?,
        last_access_at: row.get(19)?,
        edit_count: row.get(20)?,
        failed_attempts: row.get(21)?,
        last_failed_at: row.get(22)?,
        refused_at: row.get(23)?,
        view_once: row.get(24)?,
        request: match (
            row.get::<_, Option<u32>>(25)?,
            row.get::<_, Option<Vec<u8>>>(26)?,
        ) {
            (Some(max_answers), Some(instructions)) => Some(ShareRequest {
                max_answers,
                instructions,
            }),
            _ => None,
        },
        open_count: row.get(27)?,
        refused_count: row.get(28)?,
        failed_total: row.get(29)?,
        preface: row.get(30)?,
        destroy_after: row.get(31)?,
        destroy_at: row.get(32)?,
        owner_disabled: row.get(33)?,
    })
}
