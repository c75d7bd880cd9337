//! The protocol's test vectors (`protocol/vectors/`), checked against the code; one module per area.
//!
//! `cargo test -p sharelock-core --test vectors` checks every file; `SHARELOCK_WRITE_VECTORS=1 cargo test -p
//! sharelock-core --test vectors` rewrites them and `MANIFEST` from the code (see protocol/vectors/README.md).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

mod aad;
mod attribution;
mod digest;
mod envelope;
mod kdf;
mod keys;
mod link;
mod preface;
mod record;
mod request;
mod share;
mod signature;
mod stream;
mod totp;

/// Every vector file is listed in MANIFEST with its SHA-256, and every listed file exists with that hash,
/// so no vector changes without a deliberate regeneration.
#[test]
fn manifest_matches_files() {
    if common::writing() {
        // Areas rewrite their own lines while they run; the check belongs to a normal run.
        return;
    }
    let dir = common::vectors_dir();
    let manifest = common::read_manifest();
    assert!(
        !manifest.is_empty(),
        "protocol/vectors/MANIFEST is missing or empty"
    );
    for (name, hash) in &manifest {
        let bytes = std::fs::read(dir.join(name))
            .unwrap_or_else(|e| panic!("{name} is listed in MANIFEST: {e}"));
        assert_eq!(
            &common::file_sha256(&bytes),
            hash,
            "{name} does not match its MANIFEST hash"
        );
    }
    for entry in std::fs::read_dir(&dir).unwrap() {
        let name = entry.unwrap().file_name().to_string_lossy().into_owned();
        if name.ends_with(".json") {
            assert!(
                manifest.contains_key(&name),
                "{name} is not listed in MANIFEST"
            );
        }
    }
}
