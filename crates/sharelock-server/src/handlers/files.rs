//! Encrypted file streams attached to records: uploaded in numbered parts (at most 16 MiB each, so any
//! node can take any part), completed with the part count and size, downloaded as one stream.
//! The owner uploads through the vault routes; a recipient of an editable share through signed requests.

use crate::body::{self, BodyLimit, ReadBody};
use crate::error::{ApiError, ApiResult};
use crate::extract::{ApiJson, ApiPath, Owner};
use crate::signed::DeviceSigned;
use crate::state::AppState;
use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use futures::TryStreamExt;
use sharelock_api::ErrorCode;
use sharelock_api::files::{CompleteFile, MAX_PART_BYTES};
use sharelock_store::{Author, PartBlob, ShareRow, StoreError};
use uuid::Uuid;

/// Parts per file: with 16 MiB parts this allows files far beyond any configured limit.
const MAX_PARTS: u32 = 65_536;

/// Checks a part number before its body is read.
fn check_part_number(state: &AppState, part: u32) -> ApiResult<()> {
    if part >= MAX_PARTS {
        return Err(ApiError::malformed(format!(
            "part numbers run from 0 to {}",
            MAX_PARTS - 1
        )));
    }
    if (part as u64) * (MAX_PART_BYTES as u64) >= state.config.max_file_bytes {
        return Err(ApiError::new(
            ErrorCode::PayloadTooLarge,
            "the file exceeds this server's size limit",
        ));
    }
    Ok(())
}

fn check_part_bytes(bytes: &[u8]) -> ApiResult<()> {
    if bytes.is_empty() {
        return Err(ApiError::malformed("a part must not be empty"));
    }
    if bytes.len() > MAX_PART_BYTES {
        return Err(ApiError::new(
            ErrorCode::PayloadTooLarge,
            "a part may hold at most 16 MiB",
        ));
    }
    Ok(())
}

fn check_complete(state: &AppState, done: &CompleteFile) -> ApiResult<()> {
    if done.parts == 0 || done.parts > MAX_PARTS {
        return Err(ApiError::malformed("parts must be between 1 and 65536"));
    }
    if done.size > state.config.max_file_bytes {
        return Err(ApiError::new(
            ErrorCode::PayloadTooLarge,
            "the file exceeds this server's size limit",
        ));
    }
    Ok(())
}

fn blob_unavailable() -> ApiError {
    ApiError::new(
        ErrorCode::Unavailable,
        "file storage is unavailable; try again",
    )
}

/// One part write: reserved in the store (upload registered, quotas counted), stored under a key of
/// its own, then attached as the part's bytes. A write refused at attachment (the file was completed
/// meanwhile) never becomes readable: the completed file keeps the bytes it was completed with.
async fn upload_part(
    state: &AppState,
    record: Uuid,
    file: Uuid,
    part: u32,
    by: Author,
    bytes: &ReadBody,
) -> ApiResult<()> {
    check_part_bytes(bytes)?;
    let write = PartBlob {
        record,
        file,
        part,
        write: Uuid::new_v4(),
    };
    let size = bytes.len() as u64;
    state
        .store
        .reserve_part(write, size, by, state.config.upload_limits(), state.now())
        .await
        .map_err(|e| match e {
            StoreError::AlreadyExists => {
                ApiError::new(ErrorCode::AlreadyExists, "this file id is already in use")
            }
            StoreError::NotFound => ApiError::not_found("record"),
            other => other.into(),
        })?;
    if let Err(e) = state.blobs.put_part(&write, bytes.bytes().clone()).await {
        tracing::error!(error = %e, "blob write failed");
        // The reservation stops counting; whatever was stored goes with the garbage.
        if let Err(e) = state.store.discard_part(write, state.now()).await {
            tracing::warn!(error = %e, "could not discard a failed part write");
        }
        return Err(blob_unavailable());
    }
    match state.store.attach_part(write, state.now()).await {
        Ok(replaced) => {
            delete_garbage(state, replaced.into_iter().collect()).await;
            Ok(())
        }
        Err(e) => {
            delete_garbage(state, vec![write]).await;
            Err(match e {
                StoreError::AlreadyExists => ApiError::new(
                    ErrorCode::AlreadyExists,
                    "this file was completed; it can no longer change",
                ),
                StoreError::NotFound => ApiError::not_found("file upload"),
                other => other.into(),
            })
        }
    }
}

/// What became of garbage handed to [`delete_garbage`].
#[derive(Debug, Default)]
pub struct GarbageDeleted {
    /// Blobs deleted and forgotten by the store.
    pub forgotten: usize,
    /// Blobs whose deletion failed: still listed.
    pub failed: Vec<PartBlob>,
    /// The blobs were deleted but the store could not forget them (they are listed again; deleting
    /// a missing blob is fine).
    pub forget_failed: bool,
}

/// Deletes blobs the store has listed as garbage, then forgets those deleted. A blob that could not be
/// deleted stays listed; the sweeper tries again.
pub async fn delete_garbage(state: &AppState, blobs: Vec<PartBlob>) -> GarbageDeleted {
    let mut outcome = GarbageDeleted::default();
    if blobs.is_empty() {
        return outcome;
    }
    let mut deleted = Vec::with_capacity(blobs.len());
    for blob in blobs {
        match state.blobs.delete_part(&blob).await {
            Ok(()) => deleted.push(blob),
            Err(e) => {
                tracing::warn!(error = %e, "could not delete a blob; tried again later");
                outcome.failed.push(blob);
            }
        }
    }
    let n = deleted.len();
    match state.store.forget_garbage(deleted).await {
        Ok(()) => outcome.forgotten = n,
        Err(e) => {
            // Deleting a missing blob is fine, so forgetting later repeats nothing harmful.
            tracing::warn!(error = %e, "could not forget deleted blobs");
            outcome.forget_failed = true;
        }
    }
    outcome
}

async fn complete(
    state: &AppState,
    record: Uuid,
    file: Uuid,
    by: Author,
    done: CompleteFile,
) -> ApiResult<()> {
    check_complete(state, &done)?;
    let events = state
        .store
        .complete_file(record, file, by, done.parts, done.size, state.now())
        .await
        .map_err(|e| match e {
            StoreError::NotFound => ApiError::not_found("file upload"),
            StoreError::AlreadyExists => ApiError::new(
                ErrorCode::AlreadyExists,
                "this file was already completed with other totals",
            ),
            other => other.into(),
        })?;
    state.publish(&events);
    Ok(())
}

async fn download(state: &AppState, record: Uuid, file: Uuid) -> ApiResult<Response> {
    let row = state
        .store
        .file(record, file)
        .await?
        .filter(|f| f.complete)
        .ok_or_else(|| ApiError::not_found("file"))?;
    // A completed file's parts never change, so reading them after the row is consistent.
    let parts = state.store.file_parts(record, file).await?;
    if parts.len() as u64 != u64::from(row.parts) {
        // The record was deleted between the two reads.
        return Err(ApiError::not_found("file"));
    }
    let stream = state.blobs.open(parts).map_err(std::io::Error::other);
    Ok((
        StatusCode::OK,
        [
            (header::CONTENT_TYPE, "application/octet-stream".to_string()),
            (header::CONTENT_LENGTH, row.size.to_string()),
        ],
        Body::from_stream(stream),
    )
        .into_response())
}

async fn owned_record(state: &AppState, owner: &Owner, record: Uuid) -> ApiResult<()> {
    state
        .store
        .record(owner.account_id, record)
        .await?
        .ok_or_else(|| ApiError::not_found("record"))?;
    Ok(())
}

#[utoipa::path(put, path = "/api/v1/records/{id}/files/{file}/parts/{part}", tag = "files",
    params(("id" = Uuid, Path), ("file" = Uuid, Path), ("part" = u32, Path)),
    request_body(content = Vec<u8>, content_type = "application/octet-stream"),
    responses((status = 204), (status = 409, body = sharelock_api::ErrorBody), (status = 413, body = sharelock_api::ErrorBody)),
    security(("bearer" = [])))]
pub async fn owner_put_part(
    State(state): State<AppState>,
    owner: Owner,
    ApiPath((record, file, part)): ApiPath<(Uuid, Uuid, u32)>,
    req: Request,
) -> ApiResult<StatusCode> {
    owned_record(&state, &owner, record).await?;
    check_part_number(&state, part)?;
    let limit = BodyLimit::of(req.extensions());
    let bytes = body::read(&state.bounds, limit, req.into_body(), None).await?;
    upload_part(&state, record, file, part, Author::Owner, &bytes).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(post, path = "/api/v1/records/{id}/files/{file}/complete", tag = "files",
    params(("id" = Uuid, Path), ("file" = Uuid, Path)), request_body = CompleteFile,
    responses((status = 204), (status = 400, body = sharelock_api::ErrorBody)), security(("bearer" = [])))]
pub async fn owner_complete(
    State(state): State<AppState>,
    owner: Owner,
    ApiPath((record, file)): ApiPath<(Uuid, Uuid)>,
    ApiJson(done): ApiJson<CompleteFile>,
) -> ApiResult<StatusCode> {
    owned_record(&state, &owner, record).await?;
    complete(&state, record, file, Author::Owner, done).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(get, path = "/api/v1/records/{id}/files/{file}", tag = "files",
    params(("id" = Uuid, Path), ("file" = Uuid, Path)),
    responses((status = 200, content_type = "application/octet-stream"), (status = 404, body = sharelock_api::ErrorBody)),
    security(("bearer" = [])))]
pub async fn owner_get(
    State(state): State<AppState>,
    owner: Owner,
    ApiPath((record, file)): ApiPath<(Uuid, Uuid)>,
) -> ApiResult<Response> {
    owned_record(&state, &owner, record).await?;
    download(&state, record, file).await
}

fn require_editable(share: &ShareRow) -> ApiResult<()> {
    if share.editable {
        Ok(())
    } else {
        Err(ApiError::new(
            ErrorCode::ShareNotEditable,
            "this share is read-only",
        ))
    }
}

#[utoipa::path(put, path = "/api/v1/recipient/files/{file}/parts/{part}", tag = "recipient",
    params(("file" = Uuid, Path), ("part" = u32, Path), ("sharelock-share" = String, Header)),
    request_body(content = Vec<u8>, content_type = "application/octet-stream"),
    responses((status = 204), (status = 403, body = sharelock_api::ErrorBody), (status = 409, body = sharelock_api::ErrorBody),
              (status = 410, body = sharelock_api::ErrorBody), (status = 413, body = sharelock_api::ErrorBody)))]
pub async fn recipient_put_part(
    State(state): State<AppState>,
    ApiPath((file, part)): ApiPath<(Uuid, u32)>,
    mut signed: DeviceSigned<ShareRow>,
) -> ApiResult<StatusCode> {
    require_editable(signed.share())?;
    check_part_number(&state, part)?;
    let bytes = signed.body(&state).await?;
    check_part_bytes(&bytes)?;
    state.store.use_nonce(signed.change()).await?;
    let share = signed.share();
    upload_part(
        &state,
        share.record_id,
        file,
        part,
        Author::Share(share.handle),
        &bytes,
    )
    .await?;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(post, path = "/api/v1/recipient/files/{file}/complete", tag = "recipient",
    params(("file" = Uuid, Path), ("sharelock-share" = String, Header)), request_body = CompleteFile,
    responses((status = 204), (status = 403, body = sharelock_api::ErrorBody), (status = 410, body = sharelock_api::ErrorBody)))]
pub async fn recipient_complete(
    State(state): State<AppState>,
    ApiPath(file): ApiPath<Uuid>,
    mut signed: DeviceSigned<ShareRow>,
) -> ApiResult<StatusCode> {
    require_editable(signed.share())?;
    let done: CompleteFile = signed.json(&state).await?;
    state.store.use_nonce(signed.change()).await?;
    let share = signed.share();
    complete(
        &state,
        share.record_id,
        file,
        Author::Share(share.handle),
        done,
    )
    .await?;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(get, path = "/api/v1/recipient/files/{file}", tag = "recipient",
    params(("file" = Uuid, Path), ("sharelock-share" = String, Header)),
    responses((status = 200, content_type = "application/octet-stream"), (status = 404, body = sharelock_api::ErrorBody),
              (status = 410, body = sharelock_api::ErrorBody)))]
pub async fn recipient_get(
    State(state): State<AppState>,
    ApiPath(file): ApiPath<Uuid>,
    signed: DeviceSigned<ShareRow>,
) -> ApiResult<Response> {
    download(&state, signed.share().record_id, file).await
}
