//! Request extractors: strict JSON bodies and the owner's session.

use crate::body::{self, BodyLimit};
use crate::error::ApiError;
use crate::state::AppState;
use axum::extract::{FromRef, FromRequest, FromRequestParts, Request};
use axum::http::{header, request::Parts};
use serde::de::DeserializeOwned;
use sharelock_core::crypto::sha256;
use uuid::Uuid;

/// A JSON body parsed strictly, with errors that name the offending field but never echo its value. The
/// body is read within the route's bounds ([`crate::body`]); put this extractor last, after the ones that
/// authenticate or limit the request, so nothing is read for a request refused anyway.
pub struct ApiJson<T>(pub T);

impl<S, T: DeserializeOwned> FromRequest<S> for ApiJson<T>
where
    AppState: FromRef<S>,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, ApiError> {
        let is_json = req
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.split(';').next())
            .is_some_and(|v| v.trim().eq_ignore_ascii_case("application/json"));
        if !is_json {
            return Err(ApiError::malformed(
                "expected Content-Type: application/json",
            ));
        }
        let state = AppState::from_ref(state);
        let limit = BodyLimit::of(req.extensions());
        let bytes = body::read(&state.bounds, limit, req.into_body(), None).await?;
        parse_json(&bytes).map(ApiJson)
    }
}

/// Parses JSON bytes strictly ([`sharelock_api::parse_body`]); the error names the field, never its value.
pub fn parse_json<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    sharelock_api::parse_body(bytes).map_err(|e| ApiError::malformed(e.message().to_owned()))
}

/// The authenticated owner of a request (`Authorization: Bearer <token>`).
#[derive(Debug, Clone, Copy)]
pub struct Owner {
    pub account_id: Uuid,
    /// `H(token)`: the session, for routes that end it or outlive the request (the event stream).
    pub token_hash: [u8; 32],
}

impl<S> FromRequestParts<S> for Owner
where
    AppState: FromRef<S>,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        let state = AppState::from_ref(state);
        let token = bearer_token(&parts.headers).ok_or_else(ApiError::unauthorized)?;
        let hash = sha256(token.as_bytes());
        let session = state
            .store
            .session(&hash, state.now())
            .await?
            .ok_or_else(ApiError::unauthorized)?;
        Ok(Owner {
            account_id: session.account_id,
            token_hash: hash,
        })
    }
}

/// The bearer token, if the header is well-formed. Tokens are 43 base64url characters.
pub fn bearer_token(headers: &axum::http::HeaderMap) -> Option<String> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let token = value.strip_prefix("Bearer ")?.trim();
    (token.len() == 43
        && token
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_'))
    .then(|| token.to_string())
}

/// Path parameters, with a JSON error naming what is wrong instead of axum's plain-text rejection.
pub struct ApiPath<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned + Send> FromRequestParts<S> for ApiPath<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        axum::extract::Path::<T>::from_request_parts(parts, state)
            .await
            .map(|axum::extract::Path(v)| ApiPath(v))
            .map_err(|_| {
                ApiError::malformed(
                    "a path parameter is not valid (ids are UUIDs, part numbers integers)",
                )
            })
    }
}
