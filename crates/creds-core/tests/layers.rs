//! The cache, retry and timeout layers and watches, against a store whose answers, delays and
//! versions the test controls. (The same layers against real servers are exercised by the
//! backend crates' fault tests.)

use std::sync::Arc;
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant, SystemTime};

use creds_core::{
    CacheConfig, Chain, Error, ErrorKind, Metadata, Reference, Resolver, Result, RetryPolicy,
    Scheme, Secret, Store, Timeouts, async_trait,
};
use creds_test_support::rt;

/// A store whose behaviour the test changes while it runs.
struct Gate {
    calls: AtomicUsize,
    state: Mutex<State>,
}

#[derive(Debug, Clone)]
struct State {
    value: String,
    version: u32,
    fail: Option<ErrorKind>,
    fail_times: usize,
    delay: Duration,
    expires_in: Option<Duration>,
}

impl Gate {
    fn new(value: &str) -> Arc<Gate> {
        Arc::new(Gate {
            calls: AtomicUsize::new(0),
            state: Mutex::new(State {
                value: value.into(),
                version: 1,
                fail: None,
                fail_times: usize::MAX,
                delay: Duration::ZERO,
                expires_in: None,
            }),
        })
    }
    fn calls(&self) -> usize {
        self.calls.load(Ordering::SeqCst)
    }
    fn with(&self, f: impl FnOnce(&mut State)) {
        f(&mut self.state.lock().unwrap());
    }
    fn rotate(&self, value: &str) {
        self.with(|s| {
            s.value = value.into();
            s.version += 1;
        });
    }
}

impl std::fmt::Debug for Gate {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Gate")
    }
}

#[async_trait]
impl Store for Gate {
    fn scheme(&self) -> Scheme {
        Scheme::Env
    }
    async fn get(&self, reference: &Reference) -> Result<Secret> {
        self.calls.fetch_add(1, Ordering::SeqCst);
        let state = self.state.lock().unwrap().clone();
        if !state.delay.is_zero() {
            tokio::time::sleep(state.delay).await;
        }
        if let Some(kind) = state.fail
            && state.fail_times > 0
        {
            self.with(|s| s.fail_times = s.fail_times.saturating_sub(1));
            return Err(Error::new(kind, "the gate says no"));
        }
        if reference.locator() == "MISSING" {
            return Err(Error::not_found("no such variable"));
        }
        let mut meta = Metadata::default().with_version(state.version.to_string());
        if let Some(e) = state.expires_in {
            meta = meta.with_expires(SystemTime::now() + e);
        }
        Ok(Secret::new(state.value.clone().into_bytes(), meta))
    }
}

fn cached(gate: &Arc<Gate>, config: CacheConfig) -> Resolver {
    Resolver::builder()
        .with_shared_store(gate.clone())
        .with_cache(config.with_jitter(0.0))
        .build()
}

fn text(s: &Secret) -> String {
    s.expose_str().unwrap().to_string()
}

#[test]
fn fresh_values_come_from_memory_until_the_ttl() {
    rt().block_on(async {
        let gate = Gate::new("v1");
        let r = cached(
            &gate,
            CacheConfig::default()
                .with_ttl(Duration::from_millis(150))
                .with_refresh_ahead(None),
        );
        for _ in 0..50 {
            assert_eq!(text(&r.get("env://KEY").await.unwrap()), "v1");
        }
        assert_eq!(gate.calls(), 1);
        let stats = r.cache_stats().unwrap();
        assert_eq!((stats.hits, stats.misses), (49, 1));
        // Selectors are cached per reference text.
        gate.with(|s| s.value = r#"{"a":"b"}"#.into());
        assert_eq!(text(&r.get("env://OTHER#a").await.unwrap()), "b");
        tokio::time::sleep(Duration::from_millis(200)).await;
        gate.with(|s| s.value = "v2".into());
        assert_eq!(text(&r.get("env://KEY").await.unwrap()), "v2");
        assert_eq!(gate.calls(), 3);
    });
}

#[test]
fn per_scheme_and_per_reference_ttl_and_backend_expiry_bound_the_ttl() {
    rt().block_on(async {
        let gate = Gate::new("v1");
        let config = CacheConfig::default()
            .with_ttl(Duration::from_secs(3600))
            .with_reference_ttl("env://SHORT", Duration::from_millis(50))
            .with_refresh_ahead(None);
        let r = cached(&gate, config);
        r.get("env://SHORT").await.unwrap();
        r.get("env://LONG").await.unwrap();
        tokio::time::sleep(Duration::from_millis(100)).await;
        r.get("env://SHORT").await.unwrap();
        r.get("env://LONG").await.unwrap();
        assert_eq!(gate.calls(), 3, "only the short one was fetched again");

        let gate = Gate::new("leased");
        gate.with(|s| s.expires_in = Some(Duration::from_millis(60)));
        let config = CacheConfig::default()
            .with_scheme_ttl(Scheme::Env, Duration::from_secs(3600))
            .with_refresh_ahead(None);
        let r = cached(&gate, config);
        r.get("env://LEASE").await.unwrap();
        tokio::time::sleep(Duration::from_millis(100)).await;
        // Past its expiry the backend is asked, and a failing backend gets no stale value.
        gate.with(|s| s.fail = Some(ErrorKind::Unavailable));
        let e = r.get("env://LEASE").await.unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Unavailable);
        assert_eq!(gate.calls(), 2);
    });
}

#[test]
fn one_backend_call_for_a_thousand_concurrent_misses() {
    rt().block_on(async {
        let gate = Gate::new("cold");
        gate.with(|s| s.delay = Duration::from_millis(100));
        let r = cached(&gate, CacheConfig::default());
        let tasks: Vec<_> = (0..1000)
            .map(|_| {
                let r = r.clone();
                tokio::spawn(async move { r.get("env://COLD").await })
            })
            .collect();
        for t in tasks {
            assert_eq!(text(&t.await.unwrap().unwrap()), "cold");
        }
        assert_eq!(gate.calls(), 1);
        let stats = r.cache_stats().unwrap();
        assert_eq!(stats.misses, 1);
        assert_eq!(stats.coalesced, 999);
    });
}

#[test]
fn failures_are_shared_by_coalesced_callers_and_not_cached() {
    rt().block_on(async {
        let gate = Gate::new("v");
        gate.with(|s| {
            s.delay = Duration::from_millis(50);
            s.fail = Some(ErrorKind::PermissionDenied);
        });
        let r = cached(&gate, CacheConfig::default());
        let tasks: Vec<_> = (0..20)
            .map(|_| {
                let r = r.clone();
                tokio::spawn(async move { r.get("env://DENIED").await })
            })
            .collect();
        for t in tasks {
            assert_eq!(
                t.await.unwrap().unwrap_err().kind(),
                ErrorKind::PermissionDenied
            );
        }
        assert_eq!(gate.calls(), 1);
        gate.with(|s| s.fail = None);
        assert_eq!(text(&r.get("env://DENIED").await.unwrap()), "v");
        assert_eq!(
            r.cache_stats().unwrap().errors.get("permission_denied"),
            Some(&1)
        );
    });
}

#[test]
fn stale_if_error_serves_the_last_good_value_inside_the_window() {
    rt().block_on(async {
        let gate = Gate::new("good");
        let config = CacheConfig::default()
            .with_ttl(Duration::from_millis(50))
            .with_stale_if_error(Duration::from_millis(300))
            .with_error_backoff(Duration::from_millis(500))
            .with_refresh_ahead(None);
        let r = cached(&gate, config);
        r.get("env://S").await.unwrap();
        tokio::time::sleep(Duration::from_millis(80)).await;
        for kind in [
            ErrorKind::Unavailable,
            ErrorKind::Timeout,
            ErrorKind::RateLimited,
        ] {
            gate.with(|s| s.fail = Some(kind));
            r.invalidate("env://NOTHING");
            let s = r.refresh_now("env://S").await.unwrap();
            assert_eq!(text(&s), "good", "{kind}");
        }
        let before = gate.calls();
        // Inside the backoff, stale values come without asking the backend.
        assert_eq!(text(&r.get("env://S").await.unwrap()), "good");
        assert_eq!(gate.calls(), before);
        assert!(r.cache_stats().unwrap().stale >= 4);
        // A non-temporary error is never hidden by a stale value.
        tokio::time::sleep(Duration::from_millis(550)).await;
        gate.with(|s| s.fail = Some(ErrorKind::PermissionDenied));
        assert_eq!(
            r.get("env://S").await.unwrap_err().kind(),
            ErrorKind::PermissionDenied
        );
        // Outside the window the error comes through.
        gate.with(|s| s.fail = Some(ErrorKind::Unavailable));
        assert_eq!(
            r.get("env://S").await.unwrap_err().kind(),
            ErrorKind::Unavailable
        );
        // And the backend recovering gives fresh values again.
        gate.with(|s| s.fail = None);
        gate.rotate("new");
        assert_eq!(text(&r.get("env://S").await.unwrap()), "new");
    });
}

#[test]
fn refresh_ahead_refreshes_in_the_background() {
    rt().block_on(async {
        let gate = Gate::new("v1");
        let config = CacheConfig::default()
            .with_ttl(Duration::from_millis(1500))
            .with_refresh_ahead(Some(0.2));
        let r = cached(&gate, config);
        let loaded = Instant::now();
        r.get("env://RA").await.unwrap();
        gate.rotate("v2");
        gate.with(|s| s.delay = Duration::from_millis(400));
        tokio::time::sleep(Duration::from_millis(350)).await;
        // Past a fifth of the TTL: the caller gets the cached value without waiting for the
        // (slow) refresh ...
        let started = Instant::now();
        assert_eq!(text(&r.get("env://RA").await.unwrap()), "v1");
        assert!(
            started.elapsed() < Duration::from_millis(300),
            "no wait for the refresh"
        );
        // ... and the background refresh replaces it before the TTL ends.
        loop {
            if text(&r.get("env://RA").await.unwrap()) == "v2" {
                break;
            }
            assert!(
                loaded.elapsed() < Duration::from_millis(1400),
                "refresh-ahead did not land in time"
            );
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        assert_eq!(gate.calls(), 2, "exactly one background refresh");
        assert!(r.cache_stats().unwrap().refreshes >= 1);
    });
}

#[test]
fn negative_caching_is_optional() {
    rt().block_on(async {
        let gate = Gate::new("v");
        let r = cached(&gate, CacheConfig::default());
        for _ in 0..3 {
            assert_eq!(
                r.get("env://MISSING").await.unwrap_err().kind(),
                ErrorKind::NotFound
            );
        }
        assert_eq!(gate.calls(), 3, "not cached by default");
        let gate = Gate::new("v");
        let r = cached(
            &gate,
            CacheConfig::default().with_negative_ttl(Some(Duration::from_millis(100))),
        );
        for _ in 0..3 {
            let e = r.get("env://MISSING").await.unwrap_err();
            assert_eq!(e.kind(), ErrorKind::NotFound);
            assert_eq!(e.reference(), Some("env://MISSING"));
        }
        assert_eq!(gate.calls(), 1);
        tokio::time::sleep(Duration::from_millis(150)).await;
        r.get("env://MISSING").await.unwrap_err();
        assert_eq!(gate.calls(), 2);
    });
}

#[test]
fn size_bounds_hold_in_entries_and_bytes() {
    rt().block_on(async {
        let gate = Gate::new("small");
        let r = cached(&gate, CacheConfig::default().with_capacity(10, 1 << 20));
        for i in 0..200 {
            r.get(format!("env://K{i}")).await.unwrap();
        }
        let entries = r.cache_stats().unwrap().entries;
        assert!((1..=10).contains(&entries), "{entries} entries");

        let big = "x".repeat(10_000);
        let gate = Gate::new(&big);
        let r = cached(&gate, CacheConfig::default().with_capacity(1000, 50_000));
        for i in 0..50 {
            r.get(format!("env://B{i}")).await.unwrap();
        }
        let entries = r.cache_stats().unwrap().entries;
        assert!(
            (1..=5).contains(&entries),
            "{entries} entries of 10 kB in 50 kB"
        );
    });
}

#[test]
fn invalidate_and_refresh_now_ask_the_backend() {
    rt().block_on(async {
        let gate = Gate::new("v1");
        let r = cached(&gate, CacheConfig::default());
        r.get("env://X").await.unwrap();
        gate.rotate("v2");
        assert_eq!(text(&r.get("env://X").await.unwrap()), "v1");
        assert_eq!(text(&r.refresh_now("env://X").await.unwrap()), "v2");
        gate.rotate("v3");
        r.invalidate("env://X");
        assert_eq!(text(&r.get("env://X").await.unwrap()), "v3");
        assert_eq!(gate.calls(), 3);
    });
}

#[test]
fn retries_temporary_errors_only_and_within_bounds() {
    rt().block_on(async {
        let policy = RetryPolicy {
            max_attempts: 4,
            base_delay: Duration::from_millis(5),
            max_delay: Duration::from_millis(20),
            max_elapsed: Duration::from_secs(5),
        };
        let with_retry = |gate: &Arc<Gate>| {
            Resolver::builder()
                .with_shared_store(gate.clone())
                .with_retry(policy)
                .build()
        };
        let gate = Gate::new("ok");
        gate.with(|s| {
            s.fail = Some(ErrorKind::Unavailable);
            s.fail_times = 2;
        });
        assert_eq!(text(&with_retry(&gate).get("env://R").await.unwrap()), "ok");
        assert_eq!(gate.calls(), 3);

        let gate = Gate::new("ok");
        gate.with(|s| s.fail = Some(ErrorKind::Unavailable));
        assert_eq!(
            with_retry(&gate).get("env://R").await.unwrap_err().kind(),
            ErrorKind::Unavailable
        );
        assert_eq!(gate.calls(), 4, "bounded by max_attempts");

        for kind in [
            ErrorKind::PermissionDenied,
            ErrorKind::NotFound,
            ErrorKind::Decode,
        ] {
            let gate = Gate::new("ok");
            gate.with(|s| s.fail = Some(kind));
            assert_eq!(
                with_retry(&gate).get("env://R").await.unwrap_err().kind(),
                kind
            );
            assert_eq!(gate.calls(), 1, "{kind} is not retried");
        }

        // Total time bounds the retries too.
        let slow = RetryPolicy {
            max_attempts: 100,
            base_delay: Duration::from_millis(40),
            max_delay: Duration::from_millis(40),
            max_elapsed: Duration::from_millis(100),
        };
        let gate = Gate::new("ok");
        gate.with(|s| s.fail = Some(ErrorKind::RateLimited));
        let r = Resolver::builder()
            .with_shared_store(gate.clone())
            .with_retry(slow)
            .build();
        r.get("env://R").await.unwrap_err();
        assert!(
            gate.calls() < 100 && gate.calls() >= 2,
            "{} calls",
            gate.calls()
        );
        // Full jitter: every delay lies in [0, cap).
        for n in 0..10 {
            assert!(
                policy.delay(n)
                    < Duration::from_millis(20).max(policy.base_delay * 2u32.pow(n.min(4)))
            );
        }
    });
}

#[test]
fn timeouts_are_temporary_retried_and_bounded_overall() {
    rt().block_on(async {
        let gate = Gate::new("late");
        gate.with(|s| s.delay = Duration::from_secs(30));
        let policy = RetryPolicy {
            max_attempts: 3,
            base_delay: Duration::from_millis(1),
            max_delay: Duration::from_millis(1),
            max_elapsed: Duration::from_secs(5),
        };
        // Attempt timeout inside the retry: three attempts, each cut at 50 ms.
        let r = Resolver::builder()
            .with_shared_store(gate.clone())
            .with_retry(policy)
            .with_timeouts(Timeouts {
                attempt: Some(Duration::from_millis(50)),
                overall: None,
            })
            .build();
        let started = Instant::now();
        let e = r.get("env://T").await.unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Timeout);
        assert!(e.is_temporary());
        assert!(e.to_string().contains("attempt timeout"), "{e}");
        assert_eq!(gate.calls(), 3);
        assert!(started.elapsed() < Duration::from_secs(2));

        // The overall timeout outside the retry ends it early.
        let gate2 = Gate::new("late");
        gate2.with(|s| s.delay = Duration::from_secs(30));
        let r = Resolver::builder()
            .with_shared_store(gate2.clone())
            .with_retry(policy)
            .with_timeouts(Timeouts {
                attempt: Some(Duration::from_millis(50)),
                overall: Some(Duration::from_millis(80)),
            })
            .build();
        let e = r.get("env://T").await.unwrap_err();
        assert!(e.to_string().contains("overall timeout"), "{e}");
        assert!(
            (1..=2).contains(&gate2.calls()),
            "the overall deadline cut the retries"
        );
    });
}

#[test]
fn cache_sits_outside_timeouts_and_serves_stale_when_the_backend_hangs() {
    rt().block_on(async {
        let gate = Gate::new("last-good");
        let r = Resolver::builder()
            .with_shared_store(gate.clone())
            .with_timeouts(Timeouts {
                attempt: Some(Duration::from_millis(50)),
                overall: Some(Duration::from_millis(100)),
            })
            .with_cache(
                CacheConfig::default()
                    .with_ttl(Duration::from_millis(30))
                    .with_refresh_ahead(None)
                    .with_jitter(0.0),
            )
            .build();
        r.get("env://H").await.unwrap();
        gate.with(|s| s.delay = Duration::from_secs(30));
        tokio::time::sleep(Duration::from_millis(50)).await;
        let started = Instant::now();
        assert_eq!(text(&r.get("env://H").await.unwrap()), "last-good");
        assert!(
            started.elapsed() < Duration::from_secs(1),
            "answered within the deadline"
        );
    });
}

#[test]
fn watch_sees_a_rotated_value_within_one_interval() {
    rt().block_on(async {
        let gate = Gate::new("v1");
        let r = cached(&gate, CacheConfig::default());
        let mut rx = r
            .watch("env://ROTATING", Some(Duration::from_millis(50)))
            .await
            .unwrap();
        assert_eq!(text(&rx.borrow()), "v1");
        gate.rotate("v2");
        tokio::time::timeout(Duration::from_secs(2), rx.changed())
            .await
            .unwrap()
            .unwrap();
        assert_eq!(text(&rx.borrow_and_update()), "v2");
        assert_eq!(rx.borrow().version(), Some("2"));
        // Cached reads see the rotation too.
        assert_eq!(text(&r.get("env://ROTATING").await.unwrap()), "v2");
        // No change, no notification.
        let quiet = tokio::time::timeout(Duration::from_millis(200), rx.changed()).await;
        assert!(quiet.is_err());
        // Dropping the receiver stops the refreshing.
        drop(rx);
        tokio::time::sleep(Duration::from_millis(120)).await;
        let calls = gate.calls();
        tokio::time::sleep(Duration::from_millis(200)).await;
        assert_eq!(gate.calls(), calls);
    });
}

#[test]
fn chain_watch_follows_the_answering_template() {
    rt().block_on(async {
        let gate = Gate::new("chained-1");
        let r = cached(&gate, CacheConfig::default());
        let chain = Chain::new(r, ["aws-sm://{name}", "env://APP_{NAME}"]).unwrap();
        let mut rx = chain
            .watch("token", Some(Duration::from_millis(50)))
            .await
            .unwrap();
        assert_eq!(text(&rx.borrow()), "chained-1");
        gate.rotate("chained-2");
        tokio::time::timeout(Duration::from_secs(2), rx.changed())
            .await
            .unwrap()
            .unwrap();
        assert_eq!(text(&rx.borrow()), "chained-2");
        assert_eq!(rx.borrow().metadata().hops.len(), 2);
    });
}

#[test]
fn cached_values_stay_redacted() {
    rt().block_on(async {
        let gate = Gate::new("canary-cache-31f");
        let r = cached(&gate, CacheConfig::default());
        r.get("env://C").await.unwrap();
        let s = r.get("env://C").await.unwrap();
        assert!(!format!("{s:?} {r:?}").contains("canary-cache-31f"));
    });
}

#[test]
fn cache_config_reads_the_creds_toml_table() {
    #[derive(serde::Deserialize)]
    struct File {
        cache: CacheConfig,
    }
    let f: File = toml::from_str(
        "[cache]\nttl = \"5m\"\nstale-if-error = \"1h\"\nrefresh-ahead = false\nmax-entries = 50\nnegative-ttl = \"30s\"\nscheme-ttl = { aws-sm = \"10m\" }\n",
    )
    .unwrap();
    assert_eq!(f.cache.ttl, Duration::from_secs(300));
    assert_eq!(f.cache.stale_if_error, Duration::from_secs(3600));
    assert_eq!(f.cache.refresh_ahead, None);
    assert_eq!(f.cache.max_entries, 50);
    assert_eq!(f.cache.negative_ttl, Some(Duration::from_secs(30)));
    assert_eq!(
        f.cache.scheme_ttl.get(&Scheme::AwsSm),
        Some(&Duration::from_secs(600))
    );
    let defaults: File = toml::from_str("[cache]\n").unwrap();
    assert_eq!(defaults.cache, CacheConfig::default());
    for bad in [
        "ttl = \"5 minutes\"",
        "tll = \"5m\"",
        "refresh-ahead = 2.0",
        "scheme-ttl = { s3 = \"1m\" }",
        "ttl = \"5w\"",
    ] {
        let e = toml::from_str::<File>(&format!("[cache]\n{bad}\n")).err();
        assert!(e.is_some(), "{bad} should be refused");
    }
    let e = toml::from_str::<File>("[cache]\ntll = \"5m\"\n")
        .err()
        .unwrap()
        .to_string();
    assert!(e.contains("tll") && e.contains("line 2"), "{e}");
}
