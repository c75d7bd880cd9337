//! The layer every response passes through ([`Observe`]): the request id, security headers, the access log
//! and request metrics, with a panicking handler answered as a 500.
//!
//! The access log carries method, route template, status and latency only: never a body, query string,
//! `Sharelock-Share`, `Signature*`, `Authorization` or cookie.
//!
//! These were four layers (three `from_fn` middlewares and a panic catcher), each boxing the rest of the
//! stack and its own future on every request; the request id came from the operating system's random
//! source (a system call per request) and the metrics labels were built as owned strings and looked up in
//! the registry on every request. `/healthz` spent most of its time there (docs/benchmarks.md §4.2).

use crate::error::ApiError;
use crate::state::AppState;
use axum::extract::{ConnectInfo, DefaultBodyLimit, MatchedPath, Request};
use axum::http::{HeaderMap, HeaderName, HeaderValue, Method, header};
use axum::response::{IntoResponse, Response};
use futures::FutureExt;
use std::collections::{HashMap, HashSet};
use std::convert::Infallible;
use std::future::Future;
use std::hash::BuildHasher;
use std::net::SocketAddr;
use std::panic::AssertUnwindSafe;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{OnceLock, PoisonError, RwLock};
use std::task::{Context, Poll};
use std::time::Instant;
use tower::{Layer, Service};
use tracing::Instrument;

/// The header that carries a request's id, both ways.
pub const REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// Longest request id taken from a proxy.
const MAX_REQUEST_ID: usize = 128;

/// Wraps every route and fallback of a router (with `Router::layer`) in [`Observe`].
#[derive(Clone)]
pub struct ObserveLayer {
    state: AppState,
    body_limit: usize,
}

impl ObserveLayer {
    /// `body_limit`: axum's default body limit for the routes (ours read bodies through [`crate::body`]).
    pub fn new(state: AppState, body_limit: usize) -> Self {
        Self { state, body_limit }
    }
}

impl<S> Layer<S> for ObserveLayer {
    type Service = Observe<<DefaultBodyLimit as Layer<S>>::Service>;

    fn layer(&self, inner: S) -> Self::Service {
        Observe {
            inner: DefaultBodyLimit::max(self.body_limit).layer(inner),
            state: self.state.clone(),
        }
    }
}

/// For each request, in one service and one future: its id ([`request_id`]) and the `request` span that
/// carries it through every log line; the handler, a panic in it answered as 500 `internal`; the security
/// headers ([`security_headers`]); `X-Request-Id` on the response; one access log line and two metrics
/// ([`access_log`]).
#[derive(Clone)]
pub struct Observe<S> {
    inner: S,
    state: AppState,
}

impl<S> Service<Request> for Observe<S>
where
    S: Service<Request, Response = Response, Error = Infallible> + Clone + Send + 'static,
    S::Future: Send + 'static,
{
    type Response = Response;
    type Error = Infallible;
    type Future = Pin<Box<dyn Future<Output = Result<Response, Infallible>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, req: Request) -> Self::Future {
        let start = Instant::now();
        let id = request_id(&self.state, &req);
        let method = method_label(req.method());
        let route = req.extensions().get::<MatchedPath>().cloned();
        let is_api = req.uri().path().starts_with("/api/");
        let hsts = self.state.public_url.starts_with("https://");
        let recorder = self.state.metrics.is_some();
        // The clone that was made ready stays with this request; the next one gets a fresh clone.
        let clone = self.inner.clone();
        let mut inner = std::mem::replace(&mut self.inner, clone);
        let span = tracing::info_span!("request", id = %id.as_str());
        Box::pin(
            async move {
                let handled = AssertUnwindSafe(async move { inner.call(req).await })
                    .catch_unwind()
                    .await;
                let mut response = match handled {
                    Ok(Ok(response)) => response,
                    Ok(Err(never)) => match never {},
                    Err(_) => ApiError::internal().into_response(),
                };
                let headers = response.headers_mut();
                security_headers(headers, is_api, hsts);
                if let Ok(value) = HeaderValue::from_str(id.as_str()) {
                    headers.insert(REQUEST_ID, value);
                }
                access_log(
                    method,
                    route.as_ref().map_or("unmatched", MatchedPath::as_str),
                    response.status().as_u16(),
                    start,
                    recorder,
                );
                Ok(response)
            }
            .instrument(span),
        )
    }
}

/// A request's id, as text.
pub enum RequestId {
    /// A fresh UUID (v4), formatted in place.
    Made([u8; uuid::fmt::Hyphenated::LENGTH]),
    /// The id a trusted proxy sent.
    FromProxy(String),
}

impl RequestId {
    pub fn as_str(&self) -> &str {
        match self {
            // Hyphenated hex digits: always UTF-8.
            RequestId::Made(bytes) => std::str::from_utf8(bytes).unwrap_or_default(),
            RequestId::FromProxy(id) => id,
        }
    }
}

/// Gives every request an id: the one a trusted proxy sent in `X-Request-Id` (so the proxy's log line and
/// ours name the same request), else a fresh UUID. Every log line written while the request is handled
/// carries it (the `request` span's `id`), and the response names it in `X-Request-Id`. A header from
/// anyone but a trusted proxy is ignored, as is one that is too long or holds characters other than
/// letters, digits and `-_.:+/=@` (it would end up in log lines).
pub fn request_id(state: &AppState, req: &Request) -> RequestId {
    let from_proxy = req
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .filter(|ConnectInfo(peer)| state.client_address.is_trusted(peer.ip()))
        .and_then(|_| req.headers().get(&REQUEST_ID))
        .and_then(|value| value.to_str().ok())
        .filter(|id| is_acceptable_request_id(id));
    match from_proxy {
        Some(id) => RequestId::FromProxy(id.to_owned()),
        None => {
            let mut text = [0u8; uuid::fmt::Hyphenated::LENGTH];
            fresh_id().hyphenated().encode_lower(&mut text);
            RequestId::Made(text)
        }
    }
}

/// A fresh, unique and unpredictable v4 UUID without a system call: a per-process counter through SipHash
/// under keys drawn once from the operating system (std's `RandomState`), two outputs for the 122 random
/// bits. A request id is no secret, but nobody should guess another request's.
fn fresh_id() -> uuid::Uuid {
    struct Ids {
        keys: std::collections::hash_map::RandomState,
        next: AtomicU64,
    }
    static IDS: OnceLock<Ids> = OnceLock::new();
    let ids = IDS.get_or_init(|| Ids {
        keys: std::collections::hash_map::RandomState::new(),
        next: AtomicU64::new(0),
    });
    let n = ids.next.fetch_add(1, Ordering::Relaxed);
    let high = ids.keys.hash_one((n, 0u8));
    let low = ids.keys.hash_one((n, 1u8));
    let bytes = ((u128::from(high) << 64) | u128::from(low)).to_be_bytes();
    uuid::Builder::from_random_bytes(bytes).into_uuid()
}

fn is_acceptable_request_id(id: &str) -> bool {
    (1..=MAX_REQUEST_ID).contains(&id.len())
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-_.:+/=@".contains(&b))
}

/// The API serves no documents, so its policy allows nothing at all.
pub const API_CSP: &str =
    "default-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'";

/// The security headers of every response, unless the handler set a stricter or page-specific one first.
const SECURITY_HEADERS: [(HeaderName, &str); 7] = [
    (header::CONTENT_SECURITY_POLICY, API_CSP),
    (header::REFERRER_POLICY, "no-referrer"),
    (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
    (header::X_FRAME_OPTIONS, "DENY"),
    (
        HeaderName::from_static("cross-origin-opener-policy"),
        "same-origin",
    ),
    (
        HeaderName::from_static("cross-origin-resource-policy"),
        "same-origin",
    ),
    (
        HeaderName::from_static("permissions-policy"),
        "camera=(), microphone=(), geolocation=(), payment=(), usb=(), interest-cohort=()",
    ),
];

/// Adds the security headers to a response (handlers may set a stricter or page-specific CSP first).
/// Behind an `https://` public URL (`hsts`), browsers are also told to use HTTPS only for a year. API
/// answers are never stored; other answers are not unless their handler says otherwise.
pub fn security_headers(headers: &mut HeaderMap, is_api: bool, hsts: bool) {
    // The id and up to nine of these: one allocation instead of several growths.
    headers.reserve(SECURITY_HEADERS.len() + 3);
    // One lookup per header (an entry), not a lookup and then an insert.
    for (name, value) in SECURITY_HEADERS {
        headers
            .entry(name)
            .or_insert_with(|| HeaderValue::from_static(value));
    }
    if hsts {
        headers
            .entry(header::STRICT_TRANSPORT_SECURITY)
            .or_insert_with(|| HeaderValue::from_static("max-age=31536000"));
    }
    let no_store = HeaderValue::from_static("no-store");
    if is_api {
        headers.insert(header::CACHE_CONTROL, no_store);
    } else {
        headers.entry(header::CACHE_CONTROL).or_insert(no_store);
    }
}

/// The method as a log field and metric label: the standard ones by name, any other as `other`, so a
/// client inventing methods cannot grow the metrics registry (every label set is kept for the process's
/// life).
fn method_label(method: &Method) -> &'static str {
    match *method {
        Method::GET => "GET",
        Method::POST => "POST",
        Method::PUT => "PUT",
        Method::DELETE => "DELETE",
        Method::HEAD => "HEAD",
        Method::OPTIONS => "OPTIONS",
        Method::PATCH => "PATCH",
        Method::TRACE => "TRACE",
        Method::CONNECT => "CONNECT",
        _ => "other",
    }
}

/// One log line and two metrics per request, labelled by route template (never the concrete path).
/// `recorder`: this process installed its metrics recorder (the handles may be kept).
pub fn access_log(method: &'static str, route: &str, status: u16, start: Instant, recorder: bool) {
    let elapsed = start.elapsed();
    tracing::info!(
        target: "sharelock::access",
        method,
        route,
        status,
        latency_ms = elapsed.as_secs_f64() * 1000.0,
    );
    let (requests, duration) = if recorder {
        request_metrics(method, route, status)
    } else {
        register_request_metrics(method, route, status)
    };
    requests.increment(1);
    duration.record(elapsed.as_secs_f64());
}

fn register_request_metrics(
    method: &str,
    route: &str,
    status: u16,
) -> (metrics::Counter, metrics::Histogram) {
    let labels = [
        ("method", method.to_string()),
        ("route", route.to_string()),
        ("status", status.to_string()),
    ];
    (
        metrics::counter!("sharelock_http_requests_total", &labels),
        metrics::histogram!("sharelock_http_request_duration_seconds", &labels[..2]),
    )
}

/// The counter and histogram of one (method, route, status), registered once and then taken from here: a
/// registration builds its labels as owned strings and looks them up in the recorder's registry, which
/// cost more than the rest of a `/healthz`. Methods are the ten of [`method_label`], routes the router's
/// templates, statuses the few the handlers answer with: the map stays as small as the registry. Only once
/// the recorder is installed (a handle made before would count nowhere); the recorder has no idle
/// timeout, so a kept handle stays the registry's.
fn request_metrics(
    method: &'static str,
    route: &str,
    status: u16,
) -> (metrics::Counter, metrics::Histogram) {
    type Handles =
        HashMap<(&'static str, &'static str, u16), (metrics::Counter, metrics::Histogram)>;
    static ROUTES: OnceLock<RwLock<HashSet<&'static str>>> = OnceLock::new();
    static HANDLES: OnceLock<RwLock<Handles>> = OnceLock::new();
    let routes = ROUTES.get_or_init(Default::default);
    let handles = HANDLES.get_or_init(Default::default);
    let known = routes
        .read()
        .unwrap_or_else(PoisonError::into_inner)
        .get(route)
        .copied();
    let route: &'static str = match known {
        Some(route) => route,
        None => {
            let mut routes = routes.write().unwrap_or_else(PoisonError::into_inner);
            match routes.get(route) {
                Some(route) => route,
                // Route templates only (and "unmatched"): a fixed set, so this leaks a bounded amount once.
                None => {
                    let route: &'static str = Box::leak(route.to_owned().into_boxed_str());
                    routes.insert(route);
                    route
                }
            }
        }
    };
    let key = (method, route, status);
    if let Some(found) = handles
        .read()
        .unwrap_or_else(PoisonError::into_inner)
        .get(&key)
    {
        return found.clone();
    }
    let made = register_request_metrics(method, route, status);
    handles
        .write()
        .unwrap_or_else(PoisonError::into_inner)
        .entry(key)
        .or_insert(made)
        .clone()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn request_ids_from_proxies_are_short_plain_tokens() {
        assert!(is_acceptable_request_id(
            "f6c1b0f0-5d0e-4a1e-9a55-3e2b8c1d7f10"
        ));
        assert!(is_acceptable_request_id("req:1/2+3=4@edge_a.b"));
        assert!(!is_acceptable_request_id(""));
        assert!(!is_acceptable_request_id(&"a".repeat(MAX_REQUEST_ID + 1)));
        assert!(is_acceptable_request_id(&"a".repeat(MAX_REQUEST_ID)));
        for bad in ["a b", "a\"b", "a\nb", "a\\b", "a{b}", "é"] {
            assert!(!is_acceptable_request_id(bad), "{bad:?}");
        }
    }
}
