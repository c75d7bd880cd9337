//! Helpers shared by the integration tests: a real `sharelock serve` process on a loopback port.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

pub mod deployment;
pub mod home;
pub mod hooks;
pub mod raw;

use std::io::{BufRead, BufReader, Write as _};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

/// The `sharelock` binary under test.
pub fn binary() -> &'static str {
    env!("CARGO_BIN_EXE_sharelock")
}

/// A server started from the real binary with `--listen 127.0.0.1:0` and a fresh data directory; killed
/// when dropped. Its log (stderr) goes to `<data dir>/server.log`.
pub struct TestServer {
    child: Child,
    /// `http://127.0.0.1:<port>`, the server's public URL.
    pub url: String,
    dir: tempfile::TempDir,
    data: PathBuf,
}

impl TestServer {
    /// Starts a server with the default configuration.
    pub fn start() -> Self {
        Self::start_with(&[])
    }

    /// Starts a server with extra `SHARELOCK_*` environment settings (for example `("SHARELOCK_SIGNUPS",
    /// "false")`).
    pub fn start_with(env: &[(&str, &str)]) -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        let data = dir.path().join("data");
        Self::spawn(dir, data, "127.0.0.1:0", env)
    }

    /// Starts a server on `listen` (`127.0.0.1:<port>`) over the data directory `data` with extra
    /// `SHARELOCK_*` settings: a node of a deployment (`SHARELOCK_DATABASE_URL`, S3 settings), or a
    /// server that takes over another's address so links and signatures made for it stay valid.
    pub fn start_node(listen: &str, data: PathBuf, env: &[(&str, &str)]) -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        Self::spawn(dir, data, listen, env)
    }

    /// Starts a server on an existing data directory (a restart); its log goes to a new scratch directory.
    pub fn start_in(data: PathBuf) -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        Self::spawn(dir, data, "127.0.0.1:0", &[])
    }

    fn spawn(dir: tempfile::TempDir, data: PathBuf, listen: &str, env: &[(&str, &str)]) -> Self {
        let log = std::fs::File::create(dir.path().join("server.log")).expect("log file");
        let mut command = Command::new(binary());
        command
            .arg("serve")
            .arg("--listen")
            .arg(listen)
            .arg("--data-dir")
            .arg(&data)
            .env_remove("SHARELOCK_CONFIG")
            .env_remove("SHARELOCK_PUBLIC_URL")
            .env_remove("SHARELOCK_LISTEN")
            .env_remove("SHARELOCK_DATA_DIR")
            .env_remove("SHARELOCK_DATABASE_URL")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::from(log));
        for (k, v) in env {
            command.env(k, v);
        }
        let mut child = command.spawn().expect("start sharelock serve");
        let stdout = child.stdout.take().expect("stdout");
        let mut stdout_copy =
            std::fs::File::create(dir.path().join("server.stdout")).expect("stdout file");
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            let mut sent = false;
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                let _ = writeln!(stdout_copy, "{line}");
                if !sent && let Some(url) = line.strip_prefix("sharelock listening on ") {
                    let _ = tx.send(url.trim().to_owned());
                    sent = true;
                }
                // Keep draining so the server never blocks on a full pipe.
            }
        });
        let url = match rx.recv_timeout(Duration::from_secs(60)) {
            Ok(url) => url,
            Err(_) => {
                let _ = child.kill();
                let log =
                    std::fs::read_to_string(dir.path().join("server.log")).unwrap_or_default();
                panic!("the server did not start; its log:\n{log}");
            }
        };
        TestServer {
            child,
            url,
            dir,
            data,
        }
    }

    /// The server's process id (to read its memory use from /proc).
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// The server's `host:port`.
    pub fn addr(&self) -> String {
        self.url.trim_start_matches("http://").to_owned()
    }

    /// The server's data directory.
    pub fn data_dir(&self) -> PathBuf {
        self.data.clone()
    }

    /// Runs SQL on the server's SQLite database while it runs (WAL: the server sees the change at its next
    /// read). Tests use it to play a server that lies.
    pub fn tamper(&self, sql: &str, params: impl rusqlite::Params) -> usize {
        let db =
            rusqlite::Connection::open(self.data.join("sharelock.db")).expect("open the database");
        db.busy_timeout(Duration::from_secs(10))
            .expect("busy timeout");
        db.execute(sql, params).expect("tamper with the database")
    }

    /// Everything the server logged so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("server.log")).unwrap_or_default()
    }

    /// Everything the server wrote to its standard output so far.
    pub fn stdout(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("server.stdout")).unwrap_or_default()
    }

    /// Sends SIGTERM and waits (at most 30 s) for the server to exit; its exit status.
    pub fn terminate(&mut self) -> std::process::ExitStatus {
        let sent = Command::new("kill")
            .arg("-TERM")
            .arg(self.child.id().to_string())
            .status()
            .expect("run kill");
        assert!(sent.success(), "kill -TERM failed");
        let deadline = std::time::Instant::now() + Duration::from_secs(30);
        loop {
            if let Some(status) = self.child.try_wait().expect("wait") {
                return status;
            }
            assert!(
                std::time::Instant::now() < deadline,
                "the server did not stop on SIGTERM"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Kills the server with SIGKILL (no shutdown of any kind) and reaps it.
    pub fn kill(&mut self) {
        self.child.kill().expect("SIGKILL the server");
        let _ = self.child.wait();
    }

    /// A scratch directory that lives as long as the server.
    pub fn scratch(&self) -> &Path {
        self.dir.path()
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
