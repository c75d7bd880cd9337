//! The CLI contract (issue 4), end to end: the real `sharelock` binary against a real `sharelock serve`,
//! one home directory per device, every command and every exit code.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::home::{Home, PASSWORD};
use common::{TestServer, binary};
use serde_json::Value;
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

fn sorted_keys(v: &Value) -> Vec<String> {
    let mut keys: Vec<String> = v.as_object().unwrap().keys().cloned().collect();
    keys.sort();
    keys
}

fn field<'a>(record: &'a Value, name: &str) -> &'a str {
    record["fields"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["name"] == name)
        .and_then(|f| f["value"].as_str())
        .unwrap_or_else(|| panic!("no field {name} in {record}"))
}

#[test]
fn usage_errors_exit_2_and_completions_print() {
    let home = tempfile::tempdir().unwrap();
    let run = |args: &[&str]| {
        let out = Command::new(binary())
            .args(args)
            .env("SHARELOCK_HOME", home.path())
            .env_remove("SHARELOCK_SERVER")
            .env_remove("SHARELOCK_PASSWORD")
            .stdin(Stdio::null())
            .output()
            .unwrap();
        (
            out.status.code().unwrap_or(-1),
            String::from_utf8_lossy(&out.stdout).into_owned(),
        )
    };
    assert_eq!(
        run(&["record", "add", "--title", "x"]).0,
        2,
        "missing --type"
    );
    assert_eq!(
        run(&["record", "add", "--type", "spaceship", "--title", "x"]).0,
        2,
        "unknown type"
    );
    assert_eq!(
        run(&[
            "record", "add", "--type", "note", "--title", "x", "--field", "novalue"
        ])
        .0,
        2
    );
    assert_eq!(
        run(&["share", "create", "abc", "--expires", "soon"]).0,
        2,
        "bad duration"
    );
    assert_eq!(
        run(&["share", "list", "--expired", "--all"]).0,
        2,
        "conflicting flags"
    );
    assert_eq!(run(&["frobnicate"]).0, 2);
    assert_eq!(
        run(&["open", "https://example.org/s#2.abc"]).0,
        2,
        "not a link of version 1"
    );
    assert_eq!(
        run(&["login", "--email", "a@b.example"]).0,
        2,
        "no server configured"
    );
    // Not logged in: an authentication failure.
    assert_eq!(
        run(&["record", "list", "--server", "http://127.0.0.1:9"]).0,
        5
    );
    let (code, script) = run(&["completions", "bash"]);
    assert_eq!(code, 0);
    assert!(
        script.contains("sharelock") && script.contains("record"),
        "{script}"
    );
    let (code, help) = run(&["--help"]);
    assert_eq!(code, 0);
    assert!(help.contains("open") && help.contains("share"));
}

#[test]
fn owner_vault_story() {
    let server = TestServer::start();
    let home = Home::new(&server);
    let reg = home
        .run_env(
            &["register", "--email", "Ada@Example.org", "--json"],
            &[("SHARELOCK_PASSWORD", PASSWORD)],
        )
        .ok()
        .json();
    assert_eq!(reg["email"], "ada@example.org");
    assert!(reg["account_id"].as_str().is_some());

    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = |p: PathBuf| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
        assert_eq!(
            mode(home.path().join("session.json")),
            0o600,
            "the session file holds the data key"
        );
        assert_eq!(mode(home.path().to_path_buf()), 0o700);
    }

    let id = home.add_login_record();
    let list = home.run(&["record", "list", "--json"]).ok().json();
    let records = list["records"].as_array().unwrap();
    assert_eq!(records.len(), 1);
    assert_eq!(records[0]["id"], id.as_str());
    assert_eq!(records[0]["title"], "Mail");
    assert_eq!(records[0]["subtitle"], "ada");
    assert_eq!(records[0]["verified"], true);
    let table = home.run(&["record", "list"]).ok().stdout;
    assert!(
        table.contains(&id[..8]) && table.contains("Mail"),
        "{table}"
    );
    assert!(
        !table.contains("hunter2"),
        "secrets never appear in the list"
    );

    // Any unambiguous prefix is accepted.
    let shown = home
        .run(&["record", "show", &id[..6], "--json"])
        .ok()
        .json();
    assert_eq!(shown["version"], 1);
    assert_eq!(shown["author"], "owner");
    assert_eq!(field(&shown["record"], "password"), "hunter2");
    assert_eq!(shown["record"]["notes"], "recovery codes: 1 2 3");
    let human = home.run(&["record", "show", &id]).ok().stdout;
    assert!(
        human.contains("hunter2") && human.contains("s left)"),
        "a live one-time code is shown: {human}"
    );

    let edited = home
        .run(&[
            "record",
            "edit",
            &id,
            "--field",
            "password=swordfish",
            "--json",
        ])
        .ok()
        .json();
    assert_eq!(edited["version"], 2);
    // Based on a version that is no longer current: a conflict, nothing written.
    home.run(&[
        "record",
        "edit",
        &id,
        "--if-version",
        "1",
        "--field",
        "password=lost",
    ])
    .code(6);
    home.run(&[
        "record",
        "edit",
        &id,
        "--if-version",
        "2",
        "--title",
        "Mail (work)",
    ])
    .ok();
    home.run(&["record", "edit", &id]).code(2);
    home.run(&["record", "edit", &id, "--field", "totp=not base32!"])
        .code(2);

    let history = home.run(&["record", "history", &id, "--json"]).ok().json();
    let versions = history["versions"].as_array().unwrap();
    assert_eq!(versions.len(), 3);
    assert!(
        versions
            .iter()
            .all(|v| v["verified"] == true && v["author"] == "owner")
    );
    assert_eq!(field(&versions[0]["record"], "password"), "hunter2");
    assert_eq!(field(&versions[1]["record"], "password"), "swordfish");
    assert_eq!(versions[2]["record"]["title"], "Mail (work)");
    let human = home.run(&["record", "history", &id]).ok().stdout;
    assert!(
        human.contains("~ password") && human.contains("~ title"),
        "{human}"
    );

    home.run(&["record", "show", "ffffffff"]).code(1);
    home.run(&["logout"]).ok();
    assert!(
        !home.path().join("session.json").exists(),
        "logout deletes the unlocked vault"
    );
    home.run(&["record", "list"]).code(5);
    home.run_env(
        &["login", "--email", "ada@example.org"],
        &[("SHARELOCK_PASSWORD", "wrong password")],
    )
    .code(5);

    // --password-stdin; the server is remembered from registration (no SHARELOCK_SERVER needed).
    let mut child = home
        .command(
            &["login", "--email", "ada@example.org", "--password-stdin"],
            &[],
        )
        .env_remove("SHARELOCK_SERVER")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(format!("{PASSWORD}\n").as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let shown = home.run(&["record", "show", &id, "--json"]).ok().json();
    assert_eq!(shown["version"], 3);

    home.run(&["record", "delete", &id]).ok();
    home.run(&["record", "show", &id]).code(1);
    assert_eq!(
        home.run(&["record", "list", "--json"]).ok().json()["records"]
            .as_array()
            .unwrap()
            .len(),
        0
    );

    // Nothing the owner typed reached the server's disk or log in the clear.
    let log = server.log();
    for secret in ["hunter2", "swordfish", PASSWORD, "recovery codes"] {
        assert!(!log.contains(secret), "{secret} in the log");
        assert!(
            !contains_in_dir(&server.data_dir(), secret.as_bytes()),
            "{secret} in the data directory"
        );
    }
}

fn contains_in_dir(dir: &Path, needle: &[u8]) -> bool {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return false;
    };
    entries.flatten().any(|e| {
        let p = e.path();
        if p.is_dir() {
            contains_in_dir(&p, needle)
        } else {
            std::fs::read(&p)
                .map(|b| b.windows(needle.len()).any(|w| w == needle))
                .unwrap_or(false)
        }
    })
}

#[test]
fn share_open_edit_and_delete_story() {
    let server = TestServer::start();
    let owner = Home::new(&server);
    owner.register("owner@example.org");
    let id = owner.add_login_record();
    let (link, share) = owner.share(
        &id,
        &["--expires", "7d", "--editable", "--label", "for Bob"],
    );
    assert!(link.starts_with(&format!("{}/s#1.", server.url)), "{link}");

    let listed = owner.run(&["share", "list", "--json"]).ok().json();
    let shares = listed["shares"].as_array().unwrap();
    assert_eq!(shares.len(), 1);
    assert_eq!(shares[0]["share"], share.as_str());
    assert_eq!(shares[0]["state"], "active");
    assert_eq!(shares[0]["label"], "for Bob");
    assert_eq!(shares[0]["editable"], true);

    let bob = Home::new(&server);
    let opened = bob.run(&["open", &link, "--json"]).ok().json();
    assert_eq!(
        sorted_keys(&opened),
        vec![
            "destroy_at",
            "editable",
            "expires_at",
            "from",
            "record",
            "summary_mismatch"
        ]
    );
    assert_eq!(opened["summary_mismatch"], false);
    assert_eq!(
        sorted_keys(&opened["record"]),
        vec!["fields", "files", "notes", "title", "type"]
    );
    assert_eq!(opened["record"]["type"], "login");
    assert_eq!(opened["editable"], true);
    assert_eq!(field(&opened["record"], "password"), "hunter2");
    assert!(
        opened["record"]["fields"]
            .as_array()
            .unwrap()
            .iter()
            .all(|f| sorted_keys(f) == ["kind", "name", "value"])
    );
    let human = bob.run(&["open", &link]).ok().stdout;
    assert!(
        human.contains("hunter2")
            && human.contains("s left)")
            && human.contains("Only this device"),
        "{human}"
    );

    // Another device (another home) is refused, now and later.
    let eve = Home::new(&server);
    eve.run(&["open", &link]).code(4);
    eve.run(&["open", &link, "--json"]).code(4);

    let after = bob
        .run(&[
            "open",
            &link,
            "--set",
            "password=changed-by-bob",
            "url=https://mail.example",
            "--json",
        ])
        .ok()
        .json();
    assert_eq!(field(&after["record"], "password"), "changed-by-bob");
    assert_eq!(field(&after["record"], "url"), "https://mail.example");

    // The owner sees the edit, attributed to the share and verified.
    let shown = owner.run(&["record", "show", &id, "--json"]).ok().json();
    assert_eq!(field(&shown["record"], "password"), "changed-by-bob");
    assert_eq!(shown["author"]["share"], share.as_str());
    assert!(
        shown["author"]["device_fingerprint"]
            .as_str()
            .unwrap()
            .len()
            == 19
    );
    let history = owner.run(&["record", "history", &id, "--json"]).ok().json();
    let versions = history["versions"].as_array().unwrap();
    let last = versions.last().unwrap();
    assert_eq!(last["author"]["share"], share.as_str());
    assert_eq!(last["verified"], true);
    assert_eq!(field(&last["record"], "password"), "changed-by-bob");
    assert_eq!(versions[1]["key_gen"], 2, "sharing rotated the record key");
    let human = owner.run(&["record", "history", &id]).ok().stdout;
    assert!(
        human.contains("recipient of share")
            && human.contains("~ password")
            && human.contains("+ url"),
        "{human}"
    );

    let listed = owner.run(&["share", "list", "--json"]).ok().json();
    let s = &listed["shares"][0];
    assert_eq!(s["state"], "opened");
    assert_eq!(s["device_verified"], true);
    assert_eq!(s["edit_count"], 1);
    assert_eq!(s["failed_attempts"], 0);
    assert!(s["refused_at"].is_string(), "Eve's device was refused: {s}");
    let table = owner.run(&["share", "list"]).ok().stdout;
    assert!(
        table.contains(&share[..8])
            && table.contains("for Bob")
            && table.contains('✓')
            && table.contains("Mail (")
            && table.contains("another device refused"),
        "the record's title, the refused device: {table}"
    );

    // The owner edits on top of the recipient's version.
    owner
        .run(&["record", "edit", &id, "--field", "username=ada2"])
        .ok();
    let seen = bob.run(&["open", &link, "--json"]).ok().json();
    assert_eq!(field(&seen["record"], "username"), "ada2");

    owner.run(&["share", "delete", &share[..8]]).ok();
    bob.run(&["open", &link]).code(3);
    assert_eq!(
        owner.run(&["share", "list", "--json"]).ok().json()["shares"]
            .as_array()
            .unwrap()
            .len(),
        0
    );
    let ended = owner
        .run(&["share", "list", "--expired", "--json"])
        .ok()
        .json();
    assert_eq!(ended["shares"][0]["state"], "deleted");
    let table = owner.run(&["share", "list", "--expired"]).ok().stdout;
    assert!(table.contains("ended by you"), "the end in words: {table}");
    assert_eq!(
        owner.run(&["share", "list", "--all", "--json"]).ok().json()["shares"]
            .as_array()
            .unwrap()
            .len(),
        1
    );

    // The next owner write rotates the key first, so the ended share could not read what follows.
    owner
        .run(&["record", "edit", &id, "--notes", "after the share"])
        .ok();
    let history = owner.run(&["record", "history", &id, "--json"]).ok().json();
    let versions = history["versions"].as_array().unwrap();
    let last = versions.last().unwrap();
    assert_eq!(last["key_gen"], 3);
    assert_eq!(last["record"]["notes"], "after the share");
    assert!(versions.iter().all(|v| v["verified"] == true));

    // Deleting the record ends its shares too.
    let (link2, _) = owner.share(&id, &["--expires", "1h"]);
    owner.run(&["record", "delete", &id]).ok();
    Home::new(&server).run(&["open", &link2]).code(3);

    let log = server.log();
    for secret in [
        "hunter2",
        "changed-by-bob",
        &link[link.find('#').unwrap() + 1..],
    ] {
        assert!(!log.contains(secret), "{secret} in the server log");
    }
}

/// The share preface (docs/protocol.md §4.6): the recipient learns who shared what before binding, with
/// `--peek` (nothing bound) and as `open` binds; the name is checked when the share is made.
#[test]
fn the_recipient_sees_who_shared_what_before_opening() {
    let server = TestServer::start();
    let owner = Home::new(&server);
    owner.register("ada@example.org");
    let id = owner.add_login_record();

    // A name that is not one line of plain text is refused before anything is sent.
    owner
        .run(&[
            "share",
            "create",
            &id,
            "--expires",
            "1h",
            "--from",
            "Ada\u{202e}evil",
        ])
        .code(2);
    let long = "a".repeat(129);
    owner
        .run(&["share", "create", &id, "--expires", "1h", "--from", &long])
        .code(2);

    let (link, _) = owner.share(&id, &["--expires", "1h", "--from", "Ada Lovelace"]);
    let reader = Home::new(&server);
    let peek = reader.run(&["open", "--peek", &link]).ok();
    assert!(
        peek.stdout
            .contains("\"Ada Lovelace\" shared a login with you."),
        "{peek:?}"
    );
    assert!(peek.stdout.contains("Nobody has opened it yet"), "{peek:?}");
    let peek = reader.run(&["open", "--peek", &link, "--json"]).ok().json();
    assert_eq!(peek["from"], "Ada Lovelace");
    assert_eq!(peek["type"], "login");
    assert_eq!(peek["opened"], false);
    // Peeking bound nothing: another device may still be the one that opens it.
    let other = Home::new(&server);
    let opened = other.run(&["open", &link]).ok();
    assert!(
        opened
            .stdout
            .starts_with("\"Ada Lovelace\" shared a login with you."),
        "said before binding: {opened:?}"
    );
    assert!(opened.stderr.is_empty(), "{opened:?}");
    // Opened again on the device that holds it: the record says who shared it.
    let again = other.run(&["open", &link]).ok();
    assert!(
        again.stdout.starts_with("Shared by \"Ada Lovelace\"."),
        "{again:?}"
    );
    let json = other.run(&["open", &link, "--json"]).ok().json();
    assert_eq!(json["from"], "Ada Lovelace");
    let peek = reader.run(&["open", "--peek", &link, "--json"]).ok().json();
    assert_eq!(peek["opened"], true);
    reader.run(&["open", &link]).code(4);

    // The name can come from SHARELOCK_FROM; without any, the record type is still said.
    let json = owner
        .run_env(
            &["share", "create", &id, "--expires", "1h", "--json"],
            &[("SHARELOCK_FROM", "渡辺")],
        )
        .ok()
        .json();
    let peek = reader
        .run(&["open", "--peek", json["link"].as_str().unwrap()])
        .ok();
    assert!(
        peek.stdout.contains("\"渡辺\" shared a login with you."),
        "{peek:?}"
    );
    let (nameless, _) = owner.share(&id, &["--expires", "1h"]);
    let peek = reader.run(&["open", "--peek", &nameless]).ok();
    assert!(
        peek.stdout
            .contains("Someone shared a login with you (they gave no name)."),
        "{peek:?}"
    );
}

/// A self-destructing record (docs/protocol.md §4.7) against the real binary, its sweeper running every
/// second: the sender is warned, the recipient is told before and after opening, the server deletes the
/// record soon after the delay, and `share watch` says so; an unopened one stays.
#[test]
fn a_record_destroys_itself_after_its_share_is_opened() {
    let server = TestServer::start_with(&[("SHARELOCK_SWEEP_INTERVAL", "1s")]);
    let owner = Home::new(&server);
    owner.register("owner@example.org");
    let id = owner.add_login_record();
    let kept = owner.add_login_record();

    // Refused before anything is sent: no zero delay (a usage error, said by the argument parser).
    let zero = owner.run(&[
        "share",
        "create",
        &id,
        "--expires",
        "1h",
        "--destroy-after-open",
        "0s",
    ]);
    assert_eq!(zero.code, 2, "{zero:?}");
    assert!(
        zero.stderr
            .contains("the duration must be at least one second"),
        "{zero:?}"
    );
    let created = owner
        .run(&[
            "share",
            "create",
            &id,
            "--expires",
            "1h",
            "--destroy-after-open",
            "2s",
            "--json",
        ])
        .ok();
    assert!(
        created
            .stderr
            .contains("Warning: this record destroys itself 2s after the share is opened"),
        "{created:?}"
    );
    let link = created.json()["link"].as_str().unwrap().to_owned();
    let share = created.json()["share"].as_str().unwrap().to_owned();
    let (unopened, _) = owner.share(&kept, &["--expires", "1h", "--destroy-after-open", "2s"]);
    let listed = owner.run(&["share", "list", "--json"]).ok().json();
    let entry = listed["shares"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["share"] == share.as_str())
        .unwrap()
        .clone();
    assert_eq!(entry["destroy_after_secs"], 2);
    assert_eq!(entry["destroy_at"], Value::Null);

    let mut watch = owner
        .command(&["share", "watch"], &[])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let stdout = watch.stdout.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel::<String>();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines() {
            let Ok(line) = line else { break };
            let _ = tx.send(line);
        }
    });
    std::thread::sleep(Duration::from_millis(1500));

    let reader = Home::new(&server);
    let peek = reader.run(&["open", "--peek", &link]).ok();
    assert!(
        peek.stdout
            .contains("The sender's record destroys itself 2s after it is opened"),
        "{peek:?}"
    );
    // Taken before the open: the bind comes after it, and the record goes 2 s after the bind.
    let started = Instant::now();
    let opened = reader.run(&["open", &link]).ok();
    assert!(
        opened
            .stdout
            .contains("The sender's record destroys itself"),
        "{opened:?}"
    );

    // Gone within a few sweeps: from the list, for the owner and for the recipient alike.
    let mut gone = false;
    while !gone && started.elapsed() < Duration::from_secs(20) {
        std::thread::sleep(Duration::from_millis(500));
        let records = owner.run(&["record", "list", "--json"]).ok().json();
        gone = !records["records"]
            .as_array()
            .unwrap()
            .iter()
            .any(|r| r["id"] == id.as_str());
    }
    assert!(gone, "the record was not destroyed");
    // Times are whole seconds on the server: the bind's second may have begun up to 1 s before it.
    assert!(
        started.elapsed() >= Duration::from_secs(1),
        "destroyed before its time"
    );
    reader.run(&["open", &link]).code(3);
    let listed = owner.run(&["share", "list", "--all", "--json"]).ok().json();
    let ended = listed["shares"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["share"] == share.as_str())
        .unwrap()
        .clone();
    assert_eq!(ended["end_reason"], "record_deleted");
    assert!(ended["destroy_at"].is_string(), "{ended}");
    let human = owner.run(&["share", "list", "--all"]).ok();
    assert!(human.stdout.contains("ended with its record"), "{human:?}");

    // The owner's live events say it, once.
    let deadline = Instant::now() + Duration::from_secs(20);
    let mut said = Vec::new();
    while Instant::now() < deadline && !said.iter().any(|l: &String| l.contains("destroyed itself"))
    {
        if let Ok(line) = rx.recv_timeout(Duration::from_millis(500)) {
            said.push(line);
        }
    }
    let _ = watch.kill();
    let _ = watch.wait();
    assert_eq!(
        said.iter()
            .filter(|l| l.contains("destroyed itself"))
            .count(),
        1,
        "{said:?}"
    );

    // The share that was never opened destroyed nothing.
    let records = owner.run(&["record", "list", "--json"]).ok().json();
    assert!(
        records["records"]
            .as_array()
            .unwrap()
            .iter()
            .any(|r| r["id"] == kept.as_str())
    );
    let peek = reader
        .run(&["open", "--peek", &unopened, "--json"])
        .ok()
        .json();
    assert_eq!(peek["destroy_after_secs"], 2);
}

#[test]
fn expiry_burn_done_and_passphrase() {
    let server = TestServer::start();
    let owner = Home::new(&server);
    owner.register("owner@example.org");
    let id = owner.add_login_record();

    let (short_lived, _) = owner.share(&id, &["--expires", "2s"]);
    let (burning, _) = owner.share(&id, &["--expires", "1h", "--burn-after-open", "2s"]);
    let (done, _) = owner.share(&id, &["--expires", "1h", "--editable"]);
    let started = Instant::now();

    let reader = Home::new(&server);
    reader.run(&["open", &burning]).ok();
    let r = reader.run(&["open", &done, "--done", "--json"]).ok().json();
    assert_eq!(field(&r["record"], "username"), "ada");
    reader.run(&["open", &done]).code(3);

    std::thread::sleep(Duration::from_secs(4).saturating_sub(started.elapsed()));
    reader.run(&["open", &short_lived]).code(3);
    reader.run(&["open", &burning]).code(3);

    // Read-only shares refuse --set.
    let (read_only, _) = owner.share(&id, &["--expires", "1h"]);
    reader
        .run(&["open", &read_only, "--set", "password=x"])
        .code(2);

    let passphrase = [("SHARELOCK_SHARE_PASSPHRASE", "open sesame")];
    let json = owner
        .run_env(
            &[
                "share",
                "create",
                &id,
                "--expires",
                "1h",
                "--passphrase",
                "--json",
            ],
            &passphrase,
        )
        .ok()
        .json();
    let link = json["link"].as_str().unwrap().to_owned();
    assert!(link.contains("#1p."), "{link}");
    let other = Home::new(&server);
    other
        .run_env(
            &["open", &link],
            &[("SHARELOCK_SHARE_PASSPHRASE", "open says me")],
        )
        .code(5);
    assert!(
        !other.path().join("devices").exists()
            || std::fs::read_dir(other.path().join("devices"))
                .unwrap()
                .count()
                == 0
    );
    // A wrong passphrase left the share untouched: the right one still opens it, on any device.
    reader.run_env(&["open", &link, "--json"], &passphrase).ok();
    other.run_env(&["open", &link], &passphrase).code(4);

    let listed = owner.run(&["share", "list", "--all", "--json"]).ok().json();
    let states: Vec<&str> = listed["shares"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["state"].as_str().unwrap())
        .collect();
    assert_eq!(
        states.iter().filter(|s| **s == "expired").count(),
        2,
        "{states:?}"
    );
    assert_eq!(
        states.iter().filter(|s| **s == "deleted").count(),
        1,
        "{states:?}"
    );
}

#[test]
fn files_travel_encrypted_both_ways() {
    let server = TestServer::start();
    let owner = Home::new(&server);
    owner.register("owner@example.org");
    let src = server.scratch().join("scan.pdf");
    let content: Vec<u8> = (0..200_000u32).map(|i| (i * 31 % 251) as u8).collect();
    std::fs::write(&src, &content).unwrap();
    let added = owner
        .run(&[
            "record",
            "add",
            "--type",
            "file",
            "--title",
            "Scans",
            "--file",
            src.to_str().unwrap(),
            "--json",
        ])
        .ok()
        .json();
    let id = added["id"].as_str().unwrap().to_owned();
    let mine = server.scratch().join("mine");
    let shown = owner
        .run(&[
            "record",
            "show",
            &id,
            "--save-files",
            mine.to_str().unwrap(),
            "--json",
        ])
        .ok()
        .json();
    assert_eq!(shown["record"]["files"][0]["name"], "scan.pdf");
    assert_eq!(shown["record"]["files"][0]["size"], 200_000);
    assert_eq!(std::fs::read(mine.join("scan.pdf")).unwrap(), content);

    let (link, _) = owner.share(&id, &["--expires", "1h", "--editable"]);
    let bob = Home::new(&server);
    let theirs = server.scratch().join("theirs");
    let opened = bob
        .run(&[
            "open",
            &link,
            "--save-files",
            theirs.to_str().unwrap(),
            "--json",
        ])
        .ok()
        .json();
    assert_eq!(opened["record"]["files"][0]["mime"], "application/pdf");
    assert_eq!(std::fs::read(theirs.join("scan.pdf")).unwrap(), content);
    // Never overwrites.
    bob.run(&["open", &link, "--save-files", theirs.to_str().unwrap()])
        .code(1);

    let reply = server.scratch().join("reply.txt");
    std::fs::write(&reply, b"signed and returned").unwrap();
    bob.run(&["open", &link, "--attach", reply.to_str().unwrap()])
        .ok();
    let back = server.scratch().join("back");
    let shown = owner
        .run(&[
            "record",
            "show",
            &id,
            "--save-files",
            back.to_str().unwrap(),
            "--json",
        ])
        .ok()
        .json();
    assert_eq!(shown["record"]["files"].as_array().unwrap().len(), 2);
    assert_eq!(
        std::fs::read(back.join("reply.txt")).unwrap(),
        b"signed and returned"
    );
    assert!(!contains_in_dir(&server.data_dir(), b"signed and returned"));
}

/// Pseudo-random bytes (xorshift), so every part of a file differs from every other.
fn noise(len: usize, seed: u64) -> Vec<u8> {
    let mut state = seed | 1;
    let mut out = Vec::with_capacity(len + 8);
    while out.len() < len {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        out.extend_from_slice(&state.to_le_bytes());
    }
    out.truncate(len);
    out
}

/// Stored part files of the one file a record has, from the server's local blob directory.
fn stored_parts(server: &TestServer, record: &str) -> usize {
    let dir = server.data_dir().join("blobs/files").join(record);
    let Some(file) = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("no blobs at {}: {e}", dir.display()))
        .flatten()
        .next()
    else {
        return 0;
    };
    std::fs::read_dir(file.path()).unwrap().count()
}

/// Files larger than a part go up as several parts, sent a few at a time after the first, and come back
/// whole: the owner's upload and download, and an editable share's recipient downloading and attaching
/// (every part a separately signed request). No progress bar is drawn when stderr is not a terminal.
#[test]
fn large_files_travel_in_parts_sent_together() {
    let server = TestServer::start();
    let owner = Home::new(&server);
    owner.register("owner@example.org");
    // Four parts of the blob: 4 MiB, 4 MiB, 4 MiB and the rest.
    let content = noise(3 * 4 * 1024 * 1024 + 777_777, 7);
    let src = server.scratch().join("disk.img");
    std::fs::write(&src, &content).unwrap();
    let added = owner.run(&[
        "record",
        "add",
        "--type",
        "file",
        "--title",
        "Image",
        "--file",
        src.to_str().unwrap(),
        "--json",
    ]);
    assert_eq!(
        added.stderr, "",
        "nothing but errors on a stderr that is not a terminal"
    );
    let id = added.ok().json()["id"].as_str().unwrap().to_owned();
    assert_eq!(stored_parts(&server, &id), 4);

    let mine = server.scratch().join("mine");
    let shown = owner.run(&[
        "--quiet",
        "record",
        "show",
        &id,
        "--save-files",
        mine.to_str().unwrap(),
    ]);
    assert_eq!(shown.stderr, "");
    shown.ok();
    assert!(std::fs::read(mine.join("disk.img")).unwrap() == content);
    // Nothing but the file is left behind (the temporary file was renamed).
    assert_eq!(std::fs::read_dir(&mine).unwrap().count(), 1);

    let (link, _) = owner.share(&id, &["--expires", "1h", "--editable"]);
    let bob = Home::new(&server);
    let theirs = server.scratch().join("theirs");
    bob.run(&["open", &link, "--save-files", theirs.to_str().unwrap()])
        .ok();
    assert!(std::fs::read(theirs.join("disk.img")).unwrap() == content);

    let reply = noise(2 * 4 * 1024 * 1024 + 5, 11);
    let reply_path = server.scratch().join("reply.bin");
    std::fs::write(&reply_path, &reply).unwrap();
    bob.run(&["open", &link, "--attach", reply_path.to_str().unwrap()])
        .ok();
    let back = server.scratch().join("back");
    owner
        .run(&[
            "record",
            "show",
            &id,
            "--save-files",
            back.to_str().unwrap(),
        ])
        .ok();
    assert!(std::fs::read(back.join("reply.bin")).unwrap() == reply);
    assert!(std::fs::read(back.join("disk.img")).unwrap() == content);
}

#[test]
fn watch_follows_live_events() {
    let server = TestServer::start();
    let owner = Home::new(&server);
    owner.register("owner@example.org");
    let id = owner.add_login_record();
    let (link, share) = owner.share(&id, &["--expires", "1h", "--editable"]);

    let mut watch = owner
        .command(&["share", "watch", "--json"], &[])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let stdout = watch.stdout.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel::<Value>();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines() {
            let Ok(line) = line else { break };
            if let Ok(v) = serde_json::from_str(&line) {
                let _ = tx.send(v);
            }
        }
    });
    // Give the stream a moment to connect: it starts from "now".
    std::thread::sleep(Duration::from_millis(1500));
    let bob = Home::new(&server);
    bob.run(&["open", &link, "--set", "username=bob"]).ok();
    // A second device with the link is refused, and the owner is told.
    let carol = Home::new(&server);
    carol.run(&["open", &link]).code(4);
    owner.run(&["share", "delete", &share]).ok();

    let mut kinds = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(30);
    while kinds.len() < 4 && Instant::now() < deadline {
        if let Ok(event) = rx.recv_timeout(Duration::from_millis(500)) {
            assert_eq!(event["share"], share.as_str(), "{event}");
            kinds.push(event["kind"].as_str().unwrap().to_owned());
        }
    }
    let _ = watch.kill();
    let _ = watch.wait();
    assert_eq!(
        kinds,
        vec![
            "share_opened",
            "record_edited",
            "device_refused",
            "share_ended"
        ]
    );
}

/// Two edits on the same base: one wins, the other gets `version_conflict` (the CLI's exit 6), nothing
/// is lost. The CLI cannot race itself, so the client library makes the two edits.
#[test]
fn concurrent_recipient_edits_conflict() {
    let server = TestServer::start();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        use sharelock_client::api::ErrorCode;
        use sharelock_client::api::shares::Expiry;
        use sharelock_core::record::{RecordBody, RecordType};
        let mut owner = sharelock_client::register(&server.url, "owner@example.org", PASSWORD)
            .await
            .unwrap();
        let mut body = RecordBody::new(RecordType::Wifi, "Home");
        body.set_field("ssid", "home-net").unwrap();
        let id = owner.create_record(&body).await.unwrap();
        let options = sharelock_client::ShareOptions {
            expires: Expiry::InSeconds(3600),
            editable: true,
            burn_after_secs: None,
            label: None,
            passphrase: None,
            view_once: false,
            from: None,
            destroy_after_secs: None,
        };
        let link = owner.create_share(id, options).await.unwrap().link;
        let devices = sharelock_client::MemoryDeviceStore::new();
        let mut first = sharelock_client::Recipient::open(&link, None, &devices)
            .await
            .unwrap();
        let mut second = sharelock_client::Recipient::open(&link, None, &devices)
            .await
            .unwrap();
        assert_eq!(first.version(), second.version());
        first
            .set_fields(&[("password".into(), "one".into())])
            .await
            .unwrap();
        let err = second
            .set_fields(&[("password".into(), "two".into())])
            .await
            .unwrap_err();
        assert!(err.is(ErrorCode::VersionConflict), "{err:?}");
        // Fetch again and retry: the second edit now lands on top of the first.
        second.refresh().await.unwrap();
        assert_eq!(second.body().field("password").unwrap().value, "one");
        second
            .set_fields(&[("password".into(), "two".into())])
            .await
            .unwrap();
        let view = owner.show_record(id).await.unwrap();
        assert_eq!(view.body.field("password").unwrap().value, "two");
        assert!(matches!(
            view.verification,
            sharelock_client::Verification::Recipient { .. }
        ));

        // The owner's edit based on a stale version conflicts too.
        let err = owner
            .edit_record(id, Some(1), |b| {
                b.notes = "late".into();
                Ok(())
            })
            .await
            .unwrap_err();
        assert!(err.is(ErrorCode::VersionConflict));
        // A replayed old version is refused by the owner's anti-rollback memory.
        assert!(
            owner
                .versions()
                .highest(&id)
                .is_some_and(|(v, _)| v == view.version)
        );
    });
}

#[test]
fn share_create_prints_link_invitation_and_qr() {
    let server = TestServer::start();
    let owner = Home::new(&server);
    owner.register("qr@example.org");
    let id = owner.add_login_record();
    let run = owner
        .run(&["share", "create", &id, "--expires", "1h", "--qr"])
        .ok();
    let link = run.stdout.lines().next().unwrap().trim().to_owned();
    assert!(
        link.starts_with(&format!("{}/s#1.", server.url)),
        "the first line is the link: {link}"
    );
    assert!(
        run.stdout.matches(link.as_str()).count() >= 2,
        "the invitation repeats the link: {}",
        run.stdout
    );
    assert!(
        run.stdout.contains("first device"),
        "the invitation explains the device lock"
    );
    // A QR code of a ~70-character link is at least 25 modules wide: that many half-block rows / 2.
    let qr_rows = run
        .stdout
        .lines()
        .filter(|l| l.contains('█') || l.contains('▀') || l.contains('▄'))
        .count();
    assert!(
        qr_rows >= 13,
        "a QR code is drawn ({qr_rows} rows):\n{}",
        run.stdout
    );
    // The link opens.
    let bob = Home::new(&server);
    bob.run(&["open", &link, "--json"]).ok();
}

/// `sharelock password`: the current password is checked on this machine (a wrong one never reaches the
/// server), the vault stays unlocked here under the new one, every other session ends (a running `share
/// watch` too), only the new password logs in, and every record and share reads as before.
#[test]
fn password_change_story() {
    const NEW: &str = "pl41ntext new master passw0rd";
    const THIRD: &str = "a third master password";
    let server = TestServer::start();
    let laptop = Home::new(&server);
    laptop.register("grace@example.org");
    let id = laptop.add_login_record();
    laptop
        .run(&["record", "edit", &id, "--field", "password=swordfish"])
        .ok();
    let (link, share) = laptop.share(&id, &["--expires", "1d", "--label", "for Bob"]);

    // Another machine, logged in before the change, watching live events.
    let phone = Home::new(&server);
    let login = |home: &Home, password: &str| {
        home.run_env(
            &["login", "--email", "grace@example.org"],
            &[("SHARELOCK_PASSWORD", password)],
        )
    };
    login(&phone, PASSWORD).ok();
    let mut watch = phone
        .command(&["share", "watch", "--json"], &[])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();

    let change = |home: &Home, current: &str, new: &str| {
        home.run_env(
            &["password", "--json"],
            &[
                ("SHARELOCK_PASSWORD", current),
                ("SHARELOCK_NEW_PASSWORD", new),
            ],
        )
    };
    // A wrong current password is refused here, before anything is sent: even six of them leave the
    // account's login backoff untouched.
    for _ in 0..6 {
        let run = change(&laptop, "wrong password", NEW).code(5);
        assert!(
            run.stderr.contains("current master password is wrong"),
            "{run:?}"
        );
    }
    change(&laptop, PASSWORD, PASSWORD).code(2);
    change(&laptop, PASSWORD, "").code(2);
    phone.run(&["record", "list"]).ok();

    let changed = change(&laptop, PASSWORD, NEW).ok().json();
    assert_eq!(
        sorted_keys(&changed),
        vec!["account_id", "email", "expires_at", "server"]
    );
    assert_eq!(changed["email"], "grace@example.org");
    assert_eq!(changed["server"], server.url.as_str());

    // This machine carries on with a new session.
    let shown = laptop.run(&["record", "show", &id, "--json"]).ok().json();
    assert_eq!(field(&shown["record"], "password"), "swordfish");
    let listed = laptop.run(&["share", "list", "--json"]).ok().json();
    assert_eq!(listed["shares"][0]["share"], share.as_str());
    assert_eq!(listed["shares"][0]["label"], "for Bob");

    // The other machine's session has ended, its event stream with it.
    let run = phone.run(&["record", "list"]).code(5);
    assert!(run.stderr.contains("log in again"), "{run:?}");
    let deadline = Instant::now() + Duration::from_secs(30);
    let status = loop {
        if let Some(status) = watch.try_wait().unwrap() {
            break status;
        }
        if Instant::now() > deadline {
            let _ = watch.kill();
            panic!("share watch kept running after its session ended");
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    assert_eq!(status.code(), Some(5));

    // Only the new password logs in, and it opens the same vault: every version still verifies.
    login(&phone, PASSWORD).code(5);
    login(&phone, NEW).ok();
    let history = phone.run(&["record", "history", &id, "--json"]).ok().json();
    let versions = history["versions"].as_array().unwrap();
    assert!(versions.len() >= 3, "{history}");
    assert!(versions.iter().all(|v| v["verified"] == true));
    assert_eq!(field(&versions[0]["record"], "password"), "hunter2");
    let shown = phone.run(&["record", "show", &id, "--json"]).ok().json();
    assert_eq!(field(&shown["record"], "password"), "swordfish");
    // The share made before the change still opens for its recipient.
    let bob = Home::new(&server);
    let opened = bob.run(&["open", &link, "--json"]).ok().json();
    assert_eq!(field(&opened["record"], "password"), "swordfish");

    // --password-stdin: the current password on the first line, the new one on the second.
    let mut child = phone
        .command(&["password", "--password-stdin"], &[])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(format!("{NEW}\n{THIRD}\n").as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    laptop.run(&["record", "list"]).code(5);
    login(&laptop, NEW).code(5);
    login(&laptop, THIRD).ok();
    laptop.run(&["record", "show", &id]).ok();

    // Neither password reached the server's disk or log.
    let log = server.log();
    for secret in [NEW, THIRD] {
        assert!(!log.contains(secret), "{secret} in the log");
        assert!(!contains_in_dir(&server.data_dir(), secret.as_bytes()));
    }
}

/// Wrong access tokens for `share` (b64u share id) from a client that is not the recipient: each is counted,
/// and past the free ones the share is in backoff. Returns the statuses.
fn wrong_tokens(server: &TestServer, share: &str, n: usize) -> Vec<u16> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let client = reqwest::Client::new();
        let mut statuses = Vec::new();
        for i in 0..n {
            let wrong = sharelock_core::encoding::b64u(&[i as u8; 32]);
            let response = client
                .get(format!("{}/api/v1/recipient/status", server.url))
                .header("sharelock-share", share)
                .header("sharelock-access", wrong)
                .send()
                .await
                .unwrap();
            statuses.push(response.status().as_u16());
        }
        statuses
    })
}

/// The share id (b64u) of a link.
fn share_id_of_link(link: &str) -> String {
    let parsed = sharelock_core::share::Link::parse(link).unwrap();
    sharelock_core::share::LinkSecret::from_bytes(*parsed.secret.expose())
        .share_id()
        .to_b64u()
}

#[test]
fn a_bound_device_opens_at_once_and_remembers_what_it_saw() {
    let server = TestServer::start();
    let owner = Home::new(&server);
    owner.register("owner@example.org");
    let id = owner.add_login_record();
    let (link, _) = owner.share(&id, &["--expires", "1h"]);
    let bob = Home::new(&server);
    bob.run(&["open", &link, "--json"]).ok();

    // Someone who saw the share id keeps its access-token backoff busy.
    let statuses = wrong_tokens(&server, &share_id_of_link(&link), 8);
    assert_eq!(statuses.last(), Some(&429), "{statuses:?}");
    // Opening it anew (status, bind) has to wait...
    let held = Home::new(&server).run(&["open", &link]).code(1);
    assert!(held.stderr.contains("retry in"), "{held:?}");
    // ...but the device that holds the bound key goes straight to the signed fetch.
    let seen = bob.run(&["open", &link, "--json"]).ok().json();
    assert_eq!(field(&seen["record"], "username"), "ada");

    // The owner edits; Bob sees it; then the server rolls the record back one version.
    owner
        .run(&["record", "edit", &id, "--field", "username=ada2"])
        .ok();
    let seen = bob.run(&["open", &link, "--json"]).ok().json();
    assert_eq!(field(&seen["record"], "username"), "ada2");
    let record = uuid::Uuid::parse_str(&id).unwrap().as_bytes().to_vec();
    assert_eq!(
        server.tamper(
            "DELETE FROM versions WHERE record_id = ?1 AND version = (SELECT version FROM records WHERE id = ?1)",
            [&record]
        ),
        1
    );
    server.tamper(
        "UPDATE records SET version = version - 1 WHERE id = ?1",
        [&record],
    );
    // A new process on the same device still knows what it saw.
    let refused = bob.run(&["open", &link]).code(1);
    assert!(refused.stderr.contains("older than version"), "{refused:?}");
    assert!(
        !refused.stdout.contains("ada"),
        "nothing is shown: {refused:?}"
    );
}

#[test]
fn secrets_come_from_standard_input_or_files_and_weak_ones_are_refused() {
    let server = TestServer::start();
    let owner = Home::new(&server);
    // The web app's master-password minimum holds here too; nothing is sent.
    owner
        .run_env(
            &["register", "--email", "owner@example.org"],
            &[("SHARELOCK_PASSWORD", "too short")],
        )
        .code(2);
    owner.register("owner@example.org");

    // Field values from standard input and from files, never on the command line.
    let dir = tempfile::tempdir().unwrap();
    let key_file = dir.path().join("api-key");
    std::fs::write(&key_file, "sk-live-0123456789\n").unwrap();
    let key_spec = format!("apikey=@{}", key_file.display());
    let added = owner
        .run_input(
            &[
                "record",
                "add",
                "--type",
                "login",
                "--title",
                "Payments",
                "--field",
                "password=-",
                "--secret-field",
                &key_spec,
                "--field",
                "account=@@acme",
                "--field",
                "url=https://bank.example@evil.example/login",
                "--json",
            ],
            "from stdin\n",
        )
        .ok()
        .json();
    let id = added["id"].as_str().unwrap().to_owned();
    let shown = owner.run(&["record", "show", &id, "--json"]).ok().json();
    assert_eq!(field(&shown["record"], "password"), "from stdin");
    assert_eq!(field(&shown["record"], "apikey"), "sk-live-0123456789");
    assert_eq!(field(&shown["record"], "account"), "@acme");
    // Standard input is read once per command.
    owner
        .run_input(
            &["record", "edit", &id, "--field", "a=-", "--field", "b=-"],
            "x",
        )
        .code(2);

    // A custom field marked secret never reaches the record list; a plain custom one may.
    let list = owner.run(&["record", "list", "--json"]).ok().json();
    let entry = &list["records"][0];
    assert_eq!(entry["subtitle"], "@acme");
    let table = owner.run(&["record", "list"]).ok().stdout;
    assert!(
        !table.contains("sk-live") && !table.contains("from stdin"),
        "{table}"
    );

    // A URL field shows the host it really names.
    let human = owner.run(&["record", "show", &id]).ok().stdout;
    assert!(human.contains("site evil.example"), "{human}");
    assert!(
        human.contains("\"bank.example\" before the @ is a user name, not the site"),
        "{human}"
    );

    // Share passphrases: too short is refused; a generated one is six words and opens the share.
    owner
        .run_env(
            &["share", "create", &id, "--expires", "1h", "--passphrase"],
            &[("SHARELOCK_SHARE_PASSPHRASE", "short one")],
        )
        .code(2);
    let created = owner
        .run(&[
            "share",
            "create",
            &id,
            "--expires",
            "1h",
            "--editable",
            "--generate-passphrase",
            "--json",
        ])
        .ok()
        .json();
    let passphrase = created["passphrase"].as_str().unwrap().to_owned();
    assert_eq!(passphrase.split(' ').count(), 6, "{passphrase}");
    let link = created["link"].as_str().unwrap().to_owned();
    assert!(link.contains("#1p."), "{link}");

    // The link from standard input; a new value from a file.
    let bob = Home::new(&server);
    let new_value = dir.path().join("new-password");
    std::fs::write(&new_value, "changed by bob\n").unwrap();
    let set = format!("password=@{}", new_value.display());
    let mut child = bob
        .command(&["open", "-", "--set", &set, "--json"], &[])
        .env("SHARELOCK_SHARE_PASSPHRASE", &passphrase)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(format!("{link}\n").as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let opened: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(field(&opened["record"], "password"), "changed by bob");
    // With the link on standard input, a value cannot come from it too.
    bob.run_input(&["open", "-", "--set", "password=-"], &link)
        .code(2);
}

/// The server's limits in one line each, with exit code 9: the live-share limit (ending a share makes
/// room again) and the account's file quota.
#[test]
fn server_limits_are_explained() {
    let server = TestServer::start_with(&[
        ("SHARELOCK_MAX_LIVE_SHARES", "2"),
        ("SHARELOCK_ACCOUNT_QUOTA_BYTES", "100000"),
    ]);
    let owner = Home::new(&server);
    owner.register("limits@example.org");
    let id = owner.add_login_record();
    owner.share(&id, &["--expires", "1h"]);
    let (_, second) = owner.share(&id, &["--expires", "1h"]);
    let refused = owner
        .run(&["share", "create", &id, "--expires", "1h"])
        .code(9);
    assert!(
        refused
            .stderr
            .contains("as many live shares as this server allows"),
        "{refused:?}"
    );
    owner.run(&["share", "delete", &second]).ok();
    owner.share(&id, &["--expires", "1h"]);

    let big = server.scratch().join("big.bin");
    std::fs::write(&big, vec![7u8; 150_000]).unwrap();
    let refused = owner
        .run(&[
            "record",
            "add",
            "--type",
            "file",
            "--title",
            "Too big",
            "--file",
            big.to_str().unwrap(),
        ])
        .code(9);
    assert!(
        refused
            .stderr
            .contains("file storage on this server is full"),
        "{refused:?}"
    );
}
