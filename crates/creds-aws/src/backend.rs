//! The two stores: [`SecretsManagerStore`] (`aws-sm://`) and [`SsmStore`] (`aws-ssm://`), with
//! their builders.

use std::fmt;
use std::sync::Arc;
use std::time::SystemTime;

use async_trait::async_trait;
use aws_config::SdkConfig;
use aws_sdk_secretsmanager::primitives::Blob;
use aws_sdk_ssm::types::ParameterType;
use creds_core::{Error, ErrorKind, Metadata, Policy, Reference, Result, Scheme, Secret, Store};

use crate::client::{self, Clients};
use crate::config::AwsConfig;
use crate::error;

/// The largest value Secrets Manager keeps: 65,536 bytes of `SecretString` or `SecretBinary`.
/// [`set`](Store::set) refuses larger values before calling AWS (kind `unsupported`).
pub const SECRETS_MANAGER_MAX_VALUE: usize = 65_536;

/// The largest parameter value: 8 KB (advanced tier; a standard parameter holds 4 KB and AWS
/// refuses a longer value for it). [`set`](Store::set) refuses larger values before calling AWS.
pub const SSM_MAX_VALUE: usize = 8_192;

/// The version stage read when a reference names neither a version id nor a stage.
pub const DEFAULT_STAGE: &str = "AWSCURRENT";

fn system_time(dt: Option<&aws_smithy_types::DateTime>) -> Option<SystemTime> {
    dt.and_then(|d| SystemTime::try_from(*d).ok())
}

/// Builds either AWS store.
#[derive(Debug, Default, Clone)]
pub struct AwsStoreBuilder {
    config: AwsConfig,
    policy: Policy,
    sdk: Option<SdkConfig>,
}

impl AwsStoreBuilder {
    /// Everything from the SDK's default chain.
    pub fn from_env() -> Self {
        AwsStoreBuilder::default()
    }

    /// Uses these settings.
    pub fn with_config(mut self, config: AwsConfig) -> Self {
        self.config = config;
        self
    }

    /// Sets the default region.
    pub fn with_region(mut self, region: impl Into<String>) -> Self {
        self.config.region = Some(region.into());
        self
    }

    /// Sets the shared-config profile.
    pub fn with_profile(mut self, profile: impl Into<String>) -> Self {
        self.config.profile = Some(profile.into());
        self
    }

    /// Sets the endpoint of both services.
    pub fn with_endpoint_url(mut self, url: impl Into<String>) -> Self {
        self.config.endpoint_url = Some(url.into());
        self
    }

    /// Sets the policy: strict refuses an endpoint that is plain http to a host that is not
    /// loopback (`AWS_ENDPOINT_URL=http://…`, [`with_endpoint_url`](Self::with_endpoint_url));
    /// otherwise such an endpoint is used with a warning.
    pub fn with_policy(mut self, policy: Policy) -> Self {
        self.policy = policy;
        self
    }

    /// Uses an SDK configuration loaded by the caller (credentials, region, endpoint, HTTP
    /// client) instead of loading one at first use.
    pub fn with_sdk_config(mut self, sdk: SdkConfig) -> Self {
        self.sdk = Some(sdk);
        self
    }

    /// The Secrets Manager store.
    pub fn build_secrets_manager(&self) -> SecretsManagerStore {
        SecretsManagerStore {
            clients: Arc::new(Clients::new(
                self.config.clone(),
                self.policy,
                self.sdk.clone(),
                client::SECRETS_MANAGER,
            )),
        }
    }

    /// The Parameter Store store.
    pub fn build_ssm(&self) -> SsmStore {
        SsmStore {
            clients: Arc::new(Clients::new(
                self.config.clone(),
                self.policy,
                self.sdk.clone(),
                client::SSM,
            )),
        }
    }
}

/// Reads and writes `aws-sm://NAME_OR_ARN` in AWS Secrets Manager.
///
/// - `version-id=…` or `version-stage=…` (default `AWSCURRENT`; `AWSPREVIOUS` and `AWSPENDING` for
///   rotation) pick the version;
/// - `SecretString` is returned as its UTF-8 bytes, `SecretBinary` as its bytes (not base64);
/// - the metadata holds the version id, the version's stages (in
///   [`Metadata::stages`](creds_core::Metadata)) and its creation date;
/// - [`set`](Store::set) puts a new version (`PutSecretValue`; text as `SecretString`, other bytes
///   as `SecretBinary`), creating the secret when it does not exist.
#[derive(Clone)]
pub struct SecretsManagerStore {
    clients: Arc<Clients<aws_sdk_secretsmanager::Client>>,
}

impl fmt::Debug for SecretsManagerStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SecretsManagerStore")
            .field("config", self.clients.config())
            .finish()
    }
}

impl SecretsManagerStore {
    /// The store with the SDK's default chain.
    pub fn from_env() -> Self {
        AwsStoreBuilder::from_env().build_secrets_manager()
    }
}

#[async_trait]
impl Store for SecretsManagerStore {
    fn scheme(&self) -> Scheme {
        Scheme::AwsSm
    }

    async fn get(&self, reference: &Reference) -> Result<Secret> {
        let client = self.clients.client(reference).await?;
        let mut req = client.get_secret_value().secret_id(reference.locator());
        let version_id = reference.option("version-id");
        let stage = reference.option("version-stage");
        if let Some(v) = version_id {
            req = req.version_id(v);
        }
        match (version_id, stage) {
            (_, Some(s)) => req = req.version_stage(s),
            (None, None) => req = req.version_stage(DEFAULT_STAGE),
            (Some(_), None) => {}
        }
        let out = req
            .send()
            .await
            .map_err(|e| error::map(e, "Secrets Manager"))?;
        let mut meta = Metadata::from_source("aws-sm");
        meta.version = out.version_id().map(str::to_string);
        meta.created = system_time(out.created_date());
        meta.stages = out.version_stages().to_vec();
        let value = if let Some(text) = out.secret_string() {
            text.as_bytes().to_vec()
        } else if let Some(blob) = out.secret_binary() {
            meta.content_type = Some("application/octet-stream".into());
            blob.as_ref().to_vec()
        } else {
            return Err(Error::not_found("the secret version holds no value"));
        };
        Ok(Secret::new(value, meta))
    }

    async fn set(&self, reference: &Reference, value: &[u8]) -> Result<Metadata> {
        if reference.option("version-id").is_some() || reference.option("version-stage").is_some() {
            return Err(Error::invalid_reference(
                "a write makes a new AWSCURRENT version: drop version-id and version-stage",
            ));
        }
        creds_core::check_value_size(value, SECRETS_MANAGER_MAX_VALUE, "AWS Secrets Manager")?;
        let client = self.clients.client(reference).await?;
        let text = std::str::from_utf8(value).ok();
        let put = {
            let mut req = client.put_secret_value().secret_id(reference.locator());
            req = match text {
                Some(t) => req.secret_string(t),
                None => req.secret_binary(Blob::new(value)),
            };
            req.send().await
        };
        let version = match put {
            Ok(out) => out.version_id().map(str::to_string),
            Err(e) => {
                let err = error::map(e, "Secrets Manager");
                if err.kind() != ErrorKind::NotFound {
                    return Err(err);
                }
                // No such secret yet: create it with this value as its first version.
                let mut req = client.create_secret().name(reference.locator());
                req = match text {
                    Some(t) => req.secret_string(t),
                    None => req.secret_binary(Blob::new(value)),
                };
                let out = req
                    .send()
                    .await
                    .map_err(|e| error::map(e, "Secrets Manager"))?;
                out.version_id().map(str::to_string)
            }
        };
        let mut meta = Metadata::from_source("aws-sm");
        meta.version = version;
        Ok(meta)
    }

    async fn delete(&self, reference: &Reference) -> Result<()> {
        let client = self.clients.client(reference).await?;
        client
            .delete_secret()
            .secret_id(reference.locator())
            .force_delete_without_recovery(true)
            .send()
            .await
            .map_err(|e| error::map(e, "Secrets Manager"))?;
        Ok(())
    }
}

/// Reads and writes `aws-ssm://NAME` in AWS Systems Manager Parameter Store.
///
/// - `String`, `StringList` (the comma-separated text) and `SecureString` parameters, decrypted
///   unless `decrypt=false`;
/// - `version=N` and `label=L` select a version (SSM's `name:N` and `name:L`);
/// - the metadata holds the version and the last modification date (as `created`: when this
///   version was written);
/// - [`set`](Store::set) writes a new version as a `SecureString` (overwriting);
/// - [`get_by_path`](SsmStore::get_by_path) reads every parameter under a path.
#[derive(Clone)]
pub struct SsmStore {
    clients: Arc<Clients<aws_sdk_ssm::Client>>,
}

impl fmt::Debug for SsmStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SsmStore")
            .field("config", self.clients.config())
            .finish()
    }
}

/// One parameter of a bulk read.
#[derive(Debug, Clone)]
pub struct Parameter {
    /// The parameter's full name (`/app/prod/db/password`).
    pub name: String,
    /// The variable name the documented rule gives ([`crate::env_var_name`]).
    pub env_name: String,
    /// The value.
    pub secret: Secret,
}

impl SsmStore {
    /// The store with the SDK's default chain.
    pub fn from_env() -> Self {
        AwsStoreBuilder::from_env().build_ssm()
    }

    fn parameter_secret(p: &aws_sdk_ssm::types::Parameter) -> Result<Secret> {
        let value = p
            .value()
            .ok_or_else(|| Error::not_found("the parameter holds no value"))?;
        let mut meta = Metadata::from_source("aws-ssm");
        meta.version = Some(p.version().to_string());
        meta.created = system_time(p.last_modified_date());
        if let Some(ParameterType::StringList) = p.r#type() {
            meta.content_type = Some("text/csv".into());
        }
        Ok(Secret::new(value.as_bytes().to_vec(), meta))
    }

    /// Reads every parameter under `path` (recursively when `recursive`), following every page,
    /// decrypting `SecureString`s unless `decrypt` is false. The variable name of each is given
    /// by [`crate::env_var_name`] relative to `path`.
    pub async fn get_by_path(
        &self,
        path: &str,
        recursive: bool,
        decrypt: bool,
        region: Option<&str>,
    ) -> Result<Vec<Parameter>> {
        let mut reference = Reference::new(Scheme::AwsSsm, path)?;
        if let Some(r) = region {
            reference = reference.with_option("region", r)?;
        }
        let client = self.clients.client(&reference).await?;
        let mut pages = client
            .get_parameters_by_path()
            .path(path)
            .recursive(recursive)
            .with_decryption(decrypt)
            .into_paginator()
            .send();
        let mut out = Vec::new();
        while let Some(page) = pages.next().await {
            let page =
                page.map_err(|e| error::map(e, "Parameter Store").with_reference(&reference))?;
            for p in page.parameters() {
                let name = p.name().unwrap_or_default().to_string();
                out.push(Parameter {
                    env_name: crate::env_var_name(path, &name),
                    secret: Self::parameter_secret(p)?,
                    name,
                });
            }
        }
        Ok(out)
    }
}

#[async_trait]
impl Store for SsmStore {
    fn scheme(&self) -> Scheme {
        Scheme::AwsSsm
    }

    async fn get(&self, reference: &Reference) -> Result<Secret> {
        let client = self.clients.client(reference).await?;
        let name = match (reference.option("version"), reference.option("label")) {
            (Some(v), _) => format!("{}:{v}", reference.locator()),
            (None, Some(l)) => format!("{}:{l}", reference.locator()),
            (None, None) => reference.locator().to_string(),
        };
        let out = client
            .get_parameter()
            .name(name)
            .with_decryption(reference.bool_option("decrypt", true))
            .send()
            .await
            .map_err(|e| error::map(e, "Parameter Store"))?;
        let p = out.parameter().ok_or_else(|| {
            // A missing parameter is ParameterNotFound; a 200 without one is not the protocol.
            Error::new(
                ErrorKind::Unavailable,
                "Parameter Store answered without a parameter",
            )
            .set_temporary(true)
        })?;
        Self::parameter_secret(p)
    }

    async fn set(&self, reference: &Reference, value: &[u8]) -> Result<Metadata> {
        if reference.option("version").is_some() || reference.option("label").is_some() {
            return Err(Error::invalid_reference(
                "a write makes a new version: drop version and label",
            ));
        }
        creds_core::check_value_size(value, SSM_MAX_VALUE, "Parameter Store")?;
        let text = std::str::from_utf8(value).map_err(|_| {
            Error::decode("Parameter Store keeps text only; the value is not UTF-8")
        })?;
        let client = self.clients.client(reference).await?;
        let out = client
            .put_parameter()
            .name(reference.locator())
            .value(text)
            .r#type(ParameterType::SecureString)
            .overwrite(true)
            .send()
            .await
            .map_err(|e| error::map(e, "Parameter Store"))?;
        let mut meta = Metadata::from_source("aws-ssm");
        meta.version = Some(out.version().to_string());
        Ok(meta)
    }

    async fn delete(&self, reference: &Reference) -> Result<()> {
        let client = self.clients.client(reference).await?;
        client
            .delete_parameter()
            .name(reference.locator())
            .send()
            .await
            .map_err(|e| error::map(e, "Parameter Store"))?;
        Ok(())
    }
}
