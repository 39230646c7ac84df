//! The default credential: the sources a service uses, tried in order.

use std::sync::{Arc, OnceLock};

use async_trait::async_trait;
use azure_core::credentials::{AccessToken, TokenCredential, TokenRequestOptions};
use azure_identity::{
    ClientSecretCredential, DeveloperToolsCredential, ManagedIdentityCredential,
    WorkloadIdentityCredential,
};
use creds_core::{Environment, ProcessEnv};

/// Tries, in order: a service principal from `AZURE_TENANT_ID`/`AZURE_CLIENT_ID`/
/// `AZURE_CLIENT_SECRET`; workload identity when `AZURE_FEDERATED_TOKEN_FILE` is set; managed
/// identity; the developer tools (`az`, `azd`). The first token wins; when none gives one, the
/// error is a credential error (a creds *unconfigured* error, so a chain goes on).
///
/// The sources are made at the first token request, not before: a program (or the `creds` CLI)
/// that never reads an `azure-kv://` reference makes no Azure HTTP client and reads no Azure
/// variable. Which sources are tried is decided from the [`Environment`] given (the process
/// environment by default); the SDK's own credentials then read their details (the token file,
/// the IMDS endpoint) as the SDK documents.
#[derive(Debug)]
pub struct DefaultCredential {
    managed_identity_only: bool,
    env: Arc<dyn Environment>,
    sources: OnceLock<Vec<Arc<dyn TokenCredential>>>,
}

impl DefaultCredential {
    /// The chain above; `managed_identity_only` keeps just managed identity
    /// (`[backends.azure] credential = "managed-identity"`).
    pub fn new(managed_identity_only: bool) -> Self {
        DefaultCredential {
            managed_identity_only,
            env: Arc::new(ProcessEnv),
            sources: OnceLock::new(),
        }
    }

    /// Decides the sources from this environment instead of the process's.
    pub fn with_environment(mut self, env: Arc<dyn Environment>) -> Self {
        self.env = env;
        self
    }

    /// Whether the sources have been made (at the first token request).
    pub fn is_initialized(&self) -> bool {
        self.sources.get().is_some()
    }

    fn sources(&self) -> &[Arc<dyn TokenCredential>] {
        self.sources.get_or_init(|| {
            let mut sources: Vec<Arc<dyn TokenCredential>> = Vec::new();
            let var = |k: &str| self.env.var(k).filter(|v| !v.is_empty());
            if !self.managed_identity_only {
                if let (Some(tenant), Some(client), Some(secret)) = (
                    var("AZURE_TENANT_ID"),
                    var("AZURE_CLIENT_ID"),
                    var("AZURE_CLIENT_SECRET"),
                ) && let Ok(c) =
                    ClientSecretCredential::new(&tenant, client, secret.into(), None)
                {
                    sources.push(c);
                }
                if var("AZURE_FEDERATED_TOKEN_FILE").is_some()
                    && let Ok(c) = WorkloadIdentityCredential::new(None)
                {
                    sources.push(c);
                }
            }
            if let Ok(c) = ManagedIdentityCredential::new(None) {
                sources.push(c);
            }
            if !self.managed_identity_only
                && let Ok(c) = DeveloperToolsCredential::new(None)
            {
                sources.push(c);
            }
            sources
        })
    }
}

#[async_trait]
impl TokenCredential for DefaultCredential {
    async fn get_token(
        &self,
        scopes: &[&str],
        options: Option<TokenRequestOptions<'_>>,
    ) -> azure_core::Result<AccessToken> {
        let mut failures = Vec::new();
        for source in self.sources() {
            match source.get_token(scopes, options.clone()).await {
                Ok(token) => return Ok(token),
                Err(e) => failures.push(e.to_string()),
            }
        }
        Err(azure_core::Error::with_message(
            azure_core::error::ErrorKind::Credential,
            format!("no Azure credential gave a token: {}", failures.join("; ")),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use creds_core::StaticEnv;

    fn names(c: &DefaultCredential) -> Vec<String> {
        c.sources()
            .iter()
            .map(|s| {
                // `azure_identity::module::TypeName { .. }`
                let d = format!("{s:?}");
                let path = d.split([' ', '{']).next().unwrap();
                path.rsplit("::").next().unwrap().to_string()
            })
            .collect()
    }

    #[test]
    fn sources_are_made_at_first_use_from_the_given_environment() {
        let sp = Arc::new(
            StaticEnv::new()
                .with_var("AZURE_TENANT_ID", "00000000-0000-0000-0000-000000000000")
                .with_var("AZURE_CLIENT_ID", "client")
                .with_var("AZURE_CLIENT_SECRET", "not-a-real-secret"),
        );
        let c = DefaultCredential::new(false).with_environment(sp.clone());
        assert!(
            !c.is_initialized(),
            "nothing is made before a token is asked for"
        );
        assert_eq!(
            names(&c),
            [
                "ClientSecretCredential",
                "ManagedIdentityCredential",
                "DeveloperToolsCredential"
            ]
        );
        assert!(c.is_initialized());
        // Debug shows which sources, never the client secret (the environment's values are
        // redacted, and the SDK's credential keeps the secret in its redacting type).
        let shown = format!("{c:?}");
        assert!(shown.contains("ClientSecretCredential"), "{shown}");
        assert!(!shown.contains("not-a-real-secret"), "{shown}");
        // The injected environment decides, not the process's.
        let c = DefaultCredential::new(false).with_environment(Arc::new(StaticEnv::new()));
        assert_eq!(
            names(&c),
            ["ManagedIdentityCredential", "DeveloperToolsCredential"]
        );
        let c = DefaultCredential::new(true).with_environment(sp);
        assert_eq!(names(&c), ["ManagedIdentityCredential"]);
        // An empty variable is no variable.
        let c = DefaultCredential::new(false).with_environment(Arc::new(
            StaticEnv::new()
                .with_var("AZURE_TENANT_ID", "")
                .with_var("AZURE_CLIENT_ID", "client")
                .with_var("AZURE_CLIENT_SECRET", "x"),
        ));
        assert_eq!(names(&c)[0], "ManagedIdentityCredential");
    }
}
