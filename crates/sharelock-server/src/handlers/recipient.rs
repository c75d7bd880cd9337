//! The link holder's side: status, bind (Click to Open), fetch, edit and end. The share is named by the
//! `Sharelock-Share` header only, never by a path or query, so it cannot reach a log line.

use crate::body::BodyLimit;
use crate::error::{ApiError, ApiResult};
use crate::extract::parse_json;
use crate::handlers::to_time;
use crate::ratelimit::PerAddressLimit;
use crate::signed::{DeviceSigned, SignedHeaders, share_header, unknown_share};
use crate::state::AppState;
use crate::versions::{self, Expected, conflict, new_version};
use axum::Json;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, StatusCode};
use sharelock_api::recipient::{
    BindRequest, BindResponse, EditRequest, EndRequest, ShareView, Status,
};
use sharelock_api::records::VersionWritten;
use sharelock_api::{ACCESS_HEADER, ErrorCode};
use sharelock_core::device::{DevicePublicKey, SIGNATURE_LEN, fingerprint};
use sharelock_core::envelope::Author as EnvelopeAuthor;
use sharelock_core::share::verify_access_token;
use sharelock_store::{
    Attempt, Author, Backoff, BindOutcome, OPEN_GAP_SECS, RecipientView, ShareRow, ShareState,
    StoreError,
};

fn wrong_passphrase() -> ApiError {
    ApiError::new(
        ErrorCode::WrongPassphrase,
        "wrong passphrase (or a damaged link)",
    )
}

/// The share's state if it answers: `share_ended` once it has ended, `share_suspended` while its owner's
/// account is disabled.
fn ended_or_live(share: &ShareRow, now: i64) -> ApiResult<ShareState> {
    let state = share.state(now);
    if !state.is_live() {
        Err(ApiError::share_ended())
    } else if share.owner_disabled {
        Err(ApiError::share_suspended())
    } else {
        Ok(state)
    }
}

/// The access-token backoff of docs/protocol.md §5.4, then T in constant time. The attempt is counted and
/// allowed (or refused with its wait) by one conditional update, and only an allowed attempt's comparison
/// is acted on, in the same durable write: of any number of attempts sent together only the free ones are
/// judged, and a right T clears the count.
async fn check_access(state: &AppState, share: &ShareRow, token: &[u8], now: i64) -> ApiResult<()> {
    // A share the row just read shows in its wait is refused without a write: only time or a success
    // ends a wait, so this refuses nothing the reservation would grant, save an attempt racing a success.
    // Only the reservation admits.
    if let Some(wait) =
        Backoff::ACCESS.retry_after(share.failed_attempts, share.last_failed_at, now)
    {
        return Err(ApiError::too_many(wait as u64));
    }
    // Compared here, but the answer depends on it only if the store grants the attempt: a refused attempt
    // is refused whatever T was.
    let correct = verify_access_token(token, &share.token_hash);
    let events = match state
        .store
        .access_attempt(&share.share_id, correct, now)
        .await
    {
        Ok((Attempt::Granted { .. }, events)) => events,
        Ok((Attempt::Wait { retry_after }, _)) => {
            return Err(ApiError::too_many(retry_after.max(1) as u64));
        }
        Err(StoreError::NotFound) => return Err(unknown_share()),
        Err(e) => return Err(e.into()),
    };
    state.publish(&events);
    if correct {
        return Ok(());
    }
    Err(wrong_passphrase())
}

fn access_header(headers: &HeaderMap) -> ApiResult<Vec<u8>> {
    let text = crate::signed::one_field(headers, ACCESS_HEADER)
        .map_err(|crate::signed::RepeatedHeader| {
            ApiError::malformed("the Sharelock-Access header appears more than once")
        })?
        .and_then(|v| v.to_str().ok())
        .ok_or_else(|| ApiError::malformed("the Sharelock-Access header is required"))?;
    sharelock_core::encoding::b64u_decode_array::<32>("access token", text.trim())
        .map(|t| t.to_vec())
        .map_err(|_| ApiError::malformed("the Sharelock-Access header is not an access token"))
}

#[utoipa::path(get, path = "/api/v1/recipient/status", tag = "recipient",
    params(("sharelock-share" = String, Header, description = "b64u share id"),
           ("sharelock-access" = String, Header, description = "b64u access token T")),
    responses((status = 200, body = Status), (status = 401, body = sharelock_api::ErrorBody),
              (status = 403, body = sharelock_api::ErrorBody, description = "share_suspended: the owner's account is disabled"),
              (status = 404, body = sharelock_api::ErrorBody), (status = 410, body = sharelock_api::ErrorBody),
              (status = 429, body = sharelock_api::ErrorBody)))]
pub async fn status(
    State(state): State<AppState>,
    _limit: PerAddressLimit,
    headers: HeaderMap,
) -> ApiResult<Json<Status>> {
    let (share_id, _) = share_header(&headers)?;
    let token = access_header(&headers)?;
    let now = state.now();
    let share = state
        .store
        .share_by_id(share_id.as_bytes())
        .await?
        .ok_or_else(unknown_share)?;
    let live = ended_or_live(&share, now)?;
    check_access(&state, &share, &token, now).await?;
    Ok(Json(Status {
        state: crate::handlers::shares::api_state(live),
        expires_at: to_time(share.expires_at),
        editable: share.editable,
        bound: share.device_key.is_some(),
        burn_after_secs: share.burn_after.map(|s| s.max(0) as u64),
        view_once: share.view_once,
        request: share.request.map(crate::handlers::shares::request_spec),
        preface: share.preface.map(Into::into),
        destroy_after_secs: share.destroy_after.map(|s| s.max(0) as u64),
    }))
}

#[utoipa::path(post, path = "/api/v1/recipient/bind", tag = "recipient", request_body = BindRequest,
    params(("sharelock-share" = String, Header, description = "b64u share id")),
    responses((status = 200, body = BindResponse), (status = 401, body = sharelock_api::ErrorBody),
              (status = 403, body = sharelock_api::ErrorBody), (status = 410, body = sharelock_api::ErrorBody)))]
pub async fn bind(
    State(state): State<AppState>,
    _limit: PerAddressLimit,
    req: Request,
) -> ApiResult<Json<BindResponse>> {
    // Signed by the key its body carries: check what needs no key before reading that (small) body.
    let now = state.now();
    let (parts, body) = req.into_parts();
    let signed = SignedHeaders::parse(&state, &parts, &body)?;
    signed.check_fresh(now)?;
    let body = signed
        .read_body(&state, BodyLimit::of(&parts.extensions), body)
        .await?;
    let body: BindRequest = parse_json(&body)?;
    let device_key = DevicePublicKey::from_sec1(body.device_key.as_slice())
        .map_err(|_| ApiError::malformed("device_key must be an uncompressed P-256 point"))?;
    // The new key signs its own bind, proving possession of the private key.
    signed.verify(&device_key, now)?;
    if body.bind_tag.len() != 32 {
        return Err(ApiError::malformed("bind_tag must be 32 bytes"));
    }
    let share_id = signed.share_id;
    let share = state
        .store
        .share_by_id(share_id.as_bytes())
        .await?
        .ok_or_else(unknown_share)?;
    ended_or_live(&share, now)?;
    let correct = verify_access_token(body.access.as_slice(), &share.token_hash);
    let (outcome, events) = if share.device_key.as_deref() == Some(device_key.as_bytes()) {
        // Signed by the key already bound: the share's own device, which the access-token backoff
        // (that anyone who saw the share id can keep busy) never holds up. Its T is still checked, and a
        // wrong one is not counted: guessing this way needs the device's private key.
        if !correct {
            return Err(wrong_passphrase());
        }
        state
            .store
            .bind(
                share_id.as_bytes(),
                &share.token_hash,
                device_key.as_bytes(),
                body.bind_tag.as_slice(),
                now,
            )
            .await?
    } else {
        // A new key: the attempt at T is counted and judged, and a right one binds, in one durable write
        // (as in `check_access`, a refused attempt's answer does not depend on T).
        if let Some(wait) =
            Backoff::ACCESS.retry_after(share.failed_attempts, share.last_failed_at, now)
        {
            return Err(ApiError::too_many(wait as u64));
        }
        let (attempt, outcome, events) = match state
            .store
            .bind_with_attempt(
                share_id.as_bytes(),
                correct,
                &share.token_hash,
                device_key.as_bytes(),
                body.bind_tag.as_slice(),
                now,
            )
            .await
        {
            Ok(answer) => answer,
            Err(StoreError::NotFound) => return Err(unknown_share()),
            Err(e) => return Err(e.into()),
        };
        state.publish(&events);
        if let Attempt::Wait { retry_after } = attempt {
            return Err(ApiError::too_many(retry_after.max(1) as u64));
        }
        match outcome {
            Some(outcome) => (outcome, Vec::new()),
            None => return Err(wrong_passphrase()),
        }
    };
    state.publish(&events);
    match outcome {
        BindOutcome::Bound => Ok(Json(BindResponse {
            expires_at: to_time(expiry_once_bound(&share, now)),
            fingerprint: fingerprint(device_key.as_bytes()),
        })),
        BindOutcome::AlreadyBound => {
            let bound = state
                .store
                .share_by_id(share_id.as_bytes())
                .await?
                .ok_or_else(unknown_share)?;
            Ok(Json(BindResponse {
                expires_at: to_time(bound.expires_at),
                fingerprint: fingerprint(device_key.as_bytes()),
            }))
        }
        BindOutcome::OtherDevice => Err(ApiError::new(
            ErrorCode::ShareBoundToOtherDevice,
            "this share was already opened on another device and can only be opened there",
        )),
        BindOutcome::Ended => Err(ApiError::share_ended()),
        BindOutcome::NotFound => Err(wrong_passphrase()),
    }
}

/// The expiry a share has once this request's bind (at `now`) won: burn-after-reading shortens it to
/// `now + burn_after`. The share was read unbound before the bind, and only a bind changes a share's expiry,
/// so this is what the bind's update wrote (docs/protocol.md §5.3), without reading the share again.
fn expiry_once_bound(share: &ShareRow, now: i64) -> i64 {
    match share.burn_after {
        Some(burn) => share.expires_at.min(now.saturating_add(burn)),
        None => share.expires_at,
    }
}

#[utoipa::path(get, path = "/api/v1/recipient/share", tag = "recipient",
    params(("sharelock-share" = String, Header, description = "b64u share id")),
    responses((status = 200, body = ShareView), (status = 401, body = sharelock_api::ErrorBody),
              (status = 403, body = sharelock_api::ErrorBody), (status = 410, body = sharelock_api::ErrorBody)))]
pub async fn fetch(
    State(state): State<AppState>,
    signed: DeviceSigned<RecipientView>,
) -> ApiResult<Json<ShareView>> {
    let now = signed.now;
    let share_id = *signed.share_id().as_bytes();
    let mut view = signed.view;
    if view.share.view_once {
        // Shown once: the view is read again in the transaction that ends the share, so of fetches
        // racing on any nodes exactly one is answered with the record (docs/protocol.md §4.4).
        let device_key = view.share.device_key.clone().unwrap_or_default();
        let (once, events) = state
            .store
            .recipient_view_once(&share_id, &device_key, now)
            .await?;
        state.publish(&events);
        view = once;
    }
    let wrapped_key = view
        .share
        .wrapped_key
        .clone()
        .ok_or_else(ApiError::share_ended)?;
    // Last-access time and the open count are bookkeeping, kept to the minute: a durable write on every
    // fetch would put the hot read path behind the single writer (measured in docs/benchmarks.md). The
    // reader does not wait; the store counts an open only if the access it finds is that old.
    if view
        .share
        .last_access_at
        .is_none_or(|last| now - last >= OPEN_GAP_SECS)
    {
        let store = state.store.clone();
        tokio::spawn(async move {
            if let Err(e) = store.touch_share(&share_id, now).await {
                tracing::warn!(error = %e, "could not record a share's last access");
            }
        });
    }
    Ok(Json(ShareView {
        record_id: view.share.record_id,
        version: view.version,
        key_gen: view.key_gen,
        envelope: view.envelope.into(),
        wrapped_key: wrapped_key.into(),
        editable: view.share.editable,
        expires_at: to_time(view.share.expires_at),
        view_once: view.share.view_once,
        request: view
            .share
            .request
            .map(crate::handlers::shares::request_spec),
        edit_count: view.share.edit_count,
        preface: view.share.preface.map(Into::into),
        destroy_at: view.share.destroy_at.map(to_time),
    }))
}

#[utoipa::path(post, path = "/api/v1/recipient/edit", tag = "recipient", request_body = EditRequest,
    params(("sharelock-share" = String, Header, description = "b64u share id")),
    responses((status = 200, body = VersionWritten), (status = 400, body = sharelock_api::ErrorBody),
              (status = 401, body = sharelock_api::ErrorBody), (status = 403, body = sharelock_api::ErrorBody),
              (status = 409, body = sharelock_api::ErrorBody), (status = 410, body = sharelock_api::ErrorBody)))]
pub async fn edit(
    State(state): State<AppState>,
    mut signed: DeviceSigned<RecipientView>,
) -> ApiResult<Json<VersionWritten>> {
    let now = signed.now;
    if !signed.share().editable {
        return Err(ApiError::new(
            ErrorCode::ShareNotEditable,
            "this share is read-only",
        ));
    }
    let body: EditRequest = signed.json(&state).await?;
    let change = signed.change();
    let share_id = *signed.share_id();
    let view = signed.view;
    let envelope = versions::parse(body.envelope.as_slice(), state.config.max_envelope_bytes)?;
    if let Some(e) = conflict(
        body.base_version,
        envelope.header.k,
        view.version,
        view.key_gen,
    ) {
        return Err(e);
    }
    let expected = Expected {
        record_id: view.share.record_id,
        key_gen: view.key_gen,
        version: view.version + 1,
        prev_envelope: &view.envelope,
        author: EnvelopeAuthor::Share(share_id),
    };
    let checked = versions::check(
        body.envelope.into_vec(),
        &expected,
        state.config.max_envelope_bytes,
    )?;
    if body.signature.len() != SIGNATURE_LEN {
        return Err(ApiError::malformed("signature must be 64 bytes"));
    }
    let device_key = view
        .share
        .device_key
        .as_deref()
        .ok_or_else(ApiError::internal)?;
    let device_key = DevicePublicKey::from_sec1(device_key).map_err(|_| ApiError::internal())?;
    checked
        .envelope
        .verify_edit(&device_key, body.signature.as_slice())
        .map_err(|_| {
            ApiError::new(
                ErrorCode::InvalidSignature,
                "the edit signature does not verify",
            )
        })?;
    let version = new_version(
        checked,
        body.signature.into_vec(),
        Author::Share(view.share.handle),
        now,
    );
    let written = VersionWritten {
        version: version.version,
        key_gen: version.key_gen,
    };
    let events = state
        .store
        .recipient_edit(change, body.base_version, version)
        .await
        .map_err(ended_as_410)?;
    state.publish(&events);
    Ok(Json(written))
}

fn ended_as_410(e: StoreError) -> ApiError {
    match e {
        StoreError::NotFound => unknown_share(),
        other => other.into(),
    }
}

#[utoipa::path(post, path = "/api/v1/recipient/end", tag = "recipient", request_body = EndRequest,
    params(("sharelock-share" = String, Header, description = "b64u share id")),
    responses((status = 204), (status = 401, body = sharelock_api::ErrorBody),
              (status = 403, body = sharelock_api::ErrorBody), (status = 410, body = sharelock_api::ErrorBody)))]
pub async fn end(
    State(state): State<AppState>,
    mut signed: DeviceSigned<ShareRow>,
) -> ApiResult<StatusCode> {
    let _: EndRequest = signed.json(&state).await?;
    let (_, events) = state
        .store
        .recipient_end(signed.change())
        .await
        .map_err(ended_as_410)?;
    state.publish(&events);
    Ok(StatusCode::NO_CONTENT)
}
