//! The session with Vault: the vaultrs client (address, TLS, namespace), the login, the token
//! kept alive in the background, mount detection, and the raw KV requests.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, Weak};
use std::time::Duration;

use creds_core::{Environment, Error, ErrorKind, Policy, Resolver, Result};
use serde_json::Value;
use tokio::sync::{Mutex as AsyncMutex, RwLock};
use vaultrs::client::{Client as _, VaultClient, VaultClientSettingsBuilder};
use zeroize::Zeroizing;

/// The largest answer read from Vault: 64 MiB, twice Vault's default `max_request_size`, so no
/// value that could be written is cut off.
const MAX_ANSWER: usize = 64 << 20;

use crate::config::{Auth, VaultConfig};
use crate::error;

/// A logged-in client and what is known of its token.
pub(crate) struct Login {
    client: VaultClient,
    token: Zeroizing<String>,
    /// The token's TTL when obtained or last renewed; zero for a token that never expires.
    ttl: Duration,
    renewable: bool,
    generation: u64,
}

/// Counters of the token lifecycle, for tests and diagnostics.
#[derive(Debug, Default)]
pub(crate) struct Lifecycle {
    pub(crate) logins: AtomicU64,
    pub(crate) renewals: AtomicU64,
}

pub(crate) struct Session {
    config: VaultConfig,
    address: String,
    namespace: Option<String>,
    policy: Policy,
    env: Arc<dyn Environment>,
    resolver: Resolver,
    login: RwLock<Option<Arc<Login>>>,
    login_lock: AsyncMutex<()>,
    mounts: Mutex<HashMap<String, (String, u8)>>,
    pub(crate) lifecycle: Lifecycle,
    generation: AtomicU64,
    me: Weak<Session>,
}

/// The mount and KV version of a path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Mount {
    pub(crate) path: String,
    pub(crate) version: u8,
}

impl Session {
    pub(crate) fn new(
        config: VaultConfig,
        policy: Policy,
        env: Arc<dyn Environment>,
        resolver: Resolver,
    ) -> Result<Arc<Session>> {
        config
            .auth
            .check_references()
            .map_err(|m| Error::config(m).with_source_name("vault"))?;
        let address = config
            .address
            .clone()
            .or_else(|| env.var("VAULT_ADDR"))
            .unwrap_or_else(|| "http://127.0.0.1:8200".into());
        let address = address.trim_end_matches('/').to_string();
        let namespace = config
            .namespace
            .clone()
            .or_else(|| env.var("VAULT_NAMESPACE"));
        let skip_verify = config.skip_verify.unwrap_or_else(|| {
            env.var("VAULT_SKIP_VERIFY")
                .is_some_and(|v| !v.is_empty() && v != "0" && v != "false")
        });
        if skip_verify {
            if policy == Policy::Strict {
                return Err(Error::new(
                    ErrorKind::Policy,
                    "policy strict refuses VAULT_SKIP_VERIFY: TLS verification cannot be disabled",
                )
                .with_source_name("vault"));
            }
            if address
                .get(..8)
                .is_some_and(|s| s.eq_ignore_ascii_case("https://"))
            {
                tracing::warn!(
                    target: "creds::policy",
                    address = %address,
                    "TLS verification of Vault is disabled (skip-verify / VAULT_SKIP_VERIFY): anyone on the path can read the token and values"
                );
            }
        }
        creds_core::check_transport(policy, &address, "Vault")
            .map_err(|e| e.with_source_name("vault"))?;
        let mut config = config;
        config.skip_verify = Some(skip_verify);
        Ok(Arc::new_cyclic(|me| Session {
            config,
            address,
            namespace,
            policy,
            env,
            resolver,
            login: RwLock::new(None),
            login_lock: AsyncMutex::new(()),
            mounts: Mutex::new(HashMap::new()),
            lifecycle: Lifecycle::default(),
            generation: AtomicU64::new(0),
            me: me.clone(),
        }))
    }

    pub(crate) fn address(&self) -> &str {
        &self.address
    }

    pub(crate) fn policy(&self) -> Policy {
        self.policy
    }

    fn client_for(&self, token: &str) -> Result<VaultClient> {
        let mut settings = VaultClientSettingsBuilder::default();
        settings.address(&self.address).token(token);
        let mut ca_certs = Vec::new();
        let ca_cert = self
            .config
            .ca_cert
            .clone()
            .or_else(|| self.env.var_os("VAULT_CACERT").map(PathBuf::from));
        if let Some(p) = ca_cert {
            ca_certs.push(p.display().to_string());
        }
        let ca_path = self
            .config
            .ca_path
            .clone()
            .or_else(|| self.env.var_os("VAULT_CAPATH").map(PathBuf::from));
        if let Some(dir) = ca_path {
            let entries = std::fs::read_dir(&dir).map_err(|e| {
                Error::config(format!("cannot read VAULT_CAPATH `{}`", dir.display()))
                    .with_source(e)
            })?;
            // Every file (the vault CLI's rule; subdirectories are skipped), in a stable order.
            let mut files: Vec<PathBuf> = entries
                .flatten()
                .map(|e| e.path())
                .filter(|p| p.is_file())
                .collect();
            files.sort();
            ca_certs.extend(files.iter().map(|p| p.display().to_string()));
        }
        settings.ca_certs(ca_certs);
        let cert = self
            .config
            .client_cert
            .clone()
            .or_else(|| self.env.var_os("VAULT_CLIENT_CERT").map(PathBuf::from));
        let key = self
            .config
            .client_key
            .clone()
            .or_else(|| self.env.var_os("VAULT_CLIENT_KEY").map(PathBuf::from));
        let identity =
            match (cert, key) {
                (Some(cert), Some(key)) => {
                    creds_local::check_credential_file(&key, "the Vault client key", self.policy)?;
                    let mut pem = std::fs::read(&cert).map_err(|e| {
                        Error::config(format!(
                            "cannot read the client certificate `{}`",
                            cert.display()
                        ))
                        .with_source(e)
                    })?;
                    let key_pem = Zeroizing::new(std::fs::read(&key).map_err(|e| {
                        Error::config(format!("cannot read the client key `{}`", key.display()))
                            .with_source(e)
                    })?);
                    pem.extend_from_slice(&key_pem);
                    let pem = Zeroizing::new(pem);
                    Some(reqwest::Identity::from_pem(&pem).map_err(|_| {
                        Error::config("the client certificate or key is not valid PEM")
                    })?)
                }
                _ => None,
            };
        settings.identity(identity);
        settings.verify(!self.config.skip_verify.unwrap_or(false));
        settings.timeout(Some(self.config.timeout.unwrap_or(Duration::from_secs(30))));
        if let Some(ns) = &self.namespace {
            settings.namespace(Some(ns.clone()));
        }
        let settings = settings
            .build()
            .map_err(|e| Error::config(format!("invalid Vault settings: {e}")))?;
        VaultClient::new(settings).map_err(|e| {
            Error::config("cannot build the Vault client (address or TLS settings)")
                .with_source_text(e.to_string())
        })
    }

    async fn resolve_text(&self, reference: &str, what: &str) -> Result<Zeroizing<String>> {
        let secret = self.resolver.get(reference).await.map_err(|e| {
            Error::new(
                if e.kind() == ErrorKind::NotFound {
                    ErrorKind::Unconfigured
                } else {
                    e.kind()
                },
                format!(
                    "cannot read the Vault {what} from {reference}: {}",
                    e.message()
                ),
            )
        })?;
        let text = secret.expose_str()?.trim().to_string();
        Ok(Zeroizing::new(text))
    }

    fn default_token(&self) -> Result<Zeroizing<String>> {
        if let Some(t) = self.env.var("VAULT_TOKEN").filter(|t| !t.is_empty()) {
            return Ok(Zeroizing::new(t));
        }
        let token_file = self.env.home_dir().map(|h| h.join(".vault-token"));
        if let Some(path) = &token_file {
            creds_local::check_credential_file(path, "the Vault token file", self.policy)?;
        }
        if let Some(path) = &token_file
            && let Ok(t) = std::fs::read_to_string(path)
        {
            let t = Zeroizing::new(t);
            if !t.trim().is_empty() {
                return Ok(Zeroizing::new(t.trim().to_string()));
            }
        }
        Err(Error::unconfigured(
            "no Vault token: set VAULT_TOKEN, log in with the vault CLI (~/.vault-token) or configure an auth method",
        ))
    }

    /// Logs in with the configured method and returns the new login.
    async fn do_login(&self) -> Result<Arc<Login>> {
        let method = self.config.auth.method();
        let (client, token, ttl, renewable) = match &self.config.auth {
            Auth::Token | Auth::TokenFrom(_) => {
                let token = match &self.config.auth {
                    Auth::TokenFrom(r) => self.resolve_text(r, "token").await?,
                    _ => self.default_token()?,
                };
                let client = self.client_for(&token)?;
                let info = vaultrs::token::lookup_self(&client)
                    .await
                    .map_err(|e| error::from_client(e, "token lookup"))?;
                (client, token, info.ttl, info.renewable.unwrap_or(false))
            }
            auth => {
                let anonymous = self.client_for("")?;
                let info = match auth {
                    Auth::AppRole {
                        mount,
                        role_id,
                        secret_id,
                        wrapped,
                    } => {
                        let role_id = self.resolve_text(role_id, "AppRole role id").await?;
                        let mut secret_id =
                            self.resolve_text(secret_id, "AppRole secret id").await?;
                        if *wrapped {
                            #[derive(serde::Deserialize)]
                            struct Unwrapped {
                                secret_id: String,
                            }
                            // The wrapping token itself authorises the unwrap.
                            let unwrapper = self.client_for(&secret_id)?;
                            let u: Unwrapped = vaultrs::sys::wrapping::unwrap(&unwrapper, None)
                                .await
                                .map_err(|e| error::from_client(e, "unwrapping the secret id"))?;
                            secret_id = Zeroizing::new(u.secret_id);
                        }
                        vaultrs::auth::approle::login(&anonymous, mount, &role_id, &secret_id).await
                    }
                    Auth::Kubernetes {
                        mount,
                        role,
                        token_path,
                    } => {
                        let jwt =
                            Zeroizing::new(std::fs::read_to_string(token_path).map_err(|e| {
                                Error::unconfigured(format!(
                                    "cannot read the Kubernetes service-account token `{}`",
                                    token_path.display()
                                ))
                                .with_source(e)
                            })?);
                        vaultrs::auth::kubernetes::login(&anonymous, mount, role, jwt.trim()).await
                    }
                    Auth::Jwt { mount, role, jwt } => {
                        let jwt = self.resolve_text(jwt, "JWT").await?;
                        vaultrs::auth::oidc::login(&anonymous, mount, &jwt, Some(role.clone()))
                            .await
                    }
                    Auth::Userpass {
                        mount,
                        username,
                        password,
                    } => {
                        let password = self.resolve_text(password, "password").await?;
                        vaultrs::auth::userpass::login(&anonymous, mount, username, &password).await
                    }
                    Auth::Token | Auth::TokenFrom(_) => unreachable!("handled above"),
                }
                .map_err(|e| error::from_client(e, &format!("{method} login")))?;
                let token = Zeroizing::new(info.client_token);
                let mut client = anonymous;
                client.set_token(&token);
                (client, token, info.lease_duration, info.renewable)
            }
        };
        self.lifecycle.logins.fetch_add(1, Ordering::SeqCst);
        let generation = self.generation.fetch_add(1, Ordering::SeqCst) + 1;
        tracing::info!(target: "creds::vault", method, ttl_s = ttl, renewable, "logged in to Vault");
        let login = Arc::new(Login {
            client,
            token,
            ttl: Duration::from_secs(ttl),
            renewable,
            generation,
        });
        self.spawn_keepalive(login.generation, login.ttl);
        Ok(login)
    }

    /// The current login, logging in first when there is none.
    pub(crate) async fn current(&self) -> Result<Arc<Login>> {
        if let Some(l) = self.login.read().await.as_ref() {
            return Ok(l.clone());
        }
        self.relogin(None).await
    }

    /// Logs in again unless another caller already replaced `stale`.
    async fn relogin(&self, stale: Option<u64>) -> Result<Arc<Login>> {
        let _guard = self.login_lock.lock().await;
        if let Some(l) = self.login.read().await.as_ref()
            && stale != Some(l.generation)
        {
            return Ok(l.clone());
        }
        let login = self.do_login().await?;
        *self.login.write().await = Some(login.clone());
        Ok(login)
    }

    /// Renews the token at two thirds of its TTL; logs in again when renewal is refused or the
    /// max TTL is near (a renewal that gives back less than a third of the TTL asked for).
    fn spawn_keepalive(&self, generation: u64, ttl: Duration) {
        if ttl.is_zero() {
            return;
        }
        let Ok(handle) = tokio::runtime::Handle::try_current() else {
            return;
        };
        let me = self.me.clone();
        handle.spawn(async move {
            let mut ttl = ttl;
            let full = ttl;
            loop {
                tokio::time::sleep(ttl.mul_f64(2.0 / 3.0)).await;
                let Some(session) = me.upgrade() else { return };
                let Some(login) = session.login.read().await.clone() else { return };
                if login.generation != generation {
                    return;
                }
                let renewed = if login.renewable {
                    vaultrs::token::renew_self(&login.client, None).await.ok()
                } else {
                    None
                };
                match renewed {
                    Some(info) if Duration::from_secs(info.lease_duration) * 3 >= full => {
                        session.lifecycle.renewals.fetch_add(1, Ordering::SeqCst);
                        tracing::debug!(target: "creds::vault", ttl_s = info.lease_duration, "Vault token renewed");
                        ttl = Duration::from_secs(info.lease_duration);
                    }
                    other => {
                        if other.is_some() {
                            session.lifecycle.renewals.fetch_add(1, Ordering::SeqCst);
                        }
                        if matches!(session.config.auth, Auth::Token | Auth::TokenFrom(_)) {
                            if let Some(info) = other {
                                ttl = Duration::from_secs(info.lease_duration.max(1));
                                continue;
                            }
                            tracing::warn!(target: "creds::vault", "the Vault token could not be renewed and will expire");
                            return;
                        }
                        tracing::info!(target: "creds::vault", "Vault token at its max TTL or not renewable: logging in again");
                        if let Err(e) = session.relogin(Some(generation)).await {
                            tracing::warn!(target: "creds::vault", error = %e, "Vault login failed");
                            // Try again soon; readers also log in on demand.
                            *session.login.write().await = None;
                        }
                        return;
                    }
                }
            }
        });
    }

    /// One request to `/v1/{path}` with the current token. A 403 on a token that no longer
    /// works (expired or revoked) leads to one fresh login and one retry.
    pub(crate) async fn request(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<&Value>,
    ) -> Result<(u16, Value)> {
        let login = self.current().await?;
        let (status, value) = self.send(&login, method.clone(), path, body).await?;
        if status != 403 {
            return Ok((status, value));
        }
        // Is the token itself still good?
        let (check, _) = self
            .send(&login, reqwest::Method::GET, "auth/token/lookup-self", None)
            .await?;
        if check != 403 {
            return Ok((status, value));
        }
        if matches!(self.config.auth, Auth::Token | Auth::TokenFrom(_)) {
            return Err(Error::new(
                ErrorKind::Unauthenticated,
                "the Vault token is missing, expired or revoked",
            ));
        }
        let login = self.relogin(Some(login.generation)).await?;
        let (status, value) = self.send(&login, method, path, body).await?;
        if status == 403 {
            let (check, _) = self
                .send(&login, reqwest::Method::GET, "auth/token/lookup-self", None)
                .await?;
            if check == 403 {
                return Err(Error::new(
                    ErrorKind::Unauthenticated,
                    "the Vault token from a fresh login is refused",
                ));
            }
        }
        Ok((status, value))
    }

    async fn send(
        &self,
        login: &Login,
        method: reqwest::Method,
        path: &str,
        body: Option<&Value>,
    ) -> Result<(u16, Value)> {
        let url = format!("{}/v1/{}", self.address, path);
        let mut req = login
            .client
            .http
            .http
            .request(method, &url)
            .header("X-Vault-Request", "true");
        if !login.token.is_empty() {
            req = req.header("X-Vault-Token", login.token.as_str());
        }
        if let Some(ns) = &self.namespace {
            req = req.header("X-Vault-Namespace", ns);
        }
        if let Some(body) = body {
            req = req
                .header("Content-Type", "application/json")
                .body(serde_json::to_vec(body).map_err(|_| Error::decode("cannot encode JSON"))?);
        }
        let mut resp = req.send().await.map_err(error::from_reqwest)?;
        let status = resp.status().as_u16();
        // Read at most MAX_ANSWER bytes: a broken or hostile server cannot exhaust memory.
        let too_big = || {
            Error::new(
                ErrorKind::Unavailable,
                format!(
                    "Vault answered HTTP {status} with a body over {} MiB",
                    MAX_ANSWER >> 20
                ),
            )
        };
        if resp.content_length().is_some_and(|n| n > MAX_ANSWER as u64) {
            return Err(too_big());
        }
        // Sized up front when the length is known, so the buffer is not regrown (a regrown
        // buffer would be freed without being zeroized).
        let mut bytes = Zeroizing::new(Vec::with_capacity(
            resp.content_length().unwrap_or(0) as usize
        ));
        while let Some(chunk) = resp.chunk().await.map_err(error::from_reqwest)? {
            if bytes.len() + chunk.len() > MAX_ANSWER {
                return Err(too_big());
            }
            bytes.extend_from_slice(&chunk);
        }
        let value = if bytes.is_empty() {
            Value::Null
        } else {
            serde_json::from_slice(&bytes).map_err(|_| {
                Error::new(
                    ErrorKind::Unavailable,
                    format!("Vault answered HTTP {status} with a body that is not JSON"),
                )
            })?
        };
        Ok((status, value))
    }

    /// The mount of a path and its KV version: `mount=`/`kv=` options when given, else the
    /// vault CLI's detection (`sys/internal/ui/mounts/PATH`), cached per mount.
    pub(crate) async fn mount_of(
        &self,
        locator: &str,
        mount: Option<&str>,
        kv: Option<u8>,
    ) -> Result<Mount> {
        if let (Some(m), Some(v)) = (mount, kv) {
            return Ok(Mount {
                path: m.trim_matches('/').to_string(),
                version: v,
            });
        }
        let probe = match mount {
            Some(m) => m.trim_matches('/').to_string(),
            None => locator.to_string(),
        };
        if let Some((m, v)) = self
            .mounts
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .iter()
            .find(|(prefix, _)| probe == **prefix || probe.starts_with(&format!("{prefix}/")))
            .map(|(_, mv)| mv.clone())
        {
            return Ok(Mount {
                path: m,
                version: kv.unwrap_or(v),
            });
        }
        let (status, body) = self
            .request(
                reqwest::Method::GET,
                &format!("sys/internal/ui/mounts/{}", encode_path(&probe)),
                None,
            )
            .await?;
        let detected = if status == 200 {
            let path = body["data"]["path"]
                .as_str()
                .unwrap_or_default()
                .trim_matches('/')
                .to_string();
            let version = match body["data"]["options"]["version"].as_str() {
                Some("2") => 2,
                _ => 1,
            };
            if body["data"]["type"]
                .as_str()
                .is_some_and(|t| t != "kv" && t != "generic")
            {
                return Err(Error::invalid_reference(format!(
                    "`{path}` is a {} mount, not a KV secrets engine",
                    body["data"]["type"].as_str().unwrap_or("?")
                )));
            }
            (!path.is_empty()).then_some((path, version))
        } else {
            None
        };
        let (path, version) = match detected {
            Some(found) => found,
            None => {
                let status_error = error::from_status(status, &body, "mount detection");
                if matches!(status, 403 | 404) || (200..300).contains(&status) {
                    // As the vault CLI does when it cannot ask: the first segment, KV v1.
                    let first = probe.split('/').next().unwrap_or_default().to_string();
                    (
                        mount
                            .map(|m| m.trim_matches('/').to_string())
                            .unwrap_or(first),
                        1,
                    )
                } else {
                    return Err(status_error);
                }
            }
        };
        self.mounts
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(path.clone(), (path.clone(), version));
        Ok(Mount {
            path,
            version: kv.unwrap_or(version),
        })
    }
}

/// Percent-encodes each segment of a path (keeping `/`).
pub(crate) fn encode_path(path: &str) -> String {
    const SEGMENT: &percent_encoding::AsciiSet = &percent_encoding::NON_ALPHANUMERIC
        .remove(b'-')
        .remove(b'_')
        .remove(b'.')
        .remove(b'~')
        .remove(b'/');
    percent_encoding::utf8_percent_encode(path, SEGMENT).to_string()
}
