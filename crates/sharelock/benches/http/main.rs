//! End-to-end HTTP benchmark: the real `sharelock serve` binary (release build) on a loopback port, loaded
//! by an in-process load generator with pre-built requests ([`load`]), side by side in the same run with
//! minimal reference servers doing only each scenario's essential work ([`reference`]).
//!
//! `cargo bench -p sharelock --bench http` prints one table: for every scenario requests per second,
//! p50/p99/p99.9 latency, the server's CPU seconds per 1,000 requests (from `/proc/<pid>/stat`), its peak
//! RSS during the scenario, the load average, and our rate as a share of the reference's. Then the
//! server's RSS after each of several rounds of load, to show whether memory levels off.
//!
//! Settings by environment: `BENCH_SECONDS` (10, per scenario and run), `BENCH_CONNECTIONS` (64),
//! `BENCH_SHARES` (64 bound shares for the reads), `BENCH_ROUNDS` (3 interleaved rounds of each read
//! scenario and its reference; the median is shown), `BENCH_WRITES` (60000 prepared requests for each
//! write scenario), `BENCH_MEMORY_ROUNDS` (10) of `BENCH_MEMORY_SECONDS` (3) per read scenario,
//! `BENCH_BACKEND` (`sqlite`, the default, or `postgres`: a throwaway PostgreSQL cluster at its durable
//! defaults, with pgbench beside it on the same database), `BENCH_CALLGRIND` (set: the server runs under
//! `valgrind --tool=callgrind` and the table gains its instructions per request, which a busy machine does
//! not blur; rates under it mean nothing; `BENCH_CALLGRIND_KEEP=<dir>` keeps each scenario's dump there for
//! `callgrind_annotate`), `BENCH_SERVER` (the path of another build of `sharelock` to
//! measure instead of this one, e.g. an earlier commit's), `BENCH_SERVER_ENV` (space-separated
//! `NAME=VALUE` pairs for the server's environment only, e.g. another allocator through `LD_PRELOAD`).
//!
//! A run fails (exit 1) only on wrong behaviour: an unexpected status, a lost connection, or a share
//! bound to two devices. Numbers never fail it.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::print_stdout,
    clippy::print_stderr
)]

mod load;
mod reference;
/// `BENCH_SCALE=10k,1m`: the scale scenarios (many live shares and records, a sweeper pass) instead.
mod scale;

use bytes::Bytes;
use load::{Feed, Outcome, Req};
use sharelock_api::recipient::{BindRequest, EditRequest, ShareView};
use sharelock_api::shares::Expiry;
use sharelock_client::{DeviceStore, MemoryDeviceStore, OwnerSession, Recipient, ShareOptions};
use sharelock_core::account::RecordKey;
use sharelock_core::device::DeviceKey;
use sharelock_core::envelope::{Author, Envelope, VersionHeader};
use sharelock_core::httpsig::{RequestParts, content_digest, sign};
use sharelock_core::record::{RecordBody, RecordType};
use sharelock_core::share::{Link, LinkSecret, ShareId, ShareKeys};
use sharelock_store::postgres::test_cluster::{Durability, TestCluster};
use std::collections::HashMap;
use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

const PASSWORD: &str = "a benchmark password, long enough";
/// Shares per owner in the write scenarios, under the default live-share limit of 1,000 per account.
const SHARES_PER_OWNER: usize = 900;

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

fn unix_now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("clock")
        .as_secs() as i64
}

/// The one-minute load average.
fn load_average() -> f64 {
    std::fs::read_to_string("/proc/loadavg")
        .ok()
        .and_then(|s| s.split_whitespace().next().and_then(|v| v.parse().ok()))
        .unwrap_or(f64::NAN)
}

/// Clock ticks per second of `/proc/<pid>/stat` times.
fn clock_ticks() -> f64 {
    Command::new("getconf")
        .arg("CLK_TCK")
        .output()
        .ok()
        .and_then(|o| String::from_utf8_lossy(&o.stdout).trim().parse().ok())
        .unwrap_or(100.0)
}

/// A process under measurement: the server or a reference.
struct Proc {
    child: Child,
    url: String,
    addr: SocketAddr,
}

impl Proc {
    /// Starts `command` and waits for the line `<prefix>http://<addr>` on its stdout.
    fn start(mut command: Command, prefix: &str) -> Self {
        let mut child = command
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("start a server");
        let stdout = child.stdout.take().expect("stdout");
        let mut lines = BufReader::new(stdout).lines();
        let url = loop {
            let line = lines.next().expect("server output").expect("a line");
            if let Some(url) = line.strip_prefix(prefix) {
                break url.trim().to_owned();
            }
        };
        // Keep draining stdout so the server never blocks on it.
        std::thread::spawn(move || for _ in lines {});
        let addr = url
            .strip_prefix("http://")
            .and_then(|a| a.parse().ok())
            .expect("a loopback address");
        Proc { child, url, addr }
    }

    fn proc_file(&self, name: &str) -> String {
        std::fs::read_to_string(format!("/proc/{}/{name}", self.child.id())).unwrap_or_default()
    }

    /// User plus system CPU time so far, in clock ticks.
    fn cpu_ticks(&self) -> u64 {
        let stat = self.proc_file("stat");
        // Fields after the command name (which may hold spaces) start at the state, field 3.
        let rest = stat.rsplit_once(')').map_or("", |(_, r)| r);
        let fields: Vec<&str> = rest.split_whitespace().collect();
        let at = |n: usize| {
            fields
                .get(n - 3)
                .and_then(|v| v.parse::<u64>().ok())
                .unwrap_or(0)
        };
        at(14) + at(15)
    }

    /// Resident set size now and at its peak (since the last [`Proc::reset_peak`]), in KiB.
    fn rss_kib(&self) -> (u64, u64) {
        let status = self.proc_file("status");
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

    /// Resets the peak RSS to the current RSS (Linux `clear_refs` 5).
    fn reset_peak(&self) {
        let _ = std::fs::write(format!("/proc/{}/clear_refs", self.child.id()), "5");
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn start_server(data: &Path, database_url: Option<&str>, callgrind: Option<&Path>) -> Proc {
    // Another build of the server (an earlier commit's, for a before-and-after in one run).
    let binary =
        std::env::var_os("BENCH_SERVER").unwrap_or_else(|| env!("CARGO_BIN_EXE_sharelock").into());
    let mut command = match callgrind {
        // Instruction counts (reproducible on a busy machine): zeroed before and dumped after each run.
        Some(dir) => {
            let mut command = Command::new("valgrind");
            command
                .arg("--tool=callgrind")
                .arg(format!(
                    "--callgrind-out-file={}/callgrind.out",
                    dir.display()
                ))
                .arg(&binary);
            command
        }
        None => Command::new(&binary),
    };
    command
        .args(["serve", "--listen", "127.0.0.1:0", "--data-dir"])
        .arg(data)
        .env_remove("SHARELOCK_DATABASE_URL")
        // The per-address limiter would turn a one-address load test into 429s.
        .env("SHARELOCK_RATE_LIMIT_PER_MINUTE", "100000000")
        .env("SHARELOCK_LOG", "warn");
    if let Some(url) = database_url {
        command.env("SHARELOCK_DATABASE_URL", url);
    }
    // The server's environment only (an allocator trial: `LD_PRELOAD=…`, `MALLOC_ARENA_MAX=2`).
    for pair in std::env::var("BENCH_SERVER_ENV")
        .unwrap_or_default()
        .split_whitespace()
    {
        let Some((name, value)) = pair.split_once('=') else {
            eprintln!("BENCH_SERVER_ENV takes NAME=VALUE pairs, not {pair:?}");
            std::process::exit(2);
        };
        command.env(name, value);
    }
    Proc::start(command, "sharelock listening on ")
}

fn start_reference(mode: &str, dir: &Path) -> Proc {
    let mut command = Command::new(std::env::current_exe().expect("this bench"));
    command
        .env(reference::MODE_VAR, mode)
        .env(reference::DIR_VAR, dir);
    Proc::start(command, "reference listening on ")
}

/// One measured run of a scenario against one process.
struct Run {
    outcome: Outcome,
    cpu_secs: f64,
    peak_kib: u64,
    load: f64,
    /// Server instructions per request, under callgrind.
    instructions: Option<f64>,
}

impl Run {
    fn cpu_per_1k(&self) -> f64 {
        self.cpu_secs / (self.outcome.count().max(1) as f64 / 1000.0)
    }
}

struct Bench {
    load_rt: tokio::runtime::Runtime,
    connections: usize,
    ticks: f64,
    /// Runs that answered with a status not expected, or lost connections.
    problems: Vec<String>,
    /// The server's pid and dump directory when it runs under callgrind.
    callgrind: Option<(u32, std::path::PathBuf)>,
}

/// Total instructions in the newest callgrind dump in `dir`. With `BENCH_CALLGRIND_KEEP` set to a directory,
/// the dump is also copied there as `<scenario>.callgrind`, for `callgrind_annotate`.
fn callgrind_total(dir: &Path, scenario: &str) -> f64 {
    let newest = std::fs::read_dir(dir)
        .expect("callgrind dir")
        .filter_map(|e| e.ok())
        .filter(|e| e.file_name().to_string_lossy().starts_with("callgrind.out"))
        .max_by_key(|e| e.metadata().and_then(|m| m.modified()).ok())
        .expect("a callgrind dump");
    if let Some(keep) = std::env::var_os("BENCH_CALLGRIND_KEEP") {
        let name = format!("{}.callgrind", scenario.replace(' ', "-"));
        let _ = std::fs::create_dir_all(&keep);
        let _ = std::fs::copy(newest.path(), Path::new(&keep).join(name));
    }
    let text = std::fs::read_to_string(newest.path()).expect("read dump");
    text.lines()
        .find_map(|l| {
            l.strip_prefix("summary:")
                .or_else(|| l.strip_prefix("totals:"))
        })
        .and_then(|v| v.split_whitespace().next())
        .and_then(|v| v.parse().ok())
        .unwrap_or(f64::NAN)
}

fn callgrind_control(flag: &str, pid: u32) {
    let _ = Command::new("callgrind_control")
        .arg(flag)
        .arg(pid.to_string())
        .stdout(Stdio::null())
        .status();
}

impl Bench {
    fn measure(
        &mut self,
        name: &str,
        target: &Proc,
        feed: Feed,
        duration: Duration,
        expected: &[u16],
        keep_answers: bool,
    ) -> Run {
        target.reset_peak();
        let profiled = self
            .callgrind
            .clone()
            .filter(|(pid, _)| *pid == target.child.id());
        if let Some((pid, _)) = &profiled {
            callgrind_control("-z", *pid);
        }
        let cpu = target.cpu_ticks();
        let outcome = load::run(
            &self.load_rt,
            target.addr,
            feed,
            self.connections,
            duration,
            keep_answers,
        );
        let cpu_secs = (target.cpu_ticks() - cpu) as f64 / self.ticks;
        let instructions = profiled.map(|(pid, dir)| {
            callgrind_control("-d", pid);
            callgrind_total(&dir, name) / outcome.count().max(1) as f64
        });
        let (_, peak_kib) = target.rss_kib();
        let unexpected = outcome.unexpected(expected);
        if unexpected > 0 || outcome.failures > 0 {
            self.problems.push(format!(
                "{name}: {unexpected} unexpected answers (statuses {:?}), {} connections failed",
                outcome.statuses, outcome.failures
            ));
        }
        Run {
            outcome,
            cpu_secs,
            peak_kib,
            load: load_average(),
            instructions,
        }
    }
}

/// The run with the median rate.
fn median(mut runs: Vec<Run>) -> Run {
    runs.sort_by(|a, b| a.outcome.rate().total_cmp(&b.outcome.rate()));
    let mid = runs.len() / 2;
    runs.swap_remove(mid)
}

fn share_options(editable: bool) -> ShareOptions {
    ShareOptions {
        expires: Expiry::InSeconds(3600),
        editable,
        burn_after_secs: None,
        label: None,
        passphrase: None,
        view_once: false,
        from: None,
        destroy_after_secs: None,
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

/// A bound share: its keys and the device bound to it.
struct Bound {
    keys: ShareKeys,
    device: DeviceKey,
}

impl Bound {
    fn header(&self) -> String {
        self.keys.share_id().to_b64u()
    }
}

/// Shares of one owner, each opened (bound) by its own device through the real client.
async fn bound_shares(
    owner: &mut OwnerSession,
    count: usize,
    editable: bool,
    from: usize,
) -> Vec<Bound> {
    let devices = MemoryDeviceStore::new();
    let mut out = Vec::with_capacity(count);
    for i in 0..count {
        let record = owner
            .create_record(&login_body(from + i))
            .await
            .expect("record");
        let created = owner
            .create_share(record, share_options(editable))
            .await
            .expect("share");
        let link = Link::parse(&created.link.to_string()).expect("link");
        Recipient::open(&link, None, &devices).await.expect("open");
        let keys = keys_of(&link);
        let device = devices
            .load(&keys.share_id())
            .expect("load")
            .expect("a key");
        out.push(Bound { keys, device });
    }
    out
}

fn keys_of(link: &Link) -> ShareKeys {
    ShareKeys::derive(LinkSecret::from_bytes(*link.secret.expose()), None).expect("keys")
}

/// A recipient request signed by `device` now, with a JSON body if any.
fn signed(
    base: &str,
    path: &str,
    share: &ShareId,
    device: &DeviceKey,
    body: Option<Vec<u8>>,
) -> Req {
    let target = format!("{base}{path}");
    let share_header = share.to_b64u();
    let digest = body.as_deref().map(content_digest);
    let parts = RequestParts {
        method: if body.is_some() { "POST" } else { "GET" },
        target_uri: &target,
        share_header: &share_header,
        content_type: body.as_ref().map(|_| "application/json"),
        content_digest: digest.as_deref(),
    };
    let nonce = sharelock_core::crypto::random_array().expect("nonce");
    let headers = sign(device, &parts, unix_now(), nonce).expect("sign");
    let mut req = Req::get(path)
        .header("sharelock-share", &share_header)
        .header("signature-input", &headers.signature_input)
        .header("signature", &headers.signature);
    if let (Some(body), Some(digest)) = (body, digest) {
        req.method = hyper::Method::POST;
        req = req
            .header("content-type", "application/json")
            .header("content-digest", &digest);
        req.body = Bytes::from(body);
    }
    req
}

fn owner_request(prepared: &sharelock_client::PreparedRequest, tag: u32) -> Req {
    let mut req = Req::get(&format!("{}{}", sharelock_api::API_PREFIX, prepared.path))
        .header(
            "authorization",
            &format!("Bearer {}", prepared.bearer.as_str()),
        )
        .header("content-type", "application/json");
    req.method = prepared.method.as_str().parse().expect("method");
    req.body = Bytes::from(prepared.json.clone());
    req.tag = tag;
    req
}

/// Runs `f` over `items` on every core, keeping the order.
fn parallel<T: Sync, U: Send>(items: &[T], f: impl Fn(usize, &T) -> U + Sync) -> Vec<U> {
    let threads = std::thread::available_parallelism().map_or(2, |n| n.get());
    let chunk = items.len().div_ceil(threads).max(1);
    std::thread::scope(|scope| {
        let handles: Vec<_> = items
            .chunks(chunk)
            .enumerate()
            .map(|(c, part)| {
                let f = &f;
                scope.spawn(move || {
                    part.iter()
                        .enumerate()
                        .map(|(i, item)| f(c * chunk + i, item))
                        .collect::<Vec<U>>()
                })
            })
            .collect();
        handles
            .into_iter()
            .flat_map(|h| h.join().expect("worker"))
            .collect()
    })
}

/// Edits of each editable share, chained version after version, signed now: one list per connection.
fn edit_chains(
    runtime: &tokio::runtime::Runtime,
    base: &str,
    shares: &[Bound],
    per_share: usize,
) -> Vec<Vec<Req>> {
    let client = reqwest::Client::new();
    // The current version of each share, through a signed fetch.
    let views: Vec<ShareView> = runtime.block_on(async {
        let mut views = Vec::new();
        for share in shares {
            let req = signed(
                base,
                "/api/v1/recipient/share",
                &share.keys.share_id(),
                &share.device,
                None,
            );
            let mut request = client.get(format!("{base}{}", req.path));
            for (name, value) in &req.headers {
                request = request.header(name.as_str(), value.to_str().expect("text"));
            }
            let response = request.send().await.expect("fetch");
            assert!(
                response.status().is_success(),
                "fetch: {}",
                response.status()
            );
            views.push(response.json().await.expect("view"));
        }
        views
    });
    let pairs: Vec<(&Bound, ShareView)> = shares.iter().zip(views).collect();
    parallel(&pairs, |_, (share, view)| {
        let share_id = share.keys.share_id();
        let rk = RecordKey::unwrap_for_share(
            share.keys.share_key(),
            view.wrapped_key.as_slice(),
            &share_id,
            &view.record_id,
            view.key_gen,
        )
        .expect("record key");
        let mut current = Envelope::parse(view.envelope.as_slice()).expect("envelope");
        let mut version = view.version;
        (0..per_share)
            .map(|i| {
                let header = VersionHeader::next(&current, view.key_gen, Author::Share(share_id));
                let envelope = Envelope::seal(&rk, header, &login_body(i)).expect("seal");
                let request = EditRequest {
                    base_version: version,
                    envelope: envelope.to_bytes().into(),
                    signature: envelope
                        .sign_edit(&share.device)
                        .expect("sign edit")
                        .to_vec()
                        .into(),
                };
                let json = serde_json::to_vec(&request).expect("json");
                let req = signed(
                    base,
                    "/api/v1/recipient/edit",
                    &share_id,
                    &share.device,
                    Some(json),
                );
                version += 1;
                current = envelope;
                req
            })
            .collect()
    })
}

/// Two binds of each share by two new devices, next to each other in the list so that they race.
fn bind_requests(base: &str, links: &[Link]) -> Vec<Req> {
    let pairs = parallel(links, |n, link| {
        let keys = keys_of(link);
        let share_id = keys.share_id();
        [0, 1].map(|_| {
            let device = DeviceKey::generate().expect("device");
            let body = BindRequest {
                access: keys.access_token().expose().to_vec().into(),
                device_key: device.public_key().to_vec().into(),
                bind_tag: keys
                    .bind_key()
                    .bind_tag(&share_id, device.public_key())
                    .to_vec()
                    .into(),
            };
            let json = serde_json::to_vec(&body).expect("json");
            let mut req = signed(
                base,
                "/api/v1/recipient/bind",
                &share_id,
                &device,
                Some(json),
            );
            req.tag = n as u32;
            req
        })
    });
    pairs.into_iter().flatten().collect()
}

/// Shares with exactly one bind answered 200 and the other 403 (`share_bound_to_other_device`), out of
/// the shares whose two binds were both answered; and how many broke that rule.
fn bind_winners(answers: &[(u32, u16)]) -> (usize, usize) {
    let mut by_share: HashMap<u32, Vec<u16>> = HashMap::new();
    for (tag, status) in answers {
        by_share.entry(*tag).or_default().push(*status);
    }
    let mut good = 0;
    let mut bad = 0;
    for statuses in by_share.values().filter(|s| s.len() == 2) {
        let wins = statuses.iter().filter(|s| **s == 200).count();
        let refused = statuses.iter().filter(|s| **s == 403).count();
        if wins == 1 && refused == 1 {
            good += 1;
        } else {
            bad += 1;
        }
    }
    (good, bad)
}

/// The tags answered with `status`.
fn tags_with(answers: &[(u32, u16)], status: u16) -> Vec<u32> {
    let mut tags: Vec<u32> = answers
        .iter()
        .filter(|(_, s)| *s == status)
        .map(|(t, _)| *t)
        .collect();
    tags.sort_unstable();
    tags
}

/// pgbench with a custom script on the benchmark's database: transactions per second.
fn pgbench(bin: &Path, url: &str, script: &Path, connections: usize, seconds: u64) -> f64 {
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
    connections: usize,
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
    let read = scripts.join("pgbench-read.sql");
    std::fs::write(
        &read,
        format!(
            "\\set n random(1, {shares})\n\
             SELECT s.*, v.version, v.key_gen, v.envelope, v.proof FROM shares s \
             LEFT JOIN records r ON r.id = s.record_id \
             LEFT JOIN versions v ON v.record_id = r.id AND v.version = r.version \
             WHERE s.share_id = (SELECT share_id FROM bench_share_ids WHERE n = :n);\n"
        ),
    )
    .expect("script");
    // 1 KiB of bytes that do not compress (32 MD5 digests in hex), made on the server.
    let insert = scripts.join("pgbench-insert.sql");
    std::fs::write(
        &insert,
        "INSERT INTO bench_inserts (payload) SELECT convert_to(string_agg(md5(random()::text), ''), 'UTF8') \
         FROM generate_series(1, 32);\n",
    )
    .expect("script");
    (
        pgbench(bin, url, &read, connections, seconds),
        pgbench(bin, url, &insert, connections, seconds),
    )
}

fn mib(kib: u64) -> f64 {
    kib as f64 / 1024.0
}

/// A table row for one run; `versus` is the reference row's rate, when there is one.
fn row(name: &str, run: &Run, versus: Option<(&str, f64)>) -> String {
    let (p50, p99, p999) = run.outcome.percentiles();
    let share = match versus {
        Some((what, rate)) => format!(
            "{:.0} % of {what}",
            100.0 * run.outcome.rate() / rate.max(1e-9)
        ),
        None => String::new(),
    };
    format!(
        "| {name} | {:.0} | {p50:.2} | {p99:.2} | {p999:.2} | {:.3} | {:.1} | {:.1} | {share} |",
        run.outcome.rate(),
        run.cpu_per_1k(),
        mib(run.peak_kib),
        run.load
    ) + &run.instructions.map_or(String::new(), |i| {
        format!(" {:.0} k instructions / req |", i / 1000.0)
    })
}

fn main() {
    if let Ok(mode) = std::env::var(reference::MODE_VAR) {
        reference::serve(&mode);
        return;
    }
    if std::env::args().any(|a| a == "--list" || a == "--test") {
        // `cargo bench` and `cargo test --benches` probe bench binaries; this one runs only on `cargo bench`.
        return;
    }
    if let Some(sizes) = scale::requested() {
        scale::run(&sizes);
        return;
    }
    let seconds = env_or("BENCH_SECONDS", 10);
    let connections = env_or("BENCH_CONNECTIONS", 64) as usize;
    let shares = env_or("BENCH_SHARES", 64) as usize;
    let rounds = env_or("BENCH_ROUNDS", 3) as usize;
    let writes = env_or("BENCH_WRITES", 60_000) as usize;
    let memory_rounds = env_or("BENCH_MEMORY_ROUNDS", 10) as usize;
    let memory_seconds = env_or("BENCH_MEMORY_SECONDS", 3);
    let backend = std::env::var("BENCH_BACKEND").unwrap_or_else(|_| "sqlite".to_owned());
    if backend != "sqlite" && backend != "postgres" {
        eprintln!("BENCH_BACKEND must be sqlite or postgres, not {backend:?}");
        std::process::exit(2);
    }
    let duration = Duration::from_secs(seconds);
    let load_at_start = load_average();
    let dir = tempfile::tempdir().expect("temp dir");
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    let mut bench = Bench {
        load_rt: tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .expect("load runtime"),
        connections,
        ticks: clock_ticks(),
        problems: Vec::new(),
        callgrind: None,
    };
    let callgrind_dir = std::env::var_os("BENCH_CALLGRIND").map(|_| dir.path().join("callgrind"));
    if let Some(d) = &callgrind_dir {
        std::fs::create_dir_all(d).expect("callgrind dir");
    }
    // PostgreSQL at its durable defaults (fsync, synchronous commit), as a deployment runs it.
    let postgres = (backend == "postgres").then(|| {
        let cluster = TestCluster::start(Durability::Durable).unwrap_or_else(|e| {
            eprintln!("cannot start PostgreSQL: {e}");
            std::process::exit(2);
        });
        let database = runtime.block_on(cluster.database());
        (cluster, database)
    });
    let server = start_server(
        &dir.path().join("data"),
        postgres.as_ref().map(|(_, db)| db.url()),
        callgrind_dir.as_deref(),
    );
    if let Some(d) = callgrind_dir {
        bench.callgrind = Some((server.child.id(), d));
    }
    std::thread::sleep(Duration::from_millis(300));
    let (started_rss, _) = server.rss_kib();

    // Setup through the real client: one owner's bound shares for the reads and editable bound shares for
    // the edits; owners for the write scenarios, each under the live-share limit.
    eprintln!("setup: bound shares and owners");
    let owners = writes.div_ceil(SHARES_PER_OWNER);
    let (reads, editable, sessions) = runtime.block_on(async {
        let mut owner = sharelock_client::register(&server.url, "bench@example.org", PASSWORD)
            .await
            .expect("register");
        let reads = bound_shares(&mut owner, shares, false, 0).await;
        let editable = bound_shares(&mut owner, connections, true, shares).await;
        let registrations: Vec<_> = (0..owners)
            .map(|n| {
                let url = server.url.clone();
                tokio::spawn(async move {
                    sharelock_client::register(&url, &format!("writer{n}@example.org"), PASSWORD)
                        .await
                        .expect("register a writer")
                })
            })
            .collect();
        let mut sessions = Vec::new();
        for registration in registrations {
            sessions.push(registration.await.expect("registration"));
        }
        (reads, editable, sessions)
    });
    std::thread::sleep(Duration::from_millis(300));
    let (idle_rss, _) = server.rss_kib();

    eprintln!("setup: preparing {writes} records and shares");
    let plan: Vec<(usize, usize)> = (0..writes).map(|i| (i % owners, i)).collect();
    let prepared = parallel(&plan, |_, (owner, i)| {
        sessions[*owner]
            .prepare_record_and_share(&login_body(*i), &share_options(false))
            .expect("prepare")
    });
    drop(sessions);

    // Reference servers, each its own process.
    let ref_dir = dir.path().join("reference");
    std::fs::create_dir_all(&ref_dir).expect("reference dir");
    let keys: Vec<([u8; 16], Vec<u8>)> = reads
        .iter()
        .map(|b| {
            (
                *b.keys.share_id().as_bytes(),
                b.device.public_key().to_vec(),
            )
        })
        .collect();
    reference::seed_fetch_db(&ref_dir, &keys, 10_000);
    let ref_healthz = start_reference("healthz", &ref_dir);
    let ref_fetch = start_reference("fetch", &ref_dir);
    let ref_insert = start_reference("insert", &ref_dir);

    let status_requests: Vec<Req> = reads
        .iter()
        .map(|b| {
            Req::get("/api/v1/recipient/status")
                .header("sharelock-share", &b.header())
                .header("sharelock-access", &b.keys.access_token().to_b64u())
        })
        .collect();
    // Signed requests are made just before each run: they must be inside their 60 s window.
    let fetches = |base: &str| -> Vec<Req> {
        reads
            .iter()
            .map(|b| {
                signed(
                    base,
                    "/api/v1/recipient/share",
                    &b.keys.share_id(),
                    &b.device,
                    None,
                )
            })
            .collect()
    };
    let cycle = |requests: Vec<Req>| Feed::Shared {
        requests,
        cycle: true,
    };

    // Reads: interleaved rounds of each scenario and its reference (order alternating per round).
    let mut healthz = (Vec::new(), Vec::new());
    let mut fetch = (Vec::new(), Vec::new());
    let mut status = Vec::new();
    for round in 0..rounds {
        eprintln!("reads: round {} of {rounds}", round + 1);
        for ours_first in [round % 2 == 0, round % 2 != 0] {
            if ours_first {
                healthz.0.push(bench.measure(
                    "healthz",
                    &server,
                    cycle(vec![Req::get("/healthz")]),
                    duration,
                    &[200],
                    false,
                ));
                fetch.0.push(bench.measure(
                    "signed fetch",
                    &server,
                    cycle(fetches(&server.url)),
                    duration,
                    &[200],
                    false,
                ));
                status.push(bench.measure(
                    "status",
                    &server,
                    cycle(status_requests.clone()),
                    duration,
                    &[200],
                    false,
                ));
            } else {
                healthz.1.push(bench.measure(
                    "reference healthz",
                    &ref_healthz,
                    cycle(vec![Req::get("/healthz")]),
                    duration,
                    &[200],
                    false,
                ));
                fetch.1.push(bench.measure(
                    "reference fetch",
                    &ref_fetch,
                    cycle(fetches(&ref_fetch.url)),
                    duration,
                    &[200],
                    false,
                ));
            }
        }
    }

    // Writes: each prepared request is sent once; a run ends when they are used up or time is up.
    let insert_feed = || {
        cycle(vec![Req {
            method: hyper::Method::POST,
            path: "/insert".to_owned(),
            headers: Vec::new(),
            body: Bytes::from(vec![0x5a; 1024]),
            tag: 0,
        }])
    };
    eprintln!("writes: reference insert");
    let mut inserts = vec![bench.measure(
        "reference insert",
        &ref_insert,
        insert_feed(),
        duration,
        &[201],
        false,
    )];
    eprintln!("writes: record creation");
    let record_requests: Vec<Req> = prepared
        .iter()
        .enumerate()
        .map(|(i, p)| owner_request(&p.record, i as u32))
        .collect();
    let records = bench.measure(
        "record creation",
        &server,
        Feed::Shared {
            requests: record_requests,
            cycle: false,
        },
        duration,
        &[201],
        true,
    );
    let with_record = tags_with(&records.outcome.answers, 201);
    eprintln!("writes: share creation");
    let share_requests: Vec<Req> = with_record
        .iter()
        .map(|&i| owner_request(&prepared[i as usize].share, i))
        .collect();
    let created = bench.measure(
        "share creation",
        &server,
        Feed::Shared {
            requests: share_requests,
            cycle: false,
        },
        duration,
        &[201],
        true,
    );
    let links: Vec<Link> = tags_with(&created.outcome.answers, 201)
        .into_iter()
        .map(|i| Link::parse(&prepared[i as usize].link.to_string()).expect("link"))
        .collect();
    drop(prepared);
    eprintln!("writes: binds of {} shares, two devices each", links.len());
    let binds = bench.measure(
        "binds",
        &server,
        Feed::Shared {
            requests: bind_requests(&server.url, &links),
            cycle: false,
        },
        duration,
        &[200, 403],
        true,
    );
    let (one_winner, broken) = bind_winners(&binds.outcome.answers);
    if broken > 0 {
        bench.problems.push(format!(
            "binds: {broken} shares did not have exactly one winner"
        ));
    }
    eprintln!("writes: edits");
    let chains = edit_chains(
        &runtime,
        &server.url,
        &editable,
        writes.div_ceil(connections.max(1)),
    );
    let edits = bench.measure(
        "recipient edits",
        &server,
        Feed::PerConnection(chains),
        duration,
        &[200],
        false,
    );
    inserts.push(bench.measure(
        "reference insert",
        &ref_insert,
        insert_feed(),
        duration,
        &[201],
        false,
    ));
    let insert_rate = inserts.iter().map(|r| r.outcome.rate()).sum::<f64>() / inserts.len() as f64;

    // Memory: rounds of every read scenario; RSS after each round.
    let mut after_round = Vec::new();
    let memory_duration = Duration::from_secs(memory_seconds);
    for round in 0..memory_rounds {
        eprintln!("memory: round {} of {memory_rounds}", round + 1);
        bench.measure(
            "memory healthz",
            &server,
            cycle(vec![Req::get("/healthz")]),
            memory_duration,
            &[200],
            false,
        );
        bench.measure(
            "memory signed fetch",
            &server,
            cycle(fetches(&server.url)),
            memory_duration,
            &[200],
            false,
        );
        bench.measure(
            "memory status",
            &server,
            cycle(status_requests.clone()),
            memory_duration,
            &[200],
            false,
        );
        after_round.push(server.rss_kib().0);
    }
    // VmHWM is reset for every scenario; the highest of the scenario peaks is the run's.
    let peak_of_run = {
        [&healthz.0, &fetch.0, &status]
            .iter()
            .flat_map(|runs| runs.iter().map(|r| r.peak_kib))
            .chain(
                [&records, &created, &binds, &edits]
                    .iter()
                    .map(|r| r.peak_kib),
            )
            .max()
            .unwrap_or(0)
    };

    let healthz = (median(healthz.0), median(healthz.1));
    let fetch = (median(fetch.0), median(fetch.1));
    let status = median(status);
    let insert_ref = median(inserts);

    println!(
        "\nsharelock HTTP on {backend}: {connections} connections, {seconds} s per run, median of {rounds} interleaved rounds for reads, {writes} prepared requests per write scenario; load average {load_at_start:.1} at the start, {:.1} at the end\n",
        load_average()
    );
    println!(
        "| scenario | req/s | p50 ms | p99 ms | p99.9 ms | server CPU s / 1k req | peak RSS MiB | load | vs reference |"
    );
    println!("|---|---:|---:|---:|---:|---:|---:|---:|---|");
    let ref_h = healthz.1.outcome.rate();
    let ref_f = fetch.1.outcome.rate();
    println!(
        "{}",
        row("`GET /healthz`", &healthz.0, Some(("bare /healthz", ref_h)))
    );
    println!(
        "{}",
        row("reference: bare axum `/healthz`", &healthz.1, None)
    );
    println!(
        "{}",
        row(
            "signed fetch `GET /recipient/share`",
            &fetch.0,
            Some(("verify + read", ref_f))
        )
    );
    println!(
        "{}",
        row(
            "reference: one P-256 verify + one indexed 1 KiB read (SQLite)",
            &fetch.1,
            None
        )
    );
    println!(
        "{}",
        row(
            "status `GET /recipient/status` (access token; a durable attempt record)",
            &status,
            Some(("group-commit insert", insert_rate))
        )
    );
    println!(
        "{}",
        row(
            &format!(
                "record creation ({} made)",
                records.outcome.statuses.get(&201).copied().unwrap_or(0)
            ),
            &records,
            Some(("group-commit insert", insert_rate))
        )
    );
    println!(
        "{}",
        row(
            &format!(
                "durable share creation, rotation included ({} made)",
                created.outcome.statuses.get(&201).copied().unwrap_or(0)
            ),
            &created,
            Some(("group-commit insert", insert_rate))
        )
    );
    println!(
        "{}",
        row(
            &format!(
                "first-open binds, two devices per share ({one_winner} shares with exactly one winner, {broken} without)"
            ),
            &binds,
            Some(("group-commit insert", insert_rate))
        )
    );
    println!(
        "{}",
        row(
            "recipient edits (signed, chained versions)",
            &edits,
            Some(("group-commit insert", insert_rate))
        )
    );
    println!(
        "{}",
        row(
            "reference: durable 1 KiB insert, one group-committing writer (WAL, synchronous=FULL)",
            &insert_ref,
            None
        )
    );
    println!(
        "\nserver RSS: {:.1} MiB after start, {:.1} MiB idle after setup, {:.1} MiB highest scenario peak",
        mib(started_rss),
        mib(idle_rss),
        mib(peak_of_run)
    );
    if !after_round.is_empty() {
        let rounds_text: Vec<String> = after_round
            .iter()
            .map(|kib| format!("{:.1}", mib(*kib)))
            .collect();
        println!(
            "server RSS after each of {memory_rounds} rounds of healthz, signed fetch and status ({memory_seconds} s each): {} MiB",
            rounds_text.join(", ")
        );
        if after_round.len() >= 10 {
            println!(
                "round 2: {:.1} MiB, round 10: {:.1} MiB",
                mib(after_round[1]),
                mib(after_round[9])
            );
        }
    }

    if let Some((cluster, database)) = &postgres {
        let bin = cluster
            .bin_dir()
            .expect("a throwaway cluster has its binaries");
        let (read_tps, insert_tps) = postgres_ceiling(
            &runtime,
            bin,
            database.url(),
            dir.path(),
            connections,
            seconds,
        );
        let fetch_rate = fetch.0.outcome.rate();
        let created_rate = created.outcome.rate();
        println!(
            "\npgbench on the same database, {connections} connections, {seconds} s, one statement per transaction\n"
        );
        println!("| pgbench script | tps | sharelock beside it | share |");
        println!("|---|---:|---|---:|");
        println!(
            "| the signed fetch's query | {read_tps:.0} | signed fetch {fetch_rate:.0} req/s | {:.0} % |",
            100.0 * fetch_rate / read_tps.max(1.0)
        );
        println!(
            "| 1 KiB durable insert | {insert_tps:.0} | share creation {created_rate:.0}/s | {:.0} % |",
            100.0 * created_rate / insert_tps.max(1.0)
        );
    }

    drop(ref_healthz);
    drop(ref_fetch);
    drop(ref_insert);
    drop(server);
    if !bench.problems.is_empty() {
        for problem in &bench.problems {
            eprintln!("problem: {problem}");
        }
        std::process::exit(1);
    }
}
