//! File rows: begin, complete, list.

use std::collections::HashSet;

use super::*;

/// File rows: begin (idempotent for the same uploader), complete once, list.
pub async fn files(store: &impl Store) {
    let account = account(store).await;
    let record = record(store, account).await;
    let share = share(store, account, record, ShareSpec::default()).await;
    let (owners, recipients) = (id(), id());

    store
        .begin_file(record, owners, Author::Owner, T0)
        .await
        .expect("begin");
    store
        .begin_file(record, owners, Author::Owner, T0 + 1)
        .await
        .expect("begin again");
    assert_store_err!(
        store
            .begin_file(record, owners, Author::Share(share.handle), T0 + 1)
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

    store
        .complete_file(record, owners, 3, 1_000_000)
        .await
        .expect("complete");
    store
        .complete_file(record, owners, 3, 1_000_000)
        .await
        .expect("complete again, same totals");
    assert_store_err!(
        store.complete_file(record, owners, 4, 1_000_000).await,
        StoreError::AlreadyExists
    );
    assert_store_err!(
        store
            .begin_file(record, owners, Author::Owner, T0 + 2)
            .await,
        StoreError::AlreadyExists
    );
    let row = store
        .file(record, owners)
        .await
        .expect("file")
        .expect("found");
    assert_eq!((row.complete, row.parts, row.size), (true, 3, 1_000_000));

    store
        .begin_file(record, recipients, Author::Share(share.handle), T0 + 5)
        .await
        .expect("begin");
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

    assert!(store.file(record, id()).await.expect("file").is_none());
    assert!(store.files(id()).await.expect("files").is_empty());
    assert_store_err!(
        store.begin_file(id(), id(), Author::Owner, T0).await,
        StoreError::NotFound
    );
    assert_store_err!(
        store.complete_file(record, id(), 1, 1).await,
        StoreError::NotFound
    );
    let distinct: HashSet<Id> = store
        .files(record)
        .await
        .expect("files")
        .iter()
        .map(|f| f.file_id)
        .collect();
    assert_eq!(distinct.len(), 2);
}
