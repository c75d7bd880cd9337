//! The owner's side of one-time shares: create (with its key rotation), list, read, delete.

use crate::error::{ApiError, ApiResult};
use crate::extract::{ApiJson, ApiPath, Owner};
use crate::handlers::to_time;
use crate::state::AppState;
use crate::versions::checked_rotation;
use axum::Json;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use serde::Deserialize;
use sharelock_api::ErrorCode;
use sharelock_api::shares::{
    CreateShare, Expiry, RequestSpec, ShareCreated, ShareInfo, ShareList, ShareState as ApiState,
};
use sharelock_core::device::fingerprint;
use sharelock_store::{NewShare, ShareRequest, ShareRow, ShareState};
use uuid::Uuid;

/// owner_secret = AEAD(DK, S ‖ S′): nonce + 64 bytes + tag.
const OWNER_SECRET_LEN: usize = 12 + 64 + 16;
/// A sealed label of at most 256 bytes.
const MAX_LABEL_BOX: usize = 12 + 256 + 16;
/// A wrapped 32-byte key.
const WRAPPED_KEY_LEN: usize = 60;

pub fn api_state(state: ShareState) -> ApiState {
    match state {
        ShareState::Active => ApiState::Active,
        ShareState::Opened => ApiState::Opened,
        ShareState::Expired => ApiState::Expired,
        ShareState::Deleted => ApiState::Deleted,
    }
}

pub fn share_info(row: ShareRow, now: i64) -> ShareInfo {
    ShareInfo {
        handle: row.handle,
        share_id: row.share_id.to_vec().into(),
        record_id: row.record_id,
        state: api_state(row.state(now)),
        editable: row.editable,
        passphrase: row.passphrase,
        burn_after_secs: row.burn_after.map(|s| s.max(0) as u64),
        created_at: to_time(row.created_at),
        expires_at: to_time(row.expires_at),
        opened_at: row.bound_at.map(to_time),
        device_fingerprint: row.device_key.as_deref().map(fingerprint),
        ended_at: row.ended_at(now).map(to_time),
        end_reason: row
            .end_reason
            .map(|r| r.as_str().to_string())
            .or_else(|| (row.expires_at <= now).then(|| "expired".to_string())),
        last_access_at: row.last_access_at.map(to_time),
        edit_count: row.edit_count,
        key_gen: row.key_gen,
        device_key: row.device_key.map(Into::into),
        bind_tag: row.bind_tag.map(Into::into),
        owner_secret: row.owner_secret.into(),
        label: row.label.map(Into::into),
        failed_attempts: u64::from(row.failed_attempts),
        last_failed_at: row.last_failed_at.map(to_time),
        refused_at: row.refused_at.map(to_time),
        view_once: row.view_once,
        request: row.request.map(request_spec),
        open_count: row.open_count,
        refused_count: row.refused_count,
        failed_total: row.failed_total,
        destroy_after_secs: row.destroy_after.map(|s| s.max(0) as u64),
        destroy_at: row.destroy_at.map(to_time),
    }
}

/// A request's facts as the API states them.
pub fn request_spec(request: ShareRequest) -> RequestSpec {
    RequestSpec {
        max_answers: request.max_answers,
        instructions: request.instructions.into(),
    }
}

/// Checks a request's facts as far as the server can (docs/protocol.md §4.5): it cannot open the box.
fn checked_request(
    req: &CreateShare,
    config: &crate::config::Config,
) -> ApiResult<Option<ShareRequest>> {
    let Some(request) = &req.request else {
        return Ok(None);
    };
    if !config.requests_allowed() {
        return Err(ApiError::new(
            ErrorCode::ForbiddenByPolicy,
            "requests are disabled on this server",
        ));
    }
    if !req.editable || req.view_once {
        return Err(ApiError::malformed(
            "a request is an editable share, never view-once",
        ));
    }
    if !sharelock_core::request::is_max_answers(request.max_answers) {
        return Err(ApiError::malformed("max_answers must be 1 to 100"));
    }
    if !sharelock_core::request::is_box_len(request.instructions.len()) {
        return Err(ApiError::malformed(
            "instructions must be a sealed box of 28 + 256·n bytes, n from 1 to 17",
        ));
    }
    Ok(Some(ShareRequest {
        max_answers: request.max_answers,
        instructions: request.instructions.as_slice().to_vec(),
    }))
}

/// Resolves the requested expiry against the policy's longest expiry.
fn expiry_time(expires: Expiry, now: i64, max_secs: u64) -> ApiResult<i64> {
    let at = match expires {
        Expiry::InSeconds(0) => {
            return Err(ApiError::new(
                ErrorCode::InvalidExpiry,
                "expiry must be positive",
            ));
        }
        Expiry::InSeconds(secs) if secs > max_secs => {
            return Err(ApiError::new(
                ErrorCode::InvalidExpiry,
                format!("expiry exceeds this server's maximum of {max_secs} seconds"),
            ));
        }
        Expiry::InSeconds(secs) => now + secs as i64,
        Expiry::At(t) => t.unix_timestamp(),
    };
    if at <= now {
        return Err(ApiError::new(
            ErrorCode::InvalidExpiry,
            "expiry must be in the future",
        ));
    }
    if (at - now) as u64 > max_secs {
        return Err(ApiError::new(
            ErrorCode::InvalidExpiry,
            format!("expiry exceeds this server's maximum of {max_secs} seconds"),
        ));
    }
    Ok(at)
}

#[utoipa::path(post, path = "/api/v1/records/{id}/shares", tag = "shares",
    params(("id" = Uuid, Path, description = "record id")),
    request_body = CreateShare,
    responses((status = 201, body = ShareCreated), (status = 400, body = sharelock_api::ErrorBody),
              (status = 403, body = sharelock_api::ErrorBody), (status = 404, body = sharelock_api::ErrorBody),
              (status = 409, body = sharelock_api::ErrorBody), (status = 429, body = sharelock_api::ErrorBody)),
    security(("bearer" = [])))]
pub async fn create(
    State(state): State<AppState>,
    owner: Owner,
    ApiPath(record_id): ApiPath<Uuid>,
    ApiJson(req): ApiJson<CreateShare>,
) -> ApiResult<(StatusCode, Json<ShareCreated>)> {
    let config = &state.config;
    if !config.one_time_shares {
        return Err(ApiError::new(
            ErrorCode::ForbiddenByPolicy,
            "one-time shares are disabled on this server",
        ));
    }
    if req.editable && !config.editable_shares {
        return Err(ApiError::new(
            ErrorCode::ForbiddenByPolicy,
            "editable shares are disabled on this server",
        ));
    }
    let request = checked_request(&req, config)?;
    if req.editable && req.view_once {
        // Shown once, then ended: nothing would be left to edit.
        return Err(ApiError::malformed("a view-once share cannot be editable"));
    }
    let now = state.now();
    let max = config.max_expiry.as_secs();
    let expires_at = expiry_time(req.expires, now, max)?;
    if let Some(burn) = req.burn_after_secs
        && (burn == 0 || burn > max)
    {
        return Err(ApiError::new(
            ErrorCode::InvalidExpiry,
            "burn_after_secs must be positive and within the maximum expiry",
        ));
    }
    if let Some(destroy) = req.destroy_after_secs
        && (destroy == 0 || destroy > max)
    {
        return Err(ApiError::new(
            ErrorCode::InvalidExpiry,
            "destroy_after_secs must be positive and within the maximum expiry",
        ));
    }
    let share_id = req
        .share_id
        .to_array::<16>()
        .ok_or_else(|| ApiError::malformed("share_id must be 16 bytes"))?;
    let token_hash = req
        .access_hash
        .to_array::<32>()
        .ok_or_else(|| ApiError::malformed("access_hash must be 32 bytes"))?;
    if req.wrapped_key.len() != WRAPPED_KEY_LEN {
        return Err(ApiError::malformed(
            "wrapped_key must be a 60-byte sealed key",
        ));
    }
    if req.owner_secret.len() != OWNER_SECRET_LEN {
        return Err(ApiError::malformed(
            "owner_secret must be a 92-byte sealed box",
        ));
    }
    if let Some(label) = &req.label
        && !(28..=MAX_LABEL_BOX).contains(&label.len())
    {
        return Err(ApiError::malformed(
            "label must be a sealed box of at most 256 bytes",
        ));
    }
    if let Some(preface) = &req.preface
        && sharelock_core::preface::check_sealed_len(preface.len()).is_err()
    {
        return Err(ApiError::malformed(
            "preface must be a sealed box of 284 or 540 bytes",
        ));
    }
    let rotation = checked_rotation(&state, owner.account_id, record_id, req.rotation, now).await?;
    let (version, key_gen) = (rotation.version.version, rotation.version.key_gen);
    let share = NewShare {
        handle: Uuid::new_v4(),
        share_id,
        token_hash,
        wrapped_key: req.wrapped_key.into_vec(),
        owner_secret: req.owner_secret.into_vec(),
        label: req.label.map(|l| l.into_vec()),
        editable: req.editable,
        burn_after: req.burn_after_secs.map(|s| s as i64),
        passphrase: req.passphrase,
        created_at: now,
        expires_at,
        view_once: req.view_once,
        request,
        preface: req.preface.map(|p| p.into_vec()),
        destroy_after: req.destroy_after_secs.map(|s| s as i64),
    };
    let handle = share.handle;
    state
        .store
        .create_share(
            owner.account_id,
            record_id,
            rotation,
            share,
            state.config.max_live_shares,
        )
        .await?;
    metrics::counter!("sharelock_shares_created_total").increment(1);
    Ok((
        StatusCode::CREATED,
        Json(ShareCreated {
            handle,
            expires_at: to_time(expires_at),
            version,
            key_gen,
        }),
    ))
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct ListQuery {
    /// Only shares of this record.
    pub record: Option<Uuid>,
}

#[utoipa::path(get, path = "/api/v1/shares", tag = "shares", params(ListQuery),
    responses((status = 200, body = ShareList), (status = 401, body = sharelock_api::ErrorBody)),
    security(("bearer" = [])))]
pub async fn list(
    State(state): State<AppState>,
    owner: Owner,
    query: Result<Query<ListQuery>, axum::extract::rejection::QueryRejection>,
) -> ApiResult<Json<ShareList>> {
    let Query(query) = query
        .map_err(|_| ApiError::malformed("the only query parameter is `record`, a record id"))?;
    let now = state.now();
    let rows = state
        .store
        .list_shares(owner.account_id, query.record)
        .await?;
    Ok(Json(ShareList {
        shares: rows.into_iter().map(|r| share_info(r, now)).collect(),
    }))
}

#[utoipa::path(get, path = "/api/v1/shares/{handle}", tag = "shares",
    params(("handle" = Uuid, Path, description = "share handle")),
    responses((status = 200, body = ShareInfo), (status = 404, body = sharelock_api::ErrorBody)),
    security(("bearer" = [])))]
pub async fn get(
    State(state): State<AppState>,
    owner: Owner,
    ApiPath(handle): ApiPath<Uuid>,
) -> ApiResult<Json<ShareInfo>> {
    let row = state
        .store
        .share(owner.account_id, handle)
        .await?
        .ok_or_else(|| ApiError::not_found("share"))?;
    Ok(Json(share_info(row, state.now())))
}

/// Ends the share at once, on every node: later requests read the ended state from the database.
#[utoipa::path(delete, path = "/api/v1/shares/{handle}", tag = "shares",
    params(("handle" = Uuid, Path, description = "share handle")),
    responses((status = 200, body = ShareInfo), (status = 404, body = sharelock_api::ErrorBody)),
    security(("bearer" = [])))]
pub async fn delete(
    State(state): State<AppState>,
    owner: Owner,
    ApiPath(handle): ApiPath<Uuid>,
) -> ApiResult<Json<ShareInfo>> {
    let now = state.now();
    let (row, events) = state
        .store
        .end_share(owner.account_id, handle, now)
        .await
        .map_err(|e| match e {
            sharelock_store::StoreError::NotFound => ApiError::not_found("share"),
            other => other.into(),
        })?;
    state.publish(&events);
    Ok(Json(share_info(row, now)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn expiry_rules() {
        assert_eq!(
            expiry_time(Expiry::InSeconds(60), 1000, 3600).ok(),
            Some(1060)
        );
        assert!(expiry_time(Expiry::InSeconds(0), 1000, 3600).is_err());
        assert!(expiry_time(Expiry::InSeconds(3601), 1000, 3600).is_err());
        let at = time::OffsetDateTime::from_unix_timestamp(2000)
            .unwrap_or(time::OffsetDateTime::UNIX_EPOCH);
        assert_eq!(expiry_time(Expiry::At(at), 1000, 3600).ok(), Some(2000));
        assert!(
            expiry_time(Expiry::At(at), 2000, 3600).is_err(),
            "past times are refused"
        );
        assert!(
            expiry_time(Expiry::At(at), 1000, 500).is_err(),
            "beyond the maximum is refused"
        );
    }
}
