//! Signed webhooks (docs/protocol.md §9.9): which endpoint URLs are accepted, and the delivery worker
//! every node runs.
//!
//! Deliveries are rows of the store's outbox, written in the same transaction as their event, so one
//! that committed is never lost. The worker claims due deliveries for one attempt under a lease
//! ([`sharelock_store::Store::claim_webhook_deliveries`]): on PostgreSQL every node's worker claims with
//! `FOR UPDATE SKIP LOCKED`, and a delivery whose node died mid-attempt is claimed again by any node
//! once the lease ends (at least once). It looks whenever this node's writes or another node's
//! notifications raise events, and every `webhook_poll_interval` for retries.
//!
//! Egress is guarded: only https (plain http only to loopback, when the operator allows loopback); the
//! names are resolved by [`GuardedResolver`], which drops every address the server refuses (loopback,
//! private, link-local, …) before a connection is made, so a name that resolves to an internal address
//! (or changes to one between the check and the connection) cannot reach it. No redirect is followed,
//! no proxy from the environment is used, every attempt has a timeout, and the answer's body is never
//! read: only its status counts.

use crate::config::Config;
use crate::state::AppState;
use sharelock_api::webhooks::{MAX_URL_BYTES, WebhookPayload};
use sharelock_store::{AttemptOutcome, ClaimedDelivery};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::Semaphore;
use tokio::sync::broadcast::error::RecvError;

/// Attempts one node makes at once.
const CONCURRENCY: usize = 32;
/// The longest wait between attempts.
const MAX_BACKOFF_SECS: i64 = 6 * 3600;
/// Finished deliveries are listed for a week, like events.
const KEEP_FINISHED_SECS: i64 = 7 * 86_400;
/// How often finished deliveries are purged.
const PURGE_EVERY: Duration = Duration::from_secs(3600);

/// Which addresses deliveries may go to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Egress {
    pub allow_loopback: bool,
    pub allow_private: bool,
}

impl Egress {
    pub fn from_config(config: &Config) -> Self {
        Egress {
            allow_loopback: config.webhook_allow_loopback,
            allow_private: config.webhook_allow_private,
        }
    }

    /// Whether a delivery may connect to `ip`. Refused unless allowed: loopback; private (RFC 1918,
    /// IPv6 unique local), carrier-grade NAT and link-local ranges; and always the unspecified,
    /// broadcast, multicast, documentation and reserved ones. An IPv4-mapped IPv6 address is judged
    /// as its IPv4 address.
    pub fn allows(&self, ip: IpAddr) -> bool {
        match ip {
            IpAddr::V4(v4) => self.allows_v4(v4),
            IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
                Some(v4) => self.allows_v4(v4),
                None => self.allows_v6(v6),
            },
        }
    }

    fn allows_v4(&self, ip: Ipv4Addr) -> bool {
        let [a, b, ..] = ip.octets();
        if ip.is_loopback() {
            return self.allow_loopback;
        }
        let never = ip.is_unspecified()
            || ip.is_broadcast()
            || ip.is_multicast()
            || ip.is_documentation()
            || a == 0
            || a >= 240;
        if never {
            return false;
        }
        let private = ip.is_private()
            || ip.is_link_local()
            || (a == 100 && (64..128).contains(&b))
            || (a == 192 && b == 0 && ip.octets()[2] == 0)
            || (a == 198 && (b == 18 || b == 19));
        !private || self.allow_private
    }

    fn allows_v6(&self, ip: Ipv6Addr) -> bool {
        if ip.is_loopback() {
            return self.allow_loopback;
        }
        let first = ip.segments()[0];
        let never = ip.is_unspecified()
            || ip.is_multicast()
            || first == 0x2001 && ip.segments()[1] == 0x0db8
            || first == 0x0100 && ip.segments()[1..4] == [0, 0, 0]
            || first & 0xffc0 == 0xfec0;
        if never {
            return false;
        }
        // fc00::/7 unique local, fe80::/10 link-local, 64:ff9b::/96 NAT64 (reaches IPv4 space), the
        // deprecated IPv4-compatible ::a.b.c.d.
        let private = first & 0xfe00 == 0xfc00
            || first & 0xffc0 == 0xfe80
            || (first == 0x64 && ip.segments()[1] == 0xff9b)
            || ip.segments()[..6] == [0, 0, 0, 0, 0, 0];
        !private || self.allow_private
    }
}

/// Why an endpoint URL is refused. The message names the rule, never the URL.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum UrlRefused {
    #[error("the URL is longer than 2048 bytes")]
    TooLong,
    #[error("the URL is not a valid absolute URL")]
    Invalid,
    #[error(
        "the URL must start with https:// (plain http only to a loopback address the server allows)"
    )]
    Scheme,
    #[error("the URL must not carry a user name, password or fragment")]
    Credentials,
    #[error("the URL names an address webhooks may not be sent to (loopback, private or reserved)")]
    Address,
}

/// Checks an endpoint URL at registration and again before every attempt (the operator's settings may
/// have changed). A host name is checked again when it is resolved ([`GuardedResolver`]).
pub fn check_url(text: &str, egress: Egress) -> Result<url::Url, UrlRefused> {
    if text.len() > MAX_URL_BYTES {
        return Err(UrlRefused::TooLong);
    }
    let url = url::Url::parse(text).map_err(|_| UrlRefused::Invalid)?;
    if !url.username().is_empty() || url.password().is_some() || url.fragment().is_some() {
        return Err(UrlRefused::Credentials);
    }
    let host = url.host().ok_or(UrlRefused::Invalid)?;
    let literal = match host {
        url::Host::Ipv4(v4) => Some(IpAddr::V4(v4)),
        url::Host::Ipv6(v6) => Some(IpAddr::V6(v6)),
        url::Host::Domain(_) => None,
    };
    let loopback_name = matches!(host, url::Host::Domain(d) if d.eq_ignore_ascii_case("localhost"));
    match url.scheme() {
        "https" => {}
        "http"
            if egress.allow_loopback
                && (loopback_name || literal.is_some_and(|ip| ip.is_loopback())) => {}
        _ => return Err(UrlRefused::Scheme),
    }
    if let Some(ip) = literal
        && !egress.allows(ip)
    {
        return Err(UrlRefused::Address);
    }
    if loopback_name && !egress.allow_loopback {
        return Err(UrlRefused::Address);
    }
    Ok(url)
}

/// Every address of a name was refused by [`Egress::allows`].
#[derive(Debug, thiserror::Error)]
#[error("the name resolves only to addresses webhooks may not be sent to")]
struct RefusedAddress;

/// The name did not resolve.
#[derive(Debug, thiserror::Error)]
#[error("the name did not resolve")]
struct NotResolved;

/// Resolves names for deliveries, keeping only addresses [`Egress::allows`]: the check is made on the
/// very addresses the connection will use.
#[derive(Debug, Clone, Copy)]
pub struct GuardedResolver(pub Egress);

impl reqwest::dns::Resolve for GuardedResolver {
    fn resolve(&self, name: reqwest::dns::Name) -> reqwest::dns::Resolving {
        let egress = self.0;
        let host = name.as_str().to_owned();
        Box::pin(async move {
            let found: Vec<SocketAddr> = tokio::net::lookup_host((host.as_str(), 0))
                .await
                .map_err(|_| Box::new(NotResolved) as Box<dyn std::error::Error + Send + Sync>)?
                .collect();
            let allowed: Vec<SocketAddr> = found
                .into_iter()
                .filter(|a| egress.allows(a.ip()))
                .collect();
            if allowed.is_empty() {
                return Err(Box::new(RefusedAddress) as Box<dyn std::error::Error + Send + Sync>);
            }
            Ok(Box::new(allowed.into_iter()) as reqwest::dns::Addrs)
        })
    }
}

/// The HTTP client of deliveries: the guarded resolver, no redirects, no proxy, the attempt timeout.
pub fn client(config: &Config) -> anyhow::Result<reqwest::Client> {
    Ok(reqwest::Client::builder()
        .dns_resolver(Arc::new(GuardedResolver(Egress::from_config(config))))
        .redirect(reqwest::redirect::Policy::none())
        .no_proxy()
        .timeout(config.webhook_timeout)
        .connect_timeout(config.webhook_timeout)
        .user_agent(concat!("Sharelock-Webhooks/", env!("CARGO_PKG_VERSION")))
        .build()?)
}

/// The wait after failed attempt `n` (1 for the first): the base, doubled per further failure, at
/// most six hours.
pub fn backoff(base_secs: i64, n: u32) -> i64 {
    let doubled = base_secs.saturating_mul(1i64 << n.saturating_sub(1).min(30));
    doubled.clamp(1, MAX_BACKOFF_SECS)
}

/// The lease of an attempt: long enough for the attempt and for writing its outcome.
fn lease_secs(config: &Config) -> i64 {
    (config.webhook_timeout.as_secs() as i64).max(1) * 2 + 5
}

/// The error class of a failed request (stored and shown; never a message with addresses).
fn error_class(e: &reqwest::Error) -> &'static str {
    let mut source: Option<&(dyn std::error::Error + 'static)> = Some(e);
    while let Some(err) = source {
        if err.is::<RefusedAddress>() {
            return "refused_address";
        }
        if err.is::<NotResolved>() {
            return "dns";
        }
        source = err.source();
    }
    if e.is_timeout() {
        "timeout"
    } else if e.is_connect() {
        "connect"
    } else {
        "request"
    }
}

/// The body of a delivery: the event's ids and time, nothing of what a record holds.
pub fn payload(c: &ClaimedDelivery) -> WebhookPayload {
    WebhookPayload {
        id: c.id,
        kind: c.kind.clone(),
        event_id: c.event_id,
        at: crate::handlers::to_time(c.at),
        account: c.account,
        share: c.share,
        record: c.record,
        number: c.number,
    }
}

/// One attempt: POSTs the signed payload and returns the receiver's status or an error class.
async fn send(
    state: &AppState,
    client: &reqwest::Client,
    c: &ClaimedDelivery,
) -> Result<u16, &'static str> {
    let egress = Egress::from_config(&state.config);
    let url = check_url(&c.url, egress).map_err(|_| "refused_address")?;
    let body = serde_json::to_vec(&payload(c)).map_err(|_| "request")?;
    let timestamp = state.now();
    let signature = sharelock_core::webhook::sign(&c.secret, timestamp, &body);
    let answer = client
        .post(url)
        .header(reqwest::header::CONTENT_TYPE, "application/json")
        .header(sharelock_core::webhook::ID_HEADER, c.id.to_string())
        .header(
            sharelock_core::webhook::TIMESTAMP_HEADER,
            timestamp.to_string(),
        )
        .header(sharelock_core::webhook::SIGNATURE_HEADER, signature)
        .body(body)
        .send()
        .await
        .map_err(|e| error_class(&e))?;
    // The body is never read: dropping the answer closes its stream.
    Ok(answer.status().as_u16())
}

async fn attempt(state: AppState, client: reqwest::Client, c: ClaimedDelivery) {
    let result = send(&state, &client, &c).await;
    let now = state.now();
    let delivered = matches!(result, Ok(status) if (200..300).contains(&status));
    let config = &state.config;
    let next_at = (!delivered && c.attempt < config.webhook_max_attempts)
        .then(|| now + backoff(config.webhook_retry_base.as_secs() as i64, c.attempt));
    let outcome = match (&result, delivered) {
        (_, true) => "delivered",
        (Ok(_), false) => "status",
        (Err(class), false) => class,
    };
    metrics::counter!("sharelock_webhook_attempts_total", "outcome" => outcome).increment(1);
    if !delivered {
        tracing::info!(
            endpoint = %c.endpoint,
            delivery = c.id,
            attempt = c.attempt,
            status = result.as_ref().ok().copied(),
            error = result.as_ref().err().copied(),
            retry = next_at.is_some(),
            "webhook attempt failed"
        );
    }
    let finished = state
        .store
        .finish_webhook_attempt(AttemptOutcome {
            delivery: c.id,
            attempt: c.attempt,
            now,
            status: result.ok(),
            error: result.err().map(str::to_owned),
            delivered,
            next_at,
        })
        .await;
    if let Err(e) = finished {
        // The lease ends and the delivery is attempted again: at least once.
        tracing::warn!(error = %e, "could not record a webhook attempt");
    }
}

/// Claims due deliveries while there is room for more attempts, and starts each.
async fn claim_and_start(state: &AppState, client: &reqwest::Client, slots: &Arc<Semaphore>) {
    loop {
        let free = slots.available_permits();
        if free == 0 {
            return;
        }
        let claimed = match state
            .store
            .claim_webhook_deliveries(
                state.now(),
                lease_secs(&state.config),
                free as u32,
                state.config.webhook_max_attempts,
            )
            .await
        {
            Ok(claimed) => claimed,
            Err(e) => {
                tracing::warn!(error = %e, "claiming webhook deliveries failed");
                return;
            }
        };
        let n = claimed.len();
        for c in claimed {
            let Ok(permit) = Arc::clone(slots).try_acquire_owned() else {
                // Not reached (one task claims), but never start more than the slots allow: the
                // lease hands it to the next look.
                break;
            };
            let (state, client) = (state.clone(), client.clone());
            tokio::spawn(async move {
                attempt(state, client, c).await;
                drop(permit);
            });
        }
        if n < free {
            return;
        }
    }
}

/// The delivery worker: runs until the server stops (a delivery in flight then is attempted again
/// after its lease).
pub async fn deliver_forever(state: AppState) {
    let client = match client(&state.config) {
        Ok(client) => client,
        Err(e) => {
            tracing::error!(error = %e, "webhook deliveries are off: no HTTP client");
            return;
        }
    };
    let slots = Arc::new(Semaphore::new(CONCURRENCY));
    let mut wakeups = state.wakeups.subscribe();
    let mut shutdown = state.shutdown.clone();
    let mut tick = tokio::time::interval(state.config.webhook_poll_interval);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut purged = tokio::time::Instant::now();
    loop {
        claim_and_start(&state, &client, &slots).await;
        if purged.elapsed() >= PURGE_EVERY {
            purged = tokio::time::Instant::now();
            if let Err(e) = state
                .store
                .purge_webhook_deliveries(state.now() - KEEP_FINISHED_SECS)
                .await
            {
                tracing::warn!(error = %e, "purging webhook deliveries failed");
            }
        }
        tokio::select! {
            _ = tick.tick() => {}
            woken = wakeups.recv() => {
                if let Err(RecvError::Closed) = woken {
                    return;
                }
            }
            _ = shutdown.wait_for(|stopping| *stopping) => return,
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;

    const STRICT: Egress = Egress {
        allow_loopback: false,
        allow_private: false,
    };
    const LOOPBACK: Egress = Egress {
        allow_loopback: true,
        allow_private: false,
    };

    #[test]
    fn addresses() {
        let ip = |s: &str| {
            s.parse::<IpAddr>()
                .unwrap_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED))
        };
        for public in [
            "93.184.216.34",
            "8.8.8.8",
            "2606:4700::1111",
            "::ffff:8.8.8.8",
        ] {
            assert!(STRICT.allows(ip(public)), "{public}");
        }
        for refused in [
            "127.0.0.1",
            "10.1.2.3",
            "172.16.0.1",
            "192.168.1.1",
            "169.254.169.254",
            "100.64.0.1",
            "0.0.0.0",
            "255.255.255.255",
            "224.0.0.1",
            "::1",
            "::",
            "fe80::1",
            "fd00::1",
            "::ffff:127.0.0.1",
            "::ffff:169.254.169.254",
            "64:ff9b::a9fe:a9fe",
            "::127.0.0.1",
            "192.0.2.1",
            "2001:db8::1",
            "240.0.0.1",
        ] {
            assert!(!STRICT.allows(ip(refused)), "{refused}");
        }
        assert!(LOOPBACK.allows(ip("127.0.0.1")) && LOOPBACK.allows(ip("::1")));
        assert!(!LOOPBACK.allows(ip("10.0.0.1")), "loopback only");
        let private = Egress {
            allow_loopback: false,
            allow_private: true,
        };
        assert!(private.allows(ip("10.0.0.1")) && private.allows(ip("fd00::1")));
        assert!(!private.allows(ip("127.0.0.1")) && !private.allows(ip("0.0.0.0")));
    }

    #[test]
    fn urls() {
        assert!(check_url("https://hooks.example.org/in?x=1", STRICT).is_ok());
        assert_eq!(
            check_url("http://hooks.example.org/in", STRICT).err(),
            Some(UrlRefused::Scheme)
        );
        assert_eq!(
            check_url("http://127.0.0.1:9/in", STRICT).err(),
            Some(UrlRefused::Scheme)
        );
        assert!(check_url("http://127.0.0.1:9/in", LOOPBACK).is_ok());
        assert!(check_url("http://localhost:9/in", LOOPBACK).is_ok());
        assert!(check_url("http://[::1]:9/in", LOOPBACK).is_ok());
        assert_eq!(
            check_url("http://hooks.example.org/in", LOOPBACK).err(),
            Some(UrlRefused::Scheme),
            "plain http only to loopback"
        );
        assert_eq!(
            check_url("https://127.0.0.1/in", STRICT).err(),
            Some(UrlRefused::Address)
        );
        assert_eq!(
            check_url("https://localhost/in", STRICT).err(),
            Some(UrlRefused::Address)
        );
        assert_eq!(
            check_url("https://169.254.169.254/latest", STRICT).err(),
            Some(UrlRefused::Address)
        );
        assert_eq!(
            check_url("https://[::ffff:10.0.0.1]/", STRICT).err(),
            Some(UrlRefused::Address)
        );
        assert_eq!(
            check_url("https://user:pw@hooks.example.org/", STRICT).err(),
            Some(UrlRefused::Credentials)
        );
        assert_eq!(
            check_url("https://hooks.example.org/#x", STRICT).err(),
            Some(UrlRefused::Credentials)
        );
        assert_eq!(check_url("hooks", STRICT).err(), Some(UrlRefused::Invalid));
        assert_eq!(
            check_url("ftp://hooks.example.org/", STRICT).err(),
            Some(UrlRefused::Scheme)
        );
        let long = format!("https://hooks.example.org/{}", "a".repeat(MAX_URL_BYTES));
        assert_eq!(check_url(&long, STRICT).err(), Some(UrlRefused::TooLong));
    }

    #[tokio::test]
    async fn names_resolving_to_refused_addresses_are_not_connected_to() {
        use reqwest::dns::Resolve;
        let name = |s: &str| s.parse::<reqwest::dns::Name>();
        let Ok(localhost) = name("localhost") else {
            panic!("a name")
        };
        let refused = GuardedResolver(STRICT).resolve(localhost).await;
        let Err(e) = refused else {
            panic!("localhost resolved for a strict resolver")
        };
        assert!(e.is::<RefusedAddress>(), "{e}");
        let Ok(localhost) = name("localhost") else {
            panic!("a name")
        };
        let Ok(addrs) = GuardedResolver(LOOPBACK).resolve(localhost).await else {
            panic!("localhost did not resolve")
        };
        let addrs: Vec<SocketAddr> = addrs.collect();
        assert!(!addrs.is_empty() && addrs.iter().all(|a| a.ip().is_loopback()));
    }

    #[test]
    fn backoff_doubles_up_to_a_cap() {
        assert_eq!(
            (1..=5).map(|n| backoff(30, n)).collect::<Vec<_>>(),
            vec![30, 60, 120, 240, 480]
        );
        assert_eq!(backoff(30, 40), MAX_BACKOFF_SECS);
        assert_eq!(backoff(1, 1), 1);
    }
}
