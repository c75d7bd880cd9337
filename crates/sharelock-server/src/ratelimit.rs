//! A per-client-address token bucket for unauthenticated endpoints (prelogin, login, register, recipient
//! status and bind).
//!
//! It is per node by nature: each node counts the requests it receives, so behind a load balancer that
//! spreads one client over n nodes the client gets up to n times the budget. The counters that must hold
//! across nodes (failed logins per account, wrong access tokens per share) live in the database.
//!
//! The client is counted by address: an IPv4 address alone, an IPv6 address by its prefix
//! (`rate_limit_ipv6_prefix`, a /64 by default, since one subscriber usually holds a whole /64). Behind a
//! reverse proxy the TCP peer is the proxy, so the client address is taken from `X-Forwarded-For` or
//! `Forwarded`, but only when the peer is one of `trusted_proxies`, and only as far back along the chain as
//! the hops are trusted: the first address, from the right, that is not a trusted proxy is the client.

use crate::config::{ClientAddressHeader, Config};
use crate::error::ApiError;
use crate::state::AppState;
use axum::extract::{ConnectInfo, FromRequestParts};
use axum::http::{HeaderMap, header, request::Parts};
use forwarded_header_value::ForwardedStanza;
use governor::clock::DefaultClock;
use governor::state::keyed::DefaultKeyedStateStore;
use governor::{Quota, RateLimiter as Governor};
use ipnet::{IpNet, Ipv6Net};
use std::net::{IpAddr, SocketAddr};
use std::num::NonZeroU32;

/// Forwarding chains longer than this are not followed further (the client is the last hop reached).
const MAX_HOPS: usize = 32;

pub struct RateLimiter {
    inner: Governor<IpAddr, DefaultKeyedStateStore<IpAddr>, DefaultClock>,
    ipv6_prefix: u8,
}

impl RateLimiter {
    /// `per_minute` requests per minute per client, with bursts of the same size; IPv6 clients grouped by
    /// `ipv6_prefix`.
    pub fn new(per_minute: u32, ipv6_prefix: u8) -> Self {
        let n = NonZeroU32::new(per_minute.max(1)).unwrap_or(NonZeroU32::MIN);
        RateLimiter {
            inner: Governor::keyed(Quota::per_minute(n)),
            ipv6_prefix: ipv6_prefix.clamp(1, 128),
        }
    }

    /// The bucket an address is counted in.
    pub fn key(&self, addr: IpAddr) -> IpAddr {
        match addr.to_canonical() {
            IpAddr::V4(v4) => IpAddr::V4(v4),
            IpAddr::V6(v6) => Ipv6Net::new(v6, self.ipv6_prefix)
                .map_or(IpAddr::V6(v6), |net| IpAddr::V6(net.network())),
        }
    }

    /// `Ok(())` if the client may proceed, else the seconds to wait.
    pub fn check(&self, addr: IpAddr) -> Result<(), u64> {
        use governor::clock::{Clock, DefaultClock};
        self.inner.check_key(&self.key(addr)).map_err(|not_until| {
            not_until
                .wait_time_from(DefaultClock::default().now())
                .as_secs()
                .max(1)
        })
    }

    /// Forgets idle clients so the map stays small.
    pub fn shrink(&self) {
        self.inner.retain_recent();
        self.inner.shrink_to_fit();
    }
}

/// Finds the client's address behind trusted proxies.
pub struct ClientAddress {
    trusted: Vec<IpNet>,
    header: ClientAddressHeader,
}

impl ClientAddress {
    pub fn new(config: &Config) -> anyhow::Result<Self> {
        Ok(ClientAddress {
            trusted: config.trusted_proxy_nets()?,
            header: config.client_address_header,
        })
    }

    /// Whether `addr` is one of `trusted_proxies` (whose forwarding headers are believed).
    pub fn is_trusted(&self, addr: IpAddr) -> bool {
        let addr = addr.to_canonical();
        self.trusted.iter().any(|net| net.contains(&addr))
    }

    /// The client of a request that arrived from `peer`: `peer` itself unless it is a trusted proxy; then
    /// the forwarding header is walked from the right while the hops are trusted. An entry that is not an
    /// address (`unknown`, an obfuscated name, garbage) ends the walk at the last hop that vouched for it.
    pub fn resolve(&self, peer: IpAddr, headers: &HeaderMap) -> IpAddr {
        if self.trusted.is_empty() || !self.is_trusted(peer) {
            return peer;
        }
        let name = match self.header {
            ClientAddressHeader::XForwardedFor => "x-forwarded-for",
            ClientAddressHeader::Forwarded => header::FORWARDED.as_str(),
        };
        // Several header lines are one comma-separated list, in order (RFC 9110 §5.3).
        let mut entries: Vec<&str> = Vec::new();
        for value in headers.get_all(name) {
            let Ok(text) = value.to_str() else {
                return peer;
            };
            entries.extend(text.split(',').map(str::trim).filter(|e| !e.is_empty()));
        }
        let mut client = peer;
        for entry in entries.iter().rev().take(MAX_HOPS) {
            if !self.is_trusted(client) {
                break;
            }
            let hop = match self.header {
                ClientAddressHeader::XForwardedFor => entry.parse::<IpAddr>().ok(),
                ClientAddressHeader::Forwarded => entry
                    .parse::<ForwardedStanza>()
                    .ok()
                    .and_then(|stanza| stanza.forwarded_for_ip()),
            };
            match hop {
                Some(addr) => client = addr,
                None => break,
            }
        }
        client
    }
}

/// The per-address limit, applied before anything else of the request is looked at (its body included):
/// put it first among a handler's extractors.
pub struct PerAddressLimit;

impl FromRequestParts<AppState> for PerAddressLimit {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let peer = parts
            .extensions
            .get::<ConnectInfo<SocketAddr>>()
            .map(|ConnectInfo(addr)| addr.ip())
            .ok_or_else(ApiError::internal)?;
        let client = state.client_address.resolve(peer, &parts.headers);
        state
            .limiter
            .check(client)
            .map_err(ApiError::too_many)
            .map(|()| PerAddressLimit)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use axum::http::HeaderValue;

    fn ip(text: &str) -> IpAddr {
        text.parse().unwrap()
    }

    #[test]
    fn ipv6_is_counted_by_prefix() {
        let limiter = RateLimiter::new(2, 64);
        assert_eq!(limiter.key(ip("2001:db8:1:2::1")), ip("2001:db8:1:2::"));
        assert_eq!(
            limiter.key(ip("2001:db8:1:2:ffff:ffff:ffff:ffff")),
            ip("2001:db8:1:2::")
        );
        assert_eq!(limiter.key(ip("::ffff:192.0.2.7")), ip("192.0.2.7"));
        assert_eq!(limiter.key(ip("192.0.2.7")), ip("192.0.2.7"));
        assert!(limiter.check(ip("2001:db8:1:2::1")).is_ok());
        assert!(limiter.check(ip("2001:db8:1:2::2")).is_ok());
        assert!(
            limiter.check(ip("2001:db8:1:2::3")).is_err(),
            "a third address of the same /64 shares the bucket"
        );
        assert!(limiter.check(ip("2001:db8:1:3::1")).is_ok(), "another /64");
        let narrow = RateLimiter::new(1, 128);
        assert!(narrow.check(ip("2001:db8::1")).is_ok());
        assert!(narrow.check(ip("2001:db8::2")).is_ok());
    }

    fn resolver(trusted: &[&str], header: ClientAddressHeader) -> ClientAddress {
        let config = Config {
            trusted_proxies: trusted.iter().map(|s| s.to_string()).collect(),
            client_address_header: header,
            ..Config::default()
        };
        ClientAddress::new(&config).unwrap()
    }

    fn headers(name: &'static str, values: &[&'static str]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for v in values {
            map.append(name, HeaderValue::from_static(v));
        }
        map
    }

    #[test]
    fn forwarding_headers_count_only_from_trusted_proxies() {
        let xff = ClientAddressHeader::XForwardedFor;
        let none = resolver(&[], xff);
        let spoofed = headers("x-forwarded-for", &["198.51.100.1"]);
        assert_eq!(none.resolve(ip("10.0.0.1"), &spoofed), ip("10.0.0.1"));

        let proxies = resolver(&["10.0.0.0/8", "192.0.2.1"], xff);
        assert_eq!(
            proxies.resolve(ip("203.0.113.9"), &spoofed),
            ip("203.0.113.9"),
            "an untrusted peer's header is ignored"
        );
        assert_eq!(
            proxies.resolve(ip("10.0.0.1"), &spoofed),
            ip("198.51.100.1")
        );
        // The client wrote the first entry itself; the walk stops at the first untrusted hop.
        let chain = headers(
            "x-forwarded-for",
            &["1.1.1.1, 198.51.100.2", "192.0.2.1, 10.0.0.2"],
        );
        assert_eq!(proxies.resolve(ip("10.0.0.1"), &chain), ip("198.51.100.2"));
        // Garbage ends the walk at the last hop that vouched for it.
        let garbage = headers("x-forwarded-for", &["198.51.100.3, nonsense"]);
        assert_eq!(proxies.resolve(ip("10.0.0.1"), &garbage), ip("10.0.0.1"));
        let missing = HeaderMap::new();
        assert_eq!(proxies.resolve(ip("10.0.0.1"), &missing), ip("10.0.0.1"));
        // A trusted proxy reached over IPv6-mapped IPv4 is still trusted.
        assert_eq!(
            proxies.resolve(ip("::ffff:10.0.0.1"), &spoofed),
            ip("198.51.100.1")
        );
    }

    #[test]
    fn the_forwarded_header_is_read_when_configured() {
        let fwd = resolver(&["10.0.0.0/8"], ClientAddressHeader::Forwarded);
        let value = headers(
            "forwarded",
            &["for=192.0.2.60;proto=https, for=\"[2001:db8:cafe::17]:4711\";by=10.0.0.1"],
        );
        assert_eq!(fwd.resolve(ip("10.0.0.1"), &value), ip("2001:db8:cafe::17"));
        let hidden = headers("forwarded", &["for=192.0.2.60, for=_hidden"]);
        assert_eq!(fwd.resolve(ip("10.0.0.1"), &hidden), ip("10.0.0.1"));
        let xff_only = headers("x-forwarded-for", &["192.0.2.60"]);
        assert_eq!(
            fwd.resolve(ip("10.0.0.1"), &xff_only),
            ip("10.0.0.1"),
            "only the configured header counts"
        );
    }
}
