//! The store trait every backend implements, and conveniences on top of it.

use std::borrow::Cow;
use std::fmt;

use async_trait::async_trait;

use crate::error::{Error, Result};
use crate::reference::{Reference, Scheme};
use crate::secret::{Metadata, Secret};

/// A place secrets are read from (and, where it allows, written to).
///
/// The required surface is small: the scheme served and `get`. Writing and deleting are optional
/// and answer [`ErrorKind::Unsupported`](crate::ErrorKind::Unsupported) unless implemented.
/// Conveniences (text, JSON, parsing a string reference) are in [`StoreExt`].
///
/// Stores receive the whole reference but must **not** apply its selector: the
/// [`Resolver`](crate::Resolver) applies selectors once for every backend. Errors a store returns
/// get the reference and the store's [`name`](Store::name) added by the resolver when missing.
///
/// The trait is object safe: resolvers hold `Arc<dyn Store>`.
#[async_trait]
pub trait Store: Send + Sync + fmt::Debug {
    /// The scheme this store serves.
    fn scheme(&self) -> Scheme;

    /// The name of the store in access events and errors. Defaults to the scheme.
    fn name(&self) -> &str {
        self.scheme().as_str()
    }

    /// Reads the secret the reference points at (ignoring its selector).
    async fn get(&self, reference: &Reference) -> Result<Secret>;

    /// Writes `value` as the new value (a new version where the store keeps versions) and returns
    /// what is known of the written version.
    async fn set(&self, reference: &Reference, value: &[u8]) -> Result<Metadata> {
        let _ = value;
        Err(
            Error::unsupported(format!("the {} store cannot be written", self.name()))
                .with_reference(reference),
        )
    }

    /// Deletes the secret.
    async fn delete(&self, reference: &Reference) -> Result<()> {
        Err(
            Error::unsupported(format!("the {} store cannot delete", self.name()))
                .with_reference(reference),
        )
    }
}

/// Refuses a value over a store's documented size limit before anything is sent, with an error
/// of kind [`Unsupported`](crate::ErrorKind::Unsupported) that gives both sizes (never the value).
/// Stores call it at the start of [`Store::set`].
///
/// ```
/// use creds_core::{check_value_size, ErrorKind};
/// assert!(check_value_size(&[0; 10], 10, "Example").is_ok());
/// let e = check_value_size(&[0; 11], 10, "Example").unwrap_err();
/// assert_eq!(e.kind(), ErrorKind::Unsupported);
/// assert!(e.to_string().contains("11 bytes") && e.to_string().contains("limit of 10 bytes"));
/// ```
pub fn check_value_size(value: &[u8], limit: usize, store: &str) -> Result<()> {
    if value.len() <= limit {
        return Ok(());
    }
    Err(Error::unsupported(format!(
        "the value is {} bytes, over {store}'s limit of {limit} bytes",
        value.len()
    )))
}

/// Anything that names a reference: a `&str` to parse, or a [`Reference`].
pub trait IntoReference {
    /// Parses or clones into a [`Reference`].
    fn into_reference(self) -> Result<Reference>;

    /// The reference as text: the cache key. Borrowed for text, so a cache hit allocates
    /// nothing.
    fn key(&self) -> Cow<'_, str>;
}

impl IntoReference for &str {
    fn into_reference(self) -> Result<Reference> {
        self.parse()
    }
    fn key(&self) -> Cow<'_, str> {
        Cow::Borrowed(self)
    }
}
impl IntoReference for String {
    fn into_reference(self) -> Result<Reference> {
        self.parse()
    }
    fn key(&self) -> Cow<'_, str> {
        Cow::Borrowed(self)
    }
}
impl IntoReference for &String {
    fn into_reference(self) -> Result<Reference> {
        self.parse()
    }
    fn key(&self) -> Cow<'_, str> {
        Cow::Borrowed(self.as_str())
    }
}
impl IntoReference for Reference {
    fn into_reference(self) -> Result<Reference> {
        Ok(self)
    }
    fn key(&self) -> Cow<'_, str> {
        Cow::Owned(self.to_string())
    }
}
impl IntoReference for &Reference {
    fn into_reference(self) -> Result<Reference> {
        Ok(self.clone())
    }
    fn key(&self) -> Cow<'_, str> {
        Cow::Owned(self.to_string())
    }
}

/// Conveniences for every [`Store`]: string references, selectors, text and JSON.
#[async_trait]
pub trait StoreExt: Store {
    /// Parses `reference`, reads it and applies its selector.
    async fn fetch<R: IntoReference + Send>(&self, reference: R) -> Result<Secret> {
        let reference = reference.into_reference()?;
        if reference.scheme() != self.scheme() {
            return Err(Error::invalid_reference(format!(
                "the {} store does not serve scheme {}",
                self.name(),
                reference.scheme()
            ))
            .with_reference(&reference));
        }
        let secret = self
            .get(&reference)
            .await
            .map_err(|e| e.or_reference(&reference).or_source_name(self.name()))?;
        crate::resolver::finish(self.name(), &reference, secret)
    }

    /// Reads a reference as UTF-8 text, in zeroizing memory.
    async fn fetch_string<R: IntoReference + Send>(
        &self,
        reference: R,
    ) -> Result<secrecy::SecretString> {
        let secret = self.fetch(reference).await?;
        Ok(secrecy::SecretString::from(secret.expose_str()?.to_owned()))
    }
}

impl<S: Store + ?Sized> StoreExt for S {}
