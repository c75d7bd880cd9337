//! Signed webhooks through the real binary (docs/protocol.md §9.9): a receiver on loopback gets the
//! events it subscribed to, signed with the secret shown at creation, retried after it fails, listed
//! with each attempt's outcome; URLs the server refuses are refused; no redirect is followed; the body
//! carries no record content or link secret.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::TestServer;
use common::hooks::{Answer, Received, Receiver};
use sharelock_client::api::ErrorCode;
use sharelock_client::api::shares::Expiry;
use sharelock_client::api::webhooks::{DeliveryState, WebhookPayload};
use sharelock_client::core::record::{RecordBody, RecordType};
use sharelock_client::core::webhook::verify;
use sharelock_client::{MemoryDeviceStore, NoProgress, OwnerSession, Recipient, ShareOptions};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

const PASSWORD: &str = "correct horse battery staple";
const SECRET_FIELD: &str = "the password nobody may see";

fn now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

fn kinds(list: &[&str]) -> Vec<String> {
    list.iter().map(|k| (*k).to_owned()).collect()
}

/// Checks a request as a receiver must (signature over the raw body, fresh timestamp) and parses it.
fn verified(r: &Received, secret: &str) -> WebhookPayload {
    verify(
        secret.as_bytes(),
        &r.timestamp,
        &r.signature,
        &r.body,
        now(),
        300,
    )
    .unwrap_or_else(|e| panic!("a delivery did not verify ({e}): {r:?}"));
    assert!(r.signature.starts_with("v1="), "{}", r.signature);
    assert_eq!(r.content_type, "application/json");
    // Strict: a field beyond the documented ones fails here.
    serde_json::from_slice(&r.body).unwrap()
}

async fn deliveries_until(
    alice: &OwnerSession,
    hook: uuid::Uuid,
    within: Duration,
    done: impl Fn(&[sharelock_client::api::webhooks::DeliveryInfo]) -> bool,
) -> Vec<sharelock_client::api::webhooks::DeliveryInfo> {
    let deadline = std::time::Instant::now() + within;
    loop {
        let list = alice.webhook_deliveries(hook, 100).await.unwrap();
        if done(&list) {
            return list;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the deliveries did not settle: {list:#?}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deliveries_are_signed_retried_and_listed() {
    let server = TestServer::start_with(&[
        ("SHARELOCK_WEBHOOK_ALLOW_LOOPBACK", "true"),
        ("SHARELOCK_WEBHOOK_RETRY_BASE", "1s"),
        ("SHARELOCK_WEBHOOK_MAX_ATTEMPTS", "3"),
        ("SHARELOCK_WEBHOOK_POLL_INTERVAL", "200ms"),
        ("SHARELOCK_WEBHOOK_MAX_ENDPOINTS", "3"),
    ]);
    // The first delivery fails (500), its retry is taken.
    let receiver = Receiver::start(vec![Answer::Status(500)]).await;
    sharelock_client::register(&server.url, "alice@example.org", PASSWORD)
        .await
        .unwrap();
    let mut alice = sharelock_client::login(&server.url, "alice@example.org", PASSWORD)
        .await
        .unwrap();

    // URLs the server refuses, whatever else is right.
    for refused in [
        "http://hooks.example.org/in",
        "https://10.0.0.7/in",
        "https://169.254.169.254/latest/meta-data",
        "https://[fd00::1]/in",
        "https://user:pw@hooks.example.org/in",
        "ftp://hooks.example.org/in",
    ] {
        let e = alice
            .create_webhook(refused, &kinds(&["share_opened"]))
            .await
            .unwrap_err();
        assert_eq!(e.code(), Some(ErrorCode::WebhookUrlNotAllowed), "{refused}");
    }
    let long = format!("https://hooks.example.org/{}", "a".repeat(2100));
    assert_eq!(
        alice
            .create_webhook(&long, &kinds(&["share_opened"]))
            .await
            .unwrap_err()
            .code(),
        Some(ErrorCode::WebhookUrlNotAllowed)
    );
    assert_eq!(
        alice
            .create_webhook(&format!("{}/in", receiver.url), &kinds(&["share_openned"]))
            .await
            .unwrap_err()
            .code(),
        Some(ErrorCode::MalformedRequest)
    );

    let created = alice
        .create_webhook(
            &format!("{}/in", receiver.url),
            &kinds(&[
                "share_opened",
                "record_edited",
                "file_added",
                "share_ended",
                "access_failures",
                "device_refused",
            ]),
        )
        .await
        .unwrap();
    let secret = created.secret.clone();
    assert!(secret.starts_with("whsec_"));
    let hook = created.webhook.id;
    let listed = alice.webhooks().await.unwrap();
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0].kinds.len(), 6);
    assert!(
        !serde_json::to_string(&listed).unwrap().contains(&secret),
        "the secret is shown once"
    );

    // An event: the share is opened. The first attempt gets 500, the second 200.
    let mut body = RecordBody::new(RecordType::Login, "Bank of Secrets");
    body.set_field("password", SECRET_FIELD).unwrap();
    let record = alice.create_record(&body).await.unwrap();
    let share = alice
        .create_share(
            record,
            ShareOptions {
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
        .await
        .unwrap();
    let device = MemoryDeviceStore::new();
    let mut opened = Recipient::open(&share.link, None, &device).await.unwrap();
    let got = receiver
        .wait_until(Duration::from_secs(20), |r| r.len() >= 2)
        .await;
    assert_eq!(got[0].id, got[1].id, "a retry carries the same delivery id");
    let first = verified(&got[0], &secret);
    let second = verified(&got[1], &secret);
    assert_eq!(first.kind, "share_opened");
    assert_eq!(first.share, Some(share.handle));
    assert_eq!(first.record, Some(record));
    assert_eq!(first.event_id, second.event_id);
    let link = share.link.to_string();
    let secret_part = link.split('#').nth(1).unwrap();
    for r in &got {
        let text = String::from_utf8_lossy(&r.body);
        assert!(!text.contains("Bank of Secrets") && !text.contains(SECRET_FIELD));
        assert!(!text.contains(secret_part), "no link secret");
    }
    // A signature made with another secret, or over another body, does not verify.
    assert!(
        verify(
            b"whsec_other",
            &got[0].timestamp,
            &got[0].signature,
            &got[0].body,
            now(),
            300
        )
        .is_err()
    );
    assert!(
        verify(
            secret.as_bytes(),
            &got[0].timestamp,
            &got[0].signature,
            b"{}",
            now(),
            300
        )
        .is_err()
    );
    assert!(
        verify(
            secret.as_bytes(),
            &got[0].timestamp,
            &got[0].signature,
            &got[0].body,
            now() + 301,
            300
        )
        .is_err(),
        "an old timestamp is refused"
    );

    let list = deliveries_until(&alice, hook, Duration::from_secs(10), |l| {
        l.iter().any(|d| d.state == DeliveryState::Delivered)
    })
    .await;
    let d = list.iter().find(|d| d.kind == "share_opened").unwrap();
    assert_eq!(d.id.to_string(), got[0].id);
    assert_eq!((d.state, d.attempts), (DeliveryState::Delivered, 2));
    assert_eq!(d.log[0].status, Some(500));
    // Backed off: the retry was planned a retry_base (1 s, on the server's whole-second clock) after
    // the failure, and not begun before.
    let planned = d.log[0].next_attempt_at.unwrap();
    assert!(planned >= d.log[0].finished_at.unwrap() + time::Duration::seconds(1));
    assert!(d.log[1].started_at >= planned, "{d:#?}");
    assert_eq!(d.log[1].status, Some(200));
    assert!(d.finished_at.is_some() && d.next_attempt_at.is_none());

    // The recipient adds a file: file_added (with the share), then record_edited.
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("note.txt");
    std::fs::write(&path, b"attached").unwrap();
    opened.attach_files(&[path], &NoProgress).await.unwrap();
    // The owner ends the share: share_ended.
    alice.delete_share(share.handle).await.unwrap();
    let got = receiver
        .wait_until(Duration::from_secs(20), |r| {
            ["file_added", "record_edited", "share_ended"]
                .iter()
                .all(|k| {
                    r.iter().any(|x| {
                        String::from_utf8_lossy(&x.body).contains(&format!("\"kind\":\"{k}\""))
                    })
                })
        })
        .await;
    let payloads: Vec<WebhookPayload> = got.iter().map(|r| verified(r, &secret)).collect();
    let added = payloads.iter().find(|p| p.kind == "file_added").unwrap();
    assert_eq!(
        (added.share, added.record),
        (Some(share.handle), Some(record))
    );
    let ended = payloads.iter().find(|p| p.kind == "share_ended").unwrap();
    assert_eq!(ended.share, Some(share.handle));

    // A ping, and an endpoint that redirects: the redirect is an outcome, never followed.
    let delivery = alice.ping_webhook(hook).await.unwrap();
    let redirecting = alice
        .create_webhook(
            &format!("{}/redirect", receiver.url),
            &kinds(&["share_opened"]),
        )
        .await
        .unwrap();
    alice.ping_webhook(redirecting.webhook.id).await.unwrap();
    receiver
        .wait_until(Duration::from_secs(10), |r| {
            r.iter().any(|x| x.id == delivery.to_string())
                && r.iter().any(|x| x.path == "/redirect")
        })
        .await;
    let list = deliveries_until(
        &alice,
        redirecting.webhook.id,
        Duration::from_secs(10),
        |l| {
            l.first()
                .is_some_and(|d| d.log.first().is_some_and(|a| a.finished_at.is_some()))
        },
    )
    .await;
    assert_eq!(list[0].log[0].status, Some(302));
    assert_eq!(
        list[0].state,
        DeliveryState::Pending,
        "a redirect is retried"
    );
    assert!(receiver.received().iter().all(|r| r.path != "/followed"));

    // The endpoint limit (3 here): two more fit, the fourth does not.
    alice
        .create_webhook(&format!("{}/third", receiver.url), &kinds(&["share_ended"]))
        .await
        .unwrap();
    assert_eq!(
        alice
            .create_webhook(
                &format!("{}/fourth", receiver.url),
                &kinds(&["share_ended"])
            )
            .await
            .unwrap_err()
            .code(),
        Some(ErrorCode::WebhookLimitReached)
    );
    // Removed: nothing more is delivered, its deliveries are gone.
    alice.delete_webhook(hook).await.unwrap();
    assert_eq!(
        alice.webhook_deliveries(hook, 10).await.unwrap_err().code(),
        Some(ErrorCode::NotFound)
    );
    // Another account sees none of it.
    sharelock_client::register(&server.url, "mallory@example.org", PASSWORD)
        .await
        .unwrap();
    let mallory = sharelock_client::login(&server.url, "mallory@example.org", PASSWORD)
        .await
        .unwrap();
    assert!(mallory.webhooks().await.unwrap().is_empty());
    assert_eq!(
        mallory
            .ping_webhook(redirecting.webhook.id)
            .await
            .unwrap_err()
            .code(),
        Some(ErrorCode::NotFound)
    );
    // The server logged no URL and no secret.
    let log = server.log();
    assert!(
        !log.contains(&secret) && !log.contains(&receiver.url),
        "{log}"
    );
}

/// Without the operator's setting, loopback receivers are refused at registration.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn loopback_needs_the_operators_setting() {
    let server = TestServer::start();
    sharelock_client::register(&server.url, "alice@example.org", PASSWORD)
        .await
        .unwrap();
    let alice = sharelock_client::login(&server.url, "alice@example.org", PASSWORD)
        .await
        .unwrap();
    for url in [
        "http://127.0.0.1:9/in",
        "https://127.0.0.1:9/in",
        "https://localhost/in",
        "https://[::1]/in",
    ] {
        assert_eq!(
            alice
                .create_webhook(url, &kinds(&["share_opened"]))
                .await
                .unwrap_err()
                .code(),
            Some(ErrorCode::WebhookUrlNotAllowed),
            "{url}"
        );
    }
}

/// The CLI: `sharelock webhook add` prints the secret once, `list` never does, `ping` waits for the
/// signed test delivery's outcome, `deliveries` lists it, `remove` ends it; refusals have their exit
/// codes and one line.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_cli_manages_webhooks() {
    use common::home::Home;

    let server = TestServer::start_with(&[
        ("SHARELOCK_WEBHOOK_ALLOW_LOOPBACK", "true"),
        ("SHARELOCK_WEBHOOK_POLL_INTERVAL", "200ms"),
        ("SHARELOCK_WEBHOOK_MAX_ATTEMPTS", "2"),
        ("SHARELOCK_WEBHOOK_MAX_ENDPOINTS", "2"),
    ]);
    // The second ping is answered 503.
    let receiver = Receiver::start(vec![Answer::Status(204), Answer::Status(503)]).await;
    let home = Home::new(&server);
    home.register("ada@example.org");

    let refused = home
        .run(&[
            "webhook",
            "add",
            "https://10.0.0.7/in",
            "--kind",
            "share_opened",
        ])
        .code(2);
    assert!(refused.stderr.contains("address"), "{refused:?}");
    home.run(&[
        "webhook",
        "add",
        &format!("{}/in", receiver.url),
        "--kind",
        "share_openned",
    ])
    .code(2);

    let url = format!("{}/in", receiver.url);
    let added = home
        .run(&[
            "--json",
            "webhook",
            "add",
            &url,
            "--kind",
            "share_opened,share_ended",
            "--kind",
            "file_added",
        ])
        .ok()
        .json();
    let secret = added["secret"].as_str().unwrap().to_owned();
    assert!(secret.starts_with("whsec_"));
    let id = added["webhook"]["id"].as_str().unwrap().to_owned();
    assert_eq!(
        added["webhook"]["kinds"],
        serde_json::json!(["file_added", "share_ended", "share_opened"])
    );
    let listed = home.run(&["webhook", "list"]).ok();
    assert!(listed.stdout.contains(&url) && listed.stdout.contains(&id[..8]));
    assert!(!listed.stdout.contains(&secret), "the secret is shown once");
    let listed = home.run(&["--json", "webhook", "list"]).ok();
    assert!(!listed.stdout.contains(&secret));
    assert_eq!(listed.json()["webhooks"][0]["id"], id.as_str());

    // A ping, waited for: the receiver answers 204, and what it got verifies with the secret.
    let pinged = home.run(&["webhook", "ping", &id[..8]]).ok();
    assert!(pinged.stdout.contains("HTTP 204"), "{pinged:?}");
    let got = receiver.received();
    assert_eq!(got.len(), 1);
    let payload = verified(&got[0], &secret);
    assert_eq!((payload.kind.as_str(), payload.event_id), ("ping", None));
    // The next is answered 503: the ping fails, says so, and is tried again.
    let failed = home.run(&["webhook", "ping", &id]).code(1);
    assert!(
        failed.stderr.contains("HTTP 503") && failed.stderr.contains("tried again"),
        "{failed:?}"
    );
    let list = home
        .run(&["--json", "webhook", "deliveries", &id, "--limit", "5"])
        .ok()
        .json();
    let list = list["deliveries"].as_array().unwrap();
    assert_eq!(list.len(), 2);
    assert_eq!(list[1]["state"], "delivered");
    assert_eq!(list[1]["log"][0]["status"], 204);
    assert_eq!(list[0]["log"][0]["status"], 503);
    let table = home.run(&["webhook", "deliveries", &id]).ok();
    assert!(table.stdout.contains("HTTP 503") && table.stdout.contains("delivered"));

    // Arguments out of range are clap's usage errors.
    assert_eq!(
        home.run(&["webhook", "deliveries", &id, "--limit", "101"])
            .code,
        2
    );
    home.run(&["webhook", "ping", "ffffffff"]).code(1);
    home.run(&["webhook", "remove", &id]).ok();
    let empty = home.run(&["webhook", "list"]).ok();
    assert!(empty.stdout.contains("No webhooks."), "{empty:?}");
    assert!(!server.log().contains(&secret));
}
