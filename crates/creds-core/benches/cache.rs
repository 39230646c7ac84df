//! Cache benchmarks. `cargo xtask bench` runs them and prints the headline figures.
//!
//! - `cached_get/1t`, `cached_get/2t`: a cached `Resolver::get` of one reference, ns per get (with
//!   two threads, each thread's time per get);
//! - `baseline_hashmap/1t`, `baseline_hashmap/2t`: a `RwLock<HashMap<String, Arc<…>>>` lookup and
//!   clone, the least a cache can cost;
//! - `singleflight_backend_calls_1000` (printed): backend calls made by 1,000 concurrent gets of
//!   one cold reference.

use std::collections::HashMap;
use std::hint::black_box;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Barrier, RwLock};
use std::time::{Duration, Instant};

use creds_core::{
    CacheConfig, Metadata, Reference, Resolver, Result, Scheme, Secret, Store, async_trait,
};
use criterion::Criterion;

const KEY: &str = "env://BENCH_API_KEY";

#[derive(Debug, Default)]
struct Counting {
    calls: AtomicUsize,
    delay: Duration,
}

#[async_trait]
impl Store for Counting {
    fn scheme(&self) -> Scheme {
        Scheme::Env
    }
    async fn get(&self, _: &Reference) -> Result<Secret> {
        self.calls.fetch_add(1, Ordering::SeqCst);
        if !self.delay.is_zero() {
            tokio::time::sleep(self.delay).await;
        }
        Ok(Secret::new(
            b"0123456789abcdef0123456789abcdef".to_vec(),
            Metadata::default(),
        ))
    }
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

fn resolver(store: Arc<Counting>) -> Resolver {
    Resolver::builder()
        .with_shared_store(store)
        .with_cache(
            CacheConfig::default()
                .with_ttl(Duration::from_secs(3600))
                .with_refresh_ahead(None),
        )
        .build()
}

/// Runs `per_thread` on `threads` threads at once; the slowest thread's time.
fn on_threads(threads: usize, iters: u64, per_thread: impl Fn(u64) -> Duration + Sync) -> Duration {
    let barrier = Barrier::new(threads);
    std::thread::scope(|s| {
        let handles: Vec<_> = (0..threads)
            .map(|_| {
                s.spawn(|| {
                    barrier.wait();
                    per_thread(iters)
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().unwrap())
            .max()
            .unwrap()
    })
}

fn cached_get(c: &mut Criterion) {
    let r = resolver(Arc::new(Counting::default()));
    runtime().block_on(r.get(KEY)).unwrap();
    let run = |iters: u64| {
        let rt = runtime();
        rt.block_on(async {
            let start = Instant::now();
            for _ in 0..iters {
                black_box(r.get(black_box(KEY)).await.unwrap());
            }
            start.elapsed()
        })
    };
    let mut g = c.benchmark_group("cached_get");
    g.bench_function("1t", |b| b.iter_custom(|iters| on_threads(1, iters, run)));
    g.bench_function("2t", |b| b.iter_custom(|iters| on_threads(2, iters, run)));
    g.finish();
}

fn baseline(c: &mut Criterion) {
    let map: RwLock<HashMap<String, Arc<Vec<u8>>>> = RwLock::new(HashMap::new());
    map.write()
        .unwrap()
        .insert(KEY.to_string(), Arc::new(b"0123456789abcdef".to_vec()));
    let run = |iters: u64| {
        let start = Instant::now();
        for _ in 0..iters {
            black_box(map.read().unwrap().get(black_box(KEY)).cloned());
        }
        start.elapsed()
    };
    let mut g = c.benchmark_group("baseline_hashmap");
    g.bench_function("1t", |b| b.iter_custom(|iters| on_threads(1, iters, run)));
    g.bench_function("2t", |b| b.iter_custom(|iters| on_threads(2, iters, run)));
    g.finish();
}

/// 1,000 concurrent gets of one cold reference: how many backend calls?
fn singleflight() -> usize {
    let store = Arc::new(Counting {
        calls: AtomicUsize::new(0),
        delay: Duration::from_millis(50),
    });
    let r = resolver(store.clone());
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let tasks: Vec<_> = (0..1000)
            .map(|_| {
                let r = r.clone();
                tokio::spawn(async move { r.get("env://COLD").await.map(|_| ()) })
            })
            .collect();
        for t in tasks {
            t.await.unwrap().unwrap();
        }
    });
    store.calls.load(Ordering::SeqCst)
}

fn main() {
    let mut c = Criterion::default()
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(2))
        .configure_from_args();
    cached_get(&mut c);
    baseline(&mut c);
    c.final_summary();
    println!("singleflight_backend_calls_1000: {}", singleflight());
}
