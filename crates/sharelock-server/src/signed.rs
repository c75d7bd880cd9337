//! Verification of the recipient's signed requests (docs/protocol.md §5.2).
//!
//! Parsing needs no database; verification needs the device key bound to the share named by the covered
//! `Sharelock-Share` header, which the caller reads in the same query as the rest of the share. `@target-uri`
//! is rebuilt from the configured public URL, never from `Host`.

use crate::error::{ApiError, ApiResult};
use crate::state::AppState;
use axum::body::Bytes;
use axum::http::{HeaderMap, Method, Uri, header};
use sharelock_api::{ErrorCode, SHARE_HEADER};
use sharelock_core::Error as CoreError;
use sharelock_core::device::DevicePublicKey;
use sharelock_core::httpsig::{ParsedSignature, RequestParts, verify_content_digest};
use sharelock_core::share::ShareId;

/// A signed request, parsed but not yet verified.
pub struct SignedRequest {
    pub share_id: ShareId,
    share_header: String,
    method: String,
    target_uri: String,
    content_type: Option<String>,
    content_digest: Option<String>,
    pub signature: ParsedSignature,
    pub body: Bytes,
}

/// The share named by a recipient request.
pub fn share_header(headers: &HeaderMap) -> ApiResult<(ShareId, String)> {
    let value = headers
        .get(SHARE_HEADER)
        .and_then(|v| v.to_str().ok())
        .ok_or_else(|| ApiError::malformed("the Sharelock-Share header is required"))?
        .trim()
        .to_string();
    let id = ShareId::from_b64u(&value)
        .map_err(|_| ApiError::malformed("the Sharelock-Share header is not a share id"))?;
    Ok((id, value))
}

fn header_text(headers: &HeaderMap, name: &str) -> ApiResult<Option<String>> {
    match headers.get(name) {
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

impl SignedRequest {
    /// Reads the body under the route's limit and parses the signature (no database access).
    pub async fn read(state: &AppState, req: axum::extract::Request) -> ApiResult<Self> {
        let (parts, body) = req.into_parts();
        let bytes = crate::extract::body_bytes(
            axum::extract::Request::from_parts(parts.clone(), body),
            state,
        )
        .await?;
        // Inside the nested `/api/v1` router `parts.uri` lacks the prefix; the signature covers the full path.
        let uri = parts
            .extensions
            .get::<axum::extract::OriginalUri>()
            .map_or_else(|| parts.uri.clone(), |original| original.0.clone());
        Self::parse(state, &parts.method, &uri, &parts.headers, bytes)
    }

    /// Parses the signature headers and checks the body digest; no database access.
    pub fn parse(
        state: &AppState,
        method: &Method,
        uri: &Uri,
        headers: &HeaderMap,
        body: Bytes,
    ) -> ApiResult<Self> {
        let (share_id, share_header) = share_header(headers)?;
        let input = header_text(headers, "signature-input")?.ok_or_else(|| {
            ApiError::new(ErrorCode::InvalidSignature, "the request is not signed")
        })?;
        let signature = header_text(headers, "signature")?.ok_or_else(|| {
            ApiError::new(ErrorCode::InvalidSignature, "the request is not signed")
        })?;
        let signature = ParsedSignature::parse(&input, &signature).map_err(signature_error)?;
        let content_type = header_text(headers, header::CONTENT_TYPE.as_str())?;
        let content_digest = header_text(headers, "content-digest")?;
        match (&content_digest, body.is_empty()) {
            (Some(digest), _) => verify_content_digest(digest, &body).map_err(|_| {
                ApiError::new(
                    ErrorCode::InvalidSignature,
                    "Content-Digest does not match the body",
                )
            })?,
            (None, true) => {}
            (None, false) => {
                return Err(ApiError::new(
                    ErrorCode::InvalidSignature,
                    "a request with a body needs Content-Digest",
                ));
            }
        }
        let path = uri.path_and_query().map(|p| p.as_str()).unwrap_or("/");
        Ok(SignedRequest {
            share_id,
            share_header,
            method: method.as_str().to_string(),
            target_uri: format!("{}{}", state.public_url, path),
            content_type,
            content_digest,
            signature,
            body,
        })
    }

    /// Verifies the signature with `key` at `now` (key id, time window, signature base, signature).
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

    /// Verifies with the bound device key stored for the share.
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

    pub fn nonce(&self) -> [u8; 16] {
        self.signature.nonce()
    }
}
