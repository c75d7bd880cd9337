//! Operating the server: secrets read from files and systemd credentials, and the modes of what it creates.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::TestServer;
use std::os::unix::fs::PermissionsExt;
use std::process::{Command, Stdio};

/// Runs `sharelock serve` on a fresh data directory with `env`, expecting it to refuse its configuration;
/// its exit code and standard error.
fn refused(env: &[(&str, &str)]) -> (i32, String) {
    let dir = tempfile::tempdir().unwrap();
    let mut command = Command::new(common::binary());
    command
        .arg("serve")
        .arg("--listen")
        .arg("127.0.0.1:0")
        .arg("--data-dir")
        .arg(dir.path().join("data"))
        .env_remove("SHARELOCK_CONFIG")
        .env_remove("SHARELOCK_PRELOGIN_SECRET")
        .env_remove("SHARELOCK_DATABASE_URL")
        .env_remove("CREDENTIALS_DIRECTORY")
        .stdin(Stdio::null());
    for (k, v) in env {
        command.env(k, v);
    }
    let out = command.output().unwrap();
    assert!(
        !out.status.success(),
        "the server accepted a configuration it should refuse"
    );
    (
        out.status.code().unwrap(),
        String::from_utf8(out.stderr).unwrap(),
    )
}

fn mode(path: &std::path::Path) -> u32 {
    std::fs::metadata(path)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
        .permissions()
        .mode()
        & 0o777
}

#[test]
fn the_prelogin_secret_comes_from_a_file() {
    let secrets = tempfile::tempdir().unwrap();
    let file = secrets.path().join("prelogin");
    std::fs::write(&file, "a-prelogin-secret-from-a-file\n").unwrap();
    let server =
        TestServer::start_with(&[("SHARELOCK_PRELOGIN_SECRET_FILE", file.to_str().unwrap())]);
    // With a configured secret the server keeps no key of its own.
    assert!(
        !server.data_dir().join("prelogin.key").exists(),
        "the secret file was not used"
    );
    assert!(!server.log().contains("a-prelogin-secret-from-a-file"));
}

#[test]
fn the_prelogin_secret_comes_from_a_systemd_credential() {
    let credentials = tempfile::tempdir().unwrap();
    std::fs::write(credentials.path().join("prelogin_secret"), "from-systemd\n").unwrap();
    let server = TestServer::start_with(&[(
        "CREDENTIALS_DIRECTORY",
        credentials.path().to_str().unwrap(),
    )]);
    assert!(
        !server.data_dir().join("prelogin.key").exists(),
        "the credential was not used"
    );
}

#[test]
fn a_secret_set_and_named_by_a_file_is_refused_with_its_own_exit_code() {
    let secrets = tempfile::tempdir().unwrap();
    let file = secrets.path().join("prelogin");
    std::fs::write(&file, "secret-in-the-file").unwrap();
    let (code, stderr) = refused(&[
        ("SHARELOCK_PRELOGIN_SECRET", "secret-in-the-environment"),
        ("SHARELOCK_PRELOGIN_SECRET_FILE", file.to_str().unwrap()),
    ]);
    assert_eq!(code, 8, "{stderr}");
    assert_eq!(
        stderr,
        "sharelock: SHARELOCK_PRELOGIN_SECRET and SHARELOCK_PRELOGIN_SECRET_FILE are both set; set only one of them\n"
    );
}

#[test]
fn an_unreadable_secret_file_is_named_and_its_setting_too() {
    let secrets = tempfile::tempdir().unwrap();
    let missing = secrets.path().join("no-such-file");
    let (code, stderr) = refused(&[(
        "SHARELOCK_S3_SECRET_ACCESS_KEY_FILE",
        missing.to_str().unwrap(),
    )]);
    assert_eq!(code, 2, "{stderr}");
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(
        stderr.contains("SHARELOCK_S3_SECRET_ACCESS_KEY_FILE"),
        "{stderr}"
    );
    assert!(stderr.contains("no-such-file"), "{stderr}");

    // A database URL file that exists but cannot be read (a directory): named, nothing of it printed.
    let (code, stderr) = refused(&[(
        "SHARELOCK_DATABASE_URL_FILE",
        secrets.path().to_str().unwrap(),
    )]);
    assert_eq!(code, 2, "{stderr}");
    assert!(stderr.contains("SHARELOCK_DATABASE_URL_FILE"), "{stderr}");
}

#[test]
fn the_database_and_blobs_are_readable_by_their_owner_only() {
    let server = TestServer::start();
    let data = server.data_dir();
    // The WAL and shared-memory files exist while the server has the database open.
    for file in [
        "sharelock.db",
        "sharelock.db-wal",
        "sharelock.db-shm",
        "prelogin.key",
    ] {
        assert_eq!(mode(&data.join(file)), 0o600, "{file}");
    }
    assert_eq!(mode(&data), 0o700, "the data directory");
    assert_eq!(mode(&data.join("blobs")), 0o700, "the blob directory");
}
