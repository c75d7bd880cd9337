//! What an operator sees of a running server, through the real binary: a request id on every response
//! and log line (a trusted proxy's, or a fresh one), process metrics on `/metrics`, a separate metrics
//! listener, and the web app served precompressed with the same headers in every encoding.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::TestServer;
use reqwest::header::HeaderMap;
use std::io::Read;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

fn client() -> reqwest::Client {
    reqwest::Client::builder().build().unwrap()
}

async fn get(url: &str, headers: &[(&str, &str)]) -> reqwest::Response {
    let mut request = client().get(url);
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    request.send().await.unwrap()
}

fn request_id(response: &reqwest::Response) -> String {
    response
        .headers()
        .get("x-request-id")
        .unwrap_or_else(|| panic!("no x-request-id on {}", response.url()))
        .to_str()
        .unwrap()
        .to_owned()
}

/// The server's JSON log lines that mention `needle`.
fn log_lines_with(server: &TestServer, needle: &str) -> Vec<serde_json::Value> {
    server
        .log()
        .lines()
        .filter(|line| line.contains(needle))
        .map(|line| serde_json::from_str(line).unwrap_or_else(|e| panic!("{e}: {line}")))
        .collect()
}

/// Waits (at most 10 s) until the server has logged a line containing `needle`.
async fn wait_for_log(server: &TestServer, needle: &str) -> Vec<serde_json::Value> {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let lines = log_lines_with(server, needle);
        if !lines.is_empty() || Instant::now() > deadline {
            return lines;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn request_ids_are_made_or_taken_from_a_trusted_proxy_and_logged() {
    // Nobody is trusted: a client's own X-Request-Id is ignored, every response gets a fresh id.
    let server = TestServer::start_with(&[("SHARELOCK_LOG_FORMAT", "json")]);
    let spoofed = get(
        &format!("{}/api/v1/policy", server.url),
        &[("x-request-id", "chosen-by-the-client")],
    )
    .await;
    let first = request_id(&spoofed);
    assert_ne!(first, "chosen-by-the-client");
    uuid::Uuid::parse_str(&first).expect("a fresh id is a UUID");
    let second = request_id(&get(&format!("{}/healthz", server.url), &[]).await);
    assert_ne!(first, second, "each request its own id");
    // Errors carry one too: a route that does not exist, a method a route does not take.
    let missing = get(&format!("{}/no/such/route", server.url), &[]).await;
    assert_eq!(missing.status(), 404);
    request_id(&missing);
    let wrong_method = client()
        .delete(format!("{}/api/v1/policy", server.url))
        .send()
        .await
        .unwrap();
    assert_eq!(wrong_method.status(), 400);
    request_id(&wrong_method);
    // The access log line of the request carries the id the response named.
    let lines = wait_for_log(&server, &first).await;
    let access = lines
        .iter()
        .find(|l| l["target"] == "sharelock::access")
        .unwrap_or_else(|| panic!("no access log line with {first}: {lines:?}"));
    assert_eq!(access["span"]["id"], first.as_str(), "{access}");
    assert_eq!(access["fields"]["route"], "/api/v1/policy", "{access}");
    assert!(!server.log().contains("chosen-by-the-client"));
    drop(server);

    // Behind a trusted proxy (the loopback here) its id is kept, if it is a plain token.
    let server = TestServer::start_with(&[
        ("SHARELOCK_LOG_FORMAT", "json"),
        ("SHARELOCK_TRUSTED_PROXIES", "127.0.0.1"),
    ]);
    let proxied = get(
        &format!("{}/api/v1/policy", server.url),
        &[("x-request-id", "edge-7f3a:42")],
    )
    .await;
    assert_eq!(request_id(&proxied), "edge-7f3a:42");
    let lines = wait_for_log(&server, "edge-7f3a:42").await;
    assert!(
        lines
            .iter()
            .any(|l| l["target"] == "sharelock::access" && l["span"]["id"] == "edge-7f3a:42"),
        "{lines:?}"
    );
    // One that could break a log line, or is too long, is replaced.
    for bad in ["two words", &"x".repeat(129)] {
        let response = get(&format!("{}/healthz", server.url), &[("x-request-id", bad)]).await;
        let id = request_id(&response);
        assert_ne!(id, bad);
        uuid::Uuid::parse_str(&id).unwrap();
    }
    drop(server);

    // Text log lines name the request's span and its id, in plain text when stderr is no terminal.
    let server = TestServer::start();
    let id = request_id(&get(&format!("{}/api/v1/policy", server.url), &[]).await);
    let wanted = format!("request{{id={id}}}");
    let deadline = Instant::now() + Duration::from_secs(10);
    while !server
        .log()
        .lines()
        .any(|l| l.contains(&wanted) && l.contains("sharelock::access"))
    {
        assert!(
            Instant::now() < deadline,
            "no access line with {wanted}:\n{}",
            server.log()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(!server.log().contains('\u{1b}'), "{}", server.log());
}

/// The value of the sample named `name` (without labels) in a Prometheus text exposition.
fn sample(text: &str, name: &str) -> f64 {
    text.lines()
        .filter(|l| !l.starts_with('#'))
        .find_map(|l| {
            let (metric, value) = l.rsplit_once(' ')?;
            (metric == name)
                .then(|| value.parse::<f64>().ok())
                .flatten()
        })
        .unwrap_or_else(|| panic!("no {name} in:\n{text}"))
}

fn assert_process_metrics(text: &str, pid: u32) {
    let rss = sample(text, "process_resident_memory_bytes");
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    let vm_rss_kib: f64 = status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .unwrap()
        .trim()
        .trim_end_matches("kB")
        .trim()
        .parse()
        .unwrap();
    // The same process measured twice, moments apart.
    assert!(
        (rss / 1024.0 - vm_rss_kib).abs() < vm_rss_kib * 0.5,
        "rss {rss} vs VmRSS {vm_rss_kib} KiB"
    );
    let threads = sample(text, "process_threads");
    let tasks = std::fs::read_dir(format!("/proc/{pid}/task"))
        .unwrap()
        .count() as f64;
    // Blocking-pool threads come and go between the scrape and the look at /proc.
    assert!(
        threads >= 2.0 && (threads - tasks).abs() <= (tasks / 4.0).max(4.0),
        "{threads} vs {tasks}"
    );
    let fds = sample(text, "process_open_fds");
    assert!(fds >= 4.0, "{fds}");
    assert!(sample(text, "process_max_fds") >= fds);
    assert!(sample(text, "process_cpu_seconds_total") >= 0.0);
    let started = sample(text, "process_start_time_seconds");
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs_f64();
    assert!(
        started <= now + 1.0 && started > now - 600.0,
        "{started} vs {now}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_include_the_process_and_can_have_a_listener_of_their_own() {
    let server = TestServer::start();
    // A request first: request metrics appear once one has been counted.
    assert_eq!(
        get(&format!("{}/healthz", server.url), &[]).await.status(),
        200
    );
    let response = get(&format!("{}/metrics", server.url), &[]).await;
    assert_eq!(response.status(), 200);
    let text = response.text().await.unwrap();
    assert_process_metrics(&text, server.pid());
    assert!(text.contains("sharelock_http_requests_total"), "{text}");
    drop(server);

    let server = TestServer::start_with(&[("SHARELOCK_METRICS_LISTEN", "127.0.0.1:0")]);
    let deadline = Instant::now() + Duration::from_secs(10);
    let metrics_url = loop {
        if let Some(url) = server
            .stdout()
            .lines()
            .find_map(|l| l.strip_prefix("sharelock metrics on "))
        {
            break url.trim().to_owned();
        }
        assert!(
            Instant::now() < deadline,
            "no metrics line: {}",
            server.stdout()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert_ne!(metrics_url, server.url);
    // The main listener no longer answers /metrics; the metrics listener answers nothing else.
    assert_eq!(
        get(&format!("{}/metrics", server.url), &[]).await.status(),
        404
    );
    assert_eq!(
        get(&format!("{}/healthz", server.url), &[]).await.status(),
        200
    );
    assert_eq!(
        get(&format!("{metrics_url}/healthz"), &[]).await.status(),
        404
    );
    assert_eq!(get(&format!("{metrics_url}/"), &[]).await.status(), 404);
    let response = get(&format!("{metrics_url}/metrics"), &[]).await;
    assert_eq!(response.status(), 200);
    request_id(&response);
    let text = response.text().await.unwrap();
    assert_process_metrics(&text, server.pid());
    // Requests to the main listener are counted there.
    assert!(text.contains("route=\"/healthz\""), "{text}");
}

/// The headers that must not depend on the encoding.
fn comparable(headers: &HeaderMap) -> Vec<(String, String)> {
    let mut kept: Vec<(String, String)> = headers
        .iter()
        .filter(|(name, _)| {
            !matches!(
                name.as_str(),
                "content-encoding" | "content-length" | "date" | "x-request-id"
            )
        })
        .map(|(n, v)| (n.to_string(), v.to_str().unwrap().to_owned()))
        .collect();
    kept.sort();
    kept
}

fn unbrotli(bytes: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    brotli::Decompressor::new(bytes, 4096)
        .read_to_end(&mut out)
        .unwrap();
    out
}

fn gunzip(bytes: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    flate2::read::GzDecoder::new(bytes)
        .read_to_end(&mut out)
        .unwrap();
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_web_app_is_served_precompressed_with_the_same_headers() {
    let server = TestServer::start();
    let page = get(&format!("{}/", server.url), &[]).await;
    let html = page.text().await.unwrap();
    let script = html
        .split("src=\"")
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .expect("the page names its script")
        .trim_start_matches('.')
        .to_owned();
    for path in ["/", "/s", script.as_str(), "/favicon.svg"] {
        let url = format!("{}{path}", server.url);
        let plain = get(&url, &[]).await;
        assert_eq!(plain.status(), 200, "{path}");
        assert!(plain.headers().get("content-encoding").is_none(), "{path}");
        let plain_headers = plain.headers().clone();
        assert_eq!(
            plain_headers.get("vary").map(|v| v.to_str().unwrap()),
            Some("accept-encoding"),
            "{path}"
        );
        let identity = plain.bytes().await.unwrap().to_vec();

        let br = get(&url, &[("accept-encoding", "gzip, deflate, br, zstd")]).await;
        assert_eq!(br.headers()["content-encoding"], "br", "{path}");
        assert_eq!(
            comparable(br.headers()),
            comparable(&plain_headers),
            "{path}"
        );
        let packed = br.bytes().await.unwrap();
        assert!(packed.len() < identity.len(), "{path}");
        assert_eq!(unbrotli(&packed), identity, "{path}");

        let gzip = get(&url, &[("accept-encoding", "gzip;q=1, br;q=0")]).await;
        assert_eq!(gzip.headers()["content-encoding"], "gzip", "{path}");
        assert_eq!(
            comparable(gzip.headers()),
            comparable(&plain_headers),
            "{path}"
        );
        assert_eq!(gunzip(&gzip.bytes().await.unwrap()), identity, "{path}");

        let refused = get(&url, &[("accept-encoding", "br;q=0, gzip;q=0")]).await;
        assert!(
            refused.headers().get("content-encoding").is_none(),
            "{path}"
        );
        assert_eq!(refused.bytes().await.unwrap().to_vec(), identity, "{path}");
    }
    // Pages keep their policy in every encoding (compared above); it is the page policy, not the API's.
    let page = get(&format!("{}/s", server.url), &[("accept-encoding", "br")]).await;
    let csp = page.headers()["content-security-policy"].to_str().unwrap();
    assert!(csp.contains("script-src 'self'"), "{csp}");
}
