//! Shared state of one server process. Cheap to clone (one `Arc`).

use crate::body::Bounds;
use crate::config::Config;
use crate::ratelimit::{ClientAddress, RateLimiter};
use metrics_exporter_prometheus::PrometheusHandle;
use sharelock_store::{BlobStore, Store};
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
    /// Accounts that have new events, announced by this node's writes so its event streams wake at once
    /// (streams also poll the database, for events written by other nodes).
    pub events: broadcast::Sender<Uuid>,
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

    /// Wakes this node's event streams for an account.
    pub fn announce(&self, account: Uuid) {
        // No receivers is normal (nobody is watching).
        let _ = self.events.send(account);
    }
}

impl Deref for AppState {
    type Target = Inner;
    fn deref(&self) -> &Inner {
        &self.0
    }
}
