//! Layers every response passes through: the request id, security headers, the access log and request
//! metrics.
//!
//! The access log carries method, route template, status and latency only: never a body, query string,
//! `Sharelock-Share`, `Signature*`, `Authorization` or cookie.

use crate::state::AppState;
use axum::extract::{ConnectInfo, MatchedPath, Request, State};
use axum::http::{HeaderName, HeaderValue, Method, header};
use axum::middleware::Next;
use axum::response::Response;
use std::net::SocketAddr;
use std::time::Instant;
use tracing::Instrument;

/// The header that carries a request's id, both ways.
pub const REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// Longest request id taken from a proxy.
const MAX_REQUEST_ID: usize = 128;

/// Gives every request an id: the one a trusted proxy sent in `X-Request-Id` (so the proxy's log line and
/// ours name the same request), else a fresh UUID. Every log line written while the request is handled
/// carries it (the `request` span's `id`), and the response names it in `X-Request-Id`. A header from
/// anyone but a trusted proxy is ignored, as is one that is too long or holds characters other than
/// letters, digits and `-_.:+/=@` (it would end up in log lines).
pub async fn request_id(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let from_proxy = req
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .filter(|ConnectInfo(peer)| state.client_address.is_trusted(peer.ip()))
        .and_then(|_| req.headers().get(&REQUEST_ID))
        .and_then(|value| value.to_str().ok())
        .filter(|id| is_acceptable_request_id(id))
        .map(str::to_owned);
    let id = from_proxy.unwrap_or_else(|| uuid::Uuid::new_v4().to_string());
    let span = tracing::info_span!("request", id = %id);
    let mut response = next.run(req).instrument(span).await;
    if let Ok(value) = HeaderValue::from_str(&id) {
        response.headers_mut().insert(REQUEST_ID, value);
    }
    response
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

/// Adds the security headers to every response (handlers may set a stricter or page-specific CSP first).
/// Behind an `https://` public URL, browsers are also told to use HTTPS only for a year (HSTS).
pub async fn security_headers(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let is_api = req.uri().path().starts_with("/api/");
    let mut response = next.run(req).await;
    let headers = response.headers_mut();
    let mut set_default = |name: HeaderName, value: &'static str| {
        if !headers.contains_key(&name) {
            headers.insert(name, HeaderValue::from_static(value));
        }
    };
    set_default(header::CONTENT_SECURITY_POLICY, API_CSP);
    set_default(header::REFERRER_POLICY, "no-referrer");
    set_default(header::X_CONTENT_TYPE_OPTIONS, "nosniff");
    set_default(header::X_FRAME_OPTIONS, "DENY");
    set_default(
        HeaderName::from_static("cross-origin-opener-policy"),
        "same-origin",
    );
    set_default(
        HeaderName::from_static("cross-origin-resource-policy"),
        "same-origin",
    );
    set_default(
        HeaderName::from_static("permissions-policy"),
        "camera=(), microphone=(), geolocation=(), payment=(), usb=(), interest-cohort=()",
    );
    if state.public_url.starts_with("https://") {
        set_default(header::STRICT_TRANSPORT_SECURITY, "max-age=31536000");
    }
    if is_api {
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    } else {
        set_default(header::CACHE_CONTROL, "no-store");
    }
    response
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
pub async fn access_log(req: Request, next: Next) -> Response {
    let start = Instant::now();
    let method = method_label(req.method());
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map(|p| p.as_str().to_string())
        .unwrap_or_else(|| "unmatched".to_string());
    let response = next.run(req).await;
    let status = response.status().as_u16();
    let elapsed = start.elapsed();
    tracing::info!(
        target: "sharelock::access",
        method,
        route = %route,
        status,
        latency_ms = elapsed.as_secs_f64() * 1000.0,
    );
    let labels = [
        ("method", method.to_string()),
        ("route", route),
        ("status", status.to_string()),
    ];
    metrics::counter!("sharelock_http_requests_total", &labels).increment(1);
    metrics::histogram!("sharelock_http_request_duration_seconds", &labels[..2])
        .record(elapsed.as_secs_f64());
    response
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
