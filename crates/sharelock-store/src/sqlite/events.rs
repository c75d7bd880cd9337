//! Owner events: rows written in the same transaction as their cause, read back by id. The one
//! writer inserts them, so ids commit in the order they are drawn.

use rusqlite::{Connection, Transaction, params};

use super::rows::parse_text;
use crate::Result;
use crate::model::*;

/// Inserts an event and adds the row (with its id) to `raised`, which the write hands back to its
/// caller once the transaction has committed.
#[allow(clippy::too_many_arguments)]
pub(super) fn insert(
    tx: &Transaction<'_>,
    raised: &mut Vec<Event>,
    account: Id,
    kind: EventKind,
    share: Option<Id>,
    record: Option<Id>,
    number: Option<i64>,
    at: UnixTime,
) -> Result<()> {
    let id = tx
        .prepare_cached(
            "INSERT INTO events (account_id, kind, share, record, number, at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6) RETURNING id",
        )?
        .query_row(
            params![account, kind.as_str(), share, record, number, at],
            |row| row.get(0),
        )?;
    let event = Event {
        id,
        account_id: account,
        kind,
        share,
        record,
        number,
        at,
    };
    // The webhook outbox gets its rows in the event's transaction: committed together or not at all.
    super::webhooks::fan_out(tx, &event)?;
    raised.push(event);
    Ok(())
}

pub(super) fn since(conn: &Connection, account: Id, after: i64, limit: u32) -> Result<Vec<Event>> {
    let events = conn
        .prepare_cached(
            "SELECT id, account_id, kind, share, record, number, at FROM events
             WHERE account_id = ?1 AND id > ?2 ORDER BY id LIMIT ?3",
        )?
        .query_map(params![account, after, limit], |row| {
            Ok(Event {
                id: row.get(0)?,
                account_id: row.get(1)?,
                kind: parse_text(row, 2, EventKind::parse)?,
                share: row.get(3)?,
                record: row.get(4)?,
                number: row.get(5)?,
                at: row.get(6)?,
            })
        })?
        .collect::<rusqlite::Result<_>>()?;
    Ok(events)
}

pub(super) fn last_id(conn: &Connection, account: Id) -> Result<i64> {
    let id = conn
        .prepare_cached("SELECT coalesce(max(id), 0) FROM events WHERE account_id = ?1")?
        .query_row([account], |row| row.get(0))?;
    Ok(id)
}
