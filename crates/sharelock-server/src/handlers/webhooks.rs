//! `/api/v1/webhooks*`: the owner's signed webhook endpoints (docs/protocol.md §9.9). Deliveries are
//! made by [`crate::webhooks`], from the outbox the event path fills.

use crate::error::{ApiError, ApiResult};
use crate::extract::{ApiJson, ApiPath, Owner};
use crate::handlers::to_time;
use crate::state::AppState;
use crate::webhooks::{Egress, check_url};
use axum::Json;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use serde::Deserialize;
use sharelock_api::ErrorCode;
use sharelock_api::webhooks::{
    AttemptInfo, CreateWebhook, DeliveryInfo, DeliveryList, DeliveryState as ApiState,
    MAX_DELIVERIES, MAX_KINDS, PingQueued, WebhookCreated, WebhookInfo, WebhookList,
};
use sharelock_store::{
    DeliveryState, EventKind, NewWebhook, StoreError, Wakeup, Webhook, WebhookDelivery,
};
use uuid::Uuid;

fn info(w: Webhook) -> WebhookInfo {
    WebhookInfo {
        id: w.id,
        url: w.url,
        kinds: w.kinds,
        created_at: to_time(w.created_at),
    }
}

fn delivery(d: WebhookDelivery) -> DeliveryInfo {
    DeliveryInfo {
        id: d.id,
        event_id: d.event_id,
        kind: d.kind,
        share: d.share,
        record: d.record,
        at: to_time(d.at),
        state: match d.state {
            DeliveryState::Pending => ApiState::Pending,
            DeliveryState::Delivered => ApiState::Delivered,
            DeliveryState::Failed => ApiState::Failed,
        },
        attempts: d.attempts,
        next_attempt_at: d.due_at.map(to_time),
        finished_at: d.finished_at.map(to_time),
        log: d
            .log
            .into_iter()
            .map(|a| AttemptInfo {
                n: a.n,
                started_at: to_time(a.started_at),
                finished_at: a.finished_at.map(to_time),
                status: a.status,
                error: a.error,
                next_attempt_at: a.next_at.map(to_time),
            })
            .collect(),
    }
}

/// The kinds asked for, checked against the event kinds this server raises, sorted, without repeats.
fn checked_kinds(kinds: Vec<String>) -> ApiResult<Vec<String>> {
    if kinds.is_empty() || kinds.len() > MAX_KINDS {
        return Err(ApiError::malformed(format!(
            "kinds must name 1 to {MAX_KINDS} event kinds"
        )));
    }
    if let Some(i) = kinds.iter().position(|k| EventKind::parse(k).is_none()) {
        let known: Vec<&str> = EventKind::ALL.iter().map(|k| k.as_str()).collect();
        return Err(ApiError::malformed(format!(
            "kinds[{i}] is not an event kind (one of {})",
            known.join(", ")
        )));
    }
    let mut kinds = kinds;
    kinds.sort();
    kinds.dedup();
    Ok(kinds)
}

/// `whsec_` and 32 random bytes in base64url.
fn new_secret() -> ApiResult<String> {
    let mut bytes = [0u8; 32];
    aws_lc_rs::rand::fill(&mut bytes).map_err(|_| ApiError::internal())?;
    Ok(format!(
        "{}{}",
        sharelock_core::webhook::SECRET_PREFIX,
        data_encoding::BASE64URL_NOPAD.encode(&bytes)
    ))
}

/// Registers an endpoint. The answer carries its signing secret, which is never shown again.
#[utoipa::path(post, path = "/api/v1/webhooks", tag = "webhooks",
    request_body = CreateWebhook,
    responses((status = 201, body = WebhookCreated), (status = 400, body = sharelock_api::ErrorBody),
              (status = 429, body = sharelock_api::ErrorBody)),
    security(("bearer" = [])))]
pub async fn create(
    State(state): State<AppState>,
    owner: Owner,
    ApiJson(req): ApiJson<CreateWebhook>,
) -> ApiResult<(StatusCode, Json<WebhookCreated>)> {
    let url = check_url(&req.url, Egress::from_config(&state.config))
        .map_err(|e| ApiError::new(ErrorCode::WebhookUrlNotAllowed, e.to_string()))?;
    let kinds = checked_kinds(req.kinds)?;
    let secret = new_secret()?;
    let hook = NewWebhook {
        id: Uuid::new_v4(),
        account: owner.account_id,
        url: url.to_string(),
        kinds,
        secret: secret.clone().into_bytes(),
        created_at: state.now(),
    };
    let webhook = Webhook {
        id: hook.id,
        account_id: hook.account,
        url: hook.url.clone(),
        kinds: hook.kinds.clone(),
        created_at: hook.created_at,
    };
    state
        .store
        .create_webhook(hook, state.config.webhook_max_endpoints)
        .await?;
    Ok((
        StatusCode::CREATED,
        Json(WebhookCreated {
            webhook: info(webhook),
            secret,
        }),
    ))
}

#[utoipa::path(get, path = "/api/v1/webhooks", tag = "webhooks",
    responses((status = 200, body = WebhookList), (status = 401, body = sharelock_api::ErrorBody)),
    security(("bearer" = [])))]
pub async fn list(State(state): State<AppState>, owner: Owner) -> ApiResult<Json<WebhookList>> {
    let hooks = state.store.webhooks(owner.account_id).await?;
    Ok(Json(WebhookList {
        webhooks: hooks.into_iter().map(info).collect(),
    }))
}

/// Removes an endpoint with its pending and past deliveries.
#[utoipa::path(delete, path = "/api/v1/webhooks/{id}", tag = "webhooks",
    params(("id" = Uuid, Path, description = "endpoint id")),
    responses((status = 204, description = "removed"), (status = 404, body = sharelock_api::ErrorBody)),
    security(("bearer" = [])))]
pub async fn delete(
    State(state): State<AppState>,
    owner: Owner,
    ApiPath(id): ApiPath<Uuid>,
) -> ApiResult<StatusCode> {
    state
        .store
        .delete_webhook(owner.account_id, id)
        .await
        .map_err(not_found)?;
    Ok(StatusCode::NO_CONTENT)
}

fn not_found(e: StoreError) -> ApiError {
    match e {
        StoreError::NotFound => ApiError::not_found("webhook"),
        other => other.into(),
    }
}

/// Queues a signed `ping` delivery to the endpoint, attempted at once; its outcome is listed with the
/// deliveries.
#[utoipa::path(post, path = "/api/v1/webhooks/{id}/ping", tag = "webhooks",
    params(("id" = Uuid, Path, description = "endpoint id")),
    responses((status = 202, body = PingQueued), (status = 404, body = sharelock_api::ErrorBody)),
    security(("bearer" = [])))]
pub async fn ping(
    State(state): State<AppState>,
    owner: Owner,
    ApiPath(id): ApiPath<Uuid>,
) -> ApiResult<(StatusCode, Json<PingQueued>)> {
    let delivery = state
        .store
        .ping_webhook(owner.account_id, id, state.now())
        .await
        .map_err(not_found)?;
    // Wakes this node's delivery worker (and the account's streams, which find nothing new).
    state.wake(Wakeup::Account(owner.account_id));
    Ok((StatusCode::ACCEPTED, Json(PingQueued { delivery })))
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct DeliveriesQuery {
    /// How many of the newest deliveries (1 to 100, default 50).
    pub limit: Option<u32>,
}

/// The endpoint's newest deliveries, newest first, each with every attempt's outcome.
#[utoipa::path(get, path = "/api/v1/webhooks/{id}/deliveries", tag = "webhooks",
    params(("id" = Uuid, Path, description = "endpoint id"), DeliveriesQuery),
    responses((status = 200, body = DeliveryList), (status = 404, body = sharelock_api::ErrorBody)),
    security(("bearer" = [])))]
pub async fn deliveries(
    State(state): State<AppState>,
    owner: Owner,
    ApiPath(id): ApiPath<Uuid>,
    query: Result<Query<DeliveriesQuery>, axum::extract::rejection::QueryRejection>,
) -> ApiResult<Json<DeliveryList>> {
    let Query(query) = query.map_err(|_| {
        ApiError::malformed("the only query parameter is `limit`, a number from 1 to 100")
    })?;
    let limit = query.limit.unwrap_or(50);
    if !(1..=MAX_DELIVERIES).contains(&limit) {
        return Err(ApiError::malformed("limit must be from 1 to 100"));
    }
    let list = state
        .store
        .webhook_deliveries(owner.account_id, id, limit)
        .await?
        .ok_or_else(|| ApiError::not_found("webhook"))?;
    Ok(Json(DeliveryList {
        deliveries: list.into_iter().map(delivery).collect(),
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_are_checked_sorted_and_unique() {
        assert_eq!(
            checked_kinds(vec![
                "share_opened".into(),
                "file_added".into(),
                "share_opened".into()
            ])
            .ok(),
            Some(vec!["file_added".to_owned(), "share_opened".to_owned()])
        );
        assert!(checked_kinds(vec![]).is_err());
        assert!(checked_kinds(vec!["share_opened".into(), "ping".into()]).is_err());
        assert!(checked_kinds(vec!["share_opened".into(); MAX_KINDS + 1]).is_err());
    }

    #[test]
    fn secrets_are_fresh_and_prefixed() {
        let (a, b) = (new_secret().ok(), new_secret().ok());
        assert_ne!(a, b);
        let a = a.unwrap_or_default();
        assert!(a.starts_with("whsec_") && a.len() == 6 + 43, "{a}");
    }
}
