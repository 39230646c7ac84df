//! The core of [creds](https://docs.rs/creds): one async API over every secrets store.
//!
//! This crate holds what every backend shares:
//!
//! - [`Secret`]: a value in zeroizing memory whose `Debug` is redacted, with [`Metadata`];
//! - [`Reference`]: `SCHEME://LOCATOR[?OPTIONS][#SELECTOR]`, parsed for all nine schemes;
//! - [`Store`]: the trait a backend implements (get, optional set and delete), with
//!   conveniences in [`StoreExt`];
//! - [`Error`]: one error type with an [`ErrorKind`], a temporary flag, context and a source;
//! - [`Resolver`]: dispatches a reference to the store of its scheme and applies selectors;
//! - [`Chain`]: logical names through an ordered list of templates, with the fall-through rules of
//!   the spec;
//! - [`access`]: one `tracing` event per read on the target `creds::access`, never with a value;
//! - [`cache`] and [`layers`]: caching (TTL, single-flight, stale-if-error, refresh-ahead,
//!   watch), retries and timeouts around any store, in a documented order;
//! - [`Environment`]: the process environment, injectable so tests never mutate it.
//!
//! Most programs use the facade crate `creds`, which re-exports all of this together with the
//! stores compiled in through its Cargo features.
//!
//! ```
//! use creds_core::{Chain, Reference, Resolver};
//! let r: Reference = "keyring://my_application/api_key".parse()?;
//! assert_eq!(r.keyring_parts(), Some(("my_application", "api_key")));
//!
//! // A chain over a resolver without stores still checks its templates.
//! let chain = Chain::new(Resolver::builder().build(), ["env://APP_{NAME}", "keyring://my_application/{name}"])?;
//! assert_eq!(chain.templates()[0].expand("api-key")?.to_string(), "env://APP_API_KEY");
//! # Ok::<(), creds_core::Error>(())
//! ```
#![cfg_attr(docsrs, feature(doc_cfg))]

pub mod access;
pub mod cache;
mod chain;
mod env;
mod error;
pub mod layers;
mod reference;
mod resolver;
mod rotation;
mod secret;
mod selector;
mod store;

pub use access::{Hop, Outcome};
pub use cache::{CacheConfig, CacheStats};
pub use chain::{Chain, Template, upper_snake};
pub use env::{Environment, ProcessEnv, StaticEnv};
pub use error::{Error, ErrorKind, Result, chain_text};
pub use layers::{RetryPolicy, Timeouts};
pub use reference::{Reference, Scheme, Selector};
pub use resolver::{Policy, Resolver, ResolverBuilder, check_transport, is_plaintext_remote};
pub use rotation::Attempt;
pub use secret::{Metadata, Secret};
pub use selector::apply_selector;
pub use store::{IntoReference, Store, StoreExt, check_value_size};

/// Re-exported so stores can be implemented without naming the crate.
pub use async_trait::async_trait;
pub use secrecy::{ExposeSecret, SecretSlice, SecretString};
