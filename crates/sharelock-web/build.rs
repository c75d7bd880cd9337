//! Builds the web app in `web/` with its own toolchain (npm + Vite) and embeds the output.
//!
//! `SHARELOCK_WEB_DIST=<dir>` embeds an already built `dist/` instead (packagers, or a CI that built it
//! once). Otherwise `npm ci` runs when `node_modules` is missing or older than `package-lock.json`, and
//! `vite build` writes into `OUT_DIR`, so the source tree only ever gains `web/node_modules`.
//!
//! Every text asset (HTML, scripts, styles, SVG, WebAssembly, manifests) is also compressed here, with
//! brotli (quality 11) and gzip (level 9), so the server can answer `Accept-Encoding` without
//! compressing anything at run time. A compressed form is kept only when it is smaller.
#![allow(clippy::expect_used, clippy::panic)]

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::{env, fs};

fn main() {
    let manifest = PathBuf::from(env::var("CARGO_MANIFEST_DIR").expect("CARGO_MANIFEST_DIR"));
    let web = manifest
        .join("../../web")
        .canonicalize()
        .expect("the web/ directory");
    let out = PathBuf::from(env::var("OUT_DIR").expect("OUT_DIR"));

    println!("cargo:rerun-if-env-changed=SHARELOCK_WEB_DIST");
    let dist = match env::var_os("SHARELOCK_WEB_DIST") {
        Some(dir) => PathBuf::from(dir),
        None => {
            for input in [
                "src",
                "public",
                "index.html",
                "s.html",
                "package.json",
                "package-lock.json",
                "vite.config.ts",
                "tsconfig.json",
            ] {
                println!("cargo:rerun-if-changed={}", web.join(input).display());
            }
            build_with_vite(&web, &out.join("web"))
        }
    };
    // Only a prebuilt dist/ is an input to watch: a Vite build writes into OUT_DIR while this script
    // runs, so its files are always newer than the run, and watching them would rerun every build.
    let watch_dist = env::var_os("SHARELOCK_WEB_DIST").is_some();
    write_asset_table(
        &dist,
        &out.join("compressed"),
        &out.join("assets.rs"),
        watch_dist,
    );
}

fn build_with_vite(web: &Path, dist: &Path) -> PathBuf {
    let installed = web.join("node_modules/.package-lock.json");
    if modified(&installed) < modified(&web.join("package-lock.json")) {
        run(web, "npm", &["ci", "--no-audit", "--no-fund"]);
    }
    let dist_arg = dist.to_str().expect("OUT_DIR is UTF-8");
    run(
        web,
        "npx",
        &[
            "--no-install",
            "vite",
            "build",
            "--logLevel",
            "warn",
            "--outDir",
            dist_arg,
            "--emptyOutDir",
        ],
    );
    dist.to_path_buf()
}

fn run(dir: &Path, program: &str, args: &[&str]) {
    let status = Command::new(program)
        .args(args)
        .current_dir(dir)
        .status()
        .unwrap_or_else(|e| {
            panic!("cannot run `{program}` ({e}): building the web app needs Node.js 20+ and npm")
        });
    if !status.success() {
        panic!("`{program} {}` failed in web/ ({status})", args.join(" "));
    }
}

fn modified(path: &Path) -> Option<std::time::SystemTime> {
    fs::metadata(path).and_then(|m| m.modified()).ok()
}

/// `assets.rs`: one `Asset` per file, the bytes included from the build output, and its compressed
/// forms (written under `compressed`) where they are smaller.
fn write_asset_table(dist: &Path, compressed: &Path, target: &Path, watch: bool) {
    let mut files = Vec::new();
    collect(dist, dist, &mut files);
    files.sort();
    assert!(
        files.iter().any(|f| f == "index.html") && files.iter().any(|f| f == "s.html"),
        "the web build in {} has no index.html or s.html",
        dist.display()
    );
    let mut code = String::from("&[\n");
    for file in &files {
        let full = dist.join(file);
        if watch {
            println!("cargo:rerun-if-changed={}", full.display());
        }
        let bytes = fs::read(&full).unwrap_or_else(|e| panic!("read {}: {e}", full.display()));
        let (br, gzip) = if compressible(file) {
            (
                keep_if_smaller(
                    &bytes,
                    brotli(&bytes),
                    &compressed.join(format!("{file}.br")),
                ),
                keep_if_smaller(&bytes, gzip(&bytes), &compressed.join(format!("{file}.gz"))),
            )
        } else {
            (None, None)
        };
        writeln!(
            code,
            "    Asset {{ path: {file:?}, content_type: {:?}, bytes: include_bytes!({:?}), br: {}, \
             gzip: {} }},",
            content_type(file),
            full.display().to_string(),
            included(br.as_deref()),
            included(gzip.as_deref()),
        )
        .expect("write to a String");
    }
    code.push(']');
    fs::write(target, code).expect("write assets.rs");
}

fn collect(root: &Path, dir: &Path, files: &mut Vec<String>) {
    for entry in fs::read_dir(dir).unwrap_or_else(|e| panic!("read {}: {e}", dir.display())) {
        let path = entry.expect("directory entry").path();
        if path.is_dir() {
            collect(root, &path, files);
        } else {
            let relative = path.strip_prefix(root).expect("under root");
            files.push(
                relative
                    .to_str()
                    .expect("UTF-8 asset name")
                    .replace('\\', "/"),
            );
        }
    }
}

fn content_type(file: &str) -> &'static str {
    match file.rsplit('.').next().unwrap_or("") {
        "html" => "text/html; charset=utf-8",
        "js" | "mjs" => "text/javascript; charset=utf-8",
        "css" => "text/css; charset=utf-8",
        "svg" => "image/svg+xml",
        "png" => "image/png",
        "ico" => "image/x-icon",
        "wasm" => "application/wasm",
        "json" | "webmanifest" => "application/manifest+json",
        "txt" => "text/plain; charset=utf-8",
        "woff2" => "font/woff2",
        _ => "application/octet-stream",
    }
}

/// Types worth compressing: text, and WebAssembly (images and fonts are compressed already).
fn compressible(file: &str) -> bool {
    matches!(
        file.rsplit('.').next().unwrap_or(""),
        "html" | "js" | "mjs" | "css" | "svg" | "wasm" | "json" | "webmanifest" | "txt" | "ico"
    )
}

fn brotli(bytes: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    let params = ::brotli::enc::BrotliEncoderParams {
        quality: 11,
        lgwin: 22,
        ..Default::default()
    };
    ::brotli::BrotliCompress(&mut &bytes[..], &mut out, &params).expect("brotli into memory");
    out
}

fn gzip(bytes: &[u8]) -> Vec<u8> {
    use std::io::Write as _;
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    encoder.write_all(bytes).expect("gzip into memory");
    encoder.finish().expect("gzip into memory")
}

/// Writes `packed` to `path` and returns the path if it is smaller than `original`.
fn keep_if_smaller(original: &[u8], packed: Vec<u8>, path: &Path) -> Option<PathBuf> {
    if packed.len() >= original.len() {
        return None;
    }
    fs::create_dir_all(path.parent().expect("a parent directory")).expect("create compressed/");
    fs::write(path, packed).unwrap_or_else(|e| panic!("write {}: {e}", path.display()));
    Some(path.to_path_buf())
}

fn included(path: Option<&Path>) -> String {
    match path {
        Some(path) => format!("Some(include_bytes!({:?}))", path.display().to_string()),
        None => "None".to_owned(),
    }
}
