//! Loading, checking and (re)writing `protocol/vectors/<area>.json`, shared by every area module.
//!
//! An area module provides two functions and calls [`run_area`] from one `#[test]`:
//! - `generate() -> Vec<Value>` builds every case from fixed inputs (fixed keys, nonces, secrets), so it
//!   produces the same file every time;
//! - `check(&Case)` verifies one case read from the file against the code: it recomputes outputs and compares
//!   bytes, opens or parses and compares plaintext, and for a negative case (`"valid": false`) requires the
//!   stated error kind ([`error_kind`], [`expect_error`]).
//!
//! With `SHARELOCK_WRITE_VECTORS=1` the file is rewritten from `generate()` and its line in `MANIFEST`
//! updated. Without it the file must equal what `generate()` gives now (as JSON values), and every case in the
//! file must pass `check`.
#![allow(dead_code)]

use serde_json::{Map, Value};
use sharelock_core::Error;
use std::collections::{BTreeMap, BTreeSet};
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::PathBuf;
use std::sync::Mutex;

/// Serialises manifest updates between areas running on parallel test threads.
static MANIFEST_LOCK: Mutex<()> = Mutex::new(());

/// `protocol/vectors` at the repository root.
pub fn vectors_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../protocol/vectors")
}

/// Whether this run rewrites the vector files (`SHARELOCK_WRITE_VECTORS=1`).
pub fn writing() -> bool {
    std::env::var("SHARELOCK_WRITE_VECTORS").is_ok_and(|v| v == "1")
}

/// Lowercase hex.
pub fn hex(bytes: impl AsRef<[u8]>) -> String {
    data_encoding::HEXLOWER.encode(bytes.as_ref())
}

/// Decodes lowercase hex, panicking on anything else (vector files are trusted to be well formed).
pub fn unhex(text: &str) -> Vec<u8> {
    data_encoding::HEXLOWER
        .decode(text.as_bytes())
        .unwrap_or_else(|e| panic!("bad hex {text:?}: {e}"))
}

/// `n` bytes counting up from `start` (wrapping): readable, distinct fixed inputs.
pub fn seq<const N: usize>(start: u8) -> [u8; N] {
    let mut out = [0u8; N];
    for (i, b) in out.iter_mut().enumerate() {
        *b = start.wrapping_add(i as u8);
    }
    out
}

/// The stable error kind of a core error, as the vectors name it.
pub fn error_kind(e: &Error) -> String {
    match e {
        Error::Decrypt => "decrypt".into(),
        Error::Verify(_) => "verify".into(),
        Error::KdfParams(_) => "kdf_params".into(),
        Error::TooLarge { .. } => "too_large".into(),
        Error::Malformed { .. } => "malformed".into(),
        Error::Record(r) => r.kind().into(),
        Error::Envelope(e) => e.kind().into(),
        Error::Link(l) => l.kind().into(),
        Error::Preface(p) => p.kind().into(),
        Error::Stale => "stale".into(),
        Error::TooShort { .. } => "too_short".into(),
        Error::Truncated => "truncated".into(),
        Error::Random => "random".into(),
        _ => format!("other: {e}"),
    }
}

/// One case of a vector file, with typed accessors that panic with the key's name when it is missing.
pub struct Case<'a>(pub &'a Value);

impl<'a> Case<'a> {
    pub fn name(&self) -> &'a str {
        self.str("name")
    }

    pub fn valid(&self) -> bool {
        self.0["valid"]
            .as_bool()
            .unwrap_or_else(|| panic!("case without \"valid\""))
    }

    /// The stated error kind of a negative case.
    pub fn error(&self) -> &'a str {
        self.str("error")
    }

    pub fn get(&self, key: &str) -> &'a Value {
        self.0
            .get(key)
            .unwrap_or_else(|| panic!("case {:?} has no {key:?}", self.0.get("name")))
    }

    pub fn has(&self, key: &str) -> bool {
        self.0.get(key).is_some_and(|v| !v.is_null())
    }

    pub fn str(&self, key: &str) -> &'a str {
        self.get(key)
            .as_str()
            .unwrap_or_else(|| panic!("{key:?} is not a string"))
    }

    pub fn opt_str(&self, key: &str) -> Option<&'a str> {
        self.0.get(key).and_then(Value::as_str)
    }

    pub fn u64(&self, key: &str) -> u64 {
        self.get(key)
            .as_u64()
            .unwrap_or_else(|| panic!("{key:?} is not an unsigned integer"))
    }

    pub fn bool(&self, key: &str) -> bool {
        self.get(key)
            .as_bool()
            .unwrap_or_else(|| panic!("{key:?} is not a boolean"))
    }

    pub fn bytes(&self, key: &str) -> Vec<u8> {
        unhex(self.str(key))
    }

    pub fn array<const N: usize>(&self, key: &str) -> [u8; N] {
        let b = self.bytes(key);
        b.as_slice()
            .try_into()
            .unwrap_or_else(|_| panic!("{key:?} is {} bytes, expected {N}", b.len()))
    }

    /// A text that is either given literally under `key`, or under `<key>_template` with every occurrence of
    /// `fill.placeholder` replaced by `fill.char` repeated `fill.count` times (keeps huge inputs small).
    pub fn text(&self, key: &str) -> String {
        if let Some(s) = self.opt_str(key) {
            return s.to_owned();
        }
        let template = self.str(&format!("{key}_template"));
        let fill = self.get("fill");
        let placeholder = fill["placeholder"]
            .as_str()
            .unwrap_or_else(|| panic!("fill.placeholder"));
        let ch = fill["char"].as_str().unwrap_or_else(|| panic!("fill.char"));
        let count = fill["count"]
            .as_u64()
            .unwrap_or_else(|| panic!("fill.count")) as usize;
        template.replace(placeholder, &ch.repeat(count))
    }
}

/// Asserts that `result` failed with the case's stated error kind.
pub fn expect_error<T>(case: &Case, result: Result<T, Error>) {
    match result {
        Ok(_) => panic!("expected error {:?}, got success", case.error()),
        Err(e) => assert_eq!(error_kind(&e), case.error(), "wrong error kind ({e})"),
    }
}

/// Asserts that a check that yields a bare error kind failed with the stated one.
pub fn expect_kind<T>(case: &Case, result: Result<T, String>) {
    match result {
        Ok(_) => panic!("expected error {:?}, got success", case.error()),
        Err(kind) => assert_eq!(kind, case.error(), "wrong error kind"),
    }
}

/// Writes JSON with two-space indentation and keys in a fixed order (`name`, `valid`, `error` first, then
/// alphabetical), whatever order the JSON library keeps, so regenerated files are byte-stable.
pub fn to_canonical_json(value: &Value) -> String {
    fn key_rank(k: &str) -> (u8, &str) {
        match k {
            "name" => (0, k),
            "valid" => (1, k),
            "error" => (2, k),
            "description" => (0, k),
            "cases" => (1, k),
            _ => (3, k),
        }
    }
    fn write(v: &Value, indent: usize, out: &mut String) {
        let pad = |n: usize| "  ".repeat(n);
        match v {
            Value::Object(map) if !map.is_empty() => {
                let mut keys: Vec<&String> = map.keys().collect();
                keys.sort_by(|a, b| key_rank(a).cmp(&key_rank(b)));
                out.push_str("{\n");
                for (i, k) in keys.iter().enumerate() {
                    out.push_str(&pad(indent + 1));
                    out.push_str(&Value::String((*k).clone()).to_string());
                    out.push_str(": ");
                    write(&map[*k], indent + 1, out);
                    if i + 1 < keys.len() {
                        out.push(',');
                    }
                    out.push('\n');
                }
                out.push_str(&pad(indent));
                out.push('}');
            }
            Value::Array(items) if items.iter().any(|x| x.is_object() || x.is_array()) => {
                out.push_str("[\n");
                for (i, x) in items.iter().enumerate() {
                    out.push_str(&pad(indent + 1));
                    write(x, indent + 1, out);
                    if i + 1 < items.len() {
                        out.push(',');
                    }
                    out.push('\n');
                }
                out.push_str(&pad(indent));
                out.push(']');
            }
            Value::Array(items) => {
                let parts: Vec<String> = items.iter().map(Value::to_string).collect();
                out.push('[');
                out.push_str(&parts.join(", "));
                out.push(']');
            }
            other => out.push_str(&other.to_string()),
        }
    }
    let mut out = String::new();
    write(value, 0, &mut out);
    out.push('\n');
    out
}

/// SHA-256 of a file's bytes, lowercase hex.
pub fn file_sha256(bytes: &[u8]) -> String {
    hex(sharelock_core::crypto::sha256(bytes))
}

/// `MANIFEST` as `filename → sha256`.
pub fn read_manifest() -> BTreeMap<String, String> {
    let text = std::fs::read_to_string(vectors_dir().join("MANIFEST")).unwrap_or_default();
    text.lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| {
            let (hash, name) = l
                .split_once("  ")
                .unwrap_or_else(|| panic!("bad MANIFEST line {l:?}"));
            (name.to_owned(), hash.to_owned())
        })
        .collect()
}

fn update_manifest(file_name: &str, hash: String) {
    let _guard = MANIFEST_LOCK.lock().unwrap_or_else(|p| p.into_inner());
    let mut manifest = read_manifest();
    manifest.insert(file_name.to_owned(), hash);
    let text: String = manifest
        .iter()
        .map(|(name, hash)| format!("{hash}  {name}\n"))
        .collect();
    std::fs::write(vectors_dir().join("MANIFEST"), text)
        .unwrap_or_else(|e| panic!("writing MANIFEST: {e}"));
}

fn check_shape(area: &str, cases: &[Value]) {
    let mut names = BTreeSet::new();
    for c in cases {
        let case = Case(c);
        assert!(
            names.insert(case.name().to_owned()),
            "{area}: duplicate case name {:?}",
            case.name()
        );
        if !case.valid() {
            assert!(
                !case.error().is_empty(),
                "{area}: negative case {:?} has no error kind",
                case.name()
            );
        }
    }
}

/// Writes (with `SHARELOCK_WRITE_VECTORS=1`) or checks `protocol/vectors/<area>.json`.
pub fn run_area(area: &str, description: &str, generate: fn() -> Vec<Value>, check: fn(&Case)) {
    let path = vectors_dir().join(format!("{area}.json"));
    let cases = generate();
    check_shape(area, &cases);
    let mut doc = Map::new();
    doc.insert("description".into(), Value::String(description.into()));
    doc.insert("cases".into(), Value::Array(cases));
    let doc = Value::Object(doc);

    if writing() {
        let text = to_canonical_json(&doc);
        std::fs::create_dir_all(vectors_dir()).unwrap_or_else(|e| panic!("{e}"));
        std::fs::write(&path, &text).unwrap_or_else(|e| panic!("writing {}: {e}", path.display()));
        update_manifest(&format!("{area}.json"), file_sha256(text.as_bytes()));
    }

    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| {
        panic!(
            "{}: {e} (run with SHARELOCK_WRITE_VECTORS=1 to create it)",
            path.display()
        )
    });
    let stored: Value =
        serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let stored_cases = stored["cases"]
        .as_array()
        .unwrap_or_else(|| panic!("{area}: no \"cases\" array"));
    check_shape(area, stored_cases);

    let mut failed = Vec::new();
    for c in stored_cases {
        let case = Case(c);
        if catch_unwind(AssertUnwindSafe(|| check(&case))).is_err() {
            failed.push(case.name().to_owned());
        }
    }
    assert!(
        failed.is_empty(),
        "{area}: cases failed against the code: {failed:?}"
    );

    // The code must still produce exactly the stored cases: a change is deliberate only if the file is
    // regenerated (and its MANIFEST line changes with it).
    let generated = doc["cases"]
        .as_array()
        .map(Vec::as_slice)
        .unwrap_or_default();
    for (i, (g, s)) in generated.iter().zip(stored_cases).enumerate() {
        assert_eq!(
            g,
            s,
            "{area}: case {i} ({:?}) differs from what the code generates now",
            s.get("name")
        );
    }
    assert_eq!(
        generated.len(),
        stored_cases.len(),
        "{area}: the code generates another number of cases"
    );
    assert_eq!(
        doc["description"], stored["description"],
        "{area}: description differs"
    );
}

/// A fixed P-256 device key for vectors that need a real point or a signature (PKCS#8 DER, hex). Only the
/// test vectors use it.
pub const FIXED_DEVICE_PKCS8: &str = "308187020100301306072a8648ce3d020106082a8648ce3d030107046d306b0201010420efbb5641a88e89bd99ac537426b59ce159e85c2baa661c8c45ff34007e9cd729a14403420004dce84fdb0d00bb16007adbc69d551a10a63dcb1167cb0020f185f877c7032ff33a5c105aaa751a4d8799f207d742fc0d2224d1a55374c83cb92340f8ca528111";

/// The public point of [`FIXED_DEVICE_PKCS8`] (65-byte SEC1, hex).
pub const FIXED_DEVICE_PUBLIC: &str = "04dce84fdb0d00bb16007adbc69d551a10a63dcb1167cb0020f185f877c7032ff33a5c105aaa751a4d8799f207d742fc0d2224d1a55374c83cb92340f8ca528111";

/// The fixed device key.
pub fn fixed_device() -> sharelock_core::device::DeviceKey {
    let key = sharelock_core::device::DeviceKey::from_pkcs8(&unhex(FIXED_DEVICE_PKCS8)).unwrap();
    assert_eq!(hex(key.public_key()), FIXED_DEVICE_PUBLIC);
    key
}
