//! The recipient's side: the share view, reads, edits, ending, nonces and wrong access tokens.

use std::time::Duration;

use super::*;

/// The recipient's view follows the record's current version and key generation.
pub async fn recipient_view(store: &impl Store) {
    let account = account(store).await;
    let record = record(store, account).await;
    let share = share(store, account, record, ShareSpec::default()).await;
    assert!(
        store
            .recipient_view(&random16(), T0)
            .await
            .expect("view")
            .is_none()
    );

    let view = store
        .recipient_view(&share.share_id, T0 + 1)
        .await
        .expect("view")
        .expect("found");
    assert_eq!(view.share.handle, share.handle);
    assert_eq!((view.version, view.key_gen), (2, 2));
    assert_eq!(view.envelope, b"envelope v2 k2");
    assert_eq!(view.proof, b"proof v2");
    assert_eq!(
        view.share.wrapped_key.as_deref(),
        Some(&b"rk2 under sk"[..])
    );

    store
        .update_record(account, record, 2, version(3, 2, Author::Owner, T0 + 2))
        .await
        .expect("update");
    let view = store
        .recipient_view(&share.share_id, T0 + 3)
        .await
        .expect("view")
        .expect("found");
    assert_eq!(view.envelope, b"envelope v3 k2");

    let rotation = honest_rotation(store, account, record, T0 + 4).await;
    store
        .rotate_record(account, record, rotation)
        .await
        .expect("rotate");
    let view = store
        .recipient_view(&share.share_id, T0 + 5)
        .await
        .expect("view")
        .expect("found");
    assert_eq!((view.version, view.key_gen, view.share.key_gen), (4, 3, 3));
    assert_eq!(
        view.share.wrapped_key.as_deref(),
        Some(&b"rk3 under sk"[..])
    );

    store
        .end_share(account, share.handle, T0 + 6)
        .await
        .expect("end");
    assert_store_err!(
        store.recipient_view(&share.share_id, T0 + 6).await,
        StoreError::ShareEnded
    );
}

/// A read's time is recorded without the caller waiting; it never moves back. A touch counts an open
/// only when the last recorded access is at least `OPEN_GAP_SECS` old.
pub async fn touch_share(store: &impl Store) {
    let account = account(store).await;
    let record = record(store, account).await;
    let share = share(store, account, record, ShareSpec::default()).await;
    store
        .touch_share(&share.share_id, T0 + 50)
        .await
        .expect("touch");
    store
        .touch_share(&share.share_id, T0 + 40)
        .await
        .expect("touch");
    // Fire-and-forget: poll until it lands.
    let mut seen = None;
    for _ in 0..200 {
        seen = by_id(store, share).await.last_access_at;
        if seen == Some(T0 + 50) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert_eq!(seen, Some(T0 + 50));
    assert_eq!(by_id(store, share).await.open_count, 1);
    // Within the gap of the last access (which moves on): the same open.
    let gap = crate::model::OPEN_GAP_SECS;
    for at in [
        T0 + 50 + gap - 1,
        T0 + 50 + 2 * gap - 2,
        T0 + 50 + 3 * gap - 2,
    ] {
        store.touch_share(&share.share_id, at).await.expect("touch");
    }
    let mut row = by_id(store, share).await;
    for _ in 0..200 {
        if row.last_access_at == Some(T0 + 50 + 3 * gap - 2) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
        row = by_id(store, share).await;
    }
    assert_eq!(row.last_access_at, Some(T0 + 50 + 3 * gap - 2));
    // 50+gap-1 and 50+2gap-2 each came less than a gap after the one before; 50+3gap-2 a full gap after.
    assert_eq!(row.open_count, 2);
    store
        .touch_share(&random16(), T0)
        .await
        .expect("touching an unknown share is harmless");
}

pub async fn recipient_edit(store: &impl Store) {
    let account = account(store).await;
    let record = record(store, account).await;
    let editable = ShareSpec {
        editable: true,
        ..ShareSpec::default()
    };
    let share = self::share(store, account, record, editable).await;
    let by_share = Author::Share(share.handle);

    let unbound = store
        .recipient_edit(change(share, T0 + 1), 2, version(3, 2, by_share, T0 + 1))
        .await;
    assert_store_err!(unbound, StoreError::NotAllowed);
    bind(store, share, T0 + 2).await;

    let first = change(share, T0 + 3);
    store
        .recipient_edit(first.clone(), 2, version(3, 2, by_share, T0 + 3))
        .await
        .expect("edit");
    let current = store
        .record(account, record)
        .await
        .expect("read")
        .expect("found");
    assert_eq!(current.head.version, 3);
    assert_eq!(current.head.author, by_share);
    assert_eq!(current.envelope, b"envelope v3 k2");
    assert_eq!(by_id(store, share).await.edit_count, 1);

    let replay = store
        .recipient_edit(first, 3, version(4, 2, by_share, T0 + 4))
        .await;
    assert_store_err!(replay, StoreError::Replay);

    let conflict = store
        .recipient_edit(change(share, T0 + 4), 2, version(3, 2, by_share, T0 + 4))
        .await;
    assert_store_err!(
        conflict,
        StoreError::VersionConflict {
            current_version: 3,
            current_key_gen: 2
        }
    );
    // A refused edit leaves nothing behind, not even its nonce: the corrected retry goes through.
    let retry = change(share, T0 + 5);
    let refused = store
        .recipient_edit(retry.clone(), 2, version(3, 2, by_share, T0 + 5))
        .await;
    assert_store_err!(refused, StoreError::VersionConflict { .. });
    store
        .recipient_edit(retry, 3, version(4, 2, by_share, T0 + 5))
        .await
        .expect("retry with the same nonce");

    let impostor = store
        .recipient_edit(
            change(share, T0 + 6),
            4,
            version(5, 2, Author::Owner, T0 + 6),
        )
        .await;
    assert_store_err!(impostor, StoreError::NotAllowed);

    let rotation = honest_rotation(store, account, record, T0 + 7).await;
    store
        .rotate_record(account, record, rotation)
        .await
        .expect("rotate");
    let stale = store
        .recipient_edit(change(share, T0 + 8), 5, version(6, 2, by_share, T0 + 8))
        .await;
    assert_store_err!(
        stale,
        StoreError::StaleKey {
            current_version: 5,
            current_key_gen: 3
        }
    );
    store
        .recipient_edit(change(share, T0 + 9), 5, version(6, 3, by_share, T0 + 9))
        .await
        .expect("edit under the new key");
    assert_eq!(by_id(store, share).await.edit_count, 3);

    let read_only = self::share(store, account, record, ShareSpec::default()).await;
    bind(store, read_only, T0 + 10).await;
    let head = head(store, account, record).await;
    let not_editable = store
        .recipient_edit(
            change(read_only, T0 + 11),
            head.version,
            version(
                head.version + 1,
                head.key_gen,
                Author::Share(read_only.handle),
                T0 + 11,
            ),
        )
        .await;
    assert_store_err!(not_editable, StoreError::NotAllowed);

    store
        .end_share(account, share.handle, T0 + 12)
        .await
        .expect("end");
    let head = self::head(store, account, record).await;
    let ended = store
        .recipient_edit(
            change(share, T0 + 13),
            head.version,
            version(head.version + 1, head.key_gen, by_share, T0 + 13),
        )
        .await;
    assert_store_err!(ended, StoreError::ShareEnded);
    let unknown = SignedChange {
        share_id: random16(),
        nonce: random16(),
        now: T0 + 13,
    };
    let unknown = store
        .recipient_edit(
            unknown,
            head.version,
            version(head.version + 1, head.key_gen, by_share, T0 + 13),
        )
        .await;
    assert_store_err!(unknown, StoreError::NotFound);

    let history = store
        .history(account, record)
        .await
        .expect("history")
        .expect("found");
    let authors: Vec<Author> = history.versions.iter().map(|v| v.author).collect();
    let expected_authors = vec![
        Author::Owner,
        Author::Owner,
        by_share,
        by_share,
        Author::Owner,
        by_share,
        Author::Owner,
    ];
    assert_eq!(authors, expected_authors);
}

/// "I have it, delete it": only the bound device, once, and its nonce counts.
pub async fn recipient_end(store: &impl Store) {
    let account = account(store).await;
    let record = record(store, account).await;
    let share = share(store, account, record, ShareSpec::default()).await;

    assert_store_err!(
        store.recipient_end(change(share, T0 + 1)).await,
        StoreError::NotAllowed
    );
    bind(store, share, T0 + 2).await;

    let used = change(share, T0 + 3);
    store.use_nonce(used.clone()).await.expect("nonce");
    assert_store_err!(store.recipient_end(used).await, StoreError::Replay);
    assert!(
        by_id(store, share).await.ended_at.is_none(),
        "a replayed end ends nothing"
    );

    let (ended, _) = store
        .recipient_end(change(share, T0 + 4))
        .await
        .expect("end");
    assert_eq!(ended.end_reason, Some(EndReason::RecipientDone));
    assert_eq!(ended.ended_at, Some(T0 + 4));
    assert_eq!(ended.wrapped_key, None);
    assert_eq!(ended.state(T0 + 4), ShareState::Deleted);
    assert!(head(store, account, record).await.rotate_pending);
    assert_store_err!(
        store.recipient_end(change(share, T0 + 5)).await,
        StoreError::ShareEnded
    );
    let unknown = SignedChange {
        share_id: random16(),
        nonce: random16(),
        now: T0,
    };
    assert_store_err!(store.recipient_end(unknown).await, StoreError::NotFound);
}

/// Nonces are unique per share.
pub async fn use_nonce(store: &impl Store) {
    let account = account(store).await;
    let record = record(store, account).await;
    let first = share(store, account, record, ShareSpec::default()).await;
    let second = share(store, account, record, ShareSpec::default()).await;
    bind(store, first, T0 + 1).await;
    bind(store, second, T0 + 1).await;

    let nonce = change(first, T0 + 2);
    store.use_nonce(nonce.clone()).await.expect("first use");
    assert_store_err!(store.use_nonce(nonce.clone()).await, StoreError::Replay);
    let elsewhere = SignedChange {
        share_id: second.share_id,
        ..nonce
    };
    store
        .use_nonce(elsewhere)
        .await
        .expect("the same nonce on another share");

    let unknown = SignedChange {
        share_id: random16(),
        nonce: random16(),
        now: T0,
    };
    assert_store_err!(store.use_nonce(unknown).await, StoreError::NotFound);
    store
        .end_share(account, first.handle, T0 + 3)
        .await
        .expect("end");
    assert_store_err!(
        store.use_nonce(change(first, T0 + 4)).await,
        StoreError::ShareEnded
    );
}

/// Access-token attempts are counted per share on the schedule of [`Backoff::ACCESS`], every step of it
/// judged by the store itself; a refused attempt is not counted; a right token clears the count; the
/// owner hears of wrong ones at 5, 8, 16, … (see [`failures_raise_event`]).
pub async fn access_attempts(store: &impl Store) {
    let account = account(store).await;
    let record = record(store, account).await;
    let share = share(store, account, record, ShareSpec::default()).await;
    let other = self::share(store, account, record, ShareSpec::default()).await;

    for n in 1..=5u32 {
        assert_eq!(
            wrong_attempt(store, &share.share_id, T0 + i64::from(n)).await,
            n
        );
    }
    let b = Backoff::ACCESS;
    let (mut last, mut n) = (T0 + 5, 5);
    assert_eq!(
        refused(
            store
                .reserve_access_attempt(&share.share_id, last)
                .await
                .expect("reserve")
        ),
        b.wait(5)
    );
    // Every further step: refused a second before the wait is over (not counted), granted at its end.
    while n < 16 {
        let next = last + b.wait(n);
        assert_eq!(
            refused(
                store
                    .reserve_access_attempt(&share.share_id, next - 1)
                    .await
                    .expect("reserve")
            ),
            1,
            "after {n}"
        );
        assert_eq!(wrong_attempt(store, &share.share_id, next).await, n + 1);
        (last, n) = (next, n + 1);
    }
    assert_eq!(b.wait(n), b.max_secs, "the wait is capped");
    let row = by_id(store, share).await;
    assert_eq!((row.failed_attempts, row.last_failed_at), (16, Some(last)));
    assert_eq!(
        by_id(store, other).await.failed_attempts,
        0,
        "counted per share"
    );

    let bursts: Vec<Option<i64>> = all_events(store, account)
        .await
        .into_iter()
        .filter(|e| e.kind == EventKind::AccessFailures)
        .map(|e| e.number)
        .collect();
    assert_eq!(bursts, vec![Some(5), Some(8), Some(16)]);
    assert!(
        (1..=64)
            .filter(|&n| failures_raise_event(n))
            .eq([5, 8, 16, 32, 64])
    );

    // A right token, once its turn comes, clears the count; it raises no event.
    let now = last + b.max_secs;
    let n = granted(
        store
            .reserve_access_attempt(&share.share_id, now)
            .await
            .expect("reserve"),
    );
    assert_eq!(n, 17);
    store
        .access_attempt_judged(&share.share_id, n, true, now)
        .await
        .expect("judged");
    let row = by_id(store, share).await;
    assert_eq!((row.failed_attempts, row.last_failed_at), (0, None));
    assert_eq!(
        row.failed_total, 16,
        "the total of wrong tokens is never cleared"
    );
    assert_eq!(wrong_attempt(store, &share.share_id, now).await, 1);
    assert_eq!(by_id(store, share).await.failed_total, 17);
    assert_eq!(by_id(store, other).await.failed_total, 0);
    assert_eq!(
        all_events(store, account)
            .await
            .iter()
            .filter(|e| e.kind == EventKind::AccessFailures)
            .count(),
        3
    );

    assert_store_err!(
        store.reserve_access_attempt(&random16(), T0).await,
        StoreError::NotFound
    );
}

/// A view-once share is shown once: the first fetch by its device gets the view and ends the share in
/// the same transaction (`Viewed`, key dropped, record due for rotation, `ShareEnded` raised); of racing
/// fetches exactly one gets it. Another device, a share that is not view-once, an unbound or ended one
/// get nothing and end nothing.
pub async fn view_once(store: &impl Store) {
    let account = account(store).await;
    let record = record(store, account).await;
    let once = ShareSpec {
        view_once: true,
        ..ShareSpec::default()
    };
    let share = self::share(store, account, record, once).await;
    assert!(by_id(store, share).await.view_once);
    // Not bound yet: no device may see it.
    assert_store_err!(
        store
            .recipient_view_once(&share.share_id, &device_key(), T0 + 1)
            .await,
        StoreError::NotAllowed
    );
    let device = bind(store, share, T0 + 2).await;
    assert_store_err!(
        store
            .recipient_view_once(&share.share_id, &device_key(), T0 + 3)
            .await,
        StoreError::NotAllowed
    );
    assert!(by_id(store, share).await.ended_at.is_none());

    // Many fetches at once: one view, one end, one event.
    let results = futures::future::join_all(
        (0..12).map(|_| store.recipient_view_once(&share.share_id, &device, T0 + 4)),
    )
    .await;
    let mut shown = 0;
    for result in results {
        match result {
            Ok((view, raised)) => {
                shown += 1;
                assert_eq!(view.share.handle, share.handle);
                assert!(view.share.wrapped_key.is_some(), "the view carries the key");
                assert_eq!(kinds(&raised), vec![EventKind::ShareEnded]);
                assert_eq!(raised[0].share, Some(share.handle));
            }
            Err(StoreError::ShareEnded) => {}
            Err(e) => panic!("unexpected {e:?}"),
        }
    }
    assert_eq!(shown, 1, "exactly one fetch is shown the record");
    let ended = by_id(store, share).await;
    assert_eq!(ended.end_reason, Some(EndReason::Viewed));
    assert_eq!(ended.ended_at, Some(T0 + 4));
    assert_eq!(ended.wrapped_key, None);
    assert_eq!(ended.state(T0 + 4), ShareState::Deleted);
    assert!(head(store, account, record).await.rotate_pending);
    assert_store_err!(
        store.recipient_view(&share.share_id, T0 + 5).await,
        StoreError::ShareEnded
    );
    let ended_events = all_events(store, account)
        .await
        .into_iter()
        .filter(|e| e.kind == EventKind::ShareEnded)
        .count();
    assert_eq!(ended_events, 1);

    // A share that is not view-once is never ended this way.
    let plain = self::share(store, account, record, ShareSpec::default()).await;
    let holder = bind(store, plain, T0 + 6).await;
    assert_store_err!(
        store
            .recipient_view_once(&plain.share_id, &holder, T0 + 7)
            .await,
        StoreError::NotAllowed
    );
    assert!(by_id(store, plain).await.ended_at.is_none());
    assert!(!by_id(store, plain).await.view_once);
    assert_store_err!(
        store
            .recipient_view_once(&random16(), &holder, T0 + 7)
            .await,
        StoreError::NotFound
    );
}

/// The attempt counted, granted and judged as one write: the same schedule, counts and events as
/// reserving then judging, and a refused attempt's judgement is never applied.
pub async fn access_attempt_in_one_write(store: &impl Store) {
    let account = account(store).await;
    let record = record(store, account).await;
    let share = share(store, account, record, ShareSpec::default()).await;
    let attempt = |correct: bool, now: UnixTime| async move {
        store
            .access_attempt(&share.share_id, correct, now)
            .await
            .expect("attempt")
    };

    // A right token clears the count it was counted in: the row is as before.
    let (first, events) = attempt(true, T0).await;
    assert_eq!(granted(first), 1);
    assert!(events.is_empty());
    let row = by_id(store, share).await;
    assert_eq!((row.failed_attempts, row.last_failed_at), (0, None));

    // Wrong ones are counted; the 5th raises the owner's event, returned by the write that raised it.
    for n in 1..=5u32 {
        let (outcome, events) = attempt(false, T0 + i64::from(n)).await;
        assert_eq!(granted(outcome), n);
        assert_eq!(
            events
                .iter()
                .filter(|e| e.kind == EventKind::AccessFailures)
                .map(|e| e.number)
                .collect::<Vec<_>>(),
            if n == 5 { vec![Some(5)] } else { vec![] }
        );
    }
    let b = Backoff::ACCESS;
    // During the wait a right token is refused like a wrong one, and nothing is counted or cleared.
    let (during, events) = attempt(true, T0 + 5).await;
    assert_eq!(refused(during), b.wait(5));
    assert!(events.is_empty());
    let row = by_id(store, share).await;
    assert_eq!((row.failed_attempts, row.last_failed_at), (5, Some(T0 + 5)));
    // Once the wait is over, the right token is granted and clears the count.
    let (after, _) = attempt(true, T0 + 5 + b.wait(5)).await;
    assert_eq!(granted(after), 6);
    let row = by_id(store, share).await;
    assert_eq!((row.failed_attempts, row.last_failed_at), (0, None));

    assert_store_err!(
        store.access_attempt(&random16(), true, T0).await,
        StoreError::NotFound
    );
}

/// A request (docs/protocol.md §4.5) ends with the version that reaches its number of answers, in the
/// same transaction: the share is recorded `answered`, its wrapped key dropped, its record flagged for
/// rotation, and the owner hears `record_edited` then `share_ended`; the record keeps the answers and the
/// share takes no further write.
pub async fn request_answers(store: &impl Store) {
    let account = account(store).await;
    let record = record(store, account).await;
    let request = ShareRequest {
        max_answers: 2,
        instructions: vec![7; 284],
    };
    let spec = ShareSpec {
        editable: true,
        request: Some(request.clone()),
        ..ShareSpec::default()
    };
    let share = self::share(store, account, record, spec).await;
    let listed = store
        .share(account, share.handle)
        .await
        .expect("read share")
        .expect("share exists");
    assert_eq!(listed.request, Some(request.clone()));
    bind(store, share, T0 + 1).await;
    let by_share = Author::Share(share.handle);

    let first = store
        .recipient_edit(change(share, T0 + 2), 2, version(3, 2, by_share, T0 + 2))
        .await
        .expect("first answer");
    assert_eq!(kinds(&first), vec![EventKind::RecordEdited]);
    let row = by_id(store, share).await;
    assert_eq!((row.edit_count, row.ended_at), (1, None));
    assert!(row.wrapped_key.is_some());

    let last = store
        .recipient_edit(change(share, T0 + 3), 3, version(4, 2, by_share, T0 + 3))
        .await
        .expect("last answer");
    assert_eq!(
        kinds(&last),
        vec![EventKind::RecordEdited, EventKind::ShareEnded]
    );
    assert_eq!(last[1].share, Some(share.handle));
    let row = by_id(store, share).await;
    assert_eq!(row.edit_count, 2);
    assert_eq!(row.ended_at, Some(T0 + 3));
    assert_eq!(row.end_reason, Some(EndReason::Answered));
    assert_eq!(row.state(T0 + 3), ShareState::Deleted);
    assert_eq!(row.wrapped_key, None);
    assert_eq!(row.request, Some(request));
    let head = store
        .record(account, record)
        .await
        .expect("read")
        .expect("the record stays");
    assert_eq!((head.head.version, head.head.author), (4, by_share));
    assert!(head.head.rotate_pending);

    let after = store
        .recipient_edit(change(share, T0 + 4), 4, version(5, 2, by_share, T0 + 4))
        .await;
    assert_store_err!(after, StoreError::ShareEnded);
    assert_store_err!(
        store.recipient_view(&share.share_id, T0 + 4).await,
        StoreError::ShareEnded
    );

    // An ordinary editable share is not limited.
    let plain = ShareSpec {
        editable: true,
        ..ShareSpec::default()
    };
    let other = self::share(store, account, record, plain).await;
    bind(store, other, T0 + 5).await;
    let by_other = Author::Share(other.handle);
    let current = store
        .record(account, record)
        .await
        .expect("read")
        .expect("found")
        .head;
    for n in 0..3 {
        let v = current.version + n;
        store
            .recipient_edit(
                change(other, T0 + 6),
                v,
                version(v + 1, current.key_gen, by_other, T0 + 6),
            )
            .await
            .expect("edit through an ordinary share");
    }
    let row = by_id(store, other).await;
    assert_eq!((row.edit_count, row.ended_at, row.request), (3, None, None));
}
