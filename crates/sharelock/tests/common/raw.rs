//! HTTP/1.1 by hand over a TCP stream, for tests that need what a client library hides: a request head sent
//! without its body, a body sent slowly, a connection that says nothing.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use sharelock_client::core::device::DeviceKey;
use sharelock_client::core::httpsig::{RequestParts, content_digest, sign};
use sharelock_client::core::share::ShareId;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// A response as read off the wire.
#[derive(Debug)]
pub struct Response {
    pub status: u16,
    pub head: String,
    pub body: String,
}

impl Response {
    /// The JSON error code of the body (empty if there is none).
    pub fn code(&self) -> String {
        serde_json::from_str::<serde_json::Value>(&self.body)
            .ok()
            .and_then(|v| v["error"]["code"].as_str().map(str::to_owned))
            .unwrap_or_default()
    }

    /// A header's value (names compared case-insensitively).
    pub fn header(&self, name: &str) -> Option<String> {
        self.head.lines().skip(1).find_map(|line| {
            let (n, v) = line.split_once(':')?;
            n.trim()
                .eq_ignore_ascii_case(name)
                .then(|| v.trim().to_owned())
        })
    }
}

/// Opens a connection to `addr` (`host:port`) and writes `head` (and nothing more).
pub async fn send_head(addr: &str, head: &str) -> TcpStream {
    let mut stream = TcpStream::connect(addr).await.expect("connect");
    stream.write_all(head.as_bytes()).await.expect("write head");
    stream
}

/// Reads one response within `within`; `None` if none arrived in time (or the connection closed first).
pub async fn read_response(stream: &mut TcpStream, within: Duration) -> Option<Response> {
    tokio::time::timeout(within, read_one(stream))
        .await
        .ok()
        .flatten()
}

async fn read_one(stream: &mut TcpStream) -> Option<Response> {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 4096];
    let head_end = loop {
        if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break i + 4;
        }
        let n = stream.read(&mut chunk).await.ok()?;
        if n == 0 {
            return None;
        }
        buf.extend_from_slice(&chunk[..n]);
    };
    let head = String::from_utf8_lossy(&buf[..head_end]).into_owned();
    let status = head.split_whitespace().nth(1)?.parse().ok()?;
    let mut response = Response {
        status,
        head,
        body: String::new(),
    };
    let length: usize = response
        .header("content-length")
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    while buf.len() < head_end + length {
        let n = stream.read(&mut chunk).await.ok()?;
        if n == 0 {
            break;
        }
        buf.extend_from_slice(&chunk[..n]);
    }
    let end = buf.len().min(head_end + length);
    response.body = String::from_utf8_lossy(&buf[head_end..end]).into_owned();
    Some(response)
}

/// Whether the server closes the connection within `within` (reading and discarding whatever it sends).
pub async fn closed_within(stream: &mut TcpStream, within: Duration) -> bool {
    let mut chunk = [0u8; 4096];
    tokio::time::timeout(within, async {
        loop {
            match stream.read(&mut chunk).await {
                Ok(0) | Err(_) => return,
                Ok(_) => continue,
            }
        }
    })
    .await
    .is_ok()
}

/// Who signs a hand-made recipient request: the device `key`, for `share`, on the server at `url`.
pub struct Signer<'a> {
    pub url: &'a str,
    pub share: &'a ShareId,
    pub key: &'a DeviceKey,
    /// The signature's `created` time; now if `None`.
    pub created: Option<i64>,
}

impl Signer<'_> {
    /// The head of a request to `path` (under `/api/v1`) declaring `content_length` bytes. With `digest_of`,
    /// the signature covers the `Content-Digest` of those bytes (which need not be the bytes then sent).
    pub fn head(
        &self,
        method: &str,
        path: &str,
        digest_of: Option<&[u8]>,
        content_length: usize,
    ) -> String {
        let url = self.url;
        let target = format!("{url}/api/v1{path}");
        let share_header = self.share.to_b64u();
        let digest = digest_of.map(content_digest);
        let content_type = digest_of.map(|_| "application/octet-stream");
        let parts = RequestParts {
            method,
            target_uri: &target,
            share_header: &share_header,
            content_type,
            content_digest: digest.as_deref(),
        };
        let now = self
            .created
            .unwrap_or_else(|| time::OffsetDateTime::now_utc().unix_timestamp());
        let nonce = *uuid::Uuid::new_v4().as_bytes();
        let sig = sign(self.key, &parts, now, nonce).unwrap();
        let host = url.trim_start_matches("http://");
        let mut head = format!(
            "{method} /api/v1{path} HTTP/1.1\r\nhost: {host}\r\nsharelock-share: {share_header}\r\n\
             signature-input: {}\r\nsignature: {}\r\ncontent-length: {content_length}\r\n",
            sig.signature_input, sig.signature
        );
        if let (Some(digest), Some(content_type)) = (digest, content_type) {
            head.push_str(&format!(
                "content-digest: {digest}\r\ncontent-type: {content_type}\r\n"
            ));
        }
        head.push_str("\r\n");
        head
    }
}

/// Resident memory of a process, in bytes (Linux `/proc`).
pub fn rss_bytes(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    status
        .lines()
        .find_map(|line| line.strip_prefix("VmRSS:"))
        .and_then(|rest| {
            rest.trim()
                .trim_end_matches("kB")
                .trim()
                .parse::<u64>()
                .ok()
        })
        .map_or(0, |kib| kib * 1024)
}
