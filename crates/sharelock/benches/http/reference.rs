//! Minimal reference servers, each doing only the essential work of a scenario, run as a child process
//! of this same bench binary (so its CPU time and memory are its own): a bare `/healthz`; one P-256
//! verification of the signed request plus one read of a 1 KiB row by primary key from SQLite; one
//! durable 1 KiB insert through a single writer thread that commits whatever is queued as one transaction
//! (group commit, WAL, `synchronous=FULL`). Plain axum on tokio's default runtime, rusqlite.

use axum::Router;
use axum::body::Bytes;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::{get, post};
use rusqlite::{Connection, OptionalExtension, params};
use sharelock_core::device::DevicePublicKey;
use sharelock_core::httpsig::{ParsedSignature, RequestParts};
use sharelock_core::share::ShareId;
use std::cell::RefCell;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use tokio::sync::{mpsc, oneshot};

/// The environment variable that makes the bench binary a reference server: `healthz`, `fetch` or `insert`.
pub const MODE_VAR: &str = "SHARELOCK_BENCH_REFERENCE";
/// The reference's data directory (its SQLite database).
pub const DIR_VAR: &str = "SHARELOCK_BENCH_REFERENCE_DIR";

/// Creates the fetch reference's database: the bound shares' ids and device keys, each with a 1 KiB
/// payload, among `filler` other rows.
pub fn seed_fetch_db(dir: &Path, shares: &[([u8; 16], Vec<u8>)], filler: usize) {
    let conn = Connection::open(dir.join("reference.db")).expect("open reference db");
    conn.execute_batch(
        "PRAGMA journal_mode=WAL; CREATE TABLE shares (share_id BLOB PRIMARY KEY, device_key BLOB NOT NULL, payload BLOB NOT NULL) WITHOUT ROWID;",
    )
    .expect("schema");
    let tx = conn.unchecked_transaction().expect("tx");
    {
        let mut insert = tx
            .prepare("INSERT INTO shares VALUES (?1, ?2, ?3)")
            .expect("insert");
        for (id, key) in shares {
            insert
                .execute(params![&id[..], key, payload()])
                .expect("row");
        }
        for n in 0..filler as u64 {
            let mut id = [0xffu8; 16];
            id[..8].copy_from_slice(&n.to_be_bytes());
            insert
                .execute(params![&id[..], &[4u8; 65][..], payload()])
                .expect("row");
        }
    }
    tx.commit().expect("commit");
}

fn payload() -> Vec<u8> {
    (0..1024u32)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
        .collect()
}

/// Runs the reference server named by [`MODE_VAR`] on a loopback port until killed; prints
/// `reference listening on http://<addr>`.
pub fn serve(mode: &str) {
    let dir = PathBuf::from(std::env::var(DIR_VAR).expect("reference dir"));
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    runtime.block_on(async move {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let addr = listener.local_addr().expect("addr");
        let app = match mode {
            "healthz" => Router::new().route("/healthz", get(|| async { "ok" })),
            "fetch" => {
                let url = Arc::new(format!("http://{addr}"));
                let db = Arc::new(dir.join("reference.db"));
                Router::new().route(
                    "/api/v1/recipient/share",
                    get(move |headers: HeaderMap| fetch(headers, url.clone(), db.clone())),
                )
            }
            "insert" => {
                let writer = Writer::spawn(&dir.join("insert.db"));
                Router::new().route(
                    "/insert",
                    post(move |body: Bytes| {
                        let writer = writer.clone();
                        async move { writer.insert(body.to_vec()).await }
                    }),
                )
            }
            other => panic!("unknown reference {other}"),
        };
        println!("reference listening on http://{addr}");
        axum::serve(listener, app).await.expect("serve");
    });
}

thread_local! {
    /// Each runtime worker reads through its own connection, on the worker itself.
    static READER: RefCell<Option<Connection>> = const { RefCell::new(None) };
}

async fn fetch(headers: HeaderMap, url: Arc<String>, db: Arc<PathBuf>) -> (StatusCode, String) {
    let text = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
    let (Some(share), Some(input), Some(signature)) = (
        text("sharelock-share"),
        text("signature-input"),
        text("signature"),
    ) else {
        return (StatusCode::BAD_REQUEST, String::new());
    };
    let (Ok(share_id), Ok(parsed)) = (
        ShareId::from_b64u(share),
        ParsedSignature::parse(input, signature),
    ) else {
        return (StatusCode::BAD_REQUEST, String::new());
    };
    let row: Option<(Vec<u8>, Vec<u8>)> = READER.with(|reader| {
        let mut reader = reader.borrow_mut();
        let conn = reader.get_or_insert_with(|| Connection::open(db.as_path()).expect("open"));
        conn.prepare_cached("SELECT device_key, payload FROM shares WHERE share_id = ?1")
            .expect("prepare")
            .query_row([&share_id.as_bytes()[..]], |r| Ok((r.get(0)?, r.get(1)?)))
            .optional()
            .expect("read")
    });
    let Some((device_key, payload)) = row else {
        return (StatusCode::NOT_FOUND, String::new());
    };
    let Ok(key) = DevicePublicKey::from_sec1(&device_key) else {
        return (StatusCode::INTERNAL_SERVER_ERROR, String::new());
    };
    let target = format!("{url}/api/v1/recipient/share");
    let parts = RequestParts {
        method: "GET",
        target_uri: &target,
        share_header: share,
        content_type: None,
        content_digest: None,
    };
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64);
    if parsed.verify(&key, &parts, now).is_err() {
        return (StatusCode::UNAUTHORIZED, String::new());
    }
    (
        StatusCode::OK,
        format!(
            "{{\"payload\":\"{}\"}}",
            sharelock_core::encoding::b64u(&payload)
        ),
    )
}

type Job = (Vec<u8>, oneshot::Sender<bool>);

/// One writer thread: takes whatever is queued, inserts it in one transaction, commits, answers.
#[derive(Clone)]
struct Writer(mpsc::Sender<Job>);

impl Writer {
    fn spawn(path: &Path) -> Self {
        let conn = Connection::open(path).expect("open insert db");
        conn.execute_batch(
            "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL; \
             CREATE TABLE IF NOT EXISTS items (id INTEGER PRIMARY KEY, payload BLOB NOT NULL);",
        )
        .expect("schema");
        let (jobs, mut queue) = mpsc::channel::<Job>(4096);
        std::thread::spawn(move || {
            let mut batch = Vec::new();
            while let Some(first) = queue.blocking_recv() {
                batch.push(first);
                while let Ok(job) = queue.try_recv() {
                    batch.push(job);
                }
                let committed = (|| -> rusqlite::Result<()> {
                    let tx = conn.unchecked_transaction()?;
                    {
                        let mut insert =
                            tx.prepare_cached("INSERT INTO items (payload) VALUES (?1)")?;
                        for (payload, _) in &batch {
                            insert.execute([payload])?;
                        }
                    }
                    tx.commit()
                })()
                .is_ok();
                for (_, reply) in batch.drain(..) {
                    let _ = reply.send(committed);
                }
            }
        });
        Writer(jobs)
    }

    async fn insert(&self, payload: Vec<u8>) -> StatusCode {
        let (reply, answer) = oneshot::channel();
        if self.0.send((payload, reply)).await.is_err() {
            return StatusCode::SERVICE_UNAVAILABLE;
        }
        match answer.await {
            Ok(true) => StatusCode::CREATED,
            _ => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }
}
