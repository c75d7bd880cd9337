//! Shares on the owner's side: creation, states over time, ending, binding races and refusals.

use futures::future::join_all;

use super::*;

/// The sealed preface (docs/protocol.md §4.6) is kept byte for byte for the recipient's reads, and a share
/// made without one reads none.
pub async fn share_preface_kept(store: &impl Store) {
    let account = account(store).await;
    let record = record(store, account).await;
    let rotation = honest_rotation(store, account, record, T0).await;
    let mut with = new_share(&rotation, &ShareSpec::default());
    with.preface = Some((0..540u32).map(|i| i as u8).collect());
    store
        .create_share(account, record, rotation, with.clone(), NO_SHARE_LIMIT)
        .await
        .expect("create share");
    let rotation = honest_rotation(store, account, record, T0 + 1).await;
    let mut without = new_share(&rotation, &ShareSpec::default());
    without.preface = None;
    store
        .create_share(account, record, rotation, without.clone(), NO_SHARE_LIMIT)
        .await
        .expect("create share");

    let read = |id| async move { store.share_by_id(&id).await.expect("by id").expect("found") };
    assert_eq!(read(with.share_id).await.preface, with.preface);
    assert_eq!(read(without.share_id).await.preface, None);
    let view = store
        .recipient_view(&with.share_id, T0 + 2)
        .await
        .expect("view")
        .expect("found");
    assert_eq!(view.share.preface, with.preface);
}

pub async fn share_create_and_list(store: &impl Store) {
    let account = account(store).await;
    let record = record(store, account).await;
    let other_record = self::record(store, account).await;

    let rotation = honest_rotation(store, account, record, T0).await;
    let spec = ShareSpec {
        editable: true,
        burn_after: Some(600),
        ..ShareSpec::default()
    };
    let new = new_share(&rotation, &spec);
    store
        .create_share(account, record, rotation, new.clone(), NO_SHARE_LIMIT)
        .await
        .expect("create share");

    let row = store
        .share(account, new.handle)
        .await
        .expect("share")
        .expect("found");
    assert_eq!(row.handle, new.handle);
    assert_eq!(row.share_id, new.share_id);
    assert_eq!(row.account_id, account);
    assert_eq!(row.record_id, record);
    assert_eq!(row.token_hash, new.token_hash);
    assert_eq!(row.wrapped_key.as_deref(), Some(&new.wrapped_key[..]));
    assert_eq!(
        row.key_gen, 2,
        "the share holds the rotation's new generation"
    );
    assert_eq!(row.owner_secret, new.owner_secret);
    assert_eq!(row.label, new.label);
    assert!(row.editable);
    assert_eq!(row.burn_after, Some(600));
    assert!(!row.passphrase);
    assert_eq!((row.created_at, row.expires_at), (T0, T0 + 24 * HOUR));
    assert_eq!(
        (row.bound_at, row.device_key.clone(), row.bind_tag.clone()),
        (None, None, None)
    );
    assert_eq!(
        (row.ended_at, row.end_reason, row.last_access_at),
        (None, None, None)
    );
    assert_eq!(
        (row.edit_count, row.failed_attempts, row.last_failed_at),
        (0, 0, None)
    );
    assert_eq!(row.state(T0), ShareState::Active);
    let head = head(store, account, record).await;
    assert_eq!((head.version, head.key_gen), (2, 2));

    let by_id = store
        .share_by_id(&new.share_id)
        .await
        .expect("by id")
        .expect("found");
    assert_eq!(by_id.handle, new.handle);
    assert_eq!(by_id.preface, new.preface);
    assert!(
        store
            .share_by_id(&random16())
            .await
            .expect("by id")
            .is_none()
    );

    // A duplicate share id fails the whole transaction: the rotation before it is undone too.
    let rotation = honest_rotation(store, account, record, T0 + 1).await;
    let mut duplicate = new_share(&rotation, &ShareSpec::default());
    duplicate.share_id = new.share_id;
    assert_store_err!(
        store
            .create_share(account, record, rotation, duplicate, NO_SHARE_LIMIT)
            .await,
        StoreError::AlreadyExists
    );
    let unchanged = self::head(store, account, record).await;
    assert_eq!((unchanged.version, unchanged.key_gen), (2, 2));

    let newer = share(
        store,
        account,
        record,
        ShareSpec {
            created_at: T0 + 5,
            ..ShareSpec::default()
        },
    )
    .await;
    let elsewhere = share(
        store,
        account,
        other_record,
        ShareSpec {
            created_at: T0 + 9,
            ..ShareSpec::default()
        },
    )
    .await;
    let all: Vec<Id> = store
        .list_shares(account, None)
        .await
        .expect("list")
        .iter()
        .map(|s| s.handle)
        .collect();
    assert_eq!(
        all,
        vec![elsewhere.handle, newer.handle, new.handle],
        "newest first"
    );
    let of_record: Vec<Id> = store
        .list_shares(account, Some(record))
        .await
        .expect("list")
        .iter()
        .map(|s| s.handle)
        .collect();
    assert_eq!(of_record, vec![newer.handle, new.handle]);

    let stranger = self::account(store).await;
    assert!(
        store
            .share(stranger, new.handle)
            .await
            .expect("share")
            .is_none()
    );
    assert!(
        store
            .list_shares(stranger, None)
            .await
            .expect("list")
            .is_empty()
    );
    let foreign_rotation = honest_rotation(store, account, record, T0 + 20).await;
    let foreign = new_share(&foreign_rotation, &ShareSpec::default());
    assert_store_err!(
        store
            .create_share(stranger, record, foreign_rotation, foreign, NO_SHARE_LIMIT)
            .await,
        StoreError::NotFound
    );
}

/// Active → opened → expired by time alone, with no sweep; burn-after-open lowers expiry at bind.
pub async fn share_states_over_time(store: &impl Store) {
    let account = account(store).await;
    let record = record(store, account).await;
    let spec = ShareSpec {
        burn_after: Some(60),
        expires_at: T0 + 1000,
        ..ShareSpec::default()
    };
    let share = share(store, account, record, spec).await;
    assert_eq!(by_id(store, share).await.state(T0 + 5), ShareState::Active);

    bind(store, share, T0 + 10).await;
    let opened = by_id(store, share).await;
    assert_eq!(opened.state(T0 + 10), ShareState::Opened);
    assert_eq!(opened.bound_at, Some(T0 + 10));
    assert_eq!(
        opened.expires_at,
        T0 + 70,
        "burn after open: bound_at + burn_after"
    );
    assert_eq!(opened.bind_tag.as_deref(), Some(&b"bind tag"[..]));
    assert!(
        store
            .recipient_view(&share.share_id, T0 + 69)
            .await
            .expect("view")
            .is_some()
    );

    assert_eq!(opened.state(T0 + 70), ShareState::Expired);
    assert_eq!(opened.ended_at(T0 + 70), Some(T0 + 70));
    assert_store_err!(
        store.recipient_view(&share.share_id, T0 + 70).await,
        StoreError::ShareEnded
    );
    assert_store_err!(
        store.recipient_end(change(share, T0 + 71)).await,
        StoreError::ShareEnded
    );
    assert!(
        !live_shares(store, account, record, T0 + 70)
            .await
            .contains(&share.handle)
    );

    // A burn time longer than what is left never extends the share.
    let spec = ShareSpec {
        burn_after: Some(10_000),
        expires_at: T0 + 1000,
        ..ShareSpec::default()
    };
    let long_burn = self::share(store, account, record, spec).await;
    bind(store, long_burn, T0 + 500).await;
    assert_eq!(by_id(store, long_burn).await.expires_at, T0 + 1000);

    // Without burn-after-open, binding leaves the expiry alone.
    let plain = self::share(store, account, record, ShareSpec::default()).await;
    bind(store, plain, T0 + 500).await;
    assert_eq!(by_id(store, plain).await.expires_at, T0 + 24 * HOUR);
}

/// Delete ends a share at once, drops its key, asks for rotation and tells the owner; once.
pub async fn end_share(store: &impl Store) {
    let account = account(store).await;
    let record = record(store, account).await;
    let share = share(store, account, record, ShareSpec::default()).await;
    bind(store, share, T0 + 5).await;

    let stranger = self::account(store).await;
    assert_store_err!(
        store.end_share(stranger, share.handle, T0 + 10).await,
        StoreError::NotFound
    );
    assert_store_err!(
        store.end_share(account, id(), T0 + 10).await,
        StoreError::NotFound
    );

    let (ended, raised) = store
        .end_share(account, share.handle, T0 + 10)
        .await
        .expect("end");
    assert_eq!(ended.ended_at, Some(T0 + 10));
    assert_eq!(ended.end_reason, Some(EndReason::Deleted));
    assert_eq!(ended.wrapped_key, None, "crypto-shredded at once");
    assert_eq!(ended.state(T0 + 10), ShareState::Deleted);
    assert!(
        ended.device_key.is_some(),
        "the owner still sees which device opened it"
    );
    assert!(head(store, account, record).await.rotate_pending);
    assert_store_err!(
        store.recipient_view(&share.share_id, T0 + 10).await,
        StoreError::ShareEnded
    );

    let (again, raised_again) = store
        .end_share(account, share.handle, T0 + 20)
        .await
        .expect("end again");
    assert!(
        raised_again.is_empty(),
        "no event for a share already ended"
    );
    assert_eq!(
        again.ended_at,
        Some(T0 + 10),
        "ending an ended share changes nothing"
    );
    let ends = all_events(store, account)
        .await
        .into_iter()
        .filter(|e| e.kind == EventKind::ShareEnded)
        .collect::<Vec<_>>();
    assert_eq!(ends.len(), 1);
    assert_eq!(raised, ends, "the end returns the event it committed");
    assert_eq!(
        (ends[0].share, ends[0].record, ends[0].at),
        (Some(share.handle), Some(record), T0 + 10)
    );

    // A share whose time had already passed is recorded as expired, at its expiry.
    let brief = ShareSpec {
        expires_at: T0 + 100,
        ..ShareSpec::default()
    };
    let lapsed = self::share(store, account, record, brief).await;
    let (ended, _) = store
        .end_share(account, lapsed.handle, T0 + 500)
        .await
        .expect("end");
    assert_eq!(
        (ended.end_reason, ended.ended_at),
        (Some(EndReason::Expired), Some(T0 + 100))
    );
    assert_eq!(ended.wrapped_key, None);
}

/// 50 devices open one link at once: exactly one wins, every other is told another device holds it.
pub async fn bind_race(store: &impl Store) {
    let account = account(store).await;
    let record = record(store, account).await;
    let share = share(store, account, record, ShareSpec::default()).await;

    let keys: Vec<Vec<u8>> = (0..50).map(|_| device_key()).collect();
    let outcomes = join_all(
        keys.iter()
            .map(|key| store.bind(&share.share_id, &share.token_hash, key, b"tag", T0 + 1)),
    )
    .await
    .into_iter()
    .map(|r| r.map(|(outcome, _)| outcome))
    .collect::<Result<Vec<_>, _>>()
    .expect("binds");
    let winners: Vec<usize> = (0..outcomes.len())
        .filter(|&i| outcomes[i] == BindOutcome::Bound)
        .collect();
    assert_eq!(winners.len(), 1, "exactly one bind wins: {outcomes:?}");
    let losers = outcomes
        .iter()
        .filter(|&o| *o == BindOutcome::OtherDevice)
        .count();
    assert_eq!(losers, 49);

    let winner = &keys[winners[0]];
    let row = by_id(store, share).await;
    assert_eq!(row.device_key.as_ref(), Some(winner));
    let again = store
        .bind(&share.share_id, &share.token_hash, winner, b"tag", T0 + 2)
        .await
        .expect("bind again")
        .0;
    assert_eq!(again, BindOutcome::AlreadyBound);
    let newcomer = store
        .bind(
            &share.share_id,
            &share.token_hash,
            &device_key(),
            b"tag",
            T0 + 2,
        )
        .await
        .expect("bind")
        .0;
    assert_eq!(newcomer, BindOutcome::OtherDevice);
    assert_eq!(
        by_id(store, share).await.bound_at,
        Some(T0 + 1),
        "later binds change nothing"
    );

    let opened = all_events(store, account)
        .await
        .into_iter()
        .filter(|e| e.kind == EventKind::ShareOpened)
        .count();
    assert_eq!(opened, 1);
    let refused = all_events(store, account)
        .await
        .into_iter()
        .filter(|e| e.kind == EventKind::DeviceRefused)
        .count();
    assert_eq!(refused, 1, "50 refusals within a minute are reported once");
}

/// Wrong token or unknown id → `NotFound`; ended by the owner or by time → `Ended`.
pub async fn bind_refusals(store: &impl Store) {
    let account = account(store).await;
    let record = record(store, account).await;
    let share = share(store, account, record, ShareSpec::default()).await;

    let wrong_token = store
        .bind(&share.share_id, &random32(), &device_key(), b"tag", T0 + 1)
        .await
        .expect("bind")
        .0;
    assert_eq!(wrong_token, BindOutcome::NotFound);
    assert!(
        by_id(store, share).await.device_key.is_none(),
        "a wrong token binds nothing"
    );
    let unknown = store
        .bind(
            &random16(),
            &share.token_hash,
            &device_key(),
            b"tag",
            T0 + 1,
        )
        .await
        .expect("bind")
        .0;
    assert_eq!(unknown, BindOutcome::NotFound);

    store
        .end_share(account, share.handle, T0 + 2)
        .await
        .expect("end");
    let after_delete = store
        .bind(
            &share.share_id,
            &share.token_hash,
            &device_key(),
            b"tag",
            T0 + 3,
        )
        .await
        .expect("bind")
        .0;
    assert_eq!(after_delete, BindOutcome::Ended);

    let brief = ShareSpec {
        expires_at: T0 + 100,
        ..ShareSpec::default()
    };
    let lapsing = self::share(store, account, record, brief).await;
    let at_expiry = store
        .bind(
            &lapsing.share_id,
            &lapsing.token_hash,
            &device_key(),
            b"tag",
            T0 + 100,
        )
        .await
        .expect("bind")
        .0;
    assert_eq!(
        at_expiry,
        BindOutcome::Ended,
        "expired by time, no sweep needed"
    );
    let wrong_token_on_ended = store
        .bind(
            &lapsing.share_id,
            &random32(),
            &device_key(),
            b"tag",
            T0 + 100,
        )
        .await
        .expect("bind")
        .0;
    assert_eq!(wrong_token_on_ended, BindOutcome::NotFound);

    // Every refusal of another device is counted (events come at most one a minute).
    let bound = self::share(store, account, record, ShareSpec::default()).await;
    let first = store
        .bind(
            &bound.share_id,
            &bound.token_hash,
            &device_key(),
            b"tag",
            T0 + 10,
        )
        .await
        .expect("bind")
        .0;
    assert_eq!(first, BindOutcome::Bound);
    for at in [T0 + 11, T0 + 12, T0 + 13] {
        let other = store
            .bind(
                &bound.share_id,
                &bound.token_hash,
                &device_key(),
                b"tag",
                at,
            )
            .await
            .expect("bind")
            .0;
        assert_eq!(other, BindOutcome::OtherDevice);
    }
    let row = by_id(store, bound).await;
    assert_eq!(row.refused_count, 3);
    assert_eq!(row.refused_at, Some(T0 + 11));
    assert_eq!(by_id(store, share).await.refused_count, 0);
}

/// For backend-specific crypto-shredding tests: makes a share whose SK-wrapped record key is a unique
/// 60-byte marker, ends it, and returns the marker. After this, the backend's files should no longer
/// contain it (once the backend has flushed).
pub async fn ended_share_key_marker(store: &impl Store) -> Vec<u8> {
    let account = account(store).await;
    let record = record(store, account).await;
    let rotation = honest_rotation(store, account, record, T0).await;
    let mut share = new_share(&rotation, &ShareSpec::default());
    let mut marker = b"shred-me:".to_vec();
    while marker.len() < 60 {
        marker.extend_from_slice(&random16());
    }
    marker.truncate(60);
    share.wrapped_key = marker.clone();
    let handle = share.handle;
    store
        .create_share(account, record, rotation, share, NO_SHARE_LIMIT)
        .await
        .expect("create share");
    let (ended, _) = store
        .end_share(account, handle, T0 + 10)
        .await
        .expect("end share");
    assert_eq!(ended.wrapped_key, None);
    marker
}

/// The live-share limit: counted over the account's shares live at the new share's time, across its
/// records (an expired share frees its place even before the sweeper ends it, and so does ending one);
/// a refused creation changes nothing; racing creations never pass the limit together.
pub async fn share_limit(store: &impl Store) {
    let account = account(store).await;
    let (record, other) = (
        self::record(store, account).await,
        self::record(store, account).await,
    );
    let create = |record: Id, at: UnixTime, expires_at: UnixTime| async move {
        let rotation = honest_rotation(store, account, record, at).await;
        let spec = ShareSpec {
            created_at: at,
            expires_at,
            ..ShareSpec::default()
        };
        let share = new_share(&rotation, &spec);
        let handle = share.handle;
        store
            .create_share(account, record, rotation, share, 2)
            .await
            .map(|()| handle)
    };
    create(record, T0, T0 + 10).await.expect("first");
    let second = create(other, T0, T0 + HOUR)
        .await
        .expect("second, on another record");
    let before = head(store, account, record).await;
    assert_store_err!(
        create(record, T0 + 1, T0 + HOUR).await,
        StoreError::ShareLimit
    );
    assert_eq!(
        head(store, account, record).await.version,
        before.version,
        "a refused share rotated nothing"
    );
    create(record, T0 + 10, T0 + HOUR)
        .await
        .expect("the first has expired");
    assert_store_err!(
        create(other, T0 + 11, T0 + HOUR).await,
        StoreError::ShareLimit
    );
    store
        .end_share(account, second, T0 + 12)
        .await
        .expect("end");
    create(other, T0 + 13, T0 + HOUR)
        .await
        .expect("an ended share's place");

    // Racing creations on eight records of one account, against a limit of three.
    let racer = self::account(store).await;
    let mut prepared = Vec::new();
    for _ in 0..8 {
        let record = self::record(store, racer).await;
        let rotation = honest_rotation(store, racer, record, T0).await;
        let share = new_share(&rotation, &ShareSpec::default());
        prepared.push((record, rotation, share));
    }
    let made =
        futures::future::join_all(prepared.into_iter().map(|(record, rotation, share)| {
            store.create_share(racer, record, rotation, share, 3)
        }))
        .await;
    assert_eq!(
        made.iter().filter(|r| r.is_ok()).count(),
        3,
        "racing creations passed the limit together"
    );
    assert!(
        made.iter()
            .all(|r| r.is_ok() || matches!(r, Err(StoreError::ShareLimit)))
    );
}

/// A first open in one write with its attempt at T: a wrong T is counted and binds nothing, a right one
/// clears the count and binds; of racing right opens by many keys exactly one wins; during a wait nothing
/// is bound, whatever T was.
pub async fn bind_with_attempt_in_one_write(store: &impl Store) {
    let account = account(store).await;
    let record = record(store, account).await;
    let share = share(store, account, record, ShareSpec::default()).await;
    let open = |correct: bool, key: Vec<u8>, now: UnixTime| async move {
        store
            .bind_with_attempt(
                &share.share_id,
                correct,
                &share.token_hash,
                &key,
                b"tag",
                now,
            )
            .await
            .expect("bind with attempt")
    };

    let (attempt, outcome, events) = open(false, device_key(), T0 + 1).await;
    assert_eq!((granted(attempt), outcome), (1, None));
    assert!(events.is_empty());
    let row = by_id(store, share).await;
    assert_eq!((row.failed_attempts, row.device_key), (1, None));

    let keys: Vec<Vec<u8>> = (0..20).map(|_| device_key()).collect();
    let answers = join_all(keys.iter().map(|key| open(true, key.clone(), T0 + 2))).await;
    let winners: Vec<usize> = (0..answers.len())
        .filter(|&i| answers[i].1 == Some(BindOutcome::Bound))
        .collect();
    assert_eq!(winners.len(), 1, "exactly one open wins");
    assert!(
        answers
            .iter()
            .enumerate()
            .all(|(i, a)| i == winners[0] || a.1 == Some(BindOutcome::OtherDevice)),
        "every other right open is refused for another device"
    );
    let opened: usize = answers
        .iter()
        .map(|a| {
            a.2.iter()
                .filter(|e| e.kind == EventKind::ShareOpened)
                .count()
        })
        .sum();
    assert_eq!(opened, 1, "the winner's write raised the one share_opened");
    let row = by_id(store, share).await;
    assert_eq!(row.device_key.as_ref(), Some(&keys[winners[0]]));
    assert_eq!(row.failed_attempts, 0, "a right T clears the count");

    // Another share, waiting out five wrong attempts: a right T is refused too, and binds nothing.
    let waiting = self::share(store, account, record, ShareSpec::default()).await;
    for n in 1..=5u32 {
        let (attempt, outcome, _) = store
            .bind_with_attempt(
                &waiting.share_id,
                false,
                &waiting.token_hash,
                &device_key(),
                b"tag",
                T0 + 10,
            )
            .await
            .expect("wrong");
        assert_eq!((granted(attempt), outcome), (n, None));
    }
    let (attempt, outcome, _) = store
        .bind_with_attempt(
            &waiting.share_id,
            true,
            &waiting.token_hash,
            &device_key(),
            b"tag",
            T0 + 11,
        )
        .await
        .expect("refused");
    assert!(refused(attempt) > 0);
    assert_eq!(outcome, None);
    let row = by_id(store, waiting).await;
    assert_eq!((row.failed_attempts, row.device_key), (5, None));

    assert_store_err!(
        store
            .bind_with_attempt(&random16(), true, &random32(), &device_key(), b"tag", T0)
            .await,
        StoreError::NotFound
    );
}
