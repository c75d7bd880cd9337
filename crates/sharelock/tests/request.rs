//! Asking for a secret (docs/protocol.md §4.5) against the real binary: `sharelock request` as the sender,
//! `sharelock answer` as the respondent (one home directory each), the answer count the server enforces
//! (also for answers sent at once), the operator's switch, the server's refusals, and a server that
//! changes a request's instructions.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::TestServer;
use common::home::{Home, PASSWORD, Run};
use serde_json::{Value, json};
use sharelock_client::api::ErrorCode;
use sharelock_client::api::shares::Expiry;
use sharelock_client::core::encoding::b64u;
use sharelock_client::core::record::RecordType;
use sharelock_client::{
    MemoryDeviceStore, NoProgress, OwnerSession, Recipient, RequestOptions, ShareOptions,
};

/// Runs `sharelock --json ARGS` in `home`, with `input` on standard input.
fn run(home: &Home, args: &[&str], input: &str) -> Run {
    let mut all = vec!["--json"];
    all.extend_from_slice(args);
    home.run_input(&all, input)
}

#[test]
fn a_request_is_answered_once_from_the_cli_and_verified() {
    let server = TestServer::start();
    let ada = Home::new(&server);
    let bob = Home::new(&server);
    ada.register("ada@example.org");
    let created = run(
        &ada,
        &[
            "request",
            "create",
            "--type",
            "login",
            "--fields",
            "username,password,pin",
            "--title",
            "Bob's mail",
            "--instructions",
            "-",
            "--deadline",
            "1h",
        ],
        "Your mail login, please.\nThe PIN too.\n",
    )
    .ok()
    .json();
    let link = created["link"].as_str().unwrap().to_owned();
    let record = created["record_id"].as_str().unwrap().to_owned();
    let share = created["share"].as_str().unwrap().to_owned();
    assert_eq!(created["max_answers"], 1);

    // The respondent sees what is asked, and the fields, blank.
    let asked = run(&bob, &["answer", "-"], &format!("{link}\n"))
        .ok()
        .json();
    // Text of several lines from standard input is kept exactly, final line ending included.
    assert_eq!(
        asked["instructions"],
        "Your mail login, please.\nThe PIN too.\n"
    );
    assert_eq!(
        (asked["max_answers"].clone(), asked["answers"].clone()),
        (json!(1), json!(0))
    );
    let fields: Vec<(String, String, String)> = asked["record"]["fields"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            (
                f["name"].as_str().unwrap().to_owned(),
                f["kind"].as_str().unwrap().to_owned(),
                f["value"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    assert_eq!(
        fields,
        [
            ("username".into(), "text".into(), String::new()),
            ("password".into(), "secret".into(), String::new()),
            ("pin".into(), "text".into(), String::new()),
        ]
    );
    // Opening it bound Bob's device: the sender sees the request opened.
    let listed = run(&ada, &["request", "list"], "").ok().json();
    assert_eq!(listed["requests"][0]["state"], "opened, not answered");

    // A value the record refuses is refused before anything is sent.
    run(
        &bob,
        &["answer", "-", "--set", "username=a\u{7}b"],
        &format!("{link}\n"),
    )
    .code(2);

    let secret = bob.path().join("password.txt");
    std::fs::write(&secret, "s3cret-from-bob\n").unwrap();
    let attachment = bob.path().join("scan.txt");
    std::fs::write(&attachment, "the scan").unwrap();
    let sent = run(
        &bob,
        &[
            "answer",
            "-",
            "--set",
            "username=bob",
            "--set",
            &format!("password=@{}", secret.display()),
            "--notes",
            "from my phone",
            "--attach",
            &attachment.display().to_string(),
        ],
        &format!("{link}\n"),
    )
    .ok()
    .json();
    assert_eq!(sent["ended"], true);
    assert_eq!(sent["answers"], 1);

    // The request has ended: the link opens nowhere, the same device included.
    let stderr = run(&bob, &["answer", "-"], &format!("{link}\n"))
        .code(3)
        .stderr;
    assert!(stderr.contains("ended"), "{stderr}");

    // The sender's record holds the answer, in one version verified as written by Bob's device.
    let shown = run(&ada, &["record", "show", &record], "").ok().json();
    let values: Vec<(&str, &str)> = shown["record"]["fields"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| (f["name"].as_str().unwrap(), f["value"].as_str().unwrap()))
        .collect();
    assert_eq!(
        values,
        [
            ("username", "bob"),
            ("password", "s3cret-from-bob"),
            ("pin", "")
        ]
    );
    assert_eq!(shown["record"]["notes"], "from my phone");
    assert_eq!(shown["record"]["files"][0]["name"], "scan.txt");
    assert_eq!(shown["author"]["share"], share.as_str());
    assert!(shown["author"]["device_fingerprint"].is_string());
    assert_eq!(shown["version"], 3, "one version for the whole answer");

    let all = run(&ada, &["request", "list", "--all"], "").ok().json();
    let entry = &all["requests"][0];
    assert_eq!(entry["state"], "answered");
    assert_eq!(entry["end_reason"], "answered");
    assert_eq!(
        (entry["answers"].clone(), entry["max_answers"].clone()),
        (json!(1), json!(1))
    );
    assert_eq!(entry["device_verified"], true);
    assert_eq!(
        entry["device_fingerprint"],
        shown["author"]["device_fingerprint"]
    );
    assert_eq!(
        entry["instructions"],
        "Your mail login, please.\nThe PIN too.\n"
    );
    // Live requests only, by default: none left.
    let live = run(&ada, &["request", "list"], "").ok().json();
    assert_eq!(live["requests"], json!([]));
}

#[test]
fn several_answers_until_the_count_then_the_share_ends() {
    let server = TestServer::start();
    let ada = Home::new(&server);
    let bob = Home::new(&server);
    ada.register("ada@example.org");
    let created = run(
        &ada,
        &["request", "create", "--type", "wifi", "--edits", "2"],
        "",
    )
    .ok()
    .json();
    let link = format!("{}\n", created["link"].as_str().unwrap());
    let first = run(&bob, &["answer", "-", "--set", "ssid=Lab"], &link)
        .ok()
        .json();
    assert_eq!(
        (first["answers"].clone(), first["ended"].clone()),
        (json!(1), json!(false))
    );
    let second = run(&bob, &["answer", "-", "--set", "ssid=Lab-5G"], &link)
        .ok()
        .json();
    assert_eq!(
        (second["answers"].clone(), second["ended"].clone()),
        (json!(2), json!(true))
    );
    run(&bob, &["answer", "-", "--set", "ssid=again"], &link).code(3);
    let shown = run(
        &ada,
        &["record", "show", created["record_id"].as_str().unwrap()],
        "",
    )
    .ok()
    .json();
    assert_eq!(shown["record"]["fields"][0]["value"], "Lab-5G");
    // An ordinary share link is not a request.
    let share = run(
        &ada,
        &[
            "share",
            "create",
            created["record_id"].as_str().unwrap(),
            "--expires",
            "1h",
            "--editable",
        ],
        "",
    )
    .ok()
    .json();
    let stderr = run(
        &Home::new(&server),
        &["answer", "-"],
        &format!("{}\n", share["link"].as_str().unwrap()),
    )
    .code(2)
    .stderr;
    assert!(stderr.contains("not a request"), "{stderr}");
}

fn request_options(max_answers: u32) -> RequestOptions {
    RequestOptions {
        record_type: RecordType::Note,
        title: "Recovery code".into(),
        fields: Vec::new(),
        instructions: "The recovery code, please".into(),
        max_answers,
        expires: Expiry::InSeconds(3600),
        label: None,
        passphrase: None,
    }
}

/// Two submissions sent at once through the same device (two tabs, two terminals): the server takes
/// exactly one; the other learns the request has ended.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn answers_sent_together_only_one_is_taken() {
    let server = TestServer::start();
    let mut ada = sharelock_client::register(&server.url, "ada@example.org", PASSWORD)
        .await
        .unwrap();
    for round in 0..4 {
        let created = ada.create_request(request_options(1)).await.unwrap();
        let devices = MemoryDeviceStore::new();
        let mut first = Recipient::open(&created.share.link, None, &devices)
            .await
            .unwrap();
        let mut second = Recipient::open(&created.share.link, None, &devices)
            .await
            .unwrap();
        assert_eq!(
            first.request().unwrap().instructions,
            "The recovery code, please"
        );
        let notes_a = format!("a{round}");
        let notes_b = format!("b{round}");
        let (a, b) = tokio::join!(
            first.answer(&[], Some(&notes_a), &[], &NoProgress),
            second.answer(&[], Some(&notes_b), &[], &NoProgress),
        );
        let (won, lost) = match (a, b) {
            (Ok(_), Err(e)) => (notes_a, e),
            (Err(e), Ok(_)) => (notes_b, e),
            other => panic!("exactly one answer must be taken: {other:?}"),
        };
        assert!(
            lost.is(ErrorCode::ShareEnded) || lost.is(ErrorCode::VersionConflict),
            "{lost}"
        );
        let view = ada.show_record(created.record_id).await.unwrap();
        assert_eq!(view.body.notes, won);
        let shares = ada.list_shares(Some(created.record_id)).await.unwrap();
        assert_eq!(shares[0].edit_count, 1);
        assert_eq!(shares[0].end_reason.as_deref(), Some("answered"));
    }
}

/// A new record made over raw HTTP, and the JSON of a share of it as a client would send it (editable,
/// no request yet), with where and how to send that: for tests that send what a client would not.
struct RawShare {
    url: String,
    token: String,
    json: Value,
}

async fn raw_share(ada: &OwnerSession, server: &TestServer) -> RawShare {
    let body = sharelock_client::core::request::blank_body(RecordType::Note, "x", &[]).unwrap();
    let prepared = ada
        .prepare_record_and_share(
            &body,
            &ShareOptions {
                expires: Expiry::InSeconds(3600),
                editable: true,
                burn_after_secs: None,
                label: None,
                passphrase: None,
                view_once: false,
                from: None,
                destroy_after_secs: None,
            },
        )
        .unwrap();
    let record = reqwest::Client::new()
        .post(format!("{}/api/v1{}", server.url, prepared.record.path))
        .bearer_auth(prepared.record.bearer.as_str())
        .header("content-type", "application/json")
        .body(prepared.record.json.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(record.status(), 201);
    RawShare {
        url: format!("{}/api/v1{}", server.url, prepared.share.path),
        token: prepared.share.bearer.to_string(),
        json: serde_json::from_slice(&prepared.share.json).unwrap(),
    }
}

async fn post(share: &RawShare) -> (u16, Value) {
    let response = reqwest::Client::new()
        .post(&share.url)
        .bearer_auth(&share.token)
        .header("content-type", "application/json")
        .body(serde_json::to_vec(&share.json).unwrap())
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or(Value::Null))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_server_refuses_what_a_request_may_not_be() {
    let server = TestServer::start();
    let ada = sharelock_client::register(&server.url, "ada@example.org", PASSWORD)
        .await
        .unwrap();
    assert!(ada.policy().await.unwrap().requests);
    let box_of = |n: usize| json!(b64u(&vec![7u8; n]));
    let cases: [(&str, Value, u16, &str); 5] = [
        (
            "not editable",
            json!({"editable": false, "request": {"max_answers": 1, "instructions": box_of(284)}}),
            400,
            "malformed_request",
        ),
        (
            "view once",
            json!({"view_once": true, "request": {"max_answers": 1, "instructions": box_of(284)}}),
            400,
            "malformed_request",
        ),
        (
            "no answers",
            json!({"request": {"max_answers": 0, "instructions": box_of(284)}}),
            400,
            "malformed_request",
        ),
        (
            "101 answers",
            json!({"request": {"max_answers": 101, "instructions": box_of(284)}}),
            400,
            "malformed_request",
        ),
        (
            "a box of a block and a byte",
            json!({"request": {"max_answers": 1, "instructions": box_of(285)}}),
            400,
            "malformed_request",
        ),
    ];
    for (name, change, status, code) in cases {
        let mut share = raw_share(&ada, &server).await;
        for (k, v) in change.as_object().unwrap() {
            share.json[k] = v.clone();
        }
        let (got, body) = post(&share).await;
        assert_eq!(
            (got, body["error"]["code"].as_str()),
            (status, Some(code)),
            "{name}"
        );
    }
    // The same request, well formed, is taken.
    let mut share = raw_share(&ada, &server).await;
    share.json["request"] = json!({"max_answers": 3, "instructions": box_of(284 + 256)});
    assert_eq!(post(&share).await.0, 201);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_operator_can_turn_requests_off() {
    let server = TestServer::start_with(&[("SHARELOCK_REQUESTS", "false")]);
    let mut ada = sharelock_client::register(&server.url, "ada@example.org", PASSWORD)
        .await
        .unwrap();
    let policy = ada.policy().await.unwrap();
    assert!(!policy.requests && policy.editable_shares);
    // The client stops before creating anything…
    let refused = ada.create_request(request_options(1)).await.unwrap_err();
    assert!(
        refused.to_string().contains("does not allow requests"),
        "{refused}"
    );
    assert!(ada.list_records().await.unwrap().is_empty());
    // …and the server refuses one sent anyway.
    let mut share = raw_share(&ada, &server).await;
    share.json["request"] = json!({"max_answers": 1, "instructions": b64u(&[7; 284])});
    let (status, body) = post(&share).await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (403, Some("forbidden_by_policy"))
    );
    // Ordinary editable shares still work.
    assert_eq!(post(&raw_share(&ada, &server).await).await.0, 201);
    // The CLI says so in one line, with the usage exit code.
    let home = Home::new(&server);
    home.run_env(
        &["login", "--email", "ada@example.org"],
        &[("SHARELOCK_PASSWORD", PASSWORD)],
    )
    .ok();
    let stderr = run(&home, &["request", "create", "--type", "wifi"], "")
        .code(2)
        .stderr;
    assert!(stderr.contains("does not allow requests"), "{stderr}");
}

/// A server that swaps a request's instructions (or its stated number of answers) cannot make them
/// open: the respondent refuses the request, and the sender sees the instructions do not verify.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn changed_instructions_are_refused() {
    let server = TestServer::start();
    let mut ada = sharelock_client::register(&server.url, "ada@example.org", PASSWORD)
        .await
        .unwrap();
    let created = ada.create_request(request_options(1)).await.unwrap();
    let handle = created.share.handle.as_bytes().to_vec();
    assert_eq!(
        server.tamper(
            "UPDATE shares SET request_max_answers = 5 WHERE handle = ?1",
            [&handle],
        ),
        1
    );
    let devices = MemoryDeviceStore::new();
    let refused = Recipient::open(&created.share.link, None, &devices)
        .await
        .unwrap_err();
    assert!(
        refused.to_string().contains("decrypt") || refused.to_string().contains("altered"),
        "{refused}"
    );
    let shares = ada.list_shares(Some(created.record_id)).await.unwrap();
    let request = shares[0].request.as_ref().unwrap();
    assert_eq!(request.max_answers, 5);
    assert!(request.instructions.is_err());
}
