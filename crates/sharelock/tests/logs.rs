//! No id, token, share id, session token, email or key material in anything the server writes (issue 9
//! item 8). One full run through the real binary at its most verbose logging (`SHARELOCK_LOG=trace`,
//! every crate): accounts, records, files in S3, shares, binds, edits, attachments, wrong passwords and
//! tokens, a refused device, a wrong passphrase, a deleted share, bad requests, and the S3 endpoint
//! stopped mid-run. Afterwards every such value the run used is collected, from the server's database
//! (every short binary value of every table, every email), the client homes (session tokens, data keys,
//! device keys) and the links, in hex, base64, base64url, UUID and byte-list forms, and none may
//! appear in the server's standard output or error.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::collections::BTreeSet;
use std::path::Path;

use common::TestServer;
use common::home::{Home, PASSWORD};
use serde_json::Value;
use sharelock_core::encoding::{b64, b64u};
use sharelock_store::testing::s3::S3Server;

const OWNER_EMAIL: &str = "owner.logscan@example.org";
const WRONG_PASSWORD: &str = "wrong horse battery staple";
const PASSPHRASE: &str = "open sesame logscan";

/// Every way `bytes` could be printed.
fn forms(bytes: &[u8], into: &mut BTreeSet<String>) {
    if bytes.len() < 8 {
        return;
    }
    let hex: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
    into.insert(hex.to_uppercase());
    into.insert(hex);
    into.insert(b64u(bytes));
    let standard = b64(bytes);
    into.insert(standard.trim_end_matches('=').to_owned());
    into.insert(standard);
    if let Ok(array) = <[u8; 16]>::try_from(bytes) {
        let id = uuid::Uuid::from_bytes(array);
        into.insert(id.to_string());
        into.insert(id.to_string().to_uppercase());
    }
    if bytes.len() <= 64 {
        into.insert(format!("{bytes:?}"));
    }
}

/// A text value that is an encoding of a secret or id (no spaces, URLs or prose): itself, and the
/// forms of what it decodes to.
fn token_forms(text: &str, into: &mut BTreeSet<String>) {
    let text = text.trim();
    if text.len() < 16
        || !text
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_=+/".contains(c))
    {
        return;
    }
    into.insert(text.to_owned());
    if let Ok(bytes) = sharelock_core::encoding::b64u_decode("value", text) {
        forms(&bytes, into);
    }
    if let Ok(bytes) = sharelock_core::encoding::b64_decode("value", text) {
        forms(&bytes, into);
    }
    if let Ok(id) = uuid::Uuid::parse_str(text) {
        forms(id.as_bytes(), into);
    }
}

fn json_strings(value: &Value, into: &mut BTreeSet<String>) {
    match value {
        Value::String(s) => token_forms(s, into),
        Value::Array(items) => items.iter().for_each(|v| json_strings(v, into)),
        Value::Object(map) => map.values().for_each(|v| json_strings(v, into)),
        _ => {}
    }
}

/// Session tokens, data keys, device keys: every token-like string in every file of a CLI home.
fn home_values(dir: &Path, into: &mut BTreeSet<String>) {
    for entry in std::fs::read_dir(dir).unwrap().flatten() {
        let path = entry.path();
        if path.is_dir() {
            home_values(&path, into);
            continue;
        }
        let bytes = std::fs::read(&path).unwrap();
        match serde_json::from_slice::<Value>(&bytes) {
            Ok(json) => json_strings(&json, into),
            Err(_) => {
                if let Ok(text) = std::str::from_utf8(&bytes) {
                    text.split_whitespace().for_each(|t| token_forms(t, into));
                } else {
                    forms(&bytes, into);
                }
            }
        }
    }
}

/// Every id, hash, key and token the database holds (binary values up to 256 bytes), and every email.
fn database_values(db: &Path, into: &mut BTreeSet<String>) -> usize {
    let conn = rusqlite::Connection::open(db).unwrap();
    let tables: Vec<String> = conn
        .prepare("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'")
        .unwrap()
        .query_map([], |row| row.get(0))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    let mut values = 0;
    for table in tables {
        let mut statement = conn.prepare(&format!("SELECT * FROM \"{table}\"")).unwrap();
        let columns = statement.column_count();
        let mut rows = statement.query([]).unwrap();
        while let Some(row) = rows.next().unwrap() {
            for i in 0..columns {
                match row.get_ref(i).unwrap() {
                    rusqlite::types::ValueRef::Blob(b) if b.len() <= 256 => {
                        forms(b, into);
                        values += 1;
                    }
                    rusqlite::types::ValueRef::Text(t) => {
                        let t = String::from_utf8_lossy(t);
                        if t.contains('@') {
                            into.insert(t.into_owned());
                            values += 1;
                        }
                    }
                    _ => {}
                }
            }
        }
    }
    values
}

/// The link's secret part, and the secret, share id and access token it carries.
fn link_values(link: &str, passphrase: Option<&str>, into: &mut BTreeSet<String>) {
    let fragment = &link[link.find('#').unwrap() + 1..];
    into.insert(fragment.to_owned());
    fragment.split('.').for_each(|part| token_forms(part, into));
    let parsed = sharelock_core::share::Link::parse(link).unwrap();
    let secret = sharelock_core::share::LinkSecret::from_bytes(*parsed.secret.expose());
    forms(parsed.secret.expose(), into);
    forms(secret.share_id().as_bytes(), into);
    let keys = sharelock_core::share::ShareKeys::derive(secret, passphrase).unwrap();
    token_forms(&keys.access_token().to_b64u(), into);
}

fn request(
    runtime: &tokio::runtime::Runtime,
    method: reqwest::Method,
    url: String,
    headers: &[(&str, &str)],
) -> u16 {
    runtime.block_on(async {
        let mut request = reqwest::Client::new().request(method, url);
        for (k, v) in headers {
            request = request.header(*k, *v);
        }
        request.send().await.unwrap().status().as_u16()
    })
}

#[test]
fn the_server_writes_no_id_token_email_or_key() {
    let mut s3 = S3Server::start().expect("start moto");
    let bucket = s3.bucket();
    let mut env = bucket.server_env();
    env.push(("SHARELOCK_LOG".into(), "trace".into()));
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    let server = TestServer::start_with(&env);
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let mut used = BTreeSet::new();
    let mut sent = Vec::new();

    // Accounts: register, a wrong password, an unknown email, a right login.
    let owner = Home::new(&server);
    owner.register(OWNER_EMAIL);
    let wrong = owner.run_env(
        &["login", "--email", OWNER_EMAIL],
        &[("SHARELOCK_PASSWORD", WRONG_PASSWORD)],
    );
    assert_ne!(wrong.code, 0, "{wrong:?}");
    let unknown = owner.run_env(
        &["login", "--email", "nobody.logscan@example.org"],
        &[("SHARELOCK_PASSWORD", PASSWORD)],
    );
    assert_ne!(unknown.code, 0, "{unknown:?}");
    owner
        .run_env(
            &["login", "--email", OWNER_EMAIL],
            &[("SHARELOCK_PASSWORD", PASSWORD)],
        )
        .ok();

    // Records, one with a file (in S3).
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
            "password=hunter2-logscan",
            "--json",
        ])
        .ok()
        .json()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let scan = server.scratch().join("scan.bin");
    std::fs::write(&scan, vec![42u8; 300_000]).unwrap();
    let files = owner.add_file_record("Scans", &scan);

    // Shares: editable and bound, a refused device, wrong tokens, edits both ways, attachments.
    let (editable, editable_share) = owner.share(&files, &["--expires", "1h", "--editable"]);
    let bob = Home::new(&server);
    bob.run(&["open", &editable, "--json"]).ok();
    Home::new(&server).run(&["open", &editable]).code(4);
    let share_id = sharelock_core::share::LinkSecret::from_bytes(
        *sharelock_core::share::Link::parse(&editable)
            .unwrap()
            .secret
            .expose(),
    )
    .share_id()
    .to_b64u();
    for i in 0..8u8 {
        let wrong = b64u(&[i.wrapping_mul(17).wrapping_add(3); 32]);
        request(
            &runtime,
            reqwest::Method::GET,
            format!("{}/api/v1/recipient/status", server.url),
            &[("sharelock-share", &share_id), ("sharelock-access", &wrong)],
        );
        sent.push(wrong);
    }
    bob.run(&["open", &editable, "--set", "note=from bob"]).ok();
    let reply = server.scratch().join("reply.bin");
    std::fs::write(&reply, vec![7u8; 50_000]).unwrap();
    bob.run(&["open", &editable, "--attach", reply.to_str().unwrap()])
        .ok();
    owner
        .run(&["record", "edit", &login, "--field", "username=ada2"])
        .ok();
    let saved = server.scratch().join("saved");
    owner
        .run(&[
            "record",
            "show",
            &files,
            "--save-files",
            saved.to_str().unwrap(),
        ])
        .ok();

    // A passphrase share: a wrong passphrase, then the right one.
    let passphrase_link = owner
        .run_env(
            &[
                "share",
                "create",
                &login,
                "--expires",
                "1h",
                "--passphrase",
                "--json",
            ],
            &[("SHARELOCK_SHARE_PASSPHRASE", PASSPHRASE)],
        )
        .ok()
        .json()["link"]
        .as_str()
        .unwrap()
        .to_owned();
    let carol = Home::new(&server);
    carol
        .run_env(
            &["open", &passphrase_link],
            &[("SHARELOCK_SHARE_PASSPHRASE", "not the passphrase")],
        )
        .code(5);
    carol
        .run_env(
            &["open", &passphrase_link],
            &[("SHARELOCK_SHARE_PASSPHRASE", PASSPHRASE)],
        )
        .ok();

    // Requests the server refuses: a made-up session token, bad and unknown ids, unknown shares.
    let fake_session = b64u(&[0x5au8; 32]);
    let unknown_record = uuid::Uuid::new_v4().to_string();
    let unknown_share = b64u(&[0x33u8; 16]);
    let bearer = format!("Bearer {fake_session}");
    let api = format!("{}/api/v1", server.url);
    for (method, path, headers) in [
        (
            reqwest::Method::GET,
            format!("{api}/records/{unknown_record}"),
            vec![("authorization", bearer.as_str())],
        ),
        (
            reqwest::Method::GET,
            format!("{api}/records/{login}"),
            vec![("authorization", bearer.as_str())],
        ),
        (
            reqwest::Method::GET,
            format!("{api}/records/not-a-record-{unknown_record}"),
            vec![],
        ),
        (
            reqwest::Method::DELETE,
            format!("{api}/shares/{editable_share}"),
            vec![("authorization", bearer.as_str())],
        ),
        (
            reqwest::Method::GET,
            format!("{api}/recipient/status"),
            vec![
                ("sharelock-share", unknown_share.as_str()),
                ("sharelock-access", fake_session.as_str()),
            ],
        ),
        (
            reqwest::Method::GET,
            format!("{api}/recipient/share"),
            vec![("sharelock-share", share_id.as_str())],
        ),
        (
            reqwest::Method::GET,
            format!("{api}/recipient/files/{unknown_record}"),
            vec![("sharelock-share", share_id.as_str())],
        ),
        (
            reqwest::Method::PUT,
            format!("{api}/recipient/files/{unknown_record}/parts/99999999"),
            vec![("sharelock-share", share_id.as_str())],
        ),
    ] {
        let status = request(&runtime, method, path.clone(), &headers);
        assert!((400..500).contains(&status), "{path}: {status}");
    }
    sent.extend([fake_session, unknown_record, unknown_share]);

    // A deleted share.
    owner.run(&["share", "delete", &editable_share]).ok();
    bob.run(&["open", &editable]).code(3);

    // The S3 endpoint goes away: uploads, downloads and blob deletions fail. (The rows about to be
    // deleted are collected first.)
    database_values(&server.data_dir().join("sharelock.db"), &mut used);
    s3.stop();
    let lost = server.scratch().join("lost.bin");
    std::fs::write(&lost, vec![9u8; 10_000]).unwrap();
    let failed = owner.run(&[
        "record",
        "add",
        "--type",
        "file",
        "--title",
        "Lost",
        "--file",
        lost.to_str().unwrap(),
    ]);
    assert_ne!(failed.code, 0, "{failed:?}");
    let failed = owner.run(&[
        "record",
        "show",
        &files,
        "--save-files",
        server.scratch().join("unsaved").to_str().unwrap(),
    ]);
    assert_ne!(failed.code, 0, "{failed:?}");
    owner.run(&["record", "delete", &files]).ok();

    // Collect every value the run used, while the homes still hold their sessions and keys.
    let rows = database_values(&server.data_dir().join("sharelock.db"), &mut used);
    assert!(rows > 20, "the database held only {rows} values");
    for home in [&owner, &bob, &carol] {
        home_values(home.path(), &mut used);
    }
    link_values(&editable, None, &mut used);
    link_values(&passphrase_link, Some(PASSPHRASE), &mut used);
    for value in [&login, &files, &editable_share, &share_id] {
        token_forms(value, &mut used);
    }
    for value in &sent {
        token_forms(value, &mut used);
    }
    used.extend(
        [
            OWNER_EMAIL,
            "nobody.logscan@example.org",
            PASSWORD,
            WRONG_PASSWORD,
            PASSPHRASE,
            "hunter2-logscan",
        ]
        .map(str::to_owned),
    );
    owner.run(&["logout"]).ok();

    let log = server.log();
    assert!(
        log.lines().count() > 200 && log.contains("TRACE"),
        "the server did not log at trace level: {} lines",
        log.lines().count()
    );
    assert!(
        log.contains("blob write failed") && log.contains("could not delete a file blob"),
        "the stopped S3 endpoint's failures are not in the log"
    );
    assert_not_written(&server, &used);
}

/// None of `used` appears in the server's standard output or error.
fn assert_not_written(server: &TestServer, used: &BTreeSet<String>) {
    let log = server.log();
    let stdout = server.stdout();
    let mut found = Vec::new();
    for value in used {
        for (name, text) in [("log", &log), ("stdout", &stdout)] {
            if let Some(at) = text.find(value.as_str()) {
                let line_start = text[..at].rfind('\n').map_or(0, |i| i + 1);
                let line_end = text[at..].find('\n').map_or(text.len(), |i| at + i);
                found.push(format!(
                    "{value:?} in {name}: {}",
                    &text[line_start..line_end]
                ));
            }
        }
    }
    assert!(
        found.is_empty(),
        "{} of {} values written by the server:\n{}",
        found.len(),
        used.len(),
        found.join("\n")
    );
}

/// The same with local blob storage gone bad under a running server (a file where the directory of
/// file parts should be), logging JSON lines: failed uploads, downloads and deletions name no record or
/// file id.
#[test]
fn a_broken_blob_directory_is_logged_without_ids() {
    let server =
        TestServer::start_with(&[("SHARELOCK_LOG", "trace"), ("SHARELOCK_LOG_FORMAT", "json")]);
    let owner = Home::new(&server);
    owner.register(OWNER_EMAIL);
    let scan = server.scratch().join("scan.bin");
    std::fs::write(&scan, vec![42u8; 100_000]).unwrap();
    let kept = owner.add_file_record("Scans", &scan);

    let mut used = BTreeSet::new();
    database_values(&server.data_dir().join("sharelock.db"), &mut used);
    let files_dir = server.data_dir().join("blobs").join("files");
    std::fs::rename(&files_dir, server.scratch().join("moved-away")).unwrap();
    std::fs::write(&files_dir, b"not a directory").unwrap();
    let failed = owner.run(&[
        "record",
        "add",
        "--type",
        "file",
        "--title",
        "Lost",
        "--file",
        scan.to_str().unwrap(),
    ]);
    assert_ne!(failed.code, 0, "{failed:?}");
    let failed = owner.run(&[
        "record",
        "show",
        &kept,
        "--save-files",
        server.scratch().join("unsaved").to_str().unwrap(),
    ]);
    assert_ne!(failed.code, 0, "{failed:?}");
    owner.run(&["record", "delete", &kept]).ok();

    database_values(&server.data_dir().join("sharelock.db"), &mut used);
    home_values(owner.path(), &mut used);
    token_forms(&kept, &mut used);
    used.extend([OWNER_EMAIL, PASSWORD].map(str::to_owned));
    let log = server.log();
    assert!(
        log.contains("blob write failed"),
        "the broken directory left no trace in the log"
    );
    assert_not_written(&server, &used);
}
