//! The sweeper's steps. Each handles at most `limit` rows per call, so one sweep never holds the
//! writer for long; the caller repeats a step until it comes back short.

use rusqlite::{Transaction, params};

use super::events;
use crate::Result;
use crate::model::*;

/// Rows per step and commit.
pub(super) const BATCH: u64 = SWEEP_BATCH;

/// Shares the expiry step ends per commit: fewer than [`BATCH`], because its cost per share grows with
/// the step. The writer runs each job inside a savepoint, whose sub-journal keeps a copy of every page
/// the job changed; each event insert journals the pages it appends to again for its own statement and,
/// releasing that, truncates the in-memory sub-journal, which walks it from the start. Most of the writer's
/// time in a 500-share step went there (docs/benchmarks.md §7).
pub(super) const EXPIRE_BATCH: u64 = 100;

/// Ends shares whose time has passed, as `Expired` at their expiry: what [`super::shares::end`] does for one
/// share, for a batch of them in one statement, which reads the sweeper's index of shares not ended (by
/// expiry) and updates the rows in table order. Their records are flagged for rotation once each, and
/// only those not flagged yet: a record with many lapsing shares is written once, not once a share.
/// Ending drops the wrapped key, and a share holds one until it ends, so every share ended here is also
/// a key shredded.
pub(super) fn expire(
    tx: &Transaction<'_>,
    raised: &mut Vec<Event>,
    now: UnixTime,
    limit: u64,
) -> Result<u64> {
    let mut ended: Vec<(UnixTime, Id, Id, Id)> = tx
        .prepare_cached(
            "UPDATE shares SET ended_at = expires_at, end_reason = ?3, wrapped_key = NULL,
                 destroy_at = CASE WHEN destroy_at IS NULL THEN NULL ELSE min(destroy_at, expires_at) END
             WHERE rowid IN (SELECT rowid FROM shares INDEXED BY shares_live_expiry
                             WHERE ended_at IS NULL AND expires_at <= ?1 LIMIT ?2)
             RETURNING expires_at, handle, account_id, record_id",
        )?
        .query_map(params![now, limit, EndReason::Expired.as_str()], |row| {
            Ok((row.get(0)?, row.get(1)?, row.get(2)?, row.get(3)?))
        })?
        .collect::<rusqlite::Result<_>>()?;
    // Events in the order the shares lapsed.
    ended.sort_unstable();
    let mut records: Vec<Id> = ended.iter().map(|&(_, _, _, record)| record).collect();
    records.sort_unstable();
    records.dedup();
    let mut flag = tx.prepare_cached(
        "UPDATE records SET rotate_pending = 1 WHERE id = ?1 AND rotate_pending = 0",
    )?;
    for record in records {
        flag.execute([record])?;
    }
    for &(at, handle, account, record) in &ended {
        events::insert(
            tx,
            raised,
            account,
            EventKind::ShareEnded,
            Some(handle),
            Some(record),
            None,
            at,
        )?;
    }
    Ok(ended.len() as u64)
}

/// Drops any wrapped key an ended share still holds. Named index: left to itself the planner walks
/// `shares_ended`, every ended share kept for `retention`, where `shares_unshredded` holds only these.
pub(super) fn shred(tx: &Transaction<'_>, limit: u64) -> Result<u64> {
    let changed = tx
        .prepare_cached(
            "UPDATE shares SET wrapped_key = NULL WHERE handle IN
                 (SELECT handle FROM shares INDEXED BY shares_unshredded
                  WHERE ended_at IS NOT NULL AND wrapped_key IS NOT NULL LIMIT ?1)",
        )?
        .execute([limit])?;
    Ok(changed as u64)
}

/// Removes shares that ended before `cutoff`. Their versions keep naming them as author.
pub(super) fn purge(tx: &Transaction<'_>, cutoff: UnixTime, limit: u64) -> Result<u64> {
    let changed = tx
        .prepare_cached(
            "DELETE FROM shares WHERE handle IN
                 (SELECT handle FROM shares WHERE ended_at IS NOT NULL AND ended_at < ?1 LIMIT ?2)",
        )?
        .execute(params![cutoff, limit])?;
    Ok(changed as u64)
}

/// Forgets replay nonces used before `cutoff`: by then `created` is outside the accepted window.
pub(super) fn nonces(tx: &Transaction<'_>, cutoff: UnixTime, limit: u64) -> Result<u64> {
    let changed = tx
        .prepare_cached(
            "DELETE FROM nonces WHERE (share_id, nonce) IN
                 (SELECT share_id, nonce FROM nonces WHERE at < ?1 LIMIT ?2)",
        )?
        .execute(params![cutoff, limit])?;
    Ok(changed as u64)
}

pub(super) fn sessions(tx: &Transaction<'_>, now: UnixTime, limit: u64) -> Result<u64> {
    let changed = tx
        .prepare_cached(
            "DELETE FROM sessions WHERE token_hash IN
                 (SELECT token_hash FROM sessions WHERE expires_at <= ?1 LIMIT ?2)",
        )?
        .execute(params![now, limit])?;
    Ok(changed as u64)
}

pub(super) fn events(tx: &Transaction<'_>, cutoff: UnixTime, limit: u64) -> Result<u64> {
    let changed = tx
        .prepare_cached(
            "DELETE FROM events WHERE id IN (SELECT id FROM events WHERE at < ?1 LIMIT ?2)",
        )?
        .execute(params![cutoff, limit])?;
    Ok(changed as u64)
}

/// Forgets login attempt counts with no attempt since `cutoff`.
pub(super) fn login_attempts(tx: &Transaction<'_>, cutoff: UnixTime, limit: u64) -> Result<u64> {
    let changed = tx
        .prepare_cached(
            "DELETE FROM login_attempts WHERE key IN
                 (SELECT key FROM login_attempts WHERE last_at < ?1 LIMIT ?2)",
        )?
        .execute(params![cutoff, limit])?;
    Ok(changed as u64)
}
