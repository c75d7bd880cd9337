//! An acknowledged write survives the process being killed: a child process writes sessions through
//! the group-commit writer as fast as it can and prints each one the store acknowledged; the test
//! SIGKILLs it mid-stream, reopens the database and finds every acknowledged row.
//!
//! The child is this same test binary, re-run on the ignored test `writer_child` with the database
//! path in an environment variable.
//!
//! SIGKILL proves an answer is only sent after the commit; that the commit itself reached the disk
//! (power loss) rests on `synchronous=FULL`, which no process-level test can show.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io::{BufRead, BufReader, Write};
use std::process::{Command, Stdio};
use std::sync::Arc;

use sharelock_store::sqlite::{SqliteOptions, SqliteStore};
use sharelock_store::{KdfParams, NewAccount, NewSession, Store};
use uuid::Uuid;

const DB_ENV: &str = "SHARELOCK_STORE_DURABILITY_DB";
const T0: i64 = 1_767_225_600;
/// Kill the child once this many acknowledgements have arrived.
const KILL_AFTER: usize = 3000;
/// Concurrent writers in the child, so commits carry many rows each.
const WRITERS: usize = 32;

#[test]
fn acknowledged_writes_survive_sigkill() {
    let dir = tempfile::tempdir().expect("temp dir");
    let db = dir.path().join("durable.db");
    let mut child = Command::new(std::env::current_exe().expect("test binary"))
        .args([
            "--exact",
            "writer_child",
            "--ignored",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(DB_ENV, &db)
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("spawn the writer");

    let mut acknowledged = Vec::new();
    let mut killed = false;
    for line in BufReader::new(child.stdout.take().expect("stdout")).lines() {
        let line = line.expect("a line");
        let Some(hex) = line.strip_prefix("ack ") else {
            continue;
        };
        acknowledged.push(from_hex(hex));
        if acknowledged.len() == KILL_AFTER && !killed {
            child.kill().expect("SIGKILL");
            killed = true;
        }
        // Keep reading: lines already in the pipe were acknowledged before the kill.
    }
    let status = child.wait().expect("wait");
    assert!(
        killed,
        "the writer stopped before it was killed: {status:?}"
    );
    assert!(!status.success(), "the writer was killed, not finished");
    assert!(acknowledged.len() >= KILL_AFTER);

    let conn = rusqlite::Connection::open(&db).expect("open raw");
    let check: String = conn
        .query_row("PRAGMA integrity_check", [], |row| row.get(0))
        .expect("integrity check");
    assert_eq!(check, "ok");
    drop(conn);

    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    runtime.block_on(async {
        let store = SqliteStore::open(&db, SqliteOptions::default()).expect("reopen");
        let mut missing = 0;
        for token_hash in &acknowledged {
            if store.session(token_hash, T0).await.expect("read").is_none() {
                missing += 1;
            }
        }
        assert_eq!(
            missing,
            0,
            "{missing} of {} acknowledged rows lost",
            acknowledged.len()
        );
    });
}

/// The writer process. Does nothing unless started by `acknowledged_writes_survive_sigkill`.
#[test]
#[ignore = "the child process of acknowledged_writes_survive_sigkill"]
fn writer_child() {
    let Some(db) = std::env::var_os(DB_ENV) else {
        eprintln!("writer_child only runs as the child of acknowledged_writes_survive_sigkill");
        return;
    };
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    runtime.block_on(async {
        let store = Arc::new(SqliteStore::open(&db, SqliteOptions::default()).expect("open"));
        let account = Uuid::new_v4();
        store
            .create_account(NewAccount {
                id: account,
                email: "durable@example.org".into(),
                kdf: KdfParams {
                    m: 65536,
                    t: 3,
                    p: 4,
                },
                kdf_salt: vec![0; 16],
                auth_hash: [0; 32],
                wrapped_data_key: vec![1; 60],
                created_at: T0,
            })
            .await
            .expect("account");
        let writers = (0..WRITERS).map(|_| {
            let store = Arc::clone(&store);
            tokio::spawn(async move {
                loop {
                    let token_hash = random32();
                    let session = NewSession {
                        token_hash,
                        account_id: account,
                        created_at: T0,
                        expires_at: T0 + 3600,
                    };
                    store.create_session(session).await.expect("write");
                    let mut out = std::io::stdout().lock();
                    writeln!(out, "ack {}", to_hex(&token_hash)).expect("print");
                    out.flush().expect("flush");
                }
            })
        });
        // The writers run until the parent kills this process.
        let _ = futures::future::join_all(writers.collect::<Vec<_>>()).await;
    });
}

fn random32() -> [u8; 32] {
    let mut out = [0u8; 32];
    out[..16].copy_from_slice(Uuid::new_v4().as_bytes());
    out[16..].copy_from_slice(Uuid::new_v4().as_bytes());
    out
}

fn to_hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn from_hex(hex: &str) -> [u8; 32] {
    let mut out = [0u8; 32];
    for (i, byte) in out.iter_mut().enumerate() {
        *byte = u8::from_str_radix(&hex[2 * i..2 * i + 2], 16).expect("hex");
    }
    out
}
