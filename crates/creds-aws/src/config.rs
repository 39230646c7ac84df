//! Settings shared by the two AWS stores (`[backends.aws]` of `creds.toml`).

/// Where and as whom the AWS stores call.
///
/// Every field is optional: the SDK's own chain fills in what is left out. The region comes from
/// the reference's `region` option, else [`region`](AwsConfig::region), else the SDK (environment,
/// shared config). Credentials come from aws-config's default chain (environment, shared profile,
/// SSO, web identity, ECS and EC2 instance roles), using [`profile`](AwsConfig::profile) when set.
/// Endpoints honour `AWS_ENDPOINT_URL` and the per-service `AWS_ENDPOINT_URL_SECRETS_MANAGER` /
/// `AWS_ENDPOINT_URL_SSM`, unless [`endpoint_url`](AwsConfig::endpoint_url) is set.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct AwsConfig {
    /// The default region.
    pub region: Option<String>,
    /// A shared-config profile.
    pub profile: Option<String>,
    /// An endpoint for both services (for example a local emulator).
    pub endpoint_url: Option<String>,
}

impl AwsConfig {
    /// Everything from the SDK's own chain.
    pub fn from_env() -> Self {
        AwsConfig::default()
    }

    /// Sets the default region.
    pub fn with_region(mut self, region: impl Into<String>) -> Self {
        self.region = Some(region.into());
        self
    }

    /// Sets the shared-config profile.
    pub fn with_profile(mut self, profile: impl Into<String>) -> Self {
        self.profile = Some(profile.into());
        self
    }

    /// Sets the endpoint of both services.
    pub fn with_endpoint_url(mut self, url: impl Into<String>) -> Self {
        self.endpoint_url = Some(url.into());
        self
    }
}
