//! File transfer benchmark: one large file up and down through the real `sharelock serve` binary with the
//! real CLI (both release builds) on loopback, SQLite and local blob storage in a temporary directory, as
//! in the "Files" section of docs/benchmarks.md.
//!
//! `cargo bench -p sharelock --bench files`. Settings by environment: `BENCH_FILE_MIB` (default 1024),
//! `BENCH_ROUNDS` (default 3), `BENCH_DIR` (where the data, the file and the download go; default the
//! system's temporary directory: put it on the disk you mean to measure).
//!
//! Per round: `sharelock record add --file` (upload: read, encrypt, send in parts, complete, the record
//! written) and `sharelock record show --save-files` (download: fetch, decrypt, write, sync, rename), each
//! timed as a whole command, with the peak RSS of the CLI process and of the server during that command
//! (the server's peak is reset before each command through `/proc/<pid>/clear_refs`). The download is
//! compared with the original byte for byte. For reference, the same run writes the same number of bytes
//! to a file on the same disk and syncs it: a durable upload or download cannot beat that. MB are 10^6
//! bytes.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::print_stdout)]

use std::io::{BufRead, BufReader, Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

const PASSWORD: &str = "a benchmark password, long enough";
const MIB: u64 = 1024 * 1024;

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

/// A field of `/proc/<pid>/status` in KiB (0 once the process is gone).
fn status_kib(pid: u32, field: &str) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|status| {
            status
                .lines()
                .find_map(|l| l.strip_prefix(field))
                .and_then(|v| v.split_whitespace().next())
                .and_then(|v| v.parse().ok())
        })
        .unwrap_or(0)
}

/// User plus system CPU time of a live process, in clock ticks (100 per second on Linux).
fn cpu_ticks(pid: u32) -> u64 {
    let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
        return 0;
    };
    // Fields after the command name, which ends with the last ')'.
    let rest = stat.rsplit_once(')').map(|(_, r)| r).unwrap_or("");
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let at = |i: usize| {
        fields
            .get(i)
            .and_then(|v| v.parse::<u64>().ok())
            .unwrap_or(0)
    };
    // utime and stime are fields 14 and 15 of the line, 12 and 13 after the name and state.
    at(11) + at(12)
}

fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|l| l.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_default()
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
            .env_remove("SHARELOCK_DATABASE_URL")
            .env("SHARELOCK_LOG", "warn")
            .env("SHARELOCK_MAX_FILE_BYTES", (64 * 1024 * MIB).to_string())
            .env(
                "SHARELOCK_ACCOUNT_QUOTA_BYTES",
                (1024 * 1024 * MIB).to_string(),
            )
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
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

    fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Starts a new peak: the kernel's high-water mark of the RSS is set to the RSS now.
    fn reset_peak(&self) {
        std::fs::write(format!("/proc/{}/clear_refs", self.pid()), "5")
            .expect("reset the server's peak RSS (/proc/<pid>/clear_refs)");
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// One CLI command's cost.
struct Measured {
    seconds: f64,
    stdout: String,
    cli_peak_kib: u64,
    cli_cpu_s: f64,
}

fn cli(home: &Path, server: &str, args: &[&str]) -> Measured {
    let started = Instant::now();
    let mut child = Command::new(env!("CARGO_BIN_EXE_sharelock"))
        .args(args)
        .env("SHARELOCK_HOME", home)
        .env("SHARELOCK_SERVER", server)
        .env("SHARELOCK_PASSWORD", PASSWORD)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("run the sharelock CLI");
    let pid = child.id();
    // The kernel forgets a process's peak when it exits, so it is sampled while it runs; the peak is a
    // high-water mark, so only growth in the last few milliseconds before exit can be missed.
    let done = Arc::new(AtomicBool::new(false));
    let (peak, cpu) = (Arc::new(AtomicU64::new(0)), Arc::new(AtomicU64::new(0)));
    let sampler = {
        let (done, peak, cpu) = (Arc::clone(&done), Arc::clone(&peak), Arc::clone(&cpu));
        std::thread::spawn(move || {
            while !done.load(Ordering::Relaxed) {
                let hwm = status_kib(pid, "VmHWM:");
                peak.fetch_max(hwm, Ordering::Relaxed);
                cpu.fetch_max(cpu_ticks(pid), Ordering::Relaxed);
                std::thread::sleep(Duration::from_millis(2));
            }
        })
    };
    let mut stdout = String::new();
    child
        .stdout
        .take()
        .expect("stdout")
        .read_to_string(&mut stdout)
        .expect("read the CLI's output");
    let status = child.wait().expect("wait for the CLI");
    let seconds = started.elapsed().as_secs_f64();
    done.store(true, Ordering::Relaxed);
    sampler.join().expect("sampler");
    assert!(status.success(), "sharelock {args:?} failed: {status}");
    Measured {
        seconds,
        stdout,
        cli_peak_kib: peak.load(Ordering::Relaxed),
        cli_cpu_s: cpu.load(Ordering::Relaxed) as f64 / 100.0,
    }
}

/// Writes `bytes` of incompressible data (xorshift) to `path` and syncs it.
fn write_pattern(path: &Path, bytes: u64, seed: u64) -> f64 {
    let started = Instant::now();
    let mut file = std::fs::File::create(path).expect("create the test file");
    let mut state = seed | 1;
    let mut block = vec![0u8; 8 * MIB as usize];
    let mut left = bytes;
    while left > 0 {
        for word in block.chunks_exact_mut(8) {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            word.copy_from_slice(&state.to_le_bytes());
        }
        let n = left.min(block.len() as u64) as usize;
        file.write_all(&block[..n]).expect("write the test file");
        left -= n as u64;
    }
    file.sync_all().expect("sync the test file");
    started.elapsed().as_secs_f64()
}

fn same_bytes(a: &Path, b: &Path) -> bool {
    let (mut a, mut b) = (
        std::fs::File::open(a).expect("open"),
        std::fs::File::open(b).expect("open"),
    );
    let (mut x, mut y) = (vec![0u8; 8 * MIB as usize], vec![0u8; 8 * MIB as usize]);
    loop {
        let n = read_full(&mut a, &mut x);
        let m = read_full(&mut b, &mut y);
        if n != m || x[..n] != y[..m] {
            return false;
        }
        if n == 0 {
            return true;
        }
    }
}

fn read_full(file: &mut std::fs::File, buf: &mut [u8]) -> usize {
    let mut filled = 0;
    while filled < buf.len() {
        match file.read(&mut buf[filled..]).expect("read") {
            0 => break,
            n => filled += n,
        }
    }
    filled
}

struct Row {
    what: String,
    mb_s: f64,
    seconds: f64,
    cli_peak_mib: f64,
    server_peak_mib: f64,
    cli_cpu_s: f64,
    server_cpu_s: f64,
}

fn median(mut values: Vec<f64>) -> f64 {
    values.sort_by(f64::total_cmp);
    values[values.len() / 2]
}

fn main() {
    let mib = env_or("BENCH_FILE_MIB", 1024);
    let rounds = env_or("BENCH_ROUNDS", 3);
    let bytes = mib * MIB;
    let base = std::env::var_os("BENCH_DIR").map(PathBuf::from);
    let dir = match &base {
        Some(b) => tempfile::tempdir_in(b),
        None => tempfile::tempdir(),
    }
    .expect("temporary directory");
    let load_before = load_average();
    let source_dir = dir.path().join("source");
    std::fs::create_dir_all(&source_dir).unwrap();
    let source = source_dir.join("big.bin");
    let reference_s = write_pattern(&dir.path().join("reference.bin"), bytes, 0x9e37_79b9);
    std::fs::remove_file(dir.path().join("reference.bin")).unwrap();
    write_pattern(&source, bytes, 0x5eed);

    let server = Server::start(&dir.path().join("data"));
    let home = dir.path().join("home");
    std::fs::create_dir_all(&home).unwrap();
    cli(
        &home,
        &server.url,
        &["register", "--email", "bench@example.org"],
    );

    let mut rows = Vec::new();
    for round in 1..=rounds {
        server.reset_peak();
        let cpu_before = cpu_ticks(server.pid());
        let up = cli(
            &home,
            &server.url,
            &[
                "record",
                "add",
                "--type",
                "file",
                "--title",
                "bench",
                "--file",
                source.to_str().unwrap(),
                "--json",
            ],
        );
        let server_up_cpu = (cpu_ticks(server.pid()) - cpu_before) as f64 / 100.0;
        let server_up_peak = status_kib(server.pid(), "VmHWM:");
        let added: serde_json::Value = serde_json::from_str(&up.stdout).expect("record add --json");
        let id = added["id"].as_str().expect("record id").to_owned();

        let target = dir.path().join(format!("down-{round}"));
        server.reset_peak();
        let cpu_before = cpu_ticks(server.pid());
        let down = cli(
            &home,
            &server.url,
            &[
                "record",
                "show",
                &id,
                "--save-files",
                target.to_str().unwrap(),
                "--json",
            ],
        );
        let server_down_cpu = (cpu_ticks(server.pid()) - cpu_before) as f64 / 100.0;
        let server_down_peak = status_kib(server.pid(), "VmHWM:");
        assert!(
            same_bytes(&source, &target.join("big.bin")),
            "the downloaded file differs from the original"
        );
        std::fs::remove_dir_all(&target).unwrap();
        cli(&home, &server.url, &["record", "delete", &id, "--json"]);

        for (what, m, peak, cpu) in [
            ("up", &up, server_up_peak, server_up_cpu),
            ("down", &down, server_down_peak, server_down_cpu),
        ] {
            rows.push(Row {
                what: format!("{what} (round {round})"),
                mb_s: bytes as f64 / 1e6 / m.seconds,
                seconds: m.seconds,
                cli_peak_mib: m.cli_peak_kib as f64 / 1024.0,
                server_peak_mib: peak as f64 / 1024.0,
                cli_cpu_s: m.cli_cpu_s,
                server_cpu_s: cpu,
            });
        }
    }

    println!(
        "\nFiles: {mib} MiB up and down, CLI and server on loopback, SQLite + local blobs; \
         load average before {load_before}, after {}\n",
        load_average()
    );
    println!(
        "| transfer | MB/s | seconds | peak RSS CLI (MiB) | peak RSS server (MiB) | CPU s CLI | CPU s server |"
    );
    println!("|---|---:|---:|---:|---:|---:|---:|");
    for r in &rows {
        println!(
            "| {} | {:.0} | {:.2} | {:.1} | {:.1} | {:.2} | {:.2} |",
            r.what,
            r.mb_s,
            r.seconds,
            r.cli_peak_mib,
            r.server_peak_mib,
            r.cli_cpu_s,
            r.server_cpu_s
        );
    }
    for what in ["up", "down"] {
        let mine: Vec<&Row> = rows.iter().filter(|r| r.what.starts_with(what)).collect();
        println!(
            "| **{what}, median** | **{:.0}** | {:.2} | {:.1} (max) | {:.1} (max) | {:.2} | {:.2} |",
            median(mine.iter().map(|r| r.mb_s).collect()),
            median(mine.iter().map(|r| r.seconds).collect()),
            mine.iter().map(|r| r.cli_peak_mib).fold(0.0, f64::max),
            mine.iter().map(|r| r.server_peak_mib).fold(0.0, f64::max),
            median(mine.iter().map(|r| r.cli_cpu_s).collect()),
            median(mine.iter().map(|r| r.server_cpu_s).collect()),
        );
    }
    println!(
        "| reference: write {mib} MiB to the same disk and sync | {:.0} | {reference_s:.2} | | | | |",
        bytes as f64 / 1e6 / reference_s
    );
}
