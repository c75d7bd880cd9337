//! Builds the web app in `web/` with its own toolchain (npm + Vite) and embeds the output.
//!
//! `SHARELOCK_WEB_DIST=<dir>` embeds an already built `dist/` instead (packagers, or a CI that built it
//! once). Otherwise `npm ci` runs when `node_modules` is missing or older than `package-lock.json`, and
//! `vite build` writes into `OUT_DIR`, so the source tree only ever gains `web/node_modules`.
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
    write_asset_table(&dist, &out.join("assets.rs"), watch_dist);
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

/// `assets.rs`: one `Asset` per file, the bytes included from the build output.
fn write_asset_table(dist: &Path, target: &Path, watch: bool) {
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
        writeln!(
            code,
            "    Asset {{ path: {file:?}, content_type: {:?}, bytes: include_bytes!({:?}) }},",
            content_type(file),
            full.display().to_string(),
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
