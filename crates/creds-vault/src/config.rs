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

    /// Checks that every credential of the login is a reference (`env://…`, `file://…`): one
    /// given inline, the credential itself, is refused without being shown.
    pub fn check_references(&self) -> Result<(), String> {
        let fields: Vec<(&str, &str)> = match self {
            Auth::Token | Auth::Kubernetes { .. } => Vec::new(),
            Auth::TokenFrom(r) => vec![("token", r)],
            Auth::AppRole {
                role_id, secret_id, ..
            } => vec![("role-id", role_id), ("secret-id", secret_id)],
            Auth::Jwt { jwt, .. } => vec![("jwt", jwt)],
            Auth::Userpass { password, .. } => vec![("password", password)],
        };
        for (key, text) in fields {
            if !text.contains("://") {
                return Err(format!(
                    "Vault auth `{}`: `{key}` must be a reference such as env://… or file://…, \
                     not the credential itself (which is not shown)",
                    self.method()
                ));
            }
            if let Err(e) = creds_core::Reference::parse(text) {
                return Err(format!(
                    "Vault auth `{}`: `{key}`: {}",
                    self.method(),
                    e.message()
                ));
            }
        }
        Ok(())
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

/// The `[backends.vault]` table of `creds.toml` (spec §4).
#[derive(Debug, serde::Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
struct VaultTable {
    address: Option<String>,
    namespace: Option<String>,
    ca_cert: Option<PathBuf>,
    ca_path: Option<PathBuf>,
    client_cert: Option<PathBuf>,
    client_key: Option<PathBuf>,
    skip_verify: Option<bool>,
    timeout: Option<String>,
    auth: Option<AuthTable>,
}

#[derive(Debug, serde::Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
struct AuthTable {
    method: String,
    mount: Option<String>,
    token: Option<String>,
    role_id: Option<String>,
    secret_id: Option<String>,
    #[serde(default)]
    wrapped: bool,
    role: Option<String>,
    token_path: Option<PathBuf>,
    jwt: Option<String>,
    username: Option<String>,
    password: Option<String>,
}

fn required(value: Option<String>, method: &str, key: &str) -> Result<String, String> {
    value.ok_or_else(|| format!("auth method `{method}` needs `{key}`"))
}

impl TryFrom<AuthTable> for Auth {
    type Error = String;

    fn try_from(t: AuthTable) -> Result<Auth, String> {
        let m = t.method.as_str();
        let mount = |default: &str| t.mount.clone().unwrap_or_else(|| default.to_string());
        Ok(match m {
            "token" => match t.token {
                Some(r) => Auth::TokenFrom(r),
                None => Auth::Token,
            },
            "approle" => Auth::AppRole {
                mount: mount("approle"),
                role_id: required(t.role_id, m, "role-id")?,
                secret_id: required(t.secret_id, m, "secret-id")?,
                wrapped: t.wrapped,
            },
            "kubernetes" => Auth::Kubernetes {
                mount: mount("kubernetes"),
                role: required(t.role, m, "role")?,
                token_path: t
                    .token_path
                    .unwrap_or_else(|| PathBuf::from(KUBERNETES_TOKEN_PATH)),
            },
            "jwt" | "oidc" => Auth::Jwt {
                mount: mount("jwt"),
                role: required(t.role, m, "role")?,
                jwt: required(t.jwt, m, "jwt")?,
            },
            "userpass" => Auth::Userpass {
                mount: mount("userpass"),
                username: required(t.username, m, "username")?,
                password: required(t.password, m, "password")?,
            },
            other => {
                return Err(format!(
                    "unknown auth method `{other}` (known: token, approle, kubernetes, jwt, userpass)"
                ));
            }
        })
        .and_then(|auth: Auth| auth.check_references().map(|()| auth))
    }
}

impl<'de> serde::Deserialize<'de> for VaultConfig {
    /// Reads `[backends.vault]`: `address`, `namespace`, `ca-cert`, `ca-path`, `client-cert`,
    /// `client-key`, `skip-verify`, `timeout` and `auth = { method = "approle", role-id = "env://…",
    /// secret-id = "file://…" }` (methods `token`, `approle`, `kubernetes`, `jwt`, `userpass`).
    /// Credentials are references, never values. Unknown keys are errors.
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        use serde::de::Error as _;
        let t = VaultTable::deserialize(d)?;
        let timeout = t
            .timeout
            .map(|v| {
                creds_core::cache::parse_duration(&v).map_err(|e| D::Error::custom(e.message()))
            })
            .transpose()?;
        let auth = match t.auth {
            Some(a) => Auth::try_from(a).map_err(D::Error::custom)?,
            None => Auth::Token,
        };
        Ok(VaultConfig {
            address: t.address,
            namespace: t.namespace,
            ca_cert: t.ca_cert,
            ca_path: t.ca_path,
            client_cert: t.client_cert,
            client_key: t.client_key,
            skip_verify: t.skip_verify,
            timeout,
            auth,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(serde::Deserialize)]
    struct File {
        backends: Backends,
    }
    #[derive(serde::Deserialize)]
    struct Backends {
        vault: VaultConfig,
    }

    #[test]
    fn reads_the_spec_example() {
        let f: File = toml::from_str(
            "[backends.vault]\naddress = \"https://vault.example.com:8200\"\nauth = { method = \"approle\", role-id = \"env://VAULT_ROLE_ID\", secret-id = \"file:///run/secrets/vault_secret_id\" }\n",
        )
        .unwrap();
        assert_eq!(
            f.backends.vault.address.as_deref(),
            Some("https://vault.example.com:8200")
        );
        assert_eq!(
            f.backends.vault.auth,
            Auth::approle("env://VAULT_ROLE_ID", "file:///run/secrets/vault_secret_id")
        );
        let f: File = toml::from_str("[backends.vault]\ntimeout = \"10s\"\nauth = { method = \"kubernetes\", role = \"app\" }\n").unwrap();
        assert_eq!(f.backends.vault.auth, Auth::kubernetes("app"));
        assert_eq!(f.backends.vault.timeout, Some(Duration::from_secs(10)));
        for bad in [
            "adress = \"x\"",
            "auth = { method = \"approle\", role-id = \"env://X\" }",
            "auth = { method = \"ldap\" }",
            "auth = { method = \"token\", sekret = \"x\" }",
            "timeout = \"soon\"",
        ] {
            assert!(
                toml::from_str::<File>(&format!("[backends.vault]\n{bad}\n")).is_err(),
                "{bad}"
            );
        }
    }
}
