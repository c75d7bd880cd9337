//! The request edge under abuse (issue 9: authenticate before buffering, slow clients, bounds on uploads,
//! the per-address limiter behind proxies), against the real `sharelock serve` binary. Requests are made
//! by hand over TCP where a client library would hide what is tested: a head sent without its body, a body
//! that stalls, a connection that says nothing.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::TestServer;
use common::raw::{Signer, closed_within, read_response, send_head};
use sharelock_client::api::shares::Expiry;
use sharelock_client::core::device::DeviceKey;
use sharelock_client::core::record::{RecordBody, RecordType};
use sharelock_client::core::share::{LinkSecret, ShareId, ShareKeys};
use sharelock_client::{DeviceStore, MemoryDeviceStore, Recipient, ShareOptions};
use std::time::Duration;
use tokio::io::AsyncWriteExt;

const PASSWORD: &str = "correct horse battery staple";
/// Long enough for any answer the server gives without waiting for a body; far shorter than any wait for
/// a body that never comes.
const PROMPT: Duration = Duration::from_secs(5);

/// A share of a fresh record, opened (bound) by one device: its id and that device's key.
async fn bound_share(server: &TestServer, email: &str, editable: bool) -> (ShareId, DeviceKey) {
    sharelock_client::register(&server.url, email, PASSWORD)
        .await
        .unwrap();
    let mut owner = sharelock_client::login(&server.url, email, PASSWORD)
        .await
        .unwrap();
    let record = owner
        .create_record(&RecordBody::new(RecordType::Note, "edge"))
        .await
        .unwrap();
    let share = owner
        .create_share(
            record,
            ShareOptions {
                expires: Expiry::InSeconds(3600),
                editable,
                burn_after_secs: None,
                label: None,
                passphrase: None,
                view_once: false,
                from: None,
                destroy_after_secs: None,
            },
        )
        .await
        .unwrap();
    let device = MemoryDeviceStore::new();
    Recipient::open(&share.link, None, &device).await.unwrap();
    let id = ShareKeys::derive(LinkSecret::from_bytes(*share.link.secret.expose()), None)
        .unwrap()
        .share_id();
    let key = device.load(&id).unwrap().expect("the device keeps its key");
    (id, key)
}

/// A session token for `email` (registered with [`PASSWORD`] and the default KDF parameters), by hand.
async fn bearer_token(server: &TestServer, email: &str) -> String {
    use sharelock_client::core::account::{KdfParams, MasterKey};
    use sharelock_client::core::encoding::{b64u, b64u_decode_array};
    let client = reqwest::Client::new();
    let url = |path: &str| format!("{}/api/v1{path}", server.url);
    let pre: serde_json::Value = client
        .post(url("/accounts/prelogin"))
        .json(&serde_json::json!({ "email": email }))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let salt: [u8; 16] = b64u_decode_array("kdf_salt", pre["kdf_salt"].as_str().unwrap()).unwrap();
    let master = MasterKey::derive(PASSWORD, email, &salt, &KdfParams::DEFAULT).unwrap();
    let session: serde_json::Value = client
        .post(url("/sessions"))
        .json(&serde_json::json!({ "email": email, "auth_key": b64u(master.auth_key().expose()) }))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    session["token"].as_str().unwrap().to_owned()
}

fn part_path() -> String {
    format!("/recipient/files/{}/parts/0", uuid::Uuid::new_v4())
}

/// Sends `head` and nothing more; the answer must come without the body.
async fn answer_without_body(server: &TestServer, head: &str) -> common::raw::Response {
    let mut stream = send_head(&server.addr(), head).await;
    read_response(&mut stream, PROMPT)
        .await
        .expect("the server answers before any body byte arrives")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bodies_are_read_only_after_the_request_is_authenticated() {
    let server = TestServer::start_with(&[("SHARELOCK_RATE_LIMIT_PER_MINUTE", "1000")]);
    let (editable, key) = bound_share(&server, "edge-a@example.org", true).await;
    let (read_only, read_only_key) = bound_share(&server, "edge-b@example.org", false).await;
    let stranger = DeviceKey::generate().unwrap();
    let sixteen_mib = 16 * 1024 * 1024;
    let body = vec![0x5a; 1000];

    // Each of these declares a 16 MiB part and sends none of it: every refusal comes at once.
    let unknown = ShareId::from_bytes([9; 16]);
    let cases = [
        ("unknown share", &unknown, &stranger, 404, "not_found"),
        (
            "another key",
            &editable,
            &stranger,
            401,
            "invalid_signature",
        ),
        (
            "read-only share",
            &read_only,
            &read_only_key,
            403,
            "share_not_editable",
        ),
    ];
    for (what, share, signer_key, status, code) in cases {
        let signer = Signer {
            url: &server.url,
            share,
            key: signer_key,
            created: None,
        };
        let head = signer.head("PUT", &part_path(), Some(&body), sixteen_mib);
        let response = answer_without_body(&server, &head).await;
        assert_eq!(
            (response.status, response.code().as_str()),
            (status, code),
            "{what}: {response:?}"
        );
    }
    let signer = Signer {
        url: &server.url,
        share: &editable,
        key: &key,
        created: None,
    };
    // Over the part limit by the declared length: refused before reading.
    let head = signer.head("PUT", &part_path(), Some(&body), sixteen_mib + 128 * 1024);
    let response = answer_without_body(&server, &head).await;
    assert_eq!(
        (response.status, response.code().as_str()),
        (413, "payload_too_large")
    );
    // Authenticated, then the body is read while hashing: other bytes than the signed digest are refused.
    let head = signer.head("PUT", &part_path(), Some(&body), body.len());
    let mut stream = send_head(&server.addr(), &head).await;
    stream.write_all(&vec![0x5b; body.len()]).await.unwrap();
    let response = read_response(&mut stream, PROMPT).await.unwrap();
    assert_eq!(
        (response.status, response.code().as_str()),
        (401, "invalid_signature"),
        "{response:?}"
    );
    assert!(
        response.body.contains("Content-Digest"),
        "{}",
        response.body
    );
    let head = signer.head("PUT", &part_path(), Some(&body), body.len());
    let mut stream = send_head(&server.addr(), &head).await;
    stream.write_all(&body).await.unwrap();
    let response = read_response(&mut stream, PROMPT).await.unwrap();
    assert_eq!(response.status, 204, "{response:?}");

    // Bind is signed by the key in its body: a stale signature is refused before that body is read.
    let newcomer = DeviceKey::generate().unwrap();
    let stale = Signer {
        url: &server.url,
        share: &editable,
        key: &newcomer,
        created: Some(time::OffsetDateTime::now_utc().unix_timestamp() - 600),
    };
    let head = stale.head("POST", "/recipient/bind", Some(b"{}"), 60_000);
    let response = answer_without_body(&server, &head).await;
    assert_eq!(
        (response.status, response.code().as_str()),
        (401, "stale_request"),
        "{response:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_address_limit_comes_before_the_body() {
    let server = TestServer::start_with(&[("SHARELOCK_RATE_LIMIT_PER_MINUTE", "1")]);
    let prelogin = |length: usize| {
        format!(
            "POST /api/v1/accounts/prelogin HTTP/1.1\r\nhost: {}\r\ncontent-type: application/json\r\n\
             content-length: {length}\r\n\r\n",
            server.addr()
        )
    };
    let body = br#"{"email":"limit@example.org"}"#;
    let mut stream = send_head(&server.addr(), &prelogin(body.len())).await;
    stream.write_all(body).await.unwrap();
    let first = read_response(&mut stream, PROMPT).await.unwrap();
    assert_eq!(first.status, 200, "{first:?}");
    let refused = answer_without_body(&server, &prelogin(60_000)).await;
    assert_eq!(
        (refused.status, refused.code().as_str()),
        (429, "too_many_attempts"),
        "{refused:?}"
    );
    assert!(refused.header("retry-after").is_some());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slow_clients_are_cut_off() {
    let server = TestServer::start_with(&[
        ("SHARELOCK_HEADER_READ_TIMEOUT", "1s"),
        ("SHARELOCK_BODY_READ_TIMEOUT", "2s"),
    ]);
    let (share, key) = bound_share(&server, "slow@example.org", true).await;
    let addr = server.addr();
    // An owner's event stream outlives the header timeout: it is a response, not a wait for a head.
    let token = bearer_token(&server, "slow@example.org").await;
    let mut events = reqwest::Client::new()
        .get(format!("{}/api/v1/events", server.url))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(events.status().as_u16(), 200);
    let stream_opened = std::time::Instant::now();

    // A connection that says nothing, one that stops inside its head, one that trickles its head.
    let mut silent = tokio::net::TcpStream::connect(&addr).await.unwrap();
    let mut partial = send_head(&addr, "GET /healthz HTTP/1.1\r\nhost: x\r\n").await;
    let mut trickle = tokio::net::TcpStream::connect(&addr).await.unwrap();
    let trickling = tokio::spawn(async move {
        for byte in b"GET /healthz HTTP/1.1\r\nx-slow: ".iter().cycle() {
            if trickle.write_all(&[*byte]).await.is_err() {
                return true;
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        false
    });
    assert!(
        closed_within(&mut silent, PROMPT).await,
        "a silent connection is closed"
    );
    assert!(
        closed_within(&mut partial, PROMPT).await,
        "a connection that stops inside its head is closed"
    );
    let trickle_cut = tokio::time::timeout(PROMPT * 2, trickling).await;
    assert!(
        matches!(trickle_cut, Ok(Ok(true))),
        "a trickled head is cut off at the header timeout, whatever its pace"
    );

    // A body that stalls after its first bytes gets 408 at the body timeout.
    let signer = Signer {
        url: &server.url,
        share: &share,
        key: &key,
        created: None,
    };
    let declared = vec![1u8; 1024 * 1024];
    let head = signer.head("PUT", &part_path(), Some(&declared), declared.len());
    let mut stream = send_head(&addr, &head).await;
    stream.write_all(&declared[..4096]).await.unwrap();
    let started = std::time::Instant::now();
    let response = read_response(&mut stream, PROMPT * 2)
        .await
        .expect("a stalled body is answered");
    assert_eq!(
        (response.status, response.code().as_str()),
        (408, "request_timeout"),
        "{response:?}"
    );
    assert!(started.elapsed() >= Duration::from_millis(1500));

    // Meanwhile the server serves, and the event stream opened before all this still delivers.
    let health = reqwest::get(format!("{}/healthz", server.url))
        .await
        .unwrap();
    assert_eq!(health.status().as_u16(), 200);
    // Three header timeouts after the stream opened.
    tokio::time::sleep_until((stream_opened + Duration::from_secs(3)).into()).await;
    let mut end = send_head(
        &addr,
        &signer.head("POST", "/recipient/end", Some(b"{}"), 2),
    )
    .await;
    end.write_all(b"{}").await.unwrap();
    let ended = read_response(&mut end, PROMPT).await.unwrap();
    assert_eq!(ended.status, 204, "{ended:?}");
    let mut seen = String::new();
    while !seen.contains("share_ended") {
        let chunk = tokio::time::timeout(PROMPT, events.chunk())
            .await
            .expect("the event arrives")
            .expect("the stream is still open")
            .expect("the stream did not end");
        seen.push_str(&String::from_utf8_lossy(&chunk));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn uploads_beyond_the_bounds_are_told_to_wait() {
    let budget = 17 * 1024 * 1024;
    let server = TestServer::start_with(&[
        ("SHARELOCK_MAX_CONCURRENT_UPLOADS", "2"),
        ("SHARELOCK_MAX_INFLIGHT_BYTES", &budget.to_string()),
        ("SHARELOCK_BODY_READ_TIMEOUT", "60s"),
    ]);
    let (share, key) = bound_share(&server, "busy@example.org", true).await;
    let addr = server.addr();
    let signer = Signer {
        url: &server.url,
        share: &share,
        key: &key,
        created: None,
    };
    // Upload A declares 16 MiB and sends 1 MiB: it holds an upload slot and 16 MiB of the byte budget.
    let a_body = vec![7u8; 16 * 1024 * 1024];
    let mut a = send_head(
        &addr,
        &signer.head("PUT", &part_path(), Some(&a_body), a_body.len()),
    )
    .await;
    a.write_all(&a_body[..1024 * 1024]).await.unwrap();
    wait_for_gauge(&server, "sharelock_uploads_receiving", 1).await;

    let busy_check = |response: &common::raw::Response| {
        assert_eq!(
            (response.status, response.code().as_str()),
            (503, "server_busy"),
            "{response:?}"
        );
        assert!(response.header("retry-after").is_some(), "{response:?}");
    };
    // B would need 2 MiB more than the budget has left.
    let b_body = vec![8u8; 2 * 1024 * 1024];
    let b = answer_without_body(
        &server,
        &signer.head("PUT", &part_path(), Some(&b_body), b_body.len()),
    )
    .await;
    busy_check(&b);
    // C fits the budget and takes the second upload slot; D then finds both slots taken.
    let c_body = vec![9u8; 100 * 1024];
    let mut c = send_head(
        &addr,
        &signer.head("PUT", &part_path(), Some(&c_body), c_body.len()),
    )
    .await;
    c.write_all(&c_body[..1024]).await.unwrap();
    wait_for_gauge(&server, "sharelock_uploads_receiving", 2).await;
    let d_body = vec![10u8; 1024];
    let d = answer_without_body(
        &server,
        &signer.head("PUT", &part_path(), Some(&d_body), d_body.len()),
    )
    .await;
    busy_check(&d);

    // When A and C finish, the bounds are free again.
    a.write_all(&a_body[1024 * 1024..]).await.unwrap();
    c.write_all(&c_body[1024..]).await.unwrap();
    for (name, stream) in [("A", &mut a), ("C", &mut c)] {
        let response = read_response(stream, PROMPT * 4).await.unwrap();
        assert_eq!(response.status, 204, "{name}: {response:?}");
    }
    let mut d = send_head(
        &addr,
        &signer.head("PUT", &part_path(), Some(&d_body), d_body.len()),
    )
    .await;
    d.write_all(&d_body).await.unwrap();
    let response = read_response(&mut d, PROMPT).await.unwrap();
    assert_eq!(response.status, 204, "{response:?}");
}

/// Waits (at most 20 s) until the server's metrics show `gauge` at `value`.
async fn wait_for_gauge(server: &TestServer, gauge: &str, value: u64) {
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    loop {
        let metrics = reqwest::get(format!("{}/metrics", server.url))
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        let now = metrics.lines().find_map(|line| {
            let rest = line.strip_prefix(gauge)?.strip_prefix(' ')?;
            rest.trim().parse::<f64>().ok()
        });
        if now == Some(value as f64) {
            return;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "{gauge} stayed at {now:?}, not {value}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Pre-login requests from the test's own address, claiming a client address in `X-Forwarded-For`: the
/// statuses of the answers.
async fn prelogins_claiming(server: &TestServer, forwarded_for: &[&str]) -> Vec<u16> {
    let client = reqwest::Client::new();
    let mut statuses = Vec::new();
    for claimed in forwarded_for {
        let response = client
            .post(format!("{}/api/v1/accounts/prelogin", server.url))
            .header("x-forwarded-for", *claimed)
            .json(&serde_json::json!({"email": "who@example.org"}))
            .send()
            .await
            .unwrap();
        statuses.push(response.status().as_u16());
    }
    statuses
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_address_limiter_groups_ipv6_and_believes_only_trusted_proxies() {
    // Behind a trusted proxy (the test's loopback address), clients are told apart by the header.
    let proxied = TestServer::start_with(&[
        ("SHARELOCK_RATE_LIMIT_PER_MINUTE", "2"),
        ("SHARELOCK_TRUSTED_PROXIES", "127.0.0.1/32, ::1"),
    ]);
    let statuses = prelogins_claiming(
        &proxied,
        &[
            "2001:db8:1:2::1",
            "2001:db8:1:2::2",
            // A third address of the same /64 shares its bucket.
            "2001:db8:1:2:ffff::3",
            // Another /64, another client.
            "2001:db8:1:3::1",
            // What the client wrote to the left of the address the proxy saw is not believed.
            "198.51.100.1, 203.0.113.7",
            "198.51.100.2, 203.0.113.7",
            "198.51.100.3, 203.0.113.7",
        ],
    )
    .await;
    assert_eq!(statuses, [200, 200, 429, 200, 200, 200, 429]);

    // Without trusted proxies the header is ignored: every request is the test's own address.
    let direct = TestServer::start_with(&[("SHARELOCK_RATE_LIMIT_PER_MINUTE", "2")]);
    let statuses =
        prelogins_claiming(&direct, &["198.51.100.1", "198.51.100.2", "198.51.100.3"]).await;
    assert_eq!(statuses, [200, 200, 429]);

    // A header from a peer that is not a trusted proxy is ignored too.
    let elsewhere = TestServer::start_with(&[
        ("SHARELOCK_RATE_LIMIT_PER_MINUTE", "2"),
        ("SHARELOCK_TRUSTED_PROXIES", "10.0.0.0/8"),
    ]);
    let statuses = prelogins_claiming(
        &elsewhere,
        &["198.51.100.1", "198.51.100.2", "198.51.100.3"],
    )
    .await;
    assert_eq!(statuses, [200, 200, 429]);
}

// --- quotas, immutable files and the sweep of unfinished uploads (issue 9 items 4 and 6) ---

/// Every object under the server's local blob directory.
fn blob_objects(server: &TestServer) -> Vec<std::path::PathBuf> {
    fn walk(dir: &std::path::Path, out: &mut Vec<std::path::PathBuf>) {
        let Ok(entries) = std::fs::read_dir(dir) else {
            return;
        };
        for entry in entries.flatten() {
            let path = entry.path();
            if path.is_dir() {
                walk(&path, out);
            } else {
                out.push(path);
            }
        }
    }
    let mut out = Vec::new();
    walk(&server.data_dir().join("blobs"), &mut out);
    out
}

/// A count from the server's SQLite database, read beside the running server.
fn count(server: &TestServer, sql: &str) -> i64 {
    let db = rusqlite::Connection::open_with_flags(
        server.data_dir().join("sharelock.db"),
        rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY,
    )
    .unwrap();
    db.busy_timeout(Duration::from_secs(10)).unwrap();
    db.query_row(sql, [], |row| row.get(0)).unwrap()
}

/// An owner's session on a fresh account with one record: (bearer token, record id).
async fn owner_with_record(server: &TestServer, email: &str) -> (String, uuid::Uuid) {
    sharelock_client::register(&server.url, email, PASSWORD)
        .await
        .unwrap();
    let mut owner = sharelock_client::login(&server.url, email, PASSWORD)
        .await
        .unwrap();
    let record = owner
        .create_record(&RecordBody::new(RecordType::Note, "files"))
        .await
        .unwrap();
    (bearer_token(server, email).await, record)
}

/// The owner's part upload: status and error code (empty on success).
async fn owner_put(
    server: &TestServer,
    token: &str,
    record: uuid::Uuid,
    file: uuid::Uuid,
    part: u32,
    body: Vec<u8>,
) -> (u16, String) {
    let response = reqwest::Client::new()
        .put(format!(
            "{}/api/v1/records/{record}/files/{file}/parts/{part}",
            server.url
        ))
        .bearer_auth(token)
        .header("content-type", "application/octet-stream")
        .body(body)
        .send()
        .await
        .unwrap();
    answer(response).await
}

async fn owner_complete(
    server: &TestServer,
    token: &str,
    record: uuid::Uuid,
    file: uuid::Uuid,
    parts: u32,
    size: u64,
) -> (u16, String) {
    let response = reqwest::Client::new()
        .post(format!(
            "{}/api/v1/records/{record}/files/{file}/complete",
            server.url
        ))
        .bearer_auth(token)
        .json(&serde_json::json!({ "parts": parts, "size": size }))
        .send()
        .await
        .unwrap();
    answer(response).await
}

async fn owner_download(
    server: &TestServer,
    token: &str,
    record: uuid::Uuid,
    file: uuid::Uuid,
) -> Vec<u8> {
    let response = reqwest::Client::new()
        .get(format!(
            "{}/api/v1/records/{record}/files/{file}",
            server.url
        ))
        .bearer_auth(token)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    response.bytes().await.unwrap().to_vec()
}

async fn answer(response: reqwest::Response) -> (u16, String) {
    let status = response.status().as_u16();
    let body: serde_json::Value = response.json().await.unwrap_or_default();
    let code = body["error"]["code"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    (status, code)
}

/// Uploads over the share's quota (its recipient) or the account's (the owner, whose quota counts the
/// recipient's bytes too) are refused with 413 and their codes, and store nothing: no object, no row.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn uploads_over_a_quota_are_refused_and_store_nothing() {
    let server = TestServer::start_with(&[
        ("SHARELOCK_ACCOUNT_QUOTA_BYTES", "300000"),
        ("SHARELOCK_SHARE_QUOTA_BYTES", "100000"),
    ]);
    let policy: serde_json::Value = reqwest::get(format!("{}/api/v1/policy", server.url))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(policy["account_quota_bytes"], 300_000);
    assert_eq!(policy["share_quota_bytes"], 100_000);

    let email = "quota@example.org";
    let (share, key) = bound_share(&server, email, true).await;
    let signer = Signer {
        url: &server.url,
        share: &share,
        key: &key,
        created: None,
    };
    let file = uuid::Uuid::new_v4();
    let mut statuses = Vec::new();
    for part in 0..2 {
        let body = vec![part as u8; 60_000];
        let path = format!("/recipient/files/{file}/parts/{part}");
        let mut stream = send_head(
            &server.addr(),
            &signer.head("PUT", &path, Some(&body), body.len()),
        )
        .await;
        stream.write_all(&body).await.unwrap();
        let response = read_response(&mut stream, PROMPT).await.unwrap();
        statuses.push((response.status, response.code()));
    }
    assert_eq!(statuses[0].0, 204, "{statuses:?}");
    assert_eq!(
        statuses[1],
        (413, "share_quota_exceeded".to_owned()),
        "60 000 + 60 000 bytes through a share allowed 100 000"
    );
    assert_eq!(blob_objects(&server).len(), 1);
    assert_eq!(count(&server, "SELECT count(*) FROM file_parts"), 1);

    // The owner: 60 000 of the account's 300 000 are the recipient's.
    let token = bearer_token(&server, email).await;
    let record: uuid::Uuid = {
        let list: serde_json::Value = reqwest::Client::new()
            .get(format!("{}/api/v1/records", server.url))
            .bearer_auth(&token)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        list["records"][0]["id"].as_str().unwrap().parse().unwrap()
    };
    let mine = uuid::Uuid::new_v4();
    assert_eq!(
        owner_put(&server, &token, record, mine, 0, vec![1; 200_000]).await,
        (204, String::new())
    );
    let refused = uuid::Uuid::new_v4();
    assert_eq!(
        owner_put(&server, &token, record, refused, 0, vec![2; 50_000]).await,
        (413, "quota_exceeded".to_owned())
    );
    assert_eq!(
        blob_objects(&server).len(),
        2,
        "nothing of the refused part"
    );
    assert_eq!(
        count(&server, "SELECT count(*) FROM files"),
        2,
        "no upload row"
    );
    assert_eq!(count(&server, "SELECT count(*) FROM file_parts"), 2);
    assert_eq!(
        owner_complete(&server, &token, record, refused, 1, 50_000).await,
        (404, "not_found".to_owned())
    );
    // What fits still goes in.
    assert_eq!(
        owner_put(&server, &token, record, mine, 1, vec![3; 40_000]).await,
        (204, String::new())
    );
}

/// Part uploads racing the file's completion: the bytes served right after completion are the bytes
/// served once every upload has finished, and never those of an upload that was refused.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_completed_file_never_changes() {
    const SIZE: usize = 8192;
    let server = TestServer::start();
    let (token, record) = owner_with_record(&server, "immutable@example.org").await;
    for round in 0..4u8 {
        let file = uuid::Uuid::new_v4();
        assert_eq!(
            owner_put(&server, &token, record, file, 0, vec![round; SIZE])
                .await
                .0,
            204
        );
        let uploads = futures::future::join_all((0..16u8).map(|i| {
            let token = token.clone();
            let server = &server;
            async move {
                let content = vec![100 + i; SIZE];
                let (status, _) = owner_put(server, &token, record, file, 0, content.clone()).await;
                (content, status)
            }
        }));
        let completion = async {
            let (status, code) =
                owner_complete(&server, &token, record, file, 1, SIZE as u64).await;
            assert_eq!(status, 204, "{code}");
            owner_download(&server, &token, record, file).await
        };
        let (uploads, at_completion) = futures::join!(uploads, completion);
        let later = owner_download(&server, &token, record, file).await;
        assert_eq!(at_completion, later, "the completed file changed");
        for (content, status) in &uploads {
            assert!(
                *status == 204 || *status == 409,
                "an upload answered {status}"
            );
            if *status == 409 {
                assert_ne!(&later, content, "a refused upload is served");
            }
        }
    }
    // Replaced and refused writes are deleted by the sweeper: in the end one object per file.
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    while blob_objects(&server).len() > 4 {
        assert!(
            std::time::Instant::now() < deadline,
            "replaced part writes were not deleted: {} objects",
            blob_objects(&server).len()
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// An upload never completed disappears after `upload_ttl`: its row, its part rows and its blobs; a
/// completed file stays.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unfinished_uploads_are_swept() {
    let server = TestServer::start_with(&[
        ("SHARELOCK_UPLOAD_TTL", "4s"),
        ("SHARELOCK_SWEEP_INTERVAL", "1s"),
    ]);
    let (token, record) = owner_with_record(&server, "sweep@example.org").await;
    let kept = uuid::Uuid::new_v4();
    assert_eq!(
        owner_put(&server, &token, record, kept, 0, vec![1; 1000])
            .await
            .0,
        204
    );
    assert_eq!(
        owner_complete(&server, &token, record, kept, 1, 1000)
            .await
            .0,
        204
    );
    let abandoned = uuid::Uuid::new_v4();
    for (part, byte) in [(0, 2u8), (1, 3), (0, 4)] {
        assert_eq!(
            owner_put(&server, &token, record, abandoned, part, vec![byte; 1000])
                .await
                .0,
            204
        );
    }
    assert_eq!(count(&server, "SELECT count(*) FROM files"), 2);

    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    loop {
        let left = (
            count(&server, "SELECT count(*) FROM files"),
            count(&server, "SELECT count(*) FROM file_parts"),
            count(&server, "SELECT count(*) FROM blob_garbage"),
            blob_objects(&server).len(),
        );
        if left == (1, 1, 0, 1) {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the unfinished upload is still there (files, parts, garbage, objects): {left:?}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert_eq!(
        owner_complete(&server, &token, record, abandoned, 2, 2000).await,
        (404, "not_found".to_owned())
    );
    assert_eq!(
        owner_download(&server, &token, record, kept).await,
        vec![1; 1000]
    );
}
