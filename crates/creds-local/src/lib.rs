//! Local stores for [creds](https://docs.rs/creds): the environment, `.env` files, mounted secret
//! files and the OS keyring.
//!
//! | scheme | store | reads | writes |
//! |---|---|---|---|
//! | `env://NAME` | [`EnvStore`] | a variable of the (injectable) environment | — |
//! | `dotenv://NAME?path=FILE` | [`DotenvStore`] | a variable of a `.env` file, never loaded into the environment | — |
//! | `file:///abs/path`, `file://rel/path` | [`FileStore`] | a mounted secret (`/run/secrets/…`, `$CREDENTIALS_DIRECTORY/…`) | — |
//! | `keyring://SERVICE/USER` | `KeyringStore` (feature `keyring`) | the Secret Service or the kernel keyring | set, delete |
//!
//! Every store takes a [`creds_core::Environment`], so tests and embedders decide
//! what "the environment" and "the working directory" are, and nothing here ever changes the
//! process environment.
//!
//! # Example
//!
//! Embedded on its own, without the `creds` facade:
//!
//! ```
//! # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
//! use std::sync::Arc;
//! use creds_core::{Chain, Resolver, StaticEnv};
//! use creds_local::{DotenvStore, EnvStore, FileStore};
//!
//! let dir = tempfile::tempdir().unwrap();
//! std::fs::write(dir.path().join(".env"), "APP_DB_PASSWORD=from-dotenv\n").unwrap();
//! let env = Arc::new(StaticEnv::new().with_var("APP_API_KEY", "from-env").with_current_dir(dir.path()));
//!
//! let resolver = Resolver::builder()
//!     .with_store(EnvStore::new(env.clone()))
//!     .with_store(DotenvStore::new(env.clone()))
//!     .with_store(FileStore::new(env))
//!     .build();
//! let chain = Chain::new(resolver, ["env://APP_{NAME}", "dotenv://APP_{NAME}"])?;
//! assert_eq!(chain.get("api_key").await?.expose_str()?, "from-env");
//! let db = chain.get("db_password").await?;
//! assert_eq!(db.expose_str()?, "from-dotenv");
//! assert_eq!(db.source(), Some("dotenv"));
//! # Ok::<(), creds_core::Error>(())
//! # }).unwrap();
//! ```
#![cfg_attr(docsrs, feature(doc_cfg))]

mod dotenv;
mod env;
mod file;
#[cfg(feature = "keyring")]
mod keyring;
mod perms;

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use creds_core::{Environment, Error, ResolverBuilder, Result};

pub use dotenv::{DotenvStore, lookup as dotenv_lookup};
pub use env::EnvStore;
pub use file::{CREDENTIALS_DIRECTORY_PREFIX, DEFAULT_MAX_SIZE, FileStore};
#[cfg(feature = "keyring")]
#[cfg_attr(docsrs, doc(cfg(feature = "keyring")))]
pub use keyring::{
    DEFAULT_TIMEOUT as KEYRING_TIMEOUT, KEYUTILS_MAX_VALUE, KeyringBackend, KeyringStore,
    KeyringStoreBuilder,
};
pub use perms::check_credential_file;

/// Adds every local store compiled in to a resolver builder, all reading `env`.
pub fn register(builder: ResolverBuilder, env: Arc<dyn Environment>) -> ResolverBuilder {
    let policy = builder.policy();
    let builder = builder
        .with_store(EnvStore::new(env.clone()))
        .with_store(DotenvStore::new(env.clone()).with_policy(policy))
        .with_store(FileStore::new(env.clone()).with_policy(policy));
    #[cfg(feature = "keyring")]
    let builder = builder.with_store(KeyringStore::builder().with_environment(env).build());
    #[cfg(not(feature = "keyring"))]
    let _ = env;
    builder
}

/// Resolves a possibly relative path against the environment's working directory.
pub(crate) fn resolve_path(env: &dyn Environment, path: &Path) -> Result<PathBuf> {
    if path.is_absolute() {
        return Ok(path.to_path_buf());
    }
    let cwd = env.current_dir().map_err(|e| {
        Error::unconfigured(
            "the working directory is unknown, so a relative path cannot be resolved",
        )
        .with_source(e)
    })?;
    Ok(cwd.join(path))
}

/// The bytes of an OS string (every byte on Unix; UTF-8 text elsewhere).
pub(crate) fn os_bytes(value: OsString) -> Result<Vec<u8>> {
    #[cfg(unix)]
    {
        use std::os::unix::ffi::OsStringExt;
        Ok(value.into_vec())
    }
    #[cfg(not(unix))]
    {
        value
            .into_string()
            .map(String::into_bytes)
            .map_err(|_| Error::decode("the variable is not valid Unicode"))
    }
}
