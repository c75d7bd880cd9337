//! Wake-ups for every node's event streams, from `LISTEN sharelock_events`.
//!
//! The events table's trigger notifies with the account id, and so do session changes (logout, a
//! password change); PostgreSQL delivers a notification only once the sending transaction has
//! committed, so a stream woken for an account finds its events. Notifications sent while the
//! listening connection is down are lost with it: each time the listener (re)connects it says
//! [`Wakeup::All`], so every stream looks again. A connection can also die without a word (a
//! dropped route, a firewall forgetting it): after [`QUIET`] without a notification the listener
//! asks the server something on it, and reconnects when that fails or takes longer than [`PROBE`].

use std::time::Duration;

use sqlx::postgres::{PgConnectOptions, PgListener, PgPoolOptions};
use sqlx::{Executor, PgPool};

use crate::model::Wakeup;

/// The channel the events trigger notifies (migrations/postgres).
pub(super) const CHANNEL: &str = "sharelock_events";

const FIRST_BACKOFF: Duration = Duration::from_millis(100);
const MAX_BACKOFF: Duration = Duration::from_secs(5);
/// Silence after which the listener checks that its connection still answers.
const QUIET: Duration = Duration::from_secs(30);
/// How long that check may take.
const PROBE: Duration = Duration::from_secs(5);

/// A listening connection of its own (in a pool of one, outside the store's pool, which it would
/// otherwise hold a connection of for good). It connects on first use and again whenever the
/// connection is lost.
pub struct Wakeups {
    pool: PgPool,
    listener: Option<PgListener>,
    backoff: Duration,
}

impl std::fmt::Debug for Wakeups {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Wakeups")
    }
}

async fn connect(pool: &PgPool) -> Result<PgListener, sqlx::Error> {
    let mut listener = PgListener::connect_with(pool).await?;
    // Reconnection is ours (so it is announced as `All`), not sqlx's.
    listener.eager_reconnect(false);
    listener.listen(CHANNEL).await?;
    Ok(listener)
}

enum Heard {
    Wakeup(Wakeup),
    /// The connection is gone or did not answer.
    Lost,
    /// Nothing for a while, and the connection answered.
    Quiet,
    Closed,
}

impl Wakeups {
    /// Listens on connections made with `options` (nothing is connected until the first wake-up is
    /// asked for).
    pub fn new(options: &PgConnectOptions) -> Self {
        let pool = PgPoolOptions::new()
            .max_connections(1)
            .min_connections(0)
            .max_lifetime(None)
            .idle_timeout(None)
            .connect_lazy_with(options.clone());
        Self {
            pool,
            listener: None,
            backoff: FIRST_BACKOFF,
        }
    }

    /// The next wake-up; `None` only once the listener's pool is closed (which nothing does).
    /// Reconnects by itself, with a growing pause while the database is unreachable, and then says
    /// `All`.
    pub async fn next(&mut self) -> Option<Wakeup> {
        loop {
            let Some(listener) = self.listener.as_mut() else {
                match connect(&self.pool).await {
                    Ok(listener) => {
                        self.listener = Some(listener);
                        self.backoff = FIRST_BACKOFF;
                        tracing::debug!("event listener connected");
                        return Some(Wakeup::All);
                    }
                    Err(sqlx::Error::PoolClosed) => return None,
                    Err(e) => {
                        tracing::warn!(error = %super::describe(&e), "event listener cannot connect yet");
                        tokio::time::sleep(self.backoff).await;
                        self.backoff = (self.backoff * 2).min(MAX_BACKOFF);
                        continue;
                    }
                }
            };
            match hear(listener).await {
                Heard::Wakeup(wakeup) => return Some(wakeup),
                Heard::Quiet => continue,
                Heard::Closed => return None,
                Heard::Lost => {
                    tracing::warn!("event listener lost its connection; listening again");
                    // Dropping the listener closes its connection and returns the pool's slot.
                    self.listener = None;
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

/// Waits for a notification for at most [`QUIET`], then probes the connection.
async fn hear(listener: &mut PgListener) -> Heard {
    match tokio::time::timeout(QUIET, listener.try_recv()).await {
        Ok(Ok(Some(notification))) => Heard::Wakeup(match notification.payload().parse() {
            Ok(account) => Wakeup::Account(account),
            Err(_) => Wakeup::All,
        }),
        Ok(Ok(None)) => Heard::Lost,
        Ok(Err(sqlx::Error::PoolClosed)) => Heard::Closed,
        Ok(Err(e)) => {
            tracing::warn!(error = %super::describe(&e), "event listener failed");
            Heard::Lost
        }
        Err(_) => match tokio::time::timeout(PROBE, listener.execute("SELECT 1")).await {
            Ok(Ok(_)) => Heard::Quiet,
            _ => Heard::Lost,
        },
    }
}
