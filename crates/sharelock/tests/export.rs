//! `sharelock export` and `sharelock share report`, end to end: the real binary against a real server.
//! The encrypted export is opened with the age crate alone, as any age client would; the plain forms and
//! the report's CSV are read back cell by cell.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::TestServer;
use common::home::Home;
use serde_json::Value;
use std::path::Path;

const EXPORT_PASSPHRASE: &str = "a long export passphrase";

fn age_decrypt(file: &[u8], passphrase: &str) -> Result<Vec<u8>, age::DecryptError> {
    let identity =
        age::scrypt::Identity::new(age::secrecy::SecretString::from(passphrase.to_owned()));
    age::decrypt(&identity, file)
}

fn csv_rows(bytes: &[u8]) -> (Vec<String>, Vec<Vec<String>>) {
    let mut reader = csv::Reader::from_reader(bytes);
    let header = reader.headers().unwrap().iter().map(Into::into).collect();
    let rows = reader
        .records()
        .map(|r| r.unwrap().iter().map(Into::into).collect())
        .collect();
    (header, rows)
}

/// A vault with a login (a custom secret field, a password a spreadsheet would run), a note and a
/// record with a file. Returns the login's id.
fn fill(owner: &Home, scratch: &Path) -> String {
    let login = owner
        .run(&[
            "record",
            "add",
            "--type",
            "login",
            "--title",
            "Mail",
            "--field",
            "username=ada",
            "--field",
            "password==1+2",
            "--secret-field",
            "api key=k-123",
            "--notes",
            "first line\nsecond, \"quoted\"",
            "--json",
        ])
        .ok()
        .json()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    owner
        .run(&[
            "record",
            "add",
            "--type",
            "note",
            "--title",
            "Safe combo",
            "--notes",
            "12-34-56",
        ])
        .ok();
    let scan = scratch.join("passport scan.pdf");
    std::fs::write(&scan, b"%PDF not really").unwrap();
    owner.add_file_record("Passport", &scan);
    login
}

#[test]
fn an_encrypted_export_opens_with_age_and_holds_every_record_but_no_file() {
    let server = TestServer::start();
    let owner = Home::new(&server);
    owner.register("export@example.org");
    let login = fill(&owner, server.scratch());
    let out = owner.path().join("vault.age");
    let env = [("SHARELOCK_EXPORT_PASSPHRASE", EXPORT_PASSPHRASE)];
    let run = owner
        .run_env(&["export", "--output", out.to_str().unwrap()], &env)
        .ok();
    assert!(run.stderr.contains("Exported 3 records"), "{run:?}");
    assert!(
        run.stderr.contains("File contents are never exported")
            && run.stderr.contains("passport scan.pdf"),
        "the files left behind are named: {run:?}"
    );
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&out).unwrap().permissions().mode();
        assert_eq!(mode & 0o077, 0, "readable by its owner only");
    }
    let file = std::fs::read(&out).unwrap();
    assert!(file.starts_with(b"age-encryption.org/v1\n-> scrypt "));
    assert!(age_decrypt(&file, "not the passphrase").is_err());
    let plain = age_decrypt(&file, EXPORT_PASSPHRASE).unwrap();
    let text = String::from_utf8(plain.clone()).unwrap();
    assert!(!text.contains("\"key\""), "no file key leaves the vault");
    let doc: Value = serde_json::from_slice(&plain).unwrap();
    assert_eq!(doc["format"], "sharelock-export");
    assert_eq!(doc["version"], 1);
    assert!(doc["exported_at"].as_str().unwrap().ends_with('Z'));
    let records = doc["records"].as_array().unwrap();
    assert_eq!(records.len(), 3);
    let mail = records.iter().find(|r| r["id"] == login.as_str()).unwrap();
    assert_eq!(mail["version"], 1);
    assert_eq!(mail["body"]["type"], "login");
    assert_eq!(mail["body"]["title"], "Mail");
    assert_eq!(mail["body"]["notes"], "first line\nsecond, \"quoted\"");
    assert_eq!(
        mail["body"]["fields"],
        serde_json::json!([
            {"name": "username", "kind": "text", "value": "ada"},
            {"name": "password", "kind": "secret", "value": "=1+2"},
            {"name": "api key", "kind": "secret", "value": "k-123"},
        ])
    );
    assert_eq!(mail["files"], serde_json::json!([]));
    let passport = records
        .iter()
        .find(|r| r["body"]["title"] == "Passport")
        .unwrap();
    assert_eq!(passport["body"]["files"], serde_json::json!([]));
    assert_eq!(
        passport["files"],
        serde_json::json!([{"name": "passport scan.pdf", "size": 15, "content_type": "application/pdf"}])
    );
    // The library's reader agrees (what `sharelock import` reads).
    let parsed = sharelock_client::export::ExportDocument::from_json(&plain).unwrap();
    assert_eq!(parsed.records.len(), 3);

    // Armored, to standard output; a generated passphrase is shown once (and in --json).
    let armored = owner.path().join("vault.age.asc");
    let run = owner
        .run(&[
            "export",
            "--armor",
            "--generate-passphrase",
            "--json",
            "--output",
            armored.to_str().unwrap(),
        ])
        .ok();
    let summary = run.json();
    assert_eq!(summary["records"], 3);
    assert_eq!(summary["encrypted"], true);
    assert_eq!(
        summary["files_not_exported"][0]["name"],
        "passport scan.pdf"
    );
    let words = summary["passphrase"].as_str().unwrap();
    assert_eq!(words.split(' ').count(), 6);
    let file = std::fs::read(&armored).unwrap();
    assert!(file.starts_with(b"-----BEGIN AGE ENCRYPTED FILE-----"));
    let doc: Value = serde_json::from_slice(&age_decrypt(&file, words).unwrap()).unwrap();
    assert_eq!(doc["records"].as_array().unwrap().len(), 3);

    // Standard output when it is not a terminal.
    let run = owner.run_env(&["export"], &env).ok();
    assert!(run.stdout.starts_with("age-encryption.org/v1"));

    // An existing file is never replaced; a short passphrase is refused; nothing is written either way.
    owner
        .run_env(&["export", "--output", out.to_str().unwrap()], &env)
        .code(2);
    let short = owner.path().join("short.age");
    owner
        .run_env(
            &["export", "--output", short.to_str().unwrap()],
            &[("SHARELOCK_EXPORT_PASSPHRASE", "short")],
        )
        .code(2);
    assert!(!short.exists());
    // No passphrase and no terminal to ask on.
    owner
        .run(&["export", "--output", short.to_str().unwrap()])
        .code(2);
    assert!(!short.exists());
    // Not logged in.
    Home::new(&server)
        .run_env(&["export", "--output", short.to_str().unwrap()], &env)
        .code(5);
}

#[test]
fn a_plain_export_needs_the_explicit_flag_and_is_exact() {
    let server = TestServer::start();
    let owner = Home::new(&server);
    owner.register("plain@example.org");
    fill(&owner, server.scratch());
    let json_out = owner.path().join("vault.json");
    let run = owner
        .run(&[
            "export",
            "--plain",
            "json",
            "--output",
            json_out.to_str().unwrap(),
        ])
        .code(2);
    assert!(run.stderr.contains("NOT encrypted"), "{run:?}");
    assert!(run.stderr.contains("--i-understand-this-is-unencrypted"));
    assert!(!json_out.exists(), "nothing is written without the flag");

    let run = owner
        .run(&[
            "export",
            "--plain",
            "json",
            "--i-understand-this-is-unencrypted",
            "--output",
            json_out.to_str().unwrap(),
        ])
        .ok();
    assert!(
        run.stderr.contains("NOT encrypted"),
        "warned again: {run:?}"
    );
    let doc: Value = serde_json::from_slice(&std::fs::read(&json_out).unwrap()).unwrap();
    assert_eq!(doc["format"], "sharelock-export");
    assert_eq!(doc["records"].as_array().unwrap().len(), 3);

    let run = owner
        .run(&[
            "export",
            "--plain",
            "csv",
            "--i-understand-this-is-unencrypted",
        ])
        .ok();
    let (header, rows) = csv_rows(run.stdout.as_bytes());
    assert_eq!(
        header[..9],
        [
            "id",
            "type",
            "title",
            "notes",
            "updated_at",
            "files",
            "field_1_name",
            "field_1_kind",
            "field_1_value"
        ]
    );
    assert_eq!(
        header.len(),
        6 + 3 * 3,
        "as many triples as the widest record"
    );
    assert_eq!(rows.len(), 3);
    let mail = rows.iter().find(|r| r[2] == "Mail").unwrap();
    assert_eq!(mail[1], "login");
    assert_eq!(mail[3], "first line\nsecond, \"quoted\"");
    assert_eq!(
        mail[6..],
        [
            "username", "text", "ada", "password", "secret", "=1+2", "api key", "secret", "k-123"
        ]
    );
    let passport = rows.iter().find(|r| r[2] == "Passport").unwrap();
    assert_eq!(passport[5], "passport scan.pdf");
    let note = rows.iter().find(|r| r[2] == "Safe combo").unwrap();
    assert_eq!(note[3], "12-34-56");
    assert!(note[6..].iter().all(String::is_empty));

    // --armor and a passphrase belong to the encrypted form only (refused by the argument parser, whose
    // usage text follows its one-line reason).
    let run = owner.run(&[
        "export",
        "--plain",
        "json",
        "--armor",
        "--i-understand-this-is-unencrypted",
    ]);
    assert_eq!(run.code, 2, "{run:?}");
    assert!(
        run.stderr.contains("cannot be used with '--armor'"),
        "{run:?}"
    );
    let run = owner.run(&["export", "--i-understand-this-is-unencrypted"]);
    assert_eq!(run.code, 2, "{run:?}");
    assert!(run.stderr.contains("--plain"), "{run:?}");
}

#[test]
fn the_shared_records_report_counts_what_happened_to_every_share() {
    let server = TestServer::start();
    let owner = Home::new(&server);
    owner.register("report@example.org");
    let record = owner
        .run(&[
            "record",
            "add",
            "--type",
            "login",
            "--title=-Mail",
            "--field",
            "username=ada",
            "--json",
        ])
        .ok()
        .json()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    // Opened by one device (after a wrong passphrase), refused to another, edited once.
    let wrong = [("SHARELOCK_SHARE_PASSPHRASE", "wrong wrong wrong")];
    let right = [("SHARELOCK_SHARE_PASSPHRASE", "right passphrase here")];
    let created = owner
        .run_env(
            &[
                "share",
                "create",
                &record,
                "--json",
                "--expires",
                "1d",
                "--editable",
                "--passphrase",
                "--label",
                "=HYPERLINK(\"http://evil.example\")",
            ],
            &right,
        )
        .ok()
        .json();
    let link = created["link"].as_str().unwrap().to_owned();
    let recipient = Home::new(&server);
    recipient.run_env(&["open", &link], &wrong).code(5);
    recipient.run_env(&["open", &link], &right).ok();
    recipient
        .run_env(&["open", &link, "--set", "username=grace"], &right)
        .ok();
    Home::new(&server).run_env(&["open", &link], &right).code(4);
    // Ended by its owner before anyone opened it.
    let (_, ended) = owner.share(&record, &["--expires", "1h", "--label", "for Bob"]);
    owner.run(&["share", "delete", &ended]).ok();

    let out = owner.path().join("report.csv");
    let run = owner
        .run(&["share", "report", "--output", out.to_str().unwrap()])
        .ok();
    assert!(run.stderr.contains("Wrote 2 shares"), "{run:?}");
    let bytes = std::fs::read(&out).unwrap();
    assert!(String::from_utf8_lossy(&bytes).contains("\r\n"));
    let (header, rows) = csv_rows(&bytes);
    assert_eq!(
        header,
        [
            "share",
            "record_id",
            "record_title",
            "label",
            "state",
            "end_reason",
            "editable",
            "passphrase",
            "view_once",
            "device_fingerprint",
            "device_verified",
            "created_at",
            "expires_at",
            "opened_at",
            "ended_at",
            "last_access_at",
            "opens",
            "edits",
            "wrong_passphrases",
            "last_wrong_passphrase_at",
            "refused_devices",
            "last_refused_at",
            "problem"
        ]
    );
    assert_eq!(rows.len(), 2);
    let col = |name: &str| header.iter().position(|h| h == name).unwrap();
    let live = rows.iter().find(|r| r[col("state")] == "active").unwrap();
    // Formula-looking cells are defused; the title and label were decrypted here.
    assert_eq!(live[col("record_title")], "'-Mail");
    assert_eq!(live[col("label")], "'=HYPERLINK(\"http://evil.example\")");
    assert_eq!(live[col("record_id")], record);
    assert_eq!(live[col("end_reason")], "");
    assert_eq!(live[col("editable")], "true");
    assert_eq!(live[col("passphrase")], "true");
    assert_eq!(live[col("device_verified")], "true");
    assert!(!live[col("device_fingerprint")].is_empty());
    assert!(!live[col("opened_at")].is_empty());
    assert_eq!(
        live[col("opens")],
        "1",
        "three fetches in a minute: one open"
    );
    assert_eq!(live[col("edits")], "1");
    assert_eq!(live[col("wrong_passphrases")], "1");
    assert_eq!(live[col("refused_devices")], "1");
    assert!(!live[col("last_refused_at")].is_empty());
    let gone = rows.iter().find(|r| r[col("state")] == "ended").unwrap();
    assert_eq!(gone[col("share")], ended);
    assert_eq!(gone[col("label")], "for Bob");
    assert_eq!(gone[col("end_reason")], "deleted");
    assert_eq!(gone[col("opens")], "0");
    assert!(gone[col("device_fingerprint")].is_empty());
    assert!(!gone[col("ended_at")].is_empty());

    // The same CSV on standard output; a table for people; JSON with the same columns.
    let run = owner.run(&["share", "report", "--csv"]).ok();
    assert_eq!(csv_rows(run.stdout.as_bytes()).1.len(), 2);
    let run = owner.run(&["share", "report"]).ok();
    assert!(
        run.stdout.contains("OPENS") && run.stdout.contains("ended: deleted"),
        "{run:?}"
    );
    let json = owner.run(&["share", "report", "--json"]).ok().json();
    let shares = json["shares"].as_array().unwrap();
    assert_eq!(shares.len(), 2);
    let live = shares.iter().find(|s| s["state"] == "active").unwrap();
    assert_eq!(live["opens"], 1);
    assert_eq!(live["refused_devices"], 1);
    assert_eq!(live["wrong_passphrases"], 1);
    assert_eq!(live["edits"], 1);
    assert_eq!(
        live["label"], "=HYPERLINK(\"http://evil.example\")",
        "JSON is exact"
    );
    assert_eq!(
        live["opened_at"].as_str().map(|t| t.ends_with('Z')),
        Some(true)
    );
    assert_eq!(
        shares.iter().find(|s| s["state"] == "ended").unwrap()["opened_at"],
        Value::Null
    );
}
