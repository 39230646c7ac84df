//! The cache of a [`Resolver`](crate::Resolver): TTL, size bounds, single-flight,
//! stale-if-error, refresh-ahead, jitter and negative caching.
//!
//! Entries are keyed by the reference text as the caller wrote it (selector included), so a hit
//! costs one hash lookup and one reference-count increment (on this thread's copy, see
//! [Threads](#threads)): no parsing, no allocation.
//!
//! # What each setting costs
//!
//! | setting | default | effect |
//! |---|---|---|
//! | `ttl` | 5 min | a value is served from memory this long; a longer TTL means fewer backend calls and slower rotation pick-up |
//! | per scheme / per reference TTL | — | overrides `ttl`; never beyond an expiry or lease the backend reports |
//! | `max_entries`, `max_bytes` | 10 000, 16 MiB | memory bound; over it, entries are evicted |
//! | `stale_if_error` | 15 min | how long past its TTL a value may be served while the backend is unavailable, times out or throttles |
//! | `refresh_ahead` | 0.8 | after this fraction of the TTL, a hit starts one background refresh; callers keep the cached value |
//! | `jitter` | 0.1 | each entry's TTL is shortened by up to this fraction, so processes do not refresh together |
//! | `negative_ttl` | off | remembers *not found* this long (useful for chains whose first templates miss) |
//! | `error_backoff` | 5 s | after a failed refresh, stale serves come without asking the backend again for this long |
//!
//! # Eviction
//!
//! The store is [quick_cache](https://docs.rs/quick_cache)'s sharded CLOCK-Pro-style cache: hot
//! and cold entries with a reference bit, resistant to scans. Each entry weighs
//! `max(1, ⌈bytes × max_entries / max_bytes⌉)` against a capacity of `max_entries`, where bytes
//! is the key, the value times its copies (below) and 64 bytes of bookkeeping; so both the
//! number of entries and their bytes stay within the bounds. The cache is split into up to 16 shards (each at least 64
//! entries and 64 KiB) that evict independently, so eviction may begin slightly before a bound
//! and a single value larger than one shard's share of `max_bytes` is not cached. Evicted and
//! replaced values are zeroed when their last user drops them.
//!
//! # Threads
//!
//! Once an entry is warm, a hit writes no memory that other threads read: the shards' locks are sharded per thread
//! (crossbeam's `ShardedLock`), the hit counter is striped, and each value is kept in one copy
//! per CPU (rounded down to a power of two, at most 8), each with its own reference count, of
//! which a thread always gets its own. Threads reading one hot secret at once therefore do not
//! pass a cache line between cores on every get: in `cargo xtask bench` a get from two threads
//! costs what it costs from one. The copies are zeroed with the entry.

use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime};

use tokio::sync::OnceCell;

use crate::error::{Error, ErrorKind, Result};
use crate::reference::Scheme;
use crate::secret::Secret;

/// How the cache behaves. See the [module documentation](self) for what each setting costs.
#[derive(Debug, Clone, PartialEq)]
pub struct CacheConfig {
    /// How long a value is served without asking the backend.
    pub ttl: Duration,
    /// TTLs per scheme (overriding `ttl`).
    pub scheme_ttl: BTreeMap<Scheme, Duration>,
    /// TTLs per reference, exactly as written (overriding the scheme's and the default).
    pub reference_ttl: HashMap<String, Duration>,
    /// The most entries kept.
    pub max_entries: usize,
    /// The most bytes kept (keys, values and bookkeeping).
    pub max_bytes: u64,
    /// How long past its TTL a value may be served while the backend fails temporarily.
    pub stale_if_error: Duration,
    /// The fraction of the TTL after which a hit starts a background refresh (`None`: never).
    pub refresh_ahead: Option<f64>,
    /// The largest fraction by which an entry's TTL is shortened at random.
    pub jitter: f64,
    /// How long *not found* is remembered (`None`: not at all).
    pub negative_ttl: Option<Duration>,
    /// After a failed refresh, how long stale values are served without asking again.
    pub error_backoff: Duration,
}

impl Default for CacheConfig {
    fn default() -> Self {
        CacheConfig {
            ttl: Duration::from_secs(300),
            scheme_ttl: BTreeMap::new(),
            reference_ttl: HashMap::new(),
            max_entries: 10_000,
            max_bytes: 16 * 1024 * 1024,
            stale_if_error: Duration::from_secs(900),
            refresh_ahead: Some(0.8),
            jitter: 0.1,
            negative_ttl: None,
            error_backoff: Duration::from_secs(5),
        }
    }
}

impl CacheConfig {
    /// Sets the default TTL.
    pub fn with_ttl(mut self, ttl: Duration) -> Self {
        self.ttl = ttl;
        self
    }
    /// Sets the TTL of one scheme's values.
    pub fn with_scheme_ttl(mut self, scheme: Scheme, ttl: Duration) -> Self {
        self.scheme_ttl.insert(scheme, ttl);
        self
    }
    /// Sets the TTL of one reference (as written by callers).
    pub fn with_reference_ttl(mut self, reference: impl Into<String>, ttl: Duration) -> Self {
        self.reference_ttl.insert(reference.into(), ttl);
        self
    }
    /// Sets the entry and byte bounds.
    pub fn with_capacity(mut self, max_entries: usize, max_bytes: u64) -> Self {
        self.max_entries = max_entries.max(1);
        self.max_bytes = max_bytes.max(1);
        self
    }
    /// Sets the stale-if-error window.
    pub fn with_stale_if_error(mut self, window: Duration) -> Self {
        self.stale_if_error = window;
        self
    }
    /// Sets the refresh-ahead fraction (`None` disables it).
    pub fn with_refresh_ahead(mut self, fraction: Option<f64>) -> Self {
        self.refresh_ahead = fraction.map(|f| f.clamp(0.0, 1.0));
        self
    }
    /// Sets the jitter fraction.
    pub fn with_jitter(mut self, fraction: f64) -> Self {
        self.jitter = fraction.clamp(0.0, 1.0);
        self
    }
    /// Remembers *not found* for `ttl`.
    pub fn with_negative_ttl(mut self, ttl: Option<Duration>) -> Self {
        self.negative_ttl = ttl;
        self
    }
    /// Sets the error backoff.
    pub fn with_error_backoff(mut self, backoff: Duration) -> Self {
        self.error_backoff = backoff;
        self
    }

    fn ttl_for(&self, key: &str, scheme: Scheme) -> Duration {
        self.reference_ttl
            .get(key)
            .or_else(|| self.scheme_ttl.get(&scheme))
            .copied()
            .unwrap_or(self.ttl)
    }
}

/// A snapshot of the cache's counters.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct CacheStats {
    /// Reads answered from memory with a fresh value.
    pub hits: u64,
    /// Reads that went to the backend (each coalesced group counts once).
    pub misses: u64,
    /// Reads answered with a stale value because the backend failed.
    pub stale: u64,
    /// Background refreshes started (refresh-ahead and watches).
    pub refreshes: u64,
    /// Reads that waited for another caller's backend call instead of making their own.
    pub coalesced: u64,
    /// Backend errors by kind.
    pub errors: BTreeMap<&'static str, u64>,
    /// Entries held now.
    pub entries: u64,
}

/// A counter spread over cache lines so that threads counting at once do not contend.
struct Striped {
    cells: [Padded; 16],
}

#[repr(align(128))]
struct Padded(AtomicU64);

impl Striped {
    fn new() -> Self {
        Striped {
            cells: std::array::from_fn(|_| Padded(AtomicU64::new(0))),
        }
    }

    #[inline]
    fn add(&self) {
        self.cells[thread_slot() % 16]
            .0
            .fetch_add(1, Ordering::Relaxed);
    }

    fn sum(&self) -> u64 {
        self.cells.iter().map(|c| c.0.load(Ordering::Relaxed)).sum()
    }
}

/// This thread's number, given out in turn to the threads that use a cache, so that threads
/// (tokio's workers among them) use different cells of [`Striped`] and copies of
/// [`Cached::Replicated`].
#[inline]
fn thread_slot() -> usize {
    thread_local! {
        static SLOT: usize = {
            static NEXT: AtomicU64 = AtomicU64::new(0);
            NEXT.fetch_add(1, Ordering::Relaxed) as usize
        };
    }
    SLOT.with(|s| *s)
}

/// The most copies of one value a cache keeps (see [`Cached::Replicated`]).
const MAX_REPLICAS: usize = 8;

enum Cached {
    /// One value.
    Value(Secret),
    /// Copies of one value, each with its own memory and reference count, as many as the
    /// machine has CPUs (a power of two, at most [`MAX_REPLICAS`]). The cache hands an entry out
    /// by cloning it, and a clone of this is the calling thread's copy alone (a `Value`): threads
    /// reading one hot secret at once each change their own copy's reference count instead of
    /// passing one cache line between their cores on every get. Every copy is zeroed when the
    /// entry goes.
    Replicated(Box<[Secret]>),
    /// A remembered *not found*.
    Missing(Error),
}

impl Cached {
    /// How many copies are kept on a machine of `cpus` CPUs.
    fn copies(cpus: usize) -> usize {
        1 << cpus.clamp(1, MAX_REPLICAS).ilog2()
    }

    /// The value: copies of it when there is more than one CPU to spread readers over.
    fn value(secret: &Secret, cpus: usize) -> Cached {
        let len = Cached::copies(cpus);
        if len == 1 {
            return Cached::Value(secret.clone());
        }
        let mut all = Vec::with_capacity(len);
        all.push(secret.clone());
        all.extend((1..len).map(|_| secret.replicate()));
        Cached::Replicated(all.into_boxed_slice())
    }

    /// This thread's copy of the value, if there is a value.
    #[inline]
    fn secret(&self) -> Option<Secret> {
        match self {
            Cached::Value(s) => Some(s.clone()),
            Cached::Replicated(copies) => Some(copies[thread_slot() & (copies.len() - 1)].clone()),
            Cached::Missing(_) => None,
        }
    }
}

impl Clone for Cached {
    #[inline]
    fn clone(&self) -> Self {
        match self {
            Cached::Missing(e) => Cached::Missing(e.clone()),
            value => Cached::Value(value.secret().expect("a value")),
        }
    }
}

#[derive(Clone)]
struct Entry {
    value: Cached,
    bytes: u64,
    fresh_until: Instant,
    stale_until: Instant,
    refresh_at: Instant,
    /// After a failed refresh: serve stale without asking until then.
    retry_at: Option<Instant>,
}

#[derive(Clone)]
struct Weigher {
    max_entries: u64,
    max_bytes: u64,
}

impl quick_cache::Weighter<String, Entry> for Weigher {
    fn weight(&self, _key: &String, entry: &Entry) -> u64 {
        let scaled =
            (entry.bytes as u128 * self.max_entries as u128).div_ceil(self.max_bytes as u128);
        (scaled as u64).max(1)
    }
}

/// Shards let threads work on different locks; each shard holds an equal part of both bounds,
/// so a shard must still hold a useful number of entries and bytes: at most 16 shards, at least
/// 64 entries and 64 KiB each.
fn shards(config: &CacheConfig) -> usize {
    let by_entries = config.max_entries / 64;
    let by_bytes = (config.max_bytes / (64 * 1024)) as usize;
    let n = by_entries.min(by_bytes).clamp(1, 16);
    1 << n.ilog2()
}

/// What a lookup found.
pub(crate) enum Lookup {
    /// A fresh value; `refresh` when refresh-ahead is due.
    Fresh { secret: Secret, refresh: bool },
    /// A remembered *not found*.
    Missing(Error),
    /// A stale value to serve without asking (the backend failed recently).
    StaleBackoff(Secret),
    /// Nothing usable: ask the backend.
    Load,
}

type Flight = Arc<OnceCell<Result<Secret>>>;

pub(crate) struct Cache {
    config: CacheConfig,
    /// Copies kept of each value ([`Cached::Replicated`]): the machine's CPUs.
    replicas: usize,
    map: quick_cache::sync::Cache<String, Entry, Weigher>,
    inflight: Mutex<HashMap<String, Flight>>,
    hits: Striped,
    misses: AtomicU64,
    stale: AtomicU64,
    refreshes: AtomicU64,
    coalesced: AtomicU64,
    errors: Mutex<BTreeMap<&'static str, u64>>,
}

impl Cache {
    pub(crate) fn new(config: CacheConfig) -> Self {
        let max_entries = config.max_entries.max(1) as u64;
        let weigher = Weigher {
            max_entries,
            max_bytes: config.max_bytes.max(1),
        };
        let options = quick_cache::OptionsBuilder::new()
            .estimated_items_capacity(config.max_entries.max(1))
            .weight_capacity(max_entries)
            .shards(shards(&config))
            .build()
            .expect("valid cache options");
        Cache {
            map: quick_cache::sync::Cache::with_options(
                options,
                weigher,
                Default::default(),
                Default::default(),
            ),
            config,
            replicas: std::thread::available_parallelism().map_or(1, |n| n.get()),
            inflight: Mutex::new(HashMap::new()),
            hits: Striped::new(),
            misses: AtomicU64::new(0),
            stale: AtomicU64::new(0),
            refreshes: AtomicU64::new(0),
            coalesced: AtomicU64::new(0),
            errors: Mutex::new(BTreeMap::new()),
        }
    }

    pub(crate) fn config(&self) -> &CacheConfig {
        &self.config
    }

    /// The hot path: one hash lookup.
    #[inline]
    pub(crate) fn lookup(&self, key: &str, now: Instant) -> Lookup {
        let Some(entry) = self.map.get(key) else {
            return Lookup::Load;
        };
        if now < entry.fresh_until {
            self.hits.add();
            return match entry.value {
                Cached::Missing(e) => Lookup::Missing(e),
                Cached::Value(secret) => Lookup::Fresh {
                    secret,
                    refresh: now >= entry.refresh_at,
                },
                // (A clone is never replicated.)
                replicated @ Cached::Replicated(_) => Lookup::Fresh {
                    secret: replicated.secret().expect("a value"),
                    refresh: now >= entry.refresh_at,
                },
            };
        }
        match (entry.value.secret(), entry.retry_at) {
            (Some(secret), Some(retry_at)) if now < retry_at && now < entry.stale_until => {
                self.stale.fetch_add(1, Ordering::Relaxed);
                metrics::counter!("creds_cache_stale_total").increment(1);
                Lookup::StaleBackoff(secret)
            }
            _ => Lookup::Load,
        }
    }

    /// Joins the in-flight load of `key`, or starts one. Returns the flight and whether this
    /// caller leads it.
    pub(crate) fn flight(&self, key: &str) -> (Flight, bool) {
        let mut inflight = self.inflight.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(f) = inflight.get(key) {
            self.coalesced.fetch_add(1, Ordering::Relaxed);
            metrics::counter!("creds_cache_coalesced_total").increment(1);
            return (f.clone(), false);
        }
        let f: Flight = Arc::new(OnceCell::new());
        inflight.insert(key.to_string(), f.clone());
        (f, true)
    }

    /// Whether a load of `key` is under way.
    pub(crate) fn in_flight(&self, key: &str) -> bool {
        self.inflight
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .contains_key(key)
    }

    /// Ends a flight (only the flight that is registered, not a newer one).
    pub(crate) fn land(&self, key: &str, flight: &Flight) {
        let mut inflight = self.inflight.lock().unwrap_or_else(|p| p.into_inner());
        if inflight.get(key).is_some_and(|f| Arc::ptr_eq(f, flight)) {
            inflight.remove(key);
        }
    }

    pub(crate) fn count_miss(&self) {
        let misses = self.misses.fetch_add(1, Ordering::Relaxed) + 1;
        metrics::counter!("creds_cache_misses_total").absolute(misses);
        metrics::counter!("creds_cache_hits_total").absolute(self.hits.sum());
    }

    pub(crate) fn count_refresh(&self) {
        self.refreshes.fetch_add(1, Ordering::Relaxed);
        metrics::counter!("creds_cache_refreshes_total").increment(1);
    }

    pub(crate) fn count_error(&self, kind: ErrorKind) {
        *self
            .errors
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .entry(kind.as_str())
            .or_default() += 1;
        metrics::counter!("creds_errors_total", "kind" => kind.as_str()).increment(1);
    }

    /// Stores a loaded value.
    pub(crate) fn store(&self, key: &str, scheme: Scheme, secret: &Secret, now: Instant) {
        let mut ttl = self.config.ttl_for(key, scheme);
        if let Some(expires) = secret.metadata().expires {
            let left = expires
                .duration_since(SystemTime::now())
                .unwrap_or(Duration::ZERO);
            ttl = ttl.min(left);
        }
        let ttl = ttl.mul_f64(1.0 - self.config.jitter * crate::layers::random_unit());
        let fresh_until = now + ttl;
        let refresh_at = match self.config.refresh_ahead {
            Some(f) => now + ttl.mul_f64(f),
            None => fresh_until,
        };
        // A value past its reported expiry is never served stale.
        let stale_until = match secret.metadata().expires {
            Some(_) => fresh_until,
            None => fresh_until + self.config.stale_if_error,
        };
        let bytes = (key.len() + secret.len() * Cached::copies(self.replicas) + 64) as u64;
        self.map.insert(
            key.to_string(),
            Entry {
                value: Cached::value(secret, self.replicas),
                bytes,
                fresh_until,
                stale_until,
                refresh_at,
                retry_at: None,
            },
        );
    }

    /// Remembers a *not found*, when negative caching is on.
    pub(crate) fn store_missing(&self, key: &str, error: &Error, now: Instant) {
        if let Some(ttl) = self.config.negative_ttl {
            let until = now + ttl;
            self.map.insert(
                key.to_string(),
                Entry {
                    value: Cached::Missing(error.clone()),
                    bytes: (key.len() + 128) as u64,
                    fresh_until: until,
                    stale_until: until,
                    refresh_at: until,
                    retry_at: None,
                },
            );
        }
    }

    /// After a failed load: the stale value to serve, if the error allows and the window is
    /// open. Marks the entry so callers in the next `error_backoff` get it without asking.
    pub(crate) fn stale_after_error(
        &self,
        key: &str,
        error: &Error,
        now: Instant,
    ) -> Option<Secret> {
        if !matches!(
            error.kind(),
            ErrorKind::Unavailable | ErrorKind::Timeout | ErrorKind::RateLimited
        ) {
            return None;
        }
        let mut entry = self.map.get(key)?;
        let secret = entry.value.secret()?;
        if now >= entry.stale_until {
            return None;
        }
        // Stored again below with every copy (the clone got from the map holds one).
        entry.value = Cached::value(&secret, self.replicas);
        if now < entry.fresh_until {
            // A refresh-ahead failed while the value is still fresh: try again later.
            entry.refresh_at = (now + self.config.error_backoff).min(entry.fresh_until);
            self.map.insert(key.to_string(), entry);
            return Some(secret);
        }
        entry.retry_at = Some(now + self.config.error_backoff);
        self.map.insert(key.to_string(), entry);
        self.stale.fetch_add(1, Ordering::Relaxed);
        metrics::counter!("creds_cache_stale_total").increment(1);
        Some(secret)
    }

    pub(crate) fn invalidate(&self, key: &str) {
        self.map.remove(key);
    }

    pub(crate) fn stats(&self) -> CacheStats {
        CacheStats {
            hits: self.hits.sum(),
            misses: self.misses.load(Ordering::Relaxed),
            stale: self.stale.load(Ordering::Relaxed),
            refreshes: self.refreshes.load(Ordering::Relaxed),
            coalesced: self.coalesced.load(Ordering::Relaxed),
            errors: self
                .errors
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .clone(),
            entries: self.map.len() as u64,
        }
    }
}

/// Parses a duration as `creds.toml` writes them: a whole number followed by `ms`, `s`, `m`, `h`
/// or `d` (`30s`, `5m`, `1h`, `1d`).
///
/// ```
/// use std::time::Duration;
/// use creds_core::cache::parse_duration;
/// assert_eq!(parse_duration("5m")?, Duration::from_secs(300));
/// assert!(parse_duration("5 minutes").is_err());
/// # Ok::<(), creds_core::Error>(())
/// ```
pub fn parse_duration(text: &str) -> Result<Duration> {
    let text = text.trim();
    let split = text
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(text.len());
    let (number, unit) = text.split_at(split);
    let n: u64 = number.parse().map_err(|_| {
        Error::config(format!(
            "`{text}` is not a duration such as 30s, 5m, 1h or 1d"
        ))
    })?;
    let seconds = match unit {
        "ms" => return Ok(Duration::from_millis(n)),
        "s" => n,
        "m" => n.saturating_mul(60),
        "h" => n.saturating_mul(3600),
        "d" => n.saturating_mul(86_400),
        _ => {
            return Err(Error::config(format!(
                "`{text}` has no known unit: use ms, s, m, h or d"
            )));
        }
    };
    Ok(Duration::from_secs(seconds))
}

/// The `[cache]` table of `creds.toml` (spec §4), with the same defaults as [`CacheConfig`].
#[derive(Debug, serde::Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
struct CacheTable {
    ttl: Option<String>,
    stale_if_error: Option<String>,
    refresh_ahead: Option<RefreshAhead>,
    jitter: Option<f64>,
    max_entries: Option<usize>,
    max_bytes: Option<u64>,
    negative_ttl: Option<String>,
    error_backoff: Option<String>,
    #[serde(default)]
    scheme_ttl: BTreeMap<String, String>,
}

#[derive(Debug, serde::Deserialize)]
#[serde(untagged)]
enum RefreshAhead {
    Off(bool),
    Fraction(f64),
}

impl TryFrom<CacheTable> for CacheConfig {
    type Error = Error;

    fn try_from(t: CacheTable) -> Result<CacheConfig> {
        let mut c = CacheConfig::default();
        if let Some(v) = t.ttl {
            c.ttl = parse_duration(&v)?;
        }
        if let Some(v) = t.stale_if_error {
            c.stale_if_error = parse_duration(&v)?;
        }
        match t.refresh_ahead {
            Some(RefreshAhead::Off(false)) => c.refresh_ahead = None,
            Some(RefreshAhead::Off(true)) | None => {}
            Some(RefreshAhead::Fraction(f)) if (0.0..=1.0).contains(&f) => {
                c.refresh_ahead = Some(f)
            }
            Some(RefreshAhead::Fraction(f)) => {
                return Err(Error::config(format!(
                    "refresh-ahead must be between 0 and 1, got {f}"
                )));
            }
        }
        if let Some(j) = t.jitter {
            if !(0.0..=1.0).contains(&j) {
                return Err(Error::config(format!(
                    "jitter must be between 0 and 1, got {j}"
                )));
            }
            c.jitter = j;
        }
        if let Some(n) = t.max_entries {
            c.max_entries = n.max(1);
        }
        if let Some(n) = t.max_bytes {
            c.max_bytes = n.max(1);
        }
        if let Some(v) = t.negative_ttl {
            c.negative_ttl = Some(parse_duration(&v)?);
        }
        if let Some(v) = t.error_backoff {
            c.error_backoff = parse_duration(&v)?;
        }
        for (scheme, ttl) in t.scheme_ttl {
            c.scheme_ttl.insert(scheme.parse()?, parse_duration(&ttl)?);
        }
        Ok(c)
    }
}

impl<'de> serde::Deserialize<'de> for CacheConfig {
    /// Reads the `[cache]` table of `creds.toml`: `ttl`, `stale-if-error`, `refresh-ahead` (a
    /// fraction, or `false`), `jitter`, `max-entries`, `max-bytes`, `negative-ttl`,
    /// `error-backoff` and `scheme-ttl = { aws-sm = "10m" }`. Unknown keys are errors.
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        let table = CacheTable::deserialize(d)?;
        CacheConfig::try_from(table).map_err(|e| serde::de::Error::custom(e.message()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Metadata;

    /// One read on a new thread: that thread's slot and the address of the copy it got.
    fn read_on_new_thread(cache: &Cache, key: &str, now: Instant) -> (usize, usize) {
        std::thread::scope(|s| {
            s.spawn(|| {
                let secret = match cache.lookup(key, now) {
                    Lookup::Fresh { secret, .. } | Lookup::StaleBackoff(secret) => secret,
                    _ => panic!("a cached value"),
                };
                assert_eq!(secret.expose_secret(), b"value");
                assert_eq!(secret.version(), Some("7"));
                (thread_slot(), secret.expose_secret().as_ptr() as usize)
            })
            .join()
            .unwrap()
        })
    }

    /// Reads on new threads until threads of every copy have read: the same copy for the same
    /// slot, a different one for a different slot.
    fn assert_copies(cache: &Cache, key: &str, now: Instant, copies: usize) {
        let mut by_copy: HashMap<usize, usize> = HashMap::new();
        for _ in 0..256 {
            let (slot, address) = read_on_new_thread(cache, key, now);
            let seen = *by_copy.entry(slot % copies).or_insert(address);
            assert_eq!(seen, address, "one copy per slot");
            if by_copy.len() == copies {
                break;
            }
        }
        let addresses: std::collections::HashSet<_> = by_copy.values().collect();
        assert_eq!(addresses.len(), copies, "each copy its own memory");
    }

    fn value() -> Secret {
        Secret::new(
            b"value".to_vec(),
            Metadata::from_source("env").with_version("7"),
        )
    }

    #[test]
    fn copies_are_a_power_of_two_up_to_eight() {
        let s = value();
        let count = |c: &Cached| match c {
            Cached::Replicated(copies) => copies.len(),
            Cached::Value(_) => 1,
            Cached::Missing(_) => 0,
        };
        for (cpus, copies) in [(0, 1), (1, 1), (2, 2), (3, 2), (6, 4), (8, 8), (64, 8)] {
            assert_eq!(count(&Cached::value(&s, cpus)), copies, "{cpus} CPUs");
        }
        // A clone, as the cache hands entries out, is one copy.
        assert_eq!(count(&Cached::value(&s, 8).clone()), 1);
        // One CPU: the value itself, not a copy.
        let Cached::Value(same) = Cached::value(&s, 1) else {
            panic!("one value")
        };
        assert_eq!(same.expose_secret().as_ptr(), s.expose_secret().as_ptr());
    }

    /// Threads read their own copy (its own memory, so its own reference count), always the
    /// same one for the same thread, with the value and its metadata.
    #[test]
    fn each_thread_reads_its_own_copy_of_a_cached_value() {
        let mut cache = Cache::new(CacheConfig::default());
        cache.replicas = 4;
        let now = Instant::now();
        cache.store("env://K", Scheme::Env, &value(), now);
        assert_copies(&cache, "env://K", now, 4);
    }

    /// A stale value served after an error is stored again with every copy (not as the single
    /// copy of the clone it was read from).
    #[test]
    fn stale_after_error_keeps_the_copies() {
        let mut cache = Cache::new(
            CacheConfig::default()
                .with_ttl(Duration::from_millis(1))
                .with_stale_if_error(Duration::from_secs(60)),
        );
        cache.replicas = 2;
        let now = Instant::now();
        cache.store("env://K", Scheme::Env, &value(), now);
        let later = now + Duration::from_millis(10);
        let e = Error::new(ErrorKind::Unavailable, "down");
        let stale = cache.stale_after_error("env://K", &e, later).unwrap();
        assert_eq!(stale.expose_secret(), b"value");
        assert_copies(&cache, "env://K", later, 2);
    }
}
