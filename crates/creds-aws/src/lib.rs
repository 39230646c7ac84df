//! AWS Secrets Manager (`aws-sm://`) and Systems Manager Parameter Store (`aws-ssm://`) for
//! [creds](https://docs.rs/creds), on the official AWS SDK.
//!
//! | reference | reads |
//! |---|---|
//! | `aws-sm://my-api-credentials#api_key` | a member of the current (`AWSCURRENT`) JSON secret |
//! | `aws-sm://arn:aws:secretsmanager:eu-west-1:123456789012:secret:app/db-AbCdEf` | by ARN |
//! | `aws-sm://app/db?version-stage=AWSPREVIOUS` | the previous version, during rotation |
//! | `aws-sm://app/db?version-id=EXAMPLE1-90ab-cdef-fedc-ba987EXAMPLE` | one version |
//! | `aws-ssm:///app/production/api_key` | a parameter, `SecureString`s decrypted |
//! | `aws-ssm:///app/production/api_key?version=3` / `?label=prod` | one version |
//! | `aws-ssm:///app/plain?decrypt=false&region=eu-west-1` | without decryption, in another region |
//!
//! **Credentials and region** come from aws-config's default chain — environment, shared
//! profile, SSO, web identity, ECS and EC2 instance roles (IAM roles on AWS hosts: no keys in
//! configuration) — and the region from the reference's `region` option, else
//! [`AwsConfig::region`], else the SDK. `AWS_ENDPOINT_URL` and the per-service endpoint variables
//! are honoured. With no credentials or no region anywhere, reads fail as *unconfigured*, so a
//! chain goes on to its next template.
//!
//! **Errors**: not found (`ResourceNotFoundException`, `ParameterNotFound`,
//! `ParameterVersionNotFound`), permission denied (`AccessDeniedException`, KMS decryption
//! failures), unauthenticated (`UnrecognizedClientException`, `InvalidSignatureException`,
//! `ExpiredTokenException`), rate limited (throttling, temporary), unavailable (connection
//! failures, 5xx and answers that are not AWS's protocol, temporary), timeout; a value over
//! [`SECRETS_MANAGER_MAX_VALUE`] or [`SSM_MAX_VALUE`] is refused before the call (unsupported);
//! an endpoint that is plaintext http to a remote host warns, and is refused under
//! [`Policy::Strict`](creds_core::Policy) — each with the reference in context.
//!
//! # Example
//!
//! Embedded on its own:
//!
//! ```no_run
//! # async fn demo() -> creds_core::Result<()> {
//! use creds_aws::AwsStoreBuilder;
//! use creds_core::{CacheConfig, Resolver};
//!
//! let aws = AwsStoreBuilder::from_env().with_region("eu-west-1");
//! let resolver = Resolver::builder()
//!     .with_store(aws.build_secrets_manager())
//!     .with_store(aws.build_ssm())
//!     .with_cache(CacheConfig::default())
//!     .build();
//! let password = resolver.get("aws-sm://app/db#password").await?;
//! let api_key = resolver.get("aws-ssm:///app/production/api_key").await?;
//! # Ok(()) }
//! ```
//!
//! Through the facade: `creds = { version = "0.1", features = ["aws"] }`, then
//! `creds::get("aws-sm://app/db#password")`.
//!
//! **Rotation**: read `version-stage=AWSPREVIOUS` or `AWSPENDING` during a rotation, watch a
//! reference with [`Resolver::watch`](creds_core::Resolver::watch), or let
//! [`Resolver::use_with_refresh`](creds_core::Resolver::use_with_refresh) retry once with a
//! refreshed value when the service the credential unlocks rejects it.
//!
//! **Bulk reads**: [`SsmStore::get_by_path`] reads every parameter under a path (all pages);
//! [`env_var_name`] turns each name into a variable name.
#![cfg_attr(docsrs, feature(doc_cfg))]

mod backend;
mod client;
mod config;
mod error;

use creds_core::ResolverBuilder;

pub use backend::{
    AwsStoreBuilder, DEFAULT_STAGE, Parameter, SECRETS_MANAGER_MAX_VALUE, SSM_MAX_VALUE,
    SecretsManagerStore, SsmStore,
};
pub use config::AwsConfig;

/// Adds both AWS stores, sharing one configuration and the builder's
/// [`policy`](ResolverBuilder::policy), to a resolver builder.
pub fn register(builder: ResolverBuilder, config: AwsConfig) -> ResolverBuilder {
    let aws = AwsStoreBuilder::from_env()
        .with_config(config)
        .with_policy(builder.policy());
    builder
        .with_store(aws.build_secrets_manager())
        .with_store(aws.build_ssm())
}

/// The variable name of a parameter read under `path`: the part of `name` after `path`, its
/// segments in upper snake case joined by `_`.
///
/// ```
/// use creds_aws::env_var_name;
/// assert_eq!(env_var_name("/app/prod", "/app/prod/db/password"), "DB_PASSWORD");
/// assert_eq!(env_var_name("/app/prod/", "/app/prod/api-key"), "API_KEY");
/// assert_eq!(env_var_name("/app", "/app/prod/stripe.secretKey"), "PROD_STRIPE_SECRET_KEY");
/// // A name outside the path keeps all of its segments.
/// assert_eq!(env_var_name("/other", "/app/x"), "APP_X");
/// ```
pub fn env_var_name(path: &str, name: &str) -> String {
    let prefix = path.trim_end_matches('/');
    let rest = name
        .strip_prefix(prefix)
        .filter(|r| r.starts_with('/') || prefix.is_empty())
        .unwrap_or(name);
    rest.split('/')
        .filter(|s| !s.is_empty())
        .map(creds_core::upper_snake)
        .collect::<Vec<_>>()
        .join("_")
}
