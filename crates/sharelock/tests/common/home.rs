//! One CLI device (a home directory) talking to a test server, for tests that drive whole stories
//! through the real binary.

use super::{TestServer, binary};
use serde_json::Value;
use std::io::Write as _;
use std::path::Path;
use std::process::{Command, Output, Stdio};

pub const PASSWORD: &str = "correct horse battery staple";

/// What a command did.
#[derive(Debug)]
pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Run {
    #[track_caller]
    pub fn ok(self) -> Self {
        assert_eq!(self.code, 0, "command failed: {self:?}");
        self
    }

    /// Asserts the exit code, and that a failure is said as one line on stderr without a panic.
    #[track_caller]
    pub fn code(self, expected: i32) -> Self {
        assert_eq!(self.code, expected, "unexpected exit code: {self:?}");
        let lines = self.stderr.trim_end().lines().count();
        assert!(
            lines <= 1,
            "errors are one line on stderr, got {lines}: {:?}",
            self.stderr
        );
        assert!(!self.stderr.contains("panicked"), "{self:?}");
        self
    }

    fn of(out: Output) -> Run {
        Run {
            code: out.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        }
    }

    #[track_caller]
    pub fn json(&self) -> Value {
        serde_json::from_str(self.stdout.trim())
            .unwrap_or_else(|e| panic!("not JSON ({e}): {:?}", self.stdout))
    }
}

/// One device: a home directory talking to the test server.
pub struct Home {
    dir: tempfile::TempDir,
    server: String,
}

impl Home {
    pub fn new(server: &TestServer) -> Self {
        Home {
            dir: tempfile::tempdir().unwrap(),
            server: server.url.clone(),
        }
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    /// The binary with this home and server, and no password or passphrase from the environment.
    pub fn command(&self, args: &[&str], env: &[(&str, &str)]) -> Command {
        let mut c = Command::new(binary());
        c.args(args)
            .env_remove("SHARELOCK_PASSWORD")
            .env_remove("SHARELOCK_SHARE_PASSPHRASE")
            .env_remove("SHARELOCK_FROM")
            .env("SHARELOCK_HOME", self.dir.path())
            .env("SHARELOCK_SERVER", &self.server)
            .env("NO_COLOR", "1");
        for (k, v) in env {
            c.env(k, v);
        }
        c
    }

    pub fn run_env(&self, args: &[&str], env: &[(&str, &str)]) -> Run {
        let out = self
            .command(args, env)
            .stdin(Stdio::null())
            .output()
            .expect("run sharelock");
        Run::of(out)
    }

    pub fn run(&self, args: &[&str]) -> Run {
        self.run_env(args, &[])
    }

    /// Runs a command with `input` on its standard input.
    pub fn run_input(&self, args: &[&str], input: &str) -> Run {
        let mut child = self
            .command(args, &[])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("run sharelock");
        child
            .stdin
            .take()
            .expect("stdin")
            .write_all(input.as_bytes())
            .expect("write stdin");
        Run::of(child.wait_with_output().expect("run sharelock"))
    }

    /// Registers (which also logs in) with [`PASSWORD`].
    pub fn register(&self, email: &str) {
        self.run_env(
            &["register", "--email", email],
            &[("SHARELOCK_PASSWORD", PASSWORD)],
        )
        .ok();
    }

    /// Adds a login record "Mail" (username, password, a one-time code, notes); its id.
    pub fn add_login_record(&self) -> String {
        let run = self
            .run(&[
                "record",
                "add",
                "--type",
                "login",
                "--title",
                "Mail",
                "--field",
                "username=ada",
                "--field",
                "password=hunter2",
                "--field",
                "totp=JBSWY3DPEHPK3PXP",
                "--notes",
                "recovery codes: 1 2 3",
                "--json",
            ])
            .ok();
        let id = run.json()["id"].as_str().unwrap().to_owned();
        assert_eq!(
            run.json().as_object().unwrap().len(),
            1,
            "record add --json is exactly {{\"id\"}}"
        );
        id
    }

    /// Adds a record holding `file`; its id.
    pub fn add_file_record(&self, title: &str, file: &Path) -> String {
        self.run(&[
            "record",
            "add",
            "--type",
            "file",
            "--title",
            title,
            "--file",
            file.to_str().unwrap(),
            "--json",
        ])
        .ok()
        .json()["id"]
            .as_str()
            .unwrap()
            .to_owned()
    }

    /// `share create <record> --json <extra>`: the link and the share id.
    pub fn share(&self, record: &str, extra: &[&str]) -> (String, String) {
        let mut args = vec!["share", "create", record, "--json"];
        args.extend_from_slice(extra);
        let json = self.run(&args).ok().json();
        let keys: Vec<&str> = json
            .as_object()
            .unwrap()
            .keys()
            .map(String::as_str)
            .collect();
        assert_eq!(
            keys.len(),
            3,
            "share create --json is exactly link, share, expires_at: {json}"
        );
        assert!(json["expires_at"].as_str().unwrap().ends_with('Z'));
        (
            json["link"].as_str().unwrap().to_owned(),
            json["share"].as_str().unwrap().to_owned(),
        )
    }
}
