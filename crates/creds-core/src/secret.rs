//! [`Secret`]: a value in zeroizing memory with non-secret metadata.

use std::fmt;
use std::sync::Arc;
use std::time::SystemTime;

use secrecy::{ExposeSecret, SecretSlice};
use serde::de::DeserializeOwned;

use crate::access::Hop;
use crate::error::{Error, Result, describe_json_error};
use crate::reference::Reference;

/// What is known about a secret besides its value. Nothing here is secret.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Metadata {
    /// The reference that was resolved (with its selector), when known.
    pub reference: Option<Reference>,
    /// The store that answered (for example `env`, `keyring`, `aws-sm`).
    pub source: Option<String>,
    /// The backend's version id, when it keeps versions.
    pub version: Option<String>,
    /// When this version was created, when the backend says.
    pub created: Option<SystemTime>,
    /// When the value stops being valid (a lease end or an expiry), when the backend says.
    pub expires: Option<SystemTime>,
    /// The content type, when the backend stores one.
    pub content_type: Option<String>,
    /// The version's stages or labels, when the backend keeps them (`AWSCURRENT`,
    /// `AWSPREVIOUS`, …).
    pub stages: Vec<String>,
    /// Other non-secret facts a backend reports (Azure: `enabled`, `updated`, `not_before`,
    /// `tag.NAME`; …).
    pub attributes: std::collections::BTreeMap<String, String>,
    /// For a value found through a [`Chain`](crate::Chain): every template tried, in order.
    pub hops: Vec<Hop>,
}

impl Metadata {
    /// Empty metadata naming the store that answered.
    pub fn from_source(source: impl Into<String>) -> Self {
        Metadata {
            source: Some(source.into()),
            ..Metadata::default()
        }
    }

    /// Sets the version id.
    pub fn with_version(mut self, version: impl Into<String>) -> Self {
        self.version = Some(version.into());
        self
    }

    /// Sets the creation time.
    pub fn with_created(mut self, created: SystemTime) -> Self {
        self.created = Some(created);
        self
    }

    /// Sets the expiry time.
    pub fn with_expires(mut self, expires: SystemTime) -> Self {
        self.expires = Some(expires);
        self
    }

    /// Sets the content type.
    pub fn with_content_type(mut self, content_type: impl Into<String>) -> Self {
        self.content_type = Some(content_type.into());
        self
    }
}

struct Inner {
    value: SecretSlice<u8>,
    meta: Metadata,
}

/// A secret value: bytes in memory that is zeroed when the last clone is dropped, and
/// [`Metadata`]. Cloning is cheap (one reference count).
///
/// The value is reached only through [`expose_secret`](Secret::expose_secret) (bytes),
/// [`expose_str`](Secret::expose_str) (UTF-8 text) or [`json`](Secret::json) (typed). `Debug`
/// prints `[REDACTED]` and the metadata; there is no `Display`.
///
/// ```
/// use creds_core::{Metadata, Secret};
/// let s = Secret::new(b"hunter2".to_vec(), Metadata::from_source("example"));
/// assert_eq!(s.expose_str()?, "hunter2");
/// assert!(!format!("{s:?}").contains("hunter2"));
/// # Ok::<(), creds_core::Error>(())
/// ```
#[derive(Clone)]
pub struct Secret(Arc<Inner>);

impl Secret {
    /// Wraps bytes. The vector is moved, not copied, into zeroizing memory.
    pub fn new(value: Vec<u8>, meta: Metadata) -> Secret {
        Secret(Arc::new(Inner {
            value: SecretSlice::from(value),
            meta,
        }))
    }

    /// A copy with its own memory (and reference count): the cache keeps one per stripe of
    /// threads. Zeroed on drop like the original.
    pub(crate) fn replicate(&self) -> Secret {
        Secret::new(self.expose_secret().to_vec(), self.0.meta.clone())
    }

    /// Wraps text.
    pub fn from_string(value: String, meta: Metadata) -> Secret {
        Secret::new(value.into_bytes(), meta)
    }

    /// The value as bytes.
    pub fn expose_secret(&self) -> &[u8] {
        self.0.value.expose_secret()
    }

    /// The value as UTF-8 text; a decode error (naming the reference, never the value) otherwise.
    pub fn expose_str(&self) -> Result<&str> {
        std::str::from_utf8(self.expose_secret()).map_err(|e| {
            self.context(Error::decode(format!(
                "the value is not UTF-8 text (invalid byte at offset {}); read it as bytes",
                e.valid_up_to()
            )))
        })
    }

    /// The value decoded from JSON into `T`. The error says where decoding failed, never what
    /// the value was.
    pub fn json<T: DeserializeOwned>(&self) -> Result<T> {
        serde_json::from_slice(self.expose_secret())
            .map_err(|e| self.context(Error::decode(describe_json_error(&e))))
    }

    /// The length of the value in bytes.
    pub fn len(&self) -> usize {
        self.expose_secret().len()
    }

    /// Whether the value is empty.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The metadata.
    pub fn metadata(&self) -> &Metadata {
        &self.0.meta
    }

    /// The reference that was resolved, when known.
    pub fn reference(&self) -> Option<&Reference> {
        self.0.meta.reference.as_ref()
    }

    /// The store that answered, when known.
    pub fn source(&self) -> Option<&str> {
        self.0.meta.source.as_deref()
    }

    /// The version id, when the backend keeps versions.
    pub fn version(&self) -> Option<&str> {
        self.0.meta.version.as_deref()
    }

    /// A new secret with the same value and changed metadata. Copies the value only when this
    /// secret is shared.
    pub fn map_metadata(self, f: impl FnOnce(&mut Metadata)) -> Secret {
        match Arc::try_unwrap(self.0) {
            Ok(mut inner) => {
                f(&mut inner.meta);
                Secret(Arc::new(inner))
            }
            Err(shared) => {
                let mut meta = shared.meta.clone();
                f(&mut meta);
                Secret::new(shared.value.expose_secret().to_vec(), meta)
            }
        }
    }

    /// A new secret with another value and the same metadata.
    pub(crate) fn with_value(&self, value: Vec<u8>) -> Secret {
        Secret::new(value, self.0.meta.clone())
    }

    pub(crate) fn context(&self, err: Error) -> Error {
        let err = match &self.0.meta.reference {
            Some(r) => err.or_reference(r),
            None => err,
        };
        match &self.0.meta.source {
            Some(s) => err.or_source_name(s.clone()),
            None => err,
        }
    }
}

impl ExposeSecret<[u8]> for Secret {
    fn expose_secret(&self) -> &[u8] {
        self.0.value.expose_secret()
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let m = &self.0.meta;
        let mut d = f.debug_struct("Secret");
        d.field("value", &format_args!("[REDACTED]"));
        if let Some(r) = &m.reference {
            d.field("reference", &format_args!("{r}"));
        }
        if let Some(s) = &m.source {
            d.field("source", s);
        }
        if let Some(v) = &m.version {
            d.field("version", v);
        }
        if let Some(c) = &m.created {
            d.field("created", c);
        }
        if let Some(e) = &m.expires {
            d.field("expires", e);
        }
        if let Some(c) = &m.content_type {
            d.field("content_type", c);
        }
        if !m.stages.is_empty() {
            d.field("stages", &m.stages);
        }
        if !m.attributes.is_empty() {
            d.field("attributes", &m.attributes);
        }
        if !m.hops.is_empty() {
            d.field("hops", &m.hops);
        }
        d.finish()
    }
}
