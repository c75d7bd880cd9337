//! The sweeper's steps. Each handles at most `limit` rows per call, so one sweep never holds the
//! writer for long; the caller repeats a step until it comes back short.

use rusqlite::{Transaction, params};

use super::shares;
use crate::Result;
use crate::model::*;

/// Rows per step and commit.
pub(super) const BATCH: u64 = SWEEP_BATCH;

/// Ends shares whose time has passed, as `Expired` at their expiry. Ending drops the wrapped key, and a
/// share holds one until it ends, so every share ended here is also a key shredded.
pub(super) fn expire(
    tx: &Transaction<'_>,
    raised: &mut Vec<Event>,
    now: UnixTime,
    limit: u64,
) -> Result<u64> {
    let due: Vec<(Id, UnixTime)> = tx
        .prepare_cached(
            "SELECT handle, expires_at FROM shares WHERE ended_at IS NULL AND expires_at <= ?1 LIMIT ?2",
        )?
        .query_map(params![now, limit], |row| Ok((row.get(0)?, row.get(1)?)))?
        .collect::<rusqlite::Result<_>>()?;
    let mut ended = 0;
    for (handle, expires_at) in due {
        ended += u64::from(shares::end(
            tx,
            raised,
            handle,
            EndReason::Expired,
            expires_at,
        )?);
    }
    Ok(ended)
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
