//! Verification of the recipient's signed requests (docs/protocol.md §5.2), before any body is read.
//!
//! The signature covers `Content-Digest`, so a request is authenticated from its headers alone: parse the
//! signature headers, read the share (one store call), verify with its bound device key (one P-256 verify),
//! and only then read the body, hashing it as it arrives and refusing it at the end if it does not match
//! the digest ([`crate::body::read`]). [`DeviceSigned`] is that sequence as one extractor. Bind is signed by
//! the new key carried in its body: [`SignedHeaders`] lets it check what it can before reading that body.
//! `@target-uri` is rebuilt from the configured public URL, never from `Host`.

use crate::body::{self, BodyLimit, ReadBody};
use crate::error::{ApiError, ApiResult};
use crate::extract::parse_json;
use crate::state::AppState;
use axum::body::Body;
use axum::extract::{FromRequest, OriginalUri, Request};
use axum::http::{HeaderMap, HeaderValue, header, request::Parts};
use http_body::Body as _;
use serde::de::DeserializeOwned;
use sharelock_api::{ErrorCode, SHARE_HEADER};
use sharelock_core::Error as CoreError;
use sharelock_core::device::DevicePublicKey;
use sharelock_core::httpsig::{
    MAX_AGE, MAX_SKEW, ParsedSignature, RequestParts, content_digest_sha256,
};
use sharelock_core::share::ShareId;
use sharelock_store::{RecipientView, ShareRow, SignedChange};

/// The one field of header `name`, if any; `Err` if the request repeats it. A header the signature covers
/// or the share lookup reads must not come twice: a proxy or a library could combine or pick repeated fields
/// otherwise than this server does (docs/protocol.md §5.2).
pub fn one_field<'a>(
    headers: &'a HeaderMap,
    name: &str,
) -> Result<Option<&'a HeaderValue>, RepeatedHeader> {
    let mut fields = headers.get_all(name).iter();
    let first = fields.next();
    match fields.next() {
        Some(_) => Err(RepeatedHeader),
        None => Ok(first),
    }
}

/// A header that must come once came more than once.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RepeatedHeader;

/// The share named by a recipient request.
pub fn share_header(headers: &HeaderMap) -> ApiResult<(ShareId, String)> {
    let value = one_field(headers, SHARE_HEADER)
        .map_err(|RepeatedHeader| {
            ApiError::malformed("the Sharelock-Share header appears more than once")
        })?
        .and_then(|v| v.to_str().ok())
        .ok_or_else(|| ApiError::malformed("the Sharelock-Share header is required"))?
        .trim()
        .to_string();
    let id = ShareId::from_b64u(&value)
        .map_err(|_| ApiError::malformed("the Sharelock-Share header is not a share id"))?;
    Ok((id, value))
}

fn header_text(headers: &HeaderMap, name: &str) -> ApiResult<Option<String>> {
    let field = one_field(headers, name).map_err(|RepeatedHeader| {
        ApiError::new(
            ErrorCode::InvalidSignature,
            format!("the {name} header appears more than once"),
        )
    })?;
    match field {
        None => Ok(None),
        Some(v) => v
            .to_str()
            .map(|s| Some(s.trim().to_string()))
            .map_err(|_| ApiError::malformed(format!("the {name} header is not text"))),
    }
}

fn signature_error(e: CoreError) -> ApiError {
    match e {
        CoreError::Stale => ApiError::new(
            ErrorCode::StaleRequest,
            "the signature's created time is outside the accepted window; sign with the server's Date",
        ),
        CoreError::Malformed { what, why } => ApiError::new(
            ErrorCode::InvalidSignature,
            format!("malformed {what}: {why}"),
        ),
        _ => ApiError::new(
            ErrorCode::InvalidSignature,
            "the request signature does not verify",
        ),
    }
}

fn unsigned() -> ApiError {
    ApiError::new(ErrorCode::InvalidSignature, "the request is not signed")
}

/// The signature headers of a recipient request, parsed; neither verified nor the body read.
pub struct SignedHeaders {
    pub share_id: ShareId,
    share_header: String,
    method: String,
    target_uri: String,
    content_type: Option<String>,
    content_digest: Option<String>,
    /// The SHA-256 `Content-Digest` names, which the body must hash to.
    body_digest: Option<[u8; 32]>,
    signature: ParsedSignature,
}

impl SignedHeaders {
    /// Parses `Sharelock-Share`, the signature headers and `Content-Digest` (no database access). A request
    /// that may carry a body needs `Content-Digest`: without it, body bytes could not be tied to the signature.
    pub fn parse(state: &AppState, parts: &Parts, body: &Body) -> ApiResult<Self> {
        let headers = &parts.headers;
        let (share_id, share_header) = share_header(headers)?;
        let input = header_text(headers, "signature-input")?.ok_or_else(unsigned)?;
        let signature = header_text(headers, "signature")?.ok_or_else(unsigned)?;
        let signature = ParsedSignature::parse(&input, &signature).map_err(signature_error)?;
        let content_type = header_text(headers, header::CONTENT_TYPE.as_str())?;
        let content_digest = header_text(headers, "content-digest")?;
        let body_digest = match &content_digest {
            Some(text) => Some(content_digest_sha256(text).map_err(signature_error)?),
            None if body.is_end_stream() => None,
            None => {
                return Err(ApiError::new(
                    ErrorCode::InvalidSignature,
                    "a request with a body needs Content-Digest",
                ));
            }
        };
        // Inside the nested `/api/v1` router `parts.uri` lacks the prefix; the signature covers the full path.
        let uri = parts
            .extensions
            .get::<OriginalUri>()
            .map_or(&parts.uri, |original| &original.0);
        let path = uri.path_and_query().map_or("/", |p| p.as_str());
        Ok(SignedHeaders {
            share_id,
            share_header,
            method: parts.method.as_str().to_string(),
            target_uri: format!("{}{}", state.public_url, path),
            content_type,
            content_digest,
            body_digest,
            signature,
        })
    }

    /// Refuses a signature made outside the accepted window, which needs no key (bind checks it before
    /// reading the body that carries its key).
    pub fn check_fresh(&self, now: i64) -> ApiResult<()> {
        let age = now.saturating_sub(self.signature.created());
        if (-MAX_SKEW..=MAX_AGE).contains(&age) {
            Ok(())
        } else {
            Err(signature_error(CoreError::Stale))
        }
    }

    /// Verifies the signature with `key` at `now` (key id, body coverage, time window, signature).
    pub fn verify(&self, key: &DevicePublicKey, now: i64) -> ApiResult<()> {
        let parts = RequestParts {
            method: &self.method,
            target_uri: &self.target_uri,
            share_header: &self.share_header,
            content_type: self.content_type.as_deref(),
            content_digest: self.content_digest.as_deref(),
        };
        self.signature
            .verify(key, &parts, now)
            .map_err(signature_error)
    }

    /// Verifies with the device key bound to the share (`share_not_bound` if none is).
    pub fn verify_bound(&self, device_key: Option<&[u8]>, now: i64) -> ApiResult<()> {
        let bytes = device_key.ok_or_else(|| {
            ApiError::new(
                ErrorCode::ShareNotBound,
                "this share has not been opened yet",
            )
        })?;
        let key = DevicePublicKey::from_sec1(bytes).map_err(|_| ApiError::internal())?;
        self.verify(&key, now)
    }

    /// Reads the body under the route's bounds, refusing it if it does not match `Content-Digest`.
    pub async fn read_body(
        &self,
        state: &AppState,
        limit: BodyLimit,
        body: Body,
    ) -> ApiResult<ReadBody> {
        body::read(&state.bounds, limit, body, self.body_digest.as_ref()).await
    }

    pub fn nonce(&self) -> [u8; 16] {
        self.signature.nonce()
    }
}

pub fn unknown_share() -> ApiError {
    ApiError::new(
        ErrorCode::NotFound,
        "no such share: the link is wrong or the share was removed",
    )
}

/// What a signed request reads about its share, in one store call: the share alone, or the share with its
/// record's current version (the fetch and the edit).
pub trait BoundShare: Sized + Send {
    /// The share if it exists; `share_ended` if it is not live at `now`.
    fn load(
        state: &AppState,
        share_id: &ShareId,
        now: i64,
    ) -> impl Future<Output = ApiResult<Self>> + Send;
    fn share(&self) -> &ShareRow;
}

impl BoundShare for ShareRow {
    async fn load(state: &AppState, share_id: &ShareId, now: i64) -> ApiResult<Self> {
        let share = state
            .store
            .share_by_id(share_id.as_bytes())
            .await?
            .ok_or_else(unknown_share)?;
        if !share.state(now).is_live() {
            return Err(ApiError::share_ended());
        }
        if share.owner_disabled {
            return Err(ApiError::share_suspended());
        }
        Ok(share)
    }

    fn share(&self) -> &ShareRow {
        self
    }
}

impl BoundShare for RecipientView {
    async fn load(state: &AppState, share_id: &ShareId, now: i64) -> ApiResult<Self> {
        let view = state
            .store
            .recipient_view(share_id.as_bytes(), now)
            .await?
            .ok_or_else(unknown_share)?;
        if !view.share.state(now).is_live() {
            return Err(ApiError::share_ended());
        }
        if view.share.owner_disabled {
            return Err(ApiError::share_suspended());
        }
        Ok(view)
    }

    fn share(&self) -> &ShareRow {
        &self.share
    }
}

/// A request signed by the device bound to the share it names, authenticated before its body is read.
///
/// Extraction parses the signature headers, refuses a declared body over the route's limit, reads the share
/// (`V`: one store call), checks it is live and bound, and verifies the signature with the bound key. The
/// body stays unread until the handler asks for it ([`DeviceSigned::body`], [`DeviceSigned::json`]), so a
/// handler can refuse cheaply first (a read-only share, a part number out of range); it is then read under
/// the route's bounds and checked against the signed `Content-Digest`.
pub struct DeviceSigned<V> {
    pub view: V,
    pub now: i64,
    headers: SignedHeaders,
    body: Body,
    limit: BodyLimit,
}

impl<V: BoundShare> FromRequest<AppState> for DeviceSigned<V> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &AppState) -> ApiResult<Self> {
        let (parts, body) = req.into_parts();
        let headers = SignedHeaders::parse(state, &parts, &body)?;
        let limit = BodyLimit::of(&parts.extensions);
        if body.size_hint().lower() > limit.bytes as u64 {
            return Err(ApiError::too_large());
        }
        let now = state.now();
        let view = V::load(state, &headers.share_id, now).await?;
        headers.verify_bound(view.share().device_key.as_deref(), now)?;
        Ok(DeviceSigned {
            view,
            now,
            headers,
            body,
            limit,
        })
    }
}

impl<V: BoundShare> DeviceSigned<V> {
    pub fn share(&self) -> &ShareRow {
        self.view.share()
    }

    pub fn share_id(&self) -> &ShareId {
        &self.headers.share_id
    }

    /// The signed request's nonce as a replay-protected change at the request's time.
    pub fn change(&self) -> SignedChange {
        SignedChange {
            share_id: *self.headers.share_id.as_bytes(),
            nonce: self.headers.nonce(),
            now: self.now,
        }
    }

    /// Reads the body (once; a second call reads nothing) within the route's bounds, checked against the
    /// signed digest.
    pub async fn body(&mut self, state: &AppState) -> ApiResult<ReadBody> {
        let body = std::mem::take(&mut self.body);
        self.headers.read_body(state, self.limit, body).await
    }

    /// Reads and parses a JSON body, as [`DeviceSigned::body`].
    pub async fn json<T: DeserializeOwned>(&mut self, state: &AppState) -> ApiResult<T> {
        let body = self.body(state).await?;
        parse_json(&body)
    }
}
