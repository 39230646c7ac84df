//! The [`Resolver`]: dispatches a reference to the store of its scheme, applies the selector and
//! the policy, and emits the access event.

use std::collections::BTreeMap;
use std::fmt;
use std::sync::Arc;
use std::time::Instant;

use crate::access::{self, Outcome};
use crate::error::{Error, ErrorKind, Result};
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
}

impl fmt::Debug for Resolver {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Resolver")
            .field("stores", &self.inner.stores.values().collect::<Vec<_>>())
            .field("policy", &self.inner.policy)
            .finish()
    }
}

/// Builds a [`Resolver`].
#[derive(Default)]
pub struct ResolverBuilder {
    stores: BTreeMap<Scheme, Arc<dyn Store>>,
    policy: Policy,
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

    /// The resolver.
    pub fn build(self) -> Resolver {
        Resolver {
            inner: Arc::new(Inner {
                stores: self.stores,
                policy: self.policy,
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

    /// Resolves a reference: the store of its scheme reads it, then the selector is applied. One
    /// access event is emitted.
    pub async fn get(&self, reference: impl IntoReference) -> Result<Secret> {
        let reference = reference.into_reference()?;
        let started = Instant::now();
        let result = self.get_inner(&reference).await;
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
        access::record(&reference, source, outcome, started.elapsed());
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

    /// Writes `value` to the store of the reference's scheme. A selector is refused for now:
    /// member-wise updates of JSON secrets belong to the stores of maps.
    pub async fn set(&self, reference: impl IntoReference, value: &[u8]) -> Result<Metadata> {
        let reference = reference.into_reference()?;
        let store = self
            .store(reference.scheme())
            .map_err(|e| e.with_reference(&reference))?;
        store
            .set(&reference, value)
            .await
            .map_err(|e| e.or_reference(&reference).or_source_name(store.name()))
    }

    /// Deletes the secret a reference points at.
    pub async fn delete(&self, reference: impl IntoReference) -> Result<()> {
        let reference = reference.into_reference()?;
        let store = self
            .store(reference.scheme())
            .map_err(|e| e.with_reference(&reference))?;
        store
            .delete(&reference)
            .await
            .map_err(|e| e.or_reference(&reference).or_source_name(store.name()))
    }
}
