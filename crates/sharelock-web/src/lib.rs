//! The web app, embedded: the recipient's page (`s.html`, served at `/s`), the owner's vault
//! (`index.html`, served at `/`) and their content-hashed assets (`assets/…`).
//!
//! The files are built from `web/` by Vite when this crate compiles (see `build.rs`), so the one binary
//! serves exactly the app it was built with.
#![forbid(unsafe_code)]

/// One built file of the web app.
#[derive(Debug, Clone, Copy)]
pub struct Asset {
    /// Path relative to the build output, e.g. `index.html` or `assets/s-3f2a1b.js`.
    pub path: &'static str,
    /// The `Content-Type` to serve it with.
    pub content_type: &'static str,
    /// The file's bytes.
    pub bytes: &'static [u8],
    /// The same compressed with brotli, if that is smaller (text types only).
    pub br: Option<&'static [u8]>,
    /// The same compressed with gzip, if that is smaller (text types only).
    pub gzip: Option<&'static [u8]>,
}

static ASSETS: &[Asset] = include!(concat!(env!("OUT_DIR"), "/assets.rs"));

/// Every embedded file, sorted by path.
pub fn assets() -> &'static [Asset] {
    ASSETS
}

/// The file at `path` (relative, without a leading `/`), if the build produced one.
pub fn asset(path: &str) -> Option<&'static Asset> {
    ASSETS
        .binary_search_by(|a| a.path.cmp(path))
        .ok()
        .and_then(|i| ASSETS.get(i))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_pages_and_their_scripts_are_embedded() {
        let page = asset("s.html").map(|a| std::str::from_utf8(a.bytes).unwrap_or(""));
        let page = page.unwrap_or_default();
        assert!(page.contains("<script type=\"module\""), "{page}");
        assert!(asset("index.html").is_some());
        assert!(assets().iter().any(|a| a.path.ends_with(".js")));
        // Every script the page names is embedded, so the page can load under `script-src 'self'`.
        for src in page.split("src=\"").skip(1) {
            let name = src
                .split('"')
                .next()
                .unwrap_or_default()
                .trim_start_matches("./");
            assert!(asset(name).is_some(), "missing {name}");
        }
    }

    #[test]
    fn pages_have_no_inline_script_or_style() {
        for page in ["index.html", "s.html"] {
            let text = asset(page)
                .map(|a| std::str::from_utf8(a.bytes).unwrap_or(""))
                .unwrap_or("");
            assert!(
                !text.contains("<script>") && !text.contains("<style") && !text.contains(" style="),
                "{page}"
            );
        }
    }
}
