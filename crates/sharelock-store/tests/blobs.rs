//! The blob-store suite against every backend: memory, a local directory, and S3 (a moto server on
//! loopback, or the endpoint in SHARELOCK_TEST_S3_ENDPOINT), the last with and without a key prefix.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use futures::StreamExt as _;
use sharelock_store::BlobStore;
use sharelock_store::testing::s3::{self, TestBucket};

mod memory {
    use super::*;

    async fn fresh() -> ((), BlobStore) {
        ((), BlobStore::memory())
    }

    sharelock_store::blob_store_tests!(fresh);
}

mod local {
    use super::*;

    async fn fresh() -> (tempfile::TempDir, BlobStore) {
        let dir = tempfile::tempdir().expect("temp dir");
        let blobs = BlobStore::local(dir.path().join("blobs")).expect("local blob store");
        (dir, blobs)
    }

    sharelock_store::blob_store_tests!(fresh);
}

mod s3_bucket {
    use super::*;

    async fn fresh() -> (TestBucket, BlobStore) {
        let bucket = s3::fresh_bucket().await;
        let blobs = bucket.blob_store(None);
        (bucket, blobs)
    }

    sharelock_store::blob_store_tests!(fresh);
}

mod s3_prefixed {
    use super::*;

    async fn fresh() -> (TestBucket, BlobStore) {
        let bucket = s3::fresh_bucket().await;
        let blobs = bucket.blob_store(Some("tenant-a/sharelock"));
        (bucket, blobs)
    }

    sharelock_store::blob_store_tests!(fresh);
}

/// Without a prefix the keys are `files/<record>/<file>/<part:08>.<write>` at the bucket's root; with
/// one, the same keys under it, and nothing at the root.
#[tokio::test]
async fn s3_keys_live_under_the_configured_prefix() {
    let bucket = s3::fresh_bucket().await;
    let base = bucket
        .base_prefix()
        .map(|p| format!("{p}/"))
        .unwrap_or_default();
    let (record, file) = (uuid::Uuid::new_v4(), uuid::Uuid::new_v4());
    let write = |part| sharelock_store::PartBlob {
        record,
        file,
        part,
        write: uuid::Uuid::new_v4(),
    };
    let (three, twelve) = (write(3), write(12));
    let plain = bucket.blob_store(None);
    let prefixed = bucket.blob_store(Some("/tenant-a/sharelock/"));
    plain
        .put_part(&three, bytes::Bytes::from_static(b"x"))
        .await
        .expect("put");
    prefixed
        .put_part(&twelve, bytes::Bytes::from_static(b"y"))
        .await
        .expect("put");
    let plain_key = format!(
        "{base}files/{record}/{file}/00000003.{}",
        three.write.simple()
    );
    assert_eq!(
        bucket.keys().await,
        vec![
            plain_key.clone(),
            format!(
                "{base}tenant-a/sharelock/files/{record}/{file}/00000012.{}",
                twelve.write.simple()
            ),
        ]
    );
    // Each store sees only its own keys.
    assert!(
        plain
            .open(vec![twelve])
            .next()
            .await
            .expect("an answer")
            .is_err()
    );
    assert!(
        prefixed
            .open(vec![three])
            .next()
            .await
            .expect("an answer")
            .is_err()
    );
    prefixed.delete_file(record, file).await.expect("delete");
    assert_eq!(bucket.keys().await, vec![plain_key]);
}

/// The harness's own server stops when asked (and when dropped): its port refuses connections.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stopped_s3_server_is_gone() {
    if !s3::server().is_throwaway() {
        // An external endpoint is not ours to stop; the shared server's start is covered above.
        return;
    }
    let mut server = tokio::task::spawn_blocking(s3::S3Server::start)
        .await
        .expect("join")
        .expect("start moto");
    let bucket = server.bucket();
    let blobs = bucket.blob_store(None);
    let part = sharelock_store::PartBlob {
        record: uuid::Uuid::new_v4(),
        file: uuid::Uuid::new_v4(),
        part: 0,
        write: uuid::Uuid::new_v4(),
    };
    blobs
        .put_part(&part, bytes::Bytes::from_static(b"x"))
        .await
        .expect("put while running");
    let addr = server.endpoint().trim_start_matches("http://").to_owned();
    server.stop();
    assert!(
        std::net::TcpStream::connect(&addr).is_err(),
        "moto still listens on {addr} after stop"
    );
}

/// Without moto the harness fails, saying how to install it; it never pretends to have a server.
#[test]
fn a_missing_moto_is_a_clear_failure() {
    let missing = std::env::temp_dir().join("no-such-python-for-sharelock-tests");
    let error = s3::S3Server::start_with_python(&missing).expect_err("no python, no server");
    assert!(error.contains("moto[server]"), "{error}");
    let error = s3::S3Server::start_with_python("false").expect_err("a python without moto");
    assert!(error.contains("moto[server]"), "{error}");
}

/// Every way an id can be written: hyphenated, simple, upper-case.
fn id_forms(ids: &[uuid::Uuid]) -> Vec<String> {
    ids.iter()
        .flat_map(|id| {
            [
                id.to_string(),
                id.simple().to_string(),
                id.to_string().to_uppercase(),
            ]
        })
        .collect()
}

fn assert_names_no_id(error: &sharelock_store::StoreError, ids: &[uuid::Uuid]) {
    let shown = format!("{error} / {error:?}");
    for form in id_forms(ids) {
        assert!(!shown.contains(&form), "the error names an id: {shown}");
    }
}

/// Blob-store errors name no record or file id (object keys hold both, and errors reach the logs):
/// S3 with its endpoint gone (the failed requests' URLs hold the keys).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn s3_errors_name_no_ids() {
    let mut server = tokio::task::spawn_blocking(s3::S3Server::start)
        .await
        .expect("join")
        .expect("start moto");
    let bucket = server.bucket();
    let blobs = bucket.blob_store(None);
    let part = sharelock_store::PartBlob {
        record: uuid::Uuid::new_v4(),
        file: uuid::Uuid::new_v4(),
        part: 0,
        write: uuid::Uuid::new_v4(),
    };
    blobs
        .put_part(&part, bytes::Bytes::from_static(b"x"))
        .await
        .expect("put while running");
    server.stop();
    let (record, file) = (part.record, part.file);
    let next = sharelock_store::PartBlob {
        part: 1,
        write: uuid::Uuid::new_v4(),
        ..part
    };
    let ids = [record, file, part.write, next.write];
    let put = blobs
        .put_part(&next, bytes::Bytes::from_static(b"y"))
        .await
        .expect_err("put with the endpoint gone");
    assert_names_no_id(&put, &ids);
    let read = sharelock_store::testing::blobs::read_all(&blobs, &[part])
        .await
        .expect_err("read with the endpoint gone");
    assert_names_no_id(&read, &ids);
    let delete_one = blobs
        .delete_part(&part)
        .await
        .expect_err("delete a write with the endpoint gone");
    assert_names_no_id(&delete_one, &ids);
    let delete = blobs
        .delete_file(record, file)
        .await
        .expect_err("delete with the endpoint gone");
    assert_names_no_id(&delete, &ids);
}

/// The same for a local directory that went bad (a file where the record's directory should be).
#[tokio::test]
async fn local_errors_name_no_ids() {
    let dir = tempfile::tempdir().expect("temp dir");
    let root = dir.path().join("blobs");
    let blobs = BlobStore::local(&root).expect("local");
    let (record, file) = (uuid::Uuid::new_v4(), uuid::Uuid::new_v4());
    let part = sharelock_store::PartBlob {
        record,
        file,
        part: 0,
        write: uuid::Uuid::new_v4(),
    };
    let ids = [record, file, part.write];
    std::fs::create_dir_all(root.join("files")).expect("mkdir");
    std::fs::write(root.join(format!("files/{record}")), b"not a directory").expect("write");
    let put = blobs
        .put_part(&part, bytes::Bytes::from_static(b"x"))
        .await
        .expect_err("put into a file");
    assert_names_no_id(&put, &ids);
    for result in [
        blobs.delete_part(&part).await,
        blobs.delete_file(record, file).await,
        sharelock_store::testing::blobs::read_all(&blobs, &[part])
            .await
            .map(drop),
    ] {
        if let Err(error) = result {
            assert_names_no_id(&error, &ids);
        }
    }
}
