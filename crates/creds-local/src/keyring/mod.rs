//! `keyring://SERVICE/USER`: the OS keyring through keyring-core, with the Secret Service (GNOME
//! Keyring, KWallet, KeePassXC over D-Bus) and the Linux kernel keyring (keyutils) stores.

mod client;
mod error;

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use creds_core::{
    Environment, Error, ErrorKind, Metadata, ProcessEnv, Reference, Result, Scheme, Secret, Store,
};
use tokio::sync::OnceCell;
use zeroize::Zeroizing;

use client::Client;

/// The default limit for one keyring call: Secret Service calls can block forever (a prompt, a
/// hung daemon), so every call is bounded.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(5);

/// Which keyring a [`KeyringStore`] uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum KeyringBackend {
    /// The Secret Service when a session bus is reachable and answers, else keyutils.
    #[default]
    Auto,
    /// The Secret Service over the D-Bus session bus (`org.freedesktop.secrets`).
    SecretService,
    /// The Linux kernel keyring (keyutils), in the session keyring. Items live until logout and
    /// are seen only by creds and other keyring-rs programs.
    Keyutils,
}

impl KeyringBackend {
    /// A short name: `auto`, `secret-service` or `keyutils`.
    pub fn as_str(self) -> &'static str {
        match self {
            KeyringBackend::Auto => "auto",
            KeyringBackend::SecretService => "secret-service",
            KeyringBackend::Keyutils => "keyutils",
        }
    }
}

/// Reads, writes and deletes `keyring://SERVICE/USER` (split at the first `/`).
///
/// Items are found by the attributes `service` and `username`, as Python's `keyring` and
/// `secret-tool store service S username U` write them, so each sees what the other wrote. New
/// items go to the default collection.
///
/// Every call runs on a blocking thread and is bounded by a timeout ([`DEFAULT_TIMEOUT`]); the
/// connection is made at the first call. A keyring that cannot be reached is `unavailable`, so a
/// chain goes on.
///
/// ```no_run
/// # async fn demo() -> creds_core::Result<()> {
/// use creds_core::StoreExt;
/// use creds_local::{KeyringBackend, KeyringStore};
///
/// let store = KeyringStore::builder().with_backend(KeyringBackend::SecretService).build();
/// let token = store.fetch("keyring://my_application/api_key").await?;
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct KeyringStore {
    inner: Arc<Inner>,
}

struct Inner {
    backend: KeyringBackend,
    timeout: Duration,
    env: Arc<dyn Environment>,
    client: OnceCell<Arc<Client>>,
}

impl fmt::Debug for KeyringStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("KeyringStore")
            .field("backend", &self.inner.backend)
            .field(
                "connected",
                &self.inner.client.get().map(|c| c.backend.as_str()),
            )
            .field("timeout", &self.inner.timeout)
            .finish()
    }
}

/// Builds a [`KeyringStore`].
#[derive(Debug)]
pub struct KeyringStoreBuilder {
    backend: KeyringBackend,
    timeout: Duration,
    env: Arc<dyn Environment>,
}

impl KeyringStoreBuilder {
    /// Chooses the keyring.
    pub fn with_backend(mut self, backend: KeyringBackend) -> Self {
        self.backend = backend;
        self
    }

    /// Bounds every keyring call.
    pub fn with_timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// The environment consulted to decide whether a session bus is reachable.
    pub fn with_environment(mut self, env: Arc<dyn Environment>) -> Self {
        self.env = env;
        self
    }

    /// The store. Nothing is connected until the first call.
    pub fn build(self) -> KeyringStore {
        KeyringStore {
            inner: Arc::new(Inner {
                backend: self.backend,
                timeout: self.timeout,
                env: self.env,
                client: OnceCell::new(),
            }),
        }
    }
}

impl KeyringStore {
    /// A builder with the defaults: [`KeyringBackend::Auto`], [`DEFAULT_TIMEOUT`].
    pub fn builder() -> KeyringStoreBuilder {
        KeyringStoreBuilder {
            backend: KeyringBackend::Auto,
            timeout: DEFAULT_TIMEOUT,
            env: Arc::new(ProcessEnv),
        }
    }

    /// The store with the defaults.
    pub fn from_env() -> Self {
        KeyringStore::builder().build()
    }

    /// The keyring in use once connected ([`KeyringBackend::Auto`] before).
    pub fn backend(&self) -> KeyringBackend {
        self.inner
            .client
            .get()
            .map(|c| c.backend)
            .unwrap_or(self.inner.backend)
    }

    /// Connects (once) and returns the keyring in use.
    pub async fn connect(&self) -> Result<KeyringBackend> {
        Ok(self.client().await?.backend)
    }

    fn session_bus_reachable(&self) -> bool {
        if self.inner.env.var_os("DBUS_SESSION_BUS_ADDRESS").is_some() {
            return true;
        }
        self.inner
            .env
            .var_os("XDG_RUNTIME_DIR")
            .map(|dir| std::path::Path::new(&dir).join("bus").exists())
            .unwrap_or(false)
    }

    async fn client(&self) -> Result<Arc<Client>> {
        self.inner
            .client
            .get_or_try_init(|| async {
                let client = match self.inner.backend {
                    KeyringBackend::SecretService => {
                        self.blocking(
                            "connect",
                            KeyringBackend::SecretService,
                            Client::secret_service,
                        )
                        .await?
                    }
                    KeyringBackend::Keyutils => {
                        self.blocking("connect", KeyringBackend::Keyutils, Client::keyutils)
                            .await?
                    }
                    KeyringBackend::Auto => {
                        let ss = if self.session_bus_reachable() {
                            self.blocking(
                                "connect",
                                KeyringBackend::SecretService,
                                Client::secret_service,
                            )
                            .await
                        } else {
                            Err(Error::unconfigured("no session bus"))
                        };
                        match ss {
                            Ok(client) => client,
                            Err(err) => {
                                tracing::debug!(
                                    target: "creds::local",
                                    error = %err,
                                    "Secret Service not usable; using the kernel keyring (keyutils)"
                                );
                                self.blocking("connect", KeyringBackend::Keyutils, Client::keyutils)
                                    .await?
                            }
                        }
                    }
                };
                Ok(Arc::new(client))
            })
            .await
            .cloned()
    }

    async fn blocking<T, F>(&self, op: &'static str, backend: KeyringBackend, f: F) -> Result<T>
    where
        T: Send + 'static,
        F: FnOnce() -> keyring_core::Result<T> + Send + 'static,
    {
        let task = tokio::task::spawn_blocking(f);
        match tokio::time::timeout(self.inner.timeout, task).await {
            Ok(Ok(result)) => result.map_err(|e| error::map(e, backend_label(backend))),
            Ok(Err(_join)) => Err(Error::new(
                ErrorKind::Other,
                format!("the keyring {op} call panicked"),
            )),
            Err(_) => Err(Error::new(
                ErrorKind::Timeout,
                format!(
                    "the keyring did not answer the {op} call within {:?}",
                    self.inner.timeout
                ),
            )),
        }
    }

    async fn call<T, F>(&self, op: &'static str, f: F) -> Result<T>
    where
        T: Send + 'static,
        F: FnOnce(&Client) -> keyring_core::Result<T> + Send + 'static,
    {
        let client = self.client().await?;
        let backend = client.backend;
        self.blocking(op, backend, move || f(&client)).await
    }
}

/// The largest value the keyutils keyring keeps: a `user` key's payload is at most 32,767 bytes
/// (and the kernel's per-user quota, `/proc/sys/kernel/keys/maxbytes`, may allow less).
pub const KEYUTILS_MAX_VALUE: usize = 32_767;

fn backend_label(backend: KeyringBackend) -> &'static str {
    match backend {
        KeyringBackend::Auto => "OS",
        KeyringBackend::SecretService => "Secret Service",
        KeyringBackend::Keyutils => "keyutils",
    }
}

fn parts(reference: &Reference) -> Result<(String, String)> {
    reference
        .keyring_parts()
        .map(|(s, u)| (s.to_string(), u.to_string()))
        .ok_or_else(|| Error::invalid_reference("a keyring reference needs SERVICE/USER"))
}

#[async_trait]
impl Store for KeyringStore {
    fn scheme(&self) -> Scheme {
        Scheme::Keyring
    }

    async fn get(&self, reference: &Reference) -> Result<Secret> {
        let (service, user) = parts(reference)?;
        let value = self.call("get", move |c| c.get(&service, &user)).await?;
        Ok(Secret::new(value, Metadata::from_source("keyring")))
    }

    async fn set(&self, reference: &Reference, value: &[u8]) -> Result<Metadata> {
        let (service, user) = parts(reference)?;
        if self.connect().await? == KeyringBackend::Keyutils {
            creds_core::check_value_size(value, KEYUTILS_MAX_VALUE, "the keyutils keyring")?;
        }
        let value = Zeroizing::new(value.to_vec());
        self.call("set", move |c| c.set(&service, &user, &value))
            .await?;
        Ok(Metadata::from_source("keyring"))
    }

    async fn delete(&self, reference: &Reference) -> Result<()> {
        let (service, user) = parts(reference)?;
        self.call("delete", move |c| c.delete(&service, &user))
            .await
    }
}
