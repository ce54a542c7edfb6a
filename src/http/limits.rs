//! Back-pressure: how much the server takes on before it answers "not now"
//! (503 or 429, always with `Retry-After`, never a 500), and how long it
//! waits for a slow client. `[limits]` and `[rate_limit]` in the config.
//!
//! - At most `max_concurrent_requests` requests are in the handlers at
//!   once; one more is answered 503 at once rather than queued (the health
//!   endpoints are exempt, so `/healthz` answers however busy).
//! - A write waits at most `lock_wait_ms` for the write lock (503 after).
//! - A PATCH carries at most `max_patch_operations` operations.
//! - `[rate_limit]` (off by default): a token bucket per credential.

use std::sync::Arc;
use std::time::Duration;

use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::Response;
use serde::Deserialize;
use tokio::sync::Semaphore;

use super::{error, AppState};

/// `[limits]`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct LimitsConfig {
    /// Requests in the handlers at once; more are answered 503.
    pub max_concurrent_requests: usize,
    /// Milliseconds a write waits for the write lock or a database
    /// connection before it is answered 503.
    pub lock_wait_ms: u64,
    /// Most operations one PATCH request may carry.
    pub max_patch_operations: usize,
    /// Seconds from a connection's start (or its previous response) to the
    /// end of a request's headers; a slower client is disconnected.
    pub header_read_timeout_seconds: u64,
    /// Seconds from the end of the headers to the body's last byte; a
    /// slower body is answered 408 and the connection closed.
    pub body_read_timeout_seconds: u64,
    /// Seconds a request may take in all: 408 if its body was still
    /// arriving, else 503 (the work may still finish).
    pub request_timeout_seconds: u64,
    /// The same for `POST /Bulk`, whose thousands of operations take
    /// longer than any single request; at the timeout no further operation
    /// starts.
    pub bulk_timeout_seconds: u64,
}

impl Default for LimitsConfig {
    fn default() -> Self {
        Self {
            max_concurrent_requests: 256,
            lock_wait_ms: 5_000,
            max_patch_operations: crate::directory::DEFAULT_MAX_PATCH_OPERATIONS,
            header_read_timeout_seconds: 10,
            body_read_timeout_seconds: 30,
            request_timeout_seconds: 30,
            bulk_timeout_seconds: 300,
        }
    }
}

impl LimitsConfig {
    pub fn validate(&self) -> Result<(), String> {
        let positive = [
            (
                "max_concurrent_requests",
                self.max_concurrent_requests as u64,
            ),
            ("lock_wait_ms", self.lock_wait_ms),
            ("max_patch_operations", self.max_patch_operations as u64),
            (
                "header_read_timeout_seconds",
                self.header_read_timeout_seconds,
            ),
            ("body_read_timeout_seconds", self.body_read_timeout_seconds),
            ("request_timeout_seconds", self.request_timeout_seconds),
            ("bulk_timeout_seconds", self.bulk_timeout_seconds),
        ];
        match positive.iter().find(|(_, v)| *v == 0) {
            Some((k, _)) => Err(format!("[limits] {k} must be at least 1")),
            None => Ok(()),
        }
    }

    pub fn lock_wait(&self) -> Duration {
        Duration::from_millis(self.lock_wait_ms)
    }

    pub fn header_read_timeout(&self) -> Duration {
        Duration::from_secs(self.header_read_timeout_seconds)
    }

    pub fn body_read_timeout(&self) -> Duration {
        Duration::from_secs(self.body_read_timeout_seconds)
    }

    pub fn request_timeout(&self) -> Duration {
        Duration::from_secs(self.request_timeout_seconds)
    }

    /// The time a request to `path` may take.
    pub fn timeout_for(&self, path: &str) -> Duration {
        if path.ends_with("/Bulk") {
            Duration::from_secs(self.bulk_timeout_seconds)
        } else {
            self.request_timeout()
        }
    }
}

/// The requests in the handlers now, out of `max_concurrent_requests`.
#[derive(Debug, Clone)]
pub struct Admission {
    permits: Arc<Semaphore>,
}

impl Admission {
    pub fn new(max: usize) -> Self {
        Self {
            permits: Arc::new(Semaphore::new(max)),
        }
    }
}

/// Paths that answer however busy the server is: probes and metrics.
fn always_admitted(path: &str) -> bool {
    matches!(path, "/healthz" | "/readyz" | "/metrics")
}

/// Admit the request if a slot is free, else answer 503 at once.
pub(super) async fn admit(State(s): State<AppState>, req: Request, next: Next) -> Response {
    if always_admitted(req.uri().path()) {
        return next.run(req).await;
    }
    let Ok(_permit) = s.admission.permits.clone().try_acquire_owned() else {
        s.metrics.count_shed();
        return error::not_now(
            req.uri().path(),
            503,
            "the server is at its limit of concurrent requests; retry shortly",
        );
    };
    next.run(req).await
}

/// `[rate_limit]`: a token bucket per credential. Off when absent.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RateLimitConfig {
    /// Sustained requests per second a credential may send.
    pub requests_per_second: f64,
    /// Requests a credential may send at once after a quiet spell.
    pub burst: u32,
}

impl RateLimitConfig {
    pub fn validate(&self) -> Result<(), String> {
        if !(self.requests_per_second.is_finite() && self.requests_per_second > 0.0) {
            return Err("[rate_limit] requests_per_second must be a number above 0".into());
        }
        if self.burst == 0 {
            return Err("[rate_limit] burst must be at least 1".into());
        }
        Ok(())
    }
}

/// Credentials whose buckets are kept before full ones are forgotten (a
/// full bucket is the same as none).
const MAX_TRACKED_CREDENTIALS: usize = 10_000;

struct Bucket {
    tokens: f64,
    at: std::time::Instant,
}

/// The buckets; `admit` answers how long to wait when a credential's is
/// empty.
pub struct RateLimiter {
    config: Option<RateLimitConfig>,
    buckets: std::sync::Mutex<std::collections::HashMap<String, Bucket>>,
}

impl RateLimiter {
    pub fn new(config: Option<RateLimitConfig>) -> Self {
        Self {
            config,
            buckets: Default::default(),
        }
    }

    /// Take a token from `credential`'s bucket, or say how long until one
    /// is there.
    pub fn admit(&self, credential: &str) -> Result<(), Duration> {
        self.admit_at(credential, std::time::Instant::now())
    }

    fn admit_at(&self, credential: &str, now: std::time::Instant) -> Result<(), Duration> {
        let Some(cfg) = &self.config else {
            return Ok(());
        };
        let burst = f64::from(cfg.burst);
        let rate = cfg.requests_per_second;
        let Ok(mut buckets) = self.buckets.lock() else {
            return Ok(());
        };
        if buckets.len() >= MAX_TRACKED_CREDENTIALS && !buckets.contains_key(credential) {
            buckets.retain(|_, b| {
                b.tokens + now.saturating_duration_since(b.at).as_secs_f64() * rate < burst
            });
        }
        let b = buckets.entry(credential.to_string()).or_insert(Bucket {
            tokens: burst,
            at: now,
        });
        let refill = now.saturating_duration_since(b.at).as_secs_f64() * rate;
        b.tokens = (b.tokens + refill).min(burst);
        b.at = now;
        if b.tokens >= 1.0 {
            b.tokens -= 1.0;
            Ok(())
        } else {
            Err(Duration::from_secs_f64((1.0 - b.tokens) / rate))
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use std::time::Instant;

    fn limiter(rps: f64, burst: u32) -> RateLimiter {
        RateLimiter::new(Some(RateLimitConfig {
            requests_per_second: rps,
            burst,
        }))
    }

    #[test]
    fn a_burst_then_the_sustained_rate_per_credential() {
        let l = limiter(2.0, 3);
        let t0 = Instant::now();
        for _ in 0..3 {
            assert!(l.admit_at("a", t0).is_ok());
        }
        let wait = l.admit_at("a", t0).unwrap_err();
        assert_eq!(wait, Duration::from_millis(500));
        // Another credential has its own bucket.
        assert!(l.admit_at("b", t0).is_ok());
        // Half a second later one token is back, and only one.
        let t1 = t0 + Duration::from_millis(500);
        assert!(l.admit_at("a", t1).is_ok());
        assert!(l.admit_at("a", t1).is_err());
        // A long quiet spell refills to the burst, not beyond.
        let t2 = t1 + Duration::from_secs(60);
        for _ in 0..3 {
            assert!(l.admit_at("a", t2).is_ok());
        }
        assert!(l.admit_at("a", t2).is_err());
    }

    #[test]
    fn off_admits_everything() {
        let l = RateLimiter::new(None);
        let t0 = Instant::now();
        assert!((0..10_000).all(|_| l.admit_at("a", t0).is_ok()));
    }

    #[test]
    fn config_refuses_zero_and_non_numbers() {
        let bad = |rps: f64, burst| {
            RateLimitConfig {
                requests_per_second: rps,
                burst,
            }
            .validate()
            .is_err()
        };
        assert!(bad(0.0, 1) && bad(f64::NAN, 1) && bad(-1.0, 1) && bad(1.0, 0));
        assert!(!bad(25.0, 50));
    }
}
