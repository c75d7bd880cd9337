//! End-to-end HTTP benchmark: the real `sharelock serve` binary (release build) on a loopback port, loaded
//! by `wrk` on the same machine, as in the reference measurements of docs/benchmarks.md.
//!
//! `cargo bench -p sharelock --bench http` (needs `wrk`, e.g. `apt-get install wrk`). Settings by
//! environment: `BENCH_SECONDS` (default 10 per scenario), `BENCH_CONNECTIONS` (64), `BENCH_SHARES` (64),
//! `BENCH_BACKEND` (`sqlite`, the default, or `postgres`: a throwaway PostgreSQL cluster at its durable
//! defaults, started from the machine's PostgreSQL binaries as the tests do), `BENCH_SCALE` (the scale
//! scenarios of `http/scale.rs` instead of this table).
//! Prints one table row per scenario: requests per second, p50 and p99 latency, and the server's RSS
//! before and at its peak. Besides wrk's scenarios, share creation and first opens (binds) run through the
//! real client with one task per connection. On PostgreSQL, pgbench then runs the signed fetch's query and
//! a 1 KiB durable insert on the same database with the same connection count, so the table can show our
//! rate as a share of the database's own.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::print_stdout)]

/// `BENCH_SCALE=10k,1m`: the scale scenarios (many live shares and records, a sweeper pass) instead.
#[path = "http/scale.rs"]
mod scale;

use sharelock_api::shares::Expiry;
use sharelock_client::{DeviceStore, MemoryDeviceStore, Recipient, ShareOptions};
use sharelock_core::httpsig::{RequestParts, sign};
use sharelock_core::record::{RecordBody, RecordType};
use sharelock_core::share::Link;
use sharelock_store::postgres::test_cluster::{Durability, TestCluster};
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
    fn start(data: &Path, database_url: Option<&str>) -> Self {
        let mut command = Command::new(env!("CARGO_BIN_EXE_sharelock"));
        command
            .args(["serve", "--listen", "127.0.0.1:0", "--data-dir"])
            .arg(data)
            .env_remove("SHARELOCK_DATABASE_URL");
        if let Some(url) = database_url {
            command.env("SHARELOCK_DATABASE_URL", url);
        }
        let mut child = command
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

/// Latency percentiles of a list of durations, in milliseconds.
fn percentiles(mut samples: Vec<std::time::Duration>) -> (f64, f64) {
    if samples.is_empty() {
        return (0.0, 0.0);
    }
    samples.sort_unstable();
    let at = |q: f64| {
        let i = ((samples.len() as f64 - 1.0) * q).round() as usize;
        samples[i].as_secs_f64() * 1000.0
    };
    (at(0.50), at(0.99))
}

fn share_options() -> ShareOptions {
    ShareOptions {
        expires: Expiry::InSeconds(3600),
        editable: false,
        burn_after_secs: None,
        label: None,
        passphrase: None,
        view_once: false,
    }
}

fn login_body(i: usize) -> RecordBody {
    let mut body = RecordBody::new(RecordType::Login, format!("Record {i}"));
    body.set_field("username", format!("user{i}"))
        .expect("field");
    body.set_field("password", "correct horse battery staple")
        .expect("field");
    body
}

/// The owner's flow for a one-off share, through the real client, one task per connection for `seconds`:
/// a new record, then a share of it (the share's rotation and insert are one durable transaction). Returns
/// the shares made per second, the p50/p99 of the share creation alone, and the links (unopened).
async fn share_creation(
    session: &[u8],
    connections: u64,
    seconds: u64,
) -> (f64, f64, f64, Vec<String>) {
    let started = std::time::Instant::now();
    let deadline = started + std::time::Duration::from_secs(seconds);
    let tasks: Vec<_> = (0..connections)
        .map(|t| {
            let mut owner = sharelock_client::OwnerSession::from_bytes(session).expect("session");
            tokio::spawn(async move {
                let mut links = Vec::new();
                let mut latencies = Vec::new();
                let mut i = 0;
                while std::time::Instant::now() < deadline {
                    i += 1;
                    let record = owner
                        .create_record(&login_body(t as usize * 1_000_000 + i))
                        .await
                        .expect("record");
                    let at = std::time::Instant::now();
                    let created = owner
                        .create_share(record, share_options())
                        .await
                        .expect("share");
                    latencies.push(at.elapsed());
                    links.push(created.link.to_string());
                }
                (links, latencies)
            })
        })
        .collect();
    let mut links = Vec::new();
    let mut latencies = Vec::new();
    for task in tasks {
        let (l, t) = task.await.expect("creation task");
        links.extend(l);
        latencies.extend(t);
    }
    let elapsed = started.elapsed().as_secs_f64();
    let (p50, p99) = percentiles(latencies);
    (links.len() as f64 / elapsed, p50, p99, links)
}

/// First opens of fresh shares through the real client, one task per connection, until the links run out
/// or `seconds` pass: the status call, the bind (one conditional update, durable), the signed fetch.
async fn first_opens(links: Vec<String>, connections: u64, seconds: u64) -> (f64, f64, f64) {
    let links = std::sync::Arc::new(std::sync::Mutex::new(links));
    let started = std::time::Instant::now();
    let deadline = started + std::time::Duration::from_secs(seconds);
    let tasks: Vec<_> = (0..connections)
        .map(|_| {
            let links = links.clone();
            tokio::spawn(async move {
                let mut latencies = Vec::new();
                while std::time::Instant::now() < deadline {
                    let Some(link) = links.lock().expect("links").pop() else {
                        break;
                    };
                    let link = Link::parse(&link).expect("link");
                    let device = MemoryDeviceStore::new();
                    let at = std::time::Instant::now();
                    Recipient::open(&link, None, &device).await.expect("open");
                    latencies.push(at.elapsed());
                }
                latencies
            })
        })
        .collect();
    let mut latencies = Vec::new();
    for task in tasks {
        latencies.extend(task.await.expect("open task"));
    }
    let elapsed = started.elapsed().as_secs_f64();
    let n = latencies.len();
    let (p50, p99) = percentiles(latencies);
    (n as f64 / elapsed, p50, p99)
}

/// pgbench with a custom script on the benchmark's database: transactions per second.
fn pgbench(bin: &Path, url: &str, script: &Path, connections: u64, seconds: u64) -> f64 {
    let output = Command::new(bin.join("pgbench"))
        .args([
            "-n",
            "-M",
            "prepared",
            &format!("-c{connections}"),
            "-j2",
            &format!("-T{seconds}"),
            "-f",
        ])
        .arg(script)
        .arg(url)
        .output()
        .expect("run pgbench");
    let text = String::from_utf8_lossy(&output.stdout);
    if !output.status.success() {
        eprintln!(
            "pgbench failed: {}{}",
            text,
            String::from_utf8_lossy(&output.stderr)
        );
        std::process::exit(1);
    }
    text.lines()
        .find_map(|l| l.strip_prefix("tps = "))
        .and_then(|v| v.split_whitespace().next())
        .and_then(|v| v.parse().ok())
        .unwrap_or(0.0)
}

/// The database's own rates for what the server does per request: the signed fetch's one query (the
/// share and its record's current version, by a share id drawn at random from the bound ones) and a
/// durable 1 KiB insert, each its own transaction.
fn postgres_ceiling(
    runtime: &tokio::runtime::Runtime,
    bin: &Path,
    url: &str,
    scripts: &Path,
    connections: u64,
    seconds: u64,
) -> (f64, f64) {
    use sqlx::Connection as _;
    let shares = runtime.block_on(async {
        let mut conn = sqlx::PgConnection::connect(url).await.expect("connect");
        for statement in [
            "CREATE TABLE bench_share_ids (n bigint PRIMARY KEY, share_id bytea NOT NULL)",
            "INSERT INTO bench_share_ids SELECT row_number() OVER (), share_id FROM shares \
             WHERE device_key IS NOT NULL",
            "CREATE TABLE bench_inserts (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, \
             payload bytea NOT NULL)",
        ] {
            sqlx::query(statement)
                .execute(&mut conn)
                .await
                .expect("prepare pgbench tables");
        }
        let n: i64 = sqlx::query_scalar("SELECT count(*) FROM bench_share_ids")
            .fetch_one(&mut conn)
            .await
            .expect("count");
        n
    });
    let read = write_script(
        scripts,
        "pgbench-read",
        &format!(
            "\\set n random(1, {shares})\n\
             SELECT s.*, v.version, v.key_gen, v.envelope, v.proof FROM shares s \
             LEFT JOIN records r ON r.id = s.record_id \
             LEFT JOIN versions v ON v.record_id = r.id AND v.version = r.version \
             WHERE s.share_id = (SELECT share_id FROM bench_share_ids WHERE n = :n);\n"
        ),
    );
    // 1 KiB of bytes that do not compress (32 MD5 digests in hex), made on the server.
    let insert = write_script(
        scripts,
        "pgbench-insert",
        "INSERT INTO bench_inserts (payload) SELECT convert_to(string_agg(md5(random()::text), ''), 'UTF8') \
         FROM generate_series(1, 32);\n",
    );
    (
        pgbench(bin, url, &read, connections, seconds),
        pgbench(bin, url, &insert, connections, seconds),
    )
}

fn main() {
    if std::env::args().any(|a| a == "--list" || a == "--test") {
        // `cargo bench` and `cargo test --benches` probe bench binaries; this one runs only on `cargo bench`.
        return;
    }
    if let Some(sizes) = scale::requested() {
        scale::run(&sizes);
        return;
    }
    let seconds = env_or("BENCH_SECONDS", 10);
    let connections = env_or("BENCH_CONNECTIONS", 64);
    let shares = env_or("BENCH_SHARES", 64) as usize;
    let backend = std::env::var("BENCH_BACKEND").unwrap_or_else(|_| "sqlite".to_owned());
    if backend != "sqlite" && backend != "postgres" {
        eprintln!("BENCH_BACKEND must be sqlite or postgres, not {backend:?}");
        std::process::exit(2);
    }
    if Command::new("wrk").arg("--version").output().is_err() {
        eprintln!("the HTTP benchmark needs wrk: apt-get install wrk");
        std::process::exit(2);
    }
    let dir = tempfile::tempdir().expect("temp dir");
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    // PostgreSQL at its durable defaults (fsync, synchronous commit), as a deployment runs it.
    let postgres = (backend == "postgres").then(|| {
        let cluster = TestCluster::start(Durability::Durable).unwrap_or_else(|e| {
            eprintln!("cannot start PostgreSQL: {e}");
            std::process::exit(2);
        });
        let database = runtime.block_on(cluster.database());
        (cluster, database)
    });
    let server = Server::start(
        &dir.path().join("data"),
        postgres.as_ref().map(|(_, db)| db.url()),
    );

    // Setup through the real client: an account, records, one opened share per record.
    let (opened, session) = runtime.block_on(async {
        let mut owner = sharelock_client::register(&server.url, "bench@example.org", PASSWORD)
            .await
            .expect("register");
        let devices = MemoryDeviceStore::new();
        let mut opened = Vec::with_capacity(shares);
        for i in 0..shares {
            let record = owner.create_record(&login_body(i)).await.expect("record");
            let created = owner
                .create_share(record, share_options())
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
        (opened, owner.to_bytes().expect("session").to_vec())
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
    let signed_fetch_rps = rows[1].1.rps;

    let (created_rate, created_p50, created_p99, links) =
        runtime.block_on(share_creation(&session, connections, seconds));
    let (_, created_peak) = server.rss_kib();
    let created = links.len();
    let (open_rate, open_p50, open_p99) =
        runtime.block_on(first_opens(links, connections, seconds));
    let (_, open_peak) = server.rss_kib();

    println!(
        "\nsharelock HTTP on {backend}, {connections} connections, {seconds} s per scenario, {shares} bound shares (server RSS idle after setup: {:.1} MiB)\n",
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
    println!(
        "| share creation (client: new record, then share it; {created} made) | {created_rate:.0} shares/s | {created_p50:.2} ms | {created_p99:.2} ms | 0 | {:.1} MiB |",
        created_peak as f64 / 1024.0
    );
    println!(
        "| first open (client: status, bind, signed fetch) | {open_rate:.0} opens/s | {open_p50:.2} ms | {open_p99:.2} ms | 0 | {:.1} MiB |",
        open_peak as f64 / 1024.0
    );

    if let Some((cluster, database)) = &postgres {
        let bin = cluster
            .bin_dir()
            .expect("a throwaway cluster has its binaries");
        let (read_tps, insert_tps) =
            postgres_ceiling(&runtime, bin, database.url(), scripts, connections, seconds);
        println!(
            "\npgbench on the same database, {connections} connections, {seconds} s, one statement per transaction\n"
        );
        println!("| pgbench script | tps | sharelock beside it | share |");
        println!("|---|---:|---|---:|");
        println!(
            "| the signed fetch's query | {read_tps:.0} | signed fetch {signed_fetch_rps:.0} req/s | {:.0} % |",
            100.0 * signed_fetch_rps / read_tps.max(1.0)
        );
        println!(
            "| 1 KiB durable insert | {insert_tps:.0} | share creation {created_rate:.0}/s (2 durable transactions each: {:.0} % of the inserts) | {:.0} % |",
            100.0 * 2.0 * created_rate / insert_tps.max(1.0),
            100.0 * created_rate / insert_tps.max(1.0)
        );
        println!(
            "| 1 KiB durable insert | {insert_tps:.0} | first opens {open_rate:.0}/s (1 durable bind each) | {:.0} % |",
            100.0 * open_rate / insert_tps.max(1.0)
        );
    }
}
