//! The HTTP transport shared by the owner's and the recipient's sides: one reqwest client, the server's
//! base URL, JSON in and out, error bodies turned into [`ClientError::Api`], and the server's clock.

use crate::error::{ClientError, Result};
use reqwest::{Method, RequestBuilder, Response};
use serde::Serialize;
use serde::de::DeserializeOwned;
use sharelock_api::API_PREFIX;
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// How far the local clock may drift from the server's before the client signs with the server's time.
/// The server accepts `created` in [now − 60 s, now + 10 s]; a few seconds of drift never matter.
pub const MAX_CLOCK_DRIFT_SECS: i64 = 5;

/// Largest error body read from the server.
const MAX_ERROR_BODY: usize = 64 * 1024;

/// A connection to one server. Cheap to clone; clones share the connection pool and the clock estimate.
#[derive(Clone)]
pub struct Transport {
    http: reqwest::Client,
    base: String,
    /// Server time minus local time, in seconds, from the last `Date` header seen.
    skew: Arc<AtomicI64>,
}

impl std::fmt::Debug for Transport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Transport")
            .field("base", &self.base)
            .finish_non_exhaustive()
    }
}

/// Unix seconds by the local clock.
pub fn local_now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

/// Checks and normalises a server URL: http or https, no query or fragment, no trailing slash.
pub fn normalize_base(url: &str) -> Result<String> {
    let trimmed = url.trim().trim_end_matches('/');
    let rest = trimmed
        .strip_prefix("https://")
        .or_else(|| trimmed.strip_prefix("http://"))
        .ok_or_else(|| {
            ClientError::Invalid(format!(
                "the server URL must start with http:// or https:// ({trimmed})"
            ))
        })?;
    if rest.is_empty() || rest.contains(['?', '#', ' ']) || rest.starts_with('/') {
        return Err(ClientError::Invalid(format!("not a server URL: {trimmed}")));
    }
    Ok(trimmed.to_owned())
}

impl Transport {
    /// A transport for the server at `base` (its public URL, as links carry it).
    pub fn new(base: &str) -> Result<Self> {
        let base = normalize_base(base)?;
        let http = reqwest::Client::builder()
            .user_agent(concat!("sharelock/", env!("CARGO_PKG_VERSION")))
            .connect_timeout(Duration::from_secs(15))
            .read_timeout(Duration::from_secs(120))
            .build()
            .map_err(ClientError::Http)?;
        Ok(Transport {
            http,
            base,
            skew: Arc::new(AtomicI64::new(0)),
        })
    }

    /// The server's base URL, without a trailing slash.
    pub fn base(&self) -> &str {
        &self.base
    }

    /// The full URL of an API path (`/records`, …).
    pub fn url(&self, path: &str) -> String {
        format!("{}{}{}", self.base, API_PREFIX, path)
    }

    /// A request builder for an API path.
    pub fn request(&self, method: Method, path: &str) -> RequestBuilder {
        self.http.request(method, self.url(path))
    }

    /// The server's time as best known: the local clock, corrected by the last `Date` header when the two
    /// differ by more than [`MAX_CLOCK_DRIFT_SECS`].
    pub fn server_now(&self) -> i64 {
        let skew = self.skew.load(Ordering::Relaxed);
        let now = local_now();
        if skew.abs() > MAX_CLOCK_DRIFT_SECS {
            now + skew
        } else {
            now
        }
    }

    /// The server's time by its last `Date` header, whatever the drift (used to retry a stale signature).
    pub fn server_now_strict(&self) -> i64 {
        local_now() + self.skew.load(Ordering::Relaxed)
    }

    fn note_date(&self, response: &Response) {
        let date = response
            .headers()
            .get(reqwest::header::DATE)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| httpdate::parse_http_date(v).ok());
        if let Some(server) = date {
            let server = server
                .duration_since(UNIX_EPOCH)
                .map(|d| d.as_secs() as i64)
                .unwrap_or(0);
            if server > 0 {
                self.skew.store(server - local_now(), Ordering::Relaxed);
            }
        }
    }

    /// Sends a request; a non-success answer becomes [`ClientError::Api`].
    pub async fn send(&self, request: RequestBuilder) -> Result<Response> {
        let response = request.send().await.map_err(ClientError::Http)?;
        self.note_date(&response);
        if response.status().is_success() {
            return Ok(response);
        }
        let status = response.status().as_u16();
        let body = read_limited(response, MAX_ERROR_BODY)
            .await
            .unwrap_or_default();
        Err(ClientError::from_response(status, &body))
    }

    /// Sends a request and decodes a JSON answer.
    pub async fn json<T: DeserializeOwned>(&self, request: RequestBuilder) -> Result<T> {
        let response = self.send(request).await?;
        decode(response).await
    }

    /// Sends `body` as JSON and decodes a JSON answer.
    pub async fn post_json<B: Serialize + ?Sized, T: DeserializeOwned>(
        &self,
        method: Method,
        path: &str,
        body: &B,
    ) -> Result<T> {
        self.json(self.request(method, path).json(body)).await
    }
}

/// Decodes a JSON response body.
pub async fn decode<T: DeserializeOwned>(response: Response) -> Result<T> {
    let bytes = response.bytes().await.map_err(ClientError::Http)?;
    serde_json::from_slice(&bytes)
        .map_err(|e| ClientError::Unexpected(format!("the answer is not the expected JSON: {e}")))
}

async fn read_limited(mut response: Response, limit: usize) -> Result<Vec<u8>> {
    let mut out = Vec::new();
    while let Some(chunk) = response.chunk().await.map_err(ClientError::Http)? {
        let room = limit.saturating_sub(out.len());
        out.extend_from_slice(&chunk[..chunk.len().min(room)]);
        if out.len() >= limit {
            break;
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base_urls_are_checked_and_normalised() {
        assert_eq!(
            normalize_base("http://127.0.0.1:8080/").ok().as_deref(),
            Some("http://127.0.0.1:8080")
        );
        assert_eq!(
            normalize_base("https://x.example/prefix").ok().as_deref(),
            Some("https://x.example/prefix")
        );
        assert!(normalize_base("ftp://x").is_err());
        assert!(normalize_base("http://").is_err());
        assert!(normalize_base("https://x.example/?a=b").is_err());
        assert!(normalize_base("x.example").is_err());
    }
}
