//! The conformance suite against SQLite: one test per check, each on a fresh database file.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use sharelock_store::sqlite::{SqliteOptions, SqliteStore};

async fn fresh() -> (tempfile::TempDir, SqliteStore) {
    let dir = tempfile::tempdir().expect("temp dir");
    let store =
        SqliteStore::open(dir.path().join("sharelock.db"), SqliteOptions::default()).expect("open");
    (dir, store)
}

sharelock_store::conformance_tests!(fresh);

/// An ended share's wrapped key is overwritten in the database file, not just unlinked (`secure_delete`),
/// so crypto-shredding holds for a copy of the file taken after the next checkpoint.
#[tokio::test]
async fn an_ended_share_key_is_overwritten_in_the_file() {
    let (dir, store) = fresh().await;
    let marker = sharelock_store::testing::ended_share_key_marker(&store).await;
    // Closing the last connection checkpoints the WAL into the database file and removes the WAL.
    drop(store);
    let mut found = Vec::new();
    for entry in std::fs::read_dir(dir.path()).expect("list") {
        let path = entry.expect("entry").path();
        let bytes = std::fs::read(&path).expect("read");
        if bytes.windows(marker.len()).any(|w| w == marker.as_slice()) {
            found.push(path);
        }
    }
    assert!(found.is_empty(), "the dropped key is still in {found:?}");
}
