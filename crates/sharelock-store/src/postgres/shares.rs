//! Shares: the owner's side (create, list, end) and the recipient's (bind, view, edit, end).
//!
//! A share is live while `ended_at IS NULL AND expires_at > now`; every statement that needs a live
//! share says so itself, so expiry holds on every request whether or not the sweeper has run. A share
//! only ends while its record's row is locked (see the module docs of `postgres`).

use sqlx::{PgConnection, Row};

use super::events::Pending;
use super::records::{self, Head};
use super::rows::{SHARE_COLUMN_COUNT, int, share_columns, share_from_row, unsigned};
use crate::model::*;
use crate::{Result, StoreError};

/// Rotates the record's key (which locks the record) and inserts the share under the new generation,
/// in the caller's transaction.
pub(super) async fn create(
    conn: &mut PgConnection,
    account: Id,
    record: Id,
    rotation: &Rotation,
    share: &NewShare,
    max_live_shares: u32,
) -> Result<()> {
    records::rotate(conn, account, record, rotation).await?;
    // The account's row orders share creations across its records (lock order: record, then account).
    sqlx::query("SELECT 1 FROM accounts WHERE id = $1 FOR NO KEY UPDATE")
        .bind(account)
        .execute(&mut *conn)
        .await?;
    let live: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM shares WHERE account_id = $1 AND ended_at IS NULL AND expires_at > $2",
    )
    .bind(account)
    .bind(share.created_at)
    .fetch_one(&mut *conn)
    .await?;
    if live >= i64::from(max_live_shares) {
        return Err(StoreError::ShareLimit);
    }
    sqlx::query(
        "INSERT INTO shares (handle, share_id, account_id, record_id, token_hash, wrapped_key, key_gen,
                             owner_secret, label, editable, burn_after, passphrase, created_at, expires_at,
                             view_once, request_max_answers, request_box, preface, destroy_after)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19)",
    )
    .bind(share.handle)
    .bind(&share.share_id[..])
    .bind(account)
    .bind(record)
    .bind(&share.token_hash[..])
    .bind(&share.wrapped_key)
    .bind(int(rotation.version.key_gen)?)
    .bind(&share.owner_secret)
    .bind(&share.label)
    .bind(share.editable)
    .bind(share.burn_after)
    .bind(share.passphrase)
    .bind(share.created_at)
    .bind(share.expires_at)
    .bind(share.view_once)
    .bind(
        share
            .request
            .as_ref()
            .map(|r| i32::try_from(r.max_answers))
            .transpose()
            .map_err(|_| StoreError::Backend("request_max_answers out of range".into()))?,
    )
    .bind(share.request.as_ref().map(|r| r.instructions.clone()))
    .bind(&share.preface)
    .bind(share.destroy_after)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// Handles of the record's shares live at `now` (the caller holds the record's lock).
pub(super) async fn live_handles(
    conn: &mut PgConnection,
    record: Id,
    now: UnixTime,
) -> Result<Vec<Id>> {
    let handles = sqlx::query_scalar(
        "SELECT handle FROM shares WHERE record_id = $1 AND ended_at IS NULL AND expires_at > $2",
    )
    .bind(record)
    .bind(now)
    .fetch_all(&mut *conn)
    .await?;
    Ok(handles)
}

/// Gives a live share the record's new key generation (rotation).
pub(super) async fn rewrap(
    conn: &mut PgConnection,
    handle: Id,
    key_gen: u64,
    wrapped_key: &[u8],
) -> Result<()> {
    sqlx::query("UPDATE shares SET wrapped_key = $2, key_gen = $3 WHERE handle = $1")
        .bind(handle)
        .bind(wrapped_key)
        .bind(int(key_gen)?)
        .execute(&mut *conn)
        .await?;
    Ok(())
}

pub(super) async fn list(
    conn: &mut PgConnection,
    account: Id,
    record: Option<Id>,
) -> Result<Vec<ShareRow>> {
    sqlx::query(concat!(
        "SELECT ",
        share_columns!(),
        " FROM shares s WHERE s.account_id = $1 AND ($2::uuid IS NULL OR s.record_id = $2)
          ORDER BY s.created_at DESC, s.seq DESC"
    ))
    .bind(account)
    .bind(record)
    .fetch_all(&mut *conn)
    .await?
    .iter()
    .map(share_from_row)
    .collect()
}

pub(super) async fn owned(
    conn: &mut PgConnection,
    account: Id,
    handle: Id,
) -> Result<Option<ShareRow>> {
    sqlx::query(concat!(
        "SELECT ",
        share_columns!(),
        " FROM shares s WHERE s.handle = $1 AND s.account_id = $2"
    ))
    .bind(handle)
    .bind(account)
    .fetch_optional(&mut *conn)
    .await?
    .as_ref()
    .map(share_from_row)
    .transpose()
}

pub(super) async fn by_share_id(
    conn: &mut PgConnection,
    share_id: &ShareId,
) -> Result<Option<ShareRow>> {
    sqlx::query(concat!(
        "SELECT ",
        share_columns!(),
        " FROM shares s WHERE s.share_id = $1"
    ))
    .bind(&share_id[..])
    .fetch_optional(&mut *conn)
    .await?
    .as_ref()
    .map(share_from_row)
    .transpose()
}

fn is_live(share: &ShareRow, now: UnixTime) -> bool {
    share.ended_at.is_none() && share.expires_at > now
}

/// Ends a share that has not ended yet: records when and why, drops its wrapped key at once
/// (crypto-shredding), flags its record for rotation and raises `ShareEnded`. The caller holds the
/// record's lock. Returns whether it ended it (false: it had already ended).
pub(super) async fn end_locked(
    conn: &mut PgConnection,
    events: &mut Pending,
    handle: Id,
    reason: EndReason,
    at: UnixTime,
) -> Result<bool> {
    let ended = sqlx::query(
        "UPDATE shares SET ended_at = $2, end_reason = $3, wrapped_key = NULL,
             destroy_at = CASE WHEN destroy_at IS NULL THEN NULL ELSE least(destroy_at, $2) END
         WHERE handle = $1 AND ended_at IS NULL
         RETURNING account_id, record_id",
    )
    .bind(handle)
    .bind(at)
    .bind(reason.as_str())
    .fetch_optional(&mut *conn)
    .await?;
    let Some(row) = ended else {
        return Ok(false);
    };
    let account: Id = row.try_get(0)?;
    let record: Id = row.try_get(1)?;
    sqlx::query("UPDATE records SET rotate_pending = true WHERE id = $1")
        .bind(record)
        .execute(&mut *conn)
        .await?;
    events.push(
        account,
        EventKind::ShareEnded,
        Some(handle),
        Some(record),
        None,
        at,
    );
    Ok(true)
}

/// Ends a share whose time has not been recorded yet: as `Expired` at its expiry if that has
/// passed (what the sweeper would record), otherwise with `reason` at `now`.
async fn end_at(
    conn: &mut PgConnection,
    events: &mut Pending,
    share: &ShareRow,
    reason: EndReason,
    now: UnixTime,
) -> Result<bool> {
    if share.expires_at <= now {
        end_locked(
            conn,
            events,
            share.handle,
            EndReason::Expired,
            share.expires_at,
        )
        .await
    } else {
        end_locked(conn, events, share.handle, reason, now).await
    }
}

/// The owner deletes a share; ending an ended share changes nothing. The record is locked before the
/// share is judged, as for every change of a record's live shares.
pub(super) async fn end_by_owner(
    conn: &mut PgConnection,
    events: &mut Pending,
    account: Id,
    handle: Id,
    now: UnixTime,
) -> Result<ShareRow> {
    let share = owned(conn, account, handle)
        .await?
        .ok_or(StoreError::NotFound)?;
    if share.ended_at.is_some() {
        return Ok(share);
    }
    // A missing record means it was deleted meanwhile, which ended the share: the re-read shows it.
    records::lock(conn, share.record_id).await?;
    let share = owned(conn, account, handle)
        .await?
        .ok_or(StoreError::NotFound)?;
    if share.ended_at.is_some() {
        return Ok(share);
    }
    end_at(conn, events, &share, EndReason::Deleted, now).await?;
    owned(conn, account, handle)
        .await?
        .ok_or(StoreError::NotFound)
}

/// Ends every not-yet-ended share of a record that is being deleted (its lock held), and drops every
/// wrapped key.
pub(super) async fn end_all_of_record(
    conn: &mut PgConnection,
    events: &mut Pending,
    record: Id,
    now: UnixTime,
) -> Result<()> {
    let open: Vec<ShareRow> = sqlx::query(concat!(
        "SELECT ",
        share_columns!(),
        " FROM shares s WHERE s.record_id = $1 AND s.ended_at IS NULL ORDER BY s.seq"
    ))
    .bind(record)
    .fetch_all(&mut *conn)
    .await?
    .iter()
    .map(share_from_row)
    .collect::<Result<_>>()?;
    for share in &open {
        end_at(conn, events, share, EndReason::RecordDeleted, now).await?;
    }
    sqlx::query(
        "UPDATE shares SET wrapped_key = NULL WHERE record_id = $1 AND wrapped_key IS NOT NULL",
    )
    .bind(record)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// The conditional count of docs/protocol.md §5.4 in one statement: the attempt is counted only if the
/// schedule allows one now, judged on the row as the last committed writer left it (racing attempts
/// queue on the row lock and each re-checks the condition after waiting). No row back means refused or
/// unknown.
pub(super) async fn reserve_access_attempt(
    conn: &mut PgConnection,
    share_id: &ShareId,
    now: UnixTime,
) -> Result<Option<u32>> {
    let b = Backoff::ACCESS;
    let granted: Option<i64> = sqlx::query_scalar(
        "UPDATE shares SET failed_attempts = failed_attempts + 1, last_failed_at = $2
         WHERE share_id = $1
           AND (failed_attempts < $3 OR last_failed_at IS NULL
                OR last_failed_at
                   + LEAST($4::bigint << LEAST(failed_attempts - $3, $6)::int, $5) <= $2)
         RETURNING failed_attempts",
    )
    .bind(&share_id[..])
    .bind(now)
    .bind(i64::from(b.free))
    .bind(b.unit_secs)
    .bind(b.max_secs)
    .bind(i64::from(Backoff::MAX_SHIFT))
    .fetch_optional(&mut *conn)
    .await?;
    granted
        .map(|n| {
            u32::try_from(n).map_err(|_| StoreError::Backend("failed_attempts out of range".into()))
        })
        .transpose()
}

/// A share's attempt count and last attempt; `NotFound` for an unknown share.
pub(super) async fn access_attempts(
    conn: &mut PgConnection,
    share_id: &ShareId,
) -> Result<(u32, Option<UnixTime>)> {
    let row = sqlx::query("SELECT failed_attempts, last_failed_at FROM shares WHERE share_id = $1")
        .bind(&share_id[..])
        .fetch_optional(&mut *conn)
        .await?
        .ok_or(StoreError::NotFound)?;
    Ok((unsigned(&row, 0)?, row.try_get(1)?))
}

/// A right token clears the count; a wrong one raises the owner's event at the counts that call for one.
pub(super) async fn access_attempt_judged(
    conn: &mut PgConnection,
    events: &mut Pending,
    share_id: &ShareId,
    n: u32,
    correct: bool,
    now: UnixTime,
) -> Result<()> {
    if correct {
        sqlx::query(
            "UPDATE shares SET failed_attempts = 0, last_failed_at = NULL WHERE share_id = $1",
        )
        .bind(&share_id[..])
        .execute(&mut *conn)
        .await?;
        return Ok(());
    }
    sqlx::query("UPDATE shares SET failed_total = failed_total + 1 WHERE share_id = $1")
        .bind(&share_id[..])
        .execute(&mut *conn)
        .await?;
    if !failures_raise_event(n) {
        return Ok(());
    }
    let row = sqlx::query("SELECT account_id, handle, record_id FROM shares WHERE share_id = $1")
        .bind(&share_id[..])
        .fetch_optional(&mut *conn)
        .await?
        .ok_or(StoreError::NotFound)?;
    events.push(
        row.try_get(0)?,
        EventKind::AccessFailures,
        Some(row.try_get(1)?),
        Some(row.try_get(2)?),
        Some(i64::from(n)),
        now,
    );
    Ok(())
}

pub(super) struct Bind<'a> {
    pub share_id: &'a ShareId,
    pub token_hash: &'a [u8; 32],
    pub device_key: &'a [u8],
    pub bind_tag: &'a [u8],
    pub now: UnixTime,
}

/// The conditional bind of docs/protocol.md §5.3: one statement decides the winner. Racing binds
/// queue on the row; each re-checks `device_key IS NULL` against the committed winner and matches
/// nothing, and only a loser reads the share again to learn why.
pub(super) async fn bind(
    conn: &mut PgConnection,
    events: &mut Pending,
    b: &Bind<'_>,
) -> Result<BindOutcome> {
    let won = sqlx::query(
        "UPDATE shares SET device_key = $3, bind_tag = $4, bound_at = $5,
             expires_at = CASE WHEN burn_after IS NULL THEN expires_at
                               ELSE least(expires_at, $5 + burn_after) END,
             destroy_at = CASE WHEN destroy_after IS NULL THEN NULL
                               ELSE least(expires_at, $5 + destroy_after,
                                          coalesce($5 + burn_after, expires_at)) END
         WHERE share_id = $1 AND token_hash = $2 AND device_key IS NULL
           AND ended_at IS NULL AND expires_at > $5
         RETURNING account_id, handle, record_id",
    )
    .bind(&b.share_id[..])
    .bind(&b.token_hash[..])
    .bind(b.device_key)
    .bind(b.bind_tag)
    .bind(b.now)
    .fetch_optional(&mut *conn)
    .await?;
    if let Some(row) = won {
        events.push(
            row.try_get(0)?,
            EventKind::ShareOpened,
            Some(row.try_get(1)?),
            Some(row.try_get(2)?),
            None,
            b.now,
        );
        return Ok(BindOutcome::Bound);
    }
    let outcome = why_not_bound(conn, b).await?;
    if outcome == BindOutcome::OtherDevice {
        sqlx::query("UPDATE shares SET refused_count = refused_count + 1 WHERE share_id = $1")
            .bind(&b.share_id[..])
            .execute(&mut *conn)
            .await?;
        note_refused_device(conn, events, b.share_id, b.now).await?;
    }
    Ok(outcome)
}

/// Raises `DeviceRefused` unless the share raised one less than [`DEVICE_REFUSED_EVENT_GAP`] ago. One
/// conditional update decides and records it: racing refusals queue on the row, and each re-checks
/// the condition against the committed winner's time, so one event is raised per gap.
async fn note_refused_device(
    conn: &mut PgConnection,
    events: &mut Pending,
    share_id: &ShareId,
    now: UnixTime,
) -> Result<()> {
    let due = sqlx::query(
        "UPDATE shares SET refused_event_at = $2
         WHERE share_id = $1 AND (refused_event_at IS NULL OR refused_event_at <= $2 - $3)
         RETURNING account_id, handle, record_id",
    )
    .bind(&share_id[..])
    .bind(now)
    .bind(DEVICE_REFUSED_EVENT_GAP)
    .fetch_optional(&mut *conn)
    .await?;
    if let Some(row) = due {
        events.push(
            row.try_get(0)?,
            EventKind::DeviceRefused,
            Some(row.try_get(1)?),
            Some(row.try_get(2)?),
            None,
            now,
        );
    }
    Ok(())
}

async fn why_not_bound(conn: &mut PgConnection, b: &Bind<'_>) -> Result<BindOutcome> {
    let Some(share) = by_share_id(conn, b.share_id).await? else {
        return Ok(BindOutcome::NotFound);
    };
    if share.token_hash != *b.token_hash {
        return Ok(BindOutcome::NotFound);
    }
    if !is_live(&share, b.now) {
        return Ok(BindOutcome::Ended);
    }
    match share.device_key {
        Some(bound) if bound == b.device_key => Ok(BindOutcome::AlreadyBound),
        Some(_) => Ok(BindOutcome::OtherDevice),
        // A share is never unbound and never un-ended, so a live unbound share read after the
        // conditional update matched nothing cannot happen.
        None => Err(StoreError::Backend(
            "bind: an unbound live share refused the bind".into(),
        )),
    }
}

/// The share and its record's current version, in one statement (one snapshot). `ShareEnded` if the
/// share is not live at `now`: nothing of an ended share is served, even before the sweeper shreds it.
pub(super) async fn recipient_view(
    conn: &mut PgConnection,
    share_id: &ShareId,
    now: UnixTime,
) -> Result<Option<RecipientView>> {
    let row = sqlx::query(concat!(
        "SELECT ",
        share_columns!(),
        ", v.version, v.key_gen, v.envelope, v.proof
         FROM shares s
         LEFT JOIN records r ON r.id = s.record_id
         LEFT JOIN versions v ON v.record_id = r.id AND v.version = r.version
         WHERE s.share_id = $1"
    ))
    .bind(&share_id[..])
    .fetch_optional(&mut *conn)
    .await?;
    let Some(row) = row else {
        return Ok(None);
    };
    let share = share_from_row(&row)?;
    let n = SHARE_COLUMN_COUNT;
    let version: Option<i64> = row.try_get(n)?;
    // A live share's record always exists: deleting a record ends its shares in the same transaction.
    match version {
        Some(_) if is_live(&share, now) => Ok(Some(RecipientView {
            share,
            version: unsigned(&row, n)?,
            key_gen: unsigned(&row, n + 1)?,
            envelope: row.try_get(n + 2)?,
            proof: row.try_get(n + 3)?,
        })),
        _ => Err(StoreError::ShareEnded),
    }
}

/// Records a read's time (never moving it back) and counts an open if the last recorded access is at
/// least [`OPEN_GAP_SECS`] old: racing touches of one visit, on any nodes, count it once.
pub(super) async fn touch(
    conn: &mut PgConnection,
    share_id: &ShareId,
    now: UnixTime,
) -> Result<()> {
    sqlx::query(
        "UPDATE shares SET
             open_count = open_count
                 + CASE WHEN last_access_at IS NULL OR last_access_at <= $2 - $3 THEN 1 ELSE 0 END,
             last_access_at = greatest(coalesce(last_access_at, $2), $2)
         WHERE share_id = $1",
    )
    .bind(&share_id[..])
    .bind(now)
    .bind(OPEN_GAP_SECS)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// The share a signed request names, checked live and bound (only a bound device can sign).
fn check_signer(share: Option<ShareRow>, now: UnixTime) -> Result<ShareRow> {
    let share = share.ok_or(StoreError::NotFound)?;
    if !is_live(&share, now) {
        return Err(StoreError::ShareEnded);
    }
    if share.device_key.is_none() {
        return Err(StoreError::NotAllowed);
    }
    if share.owner_disabled {
        return Err(StoreError::AccountDisabled);
    }
    Ok(share)
}

/// For a signed change of the share's record: locks the record, then judges the share as it is
/// under the lock (an end that committed first is seen; one that comes later waits for this
/// transaction) and inserts the request's nonce. Returns the share and the record's head.
async fn signed_share_locked(
    conn: &mut PgConnection,
    change: &SignedChange,
) -> Result<(ShareRow, Option<Head>)> {
    let first = by_share_id(conn, &change.share_id).await?;
    let record = check_signer(first, change.now)?.record_id;
    let head = records::lock(conn, record).await?;
    let share = check_signer(by_share_id(conn, &change.share_id).await?, change.now)?;
    insert_nonce(conn, change).await?;
    Ok((share, head))
}

async fn insert_nonce(conn: &mut PgConnection, change: &SignedChange) -> Result<()> {
    let inserted = sqlx::query("INSERT INTO nonces (share_id, nonce, at) VALUES ($1, $2, $3)")
        .bind(&change.share_id[..])
        .bind(&change.nonce[..])
        .bind(change.now)
        .execute(&mut *conn)
        .await;
    match inserted.map_err(StoreError::from) {
        Ok(_) => Ok(()),
        Err(StoreError::AlreadyExists) => Err(StoreError::Replay),
        Err(other) => Err(other),
    }
}

/// The edit transaction: record lock, share judged under it, nonce, version appended against the
/// head read under the lock, edit counted, `RecordEdited` raised.
pub(super) async fn recipient_edit(
    conn: &mut PgConnection,
    events: &mut Pending,
    change: &SignedChange,
    base_version: u64,
    version: &NewVersion,
) -> Result<()> {
    let (share, head) = signed_share_locked(conn, change).await?;
    if !share.editable || version.author != Author::Share(share.handle) {
        return Err(StoreError::NotAllowed);
    }
    // A live share's record exists (deleting it ends the share under the same lock).
    let head = head.ok_or(StoreError::ShareEnded)?;
    records::append_locked(conn, share.record_id, head, base_version, version).await?;
    sqlx::query("UPDATE shares SET edit_count = edit_count + 1 WHERE handle = $1")
        .bind(share.handle)
        .execute(&mut *conn)
        .await?;
    let number = i64::try_from(version.version).ok();
    events.push(
        share.account_id,
        EventKind::RecordEdited,
        Some(share.handle),
        Some(share.record_id),
        number,
        change.now,
    );
    // A request ends with the version that reaches its number of answers. The count was read under the
    // record's lock, which every edit of the share takes first, so no other edit came in between.
    if let Some(request) = &share.request
        && share.edit_count + 1 >= u64::from(request.max_answers)
    {
        end_locked(conn, events, share.handle, EndReason::Answered, change.now).await?;
    }
    Ok(())
}

pub(super) async fn recipient_end(
    conn: &mut PgConnection,
    events: &mut Pending,
    change: &SignedChange,
) -> Result<ShareRow> {
    let (share, _) = signed_share_locked(conn, change).await?;
    end_locked(
        conn,
        events,
        share.handle,
        EndReason::RecipientDone,
        change.now,
    )
    .await?;
    by_share_id(conn, &change.share_id)
        .await?
        .ok_or(StoreError::NotFound)
}

/// A view-once share shown once: locks the record (a share only ends under its record's lock), reads the
/// view under the lock, so an end that committed first is seen, then ends the share. Racing calls queue
/// on the lock; each after the first finds the share ended.
pub(super) async fn recipient_view_once(
    conn: &mut PgConnection,
    events: &mut Pending,
    share_id: &ShareId,
    device_key: &[u8],
    now: UnixTime,
) -> Result<RecipientView> {
    let first = by_share_id(conn, share_id)
        .await?
        .ok_or(StoreError::NotFound)?;
    if !is_live(&first, now) {
        return Err(StoreError::ShareEnded);
    }
    records::lock(conn, first.record_id).await?;
    let view = recipient_view(conn, share_id, now)
        .await?
        .ok_or(StoreError::NotFound)?;
    if !view.share.view_once || view.share.device_key.as_deref() != Some(device_key) {
        return Err(StoreError::NotAllowed);
    }
    if !end_locked(conn, events, view.share.handle, EndReason::Viewed, now).await? {
        return Err(StoreError::ShareEnded);
    }
    Ok(view)
}

/// A nonce for a request with no other effect here (file parts), for a share live and bound when the
/// statement runs.
pub(super) async fn use_nonce(conn: &mut PgConnection, change: &SignedChange) -> Result<()> {
    check_signer(by_share_id(conn, &change.share_id).await?, change.now)?;
    insert_nonce(conn, change).await
}
