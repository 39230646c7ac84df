//! The default credential: the sources a service uses, tried in order.

use std::sync::Arc;

use async_trait::async_trait;
use azure_core::credentials::{AccessToken, TokenCredential, TokenRequestOptions};
use azure_identity::{
    ClientSecretCredential, DeveloperToolsCredential, ManagedIdentityCredential,
    WorkloadIdentityCredential,
};

/// Tries, in order: a service principal from `AZURE_TENANT_ID`/`AZURE_CLIENT_ID`/
/// `AZURE_CLIENT_SECRET`; workload identity when `AZURE_FEDERATED_TOKEN_FILE` is set; managed
/// identity; the developer tools (`az`, `azd`). The first token wins; when none gives one, the
/// error is a credential error (a creds *unconfigured* error, so a chain goes on).
#[derive(Debug)]
pub struct DefaultCredential {
    sources: Vec<Arc<dyn TokenCredential>>,
}

impl DefaultCredential {
    /// The chain above; `managed_identity_only` keeps just managed identity
    /// (`[backends.azure] credential = "managed-identity"`).
    pub fn new(managed_identity_only: bool) -> Self {
        let mut sources: Vec<Arc<dyn TokenCredential>> = Vec::new();
        let var = |k: &str| std::env::var(k).ok().filter(|v| !v.is_empty());
        if !managed_identity_only {
            if let (Some(tenant), Some(client), Some(secret)) = (
                var("AZURE_TENANT_ID"),
                var("AZURE_CLIENT_ID"),
                var("AZURE_CLIENT_SECRET"),
            ) && let Ok(c) = ClientSecretCredential::new(&tenant, client, secret.into(), None)
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
        if !managed_identity_only && let Ok(c) = DeveloperToolsCredential::new(None) {
            sources.push(c);
        }
        DefaultCredential { sources }
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
        for source in &self.sources {
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
