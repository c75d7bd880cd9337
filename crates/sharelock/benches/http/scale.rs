//! Scale scenarios of the HTTP benchmark, run instead of the main table when `BENCH_SCALE` is set:
//! `BENCH_SCALE=10k,1m` (any of `10k`, `100k`, `1m`, or a plain number of live shares).
//!
//! For each size, the real binary serves a SQLite database holding that many live shares and 100,000
//! records (spread over accounts of 1,000 shares each, as a busy instance holds them), and the signed
//! fetch, record creation and share creation of the main table run against it with the same load
//! generator and pre-built requests: the p99 at the largest size should be within 1.2× of the smallest.
//! With `1m` (or more), a sweeper pass then runs over as many *expired* shares while the signed fetch
//! keeps running: it must finish, shred every key, and leave the fetch's p99 under 20 ms.
//!
//! The shares and records are written straight into the database file by this process (one
//! transaction, no HTTP), after the server created the schema, the benchmark's own account with its
//! opened shares and the writers' accounts through the real client; the server is stopped meanwhile.
//!
//! Settings: `BENCH_SECONDS` (per scenario, default 10), `BENCH_CONNECTIONS` (64), `BENCH_RECORDS`
//! (records seeded, default 100,000), `BENCH_WRITES` (prepared record and share creations per size,
//! default 20,000), `BENCH_SWEEP` (expired shares for the sweeper scenario, whatever the sizes; by
//! default the largest size when it is 1 million or more), `BENCH_SERVER` as for the main table.

use super::load::{self, Feed, Req};
use super::{Bound, Proc};
use std::path::Path;
use std::process::Command;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

const PASSWORD: &str = "a benchmark password, long enough";
/// Shares the benchmark's own account opens, and fetches in turn.
const OPENED: usize = 64;
/// Seeded shares per seeded account (the default live-share limit is 1,000 per account).
const SHARES_PER_ACCOUNT: u64 = 1000;
/// Live shares at or past this size also get the sweeper scenario.
const SWEEP_FROM: u64 = 1_000_000;
/// A round of signed fetches during the sweep: the signed requests are valid for 60 s, so each round
/// is signed anew.
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

/// Stops the server as a deployment would (SIGTERM), so the database is left checkpointed.
fn stop(mut server: Proc) {
    let _ = Command::new("kill")
        .args(["-TERM", &server.child.id().to_string()])
        .status();
    let _ = server.child.wait();
}

/// What the setup made through the real server and client.
struct Setup {
    /// Shares of the benchmark's account, each opened (bound) by its own device.
    opened: Vec<Bound>,
    /// Record and share creations prepared for the writers' accounts, under their live-share limit.
    prepared: Vec<sharelock_client::PreparedShare>,
}

/// The schema, then the benchmark's account with `OPENED` records each shared and opened, and the
/// writers' accounts with `writes` record and share creations prepared, through the real server and
/// client; the server is stopped afterwards.
fn set_up(runtime: &tokio::runtime::Runtime, data: &Path, writes: usize) -> Setup {
    let server = super::start_server(data, None, None);
    let owners = writes.div_ceil(super::SHARES_PER_OWNER);
    let (opened, sessions) = runtime.block_on(async {
        let mut owner = sharelock_client::register(&server.url, "bench@example.org", PASSWORD)
            .await
            .expect("register");
        let opened = super::bound_shares(&mut owner, OPENED, false, 0).await;
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
        (opened, sessions)
    });
    stop(server);
    let plan: Vec<(usize, usize)> = (0..writes).map(|i| (i % owners, i)).collect();
    let prepared = super::parallel(&plan, |_, (owner, i)| {
        sessions[*owner]
            .prepare_record_and_share(&super::login_body(*i), &super::share_options(false))
            .expect("prepare")
    });
    Setup { opened, prepared }
}

/// One signed `GET /api/v1/recipient/share` per opened share, valid for the next 60 s.
fn fetches(base: &str, opened: &[Bound]) -> Feed {
    Feed::Shared {
        requests: opened
            .iter()
            .map(|b| {
                super::signed(
                    base,
                    "/api/v1/recipient/share",
                    &b.keys.share_id(),
                    &b.device,
                    None,
                )
            })
            .collect(),
        cycle: true,
    }
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
    let now = super::unix_now();
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

struct Row {
    live: u64,
    scenario: &'static str,
    rps: f64,
    p50_ms: f64,
    p99_ms: f64,
    p999_ms: f64,
    cpu_per_1k: f64,
    load: f64,
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

/// Runs `feed` against `server` and makes a row of it; any answer not in `expected` stops the bench.
fn measure(
    load_rt: &tokio::runtime::Runtime,
    server: &Proc,
    feed: Feed,
    connections: usize,
    duration: Duration,
    expected: &[u16],
    keep_answers: bool,
) -> (load::Outcome, f64) {
    let ticks = super::clock_ticks();
    let cpu = server.cpu_ticks();
    let outcome = load::run(
        load_rt,
        server.addr,
        feed,
        connections,
        duration,
        keep_answers,
    );
    let cpu_secs = (server.cpu_ticks() - cpu) as f64 / ticks;
    let unexpected = outcome.unexpected(expected);
    if unexpected > 0 || outcome.failures > 0 {
        eprintln!(
            "problem: {unexpected} unexpected answers (statuses {:?}), {} connections failed",
            outcome.statuses, outcome.failures
        );
        std::process::exit(1);
    }
    let per_1k = cpu_secs / (outcome.count().max(1) as f64 / 1000.0);
    (outcome, per_1k)
}

fn row(live: u64, scenario: &'static str, outcome: &load::Outcome, cpu_per_1k: f64) -> Row {
    let (p50_ms, p99_ms, p999_ms) = outcome.percentiles();
    Row {
        live,
        scenario,
        rps: outcome.rate(),
        p50_ms,
        p99_ms,
        p999_ms,
        cpu_per_1k,
        load: super::load_average(),
    }
}

/// Runs the scale scenarios for `sizes` and prints their tables.
pub fn run(sizes: &[u64]) {
    let seconds = super::env_or("BENCH_SECONDS", 10);
    let connections = super::env_or("BENCH_CONNECTIONS", 64) as usize;
    let records = super::env_or("BENCH_RECORDS", 100_000);
    let writes = super::env_or("BENCH_WRITES", 20_000) as usize;
    let duration = Duration::from_secs(seconds);
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    let load_rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("load runtime");
    let mut rows = Vec::new();
    for &live in sizes {
        let dir = tempfile::tempdir().expect("temp dir");
        let data = dir.path().join("data");
        eprintln!("{}: setup through the server", label(live));
        let setup = set_up(&runtime, &data, writes);
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
        let server = super::start_server(&data, None, None);
        server.reset_peak();
        let (fetch, cpu) = measure(
            &load_rt,
            &server,
            fetches(&server.url, &setup.opened),
            connections,
            duration,
            &[200],
            false,
        );
        rows.push(row(
            live,
            "signed fetch `GET /recipient/share`",
            &fetch,
            cpu,
        ));
        let record_requests: Vec<Req> = setup
            .prepared
            .iter()
            .enumerate()
            .map(|(i, p)| super::owner_request(&p.record, i as u32))
            .collect();
        let (made, cpu) = measure(
            &load_rt,
            &server,
            Feed::Shared {
                requests: record_requests,
                cycle: false,
            },
            connections,
            duration,
            &[201],
            true,
        );
        rows.push(row(live, "record creation", &made, cpu));
        let share_requests: Vec<Req> = super::tags_with(&made.answers, 201)
            .iter()
            .map(|&i| super::owner_request(&setup.prepared[i as usize].share, i))
            .collect();
        let (created, cpu) = measure(
            &load_rt,
            &server,
            Feed::Shared {
                requests: share_requests,
                cycle: false,
            },
            connections,
            duration,
            &[201],
            false,
        );
        rows.push(row(
            live,
            "durable share creation, rotation included",
            &created,
            cpu,
        ));
        eprintln!(
            "{} live shares: {} shares created, server peak RSS {:.1} MiB",
            label(live),
            created.count(),
            super::mib(server.rss_kib().1)
        );
        stop(server);
    }

    println!(
        "\nsharelock at scale (SQLite), {connections} connections, {seconds} s per scenario, {records} seeded records, {writes} prepared writes\n"
    );
    println!(
        "| live shares | scenario | req/s | p50 ms | p99 ms | p99.9 ms | server CPU s / 1k req | load avg (1 min) |"
    );
    println!("|---:|---|---:|---:|---:|---:|---:|---:|");
    for r in &rows {
        println!(
            "| {} | {} | {:.0} | {:.2} | {:.2} | {:.2} | {:.3} | {:.1} |",
            label(r.live),
            r.scenario,
            r.rps,
            r.p50_ms,
            r.p99_ms,
            r.p999_ms,
            r.cpu_per_1k,
            r.load
        );
    }
    if let (Some(&small), Some(&large)) = (sizes.first(), sizes.last())
        && small != large
    {
        for scenario in rows.iter().map(|r| r.scenario).take(3) {
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

    let expired = match std::env::var("BENCH_SWEEP") {
        Ok(_) => Some(super::env_or("BENCH_SWEEP", SWEEP_FROM)),
        Err(_) => sizes.last().copied().filter(|&n| n >= SWEEP_FROM),
    };
    if let Some(expired) = expired {
        sweep(&runtime, &load_rt, expired, records, connections);
    }
}

/// A sweeper pass over `expired` shares whose time has passed, with the signed fetch running throughout
/// in rounds (each signed anew); then a check that every one of them ended and lost its key.
fn sweep(
    runtime: &tokio::runtime::Runtime,
    load_rt: &tokio::runtime::Runtime,
    expired: u64,
    records: u64,
    connections: usize,
) {
    let dir = tempfile::tempdir().expect("temp dir");
    let data = dir.path().join("data");
    let db = data.join("sharelock.db");
    eprintln!("sweep: setup through the server");
    let setup = set_up(runtime, &data, 1);
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
    let now = super::unix_now();
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
    let load_before = super::load_average();
    // The sweeper's first pass starts as the server starts.
    let started = Instant::now();
    let server = super::start_server(&data, None, None);
    server.reset_peak();
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
    let cpu_at_start = server.cpu_ticks();
    while !done.load(Ordering::SeqCst) {
        let (outcome, _) = measure(
            load_rt,
            &server,
            fetches(&server.url, &setup.opened),
            connections,
            Duration::from_secs(SWEEP_ROUND_SECS),
            &[200],
            false,
        );
        load_during.push(format!("{:.1}", super::load_average()));
        rounds.push(outcome);
    }
    let pass = watcher.join().expect("watcher");
    let cpu_secs = (server.cpu_ticks() - cpu_at_start) as f64 / super::clock_ticks();
    let (_, peak_kib) = server.rss_kib();
    stop(server);

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
    let events: i64 = check
        .query_row(
            "SELECT count(*) FROM events WHERE kind = 'share_ended'",
            [],
            |row| row.get(0),
        )
        .expect("events");
    assert_eq!(live_expired, 0, "every expired share is ended");
    assert_eq!(keyed, 0, "every expired share's key is shredded");
    assert_eq!(ended as u64, expired, "every seeded share was swept");

    let requests: u64 = rounds.iter().map(load::Outcome::count).sum();
    let p99s: Vec<f64> = rounds.iter().map(|r| r.percentiles().1).collect();
    let worst = p99s.iter().copied().fold(0.0, f64::max);
    let rps = rounds.iter().map(load::Outcome::rate).sum::<f64>() / rounds.len().max(1) as f64;
    println!(
        "\nsweeper pass over {} expired shares: {:.1} s ({:.0} shares/s), every key shredded ({ended} ended, {keyed} keys left, {events} share_ended events); server peak RSS {:.1} MiB, {cpu_secs:.1} CPU s in all",
        label(expired),
        pass.as_secs_f64(),
        expired as f64 / pass.as_secs_f64(),
        super::mib(peak_kib),
    );
    println!(
        "signed fetch meanwhile: {} rounds of {SWEEP_ROUND_SECS} s, {requests} requests, {rps:.0} req/s, worst round p99 {worst:.2} ms (target ≤ 20 ms); p99 per round: {}; load avg before {load_before:.1}, during {}",
        rounds.len(),
        p99s.iter()
            .map(|p| format!("{p:.2}"))
            .collect::<Vec<_>>()
            .join(", "),
        load_during.join(", ")
    );
}
