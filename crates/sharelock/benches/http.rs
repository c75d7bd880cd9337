//! End-to-end HTTP benchmark: the real `sharelock serve` binary (release build) on a loopback port, loaded
//! by `wrk` on the same machine, as in the reference measurements of docs/benchmarks.md.
//!
//! `cargo bench -p sharelock --bench http` (needs `wrk`, e.g. `apt-get install wrk`). Settings by
//! environment: `BENCH_SECONDS` (default 10 per scenario), `BENCH_CONNECTIONS` (64), `BENCH_SHARES` (64).
//! Prints one table row per scenario: requests per second, p50 and p99 latency, and the server's RSS
//! before and at its peak.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::print_stdout)]

use sharelock_api::shares::Expiry;
use sharelock_client::{DeviceStore, MemoryDeviceStore, Recipient, ShareOptions};
use sharelock_core::httpsig::{RequestParts, sign};
use sharelock_core::record::{RecordBody, RecordType};
use sharelock_core::share::Link;
use std::fmt::Write as _;
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{SystemTime, UNIX_EPOCH};

const PASSWORD: &str = "a benchmark password, long enough";

/// A positive number from the environment, or `default` when unset; anything else stops the bench.
fn env_or(name: &str, default: u64) -> u64 {
    match std::env::var(name) {
        Err(_) => default,
        Ok(v) => match v.parse() {
            Ok(n) if n > 0 => n,
            _ => {
                eprintln!("{name} must be a positive whole number, not {v:?}");
                std::process::exit(2);
            }
        },
    }
}

struct Server {
    child: Child,
    url: String,
}

impl Server {
    fn start(data: &Path) -> Self {
        let mut child = Command::new(env!("CARGO_BIN_EXE_sharelock"))
            .args(["serve", "--listen", "127.0.0.1:0", "--data-dir"])
            .arg(data)
            // The per-address limiter would turn a one-address load test into 429s.
            .env("SHARELOCK_RATE_LIMIT_PER_MINUTE", "100000000")
            .env("SHARELOCK_LOG", "warn")
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("start sharelock serve");
        let stdout = child.stdout.take().expect("stdout");
        let mut lines = BufReader::new(stdout).lines();
        let url = loop {
            let line = lines.next().expect("server output").expect("a line");
            if let Some(url) = line.strip_prefix("sharelock listening on ") {
                break url.trim().to_owned();
            }
        };
        // Keep draining stdout so the server never blocks on it.
        std::thread::spawn(move || for _ in lines {});
        Server { child, url }
    }

    /// Resident set size now and at its peak, in KiB, from /proc.
    fn rss_kib(&self) -> (u64, u64) {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id()))
            .expect("proc status");
        let field = |name: &str| {
            status
                .lines()
                .find_map(|l| l.strip_prefix(name))
                .and_then(|v| v.split_whitespace().next())
                .and_then(|v| v.parse().ok())
                .unwrap_or(0)
        };
        (field("VmRSS:"), field("VmHWM:"))
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// One bound share: what a wrk request needs to fetch it, signed by its device.
struct Opened {
    share_header: String,
    access: String,
    device: sharelock_core::device::DeviceKey,
}

struct WrkResult {
    rps: f64,
    p50_ms: f64,
    p99_ms: f64,
    non_2xx: u64,
}

fn wrk(url: &str, script: &Path, seconds: u64, connections: u64) -> WrkResult {
    let output = Command::new("wrk")
        .args([
            "-t2",
            &format!("-c{connections}"),
            &format!("-d{seconds}s"),
            "--latency",
            "-s",
        ])
        .arg(script)
        .arg(url)
        .output()
        .expect("run wrk (install it: apt-get install wrk)");
    let text = String::from_utf8_lossy(&output.stdout);
    let number_after = |prefix: &str| {
        text.lines()
            .find_map(|l| l.trim().strip_prefix(prefix))
            .map(|v| v.trim().to_owned())
    };
    let ms = |v: Option<String>| {
        let v = v.unwrap_or_default();
        if let Some(us) = v.strip_suffix("us") {
            us.parse::<f64>().unwrap_or(0.0) / 1000.0
        } else if let Some(ms) = v.strip_suffix("ms") {
            ms.parse().unwrap_or(0.0)
        } else if let Some(s) = v.strip_suffix('s') {
            s.parse::<f64>().unwrap_or(0.0) * 1000.0
        } else {
            0.0
        }
    };
    WrkResult {
        rps: number_after("Requests/sec:")
            .and_then(|v| v.parse().ok())
            .unwrap_or(0.0),
        p50_ms: ms(number_after("50%")),
        p99_ms: ms(number_after("99%")),
        non_2xx: number_after("Non-2xx or 3xx responses:")
            .and_then(|v| v.parse().ok())
            .unwrap_or(0),
    }
}

/// A Lua string literal.
fn lua(s: &str) -> String {
    format!("{s:?}")
}

fn write_script(dir: &Path, name: &str, body: &str) -> std::path::PathBuf {
    let path = dir.join(format!("{name}.lua"));
    std::fs::write(&path, body).expect("write script");
    path
}

/// Signs one `GET /api/v1/recipient/share` per share, valid for the 60 s window (reads carry no nonce
/// check, so wrk may repeat them), and a script that cycles through them.
fn signed_fetch_script(dir: &Path, url: &str, opened: &[Opened]) -> std::path::PathBuf {
    let created = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("clock")
        .as_secs() as i64;
    let target = format!("{url}/api/v1/recipient/share");
    let mut requests = String::from("local requests = {\n");
    for (i, share) in opened.iter().enumerate() {
        let parts = RequestParts {
            method: "GET",
            target_uri: &target,
            share_header: &share.share_header,
            content_type: None,
            content_digest: None,
        };
        let mut nonce = [0u8; 16];
        nonce[..8].copy_from_slice(&(i as u64).to_be_bytes());
        let headers = sign(&share.device, &parts, created, nonce).expect("sign");
        writeln!(
            requests,
            "  wrk.format('GET', '/api/v1/recipient/share', {{['Sharelock-Share'] = {}, ['Signature-Input'] = {}, ['Signature'] = {}}}),",
            lua(&share.share_header),
            lua(&headers.signature_input),
            lua(&headers.signature),
        )
        .expect("write");
    }
    requests.push_str(CYCLE);
    write_script(dir, "signed-fetch", &requests)
}

/// The unsigned status call of each share, with its access token: the link holder's first request.
fn status_script(dir: &Path, opened: &[Opened]) -> std::path::PathBuf {
    let mut requests = String::from("local requests = {\n");
    for share in opened {
        writeln!(
            requests,
            "  wrk.format('GET', '/api/v1/recipient/status', {{['Sharelock-Share'] = {}, ['Sharelock-Access'] = {}}}),",
            lua(&share.share_header),
            lua(&share.access),
        )
        .expect("write");
    }
    requests.push_str(CYCLE);
    write_script(dir, "status", &requests)
}

/// The end of a request-list script: wrk sends them in turn.
const CYCLE: &str = "}\nlocal i = 0\nrequest = function()\n  i = i + 1\n  return requests[(i % #requests) + 1]\nend\n";

fn main() {
    if std::env::args().any(|a| a == "--list" || a == "--test") {
        // `cargo bench` and `cargo test --benches` probe bench binaries; this one runs only on `cargo bench`.
        return;
    }
    let seconds = env_or("BENCH_SECONDS", 10);
    let connections = env_or("BENCH_CONNECTIONS", 64);
    let shares = env_or("BENCH_SHARES", 64) as usize;
    if Command::new("wrk").arg("--version").output().is_err() {
        eprintln!("the HTTP benchmark needs wrk: apt-get install wrk");
        std::process::exit(2);
    }
    let dir = tempfile::tempdir().expect("temp dir");
    let server = Server::start(&dir.path().join("data"));
    let runtime = tokio::runtime::Runtime::new().expect("runtime");

    // Setup through the real client: an account, records, one opened share per record.
    let opened = runtime.block_on(async {
        let mut owner = sharelock_client::register(&server.url, "bench@example.org", PASSWORD)
            .await
            .expect("register");
        let devices = MemoryDeviceStore::new();
        let mut opened = Vec::with_capacity(shares);
        for i in 0..shares {
            let mut body = RecordBody::new(RecordType::Login, format!("Record {i}"));
            body.set_field("username", format!("user{i}"))
                .expect("field");
            body.set_field("password", "correct horse battery staple")
                .expect("field");
            let record = owner.create_record(&body).await.expect("record");
            let created = owner
                .create_share(
                    record,
                    ShareOptions {
                        expires: Expiry::InSeconds(3600),
                        editable: false,
                        burn_after_secs: None,
                        label: None,
                        passphrase: None,
                    },
                )
                .await
                .expect("share");
            let link = Link::parse(&created.link.to_string()).expect("link");
            Recipient::open(&link, None, &devices).await.expect("open");
            let keys = sharelock_core::share::ShareKeys::derive(
                sharelock_core::share::LinkSecret::from_bytes(*link.secret.expose()),
                None,
            )
            .expect("keys");
            let share_id = keys.share_id();
            opened.push(Opened {
                share_header: share_id.to_b64u(),
                access: keys.access_token().to_b64u(),
                device: devices.load(&share_id).expect("load").expect("a key"),
            });
        }
        opened
    });
    let (idle_rss, _) = server.rss_kib();

    let scripts = dir.path();
    let floor = write_script(scripts, "healthz", "wrk.path = '/healthz'\n");
    let status = status_script(scripts, &opened);

    // Each scenario's script is written just before it runs: the signed requests must be inside their
    // 60 s window.
    type Scenario<'a> = (&'static str, Box<dyn Fn() -> std::path::PathBuf + 'a>);
    let scenarios: Vec<Scenario> = vec![
        ("GET /healthz (floor)", Box::new(|| floor.clone())),
        (
            "signed fetch GET /recipient/share",
            Box::new(|| signed_fetch_script(scripts, &server.url, &opened)),
        ),
        (
            "status GET /recipient/status (access token)",
            Box::new(|| status.clone()),
        ),
    ];
    let mut rows = Vec::new();
    for (name, script) in scenarios {
        let result = wrk(&server.url, &script(), seconds, connections);
        let (_, peak) = server.rss_kib();
        rows.push((name, result, peak));
    }

    println!(
        "\nsharelock HTTP, {connections} connections, {seconds} s per scenario, {shares} bound shares (server RSS idle after setup: {:.1} MiB)\n",
        idle_rss as f64 / 1024.0
    );
    println!("| scenario | req/s | p50 | p99 | non-2xx | peak RSS so far |");
    println!("|---|---:|---:|---:|---:|---:|");
    for (name, r, peak) in rows {
        println!(
            "| {name} | {:.0} | {:.2} ms | {:.2} ms | {} | {:.1} MiB |",
            r.rps,
            r.p50_ms,
            r.p99_ms,
            r.non_2xx,
            peak as f64 / 1024.0
        );
    }
}
