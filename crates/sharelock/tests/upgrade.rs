//! A server upgraded from before per-write part keys (schema 0006) serves the files it stored then
//! (issue 9): a deployment is filled through the binary, then put back the way the code of that time
//! left it (the schema at 0005, the part blobs at `files/<record>/<file>/<part:08>`, no part rows); the
//! binary started on it downloads the file byte-identical, to the owner and to the share's bound
//! device, and deleting the record removes the old blobs.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::TestServer;
use sharelock_client::api::shares::Expiry;
use sharelock_client::core::record::{RecordBody, RecordType};
use sharelock_client::{MemoryDeviceStore, NoProgress, Recipient, ShareOptions};
use std::path::Path;
use std::time::{Duration, Instant};

const PASSWORD: &str = "correct horse battery staple";

/// Every file under `dir`, by its path below it.
fn files_under(dir: &Path) -> Vec<String> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&d) else {
            continue;
        };
        for entry in entries {
            let path = entry.unwrap().path();
            if path.is_dir() {
                stack.push(path);
            } else {
                out.push(path.strip_prefix(dir).unwrap().display().to_string());
            }
        }
    }
    out.sort();
    out
}

/// The database and blob directory as the code before 0006 left them: every part's blob at its old key,
/// the tables and index 0006 added gone, the schema version at 0005's (the third migration).
fn back_to_0005(data: &Path) {
    let blobs = data.join("blobs");
    for key in files_under(&blobs) {
        let (dir, name) = key.rsplit_once('/').unwrap();
        let (part, _write) = name.split_once('.').expect("a per-write key");
        std::fs::rename(blobs.join(&key), blobs.join(dir).join(part)).unwrap();
    }
    // Migrations after 0005 are undone, newest first; 0006 and 0007 are what this test is about.
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../sharelock-store/migrations/sqlite");
    let mut later: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .filter(|name| name.as_str() > "0006")
        .collect();
    later.sort();
    let db = rusqlite::Connection::open(data.join("sharelock.db")).unwrap();
    for name in later.iter().rev() {
        let undo = match name.as_str() {
            "0006_file_parts.sql" => {
                "DROP INDEX files_unfinished; DROP TABLE blob_garbage; DROP TABLE file_parts;"
            }
            "0007_legacy_file_parts.sql" => "",
            "0010_shares_unshredded.sql" => "DROP INDEX shares_unshredded;",
            "0013_view_once.sql" => "ALTER TABLE shares DROP COLUMN view_once;",
            "0014_webhooks.sql" => {
                "DROP TABLE webhook_attempts; DROP TABLE webhook_deliveries; \
                 DROP TABLE webhook_subscriptions; DROP TABLE webhook_endpoints;"
            }
            "0017_share_preface.sql" => "ALTER TABLE shares DROP COLUMN preface;",
            "0016_self_destruct.sql" => {
                "DROP INDEX shares_destroy_at; ALTER TABLE shares DROP COLUMN destroy_at; \
                 ALTER TABLE shares DROP COLUMN destroy_after;"
            }
            "0008_admin.sql" => {
                "DROP TABLE invites; ALTER TABLE accounts DROP COLUMN last_login_at; \
                 ALTER TABLE accounts DROP COLUMN disabled_at;"
            }
            "0019_share_counts.sql" => {
                "ALTER TABLE shares DROP COLUMN open_count; ALTER TABLE shares DROP COLUMN refused_count; \
                 ALTER TABLE shares DROP COLUMN failed_total;"
            }
            "0018_sweep_at_scale.sql" => {
                "DROP INDEX shares_account_open; DROP INDEX blob_garbage_due; \
                 ALTER TABLE blob_garbage DROP COLUMN retry_at; \
                 CREATE INDEX blob_garbage_since ON blob_garbage (since);"
            }
            "0015_requests.sql" => {
                "ALTER TABLE shares DROP COLUMN request_box; \
                 ALTER TABLE shares DROP COLUMN request_max_answers;"
            }
            other => panic!("a new migration, {other}: say here how to undo it"),
        };
        db.execute_batch(undo).unwrap();
    }
    // rusqlite_migration counts the migrations applied: 0001, 0004 and 0005.
    db.execute_batch("PRAGMA user_version = 3;").unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn files_stored_before_per_write_keys_download_after_the_upgrade() {
    let mut old = TestServer::start_with(&[("SHARELOCK_SWEEP_INTERVAL", "1s")]);
    let url = old.url.clone();
    sharelock_client::register(&url, "old@example.org", PASSWORD)
        .await
        .unwrap();
    let mut owner = sharelock_client::login(&url, "old@example.org", PASSWORD)
        .await
        .unwrap();
    let mut body = RecordBody::new(RecordType::Login, "Scans");
    body.set_field("password", "kept").unwrap();
    let record = owner.create_record(&body).await.unwrap();
    // Several parts.
    let bytes: Vec<u8> = (0..9 * 1024 * 1024 + 555u32)
        .map(|i| (i.wrapping_mul(37) ^ (i >> 13)) as u8)
        .collect();
    let path = old.scratch().join("scan.bin");
    std::fs::write(&path, &bytes).unwrap();
    owner
        .attach_files(record, std::slice::from_ref(&path), &NoProgress)
        .await
        .unwrap();
    let share = owner
        .create_share(
            record,
            ShareOptions {
                expires: Expiry::InSeconds(3600),
                editable: false,
                burn_after_secs: None,
                label: None,
                passphrase: None,
                view_once: false,
                from: None,
                destroy_after_secs: None,
            },
        )
        .await
        .unwrap();
    let device = MemoryDeviceStore::new();
    Recipient::open(&share.link, None, &device).await.unwrap();
    let listen = old.addr();
    let data = old.data_dir();
    assert!(old.terminate().success());

    back_to_0005(&data);
    let old_keys = files_under(&data.join("blobs"));
    assert!(old_keys.len() >= 2, "several parts: {old_keys:?}");
    assert!(
        old_keys.iter().all(|k| !k.contains('.')),
        "old keys: {old_keys:?}"
    );

    // --- this version on the old deployment, at the same address ---
    let new = TestServer::start_node(&listen, data.clone(), &[("SHARELOCK_SWEEP_INTERVAL", "1s")]);
    let shown = owner.show_record(record).await.unwrap();
    let file = shown.body.files.first().expect("the record names its file");
    let out = tempfile::tempdir().unwrap();
    let saved = owner
        .download_file(record, file, out.path(), &NoProgress)
        .await
        .unwrap();
    assert!(
        std::fs::read(saved).unwrap() == bytes,
        "the owner's download is byte-identical"
    );
    let opened = Recipient::open(&share.link, None, &device).await.unwrap();
    let theirs = tempfile::tempdir().unwrap();
    let got = opened.download_all(theirs.path()).await.unwrap();
    assert!(
        std::fs::read(&got[0]).unwrap() == bytes,
        "the bound device's download is byte-identical"
    );

    // Deleting the record removes the old blobs, and the sweeper leaves no garbage listed.
    owner.delete_record(record).await.unwrap();
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let left = files_under(&data.join("blobs"));
        let garbage: i64 = rusqlite::Connection::open(data.join("sharelock.db"))
            .unwrap()
            .query_row("SELECT count(*) FROM blob_garbage", [], |r| r.get(0))
            .unwrap();
        if left.is_empty() && garbage == 0 {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "left behind: {left:?}, {garbage} garbage rows"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    drop(new);
}
