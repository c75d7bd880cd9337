//! Wake-ups for every node's event streams, from `LISTEN sharelock_events`.
//!
//! The events table's trigger notifies with the account id; PostgreSQL delivers a notification only
//! once the inserting transaction has committed, so a stream woken for an account finds its events.
//! When the listening connection is lost, notifications sent meanwhile are lost with it: after
//! reconnecting, the listener says [`Wakeup::All`] so every stream looks again.

use std::time::Duration;

use sqlx::PgPool;
use sqlx::postgres::{PgConnectOptions, PgListener, PgPoolOptions};

use crate::model::Id;
use crate::{Result, StoreError};

/// The channel the events trigger notifies (migrations/postgres).
pub(super) const CHANNEL: &str = "sharelock_events";

/// What a wake-up asks of the event streams.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Wakeup {
    /// New events of this account have committed.
    Account(Id),
    /// Wake-ups may have been missed (the listener reconnected): every stream should look.
    All,
}

/// A listening connection of its own (in a pool of one, outside the store's pool, which it would
/// otherwise hold a connection of for good).
pub struct Wakeups {
    pool: PgPool,
    listener: PgListener,
}

impl std::fmt::Debug for Wakeups {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Wakeups")
    }
}

const FIRST_BACKOFF: Duration = Duration::from_millis(100);
const MAX_BACKOFF: Duration = Duration::from_secs(5);

async fn connect(pool: &PgPool) -> Result<PgListener, sqlx::Error> {
    let mut listener = PgListener::connect_with(pool).await?;
    listener.listen(CHANNEL).await?;
    Ok(listener)
}

impl Wakeups {
    pub(super) async fn listen(options: &PgConnectOptions) -> Result<Self> {
        let pool = PgPoolOptions::new()
            .max_connections(1)
            .min_connections(0)
            .max_lifetime(None)
            .idle_timeout(None)
            .connect_lazy_with(options.clone());
        let listener = connect(&pool)
            .await
            .map_err(|e| StoreError::Backend(format!("listening: {}", super::describe(&e))))?;
        Ok(Self { pool, listener })
    }

    /// The next wake-up (`None` only if the listener's pool is closed, which nothing does). Reconnects by itself (with a
    /// growing pause while the database is unreachable) and then says `All`.
    pub async fn next(&mut self) -> Option<Wakeup> {
        match self.listener.try_recv().await {
            Ok(Some(notification)) => Some(match notification.payload().parse() {
                Ok(account) => Wakeup::Account(account),
                Err(_) => Wakeup::All,
            }),
            // The connection was lost and sqlx has opened and listened again.
            Ok(None) => {
                tracing::info!("event listener reconnected");
                Some(Wakeup::All)
            }
            Err(sqlx::Error::PoolClosed) => None,
            Err(e) => {
                tracing::warn!(error = %super::describe(&e), "event listener failed; listening again");
                self.relisten().await
            }
        }
    }

    /// Replaces the listener by a new one on a new connection, retrying with a growing pause.
    async fn relisten(&mut self) -> Option<Wakeup> {
        let mut backoff = FIRST_BACKOFF;
        loop {
            tokio::time::sleep(backoff).await;
            match connect(&self.pool).await {
                Ok(listener) => {
                    self.listener = listener;
                    tracing::info!("event listener reconnected");
                    return Some(Wakeup::All);
                }
                Err(sqlx::Error::PoolClosed) => return None,
                Err(e) => {
                    tracing::warn!(error = %super::describe(&e), "event listener: cannot reconnect yet");
                    backoff = (backoff * 2).min(MAX_BACKOFF);
                }
            }
        }
    }

    /// The wake-ups as a stream that ends when the pool is closed.
    pub fn into_stream(self) -> futures::stream::BoxStream<'static, Wakeup> {
        Box::pin(futures::stream::unfold(self, |mut wakeups| async move {
            let next = wakeups.next().await?;
            Some((next, wakeups))
        }))
    }
}
