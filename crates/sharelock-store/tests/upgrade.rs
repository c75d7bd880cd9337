//! A deployment from before schema 0006, when a file's parts were stored at `files/<record>/<file>/<part:08>`
//! and the database kept only each file's part count and size, opened by this version: its completed
//! files download byte-identical, their bytes count against the account's quota, and deleting their
//! record lists the parts under their old keys as garbage, so the sweeper deletes them. The old database
//! is built from the migration files up to 0005 and filled as the code of that time wrote it, on SQLite
//! and on PostgreSQL.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;

use bytes::Bytes;
use futures::TryStreamExt;
use object_store::memory::InMemory;
use object_store::path::Path as ObjectPath;
use object_store::{ObjectStore, ObjectStoreExt, PutPayload};
use sharelock_store::model::{Author, Id, PartBlob, UploadLimits};
use sharelock_store::{BlobStore, Store, StoreError};

const NOW: i64 = 1_800_000_000;

/// An account with one record holding two completed files, and one upload never completed, as they
/// were stored before 0006.
struct OldDeployment {
    account: Id,
    record: Id,
    /// The completed files with their parts' bytes.
    files: Vec<(Id, Vec<Vec<u8>>)>,
    unfinished: Id,
}

impl OldDeployment {
    fn new() -> Self {
        let bytes = |seed: u8, len: usize| -> Vec<u8> {
            (0..len)
                .map(|i| (i as u8).wrapping_mul(31).wrapping_add(seed))
                .collect()
        };
        OldDeployment {
            account: Id::new_v4(),
            record: Id::new_v4(),
            // Parts of unequal sizes, as clients may send them.
            files: vec![
                (
                    Id::new_v4(),
                    vec![bytes(1, 70_000), bytes(2, 65_536), bytes(3, 17)],
                ),
                (Id::new_v4(), vec![bytes(4, 1234)]),
            ],
            unfinished: Id::new_v4(),
        }
    }

    fn size(parts: &[Vec<u8>]) -> u64 {
        parts.iter().map(|p| p.len() as u64).sum()
    }

    fn total(&self) -> u64 {
        self.files.iter().map(|(_, parts)| Self::size(parts)).sum()
    }

    /// The old key of a part: no write id.
    fn key(&self, file: Id, part: usize) -> ObjectPath {
        ObjectPath::from(format!("files/{}/{file}/{part:08}", self.record))
    }

    /// The parts at their old keys (and one part of the unfinished upload).
    async fn put_blobs(&self, objects: &InMemory) {
        for (file, parts) in &self.files {
            for (n, bytes) in parts.iter().enumerate() {
                objects
                    .put(
                        &self.key(*file, n),
                        PutPayload::from_bytes(Bytes::from(bytes.clone())),
                    )
                    .await
                    .unwrap();
            }
        }
        objects
            .put(
                &self.key(self.unfinished, 0),
                PutPayload::from_static(b"half"),
            )
            .await
            .unwrap();
    }
}

async fn keys(objects: &InMemory) -> Vec<String> {
    let mut keys: Vec<String> = objects
        .list(None)
        .map_ok(|meta| meta.location.to_string())
        .try_collect()
        .await
        .unwrap();
    keys.sort();
    keys
}

/// What must hold once the old deployment is opened by this version.
async fn check(store: &impl Store, old: &OldDeployment, objects: Arc<InMemory>) {
    let blobs = BlobStore::from_object_store(objects.clone());
    for (file, parts) in &old.files {
        let row = store
            .file(old.record, *file)
            .await
            .unwrap()
            .expect("the file row");
        assert!(row.complete);
        let stored = store.file_parts(old.record, *file).await.unwrap();
        assert_eq!(stored.len(), parts.len(), "every part has its row");
        assert!(stored.iter().all(PartBlob::is_legacy), "{stored:?}");
        let downloaded: Vec<u8> = blobs
            .open(stored)
            .try_collect::<Vec<Bytes>>()
            .await
            .expect("the old parts are read")
            .concat();
        assert_eq!(downloaded, parts.concat(), "byte-identical");
        assert_eq!(downloaded.len() as u64, row.size);
    }

    // The old files' bytes count against the account's quota: a part that would take it over is refused.
    let limits = UploadLimits {
        account_bytes: old.total() + 10,
        share_bytes: u64::MAX,
    };
    let new_file = Id::new_v4();
    let write = |size_part: u32| PartBlob {
        record: old.record,
        file: new_file,
        part: size_part,
        write: Id::new_v4(),
    };
    assert!(matches!(
        store
            .reserve_part(write(0), 11, Author::Owner, limits, NOW)
            .await,
        Err(StoreError::QuotaExceeded(_))
    ));
    store
        .reserve_part(write(0), 10, Author::Owner, limits, NOW)
        .await
        .expect("what is left of the quota is usable");

    // Deleting the record makes every old part garbage under its old key; the sweeper's deletion
    // (the blob store's, then forgetting) leaves nothing of the completed files behind.
    let (files, _events) = store
        .delete_record(old.account, old.record, NOW)
        .await
        .unwrap();
    assert_eq!(files.len(), 4, "two completed, one unfinished, one new");
    let garbage = store.blob_garbage(1000, NOW).await.unwrap();
    let legacy: Vec<&PartBlob> = garbage.iter().filter(|b| b.is_legacy()).collect();
    assert_eq!(legacy.len(), 4, "the completed files' parts: {garbage:?}");
    for blob in &garbage {
        blobs.delete_part(blob).await.unwrap();
    }
    store.forget_garbage(garbage).await.unwrap();
    assert!(store.blob_garbage(1000, NOW).await.unwrap().is_empty());
    let left = keys(&objects).await;
    for (file, _) in &old.files {
        assert!(
            !left.iter().any(|k| k.contains(&file.to_string())),
            "no part of a deleted completed file is left: {left:?}"
        );
    }
}

mod sqlite {
    use super::*;
    use rusqlite::params;
    use rusqlite_migration::{M, Migrations};
    use sharelock_store::sqlite::{SqliteOptions, SqliteStore};

    /// The schema up to 0005, from the migration files, and the rows as the code of that time wrote them.
    fn old_database(path: &std::path::Path, old: &OldDeployment) {
        let mut conn = rusqlite::Connection::open(path).unwrap();
        Migrations::new(vec![
            M::up(include_str!("../migrations/sqlite/0001_initial.sql")),
            M::up(include_str!("../migrations/sqlite/0004_device_refused.sql")),
            M::up(include_str!("../migrations/sqlite/0005_login_attempts.sql")),
        ])
        .to_latest(&mut conn)
        .unwrap();
        conn.execute(
            "INSERT INTO accounts (id, email, kdf_m, kdf_t, kdf_p, kdf_salt, auth_hash, wrapped_data_key,
             created_at) VALUES (?1, 'old@example.org', 65536, 3, 1, ?2, ?3, ?4, ?5)",
            params![old.account, [1u8; 16], [2u8; 32], [3u8; 72], NOW - 1000],
        )
        .unwrap();
        conn.execute(
            "INSERT INTO records (id, account_id, version, key_gen, created_at, updated_at)
             VALUES (?1, ?2, 1, 1, ?3, ?3)",
            params![old.record, old.account, NOW - 900],
        )
        .unwrap();
        conn.execute(
            "INSERT INTO record_keys (record_id, key_gen, wrapped_key) VALUES (?1, 1, ?2)",
            params![old.record, [4u8; 72]],
        )
        .unwrap();
        conn.execute(
            "INSERT INTO versions (record_id, version, key_gen, envelope, summary, proof, created_at)
             VALUES (?1, 1, 1, ?2, ?3, ?4, ?5)",
            params![old.record, [5u8; 200], [6u8; 60], [7u8; 32], NOW - 900],
        )
        .unwrap();
        // Beginning an upload inserted the row; completing it set the totals.
        for (file, parts) in &old.files {
            conn.execute(
                "INSERT INTO files (record_id, file_id, uploaded_by, created_at) VALUES (?1, ?2, NULL, ?3)",
                params![old.record, file, NOW - 800],
            )
            .unwrap();
            conn.execute(
                "UPDATE files SET parts = ?3, size = ?4, complete = 1 WHERE record_id = ?1 AND file_id = ?2
                 AND complete = 0",
                params![
                    old.record,
                    file,
                    parts.len() as i64,
                    OldDeployment::size(parts) as i64
                ],
            )
            .unwrap();
        }
        conn.execute(
            "INSERT INTO files (record_id, file_id, uploaded_by, created_at) VALUES (?1, ?2, NULL, ?3)",
            params![old.record, old.unfinished, NOW - 700],
        )
        .unwrap();
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn files_completed_before_per_write_keys_download_and_delete() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("sharelock.db");
        let old = OldDeployment::new();
        old_database(&path, &old);
        let objects = Arc::new(InMemory::new());
        old.put_blobs(&objects).await;
        let store = SqliteStore::open(&path, SqliteOptions::default()).expect("upgrade");
        check(&store, &old, objects).await;
    }
}

mod postgres {
    use super::*;
    use sharelock_store::postgres::test_cluster::fresh_database;
    use sharelock_store::postgres::{PostgresOptions, PostgresStore};
    use sqlx::Connection as _;

    /// The schema up to 0005, from the migration files (through sqlx's migrator, as the nodes of that
    /// time applied it), and the rows as the code of that time wrote them.
    async fn old_database(url: &str, old: &OldDeployment) {
        let dir = tempfile::tempdir().unwrap();
        let source = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("migrations/postgres");
        for entry in std::fs::read_dir(&source).unwrap() {
            let name = entry.unwrap().file_name().into_string().unwrap();
            let version: u32 = name[..4].parse().unwrap();
            if version <= 5 {
                std::fs::copy(source.join(&name), dir.path().join(&name)).unwrap();
            }
        }
        let mut conn = sqlx::PgConnection::connect(url).await.unwrap();
        sqlx::migrate::Migrator::new(dir.path())
            .await
            .unwrap()
            .run(&mut conn)
            .await
            .unwrap();
        sqlx::query(
            "INSERT INTO accounts (id, email, kdf_m, kdf_t, kdf_p, kdf_salt, auth_hash, wrapped_data_key,
             created_at) VALUES ($1, 'old@example.org', 65536, 3, 1, $2, $3, $4, $5)",
        )
        .bind(old.account)
        .bind(vec![1u8; 16])
        .bind(vec![2u8; 32])
        .bind(vec![3u8; 72])
        .bind(NOW - 1000)
        .execute(&mut conn)
        .await
        .unwrap();
        sqlx::query(
            "INSERT INTO records (id, account_id, version, key_gen, created_at, updated_at)
             VALUES ($1, $2, 1, 1, $3, $3)",
        )
        .bind(old.record)
        .bind(old.account)
        .bind(NOW - 900)
        .execute(&mut conn)
        .await
        .unwrap();
        sqlx::query("INSERT INTO record_keys (record_id, key_gen, wrapped_key) VALUES ($1, 1, $2)")
            .bind(old.record)
            .bind(vec![4u8; 72])
            .execute(&mut conn)
            .await
            .unwrap();
        sqlx::query(
            "INSERT INTO versions (record_id, version, key_gen, envelope, summary, proof, created_at)
             VALUES ($1, 1, 1, $2, $3, $4, $5)",
        )
        .bind(old.record)
        .bind(vec![5u8; 200])
        .bind(vec![6u8; 60])
        .bind(vec![7u8; 32])
        .bind(NOW - 900)
        .execute(&mut conn)
        .await
        .unwrap();
        for (file, parts) in &old.files {
            sqlx::query(
                "INSERT INTO files (record_id, file_id, uploaded_by, created_at) VALUES ($1, $2, NULL, $3)",
            )
            .bind(old.record)
            .bind(file)
            .bind(NOW - 800)
            .execute(&mut conn)
            .await
            .unwrap();
            sqlx::query(
                "UPDATE files SET parts = $3, size = $4, complete = true WHERE record_id = $1
                 AND file_id = $2 AND NOT complete",
            )
            .bind(old.record)
            .bind(file)
            .bind(parts.len() as i64)
            .bind(OldDeployment::size(parts) as i64)
            .execute(&mut conn)
            .await
            .unwrap();
        }
        sqlx::query(
            "INSERT INTO files (record_id, file_id, uploaded_by, created_at) VALUES ($1, $2, NULL, $3)",
        )
        .bind(old.record)
        .bind(old.unfinished)
        .bind(NOW - 700)
        .execute(&mut conn)
        .await
        .unwrap();
        conn.close().await.unwrap();
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn files_completed_before_per_write_keys_download_and_delete() {
        let database = fresh_database().await;
        let old = OldDeployment::new();
        old_database(database.url(), &old).await;
        let objects = Arc::new(InMemory::new());
        old.put_blobs(&objects).await;
        let store = PostgresStore::open(database.url(), PostgresOptions::default())
            .await
            .expect("upgrade");
        check(&store, &old, objects).await;
    }
}
