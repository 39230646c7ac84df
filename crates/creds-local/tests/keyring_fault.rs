//! Fault test against a real server: the Secret Service (gnome-keyring, started by
//! `cargo xtask ci`) is paused with SIGSTOP while a cached resolver reads through the retry and
//! timeout layers, then resumed with SIGCONT.
//!
//! This binary holds one test only: pausing the shared daemon must not disturb other tests, and
//! cargo runs test binaries one after another.
#![cfg(feature = "keyring")]

use std::time::{Duration, Instant};

use creds_core::{CacheConfig, ErrorKind, Reference, Resolver, RetryPolicy, Store, Timeouts};
use creds_local::{KeyringBackend, KeyringStore};
use creds_test_support::counters;
use metrics_util::debugging::DebuggingRecorder;
use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;

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
            !creds_test_support::services_required(),
            "no CREDS_TEST_KEYRING_PID"
        );
        eprintln!("skipped: CREDS_TEST_KEYRING_PID is not set (run under cargo xtask services)");
        return;
    };
    let pid = Pid::from_raw(pid);
    let recorder = DebuggingRecorder::new();
    let snapshotter = recorder.snapshotter();
    recorder.install().unwrap();

    let rt = creds_test_support::rt();
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
        counters(&snapshotter); // start counting from here
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
        let grown = counters(&snapshotter);
        let retries = grown.get("creds_retries_total").copied().unwrap_or(0);
        assert_eq!(
            retries,
            u64::from(policy.max_attempts - 1),
            "retries are counted and bounded"
        );
        assert!(grown.get("creds_errors_total").copied().unwrap_or(0) >= 1);

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
