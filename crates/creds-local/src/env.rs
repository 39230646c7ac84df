//! `env://NAME`: a variable of the (injectable) process environment.

use std::sync::Arc;

use async_trait::async_trait;
use creds_core::{
    Environment, Error, Metadata, ProcessEnv, Reference, Result, Scheme, Secret, Store,
};

/// Reads `env://NAME` from an [`Environment`]: the process environment by default.
///
/// A variable that is set (even to the empty string) is found; an unset one is not found, so a
/// chain goes on to its next template. The store is read-only: creds never changes the process
/// environment.
///
/// ```
/// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
/// use std::sync::Arc;
/// use creds_core::{StaticEnv, StoreExt};
/// use creds_local::EnvStore;
///
/// let store = EnvStore::new(Arc::new(StaticEnv::new().with_var("API_KEY", "abc123")));
/// assert_eq!(store.fetch("env://API_KEY").await?.expose_str()?, "abc123");
/// # Ok::<(), creds_core::Error>(())
/// # }).unwrap();
/// ```
#[derive(Debug, Clone)]
pub struct EnvStore {
    env: Arc<dyn Environment>,
}

impl EnvStore {
    /// A store over the real process environment.
    pub fn from_env() -> Self {
        EnvStore::new(Arc::new(ProcessEnv))
    }

    /// A store over the given environment.
    pub fn new(env: Arc<dyn Environment>) -> Self {
        EnvStore { env }
    }
}

impl Default for EnvStore {
    fn default() -> Self {
        EnvStore::from_env()
    }
}

#[async_trait]
impl Store for EnvStore {
    fn scheme(&self) -> Scheme {
        Scheme::Env
    }

    async fn get(&self, reference: &Reference) -> Result<Secret> {
        let name = reference.locator();
        let value = self
            .env
            .var_os(name)
            .ok_or_else(|| Error::not_found(format!("environment variable `{name}` is not set")))?;
        Ok(Secret::new(
            crate::os_bytes(value)?,
            Metadata::from_source("env"),
        ))
    }
}
