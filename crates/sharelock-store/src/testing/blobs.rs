//! The blob-store suite: every [`BlobStore`] backend (memory, local directory, S3) must pass every check.
//!
//! A backend's test file runs them all with [`blob_store_tests!`](crate::blob_store_tests), on a fresh,
//! empty blob store from `$setup().await` (an async fn returning `(guard, BlobStore)`).

use bytes::Bytes;
use futures::{StreamExt as _, TryStreamExt as _};
use uuid::Uuid;

use crate::blob::BlobStore;
use crate::model::*;
use crate::sqlite::{SqliteOptions, SqliteStore};
use crate::{Store, StoreError};

/// Runs every blob-store check as its own `#[tokio::test]`, each on a blob store from `$setup().await`.
#[macro_export]
macro_rules! blob_store_tests {
    ($setup:path) => {
        $crate::blob_store_tests!(@each $setup;
            parts_round_trip,
            parts_are_fetched_lazily,
            delete_removes_only_that_file,
            deleted_records_take_their_blobs,
            empty_and_unknown_files,
        );
    };
    (@each $setup:path; $($check:ident),* $(,)?) => {
        $(
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $check() {
                let (_guard, blobs) = $setup().await;
                $crate::testing::blobs::$check(&blobs).await;
            }
        )*
    };
}

/// The file's parts `0..parts`, read back as one byte string.
pub async fn read_all(
    blobs: &BlobStore,
    record: Id,
    file: Id,
    parts: u32,
) -> Result<Vec<u8>, StoreError> {
    let chunks: Vec<Bytes> = blobs.open(record, file, parts).try_collect().await?;
    Ok(chunks.concat())
}

fn part(n: u8) -> Bytes {
    Bytes::from(vec![n; 3000 + usize::from(n)])
}

/// Parts uploaded in any order (one of them twice, as a retried request does) come back in order as
/// one stream, with their sizes listed; asking for a part that was never written ends with NotFound.
pub async fn parts_round_trip(blobs: &BlobStore) {
    let (record, file) = (Uuid::new_v4(), Uuid::new_v4());
    for n in [2u8, 0, 1] {
        blobs
            .put_part(record, file, u32::from(n), part(n))
            .await
            .expect("put");
    }
    // A retried part overwrites.
    blobs
        .put_part(record, file, 1, Bytes::from_static(b"not this"))
        .await
        .expect("put");
    blobs
        .put_part(record, file, 1, part(1))
        .await
        .expect("put again");

    let expected = [part(0), part(1), part(2)].concat();
    assert_eq!(
        read_all(blobs, record, file, 3).await.expect("read"),
        expected
    );
    assert_eq!(
        read_all(blobs, record, file, 2).await.expect("read"),
        [part(0), part(1)].concat(),
        "a shorter read stops at its last part"
    );
    assert!(matches!(
        read_all(blobs, record, file, 4).await,
        Err(StoreError::NotFound)
    ));
    assert_eq!(
        blobs.part_sizes(record, file).await.expect("list"),
        vec![(0, 3000), (1, 3001), (2, 3002)]
    );
}

/// The stream asks for a part only when the previous one has been read, so a download holds one
/// part's chunks at a time, whatever the file's size.
pub async fn parts_are_fetched_lazily(blobs: &BlobStore) {
    let (record, file) = (Uuid::new_v4(), Uuid::new_v4());
    blobs
        .put_part(record, file, 0, Bytes::from_static(b"first"))
        .await
        .expect("put");
    let mut stream = blobs.open(record, file, 2);
    let mut first = Vec::new();
    while first.len() < 5 {
        first.extend_from_slice(&stream.next().await.expect("a chunk").expect("part 0"));
    }
    assert_eq!(first, b"first");
    // Part 1 did not exist when the stream was opened, nor when part 0 was read.
    blobs
        .put_part(record, file, 1, Bytes::from_static(b"second"))
        .await
        .expect("put");
    let rest: Vec<Bytes> = stream.try_collect().await.expect("part 1");
    assert_eq!(rest.concat(), b"second");
}

/// Deleting a file removes every one of its parts and nothing else (not the record's other files,
/// not another record's); deleting it again, or a file never written, is fine.
pub async fn delete_removes_only_that_file(blobs: &BlobStore) {
    let (record, file, sibling) = (Uuid::new_v4(), Uuid::new_v4(), Uuid::new_v4());
    let other_record = Uuid::new_v4();
    for n in 0..3 {
        blobs
            .put_part(record, file, n, part(n as u8))
            .await
            .expect("put");
    }
    blobs
        .put_part(record, sibling, 0, part(7))
        .await
        .expect("put");
    blobs
        .put_part(other_record, file, 0, part(8))
        .await
        .expect("put");

    blobs.delete_file(record, file).await.expect("delete");
    assert!(
        blobs
            .part_sizes(record, file)
            .await
            .expect("list")
            .is_empty()
    );
    assert!(matches!(
        read_all(blobs, record, file, 1).await,
        Err(StoreError::NotFound)
    ));
    assert_eq!(
        read_all(blobs, record, sibling, 1).await.expect("read"),
        part(7).to_vec()
    );
    assert_eq!(
        read_all(blobs, other_record, file, 1).await.expect("read"),
        part(8).to_vec()
    );
    blobs
        .delete_file(record, file)
        .await
        .expect("deleting a deleted file is fine");
    blobs
        .delete_file(Uuid::new_v4(), Uuid::new_v4())
        .await
        .expect("deleting a file never written is fine");
}

/// What the server does when an owner deletes a record: the store deletes the rows and names the
/// record's files, the server deletes their blobs. Afterwards nothing of the record's files can be
/// read back, complete or not; another record's files stay.
pub async fn deleted_records_take_their_blobs(blobs: &BlobStore) {
    let dir = std::env::temp_dir().join(format!("sharelock-blobs-{}", Uuid::new_v4().simple()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let store =
        SqliteStore::open(dir.join("sharelock.db"), SqliteOptions::default()).expect("open");
    let account = super::account(&store).await;
    let (record, kept) = (
        super::record(&store, account).await,
        super::record(&store, account).await,
    );
    let (done, unfinished, other) = (Uuid::new_v4(), Uuid::new_v4(), Uuid::new_v4());
    for (r, f, parts) in [
        (record, done, 3u32),
        (record, unfinished, 2),
        (kept, other, 1),
    ] {
        store
            .begin_file(r, f, Author::Owner, super::T0)
            .await
            .expect("begin");
        for n in 0..parts {
            blobs.put_part(r, f, n, part(n as u8)).await.expect("put");
        }
    }
    store
        .complete_file(record, done, 3, 9003)
        .await
        .expect("complete");
    store
        .complete_file(kept, other, 1, 3000)
        .await
        .expect("complete");

    let (mut files, _) = store
        .delete_record(account, record, super::T0 + 1)
        .await
        .expect("delete record");
    files.sort();
    let mut expected = vec![done, unfinished];
    expected.sort();
    assert_eq!(files, expected, "the store names every file of the record");
    for file in files {
        blobs.delete_file(record, file).await.expect("delete blobs");
    }
    for (file, parts) in [(done, 3), (unfinished, 2)] {
        assert!(
            blobs
                .part_sizes(record, file)
                .await
                .expect("list")
                .is_empty()
        );
        for n in 0..parts {
            assert!(matches!(
                read_all(blobs, record, file, n + 1).await,
                Err(StoreError::NotFound)
            ));
        }
    }
    assert_eq!(
        read_all(blobs, kept, other, 1).await.expect("read"),
        part(0).to_vec()
    );
    drop(store);
    let _ = std::fs::remove_dir_all(&dir);
}

/// A file nobody wrote has no parts, and reading zero parts is an empty stream.
pub async fn empty_and_unknown_files(blobs: &BlobStore) {
    let (record, file) = (Uuid::new_v4(), Uuid::new_v4());
    assert!(
        blobs
            .part_sizes(record, file)
            .await
            .expect("list")
            .is_empty()
    );
    assert!(
        read_all(blobs, record, file, 0)
            .await
            .expect("read")
            .is_empty()
    );
    assert!(matches!(
        read_all(blobs, record, file, 1).await,
        Err(StoreError::NotFound)
    ));
}
