//! A flood of unauthenticated 16 MiB uploads and slow connections against the real binary with its default
//! settings (issue 9, "done when"): the server's resident memory stays under 128 MiB and `/healthz` answers
//! within a second throughout. nextest runs this test alone (.config/nextest.toml), so the measurement is
//! the server's and not its neighbours'.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::TestServer;
use common::raw::{Signer, rss_bytes};
use sharelock_client::core::device::DeviceKey;
use sharelock_client::core::share::ShareId;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

const FLOOD_FOR: Duration = Duration::from_secs(20);
const PART: usize = 16 * 1024 * 1024;
const RSS_LIMIT: u64 = 128 * 1024 * 1024;
const HEALTH_WITHIN: Duration = Duration::from_secs(1);

/// Sends `head`, then up to `PART` bytes of body until the server stops taking them.
async fn upload_once(addr: &str, head: &str, chunk: &[u8], sent: &AtomicU64) {
    let Ok(mut stream) = TcpStream::connect(addr).await else {
        return;
    };
    if stream.write_all(head.as_bytes()).await.is_err() {
        return;
    }
    let mut written = 0;
    while written < PART {
        match tokio::time::timeout(Duration::from_secs(2), stream.write_all(chunk)).await {
            Ok(Ok(())) => {
                written += chunk.len();
                sent.fetch_add(chunk.len() as u64, Ordering::Relaxed);
            }
            _ => break,
        }
    }
    let mut answer = [0u8; 1024];
    let _ = tokio::time::timeout(Duration::from_secs(2), stream.read(&mut answer)).await;
}

/// One uploader: signed-looking part uploads to shares it has no key for, and owner part uploads with a
/// made-up session, each declaring 16 MiB.
async fn uploader(url: String, stop: Arc<AtomicBool>, sent: Arc<AtomicU64>, n: usize) {
    let addr = url.trim_start_matches("http://").to_owned();
    let chunk = vec![0x42u8; 256 * 1024];
    let mut i = n;
    while !stop.load(Ordering::Relaxed) {
        i += 1;
        let head = if i.is_multiple_of(2) {
            let key = DeviceKey::generate().unwrap();
            let share = ShareId::from_bytes(*uuid::Uuid::new_v4().as_bytes());
            let signer = Signer {
                url: &url,
                share: &share,
                key: &key,
                created: None,
            };
            let path = format!("/recipient/files/{}/parts/0", uuid::Uuid::new_v4());
            signer.head("PUT", &path, Some(b"the body that never comes"), PART)
        } else {
            let token: String = uuid::Uuid::new_v4().simple().to_string().repeat(2)[..43].into();
            format!(
                "PUT /api/v1/records/{}/files/{}/parts/0 HTTP/1.1\r\nhost: {addr}\r\n\
                 authorization: Bearer {token}\r\ncontent-type: application/octet-stream\r\n\
                 content-length: {PART}\r\n\r\n",
                uuid::Uuid::new_v4(),
                uuid::Uuid::new_v4()
            )
        };
        upload_once(&addr, &head, &chunk, &sent).await;
    }
}

/// One slow client: sends a request head one byte every half second, reconnecting whenever it is cut off;
/// every other one says nothing at all.
async fn slow_client(addr: String, stop: Arc<AtomicBool>, cut: Arc<AtomicU64>, silent: bool) {
    let head =
        b"PUT /api/v1/recipient/files/00000000-0000-0000-0000-000000000000/parts/0 HTTP/1.1\r\n";
    while !stop.load(Ordering::Relaxed) {
        let Ok(mut stream) = TcpStream::connect(&addr).await else {
            tokio::time::sleep(Duration::from_millis(200)).await;
            continue;
        };
        let mut bytes = head.iter().cycle();
        loop {
            if stop.load(Ordering::Relaxed) {
                return;
            }
            if !silent {
                let byte = bytes.next().copied().unwrap_or(b'x');
                if stream.write_all(&[byte]).await.is_err() {
                    break;
                }
            }
            let mut probe = [0u8; 64];
            match tokio::time::timeout(Duration::from_millis(500), stream.read(&mut probe)).await {
                Ok(Ok(0)) | Ok(Err(_)) => break,
                _ => {}
            }
        }
        cut.fetch_add(1, Ordering::Relaxed);
    }
}

/// `GET /healthz` on a fresh connection: how long until the answer, if it was 200.
async fn health(addr: &str) -> Option<Duration> {
    let started = Instant::now();
    let answer = tokio::time::timeout(Duration::from_secs(10), async {
        let mut stream = TcpStream::connect(addr).await.ok()?;
        stream
            .write_all(b"GET /healthz HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n")
            .await
            .ok()?;
        let mut response = Vec::new();
        stream.read_to_end(&mut response).await.ok()?;
        Some(response)
    })
    .await
    .ok()
    .flatten()?;
    answer
        .starts_with(b"HTTP/1.1 200")
        .then(|| started.elapsed())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_flood_of_unauthenticated_uploads_and_slow_clients_leaves_the_server_small_and_healthy() {
    let server = TestServer::start();
    let addr = server.addr();
    let pid = server.pid();
    let idle = rss_bytes(pid);
    assert!(idle > 0, "the server's memory is readable from /proc");

    let stop = Arc::new(AtomicBool::new(false));
    let sent = Arc::new(AtomicU64::new(0));
    let cut = Arc::new(AtomicU64::new(0));
    let mut tasks = Vec::new();
    for n in 0..32 {
        tasks.push(tokio::spawn(uploader(
            server.url.clone(),
            stop.clone(),
            sent.clone(),
            n,
        )));
    }
    for n in 0..400u32 {
        tasks.push(tokio::spawn(slow_client(
            addr.clone(),
            stop.clone(),
            cut.clone(),
            n.is_multiple_of(4),
        )));
    }

    let started = Instant::now();
    let mut peak = idle;
    let mut slowest = Duration::ZERO;
    let mut probes = 0;
    while started.elapsed() < FLOOD_FOR {
        let answered = health(&addr).await;
        let took = answered.expect("/healthz answers 200 during the flood");
        slowest = slowest.max(took);
        probes += 1;
        for _ in 0..3 {
            peak = peak.max(rss_bytes(pid));
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
    stop.store(true, Ordering::Relaxed);
    for task in tasks {
        let _ = tokio::time::timeout(Duration::from_secs(5), task).await;
    }
    let sent = sent.load(Ordering::Relaxed);
    let cut = cut.load(Ordering::Relaxed);
    println!(
        "idle RSS {} MiB, peak {} MiB; {probes} health probes, slowest {slowest:?}; \
         {} MiB of upload bodies sent; {cut} slow connections cut off",
        idle >> 20,
        peak >> 20,
        sent >> 20
    );
    assert!(probes >= 20, "{probes} probes");
    assert!(
        slowest < HEALTH_WITHIN,
        "/healthz took {slowest:?} during the flood"
    );
    assert!(
        peak < RSS_LIMIT,
        "the server grew to {} MiB under the flood",
        peak >> 20
    );
    assert!(
        cut >= 300,
        "slow connections are cut off at the header timeout ({cut})"
    );
    // And it still serves normally.
    assert!(health(&addr).await.is_some());
}
