//! Races: the business rules hold when requests (or server nodes) act on the same rows at once. Each
//! check starts its operations together and asserts what any serial order of them allows; a backend
//! that serialises every write (SQLite) passes trivially, one with concurrent transactions
//! (PostgreSQL) must order them itself.

use futures::future::join_all;

use super::*;

/// An editable share bound to a device, on a record of its own.
async fn bound_editable(store: &impl Store, account: Id) -> (Id, TestShare) {
    let record = record(store, account).await;
    let spec = ShareSpec {
        editable: true,
        ..ShareSpec::default()
    };
    let share = share(store, account, record, spec).await;
    bind(store, share, T0 + 1).await;
    (record, share)
}

/// A stream that resumes after the newest event id it has seen never misses an event, however many
/// transactions write events for the account at once: ids become visible in increasing order.
pub async fn events_resume_under_load(store: &impl Store) {
    const WRITERS: u64 = 8;
    const EDITS: u64 = 30;
    let account = account(store).await;
    let mut writers = Vec::new();
    for _ in 0..WRITERS {
        writers.push(bound_editable(store, account).await);
    }
    let before = store.last_event_id(account).await.expect("last id");

    let done = std::sync::atomic::AtomicBool::new(false);
    let write = async {
        join_all(writers.iter().map(|&(_, share)| async move {
            // Versions 1 and 2 are the record and the share's rotation.
            for n in 0..EDITS {
                let at = T0 + 2 + n as i64;
                store
                    .recipient_edit(
                        change(share, at),
                        2 + n,
                        version(3 + n, 2, Author::Share(share.handle), at),
                    )
                    .await
                    .expect("edit");
            }
        }))
        .await;
        done.store(true, std::sync::atomic::Ordering::SeqCst);
    };
    let read = async {
        let mut seen = Vec::new();
        let mut last = before;
        loop {
            // Read the flag first: a page read after the writers finished is the final one.
            let finished = done.load(std::sync::atomic::Ordering::SeqCst);
            let page = store.events_since(account, last, 1000).await.expect("page");
            if let Some(newest) = page.last() {
                last = newest.id;
            }
            seen.extend(page.into_iter().map(|e| e.id));
            if finished {
                return seen;
            }
            tokio::task::yield_now().await;
        }
    };
    let ((), seen) = futures::join!(write, read);

    let all: Vec<i64> = store
        .events_since(account, before, 10_000)
        .await
        .expect("events")
        .into_iter()
        .map(|e| e.id)
        .collect();
    assert_eq!(all.len() as u64, WRITERS * EDITS);
    assert_eq!(
        seen, all,
        "a reader resuming by id saw events in another order or skipped some"
    );
}

/// Racing writes of one record from the same base version: exactly one wins, the rest are told the
/// version moved on; nothing is half-written.
pub async fn racing_writes_one_wins(store: &impl Store) {
    let account = account(store).await;
    let (record, share) = bound_editable(store, account).await;
    let by_share = Author::Share(share.handle);

    let edits = (0..6).map(|_| {
        let change = change(share, T0 + 5);
        async move {
            store
                .recipient_edit(change, 2, version(3, 2, by_share, T0 + 5))
                .await
        }
    });
    let updates = (0..3).map(|_| async move {
        store
            .update_record(account, record, 2, version(3, 2, Author::Owner, T0 + 5))
            .await
    });
    let base = head(store, account, record).await;
    let rotations = (0..3).map(|_| {
        let rotation = rotation_from(
            &base,
            vec![(share.handle, b"rk3 under sk".to_vec())],
            T0 + 5,
        );
        async move { store.rotate_record(account, record, rotation).await }
    });
    // Owner writes first: they reach the database first, so each kind gets to race the others.
    let (updates, rotations, edits) =
        futures::join!(join_all(updates), join_all(rotations), join_all(edits));
    let edits: Vec<crate::Result<()>> = edits.into_iter().map(|r| r.map(drop)).collect();
    let outcomes: Vec<&crate::Result<()>> = edits
        .iter()
        .chain(updates.iter())
        .chain(rotations.iter())
        .collect();
    let wins = outcomes.iter().filter(|r| r.is_ok()).count();
    assert_eq!(wins, 1, "exactly one write wins: {outcomes:?}");
    for lost in outcomes.iter().filter(|r| r.is_err()) {
        assert!(
            matches!(
                lost,
                Err(StoreError::VersionConflict { .. } | StoreError::StaleKey { .. })
            ),
            "a losing write is a conflict, not {lost:?}"
        );
    }
    let history = store
        .history(account, record)
        .await
        .expect("history")
        .expect("found");
    let numbers: Vec<u64> = history.versions.iter().map(|v| v.version).collect();
    assert_eq!(numbers, vec![1, 2, 3]);
    let head = head(store, account, record).await;
    assert_eq!(head.version, 3);
    let edit_won = edits.iter().any(|r| r.is_ok());
    assert_eq!(by_id(store, share).await.edit_count, u64::from(edit_won));
}

/// A rotation races the end of one of the shares it names. Either the end comes first and the
/// rotation is refused (its share set no longer matches), or the rotation comes first and the end
/// then drops the new key: an ended share never holds a key.
pub async fn rotation_racing_share_end(store: &impl Store) {
    let account = account(store).await;
    for round in 0..16 {
        let record = record(store, account).await;
        let a = share(store, account, record, ShareSpec::default()).await;
        let b = share(store, account, record, ShareSpec::default()).await;
        let rotation = honest_rotation(store, account, record, T0 + 10).await;
        assert_eq!(rotation.share_keys.len(), 2);
        // Alternate which one starts first.
        let rotate = async { store.rotate_record(account, record, rotation).await };
        let end = async { store.end_share(account, a.handle, T0 + 10).await };
        let (rotated, ended) = if round % 2 == 0 {
            futures::join!(rotate, end)
        } else {
            let (e, r) = futures::join!(end, rotate);
            (r, e)
        };
        ended.expect("end share");
        let a_row = by_id(store, a).await;
        let b_row = by_id(store, b).await;
        assert!(a_row.ended_at.is_some());
        assert_eq!(a_row.wrapped_key, None, "an ended share holds no key");
        let head = head(store, account, record).await;
        match rotated {
            Ok(()) => {
                assert_eq!(head.key_gen, 4);
                assert_eq!(b_row.key_gen, 4);
                assert!(head.rotate_pending, "the end came after the rotation");
            }
            Err(StoreError::ShareSetMismatch) => {
                assert_eq!(head.key_gen, 3);
                assert_eq!(b_row.key_gen, 3);
            }
            Err(other) => panic!("the rotation failed with {other:?}"),
        }
    }
}

/// A recipient's edit races the end of its share: the edit lands before the end or not at all.
pub async fn edit_racing_share_end(store: &impl Store) {
    let account = account(store).await;
    for round in 0..8 {
        let (record, share) = bound_editable(store, account).await;
        let edit = async {
            store
                .recipient_edit(
                    change(share, T0 + 5),
                    2,
                    version(3, 2, Author::Share(share.handle), T0 + 5),
                )
                .await
        };
        let end = async { store.end_share(account, share.handle, T0 + 5).await };
        let (edited, ended) = if round % 2 == 0 {
            futures::join!(edit, end)
        } else {
            let (e, d) = futures::join!(end, edit);
            (d, e)
        };
        ended.expect("end share");
        let events: Vec<Event> = all_events(store, account)
            .await
            .into_iter()
            .filter(|e| e.share == Some(share.handle))
            .collect();
        let ended_at = events
            .iter()
            .find(|e| e.kind == EventKind::ShareEnded)
            .expect("share ended event")
            .id;
        match edited {
            Ok(_) => {
                let edited_at = events
                    .iter()
                    .find(|e| e.kind == EventKind::RecordEdited)
                    .expect("edit event")
                    .id;
                assert!(edited_at < ended_at, "the edit came before the end");
                assert_eq!(head(store, account, record).await.version, 3);
            }
            Err(StoreError::ShareEnded) => {
                assert_eq!(head(store, account, record).await.version, 2);
                assert!(events.iter().all(|e| e.kind != EventKind::RecordEdited));
            }
            Err(other) => panic!("the edit failed with {other:?}"),
        }
    }
}

/// Two submissions sent together to a request that takes one answer: exactly one is accepted and ends
/// the share; the other finds it ended (not a version conflict: the answer count ended it, under the
/// same lock the version is judged under), and the record holds the winner's version.
pub async fn racing_request_answers(store: &impl Store) {
    let account = account(store).await;
    for round in 0..8 {
        let record = record(store, account).await;
        let spec = ShareSpec {
            editable: true,
            request: Some(ShareRequest {
                max_answers: 1,
                instructions: vec![round; 284],
            }),
            ..ShareSpec::default()
        };
        let share = share(store, account, record, spec).await;
        bind(store, share, T0 + 1).await;
        let by_share = Author::Share(share.handle);
        let submit = |at: UnixTime| async move {
            store
                .recipient_edit(change(share, at), 2, version(3, 2, by_share, at))
                .await
        };
        let (a, b) = futures::join!(submit(T0 + 5), submit(T0 + 5));
        let (won, lost) = match (a, b) {
            (Ok(events), Err(e)) | (Err(e), Ok(events)) => (events, e),
            other => panic!("exactly one submission must win, got {other:?}"),
        };
        assert!(
            matches!(lost, StoreError::ShareEnded),
            "the loser found {lost:?}"
        );
        assert_eq!(
            kinds(&won),
            vec![EventKind::RecordEdited, EventKind::ShareEnded]
        );
        let row = by_id(store, share).await;
        assert_eq!(
            (row.edit_count, row.end_reason),
            (1, Some(EndReason::Answered))
        );
        assert_eq!(head(store, account, record).await.version, 3);
    }
}

/// Attempts sent together on one share: exactly the free ones are granted (each with its own number),
/// every other is refused with the first wait and not counted, and the owner hears of the burst once.
pub async fn racing_access_attempts(store: &impl Store) {
    let account = account(store).await;
    let record = record(store, account).await;
    let share = share(store, account, record, ShareSpec::default()).await;
    let attempts = join_all(
        (0..60).map(|_| async move { store.reserve_access_attempt(&share.share_id, T0).await }),
    )
    .await;
    let (numbers, waits) = split_attempts(attempts);
    assert_eq!(numbers, (1..=Backoff::ACCESS.free).collect::<Vec<u32>>());
    assert_eq!(waits, vec![Backoff::ACCESS.wait(5); 55]);
    assert_eq!(by_id(store, share).await.failed_attempts, 5);
    join_all(
        numbers
            .iter()
            .map(|&n| store.access_attempt_judged(&share.share_id, n, false, T0)),
    )
    .await
    .into_iter()
    .for_each(|r| {
        r.expect("judged");
    });
    let bursts: Vec<Option<i64>> = all_events(store, account)
        .await
        .iter()
        .filter(|e| e.kind == EventKind::AccessFailures)
        .map(|e| e.number)
        .collect();
    assert_eq!(bursts, vec![Some(5)]);
}

/// Attempts sent together on one share, each counted and judged in one write: exactly the free ones are
/// granted, every other is refused with the first wait, and the write that counted the 5th returns the
/// owner's one event.
pub async fn racing_access_attempts_in_one_write(store: &impl Store) {
    let account = account(store).await;
    let record = record(store, account).await;
    let share = share(store, account, record, ShareSpec::default()).await;
    let results = join_all(
        (0..60).map(|_| async move { store.access_attempt(&share.share_id, false, T0).await }),
    )
    .await;
    let mut raised = Vec::new();
    let attempts = results
        .into_iter()
        .map(|r| {
            r.map(|(attempt, events)| {
                raised.extend(events);
                attempt
            })
        })
        .collect();
    let (numbers, waits) = split_attempts(attempts);
    assert_eq!(numbers, (1..=Backoff::ACCESS.free).collect::<Vec<u32>>());
    assert_eq!(waits, vec![Backoff::ACCESS.wait(5); 55]);
    assert_eq!(by_id(store, share).await.failed_attempts, 5);
    let bursts: Vec<Option<i64>> = raised
        .iter()
        .filter(|e| e.kind == EventKind::AccessFailures)
        .map(|e| e.number)
        .collect();
    assert_eq!(bursts, vec![Some(5)]);
    assert_eq!(
        all_events(store, account)
            .await
            .iter()
            .filter(|e| e.kind == EventKind::AccessFailures)
            .count(),
        1
    );
}

/// Login attempts sent together for one email never seen before (so they race to create its count, too):
/// exactly the free ones are granted, every other is refused.
pub async fn racing_login_attempts(store: &impl Store) {
    let key = random32();
    let attempts =
        join_all((0..60).map(|_| async move { store.reserve_login_attempt(&key, T0).await })).await;
    let (numbers, waits) = split_attempts(attempts);
    assert_eq!(numbers, (1..=Backoff::LOGIN.free).collect::<Vec<u32>>());
    assert_eq!(waits, vec![Backoff::LOGIN.wait(5); 55]);
}

/// The granted numbers (sorted) and the refusals' waits.
fn split_attempts(attempts: Vec<Result<Attempt, StoreError>>) -> (Vec<u32>, Vec<i64>) {
    let (mut numbers, mut waits) = (Vec::new(), Vec::new());
    for attempt in attempts {
        match attempt.expect("reserve") {
            Attempt::Granted { n } => numbers.push(n),
            Attempt::Wait { retry_after } => waits.push(retry_after),
        }
    }
    numbers.sort_unstable();
    (numbers, waits)
}

/// Sweeps running at once (every node runs the sweeper) end each due share once, raise one event for
/// it, and leave nothing for a later sweep.
pub async fn sweeps_at_once(store: &impl Store) {
    let account = account(store).await;
    let mut due = Vec::new();
    for _ in 0..6 {
        let record = record(store, account).await;
        for _ in 0..5 {
            let spec = ShareSpec {
                expires_at: T0 + HOUR,
                ..ShareSpec::default()
            };
            due.push(share(store, account, record, spec).await.handle);
        }
    }
    let later = T0 + 2 * HOUR;
    let reports =
        join_all((0..3).map(|_| sweep_all(store, later, 30 * 24 * HOUR, 120, 7 * 24 * HOUR)))
            .await
            .into_iter()
            .map(|r| r.expect("sweep").0)
            .collect::<Vec<_>>();
    let expired: u64 = reports.iter().map(|r| r.expired).sum();
    let shredded: u64 = reports.iter().map(|r| r.shredded).sum();
    assert_eq!(expired, due.len() as u64, "{reports:?}");
    assert_eq!(shredded, due.len() as u64, "{reports:?}");

    let mut ended: Vec<Id> = all_events(store, account)
        .await
        .iter()
        .filter(|e| e.kind == EventKind::ShareEnded)
        .filter_map(|e| e.share)
        .collect();
    ended.sort_unstable();
    due.sort_unstable();
    assert_eq!(ended, due, "one ShareEnded event per expired share");
    for handle in &due {
        let row = store
            .share(account, *handle)
            .await
            .expect("share")
            .expect("kept until purged");
        assert_eq!(row.end_reason, Some(EndReason::Expired));
        assert_eq!(row.ended_at, Some(T0 + HOUR));
        assert_eq!(row.wrapped_key, None);
    }
    let again = sweep_all(store, later, 30 * 24 * HOUR, 120, 7 * 24 * HOUR)
        .await
        .expect("sweep");
    assert_eq!(again, (SweepReport::default(), Vec::new()));
}
