//! Shares: the owner's side (create, list, end) and the recipient's (bind, view, edit, end).
//!
//! A share is live while `ended_at IS NULL AND expires_at > now`; every statement that needs a live
//! share says so itself, so expiry holds on every request whether or not the sweeper has run.

use rusqlite::{Connection, OptionalExtension, Transaction, params};

use super::events;
use super::records;
use super::rows::{SHARE_COLUMN_COUNT, share_columns, share_from_row};
use crate::model::*;
use crate::{Result, StoreError};

/// Per-account counts of the shares not ended, kept by the writer connection alone, in its memory (a TEMP
/// table and triggers: nothing on disk, no schema change): an account's row is made by its first share
/// creation since the store opened, from the index, and the triggers follow every insert, end and deletion
/// of a share that this connection makes, inside the same transaction and savepoint (a rolled-back job takes
/// its changes to the count with it). Only this process creates shares; another one working on the same file
/// (`sharelock admin`) can only end or delete them, which leaves a count too high, never too low. So the
/// count is an upper bound on the account's live shares, and a creation under the limit by it needs no
/// walk over them: that walk, up to `max_live_shares` index entries in the writer for every share created,
/// was the single largest cost of share creation (docs/benchmarks.md §4.2).
pub(super) const OPEN_SHARE_COUNTS: &str = "
    CREATE TEMP TABLE open_shares (
        account_id BLOB PRIMARY KEY NOT NULL,
        n          INTEGER NOT NULL
    ) WITHOUT ROWID;
    CREATE TEMP TRIGGER open_shares_insert AFTER INSERT ON main.shares WHEN NEW.ended_at IS NULL
    BEGIN
        UPDATE open_shares SET n = n + 1 WHERE account_id = NEW.account_id;
    END;
    CREATE TEMP TRIGGER open_shares_end AFTER UPDATE OF ended_at ON main.shares
        WHEN OLD.ended_at IS NULL AND NEW.ended_at IS NOT NULL
    BEGIN
        UPDATE open_shares SET n = n - 1 WHERE account_id = OLD.account_id;
    END;
    CREATE TEMP TRIGGER open_shares_delete AFTER DELETE ON main.shares WHEN OLD.ended_at IS NULL
    BEGIN
        UPDATE open_shares SET n = n - 1 WHERE account_id = OLD.account_id;
    END;
";

/// The account's shares not ended, at most (see [`OPEN_SHARE_COUNTS`]).
fn open_shares(tx: &Transaction<'_>, account: Id) -> Result<u32> {
    let kept: Option<u32> = tx
        .prepare_cached("SELECT n FROM temp.open_shares WHERE account_id = ?1")?
        .query_row([account], |row| row.get(0))
        .optional()?;
    if let Some(n) = kept {
        return Ok(n);
    }
    let n: u32 = tx
        .prepare_cached(
            "SELECT count(*) FROM shares INDEXED BY shares_account_open
             WHERE account_id = ?1 AND ended_at IS NULL",
        )?
        .query_row([account], |row| row.get(0))?;
    tx.prepare_cached("INSERT INTO temp.open_shares (account_id, n) VALUES (?1, ?2)")?
        .execute(params![account, n])?;
    Ok(n)
}

/// Rotates the record's key and inserts the share under the new generation, in one transaction.
pub(super) fn create(
    tx: &Transaction<'_>,
    account: Id,
    record: Id,
    rotation: &Rotation,
    share: &NewShare,
    max_live_shares: u32,
) -> Result<()> {
    records::rotate(tx, account, record, rotation)?;
    // The single writer runs one transaction at a time: no other share can be created in between. Under the
    // limit by the upper bound, it is under the limit; at or over it (expired shares not yet swept are
    // counted there), the live ones are counted. Named index: it holds only shares not ended, so the count
    // never walks the ended ones.
    if open_shares(tx, account)? >= max_live_shares {
        let live: u32 = tx
            .prepare_cached(
                "SELECT count(*) FROM shares INDEXED BY shares_account_open
                 WHERE account_id = ?1 AND ended_at IS NULL AND expires_at > ?2",
            )?
            .query_row(params![account, share.created_at], |row| row.get(0))?;
        if live >= max_live_shares {
            return Err(StoreError::ShareLimit);
        }
    }
    tx.prepare_cached(
        "INSERT INTO shares (handle, share_id, account_id, record_id, token_hash, wrapped_key, key_gen,
                             owner_secret, label, editable, burn_after, passphrase, created_at, expires_at,
                             view_once, request_max_answers, request_box, preface, destroy_after)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, ?19)",
    )?
    .execute(params![
        share.handle,
        share.share_id,
        account,
        record,
        share.token_hash,
        share.wrapped_key,
        rotation.version.key_gen,
        share.owner_secret,
        share.label,
        share.editable,
        share.burn_after,
        share.passphrase,
        share.created_at,
        share.expires_at,
        share.view_once,
        share.request.as_ref().map(|r| r.max_answers),
        share.request.as_ref().map(|r| &r.instructions),
        share.preface,
        share.destroy_after
    ])?;
    Ok(())
}

/// Handles of the record's shares live at `now`.
pub(super) fn live_handles(conn: &Connection, record: Id, now: UnixTime) -> Result<Vec<Id>> {
    let handles = conn
        .prepare_cached(
            "SELECT handle FROM shares WHERE record_id = ?1 AND ended_at IS NULL AND expires_at > ?2",
        )?
        .query_map(params![record, now], |row| row.get(0))?
        .collect::<rusqlite::Result<_>>()?;
    Ok(handles)
}

/// Gives a live share the record's new key generation (rotation).
pub(super) fn rewrap(
    tx: &Transaction<'_>,
    handle: Id,
    key_gen: u64,
    wrapped_key: &[u8],
) -> Result<()> {
    tx.prepare_cached("UPDATE shares SET wrapped_key = ?2, key_gen = ?3 WHERE handle = ?1")?
        .execute(params![handle, wrapped_key, key_gen])?;
    Ok(())
}

pub(super) fn list(conn: &Connection, account: Id, record: Option<Id>) -> Result<Vec<ShareRow>> {
    let shares = conn
        .prepare_cached(concat!(
            "SELECT ",
            share_columns!(),
            " FROM shares s WHERE s.account_id = ?1 AND (?2 IS NULL OR s.record_id = ?2)
              ORDER BY s.created_at DESC, s.rowid DESC"
        ))?
        .query_map(params![account, record], share_from_row)?
        .collect::<rusqlite::Result<_>>()?;
    Ok(shares)
}

pub(super) fn owned(conn: &Connection, account: Id, handle: Id) -> Result<Option<ShareRow>> {
    let share = conn
        .prepare_cached(concat!(
            "SELECT ",
            share_columns!(),
            " FROM shares s WHERE s.handle = ?1 AND s.account_id = ?2"
        ))?
        .query_row(params![handle, account], share_from_row)
        .optional()?;
    Ok(share)
}

pub(super) fn by_share_id(conn: &Connection, share_id: &ShareId) -> Result<Option<ShareRow>> {
    let share = conn
        .prepare_cached(concat!(
            "SELECT ",
            share_columns!(),
            " FROM shares s WHERE s.share_id = ?1"
        ))?
        .query_row([share_id], share_from_row)
        .optional()?;
    Ok(share)
}

fn is_live(share: &ShareRow, now: UnixTime) -> bool {
    share.ended_at.is_none() && share.expires_at > now
}

/// Ends a share that has not ended yet: records when and why, drops its wrapped key at once
/// (crypto-shredding), flags its record for rotation and raises `ShareEnded`, all in the caller's
/// transaction. Returns whether it ended it (false: it had already ended).
pub(super) fn end(
    tx: &Transaction<'_>,
    raised: &mut Vec<Event>,
    handle: Id,
    reason: EndReason,
    at: UnixTime,
) -> Result<bool> {
    let ended = tx
        .prepare_cached(
            "UPDATE shares SET ended_at = ?2, end_reason = ?3, wrapped_key = NULL,
                 destroy_at = CASE WHEN destroy_at IS NULL THEN NULL ELSE min(destroy_at, ?2) END
             WHERE handle = ?1 AND ended_at IS NULL
             RETURNING account_id, record_id",
        )?
        .query_row(params![handle, at, reason.as_str()], |row| {
            Ok((row.get::<_, Id>(0)?, row.get::<_, Id>(1)?))
        })
        .optional()?;
    let Some((account, record)) = ended else {
        return Ok(false);
    };
    tx.prepare_cached("UPDATE records SET rotate_pending = 1 WHERE id = ?1")?
        .execute([record])?;
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
    Ok(true)
}

/// Ends a share whose time has not been recorded yet: as `Expired` at its expiry if that has
/// passed (what the sweeper would record), otherwise with `reason` at `now`.
fn end_at(
    tx: &Transaction<'_>,
    raised: &mut Vec<Event>,
    share: &ShareRow,
    reason: EndReason,
    now: UnixTime,
) -> Result<bool> {
    if share.expires_at <= now {
        end(
            tx,
            raised,
            share.handle,
            EndReason::Expired,
            share.expires_at,
        )
    } else {
        end(tx, raised, share.handle, reason, now)
    }
}

/// The owner deletes a share; ending an ended share changes nothing.
pub(super) fn end_by_owner(
    tx: &Transaction<'_>,
    raised: &mut Vec<Event>,
    account: Id,
    handle: Id,
    now: UnixTime,
) -> Result<ShareRow> {
    let share = owned(tx, account, handle)?.ok_or(StoreError::NotFound)?;
    if share.ended_at.is_some() {
        return Ok(share);
    }
    end_at(tx, raised, &share, EndReason::Deleted, now)?;
    owned(tx, account, handle)?.ok_or(StoreError::NotFound)
}

/// Ends every not-yet-ended share of a record that is being deleted, and drops every wrapped key.
pub(super) fn end_all_of_record(
    tx: &Transaction<'_>,
    raised: &mut Vec<Event>,
    record: Id,
    now: UnixTime,
) -> Result<()> {
    let open: Vec<ShareRow> = tx
        .prepare_cached(concat!(
            "SELECT ",
            share_columns!(),
            " FROM shares s WHERE s.record_id = ?1 AND s.ended_at IS NULL"
        ))?
        .query_map([record], share_from_row)?
        .collect::<rusqlite::Result<_>>()?;
    for share in &open {
        end_at(tx, raised, share, EndReason::RecordDeleted, now)?;
    }
    tx.prepare_cached(
        "UPDATE shares SET wrapped_key = NULL WHERE record_id = ?1 AND wrapped_key IS NOT NULL",
    )?
    .execute([record])?;
    Ok(())
}

/// The conditional count of docs/protocol.md §5.4: the attempt is counted only if the schedule allows one
/// now, in the same statement that judges that. No row back means refused (or unknown); the caller is the
/// writer, so the re-read sees the row the statement judged.
pub(super) fn reserve_access_attempt(
    tx: &Transaction<'_>,
    share_id: &ShareId,
    now: UnixTime,
) -> Result<Attempt> {
    let b = Backoff::ACCESS;
    let granted: Option<u32> = tx
        .prepare_cached(
            "UPDATE shares SET failed_attempts = failed_attempts + 1, last_failed_at = ?2
             WHERE share_id = ?1
               AND (failed_attempts < ?3 OR last_failed_at IS NULL
                    OR last_failed_at + min(?4 << min(failed_attempts - ?3, ?6), ?5) <= ?2)
             RETURNING failed_attempts",
        )?
        .query_row(
            params![
                share_id,
                now,
                b.free,
                b.unit_secs,
                b.max_secs,
                Backoff::MAX_SHIFT
            ],
            |row| row.get(0),
        )
        .optional()?;
    if let Some(n) = granted {
        return Ok(Attempt::Granted { n });
    }
    let (attempts, last): (u32, Option<UnixTime>) = tx
        .prepare_cached("SELECT failed_attempts, last_failed_at FROM shares WHERE share_id = ?1")?
        .query_row([share_id], |row| Ok((row.get(0)?, row.get(1)?)))
        .optional()?
        .ok_or(StoreError::NotFound)?;
    Ok(Attempt::Wait {
        retry_after: b.retry_after(attempts, last, now).unwrap_or(1),
    })
}

/// [`reserve_access_attempt`] and, when granted, [`access_attempt_judged`], as `Store::access_attempt` makes
/// them. A right token within the free attempts is granted whatever the row's last failure, and its
/// judgement clears the count the reservation would have raised: the row ends as a cleared one, so that is
/// written directly, and nothing at all when it is clear already (most status calls and binds; a batch that
/// writes nothing commits without a sync). The caller is the only writer, so the row read here is the row the
/// reservation would have judged.
pub(super) fn access_attempt(
    tx: &Transaction<'_>,
    raised: &mut Vec<Event>,
    share_id: &ShareId,
    correct: bool,
    now: UnixTime,
) -> Result<Attempt> {
    if correct {
        let (attempts, last): (u32, Option<UnixTime>) = tx
            .prepare_cached(
                "SELECT failed_attempts, last_failed_at FROM shares WHERE share_id = ?1",
            )?
            .query_row([share_id], |row| Ok((row.get(0)?, row.get(1)?)))
            .optional()?
            .ok_or(StoreError::NotFound)?;
        if attempts < Backoff::ACCESS.free {
            if attempts > 0 || last.is_some() {
                tx.prepare_cached(
                    "UPDATE shares SET failed_attempts = 0, last_failed_at = NULL WHERE share_id = ?1",
                )?
                .execute([share_id])?;
            }
            return Ok(Attempt::Granted { n: attempts + 1 });
        }
    }
    let attempt = reserve_access_attempt(tx, share_id, now)?;
    if let Attempt::Granted { n } = attempt {
        access_attempt_judged(tx, raised, share_id, n, correct, now)?;
    }
    Ok(attempt)
}

/// A right token clears the count; a wrong one raises the owner's event at the counts that call for one.
pub(super) fn access_attempt_judged(
    tx: &Transaction<'_>,
    raised: &mut Vec<Event>,
    share_id: &ShareId,
    n: u32,
    correct: bool,
    now: UnixTime,
) -> Result<()> {
    if correct {
        tx.prepare_cached(
            "UPDATE shares SET failed_attempts = 0, last_failed_at = NULL WHERE share_id = ?1",
        )?
        .execute([share_id])?;
        return Ok(());
    }
    tx.prepare_cached("UPDATE shares SET failed_total = failed_total + 1 WHERE share_id = ?1")?
        .execute([share_id])?;
    if !failures_raise_event(n) {
        return Ok(());
    }
    let (account, handle, record) = tx
        .prepare_cached("SELECT account_id, handle, record_id FROM shares WHERE share_id = ?1")?
        .query_row([share_id], |row| {
            Ok((row.get(0)?, row.get(1)?, row.get(2)?))
        })
        .optional()?
        .ok_or(StoreError::NotFound)?;
    events::insert(
        tx,
        raised,
        account,
        EventKind::AccessFailures,
        Some(handle),
        Some(record),
        Some(i64::from(n)),
        now,
    )
}

pub(super) struct Bind {
    pub share_id: ShareId,
    pub token_hash: [u8; 32],
    pub device_key: Vec<u8>,
    pub bind_tag: Vec<u8>,
    pub now: UnixTime,
}

/// The conditional bind of docs/protocol.md §5.3: one statement decides the winner, and only a
/// loser reads the share again to learn why.
pub(super) fn bind(tx: &Transaction<'_>, raised: &mut Vec<Event>, b: &Bind) -> Result<BindOutcome> {
    let won = tx
        .prepare_cached(
            "UPDATE shares SET device_key = ?3, bind_tag = ?4, bound_at = ?5,
                 expires_at = CASE WHEN burn_after IS NULL THEN expires_at
                                   ELSE min(expires_at, ?5 + burn_after) END,
                 destroy_at = CASE WHEN destroy_after IS NULL THEN NULL
                                   ELSE min(expires_at, ?5 + destroy_after,
                                            coalesce(?5 + burn_after, expires_at)) END
             WHERE share_id = ?1 AND token_hash = ?2 AND device_key IS NULL
               AND ended_at IS NULL AND expires_at > ?5
             RETURNING account_id, handle, record_id",
        )?
        .query_row(
            params![b.share_id, b.token_hash, b.device_key, b.bind_tag, b.now],
            |row| {
                Ok((
                    row.get::<_, Id>(0)?,
                    row.get::<_, Id>(1)?,
                    row.get::<_, Id>(2)?,
                ))
            },
        )
        .optional()?;
    if let Some((account, handle, record)) = won {
        events::insert(
            tx,
            raised,
            account,
            EventKind::ShareOpened,
            Some(handle),
            Some(record),
            None,
            b.now,
        )?;
        return Ok(BindOutcome::Bound);
    }
    let outcome = why_not_bound(tx, b)?;
    if outcome == BindOutcome::OtherDevice {
        tx.prepare_cached(
            "UPDATE shares SET refused_count = refused_count + 1 WHERE share_id = ?1",
        )?
        .execute([&b.share_id])?;
        note_refused_device(tx, raised, &b.share_id, b.now)?;
    }
    Ok(outcome)
}

/// Raises `DeviceRefused` unless the share raised one less than [`DEVICE_REFUSED_EVENT_GAP`] ago;
/// the conditional update decides and records it in one statement.
fn note_refused_device(
    tx: &Transaction<'_>,
    raised: &mut Vec<Event>,
    share_id: &ShareId,
    now: UnixTime,
) -> Result<()> {
    let due = tx
        .prepare_cached(
            "UPDATE shares SET refused_event_at = ?2
             WHERE share_id = ?1 AND (refused_event_at IS NULL OR refused_event_at <= ?2 - ?3)
             RETURNING account_id, handle, record_id",
        )?
        .query_row(params![share_id, now, DEVICE_REFUSED_EVENT_GAP], |row| {
            Ok((
                row.get::<_, Id>(0)?,
                row.get::<_, Id>(1)?,
                row.get::<_, Id>(2)?,
            ))
        })
        .optional()?;
    if let Some((account, handle, record)) = due {
        events::insert(
            tx,
            raised,
            account,
            EventKind::DeviceRefused,
            Some(handle),
            Some(record),
            None,
            now,
        )?;
    }
    Ok(())
}

/// Reads only the four columns that decide (the whole row was most of a refused bind's cost).
fn why_not_bound(conn: &Connection, b: &Bind) -> Result<BindOutcome> {
    type Decides = (Vec<u8>, Option<Vec<u8>>, Option<UnixTime>, UnixTime);
    let row: Option<Decides> = conn
        .prepare_cached(
            "SELECT token_hash, device_key, ended_at, expires_at FROM shares WHERE share_id = ?1",
        )?
        .query_row([&b.share_id], |row| {
            Ok((row.get(0)?, row.get(1)?, row.get(2)?, row.get(3)?))
        })
        .optional()?;
    let Some((token_hash, device_key, ended_at, expires_at)) = row else {
        return Ok(BindOutcome::NotFound);
    };
    if token_hash != b.token_hash {
        return Ok(BindOutcome::NotFound);
    }
    if ended_at.is_some() || expires_at <= b.now {
        return Ok(BindOutcome::Ended);
    }
    match device_key {
        Some(bound) if bound == b.device_key => Ok(BindOutcome::AlreadyBound),
        Some(_) => Ok(BindOutcome::OtherDevice),
        // Unreachable while this transaction is the only writer: the conditional update would
        // have bound it.
        None => Err(StoreError::Backend(
            "bind: an unbound live share refused the bind".into(),
        )),
    }
}

/// The share and its record's current version. `ShareEnded` if the share is not live at `now`:
/// nothing of an ended share is served, even before the sweeper shreds it.
pub(super) fn recipient_view(
    conn: &Connection,
    share_id: &ShareId,
    now: UnixTime,
) -> Result<Option<RecipientView>> {
    let view = conn
        .prepare_cached(concat!(
            "SELECT ",
            share_columns!(),
            ", v.version, v.key_gen, v.envelope, v.proof
             FROM shares s
             LEFT JOIN records r ON r.id = s.record_id
             LEFT JOIN versions v ON v.record_id = r.id AND v.version = r.version
             WHERE s.share_id = ?1"
        ))?
        .query_row([share_id], |row| {
            let share = share_from_row(row)?;
            let n = SHARE_COLUMN_COUNT;
            let version: Option<u64> = row.get(n)?;
            let current = match version {
                Some(version) => Some((version, row.get(n + 1)?, row.get(n + 2)?, row.get(n + 3)?)),
                None => None,
            };
            Ok((share, current))
        })
        .optional()?;
    let Some((share, current)) = view else {
        return Ok(None);
    };
    // A live share's record always exists: deleting a record ends its shares in the same transaction.
    match current {
        Some((version, key_gen, envelope, proof)) if is_live(&share, now) => {
            Ok(Some(RecipientView {
                share,
                version,
                key_gen,
                envelope,
                proof,
            }))
        }
        _ => Err(StoreError::ShareEnded),
    }
}

/// Records a read's time (never moving it back) and counts an open if the last recorded access is at
/// least [`OPEN_GAP_SECS`] old: racing touches of one visit count it once.
pub(super) fn touch(tx: &Transaction<'_>, share_id: &ShareId, now: UnixTime) -> Result<()> {
    tx.prepare_cached(
        "UPDATE shares SET
             open_count = open_count + (last_access_at IS NULL OR last_access_at <= ?2 - ?3),
             last_access_at = max(coalesce(last_access_at, ?2), ?2)
         WHERE share_id = ?1",
    )?
    .execute(params![share_id, now, OPEN_GAP_SECS])?;
    Ok(())
}

/// The share a signed request names, if it is live and bound (only a bound device can sign), with
/// the request's nonce inserted: a second use of the nonce is `Replay`.
fn signed_share(tx: &Transaction<'_>, change: &SignedChange) -> Result<ShareRow> {
    let share = by_share_id(tx, &change.share_id)?.ok_or(StoreError::NotFound)?;
    if !is_live(&share, change.now) {
        return Err(StoreError::ShareEnded);
    }
    if share.device_key.is_none() {
        return Err(StoreError::NotAllowed);
    }
    if share.owner_disabled {
        return Err(StoreError::AccountDisabled);
    }
    insert_nonce(tx, change)?;
    Ok(share)
}

fn insert_nonce(tx: &Transaction<'_>, change: &SignedChange) -> Result<()> {
    let inserted = tx
        .prepare_cached("INSERT INTO nonces (share_id, nonce, at) VALUES (?1, ?2, ?3)")?
        .execute(params![change.share_id, change.nonce, change.now]);
    match inserted.map_err(StoreError::from) {
        Ok(_) => Ok(()),
        Err(StoreError::AlreadyExists) => Err(StoreError::Replay),
        Err(other) => Err(other),
    }
}

pub(super) fn recipient_edit(
    tx: &Transaction<'_>,
    raised: &mut Vec<Event>,
    change: &SignedChange,
    base_version: u64,
    version: &NewVersion,
) -> Result<()> {
    let share = signed_share(tx, change)?;
    if !share.editable || version.author != Author::Share(share.handle) {
        return Err(StoreError::NotAllowed);
    }
    records::append(tx, share.record_id, base_version, version)?;
    tx.prepare_cached("UPDATE shares SET edit_count = edit_count + 1 WHERE handle = ?1")?
        .execute([share.handle])?;
    let number = i64::try_from(version.version).ok();
    events::insert(
        tx,
        raised,
        share.account_id,
        EventKind::RecordEdited,
        Some(share.handle),
        Some(share.record_id),
        number,
        change.now,
    )?;
    // A request ends with the version that reaches its number of answers: the single writer has just
    // read the count, so no other edit of the share came in between.
    if let Some(request) = &share.request
        && share.edit_count + 1 >= u64::from(request.max_answers)
    {
        end(tx, raised, share.handle, EndReason::Answered, change.now)?;
    }
    Ok(())
}

pub(super) fn recipient_end(
    tx: &Transaction<'_>,
    raised: &mut Vec<Event>,
    change: &SignedChange,
) -> Result<ShareRow> {
    let share = signed_share(tx, change)?;
    end(
        tx,
        raised,
        share.handle,
        EndReason::RecipientDone,
        change.now,
    )?;
    by_share_id(tx, &change.share_id)?.ok_or(StoreError::NotFound)
}

/// A view-once share shown once: the view, then the share's end, in the caller's transaction (the single
/// writer runs one at a time, so a second call sees the share ended).
pub(super) fn recipient_view_once(
    tx: &Transaction<'_>,
    raised: &mut Vec<Event>,
    share_id: &ShareId,
    device_key: &[u8],
    now: UnixTime,
) -> Result<RecipientView> {
    let view = recipient_view(tx, share_id, now)?.ok_or(StoreError::NotFound)?;
    if !view.share.view_once || view.share.device_key.as_deref() != Some(device_key) {
        return Err(StoreError::NotAllowed);
    }
    if !end(tx, raised, view.share.handle, EndReason::Viewed, now)? {
        return Err(StoreError::ShareEnded);
    }
    Ok(view)
}

pub(super) fn use_nonce(tx: &Transaction<'_>, change: &SignedChange) -> Result<()> {
    signed_share(tx, change).map(drop)
}
