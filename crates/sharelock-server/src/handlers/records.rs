//! The owner's encrypted vault: records and their versions.

use crate::error::{ApiError, ApiResult};
use crate::extract::{ApiJson, ApiPath, Owner};
use crate::handlers::{api_author, to_time};
use crate::state::AppState;
use crate::versions::{
    self, Expected, OWNER_TAG_LEN, WRAPPED_KEY_LEN, checked_rotation, conflict, new_version,
};
use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use sharelock_api::records::{
    CreateRecord, History, KeyEntry, LIST_ENVELOPE_BYTES, ListedRecord, Record, RecordHead,
    RecordList, Rotation, UpdateRecord, VersionEntry, VersionWritten,
};
use sharelock_core::envelope::Author as EnvelopeAuthor;
use sharelock_store::{Author, NewRecord};
use uuid::Uuid;

fn api_head(head: sharelock_store::RecordHead) -> RecordHead {
    RecordHead {
        id: head.id,
        version: head.version,
        key_gen: head.key_gen,
        wrapped_key: head.wrapped_key.into(),
        summary: head.summary.into(),
        author: api_author(head.author),
        created_at: to_time(head.created_at),
        updated_at: to_time(head.updated_at),
        rotate_pending: head.rotate_pending,
    }
}

fn owner_tag(proof: &sharelock_api::B64) -> ApiResult<Vec<u8>> {
    if proof.len() != OWNER_TAG_LEN {
        return Err(ApiError::malformed("proof must be a 32-byte owner tag"));
    }
    Ok(proof.as_slice().to_vec())
}

#[utoipa::path(get, path = "/api/v1/records", tag = "records",
    responses((status = 200, body = RecordList), (status = 401, body = sharelock_api::ErrorBody)),
    security(("bearer" = [])))]
pub async fn list(State(state): State<AppState>, owner: Owner) -> ApiResult<Json<RecordList>> {
    let listed = state
        .store
        .list_records(owner.account_id, LIST_ENVELOPE_BYTES)
        .await?;
    Ok(Json(RecordList {
        records: listed
            .into_iter()
            .map(|l| ListedRecord {
                head: api_head(l.head),
                envelope: l.envelope.map(Into::into),
                proof: l.proof.map(Into::into),
            })
            .collect(),
    }))
}

#[utoipa::path(post, path = "/api/v1/records", tag = "records", request_body = CreateRecord,
    responses((status = 201, body = VersionWritten), (status = 400, body = sharelock_api::ErrorBody),
              (status = 409, body = sharelock_api::ErrorBody), (status = 413, body = sharelock_api::ErrorBody)),
    security(("bearer" = [])))]
pub async fn create(
    State(state): State<AppState>,
    owner: Owner,
    ApiJson(req): ApiJson<CreateRecord>,
) -> ApiResult<(StatusCode, Json<VersionWritten>)> {
    let proof = owner_tag(&req.proof)?;
    if req.wrapped_key.len() != WRAPPED_KEY_LEN {
        return Err(ApiError::malformed(
            "wrapped_key must be a 60-byte sealed key",
        ));
    }
    let expected = Expected {
        record_id: req.id,
        key_gen: 1,
        version: 1,
        prev_envelope: &[],
        author: EnvelopeAuthor::Owner,
    };
    let checked = versions::check(
        req.envelope.into_vec(),
        &expected,
        state.config.max_envelope_bytes,
    )?;
    let now = state.now();
    let record = NewRecord {
        id: req.id,
        wrapped_key: req.wrapped_key.into_vec(),
        first: new_version(checked, proof, Author::Owner, now),
    };
    state.store.create_record(owner.account_id, record).await?;
    Ok((
        StatusCode::CREATED,
        Json(VersionWritten {
            version: 1,
            key_gen: 1,
        }),
    ))
}

#[utoipa::path(get, path = "/api/v1/records/{id}", tag = "records",
    params(("id" = Uuid, Path, description = "record id")),
    responses((status = 200, body = Record), (status = 404, body = sharelock_api::ErrorBody)),
    security(("bearer" = [])))]
pub async fn get(
    State(state): State<AppState>,
    owner: Owner,
    ApiPath(id): ApiPath<Uuid>,
) -> ApiResult<Json<Record>> {
    let current = state
        .store
        .record(owner.account_id, id)
        .await?
        .ok_or_else(|| ApiError::not_found("record"))?;
    Ok(Json(Record {
        head: api_head(current.head),
        envelope: current.envelope.into(),
        proof: current.proof.into(),
    }))
}

#[utoipa::path(put, path = "/api/v1/records/{id}", tag = "records",
    params(("id" = Uuid, Path, description = "record id")), request_body = UpdateRecord,
    responses((status = 200, body = VersionWritten), (status = 400, body = sharelock_api::ErrorBody),
              (status = 404, body = sharelock_api::ErrorBody), (status = 409, body = sharelock_api::ErrorBody)),
    security(("bearer" = [])))]
pub async fn update(
    State(state): State<AppState>,
    owner: Owner,
    ApiPath(id): ApiPath<Uuid>,
    ApiJson(req): ApiJson<UpdateRecord>,
) -> ApiResult<Json<VersionWritten>> {
    let proof = owner_tag(&req.proof)?;
    let current = state
        .store
        .record(owner.account_id, id)
        .await?
        .ok_or_else(|| ApiError::not_found("record"))?;
    let head = &current.head;
    let envelope = versions::parse(req.envelope.as_slice(), state.config.max_envelope_bytes)?;
    if let Some(e) = conflict(
        req.base_version,
        envelope.header.k,
        head.version,
        head.key_gen,
    ) {
        return Err(e);
    }
    let expected = Expected {
        record_id: id,
        key_gen: head.key_gen,
        version: head.version + 1,
        prev_envelope: &current.envelope,
        author: EnvelopeAuthor::Owner,
    };
    let checked = versions::check(
        req.envelope.into_vec(),
        &expected,
        state.config.max_envelope_bytes,
    )?;
    let version = new_version(checked, proof, Author::Owner, state.now());
    let written = VersionWritten {
        version: version.version,
        key_gen: version.key_gen,
    };
    state
        .store
        .update_record(owner.account_id, id, req.base_version, version)
        .await?;
    Ok(Json(written))
}

#[utoipa::path(post, path = "/api/v1/records/{id}/rotate", tag = "records",
    params(("id" = Uuid, Path, description = "record id")), request_body = Rotation,
    responses((status = 200, body = VersionWritten), (status = 400, body = sharelock_api::ErrorBody),
              (status = 404, body = sharelock_api::ErrorBody), (status = 409, body = sharelock_api::ErrorBody)),
    security(("bearer" = [])))]
pub async fn rotate(
    State(state): State<AppState>,
    owner: Owner,
    ApiPath(id): ApiPath<Uuid>,
    ApiJson(req): ApiJson<Rotation>,
) -> ApiResult<Json<VersionWritten>> {
    let now = state.now();
    let rotation = checked_rotation(&state, owner.account_id, id, req, now).await?;
    let written = VersionWritten {
        version: rotation.version.version,
        key_gen: rotation.version.key_gen,
    };
    state
        .store
        .rotate_record(owner.account_id, id, rotation)
        .await?;
    Ok(Json(written))
}

#[utoipa::path(delete, path = "/api/v1/records/{id}", tag = "records",
    params(("id" = Uuid, Path, description = "record id")),
    responses((status = 204), (status = 404, body = sharelock_api::ErrorBody)),
    security(("bearer" = [])))]
pub async fn delete(
    State(state): State<AppState>,
    owner: Owner,
    ApiPath(id): ApiPath<Uuid>,
) -> ApiResult<StatusCode> {
    let (files, events) = state
        .store
        .delete_record(owner.account_id, id, state.now())
        .await
        .map_err(|e| match e {
            sharelock_store::StoreError::NotFound => ApiError::not_found("record"),
            other => other.into(),
        })?;
    state.publish(&events);
    for file in files {
        // The rows are gone, so the blobs are unreachable; a failure here only leaves garbage behind.
        if let Err(e) = state.blobs.delete_file(id, file).await {
            tracing::warn!(error = %e, "could not delete a file blob of a deleted record");
        }
    }
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(get, path = "/api/v1/records/{id}/history", tag = "records",
    params(("id" = Uuid, Path, description = "record id")),
    responses((status = 200, body = History), (status = 404, body = sharelock_api::ErrorBody)),
    security(("bearer" = [])))]
pub async fn history(
    State(state): State<AppState>,
    owner: Owner,
    ApiPath(id): ApiPath<Uuid>,
) -> ApiResult<Json<History>> {
    let history = state
        .store
        .history(owner.account_id, id)
        .await?
        .ok_or_else(|| ApiError::not_found("record"))?;
    Ok(Json(History {
        versions: history
            .versions
            .into_iter()
            .map(|v| VersionEntry {
                version: v.version,
                key_gen: v.key_gen,
                envelope: v.envelope.into(),
                proof: v.proof.into(),
                author: api_author(v.author),
                created_at: to_time(v.created_at),
            })
            .collect(),
        keys: history
            .keys
            .into_iter()
            .map(|(k, w)| KeyEntry {
                key_gen: k,
                wrapped_key: w.into(),
            })
            .collect(),
    }))
}
