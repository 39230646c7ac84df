//! The [`Resolver`]: dispatches a reference to the store of its scheme, applies the selector and
//! the policy, and emits the access event.

use std::collections::BTreeMap;
use std::fmt;
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::sync::watch;

use crate::access::{self, Outcome};
use crate::cache::{Cache, CacheConfig, CacheStats, Lookup};
use crate::error::{Error, ErrorKind, Result};
use crate::layers::{self, RetryPolicy, Timeouts};
use crate::reference::{Reference, Scheme};
use crate::secret::{Metadata, Secret};
use crate::selector::apply_selector;
use crate::store::{IntoReference, Store};

/// Completes a store's answer: records the reference and the store in the metadata, then applies
/// the reference's selector. Every path from a store to a caller goes through here.
pub(crate) fn finish(store_name: &str, reference: &Reference, secret: Secret) -> Result<Secret> {
    let secret = secret.map_metadata(|m| {
        m.reference = Some(reference.clone());
        if m.source.is_none() {
            m.source = Some(store_name.to_string());
        }
    });
    match reference.selector() {
        Some(selector) => apply_selector(&secret, selector),
        None => Ok(secret),
    }
}

/// What a deployment allows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum Policy {
    /// Every compiled-in store may be used.
    #[default]
    Permissive,
    /// For production: values must come from a secrets manager. Environment variables, `.env`
    /// files and plain secret files are refused, and so are plaintext or unverified transports.
    Strict,
}

/// Whether `address` is plaintext http to a host other than loopback — what
/// [`Policy::Strict`] refuses and backends warn about. `https://…`, and `http://` to `localhost`,
/// a `127.0.0.0/8` address or `[::1]`, are not. The scheme is matched without regard to case and
/// user information (`user@`) is skipped; a host name that merely starts with `127.` is remote.
///
/// ```
/// use creds_core::is_plaintext_remote;
/// assert!(is_plaintext_remote("http://vault.internal:8200"));
/// assert!(is_plaintext_remote("HTTP://vault.internal"));
/// assert!(is_plaintext_remote("http://127.example.com"));
/// assert!(is_plaintext_remote("http://localhost@vault.internal"));
/// assert!(!is_plaintext_remote("http://127.0.0.1:8200/"));
/// assert!(!is_plaintext_remote("http://[::1]:8200"));
/// assert!(!is_plaintext_remote("http://LocalHost."));
/// assert!(!is_plaintext_remote("https://vault.example.com"));
/// ```
pub fn is_plaintext_remote(address: &str) -> bool {
    let address = address.trim();
    let Some(rest) = address
        .get(..7)
        .filter(|s| s.eq_ignore_ascii_case("http://"))
        .map(|_| &address[7..])
    else {
        return false;
    };
    let authority = rest.split(['/', '?', '#']).next().unwrap_or("");
    let host_port = authority.rsplit('@').next().unwrap_or("");
    let host = match host_port.strip_prefix('[') {
        Some(v6) => v6.split(']').next().unwrap_or(""),
        None => host_port.split(':').next().unwrap_or(""),
    };
    let host = host.strip_suffix('.').unwrap_or(host);
    let loopback = host.eq_ignore_ascii_case("localhost")
        || host
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback());
    !loopback
}

/// Applies the transport rule to an address a backend is about to call: plaintext http to a
/// host that is not loopback is refused under [`Policy::Strict`] (kind
/// [`Policy`](crate::ErrorKind::Policy)) and otherwise allowed with a warning on the
/// `creds::policy` target. `what` names the endpoint in both (for example `"Vault"`).
///
/// ```
/// use creds_core::{check_transport, ErrorKind, Policy};
/// assert!(check_transport(Policy::Strict, "https://vault.example.com", "Vault").is_ok());
/// assert!(check_transport(Policy::Permissive, "http://vault.internal", "Vault").is_ok());
/// let e = check_transport(Policy::Strict, "http://vault.internal", "Vault").unwrap_err();
/// assert_eq!(e.kind(), ErrorKind::Policy);
/// assert!(e.to_string().contains("http://vault.internal"));
/// ```
pub fn check_transport(policy: Policy, address: &str, what: &str) -> Result<()> {
    if !is_plaintext_remote(address) {
        return Ok(());
    }
    if policy == Policy::Strict {
        return Err(Error::new(
            ErrorKind::Policy,
            format!(
                "policy strict refuses plaintext http to a remote host: {what} at `{address}`; use https"
            ),
        ));
    }
    tracing::warn!(
        target: "creds::policy",
        address = %address,
        "{what} is reached over plaintext http to a remote host: credentials and values cross the network unencrypted"
    );
    Ok(())
}

/// Dispatches references to stores by scheme.
///
/// Cloning is cheap; clones share the stores.
///
/// ```
/// # tokio_test_block_on(async {
/// use creds_core::{Resolver, Scheme, Metadata, Secret, Store, Reference};
///
/// #[derive(Debug)]
/// struct Fixed;
/// #[async_trait::async_trait]
/// impl Store for Fixed {
///     fn scheme(&self) -> Scheme { Scheme::Env }
///     async fn get(&self, _: &Reference) -> creds_core::Result<Secret> {
///         Ok(Secret::new(br#"{"user":"app","password":"pw"}"#.to_vec(), Metadata::default()))
///     }
/// }
///
/// let resolver = Resolver::builder().with_store(Fixed).build();
/// let secret = resolver.get("env://DB#user").await?;
/// assert_eq!(secret.expose_str()?, "app");
/// assert_eq!(secret.source(), Some("env"));
/// # Ok::<(), creds_core::Error>(())
/// # }).unwrap();
/// # fn tokio_test_block_on<F: std::future::Future>(f: F) -> F::Output {
/// #     tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(f)
/// # }
/// ```
#[derive(Clone)]
pub struct Resolver {
    inner: Arc<Inner>,
}

struct Inner {
    stores: BTreeMap<Scheme, Arc<dyn Store>>,
    policy: Policy,
    cache: Option<Cache>,
}

impl fmt::Debug for Resolver {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Resolver")
            .field("stores", &self.inner.stores.values().collect::<Vec<_>>())
            .field("policy", &self.inner.policy)
            .field("cache", &self.inner.cache.as_ref().map(|c| c.config()))
            .finish()
    }
}

/// Builds a [`Resolver`].
///
/// By default a resolver has no cache, no retries and no timeouts (each store keeps its own);
/// the `creds` facade's `builder()` turns on [`Timeouts::default`] and
/// [`RetryPolicy::default`]. The layers' order is documented in [`layers`](crate::layers).
#[derive(Default)]
pub struct ResolverBuilder {
    stores: BTreeMap<Scheme, Arc<dyn Store>>,
    policy: Policy,
    cache: Option<CacheConfig>,
    retry: Option<RetryPolicy>,
    timeouts: Option<Timeouts>,
}

impl fmt::Debug for ResolverBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ResolverBuilder")
            .field("schemes", &self.stores.keys().collect::<Vec<_>>())
            .field("policy", &self.policy)
            .finish()
    }
}

impl ResolverBuilder {
    /// Adds a store, replacing any earlier store of the same scheme.
    pub fn with_store(self, store: impl Store + 'static) -> Self {
        self.with_shared_store(Arc::new(store))
    }

    /// Adds a shared store, replacing any earlier store of the same scheme.
    pub fn with_shared_store(mut self, store: Arc<dyn Store>) -> Self {
        self.stores.insert(store.scheme(), store);
        self
    }

    /// Removes the store of a scheme.
    pub fn without_scheme(mut self, scheme: Scheme) -> Self {
        self.stores.remove(&scheme);
        self
    }

    /// Sets the policy.
    pub fn with_policy(mut self, policy: Policy) -> Self {
        self.policy = policy;
        self
    }

    /// The policy set so far; backends' `register` functions pass it on to their stores (for
    /// the transport and file rules), so set it before registering them.
    pub fn policy(&self) -> Policy {
        self.policy
    }

    /// Caches values (see [`CacheConfig`]); `None` turns the cache off.
    pub fn with_cache(mut self, config: impl Into<Option<CacheConfig>>) -> Self {
        self.cache = config.into();
        self
    }

    /// Retries temporary failures of every store; `None` turns retries off.
    pub fn with_retry(mut self, policy: impl Into<Option<RetryPolicy>>) -> Self {
        self.retry = policy.into();
        self
    }

    /// Bounds every store's calls; `None` turns these timeouts off.
    pub fn with_timeouts(mut self, timeouts: impl Into<Option<Timeouts>>) -> Self {
        self.timeouts = timeouts.into();
        self
    }

    /// The resolver: every store wrapped in the timeout and retry layers, the cache in front.
    pub fn build(self) -> Resolver {
        let timeouts = self.timeouts.unwrap_or_else(Timeouts::none);
        let stores = self
            .stores
            .into_iter()
            .map(|(scheme, store)| (scheme, layers::wrap(store, timeouts, self.retry)))
            .collect();
        Resolver {
            inner: Arc::new(Inner {
                stores,
                policy: self.policy,
                cache: self.cache.map(Cache::new),
            }),
        }
    }
}

impl Resolver {
    /// A builder with no stores.
    pub fn builder() -> ResolverBuilder {
        ResolverBuilder::default()
    }

    /// The policy in force.
    pub fn policy(&self) -> Policy {
        self.inner.policy
    }

    /// The schemes that have a store.
    pub fn schemes(&self) -> impl Iterator<Item = Scheme> + '_ {
        self.inner.stores.keys().copied()
    }

    /// The store of a scheme, or the error a read of that scheme gives: not compiled in (naming
    /// the Cargo feature) or refused by the policy.
    pub fn store(&self, scheme: Scheme) -> Result<&Arc<dyn Store>> {
        if self.inner.policy == Policy::Strict && scheme.is_plain_local() {
            return Err(Error::new(
                ErrorKind::Policy,
                format!(
                    "policy strict refuses {scheme} sources: values must come from a secrets manager"
                ),
            )
            .with_source_name(scheme.as_str()));
        }
        self.inner.stores.get(&scheme).ok_or_else(|| {
            Error::unconfigured(format!(
                "scheme {scheme} is not compiled in: enable the Cargo feature `{}` of creds (or depend on {})",
                scheme.feature(),
                scheme.backend_crate()
            ))
            .with_source_name(scheme.as_str())
        })
    }

    /// Resolves a reference: from the cache when it holds a fresh value, else the store of its
    /// scheme reads it and the selector is applied. One access event is emitted per call.
    pub async fn get(&self, reference: impl IntoReference) -> Result<Secret> {
        let Some(cache) = &self.inner.cache else {
            let reference = reference.into_reference()?;
            return self.fetch(&reference).await;
        };
        let key = reference.key();
        match cache.lookup(&key, Instant::now()) {
            Lookup::Fresh { secret, refresh } => {
                if refresh {
                    self.refresh_in_background(cache, &key);
                }
                access::record_cached(&key, secret.source(), Outcome::Ok);
                Ok(secret)
            }
            Lookup::Missing(e) => {
                access::record_cached(&key, e.source_name(), Outcome::Failed(e.kind()));
                Err(e)
            }
            Lookup::StaleBackoff(secret) => {
                access::record_cached(&key, secret.source(), Outcome::Stale);
                Ok(secret)
            }
            Lookup::Load => self.load(cache, &key).await,
        }
    }

    /// Reads a reference from its store now, bypassing a fresh cached value, and caches the
    /// answer. Concurrent calls for one reference share one backend call.
    pub async fn refresh_now(&self, reference: impl IntoReference) -> Result<Secret> {
        match &self.inner.cache {
            Some(cache) => {
                cache.count_refresh();
                self.load(cache, &reference.key()).await
            }
            None => self.get(reference).await,
        }
    }

    /// Drops the cached value of a reference (as written by callers).
    pub fn invalidate(&self, reference: impl IntoReference) {
        if let Some(cache) = &self.inner.cache {
            cache.invalidate(&reference.key());
        }
    }

    /// The cache's counters, when the resolver has a cache.
    pub fn cache_stats(&self) -> Option<CacheStats> {
        self.inner.cache.as_ref().map(Cache::stats)
    }

    /// Watches a reference: the receiver holds the current value and changes whenever a
    /// refresh (every `interval`; by default the cache TTL, else one minute) sees a new version
    /// (or, for stores without versions, new bytes). The refreshing task ends when every
    /// receiver is dropped. Failed refreshes keep the last value and are logged on `creds::watch`.
    pub async fn watch(
        &self,
        reference: impl IntoReference,
        interval: Option<Duration>,
    ) -> Result<watch::Receiver<Secret>> {
        let key = reference.key().into_owned();
        let first = self.get(key.as_str()).await?;
        let interval = interval.unwrap_or_else(|| self.default_watch_interval());
        let this = self.clone();
        Ok(spawn_watch(first, interval, move || {
            let this = this.clone();
            let key = key.clone();
            async move { this.refresh_now(key.as_str()).await }
        }))
    }

    pub(crate) fn default_watch_interval(&self) -> Duration {
        self.inner
            .cache
            .as_ref()
            .map(|c| c.config().ttl)
            .unwrap_or(Duration::from_secs(60))
    }

    /// One backend call for `key`, shared by every caller that arrives while it runs; the answer
    /// is cached (or a stale value served when the backend fails temporarily).
    async fn load(&self, cache: &Cache, key: &str) -> Result<Secret> {
        let (flight, _leader) = cache.flight(key);
        let result = flight
            .get_or_init(|| self.load_into_cache(cache, key))
            .await
            .clone();
        cache.land(key, &flight);
        result
    }

    async fn load_into_cache(&self, cache: &Cache, key: &str) -> Result<Secret> {
        cache.count_miss();
        let reference: Reference = key.parse()?;
        match self.fetch(&reference).await {
            Ok(secret) => {
                cache.store(key, reference.scheme(), &secret, Instant::now());
                Ok(secret)
            }
            Err(e) => {
                cache.count_error(e.kind());
                let now = Instant::now();
                if e.kind() == ErrorKind::NotFound {
                    cache.store_missing(key, &e, now);
                } else if let Some(stale) = cache.stale_after_error(key, &e, now) {
                    tracing::warn!(
                        target: access::ACCESS_TARGET,
                        reference = key,
                        error = %e,
                        "backend failed; serving the cached value (stale-if-error)"
                    );
                    access::record_cached(key, stale.source(), Outcome::Stale);
                    return Ok(stale);
                }
                Err(e)
            }
        }
    }

    fn refresh_in_background(&self, cache: &Cache, key: &str) {
        // Refresh-ahead needs a Tokio runtime to run in; elsewhere values simply expire.
        let Ok(handle) = tokio::runtime::Handle::try_current() else {
            return;
        };
        if cache.in_flight(key) {
            return;
        }
        cache.count_refresh();
        let this = self.clone();
        let key = key.to_string();
        handle.spawn(async move {
            if let Some(cache) = &this.inner.cache {
                let _ = this.load(cache, &key).await;
            }
        });
    }

    /// Reads from the store (no cache) and emits the access event.
    async fn fetch(&self, reference: &Reference) -> Result<Secret> {
        let started = Instant::now();
        let result = self.get_inner(reference).await;
        let (source, outcome) = match &result {
            Ok(s) => (
                s.source().unwrap_or(reference.scheme().as_str()),
                Outcome::Ok,
            ),
            Err(e) => (
                e.source_name().unwrap_or(reference.scheme().as_str()),
                Outcome::Failed(e.kind()),
            ),
        };
        access::record(reference, source, outcome, started.elapsed());
        result
    }

    async fn get_inner(&self, reference: &Reference) -> Result<Secret> {
        let store = self
            .store(reference.scheme())
            .map_err(|e| e.with_reference(reference))?;
        let secret = store
            .get(reference)
            .await
            .map_err(|e| e.or_reference(reference).or_source_name(store.name()))?;
        finish(store.name(), reference, secret)
    }

    /// Writes `value` to the store of the reference's scheme, as a new version where the store
    /// keeps versions, and drops the reference's cached value.
    ///
    /// With a `#key` selector only that member of the stored JSON object changes (the value
    /// becomes a JSON string; a missing secret starts as `{}`) and the others are kept (spec §3).
    pub async fn set(&self, reference: impl IntoReference, value: &[u8]) -> Result<Metadata> {
        let reference = reference.into_reference()?;
        let store = self
            .store(reference.scheme())
            .map_err(|e| e.with_reference(&reference))?;
        let whole = reference.without_selector();
        let merged;
        let value = match reference.selector() {
            None => value,
            Some(crate::reference::Selector::Pointer(_)) => {
                return Err(Error::unsupported(
                    "a write can change one top-level member (#key), not a JSON pointer",
                )
                .with_reference(&reference));
            }
            Some(crate::reference::Selector::Key(key)) => {
                merged = self.merge_member(store, &whole, key, value).await?;
                &merged[..]
            }
        };
        let written = store
            .set(&whole, value)
            .await
            .map_err(|e| e.or_reference(&reference).or_source_name(store.name()));
        self.invalidate(&reference);
        self.invalidate(&whole);
        written
    }

    async fn merge_member(
        &self,
        store: &Arc<dyn Store>,
        whole: &Reference,
        key: &str,
        value: &[u8],
    ) -> Result<zeroize::Zeroizing<Vec<u8>>> {
        let context = |e: Error| e.or_reference(whole).or_source_name(store.name());
        let text = std::str::from_utf8(value)
            .map_err(|_| context(Error::decode("a JSON member must be UTF-8 text")))?;
        let mut doc = match store.get(whole).await {
            Ok(current) => serde_json::from_slice::<serde_json::Value>(current.expose_secret())
                .ok()
                .filter(serde_json::Value::is_object)
                .ok_or_else(|| {
                    context(Error::decode(
                        "the stored value is not a JSON object, so one member cannot be set",
                    ))
                })?,
            Err(e) if e.kind() == ErrorKind::NotFound => {
                serde_json::Value::Object(Default::default())
            }
            Err(e) => return Err(context(e)),
        };
        doc[key] = serde_json::Value::String(text.to_string());
        let bytes =
            serde_json::to_vec(&doc).map_err(|_| context(Error::decode("cannot encode JSON")))?;
        crate::selector::zeroize_value(&mut doc);
        Ok(zeroize::Zeroizing::new(bytes))
    }

    /// Deletes the secret a reference points at.
    pub async fn delete(&self, reference: impl IntoReference) -> Result<()> {
        let reference = reference.into_reference()?;
        let store = self
            .store(reference.scheme())
            .map_err(|e| e.with_reference(&reference))?;
        let deleted = store
            .delete(&reference)
            .await
            .map_err(|e| e.or_reference(&reference).or_source_name(store.name()));
        self.invalidate(&reference);
        deleted
    }
}

/// Spawns the task behind a watch: every `interval`, `refresh` runs and the channel changes
/// when the version (or, without versions, the bytes) differs.
pub(crate) fn spawn_watch<F, Fut>(
    first: Secret,
    interval: Duration,
    refresh: F,
) -> watch::Receiver<Secret>
where
    F: Fn() -> Fut + Send + 'static,
    Fut: std::future::Future<Output = Result<Secret>> + Send + 'static,
{
    let (tx, rx) = watch::channel(first);
    tokio::spawn(async move {
        loop {
            tokio::select! {
                _ = tokio::time::sleep(interval) => {}
                _ = tx.closed() => break,
            }
            match refresh().await {
                Ok(new) => {
                    tx.send_if_modified(|current| {
                        if changed(current, &new) {
                            *current = new;
                            true
                        } else {
                            false
                        }
                    });
                }
                Err(e) => {
                    tracing::debug!(target: "creds::watch", error = %e, "watch refresh failed")
                }
            }
        }
    });
    rx
}

fn changed(old: &Secret, new: &Secret) -> bool {
    match (old.version(), new.version()) {
        (Some(a), Some(b)) => a != b,
        _ => old.expose_secret() != new.expose_secret(),
    }
}
