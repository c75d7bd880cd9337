//! A per-client-address token bucket for unauthenticated endpoints (prelogin, login, register, recipient
//! status and bind). It is per node by nature; the counters that must hold across nodes (failed logins
//! per account, wrong access tokens per share) live in the database.

use governor::clock::DefaultClock;
use governor::state::keyed::DefaultKeyedStateStore;
use governor::{Quota, RateLimiter as Governor};
use std::net::IpAddr;
use std::num::NonZeroU32;

pub struct RateLimiter {
    inner: Governor<IpAddr, DefaultKeyedStateStore<IpAddr>, DefaultClock>,
}

impl RateLimiter {
    /// `per_minute` requests per minute per address, with bursts of the same size.
    pub fn per_minute(per_minute: u32) -> Self {
        let n = NonZeroU32::new(per_minute.max(1)).unwrap_or(NonZeroU32::MIN);
        RateLimiter {
            inner: Governor::keyed(Quota::per_minute(n)),
        }
    }

    /// `Ok(())` if the address may proceed, else the seconds to wait.
    pub fn check(&self, addr: IpAddr) -> Result<(), u64> {
        use governor::clock::{Clock, DefaultClock};
        self.inner.check_key(&addr).map_err(|not_until| {
            not_until
                .wait_time_from(DefaultClock::default().now())
                .as_secs()
                .max(1)
        })
    }

    /// Forgets idle addresses so the map stays small.
    pub fn shrink(&self) {
        self.inner.retain_recent();
        self.inner.shrink_to_fit();
    }
}
