//! The embedded web app: the owner's vault at `/`, the recipient's page at `/s`, and their assets.
//!
//! Pages get their own CSP: scripts and styles from this origin only (no inline code), WebAssembly for
//! Argon2id, fetches to this origin only, and Trusted Types so no string can ever become markup.

use crate::error::ApiError;
use axum::extract::Path;
use axum::http::{HeaderName, HeaderValue, header};
use axum::response::{IntoResponse, Response};
use sharelock_api::ErrorCode;

/// The policy of every page. `'wasm-unsafe-eval'` lets the page compile the Argon2id WebAssembly module
/// (it allows no JavaScript `eval`); `require-trusted-types-for 'script'` makes every script sink take
/// only Trusted Types values, and the one policy allowed, `sharelock-download` (created once), can only
/// name the download worker's fixed URL, so every HTML-from-string sink (`innerHTML`, `document.write`,
/// …) still throws. The worker is registered under `script-src 'self'` (CSP's fallback for `worker-src`).
pub const PAGE_CSP: &str = "default-src 'none'; script-src 'self' 'wasm-unsafe-eval'; style-src 'self'; \
img-src 'self' data: blob:; connect-src 'self'; manifest-src 'self'; base-uri 'none'; form-action 'none'; \
frame-ancestors 'none'; require-trusted-types-for 'script'; trusted-types sharelock-download";

/// `GET /`: the owner's vault.
pub async fn vault() -> Response {
    page("index.html")
}

/// `GET /s`: the recipient's page. The link's secret is in the fragment, which never reaches the server.
pub async fn recipient() -> Response {
    page("s.html")
}

/// `GET /assets/{file}`: a content-hashed script, style or image, cacheable forever.
pub async fn asset(Path(file): Path<String>) -> Response {
    serve(
        &format!("assets/{file}"),
        (header::CACHE_CONTROL, "public, max-age=31536000, immutable"),
    )
}

/// `GET /favicon.svg`.
pub async fn favicon() -> Response {
    serve(
        "favicon.svg",
        (header::CACHE_CONTROL, "public, max-age=86400"),
    )
}

/// `GET /download-sw.js`: the download worker, which streams a decrypted file to the browser's download
/// manager (web/public/download-sw.js). Not cached (the default), so a new build's worker replaces the old
/// one; under the API's policy, which allows a worker nothing it needs beyond building responses.
pub async fn download_worker() -> Response {
    serve("download-sw.js", (header::CACHE_CONTROL, "no-cache"))
}

/// `GET /download/{id}`: what a page's navigation to a download gets when no worker answered it (the
/// worker was not running, or the id is unknown): 204, which leaves the page where it is.
pub async fn download_fallback() -> axum::http::StatusCode {
    axum::http::StatusCode::NO_CONTENT
}

/// A page: never cached (the default), under the page policy.
fn page(name: &str) -> Response {
    serve(name, (header::CONTENT_SECURITY_POLICY, PAGE_CSP))
}

/// An embedded file with its content type and one more header; a JSON 404 if the build has no such file.
fn serve(path: &str, (name, value): (HeaderName, &'static str)) -> Response {
    let Some(asset) = sharelock_web::asset(path) else {
        return ApiError::new(ErrorCode::NotFound, "no such asset").into_response();
    };
    let mut response = asset.bytes.into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(asset.content_type),
    );
    headers.insert(name, HeaderValue::from_static(value));
    response
}
