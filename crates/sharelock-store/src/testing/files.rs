//! Files: part writes, completion, quotas, the sweep of unfinished uploads and blob garbage.

use std::collections::HashSet;

use futures::future::join_all;

use super::*;

const NO_LIMITS: UploadLimits = UploadLimits {
    account_bytes: u64::MAX,
    share_bytes: u64::MAX,
};

fn part_write(record: Id, file: Id, part: u32) -> PartBlob {
    PartBlob {
        record,
        file,
        part,
        write: id(),
    }
}

/// A whole part write, as the server does it: reserved, then (bytes stored) attached.
pub(super) async fn put(
    store: &impl Store,
    record: Id,
    file: Id,
    part: u32,
    size: u64,
    by: Author,
) -> PartBlob {
    let write = part_write(record, file, part);
    store
        .reserve_part(write, size, by, NO_LIMITS, T0)
        .await
        .expect("reserve");
    store.attach_part(write, T0).await.expect("attach");
    write
}

pub(super) async fn garbage(store: &impl Store) -> HashSet<PartBlob> {
    store
        .blob_garbage(10_000, T0)
        .await
        .expect("garbage")
        .into_iter()
        .collect()
}

/// Uploads belong to their first author; a completion must match the attached parts exactly; a
/// replaced part write becomes garbage; a completed file refuses every further write.
pub async fn files(store: &impl Store) {
    let account = account(store).await;
    let record = record(store, account).await;
    let share = share(store, account, record, ShareSpec::default()).await;
    let (owners, recipients) = (id(), id());

    let first = put(store, record, owners, 0, 400_000, Author::Owner).await;
    let second = put(store, record, owners, 1, 300_000, Author::Owner).await;
    let third = put(store, record, owners, 2, 1, Author::Owner).await;
    // A part sent again replaces the first write, which becomes garbage.
    let third_again = part_write(record, owners, 2);
    store
        .reserve_part(third_again, 300_000, Author::Owner, NO_LIMITS, T0 + 1)
        .await
        .expect("reserve again");
    assert_eq!(
        store
            .attach_part(third_again, T0 + 1)
            .await
            .expect("attach"),
        Some(third)
    );
    assert_eq!(garbage(store).await, HashSet::from([third]));
    assert_store_err!(
        store
            .reserve_part(
                part_write(record, owners, 3),
                1,
                Author::Share(share.handle),
                NO_LIMITS,
                T0 + 1
            )
            .await,
        StoreError::AlreadyExists
    );
    let row = store
        .file(record, owners)
        .await
        .expect("file")
        .expect("found");
    assert_eq!(
        (row.record_id, row.file_id, row.uploaded_by),
        (record, owners, Author::Owner)
    );
    assert_eq!(
        (row.complete, row.parts, row.size, row.created_at),
        (false, 0, 0, T0)
    );

    for (parts, size) in [(4, 1_000_000), (2, 700_000), (3, 999_999)] {
        assert_store_err!(
            store
                .complete_file(record, owners, Author::Owner, parts, size, T0 + 2)
                .await,
            StoreError::PartsMismatch
        );
    }
    assert_store_err!(
        store
            .complete_file(
                record,
                owners,
                Author::Share(share.handle),
                3,
                1_000_000,
                T0 + 2
            )
            .await,
        StoreError::NotFound
    );
    store
        .complete_file(record, owners, Author::Owner, 3, 1_000_000, T0 + 2)
        .await
        .expect("complete");
    store
        .complete_file(record, owners, Author::Owner, 3, 1_000_000, T0 + 3)
        .await
        .expect("complete again, same totals");
    assert_store_err!(
        store
            .complete_file(record, owners, Author::Owner, 4, 1_000_000, T0 + 3)
            .await,
        StoreError::AlreadyExists
    );
    assert_store_err!(
        store
            .reserve_part(
                part_write(record, owners, 0),
                1,
                Author::Owner,
                NO_LIMITS,
                T0 + 3
            )
            .await,
        StoreError::AlreadyExists
    );
    let row = store
        .file(record, owners)
        .await
        .expect("file")
        .expect("found");
    assert_eq!((row.complete, row.parts, row.size), (true, 3, 1_000_000));
    assert_eq!(
        store.file_parts(record, owners).await.expect("parts"),
        vec![first, second, third_again]
    );

    let theirs = part_write(record, recipients, 0);
    store
        .reserve_part(theirs, 10, Author::Share(share.handle), NO_LIMITS, T0 + 5)
        .await
        .expect("reserve");
    store.attach_part(theirs, T0 + 5).await.expect("attach");
    let listed: Vec<(Id, Author, bool)> = store
        .files(record)
        .await
        .expect("files")
        .iter()
        .map(|f| (f.file_id, f.uploaded_by, f.complete))
        .collect();
    assert_eq!(
        listed,
        vec![
            (owners, Author::Owner, true),
            (recipients, Author::Share(share.handle), false)
        ]
    );
    assert_eq!(
        store.file_parts(record, recipients).await.expect("parts"),
        vec![theirs]
    );

    assert!(store.file(record, id()).await.expect("file").is_none());
    assert!(store.files(id()).await.expect("files").is_empty());
    assert_store_err!(
        store
            .reserve_part(part_write(id(), id(), 0), 1, Author::Owner, NO_LIMITS, T0)
            .await,
        StoreError::NotFound
    );
    assert_store_err!(
        store
            .complete_file(record, id(), Author::Owner, 1, 1, T0)
            .await,
        StoreError::NotFound
    );

    // Garbage is forgotten once the caller says its blobs are deleted.
    store
        .forget_garbage(vec![third])
        .await
        .expect("forget garbage");
    assert!(garbage(store).await.is_empty());

    // Deleting the record makes every part write of its files garbage.
    store
        .delete_record(account, record, T0 + 10)
        .await
        .expect("delete record");
    assert_eq!(
        garbage(store).await,
        HashSet::from([first, second, third_again, theirs])
    );
}

/// The interleaving that used to change a completed file: a part write reserved before the file's
/// completion and stored after it. Its attachment is refused, the file keeps the parts it was
/// completed with, and the late write (and any write still in progress at completion) is garbage.
pub async fn completed_file_never_changes(store: &impl Store) {
    let account = account(store).await;
    let record = record(store, account).await;
    let file = id();
    let part = put(store, record, file, 0, 100, Author::Owner).await;

    let late = part_write(record, file, 0);
    store
        .reserve_part(late, 100, Author::Owner, NO_LIMITS, T0 + 1)
        .await
        .expect("reserve before completion");
    let stranded = part_write(record, file, 1);
    store
        .reserve_part(stranded, 100, Author::Owner, NO_LIMITS, T0 + 1)
        .await
        .expect("a write whose writer never comes back");
    store
        .complete_file(record, file, Author::Owner, 1, 100, T0 + 2)
        .await
        .expect("complete");
    assert_store_err!(
        store.attach_part(late, T0 + 3).await,
        StoreError::AlreadyExists
    );
    assert_eq!(
        store.file_parts(record, file).await.expect("parts"),
        vec![part]
    );
    assert_eq!(garbage(store).await, HashSet::from([late, stranded]));
    // Neither the refused nor the stranded write is counted any more: exactly the completed bytes are.
    let tight = UploadLimits {
        account_bytes: 101,
        share_bytes: u64::MAX,
    };
    store
        .reserve_part(part_write(record, id(), 0), 1, Author::Owner, tight, T0 + 4)
        .await
        .expect("only the completed file's bytes count");

    // A write whose bytes could not be stored stops counting too.
    let other = id();
    let failed = part_write(record, other, 0);
    store
        .reserve_part(failed, 50, Author::Owner, NO_LIMITS, T0 + 5)
        .await
        .expect("reserve");
    store.discard_part(failed, T0 + 5).await.expect("discard");
    assert!(garbage(store).await.contains(&failed));
    assert_store_err!(
        store.attach_part(failed, T0 + 6).await,
        StoreError::NotFound
    );
    assert!(
        store
            .file_parts(record, other)
            .await
            .expect("parts")
            .is_empty()
    );
}

/// Part writes racing a file's completion: whatever the order, the parts read after completion are
/// the parts read at any later time, every write attached is one that was answered Ok, and every
/// refused write is garbage.
pub async fn part_writes_racing_completion(store: &impl Store) {
    const WRITERS: usize = 12;
    let account = account(store).await;
    let record = record(store, account).await;
    for round in 0..3 {
        let file = id();
        put(store, record, file, 0, 64, Author::Owner).await;
        put(store, record, file, 1, 64, Author::Owner).await;
        let writes = async {
            join_all((0..WRITERS).map(|i| async move {
                let write = part_write(record, file, (i % 2) as u32);
                store
                    .reserve_part(write, 64, Author::Owner, NO_LIMITS, T0 + round)
                    .await
                    .ok()?;
                tokio::task::yield_now().await;
                let attached = store.attach_part(write, T0 + round).await;
                Some((write, attached.is_ok()))
            }))
            .await
        };
        let completion = async {
            tokio::task::yield_now().await;
            store
                .complete_file(record, file, Author::Owner, 2, 128, T0 + round)
                .await
                .expect("complete: every part is always attached, each 64 bytes");
            store.file_parts(record, file).await.expect("parts")
        };
        let (outcomes, at_completion) = futures::join!(writes, completion);
        let later = store.file_parts(record, file).await.expect("parts");
        assert_eq!(at_completion, later, "a completed file changed");
        let refused: HashSet<PartBlob> = outcomes
            .iter()
            .flatten()
            .filter(|(_, ok)| !ok)
            .map(|(w, _)| *w)
            .collect();
        for part in &later {
            assert!(!refused.contains(part), "a refused write is served");
        }
        let garbage = garbage(store).await;
        assert!(
            refused.is_subset(&garbage),
            "a refused write is not garbage"
        );
        assert!(
            later.iter().all(|part| !garbage.contains(part)),
            "an attached write is garbage"
        );
    }
}

/// Quotas are counted in the store: account bytes over every file of the account's records (the
/// recipients' uploads included), share bytes over what the share's recipient uploaded; writes in
/// progress count; a refused write stores nothing; racing writes never pass a quota together.
pub async fn upload_quotas(store: &impl Store) {
    let account = account(store).await;
    let record = record(store, account).await;
    let second = self::record(store, account).await;
    let spec = ShareSpec {
        editable: true,
        ..ShareSpec::default()
    };
    let share = share(store, account, second, spec).await;
    let limits = UploadLimits {
        account_bytes: 1000,
        share_bytes: 300,
    };

    let owners = id();
    let reserve = |record: Id, file: Id, part: u32, size: u64, by: Author| async move {
        let write = part_write(record, file, part);
        store
            .reserve_part(write, size, by, limits, T0)
            .await
            .map(|()| write)
    };
    let w = reserve(record, owners, 0, 600, Author::Owner)
        .await
        .expect("within");
    store.attach_part(w, T0).await.expect("attach");
    // A write in progress counts at once.
    reserve(record, owners, 1, 100, Author::Owner)
        .await
        .expect("within");
    assert_store_err!(
        reserve(record, owners, 2, 301, Author::Owner).await,
        StoreError::QuotaExceeded(Quota::Account)
    );
    // The share's recipient: its own allowance first, and the account's too.
    let theirs = id();
    let by = Author::Share(share.handle);
    reserve(second, theirs, 0, 250, by).await.expect("within");
    assert_store_err!(
        reserve(second, theirs, 1, 51, by).await,
        StoreError::QuotaExceeded(Quota::Share)
    );
    reserve(second, theirs, 1, 50, by)
        .await
        .expect("exactly the share's quota");
    // 600 + 100 + 300 = the account's 1000.
    assert_store_err!(
        reserve(second, id(), 0, 1, Author::Owner).await,
        StoreError::QuotaExceeded(Quota::Account)
    );
    // A refused first write leaves no upload behind.
    let refused = id();
    assert_store_err!(
        reserve(record, refused, 0, 5000, Author::Owner).await,
        StoreError::QuotaExceeded(Quota::Account)
    );
    assert!(store.file(record, refused).await.expect("file").is_none());
    // Another account is not affected.
    let other = self::account(store).await;
    let elsewhere = self::record(store, other).await;
    reserve(elsewhere, id(), 0, 1000, Author::Owner)
        .await
        .expect("a quota per account");

    // Racing writes: of 20 writes of 100 bytes against 1000, exactly 10 fit.
    let racer = self::account(store).await;
    let racers_record = self::record(store, racer).await;
    let fits = join_all((0..20u32).map(|i| reserve(racers_record, id(), i, 100, Author::Owner)))
        .await
        .iter()
        .filter(|r| r.is_ok())
        .count();
    assert_eq!(fits, 10, "racing writes passed the quota together");
}

/// Uploads never completed are dropped after their time: rows gone, part writes garbage; completed
/// files and younger uploads stay.
pub async fn unfinished_uploads_swept(store: &impl Store) {
    const TTL: i64 = 3600;
    let account = account(store).await;
    let record = record(store, account).await;
    let (abandoned, young, done) = (id(), id(), id());
    let a0 = put(store, record, abandoned, 0, 10, Author::Owner).await;
    let a1 = part_write(record, abandoned, 1);
    store
        .reserve_part(a1, 10, Author::Owner, NO_LIMITS, T0)
        .await
        .expect("a write in progress");
    let d0 = put(store, record, done, 0, 10, Author::Owner).await;
    store
        .complete_file(record, done, Author::Owner, 1, 10, T0)
        .await
        .expect("complete");
    let young_write = part_write(record, young, 0);
    store
        .reserve_part(young_write, 10, Author::Owner, NO_LIMITS, T0 + TTL)
        .await
        .expect("reserve");

    assert_eq!(
        store.sweep_uploads(T0 + TTL, TTL).await.expect("sweep"),
        0,
        "not yet"
    );
    assert_eq!(
        store.sweep_uploads(T0 + TTL + 1, TTL).await.expect("sweep"),
        1
    );
    assert!(store.file(record, abandoned).await.expect("file").is_none());
    assert!(store.file(record, young).await.expect("file").is_some());
    assert_eq!(
        store.file_parts(record, done).await.expect("parts"),
        vec![d0]
    );
    assert_eq!(garbage(store).await, HashSet::from([a0, a1]));
    // The swept write's late attachment is refused.
    assert_store_err!(
        store.attach_part(a1, T0 + TTL + 2).await,
        StoreError::NotFound
    );
    assert_eq!(
        store.sweep_uploads(T0 + TTL + 1, TTL).await.expect("sweep"),
        0,
        "nothing twice"
    );

    // Garbage stays listed until forgotten, a batch at a time.
    let batch = store.blob_garbage(1, T0).await.expect("garbage");
    assert_eq!(batch.len(), 1);
    store.forget_garbage(batch.clone()).await.expect("forget");
    let rest = garbage(store).await;
    assert_eq!(rest.len(), 1);
    assert!(!rest.contains(&batch[0]));
}

/// Garbage whose deletion failed is postponed: it leaves the listing until a delay that grows with
/// its age has passed, so blobs that keep failing never fill a batch ahead of newer garbage; once due
/// it is listed again, and forgetting it works as before.
pub async fn garbage_retries_back_off(store: &impl Store) {
    let account = account(store).await;
    let record = record(store, account).await;
    let file = id();
    // Three writes of one part at T0, T0 + 1 and T0 + 2, each replacing the last: `first` is garbage
    // since T0 + 1, `second` since T0 + 2.
    let mut writes = Vec::new();
    for at in T0..T0 + 3 {
        let write = part_write(record, file, 0);
        store
            .reserve_part(write, 10, Author::Owner, NO_LIMITS, at)
            .await
            .expect("reserve");
        store.attach_part(write, at).await.expect("attach");
        writes.push(write);
    }
    let (first, second) = (writes[0], writes[1]);
    let listed = |limit, now| async move { store.blob_garbage(limit, now).await.expect("garbage") };
    assert_eq!(listed(1, T0 + 2).await, vec![first], "oldest first");

    // The oldest keeps failing: postponed, the next one comes first.
    let failed = T0 + 2;
    store
        .postpone_garbage(vec![first], failed)
        .await
        .expect("postpone");
    assert_eq!(listed(1, failed).await, vec![second]);
    assert_eq!(
        listed(10, failed + GARBAGE_RETRY_MIN - 1).await,
        vec![second],
        "not due yet"
    );
    assert_eq!(
        listed(10, failed + GARBAGE_RETRY_MIN).await,
        vec![second, first],
        "due again, after the garbage never tried"
    );

    // Failing again later waits longer: as long as it has been garbage, up to the longest delay.
    let later = T0 + 1 + 1000;
    store
        .postpone_garbage(vec![first], later)
        .await
        .expect("postpone");
    assert_eq!(listed(10, later + 999).await, vec![second]);
    assert_eq!(listed(10, later + 1000).await, vec![second, first]);
    let much_later = T0 + 100 * GARBAGE_RETRY_MAX;
    store
        .postpone_garbage(vec![first], much_later)
        .await
        .expect("postpone");
    assert_eq!(
        listed(10, much_later + GARBAGE_RETRY_MAX - 1).await,
        vec![second]
    );
    assert_eq!(
        listed(10, much_later + GARBAGE_RETRY_MAX).await,
        vec![second, first]
    );

    // Postponing what is already forgotten changes nothing; forgetting a postponed one works.
    store
        .forget_garbage(vec![first, second])
        .await
        .expect("forget");
    store
        .postpone_garbage(vec![second], much_later)
        .await
        .expect("postpone a forgotten one");
    assert!(listed(10, i64::MAX / 2).await.is_empty());
}
