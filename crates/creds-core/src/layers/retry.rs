//! The retry layer.

use std::sync::Arc;
use std::time::{Duration, Instant};

use async_trait::async_trait;

use crate::error::Result;
use crate::reference::{Reference, Scheme};
use crate::secret::{Metadata, Secret};
use crate::store::Store;

/// When and how often to try again.
///
/// Only [temporary](crate::Error::is_temporary) errors are retried (unavailable, timeout, rate
/// limited, or any error a backend marks temporary). The delay before retry `n` (from 0) is
/// drawn uniformly from `[0, min(max_delay, base_delay × 2ⁿ))` ("full jitter"), and no retry
/// starts when its delay would pass `max_elapsed` since the first attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Attempts in all, the first included (1 means no retry).
    pub max_attempts: u32,
    /// The backoff's base.
    pub base_delay: Duration,
    /// The largest delay between attempts.
    pub max_delay: Duration,
    /// No retry starts later than this after the first attempt.
    pub max_elapsed: Duration,
}

impl Default for RetryPolicy {
    /// 3 attempts, 100 ms base, 2 s largest delay, 10 s in all.
    fn default() -> Self {
        RetryPolicy {
            max_attempts: 3,
            base_delay: Duration::from_millis(100),
            max_delay: Duration::from_secs(2),
            max_elapsed: Duration::from_secs(10),
        }
    }
}

impl RetryPolicy {
    /// The jittered delay before retry number `retry` (0 for the first retry).
    pub fn delay(&self, retry: u32) -> Duration {
        let cap = self
            .base_delay
            .saturating_mul(1u32.checked_shl(retry.min(31)).unwrap_or(u32::MAX))
            .min(self.max_delay);
        cap.mul_f64(super::random_unit())
    }
}

/// Retries temporary failures of the inner store under a [`RetryPolicy`]. Each retry is counted
/// in the `creds_retries_total` metric and logged at debug level on `creds::retry`.
#[derive(Debug)]
pub struct RetryStore {
    inner: Arc<dyn Store>,
    policy: RetryPolicy,
}

impl RetryStore {
    /// Wraps `inner`.
    pub fn new(inner: Arc<dyn Store>, policy: RetryPolicy) -> Self {
        RetryStore { inner, policy }
    }

    async fn retry<T, F, Fut>(&self, mut op: F) -> Result<T>
    where
        F: FnMut() -> Fut + Send,
        Fut: std::future::Future<Output = Result<T>> + Send,
    {
        let started = Instant::now();
        let mut attempt = 1;
        loop {
            match op().await {
                Ok(v) => return Ok(v),
                Err(e) if !e.is_temporary() || attempt >= self.policy.max_attempts => {
                    return Err(e);
                }
                Err(e) => {
                    let delay = self.policy.delay(attempt - 1);
                    if started.elapsed() + delay > self.policy.max_elapsed {
                        return Err(e);
                    }
                    tracing::debug!(
                        target: "creds::retry",
                        source = self.inner.name(),
                        attempt,
                        error = %e,
                        delay_ms = delay.as_millis() as u64,
                        "retrying"
                    );
                    metrics::counter!("creds_retries_total", "source" => self.inner.name().to_string())
                        .increment(1);
                    tokio::time::sleep(delay).await;
                    attempt += 1;
                }
            }
        }
    }
}

#[async_trait]
impl Store for RetryStore {
    fn scheme(&self) -> Scheme {
        self.inner.scheme()
    }
    fn name(&self) -> &str {
        self.inner.name()
    }
    async fn get(&self, reference: &Reference) -> Result<Secret> {
        self.retry(|| self.inner.get(reference)).await
    }
    /// Writes are not retried: after an ambiguous failure a second write could make a second
    /// version or fail a check-and-set.
    async fn set(&self, reference: &Reference, value: &[u8]) -> Result<Metadata> {
        self.inner.set(reference, value).await
    }
    async fn delete(&self, reference: &Reference) -> Result<()> {
        self.inner.delete(reference).await
    }
}
