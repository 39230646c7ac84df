//! # creds: one async API for secrets
//!
//! Credentials do not belong in code. `creds` reads (and where the store allows, writes) secrets
//! by reference — `env://API_KEY`, `keyring://my_application/api_key`,
//! `aws-sm://app/db#password` — or as an ordered fallback [`Chain`] of logical names, with one
//! access event per read and values that never reach a log, a `Debug` or an error.
//!
//! Stores are compiled in through Cargo features, so a program builds only the clouds it uses:
//!
//! | feature | schemes | crate |
//! |---|---|---|
//! | `local` (default) | `env`, `dotenv`, `file`, `keyring` | `creds-local` |
//! | `local-files` | `env`, `dotenv`, `file` (no D-Bus or crypto crates) | `creds-local` |
//! | `keyring` | `keyring` | `creds-local` |
//! | `aws` | `aws-sm`, `aws-ssm` | `creds-aws` |
//! | `vault` | `vault` | `creds-vault` |
//! | `azure` | `azure-kv` | `creds-azure` |
//! | `gcp` | `gcp-sm` | `creds-gcp` |
//!
//! A reference whose scheme is not compiled in fails with an error that names the feature.
//!
//! ## The fallback chain
//!
//! The chain of the seed document — a cloud store first, then `APP_{NAME}` from the environment,
//! then the desktop keyring — in Rust. Here the environment is injected so the example runs
//! anywhere; a program uses [`builder()`] (the real environment) or [`chain`] directly.
//!
//! ```
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), creds::Error> {
//! use std::sync::Arc;
//! use creds::{Chain, StaticEnv};
//!
//! let env = Arc::new(StaticEnv::new().with_var("APP_API_KEY", "key-from-the-environment"));
//! let resolver = creds::builder_with_env(env).build();
//! let chain = Chain::new(
//!     resolver,
//!     ["aws-sm://app/{name}", "env://APP_{NAME}", "keyring://my_application/{name}"],
//! )?;
//!
//! let api_key = chain.get("api_key").await?;
//! assert_eq!(api_key.expose_str()?, "key-from-the-environment");
//! assert_eq!(api_key.source(), Some("env"));
//! // Every hop is recorded: the cloud store was tried first and fell through.
//! let hops = &api_key.metadata().hops;
//! assert_eq!(hops[0].reference, "aws-sm://app/api_key");
//! assert_eq!(hops[1].reference, "env://APP_API_KEY");
//! // The value never shows in Debug output.
//! assert!(!format!("{api_key:?}").contains("key-from-the-environment"));
//! # Ok(()) }
//! ```
//!
//! ## One reference
//!
//! ```no_run
//! # async fn demo() -> Result<(), creds::Error> {
//! let password = creds::get("file:///run/secrets/db_password").await?;
//! let user = creds::get("dotenv://DB_USER?path=config/.env").await?;
//! let token = creds::get("keyring://my_application/api_token").await?;
//! # Ok(()) }
//! ```
//!
//! Access events go to `tracing` on the target `creds::access` (see [`access`]).
#![cfg_attr(docsrs, feature(doc_cfg))]

pub mod config;

use std::sync::{Arc, OnceLock};

pub use creds_core::*;

/// The local stores: environment, `.env`, files and (feature `keyring`) the OS keyring.
#[cfg(feature = "local-files")]
#[cfg_attr(docsrs, doc(cfg(feature = "local-files")))]
pub use creds_local as local;

/// AWS Secrets Manager and SSM Parameter Store.
#[cfg(feature = "aws")]
#[cfg_attr(docsrs, doc(cfg(feature = "aws")))]
pub use creds_aws as aws;

/// Azure Key Vault.
#[cfg(feature = "azure")]
#[cfg_attr(docsrs, doc(cfg(feature = "azure")))]
pub use creds_azure as azure;

/// Google Cloud Secret Manager.
#[cfg(feature = "gcp")]
#[cfg_attr(docsrs, doc(cfg(feature = "gcp")))]
pub use creds_gcp as gcp;

/// HashiCorp Vault and OpenBao.
#[cfg(feature = "vault")]
#[cfg_attr(docsrs, doc(cfg(feature = "vault")))]
pub use creds_vault as vault;

/// A resolver builder with every store compiled in, reading the real process environment, with
/// [`Timeouts::default`] and [`RetryPolicy::default`]. Add a cache with
/// [`with_cache`](ResolverBuilder::with_cache):
///
/// ```
/// use std::time::Duration;
/// let resolver = creds::builder()
///     .with_cache(creds::CacheConfig::default().with_ttl(Duration::from_secs(60)))
///     .build();
/// ```
pub fn builder() -> ResolverBuilder {
    builder_with_env(Arc::new(ProcessEnv))
}

/// A resolver builder with every store compiled in, reading the given environment, with
/// [`Timeouts::default`] and [`RetryPolicy::default`].
pub fn builder_with_env(env: Arc<dyn Environment>) -> ResolverBuilder {
    let builder = Resolver::builder()
        .with_timeouts(Timeouts::default())
        .with_retry(RetryPolicy::default());
    #[cfg(feature = "local-files")]
    let builder = creds_local::register(builder, env.clone());
    #[cfg(not(feature = "local-files"))]
    let _ = env;
    #[cfg(feature = "aws")]
    let builder = creds_aws::register(builder, creds_aws::AwsConfig::from_env());
    #[cfg(feature = "azure")]
    let builder = creds_azure::register(builder, env.clone());
    #[cfg(feature = "gcp")]
    let builder = creds_gcp::register(builder, None);
    #[cfg(feature = "vault")]
    let builder = builder.with_store(
        creds_vault::VaultStoreBuilder::from_env()
            .with_environment(env.clone())
            .build_or_fail_later(),
    );
    builder
}

/// The process-wide resolver with every store compiled in, built at first use: [`builder()`]
/// with [`CacheConfig::default`] (values served from memory for 5 minutes, stale-if-error for
/// 15, refreshed ahead of expiry).
pub fn resolver() -> &'static Resolver {
    static RESOLVER: OnceLock<Resolver> = OnceLock::new();
    RESOLVER.get_or_init(|| builder().with_cache(CacheConfig::default()).build())
}

/// Reads one reference through the process-wide [`resolver`].
pub async fn get(reference: impl IntoReference) -> Result<Secret> {
    resolver().get(reference).await
}

/// A chain over the process-wide [`resolver`].
///
/// ```no_run
/// # async fn demo() -> Result<(), creds::Error> {
/// let chain = creds::chain(["env://APP_{NAME}", "keyring://my_application/{name}"])?;
/// let key = chain.get("api_key").await?;
/// # Ok(()) }
/// ```
pub fn chain<I, T>(templates: I) -> Result<Chain>
where
    I: IntoIterator<Item = T>,
    T: AsRef<str>,
{
    Chain::new(resolver().clone(), templates)
}
