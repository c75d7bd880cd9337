//! Many stateless nodes (issue 14): three `sharelock serve` processes on loopback ports over one throwaway
//! PostgreSQL database and one S3 endpoint (moto), behind a small TCP load balancer whose address is every
//! node's `public_url`, as in a deployment. Nothing about correctness may depend on which node a request
//! reaches.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::deployment::Deployment;
use sharelock_client::api::ErrorCode;
use sharelock_client::api::shares::Expiry;
use sharelock_client::core::record::{RecordBody, RecordType};
use sharelock_client::{
    ClientError, MemoryDeviceStore, NoProgress, OwnerSession, Recipient, ShareOptions,
};
use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant};
use tokio::net::{TcpListener, TcpStream};

const PASSWORD: &str = "correct horse battery staple";
const ROUND_ROBIN: usize = usize::MAX;
/// How soon an edit through one node must reach an owner's event stream on another (issue 14: PostgreSQL's
/// notifications wake every node's streams; the old 2 s polling would miss this).
const CROSS_NODE_EVENT: Duration = Duration::from_secs(1);

/// A TCP load balancer on loopback: each new connection goes to the next node (or to the one node
/// `route` names), skipping nodes that refuse connections, as a proxy's health checks would.
struct Balancer {
    url: String,
    nodes: Arc<RwLock<Vec<SocketAddr>>>,
    route: Arc<AtomicUsize>,
    /// Connections handed to each node.
    handed: Arc<Vec<AtomicUsize>>,
    task: tokio::task::JoinHandle<()>,
}

impl Balancer {
    async fn start(nodes: usize) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let addrs: Arc<RwLock<Vec<SocketAddr>>> = Arc::default();
        let route = Arc::new(AtomicUsize::new(ROUND_ROBIN));
        let handed: Arc<Vec<AtomicUsize>> =
            Arc::new((0..nodes).map(|_| AtomicUsize::new(0)).collect());
        let next = Arc::new(AtomicUsize::new(0));
        let task = {
            let (addrs, route, handed) = (addrs.clone(), route.clone(), handed.clone());
            tokio::spawn(async move {
                loop {
                    let Ok((mut inbound, _)) = listener.accept().await else {
                        return;
                    };
                    let nodes = addrs.read().unwrap().clone();
                    let first = match route.load(Ordering::SeqCst) {
                        ROUND_ROBIN => next.fetch_add(1, Ordering::SeqCst),
                        fixed => fixed,
                    };
                    let handed = handed.clone();
                    tokio::spawn(async move {
                        for attempt in 0..nodes.len() {
                            let node = (first + attempt) % nodes.len();
                            if let Ok(mut outbound) = TcpStream::connect(nodes[node]).await {
                                handed[node].fetch_add(1, Ordering::SeqCst);
                                let _ = tokio::io::copy_bidirectional(&mut inbound, &mut outbound)
                                    .await;
                                return;
                            }
                        }
                    });
                }
            })
        };
        Balancer {
            url,
            nodes: addrs,
            route,
            handed,
            task,
        }
    }

    /// New connections go to node `i` only (`None`: round robin).
    fn route(&self, node: Option<usize>) {
        self.route
            .store(node.unwrap_or(ROUND_ROBIN), Ordering::SeqCst);
    }

    fn handed(&self) -> Vec<usize> {
        self.handed
            .iter()
            .map(|n| n.load(Ordering::SeqCst))
            .collect()
    }
}

impl Drop for Balancer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

fn body(title: &str, password: &str) -> RecordBody {
    let mut body = RecordBody::new(RecordType::Login, title);
    body.set_field("password", password).unwrap();
    body
}

fn field(body: &RecordBody, name: &str) -> String {
    body.field(name)
        .map(|f| f.value.to_string())
        .unwrap_or_default()
}

fn options(editable: bool) -> ShareOptions {
    ShareOptions {
        expires: Expiry::InSeconds(86_400),
        editable,
        burn_after_secs: None,
        label: None,
        passphrase: None,
        view_once: false,
        from: None,
        destroy_after_secs: None,
    }
}

fn code_of<T: std::fmt::Debug>(result: Result<T, ClientError>) -> ErrorCode {
    match result {
        Ok(v) => panic!("expected an error, got {v:?}"),
        Err(e) => e.code().unwrap_or_else(|| panic!("not an API error: {e}")),
    }
}

fn token_of(session: &OwnerSession) -> String {
    let saved: serde_json::Value = serde_json::from_slice(&session.to_bytes().unwrap()).unwrap();
    saved["token"].as_str().unwrap().to_owned()
}

/// Logs in through the balancer with new connections going to `node`.
async fn login_on(lb: &Balancer, node: usize, email: &str) -> OwnerSession {
    lb.route(Some(node));
    let session = sharelock_client::login(&lb.url, email, PASSWORD)
        .await
        .unwrap();
    // The login's connection stays with the session; later new ones follow the route again.
    session
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn three_nodes_over_one_database_and_one_bucket_behave_as_one_server() {
    let lb = Balancer::start(3).await;
    let mut deployment = Deployment::start(
        3,
        &lb.url,
        &[
            // Every request reaches the nodes from the balancer's address: the per-address limiter
            // stays out of the way.
            ("SHARELOCK_RATE_LIMIT_PER_MINUTE", "100000"),
            ("SHARELOCK_SWEEP_INTERVAL", "2s"),
        ],
    )
    .await;
    let Deployment { nodes, bucket, .. } = &mut deployment;
    *lb.nodes.write().unwrap() = nodes.iter().map(|n| n.addr().parse().unwrap()).collect();

    lb.route(None);
    sharelock_client::register(&lb.url, "alice@example.org", PASSWORD)
        .await
        .unwrap();
    let mut alice = login_on(&lb, 0, "alice@example.org").await;
    let record = alice.create_record(&body("Bank", "first")).await.unwrap();

    // --- 100 concurrent first opens with different device keys, spread over the nodes ---
    let share = alice.create_share(record, options(true)).await.unwrap();
    let link = share.link.to_string();
    lb.route(None);
    let before = lb.handed();
    let opens: Vec<_> = (0..100)
        .map(|_| {
            let link = sharelock_client::core::share::Link::parse(&link).unwrap();
            tokio::spawn(async move {
                let device = MemoryDeviceStore::new();
                match Recipient::open(&link, None, &device).await {
                    Ok(opened) => Ok(opened.fingerprint().to_owned()),
                    Err(e) => Err(e.code()),
                }
            })
        })
        .collect();
    let mut winners = Vec::new();
    let (mut refused, mut held) = (0, 0);
    for open in opens {
        match open.await.unwrap() {
            Ok(fingerprint) => winners.push(fingerprint),
            Err(Some(ErrorCode::ShareBoundToOtherDevice)) => refused += 1,
            // Every attempt at T is counted before it is judged, on whichever node (protocol §5.4): those
            // that came while more than the free attempts were in flight wait.
            Err(Some(ErrorCode::TooManyAttempts)) => held += 1,
            Err(other) => panic!("an open failed otherwise: {other:?}"),
        }
    }
    assert_eq!(winners.len(), 1, "exactly one device binds");
    assert_eq!(
        refused + held,
        99,
        "every other device is refused with share_bound_to_other_device, or told to wait"
    );
    let spread: Vec<usize> = lb
        .handed()
        .iter()
        .zip(&before)
        .map(|(after, before)| after - before)
        .collect();
    assert!(
        spread.iter().all(|n| *n >= 10),
        "the opens reached every node: {spread:?}"
    );
    let listed = alice.list_shares(Some(record)).await.unwrap();
    let entry = listed.iter().find(|s| s.handle == share.handle).unwrap();
    assert_eq!(
        entry.device_fingerprint.as_deref(),
        Some(winners[0].as_str())
    );

    // --- a delete through node 1 is refused on nodes 2 and 3 at the very next request ---
    let doomed = alice.create_share(record, options(false)).await.unwrap();
    let device = MemoryDeviceStore::new();
    for node in [1, 2] {
        lb.route(Some(node));
        Recipient::open(&doomed.link, None, &device)
            .await
            .expect("the bound device reads through every node");
    }
    let mut alice_on_1 = login_on(&lb, 0, "alice@example.org").await;
    alice_on_1.delete_share(doomed.handle).await.unwrap();
    for node in [1, 2] {
        lb.route(Some(node));
        assert_eq!(
            code_of(Recipient::open(&doomed.link, None, &device).await),
            ErrorCode::ShareEnded,
            "node {} still served the deleted share",
            node + 1
        );
    }

    // --- a file uploaded through node 1 downloads byte-identical through node 3 ---
    let upload_dir = tempfile::tempdir().unwrap();
    let upload = upload_dir.path().join("contract.pdf");
    let file_bytes: Vec<u8> = (0..2_500_000u32).map(|i| (i ^ (i >> 9)) as u8).collect();
    std::fs::write(&upload, &file_bytes).unwrap();
    let mut alice_on_1 = login_on(&lb, 0, "alice@example.org").await;
    alice_on_1
        .attach_files(record, std::slice::from_ref(&upload), &NoProgress)
        .await
        .unwrap();
    assert!(
        !bucket.keys().await.is_empty(),
        "the parts went to the bucket"
    );
    let mut alice_on_3 = login_on(&lb, 2, "alice@example.org").await;
    let shown = alice_on_3.show_record(record).await.unwrap();
    let file = shown.body.files.first().expect("the record names its file");
    let out = tempfile::tempdir().unwrap();
    let saved = alice_on_3
        .download_file(record, file, out.path(), &NoProgress)
        .await
        .unwrap();
    assert_eq!(std::fs::read(saved).unwrap(), file_bytes);

    // --- an edit through node 2 reaches an owner's event stream attached to node 3 within a second ---
    let editable = alice_on_3
        .create_share(record, options(true))
        .await
        .unwrap();
    let editor_device = MemoryDeviceStore::new();
    lb.route(Some(1));
    let mut editor = Recipient::open(&editable.link, None, &editor_device)
        .await
        .unwrap();
    let mut stream = reqwest::Client::new()
        .get(format!("{}/api/v1/events", nodes[2].url))
        .bearer_auth(token_of(&alice_on_3))
        .send()
        .await
        .unwrap();
    assert_eq!(stream.status().as_u16(), 200);
    // The stream is attached once its first bytes (the keep-alive comment or nothing) can flow; give it
    // a moment to subscribe before the edit.
    tokio::time::sleep(Duration::from_millis(300)).await;
    let version = editor
        .set_fields(&[("password".into(), "second, through node 2".into())])
        .await
        .unwrap();
    let edited_at = Instant::now();
    let wanted = format!("\"number\":{version}");
    let mut seen = String::new();
    let arrived = tokio::time::timeout(Duration::from_secs(10), async {
        loop {
            let chunk = stream.chunk().await.unwrap().expect("the stream ended");
            seen.push_str(&String::from_utf8_lossy(&chunk));
            if seen.contains("record_edited") && seen.contains(&wanted) {
                return edited_at.elapsed();
            }
        }
    })
    .await
    .expect("the edit's event reaches the stream on node 3");
    assert!(
        arrived < CROSS_NODE_EVENT,
        "the event took {arrived:?} to reach another node's stream"
    );
    drop(stream);
    let shown = alice_on_1.show_record(record).await.unwrap();
    assert_eq!(field(&shown.body, "password"), "second, through node 2");

    // --- one node killed with SIGKILL in the middle of a write load loses no acknowledged write ---
    lb.route(None);
    let acknowledged: Arc<Mutex<Vec<uuid::Uuid>>> = Arc::default();
    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let mut writers = Vec::new();
    for w in 0..6 {
        let (acknowledged, stop, url) = (acknowledged.clone(), stop.clone(), lb.url.clone());
        let email = format!("writer{w}@example.org");
        sharelock_client::register(&url, &email, PASSWORD)
            .await
            .unwrap();
        writers.push(tokio::spawn(async move {
            let mut session = sharelock_client::login(&url, &email, PASSWORD)
                .await
                .unwrap();
            let (mut ok, mut failed) = (0usize, 0usize);
            let mut n = 0;
            while !stop.load(Ordering::SeqCst) {
                n += 1;
                match session
                    .create_record(&body(&format!("load {w}/{n}"), "x"))
                    .await
                {
                    Ok(id) => {
                        acknowledged.lock().unwrap().push(id);
                        ok += 1;
                    }
                    // Unacknowledged (the node died under it): the client may retry, it is not lost.
                    Err(_) => failed += 1,
                }
            }
            (email, ok, failed)
        }));
    }
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let killed_after = acknowledged.lock().unwrap().len();
    nodes[1].kill();
    tokio::time::sleep(Duration::from_millis(2500)).await;
    stop.store(true, Ordering::SeqCst);
    let mut written = Vec::new();
    for writer in writers {
        written.push(writer.await.unwrap());
    }
    let acknowledged = acknowledged.lock().unwrap().clone();
    assert!(killed_after > 0, "writes were acknowledged before the kill");
    assert!(
        acknowledged.len() > killed_after,
        "writes went on through the other nodes: {written:?}"
    );
    lb.route(Some(0));
    let mut found = std::collections::BTreeSet::new();
    for (email, _, _) in &written {
        let session = sharelock_client::login(&lb.url, email, PASSWORD)
            .await
            .unwrap();
        found.extend(session.record_ids().await.unwrap());
    }
    let lost: Vec<_> = acknowledged
        .iter()
        .filter(|id| !found.contains(id))
        .collect();
    assert!(lost.is_empty(), "acknowledged writes lost: {lost:?}");
    // And each one reads back whole through the surviving nodes.
    lb.route(Some(2));
    let mut reader = sharelock_client::login(&lb.url, &written[0].0, PASSWORD)
        .await
        .unwrap();
    for id in reader.record_ids().await.unwrap() {
        reader.show_record(id).await.unwrap();
    }
}

/// Signed webhooks on many nodes (docs/protocol.md §9.9): a node killed with SIGKILL while a receiver
/// holds its delivery attempt leaves the delivery to another node once the attempt's lease ends; the
/// receiver gets it again with the same id (at least once), and deliveries queued through any node are
/// each delivered, none lost.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_node_killed_mid_delivery_leaves_the_delivery_to_another() {
    use common::TestServer;
    use common::deployment::PRELOGIN_SECRET;
    use common::hooks::{Answer, Receiver};
    use sharelock_client::api::webhooks::DeliveryState;
    use sharelock_store::postgres::test_cluster::fresh_database;

    let database = fresh_database().await;
    // The first request is never answered: its node is killed while it waits.
    let receiver = Receiver::start(vec![Answer::Hang]).await;
    let env = [
        ("SHARELOCK_DATABASE_URL", database.url()),
        ("SHARELOCK_PRELOGIN_SECRET", PRELOGIN_SECRET),
        ("SHARELOCK_RATE_LIMIT_PER_MINUTE", "100000"),
        ("SHARELOCK_WEBHOOK_ALLOW_LOOPBACK", "true"),
        // A 2 s attempt timeout gives a 9 s lease (twice the timeout and 5 s).
        ("SHARELOCK_WEBHOOK_TIMEOUT", "2s"),
        ("SHARELOCK_WEBHOOK_RETRY_BASE", "1s"),
        ("SHARELOCK_WEBHOOK_POLL_INTERVAL", "250ms"),
    ];
    let dirs: Vec<tempfile::TempDir> = (0..3).map(|_| tempfile::tempdir().unwrap()).collect();
    let mut first = TestServer::start_node("127.0.0.1:0", dirs[0].path().to_path_buf(), &env);

    sharelock_client::register(&first.url, "alice@example.org", PASSWORD)
        .await
        .unwrap();
    let mut alice = sharelock_client::login(&first.url, "alice@example.org", PASSWORD)
        .await
        .unwrap();
    let created = alice
        .create_webhook(
            &format!("{}/in", receiver.url),
            &["share_opened".to_owned()],
        )
        .await
        .unwrap();
    let secret = created.secret;
    let hook = created.webhook.id;
    let record = alice.create_record(&body("Bank", "first")).await.unwrap();
    let share = alice.create_share(record, options(false)).await.unwrap();
    let device = MemoryDeviceStore::new();
    Recipient::open(&share.link, None, &device).await.unwrap();

    // The only node claims the delivery and waits for the receiver, which never answers: kill it.
    let held = receiver
        .wait_until(Duration::from_secs(20), |r| !r.is_empty())
        .await;
    first.kill();
    let killed_at = Instant::now();
    let others: Vec<TestServer> = dirs[1..]
        .iter()
        .map(|d| TestServer::start_node("127.0.0.1:0", d.path().to_path_buf(), &env))
        .collect();

    let got = receiver
        .wait_until(Duration::from_secs(30), |r| r.len() >= 2)
        .await;
    assert_eq!(got[1].id, held[0].id, "the same delivery, again");
    assert!(
        got[1].at.duration_since(held[0].at) >= Duration::from_secs(7),
        "not before the dead node's lease ended"
    );
    let now = || {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs() as i64
    };
    for r in &got {
        sharelock_client::core::webhook::verify(
            secret.as_bytes(),
            &r.timestamp,
            &r.signature,
            &r.body,
            now(),
            300,
        )
        .unwrap();
    }
    let alice_on_2 = sharelock_client::login(&others[0].url, "alice@example.org", PASSWORD)
        .await
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(10);
    let delivered = loop {
        let list = alice_on_2.webhook_deliveries(hook, 10).await.unwrap();
        if list[0].state == DeliveryState::Delivered {
            break list;
        }
        assert!(Instant::now() < deadline, "not delivered: {list:#?}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    let d = &delivered[0];
    assert_eq!(d.id.to_string(), held[0].id);
    assert_eq!(d.attempts, 2);
    assert_eq!(
        d.log[0].finished_at, None,
        "the killed node's attempt has no outcome"
    );
    assert_eq!(d.log[1].status, Some(200));
    assert!(killed_at.elapsed() < Duration::from_secs(60));

    // Deliveries queued through either surviving node are each delivered: none lost.
    let mut sessions = Vec::new();
    for node in &others {
        sessions.push(
            sharelock_client::login(&node.url, "alice@example.org", PASSWORD)
                .await
                .unwrap(),
        );
    }
    let mut queued = Vec::new();
    for i in 0..20 {
        queued.push(sessions[i % 2].ping_webhook(hook).await.unwrap());
    }
    let got = receiver
        .wait_until(Duration::from_secs(30), |r| {
            queued
                .iter()
                .all(|id| r.iter().any(|x| x.id == id.to_string()))
        })
        .await;
    let deadline = Instant::now() + Duration::from_secs(10);
    let list = loop {
        let list = sessions[0].webhook_deliveries(hook, 100).await.unwrap();
        let settled = queued.iter().all(|id| {
            list.iter()
                .any(|d| d.id == *id && d.state == DeliveryState::Delivered)
        });
        if settled {
            break list;
        }
        assert!(Instant::now() < deadline, "not all delivered: {list:#?}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    // Two nodes' workers poll the one outbox: each queued delivery was claimed once and sent once.
    let received = receiver.received();
    assert!(received.len() >= got.len());
    for id in &queued {
        let d = list.iter().find(|d| d.id == *id).unwrap();
        assert_eq!(
            d.attempts, 1,
            "delivery {id} was claimed more than once: {d:#?}"
        );
        let times = received.iter().filter(|x| x.id == id.to_string()).count();
        assert_eq!(times, 1, "delivery {id} was sent {times} times");
    }
}
