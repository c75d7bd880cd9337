//! Records: create, read, list, versioned writes, history, deletion and key rotation.

use super::*;

/// An envelope limit above every envelope the checks write, unless a check tests the limit.
const LIMIT: usize = 8192;

pub async fn records_create_read_list(store: &impl Store) {
    let account = account(store).await;
    let first = record(store, account).await;

    let duplicate = NewRecord {
        id: first,
        wrapped_key: b"other".to_vec(),
        first: version(1, 1, Author::Owner, T0),
    };
    assert_store_err!(
        store.create_record(account, duplicate).await,
        StoreError::AlreadyExists
    );

    let current = store
        .record(account, first)
        .await
        .expect("read")
        .expect("found");
    assert_eq!(current.head.id, first);
    assert_eq!((current.head.version, current.head.key_gen), (1, 1));
    assert_eq!(current.head.wrapped_key, b"rk1 under dk");
    assert_eq!(current.head.summary, b"summary v1");
    assert_eq!(current.head.author, Author::Owner);
    assert_eq!((current.head.created_at, current.head.updated_at), (T0, T0));
    assert!(!current.head.rotate_pending);
    assert_eq!(current.envelope, b"envelope v1 k1");
    assert_eq!(current.proof, b"proof v1");

    let second = record(store, account).await;
    store
        .update_record(account, second, 1, version(2, 1, Author::Owner, T0 + 60))
        .await
        .expect("update");
    let list = store.list_records(account, LIMIT).await.expect("list");
    let ids: Vec<Id> = list.iter().map(|l| l.head.id).collect();
    assert_eq!(ids, vec![second, first], "most recently changed first");
    assert_eq!(list[0].head.version, 2);
    assert_eq!(list[0].head.summary, b"summary v2");

    let stranger = self::account(store).await;
    assert!(
        store
            .list_records(stranger, LIMIT)
            .await
            .expect("list")
            .is_empty()
    );
    assert!(
        store.record(stranger, first).await.expect("read").is_none(),
        "another account's record is invisible"
    );
    assert!(store.record(account, id()).await.expect("read").is_none());
}

/// The list carries each record's current envelope and proof, from one statement: the head's version,
/// key generation, wrapped key, summary and author all belong to the same current version as the
/// envelope, for every record (a join gone wrong would pair one record's head with another's version); an
/// envelope over the limit is left out with its proof, and one exactly at the limit is carried.
pub async fn records_list_carries_current(store: &impl Store) {
    let account = account(store).await;
    let mut expected = Vec::new();
    for n in 0..40u8 {
        let record = record(store, account).await;
        // Every fourth record moves on: a new version, some with a rotation to a new key generation.
        if n % 4 == 1 {
            store
                .update_record(account, record, 1, version(2, 1, Author::Owner, T0 + 10))
                .await
                .expect("update");
        } else if n % 4 == 3 {
            let rotation = honest_rotation(store, account, record, T0 + 20).await;
            store
                .rotate_record(account, record, rotation)
                .await
                .expect("rotate");
        }
        expected.push(record);
    }
    let list = store.list_records(account, LIMIT).await.expect("list");
    assert_eq!(list.len(), expected.len());
    let mut seen: Vec<Id> = list.iter().map(|l| l.head.id).collect();
    seen.sort();
    expected.sort();
    assert_eq!(seen, expected, "every record once");
    for listed in &list {
        let current = store
            .record(account, listed.head.id)
            .await
            .expect("read")
            .expect("found");
        let (v, k) = (listed.head.version, listed.head.key_gen);
        assert_eq!((v, k), (current.head.version, current.head.key_gen));
        assert_eq!(
            listed.envelope.as_deref(),
            Some(format!("envelope v{v} k{k}").as_bytes()),
            "the current version's envelope"
        );
        assert_eq!(
            listed.proof.as_deref(),
            Some(format!("proof v{v}").as_bytes())
        );
        assert_eq!(listed.head.summary, format!("summary v{v}").into_bytes());
        assert_eq!(
            listed.head.wrapped_key,
            format!("rk{k} under dk").into_bytes()
        );
        assert_eq!(listed.head.wrapped_key, current.head.wrapped_key);
    }
    // Ordered by the time of the current version, newest first.
    let times: Vec<UnixTime> = list.iter().map(|l| l.head.updated_at).collect();
    let mut sorted = times.clone();
    sorted.sort_by(|a, b| b.cmp(a));
    assert_eq!(times, sorted);
    assert_eq!(list[0].head.updated_at, T0 + 20);

    // A large current version is listed without its envelope and proof; its head stays.
    let large = id();
    let mut first = version(1, 1, Author::Owner, T0 + 30);
    first.envelope = vec![7; 9000];
    store
        .create_record(
            account,
            NewRecord {
                id: large,
                wrapped_key: b"rk1 under dk".to_vec(),
                first,
            },
        )
        .await
        .expect("create large");
    let list = store.list_records(account, LIMIT).await.expect("list");
    assert_eq!(list.len(), expected.len() + 1);
    let top = &list[0];
    assert_eq!(top.head.id, large);
    assert_eq!(
        (top.envelope.as_deref(), top.proof.as_deref()),
        (None, None)
    );
    assert_eq!(top.head.summary, b"summary v1");
    assert!(
        list[1..]
            .iter()
            .all(|l| l.envelope.is_some() && l.proof.is_some())
    );

    // The limit is inclusive, and it is the caller's.
    let list = store.list_records(account, 9000).await.expect("list");
    assert_eq!(list[0].envelope.as_deref(), Some(&[7u8; 9000][..]));
    assert_eq!(list[0].proof.as_deref(), Some(&b"proof v1"[..]));
    let list = store.list_records(account, 8999).await.expect("list");
    assert_eq!(list[0].envelope, None);
    // Every small envelope here is as long as "envelope v1 k1".
    let small = "envelope v1 k1".len();
    let list = store.list_records(account, small).await.expect("list");
    let carried = list.iter().filter(|l| l.envelope.is_some()).count();
    assert_eq!(carried, expected.len());
    let list = store.list_records(account, small - 1).await.expect("list");
    assert!(
        list.iter()
            .all(|l| l.envelope.is_none() && l.proof.is_none())
    );
}

/// Versioned owner writes: next version only, current key generation only.
pub async fn records_update(store: &impl Store) {
    let account = account(store).await;
    let record = record(store, account).await;

    store
        .update_record(account, record, 1, version(2, 1, Author::Owner, T0 + 1))
        .await
        .expect("update");
    let current = store
        .record(account, record)
        .await
        .expect("read")
        .expect("found");
    assert_eq!(current.envelope, b"envelope v2 k1");
    assert_eq!(current.head.updated_at, T0 + 1);

    let conflict = store
        .update_record(account, record, 1, version(2, 1, Author::Owner, T0 + 2))
        .await;
    assert_store_err!(
        conflict,
        StoreError::VersionConflict {
            current_version: 2,
            current_key_gen: 1
        }
    );
    let stale = store
        .update_record(account, record, 2, version(3, 2, Author::Owner, T0 + 2))
        .await;
    assert_store_err!(
        stale,
        StoreError::StaleKey {
            current_version: 2,
            current_key_gen: 1
        }
    );
    let skipping = store
        .update_record(account, record, 2, version(4, 1, Author::Owner, T0 + 2))
        .await;
    assert_store_err!(skipping, StoreError::VersionConflict { .. });

    let stranger = self::account(store).await;
    let foreign = store
        .update_record(stranger, record, 2, version(3, 1, Author::Owner, T0 + 2))
        .await;
    assert_store_err!(foreign, StoreError::NotFound);
    let unknown = store
        .update_record(account, id(), 1, version(2, 1, Author::Owner, T0 + 2))
        .await;
    assert_store_err!(unknown, StoreError::NotFound);

    let current = store
        .record(account, record)
        .await
        .expect("read")
        .expect("found");
    assert_eq!(current.head.version, 2, "failed writes changed nothing");
}

pub async fn records_history(store: &impl Store) {
    let account = account(store).await;
    let record = record(store, account).await;
    store
        .update_record(account, record, 1, version(2, 1, Author::Owner, T0 + 1))
        .await
        .expect("update");
    let rotation = honest_rotation(store, account, record, T0 + 2).await;
    store
        .rotate_record(account, record, rotation)
        .await
        .expect("rotate");

    let history = store
        .history(account, record)
        .await
        .expect("history")
        .expect("found");
    let numbers: Vec<(u64, u64)> = history
        .versions
        .iter()
        .map(|v| (v.version, v.key_gen))
        .collect();
    assert_eq!(numbers, vec![(1, 1), (2, 1), (3, 2)]);
    assert_eq!(history.versions[2].envelope, b"envelope v3 k2");
    assert_eq!(history.versions[2].proof, b"proof v3");
    assert_eq!(history.versions[2].created_at, T0 + 2);
    assert!(history.versions.iter().all(|v| v.author == Author::Owner));
    assert_eq!(
        history.keys,
        vec![(1, b"rk1 under dk".to_vec()), (2, b"rk2 under dk".to_vec())]
    );

    let stranger = self::account(store).await;
    assert!(
        store
            .history(stranger, record)
            .await
            .expect("history")
            .is_none()
    );
    assert!(
        store
            .history(account, id())
            .await
            .expect("history")
            .is_none()
    );
}

/// Deleting a record ends its shares, drops their keys, and hands back its files for deletion.
pub async fn records_delete(store: &impl Store) {
    let account = account(store).await;
    let record = record(store, account).await;
    let share = share(store, account, record, ShareSpec::default()).await;
    let (file_a, file_b) = (id(), id());
    for file in [file_a, file_b] {
        let write = PartBlob {
            record,
            file,
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
    }

    let stranger = self::account(store).await;
    assert_store_err!(
        store.delete_record(stranger, record, T0 + 10).await,
        StoreError::NotFound
    );

    let (mut files, _) = store
        .delete_record(account, record, T0 + 10)
        .await
        .expect("delete");
    files.sort();
    let mut expected = vec![file_a, file_b];
    expected.sort();
    assert_eq!(files, expected);

    assert!(store.record(account, record).await.expect("read").is_none());
    assert!(
        store
            .history(account, record)
            .await
            .expect("history")
            .is_none()
    );
    assert!(
        store
            .list_records(account, LIMIT)
            .await
            .expect("list")
            .is_empty()
    );
    assert!(store.files(record).await.expect("files").is_empty());
    let ended = store
        .share(account, share.handle)
        .await
        .expect("share")
        .expect("still listed");
    assert_eq!(ended.end_reason, Some(EndReason::RecordDeleted));
    assert_eq!(ended.ended_at, Some(T0 + 10));
    assert_eq!(ended.wrapped_key, None);
    assert_eq!(ended.state(T0 + 10), ShareState::Deleted);
    assert_store_err!(
        store.recipient_view(&share.share_id, T0 + 10).await,
        StoreError::ShareEnded
    );
    let outcome = store
        .bind(
            &share.share_id,
            &share.token_hash,
            &device_key(),
            b"tag",
            T0 + 11,
        )
        .await
        .expect("bind")
        .0;
    assert_eq!(outcome, BindOutcome::Ended);
    assert_store_err!(
        store.delete_record(account, record, T0 + 12).await,
        StoreError::NotFound
    );
}

/// Rotation: generation k + 1 only, and the new key for exactly the live shares.
pub async fn rotation(store: &impl Store) {
    let account = account(store).await;
    let record = record(store, account).await;
    let at = T0 + 10;

    let alone = honest_rotation(store, account, record, at).await;
    assert!(alone.share_keys.is_empty());
    store
        .rotate_record(account, record, alone)
        .await
        .expect("rotate without shares");
    let after = head(store, account, record).await;
    assert_eq!((after.version, after.key_gen), (2, 2));
    assert_eq!(after.wrapped_key, b"rk2 under dk");

    let kept = share(
        store,
        account,
        record,
        ShareSpec {
            created_at: at,
            ..ShareSpec::default()
        },
    )
    .await;
    let ending = share(
        store,
        account,
        record,
        ShareSpec {
            created_at: at,
            ..ShareSpec::default()
        },
    )
    .await;
    let brief = ShareSpec {
        created_at: at,
        expires_at: at + 60,
        ..ShareSpec::default()
    };
    let timed_out = share(store, account, record, brief).await;
    let head_now = head(store, account, record).await;
    assert_eq!(
        (head_now.version, head_now.key_gen),
        (5, 5),
        "each share rotated once"
    );

    store
        .end_share(account, ending.handle, at + 100)
        .await
        .expect("end");
    assert!(
        head(store, account, record).await.rotate_pending,
        "an ended share asks for rotation"
    );

    let later = at + 200;
    let key = |h: Id| (h, b"rk6 under sk".to_vec());
    let head_now = head(store, account, record).await;
    for wrong in [
        vec![],
        vec![key(kept.handle), key(ending.handle)],
        vec![key(kept.handle), key(timed_out.handle)],
        vec![key(kept.handle), key(id())],
        vec![key(kept.handle), key(kept.handle)],
    ] {
        let result = store
            .rotate_record(account, record, rotation_from(&head_now, wrong, later))
            .await;
        assert_store_err!(result, StoreError::ShareSetMismatch);
    }

    let mut skipping = rotation_from(&head_now, vec![key(kept.handle)], later);
    skipping.version.key_gen += 1;
    assert_store_err!(
        store.rotate_record(account, record, skipping).await,
        StoreError::StaleKey {
            current_version: 5,
            current_key_gen: 5
        }
    );
    let mut behind = rotation_from(&head_now, vec![key(kept.handle)], later);
    behind.base_version -= 1;
    behind.version.version -= 1;
    assert_store_err!(
        store.rotate_record(account, record, behind).await,
        StoreError::VersionConflict { .. }
    );
    let stranger = self::account(store).await;
    let foreign = rotation_from(&head_now, vec![key(kept.handle)], later);
    assert_store_err!(
        store.rotate_record(stranger, record, foreign).await,
        StoreError::NotFound
    );

    let right = rotation_from(&head_now, vec![key(kept.handle)], later);
    store
        .rotate_record(account, record, right)
        .await
        .expect("rotate");
    let after = head(store, account, record).await;
    assert_eq!((after.version, after.key_gen), (6, 6));
    assert!(!after.rotate_pending, "rotation clears rotate_pending");
    let kept_row = by_id(store, kept).await;
    assert_eq!(kept_row.key_gen, 6);
    assert_eq!(kept_row.wrapped_key.as_deref(), Some(&b"rk6 under sk"[..]));
    let timed_out_row = by_id(store, timed_out).await;
    assert_eq!(timed_out_row.key_gen, 5, "an expired share gets no new key");
}
