//! Owner events: collected while a transaction works, inserted at its end under the account's event
//! lock, read back by id.

use sqlx::{PgConnection, Row};

use super::rows::parse_text;
use crate::Result;
use crate::model::*;

/// First key of the two-key advisory locks that order an account's events (the second is derived
/// from the account id). Two-key advisory locks never collide with single-key ones such as the
/// migrator's.
const EVENT_LOCK_SPACE: i32 = 0x5345_5645; // "SEVE"

/// An event a transaction will insert when it is about to commit.
#[derive(Debug, Clone)]
pub(super) struct NewEvent {
    pub account: Id,
    pub kind: EventKind,
    pub share: Option<Id>,
    pub record: Option<Id>,
    pub number: Option<i64>,
    pub at: UnixTime,
}

/// The events of one transaction, in the order they were raised.
#[derive(Debug, Default)]
pub(super) struct Pending(Vec<NewEvent>);

impl Pending {
    pub fn push(
        &mut self,
        account: Id,
        kind: EventKind,
        share: Option<Id>,
        record: Option<Id>,
        number: Option<i64>,
        at: UnixTime,
    ) {
        self.0.push(NewEvent {
            account,
            kind,
            share,
            record,
            number,
            at,
        });
    }

    /// Takes each account's event lock (ascending keys, so two transactions that write for several
    /// accounts cannot deadlock), then inserts the events in the order they were raised. The locks are
    /// held until the transaction ends: nothing else of this transaction may wait on a lock after this.
    pub async fn insert(self, conn: &mut PgConnection) -> Result<Vec<Event>> {
        if self.0.is_empty() {
            return Ok(Vec::new());
        }
        let mut keys: Vec<i32> = self.0.iter().map(|e| lock_key(e.account)).collect();
        keys.sort_unstable();
        keys.dedup();
        for key in keys {
            sqlx::query("SELECT pg_advisory_xact_lock($1, $2)")
                .bind(EVENT_LOCK_SPACE)
                .bind(key)
                .execute(&mut *conn)
                .await?;
        }
        let mut inserted = Vec::with_capacity(self.0.len());
        for e in self.0 {
            let id: i64 = sqlx::query_scalar(
                "INSERT INTO events (account_id, kind, share, record, number, at)
                 VALUES ($1, $2, $3, $4, $5, $6) RETURNING id",
            )
            .bind(e.account)
            .bind(e.kind.as_str())
            .bind(e.share)
            .bind(e.record)
            .bind(e.number)
            .bind(e.at)
            .fetch_one(&mut *conn)
            .await?;
            let event = Event {
                id,
                account_id: e.account,
                kind: e.kind,
                share: e.share,
                record: e.record,
                number: e.number,
                at: e.at,
            };
            // The webhook outbox gets its rows in the event's transaction: committed together or not
            // at all.
            super::webhooks::fan_out(&mut *conn, &event).await?;
            inserted.push(event);
        }
        Ok(inserted)
    }
}

/// The second key of an account's event lock: its id folded to 32 bits. Two accounts that share a key
/// only wait for each other's event inserts now and then.
fn lock_key(account: Id) -> i32 {
    let bytes = account.as_bytes();
    let folded = bytes
        .chunks_exact(4)
        .map(|c| u32::from_be_bytes([c[0], c[1], c[2], c[3]]))
        .fold(0u32, |acc, word| acc ^ word);
    i32::from_be_bytes(folded.to_be_bytes())
}

pub(super) async fn since(
    conn: &mut PgConnection,
    account: Id,
    after: i64,
    limit: u32,
) -> Result<Vec<Event>> {
    let rows = sqlx::query(
        "SELECT id, account_id, kind, share, record, number, at FROM events
         WHERE account_id = $1 AND id > $2 ORDER BY id LIMIT $3",
    )
    .bind(account)
    .bind(after)
    .bind(i64::from(limit))
    .fetch_all(&mut *conn)
    .await?;
    rows.iter()
        .map(|row| {
            Ok(Event {
                id: row.try_get(0)?,
                account_id: row.try_get(1)?,
                kind: parse_text(row, 2, EventKind::parse)?,
                share: row.try_get(3)?,
                record: row.try_get(4)?,
                number: row.try_get(5)?,
                at: row.try_get(6)?,
            })
        })
        .collect()
}

pub(super) async fn last_id(conn: &mut PgConnection, account: Id) -> Result<i64> {
    let id: i64 =
        sqlx::query_scalar("SELECT coalesce(max(id), 0) FROM events WHERE account_id = $1")
            .bind(account)
            .fetch_one(&mut *conn)
            .await?;
    Ok(id)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lock_keys_fold_the_whole_id() {
        assert_eq!(lock_key(Id::from_bytes([7; 16])), 0);
        assert_eq!(
            lock_key(Id::from_bytes([
                0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0
            ])),
            1
        );
        assert_eq!(
            lock_key(Id::from_bytes([
                0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 3
            ])),
            3
        );
        assert_eq!(
            lock_key(Id::from_bytes([
                0x80, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0
            ])),
            i32::MIN
        );
    }
}
