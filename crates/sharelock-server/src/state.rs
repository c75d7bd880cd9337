//! Shared state of one server process. Cheap to clone (one `Arc`).

use crate::body::Bounds;
use crate::config::Config;
use crate::ratelimit::{ClientAddress, RateLimiter};
use metrics_exporter_prometheus::PrometheusHandle;
use sharelock_store::{BlobStore, Event, Store, Wakeup};
use std::ops::Deref;
use std::sync::Arc;
use tokio::sync::{broadcast, watch};
use uuid::Uuid;

#[derive(Clone)]
pub struct AppState(Arc<Inner>);

pub struct Inner {
    pub store: Arc<dyn Store>,
    pub blobs: BlobStore,
    pub config: Config,
    /// `config.public_url()`, computed once: signatures cover URLs built on it.
    pub public_url: String,
    /// Wakes this node's event streams: fed by [`AppState::publish`] (this node's writes) and by the
    /// store's wake-ups (other nodes' writes, PostgreSQL only).
    pub wakeups: broadcast::Sender<Wakeup>,
    /// Key for the made-up KDF salts of unknown emails.
    pub prelogin_secret: [u8; 32],
    /// Per-client-address limiter for unauthenticated endpoints.
    pub limiter: RateLimiter,
    /// Who the client is behind trusted proxies (for the limiter).
    pub client_address: ClientAddress,
    /// Bounds on request bodies being received (uploads at once, bytes in flight, read time).
    pub bounds: Bounds,
    /// Flips to `true` when the server starts shutting down, so long-lived streams end.
    pub shutdown: watch::Receiver<bool>,
    pub metrics: Option<PrometheusHandle>,
}

impl AppState {
    pub fn new(inner: Inner) -> Self {
        AppState(Arc::new(inner))
    }

    /// The current Unix time in seconds. Handlers read it once and pass it down: logic never reads a clock.
    pub fn now(&self) -> i64 {
        time::OffsetDateTime::now_utc().unix_timestamp()
    }

    /// The one way events leave a write: every handler (and the sweeper) passes the events its store
    /// call returned, once that call has succeeded. Counts them by kind and wakes this node's streams of
    /// their accounts (which read them from the database, in order, so a stream never skips one).
    pub fn publish(&self, events: &[Event]) {
        let mut woken: Vec<Uuid> = Vec::new();
        for event in events {
            metrics::counter!("sharelock_events_total", "kind" => event.kind.as_str()).increment(1);
            if !woken.contains(&event.account_id) {
                woken.push(event.account_id);
                self.wake(Wakeup::Account(event.account_id));
            }
        }
    }

    /// Wakes this node's streams of an account whose sessions ended (logout, a password change), so
    /// they see it and end. Not an event: nothing is published.
    pub fn sessions_ended(&self, account: Uuid) {
        self.wake(Wakeup::Account(account));
    }

    /// Hands a wake-up to the streams (also the path of the store's wake-ups from other nodes).
    pub fn wake(&self, wakeup: Wakeup) {
        // No receivers is normal (nobody is watching).
        let _ = self.wakeups.send(wakeup);
    }
}

impl Deref for AppState {
    type Target = Inner;
    fn deref(&self) -> &Inner {
        &self.0
    }
}
