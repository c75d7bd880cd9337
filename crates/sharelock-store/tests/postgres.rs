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

mod wakeups {
    use std::time::Duration;

    use futures::StreamExt;
    use futures::stream::BoxStream;
    use sharelock_store::{Store, Wakeup};
    use uuid::Uuid;

    async fn next(wakeups: &mut BoxStream<'static, Wakeup>) -> Wakeup {
        tokio::time::timeout(Duration::from_secs(20), wakeups.next())
            .await
            .expect("a wake-up in time")
            .expect("the wake-ups go on")
    }

    /// The listener says `All` when it connects, then names the account of each commit that notifies;
    /// when its connection is killed it connects again by itself and says `All` (notifications sent
    /// meanwhile may be lost), and names accounts again afterwards.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn wakeups_survive_a_lost_connection() {
        let (database, store) = super::fresh().await;
        let mut wakeups = store.event_wakeups().expect("PostgreSQL has wake-ups");
        assert_eq!(next(&mut wakeups).await, Wakeup::All, "connected");

        // Ending an account's sessions notifies with its id (no events needed).
        let account = Uuid::new_v4();
        store
            .delete_sessions(account)
            .await
            .expect("delete sessions");
        assert_eq!(next(&mut wakeups).await, Wakeup::Account(account));

        let killed: i64 = sqlx::query_scalar(
            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity
             WHERE datname = $1 AND pid <> pg_backend_pid() AND query ILIKE 'LISTEN%'",
        )
        .bind(database.name())
        .fetch_one(store.pool())
        .await
        .expect("terminate the listener");
        assert_eq!(killed, 1, "one listening connection");
        assert_eq!(next(&mut wakeups).await, Wakeup::All, "reconnected");

        let other = Uuid::new_v4();
        store.delete_sessions(other).await.expect("delete sessions");
        assert_eq!(next(&mut wakeups).await, Wakeup::Account(other));
    }
}
