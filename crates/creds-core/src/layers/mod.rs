//! Layers that wrap any [`Store`]: timeouts and retries, configured on the
//! [`ResolverBuilder`](crate::ResolverBuilder) and applied to every store it holds. The cache
//! ([`CacheConfig`](crate::CacheConfig)) sits in the resolver, in front of them.
//!
//! The order, from the caller inwards, is fixed and tested:
//!
//! ```text
//! caller
//!   └─ cache          (resolver: fresh hit, single-flight, stale-if-error, refresh-ahead)
//!       └─ overall timeout   (one deadline for all attempts)
//!           └─ retry         (temporary errors only; exponential backoff, full jitter)
//!               └─ attempt timeout   (each backend call)
//!                   └─ store
//! ```
//!
//! So a hung backend costs one attempt timeout per attempt, retries never outlive the overall
//! deadline, a timeout (always temporary) is retried, and when everything fails the cache may
//! still serve the last good value within its stale-if-error window.

mod retry;
mod timeout;

use std::sync::Arc;
use std::time::Duration;

pub use retry::{RetryPolicy, RetryStore};
pub use timeout::TimeoutStore;

use crate::store::Store;

/// Timeouts for backend calls.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Timeouts {
    /// The limit for one backend call.
    pub attempt: Option<Duration>,
    /// The limit for a whole read, retries included.
    pub overall: Option<Duration>,
}

impl Default for Timeouts {
    /// 5 s per attempt, 15 s overall.
    fn default() -> Self {
        Timeouts {
            attempt: Some(Duration::from_secs(5)),
            overall: Some(Duration::from_secs(15)),
        }
    }
}

impl Timeouts {
    /// No timeouts at all.
    pub fn none() -> Self {
        Timeouts {
            attempt: None,
            overall: None,
        }
    }
}

/// Wraps a store in the timeout and retry layers, in the documented order.
pub fn wrap(
    store: Arc<dyn Store>,
    timeouts: Timeouts,
    retry: Option<RetryPolicy>,
) -> Arc<dyn Store> {
    let mut store = store;
    if let Some(attempt) = timeouts.attempt {
        store = Arc::new(TimeoutStore::new(store, attempt, "attempt"));
    }
    if let Some(policy) = retry {
        store = Arc::new(RetryStore::new(store, policy));
    }
    if let Some(overall) = timeouts.overall {
        store = Arc::new(TimeoutStore::new(store, overall, "overall"));
    }
    store
}

/// A pseudo-random number in `[0, 1)`, for jitter. Not for cryptography.
pub(crate) fn random_unit() -> f64 {
    use std::cell::Cell;
    use std::hash::{BuildHasher, Hasher};
    thread_local! {
        static STATE: Cell<u64> = Cell::new({
            let mut h = std::collections::hash_map::RandomState::new().build_hasher();
            h.write_u64(0x9e37_79b9_7f4a_7c15);
            h.finish() | 1
        });
    }
    STATE.with(|s| {
        // xorshift64*
        let mut x = s.get();
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        s.set(x);
        (x.wrapping_mul(0x2545_f491_4f6c_dd1d) >> 11) as f64 / (1u64 << 53) as f64
    })
}
