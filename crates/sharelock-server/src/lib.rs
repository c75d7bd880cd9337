//! The Sharelock HTTP server: accounts, the encrypted vault, and device-locked one-time shares.
//!
//! Request flow: [`middleware`] (security headers, access log, metrics) → a handler in [`handlers`] →
//! checks that need no keys ([`versions`], [`signed`]) → one [`sharelock_store::Store`] call → a JSON
//! answer or an [`error::ApiError`]. Handlers read the clock once and pass `now` down.
#![forbid(unsafe_code)]

pub mod admin;
pub mod body;
pub mod config;
pub mod error;
pub mod extract;
pub mod handlers;
pub mod middleware;
pub mod openapi;
pub mod ratelimit;
pub mod signed;
pub mod state;
pub mod versions;
pub mod webhooks;

use crate::body::{BodyLimit, SMALL_BODY};
use crate::config::{BlobBackend, Config};
use crate::error::ApiError;
use crate::handlers::{
    accounts, admin as admin_api, events, files, health, pages, recipient, records, shares,
    webhooks as webhooks_api,
};
use crate::state::{AppState, Inner};
use anyhow::{Context, bail};
use axum::Router;
use axum::extract::ConnectInfo;
use axum::routing::{delete, get, post, put};
use secrecy::ExposeSecret;
use sharelock_api::ErrorCode;
use sharelock_store::postgres::{PostgresOptions, PostgresStore};
use sharelock_store::sqlite::SqliteStore;
use sharelock_store::{BlobStore, Store};
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;
use tokio::net::TcpListener;
use tokio::sync::{Semaphore, broadcast, watch};
/// Replay nonces are kept a little longer than the signature window (60 s back, 10 s ahead).
const NONCE_TTL_SECS: i64 = 120;
/// Events are kept a week for streams that reconnect with `Last-Event-ID`.
const EVENT_TTL_SECS: i64 = 7 * 86_400;

/// The whole HTTP surface.
pub fn router(state: AppState) -> Router {
    let envelope_body = BodyLimit::json(state.config.envelope_body_limit());
    let part_body = BodyLimit::upload(state.config.part_body_limit());
    // Bodies are read by `body::read` under the limit set here (`BodyLimit::SMALL` where none is).
    let big = |limit: BodyLimit| axum::Extension(limit);
    let api = Router::new()
        .route("/accounts/prelogin", post(accounts::prelogin))
        .route("/accounts", post(accounts::register))
        .route("/accounts/password", post(accounts::change_password))
        .route(
            "/sessions",
            post(accounts::login).delete(accounts::logout_everywhere),
        )
        .route("/sessions/current", delete(accounts::logout))
        .route(
            "/records",
            get(records::list)
                .post(records::create)
                .layer(big(envelope_body)),
        )
        .route(
            "/records/{id}",
            get(records::get)
                .put(records::update)
                .delete(records::delete)
                .layer(big(envelope_body)),
        )
        .route(
            "/records/{id}/rotate",
            post(records::rotate).layer(big(envelope_body)),
        )
        .route("/records/{id}/history", get(records::history))
        .route(
            "/records/{id}/shares",
            post(shares::create).layer(big(envelope_body)),
        )
        .route("/records/{id}/files/{file}", get(files::owner_get))
        .route(
            "/records/{id}/files/{file}/parts/{part}",
            put(files::owner_put_part).layer(big(part_body)),
        )
        .route(
            "/records/{id}/files/{file}/complete",
            post(files::owner_complete),
        )
        .route("/shares", get(shares::list))
        .route("/shares/{handle}", get(shares::get).delete(shares::delete))
        .route("/recipient/status", get(recipient::status))
        .route("/recipient/bind", post(recipient::bind))
        .route("/recipient/share", get(recipient::fetch))
        .route(
            "/recipient/edit",
            post(recipient::edit).layer(big(envelope_body)),
        )
        .route("/recipient/end", post(recipient::end))
        .route("/recipient/events", get(events::recipient_stream))
        .route("/recipient/files/{file}", get(files::recipient_get))
        .route(
            "/recipient/files/{file}/parts/{part}",
            put(files::recipient_put_part).layer(big(part_body)),
        )
        .route(
            "/recipient/files/{file}/complete",
            post(files::recipient_complete),
        )
        .route("/events", get(events::stream))
        .route(
            "/webhooks",
            get(webhooks_api::list).post(webhooks_api::create),
        )
        .route("/webhooks/{id}", delete(webhooks_api::delete))
        .route("/webhooks/{id}/ping", post(webhooks_api::ping))
        .route("/webhooks/{id}/deliveries", get(webhooks_api::deliveries))
        .route("/policy", get(health::policy))
        .route("/admin/accounts", get(admin_api::accounts))
        .route("/admin/accounts/disable", post(admin_api::disable))
        .route("/admin/accounts/enable", post(admin_api::enable))
        .route("/admin/accounts/delete", post(admin_api::delete))
        .route(
            "/admin/invites",
            get(admin_api::invites).post(admin_api::create_invite),
        )
        .route("/admin/invites/revoke", post(admin_api::revoke_invite))
        .route("/admin/config", get(admin_api::config))
        .route("/openapi.json", get(openapi::document));
    // With a metrics listener of its own, /metrics is answered there only.
    let metrics_here = state.config.metrics_listen.is_none();
    let root = Router::new()
        .route("/healthz", get(health::healthz))
        .route("/readyz", get(health::readyz));
    let root = if metrics_here {
        root.route("/metrics", get(health::metrics))
    } else {
        root
    };
    root.nest(sharelock_api::API_PREFIX, api)
        .route("/", get(pages::vault))
        .route("/s", get(pages::recipient))
        .route("/assets/{file}", get(pages::asset))
        .route("/favicon.svg", get(pages::favicon))
        .route("/download-sw.js", get(pages::download_worker))
        .route("/download/{id}", get(pages::download_fallback))
        .fallback(|| async { ApiError::new(ErrorCode::NotFound, "no such route") })
        .method_not_allowed_fallback(|| async {
            ApiError::malformed("this route does not accept that method")
        })
        .layer(middleware::ObserveLayer::new(state.clone(), SMALL_BODY))
        .with_state(state)
}

/// The routes of the metrics listener (`metrics_listen`): `/metrics` and nothing else, with the same
/// request ids and headers as the main listener.
pub fn metrics_router(state: AppState) -> Router {
    Router::new()
        .route("/metrics", get(health::metrics))
        .fallback(|| async { ApiError::new(ErrorCode::NotFound, "no such route") })
        .layer(middleware::ObserveLayer::new(state.clone(), SMALL_BODY))
        .with_state(state)
}

/// Opens the database named by `database_url`.
pub async fn open_store(database_url: &str) -> anyhow::Result<Arc<dyn Store>> {
    if let Some(path) = database_url.strip_prefix("sqlite://") {
        let path = Path::new(path);
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir)
                .with_context(|| format!("cannot create {}", dir.display()))?;
        }
        let store = SqliteStore::open(path, sharelock_store::sqlite::SqliteOptions::default())
            .with_context(|| format!("cannot open SQLite database {}", path.display()))?;
        return Ok(Arc::new(store));
    }
    if database_url.starts_with("postgres://") || database_url.starts_with("postgresql://") {
        // Every node applies the schema migrations itself, under the migrator's lock. The error
        // never repeats the URL (it holds the password).
        let store = PostgresStore::open(database_url, PostgresOptions::default())
            .await
            .context("cannot open the PostgreSQL database")?;
        return Ok(Arc::new(store));
    }
    bail!("database_url must start with sqlite:// or postgres://")
}

/// Opens the blob store the configuration names (`<data_dir>/blobs` or the S3 bucket).
pub fn open_blobs(config: &Config) -> anyhow::Result<BlobStore> {
    match config.blob_backend {
        BlobBackend::Local => {
            let dir = config.data_dir.join("blobs");
            sharelock_store::blob::create_owner_only_dir(&dir)
                .with_context(|| format!("cannot create {}", dir.display()))?;
            BlobStore::local(&dir).context("cannot open the blob directory")
        }
        BlobBackend::S3 => BlobStore::s3(sharelock_store::blob::S3Config {
            endpoint: config.s3_endpoint.clone(),
            bucket: config.s3_bucket.clone().unwrap_or_default(),
            region: config
                .s3_region
                .clone()
                .unwrap_or_else(|| "us-east-1".to_owned()),
            access_key_id: config.s3_access_key_id.clone(),
            secret_access_key: config
                .s3_secret_access_key
                .as_ref()
                .map(|s| s.expose_secret().to_owned()),
            allow_http: config
                .s3_endpoint
                .as_deref()
                .is_some_and(|e| e.starts_with("http://")),
            prefix: config.s3_prefix.clone(),
        })
        .context("cannot configure S3 blob storage"),
    }
}

/// The key of made-up pre-login salts: from the configuration, or a random key kept in the data directory.
fn prelogin_secret(config: &Config) -> anyhow::Result<[u8; 32]> {
    if let Some(secret) = &config.prelogin_secret {
        return Ok(sharelock_core::crypto::sha256(
            secret.expose_secret().as_bytes(),
        ));
    }
    let path = config.data_dir.join("prelogin.key");
    match std::fs::read(&path) {
        Ok(bytes) if bytes.len() == 32 => {
            let mut key = [0u8; 32];
            key.copy_from_slice(&bytes);
            Ok(key)
        }
        Ok(_) => bail!("{} is damaged (expected 32 bytes)", path.display()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            let key: [u8; 32] = sharelock_core::crypto::random_array().context("no randomness")?;
            write_private_file(&path, &key)?;
            Ok(key)
        }
        Err(e) => Err(e).with_context(|| format!("cannot read {}", path.display())),
    }
}

fn write_private_file(path: &Path, bytes: &[u8]) -> anyhow::Result<()> {
    use std::io::Write;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut file = options
        .open(path)
        .with_context(|| format!("cannot create {}", path.display()))?;
    file.write_all(bytes)?;
    file.sync_all()?;
    Ok(())
}

fn install_metrics() -> Option<metrics_exporter_prometheus::PrometheusHandle> {
    static HANDLE: std::sync::OnceLock<Option<metrics_exporter_prometheus::PrometheusHandle>> =
        std::sync::OnceLock::new();
    HANDLE
        .get_or_init(|| {
            metrics_exporter_prometheus::PrometheusBuilder::new()
                .install_recorder()
                .ok()
        })
        .clone()
}

/// How often the metrics recorder folds recorded samples into its summaries.
const METRICS_UPKEEP: Duration = Duration::from_secs(5);

/// The recorder keeps every histogram sample it is given until it is rendered or upkept, so without this
/// a server nobody scrapes grew by every request's latency sample (docs/benchmarks.md, memory).
async fn metrics_upkeep(handle: metrics_exporter_prometheus::PrometheusHandle) {
    let mut tick = tokio::time::interval(METRICS_UPKEEP);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        handle.run_upkeep();
    }
}

/// Largest request head (request line and headers) a connection may buffer; ours are well under 4 KiB.
const MAX_HEAD_BYTES: usize = 16 * 1024;
/// How long requests in flight get to finish once shutdown starts.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(30);

/// Runs the server until SIGINT or SIGTERM, then finishes requests in flight and returns.
pub async fn serve(config: Config) -> anyhow::Result<()> {
    sharelock_store::blob::create_owner_only_dir(&config.data_dir)
        .with_context(|| format!("cannot create data directory {}", config.data_dir.display()))?;
    let store = open_store(&config.database_url()).await?;
    let blobs = open_blobs(&config)?;
    let prelogin_secret = prelogin_secret(&config)?;
    let listener = TcpListener::bind(config.listen)
        .await
        .with_context(|| format!("cannot listen on {}", config.listen))?;
    let local = listener.local_addr()?;
    let metrics_listener = match config.metrics_listen {
        Some(addr) => {
            let listener = TcpListener::bind(addr)
                .await
                .with_context(|| format!("cannot listen on {addr} (metrics_listen)"))?;
            Some(listener)
        }
        None => None,
    };
    let public_url = match &config.public_url {
        Some(_) => config.public_url(),
        None => format!("http://{local}"),
    };
    let (shutdown_tx, shutdown_rx) = watch::channel(false);
    let (wakeups, _) = broadcast::channel(1024);
    let state = AppState::new(Inner {
        store,
        blobs,
        limiter: ratelimit::RateLimiter::new(
            config.rate_limit_per_minute,
            config.rate_limit_ipv6_prefix,
        ),
        client_address: ratelimit::ClientAddress::new(&config)?,
        bounds: body::Bounds::new(&config),
        config,
        public_url: public_url.clone(),
        wakeups,
        prelogin_secret,
        shutdown: shutdown_rx,
        metrics: install_metrics(),
    });
    let sweeper = tokio::spawn(sweep_forever(state.clone()));
    let deliverer = tokio::spawn(webhooks::deliver_forever(state.clone()));
    let upkeep = state
        .metrics
        .clone()
        .map(|handle| tokio::spawn(metrics_upkeep(handle)));
    let listener_task = state
        .store
        .event_wakeups()
        .map(|wakeups| tokio::spawn(forward_wakeups(state.clone(), wakeups)));
    let metrics_task = match metrics_listener {
        Some(listener) => {
            let addr = listener.local_addr()?;
            tracing::info!(%addr, "metrics listening");
            println!("sharelock metrics on http://{addr}");
            let app = metrics_router(state.clone());
            let state = state.clone();
            let mut stop = state.shutdown.clone();
            Some(tokio::spawn(async move {
                accept_loop(listener, app, &state.config, async move {
                    let _ = stop.wait_for(|stopping| *stopping).await;
                })
                .await;
            }))
        }
        None => None,
    };
    tracing::info!(%local, %public_url, "sharelock listening");
    // A machine-readable line on stdout, so whoever started us (tests, scripts) learns the bound port.
    println!("sharelock listening on http://{local}");
    let app = router(state.clone());
    accept_loop(listener, app, &state.config, async move {
        shutdown_signal().await;
        tracing::info!("shutting down: finishing requests in flight");
        let _ = shutdown_tx.send(true);
    })
    .await;
    if let Some(task) = metrics_task {
        let _ = task.await;
    }
    sweeper.abort();
    deliverer.abort();
    if let Some(task) = upkeep {
        task.abort();
    }
    if let Some(task) = listener_task {
        task.abort();
    }
    tracing::info!("stopped");
    Ok(())
}

/// Accepts HTTP/1.1 connections until `shutdown` resolves, then lets open requests finish (at most
/// [`SHUTDOWN_GRACE`]). Each connection must send a request's headers within `header_read_timeout` (also the
/// idle time allowed between requests) and at most [`MAX_HEAD_BYTES`] of them; at most `max_connections` are
/// open at once, further clients wait in the listen queue. HTTP/2 is left to the reverse proxy: a server
/// that must guess the protocol first has no timeout while it waits for the first bytes.
async fn accept_loop(
    listener: TcpListener,
    app: Router,
    config: &Config,
    shutdown: impl std::future::Future<Output = ()>,
) {
    use hyper_util::rt::{TokioIo, TokioTimer};
    let mut http = hyper::server::conn::http1::Builder::new();
    http.timer(TokioTimer::new())
        .header_read_timeout(config.header_read_timeout)
        .max_buf_size(MAX_HEAD_BYTES)
        .keep_alive(true);
    let slots = Arc::new(Semaphore::new(config.max_connections as usize));
    let graceful = hyper_util::server::graceful::GracefulShutdown::new();
    tokio::pin!(shutdown);
    loop {
        let slot = tokio::select! {
            slot = slots.clone().acquire_owned() => slot,
            () = &mut shutdown => break,
        };
        let Ok(slot) = slot else { break };
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(e) => {
                    // Out of file descriptors and the like: back off instead of spinning.
                    tracing::warn!(error = %e, "accept failed");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        let _ = stream.set_nodelay(true);
        let app = app.clone();
        let service = hyper::service::service_fn(move |mut req: axum::http::Request<_>| {
            req.extensions_mut().insert(ConnectInfo(peer));
            tower::ServiceExt::oneshot(app.clone(), req.map(axum::body::Body::new))
        });
        let connection = graceful.watch(http.serve_connection(TokioIo::new(stream), service));
        tokio::spawn(async move {
            // Errors here are the client's (reset, timed out, malformed head): nothing to report.
            let _ = connection.await;
            drop(slot);
        });
    }
    drop(listener);
    if tokio::time::timeout(SHUTDOWN_GRACE, graceful.shutdown())
        .await
        .is_err()
    {
        tracing::warn!("requests still open after the shutdown grace period were cut");
    }
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {},
        _ = terminate => {},
    }
}

/// Wakes this node's event streams for events other nodes committed (the store's wake-ups: PostgreSQL
/// `LISTEN`), through the same channel [`AppState::publish`] uses for this node's own.
async fn forward_wakeups(
    state: AppState,
    mut wakeups: futures::stream::BoxStream<'static, sharelock_store::Wakeup>,
) {
    while let Some(wakeup) = futures::StreamExt::next(&mut wakeups).await {
        state.wake(wakeup);
    }
    tracing::warn!("the event listener stopped; streams fall back to their slow re-check");
}

/// Blobs deleted per round of garbage collection.
const GARBAGE_BATCH: u32 = 256;

/// Drops uploads left unfinished for `upload_ttl`, then deletes the blobs the store lists as garbage
/// (theirs, replaced part writes, deleted records'). The store forgets a blob only once it is deleted;
/// one whose deletion fails is postponed (tried again after a delay that grows with its age), so blobs
/// that keep failing never fill the batches and hold back the newer garbage behind them.
async fn sweep_files(state: &AppState, now: i64) {
    let ttl = state.config.upload_ttl.as_secs() as i64;
    match state.store.sweep_uploads(now, ttl).await {
        Ok(0) => {}
        Ok(dropped) => tracing::info!(dropped, "unfinished uploads swept"),
        Err(e) => tracing::warn!(error = %e, "sweeping unfinished uploads failed"),
    }
    loop {
        let garbage = match state.store.blob_garbage(GARBAGE_BATCH, now).await {
            Ok(garbage) => garbage,
            Err(e) => {
                tracing::warn!(error = %e, "listing blob garbage failed");
                return;
            }
        };
        let listed = garbage.len();
        let outcome = files::delete_garbage(state, garbage).await;
        if outcome.forget_failed {
            // The store is failing: the next pass lists them again.
            return;
        }
        if !outcome.failed.is_empty() {
            let failed = outcome.failed.len();
            match state.store.postpone_garbage(outcome.failed, now).await {
                Ok(()) => tracing::warn!(failed, "blob deletions failed; postponed"),
                Err(e) => {
                    tracing::warn!(error = %e, "could not postpone failed blob deletions");
                    return;
                }
            }
        }
        // Every listed blob is now forgotten or postponed past `now`: a full batch means more may wait.
        if listed < GARBAGE_BATCH as usize {
            return;
        }
    }
}

/// Self-destructing records due in one pass, at most.
const DESTROY_BATCH: u32 = 100;

/// Deletes self-destructing records whose time has come (docs/protocol.md §4.7), batch after batch, and
/// tells their owners (`record_destroyed`). Their blobs are deleted at once, and are garbage for
/// [`sweep_files`] too if that fails. Every node's sweeper runs this; the store destroys each record once.
async fn destroy_records(state: &AppState) {
    loop {
        let (destroyed, events) = match state
            .store
            .destroy_due_records(state.now(), DESTROY_BATCH)
            .await
        {
            Ok(done) => done,
            Err(e) => {
                tracing::warn!(error = %e, "destroying self-destructing records failed");
                return;
            }
        };
        state.publish(&events);
        for record in &destroyed {
            for file in &record.files {
                if let Err(e) = state.blobs.delete_file(record.record, *file).await {
                    tracing::warn!(error = %e, "could not delete a file blob of a destroyed record");
                }
            }
        }
        if !destroyed.is_empty() {
            tracing::info!(
                records = destroyed.len(),
                "self-destructing records destroyed"
            );
        }
        if destroyed.len() < DESTROY_BATCH as usize {
            return;
        }
    }
}

/// Ends shares whose time has passed, drops their keys, purges old rows. Expiry is also checked on every
/// request, so the sweeper's pace only affects housekeeping, never access.
async fn sweep_forever(state: AppState) {
    let mut tick = tokio::time::interval(state.config.sweep_interval);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        let retention = state.config.retention.as_secs() as i64;
        // Each batch's events are published as it commits (a pass over a million lapsed shares
        // holds one batch's worth at a time).
        let publish = |events: Vec<sharelock_store::model::Event>| state.publish(&events);
        match state
            .store
            .sweep(
                state.now(),
                retention,
                NONCE_TTL_SECS,
                EVENT_TTL_SECS,
                &publish,
            )
            .await
        {
            Ok(report) => {
                if report != sharelock_store::SweepReport::default() {
                    tracing::info!(?report, "sweep");
                }
                // A backlog (a million shares lapsing together) is worked off pass after pass, each
                // bounded in time so the rest of this loop comes round; the next one starts at once.
                if report.unfinished {
                    tick.reset_immediately();
                }
            }
            Err(e) => tracing::warn!(error = %e, "sweep failed"),
        }
        destroy_records(&state).await;
        sweep_files(&state, state.now()).await;
        state.limiter.shrink();
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use super::*;
    use futures::StreamExt;
    use futures::stream::BoxStream;
    use object_store::memory::InMemory;
    use object_store::path::Path as ObjectPath;
    use object_store::{
        CopyOptions, GetOptions, GetResult, ListResult, MultipartUpload, ObjectMeta, ObjectStore,
        PutMultipartOptions, PutOptions, PutPayload, PutResult,
    };
    use sharelock_store::model::{Author, GARBAGE_RETRY_MAX, PartBlob, UploadLimits};
    use std::sync::atomic::{AtomicBool, Ordering};

    /// A bucket that refuses deletions while `failing` is set (as S3 does for a key without
    /// `s3:DeleteObject`, or a directory gone read-only), and otherwise is memory.
    #[derive(Debug, Default)]
    struct DeletesFail {
        inner: Arc<InMemory>,
        failing: AtomicBool,
        /// Part writes (by write id, in the key's simple form) whose deletion always fails.
        refused: std::sync::Mutex<std::collections::HashSet<String>>,
    }

    impl std::fmt::Display for DeletesFail {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str("DeletesFail")
        }
    }

    #[async_trait::async_trait]
    impl ObjectStore for DeletesFail {
        async fn put_opts(
            &self,
            location: &ObjectPath,
            payload: PutPayload,
            opts: PutOptions,
        ) -> object_store::Result<PutResult> {
            self.inner.put_opts(location, payload, opts).await
        }
        async fn put_multipart_opts(
            &self,
            location: &ObjectPath,
            opts: PutMultipartOptions,
        ) -> object_store::Result<Box<dyn MultipartUpload>> {
            self.inner.put_multipart_opts(location, opts).await
        }
        async fn get_opts(
            &self,
            location: &ObjectPath,
            options: GetOptions,
        ) -> object_store::Result<GetResult> {
            self.inner.get_opts(location, options).await
        }
        fn delete_stream(
            &self,
            locations: BoxStream<'static, object_store::Result<ObjectPath>>,
        ) -> BoxStream<'static, object_store::Result<ObjectPath>> {
            let failing = self.failing.load(Ordering::SeqCst);
            let refused = self.refused.lock().unwrap().clone();
            let inner = self.inner.clone();
            locations
                .then(move |location| {
                    let (inner, refused) = (inner.clone(), refused.clone());
                    async move {
                        let location = location?;
                        let refuse = refused
                            .iter()
                            .any(|w| location.as_ref().contains(w.as_str()));
                        if failing || refuse {
                            return Err(object_store::Error::Generic {
                                store: "DeletesFail",
                                source: "access denied".into(),
                            });
                        }
                        object_store::ObjectStoreExt::delete(&*inner, &location).await?;
                        Ok(location)
                    }
                })
                .boxed()
        }
        fn list(
            &self,
            prefix: Option<&ObjectPath>,
        ) -> BoxStream<'static, object_store::Result<ObjectMeta>> {
            self.inner.list(prefix)
        }
        async fn list_with_delimiter(
            &self,
            prefix: Option<&ObjectPath>,
        ) -> object_store::Result<ListResult> {
            self.inner.list_with_delimiter(prefix).await
        }
        async fn copy_opts(
            &self,
            from: &ObjectPath,
            to: &ObjectPath,
            options: CopyOptions,
        ) -> object_store::Result<()> {
            self.inner.copy_opts(from, to, options).await
        }
    }

    fn state(store: Arc<dyn Store>, blobs: BlobStore) -> AppState {
        let config = Config::default();
        let (_, shutdown) = watch::channel(false);
        AppState::new(Inner {
            store,
            blobs,
            limiter: ratelimit::RateLimiter::new(
                config.rate_limit_per_minute,
                config.rate_limit_ipv6_prefix,
            ),
            client_address: ratelimit::ClientAddress::new(&config).unwrap(),
            bounds: body::Bounds::new(&config),
            public_url: "http://127.0.0.1:9".into(),
            config,
            wakeups: broadcast::channel(16).0,
            prelogin_secret: [7; 32],
            shutdown,
            metrics: None,
        })
    }

    async fn objects(store: &DeletesFail) -> usize {
        store.inner.list(None).count().await
    }

    /// A stored and attached part of `record`.
    async fn stored_part(
        store: &Arc<dyn Store>,
        blobs: &BlobStore,
        record: uuid::Uuid,
        now: i64,
    ) -> PartBlob {
        let write = PartBlob {
            record,
            file: uuid::Uuid::new_v4(),
            part: 0,
            write: uuid::Uuid::new_v4(),
        };
        let limits = UploadLimits {
            account_bytes: u64::MAX,
            share_bytes: u64::MAX,
        };
        store
            .reserve_part(write, 5, Author::Owner, limits, now)
            .await
            .unwrap();
        blobs
            .put_part(&write, bytes::Bytes::from_static(b"bytes"))
            .await
            .unwrap();
        assert_eq!(store.attach_part(write, now).await.unwrap(), None);
        write
    }

    fn sqlite_store(dir: &tempfile::TempDir) -> Arc<SqliteStore> {
        Arc::new(
            SqliteStore::open(
                dir.path().join("sharelock.db"),
                sharelock_store::sqlite::SqliteOptions::default(),
            )
            .unwrap(),
        )
    }

    /// A blob whose deletion fails stays listed as garbage, postponed, and is deleted and forgotten by
    /// a later pass of the sweeper once the blob store works again.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_failed_blob_deletion_is_tried_again_by_the_sweeper() {
        let dir = tempfile::tempdir().unwrap();
        let sqlite = sqlite_store(&dir);
        let store: Arc<dyn Store> = sqlite.clone();
        let bucket = Arc::new(DeletesFail::default());
        let blobs = BlobStore::from_object_store(bucket.clone());
        let state = state(store.clone(), blobs.clone());
        let now = state.now();

        // A stored part of a record, then the record deleted: its part is garbage.
        let account = sharelock_store::testing::account(&*sqlite).await;
        let record = sharelock_store::testing::record(&*sqlite, account).await;
        let write = stored_part(&store, &blobs, record, now).await;
        store.delete_record(account, record, now).await.unwrap();
        assert_eq!(store.blob_garbage(10, now).await.unwrap(), vec![write]);

        // The bucket refuses: the blob stays, and so does its entry, pass after pass, each time
        // postponed a little.
        bucket.failing.store(true, Ordering::SeqCst);
        let mut at = now;
        for _ in 0..2 {
            sweep_files(&state, at).await;
            assert!(store.blob_garbage(10, at).await.unwrap().is_empty());
            at += GARBAGE_RETRY_MAX;
            assert_eq!(store.blob_garbage(10, at).await.unwrap(), vec![write]);
            assert_eq!(objects(&bucket).await, 1);
        }

        // The bucket works again: the next pass deletes the blob and forgets it.
        bucket.failing.store(false, Ordering::SeqCst);
        sweep_files(&state, at).await;
        assert_eq!(objects(&bucket).await, 0);
        assert!(
            store
                .blob_garbage(10, at + GARBAGE_RETRY_MAX)
                .await
                .unwrap()
                .is_empty()
        );
    }

    /// A full batch of blobs whose deletion keeps failing does not stop the pass: the garbage behind
    /// them is deleted in the same pass (before, the pass stopped at the first failure, so the oldest
    /// failing blobs held back everything newer for good).
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn failing_blobs_do_not_hold_back_newer_garbage() {
        let dir = tempfile::tempdir().unwrap();
        let sqlite = sqlite_store(&dir);
        let store: Arc<dyn Store> = sqlite.clone();
        let bucket = Arc::new(DeletesFail::default());
        let blobs = BlobStore::from_object_store(bucket.clone());
        let state = state(store.clone(), blobs.clone());
        let now = state.now();

        let account = sharelock_store::testing::account(&*sqlite).await;
        let record = sharelock_store::testing::record(&*sqlite, account).await;
        let total = GARBAGE_BATCH as usize + 3;
        for _ in 0..total {
            stored_part(&store, &blobs, record, now).await;
        }
        store.delete_record(account, record, now).await.unwrap();
        // The first batch the sweeper will list is refused, always.
        let first = store.blob_garbage(GARBAGE_BATCH, now).await.unwrap();
        assert_eq!(first.len(), GARBAGE_BATCH as usize);
        bucket
            .refused
            .lock()
            .unwrap()
            .extend(first.iter().map(|b| b.write.simple().to_string()));

        sweep_files(&state, now).await;
        assert_eq!(
            objects(&bucket).await,
            GARBAGE_BATCH as usize,
            "the garbage behind the failing batch is deleted"
        );
        assert!(
            store.blob_garbage(1000, now).await.unwrap().is_empty(),
            "the failing ones are postponed"
        );
        let mut due: Vec<PartBlob> = store
            .blob_garbage(1000, now + GARBAGE_RETRY_MAX)
            .await
            .unwrap();
        let mut expected = first.clone();
        due.sort_unstable_by_key(|b| b.write);
        expected.sort_unstable_by_key(|b| b.write);
        assert_eq!(
            due, expected,
            "listed again when due, the deleted ones forgotten"
        );
    }
}
