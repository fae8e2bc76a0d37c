//! Rate limits on what an attacker can try without a device key: enrolment
//! attempts per client address, and failed signatures per address and per
//! device.
//!
//! The counting is `governor`'s (GCRA, a bucket per key that refills at the
//! configured rate). Enrolment spends from its bucket on every attempt,
//! before the body is read. Signatures spend only when they fail, so honest
//! devices behind one address never use the budget up; once a failure
//! finds its bucket empty, the key is blocked until the bucket would allow
//! one more, and every signed request from that address (or naming that
//! device) gets `429 rate-limited` with `Retry-After` before any other work.
//!
//! Keys: the peer's IP address (an IPv6 address by its /64, which one
//! household or phone gets whole), and the device id a signature names. The
//! peer is the TCP peer: behind a proxy or load balancer every client shares
//! its address, so set the budgets for that (docs/sync-protocol.md, "Limits").
//! Memory is bounded: buckets that have refilled are forgotten as keys come
//! and go ([`FailureLimiter::sweep`]).

use std::collections::HashMap;
use std::hash::Hash;
use std::net::{IpAddr, SocketAddr};
use std::num::NonZeroU32;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

use axum::extract::{ConnectInfo, Request};
use axum::http::Extensions;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use bothy_shared::ids::DeviceId;
use governor::clock::Clock;
use governor::{DefaultKeyedRateLimiter, Quota};

use crate::error::ApiError;

/// How many attempts a bucket holds and refills per minute.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateLimits {
    /// Enrolment attempts per client address per minute (and at once).
    pub enrol_per_minute: u32,
    /// Failed signatures per client address per minute.
    pub failed_auth_per_address_per_minute: u32,
    /// Failed signatures naming one device per minute.
    pub failed_auth_per_device_per_minute: u32,
}

/// 30 enrolments a minute from one address: a whole team enrolling in one
/// room, or a test suite, never waits; a flood is cut to one every 2 s.
pub const DEFAULT_ENROL_PER_MINUTE: u32 = 30;
/// An honest device fails a signature only when its clock is off; 30 a
/// minute from one address leaves room for a whole office behind one NAT.
pub const DEFAULT_FAILED_AUTH_PER_ADDRESS_PER_MINUTE: u32 = 30;
/// Someone holding a device id but not its key gets 10 tries a minute.
pub const DEFAULT_FAILED_AUTH_PER_DEVICE_PER_MINUTE: u32 = 10;

impl Default for RateLimits {
    fn default() -> Self {
        RateLimits {
            enrol_per_minute: DEFAULT_ENROL_PER_MINUTE,
            failed_auth_per_address_per_minute: DEFAULT_FAILED_AUTH_PER_ADDRESS_PER_MINUTE,
            failed_auth_per_device_per_minute: DEFAULT_FAILED_AUTH_PER_DEVICE_PER_MINUTE,
        }
    }
}

/// A quota of `n` a minute, all of it available at once; `0` means no limit.
fn per_minute(n: u32) -> Option<Quota> {
    NonZeroU32::new(n).map(Quota::per_minute)
}

/// Forget refilled buckets after this many new keys.
const SWEEP_EVERY: u32 = 1024;

/// A bucket per key spent by failures, and the keys blocked until theirs
/// refills.
struct FailureLimiter<K: Hash + Eq + Clone> {
    limiter: DefaultKeyedRateLimiter<K>,
    blocked: Mutex<HashMap<K, Instant>>,
    since_sweep: AtomicU32,
}

impl<K: Hash + Eq + Clone> FailureLimiter<K> {
    fn new(quota: Quota) -> Self {
        FailureLimiter {
            limiter: DefaultKeyedRateLimiter::keyed(quota),
            blocked: Mutex::new(HashMap::new()),
            since_sweep: AtomicU32::new(0),
        }
    }

    /// How long `key` stays blocked, if it is.
    fn blocked_for(&self, key: &K) -> Option<Duration> {
        let now = Instant::now();
        let blocked = self.blocked.lock().unwrap_or_else(|p| p.into_inner());
        blocked
            .get(key)
            .and_then(|until| until.checked_duration_since(now))
            .filter(|d| !d.is_zero())
    }

    /// Spend one from `key`'s bucket; when it was empty, block the key until
    /// it holds one again and say for how long.
    fn fail(&self, key: &K) -> Option<Duration> {
        if self.since_sweep.fetch_add(1, Ordering::Relaxed) >= SWEEP_EVERY {
            self.sweep();
        }
        let not_until = self.limiter.check_key(key).err()?;
        let wait = not_until.wait_time_from(self.limiter.clock().now());
        let mut blocked = self.blocked.lock().unwrap_or_else(|p| p.into_inner());
        blocked.insert(key.clone(), Instant::now() + wait);
        Some(wait)
    }

    /// Drop refilled buckets and expired blocks, so memory follows the keys
    /// that failed recently, not every key ever seen.
    fn sweep(&self) {
        self.since_sweep.store(0, Ordering::Relaxed);
        self.limiter.retain_recent();
        self.limiter.shrink_to_fit();
        let now = Instant::now();
        let mut blocked = self.blocked.lock().unwrap_or_else(|p| p.into_inner());
        blocked.retain(|_, until| *until > now);
        blocked.shrink_to_fit();
    }
}

/// A client address as a rate-limit key: IPv4 whole, IPv6 by its /64.
fn address_key(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V4(_) => ip,
        IpAddr::V6(v6) => {
            let mut octets = v6.octets();
            octets[8..].fill(0);
            IpAddr::from(octets)
        }
    }
}

/// The client's address, when the server put it on the request (it does
/// for every connection it accepts; a router driven directly has none).
pub(crate) fn client_ip(extensions: &Extensions) -> Option<IpAddr> {
    extensions
        .get::<ConnectInfo<SocketAddr>>()
        .map(|ConnectInfo(addr)| address_key(addr.ip()))
}

/// Every rate limit the server keeps; one per router, shared by its requests.
pub struct Throttle {
    enrol: Option<DefaultKeyedRateLimiter<IpAddr>>,
    enrol_attempts: AtomicU32,
    failed_by_address: Option<FailureLimiter<IpAddr>>,
    failed_by_device: Option<FailureLimiter<DeviceId>>,
}

impl std::fmt::Debug for Throttle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Throttle").finish_non_exhaustive()
    }
}

impl Throttle {
    pub fn new(limits: RateLimits) -> Self {
        Throttle {
            enrol: per_minute(limits.enrol_per_minute).map(DefaultKeyedRateLimiter::keyed),
            enrol_attempts: AtomicU32::new(0),
            failed_by_address: per_minute(limits.failed_auth_per_address_per_minute)
                .map(FailureLimiter::new),
            failed_by_device: per_minute(limits.failed_auth_per_device_per_minute)
                .map(FailureLimiter::new),
        }
    }

    /// One enrolment attempt from `ip`: refused when its bucket is empty.
    pub fn enrol_attempt(&self, ip: Option<IpAddr>) -> Result<(), ApiError> {
        let (Some(limiter), Some(ip)) = (&self.enrol, ip) else {
            return Ok(());
        };
        if self.enrol_attempts.fetch_add(1, Ordering::Relaxed) >= SWEEP_EVERY {
            self.enrol_attempts.store(0, Ordering::Relaxed);
            limiter.retain_recent();
            limiter.shrink_to_fit();
        }
        match limiter.check_key(&ip) {
            Ok(()) => Ok(()),
            Err(not_until) => Err(ApiError::RateLimited {
                retry_after: not_until.wait_time_from(limiter.clock().now()),
            }),
        }
    }

    /// Refuse a signed request from an address that failed too often.
    pub fn check_address(&self, ip: Option<IpAddr>) -> Result<(), ApiError> {
        match (&self.failed_by_address, ip) {
            (Some(limiter), Some(ip)) => refuse_while_blocked(limiter.blocked_for(&ip)),
            _ => Ok(()),
        }
    }

    /// Refuse a signed request naming a device whose signatures failed too
    /// often.
    pub fn check_device(&self, device: DeviceId) -> Result<(), ApiError> {
        match &self.failed_by_device {
            Some(limiter) => refuse_while_blocked(limiter.blocked_for(&device)),
            None => Ok(()),
        }
    }

    /// Count a failed signature from `ip`, naming `device` when it is an
    /// enrolled one. Returns how long the caller is now blocked, if it is.
    pub fn signature_failed(
        &self,
        ip: Option<IpAddr>,
        device: Option<DeviceId>,
    ) -> Option<Duration> {
        let by_address = match (&self.failed_by_address, ip) {
            (Some(limiter), Some(ip)) => limiter.fail(&ip),
            _ => None,
        };
        let by_device = match (&self.failed_by_device, device) {
            (Some(limiter), Some(device)) => limiter.fail(&device),
            _ => None,
        };
        by_address.max(by_device)
    }
}

fn refuse_while_blocked(blocked_for: Option<Duration>) -> Result<(), ApiError> {
    match blocked_for {
        Some(retry_after) => Err(ApiError::RateLimited { retry_after }),
        None => Ok(()),
    }
}

/// Middleware for `POST /v1/enrol`: spend an attempt from the client's
/// bucket before anything of the request is read.
pub async fn limit_enrolment(req: Request, next: Next) -> Response {
    let ip = client_ip(req.extensions());
    let verdict = match req.extensions().get::<std::sync::Arc<Throttle>>() {
        Some(throttle) => throttle.enrol_attempt(ip),
        None => Ok(()),
    };
    match verdict {
        Ok(()) => next.run(req).await,
        Err(refused) => {
            tracing::warn!(client = ?ip, "enrolment attempts over the limit");
            refused.into_response()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> Option<IpAddr> {
        Some(s.parse().unwrap())
    }

    #[test]
    fn enrolment_is_refused_after_the_budget_and_only_for_that_address() {
        let throttle = Throttle::new(RateLimits {
            enrol_per_minute: 3,
            ..RateLimits::default()
        });
        for _ in 0..3 {
            assert!(throttle.enrol_attempt(ip("10.0.0.1")).is_ok());
        }
        let refused = throttle.enrol_attempt(ip("10.0.0.1"));
        assert!(
            matches!(refused, Err(ApiError::RateLimited { retry_after }) if retry_after > Duration::ZERO && retry_after <= Duration::from_secs(20))
        );
        assert!(throttle.enrol_attempt(ip("10.0.0.2")).is_ok());
    }

    #[test]
    fn only_failures_spend_and_a_blocked_address_or_device_is_refused() {
        let throttle = Throttle::new(RateLimits {
            failed_auth_per_address_per_minute: 2,
            failed_auth_per_device_per_minute: 5,
            ..RateLimits::default()
        });
        let device = DeviceId::random();
        assert!(throttle.check_address(ip("10.0.0.1")).is_ok());
        assert_eq!(
            throttle.signature_failed(ip("10.0.0.1"), Some(device)),
            None
        );
        assert_eq!(
            throttle.signature_failed(ip("10.0.0.1"), Some(device)),
            None
        );
        assert!(throttle.check_address(ip("10.0.0.1")).is_ok());
        assert!(
            throttle
                .signature_failed(ip("10.0.0.1"), Some(device))
                .is_some()
        );
        assert!(matches!(
            throttle.check_address(ip("10.0.0.1")),
            Err(ApiError::RateLimited { .. })
        ));
        assert!(throttle.check_address(ip("10.0.0.2")).is_ok());
        // The device has failed three times of five: not blocked yet.
        assert!(throttle.check_device(device).is_ok());
        for _ in 0..3 {
            throttle.signature_failed(ip("10.0.0.3"), Some(device));
        }
        assert!(matches!(
            throttle.check_device(device),
            Err(ApiError::RateLimited { .. })
        ));
        assert!(throttle.check_device(DeviceId::random()).is_ok());
    }

    #[test]
    fn ipv6_addresses_share_a_bucket_per_64() {
        assert_eq!(
            address_key("2001:db8:1:2:aaaa::1".parse().unwrap()),
            address_key("2001:db8:1:2:bbbb::2".parse().unwrap())
        );
        assert_ne!(
            address_key("2001:db8:1:2::1".parse().unwrap()),
            address_key("2001:db8:1:3::1".parse().unwrap())
        );
    }

    #[test]
    fn zero_means_no_limit() {
        let throttle = Throttle::new(RateLimits {
            enrol_per_minute: 0,
            failed_auth_per_address_per_minute: 0,
            failed_auth_per_device_per_minute: 0,
        });
        for _ in 0..100 {
            assert!(throttle.enrol_attempt(ip("10.0.0.1")).is_ok());
            assert_eq!(
                throttle.signature_failed(ip("10.0.0.1"), Some(DeviceId::random())),
                None
            );
        }
        assert!(throttle.check_address(ip("10.0.0.1")).is_ok());
    }
}
