//! Scale scenarios of the HTTP benchmark, run instead of the main table when `BENCH_SCALE` is set:
//! `BENCH_SCALE=10k,1m` (any of `10k`, `100k`, `1m`, or a plain number of live shares).
//!
//! For each size, the real binary serves a SQLite database holding that many live shares and 100,000
//! records (spread over accounts of 1,000 shares each, as a busy instance holds them), and the signed
//! fetch and the share creation of the main table run against it: the p99 at the largest size should be
//! within 1.2× of the smallest. With `1m` (or more), a sweeper pass then runs over as many *expired*
//! shares while the signed fetch keeps running: it must finish, shred every key, and leave the fetch's
//! p99 under 20 ms.
//!
//! The shares and records are written straight into the database file by this process (one transaction,
//! no HTTP), after the server created the schema and the benchmark's own account, records and opened
//! shares through the real client; the server is stopped meanwhile.
//!
//! Settings: `BENCH_SECONDS` (per scenario, default 10), `BENCH_CONNECTIONS` (64), `BENCH_RECORDS`
//! (records seeded, default 100,000). Needs `wrk`.

use sharelock_api::shares::Expiry;
use sharelock_client::{DeviceStore, MemoryDeviceStore, OwnerSession, Recipient, ShareOptions};
use sharelock_core::httpsig::{RequestParts, sign};
use sharelock_core::record::{RecordBody, RecordType};
use sharelock_core::share::{Link, LinkSecret, ShareKeys};
use std::fmt::Write as _;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

const PASSWORD: &str = "a benchmark password, long enough";
/// Shares the benchmark's own account opens, and fetches in turn.
const OPENED: usize = 64;
/// Seeded shares per seeded account (the default live-share limit is 1,000 per account).
const SHARES_PER_ACCOUNT: u64 = 1000;
/// Live shares at or past this size also get the sweeper scenario.
const SWEEP_FROM: u64 = 1_000_000;
/// A wrk round during the sweep: the signed requests are valid for 60 s, so each round is signed anew.
const SWEEP_ROUND_SECS: u64 = 20;

/// The sizes asked for by `BENCH_SCALE`, smallest first; `None` when it is unset.
pub fn requested() -> Option<Vec<u64>> {
    let value = std::env::var("BENCH_SCALE").ok()?;
    let mut sizes: Vec<u64> = value
        .split(',')
        .map(|s| {
            let s = s.trim().to_ascii_lowercase();
            let parsed = if let Some(n) = s.strip_suffix('m') {
                n.parse::<u64>().ok().map(|n| n * 1_000_000)
            } else if let Some(n) = s.strip_suffix('k') {
                n.parse::<u64>().ok().map(|n| n * 1000)
            } else {
                s.parse().ok()
            };
            match parsed {
                Some(n) if n > 0 => n,
                _ => {
                    eprintln!("BENCH_SCALE takes sizes such as 10k,1m, not {value:?}");
                    std::process::exit(2);
                }
            }
        })
        .collect();
    sizes.sort_unstable();
    sizes.dedup();
    Some(sizes)
}

fn unix_now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("clock")
        .as_secs() as i64
}

/// The 1-minute load average, from /proc.
fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .ok()
        .and_then(|l| l.split_whitespace().next().map(str::to_owned))
        .unwrap_or_else(|| "?".into())
}

struct Server {
    child: Child,
    url: String,
}

impl Server {
    /// Serves `data` on `listen`: `127.0.0.1:0` at setup, then the setup's address again, which the
    /// owner's saved session names.
    fn start(data: &Path, listen: &str) -> Self {
        let mut child = Command::new(env!("CARGO_BIN_EXE_sharelock"))
            .args(["serve", "--listen", listen, "--data-dir"])
            .arg(data)
            .env_remove("SHARELOCK_DATABASE_URL")
            .env("SHARELOCK_RATE_LIMIT_PER_MINUTE", "100000000")
            // The creation scenario makes tens of thousands of shares from one account.
            .env("SHARELOCK_MAX_LIVE_SHARES", "100000000")
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
        std::thread::spawn(move || for _ in lines {});
        Server { child, url }
    }

    /// Peak resident set size in MiB, from /proc.
    fn peak_rss_mib(&self) -> f64 {
        std::fs::read_to_string(format!("/proc/{}/status", self.child.id()))
            .ok()
            .and_then(|s| {
                s.lines()
                    .find_map(|l| l.strip_prefix("VmHWM:"))
                    .and_then(|v| v.split_whitespace().next())
                    .and_then(|v| v.parse::<f64>().ok())
            })
            .map_or(0.0, |kib| kib / 1024.0)
    }

    /// Stops the server as a deployment would (SIGTERM), so the database is left checkpointed.
    fn stop(mut self) {
        let _ = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status();
        let _ = self.child.wait();
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A share of the benchmark's account, opened by a device: what a signed fetch needs.
struct Opened {
    share_header: String,
    device: sharelock_core::device::DeviceKey,
}

fn body(i: usize) -> RecordBody {
    let mut body = RecordBody::new(RecordType::Login, format!("Record {i}"));
    body.set_field("username", format!("user{i}"))
        .expect("field");
    body.set_field("password", "correct horse battery staple")
        .expect("field");
    body
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

/// The schema, then the benchmark's account with `OPENED` records each shared and opened, through the
/// real server and client. Returns the opened shares and the owner's session.
fn set_up(runtime: &tokio::runtime::Runtime, data: &Path) -> (Vec<Opened>, Vec<u8>, String) {
    let server = Server::start(data, "127.0.0.1:0");
    let listen = server.url.trim_start_matches("http://").to_owned();
    let out = runtime.block_on(async {
        let mut owner = sharelock_client::register(&server.url, "bench@example.org", PASSWORD)
            .await
            .expect("register");
        let devices = MemoryDeviceStore::new();
        let mut opened = Vec::with_capacity(OPENED);
        for i in 0..OPENED {
            let record = owner.create_record(&body(i)).await.expect("record");
            let created = owner
                .create_share(record, share_options())
                .await
                .expect("share");
            let link = Link::parse(&created.link.to_string()).expect("link");
            Recipient::open(&link, None, &devices).await.expect("open");
            let keys = ShareKeys::derive(LinkSecret::from_bytes(*link.secret.expose()), None)
                .expect("keys");
            let share_id = keys.share_id();
            opened.push(Opened {
                share_header: share_id.to_b64u(),
                device: devices.load(&share_id).expect("load").expect("a key"),
            });
        }
        (opened, owner.to_bytes().expect("session").to_vec())
    });
    server.stop();
    (out.0, out.1, listen)
}

/// What to write into the database besides the benchmark's own account.
struct Seed {
    shares: u64,
    records: u64,
    /// Shares whose time has passed (for the sweeper) rather than live ones.
    expired: bool,
}

/// Writes accounts, records (each with its key and one version of realistic size) and shares straight
/// into the database file, in one transaction. Returns the time it took.
fn seed(db: &Path, seed: &Seed) -> Duration {
    let started = Instant::now();
    let mut conn = rusqlite::Connection::open(db).expect("open database");
    conn.execute_batch("PRAGMA synchronous = OFF; PRAGMA cache_size = -1048576;")
        .expect("pragmas");
    let now = unix_now();
    let accounts = seed.shares.div_ceil(SHARES_PER_ACCOUNT).max(1);
    let records_per_account = seed.records.div_ceil(accounts).max(1);
    // Sizes as the real client writes them: a 60-byte wrapped key, a login's envelope (~1 KiB), a
    // sealed summary, a 32-byte proof, a 92-byte owner secret. The bytes themselves are never read.
    let wrapped_key = [0x5a_u8; 60];
    let envelope = [0xa5_u8; 1013];
    let summary = [0x3c_u8; 284];
    let proof = [0x11_u8; 32];
    let owner_secret = [0x77_u8; 92];
    let tx = conn.transaction().expect("transaction");
    {
        let mut account = tx
            .prepare(
                "INSERT INTO accounts (id, email, kdf_m, kdf_t, kdf_p, kdf_salt, auth_hash, wrapped_data_key, created_at)
                 VALUES (?1, ?2, 65536, 3, 4, ?3, ?4, ?5, ?6)",
            )
            .expect("prepare");
        let mut record = tx
            .prepare(
                "INSERT INTO records (id, account_id, version, key_gen, created_at, updated_at)
                 VALUES (?1, ?2, 1, 1, ?3, ?3)",
            )
            .expect("prepare");
        let mut key = tx
            .prepare("INSERT INTO record_keys (record_id, key_gen, wrapped_key) VALUES (?1, 1, ?2)")
            .expect("prepare");
        let mut version = tx
            .prepare(
                "INSERT INTO versions (record_id, version, key_gen, envelope, summary, proof, author_share, created_at)
                 VALUES (?1, 1, 1, ?2, ?3, ?4, NULL, ?5)",
            )
            .expect("prepare");
        let mut share = tx
            .prepare(
                "INSERT INTO shares (handle, share_id, account_id, record_id, token_hash, wrapped_key, key_gen,
                                     owner_secret, editable, passphrase, created_at, expires_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, 1, ?7, 0, 0, ?8, ?9)",
            )
            .expect("prepare");
        let mut shares_left = seed.shares;
        let mut records_left = seed.records;
        for a in 0..accounts {
            let account_id = uuid::Uuid::new_v4();
            account
                .execute(rusqlite::params![
                    account_id.as_bytes().as_slice(),
                    format!("seeded{a}@example.org"),
                    [1u8; 16].as_slice(),
                    uuid::Uuid::new_v4().as_bytes().as_slice(),
                    wrapped_key.as_slice(),
                    now - 86_400,
                ])
                .expect("account");
            let n_records = records_per_account.min(records_left).max(1);
            records_left = records_left.saturating_sub(n_records);
            let mut record_ids = Vec::with_capacity(n_records as usize);
            for r in 0..n_records {
                let id = uuid::Uuid::new_v4();
                let at = now - 86_400 + r as i64;
                record
                    .execute(rusqlite::params![
                        id.as_bytes().as_slice(),
                        account_id.as_bytes().as_slice(),
                        at
                    ])
                    .expect("record");
                key.execute(rusqlite::params![
                    id.as_bytes().as_slice(),
                    wrapped_key.as_slice()
                ])
                .expect("key");
                version
                    .execute(rusqlite::params![
                        id.as_bytes().as_slice(),
                        envelope.as_slice(),
                        summary.as_slice(),
                        proof.as_slice(),
                        at
                    ])
                    .expect("version");
                record_ids.push(id);
            }
            let n_shares = SHARES_PER_ACCOUNT.min(shares_left);
            shares_left -= n_shares;
            for s in 0..n_shares {
                let (created, expires) = if seed.expired {
                    (now - 7200, now - 3600 + (s as i64 % 60))
                } else {
                    (now - 3600, now + 30 * 86_400)
                };
                share
                    .execute(rusqlite::params![
                        uuid::Uuid::new_v4().as_bytes().as_slice(),
                        uuid::Uuid::new_v4().as_bytes().as_slice(),
                        account_id.as_bytes().as_slice(),
                        record_ids[s as usize % record_ids.len()]
                            .as_bytes()
                            .as_slice(),
                        [0x22_u8; 32].as_slice(),
                        wrapped_key.as_slice(),
                        owner_secret.as_slice(),
                        created,
                        expires,
                    ])
                    .expect("share");
            }
        }
    }
    tx.commit().expect("commit");
    conn.execute_batch("PRAGMA wal_checkpoint(TRUNCATE); ANALYZE;")
        .expect("checkpoint");
    started.elapsed()
}

struct WrkResult {
    rps: f64,
    p50_ms: f64,
    p99_ms: f64,
    non_2xx: u64,
    requests: u64,
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
    let after = |prefix: &str| {
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
    let requests = text
        .lines()
        .find_map(|l| {
            l.trim()
                .split_once(" requests in ")
                .and_then(|(n, _)| n.parse().ok())
        })
        .unwrap_or(0);
    WrkResult {
        rps: after("Requests/sec:")
            .and_then(|v| v.parse().ok())
            .unwrap_or(0.0),
        p50_ms: ms(after("50%")),
        p99_ms: ms(after("99%")),
        non_2xx: after("Non-2xx or 3xx responses:")
            .and_then(|v| v.parse().ok())
            .unwrap_or(0),
        requests,
    }
}

/// One signed `GET /api/v1/recipient/share` per opened share, valid for the next 60 s, cycled by wrk.
fn signed_fetch_script(dir: &Path, url: &str, opened: &[Opened]) -> PathBuf {
    let created = unix_now();
    let target = format!("{url}/api/v1/recipient/share");
    let mut script = String::from("local requests = {\n");
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
            script,
            "  wrk.format('GET', '/api/v1/recipient/share', {{['Sharelock-Share'] = {:?}, ['Signature-Input'] = {:?}, ['Signature'] = {:?}}}),",
            share.share_header, headers.signature_input, headers.signature,
        )
        .expect("write");
    }
    script.push_str(
        "}\nlocal i = 0\nrequest = function()\n  i = i + 1\n  return requests[(i % #requests) + 1]\nend\n",
    );
    let path = dir.join("scale-signed-fetch.lua");
    std::fs::write(&path, script).expect("write script");
    path
}

fn percentiles(mut samples: Vec<Duration>) -> (f64, f64) {
    if samples.is_empty() {
        return (0.0, 0.0);
    }
    samples.sort_unstable();
    let at = |q: f64| {
        samples[((samples.len() as f64 - 1.0) * q).round() as usize].as_secs_f64() * 1000.0
    };
    (at(0.50), at(0.99))
}

/// The owner's one-off share, through the real client, one task per connection for `seconds`: a new
/// record, then a share of it (the share's rotation and insert are one durable transaction). Returns
/// shares per second and the p50/p99 of the share creation.
async fn share_creation(session: &[u8], connections: u64, seconds: u64) -> (f64, f64, f64) {
    let started = Instant::now();
    let deadline = started + Duration::from_secs(seconds);
    let tasks: Vec<_> = (0..connections)
        .map(|t| {
            let mut owner = OwnerSession::from_bytes(session).expect("session");
            tokio::spawn(async move {
                let mut latencies = Vec::new();
                let mut i = 0;
                while Instant::now() < deadline {
                    i += 1;
                    let record = owner
                        .create_record(&body(t as usize * 1_000_000 + i))
                        .await
                        .expect("record");
                    let at = Instant::now();
                    owner
                        .create_share(record, share_options())
                        .await
                        .expect("share");
                    latencies.push(at.elapsed());
                }
                latencies
            })
        })
        .collect();
    let mut latencies = Vec::new();
    for task in tasks {
        latencies.extend(task.await.expect("creation task"));
    }
    let n = latencies.len();
    let (p50, p99) = percentiles(latencies);
    (n as f64 / started.elapsed().as_secs_f64(), p50, p99)
}

struct Row {
    live: u64,
    scenario: &'static str,
    rps: f64,
    p50_ms: f64,
    p99_ms: f64,
    load: String,
}

fn label(n: u64) -> String {
    if n >= 1_000_000 && n.is_multiple_of(1_000_000) {
        format!("{} M", n / 1_000_000)
    } else if n >= 1000 && n.is_multiple_of(1000) {
        format!("{} k", n / 1000)
    } else {
        n.to_string()
    }
}

/// Runs the scale scenarios for `sizes` and prints their tables.
pub fn run(sizes: &[u64]) {
    let seconds = super::env_or("BENCH_SECONDS", 10);
    let connections = super::env_or("BENCH_CONNECTIONS", 64);
    let records = super::env_or("BENCH_RECORDS", 100_000);
    if Command::new("wrk").arg("--version").output().is_err() {
        eprintln!("the HTTP benchmark needs wrk: apt-get install wrk");
        std::process::exit(2);
    }
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    let mut rows = Vec::new();
    for &live in sizes {
        let dir = tempfile::tempdir().expect("temp dir");
        let data = dir.path().join("data");
        let (opened, session, listen) = set_up(&runtime, &data);
        let took = seed(
            &data.join("sharelock.db"),
            &Seed {
                shares: live,
                records,
                expired: false,
            },
        );
        eprintln!(
            "seeded {} live shares and {records} records in {:.1} s",
            label(live),
            took.as_secs_f64()
        );
        let server = Server::start(&data, &listen);
        let load = load_average();
        let fetch = wrk(
            &server.url,
            &signed_fetch_script(dir.path(), &server.url, &opened),
            seconds,
            connections,
        );
        assert_eq!(fetch.non_2xx, 0, "every signed fetch succeeds");
        rows.push(Row {
            live,
            scenario: "signed fetch GET /recipient/share",
            rps: fetch.rps,
            p50_ms: fetch.p50_ms,
            p99_ms: fetch.p99_ms,
            load,
        });
        let load = load_average();
        let (rate, p50, p99) = runtime.block_on(share_creation(&session, connections, seconds));
        rows.push(Row {
            live,
            scenario: "share creation (client: record, then share)",
            rps: rate,
            p50_ms: p50,
            p99_ms: p99,
            load,
        });
        eprintln!(
            "{} live shares: server peak RSS {:.1} MiB",
            label(live),
            server.peak_rss_mib()
        );
        server.stop();
    }

    println!(
        "\nsharelock at scale (SQLite), {connections} connections, {seconds} s per scenario, {records} seeded records\n"
    );
    println!("| live shares | scenario | req/s | p50 | p99 | load avg (1 min) |");
    println!("|---:|---|---:|---:|---:|---:|");
    for r in &rows {
        println!(
            "| {} | {} | {:.0} | {:.2} ms | {:.2} ms | {} |",
            label(r.live),
            r.scenario,
            r.rps,
            r.p50_ms,
            r.p99_ms,
            r.load
        );
    }
    if let (Some(&small), Some(&large)) = (sizes.first(), sizes.last())
        && small != large
    {
        for scenario in rows.iter().map(|r| r.scenario).take(2) {
            let p99 = |n: u64| {
                rows.iter()
                    .find(|r| r.live == n && r.scenario == scenario)
                    .map_or(0.0, |r| r.p99_ms)
            };
            println!(
                "\n{scenario}: p99 at {} is {:.2}× the p99 at {} (target ≤ 1.2×)",
                label(large),
                p99(large) / p99(small).max(f64::MIN_POSITIVE),
                label(small)
            );
        }
    }

    if let Some(&largest) = sizes.last()
        && largest >= SWEEP_FROM
    {
        sweep(&runtime, largest, records, connections);
    }
}

/// A sweeper pass over `expired` shares whose time has passed, with the signed fetch running throughout
/// in rounds (each signed anew); then a check that every one of them ended and lost its key.
fn sweep(runtime: &tokio::runtime::Runtime, expired: u64, records: u64, connections: u64) {
    let dir = tempfile::tempdir().expect("temp dir");
    let data = dir.path().join("data");
    let db = data.join("sharelock.db");
    let (opened, _, listen) = set_up(runtime, &data);
    let took = seed(
        &db,
        &Seed {
            shares: expired,
            records,
            expired: true,
        },
    );
    eprintln!(
        "seeded {} expired shares and {records} records in {:.1} s",
        label(expired),
        took.as_secs_f64()
    );
    let now = unix_now();
    // The watcher counts the shares still waiting for the sweeper (the sweeper's own index).
    let watch =
        rusqlite::Connection::open_with_flags(&db, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY)
            .expect("open read-only");
    let waiting = move || -> i64 {
        watch
            .query_row(
                "SELECT count(*) FROM shares WHERE ended_at IS NULL AND expires_at <= ?1",
                [now],
                |row| row.get(0),
            )
            .expect("count")
    };
    let load_before = load_average();
    // The sweeper's first pass starts as the server starts.
    let started = Instant::now();
    let server = Server::start(&data, &listen);
    let done = Arc::new(AtomicBool::new(false));
    let watcher = {
        let done = done.clone();
        std::thread::spawn(move || {
            loop {
                if waiting() == 0 {
                    done.store(true, Ordering::SeqCst);
                    return started.elapsed();
                }
                std::thread::sleep(Duration::from_millis(200));
            }
        })
    };
    let mut rounds = Vec::new();
    let mut load_during = Vec::new();
    while !done.load(Ordering::SeqCst) {
        let script = signed_fetch_script(dir.path(), &server.url, &opened);
        let result = wrk(&server.url, &script, SWEEP_ROUND_SECS, connections);
        assert_eq!(
            result.non_2xx, 0,
            "every signed fetch succeeds during the sweep"
        );
        load_during.push(load_average());
        rounds.push(result);
    }
    let pass = watcher.join().expect("watcher");
    let peak = server.peak_rss_mib();
    server.stop();

    let check = rusqlite::Connection::open(&db).expect("open");
    let (ended, keyed, live_expired): (i64, i64, i64) = check
        .query_row(
            "SELECT count(*) FILTER (WHERE ended_at IS NOT NULL),
                    count(*) FILTER (WHERE wrapped_key IS NOT NULL),
                    count(*) FILTER (WHERE ended_at IS NULL)
             FROM shares WHERE expires_at <= ?1",
            [now],
            |row| Ok((row.get(0)?, row.get(1)?, row.get(2)?)),
        )
        .expect("check");
    assert_eq!(live_expired, 0, "every expired share is ended");
    assert_eq!(keyed, 0, "every expired share's key is shredded");
    assert_eq!(ended as u64, expired, "every seeded share was swept");

    let requests: u64 = rounds.iter().map(|r| r.requests).sum();
    let worst = rounds.iter().map(|r| r.p99_ms).fold(0.0, f64::max);
    let rps = rounds.iter().map(|r| r.rps).sum::<f64>() / rounds.len().max(1) as f64;
    println!(
        "\nsweeper pass over {} expired shares: {:.1} s ({:.0} shares/s), every key shredded ({ended} ended, {keyed} keys left); server peak RSS {peak:.1} MiB",
        label(expired),
        pass.as_secs_f64(),
        expired as f64 / pass.as_secs_f64(),
    );
    println!(
        "signed fetch meanwhile: {} rounds of {SWEEP_ROUND_SECS} s, {requests} requests, {rps:.0} req/s, worst round p99 {worst:.2} ms (target ≤ 20 ms); p99 per round: {}; load avg before {load_before}, during {}",
        rounds.len(),
        rounds
            .iter()
            .map(|r| format!("{:.2}", r.p99_ms))
            .collect::<Vec<_>>()
            .join(", "),
        load_during.join(", ")
    );
}
