//! Liveness, readiness, metrics, policy and the OpenAPI document.

use crate::error::{ApiError, ApiResult};
use crate::state::AppState;
use axum::Json;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::IntoResponse;
use sharelock_api::ErrorCode;
use sharelock_api::files::MAX_PART_BYTES;
use sharelock_api::policy::Policy;

/// The process is up.
pub async fn healthz() -> &'static str {
    "ok"
}

/// The process can serve: the database answers and the server is not shutting down.
pub async fn readyz(State(state): State<AppState>) -> ApiResult<&'static str> {
    if *state.shutdown.borrow() {
        return Err(ApiError::new(ErrorCode::Unavailable, "shutting down"));
    }
    state
        .store
        .ping()
        .await
        .map_err(|_| ApiError::new(ErrorCode::Unavailable, "the database does not answer"))?;
    Ok("ready")
}

/// Prometheus text exposition: the request and event metrics, and the process's own (CPU seconds,
/// resident and virtual memory, open and allowed file descriptors, threads, start time), read at each
/// scrape.
pub async fn metrics(State(state): State<AppState>) -> impl IntoResponse {
    match &state.metrics {
        Some(handle) => (
            StatusCode::OK,
            [(header::CONTENT_TYPE, "text/plain; version=0.0.4")],
            {
                process_collector().collect();
                handle.render()
            },
        )
            .into_response(),
        None => ApiError::new(
            ErrorCode::Unavailable,
            "metrics are not enabled in this process",
        )
        .into_response(),
    }
}

/// The process metrics (`process_*`, as Prometheus' client libraries name them), described once.
fn process_collector() -> &'static metrics_process::Collector {
    static COLLECTOR: std::sync::OnceLock<metrics_process::Collector> = std::sync::OnceLock::new();
    COLLECTOR.get_or_init(|| {
        let collector = metrics_process::Collector::default();
        collector.describe();
        collector
    })
}

/// What this server allows; public, so clients can adapt before asking.
#[utoipa::path(get, path = "/api/v1/policy", tag = "server", responses((status = 200, body = Policy)))]
pub async fn policy(State(state): State<AppState>) -> Json<Policy> {
    let c = &state.config;
    Json(Policy {
        one_time_share: c.one_time_shares,
        max_expiry_secs: c.max_expiry.as_secs(),
        editable_shares: c.editable_shares,
        requests: c.requests_allowed(),
        signups: c.signups,
        invite_required: c.signups && c.invite_only,
        signup_email_domains: c.signup_email_domains.clone(),
        max_envelope_bytes: c.max_envelope_bytes,
        max_file_bytes: c.max_file_bytes,
        max_part_bytes: MAX_PART_BYTES as u64,
        account_quota_bytes: c.account_quota_bytes,
        share_quota_bytes: c.share_quota_bytes,
        max_live_shares: c.max_live_shares,
        upload_ttl_secs: c.upload_ttl.as_secs(),
    })
}
