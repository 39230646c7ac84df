//! Settings of the Vault store (`[backends.vault]` of `creds.toml`).

use std::path::PathBuf;
use std::time::Duration;

/// How the store logs in. Credentials are references (`env://…`, `file://…`), resolved when the
/// store logs in, never values in configuration.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum Auth {
    /// A token: `VAULT_TOKEN`, else `~/.vault-token` (the vault CLI's token helper file).
    #[default]
    Token,
    /// A token read from a reference.
    TokenFrom(String),
    /// AppRole: a role id and a secret id, both references. With `wrapped`, the secret id is a
    /// response-wrapping token that is unwrapped first (`sys/wrapping/unwrap`).
    AppRole {
        /// The auth mount (default `approle`).
        mount: String,
        /// A reference to the role id, e.g. `env://VAULT_ROLE_ID`.
        role_id: String,
        /// A reference to the secret id, e.g. `file:///run/secrets/vault_secret_id`.
        secret_id: String,
        /// Whether the secret id is a wrapping token.
        wrapped: bool,
    },
    /// Kubernetes: a role and the pod's service-account token.
    Kubernetes {
        /// The auth mount (default `kubernetes`).
        mount: String,
        /// The Vault role.
        role: String,
        /// The service-account token file (default
        /// `/var/run/secrets/kubernetes.io/serviceaccount/token`).
        token_path: PathBuf,
    },
    /// JWT/OIDC: a role and a JWT from a reference (a file written by the platform, usually).
    Jwt {
        /// The auth mount (default `jwt`).
        mount: String,
        /// The Vault role.
        role: String,
        /// A reference to the JWT, e.g. `file:///var/run/secrets/tokens/vault`.
        jwt: String,
    },
    /// Username and password (the password a reference).
    Userpass {
        /// The auth mount (default `userpass`).
        mount: String,
        /// The user.
        username: String,
        /// A reference to the password.
        password: String,
    },
}

/// The default service-account token file of a Kubernetes pod.
pub const KUBERNETES_TOKEN_PATH: &str = "/var/run/secrets/kubernetes.io/serviceaccount/token";

impl Auth {
    /// AppRole on the default mount.
    pub fn approle(role_id: impl Into<String>, secret_id: impl Into<String>) -> Auth {
        Auth::AppRole {
            mount: "approle".into(),
            role_id: role_id.into(),
            secret_id: secret_id.into(),
            wrapped: false,
        }
    }

    /// Kubernetes on the default mount with the pod's token file.
    pub fn kubernetes(role: impl Into<String>) -> Auth {
        Auth::Kubernetes {
            mount: "kubernetes".into(),
            role: role.into(),
            token_path: PathBuf::from(KUBERNETES_TOKEN_PATH),
        }
    }

    /// JWT on the default mount.
    pub fn jwt(role: impl Into<String>, jwt: impl Into<String>) -> Auth {
        Auth::Jwt {
            mount: "jwt".into(),
            role: role.into(),
            jwt: jwt.into(),
        }
    }

    /// Userpass on the default mount.
    pub fn userpass(username: impl Into<String>, password: impl Into<String>) -> Auth {
        Auth::Userpass {
            mount: "userpass".into(),
            username: username.into(),
            password: password.into(),
        }
    }

    /// A short name for logs and errors.
    pub fn method(&self) -> &'static str {
        match self {
            Auth::Token | Auth::TokenFrom(_) => "token",
            Auth::AppRole { .. } => "approle",
            Auth::Kubernetes { .. } => "kubernetes",
            Auth::Jwt { .. } => "jwt",
            Auth::Userpass { .. } => "userpass",
        }
    }
}

/// Where the Vault server is and how to talk to it. Unset fields come from the environment as
/// the vault CLI reads it: `VAULT_ADDR`, `VAULT_NAMESPACE`, `VAULT_CACERT`, `VAULT_CAPATH`,
/// `VAULT_CLIENT_CERT`/`VAULT_CLIENT_KEY`, `VAULT_SKIP_VERIFY`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct VaultConfig {
    /// The server, e.g. `https://vault.example.com:8200`.
    pub address: Option<String>,
    /// The Vault Enterprise / OpenBao namespace.
    pub namespace: Option<String>,
    /// A PEM file of CA certificates to trust.
    pub ca_cert: Option<PathBuf>,
    /// A directory of PEM CA certificates to trust.
    pub ca_path: Option<PathBuf>,
    /// A client certificate (PEM) for mutual TLS.
    pub client_cert: Option<PathBuf>,
    /// The client certificate's key (PEM).
    pub client_key: Option<PathBuf>,
    /// Skip TLS verification (refused under policy strict).
    pub skip_verify: Option<bool>,
    /// The limit of one HTTP request (default 30 s).
    pub timeout: Option<Duration>,
    /// How to log in.
    pub auth: Auth,
}
