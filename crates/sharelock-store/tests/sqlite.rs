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
