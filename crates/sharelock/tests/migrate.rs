//! `sharelock migrate` (issue 14): a SQLite deployment filled through the real binary is copied into a
//! throwaway PostgreSQL cluster, and the binary started on PostgreSQL (at the old address, so links and
//! signatures made for it stay valid) serves the same accounts, sessions, records with their history,
//! files, shares bound and unbound, and event ids.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::{TestServer, binary};
use sharelock_client::api::ErrorCode;
use sharelock_client::api::shares::Expiry;
use sharelock_client::core::record::{RecordBody, RecordType};
use sharelock_client::{
    ClientError, MemoryDeviceStore, NoProgress, OwnerSession, Recipient, ShareOptions,
};
use sharelock_store::postgres::test_cluster::fresh_database;
use sqlx::Connection as _;
use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command;
use std::time::Duration;

const PASSWORD: &str = "correct horse battery staple";

fn body(password: &str) -> RecordBody {
    let mut body = RecordBody::new(RecordType::Login, "Bank");
    body.set_field("username", "alice").unwrap();
    body.set_field("password", password).unwrap();
    body
}

fn field(body: &RecordBody, name: &str) -> String {
    body.field(name)
        .map(|f| f.value.to_string())
        .unwrap_or_default()
}

fn options(editable: bool) -> ShareOptions {
    ShareOptions {
        expires: Expiry::InSeconds(86_400),
        editable,
        burn_after_secs: None,
        label: Some("for the contractor".into()),
        passphrase: None,
        view_once: false,
        from: None,
        destroy_after_secs: None,
    }
}

fn code_of<T: std::fmt::Debug>(result: Result<T, ClientError>) -> ErrorCode {
    match result {
        Ok(v) => panic!("expected an error, got {v:?}"),
        Err(e) => e.code().unwrap_or_else(|| panic!("not an API error: {e}")),
    }
}

async fn owner(url: &str, email: &str) -> OwnerSession {
    sharelock_client::register(url, email, PASSWORD)
        .await
        .unwrap();
    sharelock_client::login(url, email, PASSWORD).await.unwrap()
}

/// Every table of the SQLite database with its row count.
fn sqlite_counts(db: &Path) -> BTreeMap<String, u64> {
    let conn = rusqlite::Connection::open(db).unwrap();
    let names: Vec<String> = conn
        .prepare("SELECT name FROM sqlite_schema WHERE type = 'table' AND name NOT LIKE 'sqlite_%'")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    names
        .into_iter()
        .map(|name| {
            let n: i64 = conn
                .query_row(&format!("SELECT count(*) FROM \"{name}\""), [], |r| {
                    r.get(0)
                })
                .unwrap();
            (name, n as u64)
        })
        .collect()
}

/// The events as (id, account, kind, share, record, number, at), in id order.
type EventRow = (
    i64,
    uuid::Uuid,
    String,
    Option<uuid::Uuid>,
    Option<uuid::Uuid>,
    Option<i64>,
    i64,
);

fn sqlite_events(db: &Path) -> Vec<EventRow> {
    let conn = rusqlite::Connection::open(db).unwrap();
    let uuid = |b: Option<Vec<u8>>| b.map(|b| uuid::Uuid::from_slice(&b).unwrap());
    conn.prepare("SELECT id, account_id, kind, share, record, number, at FROM events ORDER BY id")
        .unwrap()
        .query_map([], |r| {
            Ok((
                r.get(0)?,
                uuid::Uuid::from_slice(&r.get::<_, Vec<u8>>(1)?).unwrap(),
                r.get(2)?,
                uuid(r.get(3)?),
                uuid(r.get(4)?),
                r.get(5)?,
                r.get(6)?,
            ))
        })
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap()
}

/// Every file under `dir`, by its path below it, with its bytes.
fn files_under(dir: &Path) -> BTreeMap<String, Vec<u8>> {
    let mut out = BTreeMap::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                stack.push(path);
            } else {
                let key = path.strip_prefix(dir).unwrap().display().to_string();
                out.insert(key, std::fs::read(&path).unwrap());
            }
        }
    }
    out
}

/// The event ids the server streams to `token` from the beginning, read until `last` has come.
async fn streamed_event_ids(url: &str, token: &str, last: i64) -> Vec<i64> {
    let mut response = reqwest::Client::new()
        .get(format!("{url}/api/v1/events"))
        .bearer_auth(token)
        .header("last-event-id", "0")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 200);
    let mut text = String::new();
    let mut ids = Vec::new();
    tokio::time::timeout(Duration::from_secs(20), async {
        while !ids.contains(&last) {
            let chunk = response.chunk().await.unwrap().expect("the stream ended");
            text.push_str(&String::from_utf8_lossy(&chunk));
            ids = text
                .lines()
                .filter_map(|l| l.strip_prefix("id:"))
                .map(|id| id.trim().parse().unwrap())
                .collect();
        }
    })
    .await
    .expect("every event arrives");
    ids
}

fn migrate(from: &Path, database_url: &str, data_dir: &Path) -> std::process::Output {
    Command::new(binary())
        .args(["--json", "migrate", "--from"])
        .arg(from)
        .arg("--data-dir")
        .arg(data_dir)
        .env("SHARELOCK_DATABASE_URL", database_url)
        .env_remove("SHARELOCK_CONFIG")
        .env_remove("SHARELOCK_BLOB_BACKEND")
        .output()
        .expect("run sharelock migrate")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sqlite_deployment_moves_to_postgresql_with_every_link_device_file_and_event() {
    // --- a SQLite deployment, filled through the binary ---
    let mut old = TestServer::start_with(&[("SHARELOCK_SWEEP_INTERVAL", "1h")]);
    let url = old.url.clone();
    let mut alice = owner(&url, "alice@example.org").await;
    let record = alice.create_record(&body("first")).await.unwrap();
    alice
        .edit_record(record, None, |b: &mut RecordBody| {
            b.set_field("password", "second")
                .map_err(|e| ClientError::Invalid(e.to_string()))
        })
        .await
        .unwrap();
    let upload = old.scratch().join("report.bin");
    let file_bytes: Vec<u8> = (0..300_000u32).map(|i| (i * 7 + i / 251) as u8).collect();
    std::fs::write(&upload, &file_bytes).unwrap();
    alice
        .attach_files(record, std::slice::from_ref(&upload), &NoProgress)
        .await
        .unwrap();

    // One share bound to a device that edited through it, one never opened, one deleted.
    let bound = alice.create_share(record, options(true)).await.unwrap();
    let device = MemoryDeviceStore::new();
    let mut recipient = Recipient::open(&bound.link, None, &device).await.unwrap();
    recipient
        .set_fields(&[("password".into(), "third, by the recipient".into())])
        .await
        .unwrap();
    let unbound = alice.create_share(record, options(false)).await.unwrap();
    let deleted = alice.create_share(record, options(false)).await.unwrap();
    alice.delete_share(deleted.handle).await.unwrap();
    let mut bob = owner(&url, "bob@example.org").await;
    let bobs = bob.create_record(&body("bob's")).await.unwrap();

    let history_before: Vec<(u64, u64, String)> = alice
        .record_history(record)
        .await
        .unwrap()
        .into_iter()
        .map(|h| (h.version, h.key_gen, format!("{:?}", h.author)))
        .collect();
    let session = alice.to_bytes().unwrap();
    let token = serde_json::from_slice::<serde_json::Value>(&session).unwrap()["token"]
        .as_str()
        .unwrap()
        .to_owned();
    let listen = old.addr();
    let old_data = old.data_dir();
    assert!(old.terminate().success(), "the SQLite server stops cleanly");
    let old_db = old_data.join("sharelock.db");
    let counts = sqlite_counts(&old_db);
    let events = sqlite_events(&old_db);
    let alices_events: Vec<i64> = events
        .iter()
        .filter(|e| e.1 == alice.account_id())
        .map(|e| e.0)
        .collect();
    for table in [
        "accounts",
        "sessions",
        "records",
        "record_keys",
        "versions",
        "shares",
        "nonces",
        "files",
        "events",
    ] {
        assert!(
            counts.get(table).copied().unwrap_or(0) > 0,
            "the deployment has rows in {table}: {counts:?}"
        );
    }
    let old_blobs = files_under(&old_data.join("blobs"));
    assert!(!old_blobs.is_empty(), "the file's parts are blobs");

    // --- the copy ---
    let database = fresh_database().await;
    let new_data = tempfile::tempdir().unwrap();
    let out = migrate(&old_data, database.url(), new_data.path());
    assert!(
        out.status.success(),
        "migrate failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    for (table, rows) in &counts {
        assert_eq!(
            report["tables"][table].as_u64(),
            Some(*rows),
            "the report's count for {table}: {report}"
        );
    }
    assert_eq!(report["blobs"].as_u64(), Some(old_blobs.len() as u64));

    // Every table holds the same number of rows, the events the same ids and contents, the blob
    // directory the same objects.
    let mut pg = sqlx::PgConnection::connect(database.url()).await.unwrap();
    for (table, rows) in &counts {
        let n: i64 = sqlx::query_scalar(sqlx::AssertSqlSafe(format!(
            "SELECT count(*) FROM \"{table}\""
        )))
        .fetch_one(&mut pg)
        .await
        .unwrap();
        assert_eq!(n as u64, *rows, "rows in {table}");
    }
    let pg_events: Vec<EventRow> = sqlx::query_as(
        "SELECT id, account_id, kind, share, record, number, at FROM events ORDER BY id",
    )
    .fetch_all(&mut pg)
    .await
    .unwrap();
    assert_eq!(pg_events, events);
    assert_eq!(files_under(&new_data.path().join("blobs")), old_blobs);

    // A second copy into the same target is refused, and changes nothing.
    let again = migrate(&old_data, database.url(), new_data.path());
    assert_eq!(again.status.code(), Some(7), "{again:?}");
    let stderr = String::from_utf8_lossy(&again.stderr);
    assert_eq!(stderr.trim_end().lines().count(), 1, "{stderr}");
    assert!(stderr.contains("not empty"), "{stderr}");
    let n: i64 = sqlx::query_scalar("SELECT count(*) FROM events")
        .fetch_one(&mut pg)
        .await
        .unwrap();
    assert_eq!(n as usize, events.len());

    // --- the binary on PostgreSQL, at the old address ---
    let new = TestServer::start_node(
        &listen,
        new_data.path().to_path_buf(),
        &[
            ("SHARELOCK_DATABASE_URL", database.url()),
            ("SHARELOCK_SWEEP_INTERVAL", "1h"),
        ],
    );
    assert_eq!(new.url, url);

    // The owner's session still holds; the record, its history and its file are the same.
    let mut alice = OwnerSession::from_bytes(&session).unwrap();
    let shown = alice.show_record(record).await.unwrap();
    assert_eq!(field(&shown.body, "password"), "third, by the recipient");
    let history_after: Vec<(u64, u64, String)> = alice
        .record_history(record)
        .await
        .unwrap()
        .into_iter()
        .map(|h| {
            assert!(h.verification.is_verified(), "{:?}", h.verification);
            (h.version, h.key_gen, format!("{:?}", h.author))
        })
        .collect();
    assert_eq!(history_after, history_before);
    assert!(
        history_after
            .iter()
            .any(|(_, _, author)| author.contains("Share")),
        "the recipient's version is in the history: {history_after:?}"
    );
    let file = shown.body.files.first().expect("the record has its file");
    let download_dir = tempfile::tempdir().unwrap();
    let saved = alice
        .download_file(record, file, download_dir.path(), &NoProgress)
        .await
        .unwrap();
    assert_eq!(std::fs::read(saved).unwrap(), file_bytes);

    // The bound device reads and edits without binding again; another device is refused.
    let again = Recipient::open(&bound.link, None, &device).await.unwrap();
    assert_eq!(field(again.body(), "password"), "third, by the recipient");
    let recipient_dir = tempfile::tempdir().unwrap();
    let got = again.download_all(recipient_dir.path()).await.unwrap();
    assert_eq!(std::fs::read(&got[0]).unwrap(), file_bytes);
    let mut again = again;
    let written = again
        .set_fields(&[("password".into(), "fourth, after the move".into())])
        .await
        .unwrap();
    let other = MemoryDeviceStore::new();
    assert_eq!(
        code_of(Recipient::open(&bound.link, None, &other).await),
        ErrorCode::ShareBoundToOtherDevice
    );
    // The link never opened binds its first device now; the deleted one stays ended.
    let first = MemoryDeviceStore::new();
    let opened = Recipient::open(&unbound.link, None, &first).await.unwrap();
    assert_eq!(opened.version(), written);
    assert_eq!(field(opened.body(), "password"), "fourth, after the move");
    assert_eq!(
        code_of(Recipient::open(&unbound.link, None, &MemoryDeviceStore::new()).await),
        ErrorCode::ShareBoundToOtherDevice
    );
    assert_eq!(
        code_of(Recipient::open(&deleted.link, None, &MemoryDeviceStore::new()).await),
        ErrorCode::ShareEnded
    );

    // The event stream replays the same ids, and new events continue after them.
    let last_old = *alices_events.last().unwrap();
    let newest: i64 = sqlx::query_scalar("SELECT max(id) FROM events")
        .fetch_one(&mut pg)
        .await
        .unwrap();
    assert!(newest > events.last().unwrap().0, "new events were written");
    let streamed = streamed_event_ids(&url, &token, newest).await;
    assert_eq!(&streamed[..alices_events.len()], &alices_events[..]);
    assert!(
        streamed[alices_events.len()..]
            .iter()
            .all(|id| *id > last_old)
    );

    // The other account logs in with its password and finds its record.
    let bob = sharelock_client::login(&url, "bob@example.org", PASSWORD)
        .await
        .unwrap();
    assert_eq!(bob.record_ids().await.unwrap(), vec![bobs]);
    drop(new);
}

/// The file parts named by the SQLite database: (record, file, part, write, attached), sorted.
fn sqlite_parts(db: &Path) -> Vec<(uuid::Uuid, uuid::Uuid, i64, uuid::Uuid, bool)> {
    let conn = rusqlite::Connection::open(db).unwrap();
    let id = |b: Vec<u8>| uuid::Uuid::from_slice(&b).unwrap();
    conn.prepare(
        "SELECT record_id, file_id, part, write_id, attached FROM file_parts
         ORDER BY record_id, file_id, part, write_id",
    )
    .unwrap()
    .query_map([], |r| {
        Ok((
            id(r.get(0)?),
            id(r.get(1)?),
            r.get(2)?,
            id(r.get(3)?),
            r.get(4)?,
        ))
    })
    .unwrap()
    .collect::<Result<_, _>>()
    .unwrap()
}

/// A SQLite deployment with local blobs moves to PostgreSQL and an S3 bucket (moto): every table
/// arrives with its row count, the part rows as they were, every blob under the same key with the same
/// bytes, and the binary on PostgreSQL and S3 serves the files to the owner and to the bound device.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sqlite_deployment_with_local_blobs_moves_to_postgresql_and_s3() {
    let mut old = TestServer::start_with(&[("SHARELOCK_SWEEP_INTERVAL", "1h")]);
    let url = old.url.clone();
    let mut alice = owner(&url, "alice@example.org").await;
    let record = alice.create_record(&body("first")).await.unwrap();
    // One file of several parts (a part is at most 16 MiB), two small ones.
    let big: Vec<u8> = (0..16 * 1024 * 1024 + 4321u32)
        .map(|i| (i.wrapping_mul(31) ^ (i >> 9)) as u8)
        .collect();
    let small: Vec<u8> = (0..5000u32).map(|i| (i % 251) as u8).collect();
    let (big_path, small_path) = (
        old.scratch().join("big.bin"),
        old.scratch().join("small.bin"),
    );
    std::fs::write(&big_path, &big).unwrap();
    std::fs::write(&small_path, &small).unwrap();
    alice
        .attach_files(record, &[big_path, small_path], &NoProgress)
        .await
        .unwrap();
    // A recipient on an editable share adds a file of their own.
    let share = alice.create_share(record, options(true)).await.unwrap();
    let device = MemoryDeviceStore::new();
    let mut recipient = Recipient::open(&share.link, None, &device).await.unwrap();
    let theirs: Vec<u8> = (0..70_000u32).map(|i| (i * 13 % 256) as u8).collect();
    let theirs_path = old.scratch().join("theirs.bin");
    std::fs::write(&theirs_path, &theirs).unwrap();
    recipient
        .attach_files(std::slice::from_ref(&theirs_path), &NoProgress)
        .await
        .unwrap();
    let listen = old.addr();
    let old_data = old.data_dir();
    assert!(old.terminate().success(), "the SQLite server stops cleanly");
    let old_db = old_data.join("sharelock.db");
    let counts = sqlite_counts(&old_db);
    let parts = sqlite_parts(&old_db);
    let files: std::collections::BTreeSet<uuid::Uuid> = parts.iter().map(|p| p.1).collect();
    assert_eq!(files.len(), 3, "three files: {parts:?}");
    assert!(parts.iter().all(|p| p.4), "every part attached: {parts:?}");
    assert!(
        parts.iter().any(|p| p.2 > 0),
        "the large file has more than one part: {parts:?}"
    );
    let old_blobs = files_under(&old_data.join("blobs"));
    assert_eq!(old_blobs.len(), parts.len(), "{:?}", old_blobs.keys());

    // --- the copy, configured as the new nodes are (SHARELOCK_BLOB_BACKEND=s3 and the bucket) ---
    let bucket = sharelock_store::testing::s3::fresh_bucket().await;
    let database = fresh_database().await;
    let new_data = tempfile::tempdir().unwrap();
    let s3_env = bucket.server_env();
    let out = Command::new(binary())
        .args(["--json", "migrate", "--from"])
        .arg(&old_data)
        .arg("--data-dir")
        .arg(new_data.path())
        .env("SHARELOCK_DATABASE_URL", database.url())
        .envs(s3_env.iter().map(|(k, v)| (k, v)))
        .env_remove("SHARELOCK_CONFIG")
        .output()
        .expect("run sharelock migrate");
    assert!(
        out.status.success(),
        "migrate failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        report["blobs"].as_u64(),
        Some(old_blobs.len() as u64),
        "{report}"
    );
    assert_eq!(
        report["blob_bytes"].as_u64(),
        Some(old_blobs.values().map(|b| b.len() as u64).sum()),
        "{report}"
    );
    assert_eq!(report["blobs_kept"].as_bool(), Some(false));

    // Every table, its row count; the part rows exactly.
    let mut pg = sqlx::PgConnection::connect(database.url()).await.unwrap();
    for (table, rows) in &counts {
        let n: i64 = sqlx::query_scalar(sqlx::AssertSqlSafe(format!(
            "SELECT count(*) FROM \"{table}\""
        )))
        .fetch_one(&mut pg)
        .await
        .unwrap();
        assert_eq!(n as u64, *rows, "rows in {table}");
    }
    let pg_parts: Vec<(uuid::Uuid, uuid::Uuid, i64, uuid::Uuid, bool)> = sqlx::query_as(
        "SELECT record_id, file_id, part, write_id, attached FROM file_parts
         ORDER BY record_id, file_id, part, write_id",
    )
    .fetch_all(&mut pg)
    .await
    .unwrap();
    assert_eq!(pg_parts, parts);

    // Every blob under the same key (below the bucket's prefix), with the same bytes.
    let strip = |key: &str| -> String {
        match bucket.base_prefix() {
            Some(base) => key.strip_prefix(&format!("{base}/")).unwrap().to_owned(),
            None => key.to_owned(),
        }
    };
    let keys: Vec<String> = bucket.keys().await.iter().map(|k| strip(k)).collect();
    assert_eq!(keys, old_blobs.keys().cloned().collect::<Vec<_>>());
    let s3 = bucket.blob_store(None);
    for (record, file, part, write, _) in &parts {
        let blob = sharelock_store::PartBlob {
            record: *record,
            file: *file,
            part: *part as u32,
            write: *write,
        };
        let chunks: Vec<_> = futures::TryStreamExt::try_collect(s3.open(vec![blob]))
            .await
            .unwrap();
        let bytes: Vec<u8> = chunks.iter().flat_map(|c| c.iter().copied()).collect();
        let key = format!("files/{record}/{file}/{part:08}.{}", write.simple());
        assert!(bytes == old_blobs[&key], "the bytes of {key}");
    }
    assert!(
        !new_data.path().join("blobs").exists()
            || files_under(&new_data.path().join("blobs")).is_empty(),
        "nothing went to a local blob directory"
    );

    // --- the binary on PostgreSQL and S3, at the old address ---
    let mut env: Vec<(&str, &str)> = vec![
        ("SHARELOCK_DATABASE_URL", database.url()),
        ("SHARELOCK_SWEEP_INTERVAL", "1h"),
    ];
    env.extend(s3_env.iter().map(|(k, v)| (k.as_str(), v.as_str())));
    let new = TestServer::start_node(&listen, new_data.path().to_path_buf(), &env);
    let shown = alice.show_record(record).await.unwrap();
    assert_eq!(shown.body.files.len(), 3);
    let download_dir = tempfile::tempdir().unwrap();
    let mut got = Vec::new();
    for file in &shown.body.files {
        let saved = alice
            .download_file(record, file, download_dir.path(), &NoProgress)
            .await
            .unwrap();
        got.push(std::fs::read(saved).unwrap());
    }
    got.sort();
    let mut want = vec![big.clone(), small.clone(), theirs.clone()];
    want.sort();
    assert!(got == want, "the owner's downloads are byte-identical");
    let again = Recipient::open(&share.link, None, &device).await.unwrap();
    let recipient_dir = tempfile::tempdir().unwrap();
    let mut got: Vec<Vec<u8>> = again
        .download_all(recipient_dir.path())
        .await
        .unwrap()
        .into_iter()
        .map(|p| std::fs::read(p).unwrap())
        .collect();
    got.sort();
    assert!(
        got == want,
        "the bound device's downloads are byte-identical"
    );
    drop(new);
}
