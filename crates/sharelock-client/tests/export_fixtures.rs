//! The export fixtures of `protocol/export/` (docs/export.md): the files the web app's age implementation
//! made, and the ones this crate made, all decrypt here to the sample document, which parses.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use sharelock_client::export::{self, ExportDocument, ExportError};
use std::path::PathBuf;

const PASSPHRASE: &str = "sharelock export fixture";

fn fixture(name: &str) -> Vec<u8> {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../protocol/export")
        .join(name);
    std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

#[test]
fn every_fixture_decrypts_to_the_sample_document() {
    let sample = fixture("sample.json");
    for name in ["web.age", "web.age.asc", "rust.age", "rust.age.asc"] {
        let file = fixture(name);
        // The age crate alone, as any age client reads it.
        let identity =
            age::scrypt::Identity::new(age::secrecy::SecretString::from(PASSPHRASE.to_owned()));
        assert_eq!(age::decrypt(&identity, &file).unwrap(), sample, "{name}");
        assert_eq!(
            export::decrypt(&file, PASSPHRASE).unwrap().to_vec(),
            sample,
            "{name}"
        );
        assert!(
            matches!(
                export::decrypt(&file, "another passphrase"),
                Err(ExportError::WrongPassphrase)
            ),
            "{name}"
        );
    }
    let doc = ExportDocument::from_json(&sample).unwrap();
    assert_eq!(doc.records.len(), 3);
    let login = doc.records[0].body().unwrap();
    assert_eq!(login.title, "Mail — Café ✓");
    assert_eq!(login.field("password").unwrap().value, "=1+2, \"quoted\"");
    assert_eq!(doc.records[1].body().unwrap().title, "金庫の番号");
    assert_eq!(doc.records[2].files.len(), 2);
    assert_eq!(doc.records[2].files[0].name, "passport scan.pdf");
}
