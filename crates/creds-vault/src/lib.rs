//! HashiCorp Vault and OpenBao for [creds](https://docs.rs/creds): KV v1 and v2 by reference,
//! with the logins production services use and a token kept alive in-process.
//!
//! | reference | reads |
//! |---|---|
//! | `vault://secret/my-app#api_key` | a field of the latest version (KV v2 found by detection) |
//! | `vault://secret/data/my-app` | the same, in the HTTP API's form |
//! | `vault://secret/my-app?version=3` | one KV v2 version |
//! | `vault://team/kv/app?mount=team/kv` | a mount of several segments (detection finds it too) |
//! | `vault://legacy/app?kv=1` | KV v1, without detection |
//!
//! **Logins** ([`Auth`]): a token (`VAULT_TOKEN`, else `~/.vault-token`); AppRole, with the role
//! id and secret id given as references and response-wrapped secret ids unwrapped; Kubernetes
//! (role plus the pod's service-account token); JWT/OIDC (role plus a JWT from a file); userpass.
//! After a login the token's TTL is learnt and it is renewed in the background at two thirds of
//! its TTL; when renewal is refused or the max TTL is near, the store logs in again. A read whose
//! token was revoked logs in again once.
//!
//! **Connection**: `VAULT_ADDR`, `VAULT_CACERT`, `VAULT_CAPATH`, `VAULT_CLIENT_CERT` and
//! `VAULT_CLIENT_KEY`, `VAULT_NAMESPACE`, `VAULT_SKIP_VERIFY` (refused under
//! [`Policy::Strict`](creds_core::Policy), as is plaintext http to a host that is not loopback),
//! and a request timeout.
//!
//! **Errors**: 404 not found (saying when a version was deleted or destroyed); 403 permission
//! denied, or unauthenticated when the token itself is refused; sealed, standby and 5xx
//! unavailable (temporary); 429 rate limited; 413 (a value over the server's request size
//! limit) unsupported; an answer that is not Vault's JSON unavailable (temporary, never quoting
//! the body).
//!
//! # A production service with AppRole
//!
//! ```no_run
//! # async fn demo() -> creds_core::Result<()> {
//! use creds_core::{CacheConfig, Resolver};
//! use creds_vault::{Auth, VaultStoreBuilder};
//!
//! let vault = VaultStoreBuilder::from_env()
//!     .with_address("https://vault.example.com:8200")
//!     .with_ca_cert("/etc/ssl/vault-ca.pem")
//!     .with_auth(Auth::AppRole {
//!         mount: "approle".into(),
//!         role_id: "env://VAULT_ROLE_ID".into(),
//!         // Delivered by the orchestrator as a response-wrapping token.
//!         secret_id: "file:///run/secrets/vault_secret_id".into(),
//!         wrapped: true,
//!     })
//!     .build()?;
//! let resolver = Resolver::builder()
//!     .with_store(vault)
//!     .with_cache(CacheConfig::default())
//!     .build();
//! let password = resolver.get("vault://secret/my-app#db_password").await?;
//! # Ok(()) }
//! ```
//!
//! # On Kubernetes
//!
//! ```no_run
//! # fn demo() -> creds_core::Result<()> {
//! use creds_vault::{Auth, VaultStoreBuilder};
//! // Reads /var/run/secrets/kubernetes.io/serviceaccount/token and logs in to auth/kubernetes.
//! let vault = VaultStoreBuilder::from_env().with_auth(Auth::kubernetes("my-app")).build()?;
//! # Ok(()) }
//! ```
//!
//! The Kubernetes login cannot run here without a cluster; its request is checked against the
//! recorded shape (`POST /v1/auth/kubernetes/login` with `role` and `jwt`) in the tests.
#![cfg_attr(docsrs, feature(doc_cfg))]

mod backend;
mod client;
mod config;
mod error;

use creds_core::ResolverBuilder;

pub use backend::{VaultStore, VaultStoreBuilder};
pub use config::{Auth, KUBERNETES_TOKEN_PATH, VaultConfig};

/// Adds the Vault store (configured from the environment, with the builder's
/// [`policy`](ResolverBuilder::policy)) to a resolver builder.
pub fn register(builder: ResolverBuilder, config: VaultConfig) -> ResolverBuilder {
    let policy = builder.policy();
    builder.with_store(
        VaultStoreBuilder::from_env()
            .with_config(config)
            .with_policy(policy)
            .build_or_fail_later(),
    )
}
