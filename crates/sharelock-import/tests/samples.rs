//! Every sample export under `protocol/import/` read as its expected-result file says, compared with
//! that result: the detected format, then every item (body, warnings, error) or the error of the whole
//! file. The web app's `web/test/import.test.ts` checks the same files against the same results.
//!
//! `SHARELOCK_WRITE_IMPORT_EXPECTED=1` writes what this implementation produces into the expected
//! files instead (for a new sample; the result must then be read and checked by hand).

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::print_stderr,
    clippy::print_stdout
)]

use serde_json::{Value, json};
use sharelock_import::{ColumnMap, Format, Options, detect, parse};
use std::path::{Path, PathBuf};

fn samples_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../protocol/import")
}

fn expected_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let mut entries: Vec<PathBuf> = std::fs::read_dir(dir)
        .expect("samples directory")
        .map(|e| e.expect("entry").path())
        .collect();
    entries.sort();
    for path in entries {
        if path.is_dir() {
            expected_files(&path, out);
        } else if path
            .file_name()
            .and_then(|n| n.to_str())
            .is_some_and(|n| n.ends_with(".expected.json"))
        {
            out.push(path);
        }
    }
}

/// What this implementation makes of one case.
fn run(case: &Value, root: &Path) -> Value {
    let file = case["file"].as_str().expect("file");
    let bytes = std::fs::read(root.join(file)).expect("sample file");
    let format = Format::parse(case["format"].as_str().expect("format")).expect("known format");
    let options = &case["options"];
    let map = options["map"]
        .as_str()
        .map(|m| ColumnMap::parse(m).expect("valid mapping"));
    let passphrase = options["passphrase"].as_str();
    let detected = detect(&bytes).map(Format::as_str);
    let result = parse(
        format,
        &bytes,
        &Options {
            map: map.as_ref(),
            passphrase,
        },
    );
    match result {
        Ok(import) => json!({"detected": detected, "result": import.to_json()}),
        Err(e) => json!({"detected": detected, "error": e.kind()}),
    }
}

#[test]
fn every_sample_gives_its_expected_result() {
    let root = samples_dir();
    let mut files = Vec::new();
    expected_files(&root, &mut files);
    assert!(files.len() >= 20, "samples found: {}", files.len());
    let write = std::env::var_os("SHARELOCK_WRITE_IMPORT_EXPECTED").is_some();
    let mut formats_seen = std::collections::HashSet::new();
    let mut failures = Vec::new();
    for path in &files {
        let text = std::fs::read_to_string(path).expect("expected file");
        let case: Value = serde_json::from_str(&text).expect("expected file is JSON");
        let got = run(&case, &root);
        if case.get("result").is_some() {
            formats_seen.insert(case["format"].as_str().unwrap_or("").to_owned());
        }
        if write {
            let mut out = json!({
                "file": case["file"],
                "format": case["format"],
                "options": case["options"],
            });
            let object = out.as_object_mut().expect("object");
            for (k, v) in got.as_object().expect("object") {
                object.insert(k.clone(), v.clone());
            }
            let mut text = serde_json::to_string_pretty(&out).expect("json");
            text.push('\n');
            std::fs::write(path, text).expect("write expected file");
            continue;
        }
        for key in ["detected", "result", "error"] {
            let want = case.get(key).unwrap_or(&Value::Null);
            let have = got.get(key).unwrap_or(&Value::Null);
            if want != have {
                failures.push(format!(
                    "{}: {key} differs\n  expected: {want}\n  got:      {have}",
                    path.display()
                ));
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    if !write {
        for format in Format::ALL {
            assert!(
                formats_seen.contains(format.as_str()),
                "no sample of {format} is read successfully"
            );
        }
    }
}
