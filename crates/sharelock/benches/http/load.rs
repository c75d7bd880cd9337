//! The load generator: pre-built HTTP/1.1 requests sent over keep-alive connections by a two-thread tokio
//! runtime in this process (as `wrk -t2` would), one request in flight per connection. Nothing is signed,
//! sealed or serialised while the clock runs: a request is a method, a path, headers and body bytes made
//! beforehand.

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::header::{HeaderName, HeaderValue};
use hyper::{Method, Request};
use hyper_util::rt::TokioIo;
use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

/// One request, ready to send. `tag` names what it belongs to (a share, for the bind check).
#[derive(Clone)]
pub struct Req {
    pub method: Method,
    pub path: String,
    pub headers: Vec<(HeaderName, HeaderValue)>,
    pub body: Bytes,
    pub tag: u32,
}

impl Req {
    pub fn get(path: &str) -> Self {
        Req {
            method: Method::GET,
            path: path.to_owned(),
            headers: Vec::new(),
            body: Bytes::new(),
            tag: 0,
        }
    }

    pub fn header(mut self, name: &str, value: &str) -> Self {
        self.headers.push((
            HeaderName::from_bytes(name.as_bytes()).expect("header name"),
            HeaderValue::from_str(value).expect("header value"),
        ));
        self
    }
}

/// Where the connections take their requests from.
pub enum Feed {
    /// One list shared by every connection, taken in turn; `cycle` starts it over at the end, otherwise the
    /// run ends when it is used up.
    Shared { requests: Vec<Req>, cycle: bool },
    /// A list per connection, sent in order (a chain of edits of one share).
    PerConnection(Vec<Vec<Req>>),
}

/// What a run measured.
#[derive(Default)]
pub struct Outcome {
    pub elapsed: Duration,
    /// Latency of every answered request, in microseconds.
    pub latencies_us: Vec<u32>,
    pub statuses: BTreeMap<u16, u64>,
    /// `(tag, status)` of every answer, when asked for.
    pub answers: Vec<(u32, u16)>,
    /// Connections that failed (refused, reset): the run is not trustworthy if any did.
    pub failures: u64,
}

impl Outcome {
    pub fn count(&self) -> u64 {
        self.latencies_us.len() as u64
    }

    pub fn rate(&self) -> f64 {
        self.count() as f64 / self.elapsed.as_secs_f64().max(1e-9)
    }

    /// Latency percentile `q` (0–1) in milliseconds.
    pub fn percentile_ms(&self, sorted: &[u32], q: f64) -> f64 {
        if sorted.is_empty() {
            return 0.0;
        }
        let i = ((sorted.len() as f64 - 1.0) * q).round() as usize;
        f64::from(sorted[i]) / 1000.0
    }

    pub fn percentiles(&self) -> (f64, f64, f64) {
        let mut sorted = self.latencies_us.clone();
        sorted.sort_unstable();
        (
            self.percentile_ms(&sorted, 0.50),
            self.percentile_ms(&sorted, 0.99),
            self.percentile_ms(&sorted, 0.999),
        )
    }

    /// Answers whose status is not among `expected`.
    pub fn unexpected(&self, expected: &[u16]) -> u64 {
        self.statuses
            .iter()
            .filter(|(s, _)| !expected.contains(s))
            .map(|(_, n)| n)
            .sum()
    }
}

struct PerConnection {
    latencies_us: Vec<u32>,
    statuses: BTreeMap<u16, u64>,
    answers: Vec<(u32, u16)>,
    failed: bool,
}

/// Sends `feed` to `addr` over `connections` connections for at most `duration` (or until the feed is
/// used up). All connections are open before the clock starts.
pub fn run(
    runtime: &tokio::runtime::Runtime,
    addr: SocketAddr,
    feed: Feed,
    connections: usize,
    duration: Duration,
    keep_answers: bool,
) -> Outcome {
    runtime.block_on(async move {
        let host = HeaderValue::from_str(&addr.to_string()).expect("host");
        let mut senders = Vec::with_capacity(connections);
        for _ in 0..connections {
            let stream = tokio::net::TcpStream::connect(addr).await.expect("connect");
            stream.set_nodelay(true).expect("nodelay");
            let (sender, connection) =
                hyper::client::conn::http1::handshake::<_, Full<Bytes>>(TokioIo::new(stream))
                    .await
                    .expect("handshake");
            tokio::spawn(connection);
            senders.push(sender);
        }
        let (shared, per_connection, cycle) = match feed {
            Feed::Shared { requests, cycle } => (Arc::new(requests), None, cycle),
            Feed::PerConnection(lists) => (Arc::new(Vec::new()), Some(lists), false),
        };
        let mut own_lists = per_connection.map(|lists| lists.into_iter());
        let next = Arc::new(AtomicUsize::new(0));
        let started = Instant::now();
        let deadline = started + duration;
        let mut tasks = Vec::with_capacity(connections);
        for mut sender in senders {
            let own = own_lists
                .as_mut()
                .map(|lists| lists.next().unwrap_or_default());
            let shared = Arc::clone(&shared);
            let next = Arc::clone(&next);
            let host = host.clone();
            tasks.push(tokio::spawn(async move {
                let mut out = PerConnection {
                    latencies_us: Vec::with_capacity(1 << 14),
                    statuses: BTreeMap::new(),
                    answers: Vec::new(),
                    failed: false,
                };
                let mut own_index = 0;
                loop {
                    let req = match &own {
                        Some(list) => {
                            own_index += 1;
                            list.get(own_index - 1)
                        }
                        None => {
                            let i = next.fetch_add(1, Ordering::Relaxed);
                            if cycle {
                                shared.get(i % shared.len().max(1))
                            } else {
                                shared.get(i)
                            }
                        }
                    };
                    let Some(req) = req else { break };
                    if Instant::now() >= deadline {
                        break;
                    }
                    let mut request = Request::builder()
                        .method(req.method.clone())
                        .uri(req.path.as_str())
                        .header(hyper::header::HOST, host.clone());
                    for (name, value) in &req.headers {
                        request = request.header(name, value);
                    }
                    let request = request.body(Full::new(req.body.clone())).expect("request");
                    let at = Instant::now();
                    let answer = match sender.send_request(request).await {
                        Ok(response) => {
                            let status = response.status().as_u16();
                            response.into_body().collect().await.map(|_| status)
                        }
                        Err(e) => {
                            eprintln!("request failed: {e}");
                            out.failed = true;
                            break;
                        }
                    };
                    match answer {
                        Ok(status) => {
                            let us = at.elapsed().as_micros().min(u128::from(u32::MAX)) as u32;
                            out.latencies_us.push(us);
                            *out.statuses.entry(status).or_default() += 1;
                            if keep_answers {
                                out.answers.push((req.tag, status));
                            }
                        }
                        Err(e) => {
                            eprintln!("reading an answer failed: {e}");
                            out.failed = true;
                            break;
                        }
                    }
                }
                out
            }));
        }
        let mut outcome = Outcome::default();
        for task in tasks {
            let part = task.await.expect("connection task");
            outcome.latencies_us.extend(part.latencies_us);
            for (status, n) in part.statuses {
                *outcome.statuses.entry(status).or_default() += n;
            }
            outcome.answers.extend(part.answers);
            outcome.failures += u64::from(part.failed);
        }
        outcome.elapsed = started.elapsed();
        outcome
    })
}
