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
            large_parts_round_trip,
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

/// The given part writes, read back as one byte string.
pub async fn read_all(blobs: &BlobStore, parts: &[PartBlob]) -> Result<Vec<u8>, StoreError> {
    let chunks: Vec<Bytes> = blobs.open(parts.to_vec()).try_collect().await?;
    Ok(chunks.concat())
}

fn part(n: u8) -> Bytes {
    Bytes::from(vec![n; 3000 + usize::from(n)])
}

fn write(record: Id, file: Id, part: u32) -> PartBlob {
    PartBlob {
        record,
        file,
        part,
        write: Uuid::new_v4(),
    }
}

/// Parts of a few MiB, not a multiple of any read size, come back byte for byte (a local store reads
/// them in pieces: every piece must be there once, in order, and nothing past a part's end).
pub async fn large_parts_round_trip(blobs: &BlobStore) {
    let (record, file) = (Uuid::new_v4(), Uuid::new_v4());
    let sizes = [3 * 1024 * 1024 + 12_345, 512 * 1024, 1, 2 * 1024 * 1024 - 1];
    let writes: Vec<PartBlob> = (0..sizes.len() as u32)
        .map(|n| write(record, file, n))
        .collect();
    let mut expected = Vec::new();
    for (n, (size, blob)) in sizes.iter().zip(&writes).enumerate() {
        let bytes: Vec<u8> = (0..*size)
            .map(|i| ((i as u64 * 2_654_435_761) >> 13) as u8 ^ n as u8)
            .collect();
        expected.extend_from_slice(&bytes);
        blobs.put_part(blob, Bytes::from(bytes)).await.expect("put");
    }
    let read = read_all(blobs, &writes).await.expect("read");
    assert_eq!(read.len(), expected.len());
    assert!(read == expected, "the parts came back changed");
}

/// Parts written in any order come back in the order asked for, as one stream. A part written again
/// (a retried request) is an object of its own: the first write's bytes stay readable until deleted,
/// so a completed file's parts can never be overwritten. A write never stored ends the stream with
/// NotFound.
pub async fn parts_round_trip(blobs: &BlobStore) {
    let (record, file) = (Uuid::new_v4(), Uuid::new_v4());
    let writes: Vec<PartBlob> = (0..3).map(|n| write(record, file, n)).collect();
    for n in [2usize, 0, 1] {
        blobs
            .put_part(&writes[n], part(n as u8))
            .await
            .expect("put");
    }
    let again = write(record, file, 1);
    blobs
        .put_part(&again, Bytes::from_static(b"again"))
        .await
        .expect("put again");

    let expected = [part(0), part(1), part(2)].concat();
    assert_eq!(read_all(blobs, &writes).await.expect("read"), expected);
    assert_eq!(
        read_all(blobs, &[writes[0], again, writes[2]])
            .await
            .expect("read"),
        [part(0), Bytes::from_static(b"again"), part(2)].concat()
    );
    assert_eq!(
        read_all(blobs, &writes[..2]).await.expect("read"),
        [part(0), part(1)].concat(),
        "a shorter read stops at its last part"
    );
    assert!(matches!(
        read_all(blobs, &[writes[0], write(record, file, 1)]).await,
        Err(StoreError::NotFound)
    ));
}

/// The stream asks for a part only when the previous one has been read, so a download holds one
/// part's chunks at a time, whatever the file's size.
pub async fn parts_are_fetched_lazily(blobs: &BlobStore) {
    let (record, file) = (Uuid::new_v4(), Uuid::new_v4());
    let (first_write, second_write) = (write(record, file, 0), write(record, file, 1));
    blobs
        .put_part(&first_write, Bytes::from_static(b"first"))
        .await
        .expect("put");
    let mut stream = blobs.open(vec![first_write, second_write]);
    let mut first = Vec::new();
    while first.len() < 5 {
        first.extend_from_slice(&stream.next().await.expect("a chunk").expect("part 0"));
    }
    assert_eq!(first, b"first");
    // Part 1 did not exist when the stream was opened, nor when part 0 was read.
    blobs
        .put_part(&second_write, Bytes::from_static(b"second"))
        .await
        .expect("put");
    let rest: Vec<Bytes> = stream.try_collect().await.expect("part 1");
    assert_eq!(rest.concat(), b"second");
}

/// Deleting one write removes that object only; deleting a file removes every write of it and nothing
/// else (not the record's other files, not another record's); deleting again, or something never
/// written, is fine.
pub async fn delete_removes_only_that_file(blobs: &BlobStore) {
    let (record, file, sibling) = (Uuid::new_v4(), Uuid::new_v4(), Uuid::new_v4());
    let other_record = Uuid::new_v4();
    let writes: Vec<PartBlob> = (0..3).map(|n| write(record, file, n)).collect();
    for (n, w) in writes.iter().enumerate() {
        blobs.put_part(w, part(n as u8)).await.expect("put");
    }
    let replaced = write(record, file, 1);
    blobs.put_part(&replaced, part(9)).await.expect("put");
    let siblings = write(record, sibling, 0);
    blobs.put_part(&siblings, part(7)).await.expect("put");
    let others = write(other_record, file, 0);
    blobs.put_part(&others, part(8)).await.expect("put");

    blobs.delete_part(&replaced).await.expect("delete a write");
    blobs
        .delete_part(&replaced)
        .await
        .expect("deleting it again is fine");
    assert!(matches!(
        read_all(blobs, &[replaced]).await,
        Err(StoreError::NotFound)
    ));
    assert_eq!(
        read_all(blobs, &writes)
            .await
            .expect("the other writes stay"),
        [part(0), part(1), part(2)].concat()
    );

    blobs.delete_file(record, file).await.expect("delete");
    for w in &writes {
        assert!(matches!(
            read_all(blobs, &[*w]).await,
            Err(StoreError::NotFound)
        ));
    }
    assert_eq!(
        read_all(blobs, &[siblings]).await.expect("read"),
        part(7).to_vec()
    );
    assert_eq!(
        read_all(blobs, &[others]).await.expect("read"),
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

/// What the server does when an owner deletes a record: the store deletes the rows and, in the same
/// transaction, lists every part write of the record's files as garbage; the server deletes those
/// blobs and the store forgets them. Afterwards nothing of the record's files can be read back,
/// complete or not; another record's files stay.
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
    let limits = UploadLimits {
        account_bytes: u64::MAX,
        share_bytes: u64::MAX,
    };
    let (done, unfinished, other) = (Uuid::new_v4(), Uuid::new_v4(), Uuid::new_v4());
    let mut written = Vec::new();
    for (r, f, parts) in [
        (record, done, 3u32),
        (record, unfinished, 2),
        (kept, other, 1),
    ] {
        for n in 0..parts {
            let w = write(r, f, n);
            let bytes = part(n as u8);
            store
                .reserve_part(w, bytes.len() as u64, Author::Owner, limits, super::T0)
                .await
                .expect("reserve");
            blobs.put_part(&w, bytes).await.expect("put");
            store.attach_part(w, super::T0).await.expect("attach");
            written.push(w);
        }
    }
    store
        .complete_file(record, done, Author::Owner, 3, 9003, super::T0)
        .await
        .expect("complete");
    store
        .complete_file(kept, other, Author::Owner, 1, 3000, super::T0)
        .await
        .expect("complete");

    store
        .delete_record(account, record, super::T0 + 1)
        .await
        .expect("delete record");
    let mut garbage = store.blob_garbage(100, super::T0).await.expect("garbage");
    garbage.sort();
    let mut expected: Vec<PartBlob> = written
        .iter()
        .copied()
        .filter(|w| w.record == record)
        .collect();
    expected.sort();
    assert_eq!(garbage, expected, "every write of the record's files");
    for w in &garbage {
        blobs.delete_part(w).await.expect("delete blob");
    }
    store.forget_garbage(garbage).await.expect("forget");
    assert!(
        store
            .blob_garbage(100, super::T0)
            .await
            .expect("garbage")
            .is_empty()
    );
    for w in written.iter().filter(|w| w.record == record) {
        assert!(matches!(
            read_all(blobs, &[*w]).await,
            Err(StoreError::NotFound)
        ));
    }
    let kept_parts = store.file_parts(kept, other).await.expect("parts");
    assert_eq!(
        read_all(blobs, &kept_parts).await.expect("read"),
        part(0).to_vec()
    );
    drop(store);
    let _ = std::fs::remove_dir_all(&dir);
}

/// Reading no parts is an empty stream; a write nobody stored is NotFound.
pub async fn empty_and_unknown_files(blobs: &BlobStore) {
    let (record, file) = (Uuid::new_v4(), Uuid::new_v4());
    assert!(read_all(blobs, &[]).await.expect("read").is_empty());
    assert!(matches!(
        read_all(blobs, &[write(record, file, 0)]).await,
        Err(StoreError::NotFound)
    ));
}
