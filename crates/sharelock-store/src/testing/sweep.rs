//! The sweeper: expiry, crypto-shredding, purging and forgetting.

use super::*;

/// The sweeper expires, shreds and purges shares, and forgets old nonces, sessions and events.
pub async fn sweep(store: &impl Store) {
    let account = account(store).await;
    let record = record(store, account).await;
    let brief = ShareSpec {
        editable: true,
        expires_at: T0 + 100,
        ..ShareSpec::default()
    };
    let lapsing = share(store, account, record, brief).await;
    let deleted = self::share(store, account, record, ShareSpec::default()).await;
    let live = self::share(
        store,
        account,
        record,
        ShareSpec {
            expires_at: T0 + 10 * HOUR,
            ..ShareSpec::default()
        },
    )
    .await;
    bind(store, lapsing, T0 + 5).await;
    let head = self::head(store, account, record).await;
    store
        .recipient_edit(
            change(lapsing, T0 + 6),
            head.version,
            version(
                head.version + 1,
                head.key_gen,
                Author::Share(lapsing.handle),
                T0 + 6,
            ),
        )
        .await
        .expect("edit");
    store
        .end_share(account, deleted.handle, T0 + 10)
        .await
        .expect("end");
    let session = NewSession {
        token_hash: random32(),
        account_id: account,
        created_at: T0,
        expires_at: T0 + 50,
    };
    store
        .create_session(session.clone())
        .await
        .expect("session");
    let lasting = NewSession {
        token_hash: random32(),
        expires_at: T0 + 10 * HOUR,
        ..session.clone()
    };
    store
        .create_session(lasting.clone())
        .await
        .expect("session");
    let rotation = honest_rotation(store, account, record, T0 + 20).await;
    store
        .rotate_record(account, record, rotation)
        .await
        .expect("rotate");
    let events_before = all_events(store, account).await.len();

    let (report, raised) = sweep_all(store, T0 + 200, 1000, 60, 10 * HOUR)
        .await
        .expect("sweep");
    assert_eq!(
        report,
        SweepReport {
            expired: 1,
            shredded: 1,
            purged: 0,
            nonces: 1,
            sessions: 1,
            events: 0,
            login_attempts: 0,
            unfinished: false,
        }
    );
    let expired = by_id(store, lapsing).await;
    assert_eq!(
        (expired.end_reason, expired.ended_at),
        (Some(EndReason::Expired), Some(T0 + 100))
    );
    assert_eq!(expired.wrapped_key, None);
    assert!(
        by_id(store, live).await.wrapped_key.is_some(),
        "live shares keep their key"
    );
    assert!(self::head(store, account, record).await.rotate_pending);
    let events = all_events(store, account).await;
    assert_eq!(events.len(), events_before + 1);
    let last = events.last().expect("an event");
    assert_eq!(
        raised,
        vec![last.clone()],
        "the sweep returns the event it raised"
    );
    assert_eq!(
        (last.kind, last.share, last.at),
        (EventKind::ShareEnded, Some(lapsing.handle), T0 + 100)
    );
    assert!(
        store
            .session(&session.token_hash, T0)
            .await
            .expect("session")
            .is_none(),
        "swept"
    );
    assert!(
        store
            .session(&lasting.token_hash, T0)
            .await
            .expect("session")
            .is_some()
    );

    let again = sweep_all(store, T0 + 200, 1000, 60, 10 * HOUR)
        .await
        .expect("sweep");
    assert_eq!(
        again,
        (SweepReport::default(), Vec::new()),
        "a second sweep finds nothing"
    );

    // Ended at T0 + 10 and T0 + 100; with a retention of 1000 s both go by T0 + 1101.
    let (report, _) = sweep_all(store, T0 + 1050, 1000, 60, 10 * HOUR)
        .await
        .expect("sweep");
    assert_eq!(report.purged, 1);
    assert!(
        store
            .share(account, deleted.handle)
            .await
            .expect("share")
            .is_none(),
        "purged"
    );
    assert!(
        store
            .share(account, lapsing.handle)
            .await
            .expect("share")
            .is_some(),
        "not yet"
    );
    let (report, _) = sweep_all(store, T0 + 1101, 1000, 60, 10 * HOUR)
        .await
        .expect("sweep");
    assert_eq!(report.purged, 1);
    assert!(
        store
            .share_by_id(&lapsing.share_id)
            .await
            .expect("share")
            .is_none()
    );
    let listed: Vec<Id> = store
        .list_shares(account, None)
        .await
        .expect("list")
        .iter()
        .map(|s| s.handle)
        .collect();
    assert_eq!(listed, vec![live.handle]);
    let history = store
        .history(account, record)
        .await
        .expect("history")
        .expect("found");
    assert!(
        history
            .versions
            .iter()
            .any(|v| v.author == Author::Share(lapsing.handle)),
        "a version keeps naming its author after the share is purged"
    );

    let (report, _) = sweep_all(store, T0 + 20 * HOUR, 1000, 60, HOUR)
        .await
        .expect("sweep");
    assert_eq!(report.expired, 1, "the last share lapses too");
    assert_eq!(report.sessions, 1);
    // Every event is older than an hour by now, including the one this sweep raised for the lapse.
    assert_eq!(
        report.events,
        events.len() as u64 + 1,
        "events older than the TTL go"
    );
    assert!(all_events(store, account).await.is_empty());
}

/// A pass over more expired shares than one step takes hands their events over batch by batch, each
/// as its step commits, never more than [`SWEEP_BATCH`] at once: the sweeper's memory stays bounded
/// however many shares lapse together (a million after an all-hands link).
pub async fn sweep_publishes_per_batch(store: &impl Store) {
    const RECORDS: usize = 11;
    const PER_RECORD: usize = 100;
    let account = account(store).await;
    let brief = || ShareSpec {
        expires_at: T0 + 100,
        ..ShareSpec::default()
    };
    let mut records = Vec::new();
    for _ in 0..RECORDS {
        records.push(record(store, account).await);
    }
    let made: Vec<Vec<TestShare>> =
        futures::future::join_all(records.iter().map(|&record| async move {
            let mut made = Vec::new();
            for _ in 0..PER_RECORD {
                made.push(share(store, account, record, brief()).await);
            }
            made
        }))
        .await;
    let total = RECORDS * PER_RECORD;
    assert!(
        total as u64 > 2 * SWEEP_BATCH,
        "the pass needs several steps"
    );

    let (report, batches) = sweep_batches(store, T0 + 200, 30 * 24 * HOUR, 120, 7 * 24 * HOUR)
        .await
        .expect("sweep");
    assert_eq!(report.expired, total as u64);
    assert_eq!(report.shredded, total as u64);
    assert!(
        batches.len() >= 3,
        "{} shares came in {} piece(s)",
        total,
        batches.len()
    );
    for batch in &batches {
        assert!(!batch.is_empty(), "an empty batch is not handed over");
        assert!(
            batch.len() as u64 <= SWEEP_BATCH,
            "a batch of {} events",
            batch.len()
        );
    }
    let mut ended: Vec<Id> = batches
        .iter()
        .flatten()
        .map(|event| {
            assert_eq!(event.kind, EventKind::ShareEnded);
            event.share.expect("the share")
        })
        .collect();
    ended.sort_unstable();
    ended.dedup();
    let mut expected: Vec<Id> = made.iter().flatten().map(|s| s.handle).collect();
    expected.sort_unstable();
    assert_eq!(ended, expected, "every share's end, once");
    for share in made.iter().flatten() {
        let row = store
            .share(account, share.handle)
            .await
            .expect("read")
            .expect("kept for retention");
        assert_eq!(row.end_reason, Some(EndReason::Expired));
        assert_eq!(row.wrapped_key, None, "shredded");
    }
    let (again, batches) = sweep_batches(store, T0 + 200, 30 * 24 * HOUR, 120, 7 * 24 * HOUR)
        .await
        .expect("sweep again");
    assert_eq!(again, SweepReport::default());
    assert!(batches.is_empty(), "nothing to hand over");
}

/// Self-destructing records (docs/protocol.md §4.7): nothing happens until the share is opened; the bind sets
/// `destroy_at` to the sooner of `destroy_after` and the share's expiry (burn after open included); an early
/// end of the share brings it forward; when it passes, the record goes exactly as its owner would delete it
/// and `RecordDestroyed` names the share that set it off, once.
pub async fn self_destructing_records(store: &impl Store) {
    let account = account(store).await;
    let record = record(store, account).await;
    let bystander = self::record(store, account).await;
    let spec = ShareSpec {
        destroy_after: Some(600),
        ..ShareSpec::default()
    };
    let destroying = share(store, account, record, spec).await;
    let plain = share(store, account, record, ShareSpec::default()).await;
    let unopened = share(
        store,
        account,
        bystander,
        ShareSpec {
            destroy_after: Some(60),
            ..ShareSpec::default()
        },
    )
    .await;
    let write = PartBlob {
        record,
        file: id(),
        part: 0,
        write: id(),
    };
    let limits = UploadLimits {
        account_bytes: u64::MAX,
        share_bytes: u64::MAX,
    };
    store
        .reserve_part(write, 1, Author::Owner, limits, T0)
        .await
        .expect("begin file");

    let row = by_id(store, destroying).await;
    assert_eq!((row.destroy_after, row.destroy_at), (Some(600), None));
    // Unopened, nothing is due, however late.
    let (none, _) = store
        .destroy_due_records(T0 + 23 * HOUR, 100)
        .await
        .expect("destroy");
    assert!(none.is_empty());

    bind(store, destroying, T0 + 100).await;
    assert_eq!(by_id(store, destroying).await.destroy_at, Some(T0 + 700));
    assert_eq!(by_id(store, plain).await.destroy_at, None);
    let (none, events) = store
        .destroy_due_records(T0 + 699, 100)
        .await
        .expect("destroy");
    assert!(none.is_empty() && events.is_empty());

    let before = all_events(store, account).await.len();
    let (destroyed, events) = store
        .destroy_due_records(T0 + 700, 100)
        .await
        .expect("destroy");
    assert_eq!(destroyed.len(), 1);
    assert_eq!(destroyed[0].record, record);
    assert_eq!(destroyed[0].share, destroying.handle);
    assert_eq!(destroyed[0].account, account);
    assert_eq!(destroyed[0].files, vec![write.file]);
    // Every share of the record ended with it, then the record's own event.
    assert_eq!(
        kinds(&events),
        vec![
            EventKind::ShareEnded,
            EventKind::ShareEnded,
            EventKind::RecordDestroyed
        ]
    );
    let last = events.last().expect("an event");
    assert_eq!(
        (last.share, last.record, last.at),
        (Some(destroying.handle), Some(record), T0 + 700)
    );
    assert_eq!(all_events(store, account).await.len(), before + 3);
    // Gone as if its owner had deleted it: versions, keys, files; its shares ended, their keys dropped.
    assert!(store.record(account, record).await.expect("read").is_none());
    assert!(store.files(record).await.expect("files").is_empty());
    for s in [destroying, plain] {
        let row = by_id(store, s).await;
        assert_eq!(row.end_reason, Some(EndReason::RecordDeleted));
        assert_eq!(row.wrapped_key, None);
    }
    // Once: a later pass finds nothing more, and the other record is untouched.
    let (none, events) = store
        .destroy_due_records(T0 + 2 * HOUR, 100)
        .await
        .expect("destroy");
    assert!(none.is_empty() && events.is_empty());
    assert!(
        store
            .record(account, bystander)
            .await
            .expect("read")
            .is_some()
    );
    assert_eq!(by_id(store, unopened).await.destroy_at, None);

    // The share's expiry comes first: burn after open lowers it, and destroy_at with it.
    let record = self::record(store, account).await;
    let burning = share(
        store,
        account,
        record,
        ShareSpec {
            destroy_after: Some(600),
            burn_after: Some(60),
            ..ShareSpec::default()
        },
    )
    .await;
    bind(store, burning, T0 + 1000).await;
    assert_eq!(by_id(store, burning).await.destroy_at, Some(T0 + 1060));

    // The share ends early ("I have it"): the record goes then, not later.
    let record = self::record(store, account).await;
    let early = share(
        store,
        account,
        record,
        ShareSpec {
            destroy_after: Some(HOUR),
            ..ShareSpec::default()
        },
    )
    .await;
    bind(store, early, T0 + 2000).await;
    assert_eq!(by_id(store, early).await.destroy_at, Some(T0 + 2000 + HOUR));
    store
        .recipient_end(change(early, T0 + 2005))
        .await
        .expect("end");
    assert_eq!(by_id(store, early).await.destroy_at, Some(T0 + 2005));
    let (destroyed, _) = store
        .destroy_due_records(T0 + 2005, 1)
        .await
        .expect("destroy");
    // The limit holds: the burning record (due at T0 + 1060) goes first, the ended one next.
    assert_eq!(destroyed.len(), 1);
    let (destroyed_next, _) = store
        .destroy_due_records(T0 + 2005, 100)
        .await
        .expect("destroy");
    assert_eq!(destroyed_next.len(), 1);
    assert_eq!(destroyed_next[0].record, record);
}

/// Sweepers of many nodes destroying at once: each due record is destroyed and reported exactly once.
pub async fn self_destruction_once_on_many_nodes(store: &impl Store) {
    let account = account(store).await;
    let mut records = Vec::new();
    for _ in 0..4 {
        let record = record(store, account).await;
        let s = share(
            store,
            account,
            record,
            ShareSpec {
                destroy_after: Some(10),
                ..ShareSpec::default()
            },
        )
        .await;
        bind(store, s, T0 + 1).await;
        records.push(record);
    }
    let passes = futures::future::join_all((0..8).map(|_| async {
        store
            .destroy_due_records(T0 + 60, 100)
            .await
            .expect("destroy")
    }))
    .await;
    let mut destroyed: Vec<Id> = passes
        .iter()
        .flat_map(|(d, _)| d.iter().map(|d| d.record))
        .collect();
    destroyed.sort();
    records.sort();
    assert_eq!(
        destroyed, records,
        "each record destroyed by exactly one pass"
    );
    let reported = passes
        .iter()
        .flat_map(|(_, e)| e.iter())
        .filter(|e| e.kind == EventKind::RecordDestroyed)
        .count();
    assert_eq!(reported, 4);
    let stored = all_events(store, account)
        .await
        .into_iter()
        .filter(|e| e.kind == EventKind::RecordDestroyed)
        .count();
    assert_eq!(stored, 4);
}
