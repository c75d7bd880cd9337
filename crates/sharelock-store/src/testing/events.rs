//! Owner events: order, accounts and paging.

use futures::future::join_all;

use super::*;

/// Events are written with their cause, in order, per account, and page by id.
pub async fn events_in_order(store: &impl Store) {
    let account = account(store).await;
    let record = record(store, account).await;
    let editable = ShareSpec {
        editable: true,
        ..ShareSpec::default()
    };
    let share = self::share(store, account, record, editable).await;
    assert_eq!(store.last_event_id(account).await.expect("last id"), 0);

    bind(store, share, T0 + 1).await;
    store
        .recipient_edit(
            change(share, T0 + 2),
            2,
            version(3, 2, Author::Share(share.handle), T0 + 2),
        )
        .await
        .expect("edit");
    for n in 1..=5 {
        wrong_attempt(store, &share.share_id, T0 + 2 + n).await;
    }
    store
        .end_share(account, share.handle, T0 + 10)
        .await
        .expect("end");

    let events = all_events(store, account).await;
    assert_eq!(
        kinds(&events),
        vec![
            EventKind::ShareOpened,
            EventKind::RecordEdited,
            EventKind::AccessFailures,
            EventKind::ShareEnded
        ]
    );
    assert!(events.windows(2).all(|w| w[0].id < w[1].id), "ids increase");
    assert!(
        events
            .iter()
            .all(|e| e.account_id == account && e.share == Some(share.handle))
    );
    assert!(events.iter().all(|e| e.record == Some(record)));
    let numbers: Vec<Option<i64>> = events.iter().map(|e| e.number).collect();
    assert_eq!(numbers, vec![None, Some(3), Some(5), None]);
    let times: Vec<UnixTime> = events.iter().map(|e| e.at).collect();
    assert_eq!(times, vec![T0 + 1, T0 + 2, T0 + 7, T0 + 10]);

    assert_eq!(
        store.last_event_id(account).await.expect("last id"),
        events[3].id
    );
    let page = store
        .events_since(account, events[0].id, 2)
        .await
        .expect("page");
    assert_eq!(page, events[1..3].to_vec());
    assert!(
        store
            .events_since(account, events[3].id, 10)
            .await
            .expect("page")
            .is_empty()
    );

    let stranger = self::account(store).await;
    assert!(all_events(store, stranger).await.is_empty());
    assert_eq!(store.last_event_id(stranger).await.expect("last id"), 0);
}

/// The events committed since `after` (all of them, in order).
async fn committed_after(store: &impl Store, account: Id, after: i64) -> Vec<Event> {
    store
        .events_since(account, after, 1000)
        .await
        .expect("events")
}

/// Every write hands back exactly the events it committed (same rows, same ids, same order), and a
/// write that raises none hands back none: a server publishes what it is given and nothing else.
pub async fn writes_return_their_events(store: &impl Store) {
    let account = account(store).await;
    let record = record(store, account).await;
    let editable = ShareSpec {
        editable: true,
        ..ShareSpec::default()
    };
    let share = self::share(store, account, record, editable).await;
    let mut last = store.last_event_id(account).await.expect("last id");

    // Checks what a write returned against what the database now holds after `last`.
    macro_rules! returned {
        ($raised:expr, $kinds:expr) => {{
            let raised: Vec<Event> = $raised;
            let committed = committed_after(store, account, last).await;
            assert_eq!(raised, committed, "returned = committed");
            assert_eq!(kinds(&raised), $kinds);
            if let Some(e) = raised.last() {
                last = e.id;
            }
        }};
    }

    let key = device_key();
    let (outcome, raised) = store
        .bind(&share.share_id, &share.token_hash, &key, b"tag", T0 + 1)
        .await
        .expect("bind");
    assert_eq!(outcome, BindOutcome::Bound);
    returned!(raised, vec![EventKind::ShareOpened]);
    let (outcome, raised) = store
        .bind(&share.share_id, &share.token_hash, &key, b"tag", T0 + 2)
        .await
        .expect("bind again");
    assert_eq!(outcome, BindOutcome::AlreadyBound);
    returned!(raised, vec![]);

    let raised = store
        .recipient_edit(
            change(share, T0 + 3),
            2,
            version(3, 2, Author::Share(share.handle), T0 + 3),
        )
        .await
        .expect("edit");
    returned!(raised, vec![EventKind::RecordEdited]);
    assert_eq!(
        store
            .recipient_edit(
                change(share, T0 + 3),
                2,
                version(3, 2, Author::Share(share.handle), T0 + 3),
            )
            .await
            .map(|_| ())
            .err()
            .map(|e| matches!(e, StoreError::VersionConflict { .. })),
        Some(true)
    );
    returned!(Vec::new(), vec![]);

    for n in 1..=8u32 {
        // Past the free attempts, an hour apart: each is granted whatever the wait.
        let at = T0 + 4 + HOUR * i64::from(n.saturating_sub(5));
        let reserved = store
            .reserve_access_attempt(&share.share_id, at)
            .await
            .expect("reserve");
        assert_eq!(reserved, Attempt::Granted { n });
        let raised = store
            .access_attempt_judged(&share.share_id, n, false, at)
            .await
            .expect("judged");
        let expected = if failures_raise_event(n) {
            vec![EventKind::AccessFailures]
        } else {
            vec![]
        };
        returned!(raised, expected);
    }

    let (_, raised) = store
        .recipient_end(change(share, T0 + 5))
        .await
        .expect("recipient end");
    returned!(raised, vec![EventKind::ShareEnded]);
    let (_, raised) = store
        .end_share(account, share.handle, T0 + 6)
        .await
        .expect("end ended");
    returned!(raised, vec![]);

    let owner_ended = self::share(store, account, record, ShareSpec::default()).await;
    let (_, raised) = store
        .end_share(account, owner_ended.handle, T0 + 7)
        .await
        .expect("end");
    returned!(raised, vec![EventKind::ShareEnded]);

    // Deleting a record ends each of its live shares: one event per share, in one return.
    let doomed = self::record(store, account).await;
    let first = self::share(store, account, doomed, ShareSpec::default()).await;
    let second = self::share(store, account, doomed, ShareSpec::default()).await;
    let (_, raised) = store
        .delete_record(account, doomed, T0 + 8)
        .await
        .expect("delete record");
    let ended: Vec<Option<Id>> = raised.iter().map(|e| e.share).collect();
    assert!(ended.contains(&Some(first.handle)) && ended.contains(&Some(second.handle)));
    returned!(raised, vec![EventKind::ShareEnded, EventKind::ShareEnded]);

    // The sweeper's expiries, across its batches.
    let brief = ShareSpec {
        expires_at: T0 + 100,
        ..ShareSpec::default()
    };
    let lapsing = self::share(store, account, record, brief).await;
    let (report, raised) = sweep_all(store, T0 + 200, 30 * 24 * HOUR, 120, 7 * 24 * HOUR)
        .await
        .expect("sweep");
    assert_eq!(report.expired, 1);
    assert_eq!(raised.first().and_then(|e| e.share), Some(lapsing.handle));
    returned!(raised, vec![EventKind::ShareEnded]);
    let (_, raised) = sweep_all(store, T0 + 200, 30 * 24 * HOUR, 120, 7 * 24 * HOUR)
        .await
        .expect("sweep again");
    returned!(raised, vec![]);
    assert_eq!(last, store.last_event_id(account).await.expect("last id"));
}

/// A refused second device is reported to the owner (`DeviceRefused`), at most once per share per
/// [`DEVICE_REFUSED_EVENT_GAP`], decided with the refusal: retries and racing floods raise one event a
/// minute. Other refusals (wrong token, ended share) and the bound device's repeated binds raise none.
pub async fn device_refused_events(store: &impl Store) {
    let account = account(store).await;
    let record = record(store, account).await;
    let share = self::share(store, account, record, ShareSpec::default()).await;
    let holder = bind(store, share, T0 + 1).await;
    let try_bind = |key: Vec<u8>, at: UnixTime| async move {
        store
            .bind(&share.share_id, &share.token_hash, &key, b"tag", at)
            .await
            .expect("bind")
    };

    let (outcome, raised) = try_bind(device_key(), T0 + 2).await;
    assert_eq!(outcome, BindOutcome::OtherDevice);
    assert_eq!(kinds(&raised), vec![EventKind::DeviceRefused]);
    assert_eq!(
        (
            raised[0].share,
            raised[0].record,
            raised[0].number,
            raised[0].at
        ),
        (Some(share.handle), Some(record), None, T0 + 2)
    );
    let refused_at = || async {
        store
            .share(account, share.handle)
            .await
            .expect("share")
            .expect("listed")
            .refused_at
    };
    assert_eq!(
        refused_at().await,
        Some(T0 + 2),
        "the owner's list says when"
    );
    let (outcome, raised) = try_bind(device_key(), T0 + 1 + DEVICE_REFUSED_EVENT_GAP).await;
    assert_eq!(outcome, BindOutcome::OtherDevice);
    assert!(raised.is_empty(), "within the gap: refused, not reported");
    assert_eq!(
        refused_at().await,
        Some(T0 + 2),
        "what is not reported is not listed"
    );
    let (outcome, raised) = try_bind(holder.clone(), T0 + 70).await;
    assert_eq!(outcome, BindOutcome::AlreadyBound);
    assert!(raised.is_empty());
    let (outcome, raised) = try_bind(device_key(), T0 + 2 + DEVICE_REFUSED_EVENT_GAP).await;
    assert_eq!(outcome, BindOutcome::OtherDevice);
    assert_eq!(
        kinds(&raised),
        vec![EventKind::DeviceRefused],
        "the gap has passed"
    );
    assert_eq!(refused_at().await, Some(T0 + 2 + DEVICE_REFUSED_EVENT_GAP));

    // A flood of racing refusals: one event.
    let flood_at = T0 + 1000;
    let outcomes = join_all((0..20).map(|_| try_bind(device_key(), flood_at))).await;
    assert!(outcomes.iter().all(|(o, _)| *o == BindOutcome::OtherDevice));
    let reported: usize = outcomes.iter().map(|(_, raised)| raised.len()).sum();
    assert_eq!(reported, 1, "one event for the whole flood");

    // A wrong token is not a refused device; nor is a bind of an ended share.
    let (outcome, raised) = store
        .bind(
            &share.share_id,
            &random32(),
            &device_key(),
            b"tag",
            T0 + 2000,
        )
        .await
        .expect("bind");
    assert_eq!(outcome, BindOutcome::NotFound);
    assert!(raised.is_empty());
    store
        .end_share(account, share.handle, T0 + 2100)
        .await
        .expect("end");
    let (outcome, raised) = try_bind(device_key(), T0 + 2200).await;
    assert_eq!(outcome, BindOutcome::Ended);
    assert!(raised.is_empty());

    let refused = all_events(store, account)
        .await
        .into_iter()
        .filter(|e| e.kind == EventKind::DeviceRefused)
        .count();
    assert_eq!(refused, 3, "what was returned is what was committed");
}
