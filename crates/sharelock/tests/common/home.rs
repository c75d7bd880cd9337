//! One CLI device (a home directory) talking to a test server, for tests that drive whole stories
//! through the real binary.

use super::{TestServer, binary};
use serde_json::Value;
use std::path::Path;
use std::process::{Command, Stdio};

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

    #[track_caller]
    pub fn code(self, expected: i32) -> Self {
        assert_eq!(self.code, expected, "unexpected exit code: {self:?}");
        self
    }

    #[track_caller]
    pub fn json(&self) -> Value {
        serde_json::from_str(self.stdout.trim())
            .unwrap_or_else(|e| panic!("not JSON ({e}): {:?}", self.stdout))
    }
}

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

    pub fn run_env(&self, args: &[&str], env: &[(&str, &str)]) -> Run {
        let mut c = Command::new(binary());
        c.args(args)
            .env_remove("SHARELOCK_PASSWORD")
            .env_remove("SHARELOCK_SHARE_PASSPHRASE")
            .env("SHARELOCK_HOME", self.dir.path())
            .env("SHARELOCK_SERVER", &self.server)
            .env("NO_COLOR", "1")
            .stdin(Stdio::null());
        for (k, v) in env {
            c.env(k, v);
        }
        let out = c.output().expect("run sharelock");
        Run {
            code: out.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        }
    }

    pub fn run(&self, args: &[&str]) -> Run {
        self.run_env(args, &[])
    }

    /// Registers (which also logs in) with [`PASSWORD`].
    pub fn register(&self, email: &str) {
        self.run_env(
            &["register", "--email", email],
            &[("SHARELOCK_PASSWORD", PASSWORD)],
        )
        .ok();
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
        (
            json["link"].as_str().unwrap().to_owned(),
            json["share"].as_str().unwrap().to_owned(),
        )
    }
}
