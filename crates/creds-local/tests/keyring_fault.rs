//! Fault test against a real server: the Secret Service (gnome-keyring, started by
//! `cargo xtask ci`) is paused with SIGSTOP while a cached resolver reads through the retry and
//! timeout layers, then resumed with SIGCONT.
//!
//! This binary holds one test only: pausing the shared daemon must not disturb other tests, and
//! cargo runs test binaries one after another.
#![cfg(feature = "keyring")]

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use creds_core::{CacheConfig, ErrorKind, Reference, Resolver, RetryPolicy, Store, Timeouts};
use creds_local::{KeyringBackend, KeyringStore};
use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;

/// Counts the `metrics` counters creds emits.
#[derive(Default)]
struct Counters(Mutex<HashMap<String, Arc<Count>>>);
#[derive(Default)]
struct Count(AtomicU64);
impl metrics::CounterFn for Count {
    fn increment(&self, value: u64) {
        self.0.fetch_add(value, Ordering::SeqCst);
    }
    fn absolute(&self, value: u64) {
        self.0.store(value, Ordering::SeqCst);
    }
}
impl Counters {
    fn get(&self, name: &str) -> u64 {
        self.0
            .lock()
            .unwrap()
            .get(name)
            .map(|c| c.0.load(Ordering::SeqCst))
            .unwrap_or(0)
    }
}
struct Recorder(Arc<Counters>);
impl metrics::Recorder for Recorder {
    fn describe_counter(
        &self,
        _: metrics::KeyName,
        _: Option<metrics::Unit>,
        _: metrics::SharedString,
    ) {
    }
    fn describe_gauge(
        &self,
        _: metrics::KeyName,
        _: Option<metrics::Unit>,
        _: metrics::SharedString,
    ) {
    }
    fn describe_histogram(
        &self,
        _: metrics::KeyName,
        _: Option<metrics::Unit>,
        _: metrics::SharedString,
    ) {
    }
    fn register_counter(&self, key: &metrics::Key, _: &metrics::Metadata<'_>) -> metrics::Counter {
        let count = self
            .0
            .0
            .lock()
            .unwrap()
            .entry(key.name().to_string())
            .or_default()
            .clone();
        metrics::Counter::from_arc(count)
    }
    fn register_gauge(&self, _: &metrics::Key, _: &metrics::Metadata<'_>) -> metrics::Gauge {
        metrics::Gauge::noop()
    }
    fn register_histogram(
        &self,
        _: &metrics::Key,
        _: &metrics::Metadata<'_>,
    ) -> metrics::Histogram {
        metrics::Histogram::noop()
    }
}

/// SIGSTOPs a process; SIGCONTs it when dropped (also when the test fails).
struct Paused(Pid);
impl Paused {
    fn new(pid: Pid) -> Self {
        kill(pid, Signal::SIGSTOP).expect("SIGSTOP");
        Paused(pid)
    }
}
impl Drop for Paused {
    fn drop(&mut self) {
        let _ = kill(self.0, Signal::SIGCONT);
    }
}

#[test]
fn paused_secret_service_gets_stale_values_and_bounded_retries_then_recovers() {
    let Some(pid) = std::env::var("CREDS_TEST_KEYRING_PID")
        .ok()
        .and_then(|p| p.parse().ok())
    else {
        assert!(
            std::env::var("CREDS_TEST_SERVICES").as_deref() != Ok("1"),
            "no CREDS_TEST_KEYRING_PID"
        );
        eprintln!("skipped: CREDS_TEST_KEYRING_PID is not set (run under cargo xtask services)");
        return;
    };
    let pid = Pid::from_raw(pid);
    let counters = Arc::new(Counters::default());
    metrics::set_global_recorder(Recorder(counters.clone())).unwrap();

    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let store = KeyringStore::builder()
            .with_backend(KeyringBackend::SecretService)
            .with_timeout(Duration::from_secs(3))
            .build();
        let service = format!("creds-fault-{}", std::process::id());
        let cached: Reference = format!("keyring://{service}/cached").parse().unwrap();
        store.set(&cached, b"last-good").await.unwrap();

        let policy = RetryPolicy {
            max_attempts: 3,
            base_delay: Duration::from_millis(10),
            max_delay: Duration::from_millis(20),
            max_elapsed: Duration::from_secs(10),
        };
        let deadline = Duration::from_secs(2);
        let resolver = Resolver::builder()
            .with_store(store.clone())
            .with_retry(policy)
            .with_timeouts(Timeouts {
                attempt: Some(Duration::from_millis(400)),
                overall: Some(deadline),
            })
            .with_cache(
                CacheConfig::default()
                    .with_ttl(Duration::from_millis(200))
                    .with_stale_if_error(Duration::from_secs(60))
                    .with_refresh_ahead(None)
                    .with_jitter(0.0)
                    .with_error_backoff(Duration::from_millis(100)),
            )
            .build();
        let key = cached.to_string();
        assert_eq!(
            resolver
                .get(key.as_str())
                .await
                .unwrap()
                .expose_str()
                .unwrap(),
            "last-good"
        );

        let paused = Paused::new(pid);
        tokio::time::sleep(Duration::from_millis(250)).await;

        // Inside the stale window: the last good value, within the deadline.
        let started = Instant::now();
        let s = resolver.get(key.as_str()).await.unwrap();
        assert_eq!(s.expose_str().unwrap(), "last-good");
        assert!(
            started.elapsed() < deadline + Duration::from_millis(500),
            "{:?}",
            started.elapsed()
        );
        assert!(resolver.cache_stats().unwrap().stale >= 1);

        // Nothing cached: a timeout error within the deadline, after bounded, counted retries.
        let retries_before = counters.get("creds_retries_total");
        let started = Instant::now();
        let e = resolver
            .get(format!("keyring://{service}/never-cached"))
            .await
            .unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Timeout, "{e}");
        assert!(e.kind().falls_through());
        assert!(
            started.elapsed() < deadline + Duration::from_millis(500),
            "{:?}",
            started.elapsed()
        );
        let retries = counters.get("creds_retries_total") - retries_before;
        assert_eq!(
            retries,
            u64::from(policy.max_attempts - 1),
            "retries are counted and bounded"
        );
        assert!(counters.get("creds_errors_total") >= 1);

        // Resume: everything recovers.
        drop(paused);
        store.set(&cached, b"after-resume").await.unwrap();
        let until = Instant::now() + Duration::from_secs(10);
        loop {
            match resolver.refresh_now(key.as_str()).await {
                Ok(s) if s.expose_str().unwrap() == "after-resume" => break,
                _ if Instant::now() < until => tokio::time::sleep(Duration::from_millis(100)).await,
                other => panic!("did not recover: {other:?}"),
            }
        }
        store.delete(&cached).await.unwrap();
    });
}
