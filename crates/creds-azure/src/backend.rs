//! [`AzureKvStore`] (`azure-kv://`) and its builder.

use std::collections::HashMap;
use std::fmt;
use std::sync::{Arc, Mutex};
use std::time::SystemTime;

use async_trait::async_trait;
use azure_core::credentials::TokenCredential;
use azure_core::http::{ClientOptions, RetryOptions, Transport};
use azure_security_keyvault_secrets::models::{SecretClientGetSecretOptions, SetSecretParameters};
use azure_security_keyvault_secrets::{SecretClient, SecretClientOptions};
use creds_core::{
    Environment, Error, ErrorKind, Metadata, Reference, Result, Scheme, Secret, Store,
};

use crate::credential::DefaultCredential;
use crate::error;

/// The largest secret value Key Vault keeps: 25 KB. [`set`](Store::set) refuses larger values
/// before calling Azure (kind `unsupported`).
pub const MAX_VALUE: usize = 25 * 1024;

/// An answer that is not the protocol (a proxy's page, a truncated or reshaped body): unavailable,
/// as for every store. The parser's message is not kept: it may quote the body.
pub(crate) fn unreadable() -> Error {
    Error::new(
        ErrorKind::Unavailable,
        "Key Vault sent a response that could not be read",
    )
    .set_temporary(true)
}

/// Builds an [`AzureKvStore`].
#[derive(Default)]
pub struct AzureKvStoreBuilder {
    credential: Option<Arc<dyn TokenCredential>>,
    managed_identity_only: bool,
    env: Option<Arc<dyn Environment>>,
    api_version: Option<String>,
    transport: Option<Transport>,
}

impl fmt::Debug for AzureKvStoreBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AzureKvStoreBuilder")
            .field("custom_credential", &self.credential.is_some())
            .field("managed_identity_only", &self.managed_identity_only)
            .field("api_version", &self.api_version)
            .finish()
    }
}

impl AzureKvStoreBuilder {
    /// The default credentials ([`DefaultCredential`]).
    pub fn from_env() -> Self {
        AzureKvStoreBuilder::default()
    }

    /// Uses this credential (any `TokenCredential`).
    pub fn with_credential(mut self, credential: Arc<dyn TokenCredential>) -> Self {
        self.credential = Some(credential);
        self
    }

    /// Decides the default credential's sources from this environment instead of the
    /// process's (tests, embedding). A credential given with
    /// [`with_credential`](Self::with_credential) is used as it is.
    pub fn with_environment(mut self, env: Arc<dyn Environment>) -> Self {
        self.env = Some(env);
        self
    }

    /// Uses managed identity only (`[backends.azure] credential = "managed-identity"`).
    pub fn with_managed_identity(mut self) -> Self {
        self.managed_identity_only = true;
        self
    }

    /// Pins the Key Vault API version (default: the SDK's).
    pub fn with_api_version(mut self, version: impl Into<String>) -> Self {
        self.api_version = Some(version.into());
        self
    }

    /// Sends requests through this transport (a proxy, a test replay, …).
    pub fn with_transport(mut self, transport: Transport) -> Self {
        self.transport = Some(transport);
        self
    }

    /// The store. Clients are made per vault at first use, and the default credential's sources
    /// at the first token request.
    pub fn build(self) -> AzureKvStore {
        let env = self.env;
        let credential = self.credential.unwrap_or_else(|| {
            let c = DefaultCredential::new(self.managed_identity_only);
            Arc::new(match env {
                Some(env) => c.with_environment(env),
                None => c,
            })
        });
        AzureKvStore {
            inner: Arc::new(Inner {
                credential,
                api_version: self.api_version,
                transport: self.transport,
                clients: Mutex::new(HashMap::new()),
            }),
        }
    }
}

struct Inner {
    credential: Arc<dyn TokenCredential>,
    api_version: Option<String>,
    transport: Option<Transport>,
    clients: Mutex<HashMap<String, Arc<SecretClient>>>,
}

/// Reads and writes `azure-kv://VAULT/NAME[/VERSION]` in Azure Key Vault.
#[derive(Clone)]
pub struct AzureKvStore {
    inner: Arc<Inner>,
}

impl fmt::Debug for AzureKvStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AzureKvStore")
            .field("api_version", &self.inner.api_version)
            .finish()
    }
}

/// Where a reference points.
struct Target {
    host: String,
    name: String,
    version: Option<String>,
}

fn target(reference: &Reference) -> Result<Target> {
    let parts: Vec<&str> = reference.locator().split('/').collect();
    let (vault, name, version) = match parts.as_slice() {
        [v, n] => (*v, *n, None),
        [v, n, ver] => (*v, *n, Some(ver.to_string())),
        _ => {
            return Err(Error::invalid_reference(
                "azure-kv needs VAULT/NAME[/VERSION]",
            ));
        }
    };
    let host = if vault.contains('.') {
        vault
            .trim_start_matches("https://")
            .trim_end_matches('/')
            .to_ascii_lowercase()
    } else {
        format!("{}.vault.azure.net", vault.to_ascii_lowercase())
    };
    Ok(Target {
        host,
        name: name.to_string(),
        version,
    })
}

fn to_system(t: Option<time::OffsetDateTime>) -> Option<SystemTime> {
    t.map(SystemTime::from)
}

impl AzureKvStore {
    /// The store with the default credentials.
    pub fn from_env() -> Self {
        AzureKvStoreBuilder::from_env().build()
    }

    fn client(&self, host: &str) -> Result<Arc<SecretClient>> {
        let mut clients = self.inner.clients.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(c) = clients.get(host) {
            return Ok(c.clone());
        }
        let mut options = SecretClientOptions::default();
        if let Some(v) = &self.inner.api_version {
            options.api_version = v.clone();
        }
        options.client_options = ClientOptions {
            // Retries belong to creds's retry layer (counted, bounded, ordered with the cache).
            retry: RetryOptions::none(),
            transport: self.inner.transport.clone(),
            ..Default::default()
        };
        let client = SecretClient::new(
            &format!("https://{host}/"),
            self.inner.credential.clone(),
            Some(options),
        )
        .map_err(|_| Error::invalid_reference(format!("`{host}` is not a usable vault host")))?;
        let client = Arc::new(client);
        clients.insert(host.to_string(), client.clone());
        Ok(client)
    }
}

/// Checks that the returned id names this vault, secret and (when pinned) version; returns the
/// version.
fn check_id(id: Option<&str>, t: &Target) -> Result<String> {
    // Without an id the answer is not the protocol; with another secret's id it is an integrity
    // failure (below).
    let id = id.ok_or_else(unreadable)?;
    let url = azure_core::http::Url::parse(id).map_err(|_| {
        Error::new(
            ErrorKind::Integrity,
            "Key Vault returned an id that is not a URL",
        )
    })?;
    let host_ok = url
        .host_str()
        .is_some_and(|h| h.eq_ignore_ascii_case(&t.host));
    let segments: Vec<&str> = url.path_segments().map(|s| s.collect()).unwrap_or_default();
    let (name_ok, version) = match segments.as_slice() {
        ["secrets", name, version] => (name.eq_ignore_ascii_case(&t.name), version.to_string()),
        _ => (false, String::new()),
    };
    let version_ok = !version.is_empty()
        && t.version
            .as_ref()
            .is_none_or(|v| v.eq_ignore_ascii_case(&version));
    if host_ok && name_ok && version_ok {
        Ok(version)
    } else {
        Err(Error::new(
            ErrorKind::Integrity,
            format!(
                "Key Vault returned the id `{id}`, which is not secret `{}`{} of vault `{}`",
                t.name,
                t.version
                    .as_ref()
                    .map(|v| format!(" version {v}"))
                    .unwrap_or_default(),
                t.host
            ),
        ))
    }
}

#[async_trait]
impl Store for AzureKvStore {
    fn scheme(&self) -> Scheme {
        Scheme::AzureKv
    }

    async fn get(&self, reference: &Reference) -> Result<Secret> {
        let t = target(reference)?;
        let client = self.client(&t.host)?;
        let options = SecretClientGetSecretOptions {
            secret_version: t.version.clone(),
            ..Default::default()
        };
        let response = client
            .get_secret(&t.name, Some(options))
            .await
            .map_err(error::map)?;
        let secret = response.into_model().map_err(|_| unreadable())?;
        let version = check_id(secret.id.as_deref(), &t)?;
        let mut meta = Metadata::from_source("azure-kv").with_version(version);
        if let Some(a) = &secret.attributes {
            let now = SystemTime::now();
            if a.enabled == Some(false) {
                return Err(Error::new(ErrorKind::Disabled, "the secret is disabled"));
            }
            if let Some(nbf) = to_system(a.not_before)
                && now < nbf
            {
                return Err(Error::new(
                    ErrorKind::Disabled,
                    format!(
                        "the secret is not valid before {} (nbf)",
                        humantime_utc(nbf)
                    ),
                ));
            }
            if let Some(exp) = to_system(a.expires)
                && now >= exp
            {
                return Err(Error::new(
                    ErrorKind::Disabled,
                    format!("the secret expired at {} (exp)", humantime_utc(exp)),
                ));
            }
            meta.created = to_system(a.created);
            meta.expires = to_system(a.expires);
            if let Some(e) = a.enabled {
                meta.attributes.insert("enabled".into(), e.to_string());
            }
            if let Some(u) = to_system(a.updated) {
                meta.attributes.insert("updated".into(), humantime_utc(u));
            }
            if let Some(n) = to_system(a.not_before) {
                meta.attributes
                    .insert("not_before".into(), humantime_utc(n));
            }
        }
        meta.content_type = secret.content_type.clone();
        if let Some(tags) = &secret.tags {
            for (k, v) in tags {
                meta.attributes.insert(format!("tag.{k}"), v.clone());
            }
        }
        let value = secret.value.ok_or_else(|| {
            // A missing secret is a 404; an answer without a value is not the protocol.
            Error::new(ErrorKind::Unavailable, "Key Vault answered without a value")
                .set_temporary(true)
        })?;
        Ok(Secret::from_string(value, meta))
    }

    async fn set(&self, reference: &Reference, value: &[u8]) -> Result<Metadata> {
        let t = target(reference)?;
        if t.version.is_some() {
            return Err(Error::invalid_reference(
                "a write makes a new version: drop the VERSION",
            ));
        }
        creds_core::check_value_size(value, MAX_VALUE, "Key Vault")?;
        let text = std::str::from_utf8(value)
            .map_err(|_| Error::decode("Key Vault keeps text only; the value is not UTF-8"))?;
        let client = self.client(&t.host)?;
        let parameters = SetSecretParameters {
            value: Some(text.to_string()),
            ..Default::default()
        };
        let response = client
            .set_secret(
                &t.name,
                parameters
                    .try_into()
                    .map_err(|_| Error::decode("cannot encode the request"))?,
                None,
            )
            .await
            .map_err(error::map)?;
        let secret = response.into_model().map_err(|_| unreadable())?;
        let version = check_id(secret.id.as_deref(), &t)?;
        Ok(Metadata::from_source("azure-kv").with_version(version))
    }
}

fn humantime_utc(t: SystemTime) -> String {
    time::OffsetDateTime::from(t)
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default()
}
