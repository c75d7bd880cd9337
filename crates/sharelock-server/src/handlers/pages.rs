//! The embedded web app: the owner's vault at `/`, the recipient's page at `/s`, and their assets.
//!
//! Pages get their own CSP: scripts and styles from this origin only (no inline code), WebAssembly for
//! Argon2id, fetches to this origin only, and Trusted Types so no string can ever become markup.

use crate::error::ApiError;
use axum::extract::Path;
use axum::http::{HeaderMap, HeaderName, HeaderValue, header};
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
pub async fn vault(headers: HeaderMap) -> Response {
    page("index.html", &headers)
}

/// `GET /s`: the recipient's page. The link's secret is in the fragment, which never reaches the server.
pub async fn recipient(headers: HeaderMap) -> Response {
    page("s.html", &headers)
}

/// `GET /assets/{file}`: a content-hashed script, style or image, cacheable forever.
pub async fn asset(Path(file): Path<String>, headers: HeaderMap) -> Response {
    serve(
        &format!("assets/{file}"),
        (header::CACHE_CONTROL, "public, max-age=31536000, immutable"),
        &headers,
    )
}

/// `GET /favicon.svg`.
pub async fn favicon(headers: HeaderMap) -> Response {
    serve(
        "favicon.svg",
        (header::CACHE_CONTROL, "public, max-age=86400"),
        &headers,
    )
}

/// `GET /download-sw.js`: the download worker, which streams a decrypted file to the browser's download
/// manager (web/public/download-sw.js). Not cached (the default), so a new build's worker replaces the old
/// one; under the API's policy, which allows a worker nothing it needs beyond building responses.
pub async fn download_worker(headers: HeaderMap) -> Response {
    serve(
        "download-sw.js",
        (header::CACHE_CONTROL, "no-cache"),
        &headers,
    )
}

/// `GET /download/{id}`: what a page's navigation to a download gets when no worker answered it (the
/// worker was not running, or the id is unknown): 204, which leaves the page where it is.
pub async fn download_fallback() -> axum::http::StatusCode {
    axum::http::StatusCode::NO_CONTENT
}

/// A page: never cached (the default), under the page policy.
fn page(name: &str, headers: &HeaderMap) -> Response {
    serve(name, (header::CONTENT_SECURITY_POLICY, PAGE_CSP), headers)
}

/// An embedded file with its content type and one more header, in the best encoding the request accepts
/// (brotli, gzip or none: each made at build time); a JSON 404 if the build has no such file. Every other
/// header is the same whatever the encoding.
fn serve(path: &str, (name, value): (HeaderName, &'static str), request: &HeaderMap) -> Response {
    let Some(asset) = sharelock_web::asset(path) else {
        return ApiError::new(ErrorCode::NotFound, "no such asset").into_response();
    };
    let (bytes, encoding) = match choose_encoding(request, asset.br.is_some(), asset.gzip.is_some())
    {
        Encoding::Brotli => (asset.br.unwrap_or(asset.bytes), Some("br")),
        Encoding::Gzip => (asset.gzip.unwrap_or(asset.bytes), Some("gzip")),
        Encoding::Identity => (asset.bytes, None),
    };
    let mut response = bytes.into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(asset.content_type),
    );
    headers.insert(name, HeaderValue::from_static(value));
    if asset.br.is_some() || asset.gzip.is_some() {
        // Caches keep one copy per encoding.
        headers.insert(header::VARY, HeaderValue::from_static("accept-encoding"));
    }
    if let Some(encoding) = encoding {
        headers.insert(header::CONTENT_ENCODING, HeaderValue::from_static(encoding));
    }
    response
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Encoding {
    Brotli,
    Gzip,
    Identity,
}

/// The encoding to answer with, by `Accept-Encoding` (RFC 9110 §12.5.3): of those available, the one
/// with the highest weight above 0 (a coding not named takes the weight of `*`, if given), brotli before
/// gzip when they tie; none when the header is missing or accepts neither.
fn choose_encoding(request: &HeaderMap, have_br: bool, have_gzip: bool) -> Encoding {
    let mut br: Option<f32> = None;
    let mut gzip: Option<f32> = None;
    let mut any: Option<f32> = None;
    for value in request.get_all(header::ACCEPT_ENCODING) {
        let Ok(text) = value.to_str() else { continue };
        for item in text.split(',') {
            let mut parts = item.split(';');
            let coding = parts.next().unwrap_or("").trim().to_ascii_lowercase();
            let mut weight = 1.0_f32;
            for parameter in parts {
                if let Some((key, q)) = parameter.split_once('=')
                    && key.trim().eq_ignore_ascii_case("q")
                {
                    // A weight that does not parse refuses the coding rather than guessing.
                    weight = q.trim().parse::<f32>().unwrap_or(0.0).clamp(0.0, 1.0);
                }
            }
            match coding.as_str() {
                "br" => br = Some(weight),
                "gzip" | "x-gzip" => gzip = Some(weight),
                "*" => any = Some(weight),
                _ => {}
            }
        }
    }
    let br = if have_br {
        br.or(any).unwrap_or(0.0)
    } else {
        0.0
    };
    let gzip = if have_gzip {
        gzip.or(any).unwrap_or(0.0)
    } else {
        0.0
    };
    if br > 0.0 && br >= gzip {
        Encoding::Brotli
    } else if gzip > 0.0 {
        Encoding::Gzip
    } else {
        Encoding::Identity
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn choose(accept: &[&'static str]) -> Encoding {
        let mut headers = HeaderMap::new();
        for value in accept {
            headers.append(header::ACCEPT_ENCODING, HeaderValue::from_static(value));
        }
        choose_encoding(&headers, true, true)
    }

    #[test]
    fn accept_encoding_is_weighed() {
        assert_eq!(choose(&[]), Encoding::Identity);
        assert_eq!(choose(&["gzip, deflate, br, zstd"]), Encoding::Brotli);
        assert_eq!(choose(&["gzip"]), Encoding::Gzip);
        assert_eq!(choose(&["GZIP;Q=0.5"]), Encoding::Gzip);
        assert_eq!(choose(&["br;q=0.5, gzip;q=0.8"]), Encoding::Gzip);
        assert_eq!(choose(&["br;q=0, gzip;q=0"]), Encoding::Identity);
        assert_eq!(choose(&["*"]), Encoding::Brotli);
        assert_eq!(choose(&["*;q=0.3, br;q=0"]), Encoding::Gzip);
        assert_eq!(choose(&["identity"]), Encoding::Identity);
        assert_eq!(
            choose(&["deflate", "gzip"]),
            Encoding::Gzip,
            "several lines"
        );
        assert_eq!(choose(&["br;q=nonsense, gzip"]), Encoding::Gzip);
        let mut headers = HeaderMap::new();
        headers.insert(header::ACCEPT_ENCODING, HeaderValue::from_static("br"));
        assert_eq!(
            choose_encoding(&headers, false, true),
            Encoding::Identity,
            "only what exists"
        );
    }
}
