//! The conformance suite against PostgreSQL: one test per check, each on a fresh database of the
//! test cluster (see `sharelock_store::postgres::test_cluster`), plus what only a shared database
//! server has: several nodes at once.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use sharelock_store::postgres::PostgresStore;
use sharelock_store::postgres::test_cluster::{TestDatabase, fresh_store};

async fn fresh() -> (TestDatabase, PostgresStore) {
    fresh_store().await
}

sharelock_store::conformance_tests!(fresh);
