//! [`GcpSmStore`] (`gcp-sm://`) and its builder.

use std::collections::HashMap;
use std::fmt;
use std::sync::Arc;

use async_trait::async_trait;
use creds_core::{Error, ErrorKind, Metadata, Policy, Reference, Result, Scheme, Secret, Store};
use google_cloud_secretmanager_v1::client::SecretManagerService;
use google_cloud_secretmanager_v1::model::SecretPayload;
use tokio::sync::Mutex;

use crate::error;

/// The largest payload Secret Manager keeps: 64 KiB. [`set`](Store::set) refuses larger values
/// before calling Google (kind `unsupported`).
pub const MAX_VALUE: usize = 65_536;

/// Builds a [`GcpSmStore`].
#[derive(Default)]
pub struct GcpSmStoreBuilder {
    endpoint: Option<String>,
    credentials: Option<google_cloud_auth::credentials::Credentials>,
    policy: Policy,
}

impl fmt::Debug for GcpSmStoreBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("GcpSmStoreBuilder")
            .field("endpoint", &self.endpoint)
            .field("custom_credentials", &self.credentials.is_some())
            .field("policy", &self.policy)
            .finish()
    }
}

impl GcpSmStoreBuilder {
    /// Application Default Credentials and the global endpoint.
    pub fn from_env() -> Self {
        GcpSmStoreBuilder::default()
    }

    /// Sends requests to this endpoint (regional, private, or a local test server). Plain http to
    /// a host that is not loopback is used with a warning, and refused under
    /// [`Policy::Strict`].
    pub fn with_endpoint(mut self, endpoint: impl Into<String>) -> Self {
        self.endpoint = Some(endpoint.into());
        self
    }

    /// Uses these credentials instead of ADC.
    pub fn with_credentials(
        mut self,
        credentials: google_cloud_auth::credentials::Credentials,
    ) -> Self {
        self.credentials = Some(credentials);
        self
    }

    /// Sets the policy: strict refuses plain http to a host that is not loopback.
    pub fn with_policy(mut self, policy: Policy) -> Self {
        self.policy = policy;
        self
    }

    /// The store; clients are made per endpoint at first use.
    pub fn build(self) -> GcpSmStore {
        GcpSmStore {
            inner: Arc::new(Inner {
                policy: self.policy,
                endpoint: self.endpoint,
                credentials: self.credentials,
                clients: Mutex::new(HashMap::new()),
            }),
        }
    }
}

struct Inner {
    policy: Policy,
    endpoint: Option<String>,
    credentials: Option<google_cloud_auth::credentials::Credentials>,
    clients: Mutex<HashMap<String, SecretManagerService>>,
}

/// Reads and writes `gcp-sm://` references in Google Cloud Secret Manager.
#[derive(Clone)]
pub struct GcpSmStore {
    inner: Arc<Inner>,
}

impl fmt::Debug for GcpSmStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("GcpSmStore")
            .field("endpoint", &self.inner.endpoint)
            .finish()
    }
}

/// Where a reference points.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct Target {
    project: String,
    location: Option<String>,
    secret: String,
    version: String,
}

impl Target {
    pub(crate) fn parse(reference: &Reference) -> Result<Target> {
        let parts: Vec<&str> = reference.locator().split('/').collect();
        let (project, location, secret, version) = match parts.as_slice() {
            ["projects", p, "secrets", s] => (*p, None, *s, "latest"),
            ["projects", p, "secrets", s, "versions", v] => (*p, None, *s, *v),
            ["projects", p, "locations", l, "secrets", s] => (*p, Some(*l), *s, "latest"),
            ["projects", p, "locations", l, "secrets", s, "versions", v] => (*p, Some(*l), *s, *v),
            [p, s] => (*p, None, *s, "latest"),
            [p, s, v] => (*p, None, *s, *v),
            _ => {
                return Err(Error::invalid_reference(
                    "gcp-sm needs PROJECT/SECRET[/VERSION]",
                ));
            }
        };
        let location = reference
            .option("location")
            .or(location)
            .map(str::to_string);
        Ok(Target {
            project: project.to_string(),
            location,
            secret: secret.to_string(),
            version: version.to_string(),
        })
    }

    fn secret_name(&self) -> String {
        match &self.location {
            Some(l) => format!(
                "projects/{}/locations/{l}/secrets/{}",
                self.project, self.secret
            ),
            None => format!("projects/{}/secrets/{}", self.project, self.secret),
        }
    }

    fn version_name(&self) -> String {
        format!("{}/versions/{}", self.secret_name(), self.version)
    }

    /// Checks a returned version name: the secret and the version must match (the project may
    /// come back as its number, and `latest` as a number). Returns the version.
    pub(crate) fn check(&self, returned: &str) -> Result<String> {
        let parts: Vec<&str> = returned.split('/').collect();
        let (secret, version) = match parts.as_slice() {
            ["projects", _, "secrets", s, "versions", v] => (*s, *v),
            ["projects", _, "locations", _, "secrets", s, "versions", v] => (*s, *v),
            _ => ("", ""),
        };
        let version_ok = if self.version == "latest" {
            !version.is_empty() && version.bytes().all(|b| b.is_ascii_digit())
        } else {
            version == self.version
        };
        if secret == self.secret && version_ok {
            Ok(version.to_string())
        } else {
            Err(Error::new(
                ErrorKind::Integrity,
                format!(
                    "Secret Manager returned `{returned}`, which is not version {} of secret `{}`",
                    self.version, self.secret
                ),
            ))
        }
    }
}

/// The CRC32C of a payload, as Secret Manager sends it (a signed 64-bit number).
fn crc32c(data: &[u8]) -> i64 {
    i64::from(::crc32c::crc32c(data))
}

impl GcpSmStore {
    /// The store with ADC and the global endpoint.
    pub fn from_env() -> Self {
        GcpSmStoreBuilder::from_env().build()
    }

    async fn client(&self, t: &Target) -> Result<SecretManagerService> {
        let endpoint = match (&self.inner.endpoint, &t.location) {
            (Some(e), _) => e.clone(),
            (None, Some(l)) => format!("https://secretmanager.{l}.rep.googleapis.com"),
            (None, None) => "https://secretmanager.googleapis.com".to_string(),
        };
        let mut clients = self.inner.clients.lock().await;
        if let Some(c) = clients.get(&endpoint) {
            return Ok(c.clone());
        }
        creds_core::check_transport(self.inner.policy, &endpoint, "Secret Manager")?;
        let mut builder = SecretManagerService::builder()
            .with_endpoint(endpoint.clone())
            .with_retry_policy(google_cloud_gax::retry_policy::NeverRetry);
        if let Some(c) = &self.inner.credentials {
            builder = builder.with_credentials(c.clone());
        }
        let client: SecretManagerService = builder.build().await.map_err(|e| {
            Error::unconfigured(format!(
                "cannot set up the Secret Manager client (credentials?): {e}"
            ))
        })?;
        clients.insert(endpoint, client.clone());
        Ok(client)
    }
}

#[async_trait]
impl Store for GcpSmStore {
    fn scheme(&self) -> Scheme {
        Scheme::GcpSm
    }

    async fn get(&self, reference: &Reference) -> Result<Secret> {
        let t = Target::parse(reference)?;
        let client = self.client(&t).await?;
        let response = client
            .access_secret_version()
            .set_name(t.version_name())
            .send()
            .await
            .map_err(error::map)?;
        let version = t.check(&response.name)?;
        let payload = response.payload.ok_or_else(|| {
            // A missing version is NOT_FOUND; an answer without a payload is not the protocol.
            Error::new(
                ErrorKind::Unavailable,
                "Secret Manager answered without a payload",
            )
            .set_temporary(true)
        })?;
        match payload.data_crc32c {
            Some(expected) if expected != crc32c(&payload.data) => {
                return Err(Error::new(
                    ErrorKind::Integrity,
                    "the payload's CRC32C does not match: it was corrupted on the way",
                ));
            }
            _ => {}
        }
        let meta = Metadata::from_source("gcp-sm").with_version(version);
        Ok(Secret::new(payload.data.to_vec(), meta))
    }

    async fn set(&self, reference: &Reference, value: &[u8]) -> Result<Metadata> {
        let t = Target::parse(reference)?;
        if t.version != "latest" {
            return Err(Error::invalid_reference(
                "a write adds a new version: drop the VERSION",
            ));
        }
        creds_core::check_value_size(value, MAX_VALUE, "Secret Manager")?;
        let client = self.client(&t).await?;
        let payload = SecretPayload::new()
            .set_data(bytes::Bytes::copy_from_slice(value))
            .set_data_crc32c(crc32c(value));
        let version = client
            .add_secret_version()
            .set_parent(t.secret_name())
            .set_payload(payload)
            .send()
            .await
            .map_err(error::map)?;
        let number = version
            .name
            .rsplit('/')
            .next()
            .unwrap_or_default()
            .to_string();
        Ok(Metadata::from_source("gcp-sm").with_version(number))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn crc32c_matches_the_recorded_value() {
        assert_eq!(crc32c(b"123456789"), 0xE306_9283);
        let data = b"I always loved sparring with giant candy swords, but I had no idea that was my super secret information!";
        assert_eq!(crc32c(data), 98_593_831);
    }

    #[test]
    fn names_are_checked_by_secret_and_version() {
        let t = Target::parse(&"gcp-sm://example-project/s1".parse().unwrap()).unwrap();
        assert_eq!(
            t.version_name(),
            "projects/example-project/secrets/s1/versions/latest"
        );
        assert_eq!(
            t.check("projects/123456789/secrets/s1/versions/4").unwrap(),
            "4"
        );
        assert!(
            t.check("projects/123456789/secrets/other/versions/4")
                .is_err()
        );
        let t =
            Target::parse(&"gcp-sm://projects/p/secrets/s1/versions/2".parse().unwrap()).unwrap();
        assert!(t.check("projects/p/secrets/s1/versions/3").is_err());
        let t = Target::parse(&"gcp-sm://p/s?location=europe-west1".parse().unwrap()).unwrap();
        assert_eq!(
            t.version_name(),
            "projects/p/locations/europe-west1/secrets/s/versions/latest"
        );
    }
}
