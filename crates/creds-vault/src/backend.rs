//! [`VaultStore`] (`vault://`) and its builder.

use std::fmt;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, SystemTime};

use async_trait::async_trait;
use creds_core::{
    Environment, Error, ErrorKind, Metadata, Policy, ProcessEnv, Reference, Resolver, Result,
    Scheme, Secret, Store,
};
use reqwest::Method;
use serde_json::Value;
use zeroize::{Zeroize, Zeroizing};

use crate::client::{Mount, Session, encode_path};
use crate::config::{Auth, VaultConfig};
use crate::error;

/// Builds a [`VaultStore`].
#[derive(Debug)]
pub struct VaultStoreBuilder {
    config: VaultConfig,
    policy: Policy,
    env: Arc<dyn Environment>,
    auth_resolver: Option<Resolver>,
}

impl Default for VaultStoreBuilder {
    fn default() -> Self {
        VaultStoreBuilder::from_env()
    }
}

impl VaultStoreBuilder {
    /// Everything from the environment (`VAULT_ADDR`, `VAULT_TOKEN`, …), token auth.
    pub fn from_env() -> Self {
        VaultStoreBuilder {
            config: VaultConfig::default(),
            policy: Policy::Permissive,
            env: Arc::new(ProcessEnv),
            auth_resolver: None,
        }
    }

    /// Uses these settings.
    pub fn with_config(mut self, config: VaultConfig) -> Self {
        self.config = config;
        self
    }

    /// Sets the server address.
    pub fn with_address(mut self, address: impl Into<String>) -> Self {
        self.config.address = Some(address.into());
        self
    }

    /// Sets the login method.
    pub fn with_auth(mut self, auth: Auth) -> Self {
        self.config.auth = auth;
        self
    }

    /// Sets the namespace.
    pub fn with_namespace(mut self, namespace: impl Into<String>) -> Self {
        self.config.namespace = Some(namespace.into());
        self
    }

    /// Trusts the CA certificates of a PEM file.
    pub fn with_ca_cert(mut self, path: impl Into<PathBuf>) -> Self {
        self.config.ca_cert = Some(path.into());
        self
    }

    /// Presents a client certificate (mutual TLS).
    pub fn with_client_cert(mut self, cert: impl Into<PathBuf>, key: impl Into<PathBuf>) -> Self {
        self.config.client_cert = Some(cert.into());
        self.config.client_key = Some(key.into());
        self
    }

    /// Skips TLS verification (refused under [`Policy::Strict`]).
    pub fn with_skip_verify(mut self, skip: bool) -> Self {
        self.config.skip_verify = Some(skip);
        self
    }

    /// Bounds each HTTP request.
    pub fn with_timeout(mut self, timeout: Duration) -> Self {
        self.config.timeout = Some(timeout);
        self
    }

    /// Sets the policy: strict refuses disabled TLS verification and plaintext http to a host
    /// that is not loopback.
    pub fn with_policy(mut self, policy: Policy) -> Self {
        self.policy = policy;
        self
    }

    /// The environment the `VAULT_*` variables and `~/.vault-token` are read from.
    pub fn with_environment(mut self, env: Arc<dyn Environment>) -> Self {
        self.env = env;
        self
    }

    /// The resolver that reads the login credentials' references (default: the local stores
    /// `env`, `dotenv` and `file` over the same environment; under [`Policy::Strict`] those
    /// stores refuse a credential file that its group or others may read).
    pub fn with_auth_resolver(mut self, resolver: Resolver) -> Self {
        self.auth_resolver = Some(resolver);
        self
    }

    /// The store; the settings are checked now (policy, address), the login happens at the first
    /// read.
    pub fn build(self) -> Result<VaultStore> {
        let resolver = self.auth_resolver.unwrap_or_else(|| {
            Resolver::builder()
                .with_store(creds_local::EnvStore::new(self.env.clone()))
                .with_store(
                    creds_local::DotenvStore::new(self.env.clone()).with_policy(self.policy),
                )
                .with_store(creds_local::FileStore::new(self.env.clone()).with_policy(self.policy))
                .build()
        });
        let session = Session::new(self.config, self.policy, self.env, resolver)?;
        Ok(VaultStore {
            session: Ok(session),
        })
    }

    /// Like [`build`](Self::build), but a configuration error is returned by every read instead.
    pub fn build_or_fail_later(self) -> VaultStore {
        self.build()
            .unwrap_or_else(|e| VaultStore { session: Err(e) })
    }
}

/// Reads and writes `vault://MOUNT/PATH` in HashiCorp Vault or OpenBao KV.
///
/// - The mount and its KV version are found as the vault CLI does
///   (`sys/internal/ui/mounts/PATH`), so mounts of several segments (`team/kv/app`) work; the
///   options `mount=` and `kv=1|2` override detection. The API form `secret/data/my-app` is
///   accepted (the `data/` after a KV v2 mount is dropped).
/// - The value is the secret's data as a JSON object (`{"api_key":"…"}`), so selectors pick
///   fields: `vault://secret/my-app#api_key`. `version=N` reads a KV v2 version; a deleted or
///   destroyed version is *not found*, and the error says which.
/// - The metadata holds the KV v2 version and creation time; a KV v1 lease bounds the cache TTL.
/// - [`set`](Store::set) takes a JSON object and writes it as a new version (KV v2) or over the
///   old value (KV v1); [`set_with_cas`](VaultStore::set_with_cas) checks the current version.
#[derive(Clone)]
pub struct VaultStore {
    session: std::result::Result<Arc<Session>, Error>,
}

impl fmt::Debug for VaultStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut d = f.debug_struct("VaultStore");
        match &self.session {
            Ok(s) => d
                .field("address", &s.address())
                .field("policy", &s.policy()),
            Err(e) => d.field("error", e),
        };
        d.finish()
    }
}

/// Where a reference points.
struct Target {
    mount: Mount,
    path: String,
}

fn parse_time(v: &Value) -> Option<SystemTime> {
    v.as_str()
        .filter(|s| !s.is_empty())
        .and_then(|s| humantime::parse_rfc3339_weak(s.split('.').next()?).ok())
}

fn zeroize_json(v: &mut Value) {
    match v {
        Value::String(s) => s.zeroize(),
        Value::Array(a) => a.iter_mut().for_each(zeroize_json),
        Value::Object(m) => m.values_mut().for_each(zeroize_json),
        _ => {}
    }
}

impl VaultStore {
    /// The store with everything from the environment.
    pub fn from_env() -> Self {
        VaultStoreBuilder::from_env().build_or_fail_later()
    }

    fn session(&self) -> Result<&Arc<Session>> {
        self.session.as_ref().map_err(Clone::clone)
    }

    /// How many times this store logged in.
    pub fn logins(&self) -> u64 {
        self.session
            .as_ref()
            .map(|s| s.lifecycle.logins.load(Ordering::SeqCst))
            .unwrap_or(0)
    }

    /// How many times this store renewed its token.
    pub fn renewals(&self) -> u64 {
        self.session
            .as_ref()
            .map(|s| s.lifecycle.renewals.load(Ordering::SeqCst))
            .unwrap_or(0)
    }

    /// Logs in now (otherwise the first read does).
    pub async fn login(&self) -> Result<()> {
        self.session()?.current().await.map(|_| ())
    }

    async fn target(&self, reference: &Reference) -> Result<Target> {
        let session = self.session()?;
        let locator = reference.locator().trim_matches('/');
        let kv = reference.option("kv").and_then(|v| v.parse().ok());
        let mount = session
            .mount_of(locator, reference.option("mount"), kv)
            .await?;
        let rest = if locator == mount.path {
            ""
        } else if let Some(r) = locator.strip_prefix(&format!("{}/", mount.path)) {
            r
        } else if reference.option("mount").is_some() {
            // With `mount=`, the locator may be the path under the mount.
            locator
        } else {
            locator
        };
        let rest = if mount.version == 2 {
            rest.strip_prefix("data/").unwrap_or(rest)
        } else {
            rest
        };
        if rest.is_empty() {
            return Err(Error::invalid_reference(format!(
                "no secret path after the mount `{}`",
                mount.path
            )));
        }
        if mount.version == 1 && reference.option("version").is_some() {
            return Err(Error::invalid_reference(format!(
                "`{}` is a KV version 1 mount, which keeps no versions",
                mount.path
            )));
        }
        Ok(Target {
            mount,
            path: rest.to_string(),
        })
    }

    /// Writes a JSON object as a new KV v2 version only if the current version is `cas` (0: only
    /// if the secret does not exist yet).
    pub async fn set_with_cas(
        &self,
        reference: &Reference,
        value: &[u8],
        cas: u64,
    ) -> Result<Metadata> {
        self.write(reference, value, Some(cas)).await
    }

    async fn write(
        &self,
        reference: &Reference,
        value: &[u8],
        cas: Option<u64>,
    ) -> Result<Metadata> {
        let mut data: Value = serde_json::from_slice(value)
            .ok()
            .filter(Value::is_object)
            .ok_or_else(|| {
                Error::decode("a Vault KV write takes a JSON object, e.g. {\"password\":\"…\"}")
            })?;
        let target = self.target(reference).await?;
        let session = self.session()?;
        let (path, mut body) = if target.mount.version == 2 {
            let mut body = serde_json::json!({ "data": data.take() });
            if let Some(cas) = cas {
                body["options"] = serde_json::json!({ "cas": cas });
            }
            (
                format!("{}/data/{}", target.mount.path, encode_path(&target.path)),
                body,
            )
        } else {
            if cas.is_some() {
                return Err(Error::unsupported(
                    "check-and-set needs a KV version 2 mount",
                ));
            }
            (
                format!("{}/{}", target.mount.path, encode_path(&target.path)),
                data.take(),
            )
        };
        let result = session.request(Method::POST, &path, Some(&body)).await;
        zeroize_json(&mut body);
        zeroize_json(&mut data);
        let (status, answer) = result?;
        if !(200..300).contains(&status) {
            let e = error::from_status(status, &answer, "the write");
            let cas_failed = answer["errors"].as_array().is_some_and(|a| {
                a.iter()
                    .any(|m| m.as_str().is_some_and(|m| m.contains("check-and-set")))
            });
            return Err(if cas_failed {
                Error::new(
                    ErrorKind::Other,
                    format!("check-and-set failed: {}", e.message()),
                )
            } else {
                e
            });
        }
        let mut meta = Metadata::from_source("vault");
        if let Some(v) = answer["data"]["version"].as_u64() {
            meta.version = Some(v.to_string());
        }
        meta.created = parse_time(&answer["data"]["created_time"]);
        Ok(meta)
    }
}

#[async_trait]
impl Store for VaultStore {
    fn scheme(&self) -> Scheme {
        Scheme::Vault
    }

    async fn get(&self, reference: &Reference) -> Result<Secret> {
        let target = self.target(reference).await?;
        let session = self.session()?;
        let mut meta = Metadata::from_source("vault");
        let version = reference.option("version");
        let (status, mut body) = if target.mount.version == 2 {
            let mut path = format!("{}/data/{}", target.mount.path, encode_path(&target.path));
            if let Some(v) = version {
                path.push_str(&format!("?version={v}"));
            }
            session.request(Method::GET, &path, None).await?
        } else {
            let path = format!("{}/{}", target.mount.path, encode_path(&target.path));
            session.request(Method::GET, &path, None).await?
        };
        let result = (|| {
            if status == 404 {
                let md = &body["data"]["metadata"];
                let which = version
                    .map(|v| format!("version {v}"))
                    .unwrap_or_else(|| "the latest version".into());
                if md["destroyed"].as_bool() == Some(true) {
                    return Err(Error::not_found(format!("{which} was destroyed")));
                }
                if let Some(t) = md["deletion_time"].as_str().filter(|t| !t.is_empty()) {
                    return Err(Error::not_found(format!("{which} was deleted at {t}")));
                }
                return Err(Error::not_found(format!(
                    "no secret `{}` in the KV v{} mount `{}`",
                    target.path, target.mount.version, target.mount.path
                )));
            }
            if !(200..300).contains(&status) {
                return Err(error::from_status(status, &body, "the read"));
            }
            let data = if target.mount.version == 2 {
                let md = &body["data"]["metadata"];
                meta.version = md["version"].as_u64().map(|v| v.to_string());
                meta.created = parse_time(&md["created_time"]);
                &body["data"]["data"]
            } else {
                if let Some(lease) = body["lease_duration"].as_u64().filter(|l| *l > 0) {
                    meta.expires = Some(SystemTime::now() + Duration::from_secs(lease));
                }
                &body["data"]
            };
            if !data.is_object() {
                // A 200 without a data object is not Vault's KV protocol (a missing secret is a
                // 404): a proxy or another server answered.
                return Err(Error::new(
                    ErrorKind::Unavailable,
                    format!(
                        "Vault answered HTTP {status} without a KV v{} data object (a proxy or a different server?)",
                        target.mount.version
                    ),
                )
                .set_temporary(true));
            }
            let bytes = Zeroizing::new(
                serde_json::to_vec(data).map_err(|_| Error::decode("cannot encode JSON"))?,
            );
            Ok(bytes)
        })();
        zeroize_json(&mut body);
        let mut bytes = result?;
        meta.content_type = Some("application/json".into());
        Ok(Secret::new(std::mem::take(&mut *bytes), meta))
    }

    async fn set(&self, reference: &Reference, value: &[u8]) -> Result<Metadata> {
        if reference.option("version").is_some() {
            return Err(Error::invalid_reference(
                "a write makes a new version: drop `version`",
            ));
        }
        self.write(reference, value, None).await
    }

    async fn delete(&self, reference: &Reference) -> Result<()> {
        let target = self.target(reference).await?;
        let session = self.session()?;
        let path = if target.mount.version == 2 {
            format!(
                "{}/metadata/{}",
                target.mount.path,
                encode_path(&target.path)
            )
        } else {
            format!("{}/{}", target.mount.path, encode_path(&target.path))
        };
        let (status, body) = session.request(Method::DELETE, &path, None).await?;
        if !(200..300).contains(&status) {
            return Err(error::from_status(status, &body, "the delete"));
        }
        Ok(())
    }
}
