//! Retries of registry requests, with the same shape as the AWS SDK's standard mode: a few
//! attempts, exponential backoff with jitter, and the server's `Retry-After` when it is short.
//!
//! Which failures are worth another attempt is [`OciError::is_transient`]; this module only
//! decides when to try again and runs the attempts. Jitter keeps the parallel blob uploads of
//! one copy from hitting a recovering registry in lockstep.

use std::future::Future;
use std::hash::{BuildHasher, RandomState};
use std::time::Duration;

use reqwest::StatusCode;
use reqwest::header::{HeaderMap, RETRY_AFTER};

use crate::oci::error::OciError;

/// How many times to try and how long to wait between tries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Backoff {
    /// Attempts in all, the first included; 1 means no retry.
    pub attempts: u32,
    /// Wait before the first retry (before jitter); doubles each retry.
    pub base: Duration,
    /// Longest wait computed from `base`.
    pub max_delay: Duration,
    /// Longest `Retry-After` honoured; a longer one (a registry asking for minutes) is not waited
    /// for, since the tool call would time out anyway: the backoff applies instead.
    pub max_retry_after: Duration,
}

/// The policy of every registry request: 4 attempts, 200 ms base, like the AWS SDK's default.
pub const REGISTRY: Backoff = Backoff {
    attempts: 4,
    base: Duration::from_millis(200),
    max_delay: Duration::from_secs(5),
    max_retry_after: Duration::from_secs(10),
};

impl Backoff {
    /// The wait before retry number `retry` (1 for the first retry): half the exponential step
    /// plus a random part of the other half, or the registry's `Retry-After` when it is small.
    pub fn delay(&self, retry: u32, retry_after: Option<Duration>) -> Duration {
        if let Some(wait) = retry_after.filter(|w| *w <= self.max_retry_after) {
            return wait;
        }
        let step = self
            .base
            .saturating_mul(1u32 << retry.saturating_sub(1).min(16))
            .min(self.max_delay);
        let half = step / 2;
        half + half.mul_f64(unit_random())
    }

    /// Runs `attempt` until it succeeds, fails in a way a retry cannot fix, or the attempts are
    /// used up; `what` names the request in the log.
    pub async fn run<T, F, Fut>(&self, what: &str, mut attempt: F) -> Result<T, OciError>
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = Result<T, OciError>>,
    {
        let mut tried = 1;
        loop {
            match attempt().await {
                Err(e) if e.is_transient() && tried < self.attempts => {
                    let wait = self.delay(tried, None);
                    tracing::warn!(request = what, error = %e, attempt = tried, wait_ms = wait.as_millis() as u64, "registry request failed; retrying");
                    tokio::time::sleep(wait).await;
                    tried += 1;
                }
                other => return other,
            }
        }
    }
}

/// True for the answers a retry may get past: throttling and server errors.
pub fn retryable_status(status: StatusCode) -> bool {
    status == StatusCode::TOO_MANY_REQUESTS || status.is_server_error()
}

/// `Retry-After` in seconds (the HTTP-date form is ignored: registries send seconds).
pub fn retry_after(headers: &HeaderMap) -> Option<Duration> {
    let seconds = headers
        .get(RETRY_AFTER)?
        .to_str()
        .ok()?
        .trim()
        .parse::<u64>()
        .ok()?;
    Some(Duration::from_secs(seconds))
}

/// A number in [0, 1) that differs per call, from std's randomly keyed hasher; good enough for
/// jitter, and it needs no extra dependency.
fn unit_random() -> f64 {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.subsec_nanos());
    let bits = RandomState::new().hash_one(nanos);
    (bits >> 11) as f64 / (1u64 << 53) as f64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delays_grow_stay_bounded_and_honour_short_retry_after() {
        for retry in 1..=3 {
            let step = REGISTRY.base * (1 << (retry - 1));
            for _ in 0..50 {
                let d = REGISTRY.delay(retry, None);
                assert!(d >= step / 2 && d <= step, "retry {retry}: {d:?}");
            }
        }
        assert!(REGISTRY.delay(30, None) <= REGISTRY.max_delay);
        let short = Some(Duration::from_secs(2));
        assert_eq!(REGISTRY.delay(1, short), Duration::from_secs(2));
        let long = Some(Duration::from_secs(600));
        assert!(REGISTRY.delay(1, long) <= REGISTRY.base);
    }

    #[test]
    fn retry_after_reads_seconds_only() {
        let mut h = HeaderMap::new();
        assert_eq!(retry_after(&h), None);
        h.insert(
            RETRY_AFTER,
            reqwest::header::HeaderValue::from_static(" 3 "),
        );
        assert_eq!(retry_after(&h), Some(Duration::from_secs(3)));
        h.insert(
            RETRY_AFTER,
            reqwest::header::HeaderValue::from_static("Wed, 21 Oct 2026 07:28:00 GMT"),
        );
        assert_eq!(retry_after(&h), None);
        assert!(retryable_status(StatusCode::TOO_MANY_REQUESTS));
        assert!(retryable_status(StatusCode::BAD_GATEWAY));
        assert!(!retryable_status(StatusCode::FORBIDDEN));
        assert!(!retryable_status(StatusCode::NOT_FOUND));
    }

    #[tokio::test]
    async fn run_retries_transient_failures_only() {
        let fast = Backoff {
            base: Duration::from_millis(1),
            ..REGISTRY
        };
        let calls = std::sync::atomic::AtomicU32::new(0);
        let server_error = || OciError::from_status("r", "blob x", 500, b"");
        let out = fast
            .run("test", || {
                let n = calls.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                async move { if n < 2 { Err(server_error()) } else { Ok(n) } }
            })
            .await;
        assert_eq!(out, Ok(2));

        calls.store(0, std::sync::atomic::Ordering::SeqCst);
        let out: Result<(), _> = fast
            .run("test", || {
                calls.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                async { Err(server_error()) }
            })
            .await;
        assert!(out.is_err());
        assert_eq!(
            calls.load(std::sync::atomic::Ordering::SeqCst),
            REGISTRY.attempts
        );

        calls.store(0, std::sync::atomic::Ordering::SeqCst);
        let out: Result<(), _> = fast
            .run("test", || {
                calls.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                async { Err(OciError::from_status("r", "blob x", 403, b"")) }
            })
            .await;
        assert!(matches!(out, Err(OciError::Denied { .. })));
        assert_eq!(calls.load(std::sync::atomic::Ordering::SeqCst), 1);
    }
}
