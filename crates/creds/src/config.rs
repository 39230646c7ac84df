//! `creds.toml` (spec §4): profiles with chains and policies, declared secrets, cache and backend
//! settings, and bulk imports.
//!
//! ```toml
//! default-profile = "dev"
//!
//! [cache]
//! ttl = "5m"
//!
//! [profiles.dev]
//! chain = ["env://APP_{NAME}", "dotenv://APP_{NAME}", "keyring://my_application/{name}"]
//!
//! [profiles.prod]
//! chain = ["aws-sm://app/{name}", "vault://secret/app#{name}"]
//! policy = "strict"
//! import = ["aws-ssm:///app/prod/"]      # every parameter under the path, as variables
//!
//! [secrets]
//! api_key = {}
//! db_password = { ref = "vault://secret/my-app#db_password", env = "DATABASE_PASSWORD" }
//! stripe_key = { ref = "aws-sm://stripe#secret_key", optional = true }
//! ```
//!
//! Unknown keys are errors that give their line. Under `policy = "strict"` the file is checked
//! as it loads: `env`, `dotenv` and `file` sources, disabled TLS verification and plaintext http
//! to a remote host are refused, and the error lists every violation with its line.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::Deserialize;
use toml::Spanned;

use crate::{
    CacheConfig, Chain, Error, ErrorKind, Policy, Reference, Resolver, Result, Scheme, Secret,
    upper_snake,
};

/// The file's name looked for in the working directory.
pub const FILE_NAME: &str = "creds.toml";

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
struct File {
    default_profile: Option<String>,
    cache: Option<CacheConfig>,
    #[serde(default)]
    backends: Backends,
    #[serde(default)]
    profiles: BTreeMap<String, ProfileTable>,
    #[serde(default)]
    secrets: BTreeMap<String, SecretDecl>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct Backends {
    vault: Option<Spanned<toml::Table>>,
    aws: Option<AwsTable>,
    gcp: Option<GcpTable>,
    azure: Option<AzureTable>,
}

/// `[backends.aws]`.
#[derive(Debug, Default, Clone, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct AwsTable {
    /// The default region.
    pub region: Option<String>,
    /// A shared-config profile.
    pub profile: Option<String>,
    /// An endpoint for both AWS services.
    pub endpoint_url: Option<Spanned<String>>,
}

/// `[backends.gcp]`.
#[derive(Debug, Default, Clone, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct GcpTable {
    /// A regional or private endpoint.
    pub endpoint: Option<Spanned<String>>,
}

/// `[backends.azure]`.
#[derive(Debug, Default, Clone, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct AzureTable {
    /// The credential: `managed-identity`, else the SDK's default chain.
    pub credential: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
struct ProfileTable {
    #[serde(default)]
    chain: Vec<Spanned<String>>,
    policy: Option<Spanned<String>>,
    #[serde(default)]
    import: Vec<Spanned<String>>,
}

/// A declared secret of `[secrets]`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SecretDecl {
    /// A reference; without one the logical name goes through the profile's chain.
    #[serde(rename = "ref")]
    reference: Option<Spanned<String>>,
    /// The variable name in `creds run` and `creds export` (default: the name in upper snake
    /// case).
    pub env: Option<String>,
    /// Whether a failure to resolve it is tolerated.
    #[serde(default)]
    pub optional: bool,
}

impl SecretDecl {
    /// The declared reference, if any.
    pub fn reference(&self) -> Option<&str> {
        self.reference.as_ref().map(|s| s.get_ref().as_str())
    }
}

/// One profile.
#[derive(Debug, Clone)]
pub struct Profile {
    /// Its name.
    pub name: String,
    /// The chain's templates.
    pub chain: Vec<String>,
    /// The policy.
    pub policy: Policy,
    /// Bulk imports: references whose JSON object members (or, for `aws-ssm:///path/`, whose
    /// parameters) become variables.
    pub import: Vec<String>,
}

/// A loaded `creds.toml`.
#[derive(Debug)]
pub struct Config {
    path: Option<PathBuf>,
    text: String,
    file: File,
}

/// Whether `name` is a portable environment variable name, as shells take it:
/// `[A-Za-z_][A-Za-z0-9_]*`.
pub fn is_variable_name(name: &str) -> bool {
    let mut bytes = name.bytes();
    bytes
        .next()
        .is_some_and(|b| b.is_ascii_alphabetic() || b == b'_')
        && bytes.all(|b| b.is_ascii_alphanumeric() || b == b'_')
}

/// A deserializer's message without the strings it quotes: serde names the text it could not
/// use (`invalid type: string "sk-live-…", expected struct SecretDecl`), and a string where a
/// table or a reference belongs is the classic inline secret. Debug-escaped, as serde writes it.
fn without_quoted_strings(message: &str) -> String {
    const MARK: &str = "string \"";
    let mut out = String::with_capacity(message.len());
    let mut rest = message;
    while let Some(at) = rest.find(MARK) {
        out.push_str(&rest[..at]);
        out.push_str("string (not shown)");
        let mut chars = rest[at + MARK.len()..].char_indices();
        let mut end = rest.len() - at - MARK.len();
        while let Some((i, c)) = chars.next() {
            match c {
                '\\' => {
                    chars.next();
                }
                '"' => {
                    end = i + 1;
                    break;
                }
                _ => {}
            }
        }
        rest = &rest[at + MARK.len() + end..];
    }
    out.push_str(rest);
    out
}

/// The line (from 1) of a byte offset.
fn line_of(text: &str, offset: usize) -> usize {
    text[..offset.min(text.len())].matches('\n').count() + 1
}

impl Config {
    /// Finds the file as the `creds` command does: `explicit`, else `$CREDS_CONFIG`, else
    /// `./creds.toml` when it exists. `Ok(None)` when there is none.
    pub fn locate(explicit: Option<&Path>) -> Result<Option<PathBuf>> {
        if let Some(p) = explicit {
            return Ok(Some(p.to_path_buf()));
        }
        if let Some(p) = std::env::var_os("CREDS_CONFIG").filter(|p| !p.is_empty()) {
            return Ok(Some(PathBuf::from(p)));
        }
        let here = PathBuf::from(FILE_NAME);
        Ok(here.exists().then_some(here))
    }

    /// Reads and parses a file.
    pub fn load(path: &Path) -> Result<Config> {
        let text = std::fs::read_to_string(path).map_err(|e| {
            Error::config(format!("cannot read `{}`", path.display())).with_source(e)
        })?;
        let mut c = Config::parse(&text)
            .map_err(|e| Error::config(format!("{}: {}", path.display(), e.message())))?;
        c.path = Some(path.to_path_buf());
        Ok(c)
    }

    /// Parses the text of a file.
    pub fn parse(text: &str) -> Result<Config> {
        let file: File = toml::from_str(text).map_err(|e| {
            let line = e.span().map(|s| line_of(text, s.start));
            let msg = without_quoted_strings(e.message().trim());
            match line {
                Some(l) => Error::config(format!("line {l}: {msg}")),
                None => Error::config(msg),
            }
        })?;
        let config = Config {
            path: None,
            text: text.to_string(),
            file,
        };
        config.validate()?;
        Ok(config)
    }

    /// The file's path, when loaded from one.
    pub fn path(&self) -> Option<&Path> {
        self.path.as_deref()
    }

    fn line(&self, span: std::ops::Range<usize>) -> usize {
        line_of(&self.text, span.start)
    }

    fn validate(&self) -> Result<()> {
        let mut problems = Vec::new();
        for (name, p) in &self.file.profiles {
            let templates = p
                .chain
                .iter()
                .map(|t| (t, crate::Template::new(t.get_ref().as_str()).map(|_| ())));
            let imports = p
                .import
                .iter()
                .map(|t| (t, Reference::parse(t.get_ref()).map(|_| ())));
            for (t, check) in templates.chain(imports) {
                if let Err(e) = check {
                    problems.push(format!(
                        "line {}: profile `{name}`: {}",
                        self.line(t.span()),
                        e.message()
                    ));
                }
            }
            if let Some(policy) = &p.policy
                && !matches!(policy.get_ref().as_str(), "strict" | "permissive")
            {
                problems.push(format!(
                    "line {}: profile `{name}`: unknown policy `{}` (known: strict, permissive)",
                    self.line(policy.span()),
                    policy.get_ref()
                ));
            }
        }
        for (name, s) in &self.file.secrets {
            // The name goes into a child's environment and, unquoted, into `export --format
            // shell` output that is eval'd: a name, never shell text.
            if let Some(env) = &s.env
                && !is_variable_name(env)
            {
                problems.push(format!(
                    "secret `{name}`: env {env:?} is not a variable name (ASCII letters, digits \
                     and `_`, not starting with a digit)"
                ));
            }
            if let Some(r) = &s.reference
                && let Err(e) = Reference::parse(r.get_ref())
            {
                problems.push(format!(
                    "line {}: secret `{name}`: {}",
                    self.line(r.span()),
                    e.message()
                ));
            }
        }
        if let Some(d) = &self.file.default_profile
            && !self.file.profiles.contains_key(d)
        {
            problems.push(format!("default-profile `{d}` is not a profile"));
        }
        #[cfg(feature = "vault")]
        if let Err(e) = self.vault_config() {
            problems.push(e.message().to_string());
        }
        if problems.is_empty() {
            Ok(())
        } else {
            Err(Error::config(problems.join("\n")))
        }
    }

    /// The profile to use: `explicit`, else `$CREDS_PROFILE`, else `default-profile`, else the
    /// only profile. `None` when the file has no profiles.
    pub fn profile(&self, explicit: Option<&str>) -> Result<Option<Profile>> {
        let env = std::env::var("CREDS_PROFILE")
            .ok()
            .filter(|p| !p.is_empty());
        let name = explicit
            .map(str::to_string)
            .or(env)
            .or_else(|| self.file.default_profile.clone())
            .or_else(|| {
                (self.file.profiles.len() == 1)
                    .then(|| self.file.profiles.keys().next().cloned())
                    .flatten()
            });
        let Some(name) = name else { return Ok(None) };
        let Some(p) = self.file.profiles.get(&name) else {
            let known: Vec<&str> = self.file.profiles.keys().map(String::as_str).collect();
            return Err(Error::config(format!(
                "no profile `{name}` (profiles: {})",
                if known.is_empty() {
                    "none".to_string()
                } else {
                    known.join(", ")
                }
            )));
        };
        let policy = match p.policy.as_ref().map(|s| s.get_ref().as_str()) {
            Some("strict") => Policy::Strict,
            _ => Policy::Permissive,
        };
        let profile = Profile {
            name: name.clone(),
            chain: p.chain.iter().map(|s| s.get_ref().clone()).collect(),
            policy,
            import: p.import.iter().map(|s| s.get_ref().clone()).collect(),
        };
        if policy == Policy::Strict {
            self.check_strict(&name, p)?;
        }
        Ok(Some(profile))
    }

    /// Every strict-policy violation of a profile, with its line.
    fn check_strict(&self, name: &str, p: &ProfileTable) -> Result<()> {
        let mut v = Vec::new();
        let plain = |text: &str| {
            text.split_once("://")
                .and_then(|(s, _)| s.parse::<Scheme>().ok())
                .is_some_and(Scheme::is_plain_local)
        };
        for t in p.chain.iter().chain(&p.import) {
            if plain(t.get_ref()) {
                v.push(format!(
                    "line {}: `{}` reads a plain local source (env, dotenv or file)",
                    self.line(t.span()),
                    t.get_ref()
                ));
            }
        }
        for (secret, s) in &self.file.secrets {
            if let Some(r) = &s.reference
                && plain(r.get_ref())
            {
                v.push(format!(
                    "line {}: secret `{secret}` reads a plain local source: `{}`",
                    self.line(r.span()),
                    r.get_ref()
                ));
            }
        }
        if let Some(vault) = &self.file.backends.vault {
            let line = self.line(vault.span());
            let t = vault.get_ref();
            if t.get("skip-verify").and_then(toml::Value::as_bool) == Some(true) {
                v.push(format!(
                    "line {line}: [backends.vault] skip-verify disables TLS verification"
                ));
            }
            if let Some(addr) = t.get("address").and_then(toml::Value::as_str)
                && crate::is_plaintext_remote(addr)
            {
                v.push(format!("line {line}: [backends.vault] address `{addr}` is plaintext http to a remote host"));
            }
        }
        let endpoints = [
            (
                "[backends.aws] endpoint-url",
                self.file
                    .backends
                    .aws
                    .as_ref()
                    .and_then(|t| t.endpoint_url.as_ref()),
            ),
            (
                "[backends.gcp] endpoint",
                self.file
                    .backends
                    .gcp
                    .as_ref()
                    .and_then(|t| t.endpoint.as_ref()),
            ),
        ];
        for (key, ep) in endpoints {
            if let Some(ep) = ep
                && crate::is_plaintext_remote(ep.get_ref())
            {
                v.push(format!(
                    "line {}: {key} `{}` is plaintext http to a remote host",
                    self.line(ep.span()),
                    ep.get_ref()
                ));
            }
        }
        if v.is_empty() {
            Ok(())
        } else {
            Err(Error::new(
                ErrorKind::Policy,
                format!(
                    "profile `{name}` has policy strict, which this file violates:\n  {}",
                    v.join("\n  ")
                ),
            ))
        }
    }

    /// The declared secrets.
    pub fn secrets(&self) -> impl Iterator<Item = (&str, &SecretDecl)> {
        self.file.secrets.iter().map(|(k, v)| (k.as_str(), v))
    }

    /// A declared secret.
    pub fn secret(&self, name: &str) -> Option<&SecretDecl> {
        self.file.secrets.get(name)
    }

    /// The variable name of a declared secret: its `env`, else the name in upper snake case.
    pub fn env_name(name: &str, decl: &SecretDecl) -> String {
        decl.env.clone().unwrap_or_else(|| upper_snake(name))
    }

    /// `[cache]`, when present.
    pub fn cache(&self) -> Option<&CacheConfig> {
        self.file.cache.as_ref()
    }

    /// `[backends.gcp]`.
    pub fn gcp(&self) -> GcpTable {
        self.file.backends.gcp.clone().unwrap_or_default()
    }

    /// `[backends.azure]`.
    pub fn azure(&self) -> AzureTable {
        self.file.backends.azure.clone().unwrap_or_default()
    }

    /// `[backends.aws]`.
    pub fn aws(&self) -> AwsTable {
        self.file.backends.aws.clone().unwrap_or_default()
    }

    #[cfg(feature = "vault")]
    fn vault_config(&self) -> Result<creds_vault::VaultConfig> {
        match &self.file.backends.vault {
            None => Ok(Default::default()),
            Some(t) => {
                creds_vault::VaultConfig::deserialize(toml::Value::Table(t.get_ref().clone()))
                    .map_err(|e| {
                        Error::config(format!(
                            "line {}: [backends.vault]: {}",
                            self.line(t.span()),
                            without_quoted_strings(e.message().trim())
                        ))
                    })
            }
        }
    }

    /// A resolver with every compiled-in store configured from this file, the profile's policy
    /// and the file's cache.
    pub fn resolver(&self, profile: Option<&Profile>) -> Result<Resolver> {
        let policy = profile.map(|p| p.policy).unwrap_or_default();
        let env: std::sync::Arc<dyn crate::Environment> = std::sync::Arc::new(crate::ProcessEnv);
        let mut builder = crate::builder_with_env(env.clone()).with_policy(policy);
        #[cfg(feature = "aws")]
        {
            let t = self.aws();
            let mut c = creds_aws::AwsConfig::from_env();
            c.region = t.region;
            c.profile = t.profile;
            c.endpoint_url = t.endpoint_url.map(|e| e.into_inner());
            builder = creds_aws::register(builder, c);
        }
        #[cfg(feature = "vault")]
        {
            let store = creds_vault::VaultStoreBuilder::from_env()
                .with_config(self.vault_config()?)
                .with_policy(policy)
                .with_environment(env.clone())
                .build()?;
            builder = builder.with_store(store);
        }
        #[cfg(feature = "azure")]
        {
            let mut b = creds_azure::AzureKvStoreBuilder::from_env().with_environment(env.clone());
            if self.azure().credential.as_deref() == Some("managed-identity") {
                b = b.with_managed_identity();
            }
            builder = builder.with_store(b.build());
        }
        #[cfg(feature = "gcp")]
        {
            let endpoint = self.gcp().endpoint.map(|e| e.into_inner());
            builder = creds_gcp::register(builder, endpoint);
        }
        if let Some(cache) = self.cache() {
            builder = builder.with_cache(cache.clone());
        }
        Ok(builder.build())
    }

    /// Resolves a logical name: its declared reference, else the profile's chain.
    pub async fn resolve(
        &self,
        resolver: &Resolver,
        profile: Option<&Profile>,
        name: &str,
    ) -> Result<Secret> {
        if let Some(r) = self.secret(name).and_then(SecretDecl::reference) {
            return resolver.get(r).await;
        }
        match profile.filter(|p| !p.chain.is_empty()) {
            Some(p) => Chain::new(resolver.clone(), &p.chain)?.get(name).await,
            None => Err(Error::config(format!(
                "`{name}` is not declared in [secrets] and the profile has no chain"
            ))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SPEC: &str = r#"default-profile = "dev"

[cache]
ttl = "5m"
stale-if-error = "1h"

[backends.vault]
address = "https://vault.example.com:8200"
auth = { method = "approle", role-id = "env://VAULT_ROLE_ID", secret-id = "file:///run/secrets/vault_secret_id" }

[backends.aws]
region = "eu-west-1"
profile = "prod"

[backends.gcp]
endpoint = "https://secretmanager.us-central1.rep.googleapis.com"

[backends.azure]
credential = "managed-identity"

[profiles.dev]
chain = ["env://APP_{NAME}", "dotenv://APP_{NAME}", "keyring://my_application/{name}"]

[profiles.prod]
chain = ["aws-sm://app/{name}", "vault://secret/app#{name}"]
policy = "strict"

[secrets]
api_key = {}
db_password = { ref = "vault://secret/my-app#db_password", env = "DATABASE_PASSWORD" }
stripe_key = { ref = "aws-sm://stripe#secret_key", optional = true }
"#;

    #[test]
    fn the_spec_example_loads() {
        let c = Config::parse(SPEC).unwrap();
        let dev = c.profile(Some("dev")).unwrap().unwrap();
        assert_eq!(dev.chain.len(), 3);
        assert_eq!(dev.policy, Policy::Permissive);
        let prod = c.profile(Some("prod")).unwrap().unwrap();
        assert_eq!(prod.policy, Policy::Strict);
        assert_eq!(c.cache().unwrap().ttl, std::time::Duration::from_secs(300));
        let db = c.secret("db_password").unwrap();
        assert_eq!(Config::env_name("db_password", db), "DATABASE_PASSWORD");
        assert_eq!(
            Config::env_name("api_key", c.secret("api_key").unwrap()),
            "API_KEY"
        );
        assert!(c.secret("stripe_key").unwrap().optional);
        assert_eq!(c.aws().region.as_deref(), Some("eu-west-1"));
    }

    #[test]
    fn unknown_keys_are_errors_with_their_line() {
        let e = Config::parse("[profiles.dev]\nchain = []\nchian = []\n").unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Config);
        assert!(
            e.message().contains("line 3") && e.message().contains("chian"),
            "{e}"
        );
        let e = Config::parse("[secrets]\nx = { reff = \"env://X\" }\n").unwrap_err();
        assert!(
            e.message().contains("line 2") && e.message().contains("reff"),
            "{e}"
        );
        let e = Config::parse("[cache]\nttl = \"5 minutes\"\n").unwrap_err();
        assert!(e.message().contains("line"), "{e}");
        let e = Config::parse("[secrets]\nx = { ref = \"nope://x\" }\n").unwrap_err();
        assert!(
            e.message().contains("line 2") && e.message().contains("unknown scheme"),
            "{e}"
        );
        let e = Config::parse("default-profile = \"missing\"\n").unwrap_err();
        assert!(e.message().contains("missing"), "{e}");
    }

    #[test]
    fn strict_lists_every_violation_with_its_line() {
        let text = r#"[backends.vault]
address = "http://vault.internal:8200"
skip-verify = true

[backends.aws]
endpoint-url = "HTTP://aws.internal:4566"

[backends.gcp]
endpoint = "http://127.0.0.1:9000"

[profiles.prod]
policy = "strict"
chain = ["aws-sm://app/{name}",
         "env://APP_{NAME}"]

[secrets]
a = { ref = "file:///run/secrets/a" }
b = { ref = "aws-sm://b" }
"#;
        let c = Config::parse(text).unwrap();
        let e = c.profile(Some("prod")).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Policy);
        let m = e.message();
        assert!(
            m.contains("line 14") && m.contains("env://APP_{NAME}"),
            "{m}"
        );
        assert!(m.contains("line 17") && m.contains("secret `a`"), "{m}");
        assert!(m.contains("skip-verify"), "{m}");
        assert!(
            m.contains("address `http://vault.internal:8200` is plaintext http"),
            "{m}"
        );
        assert!(m.contains("line 6: [backends.aws] endpoint-url"), "{m}");
        // Loopback over http is allowed (a local emulator or sidecar).
        assert!(!m.contains("[backends.gcp]"), "{m}");
        assert!(!m.contains("secret `b`"), "{m}");
    }
}
