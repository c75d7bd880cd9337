//! Administration through the real binary: `sharelock admin …` on the server's database (SQLite and
//! PostgreSQL, with the server running), and the admin API guarded by a token read from a file. A
//! disabled account's sessions end, its login and its shares answer stable codes on the next request,
//! enabling undoes it; a deleted account's blobs are gone after the sweep; an invitation code works once;
//! a wrong admin token is refused; no log line carries an id, email, code or token.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::TestServer;
use common::home::{Home, PASSWORD, Run};
use serde_json::{Value, json};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// `sharelock admin <args>` with the server's settings (`--data-dir`, or `SHARELOCK_*` in `env`).
fn admin(data_dir: Option<&Path>, args: &[&str], env: &[(&str, &str)]) -> Run {
    let mut c = Command::new(common::binary());
    c.arg("admin");
    if let Some(dir) = data_dir {
        c.arg("--data-dir").arg(dir);
    }
    c.args(args)
        .env_remove("SHARELOCK_CONFIG")
        .env_remove("SHARELOCK_DATA_DIR")
        .env_remove("SHARELOCK_DATABASE_URL")
        .env_remove("SHARELOCK_LOG")
        .stdin(Stdio::null());
    for (k, v) in env {
        c.env(k, v);
    }
    let out = c.output().expect("run sharelock admin");
    Run {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

fn files_under(dir: &Path) -> usize {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return 0;
    };
    entries
        .flatten()
        .map(|e| {
            let path = e.path();
            if path.is_dir() { files_under(&path) } else { 1 }
        })
        .sum()
}

fn account_of<'a>(list: &'a Value, email: &str) -> &'a Value {
    list["accounts"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["email"] == email)
        .unwrap_or_else(|| panic!("{email} is listed: {list}"))
}

fn login(home: &Home, email: &str) -> Run {
    home.run_env(
        &["login", "--email", email],
        &[("SHARELOCK_PASSWORD", PASSWORD)],
    )
}

/// The CLI on a running SQLite server: usage listed, a disable felt on the next request of the owner,
/// the owner's login and the share's recipient (exit 12, stable codes), an enable undoing it, and a
/// deletion whose file blobs the sweeper removes.
#[test]
fn admin_cli_disables_enables_and_deletes_on_sqlite() {
    let server = TestServer::start_with(&[("SHARELOCK_SWEEP_INTERVAL", "1s")]);
    let data = server.data_dir();
    let owner = Home::new(&server);
    owner.register("owner.admin@example.org");
    let other = Home::new(&server);
    other.register("other.admin@example.org");
    let file = server.scratch().join("report.bin");
    std::fs::write(&file, vec![7u8; 300_000]).unwrap();
    let record = owner.add_file_record("report", &file);
    let (link, _) = owner.share(&record, &["--expires", "1d"]);
    let bob = Home::new(&server);
    bob.run(&["open", &link, "--json"]).ok();
    let blobs = data.join("blobs");
    assert!(files_under(&blobs) > 0, "the file is stored");

    let list = admin(Some(&data), &["accounts", "list", "--json"], &[])
        .ok()
        .json();
    let row = account_of(&list, "owner.admin@example.org");
    assert_eq!(row["state"], "active");
    assert_eq!(row["records"], 1);
    assert_eq!(row["live_shares"], 1);
    assert!(row["file_bytes"].as_u64().unwrap() >= 300_000, "{row}");
    assert!(row["last_login_at"].is_string(), "{row}");
    let owner_id = row["id"].as_str().unwrap().to_owned();
    let table = admin(Some(&data), &["accounts", "list"], &[]).ok().stdout;
    assert!(table.contains("owner.admin@example.org") && table.contains("active"));

    // Disable, by email: the owner's session ends at once, the share stops answering.
    let disabled = admin(
        Some(&data),
        &["accounts", "disable", "Owner.Admin@example.org", "--json"],
        &[],
    )
    .ok();
    assert_eq!(disabled.json()["changed"], true);
    assert!(
        disabled.stderr.contains("account disabled"),
        "the action is logged: {}",
        disabled.stderr
    );
    assert!(
        !disabled.stderr.contains(&owner_id) && !disabled.stderr.contains("owner.admin"),
        "{}",
        disabled.stderr
    );
    owner.run(&["record", "list"]).code(5);
    let refused = login(&owner, "owner.admin@example.org").code(12);
    assert!(refused.stderr.contains("disabled"), "{refused:?}");
    let suspended = bob.run(&["open", &link]).code(12);
    assert!(
        suspended.stderr.contains("owner's account is disabled"),
        "{suspended:?}"
    );
    Home::new(&server).run(&["open", &link]).code(12);
    // A wrong password still says only that it is wrong.
    owner
        .run_env(
            &["login", "--email", "owner.admin@example.org"],
            &[("SHARELOCK_PASSWORD", "not the password at all")],
        )
        .code(5);
    other.run(&["record", "list"]).ok();
    let list = admin(Some(&data), &["accounts", "list", "--json"], &[])
        .ok()
        .json();
    assert_eq!(
        account_of(&list, "owner.admin@example.org")["state"],
        "disabled"
    );
    admin(
        Some(&data),
        &["accounts", "disable", &owner_id, "--json"],
        &[],
    )
    .ok()
    .json()["changed"]
        .as_bool()
        .filter(|changed| !changed)
        .expect("already disabled");

    // Enable, by id: everything answers again.
    admin(Some(&data), &["accounts", "enable", &owner_id], &[]).ok();
    login(&owner, "owner.admin@example.org").ok();
    owner.run(&["record", "list"]).ok();
    bob.run(&["open", &link, "--json"]).ok();

    // Delete: refused without --yes off a terminal; then everything goes, the blobs with the sweep.
    admin(Some(&data), &["accounts", "delete", &owner_id], &[]).code(2);
    let deleted = admin(
        Some(&data),
        &["accounts", "delete", &owner_id, "--yes", "--json"],
        &[],
    )
    .ok()
    .json();
    assert_eq!(deleted["records"], 1);
    assert_eq!(deleted["shares"], 1);
    assert!(deleted["blobs"].as_u64().unwrap() >= 1, "{deleted}");
    let deadline = Instant::now() + Duration::from_secs(20);
    while files_under(&blobs) > 0 {
        assert!(
            Instant::now() < deadline,
            "the sweeper did not delete the blobs"
        );
        std::thread::sleep(Duration::from_millis(200));
    }
    owner.run(&["record", "list"]).code(5);
    login(&owner, "owner.admin@example.org").code(5);
    bob.run(&["open", &link]).code(3);
    let list = admin(Some(&data), &["accounts", "list", "--json"], &[])
        .ok()
        .json();
    assert_eq!(list["accounts"].as_array().unwrap().len(), 1);
    admin(
        Some(&data),
        &["accounts", "delete", &owner_id, "--yes"],
        &[],
    )
    .code(1);
    other.run(&["record", "list"]).ok();

    // A wrong data directory is a usage error, not a new empty database.
    let nowhere = server.scratch().join("nowhere");
    admin(Some(&nowhere), &["accounts", "list"], &[]).code(2);
    assert!(!nowhere.join("sharelock.db").exists());
}

/// Invite-only sign-up through the CLI: the policy says so, registering without a code or with a wrong
/// one is refused with exit 12, a code works once, a revoked one never.
#[test]
fn invitation_codes_work_once() {
    let server = TestServer::start_with(&[("SHARELOCK_INVITE_ONLY", "true")]);
    let data = server.data_dir();
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let policy: Value = runtime.block_on(async {
        reqwest::get(format!("{}/api/v1/policy", server.url))
            .await
            .unwrap()
            .json()
            .await
            .unwrap()
    });
    assert_eq!(policy["invite_required"], true);

    let register = |home: &Home, email: &str, invite: Option<&str>| {
        let mut args = vec!["register", "--email", email];
        if let Some(code) = invite {
            args.extend(["--invite", code]);
        }
        home.run_env(&args, &[("SHARELOCK_PASSWORD", PASSWORD)])
    };
    let ada = Home::new(&server);
    let without = register(&ada, "ada.invited@example.org", None).code(12);
    assert!(without.stderr.contains("--invite"), "{without:?}");

    let created = admin(
        Some(&data),
        &[
            "invite",
            "create",
            "--expires",
            "2h",
            "--note",
            "for Ada",
            "--json",
        ],
        &[],
    )
    .ok();
    let created_json = created.json();
    let code = created_json["code"].as_str().unwrap().to_owned();
    let id = created_json["id"].as_str().unwrap().to_owned();
    assert_eq!(code.len(), 43);
    assert!(
        !created.stderr.contains(&code) && !created.stderr.contains(&id),
        "the log line names neither: {}",
        created.stderr
    );
    // A wrong code of the right shape, and one that is no code at all.
    let mut wrong = code.clone().into_bytes();
    wrong[42] = if wrong[42] == b'A' { b'B' } else { b'A' };
    register(
        &ada,
        "ada.invited@example.org",
        Some(std::str::from_utf8(&wrong).unwrap()),
    )
    .code(12);
    register(&ada, "ada.invited@example.org", Some("not-a-code")).code(12);

    register(&ada, "ada.invited@example.org", Some(&code)).ok();
    ada.run(&["record", "list"]).ok();
    let again = register(&Home::new(&server), "eve.invited@example.org", Some(&code)).code(12);
    assert!(again.stderr.contains("not valid"), "{again:?}");

    let list = admin(Some(&data), &["invite", "list", "--json"], &[])
        .ok()
        .json();
    let listed = &list["invites"][0];
    assert_eq!(listed["id"], id.as_str());
    assert_eq!(listed["state"], "used");
    assert_eq!(listed["note"], "for Ada");
    assert!(!list.to_string().contains(&code), "codes are never listed");

    // Revoked before use: refused.
    let revoked = admin(Some(&data), &["invite", "create", "--json"], &[])
        .ok()
        .json();
    let revoked_code = revoked["code"].as_str().unwrap();
    let revoked_id = revoked["id"].as_str().unwrap();
    let answer = admin(
        Some(&data),
        &["invite", "revoke", revoked_id, "--json"],
        &[],
    )
    .ok()
    .json();
    assert_eq!(answer["revoked"], true);
    register(
        &Home::new(&server),
        "bob.invited@example.org",
        Some(revoked_code),
    )
    .code(12);
    let table = admin(Some(&data), &["invite", "list"], &[]).ok().stdout;
    assert!(
        table.contains("revoked") && table.contains("used"),
        "{table}"
    );
    admin(Some(&data), &["invite", "create", "--expires", "500d"], &[]).code(2);
    admin(
        Some(&data),
        &["invite", "revoke", "00000000-0000-4000-8000-000000000000"],
        &[],
    )
    .code(1);
    assert!(
        !server.log().contains(&code),
        "the server never logs a code"
    );
}

/// Sign-ups limited to email domains: the policy lists them, another domain is refused (exit 12).
#[test]
fn signups_limited_to_email_domains() {
    let server = TestServer::start_with(&[(
        "SHARELOCK_SIGNUP_EMAIL_DOMAINS",
        "Example.org, corp.example",
    )]);
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let policy: Value = runtime.block_on(async {
        reqwest::get(format!("{}/api/v1/policy", server.url))
            .await
            .unwrap()
            .json()
            .await
            .unwrap()
    });
    assert_eq!(
        policy["signup_email_domains"],
        json!(["example.org", "corp.example"])
    );
    assert_eq!(policy["invite_required"], false);
    let home = Home::new(&server);
    let refused = home
        .run_env(
            &["register", "--email", "eve@example.org.evil"],
            &[("SHARELOCK_PASSWORD", PASSWORD)],
        )
        .code(12);
    assert!(refused.stderr.contains("email domains"), "{refused:?}");
    home.register("ada@corp.example");
}

struct Api {
    client: reqwest::Client,
    base: String,
}

impl Api {
    async fn call(
        &self,
        method: reqwest::Method,
        path: &str,
        token: Option<&str>,
        body: Option<Value>,
    ) -> (u16, Value) {
        let mut request = self
            .client
            .request(method, format!("{}/api/v1/admin{path}", self.base));
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request.send().await.unwrap();
        let status = response.status().as_u16();
        (status, response.json().await.unwrap_or(Value::Null))
    }
}

const ADMIN_TOKEN: &str = "admin-token-for-tests-8f3b2c1d0e9a7b6c5d4e";

/// The admin API: off without a token; a missing or wrong token (or one in the URL) refused with
/// `admin_unauthorized`; with the token read from a file, the CLI's operations, including a disable
/// felt by the share at once and an invitation used by the API's caller once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_admin_api_needs_the_token_from_its_file() {
    let off = TestServer::start();
    let api = Api {
        client: reqwest::Client::new(),
        base: off.url.clone(),
    };
    let (status, body) = api
        .call(reqwest::Method::GET, "/accounts", Some(ADMIN_TOKEN), None)
        .await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (404, Some("not_found"))
    );
    drop(off);

    let dir = tempfile::tempdir().unwrap();
    let token_file = dir.path().join("admin_token");
    std::fs::write(&token_file, format!("{ADMIN_TOKEN}\n")).unwrap();
    let server = TestServer::start_with(&[
        ("SHARELOCK_ADMIN_TOKEN_FILE", token_file.to_str().unwrap()),
        ("SHARELOCK_INVITE_ONLY", "true"),
    ]);
    let api = Api {
        client: reqwest::Client::new(),
        base: server.url.clone(),
    };
    for token in [None, Some("wrong"), Some(&ADMIN_TOKEN[..40])] {
        let (status, body) = api
            .call(reqwest::Method::GET, "/accounts", token, None)
            .await;
        assert_eq!(status, 401, "{token:?}");
        assert_eq!(body["error"]["code"], "admin_unauthorized");
    }
    let in_url = api
        .client
        .get(format!(
            "{}/api/v1/admin/accounts?token={ADMIN_TOKEN}",
            server.url
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(
        in_url.status().as_u16(),
        401,
        "a token in the URL is not read"
    );

    // An invitation made through the API registers once.
    let (status, created) = api
        .call(
            reqwest::Method::POST,
            "/invites",
            Some(ADMIN_TOKEN),
            Some(json!({"expires_in_secs": 3600, "note": "api"})),
        )
        .await;
    assert_eq!(status, 201, "{created}");
    let code = created["code"].as_str().unwrap().to_owned();
    let owner = Home::new(&server);
    owner
        .run_env(
            &[
                "register",
                "--email",
                "owner.api@example.org",
                "--invite",
                &code,
            ],
            &[("SHARELOCK_PASSWORD", PASSWORD)],
        )
        .ok();
    Home::new(&server)
        .run_env(
            &[
                "register",
                "--email",
                "second.api@example.org",
                "--invite",
                &code,
            ],
            &[("SHARELOCK_PASSWORD", PASSWORD)],
        )
        .code(12);
    let (_, invites) = api
        .call(reqwest::Method::GET, "/invites", Some(ADMIN_TOKEN), None)
        .await;
    assert_eq!(invites["invites"][0]["state"], "used");

    let record = owner
        .run(&[
            "record",
            "add",
            "--type",
            "login",
            "--title",
            "api",
            "--field",
            "username=ada",
            "--json",
        ])
        .ok()
        .json()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let (link, _) = owner.share(&record, &["--expires", "1d"]);
    let bob = Home::new(&server);
    bob.run(&["open", &link, "--json"]).ok();

    let (status, list) = api
        .call(reqwest::Method::GET, "/accounts", Some(ADMIN_TOKEN), None)
        .await;
    assert_eq!(status, 200);
    let row = account_of(&list, "owner.api@example.org");
    assert_eq!(
        (row["records"].as_u64(), row["live_shares"].as_u64()),
        (Some(1), Some(1))
    );
    let owner_id = row["id"].as_str().unwrap().to_owned();

    // Disabled: the share's next request answers share_suspended; login account_disabled.
    let (status, changed) = api
        .call(
            reqwest::Method::POST,
            "/accounts/disable",
            Some(ADMIN_TOKEN),
            Some(json!({"account": owner_id})),
        )
        .await;
    assert_eq!((status, changed["changed"].as_bool()), (200, Some(true)));
    bob.run(&["open", &link]).code(12);
    owner.run(&["record", "list"]).code(5);
    login(&owner, "owner.api@example.org").code(12);
    let (status, _) = api
        .call(
            reqwest::Method::POST,
            "/accounts/enable",
            Some(ADMIN_TOKEN),
            Some(json!({"account": "owner.api@example.org"})),
        )
        .await;
    assert_eq!(status, 200);
    bob.run(&["open", &link, "--json"]).ok();

    // Bad input: an unknown account, a malformed reference, an unknown field.
    for (body, expected) in [
        (json!({"account": "nobody@example.org"}), (404, "not_found")),
        (json!({"account": "not an id"}), (400, "malformed_request")),
        (
            json!({"account": owner_id, "extra": 1}),
            (400, "malformed_request"),
        ),
    ] {
        let (status, answer) = api
            .call(
                reqwest::Method::POST,
                "/accounts/disable",
                Some(ADMIN_TOKEN),
                Some(body),
            )
            .await;
        assert_eq!(
            (status, answer["error"]["code"].as_str().unwrap()),
            expected
        );
    }

    // The effective configuration, secrets redacted.
    let (status, config) = api
        .call(reqwest::Method::GET, "/config", Some(ADMIN_TOKEN), None)
        .await;
    assert_eq!(status, 200);
    assert_eq!(config["settings"]["admin_token"], "(redacted)");
    assert_eq!(config["settings"]["invite_only"], true);
    assert!(!config.to_string().contains(ADMIN_TOKEN));

    let (status, deleted) = api
        .call(
            reqwest::Method::POST,
            "/accounts/delete",
            Some(ADMIN_TOKEN),
            Some(json!({"account": owner_id})),
        )
        .await;
    assert_eq!((status, deleted["records"].as_u64()), (200, Some(1)));
    bob.run(&["open", &link]).code(3);

    // Every action was logged, none with an id, email, code or the token.
    let log = server.log();
    for line in [
        "invitation created",
        "account disabled",
        "account enabled",
        "account deleted",
        "configuration shown",
    ] {
        assert!(log.contains(line), "{line} is logged:\n{log}");
    }
    for secret in [
        ADMIN_TOKEN,
        code.as_str(),
        owner_id.as_str(),
        "owner.api@example.org",
        created["id"].as_str().unwrap(),
    ] {
        assert!(!log.contains(secret), "{secret} in the log:\n{log}");
    }
    // The document lists the admin routes and their codes.
    let doc: Value = reqwest::get(format!("{}/api/v1/openapi.json", server.url))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(doc["paths"]["/api/v1/admin/accounts/disable"]["post"].is_object());
    assert!(doc["components"]["securitySchemes"]["admin"].is_object());
}

/// The same commands on PostgreSQL, with a node running on it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn admin_cli_works_on_postgresql() {
    let database = sharelock_store::postgres::test_cluster::fresh_database().await;
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start_node(
        "127.0.0.1:0",
        dir.path().join("data"),
        &[("SHARELOCK_DATABASE_URL", database.url())],
    );
    let env = [("SHARELOCK_DATABASE_URL", database.url())];
    let owner = Home::new(&server);
    owner.register("owner.pg@example.org");
    let list = admin(None, &["accounts", "list", "--json"], &env)
        .ok()
        .json();
    assert_eq!(account_of(&list, "owner.pg@example.org")["state"], "active");
    admin(None, &["accounts", "disable", "owner.pg@example.org"], &env).ok();
    owner.run(&["record", "list"]).code(5);
    login(&owner, "owner.pg@example.org").code(12);
    admin(None, &["accounts", "enable", "owner.pg@example.org"], &env).ok();
    login(&owner, "owner.pg@example.org").ok();
    let code = admin(None, &["invite", "create", "--json"], &env)
        .ok()
        .json()["code"]
        .as_str()
        .unwrap()
        .to_owned();
    let invites = admin(None, &["invite", "list", "--json"], &env).ok().json();
    assert_eq!(invites["invites"][0]["state"], "unused");
    assert_eq!(code.len(), 43);
    let config = admin(None, &["config"], &env).ok().stdout;
    assert!(config.contains("(redacted)"), "{config}");
    assert!(!config.contains(database.url()), "{config}");
    let deleted = admin(
        None,
        &[
            "accounts",
            "delete",
            "owner.pg@example.org",
            "--yes",
            "--json",
        ],
        &env,
    )
    .ok()
    .json();
    assert_eq!(deleted["records"], 0);
    login(&owner, "owner.pg@example.org").code(5);
}
