//! `sharelock backup` and `sharelock restore` through the real binary: a backup taken while records and
//! files are written and deleted keeps every write acknowledged before it started, and a restore checks
//! what it is given and writes only into an empty data directory.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::TestServer;
use common::home::PASSWORD;
use sharelock_client::core::record::{RecordBody, RecordType};
use sharelock_client::{NoProgress, OwnerSession};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};
use tokio::sync::Mutex;
use uuid::Uuid;

const EMAIL: &str = "backup.owner@example.org";

/// Runs `sharelock <args>`: its exit code, standard output and standard error.
fn sharelock(args: &[&str]) -> (i32, String, String) {
    let out = Command::new(common::binary())
        .args(args)
        .env_remove("SHARELOCK_CONFIG")
        .env_remove("SHARELOCK_DATA_DIR")
        .env_remove("SHARELOCK_DATABASE_URL")
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8(out.stdout).unwrap(),
        String::from_utf8(out.stderr).unwrap(),
    )
}

fn path(p: &Path) -> &str {
    p.to_str().unwrap()
}

/// The bytes of the file attached to record number `n`: sizes from a few bytes to several KiB, no two
/// alike.
fn file_content(n: usize) -> Vec<u8> {
    let len = 17 + (n * 7919) % 9000;
    (0..len).map(|i| ((i * 31 + n * 17) % 251) as u8).collect()
}

async fn owner(server: &TestServer) -> OwnerSession {
    sharelock_client::register(&server.url, EMAIL, PASSWORD)
        .await
        .unwrap();
    sharelock_client::login(&server.url, EMAIL, PASSWORD)
        .await
        .unwrap()
}

/// One record written by the load: its title and, for every other one, an attached file's content.
#[derive(Clone)]
struct Written {
    title: String,
    file: Option<Vec<u8>>,
    acknowledged: Instant,
}

/// Creates records (every other one with a file) and deletes some of them again (so the server's
/// sweeper deletes their blobs while the backup runs), until `stop` or a bound on count and time.
async fn write_load(
    mut session: OwnerSession,
    scratch: PathBuf,
    kept: Arc<Mutex<BTreeMap<Uuid, Written>>>,
    stop: Arc<AtomicBool>,
) -> OwnerSession {
    let started = Instant::now();
    let mut doomed: Vec<Uuid> = Vec::new();
    for n in 0..400usize {
        if stop.load(Ordering::SeqCst) || started.elapsed() > Duration::from_secs(90) {
            break;
        }
        let title = format!("record {n}");
        let id = session
            .create_record(&RecordBody::new(RecordType::Note, title.clone()))
            .await
            .unwrap();
        let file = if n % 2 == 0 {
            let content = file_content(n);
            let local = scratch.join(format!("file-{n}.bin"));
            std::fs::write(&local, &content).unwrap();
            session
                .attach_files(id, &[local], &NoProgress)
                .await
                .unwrap();
            Some(content)
        } else {
            None
        };
        // Every third record is deleted again a little later; the others must survive.
        if n % 3 == 0 {
            doomed.push(id);
            if doomed.len() > 2 {
                let gone = doomed.remove(0);
                session.delete_record(gone).await.unwrap();
            }
        } else {
            kept.lock().await.insert(
                id,
                Written {
                    title,
                    file,
                    acknowledged: Instant::now(),
                },
            );
        }
    }
    session
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_backup_under_write_load_restores_every_acknowledged_write() {
    // A short sweep interval: blobs of deleted records go while the backup copies.
    let server = TestServer::start_with(&[("SHARELOCK_SWEEP_INTERVAL", "1s")]);
    let session = owner(&server).await;
    let scratch = tempfile::tempdir().unwrap();
    let kept = Arc::new(Mutex::new(BTreeMap::new()));
    let stop = Arc::new(AtomicBool::new(false));
    let load = tokio::spawn(write_load(
        session,
        scratch.path().to_path_buf(),
        Arc::clone(&kept),
        Arc::clone(&stop),
    ));
    // Let the load get going, then back up while it runs.
    let deadline = Instant::now() + Duration::from_secs(60);
    while kept.lock().await.len() < 20 {
        assert!(
            Instant::now() < deadline,
            "the write load does not progress"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let backup_dir = scratch.path().join("backup");
    let backup_started = Instant::now();
    let data = server.data_dir();
    let args = [
        "backup".to_owned(),
        "--json".to_owned(),
        "--data-dir".to_owned(),
        path(&data).to_owned(),
        "--to".to_owned(),
        path(&backup_dir).to_owned(),
    ];
    let (code, stdout, stderr) = tokio::task::spawn_blocking(move || {
        sharelock(&args.iter().map(String::as_str).collect::<Vec<_>>())
    })
    .await
    .unwrap();
    assert_eq!(code, 0, "backup failed: {stderr}");
    // The load goes on a little after the backup, then stops.
    tokio::time::sleep(Duration::from_millis(300)).await;
    stop.store(true, Ordering::SeqCst);
    load.await.unwrap();

    let report: serde_json::Value = serde_json::from_str(stdout.trim()).unwrap();
    assert!(report["blobs"].as_u64().unwrap() > 0, "{report}");
    assert_eq!(report["prelogin_key"], true, "{report}");
    let expected: BTreeMap<Uuid, Written> = kept
        .lock()
        .await
        .iter()
        .filter(|(_, w)| w.acknowledged < backup_started)
        .map(|(id, w)| (*id, w.clone()))
        .collect();
    assert!(expected.len() >= 20);
    let mode = |p: &Path| {
        std::os::unix::fs::PermissionsExt::mode(&p.metadata().unwrap().permissions()) & 0o777
    };
    assert_eq!(mode(&backup_dir.join("sharelock.db")), 0o600);
    assert_eq!(mode(&backup_dir), 0o700);
    assert!(
        !backup_dir.join("sharelock.db-wal").exists(),
        "the backup is one database file"
    );

    // Restored into a new data directory, a new server has every acknowledged record and file.
    let restored = scratch.path().join("restored");
    let (code, stdout, stderr) = sharelock(&[
        "restore",
        "--from",
        path(&backup_dir),
        "--data-dir",
        path(&restored),
    ]);
    assert_eq!(code, 0, "restore failed: {stderr}");
    assert!(stdout.starts_with("restored: "), "{stdout}");
    drop(server);
    let server = TestServer::start_in(restored.clone());
    let mut session = sharelock_client::login(&server.url, EMAIL, PASSWORD)
        .await
        .unwrap();
    let downloads = scratch.path().join("downloads");
    std::fs::create_dir_all(&downloads).unwrap();
    for (id, written) in &expected {
        let record = session.show_record(*id).await.unwrap_or_else(|e| {
            panic!(
                "{} (acknowledged before the backup) is missing: {e}",
                written.title
            )
        });
        assert_eq!(record.body.title, written.title);
        match &written.file {
            Some(content) => {
                assert_eq!(record.body.files.len(), 1, "{}", written.title);
                let dir = downloads.join(id.to_string());
                std::fs::create_dir_all(&dir).unwrap();
                let saved = session
                    .download_file(*id, &record.body.files[0], &dir, &NoProgress)
                    .await
                    .unwrap();
                assert_eq!(&std::fs::read(saved).unwrap(), content, "{}", written.title);
            }
            None => assert!(record.body.files.is_empty()),
        }
    }
}

/// A small deployment (one record with a file) and a backup of it.
async fn small_backup(scratch: &Path) -> (TestServer, PathBuf) {
    let server = TestServer::start();
    let mut session = owner(&server).await;
    let id = session
        .create_record(&RecordBody::new(RecordType::File, "one file"))
        .await
        .unwrap();
    let local = scratch.join("attached.bin");
    std::fs::write(&local, file_content(3)).unwrap();
    session
        .attach_files(id, &[local], &NoProgress)
        .await
        .unwrap();
    let backup = scratch.join("backup");
    let (code, _, stderr) = sharelock(&[
        "backup",
        "--data-dir",
        path(&server.data_dir()),
        "--to",
        path(&backup),
    ]);
    assert_eq!(code, 0, "{stderr}");
    (server, backup)
}

/// Copies a backup directory, to damage the copy.
fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), target).unwrap();
        }
    }
}

/// The blob files under a directory.
fn blob_files(dir: &Path) -> Vec<PathBuf> {
    let mut found = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            found.extend(blob_files(&path));
        } else {
            found.push(path);
        }
    }
    found
}

fn is_empty_or_absent(dir: &Path) -> bool {
    std::fs::read_dir(dir).map_or(true, |mut entries| entries.next().is_none())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn restore_checks_the_backup_and_writes_only_into_an_empty_directory() {
    let scratch = tempfile::tempdir().unwrap();
    let (server, backup) = small_backup(scratch.path()).await;

    // A backup never goes into a directory that holds something, and what was there stays.
    let full = scratch.path().join("full");
    std::fs::create_dir_all(&full).unwrap();
    std::fs::write(full.join("keep.txt"), "mine").unwrap();
    let live = server.data_dir();
    let (code, _, stderr) = sharelock(&["backup", "--data-dir", path(&live), "--to", path(&full)]);
    assert_eq!(code, 7, "{stderr}");
    assert_eq!(std::fs::read_dir(&full).unwrap().count(), 1);
    // PostgreSQL and S3 deployments are backed up with their own tools.
    let elsewhere = scratch.path().join("elsewhere");
    let (code, _, stderr) = sharelock(&[
        "backup",
        "--database-url",
        "postgres://sharelock@127.0.0.1:9/sharelock",
        "--to",
        path(&elsewhere),
    ]);
    assert_eq!(code, 2, "{stderr}");
    assert!(stderr.contains("pg_dump"), "{stderr}");
    let out = Command::new(common::binary())
        .args([
            "backup",
            "--data-dir",
            path(&live),
            "--to",
            path(&elsewhere),
        ])
        .env_remove("SHARELOCK_CONFIG")
        .env("SHARELOCK_BLOB_BACKEND", "s3")
        .env("SHARELOCK_S3_BUCKET", "sharelock")
        .output()
        .unwrap();
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("versioning"), "{stderr}");
    assert!(!elsewhere.exists(), "a refused backup creates nothing");
    // A blob the live database names but the blob directory lacks (lost, not deleted by the server):
    // the backup fails, saying so, after a second snapshot still names it, and leaves nothing behind.
    let live_blobs = blob_files(&live.join("blobs"));
    std::fs::remove_file(&live_blobs[0]).unwrap();
    let (code, _, stderr) = sharelock(&[
        "backup",
        "--data-dir",
        path(&live),
        "--to",
        path(&elsewhere),
    ]);
    assert_eq!(code, 1, "{stderr}");
    assert!(
        stderr.contains("missing from the blob directory"),
        "{stderr}"
    );
    assert!(!elsewhere.exists(), "a failed backup leaves nothing");
    drop(server);

    let data = scratch.path().join("no-such-server");
    std::fs::create_dir_all(&data).unwrap();
    let (code, _, stderr) = sharelock(&["backup", "--data-dir", path(&data), "--to", path(&full)]);
    assert_eq!(code, 2, "no database there: {stderr}");
    assert_eq!(stderr.lines().count(), 1, "{stderr}");

    // Not into a directory that holds something, and what was there stays.
    let (code, _, stderr) = sharelock(&[
        "restore",
        "--from",
        path(&backup),
        "--data-dir",
        path(&full),
    ]);
    assert_eq!(code, 7, "{stderr}");
    assert_eq!(
        std::fs::read_to_string(full.join("keep.txt")).unwrap(),
        "mine"
    );
    assert_eq!(std::fs::read_dir(&full).unwrap().count(), 1);

    // Not from a directory that is no backup.
    let target = scratch.path().join("target");
    let (code, _, stderr) = sharelock(&[
        "restore",
        "--from",
        path(&full),
        "--data-dir",
        path(&target),
    ]);
    assert_eq!(code, 2, "{stderr}");
    assert!(is_empty_or_absent(&target));

    // A blob missing: refused as damaged, and nothing is left in the target.
    let missing = scratch.path().join("missing-blob");
    copy_dir(&backup, &missing);
    let blobs = blob_files(&missing.join("blobs"));
    assert!(!blobs.is_empty());
    std::fs::remove_file(&blobs[0]).unwrap();
    let (code, _, stderr) = sharelock(&[
        "restore",
        "--from",
        path(&missing),
        "--data-dir",
        path(&target),
    ]);
    assert_eq!(code, 10, "{stderr}");
    assert!(
        stderr.contains("missing from the backup or have the wrong size"),
        "{stderr}"
    );
    assert!(
        is_empty_or_absent(&target),
        "a refused restore leaves nothing"
    );

    // A blob cut short: the same.
    let short = scratch.path().join("short-blob");
    copy_dir(&backup, &short);
    let blob = &blob_files(&short.join("blobs"))[0];
    let bytes = std::fs::read(blob).unwrap();
    std::fs::write(blob, &bytes[..bytes.len() - 1]).unwrap();
    let (code, _, stderr) = sharelock(&[
        "restore",
        "--from",
        path(&short),
        "--data-dir",
        path(&target),
    ]);
    assert_eq!(code, 10, "{stderr}");

    // A database that is not one: damaged.
    let garbage = scratch.path().join("garbage-db");
    copy_dir(&backup, &garbage);
    let db = garbage.join("sharelock.db");
    let mut bytes = std::fs::read(&db).unwrap();
    let middle = bytes.len() / 2;
    for b in &mut bytes[..middle] {
        *b ^= 0x5a;
    }
    std::fs::write(&db, bytes).unwrap();
    let (code, _, stderr) = sharelock(&[
        "restore",
        "--from",
        path(&garbage),
        "--data-dir",
        path(&target),
    ]);
    assert_eq!(code, 10, "{stderr}");
    assert!(is_empty_or_absent(&target));

    // A schema from a newer Sharelock: refused with its own code.
    let newer = scratch.path().join("newer");
    copy_dir(&backup, &newer);
    let conn = rusqlite::Connection::open(newer.join("sharelock.db")).unwrap();
    conn.pragma_update(None, "user_version", 9999).unwrap();
    drop(conn);
    let (code, _, stderr) = sharelock(&[
        "restore",
        "--from",
        path(&newer),
        "--data-dir",
        path(&target),
    ]);
    assert_eq!(code, 11, "{stderr}");
    assert!(stderr.contains("newer"), "{stderr}");
    assert!(is_empty_or_absent(&target));

    // The intact backup restores into the (still empty) target, and the server serves its file.
    let (code, _, stderr) = sharelock(&[
        "restore",
        "--from",
        path(&backup),
        "--data-dir",
        path(&target),
    ]);
    assert_eq!(code, 0, "{stderr}");
    let server = TestServer::start_in(target.clone());
    let mut session = sharelock_client::login(&server.url, EMAIL, PASSWORD)
        .await
        .unwrap();
    let ids = session.record_ids().await.unwrap();
    assert_eq!(ids.len(), 1);
    let record = session.show_record(ids[0]).await.unwrap();
    let downloads = scratch.path().join("downloads");
    std::fs::create_dir_all(&downloads).unwrap();
    let saved = session
        .download_file(ids[0], &record.body.files[0], &downloads, &NoProgress)
        .await
        .unwrap();
    assert_eq!(std::fs::read(saved).unwrap(), file_content(3));
}
