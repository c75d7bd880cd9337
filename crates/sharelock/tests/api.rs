//! The server's whole story over HTTP (issue 3): the real `sharelock serve` binary on a loopback port,
//! driven by the client library (which is the core crate's keys and formats over reqwest) and, for the
//! attacks, by hand-made signed requests.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::TestServer;
use futures::StreamExt;
use sharelock_client::api::ErrorCode;
use sharelock_client::api::events::EventKind;
use sharelock_client::api::shares::Expiry;
use sharelock_client::core::httpsig::{RequestParts, content_digest, sign};
use sharelock_client::core::record::{RecordBody, RecordType};
use sharelock_client::core::share::{Link, LinkSecret, ShareId, ShareKeys};
use sharelock_client::{
    ClientError, DeviceStore, MemoryDeviceStore, OwnerSession, Recipient, ShareOptions,
};
use std::time::{Duration, Instant};

const PASSWORD: &str = "correct horse battery staple";
/// Plaintext values that must never reach the server's disk or log.
const SECRET_PASSWORD: &str = "pl41ntext-Password-8c1e77";
const SECRET_USER: &str = "pl41ntext-user-2b9d@example.org";
const EDITED_PASSWORD: &str = "pl41ntext-Edited-f0a3d1";

fn login_body() -> RecordBody {
    let mut body = RecordBody::new(RecordType::Login, "pl41ntext-Title-Bank");
    body.set_field("username", SECRET_USER).unwrap();
    body.set_field("password", SECRET_PASSWORD).unwrap();
    body
}

fn options(expires_secs: u64, editable: bool) -> ShareOptions {
    ShareOptions {
        expires: Expiry::InSeconds(expires_secs),
        editable,
        burn_after_secs: None,
        label: Some("pl41ntext-Label".into()),
        passphrase: None,
        view_once: false,
        from: None,
        destroy_after_secs: None,
    }
}

fn field(body: &RecordBody, name: &str) -> String {
    body.field(name)
        .map(|f| f.value.to_string())
        .unwrap_or_default()
}

fn code_of<T: std::fmt::Debug>(result: Result<T, ClientError>) -> ErrorCode {
    match result {
        Ok(v) => panic!("expected an error, got {v:?}"),
        Err(e) => e
            .code()
            .unwrap_or_else(|| panic!("expected an API error, got {e}")),
    }
}

fn share_id_of(link: &Link) -> ShareId {
    ShareKeys::derive(LinkSecret::from_bytes(*link.secret.expose()), None)
        .unwrap()
        .share_id()
}

/// A signed request to the recipient API, built by hand so a test can replay or alter it.
struct Signed {
    method: reqwest::Method,
    url: String,
    headers: Vec<(&'static str, String)>,
    body: Option<Vec<u8>>,
}

impl Signed {
    fn new(
        server: &TestServer,
        share: &ShareId,
        device: &MemoryDeviceStore,
        path: &str,
        body: Option<Vec<u8>>,
    ) -> Self {
        let method = if body.is_some() {
            reqwest::Method::POST
        } else {
            reqwest::Method::GET
        };
        Self::with(
            server,
            share,
            device,
            method,
            path,
            body.map(|b| (b, "application/json")),
        )
    }

    fn with(
        server: &TestServer,
        share: &ShareId,
        device: &MemoryDeviceStore,
        method: reqwest::Method,
        path: &str,
        body: Option<(Vec<u8>, &'static str)>,
    ) -> Self {
        let key = device
            .load(share)
            .unwrap()
            .expect("the device has a key for the share");
        let url = format!("{}/api/v1{path}", server.url);
        let share_header = share.to_b64u();
        let digest = body.as_ref().map(|(bytes, _)| content_digest(bytes));
        let parts = RequestParts {
            method: method.as_str(),
            target_uri: &url,
            share_header: &share_header,
            content_type: body.as_ref().map(|(_, t)| *t),
            content_digest: digest.as_deref(),
        };
        let now = time::OffsetDateTime::now_utc().unix_timestamp();
        // Distinct per request is all a nonce needs here; the device key is what makes it unforgeable.
        let nonce = *uuid::Uuid::new_v4().as_bytes();
        let sig = sign(&key, &parts, now, nonce).unwrap();
        let mut headers = vec![
            ("sharelock-share", share_header.clone()),
            ("signature-input", sig.signature_input),
            ("signature", sig.signature),
        ];
        if let (Some(digest), Some((_, content_type))) = (digest, &body) {
            headers.push(("content-digest", digest));
            headers.push(("content-type", (*content_type).to_owned()));
        }
        Signed {
            method,
            url,
            headers,
            body: body.map(|(bytes, _)| bytes),
        }
    }

    /// Sends the request and hands back the response unread (for a stream).
    async fn open(&self) -> reqwest::Response {
        let mut request = reqwest::Client::new().request(self.method.clone(), &self.url);
        for (name, value) in &self.headers {
            request = request.header(*name, value);
        }
        request.send().await.unwrap()
    }

    async fn send(&self, body: Option<&[u8]>) -> (u16, String) {
        let mut request = reqwest::Client::new().request(self.method.clone(), &self.url);
        for (name, value) in &self.headers {
            request = request.header(*name, value);
        }
        if let Some(body) = body.or(self.body.as_deref()) {
            request = request.body(body.to_vec());
        }
        let response = request.send().await.unwrap();
        let status = response.status().as_u16();
        let text = response.text().await.unwrap();
        (status, text)
    }
}

fn error_code(body: &str) -> String {
    let v: serde_json::Value =
        serde_json::from_str(body).unwrap_or_else(|_| panic!("not JSON: {body}"));
    v["error"]["code"].as_str().unwrap_or_default().to_owned()
}

/// Searches every file under `dir` for `needle`.
fn found_in_dir(dir: &std::path::Path, needle: &[u8]) -> Vec<std::path::PathBuf> {
    let mut hits = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                stack.push(path);
            } else if std::fs::read(&path)
                .unwrap()
                .windows(needle.len())
                .any(|w| w == needle)
            {
                hits.push(path);
            }
        }
    }
    hits
}

async fn owner(server: &TestServer, email: &str) -> OwnerSession {
    sharelock_client::register(&server.url, email, PASSWORD)
        .await
        .unwrap();
    sharelock_client::login(&server.url, email, PASSWORD)
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_whole_story() {
    // A long sweep interval: expiry must hold without the sweeper.
    let server = TestServer::start_with(&[("SHARELOCK_SWEEP_INTERVAL", "1h")]);
    let mut alice = owner(&server, "alice@example.org").await;
    let wrong = sharelock_client::login(&server.url, "alice@example.org", "wrong password").await;
    assert_eq!(code_of(wrong), ErrorCode::InvalidCredentials);

    let record = alice.create_record(&login_body()).await.unwrap();
    let shown = alice.show_record(record).await.unwrap();
    assert_eq!(field(&shown.body, "password"), SECRET_PASSWORD);

    // Device A binds and reads; device B is refused; A reads again.
    let share = alice
        .create_share(record, options(3600, true))
        .await
        .unwrap();
    let link_text = share.link.to_string();
    let device_a = MemoryDeviceStore::new();
    let device_b = MemoryDeviceStore::new();
    let mut a = Recipient::open(&share.link, None, &device_a).await.unwrap();
    assert_eq!(field(a.body(), "password"), SECRET_PASSWORD);
    assert!(a.editable());
    let b = Recipient::open(&share.link, None, &device_b).await;
    assert_eq!(code_of(b), ErrorCode::ShareBoundToOtherDevice);
    let again = Recipient::open(&share.link, None, &device_a).await.unwrap();
    assert_eq!(field(again.body(), "username"), SECRET_USER);

    // The owner sees it opened by A's fingerprint.
    let listed = alice.list_shares(Some(record)).await.unwrap();
    let entry = listed
        .iter()
        .find(|s| s.handle == share.handle)
        .expect("the share is listed");
    assert_eq!(entry.device_fingerprint.as_deref(), Some(a.fingerprint()));

    // An edit through the share shows in the owner's record and history.
    let edited_version = a
        .set_fields(&[("password".into(), EDITED_PASSWORD.into())])
        .await
        .unwrap();
    let shown = alice.show_record(record).await.unwrap();
    assert_eq!(field(&shown.body, "password"), EDITED_PASSWORD);
    assert_eq!(shown.version, edited_version);
    let history = alice.record_history(record).await.unwrap();
    let last = history.last().expect("history");
    assert_eq!(last.version, edited_version);
    assert!(
        last.verification.is_verified(),
        "the recipient's version verifies: {:?}",
        last.verification
    );
    assert!(
        matches!(
            last.author,
            sharelock_client::api::records::Author::Share { .. }
        ),
        "{:?}",
        last.author
    );

    // Two edits on the same version: one wins, the other gets 409 with the current version.
    let mut first = Recipient::open(&share.link, None, &device_a).await.unwrap();
    let mut second = Recipient::open(&share.link, None, &device_a).await.unwrap();
    let won = first
        .set_fields(&[("notes-field".into(), "one".into())])
        .await
        .unwrap();
    let lost = second
        .set_fields(&[("notes-field".into(), "two".into())])
        .await;
    assert_eq!(won, edited_version + 1);
    match lost {
        Err(ClientError::Api {
            code: ErrorCode::VersionConflict,
            current_version,
            ..
        }) => {
            assert_eq!(current_version, Some(won));
        }
        other => panic!("expected a version conflict, got {other:?}"),
    }

    // A replayed state-changing request is refused (reads carry no side effect and are not nonce-checked,
    // docs/protocol.md §5.2); so is a body changed after signing.
    let share_id = share_id_of(&share.link);
    let part_path = format!("/recipient/files/{}/parts/0", uuid::Uuid::new_v4());
    let part = Signed::with(
        &server,
        &share_id,
        &device_a,
        reqwest::Method::PUT,
        &part_path,
        Some((vec![0x5a; 100], "application/octet-stream")),
    );
    let (status, body) = part.send(None).await;
    assert_eq!(status, 204, "{body}");
    let (status, body) = part.send(None).await;
    assert_eq!(
        (status, error_code(&body).as_str()),
        (409, "replayed_request")
    );
    let end = Signed::new(
        &server,
        &share_id,
        &device_a,
        "/recipient/end",
        Some(b"{}".to_vec()),
    );
    let (status, body) = end.send(Some(b"{ }")).await;
    assert_eq!(
        (status, error_code(&body).as_str()),
        (401, "invalid_signature")
    );
    assert!(
        Recipient::open(&share.link, None, &device_a).await.is_ok(),
        "the tampered end did nothing"
    );
    // A stale signature (made two minutes ago) is refused.
    let mut stale = Signed::new(&server, &share_id, &device_a, "/recipient/share", None);
    let old = time::OffsetDateTime::now_utc().unix_timestamp() - 120;
    let key = device_a.load(&share_id).unwrap().unwrap();
    let share_header = share_id.to_b64u();
    let parts = RequestParts {
        method: "GET",
        target_uri: &stale.url,
        share_header: &share_header,
        content_type: None,
        content_digest: None,
    };
    let sig = sign(&key, &parts, old, [7; 16]).unwrap();
    stale.headers = vec![
        ("sharelock-share", share_header.clone()),
        ("signature-input", sig.signature_input),
        ("signature", sig.signature),
    ];
    let (status, body) = stale.send(None).await;
    assert_eq!((status, error_code(&body).as_str()), (401, "stale_request"));

    // Delete ends it at once, for the bound device too.
    alice.delete_share(share.handle).await.unwrap();
    assert_eq!(
        code_of(Recipient::open(&share.link, None, &device_a).await),
        ErrorCode::ShareEnded
    );
    assert_eq!(fetch_status(&server, &share_id, &device_a).await, 410);

    // A share expires at its time, without waiting for the sweeper.
    let short = alice.create_share(record, options(2, false)).await.unwrap();
    let device_c = MemoryDeviceStore::new();
    let c = Recipient::open(&short.link, None, &device_c).await.unwrap();
    assert!(!c.editable());
    tokio::time::sleep(Duration::from_millis(3100)).await;
    assert_eq!(
        code_of(Recipient::open(&short.link, None, &device_c).await),
        ErrorCode::ShareEnded
    );
    let short_id = share_id_of(&short.link);
    assert_eq!(fetch_status(&server, &short_id, &device_c).await, 410);

    // Nothing secret on disk or in the log.
    let log = server.log();
    assert!(
        log.contains("/api/v1/recipient/share"),
        "the access log is written"
    );
    let secret_part = link_text.split_once('.').expect("link secret").1.to_owned();
    let short_secret = short.link.to_string().split_once('.').unwrap().1.to_owned();
    for needle in [
        SECRET_PASSWORD,
        SECRET_USER,
        EDITED_PASSWORD,
        PASSWORD,
        "pl41ntext",
        &secret_part,
        &short_secret,
    ] {
        assert!(!log.contains(needle), "the log holds {needle}");
        let hits = found_in_dir(&server.data_dir(), needle.as_bytes());
        assert!(hits.is_empty(), "{needle} found in {hits:?}");
    }
}

async fn fetch_status(server: &TestServer, share: &ShareId, device: &MemoryDeviceStore) -> u16 {
    Signed::new(server, share, device, "/recipient/share", None)
        .send(None)
        .await
        .0
}

/// Fifty devices open one link at once: exactly one binds. The others are told another device holds it,
/// or, when their attempt at T came while more than the free attempts were in flight (every attempt is
/// counted before it is judged, a right one too, until its judgement clears the count), to wait.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fifty_concurrent_binds_have_one_winner() {
    let server = TestServer::start_with(&[("SHARELOCK_RATE_LIMIT_PER_MINUTE", "100000")]);
    let mut bob = owner(&server, "bob@example.org").await;
    let record = bob.create_record(&login_body()).await.unwrap();
    let share = bob.create_share(record, options(600, false)).await.unwrap();
    let link = share.link.to_string();
    let tasks: Vec<_> = (0..50)
        .map(|_| {
            let link = link.clone();
            tokio::spawn(async move {
                let link = Link::parse(&link).unwrap();
                let device = MemoryDeviceStore::new();
                Recipient::open(&link, None, &device)
                    .await
                    .map(|r| r.fingerprint().to_owned())
            })
        })
        .collect();
    let mut winners = Vec::new();
    let (mut refused, mut held) = (0, 0);
    for task in tasks {
        match task.await.unwrap() {
            Ok(fingerprint) => winners.push(fingerprint),
            Err(e) if e.is(ErrorCode::ShareBoundToOtherDevice) => refused += 1,
            Err(e) if e.is(ErrorCode::TooManyAttempts) => held += 1,
            Err(e) => panic!("unexpected failure: {e}"),
        }
    }
    assert_eq!(winners.len(), 1, "exactly one device binds");
    assert_eq!(refused + held, 49);
    let listed = bob.list_shares(Some(record)).await.unwrap();
    let entry = listed.iter().find(|s| s.handle == share.handle).unwrap();
    assert_eq!(
        entry.device_fingerprint.as_deref(),
        Some(winners[0].as_str())
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn errors_are_json_and_headers_are_strict() {
    let server = TestServer::start_with(&[("SHARELOCK_SIGNUPS", "false")]);
    let client = reqwest::Client::new();

    let closed = sharelock_client::register(&server.url, "carol@example.org", PASSWORD).await;
    assert_eq!(code_of(closed), ErrorCode::SignupsClosed);

    let response = client
        .get(format!("{}/api/v1/records", server.url))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 401);
    let headers = response.headers().clone();
    assert_eq!(headers["referrer-policy"], "no-referrer");
    assert_eq!(headers["cache-control"], "no-store");
    let csp = headers["content-security-policy"].to_str().unwrap();
    assert!(
        csp.contains("default-src 'none'") && csp.contains("frame-ancestors 'none'"),
        "{csp}"
    );
    assert_eq!(error_code(&response.text().await.unwrap()), "unauthorized");

    // The two pages of the web app: HTML under the page policy (own scripts only, Trusted Types), never
    // cached; their assets cacheable forever; anything else under /assets a JSON 404.
    for page in ["/", "/s"] {
        let response = client
            .get(format!("{}{page}", server.url))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status().as_u16(), 200, "{page}");
        let headers = response.headers().clone();
        assert!(
            headers["content-type"]
                .to_str()
                .unwrap()
                .starts_with("text/html")
        );
        assert_eq!(headers["cache-control"], "no-store");
        assert_eq!(headers["referrer-policy"], "no-referrer");
        let csp = headers["content-security-policy"].to_str().unwrap();
        assert!(
            csp.contains("script-src 'self' 'wasm-unsafe-eval';")
                && csp.contains("require-trusted-types-for 'script'")
                && !csp.contains("unsafe-inline"),
            "{csp}"
        );
        let html = response.text().await.unwrap();
        let script = html
            .split("src=\"./")
            .nth(1)
            .and_then(|rest| rest.split('"').next())
            .expect("the page loads a script");
        let asset = client
            .get(format!("{}/{script}", server.url))
            .send()
            .await
            .unwrap();
        assert_eq!(asset.status().as_u16(), 200);
        assert!(
            asset.headers()["cache-control"]
                .to_str()
                .unwrap()
                .contains("immutable")
        );
    }
    let missing = client
        .get(format!("{}/assets/nothing.js", server.url))
        .send()
        .await
        .unwrap();
    assert_eq!(missing.status().as_u16(), 404);
    assert_eq!(error_code(&missing.text().await.unwrap()), "not_found");

    let malformed = client
        .post(format!("{}/api/v1/accounts/prelogin", server.url))
        .header("content-type", "application/json")
        .body("{not json")
        .send()
        .await
        .unwrap();
    assert_eq!(malformed.status().as_u16(), 400);
    assert_eq!(
        error_code(&malformed.text().await.unwrap()),
        "malformed_request"
    );

    // The server answers 413 from the declared length alone, without waiting for the body, and drops the
    // connection. Over raw TCP that sends no body at all: a client still writing a body the server has
    // stopped reading may see the connection close before it reads the answer (a broken pipe), which is
    // a race of the client, not an answer of the server.
    let too_large = {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let address = server.url.trim_start_matches("http://");
        let mut stream = tokio::net::TcpStream::connect(address).await.unwrap();
        let head = format!(
            "POST /api/v1/accounts/prelogin HTTP/1.1\r\nHost: {address}\r\n\
             Content-Type: application/json\r\nContent-Length: {}\r\n\r\n",
            1 << 20
        );
        stream.write_all(head.as_bytes()).await.unwrap();
        let mut answer = Vec::new();
        let mut chunk = [0u8; 4096];
        tokio::time::timeout(Duration::from_secs(10), async {
            while !String::from_utf8_lossy(&answer).contains("payload_too_large") {
                let n = stream.read(&mut chunk).await.unwrap();
                if n == 0 {
                    break;
                }
                answer.extend_from_slice(&chunk[..n]);
            }
        })
        .await
        .expect("the 413 comes without the body being sent");
        String::from_utf8(answer).unwrap()
    };
    assert!(too_large.starts_with("HTTP/1.1 413 "), "{too_large}");
    assert!(too_large.contains("payload_too_large"), "{too_large}");

    // Unknown emails get stable made-up parameters.
    let prelogin = |email: &'static str| {
        let client = client.clone();
        let url = format!("{}/api/v1/accounts/prelogin", server.url);
        async move {
            let r = client
                .post(url)
                .json(&serde_json::json!({ "email": email }))
                .send()
                .await
                .unwrap();
            assert_eq!(r.status().as_u16(), 200);
            r.json::<serde_json::Value>().await.unwrap()
        }
    };
    assert_eq!(
        prelogin("nobody@example.org").await,
        prelogin("nobody@example.org").await
    );
    assert_ne!(
        prelogin("nobody@example.org").await,
        prelogin("someone@example.org").await
    );

    let policy: serde_json::Value = client
        .get(format!("{}/api/v1/policy", server.url))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(policy["signups"], false);
    let openapi: serde_json::Value = client
        .get(format!("{}/api/v1/openapi.json", server.url))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(
        openapi["paths"]["/api/v1/recipient/bind"].is_object(),
        "the OpenAPI document lists the routes"
    );
    for path in ["/healthz", "/readyz", "/metrics"] {
        let r = client
            .get(format!("{}{path}", server.url))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status().as_u16(), 200, "{path}");
    }
}

/// Every metric label set lives as long as the process: methods a client makes up are counted as
/// `other`, so they cannot grow the registry (they used to each get a label of their own).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn made_up_methods_do_not_grow_the_metrics() {
    let server = TestServer::start();
    let client = reqwest::Client::new();
    for n in 0..20 {
        let method = reqwest::Method::from_bytes(format!("BREW{n}").as_bytes()).unwrap();
        let r = client
            .request(method, format!("{}/healthz", server.url))
            .send()
            .await
            .unwrap();
        assert!(r.status().is_client_error(), "{}", r.status());
    }
    let metrics = client
        .get(format!("{}/metrics", server.url))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        !metrics.contains("BREW"),
        "no label for a made-up method:\n{metrics}"
    );
    assert!(
        metrics
            .lines()
            .any(|l| l.starts_with("sharelock_http_requests_total")
                && l.contains("method=\"other\"")),
        "made-up methods are counted as other:\n{metrics}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_stops_cleanly_and_data_survives_a_restart() {
    let mut server = TestServer::start();
    let mut dora = owner(&server, "dora@example.org").await;
    let record = dora.create_record(&login_body()).await.unwrap();
    let status = server.terminate();
    assert!(status.success(), "graceful shutdown exits 0: {status:?}");
    assert!(
        server.log().contains("shut"),
        "the shutdown is logged: {}",
        server.log()
    );

    // The same data directory, a new process: the account and the record are there.
    let again = TestServer::start_in(server.data_dir());
    let mut dora = sharelock_client::login(&again.url, "dora@example.org", PASSWORD)
        .await
        .unwrap();
    let shown = dora.show_record(record).await.unwrap();
    assert_eq!(field(&shown.body, "password"), SECRET_PASSWORD);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn policy_is_served_and_enforced() {
    let server = TestServer::start_with(&[
        ("SHARELOCK_MAX_EXPIRY", "1d"),
        ("SHARELOCK_EDITABLE_SHARES", "false"),
    ]);
    let policy: serde_json::Value = reqwest::get(format!("{}/api/v1/policy", server.url))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(policy["max_expiry_secs"], 86_400, "{policy}");
    assert_eq!(policy["editable_shares"], false, "{policy}");

    let mut erin = owner(&server, "erin@example.org").await;
    let record = erin.create_record(&login_body()).await.unwrap();
    assert_eq!(
        code_of(erin.create_share(record, options(2 * 86_400, false)).await),
        ErrorCode::InvalidExpiry
    );
    assert_eq!(
        code_of(erin.create_share(record, options(3600, true)).await),
        ErrorCode::ForbiddenByPolicy
    );
    let ok = erin
        .create_share(record, options(86_400, false))
        .await
        .unwrap();
    let shares = erin.list_shares(Some(record)).await.unwrap();
    assert_eq!(shares.len(), 1, "refused shares leave nothing behind");
    assert_eq!(shares[0].handle, ok.handle);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hsts_only_behind_an_https_public_url() {
    let plain = TestServer::start();
    let r = reqwest::get(format!("{}/healthz", plain.url))
        .await
        .unwrap();
    assert!(r.headers().get("strict-transport-security").is_none());
    let tls = TestServer::start_with(&[("SHARELOCK_PUBLIC_URL", "https://share.example")]);
    let r = reqwest::get(format!("{}/healthz", tls.url)).await.unwrap();
    assert_eq!(r.headers()["strict-transport-security"], "max-age=31536000");
    assert_eq!(r.headers()["referrer-policy"], "no-referrer");
}

/// The password change over hand-made requests: strict body and KDF bounds, a wrong current proof counted
/// in the login backoff, a fresh salt required, every session and its event stream ended, two racing
/// changes with one winner, and a vault that opens with the new password only.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn password_change_over_http() {
    use serde_json::{Value, json};
    use sharelock_client::core::account::{DataKey, KdfParams, MasterKey};
    use sharelock_client::core::encoding::b64u;

    const EMAIL: &str = "pw@example.org";
    const NEW: &str = "a new master password";
    let server = TestServer::start();
    let client = reqwest::Client::new();
    let url = |path: &str| format!("{}/api/v1{path}", server.url);
    let params = KdfParams::DEFAULT;
    let kdf = json!({"alg": "argon2id", "m": params.m, "t": params.t, "p": params.p});
    let keys = |password: &'static str, r16: [u8; 16]| {
        let mk = MasterKey::derive(password, EMAIL, &r16, &params).unwrap();
        (mk.auth_key(), mk.wrap_key())
    };
    let dk = DataKey::generate().unwrap();
    let r16 = [1u8; 16];
    let (ak, wk) = keys(PASSWORD, r16);
    let register = client
        .post(url("/accounts"))
        .json(&json!({"email": EMAIL, "kdf": kdf, "kdf_salt": b64u(&r16),
            "auth_key": b64u(ak.expose()), "wrapped_data_key": b64u(&wk.wrap_data_key(&dk, &r16).unwrap())}))
        .send()
        .await
        .unwrap();
    assert_eq!(register.status().as_u16(), 201);
    let login = |auth_key: String| {
        let client = client.clone();
        let url = url("/sessions");
        async move {
            let r = client
                .post(url)
                .json(&json!({"email": EMAIL, "auth_key": auth_key}))
                .send()
                .await
                .unwrap();
            let status = r.status().as_u16();
            (status, r.json::<Value>().await.unwrap())
        }
    };
    let (status, session) = login(b64u(ak.expose())).await;
    assert_eq!(status, 200);
    let token = session["token"].as_str().unwrap().to_owned();
    let (_, other) = login(b64u(ak.expose())).await;
    let other_token = other["token"].as_str().unwrap().to_owned();

    let new_r16 = [2u8; 16];
    let (new_ak, new_wk) = keys(NEW, new_r16);
    let body = |current: &[u8], salt: &[u8; 16]| {
        json!({"current_auth_key": b64u(current), "kdf": kdf, "kdf_salt": b64u(salt),
            "auth_key": b64u(new_ak.expose()),
            "wrapped_data_key": b64u(&new_wk.wrap_data_key(&dk, salt).unwrap())})
    };
    let change = |token: String, body: Value| {
        let client = client.clone();
        let url = url("/accounts/password");
        async move {
            let r = client
                .post(url)
                .bearer_auth(token)
                .json(&body)
                .send()
                .await
                .unwrap();
            (r.status().as_u16(), r.text().await.unwrap())
        }
    };

    // Without a session; with an unknown field; with parameters a client would refuse.
    let (status, _) = change("x".repeat(43), body(ak.expose(), &new_r16)).await;
    assert_eq!(status, 401);
    let mut extra = body(ak.expose(), &new_r16);
    extra["email"] = json!(EMAIL);
    let (status, text) = change(token.clone(), extra).await;
    assert_eq!(
        (status, error_code(&text).as_str()),
        (400, "malformed_request")
    );
    let mut weak = body(ak.expose(), &new_r16);
    weak["kdf"]["m"] = json!(1024);
    let (status, text) = change(token.clone(), weak).await;
    assert_eq!(
        (status, error_code(&text).as_str()),
        (400, "malformed_request")
    );

    // Wrong current proofs count like failed logins: five are free, then the account waits.
    for _ in 0..5 {
        let (status, text) = change(token.clone(), body(&[9; 32], &new_r16)).await;
        assert_eq!(
            (status, error_code(&text).as_str()),
            (401, "invalid_credentials")
        );
    }
    let mut retry_after = None;
    for _ in 0..4 {
        let (status, text) = change(token.clone(), body(&[9; 32], &new_r16)).await;
        if status == 429 {
            assert_eq!(error_code(&text), "too_many_attempts");
            let parsed: Value = serde_json::from_str(&text).unwrap();
            retry_after = parsed["error"]["retry_after"].as_u64();
            break;
        }
        assert_eq!(status, 401, "{text}");
    }
    let wait = retry_after.expect("the backoff answers 429 with retry_after");
    tokio::time::sleep(Duration::from_millis(wait * 1000 + 200)).await;

    // The current salt again is refused (and not counted); a fresh one is accepted.
    let (status, text) = change(token.clone(), body(ak.expose(), &r16)).await;
    assert_eq!(
        (status, error_code(&text).as_str()),
        (400, "malformed_request")
    );
    let mut stream = client
        .get(url("/events"))
        .bearer_auth(&other_token)
        .send()
        .await
        .unwrap();
    assert_eq!(stream.status().as_u16(), 200);
    // Two racing changes with the same proof: exactly one wins.
    let (first, second) = tokio::join!(
        change(token.clone(), body(ak.expose(), &new_r16)),
        change(token.clone(), body(ak.expose(), &new_r16)),
    );
    let mut statuses = [first.0, second.0];
    statuses.sort_unstable();
    assert_eq!(statuses, [204, 401], "{first:?} {second:?}");

    // Every session has ended, the open event stream with it.
    for t in [&token, &other_token] {
        let r = client
            .get(url("/records"))
            .bearer_auth(t)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status().as_u16(), 401);
    }
    let ended = tokio::time::timeout(Duration::from_secs(10), async {
        while let Ok(Some(_)) = stream.chunk().await {}
    })
    .await;
    assert!(ended.is_ok(), "the event stream outlived its session");

    // Only the new password logs in, and it opens the same data key; the failures were cleared.
    let (status, _) = login(b64u(ak.expose())).await;
    assert_eq!(status, 401);
    let session = sharelock_client::login(&server.url, EMAIL, NEW)
        .await
        .unwrap();
    // The client unwrapped the same data key with the new password's WK: the same vault.
    assert_eq!(session.email(), EMAIL);
    let (status, answer) = login(b64u(new_ak.expose())).await;
    assert_eq!(status, 200);
    assert_eq!(answer["kdf_salt"], b64u(&new_r16));

    let openapi: Value = client
        .get(url("/openapi.json"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(openapi["paths"]["/api/v1/accounts/password"]["post"].is_object());
    assert!(openapi["components"]["schemas"]["ChangePassword"].is_object());
}

/// A server that lies about a share's facts, or revives an ended share, together with its recipient,
/// cannot pass the recipient's writes off as verified: the owner believes a share's record and editability
/// only from its sealed owner secret, and remembers which shares it saw end (docs/protocol.md §7.5).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn owner_refuses_recipient_versions_the_shares_own_facts_do_not_allow() {
    let server = TestServer::start();
    let mut alice = owner(&server, "alice@example.org").await;
    let record = alice.create_record(&login_body()).await.unwrap();

    // A read-only share that the server turns editable.
    let read_only = alice
        .create_share(record, options(3600, false))
        .await
        .unwrap();
    let device = MemoryDeviceStore::new();
    let reader = Recipient::open(&read_only.link, None, &device)
        .await
        .unwrap();
    assert!(!reader.editable());
    drop(reader);
    let handle = read_only.handle.as_bytes().to_vec();
    assert_eq!(
        server.tamper(
            "UPDATE shares SET editable = 1 WHERE handle = ?1",
            [&handle]
        ),
        1
    );
    let mut writer = Recipient::open(&read_only.link, None, &device)
        .await
        .unwrap();
    assert!(writer.editable(), "the server now says editable");
    writer
        .set_fields(&[(
            "password".into(),
            "written through a read-only share".into(),
        )])
        .await
        .unwrap();
    let refused = alice.show_record(record).await.unwrap_err();
    assert!(
        matches!(&refused, ClientError::Unverified(why) if why.contains("read-only")),
        "{refused}"
    );
    let listed = alice.list_shares(Some(record)).await.unwrap();
    let entry = listed
        .iter()
        .find(|s| s.handle == read_only.handle)
        .unwrap();
    assert!(!entry.editable, "the sealed facts say read-only");
    assert!(entry.problem.is_some(), "the server's claim is flagged");
    let listed = alice.list_records().await.unwrap();
    assert!(!listed[0].verification.is_verified());

    // An editable share, edited and ended; the owner saw it end; the server revives it.
    alice.rotate_record(record).await.unwrap_err(); // unverified current: never resealed
    let mut bob_record = login_body();
    bob_record.title = "Second".into();
    let second = alice.create_record(&bob_record).await.unwrap();
    let share = alice
        .create_share(second, options(3600, true))
        .await
        .unwrap();
    let bob_device = MemoryDeviceStore::new();
    let mut bob = Recipient::open(&share.link, None, &bob_device)
        .await
        .unwrap();
    let before_end = bob
        .set_fields(&[("password".into(), "bob's last edit".into())])
        .await
        .unwrap();
    alice.delete_share(share.handle).await.unwrap();
    // The edit from before the end stays attributed.
    let shown = alice.show_record(second).await.unwrap();
    assert_eq!(shown.version, before_end);
    assert!(matches!(
        shown.verification,
        sharelock_client::Verification::Recipient { .. }
    ));
    let handle = share.handle.as_bytes().to_vec();
    assert_eq!(
        server.tamper(
            "UPDATE shares SET ended_at = NULL, end_reason = NULL WHERE handle = ?1",
            [&handle]
        ),
        1
    );
    bob.set_fields(&[("password".into(), "after the end".into())])
        .await
        .unwrap();
    let refused = alice.show_record(second).await.unwrap_err();
    assert!(
        matches!(&refused, ClientError::Unverified(why) if why.contains("had ended")),
        "{refused}"
    );
}

/// A header the signature covers, or the share lookup reads, must come once: a request that repeats one is
/// refused, whatever the copies say (docs/protocol.md §5.2).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn repeated_signed_headers_are_refused() {
    let server = TestServer::start();
    let mut alice = owner(&server, "alice@example.org").await;
    let record = alice.create_record(&login_body()).await.unwrap();
    let share = alice
        .create_share(record, options(3600, true))
        .await
        .unwrap();
    let device = MemoryDeviceStore::new();
    Recipient::open(&share.link, None, &device).await.unwrap();
    let share_id = share_id_of(&share.link);

    // The same request once is fine.
    let fetch = Signed::new(&server, &share_id, &device, "/recipient/share", None);
    assert_eq!(fetch.send(None).await.0, 200);

    let with_extra = |mut signed: Signed, name: &'static str, value: String| {
        signed.headers.push((name, value));
        signed
    };
    let twice = |name: &'static str| {
        let signed = Signed::new(&server, &share_id, &device, "/recipient/share", None);
        let value = signed
            .headers
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, v)| v.clone())
            .unwrap();
        with_extra(signed, name, value)
    };
    let (status, body) = twice("sharelock-share").send(None).await;
    assert_eq!(
        (status, error_code(&body).as_str()),
        (400, "malformed_request")
    );
    for name in ["signature-input", "signature"] {
        let (status, body) = twice(name).send(None).await;
        assert_eq!(
            (status, error_code(&body).as_str()),
            (401, "invalid_signature"),
            "{name}"
        );
    }
    // A body's digest and type, repeated (even with the same value), are refused too.
    for name in ["content-digest", "content-type"] {
        let signed = Signed::new(
            &server,
            &share_id,
            &device,
            "/recipient/end",
            Some(b"{}".to_vec()),
        );
        let value = signed
            .headers
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, v)| v.clone())
            .unwrap();
        let (status, body) = with_extra(signed, name, value).send(None).await;
        assert_eq!(
            (status, error_code(&body).as_str()),
            (401, "invalid_signature"),
            "{name}"
        );
    }
    // The access header of the unsigned status call, likewise.
    let keys =
        ShareKeys::derive(LinkSecret::from_bytes(*share.link.secret.expose()), None).unwrap();
    let access = keys.access_token().to_b64u();
    let response = reqwest::Client::new()
        .get(format!("{}/api/v1/recipient/status", server.url))
        .header("sharelock-share", share_id.to_b64u())
        .header("sharelock-access", &access)
        .header("sharelock-access", &access)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 400);
    // None of these refused requests ended the share.
    assert_eq!(fetch.send(None).await.0, 200);
}

/// Reads a server-sent event stream until its text contains `needle`, for at most `limit`.
async fn read_until(
    stream: &mut reqwest::Response,
    seen: &mut String,
    needle: &str,
    limit: Duration,
) -> bool {
    tokio::time::timeout(limit, async {
        while !seen.contains(needle) {
            match stream.chunk().await {
                Ok(Some(bytes)) => seen.push_str(&String::from_utf8_lossy(&bytes)),
                _ => return false,
            }
        }
        true
    })
    .await
    .unwrap_or(false)
}

/// The recipient's live channel (docs/protocol.md §9.5): signed by the bound device, it names the record's
/// version at once and on every change, and says `ended` (then closes) as soon as the owner ends the share,
/// where the page used to find out at its next poll.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn recipient_stream_reports_versions_and_the_end_of_the_share() {
    let server = TestServer::start();
    let mut alice = owner(&server, "alice@example.org").await;
    let record = alice.create_record(&login_body()).await.unwrap();
    let share = alice
        .create_share(record, options(3600, true))
        .await
        .unwrap();
    let device = MemoryDeviceStore::new();
    let mut bob = Recipient::open(&share.link, None, &device).await.unwrap();
    let share_id = share_id_of(&share.link);

    // Only the bound device may listen.
    let stranger = MemoryDeviceStore::new();
    stranger
        .save(
            &share_id,
            &sharelock_client::core::device::DeviceKey::generate().unwrap(),
        )
        .unwrap();
    let refused = Signed::new(&server, &share_id, &stranger, "/recipient/events", None);
    let (status, body) = refused.send(None).await;
    assert_eq!(
        (status, error_code(&body).as_str()),
        (401, "invalid_signature")
    );

    let mut stream = Signed::new(&server, &share_id, &device, "/recipient/events", None)
        .open()
        .await;
    assert_eq!(stream.status().as_u16(), 200);
    assert!(
        stream.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/event-stream")
    );
    let mut seen = String::new();
    let first = format!("{{\"version\":{}}}", share.version);
    assert!(
        read_until(&mut stream, &mut seen, &first, Duration::from_secs(10)).await,
        "{seen}"
    );
    assert!(seen.contains("event: version"), "{seen}");

    // The recipient's own edit is a new version, named on the stream.
    let written = bob
        .set_fields(&[("password".into(), "changed by bob".into())])
        .await
        .unwrap();
    let next = format!("{{\"version\":{written}}}");
    assert!(
        read_until(&mut stream, &mut seen, &next, Duration::from_secs(10)).await,
        "{seen}"
    );

    // The owner ends the share: the stream says so and closes.
    alice.delete_share(share.handle).await.unwrap();
    assert!(
        read_until(
            &mut stream,
            &mut seen,
            "event: ended",
            Duration::from_secs(5)
        )
        .await,
        "{seen}"
    );
    let closed = tokio::time::timeout(Duration::from_secs(5), async {
        while let Ok(Some(_)) = stream.chunk().await {}
    })
    .await;
    assert!(
        closed.is_ok(),
        "the stream stayed open after the share ended"
    );

    // An ended share has no stream.
    let late = Signed::new(&server, &share_id, &device, "/recipient/events", None);
    assert_eq!(late.send(None).await.0, 410);
}

/// Two nodes over one PostgreSQL database (issue: events across nodes, docs/protocol.md §9.5): an owner's
/// event stream attached to node B receives a recipient's edit made through node A within a second of the
/// edit's acknowledgement (PostgreSQL `LISTEN/NOTIFY`; the streams' own re-check is 30 s), and a password
/// change through A ends the stream on B at once rather than at that re-check.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn events_reach_a_stream_on_another_node_at_once() {
    let database = sharelock_store::postgres::test_cluster::fresh_database().await;
    let node = |dir: &tempfile::TempDir| {
        TestServer::start_node(
            "127.0.0.1:0",
            dir.path().join("data"),
            &[
                ("SHARELOCK_DATABASE_URL", database.url()),
                ("SHARELOCK_PRELOGIN_SECRET", "one secret for every node"),
                ("SHARELOCK_SWEEP_INTERVAL", "1h"),
            ],
        )
    };
    let (dir_a, dir_b) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let a = node(&dir_a);
    let b = node(&dir_b);

    // The owner works through A; their event stream is attached to B.
    let mut alice = owner(&a, "alice@example.org").await;
    let record = alice.create_record(&login_body()).await.unwrap();
    let share = alice
        .create_share(record, options(3600, true))
        .await
        .unwrap();
    let watcher = sharelock_client::login(&b.url, "alice@example.org", PASSWORD)
        .await
        .unwrap();
    let mut events = Box::pin(watcher.events(Some(0)));

    // The link names A: the recipient opens and edits through A.
    let device = MemoryDeviceStore::new();
    let mut recipient = Recipient::open(&share.link, None, &device).await.unwrap();
    let opened = tokio::time::timeout(Duration::from_secs(10), events.next())
        .await
        .expect("the open reaches B")
        .expect("stream open")
        .unwrap();
    assert_eq!(opened.kind, EventKind::ShareOpened);

    let (edited, arrived) = tokio::join!(
        async {
            let version = recipient
                .set_fields(&[("password".into(), EDITED_PASSWORD.into())])
                .await
                .unwrap();
            (version, Instant::now())
        },
        async {
            let event = tokio::time::timeout(Duration::from_secs(10), events.next())
                .await
                .expect("the edit reaches B")
                .expect("stream open")
                .unwrap();
            (event, Instant::now())
        },
    );
    let ((version, acknowledged), (event, seen)) = (edited, arrived);
    assert_eq!(event.kind, EventKind::RecordEdited);
    assert_eq!(event.number, Some(version as i64));
    let late = seen.saturating_duration_since(acknowledged);
    eprintln!("the edit reached node B {late:?} after node A acknowledged it");
    assert!(
        late < Duration::from_secs(1),
        "the edit reached the stream on B {late:?} after A acknowledged it"
    );

    // Every session ends with a password change through A; the stream on B ends with its session.
    let changed = Instant::now();
    alice
        .change_password(PASSWORD, "another horse battery staple")
        .await
        .unwrap();
    let ended = tokio::time::timeout(Duration::from_secs(10), events.next()).await;
    if let Ok(Some(Ok(event))) = &ended {
        panic!("unexpected event {event:?}");
    }
    assert!(
        ended.is_ok(),
        "the stream on B outlived its session by {:?}",
        changed.elapsed()
    );
}

/// A refused second device is reported to the owner (docs/protocol.md §9.5 `device_refused`): the owner's
/// stream gets one event naming the share, however often the second device retries within the minute.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refused_second_device_is_reported_to_the_owner() {
    let server = TestServer::start();
    let mut alice = owner(&server, "alice@example.org").await;
    let record = alice.create_record(&login_body()).await.unwrap();
    let share = alice
        .create_share(record, options(3600, false))
        .await
        .unwrap();
    let mut events = Box::pin(alice.events(Some(0)));

    let first = MemoryDeviceStore::new();
    Recipient::open(&share.link, None, &first).await.unwrap();
    for _ in 0..3 {
        let second = MemoryDeviceStore::new();
        let refused = Recipient::open(&share.link, None, &second).await;
        assert_eq!(code_of(refused), ErrorCode::ShareBoundToOtherDevice);
    }
    // The owner's own write after the refusals: its event comes after theirs.
    alice.delete_share(share.handle).await.unwrap();

    let mut seen = Vec::new();
    while seen
        .last()
        .map(|e: &sharelock_client::api::events::Event| e.kind)
        != Some(EventKind::ShareEnded)
    {
        let event = tokio::time::timeout(Duration::from_secs(10), events.next())
            .await
            .expect("the events arrive")
            .expect("stream open")
            .unwrap();
        seen.push(event);
    }
    let kinds: Vec<EventKind> = seen.iter().map(|e| e.kind).collect();
    assert_eq!(
        kinds,
        vec![
            EventKind::ShareOpened,
            EventKind::DeviceRefused,
            EventKind::ShareEnded
        ]
    );
    assert_eq!(seen[1].share, Some(share.handle));
    assert_eq!(seen[1].record, Some(record));

    let openapi: serde_json::Value = reqwest::get(format!("{}/api/v1/openapi.json", server.url))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let kinds = &openapi["components"]["schemas"]["EventKind"]["enum"];
    assert!(
        kinds
            .as_array()
            .is_some_and(|k| k.iter().any(|v| v == "device_refused")),
        "the OpenAPI event-kind enum lists device_refused: {kinds}"
    );
}

/// What a throttled route answered one request of a burst.
#[derive(Debug, Clone)]
struct Answer {
    status: u16,
    code: String,
    retry_after: Option<u64>,
}

async fn answer(response: reqwest::Response) -> Answer {
    let status = response.status().as_u16();
    let retry_after = response
        .headers()
        .get("retry-after")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse().ok());
    let code = error_code(&response.text().await.unwrap_or_default());
    Answer {
        status,
        code,
        retry_after,
    }
}

/// The wall clock in whole seconds (the server under test runs on the same machine, so shares it).
fn unix_secs() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

/// Sleeps until just after the wall clock's next whole second, so that what follows is likely to fit in
/// one second of the server's clock (which is what attempt schedules count in).
async fn next_second() {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap();
    let into = Duration::from_nanos(u64::from(now.subsec_nanos()));
    tokio::time::sleep(Duration::from_secs(1) - into + Duration::from_millis(20)).await;
}

/// Sends `wrong.len()` requests at once, each on a connection of its own; as soon as `free` of them have
/// been judged (401), sends `right` while the rest of the burst may still be in flight. Returns the
/// burst's answers, the right request's, and how many whole seconds the clock moved on meanwhile.
async fn burst_then_right(
    wrong: Vec<reqwest::RequestBuilder>,
    right: reqwest::RequestBuilder,
    free: usize,
) -> (Vec<Answer>, Answer, u64) {
    next_second().await;
    let start = unix_secs();
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    let total = wrong.len();
    for request in wrong {
        let tx = tx.clone();
        tokio::spawn(async move {
            let _ = tx.send(answer(request.send().await.unwrap()).await);
        });
    }
    let mut answers = Vec::new();
    let mut right_answer = None;
    let mut right = Some(right);
    while answers.len() < total {
        let a = rx.recv().await.unwrap();
        answers.push(a);
        let judged = answers.iter().filter(|a| a.status == 401).count();
        if judged >= free.min(total)
            && let Some(right) = right.take()
        {
            right_answer = Some(tokio::spawn(async move {
                answer(right.send().await.unwrap()).await
            }));
        }
    }
    let right_answer = match right_answer {
        Some(task) => task.await.unwrap(),
        None => answer(right.unwrap().send().await.unwrap()).await,
    };
    (answers, right_answer, unix_secs() - start)
}

/// Checks a burst against the schedule: the `free` attempts judged and refused as `judged_code`, every
/// other refused with 429 `too_many_attempts` and a `Retry-After`, and the right request, sent after the
/// free attempts, refused the same way instead of being answered 200. The schedule lets one more attempt
/// through each `unit` seconds after the free ones, so a burst that took `elapsed` whole seconds may
/// have that many more judged (login's unit is a second; a share's a minute).
#[track_caller]
fn assert_only_free_judged(
    (answers, right, elapsed): &(Vec<Answer>, Answer, u64),
    free: usize,
    unit: u64,
    judged_code: &str,
) {
    let extra = usize::try_from(elapsed / unit).unwrap();
    let judged: Vec<&Answer> = answers.iter().filter(|a| a.status != 429).collect();
    assert!(
        judged.len() >= free && judged.len() <= free + extra,
        "{} judged in {elapsed} s: {judged:?}",
        judged.len()
    );
    assert!(
        judged
            .iter()
            .all(|a| a.status == 401 && a.code == judged_code),
        "{judged:?}"
    );
    for a in answers.iter().filter(|a| a.status == 429) {
        assert_eq!(a.code, "too_many_attempts");
        assert!(a.retry_after.is_some_and(|s| s >= 1), "{a:?}");
    }
    if extra == 0 {
        assert_eq!(
            right.status, 429,
            "the right one inside the burst: {right:?}"
        );
        assert_eq!(right.code, "too_many_attempts");
        assert!(right.retry_after.is_some_and(|s| s >= 1), "{right:?}");
    } else {
        assert!(matches!(right.status, 429 | 200 | 401), "{right:?}");
    }
}

/// Wrong access tokens sent together are not all judged (issue 9, item 1): of 60 at once on one share,
/// only the 5 free attempts are compared, the others answer 429 with `Retry-After`, and the right token
/// sent inside the burst after the free attempts is refused too.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_burst_of_wrong_access_tokens_has_only_the_free_attempts_judged() {
    use sharelock_client::core::encoding::b64u;
    let server = TestServer::start_with(&[("SHARELOCK_RATE_LIMIT_PER_MINUTE", "100000")]);
    let mut bob = owner(&server, "bob@example.org").await;
    let record = bob.create_record(&login_body()).await.unwrap();
    let share = bob.create_share(record, options(600, false)).await.unwrap();
    let keys =
        ShareKeys::derive(LinkSecret::from_bytes(*share.link.secret.expose()), None).unwrap();
    let share_header = keys.share_id().to_b64u();
    let client = reqwest::Client::new();
    let status = |token: String| {
        client
            .get(format!("{}/api/v1/recipient/status", server.url))
            .header("sharelock-share", &share_header)
            .header("sharelock-access", token)
    };
    let wrong = (0..60u8).map(|i| status(b64u(&[i; 32]))).collect();
    let burst = burst_then_right(wrong, status(keys.access_token().to_b64u()), 5).await;
    assert_only_free_judged(&burst, 5, 60, "wrong_passphrase");
}

/// Login attempts sent together are not all judged (issue 9, item 1), and an email without an account
/// is treated exactly like one with (item 5): for each, of 60 wrong proofs at once only the 5 free ones
/// are compared (401 `invalid_credentials`), the others answer 429 with `Retry-After`, and the right
/// proof sent inside the burst after the free attempts is refused too.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_burst_of_wrong_logins_has_only_the_free_attempts_judged() {
    use serde_json::json;
    use sharelock_client::core::encoding::b64u;
    let server = TestServer::start_with(&[("SHARELOCK_RATE_LIMIT_PER_MINUTE", "100000")]);
    let client = reqwest::Client::new();
    // The server never sees the password, only AK; any 32 bytes serve as this account's AK here.
    let ak = [7u8; 32];
    let register = client
        .post(format!("{}/api/v1/accounts", server.url))
        .json(&json!({"email": "ada@example.org",
            "kdf": {"alg": "argon2id", "m": 65536, "t": 3, "p": 4},
            "kdf_salt": b64u(&[1u8; 16]), "auth_key": b64u(&ak),
            "wrapped_data_key": b64u(&[2u8; 60])}))
        .send()
        .await
        .unwrap();
    assert_eq!(register.status().as_u16(), 201);
    let login = |email: &str, auth_key: &[u8; 32]| {
        client
            .post(format!("{}/api/v1/sessions", server.url))
            .json(&json!({"email": email, "auth_key": b64u(auth_key)}))
    };
    for email in ["ada@example.org", "nobody@example.org"] {
        let wrong = (0..60u8).map(|i| login(email, &[i + 100; 32])).collect();
        let burst = burst_then_right(wrong, login(email, &ak), 5).await;
        assert_only_free_judged(&burst, 5, 1, "invalid_credentials");
    }
}

/// A link holder who keeps a share in its access-token backoff cannot lock out the device that opened it
/// (issue 9, item 2): the server never applies the backoff to a request signed by the bound key (a fetch,
/// or a repeated bind by that key, whose T is still checked), while a first open by any other device waits.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_bound_device_is_never_held_up_by_the_access_backoff() {
    use sharelock_client::core::encoding::b64u;
    let server = TestServer::start_with(&[("SHARELOCK_RATE_LIMIT_PER_MINUTE", "100000")]);
    let mut bob = owner(&server, "bob@example.org").await;
    let record = bob.create_record(&login_body()).await.unwrap();
    let share = bob.create_share(record, options(600, false)).await.unwrap();
    let keys =
        ShareKeys::derive(LinkSecret::from_bytes(*share.link.secret.expose()), None).unwrap();
    let share_id = keys.share_id();
    let device = MemoryDeviceStore::new();
    Recipient::open(&share.link, None, &device).await.unwrap();

    // Someone who saw the share id sends wrong tokens until the share is in backoff.
    let client = reqwest::Client::new();
    let mut statuses = Vec::new();
    for i in 0..8u8 {
        let response = client
            .get(format!("{}/api/v1/recipient/status", server.url))
            .header("sharelock-share", share_id.to_b64u())
            .header("sharelock-access", b64u(&[i; 32]))
            .send()
            .await
            .unwrap();
        statuses.push(response.status().as_u16());
    }
    assert_eq!(statuses, [401, 401, 401, 401, 401, 429, 429, 429]);
    // Another device's first open waits...
    let stranger = MemoryDeviceStore::new();
    let held = Recipient::open(&share.link, None, &stranger).await;
    assert_eq!(code_of(held), ErrorCode::TooManyAttempts);

    // ...but the bound device's signed fetch and its repeated bind are answered at once.
    assert_eq!(fetch_status(&server, &share_id, &device).await, 200);
    let key = device.load(&share_id).unwrap().unwrap();
    let bind = |access: String| {
        let body = serde_json::json!({
            "access": access,
            "device_key": b64u(key.public_key()),
            "bind_tag": b64u(&keys.bind_key().bind_tag(&share_id, key.public_key())),
        });
        Signed::new(
            &server,
            &share_id,
            &device,
            "/recipient/bind",
            Some(serde_json::to_vec(&body).unwrap()),
        )
    };
    let (status, text) = bind(keys.access_token().to_b64u()).send(None).await;
    assert_eq!(status, 200, "{text}");
    let (status, text) = bind(b64u(&[9; 32])).send(None).await;
    assert_eq!(
        (status, error_code(&text).as_str()),
        (401, "wrong_passphrase"),
        "its T is still checked"
    );
    let reopened = Recipient::open(&share.link, None, &device).await.unwrap();
    assert_eq!(field(reopened.body(), "password"), SECRET_PASSWORD);
}

/// Login does not tell whether an email has an account (issue 9, item 5): over repeated wrong proofs an
/// email without an account gets the same answers as one with (401 `invalid_credentials` five times, then
/// 429 `too_many_attempts` on the same schedule), and pre-login answers it with the default parameters
/// and a salt of the same form, stable per email.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn login_does_not_tell_whether_an_email_has_an_account() {
    use serde_json::{Value, json};
    use sharelock_client::core::account::KdfParams;
    use sharelock_client::core::encoding::b64u;
    let server = TestServer::start();
    let client = reqwest::Client::new();
    let url = |path: &str| format!("{}/api/v1{path}", server.url);
    let d = KdfParams::DEFAULT;
    let kdf = json!({"alg": "argon2id", "m": d.m, "t": d.t, "p": d.p});
    let ak = [7u8; 32];
    let register = client
        .post(url("/accounts"))
        .json(
            &json!({"email": "ada@example.org", "kdf": kdf, "kdf_salt": b64u(&[1u8; 16]),
            "auth_key": b64u(&ak), "wrapped_data_key": b64u(&[2u8; 60])}),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(register.status().as_u16(), 201);

    let prelogin = |email: &'static str| {
        let request = client
            .post(url("/accounts/prelogin"))
            .json(&json!({ "email": email }));
        async move {
            let r = request.send().await.unwrap();
            assert_eq!(r.status().as_u16(), 200);
            r.json::<Value>().await.unwrap()
        }
    };
    let known = prelogin("ada@example.org").await;
    let unknown = prelogin("nobody@example.org").await;
    assert_eq!(known["kdf"], unknown["kdf"], "{known} {unknown}");
    let salt = |v: &Value| v["kdf_salt"].as_str().unwrap().len();
    assert_eq!((salt(&known), salt(&unknown)), (22, 22));
    let keys = |v: &Value| {
        let mut k: Vec<String> = v.as_object().unwrap().keys().cloned().collect();
        k.sort();
        k
    };
    assert_eq!(keys(&known), keys(&unknown));
    assert_eq!(unknown, prelogin("nobody@example.org").await, "stable");

    // (status, code, Retry-After) of each of `n` wrong logins in a row.
    let wrong_logins = |email: String, n: usize| {
        let client = client.clone();
        let url = url("/sessions");
        async move {
            let mut seen = Vec::new();
            for i in 0..n {
                let r = client
                    .post(&url)
                    .json(&json!({"email": email, "auth_key": b64u(&[i as u8 + 100; 32])}))
                    .send()
                    .await
                    .unwrap();
                let a = answer(r).await;
                seen.push((a.status, a.code, a.retry_after));
            }
            seen
        }
    };
    let ic = || (401, "invalid_credentials".to_owned(), None);
    let wait = |s| (429, "too_many_attempts".to_owned(), Some(s));
    // The schedule counts in seconds: a round whose attempts did not all fall in one second of the clock
    // is repeated with fresh emails (an account each).
    let mut compared = false;
    for round in 0..3 {
        let known = format!("ada{round}@example.org");
        let unknown = format!("nobody{round}@example.org");
        let register = client
            .post(url("/accounts"))
            .json(
                &json!({"email": known, "kdf": kdf, "kdf_salt": b64u(&[1u8; 16]),
                "auth_key": b64u(&ak), "wrapped_data_key": b64u(&[2u8; 60])}),
            )
            .send()
            .await
            .unwrap();
        assert_eq!(register.status().as_u16(), 201);
        next_second().await;
        let start = unix_secs();
        let (k, u) = tokio::join!(
            wrong_logins(known.clone(), 7),
            wrong_logins(unknown.clone(), 7)
        );
        if unix_secs() != start {
            continue;
        }
        assert_eq!(k, [ic(), ic(), ic(), ic(), ic(), wait(1), wait(1)]);
        assert_eq!(u, k);
        // Once the wait is over each is judged again, then waits longer.
        tokio::time::sleep(Duration::from_millis(1100)).await;
        let (k, u) = tokio::join!(wrong_logins(known, 2), wrong_logins(unknown, 2));
        for seen in [&k, &u] {
            assert_eq!(seen[0], ic(), "{seen:?}");
            assert_eq!((seen[1].0, seen[1].1.as_str()), (429, "too_many_attempts"));
            assert!(seen[1].2.is_some_and(|s| (1..=2).contains(&s)), "{seen:?}");
        }
        compared = true;
        break;
    }
    assert!(compared, "no round fitted in a second of the clock");
}

/// GET requests the server has answered on `/records/{id}` so far, from its metrics.
async fn single_record_reads(server: &TestServer) -> u64 {
    let metrics = reqwest::get(format!("{}/metrics", server.url))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    metrics
        .lines()
        .filter(|l| {
            l.starts_with("sharelock_http_requests_total{")
                && l.contains("method=\"GET\"")
                && l.contains("/records/{id}\"")
        })
        .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
        .sum::<f64>() as u64
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn record_list_opens_every_line_from_one_call() {
    let server = TestServer::start();
    let mut alice = owner(&server, "lister@example.org").await;
    let mut ids = Vec::new();
    for i in 0..12 {
        let mut body = login_body();
        body.title = format!("Listed {i}");
        ids.push(alice.create_record(&body).await.unwrap());
    }
    // A record whose envelope is too large to travel in the list (notes of 9,000 bytes).
    let mut large = RecordBody::new(RecordType::Note, "Long notes");
    large.notes = "n".repeat(9000);
    let large_id = alice.create_record(&large).await.unwrap();
    // One moved on to a later version and key generation.
    alice.rotate_record(ids[3]).await.unwrap();

    let before = single_record_reads(&server).await;
    let listed = alice.list_records().await.unwrap();
    let fetched = single_record_reads(&server).await - before;
    assert_eq!(fetched, 1, "only the large record is fetched on its own");
    assert_eq!(listed.len(), 13);
    for entry in &listed {
        assert!(entry.verification.is_verified(), "{entry:?}");
        assert!(!entry.summary_mismatch);
        let summary = entry.summary.as_ref().unwrap();
        if entry.id == large_id {
            assert_eq!(summary.title, "Long notes");
        } else {
            let i = ids.iter().position(|id| *id == entry.id).unwrap();
            assert_eq!(summary.title, format!("Listed {i}"));
            assert_eq!(summary.subtitle, SECRET_USER);
        }
    }
    let rotated = listed.iter().find(|e| e.id == ids[3]).unwrap();
    assert_eq!((rotated.version, rotated.key_gen), (2, 2));

    // The server passes off an older version as current in the list: the line is refused, not shown.
    let id = ids[3].as_bytes().to_vec();
    assert_eq!(
        server.tamper(
            "UPDATE versions SET envelope = (SELECT envelope FROM versions WHERE record_id = ?1 AND version = 1)
             WHERE record_id = ?1 AND version = 2",
            [&id]
        ),
        1
    );
    let listed = alice.list_records().await.unwrap();
    let tampered = listed.iter().find(|e| e.id == ids[3]).unwrap();
    assert!(tampered.summary.is_err(), "{tampered:?}");
    assert!(!tampered.verification.is_verified());
    assert_eq!(
        listed.iter().filter(|e| e.summary.is_ok()).count(),
        12,
        "the other lines stay"
    );
}

/// The share preface (docs/protocol.md §4.6): sealed by the sender's client, kept byte for byte by the
/// server (which checks only its length), read by the recipient with the link's keys before binding and
/// again in the signed fetch; a share made without one still opens.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_share_preface_travels_sealed_and_bounded() {
    let server = TestServer::start();
    let mut ada = owner(&server, "ada@example.org").await;
    let record = ada.create_record(&login_body()).await.unwrap();
    let mut with_name = options(3600, false);
    with_name.from = Some("Ada Lovelace".into());
    let created = ada.create_share(record, with_name).await.unwrap();

    let preview = sharelock_client::share_preview(&created.link, None)
        .await
        .unwrap();
    let sealed = preview.status.preface.clone().expect("a preface");
    assert_eq!(sealed.len(), 284, "every usual name pads to one block");
    let preface = preview.preface.expect("a preface").expect("it opens");
    assert_eq!(preface.from, "Ada Lovelace");
    assert_eq!(preface.record_type, RecordType::Login);
    assert!(!preview.status.bound, "a preview binds nothing");

    // Open: the name is handed to the caller before binding, and carried by the signed fetch.
    let devices = MemoryDeviceStore::new();
    let seen = std::sync::Mutex::new(None);
    let recipient = Recipient::open_with_preview(&created.link, None, &devices, &|p| {
        *seen.lock().unwrap() = p.preface.clone();
        Ok(())
    })
    .await
    .unwrap();
    assert_eq!(
        seen.into_inner().unwrap().unwrap().unwrap().from,
        "Ada Lovelace"
    );
    assert_eq!(recipient.preface().unwrap().from, "Ada Lovelace");

    // A refusal before binding stops the open: nothing is bound.
    let other = ada
        .create_share(record, options(3600, false))
        .await
        .unwrap();
    let stopped = Recipient::open_with_preview(&other.link, None, &devices, &|_| {
        Err(ClientError::Invalid("not now".into()))
    })
    .await;
    assert!(matches!(stopped, Err(ClientError::Invalid(_))));
    let status = sharelock_client::share_status(&other.link, None)
        .await
        .unwrap();
    assert!(!status.bound);
    assert!(devices.load(&share_id_of(&other.link)).unwrap().is_none());

    // The server keeps only sealed prefaces of 284 or 540 bytes.
    let mut prepared = ada
        .prepare_record_and_share(&login_body(), &options(3600, false))
        .unwrap();
    let http = reqwest::Client::new();
    let post = |path: &str, json: Vec<u8>| {
        http.post(format!("{}/api/v1{path}", server.url))
            .bearer_auth(prepared.record.bearer.as_str())
            .header("content-type", "application/json")
            .body(json)
    };
    let answer = post(&prepared.record.path, prepared.record.json.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status(), 201);
    let mut share: serde_json::Value = serde_json::from_slice(&prepared.share.json).unwrap();
    for bad in [283usize, 285, 541, 100] {
        share["preface"] =
            serde_json::Value::String(sharelock_client::core::encoding::b64u(&vec![7u8; bad]));
        let answer = post(&prepared.share.path, serde_json::to_vec(&share).unwrap())
            .send()
            .await
            .unwrap();
        assert_eq!(answer.status(), 400, "a {bad}-byte preface");
        let error: serde_json::Value = answer.json().await.unwrap();
        assert_eq!(error["error"]["code"], "malformed_request");
    }
    // Without a preface (an older client) the share is made and opens as before.
    share["preface"] = serde_json::Value::Null;
    prepared.share.json = serde_json::to_vec(&share).unwrap();
    let answer = post(&prepared.share.path, prepared.share.json.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status(), 201);
    let preview = sharelock_client::share_preview(&prepared.link, None)
        .await
        .unwrap();
    assert!(preview.status.preface.is_none() && preview.preface.is_none());
    let fresh = MemoryDeviceStore::new();
    let plain = Recipient::open(&prepared.link, None, &fresh).await.unwrap();
    assert!(plain.preface().is_none());
    assert_eq!(field(plain.body(), "username"), SECRET_USER);
}
