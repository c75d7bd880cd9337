//! The sweeper's steps, safe to run on every node at once. Each step claims at most `limit` rows with
//! `FOR UPDATE SKIP LOCKED` in one transaction: rows another node (or a request) holds are left to
//! it, and every change is conditional, so no row is handled twice; the caller repeats a step until
//! it claims less than a full batch, and whatever was skipped comes up again in the next sweep.

use sqlx::{PgConnection, Row};

use super::events::Pending;
use crate::Result;
use crate::model::*;

/// Rows per step and commit.
pub(super) const BATCH: u64 = SWEEP_BATCH;

/// What a step claimed (to know whether to go on) and changed (for the report).
#[derive(Debug, Clone, Copy)]
pub(super) struct Claimed {
    pub claimed: u64,
    pub changed: u64,
}

impl Claimed {
    fn same(rows: u64) -> Self {
        Self {
            claimed: rows,
            changed: rows,
        }
    }
}

fn limit(n: u64) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

/// Ends shares whose time has passed, as `Expired` at their expiry. Ending a share changes its
/// record's live set, so this claims records (their row lock, the same every share end takes first)
/// and ends their due shares; a record locked by a request or another node is skipped. Ending drops
/// the wrapped key, and a share holds one until it ends, so every share ended here is also a key
/// shredded.
pub(super) async fn expire(
    conn: &mut PgConnection,
    events: &mut Pending,
    now: UnixTime,
    batch: u64,
) -> Result<Claimed> {
    let records: Vec<Id> = sqlx::query_scalar(
        "SELECT r.id FROM records r
         WHERE r.id IN (SELECT s.record_id FROM shares s WHERE s.ended_at IS NULL AND s.expires_at <= $1)
         LIMIT $2
         FOR NO KEY UPDATE OF r SKIP LOCKED",
    )
    .bind(now)
    .bind(limit(batch))
    .fetch_all(&mut *conn)
    .await?;
    if records.is_empty() {
        return Ok(Claimed::same(0));
    }
    // At most a batch of shares too, whatever the records hold: a batch's events stay bounded.
    let ended = sqlx::query(
        "UPDATE shares SET ended_at = expires_at, end_reason = 'expired', wrapped_key = NULL
         WHERE handle IN (SELECT handle FROM shares
                          WHERE record_id = ANY($1) AND ended_at IS NULL AND expires_at <= $2
                          LIMIT $3)
         RETURNING account_id, handle, record_id, expires_at",
    )
    .bind(&records)
    .bind(now)
    .bind(limit(batch))
    .fetch_all(&mut *conn)
    .await?;
    sqlx::query("UPDATE records SET rotate_pending = true WHERE id = ANY($1)")
        .bind(&records)
        .execute(&mut *conn)
        .await?;
    let mut rows = ended
        .iter()
        .map(|row| {
            Ok((
                row.try_get::<i64, _>(3)?,
                row.try_get::<Id, _>(1)?,
                row.try_get::<Id, _>(0)?,
                row.try_get::<Id, _>(2)?,
            ))
        })
        .collect::<Result<Vec<_>>>()?;
    rows.sort_unstable();
    for (at, handle, account, record) in &rows {
        events.push(
            *account,
            EventKind::ShareEnded,
            Some(*handle),
            Some(*record),
            None,
            *at,
        );
    }
    // A full batch of shares may have left due shares on the claimed records: go on.
    let claimed = if rows.len() as u64 >= batch {
        batch
    } else {
        records.len() as u64
    };
    Ok(Claimed {
        claimed,
        changed: rows.len() as u64,
    })
}

/// Drops any wrapped key an ended share still holds.
pub(super) async fn shred(conn: &mut PgConnection, batch: u64) -> Result<Claimed> {
    let changed = sqlx::query(
        "WITH claimed AS MATERIALIZED (
             SELECT handle FROM shares WHERE ended_at IS NOT NULL AND wrapped_key IS NOT NULL
             LIMIT $1 FOR UPDATE SKIP LOCKED)
         UPDATE shares s SET wrapped_key = NULL FROM claimed c WHERE s.handle = c.handle",
    )
    .bind(limit(batch))
    .execute(&mut *conn)
    .await?
    .rows_affected();
    Ok(Claimed::same(changed))
}

/// Removes shares that ended before `cutoff`. Their versions keep naming them as author.
pub(super) async fn purge(
    conn: &mut PgConnection,
    cutoff: UnixTime,
    batch: u64,
) -> Result<Claimed> {
    let changed = sqlx::query(
        "WITH claimed AS MATERIALIZED (
             SELECT handle FROM shares WHERE ended_at IS NOT NULL AND ended_at < $1
             LIMIT $2 FOR UPDATE SKIP LOCKED)
         DELETE FROM shares s USING claimed c WHERE s.handle = c.handle",
    )
    .bind(cutoff)
    .bind(limit(batch))
    .execute(&mut *conn)
    .await?
    .rows_affected();
    Ok(Claimed::same(changed))
}

/// Forgets replay nonces used before `cutoff`: by then `created` is outside the accepted window.
pub(super) async fn nonces(
    conn: &mut PgConnection,
    cutoff: UnixTime,
    batch: u64,
) -> Result<Claimed> {
    let changed = sqlx::query(
        "WITH claimed AS MATERIALIZED (
             SELECT share_id, nonce FROM nonces WHERE at < $1 LIMIT $2 FOR UPDATE SKIP LOCKED)
         DELETE FROM nonces n USING claimed c WHERE n.share_id = c.share_id AND n.nonce = c.nonce",
    )
    .bind(cutoff)
    .bind(limit(batch))
    .execute(&mut *conn)
    .await?
    .rows_affected();
    Ok(Claimed::same(changed))
}

pub(super) async fn sessions(
    conn: &mut PgConnection,
    now: UnixTime,
    batch: u64,
) -> Result<Claimed> {
    let changed = sqlx::query(
        "WITH claimed AS MATERIALIZED (
             SELECT token_hash FROM sessions WHERE expires_at <= $1 LIMIT $2 FOR UPDATE SKIP LOCKED)
         DELETE FROM sessions s USING claimed c WHERE s.token_hash = c.token_hash",
    )
    .bind(now)
    .bind(limit(batch))
    .execute(&mut *conn)
    .await?
    .rows_affected();
    Ok(Claimed::same(changed))
}

pub(super) async fn events(
    conn: &mut PgConnection,
    cutoff: UnixTime,
    batch: u64,
) -> Result<Claimed> {
    let changed = sqlx::query(
        "WITH claimed AS MATERIALIZED (
             SELECT id FROM events WHERE at < $1 LIMIT $2 FOR UPDATE SKIP LOCKED)
         DELETE FROM events e USING claimed c WHERE e.id = c.id",
    )
    .bind(cutoff)
    .bind(limit(batch))
    .execute(&mut *conn)
    .await?
    .rows_affected();
    Ok(Claimed::same(changed))
}

/// Forgets login attempt counts with no attempt since `cutoff`. A count an attempt is changing is
/// skipped; one changed since the claim no longer matches and stays.
pub(super) async fn login_attempts(
    conn: &mut PgConnection,
    cutoff: UnixTime,
    batch: u64,
) -> Result<Claimed> {
    let changed = sqlx::query(
        "WITH claimed AS MATERIALIZED (
             SELECT key FROM login_attempts WHERE last_at < $1 LIMIT $2 FOR UPDATE SKIP LOCKED)
         DELETE FROM login_attempts a USING claimed c WHERE a.key = c.key AND a.last_at < $1",
    )
    .bind(cutoff)
    .bind(limit(batch))
    .execute(&mut *conn)
    .await?
    .rows_affected();
    Ok(Claimed::same(changed))
}
