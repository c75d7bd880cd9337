//! The admin API: the operations of `sharelock admin` over HTTP, for an operator holding the admin token.
//! Off (404) unless `admin_token` is configured. The token travels only in `Authorization: Bearer`, is
//! compared in constant time, and a wrong one counts against the per-address limit like a failed login.

use crate::admin::{self, AdminError, Via};
use crate::error::{ApiError, ApiResult};
use crate::extract::ApiJson;
use crate::ratelimit::PerAddressLimit;
use crate::state::AppState;
use axum::Json;
use axum::extract::{FromRequestParts, State};
use axum::http::{header, request::Parts};
use secrecy::ExposeSecret;
use sharelock_api::ErrorCode;
use sharelock_api::admin::{
    AccountChanged, AccountDeleted, AccountRef, AdminAccounts, AdminInvites, CreateInvite,
    EffectiveConfig, InviteCreated, InviteRef, InviteRevoked,
};
use sharelock_core::crypto::{ct_eq, sha256};

/// A request carrying the configured admin token. Extract it after [`PerAddressLimit`].
pub struct AdminAuth;

impl FromRequestParts<AppState> for AdminAuth {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let Some(expected) = &state.config.admin_token else {
            return Err(ApiError::new(
                ErrorCode::NotFound,
                "the admin API is off: no admin token is configured",
            ));
        };
        let given = parts
            .headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .map(str::trim)
            .unwrap_or_default();
        // Both sides hashed first, so the comparison takes the same time whatever the lengths.
        let right = ct_eq(
            &sha256(given.as_bytes()),
            &sha256(expected.expose_secret().as_bytes()),
        );
        if !right || given.is_empty() {
            return Err(ApiError::new(
                ErrorCode::AdminUnauthorized,
                "the admin API needs Authorization: Bearer <admin token>",
            ));
        }
        Ok(AdminAuth)
    }
}

impl From<AdminError> for ApiError {
    fn from(e: AdminError) -> Self {
        match e {
            AdminError::NotFound(what) => ApiError::not_found(what),
            AdminError::Invalid(message) => ApiError::malformed(message),
            AdminError::Store(e) => e.into(),
        }
    }
}

#[utoipa::path(get, path = "/api/v1/admin/accounts", tag = "admin",
    responses((status = 200, body = AdminAccounts), (status = 401, body = sharelock_api::ErrorBody),
              (status = 404, body = sharelock_api::ErrorBody, description = "not_found: the admin API is off")),
    security(("admin" = [])))]
pub async fn accounts(
    State(state): State<AppState>,
    _limit: PerAddressLimit,
    _admin: AdminAuth,
) -> ApiResult<Json<AdminAccounts>> {
    let accounts = admin::accounts(state.store.as_ref(), state.now()).await?;
    Ok(Json(AdminAccounts { accounts }))
}

#[utoipa::path(post, path = "/api/v1/admin/accounts/disable", tag = "admin", request_body = AccountRef,
    responses((status = 200, body = AccountChanged), (status = 401, body = sharelock_api::ErrorBody),
              (status = 404, body = sharelock_api::ErrorBody, description = "not_found: no such account, or the admin API is off")),
    security(("admin" = [])))]
pub async fn disable(
    State(state): State<AppState>,
    _limit: PerAddressLimit,
    _admin: AdminAuth,
    ApiJson(req): ApiJson<AccountRef>,
) -> ApiResult<Json<AccountChanged>> {
    let changed = admin::set_disabled(
        state.store.as_ref(),
        &req.account,
        true,
        state.now(),
        Via::Api,
    )
    .await?;
    // This node's event streams of the account wake, find their session gone and end.
    state.sessions_ended(changed.account_id);
    Ok(Json(changed))
}

#[utoipa::path(post, path = "/api/v1/admin/accounts/enable", tag = "admin", request_body = AccountRef,
    responses((status = 200, body = AccountChanged), (status = 401, body = sharelock_api::ErrorBody),
              (status = 404, body = sharelock_api::ErrorBody, description = "not_found: no such account, or the admin API is off")),
    security(("admin" = [])))]
pub async fn enable(
    State(state): State<AppState>,
    _limit: PerAddressLimit,
    _admin: AdminAuth,
    ApiJson(req): ApiJson<AccountRef>,
) -> ApiResult<Json<AccountChanged>> {
    let changed = admin::set_disabled(
        state.store.as_ref(),
        &req.account,
        false,
        state.now(),
        Via::Api,
    )
    .await?;
    Ok(Json(changed))
}

#[utoipa::path(post, path = "/api/v1/admin/accounts/delete", tag = "admin", request_body = AccountRef,
    responses((status = 200, body = AccountDeleted), (status = 401, body = sharelock_api::ErrorBody),
              (status = 404, body = sharelock_api::ErrorBody, description = "not_found: no such account, or the admin API is off")),
    security(("admin" = [])))]
pub async fn delete(
    State(state): State<AppState>,
    _limit: PerAddressLimit,
    _admin: AdminAuth,
    ApiJson(req): ApiJson<AccountRef>,
) -> ApiResult<Json<AccountDeleted>> {
    let deleted = admin::delete(state.store.as_ref(), &req.account, state.now(), Via::Api).await?;
    state.sessions_ended(deleted.account_id);
    Ok(Json(deleted))
}

#[utoipa::path(get, path = "/api/v1/admin/invites", tag = "admin",
    responses((status = 200, body = AdminInvites), (status = 401, body = sharelock_api::ErrorBody),
              (status = 404, body = sharelock_api::ErrorBody, description = "not_found: the admin API is off")),
    security(("admin" = [])))]
pub async fn invites(
    State(state): State<AppState>,
    _limit: PerAddressLimit,
    _admin: AdminAuth,
) -> ApiResult<Json<AdminInvites>> {
    let invites = admin::invites(state.store.as_ref(), state.now()).await?;
    Ok(Json(AdminInvites { invites }))
}

#[utoipa::path(post, path = "/api/v1/admin/invites", tag = "admin", request_body = CreateInvite,
    responses((status = 201, body = InviteCreated), (status = 401, body = sharelock_api::ErrorBody),
              (status = 404, body = sharelock_api::ErrorBody, description = "not_found: the admin API is off")),
    security(("admin" = [])))]
pub async fn create_invite(
    State(state): State<AppState>,
    _limit: PerAddressLimit,
    _admin: AdminAuth,
    ApiJson(req): ApiJson<CreateInvite>,
) -> ApiResult<(axum::http::StatusCode, Json<InviteCreated>)> {
    let created = admin::create_invite(state.store.as_ref(), req, state.now(), Via::Api).await?;
    Ok((axum::http::StatusCode::CREATED, Json(created)))
}

#[utoipa::path(post, path = "/api/v1/admin/invites/revoke", tag = "admin", request_body = InviteRef,
    responses((status = 200, body = InviteRevoked), (status = 401, body = sharelock_api::ErrorBody),
              (status = 404, body = sharelock_api::ErrorBody, description = "not_found: no such invitation, or the admin API is off")),
    security(("admin" = [])))]
pub async fn revoke_invite(
    State(state): State<AppState>,
    _limit: PerAddressLimit,
    _admin: AdminAuth,
    ApiJson(req): ApiJson<InviteRef>,
) -> ApiResult<Json<InviteRevoked>> {
    let revoked = admin::revoke_invite(state.store.as_ref(), req.id, state.now(), Via::Api).await?;
    Ok(Json(revoked))
}

#[utoipa::path(get, path = "/api/v1/admin/config", tag = "admin",
    responses((status = 200, body = EffectiveConfig), (status = 401, body = sharelock_api::ErrorBody),
              (status = 404, body = sharelock_api::ErrorBody, description = "not_found: the admin API is off")),
    security(("admin" = [])))]
pub async fn config(
    State(state): State<AppState>,
    _limit: PerAddressLimit,
    _admin: AdminAuth,
) -> ApiResult<Json<EffectiveConfig>> {
    Ok(Json(admin::effective_config(&state.config, Via::Api)?))
}
