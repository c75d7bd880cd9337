//! Request bodies, read within bounds. A body is read only after its request is authenticated (where the
//! route has authentication) and only through [`read`], which enforces:
//!
//! - the route's size limit ([`BodyLimit`]): refused by the declared length before a byte is read, and as
//!   bytes arrive when no length was declared (413 `payload_too_large`);
//! - a time limit, `body_read_timeout`, from the first read to the last byte (408 `request_timeout`);
//! - for part uploads, a cap on how many are received at once, `max_concurrent_uploads`;
//! - a budget of body bytes held by all requests at once, `max_inflight_bytes`, reserved before reading
//!   (the declared length, or the route's limit when none was declared).
//!
//! Over a count or the budget the request is answered at once with 503 `server_busy` and `Retry-After`,
//! so a flood of bodies turns into refusals, never into memory.

use crate::config::Config;
use crate::error::{ApiError, ApiResult};
use axum::body::Body;
use axum::http::Extensions;
use bytes::{Bytes, BytesMut};
use http_body::Body as _;
use http_body_util::BodyExt;
use sharelock_api::ErrorCode;
use sharelock_core::crypto::{Sha256, ct_eq};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

/// Body limit of routes that take no more than a small JSON object.
pub const SMALL_BODY: usize = 64 * 1024;
/// Seconds a client is asked to wait when a bound is reached: uploads in progress take about this long.
const BUSY_RETRY_SECS: u64 = 2;
/// The byte budget is counted in KiB, so any configurable budget fits a semaphore's permit count.
const BUDGET_UNIT: usize = 1024;

/// What a route accepts as a body; set per route in `router()` (routes without one take [`BodyLimit::SMALL`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BodyLimit {
    /// Largest body, in bytes.
    pub bytes: usize,
    /// A file part upload: counted against `max_concurrent_uploads`.
    pub upload: bool,
}

impl BodyLimit {
    pub const SMALL: BodyLimit = BodyLimit {
        bytes: SMALL_BODY,
        upload: false,
    };

    pub const fn json(bytes: usize) -> Self {
        BodyLimit {
            bytes,
            upload: false,
        }
    }

    pub const fn upload(bytes: usize) -> Self {
        BodyLimit {
            bytes,
            upload: true,
        }
    }

    /// The limit a route set on its requests.
    pub fn of(extensions: &Extensions) -> Self {
        extensions
            .get::<BodyLimit>()
            .copied()
            .unwrap_or(Self::SMALL)
    }
}

/// The process-wide bounds on bodies being received.
pub struct Bounds {
    budget: Arc<Semaphore>,
    uploads: Arc<Semaphore>,
    timeout: Duration,
}

impl Bounds {
    pub fn new(config: &Config) -> Self {
        let units = (config.max_inflight_bytes as usize).div_ceil(BUDGET_UNIT);
        Bounds {
            budget: Arc::new(Semaphore::new(units)),
            uploads: Arc::new(Semaphore::new(config.max_concurrent_uploads as usize)),
            timeout: config.body_read_timeout,
        }
    }

    /// Bytes of the budget not reserved by a request right now (for tests and metrics).
    pub fn available_bytes(&self) -> usize {
        self.budget.available_permits() * BUDGET_UNIT
    }
}

/// A body read in full. It holds its reservation of the byte budget (and its upload slot) until dropped, so
/// keep it alive while its bytes are in use (a part until the blob store has it).
pub struct ReadBody {
    bytes: Bytes,
    _held: Option<Held>,
}

/// A reservation of the byte budget and, for an upload, a slot; shown in the metrics
/// `sharelock_body_bytes_reserved` and `sharelock_uploads_receiving` while held.
struct Held {
    bytes: usize,
    upload: Option<OwnedSemaphorePermit>,
    _budget: OwnedSemaphorePermit,
}

impl Held {
    fn new(
        bytes: usize,
        upload: Option<OwnedSemaphorePermit>,
        budget: OwnedSemaphorePermit,
    ) -> Self {
        metrics::gauge!("sharelock_body_bytes_reserved").increment(bytes as f64);
        if upload.is_some() {
            metrics::gauge!("sharelock_uploads_receiving").increment(1.0);
        }
        Held {
            bytes,
            upload,
            _budget: budget,
        }
    }
}

impl Drop for Held {
    fn drop(&mut self) {
        metrics::gauge!("sharelock_body_bytes_reserved").decrement(self.bytes as f64);
        if self.upload.is_some() {
            metrics::gauge!("sharelock_uploads_receiving").decrement(1.0);
        }
    }
}

impl ReadBody {
    pub fn bytes(&self) -> &Bytes {
        &self.bytes
    }
}

impl std::ops::Deref for ReadBody {
    type Target = [u8];
    fn deref(&self) -> &[u8] {
        &self.bytes
    }
}

/// Reads `body` within the bounds above. With `digest` (the SHA-256 a covered `Content-Digest` named), the
/// bytes are hashed as they arrive and a mismatch at the end is refused (401 `invalid_signature`).
pub async fn read(
    bounds: &Bounds,
    limit: BodyLimit,
    mut body: Body,
    digest: Option<&[u8; 32]>,
) -> ApiResult<ReadBody> {
    let hint = body.size_hint();
    if hint.lower() > limit.bytes as u64 {
        return Err(ApiError::too_large());
    }
    if body.is_end_stream() {
        check_digest(digest, Sha256::new())?;
        return Ok(ReadBody {
            bytes: Bytes::new(),
            _held: None,
        });
    }
    let upload = if limit.upload {
        let slot = bounds.uploads.clone().try_acquire_owned().map_err(|_| {
            metrics::counter!("sharelock_busy_total", "bound" => "uploads").increment(1);
            ApiError::busy(BUSY_RETRY_SECS)
        })?;
        Some(slot)
    } else {
        None
    };
    // Reserve what the client declared (hyper holds it to that length), or the route's limit.
    let expected = hint
        .exact()
        .map_or(limit.bytes, |n| n as usize)
        .min(limit.bytes);
    let units = u32::try_from(expected.div_ceil(BUDGET_UNIT).max(1)).unwrap_or(u32::MAX);
    let budget = bounds
        .budget
        .clone()
        .try_acquire_many_owned(units)
        .map_err(|_| {
            metrics::counter!("sharelock_busy_total", "bound" => "bytes").increment(1);
            ApiError::busy(BUSY_RETRY_SECS)
        })?;
    let held = Held::new(expected, upload, budget);
    let deadline = tokio::time::Instant::now() + bounds.timeout;
    let mut buffer = BytesMut::with_capacity(expected);
    let mut hasher = Sha256::new();
    loop {
        let frame = match tokio::time::timeout_at(deadline, body.frame()).await {
            Err(_) => {
                return Err(ApiError::new(
                    ErrorCode::RequestTimeout,
                    "the request body did not arrive in time",
                ));
            }
            Ok(None) => break,
            Ok(Some(Err(_))) => {
                return Err(ApiError::malformed("the request body could not be read"));
            }
            Ok(Some(Ok(frame))) => frame,
        };
        let Ok(data) = frame.into_data() else {
            continue;
        };
        if buffer.len() + data.len() > expected {
            return Err(ApiError::too_large());
        }
        if digest.is_some() {
            hasher.update(&data);
        }
        buffer.extend_from_slice(&data);
    }
    check_digest(digest, hasher)?;
    Ok(ReadBody {
        bytes: buffer.freeze(),
        _held: Some(held),
    })
}

fn check_digest(digest: Option<&[u8; 32]>, hasher: Sha256) -> ApiResult<()> {
    match digest {
        Some(expected) if !ct_eq(&hasher.finish(), expected) => Err(ApiError::new(
            ErrorCode::InvalidSignature,
            "Content-Digest does not match the body",
        )),
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;
    use sharelock_core::crypto::sha256;

    fn bounds(budget: u64, uploads: u32) -> Bounds {
        let config = Config {
            max_inflight_bytes: budget,
            max_concurrent_uploads: uploads,
            body_read_timeout: Duration::from_millis(200),
            ..Config::default()
        };
        Bounds::new(&config)
    }

    fn code(result: ApiResult<ReadBody>) -> ErrorCode {
        match result {
            Ok(_) => panic!("expected a refusal"),
            Err(e) => e.code,
        }
    }

    #[tokio::test]
    async fn reads_within_the_limit_and_checks_the_digest() {
        let b = bounds(1 << 20, 1);
        let limit = BodyLimit::json(1024);
        let body = b"{\"a\":1}".to_vec();
        let digest = sha256(&body);
        let read = read(&b, limit, Body::from(body.clone()), Some(&digest))
            .await
            .unwrap();
        assert_eq!(&*read, &body[..]);
        assert!(b.available_bytes() < 1 << 20, "the body holds its budget");
        drop(read);
        assert_eq!(b.available_bytes(), 1 << 20, "and gives it back");
        let wrong = sha256(b"other");
        assert_eq!(
            code(read_it(&b, limit, body, Some(&wrong)).await),
            ErrorCode::InvalidSignature
        );
    }

    async fn read_it(
        b: &Bounds,
        limit: BodyLimit,
        body: Vec<u8>,
        digest: Option<&[u8; 32]>,
    ) -> ApiResult<ReadBody> {
        read(b, limit, Body::from(body), digest).await
    }

    #[tokio::test]
    async fn refuses_over_the_limit_declared_or_streamed() {
        let b = bounds(1 << 20, 1);
        let limit = BodyLimit::json(10);
        assert_eq!(
            code(read_it(&b, limit, vec![0; 11], None).await),
            ErrorCode::PayloadTooLarge
        );
        // No declared length: refused as the bytes arrive.
        let chunks = futures::stream::iter(
            (0..4).map(|_| Ok::<_, std::io::Error>(Bytes::from_static(b"12345"))),
        );
        assert_eq!(
            code(read(&b, limit, Body::from_stream(chunks), None).await),
            ErrorCode::PayloadTooLarge
        );
        assert_eq!(b.available_bytes(), 1 << 20);
    }

    #[tokio::test]
    async fn refuses_when_the_budget_or_the_upload_slots_are_taken() {
        let b = bounds(64 * 1024, 1);
        let held = read_it(&b, BodyLimit::upload(64 * 1024), vec![1; 40 * 1024], None)
            .await
            .unwrap();
        let busy = read_it(&b, BodyLimit::json(64 * 1024), vec![2; 30 * 1024], None).await;
        let error = busy.err().expect("over the byte budget");
        assert_eq!(error.code, ErrorCode::ServerBusy);
        assert_eq!(error.retry_after, Some(BUSY_RETRY_SECS));
        assert_eq!(
            code(read_it(&b, BodyLimit::upload(1024), vec![3; 10], None).await),
            ErrorCode::ServerBusy,
            "one upload at a time"
        );
        drop(held);
        assert!(
            read_it(&b, BodyLimit::upload(1024), vec![3; 10], None)
                .await
                .is_ok()
        );
    }

    #[tokio::test]
    async fn a_stalled_body_times_out() {
        use futures::StreamExt;
        let b = bounds(1 << 20, 1);
        let stalled = futures::stream::iter([Ok::<_, std::io::Error>(Bytes::from_static(b"1"))])
            .chain(futures::stream::pending());
        assert_eq!(
            code(read(&b, BodyLimit::SMALL, Body::from_stream(stalled), None).await),
            ErrorCode::RequestTimeout
        );
        assert_eq!(b.available_bytes(), 1 << 20, "the budget comes back");
    }
}
